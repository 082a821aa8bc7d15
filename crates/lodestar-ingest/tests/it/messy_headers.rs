//! Held-out messiness: bilingual and decorated headers, unknown columns, summary sheets beside the
//! detail, category spellings, spaced subtotal labels, hidden copies, month and currency forms.
//! Every expected value is worked out by hand from the cells written.

use crate::common::{book, count, dicts, rows, sheet, v, Sheet, C};
use lodestar_ingest::{import_file, ImportOptions, IngestError};
use lodestar_store::Store;
use rust_xlsxwriter::Workbook;

fn import(path: &std::path::Path) -> (Store, Result<lodestar_ingest::ImportReport, IngestError>) {
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &dicts(), path, &ImportOptions::default());
    (store, r)
}

const SALES_SQL: &str = "SELECT row_no, month, country, customer, category, spec, quantity, amount, currency, COALESCE(unresolved, '∅') FROM sales_active ORDER BY sheet, row_no";

/// A complete detail sheet in canonical headers: one row, 2026-10, RU, 10 tyres for 1000 USD.
fn detail() -> Sheet {
    sheet(
        "明细",
        vec![
            vec![
                C::S("月份"),
                C::S("国家"),
                C::S("客户"),
                C::S("品类"),
                C::S("规格"),
                C::S("销量"),
                C::S("销售额"),
                C::S("币种"),
            ],
            vec![
                C::S("2026-10"),
                C::S("俄罗斯"),
                C::S("西伯利亚物流"),
                C::S("全钢"),
                C::S("315/80R22.5"),
                C::N(10.0),
                C::N(1000.0),
                C::S("USD"),
            ],
        ],
    )
}

#[test]
fn bilingual_headers_import_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let s = sheet(
        "Sales",
        vec![
            vec![
                C::S("Month/Year"),
                C::S("国家 Country"),
                C::S("客户/Customer"),
                C::S("品类/Category"),
                C::S("规格/Size"),
                C::S("Qty(条)"),
                C::S("销售额/Amount"),
                C::S("币种/Currency"),
            ],
            vec![
                C::S("2026年10月份"),
                C::S("哈萨克斯坦共和国"),
                C::S("TOO Dala Logistics"),
                C::S("TBR轮胎"),
                C::S("315/80R22,5"),
                C::S("20"),
                C::S("1 500"),
                C::S("RUR"),
            ],
        ],
    );
    let f = book(dir.path(), "h1.xlsx", &[s]);
    let (store, r) = import(&f);
    let r = r.unwrap();
    assert_eq!((r.imported, r.quarantined), (1, 0));
    assert!(r.sheets[0].unmapped_columns.is_empty(), "{:?}", r.sheets[0].unmapped_columns);
    // 月份份 → 2026-10; RUR → RUB; 22,5 → 22.5; every name resolves, so nothing is flagged
    assert_eq!(
        rows(&store, SALES_SQL),
        vec![v(&[
            "2",
            "2026-10",
            "哈萨克斯坦共和国",
            "TOO Dala Logistics",
            "TBR轮胎",
            "315/80R22.5",
            "20",
            "1500",
            "RUB",
            "∅"
        ])]
    );
    assert!(r.unresolved.is_empty(), "{:?}", r.unresolved);
}

#[test]
fn header_units_scale_amounts_and_name_the_currency() {
    let dir = tempfile::tempdir().unwrap();
    let header = |amount: &'static str| {
        vec![C::S("月份"), C::S("国家"), C::S("客户"), C::S("品类"), C::S("规格"), C::S("数量(pcs)"), C::S(amount)]
    };
    let row = |m: &'static str, amt: f64| {
        vec![C::S(m), C::S("RU"), C::S("Sibir"), C::S("TBR"), C::S("315/80R22.5"), C::N(4.0), C::N(amt)]
    };
    // 1.25 万美元 = 12,500 USD; 3000 in a (RUB) column with no 币种 column = 3000 RUB
    let a = sheet("万美元", vec![header("销售额(万美元)"), row("2026M10", 1.25)]);
    let b = sheet("卢布", vec![header("销售额(RUB)"), row("2026M09", 3000.0)]);
    let f = book(dir.path(), "units.xlsx", &[a, b]);
    let (store, r) = import(&f);
    let r = r.unwrap();
    assert_eq!((r.imported, r.quarantined), (2, 0));
    assert_eq!(
        rows(&store, "SELECT month, quantity, amount, currency FROM sales_active ORDER BY month"),
        vec![v(&["2026-09", "4", "3000", "RUB"]), v(&["2026-10", "4", "12500", "USD"])]
    );
}

