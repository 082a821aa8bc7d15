//! Tests of the generator: they read the written workbooks back with calamine and check them
//! against the dictionaries and against figures worked out independently of the generator.

use super::*;
use calamine::{open_workbook, Data, Reader, Xlsx};
use lodestar_dict::CustomerStatus;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// A sheet as a grid addressed from A1 (calamine's ranges start at the first used cell).
fn grid(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    let (r0, c0) = range.start().unwrap_or((0, 0));
    let (r1, c1) = range.end().unwrap_or((0, 0));
    let mut g = vec![vec![Data::Empty; c1 as usize + 1]; r1 as usize + 1];
    for (r, c, v) in range.cells() {
        g[r0 as usize + r][c0 as usize + c] = v.clone();
    }
    g
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        _ => String::new(),
    }
}

fn float(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

fn dec(d: &Data) -> Decimal {
    float(d).to_string().parse().unwrap()
}

fn date(d: &Data) -> Option<NaiveDate> {
    match d {
        Data::DateTime(dt) => {
            let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
            Some(epoch + chrono::Duration::days(dt.as_f64() as i64))
        }
        Data::Empty => None,
        other => panic!("not a date: {other:?}"),
    }
}

fn generated() -> (tempfile::TempDir, DemoManifest) {
    let dir = tempfile::tempdir().unwrap();
    let m = generate(dir.path(), &DemoOptions::default()).unwrap();
    (dir, m)
}

fn sha(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn same_options_give_byte_identical_workbooks() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ma = generate(a.path(), &DemoOptions::default()).unwrap();
    let mb = generate(b.path(), &DemoOptions::default()).unwrap();
    assert_eq!(ma.files.len(), 5);
    for (fa, fb) in ma.files.iter().zip(&mb.files) {
        assert_eq!(fa.file, fb.file);
        assert_eq!(fa.rows, fb.rows);
        assert_eq!(sha(&fa.path), sha(&fb.path), "{} differs between two runs", fa.file);
    }
    // another seed gives other figures
    let c = tempfile::tempdir().unwrap();
    generate(c.path(), &DemoOptions { seed: 7, ..DemoOptions::default() }).unwrap();
    assert_ne!(sha(&a.path().join("sales.xlsx")), sha(&c.path().join("sales.xlsx")));
}

#[test]
fn manifest_lists_every_file_with_kind_rows_and_note() {
    let (dir, m) = generated();
    let kinds: Vec<&str> = m.files.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["sales", "targets", "receivables", "fx", "messy_sales"]);
    assert_eq!(m.first_month.to_string(), "2024-11");
    assert_eq!(m.as_of.to_string(), "2026-10-31");
    for f in &m.files {
        assert!(f.path.starts_with(dir.path()) && f.path.exists(), "{}", f.file);
        assert!(f.rows > 0 && !f.note.is_empty(), "{}", f.file);
    }
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["end_month"], "2026-10");
    assert_eq!(json["files"][0]["kind"], "sales");
}

#[test]
fn options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate(dir.path(), &DemoOptions { months: 0, ..DemoOptions::default() }).unwrap_err();
    assert!(err.to_string().contains("months"), "{err}");
}

/// Reads fx.xlsx into (month, currency) → rate.
fn read_fx(dir: &Path) -> BTreeMap<(String, String), Decimal> {
    let g = grid(&dir.join("fx.xlsx"), "汇率");
    assert_eq!(g[0].iter().map(text).collect::<Vec<_>>(), ["月份", "币种", "对美元汇率"]);
    g[1..].iter().map(|r| ((text(&r[0]), text(&r[1])), dec(&r[2]))).collect()
}

#[test]
fn fx_rates_stay_in_their_bands_for_every_month() {
    let (dir, _) = generated();
    let fx = read_fx(dir.path());
    let months: BTreeSet<&String> = fx.keys().map(|(m, _)| m).collect();
    assert_eq!(months.len(), 24);
    let band = |c: &str| -> (Decimal, Decimal) {
        let p = |s: &str| s.parse::<Decimal>().unwrap();
        match c {
            "USD" => (p("1"), p("1")),
            "EUR" => (p("1.05"), p("1.12")),
            "RUB" => (p("0.010"), p("0.013")),
            "CNY" => (p("0.137"), p("0.142")),
            "KZT" => (p("0.0019"), p("0.0022")),
            other => panic!("unexpected currency {other}"),
        }
    };
    for m in &months {
        for c in ["USD", "EUR", "RUB", "CNY", "KZT"] {
            let r = fx[&((*m).clone(), c.to_string())];
            let (lo, hi) = band(c);
            assert!(r >= lo && r <= hi, "{m} {c} {r}");
        }
    }
}

