//! The monthly business-review material (经营分析会材料初稿), in the meeting's order: 一、总体达成
//! 二、分国家 三、分品类 四、重点客户 五、回款与信用风险 六、上期督办事项完成与延期情况 七、下期关注建议.
//! Numbers in tables come from the rule engine; the commentary is the model's (checked) or
//! template sentences. [`write_review_xlsx`] writes the summary workbook with native charts.

use crate::doc::Block;
use crate::{grounding, Context, Draft, DraftError, DraftKind, Fact};
use lodestar_core::Period;
use lodestar_metrics::render::{money, percent};
use lodestar_metrics::{Dim, MetricQuery, MetricRow, MetricTable, SortKey};
use rust_decimal::Decimal;
use std::path::Path;

fn opt_money(d: Option<Decimal>) -> String {
    d.map(|v| money(v, true)).unwrap_or_else(|| "—".into())
}
fn opt_pct(d: Option<Decimal>) -> String {
    d.map(percent).unwrap_or_else(|| "—".into())
}
fn fact(key: &str, label: &str, value: impl Into<String>) -> Fact {
    Fact { key: key.into(), label: label.into(), value: value.into() }
}

/// One month of the trend chart: (month, actual, target, actual a year earlier).
pub type TrendPoint = (String, Option<Decimal>, Option<Decimal>, Option<Decimal>);

/// The engine tables a review is built from (also charted in the workbook).
pub struct ReviewData {
    /// The month's total row (no grouping).
    pub total: MetricTable,
    /// The month by country.
    pub by_country: MetricTable,
    /// The month by category.
    pub by_category: MetricTable,
    /// The month by customer.
    pub by_customer: MetricTable,
    /// Totals of the 12 months ending with the review month.
    pub trend: Vec<TrendPoint>,
}

/// Runs the engine queries of the review month (total, by country, category, customer, 12-month trend).
pub fn review_data(ctx: &Context<'_>) -> Result<ReviewData, DraftError> {
    let q = |by: Vec<Dim>| MetricQuery {
        principal: ctx.principal.clone(),
        sort: SortKey::Actual,
        ..MetricQuery::new(Period::Month(ctx.month), by)
    };
    let mut trend = Vec::new();
    let earliest = ctx.engine.earliest_month().unwrap_or(ctx.month);
    for i in (0..12).rev() {
        let m = ctx.month.add(-i);
        if m < earliest {
            continue;
        }
        let t = ctx
            .engine
            .query(&MetricQuery { principal: ctx.principal.clone(), ..MetricQuery::new(Period::Month(m), vec![]) })?;
        trend.push((m.to_string(), t.total.actual, t.total.target, t.total.actual_last_year));
    }
    Ok(ReviewData {
        total: ctx.engine.query(&q(vec![]))?,
        by_country: ctx.engine.query(&q(vec![Dim::Country]))?,
        by_category: ctx.engine.query(&q(vec![Dim::Category]))?,
        by_customer: ctx.engine.query(&q(vec![Dim::Customer]))?,
        trend,
    })
}

const NOTE_ACH: &str = "口径：实际 = Σ 销售额（美元，按当月汇率折算）；达成率 = 实际 / 目标；缺口 = 目标 − 实际（正数为未完成）；同比 = 实际 / 去年同月 − 1；年累计 = 1 月至本月之和。";

fn scope_table(t: &MetricTable, limit: usize) -> (Vec<Vec<String>>, Vec<Fact>) {
    let mut rows = Vec::new();
    let mut facts = Vec::new();
    for r in t.rows.iter().take(limit) {
        let name = r.scope.label_zh();
        rows.push(vec![
            name.clone(),
            opt_money(r.actual),
            opt_money(r.target),
            opt_pct(r.achievement),
            opt_money(r.gap),
            opt_pct(r.yoy),
            opt_money(r.ytd_actual),
            opt_pct(r.contribution),
        ]);
        facts.push(fact(&format!("{name}.actual"), &format!("{name} 实际"), opt_money(r.actual)));
        facts.push(fact(&format!("{name}.achievement"), &format!("{name} 达成率"), opt_pct(r.achievement)));
        facts.push(fact(&format!("{name}.yoy"), &format!("{name} 同比"), opt_pct(r.yoy)));
    }
    (rows, facts)
}

