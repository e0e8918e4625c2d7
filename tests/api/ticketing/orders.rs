//! Ticket orders through HTTP: pricing, holds and every refusal, idempotent submits, cancel and expiry,
//! general admission, payment notifications (genuine, forged, replayed, changed, late), refunds, QR codes
//! and check-in; and races of many buyers for the same seats and places, ending with no double sale.

use serde_json::{json, Value};

use super::{at, call, ok, refused, spawn_shop, Shop, Who};
use crate::helpers::TestApp;

/// A buyer logged in by phone (the test-mode code).
pub fn buyer(app: &mut TestApp, phone: &str) -> Who {
    app.cookies.clear();
    let v = app.call("login", &[], crate::helpers::Body::Form(&[("uname", phone), ("code", "080909")]));
    assert_eq!(v[0], json!(0), "{v}");
    app.cookies.clear();
    Who { token: v[1]["_token"].as_str().map(str::to_string), app: "user" }
}

/// Seat ids of the shop's showing by label.
pub fn seats(app: &mut TestApp, s: &Shop, labels: &[&str]) -> String {
    labels
        .iter()
        .map(|l| app.count(&format!("SELECT id FROM Seat WHERE showingId={} AND label='{l}'", s.showing)).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn order_seats(app: &mut TestApp, s: &Shop, who: &Who, ids: &str, extra: &[(&str, &str)]) -> Value {
    let sh = s.showing.to_string();
    let mut body =
        vec![("showingId", sh.as_str()), ("seatIds", ids), ("contactName", "张三"), ("contactPhone", "13800000001")];
    body.extend_from_slice(extra);
    call(app, who, "Ordr.add", &[], &body)
}

/// Signs and posts a mock notification; the plain-text answer.
pub fn notify(app: &mut TestApp, fields: &[(&str, &str)], secret: &str) -> String {
    let mock = jindouyun::ticketing::payment::Mock::new(secret.as_bytes());
    let owned: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let sign = mock.sign(&owned);
    let mut form = fields.to_vec();
    form.push(("sign", &sign));
    post_notify(app, &form)
}

fn post_notify(app: &mut TestApp, form: &[(&str, &str)]) -> String {
    let body = crate::helpers::qs(form);
    app.request(
        "POST",
        "/api/payNotify?channel=mock",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .text()
}

/// Pays an order through the mock channel; the payment reply.
pub fn pay(app: &mut TestApp, who: &Who, order: i64) -> Value {
    let p = ok(app, who, "Ordr.pay", &[("id", &order.to_string())], &[]);
    let serial = p["serial"].as_str().unwrap().to_string();
    let amount = p["amount"].as_str().unwrap().to_string();
    assert_eq!(
        notify(
            app,
            &[("serial", &serial), ("tradeNo", "T1"), ("amount", &amount), ("status", "SUCCESS")],
            "test-pay-secret"
        ),
        "success"
    );
    p
}

fn status(app: &mut TestApp, order: i64) -> String {
    app.sql(&format!("SELECT status FROM Ordr WHERE id={order}"))[0]["status"].as_str().unwrap().to_string()
}

#[test]
fn an_order_for_seats_is_priced_by_the_server_and_holds_them_until_it_expires() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座", "2排1座"]);
    let v = order_seats(&mut app, &s, &b, &ids, &[("amount", "0.01")]);
    assert_eq!(v[0], json!(0), "{v}");
    let id = v[1].as_i64().unwrap();
    let o = ok(&mut app, &b, "Ordr.get", &[("id", &id.to_string())], &[]);
    assert_eq!(
        (o["status"].clone(), o["amount"].clone(), o["qty"].clone()),
        (json!("CR"), json!("560.00"), json!(2)),
        "{o}"
    );
    assert_eq!(o["eventName"], json!("京剧《霸王别姬》"));
    assert!(o.get("liveKey").is_none() && o.get("reqKey").is_none(), "internal keys stay inside");
    let tickets = o["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2);
    assert_eq!(
        (tickets[0]["label"].clone(), tickets[0]["price"].clone(), tickets[0]["status"].clone()),
        (json!("1排1座"), json!("380.00"), json!("HD"))
    );
    let expire = o["expireTm"].as_str().unwrap().to_string();
    assert!(expire > at(0, 0, 0), "{expire}");
    let st = ok(&mut app, &super::guest(), "Showing.seats", &[("id", &s.showing.to_string())], &[]);
    let held: Vec<&str> = st["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["state"] == json!("held"))
        .map(|x| x["label"].as_str().unwrap())
        .collect();
    assert_eq!(held, ["1排1座", "2排1座"]);
    assert_eq!(o["orderLog"][0]["action"], json!("CR"));
}

#[test]
fn every_refusal_of_ordr_add_names_its_reason_and_writes_nothing() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let other = buyer(&mut app, "13800000002");
    let ids = seats(&mut app, &s, &["1排1座"]);
    ok(
        &mut app,
        &b,
        "Ordr.add",
        &[],
        &[
            ("showingId", &s.showing.to_string()),
            ("seatIds", &ids),
            ("contactName", "张三"),
            ("contactPhone", "13800000001"),
        ],
    );
    let (orders, tickets) = (app.count("SELECT COUNT(*) FROM Ordr"), app.count("SELECT COUNT(*) FROM Ticket"));
    let two = seats(&mut app, &s, &["1排2座", "1排1座"]);
    let v = order_seats(&mut app, &s, &other, &two, &[]);
    assert_eq!((v[0].clone(), v[1].clone()), (json!(5), json!("1排1座已被选走, 请重新选座")));
    let second = seats(&mut app, &s, &["1排2座"]);
    let v = order_seats(&mut app, &s, &b, &second, &[]);
    assert_eq!(v[0], json!(5));
    assert!(v[1].as_str().unwrap().starts_with("你已有该场次的订单#"), "{v}");
    let theirs = app.count(&format!("SELECT MIN(id) FROM Seat WHERE showingId={}", s.screening)).to_string();
    assert_eq!(order_seats(&mut app, &s, &other, &theirs, &[])[1], json!(format!("座位#{theirs}不属于该场次")));
    let six = app
        .sql(&format!("SELECT id FROM Seat WHERE showingId={} AND status='FR' ORDER BY id LIMIT 6", s.showing))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].to_string())
        .collect::<Vec<_>>()
        .join(",");
    let v = order_seats(&mut app, &s, &other, &six, &[]);
    assert_eq!((v[0].clone(), v[1].clone()), (json!(5), json!("每单限购5张")), "{six}");
    let one = seats(&mut app, &s, &["5排1座"]);
    let v = call(
        &mut app,
        &other,
        "Ordr.add",
        &[],
        &[("showingId", &s.showing.to_string()), ("seatIds", &one), ("contactPhone", "13800000002")],
    );
    assert_eq!(v[1], json!("请填写联系人姓名(contactName)"));
    let v = order_seats(&mut app, &s, &other, &one, &[("contactPhone", "123")]);
    assert_eq!(v[0], json!(1), "{v}");
    app.sql(&format!("UPDATE Showing SET saleStartTm='2099-01-01 10:00:00' WHERE id={}", s.showing));
    assert_eq!(order_seats(&mut app, &s, &other, &one, &[])[1], json!("未到开售时间, 2099-01-01 10:00:00开售"));
    app.sql(&format!(
        "UPDATE Showing SET saleStartTm='2000-01-01 10:00:00', saleEndTm='2000-01-02 10:00:00' WHERE id={}",
        s.showing
    ));
    assert_eq!(order_seats(&mut app, &s, &other, &one, &[])[1], json!("该场次已停止售票"));
    app.sql(&format!("UPDATE Showing SET saleEndTm=startTm WHERE id={}", s.showing));
    ok(&mut app, &s.mgr, "Event.set", &[("id", &s.event.to_string())], &[("status", "OF")]);
    assert_eq!(order_seats(&mut app, &s, &other, &one, &[])[1], json!("该演出目前不在售"));
    assert_eq!((app.count("SELECT COUNT(*) FROM Ordr"), app.count("SELECT COUNT(*) FROM Ticket")), (orders, tickets));
    // Staff do not place ticket orders.
    refused(&mut app, &s.mgr, "Ordr.add", &[], &[("showingId", &s.showing.to_string()), ("seatIds", &one)], 5);
}

#[test]
fn the_same_request_id_returns_the_first_order_and_writes_nothing() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["3排1座"]);
    let first = order_seats(&mut app, &s, &b, &ids, &[("reqId", "r-1")]);
    let n = app.count("SELECT COUNT(*) FROM OrderLog");
    let again = order_seats(&mut app, &s, &b, &ids, &[("reqId", "r-1")]);
    assert_eq!(first, again);
    assert_eq!(app.count("SELECT COUNT(*) FROM OrderLog"), n);
    assert_eq!(app.count("SELECT COUNT(*) FROM Ticket"), 1);
    // Another buyer's request id is theirs.
    let other = buyer(&mut app, "13800000002");
    let next = seats(&mut app, &s, &["3排2座"]);
    let v = order_seats(&mut app, &s, &other, &next, &[("reqId", "r-1")]);
    assert_ne!(v[1], first[1], "{v}");
}

