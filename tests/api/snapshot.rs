//! Every statement of a read call reads one snapshot, whether the call runs one statement (no BEGIN and
//! COMMIT then) or several (a transaction from the first): `db::conn::Snapshot`, `api::dispatch::run_read`.
//!
//! The product below adds read functions that commit another client's write between their statements
//! (through the writer, waiting for its commit), the only way to see which snapshot a statement read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jindouyun::api::ctx::{Ctx, Reply};
use jindouyun::api::functions::Functions;
use jindouyun::api::params::Params;
use jindouyun::config::Config;
use jindouyun::crud::Registry;
use jindouyun::db::conn::Conn;
use jindouyun::db::writer::JobDone;
use jindouyun::error::ApiResult;
use jindouyun::state::Product;
use serde_json::json;

use crate::helpers::{spawn_product, Body, TestApp};

/// Calls of `twoReads` whose after-commit action ran (a voided attempt's must not).
static AFTER_COMMITS: AtomicUsize = AtomicUsize::new(0);

const COUNT: &str = "SELECT COUNT(*) FROM OrderLog WHERE action='SNAP'";

/// Commits one OrderLog row from the writer (another client, as far as the read is concerned) and
/// waits until it is committed.
fn commit_elsewhere(ctx: &Ctx) {
    let (tx, rx) = std::sync::mpsc::channel();
    let job = Box::new(move |conn: Conn| {
        conn.execute("INSERT INTO OrderLog (orderId, action, tm) VALUES (0, 'SNAP', '2026-12-01 00:00:00')", [])
            .expect("insert");
        JobDone { keep: true, then: None, finish: Box::new(move |r| tx.send(r.is_ok()).unwrap()) }
    });
    assert!(ctx.state.db.writer().submit(job));
    assert!(rx.recv().unwrap(), "the other client's write committed");
}

/// One statement: reports whether a transaction is open after it.
fn one_read(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    let n = ctx.scalar_int(COUNT, &[])?;
    Ok(Reply::Data(json!({ "n": n, "inTx": ctx.db.in_transaction() })))
}

/// Two statements with a committed write between them; queues an always-action (a marker row) and an
/// after-commit action, which must each happen once per call however often the call was attempted.
fn two_reads(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    ctx.always(|conn| {
        conn.execute("INSERT INTO OrderLog (orderId, action, tm) VALUES (0, 'MARK', '2026-12-01 00:00:00')", [])?;
        Ok(())
    });
    ctx.after_commit(|_| {
        AFTER_COMMITS.fetch_add(1, Ordering::SeqCst);
    });
    let first = ctx.scalar_int(COUNT, &[])?;
    let in_tx = ctx.db.in_transaction();
    commit_elsewhere(ctx);
    let second = ctx.scalar_int(COUNT, &[])?;
    Ok(Reply::Data(json!({ "first": first, "second": second, "inTx": in_tx })))
}

/// Like `two_reads`, but its second statement goes straight to the connection (`ctx.db`), as the
/// ticketing helpers' do: it must count as the call's statement just the same.
fn two_reads_direct(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    let first = ctx.scalar_int(COUNT, &[])?;
    commit_elsewhere(ctx);
    let second: i64 = ctx.db.query_row(COUNT, [], |r| r.get(0))?;
    Ok(Reply::Data(json!({ "first": first, "second": second })))
}

struct WithReads;

impl Product for WithReads {
    fn register(&self, objects: &mut Registry, functions: &mut Functions) {
        jindouyun::app::Jindouyun.register(objects, functions);
        functions.add("oneRead", false, one_read);
        functions.add("twoReads", false, two_reads);
        functions.add("twoReadsDirect", false, two_reads_direct);
    }
    fn init_db(&self, conn: Conn, config: &Config) -> ApiResult<()> {
        jindouyun::app::Jindouyun.init_db(conn, config)
    }
}

fn app() -> TestApp {
    spawn_product(Arc::new(WithReads), |_| {})
}

#[test]
fn a_read_of_one_statement_runs_it_without_a_transaction() {
    let mut app = app();
    for _ in 0..3 {
        let v = app.ok("oneRead", &[], Body::None);
        assert_eq!(v, json!({"n": 0, "inTx": false}), "no BEGIN for one statement, call after call");
    }
}

#[test]
fn a_read_of_two_statements_reads_one_snapshot_from_its_first_call_on() {
    let mut app = app();
    let before = AFTER_COMMITS.load(Ordering::SeqCst);
    // First call: tried as a single statement, voided at the second, run again in a transaction. Each
    // attempt committed a write between its statements (two rows in all); the answer is the second
    // attempt's, whose two statements both read the snapshot taken before its write.
    let v = app.ok("twoReads", &[], Body::None);
    assert_eq!(v, json!({"first": 1, "second": 1, "inTx": true}), "{v}");
    // Known from then on: one attempt, in a transaction from the first statement.
    let v = app.ok("twoReads", &[], Body::None);
    assert_eq!(v, json!({"first": 2, "second": 2, "inTx": true}), "{v}");
    assert_eq!(app.count(COUNT), 3, "three writes committed by the calls, each seen only after its call");
    app.flush_log();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM OrderLog WHERE action='MARK'"),
        2,
        "the voided attempt's always-action never ran: one marker per call"
    );
    assert_eq!(AFTER_COMMITS.load(Ordering::SeqCst) - before, 2, "one after-commit action per call");
    // Other reads are not affected by what this one needed.
    assert_eq!(app.ok("oneRead", &[], Body::None)["inTx"], json!(false));
}

#[test]
fn statements_straight_on_the_connection_count_as_the_call_s_too() {
    let mut app = app();
    for _ in 0..2 {
        let v = app.ok("twoReadsDirect", &[], Body::None);
        assert_eq!(v["first"], v["second"], "one snapshot: {v}");
    }
}

#[test]
fn runtime_threads_keep_a_read_connection_each_and_the_pool_still_serves_the_rest() {
    // One pooled connection besides those the runtime threads (two in these tests) keep.
    let mut app = spawn_product(Arc::new(WithReads), |c| c.db_pool = 1);
    let addr = app.addr;
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(move || {
                for _ in 0..50 {
                    let r = crate::helpers::send(addr, "GET", "/api/oneRead", &[], b"");
                    assert_eq!(r.json()[0], json!(0), "{}", r.text());
                }
            });
        }
    });
    let kept = app.state.db.kept_readers();
    if crate::helpers::on_pg() {
        assert_eq!(kept, 0, "PostgreSQL reads run on the blocking pool, from the pool");
    } else {
        assert!((1..=2).contains(&kept), "one per runtime thread at most: {kept}");
    }
    // An export runs on the blocking pool, from the pool's own connection, while the runtime threads
    // keep theirs (were they taken from the same P_DB_POOL, it would wait for one and time out).
    app.login_admin();
    let r = app.call_raw("Ordr.query", &[("_app", "admin"), ("fmt", "csv")], Body::None);
    assert_eq!(r.status, 200);
    assert!(!r.text().starts_with('['), "a CSV, not an error envelope: {}", r.text());
}
