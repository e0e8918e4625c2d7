//! Hidden fields stay hidden in every expression of the query language and cannot be written by a role
//! that may not write them (issue 8).
//!
//! The cases are generated from the running server's declarations: for every object, every role it is
//! served to and every field hidden from that role (`pwd` always, plus `Decl::hidden`), each expression
//! form below is sent by a principal of that role and must be refused with E_FORBIDDEN naming the field,
//! with no stored value of the field anywhere in the answer.

use serde_json::{json, Value};

use crate::authz::{call_as, json_as, request_as, send_as, world, World};
use crate::helpers::{spawn_app, Body, TestApp};
use jindouyun::crud::{Op, Role};

/// The principals that act in a role.
fn principals(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Guest => &[("guest", "user")],
        Role::User => &[("user", "user")],
        Role::Emp => &[("emp", "emp"), ("mgr", "emp")],
        Role::Admin => &[("admin", "admin")],
    }
}

/// One request of the hostile corpus: the op and its URL parameters, with `{f}` standing for the
/// hidden field.
struct Form {
    name: &'static str,
    op: Op,
    params: &'static [(&'static str, &'static str)],
    /// Only for a field that is a column of the table (not a vcol).
    column_only: bool,
}

const fn form(name: &'static str, op: Op, params: &'static [(&'static str, &'static str)]) -> Form {
    Form { name, op, params, column_only: false }
}

const FORMS: &[Form] = &[
    form("res bare", Op::Query, &[("res", "{f}")]),
    form("res aliased", Op::Query, &[("res", "{f} x")]),
    form("res AS alias", Op::Query, &[("res", "{f} AS p")]),
    form("res quoted alias", Op::Query, &[("res", "{f} \"密码\"")]),
    Form { name: "res t0.", op: Op::Query, params: &[("res", "t0.{f} x")], column_only: true },
    form("res star then field", Op::Query, &[("res", "*,{f}")]),
    form("res max()", Op::Query, &[("res", "max({f}) m")]),
    form("res min()", Op::Query, &[("res", "MIN({f}) m")]),
    form("res count(distinct)", Op::Query, &[("res", "count(distinct {f}) n")]),
    form("res sum()", Op::Query, &[("res", "sum({f}) s")]),
    form("res COUNTIF cond", Op::Query, &[("res", "COUNTIF({f} LIKE 'a%') n")]),
    form("res COUNTIF field", Op::Query, &[("res", "COUNTIF(id>0, DISTINCT {f}) n")]),
    form("res SUMIF", Op::Query, &[("res", "SUMIF({f} IS NOT NULL, id) n")]),
    form("gres", Op::Query, &[("gres", "{f} x"), ("res", "count(*) n")]),
    form("gres AS", Op::Query, &[("gres", "{f} AS p")]),
    form("gcond", Op::Query, &[("gres", "id"), ("res", "count(*) n"), ("gcond", "{f} IS NOT NULL")]),
    form("cond LIKE", Op::Query, &[("res", "id"), ("cond", "{f} LIKE 'a%'")]),
    form("cond compare", Op::Query, &[("res", "id"), ("cond", "{f}>'a'")]),
    form("cond IS NULL", Op::Query, &[("res", "id"), ("cond", "{f} IS NULL")]),
    form("cond IN", Op::Query, &[("res", "id"), ("cond", "{f} IN ('a','b')")]),
    form("cond BETWEEN", Op::Query, &[("res", "id"), ("cond", "{f} BETWEEN 'a' AND 'z'")]),
    form("cond NOT", Op::Query, &[("res", "id"), ("cond", "NOT ({f} LIKE 'a%')")]),
    form("cond key-value", Op::Query, &[("res", "id"), ("cond[{f}]", "~a*")]),
    form("orderby", Op::Query, &[("res", "id"), ("orderby", "{f}")]),
    form("orderby desc", Op::Query, &[("res", "id"), ("orderby", "id, {f} desc")]),
    form("sort/order", Op::Query, &[("res", "id"), ("sort", "{f}"), ("order", "desc")]),
    form("qsearch", Op::Query, &[("res", "id"), ("qsearch", "{f}:a")]),
    form("statRes", Op::Query, &[("res", "id"), ("statRes", "max({f}) m")]),
    form("fmt=csv", Op::Query, &[("res", "id,{f} x"), ("fmt", "csv")]),
    form("fmt=excel", Op::Query, &[("res", "{f} x"), ("fmt", "excel")]),
    form("fmt=list", Op::Query, &[("res", "{f} x"), ("fmt", "list")]),
    form("get res", Op::Get, &[("res", "{f} x")]),
    form("get cond", Op::Get, &[("res", "id"), ("cond", "{f} LIKE 'a%'")]),
];

