//! Customer profile (客户画像): fixed sections from the dictionary, the rule engine, the
//! receivables, the alerts, the ledger and the customer / product / policy knowledge bases.
//! A field with no source says 待补充 instead of guessing.

use crate::doc::Block;
use crate::{grounding, Citation, Context, Draft, DraftError, DraftKind, Fact};
use chrono::NaiveDate;
use lodestar_core::{KbId, Month, Period};
use lodestar_dict::Customer;
use lodestar_metrics::render::{money, percent};
use lodestar_metrics::{Dim, MetricQuery, MetricRow, SortKey};
use lodestar_rag::Hit;
use rust_decimal::Decimal;
use std::str::FromStr;

/// A knowledge field of the profile and where to find it (`data/profile_fields.csv`).
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Field key (a column of `profile_fields.csv`, e.g. `scenario`).
    pub field: String,
    /// Section heading the field gets in the profile (`应用场景`).
    pub heading: String,
    /// Document sections (headings) that hold it.
    pub sections: Vec<String>,
    /// Words that show a passage is about it.
    pub keywords: Vec<String>,
    /// Words added to the customer's name in the search.
    pub query: String,
}

/// The knowledge fields, from `data/profile_fields.csv`.
pub fn field_specs() -> Vec<FieldSpec> {
    let mut r = csv::Reader::from_reader(include_str!("../data/profile_fields.csv").as_bytes());
    let split = |s: &str| s.split(';').map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect::<Vec<_>>();
    r.records()
        .filter_map(Result::ok)
        .map(|rec| FieldSpec {
            field: rec[0].to_string(),
            heading: rec[1].to_string(),
            sections: split(&rec[2]),
            keywords: split(&rec[3]),
            query: rec[4].to_string(),
        })
        .collect()
}

/// The customer a user named (id, Chinese / English / local name or alias).
pub fn find_customer<'d>(ctx: &Context<'d>, name: &str) -> Result<&'d Customer, DraftError> {
    let d = ctx.dicts;
    d.customer_by_id(name.trim())
        .or_else(|| d.customer_by_id(&name.trim().to_uppercase()))
        .or_else(|| d.resolve_customer(name))
        .ok_or_else(|| {
            let s = d.suggest(lodestar_dict::NameKind::Customer, name, 3);
            DraftError::NotFound(format!(
                "customer `{name}` is not in the customer dictionary{}",
                if s.is_empty() { String::new() } else { format!(" (did you mean {}?)", s.join(", ")) }
            ))
        })
}

fn fact(key: &str, label: &str, value: impl Into<String>) -> Fact {
    Fact { key: key.into(), label: label.into(), value: value.into() }
}

fn opt_money(d: Option<Decimal>) -> String {
    d.map(|v| money(v, true)).unwrap_or_else(|| "—".into())
}

fn opt_pct(d: Option<Decimal>) -> String {
    d.map(percent).unwrap_or_else(|| "—".into())
}

fn query(ctx: &Context<'_>, period: Period, by: Vec<Dim>, filters: Vec<(Dim, String)>) -> MetricQuery {
    MetricQuery { filters, principal: ctx.principal.clone(), sort: SortKey::Actual, ..MetricQuery::new(period, by) }
}

/// The N customers with the largest year-to-date sales through the month (`--top N`).
pub fn top_customers(ctx: &Context<'_>, n: usize) -> Result<Vec<String>, DraftError> {
    let t = ctx.engine.query(&query(ctx, Period::Month(ctx.month), vec![Dim::Customer], vec![]))?;
    let mut rows: Vec<&MetricRow> = t.rows.iter().filter(|r| r.ytd_actual.is_some_and(|v| v > Decimal::ZERO)).collect();
    rows.sort_by(|a, b| b.ytd_actual.cmp(&a.ytd_actual).then_with(|| a.scope.id().cmp(&b.scope.id())));
    Ok(rows
        .into_iter()
        .filter_map(|r| r.scope.dims.first().filter(|p| p.resolved).map(|p| p.code.clone()))
        .take(n)
        .collect())
}

/// An open installment of the customer's.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenInstallment {
    /// 合同号.
    pub contract_no: String,
    /// 付款节点 (预付 / 发货前 / 见提单 / 发货后).
    pub payment_node: String,
    /// Currency of the amounts.
    pub currency: String,
    /// 应回款金额.
    pub due: Decimal,
    /// 已回款金额.
    pub paid: Decimal,
    /// Still owed: due − paid.
    pub open: Decimal,
    /// 约定回款日期, when given.
    pub due_date: Option<NaiveDate>,
    /// Days past the due date as of the draft date; `None` when not yet due.
    pub days_overdue: Option<i64>,
    /// 发货状态 as imported.
    pub shipping_status: String,
    /// 付款条件, free text.
    pub payment_terms: String,
}

/// The customer's installments with an unpaid amount, as of `as_of`.
pub fn open_installments(ctx: &Context<'_>, customer: &Customer) -> Result<Vec<OpenInstallment>, DraftError> {
    let mut st = ctx.store.conn().prepare(
        "SELECT contract_no, customer, payment_node, currency, due_amount, paid_amount, due_date, COALESCE(shipping_status, ''), COALESCE(payment_terms, '')
         FROM receivables_active ORDER BY due_date, contract_no",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (contract_no, raw, node, currency, due, paid, due_date, shipping, terms) = row?;
        if ctx.dicts.resolve_customer(&raw).map(|c| c.id.as_str()) != Some(customer.id.as_str()) {
            continue;
        }
        let due = Decimal::from_str(due.trim()).unwrap_or_default();
        let paid = Decimal::from_str(paid.trim()).unwrap_or_default();
        let open = due - paid;
        if open <= Decimal::ZERO {
            continue;
        }
        let due_date = due_date.and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
        let days_overdue = due_date.filter(|d| *d < ctx.as_of).map(|d| (ctx.as_of - d).num_days());
        out.push(OpenInstallment {
            contract_no,
            payment_node: node,
            currency,
            due,
            paid,
            open,
            due_date,
            days_overdue,
            shipping_status: shipping,
            payment_terms: terms,
        });
    }
    Ok(out)
}

