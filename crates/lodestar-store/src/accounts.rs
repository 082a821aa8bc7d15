//! Account passwords (口令): argon2id hashes in PHC string form, as the `users` table stores them.
//!
//! ```
//! let h = lodestar_store::accounts::hash_password("s3cret").unwrap();
//! assert!(lodestar_store::accounts::verify_password("s3cret", &h));
//! assert!(!lodestar_store::accounts::verify_password("wrong", &h));
//! ```

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::StoreError;

/// An argon2id PHC string (`$argon2id$v=19$…`) for `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    if password.is_empty() {
        return Err(StoreError::Invalid("empty password".into()));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
}

/// Whether `password` matches a PHC hash made by [`hash_password`].
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A random token of `bytes` bytes, hex-encoded (session ids, CSRF tokens, API keys).
pub fn random_token(bytes: usize) -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of bytes, hex-encoded.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A PHC hash of a password nobody has, verified against when the account does not exist, so a
/// wrong user name costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default())
}

impl crate::Store {
    /// The account `name` when `password` is its password (and the account is enabled and has one).
    pub fn check_login(&self, name: &str, password: &str) -> Result<Option<crate::users::User>, StoreError> {
        match self.password_hash(name.trim())? {
            Some(phc) if verify_password(password, &phc) => self.get_user(name.trim()),
            Some(_) => Ok(None),
            None => {
                let _ = verify_password(password, dummy_hash());
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestar_core::{Role, Sensitivity};

    #[test]
    fn login_checks_password_and_account_state() {
        let s = crate::Store::open_in_memory().unwrap();
        let h = hash_password("pa55word").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        s.upsert_user("li", Role::Sales, Sensitivity::Internal, &[], Some(&h)).unwrap();
        s.upsert_user("nopw", Role::Viewer, Sensitivity::Public, &[], None).unwrap();
        assert_eq!(s.check_login("li", "pa55word").unwrap().unwrap().name, "li");
        assert!(s.check_login("li", "wrong").unwrap().is_none());
        assert!(s.check_login("ghost", "pa55word").unwrap().is_none());
        assert!(s.check_login("nopw", "").unwrap().is_none());
        s.disable_user("li").unwrap();
        assert!(s.check_login("li", "pa55word").unwrap().is_none());
        assert!(hash_password("").is_err());
        let t = random_token(32);
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token(32));
    }
}
