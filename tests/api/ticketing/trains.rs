//! Trains through HTTP: stations, a rail store's train with stops and carriages, runs, search between
//! stations and cities, orders per segment (A→C leaves C→D free), passengers, refunds releasing exactly
//! their segments, check-in, and a race of buyers over overlapping segments ending with no double sale.

use serde_json::{json, Value};

use super::orders::{buyer, pay};
use super::{call, day, ok, refused, Who};
use crate::helpers::{spawn_app, TestApp};

pub(super) struct Rail {
    admin: Who,
    mgr: Who,
    train: i64,
    pub(super) run: i64,
    /// Stations by code: 北京南 VNP, 济南西 JGK, 南京南 NKH, 上海虹桥 AOH.
    pub(super) st: [i64; 4],
}

fn station(app: &mut TestApp, code: &str) -> i64 {
    app.count(&format!("SELECT id FROM Station WHERE code='{code}'"))
}

/// A rail store with G101 (4 stops, an 8-seat second-class carriage and a 1-seat first-class one) running
/// from tomorrow for three days.
pub(super) fn rail(app: &mut TestApp) -> Rail {
    let admin = super::login(app, "admin", "admin", "admin123");
    let store = ok(app, &admin, "Store.add", &[], &[("name", "京沪高铁"), ("kind", "rail")]).to_string();
    ok(app, &admin, "Store.set", &[("id", &store)], &[("status", "OK")]);
    ok(
        app,
        &admin,
        "Employee.add",
        &[],
        &[("uname", "rail"), ("pwd", "r-1"), ("perms", "emp,mgr"), ("storeId", &store)],
    );
    let mgr = super::login(app, "emp", "rail", "r-1");
    let st = [station(app, "VNP"), station(app, "JGK"), station(app, "NKH"), station(app, "AOH")];
    let stops = json!([
        {"seq": 0, "stationId": st[0], "depTm": "08:00", "dayOffset": 0, "km": 0},
        {"seq": 1, "stationId": st[1], "arrTm": "09:32", "depTm": "09:34", "dayOffset": 0, "km": 406},
        {"seq": 2, "stationId": st[2], "arrTm": "11:46", "depTm": "11:48", "dayOffset": 0, "km": 1023},
        {"seq": 3, "stationId": st[3], "arrTm": "12:48", "dayOffset": 0, "km": 1318},
    ]);
    let carriages = json!([
        {"no": "05", "seatClass": "ZE", "seats": "01A,01B,01C,01D,01F,02A,02B,02C"},
        {"no": "02", "seatClass": "ZY", "seats": "01A"},
    ]);
    let token = mgr.token.clone().unwrap();
    let r = app.request(
        "POST",
        "/api/Train.add?_app=emp",
        &[("Content-Type", "application/json"), ("Authorization", &format!("Bearer {token}"))],
        &serde_json::to_vec(
            &json!({"code": "g101", "name": "北京南-上海虹桥", "stops": stops, "carriages": carriages}),
        )
        .unwrap(),
    );
    let v = r.json();
    assert_eq!(v[0], json!(0), "{v}");
    let train = v[1].as_i64().unwrap();
    let made = ok(app, &mgr, "Train.addRuns", &[("id", &train.to_string())], &[("fromDt", &day(1)), ("toDt", &day(3))]);
    assert_eq!(made, json!(3));
    let run = app.count(&format!("SELECT id FROM TrainRun WHERE trainId={train} AND dt='{}'", day(1)));
    Rail { admin, mgr, train, run, st }
}

pub(super) fn passenger(app: &mut TestApp, who: &Who, name: &str, id_no: &str, kind: &str) -> i64 {
    ok(app, who, "Passenger.add", &[], &[("name", name), ("idNo", id_no), ("type", kind)]).as_i64().unwrap()
}