/// The lines of a passage that carry the first of `keywords` (in priority order) found in it, or
/// its first lines; headings and table rules dropped, table rows as `cell · cell`; at most `max`
/// characters.
pub fn excerpt(text: &str, keywords: &[String], max: usize) -> String {
    // table rows read with their header: `质保期：36 个月，…`; a two-column table as `key：value`
    let raw: Vec<&str> = text.lines().map(str::trim).collect();
    let is_rule = |l: &str| l.starts_with('|') && l.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
    let cells = |l: &str| l.split('|').map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect::<Vec<_>>();
    let mut lines: Vec<String> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        if l.is_empty() || l.starts_with('#') || l.starts_with("---") || is_rule(l) {
            continue;
        }
        if l.starts_with('|') {
            if raw.get(i + 1).is_some_and(|n| is_rule(n)) {
                header = cells(l);
                continue;
            }
            let row = cells(l);
            let line = if row.len() == 2 {
                format!("{}：{}", row[0], row[1])
            } else if header.len() == row.len() {
                header.iter().zip(&row).map(|(h, v)| format!("{h}：{v}")).collect::<Vec<_>>().join("，")
            } else {
                row.join(" · ")
            };
            lines.push(line);
        } else {
            header.clear();
            lines.push(l.trim_start_matches(['-', '*', ' ']).replace("**", ""));
        }
    }
    let picked: Vec<&String> = keywords
        .iter()
        .map(|k| lines.iter().filter(|l| l.contains(k.as_str())).collect::<Vec<_>>())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| lines.iter().collect());
    let mut out = String::new();
    for l in picked {
        if out.chars().count() + l.chars().count() > max && !out.is_empty() {
            break;
        }
        if !out.is_empty() {
            out.push('；');
        }
        out.push_str(l.trim_end_matches(['。', '；']));
    }
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    if !out.is_empty() && !out.ends_with('…') {
        out.push('。');
    }
    out
}

fn citation(n: usize, h: &Hit, excerpt: String) -> Citation {
    Citation {
        n,
        kb: h.kb,
        doc: h.doc.clone(),
        title: h.title.clone(),
        section: h.section.clone(),
        sensitivity: h.sensitivity,
        excerpt,
    }
}

/// Builds the profile of one customer.
pub fn build_profile(ctx: &Context<'_>, name: &str) -> Result<Draft, DraftError> {
    let c = find_customer(ctx, name)?;
    let d = ctx.dicts;
    let mut draft = Draft::new(DraftKind::Profile, &c.id, format!("客户画像：{}（{}）", c.display(), c.id), ctx);
    let owner = d.staff_by_id(&c.owner).map(|s| s.name.clone()).unwrap_or_else(|| c.owner.clone());
    let country = d.country_by_code(&c.country).map(|x| x.name_zh.clone()).unwrap_or_else(|| c.country.clone());
    let fields = &ctx.config.fields;
    let see_credit = ctx.principal.can_see(fields.credit);
    let see_receivables = ctx.principal.can_see(fields.receivables) && ctx.principal.can_see(fields.contract);
    let withheld = |what: &str, need: lodestar_core::Sensitivity| {
        format!("（无权查看{what}：需要 {need} 及以上密级，当前 {}）", ctx.principal.clearance)
    };

    // 一、基本信息
    let mut facts = vec![
        fact("customer.id", "客户编号", c.id.clone()),
        fact("customer.name_zh", "中文名", c.name_zh.clone()),
        fact("customer.name_en", "英文名", c.name_en.clone()),
        fact("customer.name_local", "本地名", c.name_local.join("；")),
        fact("customer.country", "国家", country.clone()),
        fact("customer.owner", "销售负责人", owner.clone()),
        fact("customer.status", "合作状态", c.status.label()),
    ];
    if see_credit {
        let limit = c.credit_limit.as_deref().and_then(|v| Decimal::from_str(v).ok());
        facts.push(fact(
            "customer.credit_limit",
            "信用额度",
            limit.map(|v| format!("{} {}", money(v, true), c.currency)).unwrap_or_else(|| "未设".into()),
        ));
        facts.push(fact(
            "customer.rating",
            "信用等级",
            if c.rating.is_empty() { "未评".to_string() } else { c.rating.clone() },
        ));
    } else {
        facts.push(fact("customer.credit_limit", "信用额度", withheld("信用数据", fields.credit)));
    }
    let aliases: Vec<&str> = c.aliases.iter().map(String::as_str).take(6).collect();
    if !aliases.is_empty() {
        facts.push(fact("customer.aliases", "别名 / 标签", aliases.join("、")));
    }
    let rows: Vec<Vec<String>> =
        facts.iter().filter(|f| !f.value.is_empty()).map(|f| vec![f.label.clone(), f.value.clone()]).collect();
    draft.push(
        "basic",
        "一、基本信息",
        vec![Block::Table {
            header: vec!["项目".into(), "内容".into()],
            rows,
            numeric: vec![false, false],
            note: Some("来源：客户字典（lodestar dict）".into()),
        }],
        facts,
        vec![],
    );

    // 二、经营数据
    let (blocks, facts) = match sales_section(ctx, c) {
        Ok(x) => x,
        Err(DraftError::Metrics(e)) => (vec![Block::Note { text: format!("经营数据不可用：{e}") }], vec![]),
        Err(e) => return Err(e),
    };
    draft.push("sales", "二、经营数据", blocks, facts, vec![]);

    // 三、回款与信用
    let alerts = lodestar_metrics::alerts(ctx.store, d, ctx.as_of, ctx.config, &ctx.principal)?;
    // read once for the receivables section and the priority's credit headroom (both need the
    // receivables clearance)
    let open = if ctx.principal.can_see(fields.receivables) { open_installments(ctx, c)? } else { Vec::new() };
    let (blocks, facts) = if see_receivables {
        receivables_section(ctx, c, &alerts, &open)?
    } else {
        (vec![Block::Note { text: withheld("回款与合同数据", fields.receivables.max(fields.contract)) }], vec![])
    };
    draft.push("receivables", "三、回款与信用", blocks, facts, vec![]);

    // 四、知识库字段
    let mut n = 0usize;
    let mut kb_blocks = Vec::new();
    let mut kb_cites = Vec::new();
    let mut scenario_text = String::new();
    for spec in field_specs() {
        let found = ctx.retriever.map(|r| knowledge_field(r, ctx, c, &spec)).transpose()?.flatten();
        kb_blocks.push(Block::Para { text: format!("**{}**", spec.heading), ai: false });
        match found {
            Some((hit, text)) => {
                n += 1;
                if spec.field == "scenario" {
                    scenario_text = text.clone();
                }
                kb_blocks.push(Block::Para { text: format!("{text} [{n}]"), ai: false });
                kb_cites.push(citation(n, &hit, text));
            }
            None => kb_blocks.push(Block::Note { text: "待补充：客户知识库中没有相关资料".into() }),
        }
    }
    if !kb_cites.is_empty() {
        kb_blocks.push(Block::Sources { items: kb_cites.iter().map(|c| (c.n, source_label(c))).collect() });
    }
    draft.push(
        "knowledge",
        "四、应用场景 / 采购偏好 / 决策链 / 竞品 / Localization 可触达性 / 售后需求",
        kb_blocks,
        vec![],
        kb_cites,
    );

    // 五、产品匹配与话术
    let (blocks, facts, cites) = product_section(ctx, c, &scenario_text, n)?;
    draft.push("products", "五、产品匹配与话术", blocks, facts, cites);

    // 六、风险与下一步
    let (blocks, facts) = risk_section(ctx, c, &alerts, &owner)?;
    draft.push("risks", "六、风险与下一步", blocks, facts, vec![]);

    // 七、开发优先级
    let (blocks, facts) = priority_section(ctx, c, &alerts, &open)?;
    draft.push("priority", "七、开发优先级", blocks, facts, vec![]);

    if let Some(g) = ctx.generator {
        add_summary(&mut draft, g)?;
    }
    Ok(draft)
}

