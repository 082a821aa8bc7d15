//! `lodestar-core`: the domain vocabulary every other lodestar crate shares.
//!
//! - [`period::Period`]: a month (`2026-09`), quarter (`2026-Q3`) or year (`2026`).
//! - [`security`]: knowledge bases ([`security::KbId`]), sensitivity levels (公开 / 内部 / 敏感 / 机密),
//!   roles and the [`security::Principal`] a request runs as.
//! - [`home::Home`]: where a lodestar home keeps its database, index, config and dictionary overrides.
//! - [`text`]: the one text normalizer (full-width → half-width, trimming) used by import and lookup.
//! - [`model`]: the [`model::Generator`] / [`model::Embedder`] traits (implemented by `lodestar-infer`).
//! - [`runtime`]: the models' run-time switches ([`runtime::RuntimeOptions`]) and their
//!   environment overrides, read in this one place.
//!
//! ```
//! use lodestar_core::period::Period;
//! let q: Period = "2026-Q3".parse().unwrap();
//! assert_eq!(q.months().len(), 3);
//! ```

pub mod config;
pub mod home;
pub mod lazy_regex;
pub mod limits;
pub mod model;
pub mod period;
pub mod runtime;
pub mod security;
pub mod testhook;
pub mod text;

pub use limits::{LimitExceeded, ReadLimits};
pub use model::{
    CancelToken, ChatMessage, ChatRole, EmbedKind, Embedder, FinishReason, GenParams, GenStats, Generation, Generator,
    ModelError,
};
pub use period::{Month, Period, PeriodError};
pub use security::{KbId, Principal, Role, Sensitivity};
