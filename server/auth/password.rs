//! Passwords at rest (protocol decision §9.9): Argon2id in the PHC string format, never plain md5.
//!
//! Clients may send a password plain or as its 32-hex md5, as with the reference; both are first
//! normalised to the md5 form, so either verifies against the same stored hash. New hashes are
//! `$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>` (RustCrypto's `argon2`, a reviewed implementation of
//! RFC 9106). Older forms still verify and ask the caller to re-hash on the first successful login:
//! - a bare 32-hex md5 (rows imported from a jdcloud-php database, or inserted by tests);
//! - `sha256$<iterations>$<salt hex>$<hash hex>`, the iterated SHA-256 this server stored before;
//! - an Argon2 hash with a lower cost than the one configured now.
//!
//! The cost is `P_PWD_COST` (`m,t,p`: memory KiB, passes, lanes). The default, 7168 KiB × 5 passes × 1
//! lane, is one of OWASP's equivalent Argon2id settings (Password Storage Cheat Sheet, 2023+), the one
//! with the least memory, which keeps the server's memory small while several logins hash at once.
//! Hashing runs outside the writer thread (the login and chpwd prepare phases), never while it holds
//! the write transaction.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

/// The Argon2id cost: memory in KiB, passes, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Cost {
    /// OWASP's Argon2id setting with the least memory (m=7 MiB, t=5, p=1).
    pub const DEFAULT: Cost = Cost { m_kib: 7168, t: 5, p: 1 };

    /// Parses `m,t,p` (`P_PWD_COST`). The floor is OWASP's weakest listed setting (m=7 MiB with t=5 or
    /// its equivalents), so a typo cannot weaken every new hash.
    pub fn parse(s: &str) -> Result<Cost, String> {
        let n: Vec<u32> = s.split(',').map(|x| x.trim().parse::<u32>()).collect::<Result<_, _>>().map_err(|_| {
            format!("P_PWD_COST must be `m,t,p` (memory KiB, passes, lanes), e.g. `7168,5,1`; got `{s}`")
        })?;
        let [m_kib, t, p] = n[..] else {
            return Err(format!("P_PWD_COST must have three numbers `m,t,p`; got `{s}`"));
        };
        let c = Cost { m_kib, t, p };
        if p == 0 || t == 0 || m_kib < 8 * p || (m_kib as u64) * (t as u64) < 7168 * 5 {
            return Err(format!("P_PWD_COST `{s}` is below OWASP's minimum (m×t ≥ 7168×5, e.g. `19456,2,1`)"));
        }
        Params::new(m_kib, t, p, None).map_err(|e| format!("P_PWD_COST `{s}`: {e}"))?;
        Ok(c)
    }
}

static COST: OnceLock<Cost> = OnceLock::new();

/// Sets the cost of new hashes once at start-up (later calls keep the first value).
pub fn configure(cost: Cost) {
    let _ = COST.set(cost);
}

/// The cost of new hashes.
pub fn cost() -> Cost {
    *COST.get().unwrap_or(&Cost::DEFAULT)
}

/// At most one Argon2 computation per core at a time. Each holds `m` KiB of memory and saturates a
/// core, so more at once only adds memory (8 pool threads × 7 MiB) and latency for everyone; a login
/// burst queues here instead, outside the writer and the request threads' connections.
struct Gate {
    busy: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    limit: usize,
}

static GATE: OnceLock<Gate> = OnceLock::new();

fn gated<T>(f: impl FnOnce() -> T) -> T {
    let g = GATE.get_or_init(|| Gate {
        busy: std::sync::Mutex::new(0),
        freed: std::sync::Condvar::new(),
        limit: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
    });
    let mut busy = g.busy.lock().unwrap_or_else(|p| p.into_inner());
    while *busy >= g.limit {
        busy = g.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
    }
    *busy += 1;
    drop(busy);
    let out = f();
    *g.busy.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
    g.freed.notify_one();
    out
}

fn hasher(c: Cost) -> Argon2<'static> {
    let params = Params::new(c.m_kib, c.t, c.p, None).expect("cost checked by Cost::parse");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

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

/// Hashes a password (plain or md5 form) for storage.
pub fn hash(pwd: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    let m = normalise(pwd);
    gated(|| hasher(cost()).hash_password(m.as_bytes(), &salt).expect("argon2 with valid params").to_string())
}

/// The stored value of an account that has no password (registered by code): never verifies, as a
/// locked password in `/etc/shadow`.
pub const NO_PASSWORD: &str = "!";

/// True if `stored` is a hash this module wrote (any cost), as opposed to a legacy or foreign value.
pub fn is_current_format(stored: &str) -> bool {
    stored.starts_with("$argon2id$")
}

/// True for what may be stored as a password: a hash of this module or [`NO_PASSWORD`].
pub fn is_stored_form(stored: &str) -> bool {
    stored == NO_PASSWORD || (is_current_format(stored) && PasswordHash::new(stored).is_ok())
}

