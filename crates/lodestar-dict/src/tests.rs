use super::*;

#[test]
fn legal_forms_are_stripped() {
    assert_eq!(strip_legal_form("ООО «Сибирь Логистик»"), "сибирь логистик");
    assert_eq!(strip_legal_form("Sibir Logistics LLC"), "sibir logistics");
    assert_eq!(strip_legal_form("西伯利亚物流有限公司"), "西伯利亚物流");
}

#[test]
fn header_aliases_match_loosely() {
    let a = HeaderAliases::parse("[sales]\nquantity = [\"销量\", \"销量(条)\", \"Qty\"]\n", "t").unwrap();
    assert_eq!(a.field_for("sales", "销量（条）"), Some("quantity"));
    assert_eq!(a.field_for("sales", " QTY "), Some("quantity"));
    assert_eq!(a.field_for("sales", "quantity"), Some("quantity"));
    assert_eq!(a.field_for("sales", "金额"), None);
}

#[test]
fn builtin_dictionaries_load_and_resolve() {
    let d = Dictionaries::builtin().expect("built-in dictionaries parse");
    assert_eq!(d.countries.len(), 11);
    assert_eq!(d.categories.len(), 4);
    assert!(d.customers.len() >= 40);
    assert_eq!(d.tags.len(), 8);
    for raw in ["俄罗斯", "Russia", "Россия", "RU", "ｒｕｓｓｉａ "] {
        assert_eq!(d.resolve_country(raw).map(|c| c.code.as_str()), Some("RU"), "{raw}");
    }
    assert_eq!(d.resolve_category("全钢子午胎").map(|c| c.code.as_str()), Some("TBR"));
    assert_eq!(d.resolve_category("pcr").map(|c| c.code.as_str()), Some("PCR"));
    assert_eq!(d.resolve_spec("315/80 r22.5").map(|s| s.spec.as_str()), Some("315/80R22.5"));
    let sibir = d.resolve_customer("Sibir Logistics").expect("Sibir Logistics in the dictionary");
    assert_eq!(sibir.country, "RU");
    assert_eq!(d.resolve_customer("西伯利亚物流").map(|c| c.id.as_str()), Some(sibir.id.as_str()));
    // every customer's country and owner exist
    for c in &d.customers {
        assert!(d.country_by_code(&c.country).is_some(), "{} country {}", c.id, c.country);
        assert!(d.staff_by_id(&c.owner).is_some(), "{} owner {}", c.id, c.owner);
    }
    for s in &d.specs {
        assert!(d.category_by_code(&s.category).is_some(), "{} category {}", s.spec, s.category);
    }
}

#[test]
fn suggestions_find_near_names() {
    let d = Dictionaries::builtin().unwrap();
    let s = d.suggest(NameKind::Country, "Rusia", 3);
    assert!(s.iter().any(|n| n == "俄罗斯"), "{s:?}");
}

#[test]
fn home_overlay_adds_and_replaces_customers() {
    let dir = tempfile::tempdir().unwrap();
    let base = Dictionaries::builtin().unwrap();
    let mut first = base.customers[0].clone();
    first.aliases.push("Zeta Test Alias".into());
    let new = Customer {
        id: "C999".into(),
        name_zh: "测试新客户".into(),
        name_en: "Novo Test LLC".into(),
        name_local: vec![],
        aliases: vec![],
        ..first.clone()
    };
    std::fs::write(dir.path().join("customers.csv"), model::customers_to_csv(&[first.clone(), new])).unwrap();
    let d = Dictionaries::load(dir.path()).unwrap();
    assert_eq!(d.customers.len(), base.customers.len() + 1);
    assert_eq!(d.resolve_customer("zeta test alias").map(|c| c.id.as_str()), Some(first.id.as_str()));
    assert_eq!(d.resolve_customer("Novo Test").map(|c| c.id.as_str()), Some("C999"));
}

fn builtin() -> Dictionaries {
    Dictionaries::builtin().expect("built-in dictionaries parse")
}

#[test]
fn bilingual_and_decorated_headers_map_to_their_field() {
    let a = builtin().header_aliases;
    // each pair: header as exported → the field its Chinese or English half names
    for (h, f) in [
        ("国家/Country", "country"),
        ("国家 Country", "country"),
        ("国家\nCountry", "country"),
        ("客户/Customer", "customer"),
        ("品类/Category", "category"),
        ("规格/Size", "spec"),
        ("销量/Qty", "quantity"),
        ("销售额/Amount", "amount"),
        ("Qty(条)", "quantity"),
        ("数量(pcs)", "quantity"),
        ("数量［pcs］", "quantity"),
        ("销售额(原币)", "amount"),
        ("销售额(万美元)", "amount"),
        ("销售额（RUB）", "amount"),
        ("币种/Currency", "currency"),
        ("Month/Year", "month"),
        ("产品分类", "category"),
        ("原币金额", "amount"),
    ] {
        assert_eq!(a.field_for("sales", h), Some(f), "sales {h:?}");
    }
    assert_eq!(a.field_for("receivables", "合同号/Contract No."), Some("contract_no"));
    assert_eq!(a.field_for("receivables", "已回款金额/Paid"), Some("paid_amount"));
    assert_eq!(a.field_for("receivables", "应收日期"), Some("due_date"));
    assert_eq!(a.field_for("fx", "汇率(USD/本币)"), Some("usd_rate"));
    // 目标 alone is a target amount in a targets sheet only; with a count unit it is the quantity
    assert_eq!(a.field_for("targets", "目标(USD)"), Some("target_amount"));
    assert_eq!(a.field_for("targets", "目标(pcs)"), Some("target_quantity"));
    assert_eq!(a.field_for("targets", "Target Qty (pcs)"), Some("target_quantity"));
    assert_eq!(a.field_for("sales", "目标"), None);
    // halves that name two different fields are ambiguous: no field
    assert_eq!(a.field_for("sales", "国家/客户"), None);
    assert_eq!(a.field_for("sales", "备注/Remarks"), None);
}

