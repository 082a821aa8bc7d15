//! The rule-engine benchmark (`lodestar bench metrics`): generates sales rows into a SQLite file
//! and times country×category metrics for one month with YTD and YoY, from opening the database.
//! `benches/metrics_pandas.py` does the same computation with pandas on the same file.

use lodestar_core::{Month, Period};
use lodestar_dict::Dictionaries;
use lodestar_metrics::{Dim, MetricQuery, MetricTable, MetricsEngine, Result};
use lodestar_store::rusqlite::params;
use lodestar_store::Store;
use rust_decimal::Decimal;
use std::path::Path;
use std::time::{Duration, Instant};

/// The month the benchmark asks about; data runs from January of the year before to this month.
pub const BENCH_MONTH: Month = Month { year: 2026, month: 9 };

/// Small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Generated {
    /// Sales rows written.
    pub rows: usize,
    /// The months the sales rows cover, `YYYY-MM`.
    pub months: Vec<String>,
    /// Target rows written.
    pub target_rows: usize,
    /// Fx rows written.
    pub fx_rows: usize,
}

/// Writes `rows` sales rows (months January 2025 … September 2026, names in mixed spellings, 10 %
/// in RUB), country × category targets for 2025–2026 and an fx table into a new database at `path`.
pub fn generate(path: &Path, rows: usize, dicts: &Dictionaries) -> Result<Generated> {
    let mut store = Store::open(path)?;
    let tx = store.conn_mut().transaction()?;
    tx.execute(
        "INSERT INTO import_batches(file_name, content_hash, imported_at, imported_by) VALUES ('bench', 'bench', '2026-10-01T00:00:00Z', 'bench')",
        [],
    )?;
    let batch = tx.last_insert_rowid();
    let first = Month { year: BENCH_MONTH.year - 1, month: 1 };
    let months: Vec<Month> = (0..=(BENCH_MONTH.index() - first.index())).map(|i| first.add(i)).collect();
    let countries: Vec<Vec<String>> = dicts
        .countries
        .iter()
        .map(|c| vec![c.name_zh.clone(), c.name_en.clone(), c.code.clone(), c.name_local.clone()])
        .collect();
    let categories: Vec<Vec<String>> = dicts
        .categories
        .iter()
        .map(|c| {
            let mut v = vec![c.name_zh.clone(), c.name_en.clone(), c.code.clone()];
            v.extend(c.aliases.iter().take(2).cloned());
            v
        })
        .collect();
    let customers: Vec<String> = dicts.customers.iter().flat_map(|c| [c.name_zh.clone(), c.name_en.clone()]).collect();
    let specs: Vec<String> = dicts.specs.iter().flat_map(|s| [s.spec.clone(), s.spec.to_lowercase()]).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    {
        let mut st = tx.prepare(
            "INSERT INTO sales(batch_id, month, country, customer, category, spec, quantity, amount, currency, owner)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)",
        )?;
        let month_strs: Vec<String> = months.iter().map(|m| m.to_string()).collect();
        for i in 0..rows {
            let m = &month_strs[i % month_strs.len()];
            let c = &countries[rng.below(countries.len())];
            let country = &c[rng.below(c.len())];
            let k = &categories[rng.below(categories.len())];
            let category = &k[rng.below(k.len())];
            let customer = &customers[rng.below(customers.len())];
            let spec = &specs[rng.below(specs.len())];
            let qty = 1 + rng.below(200);
            let cents = 10_000 + rng.below(5_000_000);
            let rub = rng.below(10) == 0;
            let (amount, cur) =
                if rub { (Decimal::new(cents as i64 * 90, 2), "RUB") } else { (Decimal::new(cents as i64, 2), "USD") };
            st.execute(params![batch, m, country, customer, category, spec, qty.to_string(), amount.to_string(), cur])?;
        }
    }
    let mut target_rows = 0;
    {
        let mut st = tx.prepare(
            "INSERT INTO targets(batch_id, month, country, category, customer, target_quantity, target_amount, currency)
             VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, 'USD')",
        )?;
        for y in [BENCH_MONTH.year - 1, BENCH_MONTH.year] {
            for mo in 1..=12 {
                let m = Month { year: y, month: mo }.to_string();
                for c in &dicts.countries {
                    for k in &dicts.categories {
                        let amt = Decimal::new((rows as i64 / 200).max(1) * 2_500_000 + rng.below(1_000_000) as i64, 2);
                        st.execute(params![batch, m, c.code, k.name_zh, (rows / 40).to_string(), amt.to_string()])?;
                        target_rows += 1;
                    }
                }
            }
        }
    }
    let mut fx_rows = 0;
    {
        let mut st = tx.prepare("INSERT INTO fx(batch_id, month, currency, usd_rate) VALUES (?1, ?2, ?3, ?4)")?;
        for m in &months {
            let rate = Decimal::new(1100 + (m.month as i64 * 7) % 60, 5); // ≈ 0.011 USD per RUB
            st.execute(params![batch, m.to_string(), "RUB", rate.to_string()])?;
            st.execute(params![batch, m.to_string(), "USD", "1"])?;
            fx_rows += 2;
        }
    }
    tx.commit()?;
    Ok(Generated { rows, months: months.iter().map(|m| m.to_string()).collect(), target_rows, fx_rows })
}

/// One timed run: open the database, load the months the period needs, compute country×category.
pub fn run_once(path: &Path, dicts: &Dictionaries, month: Month) -> Result<(Duration, MetricTable)> {
    let t0 = Instant::now();
    let store = Store::open(path)?;
    let period = Period::Month(month);
    let engine = MetricsEngine::load_for_period(&store, dicts, &period)?;
    let table = engine.query(&MetricQuery::new(period, vec![Dim::Country, Dim::Category]))?;
    Ok((t0.elapsed(), table))
}

/// Median of durations.
pub fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    match s.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2,
    }
}
