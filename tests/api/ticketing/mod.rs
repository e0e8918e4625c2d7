//! The ticketing platform through HTTP: stores and staff, cities, halls, events and search, showings and
//! their seats, and the store boundary (issue 12).
//!
//! [`shop`] builds two stores the way the admin and their managers would through the API: a theatre with
//! a venue, a 3-class hall, an event on sale and a showing; and a cinema with a licensed movie and a
//! screening. Each test starts from a fresh server.

mod catalogue;
mod orders;
mod processes;
mod scope;
mod search;
mod showings;
mod trains;

use chrono::{Duration, Local};
use serde_json::{json, Value};

use crate::authz::call_as;
use crate::helpers::{spawn_app, TestApp};

/// A caller: its token (none for a guest) and app type.
#[derive(Clone)]
pub struct Who {
    pub token: Option<String>,
    pub app: &'static str,
}

pub fn guest() -> Who {
    Who { token: None, app: "user" }
}

/// Calls `ac` as `who`; the envelope.
pub fn call(app: &mut TestApp, who: &Who, ac: &str, url: &[(&str, &str)], body: &[(&str, &str)]) -> Value {
    let mut u = vec![("_app", who.app)];
    u.extend_from_slice(url);
    call_as(app, who.token.as_deref(), ac, &u, body)
}

/// Calls `ac` as `who` and asserts success; the data.
pub fn ok(app: &mut TestApp, who: &Who, ac: &str, url: &[(&str, &str)], body: &[(&str, &str)]) -> Value {
    let v = call(app, who, ac, url, body);
    assert_eq!(v[0], json!(0), "{ac} {url:?} {body:?} should succeed: {v}");
    v[1].clone()
}

/// Calls `ac` as `who` and asserts the error code; the user message.
pub fn refused(
    app: &mut TestApp,
    who: &Who,
    ac: &str,
    url: &[(&str, &str)],
    body: &[(&str, &str)],
    code: i64,
) -> String {
    let v = call(app, who, ac, url, body);
    assert_eq!(v[0], json!(code), "{ac} {url:?} {body:?} should fail with {code}: {v}");
    v[1].as_str().unwrap_or_default().to_string()
}

/// A time `days` from now at `hh:mm`, in the protocol's form.
pub fn at(days: i64, hh: u32, mm: u32) -> String {
    let d = Local::now().date_naive() + Duration::days(days);
    d.and_hms_opt(hh, mm, 0).unwrap().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The date `days` from today.
pub fn day(days: i64) -> String {
    (Local::now().date_naive() + Duration::days(days)).to_string()
}

/// A 3-class hall of 4 rows: 6 A, 8 B (one blocked position), 4 C.
pub const MAP: &str = "AAA_AAA\nBBBxBBBB\n_______\nBBB_B\nCCCC";

/// Two stores built through the API.
pub struct Shop {
    pub admin: Who,
    pub mgr: Who,
    pub clerk: Who,
    pub other_mgr: Who,
    pub buyer: Who,
    pub store: i64,
    pub other_store: i64,
    pub beijing: i64,
    pub shanghai: i64,
    pub venue: i64,
    pub hall: i64,
    pub event: i64,
    pub showing: i64,
    pub cinema_venue: i64,
    pub cinema_hall: i64,
    pub movie: i64,
    pub movie_event: i64,
    pub screening: i64,
}

pub fn login(app: &mut TestApp, ac_app: &'static str, uname: &str, pwd: &str) -> Who {
    app.cookies.clear();
    let v = app.call("login", &[("_app", ac_app)], crate::helpers::Body::Form(&[("uname", uname), ("pwd", pwd)]));
    assert_eq!(v[0], json!(0), "login {uname}: {v}");
    app.cookies.clear();
    Who { token: v[1]["_token"].as_str().map(str::to_string), app: ac_app }
}

fn id(v: Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("an id: {v}"))
}