fn order(app: &mut TestApp, who: &Who, r: &Rail, from: usize, to: usize, class: &str, pids: &[i64]) -> Value {
    let ids = pids.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",");
    call(
        app,
        who,
        "Ordr.add",
        &[],
        &[
            ("runId", &r.run.to_string()),
            ("fromStationId", &r.st[from].to_string()),
            ("toStationId", &r.st[to].to_string()),
            ("seatClass", class),
            ("passengerIds", &ids),
            ("contactName", "旅客"),
            ("contactPhone", "13800000001"),
        ],
    )
}

fn left(app: &mut TestApp, r: &Rail, from: usize, to: usize, class: &str) -> i64 {
    let v = ok(
        app,
        &super::guest(),
        "Train.search",
        &[("fromStationId", &r.st[from].to_string()), ("toStationId", &r.st[to].to_string()), ("dt", &day(1))],
        &[],
    );
    let c = v[0]["classes"].as_array().unwrap().iter().find(|c| c["seatClass"] == json!(class)).cloned().unwrap();
    c["left"].as_i64().unwrap()
}

#[test]
fn stations_of_the_cities_are_imported_on_first_start() {
    let mut app = spawn_app();
    assert!(app.count("SELECT COUNT(*) FROM Station") >= 300);
    let v = ok(
        &mut app,
        &super::guest(),
        "Station.query",
        &[("cond", "code='VNP'"), ("res", "name,cityName"), ("fmt", "one")],
        &[],
    );
    assert_eq!(v, json!({"name": "北京南", "cityName": "北京市"}));
}

#[test]
fn a_train_keeps_ordered_stops_and_only_a_rail_store_adds_one() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let t = ok(&mut app, &r.mgr, "Train.get", &[("id", &r.train.to_string())], &[]);
    assert_eq!(t["code"], json!("G101"));
    assert_eq!(t["stops"].as_array().unwrap().len(), 4);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM RunSeat WHERE runId={}", r.run)), 9);
    assert_eq!(
        app.sql(&format!("SELECT label FROM RunSeat WHERE runId={} ORDER BY carriageNo DESC, seq LIMIT 1", r.run))[0]
            ["label"],
        json!("05车01A")
    );
    let v = ok(
        &mut app,
        &r.mgr,
        "Train.addRuns",
        &[("id", &r.train.to_string())],
        &[("fromDt", &day(1)), ("toDt", &day(4))],
    );
    assert_eq!(v, json!(1), "existing days are skipped");
    let msg = refused(
        &mut app,
        &r.mgr,
        "TrainStop.add",
        &[],
        &[("trainId", &r.train.to_string()), ("seq", "4"), ("stationId", "1"), ("km", "1400")],
        5,
    );
    assert_eq!(msg, "车次已有运行日期, 不能再改停靠站");
    let theatre = ok(&mut app, &r.admin, "Store.add", &[], &[("name", "剧院"), ("kind", "show")]).to_string();
    ok(&mut app, &r.admin, "Store.set", &[("id", &theatre)], &[("status", "OK")]);
    assert_eq!(
        refused(&mut app, &r.admin, "Train.add", &[], &[("code", "D1"), ("storeId", &theatre)], 1),
        "只有铁路商户可以添加车次"
    );
    let dup = refused(&mut app, &r.mgr, "TrainRun.add", &[], &[("trainId", &r.train.to_string()), ("dt", &day(1))], 1);
    assert!(dup.starts_with(&format!("G101在{}已有车次日期#", day(1))), "{dup}");
}

