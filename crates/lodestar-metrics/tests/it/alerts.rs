//! Golden tests of the risk rules, as of 2026-09-30, with hand-worked days and amounts.

use crate::common::*;
use lodestar_core::config::Config;
use lodestar_core::{Principal, Role, Sensitivity};
use lodestar_metrics::{alerts, NaiveDate};
use rust_decimal::Decimal;

#[allow(clippy::too_many_arguments)]
fn inst<'a>(
    contract: &'a str,
    customer: &'a str,
    country: &'a str,
    currency: &'a str,
    node: &'a str,
    due: &'a str,
    due_date: &'a str,
    paid: &'a str,
    goods_ready: Option<&'a str>,
    shipping: &'a str,
) -> Inst<'a> {
    Inst { contract, customer, country, currency, node, due, due_date, paid, paid_date: None, goods_ready, shipping }
}

/// Receivables (as of 2026-09-30):
///   BC-001 C001 预付   due 10000 on 2026-09-10, paid 4000, goods ready 2026-10-05, 未发货
///   BC-002 C001 见提单 due 50000 on 2026-05-01, paid 0
///   BC-003 C002 发货前 due 20000 on 2026-10-20, paid 20000 (fully paid)
///   BC-004 C002 发货后 due 600000 on 2026-12-01, paid 0
///   BC-005 C004 发货后 due 300000 USD on 2026-11-01, paid 0 (C004's credit limit is 25,000,000 RUB)
///   BC-006 C017 预付   due 5000 on 2025-12-01, paid 0, goods ready 2026-09-01, 已订舱
///   BC-007 C016 预付   due 100 on 2026-09-29, paid 0, goods ready 2026-09-20, 已发货
///   BC-008 C001 预付   due 700 on 2026-10-15, paid 0, goods ready 2026-10-20, 未发货
///   BC-009 C006 预付   due 100 on 2026-09-15, paid 100 on 2026-09-15
/// Sales: 2026-09 C001, C002, C016, C017; 2026-07 C009 (开发中).
/// fx: RUB 2026-09 = 0.011 USD.
/// Ledger: an item created 2026-09-20 mentions "Caspian Freight" (C020, 开发中).
fn fixture() -> lodestar_store::Store {
    let s = store();
    let mut rows = vec![
        inst(
            "BC-001",
            "西伯利亚物流",
            "RU",
            "USD",
            "预付",
            "10000",
            "2026-09-10",
            "4000",
            Some("2026-10-05"),
            "未发货",
        ),
        inst("BC-002", "Sibir Logistics", "RU", "USD", "见提单", "50000", "2026-05-01", "0", None, "未发货"),
        inst(
            "BC-003",
            "阿尔泰运输",
            "RU",
            "USD",
            "发货前",
            "20000",
            "2026-10-20",
            "20000",
            Some("2026-10-01"),
            "未发货",
        ),
        inst("BC-004", "阿尔泰运输", "RU", "USD", "发货后", "600000", "2026-12-01", "0", None, "已发货"),
        inst("BC-005", "伏尔加卡车服务", "RU", "USD", "发货后", "300000", "2026-11-01", "0", None, "已发货"),
        inst("BC-006", "草原物流", "KZ", "USD", "预付", "5000", "2025-12-01", "0", Some("2026-09-01"), "已订舱"),
        inst("BC-007", "阿尔泰矿业", "KZ", "USD", "预付", "100", "2026-09-29", "0", Some("2026-09-20"), "已发货"),
        inst("BC-008", "西伯利亚物流", "RU", "USD", "预付", "700", "2026-10-15", "0", Some("2026-10-20"), "未发货"),
        inst("BC-009", "北极星矿业", "RU", "USD", "预付", "100", "2026-09-15", "100", None, "未发货"),
    ];
    rows[8].paid_date = Some("2026-09-15");
    add_receivables(&s, &rows);
    add_sales(
        &s,
        &[
            ("2026-09", "RU", "C001", "TBR", "315/80R22.5", "1", "100", "USD", None),
            ("2026-09", "RU", "C002", "TBR", "315/80R22.5", "1", "100", "USD", None),
            ("2026-09", "KZ", "C016", "TBR", "315/80R22.5", "1", "100", "USD", None),
            ("2026-09", "KZ", "C017", "TBR", "315/80R22.5", "1", "100", "USD", None),
            ("2026-07", "RU", "远东港口服务", "TBR", "315/80R22.5", "1", "100", "USD", None),
        ],
    );
    add_fx(&s, &[("2026-09", "RUB", "0.011")]);
    s.conn()
        .execute_batch(
            "CREATE TABLE ledger_items (id INTEGER PRIMARY KEY, title TEXT, created_at TEXT);
             INSERT INTO ledger_items(title, created_at) VALUES ('跟进 Caspian Freight 样品试用', '2026-09-20T10:00:00+08:00');",
        )
        .unwrap();
    s
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()
}

