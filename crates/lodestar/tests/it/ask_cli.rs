//! `lodestar ask` end to end through the binary: a metric answer from imported CSV exports (figures
//! worked out by hand below), a cited knowledge answer without a chat model, and the permission
//! filter for a low-clearance account. No model is loaded (`--no-model`).

use crate::support::{self, lodestar_in, run, succeeded, WARRANTY};
use std::path::Path;

fn lodestar(home: &Path, args: &[&str]) -> (bool, String, String) {
    run(lodestar_in(home).args(args).env("LODESTAR_MODELS", home.join("no-models")))
}

fn json(home: &Path, args: &[&str]) -> serde_json::Value {
    support::json(&succeeded(args, lodestar(home, args)))
}

const SALES: &str = "月份,国家,客户,品类,规格,销量,销售额,币种\n\
2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,100,30000,USD\n\
2026-09,俄罗斯,阿尔泰运输,全钢,315/70R22.5,50,18000,USD\n\
2026-08,俄罗斯,西伯利亚物流,全钢,315/80R22.5,80,24000,USD\n";
const TARGETS: &str = "月份,国家,品类,目标销量,目标金额,币种\n\
2026-09,俄罗斯,全钢,160,50000,USD\n\
2026-08,俄罗斯,全钢,100,30000,USD\n";
const SIBIR: &str = "---\nkb: customer\ntitle: 客户档案：西伯利亚物流\nsensitivity: 敏感\ncustomer: C001\n---\n# 西伯利亚物流\n## 信用与付款条件\n付款条件：30% TT 预付，70% 见提单副本付款。\n";

#[test]
fn ask_answers_metrics_cites_knowledge_and_filters_by_clearance() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("sales.csv"), SALES).unwrap();
    std::fs::write(home.join("targets.csv"), TARGETS).unwrap();
    let (ok, out, err) = lodestar(
        home,
        &["import", home.join("targets.csv").to_str().unwrap(), home.join("sales.csv").to_str().unwrap()],
    );
    assert!(ok, "import failed: {err}\n{out}");

    // 2026-09 俄罗斯 全钢: actual 30,000 + 18,000 = 48,000; target 50,000
    // achievement 48,000 / 50,000 = 0.96 → 96.00%; gap 50,000 − 48,000 = 2,000
    let v = json(home, &["ask", "俄罗斯 2026年9月全钢达成率和缺口？", "--json", "--no-model"]);
    let answer = v["answer"].as_str().unwrap();
    assert!(answer.contains("96.00%"), "{answer}");
    assert!(answer.contains("48,000.00") && answer.contains("50,000.00") && answer.contains("2,000.00"), "{answer}");
    assert!(answer.contains("达成率 = 实际 / 目标"), "{answer}");
    assert_eq!(v["needs_review"], false);
    let total = &v["tool_results"][0]["total"];
    let ach: f64 = total["achievement"].as_str().unwrap().parse().unwrap();
    assert!((ach - 0.96).abs() < 1e-12, "{total}");
    for k in ["retrieve", "prefill", "decode", "total"] {
        assert!(v["timings_ms"][k].is_number(), "timings_ms.{k}");
    }
    assert!(v["citations"].as_array().unwrap().is_empty());
    assert!(v["warnings"].is_array());

    // knowledge, no chat model: quoted passage with its citation
    let kdir = home.join("knowledge");
    std::fs::create_dir_all(kdir.join("policy")).unwrap();
    std::fs::create_dir_all(kdir.join("customer")).unwrap();
    std::fs::write(kdir.join("policy/warranty.md"), WARRANTY).unwrap();
    std::fs::write(kdir.join("customer/C001-sibir.md"), SIBIR).unwrap();
    let (ok, out, err) = lodestar(home, &["kb", "add", kdir.to_str().unwrap()]);
    assert!(ok, "kb add failed: {err}\n{out}");
    let v = json(home, &["ask", "全钢胎质保期是多久？", "--json", "--no-model"]);
    assert_eq!(v["needs_review"], true);
    let cites = v["citations"].as_array().unwrap();
    assert!(!cites.is_empty(), "{v}");
    assert!(cites[0]["doc"].as_str().unwrap().ends_with("warranty.md"), "{v}");
    for k in ["kb", "doc", "title", "chunk_id", "snippet"] {
        assert!(cites[0].get(k).is_some(), "citation field {k}");
    }
    assert!(v["answer"].as_str().unwrap().contains("36"), "{v}");

    // an intern (内部) cannot see the 敏感 dossier: no evidence, nothing leaks
    let (ok, _, err) = lodestar(home, &["user", "add", "intern", "--role", "viewer", "--clearance", "内部"]);
    assert!(ok, "user add failed: {err}");
    let v = json(home, &["--as", "intern", "ask", "西伯利亚物流的付款条件是什么？", "--json", "--no-model"]);
    let answer = v["answer"].as_str().unwrap();
    assert!(answer.contains("知识库中没有找到相关资料"), "{answer}");
    assert!(!answer.contains("30% TT"), "{answer}");
    assert!(v["citations"].as_array().unwrap().is_empty());
    // the administrator sees it
    let v = json(home, &["ask", "西伯利亚物流的付款条件是什么？", "--json", "--no-model"]);
    assert!(v["answer"].as_str().unwrap().contains("30%"), "{v}");
}

