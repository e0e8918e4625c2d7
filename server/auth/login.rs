//! `login`, `logout`, `whoami`, `refreshToken` (protocol §6.3 with decisions §9.9, §9.10, §9.11).
//!
//! The app type of the call decides who logs in: the accounts the product declared for it (`user` →
//! its users, `emp` → its staff, see `auth::accounts`), or for `admin` the `P_ADMIN_CRED` credential. A user or employee proves itself with a password or with a code sent
//! to its phone; a user's first code login registers it. A login issues a server-side token
//! (cookie + `_token`).

use base64::Engine;
use serde_json::{json, Map, Value};

use super::accounts::{self, Accounts};
use super::code;
use super::password::{self, Check};
use super::pwd_work;
use super::session::{self, Sessions};
use crate::api::auth::{AppType, Login};
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::crud::{self, Op};
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

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

/// Issues a token for an identity, makes it the call's login and sets the cookie:
/// `{_token, _expire}`.
pub fn start_session(ctx: &mut Ctx, app_type: AppType, id: i64, roles: &str) -> ApiResult<Map<String, Value>> {
    let life = ctx.state.config.token_life;
    let app = ctx.auth.app.clone();
    let issued = Sessions::issue(ctx, &app, app_type, id, roles, life)?;
    ctx.auth.login = Some(Login { session_id: issued.session_id, app_type, id, roles: roles.to_string() });
    ctx.auth.token = Some(issued.token.clone());
    ctx.set_cookie.push(session::cookie(app_type, Some(&issued.token), life));
    let mut out = Map::new();
    out.insert("_token".into(), json!(issued.token));
    out.insert("_expire".into(), json!(issued.expire));
    Ok(out)
}

/// Starts a session and builds the login reply: the caller's object plus `_token`, `_expire`.
pub fn complete_login(ctx: &mut Ctx, app_type: AppType, id: i64, roles: &str) -> ApiResult<Map<String, Value>> {
    let token = start_session(ctx, app_type, id, roles)?;
    let mut out = self_info(ctx)?;
    out.extend(token);
    Ok(out)
}

/// What `whoami` and `login` return about the caller.
fn self_info(ctx: &mut Ctx) -> ApiResult<Map<String, Value>> {
    let login = ctx.auth.require_login()?.clone();
    let obj = match ctx.state.objects.accounts(login.app_type) {
        Some(a) => a.table,
        None => {
            let uname =
                ctx.state.config.admin_cred.as_deref().and_then(|c| c.split_once(':')).map(|(u, _)| u.to_string());
            let mut m = Map::new();
            m.insert("id".into(), json!(login.id));
            m.insert("uname".into(), json!(uname.unwrap_or_else(|| "admin".into())));
            return Ok(m);
        }
    };
    // The caller's own row as its role's object shows it (hidden fields stay hidden), read directly
    // with a built request rather than through the public call path.
    let only_id = || Ok([("id".to_string(), json!(login.id))].into_iter().collect());
    let Ok(object) = crud::registry::resolve(ctx, obj) else { return only_id() };
    // An app object may not expose `get` to its own role; the id is still worth returning.
    if !object.decl().allows(Op::Get) {
        return only_id();
    }
    let table = crud::registry::table_of(ctx, object.as_ref())?;
    let req = crud::select::ReadReq::default();
    match crud::read::get_with(ctx, object.as_ref(), table, login.id, &req, &Params::default()) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::server("get returned no object")),
        Err(_) => only_id(),
    }
}

/// An account row found by a login.
struct Account {
    id: i64,
    stored: Option<String>,
    roles: String,
    /// A disabled employee (`disableFlag`) cannot log in.
    disabled: bool,
}

/// Finds a user or employee by phone (names starting with a digit) or by uname.
fn find_account(ctx: &mut Ctx, acc: &Accounts, uname: &str) -> ApiResult<Option<Account>> {
    let by = if uname.starts_with(|c: char| c.is_ascii_digit()) { "phone" } else { "uname" };
    let roles_col = acc.roles_col.unwrap_or("''");
    let disabled = acc.disabled_col.map(|c| format!("COALESCE({c},0)")).unwrap_or_else(|| "0".into());
    let sql = format!("SELECT id, pwd, {roles_col}, {disabled} FROM {} WHERE {by}=? ORDER BY id LIMIT 1", acc.table);
    let mut found = None;
    ctx.query(&sql, &[SqlValue::Text(uname.to_string())], |r| {
        let roles: Option<String> = r.get(2)?;
        let disabled: i64 = r.get(3)?;
        found = Some(Account {
            id: r.get(0)?,
            stored: r.get(1)?,
            roles: roles.unwrap_or_default(),
            disabled: disabled != 0,
        });
        Ok(())
    })?;
    Ok(found.map(|mut a| {
        if a.roles.is_empty() {
            a.roles = acc.default_roles.into();
        }
        a
    }))
}

fn refuse_disabled(a: &Account) -> ApiResult<()> {
    if a.disabled {
        return Err(ApiError::authfail("账号已禁用, 请联系经理").internal(format!("employee {} is disabled", a.id)));
    }
    Ok(())
}

/// `用户138****5678`: the name an auto-registered user starts with.
pub fn masked_name(phone: &str) -> String {
    match (phone.get(..3), phone.get(7..)) {
        (Some(a), Some(b)) if phone.len() == 11 => format!("用户{a}****{b}"),
        _ => format!("用户{phone}"),
    }
}

