//! Import batches (导入批次), record insertion, replacement by newer exports, undo and the
//! quarantine (隔离区) of rows the cleaner set aside.
//!
//! One import of one file is one [`ImportTx`]: the batch row, the supersede updates, the inserted
//! rows, the quarantined rows and the audit entry commit together or not at all.
//!
//! Replacement never deletes: a row replaced by a newer export keeps `superseded_by` = the newer
//! batch, so [`Store::undo_batch`] can put it back.

use crate::{now, Result, Store, StoreError};
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};

/// Indexes the import repositories rely on (component `imports`; schema.sql stays as is).
const IMPORT_MIGRATIONS: &[&str] = &["
CREATE INDEX IF NOT EXISTS sales_superseded ON sales(superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS targets_superseded ON targets(superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS receivables_superseded ON receivables(superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS fx_superseded ON fx(superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS targets_batch ON targets(batch_id);
CREATE INDEX IF NOT EXISTS receivables_batch ON receivables(batch_id);
CREATE INDEX IF NOT EXISTS fx_batch ON fx(batch_id);
CREATE INDEX IF NOT EXISTS quarantine_batch ON quarantine(batch_id);
"];

/// The record tables an import writes, in the order undo walks them.
pub const RECORD_TABLES: [&str; 4] = ["sales", "targets", "receivables", "fx"];

/// What a new batch records about its file.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBatch<'a> {
    /// File name as shown in reports (no directory).
    pub file_name: &'a str,
    /// Full path of the imported file, when it came from disk.
    pub file_path: Option<&'a str>,
    /// sha256 of the file bytes, hex.
    pub content_hash: &'a str,
    /// Account that ran the import.
    pub imported_by: &'a str,
    /// `--append`: add rows without replacing the months they cover.
    pub append: bool,
}

/// A stored import batch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BatchInfo {
    /// Batch id (increasing; `import undo BATCH` takes it).
    pub id: i64,
    /// File name of the imported file.
    pub file_name: String,
    /// Full path of the imported file, when known.
    pub file_path: Option<String>,
    /// sha256 of the file bytes, hex.
    pub content_hash: String,
    /// When the import ran (RFC 3339).
    pub imported_at: String,
    /// Account that ran the import.
    pub imported_by: String,
    /// Imported with `--append` (added rows without replacing the months they cover).
    pub append: bool,
    /// Data rows read from the file.
    pub rows_read: i64,
    /// Rows stored.
    pub rows_imported: i64,
    /// Earlier rows this batch replaced (superseded).
    pub rows_replaced: i64,
    /// Rows set aside in the quarantine.
    pub rows_quarantined: i64,
    /// When the batch was undone (RFC 3339); `None` while it is active.
    pub undone_at: Option<String>,
}

/// Final counts of a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Data rows read from the file.
    pub rows_read: i64,
    /// Rows stored.
    pub rows_imported: i64,
    /// Earlier rows replaced (superseded) by this batch.
    pub rows_replaced: i64,
    /// Rows set aside in the quarantine.
    pub rows_quarantined: i64,
}

/// One 销售明细 row as cleaned (names as in the file, trimmed and half-width).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SalesRecord {
    /// Month of the sale, `YYYY-MM`.
    pub month: String,
    /// Country as written in the file (resolved through the dictionaries when queried).
    pub country: String,
    /// Customer as written in the file.
    pub customer: String,
    /// Product category as written, or the catalogue category code of a known spec when the file has none.
    pub category: String,
    /// Spec, normalized when it looks like a tyre size.
    pub spec: String,
    /// 销量: quantity in tyres (条), plain decimal text.
    pub quantity: String,
    /// 销售额: sales amount in `currency`, plain decimal text.
    pub amount: String,
    /// Currency of `amount` (ISO code; `USD` by default).
    pub currency: String,
    /// 销售负责人: the sales owner, when the file gives one.
    pub owner: Option<String>,
    /// Sheet the row came from.
    pub sheet: String,
    /// Row number as Excel shows it (1-based).
    pub row_no: i64,
    /// e.g. `customer,spec`; `None` when every name resolved.
    pub unresolved: Option<String>,
}

/// One 目标 row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetRecord {
    /// Month of the target, `YYYY-MM`.
    pub month: String,
    /// Country the target is for.
    pub country: String,
    /// Category the target is for; `None` = all categories.
    pub category: Option<String>,
    /// Customer the target is for; `None` = all customers.
    pub customer: Option<String>,
    /// Target quantity (条), plain decimal text.
    pub target_quantity: Option<String>,
    /// Target amount in `currency`, plain decimal text.
    pub target_amount: Option<String>,
    /// Currency of `target_amount`.
    pub currency: String,
    /// Sheet the row came from.
    pub sheet: String,
    /// Row number as Excel shows it (1-based).
    pub row_no: i64,
    /// Names the dictionaries did not know (e.g. `country,category`); `None` when all resolved.
    pub unresolved: Option<String>,
}

