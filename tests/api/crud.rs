//! The generic object layer (protocol §3, §5) through the reference objects.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Body, TestApp};

const ADM: (&str, &str) = ("_app", "admin");

/// Creates a user with a password (stored the way jdcloud-php stored it: bare md5) and logs in.
pub fn login_user(app: &mut TestApp, phone: &str, name: &str) -> i64 {
    let md5 = format!("{:x}", md5::compute(b"pass1234"));
    app.sql(&format!(
        "INSERT INTO User (phone, name, pwd, createTm) VALUES ('{phone}', '{name}', '{md5}', '2024-01-01 10:00:00')"
    ));
    let v = app.ok("login", &[], Body::Form(&[("uname", phone), ("pwd", "pass1234")]));
    v["id"].as_i64().unwrap()
}

fn s(v: &Value) -> String {
    v.to_string()
}

#[test]
fn add_get_set_del_round_trip_with_the_null_rules_of_set() {
    let mut app = spawn_app();
    app.login_admin();
    let id = app.ok("Ordr.add", &[ADM], Body::Json(json!({"dscr": "a", "cmt": "c", "amount": "12.5", "status": "CR"})));
    let idq = s(&id);
    let v = app.ok("Ordr.get", &[ADM, ("id", &idq), ("res", "id,dscr,cmt,amount,status")], Body::None);
    assert_eq!(v, json!({"id": id, "dscr": "a", "cmt": "c", "amount": "12.50", "status": "CR"}));

    // "" and "null" set NULL, "empty" sets '', JSON null leaves the field alone.
    assert_eq!(
        app.ok("Ordr.set", &[ADM, ("id", &idq)], Body::Json(json!({"dscr": "", "cmt": null, "amount": "empty"}))),
        json!("OK")
    );
    let v = app.ok("Ordr.get", &[ADM, ("id", &idq), ("res", "dscr,cmt,amount")], Body::None);
    assert_eq!(v, json!({"dscr": null, "cmt": "c", "amount": "0.00"}));
    app.ok("Ordr.set", &[ADM, ("id", &idq)], Body::Form(&[("dscr", "empty")]));
    assert_eq!(app.ok("Ordr.get", &[ADM, ("id", &idq), ("res", "dscr")], Body::None), json!({"dscr": ""}));
    app.ok("Ordr.set", &[ADM, ("id", &idq)], Body::Form(&[("cmt", "null")]));
    assert_eq!(app.ok("Ordr.get", &[ADM, ("id", &idq), ("res", "cmt")], Body::None), json!({"cmt": null}));

    assert_eq!(
        app.ok("Ordr.add", &[ADM, ("res", "id,dscr")], Body::Form(&[("dscr", "with res")]))["dscr"],
        json!("with res")
    );
    assert_eq!(app.ok("Ordr.del", &[ADM, ("id", &idq)], Body::None), json!("OK"));
    app.err("Ordr.get", &[ADM, ("id", &idq)], Body::None, 1);
    app.err("Ordr.del", &[ADM, ("id", &idq)], Body::None, 1);
    assert_eq!(app.ok("Ordr.del", &[ADM, ("id", &idq), ("force", "1")], Body::None), json!("OK"));
}

#[test]
fn wrong_types_unknown_columns_and_bad_ids_are_refused_and_write_nothing() {
    let mut app = spawn_app();
    app.login_admin();
    for body in [
        json!({"amount": "abc"}),
        json!({"userId": "12x"}),
        json!({"createTm": "not a date"}),
        json!({"status": "TOO LONG"}),
        json!({"noSuchColumn": 1}),
        json!({"dscr": "ok", "amount": [1, 2]}),
    ] {
        let v = app.err("Ordr.add", &[ADM], Body::Json(body.clone()), 1);
        assert!(v[2].is_string() || v[1].is_string(), "{body}: {v}");
    }
    app.err("Ordr.get", &[ADM, ("id", "abc")], Body::None, 1);
    app.err("Ordr.set", &[ADM], Body::Form(&[("dscr", "x")]), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM ObjLog"), 0);
}

#[test]
fn a_user_adds_own_orders_with_forced_fields_and_an_order_log() {
    let mut app = spawn_app();
    let uid = login_user(&mut app, "13800000001", "甲");
    let id = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "我的订单"), ("amount", "99")]));
    let v = app.ok("Ordr.get", &[("id", &s(&id))], Body::None);
    assert_eq!(v["userId"], json!(uid));
    assert_eq!(v["status"], json!("CR"));
    assert_eq!(v["userName"], json!("甲"));
    assert!(v["createTm"].as_str().unwrap().len() == 19);
    let log = v["orderLog"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["action"], json!("CR"));
    assert_eq!(v["atts"], json!([]));
    // Readonly fields are strict: the whole call is refused and nothing is written.
    let v = app.err("Ordr.add", &[], Body::Form(&[("dscr", "x"), ("userId", "999")]), 5);
    assert!(v[2].as_str().unwrap().contains("userId"), "{v}");
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 1);
    // Users cannot delete orders.
    app.err("Ordr.del", &[("id", &s(&id))], Body::None, 5);
}

