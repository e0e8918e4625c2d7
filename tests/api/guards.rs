//! What the consoles rely on the server for (issue 10): the last manager stays, disabled employees
//! cannot log in, a full last page has no `nextkey`, orders are found by the buyer's name, and a plain
//! order's amount is bounded.

use serde_json::{json, Value};

use crate::account::login_by_code;
use crate::helpers::{spawn_app, spawn_with, Body, TestApp};

const EMP: (&str, &str) = ("_app", "emp");

fn login_mgr(app: &mut TestApp) -> Value {
    app.cookies.clear();
    app.ok("login", &[EMP], Body::Form(&[("uname", "admin"), ("pwd", "1234")]))
}

#[test]
fn the_last_manager_cannot_be_deleted_demoted_or_disabled() {
    let mut app = spawn_app();
    let me = login_mgr(&mut app);
    let id = me["id"].to_string();
    let clerk = app.ok("Employee.add", &[EMP], Body::Form(&[("uname", "c1"), ("pwd", "c-1")])).to_string();
    let v = app.err("Employee.set", &[EMP, ("id", &id)], Body::Form(&[("perms", "emp")]), 5);
    assert_eq!(v[1], json!("至少要保留一名经理"));
    let v = app.err("Employee.setIf", &[EMP, ("cond", "id>0")], Body::Form(&[("perms", "emp")]), 5);
    assert_eq!(v[1], json!("至少要保留一名经理"));
    let v = app.err("Employee.delIf", &[EMP, ("cond", "perms LIKE '%mgr%'")], Body::None, 5);
    assert_eq!(v[1], json!("至少要保留一名经理"));
    // Through the admin too, and by deleting.
    app.cookies.clear();
    app.login_admin();
    let v = app.err("Employee.del", &[("_app", "admin"), ("id", &id)], Body::None, 5);
    assert_eq!(v[1], json!("至少要保留一名经理"));
    let v = app.err("Employee.set", &[("_app", "admin"), ("id", &id)], Body::Form(&[("disableFlag", "1")]), 5);
    assert_eq!(v[1], json!("至少要保留一名经理"));
    assert_eq!(app.count("SELECT COUNT(*) FROM Employee WHERE perms LIKE '%mgr%' AND COALESCE(disableFlag,0)=0"), 1);
    // With a second manager the first may go.
    app.ok("Employee.set", &[("_app", "admin"), ("id", &clerk)], Body::Form(&[("perms", "emp,mgr")]));
    app.ok("Employee.set", &[("_app", "admin"), ("id", &id)], Body::Form(&[("perms", "emp")]));
}

#[test]
fn a_disabled_employee_cannot_log_in_and_loses_its_sessions() {
    let mut app = spawn_app();
    login_mgr(&mut app);
    let clerk =
        app.ok("Employee.add", &[EMP], Body::Form(&[("uname", "c1"), ("phone", "13700000001"), ("pwd", "c-1")]));
    let clerk = clerk.to_string();
    let mgr_cookies = app.cookies.clone();
    app.cookies.clear();
    app.ok("login", &[EMP], Body::Form(&[("uname", "c1"), ("pwd", "c-1")]));
    let clerk_cookies = app.cookies.clone();
    app.ok("whoami", &[EMP], Body::None);

    // A clerk cannot disable anyone, not even itself; a manager cannot disable itself.
    app.err("Employee.set", &[EMP], Body::Form(&[("disableFlag", "1")]), 5);
    app.cookies = mgr_cookies.clone();
    let v = app.err("Employee.set", &[EMP], Body::Form(&[("disableFlag", "1")]), 5);
    assert_eq!(v[1], json!("不能禁用自己"));
    app.ok("Employee.set", &[EMP, ("id", &clerk)], Body::Form(&[("disableFlag", "1")]));

    app.cookies = clerk_cookies;
    app.err("whoami", &[EMP], Body::None, 2);
    app.cookies.clear();
    let v = app.err("login", &[EMP], Body::Form(&[("uname", "c1"), ("pwd", "c-1")]), -1);
    assert_eq!(v[1], json!("账号已禁用, 请联系经理"));
    let v = app.err("login", &[EMP], Body::Form(&[("uname", "c1"), ("pwd", "wrong")]), -1);
    assert_eq!(v[1], json!("用户名或密码错误"), "a wrong password learns nothing more");
    let code = app.ok("genCode", &[("phone", "13700000001"), ("debug", "1")], Body::None)["code"]
        .as_str()
        .unwrap()
        .to_string();
    app.err("login", &[EMP], Body::Form(&[("uname", "13700000001"), ("code", &code)]), -1);

    app.cookies = mgr_cookies;
    app.ok("Employee.set", &[EMP, ("id", &clerk)], Body::Form(&[("disableFlag", "0")]));
    app.cookies.clear();
    app.ok("login", &[EMP], Body::Form(&[("uname", "c1"), ("pwd", "c-1")]));
}

