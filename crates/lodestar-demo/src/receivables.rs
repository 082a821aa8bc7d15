//! Contracts and their payment installments (合同回款).
//!
//! Every customer-month of sales becomes one shipped contract (合同金额 = that month's sales in the
//! customer's currency) whose installments follow the customer's payment terms; an installment
//! due before the as-of date is paid in full, one due later is open. On top of that, scripted
//! contracts (dates written for the default as-of date 2026-10-31 and shifted with the end month)
//! carry the dossiers' events, the overdue installments of every ageing bucket, the shipments
//! waiting for payment (货好待款) and the credit-limit breach.

use crate::model::{Installment, PaymentNode, ShippingStatus};
use crate::profiles::{Anchor, PROFILES};
use crate::{cents, DemoData, DemoError};
use chrono::{Datelike, Duration, NaiveDate};
use lodestar_core::Month;
use lodestar_dict::Dictionaries;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

use PaymentNode::{AfterShipment as After, AgainstBl as Bol, BeforeShipment as Before, Prepay as Pre};
use ShippingStatus::{Booked, NotShipped, Shipped};

/// A scripted contract; dates are `YYYY-MM-DD` at the default as-of date 2026-10-31.
struct Scripted {
    no: u32,
    customer: &'static str,
    amount: i64,
    terms: &'static str,
    signed: &'static str,
    ready: &'static str,
    status: ShippingStatus,
    /// (node, 应回款, 约定回款日期, 已回款, 实际回款日期)
    parts: &'static [(PaymentNode, i64, &'static str, i64, &'static str)],
}

const DEFAULT_AS_OF: (i32, u32, u32) = (2026, 10, 31);