/// Forms that must be refused but may be refused as bad syntax rather than by name (the grammar has
/// no CASE or other functions).
const SYNTAX_FORMS: &[(&str, &str)] = &[
    ("res", "CASE WHEN {f} LIKE 'a%' THEN 1 ELSE 0 END x"),
    ("res", "substr({f},1,1) x"),
    ("cond", "substr({f},1,1)='a'"),
    ("orderby", "length({f})"),
];

fn subst(params: &[(&str, &str)], f: &str) -> Vec<(String, String)> {
    params.iter().map(|(k, v)| (k.replace("{f}", f), v.replace("{f}", f))).collect()
}

/// A row id the principal may name in `get` (its own account where the object is self-only).
fn id_for(app: &mut TestApp, w: &World, table: &str, actor: &str) -> String {
    match (table, actor) {
        ("User", "user") => w.user_id.to_string(),
        ("Employee", "emp") => w.clerk_id.to_string(),
        ("Ordr", _) => w.order_id.to_string(),
        _ => app.count(&format!("SELECT MIN(id) FROM {table}")).to_string(),
    }
}

/// The stored values of a hidden column that an answer must never contain.
fn secrets(app: &mut TestApp, table: &str, col: &str) -> Vec<String> {
    let rows = app.sql(&format!("SELECT {col} v FROM {table} WHERE {col} IS NOT NULL"));
    rows.as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["v"].as_str().map(str::to_string))
        .filter(|s| s.len() >= 4)
        .collect()
}

fn names_field(v: &Value, table: &str, field: &str) -> bool {
    v[0] == json!(5) && v[2].as_str().is_some_and(|s| s.contains(&format!("`{table}.{field}`")))
}