#[test]
fn users_cannot_see_or_change_other_users_orders() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let mine = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "甲的")]));
    app.cookies.clear();
    login_user(&mut app, "13800000002", "乙");
    app.ok("Ordr.add", &[], Body::Form(&[("dscr", "乙的")]));
    app.err("Ordr.get", &[("id", &s(&mine))], Body::None, 1);
    let v = app.err("Ordr.set", &[("id", &s(&mine))], Body::Form(&[("dscr", "hacked")]), 1);
    assert_eq!(v[1], json!("操作对象不存在或无权限修改"));
    // A tautology is not even valid cond syntax (the left side must be a field).
    app.err("Ordr.query", &[("res", "id,dscr"), ("fmt", "list"), ("cond", "id>0 OR 1=1")], Body::None, 1);
    let v = app.ok("Ordr.query", &[("res", "id"), ("fmt", "list"), ("cond", "id>0 OR id<0")], Body::None);
    assert_eq!(v["list"].as_array().unwrap().len(), 1, "the ownership scope is ANDed with any cond");
    let v = app.ok("Ordr.query", &[("res", "dscr"), ("fmt", "list")], Body::None);
    assert_eq!(v["list"], json!([{"dscr": "乙的"}]));
    // Logs of other users' orders are not visible either.
    let v = app.ok("OrderLog.query", &[("fmt", "list"), ("res", "orderId")], Body::None);
    assert_eq!(v["list"].as_array().unwrap().len(), 1);
    assert_ne!(v["list"][0]["orderId"], mine);
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr WHERE dscr='hacked'"), 0);
}

#[test]
fn order_status_follows_the_state_machine_and_each_change_is_logged() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let id = s(&app.ok("Ordr.add", &[], Body::Form(&[("dscr", "x")])));
    app.err("Ordr.set", &[("id", &id)], Body::Form(&[("status", "RE")]), 5);
    app.ok("Ordr.set", &[("id", &id)], Body::Form(&[("status", "CA")]));
    app.err("Ordr.set", &[("id", &id)], Body::Form(&[("status", "CR")]), 5);
    let v = app.ok("Ordr.get", &[("id", &id)], Body::None);
    let actions: Vec<&str> = v["orderLog"].as_array().unwrap().iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["CR", "CA"], "oldest first");
    assert!(v["orderLog"][0].get("empName").is_some());
    assert!(v["orderLog"][0].get("empPhone").is_none(), "staff phones are not shown to buyers");
}

#[test]
fn staff_read_and_complete_orders_but_cannot_add_or_delete_them() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let id = s(&app.ok("Ordr.add", &[], Body::Form(&[("dscr", "x")])));
    app.cookies.clear();
    app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    let emp = [("_app", "emp")];
    app.err("Ordr.add", &emp, Body::Form(&[("dscr", "x")]), 5);
    app.err("Ordr.del", &[("_app", "emp"), ("id", &id)], Body::None, 5);
    app.ok("Ordr.set", &[("_app", "emp"), ("id", &id)], Body::Form(&[("status", "RE")]));
    let v = app.ok(
        "OrderLog.query",
        &[("_app", "emp"), ("cond", &format!("orderId={id}")), ("fmt", "list"), ("res", "action,empId,empName")],
        Body::None,
    );
    assert_eq!(
        v["list"][0],
        json!({"action": "RE", "empId": 1, "empName": "管理员"}),
        "newest first, with the employee"
    );
}

#[test]
fn a_user_sees_only_itself_and_cannot_change_account_fields() {
    let mut app = spawn_app();
    let uid = login_user(&mut app, "13800000001", "甲");
    let v = app.ok("User.get", &[], Body::None);
    assert_eq!(v["id"], json!(uid));
    assert!(v.get("pwd").is_none(), "pwd is always hidden");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "uname", "phone", "name", "createTm", "picId"], "hiding a field keeps the others in order");
    app.ok("User.set", &[], Body::Form(&[("name", "新名字")]));
    for f in ["phone", "uname", "pwd", "createTm"] {
        app.err("User.set", &[], Body::Form(&[(f, "x")]), 5);
    }
    app.err("User.query", &[], Body::None, 5);
    app.err("User.del", &[], Body::None, 5);
    // Asking for another id still reads one's own row.
    let v = app.ok("User.get", &[("id", "999")], Body::None);
    assert_eq!(v["name"], json!("新名字"));
}

