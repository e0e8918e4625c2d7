//! `chpwd(oldpwd|code, pwd)` and the forgotten-password form `chpwd(phone, code|oldpwd, pwd)`
//! (protocol §6.3 with decisions §9.9, §9.10).
//!
//! The caller proves the account with its current password, or with a code sent to the account's
//! phone; a user registered by code less than an hour ago may use `oldpwd=_none` (its password is a
//! random one it never saw). Without a login, `phone` names the account (forgotten password); then
//! `_none` is refused, because anyone could name a new user's phone. On success every earlier token
//! of the account is revoked and the caller gets a fresh one (cookie + `{_token, _expire}`).

use serde_json::Value;

use super::accounts::Accounts;
use super::login::start_session;
use super::password::Check;
use super::pwd_work;
use super::{code, pwd_dict, session};
use crate::api::auth::AppType;
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// How long after registration `oldpwd=_none` is accepted.
const NONE_WINDOW_SECS: i64 = 3600;

/// The account row chpwd works on.
struct Account {
    id: i64,
    phone: Option<String>,
    stored: Option<String>,
    /// User.createTm (unix seconds); employees have none.
    created: Option<i64>,
    roles: String,
}

fn load(ctx: &mut Ctx, acc: &Accounts, by: &str, value: SqlValue) -> ApiResult<Option<Account>> {
    let (created, roles) = (acc.created_col.unwrap_or("NULL"), acc.roles_col.unwrap_or("''"));
    let sql = format!("SELECT id, phone, pwd, {created}, {roles} FROM {} WHERE {by}=? ORDER BY id LIMIT 1", acc.table);
    let mut out = None;
    ctx.query(&sql, &[value], |r| {
        let created: Option<String> = r.get(3)?;
        let roles: Option<String> = r.get(4)?;
        out = Some(Account {
            id: r.get(0)?,
            phone: r.get(1)?,
            stored: r.get(2)?,
            created: created.as_deref().and_then(session::parse_time),
            roles: roles.filter(|s| !s.is_empty()).unwrap_or_else(|| acc.default_roles.to_string()),
        });
        Ok(())
    })?;
    Ok(out)
}

fn bad_password() -> ApiError {
    ApiError::authfail("密码验证失败").internal("bad password")
}

/// `chpwd`.
pub fn chpwd(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let app_type = ctx.auth.app_type;
    if app_type == AppType::Admin {
        return Err(ApiError::forbidden("the admin password is set by P_ADMIN_CRED"));
    }
    let Some(acc) = ctx.state.objects.accounts(app_type).copied() else {
        return Err(ApiError::bad_param(format!("chpwd is not supported for app `{}`", ctx.auth.app)));
    };
    let table = acc.table;
    let pwd = p.must_str("pwd")?;
    let forgotten = p.str("phone");
    let account = match &forgotten {
        Some(phone) => load(ctx, &acc, "phone", phone.clone().into())?
            .ok_or_else(|| ApiError::authfail("手机号未注册").internal("bad user"))?,
        None => {
            let id = match &ctx.auth.login {
                Some(l) if l.app_type == app_type => l.id,
                _ => return Err(ctx.auth.refuse(format!("require auth to {}", acc.noun))),
            };
            load(ctx, &acc, "id", SqlValue::Int(id))?.ok_or_else(|| ApiError::noauth("account is gone"))?
        }
    };

    match (p.str("oldpwd"), p.str("code")) {
        (Some(old), _) if old == "_none" => {
            let fresh = account.created.is_some_and(|c| session::now() - c < NONE_WINDOW_SECS);
            if forgotten.is_some() || !fresh {
                return Err(bad_password());
            }
        }
        (Some(old), _) => {
            if pwd_work::verify(p, &old, account.stored.as_deref().unwrap_or("")) == Check::Wrong {
                return Err(bad_password());
            }
        }
        (None, Some(c)) => {
            let phone = account
                .phone
                .clone()
                .filter(|ph| !ph.is_empty())
                .ok_or_else(|| ApiError::param("未绑定手机号, 不能用验证码修改密码"))?;
            code::check(ctx, &phone, &c)?;
        }
        (None, None) => return Err(ApiError::missing("oldpwd|code")),
    }

    ctx.exec(
        &format!("UPDATE {table} SET pwd=? WHERE id=?"),
        &[pwd_work::hash(p, &pwd).into(), SqlValue::Int(account.id)],
    )?;
    crate::log::objlog::row(ctx, table, Some(account.id), "更新")?;
    pwd_dict::record(ctx, &pwd)?;
    // Whoever held a token of this account before the change holds nothing now.
    session::Sessions::revoke(ctx, app_type, account.id, None, None)?;
    let out = start_session(ctx, app_type, account.id, &account.roles)?;
    Ok(Reply::Data(Value::Object(out)))
}
