//! Local accounts (用户): role, clearance and knowledge-base grants.

use crate::{now, Result, Store, StoreError};
use lodestar_core::{KbId, Principal, Role, Sensitivity};
use rusqlite::{params, OptionalExtension};

/// A stored account.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct User {
    /// Account (login) name.
    pub name: String,
    /// The account's role.
    pub role: Role,
    /// Highest sensitivity the account may see.
    pub clearance: Sensitivity,
    /// Granted knowledge bases; empty = all.
    pub kbs: Vec<KbId>,
    /// When the account was created (RFC 3339).
    pub created_at: String,
    /// Whether a password hash is stored for the account.
    pub has_password: bool,
}

impl User {
    /// The principal requests of this account run as.
    pub fn principal(&self) -> Principal {
        Principal { name: self.name.clone(), role: self.role, clearance: self.clearance, kbs: self.kbs.clone() }
    }
}

fn parse_user(
    name: String,
    role: String,
    clearance: String,
    kbs: String,
    created_at: String,
    has_pw: bool,
) -> Result<User> {
    let role: Role = role.parse().map_err(|e| StoreError::Invalid(format!("{e}")))?;
    let clearance: Sensitivity = clearance.parse().map_err(|e| StoreError::Invalid(format!("{e}")))?;
    let kbs = kbs
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<KbId>().map_err(|e| StoreError::Invalid(format!("{e}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok(User { name, role, clearance, kbs, created_at, has_password: has_pw })
}

impl Store {
    /// Adds or updates an account. `password_hash` is an argon2 PHC string (hashing is the caller's).
    pub fn upsert_user(
        &self,
        name: &str,
        role: Role,
        clearance: Sensitivity,
        kbs: &[KbId],
        password_hash: Option<&str>,
    ) -> Result<()> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("user name is empty".into()));
        }
        let kbs: Vec<&str> = kbs.iter().map(|k| k.id()).collect();
        self.conn.execute(
            "INSERT INTO users(name, role, clearance, kbs, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(name) DO UPDATE SET role = excluded.role, clearance = excluded.clearance, kbs = excluded.kbs,
               password_hash = COALESCE(excluded.password_hash, users.password_hash)",
            params![name.trim(), role.as_str(), clearance.label(), kbs.join(","), password_hash, now()],
        )?;
        Ok(())
    }

    /// The active (not disabled) account named `name`.
    pub fn get_user(&self, name: &str) -> Result<Option<User>> {
        let row = self
            .conn
            .query_row(
                "SELECT name, role, clearance, kbs, created_at, password_hash IS NOT NULL FROM users WHERE name = ?1 AND disabled = 0",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        row.map(|(a, b, c, d, e, f)| parse_user(a, b, c, d, e, f)).transpose()
    }

    /// The stored password hash (argon2 PHC string) of an active account, if it has one.
    pub fn password_hash(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT password_hash FROM users WHERE name = ?1 AND disabled = 0", [name], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// All active accounts, by name.
    pub fn list_users(&self) -> Result<Vec<User>> {
        let mut st = self.conn.prepare(
            "SELECT name, role, clearance, kbs, created_at, password_hash IS NOT NULL FROM users WHERE disabled = 0 ORDER BY name",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (a, b, c, d, e, f) = row?;
            out.push(parse_user(a, b, c, d, e, f)?);
        }
        Ok(out)
    }

    /// Every account, disabled ones included, with its `disabled` flag (the admin page).
    pub fn list_all_users(&self) -> Result<Vec<(User, bool)>> {
        let mut st = self.conn.prepare(
            "SELECT name, role, clearance, kbs, created_at, password_hash IS NOT NULL, disabled FROM users ORDER BY name",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, i64>(6)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (a, b, c, d, e, f, g) = row?;
            out.push((parse_user(a, b, c, d, e, f)?, g != 0));
        }
        Ok(out)
    }

    /// The principal for `--as USER`: the local administrator when `None`.
    pub fn principal(&self, user: Option<&str>) -> Result<Principal> {
        match user {
            None => Ok(Principal::local_admin()),
            Some(n) => self
                .get_user(n)?
                .map(|u| u.principal())
                .ok_or_else(|| StoreError::NotFound(format!("user `{n}` (add it with `lodestar user add`)"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_round_trip() {
        let s = Store::open_in_memory().unwrap();
        s.upsert_user("li", Role::Sales, Sensitivity::Internal, &[KbId::Product, KbId::Policy], None).unwrap();
        let u = s.get_user("li").unwrap().unwrap();
        assert_eq!(u.role, Role::Sales);
        assert_eq!(u.kbs, vec![KbId::Product, KbId::Policy]);
        let p = s.principal(Some("li")).unwrap();
        assert!(!p.can_read(KbId::Customer, Sensitivity::Public));
        assert!(s.principal(Some("nobody")).is_err());
        assert_eq!(s.principal(None).unwrap().clearance, Sensitivity::Secret);
        s.upsert_user("li", Role::Ops, Sensitivity::Sensitive, &[], None).unwrap();
        assert_eq!(s.list_users().unwrap().len(), 1);
        assert_eq!(s.get_user("li").unwrap().unwrap().clearance, Sensitivity::Sensitive);
    }
}