#[test]
fn employees_see_only_themselves_unless_manager() {
    let mut app = spawn_app();
    app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    let e = [("_app", "emp")];
    app.err("Employee.add", &e, Body::Form(&[("name", "无账号")]), 1);
    let id = app.ok("Employee.add", &e, Body::Form(&[("uname", "clerk"), ("name", "店员"), ("pwd", "clerk1")]));
    let v = app.ok("Employee.get", &[("_app", "emp"), ("id", &s(&id))], Body::None);
    assert_eq!(v["perms"], json!("emp"));
    assert!(v.get("pwd").is_none());
    app.cookies.clear();
    app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "clerk"), ("pwd", "clerk1")]));
    let v = app.ok("Employee.query", &[("_app", "emp"), ("fmt", "list"), ("res", "id")], Body::None);
    assert_eq!(v["list"], json!([{"id": id}]));
    app.err("Employee.get", &[("_app", "emp"), ("id", "1")], Body::None, 5);
    app.err("Employee.set", &[("_app", "emp")], Body::Form(&[("perms", "emp,mgr")]), 5);
    app.ok("Employee.set", &[("_app", "emp")], Body::Form(&[("name", "店员甲")]));
    app.err("Employee.del", &[("_app", "emp"), ("id", &s(&id))], Body::None, 5);
}

#[test]
fn sub_objects_are_written_through_the_parent_in_one_transaction() {
    let mut app = spawn_app();
    app.login_admin();
    let id = app.ok("Ordr.add", &[ADM], Body::Json(json!({"dscr": "p", "atts": [{"attId": 11}, {"attId": 12}]})));
    let idq = s(&id);
    let v = app.ok("Ordr.get", &[ADM, ("id", &idq)], Body::None);
    let atts = v["atts"].as_array().unwrap();
    assert_eq!(atts.iter().map(|a| a["attId"].as_i64().unwrap()).collect::<Vec<_>>(), [11, 12]);
    let first = atts[0]["id"].clone();
    // patch: update one, delete one, add one
    let body = json!({"atts": [{"id": first, "attId": 21}, {"id": atts[1]["id"], "_delete": 1}, {"attId": 13}]});
    app.ok("Ordr.set", &[ADM, ("id", &idq)], Body::Json(body));
    let v = app.ok("Ordr.get", &[ADM, ("id", &idq), ("res", "id,atts")], Body::None);
    assert_eq!(
        v["atts"].as_array().unwrap().iter().map(|a| a["attId"].as_i64().unwrap()).collect::<Vec<_>>(),
        [21, 13]
    );
    // put: unlisted children go
    app.ok("Ordr.set", &[ADM, ("id", &idq), ("submode", "put")], Body::Json(json!({"atts": [{"attId": 99}]})));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM OrderAtt WHERE orderId={id}")), 1);
    // a child that belongs to another parent cannot be touched, and the parent write rolls back
    let other = app.ok("Ordr.add", &[ADM], Body::Json(json!({"atts": [{"attId": 1}]})));
    let foreign = app.count(&format!("SELECT id FROM OrderAtt WHERE orderId={other}"));
    app.err(
        "Ordr.set",
        &[ADM, ("id", &idq)],
        Body::Json(json!({"dscr": "changed", "atts": [{"id": foreign, "attId": 5}]})),
        1,
    );
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ordr WHERE id={id} AND dscr='changed'")), 0);
    app.err("Ordr.add", &[ADM], Body::Json(json!({"atts": "not an array"})), 1);
}

