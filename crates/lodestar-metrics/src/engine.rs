//! The metrics engine: loads active rows once (names resolved through the dictionaries, each
//! distinct raw value once), pre-aggregates them, and answers [`MetricQuery`]s.

use crate::types::*;
use crate::{MetricsError, Result};
use lodestar_core::config::FieldSensitivity;
use lodestar_core::text::norm_key;
use lodestar_core::{Month, Period, Principal};
use lodestar_dict::{Dictionaries, NameKind};
use lodestar_store::rusqlite::{self, types::ValueRef};
use lodestar_store::Store;
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

pub(crate) const NDIM: usize = 6;
const NONE_ID: u32 = u32::MAX;
const USD: u16 = 0;

/// One value of a dimension as the engine knows it.
#[derive(Debug, Clone)]
struct Member {
    code: String,
    name_zh: String,
    name_en: String,
    resolved: bool,
}

/// Interned members of one dimension.
#[derive(Debug, Clone, Default)]
struct Catalog {
    members: Vec<Member>,
    /// `c:CODE` for dictionary entries, `r:raw` for names no dictionary knows.
    ix: HashMap<String, u32>,
}

impl Catalog {
    fn intern(&mut self, key: String, make: impl FnOnce() -> Member) -> u32 {
        if let Some(&i) = self.ix.get(&key) {
            return i;
        }
        let i = self.members.len() as u32;
        self.members.push(make());
        self.ix.insert(key, i);
        i
    }
    fn part(&self, dim: Dim, id: u32) -> ScopePart {
        match self.members.get(id as usize) {
            Some(m) => ScopePart {
                dim,
                code: m.code.clone(),
                name_zh: m.name_zh.clone(),
                name_en: m.name_en.clone(),
                resolved: m.resolved,
            },
            None => ScopePart {
                dim,
                code: String::new(),
                name_zh: "未知".into(),
                name_en: "unknown".into(),
                resolved: false,
            },
        }
    }
}

/// Sales pre-aggregated by (month, scope ids, currency).
#[derive(Debug, Clone)]
struct Fact {
    month: i32,
    ids: [u32; NDIM],
    cur: u16,
    qty: Decimal,
    amount: Decimal,
}

/// One target row, with the dimensions it is set on (`NONE_ID` where the row is coarser).
#[derive(Debug, Clone)]
struct TargetFact {
    month: i32,
    ids: [u32; NDIM],
    /// bit 0: category set; bit 1: customer set.
    grain: u8,
    cur: u16,
    qty: Option<Decimal>,
    amount: Option<Decimal>,
}

#[derive(Debug, Clone)]
enum CustRes {
    One {
        id: u32,
        owner: u32,
    },
    /// Several dictionary customers share the name: pick by the row's country.
    Many(Vec<(String, u32, u32)>),
    Unresolved {
        id: u32,
    },
}

/// Load-time name resolution with a cache per distinct raw value.
struct Resolver<'a> {
    d: &'a Dictionaries,
    cats: [Catalog; NDIM],
    country: HashMap<String, (u32, u32, String)>,
    category: HashMap<String, u32>,
    spec: HashMap<String, u32>,
    customer: HashMap<String, CustRes>,
    staff: HashMap<String, u32>,
    months: HashMap<String, i32>,
    currencies: Vec<String>,
    cur_ix: HashMap<String, u16>,
}

fn staff_name_en(s: &lodestar_dict::Staff) -> String {
    s.aliases
        .iter()
        .find(|a| a.contains(' ') && a.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '.'))
        .cloned()
        .unwrap_or_else(|| s.name.clone())
}

impl<'a> Resolver<'a> {
    fn new(d: &'a Dictionaries) -> Self {
        let mut r = Self {
            d,
            cats: Default::default(),
            country: HashMap::new(),
            category: HashMap::new(),
            spec: HashMap::new(),
            customer: HashMap::new(),
            staff: HashMap::new(),
            months: HashMap::new(),
            currencies: Vec::new(),
            cur_ix: HashMap::new(),
        };
        r.currency("USD");
        r
    }

    fn unknown(dim: Dim, raw: &str) -> Member {
        if raw.trim().is_empty() {
            let (zh, en) = match dim {
                Dim::Owner => ("未指定", "unassigned"),
                Dim::Region => ("未知区域", "unknown region"),
                _ => ("未知", "unknown"),
            };
            Member { code: String::new(), name_zh: zh.into(), name_en: en.into(), resolved: false }
        } else {
            Member { code: raw.trim().into(), name_zh: raw.trim().into(), name_en: raw.trim().into(), resolved: false }
        }
    }

    fn raw_member(&mut self, dim: Dim, raw: &str) -> u32 {
        self.cats[dim.index()].intern(format!("r:{}", norm_key(raw)), || Self::unknown(dim, raw))
    }

    fn region_id(&mut self, code: &str) -> u32 {
        let d = self.d;
        match d.resolve_region(code) {
            Some(r) => self.cats[Dim::Region.index()].intern(format!("c:{}", r.code), || Member {
                code: r.code.clone(),
                name_zh: r.name_zh.clone(),
                name_en: r.name_en.clone(),
                resolved: true,
            }),
            None => self.raw_member(Dim::Region, code),
        }
    }

    /// (region id, country id, country code).
    fn country(&mut self, raw: &str) -> (u32, u32, String) {
        if let Some(v) = self.country.get(raw) {
            return v.clone();
        }
        let d = self.d;
        let v = match d.resolve_country(raw) {
            Some(c) => {
                let region = self.region_id(&c.region);
                let id = self.cats[Dim::Country.index()].intern(format!("c:{}", c.code), || Member {
                    code: c.code.clone(),
                    name_zh: c.name_zh.clone(),
                    name_en: c.name_en.clone(),
                    resolved: true,
                });
                (region, id, c.code.clone())
            }
            None => {
                let region = self.raw_member(Dim::Region, "");
                (region, self.raw_member(Dim::Country, raw), String::new())
            }
        };
        self.country.insert(raw.to_string(), v.clone());
        v
    }