/// Builds the two stores (see the module doc).
pub fn shop(app: &mut TestApp) -> Shop {
    let admin = login(app, "admin", "admin", "admin123");
    let city = |app: &mut TestApp, code: &str| {
        id(ok(app, &guest(), "City.query", &[("cond", &format!("code='{code}'")), ("res", "id"), ("fmt", "one")], &[])
            ["id"]
            .clone())
    };
    let (beijing, shanghai) = (city(app, "110100"), city(app, "310100"));
    let bj = beijing.to_string();
    let sh = shanghai.to_string();
    let store = id(ok(app, &admin, "Store.add", &[], &[("name", "长安大戏院"), ("kind", "show"), ("cityId", &bj)]));
    let other_store =
        id(ok(app, &admin, "Store.add", &[], &[("name", "外滩影城"), ("kind", "cinema"), ("cityId", &sh)]));
    for s in [store, other_store] {
        ok(app, &admin, "Store.set", &[("id", &s.to_string())], &[("status", "OK")]);
    }
    let (st, ot) = (store.to_string(), other_store.to_string());
    ok(app, &admin, "Employee.add", &[], &[("uname", "mgr1"), ("pwd", "m-1"), ("perms", "emp,mgr"), ("storeId", &st)]);
    ok(app, &admin, "Employee.add", &[], &[("uname", "mgr2"), ("pwd", "m-2"), ("perms", "emp,mgr"), ("storeId", &ot)]);
    let mgr = login(app, "emp", "mgr1", "m-1");
    let other_mgr = login(app, "emp", "mgr2", "m-2");
    ok(app, &mgr, "Employee.add", &[], &[("uname", "clerk1"), ("pwd", "c-1")]);
    let clerk = login(app, "emp", "clerk1", "c-1");

    let venue =
        id(ok(app, &mgr, "Venue.add", &[], &[("name", "长安大戏院"), ("cityId", &bj), ("addr", "东长安街7号")]));
    let hall =
        id(ok(app, &mgr, "Hall.add", &[], &[("venueId", &venue.to_string()), ("name", "主厅"), ("seatMap", MAP)]));
    let event = id(ok(
        app,
        &mgr,
        "Event.add",
        &[],
        &[
            ("name", "京剧《霸王别姬》"),
            ("category", "戏曲"),
            ("cast", "梅派传人"),
            ("venueId", &venue.to_string()),
            ("status", "ON"),
        ],
    ));
    let showing = id(ok(
        app,
        &mgr,
        "Showing.add",
        &[],
        &[
            ("eventId", &event.to_string()),
            ("hallId", &hall.to_string()),
            ("startTm", &at(3, 19, 30)),
            ("endTm", &at(3, 22, 0)),
            ("prices", "A:380.00,B:180,C:80.5"),
            ("classNames", "A:VIP,B:普通"),
        ],
    ));

    let movie = id(ok(
        app,
        &admin,
        "Movie.add",
        &[],
        &[("name", "星河彼岸"), ("cast", "林远"), ("duration", "120"), ("category", "科幻")],
    ));
    ok(
        app,
        &admin,
        "License.add",
        &[],
        &[("storeId", &ot), ("movieId", &movie.to_string()), ("fromDt", &day(-1)), ("toDt", &day(30))],
    );
    let cinema_venue = id(ok(app, &other_mgr, "Venue.add", &[], &[("name", "外滩影城"), ("cityId", &sh)]));
    let cinema_hall = id(ok(
        app,
        &other_mgr,
        "Hall.add",
        &[],
        &[("venueId", &cinema_venue.to_string()), ("name", "1号厅"), ("seatMap", "AAAA\nBBBB")],
    ));
    let movie_event = id(ok(
        app,
        &other_mgr,
        "Event.add",
        &[],
        &[("movieId", &movie.to_string()), ("venueId", &cinema_venue.to_string()), ("status", "ON")],
    ));
    let screening = id(ok(
        app,
        &other_mgr,
        "Showing.add",
        &[],
        &[
            ("eventId", &movie_event.to_string()),
            ("hallId", &cinema_hall.to_string()),
            ("startTm", &at(2, 14, 0)),
            ("prices", "A:45,B:35"),
        ],
    ));
    app.cookies.clear();
    let v = crate::account::login_by_code(app, "13800000001");
    let buyer = Who { token: v["_token"].as_str().map(str::to_string), app: "user" };
    app.cookies.clear();
    Shop {
        admin,
        mgr,
        clerk,
        other_mgr,
        buyer,
        store,
        other_store,
        beijing,
        shanghai,
        venue,
        hall,
        event,
        showing,
        cinema_venue,
        cinema_hall,
        movie,
        movie_event,
        screening,
    }
}

/// A fresh server with the two stores.
pub fn spawn_shop() -> (TestApp, Shop) {
    let mut app = spawn_app();
    let s = shop(&mut app);
    (app, s)
}