#[test]
fn a_year_to_date_share_is_the_share_of_the_year_to_date_total() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("sales.csv"), SALES).unwrap();
    let (ok, out, err) = lodestar(home, &["import", home.join("sales.csv").to_str().unwrap()]);
    assert!(ok, "import failed: {err}\n{out}");
    // 2026-08 + 2026-09, Russia: 西伯利亚物流 24,000 + 30,000 = 54,000; 阿尔泰运输 18,000;
    // total 72,000 → 54,000 / 72,000 = 75.00 %. September alone would be 30,000 / 48,000 = 62.50 %.
    let v = json(home, &["ask", "西伯利亚物流今年以来占俄罗斯的份额", "--as-of", "2026-09-30", "--json", "--no-model"]);
    let answer = v["answer"].as_str().unwrap();
    assert!(answer.contains("75.00%"), "{answer}");
    assert!(!answer.contains("62.50%"), "{answer}");
}

#[test]
fn ambiguous_customer_is_asked_back() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(dir.path(), &["ask", "Altai 今年以来销售额多少？", "--json", "--no-model"]);
    let answer = v["answer"].as_str().unwrap();
    assert!(answer.contains("C002") && answer.contains("C016"), "{answer}");
}

/// A home's `dictionaries/route_cues.csv` teaches routing a new cue without a rebuild: `成绩单`
/// (an overview word the built-in cues lack) turns a scoped question from a knowledge question into
/// a metric one; a row of an unknown kind stops the command with the file and line.
#[test]
fn a_home_route_cue_changes_routing_without_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    std::fs::write(home.join("sales.csv"), SALES).unwrap();
    std::fs::write(home.join("targets.csv"), TARGETS).unwrap();
    let (ok, out, err) = lodestar(
        home,
        &["import", home.join("targets.csv").to_str().unwrap(), home.join("sales.csv").to_str().unwrap()],
    );
    assert!(ok, "import failed: {err}\n{out}");
    let q = "俄罗斯 2026年9月全钢成绩单";
    let before = json(home, &["ask", q, "--json", "--no-model"]);
    assert_eq!(before["route"]["kind"], "knowledge", "{}", before["route"]);

    std::fs::create_dir_all(home.join("dictionaries")).unwrap();
    std::fs::write(home.join("dictionaries/route_cues.csv"), "kind,word\n# ours\noverview,成绩单\n").unwrap();
    let after = json(home, &["ask", q, "--json", "--no-model"]);
    assert_eq!(after["route"]["kind"], "metric", "{}", after["route"]);
    let intents = after["route"]["intents"].as_array().unwrap();
    assert!(intents.iter().any(|i| i == "achievement"), "{intents:?}");
    assert!(after["answer"].as_str().unwrap().contains("96.00%"), "{}", after["answer"]);

    std::fs::write(home.join("dictionaries/route_cues.csv"), "kind,word\noverveiw,成绩单\n").unwrap();
    let (ok, _, err) = lodestar(home, &["ask", q, "--json", "--no-model"]);
    assert!(!ok);
    assert!(err.contains("route_cues.csv") && err.contains("line 2") && err.contains("unknown kind"), "{err}");
}
