//! Workbook builders for the import tests: each test writes its own messy workbook.
#![allow(dead_code)]

use lodestar_dict::Dictionaries;
use lodestar_store::Store;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};
use std::path::{Path, PathBuf};

pub fn dicts() -> Dictionaries {
    Dictionaries::builtin().unwrap()
}

/// A cell to write.
#[derive(Clone, Debug)]
pub enum C {
    S(&'static str),
    Own(String),
    N(f64),
    /// A date cell (year, month, day) with the given number format.
    D(u16, u8, u8, &'static str),
    E,
}

pub fn write_row(ws: &mut Worksheet, r: u32, cells: &[C]) {
    for (c, v) in cells.iter().enumerate() {
        let c = c as u16;
        match v {
            C::S(s) => {
                ws.write_string(r, c, *s).unwrap();
            }
            C::Own(s) => {
                ws.write_string(r, c, s).unwrap();
            }
            C::N(n) => {
                ws.write_number(r, c, *n).unwrap();
            }
            C::D(y, m, d, fmt) => {
                let dt = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                ws.write_datetime_with_format(r, c, &dt, &Format::new().set_num_format(*fmt)).unwrap();
            }
            C::E => {}
        }
    }
}

/// A sheet: name and rows (row index = position).
pub struct Sheet {
    pub name: &'static str,
    pub rows: Vec<Vec<C>>,
    /// (first_row, col, last_row, text) vertical merges
    pub merges: Vec<(u32, u16, u32, &'static str)>,
}

pub fn sheet(name: &'static str, rows: Vec<Vec<C>>) -> Sheet {
    Sheet { name, rows, merges: Vec::new() }
}

pub fn write_book(path: &Path, sheets: &[Sheet]) {
    let mut wb = Workbook::new();
    for s in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(s.name).unwrap();
        for (r, row) in s.rows.iter().enumerate() {
            write_row(ws, r as u32, row);
        }
        for &(r0, c, r1, text) in &s.merges {
            ws.merge_range(r0, c, r1, c, text, &Format::new()).unwrap();
        }
    }
    wb.save(path).unwrap();
}

pub fn book(dir: &Path, name: &str, sheets: &[Sheet]) -> PathBuf {
    let p = dir.join(name);
    write_book(&p, sheets);
    p
}

/// Rows of a query as strings (NULL → "∅").
pub fn rows(store: &Store, sql: &str) -> Vec<Vec<String>> {
    let mut st = store.conn().prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                lodestar_store::rusqlite::types::ValueRef::Null => "∅".to_string(),
                lodestar_store::rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                lodestar_store::rusqlite::types::ValueRef::Real(v) => v.to_string(),
                lodestar_store::rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                lodestar_store::rusqlite::types::ValueRef::Blob(_) => "<blob>".to_string(),
            })
            .collect())
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

pub fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

pub fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
