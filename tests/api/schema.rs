//! The design file drives the database (protocol §2): creation, upgrade without data loss, the
//! `upgrade --diff` command, and the bootstrap employee.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::helpers::{spawn_app, spawn_with, Body};

/// The design's `Ordr` line, which the designs below extend.
const ORDR: &str = "@Ordr: id, userId, createTm, status(2), amount, dscr(l), cmt(l), storeId, showingId, runId, \
    fromStationId, toStationId, seatClass(2), departTm, qty&, expireTm, contactName(s), contactPhone(s), reqId(m), hidden(flag), liveKey(m), reqKey(m)";

/// A design that includes the real one and adds a table and a column to a copy of `Ordr`.
fn extended_design(dir: &Path, extra: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("design");
    let main = std::fs::read_to_string(root.join("DESIGN.md")).unwrap();
    std::fs::copy(root.join("framework.md"), dir.join("framework.md")).unwrap();
    let p = dir.join("DESIGN.md");
    std::fs::write(&p, format!("{main}\n{extra}\n")).unwrap();
    p
}

#[test]
fn a_new_database_has_every_design_table_and_the_bootstrap_employee() {
    let mut app = spawn_app();
    let tables = app.tables();
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    for t in [
        "ApiLog",
        "ApiLog1",
        "Attachment",
        "Cinf",
        "Employee",
        "ObjLog",
        "OrderAtt",
        "OrderLog",
        "Ordr",
        "Pwd",
        "Session",
        "User",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    let emp = app.sql("SELECT uname, phone, perms, pwd FROM Employee");
    assert_eq!(emp[0]["uname"], json!("admin"));
    assert_eq!(emp[0]["phone"], json!("12345678901"));
    assert!(emp[0]["perms"].as_str().unwrap().contains("mgr"));
    assert!(emp[0]["pwd"].as_str().unwrap().starts_with("$argon2id$v=19$"), "never stored as plain md5");
    app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
}

#[test]
fn restarting_with_a_richer_design_adds_tables_and_columns_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keep.db");
    let db2 = db.clone();
    {
        let mut app = spawn_with(move |c| c.db_path = db2);
        app.login_admin();
        app.ok("Ordr.add", &[("_app", "admin")], Body::Form(&[("dscr", "before upgrade")]));
    }
    let design =
        extended_design(dir.path(), &format!("{ORDR}, tel(s), points&\n\n@Coupon: id, code(s), price, expireDt"));
    let db3 = db.clone();
    let mut app = spawn_with(move |c| {
        c.db_path = db3;
        c.design_path = design;
    });
    app.login_admin();
    let v = app.ok("Ordr.query", &[("_app", "admin"), ("res", "id,dscr,tel,points"), ("fmt", "list")], Body::None);
    assert_eq!(v["list"][0]["dscr"], json!("before upgrade"));
    assert_eq!(v["list"][0]["tel"], json!(null));
    let id = app.ok(
        "Coupon.add",
        &[("_app", "admin")],
        Body::Form(&[("code", "X1"), ("price", "9.9"), ("expireDt", "2030-1-2")]),
    );
    let c = app.ok("Coupon.get", &[("_app", "admin"), ("id", &id.to_string())], Body::None);
    assert_eq!(c, json!({"id": 1, "code": "X1", "price": "9.90", "expireDt": "2030-01-02"}));
}

#[test]
fn a_design_error_stops_start_up_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let design = extended_design(dir.path(), "@Bad: id, na-me");
    let db = dir.path().join("x.db");
    let r = std::panic::catch_unwind(|| {
        spawn_with(move |c| {
            c.design_path = design;
            c.db_path = db;
        })
    });
    assert!(r.is_err(), "a bad design must not start");
}

#[test]
fn upgrade_diff_prints_the_sql_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let bin = env!("CARGO_BIN_EXE_jindouyun");
    let design = Path::new(env!("CARGO_MANIFEST_DIR")).join("design/DESIGN.md");
    let out = Command::new(bin).args(["upgrade", "--diff"]).env("P_DB", &db).env("P_DESIGN", &design).output().unwrap();
    assert!(out.status.success());
    let sql = String::from_utf8(out.stdout).unwrap();
    assert!(sql.contains("CREATE TABLE \"Ordr\""), "{sql}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type='table'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0, "diff must not create anything");
    drop(conn);

    let out = Command::new(bin).args(["upgrade"]).env("P_DB", &db).env("P_DESIGN", &design).output().unwrap();
    assert!(out.status.success());
    let extended = extended_design(dir.path(), &format!("{ORDR}, tel(s)"));
    let out =
        Command::new(bin).args(["upgrade", "--diff"]).env("P_DB", &db).env("P_DESIGN", &extended).output().unwrap();
    let sql = String::from_utf8(out.stdout).unwrap();
    assert_eq!(sql.trim(), "ALTER TABLE \"Ordr\" ADD COLUMN \"tel\" NVARCHAR(20);");
}

