//! Accounts through real HTTP (issue 3 points 1-4): tokens and sessions, verification codes, login
//! by password or code, chpwd and the forgotten password.

use serde_json::{json, Value};

use crate::helpers::{ago, qs, spawn_app, spawn_with, Body, TestApp};

const EMP: (&str, &str) = ("_app", "emp");

/// Calls `ac` with `Authorization: Bearer` and no cookies.
pub fn bearer(app: &mut TestApp, token: &str, ac: &str, url: &[(&str, &str)], body: Body) -> Value {
    let path = if url.is_empty() { format!("/api/{ac}") } else { format!("/api/{ac}?{}", qs(url)) };
    let auth = format!("Bearer {token}");
    let mut h = vec![("Authorization", auth.as_str()), ("Cookie", "none=1")];
    let (method, bytes) = match body {
        Body::None => ("GET", Vec::new()),
        Body::Form(f) => {
            h.push(("Content-Type", "application/x-www-form-urlencoded"));
            ("POST", qs(f).into_bytes())
        }
        Body::Json(v) => {
            h.push(("Content-Type", "application/json"));
            ("POST", serde_json::to_vec(&v).unwrap())
        }
        Body::Raw(ct, b) => {
            h.push(("Content-Type", ct));
            ("POST", b)
        }
    };
    app.request(method, &path, &h, &bytes).json()
}

/// A code for `phone` through `genCode(debug=1)` (test mode).
pub fn code_for(app: &mut TestApp, phone: &str) -> String {
    let v = app.ok("genCode", &[("phone", phone), ("debug", "1")], Body::None);
    v["code"].as_str().unwrap().to_string()
}

/// Logs a user in by code (registering it when new); returns the login reply.
pub fn login_by_code(app: &mut TestApp, phone: &str) -> Value {
    let code = code_for(app, phone);
    app.ok("login", &[], Body::Form(&[("uname", phone), ("code", &code)]))
}

/// Logs a user in by password, returns its token.
fn token_of(app: &mut TestApp, url: &[(&str, &str)], uname: &str, pwd: &str) -> String {
    let v = app.ok("login", url, Body::Form(&[("uname", uname), ("pwd", pwd)]));
    v["_token"].as_str().unwrap().to_string()
}

fn vcode(app: &mut TestApp, phone: &str) -> Value {
    app.sql(&format!("SELECT code, tries, usedTm FROM VCode WHERE phone='{phone}'"))[0].clone()
}

// ---- sessions and tokens (9.10) ----

#[test]
fn a_token_survives_a_restart_and_an_old_one_is_refreshed_into_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keep.db");
    let (d1, d2) = (db.clone(), db.clone());
    let (token, uid) = {
        let mut app = spawn_with(move |c| c.db_path = d1);
        let v = login_by_code(&mut app, "13800000001");
        let token = v["_token"].as_str().unwrap().to_string();
        // Age the session as if it had been issued an hour ago and last used then.
        app.sql(&format!("UPDATE Session SET createTm={0}, lastTm={0}", ago(3600)));
        (token, v["id"].clone())
    };
    let mut app = spawn_with(move |c| c.db_path = d2);
    let v = bearer(&mut app, &token, "whoami", &[], Body::None);
    assert_eq!(v[0], json!(0), "{v}");
    assert_eq!(v[1]["id"], uid);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM Session WHERE lastTm>={}", ago(60))),
        1,
        "a stale lastTm is refreshed on use"
    );
    // ...but not on every call: the next calls within five minutes leave it alone.
    app.sql("UPDATE Session SET lastTm='2000-01-01 00:00:00'");
    bearer(&mut app, &token, "whoami", &[], Body::None);
    assert_eq!(app.count("SELECT COUNT(*) FROM Session WHERE lastTm='2000-01-01 00:00:00'"), 1);

    let v = bearer(&mut app, &token, "refreshToken", &[], Body::None);
    let fresh = v[1]["_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, token, "an hour-old token is replaced");
    assert!(v[1]["_expire"].as_i64().unwrap() > 86400);
    assert_eq!(bearer(&mut app, &token, "whoami", &[], Body::None)[0], json!(2), "the old token is revoked");
    assert_eq!(bearer(&mut app, &fresh, "whoami", &[], Body::None)[1]["id"], uid);
}