#[test]
fn every_hidden_field_is_refused_in_every_expression_form_for_every_role() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let mut cases = 0;
    let mut failures = Vec::new();
    for (name, role, obj) in app.state.objects.entries() {
        let decl = obj.decl().clone();
        let Some(table) = app.state.design.table(&decl.table).cloned() else { continue };
        let vcol_names: Vec<String> =
            decl.vcols.iter().flat_map(|g| g.fields.iter().map(|(_, n)| n.to_string())).collect();
        let mut hidden: Vec<String> = decl.hidden.iter().map(|h| h.to_string()).collect();
        hidden.push("pwd".into());
        hidden.retain(|f| table.column(f).is_some() || vcol_names.contains(f));
        hidden.dedup();
        for field in &hidden {
            let is_col = table.column(field).is_some();
            let leaks = if is_col { secrets(&mut app, &table.name, field) } else { Vec::new() };
            for (actor, app_name) in principals(role) {
                let token = w.token(actor).map(str::to_string);
                let id = id_for(&mut app, &w, &table.name, actor);
                let mut send = |what: String, v: Value, by_name: bool| {
                    cases += 1;
                    let text = v.to_string();
                    let refused = if by_name { names_field(&v, &table.name, field) } else { v[0] != json!(0) };
                    if !refused || leaks.iter().any(|s| text.contains(s.as_str())) {
                        failures.push(format!("{actor:>5} {name}.{field} {what}: {}", &text[..text.len().min(300)]));
                    }
                };
                for f in FORMS {
                    if !decl.allows(f.op) || (f.column_only && !is_col) {
                        continue;
                    }
                    let mut url = vec![("_app".to_string(), app_name.to_string())];
                    url.extend(subst(f.params, field));
                    if f.op == Op::Get {
                        url.push(("id".into(), id.clone()));
                    }
                    let url: Vec<(&str, &str)> = url.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let ac = format!("{name}.{}", f.op.name());
                    let path = format!("/api/{ac}?{}", crate::helpers::qs(&url));
                    let auth = token.as_ref().map(|t| format!("Bearer {t}"));
                    let mut h = vec![("Cookie", "none=1")];
                    if let Some(a) = &auth {
                        h.push(("Authorization", a.as_str()));
                    }
                    let resp = app.request("GET", &path, &h, b"");
                    // Exports answer in their own format; a refusal is still the JSON envelope.
                    let v: Value = serde_json::from_slice(&resp.body).unwrap_or_else(|_| json!([0, resp.text()]));
                    send(f.name.to_string(), v, true);
                }
                if decl.allows(Op::Query) {
                    for (k, v) in SYNTAX_FORMS {
                        let (k, v) = (k.to_string(), v.replace("{f}", field));
                        let r = call_as(
                            &mut app,
                            token.as_deref(),
                            &format!("{name}.query"),
                            &[("_app", app_name), (&k, &v)],
                            &[],
                        );
                        send(format!("{k}={v}"), r, false);
                    }
                    // The same through a batch and through the REST collection form.
                    let b = json_as(
                        &mut app,
                        token.as_deref(),
                        &format!("/api/batch?_app={app_name}"),
                        &json!([{"ac": format!("{name}.query"), "get": {"res": format!("{field} x")}}]),
                    );
                    send("batch".into(), b[1][0].clone(), true);
                    let r = request_as(
                        &mut app,
                        token.as_deref(),
                        "GET",
                        &format!("/api/{name}?_app={app_name}&cond={field}%20LIKE%20%27a%25%27"),
                        &[],
                    );
                    send("REST query cond".into(), r, true);
                }
                if decl.allows(Op::SetIf) || decl.allows(Op::DelIf) {
                    let op = if decl.allows(Op::DelIf) { "delIf" } else { "setIf" };
                    // Whether the principal may run the op at all (with a harmless condition).
                    let plain = call_as(
                        &mut app,
                        token.as_deref(),
                        &format!("{name}.{op}"),
                        &[("_app", app_name), ("cond", "id<0")],
                        &[("id", "0")],
                    );
                    let may = !matches!(plain[0].as_i64(), Some(2) | Some(5));
                    let cond = format!("{field} LIKE 'zz-no-such%'");
                    let r = call_as(
                        &mut app,
                        token.as_deref(),
                        &format!("{name}.{op}"),
                        &[("_app", app_name), ("cond", &cond)],
                        &[("id", "0")],
                    );
                    // A principal refused the op itself is refused first; either way nothing runs.
                    send(format!("{op} cond"), r, may);
                }
                // Sub-object reads of a parent served to the same role.
                for (pname, prole, parent) in app.state.objects.entries() {
                    if prole != role || !parent.decl().allows(Op::Query) {
                        continue;
                    }
                    for s in parent.decl().subobjs.iter().filter(|s| s.obj == name) {
                        let res = format!("id,{}", s.name);
                        let sub_res = format!("res_{}", s.name);
                        let v = format!("{field} x");
                        let r = call_as(
                            &mut app,
                            token.as_deref(),
                            &format!("{pname}.query"),
                            &[("_app", app_name), ("res", &res), (&sub_res, &v)],
                            &[],
                        );
                        send(format!("sub-object {pname}.{}", s.name), r, true);
                    }
                }
            }
        }
    }
    assert!(cases > 300, "the corpus ran ({cases} cases)");
    assert!(failures.is_empty(), "{} of {cases} cases answered:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn star_reads_leave_hidden_fields_out_and_a_hidden_vcol_is_not_selected() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let t = w.token("mgr");
    let v = call_as(&mut app, t, "Employee.query", &[("_app", "emp"), ("fmt", "list")], &[]);
    assert!(v[1]["list"].as_array().unwrap().iter().all(|r| r.get("pwd").is_none()), "{v}");
    let v = call_as(&mut app, t, "User.query", &[("_app", "emp"), ("res", "t0.*"), ("fmt", "list")], &[]);
    assert!(!v.to_string().contains("$argon2id$"), "{v}");
    let u = w.token("user");
    let v = call_as(&mut app, u, "Ordr.get", &[("id", &w.order_id.to_string())], &[]);
    let log = v[1]["orderLog"].as_array().unwrap();
    assert!(log.iter().any(|r| r["empId"].is_i64()), "staff handled the order: {v}");
    assert!(log.iter().all(|r| r.get("empPhone").is_none()), "{v}");
}

