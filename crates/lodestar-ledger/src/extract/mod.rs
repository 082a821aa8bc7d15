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
//!
//! One submodule per stage: `clauses` (structure), `owners` and `tags` (analysis), `signals`;
//! this module runs them ([`analyze`]) and carries context across the clauses of one item. Every
//! cue word comes from `dictionaries/minutes_cues.csv`, `owner_roles.csv` and `type_keywords.csv`.

use crate::deadline::{self, Deadline};
use crate::scan::{Kind, Mention, Scanner};
use crate::text::{fold, is_han};
use crate::{ActionItem, FieldSource, Status};
use chrono::NaiveDate;
use lodestar_core::text::CueSet;
use lodestar_dict::vocab::{Cues, Vocabulary};
use lodestar_dict::Dictionaries;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

mod clauses;
mod owners;
mod signals;
mod tags;

use clauses::*;
pub use clauses::{clauses, MAX_LINE_CHARS};
use owners::*;
use signals::*;
pub use tags::TypeRules;

/// The minutes cues (`dictionaries/minutes_cues.csv` with the home's overlay): action verbs,
/// modals, owner markers, adverbs, surnames, non-names, section and column words, events.
fn cues(d: &Dictionaries) -> &Cues {
    &d.vocab.minutes
}

/// Punctuation that ends the name after a chair / recorder label (the words are `chair_stop`).
const CHAIR_STOP_PUNCT: &[&str] = &["  ", "\t", ";", "|"];

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
    /// The part of the minutes the clause sits in (action items, review, information).
    pub section: Section,
    /// Country of the enclosing heading, when it names exactly one.
    pub heading_country: Option<String>,
    /// Table row cells: (description, owner cell, deadline cell, type cell, status cell).
    pub row: Option<RowCells>,
    /// The clause follows a `;` in the same line (it may talk about the same customer).
    pub after_semicolon: bool,
    /// `text` as written: the same characters before folding (full-width punctuation kept), so a
    /// span of `text` maps to the same character span here.
    pub raw_text: String,
    /// Where `source` starts: (line index, character offset in that line).
    pub src_start: (usize, usize),
}

/// The cells of a table row, by role.
#[derive(Debug, Clone, Default)]
pub struct RowCells {
    /// 事项 / 内容 cell (else the longest cell of no other role): the item's description.
    pub desc: String,
    /// 负责人 cell, if the table has one.
    pub owner: Option<String>,
    /// 截止 / 完成时间 cell (the deadline as written), if the table has one.
    pub deadline: Option<String>,
    /// 类型 / 分类 cell: the item type as written, if the table has one.
    pub kind: Option<String>,
    /// 状态 / 进展 / 完成情况 cell, if the table has one.
    pub status: Option<String>,
    /// 说明 / 备注 cell (`客户补充资料，延期至1月20日`).
    pub note: Option<String>,
}

/// What a clause says about an earlier item (已完成 / 延期至… / 取消 / 进行中).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// 1-based line number of the clause.
    pub line_no: usize,
    /// The words it came from.
    pub evidence: String,
    /// Folded text with names and dates masked (for similarity).
    pub masked: String,
    /// Customer id the clause names (or inherits from the previous sentence of its line).
    pub customer: Option<String>,
    /// Country of the clause (its customer's, the one country named, or the heading's).
    pub country: Option<String>,
    /// Staff ids named in the clause (and in a table row's owner cell).
    pub staff: Vec<String>,
    /// The tag the clause's own keywords point to (helps pick among one customer's items).
    pub tag: Option<String>,
    /// The status the clause reports (已完成, 延期, 取消, 进行中).
    pub to_status: Status,
    /// The new deadline of a delay (`延期至10月15日`), when it gives one.
    pub new_deadline: Option<NaiveDate>,
    /// Index (into the returned items) of the item extracted from the same clause.
    pub item_ix: Option<usize>,
}

/// Everything the rules find in one set of minutes.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The action items found, in order of appearance.
    pub items: Vec<ActionItem>,
    /// Status signals about earlier items, for the ledger's proposed updates.
    pub signals: Vec<Signal>,
    /// Non-empty lines read.
    pub lines: usize,
    /// Clauses considered.
    pub clauses: usize,
    /// What the rules made of each clause (the model pass may add an item only where they left an
    /// opening: 模型补充的边界).
    pub notes: Vec<ClauseNote>,
    /// Staff ids of the meeting's 主持人 / 记录人 (chair, minute-taker), from the header lines.
    pub chairs: Vec<String>,
}

