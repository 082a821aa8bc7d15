//! Monthly targets (目标) by country × category, in USD.
//!
//! Targets cover every month from the window's first month to December of the end year (so the
//! full-year target exists). For a month with sales the target is set so that achievement lands
//! between 72 % and 122 %; a month without sales gets the pair's average (achievement 0 %). A pair
//! with no sales in a calendar year gets no target that year, and Japan × 巨胎 has no target before
//! the end year (the category was launched there that year): both exercise the "no target" path.
//! Russia × 全钢 is pinned to 96.35 % in the month before the end month and 87.4 % in the end month.

use crate::model::TargetRow;
use crate::DemoData;
use lodestar_core::Month;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

const CATEGORIES: [&str; 4] = ["GOTR", "TBR", "PCR", "OTR"];

fn round_to(x: Decimal, step: i64) -> Decimal {
    let s = Decimal::from(step);
    (x / s).round() * s
}

pub(crate) fn generate(rng: &mut ChaCha8Rng, data: &DemoData) -> Vec<TargetRow> {
    // actual (USD amount, quantity) per (country, category, month)
    let mut actual: BTreeMap<(String, String, Month), (Decimal, i64)> = BTreeMap::new();
    for r in &data.sales {
        let usd = data.amount_usd(r).unwrap_or(r.amount);
        let e = actual.entry((r.country.clone(), r.category.clone(), r.month)).or_default();
        e.0 += usd;
        e.1 += r.quantity;
    }
    let mut countries: Vec<String> = data.sales.iter().map(|r| r.country.clone()).collect();
    countries.sort();
    countries.dedup();
    let last_target_month = Month { year: data.end_month.year, month: 12 };
    let n = (last_target_month.index() - data.first_month.index() + 1).max(0);
    let mut out = Vec::new();
    for country in &countries {
        for cat in CATEGORIES {
            // averages per calendar year over the months with sales
            let mut by_year: BTreeMap<i32, (Decimal, i64, i64)> = BTreeMap::new();
            for t in 0..n {
                let m = data.first_month.add(t);
                if let Some((a, q)) = actual.get(&(country.clone(), cat.to_string(), m)) {
                    let e = by_year.entry(m.year).or_default();
                    e.0 += *a;
                    e.1 += *q;
                    e.2 += 1;
                }
            }
            let all: (Decimal, i64, i64) =
                by_year.values().fold((Decimal::ZERO, 0, 0), |acc, v| (acc.0 + v.0, acc.1 + v.1, acc.2 + v.2));
            for t in 0..n {
                let m = data.first_month.add(t);
                // the draws happen for every cell so that one change does not shift the others
                let ach_milli: i64 = rng.random_range(720..=1220);
                let qty_skew: i64 = rng.random_range(950..=1050);
                let uplift_milli: i64 = rng.random_range(1080..=1160);
                if country == "JP" && cat == "GOTR" && m.year < data.end_month.year {
                    continue;
                }
                let ach = match (country.as_str(), cat, m.index() - data.end_month.index()) {
                    ("RU", "TBR", -1) => Decimal::new(9635, 4),
                    ("RU", "TBR", 0) => Decimal::new(874, 3),
                    _ => Decimal::new(ach_milli, 3),
                };
                let (amount, qty) = if m <= data.end_month {
                    let Some(year) = by_year.get(&m.year) else { continue };
                    match actual.get(&(country.clone(), cat.to_string(), m)) {
                        Some((a, q)) => (
                            round_to(*a / ach, 100),
                            (Decimal::from(*q) * Decimal::from(1000) / (ach * Decimal::from(qty_skew))).round(),
                        ),
                        None => (
                            round_to(year.0 / Decimal::from(year.2), 100),
                            (Decimal::from(year.1) / Decimal::from(year.2)).round(),
                        ),
                    }
                } else {
                    // the rest of the end year: last year's level plus an uplift, else the average
                    let uplift = Decimal::new(uplift_milli, 3);
                    match actual.get(&(country.clone(), cat.to_string(), m.add(-12))) {
                        Some((a, q)) => (round_to(*a * uplift, 100), (Decimal::from(*q) * uplift).round()),
                        None if all.2 > 0 => (
                            round_to(all.0 / Decimal::from(all.2) * uplift, 100),
                            (Decimal::from(all.1) / Decimal::from(all.2) * uplift).round(),
                        ),
                        None => continue,
                    }
                };
                let target_quantity = qty.to_i64().unwrap_or(0).max(1);
                out.push(TargetRow {
                    month: m,
                    country: country.clone(),
                    category: cat.to_string(),
                    target_quantity,
                    target_amount: amount.max(Decimal::from(100)),
                    currency: "USD".into(),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.month, &a.country, &a.category).cmp(&(b.month, &b.country, &b.category)));
    out
}
