//! Web sessions (会话): server-side rows keyed by the SHA-256 of a random cookie token, with an
//! expiry and a CSRF token; disabling an account ends its sessions.

use crate::accounts::random_token;
use crate::users::User;
use crate::{now, Result, Store};
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

/// A session as the server sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The logged-in account.
    pub user: User,
    /// Token the browser must echo in state-changing requests (CSRF protection).
    pub csrf_token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A new session's secrets (the token goes into the cookie; only its hash is stored).
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie token (random; only its SHA-256 is stored).
    pub token: String,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Starts a session for `user`, valid for `ttl_secs`.
    pub fn create_session(&self, user: &str, ttl_secs: i64, remote: Option<&str>) -> Result<NewSession> {
        let s = NewSession { token: random_token(32), csrf_token: random_token(24), expires_at: unix_now() + ttl_secs };
        self.conn.execute(
            "INSERT INTO sessions(token_hash, user, csrf_token, created_at, expires_at, remote) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token_hash(&s.token), user, s.csrf_token, now(), s.expires_at, remote],
        )?;
        Ok(s)
    }

    /// The live session of `token`: unexpired, and its account enabled.
    pub fn session(&self, token: &str) -> Result<Option<Session>> {
        let row: Option<(String, String, i64)> = self
            .conn
            .query_row(
                "SELECT s.user, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.name = s.user
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
                params![token_hash(token), unix_now()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((name, csrf_token, expires_at)) = row else { return Ok(None) };
        Ok(self.get_user(&name)?.map(|user| Session { user, csrf_token, expires_at }))
    }

    /// Ends the session of `token` (logout). Returns whether one existed.
    pub fn end_session(&self, token: &str) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash(token)])? > 0)
    }

    /// Ends every session of `user`; returns how many.
    pub fn end_user_sessions(&self, user: &str) -> Result<usize> {
        Ok(self.conn.execute("DELETE FROM sessions WHERE user = ?1", [user])?)
    }

    /// Deletes expired sessions; returns how many.
    pub fn purge_expired_sessions(&self) -> Result<usize> {
        Ok(self.conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [unix_now()])?)
    }

    /// Disables an account (it can no longer log in) and ends its sessions. Returns false when
    /// no enabled account has that name.
    pub fn disable_user(&self, name: &str) -> Result<bool> {
        let n = self.conn.execute("UPDATE users SET disabled = 1 WHERE name = ?1 AND disabled = 0", [name])?;
        self.end_user_sessions(name)?;
        Ok(n > 0)
    }

    /// Enables a disabled account again. Returns false when no disabled account has that name.
    pub fn enable_user(&self, name: &str) -> Result<bool> {
        Ok(self.conn.execute("UPDATE users SET disabled = 0 WHERE name = ?1 AND disabled = 1", [name])? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestar_core::{Role, Sensitivity};

    #[test]
    fn sessions_live_expire_and_end_with_the_account() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db.sqlite");
        let s = Store::open(&p).unwrap();
        s.upsert_user("li", Role::Sales, Sensitivity::Internal, &[], None).unwrap();
        let a = s.create_session("li", 3600, Some("127.0.0.1")).unwrap();
        let b = s.create_session("li", 3600, None).unwrap();
        let old = s.create_session("li", -1, None).unwrap();
        assert_ne!(a.token, b.token);
        // a restart keeps people logged in
        drop(s);
        let s = Store::open(&p).unwrap();
        let got = s.session(&a.token).unwrap().unwrap();
        assert_eq!(got.user.name, "li");
        assert_eq!(got.csrf_token, a.csrf_token);
        assert!(s.session(&old.token).unwrap().is_none(), "expired");
        assert!(s.session("not-a-token").unwrap().is_none());
        // the token itself is not stored
        let n: i64 = s
            .conn()
            .query_row("SELECT COUNT(*) FROM sessions WHERE token_hash = ?1", [&a.token], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert!(s.end_session(&a.token).unwrap());
        assert!(s.session(&a.token).unwrap().is_none());
        assert!(s.session(&b.token).unwrap().is_some());
        assert_eq!(s.purge_expired_sessions().unwrap(), 1, "the expired one");
        assert!(s.disable_user("li").unwrap());
        assert!(s.session(&b.token).unwrap().is_none());
        assert!(s.enable_user("li").unwrap());
        assert!(s.session(&b.token).unwrap().is_none(), "disabling ended the sessions for good");
    }
}
