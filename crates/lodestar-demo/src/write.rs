//! Writing the records as workbooks in the real export layouts (canonical Chinese headers, one row
//! per record), plus the deliberately messy re-export of the end month.

use crate::model::SaleRow;
use crate::{DemoData, DemoError, DemoFile};
use chrono::{Datelike, NaiveDate};
use lodestar_core::Month;
use lodestar_dict::Dictionaries;
use rust_decimal::Decimal;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

type XResult<T> = Result<T, XlsxError>;

/// A workbook with fixed document properties, so that the bytes depend only on the content.
fn workbook(data: &DemoData, title: &str) -> XResult<Workbook> {
    let mut wb = Workbook::new();
    let d = data.as_of + chrono::Duration::days(1);
    let created = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?.and_hms(8, 0, 0)?;
    let props = DocProperties::new()
        .set_title(title)
        .set_author("北辰轮胎 北部战区运营部（演示数据）")
        .set_company("北辰轮胎 Beichen Tyre (fictional)")
        .set_creation_datetime(&created);
    wb.set_properties(&props);
    Ok(wb)
}

fn save(mut wb: Workbook, out_dir: &Path, file: &str) -> Result<std::path::PathBuf, DemoError> {
    let path = out_dir.join(file);
    wb.save(&path).map_err(|source| DemoError::Xlsx { path: path.clone(), source })?;
    Ok(path)
}

fn xerr(out_dir: &Path, file: &str) -> impl Fn(XlsxError) -> DemoError {
    let path = out_dir.join(file);
    move |source| DemoError::Xlsx { path: path.clone(), source }
}

fn num(d: Decimal) -> f64 {
    d.normalize().to_string().parse().unwrap_or(0.0)
}

fn excel_date(d: NaiveDate) -> XResult<ExcelDateTime> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

fn header(ws: &mut Worksheet, row: u32, names: &[&str], bold: &Format) -> XResult<()> {
    for (c, h) in names.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, bold)?;
    }
    Ok(())
}

fn country_zh<'a>(dict: &'a Dictionaries, code: &'a str) -> &'a str {
    dict.country_by_code(code).map(|c| c.name_zh.as_str()).unwrap_or(code)
}

fn category_zh<'a>(dict: &'a Dictionaries, code: &'a str) -> &'a str {
    dict.category_by_code(code).map(|c| c.name_zh.as_str()).unwrap_or(code)
}

fn staff_name<'a>(dict: &'a Dictionaries, id: &'a str) -> &'a str {
    dict.staff_by_id(id).map(|s| s.name.as_str()).unwrap_or(id)
}

pub(crate) fn sales(out_dir: &Path, dict: &Dictionaries, data: &DemoData) -> Result<DemoFile, DemoError> {
    const FILE: &str = "sales.xlsx";
    const SHEET: &str = "销售明细";
    let e = xerr(out_dir, FILE);
    let mut wb = workbook(data, "销售明细").map_err(&e)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let ws = wb.add_worksheet();
    ws.set_name(SHEET).map_err(&e)?;
    header(ws, 0, &["月份", "国家", "客户", "品类", "规格", "销量", "销售额", "币种", "销售负责人"], &bold)
        .map_err(&e)?;
    for (i, r) in data.sales.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, r.month.to_string()).map_err(&e)?;
        ws.write_string(row, 1, country_zh(dict, &r.country)).map_err(&e)?;
        ws.write_string(row, 2, &r.customer_name).map_err(&e)?;
        ws.write_string(row, 3, category_zh(dict, &r.category)).map_err(&e)?;
        ws.write_string(row, 4, &r.spec).map_err(&e)?;
        ws.write_number(row, 5, r.quantity as f64).map_err(&e)?;
        ws.write_number_with_format(row, 6, num(r.amount), &money).map_err(&e)?;
        ws.write_string(row, 7, &r.currency).map_err(&e)?;
        ws.write_string(row, 8, staff_name(dict, &r.owner)).map_err(&e)?;
    }
    ws.set_freeze_panes(1, 0).map_err(&e)?;
    ws.set_column_width(2, 22).map_err(&e)?;
    ws.set_column_width(4, 14).map_err(&e)?;
    ws.set_column_width(6, 14).map_err(&e)?;
    let path = save(wb, out_dir, FILE)?;
    Ok(DemoFile {
        file: FILE.into(),
        path,
        kind: "sales".into(),
        sheet: SHEET.into(),
        rows: data.sales.len(),
        note: format!(
            "{}..{} sales lines of every customer, one row per customer × spec × month; amounts in the customer's \
             invoicing currency (USD, EUR, RUB, CNY). Import first.",
            data.first_month, data.end_month
        ),
    })
}

