//! Import of messy workbooks built here with rust_xlsxwriter; every expected value is worked out by
//! hand from the cells written.

use crate::common::{book, count, dicts, rows, sheet, v, Sheet, C};
use lodestar_ingest::{import_file, ImportOptions, IngestError, RecordKind};
use lodestar_store::Store;

fn opts() -> ImportOptions {
    ImportOptions::default()
}

const SALES_HEADER: [C; 8] = [
    C::S("Month"),
    C::S("国家/地区"),
    C::S("客户名称 "),
    C::S("产品类别"),
    C::S("Tyre Size"),
    C::S("销量（条）"),
    C::S("Amount (USD)"),
    C::S("Curr"),
];

/// The messy sales sheet: title, blank row, header on row 3, merged country cells, full-width
/// digits, text numbers, subtotal and blank rows, bad cells and unknown names.
fn messy_sales() -> Sheet {
    let mut s = sheet(
        "Sales 2026-09",
        vec![
            vec![C::S("北辰轮胎 2026年9月 销售明细")], // row 1
            vec![],                                    // row 2
            SALES_HEADER.to_vec(),                     // row 3
            vec![
                C::D(2026, 9, 1, "yyyy-mm"),
                C::S("Russia "),
                C::S("Sibir Logistics"),
                C::S("TBR"),
                C::S("315/80 r22.5"),
                C::N(120.0),
                C::N(15600.5),
                C::S("usd"),
            ], // row 4
            vec![
                C::S("2026年9月"),
                C::E, // merged: Россия over rows 5-6
                C::S("阿尔泰运输"),
                C::S("全钢"),
                C::S("３１５／８０Ｒ２２．５"),
                C::S("１，２００"),
                C::S("1,234.50"),
                C::E,
            ], // row 5
            vec![
                C::N(202609.0),
                C::E,
                C::S("Altai Trans"),
                C::S("PCR"),
                C::S("205/55 R16 91V"),
                C::S("35"),
                C::S("(100.00)"),
                C::S("USD"),
            ], // row 6
            vec![C::E, C::E, C::S("小计"), C::E, C::E, C::N(1355.0), C::N(16735.0)], // row 7
            vec![],                                    // row 8
            vec![
                C::S("Sep 2026"),
                C::S("KZ"),
                C::S("新客户Z"),
                C::S("半钢"),
                C::S("999/99R99"),
                C::S("10"),
                C::S("abc"),
                C::S("USD"),
            ], // row 9: bad amount
            vec![C::S("2026/9"), C::S("哈萨克斯坦"), C::S("Sibir"), C::S("TBR"), C::S("12.00r24"), C::E, C::S("100")], // row 10: quantity missing
            vec![C::S("2026-13"), C::S("Russia"), C::S("Sibir"), C::S("TBR"), C::S("12.00R24"), C::S("1"), C::S("1")], // row 11
            vec![
                C::S("2026-09"),
                C::S("Narnia"),
                C::S("新客户Z"),
                C::S("OTR"),
                C::S("17.5-25"),
                C::S("5"),
                C::S("500"),
                C::S("卢布"),
            ], // row 12: unknown country and customer, imported and flagged
            vec![C::E, C::E, C::S("合计"), C::E, C::E, C::N(1360.0), C::N(17235.0)], // row 13
        ],
    );
    s.merges.push((4, 1, 5, "Россия"));
    s
}

fn notes() -> Sheet {
    sheet("说明", vec![vec![C::S("本文件由 ERP 导出")], vec![C::S("口径：销量单位为条")]])
}