fn table_block(rows: Vec<Vec<String>>, first: &str) -> Block {
    Block::Table {
        header: [first, "实际", "目标", "达成率", "缺口", "同比", "年累计", "占比"].map(String::from).to_vec(),
        rows,
        numeric: vec![false, true, true, true, true, true, true, true],
        note: Some(NOTE_ACH.into()),
    }
}

/// Customers: targets are set by country × category, so a customer row shows its sales, growth and
/// share only.
fn customer_table(t: &MetricTable, limit: usize) -> (Block, Vec<Fact>) {
    let mut rows = Vec::new();
    let mut facts = Vec::new();
    for r in t.rows.iter().take(limit) {
        let name = r.scope.label_zh();
        rows.push(vec![
            r.rank.map(|k| k.to_string()).unwrap_or_else(|| "—".into()),
            name.clone(),
            opt_money(r.actual),
            opt_pct(r.yoy),
            opt_money(r.ytd_actual),
            opt_pct(r.ytd_yoy),
            opt_pct(r.contribution),
        ]);
        facts.push(fact(&format!("{name}.actual"), &format!("{name} 实际"), opt_money(r.actual)));
        facts.push(fact(&format!("{name}.yoy"), &format!("{name} 同比"), opt_pct(r.yoy)));
        facts.push(fact(&format!("{name}.contribution"), &format!("{name} 占比"), opt_pct(r.contribution)));
    }
    let block = Block::Table {
        header: ["排名", "客户", "实际", "同比", "年累计", "年累计同比", "占比"].map(String::from).to_vec(),
        rows,
        numeric: vec![true, false, true, true, true, true, true],
        note: Some("口径：排名按本月实际；占比 = 客户实际 / 全部客户实际；年累计同比 = 年累计 / 去年同期年累计 − 1。客户级不设目标（目标按国家×品类下达）。".into()),
    };
    (block, facts)
}

/// Commentary of one section: the deterministic `template`, rewritten by the model when one is
/// given and its rewrite keeps every number and judgement (else the template, with a warning).
fn commentary(
    ctx: &Context<'_>,
    draft: &mut Draft,
    heading: &str,
    template: String,
    facts: &[Fact],
) -> Result<Block, DraftError> {
    if let Some(g) = ctx.generator {
        let (block, warnings, tokens) = grounding::rewrite(g, heading, &template, facts)?;
        draft.tokens += tokens;
        draft.warnings.extend(warnings);
        return Ok(block);
    }
    Ok(Block::Para { text: template, ai: false })
}

fn ranked_by_achievement(t: &MetricTable) -> Vec<&MetricRow> {
    let mut v: Vec<&MetricRow> = t.rows.iter().filter(|r| r.achievement.is_some()).collect();
    v.sort_by_key(|r| r.achievement);
    v
}

