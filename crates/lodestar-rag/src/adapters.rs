//! Adapters from the real crates to the assistant's traits (适配器): the rule engine
//! (`lodestar-metrics`, feature `metrics`) as a [`MetricsSource`](crate::MetricsSource) and the
//! hybrid index (`lodestar-index`, feature `index`) as a [`Retriever`](crate::Retriever), and
//! `lodestar-store`'s `Store` (feature `metrics`) as the [`AuditLog`](crate::AuditLog).

#[cfg(feature = "metrics")]
pub use engine::EngineSource;
#[cfg(feature = "index")]
pub use index::IndexRetriever;

#[cfg(feature = "metrics")]
impl crate::AuditLog for lodestar_store::Store {
    fn audit(&self, actor: &str, action: &str, detail: &serde_json::Value) -> Result<(), crate::RagError> {
        lodestar_store::Store::audit(self, actor, action, detail).map(|_| ()).map_err(crate::RagError::backend)
    }
}

#[cfg(feature = "metrics")]
mod engine {
    use crate::source::{
        AlertKind, AlertRow, ConcentrationRow, Dim, Filter, Measure, MetricRequest, MetricRow, MetricTable,
        MetricsSource, ScopeKey, SortKey,
    };
    use crate::RagError;
    use lodestar_core::config::Config;
    use lodestar_core::{Month, Period, Principal};
    use lodestar_dict::Dictionaries;
    use lodestar_metrics as lm;
    use lodestar_store::Store;
    use rust_decimal::Decimal;
    use std::sync::{Arc, Mutex};

    /// The rule engine over one store snapshot, plus the store for the alert rules.
    pub struct EngineSource {
        engine: lm::MetricsEngine,
        store: Mutex<Store>,
        dicts: Arc<Dictionaries>,
        config: Config,
    }

    fn err(e: impl Into<crate::BoxError>) -> RagError {
        RagError::backend(e)
    }

    fn dim(d: Dim) -> lm::Dim {
        match d {
            Dim::Region => lm::Dim::Region,
            Dim::Country => lm::Dim::Country,
            Dim::Category => lm::Dim::Category,
            Dim::Spec => lm::Dim::Spec,
            Dim::Customer => lm::Dim::Customer,
            Dim::Owner => lm::Dim::Owner,
        }
    }

    fn back(d: lm::Dim) -> Dim {
        match d {
            lm::Dim::Region => Dim::Region,
            lm::Dim::Country => Dim::Country,
            lm::Dim::Category => Dim::Category,
            lm::Dim::Spec => Dim::Spec,
            lm::Dim::Customer => Dim::Customer,
            lm::Dim::Owner => Dim::Owner,
        }
    }

    fn measure(m: Measure) -> lm::Measure {
        match m {
            Measure::Amount => lm::Measure::Amount,
            Measure::Quantity => lm::Measure::Quantity,
        }
    }

    fn row(r: &lm::MetricRow) -> MetricRow {
        MetricRow {
            scope: r
                .scope
                .dims
                .iter()
                .map(|p| ScopeKey {
                    dim: back(p.dim),
                    code: p.code.clone(),
                    name_zh: p.name_zh.clone(),
                    name_en: p.name_en.clone(),
                })
                .collect(),
            actual: r.actual,
            target: r.target,
            achievement: r.achievement,
            gap: r.gap,
            yoy: r.yoy,
            mom: r.mom,
            last_year: r.actual_last_year,
            prev_month: r.actual_prev,
            ytd_actual: r.ytd_actual,
            ytd_target: r.ytd_target,
            ytd_achievement: r.ytd_achievement,
            ytd_gap: r.ytd_gap,
            ytd_yoy: r.ytd_yoy,
            ytd_last_year: r.ytd_actual_last_year,
            annual_progress: r.annual_progress,
            annual_target: r.annual_target,
            remaining_gap: r.remaining_gap,
            run_rate: r.run_rate,
            contribution: r.contribution,
            rank: r.rank,
            reasons: r.reasons.iter().map(|x| (x.field.clone(), x.reason.clone())).collect(),
        }
    }

