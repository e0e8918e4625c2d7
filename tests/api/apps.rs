//! The user and emp apps of the reference product (issue 3 points 5-6; protocol §3.7, §9.4, §9.5).

use serde_json::{json, Value};

use crate::account::{bearer, login_by_code};
use crate::helpers::{spawn_app, Body, TestApp};

const EMP: (&str, &str) = ("_app", "emp");
const ADM: (&str, &str) = ("_app", "admin");

fn s(v: &Value) -> String {
    v.to_string()
}

/// Logs the bootstrap manager in to the emp app (cookie `empid`).
fn login_mgr(app: &mut TestApp) {
    app.ok("login", &[EMP], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
}

/// Adds an employee as the manager and returns (id, token of its own login).
fn add_clerk(app: &mut TestApp, uname: &str, perms: Option<&str>) -> (Value, String) {
    let mut body = vec![("uname", uname), ("name", "店员"), ("pwd", "clerk-pwd")];
    if let Some(p) = perms {
        body.push(("perms", p));
    }
    let id = app.ok("Employee.add", &[EMP], Body::Form(&body));
    (id, bearer_login(app, uname, "clerk-pwd"))
}

/// Logs an employee in without touching the cookie jar; returns its token.
fn bearer_login(app: &mut TestApp, uname: &str, pwd: &str) -> String {
    let saved = app.cookies.clone();
    app.cookies.clear();
    let v = app.ok("login", &[EMP], Body::Form(&[("uname", uname), ("pwd", pwd)]));
    app.cookies = saved;
    v["_token"].as_str().unwrap().to_string()
}

#[test]
fn a_buyer_cannot_reprice_an_order_and_sees_only_its_own_order_pictures() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    let mine = s(&app.ok("Ordr.add", &[], Body::Form(&[("dscr", "mine"), ("amount", "10")])));
    let v = app.err("Ordr.set", &[("id", &mine)], Body::Form(&[("amount", "0.01")]), 5);
    assert!(v[2].as_str().unwrap().contains("amount"), "{v}");
    app.ok("Ordr.set", &[("id", &mine)], Body::Form(&[("cmt", "please hurry")]));
    app.sql(&format!("INSERT INTO OrderAtt (orderId, attId) VALUES ({mine}, 7), (9999, 8)"));
    let v = app.ok("OrderAtt.query", &[("fmt", "list"), ("res", "attId")], Body::None);
    assert_eq!(v["list"], json!([{"attId": 7}]));
    let v = app.ok("Ordr.get", &[("id", &mine)], Body::None);
    assert_eq!(v["atts"].as_array().unwrap().len(), 1);
    assert_eq!(v["orderLog"][0]["action"], json!("CR"));
}

#[test]
fn staff_search_orders_by_number_or_buyer_phone() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    let a = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "a")]));
    app.cookies.clear();
    login_by_code(&mut app, "13900000002");
    let b = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "13800000001 in the text")]));
    login_mgr(&mut app);
    let ids = |app: &mut TestApp, q: &str| -> Vec<Value> {
        let v = app.ok("Ordr.query", &[EMP, ("q", q), ("res", "id"), ("fmt", "array")], Body::None);
        v.as_array().unwrap().iter().map(|r| r["id"].clone()).collect()
    };
    assert_eq!(ids(&mut app, "3800000"), vec![a.clone()], "part of a phone, not the description");
    assert_eq!(ids(&mut app, "13900000002"), vec![b.clone()]);
    assert_eq!(ids(&mut app, &s(&b)), vec![b.clone()], "the order number, exactly");
}

#[test]
fn staff_move_orders_only_along_the_state_machine_and_each_move_is_logged_with_the_employee() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    let a = s(&app.ok("Ordr.add", &[], Body::Form(&[("dscr", "a")])));
    let b = s(&app.ok("Ordr.add", &[], Body::Form(&[("dscr", "b")])));
    login_mgr(&mut app);
    app.ok("Ordr.set", &[EMP, ("id", &a)], Body::Form(&[("status", "CA")]));
    let v = app.err("Ordr.set", &[EMP, ("id", &a)], Body::Form(&[("status", "RE")]), 5);
    assert!(v[1].as_str().unwrap().contains("订单状态"), "{v}");
    app.ok("Ordr.set", &[EMP, ("id", &b)], Body::Form(&[("status", "RE")]));
    app.err("Ordr.setIf", &[EMP, ("cond", "id>0")], Body::Form(&[("status", "CA")]), 5);
    let v = app.sql("SELECT orderId, action, empId FROM OrderLog ORDER BY id");
    assert_eq!(
        v,
        json!([
            {"orderId": a.parse::<i64>().unwrap(), "action": "CR", "empId": null},
            {"orderId": b.parse::<i64>().unwrap(), "action": "CR", "empId": null},
            {"orderId": a.parse::<i64>().unwrap(), "action": "CA", "empId": 1},
            {"orderId": b.parse::<i64>().unwrap(), "action": "RE", "empId": 1},
        ])
    );
    // Staff read the log but do not write it; the admin's bulk update may not skip the state machine.
    app.ok("OrderLog.query", &[EMP], Body::None);
    app.err("OrderLog.add", &[EMP], Body::Form(&[("orderId", &a), ("action", "PA")]), 5);
    app.login_admin();
    app.err("Ordr.setIf", &[ADM, ("cond", "id>0")], Body::Form(&[("status", "CR")]), 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr WHERE status='CR'"), 0);
}

