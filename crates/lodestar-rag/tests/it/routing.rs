//! Routing: dictionary resolution (longest alias first, ambiguity) and periods (explicit and
//! relative to the reference month). Expected values are read off the dictionaries by hand.

use lodestar_core::{Month, Period};
use lodestar_dict::Dictionaries;
use lodestar_rag::route::{parse_period, Intent, RouteKind, Router};
use lodestar_rag::source::{Dim, Measure, MetricRequest};

fn dicts() -> Dictionaries {
    Dictionaries::builtin().expect("built-in dictionaries")
}

const OCT: Month = Month { year: 2026, month: 10 };

fn codes(r: &lodestar_rag::Route, dim: Dim) -> Vec<String> {
    r.filters.iter().filter(|f| f.dim == dim).map(|f| f.code.clone()).collect()
}

#[test]
fn country_category_and_explicit_month() {
    let d = dicts();
    let r = Router::new(&d).route("俄罗斯 9 月全钢达成率多少？", OCT);
    assert_eq!(r.kind, RouteKind::Metric);
    assert_eq!(codes(&r, Dim::Country), ["RU"]);
    assert_eq!(codes(&r, Dim::Category), ["TBR"]);
    assert!(r.intents.contains(&Intent::Achievement));
    assert_eq!(r.period.unwrap().period, Period::Month(Month { year: 2026, month: 9 }));
    assert_eq!(r.measure, Measure::Amount);
}

#[test]
fn longest_alias_wins() {
    let d = dicts();
    // 巨型工程胎 is an alias of GOTR (巨胎); 工程胎 alone is OTR (中小工程胎)
    let r = Router::new(&d).route("巨型工程胎上月销量", OCT);
    assert_eq!(codes(&r, Dim::Category), ["GOTR"]);
    assert_eq!(r.measure, Measure::Quantity);
    let r = Router::new(&d).route("工程胎上月销量", OCT);
    assert_eq!(codes(&r, Dim::Category), ["OTR"]);
    // "Altai Trans" is a full alias of C002, so the bare-word ambiguity does not fire
    let r = Router::new(&d).route("Altai Trans 本月销售额", OCT);
    assert_eq!(codes(&r, Dim::Customer), ["C002"]);
    assert_eq!(r.kind, RouteKind::Metric);
}

#[test]
fn cyrillic_english_and_chinese_names_resolve_to_one_customer() {
    let d = dicts();
    for q in ["Сибирь Логистик 逾期", "Sibir Logistics 逾期", "西伯利亚物流逾期情况"] {
        let r = Router::new(&d).route(q, OCT);
        assert_eq!(codes(&r, Dim::Customer), ["C001"], "{q}");
        assert!(r.intents.contains(&Intent::Overdue), "{q}");
    }
}

#[test]
fn ambiguous_customer_lists_candidates() {
    let d = dicts();
    // Altai Trans (C002, RU) and Altai Mining (C016, KZ) both start with "Altai"
    for q in ["Altai 今年以来销售额多少？", "阿尔泰的逾期情况"] {
        let r = Router::new(&d).route(q, OCT);
        assert_eq!(r.kind, RouteKind::Ambiguous, "{q}");
        let (_, cands) = r.ambiguous.clone().unwrap();
        let ids: Vec<&str> = cands.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["C002", "C016"], "{q}");
    }
}

#[test]
fn staff_region_and_spec() {
    let d = dicts();
    let r = Router::new(&d).route("张伟负责的客户本月销售额", OCT);
    assert_eq!(codes(&r, Dim::Owner), ["S05"]);
    let r = Router::new(&d).route("东亚三季度缺口", OCT);
    assert_eq!(codes(&r, Dim::Region), ["EA"]);
    assert!(r.intents.contains(&Intent::Gap));
    assert_eq!(r.period.unwrap().period, Period::Quarter { year: 2026, quarter: 3 });
    // spec written loosely, normalized by the dictionary's rules
    let r = Router::new(&d).route("上季度 315/80 r22.5 销量", OCT);
    assert_eq!(codes(&r, Dim::Spec), ["315/80R22.5"]);
    assert_eq!(r.period.unwrap().period, Period::Quarter { year: 2026, quarter: 3 });
}

