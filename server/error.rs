//! The protocol's error codes and the one error type every layer returns.
//!
//! A failed call answers `[code, userMsg, internalMsg]` (protocol §1.4/§1.5). `ApiError` carries exactly
//! those three things; it is turned into the wire form in one place (`api::envelope`), and logged once,
//! at dispatch. Constructors are named after the codes so call sites read like the protocol text:
//! `ApiError::param("缺少参数`id`")`.

use std::fmt;

/// Protocol error codes (protocol §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// -100: the client stays silent; used for calls cancelled inside a failed transactional batch.
    Abort,
    /// -2: a third party failed.
    Ext,
    /// -1: bad credentials, token or old password.
    AuthFail,
    /// 1: bad or missing parameter, unknown action, not found, duplicate.
    Param,
    /// 2: an auth check failed and the caller is not logged in.
    NoAuth,
    /// 3: the database refused the statement.
    Db,
    /// 4: internal or configuration error.
    Server,
    /// 5: an auth check failed while logged in; readonly field; forbidden SQL.
    Forbidden,
    /// 1001: sending an SMS failed.
    Sms,
}

impl Code {
    /// The number on the wire.
    pub fn number(self) -> i32 {
        match self {
            Code::Abort => -100,
            Code::Ext => -2,
            Code::AuthFail => -1,
            Code::Param => 1,
            Code::NoAuth => 2,
            Code::Db => 3,
            Code::Server => 4,
            Code::Forbidden => 5,
            Code::Sms => 1001,
        }
    }

    /// The user message used when a call site gives none.
    pub fn default_msg(self) -> &'static str {
        match self {
            Code::Abort => "中止执行",
            Code::Ext => "接口调用错误",
            Code::AuthFail => "认证失败",
            Code::Param => "参数不正确",
            Code::NoAuth => "未登录",
            Code::Db => "数据库错误",
            Code::Server => "服务器错误",
            Code::Forbidden => "禁止操作",
            Code::Sms => "发送短信失败",
        }
    }
}

/// A failed call: code, message for the user, message for the developer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Code,
    /// Shown to the user; empty means "the code's default text".
    pub msg: String,
    /// Shown to developers (third element of the envelope); may be absent.
    pub internal: Option<String>,
}

