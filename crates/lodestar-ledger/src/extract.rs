//! Rules that turn minutes into action items (行动项抽取规则) and status signals (状态信号).
//!
//! The pipeline mirrors how people read minutes:
//! 1. **structure** — lines become clauses: headings set the section (行动项 / 决议 / 回顾 / 讨论) and
//!    a country context (`### 俄罗斯`); tables become rows with their columns; multi-line blocks
//!    (`事项：…` / `负责人：…` / `完成时间：…`) are joined; prose is split into sentences.
//! 2. **analysis** — each clause is scanned for staff, customers and countries
//!    ([`crate::scan::Scanner`]), owners (负责人 / 责任人 / 牵头 / 由…负责 / @name / （张三） /
//!    请张三 / 张三负责 / 张三提交…), the deadline ([`crate::deadline`]), the type (tag keywords) and
//!    whether it records an action at all.
//! 3. **signals** — what a clause says about earlier items (已完成 / 延期至… / 取消 / 进行中), for the
//!    ledger to turn into proposed status updates.

use crate::deadline::{self, Deadline};
use crate::scan::{Kind, Mention, Scanner};
use crate::text::{fold, is_han};
use crate::{ActionItem, FieldSource, Status};
use chrono::NaiveDate;
use lodestar_dict::Dictionaries;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const TYPE_KEYWORDS: &str = include_str!("../data/type_keywords.csv");

/// Tie-break order of the tags (first wins on equal keyword scores), by tag code.
const TYPE_PRIORITY: &[&str] =
    &["AR_RISK", "HIRING", "SERVICE", "ORDER_SHIP", "MARKETING", "CUST_DEV", "PRODUCT", "OTHER"];

/// Verbs that make a clause a task (and, right after a name, make that person its owner).
const ACTION_VERBS: &[&str] = &[
    "提交",
    "完成",
    "组织",
    "推进",
    "联系",
    "安排",
    "协调",
    "确认",
    "准备",
    "评估",
    "编制",
    "整理",
    "制定",
    "落实",
    "催收",
    "催款",
    "沟通",
    "拜访",
    "跟进",
    "跟踪",
    "督促",
    "核实",
    "起草",
    "更新",
    "办理",
    "申请",
    "发送",
    "梳理",
    "对接",
    "报送",
    "上报",
    "输出",
    "招聘",
    "面试",
    "邀请",
    "参加",
    "筹备",
    "收回",
    "签署",
    "签订",
    "签批",
    "通知",
    "锁定",
    "测算",
    "调研",
    "走访",
    "培训",
    "巡检",
    "发运",
    "订舱",
    "排产",
    "补充",
    "修订",
    "提供",
    "出具",
    "复核",
    "对账",
    "启动",
    "发起",
    "约见",
    "洽谈",
    "谈判",
    "报价",
    "寄送",
    "送样",
    "测试",
    "追踪",
    "解决",
    "处理",
    "回复",
    "反馈",
    "录入",
    "建立",
    "搭建",
    "设计",
    "制作",
    "投放",
    "举办",
    "召开",
    "汇总",
    "给出",
    "拿到",
    "摸清",
    "出面",
    "寄出",
    "发布",
    "执行",
    "到现场",
    "查看",
    "分析",
    "结清",
    "回访",
    "核对",
    "研究",
    "收集",
    "报名",
    "预订",
    "办",
    "做",
    "牵头",
    "负责",
    "send",
    "book",
    "prepare",
    "collect",
    "visit",
    "recruit",
    "organise",
    "organize",
    "arrange",
    "follow",
    "submit",
    "review",
    "confirm",
    "check",
    "contact",
    "negotiate",
    "update",
    "draft",
    "deliver",
    "ship",
    "finalize",
    "finalise",
    "report",
    "train",
    "schedule",
    "call",
    "meet",
    "complete",
    "invite",
    "quote",
];

/// Words that make a sentence an obligation even without a named owner.
const MODALS: &[&str] =
    &["需", "须", "务必", "要求", "应", "请", "争取", "确保", "负责", "必须", "should", "must", "need"];

/// Lines that record no action (记录备查, 暂不跟进, 仅供参考 …).
const NON_ACTION: &[&str] = &[
    "记录备查",
    "暂不跟进",
    "仅供参考",
    "备查",
    "知悉",
    "不作为行动项",
    "无需跟进",
    "暂不处理",
    "不作安排",
    "另行通知",
    "再议",
    "另行讨论",
    "供参考",
    "for reference",
    "fyi",
    "no action",
    "for information",
];

/// After a name: the person reports or assists rather than owns (汇报, 配合 …).
const NOT_OWNER_AFTER: &[&str] = &[
    "配合", "协助", "支持", "参与", "汇报", "介绍", "通报", "提出", "提到", "认为", "表示", "指出", "强调", "反馈",
    "反映", "说明", "审批", "签批", "已", "的",
];

/// After a name: the person owns the task (张三负责, 张三牵头, Simon to …).
const OWNER_AFTER: &[&str] =
    &["负责", "牵头", "跟进", "主责", "主导", "落实", "对接", "继续推进", "继续跟进", "to ", "will "];

/// Before a name: the person is asked to do it (请张三, 要求张三, 由张三, @张三).
const OWNER_BEFORE: &[&str] = &["由", "请", "要求", "安排", "指定", "让", "@"];

const ADVERBS: &[&str] =
    &["继续", "将", "会", "也", "再", "先", "一起", "共同", "分别", "于", "在", "尽快", "立即", "需", "要", "负责"];

const DONE_BLOCKERS: &[&str] = &["继续", "剩余", "余款", "尚未", "未完成", "未到账", "待核实", "待确认"];

/// Values of an owner field that mean "nobody yet".
const NO_OWNER: &[&str] = &["待定", "未定", "暂无", "无", "待确认", "tbd", "n/a", "-"];

/// The part of the minutes a line sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Before any recognized heading.
    None,
    /// Data, discussion, reports (经营情况, 讨论, 议题).
    Info,
    /// 行动项, 待办, 决议, 决定, 下一步, 重点工作.
    Action,
    /// 回顾, 跟踪, 落实情况, 前期事项, Updates: status of earlier items, never new items.
    Review,
}

/// Column roles of a Markdown table.
#[derive(Debug, Clone, Default)]
struct Columns {
    desc: Option<usize>,
    owner: Option<usize>,
    deadline: Option<usize>,
    kind: Option<usize>,
    status: Option<usize>,
}