#[test]
fn query_reads_sub_objects_in_one_batch_when_asked() {
    let mut app = spawn_app();
    app.login_admin();
    for i in 0..3 {
        app.ok("Ordr.add", &[ADM], Body::Json(json!({"dscr": i, "atts": [{"attId": i}, {"attId": i + 10}]})));
    }
    let v = app.ok("Ordr.query", &[ADM, ("fmt", "list"), ("res", "id,atts")], Body::None);
    let list = v["list"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[2]["atts"].as_array().unwrap().len(), 2);
    let v = app.ok("Ordr.query", &[ADM, ("fmt", "list"), ("res", "id")], Body::None);
    assert!(v["list"][0].get("atts").is_none(), "not by default in query (§9.4)");
    let v = app.ok("Ordr.query", &[ADM, ("fmt", "list"), ("res", "id,atts"), ("param_atts", "x")], Body::None);
    assert_eq!(v["list"].as_array().unwrap().len(), 3);
    // A call's own res_X shapes that call's children only: the next read has the declared fields again
    // (the declared request is parsed once and kept; an override never is).
    let fields = |v: &Value| -> Vec<String> {
        v["list"][0]["atts"][0].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    };
    let declared = fields(&app.ok("Ordr.query", &[ADM, ("fmt", "list"), ("res", "id,atts")], Body::None));
    assert!(declared.len() > 1, "{declared:?}");
    let own = app.ok("Ordr.query", &[ADM, ("fmt", "list"), ("res", "id,atts"), ("res_atts", "id")], Body::None);
    assert_eq!(fields(&own), vec!["id".to_string()]);
    assert_eq!(fields(&app.ok("Ordr.query", &[ADM, ("fmt", "list"), ("res", "id,atts")], Body::None)), declared);
}

#[test]
fn set_if_and_del_if_need_a_condition_and_return_counts() {
    let mut app = spawn_app();
    app.login_admin();
    for d in ["a", "b", "c"] {
        app.ok("Ordr.add", &[ADM], Body::Form(&[("dscr", d), ("status", "CR")]));
    }
    let v = app.err("Ordr.setIf", &[ADM], Body::Form(&[("cmt", "x")]), 1);
    assert_eq!(v[1], json!("未指定操作条件"));
    assert_eq!(app.ok("Ordr.setIf", &[ADM, ("cond", "dscr IN ('a','b')")], Body::Form(&[("cmt", "ab")])), json!(2));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr WHERE cmt='ab'"), 2);
    app.err("Ordr.delIf", &[ADM], Body::None, 1);
    assert_eq!(app.ok("Ordr.delIf", &[ADM, ("cond", "cmt='ab'")], Body::None), json!(2));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 1);
    app.err("Ordr.delIf", &[ADM, ("cond", "1=1")], Body::None, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 1);
}

