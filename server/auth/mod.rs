//! Accounts and logins: password hashing, server-side tokens, verification codes and the SMS
//! sender, the password dictionary, and the functions `login`, `logout`, `whoami`, `refreshToken`,
//! `genCode` and `chpwd`.

pub mod chpwd;
pub mod code;
pub mod login;
pub mod password;
pub mod pwd_dict;
pub mod pwd_work;
pub mod session;
pub mod sms;

use crate::api::functions::Functions;

/// Registers the account functions: `login`, `logout`, `whoami`, `refreshToken`, `genCode`, `chpwd`.
/// Login and chpwd hash passwords in their prepare phases (see `pwd_work`).
pub fn register(f: &mut Functions) {
    f.add_prepared("login", pwd_work::prepare_login, login::login);
    f.add("logout", true, login::logout);
    f.add("whoami", false, login::whoami);
    f.add("refreshToken", true, login::refresh_token);
    f.add("genCode", true, code::gen_code);
    f.add_prepared("chpwd", pwd_work::prepare_chpwd, chpwd::chpwd);
}