fn source_label(c: &Citation) -> String {
    // the heading path starts with the document's title: the last heading says where
    let last = c.section.rsplit('>').next().unwrap_or("").trim();
    let sec = if last.is_empty() { String::new() } else { format!(" · {last}") };
    format!("{} · 《{}》{sec}（{}）", c.kb.name_zh(), c.title, c.doc)
}

/// The summary paragraph: a deterministic sentence over the key facts, rewritten by the model
/// when it keeps every number and judgement; put first.
fn add_summary(draft: &mut Draft, g: &dyn lodestar_core::Generator) -> Result<(), DraftError> {
    let all: Vec<&Fact> = draft.sections.iter().flat_map(|s| s.facts.iter()).collect();
    let get = |k: &str| all.iter().find(|f| f.key == k).map(|f| f.value.clone()).filter(|v| !v.is_empty() && v != "—");
    let mut parts = Vec::new();
    if let (Some(name), Some(country)) = (get("customer.name_zh"), get("customer.country")) {
        parts.push(format!("{name}是我方在{country}的客户（{}）", get("customer.status").unwrap_or_default()));
    }
    if let Some(ytd) = get("sales.ytd_actual") {
        let yoy = get("sales.ytd_yoy").map(|y| format!("，同比 {y}")).unwrap_or_default();
        parts.push(format!("年累计采购 {ytd} 美元{yoy}"));
    }
    if let Some(r) = get("sales.country_rank") {
        let share = get("sales.country_ytd_share").map(|s| format!("，年累计占本国销售额 {s}")).unwrap_or_default();
        parts.push(format!("本月在本国客户中{r}{share}"));
    }
    if let Some(o) = get("receivables.open.USD") {
        let usage = get("credit.usage").map(|u| format!("，信用占用 {u}")).unwrap_or_default();
        parts.push(format!("未回款 {o} 美元{usage}"));
    }
    if let (Some(level), Some(score)) = (get("priority.level"), get("priority.score")) {
        parts.push(format!("开发优先级{level}（{score} 分）"));
    }
    if parts.is_empty() {
        return Ok(());
    }
    let template = format!("{}。", parts.join("；"));
    let facts: Vec<Fact> = all.into_iter().cloned().collect();
    let (block, warnings, tokens) = grounding::rewrite(g, "客户概要", &template, &facts)?;
    draft.tokens += tokens;
    draft.warnings.extend(warnings);
    let heading = if matches!(block, Block::Para { ai: true, .. }) {
        "客户概要（AI 撰写，需复核）"
    } else {
        "客户概要"
    };
    draft.push("summary", heading, vec![block], facts, vec![]);
    let s = draft.sections.pop().expect("just pushed");
    draft.sections.insert(0, s);
    Ok(())
}

