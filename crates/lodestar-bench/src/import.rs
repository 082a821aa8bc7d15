//! Import benchmark (`lodestar bench import`): writes a large messy sales workbook — header row
//! below a title, English/Chinese/Cyrillic aliases, text numbers with thousands separators,
//! full-width digits, every month form, trailing spaces, subtotal and blank rows, a few unknown
//! names and bad cells — and measures the end-to-end import into a fresh store.
//!
//! `rust_xlsxwriter` is re-exported so that tests elsewhere can build their own workbooks.

pub use rust_xlsxwriter;

use lodestar_dict::Dictionaries;
use lodestar_ingest::{import_file, ImportOptions, IngestError};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Result of one import benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Data rows generated (subtotal and blank rows come on top).
    pub rows: usize,
    /// Size of the generated workbook in bytes.
    pub file_bytes: u64,
    /// Time to generate the workbook, in seconds.
    pub generate_s: f64,
    /// End to end: read the file, hash, parse, clean, insert, commit.
    pub import_s: f64,
    /// Data rows (imported + quarantined) per second of `import_s`.
    pub rows_per_s: f64,
    /// Rows stored.
    pub imported: u64,
    /// Rows set aside in the quarantine.
    pub quarantined: u64,
    /// Subtotal and blank rows skipped.
    pub skipped_rows: u64,
    /// Distinct names no dictionary resolved.
    pub unresolved_names: usize,
}

/// A small deterministic generator (64-bit LCG), so the workbook is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| if ('!'..='~').contains(&c) { char::from_u32(c as u32 + 0xFEE0).unwrap_or(c) } else { c })
        .collect()
}

fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn xerr(e: rust_xlsxwriter::XlsxError) -> IngestError {
    IngestError::Invalid(format!("cannot write workbook: {e}"))
}

