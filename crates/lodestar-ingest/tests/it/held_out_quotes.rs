//! Held-out messiness, round 2: fx rates quoted as local currency per USD, header cells merged
//! over two header rows, and empty markers (`—`, `-`, `N/A`, `/`, `无` …) in optional columns and
//! in 销售负责人. Every expected value is worked out by hand from the cells written.

use crate::common::{book, count, rows, sheet, v, C};
use lodestar_dict::Dictionaries;
use lodestar_ingest::{import_file, ImportOptions, ImportReport};
use lodestar_store::Store;
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;

fn import(path: &Path) -> (Store, ImportReport) {
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &Dictionaries::builtin().unwrap(), path, &ImportOptions::default()).unwrap();
    (store, r)
}

fn fx_book(
    dir: &Path,
    name: &str,
    header: &'static str,
    rates: &[(&'static str, &'static str, &'static str)],
) -> std::path::PathBuf {
    let mut r = vec![vec![C::S("月份"), C::S("币种"), C::S(header)]];
    for &(m, c, x) in rates {
        r.push(vec![C::S(m), C::S(c), C::S(x)]);
    }
    book(dir, name, &[sheet("汇率", r)])
}

const FX_SQL: &str = "SELECT month, currency, usd_rate FROM fx_active ORDER BY month, currency";

#[test]
fn a_rate_header_quoted_per_usd_is_inverted_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // 80 RUB per USD → 1/80 = 0.0125 USD per RUB; 0.8 EUR per USD → 1/0.8 = 1.25 USD per EUR
    // (the header's direction applies to every currency, EUR included); 500 KZT per USD → 0.002
    let p = fx_book(
        dir.path(),
        "fx1.xlsx",
        "汇率(本币/USD)",
        &[("2026-10", "RUB", "80"), ("2026-10", "EUR", "0.8"), ("2026-10", "KZT", "500")],
    );
    let (store, r) = import(&p);
    assert_eq!((r.imported, r.quarantined), (3, 0));
    assert_eq!(
        rows(&store, FX_SQL),
        vec![v(&["2026-10", "EUR", "1.25"]), v(&["2026-10", "KZT", "0.002"]), v(&["2026-10", "RUB", "0.0125"])]
    );
    assert!(r.warnings.iter().any(|w| w.contains("汇率(本币/USD)") && w.contains("inverted")), "{:?}", r.warnings);
    // other spellings of the same direction: 80 RUB per USD → 1/80 = 0.0125 again
    for (i, h) in ["1美元兑本币", "RUB/USD", "Rate (per USD)"].into_iter().enumerate() {
        let p = fx_book(dir.path(), &format!("fx1_{i}.xlsx"), h, &[("2026-10", "RUB", "80")]);
        let (store, r) = import(&p);
        assert_eq!(r.imported, 1, "{h}");
        assert_eq!(rows(&store, FX_SQL), vec![v(&["2026-10", "RUB", "0.0125"])], "{h}");
    }
}

#[test]
fn an_implausible_rate_for_a_sub_dollar_currency_is_inverted_eur_is_not() {
    let dir = tempfile::tempdir().unwrap();
    // header says USD per unit, but RUB 80 and CNY 8 cannot be (1 RUB, 1 CNY < 1 USD):
    // RUB 1/80 = 0.0125, CNY 1/8 = 0.125. EUR 1.08 and GBP 1.27 are plausible and stay.
    // RUB 2026-09 0.0125 is already USD per unit and stays.
    let p = fx_book(
        dir.path(),
        "fx2.xlsx",
        "对美元汇率",
        &[
            ("2026-10", "RUB", "80"),
            ("2026-10", "CNY", "8"),
            ("2026-10", "EUR", "1.08"),
            ("2026-10", "GBP", "1.27"),
            ("2026-09", "RUB", "0.0125"),
        ],
    );
    let (store, r) = import(&p);
    assert_eq!((r.imported, r.quarantined), (5, 0));
    assert_eq!(
        rows(&store, FX_SQL),
        vec![
            v(&["2026-09", "RUB", "0.0125"]),
            v(&["2026-10", "CNY", "0.125"]),
            v(&["2026-10", "EUR", "1.08"]),
            v(&["2026-10", "GBP", "1.27"]),
            v(&["2026-10", "RUB", "0.0125"]),
        ]
    );
    // one warning per inverted rate, naming currency, month and both values
    let w: Vec<&String> = r.warnings.iter().filter(|w| w.contains("inverted")).collect();
    assert_eq!(w.len(), 2, "{:?}", r.warnings);
    assert!(w.iter().any(|w| w.contains("RUB 2026-10") && w.contains(" 80 ") && w.contains("0.0125")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("CNY 2026-10") && w.contains(" 8 ") && w.contains("0.125")), "{w:?}");
    // an unlabelled 汇率 column with RUB 92.5: inverted the same way, 1/92.5 = 0.0108108…
    let p = fx_book(dir.path(), "fx3.xlsx", "汇率", &[("2026-10", "RUB", "92.5")]);
    let (store, _) = import(&p);
    let rate = &rows(&store, FX_SQL)[0][2];
    assert!(rate.starts_with("0.010810810810"), "{rate}");
}

#[test]
fn a_per_usd_header_over_a_usd_per_unit_number_keeps_the_number() {
    let dir = tempfile::tempdir().unwrap();
    // header says CNY per USD, but 0.14 CNY per USD would make 1 CNY worth 7.14 USD: the number
    // was written as USD per unit after all, and 0.14 is stored as written
    let p = fx_book(dir.path(), "fx4.xlsx", "汇率(本币/美元)", &[("2026-10", "CNY", "0.14")]);
    let (store, r) = import(&p);
    assert_eq!(rows(&store, FX_SQL), vec![v(&["2026-10", "CNY", "0.14"])]);
    assert!(r.warnings.iter().any(|w| w.contains("CNY 2026-10") && w.contains("kept as written")), "{:?}", r.warnings);
}

/// A merged region: (first row, first column, last row, last column) and its text.
type Merge<'a> = ((u32, u16, u32, u16), &'a str);