fn sales_section(ctx: &Context<'_>, c: &Customer) -> Result<(Vec<Block>, Vec<Fact>), DraftError> {
    let m = ctx.month;
    let earliest = ctx.engine.earliest_month().unwrap_or(m);
    let mut rows = Vec::new();
    let mut facts = Vec::new();
    let mut totals: Vec<(Month, Decimal)> = Vec::new();
    for i in (0..12).rev() {
        let mi = m.add(-i);
        if mi < earliest {
            continue;
        }
        let t = ctx.engine.query(&query(
            ctx,
            Period::Month(mi),
            vec![Dim::Category],
            vec![(Dim::Customer, c.id.clone())],
        ))?;
        totals.push((mi, t.total.actual.unwrap_or_default()));
        for r in &t.rows {
            if r.actual.is_none_or(|v| v.is_zero()) && r.target.is_none() {
                continue;
            }
            rows.push(vec![
                mi.to_string(),
                r.scope.label_zh(),
                opt_money(r.actual),
                opt_money(r.target),
                opt_pct(r.achievement),
                opt_pct(r.yoy),
            ]);
        }
    }
    let mut blocks = Vec::new();
    if rows.is_empty() {
        blocks.push(Block::Note { text: format!("近 12 个月（截至 {m}）没有该客户的销售记录。") });
    } else {
        blocks.push(Block::Table {
            header: ["月份", "品类", "实际（美元）", "目标（美元）", "达成率", "同比"].map(String::from).to_vec(),
            rows,
            numeric: vec![false, false, true, true, true, true],
            note: Some("口径：实际 = Σ 销售额（按当月汇率折算美元）；达成率 = 实际 / 目标；同比 = 实际 / 去年同月实际 − 1；目标按国家×品类设定时客户级目标为空。".into()),
        });
    }
    // year to date, its YoY, and rank and share in the country (this month and year to date)
    let t = ctx.engine.query(&query(ctx, Period::Month(m), vec![], vec![(Dim::Customer, c.id.clone())]))?;
    let row = &t.total;
    facts.push(fact("sales.ytd_actual", &format!("{} 年累计销售额（美元）", m.year), opt_money(row.ytd_actual)));
    facts.push(fact("sales.ytd_yoy", "年累计同比", opt_pct(row.ytd_yoy)));
    facts.push(fact("sales.month_actual", &format!("{m} 销售额（美元）"), opt_money(row.actual)));
    let in_country = ctx.engine.query(&query(
        ctx,
        Period::Month(m),
        vec![Dim::Customer],
        vec![(Dim::Country, c.country.clone())],
    ))?;
    if let Some(r) = in_country.rows.iter().find(|r| r.scope.dims.first().is_some_and(|p| p.code == c.id)) {
        facts.push(fact(
            "sales.country_rank",
            &format!("{m} 在本国客户中的排名"),
            r.rank.map(|k| format!("第 {k} 名 / {} 个客户", in_country.rows.len())).unwrap_or_else(|| "—".into()),
        ));
        facts.push(fact("sales.country_share", &format!("{m} 占本国销售额"), opt_pct(r.contribution)));
    }
    if let (Some(ytd), Some(country_ytd)) = (row.ytd_actual, in_country.total.ytd_actual.filter(|v| *v > Decimal::ZERO))
    {
        facts.push(fact("sales.country_ytd_share", "年累计占本国销售额", percent(ytd / country_ytd)));
    }
    // trend in one sentence: the last three months against the three before
    let sum = |xs: &[(Month, Decimal)]| xs.iter().map(|x| x.1).sum::<Decimal>();
    let trend = if totals.len() >= 6 {
        let k = totals.len();
        let (recent, before) = (sum(&totals[k - 3..]), sum(&totals[k - 6..k - 3]));
        if before > Decimal::ZERO {
            let ch = recent / before - Decimal::ONE;
            let word = if ch >= Decimal::ZERO { "增长" } else { "下降" };
            facts.push(fact("sales.trend_3m", "近三个月较前三个月", percent(ch)));
            format!(
                "走势：近三个月（{}—{}）销售额 {} 美元，较前三个月 {} 美元{word} {}。",
                totals[k - 3].0,
                totals[k - 1].0,
                money(recent, true),
                money(before, true),
                percent(ch.abs())
            )
        } else if recent > Decimal::ZERO {
            format!("走势：近三个月销售额 {} 美元，前三个月没有销售。", money(recent, true))
        } else {
            "走势：近六个月没有销售。".to_string()
        }
    } else {
        "走势：数据不足六个月，暂不判断。".to_string()
    };
    let mut lines: Vec<String> =
        facts.iter().filter(|f| f.key != "sales.trend_3m").map(|f| format!("{}：{}", f.label, f.value)).collect();
    lines.push(trend);
    blocks.insert(0, Block::Bullets { items: lines });
    Ok((blocks, facts))
}