#[test]
fn a_new_database_gets_demo_data_once_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (d1, d2) = (db.clone(), db.clone());
    {
        let mut app = spawn_with(move |c| {
            c.db_path = d1;
            c.demo = true;
        });
        app.ok("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "demo123")]));
        // Plain orders in every state, and paid ticket orders of the ticketing demo.
        let plain = ("cond", "showingId IS NULL AND runId IS NULL");
        let v = app.ok("Ordr.query", &[("res", "status"), ("fmt", "list"), ("orderby", "status"), plain], Body::None);
        assert_eq!(v["list"], json!([{"status": "CA"}, {"status": "CR"}, {"status": "PA"}, {"status": "RE"}]));
        let tickets = ("cond", "status='PA' AND (showingId IS NOT NULL OR runId IS NOT NULL)");
        let v = app.ok("Ordr.query", &[("res", "count(*) n"), ("fmt", "one"), tickets], Body::None);
        assert!(v["n"].as_i64().unwrap() >= 1, "{v}");
    }
    let mut app = spawn_with(move |c| {
        c.db_path = d2;
        c.demo = true;
    });
    assert_eq!(app.count("SELECT COUNT(*) FROM User"), 4, "not loaded twice");
}

/// The `sqlite_sequence` rows of a database file, in the order SQLite reads them.
fn sequences(db: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn.prepare("SELECT name, seq FROM sqlite_sequence ORDER BY rowid").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn the_busiest_tables_have_their_counters_looked_up_first_and_keep_them_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("seq.db");
    let busiest = ["ApiLog", "ObjLog", "OrderLog", "Ordr", "Ticket", "Payment", "Refund", "Session", "ApiLog1"];
    let order_id = {
        let d = db.clone();
        let mut app = spawn_with(move |c| {
            c.db_path = d;
            c.demo = true;
        });
        app.ok("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "demo123")]));
        app.ok("Ordr.add", &[], Body::Form(&[("dscr", "seq"), ("amount", "1")])).as_i64().unwrap()
    };
    let seq = sequences(&db);
    let names: Vec<&str> = seq.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..busiest.len()], busiest, "demo data filled other tables first: {names:?}");
    let counter = |seq: &[(String, i64)], t: &str| seq.iter().find(|(n, _)| n == t).map(|(_, s)| *s);
    assert_eq!(counter(&seq, "Ordr"), Some(order_id));
    // A database whose list grew the other way (as one made before this order did) is put in order at
    // start, counters unchanged: the next order follows the last one even after it is deleted.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "BEGIN; CREATE TEMP TABLE s AS SELECT name, seq FROM sqlite_sequence ORDER BY rowid DESC;
             DELETE FROM sqlite_sequence; INSERT INTO sqlite_sequence SELECT * FROM s; COMMIT;",
        )
        .unwrap();
        conn.execute("DELETE FROM Ordr WHERE id = ?", [order_id]).unwrap();
    }
    let reversed = sequences(&db);
    assert_ne!(reversed.first().map(|(n, _)| n.as_str()), Some("ApiLog"), "reversed: {reversed:?}");
    let d = db.clone();
    let mut app = spawn_with(move |c| {
        c.db_path = d;
        c.demo = true;
    });
    let after = sequences(&db);
    let names: Vec<&str> = after.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..busiest.len()], busiest);
    // Sorted by name; IdBlock left out, as a start takes new blocks of log ids (new IdBlock rows).
    let by_name = |s: &[(String, i64)]| {
        let mut v: Vec<(String, i64)> = s.iter().filter(|(n, _)| n != "IdBlock").cloned().collect();
        v.sort();
        v
    };
    assert_eq!(by_name(&after), by_name(&seq), "every counter kept");
    app.ok("login", &[], Body::Form(&[("uname", "13800000001"), ("pwd", "demo123")]));
    let next = app.ok("Ordr.add", &[], Body::Form(&[("dscr", "seq"), ("amount", "1")])).as_i64().unwrap();
    assert_eq!(next, order_id + 1, "the deleted order's id is not handed out again");
}

#[test]
fn sigterm_stops_the_binary_gracefully_with_every_apilog_row_written() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("term.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_jindouyun"))
        .env("P_ADDR", &addr)
        .env("P_DB", &db)
        .env("P_DESIGN", root.join("design/DESIGN.md"))
        .env("P_DEMO", "0")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "server did not start");
    for _ in 0..5 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /api/initClient HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.contains("[0,"), "{out}");
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM: {status}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM ApiLog WHERE ac='initClient'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 5);
}