#[test]
fn messy_sales_rows_are_cleaned_value_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let f = book(dir.path(), "sales.xlsx", &[notes(), messy_sales()]);
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &dicts(), &f, &opts()).unwrap();

    // rows 4, 5, 6 and 12 are imported; 9, 10, 11 quarantined; 7 and 13 are subtotals; 8 is blank
    assert_eq!((r.imported, r.quarantined, r.replaced, r.rows_read), (4, 3, 0, 10));
    assert!(!r.duplicate);
    assert_eq!(r.sheets.len(), 2);
    let n = &r.sheets[0];
    assert_eq!((n.sheet.as_str(), n.status.as_str(), n.kind), ("说明", "skipped", None));
    assert!(n.skip_reason.is_some());
    let s = &r.sheets[1];
    assert_eq!(s.kind, Some(RecordKind::Sales));
    assert_eq!(s.header_row, Some(3));
    assert_eq!((s.rows_read, s.imported, s.quarantined), (10, 4, 3));
    assert_eq!((s.skipped_rows, s.subtotal_rows, s.blank_rows), (3, 2, 1));
    assert_eq!(s.months, v(&["2026-09"]));
    assert_eq!(s.quarantine_reasons.get("bad_number"), Some(&1));
    assert_eq!(s.quarantine_reasons.get("missing_value"), Some(&1));
    assert_eq!(s.quarantine_reasons.get("bad_month"), Some(&1));

    let got = rows(
        &store,
        "SELECT row_no, month, country, customer, category, spec, quantity, amount, currency, COALESCE(unresolved, '∅')
         FROM sales_active ORDER BY row_no",
    );
    assert_eq!(
        got,
        vec![
            // date cell → month; trailing space trimmed; "usd" → USD; spec normalized
            v(&["4", "2026-09", "Russia", "Sibir Logistics", "TBR", "315/80R22.5", "120", "15600.5", "USD", "∅"]),
            // merged country filled down; full-width spec and 1,200; text amount with separator
            v(&["5", "2026-09", "Россия", "阿尔泰运输", "全钢", "315/80R22.5", "1200", "1234.5", "USD", "∅"]),
            // YYYYMM number; load index dropped from the spec; (100.00) negative
            v(&["6", "2026-09", "Россия", "Altai Trans", "PCR", "205/55R16", "35", "-100", "USD", "∅"]),
            // unknown country and customer: stored as written, flagged; 卢布 → RUB
            v(&["12", "2026-09", "Narnia", "新客户Z", "OTR", "17.5-25", "5", "500", "RUB", "country,customer"]),
        ]
    );

    assert_eq!(r.unresolved.countries.len(), 1);
    assert_eq!((r.unresolved.countries[0].name.as_str(), r.unresolved.countries[0].rows), ("Narnia", 1));
    assert_eq!(r.unresolved.customers.len(), 1);
    assert_eq!((r.unresolved.customers[0].name.as_str(), r.unresolved.customers[0].rows), ("新客户Z", 1));
    assert!(r.unresolved.specs.is_empty(), "999/99R99 is only on a quarantined row");

    let q = store.quarantine_list(r.batch_id).unwrap();
    let q: Vec<(i64, String, String, String, String)> = q
        .into_iter()
        .map(|e| (e.row.unwrap(), e.sheet.unwrap(), e.column.unwrap(), e.raw_value.unwrap_or_default(), e.reason))
        .collect();
    assert_eq!(
        q,
        vec![
            (9, "Sales 2026-09".into(), "Amount (USD)".into(), "abc".into(), "bad_number".into()),
            (10, "Sales 2026-09".into(), "销量(条)".into(), "".into(), "missing_value".into()),
            (11, "Sales 2026-09".into(), "Month".into(), "2026-13".into(), "bad_month".into()),
        ]
    );
    assert_eq!(store.quarantine_list(None).unwrap()[0].file, "sales.xlsx");
    let audit = store.audit_tail(1).unwrap();
    assert_eq!(audit[0].action, "import");
}

fn targets_sheet() -> Sheet {
    sheet(
        "目标",
        vec![
            vec![C::S("月份"), C::S("国家"), C::S("品类"), C::S("目标销量(条)"), C::S("目标金额（USD）")],
            vec![C::S("2026-09"), C::S("俄罗斯"), C::S("全钢"), C::S("2,000"), C::N(300000.0)],
            vec![C::S("2026-09"), C::S("哈萨克斯坦"), C::E, C::E, C::S("120 000")],
            vec![C::S("2026-09"), C::S("白俄罗斯"), C::S("半钢"), C::E, C::E],
        ],
    )
}

fn receivables_sheet(paid_first: f64) -> Sheet {
    let mut s = sheet(
        "回款跟踪",
        vec![
            vec![C::S("合同/回款明细（截至 2026-10-05）")],
            vec![
                C::S("合同号"),
                C::S("客户"),
                C::S("国家"),
                C::S("币种"),
                C::S("合同金额"),
                C::S("付款条件"),
                C::S("付款节点"),
                C::S("应回款金额"),
                C::S("约定回款日期"),
                C::S("已回款金额"),
                C::S("实际回款日期"),
                C::S("货好日期"),
                C::S("发货状态"),
            ],
            vec![
                C::E, // merged contract number over rows 3-4
                C::S("乌拉尔矿业"),
                C::S("俄罗斯"),
                C::S("USD"),
                C::S("1,000,000"),
                C::S("30%预付，70%见提单"),
                C::S("预付款"),
                C::N(300000.0),
                C::D(2026, 8, 15, "yyyy-mm-dd"),
                C::N(paid_first),
                C::S("2026/8/20"),
                C::S("2026年10月10日"),
                C::S("booked"),
            ],
            vec![
                C::E,
                C::S("乌拉尔矿业"),
                C::S("俄罗斯"),
                C::S("USD"),
                C::E,
                C::E,
                C::S("见提单"),
                C::S("700,000"),
                C::S("2026-11-30"),
                C::E,
                C::E,
                C::S("2026-10-10"),
                C::S("未发货"),
            ],
        ],
    );
    s.merges.push((2, 0, 3, "BC-2026-017"));
    s
}