/// One unit of analysis: a sentence, a list item (with its continuation lines) or a table row.
#[derive(Debug, Clone)]
pub struct Clause {
    /// 1-based line number of the first line.
    pub line_no: usize,
    /// Index of the physical line (clauses of one line share it).
    pub line_ix: usize,
    /// The text as written (a sentence, a list item, a table row).
    pub source: String,
    /// Folded text used for analysis.
    pub text: String,
    pub section: Section,
    /// Country of the enclosing heading, when it names exactly one.
    pub heading_country: Option<String>,
    /// Table row cells: (description, owner cell, deadline cell, type cell, status cell).
    pub row: Option<RowCells>,
    /// The clause follows a `;` in the same line (it may talk about the same customer).
    pub after_semicolon: bool,
}

/// The cells of a table row, by role.
#[derive(Debug, Clone, Default)]
pub struct RowCells {
    pub desc: String,
    pub owner: Option<String>,
    pub deadline: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
}

/// What a clause says about an earlier item (已完成 / 延期至… / 取消 / 进行中).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub line_no: usize,
    /// The words it came from.
    pub evidence: String,
    /// Folded text with names and dates masked (for similarity).
    pub masked: String,
    pub customer: Option<String>,
    pub staff: Vec<String>,
    /// The tag the clause's own keywords point to (helps pick among one customer's items).
    pub tag: Option<String>,
    pub to_status: Status,
    pub new_deadline: Option<NaiveDate>,
    /// Index (into the returned items) of the item extracted from the same clause.
    pub item_ix: Option<usize>,
}

/// Everything the rules find in one set of minutes.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub items: Vec<ActionItem>,
    pub signals: Vec<Signal>,
    /// Non-empty lines read.
    pub lines: usize,
    /// Clauses considered.
    pub clauses: usize,
}

struct Re {
    list_marker: Regex,
    md_heading: Regex,
    cn_heading: Regex,
    paren_heading: Regex,
    bold_heading: Regex,
    colon_heading: Regex,
    numbered: Regex,
    meta: Regex,
    field_label: Regex,
    owner_label: Regex,
    tag_bracket: Regex,
    done: Regex,
    done_end: Regex,
    done_en: Regex,
    delay: Regex,
    cancel: Regex,
    progress: Regex,
    decision: Regex,
    unknown_by: Regex,
}

fn re() -> &'static Re {
    static R: OnceLock<Re> = OnceLock::new();
    R.get_or_init(|| {
        let r = |s: &str| Regex::new(s).expect("extract regex");
        Re {
            list_marker: r(r"^\s*(?:>\s*)?(?:[-*•+]\s*)?(?:\[[ xX]?\]\s*)?(?:\d{1,2}\s*([.、)])|\(\d{1,2}\)|[①-⑳]|\([一二三四五六七八九十]{1,3}\))?\s*"),
            md_heading: r(r"^\s*(#{1,6})\s*(.+?)\s*#*\s*$"),
            cn_heading: r(r"^\s*[一二三四五六七八九十]{1,3}\s*[、.]\s*(.+)$"),
            paren_heading: r(r"^\s*\([一二三四五六七八九十]{1,3}\)\s*(.+)$"),
            bold_heading: r(r"^\s*\*\*([^*]+)\*\*\s*:?\s*$"),
            colon_heading: r(r"^\s*([^:：|]{1,16}):\s*$"),
            numbered: r(r"^\s*\d{1,2}\s*[.、)]\s*(.+)$"),
            meta: r(r"(?i)^(?:会议)?(?:时间|日期|地点|主持人?|参会人员|参会|出席人员|出席|列席|缺席|记录人?|参加人员|参加|与会人员|下次会议|会议形式|形式|date|chair|attendees|present|minutes|notes|location|time)\s*:"),
            field_label: r(r"(?i)^\s*(?:负责人|责任人|牵头人|跟进人|执行人|owner|完成时间|截止时间|截止日期|截止|时限|完成时限|期限|deadline|due|类型|事项类型)\s*:"),
            owner_label: r(r"(?i)(负责人|责任人|牵头人|跟进人|执行人|承办人|owner|负责)\s*:\s*"),
            tag_bracket: r(r"[【\[]([^】\]]{2,10})[】\]]"),
            done: r(r"已(?:经)?(?:全部|全额|按时|于[^,;。]{0,14}?|由[^,;。]{1,8}?|与[^,;。]{1,8}?|在[^,;。]{1,8}?)?(?:完成|到账|结清|付清|收回|回款|提交|签回|签署|签订|寄出|发出|发运|装柜|排产|确认|召开|审批|批准|通过|上线|落实|解决|关闭|入职|录用|办妥|交付|送达|收到|支付|付款|接受|汇总|起草)|审议通过|此事关闭|该事项关闭|事项关闭"),
            done_end: r(r"(?:[,—]|——)\s*(?:已)?完成\s*[。.]?\s*$|关闭\s*[。.]?\s*$"),
            done_en: r(r"(?i)\b(?:done|closed|completed|paid|received|shipped|finished)\b"),
            delay: r(r"(?i)(?:延期|推迟|顺延|延后|改期|postponed|delayed|moved)\s*(?:至|到|to|until)\s*"),
            cancel: r(r"(?i)取消|不再跟进|暂不跟进|终止|作废|撤销|\bcancel(?:l)?ed\b|\bdropped\b"),
            progress: r(r"(?i)进行中|推进中|正在|在做|继续跟进|继续催收|继续推进|继续跟踪|in progress|ongoing"),
            decision: r(r"^(?:原则)?(?:同意|批准|确定|明确|维持|决定|通过)"),
            unknown_by: r(r"由\s*([\p{Han}]{2,3})\s*(?:负责|牵头|跟进)"),
        }
    })
}

fn section_of(heading: &str) -> Option<Section> {
    let h = heading.to_lowercase();
    const REVIEW: &[&str] = &[
        "回顾",
        "跟踪",
        "落实情况",
        "完成情况",
        "进展",
        "上次",
        "上期",
        "前期",
        "上周",
        "updates",
        "follow-up",
        "review",
        "status",
    ];
    const ACTION: &[&str] = &[
        "行动项",
        "待办",
        "决议",
        "决定",
        "下一步",
        "工作安排",
        "督办",
        "任务",
        "分工",
        "重点工作",
        "action",
        "todo",
        "to-do",
        "next step",
        "部署",
    ];
    if REVIEW.iter().any(|k| h.contains(k)) {
        Some(Section::Review)
    } else if ACTION.iter().any(|k| h.contains(k)) {
        Some(Section::Action)
    } else {
        Some(Section::Info)
    }
}

