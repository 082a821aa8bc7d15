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
