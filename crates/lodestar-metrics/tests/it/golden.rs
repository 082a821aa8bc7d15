//! Golden tests on a small hand-built fixture. Every expected value is worked out by hand in the
//! comments from the rows below, following DESIGN.md "Metric definitions (口径)".

use crate::common::*;
use lodestar_core::{Period, Principal, Role, Sensitivity};
use lodestar_metrics::{
    Compare, Dim, Measure, MetricQuery, MetricRow, MetricTable, MetricsEngine, MetricsError, SortKey,
};
use rust_decimal::Decimal;

/// Asserts `v` equals `expected` after rounding both to 10 decimals (for repeating fractions).
#[track_caller]
fn approx(v: Option<Decimal>, expected: &str) {
    let v = v.expect("value is null");
    assert_eq!(v.round_dp(10), d(expected).round_dp(10), "got {v}, expected {expected}");
}

#[track_caller]
fn exact(v: Option<Decimal>, expected: &str) {
    assert_eq!(v, Some(d(expected)), "expected {expected}");
}

#[track_caller]
fn null_with(row: &MetricRow, field: &str, reason_part: &str) {
    let r = row.reason(field).unwrap_or_else(|| panic!("no reason for {field}; reasons: {:?}", row.reasons));
    assert!(r.contains(reason_part), "reason for {field} = `{r}`, expected it to mention `{reason_part}`");
}

fn row<'a>(t: &'a MetricTable, codes: &[&str]) -> &'a MetricRow {
    t.rows
        .iter()
        .find(|r| r.scope.dims.iter().map(|p| p.code.as_str()).collect::<Vec<_>>() == codes)
        .unwrap_or_else(|| panic!("no row {codes:?} in {:?}", t.rows.iter().map(|r| r.scope.id()).collect::<Vec<_>>()))
}

/// Fixture A (all USD, no fx table).
///
/// Sales (month, country, customer, category, amount; quantity in brackets):
///   2025-01 RU C001 TBR 1000 (10)
///   2025-09 RU C001 TBR 2000 (20) · RU C002 PCR 500 (5) · KZ C016 TBR 800 (8)
///   2025-12 RU C001 TBR 1200 (12)
///   2026-01 RU C001 TBR 1500 (10) · KZ C016 TBR 400 (4)
///   2026-06 KZ C017 TBR 300 (3)                   ← C017 appears mid-year
///   2026-08 RU C001 TBR 2400 (20) · KZ C016 TBR 600 (6)
///   2026-09 RU C001 TBR 3000 (25, written "Sibir Logistics" / "315/80 r22.5")
///           RU C002 PCR 1000 (10, owner "小张" = S05 although C002's owner is S06)
///           KZ C016 TBR 1000 (10) · KZ C017 TBR 500 (5)
/// Targets 2026 (amount): RU × TBR 2500 every month; RU × PCR 0 in 2026-09 only (zero target);
///   KZ whole country (empty category) 1000 every month except 2026-09 = 2000. None in 2025.
fn fixture_a() -> lodestar_store::Store {
    let s = store();
    add_sales(
        &s,
        &[
            ("2025-01", "RU", "C001", "TBR", "315/80R22.5", "10", "1000", "USD", None),
            ("2025-09", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "20", "2000", "USD", None),
            ("2025-09", "Russia", "阿尔泰运输", "半钢", "205/55R16", "5", "500", "USD", None),
            ("2025-09", "哈萨克斯坦", "阿尔泰矿业", "TBR", "12R22.5", "8", "800", "USD", None),
            ("2025-12", "RU", "西伯利亚物流", "TBR", "315/80R22.5", "12", "1200", "USD", None),
            ("2026-01", "RU", "西伯利亚物流", "TBR", "315/80R22.5", "10", "1500", "USD", None),
            ("2026-01", "KZ", "Altai Mining", "TBR", "12R22.5", "4", "400", "USD", None),
            ("2026-06", "KZ", "草原物流", "TBR", "12R22.5", "3", "300", "USD", None),
            ("2026-08", "RU", "西伯利亚物流", "TBR", "315/80R22.5", "20", "2400", "USD", None),
            ("2026-08", "KZ", "阿尔泰矿业", "TBR", "12R22.5", "6", "600", "USD", None),
            ("2026-09", "Россия", "Sibir Logistics", "全钢胎", "315/80 r22.5", "25", "3000", "USD", None),
            ("2026-09", "RU", "阿尔泰运输", "半钢", "205/55R16", "10", "1000", "USD", Some("小张")),
            ("2026-09", "KZ", "阿尔泰矿业", "TBR", "12R22.5", "10", "1000", "USD", None),
            ("2026-09", "KZ", "Dala Logistics", "全钢", "12R22.5", "5", "500", "USD", None),
        ],
    );
    let mut t: Vec<(String, &str, Option<&str>, &str)> = Vec::new();
    for m in 1..=12 {
        let month = format!("2026-{m:02}");
        t.push((month.clone(), "RU", Some("TBR"), "2500"));
        t.push((month.clone(), "KZ", None, if m == 9 { "2000" } else { "1000" }));
    }
    t.push(("2026-09".into(), "RU", Some("半钢"), "0"));
    let rows: Vec<Target<'_>> =
        t.iter().map(|(m, c, k, a)| (m.as_str(), *c, *k, None, None, Some(*a), "USD")).collect();
    add_targets(&s, &rows);
    s
}