/// The rules' verdict on one clause.
#[derive(Debug, Clone, PartialEq)]
pub struct ClauseNote {
    /// 1-based line number of the first line.
    pub line_no: usize,
    /// The clause as written in the file.
    pub source: String,
    /// Folded text.
    pub text: String,
    /// Index (into the items) of the item the rules made of it.
    pub item_ix: Option<usize>,
    /// Not an item by the rules, yet not no-action either: no 记录备查 / 暂不跟进 / 仅供参考 … in its
    /// line, not a done or review line, not a bare decision, and it carries an obligation cue (an
    /// owner, a `…前` / `截止` deadline or a modal such as 请 / 需 / 要求). Background figures
    /// (`本周发货18个柜，环比增加4个柜`) carry none.
    pub open_to_model: bool,
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
    unknown_han: Regex,
    latin_before: Regex,
    latin_after: Regex,
    latin_lead: Regex,
    latin_name: Regex,
    pending: Regex,
    multi_country: Regex,
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
            unknown_han: r(r"(?:^|[,;:、。\s(]|部|处|中心|组|室|科)([\p{Han}]{2,3})(?:共同|分别|两人|二人)?(?:负责|牵头)"),
            latin_before: r(r"(?:由|请|要求|安排|让|@)\s*([A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2})"),
            latin_after: r(r"([A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2})\s*(?:负责|牵头|跟进)"),
            latin_lead: r(r"^([A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2})\s+(?:to|will)\s"),
            pending: r(r"待[\p{Han}]{0,4}?(?:审阅|审批|审核|批准|签字|签批)"),
            multi_country: r(r"[两二三四五六七八九各多]国|区域|片区|全区|中亚|高加索|独联体|日韩"),
            latin_name: r(r"^[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}$"),
        }
    })
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

/// (line index, customer, country, tag code) of the previous clause.
type PrevClause = (usize, Option<String>, Option<String>, Option<String>);