/// Registers a user who proved a phone with a code. The account has no password yet
/// ([`password::NO_PASSWORD`], which never verifies), so it cannot be entered by password until the
/// user sets one (`chpwd(oldpwd=_none)` within an hour, or by code later). Nothing is hashed here: this
/// runs on the writer thread, and a sale-day rush of new buyers must not queue behind Argon2.
fn register_user(ctx: &mut Ctx, acc: &Accounts, phone: &str) -> ApiResult<i64> {
    let created = acc.created_col.unwrap_or("createTm");
    let id = ctx.insert(
        &format!("INSERT INTO {} (phone, name, pwd, {created}) VALUES (?,?,?,?)", acc.table),
        &[phone.into(), masked_name(phone).into(), password::NO_PASSWORD.into(), crate::db::now_str().into()],
    )?;
    crate::log::objlog::row(ctx, acc.table, Some(id), "添加")?;
    Ok(id)
}

/// `login(uname, pwd|code, wantAll?)` / `login(token)`.
///
/// `wantAll` is accepted for clients of the seed design; the full `User.get`/`Employee.get` object is
/// always returned, as the reference does.
pub fn login(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let app_type = ctx.auth.app_type;
    p.bool("wantAll")?;
    if let Some(token) = p.str("token") {
        let login = ctx
            .state
            .sessions
            .lookup(&ctx.state.db, &token, app_type)?
            .ok_or_else(|| ApiError::authfail("Bad login token!"))?;
        ctx.auth.login = Some(login);
        ctx.set_cookie.push(session::cookie(app_type, Some(&token), ctx.state.config.token_life));
        ctx.auth.token = Some(token);
        return Ok(Reply::Data(Value::Object(self_info(ctx)?)));
    }
    let uname = p.must_str("uname")?;
    if app_type == AppType::Admin {
        let pwd = p.must_str("pwd")?;
        if !admin_ok(ctx.state.config.admin_cred.as_deref(), &uname, &pwd)? {
            return Err(ApiError::authfail("用户名或密码错误"));
        }
        return Ok(Reply::Data(Value::Object(complete_login(ctx, AppType::Admin, 1, "")?)));
    }
    let acc = accounts::of(ctx, app_type)?;
    let fail = acc.login_failed;
    if let Some(given) = p.str("code") {
        // A code proves the phone: no password needed, and a new phone becomes a new user.
        if !code::is_phone(&uname) {
            return Err(ApiError::param("手机号不合法").internal("code login needs a phone number"));
        }
        code::check(ctx, &uname, &given)?;
        if let Some(a) = find_account(ctx, &acc, &uname)? {
            refuse_disabled(&a)?;
            return Ok(Reply::Data(Value::Object(complete_login(ctx, app_type, a.id, &a.roles)?)));
        }
        if !acc.self_register {
            return Err(ApiError::authfail(fail).internal(format!("no {} with this phone", acc.noun)));
        }
        let id = register_user(ctx, &acc, &uname)?;
        let mut out = complete_login(ctx, app_type, id, "")?;
        out.insert("_isNew".into(), json!(1));
        return Ok(Reply::Data(Value::Object(out)));
    }
    let pwd = p.str("pwd").ok_or_else(|| ApiError::missing("pwd"))?;
    let Some(a) = find_account(ctx, &acc, &uname)? else { return Err(ApiError::authfail(fail)) };
    match pwd_work::verify(p, &pwd, a.stored.as_deref().unwrap_or("")) {
        Check::Wrong => return Err(ApiError::authfail(fail)),
        // Only a correct password learns that the account is disabled.
        _ if a.disabled => refuse_disabled(&a)?,
        Check::Ok => {}
        Check::OkRehash => {
            ctx.exec(
                &format!("UPDATE {} SET pwd=? WHERE id=?", acc.table),
                &[pwd_work::hash(p, &pwd).into(), SqlValue::Int(a.id)],
            )?;
        }
    }
    Ok(Reply::Data(Value::Object(complete_login(ctx, app_type, a.id, &a.roles)?)))
}

/// A token younger than this is handed back by `refreshToken` instead of a new one.
pub const REFRESH_AFTER: i64 = 30 * 60;

/// `refreshToken() -> {_token, _expire}`: a new token (the current one is revoked), unless the
/// current one was issued less than 30 minutes ago; then the current one with its remaining life.
pub fn refresh_token(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    let login = ctx.auth.require_login()?.clone();
    let t = session::now();
    if let Some(token) = ctx.auth.token.clone() {
        let mut times = None;
        ctx.query("SELECT createTm, expireTm FROM Session WHERE id=?", &[SqlValue::Int(login.session_id)], |r| {
            let (c, e): (Option<String>, Option<String>) = (r.get(0)?, r.get(1)?);
            times = Some((
                c.as_deref().and_then(session::parse_time).unwrap_or(0),
                e.as_deref().and_then(session::parse_time).unwrap_or(0),
            ));
            Ok(())
        })?;
        if let Some((created, expire)) = times {
            if t - created < REFRESH_AFTER {
                return Ok(Reply::Data(json!({"_token": token, "_expire": (expire - t).max(0)})));
            }
        }
    }
    Sessions::revoke(ctx, login.app_type, login.id, Some(login.session_id), None)?;
    let out = start_session(ctx, login.app_type, login.id, &login.roles)?;
    Ok(Reply::Data(Value::Object(out)))
}

/// `logout()`: revokes the current token and clears the cookie.
pub fn logout(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    if let Some(l) = ctx.auth.login.clone() {
        Sessions::revoke(ctx, l.app_type, l.id, Some(l.session_id), None)?;
        ctx.set_cookie.push(session::cookie(l.app_type, None, 0));
    }
    ctx.auth.login = None;
    ctx.auth.token = None;
    Ok(Reply::Data(json!("OK")))
}

/// `whoami()`.
pub fn whoami(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    ctx.auth.require_login()?;
    Ok(Reply::Data(Value::Object(self_info(ctx)?)))
}