#[test]
fn unikey_updates_ignores_or_refuses_duplicates() {
    let mut app = spawn_app();
    app.login_admin();
    let id = app.ok("User.add", &[ADM], Body::Form(&[("phone", "13900000000"), ("name", "a")]));
    let again = app.ok("User.add", &[ADM, ("uniKey", "phone")], Body::Form(&[("phone", "13900000000"), ("name", "b")]));
    assert_eq!(again, id);
    assert_eq!(app.ok("User.get", &[ADM, ("id", &s(&id))], Body::None)["name"], json!("b"));
    let v = app.err(
        "User.add",
        &[ADM, ("uniKey", "phone"), ("uniKeyMode", "error")],
        Body::Form(&[("phone", "13900000000")]),
        1,
    );
    assert!(v[1].as_str().unwrap().starts_with("已存在重复记录"));
    assert_eq!(
        app.ok(
            "User.add",
            &[ADM, ("uniKey", "phone"), ("uniKeyMode", "ignore")],
            Body::Form(&[("phone", "13900000000"), ("name", "c")])
        ),
        id
    );
    app.err("User.add", &[ADM, ("uniKey", "phone!")], Body::Form(&[("phone", "13911111111")]), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM User"), 1);
}

#[test]
fn batch_add_imports_lists_and_text_and_rolls_back_on_any_bad_row() {
    let mut app = spawn_app();
    app.login_admin();
    let v = app.ok("User.batchAdd", &[ADM], Body::Json(json!({"list": [{"name": "a", "phone": "1"}, {"name": "b"}]})));
    assert_eq!(v["cnt"], json!(2));
    let text = "name\tphone\n张三\t13800000011\n\n李四\t13800000012\n";
    let v = app.ok("User.batchAdd", &[ADM], Body::Raw("text/plain", text.as_bytes().to_vec()));
    assert_eq!(v["cnt"], json!(2));
    let csv = "x,y\n\"王, 五\",13800000013\n";
    let v = app.ok("User.batchAdd", &[ADM, ("title", "name,phone")], Body::Raw("text/plain", csv.as_bytes().to_vec()));
    assert_eq!(v["idList"].as_array().unwrap().len(), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM User WHERE name='王, 五'"), 1);
    let bad = "name,createTm\nok,2024-01-01\nbad,notadate\n";
    let v = app.err("User.batchAdd", &[ADM], Body::Raw("text/plain", bad.as_bytes().to_vec()), 1);
    assert!(v[1].as_str().unwrap().contains("第2行"), "{v}");
    assert_eq!(app.count("SELECT COUNT(*) FROM User"), 5);
}

#[test]
fn do_validate_only_checks_without_writing() {
    let mut app = spawn_app();
    app.login_admin();
    assert_eq!(app.ok("Ordr.add", &[ADM, ("doValidateOnly", "1")], Body::Form(&[("dscr", "x")])), json!("OK"));
    app.err("Ordr.add", &[ADM, ("doValidateOnly", "1")], Body::Form(&[("amount", "x")]), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 0);
}

#[test]
fn every_generic_write_leaves_an_objlog_row_pointing_at_its_call() {
    let mut app = spawn_app();
    app.login_admin();
    let id = app.ok("Ordr.add", &[ADM], Body::Form(&[("dscr", "x")]));
    app.ok("Ordr.set", &[ADM, ("id", &s(&id))], Body::Form(&[("dscr", "y")]));
    app.ok("Ordr.del", &[ADM, ("id", &s(&id))], Body::None);
    let v = app.sql("SELECT obj, objId, dscr, apiLogId FROM ObjLog ORDER BY id");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows.iter().map(|r| r["dscr"].as_str().unwrap()).collect::<Vec<_>>(), ["添加", "更新", "删除"]);
    assert!(rows.iter().all(|r| r["obj"] == json!("Ordr") && r["objId"] == id));
    app.flush_log();
    let ac = app.sql(&format!("SELECT ac FROM ApiLog WHERE id={}", rows[1]["apiLogId"]));
    assert_eq!(ac[0]["ac"], json!("Ordr.set"));
}

#[test]
fn batch_add_maps_columns_by_header_text_and_builds_sub_rows_per_unikey() {
    let mut app = spawn_app();
    app.login_admin();
    // `@atts.attId` cells become OrderAtt rows; a row with an empty key continues the previous order.
    let text = "dscr,amount,@atts.attId\nA,10,1\n,,2\nB,20,3\nC,30,\n";
    let v = app.ok("Ordr.batchAdd", &[ADM, ("uniKey", "dscr")], Body::Raw("text/plain", text.as_bytes().to_vec()));
    assert_eq!(v["cnt"], json!(3));
    let atts = |app: &mut TestApp, d: &str| {
        app.count(&format!("SELECT COUNT(*) FROM OrderAtt a JOIN Ordr o ON o.id=a.orderId WHERE o.dscr='{d}'"))
    };
    assert_eq!((atts(&mut app, "A"), atts(&mut app, "B"), atts(&mut app, "C")), (2, 1, 0));
    let bad = "dscr,@atts.attId\n,1\n";
    let v = app.err("Ordr.batchAdd", &[ADM, ("uniKey", "dscr")], Body::Raw("text/plain", bad.as_bytes().to_vec()), 1);
    assert!(v[1].as_str().unwrap().contains("uniKey不能为空"), "{v}");

    let text = "描述\t金额\t备注\n甲\t5\tx\n";
    let url = [ADM, ("useColMap", "1"), ("title", "描述->dscr,金额->amount")];
    app.ok("Ordr.batchAdd", &url, Body::Raw("text/plain", text.as_bytes().to_vec()));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr WHERE dscr='甲' AND amount=5 AND cmt IS NULL"), 1);
    let url = [ADM, ("useColMap", "1"), ("title", "描述->dscr,状态->status")];
    let v = app.err("Ordr.batchAdd", &url, Body::Raw("text/plain", text.as_bytes().to_vec()), 1);
    assert_eq!(v[1], json!("缺少列`状态`"));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 4);
}

