//! Receivable and customer risk rules (风险提醒): 回款逾期, 货好待款, 信用异常, 开发停滞.
//!
//! Every alert names the customer (canonical id and names), the contract where there is one, the
//! amounts, the rule that fired (id + Chinese description) and the thresholds it used. Alerts are
//! reminders for people, never decisions.

use crate::engine::parse_dec;
use crate::Result;
use chrono::NaiveDate;
use lodestar_core::config::Config;
use lodestar_core::text::norm_key;
use lodestar_core::{Month, Principal, Sensitivity};
use lodestar_dict::{Customer, CustomerStatus, Dictionaries};
use lodestar_store::rusqlite::{types::ValueRef, OptionalExtension};
use lodestar_store::Store;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// Stable id: `overdue`, `shipment_at_risk`, `credit_over_limit`, `credit_overdue_while_buying`,
    /// `stalled_development`.
    pub id: String,
    /// What the rule says, in Chinese.
    pub description_zh: String,
}

fn rule(id: &str, description_zh: String) -> RuleRef {
    RuleRef { id: id.into(), description_zh }
}

/// A customer as an alert names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRef {
    /// Canonical id (`C001`), or the name as imported when no dictionary knows it.
    pub id: String,
    /// Chinese name (empty when unknown).
    pub name_zh: String,
    /// English name (empty when unknown).
    pub name_en: String,
    /// `false` when no dictionary knows the customer (`id` is then the name as imported).
    pub resolved: bool,
    /// The customer's owner (负责人) from the customer dictionary: staff id and name.
    #[serde(default)]
    pub owner: Option<String>,
    /// The owner's name from the staff dictionary.
    #[serde(default)]
    pub owner_name: Option<String>,
}

impl CustomerRef {
    fn known(c: &lodestar_dict::Customer, dicts: &Dictionaries) -> Self {
        let owner = Some(c.owner.clone()).filter(|o| !o.is_empty());
        let owner_name = owner.as_deref().and_then(|o| dicts.staff_by_id(o)).map(|s| s.name.clone());
        CustomerRef {
            id: c.id.clone(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
            resolved: true,
            owner,
            owner_name,
        }
    }
}

/// 回款逾期: an installment past its due date and not fully paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverdueAlert {
    /// The rule that fired (`overdue`).
    pub rule: RuleRef,
    /// The customer the installment is owed by.
    pub customer: CustomerRef,
    /// Country code of the contract (the name as imported when no dictionary knows it).
    pub country: String,
    /// Null for a user below the contract field's sensitivity.
    pub contract_no: Option<String>,
    /// 付款节点: the installment's payment stage (预付 / 发货前 / 见提单 / 发货后).
    pub payment_node: String,
    /// Currency of the amounts.
    pub currency: String,
    /// Amounts are null for a user below the receivables field's sensitivity (see `masked`).
    pub due_amount: Option<Decimal>,
    /// 已回款金额: paid so far.
    pub paid_amount: Option<Decimal>,
    /// 逾期金额 = due − paid.
    pub overdue_amount: Option<Decimal>,
    /// 约定回款日期: the agreed due date.
    pub due_date: NaiveDate,
    /// as-of − due date.
    pub days_overdue: i64,
    /// `1-30`, `31-60`, `61-90`, `91-180`, `>180`.
    pub bucket: String,
    /// The thresholds the rule applied (overdue buckets, credit-overdue days), as JSON.
    pub thresholds: serde_json::Value,
}

/// 货好待款: goods ready (or about to be) while the payment due before shipment is incomplete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentAlert {
    /// The rule that fired (`shipment_at_risk`).
    pub rule: RuleRef,
    /// The customer the payment is owed by.
    pub customer: CustomerRef,
    /// Country code of the contract (the name as imported when no dictionary knows it).
    pub country: String,
    /// Null for a user below the contract field's sensitivity.
    pub contract_no: Option<String>,
    /// 付款节点 of the incomplete payment (one due before shipment).
    pub payment_node: String,
    /// 发货状态 as imported (未发货 / 已订舱 …).
    pub shipping_status: String,
    /// Currency of the amounts.
    pub currency: String,
    /// Amounts are null for a user below the receivables field's sensitivity (see `masked`).
    pub due_amount: Option<Decimal>,
    /// 已回款金额: paid so far.
    pub paid_amount: Option<Decimal>,
    /// 缺款 = due − paid.
    pub missing_amount: Option<Decimal>,
    /// 货好日期: when the goods are (or were) ready.
    pub goods_ready_date: NaiveDate,
    /// goods-ready − as-of: positive = days to go, negative = days since goods were ready.
    pub days_to_goods_ready: i64,
    /// The thresholds the rule applied (`shipment_window_days`), as JSON.
    pub thresholds: serde_json::Value,
}

