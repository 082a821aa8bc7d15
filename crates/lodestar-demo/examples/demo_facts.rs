//! Prints the headline facts of the demo data (what an evaluation set can be written from).
//!
//! `cargo run -p lodestar-demo --example demo_facts --release [-- OUT_DIR]`
//! With OUT_DIR the workbooks are also written there and the generation time is reported.

use lodestar_demo::{build, generate, DemoData, DemoOptions, PaymentNode, ShippingStatus};
use lodestar_dict::Dictionaries;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

fn pct(a: Decimal, t: Decimal) -> String {
    if t.is_zero() {
        return "n/a".into();
    }
    format!("{} ({:.2}%)", (a / t).round_dp(6), a / t * Decimal::from(100))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = DemoOptions::default();
    if let Some(dir) = std::env::args().nth(1) {
        let t = std::time::Instant::now();
        let m = generate(std::path::Path::new(&dir), &opts)?;
        println!("generate: {:.3} s", t.elapsed().as_secs_f64());
        for f in &m.files {
            println!("  {} [{}] sheet {} rows {}", f.file, f.kind, f.sheet, f.rows);
        }
    }
    let d = build(&opts)?;
    let dict = Dictionaries::builtin()?;
    facts(&d, &dict);
    Ok(())
}

fn facts(d: &DemoData, dict: &Dictionaries) {
    let end = d.end_month;
    println!("window {}..{}, as-of {}", d.first_month, end, d.as_of);
    println!(
        "rows: sales {}, targets {}, receivables {}, fx {}",
        d.sales.len(),
        d.targets.len(),
        d.receivables.len(),
        d.fx.len()
    );
    let customers: BTreeSet<_> = d.sales.iter().map(|r| r.customer.clone()).collect();
    let specs: BTreeSet<_> = d.sales.iter().map(|r| r.spec.clone()).collect();
    println!("customers buying {}, specs sold {}", customers.len(), specs.len());

    // region totals per month (USD)
    let mut by_month: BTreeMap<_, Decimal> = BTreeMap::new();
    for r in &d.sales {
        *by_month.entry(r.month).or_default() += d.amount_usd(r).unwrap_or_default();
    }
    println!("region amount by month (USD):");
    for (m, a) in &by_month {
        println!("  {m} {:>14}", a.round_dp(2));
    }

    // country × category coverage
    let mut cover: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in &d.sales {
        cover.entry((r.country.clone(), r.category.clone())).or_default().insert(r.month.to_string());
    }
    println!("country × category pairs with sales: {}", cover.len());
    let missing_end: Vec<_> = cover
        .iter()
        .filter(|(_, ms)| !ms.contains(&end.to_string()))
        .map(|(k, _)| format!("{}/{}", k.0, k.1))
        .collect();
    println!("pairs without sales in {end}: {missing_end:?}");

    // actual vs target for a few scopes
    let actual = |country: &str, cat: &str, m| -> (Decimal, i64) {
        d.sales
            .iter()
            .filter(|r| r.country == country && r.category == cat && r.month == m)
            .fold((Decimal::ZERO, 0), |acc, r| (acc.0 + d.amount_usd(r).unwrap_or_default(), acc.1 + r.quantity))
    };
    let target = |country: &str, cat: &str, m| {
        d.targets
            .iter()
            .find(|t| t.country == country && t.category == cat && t.month == m)
            .map(|t| (t.target_amount, t.target_quantity))
    };
    for (c, cat) in [("RU", "TBR"), ("RU", "GOTR"), ("KZ", "TBR"), ("KZ", "GOTR"), ("JP", "GOTR")] {
        for m in [end.add(-12), end.add(-1), end] {
            let (a, q) = actual(c, cat, m);
            match target(c, cat, m) {
                Some((t, tq)) => println!(
                    "{c} {cat} {m}: actual {} USD / {q} 条, target {t} USD / {tq} 条, achievement {}, gap {}",
                    a.normalize(),
                    pct(a, t),
                    (t - a).normalize()
                ),
                None => println!("{c} {cat} {m}: actual {} USD / {q} 条, no target", a.round_dp(2)),
            }
        }
    }
    // RU TBR YTD
    let ytd = |c: &str, cat: &str, year: i32, upto: u32| {
        let mut a = Decimal::ZERO;
        let mut t = Decimal::ZERO;
        for mm in 1..=upto {
            let m = lodestar_core::Month { year, month: mm };
            a += actual(c, cat, m).0;
            t += target(c, cat, m).map(|x| x.0).unwrap_or_default();
        }
        (a, t)
    };
    let (a, t) = ytd("RU", "TBR", end.year, end.month);
    println!("RU TBR YTD {}: actual {} target {} achievement {}", end, a.normalize(), t, pct(a, t));
    let (ly, _) = ytd("RU", "TBR", end.year - 1, end.month);
    println!("RU TBR YTD last year: {} → YTD YoY {}", ly.round_dp(2), ((a / ly) - Decimal::ONE).round_dp(6));
    let full: Decimal = (1..=12)
        .filter_map(|mm| target("RU", "TBR", lodestar_core::Month { year: end.year, month: mm }).map(|x| x.0))
        .sum();
    println!("RU TBR full-year target {}: {full}; progress {}", end.year, pct(a, full));

    // Region total end month vs target
    let tot_a: Decimal = d.sales.iter().filter(|r| r.month == end).filter_map(|r| d.amount_usd(r)).sum();
    let tot_t: Decimal = d.targets.iter().filter(|t| t.month == end).map(|t| t.target_amount).sum();
    println!("region {end}: actual {} target {} achievement {}", tot_a.normalize(), tot_t, pct(tot_a, tot_t));

    // top customers end month
    let mut by_cust: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in d.sales.iter().filter(|r| r.month == end) {
        *by_cust.entry(r.customer.clone()).or_default() += d.amount_usd(r).unwrap_or_default();
    }
    let mut v: Vec<_> = by_cust.into_iter().collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    println!("top customers {end} (USD):");
    for (c, a) in v.iter().take(10) {
        let name = dict.customer_by_id(c).map(|x| x.name_zh.clone()).unwrap_or_default();
        println!("  {c} {name} {}", a.round_dp(2));
    }

    // receivables at as-of
    let as_of = d.as_of;
    println!("overdue installments at {as_of}:");
    let bucket = |days: i64| match days {
        1..=30 => "1-30",
        31..=60 => "31-60",
        61..=90 => "61-90",
        91..=180 => "91-180",
        _ => ">180",
    };
    let mut overdue: Vec<_> =
        d.receivables.iter().filter(|r| r.due_date < as_of && r.paid_amount < r.due_amount).collect();
    overdue.sort_by_key(|r| r.due_date);
    for r in &overdue {
        let days = (as_of - r.due_date).num_days();
        let name = dict.customer_by_id(&r.customer).map(|x| x.name_zh.clone()).unwrap_or_default();
        println!(
            "  {:>6} {:>4}d {} {} {} {} due {} paid {} overdue {} {} (due {})",
            bucket(days),
            days,
            r.contract_no,
            r.customer,
            name,
            r.node.label(),
            r.due_amount,
            r.paid_amount,
            r.outstanding(),
            r.currency,
            r.due_date
        );
    }
    println!("货好待款 (预付/发货前 unpaid, 未发货/已订舱, goods ready ≤ as-of + 14 d):");
    for r in d.receivables.iter().filter(|r| {
        matches!(r.node, PaymentNode::Prepay | PaymentNode::BeforeShipment)
            && r.paid_amount < r.due_amount
            && matches!(r.shipping, ShippingStatus::NotShipped | ShippingStatus::Booked)
            && r.goods_ready.is_some_and(|g| (g - as_of).num_days() <= 14)
    }) {
        let g = r.goods_ready.unwrap_or(as_of);
        let name = dict.customer_by_id(&r.customer).map(|x| x.name_zh.clone()).unwrap_or_default();
        println!(
            "  {} {} {} {} missing {} {} goods ready {} ({} days from as-of) {}",
            r.contract_no,
            r.customer,
            name,
            r.node.label(),
            r.outstanding(),
            r.currency,
            g,
            (g - as_of).num_days(),
            r.shipping.label()
        );
    }
    println!("outstanding vs credit limit (customers with outstanding):");
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in d.receivables.iter().filter(|r| r.paid_amount < r.due_amount) {
        *out.entry(r.customer.clone()).or_default() += r.outstanding();
    }
    for (c, o) in &out {
        let cu = dict.customer_by_id(c);
        let limit: Decimal =
            cu.and_then(|x| x.credit_limit.as_deref()).and_then(|s| s.parse().ok()).unwrap_or_default();
        let cur = cu.map(|x| x.currency.clone()).unwrap_or_default();
        let flag = if *o > limit { "  <-- OVER LIMIT" } else { "" };
        println!(
            "  {c} {} outstanding {o} {cur} / limit {limit} ({}){flag}",
            cu.map(|x| x.name_zh.as_str()).unwrap_or(""),
            pct(*o, limit)
        );
    }
    let buyers_end: BTreeSet<_> = d.sales.iter().filter(|r| r.month == end).map(|r| r.customer.clone()).collect();
    let anomalies: BTreeSet<_> = overdue
        .iter()
        .filter(|r| (as_of - r.due_date).num_days() > 90 && buyers_end.contains(&r.customer))
        .map(|r| r.customer.clone())
        .collect();
    println!("customers with an installment overdue > 90 days and sales in {end}: {anomalies:?}");
    let dev_buyers: Vec<_> = customers
        .iter()
        .filter(|c| dict.customer_by_id(c).is_some_and(|x| x.status == lodestar_dict::CustomerStatus::Developing))
        .collect();
    println!("开发中 customers with sales: {dev_buyers:?}");
    for c in dict.customers.iter().filter(|c| c.status == lodestar_dict::CustomerStatus::Paused) {
        let last = d.sales.iter().filter(|r| r.customer == c.id).map(|r| r.month).max();
        println!("暂停 {} {} last sales month {:?}", c.id, c.name_zh, last.map(|m| m.to_string()));
    }
    // fx end month
    for cur in lodestar_demo::FX_CURRENCIES {
        println!("fx {end} {cur} = {:?}", d.fx_rate(end, cur));
    }
}