#[test]
fn search_finds_runs_between_stations_or_cities_with_times_prices_and_seats_left() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let g = super::guest();
    let v = ok(
        &mut app,
        &g,
        "Train.search",
        &[("fromStationId", &r.st[1].to_string()), ("toStationId", &r.st[3].to_string()), ("dt", &day(1))],
        &[],
    );
    let hit = &v[0];
    assert_eq!(
        (
            hit["trainCode"].clone(),
            hit["fromStationName"].clone(),
            hit["toStationName"].clone(),
            hit["durationMin"].clone()
        ),
        (json!("G101"), json!("济南西"), json!("上海虹桥"), json!(194))
    );
    assert_eq!(hit["depTm"], json!(format!("{} 09:34:00", day(1))));
    assert_eq!(hit["arrTm"], json!(format!("{} 12:48:00", day(1))));
    // 1318 - 406 = 912 km: second class 0.46/km = 419.52 -> 420.00; first class 0.74/km = 674.88 -> 675.00.
    assert_eq!(
        hit["classes"],
        json!([{"seatClass": "ZY", "price": "675.00", "left": 1}, {"seatClass": "ZE", "price": "420.00", "left": 8}])
    );
    // By city: 北京市 (any Beijing station) to 上海市.
    let bj = app.count("SELECT cityId FROM Station WHERE code='VNP'").to_string();
    let sh = app.count("SELECT cityId FROM Station WHERE code='AOH'").to_string();
    let v = ok(
        &mut app,
        &g,
        "Train.search",
        &[("fromCityId", &bj), ("toCityId", &sh), ("dt", &day(1)), ("sort", "duration")],
        &[],
    );
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["durationMin"], json!(288));
    // The wrong direction, another day without a run, and bad parameters.
    let back = ok(
        &mut app,
        &g,
        "Train.search",
        &[("fromStationId", &r.st[3].to_string()), ("toStationId", &r.st[0].to_string()), ("dt", &day(1))],
        &[],
    );
    assert_eq!(back, json!([]));
    let none = ok(
        &mut app,
        &g,
        "Train.search",
        &[("fromStationId", &r.st[0].to_string()), ("toStationId", &r.st[3].to_string()), ("dt", &day(9))],
        &[],
    );
    assert_eq!(none, json!([]));
    refused(&mut app, &g, "Train.search", &[("toStationId", "1"), ("dt", &day(1))], &[], 1);
    refused(&mut app, &g, "Train.search", &[("fromStationId", "1"), ("toStationId", "2"), ("dt", "tomorrow")], &[], 1);
    refused(
        &mut app,
        &g,
        "Train.search",
        &[("fromStationId", "1"), ("toStationId", "2"), ("dt", &day(1)), ("sort", "price")],
        &[],
        1,
    );
}

#[test]
fn a_seat_sold_a_to_c_is_still_sold_c_to_d_and_a_refund_frees_exactly_its_segments() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let b1 = buyer(&mut app, "13800000001");
    let p1 = passenger(&mut app, &b1, "张三", "11010519491231002X", "AD");
    let v = order(&mut app, &b1, &r, 0, 2, "ZY", &[p1]);
    assert_eq!(v[0], json!(0), "{v}");
    let first = v[1].as_i64().unwrap();
    assert_eq!(
        (left(&mut app, &r, 0, 1, "ZY"), left(&mut app, &r, 1, 3, "ZY"), left(&mut app, &r, 2, 3, "ZY")),
        (0, 0, 1)
    );
    let b2 = buyer(&mut app, "13800000002");
    let p2 = passenger(&mut app, &b2, "李四", "440524188001010014", "AD");
    assert_eq!(order(&mut app, &b2, &r, 1, 3, "ZY", &[p2])[1], json!("一等座余票不足"));
    let second = order(&mut app, &b2, &r, 2, 3, "ZY", &[p2]);
    assert_eq!(second[0], json!(0), "C→D on the same seat: {second}");
    let seat_of = |app: &mut TestApp, o: i64| app.count(&format!("SELECT runSeatId FROM Ticket WHERE orderId={o}"));
    assert_eq!(seat_of(&mut app, first), seat_of(&mut app, second[1].as_i64().unwrap()), "one seat, two trips");
    let o = ok(&mut app, &b1, "Ordr.get", &[("id", &first.to_string())], &[]);
    // 1023 km first class: 757.02 -> 757.50.
    assert_eq!((o["amount"].clone(), o["tickets"][0]["label"].clone()), (json!("757.50"), json!("02车01A")));
    pay(&mut app, &b1, first);
    let seat = seat_of(&mut app, first);
    let sold = app.count(&format!("SELECT sold FROM RunSeat WHERE id={seat}"));
    assert_eq!(sold, 0b011, "A→C sold: segments 0 and 1");
    ok(&mut app, &b1, "Ordr.refund", &[("id", &first.to_string())], &[]);
    assert_eq!(app.count(&format!("SELECT sold FROM RunSeat WHERE id={seat}")), 0);
    assert_eq!(app.count(&format!("SELECT held FROM RunSeat WHERE id={seat}")), 0b100, "C→D still held");
    assert_eq!(left(&mut app, &r, 0, 2, "ZY"), 1);
}