#[test]
fn perms_changes_reach_a_logged_in_employee_without_a_new_login() {
    let mut app = spawn_app();
    login_mgr(&mut app);
    let (id, clerk) = add_clerk(&mut app, "clerk", None);
    let id = s(&id);
    assert_eq!(bearer(&mut app, &clerk, "ApiLog.query", &[EMP], Body::None)[0], json!(5));

    app.ok("Employee.set", &[EMP, ("id", &id)], Body::Form(&[("perms", "emp,mgr")]));
    assert_eq!(bearer(&mut app, &clerk, "ApiLog.query", &[EMP], Body::None)[0], json!(0), "gained mgr");
    app.ok("Employee.set", &[EMP, ("id", &id)], Body::Form(&[("perms", "emp")]));
    assert_eq!(bearer(&mut app, &clerk, "ApiLog.query", &[EMP], Body::None)[0], json!(5), "lost mgr");
    // Bulk changes reach live sessions too.
    app.ok("Employee.setIf", &[EMP, ("cond", &format!("id={id}"))], Body::Form(&[("perms", "emp,mgr")]));
    assert_eq!(bearer(&mut app, &clerk, "ApiLog.query", &[EMP], Body::None)[0], json!(0));
    let v = app.err("Employee.set", &[EMP, ("id", &id)], Body::Form(&[("perms", "emp,boss")]), 1);
    assert!(v[1].as_str().unwrap().contains("boss"));
}

#[test]
fn a_clerk_cannot_raise_its_own_perms_by_any_route() {
    let mut app = spawn_app();
    login_mgr(&mut app);
    let (id, clerk) = add_clerk(&mut app, "clerk", None);
    let id = s(&id);
    for (ac, url, body) in [
        ("Employee.set", vec![EMP], vec![("perms", "emp,mgr")]),
        ("Employee.setIf", vec![EMP, ("cond", "id>0")], vec![("perms", "emp,mgr")]),
        ("Employee.set", vec![EMP], vec![("pwd", "x")]),
        ("Employee.set", vec![EMP], vec![("uname", "boss")]),
        ("Employee.set", vec![EMP], vec![("phone", "13800000000")]),
        ("Employee.add", vec![EMP], vec![("uname", "friend"), ("perms", "emp,mgr")]),
        ("Employee.delIf", vec![EMP, ("cond", "id>0")], vec![]),
    ] {
        let v = bearer(&mut app, &clerk, ac, &url, Body::Form(&body));
        assert_eq!(v[0], json!(5), "{ac} {body:?}: {v}");
    }
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Employee WHERE id={id} AND perms='emp'")), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM Employee"), 2);
    // What a clerk may do: its own name.
    let v = bearer(&mut app, &clerk, "Employee.set", &[EMP], Body::Form(&[("name", "小王")]));
    assert_eq!(v, json!([0, "OK"]));
}

#[test]
fn a_new_employee_gets_emp_perms_and_an_initial_password_and_duplicates_are_refused() {
    let mut app = spawn_app();
    login_mgr(&mut app);
    let id = app.ok("Employee.add", &[EMP], Body::Form(&[("phone", "13700000000"), ("name", "新员工")]));
    let v = app.ok("Employee.get", &[EMP, ("id", &s(&id))], Body::None);
    assert_eq!(v["perms"], json!("emp"));
    let stored = app.sql(&format!("SELECT pwd FROM Employee WHERE id={id}"));
    assert!(stored[0]["pwd"].as_str().unwrap().starts_with("$argon2id$v=19$"));
    bearer_login(&mut app, "13700000000", "1234");
    let v = app.err("Employee.add", &[EMP], Body::Form(&[("phone", "13700000000")]), 1);
    assert_eq!(v[1], json!("手机号已存在"));
    let v = app.err("Employee.set", &[EMP, ("id", &s(&id))], Body::Form(&[("uname", "admin")]), 1);
    assert_eq!(v[1], json!("用户名已存在"));
    app.err("Employee.add", &[EMP], Body::Form(&[("name", "无账号")]), 1);
}