fn add_orders(app: &mut TestApp, n: usize) {
    for i in 0..n {
        app.ok("Ordr.add", &[], Body::Form(&[("dscr", &format!("o{i}")), ("amount", "10")]));
    }
}

#[test]
fn a_full_last_page_has_no_nextkey_in_either_paging_mode() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    add_orders(&mut app, 20);
    let v = app.ok("Ordr.query", &[("res", "id"), ("pagesz", "20"), ("fmt", "list")], Body::None);
    assert_eq!(v["list"].as_array().unwrap().len(), 20);
    assert!(v.get("nextkey").is_none(), "20 of 20 rows: no next page: {v}");
    let v = app.ok("Ordr.query", &[("res", "id"), ("pagesz", "20"), ("page", "1"), ("fmt", "list")], Body::None);
    assert_eq!(v["total"], json!(20));
    assert!(v.get("nextkey").is_none(), "{v}");
    let v = app.ok("Ordr.query", &[("res", "id"), ("pagesz", "10"), ("fmt", "list")], Body::None);
    let key = v["nextkey"].clone();
    assert!(key.is_i64(), "10 of 20: a next page: {v}");
    let v = app.ok(
        "Ordr.query",
        &[("res", "id"), ("pagesz", "10"), ("pagekey", &key.to_string()), ("fmt", "list")],
        Body::None,
    );
    assert_eq!(v["list"].as_array().unwrap().len(), 10);
    assert!(v.get("nextkey").is_none(), "the second page is the last: {v}");
    let v = app.ok(
        "Ordr.query",
        &[("res", "id"), ("pagesz", "10"), ("page", "2"), ("orderby", "amount"), ("fmt", "list")],
        Body::None,
    );
    assert!(v.get("nextkey").is_none(), "offset paging too: {v}");
}

#[test]
fn staff_find_orders_by_the_buyers_name() {
    let mut app = spawn_app();
    login_by_code(&mut app, "13800000001");
    app.ok("User.set", &[], Body::Form(&[("name", "张三丰")]));
    add_orders(&mut app, 2);
    login_mgr(&mut app);
    let v = app.ok("Ordr.query", &[EMP, ("q", "三丰"), ("res", "id,userName"), ("fmt", "list")], Body::None);
    assert_eq!(v["list"].as_array().unwrap().len(), 2, "{v}");
    let v = app.ok("Ordr.query", &[EMP, ("q", "李四"), ("res", "id"), ("fmt", "list")], Body::None);
    assert_eq!(v["list"], json!([]));
}

#[test]
fn a_plain_orders_amount_is_positive_two_decimals_and_bounded() {
    let mut app = spawn_with(|c| c.max_order_cents = 50_000);
    login_by_code(&mut app, "13800000001");
    let msg = json!("金额须大于0、最多两位小数、不超过500.00元");
    for bad in ["99999999", "500.01", "0", "-5", "1.005", "abc"] {
        let v = app.err("Ordr.add", &[], Body::Form(&[("dscr", "x"), ("amount", bad)]), 1);
        assert_eq!(v[1], msg, "{bad}");
    }
    let id = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "x"), ("amount", "500.00")]));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 1, "only the good one");
    login_mgr(&mut app);
    let v = app.err("Ordr.set", &[EMP, ("id", &id.to_string())], Body::Form(&[("amount", "1e9")]), 1);
    assert_eq!(v[1], msg);
}