/// 信用异常: outstanding above the credit limit, or long overdue while still buying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditAlert {
    /// The rule that fired (`credit_over_limit` or `credit_overdue_while_buying`).
    pub rule: RuleRef,
    /// The customer concerned.
    pub customer: CustomerRef,
    /// Currency of `outstanding` (USD when converted).
    pub currency: String,
    /// 未回款余额 = Σ (due − paid) over unpaid installments; null below the credit field's
    /// sensitivity (as are the limit and the overdue amount).
    pub outstanding: Option<Decimal>,
    /// 信用额度 from the customer dictionary.
    pub credit_limit: Option<Decimal>,
    /// Currency of the credit limit.
    pub credit_currency: Option<String>,
    /// The contract of the long-overdue installment (rule `credit_overdue_while_buying`).
    pub contract_no: Option<String>,
    /// Days the long-overdue installment is past due (rule `credit_overdue_while_buying`).
    pub days_overdue: Option<i64>,
    /// Amount still owed on that installment.
    pub overdue_amount: Option<Decimal>,
    /// How currencies were converted, when they were.
    pub note: Option<String>,
    /// The thresholds the rule applied (credit limit, overdue days, sales month), as JSON.
    pub thresholds: serde_json::Value,
}

/// 开发停滞: a 开发中 customer without recent activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StalledAlert {
    /// The rule that fired (`stalled_development`).
    pub rule: RuleRef,
    /// The customer in development.
    pub customer: CustomerRef,
    /// The customer's status label (`开发中`).
    pub status: String,
    /// Latest activity date; null when there was none at all.
    pub last_activity: Option<NaiveDate>,
    /// `sales`, `payment`, `ledger`, `knowledge`.
    pub last_activity_kind: Option<String>,
    /// Days from the latest activity to the as-of date; null without any activity.
    pub days_since_activity: Option<i64>,
    /// The thresholds the rule applied (`stalled_days`), as JSON.
    pub thresholds: serde_json::Value,
}

/// Totals of one overdue bucket.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BucketTotal {
    /// Overdue installments in the bucket.
    pub count: usize,
    /// Overdue amount per currency.
    pub by_currency: BTreeMap<String, Decimal>,
    /// Sum in USD (fx rate of the as-of month, else the latest earlier month); null without rates.
    pub amount_usd: Option<Decimal>,
    /// How the USD sum was converted (fx months used), or why it is null.
    pub reason: Option<String>,
}

/// A group left out because the principal may not see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    /// The alert group (`overdue`, `shipment_at_risk` …) or the field (`contract_no`) concerned.
    pub group: String,
    /// Why, in Chinese (the clearance the principal lacks).
    pub reason: String,
}

/// All alerts as of a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    /// The date the alerts are computed for.
    pub as_of: NaiveDate,
    /// 回款逾期: overdue installments.
    pub overdue: Vec<OverdueAlert>,
    /// Keys `1-30`, `31-60`, `61-90`, `91-180`, `>180`.
    pub overdue_buckets: BTreeMap<String, BucketTotal>,
    /// 货好待款: goods ready while payment before shipment is missing.
    pub shipment_at_risk: Vec<ShipmentAlert>,
    /// 信用异常: over the credit limit, or long overdue while still buying.
    pub credit_anomaly: Vec<CreditAlert>,
    /// 开发停滞: 开发中 customers without recent activity.
    pub stalled_development: Vec<StalledAlert>,
    /// Groups not shown to this principal, with the reason.
    pub withheld: Vec<Withheld>,
    /// Groups shown without their amounts (and contract numbers), with the reason.
    #[serde(default)]
    pub masked: Vec<Withheld>,
    /// Rows skipped or comparisons not made, with the reason.
    pub notes: Vec<String>,
}

/// Overdue bucket label of a number of days (≥ 1).
pub fn bucket_of(days: i64) -> &'static str {
    match days {
        i64::MIN..=30 => "1-30",
        31..=60 => "31-60",
        61..=90 => "61-90",
        91..=180 => "91-180",
        _ => ">180",
    }
}