/// Writes a sheet with `merge_range` merges.
fn merged_book(path: &Path, rows: &[Vec<C>], merges: &[Merge<'_>]) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        crate::common::write_row(ws, r as u32, row);
    }
    for &((r0, c0, r1, c1), text) in merges {
        ws.merge_range(r0, c0, r1, c1, text, &Format::new()).unwrap();
    }
    wb.save(path).unwrap();
}

const SALES_SQL: &str =
    "SELECT month, country, customer, category, spec, quantity, amount, currency FROM sales_active ORDER BY row_no";

#[test]
fn top_headers_merged_down_over_a_sub_header_row_are_one_header() {
    let dir = tempfile::tempdir().unwrap();
    // row 1: 月份 国家 客户 (A1:A2 … merged down) 产品 (D1:E1) 销售 (F1:G1) 币种 (H1:H2)
    // row 2:  _    _    _   品类 规格  销量 销售额  _
    let data = vec![
        vec![
            C::S("2026-10"),
            C::S("俄罗斯"),
            C::S("西伯利亚物流"),
            C::S("全钢"),
            C::S("315/80R22.5"),
            C::N(10.0),
            C::N(2000.0),
            C::S("USD"),
        ],
        vec![
            C::S("2026-10"),
            C::S("哈萨克斯坦"),
            C::S("阿尔泰矿业"),
            C::S("巨胎"),
            C::S("59/80R63"),
            C::N(2.0),
            C::N(60000.0),
            C::S("USD"),
        ],
    ];
    let mut r = vec![
        vec![C::E, C::E, C::E, C::E, C::E, C::E, C::E, C::E],
        vec![C::E, C::E, C::E, C::S("品类"), C::S("规格"), C::S("销量"), C::S("销售额"), C::E],
    ];
    r.extend(data.clone());
    let p = dir.path().join("n2.xlsx");
    merged_book(
        &p,
        &r,
        &[
            ((0, 0, 1, 0), "月份"),
            ((0, 1, 1, 1), "国家"),
            ((0, 2, 1, 2), "客户"),
            ((0, 3, 0, 4), "产品"),
            ((0, 5, 0, 6), "销售"),
            ((0, 7, 1, 7), "币种"),
        ],
    );
    let (store, rep) = import(&p);
    assert_eq!((rep.imported, rep.quarantined), (2, 0), "{rep:?}");
    assert_eq!(rep.sheets[0].header_row, Some(2));
    let expect = vec![
        v(&["2026-10", "俄罗斯", "西伯利亚物流", "全钢", "315/80R22.5", "10", "2000", "USD"]),
        v(&["2026-10", "哈萨克斯坦", "阿尔泰矿业", "巨胎", "59/80R63", "2", "60000", "USD"]),
    ];
    assert_eq!(rows(&store, SALES_SQL), expect);

    // parent 本月 (F1:G1) over 数量(条) | 金额(USD), every other header merged down
    let mut r = vec![vec![C::E; 8], vec![C::E, C::E, C::E, C::E, C::E, C::S("数量(条)"), C::S("金额(USD)"), C::E]];
    r.extend(data);
    let p = dir.path().join("n2b.xlsx");
    merged_book(
        &p,
        &r,
        &[
            ((0, 0, 1, 0), "月份"),
            ((0, 1, 1, 1), "国家"),
            ((0, 2, 1, 2), "客户"),
            ((0, 3, 1, 3), "品类"),
            ((0, 4, 1, 4), "规格"),
            ((0, 5, 0, 6), "本月"),
            ((0, 7, 1, 7), "币种"),
        ],
    );
    let (store, rep) = import(&p);
    assert_eq!((rep.imported, rep.quarantined), (2, 0), "{rep:?}");
    assert_eq!(rows(&store, SALES_SQL), expect);
}