#[test]
fn cancelling_frees_the_seats_once_and_only_the_buyer_or_its_store_may() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap().to_string();
    let other = buyer(&mut app, "13800000002");
    refused(&mut app, &other, "Ordr.cancel", &[("id", &id)], &[], 1);
    refused(&mut app, &s.other_mgr, "Ordr.cancel", &[("id", &id)], &[], 1);
    refused(&mut app, &b, "Ordr.set", &[("id", &id)], &[("status", "CA")], 5);
    ok(&mut app, &s.clerk, "Ordr.cancel", &[("id", &id)], &[]);
    assert_eq!(status(&mut app, id.parse().unwrap()), "CA");
    assert_eq!(refused(&mut app, &b, "Ordr.cancel", &[("id", &id)], &[], 5), "订单已经取消");
    let clerk = app.count("SELECT id FROM Employee WHERE uname='clerk1'");
    assert_eq!(app.count(&format!("SELECT empId FROM OrderLog WHERE orderId={id} AND action='CA'")), clerk);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Seat WHERE id={ids} AND status='FR' AND orderId IS NULL")), 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ticket WHERE orderId={id} AND status='CA'")), 1);
    // A cancelled order is no longer live: the buyer may order this showing again, and hide the old one.
    assert_eq!(order_seats(&mut app, &s, &b, &ids, &[])[0], json!(0));
    ok(&mut app, &b, "Ordr.hide", &[("id", &id)], &[]);
    let v = ok(&mut app, &b, "Ordr.query", &[("res", "id"), ("fmt", "list")], &[]);
    assert!(!v["list"].as_array().unwrap().iter().any(|r| r["id"].as_i64() == id.parse::<i64>().ok()), "{v}");
    let live = app.count("SELECT MAX(id) FROM Ordr").to_string();
    assert_eq!(refused(&mut app, &b, "Ordr.hide", &[("id", &live)], &[], 5), "只能删除已取消、已退款或已完成的订单");
}

