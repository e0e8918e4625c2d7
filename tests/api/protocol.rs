//! Entry points, envelope, headers, bodies and error codes (protocol §1).

use serde_json::json;

use crate::helpers::{on_pg, spawn_app, spawn_with, Body};

#[test]
fn every_entry_form_reaches_the_same_function() {
    let mut app = spawn_app();
    for path in ["/api/whoami", "/api?ac=whoami", "/api.php/whoami", "/api.php?ac=whoami", "/api/login?_ac=whoami"] {
        let v = app.request("GET", path, &[], b"").json();
        assert_eq!(v[0], json!(2), "{path}: {v}");
    }
    let v = app.request("GET", "/api", &[], b"").json();
    assert_eq!(v[0], json!(1));
    assert_eq!(v[1], json!("缺少参数`ac`"));
}

#[test]
fn answers_are_text_plain_no_cache_with_protocol_headers() {
    let mut app = spawn_app();
    let r = app.request("GET", "/api/whoami", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("x-daca-server-rev"), Some("test"));
    assert_eq!(r.header("x-daca-test-mode"), Some("1"));
    assert!(r.text().ends_with('\n'));
}

#[test]
fn cors_echoes_the_origin_with_credentials_and_options_has_no_body() {
    let mut app = spawn_app();
    let r = app.request("GET", "/api/whoami", &[("Origin", "http://a.example")], b"");
    assert_eq!(r.header("access-control-allow-origin"), Some("http://a.example"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(r.header("access-control-expose-headers").unwrap().contains("X-Daca-Server-Rev"));
    let r = app.request(
        "OPTIONS",
        "/api/Ordr.query",
        &[("Origin", "http://a.example"), ("Access-Control-Request-Headers", "content-type")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("access-control-allow-headers"), Some("content-type"));
    let r = app.request("HEAD", "/api/whoami", &[], b"");
    assert!(r.body.is_empty());
}

#[test]
fn unknown_actions_are_parameter_errors() {
    let mut app = spawn_app();
    let v = app.err("noSuchFunction", &[], Body::None, 1);
    assert_eq!(v[1], json!("接口不支持"));
    app.login_admin();
    app.err("NoSuchTable.query", &[("_app", "admin")], Body::None, 1);
    app.err("Ordr.noSuchOp", &[("_app", "admin")], Body::None, 1);
    app.err("ordr.query", &[("_app", "admin")], Body::None, 1);
}

#[test]
fn object_calls_without_login_are_noauth_and_with_the_wrong_login_forbidden() {
    let mut app = spawn_app();
    app.err("Ordr.query", &[], Body::None, 2);
    app.err("Employee.query", &[("_app", "emp")], Body::None, 2);
    // An admin login does not carry over to another app type.
    app.login_admin();
    app.err("Ordr.query", &[], Body::None, 2);
    // A logged-in employee asking for an object it has no access to is forbidden.
    app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    app.err("Pwd.query", &[("_app", "emp")], Body::None, 5);
}

#[test]
fn url_parameters_win_over_body_parameters() {
    let mut app = spawn_app();
    app.login_admin();
    let id = app.ok("Ordr.add", &[("_app", "admin")], Body::Json(json!({"dscr": "a"})));
    let id2 = app.ok("Ordr.add", &[("_app", "admin")], Body::Json(json!({"dscr": "b"})));
    let v = app.ok("Ordr.get", &[("_app", "admin"), ("id", &id.to_string())], Body::Form(&[("id", &id2.to_string())]));
    assert_eq!(v["dscr"], json!("a"));
}

#[test]
fn rest_forms_map_to_standard_operations() {
    let mut app = spawn_app();
    app.login_admin();
    let r = app.request("POST", "/api/Ordr?_app=admin", &[("Content-Type", "application/json")], br#"{"dscr":"rest"}"#);
    let id = r.json()[1].as_i64().unwrap();
    let v = app.request("GET", &format!("/api/Ordr/{id}?_app=admin"), &[], b"").json();
    assert_eq!(v[1]["dscr"], json!("rest"));
    let v = app
        .request(
            "PATCH",
            &format!("/api/Ordr/{id}?_app=admin"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"dscr=patched",
        )
        .json();
    assert_eq!(v, json!([0, "OK"]));
    let v = app.request("GET", "/api/Ordr?_app=admin&res=id,dscr&fmt=list", &[], b"").json();
    assert_eq!(v[1]["list"][0]["dscr"], json!("patched"));
    let v = app.request("DELETE", &format!("/api/Ordr/{id}?_app=admin"), &[], b"").json();
    assert_eq!(v, json!([0, "OK"]));
    let v = app.request("POST", &format!("/api/Ordr/{id}?_app=admin"), &[], b"").json();
    assert_eq!(v[0], json!(1));
    let v = app.request("PUT", "/api/whoami", &[], b"").json();
    assert_eq!(v[0], json!(1));
}

#[test]
fn malformed_json_bodies_are_refused_and_change_nothing() {
    let mut app = spawn_app();
    app.login_admin();
    for body in [&b"{\"dscr\": "[..], b"42", b"\"str\"", b"{'a':1}"] {
        let r = app.request("POST", "/api/Ordr.add?_app=admin", &[("Content-Type", "application/json")], body);
        let v = r.json();
        assert_eq!(v[0], json!(1), "{}", String::from_utf8_lossy(body));
        assert_eq!(v[2], json!("bad json-format body"));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 0);
}

#[test]
fn a_huge_body_is_refused_and_the_server_keeps_serving() {
    let mut app = spawn_with(|c| c.max_body = 64 * 1024);
    app.login_admin();
    let big = format!("dscr={}", "x".repeat(200 * 1024));
    let r = app.request(
        "POST",
        "/api/Ordr.add?_app=admin",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        big.as_bytes(),
    );
    let v = r.json();
    assert_eq!(v[0], json!(1));
    assert_eq!(v[1], json!("请求内容太大"));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 0);
    app.ok("Ordr.add", &[("_app", "admin")], Body::Form(&[("dscr", "small")]));
}

#[test]
fn multipart_bodies_carry_fields() {
    let mut app = spawn_app();
    app.login_admin();
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"dscr\"\r\n\r\n多部分\r\n--XyZ--\r\n";
    let r = app.request(
        "POST",
        "/api/Ordr.add?_app=admin",
        &[("Content-Type", "multipart/form-data; boundary=XyZ")],
        body.as_bytes(),
    );
    let id = r.json()[1].as_i64().unwrap();
    let v = app.ok("Ordr.get", &[("_app", "admin"), ("id", &id.to_string())], Body::None);
    assert_eq!(v["dscr"], json!("多部分"));
}

#[test]
fn empty_handler_results_are_ok_and_output_options_work() {
    let mut app = spawn_app();
    let v = app.call("logout", &[], Body::None);
    assert_eq!(v, json!([0, "OK"]));
    let r = app.call_raw("logout", &[("_jsonp", "cb")], Body::None);
    assert!(r.text().starts_with("cb("), "{}", r.text());
    let r = app.call_raw("logout", &[("retfn", "obj")], Body::None);
    assert_eq!(r.json()["code"], json!(0));
    let r = app.call_raw("logout", &[("_raw", "1")], Body::None);
    assert_eq!(r.json(), json!("OK"));
}

#[test]
fn outside_test_mode_json_is_compact_and_test_helpers_are_refused() {
    let mut app = spawn_with(|c| c.test_mode = false);
    let r = app.call_raw("execSql", &[("sql", "SELECT 1")], Body::None);
    assert_eq!(r.json()[0], json!(2));
    assert!(r.header("x-daca-test-mode").is_none());
    assert!(!r.text().contains("\n  "), "compact JSON outside test mode");
    app.login_admin();
    // The admin may run SQL even outside test mode (it can already do everything).
    assert_eq!(app.ok("execSql", &[("_app", "admin")], Body::Form(&[("sql", "SELECT 1 AS x")])), json!([{"x": 1}]));
}

#[test]
fn admin_login_needs_the_configured_credential() {
    let mut app = spawn_app();
    let v = app.err("login", &[("_app", "admin")], Body::Form(&[("uname", "admin"), ("pwd", "wrong")]), -1);
    assert_eq!(v[1], json!("用户名或密码错误"));
    let v = app.ok("login", &[("_app", "admin")], Body::Form(&[("uname", "admin"), ("pwd", "admin123")]));
    assert_eq!(v["id"], json!(1));
    assert!(v["_token"].as_str().unwrap().len() >= 32);
    assert!(v["_expire"].as_i64().unwrap() > 0);
    let mut unset = spawn_with(|c| c.admin_cred = None);
    let v = unset.err("login", &[("_app", "admin")], Body::Form(&[("uname", "admin"), ("pwd", "admin123")]), -1);
    assert_eq!(v[1], json!("超级管理员用户未设置，不可登录。"));
}

#[test]
fn a_bearer_token_works_like_the_cookie_and_logout_revokes_it() {
    let mut app = spawn_app();
    let v = app.ok("login", &[("_app", "admin")], Body::Form(&[("uname", "admin"), ("pwd", "admin123")]));
    let token = v["_token"].as_str().unwrap().to_string();
    app.cookies.clear();
    let auth = format!("Bearer {token}");
    let v = app.request("GET", "/api/whoami?_app=admin", &[("Authorization", &auth)], b"").json();
    assert_eq!(v[0], json!(0));
    let v = app.request("GET", "/api/logout?_app=admin", &[("Authorization", &auth)], b"").json();
    assert_eq!(v, json!([0, "OK"]));
    let v = app.request("GET", "/api/whoami?_app=admin", &[("Authorization", &auth)], b"").json();
    assert_eq!(v[0], json!(2));
}

#[test]
fn a_session_removed_from_the_table_ends_once_the_cache_rechecks() {
    let mut app = spawn_with(|c| c.session_recheck = 0);
    app.login_admin();
    app.ok("whoami", &[("_app", "admin")], Body::None);
    app.sql("UPDATE Session SET revokeTm='2000-01-01 00:00:00'");
    app.err("whoami", &[("_app", "admin")], Body::None, 2);
}

#[test]
fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    use std::io::{Read, Write};
    let app = spawn_with(|c| c.header_timeout = 1);
    let mut s = std::net::TcpStream::connect(app.addr).unwrap();
    s.write_all(b"GET /api/whoami HTTP/1.1\r\nHost: x\r\n").unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let t = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(t.elapsed() < std::time::Duration::from_secs(8), "closed by the server, not by our read timeout");
}

#[test]
fn health_answers_ok_without_a_call_or_an_apilog_row() {
    let mut app = crate::helpers::spawn_app();
    app.flush_log();
    let before = app.count("SELECT COUNT(*) FROM ApiLog");
    let r = app.request("GET", "/api/health", &[], b"");
    assert_eq!((r.status, r.text()), (200, "ok\n".to_string()));
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    app.flush_log();
    // The count itself is an execSql call with its own row.
    assert_eq!(app.count("SELECT COUNT(*) FROM ApiLog"), before + 1);
}

/// The suite runs on the backend it was asked for (`P_TEST_BACKEND=postgres` runs it on PostgreSQL):
/// a harness that quietly fell back to SQLite would pass the second run without testing anything.
#[test]
fn the_suite_runs_on_the_backend_it_was_asked_for() {
    let mut app = spawn_app();
    assert_eq!(app.state.db.is_pg(), on_pg());
    let r = app.call("initClient", &[], Body::None);
    assert_eq!(r[0], 0, "{r}");
}

/// `initClient` tells every app type the server's revision, the test mode, its own name and the
/// plugins, in that order; staff consoles also get the permission words, buyers do not.
#[test]
fn init_client_tells_each_app_type_the_revision_the_test_mode_and_its_own_name() {
    let mut app = spawn_app();
    let rev = json!(app.state.config.server_rev);
    let test_mode = json!(app.state.config.test_mode as i32);
    for (name, staff) in [("user", false), ("emp", true), ("admin", true)] {
        let v = app.ok("initClient", &[("_app", name)], Body::None);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let want: &[&str] = if staff {
            &["serverRev", "testMode", "appType", "plugins", "perms"]
        } else {
            &["serverRev", "testMode", "appType", "plugins"]
        };
        assert_eq!(keys, want, "{v}");
        assert_eq!(
            (&v["serverRev"], &v["testMode"], &v["appType"], &v["plugins"]),
            (&rev, &test_mode, &json!(name), &json!({}))
        );
        if staff {
            assert_eq!(v["perms"][0], json!(["emp", "员工"]), "{v}");
        }
    }
    // Outside test mode, and with a revision that needs escaping in JSON.
    let mut prod = spawn_with(|c| {
        c.test_mode = false;
        c.server_rev = "2.0 \"rc\"".into();
    });
    let v = prod.ok("initClient", &[], Body::None);
    assert_eq!(v, json!({"serverRev": "2.0 \"rc\"", "testMode": 0, "appType": "user", "plugins": {}}));
}