#[test]
fn header_match_keeps_the_unit_and_quality() {
    let a = builtin().header_aliases;
    let m = a.match_header("sales", "销售额(万美元)").unwrap();
    assert_eq!((m.field, m.quality, m.unit.as_deref()), ("amount", aliases::MatchQuality::WithoutUnit, Some("万美元")));
    let m = a.match_header("sales", "国家/Country").unwrap();
    assert_eq!((m.field, m.quality, m.unit), ("country", aliases::MatchQuality::Part, None));
    let m = a.match_header("sales", "销量(条)").unwrap();
    assert_eq!(m.quality, aliases::MatchQuality::Exact);
}

#[test]
fn builtin_header_aliases_are_unambiguous() {
    let a = builtin().header_aliases;
    assert_eq!(a.ambiguities(), Vec::<(String, String, String, String)>::new());
}

#[test]
fn category_spellings_resolve_by_rule() {
    let d = builtin();
    for (raw, code) in [
        ("全钢轮胎", "TBR"),
        ("TBR轮胎", "TBR"),
        ("PCR轮胎", "PCR"),
        ("OTR轮胎", "OTR"),
        ("载重子午胎", "TBR"),
        ("轿车子午胎", "PCR"),
        ("工程子午胎", "OTR"),
        ("巨型工程子午胎", "GOTR"),
        ("巨胎 (GOTR)", "GOTR"),
        ("全钢 TBR", "TBR"),
        ("PCR/LT", "PCR"),
        ("Truck", "TBR"),
        // not listed anywhere: only the suffix rule finds them
        ("半钢子午线胎", "PCR"),
        ("TBR Tyres", "TBR"),
    ] {
        assert_eq!(d.resolve_category(raw).map(|c| c.code.as_str()), Some(code), "{raw}");
    }
    // parts that disagree resolve to nothing rather than a guess
    assert_eq!(d.resolve_category("TBR/PCR"), None);
    assert_eq!(d.resolve_category("轮胎"), None);
    // the short rule keys are not offered for scanning free text (工程 is in 工程师)
    assert!(!d.alias_keys(NameKind::Category).iter().any(|(k, _)| k == "工程"));
}

#[test]
fn official_country_names_resolve() {
    let d = builtin();
    for (raw, code) in [
        ("哈萨克斯坦共和国", "KZ"),
        ("白俄罗斯共和国", "BY"),
        ("Korea, Republic of", "KR"),
        ("Korea Rep", "KR"),
        ("Russian Fed.", "RU"),
        // by rule only (not in countries.csv): 亚美尼亚 + 共和国 is listed, 格鲁吉亚共和国 is not
        ("格鲁吉亚共和国", "GE"),
        ("Kyrgyz Rep.", "KG"),
        ("Armenia, Republic of", "AM"),
    ] {
        assert_eq!(d.resolve_country(raw).map(|c| c.code.as_str()), Some(code), "{raw}");
    }
    assert!(d.resolve_country("Republic").is_none());
}

#[test]
fn customer_name_variants_resolve_by_normalisation() {
    let d = builtin();
    for (raw, id) in [
        ("Sibir Logistics LLC.", "C001"),
        ("OOO Sibir Logistics", "C001"),
        ("TOO Dala Logistics", "C017"),
        ("Dala Logistics LLP", "C017"),
        ("乌拉尔矿业股份公司", "C003"),
        ("北星运输株式会社", "C042"),
        ("한성물류(주)", "C045"),
        ("㈜한성물류", "C045"),
        ("阿尔泰 矿业", "C016"),
        ("西伯利亚物流(俄罗斯)", "C001"),
        ("西伯利亚物流（俄罗斯）", "C001"),
    ] {
        assert_eq!(d.resolve_customer(raw).map(|c| c.id.as_str()), Some(id), "{raw}");
    }
    // a bracket that is not a country is part of the name
    assert!(d.resolve_customer("西伯利亚物流(二部)").is_none());
}

#[test]
fn spec_with_decimal_comma() {
    assert_eq!(spec::normalize_spec("315/80R22,5").as_deref(), Some("315/80R22.5"));
    assert_eq!(spec::normalize_spec("12,00R24").as_deref(), Some("12.00R24"));
}

#[test]
fn spec_spacing_and_shorthand_variants() {
    // a space for the slash, a dash before R, and the 4-digit shorthand of 12.00R24
    assert_eq!(spec::normalize_spec("315 80 R22.5").as_deref(), Some("315/80R22.5"));
    assert_eq!(spec::normalize_spec("315/80-R22.5").as_deref(), Some("315/80R22.5"));
    assert_eq!(spec::normalize_spec("1200R24").as_deref(), Some("12.00R24"));
    assert_eq!(spec::normalize_spec("1100 R20").as_deref(), Some("11.00R20"));
    // a bias size stays a bias size
    assert_eq!(spec::normalize_spec("12.00-24").as_deref(), Some("12.00-24"));
    assert_eq!(spec::normalize_spec("2026 09"), None);
}