#[test]
fn passengers_are_the_buyers_own_with_valid_ids_and_one_live_ticket_per_run() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let b = buyer(&mut app, "13800000001");
    assert_eq!(
        refused(&mut app, &b, "Passenger.add", &[], &[("name", "错"), ("idNo", "110105194912310021")], 1),
        "身份证号须是18位, 且校验码正确"
    );
    ok(&mut app, &b, "Passenger.add", &[], &[("name", "外宾"), ("idType", "PP"), ("idNo", "E12345678")]);
    let adult = passenger(&mut app, &b, "张三", "11010519491231002X", "AD");
    let child = passenger(&mut app, &b, "张小三", "110101199003074477", "CH");
    assert_eq!(
        refused(&mut app, &b, "Passenger.add", &[], &[("name", "又一个"), ("idNo", "11010519491231002x")], 1),
        "已有该证件号的乘车人"
    );
    let other = buyer(&mut app, "13800000002");
    let theirs = passenger(&mut app, &other, "李四", "440524188001010014", "AD");
    assert_eq!(refused(&mut app, &other, "Passenger.get", &[("id", &adult.to_string())], &[], 1), "参数不正确");
    let v = order(&mut app, &b, &r, 0, 3, "ZE", &[adult, theirs]);
    assert_eq!(v[1], json!(format!("乘车人#{theirs}不是你的常用乘车人")));
    let v = order(&mut app, &b, &r, 0, 3, "ZE", &[adult, child]);
    assert_eq!(v[0], json!(0), "{v}");
    let o = ok(&mut app, &b, "Ordr.get", &[("id", &v[1].to_string())], &[]);
    // 1318 km second class 606.50, the child half: 303.50 (rounded up to half a yuan).
    assert_eq!(o["amount"], json!("910.00"));
    let labels: Vec<String> =
        o["tickets"].as_array().unwrap().iter().map(|t| t["label"].as_str().unwrap().to_string()).collect();
    assert_eq!(labels, ["05车01A", "05车01B"], "side by side in one carriage");
    let v = order(&mut app, &b, &r, 1, 2, "ZE", &[adult]);
    assert_eq!(v[1], json!(format!("乘车人张三已有G101 {}的车票", day(1))));
    assert_eq!(order(&mut app, &b, &r, 3, 0, "ZE", &[adult])[1], json!("G101不是从该站开往该站的车次"));
    // Cancelling frees the passenger and the seats.
    ok(&mut app, &b, "Ordr.cancel", &[("id", &o["id"].to_string())], &[]);
    assert_eq!(order(&mut app, &b, &r, 1, 2, "ZE", &[adult])[0], json!(0));
}

