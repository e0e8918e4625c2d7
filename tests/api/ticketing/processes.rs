//! Several server processes on one database file (issue 16, on SQLite): buyers spread over three servers
//! race for the same seats and places and nothing is sold twice; every call has its own ApiLog row (ids
//! come from blocks, not from a counter per process); a logout on one server is seen by another within
//! `P_SESSION_RECHECK`; three sweepers at once cancel each expired hold once; a server killed mid-load
//! loses no acknowledged order.
//!
//! Server A runs in this process (it sets the shop up); B and C are the real binary on the same database
//! (the same SQLite file, or under `P_TEST_BACKEND=postgres` the same PostgreSQL database).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::orders::{buyer, seats};
use super::*;
use crate::helpers::{post_form_as, spawn_with, Body, TestApp};

/// A server process on A's database.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(app: &TestApp, recheck: &str) -> Server {
        Server::start_with(app, recheck, "30")
    }

    fn start_with(app: &TestApp, recheck: &str, sweep_secs: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_jindouyun"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("P_ADDR", format!("127.0.0.1:{port}"))
            .env("P_DB", &app.state.config.db_path)
            .env("P_DEMO", "0")
            .env("P_TEST_MODE", "1")
            .env("P_ADMIN_CRED", "admin:admin123")
            .env("P_PAY_MOCK_SECRET", "test-pay-secret")
            .env("P_SESSION_RECHECK", recheck)
            .env("P_SWEEP_SECS", sweep_secs)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a server process");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let t0 = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(30), "server process did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, addr }
    }

    /// SIGTERM and wait: the server writes its queued ApiLog rows before it exits.
    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn code(v: &Value) -> i64 {
    v[0].as_i64().unwrap_or(-1)
}

#[test]
fn three_servers_on_one_database_never_double_sell_and_log_every_call_once() {
    let mut app = spawn_with(|c| c.session_recheck = 1);
    let s = shop(&mut app);
    let (ga, cls) = super::orders::ten_places(&mut app, &s);
    let buyers: Vec<String> = (0..24).map(|i| buyer(&mut app, &format!("1391000{:04}", i)).token.unwrap()).collect();
    let pair = seats(&mut app, &s, &["1排1座", "1排2座"]);
    let overlap = seats(&mut app, &s, &["1排2座", "1排3座"]);
    let (b, c) = (Server::start(&app, "1"), Server::start(&app, "1"));
    let servers = [app.addr, b.addr, c.addr];
    let sh = s.showing.to_string();
    let threads: Vec<_> = buyers
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, token)| {
            let (sh, ga, cls, pair, overlap) = (sh.clone(), ga.clone(), cls.clone(), pair.clone(), overlap.clone());
            // Each buyer's two orders go to two different servers.
            let (first, second) = (servers[i % 3], servers[(i + 1) % 3]);
            std::thread::spawn(move || {
                let contact = [("contactName", "抢票"), ("contactPhone", "13900000000")];
                let seat_ids = if i % 2 == 0 { pair } else { overlap };
                let mut form = vec![("showingId", sh.as_str()), ("seatIds", seat_ids.as_str())];
                form.extend_from_slice(&contact);
                let a = code(&post_form_as(first, &token, "/api/Ordr.add", &form));
                let mut form = vec![("showingId", ga.as_str()), ("classId", cls.as_str()), ("qty", "1")];
                form.extend_from_slice(&contact);
                let b = code(&post_form_as(second, &token, "/api/Ordr.add", &form));
                (a, b)
            })
        })
        .collect();
    let results: Vec<(i64, i64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.iter().all(|r| matches!(r.0, 0 | 5) && matches!(r.1, 0 | 5)), "{results:?}");
    assert_eq!(results.iter().filter(|r| r.0 == 0).count(), 1, "overlapping seats: one winner: {results:?}");
    assert_eq!(results.iter().filter(|r| r.1 == 0).count(), 10, "ten places, ten winners: {results:?}");
    assert_eq!(app.count(&format!("SELECT taken FROM PriceClass WHERE id={cls}")), 10);
    let double = app.count(&format!(
        "SELECT COUNT(*) FROM (SELECT seatId FROM Ticket WHERE showingId={} AND status IN ('HD','OK','US') \
         GROUP BY seatId HAVING COUNT(*)>1) t",
        s.showing
    ));
    assert_eq!(double, 0, "no seat in two live tickets");

    // A logout through C reaches A's token cache within P_SESSION_RECHECK (1 s here).
    let who = |addr, token: &str| code(&post_form_as(addr, token, "/api/whoami", &[]));
    assert_eq!(who(app.addr, &buyers[0]), 0);
    assert_eq!(code(&post_form_as(c.addr, &buyers[0], "/api/logout", &[])), 0);
    std::thread::sleep(Duration::from_millis(1_300));
    assert_eq!(who(app.addr, &buyers[0]), 2, "A still trusted a token C logged out");
    assert_eq!(who(b.addr, &buyers[0]), 2);

    // Every call of every server has its own ApiLog row: 48 adds, whichever server took them.
    b.stop();
    c.stop();
    app.flush_log();
    assert_eq!(app.count("SELECT COUNT(*) FROM ApiLog WHERE ac='Ordr.add'"), 48);
    // Three processes took three different blocks of ids (at least: a process may take a second one).
    assert!(app.count("SELECT COUNT(DISTINCT (id - 1) / 10000) FROM ApiLog WHERE ac='Ordr.add'") >= 3);
}