fn split_cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| c.trim().to_string()).collect()
}

fn is_separator_row(cells: &[String]) -> bool {
    !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim();
            !c.is_empty() && c.chars().all(|x| matches!(x, '-' | ':' | ' '))
        })
}

fn columns(header: &[String]) -> Columns {
    let mut cols = Columns::default();
    for (i, h) in header.iter().enumerate() {
        let h = fold(h).to_lowercase();
        let has = |ks: &[&str]| ks.iter().any(|k| h.contains(k));
        if cols.owner.is_none() && has(&["负责人", "责任人", "owner", "执行人", "牵头", "负责"]) {
            cols.owner = Some(i);
        } else if cols.kind.is_none() && has(&["类型", "分类", "type", "category"]) {
            cols.kind = Some(i);
        } else if cols.status.is_none() && has(&["状态", "进展", "完成情况", "status", "progress"]) {
            cols.status = Some(i);
        } else if cols.deadline.is_none()
            && has(&["截止", "完成时间", "期限", "时限", "deadline", "due", "日期", "时间"])
        {
            cols.deadline = Some(i);
        } else if cols.desc.is_none()
            && has(&["事项", "内容", "任务", "行动", "工作", "议题", "action", "item", "task", "指标"])
        {
            cols.desc = Some(i);
        }
    }
    cols
}

fn strip_marker(s: &str) -> &str {
    match re().list_marker.captures(s) {
        Some(c) => {
            let m = c.get(0).expect("match");
            let rest = &s[m.end()..];
            // `1.58亿` is a number, not a list marker
            if c.get(1).is_some_and(|p| p.as_str() == ".") && rest.starts_with(|ch: char| ch.is_ascii_digit()) {
                s
            } else {
                rest
            }
        }
        None => s,
    }
}

/// Splits minutes into clauses with their section and heading context.
pub fn clauses(text: &str, scanner: &Scanner) -> (Vec<Clause>, usize) {
    let r = re();
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Clause> = Vec::new();
    // heading stack: (level, section, country)
    let mut stack: Vec<(usize, Option<Section>, Option<String>)> = Vec::new();
    let mut nonempty = 0usize;
    let mut first_seen = false;
    let mut table: Option<Columns> = None;
    let mut table_is_data = false;
    let mut last_block: Option<usize> = None; // index in `out` a continuation line may join
    let heading_country = |h: &str| -> Option<String> {
        let mut codes: Vec<String> = scanner
            .scan(&fold(h))
            .into_iter()
            .filter(|m| matches!(m.kind, Kind::Country | Kind::City))
            .map(|m| m.id)
            .collect();
        codes.sort();
        codes.dedup();
        (codes.len() == 1).then(|| codes.remove(0))
    };
    for (ix, raw) in lines.iter().enumerate() {
        let line = fold(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            table = None;
            continue;
        }
        nonempty += 1;
        let section = stack.iter().rev().find_map(|s| s.1).unwrap_or(Section::None);
        let ctx_country = stack.iter().rev().find_map(|s| s.2.clone());

        // tables
        if trimmed.starts_with('|') {
            last_block = None;
            let cells = split_cells(trimmed);
            if is_separator_row(&cells) {
                continue;
            }
            let next_is_sep = lines.get(ix + 1).map(|l| is_separator_row(&split_cells(&fold(l)))).unwrap_or(false);
            if table.is_none() || next_is_sep {
                let cols = columns(&cells);
                table_is_data = cols.owner.is_none() && cols.deadline.is_none() && cols.status.is_none();
                table = Some(cols);
                continue;
            }
            let Some(cols) = table.as_ref() else { continue };
            if table_is_data {
                continue;
            }
            let get =
                |i: Option<usize>| i.and_then(|i| cells.get(i)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let desc = get(cols.desc).unwrap_or_else(|| {
                cells
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        Some(*i) != cols.owner
                            && Some(*i) != cols.deadline
                            && Some(*i) != cols.kind
                            && Some(*i) != cols.status
                    })
                    .map(|(_, c)| c.clone())
                    .max_by_key(|c| c.chars().count())
                    .unwrap_or_default()
            });
            if desc.chars().all(|c| c.is_ascii_digit() || c.is_whitespace()) {
                continue;
            }
            out.push(Clause {
                line_no: ix + 1,
                line_ix: ix,
                source: raw.trim().to_string(),
                text: desc.clone(),
                section,
                heading_country: ctx_country,
                row: Some(RowCells {
                    desc,
                    owner: get(cols.owner),
                    deadline: get(cols.deadline),
                    kind: get(cols.kind),
                    status: get(cols.status),
                }),
                after_semicolon: false,
            });
            continue;
        }
        table = None;

        // headings
        let heading: Option<(usize, String)> = if let Some(c) = r.md_heading.captures(trimmed) {
            Some((c[1].len(), c[2].to_string()))
        } else if let Some(c) = r.bold_heading.captures(trimmed) {
            Some((4, c[1].to_string()))
        } else if let Some(c) = r.cn_heading.captures(trimmed).filter(|c| {
            c[1].chars().count() <= 30 && !c[1].contains('。') && !c[1].contains(':') && !c[1].contains(',')
        }) {
            Some((2, c[1].to_string()))
        } else if let Some(c) =
            r.paren_heading.captures(trimmed).filter(|c| c[1].chars().count() <= 30 && !c[1].contains('。'))
        {
            Some((3, c[1].to_string()))
        } else if let Some(c) = r.colon_heading.captures(trimmed).filter(|c| !r.meta.is_match(&format!("{}:", &c[1]))) {
            Some((5, c[1].to_string()))
        } else if let Some(c) = r.numbered.captures(trimmed).filter(|c| {
            let t = &c[1];
            let next = lines[ix + 1..].iter().map(|l| l.trim()).find(|l| !l.is_empty()).unwrap_or("");
            t.chars().count() <= 30
                && !t.contains('。')
                && !t.contains(',')
                && !t.contains(':')
                && (next.starts_with('-') || next.starts_with('*') || next.starts_with('•'))
        }) {
            Some((3, c[1].to_string()))
        } else if !first_seen
            && !trimmed.starts_with('-')
            && trimmed.chars().count() <= 40
            && !trimmed.contains([':', ',', '。', ';'])
        {
            Some((1, trimmed.to_string()))
        } else {
            None
        };
        first_seen = true;
        if let Some((level, h)) = heading {
            while stack.last().is_some_and(|s| s.0 >= level) {
                stack.pop();
            }
            let sec = if level == 1 && stack.is_empty() && !h.contains("行动") && !h.contains("待办") {
                None
            } else {
                section_of(&h)
            };
            stack.push((level, sec, heading_country(&h)));
            last_block = None;
            continue;
        }

        let body = strip_marker(trimmed);
        let body_plain = body.trim_start_matches('>').trim().trim_start_matches("**");
        if r.meta.is_match(body_plain) || (body_plain.contains("主持") && body_plain.contains("记录")) {
            last_block = None;
            continue;
        }
        // continuation of a multi-line block (负责人：… / 完成时间：…)
        if r.field_label.is_match(body) && body.len() == trimmed.len() {
            if let Some(b) = last_block {
                out[b].text.push_str("; ");
                out[b].text.push_str(body.trim());
                out[b].source.push_str(" / ");
                out[b].source.push_str(raw.trim());
                continue;
            }
        }
        // sentences
        let mut pieces: Vec<(String, bool)> = Vec::new();
        for sent in split_sentences(body) {
            let s = sent.trim();
            if s.is_empty() || !s.chars().any(|c| c.is_alphanumeric()) {
                continue;
            }
            let continues = r.field_label.is_match(s)
                || (!s.contains('。')
                    && pieces.last().is_some()
                    && !scanner.scan(s).iter().any(|m| matches!(m.kind, Kind::Staff | Kind::Customer))
                    && sent_was_semicolon(body, s));
            if continues {
                if let Some(p) = pieces.last_mut() {
                    p.0.push_str("; ");
                    p.0.push_str(s);
                    continue;
                }
            }
            pieces.push((s.to_string(), sent_was_semicolon(body, s)));
        }
        let start = out.len();
        for (p, semi) in pieces {
            out.push(Clause {
                line_no: ix + 1,
                line_ix: ix,
                source: p.clone(),
                text: p,
                section,
                heading_country: ctx_country.clone(),
                row: None,
                after_semicolon: semi,
            });
        }
        last_block = if out.len() > start { Some(out.len() - 1) } else { None };
    }
    (out, nonempty)
}