    fn category(&mut self, raw: &str) -> u32 {
        if let Some(&v) = self.category.get(raw) {
            return v;
        }
        let d = self.d;
        let v = match d.resolve_category(raw) {
            Some(c) => self.cats[Dim::Category.index()].intern(format!("c:{}", c.code), || Member {
                code: c.code.clone(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                resolved: true,
            }),
            None => self.raw_member(Dim::Category, raw),
        };
        self.category.insert(raw.to_string(), v);
        v
    }

    fn spec(&mut self, raw: &str) -> u32 {
        if let Some(&v) = self.spec.get(raw) {
            return v;
        }
        let d = self.d;
        let v = match d.resolve_spec(raw) {
            Some(s) => self.cats[Dim::Spec.index()].intern(format!("c:{}", s.spec), || Member {
                code: s.spec.clone(),
                name_zh: s.spec.clone(),
                name_en: s.spec.clone(),
                resolved: true,
            }),
            None => {
                let norm = lodestar_dict::spec::normalize_spec(raw).unwrap_or_else(|| raw.trim().to_string());
                self.raw_member(Dim::Spec, &norm)
            }
        };
        self.spec.insert(raw.to_string(), v);
        v
    }

    fn staff_id(&mut self, id: &str) -> u32 {
        let d = self.d;
        match d.staff_by_id(id) {
            Some(s) => self.cats[Dim::Owner.index()].intern(format!("c:{}", s.id), || Member {
                code: s.id.clone(),
                name_zh: s.name.clone(),
                name_en: staff_name_en(s),
                resolved: true,
            }),
            None => self.raw_member(Dim::Owner, id),
        }
    }

    fn staff(&mut self, raw: &str) -> u32 {
        if let Some(&v) = self.staff.get(raw) {
            return v;
        }
        let d = self.d;
        let v = match d.resolve_staff(raw) {
            Some(s) => {
                let id = s.id.clone();
                self.staff_id(&id)
            }
            None => self.raw_member(Dim::Owner, raw),
        };
        self.staff.insert(raw.to_string(), v);
        v
    }

    fn customer_member(&mut self, c: &lodestar_dict::Customer) -> (u32, u32) {
        let id = self.cats[Dim::Customer.index()].intern(format!("c:{}", c.id), || Member {
            code: c.id.clone(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
            resolved: true,
        });
        let owner = if c.owner.is_empty() { self.raw_member(Dim::Owner, "") } else { self.staff_id(&c.owner) };
        (id, owner)
    }

    /// (customer id, the customer's owner id).
    fn customer(&mut self, raw: &str, country_code: &str) -> (u32, u32) {
        if !self.customer.contains_key(raw) {
            let d = self.d;
            let cands = d.customer_candidates(raw);
            let res = match cands.as_slice() {
                [] => CustRes::Unresolved { id: self.raw_member(Dim::Customer, raw) },
                [one] => {
                    let (id, owner) = self.customer_member(one);
                    CustRes::One { id, owner }
                }
                many => {
                    let mut v = Vec::new();
                    for c in many {
                        let (id, owner) = self.customer_member(c);
                        v.push((c.country.clone(), id, owner));
                    }
                    CustRes::Many(v)
                }
            };
            self.customer.insert(raw.to_string(), res);
        }
        match self.customer.get(raw) {
            Some(CustRes::One { id, owner }) => (*id, *owner),
            Some(CustRes::Unresolved { id }) => (*id, NONE_ID),
            Some(CustRes::Many(v)) => {
                let hits: Vec<&(String, u32, u32)> = v.iter().filter(|(c, _, _)| c == country_code).collect();
                if let [one] = hits.as_slice() {
                    (one.1, one.2)
                } else {
                    (self.raw_member(Dim::Customer, raw), NONE_ID)
                }
            }
            None => (self.raw_member(Dim::Customer, raw), NONE_ID),
        }
    }

    fn currency(&mut self, raw: &str) -> u16 {
        if let Some(&i) = self.cur_ix.get(raw) {
            return i;
        }
        let mut code = lodestar_core::text::to_halfwidth(raw).trim().to_ascii_uppercase();
        if code.is_empty() || code == "$" || code == "US$" {
            code = "USD".into();
        }
        if code == "RMB" {
            code = "CNY".into();
        }
        let i = match self.currencies.iter().position(|c| *c == code) {
            Some(i) => i as u16,
            None => {
                self.currencies.push(code);
                (self.currencies.len() - 1) as u16
            }
        };
        self.cur_ix.insert(raw.to_string(), i);
        i
    }

    fn month(&mut self, raw: &str, table: &str, row: i64) -> Result<i32> {
        if let Some(&m) = self.months.get(raw) {
            return Ok(m);
        }
        let m: Month = raw.parse().map_err(|_| MetricsError::BadValue {
            table: table.into(),
            row,
            value: raw.into(),
            what: "month".into(),
        })?;
        let i = m.index() as i32;
        self.months.insert(raw.to_string(), i);
        Ok(i)
    }
}

pub(crate) fn parse_dec(s: &str) -> Option<Decimal> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    Decimal::from_str(t).ok().or_else(|| Decimal::from_scientific(t).ok())
}

fn text<'r>(v: ValueRef<'r>) -> std::borrow::Cow<'r, str> {
    match v {
        ValueRef::Text(b) => String::from_utf8_lossy(b),
        ValueRef::Integer(i) => std::borrow::Cow::Owned(i.to_string()),
        ValueRef::Real(f) => std::borrow::Cow::Owned(f.to_string()),
        _ => std::borrow::Cow::Borrowed(""),
    }
}

fn dec_field(v: ValueRef<'_>, table: &str, row: i64, what: &str) -> Result<Decimal> {
    let t = text(v);
    parse_dec(&t).ok_or_else(|| MetricsError::BadValue {
        table: table.into(),
        row,
        value: t.to_string(),
        what: what.into(),
    })
}

/// A sum of money or quantity with the set of currencies it mixes (bit per currency id).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Money {
    sum: Decimal,
    curs: u64,
    /// Whether any row contributed.
    any: bool,
}

impl Money {
    fn add(&mut self, v: Decimal, cur_bits: u64) {
        self.sum += v;
        self.curs |= cur_bits;
        self.any = true;
    }
}

fn cur_bit(cur: u16) -> u64 {
    if cur < 63 {
        1u64 << cur
    } else {
        1u64 << 63
    }
}

/// An amount in one currency (`cur`: None = quantity, converted USD or empty).
#[derive(Debug, Clone, Copy)]
struct Amt {
    v: Decimal,
    cur: Option<u16>,
}

