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

use rusqlite::Connection;

use crate::error::ApiResult;

/// Creates the bootstrap manager (`admin` / `1234`, phone 12345678901) when Employee is empty, so a new
/// installation can log in to the staff console (protocol §2.4). Its password should be changed.
pub fn bootstrap(conn: &Connection) -> ApiResult<()> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM Employee", [], |r| r.get(0))?;
    if n == 0 {
        conn.execute(
            "INSERT INTO Employee (uname, phone, pwd, name, perms) VALUES ('admin', '12345678901', ?, '管理员', 'emp,mgr')",
            [password::hash("1234")],
        )?;
        log::warn!("created the bootstrap employee `admin` with password 1234: change it");
    }
    Ok(())
}