fn engine_a() -> MetricsEngine {
    MetricsEngine::load(&fixture_a(), &dicts()).unwrap()
}

fn q(period: &str, by: Vec<Dim>) -> MetricQuery {
    MetricQuery::new(period.parse::<Period>().unwrap(), by)
}

#[test]
fn latest_month_and_period_after_latest() {
    let e = engine_a();
    assert_eq!(e.latest_month().unwrap().to_string(), "2026-09");
    let err = e.query(&q("2026-10", vec![Dim::Country])).unwrap_err();
    assert!(matches!(err, MetricsError::PeriodAfterLatest { .. }));
    assert!(err.to_string().contains("2026-09"), "{err}");
    // the year 2026 runs to December, after the latest data
    assert!(e.query(&q("2026", vec![])).unwrap_err().to_string().contains("2026-09"));
}

#[test]
fn a_period_before_the_first_month_of_data_is_an_error_not_zero() {
    // The fixture's first sales month is 2025-01 (see the table above).
    let e = engine_a();
    assert_eq!(e.earliest_month().unwrap().to_string(), "2025-01");
    for p in ["2024-12", "2024-Q4", "2024"] {
        let err = e.query(&q(p, vec![Dim::Country])).unwrap_err();
        assert!(matches!(err, MetricsError::PeriodBeforeEarliest { .. }), "{p}: {err}");
        assert!(err.to_string().contains("2025-01"), "{err}");
    }
    // A period that reaches into the data is answered: 2025-01 alone holds RU 1000.
    let t = e.query(&q("2025-01", vec![Dim::Country])).unwrap();
    exact(row(&t, &["RU"]).actual, "1000");
}

