//! QR login through HTTP: a desktop request, the phone's confirmation, the desktop's own session, once only,
//! within two minutes, for the user app only.

use serde_json::json;

use crate::account::login_by_code;
use crate::helpers::{spawn_app, Body};

#[test]
fn a_confirmed_request_logs_the_desktop_in_once_as_the_buyer_who_confirmed() {
    let mut app = spawn_app();
    let phone_user = login_by_code(&mut app, "13800000001");
    let phone_cookies = app.cookies.clone();
    app.cookies.clear();
    // The desktop (no login) asks for a request and shows its QR code.
    let req = app.ok("qrLogin.create", &[], Body::None);
    let qr = req["qrId"].as_str().unwrap().to_string();
    assert_eq!(qr.len(), 26);
    assert_eq!(req["url"], json!(format!("/m2/#qr/{qr}")));
    let png = app.call_raw("qrLogin.qr", &[("qrId", &qr)], Body::None);
    assert_eq!((png.status, png.header("Content-Type")), (200, Some("image/png")));
    assert_eq!(app.ok("qrLogin.poll", &[("qrId", &qr)], Body::None), json!({"status": "wait"}));
    // A guest cannot confirm; the phone's user can.
    app.err("qrLogin.confirm", &[("qrId", &qr)], Body::None, 2);
    let desktop = std::mem::replace(&mut app.cookies, phone_cookies);
    app.ok("qrLogin.confirm", &[("qrId", &qr)], Body::None);
    let v = app.err("qrLogin.confirm", &[("qrId", &qr)], Body::None, 5);
    assert_eq!(v[1], json!("该二维码已使用"));
    app.cookies = desktop;
    let v = app.ok("qrLogin.poll", &[("qrId", &qr)], Body::None);
    assert_eq!(v["status"], json!("ok"));
    assert_eq!(v["id"], phone_user["id"]);
    assert!(v["_token"].as_str().is_some_and(|t| t.len() > 20));
    // The desktop now has a session of its own (its cookie), and the request is spent.
    assert_eq!(app.ok("whoami", &[], Body::None)["id"], phone_user["id"]);
    app.cookies.clear();
    assert_eq!(app.ok("qrLogin.poll", &[("qrId", &qr)], Body::None), json!({"status": "expired"}));
    app.flush_log();
    let logged = app.sql("SELECT res FROM ApiLog WHERE ac='qrLogin.poll' AND res LIKE '%_token%'");
    assert!(
        logged.as_array().unwrap().iter().all(|r| !r["res"].as_str().unwrap().contains(v["_token"].as_str().unwrap())),
        "the token stays out of the log"
    );
}

#[test]
fn a_request_expires_after_two_minutes_and_is_for_the_user_app_only() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    let phone = app.cookies.clone();
    app.cookies.clear();
    let qr = app.ok("qrLogin.create", &[], Body::None)["qrId"].as_str().unwrap().to_string();
    let expire = app.sql(&format!("SELECT createTm, expireTm FROM QrLogin WHERE qrId='{qr}'"))[0].clone();
    let (c, e) = (expire["createTm"].as_str().unwrap(), expire["expireTm"].as_str().unwrap());
    let secs = chrono::NaiveDateTime::parse_from_str(e, "%Y-%m-%d %H:%M:%S").unwrap()
        - chrono::NaiveDateTime::parse_from_str(c, "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(secs.num_seconds(), 120);
    app.sql(&format!("UPDATE QrLogin SET expireTm='2000-01-01 00:00:00' WHERE qrId='{qr}'"));
    assert_eq!(app.ok("qrLogin.poll", &[("qrId", &qr)], Body::None), json!({"status": "expired"}));
    app.cookies = phone;
    let v = app.err("qrLogin.confirm", &[("qrId", &qr)], Body::None, 5);
    assert_eq!(v[1], json!("二维码已过期, 请在电脑上刷新"));
    let v = app.err("qrLogin.create", &[("_app", "emp")], Body::None, 1);
    assert_eq!(v[1], json!("只有用户端支持扫码登录"));
    app.err("qrLogin.poll", &[("qrId", "NOSUCH")], Body::None, 1);
}
