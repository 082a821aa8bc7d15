//! Errors of the inference crate (推理错误).

use lodestar_core::model::ModelError;
use std::path::PathBuf;

/// Everything that can go wrong while installing, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("unknown model {name:?}; known models: {known}")]
    UnknownModel { name: String, known: String },
    #[error(
        "model {name} is not installed in {dir} (run `lodestar models fetch {name}` or `lodestar models import DIR`)"
    )]
    NotInstalled { name: String, dir: PathBuf },
    #[error("model {name} has role {role}, expected {expected}")]
    WrongRole { name: String, role: String, expected: String },
    #[error("model manifest: {0}")]
    Manifest(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("hash mismatch for {path}: expected sha256 {expected}, got {actual}")]
    HashMismatch { path: PathBuf, expected: String, actual: String },
    #[error("size mismatch for {path}: expected {expected} bytes, got {actual}")]
    SizeMismatch { path: PathBuf, expected: u64, actual: u64 },
    #[error("download of {package}=={version} failed: {detail}")]
    Download { package: String, version: String, detail: String },
    #[error("wheel {path}: {detail}")]
    Wheel { path: PathBuf, detail: String },
    #[error("import from {dir}: {detail}")]
    Import { dir: PathBuf, detail: String },
    #[error("model format: {0}")]
    Format(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("prompt needs {needed} tokens but the model's context is {limit} tokens")]
    ContextLength { needed: usize, limit: usize },
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

impl InferError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        InferError::Io { path: path.into(), source }
    }
}

impl From<InferError> for ModelError {
    fn from(e: InferError) -> Self {
        match e {
            InferError::ContextLength { needed, limit } => ModelError::ContextLength { needed, limit },
            InferError::NotInstalled { name, .. } => ModelError::NotInstalled(name),
            other => ModelError::Backend(other.to_string()),
        }
    }
}

pub type Result<T, E = InferError> = std::result::Result<T, E>;