type Cell = std::result::Result<Amt, String>;
type Ratio = std::result::Result<Decimal, String>;

const W_CUR: usize = 0;
const W_LY: usize = 1;
const W_PREV: usize = 2;
const W_YTD: usize = 3;
const W_YTDLY: usize = 4;
const NW: usize = 5;

const T_CUR: usize = 0;
const T_YTD: usize = 1;
const T_ANNUAL: usize = 2;
const NT: usize = 3;

#[derive(Debug, Clone, Default)]
struct Acc {
    w: [Money; NW],
    /// Countries the scope's sales came from (to explain a missing target).
    countries: Vec<u32>,
}

type Key = [u32; NDIM];

/// Resolved filters: allowed ids per dimension (`None` = no filter on it).
struct Filters {
    allowed: [Option<Vec<u32>>; NDIM],
    resolved: Vec<ResolvedFilter>,
}

impl Filters {
    fn pass(&self, ids: &[u32; NDIM]) -> bool {
        self.allowed.iter().zip(ids).all(|(a, id)| a.as_ref().is_none_or(|v| v.contains(id)))
    }
    fn dims(&self) -> impl Iterator<Item = Dim> + '_ {
        Dim::ALL.into_iter().filter(|d| self.allowed[d.index()].is_some())
    }
}

/// Target sums per scope and window, with the reason when a window has none.
struct TargetSums {
    by_key: HashMap<Key, [Option<Money>; NT]>,
    /// Reason when a window has no target row for the scope's countries.
    none_reason: [String; NT],
    /// Reason when the targets are coarser than the scope.
    grain_reason: [String; NT],
    /// Countries whose targets in a window exist only at grains coarser than the scope.
    coarse: [BTreeSet<u32>; NT],
    needs_spec: bool,
    any_avail: [bool; NT],
}

impl TargetSums {
    fn reasons(&self, countries: &[u32]) -> [String; NT] {
        std::array::from_fn(|w| {
            if (self.needs_spec && self.any_avail[w]) || countries.iter().any(|c| self.coarse[w].contains(c)) {
                self.grain_reason[w].clone()
            } else {
                self.none_reason[w].clone()
            }
        })
    }
}

/// The rule engine over one store snapshot. Build with [`MetricsEngine::load`] (all months) or
/// [`MetricsEngine::load_for_period`] (only the months a period needs: the period, the previous
/// period, January to its last month, and the same months one year earlier).
#[derive(Debug, Clone)]
pub struct MetricsEngine {
    dicts: Dictionaries,
    cats: [Catalog; NDIM],
    facts: Vec<Fact>,
    targets: Vec<TargetFact>,
    currencies: Vec<String>,
    fx: HashMap<(i32, u16), Decimal>,
    has_fx: bool,
    latest: Option<Month>,
    /// The first month with sales data (over all active rows).
    earliest: Option<Month>,
    /// Sales months loaded; `None` = all.
    loaded: Option<BTreeSet<i32>>,
    fields: FieldSensitivity,
    sales_rows: usize,
}

/// Months whose sales a query over `period` reads (any comparison).
pub fn months_needed(period: &Period) -> BTreeSet<Month> {
    let last = period.last_month();
    let mut s: BTreeSet<Month> = BTreeSet::new();
    s.extend(period.months());
    s.extend(period.last_year().months());
    s.extend(period.previous().months());
    for m in 1..=last.month {
        s.insert(Month { year: last.year, month: m });
        s.insert(Month { year: last.year - 1, month: m });
    }
    s
}

impl MetricsEngine {
    /// Loads every active sales, target and fx row.
    pub fn load(store: &Store, dicts: &Dictionaries) -> Result<Self> {
        Self::load_months(store, dicts, None)
    }

    /// Loads only the sales months `period` needs (targets and fx are small and load whole).
    pub fn load_for_period(store: &Store, dicts: &Dictionaries, period: &Period) -> Result<Self> {
        let months: Vec<Month> = months_needed(period).into_iter().collect();
        Self::load_months(store, dicts, Some(&months))
    }

    /// Loads the given sales months (`None` = all).
    pub fn load_months(store: &Store, dicts: &Dictionaries, months: Option<&[Month]>) -> Result<Self> {
        let conn = store.conn();
        let mut r = Resolver::new(dicts);
        let month_of = |sql: &str| -> Result<Option<Month>> {
            let m: Option<String> = conn.query_row(sql, [], |row| row.get(0))?;
            match m {
                Some(s) => Ok(Some(s.parse::<Month>().map_err(|_| MetricsError::BadValue {
                    table: "sales".into(),
                    row: 0,
                    value: s.clone(),
                    what: "month".into(),
                })?)),
                None => Ok(None),
            }
        };
        let latest = month_of("SELECT MAX(month) FROM sales_active")?;
        let earliest = month_of("SELECT MIN(month) FROM sales_active")?;

        // fx
        let mut fx = HashMap::new();
        {
            let mut st = conn.prepare("SELECT id, month, currency, usd_rate FROM fx_active")?;
            let mut rows = st.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let m = r.month(&text(row.get_ref(1)?), "fx", id)?;
                let c = r.currency(&text(row.get_ref(2)?));
                let rate = dec_field(row.get_ref(3)?, "fx", id, "usd_rate")?;
                fx.insert((m, c), rate);
            }
        }