/// The overdue bucket labels, least overdue first (the labels [`bucket_of`] returns).
pub const BUCKETS: [&str; 5] = ["1-30", "31-60", "61-90", "91-180", ">180"];

#[derive(Debug, Clone)]
struct Installment {
    contract_no: String,
    customer_raw: String,
    country_raw: String,
    currency: String,
    payment_node: String,
    due: Decimal,
    paid: Decimal,
    due_date: Option<NaiveDate>,
    paid_date: Option<NaiveDate>,
    goods_ready: Option<NaiveDate>,
    shipping_status: String,
}

fn txt(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Text(b) => String::from_utf8_lossy(b).trim().to_string(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        _ => String::new(),
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let t = t.get(..10).unwrap_or(t);
    NaiveDate::parse_from_str(t, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(t, "%Y/%m/%d")).ok()
}

fn customer_ref<'d>(d: &'d Dictionaries, raw: &str, country_raw: &str) -> (CustomerRef, Option<&'d Customer>) {
    let cands = d.customer_candidates(raw);
    let hit = match cands.as_slice() {
        [one] => Some(*one),
        [] => None,
        many => {
            let cc = d.resolve_country(country_raw).map(|c| c.code.clone()).unwrap_or_default();
            let v: Vec<&&Customer> = many.iter().filter(|c| c.country == cc).collect();
            if v.len() == 1 {
                Some(*v[0])
            } else {
                None
            }
        }
    };
    match hit {
        Some(c) => (CustomerRef::known(c, d), Some(c)),
        None => (
            CustomerRef {
                id: raw.to_string(),
                name_zh: raw.to_string(),
                name_en: raw.to_string(),
                resolved: false,
                owner: None,
                owner_name: None,
            },
            None,
        ),
    }
}

fn norm_cur(s: &str) -> String {
    let c = s.trim().to_ascii_uppercase();
    match c.as_str() {
        "" | "$" | "US$" => "USD".into(),
        "RMB" => "CNY".into(),
        _ => c,
    }
}

/// fx rates: currency → (month, rate), sorted by month.
struct Fx(HashMap<String, Vec<(Month, Decimal)>>);

impl Fx {
    fn load(store: &Store) -> Result<Self> {
        let mut m: HashMap<String, Vec<(Month, Decimal)>> = HashMap::new();
        let mut st = store.conn().prepare("SELECT month, currency, usd_rate FROM fx_active")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let (Ok(month), Some(rate)) = (txt(r.get_ref(0)?).parse::<Month>(), parse_dec(&txt(r.get_ref(2)?))) else {
                continue;
            };
            m.entry(norm_cur(&txt(r.get_ref(1)?))).or_default().push((month, rate));
        }
        for v in m.values_mut() {
            v.sort_by_key(|x| x.0);
        }
        Ok(Self(m))
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// USD per unit at `month`, else the latest earlier month.
    fn rate(&self, cur: &str, month: Month) -> Option<(Decimal, Month)> {
        if cur == "USD" {
            return Some((Decimal::ONE, month));
        }
        self.0.get(cur)?.iter().rev().find(|(m, _)| *m <= month).map(|(m, r)| (*r, *m))
    }
}

fn forbidden(p: &Principal, needed: Sensitivity, what: &str) -> String {
    format!("{}（密级 {}）无权查看{}：需要 {} 及以上", p.name, p.clearance, what, needed)
}

