//! `batch` (protocol §1.8), transactions per call (§1.9), ApiLog/ApiLog1 (§7, §9.13) and `_debug`.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_with, Body};

#[test]
fn batch_calls_see_earlier_results_through_references() {
    let mut app = spawn_app();
    app.login_admin();
    let calls = json!([
        {"ac": "Ordr.add", "post": {"dscr": "first", "amount": 5}},
        {"ac": "Ordr.add", "post": {"dscr": "second {$1}", "cmt": "{$-1}", "amount": "{$1 * 3}"}, "ref": ["dscr", "cmt", "amount"]},
        {"ac": "Ordr.query", "get": {"res": "id,dscr,cmt,amount", "cond": "id IN ({$1},{$2})", "fmt": "list"}, "ref": ["cond"]},
        {"ac": "Ordr.get", "get": {"id": "{$-1.list[1].id}", "res": "dscr"}, "ref": ["id"]}
    ]);
    let v = app.ok("batch", &[("_app", "admin")], Body::Json(calls));
    let r = v.as_array().unwrap();
    assert_eq!(r.len(), 4);
    let id1 = r[0][1].as_i64().unwrap();
    assert_eq!(r[2][1]["list"][1]["dscr"], json!(format!("second {id1}")));
    assert_eq!(r[2][1]["list"][1]["cmt"], json!(id1.to_string()));
    assert_eq!(r[2][1]["list"][1]["amount"], json!(format!("{}.00", id1 * 3)));
    assert_eq!(r[3], json!([0, {"dscr": format!("second {id1}")}]));
}

#[test]
fn without_use_trans_each_call_commits_on_its_own() {
    let mut app = spawn_app();
    app.login_admin();
    let calls = json!([
        {"ac": "Ordr.add", "post": {"dscr": "kept"}},
        {"ac": "Ordr.add", "post": {"amount": "bad"}},
        {"get": {"x": 1}},
        {"ac": "Ordr.add", "post": {"dscr": "kept too"}}
    ]);
    let v = app.ok("batch", &[("_app", "admin")], Body::Json(calls));
    let codes: Vec<i64> = v.as_array().unwrap().iter().map(|r| r[0].as_i64().unwrap()).collect();
    assert_eq!(codes, [0, 1, 1, 0]);
    assert_eq!(v[2][2], json!("bad batch request: require `ac'"));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 2);
}

#[test]
fn with_use_trans_the_first_failure_cancels_the_rest_and_rolls_everything_back() {
    let mut app = spawn_app();
    app.login_admin();
    let calls = json!([
        {"ac": "Ordr.add", "post": {"dscr": "gone"}},
        {"ac": "Ordr.add", "post": {"amount": "bad"}},
        {"ac": "Ordr.add", "post": {"dscr": "never"}}
    ]);
    let v = app.ok("batch", &[("_app", "admin"), ("useTrans", "1")], Body::Json(calls));
    assert_eq!(v[0][0], json!(0));
    assert_eq!(v[1][0], json!(1));
    assert_eq!(v[2], json!([-100, "事务失败，取消执行", "batch call cancelled."]));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM ObjLog"), 0);
    let ok = json!([{"ac": "Ordr.add", "post": {"dscr": "a"}}, {"ac": "Ordr.add", "post": {"dscr": "b"}}]);
    app.ok("batch", &[("_app", "admin"), ("useTrans", "1")], Body::Json(ok));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 2);
}

#[test]
fn batch_requires_a_posted_json_array() {
    let mut app = spawn_app();
    app.err("batch", &[], Body::None, 1);
    app.err("batch", &[], Body::Json(json!({"ac": "whoami"})), 1);
    let v = app.ok("batch", &[], Body::Json(json!([{"ac": "whoami"}, {"ac": "x", "get": "{$9}"}])));
    assert_eq!(v[0][0], json!(2), "permissions are checked per call");
    assert_eq!(v[1][0], json!(1));
}

#[test]
fn a_failed_call_rolls_back_all_its_writes() {
    let mut app = spawn_app();
    app.login_admin();
    // The sub-object write fails after the parent row was inserted: neither remains.
    app.err("Ordr.add", &[("_app", "admin")], Body::Json(json!({"dscr": "p", "atts": [{"attId": "x"}]})), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM OrderAtt"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM ObjLog"), 0);
}

#[test]
fn every_call_gets_an_apilog_row_and_batch_calls_apilog1_rows() {
    let mut app = spawn_app();
    app.login_admin();
    app.err("Ordr.get", &[("_app", "admin"), ("id", "77")], Body::None, 1);
    app.ok(
        "batch",
        &[("_app", "admin")],
        Body::Json(json!([{"ac": "whoami"}, {"ac": "Ordr.query", "get": {"res": "id"}}])),
    );
    app.flush_log();
    let rows = app.sql("SELECT ac, retval, app, userId, req, ressz, t FROM ApiLog ORDER BY id");
    let rows = rows.as_array().unwrap();
    let acs: Vec<&str> = rows.iter().map(|r| r["ac"].as_str().unwrap()).collect();
    assert_eq!(&acs[..3], ["login", "Ordr.get", "batch:2,whoami,Ordr.query"]);
    assert_eq!(rows[0]["userId"], json!(1), "a login records the new id");
    assert!(rows[0]["req"].as_str().unwrap().contains("pwd=?"), "passwords are masked");
    assert!(!rows[0]["req"].as_str().unwrap().contains("admin123"));
    assert_eq!(rows[1]["retval"], json!(1));
    assert_eq!(rows[1]["app"], json!("admin"));
    let batch_id = app.count("SELECT id FROM ApiLog WHERE ac LIKE 'batch%'");
    let subs = app.sql(&format!("SELECT ac, retval FROM ApiLog1 WHERE apiLogId={batch_id} ORDER BY id"));
    assert_eq!(subs, json!([{"ac": "whoami", "retval": 0}, {"ac": "Ordr.query", "retval": 0}]));
}

#[test]
fn debug_level_nine_shows_the_sql_in_test_mode() {
    let mut app = spawn_app();
    app.login_admin();
    let v = app.call("Ordr.query", &[("_app", "admin"), ("_debug", "9"), ("res", "id")], Body::None);
    let debug: Vec<&Value> = v.as_array().unwrap()[2..].iter().collect();
    assert!(debug.iter().any(|d| d.as_str().unwrap().contains("SELECT")), "{v}");
    let mut prod = spawn_with(|c| c.test_mode = false);
    prod.login_admin();
    let v = prod.call("Ordr.query", &[("_app", "admin"), ("_debug", "9"), ("res", "id")], Body::None);
    assert_eq!(v.as_array().unwrap().len(), 2, "never shown outside test mode");
}

#[test]
fn apilog_ids_continue_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (d1, d2) = (db.clone(), db.clone());
    {
        let mut app = spawn_with(move |c| c.db_path = d1);
        for _ in 0..3 {
            app.call("whoami", &[], Body::None);
        }
    }
    let mut app = spawn_with(move |c| c.db_path = d2);
    app.call("whoami", &[], Body::None);
    app.flush_log();
    assert_eq!(app.count("SELECT COUNT(DISTINCT id) FROM ApiLog"), app.count("SELECT COUNT(*) FROM ApiLog"));
    assert!(app.count("SELECT COUNT(*) FROM ApiLog") >= 4, "the three rows from before the restart survived");
}