#[test]
fn an_expired_hold_never_blocks_a_buyer_and_the_sweeper_cancels_the_order() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座"]);
    let old = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap();
    app.sql(&format!("UPDATE Ordr SET expireTm='2000-01-01 00:00:00' WHERE id={old}"));
    app.sql(&format!("UPDATE Seat SET expireTm='2000-01-01 00:00:00' WHERE orderId={old}"));
    let st = ok(&mut app, &super::guest(), "Showing.seats", &[("id", &s.showing.to_string())], &[]);
    assert_eq!(st["seats"][0]["state"], json!("free"), "an expired hold reads free before any sweep");
    let other = buyer(&mut app, "13800000002");
    let v = order_seats(&mut app, &s, &other, &ids, &[]);
    assert_eq!(v[0], json!(0), "{v}");
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(status(&mut app, old), "CA");
    let log = app.sql(&format!("SELECT dscr, empId FROM OrderLog WHERE orderId={old} AND action='CA'"));
    assert_eq!(log[0]["dscr"], json!("系统: 超时未付款, 自动取消"));
    assert_eq!(log[0]["empId"], Value::Null);
    let taker = v[1].as_i64().unwrap();
    assert_eq!(
        app.count(&format!("SELECT orderId FROM Seat WHERE id={ids}")),
        taker,
        "the sweep leaves the new hold alone"
    );
    assert_eq!(status(&mut app, taker), "CR");
    // Paid orders of a showing that has ended are completed by the same sweep.
    pay(&mut app, &other, taker);
    app.sql(&format!("UPDATE Showing SET endTm='2000-01-01 00:00:00' WHERE id={}", s.showing));
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(status(&mut app, taker), "RE");
    let log = app.sql(&format!("SELECT dscr FROM OrderLog WHERE orderId={taker} AND action='RE'"));
    assert_eq!(log[0]["dscr"], json!("系统: 场次已结束"));
    let done = app.count(&format!("SELECT COUNT(*) FROM Showing WHERE id={} AND doneTm IS NOT NULL", s.showing));
    assert_eq!(done, 1, "the showing is marked done once its paid orders are completed");
}

/// `n` paid orders of `showing` (NULL: of no showing, like a train's or a general order), made by SQL.
fn paid_orders(app: &mut TestApp, n: usize, showing: Option<i64>) {
    let showing = showing.map_or("NULL".to_string(), |s| s.to_string());
    app.sql(&format!(
        "INSERT INTO Ordr (userId, createTm, status, amount, showingId, qty) \
         WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM k WHERE i<{n}) \
         SELECT 1, '2026-01-01 00:00:00', 'PA', 10, {showing}, 1 FROM k"
    ));
}