        // sales, pre-aggregated
        let mut sql = String::from(
            "SELECT id, month, country, customer, category, spec, quantity, amount, currency, owner FROM sales_active",
        );
        let month_strs: Vec<String> = months.map(|ms| ms.iter().map(|m| m.to_string()).collect()).unwrap_or_default();
        if months.is_some() {
            // When the needed months are a large share of the data's span, a full scan beats the
            // month index (`+month` keeps SQLite off the index); for a few months the index wins.
            let span: (Option<String>, Option<String>) =
                conn.query_row("SELECT MIN(month), MAX(month) FROM sales_active", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let scan =
                match (span.0.and_then(|m| m.parse::<Month>().ok()), span.1.and_then(|m| m.parse::<Month>().ok())) {
                    (Some(a), Some(b)) => (month_strs.len() as i64) * 10 >= (b.index() - a.index() + 1) * 3,
                    _ => false,
                };
            if month_strs.is_empty() {
                sql.push_str(" WHERE 0");
            } else {
                sql.push_str(if scan { " WHERE +month IN (" } else { " WHERE month IN (" });
                sql.push_str(&vec!["?"; month_strs.len()].join(","));
                sql.push(')');
            }
        }
        let mut agg: HashMap<(i32, Key, u16), (Decimal, Decimal)> = HashMap::new();
        let mut sales_rows = 0usize;
        {
            let mut st = conn.prepare(&sql)?;
            let mut rows = st.query(rusqlite::params_from_iter(month_strs.iter()))?;
            while let Some(row) = rows.next()? {
                sales_rows += 1;
                let id: i64 = row.get(0)?;
                let month = r.month(&text(row.get_ref(1)?), "sales", id)?;
                let (region, country, ccode) = r.country(&text(row.get_ref(2)?));
                let (customer, cust_owner) = r.customer(&text(row.get_ref(3)?), &ccode);
                let category = r.category(&text(row.get_ref(4)?));
                let spec = r.spec(&text(row.get_ref(5)?));
                let qty = dec_field(row.get_ref(6)?, "sales", id, "quantity")?;
                let amount = dec_field(row.get_ref(7)?, "sales", id, "amount")?;
                let cur = r.currency(&text(row.get_ref(8)?));
                let owner_raw = text(row.get_ref(9)?);
                let owner = if !owner_raw.trim().is_empty() {
                    r.staff(&owner_raw)
                } else if cust_owner != NONE_ID {
                    cust_owner
                } else {
                    r.raw_member(Dim::Owner, "")
                };
                let ids = [region, country, category, spec, customer, owner];
                let e = agg.entry((month, ids, cur)).or_insert((Decimal::ZERO, Decimal::ZERO));
                e.0 += qty;
                e.1 += amount;
            }
        }
        let mut facts: Vec<Fact> =
            agg.into_iter().map(|((month, ids, cur), (qty, amount))| Fact { month, ids, cur, qty, amount }).collect();
        facts.sort_by_key(|f| (f.month, f.ids, f.cur));

        // targets
        let mut targets = Vec::new();
        {
            let mut st = conn.prepare(
                "SELECT id, month, country, category, customer, target_quantity, target_amount, currency FROM targets_active",
            )?;
            let mut rows = st.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let month = r.month(&text(row.get_ref(1)?), "targets", id)?;
                let (region, country, ccode) = r.country(&text(row.get_ref(2)?));
                let cat_raw = text(row.get_ref(3)?);
                let cust_raw = text(row.get_ref(4)?);
                let mut grain = 0u8;
                let category = if cat_raw.trim().is_empty() {
                    NONE_ID
                } else {
                    grain |= 1;
                    r.category(&cat_raw)
                };
                let (customer, owner) = if cust_raw.trim().is_empty() {
                    (NONE_ID, NONE_ID)
                } else {
                    grain |= 2;
                    let (c, o) = r.customer(&cust_raw, &ccode);
                    (c, if o == NONE_ID { r.raw_member(Dim::Owner, "") } else { o })
                };
                let qty_t = text(row.get_ref(5)?);
                let amt_t = text(row.get_ref(6)?);
                let qty = if qty_t.trim().is_empty() {
                    None
                } else {
                    Some(dec_field(row.get_ref(5)?, "targets", id, "target_quantity")?)
                };
                let amount = if amt_t.trim().is_empty() {
                    None
                } else {
                    Some(dec_field(row.get_ref(6)?, "targets", id, "target_amount")?)
                };
                let cur = r.currency(&text(row.get_ref(7)?));
                targets.push(TargetFact {
                    month,
                    ids: [region, country, category, NONE_ID, customer, owner],
                    grain,
                    cur,
                    qty,
                    amount,
                });
            }
        }