fn receivables_section(
    ctx: &Context<'_>,
    c: &Customer,
    alerts: &lodestar_metrics::Alerts,
    open: &[OpenInstallment],
) -> Result<(Vec<Block>, Vec<Fact>), DraftError> {
    let mut blocks = Vec::new();
    let mut facts = Vec::new();
    if open.is_empty() {
        blocks.push(Block::Note { text: format!("截至 {} 没有未回款的分期。", ctx.as_of) });
    } else {
        let rows = open
            .iter()
            .map(|i| {
                vec![
                    i.contract_no.clone(),
                    i.payment_node.clone(),
                    i.currency.clone(),
                    money(i.due, true),
                    money(i.paid, true),
                    money(i.open, true),
                    i.due_date.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                    i.days_overdue.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                    i.shipping_status.clone(),
                ]
            })
            .collect();
        blocks.push(Block::Table {
            header: ["合同号", "付款节点", "币种", "应回款", "已回款", "未回款", "约定日期", "逾期天数", "发货状态"]
                .map(String::from)
                .to_vec(),
            rows,
            numeric: vec![false, false, false, true, true, true, false, true, false],
            note: Some(format!(
                "口径：未回款 = 应回款 − 已回款；约定日期早于 {} 且未付清即为逾期，逾期天数 = 截至日 − 约定日期。",
                ctx.as_of
            )),
        });
    }
    // outstanding by currency and against the credit line
    let mut by_ccy: std::collections::BTreeMap<&str, Decimal> = Default::default();
    for i in open {
        *by_ccy.entry(i.currency.as_str()).or_default() += i.open;
    }
    for (ccy, v) in &by_ccy {
        facts.push(fact(&format!("receivables.open.{ccy}"), &format!("未回款合计（{ccy}）"), money(*v, true)));
    }
    let limit = c.credit_limit.as_deref().and_then(|v| Decimal::from_str(v).ok()).filter(|v| *v > Decimal::ZERO);
    match (limit, by_ccy.get(c.currency.as_str())) {
        (Some(l), Some(o)) if by_ccy.len() == 1 => {
            facts.push(fact("credit.usage", "信用占用（未回款 / 信用额度）", percent(*o / l)));
        }
        (Some(_), _) if by_ccy.is_empty() => facts.push(fact("credit.usage", "信用占用（未回款 / 信用额度）", "0.00%")),
        (None, _) => facts.push(fact("credit.usage", "信用占用", "未设信用额度")),
        _ => facts.push(fact("credit.usage", "信用占用", "币种不一致，未折算")),
    }
    let mine_overdue: Vec<_> = alerts.overdue.iter().filter(|a| a.customer.id == c.id).collect();
    let mut amounts_masked = false;
    let mut buckets: std::collections::BTreeMap<&str, (usize, std::collections::BTreeMap<&str, Decimal>)> =
        Default::default();
    for a in &mine_overdue {
        let e = buckets.entry(a.bucket.as_str()).or_default();
        e.0 += 1;
        match a.overdue_amount {
            Some(v) => *e.1.entry(a.currency.as_str()).or_default() += v,
            None => amounts_masked = true,
        }
    }
    if !buckets.is_empty() {
        let rows = lodestar_metrics::alerts::BUCKETS
            .iter()
            .filter_map(|b| buckets.get(b).map(|(n, m)| (b, n, m)))
            .map(|(b, n, m)| {
                vec![
                    format!("{b} 天"),
                    n.to_string(),
                    if amounts_masked {
                        lodestar_metrics::render::masked_money(None)
                    } else {
                        m.iter().map(|(c, v)| format!("{} {c}", money(*v, true))).collect::<Vec<_>>().join("；")
                    },
                ]
            })
            .collect();
        blocks.push(Block::Table {
            header: vec!["逾期账龄".into(), "笔数".into(), "逾期金额".into()],
            rows,
            numeric: vec![false, true, true],
            note: Some("口径：逾期金额 = 应回款 − 已回款；账龄 1–30、31–60、61–90、91–180、>180 天。".into()),
        });
    }
    let mut notes = Vec::new();
    for a in alerts.shipment_at_risk.iter().filter(|a| a.customer.id == c.id) {
        notes.push(format!(
            "货好待款：合同 {} 的{}款尚缺 {} {}，货好日期 {}（{}），发货状态 {}。",
            lodestar_metrics::render::masked_contract(&a.contract_no),
            a.payment_node,
            lodestar_metrics::render::masked_money(a.missing_amount),
            a.currency,
            a.goods_ready_date,
            if a.days_to_goods_ready >= 0 {
                format!("还有 {} 天", a.days_to_goods_ready)
            } else {
                format!("已过 {} 天", -a.days_to_goods_ready)
            },
            a.shipping_status
        ));
    }
    for a in alerts.credit_anomaly.iter().filter(|a| a.customer.id == c.id) {
        notes.push(format!(
            "信用异常：{}（未回款 {} {}）",
            a.rule.description_zh,
            lodestar_metrics::render::masked_money(a.outstanding),
            a.currency
        ));
    }
    if !notes.is_empty() {
        blocks.push(Block::Bullets { items: notes });
    }
    let mut lines: Vec<String> = facts.iter().map(|f| format!("{}：{}", f.label, f.value)).collect();
    if let Some(terms) = open.iter().map(|i| i.payment_terms.trim()).find(|t| !t.is_empty()) {
        lines.push(format!("合同付款条件（原文）：{terms}"));
    }
    blocks.insert(0, Block::Bullets { items: lines });
    Ok((blocks, facts))
}

/// The best passage of the customer's own documents for one field, with its excerpt.
fn knowledge_field(
    r: &dyn lodestar_rag::Retriever,
    ctx: &Context<'_>,
    c: &Customer,
    spec: &FieldSpec,
) -> Result<Option<(Hit, String)>, DraftError> {
    let q = format!("{} {}", c.display(), spec.query);
    let q = format!("{q} {}", spec.sections.join(" "));
    let hits = r.search(&q, &ctx.principal, &[KbId::Customer], 20).map_err(|e| DraftError::Invalid(e.to_string()))?;
    let about = |h: &Hit| {
        h.customers.iter().any(|x| x == &c.id)
            || (h.customers.is_empty() && c.all_names().any(|n| n.chars().count() >= 2 && h.title.contains(n)))
    };
    let mine: Vec<&Hit> = hits.iter().filter(|h| about(h) && ctx.principal.can_read(h.kb, h.sensitivity)).collect();
    // a section made for the field wins (in the order the data file lists them); else a passage
    // of the customer's that carries one of the field's words, excerpted to those lines
    let section_hit = spec.sections.iter().find_map(|sec| {
        mine.iter().find(|h| h.section.rsplit('>').next().is_some_and(|last| last.contains(sec.as_str())))
    });
    if let Some(h) = section_hit {
        let text = excerpt(&h.text, &[], 220);
        return Ok((!text.is_empty()).then(|| ((*h).clone(), text)));
    }
    let kw_hit = mine.iter().find(|h| spec.keywords.iter().any(|k| h.text.contains(k.as_str())));
    Ok(kw_hit.map(|h| ((*h).clone(), excerpt(&h.text, &spec.keywords, 220))).filter(|(_, t)| !t.is_empty()))
}