#[test]
fn by_country_every_metric() {
    let t = engine_a().query(&q("2026-09", vec![Dim::Country])).unwrap();
    assert_eq!(t.rows.len(), 2);
    let ru = row(&t, &["RU"]);
    assert_eq!(ru.scope.dims[0].name_zh, "俄罗斯");
    assert_eq!(ru.scope.dims[0].name_en, "Russia");
    assert_eq!(ru.currency.as_deref(), Some("USD"));
    // actual = 3000 + 1000 = 4000
    exact(ru.actual, "4000");
    // RU targets are country × category; a country scope sums them: TBR 2500 + PCR 0 = 2500
    exact(ru.target, "2500");
    // 4000 / 2500 = 1.6
    exact(ru.achievement, "1.6");
    // gap = 2500 − 4000 = −1500
    exact(ru.gap, "-1500");
    // YoY: 2025-09 RU = 2000 + 500 = 2500 → 4000 / 2500 − 1 = 0.6
    exact(ru.yoy, "0.6");
    exact(ru.actual_last_year, "2500");
    // MoM: 2026-08 RU = 2400 → 4000 / 2400 − 1 = 0.6666…
    approx(ru.mom, "0.6666666666666666");
    // YTD 2026-01..09: 1500 + 2400 + 4000 = 7900
    exact(ru.ytd_actual, "7900");
    // YTD target: TBR 9 × 2500 = 22500, PCR 0 → 22500
    exact(ru.ytd_target, "22500");
    // 7900 / 22500 = 0.351111…
    approx(ru.ytd_achievement, "0.3511111111111111");
    exact(ru.ytd_gap, "14600");
    // YTD last year 2025-01..09: 1000 + 2500 = 3500 → 7900 / 3500 − 1 = 1.2571428571…
    approx(ru.ytd_yoy, "1.2571428571428571");
    // annual target: 12 × 2500 + 0 = 30000; progress 7900 / 30000 = 0.263333…
    exact(ru.annual_target, "30000");
    approx(ru.annual_progress, "0.2633333333333333");
    // time progress 9 / 12 = 0.75
    exact(ru.time_progress, "0.75");
    // remaining gap 30000 − 7900 = 22100; run rate 22100 / (12 − 9) = 7366.666…
    exact(ru.remaining_gap, "22100");
    approx(ru.run_rate, "7366.6666666666666667");
    // total actual 2026-09 = 4000 + 1000 + 500 = 5500 → contribution 4000 / 5500 = 8/11
    approx(ru.contribution, "0.7272727272727273");
    // comparison 2025-09: total 3300, RU 2500 → 25/33; change = 8/11 − 25/33 = −1/33
    approx(ru.contribution_change, "-0.0303030303030303");
    assert_eq!(ru.rank, Some(1));
    assert!(ru.reasons.is_empty(), "{:?}", ru.reasons);

    let kz = row(&t, &["KZ"]);
    // actual 1000 + 500 = 1500; target: KZ row with empty category = whole country, 2000
    exact(kz.actual, "1500");
    exact(kz.target, "2000");
    exact(kz.achievement, "0.75");
    exact(kz.gap, "500");
    // YoY: 1500 / 800 − 1 = 0.875; MoM: 1500 / 600 − 1 = 1.5
    exact(kz.yoy, "0.875");
    exact(kz.mom, "1.5");
    // YTD: 400 + 300 + 600 + 1500 = 2800; YTD target 8 × 1000 + 2000 = 10000 → 0.28
    exact(kz.ytd_actual, "2800");
    exact(kz.ytd_target, "10000");
    exact(kz.ytd_achievement, "0.28");
    // YTD YoY: 2800 / 800 − 1 = 2.5
    exact(kz.ytd_yoy, "2.5");
    // annual 11 × 1000 + 2000 = 13000; progress 2800 / 13000 = 0.2153846…
    exact(kz.annual_target, "13000");
    approx(kz.annual_progress, "0.2153846153846154");
    // remaining 13000 − 2800 = 10200; run rate 10200 / 3 = 3400
    exact(kz.remaining_gap, "10200");
    exact(kz.run_rate, "3400");
    // contribution 1500 / 5500 = 3/11; cmp 800 / 3300 = 8/33; change = 9/33 − 8/33 = 1/33
    approx(kz.contribution, "0.2727272727272727");
    approx(kz.contribution_change, "0.0303030303030303");
    assert_eq!(kz.rank, Some(2));

    let tot = &t.total;
    assert!(tot.scope.dims.is_empty());
    // total: actual 5500, target RU 2500 + KZ 2000 = 4500, achievement 5500/4500 = 1.2222…
    exact(tot.actual, "5500");
    exact(tot.target, "4500");
    approx(tot.achievement, "1.2222222222222222");
    exact(tot.gap, "-1000");
    // YoY 5500 / 3300 − 1 = 0.6666…; MoM 5500 / (2400 + 600) − 1 = 0.8333…
    approx(tot.yoy, "0.6666666666666667");
    approx(tot.mom, "0.8333333333333333");
    // YTD 7900 + 2800 = 10700 vs target 22500 + 10000 = 32500; YTD YoY 10700 / 4300 − 1
    exact(tot.ytd_actual, "10700");
    exact(tot.ytd_target, "32500");
    approx(tot.ytd_yoy, "1.4883720930232558");
    // annual 30000 + 13000 = 43000; remaining 32300; run rate 32300 / 3
    exact(tot.annual_target, "43000");
    exact(tot.remaining_gap, "32300");
    approx(tot.run_rate, "10766.6666666666666667");
    exact(tot.contribution, "1");
    exact(tot.contribution_change, "0");
    assert_eq!(tot.rank, None);
    null_with(tot, "rank", "合计");
}

