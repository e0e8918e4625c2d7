//! Who is calling: app name → app type, the logged-in identity, and the permission bits (protocol §6.1).
//!
//! The NOAUTH-vs-FORBIDDEN rule lives here and nowhere else: a failed check answers E_NOAUTH when the
//! caller has no login, E_FORBIDDEN when it has one.

use crate::error::{ApiError, ApiResult};

/// Permission bits, as in the reference (names are used in "require ... to" messages).
pub mod perm {
    pub const USER: u32 = 0x1;
    pub const EMP: u32 = 0x2;
    pub const ADMIN: u32 = 0x4;
    /// Any login.
    pub const LOGIN: u32 = 0xff;
    pub const TEST_MODE: u32 = 0x1000;
}

/// Who a caller is, as objects are served and hooks decide: one type for the registry, the hooks and
/// the state machines. A guest has no login; the others are the login's app type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Guest,
    User,
    Emp,
    Admin,
}

impl Role {
    /// The role of a login type (guests have none).
    pub fn of(login: Option<AppType>) -> Role {
        match login {
            Some(AppType::User) => Role::User,
            Some(AppType::Emp) => Role::Emp,
            Some(AppType::Admin) => Role::Admin,
            _ => Role::Guest,
        }
    }
}

/// A permission word an employee may hold (`Employee.perms`, e.g. `mgr`). The words are data: each is
/// declared by the product module whose objects check it (`Registry::declare_perm`), with its label, and
/// only declared words can be given to an employee. The framework gives no word a meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Perm(pub &'static str);

/// The three kinds of client the protocol knows; any other app type can call only public functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppType {
    User,
    Emp,
    Admin,
    Other,
}

impl AppType {
    /// The app type of an app name: the name minus one trailing run of digits or one `-word`
    /// (`emp-adm` → emp, `user2` → user). Returns the type and its name (used for the cookie), a part of
    /// `app` (it runs twice a call: a copy was two allocations).
    pub fn of_app(app: &str) -> (AppType, &str) {
        let base = match app.rfind('-') {
            Some(i) if i > 0 => &app[..i],
            _ => app.trim_end_matches(|c: char| c.is_ascii_digit()),
        };
        let t = match base {
            "user" => AppType::User,
            "emp" => AppType::Emp,
            "admin" => AppType::Admin,
            _ => AppType::Other,
        };
        (t, base)
    }

    /// The name stored with sessions and used in the cookie name.
    pub fn name(self) -> &'static str {
        match self {
            AppType::User => "user",
            AppType::Emp => "emp",
            AppType::Admin => "admin",
            AppType::Other => "other",
        }
    }

    /// Parses a stored app type name.
    pub fn parse(s: &str) -> AppType {
        Self::of_app(s).0
    }

    /// The permission bit a login of this type carries.
    pub fn login_perm(self) -> u32 {
        match self {
            AppType::User => perm::USER,
            AppType::Emp => perm::EMP,
            AppType::Admin => perm::ADMIN,
            AppType::Other => 0,
        }
    }
}

/// A logged-in identity, as held by a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// `Session.id` of the token in use.
    pub session_id: i64,
    pub app_type: AppType,
    /// User.id, Employee.id, or 1 for the admin.
    pub id: i64,
    /// Role words (`emp,mgr`) for employees; empty otherwise.
    pub roles: String,
}

/// The caller of one call.
#[derive(Debug, Clone)]
pub struct Auth {
    /// `_app` as sent (default `user`).
    pub app: String,
    pub app_type: AppType,
    pub login: Option<Login>,
    /// The token the caller presented (cookie or Bearer), when it was valid: `refreshToken` may hand
    /// it back. Never logged.
    pub token: Option<String>,
    /// Test mode grants PERM_TEST_MODE to every caller (protocol §9.1).
    pub test_mode: bool,
}

impl Auth {
    /// A guest of the given app.
    pub fn guest(app: &str, test_mode: bool) -> Auth {
        let (app_type, _) = AppType::of_app(app);
        Auth { app: app.to_string(), app_type, login: None, token: None, test_mode }
    }

    /// A caller of no app, holding nothing (what is left where a caller was moved out).
    pub fn nobody() -> Auth {
        Auth { app: String::new(), app_type: AppType::Other, login: None, token: None, test_mode: false }
    }

    /// The permission bits of this caller.
    pub fn perms(&self) -> u32 {
        let mut p = if self.test_mode { perm::TEST_MODE } else { 0 };
        if let Some(l) = &self.login {
            p |= l.app_type.login_perm();
        }
        p
    }

    /// The caller's role.
    pub fn role(&self) -> Role {
        Role::of(self.login.as_ref().map(|l| l.app_type))
    }