/// Runs the rules over minutes held at `meeting`.
pub fn analyze(text: &str, meeting: NaiveDate, d: &Dictionaries) -> Analysis {
    let scanner = Scanner::new(d);
    let types = TypeRules::new(d);
    let r = re();
    let (cls, lines) = clauses(text, &scanner);
    let mut a = Analysis { lines, clauses: cls.len(), chairs: meeting_chairs(text, &scanner), ..Default::default() };
    // physical lines that say 记录备查 / 暂不跟进 … anywhere (a paragraph's last sentence speaks for all)
    let k = cues(d);
    let non_action_lines: Vec<usize> =
        cls.iter().filter(|c| has_any(&c.text, k.get("non_action"))).map(|c| c.line_ix).collect();
    // (line, customer, country, tag code) of the previous clause
    let mut prev_line: Option<PrevClause> = None;
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
                // words no rule can date (`春节后`, `视情况`): kept as `deadline_text`
                let cell_text = f.trim();
                if row_deadline.is_none()
                    && cell_text.chars().any(|c| c.is_alphanumeric())
                    && !k.get("no_owner").contains(&cell_text.to_lowercase())
                {
                    row_deadline = Some(Deadline {
                        date: None,
                        text: cell_text.to_string(),
                        next_meeting: false,
                        start: 0,
                        end: f.len(),
                        strength: 0,
                    });
                }
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
        // inherit the customer of the previous sentence of the same line (a prose paragraph, a list
        // item): `关于阿尔泰运输，客户本周提出…。会议要求孙晓东…`
        let mut inherited = false;
        // (not when the sentence speaks of several countries: `高加索三国`, `各国`, `区域`)
        if customer.is_none() && countries.is_empty() && !r.multi_country.is_match(&t) {
            if let Some((l, cu, co, _)) = &prev_line {
                if *l == c.line_ix && c.row.is_none() {
                    inherited = true;
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

        let mut owners = owners_of(&t, &mentions, &deadlines, c.section, d);
        let mut support: Vec<String> = Vec::new();
        if c.row.is_some() {
            owners = Owners::default();
            if let Some(cell) = c.row.as_ref().and_then(|r| r.owner.clone()) {
                owners.labelled = true;
                for m in &row_owner_mentions {
                    if !owners.ids.contains(&m.id) {
                        owners.ids.push(m.id.clone());
                    }
                }
                let folded = fold(&cell);
                for tok in unknown_names(&folded, d) {
                    if !owners.unresolved.contains(&tok) && scanner.scan(&tok).iter().all(|m| m.kind != Kind::Staff) {
                        owners.unresolved.push(tok);
                    }
                }
                let staff: Vec<&Mention> = row_owner_mentions.iter().collect();
                support = split_supporting(&folded, &staff, &mut owners, d);
            }
        } else {
            let staff: Vec<&Mention> = mentions.iter().filter(|m| m.kind == Kind::Staff).collect();
            support = split_supporting(&t, &staff, &mut owners, d);
        }
        let masked = mask(&t, &mentions, &deadlines);
        // `会议要求…` / `会议决定…` are how minutes speak, not a meeting to organize (其他管理事项)
        let mut for_type = masked.clone();
        for p in k.get("meeting_speech").words() {
            for_type = for_type.replace(p.as_str(), " ");
        }
        let mut tag_code = types.best(&for_type);
        // a clause without task words of its own continues the previous one of the same line
        // (`…提前到1月发运，需要工厂确认产能；会议要求谢主管10天内给出明确答复`)
        if tag_code.is_none() {
            if let Some((l, _, _, tag)) = &prev_line {
                if *l == c.line_ix && c.row.is_none() && (inherited || c.after_semicolon) {
                    tag_code = tag.clone();
                }
            }
        }
        prev_line = Some((c.line_ix, customer.clone(), country.clone(), tag_code.clone()));

        // status signal (for earlier items)
        let status_text = match &c.row {
            Some(row) => format!(
                "{} {} {}",
                row.desc,
                row.status.clone().unwrap_or_default(),
                row.note.clone().unwrap_or_default()
            ),
            None => t.clone(),
        };
        let status = if c.row.as_ref().is_some_and(|r| r.status.is_some()) || c.row.is_none() {
            status_of(k, &fold(&status_text), meeting)
        } else {
            None
        };

        // is it an action item?
        let body = strip_marker(&t);
        let non_action = has_any(&t, k.get("non_action"));
        let has_owner = !owners.ids.is_empty() || !owners.unresolved.is_empty() || owners.labelled;
        let has_deadline = chosen_deadline.is_some();
        let real_deadline = chosen_deadline.as_ref().is_some_and(|x| x.date.is_some() || x.next_meeting);
        let verb = has_any(&masked, k.get("action_verb"));
        // 邀请 / 申请 contain 请 but ask nothing of anyone at the meeting
        let modal = has_any(&k.get("modal_not").replace_all(&masked, "  "), k.get("modal"));
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
            // the description as written (full-width punctuation kept) when it is a span of the clause
            let description = match &c.row {
                Some(row) => raw_of(&describe(k, &fold(&row.desc)), &t, &c.raw_text),
                None => raw_of(&describe(k, &t), &t, &c.raw_text),
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
                supporting_owners: support.iter().filter_map(|id| d.staff_by_id(id)).map(|s| s.name.clone()).collect(),
                supporting_owner_ids: support.clone(),
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
        let open_to_model = !is_item
            && !non_action
            && !non_action_lines.contains(&c.line_ix)
            && !done_line
            && !decision_only
            && c.section != Section::Review
            && status.is_none()
            // a plain time word (`本周发货18个柜`) or an as-of date (`截至10月31日，逾期应收余额…`) is
            // how figures are dated, not a deadline: a dated line needs a task verb too
            && (has_owner
                // 应收 / 应付 / 供应 contain 应 but oblige no one
                || (modal
                    && has_any(
                        &k.get("modal_not_obligation").replace_all(&k.get("modal_not").replace_all(&masked, "  "), "  "),
                        k.get("modal"),
                    ))
                || (verb
                    && chosen_deadline
                        .as_ref()
                        .is_some_and(|x| x.strength >= 1 && k.get("as_of_word").suffix_of(t[..x.start].trim_end()).is_none())));
        a.notes.push(ClauseNote {
            line_no: c.line_no,
            source: c.source.clone(),
            text: t.clone(),
            item_ix,
            open_to_model,
        });
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
                    country: country.clone(),
                    staff,
                    tag: tag_code.clone(),
                    to_status,
                    new_deadline,
                    item_ix,
                });
            }
        }
    }
    carry_context(&mut a, &cls, meeting, d);
    a
}