#[test]
fn customers_tie_rank_and_target_grain() {
    let t = engine_a().query(&q("2026-09", vec![Dim::Customer])).unwrap();
    // 2026-09: C001 3000, C002 1000, C016 1000, C017 500 → ranks 1, 2, 2, 4; ties by id (C002 before C016)
    let ids: Vec<String> = t.rows.iter().map(|r| r.scope.id()).collect();
    assert_eq!(ids, ["C001", "C002", "C016", "C017"]);
    let ranks: Vec<Option<u32>> = t.rows.iter().map(|r| r.rank).collect();
    assert_eq!(ranks, [Some(1), Some(2), Some(2), Some(4)]);
    let c001 = row(&t, &["C001"]);
    assert_eq!(c001.scope.dims[0].name_zh, "西伯利亚物流");
    assert_eq!(c001.scope.dims[0].name_en, "Sibir Logistics LLC");
    // targets are set by country × category (RU) and country (KZ): a customer scope is finer → null
    assert_eq!(c001.target, None);
    null_with(c001, "target", "粗");
    assert_eq!(c001.achievement, None);
    null_with(c001, "achievement", "粗");
    assert_eq!(c001.gap, None);
    assert_eq!(c001.remaining_gap, None);
    assert_eq!(c001.run_rate, None);
    null_with(c001, "run_rate", "粗");
    // the total row of the same query is at country grain and has the target 2500 + 2000 = 4500
    exact(t.total.target, "4500");
    // contributions 3000/5500, 1000/5500, 1000/5500, 500/5500
    approx(row(&t, &["C017"]).contribution, "0.0909090909090909");
}

#[test]
fn customer_appearing_mid_year() {
    let t = engine_a().query(&q("2026-09", vec![Dim::Customer])).unwrap();
    let c017 = row(&t, &["C017"]);
    // first sale 2026-06 (300), then 2026-09 (500)
    exact(c017.actual, "500");
    // no sales in 2025-09 → YoY base 0 → null; none in 2026-08 → MoM null
    assert_eq!(c017.yoy, None);
    null_with(c017, "yoy", "为 0");
    assert_eq!(c017.mom, None);
    null_with(c017, "mom", "为 0");
    // YTD = 300 + 500 = 800; last year's YTD 0 → YTD YoY null
    exact(c017.ytd_actual, "800");
    assert_eq!(c017.ytd_yoy, None);
    null_with(c017, "ytd_yoy", "为 0");
    // contribution 500 / 5500 = 1/11; in 2025-09 it was 0 / 3300 = 0 → change = 1/11
    approx(c017.contribution_change, "0.0909090909090909");
    // a month before it appeared, it is not a row at all
    let t5 = engine_a().query(&q("2026-05", vec![Dim::Customer])).unwrap();
    assert!(t5.rows.is_empty());
}

#[test]
fn zero_target_and_category_filter_by_alias() {
    let mut query = q("2026-09", vec![Dim::Country, Dim::Category]);
    query.filters = vec![(Dim::Country, "俄罗斯".into())];
    let t = engine_a().query(&query).unwrap();
    assert_eq!(t.filters[0].code, "RU");
    let tbr = row(&t, &["RU", "TBR"]);
    let pcr = row(&t, &["RU", "PCR"]);
    // TBR: 3000 vs 2500 → 1.2, gap −500
    exact(tbr.achievement, "1.2");
    exact(tbr.gap, "-500");
    // PCR: target 0 → achievement null with reason, gap = −actual = −1000
    exact(pcr.target, "0");
    assert_eq!(pcr.achievement, None);
    null_with(pcr, "achievement", "为 0");
    exact(pcr.gap, "-1000");
    // PCR YTD target 0 → null YTD achievement; annual target 0 → null progress;
    // remaining gap 0 − 1000 = −1000; run rate −1000 / 3
    assert_eq!(pcr.ytd_achievement, None);
    assert_eq!(pcr.annual_progress, None);
    null_with(pcr, "annual_progress", "为 0");
    exact(pcr.remaining_gap, "-1000");
    approx(pcr.run_rate, "-333.3333333333333333");
    // PCR YoY: 1000 / 500 − 1 = 1
    exact(pcr.yoy, "1");
    // contributions within RU: 3000/4000 and 1000/4000 → sum 1
    exact(tbr.contribution, "0.75");
    exact(pcr.contribution, "0.25");
    exact(t.total.actual, "4000");
    exact(t.total.target, "2500");
    // the same filter through the English name and the code
    for v in ["Russia", "RU", "Россия"] {
        let mut q2 = query.clone();
        q2.filters = vec![(Dim::Country, v.into())];
        assert_eq!(engine_a().query(&q2).unwrap().total.actual, Some(d("4000")));
    }
}

