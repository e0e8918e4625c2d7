//! Passwords at rest (protocol decision §9.9): a salted, iterated SHA-256, never plain md5.
//!
//! Clients may send a password plain or as its 32-hex md5, as with the reference; both are first
//! normalised to the md5 form, so either verifies against the same stored hash. Stored values look
//! like `sha256$<iterations>$<salt hex>$<hash hex>`. A bare 32-hex md5 (rows imported from a
//! jdcloud-php database) still verifies, and the caller re-hashes it on the first successful login.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Iterations for new hashes. Chosen so one verification costs about a millisecond on this class of
/// machine: the login benchmark target (1,000 logins/s on 2 cores) bounds it from above.
pub const ITERATIONS: u32 = 4000;

/// True for a 32-character lowercase or uppercase hex string.
pub fn is_md5_hex(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The md5 form of a password as sent (plain or already md5).
pub fn normalise(pwd: &str) -> String {
    if is_md5_hex(pwd) {
        pwd.to_ascii_lowercase()
    } else {
        format!("{:x}", md5::compute(pwd.as_bytes()))
    }
}

fn derive(md5hex: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut h: [u8; 32] = Sha256::new().chain_update(salt).chain_update(md5hex.as_bytes()).finalize().into();
    for _ in 1..iterations {
        h = Sha256::new().chain_update(salt).chain_update(h).finalize().into();
    }
    h
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Hashes a password (plain or md5 form) for storage.
pub fn hash(pwd: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    format!("sha256${ITERATIONS}${}${}", hex(&salt), hex(&derive(&normalise(pwd), &salt, ITERATIONS)))
}

/// The outcome of checking a password against a stored value.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Wrong,
    Ok,
    /// Correct, but stored in a legacy form: store `hash(pwd)` instead.
    OkRehash,
}

/// Checks a password (plain or md5 form) against a stored value.
pub fn verify(pwd: &str, stored: &str) -> Check {
    let m = normalise(pwd);
    if is_md5_hex(stored) {
        return if constant_eq(m.as_bytes(), stored.to_ascii_lowercase().as_bytes()) {
            Check::OkRehash
        } else {
            Check::Wrong
        };
    }
    let parts: Vec<&str> = stored.split('$').collect();
    let [algo, iter, salt, want] = parts[..] else { return Check::Wrong };
    let (Ok(iter), Some(salt), Some(want)) = (iter.parse::<u32>(), unhex(salt), unhex(want)) else {
        return Check::Wrong;
    };
    if algo != "sha256" || iter == 0 || iter > 10_000_000 {
        return Check::Wrong;
    }
    if !constant_eq(&derive(&m, &salt, iter), &want) {
        Check::Wrong
    } else if iter < ITERATIONS {
        Check::OkRehash
    } else {
        Check::Ok
    }
}

/// Compares without an early exit, so timing does not tell how much matched.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_md5_forms_verify_against_one_hash() {
        let h = hash("1234");
        assert!(h.starts_with("sha256$"));
        assert!(!h.contains("81dc9bdb52d04dc20036dbd8313ed055"), "no bare md5 at rest");
        assert_eq!(verify("1234", &h), Check::Ok);
        assert_eq!(verify("81dc9bdb52d04dc20036dbd8313ed055", &h), Check::Ok);
        assert_eq!(verify("12345", &h), Check::Wrong);
    }

    #[test]
    fn salts_differ_between_hashes() {
        assert_ne!(hash("1234"), hash("1234"));
    }

    #[test]
    fn legacy_md5_rows_verify_and_ask_for_a_rehash() {
        assert_eq!(verify("1234", "81dc9bdb52d04dc20036dbd8313ed055"), Check::OkRehash);
        assert_eq!(verify("123", "81dc9bdb52d04dc20036dbd8313ed055"), Check::Wrong);
    }

    #[test]
    fn malformed_stored_values_never_verify() {
        for s in ["", "sha256$x$00$00", "sha256$1000$zz$00", "md5$1$00$00", "plain"] {
            assert_eq!(verify("plain", s), Check::Wrong, "{s}");
        }
    }
}
