//! `lodestar-bench`: everything that measures lodestar, kept out of the production crates.
//!
//! - Evaluation suites over the repository's hand-written sets: [`qa`] (answers,
//!   `tests/eval/qa.jsonl`), [`minutes`] (action-item extraction, `tests/eval/minutes/`),
//!   [`retrieval`] (recall@k / MRR, `tests/eval/retrieval.jsonl`), [`drafts`] (grounding of the
//!   customer-profile drafts).
//! - Speed: [`llm`] (prefill / decode / time to first token / batched decoding / memory of a GGUF
//!   chat model, and embedding throughput), [`import`], [`metrics`] and [`index`] (generated data).
//! - [`home`]: the seeded bench home (demo workbooks imported, `knowledge/` indexed, the accounts the
//!   sets ask as) — one function used by every suite.
//! - [`compare`]: `lodestar bench compare`, several models over the suites as one report
//!   (`report.json`, `report.md`, a self-contained `report.html` with inline SVG charts) with the
//!   deltas of every figure against a baseline model.
//!
//! Timings are compared only within one run on one machine; every report carries a hardware and
//! build block for that reason.

pub mod compare;
pub mod drafts;
pub mod home;
pub mod import;
pub mod index;
pub mod llm;
pub mod metrics;
pub mod minutes;
pub mod qa;
pub mod retrieval;

use std::path::{Path, PathBuf};

/// Errors of the suites and the report.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A bad argument or an unusable set; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An error of the crate a suite ran (boxed: their errors are large).
    #[error(transparent)]
    Suite(Box<dyn std::error::Error + Send + Sync>),
    /// A report or set line is not valid JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

macro_rules! suite_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for BenchError {
            fn from(e: $t) -> Self {
                BenchError::Suite(Box::new(e))
            }
        }
    )*};
}
suite_errors!(
    lodestar_store::StoreError,
    lodestar_ingest::IngestError,
    lodestar_index::IndexError,
    lodestar_rag::RagError,
    lodestar_ledger::LedgerError,
    lodestar_draft::DraftError,
    lodestar_metrics::MetricsError,
    lodestar_demo::DemoError,
    lodestar_demo::seed::SeedError
);

/// Result of this crate.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BenchError + '_ {
    move |source| BenchError::Io { path: path.to_path_buf(), source }
}

/// Finds a repository file (`tests/eval/qa.jsonl`, `knowledge`) from the working directory or one
/// of its parents, so the benches run from the repository root or any folder inside it. Nothing
/// of the build machine's paths is compiled in.
pub fn repo_path(rel: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors().map(|d| d.join(rel)).find(|p| p.exists())
}

/// The median of `v` (`None` when empty).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// The `q` quantile (0–1) of `v` by linear interpolation between closest ranks (`None` when empty).
pub fn quantile(mut v: Vec<f64>, q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// Mean and sample standard deviation (`sd` = 0 for one value; `None` when empty).
pub fn mean_sd(v: &[f64]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    Some((mean, sd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_quantile_and_sd_by_hand() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
        // 10 20 30 40 50: p50 = 30, p95 at rank 3.8 → 40 + 0.8 × 10 = 48
        let v = vec![50.0, 10.0, 40.0, 20.0, 30.0];
        assert_eq!(quantile(v.clone(), 0.5), Some(30.0));
        assert!((quantile(v, 0.95).unwrap() - 48.0).abs() < 1e-9);
        // 2 4 4 4 5 5 7 9: mean 5, sample variance 32/7
        let (m, sd) = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(m, 5.0);
        assert!((sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_sd(&[3.0]), Some((3.0, 0.0)));
    }
}