    /// Competition ranking (1, 2, 2, 4) on the chosen key; null keys unranked at the end, ties by id.
    fn rank_rows(rows: &mut [MetricRow], key: impl Fn(&MetricRow) -> Option<Decimal>, ascending: bool) {
        rows.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            let ord = match (ka, kb) {
                (Some(x), Some(y)) => {
                    if ascending {
                        x.cmp(&y)
                    } else {
                        y.cmp(&x)
                    }
                }
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            let id = |r: &MetricRow| r.scope.iter().map(|k| k.code.clone()).collect::<Vec<_>>().join("|");
            ord.then_with(|| id(a).cmp(&id(b)))
        });
        let mut prev: Option<Decimal> = None;
        let mut prev_rank = 0u32;
        for (i, r) in rows.iter_mut().enumerate() {
            match key(r) {
                Some(k) => {
                    let rank = if prev == Some(k) { prev_rank } else { i as u32 + 1 };
                    r.rank = Some(rank);
                    prev = Some(k);
                    prev_rank = rank;
                }
                None => r.rank = None,
            }
        }
    }

    impl EngineSource {
        /// Loads the engine over `store` (all months), with the home's config (thresholds and
        /// field sensitivities).
        pub fn load(store: Store, dicts: Arc<Dictionaries>, config: Config) -> Result<Self, RagError> {
            let engine =
                lm::MetricsEngine::load(&store, &dicts).map_err(err)?.with_field_sensitivity(config.fields.clone());
            Ok(Self { engine, store: Mutex::new(store), dicts, config })
        }

        fn country_of_customer(&self, id: &str) -> Option<String> {
            self.dicts.customer_by_id(id).map(|c| c.country.clone())
        }

        fn keep_alert(&self, filters: &[Filter], customer: &str, country: Option<&str>) -> bool {
            let cust = self.dicts.customer_by_id(customer);
            let country = country.map(str::to_string).or_else(|| self.country_of_customer(customer));
            filters.iter().all(|f| match f.dim {
                Dim::Customer => f.code == customer,
                Dim::Country => country.as_deref() == Some(f.code.as_str()),
                Dim::Region => {
                    country.as_deref().and_then(|c| self.dicts.country_by_code(c)).is_some_and(|c| c.region == f.code)
                }
                Dim::Owner => cust.is_some_and(|c| c.owner == f.code),
                _ => true,
            })
        }

        fn country_name(&self, code: &str) -> String {
            self.dicts.country_by_code(code).map(|c| c.name_zh.clone()).unwrap_or_else(|| code.to_string())
        }
    }

    impl MetricsSource for EngineSource {
        fn latest_month(&self) -> Result<Option<Month>, RagError> {
            Ok(self.engine.latest_month())
        }

        fn earliest_month(&self) -> Result<Option<Month>, RagError> {
            Ok(self.engine.earliest_month())
        }

        fn run(&self, request: &MetricRequest, principal: &Principal) -> Result<MetricTable, RagError> {
            match request {
                MetricRequest::Sales { period, ytd, by, filters, measure: m, sort, ascending, top } => {
                    let mut q = lm::MetricQuery::new(*period, by.iter().map(|d| dim(*d)).collect());
                    q.measure = measure(*m);
                    q.filters = filters.iter().map(|f| (dim(f.dim), f.code.clone())).collect();
                    q.principal = principal.clone();
                    let t = self.engine.query(&q).map_err(err)?;
                    let mut rows: Vec<MetricRow> = t.rows.iter().map(row).collect();
                    let mut total = row(&t.total);
                    if *ytd {
                        // 年累计贡献: the engine's contribution is the month's share; a year-to-date
                        // question wants each row's share of the year-to-date total
                        let whole = total.ytd_actual.filter(|d| !d.is_zero());
                        for r in rows.iter_mut().chain(std::iter::once(&mut total)) {
                            r.contribution = match (r.ytd_actual, whole) {
                                (Some(a), Some(w)) => Some((a / w).normalize()),
                                _ => None,
                            };
                        }
                    }
                    if let Some(k) = sort {
                        let ytd = *ytd;
                        let key = move |r: &MetricRow| -> Option<Decimal> {
                            match (k, ytd) {
                                (SortKey::Actual, false) => r.actual,
                                (SortKey::Actual, true) => r.ytd_actual,
                                (SortKey::Achievement, false) => r.achievement,
                                (SortKey::Achievement, true) => r.ytd_achievement,
                                (SortKey::Gap, false) => r.gap,
                                (SortKey::Gap, true) => r.ytd_gap,
                                (SortKey::Yoy, false) => r.yoy,
                                (SortKey::Yoy, true) => r.ytd_yoy,
                            }
                        };
                        rank_rows(&mut rows, key, *ascending);
                    }
                    if let Some(n) = top {
                        rows.truncate(*n);
                    }
                    Ok(MetricTable::Sales { rows, total: Some(Box::new(total)) })
                }
                MetricRequest::Concentration { month, filters, measure: m } => {
                    let mut q = lm::ConcentrationQuery::new(Period::Month(*month));
                    q.measure = measure(*m);
                    q.filters = filters.iter().map(|f| (dim(f.dim), f.code.clone())).collect();
                    q.principal = principal.clone();
                    let c = self.engine.concentration(&q).map_err(err)?;
                    let share = |n: usize| c.ratios.iter().find(|r| r.n == n).and_then(|r| r.share);
                    Ok(MetricTable::Concentration {
                        row: ConcentrationRow {
                            total: c.total,
                            customers: c.customer_count,
                            cr10: share(10),
                            cr20: share(20),
                            top: c
                                .customers
                                .iter()
                                .take(10)
                                .filter_map(|r| Some((r.scope.label_zh(), r.actual?, r.contribution)))
                                .collect(),
                        },
                    })
                }
                MetricRequest::Alerts { kind, as_of, filters } => {
                    let store = self.store.lock().map_err(|_| RagError::Source("store lock poisoned".into()))?;
                    let a = lm::alerts(&store, &self.dicts, *as_of, &self.config, principal).map_err(err)?;
                    let group = match kind {
                        AlertKind::Overdue => "overdue",
                        AlertKind::ShipmentAtRisk => "shipment_at_risk",
                        AlertKind::CreditAnomaly => "credit_anomaly",
                        AlertKind::StalledDevelopment => "stalled_development",
                    };
                    if let Some(w) = a.withheld.iter().find(|w| w.group == group) {
                        return Err(RagError::Source(w.reason.clone()));
                    }
                    // an answer about these alerts is about their amounts and contracts: below those
                    // sensitivities the chat declines with the reason rather than answer half
                    let masked = |g: &str| g == group || (g == "contract_no" && group != "stalled_development");
                    if let Some(w) = a.masked.iter().find(|w| masked(&w.group)) {
                        return Err(RagError::Source(w.reason.clone()));
                    }
                    let mut rows = Vec::new();
                    match kind {
                        AlertKind::Overdue => {
                            for o in &a.overdue {
                                if self.keep_alert(filters, &o.customer.id, Some(&o.country)) {
                                    rows.push(AlertRow {
                                        kind: o.rule.id.clone(),
                                        customer: o.customer.id.clone(),
                                        customer_name: o.customer.name_zh.clone(),
                                        country: self.country_name(&o.country),
                                        contract: o.contract_no.clone().unwrap_or_default(),
                                        currency: o.currency.clone(),
                                        amount: o.overdue_amount,
                                        days: Some(o.days_overdue),
                                        bucket: format!("{} 天", o.bucket),
                                        due_date: o.due_date.to_string(),
                                        detail: format!("{}，约定 {} 回款", o.payment_node, o.due_date),
                                    });
                                }
                            }
                            rows.sort_by(|x, y| y.amount.cmp(&x.amount).then(x.contract.cmp(&y.contract)));
                        }
                        AlertKind::ShipmentAtRisk => {
                            for s in &a.shipment_at_risk {
                                if self.keep_alert(filters, &s.customer.id, Some(&s.country)) {
                                    rows.push(AlertRow {
                                        kind: s.rule.id.clone(),
                                        customer: s.customer.id.clone(),
                                        customer_name: s.customer.name_zh.clone(),
                                        country: self.country_name(&s.country),
                                        contract: s.contract_no.clone().unwrap_or_default(),
                                        currency: s.currency.clone(),
                                        amount: s.missing_amount,
                                        days: Some(s.days_to_goods_ready),
                                        bucket: String::new(),
                                        due_date: s.goods_ready_date.to_string(),
                                        detail: format!(
                                            "{}，{}，货好日期 {}",
                                            s.payment_node, s.shipping_status, s.goods_ready_date
                                        ),
                                    });
                                }
                            }
                        }
                        AlertKind::CreditAnomaly => {
                            for c in &a.credit_anomaly {
                                if self.keep_alert(filters, &c.customer.id, None) {
                                    let country = self.country_of_customer(&c.customer.id).unwrap_or_default();
                                    let detail = match (c.credit_limit, &c.contract_no, c.outstanding) {
                                        (Some(l), _, Some(o)) if c.rule.id == "credit_over_limit" => format!(
                                            "未回款余额 {} {} 超过信用额度 {} {}",
                                            o,
                                            c.currency,
                                            l,
                                            c.credit_currency.clone().unwrap_or_default()
                                        ),
                                        (_, Some(k), _) => format!(
                                            "合同 {k} 逾期 {} 天，当月仍有销售",
                                            c.days_overdue.map(|d| d.to_string()).unwrap_or_default()
                                        ),
                                        _ => c.rule.description_zh.clone(),
                                    };
                                    rows.push(AlertRow {
                                        kind: c.rule.id.clone(),
                                        customer: c.customer.id.clone(),
                                        customer_name: c.customer.name_zh.clone(),
                                        country: self.country_name(&country),
                                        contract: c.contract_no.clone().unwrap_or_default(),
                                        currency: c.currency.clone(),
                                        amount: c.outstanding,
                                        days: c.days_overdue,
                                        bucket: String::new(),
                                        due_date: String::new(),
                                        detail,
                                    });
                                }
                            }
                        }
                        AlertKind::StalledDevelopment => {
                            for s in &a.stalled_development {
                                if self.keep_alert(filters, &s.customer.id, None) {
                                    let country = self.country_of_customer(&s.customer.id).unwrap_or_default();
                                    rows.push(AlertRow {
                                        kind: s.rule.id.clone(),
                                        customer: s.customer.id.clone(),
                                        customer_name: s.customer.name_zh.clone(),
                                        country: self.country_name(&country),
                                        contract: String::new(),
                                        currency: String::new(),
                                        amount: None,
                                        days: s.days_since_activity,
                                        bucket: String::new(),
                                        due_date: String::new(),
                                        detail: match (&s.last_activity, &s.last_activity_kind) {
                                            (Some(d), Some(k)) => format!("最近活动 {d}（{k}）"),
                                            (Some(d), None) => format!("最近活动 {d}"),
                                            _ => "没有任何活动记录".into(),
                                        },
                                    });
                                }
                            }
                        }
                    }
                    Ok(MetricTable::Alerts { rows })
                }
            }
        }
    }
}

