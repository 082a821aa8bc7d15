//! End-to-end: `lodestar minutes import` → `ledger list/update/history/export/review` → `bench minutes`,
//! in a temporary home with an empty model folder (rules only, hermetic).

use crate::support::{json, lodestar_in, run};
use std::path::Path;

fn lodestar(home: &Path, models: &Path, args: &[&str]) -> (bool, String, String) {
    run(lodestar_in(home).args(args).env("LODESTAR_MODELS", models))
}

#[test]
fn minutes_to_ledger_to_review() {
    let dir = tempfile::tempdir().unwrap();
    let (home, models) = (dir.path().join("home"), dir.path().join("models"));
    std::fs::create_dir_all(&models).unwrap();
    let m1 = dir.path().join("m1.md");
    std::fs::write(
        &m1,
        "# 8月经营分析会\n## 一、数据\n9月全钢销量同比增长12%。\n## 二、行动项\n1. 西伯利亚物流 12 万美元尾款催收。责任人：张伟；截止：9 月 15 日。\n2. 乌拉尔矿业框架协议谈判方案。责任人：唐志强；截止：下次会议前。\n3. 塔什干轮胎贸易信用额度复核。责任人：（待定）；截止：月底前。\n",
    )
    .unwrap();
    let (ok, out, err) = lodestar(
        &home,
        &models,
        &["minutes", "import", m1.to_str().unwrap(), "--date", "2026-09-07", "--meeting", "经营分析会", "--json"],
    );
    assert!(ok, "{err}");
    let r = json(&out);
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{out}");
    for f in [
        "description",
        "type",
        "country",
        "country_name",
        "customer",
        "customer_name",
        "owners",
        "owner_ids",
        "deadline",
        "deadline_text",
        "source",
        "confidence",
        "needs_review",
        "missing",
        "field_sources",
        "id",
    ] {
        assert!(items[0].get(f).is_some(), "field {f} missing: {}", items[0]);
    }
    assert_eq!(items[0]["type"], "回款风险");
    assert_eq!(items[0]["deadline"], "2026-09-15");
    assert_eq!(items[0]["owner_ids"], serde_json::json!(["S05"]));
    assert_eq!(items[0]["needs_review"], true);
    assert_eq!(items[0]["field_sources"]["owners"], "rule");
    // 下次会议前: no date, text kept
    assert_eq!(items[1]["deadline"], serde_json::Value::Null);
    assert_eq!(items[1]["deadline_text"], "下次会议前");
    assert_eq!(items[2]["missing"], serde_json::json!(["owner"]));
    for k in ["meeting_id", "meeting", "date", "file", "linked", "updates", "applied", "stats"] {
        assert!(r.get(k).is_some(), "{k}");
    }

    // later minutes: a repeat is linked, a completion is proposed and applied
    let m2 = dir.path().join("m2.txt");
    std::fs::write(&m2, "二、上期事项跟踪\n1）西伯利亚物流尾款：已全部到账，关闭。\n三、待办事项\n1）@唐志强 乌拉尔矿业框架协议谈判方案，10月31日前提交。\n").unwrap();
    let (ok, out, err) = lodestar(
        &home,
        &models,
        &["minutes", "import", m2.to_str().unwrap(), "--date", "2026-10-13", "--apply-updates", "--json"],
    );
    assert!(ok, "{err}");
    let r = json(&out);
    assert_eq!(r["linked"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(r["updates"][0]["to_status"], "已完成");
    assert_eq!(r["applied"], true);

    let (ok, out, _) = lodestar(&home, &models, &["ledger", "list", "--status", "已完成", "--json"]);
    assert!(ok);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    let (ok, out, _) = lodestar(&home, &models, &["ledger", "list", "--overdue", "--as-of", "2026-10-01", "--json"]);
    assert!(ok);
    // open with a past deadline on 10-01: only 塔什干 (09-30); 西伯利亚 is done, 乌拉尔 has no date
    assert_eq!(json(&out).as_array().unwrap().len(), 1, "{out}");

    let (ok, _, err) = lodestar(
        &home,
        &models,
        &["ledger", "update", "2", "--status", "延期", "--deadline", "2026-11-30", "--note", "客户换了采购总监"],
    );
    assert!(ok, "{err}");
    let (ok, out, _) = lodestar(&home, &models, &["ledger", "history", "2", "--json"]);
    assert!(ok);
    let h = json(&out);
    assert_eq!(h.as_array().unwrap().last().unwrap()["to_status"], "延期");

    let xlsx = dir.path().join("ledger.xlsx");
    let (ok, _, err) = lodestar(&home, &models, &["ledger", "export", "--out", xlsx.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(xlsx.metadata().unwrap().len() > 1000);

    let (ok, out, err) =
        lodestar(&home, &models, &["ledger", "review", "--meeting", "1", "--as-of", "2026-10-01", "--format", "json"]);
    assert!(ok, "{err}");
    let rv = json(&out);
    // 3 items: done 1 (西伯利亚), delayed 1 (乌拉尔), overdue 1 (塔什干)
    assert_eq!(rv["done"].as_array().unwrap().len(), 1);
    assert_eq!(rv["delayed"].as_array().unwrap().len(), 1);
    assert_eq!(rv["overdue"].as_array().unwrap().len(), 1);
    // 结构化率: owner + deadline + type → only 西伯利亚 (乌拉尔 now has a deadline too: 2/3)
    assert_eq!(rv["structured"], 2);
    // 可追踪率: unfinished 乌拉尔 (owner, deadline) and 塔什干 (no owner) → 1/2
    assert_eq!(rv["trackable"], 1);
    assert_eq!(rv["unfinished"], 2);
    let (ok, out, _) = lodestar(&home, &models, &["ledger", "review", "--format", "md", "--as-of", "2026-10-01"]);
    assert!(ok);
    assert!(out.contains("结构化率") && out.contains("可追踪率"));
}

#[test]
fn bench_minutes_rules_only() {
    let dir = tempfile::tempdir().unwrap();
    let (home, models) = (dir.path().join("home"), dir.path().join("models"));
    std::fs::create_dir_all(&models).unwrap();
    let eval = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/eval/minutes");
    let (ok, out, err) = lodestar(&home, &models, &["bench", "minutes", "--dir", eval, "--json"]);
    assert!(ok, "{err}");
    let r = json(&out);
    assert_eq!(r.as_array().unwrap().len(), 1, "no model installed → rules only");
    assert!(r[0]["items"]["recall"].as_f64().unwrap() >= 0.9);
    assert!(r[0]["items"]["precision"].as_f64().unwrap() >= 0.9);
}

/// A home's `dictionaries/owner_roles.csv` teaches a role word without a rebuild, and
/// `minutes import --dry-run` shows the result and stores nothing.
#[test]
fn a_home_vocabulary_reaches_minutes_import_and_dry_run_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (home, models) = (dir.path().join("home"), dir.path().join("models"));
    std::fs::create_dir_all(&models).unwrap();
    let m = dir.path().join("m.md");
    std::fs::write(&m, "## 行动项\n1. 克孜勒库姆矿山服务索赔，由吴刚牵头、曹俊帮忙跟进，9 月 20 日前给出理赔方案。\n")
        .unwrap();
    let args = ["minutes", "import", m.to_str().unwrap(), "--date", "2026-09-07", "--dry-run", "--json"];
    let (ok, out, err) = lodestar(&home, &models, &args);
    assert!(ok, "{err}");
    let r = json(&out);
    assert_eq!(r["items"][0]["supporting_owner_ids"], serde_json::json!([]), "no built-in role word: {out}");
    std::fs::create_dir_all(home.join("dictionaries")).unwrap();
    std::fs::write(home.join("dictionaries/owner_roles.csv"), "role,word\nsupporting,帮忙跟进\n").unwrap();
    let (ok, out, err) = lodestar(&home, &models, &args);
    assert!(ok, "{err}");
    let r = json(&out);
    assert_eq!(r["items"][0]["owner_ids"], serde_json::json!(["S08"]), "{out}");
    assert_eq!(r["items"][0]["supporting_owner_ids"], serde_json::json!(["S20"]), "{out}");
    // dry runs stored nothing
    let (ok, out, err) = lodestar(&home, &models, &["ledger", "list", "--json"]);
    assert!(ok, "{err}");
    assert_eq!(json(&out).as_array().map(Vec::len), Some(0), "{out}");
    // a malformed line stops the command with the file and line
    std::fs::write(home.join("dictionaries/owner_roles.csv"), "role,word\nsupporting\n").unwrap();
    let (ok, _, err) = lodestar(&home, &models, &args);
    assert!(!ok);
    assert!(err.contains("owner_roles.csv") && err.contains("line 2"), "{err}");
}
