//! Unresolved names are imported and reported; a later `dict import` repairs them (names are
//! resolved at query time), and staff lists import the same way.

use crate::common::{book, sheet, C};
use lodestar_dict::Dictionaries;
use lodestar_ingest::dictfile::{check_names, import_dictionary, DictList};
use lodestar_ingest::{import_file, ImportOptions};
use lodestar_store::Store;

#[test]
fn unresolved_customer_is_reported_then_repaired_by_dict_import() {
    let dir = tempfile::tempdir().unwrap();
    let dict_dir = dir.path().join("home").join("dictionaries");
    let d0 = Dictionaries::load(&dict_dir).unwrap();
    let f = book(
        dir.path(),
        "sales.xlsx",
        &[sheet(
            "销售",
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
                    C::S("2026-09"),
                    C::S("俄罗斯"),
                    C::S("Новый Клиент"),
                    C::S("全钢"),
                    C::S("315/80R22.5"),
                    C::N(4.0),
                    C::N(400.0),
                ],
                vec![
                    C::S("2026-09"),
                    C::S("俄罗斯"),
                    C::S("Новый Клиент"),
                    C::S("全钢"),
                    C::S("11R22.5"),
                    C::N(2.0),
                    C::N(200.0),
                ],
                vec![
                    C::S("2026-09"),
                    C::S("俄罗斯"),
                    C::S("西伯利亚物流"),
                    C::S("全钢"),
                    C::S("11R22.5"),
                    C::N(1.0),
                    C::N(100.0),
                ],
            ],
        )],
    );
    let mut store = Store::open_in_memory().unwrap();
    let r = import_file(&mut store, &d0, &f, &ImportOptions::default()).unwrap();
    assert_eq!(r.imported, 3, "unknown names are imported, never dropped");
    assert_eq!(r.unresolved.customers.len(), 1);
    assert_eq!(r.unresolved.customers[0].name, "Новый Клиент");
    assert_eq!(r.unresolved.customers[0].rows, 2);

    let before = check_names(&store, &d0).unwrap();
    assert_eq!(before.unresolved.customers.len(), 1);
    assert_eq!(
        (before.unresolved.customers[0].name.as_str(), before.unresolved.customers[0].rows),
        ("Новый Клиент", 2)
    );
    assert_eq!(before.names, 1);

    // the user's list: a new customer whose local name is the unresolved spelling, and an update of an
    // existing one matched through its English alias; 国家 and 销售负责人 given as names
    let list = dir.path().join("customers.csv");
    std::fs::write(
        &list,
        "客户名称,英文名称,本地名称,国家,销售负责人,状态,信用额度,币种,信用等级\n\
         新客户,New Client LLC,Новый Клиент;ООО «Новый Клиент»,俄罗斯,陈思远,开发中,\"200,000\",USD,C\n\
         Sibir Logistics,,,,,,\"1,000,000\",,A\n",
    )
    .unwrap();
    let rep = import_dictionary(&d0, &list, &dict_dir).unwrap();
    assert_eq!(rep.list, DictList::Customers);
    assert_eq!((rep.rows, rep.added, rep.updated), (2, 1, 1));
    assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);

    let d1 = Dictionaries::load(&dict_dir).unwrap();
    let c = d1.resolve_customer("Новый Клиент").expect("resolves after dict import");
    assert_eq!(c.name_zh, "新客户");
    assert_eq!(c.country, "RU");
    assert_eq!(c.owner, "S02", "陈思远 is S02 in staff.csv");
    assert_eq!(c.credit_limit.as_deref(), Some("200000"));
    // the builtin list ends at the highest C id; the new one is the next
    let max_builtin = d0.customers.iter().filter_map(|c| c.id[1..].parse::<u32>().ok()).max().unwrap();
    assert_eq!(c.id, format!("C{:03}", max_builtin + 1));
    let sibir = d1.resolve_customer("西伯利亚物流").unwrap();
    assert_eq!(sibir.id, "C001");
    assert_eq!(sibir.credit_limit.as_deref(), Some("1000000"));
    assert_eq!(sibir.rating, "A");
    assert_eq!(d1.customers.len(), d0.customers.len() + 1);

    // history is repaired without re-importing: the stored name now resolves
    let after = check_names(&store, &d1).unwrap();
    assert!(after.unresolved.customers.is_empty(), "{:?}", after.unresolved.customers);

    // importing the same list again changes nothing
    let again = import_dictionary(&d1, &list, &dict_dir).unwrap();
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 2));
}

#[test]
fn staff_list_from_a_workbook_with_header_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let dict_dir = dir.path().join("dictionaries");
    let d0 = Dictionaries::load(&dict_dir).unwrap();
    let f = book(
        dir.path(),
        "staff.xlsx",
        &[sheet(
            "人员",
            vec![
                vec![C::S("人员名单")],
                vec![C::S("Name"), C::S("Aliases"), C::S("Position"), C::S("Dept"), C::S("负责国家")],
                vec![
                    C::S("赵一鸣"),
                    C::S("Yiming Zhao;赵经理"),
                    C::S("销售代表"),
                    C::S("销售部"),
                    C::S("俄罗斯;Kazakhstan"),
                ],
                vec![C::S("李娜"), C::E, C::S("高级国家经理"), C::E, C::E],
            ],
        )],
    );
    let rep = import_dictionary(&d0, &f, &dict_dir).unwrap();
    assert_eq!(rep.list, DictList::Staff);
    assert_eq!((rep.added, rep.updated), (1, 1));
    let d1 = Dictionaries::load(&dict_dir).unwrap();
    let z = d1.resolve_staff("Yiming Zhao").unwrap();
    assert_eq!(z.name, "赵一鸣");
    assert_eq!(z.countries, vec!["RU".to_string(), "KZ".to_string()]);
    let max = d0.staff.iter().filter_map(|s| s.id[1..].parse::<u32>().ok()).max().unwrap();
    assert_eq!(z.id, format!("S{:02}", max + 1));
    let li = d1.resolve_staff("李娜").unwrap();
    assert_eq!(li.id, "S03");
    assert_eq!(li.role, "高级国家经理");
    assert_eq!(li.department, "销售部", "an empty cell leaves the value as it was");
}

