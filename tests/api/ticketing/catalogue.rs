//! Stores, staff, cities, halls, movies and licences, events: every rule and refusal of DESIGN.md
//! 票务 sections, through HTTP.

use serde_json::json;

use super::{call, guest, ok, refused, spawn_shop};
use crate::helpers::spawn_app;

#[test]
fn the_city_list_is_imported_on_first_start_and_readable_by_guests() {
    let mut app = spawn_app();
    assert_eq!(app.count("SELECT COUNT(*) FROM City"), 337);
    let v = ok(&mut app, &guest(), "City.query", &[("q", "杭州"), ("res", "code,name,province"), ("fmt", "list")], &[]);
    assert_eq!(v["list"], json!([{"code": "330100", "name": "杭州市", "province": "浙江省"}]));
    refused(&mut app, &guest(), "City.add", &[], &[("name", "x"), ("code", "999999")], 5);
}

#[test]
fn a_new_store_is_pending_and_invisible_until_the_admin_approves_it() {
    let (mut app, s) = spawn_shop();
    let id = ok(&mut app, &s.admin, "Store.add", &[], &[("name", "新剧场"), ("kind", "show"), ("status", "OK")]);
    let id = id.to_string();
    assert_eq!(
        ok(&mut app, &s.admin, "Store.get", &[("id", &id), ("res", "status")], &[])["status"],
        "PE",
        "always pending"
    );
    assert_eq!(
        call(&mut app, &guest(), "Store.get", &[("id", &id)], &[])[0],
        json!(1),
        "guests see approved stores only"
    );
    ok(&mut app, &s.admin, "Store.set", &[("id", &id)], &[("status", "OK")]);
    assert_eq!(
        ok(&mut app, &guest(), "Store.get", &[("id", &id), ("res", "name,statusName")], &[])["statusName"],
        "已通过"
    );
    let msg = refused(&mut app, &s.admin, "Store.set", &[("id", &id)], &[("status", "PE")], 5);
    assert_eq!(msg, "商户状态不可从已通过改为待审核");
    ok(&mut app, &s.admin, "Store.set", &[("id", &id)], &[("status", "BL")]);
    assert_eq!(call(&mut app, &guest(), "Store.get", &[("id", &id)], &[])[0], json!(1), "blocked stores disappear");
    let msg = refused(&mut app, &s.admin, "Store.add", &[], &[("name", "x"), ("kind", "bar")], 1);
    assert!(msg.contains("show(演出)"), "{msg}");
    refused(&mut app, &s.admin, "Store.set", &[("id", &id)], &[("kind", "cinema")], 5);
}

#[test]
fn a_blocked_store_takes_its_events_and_showings_out_of_the_catalogue() {
    let (mut app, s) = spawn_shop();
    let ev = s.event.to_string();
    ok(&mut app, &guest(), "Event.get", &[("id", &ev)], &[]);
    ok(&mut app, &s.admin, "Store.set", &[("id", &s.store.to_string())], &[("status", "BL")]);
    assert_eq!(call(&mut app, &guest(), "Event.get", &[("id", &ev)], &[])[0], json!(1));
    assert_eq!(call(&mut app, &guest(), "Showing.seats", &[("id", &s.showing.to_string())], &[])[0], json!(1));
    let v = ok(&mut app, &guest(), "Venue.query", &[("res", "id"), ("fmt", "list")], &[]);
    assert!(!v["list"].as_array().unwrap().iter().any(|r| r["id"] == json!(s.venue)), "{v}");
    // Its own staff still work on it.
    ok(&mut app, &s.mgr, "Event.get", &[("id", &ev)], &[]);
}

#[test]
fn staff_see_their_own_store_and_only_a_manager_edits_its_details() {
    let (mut app, s) = spawn_shop();
    let v = ok(&mut app, &s.clerk, "Store.query", &[("res", "id"), ("fmt", "list")], &[]);
    assert_eq!(v["list"], json!([{"id": s.store}]));
    let msg = refused(&mut app, &s.clerk, "Store.set", &[("id", &s.store.to_string())], &[("tel", "1")], 5);
    assert_eq!(msg, "只有经理可以修改商户信息");
    ok(&mut app, &s.mgr, "Store.set", &[("id", &s.store.to_string())], &[("tel", "010-1")]);
    refused(&mut app, &s.mgr, "Store.set", &[("id", &s.store.to_string())], &[("status", "BL")], 5);
    refused(&mut app, &s.mgr, "Store.set", &[("id", &s.other_store.to_string())], &[("tel", "2")], 1);
    refused(&mut app, &s.mgr, "Store.add", &[], &[("name", "mine"), ("kind", "show")], 5);
    let msg = refused(&mut app, &s.admin, "Store.del", &[("id", &s.store.to_string())], &[], 5);
    assert!(msg.contains("不能删除"), "{msg}");
}