fn receivables(rows3: Vec<Vec<C>>) -> Vec<Vec<C>> {
    let mut r = vec![vec![
        C::S("合同号"),
        C::S("客户"),
        C::S("国家"),
        C::S("币种"),
        C::S("合同金额"),
        C::S("付款节点"),
        C::S("应回款金额"),
        C::S("约定回款日期"),
        C::S("已回款金额"),
        C::S("实际回款日期"),
        C::S("货好日期"),
        C::S("发货状态"),
    ]];
    r.extend(rows3);
    r
}

#[test]
fn empty_markers_in_optional_columns_are_blanks_in_required_ones_errors() {
    let dir = tempfile::tempdir().unwrap();
    let row = |node: &'static str,
               due: &'static str,
               paid: &'static str,
               paid_date: &'static str,
               ready: &'static str,
               amount: &'static str| {
        vec![
            C::S("BC-RU-9001"),
            C::S("西伯利亚物流"),
            C::S("俄罗斯"),
            C::S("USD"),
            C::S(amount),
            C::S(node),
            C::S("40000"),
            C::S(due),
            C::S(paid),
            C::S(paid_date),
            C::S(ready),
            C::S("未发货"),
        ]
    };
    let p = book(
        dir.path(),
        "rec.xlsx",
        &[sheet(
            "回款",
            receivables(vec![
                // paid `—` → 0 (as a blank), paid date `—` and 货好日期 `N/A` → none, 合同金额 `/` → none
                row("发货前", "2026-10-20", "—", "—", "N/A", "/"),
                row("预付", "2026-09-01", "-", "无", "2026-11-05", "--"),
                row("见提单", "2026-11-01", "n/a", "–", "空", "NA"),
            ]),
        )],
    );
    let (store, r) = import(&p);
    assert_eq!((r.imported, r.quarantined), (3, 0), "{:?}", r.sheets[0].quarantine_reasons);
    assert_eq!(
        rows(
            &store,
            "SELECT payment_node, paid_amount, COALESCE(paid_date,'∅'), COALESCE(goods_ready_date,'∅'), COALESCE(contract_amount,'∅') FROM receivables_active ORDER BY row_no"
        ),
        vec![
            v(&["发货前", "0", "∅", "∅", "∅"]),
            v(&["预付", "0", "∅", "2026-11-05", "∅"]),
            v(&["见提单", "0", "∅", "∅", "∅"]),
        ]
    );
    // required columns: `—` as 应回款金额 or as 销量 is still a bad number
    let mut bad = row("发货后", "2026-12-01", "0", "", "", "");
    bad[6] = C::S("—");
    let p = book(dir.path(), "rec2.xlsx", &[sheet("回款", receivables(vec![bad]))]);
    let (_, r) = import(&p);
    assert_eq!((r.imported, r.quarantined), (0, 1));
    assert_eq!(r.sheets[0].quarantine_reasons.get("bad_number"), Some(&1));
    let p = book(
        dir.path(),
        "s.xlsx",
        &[sheet(
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
                ],
                vec![
                    C::S("2026-10"),
                    C::S("俄罗斯"),
                    C::S("西伯利亚物流"),
                    C::S("全钢"),
                    C::S("315/80R22.5"),
                    C::S("—"),
                    C::S("2000"),
                ],
            ],
        )],
    );
    let (_, r) = import(&p);
    assert_eq!(r.sheets[0].quarantine_reasons.get("bad_number"), Some(&1));
}

#[test]
fn an_empty_marker_as_owner_means_no_owner() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = vec![vec![
        C::S("月份"),
        C::S("国家"),
        C::S("客户"),
        C::S("品类"),
        C::S("规格"),
        C::S("销量"),
        C::S("销售额"),
        C::S("币种"),
        C::S("销售负责人"),
    ]];
    for mk in ["—", "-", "N/A", "/", "--", "无", "张伟"] {
        r.push(vec![
            C::S("2026-10"),
            C::S("俄罗斯"),
            C::S("西伯利亚物流"),
            C::S("全钢"),
            C::S("315/80R22.5"),
            C::N(1.0),
            C::N(100.0),
            C::S("—"), // an empty currency marker takes the default, USD
            C::S(mk),
        ]);
    }
    let p = book(dir.path(), "owner.xlsx", &[sheet("明细", r)]);
    let (store, rep) = import(&p);
    assert_eq!((rep.imported, rep.quarantined), (7, 0));
    // six markers → no owner (the customer's owner applies at query time); 张伟 kept
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sales_active WHERE owner IS NULL"), 6);
    assert_eq!(rows(&store, "SELECT DISTINCT owner FROM sales_active WHERE owner IS NOT NULL"), vec![v(&["张伟"])]);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sales_active WHERE currency = 'USD'"), 7);
}