#[test]
fn refresh_token_hands_back_a_token_younger_than_half_an_hour() {
    let mut app = spawn_app();
    let v = login_by_code(&mut app, "13800000001");
    let token = v["_token"].as_str().unwrap();
    let r = bearer(&mut app, token, "refreshToken", &[], Body::None);
    assert_eq!(r[1]["_token"], json!(token));
    let left = r[1]["_expire"].as_i64().unwrap();
    assert!(left <= v["_expire"].as_i64().unwrap() && left > 30 * 86400 - 60, "{left}");
    app.cookies.clear();
    app.err("refreshToken", &[], Body::None, 2);
}

#[test]
fn logout_revokes_and_expired_tokens_are_refused() {
    let mut app = spawn_with(|c| c.token_life = 1);
    let v = login_by_code(&mut app, "13800000001");
    assert_eq!(v["_expire"], json!(1));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    app.err("whoami", &[], Body::None, 2);
    let v = app.err("login", &[], Body::Form(&[("token", v["_token"].as_str().unwrap())]), -1);
    assert_eq!(v[1], json!("Bad login token!"));

    let mut app = spawn_app();
    let token = login_by_code(&mut app, "13800000001")["_token"].as_str().unwrap().to_string();
    app.ok("whoami", &[], Body::None);
    assert_eq!(app.ok("logout", &[], Body::None), json!("OK"));
    assert!(!app.cookies.contains_key("userid"), "the cookie is cleared");
    assert_eq!(bearer(&mut app, &token, "whoami", &[], Body::None)[0], json!(2));
    app.err("login", &[], Body::Form(&[("token", &token)]), -1);
    assert_eq!(app.count("SELECT COUNT(*) FROM Session WHERE revokeTm IS NOT NULL"), 1);
}