/// Writes a messy sales workbook with `rows` data rows to `path` (names drawn from `dicts`).
pub fn write_messy_sales_workbook(path: &Path, rows: usize, dicts: &Dictionaries) -> Result<(), IngestError> {
    let mut rng = Lcg(0x5EED_2026);
    let countries: Vec<Vec<String>> =
        dicts.countries.iter().map(|c| c.all_names().map(|s| s.to_string()).collect()).collect();
    let customers: Vec<(Vec<String>, String)> =
        dicts.customers.iter().map(|c| (c.all_names().map(|s| s.to_string()).collect(), c.country.clone())).collect();
    let categories: Vec<Vec<String>> =
        dicts.categories.iter().map(|c| c.all_names().map(|s| s.to_string()).collect()).collect();
    let specs: Vec<String> = dicts.specs.iter().map(|s| s.spec.clone()).collect();
    let owners: Vec<String> = dicts.staff.iter().map(|s| s.name.clone()).collect();
    if countries.is_empty() || customers.is_empty() || categories.is_empty() || specs.is_empty() {
        return Err(IngestError::Invalid("dictionaries are empty".into()));
    }

    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("说明").map_err(xerr)?;
    notes.write_string(0, 0, "本文件由 ERP 导出，仅供内部使用").map_err(xerr)?;
    notes.write_string(1, 0, "口径：销量单位为条，金额为含税美元").map_err(xerr)?;

    let month_fmt = Format::new().set_num_format("yyyy-mm");
    let ws = wb.add_worksheet();
    ws.set_name("销售明细").map_err(xerr)?;
    ws.write_string(0, 0, "北辰轮胎 北部战区销售明细（2025-2026）").map_err(xerr)?;
    ws.write_string(1, 0, "导出时间：2026-10-05").map_err(xerr)?;
    let headers =
        ["Month", "国家/地区", "客户名称", "产品类别", "Tyre Size", "销量(条)", "Amount (USD)", "Curr", "Sales Rep"];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(3, c as u16, *h).map_err(xerr)?;
    }
    let mut r: u32 = 4;
    for i in 0..rows {
        if i > 0 && i.is_multiple_of(500) {
            // a subtotal row and a blank row every 500 data rows
            ws.write_string(r, 1, "小计").map_err(xerr)?;
            ws.write_number(r, 5, 12345.0).map_err(xerr)?;
            r += 2;
        }
        let year = 2025 + (i / 7) as i32 % 2;
        let month = 1 + (i / 3) as u32 % 12;
        match i % 6 {
            0 => {
                let d = ExcelDateTime::from_ymd(year as u16, month as u8, 1).map_err(xerr)?;
                ws.write_datetime_with_format(r, 0, &d, &month_fmt).map_err(xerr)?;
            }
            1 => ws.write_string(r, 0, format!("{year}-{month:02}")).map_err(xerr).map(|_| ())?,
            2 => ws.write_string(r, 0, format!("{year}年{month}月")).map_err(xerr).map(|_| ())?,
            3 => ws.write_number(r, 0, (year * 100 + month as i32) as f64).map_err(xerr).map(|_| ())?,
            4 => {
                const EN: [&str; 12] =
                    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
                ws.write_string(r, 0, format!("{} {year}", EN[month as usize - 1])).map_err(xerr).map(|_| ())?
            }
            _ => ws.write_string(r, 0, format!("{year}/{month}")).map_err(xerr).map(|_| ())?,
        }
        let (cust_names, cust_country) = &customers[rng.below(customers.len())];
        let country_names = dicts
            .countries
            .iter()
            .position(|c| &c.code == cust_country)
            .map(|p| &countries[p])
            .unwrap_or(&countries[0]);
        let mut country = country_names[rng.below(country_names.len())].clone();
        if i.is_multiple_of(11) {
            country.push_str("  ");
        }
        ws.write_string(r, 1, &country).map_err(xerr)?;
        let customer = if i.is_multiple_of(997) {
            format!("新客户{}", i % 7)
        } else {
            let n = &cust_names[rng.below(cust_names.len())];
            if i.is_multiple_of(13) {
                format!(" {n} ")
            } else {
                n.clone()
            }
        };
        ws.write_string(r, 2, &customer).map_err(xerr)?;
        let cat = &categories[rng.below(categories.len())];
        ws.write_string(r, 3, &cat[rng.below(cat.len())]).map_err(xerr)?;
        let spec = &specs[rng.below(specs.len())];
        let spec_text = match i % 5 {
            0 => spec.to_lowercase(),
            1 => spec.replace('R', " R"),
            2 if i % 10 == 2 => fullwidth(spec),
            _ => spec.clone(),
        };
        ws.write_string(r, 4, &spec_text).map_err(xerr)?;
        let qty = 4 + rng.below(600) as u64;
        match i % 4 {
            0 => ws.write_number(r, 5, qty as f64).map_err(xerr).map(|_| ())?,
            1 => ws.write_string(r, 5, thousands(qty * 10)).map_err(xerr).map(|_| ())?,
            2 => ws.write_string(r, 5, fullwidth(&qty.to_string())).map_err(xerr).map(|_| ())?,
            _ => ws.write_string(r, 5, format!("{qty} ")).map_err(xerr).map(|_| ())?,
        }
        let cents = qty * (8_000 + rng.below(40_000) as u64);
        if i.is_multiple_of(1999) {
            ws.write_string(r, 6, "待定").map_err(xerr)?; // a bad amount: goes to the quarantine
        } else if i.is_multiple_of(3) {
            ws.write_string(r, 6, format!("{}.{:02}", thousands(cents / 100), cents % 100)).map_err(xerr)?;
        } else {
            ws.write_number(r, 6, cents as f64 / 100.0).map_err(xerr)?;
        }
        ws.write_string(r, 7, if i.is_multiple_of(9) { "usd" } else { "USD" }).map_err(xerr)?;
        if !owners.is_empty() && i.is_multiple_of(2) {
            ws.write_string(r, 8, &owners[rng.below(owners.len())]).map_err(xerr)?;
        }
        r += 1;
    }
    ws.write_string(r, 1, "合计").map_err(xerr)?;
    wb.save(path).map_err(xerr)?;
    Ok(())
}

/// Generates the workbook in a temporary directory, imports it into a temporary store and
/// reports the throughput.
pub fn run_import_bench(rows: usize, dicts: &Dictionaries) -> Result<BenchReport, IngestError> {
    let dir = tempfile::tempdir().map_err(|source| IngestError::Io { path: "temp dir".into(), source })?;
    let file = dir.path().join("messy-sales.xlsx");
    let t0 = Instant::now();
    write_messy_sales_workbook(&file, rows, dicts)?;
    let generate_s = t0.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let mut store = lodestar_store::Store::open(&dir.path().join("home").join("lodestar.db"))?;
    let t1 = Instant::now();
    let report = import_file(&mut store, dicts, &file, &ImportOptions::default())?;
    let import_s = t1.elapsed().as_secs_f64();
    let skipped_rows: u64 = report.sheets.iter().map(|s| s.skipped_rows).sum();
    Ok(BenchReport {
        rows,
        file_bytes,
        generate_s,
        import_s,
        rows_per_s: if import_s > 0.0 { rows as f64 / import_s } else { 0.0 },
        imported: report.imported,
        quarantined: report.quarantined,
        skipped_rows,
        unresolved_names: report.unresolved.total_names(),
    })
}