/// Runs every risk rule as of `as_of` with the thresholds and field sensitivities of `config`.
/// A principal below the sales sensitivity gets every group empty, listed in `withheld`; below the
/// receivables, contract or credit sensitivities, the alerts come without those figures (null), listed in
/// `masked` with the reason.
pub fn alerts(
    store: &Store,
    dicts: &Dictionaries,
    as_of: NaiveDate,
    config: &Config,
    principal: &Principal,
) -> Result<Alerts> {
    let th = &config.alerts;
    let f = &config.fields;
    let mut out = Alerts {
        as_of,
        overdue: Vec::new(),
        overdue_buckets: BUCKETS.iter().map(|b| (b.to_string(), BucketTotal::default())).collect(),
        shipment_at_risk: Vec::new(),
        credit_anomaly: Vec::new(),
        stalled_development: Vec::new(),
        withheld: Vec::new(),
        masked: Vec::new(),
        notes: Vec::new(),
    };
    // Who sees an alert at all: anyone cleared for sales data. Below the receivables, contract or
    // credit sensitivities, the alert is shown without those figures (null, listed in `masked`).
    let see_rows = principal.can_see(f.sales);
    let see_receivables = principal.can_see(f.receivables);
    let see_contract = principal.can_see(f.contract);
    let see_credit = principal.can_see(f.credit) && see_receivables;
    if !see_rows {
        for g in ["overdue", "shipment_at_risk", "credit_anomaly", "stalled_development"] {
            out.withheld
                .push(Withheld { group: g.into(), reason: forbidden(principal, f.sales, "销售与回款数据") });
        }
        return Ok(out);
    }

    let installments = load_installments(store, &mut out.notes)?;
    let fx = Fx::load(store)?;
    let as_of_month = Month::of_date(as_of);

    overdue(dicts, &installments, as_of, as_of_month, &fx, th, &mut out);
    shipment(dicts, &installments, as_of, th, &mut out);
    credit(store, dicts, &installments, as_of, as_of_month, &fx, config, &mut out)?;
    stalled(store, dicts, &installments, as_of, th.stalled_days, &mut out)?;

    if !see_receivables {
        let reason = forbidden(principal, f.receivables, "回款金额");
        for a in &mut out.overdue {
            a.due_amount = None;
            a.paid_amount = None;
            a.overdue_amount = None;
        }
        for b in out.overdue_buckets.values_mut() {
            b.by_currency.clear();
            b.amount_usd = None;
            b.reason = Some(reason.clone());
        }
        for a in &mut out.shipment_at_risk {
            a.due_amount = None;
            a.paid_amount = None;
            a.missing_amount = None;
        }
        for g in ["overdue", "shipment_at_risk"] {
            out.masked.push(Withheld { group: g.into(), reason: reason.clone() });
        }
    }
    if !see_contract {
        for a in &mut out.overdue {
            a.contract_no = None;
        }
        for a in &mut out.shipment_at_risk {
            a.contract_no = None;
        }
        for a in &mut out.credit_anomaly {
            a.contract_no = None;
        }
        out.masked
            .push(Withheld { group: "contract_no".into(), reason: forbidden(principal, f.contract, "合同号") });
    }
    if !see_credit {
        for a in &mut out.credit_anomaly {
            a.outstanding = None;
            a.credit_limit = None;
            a.credit_currency = None;
            a.overdue_amount = None;
            a.note = None;
            if let Some(t) = a.thresholds.as_object_mut() {
                t.remove("credit_limit");
                t.remove("credit_currency");
            }
        }
        out.masked.push(Withheld {
            group: "credit_anomaly".into(),
            reason: forbidden(principal, f.credit.max(f.receivables), "信用与回款金额"),
        });
    }
    Ok(out)
}

fn load_installments(store: &Store, notes: &mut Vec<String>) -> Result<Vec<Installment>> {
    let mut st = store.conn().prepare(
        "SELECT id, contract_no, customer, country, currency, payment_node, due_amount, due_date, paid_amount,
                paid_date, goods_ready_date, shipping_status
         FROM receivables_active ORDER BY id",
    )?;
    let mut rows = st.query([])?;
    let mut v = Vec::new();
    while let Some(r) = rows.next()? {
        let row: i64 = r.get(0)?;
        let due_t = txt(r.get_ref(6)?);
        let paid_t = txt(r.get_ref(8)?);
        let Some(due) = parse_dec(&due_t) else {
            notes.push(format!("receivables row {row}: 应回款金额 `{due_t}` is not a number, skipped"));
            continue;
        };
        let paid = if paid_t.is_empty() {
            Decimal::ZERO
        } else {
            match parse_dec(&paid_t) {
                Some(p) => p,
                None => {
                    notes.push(format!("receivables row {row}: 已回款金额 `{paid_t}` is not a number, skipped"));
                    continue;
                }
            }
        };
        let due_date_t = txt(r.get_ref(7)?);
        let due_date = date(&due_date_t);
        if due_date.is_none() && !due_date_t.is_empty() {
            notes.push(format!("receivables row {row}: 约定回款日期 `{due_date_t}` is not a date"));
        }
        v.push(Installment {
            contract_no: txt(r.get_ref(1)?),
            customer_raw: txt(r.get_ref(2)?),
            country_raw: txt(r.get_ref(3)?),
            currency: norm_cur(&txt(r.get_ref(4)?)),
            payment_node: txt(r.get_ref(5)?),
            due,
            paid,
            due_date,
            paid_date: date(&txt(r.get_ref(9)?)),
            goods_ready: date(&txt(r.get_ref(10)?)),
            shipping_status: txt(r.get_ref(11)?),
        });
    }
    Ok(v)
}

