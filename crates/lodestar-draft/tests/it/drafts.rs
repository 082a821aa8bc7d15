//! Drafts over a small home whose figures are worked out by hand below: the profile's 经营数据 and
//! 回款 figures, masking for a viewer below the receivables sensitivity, 待补充 for a customer
//! without a knowledge document, the review's numbers all coming from the engine, the ledger
//! section's counts equal to `ledger review`, the docx and xlsx files, and the review workflow.

use lodestar_core::config::Config;
use lodestar_core::{KbId, Month, Principal, Role, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_draft::{doc, store as drafts, Context};
use lodestar_metrics::MetricsEngine;
use lodestar_rag::memory::MemoryRetriever;
use lodestar_store::Store;
use std::path::Path;

const SALES: &str = "月份,国家,客户,品类,规格,销量,销售额,币种\n\
2025-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,50,20000,USD\n\
2026-08,俄罗斯,西伯利亚物流,全钢,315/80R22.5,80,24000,USD\n\
2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,100,30000,USD\n\
2026-09,俄罗斯,阿尔泰运输,全钢,315/70R22.5,50,18000,USD\n";
const TARGETS: &str =
    "月份,国家,品类,目标销量,目标金额,币种\n2026-08,俄罗斯,全钢,100,30000,USD\n2026-09,俄罗斯,全钢,160,50000,USD\n";
const RECEIVABLES: &str = "合同号,客户,国家,币种,合同金额,付款条件,付款节点,应回款金额,约定回款日期,已回款金额,实际回款日期,货好日期,发货状态\n\
BC-RU-2026-0901,西伯利亚物流,俄罗斯,USD,20000,30% 预付 70% 见提单,预付,10000,2026-08-01,4000,2026-08-03,2026-10-20,未发货\n";
const SIBIR_DOC: &str = "---\nkb: customer\ntitle: 客户档案：西伯利亚物流\nsensitivity: 敏感\ncustomer: C001\n---\n# 客户档案：西伯利亚物流\n## 应用场景\n- 驱动轮：315/80R22.5，长途干线，单胎年行驶 15 万公里。\n## 采购偏好\n- 采购总监比价三家，偏好 60 天账期。\n";

struct Home {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    dicts: Dictionaries,
}

fn home() -> Home {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lodestar.db");
    let dicts = Dictionaries::builtin().unwrap();
    let mut store = Store::open(&db).unwrap();
    for (name, text) in [("targets.csv", TARGETS), ("sales.csv", SALES), ("receivables.csv", RECEIVABLES)] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        lodestar_ingest::import_file(&mut store, &dicts, &p, &lodestar_ingest::ImportOptions::default()).unwrap();
    }
    drafts::migrate(&mut store).unwrap();
    Home { _dir: dir, db, dicts }
}

fn viewer() -> Principal {
    Principal { name: "intern".into(), role: Role::Viewer, clearance: Sensitivity::Internal, kbs: vec![] }
}

fn section<'a>(d: &'a lodestar_draft::Draft, id: &str) -> &'a lodestar_draft::DraftSection {
    d.sections.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("no section {id}"))
}

fn fact<'a>(s: &'a lodestar_draft::DraftSection, key: &str) -> &'a str {
    &s.facts.iter().find(|f| f.key == key).unwrap_or_else(|| panic!("no fact {key} in {:?}", s.facts)).value
}

