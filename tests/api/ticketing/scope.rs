//! The store boundary: an employee can neither read nor change another store's rows, whatever id,
//! condition, batch or REST form it sends; what it creates always belongs to its own store.

use serde_json::{json, Value};

use super::{call, ok, spawn_shop, Who};
use crate::authz::{json_as, request_as};

fn refused(v: &Value) -> bool {
    matches!(v[0].as_i64(), Some(1) | Some(5))
}

#[test]
fn another_stores_rows_are_invisible_and_untouchable_in_every_request_form() {
    let (mut app, s) = spawn_shop();
    let them: Who = s.other_mgr.clone();
    let t = them.token.as_deref();
    let pc = app.count(&format!("SELECT MIN(id) FROM PriceClass WHERE showingId={}", s.showing));
    let seat = app.count(&format!("SELECT MIN(id) FROM Seat WHERE showingId={}", s.showing));
    let rows: [(&str, i64, (&str, &str)); 7] = [
        ("Venue", s.venue, ("name", "hijack")),
        ("Hall", s.hall, ("name", "hijack")),
        ("Event", s.event, ("name", "hijack")),
        ("Showing", s.showing, ("holdMinutes", "30")),
        ("PriceClass", pc, ("name", "hijack")),
        ("Seat", seat, ("label", "hijack")),
        ("Store", s.store, ("name", "hijack")),
    ];
    let mut failures = Vec::new();
    for (obj, id, field) in rows {
        let id = id.to_string();
        let mut check = |what: String, v: Value| {
            if !refused(&v) {
                failures.push(format!("{obj} {what}: {v}"));
            }
        };
        check("get".into(), call(&mut app, &them, &format!("{obj}.get"), &[("id", &id)], &[]));
        check("set url id".into(), call(&mut app, &them, &format!("{obj}.set"), &[("id", &id)], &[field]));
        check("set body id".into(), call(&mut app, &them, &format!("{obj}.set"), &[], &[("id", &id), field]));
        check("del".into(), call(&mut app, &them, &format!("{obj}.del"), &[("id", &id)], &[]));
        check("REST GET".into(), request_as(&mut app, t, "GET", &format!("/api/{obj}/{id}?_app=emp"), &[]));
        check("REST PATCH".into(), request_as(&mut app, t, "PATCH", &format!("/api/{obj}/{id}?_app=emp"), &[field]));
        check("REST DELETE".into(), request_as(&mut app, t, "DELETE", &format!("/api/{obj}/{id}?_app=emp"), &[]));
        let b = json_as(
            &mut app,
            t,
            "/api/batch?_app=emp",
            &json!([{"ac": format!("{obj}.get"), "get": {"id": id}}, {"ac": format!("{obj}.set"), "get": {"id": id}, "post": {field.0: field.1}}]),
        );
        check("batch get".into(), b[1][0].clone());
        check("batch set".into(), b[1][1].clone());
        // Queries never show another store's row, whatever the condition says.
        let v = call(
            &mut app,
            &them,
            &format!("{obj}.query"),
            &[("cond", &format!("id={id}")), ("res", "id"), ("fmt", "list")],
            &[],
        );
        if v[0] != json!(0) || !v[1]["list"].as_array().unwrap().is_empty() {
            failures.push(format!("{obj} query by id: {v}"));
        }
    }
    assert!(failures.is_empty(), "trespasses answered:\n{}", failures.join("\n"));
    let v = call(&mut app, &them, "Showing.seats", &[("id", &s.showing.to_string())], &[]);
    assert_eq!(v[0], json!(1), "another store's seat map: {v}");
    // Nothing changed.
    assert_eq!(app.count("SELECT COUNT(*) FROM Venue WHERE name='hijack'"), 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Showing WHERE id={} AND holdMinutes=15", s.showing)), 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Event WHERE id={}", s.event)), 1);
}

#[test]
fn what_an_employee_creates_belongs_to_its_store_whatever_it_names() {
    let (mut app, s) = spawn_shop();
    let (theirs, ev, sh) = (s.venue.to_string(), s.event.to_string(), s.showing.to_string());
    let v = call(
        &mut app,
        &s.other_mgr,
        "Venue.add",
        &[],
        &[("name", "x"), ("cityId", &s.beijing.to_string()), ("storeId", &s.store.to_string())],
    );
    assert_eq!(v[0], json!(5), "storeId is not writable: {v}");
    // Children of another store's parents are refused as not found.
    for (ac, body) in [
        ("Hall.add", vec![("venueId", theirs.as_str()), ("name", "x"), ("seatMap", "AA")]),
        ("Event.add", vec![("venueId", theirs.as_str()), ("movieId", "1")]),
        ("Showing.add", vec![("eventId", ev.as_str()), ("startTm", "2030-01-01 10:00:00")]),
        ("PriceClass.add", vec![("showingId", sh.as_str()), ("name", "x"), ("price", "1"), ("capacity", "1")]),
    ] {
        let v = call(&mut app, &s.other_mgr, ac, &[], &body);
        assert_eq!(v[0], json!(1), "{ac}: {v}");
        assert!(v[1].as_str().unwrap().ends_with("不存在"), "{ac}: {v}");
    }
    let mine = ok(&mut app, &s.other_mgr, "Venue.add", &[], &[("name", "新店"), ("cityId", &s.beijing.to_string())]);
    assert_eq!(app.count(&format!("SELECT storeId FROM Venue WHERE id={mine}")), s.other_store);
    // The admin names the store.
    let v = ok(
        &mut app,
        &s.admin,
        "Venue.add",
        &[],
        &[("name", "平台代建"), ("cityId", &s.beijing.to_string()), ("storeId", &s.store.to_string())],
    );
    assert_eq!(app.count(&format!("SELECT storeId FROM Venue WHERE id={v}")), s.store);
    assert_eq!(
        call(&mut app, &s.admin, "Venue.add", &[], &[("name", "x"), ("cityId", "1")])[0],
        json!(1),
        "the admin must name one"
    );
}
