//! End-to-end: `lodestar metrics | concentration | summary | alerts | bench metrics` on a home whose
//! database gets rows inserted directly. Expected values are worked out by hand in the comments.

use crate::support::lodestar_in;
use std::path::Path;

fn lodestar(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = lodestar_in(home).args(args).env_remove("LODESTAR_HOME").output().expect("run lodestar");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sales: 2025-09 RU C001 TBR 2000; 2026-08 RU C001 TBR 2400; 2026-09 RU C001 TBR 3000,
/// RU C002 PCR 1000, KZ C016 TBR 1000. Targets 2026-09: RU TBR 2500, KZ (whole country) 2000.
/// Receivable: BC-1 C001 预付 due 10000 on 2026-09-10, paid 4000, goods ready 2026-10-05, 未发货.
fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = lodestar_store::Store::open(&dir.path().join("lodestar.db")).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO import_batches(id, file_name, content_hash, imported_at, imported_by) VALUES (1, 'f.xlsx', 'h', '2026-10-01T00:00:00Z', 'test');
             INSERT INTO sales(batch_id, month, country, customer, category, spec, quantity, amount, currency) VALUES
               (1, '2025-09', '俄罗斯', '西伯利亚物流', '全钢', '315/80R22.5', '20', '2000', 'USD'),
               (1, '2026-08', '俄罗斯', '西伯利亚物流', '全钢', '315/80R22.5', '20', '2400', 'USD'),
               (1, '2026-09', 'Russia', 'Sibir Logistics', 'TBR', '315/80 r22.5', '25', '3000', 'USD'),
               (1, '2026-09', 'RU', '阿尔泰运输', '半钢', '205/55R16', '10', '1000', 'USD'),
               (1, '2026-09', 'KZ', '阿尔泰矿业', '全钢', '12R22.5', '10', '1000', 'USD');
             INSERT INTO targets(batch_id, month, country, category, customer, target_amount, currency) VALUES
               (1, '2026-09', 'RU', '全钢', NULL, '2500', 'USD'),
               (1, '2026-09', 'KZ', NULL, NULL, '2000', 'USD');
             INSERT INTO receivables(batch_id, contract_no, customer, country, currency, payment_node, due_amount, due_date,
               paid_amount, goods_ready_date, shipping_status) VALUES
               (1, 'BC-1', '西伯利亚物流', 'RU', 'USD', '预付', '10000', '2026-09-10', '4000', '2026-10-05', '未发货');",
        )
        .unwrap();
    dir
}

#[test]
fn metrics_json_by_country() {
    let h = home();
    let (code, out, err) = lodestar(h.path(), &["metrics", "--period", "2026-09", "--by", "country", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v["rows"].as_array().unwrap();
    // RU = 3000 + 1000 = 4000 (rank 1), KZ = 1000
    assert_eq!(rows[0]["scope"]["dims"][0]["code"], "RU");
    assert_eq!(rows[0]["scope"]["dims"][0]["name_zh"], "俄罗斯");
    assert_eq!(rows[0]["actual"], "4000");
    // RU target 2500 → achievement 4000 / 2500 = 1.6 (a fraction, not 160)
    assert_eq!(rows[0]["achievement"], "1.6");
    // YoY: 4000 / 2000 − 1 = 1; MoM: 4000 / 2400 − 1 = 0.666…
    assert_eq!(rows[0]["yoy"], "1");
    assert!(rows[0]["mom"].as_str().unwrap().starts_with("0.66666"));
    // KZ: 2025-09 had no KZ sales → YoY null with a reason
    assert!(rows[1]["yoy"].is_null());
    assert!(rows[1]["reasons"].as_array().unwrap().iter().any(|r| r["field"] == "yoy"));
    // total 5000, target 4500
    assert_eq!(v["total"]["actual"], "5000");
    assert_eq!(v["total"]["target"], "4500");
}

#[test]
fn metrics_table_csv_md_and_filters() {
    let h = home();
    let (code, out, err) = lodestar(h.path(), &["metrics", "--month", "2026-09", "--by", "country,category"]);
    assert_eq!(code, 0, "{err}");
    // RU/TBR 3000 / 2500 = 120.00%
    assert!(out.contains("120.00%"), "{out}");
    assert!(out.contains("合计"));
    let (code, out, _) = lodestar(
        h.path(),
        &["metrics", "--period", "2026-09", "--by", "customer", "--filter", "country=俄罗斯", "--format", "csv"],
    );
    assert_eq!(code, 0);
    // within RU: C001 3000 / 4000 = 75.00%, C002 25.00%
    assert!(out.contains("C001,西伯利亚物流,Sibir Logistics LLC,USD,3000.00"), "{out}");
    assert!(out.contains("75.00%"));
    let (code, out, _) = lodestar(h.path(), &["metrics", "--period", "2026-09", "--format", "md"]);
    assert_eq!(code, 0);
    assert!(out.contains("| 合计 |"), "{out}");
}

#[test]
fn period_after_latest_names_latest_month() {
    let h = home();
    let (code, _, err) = lodestar(h.path(), &["metrics", "--period", "2026-10"]);
    assert_ne!(code, 0);
    assert!(err.contains("2026-09"), "{err}");
}

#[test]
fn concentration_summary_alerts() {
    let h = home();
    let (code, out, err) = lodestar(h.path(), &["concentration", "--month", "2026-09", "--top", "1,2", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // CR1 = 3000 / 5000 = 0.6; CR2 = 4000 / 5000 = 0.8
    assert_eq!(v["ratios"][0]["share"], "0.6");
    assert_eq!(v["ratios"][1]["share"], "0.8");

    let xlsx = h.path().join("summary.xlsx");
    let (code, _, err) = lodestar(h.path(), &["summary", "--month", "2026-09", "--out", xlsx.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::metadata(&xlsx).unwrap().len() > 1000);

    let (code, out, err) = lodestar(h.path(), &["alerts", "--as-of", "2026-09-30", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // BC-1: 20 days overdue, 10000 − 4000 = 6000; goods ready in 5 days with the prepayment short
    assert_eq!(v["as_of"], "2026-09-30");
    assert_eq!(v["overdue"][0]["contract_no"], "BC-1");
    assert_eq!(v["overdue"][0]["days_overdue"], 20);
    assert_eq!(v["overdue"][0]["overdue_amount"], "6000");
    assert_eq!(v["overdue_buckets"]["1-30"]["count"], 1);
    assert_eq!(v["shipment_at_risk"][0]["days_to_goods_ready"], 5);
    assert_eq!(v["shipment_at_risk"][0]["missing_amount"], "6000");
    assert!(v["credit_anomaly"].is_array() && v["stalled_development"].is_array());
    let (code, out, _) = lodestar(h.path(), &["alerts", "--as-of", "2026-09-30"]);
    assert_eq!(code, 0);
    assert!(out.contains("BC-1") && out.contains("货好待款"), "{out}");
}

#[test]
fn bench_metrics_small() {
    let h = tempfile::tempdir().unwrap();
    let (code, out, err) = lodestar(h.path(), &["bench", "metrics", "--rows", "3000", "--runs", "2", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"], 3000);
    assert!(v["median_ms"].as_f64().unwrap() > 0.0);
    assert!(v["result_rows"].as_u64().unwrap() > 0);
}