#[test]
fn profile_figures_masking_and_missing_knowledge() {
    let h = home();
    let store = Store::open(&h.db).unwrap();
    let config = Config::default();
    let engine = MetricsEngine::load(&store, &h.dicts).unwrap().with_field_sensitivity(config.fields.clone());
    let mut kb = MemoryRetriever::new();
    kb.add_markdown("customer/C001-sibir.md", SIBIR_DOC, KbId::Customer);
    let month = Month::new(2026, 9).unwrap();
    let ctx = Context {
        store: &store,
        dicts: &h.dicts,
        engine: &engine,
        config: &config,
        retriever: Some(&kb),
        generator: None,
        principal: Principal::local_admin(),
        month,
        as_of: Context::as_of_for(month),
    };
    assert_eq!(ctx.as_of.to_string(), "2026-09-30");
    let p = lodestar_draft::profile::build_profile(&ctx, "Sibir Logistics").unwrap();
    assert_eq!(p.subject, "C001");
    assert_eq!(p.status, "needs_review");
    let sales = section(&p, "sales");
    // YTD 2026 (Jan–Sep) = 24,000 + 30,000 = 54,000; YTD 2025 = 20,000 → YoY 54,000 / 20,000 − 1 = 170.00 %
    assert_eq!(fact(sales, "sales.ytd_actual"), "54,000.00");
    assert_eq!(fact(sales, "sales.ytd_yoy"), "170.00%");
    // 2026-09 in Russia: 30,000 of 48,000 → rank 1 of 2, share 62.50 %
    assert_eq!(fact(sales, "sales.country_rank"), "第 1 名 / 2 个客户");
    assert_eq!(fact(sales, "sales.country_share"), "62.50%");
    // the monthly table: 2026-09 全钢 30,000, no customer-level target (targets are per country × category), YoY 30,000 / 20,000 − 1 = 50.00 %
    assert!(sales.text.contains("| 2026-09 | 全钢 | 30,000.00 | — | — | 50.00% |"), "{}", sales.text);
    assert!(sales.text.contains("| 2026-08 | 全钢 | 24,000.00 |"), "{}", sales.text);
    let rec = section(&p, "receivables");
    // 10,000 due, 4,000 paid → 6,000 open; due 2026-08-01, as of 2026-09-30 → 60 days overdue (bucket 31–60)
    assert_eq!(fact(rec, "receivables.open.USD"), "6,000.00");
    // credit line 800,000 USD (customer dictionary) → 6,000 / 800,000 = 0.75 %
    assert_eq!(fact(rec, "credit.usage"), "0.75%");
    assert!(
        rec.text.contains("| BC-RU-2026-0901 | 预付 | USD | 10,000.00 | 4,000.00 | 6,000.00 | 2026-08-01 | 60 |"),
        "{}",
        rec.text
    );
    assert!(rec.text.contains("31-60 天"), "{}", rec.text);
    // knowledge: cited from its own document; fields without a source say 待补充
    let k = section(&p, "knowledge");
    assert!(k.text.contains("315/80R22.5") && k.citations[0].doc == "customer/C001-sibir.md", "{}", k.text);
    assert!(k.text.contains("待补充"), "{}", k.text);
    let risks = section(&p, "risks");
    assert!(risks.text.contains("逾期 60 天") && risks.text.contains("提醒"), "{}", risks.text);
    let prio = section(&p, "priority");
    assert!(prio.text.contains("| 合计 |"), "{}", prio.text);

    // a viewer (内部) below the receivables and credit sensitivity (敏感): no amounts
    let vctx = Context { principal: viewer(), retriever: Some(&kb), ..ctx_clone(&ctx) };
    let v = lodestar_draft::profile::build_profile(&vctx, "C001").unwrap();
    let md = doc::to_markdown(&v.doc());
    for secret in ["6,000.00", "BC-RU-2026-0901", "800,000", "0.75%"] {
        assert!(!md.contains(secret), "`{secret}` shown to a viewer:\n{md}");
    }
    assert!(md.contains("无权查看回款与合同数据"), "{md}");
    // nor the 敏感 customer document
    assert!(!md.contains("长途干线"), "{md}");

    // a customer with no knowledge document: 待补充, no citations, no invented text
    let a = lodestar_draft::profile::build_profile(&ctx, "阿尔泰运输").unwrap();
    let k = section(&a, "knowledge");
    assert!(k.citations.is_empty());
    assert_eq!(k.text.matches("待补充").count(), 6, "{}", k.text);
    assert!(lodestar_draft::profile::build_profile(&ctx, "No Such Customer").is_err());
}

fn ctx_clone<'a>(c: &Context<'a>) -> Context<'a> {
    Context {
        store: c.store,
        dicts: c.dicts,
        engine: c.engine,
        config: c.config,
        retriever: c.retriever,
        generator: c.generator,
        principal: c.principal.clone(),
        month: c.month,
        as_of: c.as_of,
    }
}

