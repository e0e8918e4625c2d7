//! The password dictionary `Pwd` (protocol §6.3, F58): how often each password is chosen, to spot
//! common weak passwords, without keeping any password in a recoverable form.
//!
//! The reference stores chosen passwords in plain text. Here a row holds
//! `HMAC-SHA256(key, md5(password))` (base64url, 43 characters): equal passwords give equal digests,
//! so counting works, and the md5 normalisation makes the plain and md5 forms of one password count
//! as the same choice. The key is random per installation and kept in `Cinf` under `PWD_KEY_NAME`,
//! a row the API never shows or changes, so the dictionary alone does not even allow testing guesses.
//! Whoever has the whole database (key included) can test guesses against it like an unsalted
//! hash, which is why it is only a statistic and never used to verify a login.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::password;
use crate::api::ctx::Ctx;
use crate::error::ApiResult;
use crate::query::SqlValue;

/// `Cinf.name` of the dictionary key; hidden from the Cinf object.
pub const PWD_KEY_NAME: &str = "pwdDictKey";

/// HMAC-SHA256 (RFC 2104) over SHA-256's 64-byte blocks.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.map(|x| x ^ b);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// The dictionary entry of a password (plain or md5 form).
pub fn digest(key: &[u8], pwd: &str) -> String {
    let mac = hmac_sha256(key, password::normalise(pwd).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac)
}

/// The installation's dictionary key, created on first use.
fn key(ctx: &mut Ctx) -> ApiResult<Vec<u8>> {
    let found = ctx.scalar("SELECT value FROM Cinf WHERE name=? ORDER BY id LIMIT 1", &[PWD_KEY_NAME.into()])?;
    if let Some(crate::query::SqlValue::Text(hex)) = found {
        if let Some(k) = unhex(&hex) {
            return Ok(k);
        }
    }
    let mut k = vec![0u8; 32];
    rand::rng().fill_bytes(&mut k);
    let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
    ctx.exec("DELETE FROM Cinf WHERE name=?", &[PWD_KEY_NAME.into()])?;
    ctx.exec("INSERT INTO Cinf (name, value) VALUES (?,?)", &[PWD_KEY_NAME.into(), hex.into()])?;
    Ok(k)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Counts a newly chosen password (chpwd).
pub fn record(ctx: &mut Ctx, pwd: &str) -> ApiResult<()> {
    let d = digest(&key(ctx)?, pwd);
    let n = ctx.exec("UPDATE Pwd SET cnt=COALESCE(cnt,0)+1 WHERE pwd=?", &[d.clone().into()])?;
    if n == 0 {
        ctx.exec("INSERT INTO Pwd (pwd, cnt) VALUES (?,?)", &[d.into(), SqlValue::Int(1)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vectors() {
        // Test case 2: key "Jefe".
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn plain_and_md5_forms_count_as_one_password_and_keys_differ() {
        let k = [7u8; 32];
        let d = digest(&k, "1234");
        assert_eq!(d, digest(&k, "81dc9bdb52d04dc20036dbd8313ed055"));
        assert_eq!(d.len(), 43, "fits Pwd.pwd (50)");
        assert!(!d.contains("1234") && !d.contains("81dc9bdb"));
        assert_ne!(d, digest(&[8u8; 32], "1234"));
    }
}
