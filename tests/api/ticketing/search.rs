//! `Event.query` as the contract says: q over name, cast and venue; city, category, kind and date
//! filters; the five sort modes; paging; and `Event.get` with upcoming showings and their classes.

use serde_json::{json, Value};

use super::{at, call, day, guest, ok, refused, spawn_shop, Shop};
use crate::helpers::TestApp;

/// Adds the search corpus to the shop; returns (thunderstorm, reading, exhibition) event ids.
///
/// | event | kind/category | city | next showing | min price | heat |
/// |---|---|---|---|---|---|
/// | 京剧《霸王别姬》 (shop) | show/戏曲, cast 梅派传人 | 北京 | day 3 | 80.50 | 2 |
/// | 星河彼岸 (shop) | movie/科幻, venue 外滩影城 | 上海 | day 2 | 35.00 | 0 |
/// | 话剧《雷雨》 | show/话剧 | 北京 | day 10 | 500.00 | 5 |
/// | 《雷雨》朗读会 | show/话剧 | 北京 | none | none | 0 |
/// | 梅派艺术展 | show/展览 | 北京 | none | none | 0 |
/// plus a draft the public never sees.
fn corpus(app: &mut TestApp, s: &Shop) -> (i64, i64, i64) {
    let venue = s.venue.to_string();
    let event = |app: &mut TestApp, name: &str, category: &str, status: &str| {
        ok(
            app,
            &s.mgr,
            "Event.add",
            &[],
            &[("name", name), ("category", category), ("venueId", &venue), ("status", status)],
        )
        .as_i64()
        .unwrap()
    };
    let storm = event(app, "话剧《雷雨》", "话剧", "ON");
    let reading = event(app, "《雷雨》朗读会", "话剧", "ON");
    let expo = event(app, "梅派艺术展", "展览", "ON");
    event(app, "雷雨(内部草稿)", "话剧", "DR");
    let sh = ok(
        app,
        &s.mgr,
        "Showing.add",
        &[],
        &[("eventId", &storm.to_string()), ("startTm", &at(10, 19, 30)), ("endTm", &at(10, 21, 30))],
    );
    ok(
        app,
        &s.mgr,
        "PriceClass.add",
        &[],
        &[("showingId", &sh.to_string()), ("name", "池座"), ("price", "500"), ("capacity", "10")],
    );
    // Paid tickets: five for the storm this week, two for the opera this week and ten a month ago.
    let recent = at(-1, 12, 0);
    let old = at(-30, 12, 0);
    for (ev, n, tm) in [(storm, 5, &recent), (s.event, 2, &recent), (s.event, 10, &old)] {
        for _ in 0..n {
            app.sql(&format!("INSERT INTO Ticket (eventId, status, paidTm) VALUES ({ev}, 'OK', '{tm}')"));
        }
    }
    (storm, reading, expo)
}