#[test]
fn every_employee_works_for_one_store_and_managers_manage_only_theirs() {
    let (mut app, s) = spawn_shop();
    // The bootstrap manager of a fresh database belongs to a store too.
    assert_eq!(app.count("SELECT COUNT(*) FROM Employee WHERE storeId IS NULL"), 0);
    let msg = refused(&mut app, &s.admin, "Employee.add", &[], &[("uname", "nobody")], 1);
    assert_eq!(msg, "请指定员工所属商户(storeId)");
    refused(&mut app, &s.admin, "Employee.add", &[], &[("uname", "nobody"), ("storeId", "99999")], 1);
    let clerk = app.count("SELECT id FROM Employee WHERE uname='clerk1'");
    assert_eq!(
        app.count(&format!("SELECT storeId FROM Employee WHERE id={clerk}")),
        s.store,
        "a manager's hire joins its store"
    );
    let v = ok(&mut app, &s.other_mgr, "Employee.query", &[("res", "uname"), ("fmt", "list")], &[]);
    assert_eq!(v["list"], json!([{"uname": "mgr2"}]), "another store's staff are invisible");
    refused(&mut app, &s.other_mgr, "Employee.get", &[("id", &clerk.to_string())], &[], 1);
    refused(&mut app, &s.other_mgr, "Employee.set", &[("id", &clerk.to_string())], &[("name", "x")], 1);
    refused(&mut app, &s.other_mgr, "Employee.del", &[("id", &clerk.to_string())], &[], 1);
    refused(
        &mut app,
        &s.mgr,
        "Employee.set",
        &[("id", &clerk.to_string())],
        &[("storeId", &s.other_store.to_string())],
        5,
    );
    refused(
        &mut app,
        &s.admin,
        "Employee.set",
        &[("id", &clerk.to_string())],
        &[("storeId", &s.other_store.to_string())],
        5,
    );
    // Each store keeps a manager of its own: the other store's manager does not count.
    let me = app.count("SELECT id FROM Employee WHERE uname='mgr1'").to_string();
    let msg = refused(&mut app, &s.admin, "Employee.set", &[("id", &me)], &[("perms", "emp")], 5);
    assert_eq!(msg, "至少要保留一名经理");
}

#[test]
fn a_hall_is_stored_with_its_dimensions_and_a_bad_map_is_refused_by_line_and_column() {
    let (mut app, s) = spawn_shop();
    let v = ok(
        &mut app,
        &s.mgr,
        "Hall.get",
        &[("id", &s.hall.to_string()), ("res", "rows,cols,seatCnt,storeId,venueName")],
        &[],
    );
    assert_eq!(v, json!({"rows": 5, "cols": 8, "seatCnt": 21, "storeId": s.store, "venueName": "长安大戏院"}));
    let venue = s.venue.to_string();
    let msg =
        refused(&mut app, &s.mgr, "Hall.add", &[], &[("venueId", &venue), ("name", "x"), ("seatMap", "AA\nA#")], 1);
    assert_eq!(msg, "座位图第2行第2列: 不认识的字符`#`(座位用A-Z, 过道用_, 不售用x)");
    refused(
        &mut app,
        &s.mgr,
        "Hall.add",
        &[],
        &[("venueId", &venue), ("name", "x"), ("seatMap", "AA"), ("seatCnt", "900")],
        5,
    );
    // Another store's venue is not found; editing the map recomputes the counts.
    let other = s.cinema_venue.to_string();
    let msg = refused(&mut app, &s.mgr, "Hall.add", &[], &[("venueId", &other), ("name", "x"), ("seatMap", "AA")], 1);
    assert_eq!(msg, format!("场馆#{other}不存在"));
    ok(&mut app, &s.mgr, "Hall.set", &[("id", &s.hall.to_string())], &[("seatMap", "AAAA\nAAAA\nAAAA")]);
    let v = ok(&mut app, &s.mgr, "Hall.get", &[("id", &s.hall.to_string()), ("res", "rows,cols,seatCnt")], &[]);
    assert_eq!(v, json!({"rows": 3, "cols": 4, "seatCnt": 12}));
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM Seat WHERE showingId={}", s.showing)),
        21,
        "existing showings keep their seats"
    );
    let msg = refused(&mut app, &s.mgr, "Hall.del", &[("id", &s.hall.to_string())], &[], 5);
    assert_eq!(msg, "影厅已有场次, 不能删除");
    let msg = refused(&mut app, &s.mgr, "Venue.del", &[("id", &venue)], &[], 5);
    assert_eq!(msg, "场馆已有影厅或演出, 不能删除");
    refused(&mut app, &s.mgr, "Venue.add", &[], &[("name", "x"), ("cityId", "999999")], 1);
}

