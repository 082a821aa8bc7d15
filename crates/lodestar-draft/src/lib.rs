//! `lodestar-draft`: drafts assembled from facts (初稿) — customer profiles (客户画像) and the
//! monthly business-review material (经营分析会材料初稿) — with a review workflow (待复核 →
//! 通过 / 退回 / 修改) and AI 输出可用率.
//!
//! The rule of the house holds: every figure comes from the rule engine (`lodestar-metrics`) or a
//! cited knowledge passage; a model, when given, only writes connecting prose from the facts it is
//! handed, and [`grounding`] checks every number of that prose (the number guard of `lodestar-rag`)
//! and that each claim sentence carries a citation or a fact. Without a model, template sentences.
//!
//! Data flow: [`profile::build_profile`] / [`review::build_review`] → [`Draft`] (sections with
//! their text, facts and citations) → [`doc::Doc`] → Markdown ([`doc::to_markdown`]), Word
//! ([`docx::write_docx`]) and, for the review, an xlsx workbook with native charts
//! ([`review::write_review_xlsx`]) → [`store`] (SQLite + files under the home, `needs_review`).
//!
//! ```no_run
//! # fn f(ctx: &lodestar_draft::Context) -> Result<(), lodestar_draft::DraftError> {
//! let draft = lodestar_draft::profile::build_profile(ctx, "C001")?;
//! println!("{}", lodestar_draft::doc::to_markdown(&draft.doc()));
//! # Ok(()) }
//! ```

pub mod batch;
pub mod doc;
pub mod docx;
pub mod grounding;
pub mod profile;
pub mod review;
pub mod store;

use chrono::NaiveDate;
use lodestar_core::config::Config;
use lodestar_core::{Generator, KbId, Month, Principal, Sensitivity};
use lodestar_dict::Dictionaries;
use lodestar_metrics::MetricsEngine;
use lodestar_rag::Retriever;
use serde::Serialize;

/// Errors of drafting.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// The rule engine failed.
    #[error(transparent)]
    Metrics(#[from] lodestar_metrics::MetricsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] lodestar_store::StoreError),
    /// An SQL query failed.
    #[error("database error: {0}")]
    Sql(#[from] lodestar_store::rusqlite::Error),
    /// The ledger (督办台账) could not be read; holds its message.
    #[error("ledger: {0}")]
    Ledger(String),
    /// No draft, batch or customer of that id; the message says which.
    #[error("{0}")]
    NotFound(String),
    /// A request refused (already decided, missing reason, bad input); the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A draft file could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// Why it could not be written.
        message: String,
    },
    /// The chat model failed; holds its message.
    #[error("model error: {0}")]
    Model(String),
}

/// What a draft is drafted from, as whom.
pub struct Context<'a> {
    /// The database.
    pub store: &'a lodestar_store::Store,
    /// The dictionaries (customer, staff and country names).
    pub dicts: &'a Dictionaries,
    /// The rule engine the figures come from.
    pub engine: &'a MetricsEngine,
    /// The home's `config.toml` (thresholds, field sensitivities).
    pub config: &'a Config,
    /// The knowledge bases; `None` → the knowledge sections say 待补充.
    pub retriever: Option<&'a dyn Retriever>,
    /// The chat model for connecting prose; `None` → template sentences.
    pub generator: Option<&'a dyn Generator>,
    /// The reader: rule-engine figures and passages are filtered for them.
    pub principal: Principal,
    /// The month drafted (`--month`; default: the latest month with data).
    pub month: Month,
    /// Alerts and ledger items are taken as of this date (the month's last day, or today if earlier).
    pub as_of: NaiveDate,
}

impl Context<'_> {
    /// The as-of date for a month: its last day, or today when that is still to come.
    pub fn as_of_for(month: Month) -> NaiveDate {
        month.last_day().min(chrono::Local::now().date_naive()).max(month.first_day())
    }
}

/// One figure a draft rests on (from the rule engine or a dictionary).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    /// Stable key of the figure (`customer.id`, `sales.ytd_actual` …).
    pub key: String,
    /// Chinese label shown beside it (`客户编号`).
    pub label: String,
    /// As displayed (`96.35%`, `1,989,235.80`).
    pub value: String,
}