#[test]
fn gets_with_sub_objects_written_as_text_read_byte_for_byte_as_the_general_path_gives_them() {
    // A kept get with list sub-objects writes its row and each sub-object's rows as text
    // (crud::read::get_text_with_subs); the call that planned it, and any call with `sumFields`,
    // `param_X` or `res_X`, goes the general way of values. Both must give the same bytes.
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let o = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "say \"hi\" \\ \n\t\u{1} 好"), ("amount", "12.5")]));
    app.ok("Ordr.set", &[("id", &s(&o))], Body::Form(&[("status", "CA")]));
    let id = s(&o);
    let raw = |app: &mut TestApp, extra: &[(&str, &str)]| {
        let mut url = vec![("id", id.as_str())];
        url.extend_from_slice(extra);
        app.call_raw("Ordr.get", &url, Body::None).text()
    };
    // The first call plans the read in its first attempt (a single statement, voided when the
    // sub-objects' reads start: api::dispatch::run_read) and is written as text in its second.
    let text = raw(&mut app, &[]);
    assert_eq!(app.state.read_plans.gets_written_with_subs(), 1, "the kept read is written as text");
    let general = raw(&mut app, &[("sumFields", "amount")]);
    assert_eq!(app.state.read_plans.gets_written_with_subs(), 1, "sumFields goes the general way");
    assert_eq!(text, general);
    let v: Value = serde_json::from_str(&text).unwrap();
    let logs: Vec<&Value> = v[1]["orderLog"].as_array().unwrap().iter().map(|l| &l["action"]).collect();
    assert_eq!(
        (logs, &v[1]["atts"], &v[1]["dscr"]),
        (vec![&json!("CR"), &json!("CA")], &json!([]), &json!("say \"hi\" \\ \n\t\u{1} 好"))
    );
    // hiddenFields shapes the text writer of this call only, a sub-object's name included;
    // `sumFields` sends the same request the general way.
    for hidden in ["dscr,orderLog", "atts", "id,userName", "orderLog,atts"] {
        let text = raw(&mut app, &[("hiddenFields", hidden)]);
        let general = raw(&mut app, &[("hiddenFields", hidden), ("sumFields", "amount")]);
        assert_eq!(text, general, "hiddenFields={hidden}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(hidden.split(',').all(|h| v[1].get(h).is_none()), "{hidden}: {v}");
    }
    assert_eq!(raw(&mut app, &[]), general, "the kept writer is the plain call's");
    assert_eq!(app.state.read_plans.gets_written_with_subs(), 1, "the general-path calls left the entry as it was");
    // A sub-object the request shapes goes the general way, with what it asks for.
    let v = app.ok("Ordr.get", &[("id", &id), ("res_orderLog", "action")], Body::None);
    assert_eq!(v["orderLog"], json!([{"action": "CR"}, {"action": "CA"}]));
    let v = app.ok("Ordr.get", &[("id", &id)], Body::Json(json!({"param_orderLog": {"orderby": "id desc"}})));
    assert_eq!(v["orderLog"][0]["action"], json!("CA"), "{v}");
    // Another order is bound into the same kept reads; a missing or foreign one is not found.
    let o2 = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "二")]));
    let v = app.ok("Ordr.get", &[("id", &s(&o2))], Body::None);
    assert_eq!((&v["id"], &v["dscr"], v["orderLog"].as_array().map(Vec::len)), (&o2, &json!("二"), Some(1)), "{v}");
    app.err("Ordr.get", &[("id", "99999")], Body::None, 1);
    app.cookies.clear();
    login_user(&mut app, "13800000002", "乙");
    app.err("Ordr.get", &[("id", &id)], Body::None, 1);
    // The admin's declaration is another entry, written as text from its second call the same way.
    app.login_admin();
    let adm = [ADM, ("id", id.as_str())];
    let text = app.call_raw("Ordr.get", &adm, Body::None).text();
    assert_eq!(app.state.read_plans.gets_written_with_subs(), 2);
    let general = app.call_raw("Ordr.get", &[ADM, ("id", id.as_str()), ("sumFields", "amount")], Body::None).text();
    assert_eq!(text, general);
    assert_eq!(app.state.read_plans.gets_written_with_subs(), 2);
}

