//! What every command gets: the home, output mode and the acting user.

use anyhow::{Context, Result};
use lodestar_core::config::Config;
use lodestar_core::home::{models_dir, Home};
use lodestar_core::Principal;
use lodestar_dict::Dictionaries;
use lodestar_store::Store;
use std::path::{Path, PathBuf};

/// Global options resolved once in `main`.
pub struct Ctx {
    /// The home (`--home`, `LODESTAR_HOME`, or the default).
    pub home: Home,
    /// `--json` given.
    pub json: bool,
    /// `--as USER`; `None` = local administrator.
    pub as_user: Option<String>,
    /// Shared model directory (`LODESTAR_MODELS`).
    pub models_dir: PathBuf,
}

impl Ctx {
    /// The context of `--home`, `--json` and `--as`.
    pub fn new(home: Option<&Path>, json: bool, as_user: Option<String>) -> Self {
        Self { home: Home::resolve(home), json, as_user, models_dir: models_dir() }
    }

    /// Opens (creating if needed) the home's database.
    pub fn store(&self) -> Result<Store> {
        self.home.ensure().with_context(|| format!("cannot create home {}", self.home.root().display()))?;
        Store::open(&self.home.db_path()).with_context(|| format!("cannot open {}", self.home.db_path().display()))
    }

    /// Built-in dictionaries overlaid with the home's `dictionaries/`.
    pub fn dicts(&self) -> Result<Dictionaries> {
        Dictionaries::load(&self.home.dict_dir()).context("cannot load dictionaries")
    }

    /// The home's `config.toml` (defaults when there is none).
    pub fn config(&self) -> Result<Config> {
        Ok(Config::load(&self.home.config_path())?)
    }

    /// The principal the command runs as (`--as USER`, else the local administrator).
    pub fn principal(&self, store: &Store) -> Result<Principal> {
        Ok(store.principal(self.as_user.as_deref())?)
    }

    /// `--json` or `--format json`.
    pub fn wants_json(&self, format: Option<&str>) -> bool {
        self.json || format.is_some_and(|f| f.eq_ignore_ascii_case("json"))
    }

    /// Prints a serializable value as pretty JSON.
    pub fn print_json<T: serde::Serialize>(&self, v: &T) -> Result<()> {
        println!("{}", serde_json::to_string_pretty(v)?);
        Ok(())
    }
}