#[test]
fn every_sales_row_resolves_through_the_builtin_dictionaries() {
    let (dir, _) = generated();
    let dict = Dictionaries::builtin().unwrap();
    let g = grid(&dir.path().join("sales.xlsx"), "销售明细");
    assert_eq!(
        g[0].iter().map(text).collect::<Vec<_>>(),
        ["月份", "国家", "客户", "品类", "规格", "销量", "销售额", "币种", "销售负责人"]
    );
    let fx = read_fx(dir.path());
    let mut customers = BTreeSet::new();
    let mut specs = BTreeSet::new();
    let mut pairs = BTreeSet::new();
    let mut months = BTreeSet::new();
    let mut english_names = 0;
    let mut currencies = BTreeSet::new();
    let mut region: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut last_month: BTreeMap<String, String> = BTreeMap::new();
    for (i, r) in g[1..].iter().enumerate() {
        let line = i + 2;
        let month = text(&r[0]);
        let country = dict.resolve_country(&text(&r[1])).unwrap_or_else(|| panic!("line {line}: country {:?}", r[1]));
        let customer =
            dict.resolve_customer(&text(&r[2])).unwrap_or_else(|| panic!("line {line}: customer {:?}", r[2]));
        let category =
            dict.resolve_category(&text(&r[3])).unwrap_or_else(|| panic!("line {line}: category {:?}", r[3]));
        let spec = dict.resolve_spec(&text(&r[4])).unwrap_or_else(|| panic!("line {line}: spec {:?}", r[4]));
        assert_eq!(spec.spec, text(&r[4]), "line {line}: specs are written in canonical form");
        assert_eq!(spec.category, category.code, "line {line}: {} is not {}", spec.spec, category.name_zh);
        assert_eq!(customer.country, country.code, "line {line}: customer in another country");
        let owner = dict.resolve_staff(&text(&r[8])).unwrap_or_else(|| panic!("line {line}: owner {:?}", r[8]));
        assert_eq!(owner.id, customer.owner, "line {line}");
        let qty = float(&r[5]);
        assert!(qty >= 1.0 && qty.fract() == 0.0, "line {line}: quantity {qty}");
        let amount = dec(&r[6]);
        let currency = text(&r[7]);
        assert_eq!(currency, customer.currency, "line {line}: invoiced in the customer's currency");
        if text(&r[2]) == customer.name_en {
            english_names += 1;
        } else {
            assert_eq!(text(&r[2]), customer.name_zh, "line {line}");
        }
        // unit price in USD per category band
        let rate = fx[&(month.clone(), currency.clone())];
        let unit_usd = amount * rate / Decimal::from(qty as i64);
        let (lo, hi) = match category.code.as_str() {
            "PCR" => (34, 91),
            "TBR" => (148, 262),
            "OTR" => (295, 1210),
            _ => (7_900, 45_500),
        };
        assert!(
            unit_usd >= Decimal::from(lo) && unit_usd <= Decimal::from(hi),
            "line {line}: {} at {unit_usd} USD/条",
            spec.spec
        );
        *region.entry(month.clone()).or_default() += amount * rate;
        let e = last_month.entry(customer.id.clone()).or_default();
        if month > *e {
            *e = month.clone();
        }
        customers.insert(customer.id.clone());
        specs.insert(spec.spec.clone());
        pairs.insert((country.code.clone(), category.code.clone()));
        months.insert(month);
        currencies.insert(currency);
    }
    assert_eq!(months.len(), 24);
    assert_eq!(months.iter().next().map(String::as_str), Some("2024-11"));
    assert_eq!(months.iter().last().map(String::as_str), Some("2026-10"));
    assert!(customers.len() >= 40, "{} customers", customers.len());
    assert!(specs.len() >= 30, "{} specs", specs.len());
    assert_eq!(pairs.len(), 44, "all 11 countries × 4 categories");
    assert!(english_names > 100, "some rows carry the English name ({english_names})");
    assert_eq!(currencies, ["CNY", "EUR", "RUB", "USD"].iter().map(|s| s.to_string()).collect());
    for (m, a) in &region {
        assert!(*a > Decimal::from(5_000_000) && *a < Decimal::from(15_000_000), "{m}: region amount {a}");
    }
    // every 合作中 customer buys; a 暂停 customer stops; 开发中 ones mostly don't
    for c in &dict.customers {
        match c.status {
            CustomerStatus::Active => assert!(customers.contains(&c.id), "{} never buys", c.id),
            CustomerStatus::Paused => {
                let last = last_month.get(&c.id).unwrap_or_else(|| panic!("{} never bought", c.id));
                assert!(last.as_str() < "2026-10", "{} still buys in {last}", c.id);
            }
            CustomerStatus::Developing => {}
        }
    }
    let developing = dict.customers.iter().filter(|c| c.status == CustomerStatus::Developing).count();
    let developing_buyers =
        dict.customers.iter().filter(|c| c.status == CustomerStatus::Developing && customers.contains(&c.id)).count();
    assert!(developing_buyers >= 1 && developing_buyers * 2 < developing, "{developing_buyers} of {developing}");
}