#[cfg(feature = "index")]
mod index {
    use crate::source::{Hit, Retriever};
    use crate::RagError;
    use lodestar_core::{KbId, Principal};
    use lodestar_index::{KnowledgeIndex, SearchRequest};
    use std::sync::Mutex;

    /// The hybrid knowledge index (tantivy BM25 + HNSW, RRF) as a [`Retriever`]. Its permission
    /// filter runs inside the search, before ranking.
    pub struct IndexRetriever {
        index: Mutex<KnowledgeIndex>,
    }

    impl IndexRetriever {
        /// Wraps an opened knowledge index.
        pub fn new(index: KnowledgeIndex) -> Self {
            Self { index: Mutex::new(index) }
        }

        /// The index itself, for adding and removing documents while the assistant serves
        /// (searches wait for the lock meanwhile).
        pub fn index(&self) -> std::sync::MutexGuard<'_, KnowledgeIndex> {
            self.index.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl Retriever for IndexRetriever {
        fn search(&self, query: &str, principal: &Principal, kbs: &[KbId], k: usize) -> Result<Vec<Hit>, RagError> {
            let ix = self.index.lock().map_err(|_| RagError::Source("index lock poisoned".into()))?;
            let mut req = SearchRequest::new(query, principal.clone());
            req.k = k;
            req.kbs = kbs.to_vec();
            let res = ix.search(&req).map_err(RagError::backend)?;
            Ok(res
                .hits
                .into_iter()
                .map(|h| Hit {
                    kb: h.kb,
                    doc: h.doc,
                    title: h.title,
                    chunk_id: h.chunk_id,
                    section: h.section,
                    text: h.text,
                    sensitivity: h.sensitivity,
                    score: h.score as f32,
                    customers: h.customer.into_iter().collect(),
                })
                .collect())
        }
    }
}
