//! Fixture helpers: an in-memory store with rows inserted directly (one import batch).
#![allow(dead_code)]

use lodestar_store::rusqlite::params;
use lodestar_store::Store;

/// (month, country, customer, category, spec, quantity, amount, currency, owner)
pub type Sale<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);
/// (month, country, category, customer, target_quantity, target_amount, currency)
pub type Target<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);

pub fn store() -> Store {
    let s = Store::open_in_memory().unwrap();
    s.conn()
        .execute(
            "INSERT INTO import_batches(id, file_name, content_hash, imported_at, imported_by) VALUES (1, 'fixture.xlsx', 'h', '2026-10-01T00:00:00Z', 'test')",
            [],
        )
        .unwrap();
    s
}

pub fn add_sales(s: &Store, rows: &[Sale<'_>]) {
    for r in rows {
        s.conn()
            .execute(
                "INSERT INTO sales(batch_id, month, country, customer, category, spec, quantity, amount, currency, owner)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8],
            )
            .unwrap();
    }
}

pub fn add_targets(s: &Store, rows: &[Target<'_>]) {
    for r in rows {
        s.conn()
            .execute(
                "INSERT INTO targets(batch_id, month, country, category, customer, target_quantity, target_amount, currency)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.0, r.1, r.2, r.3, r.4, r.5, r.6],
            )
            .unwrap();
    }
}

pub fn add_fx(s: &Store, rows: &[(&str, &str, &str)]) {
    for r in rows {
        s.conn()
            .execute("INSERT INTO fx(batch_id, month, currency, usd_rate) VALUES (1, ?1, ?2, ?3)", params![r.0, r.1, r.2])
            .unwrap();
    }
}

/// One receivable installment.
pub struct Inst<'a> {
    pub contract: &'a str,
    pub customer: &'a str,
    pub country: &'a str,
    pub currency: &'a str,
    pub node: &'a str,
    pub due: &'a str,
    pub due_date: &'a str,
    pub paid: &'a str,
    pub paid_date: Option<&'a str>,
    pub goods_ready: Option<&'a str>,
    pub shipping: &'a str,
}

pub fn add_receivables(s: &Store, rows: &[Inst<'_>]) {
    for r in rows {
        s.conn()
            .execute(
                "INSERT INTO receivables(batch_id, contract_no, customer, country, currency, payment_node, due_amount, due_date,
                   paid_amount, paid_date, goods_ready_date, shipping_status)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    r.contract,
                    r.customer,
                    r.country,
                    r.currency,
                    r.node,
                    r.due,
                    r.due_date,
                    r.paid,
                    r.paid_date,
                    r.goods_ready,
                    r.shipping
                ],
            )
            .unwrap();
    }
}

pub fn dicts() -> lodestar_dict::Dictionaries {
    lodestar_dict::Dictionaries::builtin().unwrap()
}