pub(crate) fn targets(out_dir: &Path, dict: &Dictionaries, data: &DemoData) -> Result<DemoFile, DemoError> {
    const FILE: &str = "targets.xlsx";
    const SHEET: &str = "目标";
    let e = xerr(out_dir, FILE);
    let mut wb = workbook(data, "月度目标").map_err(&e)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    let ws = wb.add_worksheet();
    ws.set_name(SHEET).map_err(&e)?;
    header(ws, 0, &["月份", "国家", "品类", "目标销量", "目标金额", "币种"], &bold).map_err(&e)?;
    for (i, t) in data.targets.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, t.month.to_string()).map_err(&e)?;
        ws.write_string(row, 1, country_zh(dict, &t.country)).map_err(&e)?;
        ws.write_string(row, 2, category_zh(dict, &t.category)).map_err(&e)?;
        ws.write_number(row, 3, t.target_quantity as f64).map_err(&e)?;
        ws.write_number_with_format(row, 4, num(t.target_amount), &money).map_err(&e)?;
        ws.write_string(row, 5, &t.currency).map_err(&e)?;
    }
    ws.set_freeze_panes(1, 0).map_err(&e)?;
    let path = save(wb, out_dir, FILE)?;
    let last = data.targets.iter().map(|t| t.month).max().unwrap_or(data.end_month);
    Ok(DemoFile {
        file: FILE.into(),
        path,
        kind: "targets".into(),
        sheet: SHEET.into(),
        rows: data.targets.len(),
        note: format!(
            "monthly targets by country × category in USD, {}..{} (the whole end year, for full-year progress); \
             Japan × 巨胎 has no target before {} and pairs without sales in a year have none that year.",
            data.first_month, last, data.end_month.year
        ),
    })
}

