//! Who may do what: the authorization table of every object of the product, walked as a table.
//!
//! `TABLE` is the one statement of the rules (protocol §1.5, §3.7, §9.5 and the notes of
//! design/DESIGN.md): for every object, every standard op and every custom action it declares, and
//! every principal (guest, user, clerk, manager, admin), allowed or refused with which code (2 for a
//! guest, 5 for a logged-in caller). The test takes the list of objects and actions from the running
//! server's registry, so an object or action added without a row here fails it. Cross-owner checks
//! (another user's or another employee's rows through the URL, the body, a batch and the REST forms)
//! follow for every object that has an owner.

use serde_json::{json, Value};

use crate::account::login_by_code;
use crate::helpers::{qs, spawn_app, Body, TestApp};

/// The standard ops, in the order of the expectation strings.
const OPS: [&str; 7] = ["add", "set", "get", "query", "del", "setIf", "delIf"];

/// Principals: (name, `_app`).
pub const ACTORS: [(&str, &str); 5] =
    [("guest", "user"), ("user", "user"), ("emp", "emp"), ("mgr", "emp"), ("admin", "admin")];

/// One object's rules: per principal (in `ACTORS` order) one character per op (in `OPS` order), and
/// per custom action one character per principal. `y` allowed (any answer but 2/5), `2`/`5` refused.
struct Rule {
    obj: &'static str,
    ops: [&'static str; 5],
    actions: &'static [(&'static str, &'static str)],
}

const fn rule(obj: &'static str, ops: [&'static str; 5]) -> Rule {
    Rule { obj, ops, actions: &[] }
}