const SCRIPTED: &[Scripted] = &[
    // ── dossier events (all settled, or settled late) ──
    Scripted {
        no: 412,
        customer: "C001",
        amount: 420_000,
        terms: "30% TT预付，70%见提单副本付款（发提单副本后7个自然日内）",
        signed: "2026-06-30",
        ready: "2026-07-15",
        status: Shipped,
        parts: &[
            (Pre, 126_000, "2026-07-07", 126_000, "2026-07-06"),
            (Bol, 294_000, "2026-07-28", 294_000, "2026-09-03"),
        ],
    },
    Scripted {
        no: 115,
        customer: "C027",
        amount: 120_000,
        terms: "30% TT预付，70%发货后30天内TT",
        signed: "2026-03-20",
        ready: "2026-06-15",
        status: Shipped,
        parts: &[
            (Pre, 36_000, "2026-03-27", 36_000, "2026-03-26"),
            (After, 84_000, "2026-07-28", 84_000, "2026-09-12"),
        ],
    },
    Scripted {
        no: 207,
        customer: "C017",
        amount: 240_000,
        terms: "30% TT预付，70%发货前付清",
        signed: "2026-05-20",
        ready: "2026-07-07",
        status: Shipped,
        parts: &[
            (Pre, 72_000, "2026-05-27", 72_000, "2026-05-27"),
            (Before, 168_000, "2026-07-14", 168_000, "2026-07-19"),
        ],
    },
    Scripted {
        no: 390,
        customer: "C029",
        amount: 58_500,
        terms: "20% TT预付，80%见提单副本付款（欧元结算）",
        signed: "2026-07-25",
        ready: "2026-08-25",
        status: Shipped,
        parts: &[(Pre, 11_700, "2026-08-01", 11_700, "2026-08-01"), (Bol, 46_800, "2026-09-10", 46_800, "2026-09-18")],
    },
    Scripted {
        no: 301,
        customer: "C036",
        amount: 420_000,
        terms: "100%发货前付清（货好通知后7天内，人民币结算）",
        signed: "2026-06-25",
        ready: "2026-08-05",
        status: Shipped,
        parts: &[(Before, 420_000, "2026-08-12", 420_000, "2026-08-20")],
    },
    // ── overdue at the as-of date ──
    // 1–30 days
    Scripted {
        no: 557,
        customer: "C018",
        amount: 280_000,
        terms: "25% TT预付，75%见提单副本付款（7个工作日内）",
        signed: "2026-08-28",
        ready: "2026-09-25",
        status: Shipped,
        parts: &[(Pre, 70_000, "2026-09-04", 70_000, "2026-09-04"), (Bol, 210_000, "2026-10-14", 0, "")],
    },
    Scripted {
        no: 549,
        customer: "C023",
        amount: 150_000,
        terms: "50% TT预付，50%见提单副本后5个工作日内付清",
        signed: "2026-08-20",
        ready: "2026-09-28",
        status: Shipped,
        parts: &[(Pre, 75_000, "2026-08-27", 75_000, "2026-08-27"), (Bol, 75_000, "2026-10-20", 30_000, "2026-10-24")],
    },
    Scripted {
        no: 528,
        customer: "C032",
        amount: 128_000,
        terms: "30% TT预付，70%货物到达塔什干铁路站前付清",
        signed: "2026-08-10",
        ready: "2026-09-10",
        status: Shipped,
        parts: &[(Pre, 38_400, "2026-08-17", 38_400, "2026-08-17"), (After, 89_600, "2026-10-08", 0, "")],
    },
    // 31–60 days
    Scripted {
        no: 455,
        customer: "C001",
        amount: 186_200,
        terms: "30% TT预付，70%见提单副本付款（发提单副本后7个自然日内）",
        signed: "2026-08-12",
        ready: "2026-09-08",
        status: Shipped,
        parts: &[(Pre, 55_860, "2026-08-20", 55_860, "2026-08-19"), (Bol, 130_340, "2026-09-25", 80_000, "2026-10-16")],
    },
    Scripted {
        no: 486,
        customer: "C039",
        amount: 96_000,
        terms: "30% TT预付，70%见提单副本付款",
        signed: "2026-07-22",
        ready: "2026-08-26",
        status: Shipped,
        parts: &[(Pre, 28_800, "2026-07-29", 28_800, "2026-07-29"), (Bol, 67_200, "2026-09-10", 20_000, "2026-09-29")],
    },
    // 61–90 days
    Scripted {
        no: 437,
        customer: "C008",
        amount: 520_000,
        terms: "20% TT预付，80%提单日后45天TT",
        signed: "2026-05-28",
        ready: "2026-06-24",
        status: Shipped,
        parts: &[
            (Pre, 104_000, "2026-06-04", 104_000, "2026-06-04"),
            (After, 416_000, "2026-08-20", 300_000, "2026-09-15"),
        ],
    },
    Scripted {
        no: 392,
        customer: "C026",
        amount: 64_000,
        terms: "30% TT预付，70%发货后30天",
        signed: "2026-05-20",
        ready: "2026-06-20",
        status: Shipped,
        parts: &[(Pre, 19_200, "2026-05-26", 19_200, "2026-05-26"), (After, 44_800, "2026-08-05", 0, "")],
    },
    // 91–180 days: Kazan still buys in the end month (信用异常); Ararat defaulted on its repayment plan
    Scripted {
        no: 251,
        customer: "C010",
        amount: 9_600_000,
        terms: "30%预付，70%发货后30天（卢布结算）",
        signed: "2026-03-30",
        ready: "2026-05-05",
        status: Shipped,
        parts: &[
            (Pre, 2_880_000, "2026-04-06", 2_880_000, "2026-04-06"),
            (After, 6_720_000, "2026-06-20", 4_000_000, "2026-07-15"),
        ],
    },
    Scripted {
        no: 88,
        customer: "C028",
        amount: 191_000,
        terms: "原：30%预付，70%见提单副本付款；2026-02起欠款57,400美元分4期（每月14,350美元）偿还，现行100%预付",
        signed: "2025-06-18",
        ready: "2025-08-28",
        status: Shipped,
        parts: &[
            (Pre, 57_300, "2025-06-25", 57_300, "2025-06-24"),
            (Bol, 76_300, "2025-09-30", 76_300, "2025-10-20"),
            (Bol, 14_350, "2026-03-31", 14_350, "2026-03-30"),
            (Bol, 14_350, "2026-04-30", 14_350, "2026-05-06"),
            (Bol, 14_350, "2026-05-31", 0, ""),
            (Bol, 14_350, "2026-06-30", 0, ""),
        ],
    },
    // > 180 days
    Scripted {
        no: 318,
        customer: "C011",
        amount: 288_000,
        terms: "30%预付，70%发货后60天",
        signed: "2025-08-20",
        ready: "2025-10-10",
        status: Shipped,
        parts: &[
            (Pre, 86_400, "2025-08-27", 86_400, "2025-08-26"),
            (After, 201_600, "2025-12-20", 115_200, "2026-02-10"),
        ],
    },
    Scripted {
        no: 77,
        customer: "C038",
        amount: 52_000,
        terms: "50% TT预付，50%见提单副本付款",
        signed: "2026-01-20",
        ready: "2026-02-25",
        status: Shipped,
        parts: &[(Pre, 26_000, "2026-01-27", 26_000, "2026-01-27"), (Bol, 26_000, "2026-03-15", 0, "")],
    },
    // ── 货好待款: advance / before-shipment money missing, goods ready within 14 days or passed ──
    Scripted {
        no: 590,
        customer: "C017",
        amount: 252_000,
        terms: "30% TT预付，70%发货前付清",
        signed: "2026-09-15",
        ready: "2026-10-24",
        status: Booked,
        parts: &[(Pre, 75_600, "2026-09-22", 75_600, "2026-09-20"), (Before, 176_400, "2026-10-31", 0, "")],
    },
    Scripted {
        no: 602,
        customer: "C036",
        amount: 1_260_000,
        terms: "100%发货前付清（货好通知后7天内，人民币结算）",
        signed: "2026-10-02",
        ready: "2026-11-07",
        status: NotShipped,
        parts: &[(Before, 1_260_000, "2026-11-14", 0, "")],
    },
    Scripted {
        no: 588,
        customer: "C002",
        amount: 180_000,
        terms: "30% TT预付，70%发货前付清（货好通知后10天内）",
        signed: "2026-09-26",
        ready: "2026-11-12",
        status: NotShipped,
        parts: &[(Pre, 54_000, "2026-10-03", 54_000, "2026-10-02"), (Before, 126_000, "2026-11-22", 0, "")],
    },
    Scripted {
        no: 575,
        customer: "C004",
        amount: 14_400_000,
        terms: "50%预付，50%发货前付清（卢布结算）",
        signed: "2026-09-18",
        ready: "2026-10-20",
        status: Booked,
        parts: &[
            (Pre, 7_200_000, "2026-09-25", 7_200_000, "2026-09-24"),
            (Before, 7_200_000, "2026-10-27", 3_000_000, "2026-10-29"),
        ],
    },
    // ── credit limit: 阿尔泰矿业's November lot of giant tyres, booked, 90 % open → above 1,500,000 USD ──
    Scripted {
        no: 566,
        customer: "C016",
        amount: 660_000,
        terms: "10% TT预付，90%货到矿山验收后60天内TT",
        signed: "2026-09-10",
        ready: "2026-10-26",
        status: Booked,
        parts: &[(Pre, 66_000, "2026-09-17", 66_000, "2026-09-16"), (After, 594_000, "2027-01-29", 0, "")],
    },
    // ── look-alikes that must NOT alert ──
    // goods ready 25 days out (outside the 14-day window)
    Scripted {
        no: 596,
        customer: "C005",
        amount: 210_000,
        terms: "40% TT预付，60%发货前付清",
        signed: "2026-10-26",
        ready: "2026-11-25",
        status: NotShipped,
        parts: &[(Pre, 84_000, "2026-11-02", 0, ""), (Before, 126_000, "2026-12-02", 0, "")],
    },
    // paid in full before goods-ready
    Scripted {
        no: 571,
        customer: "C019",
        amount: 118_000,
        terms: "100%发货前TT付清",
        signed: "2026-09-20",
        ready: "2026-10-28",
        status: Booked,
        parts: &[(Before, 118_000, "2026-10-30", 118_000, "2026-10-29")],
    },
    // Sibir's next winter lot: advance paid, balance against B/L (no alert: 见提单 node)
    Scripted {
        no: 561,
        customer: "C001",
        amount: 240_000,
        terms: "30% TT预付，70%见提单副本付款（发提单副本后7个自然日内）",
        signed: "2026-10-15",
        ready: "2026-11-20",
        status: NotShipped,
        parts: &[(Pre, 72_000, "2026-10-22", 72_000, "2026-10-21"), (Bol, 168_000, "2026-12-05", 0, "")],
    },
];

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(crate) fn generate(
    dict: &Dictionaries,
    rng: &mut ChaCha8Rng,
    data: &DemoData,
) -> Result<Vec<Installment>, DemoError> {
    let as_of = data.as_of;
    let default_as_of = NaiveDate::from_ymd_opt(DEFAULT_AS_OF.0, DEFAULT_AS_OF.1, DEFAULT_AS_OF.2).unwrap_or(as_of);
    let shift = as_of - default_as_of;
    let shifted = |s: &str| -> Result<NaiveDate, DemoError> {
        parse_date(s).map(|d| d + shift).ok_or_else(|| DemoError::Profile(format!("bad scripted date {s}")))
    };

    // One shipped contract per customer-month of sales.
    let mut monthly: BTreeMap<(String, Month), Decimal> = BTreeMap::new();
    for r in &data.sales {
        *monthly.entry((r.customer.clone(), r.month)).or_default() += r.amount;
    }
    struct Draft {
        customer: String,
        signed: NaiveDate,
        rows: Vec<Installment>,
    }
    let mut drafts: Vec<Draft> = Vec::new();
    for ((customer, month), amount) in &monthly {
        let Some(profile) = PROFILES.iter().find(|p| p.id == customer) else { continue };
        let Some(cust) = dict.customer_by_id(customer) else { continue };
        let bl = month.first_day() + Duration::days(rng.random_range(5..=25));
        let ready = bl - Duration::days(rng.random_range(8..=15));
        let signed = ready - Duration::days(rng.random_range(30..=45));
        let mut rows = Vec::new();
        let mut left = *amount;
        let parts = profile.terms.parts;
        for (i, (node, pct, anchor, days)) in parts.iter().enumerate() {
            let due_amount = if i + 1 == parts.len() {
                left
            } else {
                cents(amount.to_f64().unwrap_or(0.0) * f64::from(*pct) / 100.0)
            };
            left -= due_amount;
            let mut due = match anchor {
                Anchor::Signed => signed,
                Anchor::GoodsReady => ready,
                Anchor::BillOfLading => bl,
            } + Duration::days(*days);
            if *node == PaymentNode::BeforeShipment && due >= bl {
                due = bl - Duration::days(1);
            }
            let late = rng.random_range(-4..=5);
            let (paid_amount, paid_date) = if due < as_of {
                let d = (due + Duration::days(late)).clamp(signed, as_of);
                (due_amount, Some(d))
            } else {
                (Decimal::ZERO, None)
            };
            rows.push(Installment {
                contract_no: String::new(),
                customer: customer.clone(),
                country: cust.country.clone(),
                currency: cust.currency.clone(),
                contract_amount: *amount,
                payment_terms: profile.terms.text.to_string(),
                node: *node,
                due_amount,
                due_date: due,
                paid_amount,
                paid_date,
                goods_ready: Some(ready),
                shipping: Shipped,
            });
        }
        drafts.push(Draft { customer: customer.clone(), signed, rows });
    }

    // Contract numbers: one sequence per signing year, in signing order, skipping scripted numbers.
    let mut reserved: BTreeSet<(i32, u32)> = BTreeSet::new();
    for s in SCRIPTED {
        reserved.insert((shifted(s.signed)?.year(), s.no));
    }
    drafts.sort_by(|a, b| (a.signed, &a.customer).cmp(&(b.signed, &b.customer)));
    let mut counters: BTreeMap<i32, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for mut d in drafts {
        let year = d.signed.year();
        let step: u32 = rng.random_range(1..=2);
        let c = counters.entry(year).or_insert(0);
        *c += step;
        while reserved.contains(&(year, *c)) {
            *c += 1;
        }
        let country = d.rows.first().map(|r| r.country.clone()).unwrap_or_default();
        let no = format!("BC-{country}-{year}-{:04}", *c);
        for r in &mut d.rows {
            r.contract_no = no.clone();
        }
        out.extend(d.rows);
    }

    for s in SCRIPTED {
        let Some(cust) = dict.customer_by_id(s.customer) else {
            return Err(DemoError::Profile(format!("scripted contract for unknown customer {}", s.customer)));
        };
        let signed = shifted(s.signed)?;
        let no = format!("BC-{}-{}-{:04}", cust.country, signed.year(), s.no);
        let ready = shifted(s.ready)?;
        for (node, due, due_date, paid, paid_date) in s.parts {
            out.push(Installment {
                contract_no: no.clone(),
                customer: cust.id.clone(),
                country: cust.country.clone(),
                currency: cust.currency.clone(),
                contract_amount: Decimal::from(s.amount),
                payment_terms: s.terms.to_string(),
                node: *node,
                due_amount: Decimal::from(*due),
                due_date: shifted(due_date)?,
                paid_amount: Decimal::from(*paid),
                paid_date: if paid_date.is_empty() { None } else { Some(shifted(paid_date)?) },
                goods_ready: Some(ready),
                shipping: s.status,
            });
        }
    }
    out.sort_by(|a, b| (&a.contract_no, a.due_date, a.node.label()).cmp(&(&b.contract_no, b.due_date, b.node.label())));
    Ok(out)
}
