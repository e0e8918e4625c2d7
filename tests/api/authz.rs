//! Who may do what: every (object, op, app type) of the reference product, refused with the right
//! code (2 for guests, 5 for logged-in callers) or not refused (protocol §1.5, §3.7, §9.5).

use serde_json::{json, Value};

use crate::account::login_by_code;
use crate::helpers::{qs, spawn_app, Body, TestApp};

/// The ops of each row, in the order of the expectation strings.
const OPS: [&str; 7] = ["add", "set", "get", "query", "del", "setIf", "delIf"];

/// Callers: (name, `_app`).
const ACTORS: [(&str, &str); 5] =
    [("guest", "user"), ("user", "user"), ("emp", "emp"), ("mgr", "emp"), ("admin", "admin")];

/// Per object, per actor (in `ACTORS` order), one character per op (in `OPS` order):
/// `y` allowed (any answer but 2/5), `2`/`5` refused with that code.
const TABLE: [(&str, [&str; 5]); 12] = [
    //            guest      user       emp        mgr        admin
    ("Ordr", ["2222222", "yyyy555", "5yyy555", "5yyy555", "yyyyyyy"]),
    ("OrderLog", ["2222222", "55yy555", "55yy555", "55yy555", "yyyyyyy"]),
    ("User", ["2222222", "5yy5555", "yyyyyyy", "yyyyyyy", "yyyyyyy"]),
    ("Employee", ["2222222", "5555555", "5yyy555", "yyyyyyy", "yyyyyyy"]),
    ("Cinf", ["2222222", "5555555", "yyyyyyy", "yyyyyyy", "yyyyyyy"]),
    ("ApiLog", ["2222222", "5555555", "5555555", "55yy555", "55yy555"]),
    ("ApiLog1", ["2222222", "5555555", "5555555", "55yy555", "55yy555"]),
    ("ObjLog", ["2222222", "5555555", "55yy555", "55yy555", "55yy555"]),
    ("Pwd", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    ("Session", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    ("VCode", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    // Files are written by `upload` and read by `att` (which checks who may see them); the table
    // itself is the admin's only.
    ("Attachment", ["2222222", "5555555", "5555555", "5555555", "yyyyyyy"]),
];

/// Calls as a token holder (or a guest) with no cookies.
fn call_as(app: &mut TestApp, token: Option<&str>, ac: &str, url: &[(&str, &str)], body: &[(&str, &str)]) -> Value {
    let path = format!("/api/{ac}?{}", qs(url));
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h = vec![("Cookie", "none=1")];
    if let Some(a) = &auth {
        h.push(("Authorization", a.as_str()));
    }
    if body.is_empty() {
        return app.request("GET", &path, &h, b"").json();
    }
    h.push(("Content-Type", "application/x-www-form-urlencoded"));
    app.request("POST", &path, &h, qs(body).as_bytes()).json()
}

/// A harmless body for add/set/setIf of an object (unique per caller where the object wants that).
fn fields(obj: &str, actor: &str, order: &str) -> Vec<(String, String)> {
    let v = |k: &str, x: String| (k.to_string(), x);
    match obj {
        "Ordr" => vec![v("cmt", format!("by {actor}"))],
        "OrderLog" => vec![v("orderId", order.into()), v("action", "CR".into()), v("dscr", actor.into())],
        "User" => vec![v("name", format!("u-{actor}"))],
        "Employee" => vec![v("name", format!("e-{actor}")), v("uname", format!("e-{actor}"))],
        "Cinf" => vec![v("name", format!("k-{actor}")), v("value", "v".into())],
        "Session" => vec![v("userId", "1".into())],
        "VCode" => vec![v("phone", "13900000000".into())],
        "Attachment" => vec![v("path", "upload/x.jpg".into())],
        _ => vec![v("dscr", "x".into())],
    }
}

#[test]
fn every_object_op_and_app_type_is_refused_or_allowed_as_the_design_says() {
    let mut app = spawn_app();
    // Data for every object, and a token per caller.
    let user = login_by_code(&mut app, "13800000001");
    let order = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "authz")])).to_string();
    // chpwd revokes the login's token and hands out the one the user holds from now on.
    let user_token = app.ok("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "pw-1")]));
    app.cookies.clear();
    let mgr = app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    let clerk_id = app.ok("Employee.add", &[("_app", "emp")], Body::Form(&[("uname", "clerk"), ("pwd", "c-1")]));
    app.ok("batch", &[("_app", "emp")], Body::Json(json!([{"ac": "whoami"}])));
    app.cookies.clear();
    let emp = app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "clerk"), ("pwd", "c-1")]));
    app.cookies.clear();
    let admin = app.ok("login", &[("_app", "admin")], Body::Form(&[("uname", "admin"), ("pwd", "admin123")]));
    app.cookies.clear();
    app.sql("INSERT INTO Attachment (path, tm) VALUES ('upload/a.jpg', '2024-01-01 00:00:00')");
    app.sql("INSERT INTO Cinf (name, value) VALUES ('motd', 'hi')");
    app.flush_log();

    let token = |v: &Value| v["_token"].as_str().map(str::to_string);
    let tokens = [None, token(&user_token), token(&emp), token(&mgr), token(&admin)];
    let mut failures = Vec::new();
    for (obj, per_actor) in TABLE {
        // An existing row to get/set: the caller's own where the object is "self only".
        let any_id = app.count(&format!("SELECT MAX(id) FROM {obj}")).to_string();
        for (i, (actor, app_name)) in ACTORS.iter().enumerate() {
            let row_id = match (obj, *actor) {
                ("User", _) => user["id"].to_string(),
                ("Employee", "emp") => emp["id"].to_string(),
                ("Employee", _) => clerk_id.to_string(),
                _ => any_id.clone(),
            };
            for (op, want) in OPS.iter().zip(per_actor[i].chars()) {
                let body = fields(obj, actor, &order);
                let body: Vec<(&str, &str)> = body.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let mut url = vec![("_app", *app_name)];
                let mut send: &[(&str, &str)] = &[];
                match *op {
                    "add" => send = &body,
                    "set" => {
                        url.push(("id", &row_id));
                        send = &body[..1];
                    }
                    "get" => url.push(("id", &row_id)),
                    "query" => url.push(("res", "id")),
                    "del" => url.push(("id", "999999")),
                    "setIf" => {
                        url.push(("cond", "id<0"));
                        send = &body[..1];
                    }
                    _ => url.push(("cond", "id<0")),
                }
                let ac = format!("{obj}.{op}");
                let v = call_as(&mut app, tokens[i].as_deref(), &ac, &url, send);
                let code = v[0].as_i64().unwrap();
                let ok = match want {
                    'y' => code != 2 && code != 5,
                    c => code == c.to_digit(10).unwrap() as i64,
                };
                if !ok {
                    failures.push(format!("{actor:>5} {ac:<18} want {want}, got {v}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn another_users_order_is_invisible_and_untouchable() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    let theirs = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "theirs")])).to_string();
    let log_id = app.count(&format!("SELECT id FROM OrderLog WHERE orderId={theirs}")).to_string();
    app.cookies.clear();
    login_by_code(&mut app, "13800000002");
    let v = app.err("Ordr.get", &[("id", &theirs)], Body::None, 1);
    assert!(v[2].as_str().unwrap().contains("not found"), "{v}");
    app.err("Ordr.set", &[("id", &theirs)], Body::Form(&[("status", "CA")]), 1);
    app.err("OrderLog.get", &[("id", &log_id)], Body::None, 1);
    let v = app.ok("Ordr.query", &[("res", "id"), ("fmt", "list"), ("cond", &format!("id={theirs}"))], Body::None);
    assert_eq!(v["list"], json!([]));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ordr WHERE id={theirs} AND status='CR'")), 1);
}