/// Builds the review of `ctx.month`.
pub fn build_review(ctx: &Context<'_>) -> Result<(Draft, ReviewData), DraftError> {
    let data = review_data(ctx)?;
    let m = ctx.month;
    let mut draft = Draft::new(
        DraftKind::Review,
        &m.to_string(),
        format!("北部战区经营分析会材料（{}年{}月）", m.year, m.month),
        ctx,
    );

    // 一、总体达成
    let t = &data.total.total;
    let facts = vec![
        fact("total.actual", "本月实际（美元）", opt_money(t.actual)),
        fact("total.target", "本月目标（美元）", opt_money(t.target)),
        fact("total.achievement", "本月达成率", opt_pct(t.achievement)),
        fact("total.gap", "本月缺口（美元）", opt_money(t.gap)),
        fact("total.yoy", "同比", opt_pct(t.yoy)),
        fact("total.mom", "环比", opt_pct(t.mom)),
        fact("total.ytd_actual", "年累计实际（美元）", opt_money(t.ytd_actual)),
        fact("total.ytd_achievement", "年累计达成率", opt_pct(t.ytd_achievement)),
        fact("total.annual_progress", "年度目标完成进度", opt_pct(t.annual_progress)),
        fact("total.time_progress", "时间进度", opt_pct(t.time_progress)),
        fact("total.remaining_gap", "全年剩余缺口（美元）", opt_money(t.remaining_gap)),
        fact("total.run_rate", "剩余月份所需月均（美元）", opt_money(t.run_rate)),
    ];
    let template = format!(
        "{}年{}月北部战区实际销售额 {} 美元，目标 {} 美元，达成率 {}，同比 {}；年累计 {} 美元，年度目标完成进度 {}（时间进度 {}）。",
        m.year, m.month, opt_money(t.actual), opt_money(t.target), opt_pct(t.achievement), opt_pct(t.yoy),
        opt_money(t.ytd_actual), opt_pct(t.annual_progress), opt_pct(t.time_progress)
    );
    let c = commentary(ctx, &mut draft, "一、总体达成", template, &facts)?;
    let rows = facts.iter().map(|f| vec![f.label.clone(), f.value.clone()]).collect();
    draft.push(
        "overall",
        "一、总体达成",
        vec![
            c,
            Block::Table {
                header: vec!["指标".into(), "数值".into()],
                rows,
                numeric: vec![false, true],
                note: Some(format!("{NOTE_ACH}年度目标完成进度 = 年累计实际 / 全年目标，时间进度 = 月份 / 12。")),
            },
        ],
        facts,
        vec![],
    );

    // 二、分国家 / 三、分品类
    for (id, heading, table, first) in
        [("countries", "二、分国家", &data.by_country, "国家"), ("categories", "三、分品类", &data.by_category, "品类")]
    {
        let (rows, facts) = scope_table(table, 50);
        let low: Vec<String> = ranked_by_achievement(table)
            .iter()
            .filter(|r| r.achievement.is_some_and(|a| a < Decimal::new(9, 1)))
            .map(|r| format!("{}（{}）", r.scope.label_zh(), opt_pct(r.achievement)))
            .collect();
        let top = table
            .rows
            .first()
            .map(|r| format!("{}（{} 美元，占 {}）", r.scope.label_zh(), opt_money(r.actual), opt_pct(r.contribution)));
        let template = format!(
            "销售额最高的是{}。{}",
            top.unwrap_or_else(|| "—".into()),
            if low.is_empty() {
                "各项达成率均不低于 90.00%。".to_string()
            } else {
                format!("达成率低于 90.00% 的有：{}。", low.join("、"))
            }
        );
        let c = commentary(ctx, &mut draft, heading, template, &facts)?;
        draft.push(id, heading, vec![c, table_block(rows, first)], facts, vec![]);
    }

    // 四、重点客户
    let (cust_table, facts) = customer_table(&data.by_customer, 10);
    let mut cr = Vec::new();
    let cq = lodestar_metrics::ConcentrationQuery {
        tops: vec![10, 20],
        principal: ctx.principal.clone(),
        ..lodestar_metrics::ConcentrationQuery::new(Period::Month(m))
    };
    if let Ok(c) = ctx.engine.concentration(&cq) {
        for r in &c.ratios {
            cr.push(fact(&format!("cr{}", r.n), &format!("CR{}（前 {} 大客户占比）", r.n, r.n), opt_pct(r.share)));
        }
    }
    let mut all_facts = facts;
    all_facts.extend(cr.iter().cloned());
    let template = format!(
        "本月前十大客户见下表；{}。",
        cr.iter().map(|f| format!("{} {}", f.label, f.value)).collect::<Vec<_>>().join("，")
    );
    let c = commentary(ctx, &mut draft, "四、重点客户", template, &all_facts)?;
    draft.push("customers", "四、重点客户", vec![c, cust_table], all_facts, vec![]);

    // 五、回款与信用风险
    let alerts = lodestar_metrics::alerts(ctx.store, ctx.dicts, ctx.as_of, ctx.config, &ctx.principal)?;
    let mut blocks = Vec::new();
    let mut facts = Vec::new();
    for w in &alerts.withheld {
        blocks.push(Block::Note { text: format!("（{}）", w.reason) });
    }
    if !alerts.withheld.iter().any(|w| w.group == "overdue") {
        let rows: Vec<Vec<String>> = alerts
            .overdue_buckets
            .iter()
            .map(|(b, t)| {
                facts.push(fact(&format!("overdue.{b}"), &format!("逾期 {b} 天金额（美元）"), opt_money(t.amount_usd)));
                vec![
                    format!("{b} 天"),
                    t.count.to_string(),
                    opt_money(t.amount_usd),
                    t.by_currency
                        .iter()
                        .map(|(c, v)| format!("{} {c}", money(*v, true)))
                        .collect::<Vec<_>>()
                        .join("；"),
                ]
            })
            .collect();
        blocks.push(Block::Table {
            header: vec!["逾期账龄".into(), "笔数".into(), "折合美元".into(), "原币".into()],
            rows,
            numeric: vec![false, true, true, true],
            note: Some(format!("口径：截至 {}，约定回款日已过且未付清的分期；逾期金额 = 应回款 − 已回款。", ctx.as_of)),
        });
        let mut top: Vec<_> = alerts.overdue.iter().collect();
        top.sort_by_key(|a| std::cmp::Reverse(a.days_overdue));
        let items: Vec<String> = top
            .iter()
            .take(8)
            .map(|a| {
                format!(
                    "{}：合同 {} {}款逾期 {} 天，未回款 {} {}",
                    a.customer.name_zh,
                    lodestar_metrics::render::masked_contract(&a.contract_no),
                    a.payment_node,
                    a.days_overdue,
                    lodestar_metrics::render::masked_money(a.overdue_amount),
                    a.currency
                )
            })
            .collect();
        if !items.is_empty() {
            blocks.push(Block::Bullets { items });
        }
        let ship: Vec<String> = alerts
            .shipment_at_risk
            .iter()
            .map(|a| {
                format!(
                    "货好待款：{} 合同 {}，缺 {} {}，货好日期 {}",
                    a.customer.name_zh,
                    lodestar_metrics::render::masked_contract(&a.contract_no),
                    lodestar_metrics::render::masked_money(a.missing_amount),
                    a.currency,
                    a.goods_ready_date
                )
            })
            .collect();
        facts.push(fact("shipment_at_risk", "货好待款笔数", ship.len().to_string()));
        if !ship.is_empty() {
            blocks.push(Block::Bullets { items: ship });
        }
    }
    let credit: Vec<String> = alerts
        .credit_anomaly
        .iter()
        .map(|a| format!("信用异常：{}，{}", a.customer.name_zh, a.rule.description_zh))
        .collect();
    facts.push(fact("credit_anomaly", "信用异常客户数", credit.len().to_string()));
    if !credit.is_empty() {
        blocks.push(Block::Bullets { items: credit });
    }
    draft.push("receivables", "五、回款与信用风险", blocks, facts, vec![]);

    // 六、上期督办事项完成与延期情况
    let (blocks, facts) = ledger_section(ctx)?;
    draft.push("ledger", "六、上期督办事项完成与延期情况", blocks, facts, vec![]);

    // 七、下期关注建议 (deterministic, phrased as reminders)
    let mut items = Vec::new();
    for r in
        ranked_by_achievement(&data.by_country).iter().filter(|r| r.achievement.is_some_and(|a| a < Decimal::new(9, 1)))
    {
        items.push(format!(
            "{} 本月达成率 {}，缺口 {} 美元：请国家负责人说明原因与追赶计划。",
            r.scope.label_zh(),
            opt_pct(r.achievement),
            opt_money(r.gap)
        ));
    }
    if let Some(rr) = t.run_rate {
        items.push(format!(
            "全年剩余缺口 {} 美元，剩余月份需月均 {} 美元：请各国复核下期目标分解。",
            opt_money(t.remaining_gap),
            money(rr, true)
        ));
    }
    let long: Vec<_> = alerts.overdue.iter().filter(|a| a.days_overdue > 90).collect();
    if !long.is_empty() {
        items.push(format!(
            "逾期超过 90 天的分期 {} 笔：请财务与销售负责人核实回款计划（信用与发货安排由有权限的负责人决定）。",
            long.len()
        ));
    }
    if !alerts.stalled_development.is_empty() {
        items.push(format!("开发停滞客户 {} 个：请负责人安排跟进。", alerts.stalled_development.len()));
    }
    if items.is_empty() {
        items.push("本月各项指标无需特别关注的预警。".into());
    }
    draft.push("focus", "七、下期关注建议", vec![Block::Bullets { items }], vec![], vec![]);
    Ok((draft, data))
}