pub(crate) fn receivables(out_dir: &Path, dict: &Dictionaries, data: &DemoData) -> Result<DemoFile, DemoError> {
    const FILE: &str = "receivables.xlsx";
    const SHEET: &str = "合同回款";
    let e = xerr(out_dir, FILE);
    let mut wb = workbook(data, "合同回款跟踪").map_err(&e)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let ws = wb.add_worksheet();
    ws.set_name(SHEET).map_err(&e)?;
    header(
        ws,
        0,
        &[
            "合同号",
            "客户",
            "国家",
            "币种",
            "合同金额",
            "付款条件",
            "付款节点",
            "应回款金额",
            "约定回款日期",
            "已回款金额",
            "实际回款日期",
            "货好日期",
            "发货状态",
        ],
        &bold,
    )
    .map_err(&e)?;
    for (i, r) in data.receivables.iter().enumerate() {
        let row = i as u32 + 1;
        let name = dict.customer_by_id(&r.customer).map(|c| c.name_zh.as_str()).unwrap_or(&r.customer);
        ws.write_string(row, 0, &r.contract_no).map_err(&e)?;
        ws.write_string(row, 1, name).map_err(&e)?;
        ws.write_string(row, 2, country_zh(dict, &r.country)).map_err(&e)?;
        ws.write_string(row, 3, &r.currency).map_err(&e)?;
        ws.write_number_with_format(row, 4, num(r.contract_amount), &money).map_err(&e)?;
        ws.write_string(row, 5, &r.payment_terms).map_err(&e)?;
        ws.write_string(row, 6, r.node.label()).map_err(&e)?;
        ws.write_number_with_format(row, 7, num(r.due_amount), &money).map_err(&e)?;
        ws.write_datetime_with_format(row, 8, excel_date(r.due_date).map_err(&e)?, &date).map_err(&e)?;
        ws.write_number_with_format(row, 9, num(r.paid_amount), &money).map_err(&e)?;
        if let Some(d) = r.paid_date {
            ws.write_datetime_with_format(row, 10, excel_date(d).map_err(&e)?, &date).map_err(&e)?;
        }
        if let Some(d) = r.goods_ready {
            ws.write_datetime_with_format(row, 11, excel_date(d).map_err(&e)?, &date).map_err(&e)?;
        }
        ws.write_string(row, 12, r.shipping.label()).map_err(&e)?;
    }
    ws.set_freeze_panes(1, 0).map_err(&e)?;
    ws.set_column_width(0, 18).map_err(&e)?;
    ws.set_column_width(5, 40).map_err(&e)?;
    for c in [8, 10, 11] {
        ws.set_column_width(c, 12).map_err(&e)?;
    }
    let path = save(wb, out_dir, FILE)?;
    let contracts: std::collections::BTreeSet<&str> = data.receivables.iter().map(|r| r.contract_no.as_str()).collect();
    Ok(DemoFile {
        file: FILE.into(),
        path,
        kind: "receivables".into(),
        sheet: SHEET.into(),
        rows: data.receivables.len(),
        note: format!(
            "{} contracts, one row per installment, staged for the as-of date {}: overdue installments in every \
             ageing bucket, 货好待款 shipments, one customer above its credit limit.",
            contracts.len(),
            data.as_of
        ),
    })
}

pub(crate) fn fx(out_dir: &Path, data: &DemoData) -> Result<DemoFile, DemoError> {
    const FILE: &str = "fx.xlsx";
    const SHEET: &str = "汇率";
    let e = xerr(out_dir, FILE);
    let mut wb = workbook(data, "月度汇率").map_err(&e)?;
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(SHEET).map_err(&e)?;
    header(ws, 0, &["月份", "币种", "对美元汇率"], &bold).map_err(&e)?;
    for (i, r) in data.fx.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, r.month.to_string()).map_err(&e)?;
        ws.write_string(row, 1, &r.currency).map_err(&e)?;
        ws.write_number(row, 2, num(r.usd_per_unit)).map_err(&e)?;
    }
    let path = save(wb, out_dir, FILE)?;
    Ok(DemoFile {
        file: FILE.into(),
        path,
        kind: "fx".into(),
        sheet: SHEET.into(),
        rows: data.fx.len(),
        note: "USD per unit of USD (1), EUR, RUB, CNY and KZT for every month of the window.".into(),
    })
}

/// Excel's serial day number of a date (1900 date system).
fn excel_serial(d: NaiveDate) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or(d);
    (d - epoch).num_days()
}

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn thousands(d: Decimal) -> String {
    let s = format!("{:.2}", d);
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |r| ("-", r));
    let mut g = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            g.push(',');
        }
        g.push(ch);
    }
    format!("{sign}{g}.{frac}")
}

fn int_thousands(q: i64) -> String {
    let s = thousands(Decimal::from(q));
    s.trim_end_matches(".00").to_string()
}

/// The country label the messy export uses for a group (aliases, local names, trailing spaces).
fn messy_country(code: &str) -> &'static str {
    match code {
        "RU" => "Россия",
        "BY" => "Belarus ",
        "KZ" => "Kazakstan",
        "AZ" => "阿塞拜疆",
        "AM" => "Armenia",
        "GE" => "格鲁吉亚",
        "UZ" => "Uzbekistan",
        "TJ" => "塔吉克斯坦",
        "KG" => "Kyrgyzstan",
        "JP" => "日本",
        "KR" => "Korea",
        _ => "",
    }
}