#[test]
fn the_sweep_completes_ended_showings_a_thousand_orders_a_run_and_never_reads_other_paid_orders() {
    let (mut app, s) = spawn_shop();
    let sh = s.showing;
    paid_orders(&mut app, 1500, Some(sh));
    paid_orders(&mut app, 2000, None);
    let paid =
        |app: &mut TestApp, cond: &str| app.count(&format!("SELECT COUNT(*) FROM Ordr WHERE status='PA' AND {cond}"));
    let done =
        |app: &mut TestApp| app.count(&format!("SELECT COUNT(*) FROM Showing WHERE id={sh} AND doneTm IS NOT NULL"));
    // Not ended: nothing happens.
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(paid(&mut app, &format!("showingId={sh}")), 1500);
    assert_eq!(done(&mut app), 0);

    app.sql(&format!("UPDATE Showing SET endTm='2000-01-01 00:00:00' WHERE id={sh}"));
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(paid(&mut app, &format!("showingId={sh}")), 500, "a run completes at most 1,000 orders");
    assert_eq!(done(&mut app), 0, "a showing with paid orders left is not done yet");
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(paid(&mut app, &format!("showingId={sh}")), 0, "the next run completes the rest");
    assert_eq!(done(&mut app), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM OrderLog WHERE action='RE' AND orderId IN (SELECT id FROM Ordr WHERE showingId={sh})"
        )),
        1500
    );
    assert_eq!(paid(&mut app, "showingId IS NULL"), 2000, "paid orders of no showing are left alone");

    // A done showing is not looked at again: an order marked paid there by hand stays as it is.
    paid_orders(&mut app, 1, Some(sh));
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(paid(&mut app, &format!("showingId={sh}")), 1);
    // Staff cannot set it.
    let r = call(&mut app, &s.mgr, "Showing.set", &[("id", &sh.to_string())], &[("doneTm", "2001-01-01 00:00:00")]);
    assert_eq!(done(&mut app), 1, "{r}");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM Showing WHERE id={sh} AND doneTm < '2002-01-01 00:00:00'")),
        0,
        "{r}"
    );
}

#[test]
fn general_admission_sells_places_within_capacity_and_expired_holds_give_them_back() {
    let (mut app, s) = spawn_shop();
    let ev = s.event.to_string();
    let ga = ok(
        &mut app,
        &s.mgr,
        "Showing.add",
        &[],
        &[("eventId", &ev), ("startTm", &at(8, 20, 0)), ("endTm", &at(8, 22, 0))],
    )
    .to_string();
    let cls = ok(
        &mut app,
        &s.mgr,
        "PriceClass.add",
        &[],
        &[("showingId", &ga), ("name", "站票"), ("price", "99.5"), ("capacity", "3")],
    )
    .to_string();
    let add = |app: &mut TestApp, who: &Who, qty: &str| {
        call(
            app,
            who,
            "Ordr.add",
            &[],
            &[
                ("showingId", &ga),
                ("classId", &cls),
                ("qty", qty),
                ("contactName", "甲"),
                ("contactPhone", "13800000009"),
            ],
        )
    };
    let b1 = buyer(&mut app, "13800000001");
    let v = add(&mut app, &b1, "2");
    assert_eq!(v[0], json!(0), "{v}");
    let first = v[1].as_i64().unwrap();
    assert_eq!(app.sql(&format!("SELECT amount FROM Ordr WHERE id={first}"))[0]["amount"], json!(199));
    let b2 = buyer(&mut app, "13800000002");
    assert_eq!(add(&mut app, &b2, "2")[1], json!("站票只剩1张"));
    assert_eq!(
        ok(&mut app, &super::guest(), "PriceClass.get", &[("id", &cls), ("res", "left")], &[])["left"],
        json!(1)
    );
    // b1's hold expires: its places come back for b2 at once.
    app.sql(&format!("UPDATE Ordr SET expireTm='2000-01-01 00:00:00' WHERE id={first}"));
    assert_eq!(add(&mut app, &b2, "3")[0], json!(0));
    assert_eq!(status(&mut app, first), "CA");
    let b3 = buyer(&mut app, "13800000003");
    assert_eq!(add(&mut app, &b3, "1")[1], json!("站票已售罄"));
    assert_eq!(app.count(&format!("SELECT taken FROM PriceClass WHERE id={cls}")), 3);
}