#[test]
fn empty_category_target_means_whole_country() {
    let t = engine_a().query(&q("2026-09", vec![Dim::Country, Dim::Category])).unwrap();
    let kz = row(&t, &["KZ", "TBR"]);
    // KZ's target row has no category: it is the whole country, not a TBR target
    assert_eq!(kz.target, None);
    null_with(kz, "target", "国家");
    // still counted at the country level
    let t2 = engine_a().query(&q("2026-09", vec![Dim::Country])).unwrap();
    exact(row(&t2, &["KZ"]).target, "2000");
}

#[test]
fn no_target_rows_at_all() {
    // 2025 has no targets
    let t = engine_a().query(&q("2025-09", vec![Dim::Country])).unwrap();
    let ru = row(&t, &["RU"]);
    exact(ru.actual, "2500");
    for f in ["target", "achievement", "gap", "remaining_gap", "run_rate", "annual_target", "ytd_target"] {
        null_with(ru, f, "没有目标行");
    }
    // 2024 has no sales: YoY is null because the base is 0
    null_with(ru, "yoy", "为 0");
}

#[test]
fn december_to_january_ytd() {
    let e = engine_a();
    // 2025-12: RU actual 1200; YTD 2025 = 1000 + 2000 + 500 + 1200 = 4700; run rate null in December
    let dec = e.query(&q("2025-12", vec![Dim::Country])).unwrap();
    let ru = row(&dec, &["RU"]);
    exact(ru.actual, "1200");
    exact(ru.ytd_actual, "4700");
    exact(ru.time_progress, "1");
    assert_eq!(ru.run_rate, None);
    null_with(ru, "run_rate", "12 月");
    // total YTD 2025 = 4700 + KZ 800 = 5500
    exact(dec.total.ytd_actual, "5500");
    // 2026-01: YTD restarts: RU = 1500 only
    let jan = e.query(&q("2026-01", vec![Dim::Country])).unwrap();
    let ru = row(&jan, &["RU"]);
    exact(ru.actual, "1500");
    exact(ru.ytd_actual, "1500");
    // MoM vs 2025-12 (1200): 1500 / 1200 − 1 = 0.25; YoY vs 2025-01 (1000): 0.5; YTD YoY also 0.5
    exact(ru.mom, "0.25");
    exact(ru.yoy, "0.5");
    exact(ru.ytd_yoy, "0.5");
    // target 2500 → 0.6; annual 30000 → progress 0.05; remaining 28500, run rate 28500 / 11
    exact(ru.achievement, "0.6");
    exact(ru.annual_progress, "0.05");
    approx(ru.time_progress, "0.0833333333333333");
    approx(ru.run_rate, "2590.9090909090909091");
}

#[test]
fn quarter_and_year_periods() {
    let e = engine_a();
    let t = e.query(&q("2026-Q3", vec![Dim::Country])).unwrap();
    let ru = row(&t, &["RU"]);
    // Q3 = Jul + Aug + Sep = 0 + 2400 + 4000 = 6400; target 3 × 2500 + 0 = 7500 → 0.85333…
    exact(ru.actual, "6400");
    exact(ru.target, "7500");
    approx(ru.achievement, "0.8533333333333333");
    // YoY vs 2025-Q3 (2500): 6400 / 2500 − 1 = 1.56; previous quarter Q2 had no RU sales → null
    exact(ru.yoy, "1.56");
    null_with(ru, "mom", "为 0");
    // YTD to the quarter's last month (September) = 7900
    exact(ru.ytd_actual, "7900");
    let y = e.query(&q("2025", vec![Dim::Country])).unwrap();
    let ru = row(&y, &["RU"]);
    // year 2025: 1000 + 2000 + 500 + 1200 = 4700 = YTD
    exact(ru.actual, "4700");
    exact(ru.ytd_actual, "4700");
    assert_eq!(ru.run_rate, None);
}