#[test]
fn app_types_are_isolated_and_emp_adm_shares_the_emp_login() {
    let mut app = spawn_app();
    let user_token = login_by_code(&mut app, "13800000001")["_token"].as_str().unwrap().to_string();
    // The user's cookie is `userid`: an emp call does not see it, nor accepts its token.
    app.err("whoami", &[EMP], Body::None, 2);
    app.err("Employee.get", &[EMP], Body::None, 2);
    assert_eq!(bearer(&mut app, &user_token, "whoami", &[EMP], Body::None)[0], json!(2));
    assert_eq!(bearer(&mut app, &user_token, "whoami", &[("_app", "admin")], Body::None)[0], json!(2));
    let v = app.err("login", &[EMP], Body::Form(&[("token", &user_token)]), -1);
    assert_eq!(v[1], json!("Bad login token!"));
    // A made-up token is nobody, by cookie, Bearer or login(token).
    let forged = "0".repeat(64);
    assert_eq!(bearer(&mut app, &forged, "whoami", &[], Body::None)[0], json!(2));
    let r = app.request("GET", "/api/whoami", &[("Cookie", &format!("userid={forged}"))], b"");
    assert_eq!(r.json()[0], json!(2));
    app.err("login", &[], Body::Form(&[("token", &forged)]), -1);

    // `emp-adm` is an emp app: it logs in to Employee and shares the `empid` cookie with `emp`.
    let v = app.ok("login", &[("_app", "emp-adm")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    assert_eq!(v["perms"], json!("emp,mgr"));
    assert!(app.cookies.contains_key("empid"));
    assert_eq!(app.ok("whoami", &[EMP], Body::None)["uname"], json!("admin"));
    assert_eq!(app.ok("whoami", &[("_app", "emp2")], Body::None)["id"], json!(1));
    assert_eq!(app.ok("whoami", &[], Body::None)["phone"], json!("13800000001"), "the user login is untouched");
    assert_eq!(app.sql("SELECT app FROM Session WHERE appType='emp'")[0]["app"], json!("emp-adm"));
    // Other app names have no login of their own.
    app.err("login", &[("_app", "store")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]), 1);
}

#[test]
fn whoami_answers_for_each_app_type_and_refuses_guests() {
    let mut app = spawn_app();
    app.err("whoami", &[], Body::None, 2);
    let uid = login_by_code(&mut app, "13800000001")["id"].clone();
    assert_eq!(app.ok("whoami", &[], Body::None)["id"], uid);
    app.ok("login", &[EMP], Body::Form(&[("uname", "12345678901"), ("pwd", "1234")]));
    assert_eq!(app.ok("whoami", &[EMP], Body::None)["name"], json!("管理员"));
    app.login_admin();
    assert_eq!(app.ok("whoami", &[("_app", "admin")], Body::None), json!({"id": 1, "uname": "admin"}));
}

// ---- codes (9.11) ----

#[test]
fn gen_code_checks_the_phone_and_type_sends_an_sms_and_limits_resends() {
    let mut app = spawn_app();
    let v = app.err("genCode", &[("phone", "1380000000")], Body::None, 1);
    assert_eq!(v[1], json!("手机号不合法"));
    app.err("genCode", &[("phone", "13800000001"), ("type", "q0")], Body::None, 1);
    app.err("genCode", &[], Body::None, 1);

    assert_eq!(app.ok("genCode", &[("phone", "13800000001")], Body::None), json!("OK"));
    let code = vcode(&mut app, "13800000001")["code"].as_str().unwrap().to_string();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let sent = app.state.sms.outbox();
    assert_eq!(sent.last().unwrap(), &("13800000001".to_string(), format!("验证码{code}，请在5分钟内使用。")));

    let v = app.err("genCode", &[("phone", "13800000001")], Body::None, 5);
    assert_eq!(v[1], json!("60秒内只能生成一次验证码"));
    assert_eq!(app.state.sms.outbox().len(), 1, "no second message");
    // Another phone is not limited by the first.
    app.ok("genCode", &[("phone", "13800000002"), ("type", "w4")], Body::None);
    let w4 = vcode(&mut app, "13800000002")["code"].as_str().unwrap().to_string();
    assert!(w4.len() == 4 && w4.bytes().all(|b| b.is_ascii_uppercase()), "{w4}");
    // After 60 s the phone may ask again; debug (test mode) skips the wait and returns the code.
    app.sql(&format!("UPDATE VCode SET createTm={} WHERE phone='13800000001'", ago(61)));
    app.ok("genCode", &[("phone", "13800000001")], Body::None);
    let v = app.ok("genCode", &[("phone", "13800000001"), ("debug", "1"), ("type", "x8")], Body::None);
    assert_eq!(v["code"].as_str().unwrap().len(), 8);
    assert_eq!(app.state.sms.outbox().len(), 3, "debug codes are returned, not sent");
    assert_eq!(app.count("SELECT COUNT(*) FROM VCode WHERE phone='13800000001'"), 1, "one code per phone");
}

#[test]
fn outside_test_mode_debug_codes_and_the_test_code_are_refused() {
    let mut app = spawn_with(|c| c.test_mode = false);
    app.err("genCode", &[("phone", "13800000001"), ("debug", "1")], Body::None, 5);
    let v = app.err("login", &[], Body::Form(&[("uname", "13800000001"), ("code", "080909")]), 5);
    assert_eq!(v[1], json!("请先发送验证码!"));
    app.ok("genCode", &[("phone", "13800000001")], Body::None);
    let v = app.err("login", &[], Body::Form(&[("uname", "13800000001"), ("code", "080909")]), 1);
    assert_eq!(v[1], json!("验证码错误"));
    // The real code works.
    let (_, text) = app.state.sms.outbox().pop().unwrap();
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let v = app.ok("login", &[], Body::Form(&[("uname", "13800000001"), ("code", &code)]));
    assert_eq!(v["_isNew"], json!(1));
}

#[test]
fn a_code_logs_in_once_and_registers_a_new_phone() {
    let mut app = spawn_app();
    let code = code_for(&mut app, "13812345678");
    let v = app.ok("login", &[], Body::Form(&[("uname", "13812345678"), ("code", &code)]));
    assert_eq!(v["_isNew"], json!(1));
    assert_eq!(v["name"], json!("用户138****5678"));
    assert_eq!(v["phone"], json!("13812345678"));
    assert_eq!(v["createTm"].as_str().unwrap().len(), 19);
    assert!(v["_token"].is_string() && v["_expire"].as_i64().unwrap() > 0);
    let id = v["id"].clone();
    let row = app.sql(&format!("SELECT pwd FROM User WHERE id={id}"));
    assert_eq!(row[0]["pwd"], json!("!"), "no password until the user sets one (nothing hashed on the writer)");
    assert_eq!(app.count("SELECT COUNT(*) FROM Pwd"), 0, "no password was chosen, so none is counted");
    assert!(vcode(&mut app, "13812345678")["usedTm"].is_string());

    app.cookies.clear();
    let v = app.err("login", &[], Body::Form(&[("uname", "13812345678"), ("code", &code)]), 5);
    assert_eq!(v[1], json!("请先发送验证码!"), "a code works once");
    let v = login_by_code(&mut app, "13812345678");
    assert_eq!(v["id"], id);
    assert!(v.get("_isNew").is_none());
    // wantAll is accepted; the whole object comes back either way.
    let code = code_for(&mut app, "13812345678");
    let v = app.ok("login", &[], Body::Form(&[("uname", "13812345678"), ("code", &code), ("wantAll", "1")]));
    assert_eq!(v["name"], json!("用户138****5678"));
    assert_eq!(app.count("SELECT COUNT(*) FROM User"), 1);
    let v = app.err("login", &[], Body::Form(&[("uname", "liang"), ("code", "080909")]), 1);
    assert_eq!(v[1], json!("手机号不合法"));
}

#[test]
fn wrong_expired_and_worn_out_codes_are_refused() {
    let mut app = spawn_app();
    let phone = "13800000001";
    let code = code_for(&mut app, phone);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let v = app.err("login", &[], Body::Form(&[("uname", phone), ("code", wrong)]), 1);
    assert_eq!(v[1], json!("验证码错误"));
    assert_eq!(vcode(&mut app, phone)["tries"], json!(1), "counted although the call rolled back");
    for _ in 0..4 {
        app.err("login", &[], Body::Form(&[("uname", phone), ("code", wrong)]), 1);
    }
    let v = app.err("login", &[], Body::Form(&[("uname", phone), ("code", &code)]), 5);
    assert!(v[1].as_str().unwrap().contains("次数过多"), "{v}");
    assert_eq!(app.count("SELECT COUNT(*) FROM User"), 0);

    let code = code_for(&mut app, phone);
    app.sql(&format!("UPDATE VCode SET createTm={} WHERE phone='{phone}'", ago(301)));
    let v = app.err("login", &[], Body::Form(&[("uname", phone), ("code", &code)]), 5);
    assert_eq!(v[1], json!("验证码已过期(有效期5分钟)"));
    // A code belongs to its phone.
    let code = code_for(&mut app, phone);
    app.err("login", &[], Body::Form(&[("uname", "13800000002"), ("code", &code)]), 5);
    // In test mode 080909 passes for any phone.
    assert_eq!(app.ok("login", &[], Body::Form(&[("uname", "13800000003"), ("code", "080909")]))["_isNew"], json!(1));
}

// ---- login by password ----

#[test]
fn users_log_in_by_phone_or_uname_with_the_plain_or_md5_password() {
    let mut app = spawn_app();
    let id = login_by_code(&mut app, "13800000001")["id"].clone();
    app.ok("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "secret9")]));
    app.login_admin();
    app.ok("User.set", &[("_app", "admin"), ("id", &id.to_string())], Body::Form(&[("uname", "liang")]));
    app.cookies.clear();
    let md5 = format!("{:x}", md5::compute(b"secret9"));
    for (uname, pwd) in [("13800000001", "secret9"), ("liang", "secret9"), ("13800000001", md5.as_str())] {
        assert_eq!(app.ok("login", &[], Body::Form(&[("uname", uname), ("pwd", pwd)]))["id"], id, "{uname}/{pwd}");
    }
    for (uname, pwd) in [("13800000001", "secret"), ("nobody", "secret9"), ("13800000009", "secret9")] {
        let v = app.err("login", &[], Body::Form(&[("uname", uname), ("pwd", pwd)]), -1);
        assert_eq!(v[1], json!("手机号或密码错误"));
    }
    let v = app.err("login", &[EMP], Body::Form(&[("uname", "admin"), ("pwd", "wrong")]), -1);
    assert_eq!(v[1], json!("用户名或密码错误"));
    app.err("login", &[], Body::Form(&[("uname", "13800000001")]), 1);
}

#[test]
fn employees_log_in_by_password_or_by_a_code_to_their_phone_but_are_never_registered() {
    let mut app = spawn_app();
    let code = code_for(&mut app, "12345678901");
    let v = app.ok("login", &[EMP], Body::Form(&[("uname", "12345678901"), ("code", &code)]));
    assert_eq!(v["uname"], json!("admin"));
    let code = code_for(&mut app, "13900000000");
    let v = app.err("login", &[EMP], Body::Form(&[("uname", "13900000000"), ("code", &code)]), -1);
    assert_eq!(v[1], json!("用户名或密码错误"));
    assert_eq!(app.count("SELECT COUNT(*) FROM Employee"), 1);
}

// ---- chpwd ----

#[test]
fn chpwd_by_old_password_revokes_every_earlier_token_and_returns_a_new_one() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    app.ok("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "first1")]));
    let a = token_of(&mut app, &[], "13800000001", "first1");
    let b = token_of(&mut app, &[], "13800000001", "first1");

    let v = bearer(&mut app, &a, "chpwd", &[], Body::Form(&[("oldpwd", "nope"), ("pwd", "x")]));
    assert_eq!((&v[0], &v[1]), (&json!(-1), &json!("密码验证失败")));
    let v = bearer(&mut app, &a, "chpwd", &[], Body::Form(&[("oldpwd", "first1"), ("pwd", "second2")]));
    assert_eq!(v[0], json!(0), "{v}");
    let c = v[1]["_token"].as_str().unwrap().to_string();
    assert!(v[1]["_expire"].as_i64().unwrap() > 0);
    for old in [&a, &b] {
        assert_eq!(bearer(&mut app, old, "whoami", &[], Body::None)[0], json!(2));
    }
    assert_eq!(bearer(&mut app, &c, "whoami", &[], Body::None)[0], json!(0));
    app.err("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "first1")]), -1);
    app.ok("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "second2")]));

    // The dictionary counts choices without keeping them: a keyed digest, not the password or its md5.
    let rows = app.sql("SELECT pwd, cnt FROM Pwd ORDER BY id");
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let md5 = format!("{:x}", md5::compute(b"second2"));
    for r in rows.as_array().unwrap() {
        let d = r["pwd"].as_str().unwrap();
        assert!(d.len() == 43 && !d.contains("second2") && !d.contains(&md5), "{d}");
    }
    let c2 = app.ok("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "second2")]))["_token"].clone();
    let md5_first = format!("{:x}", md5::compute(b"first1"));
    bearer(&mut app, c2.as_str().unwrap(), "chpwd", &[], Body::Form(&[("oldpwd", "second2"), ("pwd", &md5_first)]));
    assert_eq!(app.count("SELECT MAX(cnt) FROM Pwd"), 2, "the md5 form counts as the same password");
}

#[test]
fn oldpwd_none_works_only_within_an_hour_of_registration() {
    let mut app = spawn_app();
    let id = login_by_code(&mut app, "13800000001")["id"].clone();
    app.ok("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "p1")]));
    app.sql(&format!("UPDATE User SET createTm={} WHERE id={id}", ago(7200)));
    let v = app.err("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "p2")]), -1);
    assert_eq!(v[1], json!("密码验证失败"));
    app.err("chpwd", &[], Body::Form(&[("pwd", "p2")]), 1);
    app.cookies.clear();
    app.err("chpwd", &[], Body::Form(&[("oldpwd", "p1"), ("pwd", "p2")]), 2);
}

#[test]
fn a_forgotten_password_is_reset_by_phone_and_code_without_login() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    app.cookies.clear();
    let v = app.err("chpwd", &[], Body::Form(&[("phone", "13800000009"), ("code", "080909"), ("pwd", "x")]), -1);
    assert_eq!(v[1], json!("手机号未注册"));
    // `_none` would let anyone set a new user's password by naming its phone.
    app.err("chpwd", &[], Body::Form(&[("phone", "13800000001"), ("oldpwd", "_none"), ("pwd", "x")]), -1);
    let code = code_for(&mut app, "13800000001");
    let v = app.ok("chpwd", &[], Body::Form(&[("phone", "13800000001"), ("code", &code), ("pwd", "newpwd")]));
    assert!(v["_token"].is_string());
    assert!(app.cookies.contains_key("userid"), "the caller is logged in");
    app.ok("whoami", &[], Body::None);
    app.cookies.clear();
    app.ok("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "newpwd")]));
    let v = app.err("chpwd", &[], Body::Form(&[("phone", "13800000001"), ("code", &code), ("pwd", "again")]), 5);
    assert_eq!(v[1], json!("请先发送验证码!"), "the code was used");
}

#[test]
fn employees_change_their_password_by_old_password_or_code() {
    let mut app = spawn_app();
    app.ok("login", &[EMP], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    app.err("chpwd", &[EMP], Body::Form(&[("oldpwd", "_none"), ("pwd", "x")]), -1);
    let v = app.ok("chpwd", &[EMP], Body::Form(&[("oldpwd", "1234"), ("pwd", "emp-pass1")]));
    assert!(v["_token"].is_string());
    let code = code_for(&mut app, "12345678901");
    app.ok("chpwd", &[EMP], Body::Form(&[("code", &code), ("pwd", "emp-pass2")]));
    app.cookies.clear();
    app.err("login", &[EMP], Body::Form(&[("uname", "admin"), ("pwd", "emp-pass1")]), -1);
    let v = app.ok("login", &[EMP], Body::Form(&[("uname", "admin"), ("pwd", "emp-pass2")]));
    assert_eq!(v["perms"], json!("emp,mgr"));
    app.ok("ApiLog.query", &[EMP], Body::None);
    // The admin's password is configuration (P_ADMIN_CRED), not data.
    app.login_admin();
    app.err("chpwd", &[("_app", "admin")], Body::Form(&[("oldpwd", "admin123"), ("pwd", "x")]), 5);
}