#[test]
fn fields_a_role_may_not_write_are_refused_in_every_write_path_and_spelling() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let user = w.token("user");
    let emp = w.token("emp");
    let before = app.sql(&format!("SELECT pwd FROM User WHERE id={}", w.user_id))[0]["pwd"].clone();
    let mut failures = Vec::new();
    let mut check = |what: &str, v: Value, field: &str| {
        let named = v[0] == json!(5) && v.to_string().contains(field);
        if !named {
            failures.push(format!("{what}: {v}"));
        }
    };
    // A buyer's own account: form key, JSON key, REST, batch, setIf is not served at all.
    check("User.set form", call_as(&mut app, user, "User.set", &[], &[("pwd", "x1")]), "pwd");
    let j = json_as(&mut app, user, "/api/User.set", &json!({"pwd": "x2"}));
    check("User.set json", j, "pwd");
    check(
        "User.set REST",
        request_as(&mut app, user, "PATCH", &format!("/api/User/{}", w.user_id), &[("pwd", "x3")]),
        "pwd",
    );
    let b = json_as(&mut app, user, "/api/batch", &json!([{"ac": "User.set", "post": {"pwd": "x4"}}]));
    check("User.set batch", b[1][0].clone(), "pwd");
    check("User.set phone", call_as(&mut app, user, "User.set", &[], &[("phone", "13900000009")]), "phone");
    check(
        "Ordr.set userId",
        call_as(
            &mut app,
            user,
            "Ordr.set",
            &[("id", &w.order_id.to_string())],
            &[("userId", &w.other_user_id.to_string())],
        ),
        "userId",
    );
    check(
        "Ordr.add userId",
        call_as(&mut app, user, "Ordr.add", &[], &[("dscr", "x"), ("userId", &w.other_user_id.to_string())]),
        "userId",
    );
    // Sub-object rows go through the child's own checks: a buyer writes no order log, whatever the parent.
    let v =
        json_as(&mut app, user, "/api/Ordr.add", &json!({"dscr": "x", "orderLog": [{"action": "PA", "dscr": "paid"}]}));
    assert_eq!(v[0], json!(5), "a buyer's order cannot carry its own log rows: {v}");
    let v =
        json_as(&mut app, user, &format!("/api/Ordr.set?id={}", w.order_id), &json!({"orderLog": [{"action": "RE"}]}));
    assert_eq!(v[0], json!(5), "nor add them later: {v}");
    // Staff: a user's password only on add; a clerk changes no manager field of its own.
    let e = ("_app", "emp");
    check(
        "staff User.set pwd",
        call_as(&mut app, emp, "User.set", &[e, ("id", &w.user_id.to_string())], &[("pwd", "x5")]),
        "pwd",
    );
    check(
        "staff User.setIf pwd",
        call_as(&mut app, emp, "User.setIf", &[e, ("cond", "id>0")], &[("pwd", "x6")]),
        "pwd",
    );
    check("clerk own perms", call_as(&mut app, emp, "Employee.set", &[e], &[("perms", "emp,mgr")]), "perms");
    check("clerk own pwd", call_as(&mut app, emp, "Employee.set", &[e], &[("pwd", "x7")]), "pwd");
    // Imports: a field name in the header, and a `Header->field` mapping.
    let mgr = w.token("mgr");
    let v = raw_as(&mut app, user, "/api/Ordr.batchAdd?title=dscr,userId", "a\tb\nx\t2\n");
    check("user batchAdd header", v, "userId");
    let text = "名称\t下单人\nx\t2\n";
    let url = format!(
        "/api/Ordr.batchAdd?useColMap=1&title={}",
        crate::helpers::qs(&[("t", "名称->dscr,下单人->userId")]).trim_start_matches("t=")
    );
    let v = raw_as(&mut app, user, &url, text);
    check("user batchAdd useColMap", v, "userId");
    let v = raw_as(&mut app, mgr, "/api/User.batchAdd?_app=emp&title=name,pwd", "a\tp1\n");
    assert_eq!(v[0], json!(0), "staff may give new users an initial password: {v}");
    assert!(failures.is_empty(), "writes answered:\n{}", failures.join("\n"));
    let after = app.sql(&format!("SELECT pwd FROM User WHERE id={}", w.user_id))[0]["pwd"].clone();
    assert_eq!(before, after, "the buyer's password is unchanged");
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr WHERE dscr='x'"), 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Employee WHERE id={} AND perms LIKE '%mgr%'", w.clerk_id)), 0);
}

fn raw_as(app: &mut TestApp, token: Option<&str>, path: &str, text: &str) -> Value {
    send_as(app, token, "POST", path, Some("text/plain"), text.as_bytes())
}

