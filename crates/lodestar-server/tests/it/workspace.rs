use crate::support::*;
use axum::http::StatusCode;
use lodestar_metrics::{Dim, MetricQuery, MetricsEngine};
use lodestar_server::ServerOptions;

const SALES: &str = "月份,国家,客户,品类,规格,销量,销售额,币种\n\
2026-09,俄罗斯,西伯利亚物流,全钢,315/80R22.5,100,30000,USD\n\
2026-09,俄罗斯,阿尔泰运输,全钢,315/70R22.5,50,18000,USD\n\
2026-09,哈萨克斯坦,阿拉木图轮胎之家,半钢,205/55R16,40,6000,USD\n";
const TARGETS: &str = "月份,国家,品类,目标销量,目标金额,币种\n2026-09,俄罗斯,全钢,160,50000,USD\n";
const RECEIVABLES: &str = "合同号,客户,国家,币种,合同金额,付款条件,付款节点,应回款金额,约定回款日期,已回款金额,实际回款日期,货好日期,发货状态\n\
BC-RU-2026-0901,西伯利亚物流,俄罗斯,USD,20000,30% 预付,预付,10000,2026-08-01,4000,2026-08-03,2026-10-20,未发货\n";

#[tokio::test]
async fn metrics_and_alerts_as_the_cli_gives_them_filtered_for_the_user() {
    let h = harness(None, ServerOptions::default());
    let dicts = lodestar_dict::Dictionaries::builtin().unwrap();
    {
        let mut store = lodestar_store::Store::open(&h.db).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("t.csv", TARGETS), ("s.csv", SALES), ("r.csv", RECEIVABLES)] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            lodestar_ingest::import_file(&mut store, &dicts, &p, &lodestar_ingest::ImportOptions::default()).unwrap();
        }
    }
    let li = h.login("li", "li-pass").await;
    let r = h.send(h.get(&li, "/api/metrics?month=2026-09&by=country&filter=category=TBR")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    // the same JSON as `lodestar metrics --period 2026-09 --by country --filter category=TBR --json`
    let store = lodestar_store::Store::open(&h.db).unwrap();
    let engine = MetricsEngine::load(&store, &dicts).unwrap();
    let q = MetricQuery {
        filters: vec![(Dim::Category, "TBR".into())],
        principal: store.principal(Some("li")).unwrap(),
        ..MetricQuery::new("2026-09".parse().unwrap(), vec![Dim::Country])
    };
    assert_eq!(v, serde_json::to_value(engine.query(&q).unwrap()).unwrap());
    // Russia 全钢: 30,000 + 18,000 = 48,000 of 50,000 → 0.96
    let ru = &v["rows"][0];
    assert_eq!(ru["scope"]["dims"][0]["code"], "RU");
    assert_eq!(ru["achievement"].as_str().unwrap().parse::<f64>().unwrap(), 0.96);

    // a month after the data: a clear 400 naming the latest month
    let r = h.send(h.get(&li, "/api/metrics?month=2027-01")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("2026-09"), "{}", r.body);
    let r = h.send(h.get(&li, "/api/metrics?by=planet")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // alerts: overdue 6,000 for ops (敏感); a 内部 viewer sees the alert without the amount or the
    // contract number, with the reason
    let r = h.send(h.get(&li, "/api/alerts?as_of=2026-09-30")).await;
    assert_eq!(r.status, StatusCode::OK);
    let a = r.json();
    assert_eq!(a["overdue"][0]["contract_no"], "BC-RU-2026-0901");
    assert_eq!(a["overdue"][0]["days_overdue"], 60);
    let intern = h.login("intern", "intern-pass").await;
    let a = h.send(h.get(&intern, "/api/alerts?as_of=2026-09-30")).await.json();
    assert_eq!(a["overdue"][0]["days_overdue"], 60, "{a}");
    assert!(a["overdue"][0]["overdue_amount"].is_null() && a["overdue"][0]["contract_no"].is_null(), "{a}");
    assert!(a["masked"].as_array().unwrap().iter().any(|w| w["group"] == "overdue"), "{a}");
    assert!(!a.to_string().contains("6000") && !a.to_string().contains("4000"), "{a}");
    assert!(!a.to_string().contains("BC-RU-2026-0901"));
    // no session: nothing
    let r = h.send(axum::http::Request::get("/api/metrics").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