/// Context carried across the sentences of one numbered item or paragraph: an item with an owner
/// takes the sentences before it in the same line that have no owner of their own (`俄罗斯冬季胎补货：
/// 贝加尔轮胎中心追加 1,500 条，要求 2 月中旬前到。张伟负责排产与订舱…`) as its context — its source
/// and description start with them, it inherits their customer and country where it has none — and
/// an ownerless item among them is folded into it (with its deadline, when the owned item has none)
/// instead of standing alone.
fn carry_context(a: &mut Analysis, cls: &[Clause], meeting: NaiveDate, d: &Dictionaries) {
    if a.notes.len() != cls.len() {
        return;
    }
    let scanner = Scanner::new(d);
    let types = TypeRules::new(d);
    // tag keywords of a text, names masked (`阿尔泰矿业` is no 矿山 work)
    let tag_of = |text: &str| {
        let f = fold(text);
        let ms = scanner.scan(&f);
        types.best(&mask(&f, &ms, &[]))
    };
    let owned = |it: &ActionItem| !it.owner_ids.is_empty() || !it.unresolved_owners.is_empty();
    // item index → the item it was folded into
    let mut folded: BTreeMap<usize, usize> = BTreeMap::new();
    let mut i = 0;
    while i < cls.len() {
        let line = cls[i].line_ix;
        let mut j = i;
        while j < cls.len() && cls[j].line_ix == line {
            j += 1;
        }
        // one physical line (a list item, a paragraph): clauses i..j
        let mut context: Vec<usize> = Vec::new();
        for k in i..j {
            let c = &cls[k];
            if c.row.is_some() || c.section == Section::Review {
                context.clear();
                continue;
            }
            match a.notes[k].item_ix {
                Some(ix) if owned(&a.items[ix]) => {
                    if !context.is_empty() {
                        let mut prefix: Vec<String> = Vec::new();
                        let mut customer = None;
                        let mut country = None;
                        let mut deadline: Option<(NaiveDate, String)> = None;
                        for &q in &context {
                            let cq = &cls[q];
                            prefix.push(cq.source.trim().trim_end_matches(['。', '.', ';', '；']).to_string());
                            if let Some(oix) = a.notes[q].item_ix {
                                let o = &a.items[oix];
                                customer = customer.or(o.customer.clone());
                                country = country.or(o.country.clone());
                                if let Some(dl) = o.deadline {
                                    deadline = Some((dl, o.deadline_text.clone().unwrap_or_default()));
                                }
                                folded.insert(oix, ix);
                            } else if customer.is_none() {
                                // a sentence that is no task: its customer, not its dates (`客户要求月底前到`
                                // is the customer's date, not the task's)
                                customer = scanner
                                    .scan(&cq.text)
                                    .iter()
                                    .find(|m| m.kind == Kind::Customer)
                                    .map(|m| m.id.clone());
                            }
                        }
                        let it = &mut a.items[ix];
                        let ctx = prefix.join("。");
                        if !ctx.is_empty() {
                            // a task sentence without task words of its own (`陈思远牵头起草协议文本`)
                            // takes its type from the context (`…框架协议：…`)
                            if tag_of(&it.source).is_none() {
                                if let Some(name) =
                                    tag_of(&format!("{ctx}。{}", it.source)).and_then(|c| types.name_of(&c))
                                {
                                    it.item_type = name.to_string();
                                }
                            }
                            it.source = format!("{ctx}。{}", it.source);
                            it.description = format!("{ctx}：{}", it.description);
                        }
                        if it.customer.is_none() {
                            if let Some(cu) = customer {
                                it.customer_name = d.customer_by_id(&cu).map(|c| c.display().to_string());
                                let co = d.customer_by_id(&cu).map(|c| c.country.clone()).filter(|c| !c.is_empty());
                                it.customer = Some(cu);
                                if it.country.is_none() {
                                    it.country_name =
                                        co.as_deref().and_then(|c| d.country_by_code(c)).map(|c| c.name_zh.clone());
                                    it.country = co;
                                }
                            }
                        }
                        if it.country.is_none() {
                            if let Some(co) = country {
                                it.country_name = d.country_by_code(&co).map(|c| c.name_zh.clone());
                                it.country = Some(co);
                            }
                        }
                        if it.deadline.is_none() {
                            if let Some((dl, text)) = deadline {
                                it.deadline = Some(dl);
                                it.deadline_text = Some(text);
                                it.missing.retain(|m| m != "deadline");
                            }
                        }
                    }
                    context.clear();
                }
                // a status report (`…已于 2 月 9 日到港，该事项关闭`) is about an earlier item, not context
                _ if status_of(cues(d), &cls[k].text, meeting).is_some() => context.clear(),
                // a sentence without an owner: context for an owned item later in the line
                _ => context.push(k),
            }
        }
        i = j;
    }
    if folded.is_empty() {
        return;
    }
    // drop the folded items; every index that pointed at one points at the item it joined
    let mut new_ix: Vec<usize> = Vec::with_capacity(a.items.len());
    let mut n = 0;
    for k in 0..a.items.len() {
        new_ix.push(n);
        if !folded.contains_key(&k) {
            n += 1;
        }
    }
    let remap = |ix: usize| new_ix[*folded.get(&ix).unwrap_or(&ix)];
    for note in &mut a.notes {
        note.item_ix = note.item_ix.map(remap);
    }
    for sig in &mut a.signals {
        sig.item_ix = sig.item_ix.map(remap);
    }
    let mut k = 0;
    a.items.retain(|_| {
        let keep = !folded.contains_key(&k);
        k += 1;
        keep
    });
}

