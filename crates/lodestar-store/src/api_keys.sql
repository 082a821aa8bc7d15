-- API keys (Authorization: Bearer …) for programs acting as a user; only the SHA-256 is stored
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user         TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label        TEXT NOT NULL DEFAULT '',
    key_hash     TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,              -- the first characters, to tell keys apart in lists
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_keys_user ON api_keys(user);
