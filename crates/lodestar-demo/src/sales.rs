//! Monthly exchange rates and the sales lines (销售明细).

use crate::model::{FxRate, SaleRow};
use crate::profiles::{list_price, season, PROFILES, SCRIPTED_SALES};
use crate::{cents, DemoError};
use lodestar_core::Month;
use lodestar_dict::{Customer, CustomerStatus, Dictionaries};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::{Decimal, RoundingStrategy};

/// A bounded random walk per currency, in integer units of the quoted precision, so that the
/// rates are exact decimals: EUR 1.05–1.12 (4 dp), RUB 0.010–0.013 (6 dp), CNY 0.137–0.142 (5 dp),
/// KZT 0.0019–0.0022 (7 dp).
pub(crate) fn fx_table(rng: &mut ChaCha8Rng, first: Month, months: usize) -> Vec<FxRate> {
    // (currency, start, step, min, max, scale)
    let spec: [(&str, i64, i64, i64, i64, u32); 4] = [
        ("EUR", 10_820, 90, 10_520, 11_180, 4),
        ("RUB", 11_400, 320, 10_100, 12_900, 6),
        ("CNY", 13_950, 90, 13_720, 14_180, 5),
        ("KZT", 20_500, 450, 19_100, 21_900, 7),
    ];
    let mut level: Vec<i64> = spec.iter().map(|s| s.1).collect();
    let mut out = Vec::with_capacity(months * (spec.len() + 1));
    for t in 0..months {
        let month = first.add(t as i64);
        out.push(FxRate { month, currency: "USD".into(), usd_per_unit: Decimal::ONE });
        for (i, (cur, _, step, lo, hi, scale)) in spec.iter().enumerate() {
            if t > 0 {
                level[i] = (level[i] + rng.random_range(-step..=*step)).clamp(*lo, *hi);
            }
            out.push(FxRate { month, currency: (*cur).into(), usd_per_unit: Decimal::new(level[i], *scale) });
        }
    }
    out
}

fn rate(fx: &[FxRate], month: Month, currency: &str) -> Decimal {
    fx.iter().find(|r| r.month == month && r.currency == currency).map(|r| r.usd_per_unit).unwrap_or(Decimal::ONE)
}

/// Checks the profiles against the dictionaries: every customer exists, every spec is in the
/// catalogue with a list price.
pub(crate) fn check_profiles(dict: &Dictionaries) -> Result<(), DemoError> {
    for p in PROFILES {
        let c = dict
            .customer_by_id(p.id)
            .ok_or_else(|| DemoError::Profile(format!("customer {} not in customers.csv", p.id)))?;
        if dict.country_by_code(&c.country).is_none() {
            return Err(DemoError::Profile(format!("customer {} has unknown country {}", p.id, c.country)));
        }
        if dict.staff_by_id(&c.owner).is_none() {
            return Err(DemoError::Profile(format!("customer {} has unknown owner {}", p.id, c.owner)));
        }
        for (spec, _, _) in p.mix {
            spec_category(dict, spec)?;
        }
    }
    for s in SCRIPTED_SALES {
        for (spec, _) in s.lines {
            spec_category(dict, spec)?;
        }
    }
    Ok(())
}

/// The category code of a catalogue spec; the spec must also have a list price.
pub(crate) fn spec_category(dict: &Dictionaries, spec: &str) -> Result<String, DemoError> {
    let s = dict.resolve_spec(spec).ok_or_else(|| DemoError::Profile(format!("spec {spec} not in specs.csv")))?;
    if s.spec != spec {
        return Err(DemoError::Profile(format!("spec {spec} is not canonical (catalogue has {})", s.spec)));
    }
    if list_price(spec).is_none() {
        return Err(DemoError::Profile(format!("spec {spec} has no list price")));
    }
    Ok(s.category.clone())
}