/// Staff named as the meeting's 主持人 / 记录人 (`主持：陈思远    记录：黄晓静`, `Chair: Wang`).
pub fn meeting_chairs(text: &str, scanner: &Scanner) -> Vec<String> {
    let label = lodestar_core::regex!(
        r"(?i)(?:主持人?|记录人?|记录员|纪要整理|chair(?:ed by)?|minutes(?: taken)? by|note[- ]?taker|recorder)\s*:\s*"
    );
    let words = scanner.cues().get("chair_stop");
    let stops: Vec<&str> = CHAIR_STOP_PUNCT.iter().copied().chain(words.words().iter().map(String::as_str)).collect();
    let mut out: Vec<String> = Vec::new();
    for raw in text.lines() {
        let line = fold(raw);
        for m in label.find_iter(&line) {
            let rest = &line[m.end()..];
            let cut = stops.iter().filter_map(|s| rest.find(s)).min().unwrap_or(rest.len());
            for x in scanner.scan(&rest[..cut]) {
                if x.kind == Kind::Staff && !out.contains(&x.id) {
                    out.push(x.id);
                }
            }
        }
    }
    out
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
/// `本周开标`, `定于12月4日`: a plain time phrase followed by an event (or announced by 定于) dates the
/// event, not a task.
pub(crate) fn is_event_date(t: &str, d: &Deadline) -> bool {
    // the built-in words: the ledger also calls this where no dictionaries are at hand
    let k = &Vocabulary::builtin().minutes;
    let before: String = t[..d.start].chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    if k.get("event_before").suffix_of(&before).is_some() {
        return true;
    }
    d.strength == 0
        && (k.get("event_word").prefix_of(t[d.end..].trim_start()).is_some()
            || k.get("event_announce").suffix_of(&before).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_at_sentence_ends() {
        let long = "责任人：张伟；".repeat(1000); // 7,000 characters
        let text = format!("第一行\n{long}\n末行");
        let (lines, nos) = physical_lines(&text);
        assert_eq!(lines.concat(), text.lines().collect::<String>());
        assert!(lines.iter().all(|l| l.chars().count() <= MAX_LINE_CHARS));
        assert!(lines[1..lines.len() - 1].iter().all(|l| l.ends_with('；')), "{:?}", &lines[1][..30]);
        assert_eq!((nos[0], nos[1], *nos.last().unwrap()), (0, 1, 2));
        let t = std::time::Instant::now();
        let a = analyze(
            &"责任人：张伟；".repeat(40_000),
            NaiveDate::from_ymd_opt(2026, 9, 7).unwrap(),
            &Dictionaries::builtin().unwrap(),
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
        assert!(a.clauses > 0);
    }

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
    fn supporting_owners_are_kept_beside_the_lead() {
        // a role word after the name: the name rules had dropped 曹俊 (配合 is no ownership)
        let it = one("克孜勒库姆矿山服务索赔，由吴刚牵头、曹俊配合，10 天内给出理赔方案。");
        assert_eq!((it.owner_ids, it.supporting_owner_ids), (vec!["S08".to_string()], vec!["S20".to_string()]));
        assert_eq!(it.supporting_owners, vec!["曹俊"]);
        // inside a labelled owner field: the comma separates the lead from the helper
        let it = one("1. 胎侧割伤现场鉴定。责任人：曹俊，韩磊协助；完成时限：9 月 18 日。");
        assert_eq!((it.owner_ids, it.supporting_owner_ids), (vec!["S20".to_string()], vec!["S19".to_string()]));
        // a list of helpers before one role word; a table cell with the role in brackets
        let it = one("9. 经销商返利核算：张伟牵头，冯雪、何佳配合，9 月 30 日前完成。");
        assert_eq!(it.owner_ids, vec!["S05"]);
        assert_eq!(it.supporting_owner_ids, vec!["S18", "S15"]);
        let it = one("| 序号 | 事项 | 负责人 | 截止 |\n|---|---|---|---|\n| 1 | 草原物流 3 个柜排产 | 张伟（主）/ 黄晓静（协助） | 9月29日 |\n");
        assert_eq!((it.owner_ids, it.supporting_owner_ids), (vec!["S05".to_string()], vec!["S14".to_string()]));
        // nobody leads: whoever is named keeps the task
        let it = one("## 行动项\n1. 发票核对，冯雪协助，9 月 20 日前。");
        assert!(it.supporting_owner_ids.is_empty(), "{it:?}");
    }

    #[test]
    fn a_home_vocabulary_teaches_new_role_words_and_type_keywords() {
        let text = "克孜勒库姆矿山服务索赔，由吴刚牵头、曹俊帮忙跟进，10 天内给出理赔方案。";
        let built_in = one(text);
        assert!(built_in.supporting_owner_ids.is_empty(), "帮忙跟进 is no built-in role word: {built_in:?}");
        // the home's dictionaries/owner_roles.csv adds the wording, and removes 配合
        let mut d = dicts();
        d.vocab.overlay("owner_roles.csv", "role,word\nsupporting,帮忙跟进\n-supporting,配合\n").unwrap();
        let a = analyze(text, day("2026-09-07"), &d);
        assert_eq!(a.items[0].owner_ids, vec!["S08"]);
        assert_eq!(a.items[0].supporting_owner_ids, vec!["S20"]);
        let a = analyze("克孜勒库姆矿山服务索赔，由吴刚牵头、曹俊配合，10 天内给出理赔方案。", day("2026-09-07"), &d);
        assert!(a.items[0].supporting_owner_ids.is_empty(), "配合 was removed: {:?}", a.items[0]);
        // a type keyword of the home's outweighs the built-in ones
        let line = "张伟负责 9 月 20 日前完成经销商返利核算。";
        let before = one(line).item_type;
        let mut d = dicts();
        d.vocab.overlay("type_keywords.csv", "keyword,tag,weight\n返利核算,HIRING,9\n").unwrap();
        let tag_name = d.tags.iter().find(|t| t.code == "HIRING").map(|t| t.name.clone()).unwrap();
        let after = analyze(line, day("2026-09-07"), &d).items[0].item_type.clone();
        assert_ne!(before, tag_name, "the test needs a line the built-in rules type otherwise");
        assert_eq!(after, tag_name);
    }

    #[test]
    fn an_item_takes_the_context_of_its_numbered_item() {
        // the customer and the subject are in the first sentence, the owner in the second: one item
        let it = one("## 行动项\n1. 俄罗斯冬季胎补货：贝加尔轮胎中心追加 1,500 条，要求 10 月中旬前到伊尔库茨克。张伟负责排产与订舱，黄晓静配合单证（时限：9月20日）。");
        assert_eq!(it.customer.as_deref(), Some("C005"));
        assert!(
            it.description.contains("贝加尔轮胎中心") && it.description.contains("排产与订舱"),
            "{}",
            it.description
        );
        assert_eq!(it.deadline, Some(day("2026-09-20")), "the task's own deadline, not the customer's date");
        assert_eq!(it.item_type, "订单发运");
        // a sentence without task words takes its type from the context
        let it = one("- 西伯利亚物流 2027 年框架协议：客户同意年采购 6,000 条。陈思远牵头起草协议文本，张伟配合，9 月第三周提交。");
        assert_eq!(it.item_type, "客户开发");
        assert_eq!(it.customer.as_deref(), Some("C001"));
        // a status report before the task is not its context
        let a = analyze(
            "贝加尔轮胎中心 1,500 条已于 9 月 5 日到港，该事项关闭。孙晓东负责 9 月 12 日前给喀山轮胎贸易报价。",
            day("2026-09-07"),
            &dicts(),
        );
        assert_eq!(a.items.len(), 1);
        assert!(!a.items[0].source.contains("到港"), "{}", a.items[0].source);
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