fn bucket(days: i64) -> &'static str {
    match days {
        1..=30 => "1-30",
        31..=60 => "31-60",
        61..=90 => "61-90",
        91..=180 => "91-180",
        _ => ">180",
    }
}

struct Rec {
    contract: String,
    customer: String,
    currency: String,
    node: String,
    due: Decimal,
    due_date: NaiveDate,
    paid: Decimal,
    ready: Option<NaiveDate>,
    status: String,
}

fn read_receivables(dir: &Path) -> Vec<Rec> {
    let g = grid(&dir.join("receivables.xlsx"), "合同回款");
    assert_eq!(
        g[0].iter().map(text).collect::<Vec<_>>(),
        [
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
            "发货状态"
        ]
    );
    let dict = Dictionaries::builtin().unwrap();
    g[1..]
        .iter()
        .map(|r| {
            let customer = dict.resolve_customer(&text(&r[1])).unwrap().id.clone();
            let paid = dec(&r[9]);
            // an installment with money received has a receipt date, and only then
            assert_eq!(paid > Decimal::ZERO, date(&r[10]).is_some(), "{:?}", r);
            Rec {
                contract: text(&r[0]),
                customer,
                currency: text(&r[3]),
                node: text(&r[6]),
                due: dec(&r[7]),
                due_date: date(&r[8]).unwrap(),
                paid,
                ready: date(&r[11]),
                status: text(&r[12]),
            }
        })
        .collect()
}

#[test]
fn receivables_have_overdue_installments_in_every_bucket() {
    let (dir, _) = generated();
    let recs = read_receivables(dir.path());
    let as_of = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    let re = regex_lite_contract();
    let mut buckets: BTreeMap<&str, Vec<&Rec>> = BTreeMap::new();
    for r in &recs {
        assert!(re(&r.contract), "contract number {}", r.contract);
        assert!(["预付", "发货前", "见提单", "发货后"].contains(&r.node.as_str()), "{}", r.node);
        assert!(["未发货", "已订舱", "已发货"].contains(&r.status.as_str()), "{}", r.status);
        if r.due_date < as_of && r.paid < r.due {
            buckets.entry(bucket((as_of - r.due_date).num_days())).or_default().push(r);
        }
    }
    for b in ["1-30", "31-60", "61-90", "91-180", ">180"] {
        assert!(buckets.get(b).map_or(0, Vec::len) >= 2, "bucket {b}: {:?}", buckets.get(b).map(Vec::len));
    }
    // Sibir Logistics, BC-RU-2026-0455: 70 % against B/L = 130,340 due 2026-09-25, 80,000 received →
    // 50,340 overdue for 5 (Sep 26–30) + 31 (October) = 36 days → bucket 31–60.
    let sibir = recs.iter().find(|r| r.contract == "BC-RU-2026-0455" && r.node == "见提单").unwrap();
    assert_eq!(sibir.customer, "C001");
    assert_eq!(sibir.due - sibir.paid, Decimal::from(50_340));
    assert_eq!((as_of - sibir.due_date).num_days(), 36);
    // Ob Agrotech, BC-RU-2025-0318: 86,400 still open from 2025-12-20: 11 days of December +
    // 304 days of Jan–Oct 2026 = 315 days → bucket > 180.
    let ob = recs.iter().find(|r| r.contract == "BC-RU-2025-0318" && r.node == "发货后").unwrap();
    assert_eq!(ob.due - ob.paid, Decimal::from(86_400));
    assert_eq!((as_of - ob.due_date).num_days(), 315);
}