#[test]
fn region_owner_spec_dimensions_and_quantity() {
    let e = engine_a();
    let t = e.query(&q("2026-09", vec![Dim::Region])).unwrap();
    let cis = row(&t, &["CIS"]);
    assert_eq!(cis.scope.dims[0].name_zh, "独联体");
    exact(cis.actual, "5500");
    // owner: C001 has no row owner → its dictionary owner S05; the C002 row names 小张 = S05;
    // C016 and C017 belong to S07 → S05 = 3000 + 1000 = 4000, S07 = 1000 + 500 = 1500
    let t = e.query(&q("2026-09", vec![Dim::Owner])).unwrap();
    let s05 = row(&t, &["S05"]);
    assert_eq!(s05.scope.dims[0].name_zh, "张伟");
    assert_eq!(s05.scope.dims[0].name_en, "David Zhang");
    exact(s05.actual, "4000");
    exact(row(&t, &["S07"]).actual, "1500");
    // spec: "315/80 r22.5" resolves to 315/80R22.5; targets are never set by spec
    let t = e.query(&q("2026-09", vec![Dim::Spec])).unwrap();
    let s = row(&t, &["315/80R22.5"]);
    exact(s.actual, "3000");
    null_with(s, "target", "规格");
    // quantity: 25 + 10 + 10 + 5 = 50 in 2026-09
    let mut qq = q("2026-09", vec![]);
    qq.measure = Measure::Quantity;
    let t = e.query(&qq).unwrap();
    assert_eq!(t.unit.as_deref(), Some("条"));
    // no grouping: only the total row
    assert!(t.rows.is_empty());
    exact(t.total.actual, "50");
    // no quantity targets were set → null with reason
    assert_eq!(t.total.target, None);
}

#[test]
fn sort_by_achievement_and_gap_with_null_keys_unranked() {
    let e = engine_a();
    let mut query = q("2026-09", vec![Dim::Country, Dim::Category]);
    query.sort = SortKey::Achievement;
    let t = e.query(&query).unwrap();
    // achievements: RU/TBR 1.2, RU/PCR null (zero target), KZ/TBR null (grain) → RU/TBR rank 1, others unranked by id
    let ids: Vec<String> = t.rows.iter().map(|r| r.scope.id()).collect();
    assert_eq!(ids, ["RU|TBR", "KZ|TBR", "RU|PCR"]);
    assert_eq!(t.rows.iter().map(|r| r.rank).collect::<Vec<_>>(), [Some(1), None, None]);
    null_with(&t.rows[1], "rank", "achievement");
    query.sort = SortKey::Gap;
    let t = e.query(&query).unwrap();
    // gaps: RU/TBR −500, RU/PCR −1000, KZ/TBR null → −500 first
    let ids: Vec<String> = t.rows.iter().map(|r| r.scope.id()).collect();
    assert_eq!(ids, ["RU|TBR", "RU|PCR", "KZ|TBR"]);
    assert_eq!(t.rows.iter().map(|r| r.rank).collect::<Vec<_>>(), [Some(1), Some(2), None]);
}

#[test]
fn compare_prev_month() {
    let mut query = q("2026-09", vec![Dim::Country]);
    query.compare = Compare::PrevMonth;
    let t = engine_a().query(&query).unwrap();
    assert_eq!(t.compare_period, "2026-08");
    // 2026-08: RU 2400, KZ 600, total 3000 → RU 0.8; now 8/11 → change 8/11 − 4/5 = −4/55
    approx(row(&t, &["RU"]).contribution_change, "-0.0727272727272727");
}