fn messy_category(code: &str, i: usize) -> &'static str {
    let v: &[&str] = match code {
        "TBR" => &["全钢", "TBR", "全钢胎"],
        "PCR" => &["半钢", "PCR/LTR", "半钢胎"],
        "GOTR" => &["巨胎", "Giant OTR"],
        _ => &["中小工程胎", "工程胎", "OTR"],
    };
    v[i % v.len()]
}

fn messy_spec(spec: &str, i: usize) -> String {
    match spec {
        "315/80R22.5" if i.is_multiple_of(2) => "315/80 r22.5".into(),
        "12.00R24" => "12.00r24".into(),
        "17.5-25" => "１７．５－２５".into(),
        "205/55R16" if i % 2 == 1 => "205/55 R16".into(),
        _ => spec.to_string(),
    }
}

/// One data-looking row of the messy sheet before its cells are styled.
struct MessyLine<'a> {
    month: Option<Month>,
    customer: String,
    category: &'a str,
    spec: String,
    quantity: Option<i64>,
    quantity_text: Option<&'a str>,
    amount: Option<Decimal>,
    amount_text: Option<&'a str>,
    currency: String,
    owner: String,
}

pub(crate) fn messy_sales(out_dir: &Path, dict: &Dictionaries, data: &DemoData) -> Result<DemoFile, DemoError> {
    const FILE: &str = "messy_sales.xlsx";
    let e = xerr(out_dir, FILE);
    let end = data.end_month;
    let mut wb = workbook(data, "销售明细（ERP导出）").map_err(&e)?;
    let bold = Format::new().set_bold();
    let merged = Format::new().set_align(rust_xlsxwriter::FormatAlign::VerticalCenter);
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let money = Format::new().set_num_format("#,##0.00");
    let sheet_name = format!("{}月销售", end.month);

    // the end month's rows, grouped by country in dictionary order
    let mut rows: Vec<&SaleRow> = data.sales.iter().filter(|r| r.month == end).collect();
    let order = |code: &str| dict.countries.iter().position(|c| c.code == code).unwrap_or(usize::MAX);
    rows.sort_by_key(|r| order(&r.country));
    let mut groups: Vec<(String, Vec<MessyLine>)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let cust = dict.customer_by_id(&r.customer);
        let customer = match cust {
            Some(c) if c.id == "C001" => "ООО «Сибирь Логистик»".to_string(),
            Some(c) if i % 5 == 2 && !c.name_en.is_empty() => format!("{}  ", c.name_en),
            Some(c) if i % 11 == 7 => format!("{} ", c.name_zh),
            Some(c) => c.name_zh.clone(),
            None => r.customer_name.clone(),
        };
        let owner = match dict.staff_by_id(&r.owner) {
            Some(s) if i % 4 == 3 && !s.aliases.is_empty() => s.aliases[0].clone(),
            Some(s) => s.name.clone(),
            None => r.owner.clone(),
        };
        let currency = match r.currency.as_str() {
            "USD" if i % 3 == 0 => String::new(),
            "EUR" if i % 2 == 1 => "eur".into(),
            c => c.to_string(),
        };
        let line = MessyLine {
            month: Some(end),
            customer,
            category: messy_category(&r.category, i),
            spec: messy_spec(&r.spec, i),
            quantity: Some(r.quantity),
            quantity_text: None,
            amount: Some(r.amount),
            amount_text: None,
            currency,
            owner,
        };
        match groups.last_mut() {
            Some((c, v)) if *c == r.country => v.push(line),
            _ => groups.push((r.country.clone(), vec![line])),
        }
    }
    let valid_rows = rows.len();
    // Kazakhstan gets one unknown customer and the bad rows.
    let kz_owner = dict.staff_by_id("S07").map(|s| s.name.clone()).unwrap_or_default();
    let extra = vec![
        MessyLine {
            month: Some(end),
            customer: "Novy Put Trading".into(),
            category: "TBR",
            spec: "12.00R20".into(),
            quantity: Some(40),
            quantity_text: None,
            amount: Some(Decimal::new(912_000, 2)),
            amount_text: None,
            currency: "USD".into(),
            owner: kz_owner.clone(),
        },
        MessyLine {
            month: Some(end),
            customer: "草原物流".into(),
            category: "全钢",
            spec: "315/80R22.5".into(),
            quantity: None,
            quantity_text: Some("abc"),
            amount: Some(Decimal::new(1_230_000, 2)),
            amount_text: None,
            currency: "USD".into(),
            owner: kz_owner.clone(),
        },
        MessyLine {
            month: None,
            customer: "阿拉木图轮胎之家".into(),
            category: "半钢",
            spec: "205/55R16".into(),
            quantity: Some(200),
            quantity_text: None,
            amount: Some(Decimal::new(856_000, 2)),
            amount_text: None,
            currency: "USD".into(),
            owner: kz_owner.clone(),
        },
        MessyLine {
            month: Some(end),
            customer: "卡拉干达煤炭服务".into(),
            category: "全钢",
            spec: "12.00R24".into(),
            quantity: Some(40),
            quantity_text: None,
            amount: None,
            amount_text: Some("待定"),
            currency: "USD".into(),
            owner: kz_owner,
        },
    ];
    let extra_rows = extra.len();
    match groups.iter_mut().find(|(c, _)| c == "KZ") {
        Some((_, v)) => v.extend(extra),
        None => groups.push(("KZ".into(), extra)),
    }

    let ws = wb.add_worksheet();
    ws.set_name(&sheet_name).map_err(&e)?;
    let title = format!("北辰轮胎北部战区 {}年{}月销售明细（ERP导出，未经整理）", end.year, end.month);
    ws.merge_range(0, 0, 0, 8, &title, &bold).map_err(&e)?;
    // row 1 stays blank
    header(
        ws,
        2,
        &["Month ", "国家/地区", "Customer", "产品类别", "规格型号", "数量（条）", "销售金额", "Curr.", "业务员 "],
        &bold,
    )
    .map_err(&e)?;
    let mut row: u32 = 3;
    let mut i = 0usize;
    let (mut total_q, mut total_a) = (0i64, Decimal::ZERO);
    for (gi, (country, lines)) in groups.iter().enumerate() {
        let first = row;
        let (mut sub_q, mut sub_a) = (0i64, Decimal::ZERO);
        for l in lines {
            match l.month {
                Some(m) => match i % 6 {
                    0 => ws.write_string(row, 0, format!("{}/{}", m.year, m.month)).map(|_| ()),
                    1 => ws.write_string(row, 0, format!("{}年{}月", m.year, m.month)).map(|_| ()),
                    2 => ws.write_number(row, 0, f64::from(m.year as u32 * 100 + m.month)).map(|_| ()),
                    3 => ws
                        .write_datetime_with_format(
                            row,
                            0,
                            excel_date(m.first_day() + chrono::Duration::days(14)).map_err(&e)?,
                            &date_fmt,
                        )
                        .map(|_| ()),
                    4 => ws.write_number(row, 0, excel_serial(m.first_day()) as f64).map(|_| ()),
                    _ => ws.write_string(row, 0, m.to_string()).map(|_| ()),
                },
                None => Ok(()),
            }
            .map_err(&e)?;
            ws.write_string(row, 2, &l.customer).map_err(&e)?;
            ws.write_string(row, 3, l.category).map_err(&e)?;
            ws.write_string(row, 4, &l.spec).map_err(&e)?;
            match (l.quantity, l.quantity_text) {
                (_, Some(t)) => ws.write_string(row, 5, t).map(|_| ()),
                (Some(q), None) => match i % 5 {
                    1 => ws.write_string(row, 5, q.to_string()).map(|_| ()),
                    2 => ws.write_string(row, 5, fullwidth(&q.to_string())).map(|_| ()),
                    4 if q >= 1000 => ws.write_string(row, 5, int_thousands(q)).map(|_| ()),
                    _ => ws.write_number(row, 5, q as f64).map(|_| ()),
                },
                (None, None) => Ok(()),
            }
            .map_err(&e)?;
            match (l.amount, l.amount_text) {
                (_, Some(t)) => ws.write_string(row, 6, t).map(|_| ()),
                (Some(a), None) if i % 9 == 5 => ws.write_string(row, 6, fullwidth(&thousands(a))).map(|_| ()),
                (Some(a), None) => match i % 4 {
                    1 => ws.write_string(row, 6, thousands(a)).map(|_| ()),
                    2 => ws.write_string(row, 6, format!("{:.2}", a)).map(|_| ()),
                    _ => ws.write_number_with_format(row, 6, num(a), &money).map(|_| ()),
                },
                (None, None) => Ok(()),
            }
            .map_err(&e)?;
            if !l.currency.is_empty() {
                ws.write_string(row, 7, &l.currency).map_err(&e)?;
            }
            ws.write_string(row, 8, &l.owner).map_err(&e)?;
            sub_q += l.quantity.unwrap_or(0);
            sub_a += l.amount.unwrap_or(Decimal::ZERO);
            row += 1;
            i += 1;
        }
        // the country cell merged over the group's rows
        let label = messy_country(country);
        if row - first >= 2 {
            ws.merge_range(first, 1, row - 1, 1, label, &merged).map_err(&e)?;
        } else {
            ws.write_string(first, 1, label).map_err(&e)?;
        }
        ws.write_string(row, 2, "小计").map_err(&e)?;
        ws.write_number(row, 5, sub_q as f64).map_err(&e)?;
        ws.write_number_with_format(row, 6, num(sub_a), &money).map_err(&e)?;
        row += 1;
        total_q += sub_q;
        total_a += sub_a;
        if gi % 3 == 2 {
            row += 1; // a blank row between some groups
        }
    }
    ws.write_string(row, 0, "合计").map_err(&e)?;
    ws.write_number(row, 5, total_q as f64).map_err(&e)?;
    ws.write_number_with_format(row, 6, num(total_a), &money).map_err(&e)?;
    ws.set_column_width(2, 26).map_err(&e)?;

    let notes = wb.add_worksheet();
    notes.set_name("说明").map_err(&e)?;
    let lines = [
        "本表由ERP导出，金额为原币金额，币种见 Curr. 列；币种空白为美元。",
        "小计、合计行为自动汇总，请勿重复统计。",
        "Novy Put Trading 为新开发客户，尚未录入客户主数据。",
        "数量为 abc、金额待定、月份缺失的行待业务员确认。",
        "制表：运营部 谢芳",
    ];
    for (r, l) in lines.iter().enumerate() {
        notes.write_string(r as u32, 0, *l).map_err(&e)?;
    }

    let path = save(wb, out_dir, FILE)?;
    Ok(DemoFile {
        file: FILE.into(),
        path,
        kind: "messy_sales".into(),
        sheet: sheet_name,
        rows: valid_rows + extra_rows,
        note: format!(
            "a messy re-export of all {end} sales: {valid_rows} rows with exactly the values of sales.xlsx for {end} \
             (in untidy spellings and number forms), plus 1 row for the unknown customer 'Novy Put Trading' \
             (Kazakhstan, imported and flagged unresolved) and 3 bad rows to quarantine (quantity 'abc', amount \
             '待定', month missing); subtotal (小计) and total (合计) rows and a notes sheet (说明) to skip. Import it \
             after sales.xlsx without --append: it replaces {end} with the same figures plus the unresolved row."
        ),
    })
}