#[test]
fn relative_periods_against_the_reference_month() {
    // reference 2026-10
    let p = |t: &str| parse_period(t, OCT).map(|s| (s.period.to_string(), s.ytd));
    assert_eq!(p("本月"), Some(("2026-10".into(), false)));
    assert_eq!(p("上月"), Some(("2026-09".into(), false)));
    assert_eq!(p("上个月"), Some(("2026-09".into(), false)));
    assert_eq!(p("今年以来"), Some(("2026-10".into(), true)));
    assert_eq!(p("年初至今"), Some(("2026-10".into(), true)));
    assert_eq!(p("本季度"), Some(("2026-Q4".into(), false)));
    assert_eq!(p("上季度"), Some(("2026-Q3".into(), false)));
    assert_eq!(p("去年"), Some(("2025".into(), false)));
    // across a year boundary: reference 2026-01 → 上月 = 2025-12, 上季度 = 2025-Q4
    let jan = Month { year: 2026, month: 1 };
    assert_eq!(parse_period("上月", jan).map(|s| s.period.to_string()), Some("2025-12".into()));
    assert_eq!(parse_period("上季度", jan).map(|s| s.period.to_string()), Some("2025-Q4".into()));
}

#[test]
fn explicit_period_forms() {
    let p = |t: &str| parse_period(t, OCT).map(|s| (s.period.to_string(), s.ytd));
    assert_eq!(p("2026年9月"), Some(("2026-09".into(), false)));
    assert_eq!(p("2026-09"), Some(("2026-09".into(), false)));
    assert_eq!(p("9月"), Some(("2026-09".into(), false)));
    assert_eq!(p("去年9月"), Some(("2025-09".into(), false)));
    assert_eq!(p("q3"), Some(("2026-Q3".into(), false)));
    assert_eq!(p("三季度"), Some(("2026-Q3".into(), false)));
    assert_eq!(p("2025年第四季度"), Some(("2025-Q4".into(), false)));
    assert_eq!(p("1-9月"), Some(("2026-09".into(), true)));
    assert_eq!(p("2026年1至9月"), Some(("2026-09".into(), true)));
    assert_eq!(p("上半年"), Some(("2026-06".into(), true)));
    assert_eq!(p("2025年"), Some(("2025".into(), false)));
    // the current, unfinished year means year to date
    assert_eq!(p("2026年"), Some(("2026-10".into(), true)));
    // 去年同期 is a comparison, not a period
    assert_eq!(p("比去年同期"), None);
}

#[test]
fn knowledge_and_mixed_questions() {
    let d = dicts();
    let r = Router::new(&d).route("11R22.5 适合哪些矿山工况？", OCT);
    assert_eq!(r.kind, RouteKind::Knowledge);
    assert_eq!(r.specs, ["11R22.5"]);
    let r = Router::new(&d).route("Sibir Logistics 的付款条件和逾期情况？", OCT);
    assert_eq!(r.kind, RouteKind::Mixed);
    assert!(r.decision_topic, "payment terms get the decision reminder");
    let reqs = r.requests(OCT, None);
    assert!(matches!(&reqs[0], MetricRequest::Alerts { filters, .. } if filters[0].code == "C001"));
}