/// Result alias used throughout the server.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with the code's default user message.
    pub fn new(code: Code) -> Self {
        ApiError { code, msg: String::new(), internal: None }
    }

    /// An error with a user message.
    pub fn with_msg(code: Code, msg: impl Into<String>) -> Self {
        ApiError { code, msg: msg.into(), internal: None }
    }

    /// Adds (or replaces) the internal message.
    pub fn internal(mut self, internal: impl Into<String>) -> Self {
        self.internal = Some(internal.into());
        self
    }

    /// Replaces the user message.
    pub fn with_user_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = msg.into();
        self
    }

    /// E_PARAM with a user message.
    pub fn param(msg: impl Into<String>) -> Self {
        Self::with_msg(Code::Param, msg)
    }

    /// E_PARAM with the default user message and a developer message (the usual "bad input" shape).
    pub fn bad_param(internal: impl Into<String>) -> Self {
        Self::new(Code::Param).internal(internal)
    }

    /// E_PARAM for a missing mandatory parameter, worded as the reference does.
    pub fn missing(name: &str) -> Self {
        Self::param(format!("缺少参数`{name}`")).internal(format!("Bad Request - param `{name}` is missing"))
    }

    /// E_FORBIDDEN with a developer message.
    pub fn forbidden(internal: impl Into<String>) -> Self {
        Self::new(Code::Forbidden).internal(internal)
    }

    /// E_NOAUTH with a developer message.
    pub fn noauth(internal: impl Into<String>) -> Self {
        Self::new(Code::NoAuth).internal(internal)
    }

    /// E_AUTHFAIL with a user message.
    pub fn authfail(msg: impl Into<String>) -> Self {
        Self::with_msg(Code::AuthFail, msg)
    }

    /// E_SERVER with a developer message.
    pub fn server(internal: impl Into<String>) -> Self {
        Self::new(Code::Server).internal(internal)
    }

    /// E_DB with a developer message.
    pub fn db(internal: impl Into<String>) -> Self {
        Self::new(Code::Db).internal(internal)
    }

    /// The user message, falling back to the code's default text.
    pub fn user_msg(&self) -> &str {
        if self.msg.is_empty() {
            self.code.default_msg()
        } else {
            &self.msg
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code.number(), self.user_msg())?;
        if let Some(i) = &self.internal {
            write!(f, " ({i})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl From<rusqlite::Error> for ApiError {
    /// A unique key the database enforces (`@unique` in the design) becomes a message a person can act
    /// on (E_PARAM naming the field) instead of a raw E_DB; anything else stays E_DB.
    fn from(e: rusqlite::Error) -> Self {
        if let Some(field) = unique_violation(&e) {
            return ApiError::param(format!("`{field}`已存在, 不能重复")).internal(e.to_string());
        }
        ApiError::db(e.to_string())
    }
}

/// The field of a unique-key violation (`UNIQUE constraint failed: Session.tokenHash` → `tokenHash`).
fn unique_violation(e: &rusqlite::Error) -> Option<String> {
    const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
    let rusqlite::Error::SqliteFailure(f, Some(msg)) = e else { return None };
    if f.extended_code != SQLITE_CONSTRAINT_UNIQUE {
        return None;
    }
    let cols = msg.strip_prefix("UNIQUE constraint failed: ")?;
    let names: Vec<&str> = cols.split(", ").map(|c| c.rsplit('.').next().unwrap_or(c)).collect();
    Some(names.join(", "))
}

impl From<postgres::Error> for ApiError {
    /// As for SQLite: a unique key becomes E_PARAM naming its field (from the constraint's detail,
    /// `Key ("tokenHash")=(...) already exists.`), a value the column cannot take (class 22, such as
    /// text where a number goes) E_PARAM too, anything else E_DB.
    fn from(e: postgres::Error) -> Self {
        let text = match e.as_db_error() {
            Some(d) => format!(
                "{}: {}{}",
                d.code().code(),
                d.message(),
                d.detail().map(|x| format!(" ({x})")).unwrap_or_default()
            ),
            None => e.to_string(),
        };
        match e.code().map(|c| c.code()) {
            Some("23505") => {
                let field = e
                    .as_db_error()
                    .and_then(|d| d.detail())
                    .and_then(|d| d.split_once('(')?.1.split_once(')').map(|(f, _)| f.replace('"', "")))
                    .unwrap_or_default();
                ApiError::param(format!("`{field}`已存在, 不能重复")).internal(text)
            }
            Some(c) if c.starts_with("22") => ApiError::param("参数不合法").internal(text),
            // A deadlock or a serialization failure: nothing was written, and trying again may work.
            Some("40P01" | "40001") => ApiError::with_msg(Code::Db, "系统繁忙, 请稍后重试").internal(text),
            _ => ApiError::db(text),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::server(format!("database pool: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_key_violation_is_a_readable_parameter_error() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE T (id INTEGER PRIMARY KEY, code TEXT, a TEXT, b TEXT); \
             CREATE UNIQUE INDEX ux_T_code ON T(code); CREATE UNIQUE INDEX ux_T_a_b ON T(a, b); \
             INSERT INTO T (code, a, b) VALUES ('x', '1', '2');",
        )
        .unwrap();
        let e: ApiError = c.execute("INSERT INTO T (code) VALUES ('x')", []).unwrap_err().into();
        assert_eq!(e.code, Code::Param);
        assert_eq!(e.user_msg(), "`code`已存在, 不能重复");
        let e: ApiError = c.execute("INSERT INTO T (code, a, b) VALUES ('y', '1', '2')", []).unwrap_err().into();
        assert_eq!(e.user_msg(), "`a, b`已存在, 不能重复");
        let e: ApiError = c.execute("INSERT INTO Nope VALUES (1)", []).unwrap_err().into();
        assert_eq!(e.code, Code::Db, "other failures stay database errors");
    }
}
