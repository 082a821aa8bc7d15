-- web sessions (lodestar serve): the cookie holds a random token, the table its SHA-256
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at INTEGER NOT NULL,             -- unix seconds
    remote     TEXT
);
CREATE INDEX sessions_user ON sessions(user);
CREATE INDEX audit_log_at ON audit_log(at);