#[test]
fn a_server_killed_mid_load_loses_no_acknowledged_order_and_the_others_carry_on() {
    let mut app = spawn_with(|_| {});
    let tokens: Vec<String> = (0..6).map(|i| buyer(&mut app, &format!("1392000{:04}", i)).token.unwrap()).collect();
    let mut b = Server::start(&app, "30");
    let c = Server::start(&app, "30");
    let servers = [app.addr, b.addr, c.addr];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = tokens
        .iter()
        .cloned()
        .enumerate()
        .map(|(w, token)| {
            let stop = stop.clone();
            let addr = servers[w % 3];
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let dscr = format!("kill-{w}-{n}");
                    let form = [("dscr", dscr.as_str()), ("amount", "1")];
                    let r = std::panic::catch_unwind(|| post_form_as(addr, &token, "/api/Ordr.add", &form));
                    match r {
                        Ok(v) if code(&v) == 0 => acked.push(v[1].as_i64().unwrap()),
                        Ok(_) => {}
                        // The killed server's connections fail; its workers stop.
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1_500));
    b.child.kill().unwrap(); // SIGKILL, in the middle of the load
    b.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<i64> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    assert!(acked.len() > 100, "the load ran ({} acknowledged)", acked.len());
    let mut missing = Vec::new();
    for id in &acked {
        if app.count(&format!("SELECT COUNT(*) FROM Ordr WHERE id={id}")) != 1 {
            missing.push(*id);
        }
    }
    assert!(missing.is_empty(), "{} of {} acknowledged orders lost: {missing:?}", missing.len(), acked.len());
    // A and C still take orders.
    for addr in [app.addr, c.addr] {
        let v = post_form_as(addr, &tokens[0], "/api/Ordr.add", &[("dscr", "after"), ("amount", "1")]);
        assert_eq!(code(&v), 0, "{v}");
    }
    c.stop();
}

#[test]
fn three_sweepers_at_once_cancel_each_expired_hold_once_and_free_its_seats() {
    let mut app = spawn_with(|c| c.sweep_secs = 1);
    let s = shop(&mut app);
    let mut orders = Vec::new();
    for i in 0..6 {
        let b = buyer(&mut app, &format!("1393000{:04}", i));
        let seat = app
            .count(&format!("SELECT id FROM Seat WHERE showingId={} ORDER BY id LIMIT 1 OFFSET {i}", s.showing))
            .to_string();
        let sh = s.showing.to_string();
        let form = [
            ("showingId", sh.as_str()),
            ("seatIds", seat.as_str()),
            ("contactName", "过期"),
            ("contactPhone", "13900000000"),
        ];
        let v = ok(&mut app, &b, "Ordr.add", &[], &form);
        orders.push(v.as_i64().unwrap());
    }
    let (b, c) = (Server::start_with(&app, "30", "1"), Server::start_with(&app, "30", "1"));
    let ids = orders.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    // The holds run out now; three processes' sweepers find them within a second or two.
    let expire = format!("UPDATE Ordr SET expireTm='2000-01-01 00:00:00' WHERE id IN ({ids})");
    assert_eq!(app.ok("execSql", &[], Body::Form(&[("sql", &expire)])), json!(6));
    let t0 = Instant::now();
    while app.count(&format!("SELECT COUNT(*) FROM Ordr WHERE id IN ({ids}) AND status='CA'")) < 6 {
        assert!(t0.elapsed() < Duration::from_secs(20), "the sweepers did not cancel the expired holds");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let every sweeper run at least once more over the same rows.
    std::thread::sleep(Duration::from_millis(2_500));
    let logs = app.count(&format!("SELECT COUNT(*) FROM OrderLog WHERE orderId IN ({ids}) AND action='CA'"));
    assert_eq!(logs, 6, "each expired order is cancelled (and logged) exactly once");
    let held =
        app.count(&format!("SELECT COUNT(*) FROM Ticket WHERE orderId IN ({ids}) AND status IN ('HD','OK','US')"));
    assert_eq!(held, 0, "the seats of cancelled orders are free");
    b.stop();
    c.stop();
}

/// A form POST without a login.
fn post_guest(addr: SocketAddr, path: &str, form: &[(&str, &str)]) -> Value {
    let h = [("Content-Type", "application/x-www-form-urlencoded")];
    crate::helpers::send(addr, "POST", path, &h, crate::helpers::qs(form).as_bytes()).json()
}

#[test]
fn a_code_a_qr_login_and_a_payment_begun_on_one_server_finish_on_another() {
    let mut app = spawn_with(|_| {});
    let s = shop(&mut app);
    let (b, c) = (Server::start(&app, "30"), Server::start(&app, "30"));
    let a = app.addr;

    // A login code sent through B is accepted by C (codes live in the database, not in a process).
    let v = post_guest(b.addr, "/api/genCode", &[("phone", "13940000001"), ("debug", "1")]);
    let sent = v[1]["code"].as_str().unwrap_or_else(|| panic!("genCode: {v}")).to_string();
    assert_ne!(sent, "080909");
    let v = post_guest(c.addr, "/api/login", &[("uname", "13940000001"), ("code", &sent)]);
    assert_eq!(code(&v), 0, "{v}");
    let token = v[1]["_token"].as_str().unwrap().to_string();
    assert_eq!(code(&post_form_as(a, &token, "/api/whoami", &[])), 0);

    // A QR login asked of A, confirmed through B, collected from C.
    let v = post_guest(a, "/api/qrLogin.create", &[]);
    let qr = v[1]["qrId"].as_str().unwrap().to_string();
    assert_eq!(code(&post_form_as(b.addr, &token, "/api/qrLogin.confirm", &[("qrId", &qr)])), 0);
    let v = post_guest(c.addr, "/api/qrLogin.poll", &[("qrId", &qr)]);
    assert_eq!(v[1]["status"], json!("ok"), "{v}");
    let desktop = v[1]["_token"].as_str().unwrap().to_string();
    assert_eq!(
        post_form_as(a, &desktop, "/api/whoami", &[])[1]["id"],
        post_form_as(a, &token, "/api/whoami", &[])[1]["id"]
    );

    // An order placed on A, paid through B, whose notify reaches C: paid once, tickets issued.
    let sh = s.showing.to_string();
    let seat = app.count(&format!("SELECT id FROM Seat WHERE showingId={} ORDER BY id LIMIT 1", s.showing)).to_string();
    let form = [
        ("showingId", sh.as_str()),
        ("seatIds", seat.as_str()),
        ("contactName", "跨进程"),
        ("contactPhone", "13940000001"),
    ];
    let v = post_form_as(a, &token, "/api/Ordr.add", &form);
    let order = v[1].as_i64().unwrap_or_else(|| panic!("Ordr.add: {v}"));
    let p = post_form_as(b.addr, &token, "/api/Ordr.pay", &[("id", &order.to_string())]);
    let (serial, amount) = (p[1]["serial"].as_str().unwrap().to_string(), p[1]["amount"].as_str().unwrap().to_string());
    let fields = [("serial", serial.as_str()), ("tradeNo", "X1"), ("amount", amount.as_str()), ("status", "SUCCESS")];
    let mock = jindouyun::ticketing::payment::Mock::new(b"test-pay-secret");
    let owned: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let sign = mock.sign(&owned);
    let mut form = fields.to_vec();
    form.push(("sign", &sign));
    let h = [("Content-Type", "application/x-www-form-urlencoded")];
    for addr in [c.addr, b.addr] {
        let r =
            crate::helpers::send(addr, "POST", "/api/payNotify?channel=mock", &h, crate::helpers::qs(&form).as_bytes());
        assert_eq!(r.text(), "success", "a repeated notify on another server is acknowledged too");
    }
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ordr WHERE id={order} AND status='PA'")), 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM OrderLog WHERE orderId={order} AND action='PA'")), 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM Ticket WHERE orderId={order} AND status='OK'")), 1);
    b.stop();
    c.stop();
}