        let loaded = months.map(|ms| ms.iter().map(|m| m.index() as i32).collect());
        Ok(Self {
            dicts: dicts.clone(),
            cats: r.cats,
            facts,
            targets,
            currencies: r.currencies,
            has_fx: !fx.is_empty(),
            fx,
            latest,
            earliest,
            loaded,
            fields: FieldSensitivity::default(),
            sales_rows,
        })
    }

    /// Uses the field sensitivities of the home's config (default: sales figures are 内部).
    pub fn with_field_sensitivity(mut self, fields: FieldSensitivity) -> Self {
        self.fields = fields;
        self
    }

    /// The latest month with sales data (over all active rows, not only the loaded months).
    pub fn latest_month(&self) -> Option<Month> {
        self.latest
    }

    /// The first month with sales data (over all active rows).
    pub fn earliest_month(&self) -> Option<Month> {
        self.earliest
    }

    /// Whether the fx table has rows (amounts are then converted to USD).
    pub fn has_fx(&self) -> bool {
        self.has_fx
    }

    /// Sales rows read at load time.
    pub fn sales_rows_loaded(&self) -> usize {
        self.sales_rows
    }

    fn check_sales_clearance(&self, p: &Principal) -> Result<()> {
        if p.can_see(self.fields.sales) {
            Ok(())
        } else {
            Err(MetricsError::Forbidden {
                principal: p.name.clone(),
                clearance: p.clearance,
                what: "sales (销售)".into(),
                needed: self.fields.sales,
            })
        }
    }

    fn check_period(&self, period: &Period) -> Result<()> {
        let latest = self.latest.ok_or(MetricsError::NoData)?;
        if period.last_month() > latest {
            return Err(MetricsError::PeriodAfterLatest { period: period.to_string(), latest: latest.to_string() });
        }
        if let Some(earliest) = self.earliest {
            if period.last_month() < earliest {
                return Err(MetricsError::PeriodBeforeEarliest {
                    period: period.to_string(),
                    earliest: earliest.to_string(),
                });
            }
        }
        if let Some(loaded) = &self.loaded {
            if let Some(m) = months_needed(period).into_iter().find(|m| !loaded.contains(&(m.index() as i32))) {
                return Err(MetricsError::Invalid(format!(
                    "the engine was loaded without month {m}; load it with load_for_period({period}) or load()"
                )));
            }
        }
        Ok(())
    }

    fn resolve_filters(&self, filters: &[(Dim, String)]) -> Result<Filters> {
        let mut allowed: [Option<Vec<u32>>; NDIM] = Default::default();
        let mut resolved = Vec::new();
        for (dim, value) in filters {
            let d = &self.dicts;
            let code: Option<(String, String)> = match dim {
                Dim::Region => d.resolve_region(value).map(|r| (r.code.clone(), r.name_zh.clone())),
                Dim::Country => d.resolve_country(value).map(|c| (c.code.clone(), c.name_zh.clone())),
                Dim::Category => d.resolve_category(value).map(|c| (c.code.clone(), c.name_zh.clone())),
                Dim::Spec => d.resolve_spec(value).map(|s| (s.spec.clone(), s.spec.clone())),
                Dim::Customer => {
                    let c = d.customer_candidates(value);
                    if c.len() > 1 {
                        return Err(MetricsError::UnknownFilterValue {
                            dim: dim.to_string(),
                            value: value.clone(),
                            suggestions: c.iter().map(|c| format!("{} ({})", c.name_zh, c.id)).collect(),
                        });
                    }
                    c.first().map(|c| (c.id.clone(), c.name_zh.clone()))
                }
                Dim::Owner => d.resolve_staff(value).map(|s| (s.id.clone(), s.name.clone())),
            };
            let cat = &self.cats[dim.index()];
            let (ids, code, name) = match code {
                Some((code, name)) => (cat.ix.get(&format!("c:{code}")).copied().into_iter().collect(), code, name),
                None => {
                    let key = norm_key(
                        match dim {
                            Dim::Spec => lodestar_dict::spec::normalize_spec(value).unwrap_or_else(|| value.clone()),
                            _ => value.clone(),
                        }
                        .as_str(),
                    );
                    match cat.ix.get(&format!("r:{key}")) {
                        Some(&i) => (vec![i], value.trim().to_string(), value.trim().to_string()),
                        None => {
                            let kind = match dim {
                                Dim::Region => NameKind::Region,
                                Dim::Country => NameKind::Country,
                                Dim::Category => NameKind::Category,
                                Dim::Spec => NameKind::Spec,
                                Dim::Customer => NameKind::Customer,
                                Dim::Owner => NameKind::Staff,
                            };
                            return Err(MetricsError::UnknownFilterValue {
                                dim: dim.to_string(),
                                value: value.clone(),
                                suggestions: d.suggest(kind, value, 3),
                            });
                        }
                    }
                }
            };
            allowed[dim.index()].get_or_insert_with(Vec::new).extend(ids);
            resolved.push(ResolvedFilter { dim: *dim, value: value.clone(), code, name_zh: name });
        }
        Ok(Filters { allowed, resolved })
    }

    fn rate(&self, month: i32, cur: u16) -> Result<Decimal> {
        if cur == USD {
            return Ok(Decimal::ONE);
        }
        self.fx.get(&(month, cur)).copied().ok_or_else(|| MetricsError::MissingFxRate {
            currency: self.currencies.get(cur as usize).cloned().unwrap_or_default(),
            month: Month::from_index(month as i64).to_string(),
        })
    }

    /// The value of a fact or target in the query's unit, with its currency bit.
    fn value(&self, measure: Measure, month: i32, cur: u16, qty: Decimal, amount: Decimal) -> Result<(Decimal, u64)> {
        match measure {
            Measure::Quantity => Ok((qty, 0)),
            Measure::Amount if self.has_fx => Ok((amount * self.rate(month, cur)?, 0)),
            Measure::Amount => Ok((amount, cur_bit(cur))),
        }
    }

    fn cur_names(&self, bits: u64) -> String {
        let mut v = Vec::new();
        for i in 0..64u16 {
            if bits & (1u64 << i) != 0 {
                v.push(if i == 63 {
                    "…".to_string()
                } else {
                    self.currencies.get(i as usize).cloned().unwrap_or_default()
                });
            }
        }
        v.join(", ")
    }

    fn cell(&self, m: &Money) -> Cell {
        match m.curs.count_ones() {
            0 => Ok(Amt { v: m.sum, cur: None }),
            1 => Ok(Amt { v: m.sum, cur: Some(m.curs.trailing_zeros() as u16) }),
            _ => Err(format!("混合币种（{}）且没有汇率表，金额无法合计", self.cur_names(m.curs))),
        }
    }

    /// Sums targets per scope key for the windows (period, YTD, full year), choosing per
    /// (month, country) the coarsest target grain that covers the needed dimensions.
    fn target_sums(&self, measure: Measure, by: &[Dim], filters: &Filters, period: &Period) -> Result<TargetSums> {
        let last = period.last_month();
        let mut needed: BTreeSet<Dim> = by.iter().copied().collect();
        needed.extend(filters.dims());
        let needs_spec = needed.contains(&Dim::Spec);
        let needs_cat = needed.contains(&Dim::Category);
        let needs_cust = needed.contains(&Dim::Customer) || needed.contains(&Dim::Owner);
        let allowed_grain = |g: u8| (!needs_cat || g & 1 != 0) && (!needs_cust || g & 2 != 0) && !needs_spec;

        let cur_months: BTreeSet<i32> = period.months().iter().map(|m| m.index() as i32).collect();
        let jan = Month { year: last.year, month: 1 }.index() as i32;
        let last_i = last.index() as i32;
        let dec_i = Month { year: last.year, month: 12 }.index() as i32;
        let mask = |m: i32| -> u8 {
            let mut b = 0u8;
            if cur_months.contains(&m) {
                b |= 1 << T_CUR;
            }
            if m >= jan && m <= last_i {
                b |= 1 << T_YTD;
            }
            if m >= jan && m <= dec_i {
                b |= 1 << T_ANNUAL;
            }
            b
        };
        let tval = |t: &TargetFact| match measure {
            Measure::Quantity => t.qty,
            Measure::Amount => t.amount,
        };
        // country-level filters decide which slices count
        let slice_pass = |t: &TargetFact| {
            [Dim::Region, Dim::Country]
                .iter()
                .all(|d| filters.allowed[d.index()].as_ref().is_none_or(|v| v.contains(&t.ids[d.index()])))
        };
        let mut avail: HashMap<(i32, u32), u8> = HashMap::new();
        let mut any_avail = [false; NT];
        for t in &self.targets {
            let mk = mask(t.month);
            if mk == 0 || tval(t).is_none() || !slice_pass(t) {
                continue;
            }
            *avail.entry((t.month, t.ids[Dim::Country.index()])).or_default() |= 1 << t.grain;
            for (w, a) in any_avail.iter_mut().enumerate() {
                if mk & (1 << w) != 0 {
                    *a = true;
                }
            }
        }
        let chosen: HashMap<(i32, u32), u8> = avail
            .iter()
            .filter_map(|(k, &bits)| {
                [0u8, 1, 2, 3].into_iter().find(|&g| bits & (1 << g) != 0 && allowed_grain(g)).map(|g| (*k, g))
            })
            .collect();
        let mut coarse: [BTreeSet<u32>; NT] = Default::default();
        for ((month, country), _) in avail.iter().filter(|(k, _)| !chosen.contains_key(k)) {
            let mk = mask(*month);
            for (w, set) in coarse.iter_mut().enumerate() {
                if mk & (1 << w) != 0 {
                    set.insert(*country);
                }
            }
        }
        let mut by_key: HashMap<Key, [Option<Money>; NT]> = HashMap::new();
        for t in &self.targets {
            let mk = mask(t.month);
            let Some(v) = tval(t) else { continue };
            if mk == 0 || chosen.get(&(t.month, t.ids[Dim::Country.index()])) != Some(&t.grain) || !filters.pass(&t.ids)
            {
                continue;
            }
            let (val, bits) = match measure {
                Measure::Quantity => (v, 0),
                Measure::Amount if self.has_fx => (v * self.rate(t.month, t.cur)?, 0),
                Measure::Amount => (v, cur_bit(t.cur)),
            };
            let key = key_of(&t.ids, by);
            let e = by_key.entry(key).or_default();
            for (w, slot) in e.iter_mut().enumerate() {
                if mk & (1 << w) != 0 {
                    slot.get_or_insert_with(Money::default).add(val, bits);
                }
            }
        }
        let window_name = [period.to_string(), format!("{}-01..{}", last.year, last), format!("{} 全年", last.year)];
        let grains_present: BTreeSet<u8> =
            avail.values().flat_map(|&b| (0u8..4).filter(move |g| b & (1 << g) != 0)).collect();
        let grain_text = grains_present
            .iter()
            .map(|g| match g {
                0 => "国家",
                1 => "国家×品类",
                2 => "国家×客户",
                _ => "国家×品类×客户",
            })
            .collect::<Vec<_>>()
            .join("、");
        let needed_text = needed.iter().map(|d| d.label_zh()).collect::<Vec<_>>().join("×");
        let grain_reason: [String; NT] = std::array::from_fn(|_| {
            if needs_spec {
                format!("目标不按规格设定（目标粒度：{grain_text}），{needed_text} 范围没有目标")
            } else {
                format!("目标按 {grain_text} 设定，比 {needed_text} 粗，该范围没有目标")
            }
        });
        let none_reason: [String; NT] = std::array::from_fn(|w| format!("该范围在 {} 没有目标行", window_name[w]));
        Ok(TargetSums { by_key, none_reason, grain_reason, coarse, needs_spec, any_avail })
    }

    /// Answers one metrics query.
    pub fn query(&self, q: &MetricQuery) -> Result<MetricTable> {
        self.check_sales_clearance(&q.principal)?;
        self.check_period(&q.period)?;
        let filters = self.resolve_filters(&q.filters)?;
        let mut by: Vec<Dim> = Vec::new();
        for d in &q.by {
            if !by.contains(d) {
                by.push(*d);
            }
        }
        let period = q.period;
        let last = period.last_month();
        let windows: [Vec<Month>; NW] = [
            period.months(),
            period.last_year().months(),
            period.previous().months(),
            (1..=last.month).map(|m| Month { year: last.year, month: m }).collect(),
            (1..=last.month).map(|m| Month { year: last.year - 1, month: m }).collect(),
        ];
        let all: Vec<i32> = windows.iter().flatten().map(|m| m.index() as i32).collect();
        let base = all.iter().copied().min().unwrap_or(0);
        let top = all.iter().copied().max().unwrap_or(0);
        let mut masks = vec![0u8; (top - base + 1) as usize];
        for (w, ms) in windows.iter().enumerate() {
            for m in ms {
                masks[(m.index() as i32 - base) as usize] |= 1 << w;
            }
        }

        let mut groups: HashMap<Key, Acc> = HashMap::new();
        let mut total = Acc::default();
        let mut rate_cache: HashMap<(i32, u16), Decimal> = HashMap::new();
        for f in &self.facts {
            let off = f.month - base;
            if off < 0 || off as usize >= masks.len() {
                continue;
            }
            let mk = masks[off as usize];
            if mk == 0 || !filters.pass(&f.ids) {
                continue;
            }
            let (v, bits) = match q.measure {
                Measure::Amount if self.has_fx && f.cur != USD => {
                    let r = match rate_cache.get(&(f.month, f.cur)) {
                        Some(r) => *r,
                        None => {
                            let r = self.rate(f.month, f.cur)?;
                            rate_cache.insert((f.month, f.cur), r);
                            r
                        }
                    };
                    (f.amount * r, 0)
                }
                _ => self.value(q.measure, f.month, f.cur, f.qty, f.amount)?,
            };
            let acc = groups.entry(key_of(&f.ids, &by)).or_default();
            let country = f.ids[Dim::Country.index()];
            if !acc.countries.contains(&country) {
                acc.countries.push(country);
            }
            if !total.countries.contains(&country) {
                total.countries.push(country);
            }
            for w in 0..NW {
                if mk & (1 << w) != 0 {
                    acc.w[w].add(v, bits);
                    total.w[w].add(v, bits);
                }
            }
        }

        let tg = self.target_sums(q.measure, &by, &filters, &period)?;
        let tg_total = self.target_sums(q.measure, &[], &filters, &period)?;

        // rows: scopes with sales in the period or a target for it
        let mut keys: BTreeSet<Key> = groups.iter().filter(|(_, a)| a.w[W_CUR].any).map(|(k, _)| *k).collect();
        keys.extend(tg.by_key.iter().filter(|(_, t)| t[T_CUR].is_some()).map(|(k, _)| *k));
        if by.is_empty() {
            // the only scope would repeat the total row
            keys.clear();
        }

        let cmp_w = match q.compare {
            Compare::SameMonthLastYear => W_LY,
            Compare::PrevMonth => W_PREV,
        };
        let total_actual = self.cell(&total.w[W_CUR]);
        let total_cmp = self.cell(&total.w[cmp_w]);
        let empty_t: [Option<Money>; NT] = Default::default();
        let tt = tg_total.by_key.get(&[NONE_ID; NDIM]).unwrap_or(&empty_t);
        let mut total_row =
            self.build_row(Scope::default(), &total, tt, &tg_total.reasons(&total.countries), &period, q.measure);
        self.contribution(&mut total_row, &total, cmp_w, &total_actual, &total_cmp);
        total_row.rank = None;
        push_reason(&mut total_row.reasons, "rank", "合计行不参与排名".into());

        let empty_acc = Acc::default();
        let mut rows: Vec<MetricRow> = keys
            .iter()
            .map(|k| {
                let acc = groups.get(k).unwrap_or(&empty_acc);
                let t = tg.by_key.get(k).unwrap_or(&empty_t);
                let scope =
                    Scope { dims: by.iter().enumerate().map(|(i, d)| self.cats[d.index()].part(*d, k[i])).collect() };
                let mut row = self.build_row(scope, acc, t, &tg.reasons(&acc.countries), &period, q.measure);
                self.contribution(&mut row, acc, cmp_w, &total_actual, &total_cmp);
                row
            })
            .collect();
        rank_rows(&mut rows, q.sort);

        let unit = match q.measure {
            Measure::Quantity => Some("条".to_string()),
            Measure::Amount if self.has_fx => Some("USD".to_string()),
            Measure::Amount => total_row.currency.clone(),
        };
        let compare_period = match q.compare {
            Compare::SameMonthLastYear => period.last_year(),
            Compare::PrevMonth => period.previous(),
        };
        Ok(MetricTable {
            period: period.to_string(),
            months: vec![period.first_month().to_string(), last.to_string()],
            by,
            measure: q.measure,
            unit,
            sort: q.sort,
            compare: q.compare,
            compare_period: compare_period.to_string(),
            filters: filters.resolved,
            fx_converted: self.has_fx && q.measure == Measure::Amount,
            latest_month: self.latest.map(|m| m.to_string()),
            rows,
            total: total_row,
        })
    }

    fn build_row(
        &self,
        scope: Scope,
        acc: &Acc,
        t: &[Option<Money>; NT],
        t_reason: &[String; NT],
        period: &Period,
        measure: Measure,
    ) -> MetricRow {
        let mut reasons = Vec::new();
        let actual = self.cell(&acc.w[W_CUR]);
        let tcell = |w: usize| -> Cell {
            match &t[w] {
                Some(m) => self.cell(m),
                None => Err(t_reason[w].clone()),
            }
        };
        let target = tcell(T_CUR);
        let ytd_target = tcell(T_YTD);
        let annual_target = tcell(T_ANNUAL);
        let actual_ly = self.cell(&acc.w[W_LY]);
        let actual_prev = self.cell(&acc.w[W_PREV]);
        let ytd_actual = self.cell(&acc.w[W_YTD]);
        let ytd_ly = self.cell(&acc.w[W_YTDLY]);
        let m = period.last_month().month;

        let achievement = ratio(&actual, &target, "目标");
        let gap = sub(&target, &actual);
        let yoy = growth(&actual, &actual_ly, "去年同期实际");
        let mom = growth(&actual, &actual_prev, "上期实际");
        let ytd_achievement = ratio(&ytd_actual, &ytd_target, "年累计目标");
        let ytd_gap = sub(&ytd_target, &ytd_actual);
        let ytd_yoy = growth(&ytd_actual, &ytd_ly, "去年同期年累计");
        let annual_progress = ratio(&ytd_actual, &annual_target, "全年目标");
        let time_progress = Decimal::from(m) / Decimal::from(12);
        let remaining_gap = sub(&annual_target, &ytd_actual);
        let run_rate: Ratio = if m == 12 {
            Err("12 月已无剩余月份，所需月均不适用".into())
        } else {
            remaining_gap.clone().map(|g| g.v / Decimal::from(12 - m))
        };
        let currency = match measure {
            Measure::Quantity => None,
            Measure::Amount if self.has_fx => Some("USD".to_string()),
            Measure::Amount => match &actual {
                Ok(a) => {
                    a.cur.or(target.as_ref().ok().and_then(|t| t.cur)).map(|c| self.currencies[c as usize].clone())
                }
                Err(_) => None,
            },
        };
        let mut amt = |field: &str, c: &Cell| -> Option<Decimal> {
            match c {
                Ok(a) => Some(a.v.normalize()),
                Err(r) => {
                    push_reason(&mut reasons, field, r.clone());
                    None
                }
            }
        };
        let actual_v = amt("actual", &actual);
        let target_v = amt("target", &target);
        let gap_v = amt("gap", &gap);
        let ytd_actual_v = amt("ytd_actual", &ytd_actual);
        let ytd_target_v = amt("ytd_target", &ytd_target);
        let ytd_gap_v = amt("ytd_gap", &ytd_gap);
        let annual_target_v = amt("annual_target", &annual_target);
        let remaining_gap_v = amt("remaining_gap", &remaining_gap);
        let actual_ly_v = amt("actual_last_year", &actual_ly);
        let actual_prev_v = amt("actual_prev", &actual_prev);
        let ytd_ly_v = amt("ytd_actual_last_year", &ytd_ly);
        let mut rat = |field: &str, r: &Ratio| -> Option<Decimal> {
            match r {
                Ok(v) => Some(v.normalize()),
                Err(e) => {
                    push_reason(&mut reasons, field, e.clone());
                    None
                }
            }
        };
        let achievement_v = rat("achievement", &achievement);
        let yoy_v = rat("yoy", &yoy);
        let mom_v = rat("mom", &mom);
        let ytd_achievement_v = rat("ytd_achievement", &ytd_achievement);
        let ytd_yoy_v = rat("ytd_yoy", &ytd_yoy);
        let annual_progress_v = rat("annual_progress", &annual_progress);
        let run_rate_v = rat("run_rate", &run_rate);
        if actual.is_err() && measure == Measure::Amount {
            push_reason(&mut reasons, "currency", "混合币种，没有单一币种".into());
        }
        MetricRow {
            scope,
            currency,
            actual: actual_v,
            target: target_v,
            achievement: achievement_v,
            gap: gap_v,
            yoy: yoy_v,
            mom: mom_v,
            ytd_actual: ytd_actual_v,
            ytd_target: ytd_target_v,
            ytd_achievement: ytd_achievement_v,
            ytd_gap: ytd_gap_v,
            ytd_yoy: ytd_yoy_v,
            annual_target: annual_target_v,
            annual_progress: annual_progress_v,
            time_progress: Some(time_progress.normalize()),
            remaining_gap: remaining_gap_v,
            run_rate: run_rate_v,
            rank: None,
            contribution: None,
            contribution_change: None,
            actual_last_year: actual_ly_v,
            actual_prev: actual_prev_v,
            ytd_actual_last_year: ytd_ly_v,
            reasons,
        }
    }

    fn contribution(&self, row: &mut MetricRow, acc: &Acc, cmp_w: usize, total: &Cell, total_cmp: &Cell) {
        let c = ratio(&self.cell(&acc.w[W_CUR]), total, "合计实际");
        let c_cmp = ratio(&self.cell(&acc.w[cmp_w]), total_cmp, "对比期合计实际");
        match &c {
            Ok(v) => row.contribution = Some(v.normalize()),
            Err(e) => push_reason(&mut row.reasons, "contribution", e.clone()),
        }
        match (&c, &c_cmp) {
            (Ok(a), Ok(b)) => row.contribution_change = Some((a - b).normalize()),
            (Err(e), _) => push_reason(&mut row.reasons, "contribution_change", e.clone()),
            (_, Err(e)) => push_reason(&mut row.reasons, "contribution_change", format!("对比期贡献无法计算：{e}")),
        }
    }

    /// CR-n over customers (客户集中度) within the filtered scope.
    pub fn concentration(&self, q: &ConcentrationQuery) -> Result<Concentration> {
        let mq = MetricQuery {
            period: q.period,
            by: vec![Dim::Customer],
            measure: q.measure,
            filters: q.filters.clone(),
            sort: SortKey::Actual,
            compare: Compare::SameMonthLastYear,
            principal: q.principal.clone(),
        };
        let t = self.query(&mq)?;
        let total = t.total.actual;
        let customers: Vec<MetricRow> = t.rows.into_iter().filter(|r| r.actual.is_some_and(|a| !a.is_zero())).collect();
        let mut ratios = Vec::new();
        for &n in &q.tops {
            let top: Vec<&MetricRow> = customers.iter().take(n).collect();
            let sum: Decimal = top.iter().filter_map(|r| r.actual).sum();
            let (share, reason) = match total {
                None => (None, t.total.reason("actual").map(|s| s.to_string())),
                Some(tv) if tv <= Decimal::ZERO => (None, Some("合计实际为 0 或负数，无法计算集中度".to_string())),
                Some(tv) => (sum.checked_div(tv).map(|v| v.normalize()), None),
            };
            let reason = reason
                .or_else(|| (top.len() < n).then(|| format!("范围内只有 {} 个客户，CR{n} 为全部客户之和", top.len())));
            ratios.push(ConcentrationRatio { n, share, customers_counted: top.len(), reason });
        }
        Ok(Concentration {
            period: t.period,
            measure: t.measure,
            unit: t.unit,
            filters: t.filters,
            total,
            customer_count: customers.len(),
            ratios,
            customers,
        })
    }
}