#[test]
fn concentration_cr() {
    let e = engine_a();
    let mut cq = lodestar_metrics::ConcentrationQuery::new("2026-09".parse().unwrap());
    cq.tops = vec![1, 2, 10];
    let c = e.concentration(&cq).unwrap();
    // customers 3000, 1000, 1000, 500 of 5500: CR1 = 3000/5500, CR2 = 4000/5500, CR10 = all = 1
    assert_eq!(c.customer_count, 4);
    approx(c.ratios[0].share, "0.5454545454545455");
    approx(c.ratios[1].share, "0.7272727272727273");
    exact(c.ratios[2].share, "1");
    assert!(c.ratios[2].reason.as_deref().unwrap_or("").contains("4"));
    // within Kazakhstan: 1000 + 500 → CR1 = 1000 / 1500
    cq.filters = vec![(Dim::Country, "哈萨克斯坦".into())];
    let c = e.concentration(&cq).unwrap();
    approx(c.ratios[0].share, "0.6666666666666667");
}

#[test]
fn unknown_filter_value_is_an_error_with_suggestions() {
    let mut query = q("2026-09", vec![]);
    query.filters = vec![(Dim::Country, "Russland".into())];
    let err = engine_a().query(&query).unwrap_err();
    assert!(matches!(err, MetricsError::UnknownFilterValue { .. }), "{err}");
}

#[test]
fn clearance_below_sales_is_refused() {
    let mut query = q("2026-09", vec![]);
    query.principal =
        Principal { name: "guest".into(), role: Role::Viewer, clearance: Sensitivity::Public, kbs: vec![] };
    let err = engine_a().query(&query).unwrap_err();
    assert!(matches!(err, MetricsError::Forbidden { .. }));
    assert!(err.to_string().contains("内部"), "{err}");
}

#[test]
fn json_has_decimal_strings_and_nulls() {
    let t = engine_a().query(&q("2026-09", vec![Dim::Customer])).unwrap();
    let v = serde_json::to_value(&t).unwrap();
    let first = &v["rows"][0];
    assert_eq!(first["actual"], serde_json::json!("3000"));
    assert!(first["target"].is_null());
    assert!(first["reasons"].as_array().unwrap().iter().any(|r| r["field"] == "target"));
    assert_eq!(first["scope"]["dims"][0]["code"], "C001");
    assert_eq!(v["total"]["actual"], serde_json::json!("5500"));
}

#[test]
fn load_for_period_reads_only_needed_months() {
    let s = fixture_a();
    let p: Period = "2026-09".parse().unwrap();
    let e = MetricsEngine::load_for_period(&s, &dicts(), &p).unwrap();
    // needed: 2026-01..09 and 2025-01..09 → every row except 2025-12 (13 of 14)
    assert_eq!(e.sales_rows_loaded(), 13);
    let full = engine_a().query(&q("2026-09", vec![Dim::Country])).unwrap();
    assert_eq!(e.query(&q("2026-09", vec![Dim::Country])).unwrap(), full);
    // a month it did not load is refused rather than answered wrongly
    assert!(e.query(&q("2026-01", vec![])).is_err());
}

/// Mixed currencies. 2026-09 RU: C001 1000 USD; C004 (伏尔加卡车服务) 90000 RUB;
/// 2026-08 RU: C004 45000 RUB.
fn fixture_currency() -> lodestar_store::Store {
    let s = store();
    add_sales(
        &s,
        &[
            ("2026-09", "RU", "C001", "TBR", "315/80R22.5", "10", "1000", "USD", None),
            ("2026-09", "RU", "伏尔加卡车服务", "TBR", "315/80R22.5", "30", "90000", "RUB", None),
            ("2026-08", "RU", "伏尔加卡车服务", "TBR", "315/80R22.5", "15", "45000", "RUB", None),
        ],
    );
    s
}