fn regex_lite_contract() -> impl Fn(&str) -> bool {
    |s: &str| {
        let p: Vec<&str> = s.split('-').collect();
        p.len() == 4
            && p[0] == "BC"
            && p[1].len() == 2
            && p[2].len() == 4
            && p[3].len() == 4
            && p[2].chars().chain(p[3].chars()).all(|c| c.is_ascii_digit())
    }
}

#[test]
fn receivables_stage_shipments_waiting_for_payment_and_credit_anomalies() {
    let (dir, _) = generated();
    let recs = read_receivables(dir.path());
    let dict = Dictionaries::builtin().unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    // 货好待款: 预付/发货前 not fully paid, contract 未发货/已订舱, goods ready ≤ as-of + 14 days
    let waiting: BTreeSet<&str> = recs
        .iter()
        .filter(|r| {
            (r.node == "预付" || r.node == "发货前")
                && r.paid < r.due
                && (r.status == "未发货" || r.status == "已订舱")
                && r.ready.is_some_and(|g| (g - as_of).num_days() <= 14)
        })
        .map(|r| r.contract.as_str())
        .collect();
    assert!(waiting.len() >= 3, "{waiting:?}");
    // one with goods ready already passed, one still ahead
    let passed = recs.iter().any(|r| waiting.contains(r.contract.as_str()) && r.ready.is_some_and(|g| g < as_of));
    let ahead = recs.iter().any(|r| waiting.contains(r.contract.as_str()) && r.ready.is_some_and(|g| g > as_of));
    assert!(passed && ahead);
    // Dala Logistics BC-KZ-2026-0590: 70 % before shipment = 176,400 unpaid, goods ready 2026-10-24.
    assert!(waiting.contains("BC-KZ-2026-0590"));
    // Baikal's contract is ready 2026-11-25: 25 days out, beyond the 14-day window.
    assert!(!waiting.contains("BC-RU-2026-0596"));

    // outstanding over the credit limit (same currency as the limit)
    let mut outstanding: BTreeMap<&str, Decimal> = BTreeMap::new();
    for r in recs.iter().filter(|r| r.paid < r.due) {
        let c = dict.customer_by_id(&r.customer).unwrap();
        assert_eq!(r.currency, c.currency, "{} contracts in the credit currency", c.id);
        *outstanding.entry(r.customer.as_str()).or_default() += r.due - r.paid;
    }
    let over: Vec<&str> = outstanding
        .iter()
        .filter(|(c, o)| {
            let limit: Decimal = dict
                .customer_by_id(c)
                .and_then(|x| x.credit_limit.clone())
                .unwrap_or_default()
                .parse()
                .unwrap_or_default();
            **o > limit
        })
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(over, ["C016"], "only 阿尔泰矿业 is above its limit");

    // an installment overdue > 90 days for a customer who still buys in the end month
    let g = grid(&dir.path().join("sales.xlsx"), "销售明细");
    let buyers: BTreeSet<String> = g[1..]
        .iter()
        .filter(|r| text(&r[0]) == "2026-10")
        .map(|r| dict.resolve_customer(&text(&r[2])).unwrap().id.clone())
        .collect();
    let anomalies: BTreeSet<&str> = recs
        .iter()
        .filter(|r| r.paid < r.due && (as_of - r.due_date).num_days() > 90 && buyers.contains(&r.customer))
        .map(|r| r.customer.as_str())
        .collect();
    assert_eq!(anomalies, BTreeSet::from(["C010"]));
}