fn country_code(d: &Dictionaries, raw: &str) -> String {
    d.resolve_country(raw).map(|c| c.code.clone()).unwrap_or_else(|| raw.to_string())
}

fn overdue(
    d: &Dictionaries,
    inst: &[Installment],
    as_of: NaiveDate,
    as_of_month: Month,
    fx: &Fx,
    th: &lodestar_core::config::AlertThresholds,
    out: &mut Alerts,
) {
    let desc = "回款逾期：约定回款日期早于截止日且已回款少于应回款，逾期金额 = 应回款 − 已回款".to_string();
    let thresholds = serde_json::json!({"buckets_days": BUCKETS, "credit_overdue_days": th.credit_overdue_days});
    for i in inst {
        let Some(due_date) = i.due_date else { continue };
        if due_date >= as_of || i.paid >= i.due {
            continue;
        }
        let days = (as_of - due_date).num_days();
        let amount = i.due - i.paid;
        let bucket = bucket_of(days);
        let b = out.overdue_buckets.entry(bucket.to_string()).or_default();
        b.count += 1;
        *b.by_currency.entry(i.currency.clone()).or_default() += amount;
        out.overdue.push(OverdueAlert {
            rule: rule("overdue", desc.clone()),
            customer: customer_ref(d, &i.customer_raw, &i.country_raw).0,
            country: country_code(d, &i.country_raw),
            contract_no: Some(i.contract_no.clone()),
            payment_node: i.payment_node.clone(),
            currency: i.currency.clone(),
            due_amount: Some(i.due.normalize()),
            paid_amount: Some(i.paid.normalize()),
            overdue_amount: Some(amount.normalize()),
            due_date,
            days_overdue: days,
            bucket: bucket.to_string(),
            thresholds: thresholds.clone(),
        });
    }
    out.overdue.sort_by(|a, b| {
        b.days_overdue
            .cmp(&a.days_overdue)
            .then_with(|| a.contract_no.cmp(&b.contract_no))
            .then(a.due_date.cmp(&b.due_date))
    });
    for b in out.overdue_buckets.values_mut() {
        let mut usd = Decimal::ZERO;
        let mut missing = Vec::new();
        let mut months_used = Vec::new();
        for (cur, amt) in &b.by_currency {
            match fx.rate(cur, as_of_month) {
                Some((r, m)) => {
                    usd += *amt * r;
                    if cur != "USD" {
                        months_used.push(format!("{cur} {m}"));
                    }
                }
                None => missing.push(cur.clone()),
            }
        }
        if missing.is_empty() {
            b.amount_usd = Some(usd.normalize());
            if !months_used.is_empty() {
                b.reason = Some(format!("按汇率折算：{}", months_used.join(", ")));
            }
        } else {
            b.reason = Some(if fx.is_empty() {
                format!("没有汇率表，{} 无法折算美元", missing.join(", "))
            } else {
                format!("缺少 {} 在 {as_of_month} 或之前的对美元汇率", missing.join(", "))
            });
        }
    }
}

fn is_prepay_node(node: &str) -> bool {
    let n = norm_key(node);
    n.contains("预付") || n.contains("发货前") || n == "prepayment" || n == "advance" || n == "before shipment"
}

fn is_unshipped(status: &str) -> bool {
    let s = norm_key(status);
    s.contains("未发货") || s.contains("已订舱") || s == "not shipped" || s == "booked"
}