/// Sentence pieces of a line: split at 。 ! ? and at `;`.
fn split_sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if matches!(c, '。' | '!' | '?' | ';') {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Whether piece `p` of `line` follows a `;` (as opposed to a full stop).
fn sent_was_semicolon(line: &str, p: &str) -> bool {
    line.find(p).map(|i| line[..i].trim_end().ends_with(';')).unwrap_or(false)
}

/// Tag keyword table: tags.csv keywords (weight 1) overlaid with `data/type_keywords.csv`.
pub struct TypeRules {
    /// (keyword lower-cased, tag code, weight)
    keywords: Vec<(String, String, f64)>,
    /// tag code → name, in priority order
    tags: Vec<(String, String)>,
}

impl TypeRules {
    pub fn new(d: &Dictionaries) -> Self {
        let mut kw: BTreeMap<(String, String), f64> = BTreeMap::new();
        for t in &d.tags {
            for k in &t.keywords {
                kw.insert((k.to_lowercase(), t.code.clone()), 1.0);
            }
        }
        for line in TYPE_KEYWORDS.lines().skip(1) {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            if f.len() == 3 && d.tags.iter().any(|t| t.code == f[1]) {
                let w: f64 = f[2].trim().parse().unwrap_or(1.0);
                kw.insert((f[0].trim().to_lowercase(), f[1].trim().to_string()), w);
            }
        }
        let mut tags: Vec<(String, String)> = d.tags.iter().map(|t| (t.code.clone(), t.name.clone())).collect();
        tags.sort_by_key(|(c, _)| TYPE_PRIORITY.iter().position(|p| p == c).unwrap_or(usize::MAX));
        Self { keywords: kw.into_iter().map(|((k, c), w)| (k, c, w)).collect(), tags }
    }

    /// Scores per tag code of a (masked) text.
    pub fn scores(&self, masked: &str) -> BTreeMap<String, f64> {
        let low = masked.to_lowercase();
        let mut s: BTreeMap<String, f64> = BTreeMap::new();
        for (k, code, w) in &self.keywords {
            let n = low.matches(k.as_str()).count();
            if n > 0 {
                *s.entry(code.clone()).or_default() += w * n as f64;
            }
        }
        s
    }

    /// The best tag code for a text (ties broken by the priority order), or None without any hit.
    pub fn best(&self, masked: &str) -> Option<String> {
        let s = self.scores(masked);
        let mut best: Option<(String, f64)> = None;
        for (code, _) in &self.tags {
            if let Some(&v) = s.get(code) {
                if best.as_ref().is_none_or(|b| v > b.1 + 1e-9) {
                    best = Some((code.clone(), v));
                }
            }
        }
        best.map(|b| b.0)
    }

    pub fn name_of(&self, code: &str) -> Option<&str> {
        self.tags.iter().find(|(c, _)| c == code).map(|(_, n)| n.as_str())
    }

    pub fn code_of_name(&self, name: &str) -> Option<&str> {
        let k = lodestar_core::text::norm_key(name);
        self.tags
            .iter()
            .find(|(c, n)| lodestar_core::text::norm_key(n) == k || lodestar_core::text::norm_key(c) == k)
            .map(|(c, _)| c.as_str())
    }

    pub fn names(&self) -> Vec<&str> {
        self.tags.iter().map(|(_, n)| n.as_str()).collect()
    }
}

/// Owners found in a clause.
#[derive(Debug, Default)]
struct Owners {
    ids: Vec<String>,
    unresolved: Vec<String>,
    /// An owner field was present (even if it says 待定).
    labelled: bool,
    explicit: bool,
}

fn after_skip<'a>(t: &'a str, mut i: usize, deadlines: &[Deadline]) -> &'a str {
    loop {
        let rest = &t[i..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        i += rest.len() - trimmed.len();
        if let Some(d) = deadlines.iter().find(|d| d.start == i) {
            i = d.end;
            continue;
        }
        if let Some(a) = ADVERBS.iter().find(|a| t[i..].starts_with(**a)) {
            i += a.len();
            continue;
        }
        return &t[i..];
    }
}