#[test]
fn staff_give_a_new_user_an_initial_password_stored_as_a_hash() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let mgr = w.token("mgr");
    let v = call_as(
        &mut app,
        mgr,
        "User.add",
        &[("_app", "emp")],
        &[("phone", "13900000001"), ("name", "新客"), ("pwd", "init-1")],
    );
    assert_eq!(v[0], json!(0), "{v}");
    let id = v[1].as_i64().unwrap();
    let stored = app.sql(&format!("SELECT pwd FROM User WHERE id={id}"))[0]["pwd"].as_str().unwrap().to_string();
    assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
    app.cookies.clear();
    app.ok("login", &[], Body::Form(&[("uname", "13900000001"), ("pwd", "init-1")]));
    // Without a password the account has none until the user sets one by code.
    let v = call_as(&mut app, mgr, "User.add", &[("_app", "emp")], &[("phone", "13900000002")]);
    let id = v[1].as_i64().unwrap();
    assert_eq!(app.sql(&format!("SELECT pwd FROM User WHERE id={id}"))[0]["pwd"], json!("!"));
    app.cookies.clear();
    app.err("login", &[], Body::Form(&[("uname", "13900000002"), ("pwd", "!")]), -1);
}

#[test]
fn old_hashes_are_replaced_by_argon2id_at_the_next_login() {
    let mut app = spawn_app();
    // The iterated SHA-256 this server stored before (demo123, salt 00..0f, 4000 rounds), and bare md5.
    let legacy = legacy_sha256("demo123");
    app.sql(&format!("INSERT INTO User (phone, name, pwd) VALUES ('13900000003', 'old', '{legacy}')"));
    app.sql("INSERT INTO User (phone, name, pwd) VALUES ('13900000004', 'older', 'e10adc3949ba59abbe56e057f20f883e')");
    app.ok("login", &[], Body::Form(&[("uname", "13900000003"), ("pwd", "demo123")]));
    app.ok("login", &[], Body::Form(&[("uname", "13900000004"), ("pwd", "123456")]));
    for phone in ["13900000003", "13900000004"] {
        let s = app.sql(&format!("SELECT pwd FROM User WHERE phone='{phone}'"))[0]["pwd"].as_str().unwrap().to_string();
        assert!(s.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{phone}: {s}");
    }
    app.err("login", &[], Body::Form(&[("uname", "13900000003"), ("pwd", "demo124")]), -1);
    app.ok("login", &[], Body::Form(&[("uname", "13900000003"), ("pwd", "demo123")]));
}

fn legacy_sha256(pwd: &str) -> String {
    use sha2::{Digest, Sha256};
    let salt: Vec<u8> = (0u8..16).collect();
    let m = format!("{:x}", md5::compute(pwd.as_bytes()));
    let mut h: [u8; 32] = Sha256::new().chain_update(&salt).chain_update(m.as_bytes()).finalize().into();
    for _ in 1..4000 {
        h = Sha256::new().chain_update(&salt).chain_update(h).finalize().into();
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("sha256$4000${}${}", hex(&salt), hex(&h))
}

#[test]
fn the_reported_attacks_of_a_hostile_clerk_find_nothing() {
    let mut app = spawn_app();
    let w = world(&mut app);
    let t = w.token("emp");
    let attacks: &[(&str, &[(&str, &str)])] = &[
        ("User.query", &[("res", "pwd x")]),
        ("Employee.query", &[("res", "max(pwd) m")]),
        ("User.query", &[("gres", "pwd x"), ("res", "count(*) n")]),
        ("Employee.query", &[("res", "t0.pwd x")]),
        ("User.query", &[("res", "pwd \"密码\"")]),
        ("Employee.query", &[("gres", "pwd AS p")]),
        ("User.query", &[("res", "id"), ("cond", "pwd LIKE '$argon2id$%'")]),
        ("User.query", &[("res", "id"), ("orderby", "pwd")]),
    ];
    for (ac, params) in attacks {
        let mut url = vec![("_app", "emp")];
        url.extend_from_slice(params);
        let v = call_as(&mut app, t, ac, &url, &[]);
        assert_eq!(v[0], json!(5), "{ac} {params:?}: {v}");
        assert_eq!(v[1], json!("字段`pwd`不可读"), "{v}");
        assert!(!v.to_string().contains("$argon2id$v"), "{v}");
    }
}
