//! `config.toml` of a home: rule thresholds, data-field sensitivities, server settings, the
//! resource limits of the file readers and the models' runtime options.
//! Every key has a default, so a missing file or a missing key is fine.

use crate::limits::ReadLimits;
use crate::security::Sensitivity;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The whole `config.toml` of a home; every section falls back to its defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `[alerts]`: thresholds of the risk rules.
    pub alerts: AlertThresholds,
    /// `[fields]`: sensitivity of each kind of data field.
    pub fields: FieldSensitivity,
    /// `[server]`: settings of `lodestar serve`.
    pub server: ServerConfig,
    /// `[limits]`: resource limits of the readers of user files.
    pub limits: ReadLimits,
    /// `[runtime]`: how the local models run (see [`crate::runtime`]).
    pub runtime: crate::runtime::RuntimeOptions,
}

/// Thresholds of the risk rules (DESIGN.md 口径).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertThresholds {
    /// 货好待款: goods ready within this many days of the as-of date (or already passed).
    pub shipment_window_days: i64,
    /// 信用异常: an installment overdue more than this many days while the customer buys this month.
    pub credit_overdue_days: i64,
    /// 开发停滞: a 开发中 customer with no activity for more than this many days.
    pub stalled_days: i64,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self { shipment_window_days: 14, credit_overdue_days: 90, stalled_days: 30 }
    }
}

/// Sensitivity of data fields; rule-engine results carrying them are filtered like documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldSensitivity {
    /// Unit prices and discounts (default 敏感).
    pub price: Sensitivity,
    /// Credit limits and terms (default 敏感).
    pub credit: Sensitivity,
    /// Contract terms (default 敏感).
    pub contract: Sensitivity,
    /// Receivables 应收 and overdue amounts (default 敏感).
    pub receivables: Sensitivity,
    /// Sales volumes, targets and achievement 达成率 (default 内部).
    pub sales: Sensitivity,
}

impl Default for FieldSensitivity {
    fn default() -> Self {
        Self {
            price: Sensitivity::Sensitive,
            credit: Sensitivity::Sensitive,
            contract: Sensitivity::Sensitive,
            receivables: Sensitivity::Sensitive,
            sales: Sensitivity::Internal,
        }
    }
}

/// `[server]`: settings of the HTTP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address the server listens on, `host:port` (default `127.0.0.1:8080`).
    pub bind: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self { bind: "127.0.0.1:8080".into() }
    }
}

/// Why `config.toml` could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or a key has the wrong type.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file's path.
        path: String,
        /// The TOML error (line and column included).
        source: toml::de::Error,
    },
}

impl Config {
    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(s) => {
                toml::from_str(&s).map_err(|source| ConfigError::Parse { path: path.display().to_string(), source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Io { path: path.display().to_string(), source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_keeps_defaults() {
        let c: Config = toml::from_str("[alerts]\nstalled_days = 45\n").unwrap();
        assert_eq!(c.alerts.stalled_days, 45);
        assert_eq!(c.alerts.shipment_window_days, 14);
        assert_eq!(c.fields.credit, Sensitivity::Sensitive);
        assert_eq!(c.limits, ReadLimits::default());
        let c: Config = toml::from_str("[limits]\nmax_sheet_cells = 1000\nmax_zip_entries = 50\n").unwrap();
        assert_eq!((c.limits.max_sheet_cells, c.limits.max_zip_entries), (1000, 50));
        assert_eq!(c.limits.max_chunks, ReadLimits::default().max_chunks);
    }
}