fn fx_sheet(rub: &'static str) -> Sheet {
    sheet(
        "汇率",
        vec![
            vec![C::S("Period"), C::S("CCY"), C::S("Rate to USD")],
            vec![C::S("2026-09"), C::S("RUB"), C::S(rub)],
            vec![C::S("2026-09"), C::S("KZT"), C::S("0.00205")],
        ],
    )
}

fn pivot_sheet() -> Sheet {
    sheet(
        "透视",
        vec![
            vec![C::S("行标签"), C::S("求和项:销量"), C::S("求和项:销售额")],
            vec![C::S("俄罗斯"), C::N(1320.0), C::N(16835.0)],
            vec![C::S("总计"), C::N(1320.0), C::N(16835.0)],
        ],
    )
}

#[test]
fn sheet_kinds_are_detected_from_headers() {
    let dir = tempfile::tempdir().unwrap();
    let f =
        book(dir.path(), "mixed.xlsx", &[targets_sheet(), receivables_sheet(0.0), fx_sheet("0.0105"), pivot_sheet()]);
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &dicts(), &f, &opts()).unwrap();
    let kinds: Vec<(&str, Option<RecordKind>, &str)> =
        r.sheets.iter().map(|s| (s.sheet.as_str(), s.kind, s.status.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            ("目标", Some(RecordKind::Targets), "imported"),
            ("回款跟踪", Some(RecordKind::Receivables), "imported"),
            ("汇率", Some(RecordKind::Fx), "imported"),
            ("透视", None, "skipped"),
        ]
    );
    // targets: rows 2 and 3 imported, row 4 has neither target → quarantined
    assert_eq!((r.sheets[0].imported, r.sheets[0].quarantined), (2, 1));
    assert_eq!(
        rows(
            &store,
            "SELECT month, country, COALESCE(category,'∅'), COALESCE(target_quantity,'∅'), COALESCE(target_amount,'∅'), currency
             FROM targets_active ORDER BY row_no"
        ),
        vec![
            v(&["2026-09", "俄罗斯", "全钢", "2000", "300000", "USD"]),
            v(&["2026-09", "哈萨克斯坦", "∅", "∅", "120000", "USD"]),
        ]
    );
    // receivables: the merged contract number fills both installments; nodes and states normalized
    assert_eq!(r.sheets[1].header_row, Some(2));
    assert_eq!(
        rows(
            &store,
            "SELECT contract_no, customer, COALESCE(contract_amount,'∅'), payment_node, due_amount, COALESCE(due_date,'∅'),
                    paid_amount, COALESCE(paid_date,'∅'), COALESCE(goods_ready_date,'∅'), COALESCE(shipping_status,'∅')
             FROM receivables_active ORDER BY row_no"
        ),
        vec![
            v(&[
                "BC-2026-017",
                "乌拉尔矿业",
                "1000000",
                "预付",
                "300000",
                "2026-08-15",
                "0",
                "2026-08-20",
                "2026-10-10",
                "已订舱"
            ]),
            v(&["BC-2026-017", "乌拉尔矿业", "∅", "见提单", "700000", "2026-11-30", "0", "∅", "2026-10-10", "未发货"]),
        ]
    );
    assert_eq!(
        rows(&store, "SELECT month, currency, usd_rate FROM fx_active ORDER BY currency"),
        vec![v(&["2026-09", "KZT", "0.00205"]), v(&["2026-09", "RUB", "0.0105"])]
    );
    assert_eq!(r.imported, 2 + 2 + 2);
}

