//! `login`, `logout`, `whoami` (protocol §6.3 with decisions §9.9, §9.10).
//!
//! The app type of the call decides who logs in: `user` → User, `emp` → Employee, `admin` → the
//! `P_ADMIN_CRED` credential. A login issues a server-side token (cookie + `_token`).

use base64::Engine;
use serde_json::{json, Map, Value};

use super::password::{self, Check};
use super::session::{self, Sessions};
use crate::api::auth::{AppType, Login};
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::crud::{self, Op};
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// The table and failure message of a password login for an app type.
fn account_table(t: AppType) -> ApiResult<(&'static str, &'static str)> {
    match t {
        AppType::User => Ok(("User", "手机号或密码错误")),
        AppType::Emp => Ok(("Employee", "用户名或密码错误")),
        _ => Err(ApiError::bad_param(format!("login is not supported for app type `{}`", t.name()))),
    }
}

/// Checks `P_ADMIN_CRED` (`user:pwd` or its base64).
fn admin_ok(cred: Option<&str>, uname: &str, pwd: &str) -> ApiResult<bool> {
    let Some(cred) = cred else {
        return Err(ApiError::authfail("超级管理员用户未设置，不可登录。"));
    };
    let plain = if cred.contains(':') {
        cred.to_string()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(cred)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    };
    let Some((u, p)) = plain.split_once(':') else {
        return Err(ApiError::server("P_ADMIN_CRED must be `user:pwd`"));
    };
    // The admin password may also be sent in md5 form, like every other password.
    Ok(u == uname && (p == pwd || password::normalise(p) == password::normalise(pwd)))
}

/// Sets the login on the context, issues its token and cookie, and builds the login reply.
pub fn complete_login(ctx: &mut Ctx, app_type: AppType, id: i64, roles: &str) -> ApiResult<Map<String, Value>> {
    let life = ctx.state.config.token_life;
    let app = ctx.auth.app.clone();
    let issued = Sessions::issue(ctx, &app, app_type, id, roles, life)?;
    ctx.auth.login = Some(Login { session_id: issued.session_id, app_type, id, roles: roles.to_string() });
    ctx.set_cookie.push(session::cookie(app_type, Some(&issued.token), life));
    let mut out = self_info(ctx)?;
    out.insert("_token".into(), json!(issued.token));
    out.insert("_expire".into(), json!(issued.expire));
    Ok(out)
}

/// What `whoami` and `login` return about the caller.
fn self_info(ctx: &mut Ctx) -> ApiResult<Map<String, Value>> {
    let login = ctx.auth.login.clone().ok_or_else(|| ApiError::noauth("not logged in"))?;
    let obj = match login.app_type {
        AppType::User => "User",
        AppType::Emp => "Employee",
        _ => {
            let uname =
                ctx.state.config.admin_cred.as_deref().and_then(|c| c.split_once(':')).map(|(u, _)| u.to_string());
            let mut m = Map::new();
            m.insert("id".into(), json!(login.id));
            m.insert("uname".into(), json!(uname.unwrap_or_else(|| "admin".into())));
            return Ok(m);
        }
    };
    let mut url = Map::new();
    url.insert("id".into(), json!(login.id));
    match crud::run(ctx, obj, Op::Get, &Params::from_url(url)) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::server("get returned no object")),
        // An app object may not expose `get` to its own role; the id is still worth returning.
        Err(_) => Ok([("id".to_string(), json!(login.id))].into_iter().collect()),
    }
}

/// `login(uname, pwd)` / `login(token)`.
pub fn login(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let app_type = ctx.auth.app_type;
    if let Some(token) = p.str("token") {
        let login = ctx
            .state
            .sessions
            .lookup(&ctx.state.db, &token, app_type)?
            .ok_or_else(|| ApiError::authfail("Bad login token!"))?;
        ctx.auth.login = Some(login);
        ctx.set_cookie.push(session::cookie(app_type, Some(&token), ctx.state.config.token_life));
        return Ok(Reply::Data(Value::Object(self_info(ctx)?)));
    }
    let uname = p.must_str("uname")?;
    let pwd = p.must_str("pwd")?;
    if app_type == AppType::Admin {
        if !admin_ok(ctx.state.config.admin_cred.as_deref(), &uname, &pwd)? {
            return Err(ApiError::authfail("用户名或密码错误"));
        }
        return Ok(Reply::Data(Value::Object(complete_login(ctx, AppType::Admin, 1, "")?)));
    }
    let (table, fail) = account_table(app_type)?;
    let by = if uname.starts_with(|c: char| c.is_ascii_digit()) { "phone" } else { "uname" };
    let roles_col = if app_type == AppType::Emp { "perms" } else { "''" };
    let sql = format!("SELECT id, pwd, {roles_col} FROM {table} WHERE {by}=? ORDER BY id LIMIT 1");
    let mut found: Option<(i64, Option<String>, Option<String>)> = None;
    ctx.query(&sql, &[SqlValue::Text(uname)], |r| {
        found = Some((r.get(0)?, r.get(1)?, r.get(2)?));
        Ok(())
    })?;
    let Some((id, stored, roles)) = found else { return Err(ApiError::authfail(fail)) };
    match password::verify(&pwd, stored.as_deref().unwrap_or("")) {
        Check::Wrong => return Err(ApiError::authfail(fail)),
        Check::Ok => {}
        Check::OkRehash => {
            ctx.exec(
                &format!("UPDATE {table} SET pwd=? WHERE id=?"),
                &[password::hash(&pwd).into(), SqlValue::Int(id)],
            )?;
        }
    }
    let roles = roles.unwrap_or_default();
    let roles = if app_type == AppType::Emp && roles.is_empty() { "emp".to_string() } else { roles };
    Ok(Reply::Data(Value::Object(complete_login(ctx, app_type, id, &roles)?)))
}

/// `logout()`: revokes the current token and clears the cookie.
pub fn logout(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    if let Some(l) = ctx.auth.login.clone() {
        Sessions::revoke(ctx, l.app_type, l.id, Some(l.session_id), None)?;
        ctx.set_cookie.push(session::cookie(l.app_type, None, 0));
    }
    ctx.auth.login = None;
    Ok(Reply::Data(json!("OK")))
}

/// `whoami()`.
pub fn whoami(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    if ctx.auth.login.is_none() {
        return Err(ApiError::noauth("not logged in"));
    }
    Ok(Reply::Data(Value::Object(self_info(ctx)?)))
}
