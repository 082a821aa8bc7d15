//! Errors of the inference crate (推理错误).

use lodestar_core::model::ModelError;
use std::path::PathBuf;

/// Everything that can go wrong while installing, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// No model of that name (or alias) in the manifest.
    #[error("unknown model {name:?}; known models: {known}")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The known model names, comma-separated.
        known: String,
    },
    #[error(
        "model {name} is not installed in {dir} (run `lodestar models fetch {name}` or `lodestar models import DIR`)"
    )]
    /// The model's files are not in the models folder.
    NotInstalled {
        /// The model's name.
        name: String,
        /// The models folder looked in.
        dir: PathBuf,
    },
    /// The model exists but not in the role asked for (chat vs. embed).
    #[error("model {name} has role {role}, expected {expected}")]
    WrongRole {
        /// The model's name.
        name: String,
        /// Its role (`chat` or `embed`).
        role: String,
        /// The role asked for.
        expected: String,
    },
    /// `models.toml` (or `added.toml`) is invalid.
    #[error("model manifest: {0}")]
    Manifest(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file's sha256 differs from the pinned one.
    #[error("hash mismatch for {path}: expected sha256 {expected}, got {actual}")]
    HashMismatch {
        /// The file checked.
        path: PathBuf,
        /// The pinned sha256, hex.
        expected: String,
        /// The file's sha256, hex.
        actual: String,
    },
    /// A file's size differs from the pinned one.
    #[error("size mismatch for {path}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The file checked.
        path: PathBuf,
        /// The pinned size in bytes.
        expected: u64,
        /// The file's size in bytes.
        actual: u64,
    },
    /// Fetching a wheel with pip failed.
    #[error("download of {package}=={version} failed: {detail}")]
    Download {
        /// The PyPI package.
        package: String,
        /// Its pinned version.
        version: String,
        /// What went wrong (pip's error, a missing or mismatching wheel).
        detail: String,
    },
    /// A wheel is not as expected (member missing, not a zip …).
    #[error("wheel {path}: {detail}")]
    Wheel {
        /// The wheel file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// `models import DIR` found no usable files.
    #[error("import from {dir}: {detail}")]
    Import {
        /// The folder imported from.
        dir: PathBuf,
        /// What is wrong (not a folder, no usable file …).
        detail: String,
    },
    /// A model file is malformed or uses an unsupported layout.
    #[error("model format: {0}")]
    Format(String),
    /// The tokenizer data is invalid.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The prompt does not fit the model's context window.
    #[error("prompt needs {needed} tokens but the model's context is {limit} tokens")]
    ContextLength {
        /// Tokens the prompt would take.
        needed: usize,
        /// The model's context length in tokens.
        limit: usize,
    },
    /// A candle tensor operation failed.
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

/// Result of the inference crate.
pub type Result<T, E = InferError> = std::result::Result<T, E>;