#[test]
fn unknown_columns_are_listed_and_lookalikes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    // an extra 备注 column: imported without it, and the report says so
    let mut s = detail();
    s.rows[0].push(C::S("备注"));
    s.rows[1].push(C::S("加急"));
    let f = book(dir.path(), "note.xlsx", &[s]);
    let (_, r) = import(&f);
    let r = r.unwrap();
    assert_eq!(r.imported, 1);
    assert_eq!(r.sheets[0].unmapped_columns, v(&["备注"]));
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].contains("\"备注\""), "{:?}", r.warnings);

    // a currency-looking column no alias knows, while the sheet has no 币种: the RUB amounts
    // would be taken for USD, so the file fails and stores nothing
    let mut s = detail();
    s.rows[0][7] = C::S("结算币种名称");
    s.rows[1][7] = C::S("RUB");
    let f = book(dir.path(), "ccy.xlsx", &[s]);
    let (store, r) = import(&f);
    let err = r.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, IngestError::LookalikeColumns { .. }), "{msg}");
    assert!(msg.contains("\"结算币种名称\"") && msg.contains("币种 (currency)"), "{msg}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM import_batches"), 0);

    // receivables with a paid column under an unknown name: paid would default to 0
    let rec = sheet(
        "回款",
        vec![
            vec![
                C::S("合同号"),
                C::S("客户"),
                C::S("国家"),
                C::S("付款节点"),
                C::S("应回款金额"),
                C::S("约定回款日期"),
                C::S("已收货款"),
            ],
            vec![C::S("BC-1"), C::S("Sibir"), C::S("RU"), C::S("预付"), C::N(100.0), C::S("2026-09-01"), C::N(100.0)],
        ],
    );
    let f = book(dir.path(), "rec.xlsx", &[rec]);
    let (_, r) = import(&f);
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("\"已收货款\"") && msg.contains("paid_amount"), "{msg}");

    // targets with an amount column the aliases miss: targets would be null
    let t = sheet(
        "目标",
        vec![
            vec![C::S("月份"), C::S("国家"), C::S("品类"), C::S("目标销量"), C::S("年度目标值(USD)")],
            vec![C::S("2026-10"), C::S("RU"), C::S("TBR"), C::N(10.0), C::N(1000.0)],
        ],
    );
    let f = book(dir.path(), "tgt.xlsx", &[t]);
    let (_, r) = import(&f);
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("\"年度目标值(USD)\"") && msg.contains("target_amount"), "{msg}");

    // the spellings the evaluation found now map: 目标额 / 任务量 in targets, 实收 in receivables
    let t = sheet(
        "目标",
        vec![
            vec![C::S("月份"), C::S("国家"), C::S("品类"), C::S("任务量"), C::S("目标额")],
            vec![C::S("2026-10"), C::S("RU"), C::S("TBR"), C::N(10.0), C::N(1000.0)],
        ],
    );
    let f = book(dir.path(), "tgt2.xlsx", &[t]);
    let (store, r) = import(&f);
    assert_eq!(r.unwrap().imported, 1);
    assert_eq!(
        rows(&store, "SELECT target_quantity, target_amount, currency FROM targets"),
        vec![v(&["10", "1000", "USD"])]
    );
}

#[test]
fn summary_sheets_beside_the_detail_are_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let by_country = sheet(
        "附表",
        vec![
            vec![C::S("月份"), C::S("国家"), C::S("销量"), C::S("销售额")],
            vec![C::S("2026-10"), C::S("RU"), C::N(10.0), C::N(1000.0)],
        ],
    );
    let achievement = sheet(
        "达成",
        vec![
            vec![C::S("国家"), C::S("品类"), C::S("目标金额"), C::S("实际销售额"), C::S("达成率")],
            vec![C::S("RU"), C::S("TBR"), C::N(2000.0), C::N(1000.0), C::S("50%")],
        ],
    );
    let f = book(dir.path(), "side.xlsx", &[detail(), by_country, achievement]);
    let (store, r) = import(&f);
    let r = r.unwrap();
    // only the detail row: 10 tyres
    assert_eq!(r.imported, 1);
    assert_eq!(count(&store, "SELECT SUM(quantity) FROM sales_active"), 10);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM targets"), 0);
    let st: Vec<(&str, &str)> = r.sheets.iter().map(|s| (s.sheet.as_str(), s.status.as_str())).collect();
    assert_eq!(st, vec![("明细", "imported"), ("附表", "skipped"), ("达成", "skipped")]);
    assert!(r.sheets[1].skip_reason.as_deref().unwrap().contains("客户"), "{:?}", r.sheets[1].skip_reason);
    assert!(r.sheets[2].skip_reason.as_deref().unwrap().contains("月份"), "{:?}", r.sheets[2].skip_reason);
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);

    // alone, the same summary is a data sheet missing columns: a clear error
    let alone = sheet(
        "附表",
        vec![
            vec![C::S("月份"), C::S("国家"), C::S("销量"), C::S("销售额")],
            vec![C::S("2026-10"), C::S("RU"), C::N(10.0), C::N(1000.0)],
        ],
    );
    let f = book(dir.path(), "alone.xlsx", &[alone]);
    let (_, r) = import(&f);
    assert!(matches!(r, Err(IngestError::MissingColumns { .. })));
}

