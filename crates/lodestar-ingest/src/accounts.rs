//! Account passwords (口令): argon2id hashes in PHC string form, as the `users` table stores them.
//!
//! ```
//! let h = lodestar_ingest::accounts::hash_password("s3cret").unwrap();
//! assert!(lodestar_ingest::accounts::verify_password("s3cret", &h));
//! assert!(!lodestar_ingest::accounts::verify_password("wrong", &h));
//! ```

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::IngestError;

/// An argon2id PHC string (`$argon2id$v=19$…`) for `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, IngestError> {
    if password.is_empty() {
        return Err(IngestError::Invalid("empty password".into()));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IngestError::Invalid(format!("cannot hash password: {e}")))
}

/// Whether `password` matches a PHC hash made by [`hash_password`].
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}