/// A cited knowledge passage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// The number used in the text (`[1]`).
    pub n: usize,
    /// Knowledge base of the passage.
    pub kb: KbId,
    /// Document id.
    pub doc: String,
    /// Document title.
    pub title: String,
    /// Heading path of the passage inside its document.
    pub section: String,
    /// 密级 of the document.
    pub sensitivity: Sensitivity,
    /// The passage text quoted to the model.
    pub excerpt: String,
}

/// One section of a draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftSection {
    /// Stable section id (`sales`, `receivables` …).
    pub id: String,
    /// Section heading.
    pub heading: String,
    /// The section as Markdown.
    pub text: String,
    /// The engine figures and dictionary values given to the section (and to the model).
    pub facts: Vec<Fact>,
    /// The knowledge passages the section cites, numbered as in the text.
    pub citations: Vec<Citation>,
    /// The section's document blocks (for the `.docx` and text writers; not serialized).
    #[serde(skip)]
    pub blocks: Vec<doc::Block>,
}

/// Kind of draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// 客户画像: a customer profile.
    Profile,
    /// 经营分析会材料: the monthly business-review material.
    Review,
}

impl DraftKind {
    /// The lowercase id (`profile`, `review`) stored with the draft.
    pub fn as_str(self) -> &'static str {
        match self {
            DraftKind::Profile => "profile",
            DraftKind::Review => "review",
        }
    }
}

/// A drafted document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    /// Customer profile or monthly review.
    pub kind: DraftKind,
    /// Customer id (profile) or month (review).
    pub subject: String,
    /// Document title.
    pub title: String,
    /// The month drafted, `YYYY-MM`.
    pub month: String,
    /// The as-of date of alerts and ledger items, `YYYY-MM-DD`.
    pub as_of: String,
    /// When the draft was generated (RFC 3339).
    pub generated_at: String,
    /// The model that wrote the prose; `None` = template sentences.
    pub model: Option<String>,
    /// Review status: `needs_review` when drafted.
    pub status: String,
    /// Grounding-check violations and missing data, shown at the top of the document.
    pub warnings: Vec<String>,
    /// The sections, in order.
    pub sections: Vec<DraftSection>,
    /// Tokens the model generated for this draft.
    #[serde(skip)]
    pub tokens: usize,
}

impl Draft {
    /// An empty draft for `subject` in `ctx`'s month, status `needs_review`.
    pub fn new(kind: DraftKind, subject: &str, title: String, ctx: &Context<'_>) -> Self {
        Draft {
            kind,
            subject: subject.to_string(),
            title,
            month: ctx.month.to_string(),
            as_of: ctx.as_of.to_string(),
            generated_at: lodestar_store::now(),
            model: ctx.generator.map(|g| g.name().to_string()),
            status: "needs_review".into(),
            warnings: Vec::new(),
            sections: Vec::new(),
            tokens: 0,
        }
    }

    /// Adds a section; its Markdown text is rendered from the blocks.
    pub fn push(
        &mut self,
        id: &str,
        heading: &str,
        blocks: Vec<doc::Block>,
        facts: Vec<Fact>,
        citations: Vec<Citation>,
    ) {
        let one = doc::Doc {
            title: String::new(),
            subtitle: None,
            warnings: Vec::new(),
            sections: vec![doc::Section { heading: heading.to_string(), level: 1, blocks: blocks.clone() }],
        };
        let text = doc::to_markdown(&one).trim().to_string();
        self.sections.push(DraftSection { id: id.into(), heading: heading.into(), text, facts, citations, blocks });
    }

    /// The document to write (md / docx).
    pub fn doc(&self) -> doc::Doc {
        let status = match self.status.as_str() {
            "approved" => "已审核通过",
            "rejected" => "已退回",
            _ => "AI 初稿 · 需人工复核",
        };
        let model =
            self.model.as_deref().map(|m| format!(" · 模型 {m}")).unwrap_or_else(|| " · 模板生成（未用模型）".into());
        doc::Doc {
            title: self.title.clone(),
            subtitle: Some(format!(
                "数据月份 {} · 截至 {} · 生成于 {}{model} · {status}",
                self.month,
                self.as_of,
                &self.generated_at[..10.min(self.generated_at.len())]
            )),
            warnings: self.warnings.clone(),
            sections: self
                .sections
                .iter()
                .map(|s| doc::Section { heading: s.heading.clone(), level: 1, blocks: s.blocks.clone() })
                .collect(),
        }
    }
}