#[test]
fn a_genuine_notify_pays_once_and_forged_replayed_or_changed_ones_change_nothing() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座", "1排2座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap();
    let p = ok(&mut app, &b, "Ordr.pay", &[("id", &id.to_string())], &[]);
    assert_eq!((p["amount"].clone(), p["channel"].clone()), (json!("760.00"), json!("mock")));
    let serial = p["serial"].as_str().unwrap().to_string();
    assert_eq!(p["url"], json!(format!("/api/payMock?serial={serial}")));
    assert_eq!(
        ok(&mut app, &b, "Ordr.pay", &[("id", &id.to_string())], &[])["serial"],
        json!(serial.clone()),
        "paying again reuses the waiting payment"
    );
    let good = [("serial", serial.as_str()), ("tradeNo", "T1"), ("amount", "760.00"), ("status", "SUCCESS")];
    // Forged: another key; changed: the right key over a wrong amount; not paid; unknown serial.
    assert_eq!(notify(&mut app, &good, "not-the-key"), "fail");
    assert_eq!(
        notify(
            &mut app,
            &[("serial", &serial), ("tradeNo", "T1"), ("amount", "0.01"), ("status", "SUCCESS")],
            "test-pay-secret"
        ),
        "fail"
    );
    assert_eq!(
        notify(
            &mut app,
            &[("serial", &serial), ("tradeNo", "T1"), ("amount", "760.00"), ("status", "CLOSED")],
            "test-pay-secret"
        ),
        "fail"
    );
    assert_eq!(
        notify(
            &mut app,
            &[("serial", "P000"), ("tradeNo", "T1"), ("amount", "760.00"), ("status", "SUCCESS")],
            "test-pay-secret"
        ),
        "fail"
    );
    let mut tampered = good.to_vec();
    let sign = jindouyun::ticketing::payment::Mock::new(b"test-pay-secret")
        .sign(&good.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>());
    tampered[2] = ("amount", "1.00");
    tampered.push(("sign", &sign));
    assert_eq!(post_notify(&mut app, &tampered), "fail", "a signature over other fields");
    assert_eq!(status(&mut app, id), "CR");
    assert_eq!(app.count("SELECT COUNT(*) FROM Payment WHERE status='WA'"), 1);

    assert_eq!(notify(&mut app, &good, "test-pay-secret"), "success");
    assert_eq!(status(&mut app, id), "PA");
    let codes = app.sql(&format!("SELECT code, status FROM Ticket WHERE orderId={id}"));
    for t in codes.as_array().unwrap() {
        assert_eq!(t["status"], json!("OK"));
        assert_eq!(t["code"].as_str().unwrap().len(), 26);
    }
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Seat WHERE orderId={id} AND status='SO'")), 2);
    let logs = app.count(&format!("SELECT COUNT(*) FROM OrderLog WHERE orderId={id}"));
    assert_eq!(notify(&mut app, &good, "test-pay-secret"), "success", "a repeated notify is acknowledged");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM OrderLog WHERE orderId={id}")), logs, "and changes nothing");
    assert_eq!(
        app.sql(&format!("SELECT status, tradeNo FROM Payment WHERE serial='{serial}'"))[0],
        json!({"status": "OK", "tradeNo": "T1"})
    );
    let paid = ok(&mut app, &b, "Ordr.get", &[("id", &id.to_string())], &[]);
    assert_eq!(paid["tickets"][0]["status"], json!("OK"));
    assert_eq!(
        ok(&mut app, &super::guest(), "Showing.seats", &[("id", &s.showing.to_string())], &[])["seats"][0]["state"],
        json!("sold")
    );
}

#[test]
fn a_late_payment_takes_the_seats_if_still_free_and_is_refunded_if_not() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap();
    let p = ok(&mut app, &b, "Ordr.pay", &[("id", &id.to_string())], &[]);
    let serial = p["serial"].as_str().unwrap().to_string();
    app.sql(&format!("UPDATE Ordr SET expireTm='2000-01-01 00:00:00' WHERE id={id}"));
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    assert_eq!(status(&mut app, id), "CA");
    let good = [("serial", serial.as_str()), ("tradeNo", "T1"), ("amount", "380.00"), ("status", "SUCCESS")];
    assert_eq!(notify(&mut app, &good, "test-pay-secret"), "success");
    assert_eq!(status(&mut app, id), "PA", "the seat was still free");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ticket WHERE orderId={id} AND status='OK'")), 1);

    // A second order whose seat someone else bought meanwhile: refunded in full, stays cancelled.
    let b2 = buyer(&mut app, "13800000002");
    let ids2 = seats(&mut app, &s, &["2排1座"]);
    let late = order_seats(&mut app, &s, &b2, &ids2, &[])[1].as_i64().unwrap();
    let p2 = ok(&mut app, &b2, "Ordr.pay", &[("id", &late.to_string())], &[]);
    app.sql(&format!("UPDATE Ordr SET expireTm='2000-01-01 00:00:00' WHERE id={late}"));
    jindouyun::ticketing::sweeper::sweep(&app.state).unwrap();
    let b3 = buyer(&mut app, "13800000003");
    let quick = order_seats(&mut app, &s, &b3, &ids2, &[])[1].as_i64().unwrap();
    pay(&mut app, &b3, quick);
    let serial2 = p2["serial"].as_str().unwrap().to_string();
    assert_eq!(
        notify(
            &mut app,
            &[("serial", &serial2), ("tradeNo", "T2"), ("amount", "180.00"), ("status", "SUCCESS")],
            "test-pay-secret"
        ),
        "success"
    );
    assert_eq!(status(&mut app, late), "CA");
    assert_eq!(
        app.sql(&format!("SELECT status, refundedAmount FROM Payment WHERE serial='{serial2}'"))[0],
        json!({"status": "RF", "refundedAmount": 180})
    );
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Refund WHERE orderId={late}")), 1);
    assert_eq!(app.count(&format!("SELECT orderId FROM Seat WHERE id={ids2}")), quick, "the seat stays with its buyer");
    let log = app.sql(&format!("SELECT action, dscr FROM OrderLog WHERE orderId={late} ORDER BY id DESC LIMIT 1"));
    assert_eq!(log[0]["action"], json!("RF"));
}

