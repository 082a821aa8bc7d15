//! End to end through the binary: import (JSON report), idempotent re-import, quarantine list,
//! undo, the missing-column error, dict import/check and user accounts.

use crate::support::lodestar_in;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn lodestar(home: &Path, args: &[&str]) -> Output {
    lodestar_in(home).args(args).env_remove("LODESTAR_HOME").output().expect("run lodestar")
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// A sales sheet with a title row, header on row 2, a merged country, a subtotal and one bad row;
/// plus a notes sheet.
fn write_sales(path: &Path, sept_qty: f64) {
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("说明").unwrap();
    notes.write_string(0, 0, "导出说明").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("销售明细").unwrap();
    ws.write_string(0, 0, "2026年销售明细").unwrap();
    for (c, h) in ["月份", "国家", "客户", "品类", "规格", "销量(条)", "销售额", "币种"].iter().enumerate()
    {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    // row 3: August; rows 4-5: September with the country merged; row 6 subtotal; row 7 bad quantity
    let data: [[&str; 8]; 3] = [
        ["2026-08", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "10", "1,000", "USD"],
        ["2026年9月", "", "阿尔泰运输", "TBR", "12.00r24", "", "2,000.50", "USD"],
        ["202609", "", "Нова Компания", "TBR", "12.00R24", "5", "500", "USD"],
    ];
    for (i, row) in data.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(2 + i as u32, c as u16, *v).unwrap();
            }
        }
    }
    ws.write_number(3, 5, sept_qty).unwrap();
    ws.merge_range(3, 1, 4, 1, "俄罗斯", &Format::new()).unwrap();
    ws.write_string(5, 2, "合计").unwrap();
    ws.write_number(5, 5, 15.0 + sept_qty).unwrap();
    for (c, v) in ["2026-09", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "十", "100", "USD"].iter().enumerate()
    {
        ws.write_string(6, c as u16, *v).unwrap();
    }
    wb.save(path).unwrap();
}

#[test]
fn import_reimport_quarantine_undo() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let f = dir.path().join("sales.xlsx");
    write_sales(&f, 20.0);

    let r = json(&lodestar(&home, &["import", f.to_str().unwrap(), "--json"]));
    // rows 3, 4, 5 imported; row 7 quarantined (销量 "十"); row 6 is a subtotal
    assert_eq!(r["imported"], 3);
    assert_eq!(r["quarantined"], 1);
    assert_eq!(r["duplicate"], false);
    let batch = r["batch_id"].as_i64().unwrap();
    let sheets = r["sheets"].as_array().unwrap();
    assert_eq!(sheets[0]["status"], "skipped");
    assert_eq!(sheets[1]["kind"], "sales");
    assert_eq!(sheets[1]["header_row"], 2);
    assert_eq!(sheets[1]["skipped_rows"], 1);
    assert_eq!(sheets[1]["quarantine_reasons"]["bad_number"], 1);
    assert_eq!(r["unresolved"]["customers"][0]["name"], "Нова Компания");
    assert_eq!(r["unresolved"]["customers"][0]["rows"], 1);

    // byte-identical: nothing imported, exit 0
    let again = json(&lodestar(&home, &["--json", "import", f.to_str().unwrap()]));
    assert_eq!(again["imported"], 0);
    assert_eq!(again["duplicate"], true);

    let q = json(&lodestar(&home, &["quarantine", "list", "--batch", &batch.to_string(), "--json"]));
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["row"], 7);
    assert_eq!(q[0]["column"], "销量(条)");
    assert_eq!(q[0]["raw_value"], "十");
    assert_eq!(q[0]["reason"], "bad_number");
    assert_eq!(q[0]["sheet"], "销售明细");

    // a newer export (September quantity 20 → 30) replaces August and September rows of batch 1
    let f2 = dir.path().join("sales-v2.xlsx");
    write_sales(&f2, 30.0);
    let r2 = json(&lodestar(&home, &["import", f2.to_str().unwrap(), "--json"]));
    assert_eq!(r2["imported"], 3);
    assert_eq!(r2["replaced"], 3);
    let b2 = r2["batch_id"].as_i64().unwrap();

    let check = json(&lodestar(&home, &["dict", "check", "--json"]));
    assert_eq!(check["unresolved"]["customers"][0]["name"], "Нова Компания");

    let u = json(&lodestar(&home, &["import", "undo", &b2.to_string(), "--json"]));
    assert_eq!(u["deleted"], 3);
    assert_eq!(u["restored"], 3);
    let list = json(&lodestar(&home, &["import", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list[0]["undone_at"].is_string());

    // human report works too
    let out = lodestar(&home, &["import", f2.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rows imported"), "{text}");
    assert!(text.contains("Нова Компания"), "{text}");
}

#[test]
fn missing_column_fails_with_names() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let f = dir.path().join("bad.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["月份", "国家", "客户", "品类", "Tyre Sz", "销量", "销售额"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    wb.save(&f).unwrap();
    let out = lodestar(&home, &["import", f.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lacks required column(s): 规格"), "{err}");
    assert!(err.contains("nearest header seen: \"Tyre Sz\""), "{err}");
}

#[test]
fn dict_import_repairs_and_users() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let f = dir.path().join("sales.xlsx");
    write_sales(&f, 20.0);
    json(&lodestar(&home, &["import", f.to_str().unwrap(), "--json"]));
    let list = dir.path().join("customers.csv");
    std::fs::write(&list, "客户名称,本地名称,国家,销售负责人\n诺瓦公司,Нова Компания,俄罗斯,陈思远\n").unwrap();
    let d = json(&lodestar(&home, &["dict", "import", list.to_str().unwrap(), "--json"]));
    assert_eq!(d["list"], "customers");
    assert_eq!(d["added"], 1);
    assert!(home.join("dictionaries").join("customers.csv").exists());
    let check = json(&lodestar(&home, &["dict", "check", "--json"]));
    assert_eq!(check["unresolved"]["customers"].as_array().unwrap().len(), 0);

    let mut child = Command::new(env!("CARGO_BIN_EXE_lodestar"))
        .args(["--home", home.to_str().unwrap(), "user", "add", "li", "--role", "sales", "--clearance", "内部"])
        .args(["--kb", "product", "--kb", "policy", "--password-stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let u = json(&out);
    assert_eq!(u["role"], "sales");
    assert_eq!(u["clearance"], "内部");
    assert_eq!(u["has_password"], true);
    let users = json(&lodestar(&home, &["user", "list", "--json"]));
    assert_eq!(users[0]["name"], "li");
    assert_eq!(users[0]["kbs"], serde_json::json!(["product", "policy"]));

    // a sales user may not import
    let out = lodestar(&home, &["--as", "li", "import", f.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("may not import"));
}