#[test]
fn a_train_ticket_checks_in_at_its_store_and_departure_ends_sales() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let b = buyer(&mut app, "13800000001");
    let p = passenger(&mut app, &b, "张三", "11010519491231002X", "AD");
    let id = order(&mut app, &b, &r, 0, 1, "ZE", &[p])[1].as_i64().unwrap();
    pay(&mut app, &b, id);
    let code = app.sql(&format!("SELECT code FROM Ticket WHERE orderId={id}"))[0]["code"].as_str().unwrap().to_string();
    let t = ok(&mut app, &r.mgr, "Ticket.checkin", &[("code", &code)], &[]);
    assert_eq!(t["status"], json!("US"));
    let msg = refused(&mut app, &r.mgr, "Ticket.checkin", &[("code", &code)], &[], 5);
    assert!(msg.starts_with("该票已于"), "{msg}");
    assert_eq!(app.sql(&format!("SELECT status FROM Ordr WHERE id={id}"))[0]["status"], json!("RE"));
    app.sql(&format!("UPDATE TrainRun SET dt='2000-01-01' WHERE id={}", r.run));
    let msg = order(&mut app, &b, &r, 1, 3, "ZE", &[p])[1].as_str().unwrap().to_string();
    assert_eq!(msg, "G101已于2000-01-01 09:34从上车站发车");
}

#[test]
fn a_late_train_payment_retakes_its_segments_if_free_and_is_refunded_if_not() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let b1 = buyer(&mut app, "13800000001");
    let p1 = passenger(&mut app, &b1, "张三", "11010519491231002X", "AD");
    let first = order(&mut app, &b1, &r, 0, 2, "ZY", &[p1])[1].as_i64().unwrap();
    let p = ok(&mut app, &b1, "Ordr.pay", &[("id", &first.to_string())], &[]);
    app.sql(&format!("UPDATE Ordr SET expireTm='2000-01-01 00:00:00' WHERE id={first}"));
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(left(&mut app, &r, 0, 2, "ZY"), 1, "the expired hold gave its segments back");
    // Another buyer takes B→C of the same seat; the late payment for A→C can no longer have it.
    let b2 = buyer(&mut app, "13800000002");
    let p2 = passenger(&mut app, &b2, "李四", "440524188001010014", "AD");
    assert_eq!(order(&mut app, &b2, &r, 1, 2, "ZY", &[p2])[0], json!(0));
    let (serial, amount) = (p["serial"].as_str().unwrap().to_string(), p["amount"].as_str().unwrap().to_string());
    let answer = super::orders::notify(
        &mut app,
        &[("serial", &serial), ("tradeNo", "T"), ("amount", &amount), ("status", "SUCCESS")],
        "test-pay-secret",
    );
    assert_eq!(answer, "success");
    assert_eq!(app.sql(&format!("SELECT status FROM Ordr WHERE id={first}"))[0]["status"], json!("CA"));
    assert_eq!(app.sql(&format!("SELECT status FROM Payment WHERE serial='{serial}'"))[0]["status"], json!("RF"));
    // With the seat free again, a late payment of a third order takes it back.
    let b3 = buyer(&mut app, "13800000003");
    let p3 = passenger(&mut app, &b3, "王五", "110101199003074477", "AD");
    let third = order(&mut app, &b3, &r, 2, 3, "ZY", &[p3])[1].as_i64().unwrap();
    let p = ok(&mut app, &b3, "Ordr.pay", &[("id", &third.to_string())], &[]);
    app.sql(&format!("UPDATE Ordr SET expireTm='2000-01-01 00:00:00' WHERE id={third}"));
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    let (serial, amount) = (p["serial"].as_str().unwrap().to_string(), p["amount"].as_str().unwrap().to_string());
    super::orders::notify(
        &mut app,
        &[("serial", &serial), ("tradeNo", "T"), ("amount", &amount), ("status", "SUCCESS")],
        "test-pay-secret",
    );
    assert_eq!(app.sql(&format!("SELECT status FROM Ordr WHERE id={third}"))[0]["status"], json!("PA"));
    let seat = app.count(&format!("SELECT runSeatId FROM Ticket WHERE orderId={third}"));
    assert_eq!(app.count(&format!("SELECT sold FROM RunSeat WHERE id={seat}")), 0b100, "C→D sold again");
}

/// The trips of a race over the four stops: every length, many overlapping.
pub(super) const TRIPS: [(usize, usize); 6] = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)];

