//! Excel export of the ledger (督办台账导出) and of a review, with rust_xlsxwriter.

use crate::ledger::LedgerItem;
use crate::review::Review;
use crate::{LedgerError, Status};
use lodestar_dict::Dictionaries;
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use std::collections::BTreeMap;
use std::path::Path;

/// The columns of the ledger sheet, in order (a contract with the people who read the file).
pub const COLUMNS: [&str; 13] = [
    "序号",
    "会议",
    "会议日期",
    "国家",
    "负责人",
    "协同人",
    "事项类型",
    "客户",
    "事项内容",
    "截止日期",
    "状态",
    "最新进展",
    "更新时间",
];

/// Name of the sheet listing the items, one row each.
pub const LEDGER_SHEET: &str = "督办台账";
/// Name of the sheet counting the items per owner and type, by status.
pub const COUNT_SHEET: &str = "统计";

fn country_name(d: &Dictionaries, c: &Option<String>) -> String {
    c.as_deref()
        .map(|c| d.country_by_code(c).map(|x| x.name_zh.clone()).unwrap_or_else(|| c.to_string()))
        .unwrap_or_default()
}

/// Items sorted for the export: by country, owner, type (then id). Items without a country sort last.
pub fn sorted(items: &[LedgerItem], d: &Dictionaries) -> Vec<LedgerItem> {
    let mut v = items.to_vec();
    v.sort_by(|a, b| {
        let key = |i: &LedgerItem| {
            (
                i.country.is_none(),
                country_name(d, &i.country),
                i.owners.is_empty(),
                i.owners.join("、"),
                i.item_type.clone(),
                i.id,
            )
        };
        key(a).cmp(&key(b))
    });
    v
}

fn header(ws: &mut Worksheet, cols: &[&str], bold: &Format) -> Result<(), LedgerError> {
    for (c, h) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, bold)?;
    }
    Ok(())
}

fn write_items(ws: &mut Worksheet, items: &[LedgerItem], d: &Dictionaries, bold: &Format) -> Result<(), LedgerError> {
    header(ws, &COLUMNS, bold)?;
    for (n, i) in sorted(items, d).iter().enumerate() {
        let r = n as u32 + 1;
        let customer = i
            .customer
            .as_deref()
            .map(|c| d.customer_by_id(c).map(|x| x.display().to_string()).unwrap_or_else(|| c.to_string()))
            .unwrap_or_default();
        let deadline = i.deadline.map(|d| d.to_string()).or_else(|| i.deadline_text.clone()).unwrap_or_default();
        let cells: [String; 12] = [
            i.meeting.clone(),
            i.meeting_date.to_string(),
            country_name(d, &i.country),
            i.owners.join("、"),
            i.supporting_owners.join("、"),
            i.item_type.clone(),
            customer,
            i.description.clone(),
            deadline,
            i.status.label().to_string(),
            i.latest_note.clone().unwrap_or_default(),
            i.updated_at.clone(),
        ];
        ws.write_number(r, 0, (n + 1) as f64)?;
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(r, c as u16 + 1, v)?;
        }
    }
    ws.set_column_width(8, 60)?;
    ws.set_column_width(11, 40)?;
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Counts by owner × type × status: rows (负责人, 事项类型), one column per status and 合计.
/// An item with two owners counts for each.
pub fn counts(items: &[LedgerItem]) -> Vec<(String, String, [usize; 5])> {
    let mut m: BTreeMap<(String, String), [usize; 5]> = BTreeMap::new();
    for i in items {
        let owners = if i.owners.is_empty() { vec!["（未指定）".to_string()] } else { i.owners.clone() };
        let si = Status::ALL.iter().position(|s| *s == i.status).unwrap_or(0);
        for o in owners {
            m.entry((o, i.item_type.clone())).or_default()[si] += 1;
        }
    }
    m.into_iter().map(|((o, t), c)| (o, t, c)).collect()
}

fn write_counts(ws: &mut Worksheet, items: &[LedgerItem], bold: &Format) -> Result<(), LedgerError> {
    let mut cols = vec!["负责人", "事项类型"];
    cols.extend(Status::ALL.iter().map(|s| s.label()));
    cols.push("合计");
    header(ws, &cols, bold)?;
    for (n, (o, t, c)) in counts(items).iter().enumerate() {
        let r = n as u32 + 1;
        ws.write_string(r, 0, o)?;
        ws.write_string(r, 1, t)?;
        for (k, v) in c.iter().enumerate() {
            ws.write_number(r, 2 + k as u16, *v as f64)?;
        }
        ws.write_number(r, 7, c.iter().sum::<usize>() as f64)?;
    }
    Ok(())
}