/// One 合同/回款 installment row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReceivableRecord {
    /// 合同号: contract number.
    pub contract_no: String,
    /// Customer as written in the file.
    pub customer: String,
    /// Country as written in the file.
    pub country: String,
    /// Currency of the amounts.
    pub currency: String,
    /// Total contract amount, plain decimal text.
    pub contract_amount: Option<String>,
    /// 付款条件: payment terms, free text kept for people.
    pub payment_terms: Option<String>,
    /// 付款节点: the installment's payment stage (预付 / 发货前 / 见提单 / 发货后).
    pub payment_node: String,
    /// 应回款金额: amount due for this installment, plain decimal text.
    pub due_amount: String,
    /// 约定回款日期: agreed due date, `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// 已回款金额: amount paid so far, plain decimal text (`0` when nothing).
    pub paid_amount: String,
    /// 实际回款日期: date of payment, `YYYY-MM-DD`.
    pub paid_date: Option<String>,
    /// 货好日期: date the goods are (or will be) ready, `YYYY-MM-DD`.
    pub goods_ready_date: Option<String>,
    /// 发货状态: shipping status (未发货 / 已订舱 / 已发货).
    pub shipping_status: Option<String>,
    /// Sheet the row came from.
    pub sheet: String,
    /// Row number as Excel shows it (1-based).
    pub row_no: i64,
    /// Names the dictionaries did not know (e.g. `customer`); `None` when all resolved.
    pub unresolved: Option<String>,
}

/// One 汇率 row: USD per unit of `currency` in `month`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FxRecord {
    /// Month the rate applies to, `YYYY-MM`.
    pub month: String,
    /// Currency code, e.g. `RUB`.
    pub currency: String,
    /// USD per unit of `currency`, plain decimal text.
    pub usd_rate: String,
}

/// A row set aside by the cleaner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewQuarantine {
    /// File the row came from.
    pub file: String,
    /// Sheet the row came from, when the file has sheets.
    pub sheet: Option<String>,
    /// Row number as Excel shows it (1-based).
    pub row_no: Option<i64>,
    /// The column whose value was rejected, when one was.
    pub column_name: Option<String>,
    /// The rejected cell as read.
    pub raw_value: Option<String>,
    /// Why the row was set aside (a message for people).
    pub reason: String,
    /// Record kind of the row: `sales`, `targets`, `receivables` or `fx`.
    pub kind: Option<String>,
}

/// A stored quarantine entry (`lodestar quarantine list`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QuarantineEntry {
    /// Entry id.
    pub id: i64,
    /// Batch that set the row aside (`None` for entries written outside a batch).
    pub batch_id: Option<i64>,
    /// File the row came from.
    pub file: String,
    /// Sheet the row came from.
    pub sheet: Option<String>,
    /// Row number as Excel shows it (1-based).
    pub row: Option<i64>,
    /// The column whose value was rejected.
    pub column: Option<String>,
    /// The rejected cell as read.
    pub raw_value: Option<String>,
    /// Why the row was set aside.
    pub reason: String,
    /// Record kind: `sales`, `targets`, `receivables` or `fx`.
    pub kind: Option<String>,
    /// When the entry was written (RFC 3339).
    pub created_at: String,
}

/// What `import undo` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UndoReport {
    /// The batch undone.
    pub batch_id: i64,
    /// File name of the batch.
    pub file: String,
    /// Rows of the batch taken out.
    pub deleted: usize,
    /// Rows the batch had replaced, active again.
    pub restored: usize,
    /// Quarantine entries of the batch removed.
    pub quarantine_removed: usize,
}

