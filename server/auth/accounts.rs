//! Where the accounts of each app type live. The product declares them (`Registry::declare_accounts`);
//! login, chpwd, the sessions and the password work read the declaration, so the account functions name
//! no table of the product.

use crate::api::auth::AppType;

/// The account table of one app type (users, staff). Every account table has `id`, `phone`, `uname`
/// and `pwd`; the rest is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accounts {
    /// The app type whose logins are these accounts.
    pub app_type: AppType,
    /// The table (`User`, `Employee`).
    pub table: &'static str,
    /// The column of the account's permission words, copied into its sessions (`perms`).
    pub roles_col: Option<&'static str>,
    /// The words of an account whose roles column is empty (`emp`).
    pub default_roles: &'static str,
    /// A flag column that, when set, refuses the account's logins (`disableFlag`).
    pub disabled_col: Option<&'static str>,
    /// The registration time, which bounds `chpwd(oldpwd=_none)` (`createTm`).
    pub created_col: Option<&'static str>,
    /// A code login of an unknown phone registers a new account (with `name` and `created_col`).
    pub self_register: bool,
    /// The refusal of a wrong login name or password.
    pub login_failed: &'static str,
    /// The word for the account in refusals ("require auth to user").
    pub noun: &'static str,
}

/// The accounts of an app type, or the refusal for an app type without any (admin, unknown apps).
pub fn of(ctx: &crate::api::ctx::Ctx, t: AppType) -> crate::error::ApiResult<Accounts> {
    ctx.state
        .objects
        .accounts(t)
        .copied()
        .ok_or_else(|| crate::error::ApiError::bad_param(format!("no accounts for app type `{}`", t.name())))
}
