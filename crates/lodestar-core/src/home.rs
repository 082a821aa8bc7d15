//! The lodestar home (`--home DIR` / `LODESTAR_HOME`): database, index, config and dictionary
//! overrides of one installation. Model weights live outside it, in one directory shared by every
//! home ([`models_dir`]).

use std::path::{Path, PathBuf};

/// Paths inside one lodestar home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// A home rooted at `root` (nothing is created; see [`Home::ensure`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// `--home`, else `LODESTAR_HOME`, else `<user data dir>/lodestar`.
    pub fn resolve(explicit: Option<&Path>) -> Self {
        if let Some(p) = explicit {
            return Self::new(p);
        }
        if let Some(p) = std::env::var_os("LODESTAR_HOME").filter(|v| !v.is_empty()) {
            return Self::new(PathBuf::from(p));
        }
        let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from("."));
        Self::new(base.join("lodestar"))
    }
    /// The home directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// SQLite database.
    pub fn db_path(&self) -> PathBuf {
        self.root.join("lodestar.db")
    }
    /// Search index (tantivy + HNSW).
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }
    /// `config.toml` (thresholds, field sensitivities, server bind).
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    /// User dictionary overrides and additions (customers.csv, staff.csv, header_aliases.toml, …),
    /// layered over the dictionaries built into the binary.
    pub fn dict_dir(&self) -> PathBuf {
        self.root.join("dictionaries")
    }
    /// Files written by exports and batch drafts.
    pub fn out_dir(&self) -> PathBuf {
        self.root.join("out")
    }
    /// Creates the home directory if missing.
    pub fn ensure(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)
    }
}

/// The shared model directory: `LODESTAR_MODELS`, default `~/.cache/lodestar/models`.
pub fn models_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("LODESTAR_MODELS").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::home_dir().unwrap_or_else(|| PathBuf::from(".")).join(".cache").join("lodestar").join("models")
}