/// Writes the ledger workbook: sheet 督办台账 (one row per item, columns [`COLUMNS`], sorted by
/// country, owner, type) and sheet 统计 (owner × type × status). Returns the number of items.
pub fn export_ledger(items: &[LedgerItem], d: &Dictionaries, path: &Path) -> Result<usize, LedgerError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    write_items(wb.add_worksheet().set_name(LEDGER_SHEET)?, items, d, &bold)?;
    write_counts(wb.add_worksheet().set_name(COUNT_SHEET)?, items, &bold)?;
    wb.save(path)?;
    Ok(items.len())
}

/// Writes a review workbook: a summary sheet with the two figures and one sheet per bucket.
pub fn export_review(r: &Review, d: &Dictionaries, path: &Path) -> Result<(), LedgerError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    {
        let ws = wb.add_worksheet().set_name("概览")?;
        let pct = |x: Option<f64>| x.map(|v| format!("{:.2}%", v * 100.0)).unwrap_or_else(|| "—".into());
        let rows: Vec<(String, String)> = vec![
            ("截至".into(), r.as_of.to_string()),
            ("事项".into(), r.total.to_string()),
            ("已完成".into(), r.done.len().to_string()),
            ("逾期".into(), r.overdue.len().to_string()),
            ("延期".into(), r.delayed.len().to_string()),
            ("进行中/待办".into(), r.open.len().to_string()),
            ("取消".into(), r.cancelled.len().to_string()),
            ("缺负责人或截止日期".into(), r.missing_owner_or_deadline.len().to_string()),
            ("结构化率".into(), pct(r.structured_rate)),
            ("可追踪率".into(), pct(r.trackable_rate)),
        ];
        header(ws, &["指标", "值"], &bold)?;
        for (n, (k, v)) in rows.iter().enumerate() {
            ws.write_string(n as u32 + 1, 0, k)?;
            ws.write_string(n as u32 + 1, 1, v)?;
        }
    }
    for (name, v) in [
        ("逾期", &r.overdue),
        ("延期", &r.delayed),
        ("进行中", &r.open),
        ("已完成", &r.done),
        ("缺字段", &r.missing_owner_or_deadline),
    ] {
        write_items(wb.add_worksheet().set_name(name)?, v, d, &bold)?;
    }
    wb.save(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{ImportOptions, Ledger, ListFilter};
    use calamine::{open_workbook, Reader, Xlsx};

    #[test]
    fn export_has_the_contract_columns_sorted_rows_and_counts() {
        let d = Dictionaries::builtin().unwrap();
        let mut store = lodestar_store::Store::open_in_memory().unwrap();
        let mut l = Ledger::open(&mut store).unwrap();
        let text = "## 行动项\n1. 明斯克货运订单排产。责任人：郑海峰；截止：9 月 20 日。\n2. 西伯利亚物流尾款催收。责任人：张伟，黄晓静配合；截止：9 月 15 日。\n3. 喀山轮胎贸易货款催收。责任人：孙晓东；截止：9 月 30 日。\n4. 报表模板统一。责任人：谢芳；截止：月底前。\n";
        let date = crate::parse_date("2026-09-07").unwrap();
        l.import(
            text,
            &ImportOptions {
                file: "a.md".into(),
                meeting: "经营分析会".into(),
                date,
                apply_updates: false,
                who: "t".into(),
            },
            &d,
            None,
        )
        .unwrap();
        let items = l.list(&ListFilter::default(), date, &d).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger.xlsx");
        assert_eq!(export_ledger(&items, &d, &p).unwrap(), 4);
        let mut wb: Xlsx<_> = open_workbook(&p).unwrap();
        let sheet = wb.worksheet_range(LEDGER_SHEET).unwrap();
        let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        assert_eq!(rows[0], COLUMNS.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // sorted by country name (俄 U+4FC4 < 白 U+767D, so 俄罗斯 before 白俄罗斯), then owner
        // (孙 U+5B59 < 张 U+5F20), then type; items without a country last
        let order: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r[3].as_str(), r[4].as_str())).collect();
        assert_eq!(order, vec![("俄罗斯", "孙晓东"), ("俄罗斯", "张伟"), ("白俄罗斯", "郑海峰"), ("", "谢芳")]);
        assert_eq!(rows[1][10], "待办");
        assert_eq!(rows[2][9], "2026-09-15");
        // 负责人 and 协同人 side by side
        assert_eq!((rows[2][4].as_str(), rows[2][5].as_str()), ("张伟", "黄晓静"));
        assert_eq!(rows[1][5], "");
        let counts = wb.worksheet_range(COUNT_SHEET).unwrap();
        let head: Vec<String> = counts.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
        assert_eq!(head, vec!["负责人", "事项类型", "待办", "进行中", "已完成", "延期", "取消", "合计"]);
        assert_eq!(counts.rows().count(), 5);
    }
}
