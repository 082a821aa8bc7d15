//! Fixture helpers: an in-memory store with rows inserted directly (one import batch).
#![allow(dead_code)]

use lodestar_store::rusqlite::params;
use lodestar_store::Store;
use rust_decimal::Decimal;
use std::str::FromStr;

/// (month, country, customer, category, spec, quantity, amount, currency, owner)
pub type Sale<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);
/// (month, country, category, customer, target_quantity, target_amount, currency)
pub type Target<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);

/// A decimal from its text.
pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn store() -> Store {
    let s = Store::open_in_memory().unwrap();
    s.conn()
        .execute(
            "INSERT INTO import_batches(id, file_name, content_hash, imported_at, imported_by) VALUES (1, 'fixture.xlsx', 'h', '2026-10-01T00:00:00Z', 'test')",
            [],
        )
        .unwrap();
    s
}

pub fn add_sales(s: &Store, rows: &[Sale<'_>]) {
    for r in rows {
        s.conn()
            .execute(
                "INSERT INTO sales(batch_id, month, country, customer, category, spec, quantity, amount, currency, owner)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8],
            )
            .unwrap();
    }
}

pub fn add_targets(s: &Store, rows: &[Target<'_>]) {
    for r in rows {
        s.conn()
            .execute(
                "INSERT INTO targets(batch_id, month, country, category, customer, target_quantity, target_amount, currency)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.0, r.1, r.2, r.3, r.4, r.5, r.6],
            )
            .unwrap();
    }
}

pub fn add_fx(s: &Store, rows: &[(&str, &str, &str)]) {
    for r in rows {
        s.conn()
            .execute(
                "INSERT INTO fx(batch_id, month, currency, usd_rate) VALUES (1, ?1, ?2, ?3)",
                params![r.0, r.1, r.2],
            )
            .unwrap();
    }
}

/// One receivable installment.
pub struct Inst<'a> {
    pub contract: &'a str,
    pub customer: &'a str,
    pub country: &'a str,
    pub currency: &'a str,
    pub node: &'a str,
    pub due: &'a str,
    pub due_date: &'a str,
    pub paid: &'a str,
    pub paid_date: Option<&'a str>,
    pub goods_ready: Option<&'a str>,
    pub shipping: &'a str,
}

pub fn add_receivables(s: &Store, rows: &[Inst<'_>]) {
    for r in rows {
        s.conn()
            .execute(
                "INSERT INTO receivables(batch_id, contract_no, customer, country, currency, payment_node, due_amount, due_date,
                   paid_amount, paid_date, goods_ready_date, shipping_status)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    r.contract,
                    r.customer,
                    r.country,
                    r.currency,
                    r.node,
                    r.due,
                    r.due_date,
                    r.paid,
                    r.paid_date,
                    r.goods_ready,
                    r.shipping
                ],
            )
            .unwrap();
    }
}

/// The fixture's customer dictionary: a fixed copy of entries of `dictionaries/customers.csv`, so
/// that adding customers to the shipped dictionary does not change the expected alerts.
pub const CUSTOMERS_CSV: &str = r#"id,name_zh,name_en,name_local,aliases,country,owner,status,credit_limit,currency,rating
C001,西伯利亚物流,Sibir Logistics LLC,ООО «Сибирь Логистик»;Сибирь Логистик,Sibir Logistics;Sibir;西伯利亚;西伯利亚物流公司;Сибирь,RU,S05,合作中,800000,USD,B
C002,阿尔泰运输,Altai Trans LLC,ООО «Алтай Транс»;Алтай Транс,Altai Trans;阿尔泰运输公司;阿尔泰交通,RU,S06,合作中,500000,USD,B
C004,伏尔加卡车服务,Volga Truck Service LLC,ООО «Волга Трак Сервис»;Волга Трак Сервис,Volga Truck Service;Volga Truck;VTS;伏尔加卡车,RU,S06,合作中,25000000,RUB,B
C006,北极星矿业,Polar Star Mining JSC,АО «Полярная Звезда Майнинг»;Полярная Звезда,Polar Star Mining;Polar Star;北极星,RU,S24,开发中,0,USD,C
C009,远东港口服务,Far East Port Services LLC,ООО «Дальневосточный Портовый Сервис»;ДВ Портовый Сервис,Far East Port Services;FEPS;远东港口;海参崴港口服务,RU,S05,开发中,0,USD,C
C012,明斯克货运,Minsk Cargo Lines LLC,ООО «Минск Карго Лайнс»;Минск Карго Лайнс,Minsk Cargo Lines;Minsk Cargo;MCL;明斯克货运公司,BY,S09,合作中,450000,EUR,B
C013,索利戈尔斯克矿山服务,Soligorsk Mine Service LLC,ООО «Солигорск Майн Сервис»;Салігорск Майн Сэрвіс,Soligorsk Mine Service;Soligorsk Mine;SMS;索矿服务,BY,S09,合作中,900000,USD,A
C014,戈梅利轮胎贸易,Gomel Shina Trade PUE,ЧУП «Гомель Шина Трейд»;Гомель Шина,Gomel Shina Trade;Gomel Shina;Gomel Tyre;戈梅利轮胎,BY,S09,开发中,0,USD,C
C016,阿尔泰矿业,Altai Mining JSC,АО «Алтай Майнинг»;«Алтай Майнинг» АҚ;Алтай Майнинг,Altai Mining;阿尔泰矿业公司;阿矿,KZ,S07,合作中,1500000,USD,A
C017,草原物流,Dala Logistics LLP,ТОО «Дала Логистик»;«Дала Логистик» ЖШС;Дала Логистик,Dala Logistics;Steppe Logistics;Dala;草原物流公司,KZ,S07,合作中,600000,USD,B
C020,里海货运,Caspian Freight LLP,ТОО «Каспий Фрейт»;Каспий Фрейт,Caspian Freight;Kaspiy Freight;里海货运公司,KZ,S07,开发中,0,USD,C
C021,努尔建设机械,Nur Construction Machinery LLP,ТОО «Нур Құрылыс Техника»;Нур Курылыс Техника,Nur Construction Machinery;Nur Machinery;NCM;努尔机械,KZ,S03,开发中,0,USD,C
C024,里海矿业服务,Caspian Mining Services LLC,Xəzər Mədən Xidmətləri MMC;ООО «Каспиан Майнинг Сервисез»,Caspian Mining Services;Caspian Mining;Xazar Madan;里海矿业,AZ,S10,开发中,0,USD,C
C031,高加索建设机械,Caucasus Build Machinery LLC,კავკასია ბილდ მანქანები შპს;ООО «Кавказ Билд Машинери»,Caucasus Build Machinery;Caucasus Build;CBM;高加索建机,GE,S10,开发中,0,USD,C
C035,安格连煤炭物流,Angren Coal Logistics LLC,Angren Ko'mir Logistika MChJ;ООО «Ангрен Комир Логистика»,Angren Coal Logistics;Angren Coal;Angren Komir;安格连煤运,UZ,S08,开发中,0,USD,C
"#;

/// Built-in dictionaries with the customer list replaced by [`CUSTOMERS_CSV`].
pub fn dicts() -> lodestar_dict::Dictionaries {
    let mut d = lodestar_dict::Dictionaries::builtin().unwrap();
    d.customers = lodestar_dict::parse_customers(CUSTOMERS_CSV, "fixture customers").unwrap();
    d.reindex();
    d
}
