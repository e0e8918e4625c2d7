//! The flash-sale profile (`jdy-bench --flash`): 500 buyers over 256 connections race for one showing of a
//! 1,000-seat hall (one or two random seats of a hot front block, so requests overlap) and a 5,000-place
//! general-admission class. A buyer who holds an order pays it (Ordr.pay, then the signed mock notify) or
//! cancels it (half each), and tries again. Reports hold attempts per second and their outcomes, then
//! proves by query on the database that no seat is held or sold twice, no class is below zero or above
//! its capacity, and every valid ticket has its payment.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde_json::Value;

use super::{count_sqlite, generate, machine, BareServer, Conn, Server, PASSWORD};

const BUYERS: usize = 500;
const SEATED: i64 = 2;
const GA: i64 = 3;
const GA_CAPACITY: i64 = 5000;
const SECRET: &str = "bench-pay-secret";

/// The two flash-sale showings: a 1,000-seat hall (25 rows of 40) and a general-admission class.
fn flash_showings(db: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let conn = Connection::open(db)?;
    let tx = conn.unchecked_transaction()?;
    let map: String = (0..25)
        .map(|_| format!("{}_{}_{}", "B".repeat(10), "A".repeat(20), "B".repeat(10)))
        .collect::<Vec<_>>()
        .join("\n");
    let parsed = jindouyun::ticketing::seatmap::SeatMap::parse(&map).map_err(|e| e.to_string())?;
    tx.execute("INSERT INTO Hall (id, venueId, storeId, name, seatMap, rows, cols, seatCnt) VALUES (2, 1, 1, 'flash', ?, 25, 42, ?)", params![map, parsed.seats.len() as i64])?;
    for (id, hall) in [(SEATED, Some(2)), (GA, None)] {
        tx.execute(
            "INSERT INTO Showing (id, eventId, storeId, venueId, hallId, startTm, endTm, saleStartTm, saleEndTm, holdMinutes) \
             VALUES (?, 1, 1, 1, ?, '2099-01-01 19:00:00', '2099-01-01 21:00:00', '2000-01-01 00:00:00', '2099-01-01 19:00:00', 15)",
            params![id, hall],
        )?;
    }
    tx.execute("INSERT INTO PriceClass (id, showingId, code, name, price, capacity, taken) VALUES (100, ?, 'A', 'A区', 380, 500, 0)", [SEATED])?;
    tx.execute("INSERT INTO PriceClass (id, showingId, code, name, price, capacity, taken) VALUES (101, ?, 'B', 'B区', 180, 500, 0)", [SEATED])?;
    tx.execute(
        "INSERT INTO PriceClass (id, showingId, name, price, capacity, taken) VALUES (102, ?, '站票', 99, ?, 0)",
        params![GA, GA_CAPACITY],
    )?;
    let mut st =
        tx.prepare("INSERT INTO Seat (showingId, classId, row, col, label, status) VALUES (?, ?, ?, ?, ?, 'FR')")?;
    for s in &parsed.seats {
        st.execute(params![SEATED, if s.class == 'A' { 100 } else { 101 }, s.row as i64, s.col as i64, s.label()])?;
    }
    drop(st);
    tx.commit()?;
    Ok(())
}

