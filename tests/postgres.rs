//! The schema on PostgreSQL (issue 16, first part): `jindouyun upgrade` with `P_DB=postgres://...`
//! creates every table, column and index of the design, is idempotent, adds what is missing, shows a
//! plan without running it, survives two processes starting at once, and the dialect's time SQL gives
//! the same answers as SQLite's.
//!
//! Needs a server: `P_TEST_PG` is a URL of a role that may create databases (`.ci/run` starts Debian's
//! postgresql and sets it). Without it the tests say so and pass, except under CI (`CI` set), where a
//! missing database is a failure.

use std::process::{Command, Output};

use jindouyun::db::dialect::{Dialect, Postgres, Sqlite};
use jindouyun::meta::Design;
use postgres::{Client, NoTls};

/// A fresh database for one test, dropped at the end.
struct TestDb {
    admin: Client,
    name: String,
    url: String,
}

impl TestDb {
    fn new(tag: &str) -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("P_TEST_PG") else {
            assert!(std::env::var("CI").is_err(), "CI must run the PostgreSQL tests: set P_TEST_PG");
            eprintln!("P_TEST_PG not set: skipping the PostgreSQL test `{tag}`");
            return None;
        };
        let mut admin = Client::connect(&admin_url, NoTls).expect("connect to P_TEST_PG");
        let name = format!("jdy_test_{tag}_{}", std::process::id());
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("P_TEST_PG must end in /database"),
        };
        Some(TestDb { admin, name, url })
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect to the test database")
    }

    fn upgrade(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_jindouyun"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("P_DB", &self.url)
            .env("RUST_LOG", "warn")
            .arg("upgrade")
            .args(args)
            .output()
            .expect("run jindouyun upgrade")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn design() -> Design {
    Design::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/design/DESIGN.md"))).expect("design")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "upgrade failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn columns(c: &mut Client, table: &str) -> Vec<(String, String)> {
    c.query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        &[&table],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

fn index_names(c: &mut Client) -> Vec<String> {
    c.query("SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema()", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn upgrade_creates_every_table_column_and_index_of_the_design_once() {
    let Some(db) = TestDb::new("schema") else { return };
    let design = design();
    let first = stdout(&db.upgrade(&[]));
    assert!(first.contains("CREATE TABLE \"Ordr\""), "{first}");
    let mut c = db.client();
    for t in &design.tables {
        let got: Vec<String> = columns(&mut c, &t.name).into_iter().map(|(n, _)| n).collect();
        let want: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        assert_eq!(got, want, "columns of {}", t.name);
    }
    let have = index_names(&mut c);
    for ix in &design.indexes {
        assert!(have.contains(&ix.name), "index {} missing", ix.name);
    }
    // Types are PostgreSQL's own, chosen in the dialect: 64-bit integers, exact money, typed times.
    let ordr: std::collections::HashMap<String, String> = columns(&mut c, "Ordr").into_iter().collect();
    assert_eq!(ordr["id"], "bigint");
    assert_eq!(ordr["amount"], "numeric");
    assert_eq!(ordr["createTm"], "timestamp without time zone");
    assert_eq!(ordr["hidden"], "smallint");
    // A second run has nothing to do.
    let again = db.upgrade(&[]);
    assert_eq!(stdout(&again), "");
    assert!(String::from_utf8_lossy(&again.stderr).contains("database is up to date"));
}

#[test]
fn ids_are_generated_never_reused_and_an_explicit_id_is_kept() {
    let Some(db) = TestDb::new("ids") else { return };
    stdout(&db.upgrade(&[]));
    let mut c = db.client();
    let id = |c: &mut Client, sql: &str| -> i64 { c.query_one(sql, &[]).unwrap().get(0) };
    let a = id(&mut c, "INSERT INTO \"Ordr\" (\"status\", \"amount\") VALUES ('CR', 12.50) RETURNING id");
    let b = id(&mut c, "INSERT INTO \"Ordr\" (\"status\") VALUES ('CR') RETURNING id");
    assert_eq!((a, b), (1, 2));
    c.batch_execute("DELETE FROM \"Ordr\" WHERE id = 2").unwrap();
    let next = id(&mut c, "INSERT INTO \"Ordr\" (\"status\") VALUES ('CR') RETURNING id");
    assert_eq!(next, 3, "a deleted row's id is not handed out again");
    assert_eq!(id(&mut c, "INSERT INTO \"Ordr\" (id, \"status\") VALUES (100, 'CR') RETURNING id"), 100);
    let flag: i16 = c.query_one("SELECT \"hidden\" FROM \"Ordr\" WHERE id = 1", &[]).unwrap().get(0);
    assert_eq!(flag, 0, "a flag is 0 until set");
    // A unique key of the design holds.
    c.batch_execute("INSERT INTO \"Ordr\" (\"status\", \"liveKey\") VALUES ('CR', 'u1-s1')").unwrap();
    let dup = c.batch_execute("INSERT INTO \"Ordr\" (\"status\", \"liveKey\") VALUES ('CR', 'u1-s1')");
    assert!(dup.is_err(), "su_Ordr_liveKey must refuse a second live order");
}

#[test]
fn a_missing_column_and_index_are_planned_by_diff_and_added_by_upgrade() {
    let Some(db) = TestDb::new("diff") else { return };
    stdout(&db.upgrade(&[]));
    let mut c = db.client();
    c.batch_execute("ALTER TABLE \"Ordr\" DROP COLUMN \"cmt\"; DROP INDEX \"ix_Ordr_userId\"").unwrap();
    let plan = stdout(&db.upgrade(&["--diff"]));
    assert_eq!(
        plan,
        "ALTER TABLE \"Ordr\" ADD COLUMN \"cmt\" VARCHAR(255);\nCREATE INDEX \"ix_Ordr_userId\" ON \"Ordr\" (\"userId\");\n"
    );
    assert!(!columns(&mut c, "Ordr").iter().any(|(n, _)| n == "cmt"), "--diff changes nothing");
    assert_eq!(stdout(&db.upgrade(&[])), plan);
    assert!(columns(&mut c, "Ordr").iter().any(|(n, _)| n == "cmt"));
    assert!(index_names(&mut c).contains(&"ix_Ordr_userId".to_string()));
}

#[test]
fn an_index_in_full_where_the_design_declares_it_sparse_is_replaced_by_upgrade() {
    let Some(db) = TestDb::new("sparse") else { return };
    stdout(&db.upgrade(&[]));
    let mut c = db.client();
    let def = |c: &mut Client, name: &str| -> Option<String> {
        c.query_opt("SELECT indexdef FROM pg_indexes WHERE indexname = $1", &[&name]).unwrap().map(|r| r.get(0))
    };
    assert!(def(&mut c, "su_Ordr_liveKey").unwrap().contains("WHERE (\"liveKey\" IS NOT NULL)"));
    // A database made before the index was sparse has its full twin.
    c.batch_execute(
        "DROP INDEX \"su_Ordr_liveKey\"; CREATE UNIQUE INDEX \"ux_Ordr_liveKey\" ON \"Ordr\" (\"liveKey\")",
    )
    .unwrap();
    let plan = stdout(&db.upgrade(&["--diff"]));
    assert_eq!(
        plan,
        "DROP INDEX \"ux_Ordr_liveKey\";\nCREATE UNIQUE INDEX \"su_Ordr_liveKey\" ON \"Ordr\" (\"liveKey\") WHERE \"liveKey\" IS NOT NULL;\n"
    );
    assert_eq!(stdout(&db.upgrade(&[])), plan);
    assert!(def(&mut c, "ux_Ordr_liveKey").is_none());
    assert!(def(&mut c, "su_Ordr_liveKey").is_some());
    assert_eq!(stdout(&db.upgrade(&["--diff"])), "", "converged");
}

#[test]
fn two_processes_upgrading_an_empty_database_at_once_both_succeed() {
    let Some(db) = TestDb::new("race") else { return };
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_jindouyun"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("P_DB", &db.url)
            .env("RUST_LOG", "warn")
            .arg("upgrade")
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    let (a, b) = (stdout(&a), stdout(&b));
    // One of them created the schema; the other, waiting on the lock, found it done.
    assert!(a.is_empty() != b.is_empty(), "exactly one process runs the plan:\n{a}\n---\n{b}");
    assert_eq!(stdout(&db.upgrade(&["--diff"])), "");
}

#[test]
fn time_dimensions_and_now_give_the_same_answers_as_sqlite() {
    let Some(db) = TestDb::new("time") else { return };
    let mut pg = db.client();
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    let days = [
        "2023-01-01 00:30:00", // a Sunday: week 0 in mode 5
        "2023-01-02 13:00:00", // the first Monday: week 1
        "2024-02-29 23:59:59",
        "2024-12-30 08:00:00",
        "2025-06-15 12:00:00",
        "2026-12-31 18:45:00",
    ];
    for day in days {
        for dim in ["y", "q", "m", "w", "d", "wd", "h"] {
            let p: i32 = pg
                .query_one(&format!("SELECT {}", Postgres.time_part(dim, &format!("TIMESTAMP '{day}'"))), &[])
                .unwrap()
                .get(0);
            let s: i64 = lite
                .query_row(&format!("SELECT {}", Sqlite.time_part(dim, &format!("'{day}'"))), [], |r| r.get(0))
                .unwrap();
            assert_eq!(p as i64, s, "{dim} of {day}");
        }
    }
    // `{now-7d}` is a timestamp a week ago on PostgreSQL too.
    let sql =
        format!("SELECT CAST(EXTRACT(EPOCH FROM ({} - {})) AS BIGINT)", Postgres.now_sql(0), Postgres.now_sql(-7));
    let secs: i64 = pg.query_one(&sql, &[]).unwrap().get(0);
    assert_eq!(secs, 7 * 86_400);
}

#[test]
fn id_blocks_are_reserved_by_the_same_statements_on_postgres_without_overlap() {
    let Some(db) = TestDb::new("idblock") else { return };
    stdout(&db.upgrade(&[]));
    db.client().batch_execute("INSERT INTO \"ApiLog\" (id, ac) VALUES (41, 'old')").unwrap();
    // SQLite's statements, with PostgreSQL's placeholders; four processes' worth of clients at once.
    let [first, take] = jindouyun::log::ids::reserve_sql("ApiLog").map(|s| s.replace("?1", "$1").replace("?2", "$2"));
    let url = db.url.clone();
    let (first, take, url) = (&first, &take, &url);
    let starts: Vec<i64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || {
                    let mut c = Client::connect(url, NoTls).unwrap();
                    (0..5)
                        .map(|_| {
                            let mut tx = c.transaction().unwrap();
                            tx.execute(first.as_str(), &[&"ApiLog"]).unwrap();
                            let start: i64 = tx.query_one(take.as_str(), &[&"ApiLog", &100_i64]).unwrap().get(0);
                            tx.commit().unwrap();
                            start
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let mut sorted = starts.clone();
    sorted.sort();
    let want: Vec<i64> = (0..20).map(|i| 42 + 100 * i).collect();
    assert_eq!(sorted, want, "twenty blocks of 100 after the largest id, none shared");
}

/// Every SQL statement written as a whole literal in the product's source (`server/ticketing`,
/// `server/objects`, `server/auth`, `server/log`), with `{...}` format holes left out.
fn product_sql() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("server");
    let mut files = Vec::new();
    for dir in ["ticketing", "objects", "objects/attachment", "auth", "log"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let b = src.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'"' || (i > 0 && (b[i - 1] == b'\'' || b[i - 1] == b'r' || b[i - 1] == b'#')) {
                i += 1;
                continue;
            }
            // A Rust string literal: `\` escapes, `\` + newline continues the line.
            let mut text = String::new();
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                if b[j] == b'\\' && j + 1 < b.len() {
                    match b[j + 1] {
                        b'\n' => {
                            j += 2;
                            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                                j += 1;
                            }
                            continue;
                        }
                        b'"' => text.push('"'),
                        b'\\' => text.push('\\'),
                        b'n' => text.push('\n'),
                        c => {
                            text.push('\\');
                            text.push(c as char);
                        }
                    }
                    j += 2;
                    continue;
                }
                let ch = src[j..].chars().next().unwrap();
                text.push(ch);
                j += ch.len_utf8();
            }
            i = j + 1;
            let head = text.trim_start().to_ascii_uppercase();
            let is_sql = ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH "].iter().any(|k| head.starts_with(k));
            // A head completed at run time (`INSERT INTO ApiLog (...) VALUES ` and its row groups) is no
            // statement of its own; the suite's run on PostgreSQL runs the whole ones.
            let fragment = head.trim_end().ends_with("VALUES");
            if is_sql && !fragment && !text.contains('{') && text.len() > 20 {
                out.push((f.file_name().unwrap().to_string_lossy().into_owned(), text));
            }
        }
    }
    out
}

#[test]
fn every_sql_statement_of_the_product_prepares_on_postgres_once_translated() {
    let Some(db) = TestDb::new("prepare") else { return };
    stdout(&db.upgrade(&[]));
    let names = jindouyun::db::postgres::design_names(&design());
    let mut c = db.client();
    let stmts = product_sql();
    assert!(stmts.len() > 100, "the scan finds the product's statements ({})", stmts.len());
    let mut failed = Vec::new();
    // A batch (a test's fixture) is prepared statement by statement.
    for (file, sql) in
        stmts.iter().flat_map(|(f, s)| s.split(';').filter(|p| !p.trim().is_empty()).map(move |p| (f, p)))
    {
        let pg = jindouyun::db::postgres::translate(sql, &names);
        if let Err(e) = c.prepare(&pg) {
            let msg = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| e.to_string());
            failed.push(format!("{file}: {msg}\n    {pg}"));
        }
    }
    assert!(failed.is_empty(), "{} of {} statements do not prepare:\n{}", failed.len(), stmts.len(), failed.join("\n"));
}