fn owners_of(t: &str, mentions: &[Mention], deadlines: &[Deadline], section: Section, d: &Dictionaries) -> Owners {
    let r = re();
    let staff: Vec<&Mention> = mentions.iter().filter(|m| m.kind == Kind::Staff).collect();
    let mut o = Owners::default();
    let mut chosen: Vec<usize> = Vec::new();
    let not_owner = |m: &Mention| {
        let rest = t[m.end..].trim_start();
        NOT_OWNER_AFTER.iter().any(|v| rest.starts_with(v))
    };
    // a) labelled field
    for c in r.owner_label.captures_iter(t) {
        let m = c.get(0).expect("match");
        if c[1].eq_ignore_ascii_case("负责") && !t[..m.start()].trim_end().is_empty() && !t[..m.start()].ends_with(';')
        {
            // "张三负责：…" is handled by the name rules
            continue;
        }
        o.labelled = true;
        let rest = &t[m.end()..];
        let mut end = rest.find([';', '。', '|']).unwrap_or(rest.len());
        for stop in ["截止", "完成时限", "完成时间", "时限", "期限", "deadline", "due", "—", " - "] {
            if let Some(p) = rest.find(stop) {
                end = end.min(p);
            }
        }
        let (a, b) = (m.end(), m.end() + end);
        let inside: Vec<usize> =
            staff.iter().enumerate().filter(|(_, s)| s.start >= a && s.end <= b).map(|(i, _)| i).collect();
        if inside.is_empty() {
            for tok in rest[..end].split([',', '、', '/', '&', '+', ' ', '和', '及']) {
                let tok = tok.trim().trim_matches(['(', ')']).trim();
                if tok.is_empty() || NO_OWNER.contains(&tok.to_lowercase().as_str()) {
                    continue;
                }
                let n = tok.chars().count();
                if (2..=4).contains(&n) && tok.chars().all(is_han) && !o.unresolved.iter().any(|u| u == tok) {
                    o.unresolved.push(tok.to_string());
                }
            }
        }
        chosen.extend(inside);
    }
    // b–g) name rules
    for (i, m) in staff.iter().enumerate() {
        if not_owner(m) {
            continue;
        }
        let before = t[..m.start].trim_end();
        let after = after_skip(t, m.end, deadlines);
        let after_raw = &t[m.end..];
        let by_before = OWNER_BEFORE.iter().any(|p| before.ends_with(p));
        let by_after = OWNER_AFTER.iter().any(|p| after.starts_with(p) || after_raw.trim_start().starts_with(p))
            || after_raw.starts_with(" to ")
            || after_raw.starts_with(" will ");
        let paren = before.rfind('(').is_some_and(|p| {
            let between = &t[p + 1..m.start];
            !between.contains(')') && between.chars().all(|c| matches!(c, ' ' | '、' | ',' | '/' | '和' | '及'))
        }) || {
            // a later name inside the same parentheses: (陈思远、李娜)
            let p = before.rfind('(');
            p.is_some_and(|p| {
                let between = &t[p + 1..m.start];
                !between.contains(')')
                    && staff.iter().any(|s| s.start == p + 1 + (between.len() - between.trim_start().len()))
                    && between.chars().all(|c| !c.is_ascii_digit())
                    && between.chars().count() <= 16
            })
        };
        let lead_dash = section == Section::Action
            && before.trim_start_matches(['@', ' ']).is_empty()
            && after_raw.trim_start().starts_with(['—', '–', '-', ':']);
        if by_before || by_after || paren || lead_dash {
            chosen.push(i);
        }
    }
    for c in r.unknown_by.captures_iter(t) {
        let name = c[1].to_string();
        if !staff.iter().any(|s| s.start == c.get(1).map(|x| x.start()).unwrap_or(0))
            && !o.unresolved.contains(&name)
            && d.resolve_staff(&name).is_none()
            && !NO_OWNER.contains(&name.as_str())
            && !name.ends_with('部')
        {
            o.unresolved.push(name);
        }
    }
    o.explicit = !chosen.is_empty() || !o.unresolved.is_empty() || o.labelled;
    // heuristic: a name followed by an action verb (张三提交…, 吴刚 11 月第三周前完成…)
    if !o.explicit {
        for (i, m) in staff.iter().enumerate() {
            if not_owner(m) {
                continue;
            }
            let after = after_skip(t, m.end, deadlines);
            if ACTION_VERBS.iter().any(|v| after.starts_with(v)) {
                chosen.push(i);
            }
        }
    }
    // fallback: exactly one person named in a dated task (韩工下周二出发，两周内提交报告)
    if !o.explicit && chosen.is_empty() && !deadlines.is_empty() && has_any(t, ACTION_VERBS) {
        let candidates: Vec<usize> = (0..staff.len()).filter(|&i| !not_owner(staff[i])).collect();
        let distinct: std::collections::BTreeSet<&str> = candidates.iter().map(|&i| staff[i].id.as_str()).collect();
        if distinct.len() == 1 && staff.iter().all(|m| !not_owner(m)) {
            chosen.extend(candidates);
        }
    }
    // chain: 张三、李四跟进 / 刘洋和马丽… / Tina Zhou / 何佳
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..staff.len() {
            if chosen.contains(&i) {
                continue;
            }
            let near = |j: usize| {
                let (a, b) = if j < i { (staff[j], staff[i]) } else { (staff[i], staff[j]) };
                a.end <= b.start
                    && t[a.end..b.start]
                        .chars()
                        .all(|c| matches!(c, ' ' | '、' | ',' | '/' | '和' | '与' | '及' | '&' | '+' | '@'))
            };
            if ((i > 0 && chosen.contains(&(i - 1)) && near(i - 1)) || (chosen.contains(&(i + 1)) && near(i + 1)))
                && !not_owner(staff[i])
            {
                chosen.push(i);
                changed = true;
            }
        }
    }
    chosen.sort();
    for i in chosen {
        let id = staff[i].id.clone();
        if !o.ids.contains(&id) {
            o.ids.push(id);
        }
    }
    o
}