#[test]
fn ranking_contribution_and_ytd_requests() {
    let d = dicts();
    let r = Router::new(&d).route("各国今年以来达成率排名", OCT);
    match &r.requests(OCT, None)[0] {
        MetricRequest::Sales { by, ytd, sort, .. } => {
            assert_eq!(by, &[Dim::Country]);
            assert!(*ytd);
            assert_eq!(*sort, Some(lodestar_rag::source::SortKey::Achievement));
        }
        other => panic!("{other:?}"),
    }
    // a customer's contribution is read from its country's customer table
    let r = Router::new(&d).route("阿尔泰矿业9月对哈萨克斯坦的贡献", OCT);
    match &r.requests(OCT, None)[0] {
        MetricRequest::Sales { by, filters, .. } => {
            assert_eq!(by, &[Dim::Customer]);
            assert_eq!(filters.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["KZ"]);
        }
        other => panic!("{other:?}"),
    }
    let r = Router::new(&d).route("前5大客户 2026年Q3 销售额", OCT);
    match &r.requests(OCT, None)[0] {
        MetricRequest::Sales { top, sort, by, .. } => {
            assert_eq!(*top, Some(5));
            assert!(sort.is_some());
            assert_eq!(by, &[Dim::Customer]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn overdue_day_thresholds_are_read_from_the_question() {
    use lodestar_rag::route::overdue_threshold;
    // "more than 90 days" keeps 91 and up; "90 days and above" keeps 90 and up
    assert_eq!(overdue_threshold("哪些客户逾期超过90天？"), Some(91));
    assert_eq!(overdue_threshold("逾期 超过 90 天的合同"), Some(91));
    assert_eq!(overdue_threshold("逾期60天以上的客户有哪些"), Some(60));
    assert_eq!(overdue_threshold("逾期３０天及以上"), Some(30));
    assert_eq!(overdue_threshold("俄罗斯逾期情况"), None);
    assert_eq!(overdue_threshold("货好后 15 天款项仍未到齐会怎样处理？"), None);
}

#[test]
fn english_questions_route_like_their_chinese_counterparts() {
    let d = dicts();
    let router = Router::new(&d);
    // `What was … sales` asks for a figure, as `销售额是多少` does: no knowledge search beside it.
    for q in ["What was the October 2026 sales amount of Kazakhstan?", "How much did Kazakhstan sell in October 2026?"]
    {
        let r = router.route(q, OCT);
        assert_eq!(r.kind, RouteKind::Metric, "{q}");
        assert_eq!(codes(&r, Dim::Country), ["KZ"], "{q}");
        assert!(r.intents.contains(&Intent::Actual), "{q}");
    }
    let r = router.route("Which country had the highest sales in October 2026?", OCT);
    assert!(r.intents.contains(&Intent::Ranking));
    for (q, intent) in [
        ("Month-on-month change of Russia sales in October 2026", Intent::Mom),
        ("Annual target progress of the northern region", Intent::AnnualProgress),
        ("Which shipments are goods ready but unpaid?", Intent::ShipmentAtRisk),
        ("Which customers exceed their credit limit?", Intent::CreditAnomaly),
        ("Uzbekistan sales versus target in October 2026", Intent::Achievement),
    ] {
        let r = router.route(q, OCT);
        assert!(r.intents.contains(&intent), "{q}: {:?}", r.intents);
        assert_eq!(r.kind, RouteKind::Metric, "{q}");
    }
    let r = router.route("How many customers are overdue?", OCT);
    assert_eq!(r.kind, RouteKind::Metric);
    assert!(r.intents.contains(&Intent::Overdue));
    let r = router.route("How many tyres did we sell to Uzbekistan in October 2026?", OCT);
    assert_eq!(r.measure, Measure::Quantity);
    assert_eq!(codes(&r, Dim::Country), ["UZ"]);
    // `resell` is not `sell`; `who` / `how` ask for documents
    for q in [
        "Goods are ready but unpaid after two months - can we resell the tyres?",
        "Who has to approve a customer credit limit above 500,000 USD?",
        "How is the annual dealer rebate paid out?",
    ] {
        let r = router.route(q, OCT);
        assert!(r.needs_knowledge(), "{q}: {:?}", r.kind);
        assert!(!r.intents.contains(&Intent::Actual), "{q}");
    }
}

#[test]
fn english_dates_and_day_thresholds() {
    use lodestar_rag::route::overdue_threshold;
    let month = |t: &str| parse_period(t, OCT).map(|p| p.period);
    let m = |year, month| Some(Period::Month(Month { year, month }));
    assert_eq!(month("achievement of Russia in September 2026"), m(2026, 9));
    assert_eq!(month("sales Sep. 2025"), m(2025, 9));
    assert_eq!(month("sales 2025 December"), m(2025, 12));
    assert_eq!(month("Kazakhstan sales in October"), m(2026, 10));
    assert_eq!(month("Kazakhstan sales in Q3 2026"), Some(Period::Quarter { year: 2026, quarter: 3 }));
    assert_eq!(month("total sales for 2025"), Some(Period::Year(2025)));
    // `may` is a verb here, and a bare number is not a year
    assert_eq!(month("may we ship 2000 tyres"), None);
    assert_eq!(overdue_threshold("Which customers are overdue more than 90 days?"), Some(91));
    assert_eq!(overdue_threshold("receivables over 60 days"), Some(61));
    assert_eq!(overdue_threshold("overdue 90+ days"), Some(90));
    assert_eq!(overdue_threshold("at least 30 days overdue"), Some(30));
    assert_eq!(overdue_threshold("overdue 180 days or more"), Some(180));
    assert_eq!(overdue_threshold("overdue receivables"), None);
}

#[test]
fn a_ranking_groups_by_the_dimension_the_question_names() {
    let d = dicts();
    let router = Router::new(&d);
    for (q, dim) in [
        ("上月销量前五的规格", Dim::Spec),
        ("Top 5 specs by quantity last month", Dim::Spec),
        ("10月销售额前三的品类", Dim::Category),
        ("俄罗斯10月销售额前五", Dim::Customer),
        ("10月销售额前五", Dim::Country),
    ] {
        let r = router.route(q, OCT);
        assert_eq!(r.by, vec![dim], "{q}");
    }
}

#[test]
fn first_quarters_are_a_period_not_a_top_three() {
    let d = dicts();
    let router = Router::new(&d);
    let r = router.route("前三季度哈萨克斯坦销售额", OCT);
    let p = r.period.unwrap();
    // January–September 2026, year to date through September
    assert_eq!((p.period, p.ytd), (Period::Month(Month { year: 2026, month: 9 }), true));
    assert!(!r.intents.contains(&Intent::Ranking), "{:?}", r.intents);
    assert!(r.top.is_none());
    let r = router.route("去年前两个季度俄罗斯达成率", OCT);
    assert_eq!(r.period.unwrap().period, Period::Month(Month { year: 2025, month: 6 }));
    // a real top three beside it still counts
    let r = router.route("前三季度各国家销售额排名前三", OCT);
    assert_eq!(r.top, Some(3));
}

#[test]
fn the_last_months_are_asked_one_by_one() {
    let d = dicts();
    let router = Router::new(&d);
    let months = |q: &str| -> Vec<String> {
        router
            .route(q, OCT)
            .requests(OCT, None)
            .into_iter()
            .filter_map(|r| match r {
                MetricRequest::Sales { period, ytd: false, .. } => Some(period.to_string()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(months("最近三个月俄罗斯销售额"), ["2026-08", "2026-09", "2026-10"]);
    assert_eq!(months("Russia sales over the last 3 months"), ["2026-08", "2026-09", "2026-10"]);
    assert_eq!(months("今年每个月哈萨克斯坦的销售额").len(), 10);
    assert_eq!(months("俄罗斯10月销售额"), ["2026-10"]);
}

#[test]
fn an_area_no_dictionary_knows_is_reported_not_summed_as_the_whole_region() {
    let d = dicts();
    let router = Router::new(&d);
    let r = router.route("10月份中亚区域销售额是多少", OCT);
    assert_eq!(r.unknown_scopes, vec!["中亚".to_string()]);
    assert!(codes(&r, Dim::Region).is_empty() && codes(&r, Dim::Country).is_empty());
    let r = router.route("高加索地区今年的销量", OCT);
    assert_eq!(r.unknown_scopes, vec!["高加索".to_string()]);
    // Known groups and generic qualifiers are not reported.
    for q in
        ["独联体区域10月销售额", "东亚地区9月达成率", "北部战区10月销售额", "各区域9月销售额", "哈萨克斯坦地区的销量"]
    {
        let r = router.route(q, OCT);
        assert!(r.unknown_scopes.is_empty(), "{q}: {:?}", r.unknown_scopes);
    }
}

#[test]
fn the_quarter_of_the_latest_data_means_its_months_so_far() {
    let d = dicts();
    let router = Router::new(&d);
    // Data up to October: Q4 so far is October alone.
    let r = router.route("四季度销售额", OCT);
    assert_eq!(r.period.unwrap().period, Period::Month(OCT));
    assert_eq!(r.each_month, None);
    assert_eq!(r.quarter_so_far, Some((2026, 4)));
    // Data up to November: October and November, one by one.
    let nov = Month { year: 2026, month: 11 };
    let r = router.route("本季度俄罗斯销售额", nov);
    assert_eq!(r.period.unwrap().period, Period::Month(nov));
    assert_eq!(r.each_month, Some(2));
    // A complete quarter stays a quarter.
    let r = router.route("三季度销售额", OCT);
    assert_eq!(r.period.unwrap().period, Period::Quarter { year: 2026, quarter: 3 });
    assert_eq!(r.quarter_so_far, None);
    let dec = Month { year: 2026, month: 12 };
    let r = router.route("四季度销售额", dec);
    assert_eq!(r.period.unwrap().period, Period::Quarter { year: 2026, quarter: 4 });
}

#[test]
fn months_in_chinese_numerals_are_months() {
    let d = dicts();
    let router = Router::new(&d);
    let month = |q: &str| router.route(q, OCT).period.map(|p| p.period);
    assert_eq!(month("日本三月份卖了多少钱"), Some(Period::Month(Month { year: 2026, month: 3 })));
    assert_eq!(month("白俄 九月 销量 环比"), Some(Period::Month(Month { year: 2026, month: 9 })));
    // 十二月 is December, not 十 + 二月
    assert_eq!(month("2025年十二月俄罗斯销售额"), Some(Period::Month(Month { year: 2025, month: 12 })));
    assert_eq!(month("去年十一月哈萨克斯坦销量"), Some(Period::Month(Month { year: 2025, month: 11 })));
    // durations and relative months are not months of the year
    assert_eq!(month("上个月俄罗斯销售额"), Some(Period::Month(Month { year: 2026, month: 9 })));
    let r = router.route("最近三个月俄罗斯销售额", OCT);
    assert_eq!(r.each_month, Some(3));
}

#[test]
fn sales_words_people_use() {
    let d = dicts();
    let router = Router::new(&d);
    for q in ["Sibir 9月买了多少钱的货", "韩国半钢Q3达成", "今年以来巨胎累计卖了多少钱，完成年累计目标的百分之几？"]
    {
        let r = router.route(q, OCT);
        assert_eq!(r.kind, RouteKind::Metric, "{q}");
    }
    let r = router.route("Sibir 9月买了多少钱的货", OCT);
    assert_eq!(codes(&r, Dim::Customer), ["C001"]);
    assert!(r.intents.contains(&Intent::Actual));
    assert!(router.route("韩国半钢Q3达成", OCT).intents.contains(&Intent::Achievement));
    let r = router.route("今年以来巨胎累计卖了多少钱，完成年累计目标的百分之几？", OCT);
    assert!(r.intents.contains(&Intent::Achievement) && r.intents.contains(&Intent::Ytd), "{:?}", r.intents);
    // 达成一致 is an agreement, not an achievement rate
    assert!(!router.route("与客户达成一致的付款方式是什么", OCT).intents.contains(&Intent::Achievement));
}

#[test]
fn the_same_month_last_year_in_english_is_a_year_on_year_comparison() {
    let d = dicts();
    let r =
        Router::new(&d).route("How did South Korea's August 2026 sales compare with the same month last year?", OCT);
    assert_eq!(r.kind, RouteKind::Metric);
    assert!(r.intents.contains(&Intent::Yoy), "{:?}", r.intents);
    assert_eq!(codes(&r, Dim::Country), ["KR"]);
    // "last year" here names the comparison, not the period
    assert_eq!(r.period.unwrap().period, Period::Month(Month { year: 2026, month: 8 }));
}

#[test]
fn the_three_countries_with_the_largest_gap_are_a_gap_ranking() {
    let d = dicts();
    let r = Router::new(&d).route("10月缺口最大的三个国家", OCT);
    assert_eq!(r.top, Some(3));
    assert!(r.intents.contains(&Intent::Ranking) && r.intents.contains(&Intent::Gap));
    assert_eq!(r.by, [Dim::Country]);
    match &r.requests(OCT, None)[..] {
        [MetricRequest::Sales { sort, top, .. }] => {
            assert_eq!(*sort, Some(lodestar_rag::source::SortKey::Gap));
            assert_eq!(*top, Some(3));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn countries_outside_the_dictionaries_and_future_periods() {
    let d = dicts();
    let router = Router::new(&d);
    assert_eq!(router.route("越南市场10月全钢达成率", OCT).unknown_scopes, ["越南"]);
    assert_eq!(router.route("Vietnam sales in October", OCT).unknown_scopes, ["vietnam"]);
    // 印度尼西亚 is one country, not 印度 as well
    assert_eq!(router.route("印度尼西亚10月销量", OCT).unknown_scopes, ["印度尼西亚"]);
    // a region of a market that the dictionaries cannot filter by
    assert_eq!(router.route("中东市场10月销售额", OCT).unknown_scopes, ["中东"]);
    for q in ["俄罗斯市场10月销售额", "海外市场10月销售额", "内蒙古客户的销量", "Russia sales in October"]
    {
        assert!(router.route(q, OCT).unknown_scopes.is_empty(), "{q}");
    }
    // next year / next month / next quarter lie after the data (2026-10)
    let p = |q: &str| router.route(q, OCT).period.map(|p| p.period);
    assert_eq!(p("明年俄罗斯全钢销售额预测"), Some(Period::Year(2027)));
    assert_eq!(p("下个月哈萨克斯坦销量"), Some(Period::Month(Month { year: 2026, month: 11 })));
    assert_eq!(p("下季度日本销售额"), Some(Period::Quarter { year: 2027, quarter: 1 }));
}

#[test]
fn a_period_against_the_one_before_it_and_both_measures() {
    let d = dicts();
    let router = Router::new(&d);
    for q in ["俄罗斯三季度比二季度销售额增长了多少", "Russia Q3 vs Q2 sales", "俄罗斯9月和8月相比销售额"]
    {
        let r = router.route(q, OCT);
        assert!(r.intents.contains(&Intent::Mom), "{q}: {:?}", r.intents);
    }
    // Q3 against Q1 is not the previous quarter; a single quarter is no comparison
    assert!(!router.route("俄罗斯三季度比一季度销售额", OCT).intents.contains(&Intent::Mom));
    assert!(!router.route("俄罗斯三季度销售额比去年", OCT).intents.contains(&Intent::Mom));
    // amount and quantity: two requests, the amount first
    let r = router.route("乌兹别克斯坦Q3的销售额和销量", OCT);
    let measures: Vec<Measure> = r
        .requests(OCT, None)
        .iter()
        .filter_map(|q| match q {
            MetricRequest::Sales { measure, .. } => Some(*measure),
            _ => None,
        })
        .collect();
    assert_eq!(measures, [Measure::Amount, Measure::Quantity]);
    assert_eq!(router.route("乌兹别克斯坦Q3的销量", OCT).requests(OCT, None).len(), 1);
}

#[test]
fn the_start_of_one_customers_name_pointed_at_as_a_customer_is_that_customer() {
    let d = dicts();
    let router = Router::new(&d);
    // 杜尚别 begins only 杜尚别货运 (C036) in customers.csv
    let r = router.route("杜尚别那个客户冬天之前要追加多少条胎", OCT);
    assert_eq!(codes(&r, Dim::Customer), ["C036"]);
    // one customer pointed at: no per-customer table
    assert!(!r.by.contains(&Dim::Customer), "{:?}", r.by);
    // a plan to add an order is asked from the documents too
    assert!(r.needs_knowledge());
    // without a word pointing at a customer, a place name is not a customer
    assert!(codes(&router.route("杜尚别10月销量", OCT), Dim::Customer).is_empty());
}

#[test]
fn how_a_scope_did_is_its_sales_achievement_and_change() {
    let d = dicts();
    let router = Router::new(&d);
    for q in ["俄区上月咋样", "How did Russia do last month?", "俄罗斯上个月情况怎么样"] {
        let r = router.route(q, OCT);
        assert_eq!(r.kind, RouteKind::Metric, "{q}");
        assert_eq!(codes(&r, Dim::Country), ["RU"], "{q}");
        for i in [Intent::Actual, Intent::Achievement, Intent::Yoy] {
            assert!(r.intents.contains(&i), "{q}: {:?}", r.intents);
        }
        assert_eq!(r.period.unwrap().period, Period::Month(Month { year: 2026, month: 9 }), "{q}");
    }
    // a policy asked how it is stays a knowledge question
    assert_eq!(router.route("这个返利政策怎么样", OCT).kind, RouteKind::Knowledge);
}

#[test]
fn annual_tasks_bottom_rankings_and_sales_words() {
    let d = dicts();
    let router = Router::new(&d);
    assert!(router.route("哈国全年任务完成几成了", OCT).intents.contains(&Intent::AnnualProgress));
    assert!(router.route("阿塞拜疆今年还剩多少任务，每月得做多少", OCT).intents.contains(&Intent::AnnualProgress));
    let r = router.route("Which three countries had the lowest achievement in October?", OCT);
    assert_eq!((r.top, r.ascending), (Some(3), true));
    assert!(r.intents.contains(&Intent::Ranking) && r.intents.contains(&Intent::Achievement));
    let r = router.route("哈萨克斯坦10月销售额后五名客户", OCT);
    assert_eq!((r.top, r.ascending), (Some(5), true));
    assert_eq!(r.by, [Dim::Customer]);
    // `之后3天` is not a ranking
    assert_eq!(router.route("货好之后3天内要付款吗", OCT).top, None);
    assert!(router.route("远东港口服务今年有销售吗", OCT).intents.contains(&Intent::Actual));
    let r = router.route("下个月乌兹别克斯坦能卖多少", OCT);
    assert!(r.intents.contains(&Intent::Actual));
    assert_eq!(r.period.unwrap().period, Period::Month(Month { year: 2026, month: 11 }));
}

#[test]
fn figures_no_table_holds_and_spec_spellings() {
    let d = dicts();
    let router = Router::new(&d);
    assert_eq!(router.route("俄罗斯全钢胎毛利率是多少", OCT).unsupported_measure.as_deref(), Some("毛利率"));
    assert_eq!(
        router.route("What was the gross margin on TBR in Russia?", OCT).unsupported_measure.as_deref(),
        Some("gross margin")
    );
    // a plan about consignment stock asks for a document, not a figure
    assert_eq!(router.route("远东港口服务的寄售库存方案是什么", OCT).unsupported_measure, None);
    // `315 80R22.5` (space for the slash) and `1200R24` are catalogue specs
    assert_eq!(codes(&router.route("315 80R22.5 上个月销量", OCT), Dim::Spec), ["315/80R22.5"]);
    assert_eq!(codes(&router.route("1200R24 今年销量", OCT), Dim::Spec), ["12.00R24"]);
    // the top ten customers' share is the concentration (CR10)
    assert!(router.route("前十客户占多少", OCT).intents.contains(&Intent::Concentration));
    // a spec outside the catalogue is reported, not summed as the whole region
    let r = router.route("12.00-24 今年销量", OCT);
    assert!(codes(&r, Dim::Spec).is_empty());
    assert_eq!(r.unknown_scopes, ["12.00-24"]);
}

#[test]
fn a_metric_route_needs_a_metric_subject() {
    let d = dicts();
    let router = Router::new(&d);
    // counts of something other than tyres, rules and thresholds, figures inside a named document,
    // ranking words without anything to rank: the knowledge bases answer, never the engine
    for q in [
        "MosTyre 莫斯科展会一共收集到多少条有效线索？",
        "莫斯科轮胎展上全钢的有效线索有多少条？",
        "轮胎速度级别标 V，代表最高能跑多少公里每小时？",
        "经销商年度目标达成率低于多少就完全拿不到返利？",
        "9 月 7 日经营分析会上，40.00R57 第四季度需求有多少条？",
        "货好后款没到齐，20 尺柜的仓储费每天按多少收？",
        "日本那边冬天能卖带钉子的雪地胎不？",
        "Which certification do passenger-car tyres need before they can be sold in Korea?",
        "产能缺口是多少？",
        // the second sentence's measure word is about the first one's subject, not about sales
        "一笔索赔从提交到结案一般要几天？公司的目标是多少？",
        "展会费用超预算了吗？目标是多少？",
        // a yes/no question about what happens is about a rule, not a figure
        "经销商在 ERP 里改了公司名，以前记在旧名下的销售额会不会丢？",
    ] {
        let r = router.route(q, OCT);
        assert_eq!(r.kind, RouteKind::Knowledge, "{q}: {:?}", r.intents);
    }
    // a count of tyres, a selling verb with a quantity, a ranking of something: the engine answers
    for q in [
        "俄罗斯 2026年9月全钢卖了多少条？",
        "2026年9月全钢多少条？",
        "西伯利亚物流今年一共提了多少条胎？",
        "哪个国家 9 月销售额最高？",
        "俄罗斯 9 月达成率多少？",
        "How much did Kazakhstan sell in October 2026?",
    ] {
        let r = router.route(q, OCT);
        assert_eq!(r.kind, RouteKind::Metric, "{q}: {:?}", r.intents);
    }
    // a named scope or a sales measure keeps the engine's figure beside another subject
    for q in
        ["俄罗斯 9 月的目标是多少？理赔多不多？", "9 月销售额多少？库存够不够？", "俄罗斯 9 月销量会不会低于目标？"]
    {
        let r = router.route(q, OCT);
        assert!(r.needs_metrics(), "{q}: {:?} {:?}", r.kind, r.intents);
    }
    let r = router.route("2026年9月全钢多少条？", OCT);
    assert_eq!(r.measure, Measure::Quantity);
}

#[test]
fn a_home_vocabulary_changes_what_counts_as_a_sales_question() {
    let q = "俄罗斯 2026年9月全钢装了多少条？";
    let d = dicts();
    assert_eq!(Router::new(&d).route(q, OCT).kind, RouteKind::Knowledge, "装 is no selling word built in");
    // the home's dictionaries/metric_subjects.csv: in this team, 装 (loaded into containers) counts
    // tyres sold
    let mut d = dicts();
    d.vocab.overlay("metric_subjects.csv", "kind,word\ncount_subject,装\n").unwrap();
    let r = Router::new(&d).route(q, OCT);
    assert_eq!(r.kind, RouteKind::Metric, "{:?}", r.intents);
    assert_eq!(r.measure, Measure::Quantity);
    // and a built-in word taken out: 卖了 with a quantity no longer asks for sales
    let mut d = dicts();
    d.vocab.overlay("metric_subjects.csv", "-weak_verb,卖了\n-count_subject,卖\n").unwrap();
    let r = Router::new(&d).route("俄罗斯 2026年9月全钢卖了多少条？", OCT);
    assert_eq!(r.kind, RouteKind::Knowledge, "{:?}", r.intents);
}
