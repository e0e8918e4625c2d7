//! The durability promise through a real server process: every write the server acknowledged is in
//! the database after the process is killed with SIGKILL in the middle of a write load (no graceful
//! shutdown, no flush), and the database opens cleanly afterwards.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(db: &std::path::Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_jindouyun"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("P_ADDR", format!("127.0.0.1:{port}"))
        .env("P_DB", db)
        .env("P_DEMO", "0")
        .env("P_TEST_MODE", "1")
        .env("P_ADMIN_CRED", "admin:admin123")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// One request on a fresh connection; the body of the answer.
fn call(port: u16, path: &str, cookie: &str, form: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

#[test]
fn acknowledged_orders_survive_sigkill_mid_load() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kill.db");
    let port = free_port();
    let mut server = start(&db, port);
    let login = call(port, "/api/login?_app=admin", "", "uname=admin&pwd=admin123").unwrap();
    let v: serde_json::Value = serde_json::from_str(&login).unwrap();
    let cookie = format!("adminid={}", v[1]["_token"].as_str().unwrap());

    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop, cookie) = (acked.clone(), stop.clone(), cookie.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let form = format!("dscr=kill-{w}-{n}&amount=1");
                    let Some(body) = call(port, "/api/Ordr.add?_app=admin", &cookie, &form) else { continue };
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
                        if v[0] == 0 {
                            acked.lock().unwrap().push(v[1].as_i64().unwrap());
                        }
                    }
                }
            })
        })
        .collect();
    // Let the load run, then kill the process while requests are in flight.
    let t0 = Instant::now();
    while acked.lock().unwrap().len() < 300 && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "the load ran ({} acknowledged)", acked.len());

    // The database opens (WAL recovery) and holds every acknowledged order.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let mut missing = Vec::new();
    for id in &acked {
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM Ordr WHERE id=?", [id], |r| r.get(0)).unwrap();
        if n != 1 {
            missing.push(*id);
        }
    }
    assert!(missing.is_empty(), "{} of {} acknowledged orders lost: {missing:?}", missing.len(), acked.len());
    // And a restarted server serves them.
    drop(conn);
    let mut again = start(&db, port);
    let body = call(port, "/api/Ordr.query?_app=admin&res=count(*)%20n&fmt=one", &cookie, "").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v[1]["n"].as_i64().unwrap() >= acked.len() as i64, "{v}");
    again.kill().unwrap();
    again.wait().unwrap();
}