fn ids(app: &mut TestApp, url: &[(&str, &str)]) -> Vec<i64> {
    let mut u = vec![("fmt", "list"), ("res", "id")];
    u.extend_from_slice(url);
    let v = ok(app, &guest(), "Event.query", &u, &[]);
    v["list"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[test]
fn default_fields_are_those_of_the_contract() {
    let (mut app, s) = spawn_shop();
    let v = ok(&mut app, &guest(), "Event.query", &[("fmt", "list"), ("kind", "movie")], &[]);
    let row = &v["list"][0];
    for f in ["id", "name", "kind", "category", "cityName", "venueName", "minPrice", "nextTm", "posterId"] {
        assert!(row.get(f).is_some(), "{f} missing from {row}");
    }
    assert_eq!(
        (row["cityName"].clone(), row["venueName"].clone(), row["minPrice"].clone(), row["nextTm"].clone()),
        (json!("上海市"), json!("外滩影城"), json!("35.00"), json!(at(2, 14, 0)))
    );
    let _ = s;
}

#[test]
fn q_searches_name_cast_and_venue_and_ranks_name_hits_first() {
    let (mut app, s) = spawn_shop();
    let (storm, reading, expo) = corpus(&mut app, &s);
    assert_eq!(
        ids(&mut app, &[("q", "雷雨")]),
        vec![storm, reading],
        "name hits, hotter first; the draft is not public"
    );
    assert_eq!(ids(&mut app, &[("q", "梅派")]), vec![expo, s.event], "a name hit before a cast hit");
    assert_eq!(ids(&mut app, &[("q", "外滩")]), vec![s.movie_event], "venue name");
    assert_eq!(ids(&mut app, &[("q", "雷雨 朗读")]), vec![reading], "every word must appear");
    assert_eq!(ids(&mut app, &[("q", "不存在的演出")]), Vec::<i64>::new());
}

#[test]
fn city_category_kind_and_date_range_filter() {
    let (mut app, s) = spawn_shop();
    let (storm, reading, expo) = corpus(&mut app, &s);
    let sh = s.shanghai.to_string();
    assert_eq!(ids(&mut app, &[("cityId", &sh)]), vec![s.movie_event]);
    let mut drama = ids(&mut app, &[("category", "话剧")]);
    drama.sort();
    assert_eq!(drama, vec![storm, reading]);
    let mut shows = ids(&mut app, &[("kind", "show")]);
    shows.sort();
    assert_eq!(shows, vec![s.event, storm, reading, expo]);
    assert_eq!(ids(&mut app, &[("fromDt", &day(9)), ("toDt", &day(11))]), vec![storm]);
    assert_eq!(ids(&mut app, &[("toDt", &day(2))]), vec![s.movie_event], "the whole last day counts");
    let mut from3 = ids(&mut app, &[("fromDt", &day(3))]);
    from3.sort();
    assert_eq!(from3, vec![s.event, storm]);
    assert_eq!(
        refused(&mut app, &guest(), "Event.query", &[("fromDt", "2026/12/01")], &[], 1),
        "`fromDt`须是日期YYYY-MM-DD, 不能是`2026/12/01`"
    );
    assert_eq!(
        refused(&mut app, &guest(), "Event.query", &[("fromDt", &day(5)), ("toDt", &day(1))], &[], 1),
        "开始日期`fromDt`不能晚于结束日期`toDt`"
    );
}

#[test]
fn each_sort_mode_orders_as_the_contract_says() {
    let (mut app, s) = spawn_shop();
    let (storm, reading, expo) = corpus(&mut app, &s);
    let (opera, movie) = (s.event, s.movie_event);
    // 1 recommended: heat (paid tickets of the last 7 days), ties newest first.
    assert_eq!(ids(&mut app, &[("sort", "1")]), vec![storm, opera, expo, reading, movie]);
    // 0 relevance without q is the same as recommended.
    assert_eq!(ids(&mut app, &[("sort", "0")]), ids(&mut app, &[("sort", "1")]));
    assert_eq!(ids(&mut app, &[]), ids(&mut app, &[("sort", "1")]));
    // 2 next showing first; events without one last.
    assert_eq!(ids(&mut app, &[("sort", "2")]), vec![movie, opera, storm, expo, reading]);
    // 3/4 min price up/down; events without a price last in both.
    assert_eq!(ids(&mut app, &[("sort", "3")]), vec![movie, opera, storm, expo, reading]);
    assert_eq!(ids(&mut app, &[("sort", "4")]), vec![storm, opera, movie, expo, reading]);
    let heat = ok(&mut app, &guest(), "Event.get", &[("id", &opera.to_string()), ("res", "heat")], &[]);
    assert_eq!(heat["heat"], json!(2), "tickets older than a week do not count");
    assert_eq!(
        refused(&mut app, &guest(), "Event.query", &[("sort", "9")], &[], 1),
        "排序方式`sort`只能是0-4, 不能是9"
    );
    // An explicit orderby still wins.
    let v = ids(&mut app, &[("orderby", "id")]);
    let mut sorted = v.clone();
    sorted.sort();
    assert_eq!(v, sorted);
}

#[test]
fn a_sorted_search_pages_without_gaps_or_repeats() {
    let (mut app, s) = spawn_shop();
    corpus(&mut app, &s);
    let all = ids(&mut app, &[("sort", "3"), ("pagesz", "100")]);
    let mut seen: Vec<i64> = Vec::new();
    let mut page = "1".to_string();
    loop {
        let v = ok(
            &mut app,
            &guest(),
            "Event.query",
            &[("sort", "3"), ("pagesz", "2"), ("page", &page), ("res", "id")],
            &[],
        );
        seen.extend(v["d"].as_array().unwrap().iter().map(|r| r[0].as_i64().unwrap()));
        match &v["nextkey"] {
            Value::Null => break,
            k => page = k.to_string(),
        }
    }
    assert_eq!(seen, all);
    assert_eq!(seen.len(), 5);
}

#[test]
fn event_get_carries_the_upcoming_showings_with_their_classes() {
    let (mut app, s) = spawn_shop();
    let ev = s.event.to_string();
    // A past showing of the same event stays out.
    let past = ok(
        &mut app,
        &s.mgr,
        "Showing.add",
        &[],
        &[("eventId", &ev), ("startTm", &at(5, 10, 0)), ("endTm", &at(5, 11, 0))],
    );
    app.sql(&format!("UPDATE Showing SET startTm='2020-01-01 10:00:00', endTm='2020-01-01 11:00:00' WHERE id={past}"));
    let v = ok(&mut app, &guest(), "Event.get", &[("id", &ev)], &[]);
    let showings = v["showings"].as_array().unwrap();
    assert_eq!(showings.len(), 1, "{v}");
    assert_eq!(showings[0]["id"], json!(s.showing));
    assert_eq!(showings[0]["startTm"], json!(at(3, 19, 30)));
    let classes = showings[0]["classes"].as_array().unwrap();
    let names: Vec<(Value, Value, Value)> =
        classes.iter().map(|c| (c["name"].clone(), c["price"].clone(), c["left"].clone())).collect();
    assert_eq!(
        names,
        vec![
            (json!("VIP"), json!("380.00"), json!(6)),
            (json!("普通"), json!("180.00"), json!(11)),
            (json!("C区"), json!("80.50"), json!(4))
        ]
    );
    assert!(classes[0]["id"].is_i64());
    assert_eq!(call(&mut app, &guest(), "Event.get", &[("id", "999999")], &[])[0], json!(1));
}