#[test]
fn kind_override_limits_detection_to_that_kind() {
    let dir = tempfile::tempdir().unwrap();
    let f = book(dir.path(), "t.xlsx", &[targets_sheet()]);
    let mut store = Store::open_in_memory().unwrap();
    // as sales, the targets headers name only 月份, 国家, 品类 (3 of 7 required): not a sales sheet
    let o = ImportOptions { kind: Some(RecordKind::Sales), ..opts() };
    let r = import_file(&mut store, &dicts(), &f, &o).unwrap();
    assert_eq!(r.sheets[0].status, "skipped");
    assert_eq!(r.imported, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM targets"), 0);
}

#[test]
fn byte_identical_file_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = book(dir.path(), "sales.xlsx", &[messy_sales()]);
    let mut store = Store::open_in_memory().unwrap();
    let first = import_file(&mut store, &dicts(), &f, &opts()).unwrap();
    let copy = dir.path().join("sales-copy.xlsx");
    std::fs::copy(&f, &copy).unwrap();
    let again = import_file(&mut store, &dicts(), &copy, &opts()).unwrap();
    assert!(again.duplicate);
    assert_eq!((again.imported, again.quarantined), (0, 0));
    assert_eq!(again.batch_id, first.batch_id);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sales"), 4);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM import_batches"), 1);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM quarantine"), 3);
}

fn sales_export(name: &'static str, rows: &[(&'static str, &'static str, f64)]) -> Sheet {
    let mut out =
        vec![vec![C::S("月份"), C::S("国家"), C::S("客户"), C::S("品类"), C::S("规格"), C::S("销量"), C::S("销售额")]];
    for &(m, cust, q) in rows {
        out.push(vec![
            C::S(m),
            C::S("俄罗斯"),
            C::S(cust),
            C::S("全钢"),
            C::S("315/80R22.5"),
            C::N(q),
            C::N(q * 100.0),
        ]);
    }
    sheet(name, out)
}

#[test]
fn newer_export_replaces_the_months_it_covers_and_undo_restores() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = book(
        dir.path(),
        "v1.xlsx",
        &[sales_export(
            "销售",
            &[("2026-08", "西伯利亚物流", 10.0), ("2026-09", "西伯利亚物流", 20.0), ("2026-09", "阿尔泰运输", 30.0)],
        )],
    );
    let v2 = book(
        dir.path(),
        "v2.xlsx",
        &[sales_export("销售", &[("2026-09", "西伯利亚物流", 25.0), ("2026-10", "阿尔泰运输", 40.0)])],
    );
    let mut store = Store::open_in_memory().unwrap();
    let d = dicts();
    let r1 = import_file(&mut store, &d, &v1, &opts()).unwrap();
    let r2 = import_file(&mut store, &d, &v2, &opts()).unwrap();
    // v2 covers September and October: v1's two September rows are replaced, August stays
    assert_eq!((r2.imported, r2.replaced), (2, 2));
    let active = "SELECT month, customer, quantity FROM sales_active ORDER BY month, customer";
    assert_eq!(
        rows(&store, active),
        vec![
            v(&["2026-08", "西伯利亚物流", "10"]),
            v(&["2026-09", "西伯利亚物流", "25"]),
            v(&["2026-10", "阿尔泰运输", "40"])
        ]
    );
    // v1 cannot be undone while v2 replaced part of it
    assert!(store.undo_batch(r1.batch_id.unwrap(), "admin").is_err());
    let u = store.undo_batch(r2.batch_id.unwrap(), "admin").unwrap();
    assert_eq!((u.deleted, u.restored), (2, 2));
    assert_eq!(
        rows(&store, active),
        // (SQLite orders text by code point: 西 U+897F before 阿 U+963F)
        vec![
            v(&["2026-08", "西伯利亚物流", "10"]),
            v(&["2026-09", "西伯利亚物流", "20"]),
            v(&["2026-09", "阿尔泰运输", "30"])
        ]
    );
    // after the undo, the same file can be imported again
    let r3 = import_file(&mut store, &d, &v2, &opts()).unwrap();
    assert!(!r3.duplicate);
    assert_eq!(r3.replaced, 2);
}

#[test]
fn append_adds_rows_without_replacing() {
    let dir = tempfile::tempdir().unwrap();
    let a = book(dir.path(), "a.xlsx", &[sales_export("销售", &[("2026-09", "西伯利亚物流", 20.0)])]);
    let b = book(dir.path(), "b.xlsx", &[sales_export("销售", &[("2026-09", "阿尔泰运输", 30.0)])]);
    let mut store = Store::open_in_memory().unwrap();
    import_file(&mut store, &dicts(), &a, &opts()).unwrap();
    let r = import_file(&mut store, &dicts(), &b, &ImportOptions { append: true, ..opts() }).unwrap();
    assert_eq!((r.imported, r.replaced), (1, 0));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sales_active"), 2);
}