#[derive(Default)]
struct Tally {
    attempts: AtomicU64,
    held: AtomicU64,
    taken: AtomicU64,
    sold_out: AtomicU64,
    other: AtomicU64,
    paid: AtomicU64,
    cancelled: AtomicU64,
    refunded: AtomicU64,
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// A buyer's order of one showing: its id, and whether it is paid.
type Live = Option<(i64, bool)>;

/// One connection's loop over its buyers until the deadline. A buyer picks a showing; without an order
/// there it tries to hold; with a new order it pays (then the signed notify) or cancels, half each; with a
/// paid order it refunds it, so its seats go back into the race and it races again.
async fn race(
    addr: String,
    buyers: Vec<String>,
    first_seat: i64,
    deadline: Instant,
    seed: u64,
    t: Arc<Tally>,
) -> std::io::Result<()> {
    let mut c = Conn::open(&addr).await?;
    let mut live: Vec<[Live; 2]> = vec![[None, None]; buyers.len()];
    let mut rng = seed | 1;
    let mut i = 0;
    while Instant::now() < deadline {
        let b = i % buyers.len();
        i += 1;
        let cookie = &buyers[b];
        let which = (xorshift(&mut rng) % 2) as usize;
        match live[b][which] {
            Some((order, false)) => {
                if xorshift(&mut rng).is_multiple_of(2) {
                    if super::pay_mock(&mut c, cookie, order, SECRET).await? {
                        t.paid.fetch_add(1, Ordering::Relaxed);
                        live[b][which] = Some((order, true));
                    } else {
                        live[b][which] = None;
                    }
                } else {
                    let body = c.call(&format!("/api/Ordr.cancel?id={order}"), cookie, Some("")).await?;
                    if body.starts_with(b"[0,") {
                        t.cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    live[b][which] = None;
                }
            }
            Some((order, true)) => {
                let body = c.call(&format!("/api/Ordr.refund?id={order}"), cookie, Some("")).await?;
                if body.starts_with(b"[0,") {
                    t.refunded.fetch_add(1, Ordering::Relaxed);
                }
                live[b][which] = None;
            }
            None => {
                let contact = "contactName=%E6%8A%A2%E7%A5%A8&contactPhone=13900000000";
                let form = if which == 0 {
                    // One or two seats of the hot block (the first 300 seats), often overlapping other requests.
                    let a = xorshift(&mut rng) % 300;
                    let ids = if xorshift(&mut rng).is_multiple_of(2) {
                        (first_seat + a as i64).to_string()
                    } else {
                        format!("{},{}", first_seat + a as i64, first_seat + ((a + 1) % 300) as i64)
                    };
                    format!("showingId={SEATED}&seatIds={ids}&{contact}")
                } else {
                    format!("showingId={GA}&classId=102&qty={}&{contact}", 1 + xorshift(&mut rng) % 3)
                };
                let body = c.call("/api/Ordr.add", cookie, Some(&form)).await?;
                t.attempts.fetch_add(1, Ordering::Relaxed);
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match (v[0].as_i64(), v[1].as_str()) {
                    (Some(0), _) => {
                        t.held.fetch_add(1, Ordering::Relaxed);
                        live[b][which] = v[1].as_i64().map(|o| (o, false));
                    }
                    (Some(5), Some(m)) if m.contains("已被选走") => {
                        t.taken.fetch_add(1, Ordering::Relaxed);
                    }
                    (Some(5), Some(m)) if m.contains("售罄") || m.contains("只剩") => {
                        t.sold_out.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        if t.other.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("flash: unexpected answer {v}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Runs the flash sale and prints its table; false if a check failed.
pub fn run(
    server: &Path,
    dir: &Path,
    seconds: f64,
    conns: usize,
    rt: &tokio::runtime::Runtime,
    bare: &BareServer,
) -> Result<bool, Box<dyn std::error::Error>> {
    let db = dir.join("flash.db");
    let _ = std::fs::remove_file(&db);
    generate(&crate::Target::Sqlite(db.clone()), BUYERS, 0)?;
    flash_showings(&db)?;
    let first_seat =
        count_sqlite(&Connection::open(&db)?, &format!("SELECT MIN(id) FROM Seat WHERE showingId={SEATED}"));
    let srv = Server::start_with(server, &db, &[("P_PAY_MOCK_SECRET", SECRET), ("P_SWEEP_SECS", "0")])?;
    let addr = srv.addr.clone();
    let bare_rps = rt.block_on(super::bare_rate(&bare.addr, conns, seconds.min(3.0)));
    let tally = Arc::new(Tally::default());
    let elapsed = rt.block_on(async {
        // Log the buyers in (before the clock starts).
        let mut c = Conn::open(&addr).await?;
        let mut cookies = Vec::new();
        for u in 1..=BUYERS {
            let body = c.call("/api/login", "", Some(&format!("uname=u{u}&pwd={PASSWORD}"))).await?;
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let token = v[1]["_token"].as_str().ok_or_else(|| std::io::Error::other(format!("login u{u}: {v}")))?;
            cookies.push(format!("userid={token}"));
        }
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(seconds);
        let mut tasks = Vec::new();
        for k in 0..conns {
            let mine: Vec<String> = cookies.iter().skip(k).step_by(conns).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            let seed = 0x9e37_79b9_7f4a_7c15 ^ (k as u64 + 1);
            tasks.push(tokio::spawn(race(addr.clone(), mine, first_seat, deadline, seed, tally.clone())));
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok::<f64, std::io::Error>(start.elapsed().as_secs_f64())
    })?;
    srv.stop()?;
    let conn = Connection::open(&db)?;
    let checks = [
        ("seats in two live tickets", count_sqlite(&conn, &format!("SELECT COUNT(*) FROM (SELECT seatId FROM Ticket WHERE showingId={SEATED} AND status IN ('HD','OK','US') GROUP BY seatId HAVING COUNT(*)>1)"))),
        ("held or sold seats without their ticket", count_sqlite(&conn, &format!(
            "SELECT COUNT(*) FROM Seat s WHERE s.showingId={SEATED} AND s.status IN ('HD','SO') AND NOT EXISTS \
             (SELECT 1 FROM Ticket k WHERE k.seatId=s.id AND k.orderId=s.orderId AND k.status IN ('HD','OK'))"))),
        ("classes below zero or over capacity", count_sqlite(&conn, "SELECT COUNT(*) FROM PriceClass WHERE taken<0 OR taken>capacity")),
        ("places counted differently from their tickets", count_sqlite(&conn, &format!(
            "SELECT COUNT(*) FROM PriceClass c WHERE c.showingId={GA} AND c.taken <> \
             (SELECT COUNT(*) FROM Ticket k WHERE k.classId=c.id AND k.status IN ('HD','OK','US'))"))),
        ("valid tickets without a payment", count_sqlite(&conn, "SELECT COUNT(*) FROM Ticket k WHERE k.status='OK' AND NOT EXISTS \
             (SELECT 1 FROM Payment p WHERE p.orderId=k.orderId AND p.status='OK')")),
    ];
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let attempts = load(&tally.attempts);
    let rate = attempts as f64 / elapsed;
    let sold: i64 = count_sqlite(&conn, &format!("SELECT COUNT(*) FROM Seat WHERE showingId={SEATED} AND status='SO'"));
    let places: i64 = count_sqlite(&conn, "SELECT taken FROM PriceClass WHERE id=102");
    println!(
        "\nFlash sale: {BUYERS} buyers over {conns} connections, {seconds} s; machine: {}\n\n\
         | | count | per s |\n|---|---:|---:|\n\
         | hold attempts (Ordr.add) | {attempts} | {rate:.0} |\n\
         | held | {} | |\n| refused: seat already taken | {} | |\n| refused: sold out / not enough places | {} | |\n\
         | refused otherwise | {} | |\n| paid (pay + notify) | {} | |\n| cancelled | {} | |\n| refunded | {} | |\n\n\
         bare hyper in the same run: {bare_rps:.0} req/s at {conns} connections. After the run: {sold} seats sold, {places}/{GA_CAPACITY} places taken.",
        machine(),
        load(&tally.held),
        load(&tally.taken),
        load(&tally.sold_out),
        load(&tally.other),
        load(&tally.paid),
        load(&tally.cancelled),
        load(&tally.refunded)
    );
    let mut ok = true;
    for (what, n) in checks {
        println!("check: {what}: {n}{}", if n == 0 { " (ok)" } else { " FAILED" });
        ok &= n == 0;
    }
    Ok(ok)
}
