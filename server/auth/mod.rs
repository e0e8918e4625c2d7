//! Accounts and logins: password hashing, server-side tokens, verification codes and the SMS
//! sender, the password dictionary, and the functions `login`, `logout`, `whoami`, `refreshToken`,
//! `genCode` and `chpwd`.

pub mod accounts;
pub mod chpwd;
pub mod code;
pub mod login;
pub mod password;
pub mod pwd_dict;
pub mod pwd_work;
pub mod qrlogin;
pub mod session;
pub mod sms;

use std::time::Duration;

use crate::api::functions::{Functions, Receives};
use crate::config::Config;
use crate::error::ApiResult;
use crate::state::{AppState, Task};

/// Registers the account functions: `login`, `logout`, `whoami`, `refreshToken`, `genCode`, `chpwd`, and
/// QR login (`qrLogin.create|confirm|poll|qr`).
/// Login and chpwd hash passwords in their prepare phases (see `pwd_work`).
pub fn register(f: &mut Functions) {
    f.add_prepared("login", pwd_work::prepare_login, login::login);
    f.add("logout", true, login::logout);
    f.add("whoami", false, login::whoami);
    f.add("refreshToken", true, login::refresh_token);
    f.add("genCode", true, code::gen_code);
    f.add_prepared("chpwd", pwd_work::prepare_chpwd, chpwd::chpwd);
    f.add("qrLogin.create", true, qrlogin::create);
    f.add("qrLogin.confirm", true, qrlogin::confirm);
    f.add("qrLogin.poll", true, qrlogin::poll);
    f.add_receiving("qrLogin.qr", false, qrlogin::qr, Receives { raw_body: false, headers: &["host"] });
}

/// The accounts' background work: housekeeping every `P_HOUSEKEEP_SECS`.
pub fn tasks(config: &Config) -> Vec<Task> {
    if config.housekeep_secs == 0 {
        return Vec::new();
    }
    vec![Task { name: "housekeeping", every: Duration::from_secs(config.housekeep_secs), run: housekeep }]
}

/// Deletes verification codes older than a day and sessions that expired or were revoked more than a
/// week ago (nothing can use them any more; a week keeps them for looking into a recent incident).
fn housekeep(state: &AppState) -> ApiResult<()> {
    let now = session::now();
    let (day_ago, week_ago) = (session::fmt_time(now - 86_400), session::fmt_time(now - 7 * 86_400));
    let (codes, sessions) = state.db.writer().run("housekeeping", move |conn| {
        let codes = conn.execute("DELETE FROM VCode WHERE createTm < ?", [day_ago])?;
        let sessions =
            conn.execute("DELETE FROM Session WHERE expireTm < ? OR revokeTm < ?", [&week_ago, &week_ago])?;
        Ok((codes, sessions))
    })?;
    if codes + sessions > 0 {
        log::info!("housekeeping: deleted {codes} old verification code(s), {sessions} dead session(s)");
    }
    Ok(())
}