#[test]
fn receivables_and_rates_update_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let a = book(dir.path(), "ar-1.xlsx", &[receivables_sheet(0.0), fx_sheet("0.0105")]);
    let b = book(dir.path(), "ar-2.xlsx", &[receivables_sheet(300000.0), fx_sheet("0.0110")]);
    let mut store = Store::open_in_memory().unwrap();
    import_file(&mut store, &dicts(), &a, &opts()).unwrap();
    let r = import_file(&mut store, &dicts(), &b, &opts()).unwrap();
    // both installments (same keys) and both rates (same month and currency) are replaced
    assert_eq!(r.sheets[0].replaced, 2);
    assert_eq!(r.sheets[1].replaced, 2);
    assert_eq!(
        rows(&store, "SELECT payment_node, paid_amount FROM receivables_active ORDER BY row_no"),
        vec![v(&["预付", "300000"]), v(&["见提单", "0"])]
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM receivables"), 4);
    assert_eq!(rows(&store, "SELECT usd_rate FROM fx_active WHERE currency = 'RUB'"), vec![v(&["0.011"])]);
}

#[test]
fn duplicate_installment_in_one_file_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = receivables_sheet(0.0);
    let dup = s.rows[3].clone();
    s.rows.push(dup.into_iter().enumerate().map(|(i, c)| if i == 0 { C::S("BC-2026-017") } else { c }).collect());
    let f = book(dir.path(), "ar.xlsx", &[s]);
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &dicts(), &f, &opts()).unwrap();
    assert_eq!((r.imported, r.quarantined), (2, 1));
    assert_eq!(r.sheets[0].quarantine_reasons.get("duplicate_key"), Some(&1));
}

#[test]
fn missing_required_column_fails_with_expected_and_nearest_names() {
    let dir = tempfile::tempdir().unwrap();
    let s = sheet(
        "销售明细",
        vec![
            vec![
                C::S("月份"),
                C::S("国家"),
                C::S("客户"),
                C::S("品类"),
                C::S("规格号码"),
                C::S("销量"),
                C::S("销售额"),
            ],
            vec![
                C::S("2026-09"),
                C::S("俄罗斯"),
                C::S("西伯利亚物流"),
                C::S("全钢"),
                C::S("315/80R22.5"),
                C::N(1.0),
                C::N(2.0),
            ],
        ],
    );
    let f = book(dir.path(), "bad.xlsx", &[messy_sales(), s]);
    let mut store = Store::open_in_memory().unwrap();
    let err = import_file(&mut store, &dicts(), &f, &opts()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, IngestError::MissingColumns { .. }), "{msg}");
    assert!(msg.contains("sheet \"销售明细\""), "{msg}");
    assert!(msg.contains("looks like sales data"), "{msg}");
    assert!(msg.contains("规格 (expected one of: 规格, 轮胎规格"), "{msg}");
    assert!(msg.contains("Size"), "{msg}");
    assert!(msg.contains("nearest header seen: \"规格号码\""), "{msg}");
    // one transaction per file: the good sheet before it was not stored either
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sales"), 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM import_batches"), 0);
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broken.xlsx");
    std::fs::write(&f, b"this is not a zip file").unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let err = import_file(&mut store, &dicts(), &f, &opts()).unwrap_err();
    assert!(matches!(err, IngestError::Unreadable { .. }));
    assert!(err.to_string().starts_with("cannot read "), "{err}");
    assert!(err.to_string().contains("broken.xlsx"), "{err}");
    let missing = dir.path().join("nope.xlsx");
    let err = import_file(&mut store, &dicts(), &missing, &opts()).unwrap_err();
    assert!(matches!(err, IngestError::Unreadable { .. }), "{err}");
}

#[test]
fn csv_exports_import_too() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sales.csv");
    std::fs::write(
        &f,
        "\u{feff}Month,Country,Customer,Category,Size,Qty,Amount\n2026-09,RU,Sibir,TBR,11r22.5,\"1,000\",\"12,345.60\"\n",
    )
    .unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &dicts(), &f, &opts()).unwrap();
    assert_eq!(r.imported, 1);
    assert_eq!(
        rows(&store, "SELECT country, customer, spec, quantity, amount FROM sales_active"),
        vec![v(&["RU", "Sibir", "11R22.5", "1000", "12345.6"])]
    );
}