/// The clause with names, dates and field labels blanked out (for type keywords and similarity).
fn mask(t: &str, mentions: &[Mention], deadlines: &[Deadline]) -> String {
    let mut spans: Vec<(usize, usize)> = mentions.iter().map(|m| (m.start, m.end)).collect();
    spans.extend(deadlines.iter().map(|d| (d.start, d.end)));
    for m in re().owner_label.find_iter(t) {
        spans.push((m.start(), m.end()));
    }
    spans.sort();
    let mut out = String::with_capacity(t.len());
    let mut pos = 0;
    for (s, e) in spans {
        if s < pos {
            pos = pos.max(e);
            continue;
        }
        out.push_str(&t[pos..s]);
        out.push(' ');
        pos = e;
    }
    if pos < t.len() {
        out.push_str(&t[pos..]);
    }
    out
}

/// The description of an item: the clause without list markers, tag brackets and field labels.
fn describe(t: &str) -> String {
    let r = re();
    let mut s = strip_marker(t).to_string();
    s = r.tag_bracket.replace_all(&s, "").to_string();
    for prefix in ["事项:", "会议决定:", "会议决议:", "决定:", "决议:", "会议要求:"] {
        if let Some(x) = s.trim_start().strip_prefix(prefix) {
            s = x.to_string();
        }
    }
    // drop trailing field segments: "; 负责人:张三; 完成时间:…" and "责任人:张三"
    let mut parts: Vec<&str> = s.split(';').collect();
    parts.retain(|p| !r.field_label.is_match(p));
    let s = parts.join(";");
    let s = match r.owner_label.find(&s) {
        Some(m) if m.start() > 0 => s[..m.start()].to_string(),
        _ => s,
    };
    s.trim().trim_end_matches(['。', ';', ',', '.', ' ', ':']).trim().to_string()
}

fn status_of(text: &str, meeting: NaiveDate) -> Option<(Status, Option<NaiveDate>)> {
    let r = re();
    if let Some(m) = r.delay.find(text) {
        let rest = &text[m.end()..];
        let d = deadline::find_all(rest, meeting).into_iter().find(|d| d.start < 6).and_then(|d| d.date);
        return Some((Status::Delayed, d));
    }
    if r.cancel.is_match(text) {
        return Some((Status::Cancelled, None));
    }
    let done = r.done.is_match(text) || r.done_end.is_match(text) || r.done_en.is_match(text);
    if done {
        if DONE_BLOCKERS.iter().any(|b| text.contains(b)) {
            return Some((Status::InProgress, None));
        }
        return Some((Status::Done, None));
    }
    if text.contains("延期") {
        return Some((Status::Delayed, None));
    }
    if r.progress.is_match(text) {
        return Some((Status::InProgress, None));
    }
    None
}

fn has_any(t: &str, words: &[&str]) -> bool {
    let low = t.to_lowercase();
    words.iter().any(|w| low.contains(&w.to_lowercase()))
}

