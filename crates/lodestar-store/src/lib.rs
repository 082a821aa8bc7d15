//! `lodestar-store`: the SQLite database of a lodestar home.
//!
//! One file (`lodestar.db`, WAL mode). Schema changes are versioned migrations per component:
//! the store's own tables (`schema.sql`: sales, targets, receivables, fx, import batches,
//! quarantine, users, audit log) are component `store`; other crates (ledger, knowledge index)
//! register theirs with [`Store::migrate_component`] so each crate owns its tables.
//!
//! ```no_run
//! let store = lodestar_store::Store::open(std::path::Path::new("/tmp/x/lodestar.db")).unwrap();
//! store.audit("admin", "import", &serde_json::json!({"file": "sales.xlsx"})).unwrap();
//! ```

pub mod accounts;
pub mod api_keys;
pub mod health;
pub mod imports;
pub mod sessions;
pub mod users;

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

pub use rusqlite;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// The database directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A request the data refuses (e.g. undoing a batch twice); the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A batch, user or key that does not exist (the message names it).
    #[error("not found: {0}")]
    NotFound(String),
}

/// Result of the store's operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Migrations of the `store` component, in order; index + 1 = version.
const STORE_MIGRATIONS: &[&str] =
    &[include_str!("schema.sql"), include_str!("sessions.sql"), include_str!("api_keys.sql")];

/// An open lodestar database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::Io { path: dir.display().to_string(), source })?;
        }
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TEXT NOT NULL)",
        )?;
        let mut s = Self { conn };
        s.migrate_component("store", STORE_MIGRATIONS)?;
        Ok(s)
    }

    /// Applies the migrations of `component` newer than its recorded version, each in a transaction.
    /// `migrations[i]` is version `i + 1`; never edit a released migration, append a new one.
    pub fn migrate_component(&mut self, component: &str, migrations: &[&str]) -> Result<()> {
        let current: i64 = self
            .conn
            .query_row("SELECT version FROM schema_versions WHERE component = ?1", [component], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        for (i, sql) in migrations.iter().enumerate() {
            let version = i as i64 + 1;
            if version <= current {
                continue;
            }
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_versions(component, version, applied_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(component) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at",
                params![component, version, now()],
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    /// The schema version of a component (0 = none applied).
    pub fn schema_version(&self, component: &str) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT version FROM schema_versions WHERE component = ?1", [component], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// The underlying SQLite connection, for the crates that own their own tables.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The underlying SQLite connection, mutable (transactions).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Appends an entry to the audit log (登录、提问、回答、导入、导出、审批 …).
    pub fn audit(&self, actor: &str, action: &str, detail: &serde_json::Value) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO audit_log(at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now(), actor, action, detail.to_string()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The latest `limit` audit entries, newest first.
    pub fn audit_tail(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut st =
            self.conn.prepare("SELECT id, at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| {
            Ok(AuditEntry { id: r.get(0)?, at: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, detail: r.get(4)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Audit entries at or after `since` (an RFC 3339 time or a `YYYY-MM-DD` date), oldest first.
    pub fn audit_since(&self, since: &str) -> Result<Vec<AuditEntry>> {
        let mut st =
            self.conn.prepare("SELECT id, at, actor, action, detail FROM audit_log WHERE at >= ?1 ORDER BY id")?;
        let rows = st.query_map([since], |r| {
            Ok(AuditEntry { id: r.get(0)?, at: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, detail: r.get(4)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The latest month with (active) sales data, if any.
    pub fn latest_sales_month(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT MAX(month) FROM sales_active", [], |r| r.get::<_, Option<String>>(0))?)
    }
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    /// Entry id (increasing).
    pub id: i64,
    /// When it happened (RFC 3339).
    pub at: String,
    /// Account that acted.
    pub actor: String,
    /// What was done: `login`, `question`, `answer`, `import`, `export`, `approval`, …
    pub action: String,
    /// Details as JSON text.
    pub detail: Option<String>,
}

/// Current time, RFC 3339 (local offset).
pub fn now() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_idempotent_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db.sqlite");
        {
            let mut s = Store::open(&p).unwrap();
            assert_eq!(s.schema_version("store").unwrap(), 3);
            s.migrate_component("extra", &["CREATE TABLE t(x)", "ALTER TABLE t ADD COLUMN y"]).unwrap();
            assert_eq!(s.schema_version("extra").unwrap(), 2);
        }
        let mut s = Store::open(&p).unwrap();
        // re-running does not re-apply (would fail: table exists)
        s.migrate_component("extra", &["CREATE TABLE t(x)", "ALTER TABLE t ADD COLUMN y"]).unwrap();
        assert_eq!(s.schema_version("store").unwrap(), 3);
        let mode: String = s.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
    }

    #[test]
    fn audit_log_is_append_only() {
        let s = Store::open_in_memory().unwrap();
        s.audit("admin", "import", &serde_json::json!({"file": "a.xlsx"})).unwrap();
        s.audit("li", "question", &serde_json::json!({"q": "达成率"})).unwrap();
        assert!(s.conn().execute("UPDATE audit_log SET actor = 'x'", []).is_err());
        assert!(s.conn().execute("DELETE FROM audit_log", []).is_err());
        let tail = s.audit_tail(10).unwrap();
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[0].action, "question");
        let today = chrono::Local::now().format("%Y-%m-%d").to_string();
        let since = s.audit_since(&today).unwrap();
        assert_eq!(since.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["import", "question"]);
        assert!(s.audit_since("2999-01-01").unwrap().is_empty());
    }
}