#[test]
fn plain_gets_reuse_one_select_per_object_and_scope_and_bind_each_callers_values() {
    let mut app = spawn_app();
    let a = login_user(&mut app, "13800000001", "甲");
    let first = app.ok("User.get", &[], Body::None);
    let kept = app.state.read_plans.gets_len();
    assert!(kept >= 1, "the plain get's SELECT is kept");
    assert_eq!(app.ok("User.get", &[], Body::None), first, "the kept SELECT answers as the planned one did");
    app.cookies.clear();
    let b = login_user(&mut app, "13800000002", "乙");
    let v = app.ok("User.get", &[], Body::None);
    assert_eq!(
        (&v["id"], &v["name"]),
        (&json!(b), &json!("乙")),
        "the second caller's values are bound, not the first's"
    );
    assert_eq!(app.state.read_plans.gets_len(), kept, "same declaration and scope texts: the same entry");
    // Read parameters go the planned way and shape only their own call; hiddenFields applies to a kept one.
    assert_eq!(app.ok("User.get", &[("res", "name")], Body::None), json!({"name": "乙"}));
    let v = app.ok("User.get", &[("hiddenFields", "phone")], Body::None);
    assert!(v.get("phone").is_none() && v["name"] == json!("乙"), "{v}");
    assert_eq!(app.ok("User.get", &[], Body::None)["phone"], json!("13800000002"));
    assert_eq!(app.state.read_plans.gets_len(), kept, "a get with read parameters is not kept");
    // Rows with sub-objects go through the general path, from a kept plan of their own: the second
    // call answers as the first did, each order with its own sub-objects.
    let o = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "乙的")]));
    let v = app.ok("Ordr.get", &[("id", &s(&o))], Body::None);
    assert!(v["orderLog"].is_array(), "{v}");
    assert_eq!(app.state.read_plans.gets_len(), kept + 1, "the get with sub-objects is kept");
    assert_eq!(app.ok("Ordr.get", &[("id", &s(&o))], Body::None), v, "the kept plan answers as the planned one did");
    let o2 = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "乙的二")]));
    app.ok("Ordr.set", &[("id", &s(&o2))], Body::Form(&[("status", "CA")]));
    let v2 = app.ok("Ordr.get", &[("id", &s(&o2))], Body::None);
    assert_eq!((&v2["id"], &v2["dscr"], &v2["status"]), (&o2, &json!("乙的二"), &json!("CA")), "{v2}");
    let logs: Vec<&Value> = v2["orderLog"].as_array().unwrap().iter().map(|l| &l["action"]).collect();
    assert_eq!(logs, [&json!("CR"), &json!("CA")], "the second order's own log, bound per call: {v2}");
    assert_eq!(app.state.read_plans.gets_len(), kept + 1, "one entry for both orders");
    assert!(app.ok("Ordr.get", &[("id", &s(&o2)), ("res", "id,dscr")], Body::None).get("orderLog").is_none());
    let kept = kept + 1;
    // Another role is another declaration: the admin's gets of User share one entry of their own.
    app.login_admin();
    let v = app.ok("User.get", &[ADM, ("id", &s(&json!(a)))], Body::None);
    assert_eq!(v["name"], json!("甲"));
    assert_eq!(app.state.read_plans.gets_len(), kept + 1);
    let v = app.ok("User.get", &[ADM, ("id", &s(&json!(b)))], Body::None);
    assert_eq!(v["name"], json!("乙"));
    assert_eq!(app.state.read_plans.gets_len(), kept + 1);
    app.err("User.get", &[ADM, ("id", "99999")], Body::None, 1);
}

#[test]
fn plain_queries_reuse_one_select_per_object_scope_and_shape_and_page_with_each_callers_values() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let mine: Vec<Value> = (0..5)
        .map(|i| app.ok("Ordr.add", &[], Body::Form(&[("dscr", &format!("甲{i}")), ("amount", "1.5")])))
        .collect();
    let ids = |v: &Value| -> Vec<Value> { v["d"].as_array().unwrap().iter().map(|r| r[0].clone()).collect() };
    let first = app.ok("Ordr.query", &[("pagesz", "2")], Body::None);
    let kept = app.state.read_plans.queries_len();
    assert!(kept >= 1, "the plain query's SELECT is kept");
    assert_eq!(first["h"][0], json!("id"), "{first}");
    assert_eq!(
        app.ok("Ordr.query", &[("pagesz", "2")], Body::None),
        first,
        "the kept SELECT answers as the planned one did"
    );
    // The same page with its total goes the planned way: the same rows and next key.
    let planned = app.ok("Ordr.query", &[("pagesz", "2"), ("pagekey", "0")], Body::None);
    assert_eq!((&planned["h"], &planned["d"], &planned["nextkey"]), (&first["h"], &first["d"], &first["nextkey"]));
    assert_eq!(planned["total"], json!(5));
    // Page after page through the kept entry: every order once, in id order, the last page without a key.
    let mut seen = ids(&first);
    let mut next = first["nextkey"].clone();
    while !next.is_null() {
        let page = app.ok("Ordr.query", &[("pagesz", "2"), ("pagekey", &s(&next))], Body::None);
        seen.extend(ids(&page));
        next = page.get("nextkey").cloned().unwrap_or(Value::Null);
    }
    let want = mine.clone();
    assert_eq!(seen, want);
    // Another page size is the same entry; another shape is another.
    let all = app.ok("Ordr.query", &[("pagesz", "10")], Body::None);
    assert_eq!(ids(&all), want);
    assert!(all.get("nextkey").is_none(), "{all}");
    assert_eq!(app.state.read_plans.queries_len(), kept);
    let list = app.ok("Ordr.query", &[("pagesz", "10"), ("fmt", "list")], Body::None);
    let list = list["list"].as_array().unwrap();
    assert_eq!(list.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), want);
    assert_eq!(list[0]["amount"], json!("1.50"));
    assert_eq!(app.state.read_plans.queries_len(), kept + 1);
    // hiddenFields and sumFields apply to a kept query, and only to their own call.
    let v = app.ok("Ordr.query", &[("pagesz", "10"), ("fmt", "list"), ("hiddenFields", "amount")], Body::None);
    assert!(v["list"][0].get("amount").is_none() && v["list"][0]["dscr"] == json!("甲0"), "{v}");
    let v = app.ok("Ordr.query", &[("pagesz", "10"), ("sumFields", "amount")], Body::None);
    assert_eq!(v["d"].as_array().unwrap().len(), 6, "five rows and the sum row: {v}");
    assert_eq!(
        app.ok("Ordr.query", &[("pagesz", "10"), ("fmt", "list")], Body::None)["list"][0]["amount"],
        json!("1.50")
    );
    // Another caller's scope values are bound: only that caller's orders, through the same entry.
    app.cookies.clear();
    login_user(&mut app, "13800000002", "乙");
    let theirs: Vec<Value> =
        (0..3).map(|i| app.ok("Ordr.add", &[], Body::Form(&[("dscr", &format!("乙{i}"))]))).collect();
    let v = app.ok("Ordr.query", &[("pagesz", "2")], Body::None);
    assert_eq!(ids(&v), vec![theirs[0].clone(), theirs[1].clone()]);
    let v = app.ok("Ordr.query", &[("pagesz", "2"), ("pagekey", &s(&v["nextkey"]))], Body::None);
    assert_eq!(ids(&v), vec![theirs[2].clone()]);
    assert_eq!(app.state.read_plans.queries_len(), kept + 1);
    // A query with read parameters is planned and not kept.
    let v = app.ok("Ordr.query", &[("pagesz", "10"), ("cond", "dscr='乙1'")], Body::None);
    assert_eq!(ids(&v), vec![theirs[1].clone()]);
    assert_eq!(app.state.read_plans.queries_len(), kept + 1);
    // Another role is another declaration: the admin sees every order, through an entry of its own.
    app.login_admin();
    let v = app.ok("Ordr.query", &[ADM, ("pagesz", "100")], Body::None);
    assert_eq!(v["d"].as_array().unwrap().len(), 8, "{v}");
    assert_eq!(app.state.read_plans.queries_len(), kept + 2);
}