/// Runs the rules over minutes held at `meeting`.
pub fn analyze(text: &str, meeting: NaiveDate, d: &Dictionaries) -> Analysis {
    let scanner = Scanner::new(d);
    let types = TypeRules::new(d);
    let r = re();
    let (cls, lines) = clauses(text, &scanner);
    let mut a = Analysis { lines, clauses: cls.len(), ..Default::default() };
    let mut prev_line: Option<(usize, Option<String>, Option<String>)> = None; // (line, customer, country)
    for c in &cls {
        let t = c.text.clone();
        let mentions = scanner.scan(&t);
        let mut deadlines: Vec<Deadline> =
            deadline::find_all(&t, meeting).into_iter().filter(|x| !is_event_date(&t, x)).collect();
        let mut row_owner_mentions: Vec<Mention> = Vec::new();
        let mut row_deadline: Option<Deadline> = None;
        if let Some(row) = &c.row {
            if let Some(cell) = &row.owner {
                row_owner_mentions = scanner.scan(&fold(cell)).into_iter().filter(|m| m.kind == Kind::Staff).collect();
            }
            if let Some(cell) = &row.deadline {
                let f = fold(cell);
                row_deadline = deadline::pick(&f, meeting).or_else(|| {
                    deadline::parse_date(&f).map(|dt| Deadline {
                        date: Some(dt),
                        text: f.clone(),
                        next_meeting: false,
                        start: 0,
                        end: f.len(),
                        strength: 2,
                    })
                });
            }
            deadlines.retain(|_| false);
        }
        let chosen_deadline: Option<Deadline> = if c.row.is_some() {
            row_deadline.clone()
        } else {
            deadlines.iter().cloned().max_by_key(|x| (x.strength, x.date.is_some() || x.next_meeting, x.start))
        };
        let customers: Vec<&Mention> = mentions.iter().filter(|m| m.kind == Kind::Customer).collect();
        let mut customer = customers.first().map(|m| m.id.clone());
        let mut countries: Vec<String> =
            mentions.iter().filter(|m| matches!(m.kind, Kind::Country | Kind::City)).map(|m| m.id.clone()).collect();
        countries.sort();
        countries.dedup();
        // inherit the customer of the previous sentence of the same line
        if customer.is_none() && countries.is_empty() {
            if let Some((l, cu, co)) = &prev_line {
                if *l == c.line_ix && c.after_semicolon {
                    customer = cu.clone();
                    if let Some(co) = co {
                        countries.push(co.clone());
                    }
                }
            }
        }
        let country: Option<String> = match &customer {
            Some(id) => d.customer_by_id(id).map(|x| x.country.clone()).filter(|s| !s.is_empty()),
            None if countries.len() == 1 => Some(countries[0].clone()),
            None if countries.is_empty() => c.heading_country.clone(),
            None => None,
        };
        prev_line = Some((c.line_ix, customer.clone(), country.clone()));

        let mut owners = owners_of(&t, &mentions, &deadlines, c.section, d);
        if c.row.is_some() {
            owners = Owners::default();
            if let Some(cell) = c.row.as_ref().and_then(|r| r.owner.clone()) {
                owners.labelled = true;
                for m in &row_owner_mentions {
                    if !owners.ids.contains(&m.id) {
                        owners.ids.push(m.id.clone());
                    }
                }
                if owners.ids.is_empty() {
                    for tok in fold(&cell).split([',', '、', '/', '&', '+', ' ', '和', '及']) {
                        let tok = tok.trim().trim_matches(['(', ')']).trim();
                        let n = tok.chars().count();
                        if (2..=4).contains(&n) && tok.chars().all(is_han) && !NO_OWNER.contains(&tok) {
                            owners.unresolved.push(tok.to_string());
                        }
                    }
                }
            }
        }
        let masked = mask(&t, &mentions, &deadlines);
        let tag_code = types.best(&masked);

        // status signal (for earlier items)
        let status_text = match &c.row {
            Some(row) => format!("{} {}", row.desc, row.status.clone().unwrap_or_default()),
            None => t.clone(),
        };
        let status = if c.row.as_ref().is_some_and(|r| r.status.is_some()) || c.row.is_none() {
            status_of(&fold(&status_text), meeting)
        } else {
            None
        };

        // is it an action item?
        let body = strip_marker(&t);
        let non_action = has_any(&t, NON_ACTION);
        let has_owner = !owners.ids.is_empty() || !owners.unresolved.is_empty() || owners.labelled;
        let has_deadline = chosen_deadline.is_some();
        let real_deadline = chosen_deadline.as_ref().is_some_and(|x| x.date.is_some() || x.next_meeting);
        let verb = has_any(&masked, ACTION_VERBS);
        let modal = has_any(&masked, MODALS);
        let done_line = matches!(status, Some((Status::Done, _)) | Some((Status::Cancelled, _))) && !real_deadline;
        let decision_only = r.decision.is_match(body.trim()) && owners.ids.is_empty() && !has_deadline;
        let is_item = if non_action || done_line || c.section == Section::Review {
            false
        } else if c.row.is_some() {
            true
        } else if c.section == Section::Action {
            (has_owner || has_deadline || verb) && !decision_only
        } else {
            (has_owner && (has_deadline || verb)) || (real_deadline && modal && verb)
        };
        let mut item_ix = None;
        if is_item {
            let explicit_type = c
                .row
                .as_ref()
                .and_then(|r| r.kind.as_deref())
                .and_then(|k| types.code_of_name(k))
                .map(str::to_string)
                .or_else(|| {
                    r.tag_bracket.captures_iter(&t).find_map(|cap| types.code_of_name(&cap[1]).map(str::to_string))
                });
            let code = explicit_type.clone().or(tag_code.clone()).unwrap_or_else(|| {
                if customer.is_some() {
                    "CUST_DEV".into()
                } else {
                    "OTHER".into()
                }
            });
            let type_name = types.name_of(&code).unwrap_or("其他管理事项").to_string();
            let description = match &c.row {
                Some(row) => describe(&fold(&row.desc)),
                None => describe(&t),
            };
            let mut names: Vec<String> =
                owners.ids.iter().filter_map(|id| d.staff_by_id(id)).map(|s| s.name.clone()).collect();
            names.extend(owners.unresolved.iter().cloned());
            let mut missing = Vec::new();
            if names.is_empty() {
                missing.push("owner".to_string());
            }
            let dl_date = chosen_deadline.as_ref().and_then(|x| x.date);
            if dl_date.is_none() {
                missing.push("deadline".to_string());
            }
            let mut confidence: f64 = 0.45;
            if !owners.ids.is_empty() {
                confidence += 0.2;
            }
            if dl_date.is_some() {
                confidence += 0.15;
            }
            if explicit_type.is_some() || tag_code.is_some() {
                confidence += 0.1;
            }
            if c.section == Section::Action || c.row.is_some() {
                confidence += 0.05;
            }
            if !owners.unresolved.is_empty() {
                confidence -= 0.1;
            }
            let mut fs = BTreeMap::new();
            for f in ["description", "type", "owners", "deadline", "country", "customer"] {
                fs.insert(f.to_string(), FieldSource::Rule);
            }
            let item = ActionItem {
                id: None,
                description,
                item_type: type_name,
                country: country.clone(),
                country_name: country.as_deref().and_then(|c| d.country_by_code(c)).map(|c| c.name_zh.clone()),
                customer: customer.clone(),
                customer_name: customer.as_deref().and_then(|c| d.customer_by_id(c)).map(|c| c.display().to_string()),
                owners: names,
                owner_ids: owners.ids.clone(),
                unresolved_owners: owners.unresolved.clone(),
                deadline: dl_date,
                deadline_text: chosen_deadline.as_ref().map(|x| x.text.clone()),
                next_meeting_checkpoint: chosen_deadline.as_ref().is_some_and(|x| x.next_meeting),
                source: c.source.clone(),
                line: c.line_no,
                confidence: (confidence.clamp(0.05, 0.95) * 100.0).round() / 100.0,
                needs_review: true,
                missing,
                field_sources: fs,
            };
            item_ix = Some(a.items.len());
            a.items.push(item);
        }
        if let Some((to_status, new_deadline)) = status {
            if !(non_action && to_status != Status::Done && to_status != Status::Cancelled)
                || c.section == Section::Review
            {
                let mut staff: Vec<String> =
                    mentions.iter().filter(|m| m.kind == Kind::Staff).map(|m| m.id.clone()).collect();
                staff.extend(row_owner_mentions.iter().map(|m| m.id.clone()));
                staff.dedup();
                a.signals.push(Signal {
                    line_no: c.line_no,
                    evidence: c.source.clone(),
                    masked: masked.clone(),
                    customer: customer.clone(),
                    staff,
                    tag: tag_code.clone(),
                    to_status,
                    new_deadline,
                    item_ix,
                });
            }
        }
    }
    a
}

/// A description with names (staff, customers, countries) and date phrases blanked out: what the
/// ledger compares when it decides whether two items are the same task.
pub fn masked_description(text: &str, meeting: NaiveDate, scanner: &Scanner) -> String {
    let t = fold(text);
    let mentions = scanner.scan(&t);
    let deadlines = deadline::find_all(&t, meeting);
    mask(&t, &mentions, &deadlines)
}

/// True when most letters of `s` are Latin (so character bigrams cannot be compared with Chinese text).
pub fn mostly_latin(s: &str) -> bool {
    let han = s.chars().filter(|c| is_han(*c)).count();
    let latin = s.chars().filter(|c| c.is_ascii_alphabetic()).count();
    latin > han * 2
}