#[test]
fn overdue_days_amounts_and_buckets() {
    let a = alerts(&fixture(), &dicts(), as_of(), &Config::default(), &Principal::local_admin()).unwrap();
    // overdue: BC-001 (due 09-10, 20 days, 10000 − 4000 = 6000), BC-002 (due 05-01: May 31 + Jun 30 +
    // Jul 31 + Aug 31 + 29 = 152 days, 50000), BC-006 (due 2025-12-01: 31+31+28+31+30+31+30+31+31+29
    // = 303 days, 5000), BC-007 (due 09-29, 1 day, 100). BC-003/009 are paid, BC-004/005/008 not yet due.
    let got: Vec<(&str, i64, Option<Decimal>, &str)> = a
        .overdue
        .iter()
        .map(|o| (o.contract_no.as_deref().unwrap(), o.days_overdue, o.overdue_amount, o.bucket.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("BC-006", 303, Some(d("5000")), ">180"),
            ("BC-002", 152, Some(d("50000")), "91-180"),
            ("BC-001", 20, Some(d("6000")), "1-30"),
            ("BC-007", 1, Some(d("100")), "1-30"),
        ]
    );
    let first = &a.overdue[0];
    assert_eq!(first.customer.id, "C017");
    assert_eq!(first.customer.name_zh, "草原物流");
    assert_eq!(first.rule.id, "overdue");
    assert!(first.rule.description_zh.contains("逾期"));
    // buckets: 1-30 = 6000 + 100 = 6100 (2), 91-180 = 50000, >180 = 5000, others empty
    let b = &a.overdue_buckets;
    assert_eq!(b.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["1-30", "31-60", "61-90", "91-180", ">180"]);
    assert_eq!(b["1-30"].count, 2);
    assert_eq!(b["1-30"].by_currency["USD"], d("6100"));
    assert_eq!(b["1-30"].amount_usd, Some(d("6100")));
    assert_eq!(b["31-60"].count, 0);
    assert_eq!(b["91-180"].by_currency["USD"], d("50000"));
    assert_eq!(b[">180"].amount_usd, Some(d("5000")));
}

#[test]
fn shipment_at_risk() {
    let a = alerts(&fixture(), &dicts(), as_of(), &Config::default(), &Principal::local_admin()).unwrap();
    // BC-006: 预付, unpaid, 已订舱, goods ready 2026-09-01 = 29 days ago → days −29, missing 5000
    // BC-001: 预付, 6000 missing, 未发货, goods ready 2026-10-05 = in 5 days (≤ 14)
    // not: BC-003 (paid), BC-007 (已发货), BC-008 (goods ready in 20 days > 14)
    let got: Vec<(&str, i64, Option<Decimal>)> = a
        .shipment_at_risk
        .iter()
        .map(|s| (s.contract_no.as_deref().unwrap(), s.days_to_goods_ready, s.missing_amount))
        .collect();
    assert_eq!(got, [("BC-006", -29, Some(d("5000"))), ("BC-001", 5, Some(d("6000")))]);
    assert_eq!(a.shipment_at_risk[0].thresholds["shipment_window_days"], 14);
    // a wider window (25 days) also catches BC-008 (20 days)
    let mut c = Config::default();
    c.alerts.shipment_window_days = 25;
    let a = alerts(&fixture(), &dicts(), as_of(), &c, &Principal::local_admin()).unwrap();
    assert_eq!(a.shipment_at_risk.len(), 3);
}

#[test]
fn credit_anomalies() {
    let a = alerts(&fixture(), &dicts(), as_of(), &Config::default(), &Principal::local_admin()).unwrap();
    // over limit: C002 outstanding 600000 (BC-003 is paid) > 500000 USD;
    // C004 300000 USD vs 25,000,000 RUB × 0.011 = 275000 USD → over, converted with a note.
    // C001 outstanding 6000 + 50000 + 700 = 56700 < 800000: fine.
    // overdue > 90 days while buying in 2026-09: BC-002 (C001, 152 days), BC-006 (C017, 303 days).
    let got: Vec<(&str, &str)> =
        a.credit_anomaly.iter().map(|c| (c.customer.id.as_str(), c.rule.id.as_str())).collect();
    assert_eq!(
        got,
        [
            ("C001", "credit_overdue_while_buying"),
            ("C002", "credit_over_limit"),
            ("C004", "credit_over_limit"),
            ("C017", "credit_overdue_while_buying"),
        ]
    );
    let c002 = &a.credit_anomaly[1];
    assert_eq!(c002.outstanding, Some(d("600000")));
    assert_eq!(c002.credit_limit, Some(d("500000")));
    let c004 = &a.credit_anomaly[2];
    assert_eq!(c004.currency, "USD");
    assert_eq!(c004.outstanding, Some(d("300000")));
    assert!(c004.note.as_deref().unwrap_or("").contains("RUB 2026-09"), "{:?}", c004.note);
    let c001 = &a.credit_anomaly[0];
    assert_eq!(c001.contract_no.as_deref(), Some("BC-002"));
    assert_eq!(c001.days_overdue, Some(152));
}