/// `Ordr.add` of one first-class seat from stop `a` to stop `b` for passenger `pid`, sent to `addr` on a
/// connection of its own (for racing threads).
pub(super) fn race_order(
    addr: std::net::SocketAddr,
    token: &str,
    run: i64,
    st: [i64; 4],
    (a, b): (usize, usize),
    pid: i64,
) -> Value {
    let form = [
        ("runId", run.to_string()),
        ("fromStationId", st[a].to_string()),
        ("toStationId", st[b].to_string()),
        ("seatClass", "ZY".to_string()),
        ("passengerIds", pid.to_string()),
        ("contactName", "抢".to_string()),
        ("contactPhone", "13900000000".to_string()),
    ];
    let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::helpers::post_form_as(addr, token, "/api/Ordr.add", &f)
}

/// The segment masks of the run's live tickets, checked pairwise disjoint.
pub(super) fn live_masks_disjoint(app: &mut TestApp, run: i64) -> Vec<i64> {
    let rows = app.sql(&format!("SELECT mask FROM Ticket WHERE runId={run} AND status IN ('HD','OK')"));
    let masks: Vec<i64> = rows.as_array().unwrap().iter().map(|r| r["mask"].as_i64().unwrap()).collect();
    for (i, a) in masks.iter().enumerate() {
        for b in &masks[i + 1..] {
            assert_eq!(a & b, 0, "a segment sold twice: {masks:?}");
        }
    }
    masks
}

#[test]
fn buyers_racing_for_overlapping_segments_through_http_never_share_a_segment_and_every_sold_one_is_paid() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let mut buyers = Vec::new();
    let ids = ["11010519491231002X", "440524188001010014", "110101199003074477"];
    for i in 0..18 {
        let b = buyer(&mut app, &format!("1380000{:04}", i));
        let pid = passenger(&mut app, &b, &format!("乘客{i}"), ids[i % 3], "AD");
        buyers.push((b.token.unwrap(), pid));
    }
    let addr = app.addr;
    let (run, st) = (r.run, r.st);
    let threads: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(i, (token, pid))| {
            std::thread::spawn(move || {
                let v = race_order(addr, &token, run, st, TRIPS[i % TRIPS.len()], pid);
                // Winners pay at once, racing with the others' holds.
                if v[0] == json!(0) {
                    let p = crate::helpers::post_form_as(addr, &token, &format!("/api/Ordr.pay?id={}", v[1]), &[]);
                    let (serial, amount) =
                        (p[1]["serial"].as_str().unwrap().to_string(), p[1]["amount"].as_str().unwrap().to_string());
                    let fields = [
                        ("serial", serial.clone()),
                        ("tradeNo", "T".to_string()),
                        ("amount", amount.clone()),
                        ("status", "SUCCESS".to_string()),
                    ];
                    let owned: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
                    let sign = jindouyun::ticketing::payment::Mock::new(b"test-pay-secret").sign(&owned);
                    let form = [
                        ("serial", serial.as_str()),
                        ("tradeNo", "T"),
                        ("amount", amount.as_str()),
                        ("status", "SUCCESS"),
                        ("sign", sign.as_str()),
                    ];
                    let body = crate::helpers::qs(&form);
                    let r = crate::helpers::send(
                        addr,
                        "POST",
                        "/api/payNotify?channel=mock",
                        &[("Content-Type", "application/x-www-form-urlencoded")],
                        body.as_bytes(),
                    );
                    assert_eq!(r.text(), "success");
                }
                (v[0].as_i64().unwrap(), v[1].clone())
            })
        })
        .collect();
    let codes: Vec<(i64, Value)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(codes.iter().all(|(c, _)| matches!(c, 0 | 5)), "{codes:?}");
    let wins = codes.iter().filter(|(c, _)| *c == 0).count();
    assert!((1..=3).contains(&wins), "one first-class seat, three segments: {codes:?}");
    // Every pair of live tickets of the seat uses disjoint segments, and the seat's sold mask is their union.
    let masks = live_masks_disjoint(&mut app, run);
    let union = masks.iter().fold(0, |a, b| a | b);
    let seat = app.count(&format!("SELECT id FROM RunSeat WHERE runId={run} AND seatClass='ZY'"));
    // Every winner paid: the seat's sold mask is exactly their segments, nothing is left held, and every
    // valid ticket has its payment.
    assert_eq!(app.count(&format!("SELECT sold FROM RunSeat WHERE id={seat}")), union);
    assert_eq!(app.count(&format!("SELECT held FROM RunSeat WHERE id={seat}")), 0);
    let unpaid = app.count(&format!(
        "SELECT COUNT(*) FROM Ticket k WHERE k.runId={run} AND k.status='OK' AND NOT EXISTS (SELECT 1 FROM Payment p WHERE p.orderId=k.orderId AND p.status='OK')"
    ));
    assert_eq!(unpaid, 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ticket WHERE runId={run} AND status='OK'")), wins as i64);
}