const MINUTES: &str = "# 2026年9月经营分析会纪要\n\n1. 西伯利亚物流尾款催收。责任人：张伟；截止：9月15日。\n2. 阿拉木图展会报名。责任人：张伟；截止：10月30日。\n";

#[test]
fn review_numbers_come_from_the_engine_and_files_open() {
    let h = home();
    {
        let mut store = Store::open(&h.db).unwrap();
        let mut ledger = lodestar_ledger::Ledger::open(&mut store).unwrap();
        let opts = lodestar_ledger::ImportOptions {
            file: "minutes.md".into(),
            meeting: "经营分析会".into(),
            date: lodestar_ledger::parse_date("2026-09-07").unwrap(),
            apply_updates: false,
            who: "admin".into(),
        };
        ledger.import(MINUTES, &opts, &h.dicts, None).unwrap();
    }
    let store = Store::open(&h.db).unwrap();
    let config = Config::default();
    let engine = MetricsEngine::load(&store, &h.dicts).unwrap();
    let month = Month::new(2026, 9).unwrap();
    let ctx = Context {
        store: &store,
        dicts: &h.dicts,
        engine: &engine,
        config: &config,
        retriever: None,
        generator: None,
        principal: Principal::local_admin(),
        month,
        as_of: Context::as_of_for(month),
    };
    let (draft, data) = lodestar_draft::review::build_review(&ctx).unwrap();
    let headings: Vec<&str> = draft.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(
        headings,
        [
            "一、总体达成",
            "二、分国家",
            "三、分品类",
            "四、重点客户",
            "五、回款与信用风险",
            "六、上期督办事项完成与延期情况",
            "七、下期关注建议"
        ]
    );
    // 2026-09 total: 48,000 of 50,000 → 96.00 %; gap 2,000
    let overall = section(&draft, "overall");
    assert_eq!(fact(overall, "total.actual"), "48,000.00");
    assert_eq!(fact(overall, "total.achievement"), "96.00%");
    assert_eq!(fact(overall, "total.gap"), "2,000.00");

    // the ledger section's counts equal `ledger review` (latest meeting, same as-of date)
    let mut s2 = Store::open(&h.db).unwrap();
    let ledger = lodestar_ledger::Ledger::open(&mut s2).unwrap();
    let r = lodestar_ledger::Review::build(&ledger, lodestar_ledger::ReviewScope::Latest, ctx.as_of, &h.dicts).unwrap();
    let l = section(&draft, "ledger");
    assert_eq!(fact(l, "ledger.total"), r.total.to_string());
    assert_eq!(fact(l, "ledger.done"), r.done.len().to_string());
    assert_eq!(fact(l, "ledger.overdue"), r.overdue.len().to_string());
    assert_eq!(r.total, 2);
    assert_eq!(r.overdue.len(), 1, "the 9月15日 item is past due on 2026-09-30");

    // every number of the document is an engine figure, a count, or a date / period
    let text = doc::plain_text(&draft.doc());
    let mut allowed: std::collections::HashSet<String> = std::collections::HashSet::new();
    let fmt_m = |d: rust_decimal::Decimal| lodestar_metrics::render::money(d, true);
    let fmt_p = lodestar_metrics::render::percent;
    for t in [&data.total, &data.by_country, &data.by_category, &data.by_customer] {
        for r in t.rows.iter().chain(std::iter::once(&t.total)) {
            let v = serde_json::to_value(r).unwrap();
            for (k, x) in v.as_object().unwrap() {
                if let Some(s) = x.as_str() {
                    if let Ok(d) = s.parse::<rust_decimal::Decimal>() {
                        allowed.insert(fmt_m(d));
                        allowed.insert(fmt_p(d));
                        let _ = k;
                    }
                }
            }
        }
    }
    for s in &draft.sections {
        for f in &s.facts {
            allowed.insert(f.value.clone());
        }
    }
    let re = regex::Regex::new(r"\d[\d,]*(?:\.\d+)?%?").unwrap();
    let date_like = regex::Regex::new(r"^\d{4}-\d{2}(-\d{2})?$").unwrap();
    let mut unexplained = Vec::new();
    for m in re.find_iter(&text) {
        let tok = m.as_str();
        let ctx_after: String = text[m.end()..].chars().take(2).collect();
        let ctx_before: String = text[..m.start()].chars().rev().take(3).collect::<String>().chars().rev().collect();
        let is_period = ctx_after.starts_with('年')
            || ctx_after.starts_with('月')
            || ctx_after.starts_with('天')
            || ctx_after.starts_with('-')
            || ctx_before.ends_with('-')
            || ctx_before.ends_with("CR")
            || ctx_before.ends_with('前');
        let small_count = tok.parse::<u32>().is_ok_and(|n| n <= 200);
        if allowed.contains(tok)
            || is_period
            || small_count
            || date_like.is_match(tok)
            || tok == "100%"
            || tok == "90.00%"
        {
            continue;
        }
        unexplained.push(tok.to_string());
    }
    assert!(unexplained.is_empty(), "numbers not from the engine: {unexplained:?}\n{text}");

    // files: docx with headings and a table cell, xlsx with chart objects
    let dir = tempfile::tempdir().unwrap();
    let docx = dir.path().join("r.docx");
    lodestar_draft::docx::write_docx(&draft.doc(), &docx).unwrap();
    let bytes = std::fs::read(&docx).unwrap();
    let parsed = docx_rs::read_docx(&bytes).unwrap();
    let json = parsed.json();
    assert!(json.contains("一、总体达成") && json.contains("Heading1"), "headings");
    assert!(json.contains("96.00%"), "a table cell");
    let xlsx = dir.path().join("r.xlsx");
    lodestar_draft::review::write_review_xlsx(&ctx, &data, &xlsx).unwrap();
    let names = zip_names(&xlsx);
    assert_eq!(names.iter().filter(|n| n.starts_with("xl/charts/chart")).count(), 5, "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("xl/worksheets/sheet")));
}

/// File names inside a zip (xlsx) archive, read from its central directory.
fn zip_names(path: &Path) -> Vec<String> {
    let b = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 46 <= b.len() {
        if b[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            let n = u16::from_le_bytes([b[i + 28], b[i + 29]]) as usize;
            let m = u16::from_le_bytes([b[i + 30], b[i + 31]]) as usize;
            let k = u16::from_le_bytes([b[i + 32], b[i + 33]]) as usize;
            out.push(String::from_utf8_lossy(&b[i + 46..i + 46 + n]).into_owned());
            i += 46 + n + m + k;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn review_workflow_states_and_usable_rate() {
    let h = home();
    let store = Store::open(&h.db).unwrap();
    let config = Config::default();
    let engine = MetricsEngine::load(&store, &h.dicts).unwrap();
    let month = Month::new(2026, 9).unwrap();
    let ctx = Context {
        store: &store,
        dicts: &h.dicts,
        engine: &engine,
        config: &config,
        retriever: None,
        generator: None,
        principal: Principal::local_admin(),
        month,
        as_of: Context::as_of_for(month),
    };
    let mut ids = Vec::new();
    for c in ["C001", "C002", "C001", "C002"] {
        let d = lodestar_draft::profile::build_profile(&ctx, c).unwrap();
        let md = doc::to_markdown(&d.doc());
        ids.push(drafts::save(&store, &d, &md, &[], "admin").unwrap());
    }
    assert_eq!(drafts::list(&store, Some("needs_review")).unwrap().len(), 4);
    drafts::approve(&store, ids[0], "ops").unwrap();
    drafts::approve(&store, ids[1], "ops").unwrap();
    assert!(drafts::reject(&store, ids[2], "ops", " ").is_err(), "a rejection needs a reason");
    drafts::reject(&store, ids[2], "ops", "数字待核实").unwrap();
    assert!(drafts::approve(&store, ids[2], "ops").is_err(), "already decided");
    // an edit keeps both texts: "abcd" → "abXd" changes 1 of 4 characters
    let ai = drafts::get(&store, ids[3]).unwrap().ai_text.unwrap();
    let edited = format!("{ai}补充");
    let e = drafts::edit(&store, ids[3], "ops", &edited).unwrap();
    assert_eq!(e.status, "edited");
    assert_eq!(e.ai_text.as_deref(), Some(ai.as_str()));
    assert_eq!(e.edited_text.as_deref(), Some(edited.as_str()));
    assert_eq!(drafts::edit_share("abcd", "abXd"), rust_decimal::Decimal::new(25, 2));
    let s = drafts::stats(&store).unwrap();
    // approved 2, rejected 1 → 可用率 2 / 3
    assert_eq!((s.approved, s.rejected, s.reviewed, s.edited, s.needs_review), (2, 1, 3, 1, 0));
    assert_eq!(s.usable_rate.as_deref(), Some("0.6666666666666666666666666667"));
    let audit: Vec<String> = store.audit_tail(100).unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(audit.iter().filter(|a| *a == "draft_approve").count(), 2);
    assert_eq!(audit.iter().filter(|a| *a == "draft_reject").count(), 1);
}

/// A model that answers with a fixed text, or (None) echoes the 要点 it is given back under an
/// echoed prompt label.
struct Scripted(Option<String>);

impl lodestar_core::Generator for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn context_length(&self) -> usize {
        8192
    }
    fn count_tokens(&self, text: &str) -> Result<usize, lodestar_core::ModelError> {
        Ok(text.chars().count())
    }
    fn generate(
        &self,
        messages: &[lodestar_core::ChatMessage],
        _params: &lodestar_core::GenParams,
        _on_token: &mut dyn FnMut(&str) -> std::ops::ControlFlow<()>,
    ) -> Result<lodestar_core::Generation, lodestar_core::ModelError> {
        let text = match &self.0 {
            Some(t) => t.clone(),
            None => {
                let user = &messages.last().unwrap().content;
                let point = user.lines().find_map(|l| l.strip_prefix("- 要点：")).unwrap_or("").to_string();
                format!("【客户概要】{point}")
            }
        };
        Ok(lodestar_core::Generation {
            text,
            stats: lodestar_core::GenStats {
                prompt_tokens: 10,
                cached_tokens: 0,
                generated_tokens: 12,
                prefill_ms: 1.0,
                decode_ms: 1.0,
                finish: lodestar_core::FinishReason::Stop,
            },
        })
    }
}

#[test]
fn model_prose_is_kept_only_when_faithful_to_the_facts() {
    let h = home();
    let store = Store::open(&h.db).unwrap();
    let config = Config::default();
    let engine = MetricsEngine::load(&store, &h.dicts).unwrap();
    let month = Month::new(2026, 9).unwrap();
    let faithful = Scripted(None);
    let wrong = Scripted(Some("西伯利亚物流目标已超额完成，年累计采购 99,999.00 美元。".into()));
    for (g, expect_ai) in [(&faithful, true), (&wrong, false)] {
        let ctx = Context {
            store: &store,
            dicts: &h.dicts,
            engine: &engine,
            config: &config,
            retriever: None,
            generator: Some(g),
            principal: Principal::local_admin(),
            month,
            as_of: Context::as_of_for(month),
        };
        let p = lodestar_draft::profile::build_profile(&ctx, "C001").unwrap();
        let s = &p.sections[0];
        assert_eq!(s.id, "summary");
        // the deterministic summary: 54,000 year to date, +170.00 % on 20,000
        assert!(s.text.contains("54,000.00") && s.text.contains("170.00%"), "{}", s.text);
        assert!(!s.text.contains("【"), "echoed prompt labels are taken off: {}", s.text);
        assert_eq!(s.text.contains("`AI`"), expect_ai, "{}", s.text);
        if expect_ai {
            assert!(p.warnings.is_empty(), "{:?}", p.warnings);
            assert_eq!(p.tokens, 12);
        } else {
            assert!(!s.text.contains("99,999.00"));
            assert!(
                p.warnings.iter().any(|w| w.contains("99,999.00") && w.contains("已改用模板句")),
                "{:?}",
                p.warnings
            );
        }
    }
}