#[test]
fn targets_cover_the_end_year_and_achievement_varies() {
    let data = build(&DemoOptions::default()).unwrap();
    let mut actual: BTreeMap<(String, String, Month), Decimal> = BTreeMap::new();
    for r in &data.sales {
        *actual.entry((r.country.clone(), r.category.clone(), r.month)).or_default() += data.amount_usd(r).unwrap();
    }
    let mut lo = Decimal::from(10);
    let mut hi = Decimal::ZERO;
    for t in data.targets.iter().filter(|t| t.month <= data.end_month) {
        assert_eq!(t.currency, "USD");
        assert!(t.target_amount > Decimal::ZERO && t.target_quantity > 0);
        if let Some(a) = actual.get(&(t.country.clone(), t.category.clone(), t.month)) {
            let ach = *a / t.target_amount;
            assert!(
                ach > Decimal::new(70, 2) && ach < Decimal::new(125, 2),
                "{} {} {}: {ach}",
                t.month,
                t.country,
                t.category
            );
            lo = lo.min(ach);
            hi = hi.max(ach);
        }
    }
    assert!(lo < Decimal::new(75, 2) && hi > Decimal::new(118, 2), "achievement spans {lo}..{hi}");
    let last = data.targets.iter().map(|t| t.month).max().unwrap();
    assert_eq!(last.to_string(), "2026-12");
    // no Japan × 巨胎 target before 2026; one from 2026 on
    assert!(!data.targets.iter().any(|t| t.country == "JP" && t.category == "GOTR" && t.month.year < 2026));
    assert!(data.targets.iter().any(|t| t.country == "JP" && t.category == "GOTR" && t.month.year == 2026));
    // Russia × 全钢 pinned near 96.35 % in 2026-09 (target rounded to hundreds)
    let m = Month { year: 2026, month: 9 };
    let t = data.targets.iter().find(|t| t.country == "RU" && t.category == "TBR" && t.month == m).unwrap();
    let ach = actual[&("RU".to_string(), "TBR".to_string(), m)] / t.target_amount;
    assert!((ach - Decimal::new(9635, 4)).abs() < Decimal::new(5, 4), "{ach}");
}