#[test]
fn another_rail_stores_trains_runs_and_seats_are_invisible_and_untouchable() {
    let mut app = spawn_app();
    let r = rail(&mut app);
    let other = ok(&mut app, &r.admin, "Store.add", &[], &[("name", "另一家铁路"), ("kind", "rail")]).to_string();
    ok(&mut app, &r.admin, "Store.set", &[("id", &other)], &[("status", "OK")]);
    ok(
        &mut app,
        &r.admin,
        "Employee.add",
        &[],
        &[("uname", "rail2"), ("pwd", "r-2"), ("perms", "emp,mgr"), ("storeId", &other)],
    );
    let them = super::login(&mut app, "emp", "rail2", "r-2");
    let (train, run) = (r.train.to_string(), r.run.to_string());
    let stop = app.count(&format!("SELECT MIN(id) FROM TrainStop WHERE trainId={train}")).to_string();
    let car = app.count(&format!("SELECT MIN(id) FROM Carriage WHERE trainId={train}")).to_string();
    let seat = app.count(&format!("SELECT MIN(id) FROM RunSeat WHERE runId={run}")).to_string();
    for (obj, id, field) in [
        ("Train", &train, ("name", "x")),
        ("TrainStop", &stop, ("km", "1")),
        ("Carriage", &car, ("no", "99")),
        ("TrainRun", &run, ("status", "CA")),
    ] {
        refused(&mut app, &them, &format!("{obj}.get"), &[("id", id)], &[], 1);
        refused(&mut app, &them, &format!("{obj}.set"), &[("id", id)], &[field], 1);
        refused(&mut app, &them, &format!("{obj}.del"), &[("id", id)], &[], 1);
        let v = ok(
            &mut app,
            &them,
            &format!("{obj}.query"),
            &[("cond", &format!("id={id}")), ("res", "id"), ("fmt", "list")],
            &[],
        );
        assert_eq!(v["list"], json!([]), "{obj}");
    }
    refused(&mut app, &them, "RunSeat.get", &[("id", &seat)], &[], 1);
    refused(&mut app, &them, "Train.addRuns", &[("id", &train)], &[("fromDt", &day(5)), ("toDt", &day(6))], 1);
    refused(
        &mut app,
        &them,
        "TrainStop.add",
        &[],
        &[("trainId", &train), ("seq", "9"), ("stationId", "1"), ("km", "9999")],
        1,
    );
    refused(&mut app, &them, "TrainRun.add", &[], &[("trainId", &train), ("dt", &day(9))], 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM TrainRun WHERE trainId={train}")), 3, "nothing added");
    // Its own train is its own.
    let mine = ok(&mut app, &them, "Train.add", &[], &[("code", "D9")]);
    assert_eq!(app.count(&format!("SELECT storeId FROM Train WHERE id={mine}")), other.parse::<i64>().unwrap());
}