#[test]
fn a_managers_password_reset_or_delete_locks_the_employee_out() {
    let mut app = spawn_app();
    login_mgr(&mut app);
    let (id, clerk) = add_clerk(&mut app, "clerk", None);
    app.ok("Employee.set", &[EMP, ("id", &s(&id))], Body::Form(&[("pwd", "reset-1")]));
    assert_eq!(bearer(&mut app, &clerk, "whoami", &[EMP], Body::None)[0], json!(2));
    let clerk = bearer_login(&mut app, "clerk", "reset-1");
    app.ok("Employee.del", &[EMP, ("id", &s(&id))], Body::None);
    assert_eq!(bearer(&mut app, &clerk, "whoami", &[EMP], Body::None)[0], json!(2));
    app.ok("whoami", &[EMP], Body::None);
}

#[test]
fn staff_manage_users_and_a_deleted_user_is_logged_out() {
    let mut app = spawn_app();
    let v = login_by_code(&mut app, "13800000001");
    let (uid, token) = (s(&v["id"]), v["_token"].as_str().unwrap().to_string());
    app.cookies.clear();
    login_mgr(&mut app);
    let v = app.ok("User.query", &[EMP, ("q", "13800000001"), ("fmt", "list"), ("res", "id,name")], Body::None);
    assert_eq!(v["list"][0]["name"], json!("用户138****0001"));
    app.ok("User.set", &[EMP, ("id", &uid)], Body::Form(&[("name", "老客户")]));
    app.err("User.set", &[EMP, ("id", &uid)], Body::Form(&[("pwd", "x")]), 5);
    let other = app.ok("User.add", &[EMP], Body::Form(&[("phone", "13800000002")]));
    let v = app.err("User.set", &[EMP, ("id", &s(&other))], Body::Form(&[("phone", "13800000001")]), 1);
    assert_eq!(v[1], json!("手机号已存在"));
    // One phone on many rows cannot stay unique: setIf may not set it at all.
    app.err("User.setIf", &[EMP, ("cond", "id>0")], Body::Form(&[("phone", "13900000009")]), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM User WHERE phone='13900000009'"), 0);
    app.ok("User.del", &[EMP, ("id", &uid)], Body::None);
    assert_eq!(bearer(&mut app, &token, "whoami", &[], Body::None)[0], json!(2));
}

#[test]
fn cinf_values_are_read_and_written_by_name_and_the_server_secret_stays_hidden() {
    let mut app = spawn_app();
    // Choosing a password creates the dictionary key.
    login_by_code(&mut app, "13800000001");
    app.ok("chpwd", &[], Body::Form(&[("oldpwd", "_none"), ("pwd", "pw123")]));
    assert_eq!(app.count("SELECT COUNT(*) FROM Cinf WHERE name='pwdDictKey'"), 1);
    login_mgr(&mut app);
    assert_eq!(app.ok("Cinf.getValue", &[EMP, ("name", "motd")], Body::None), json!(null));
    app.ok("Cinf.setValue", &[EMP, ("name", "motd")], Body::Form(&[("value", "hello")]));
    assert_eq!(app.ok("Cinf.getValue", &[EMP, ("name", "motd")], Body::None), json!("hello"));
    app.ok("Cinf.setValue", &[EMP, ("name", "motd")], Body::Form(&[("value", "")]));
    assert_eq!(app.ok("Cinf.getValue", &[EMP, ("name", "motd")], Body::None), json!(null));
    app.err("Cinf.setValue", &[EMP, ("name", "motd")], Body::None, 1);

    let v = app.ok("Cinf.query", &[EMP, ("fmt", "list"), ("res", "name")], Body::None);
    assert_eq!(v["list"], json!([{"name": "motd"}]));
    app.err("Cinf.getValue", &[EMP, ("name", "pwdDictKey")], Body::None, 5);
    app.err("Cinf.setValue", &[EMP, ("name", "pwdDictKey")], Body::Form(&[("value", "00")]), 5);
    app.err("Cinf.add", &[EMP], Body::Form(&[("name", "pwdDictKey"), ("value", "00")]), 5);
    let key_id = app.count("SELECT id FROM Cinf WHERE name='pwdDictKey'").to_string();
    app.err("Cinf.get", &[EMP, ("id", &key_id)], Body::None, 1);
    app.err("Cinf.del", &[EMP, ("id", &key_id)], Body::None, 1);
    assert_eq!(app.ok("Cinf.delIf", &[EMP, ("cond", "id>0")], Body::None), json!(1), "only motd");
    assert_eq!(app.count("SELECT COUNT(*) FROM Cinf WHERE name='pwdDictKey'"), 1);
}