#[test]
fn category_comes_from_the_spec_when_empty_or_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = detail();
    // row 3: empty 品类, known TBR spec; row 4: unknown 品类, known PCR spec 205/55R16;
    // row 5: unknown 品类 and unknown spec — stored as written and flagged
    s.rows.push(vec![C::S("2026-10"), C::S("RU"), C::S("Sibir"), C::E, C::S("315/80R22.5"), C::N(1.0), C::N(1.0)]);
    s.rows.push(vec![
        C::S("2026-10"),
        C::S("RU"),
        C::S("Sibir"),
        C::S("轿车用"),
        C::S("205/55R16"),
        C::N(1.0),
        C::N(1.0),
    ]);
    s.rows.push(vec![
        C::S("2026-10"),
        C::S("RU"),
        C::S("Sibir"),
        C::S("轿车用"),
        C::S("999/99R99"),
        C::N(1.0),
        C::N(1.0),
    ]);
    let f = book(dir.path(), "cat.xlsx", &[s]);
    let (store, r) = import(&f);
    let r = r.unwrap();
    assert_eq!((r.imported, r.quarantined), (4, 0));
    assert_eq!(r.sheets[0].categories_from_spec, 2);
    assert_eq!(
        rows(&store, "SELECT row_no, category, COALESCE(unresolved, '∅') FROM sales_active ORDER BY row_no"),
        vec![
            v(&["2", "全钢", "∅"]),
            v(&["3", "TBR", "∅"]),
            v(&["4", "PCR", "∅"]),
            v(&["5", "轿车用", "category,spec"]),
        ]
    );
}

#[test]
fn spaced_subtotals_are_skipped_and_total_named_customers_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = detail();
    // row 3: a customer whose name starts with "Total": every label filled, so it is data
    s.rows.push(vec![
        C::S("2026-10"),
        C::S("KZ"),
        C::S("Total Logistics LLP"),
        C::S("TBR"),
        C::S("315/80R22.5"),
        C::N(5.0),
        C::N(500.0),
    ]);
    // rows 4-6: spaced subtotal labels in the month or customer column
    s.rows.push(vec![C::S("合 计"), C::E, C::E, C::E, C::E, C::N(15.0), C::N(1500.0)]);
    s.rows.push(vec![C::E, C::S("RU"), C::S("小  计"), C::E, C::E, C::N(10.0), C::N(1000.0)]);
    s.rows.push(vec![C::S("总\u{3000}计"), C::E, C::E, C::E, C::E, C::N(15.0), C::N(1500.0)]);
    // row 7: "Russia Total" with the customer blank: a subtotal
    s.rows.push(vec![C::E, C::S("Russia Total"), C::E, C::E, C::E, C::N(10.0), C::N(1000.0)]);
    let f = book(dir.path(), "sub.xlsx", &[s]);
    let (store, r) = import(&f);
    let r = r.unwrap();
    assert_eq!((r.imported, r.quarantined, r.sheets[0].subtotal_rows), (2, 0, 4));
    // 10 + 5 tyres
    assert_eq!(count(&store, "SELECT SUM(quantity) FROM sales_active"), 15);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sales_active WHERE customer = 'Total Logistics LLP'"), 1);
}

#[test]
fn a_hidden_copy_of_a_visible_sheet_is_not_counted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hidden.xlsx");
    let mut wb = Workbook::new();
    for (name, hidden) in [("明细", false), ("明细 (2)", true)] {
        let ws = wb.add_worksheet();
        ws.set_name(name).unwrap();
        for (r, row) in detail().rows.iter().enumerate() {
            crate::common::write_row(ws, r as u32, row);
        }
        if hidden {
            ws.set_hidden(true);
        }
    }
    wb.save(&path).unwrap();
    let (store, r) = import(&path);
    let r = r.unwrap();
    assert_eq!(r.imported, 1);
    assert_eq!(count(&store, "SELECT SUM(quantity) FROM sales_active"), 10);
    assert_eq!(r.sheets[1].status, "skipped");
    assert!(r.sheets[1].skip_reason.as_deref().unwrap().contains("hidden"));
}
