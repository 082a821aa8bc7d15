//! API keys (接口密钥): `Authorization: Bearer KEY` acts as the key's user. A key is shown once
//! when created; the table keeps its SHA-256, a short prefix and its label.

use crate::accounts::{random_token, sha256_hex};
use crate::users::User;
use crate::{now, Result, Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// A stored key (never the key itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiKey {
    /// Row id (what [`Store::revoke_api_key`] takes).
    pub id: i64,
    /// The account the key acts as.
    pub user: String,
    /// Free-text label given at creation (may be empty).
    pub label: String,
    /// The key's first characters, to tell keys apart in lists.
    pub prefix: String,
    /// When the key was created (RFC 3339).
    pub created_at: String,
    /// When the key last authenticated a request (RFC 3339), if ever.
    pub last_used_at: Option<String>,
    /// When the key was revoked (RFC 3339); a revoked key authenticates nothing.
    pub revoked_at: Option<String>,
}

impl Store {
    /// Creates a key for `user`; returns it with the secret, which is not stored.
    pub fn create_api_key(&self, user: &str, label: &str) -> Result<(ApiKey, String)> {
        if self.get_user(user)?.is_none() {
            return Err(StoreError::NotFound(format!("user `{user}` (add it with `lodestar user add`)")));
        }
        let key = format!("lsk-{}", random_token(24));
        let prefix: String = key.chars().take(12).collect();
        self.conn.execute(
            "INSERT INTO api_keys(user, label, key_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![user, label, sha256_hex(key.as_bytes()), prefix, now()],
        )?;
        let id = self.conn.last_insert_rowid();
        let k = self
            .api_keys(Some(user))?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("key {id}")))?;
        Ok((k, key))
    }

    /// Keys of one user (or all), newest first.
    pub fn api_keys(&self, user: Option<&str>) -> Result<Vec<ApiKey>> {
        let mut st = self.conn.prepare(
            "SELECT id, user, label, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE (?1 IS NULL OR user = ?1) ORDER BY id DESC",
        )?;
        let rows = st.query_map([user], |r| {
            Ok(ApiKey {
                id: r.get(0)?,
                user: r.get(1)?,
                label: r.get(2)?,
                prefix: r.get(3)?,
                created_at: r.get(4)?,
                last_used_at: r.get(5)?,
                revoked_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Revokes a key; false when no live key has that id.
    pub fn revoke_api_key(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL", params![now(), id])?
            > 0)
    }

    /// The enabled user a live key belongs to (and marks the key used).
    pub fn user_of_api_key(&self, key: &str) -> Result<Option<User>> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT k.id, k.user FROM api_keys k JOIN users u ON u.name = k.user
                 WHERE k.key_hash = ?1 AND k.revoked_at IS NULL AND u.disabled = 0",
                [sha256_hex(key.as_bytes())],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((id, user)) = row else { return Ok(None) };
        self.conn.execute("UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2", params![now(), id])?;
        self.get_user(&user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestar_core::{Role, Sensitivity};

    #[test]
    fn keys_authenticate_until_revoked_or_disabled() {
        let s = Store::open_in_memory().unwrap();
        s.upsert_user("li", Role::Ops, Sensitivity::Sensitive, &[], None).unwrap();
        assert!(s.create_api_key("ghost", "x").is_err());
        let (k, secret) = s.create_api_key("li", "open-webui").unwrap();
        assert!(secret.starts_with("lsk-") && secret.len() == 52, "{secret}");
        assert_eq!(k.prefix, &secret[..12]);
        assert_eq!(s.user_of_api_key(&secret).unwrap().unwrap().name, "li");
        assert!(s.user_of_api_key("lsk-wrong").unwrap().is_none());
        let n: i64 =
            s.conn().query_row("SELECT COUNT(*) FROM api_keys WHERE key_hash = ?1", [&secret], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "the key itself is not stored");
        assert!(s.api_keys(Some("li")).unwrap()[0].last_used_at.is_some());
        let (_, second) = s.create_api_key("li", "").unwrap();
        assert!(s.revoke_api_key(k.id).unwrap());
        assert!(!s.revoke_api_key(k.id).unwrap());
        assert!(s.user_of_api_key(&secret).unwrap().is_none());
        assert!(s.user_of_api_key(&second).unwrap().is_some());
        s.disable_user("li").unwrap();
        assert!(s.user_of_api_key(&second).unwrap().is_none());
    }
}