#[test]
fn movies_are_the_admins_and_licences_only_go_to_cinemas() {
    let (mut app, s) = spawn_shop();
    refused(&mut app, &s.mgr, "Movie.add", &[], &[("name", "x"), ("duration", "90")], 5);
    refused(&mut app, &s.admin, "Movie.add", &[], &[("name", "x"), ("duration", "0")], 1);
    let m = s.movie.to_string();
    let msg = refused(
        &mut app,
        &s.admin,
        "License.add",
        &[],
        &[("storeId", &s.store.to_string()), ("movieId", &m), ("fromDt", "2026-01-01"), ("toDt", "2026-02-01")],
        1,
    );
    assert_eq!(msg, "只有影院可以持有放映许可");
    let o = s.other_store.to_string();
    let msg = refused(
        &mut app,
        &s.admin,
        "License.add",
        &[],
        &[("storeId", &o), ("movieId", &m), ("fromDt", "2026-03-01"), ("toDt", "2026-02-01")],
        1,
    );
    assert_eq!(msg, "许可开始日期不能晚于结束日期");
    let v = ok(&mut app, &s.other_mgr, "License.query", &[("res", "movieName"), ("fmt", "list")], &[]);
    assert_eq!(v["list"], json!([{"movieName": "星河彼岸"}]));
    let v = ok(&mut app, &s.mgr, "License.query", &[("res", "id"), ("fmt", "list")], &[]);
    assert_eq!(v["list"], json!([]), "a theatre holds none");
    let msg = refused(&mut app, &s.admin, "Movie.del", &[("id", &m)], &[], 5);
    assert!(msg.contains("不能删除"), "{msg}");
}

#[test]
fn events_take_their_kind_from_the_store_and_a_movie_event_its_details_from_the_movie() {
    let (mut app, s) = spawn_shop();
    let v = ok(
        &mut app,
        &s.other_mgr,
        "Event.get",
        &[("id", &s.movie_event.to_string()), ("res", "kind,name,cast,category,cityId,status,maxPerOrder")],
        &[],
    );
    assert_eq!(
        v,
        json!({"kind": "movie", "name": "星河彼岸", "cast": "林远", "category": "科幻", "cityId": s.shanghai, "status": "ON", "maxPerOrder": 5})
    );
    let venue = s.venue.to_string();
    let cv = s.cinema_venue.to_string();
    assert_eq!(
        refused(
            &mut app,
            &s.mgr,
            "Event.add",
            &[],
            &[("name", "x"), ("venueId", &venue), ("kind", "movie"), ("movieId", &s.movie.to_string())],
            1
        ),
        "只有影院可以添加电影"
    );
    assert_eq!(
        refused(&mut app, &s.other_mgr, "Event.add", &[], &[("name", "x"), ("venueId", &cv), ("kind", "show")], 1),
        "影院只能添加电影"
    );
    assert_eq!(refused(&mut app, &s.other_mgr, "Event.add", &[], &[("venueId", &cv)], 1), "请指定影片(movieId)");
    refused(&mut app, &s.mgr, "Event.add", &[], &[("name", "x"), ("venueId", &cv)], 1);
    refused(&mut app, &s.mgr, "Event.add", &[], &[("name", "x"), ("venueId", &venue), ("maxPerOrder", "50")], 1);
    refused(&mut app, &s.mgr, "Event.add", &[], &[("name", "x"), ("venueId", &venue), ("status", "XX")], 1);
    let draft = ok(&mut app, &s.mgr, "Event.add", &[], &[("name", "草稿演出"), ("venueId", &venue)]).to_string();
    assert_eq!(
        ok(&mut app, &s.mgr, "Event.get", &[("id", &draft), ("res", "status,cityId")], &[]),
        json!({"status": "DR", "cityId": s.beijing})
    );
    assert_eq!(
        call(&mut app, &guest(), "Event.get", &[("id", &draft)], &[])[0],
        json!(1),
        "drafts are not in the catalogue"
    );
    refused(&mut app, &s.mgr, "Event.set", &[("id", &draft)], &[("kind", "movie")], 5);
    refused(&mut app, &s.mgr, "Event.set", &[("id", &draft)], &[("storeId", &s.other_store.to_string())], 5);
    ok(&mut app, &s.mgr, "Event.set", &[("id", &draft)], &[("status", "ON"), ("category", "话剧")]);
    ok(&mut app, &guest(), "Event.get", &[("id", &draft)], &[]);
    ok(&mut app, &s.mgr, "Event.del", &[("id", &draft)], &[]);
    let msg = refused(&mut app, &s.mgr, "Event.del", &[("id", &s.event.to_string())], &[], 5);
    assert_eq!(msg, "演出已有场次, 不能删除, 可以停售");
}