#[test]
fn mixed_currencies_without_fx_are_null_with_reason() {
    let e = MetricsEngine::load(&fixture_currency(), &dicts()).unwrap();
    assert!(!e.has_fx());
    let t = e.query(&q("2026-09", vec![Dim::Customer])).unwrap();
    // single-currency scopes keep their currency
    let c004 = row(&t, &["C004"]);
    exact(c004.actual, "90000");
    assert_eq!(c004.currency.as_deref(), Some("RUB"));
    // MoM in RUB: 90000 / 45000 − 1 = 1
    exact(c004.mom, "1");
    // the total mixes USD and RUB → null naming both
    assert_eq!(t.total.actual, None);
    null_with(&t.total, "actual", "USD");
    null_with(&t.total, "actual", "RUB");
    // so contributions are null too
    assert_eq!(c004.contribution, None);
    null_with(c004, "contribution", "混合币种");
    let t = e.query(&q("2026-09", vec![Dim::Country])).unwrap();
    let ru = row(&t, &["RU"]);
    assert_eq!(ru.actual, None);
    assert_eq!(ru.rank, None);
    // quantities do not care: 10 + 30 = 40
    let mut qq = q("2026-09", vec![Dim::Country]);
    qq.measure = Measure::Quantity;
    exact(row(&e.query(&qq).unwrap(), &["RU"]).actual, "40");
}

#[test]
fn mixed_currencies_with_fx_convert_at_the_sale_months_rate() {
    let s = fixture_currency();
    add_fx(&s, &[("2026-09", "RUB", "0.011"), ("2026-08", "RUB", "0.012")]);
    let e = MetricsEngine::load(&s, &dicts()).unwrap();
    let t = e.query(&q("2026-09", vec![Dim::Customer])).unwrap();
    assert!(t.fx_converted);
    // C004: 90000 × 0.011 = 990 USD; 2026-08: 45000 × 0.012 = 540 → MoM 990 / 540 − 1 = 0.8333…
    let c004 = row(&t, &["C004"]);
    exact(c004.actual, "990");
    assert_eq!(c004.currency.as_deref(), Some("USD"));
    approx(c004.mom, "0.8333333333333333");
    // total 1000 + 990 = 1990; C001 ranks first
    exact(t.total.actual, "1990");
    assert_eq!(t.rows[0].scope.id(), "C001");
}

#[test]
fn missing_fx_rate_is_an_error_naming_currency_and_month() {
    let s = fixture_currency();
    add_fx(&s, &[("2026-09", "RUB", "0.011")]);
    let e = MetricsEngine::load(&s, &dicts()).unwrap();
    // 2026-09 needs 2026-08 (MoM) where RUB has no rate
    let err = e.query(&q("2026-09", vec![Dim::Country])).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, MetricsError::MissingFxRate { .. }));
    assert!(msg.contains("RUB") && msg.contains("2026-08"), "{msg}");
}

#[test]
fn text_outputs_round_half_up() {
    use lodestar_metrics::render;
    assert_eq!(render::percent(d("0.96355")), "96.36%");
    assert_eq!(render::percent(d("0.96345")), "96.35%");
    assert_eq!(render::percent(d("-0.030303")), "-3.03%");
    assert_eq!(render::percent(d("1.6")), "160.00%");
    assert_eq!(render::money(d("1234567.005"), true), "1,234,567.01");
    assert_eq!(render::money(d("-1500"), true), "-1,500.00");
    let t = engine_a().query(&q("2026-09", vec![Dim::Country])).unwrap();
    let text = render::text_table(&t);
    assert!(text.contains("俄罗斯 RU") && text.contains("160.00%") && text.contains("合计"), "{text}");
    let csv = render::csv(&t);
    assert!(csv.starts_with("country_code,country_name_zh,country_name_en,currency,actual"), "{csv}");
    assert!(csv.contains("RU,俄罗斯,Russia,USD,4000.00,2500.00,160.00%"), "{csv}");
    let md = render::markdown(&t);
    assert!(md.contains("| 俄罗斯 RU |"), "{md}");
}

#[test]
fn xlsx_outputs_are_written() {
    use lodestar_metrics::render;
    let dir = tempfile::tempdir().unwrap();
    let e = engine_a();
    let s = render::summary(&e, "2026-09".parse().unwrap(), &Principal::local_admin()).unwrap();
    assert_eq!(
        s.sheets.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["按国家", "按品类", "按客户", "国家×品类×客户"]
    );
    // the pivot has one row per (country, category, customer) with sales: C001, C002, C016, C017
    assert_eq!(s.sheets[3].1.rows.len(), 4);
    let p = dir.path().join("summary.xlsx");
    render::write_summary_xlsx(&s, &p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let p2 = dir.path().join("m.xlsx");
    render::write_xlsx(&s.sheets[0].1, &p2).unwrap();
    assert!(p2.exists());
}
