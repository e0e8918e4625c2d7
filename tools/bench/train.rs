//! The train profile (`jdy-bench --train`): a busy corridor of 20 trains of 16 stops, each run with 1,000
//! second-class seats, on one date.
//!
//! 1. `Train.search` from the first to the last station of the corridor: latency of single calls (p50,
//!    p99) and the rate at 64 connections.
//! 2. 500 buyers over 256 connections race for one run, each over a random trip of 1-15 segments (so trips
//!    overlap); a buyer holding an order pays or cancels it, and refunds a paid one, as in the flash sale.
//!    Afterwards, by query: no two live tickets of a seat share a segment, no seat has a segment both sold
//!    and held, and every valid ticket has its payment.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use serde_json::Value;

use super::{count_sqlite, generate, machine, BareServer, Conn, Server, PASSWORD};

const BUYERS: usize = 500;
const TRAINS: i64 = 20;
const STOPS: i64 = 16;
const SECRET: &str = "bench-pay-secret";
const DT: &str = "2099-01-01";

fn corridor(db: &Path) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let conn = Connection::open(db)?;
    let tx = conn.unchecked_transaction()?;
    tx.execute("INSERT INTO Store (id, name, kind, status) VALUES (2, 'rail', 'rail', 'OK')", [])?;
    let stations: Vec<i64> = tx
        .prepare("SELECT id FROM Station ORDER BY id LIMIT ?")?
        .query_map([STOPS], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if stations.len() < STOPS as usize {
        // A database made without the server's first start has no stations yet.
        for i in 0..STOPS {
            tx.execute(
                "INSERT INTO Station (code, name) VALUES (?, ?)",
                params![format!("B{i:02}"), format!("站{i}")],
            )?;
        }
    }
    let stations: Vec<i64> = tx
        .prepare("SELECT id FROM Station ORDER BY id LIMIT ?")?
        .query_map([STOPS], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let seats: String =
        (1..=200).flat_map(|r| "ABCDF".chars().map(move |c| format!("{r:03}{c}"))).collect::<Vec<_>>().join(",");
    let mut runs = Vec::new();
    for t in 0..TRAINS {
        tx.execute("INSERT INTO Train (storeId, code, name) VALUES (2, ?, 'bench')", [format!("G{}", 1000 + t)])?;
        let train = tx.last_insert_rowid();
        for s in 0..STOPS {
            let minute = 6 * 60 + t * 30 + s * 40;
            let hm = |m: i64| format!("{:02}:{:02}", (m / 60) % 24, m % 60);
            tx.execute(
                "INSERT INTO TrainStop (trainId, seq, stationId, arrTm, depTm, dayOffset, km) VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![train, s, stations[s as usize], if s > 0 { Some(hm(minute - 2)) } else { None }, if s < STOPS - 1 { Some(hm(minute)) } else { None }, minute / 1440, s * 90],
            )?;
        }
        tx.execute(
            "INSERT INTO Carriage (trainId, no, seatClass, seats) VALUES (?, '05', 'ZE', ?)",
            params![train, seats],
        )?;
        tx.execute("INSERT INTO TrainRun (trainId, dt, status) VALUES (?, ?, 'ON')", params![train, DT])?;
        let run = tx.last_insert_rowid();
        jindouyun::ticketing::train::make_run_seats(jindouyun::db::conn::Conn::Sqlite(&tx), run, train)
            .map_err(|e| e.to_string())?;
        runs.push(run);
    }
    tx.commit()?;
    Ok(vec![stations[0], stations[STOPS as usize - 1], runs[0]])
}

#[derive(Default)]
struct Tally {
    attempts: AtomicU64,
    held: AtomicU64,
    refused: AtomicU64,
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

async fn race(
    addr: String,
    buyers: Vec<(String, i64)>,
    stations: Vec<i64>,
    run: i64,
    deadline: Instant,
    seed: u64,
    t: Arc<Tally>,
) -> std::io::Result<()> {
    let mut c = Conn::open(&addr).await?;
    let mut live: Vec<Option<(i64, bool)>> = vec![None; buyers.len()];
    let mut rng = seed | 1;
    let mut i = 0;
    while Instant::now() < deadline {
        let b = i % buyers.len();
        i += 1;
        let (cookie, pid) = &buyers[b];
        match live[b] {
            Some((order, false)) => {
                if xorshift(&mut rng).is_multiple_of(2) {
                    let paid = super::pay_mock(&mut c, cookie, order, SECRET).await?;
                    if paid {
                        t.paid.fetch_add(1, Ordering::Relaxed);
                    }
                    live[b] = if paid { Some((order, true)) } else { None };
                } else {
                    if c.call(&format!("/api/Ordr.cancel?id={order}"), cookie, Some("")).await?.starts_with(b"[0,") {
                        t.cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    live[b] = None;
                }
            }
            Some((order, true)) => {
                if c.call(&format!("/api/Ordr.refund?id={order}"), cookie, Some("")).await?.starts_with(b"[0,") {
                    t.refunded.fetch_add(1, Ordering::Relaxed);
                }
                live[b] = None;
            }
            None => {
                let s = (xorshift(&mut rng) % (STOPS as u64 - 1)) as usize;
                let e = s + 1 + (xorshift(&mut rng) % (STOPS as u64 - 1 - s as u64)) as usize;
                let form = format!(
                    "runId={run}&fromStationId={}&toStationId={}&seatClass=ZE&passengerIds={pid}&contactName=a&contactPhone=13900000000",
                    stations[s], stations[e]
                );
                let body = c.call("/api/Ordr.add", cookie, Some(&form)).await?;
                t.attempts.fetch_add(1, Ordering::Relaxed);
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match v[0].as_i64() {
                    Some(0) => {
                        t.held.fetch_add(1, Ordering::Relaxed);
                        live[b] = v[1].as_i64().map(|o| (o, false));
                    }
                    Some(5) => {
                        t.refused.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        if t.other.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("train: unexpected answer {v}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Runs the train profile; false if a check failed.
pub fn run(
    server: &Path,
    dir: &Path,
    seconds: f64,
    conns: usize,
    rt: &tokio::runtime::Runtime,
    bare: &BareServer,
) -> Result<bool, Box<dyn std::error::Error>> {
    let db = dir.join("train.db");
    let _ = std::fs::remove_file(&db);
    generate(&crate::Target::Sqlite(db.clone()), BUYERS, 0)?;
    // The server's first start loads the stations; start once to get them, then build the corridor.
    let first = Server::start_with(server, &db, &[("P_SWEEP_SECS", "0")])?;
    first.stop()?;
    let ends = corridor(&db)?;
    let (from, to, run0) = (ends[0], ends[1], ends[2]);
    let stations: Vec<i64> = Connection::open(&db)?
        .prepare(
            "SELECT stationId FROM TrainStop WHERE trainId=(SELECT trainId FROM TrainRun WHERE id=?) ORDER BY seq",
        )?
        .query_map([run0], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let srv = Server::start_with(server, &db, &[("P_PAY_MOCK_SECRET", SECRET), ("P_SWEEP_SECS", "0")])?;
    let addr = srv.addr.clone();
    let bare_rps = rt.block_on(super::bare_rate(&bare.addr, conns, seconds.min(3.0)));
    let search_path = format!("/api/Train.search?fromStationId={from}&toStationId={to}&dt={DT}");
    let tally = Arc::new(Tally::default());
    let (lat, search_rps, elapsed) = rt.block_on(async {
        let mut c = Conn::open(&addr).await?;
        // Single-call latency of the corridor search.
        let mut lat = Vec::new();
        for _ in 0..200 {
            let t0 = Instant::now();
            let body = c.call(&search_path, "", None).await?;
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            if !body.starts_with(b"[0,[{") {
                return Err(std::io::Error::other(format!(
                    "search failed: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                )));
            }
        }
        lat.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        // Rate at 64 connections for 2 s.
        let n = Arc::new(AtomicU64::new(0));
        let until = Instant::now() + Duration::from_secs(2);
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (addr, path, n) = (addr.clone(), search_path.clone(), n.clone());
            tasks.push(tokio::spawn(async move {
                let Ok(mut c) = Conn::open(&addr).await else { return };
                while Instant::now() < until {
                    if c.call(&path, "", None).await.is_err() {
                        return;
                    }
                    n.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let search_rps = n.load(Ordering::Relaxed) as f64 / 2.0;
        // Buyers, each with one passenger.
        let mut buyers = Vec::new();
        for u in 1..=BUYERS {
            let v: Value =
                serde_json::from_slice(&c.call("/api/login", "", Some(&format!("uname=u{u}&pwd={PASSWORD}"))).await?)
                    .unwrap_or(Value::Null);
            let token = v[1]["_token"].as_str().ok_or_else(|| std::io::Error::other(format!("login u{u}: {v}")))?;
            let cookie = format!("userid={token}");
            let p: Value = serde_json::from_slice(
                &c.call("/api/Passenger.add", &cookie, Some("name=p&idNo=11010519491231002X")).await?,
            )
            .unwrap_or(Value::Null);
            buyers.push((cookie, p[1].as_i64().unwrap_or(0)));
        }
        let start = Instant::now();
        let deadline = start + Duration::from_secs_f64(seconds);
        let mut tasks = Vec::new();
        for k in 0..conns {
            let mine: Vec<(String, i64)> = buyers.iter().skip(k).step_by(conns).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            tasks.push(tokio::spawn(race(
                addr.clone(),
                mine,
                stations.clone(),
                run0,
                deadline,
                0x2545_f491_4f6c_dd1d ^ (k as u64 + 1),
                tally.clone(),
            )));
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok::<_, std::io::Error>((lat, search_rps, start.elapsed().as_secs_f64()))
    })?;
    srv.stop()?;
    let conn = Connection::open(&db)?;
    let live = "('HD','OK','US')";
    let checks = [
        ("two live tickets of a seat sharing a segment", count_sqlite(&conn, &format!(
            "SELECT COUNT(*) FROM Ticket a JOIN Ticket b ON a.runSeatId=b.runSeatId AND a.id<b.id AND (a.mask & b.mask)<>0 \
             WHERE a.runId={run0} AND a.status IN {live} AND b.status IN {live}"))),
        ("seats with a segment both sold and held", count_sqlite(&conn, &format!("SELECT COUNT(*) FROM RunSeat WHERE runId={run0} AND (sold & held)<>0"))),
        ("live tickets whose segments the seat does not mark", count_sqlite(&conn, &format!(
            "SELECT COUNT(*) FROM Ticket k JOIN RunSeat s ON s.id=k.runSeatId WHERE k.runId={run0} AND k.status IN {live} AND ((s.sold | s.held) & k.mask)<>k.mask"))),
        ("valid tickets without a payment", count_sqlite(&conn, &format!(
            "SELECT COUNT(*) FROM Ticket k WHERE k.runId={run0} AND k.status='OK' AND NOT EXISTS (SELECT 1 FROM Payment p WHERE p.orderId=k.orderId AND p.status='OK')"))),
    ];
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let attempts = load(&tally.attempts);
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "\nTrain profile: {TRAINS} trains x {STOPS} stops x 1,000 seats on one date; machine: {}\n\n\
         Train.search (20 runs, first to last station): p50 {:.2} ms, p99 {:.2} ms single calls; {search_rps:.0} req/s at 64 connections.\n\n\
         | {BUYERS} buyers over {conns} connections, {seconds} s | count | per s |\n|---|---:|---:|\n\
         | hold attempts (Ordr.add, random overlapping trips) | {attempts} | {:.0} |\n| held | {} | |\n| refused (seats or rules) | {} | |\n\
         | other answers | {} | |\n| paid | {} | |\n| cancelled | {} | |\n| refunded | {} | |\n\nbare hyper in the same run: {bare_rps:.0} req/s at {conns} connections.",
        machine(),
        pct(0.5),
        pct(0.99),
        attempts as f64 / elapsed,
        load(&tally.held),
        load(&tally.refused),
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
