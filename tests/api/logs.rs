//! ApiLog, ObjLog and OrderLog rows (issue 3 point 8; protocol §7).

use serde_json::{json, Value};

use crate::account::login_by_code;
use crate::helpers::{spawn_app, Body, TestApp};

const EMP: (&str, &str) = ("_app", "emp");

fn api_log(app: &mut TestApp, cond: &str) -> Value {
    app.flush_log();
    app.sql(&format!("SELECT * FROM ApiLog WHERE {cond} ORDER BY id"))
}

#[test]
fn a_call_leaves_an_api_log_row_with_every_field() {
    let mut app = spawn_app();
    let uri = "/api/login?_app=user&_ver=a/2";
    let body = "uname=13800000001&code=080909";
    let r = app.request(
        "POST",
        uri,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("User-Agent", "jdy-test/1.0"),
            ("X-Forwarded-For", "10.1.2.3"),
        ],
        body.as_bytes(),
    );
    let reply = r.json();
    let token = reply[1]["_token"].as_str().unwrap();
    let row = api_log(&mut app, "ac='login'")[0].clone();
    let sid = app.count("SELECT id FROM Session");
    assert_eq!(row["tm"].as_str().unwrap().len(), 19);
    assert_eq!(row["addr"], json!("127.0.0.1; 10.1.2.3"));
    assert_eq!(row["ua"], json!("jdy-test/1.0"));
    assert_eq!(row["app"], json!("user"));
    assert_eq!(row["ses"], json!(sid.to_string()));
    assert_eq!(row["userId"], reply[1]["id"], "filled after the login");
    assert!(row["t"].as_i64().unwrap() >= 0);
    assert_eq!(row["retval"], json!(0));
    assert_eq!(row["req"], json!("_app=user, _ver=a/2;\nuname=13800000001, code=080909"));
    let res = row["res"].as_str().unwrap();
    assert!(res.contains("\"_token\":\"?\"") && !res.contains(token), "{res}");
    assert_eq!(row["reqsz"], json!(uri.len() + body.len()));
    assert_eq!(row["ressz"], json!(r.body.len()));
    assert_eq!(row["ver"], json!("a/2"));
    assert_eq!(row["serverRev"], json!("test"));
    // Guests have no userId; the web is the default client.
    app.cookies.clear();
    app.call("Ordr.query", &[], Body::None);
    let row = api_log(&mut app, "ac='Ordr.query'")[0].clone();
    assert_eq!((&row["userId"], &row["ver"], &row["retval"]), (&json!(null), &json!("web"), &json!(2)));
}