fn shipment(
    d: &Dictionaries,
    inst: &[Installment],
    as_of: NaiveDate,
    th: &lodestar_core::config::AlertThresholds,
    out: &mut Alerts,
) {
    let n = th.shipment_window_days;
    let desc = format!(
        "货好待款：付款节点为预付/发货前的款项未付清，合同未发货（未发货/已订舱），货好日期在截止日后 {n} 天内或已过"
    );
    let thresholds = serde_json::json!({"shipment_window_days": n});
    for i in inst {
        let Some(ready) = i.goods_ready else { continue };
        if !is_prepay_node(&i.payment_node) || i.paid >= i.due || !is_unshipped(&i.shipping_status) {
            continue;
        }
        let days = (ready - as_of).num_days();
        if days > n {
            continue;
        }
        out.shipment_at_risk.push(ShipmentAlert {
            rule: rule("shipment_at_risk", desc.clone()),
            customer: customer_ref(d, &i.customer_raw, &i.country_raw).0,
            country: country_code(d, &i.country_raw),
            contract_no: Some(i.contract_no.clone()),
            payment_node: i.payment_node.clone(),
            shipping_status: i.shipping_status.clone(),
            currency: i.currency.clone(),
            due_amount: Some(i.due.normalize()),
            paid_amount: Some(i.paid.normalize()),
            missing_amount: Some((i.due - i.paid).normalize()),
            goods_ready_date: ready,
            days_to_goods_ready: days,
            thresholds: thresholds.clone(),
        });
    }
    out.shipment_at_risk.sort_by(|a, b| {
        a.days_to_goods_ready.cmp(&b.days_to_goods_ready).then_with(|| a.contract_no.cmp(&b.contract_no))
    });
}

/// Customers (canonical id, or raw name) with sales rows in `month`.
fn buyers_in_month(store: &Store, d: &Dictionaries, month: Month) -> Result<HashSet<String>> {
    let mut st = store.conn().prepare("SELECT DISTINCT customer, country FROM sales_active WHERE month = ?1")?;
    let mut rows = st.query([month.to_string()])?;
    let mut s = HashSet::new();
    while let Some(r) = rows.next()? {
        s.insert(customer_ref(d, &txt(r.get_ref(0)?), &txt(r.get_ref(1)?)).0.id);
    }
    Ok(s)
}