fn key_of(ids: &[u32; NDIM], by: &[Dim]) -> Key {
    let mut k = [NONE_ID; NDIM];
    for (i, d) in by.iter().enumerate() {
        k[i] = ids[d.index()];
    }
    k
}

fn push_reason(reasons: &mut Vec<Reason>, field: &str, reason: String) {
    if !reasons.iter().any(|r| r.field == field) {
        reasons.push(Reason { field: field.to_string(), reason });
    }
}

fn same_cur(a: &Amt, b: &Amt) -> std::result::Result<(), String> {
    match (a.cur, b.cur) {
        (Some(x), Some(y)) if x != y => Err("实际与目标（或对比值）币种不同且没有汇率表，无法比较".into()),
        _ => Ok(()),
    }
}

fn sub(a: &Cell, b: &Cell) -> Cell {
    let (x, y) = (a.clone()?, b.clone()?);
    same_cur(&x, &y)?;
    Ok(Amt { v: x.v - y.v, cur: x.cur.or(y.cur) })
}

fn ratio(num: &Cell, den: &Cell, den_name: &str) -> Ratio {
    let d = den.clone()?;
    let n = num.clone()?;
    same_cur(&n, &d)?;
    if d.v.is_zero() {
        return Err(format!("{den_name}为 0，比率无法计算"));
    }
    if d.v.is_sign_negative() {
        return Err(format!("{den_name}为负数，比率无法计算"));
    }
    n.v.checked_div(d.v).ok_or_else(|| "数值溢出，比率无法计算".to_string())
}

