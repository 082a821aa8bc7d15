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

// Not every public item here is documented yet: `missing_docs` (workspace lints) is on for the
// crates whose items all are, and this allow goes when this crate's are.
#![allow(missing_docs)]

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
    #[error(transparent)]
    Metrics(#[from] lodestar_metrics::MetricsError),
    #[error(transparent)]
    Store(#[from] lodestar_store::StoreError),
    #[error("database error: {0}")]
    Sql(#[from] lodestar_store::rusqlite::Error),
    #[error("ledger: {0}")]
    Ledger(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("model error: {0}")]
    Model(String),
}

/// What a draft is drafted from, as whom.
pub struct Context<'a> {
    pub store: &'a lodestar_store::Store,
    pub dicts: &'a Dictionaries,
    pub engine: &'a MetricsEngine,
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
    pub key: String,
    pub label: String,
    /// As displayed (`96.35%`, `1,989,235.80`).
    pub value: String,
}

/// A cited knowledge passage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// The number used in the text (`[1]`).
    pub n: usize,
    pub kb: KbId,
    pub doc: String,
    pub title: String,
    pub section: String,
    pub sensitivity: Sensitivity,
    pub excerpt: String,
}

/// One section of a draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftSection {
    pub id: String,
    pub heading: String,
    /// The section as Markdown.
    pub text: String,
    /// The engine figures and dictionary values given to the section (and to the model).
    pub facts: Vec<Fact>,
    pub citations: Vec<Citation>,
    #[serde(skip)]
    pub blocks: Vec<doc::Block>,
}

/// Kind of draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    Profile,
    Review,
}

impl DraftKind {
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
    pub kind: DraftKind,
    /// Customer id (profile) or month (review).
    pub subject: String,
    pub title: String,
    pub month: String,
    pub as_of: String,
    pub generated_at: String,
    /// The model that wrote the prose; `None` = template sentences.
    pub model: Option<String>,
    pub status: String,
    /// Grounding-check violations and missing data, shown at the top of the document.
    pub warnings: Vec<String>,
    pub sections: Vec<DraftSection>,
    /// Tokens the model generated for this draft.
    #[serde(skip)]
    pub tokens: usize,
}

impl Draft {
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