#[test]
fn refunds_release_seats_per_ticket_and_in_full_but_not_after_the_start_or_for_used_tickets() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座", "1排2座", "2排1座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap();
    pay(&mut app, &b, id);
    let t: Vec<i64> = app
        .sql(&format!("SELECT id FROM Ticket WHERE orderId={id} ORDER BY id"))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let r = ok(&mut app, &b, "Ordr.refund", &[("id", &id.to_string())], &[("ticketIds", &t[0].to_string())]);
    assert_eq!(r["amount"], json!("380.00"));
    assert!(r["serial"].as_str().unwrap().starts_with('R'));
    assert_eq!(status(&mut app, id), "PA");
    assert_eq!(
        app.sql(&format!("SELECT status, refundedAmount FROM Payment WHERE orderId={id}"))[0],
        json!({"status": "OK", "refundedAmount": 380})
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM Seat WHERE showingId={} AND label='1排1座' AND status='FR'",
            s.showing
        )),
        1
    );
    // A used ticket is not refunded; the rest is, by the store's staff.
    let code = app.sql(&format!("SELECT code FROM Ticket WHERE id={}", t[1]))[0]["code"].as_str().unwrap().to_string();
    ok(&mut app, &s.clerk, "Ticket.checkin", &[("code", &code)], &[]);
    let msg = refused(&mut app, &b, "Ordr.refund", &[("id", &id.to_string())], &[("ticketIds", &t[1].to_string())], 5);
    assert_eq!(msg, "1排2座已检票, 不能退");
    refused(&mut app, &s.other_mgr, "Ordr.refund", &[("id", &id.to_string())], &[], 1);
    ok(&mut app, &s.mgr, "Ordr.refund", &[("id", &id.to_string())], &[]);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ticket WHERE orderId={id} AND status='RF'")), 2);
    // One ticket is used: the order keeps it, so it is not refunded in full.
    assert_eq!(status(&mut app, id), "RE", "its only valid ticket left was used: complete");

    let b2 = buyer(&mut app, "13800000002");
    let ids2 = seats(&mut app, &s, &["3排1座"]);
    let id2 = order_seats(&mut app, &s, &b2, &ids2, &[])[1].as_i64().unwrap();
    pay(&mut app, &b2, id2);
    ok(&mut app, &b2, "Ordr.refund", &[("id", &id2.to_string())], &[]);
    assert_eq!(status(&mut app, id2), "RF");
    assert_eq!(app.sql(&format!("SELECT status FROM Payment WHERE orderId={id2}"))[0]["status"], json!("RF"));
    let b3 = buyer(&mut app, "13800000003");
    let id3 = order_seats(&mut app, &s, &b3, &ids2, &[])[1].as_i64().unwrap();
    pay(&mut app, &b3, id3);
    app.sql(&format!("UPDATE Showing SET startTm='2000-01-01 10:00:00' WHERE id={}", s.showing));
    let msg = refused(&mut app, &b3, "Ordr.refund", &[("id", &id3.to_string())], &[], 5);
    assert_eq!(msg, "已于2000-01-01 10:00:00开演或发车, 不能退票", "a showing's start as it is now");
}