#[test]
fn passwords_and_tokens_never_reach_the_log() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    let tok = app.ok("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "Secret-1")]))["_token"].clone();
    app.cookies.clear();
    app.err("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "Wrong-9")]), -1);
    let r = app.ok("login", &[], Body::Form(&[("token", tok.as_str().unwrap())]));
    assert_eq!(r["phone"], json!("13800000001"));
    let t2 = app.ok("refreshToken", &[], Body::None)["_token"].clone();
    // A login inside a batch: its reply is nested in the batch's reply, and logged in ApiLog1 too.
    let login = json!([{"ac": "login", "post": {"uname": "13800000001", "pwd": "Secret-1"}}]);
    let t3 = app.ok("batch", &[], Body::Json(login))[0][1]["_token"].clone();
    assert!(t3.is_string());
    let rows = api_log(&mut app, "1=1");
    let all = format!("{rows}{}", app.sql("SELECT * FROM ApiLog1"));
    for secret in ["Secret-1", "Wrong-9", tok.as_str().unwrap(), t2.as_str().unwrap(), t3.as_str().unwrap()] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    let chpwd = rows.as_array().unwrap().iter().find(|r| r["ac"] == json!("chpwd")).unwrap();
    assert_eq!(chpwd["req"], json!(";\noldpwd=?, pwd=?"));
    let failed = rows.as_array().unwrap().iter().find(|r| r["retval"] == json!(-1)).unwrap();
    assert!(failed["res"].as_str().unwrap().contains("手机号或密码错误"));
    assert_eq!(failed["userId"], json!(null));
}

#[test]
fn long_requests_and_replies_are_truncated() {
    let mut app = spawn_app();
    app.login_admin();
    let long = "长".repeat(5000);
    let id = app.ok("Cinf.add", &[("_app", "admin")], Body::Form(&[("name", "long"), ("value", &long)]));
    app.ok("Cinf.get", &[("_app", "admin"), ("id", &id.to_string())], Body::None);
    let bad = "x".repeat(3000);
    app.err("Cinf.add", &[("_app", "admin")], Body::Form(&[(&bad, "1")]), 1);
    let rows = api_log(&mut app, "ac IN ('Cinf.add', 'Cinf.get')");
    let chars = |v: &Value, k: &str| v[k].as_str().unwrap().chars().count();
    assert!(chars(&rows[0], "req") <= 2003 + 20, "{}", chars(&rows[0], "req"));
    assert!(chars(&rows[1], "res") <= 203, "success replies keep 200 characters");
    assert!(chars(&rows[2], "res") > 203 && chars(&rows[2], "res") <= 2003, "errors keep 2000");
}

#[test]
fn bulk_and_batch_writes_leave_obj_log_rows_pointing_at_their_calls() {
    let mut app = spawn_app();
    app.login_admin();
    let adm = [("_app", "admin")];
    let batch = json!([
        {"ac": "Ordr.add", "post": {"dscr": "b1"}},
        {"ac": "Ordr.setIf", "get": {"cond": "dscr='b1'"}, "post": {"cmt": "c"}},
    ]);
    app.ok("batch", &adm, Body::Json(batch));
    app.ok("Ordr.delIf", &[adm[0], ("cond", "cmt='c'")], Body::None);
    let v = app.sql("SELECT obj, objId, dscr, apiLogId, apiLog1Id FROM ObjLog ORDER BY id");
    let rows = v.as_array().unwrap();
    let dscr: Vec<&str> = rows.iter().map(|r| r["dscr"].as_str().unwrap()).collect();
    assert_eq!(dscr, ["添加", "条件更新", "条件删除"]);
    assert!(rows[0]["apiLog1Id"].is_i64() && rows[1]["apiLog1Id"].is_i64(), "batch sub-calls are named");
    assert_eq!((&rows[1]["objId"], &rows[2]["apiLog1Id"]), (&json!(null), &json!(null)));
    app.flush_log();
    let ac = app.sql(&format!("SELECT ac FROM ApiLog WHERE id={}", rows[0]["apiLogId"]));
    assert!(ac[0]["ac"].as_str().unwrap().starts_with("batch:2"), "{ac}");
}

#[test]
fn staff_read_obj_log_with_its_call_and_narrow_it_with_obj_filter() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    let a = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "a")]));
    let b = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "b")]));
    app.ok("Ordr.set", &[("id", &b.to_string())], Body::Form(&[("status", "CA")]));
    app.ok("login", &[EMP], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    app.ok("Ordr.set", &[EMP, ("id", &a.to_string())], Body::Form(&[("cmt", "noted")]));
    app.flush_log();

    let v = app.ok("ObjLog.query", &[EMP, ("fmt", "list"), ("res", "obj,objId,dscr,ac,app,empName")], Body::None);
    let list = v["list"].as_array().unwrap();
    assert_eq!(list.len(), 5, "{v}");
    assert_eq!(
        list[0],
        json!({"obj": "Ordr", "objId": a, "dscr": "更新", "ac": "Ordr.set", "app": "emp", "empName": "管理员"})
    );
    assert_eq!(list[1]["empName"], json!(null), "a user's change names no employee");

    let body =
        json!({"cond": {"obj": "Ordr"}, "objFilter": {"cond": "status='CA'"}, "res": "objId,dscr", "fmt": "list"});
    let v = app.ok("ObjLog.query", &[EMP], Body::Json(body));
    assert_eq!(v["list"], json!([{"objId": b, "dscr": "更新"}, {"objId": b, "dscr": "添加"}]));
    app.err("ObjLog.query", &[EMP, ("objFilter", "{\"cond\":\"status='CA'\"}")], Body::None, 1);
    let body = json!({"cond": {"obj": "Ordr"}, "objFilter": {"cond": "nosuch=1"}});
    app.err("ObjLog.query", &[EMP], Body::Json(body), 1);
}
