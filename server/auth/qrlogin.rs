//! QR login (design/framework.md 扫码登录; seeds 001/002): a desktop page asks for a one-time request, shows
//! its QR code, the buyer's logged-in phone confirms it, and the desktop's next poll receives a session of its
//! own. A request lives 2 minutes and logs in once: both steps are conditional updates of its row
//! (`WA → OK` on confirm, `OK → US` on the poll that logs in), so a replay or a race finds nothing to take.

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use crate::api::auth::AppType;
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::error::{ApiError, ApiResult, Code};

/// How long a request may wait for its confirmation.
pub const LIFE_SECS: i64 = 120;

fn now() -> String {
    crate::db::now_str()
}

fn plus(now: &str, secs: i64) -> String {
    NaiveDateTime::parse_from_str(now, "%Y-%m-%d %H:%M:%S")
        .map(|t| crate::db::datetime_text(&(t + Duration::seconds(secs))))
        .unwrap_or_else(|_| now.to_string())
}

/// 128 random bits in Crockford base32 (26 characters).
fn new_id() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut v: u128 = rand::random();
    let mut out = [0u8; 26];
    for c in out.iter_mut().rev() {
        *c = ALPHABET[(v & 31) as usize];
        v >>= 5;
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// The phone page that confirms a request.
fn confirm_path(qr: &str) -> String {
    format!("/m2/#qr/{qr}")
}

/// `qrLogin.create()` → `{qrId, url, expireTm}` (user app only, no login needed).
pub fn create(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    if ctx.auth.app_type != AppType::User {
        return Err(ApiError::param("只有用户端支持扫码登录"));
    }
    let (qr, t) = (new_id(), now());
    let expire = plus(&t, LIFE_SECS);
    ctx.exec(
        "INSERT INTO QrLogin (qrId, app, status, createTm, expireTm) VALUES (?, ?, 'WA', ?, ?)",
        &[qr.clone().into(), ctx.auth.app.clone().into(), t.into(), expire.clone().into()],
    )?;
    Ok(Reply::Data(json!({"qrId": qr, "url": confirm_path(&qr), "expireTm": expire})))
}

/// `qrLogin.qr(qrId)`: the request's QR code (a PNG of the absolute confirm URL, from the Host header).
pub fn qr(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let qr = p.must_str("qrId")?;
    if ctx.scalar_int("SELECT id FROM QrLogin WHERE qrId=?", &[qr.clone().into()])?.is_none() {
        return Err(ApiError::param("扫码登录请求不存在"));
    }
    let host = p.header("host").unwrap_or("127.0.0.1:8080");
    crate::export::qr::reply(&format!("http://{host}{}", confirm_path(&qr)), 120)
}

/// `qrLogin.confirm(qrId)`: the logged-in phone approves the desktop's request.
pub fn confirm(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let uid = ctx.auth.require_user()?;
    let qr = p.must_str("qrId")?;
    let t = now();
    let n = ctx.exec(
        "UPDATE QrLogin SET status='OK', userId=?, confirmTm=? WHERE qrId=? AND status='WA' AND expireTm>?",
        &[uid.into(), t.clone().into(), qr.clone().into(), t.into()],
    )?;
    if n == 1 {
        return Ok(Reply::Data(json!("OK")));
    }
    let status = ctx.scalar("SELECT status FROM QrLogin WHERE qrId=?", &[qr.into()])?;
    let msg = match status {
        None => "扫码登录请求不存在",
        Some(crate::query::SqlValue::Text(s)) if s == "WA" => "二维码已过期, 请在电脑上刷新",
        Some(_) => "该二维码已使用",
    };
    Err(ApiError::with_msg(Code::Forbidden, msg))
}

/// `qrLogin.poll(qrId)` → `{status: wait | ok | expired}`; with `ok` the caller is logged in as the buyer
/// who confirmed (the reply of `login` besides `status`).
pub fn poll(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let qr = p.must_str("qrId")?;
    let t = now();
    let mut row = None;
    ctx.query("SELECT status, expireTm, userId FROM QrLogin WHERE qrId=?", &[qr.clone().into()], |r| {
        row = Some((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<Option<i64>>(2)?));
        Ok(())
    })?;
    let Some((status, expire, user)) = row else { return Err(ApiError::param("扫码登录请求不存在")) };
    let state = |s: &str| Reply::Data(json!({ "status": s }));
    match status.as_str() {
        "WA" if expire > t => Ok(state("wait")),
        "OK" => {
            // Taken once: a second poll (or a copy of this one) finds it used.
            let n = ctx.exec(
                "UPDATE QrLogin SET status='US', usedTm=? WHERE qrId=? AND status='OK'",
                &[t.into(), qr.into()],
            )?;
            let Some(uid) = user.filter(|_| n == 1) else { return Ok(state("expired")) };
            let mut out = super::login::complete_login(ctx, AppType::User, uid, "")?;
            out.insert("status".into(), Value::from("ok"));
            Ok(Reply::Data(Value::Object(out)))
        }
        _ => Ok(state("expired")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_26_characters_and_differ() {
        let a = new_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, new_id());
        assert_eq!(plus("2026-12-01 23:59:00", LIFE_SECS), "2026-12-02 00:01:00");
    }
}