#[allow(clippy::too_many_arguments)]
fn credit(
    store: &Store,
    d: &Dictionaries,
    inst: &[Installment],
    as_of: NaiveDate,
    as_of_month: Month,
    fx: &Fx,
    config: &Config,
    out: &mut Alerts,
) -> Result<()> {
    let th = &config.alerts;
    // outstanding per customer and currency
    type PerCustomer = (CustomerRef, Option<Customer>, BTreeMap<String, Decimal>);
    let mut outstanding: BTreeMap<String, PerCustomer> = BTreeMap::new();
    for i in inst {
        if i.paid >= i.due {
            continue;
        }
        let (cref, c) = customer_ref(d, &i.customer_raw, &i.country_raw);
        let e = outstanding.entry(cref.id.clone()).or_insert_with(|| (cref, c.cloned(), BTreeMap::new()));
        *e.2.entry(i.currency.clone()).or_default() += i.due - i.paid;
    }
    let over_desc = "信用异常：未回款余额（未付清分期的应回款 − 已回款之和）超过信用额度".to_string();
    for (cref, cust, by_cur) in outstanding.values() {
        let Some(cust) = cust else {
            out.notes.push(format!("{}: 客户不在字典中，无信用额度，未做额度比较", cref.id));
            continue;
        };
        let Some(limit) = cust.credit_limit.as_deref().and_then(parse_dec) else {
            out.notes.push(format!("{} {}: 字典中没有信用额度，未做额度比较", cust.id, cust.name_zh));
            continue;
        };
        let lcur = norm_cur(&cust.currency);
        let thresholds = serde_json::json!({"credit_limit": limit.normalize().to_string(), "credit_currency": lcur});
        let single_same = by_cur.len() == 1 && by_cur.contains_key(&lcur);
        let (amount, currency, limit_cmp, note) = if single_same {
            (by_cur[&lcur], lcur.clone(), limit, None)
        } else {
            // convert everything to USD
            let mut usd = Decimal::ZERO;
            let mut used = Vec::new();
            let mut missing = Vec::new();
            for (cur, a) in
                by_cur.iter().map(|(c, a)| (c.clone(), *a)).chain(std::iter::once((lcur.clone(), Decimal::ZERO)))
            {
                match fx.rate(&cur, as_of_month) {
                    Some((r, m)) => {
                        usd += a * r;
                        if cur != "USD" {
                            used.push(format!("{cur} {m} 汇率 {r}"));
                        }
                    }
                    None => missing.push(cur),
                }
            }
            if !missing.is_empty() {
                out.notes.push(format!(
                    "{} {}: 未回款币种（{}）与信用额度币种 {lcur} 不同，缺少 {} 的汇率，未做额度比较",
                    cust.id,
                    cust.name_zh,
                    by_cur.keys().cloned().collect::<Vec<_>>().join(", "),
                    missing.join(", ")
                ));
                continue;
            }
            let lr = fx.rate(&lcur, as_of_month).map(|x| x.0).unwrap_or(Decimal::ONE);
            used.sort();
            used.dedup();
            (
                usd,
                "USD".to_string(),
                limit * lr,
                Some(format!("币种不同，均按对美元汇率折算后比较：{}", used.join("; "))),
            )
        };
        if amount > limit_cmp {
            out.credit_anomaly.push(CreditAlert {
                rule: rule("credit_over_limit", over_desc.clone()),
                customer: cref.clone(),
                currency,
                outstanding: Some(amount.normalize()),
                credit_limit: Some(limit.normalize()),
                credit_currency: Some(lcur.clone()),
                contract_no: None,
                days_overdue: None,
                overdue_amount: None,
                note,
                thresholds,
            });
        }
    }
    // long overdue while buying this month
    let buyers = buyers_in_month(store, d, as_of_month)?;
    let n = th.credit_overdue_days;
    let desc = format!("信用异常：有分期逾期超过 {n} 天，而客户在截止日所在月份（{as_of_month}）仍有销售");
    for i in inst {
        let Some(due_date) = i.due_date else { continue };
        let days = (as_of - due_date).num_days();
        if i.paid >= i.due || due_date >= as_of || days <= n {
            continue;
        }
        let (cref, cust) = customer_ref(d, &i.customer_raw, &i.country_raw);
        if !buyers.contains(&cref.id) {
            continue;
        }
        out.credit_anomaly.push(CreditAlert {
            rule: rule("credit_overdue_while_buying", desc.clone()),
            customer: cref,
            currency: i.currency.clone(),
            outstanding: Some((i.due - i.paid).normalize()),
            credit_limit: cust.and_then(|c| c.credit_limit.as_deref()).and_then(parse_dec).map(|v| v.normalize()),
            credit_currency: cust.map(|c| norm_cur(&c.currency)),
            contract_no: Some(i.contract_no.clone()),
            days_overdue: Some(days),
            overdue_amount: Some((i.due - i.paid).normalize()),
            note: None,
            thresholds: serde_json::json!({"credit_overdue_days": n, "sales_month": as_of_month.to_string()}),
        });
    }
    out.credit_anomaly.sort_by(|a, b| {
        a.customer
            .id
            .cmp(&b.customer.id)
            .then_with(|| a.rule.id.cmp(&b.rule.id))
            .then_with(|| a.contract_no.cmp(&b.contract_no))
    });
    Ok(())
}

fn table_columns(store: &Store, table: &str) -> Result<Vec<String>> {
    let exists: Option<String> = store
        .conn()
        .query_row("SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name = ?1", [table], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut st = store.conn().prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let cols = st.query_map([], |r| r.get::<_, String>(1))?.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(cols)
}

/// Latest dated mention of each customer in an optional table (ledger items, knowledge documents):
/// reads the text columns it has and the first date column it has. A missing table gives nothing.
fn mentions(
    store: &Store,
    table: &str,
    text_cols: &[&str],
    date_cols: &[&str],
    customers: &[&Customer],
    as_of: NaiveDate,
) -> Result<HashMap<String, NaiveDate>> {
    let cols = table_columns(store, table)?;
    let texts: Vec<&str> = text_cols.iter().copied().filter(|c| cols.iter().any(|x| x == c)).collect();
    let Some(dcol) = date_cols.iter().find(|c| cols.iter().any(|x| x == *c)) else { return Ok(HashMap::new()) };
    if texts.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT \"{dcol}\", {} FROM \"{table}\"",
        texts.iter().map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')")).collect::<Vec<_>>().join(", ")
    );
    let mut st = store.conn().prepare(&sql)?;
    let mut rows = st.query([])?;
    let mut best: HashMap<String, NaiveDate> = HashMap::new();
    let keys: Vec<(String, Vec<String>)> = customers
        .iter()
        .map(|c| {
            let mut names: Vec<String> = c.all_names().map(norm_key).filter(|n| n.chars().count() >= 3).collect();
            names.push(norm_key(&c.id));
            (c.id.clone(), names)
        })
        .collect();
    while let Some(r) = rows.next()? {
        let Some(dt) = date(&txt(r.get_ref(0)?)) else { continue };
        if dt > as_of {
            continue;
        }
        let mut hay = String::new();
        for i in 0..texts.len() {
            hay.push_str(&norm_key(&txt(r.get_ref(i + 1)?)));
            hay.push(' ');
        }
        for (id, names) in &keys {
            if names.iter().any(|n| hay.contains(n.as_str())) {
                let e = best.entry(id.clone()).or_insert(dt);
                if dt > *e {
                    *e = dt;
                }
            }
        }
    }
    Ok(best)
}

