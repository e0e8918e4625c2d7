//! ApiLog and ApiLog1: one row per call and per batch sub-call, written by one background thread in
//! batches (protocol §7, decision §9.13).
//!
//! A call never waits for its log row: ids are handed out from an in-memory counter (so ObjLog rows
//! written inside the call can point at their ApiLog row), the finished row is queued, and the writer
//! inserts everything queued in one transaction every few milliseconds. A crash loses at most the rows
//! still queued; business data is committed by the call itself and never depends on this queue.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::error::ApiResult;

/// One ApiLog row (column names as in the design).
#[derive(Debug, Clone, Default)]
pub struct ApiLogRow {
    pub id: i64,
    pub tm: String,
    pub addr: String,
    pub ua: String,
    pub app: String,
    pub ses: String,
    pub user_id: Option<i64>,
    pub ac: String,
    pub t: i64,
    pub retval: i64,
    pub req: String,
    pub res: String,
    pub reqsz: i64,
    pub ressz: i64,
    pub ver: String,
    pub server_rev: String,
}

/// One ApiLog1 row (a batch sub-call).
#[derive(Debug, Clone, Default)]
pub struct ApiLog1Row {
    pub id: i64,
    pub api_log_id: i64,
    pub ac: String,
    pub t: i64,
    pub retval: i64,
    pub req: String,
    pub res: String,
}

enum Msg {
    Api(ApiLogRow),
    Api1(ApiLog1Row),
    /// Write everything queued so far, then signal.
    Flush(SyncSender<()>),
}

/// The ApiLog writer. Dropping the last handle (or `shutdown`) drains the queue.
pub struct ApiLogger {
    enabled: bool,
    next_id: AtomicI64,
    next_id1: AtomicI64,
    tx: Mutex<Option<SyncSender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Rows written per transaction at most; the queue holds this many batches before callers wait.
const BATCH: usize = 2000;
/// How long a row may wait in the queue before the writer commits it.
const LINGER: Duration = Duration::from_millis(20);

impl ApiLogger {
    /// Starts the writer on `db`. With `enabled=false` ids are still handed out but nothing is written.
    pub fn start(db: Arc<Db>, enabled: bool) -> ApiResult<ApiLogger> {
        let (max0, max1) = {
            let conn = db.read()?;
            let max = |t: &str| -> i64 {
                conn.query_row(&format!("SELECT COALESCE(MAX(id),0) FROM {t}"), [], |r| r.get(0)).unwrap_or(0)
            };
            (max("ApiLog"), max("ApiLog1"))
        };
        let (tx, rx) = sync_channel::<Msg>(BATCH * 16);
        let thread = std::thread::Builder::new()
            .name("apilog".into())
            .spawn(move || writer(db, rx))
            .map_err(|e| crate::error::ApiError::server(format!("start apilog writer: {e}")))?;
        Ok(ApiLogger {
            enabled,
            next_id: AtomicI64::new(max0 + 1),
            next_id1: AtomicI64::new(max1 + 1),
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A new ApiLog id.
    pub fn next_id(&self) -> i64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A new ApiLog1 id.
    pub fn next_id1(&self) -> i64 {
        self.next_id1.fetch_add(1, Ordering::Relaxed)
    }

    fn send(&self, m: Msg) {
        if !self.enabled {
            return;
        }
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(tx) = tx {
            if tx.send(m).is_err() {
                log::error!("apilog writer is gone; row dropped");
            }
        }
    }

    /// Queues a finished ApiLog row.
    pub fn log(&self, row: ApiLogRow) {
        self.send(Msg::Api(row));
    }

    /// Queues a finished ApiLog1 row.
    pub fn log1(&self, row: ApiLog1Row) {
        self.send(Msg::Api1(row));
    }

    /// Waits until every row queued before this call is in the database.
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        self.send(Msg::Flush(tx));
        if self.enabled {
            let _ = rx.recv_timeout(Duration::from_secs(30));
        }
    }

    /// Stops accepting rows, writes what is queued, and joins the writer.
    pub fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for ApiLogger {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn writer(db: Arc<Db>, rx: Receiver<Msg>) {
    let mut rows = Vec::new();
    let mut rows1 = Vec::new();
    let mut waiters = Vec::new();
    let mut deadline: Option<Instant> = None;
    loop {
        let msg = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let closed = match msg {
            Ok(Msg::Api(r)) => {
                rows.push(r);
                false
            }
            Ok(Msg::Api1(r)) => {
                rows1.push(r);
                false
            }
            Ok(Msg::Flush(w)) => {
                waiters.push(w);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let pending = rows.len() + rows1.len();
        if deadline.is_none() && pending > 0 {
            deadline = Some(Instant::now() + LINGER);
        }
        let due = deadline.is_some_and(|d| Instant::now() >= d);
        if pending >= BATCH || due || closed || !waiters.is_empty() {
            if pending > 0 {
                if let Err(e) = write_batch(&db, &rows, &rows1) {
                    log::error!("apilog: writing {pending} rows failed: {e}");
                }
                rows.clear();
                rows1.clear();
            }
            deadline = None;
            for w in waiters.drain(..) {
                let _ = w.send(());
            }
        }
        if closed {
            return;
        }
    }
}

fn write_batch(db: &Db, rows: &[ApiLogRow], rows1: &[ApiLog1Row]) -> rusqlite::Result<()> {
    let mut conn = db.write();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO ApiLog (id, tm, addr, ua, app, ses, userId, ac, t, retval, req, res, reqsz, ressz, ver, serverRev) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )?;
        for r in rows {
            st.execute(rusqlite::params![
                r.id,
                r.tm,
                r.addr,
                r.ua,
                r.app,
                r.ses,
                r.user_id,
                r.ac,
                r.t,
                r.retval,
                r.req,
                r.res,
                r.reqsz,
                r.ressz,
                r.ver,
                r.server_rev
            ])?;
        }
        let mut st =
            tx.prepare_cached("INSERT INTO ApiLog1 (id, apiLogId, ac, t, retval, req, res) VALUES (?,?,?,?,?,?,?)")?;
        for r in rows1 {
            st.execute(rusqlite::params![r.id, r.api_log_id, r.ac, r.t, r.retval, r.req, r.res])?;
        }
    }
    tx.commit()
}

/// Truncates to at most `n` characters (on a char boundary), marking the cut.
pub fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