#[test]
fn messy_workbook_has_every_listed_mess() {
    let (dir, m) = generated();
    let path = dir.path().join("messy_sales.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let sheets = wb.sheet_names();
    assert_eq!(sheets, ["10月销售", "说明"]);
    let merges = wb.merge_cells_by_sheet_name("10月销售").unwrap();
    // a country cell merged down several rows of column B
    assert!(merges.iter().any(|d| d.start.1 == 1 && d.end.1 == 1 && d.end.0 >= d.start.0 + 2), "{merges:?}");
    let g = grid(&path, "10月销售");
    // title row, blank row, header on the third row
    assert!(text(&g[0][0]).contains("销售明细"));
    assert!(g[1].iter().all(|c| matches!(c, Data::Empty)));
    let hdr: Vec<String> = g[2].iter().map(text).collect();
    for h in ["国家/地区", "Customer", "产品类别", "规格型号", "数量（条）"] {
        assert!(hdr.iter().any(|x| x == h), "header {h} in {hdr:?}");
    }
    assert!(hdr.iter().any(|x| x.ends_with(' ')), "a header with a trailing space");
    let all: Vec<&Data> = g.iter().flatten().collect();
    let strings: Vec<String> =
        all.iter().filter_map(|d| if let Data::String(s) = d { Some(s.clone()) } else { None }).collect();
    let has = |s: &str| strings.iter().any(|x| x == s);
    assert!(g.iter().any(|r| text(&r[2]) == "小计"), "subtotal rows");
    assert!(g.iter().any(|r| text(&r[0]) == "合计"), "total row");
    assert!(g[3..].iter().any(|r| r.iter().all(|c| matches!(c, Data::Empty))), "blank rows between data");
    assert!(
        strings.iter().any(|s| !s.is_empty() && s.chars().all(|c| ('０'..='９').contains(&c))),
        "full-width digits"
    );
    assert!(
        strings.iter().any(|s| s.contains(',') && s.replace([',', '.'], "").chars().all(|c| c.is_ascii_digit())),
        "thousands separators"
    );
    assert!(strings.iter().any(|s| s.parse::<f64>().is_ok()), "numbers stored as text");
    // the month column in every form
    let months: Vec<&Data> = g[3..].iter().map(|r| &r[0]).collect();
    assert!(months.iter().any(|d| matches!(d, Data::DateTime(_))), "a date cell");
    assert!(months.iter().any(|d| matches!(d, Data::Float(f) if *f == 202_610.0)), "202610");
    // Excel serial of 2026-10-01: 2026-10-01 − 1899-12-30 = 46,296 days
    assert!(months.iter().any(|d| matches!(d, Data::Float(f) if *f == 46_296.0)), "a raw date serial");
    assert!(has("2026/10") && has("2026年10月") && has("2026-10"));
    assert!(strings.iter().any(|s| s.ends_with(' ') && s.trim() != s), "trailing spaces");
    assert!(has("Россия") && has("Kazakstan"), "country aliases");
    assert!(has("ООО «Сибирь Логистик»"), "a customer in Cyrillic");
    assert!(has("315/80 r22.5"), "an untidy spec");
    assert!(has("Novy Put Trading") && has("abc") && has("待定"));
    let dict = Dictionaries::builtin().unwrap();
    assert!(dict.resolve_customer("Novy Put Trading").is_none());
    // a data row without month
    assert!(g[3..].iter().any(|r| matches!(r[0], Data::Empty) && !text(&r[2]).is_empty() && text(&r[2]) != "小计"));
    let notes = grid(&path, "说明");
    assert!(!notes.is_empty());
    assert_eq!(m.files[4].sheet, "10月销售");
}

/// Parses a messy number cell: full-width digits, thousands separators, text.
fn messy_number(d: &Data) -> Option<Decimal> {
    match d {
        Data::Float(f) => f.to_string().parse().ok(),
        Data::Int(i) => Some(Decimal::from(*i)),
        Data::String(s) => lodestar_core::text::to_halfwidth(s).replace(',', "").trim().parse().ok(),
        _ => None,
    }
}

#[test]
fn messy_workbook_carries_the_same_end_month_figures_as_sales() {
    let (dir, m) = generated();
    let dict = Dictionaries::builtin().unwrap();
    // clean export: end-month totals per currency
    let g = grid(&dir.path().join("sales.xlsx"), "销售明细");
    let mut clean: BTreeMap<String, (Decimal, Decimal, usize)> = BTreeMap::new();
    for r in g[1..].iter().filter(|r| text(&r[0]) == "2026-10") {
        let e = clean.entry(text(&r[7])).or_default();
        e.0 += dec(&r[5]);
        e.1 += dec(&r[6]);
        e.2 += 1;
    }
    // messy export: every row below the header that is neither a subtotal/total nor blank
    let g = grid(&dir.path().join("messy_sales.xlsx"), "10月销售");
    let mut messy: BTreeMap<String, (Decimal, Decimal, usize)> = BTreeMap::new();
    let (mut unresolved, mut bad, mut data_rows) = (0, 0, 0);
    for r in &g[3..] {
        if r.iter().all(|c| matches!(c, Data::Empty)) || text(&r[2]) == "小计" || text(&r[0]) == "合计" {
            continue;
        }
        data_rows += 1;
        let (Some(q), Some(a), false) = (messy_number(&r[5]), messy_number(&r[6]), matches!(r[0], Data::Empty)) else {
            bad += 1;
            continue;
        };
        if dict.resolve_customer(&text(&r[2])).is_none() {
            unresolved += 1;
            continue;
        }
        assert!(dict.resolve_spec(&text(&r[4])).is_some(), "spec {:?}", r[4]);
        assert!(dict.resolve_category(&text(&r[3])).is_some(), "category {:?}", r[3]);
        let cur = match text(&r[7]).trim().to_uppercase() {
            c if c.is_empty() => "USD".to_string(),
            c => c,
        };
        let e = messy.entry(cur).or_default();
        e.0 += q;
        e.1 += a;
        e.2 += 1;
    }
    assert_eq!((unresolved, bad), (1, 3));
    assert_eq!(data_rows, m.files[4].rows);
    assert_eq!(messy, clean);
}

#[test]
fn other_windows_generate_too() {
    for (end, months) in [(Month { year: 2025, month: 12 }, 12), (Month { year: 2027, month: 3 }, 36)] {
        let dir = tempfile::tempdir().unwrap();
        let m = generate(dir.path(), &DemoOptions { end_month: end, months, seed: 3 }).unwrap();
        assert_eq!(m.first_month, end.add(-(months as i64 - 1)));
        assert_eq!(m.as_of, end.last_day());
        let data = build(&DemoOptions { end_month: end, months, seed: 3 }).unwrap();
        assert!(data.sales.iter().all(|r| r.month >= m.first_month && r.month <= end));
        // the scripted receivables move with the as-of date: Sibir's balance is still 36 days late
        let sibir = data.receivables.iter().find(|r| r.customer == "C001" && r.contract_no.ends_with("-0455")).unwrap();
        assert!(sibir.node == PaymentNode::Prepay || (m.as_of - sibir.due_date).num_days() == 36);
    }
}