/// The sales lines of every month of the window.
pub(crate) fn generate(
    dict: &Dictionaries,
    rng: &mut ChaCha8Rng,
    first: Month,
    months: usize,
    fx: &[FxRate],
) -> Result<Vec<SaleRow>, DemoError> {
    check_profiles(dict)?;
    let end = first.add(months as i64 - 1);
    // Customer price factor: the negotiated level against the list price (±1.5 %).
    let price_factor: Vec<f64> = PROFILES.iter().map(|_| rng.random_range(0.985..1.015)).collect();
    let span = (months.max(2) - 1) as f64;
    let mut out = Vec::new();
    for t in 0..months {
        let month = first.add(t as i64);
        let offset = month.index() - end.index();
        for (pi, p) in PROFILES.iter().enumerate() {
            if p.start.is_some_and(|s| offset < s) || p.stop.is_some_and(|s| offset >= s) {
                continue;
            }
            let Some(cust) = dict.customer_by_id(p.id) else { continue };
            let growth = 1.0 + p.growth * (t as f64 - (months as f64 - 1.0)) / 12.0;
            let lump = if p.lumps.is_empty() {
                1.0
            } else if p.lumps.contains(&month.month) {
                3.0
            } else {
                0.4
            };
            let noise = rng.random_range(0.88..1.12);
            let scripted: Vec<_> = SCRIPTED_SALES.iter().filter(|s| s.customer == p.id && s.offset == offset).collect();
            let mut lines: Vec<(&str, i64)> = Vec::new();
            if !scripted.iter().any(|s| s.replace) {
                for (spec, share, prob) in p.mix {
                    let buy: f64 = rng.random();
                    let spread = rng.random_range(0.8..1.2);
                    let frac: f64 = rng.random();
                    if buy >= *prob {
                        continue;
                    }
                    let cat = spec_category(dict, spec)?;
                    let usd = p.base * share * growth * lump * season(&cat, month.month) * noise * spread;
                    let q = usd / list_price(spec).unwrap_or(1.0);
                    let qty = q.floor() as i64 + i64::from(frac < q - q.floor());
                    if qty > 0 {
                        lines.push((spec, qty));
                    }
                }
            }
            for s in &scripted {
                lines.extend(s.lines.iter().copied());
            }
            let time_factor = 0.98 + 0.04 * t as f64 / span;
            push_lines(dict, rng, fx, &mut out, cust, month, &lines, price_factor[pi] * time_factor)?;
        }
        // scripted purchases of customers without a buying profile (开发中 customers' sample orders)
        for s in SCRIPTED_SALES.iter().filter(|s| s.offset == offset && !PROFILES.iter().any(|p| p.id == s.customer)) {
            let cust = dict
                .customer_by_id(s.customer)
                .ok_or_else(|| DemoError::Profile(format!("scripted sale for unknown customer {}", s.customer)))?;
            let time_factor = 0.98 + 0.04 * t as f64 / span;
            push_lines(dict, rng, fx, &mut out, cust, month, s.lines, time_factor)?;
        }
    }
    // Every 合作中 customer must buy; keep the invariant visible here rather than only in tests.
    for c in dict.customers.iter().filter(|c| c.status == CustomerStatus::Active) {
        if !PROFILES.iter().any(|p| p.id == c.id) {
            return Err(DemoError::Profile(format!("合作中 customer {} has no buying profile", c.id)));
        }
    }
    Ok(out)
}

/// Prices the lines of one customer-month and appends them as sales rows.
#[allow(clippy::too_many_arguments)]
fn push_lines(
    dict: &Dictionaries,
    rng: &mut ChaCha8Rng,
    fx: &[FxRate],
    out: &mut Vec<SaleRow>,
    cust: &Customer,
    month: Month,
    lines: &[(&str, i64)],
    price_factor: f64,
) -> Result<(), DemoError> {
    for (spec, qty) in lines {
        let category = spec_category(dict, spec)?;
        let list = list_price(spec).unwrap_or(0.0);
        let usd_price = cents(list * price_factor * rng.random_range(0.99..1.01));
        let currency = cust.currency.clone();
        let unit = if currency == "USD" {
            usd_price
        } else {
            (usd_price / rate(fx, month, &currency)).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        };
        let english: f64 = rng.random();
        let customer_name =
            if english < 0.15 && !cust.name_en.is_empty() { cust.name_en.clone() } else { cust.name_zh.clone() };
        out.push(SaleRow {
            month,
            country: cust.country.clone(),
            customer: cust.id.clone(),
            customer_name,
            category,
            spec: spec.to_string(),
            quantity: *qty,
            amount: unit * Decimal::from(*qty),
            currency,
            owner: cust.owner.clone(),
        });
    }
    Ok(())
}
