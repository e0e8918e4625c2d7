//! Password hashing outside the writer thread.
//!
//! Argon2id costs tens of milliseconds of CPU by design. Login and chpwd are writing calls, and writes
//! run one at a time on the writer thread, so a hash computed there would hold up every other write
//! (an order, a seat hold) for that long. Their prepare phases (see `Functions::add_prepared`) therefore
//! read the stored hash on a read connection, verify the given password and compute any new hash
//! before the call is queued. The handler, on the writer, re-reads the row and uses the verdict only
//! if the stored value is still the one that was verified; otherwise (a password changed in between,
//! or a batch sub-call, which has no prepare phase) it verifies in place.

use super::password::{self, Check};
use crate::api::auth::{AppType, Auth};
use crate::api::params::{Params, Prepared};
use crate::error::ApiResult;
use crate::state::AppState;

/// What a prepare phase worked out for one call.
#[derive(Debug, Default)]
pub struct PwdWork {
    /// `(password given, stored value, verdict)` for the password that proves the account.
    verified: Option<(String, String, Check)>,
    /// `(password, hash)`: the new hash to store (chpwd's new password, or a login's re-hash).
    new_hash: Option<(String, String)>,
}

impl PwdWork {
    fn of(p: &Params) -> Option<std::sync::Arc<PwdWork>> {
        p.prepared.as_ref().and_then(Prepared::get::<PwdWork>)
    }
}

/// Checks `pwd` against `stored`, using the prepare phase's verdict when it was for these values.
pub fn verify(p: &Params, pwd: &str, stored: &str) -> Check {
    if let Some(w) = PwdWork::of(p) {
        if let Some((given, was, check)) = &w.verified {
            if given == pwd && was == stored {
                return *check;
            }
        }
    }
    password::verify(pwd, stored)
}

/// The hash to store for `pwd`, computed in the prepare phase when it could be.
pub fn hash(p: &Params, pwd: &str) -> String {
    if let Some(w) = PwdWork::of(p) {
        if let Some((given, h)) = &w.new_hash {
            if given == pwd {
                return h.clone();
            }
        }
    }
    password::hash(pwd)
}

/// Reads a stored password on a read connection. `by` is one of the fixed column names below.
fn stored(state: &AppState, t: AppType, by: &'static str, value: crate::query::SqlValue) -> ApiResult<Option<String>> {
    let Some(table) = state.objects.accounts(t).map(|a| a.table) else { return Ok(None) };
    debug_assert!(matches!(by, "id" | "phone" | "uname"));
    let pooled = state.db.read()?;
    let conn = pooled.conn();
    let sql = format!("SELECT pwd FROM {table} WHERE {by}=? ORDER BY id LIMIT 1");
    let v: Option<Option<String>> = conn.prepare_cached(&sql)?.query_opt([value], |r| r.get(0))?;
    Ok(v.flatten())
}

/// Prepare phase of `login(uname, pwd)`: verifies the password and makes the re-hash a legacy row needs.
pub fn prepare_login(state: &AppState, auth: &Auth, p: &mut Params) -> ApiResult<()> {
    if p.str("token").is_some() || p.str("code").is_some() {
        return Ok(());
    }
    let (Some(uname), Some(pwd)) = (p.str("uname"), p.str("pwd")) else { return Ok(()) };
    // The same lookup as the handler's: names starting with a digit are phones.
    let by = if uname.starts_with(|c: char| c.is_ascii_digit()) { "phone" } else { "uname" };
    let Some(stored) = stored(state, auth.app_type, by, uname.into())? else { return Ok(()) };
    let check = password::verify(&pwd, &stored);
    let new_hash = (check == Check::OkRehash).then(|| (pwd.clone(), password::hash(&pwd)));
    p.prepared = Some(Prepared::new(PwdWork { verified: Some((pwd, stored, check)), new_hash }));
    Ok(())
}

/// Prepare phase of `chpwd`: verifies `oldpwd` (when given) and hashes the new password.
pub fn prepare_chpwd(state: &AppState, auth: &Auth, p: &mut Params) -> ApiResult<()> {
    let Some(pwd) = p.str("pwd") else { return Ok(()) };
    let mut work = PwdWork { verified: None, new_hash: Some((pwd.clone(), password::hash(&pwd))) };
    if let Some(old) = p.str("oldpwd").filter(|o| o != "_none") {
        let row = match (p.str("phone"), &auth.login) {
            (Some(phone), _) => stored(state, auth.app_type, "phone", phone.into())?,
            (None, Some(l)) if l.app_type == auth.app_type => stored(state, auth.app_type, "id", l.id.into())?,
            _ => None,
        };
        if let Some(s) = row {
            let check = password::verify(&old, &s);
            work.verified = Some((old, s, check));
        }
    }
    p.prepared = Some(Prepared::new(work));
    Ok(())
}