#[test]
fn declared_sub_object_reads_reuse_their_select_and_bind_each_parents_ids() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let a1 = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "甲1")]));
    let a2 = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "甲2")]));
    app.ok("Ordr.set", &[("id", &s(&a2))], Body::Form(&[("status", "CA")]));
    let logs = |v: &Value| -> Vec<(Value, Value)> {
        v["orderLog"].as_array().unwrap().iter().map(|l| (l["orderId"].clone(), l["action"].clone())).collect()
    };
    let v1 = app.ok("Ordr.get", &[("id", &s(&a1))], Body::None);
    let kept = app.state.read_plans.subs_len();
    assert!(kept >= 2, "Ordr.get's declared sub-objects (orderLog, atts) are kept: {kept}");
    assert_eq!(logs(&v1), vec![(a1.clone(), json!("CR"))]);
    // The kept reads bind this parent's id, not the first one's.
    let v2 = app.ok("Ordr.get", &[("id", &s(&a2))], Body::None);
    assert_eq!(logs(&v2), vec![(a2.clone(), json!("CR")), (a2.clone(), json!("CA"))]);
    assert_eq!(app.state.read_plans.subs_len(), kept, "same child, scope texts and one parent: the same entries");
    assert_eq!(app.ok("Ordr.get", &[("id", &s(&a1))], Body::None), v1);
    // Two parents make another IN list: another entry, each parent still gets its own children.
    let q = app.ok("Ordr.query", &[("res", "id,orderLog"), ("fmt", "list"), ("orderby", "id")], Body::None);
    let list = q["list"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(logs(&list[0]), logs(&v1));
    assert_eq!(logs(&list[1]), logs(&v2));
    assert_eq!(app.state.read_plans.subs_len(), kept + 1);
    // An override shapes only its own call and is not kept.
    let v = app.ok("Ordr.get", &[("id", &s(&a2)), ("res_orderLog", "action")], Body::None);
    assert_eq!(v["orderLog"], json!([{"action": "CR"}, {"action": "CA"}]));
    assert_eq!(app.state.read_plans.subs_len(), kept + 1);
    assert_eq!(app.ok("Ordr.get", &[("id", &s(&a2))], Body::None), v2);
    // Another user's parent ids are bound the same way, under that user's scope.
    app.cookies.clear();
    login_user(&mut app, "13800000002", "乙");
    let b1 = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "乙1")]));
    let v = app.ok("Ordr.get", &[("id", &s(&b1))], Body::None);
    assert_eq!(logs(&v), vec![(b1.clone(), json!("CR"))]);
    app.err("Ordr.get", &[("id", &s(&a1))], Body::None, 1);
}
