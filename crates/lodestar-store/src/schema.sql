-- lodestar store, migration 1 (component `store`).
-- Amounts and quantities are exact decimal strings (parsed with rust_decimal), months are 'YYYY-MM',
-- dates are ISO 'YYYY-MM-DD'. Names (country, customer, category, spec, owner) are stored as
-- cleaned in the file and resolved through the dictionaries at query time, so that a later
-- `dict import` repairs history. A row superseded by a newer export keeps `superseded_by` = that
-- batch, so `import undo` can restore it; readers use the *_active views.

CREATE TABLE import_batches (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name        TEXT NOT NULL,
    file_path        TEXT,
    content_hash     TEXT NOT NULL,          -- sha256 of the file bytes
    imported_at      TEXT NOT NULL,          -- RFC 3339
    imported_by      TEXT NOT NULL,
    append           INTEGER NOT NULL DEFAULT 0,
    rows_read        INTEGER NOT NULL DEFAULT 0,
    rows_imported    INTEGER NOT NULL DEFAULT 0,
    rows_replaced    INTEGER NOT NULL DEFAULT 0,
    rows_quarantined INTEGER NOT NULL DEFAULT 0,
    report_json      TEXT,                   -- the import report as shown to the user
    undone_at        TEXT                    -- set by `import undo`
);
CREATE INDEX import_batches_hash ON import_batches(content_hash);

-- 销售明细
CREATE TABLE sales (
    id            INTEGER PRIMARY KEY,
    batch_id      INTEGER NOT NULL REFERENCES import_batches(id),
    month         TEXT NOT NULL,
    country       TEXT NOT NULL,
    customer      TEXT NOT NULL,
    category      TEXT NOT NULL,
    spec          TEXT NOT NULL,             -- normalized when it looks like a size, else as cleaned
    quantity      TEXT NOT NULL,             -- 销量 (条)
    amount        TEXT NOT NULL,             -- 销售额
    currency      TEXT NOT NULL DEFAULT 'USD',
    owner         TEXT,                      -- 销售负责人
    sheet         TEXT,
    row_no        INTEGER,
    unresolved    TEXT,                      -- e.g. 'customer,spec' when the dictionaries did not know them at import
    superseded_by INTEGER REFERENCES import_batches(id)
);
CREATE INDEX sales_month ON sales(month);
CREATE INDEX sales_batch ON sales(batch_id);

-- 目标
CREATE TABLE targets (
    id              INTEGER PRIMARY KEY,
    batch_id        INTEGER NOT NULL REFERENCES import_batches(id),
    month           TEXT NOT NULL,
    country         TEXT NOT NULL,
    category        TEXT,                    -- NULL = all categories
    customer        TEXT,                    -- NULL = all customers
    target_quantity TEXT,
    target_amount   TEXT,
    currency        TEXT NOT NULL DEFAULT 'USD',
    sheet           TEXT,
    row_no          INTEGER,
    unresolved      TEXT,
    superseded_by   INTEGER REFERENCES import_batches(id)
);
CREATE INDEX targets_month ON targets(month);

-- 合同/回款: one row per installment, keyed on (contract_no, payment_node, due_date)
CREATE TABLE receivables (
    id               INTEGER PRIMARY KEY,
    batch_id         INTEGER NOT NULL REFERENCES import_batches(id),
    contract_no      TEXT NOT NULL,
    customer         TEXT NOT NULL,
    country          TEXT NOT NULL,
    currency         TEXT NOT NULL DEFAULT 'USD',
    contract_amount  TEXT,
    payment_terms    TEXT,                   -- 付款条件, free text kept for people
    payment_node     TEXT NOT NULL,          -- 付款节点: 预付 / 发货前 / 见提单 / 发货后
    due_amount       TEXT NOT NULL,          -- 应回款金额
    due_date         TEXT,                   -- 约定回款日期
    paid_amount      TEXT NOT NULL DEFAULT '0', -- 已回款金额
    paid_date        TEXT,                   -- 实际回款日期
    goods_ready_date TEXT,                   -- 货好日期
    shipping_status  TEXT,                   -- 发货状态: 未发货 / 已订舱 / 已发货
    sheet            TEXT,
    row_no           INTEGER,
    unresolved       TEXT,
    superseded_by    INTEGER REFERENCES import_batches(id)
);
CREATE INDEX receivables_key ON receivables(contract_no, payment_node, due_date);

-- 汇率: USD per unit of the currency, for the month
CREATE TABLE fx (
    id            INTEGER PRIMARY KEY,
    batch_id      INTEGER NOT NULL REFERENCES import_batches(id),
    month         TEXT NOT NULL,
    currency      TEXT NOT NULL,
    usd_rate      TEXT NOT NULL,
    superseded_by INTEGER REFERENCES import_batches(id)
);
CREATE INDEX fx_month ON fx(month, currency);

CREATE VIEW sales_active AS SELECT * FROM sales WHERE superseded_by IS NULL;
CREATE VIEW targets_active AS SELECT * FROM targets WHERE superseded_by IS NULL;
CREATE VIEW receivables_active AS SELECT * FROM receivables WHERE superseded_by IS NULL;
CREATE VIEW fx_active AS SELECT * FROM fx WHERE superseded_by IS NULL;

-- rows set aside by the cleaner
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER REFERENCES import_batches(id),
    file        TEXT NOT NULL,
    sheet       TEXT,
    row_no      INTEGER,
    column_name TEXT,
    raw_value   TEXT,
    reason      TEXT NOT NULL,
    kind        TEXT,                        -- sales / targets / receivables / fx
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,             -- admin / ops / sales / viewer
    clearance     TEXT NOT NULL,             -- 公开 / 内部 / 敏感 / 机密
    kbs           TEXT NOT NULL DEFAULT '',  -- comma-separated knowledge-base ids; '' = all
    password_hash TEXT,                      -- argon2 PHC string
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

-- append-only: triggers refuse UPDATE and DELETE
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,                    -- login, question, answer, import, export, approval, …
    detail TEXT                              -- JSON
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