/// Where talking points come from (`data/talking_points.csv`): knowledge base, search words,
/// words a usable line carries, and how many points at most.
fn talking_point_specs() -> Vec<(KbId, String, Vec<String>, usize)> {
    let mut r = csv::Reader::from_reader(include_str!("../data/talking_points.csv").as_bytes());
    r.records()
        .filter_map(Result::ok)
        .filter_map(|rec| {
            let kb = rec[0].parse::<KbId>().ok()?;
            let kws = rec[2].split(';').map(str::trim).filter(|x| !x.is_empty()).map(String::from).collect();
            Some((kb, rec[1].to_string(), kws, rec[3].trim().parse().unwrap_or(1)))
        })
        .collect()
}

/// A section's blocks, facts and citations.
type SectionParts = (Vec<Block>, Vec<Fact>, Vec<Citation>);

fn product_section(
    ctx: &Context<'_>,
    c: &Customer,
    scenario: &str,
    first_n: usize,
) -> Result<SectionParts, DraftError> {
    let mut blocks = Vec::new();
    let mut facts = Vec::new();
    // what it buys: year-to-date by category and spec
    let m = ctx.month;
    let bought = ctx.engine.query(&MetricQuery {
        measure: lodestar_metrics::Measure::Quantity,
        ..query(ctx, Period::Month(m), vec![Dim::Category, Dim::Spec], vec![(Dim::Customer, c.id.clone())])
    });
    let mut specs = Vec::new();
    match bought {
        Ok(t) => {
            let mut rows: Vec<&MetricRow> =
                t.rows.iter().filter(|r| r.ytd_actual.is_some_and(|v| v > Decimal::ZERO)).collect();
            rows.sort_by_key(|r| std::cmp::Reverse(r.ytd_actual));
            let table: Vec<Vec<String>> = rows
                .iter()
                .take(8)
                .map(|r| {
                    let parts: Vec<&str> = r.scope.dims.iter().map(|p| p.name_zh.as_str()).collect();
                    specs.push(parts.get(1).copied().unwrap_or("").to_string());
                    vec![
                        parts.first().copied().unwrap_or("").to_string(),
                        parts.get(1).copied().unwrap_or("").to_string(),
                        r.ytd_actual.map(|v| format!("{v:.0}")).unwrap_or_default(),
                    ]
                })
                .collect();
            if table.is_empty() {
                blocks.push(Block::Note { text: format!("{} 年尚无采购记录。", m.year) });
            } else {
                facts.extend(table.iter().map(|r| {
                    fact(&format!("bought.{}", r[1]), &format!("{} {} 年累计销量（条）", r[1], m.year), r[2].clone())
                }));
                blocks.push(Block::Table {
                    header: vec!["品类".into(), "规格".into(), format!("{} 年累计销量（条）", m.year)],
                    rows: table,
                    numeric: vec![false, false, true],
                    note: None,
                });
            }
        }
        Err(e) => blocks.push(Block::Note { text: format!("采购规格不可用：{e}") }),
    }
    // product and policy passages that fit its application
    let mut cites = Vec::new();
    let Some(r) = ctx.retriever else {
        blocks.push(Block::Note { text: "待补充：知识库未加载，无法匹配产品与话术".into() });
        return Ok((blocks, facts, cites));
    };
    let basis = if scenario.is_empty() { specs.join(" ") } else { scenario.chars().take(120).collect() };
    if basis.trim().is_empty() {
        blocks.push(Block::Note { text: "待补充：没有应用场景或采购规格可供匹配产品".into() });
        return Ok((blocks, facts, cites));
    }
    let mut points = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (kb, words, keywords, max) in talking_point_specs() {
        // product passages: one per spec it buys first, then by its application
        let mut queries: Vec<(String, Option<&str>)> = Vec::new();
        if kb == KbId::Product {
            queries.extend(specs.iter().take(max).map(|sp| (format!("{sp} {words}"), Some(sp.as_str()))));
        }
        queries.push((format!("{basis} {words}"), None));
        let mut taken = 0;
        for (q, must) in queries {
            let hits = r.search(&q, &ctx.principal, &[kb], 8).map_err(|e| DraftError::Invalid(e.to_string()))?;
            let usable = hits.iter().find(|h| {
                ctx.principal.can_read(h.kb, h.sensitivity)
                    && !seen.contains(&h.chunk_id)
                    && must.is_none_or(|sp| h.title.contains(sp) || h.text.contains(sp))
                    && keywords.iter().any(|k| h.text.contains(k.as_str()))
            });
            let Some(h) = usable else { continue };
            if taken >= max || points.len() >= 5 {
                break;
            }
            seen.insert(h.chunk_id.clone());
            let ex = excerpt(&h.text, &keywords, 110);
            if ex.is_empty() {
                continue;
            }
            let n = first_n + cites.len() + 1;
            points.push(format!("可向客户介绍《{}》：{} [{n}]", h.title, ex));
            cites.push(citation(n, h, ex));
            taken += 1;
        }
    }
    if points.is_empty() {
        blocks.push(Block::Note {
            text: "待补充：产品与政策知识库中没有与该客户应用匹配的资料".into()
        });
    } else {
        blocks.push(Block::Para {
            text: "话术要点（每条均引用资料原文，使用前请核对）：".into(), ai: false
        });
        blocks.push(Block::Bullets { items: points });
        blocks.push(Block::Sources { items: cites.iter().map(|c| (c.n, source_label(c))).collect() });
    }
    Ok((blocks, facts, cites))
}

