//! What the framework offers a product beyond objects (issue 11 point 5): functions that see the raw body
//! and the headers they declare, background tasks started and stopped with the server, readable unique-key
//! refusals.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jindouyun::api::ctx::{Ctx, Reply};
use jindouyun::api::functions::{Functions, Receives};
use jindouyun::api::params::Params;
use jindouyun::config::Config;
use jindouyun::crud::Registry;
use jindouyun::error::ApiResult;
use jindouyun::state::{AppState, Product, Task};
use serde_json::json;

use crate::helpers::{ago, spawn_product, spawn_with};

static TICKS: AtomicUsize = AtomicUsize::new(0);

/// The real product plus a signed-notify function and a ticking task.
struct WithEdges;

fn notify(_ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    Ok(Reply::Data(json!({
        "raw": String::from_utf8_lossy(&p.raw),
        "sign": p.header("x-sign"),
        "cookie": p.header("cookie"),
        "amount": p.str("amount"),
    })))
}

fn tick(_state: &AppState) -> ApiResult<()> {
    TICKS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

impl Product for WithEdges {
    fn register(&self, objects: &mut Registry, functions: &mut Functions) {
        jindouyun::app::Jindouyun.register(objects, functions);
        functions.add_receiving("notifyTest", true, notify, Receives { raw_body: true, headers: &["x-sign"] });
        objects.declare_perm(jindouyun::api::auth::Perm("checkin"), "检票员");
    }
    fn init_db(&self, conn: jindouyun::db::conn::Conn, config: &Config) -> ApiResult<()> {
        jindouyun::app::Jindouyun.init_db(conn, config)
    }
    fn tasks(&self, _config: &Config) -> Vec<Task> {
        vec![Task { name: "tick", every: Duration::from_millis(50), run: tick }]
    }
}

#[test]
fn a_function_sees_the_bytes_sent_and_only_the_headers_it_declares() {
    let mut app = spawn_product(Arc::new(WithEdges), |_| {});
    let body = "amount=12.50&serial=A1&sign=xyz";
    let r = app.request(
        "POST",
        "/api/notifyTest",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("X-Sign", "sig-1"), ("Cookie", "userid=secret")],
        body.as_bytes(),
    );
    let v = r.json();
    assert_eq!(v[0], json!(0), "{v}");
    assert_eq!(v[1]["raw"], json!(body), "the raw body, byte for byte");
    assert_eq!(v[1]["amount"], json!("12.50"), "and the parsed parameters as usual");
    assert_eq!(v[1]["sign"], json!("sig-1"));
    assert_eq!(v[1]["cookie"], json!(null), "an undeclared header never reaches the handler");
}

#[test]
fn background_tasks_run_while_the_server_runs_and_stop_with_it() {
    let app = spawn_product(Arc::new(WithEdges), |_| {});
    std::thread::sleep(Duration::from_millis(400));
    let ran = TICKS.load(Ordering::SeqCst);
    assert!(ran >= 3, "the task ran ({ran} times)");
    // Dropping the app stops the server; it must not hang on the task, and the task stops with it.
    drop(app);
    let after = TICKS.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    assert!(TICKS.load(Ordering::SeqCst) <= after + 1, "no runs after the stop");
}

#[test]
fn housekeeping_deletes_old_codes_and_dead_sessions_only() {
    let mut app = spawn_with(|c| c.housekeep_secs = 1);
    app.sql(&format!(
        "INSERT INTO VCode (phone, code, createTm, tries) VALUES ('13900000001', '111111', {}, 0)",
        ago(2 * 86400)
    ));
    app.sql(&format!(
        "INSERT INTO VCode (phone, code, createTm, tries) VALUES ('13900000002', '222222', {}, 0)",
        ago(0)
    ));
    app.sql("INSERT INTO Session (tokenHash, appType, userId, createTm, expireTm) VALUES ('old', 'user', 1, '2020-01-01 00:00:00', '2020-02-01 00:00:00')");
    app.sql(&format!(
        "INSERT INTO Session (tokenHash, appType, userId, createTm, expireTm) VALUES ('live', 'user', 1, {}, {})",
        ago(0),
        ago(-30 * 86400)
    ));
    let t0 = std::time::Instant::now();
    while app.count("SELECT COUNT(*) FROM VCode WHERE phone='13900000001'") != 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "housekeeping ran");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM VCode WHERE phone='13900000002'"), 1, "a fresh code stays");
    assert_eq!(app.count("SELECT COUNT(*) FROM Session WHERE tokenHash='old'"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM Session WHERE tokenHash='live'"), 1);
}

#[test]
fn permission_words_are_declared_by_the_product_and_only_declared_ones_can_be_given() {
    let emp = [("_app", "emp")];
    let login = |app: &mut crate::helpers::TestApp| {
        app.ok("login", &emp, crate::helpers::Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    };
    let mut plain = spawn_with(|_| {});
    login(&mut plain);
    let v =
        plain.err("Employee.add", &emp, crate::helpers::Body::Form(&[("uname", "g1"), ("perms", "emp,checkin")]), 1);
    assert_eq!(v[1], json!("未知权限: checkin"));
    let mut with = spawn_product(Arc::new(WithEdges), |_| {});
    login(&mut with);
    with.ok("Employee.add", &emp, crate::helpers::Body::Form(&[("uname", "g1"), ("perms", "emp,checkin")]));
    let words: Vec<&str> = with.state.objects.perms().iter().map(|(p, _)| p.0).collect();
    assert_eq!(words, ["emp", "mgr", "checkin"]);
    // The staff consoles learn the words and their labels from initClient; buyers are not told.
    let init = with.ok("initClient", &emp, crate::helpers::Body::None);
    assert_eq!(init["perms"], json!([["emp", "员工"], ["mgr", "经理"], ["checkin", "检票员"]]));
    let init = with.ok("initClient", &[], crate::helpers::Body::None);
    assert!(init.get("perms").is_none(), "{init}");
}