/// The ledger review of the latest meeting, as `lodestar ledger review` shows it.
fn ledger_section(ctx: &Context<'_>) -> Result<(Vec<Block>, Vec<Fact>), DraftError> {
    let Some(path) = ctx.store.conn().path().filter(|p| !p.is_empty()).map(str::to_string) else {
        return Ok((vec![Block::Note { text: "督办台账不可用".into() }], vec![]));
    };
    let mut own = lodestar_store::Store::open(Path::new(&path))?;
    let ledger = lodestar_ledger::Ledger::open(&mut own).map_err(|e| DraftError::Ledger(e.to_string()))?;
    if ledger.meetings().map_err(|e| DraftError::Ledger(e.to_string()))?.is_empty() {
        return Ok((
            vec![Block::Note {
                text: "待补充：督办台账中还没有会议纪要（lodestar minutes import）".into()
            }],
            vec![],
        ));
    }
    let r = lodestar_ledger::Review::build(&ledger, lodestar_ledger::ReviewScope::Latest, ctx.as_of, ctx.dicts)
        .map_err(|e| DraftError::Ledger(e.to_string()))?;
    let facts = vec![
        fact("ledger.total", "督办事项", r.total.to_string()),
        fact("ledger.done", "已完成", r.done.len().to_string()),
        fact("ledger.overdue", "逾期", r.overdue.len().to_string()),
        fact("ledger.delayed", "延期", r.delayed.len().to_string()),
        fact("ledger.open", "未完成", r.open.len().to_string()),
        fact("ledger.cancelled", "取消", r.cancelled.len().to_string()),
    ];
    let meetings: Vec<String> = r.meetings.iter().map(|m| format!("{} {}", m.date, m.meeting)).collect();
    let mut blocks = vec![
        Block::Para { text: format!("会议：{}（截至 {}）", meetings.join("；"), r.as_of), ai: false },
        Block::Table {
            header: facts.iter().map(|f| f.label.clone()).collect(),
            rows: vec![facts.iter().map(|f| f.value.clone()).collect()],
            numeric: vec![true; facts.len()],
            note: Some("来源：lodestar ledger review（与其计数一致）".into()),
        },
    ];
    let late: Vec<Vec<String>> = r
        .overdue
        .iter()
        .chain(r.delayed.iter())
        .map(|i| {
            vec![
                i.id.to_string(),
                i.description.clone(),
                i.owners.join("、"),
                i.deadline.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                i.status.label().to_string(),
            ]
        })
        .collect();
    if !late.is_empty() {
        blocks.push(Block::Table {
            header: ["编号", "事项", "负责人", "截止", "状态"].map(String::from).to_vec(),
            rows: late,
            numeric: vec![true, false, false, false, false],
            note: None,
        });
    }
    Ok((blocks, facts))
}