/// A distinct name in the active data with its row count (for `dict check`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NameCount {
    /// `country`, `customer`, `category`, `spec` or `owner`.
    pub field: String,
    /// The name as stored.
    pub name: String,
    /// Active rows that carry it.
    pub rows: i64,
}

impl Store {
    /// Creates the indexes the import repositories use (idempotent).
    pub fn ensure_import_schema(&mut self) -> Result<()> {
        self.migrate_component("imports", IMPORT_MIGRATIONS)
    }

    /// Starts the transaction of one file's import.
    pub fn import_tx(&mut self) -> Result<ImportTx<'_>> {
        self.ensure_import_schema()?;
        // a large page cache keeps a big import's index pages in memory until commit
        self.conn.pragma_update(None, "cache_size", -65536)?;
        let tx = self.conn.transaction()?;
        Ok(ImportTx { tx })
    }

    /// The active (not undone) batch that imported a file with this content hash, if any.
    pub fn find_batch_by_hash(&self, content_hash: &str) -> Result<Option<BatchInfo>> {
        let sql = format!("{BATCH_SELECT} WHERE content_hash = ?1 AND undone_at IS NULL ORDER BY id DESC LIMIT 1");
        Ok(self.conn.query_row(&sql, [content_hash], batch_from_row).optional()?)
    }

    /// The batch with id `id` (active or undone).
    pub fn batch(&self, id: i64) -> Result<Option<BatchInfo>> {
        let sql = format!("{BATCH_SELECT} WHERE id = ?1");
        Ok(self.conn.query_row(&sql, [id], batch_from_row).optional()?)
    }

    /// All batches, newest first.
    pub fn list_batches(&self) -> Result<Vec<BatchInfo>> {
        let sql = format!("{BATCH_SELECT} ORDER BY id DESC");
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map([], batch_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The stored import report of a batch (JSON text as shown to the user).
    pub fn batch_report_json(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT report_json FROM import_batches WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Takes a batch back out (`lodestar import undo BATCH`): deletes its rows and its quarantine
    /// entries, makes the rows it replaced active again and marks it undone — in one transaction,
    /// with an audit entry. Refused when a later batch has replaced rows of this one (undo that
    /// later batch first), because restoring would leave two exports of the same months active.
    pub fn undo_batch(&mut self, id: i64, actor: &str) -> Result<UndoReport> {
        self.ensure_import_schema()?;
        let batch = self.batch(id)?.ok_or_else(|| StoreError::NotFound(format!("import batch {id}")))?;
        if let Some(at) = &batch.undone_at {
            return Err(StoreError::Invalid(format!("batch {id} ({}) was already undone at {at}", batch.file_name)));
        }
        let tx = self.conn.transaction()?;
        let mut later: Vec<i64> = Vec::new();
        for t in RECORD_TABLES {
            let sql = format!(
                "SELECT DISTINCT superseded_by FROM {t} WHERE batch_id = ?1 AND superseded_by IS NOT NULL AND superseded_by != ?1"
            );
            let mut st = tx.prepare(&sql)?;
            for b in st.query_map([id], |r| r.get::<_, i64>(0))? {
                later.push(b?);
            }
        }
        later.sort_unstable();
        later.dedup();
        if !later.is_empty() {
            let list: Vec<String> = later.iter().map(|b| b.to_string()).collect();
            return Err(StoreError::Invalid(format!(
                "batch {id} ({}) has been replaced in part by later batch(es) {}; undo those first",
                batch.file_name,
                list.join(", ")
            )));
        }
        let mut deleted = 0usize;
        let mut restored = 0usize;
        for t in RECORD_TABLES {
            deleted += tx.execute(&format!("DELETE FROM {t} WHERE batch_id = ?1"), [id])?;
            restored += tx.execute(&format!("UPDATE {t} SET superseded_by = NULL WHERE superseded_by = ?1"), [id])?;
        }
        let quarantine_removed = tx.execute("DELETE FROM quarantine WHERE batch_id = ?1", [id])?;
        tx.execute("UPDATE import_batches SET undone_at = ?2 WHERE id = ?1", params![id, now()])?;
        let report = UndoReport { batch_id: id, file: batch.file_name.clone(), deleted, restored, quarantine_removed };
        let detail = serde_json::json!({
            "batch_id": id, "file": batch.file_name, "deleted": deleted, "restored": restored,
            "quarantine_removed": quarantine_removed,
        });
        tx.execute(
            "INSERT INTO audit_log(at, actor, action, detail) VALUES (?1, ?2, 'import_undo', ?3)",
            params![now(), actor, detail.to_string()],
        )?;
        tx.commit()?;
        Ok(report)
    }

    /// Quarantined rows, oldest first; `batch` narrows to one batch.
    pub fn quarantine_list(&self, batch: Option<i64>) -> Result<Vec<QuarantineEntry>> {
        let base = "SELECT id, batch_id, file, sheet, row_no, column_name, raw_value, reason, kind, created_at FROM quarantine";
        let map = |r: &rusqlite::Row<'_>| {
            Ok(QuarantineEntry {
                id: r.get(0)?,
                batch_id: r.get(1)?,
                file: r.get(2)?,
                sheet: r.get(3)?,
                row: r.get(4)?,
                column: r.get(5)?,
                raw_value: r.get(6)?,
                reason: r.get(7)?,
                kind: r.get(8)?,
                created_at: r.get(9)?,
            })
        };
        let out = match batch {
            Some(b) => {
                let mut st = self.conn.prepare(&format!("{base} WHERE batch_id = ?1 ORDER BY id"))?;
                let v = st.query_map([b], map)?.collect::<rusqlite::Result<Vec<_>>>()?;
                v
            }
            None => {
                let mut st = self.conn.prepare(&format!("{base} ORDER BY id"))?;
                let v = st.query_map([], map)?.collect::<rusqlite::Result<Vec<_>>>()?;
                v
            }
        };
        Ok(out)
    }

    /// Distinct names in the active sales, targets and receivables with their row counts, by field
    /// (country, customer, category, spec, owner). `dict check` resolves them against the
    /// dictionaries.
    pub fn distinct_names(&self) -> Result<Vec<NameCount>> {
        let sql = "
            SELECT field, name, SUM(n) FROM (
                SELECT 'country' AS field, country AS name, COUNT(*) AS n FROM sales_active GROUP BY country
                UNION ALL SELECT 'customer', customer, COUNT(*) FROM sales_active GROUP BY customer
                UNION ALL SELECT 'category', category, COUNT(*) FROM sales_active GROUP BY category
                UNION ALL SELECT 'spec', spec, COUNT(*) FROM sales_active GROUP BY spec
                UNION ALL SELECT 'owner', owner, COUNT(*) FROM sales_active WHERE owner IS NOT NULL AND owner != '' GROUP BY owner
                UNION ALL SELECT 'country', country, COUNT(*) FROM targets_active GROUP BY country
                UNION ALL SELECT 'category', category, COUNT(*) FROM targets_active WHERE category IS NOT NULL AND category != '' GROUP BY category
                UNION ALL SELECT 'customer', customer, COUNT(*) FROM targets_active WHERE customer IS NOT NULL AND customer != '' GROUP BY customer
                UNION ALL SELECT 'country', country, COUNT(*) FROM receivables_active GROUP BY country
                UNION ALL SELECT 'customer', customer, COUNT(*) FROM receivables_active GROUP BY customer
            ) GROUP BY field, name ORDER BY field, name";
        let mut st = self.conn.prepare(sql)?;
        let rows = st.query_map([], |r| Ok(NameCount { field: r.get(0)?, name: r.get(1)?, rows: r.get(2)? }))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

const SALES_INSERT: &str = "INSERT INTO sales(batch_id, month, country, customer, category, spec, quantity, amount, currency, owner, sheet, row_no, unresolved)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

const BATCH_SELECT: &str = "SELECT id, file_name, file_path, content_hash, imported_at, imported_by, append, rows_read, rows_imported, rows_replaced, rows_quarantined, undone_at FROM import_batches";

fn batch_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchInfo> {
    Ok(BatchInfo {
        id: r.get(0)?,
        file_name: r.get(1)?,
        file_path: r.get(2)?,
        content_hash: r.get(3)?,
        imported_at: r.get(4)?,
        imported_by: r.get(5)?,
        append: r.get::<_, i64>(6)? != 0,
        rows_read: r.get(7)?,
        rows_imported: r.get(8)?,
        rows_replaced: r.get(9)?,
        rows_quarantined: r.get(10)?,
        undone_at: r.get(11)?,
    })
}

/// The transaction of one file's import. Dropping it without [`ImportTx::commit`] rolls back.
pub struct ImportTx<'a> {
    tx: Transaction<'a>,
}

impl ImportTx<'_> {
    /// Records the batch and returns its id.
    pub fn insert_batch(&self, b: &NewBatch<'_>) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO import_batches(file_name, file_path, content_hash, imported_at, imported_by, append)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![b.file_name, b.file_path, b.content_hash, now(), b.imported_by, b.append as i64],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Marks the active rows of `table` (`sales` or `targets`) in `months` as replaced by `batch`
    /// (rows of `batch` itself are left alone). Returns how many rows were replaced.
    pub fn supersede_months(&self, table: &str, batch: i64, months: &[String]) -> Result<usize> {
        if !matches!(table, "sales" | "targets") {
            return Err(StoreError::Invalid(format!("months are replaced in sales or targets, not `{table}`")));
        }
        let mut n = 0;
        for chunk in months.chunks(200) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
            let sql = format!(
                "UPDATE {table} SET superseded_by = ?1 WHERE superseded_by IS NULL AND batch_id != ?1 AND month IN ({})",
                marks.join(",")
            );
            let mut values: Vec<rusqlite::types::Value> = vec![batch.into()];
            values.extend(chunk.iter().map(|m| rusqlite::types::Value::from(m.clone())));
            n += self.tx.execute(&sql, params_from_iter(values))?;
        }
        Ok(n)
    }

    /// Inserts many sales rows with one prepared statement.
    pub fn insert_sales_rows(&self, batch: i64, rows: &[SalesRecord]) -> Result<()> {
        let mut st = self.tx.prepare_cached(SALES_INSERT)?;
        for r in rows {
            st.execute(params![
                batch,
                r.month,
                r.country,
                r.customer,
                r.category,
                r.spec,
                r.quantity,
                r.amount,
                r.currency,
                r.owner,
                r.sheet,
                r.row_no,
                r.unresolved
            ])?;
        }
        Ok(())
    }

    /// Inserts one sales row into batch `batch` (see `insert_sales_rows`).
    pub fn insert_sales(&self, batch: i64, r: &SalesRecord) -> Result<()> {
        self.insert_sales_rows(batch, std::slice::from_ref(r))
    }

    /// Inserts one target row into batch `batch`.
    pub fn insert_target(&self, batch: i64, r: &TargetRecord) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO targets(batch_id, month, country, category, customer, target_quantity, target_amount, currency, sheet, row_no, unresolved)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        st.execute(params![
            batch,
            r.month,
            r.country,
            r.category,
            r.customer,
            r.target_quantity,
            r.target_amount,
            r.currency,
            r.sheet,
            r.row_no,
            r.unresolved
        ])?;
        Ok(())
    }

    /// Inserts an installment, replacing (superseding) the active row with the same
    /// (合同号, 付款节点, 约定回款日期) from an earlier batch. Returns how many rows it replaced.
    pub fn upsert_receivable(&self, batch: i64, r: &ReceivableRecord) -> Result<usize> {
        let replaced = {
            let mut st = self.tx.prepare_cached(
                "UPDATE receivables SET superseded_by = ?1
                 WHERE contract_no = ?2 AND payment_node = ?3 AND due_date IS ?4 AND superseded_by IS NULL AND batch_id != ?1",
            )?;
            st.execute(params![batch, r.contract_no, r.payment_node, r.due_date])?
        };
        let mut st = self.tx.prepare_cached(
            "INSERT INTO receivables(batch_id, contract_no, customer, country, currency, contract_amount, payment_terms, payment_node,
               due_amount, due_date, paid_amount, paid_date, goods_ready_date, shipping_status, sheet, row_no, unresolved)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        )?;
        st.execute(params![
            batch,
            r.contract_no,
            r.customer,
            r.country,
            r.currency,
            r.contract_amount,
            r.payment_terms,
            r.payment_node,
            r.due_amount,
            r.due_date,
            r.paid_amount,
            r.paid_date,
            r.goods_ready_date,
            r.shipping_status,
            r.sheet,
            r.row_no,
            r.unresolved
        ])?;
        Ok(replaced)
    }

    /// Inserts a rate, superseding the active rate of the same (month, currency) from an earlier
    /// batch. Returns how many rows it replaced.
    pub fn upsert_fx(&self, batch: i64, r: &FxRecord) -> Result<usize> {
        let replaced = {
            let mut st = self.tx.prepare_cached(
                "UPDATE fx SET superseded_by = ?1 WHERE month = ?2 AND currency = ?3 AND superseded_by IS NULL AND batch_id != ?1",
            )?;
            st.execute(params![batch, r.month, r.currency])?
        };
        let mut st =
            self.tx.prepare_cached("INSERT INTO fx(batch_id, month, currency, usd_rate) VALUES (?1, ?2, ?3, ?4)")?;
        st.execute(params![batch, r.month, r.currency, r.usd_rate])?;
        Ok(replaced)
    }

    /// Sets a row aside in the quarantine under batch `batch`.
    pub fn insert_quarantine(&self, batch: i64, q: &NewQuarantine) -> Result<()> {
        let mut st = self.tx.prepare_cached(
            "INSERT INTO quarantine(batch_id, file, sheet, row_no, column_name, raw_value, reason, kind, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        st.execute(params![batch, q.file, q.sheet, q.row_no, q.column_name, q.raw_value, q.reason, q.kind, now()])?;
        Ok(())
    }

    /// Stores the batch's final counts and its report.
    pub fn finish_batch(&self, batch: i64, counts: BatchCounts, report_json: &str) -> Result<()> {
        self.tx.execute(
            "UPDATE import_batches SET rows_read = ?2, rows_imported = ?3, rows_replaced = ?4, rows_quarantined = ?5, report_json = ?6
             WHERE id = ?1",
            params![
                batch,
                counts.rows_read,
                counts.rows_imported,
                counts.rows_replaced,
                counts.rows_quarantined,
                report_json
            ],
        )?;
        Ok(())
    }

    /// Appends an audit entry inside the import's transaction.
    pub fn audit(&self, actor: &str, action: &str, detail: &serde_json::Value) -> Result<()> {
        self.tx.execute(
            "INSERT INTO audit_log(at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now(), actor, action, detail.to_string()],
        )?;
        Ok(())
    }

    /// Commits the import: batch, rows, replacements, quarantine and audit entry together.
    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale(month: &str, customer: &str, qty: &str) -> SalesRecord {
        SalesRecord {
            month: month.into(),
            country: "俄罗斯".into(),
            customer: customer.into(),
            category: "全钢".into(),
            spec: "315/80R22.5".into(),
            quantity: qty.into(),
            amount: "100".into(),
            currency: "USD".into(),
            sheet: "s".into(),
            row_no: 2,
            ..Default::default()
        }
    }

    fn batch(s: &mut Store, hash: &str, rows: &[SalesRecord], append: bool) -> (i64, usize) {
        let tx = s.import_tx().unwrap();
        let id = tx
            .insert_batch(&NewBatch {
                file_name: "a.xlsx",
                file_path: None,
                content_hash: hash,
                imported_by: "admin",
                append,
            })
            .unwrap();
        let mut months: Vec<String> = rows.iter().map(|r| r.month.clone()).collect();
        months.sort();
        months.dedup();
        let replaced = if append { 0 } else { tx.supersede_months("sales", id, &months).unwrap() };
        for r in rows {
            tx.insert_sales(id, r).unwrap();
        }
        tx.commit().unwrap();
        (id, replaced)
    }

    fn active(s: &Store) -> Vec<(String, String, String)> {
        let mut st =
            s.conn().prepare("SELECT month, customer, quantity FROM sales_active ORDER BY month, customer").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn newer_export_replaces_its_months_and_undo_restores() {
        let mut s = Store::open_in_memory().unwrap();
        let (b1, r1) = batch(&mut s, "h1", &[sale("2026-08", "A", "1"), sale("2026-09", "B", "2")], false);
        assert_eq!(r1, 0);
        // the second export covers only September: August stays, September's one row is replaced
        let (b2, r2) = batch(&mut s, "h2", &[sale("2026-09", "B", "5"), sale("2026-09", "C", "6")], false);
        assert_eq!(r2, 1);
        assert_eq!(
            active(&s),
            vec![
                ("2026-08".into(), "A".into(), "1".into()),
                ("2026-09".into(), "B".into(), "5".into()),
                ("2026-09".into(), "C".into(), "6".into())
            ]
        );
        assert_eq!(s.find_batch_by_hash("h2").unwrap().unwrap().id, b2);
        // batch 1 cannot be undone while batch 2 replaced part of it
        assert!(s.undo_batch(b1, "admin").is_err());
        let u = s.undo_batch(b2, "admin").unwrap();
        assert_eq!((u.deleted, u.restored), (2, 1));
        assert_eq!(
            active(&s),
            vec![("2026-08".into(), "A".into(), "1".into()), ("2026-09".into(), "B".into(), "2".into())]
        );
        assert!(s.find_batch_by_hash("h2").unwrap().is_none(), "an undone batch no longer blocks re-import");
        assert!(s.undo_batch(b2, "admin").is_err(), "undo twice is refused");
        assert_eq!(s.audit_tail(1).unwrap()[0].action, "import_undo");
    }

    #[test]
    fn append_adds_without_replacing() {
        let mut s = Store::open_in_memory().unwrap();
        batch(&mut s, "h1", &[sale("2026-09", "A", "1")], false);
        let (_, r) = batch(&mut s, "h2", &[sale("2026-09", "B", "2")], true);
        assert_eq!(r, 0);
        assert_eq!(active(&s).len(), 2);
    }

    #[test]
    fn receivables_update_in_place_by_key() {
        let mut s = Store::open_in_memory().unwrap();
        let rec = |paid: &str, due_date: Option<&str>| ReceivableRecord {
            contract_no: "BC-001".into(),
            customer: "X".into(),
            country: "RU".into(),
            currency: "USD".into(),
            payment_node: "预付".into(),
            due_amount: "100".into(),
            due_date: due_date.map(String::from),
            paid_amount: paid.into(),
            ..Default::default()
        };
        let mut ids = Vec::new();
        for (hash, paid) in [("h1", "0"), ("h2", "100")] {
            let tx = s.import_tx().unwrap();
            let id = tx
                .insert_batch(&NewBatch {
                    file_name: "r.xlsx",
                    file_path: None,
                    content_hash: hash,
                    imported_by: "admin",
                    append: false,
                })
                .unwrap();
            let n = tx.upsert_receivable(id, &rec(paid, Some("2026-09-01"))).unwrap();
            // a NULL due date is a key of its own and matches NULL
            let m = tx.upsert_receivable(id, &rec(paid, None)).unwrap();
            assert_eq!((n, m), if hash == "h1" { (0, 0) } else { (1, 1) });
            tx.commit().unwrap();
            ids.push(id);
        }
        let paid: Vec<String> = s
            .conn()
            .prepare("SELECT paid_amount FROM receivables_active")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(paid, vec!["100".to_string(), "100".to_string()]);
        s.undo_batch(ids[1], "admin").unwrap();
        let n: i64 = s
            .conn()
            .query_row("SELECT COUNT(*) FROM receivables_active WHERE paid_amount = '0'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn quarantine_and_distinct_names() {
        let mut s = Store::open_in_memory().unwrap();
        let (id, _) = batch(&mut s, "h1", &[sale("2026-09", "A", "1"), sale("2026-09", "A", "2")], false);
        let tx = s.import_tx().unwrap();
        tx.insert_quarantine(
            id,
            &NewQuarantine {
                file: "a.xlsx".into(),
                sheet: Some("s".into()),
                row_no: Some(7),
                column_name: Some("销量".into()),
                raw_value: Some("abc".into()),
                reason: "bad_number".into(),
                kind: Some("sales".into()),
            },
        )
        .unwrap();
        tx.commit().unwrap();
        let q = s.quarantine_list(Some(id)).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].row, Some(7));
        assert!(s.quarantine_list(Some(id + 1)).unwrap().is_empty());
        let names = s.distinct_names().unwrap();
        let a = names.iter().find(|n| n.field == "customer" && n.name == "A").unwrap();
        assert_eq!(a.rows, 2);
    }
}