/// The outcome of checking a password against a stored value.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Check {
    Wrong,
    Ok,
    /// Correct, but stored in a legacy form or at a lower cost: store `hash(pwd)` instead.
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
    if stored.starts_with("sha256$") {
        return match verify_sha256(&m, stored) {
            true => Check::OkRehash,
            false => Check::Wrong,
        };
    }
    let Ok(ph) = PasswordHash::new(stored) else { return Check::Wrong };
    if ph.algorithm.as_str() != "argon2id" {
        return Check::Wrong;
    }
    let Ok(stored_params) = Params::try_from(&ph) else { return Check::Wrong };
    // Bound the work a stored value can ask for (a row written by hand must not stall a login).
    if stored_params.m_cost() > 1 << 20 || stored_params.t_cost() > 64 || stored_params.p_cost() > 16 {
        return Check::Wrong;
    }
    if gated(|| Argon2::default().verify_password(m.as_bytes(), &ph)).is_err() {
        return Check::Wrong;
    }
    let now = cost();
    let weaker =
        (stored_params.m_cost() as u64) * (stored_params.t_cost() as u64) < (now.m_kib as u64) * (now.t as u64);
    if weaker || ph.version != Some(Version::V0x13 as u32) {
        Check::OkRehash
    } else {
        Check::Ok
    }
}

/// The iterated SHA-256 this server stored before Argon2id (`sha256$iter$salt$hash`).
fn verify_sha256(md5hex: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, iter, salt, want] = parts[..] else { return false };
    let (Ok(iter), Some(salt), Some(want)) = (iter.parse::<u32>(), unhex(salt), unhex(want)) else {
        return false;
    };
    if iter == 0 || iter > 100_000 {
        return false;
    }
    let mut h: [u8; 32] = Sha256::new().chain_update(&salt).chain_update(md5hex.as_bytes()).finalize().into();
    for _ in 1..iter {
        h = Sha256::new().chain_update(&salt).chain_update(h).finalize().into();
    }
    constant_eq(&h, &want)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Compares without an early exit, so timing does not tell how much matched.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash in the format this server wrote before Argon2id (4,000 rounds of SHA-256).
    fn legacy_sha256(pwd: &str, salt: &[u8], iter: u32) -> String {
        let m = normalise(pwd);
        let mut h: [u8; 32] = Sha256::new().chain_update(salt).chain_update(m.as_bytes()).finalize().into();
        for _ in 1..iter {
            h = Sha256::new().chain_update(salt).chain_update(h).finalize().into();
        }
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        format!("sha256${iter}${}${}", hex(salt), hex(&h))
    }

    #[test]
    fn new_hashes_are_argon2id_phc_strings_at_the_configured_cost() {
        let h = hash("1234");
        let c = cost();
        assert!(h.starts_with(&format!("$argon2id$v=19$m={},t={},p={}$", c.m_kib, c.t, c.p)), "{h}");
        assert!(is_current_format(&h));
        assert!(!h.contains("81dc9bdb52d04dc20036dbd8313ed055"), "no bare md5 at rest");
    }

    #[test]
    fn plain_and_md5_forms_verify_against_one_hash() {
        let h = hash("1234");
        assert_eq!(verify("1234", &h), Check::Ok);
        assert_eq!(verify("81dc9bdb52d04dc20036dbd8313ed055", &h), Check::Ok);
        assert_eq!(verify("12345", &h), Check::Wrong);
    }

    #[test]
    fn salts_differ_between_hashes() {
        assert_ne!(hash("1234"), hash("1234"));
    }

    #[test]
    fn legacy_md5_and_sha256_rows_verify_and_ask_for_a_rehash() {
        assert_eq!(verify("1234", "81dc9bdb52d04dc20036dbd8313ed055"), Check::OkRehash);
        assert_eq!(verify("123", "81dc9bdb52d04dc20036dbd8313ed055"), Check::Wrong);
        let old = legacy_sha256("demo123", b"0123456789abcdef", 4000);
        assert_eq!(verify("demo123", &old), Check::OkRehash);
        assert_eq!(verify("demo124", &old), Check::Wrong);
    }

    #[test]
    fn a_cheaper_argon2_hash_verifies_and_asks_for_a_rehash() {
        let salt = SaltString::generate(&mut OsRng);
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap())
            .hash_password(normalise("pw").as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert_eq!(verify("pw", &weak), Check::OkRehash);
        assert_eq!(verify("px", &weak), Check::Wrong);
    }

    #[test]
    fn malformed_or_foreign_stored_values_never_verify() {
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(7168, 5, 1, None).unwrap())
            .hash_password(normalise("plain").as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        for s in ["", "sha256$x$00$00", "sha256$1000$zz$00", "md5$1$00$00", "plain", "$argon2id$v=19$junk", &argon2i] {
            assert_eq!(verify("plain", s), Check::Wrong, "{s}");
        }
    }

    #[test]
    fn cost_settings_below_the_owasp_floor_are_refused() {
        assert_eq!(Cost::parse("7168,5,1"), Ok(Cost::DEFAULT));
        assert_eq!(Cost::parse("19456, 2, 1"), Ok(Cost { m_kib: 19456, t: 2, p: 1 }));
        for bad in ["4096,1,1", "7168,4,1", "x", "1,2", "19456,2,0", "19456,0,1"] {
            assert!(Cost::parse(bad).is_err(), "{bad}");
        }
    }
}
