//! Property tests: group actuals sum to the total; ranks are consistent with the sort; contribution
//! shares sum to 1 within a parent scope.

use crate::common::*;
use lodestar_metrics::{Dim, MetricQuery, MetricsEngine, SortKey};
use proptest::prelude::*;
use rust_decimal::Decimal;

const COUNTRIES: [&str; 3] = ["RU", "KZ", "BY"];
const CATEGORIES: [&str; 3] = ["TBR", "PCR", "GOTR"];
const CUSTOMERS: [&str; 6] = ["C001", "C002", "C016", "C017", "C012", "C013"];
const MONTHS: [&str; 4] = ["2025-09", "2026-07", "2026-08", "2026-09"];

/// (month index, country, category, customer, amount in cents)
fn sale() -> impl Strategy<Value = (usize, usize, usize, usize, i64)> {
    (0..MONTHS.len(), 0..COUNTRIES.len(), 0..CATEGORIES.len(), 0..CUSTOMERS.len(), -5_000i64..2_000_000)
}

fn dims() -> impl Strategy<Value = Vec<Dim>> {
    prop::sample::subsequence(vec![Dim::Region, Dim::Country, Dim::Category, Dim::Customer, Dim::Owner], 0..=3)
}

fn engine(rows: &[(usize, usize, usize, usize, i64)]) -> MetricsEngine {
    let s = store();
    let amounts: Vec<String> = rows.iter().map(|r| Decimal::new(r.4, 2).to_string()).collect();
    let sales: Vec<Sale<'_>> = rows
        .iter()
        .zip(&amounts)
        .map(|(r, a)| {
            (MONTHS[r.0], COUNTRIES[r.1], CUSTOMERS[r.3], CATEGORIES[r.2], "315/80R22.5", "1", a.as_str(), "USD", None)
        })
        .collect();
    add_sales(&s, &sales);
    // always at least one row in the latest month so 2026-09 is queryable
    add_sales(&s, &[("2026-09", "RU", "C001", "TBR", "315/80R22.5", "1", "1", "USD", None)]);
    // a few country × category targets so achievement / gap are non-null somewhere
    add_targets(
        &s,
        &[
            ("2026-09", "RU", Some("TBR"), None, None, Some("5000"), "USD"),
            ("2026-09", "KZ", Some("PCR"), None, None, Some("0"), "USD"),
            ("2026-09", "BY", Some("GOTR"), None, None, Some("12000"), "USD"),
        ],
    );
    MetricsEngine::load(&s, &dicts()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn group_actuals_sum_to_total(rows in prop::collection::vec(sale(), 0..40), by in dims()) {
        let e = engine(&rows);
        let t = e.query(&MetricQuery::new("2026-09".parse().unwrap(), by.clone())).unwrap();
        if by.is_empty() {
            // no grouping: the total row alone
            prop_assert!(t.rows.is_empty());
        } else {
            let sum: Decimal = t.rows.iter().map(|r| r.actual.unwrap()).sum();
            prop_assert_eq!(sum, t.total.actual.unwrap());
        }
        // and for quantities by country
        let qty = e.query(&{ let mut q = MetricQuery::new("2026-09".parse().unwrap(), vec![Dim::Country]); q.measure = lodestar_metrics::Measure::Quantity; q }).unwrap();
        let qsum: Decimal = qty.rows.iter().map(|r| r.actual.unwrap()).sum();
        prop_assert_eq!(qsum, qty.total.actual.unwrap());
    }

    #[test]
    fn ranks_consistent_with_sort(rows in prop::collection::vec(sale(), 0..40), by in dims(), key in 0usize..3) {
        let e = engine(&rows);
        let mut q = MetricQuery::new("2026-09".parse().unwrap(), by);
        q.sort = [SortKey::Actual, SortKey::Achievement, SortKey::Gap][key];
        let t = e.query(&q).unwrap();
        let k = |r: &lodestar_metrics::MetricRow| match q.sort {
            SortKey::Actual => r.actual,
            SortKey::Achievement => r.achievement,
            SortKey::Gap => r.gap,
        };
        let mut seen_null = false;
        for (i, r) in t.rows.iter().enumerate() {
            match (k(r), r.rank) {
                (Some(v), Some(rank)) => {
                    prop_assert!(!seen_null, "ranked row after an unranked one");
                    // competition rank = 1 + number of rows with a strictly greater key
                    let greater = t.rows.iter().filter(|o| k(o).is_some_and(|x| x > v)).count();
                    prop_assert_eq!(rank as usize, greater + 1);
                    if i > 0 {
                        let prev = &t.rows[i - 1];
                        prop_assert!(k(prev).unwrap() >= v);
                        if k(prev).unwrap() == v {
                            prop_assert!(prev.scope.id() < r.scope.id(), "ties listed by id");
                        }
                    }
                }
                (None, None) => {
                    if seen_null {
                        prop_assert!(t.rows[i - 1].scope.id() < r.scope.id());
                    }
                    seen_null = true;
                }
                other => prop_assert!(false, "key/rank mismatch {:?}", other),
            }
        }
    }

    #[test]
    fn contributions_sum_to_one_within_parent(rows in prop::collection::vec(sale(), 1..40), c in 0usize..3) {
        let e = engine(&rows);
        // within a filtered scope (one country), customer shares sum to 1 when the total is positive
        let mut q = MetricQuery::new("2026-09".parse().unwrap(), vec![Dim::Customer]);
        q.filters = vec![(Dim::Country, COUNTRIES[c].to_string())];
        let t = e.query(&q).unwrap();
        let total = t.total.actual.unwrap();
        if total > Decimal::ZERO {
            let s: Decimal = t.rows.iter().map(|r| r.contribution.unwrap()).sum();
            prop_assert!((s - Decimal::ONE).abs() < Decimal::new(1, 20), "sum {}", s);
        } else {
            prop_assert!(t.rows.iter().all(|r| r.contribution.is_none()));
        }
        // country × category shares add up to each country's share of the same total
        let by_cc = e.query(&MetricQuery::new("2026-09".parse().unwrap(), vec![Dim::Country, Dim::Category])).unwrap();
        let by_c = e.query(&MetricQuery::new("2026-09".parse().unwrap(), vec![Dim::Country])).unwrap();
        if by_c.total.actual.unwrap() > Decimal::ZERO {
            for parent in &by_c.rows {
                let code = &parent.scope.dims[0].code;
                let s: Decimal = by_cc.rows.iter().filter(|r| &r.scope.dims[0].code == code).map(|r| r.contribution.unwrap()).sum();
                prop_assert!((s - parent.contribution.unwrap()).abs() < Decimal::new(1, 20));
            }
        }
    }
}