#[test]
fn credit_without_fx_is_noted_not_guessed() {
    let s = fixture();
    s.conn().execute("DELETE FROM fx", []).unwrap();
    let a = alerts(&s, &dicts(), as_of(), &Config::default(), &Principal::local_admin()).unwrap();
    assert!(!a.credit_anomaly.iter().any(|c| c.customer.id == "C004"));
    assert!(a.notes.iter().any(|n| n.contains("C004") && n.contains("RUB")), "{:?}", a.notes);
}

#[test]
fn stalled_development() {
    let a = alerts(&fixture(), &dicts(), as_of(), &Config::default(), &Principal::local_admin()).unwrap();
    // 开发中 in the fixture dictionary: C006, C009, C014, C020, C021, C024, C031, C035.
    // C006 paid on 2026-09-15 (15 days) → active; C020 is named by a ledger item of 2026-09-20 → active;
    // C009's last sale is 2026-07 → counted as 2026-07-31 → 61 days > 30 → stalled;
    // the other five have no activity at all → stalled (listed first, by id).
    let got: Vec<(&str, Option<i64>)> =
        a.stalled_development.iter().map(|s| (s.customer.id.as_str(), s.days_since_activity)).collect();
    assert_eq!(
        got,
        [("C014", None), ("C021", None), ("C024", None), ("C031", None), ("C035", None), ("C009", Some(61))]
    );
    let c009 = a.stalled_development.last().unwrap();
    assert_eq!(c009.last_activity, NaiveDate::from_ymd_opt(2026, 7, 31));
    assert_eq!(c009.last_activity_kind.as_deref(), Some("sales"));
    assert_eq!(c009.thresholds["stalled_days"], 30);
}

#[test]
fn below_clearance_sees_the_alerts_without_receivable_figures() {
    let p = Principal { name: "li".into(), role: Role::Sales, clearance: Sensitivity::Internal, kbs: vec![] };
    let a = alerts(&fixture(), &dicts(), as_of(), &Config::default(), &p).unwrap();
    // the same alerts as an admin sees (customer, days, bucket, due date) …
    let full = alerts(&fixture(), &dicts(), as_of(), &Config::default(), &Principal::local_admin()).unwrap();
    let key = |x: &lodestar_metrics::alerts::OverdueAlert| {
        (x.customer.id.clone(), x.days_overdue, x.bucket.clone(), x.due_date)
    };
    assert_eq!(a.overdue.iter().map(key).collect::<Vec<_>>(), full.overdue.iter().map(key).collect::<Vec<_>>());
    assert_eq!(a.shipment_at_risk.len(), 2);
    assert_eq!(a.credit_anomaly.len(), full.credit_anomaly.len());
    // … without one amount or contract number (敏感 fields, asked as 内部)
    assert!(a.overdue.iter().all(|o| o.overdue_amount.is_none()
        && o.due_amount.is_none()
        && o.paid_amount.is_none()
        && o.contract_no.is_none()));
    assert!(a.shipment_at_risk.iter().all(|s| s.missing_amount.is_none() && s.contract_no.is_none()));
    assert!(a
        .credit_anomaly
        .iter()
        .all(|c| c.outstanding.is_none() && c.credit_limit.is_none() && c.overdue_amount.is_none()));
    assert!(a.overdue_buckets.values().all(|b| b.by_currency.is_empty() && b.amount_usd.is_none()));
    assert_eq!(a.overdue_buckets["1-30"].count, 2, "counts stay");
    let groups: Vec<&str> = a.masked.iter().map(|w| w.group.as_str()).collect();
    assert_eq!(groups, ["overdue", "shipment_at_risk", "contract_no", "credit_anomaly"]);
    assert!(a.masked[0].reason.contains("敏感"));
    assert!(a.withheld.is_empty());
    assert_eq!(a.stalled_development.len(), 6);
    // no figure of the fixture's receivables anywhere in the JSON
    let json = serde_json::to_string(&a).unwrap();
    for secret in ["6000", "50000", "5000\"", "600000", "BC-00"] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    // below the sales sensitivity (公开): nothing at all
    let p = Principal { name: "guest".into(), role: Role::Viewer, clearance: Sensitivity::Public, kbs: vec![] };
    let a = alerts(&fixture(), &dicts(), as_of(), &Config::default(), &p).unwrap();
    assert!(
        a.overdue.is_empty()
            && a.shipment_at_risk.is_empty()
            && a.credit_anomaly.is_empty()
            && a.stalled_development.is_empty()
    );
    assert_eq!(a.withheld.len(), 4);
}