/// `已于 9 月 11 日到账`, `paid … on 11/12`: a date that reports an event, not a deadline.
fn is_event_date(t: &str, d: &Deadline) -> bool {
    let before: String = t[..d.start].chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    before.ends_with("已于") || before.ends_with("已于 ") || before.ends_with("已在") || before.ends_with("on ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dicts() -> Dictionaries {
        Dictionaries::builtin().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        deadline::parse_date(s).unwrap()
    }

    fn one(text: &str) -> ActionItem {
        let a = analyze(text, day("2026-09-07"), &dicts());
        assert_eq!(a.items.len(), 1, "{text}: {:#?}", a.items);
        a.items.into_iter().next().unwrap()
    }

    #[test]
    fn owner_markers() {
        // 责任人 label, two names
        assert_eq!(one("1. 订舱确认。责任人：孙晓东、黄晓静；完成时限：9 月 12 日。").owner_ids, vec!["S06", "S14"]);
        // 由…负责
        assert_eq!(one("贝加尔轮胎中心备货 2,000 条，由张伟负责本周五前报价。").owner_ids, vec!["S05"]);
        // @name
        assert_eq!(one("## 待办\n1）@冯雪 逾期应收逐户制定回收计划，11月第一周提交。").owner_ids, vec!["S18"]);
        // （张三）
        assert_eq!(one("贝加尔轮胎中心尾款逾期 20 天，月中前收回（张伟）。").owner_ids, vec!["S05"]);
        // 张三负责 / 请张三 / English names
        assert_eq!(one("许文负责东海港湾服务提单及清关资料，本周内寄出。").owner_ids, vec!["S16"]);
        assert_eq!(one("韩星物流要求更换花纹，请金敏浩本月内提供对比资料。").owner_ids, vec!["S12"]);
        assert_eq!(
            one("Kazan Tyre Trading 货款逾期，Sunny Sun to follow up，本周内拿到付款计划。").owner_ids,
            vec!["S06"]
        );
        // 张三、李四跟进; 配合 is not an owner
        assert_eq!(one("刘洋和马丽下周三前一起拜访客户。").owner_ids, vec!["S04", "S10"]);
        assert_eq!(one("克孜勒库姆矿山服务索赔，由吴刚牵头、曹俊配合，10 天内给出理赔方案。").owner_ids, vec!["S08"]);
        // a reporter is not an owner; the assignee is
        assert_eq!(
            one("林悠提到三河建机租赁报价有异议，会议决定由高翔出面沟通，1月第一周前反馈结果。").owner_ids,
            vec!["S11"]
        );
    }

    #[test]
    fn unknown_owner_is_kept_as_text() {
        let it = one("## 行动项\n1. 塔什干轮胎贸易信用额度复核。责任人：赵强；截止：9 月 20 日。");
        assert!(it.owner_ids.is_empty());
        assert_eq!(it.owners, vec!["赵强"]);
        assert_eq!(it.unresolved_owners, vec!["赵强"]);
        let it = one("## 行动项\n1. 塔什干轮胎贸易信用额度复核。责任人：（待定）；截止：9 月 20 日。");
        assert!(it.owners.is_empty());
        assert_eq!(it.missing, vec!["owner"]);
    }

    #[test]
    fn non_action_lines_are_not_items() {
        let text = "# 纪要\n## 一、经营数据\n9月全钢销量同比增长12%。\n## 二、决议\n1. 格鲁吉亚经销商大会方案记录备查，暂不跟进。\n2. 原则同意促销政策框架，细则另行讨论。\n- 参会：王立军、陈思远\n日本冬季胎预售情况好于预期，仅供参考。\n";
        let a = analyze(text, day("2026-09-07"), &dicts());
        assert!(a.items.is_empty(), "{:#?}", a.items);
    }

    #[test]
    fn type_country_customer() {
        let it = one("西伯利亚物流 12 万美元尾款催收，责任人：张伟；完成时限：2026-09-15。");
        assert_eq!(it.item_type, "回款风险");
        assert_eq!(it.customer.as_deref(), Some("C001"));
        assert_eq!(it.country.as_deref(), Some("RU"));
        assert_eq!(it.deadline, Some(day("2026-09-15")));
        // customer names that contain keywords (矿山服务) do not decide the type
        let it = one("克孜勒库姆矿山服务逾期款催收，吴刚负责，月底前。");
        assert_eq!(it.item_type, "回款风险");
        // two countries, no customer → no country
        let it = one("@罗敏 展会计划（含俄罗斯COMTRANS、哈萨克斯坦矿业展），年底前报预算。");
        assert_eq!(it.country, None);
        // a city places the item
        let it = one("COMTRANS 莫斯科展会展位搭建。责任人：罗敏；完成时限：9 月 8 日。");
        assert_eq!(it.country.as_deref(), Some("RU"));
        assert_eq!(it.item_type, "市场活动");
    }

    #[test]
    fn tables_and_blocks() {
        let text = "## 行动项\n| 序号 | 事项 | 负责人 | 截止时间 |\n|---|---|---|---|\n| 1 | 撒马尔罕运输 2 个柜发运 | Gary Wu | 本周内 |\n\n## 重点工作\n1. 事项：库兹巴斯煤炭运输对账差异核实\n   负责人：冯雪\n   完成时间：本月中\n";
        let a = analyze(text, day("2026-09-07"), &dicts());
        assert_eq!(a.items.len(), 2, "{:#?}", a.items);
        assert_eq!(a.items[0].owner_ids, vec!["S08"]);
        assert_eq!(a.items[0].deadline, Some(day("2026-09-11")));
        assert_eq!(a.items[1].owner_ids, vec!["S18"]);
        assert_eq!(a.items[1].deadline, Some(day("2026-09-15")));
        assert_eq!(a.items[1].description, "库兹巴斯煤炭运输对账差异核实");
    }

    #[test]
    fn signals_for_earlier_items() {
        let text = "## 上期事项跟踪\n- 西伯利亚物流尾款：已全部到账，关闭。\n- 乌拉尔矿业框架协议谈判：延期至10月31日。\n- 明斯克货运付款币种调整：客户不同意，取消。\n- 阿尔泰矿业资格预审：已提交材料，等待结果，继续跟踪。\n";
        let a = analyze(text, day("2026-10-13"), &dicts());
        assert!(a.items.is_empty());
        let st: Vec<(Status, Option<NaiveDate>)> = a.signals.iter().map(|s| (s.to_status, s.new_deadline)).collect();
        assert_eq!(
            st,
            vec![
                (Status::Done, None),
                (Status::Delayed, Some(day("2026-10-31"))),
                (Status::Cancelled, None),
                (Status::InProgress, None)
            ]
        );
        assert_eq!(a.signals[0].customer.as_deref(), Some("C001"));
    }
}