#[test]
fn a_guest_reads_the_catalogue_but_writes_nothing() {
    let (mut app, s) = spawn_shop();
    let g = guest();
    refused(&mut app, &g, "Venue.add", &[], &[("name", "x"), ("cityId", &s.beijing.to_string())], 5);
    refused(&mut app, &g, "Event.set", &[("id", &s.event.to_string())], &[("name", "x")], 5);
    refused(&mut app, &s.buyer, "Showing.add", &[], &[("eventId", &s.event.to_string())], 5);
    ok(&mut app, &g, "Hall.get", &[("id", &s.hall.to_string())], &[]);
    ok(&mut app, &g, "Movie.query", &[], &[]);
    ok(&mut app, &g, "PriceClass.query", &[("cond", &format!("showingId={}", s.showing))], &[]);
}

#[test]
fn posters_are_public_while_other_uploads_stay_private() {
    let (mut app, s) = spawn_shop();
    app.login_admin();
    let poster =
        crate::attachment::upload_ok(&mut app, &[("_app", "admin")], &[("file", "poster.txt", b"poster bytes")])[0]
            ["id"]
            .clone();
    let private = crate::attachment::upload_ok(&mut app, &[("_app", "admin")], &[("file", "contract.txt", b"secret")])
        [0]["id"]
        .clone();
    ok(&mut app, &s.admin, "Movie.set", &[("id", &s.movie.to_string())], &[("posterId", &poster.to_string())]);
    app.cookies.clear();
    let r = crate::attachment::att(&mut app, &[("id", &poster.to_string())], &[]);
    assert_eq!((r.status, r.text()), (200, "poster bytes".to_string()));
    let r = crate::attachment::att(&mut app, &[("id", &private.to_string())], &[]);
    assert_eq!(r.json()[0], json!(2), "a guest must log in for anything else");
    // A movie event made after the poster was set carries it.
    let v = ok(
        &mut app,
        &s.other_mgr,
        "Event.add",
        &[],
        &[("movieId", &s.movie.to_string()), ("venueId", &s.cinema_venue.to_string())],
    );
    assert_eq!(app.count(&format!("SELECT posterId FROM Event WHERE id={v}")), poster.as_i64().unwrap());
}

#[test]
fn the_import_command_updates_cities_by_code_and_refuses_a_bad_file_without_writing() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let file = dir.path().join("cities.csv");
    let bin = env!("CARGO_BIN_EXE_jindouyun");
    let design = concat!(env!("CARGO_MANIFEST_DIR"), "/design/DESIGN.md");
    let run = |text: &str| {
        std::fs::write(&file, text).unwrap();
        Command::new(bin)
            .args(["import", "cities", file.to_str().unwrap()])
            .env("P_DB", &db)
            .env("P_DESIGN", design)
            .output()
            .unwrap()
    };
    let out = run("code,name,province\n330100,杭州,浙江省\n330200,宁波市,浙江省\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2 cities added, 0 updated");
    let out = run("code,name,province\n330100,杭州市,浙江省\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0 cities added, 1 updated");
    let out = run("code,name,province\n33,杭州市,浙江省\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("第2行"), "{}", String::from_utf8_lossy(&out.stderr));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM City ORDER BY code")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["杭州市", "宁波市"]);
}