fn growth(cur: &Cell, base: &Cell, base_name: &str) -> Ratio {
    ratio(cur, base, base_name).map(|r| r - Decimal::ONE)
}

/// Sorts rows descending on the key, ties and null keys by canonical id; competition ranks.
fn rank_rows(rows: &mut [MetricRow], sort: SortKey) {
    let key = |r: &MetricRow| match sort {
        SortKey::Actual => r.actual,
        SortKey::Achievement => r.achievement,
        SortKey::Gap => r.gap,
    };
    rows.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => y.cmp(&x).then_with(|| a.scope.id().cmp(&b.scope.id())),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.scope.id().cmp(&b.scope.id()),
    });
    // sorted descending: a row's rank is 1 + the position of the first row with an equal key
    let mut prev: Option<(Decimal, u32)> = None;
    for (i, row) in rows.iter_mut().enumerate() {
        match key(row) {
            Some(k) => {
                let rank = match prev {
                    Some((p, r)) if p == k => r,
                    _ => i as u32 + 1,
                };
                prev = Some((k, rank));
                row.rank = Some(rank);
            }
            None => {
                row.rank = None;
                let field = match sort {
                    SortKey::Actual => "actual",
                    SortKey::Achievement => "achievement",
                    SortKey::Gap => "gap",
                };
                push_reason(&mut row.reasons, "rank", format!("排序依据 {field} 为空，不参与排名"));
            }
        }
    }
}