const TABLE: &[Rule] = &[
    //                  guest      user       emp        mgr        admin
    // Ticket orders: buyers cancel, hide, pay and refund their own; staff cancel and refund their store's
    // (hide is the buyer's list, pay the buyer's money).
    Rule {
        obj: "Ordr",
        ops: ["2222222", "yyyy555", "5yyy555", "5yyy555", "yyyyyyy"],
        actions: &[("cancel", "2yyyy"), ("hide", "2y555"), ("pay", "2y555"), ("refund", "2yyyy")],
    },
    rule("OrderLog", ["2222222", "55yy555", "55yy555", "55yy555", "yyyyyyy"]),
    // Users write OrderAtt only through Ordr (parent-only ops); staff read the links.
    rule("OrderAtt", ["2222222", "55yy555", "55yy555", "55yy555", "yyyyyyy"]),
    rule("User", ["2222222", "5yy5555", "yyyyyyy", "yyyyyyy", "yyyyyyy"]),
    // A clerk sees and changes itself only; adding, deleting and bulk changes are for managers.
    rule("Employee", ["2222222", "5555555", "5yyy555", "yyyyyyy", "yyyyyyy"]),
    // Settings: clerks read, managers and the admin change (issue 10 point 4).
    Rule {
        obj: "Cinf",
        ops: ["2222222", "5555555", "55yy555", "yyyyyyy", "yyyyyyy"],
        actions: &[("getValue", "25yyy"), ("setValue", "255yy")],
    },
    rule("ApiLog", ["2222222", "5555555", "5555555", "55yy555", "55yy555"]),
    rule("ApiLog1", ["2222222", "5555555", "5555555", "55yy555", "55yy555"]),
    rule("ObjLog", ["2222222", "5555555", "55yy555", "55yy555", "55yy555"]),
    rule("Pwd", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    rule("Session", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    rule("VCode", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    rule("QrLogin", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    // Id blocks are the server's own bookkeeping: the admin may look, nobody may change them.
    rule("IdBlock", ["2222222", "5555555", "5555555", "5555555", "55yy555"]),
    // Files are written by `upload` and read by `att` (which checks who may see them); the table
    // itself is the admin's only.
    rule("Attachment", ["2222222", "5555555", "5555555", "5555555", "yyyyyyy"]),
    // Ticketing (ticketing-api.md "Who may call what"): the catalogue is public to read; a store's staff
    // write their own store's rows one at a time (no setIf/delIf, whose per-row rules would not run).
    rule("City", ["55yy555", "55yy555", "55yy555", "55yy555", "yyyyyyy"]),
    // Staff see their own store; only a manager edits it (a clerk's set is refused by the hook).
    rule("Store", ["55yy555", "55yy555", "55yy555", "5yyy555", "yyyyy55"]),
    rule("Venue", ["55yy555", "55yy555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    rule("Hall", ["55yy555", "55yy555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    rule("Movie", ["55yy555", "55yy555", "55yy555", "55yy555", "yyyyy55"]),
    // Licences are granted by the admin; a cinema reads its own.
    rule("License", ["2222222", "5555555", "55yy555", "55yy555", "yyyyy55"]),
    rule("Event", ["55yy555", "55yy555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    Rule {
        obj: "Showing",
        ops: ["55yy555", "55yy555", "yyyyy55", "yyyyy55", "yyyyy55"],
        actions: &[("seats", "yyyyy")],
    },
    rule("PriceClass", ["55yy555", "55yy555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    // Seats are made by Showing.add; buyers read them through Showing.seats.
    rule("Seat", ["2222222", "5555555", "55yy555", "55yy555", "55yy555"]),
    // Tickets are made by orders and payments; QR for owners and staff, check-in for a store's staff at its gate.
    Rule {
        obj: "Ticket",
        ops: ["2222222", "55yy555", "55yy555", "55yy555", "55yy555"],
        actions: &[("qr", "2yyyy"), ("checkin", "25yy5")],
    },
    rule("Payment", ["2222222", "55yy555", "55yy555", "55yy555", "55yy555"]),
    // Trains: stations are public, a rail store's staff keep its trains, stops, carriages, fares and runs;
    // seat inventory is read-only (orders change it); search is for everyone, making runs for staff.
    rule("Station", ["55yy555", "55yy555", "55yy555", "55yy555", "yyyyyyy"]),
    Rule {
        obj: "Train",
        ops: ["5555555", "5555555", "yyyyy55", "yyyyy55", "yyyyy55"],
        actions: &[("search", "yyyyy"), ("addRuns", "55yyy")],
    },
    rule("TrainStop", ["2222222", "5555555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    rule("Carriage", ["2222222", "5555555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    rule("Fare", ["2222222", "5555555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    rule("TrainRun", ["2222222", "5555555", "yyyyy55", "yyyyy55", "yyyyy55"]),
    rule("RunSeat", ["2222222", "5555555", "55yy555", "55yy555", "55yy555"]),
    // A buyer's own passengers.
    rule("Passenger", ["2222222", "yyyyy55", "5555555", "5555555", "yyyyyyy"]),
    rule("Refund", ["2222222", "55yy555", "55yy555", "55yy555", "55yy555"]),
];

/// Calls as a token holder (or a guest) with no cookies.
pub fn call_as(app: &mut TestApp, token: Option<&str>, ac: &str, url: &[(&str, &str)], body: &[(&str, &str)]) -> Value {
    let path = format!("/api/{ac}?{}", qs(url));
    request_as(app, token, if body.is_empty() { "GET" } else { "POST" }, &path, body)
}

/// A request as a token holder with any method and path (REST forms).
pub fn request_as(app: &mut TestApp, token: Option<&str>, method: &str, path: &str, body: &[(&str, &str)]) -> Value {
    if body.is_empty() {
        return send_as(app, token, method, path, None, b"");
    }
    send_as(app, token, method, path, Some("application/x-www-form-urlencoded"), qs(body).as_bytes())
}

/// A JSON request (batch) as a token holder.
pub fn json_as(app: &mut TestApp, token: Option<&str>, path: &str, body: &Value) -> Value {
    send_as(app, token, "POST", path, Some("application/json"), &serde_json::to_vec(body).unwrap())
}

/// Any request as a token holder (`Authorization: Bearer`, no cookies); the answer as JSON.
pub fn send_as(
    app: &mut TestApp,
    token: Option<&str>,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h = vec![("Cookie", "none=1")];
    if let Some(a) = &auth {
        h.push(("Authorization", a.as_str()));
    }
    if let Some(ct) = content_type {
        h.push(("Content-Type", ct));
    }
    app.request(method, path, &h, body).json()
}

/// The principals of a fresh server, with an order and a second user, clerk and order to trespass on.
pub struct World {
    /// Tokens in `ACTORS` order (the guest has none).
    pub tokens: [Option<String>; 5],
    pub user_id: i64,
    pub other_user_id: i64,
    pub order_id: i64,
    pub other_order_id: i64,
    pub clerk_id: i64,
    pub other_clerk_id: i64,
    pub mgr_id: i64,
}

impl World {
    pub fn token(&self, actor: &str) -> Option<&str> {
        let i = ACTORS.iter().position(|(a, _)| *a == actor).expect("known actor");
        self.tokens[i].as_deref()
    }
}

/// Builds the world: users 13800000001 (ours) and 13800000002 (another), each with an order; the
/// bootstrap manager `admin`; clerks `clerk` (ours) and `clerk2`; the admin.
pub fn world(app: &mut TestApp) -> World {
    let other = login_by_code(app, "13800000002");
    let other_order_id = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "theirs")])).as_i64().unwrap();
    app.cookies.clear();
    let user = login_by_code(app, "13800000001");
    let order_id = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "authz")])).as_i64().unwrap();
    // chpwd revokes the login's token and hands out the one the user holds from now on.
    let user_token = app.ok("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "pw-1")]));
    app.cookies.clear();
    let mgr = app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    let clerk_id = app.ok("Employee.add", &[("_app", "emp")], Body::Form(&[("uname", "clerk"), ("pwd", "c-1")]));
    let other_clerk_id = app.ok(
        "Employee.add",
        &[("_app", "emp")],
        Body::Form(&[("uname", "clerk2"), ("phone", "13700000002"), ("pwd", "c-2")]),
    );
    // Staff handle orders: the log rows then name an employee (and its phone, hidden from buyers).
    app.ok("Ordr.set", &[("_app", "emp"), ("id", &order_id.to_string())], Body::Form(&[("status", "RE")]));
    app.cookies.clear();
    let emp = app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "clerk"), ("pwd", "c-1")]));
    app.cookies.clear();
    let admin = app.ok("login", &[("_app", "admin")], Body::Form(&[("uname", "admin"), ("pwd", "admin123")]));
    app.cookies.clear();
    app.sql("INSERT INTO Attachment (path, tm) VALUES ('upload/a.jpg', '2024-01-01 00:00:00')");
    app.sql("INSERT INTO Cinf (name, value) VALUES ('motd', 'hi')");
    app.flush_log();
    let token = |v: &Value| v["_token"].as_str().map(str::to_string);
    World {
        tokens: [None, token(&user_token), token(&emp), token(&mgr), token(&admin)],
        user_id: user["id"].as_i64().unwrap(),
        other_user_id: other["id"].as_i64().unwrap(),
        order_id,
        other_order_id,
        clerk_id: clerk_id.as_i64().unwrap(),
        other_clerk_id: other_clerk_id.as_i64().unwrap(),
        mgr_id: mgr["id"].as_i64().unwrap(),
    }
}

/// A harmless body for add/set/setIf of an object (unique per caller where the object wants that).
fn fields(obj: &str, actor: &str, order: i64) -> Vec<(String, String)> {
    let v = |k: &str, x: String| (k.to_string(), x);
    match obj {
        "Ordr" => vec![v("cmt", format!("by {actor}"))],
        "OrderLog" | "OrderAtt" => vec![v("orderId", order.to_string()), v("dscr", actor.into())],
        "User" => vec![v("name", format!("u-{actor}"))],
        "Employee" => vec![v("name", format!("e-{actor}")), v("uname", format!("e-{actor}"))],
        "Cinf" => vec![v("name", format!("k-{actor}")), v("value", "v".into())],
        "Session" => vec![v("userId", "1".into())],
        "VCode" => vec![v("phone", "13900000000".into())],
        "Attachment" => vec![v("path", "upload/x.jpg".into())],
        _ => vec![v("dscr", "x".into())],
    }
}

fn judge(want: char, v: &Value) -> bool {
    let code = v[0].as_i64().unwrap();
    match want {
        'y' => code != 2 && code != 5,
        c => code == c.to_digit(10).unwrap() as i64,
    }
}

#[test]
fn the_table_covers_every_object_and_action_the_server_serves() {
    let app = spawn_app();
    let mut missing = Vec::new();
    for (name, role, obj) in app.state.objects.entries() {
        match TABLE.iter().find(|r| r.obj == name) {
            None => missing.push(format!("{name} (served to {role:?}) has no row")),
            Some(r) => {
                for a in obj.actions() {
                    if !r.actions.iter().any(|(x, _)| x == a) {
                        missing.push(format!("{name}.{a} (served to {role:?}) has no expectation"));
                    }
                }
            }
        }
    }
    for t in &app.state.design.tables {
        if !TABLE.iter().any(|r| r.obj == t.name) {
            missing.push(format!("design table {} has no row", t.name));
        }
    }
    assert!(missing.is_empty(), "decide who may use these:\n{}", missing.join("\n"));
}

#[test]
fn every_object_op_action_and_principal_is_refused_or_allowed_as_the_design_says() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let mut failures = Vec::new();
    let mut cells = 0;
    for r in TABLE {
        let obj = r.obj;
        // An existing row to get/set: the caller's own where the object is "self only".
        let any_id = app.count(&format!("SELECT MAX(id) FROM {obj}")).to_string();
        for (i, (actor, app_name)) in ACTORS.iter().enumerate() {
            let row_id = match (obj, *actor) {
                ("User", _) => w.user_id.to_string(),
                ("Employee", "emp") => w.clerk_id.to_string(),
                ("Employee", _) => w.other_clerk_id.to_string(),
                ("Ordr", _) => w.order_id.to_string(),
                _ => any_id.clone(),
            };
            let token = w.tokens[i].as_deref();
            for (op, want) in OPS.iter().zip(r.ops[i].chars()) {
                let body = fields(obj, actor, w.order_id);
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
                let v = call_as(&mut app, token, &ac, &url, send);
                cells += 1;
                if !judge(want, &v) {
                    failures.push(format!("{actor:>5} {ac:<18} want {want}, got {v}"));
                }
            }
            for (action, wants) in r.actions {
                let want = wants.chars().nth(i).unwrap();
                let ac = format!("{obj}.{action}");
                let url = [("_app", *app_name), ("name", "motd")];
                let v = call_as(&mut app, token, &ac, &url, &[("value", actor)]);
                cells += 1;
                if !judge(want, &v) {
                    failures.push(format!("{actor:>5} {ac:<18} want {want}, got {v}"));
                }
            }
        }
    }
    assert!(cells > TABLE.len() * OPS.len() * ACTORS.len(), "every cell was called");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_clerk_can_read_settings_but_not_change_them() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let emp = w.token("emp");
    let v = call_as(&mut app, emp, "Cinf.setValue", &[("_app", "emp"), ("name", "motd")], &[("value", "x")]);
    assert_eq!(v[0], json!(5), "{v}");
    assert_eq!(v[1], json!("只有经理可以修改系统配置"));
    let v = call_as(&mut app, emp, "Cinf.getValue", &[("_app", "emp"), ("name", "motd")], &[]);
    assert_eq!(v, json!([0, "hi"]), "unchanged");
    let v = call_as(&mut app, w.token("mgr"), "Cinf.setValue", &[("_app", "emp"), ("name", "motd")], &[("value", "x")]);
    assert_eq!(v[0], json!(0), "{v}");
}

/// What one trespass attempt looks like and what must come back.
fn refused(v: &Value) -> bool {
    matches!(v[0].as_i64(), Some(1) | Some(5))
}

#[test]
fn another_users_rows_are_invisible_and_untouchable_in_every_request_form() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let t = w.token("user");
    let theirs = w.other_order_id.to_string();
    let log_id = app.count(&format!("SELECT id FROM OrderLog WHERE orderId={theirs}")).to_string();
    let mut failures = Vec::new();
    let mut check = |what: &str, v: Value| {
        if !refused(&v) {
            failures.push(format!("{what}: {v}"));
        }
    };
    // Orders: URL id, body id, REST, batch; get, set, and as a condition.
    check("Ordr.get url id", call_as(&mut app, t, "Ordr.get", &[("id", &theirs)], &[]));
    check("Ordr.set url id", call_as(&mut app, t, "Ordr.set", &[("id", &theirs)], &[("status", "CA")]));
    check("Ordr.set body id", call_as(&mut app, t, "Ordr.set", &[], &[("id", &theirs), ("status", "CA")]));
    check("REST GET", request_as(&mut app, t, "GET", &format!("/api/Ordr/{theirs}"), &[]));
    check("REST PATCH", request_as(&mut app, t, "PATCH", &format!("/api/Ordr/{theirs}"), &[("status", "CA")]));
    check("REST DELETE", request_as(&mut app, t, "DELETE", &format!("/api/Ordr/{theirs}"), &[]));
    let b = json_as(
        &mut app,
        t,
        "/api/batch",
        &json!([{"ac": "Ordr.get", "get": {"id": theirs}}, {"ac": "Ordr.set", "get": {"id": theirs}, "post": {"status": "CA"}}]),
    );
    check("batch get", b[1][0].clone());
    check("batch set", b[1][1].clone());
    // Logs and attachment links of their order.
    check("OrderLog.get", call_as(&mut app, t, "OrderLog.get", &[("id", &log_id)], &[]));
    check("REST OrderLog", request_as(&mut app, t, "GET", &format!("/api/OrderLog/{log_id}"), &[]));
    // The user object is self only: another id is replaced by one's own.
    let v = call_as(&mut app, t, "User.set", &[("id", &w.other_user_id.to_string())], &[("name", "hijack")]);
    assert_eq!(v[0], json!(0), "{v}");
    assert!(failures.is_empty(), "trespasses answered:\n{}", failures.join("\n"));

    // Queries show none of theirs, whatever the condition says.
    for cond in [format!("id={theirs}"), format!("userId={}", w.other_user_id), "id>0".into()] {
        let v = call_as(&mut app, t, "Ordr.query", &[("res", "id,userId"), ("fmt", "list"), ("cond", &cond)], &[]);
        let rows = v[1]["list"].as_array().unwrap();
        assert!(rows.iter().all(|r| r["userId"] == json!(w.user_id)), "{cond}: {v}");
    }
    let v = call_as(&mut app, t, "OrderLog.query", &[("res", "orderId"), ("fmt", "list")], &[]);
    assert!(v[1]["list"].as_array().unwrap().iter().all(|r| r["orderId"] == json!(w.order_id)), "{v}");
    let v = call_as(
        &mut app,
        t,
        "OrderAtt.query",
        &[("res", "orderId"), ("fmt", "list"), ("cond", &format!("orderId={theirs}"))],
        &[],
    );
    assert_eq!(v[1]["list"], json!([]), "{v}");

    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ordr WHERE id={theirs} AND status='CR'")), 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM User WHERE id={} AND name='hijack'", w.other_user_id)), 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM User WHERE id={} AND name='hijack'", w.user_id)), 1);
}

