//! The database's health (`lodestar doctor`) and its online copy (`lodestar backup`).
//!
//! Both open their own plain connection — no migration runs, nothing is written to the source —
//! so they work on a database another process (the web server) is writing.

use crate::imports::RECORD_TABLES;
use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// What [`check_database`] found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DbCheck {
    /// `PRAGMA integrity_check`: empty when it said `ok`.
    pub integrity: Vec<String>,
    /// `PRAGMA foreign_key_check`: `table rowid → parent` per violating row.
    pub foreign_keys: Vec<String>,
    /// Import batches that are not whole: an active batch whose stored rows or quarantine entries
    /// differ from its own counts, an undone batch that still has rows, a batch without its audit
    /// entry.
    pub batches: Vec<String>,
    /// Import batches checked.
    pub batches_checked: usize,
}

impl DbCheck {
    /// Every problem found, one message per line, integrity first; empty when the database is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.integrity.iter().map(|m| format!("integrity_check: {m}")));
        out.extend(self.foreign_keys.iter().map(|m| format!("foreign key: {m}")));
        out.extend(self.batches.iter().cloned());
        out
    }
}

fn open_read_only(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(StoreError::NotFound(path.display().to_string()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

fn has_table(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
        r.get::<_, i64>(0)
    })? > 0)
}

/// Checks the database at `path` (read only): integrity, foreign keys, and that every import
/// batch is whole — all its rows or none of them.
pub fn check_database(path: &Path) -> Result<DbCheck> {
    let conn = open_read_only(path)?;
    let mut ck = DbCheck::default();
    {
        let mut st = conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        ck.integrity = rows.into_iter().filter(|m| m != "ok").collect();
    }
    if !ck.integrity.is_empty() {
        return Ok(ck);
    }
    {
        let mut st = conn.prepare("PRAGMA foreign_key_check")?;
        let rows = st.query_map([], |r| {
            Ok(format!(
                "{} row {} → {}",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?.map_or("?".into(), |i| i.to_string()),
                r.get::<_, String>(2)?
            ))
        })?;
        ck.foreign_keys = rows.collect::<rusqlite::Result<_>>()?;
    }
    if !has_table(&conn, "import_batches")? {
        return Ok(ck);
    }
    let mut st = conn.prepare(
        "SELECT id, file_name, rows_imported, rows_quarantined, undone_at IS NOT NULL FROM import_batches ORDER BY id",
    )?;
    let batches: Vec<(i64, String, i64, i64, bool)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    ck.batches_checked = batches.len();
    let count = |sql: &str, id: i64| -> Result<i64> { Ok(conn.query_row(sql, [id], |r| r.get(0))?) };
    let row_sql: Vec<String> =
        RECORD_TABLES.iter().map(|t| format!("SELECT count(*) FROM {t} WHERE batch_id = ?1")).collect();
    for (id, file, imported, quarantined, undone) in batches {
        let mut rows = 0;
        for sql in &row_sql {
            rows += count(sql, id)?;
        }
        let q = count("SELECT count(*) FROM quarantine WHERE batch_id = ?1", id)?;
        let audited = count(
            "SELECT count(*) FROM audit_log WHERE action = 'import' AND json_extract(detail, '$.batch_id') = ?1",
            id,
        )?;
        if undone {
            if rows > 0 || q > 0 {
                ck.batches.push(format!(
                    "batch {id} ({file}) is undone but still has {rows} rows and {q} quarantine entries"
                ));
            }
        } else if rows != imported || q != quarantined {
            ck.batches.push(format!(
                "batch {id} ({file}) is not whole: {rows} rows and {q} quarantine entries stored, its report says {imported} and {quarantined}"
            ));
        }
        if audited == 0 {
            ck.batches.push(format!("batch {id} ({file}) has no audit entry"));
        }
    }
    Ok(ck)
}

/// Copies the database at `src` to `dest` (which must not exist) with SQLite's online backup
/// API: one consistent snapshot, taken in a single step under a read transaction, so writers in
/// other processes go on (WAL) and the copy holds no half of their transactions. The copy is then
/// checked with `PRAGMA integrity_check`.
pub fn backup_database(src: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(StoreError::Invalid(format!("{} exists", dest.display())));
    }
    let from = open_read_only(src)?;
    let mut to = Connection::open(dest)?;
    {
        use rusqlite::backup::{Backup, StepResult};
        let b = Backup::new(&from, &mut to)?;
        // -1: every page in one step, under one read transaction (no restart when a writer
        // commits meanwhile); busy or locked only while a checkpoint holds the file: try again
        let mut waits = 0;
        loop {
            match b.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if waits < 200 => {
                    waits += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                StepResult::Busy | StepResult::Locked => {
                    return Err(StoreError::Invalid(format!("{} stayed locked for 10 s", src.display())))
                }
                _ => {}
            }
        }
    }
    let ok: String = to.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(StoreError::Invalid(format!("the copy of {} failed its integrity check: {ok}", src.display())));
    }
    // the copy keeps the source's WAL mode; checkpoint so that everything is in the one file
    to.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    to.close().map_err(|(_, e)| StoreError::Sql(e))?;
    Ok(())
}