    /// True if the caller is an employee holding the permission word, or the platform admin (who holds
    /// every word).
    pub fn may(&self, p: Perm) -> bool {
        match &self.login {
            Some(l) if l.app_type == AppType::Admin => true,
            Some(l) if l.app_type == AppType::Emp => l.roles.split(',').any(|r| r.trim() == p.0),
            _ => false,
        }
    }

    /// Requires a permission word (see [`Auth::may`]).
    pub fn require_perm(&self, p: Perm) -> ApiResult<()> {
        if self.may(p) {
            Ok(())
        } else {
            Err(self.refuse(format!("require permission `{}`", p.0)))
        }
    }

    /// True if any of the bits is held.
    pub fn has(&self, bits: u32) -> bool {
        self.perms() & bits != 0
    }

    /// The logged-in user's id (user app).
    pub fn uid(&self) -> Option<i64> {
        self.login.as_ref().filter(|l| l.app_type == AppType::User).map(|l| l.id)
    }

    /// The logged-in employee's id (emp app).
    pub fn emp_id(&self) -> Option<i64> {
        self.login.as_ref().filter(|l| l.app_type == AppType::Emp).map(|l| l.id)
    }

    /// True for the platform admin.
    pub fn is_admin(&self) -> bool {
        self.login.as_ref().is_some_and(|l| l.app_type == AppType::Admin)
    }

    /// The id logged in ApiLog.userId (empId, else uid, else adminId).
    pub fn log_user_id(&self) -> Option<i64> {
        self.login.as_ref().map(|l| l.id)
    }

    /// The refusal for a failed permission check: NOAUTH without a login, FORBIDDEN with one.
    pub fn refuse(&self, internal: impl Into<String>) -> ApiError {
        if self.login.is_some() {
            ApiError::forbidden(internal)
        } else {
            ApiError::noauth(internal)
        }
    }

    /// Whoever is logged in (any app type), or E_NOAUTH.
    pub fn require_login(&self) -> ApiResult<&Login> {
        self.login.as_ref().ok_or_else(|| ApiError::noauth("not logged in"))
    }

    /// The logged-in buyer's id, or the refusal ("require auth to user": NOAUTH for a guest, FORBIDDEN
    /// for another kind of login). Hooks ask this instead of spelling the refusal out.
    pub fn require_user(&self) -> ApiResult<i64> {
        self.uid().ok_or_else(|| self.refuse("require auth to user"))
    }

    /// The logged-in employee's id, or the refusal ("require auth to employee").
    pub fn require_emp(&self) -> ApiResult<i64> {
        self.emp_id().ok_or_else(|| self.refuse("require auth to employee"))
    }

    /// Requires one of the permission bits.
    pub fn require(&self, bits: u32) -> ApiResult<()> {
        if self.has(bits) {
            Ok(())
        } else {
            Err(self.refuse(format!("require auth to {}", perm_names(bits))))
        }
    }
}

/// Names of permission bits for messages ("require auth to employee/admin").
pub fn perm_names(bits: u32) -> String {
    let names = [(perm::USER, "user"), (perm::EMP, "employee"), (perm::ADMIN, "admin"), (perm::TEST_MODE, "testmode")];
    let v: Vec<&str> = names.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n).collect();
    if v.is_empty() {
        "guest".into()
    } else {
        v.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_type_drops_one_trailing_number_or_word() {
        assert_eq!(AppType::of_app("emp-adm"), (AppType::Emp, "emp"));
        assert_eq!(AppType::of_app("user2"), (AppType::User, "user"));
        assert_eq!(AppType::of_app("admin"), (AppType::Admin, "admin"));
        assert_eq!(AppType::of_app("store").0, AppType::Other);
    }

    #[test]
    fn permission_words_come_from_the_login_and_failed_checks_depend_on_login() {
        let mut a = Auth::guest("emp", false);
        assert_eq!(a.require(perm::EMP).unwrap_err().code, crate::error::Code::NoAuth);
        assert_eq!(a.require_perm(Perm("mgr")).unwrap_err().code, crate::error::Code::NoAuth);
        a.login = Some(Login { session_id: 1, app_type: AppType::Emp, id: 3, roles: "emp, mgr".into() });
        assert!(a.may(Perm("mgr")) && a.may(Perm("emp")) && !a.may(Perm("checkin")));
        assert_eq!(a.role(), Role::Emp);
        assert_eq!(a.require(perm::ADMIN).unwrap_err().code, crate::error::Code::Forbidden);
        a.login = Some(Login { session_id: 2, app_type: AppType::Admin, id: 1, roles: String::new() });
        assert!(a.may(Perm("checkin")), "the platform admin holds every word");
        a.login = Some(Login { session_id: 3, app_type: AppType::User, id: 1, roles: "mgr".into() });
        assert!(!a.may(Perm("mgr")), "a buyer holds no staff word whatever its row says");
    }
}