#[test]
fn a_clerk_cannot_reach_another_employee_in_any_request_form() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let t = w.token("emp");
    let other = w.other_clerk_id.to_string();
    let e = ("_app", "emp");
    let mut failures = Vec::new();
    let mut check = |what: &str, v: Value| {
        if !refused(&v) {
            failures.push(format!("{what}: {v}"));
        }
    };
    check("get url id", call_as(&mut app, t, "Employee.get", &[e, ("id", &other)], &[]));
    check("set url id", call_as(&mut app, t, "Employee.set", &[e, ("id", &other)], &[("name", "x")]));
    check("set body id", call_as(&mut app, t, "Employee.set", &[e], &[("id", &other), ("name", "x")]));
    check("REST GET", request_as(&mut app, t, "GET", &format!("/api/Employee/{other}?_app=emp"), &[]));
    check("REST PATCH", request_as(&mut app, t, "PATCH", &format!("/api/Employee/{other}?_app=emp"), &[("name", "x")]));
    check("REST DELETE", request_as(&mut app, t, "DELETE", &format!("/api/Employee/{other}?_app=emp"), &[]));
    check("own perms", call_as(&mut app, t, "Employee.set", &[e], &[("perms", "emp,mgr")]));
    let b = json_as(
        &mut app,
        t,
        "/api/batch?_app=emp",
        &json!([{"ac": "Employee.set", "get": {"id": other}, "post": {"name": "x"}}, {"ac": "Employee.get", "get": {"id": w.mgr_id}}]),
    );
    check("batch set", b[1][0].clone());
    check("batch get", b[1][1].clone());
    assert!(failures.is_empty(), "trespasses answered:\n{}", failures.join("\n"));
    let v = call_as(&mut app, t, "Employee.query", &[e, ("res", "id"), ("fmt", "list"), ("cond", "id>0")], &[]);
    assert_eq!(v[1]["list"], json!([{"id": w.clerk_id}]), "{v}");
    assert_eq!(app.count("SELECT COUNT(*) FROM Employee WHERE name='x'"), 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Employee WHERE id={} AND perms LIKE '%mgr%'", w.clerk_id)), 0);
}