fn stalled(
    store: &Store,
    d: &Dictionaries,
    inst: &[Installment],
    as_of: NaiveDate,
    n: i64,
    out: &mut Alerts,
) -> Result<()> {
    let developing: Vec<&Customer> = d.customers.iter().filter(|c| c.status == CustomerStatus::Developing).collect();
    if developing.is_empty() {
        return Ok(());
    }
    let ids: HashSet<&str> = developing.iter().map(|c| c.id.as_str()).collect();
    let mut last: HashMap<String, (NaiveDate, &'static str)> = HashMap::new();
    let mut bump = |id: &str, dt: NaiveDate, kind: &'static str| {
        if !ids.contains(id) || dt > as_of {
            return;
        }
        let e = last.entry(id.to_string()).or_insert((dt, kind));
        if dt > e.0 {
            *e = (dt, kind);
        }
    };
    // sales: the month's last day, capped at the as-of date
    {
        let mut st = store
            .conn()
            .prepare("SELECT customer, country, MAX(month) FROM sales_active GROUP BY customer, country")?;
        let mut rows = st.query([])?;
        let as_of_month = Month::of_date(as_of);
        while let Some(r) = rows.next()? {
            let Ok(m) = txt(r.get_ref(2)?).parse::<Month>() else { continue };
            if m > as_of_month {
                continue;
            }
            let id = customer_ref(d, &txt(r.get_ref(0)?), &txt(r.get_ref(1)?)).0.id;
            bump(&id, m.last_day().min(as_of), "sales");
        }
    }
    for i in inst {
        if let Some(pd) = i.paid_date {
            if i.paid > Decimal::ZERO {
                bump(&customer_ref(d, &i.customer_raw, &i.country_raw).0.id, pd, "payment");
            }
        }
    }
    let ledger = mentions(
        store,
        "ledger_items",
        &["customer", "customers", "customer_id", "title", "text", "content", "description", "task"],
        &["updated_at", "meeting_date", "created_at", "date", "due_date"],
        &developing,
        as_of,
    )?;
    for (id, dt) in ledger {
        bump(&id, dt, "ledger");
    }
    for table in ["kb_documents", "documents", "kb_docs"] {
        let docs = mentions(
            store,
            table,
            &["title", "customer", "customers", "path", "source"],
            &["doc_date", "date", "dated", "document_date"],
            &developing,
            as_of,
        )?;
        for (id, dt) in docs {
            bump(&id, dt, "knowledge");
        }
    }
    let desc = format!("开发停滞：开发中客户的最近一次活动（销售、回款、督办事项、客户资料）早于 {n} 天前，或从无活动");
    for c in developing {
        let la = last.get(&c.id).copied();
        let days = la.map(|(dt, _)| (as_of - dt).num_days());
        if days.is_some_and(|x| x <= n) {
            continue;
        }
        out.stalled_development.push(StalledAlert {
            rule: rule("stalled_development", desc.clone()),
            customer: CustomerRef::known(c, d),
            status: c.status.label().to_string(),
            last_activity: la.map(|x| x.0),
            last_activity_kind: la.map(|x| x.1.to_string()),
            days_since_activity: days,
            thresholds: serde_json::json!({"stalled_days": n}),
        });
    }
    out.stalled_development.sort_by(|a, b| {
        b.days_since_activity
            .unwrap_or(i64::MAX)
            .cmp(&a.days_since_activity.unwrap_or(i64::MAX))
            .then_with(|| a.customer.id.cmp(&b.customer.id))
    });
    Ok(())
}

impl Alerts {
    /// Total count of alerts over all groups.
    pub fn count(&self) -> usize {
        self.overdue.len() + self.shipment_at_risk.len() + self.credit_anomaly.len() + self.stalled_development.len()
    }
}