/// The review workbook: the summary sheets plus native charts (achievement by country, 12-month
/// trend, category mix, top customers, receivable risk).
pub fn write_review_xlsx(ctx: &Context<'_>, data: &ReviewData, path: &Path) -> Result<(), DraftError> {
    use rust_xlsxwriter::{Chart, ChartType, Format, Workbook};
    let err =
        |e: rust_xlsxwriter::XlsxError| DraftError::Write { path: path.display().to_string(), message: e.to_string() };
    let summary = lodestar_metrics::render::summary(ctx.engine, Period::Month(ctx.month), &ctx.principal)?;
    let mut wb = Workbook::new();
    // the charts on the first sheet, their numbers on the next
    wb.add_worksheet().set_name("图表").map_err(err)?;
    let num = Format::new().set_num_format("#,##0.00");
    let pct = Format::new().set_num_format("0.00%");
    let bold = Format::new().set_bold();
    let f64_of = |d: Option<Decimal>| d.and_then(|v| v.to_string().parse::<f64>().ok());
    {
        let ws = wb.add_worksheet();
        ws.set_name("图表数据").map_err(err)?;
        for (c, w) in [
            (0u16, 14.0),
            (1, 10.0),
            (2, 8.0),
            (4, 10.0),
            (5, 16.0),
            (6, 16.0),
            (7, 16.0),
            (9, 12.0),
            (10, 16.0),
            (12, 22.0),
            (13, 16.0),
            (15, 12.0),
            (16, 18.0),
        ] {
            ws.set_column_width(c, w).map_err(err)?;
        }
        // A: country, B: achievement, C: 100 % line
        ws.write_string_with_format(0, 0, "国家", &bold).map_err(err)?;
        ws.write_string_with_format(0, 1, "达成率", &bold).map_err(err)?;
        ws.write_string_with_format(0, 2, "100%", &bold).map_err(err)?;
        let countries: Vec<&MetricRow> = data.by_country.rows.iter().collect();
        for (i, r) in countries.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, r.scope.label_zh()).map_err(err)?;
            if let Some(a) = f64_of(r.achievement) {
                ws.write_number_with_format(row, 1, a, &pct).map_err(err)?;
            }
            ws.write_number_with_format(row, 2, 1.0, &pct).map_err(err)?;
        }
        // E: month, F: actual, G: target, H: last year
        for (c, h) in ["月份", "实际", "目标", "去年同期"].iter().enumerate() {
            ws.write_string_with_format(0, 4 + c as u16, *h, &bold).map_err(err)?;
        }
        for (i, (m, a, t, ly)) in data.trend.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 4, m).map_err(err)?;
            for (c, v) in [a, t, ly].iter().enumerate() {
                if let Some(x) = f64_of(**v) {
                    ws.write_number_with_format(row, 5 + c as u16, x, &num).map_err(err)?;
                }
            }
        }
        // J: category, K: actual
        ws.write_string_with_format(0, 9, "品类", &bold).map_err(err)?;
        ws.write_string_with_format(0, 10, "实际", &bold).map_err(err)?;
        for (i, r) in data.by_category.rows.iter().enumerate() {
            ws.write_string(i as u32 + 1, 9, r.scope.label_zh()).map_err(err)?;
            if let Some(x) = f64_of(r.actual) {
                ws.write_number_with_format(i as u32 + 1, 10, x, &num).map_err(err)?;
            }
        }
        // M: customer, N: actual (top 10)
        ws.write_string_with_format(0, 12, "客户", &bold).map_err(err)?;
        ws.write_string_with_format(0, 13, "实际", &bold).map_err(err)?;
        let top: Vec<&MetricRow> = data.by_customer.rows.iter().take(10).collect();
        for (i, r) in top.iter().enumerate() {
            ws.write_string(i as u32 + 1, 12, r.scope.label_zh()).map_err(err)?;
            if let Some(x) = f64_of(r.actual) {
                ws.write_number_with_format(i as u32 + 1, 13, x, &num).map_err(err)?;
            }
        }
        // P: overdue bucket, Q: amount (USD)
        let alerts = lodestar_metrics::alerts(ctx.store, ctx.dicts, ctx.as_of, ctx.config, &ctx.principal)?;
        ws.write_string_with_format(0, 15, "逾期账龄", &bold).map_err(err)?;
        ws.write_string_with_format(0, 16, "逾期金额（美元）", &bold).map_err(err)?;
        for (i, (b, t)) in alerts.overdue_buckets.iter().enumerate() {
            ws.write_string(i as u32 + 1, 15, format!("{b} 天")).map_err(err)?;
            ws.write_number_with_format(i as u32 + 1, 16, f64_of(t.amount_usd).unwrap_or(0.0), &num).map_err(err)?;
        }
        let n_c = countries.len().max(1) as u32;
        let n_t = data.trend.len().max(1) as u32;
        let n_k = data.by_category.rows.len().max(1) as u32;
        let n_top = top.len().max(1) as u32;
        let n_b = alerts.overdue_buckets.len().max(1) as u32;

        let mut ach = Chart::new(ChartType::Column);
        ach.title().set_name("各国达成率");
        ach.add_series()
            .set_categories(("图表数据", 1, 0, n_c, 0))
            .set_values(("图表数据", 1, 1, n_c, 1))
            .set_name("达成率");
        let mut line = Chart::new(ChartType::Line);
        line.add_series()
            .set_categories(("图表数据", 1, 0, n_c, 0))
            .set_values(("图表数据", 1, 2, n_c, 2))
            .set_name("100% 线");
        ach.combine(&line);
        ach.y_axis().set_num_format("0%");

        let mut trend = Chart::new(ChartType::Line);
        trend.title().set_name("近 12 个月销售额（美元）");
        // a month without a target or a year-earlier figure is a gap, not a zero
        trend.show_empty_cells_as(rust_xlsxwriter::ChartEmptyCells::Gaps);
        for (c, name) in [(5u16, "实际"), (6, "目标"), (7, "去年同期")] {
            trend
                .add_series()
                .set_categories(("图表数据", 1, 4, n_t, 4))
                .set_values(("图表数据", 1, c, n_t, c))
                .set_name(name);
        }

        let mut mix = Chart::new(ChartType::Pie);
        mix.title().set_name("品类结构");
        mix.add_series()
            .set_categories(("图表数据", 1, 9, n_k, 9))
            .set_values(("图表数据", 1, 10, n_k, 10))
            .set_name("实际");

        let mut cust = Chart::new(ChartType::Bar);
        cust.title().set_name("前十大客户销售额（美元）");
        cust.add_series()
            .set_categories(("图表数据", 1, 12, n_top, 12))
            .set_values(("图表数据", 1, 13, n_top, 13))
            .set_name("实际");

        let mut risk = Chart::new(ChartType::Column);
        risk.title().set_name("逾期账龄（美元）");
        risk.add_series()
            .set_categories(("图表数据", 1, 15, n_b, 15))
            .set_values(("图表数据", 1, 16, n_b, 16))
            .set_name("逾期金额");
        let cws = wb.worksheet_from_name("图表").map_err(err)?;
        for (row, col, chart) in [(1u32, 1u16, &ach), (1, 9, &trend), (17, 1, &mix), (17, 9, &cust), (33, 1, &risk)] {
            cws.insert_chart(row, col, chart).map_err(err)?;
        }
    }
    lodestar_metrics::render::add_summary_sheets(&mut wb, &summary).map_err(err)?;
    wb.save(path).map_err(err)
}