fn risk_section(
    ctx: &Context<'_>,
    c: &Customer,
    alerts: &lodestar_metrics::Alerts,
    owner: &str,
) -> Result<(Vec<Block>, Vec<Fact>), DraftError> {
    let mut items = Vec::new();
    let mut facts = Vec::new();
    for a in alerts.overdue.iter().filter(|a| a.customer.id == c.id) {
        items.push(format!(
            "提醒 {owner}：合同 {} {}款逾期 {} 天，未回款 {} {}，请核实回款计划（是否调整账期、信用或发货安排由有权限的负责人决定）。",
            lodestar_metrics::render::masked_contract(&a.contract_no), a.payment_node, a.days_overdue, lodestar_metrics::render::masked_money(a.overdue_amount), a.currency
        ));
    }
    for a in alerts.shipment_at_risk.iter().filter(|a| a.customer.id == c.id) {
        items.push(format!(
            "提醒 {owner}：合同 {} 货好日期 {}，{}款尚缺 {} {}，请在发货前与客户确认到账时间。",
            lodestar_metrics::render::masked_contract(&a.contract_no),
            a.goods_ready_date,
            a.payment_node,
            lodestar_metrics::render::masked_money(a.missing_amount),
            a.currency
        ));
    }
    for a in alerts.credit_anomaly.iter().filter(|a| a.customer.id == c.id) {
        items.push(format!("提醒 {owner}：{}，请与财务核对信用占用。", a.rule.description_zh));
    }
    for a in alerts.stalled_development.iter().filter(|a| a.customer.id == c.id) {
        items.push(format!(
            "提醒 {owner}：开发中客户已 {} 天没有新动态，请安排跟进。",
            a.days_since_activity.map(|d| d.to_string()).unwrap_or_else(|| "较长时间".into())
        ));
    }
    for w in alerts.withheld.iter().chain(&alerts.masked) {
        items.push(format!("（{}）", w.reason));
    }
    // open ledger items that name the customer
    let ledger_items = ledger_items_for(ctx, c)?;
    facts.push(fact("ledger.open", "未关闭督办事项", ledger_items.len().to_string()));
    let mut blocks = Vec::new();
    if items.is_empty() {
        blocks.push(Block::Note { text: format!("截至 {} 没有针对该客户的风险预警。", ctx.as_of) });
    } else {
        blocks.push(Block::Bullets { items });
    }
    if !ledger_items.is_empty() {
        blocks.push(Block::Table {
            header: ["编号", "会议", "事项", "负责人", "截止", "状态"].map(String::from).to_vec(),
            rows: ledger_items,
            numeric: vec![true, false, false, false, false, false],
            note: Some("来源：督办台账（lodestar ledger）".into()),
        });
    }
    Ok((blocks, facts))
}

fn ledger_items_for(ctx: &Context<'_>, c: &Customer) -> Result<Vec<Vec<String>>, DraftError> {
    // the ledger needs a mutable store for its migrations: open a second connection to the same file
    let Some(path) = ctx.store.conn().path().filter(|p| !p.is_empty()).map(str::to_string) else {
        return Ok(Vec::new());
    };
    let mut own = lodestar_store::Store::open(std::path::Path::new(&path))?;
    let ledger = lodestar_ledger::Ledger::open(&mut own).map_err(|e| DraftError::Ledger(e.to_string()))?;
    let items = ledger
        .list(&lodestar_ledger::ListFilter::default(), ctx.as_of, ctx.dicts)
        .map_err(|e| DraftError::Ledger(e.to_string()))?;
    Ok(items
        .into_iter()
        .filter(|i| i.status.is_open())
        .filter(|i| {
            i.customer.as_deref() == Some(c.id.as_str())
                || c.all_names().any(|n| n.chars().count() >= 3 && i.description.contains(n))
        })
        .map(|i| {
            vec![
                i.id.to_string(),
                format!("{} {}", i.meeting_date, i.meeting),
                i.description.clone(),
                i.owners.join("、"),
                i.deadline.map(|d| d.to_string()).or(i.deadline_text.clone()).unwrap_or_else(|| "—".into()),
                format!("{}{}", i.status.label(), if i.overdue { "（逾期）" } else { "" }),
            ]
        })
        .collect())
}