#[test]
fn a_ticket_has_a_qr_for_its_owner_and_checks_in_once_at_its_own_store() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座", "1排2座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap();
    pay(&mut app, &b, id);
    let tickets =
        ok(&mut app, &b, "Ticket.query", &[("res", "id,code,label,statusName,eventName"), ("fmt", "list")], &[]);
    let list = tickets["list"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["eventName"], json!("京剧《霸王别姬》"));
    let code = list[0]["code"].as_str().unwrap().to_string();
    let r = app.request(
        "GET",
        &format!("/api/Ticket.qr?code={code}"),
        &[("Authorization", &format!("Bearer {}", b.token.clone().unwrap()))],
        b"",
    );
    assert_eq!((r.status, r.header("Content-Type")), (200, Some("image/png")));
    assert_eq!(&r.body[..4], b"\x89PNG");
    let other = buyer(&mut app, "13800000002");
    let v = call(&mut app, &other, "Ticket.qr", &[("code", &code)], &[]);
    assert_eq!(v[0], json!(1), "another buyer's ticket: {v}");
    // Staff see the store's tickets, never their codes.
    let v = call(&mut app, &s.clerk, "Ticket.query", &[("res", "id,code")], &[]);
    assert_eq!(v[0], json!(5), "{v}");
    assert_eq!(
        refused(&mut app, &s.other_mgr, "Ticket.checkin", &[("code", &code)], &[], 5),
        "票码无效或不是本商户的票"
    );
    let t = ok(&mut app, &s.clerk, "Ticket.checkin", &[("code", &code.to_lowercase())], &[]);
    assert_eq!(t["status"], json!("US"));
    let first = t["checkinTm"].as_str().unwrap().to_string();
    assert_eq!(refused(&mut app, &s.mgr, "Ticket.checkin", &[("code", &code)], &[], 5), format!("该票已于{first}检票"));
    assert_eq!(
        refused(&mut app, &s.clerk, "Ticket.checkin", &[("code", "NOSUCHCODE")], &[], 5),
        "票码无效或不是本商户的票"
    );
    assert_eq!(status(&mut app, id), "PA");
    let second = list[1]["code"].as_str().unwrap().to_string();
    ok(&mut app, &s.clerk, "Ticket.checkin", &[("code", &second)], &[]);
    assert_eq!(status(&mut app, id), "RE", "every ticket used completes the order");
    refused(&mut app, &b, "Ticket.checkin", &[("code", &second)], &[], 5);
}

#[test]
fn box_office_sums_valid_tickets_by_event_store_city_and_day_per_viewer() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座", "2排1座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap();
    pay(&mut app, &b, id);
    let t = app.count(&format!("SELECT MIN(id) FROM Ticket WHERE orderId={id}"));
    ok(&mut app, &b, "Ordr.refund", &[("id", &id.to_string())], &[("ticketIds", &t.to_string())]);
    let q = [
        ("gres", "itemName,storeName,cityName"),
        ("res", "count(*) n,sum(price) amount"),
        ("cond", "status IN ('OK','US')"),
        ("fmt", "array"),
    ];
    let v = ok(&mut app, &s.mgr, "Ticket.query", &q, &[]);
    assert_eq!(
        v,
        json!([{"itemName": "京剧《霸王别姬》", "storeName": "长安大戏院", "cityName": "北京市", "n": 1, "amount": "180.00"}]),
        "paid minus refunds"
    );
    let v = ok(&mut app, &s.other_mgr, "Ticket.query", &q, &[]);
    assert_eq!(v, json!([]), "another store sees none of it");
    let v = ok(
        &mut app,
        &s.admin,
        "Ticket.query",
        &[("gres", "d"), ("res", "sum(price) amount"), ("cond", "status IN ('OK','US')"), ("fmt", "array")],
        &[],
    );
    assert_eq!(v[0]["amount"], json!("180.00"));
    let occ =
        ok(&mut app, &s.mgr, "Showing.get", &[("id", &s.showing.to_string()), ("res", "seatsSold,seatsTotal")], &[]);
    assert_eq!(occ, json!({"seatsSold": 1, "seatsTotal": 21}));
}

#[test]
fn staff_see_their_stores_orders_and_not_another_stores() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap().to_string();
    let v = ok(&mut app, &s.clerk, "Ordr.get", &[("id", &id)], &[]);
    assert!(v["tickets"][0].get("code").is_none(), "{v}");
    refused(&mut app, &s.other_mgr, "Ordr.get", &[("id", &id)], &[], 1);
    let v =
        ok(&mut app, &s.other_mgr, "Ordr.query", &[("res", "id"), ("fmt", "list"), ("cond", &format!("id={id}"))], &[]);
    assert_eq!(v["list"], json!([]));
    let ticket = app.count("SELECT MIN(id) FROM Ticket").to_string();
    refused(&mut app, &s.other_mgr, "Ticket.get", &[("id", &ticket)], &[], 1);
}

