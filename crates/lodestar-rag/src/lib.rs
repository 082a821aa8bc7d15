//! `lodestar-rag`: grounded answers (有据可查的回答) — routes metric questions to the rule engine,
//! knowledge questions to permission-filtered retrieval and the chat model, cites sources, and
//! guards every number.
//!
//! Pipeline: [`route`] (dictionary-resolved scope, intent and period) → [`source::MetricsSource`]
//! rows rendered by [`render`] without any model → [`source::Retriever`] hits, an evidence gate,
//! and [`prompt`] (fixed system prompt, numbered sources framed as data, token budget) → the chat
//! model → [`guard`] (every number must come from the tool results or the cited chunks).
//!
//! ```
//! use std::sync::Arc;
//! use lodestar_rag::{Assistant, AskOptions, memory::MemoryRetriever};
//! let dicts = Arc::new(lodestar_dict::Dictionaries::builtin().unwrap());
//! let mut kb = MemoryRetriever::new();
//! kb.add_markdown("policy/warranty.md", "---\nkb: policy\ntitle: 质保政策\nsensitivity: 内部\n---\n## 全钢质保\n全钢胎质保期 3 年或 10 万公里。\n", lodestar_core::KbId::Policy);
//! let a = Assistant::new(dicts, None, Some(Arc::new(kb)), None); // no model: extractive answer
//! let ans = a.ask("全钢胎质保期是多久？", &AskOptions::default()).unwrap();
//! assert_eq!(ans.citations[0].doc, "policy/warranty.md");
//! ```

pub mod adapters;
pub mod assistant;
pub mod guard;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod prompt;
pub mod render;
pub mod route;
pub mod source;

pub use assistant::{audit, audit_with, Answer, AskOptions, Assistant, Citation, Timings, ToolResult};
pub use route::{Intent, Route, RouteKind, Router};
pub use source::{AuditLog, Hit, MetricRequest, MetricTable, MetricsSource, Retriever};

/// A data source's own error, boxed so that the pipeline does not name every source's type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of the answering pipeline.
///
/// A variant that shows its cause in its message does not also return it from
/// [`std::error::Error::source`], so a report of the chain (`{:#}`) names each cause once.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    /// A data source declined in words: a withheld figure's reason, no data imported yet, a
    /// poisoned lock.
    #[error("{0}")]
    Source(String),
    /// A data source failed (the rule engine, the index, the store, a file): its error as it is,
    /// with its own message and causes.
    #[error(transparent)]
    Backend(BoxError),
    /// The chat model failed (its message follows `model error: `).
    #[error("model error: {0}")]
    Model(lodestar_core::ModelError),
    /// A bad evaluation file or option.
    #[error("{0}")]
    Invalid(String),
}

impl RagError {
    /// Wraps a data source's error as [`RagError::Backend`].
    pub fn backend(e: impl Into<BoxError>) -> Self {
        RagError::Backend(e.into())
    }
}