/// Points of the development priority, each with its reason.
fn priority_section(
    ctx: &Context<'_>,
    c: &Customer,
    alerts: &lodestar_metrics::Alerts,
    open: &[OpenInstallment],
) -> Result<(Vec<Block>, Vec<Fact>), DraftError> {
    let clamp01 = |x: Decimal| x.max(Decimal::ZERO).min(Decimal::ONE);
    let mut parts: Vec<(String, Decimal, Decimal, String)> = Vec::new(); // (part, points, max, why)
    let all = ctx.engine.query(&query(ctx, Period::Month(ctx.month), vec![Dim::Customer], vec![]));
    let (size, growth, why_size, why_growth) = match &all {
        Ok(t) => {
            let max = t.rows.iter().filter_map(|r| r.ytd_actual).max().unwrap_or_default();
            let me = t.rows.iter().find(|r| r.scope.dims.first().is_some_and(|p| p.code == c.id));
            let ytd = me.and_then(|r| r.ytd_actual).unwrap_or_default();
            let size = if max > Decimal::ZERO { Decimal::from(30) * clamp01(ytd / max) } else { Decimal::ZERO };
            let yoy = me.and_then(|r| r.ytd_yoy);
            let growth = yoy
                .map(|y| Decimal::from(20) * clamp01((y + Decimal::new(2, 1)) / Decimal::new(4, 1)))
                .unwrap_or(Decimal::from(10));
            (
                size,
                growth,
                format!(
                    "年累计 {} 美元，为最大客户的 {}",
                    money(ytd, true),
                    if max > Decimal::ZERO { percent(ytd / max) } else { "—".into() }
                ),
                yoy.map(|y| format!("年累计同比 {}（−20% 及以下 0 分，+20% 及以上满分）", percent(y)))
                    .unwrap_or_else(|| "无去年同期数据，取中间分".into()),
            )
        }
        Err(e) => (Decimal::ZERO, Decimal::ZERO, format!("销售数据不可用：{e}"), "—".into()),
    };
    parts.push(("规模".into(), size, Decimal::from(30), why_size));
    parts.push(("增长".into(), growth, Decimal::from(20), why_growth));
    let overdue: Vec<_> = alerts.overdue.iter().filter(|a| a.customer.id == c.id).collect();
    let worst = overdue.iter().map(|a| a.days_overdue).max();
    let (pay, why_pay) = match worst {
        None if alerts.withheld.iter().any(|w| w.group == "overdue") => {
            (Decimal::from(10), "无权查看回款数据，取中间分".to_string())
        }
        None => (Decimal::from(20), "无逾期".to_string()),
        Some(d) if d <= 30 => (Decimal::from(14), format!("最长逾期 {d} 天（≤30 天）")),
        Some(d) if d <= 90 => (Decimal::from(7), format!("最长逾期 {d} 天（31–90 天）")),
        Some(d) => (Decimal::ZERO, format!("最长逾期 {d} 天（>90 天）")),
    };
    parts.push(("回款表现".into(), pay, Decimal::from(20), why_pay));
    let limit = c.credit_limit.as_deref().and_then(|v| Decimal::from_str(v).ok()).filter(|v| *v > Decimal::ZERO);
    let see = ctx.principal.can_see(ctx.config.fields.credit) && ctx.principal.can_see(ctx.config.fields.receivables);
    let (credit, why_credit) = if !see {
        (Decimal::new(75, 1), "无权查看信用数据，取中间分".to_string())
    } else {
        let same: Decimal = open.iter().filter(|i| i.currency == c.currency).map(|i| i.open).sum();
        match limit {
            Some(l) if open.iter().all(|i| i.currency == c.currency) => {
                let used = same / l;
                (Decimal::from(15) * clamp01(Decimal::ONE - used), format!("信用占用 {}", percent(used)))
            }
            Some(_) => (Decimal::new(75, 1), "未回款币种与额度币种不同，取中间分".into()),
            None => (Decimal::new(75, 1), "未设信用额度，取中间分".into()),
        }
    };
    parts.push(("信用余量".into(), credit, Decimal::from(15), why_credit));
    let stalled = alerts.stalled_development.iter().any(|a| a.customer.id == c.id);
    let (dev, why_dev) = match (c.status, stalled) {
        (_, true) => (Decimal::ZERO, "开发停滞预警".to_string()),
        (lodestar_dict::CustomerStatus::Active, _) => (Decimal::from(15), "合作中".to_string()),
        (lodestar_dict::CustomerStatus::Developing, _) => (Decimal::from(10), "开发中，近期有动态".to_string()),
        (lodestar_dict::CustomerStatus::Paused, _) => (Decimal::from(3), "暂停合作".to_string()),
    };
    parts.push(("开发状态".into(), dev, Decimal::from(15), why_dev));
    let round = |d: Decimal| d.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let total: Decimal = parts.iter().map(|p| round(p.1)).sum();
    let level = if total >= Decimal::from(70) {
        "高"
    } else if total >= Decimal::from(45) {
        "中"
    } else {
        "低"
    };
    let mut rows: Vec<Vec<String>> = parts
        .iter()
        .map(|(p, v, max, why)| vec![p.clone(), format!("{}", round(*v)), format!("{max}"), why.clone()])
        .collect();
    rows.push(vec![
        "合计".into(),
        format!("{total}"),
        "100".into(),
        format!("优先级：{level}（≥70 高，45–70 中，<45 低）"),
    ]);
    let facts =
        vec![fact("priority.score", "开发优先级得分", format!("{total}")), fact("priority.level", "开发优先级", level)];
    Ok((
        vec![Block::Table {
            header: vec!["构成".into(), "得分".into(), "满分".into(), "依据".into()],
            rows,
            numeric: vec![false, true, true, false],
            note: Some(
                "确定性打分，不经模型：规模 30 + 增长 20 + 回款表现 20 + 信用余量 15 + 开发状态 15 = 100。".into(),
            ),
        }],
        facts,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_specs_load_from_data() {
        let f = field_specs();
        assert_eq!(f.len(), 6);
        let t = talking_point_specs();
        assert_eq!(t.iter().map(|x| x.0).collect::<Vec<_>>(), [KbId::Product, KbId::Policy]);
        assert_eq!(f[0].heading, "应用场景");
        assert!(f.iter().all(|s| !s.keywords.is_empty() && !s.query.is_empty()));
    }

    #[test]
    fn excerpt_prefers_keyword_lines_and_drops_markup() {
        let t = "## 应用场景\n- 驱动轮：315/80R22.5，长途干线。\n- 冬季 −45°C。\n| a | b |\n|---|---|\n";
        assert_eq!(excerpt(t, &["冬季".to_string()], 100), "冬季 −45°C。");
        // the first line alone is longer than the limit: cut with an ellipsis
        assert_eq!(excerpt(t, &[], 12), "驱动轮：315/80R2…"); // 12 characters
    }
}
