//! Password hashes for the login form's users: Argon2id in PHC strings, made by
//! `potok-ui hash-password` and checked at sign-in, so the properties file never holds a
//! password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Whether `stored` is a hash this module can check.
pub fn is_hash(stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| hash.algorithm.as_str().starts_with("argon2"))
}

/// A new hash of `password`, with a random salt.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches `stored`; a malformed hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("s3cret").unwrap();
        assert!(is_hash(&stored));
        assert!(verify("s3cret", &stored));
        assert!(!verify("secret", &stored));
        assert!(!is_hash("s3cret"));
        assert!(!verify("s3cret", "s3cret"));
    }
}