#[test]
fn a_file_with_neither_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.csv");
    std::fs::write(&f, "foo,bar\n1,2\n").unwrap();
    let d = Dictionaries::builtin().unwrap();
    let err = import_dictionary(&d, &f, &dir.path().join("dictionaries")).unwrap_err();
    assert!(err.to_string().contains("no customer list"), "{err}");
}

#[test]
fn configured_alias_limit_keeps_the_first_aliases_and_reports_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let dict_dir = dir.path().join("dictionaries");
    let d0 = Dictionaries::load(&dict_dir).unwrap();
    let limits = lodestar_core::ReadLimits { max_aliases: 3, ..Default::default() };
    // a new person with five aliases: three kept, the row reported with the limit's key
    let staff = dir.path().join("staff.csv");
    std::fs::write(&staff, "姓名,别名,岗位\n钱多多,Alpha Qian;Beta Qian;Gamma Qian;Delta Qian;Epsilon Qian,销售代表\n")
        .unwrap();
    let rep = lodestar_ingest::dictfile::import_dictionary_with(&d0, &staff, &dict_dir, &limits).unwrap();
    assert_eq!((rep.list, rep.added), (DictList::Staff, 1));
    let w = rep.warnings.join("\n");
    assert!(w.contains("row 2") && w.contains("5 aliases, over the limit of 3"), "{w}");
    assert!(w.contains("[limits] max_aliases") && w.contains("the first 3 kept"), "{w}");
    let d1 = Dictionaries::load(&dict_dir).unwrap();
    let s = d1.resolve_staff("Gamma Qian").unwrap();
    assert_eq!(s.name, "钱多多");
    assert_eq!(s.aliases, vec!["Alpha Qian".to_string(), "Beta Qian".into(), "Gamma Qian".into()]);
    assert!(d1.resolve_staff("Delta Qian").is_none());

    // a new customer with four local names under a limit of 2
    let customers = dir.path().join("customers.csv");
    std::fs::write(&customers, "客户名称,本地名称,国家\n远东轮胎,Дальний Восток;Далвост;ДВ Шины;Восток Тайр,俄罗斯\n")
        .unwrap();
    let rep = lodestar_ingest::dictfile::import_dictionary_with(
        &d1,
        &customers,
        &dict_dir,
        &lodestar_core::ReadLimits { max_aliases: 2, ..Default::default() },
    )
    .unwrap();
    assert_eq!(rep.added, 1);
    let w = rep.warnings.join("\n");
    assert!(w.contains("4 local names, over the limit of 2") && w.contains("max_aliases"), "{w}");
    let d2 = Dictionaries::load(&dict_dir).unwrap();
    let c = d2.customers.iter().find(|c| c.name_zh == "远东轮胎").unwrap();
    assert_eq!(c.name_local, vec!["Дальний Восток".to_string(), "Далвост".into()]);

    // the default limit (1,000) keeps all five
    let dir2 = tempfile::tempdir().unwrap();
    let rep = import_dictionary(&d0, &staff, &dir2.path().join("dictionaries")).unwrap();
    assert!(rep.warnings.iter().all(|w| !w.contains("max_aliases")), "{:?}", rep.warnings);
}

#[test]
fn names_over_the_configured_length_are_dropped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let dict_dir = dir.path().join("dictionaries");
    let d0 = Dictionaries::load(&dict_dir).unwrap();
    let limits = lodestar_core::ReadLimits { max_name_chars: 12, ..Default::default() };
    // 13 characters: one over. The long alias is dropped, the row with the long name skipped
    let long = "一二三四五六七八九十一二三";
    assert_eq!(long.chars().count(), 13);
    let staff = dir.path().join("staff.csv");
    std::fs::write(&staff, format!("姓名,别名,岗位\n钱多多,Qian;{long},销售代表\n{long},,销售代表\n")).unwrap();
    let rep = lodestar_ingest::dictfile::import_dictionary_with(&d0, &staff, &dict_dir, &limits).unwrap();
    assert_eq!((rep.rows, rep.added), (1, 1), "{rep:?}");
    let w = rep.warnings.join("\n");
    assert!(w.contains("row 2: an alias of 13 characters, over the limit of 12") && w.contains("dropped"), "{w}");
    assert!(w.contains("row 3: a name of 13 characters") && w.contains("the row is skipped"), "{w}");
    assert!(w.contains("[limits] max_name_chars"), "{w}");
    let d1 = Dictionaries::load(&dict_dir).unwrap();
    assert_eq!(d1.resolve_staff("Qian").unwrap().aliases, vec!["Qian".to_string()]);
    // under the default (500) the alias is kept, so row 3 names the same person
    let dir2 = tempfile::tempdir().unwrap();
    let rep = import_dictionary(&d0, &staff, &dir2.path().join("dictionaries")).unwrap();
    assert_eq!((rep.rows, rep.added), (2, 1), "{rep:?}");
    let d2 = Dictionaries::load(&dir2.path().join("dictionaries")).unwrap();
    assert_eq!(d2.resolve_staff(long).unwrap().name, "钱多多");
}