/// Buyers spread over three servers race for one first-class seat's segments (every trip over four
/// stops, many overlapping): no segment is in two live tickets, the seat's held mask is exactly the
/// union of its live tickets' segments, and every answer is a sale or a clear refusal.
#[test]
fn three_servers_racing_for_overlapping_train_segments_never_sell_a_segment_twice() {
    let mut app = spawn_with(|_| {});
    let r = super::trains::rail(&mut app);
    let ids = ["11010519491231002X", "440524188001010014", "110101199003074477"];
    let mut buyers = Vec::new();
    for i in 0..18 {
        let b = buyer(&mut app, &format!("1392000{:04}", i));
        let pid = super::trains::passenger(&mut app, &b, &format!("乘客{i}"), ids[i % 3], "AD");
        buyers.push((b.token.unwrap(), pid));
    }
    let (b, c) = (Server::start(&app, "1"), Server::start(&app, "1"));
    let servers = [app.addr, b.addr, c.addr];
    let (run, st) = (r.run, r.st);
    let threads: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(i, (token, pid))| {
            let addr = servers[i % 3];
            std::thread::spawn(move || {
                let v = super::trains::race_order(addr, &token, run, st, super::trains::TRIPS[(i / 3) % 6], pid);
                (code(&v), v)
            })
        })
        .collect();
    let results: Vec<(i64, Value)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.iter().all(|(c, _)| matches!(c, 0 | 5)), "{results:?}");
    let wins = results.iter().filter(|(c, _)| *c == 0).count();
    assert!((1..=3).contains(&wins), "one seat, three segments: {results:?}");
    let masks = super::trains::live_masks_disjoint(&mut app, run);
    assert_eq!(masks.len(), wins, "one live ticket per winning order");
    let seat = app.count(&format!("SELECT id FROM RunSeat WHERE runId={run} AND seatClass='ZY'"));
    assert_eq!(app.count(&format!("SELECT held FROM RunSeat WHERE id={seat}")), masks.iter().fold(0, |a, b| a | b));
    assert_eq!(app.count(&format!("SELECT sold FROM RunSeat WHERE id={seat}")), 0);
    drop((b, c));
}