/// A second showing of the shop's event with one general-admission class of ten places: (showing, class).
pub(super) fn ten_places(app: &mut TestApp, s: &Shop) -> (String, String) {
    let ev = s.event.to_string();
    let ga =
        ok(app, &s.mgr, "Showing.add", &[], &[("eventId", &ev), ("startTm", &at(9, 20, 0)), ("endTm", &at(9, 22, 0))])
            .to_string();
    let cls = ok(
        app,
        &s.mgr,
        "PriceClass.add",
        &[],
        &[("showingId", &ga), ("name", "站票"), ("price", "50"), ("capacity", "10")],
    )
    .to_string();
    (ga, cls)
}

#[test]
fn many_buyers_racing_for_the_same_seats_and_places_through_http_never_double_sell() {
    let (mut app, s) = spawn_shop();
    let (ga, cls) = ten_places(&mut app, &s);
    let buyers: Vec<String> = (0..24).map(|i| buyer(&mut app, &format!("1390000{:04}", i)).token.unwrap()).collect();
    let pair = seats(&mut app, &s, &["1排1座", "1排2座"]);
    let overlap = seats(&mut app, &s, &["1排2座", "1排3座"]);
    let addr = app.addr;
    let sh = s.showing.to_string();
    let threads: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (sh, ga, cls, pair, overlap) = (sh.clone(), ga.clone(), cls.clone(), pair.clone(), overlap.clone());
            std::thread::spawn(move || {
                let contact = [("contactName", "抢票"), ("contactPhone", "13900000000")];
                let seat_ids = if i % 2 == 0 { pair } else { overlap };
                let mut form = vec![("showingId", sh.as_str()), ("seatIds", seat_ids.as_str())];
                form.extend_from_slice(&contact);
                let a = crate::helpers::post_form_as(addr, &token, "/api/Ordr.add", &form)[0].as_i64().unwrap();
                let mut form = vec![("showingId", ga.as_str()), ("classId", cls.as_str()), ("qty", "1")];
                form.extend_from_slice(&contact);
                let b = crate::helpers::post_form_as(addr, &token, "/api/Ordr.add", &form)[0].as_i64().unwrap();
                (a, b)
            })
        })
        .collect();
    let results: Vec<(i64, i64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let seat_wins = results.iter().filter(|r| r.0 == 0).count();
    let place_wins = results.iter().filter(|r| r.1 == 0).count();
    assert_eq!(seat_wins, 1, "overlapping seat requests: one wins: {results:?}");
    assert!(results.iter().all(|r| matches!(r.0, 0 | 5) && matches!(r.1, 0 | 5)), "{results:?}");
    assert_eq!(place_wins, 10, "ten places, ten buyers: {results:?}");
    assert_eq!(app.count(&format!("SELECT taken FROM PriceClass WHERE id={cls}")), 10);
    let double = app.count(&format!(
        "SELECT COUNT(*) FROM (SELECT seatId FROM Ticket WHERE showingId={} AND status IN ('HD','OK','US') GROUP BY seatId HAVING COUNT(*)>1) t",
        s.showing
    ));
    assert_eq!(double, 0, "no seat in two live tickets");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ticket WHERE showingId={ga} AND status='HD'")), 10);
}

#[test]
fn the_same_notification_sent_many_times_at_once_is_applied_once() {
    let (mut app, s) = spawn_shop();
    let b = buyer(&mut app, "13800000001");
    let ids = seats(&mut app, &s, &["1排1座"]);
    let id = order_seats(&mut app, &s, &b, &ids, &[])[1].as_i64().unwrap();
    let p = ok(&mut app, &b, "Ordr.pay", &[("id", &id.to_string())], &[]);
    let (serial, amount) = (p["serial"].as_str().unwrap().to_string(), p["amount"].as_str().unwrap().to_string());
    let fields = [
        ("serial", serial.clone()),
        ("tradeNo", "T1".to_string()),
        ("amount", amount.clone()),
        ("status", "SUCCESS".to_string()),
    ];
    let sign = jindouyun::ticketing::payment::Mock::new(b"test-pay-secret")
        .sign(&fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>());
    let body = crate::helpers::qs(&[
        ("serial", &serial),
        ("tradeNo", "T1"),
        ("amount", &amount),
        ("status", "SUCCESS"),
        ("sign", &sign),
    ]);
    let addr = app.addr;
    let answers: Vec<String> = (0..8)
        .map(|_| {
            let body = body.clone();
            std::thread::spawn(move || {
                crate::helpers::send(
                    addr,
                    "POST",
                    "/api/payNotify?channel=mock",
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    body.as_bytes(),
                )
                .text()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(answers.iter().all(|a| a == "success"), "{answers:?}");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM OrderLog WHERE orderId={id} AND action='PA'")), 1);
    assert_eq!(app.count(&format!("SELECT COUNT(DISTINCT code) FROM Ticket WHERE orderId={id} AND status='OK'")), 1);
}
