//! Verification codes sent by SMS: `genCode`, and the check used by code login and `chpwd`
//! (protocol §6.3 with decision §9.11).
//!
//! Codes are kept per phone in `VCode` (one row per phone, replaced by each new code), not in a
//! session, so a code asked for in one app or browser works in another. A code is valid for 5
//! minutes, a phone gets at most one new code per 60 seconds, a code works once, and 5 wrong tries
//! invalidate it. A wrong try is counted even though the failed call rolls back (see `Ctx::always`):
//! otherwise guessing would be free.

use rand::Rng;
use serde_json::json;

use super::session::{fmt_time, now, parse_time};
use super::sms;
use crate::api::auth::perm;
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::error::{ApiError, ApiResult, Code};
use crate::query::SqlValue;

/// Seconds a code stays valid.
pub const VALID_SECS: i64 = 300;
/// Seconds before the same phone may get a new code.
pub const RESEND_SECS: i64 = 60;
/// Wrong tries that invalidate a code.
pub const MAX_TRIES: i64 = 5;
/// The code every phone accepts in test mode (never outside it, decision §9.1).
pub const TEST_CODE: &str = "080909";
/// Longest code a client may ask for.
const MAX_LEN: usize = 16;

/// True for an 11-digit phone number.
pub fn is_phone(s: &str) -> bool {
    s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A new code of `kind`: a class letter and a length (`d6` six digits, `w4` four letters A-Z, `x6`
/// six characters of A-Z and 2-9 without the look-alikes O/I, any other letter 0-9A-Z).
pub fn generate(kind: &str) -> ApiResult<String> {
    let bad = || ApiError::bad_param(format!("Bad type '{kind}' for genCode"));
    let mut chars = kind.chars();
    let class = chars.next().filter(char::is_ascii_alphabetic).ok_or_else(bad)?;
    let len: usize = chars.as_str().parse().map_err(|_| bad())?;
    if len == 0 || len > MAX_LEN {
        return Err(bad());
    }
    let alphabet: &[u8] = match class {
        'd' => b"0123456789",
        'w' => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        'x' => b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789",
        _ => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    };
    let mut rng = rand::rng();
    Ok((0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect())
}

/// The stored code of a phone.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: i64,
    pub code: String,
    /// Unix seconds.
    pub created: i64,
    pub tries: i64,
    pub used: bool,
}

/// What a check of a given code against the stored one decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Correct: consume the code.
    Ok,
    /// No code for this phone, or it was used already.
    NotSent,
    /// Too many wrong tries: the code is dead.
    Exhausted,
    Expired,
    /// Wrong: count a try.
    Wrong,
}

/// The code state machine, free of storage so it can be tested on its own.
pub fn judge(stored: Option<&Stored>, given: &str, now: i64) -> Verdict {
    let Some(s) = stored.filter(|s| !s.used) else { return Verdict::NotSent };
    if s.tries >= MAX_TRIES {
        Verdict::Exhausted
    } else if now - s.created > VALID_SECS {
        Verdict::Expired
    } else if !s.code.eq_ignore_ascii_case(given.trim()) {
        Verdict::Wrong
    } else {
        Verdict::Ok
    }
}

/// The code last generated for a phone.
fn stored(ctx: &mut Ctx, phone: &str) -> ApiResult<Option<Stored>> {
    let mut out = None;
    ctx.query(
        "SELECT id, code, createTm, tries, usedTm FROM VCode WHERE phone=? ORDER BY id DESC LIMIT 1",
        &[phone.into()],
        |r| {
            let created: Option<String> = r.get(2)?;
            out = Some(Stored {
                id: r.get(0)?,
                code: r.get::<Option<String>>(1)?.unwrap_or_default(),
                created: created.as_deref().and_then(parse_time).unwrap_or(0),
                tries: r.get::<Option<i64>>(3)?.unwrap_or(0),
                used: r.get::<Option<String>>(4)?.is_some(),
            });
            Ok(())
        },
    )?;
    Ok(out)
}

/// Checks a code sent to `phone` and consumes it (inside the call's transaction). Errors carry the
/// reference's messages.
pub fn check(ctx: &mut Ctx, phone: &str, given: &str) -> ApiResult<()> {
    if given == TEST_CODE && ctx.auth.has(perm::TEST_MODE) {
        return Ok(());
    }
    let s = stored(ctx, phone)?;
    match judge(s.as_ref(), given, now()) {
        Verdict::Ok => {
            let id = s.map(|s| s.id).unwrap_or(0);
            ctx.exec("UPDATE VCode SET usedTm=? WHERE id=?", &[fmt_time(now()).into(), SqlValue::Int(id)])?;
            Ok(())
        }
        Verdict::NotSent => Err(ApiError::with_msg(Code::Forbidden, "请先发送验证码!").internal("gencode required")),
        Verdict::Exhausted => Err(ApiError::with_msg(Code::Forbidden, "验证码错误次数过多，请重新发送验证码")
            .internal(format!("code invalid after {MAX_TRIES} wrong tries"))),
        Verdict::Expired => {
            Err(ApiError::with_msg(Code::Forbidden, "验证码已过期(有效期5分钟)").internal("code expires (max 5min)"))
        }
        Verdict::Wrong => {
            let id = s.map(|s| s.id).unwrap_or(0);
            // The call fails and rolls back; the try must be counted anyway.
            ctx.always(move |conn| {
                conn.execute("UPDATE VCode SET tries=COALESCE(tries,0)+1 WHERE id=?", [id]).map(|_| ())
            });
            Err(ApiError::param("验证码错误").internal("bad code"))
        }
    }
}

/// `genCode(phone, type?="d6", debug?) -> {code}?`: makes a code for the phone and sends it by SMS;
/// with `debug=1` (test mode only) returns it instead of sending it.
pub fn gen_code(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let phone = p.must_str("phone")?;
    if !is_phone(&phone) {
        return Err(ApiError::param("手机号不合法").internal("bad phone number"));
    }
    let debug = p.flag("debug")?;
    if debug && !ctx.auth.has(perm::TEST_MODE) {
        return Err(ApiError::forbidden("genCode(debug) requires test mode"));
    }
    let kind = p.str("type").unwrap_or_else(|| "d6".into());
    let code = generate(&kind)?;
    let t = now();
    let prev = stored(ctx, &phone)?;
    if let Some(prev) = &prev {
        if !debug && t - prev.created < RESEND_SECS {
            return Err(ApiError::with_msg(Code::Forbidden, "60秒内只能生成一次验证码")
                .internal("gencode is not allowed to call again in 60s"));
        }
    }
    let tm = fmt_time(t);
    match prev {
        Some(prev) => ctx.exec(
            "UPDATE VCode SET code=?, type=?, createTm=?, tries=0, usedTm=NULL WHERE id=?",
            &[code.clone().into(), kind.into(), tm.into(), SqlValue::Int(prev.id)],
        )?,
        None => ctx.exec(
            "INSERT INTO VCode (phone, code, type, createTm, tries) VALUES (?,?,?,?,0)",
            &[phone.clone().into(), code.clone().into(), kind.into(), tm.into()],
        )?,
    };
    if debug {
        return Ok(Reply::Data(json!({ "code": code })));
    }
    let sender = ctx.state.sms.clone();
    ctx.after_commit(move |_| {
        if let Err(e) = sender.send(&phone, &sms::code_text(&code)) {
            log::warn!(target: "sms", "sending a code to {phone} failed: {e}");
        }
    });
    Ok(Reply::Data(json!("OK")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(code: &str, created: i64, tries: i64, used: bool) -> Stored {
        Stored { id: 1, code: code.into(), created, tries, used }
    }

    #[test]
    fn codes_have_the_class_and_length_asked_for() {
        let d = generate("d6").unwrap();
        assert_eq!(d.len(), 6);
        assert!(d.bytes().all(|b| b.is_ascii_digit()));
        let w = generate("w4").unwrap();
        assert_eq!(w.len(), 4);
        assert!(w.bytes().all(|b| b.is_ascii_uppercase()));
        for _ in 0..50 {
            let x = generate("x8").unwrap();
            assert!(x.bytes().all(|b| b.is_ascii_alphanumeric() && !b"01OI".contains(&b)), "{x}");
        }
        let z = generate("z10").unwrap();
        assert!(z.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
    }

    #[test]
    fn malformed_or_huge_types_are_refused() {
        for t in ["", "d", "d0", "6", "dx", "d-1", "d17", "中6"] {
            assert!(generate(t).is_err(), "{t}");
        }
    }

    #[test]
    fn a_fresh_code_verifies_once_ignoring_case() {
        let s = stored("AB12", 1000, 0, false);
        assert_eq!(judge(Some(&s), "ab12", 1000 + VALID_SECS), Verdict::Ok);
        let used = stored("AB12", 1000, 0, true);
        assert_eq!(judge(Some(&used), "AB12", 1001), Verdict::NotSent);
        assert_eq!(judge(None, "AB12", 1001), Verdict::NotSent);
    }

    #[test]
    fn codes_expire_after_five_minutes() {
        let s = stored("123456", 1000, 0, false);
        assert_eq!(judge(Some(&s), "123456", 1000 + VALID_SECS + 1), Verdict::Expired);
    }

    #[test]
    fn five_wrong_tries_kill_the_code_even_for_the_right_answer() {
        let s = stored("123456", 1000, MAX_TRIES - 1, false);
        assert_eq!(judge(Some(&s), "654321", 1001), Verdict::Wrong);
        let s = stored("123456", 1000, MAX_TRIES, false);
        assert_eq!(judge(Some(&s), "123456", 1001), Verdict::Exhausted);
    }

    #[test]
    fn phones_have_eleven_digits() {
        assert!(is_phone("13812345678"));
        for p in ["1381234567", "138123456789", "1381234567a", ""] {
            assert!(!is_phone(p), "{p}");
        }
    }
}
