//! The writer: one thread that owns the write connection and commits writing calls in groups.
//!
//! SQLite has one writer at a time, and in WAL mode each commit appends every page the transaction
//! touched (table, indexes, `sqlite_sequence`) to the log. Committing each call on its own therefore
//! writes the same hot pages again and again. Instead, the writer takes every job that is queued,
//! runs each inside its own SAVEPOINT (a failing job rolls back to it, so each call stays
//! all-or-nothing), writes the queued ApiLog rows in the same transaction, commits once, and only
//! then tells each job how the commit went. A caller never hears "ok" before its data is committed.
//!
//! Jobs run one after another on this thread, so a job should do its slow preparation (decoding an
//! upload, hashing) before it is submitted.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::conn::{Conn, OwnedConn};

use crate::error::{ApiError, ApiResult};
use crate::log::apilog::{ApiLog1Row, ApiLogRow};

/// What a job leaves behind: whether to keep its writes, and what to do once the commit is decided.
pub struct JobDone {
    /// False rolls the job back to its savepoint; the rest of the group is unaffected.
    pub keep: bool,
    /// Writes to make right after the savepoint is settled, whatever `keep` was (still inside the
    /// group transaction): facts that must outlive a failed call, such as a wrong code counting a try.
    pub then: Option<Then>,
    /// Called with the outcome of the group's COMMIT (always called, exactly once).
    pub finish: Box<dyn FnOnce(ApiResult<()>) + Send>,
}

impl JobDone {
    /// Keep the writes; nothing to do after the commit (fire-and-forget jobs).
    pub fn kept() -> JobDone {
        JobDone { keep: true, then: None, finish: Box::new(|_| {}) }
    }
}

/// A unit of work run inside the group transaction.
pub type Job = Box<dyn FnOnce(Conn) -> JobDone + Send>;

/// Writes run right after a job's savepoint is settled.
pub type Then = Box<dyn FnOnce(Conn) + Send>;

enum Msg {
    Job(Job),
    /// Log rows are waiting in the buffer (sent only when the buffer goes from empty to not empty).
    LogsWaiting,
    /// Write everything queued so far, then signal.
    Flush(SyncSender<()>),
}

/// ApiLog and ApiLog1 rows waiting for the next group commit.
///
/// Rows are not sent through the job channel: a message per row woke this thread once per call (a
/// read call included), and on two cores those wake-ups cost more than the calls. The first row into
/// an empty buffer wakes the writer, which waits `LINGER` for company and takes the whole buffer
/// with its next commit; rows logged meanwhile only take a lock.
#[derive(Default)]
struct LogBuf {
    rows: Vec<ApiLogRow>,
    rows1: Vec<ApiLog1Row>,
}

impl LogBuf {
    fn len(&self) -> usize {
        self.rows.len() + self.rows1.len()
    }
}

/// Jobs per group at most: bounds the latency a group adds to its first job.
const MAX_GROUP: usize = 256;
/// Log rows per transaction at most.
const MAX_LOG_ROWS: usize = 4000;
/// How long a log row may wait for company before the writer commits it alone.
const LINGER: Duration = Duration::from_millis(20);

/// Handle to the writer thread.
pub struct Writer {
    tx: Mutex<Option<SyncSender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    logs: Arc<Mutex<LogBuf>>,
}

impl Writer {
    /// Starts the writer on `conn` (already tuned for writing), starting the WAL over when the
    /// checkpointer sets `restart_due` (see [`run`]).
    pub fn start(conn: OwnedConn, restart_due: Arc<AtomicBool>) -> ApiResult<Writer> {
        Self::start_on(conn, Vec::new(), Some(restart_due))
    }

    /// Starts the writer on `conn`, with `workers` (PostgreSQL sessions) running its jobs side by side:
    /// each job commits on its own there (see [`commit_group`]), so one session would wait for one
    /// commit after another, while several let the server flush their commits together. PostgreSQL
    /// needs at least one worker; SQLite takes none.
    pub fn start_with(conn: OwnedConn, workers: Vec<OwnedConn>) -> ApiResult<Writer> {
        Self::start_on(conn, workers, None)
    }

    fn start_on(conn: OwnedConn, workers: Vec<OwnedConn>, restart_due: Option<Arc<AtomicBool>>) -> ApiResult<Writer> {
        if matches!(conn, OwnedConn::Pg(_)) == workers.is_empty() {
            return Err(ApiError::server("a PostgreSQL writer runs its jobs on workers, a SQLite one on its own"));
        }
        // A bounded queue: when the disk cannot keep up, callers wait instead of memory growing.
        let (tx, rx) = sync_channel::<Msg>(8192);
        let logs = Arc::new(Mutex::new(LogBuf::default()));
        let buf = logs.clone();
        let pool = if workers.is_empty() { None } else { Some(Workers::start(workers)?) };
        let thread = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || run(conn, rx, buf, pool, restart_due))
            .map_err(|e| ApiError::server(format!("start writer: {e}")))?;
        Ok(Writer { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)), logs })
    }

    /// Adds a row to the log buffer; wakes the writer if the buffer was empty or is full.
    fn buffer(&self, add: impl FnOnce(&mut LogBuf)) -> bool {
        let (was_empty, full) = {
            let mut b = self.logs.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = b.len() == 0;
            add(&mut b);
            (was_empty, b.len() >= MAX_LOG_ROWS)
        };
        match self.sender() {
            // A full queue means the writer is awake and will take the buffer with its next commit.
            Some(tx) if was_empty || full => {
                let _ = tx.try_send(Msg::LogsWaiting);
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    fn sender(&self) -> Option<SyncSender<Msg>> {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn send(&self, m: Msg) -> bool {
        match self.sender() {
            Some(tx) => tx.send(m).is_ok(),
            None => false,
        }
    }

    /// True while the writer takes jobs (false once shutdown began).
    pub fn is_running(&self) -> bool {
        self.sender().is_some()
    }

    /// Queues a job. Returns false (and drops the job unrun) if the writer has stopped.
    pub fn submit(&self, job: Job) -> bool {
        self.send(Msg::Job(job))
    }

    /// Runs `f` as one job (its own savepoint, kept if it succeeds) and waits for the group's commit:
    /// the background tasks' way of writing, like a call. Blocks the calling thread.
    pub fn run<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(Conn) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn: Conn| {
            let r = f(conn);
            JobDone {
                keep: r.is_ok(),
                then: None,
                finish: Box::new(move |commit| {
                    let _ = tx.send(commit.and(r));
                }),
            }
        });
        if !self.submit(job) {
            return Err(ApiError::server("the writer has stopped"));
        }
        rx.recv().map_err(|_| ApiError::server(format!("{what}: the job was lost")))?
    }

    /// Queues a job only if that needs no waiting (housekeeping that may be skipped and redone later).
    pub fn try_submit(&self, job: Job) -> bool {
        self.sender().is_some_and(|tx| tx.try_send(Msg::Job(job)).is_ok())
    }

    /// Queues an ApiLog row for the next group commit (never waits for the writer).
    pub fn log(&self, row: ApiLogRow) {
        if !self.buffer(|b| b.rows.push(row)) {
            log::error!("writer stopped: ApiLog row dropped");
        }
    }

    /// Queues an ApiLog1 row.
    pub fn log1(&self, row: ApiLog1Row) {
        if !self.buffer(|b| b.rows1.push(row)) {
            log::error!("writer stopped: ApiLog1 row dropped");
        }
    }

    /// Waits until everything queued before this call is committed.
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        if self.send(Msg::Flush(tx)) {
            let _ = rx.recv_timeout(Duration::from_secs(30));
        }
    }

    /// Stops accepting work, finishes what is queued, and joins the thread.
    pub fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Work collected for one group.
#[derive(Default)]
struct Group {
    jobs: Vec<Job>,
    /// Log rows are waiting in the shared buffer.
    logs_waiting: bool,
    waiters: Vec<SyncSender<()>>,
}

impl Group {
    fn take(&mut self, m: Msg) {
        match m {
            Msg::Job(j) => self.jobs.push(j),
            Msg::LogsWaiting => self.logs_waiting = true,
            Msg::Flush(w) => self.waiters.push(w),
        }
    }

    fn full(&self) -> bool {
        self.jobs.len() >= MAX_GROUP
    }
}

/// Threads that each own a connection and run one job at a time, in its own transaction (PostgreSQL).
struct Workers {
    tx: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
    /// Jobs handed out and not finished yet, to tell a flush when everything before it is committed.
    busy: Arc<(Mutex<usize>, std::sync::Condvar)>,
}

impl Workers {
    fn start(conns: Vec<OwnedConn>) -> ApiResult<Workers> {
        let (tx, rx) = sync_channel::<Job>(conns.len() * 4);
        let rx = Arc::new(Mutex::new(rx));
        let busy = Arc::new((Mutex::new(0usize), std::sync::Condvar::new()));
        let mut threads = Vec::new();
        for (i, owned) in conns.into_iter().enumerate() {
            let (rx, busy) = (rx.clone(), busy.clone());
            let t = std::thread::Builder::new()
                .name(format!("writer-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(job) = job else { return };
                    commit_group(owned.conn(), vec![job], LogBuf::default());
                    let (n, cv) = &*busy;
                    *n.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
                    cv.notify_all();
                })
                .map_err(|e| ApiError::server(format!("start writer worker: {e}")))?;
            threads.push(t);
        }
        Ok(Workers { tx: Some(tx), threads, busy })
    }

    /// Hands a job to the next free worker (waiting while all are busy and the queue is full).
    fn run(&self, job: Job) {
        *self.busy.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        // Fails only once the workers are gone: the job is dropped unrun, and its caller hears it was lost.
        if self.tx.as_ref().is_none_or(|tx| tx.send(job).is_err()) {
            *self.busy.0.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        }
    }

    /// Waits until every job handed out so far is finished.
    fn wait_idle(&self) {
        let (n, cv) = &*self.busy;
        let mut g = n.lock().unwrap_or_else(|p| p.into_inner());
        while *g > 0 {
            g = cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn stop(mut self) {
        self.wait_idle();
        self.tx.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn run(
    owned: OwnedConn,
    rx: Receiver<Msg>,
    logs: Arc<Mutex<LogBuf>>,
    workers: Option<Workers>,
    restart_due: Option<Arc<AtomicBool>>,
) {
    let conn = owned.conn();
    let mut g = Group::default();
    let mut log_deadline: Option<Instant> = None;
    let take_logs = || std::mem::take(&mut *logs.lock().unwrap_or_else(|p| p.into_inner()));
    loop {
        // Wait for work: without a deadline block, else wait until log rows are due.
        let first = match log_deadline {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
        };
        let closed = match first {
            Ok(m) => {
                g.take(m);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        // Take whatever else is already queued: that is the group.
        while !g.full() {
            match rx.try_recv() {
                Ok(m) => g.take(m),
                Err(_) => break,
            }
        }
        if g.logs_waiting && log_deadline.is_none() {
            log_deadline = Some(Instant::now() + LINGER);
        }
        // Due at the end of the linger, or at once when the buffer is full (a burst of calls).
        let logs_due = log_deadline.is_some_and(|d| Instant::now() >= d)
            || (g.logs_waiting && logs.lock().unwrap_or_else(|p| p.into_inner()).len() >= MAX_LOG_ROWS);
        if !g.jobs.is_empty() || logs_due || closed || !g.waiters.is_empty() {
            let buf = take_logs();
            if let Some(w) = &workers {
                for job in g.jobs.drain(..) {
                    w.run(job);
                }
                if !g.waiters.is_empty() || closed {
                    w.wait_idle();
                }
            }
            if !g.jobs.is_empty() || buf.len() > 0 {
                commit_group(conn, std::mem::take(&mut g.jobs), buf);
            }
            g.logs_waiting = false;
            log_deadline = None;
            // The checkpointer copies the log back while this thread writes, so under a steady write
            // load it never quite catches up, the log is never restarted and grows by the megabyte
            // per second (each append extending the file): the log only starts over when a
            // transaction begins with every frame copied back. So once the log is long enough, the
            // checkpointer copies it to its end and raises `restart_due`, and here, between two
            // groups, a PASSIVE checkpoint copies the group or two committed since; the next
            // transaction then starts the log over from its beginning. The answers of the group are
            // already sent; only the next group waits, for the copy and its two fsyncs (10-25 ms on
            // a busy 2-core machine), which is why it happens only every `RESTART_FRAMES` of log
            // (db/mod.rs) and not, as at first, every 200 ms.
            if let (Conn::Sqlite(c), Some(due)) = (conn, &restart_due) {
                if due.load(Relaxed) {
                    if let Err(e) = super::checkpoint_passive(c) {
                        log::debug!("writer checkpoint: {e}");
                    }
                    due.store(false, Relaxed);
                }
            }
        }
        if g.jobs.is_empty() {
            for w in g.waiters.drain(..) {
                let _ = w.send(());
            }
        }
        if closed {
            if let Some(w) = workers {
                w.stop();
            }
            let buf = take_logs();
            if buf.len() > 0 {
                commit_group(conn, Vec::new(), buf);
            }
            return;
        }
    }
}

/// Runs `jobs` and log rows in one transaction and reports its outcome to every job.
///
/// On SQLite the writer commits the whole group so: the file has one writer anyway, and one commit per
/// group saves writing the same pages again for every call. On PostgreSQL the jobs never reach the
/// writer's own session: each is committed alone by a worker ([`Workers`]), since a group transaction
/// holds the row locks of all its jobs until the end, and two processes' groups took the same seats in
/// opposite orders and deadlocked. Only the log rows are committed here, in one transaction.
fn commit_group(conn: Conn, jobs: Vec<Job>, buf: LogBuf) {
    let (logs, logs1) = (buf.rows, buf.rows1);
    let mut finishes = Vec::with_capacity(jobs.len());
    let outcome = (|| -> ApiResult<()> {
        // SQLite: take the write lock now, not at the first write (a reader's snapshot cannot upgrade).
        cached(conn, if matches!(conn, Conn::Sqlite(_)) { "BEGIN IMMEDIATE" } else { "BEGIN" })?;
        for job in jobs {
            cached(conn, "SAVEPOINT call")?;
            let done = catch_unwind(AssertUnwindSafe(|| job(conn)));
            let done = done.unwrap_or_else(|_| JobDone {
                keep: false,
                then: None,
                finish: Box::new(|_| log::error!("a write job panicked; it was rolled back")),
            });
            if done.keep {
                cached(conn, "RELEASE call")?;
            } else {
                cached(conn, "ROLLBACK TO call")?;
                cached(conn, "RELEASE call")?;
            }
            if let Some(then) = done.then {
                if catch_unwind(AssertUnwindSafe(|| then(conn))).is_err() {
                    log::error!("a job's follow-up write panicked");
                }
            }
            finishes.push(done.finish);
        }
        let n = logs.len() + logs1.len();
        if let Err(e) = crate::log::apilog::insert(conn, logs, logs1) {
            // Log rows must never cost a call its data: report and carry on with the commit.
            log::error!("apilog: writing {n} rows failed: {e}");
        }
        cached(conn, "COMMIT")?;
        Ok(())
    })();
    if outcome.is_err() {
        // The transaction may be open still (a failed savepoint statement) or already gone (a failed
        // COMMIT); a ROLLBACK without one is refused harmlessly.
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = &outcome {
        log::error!("group commit failed: {e}");
    }
    for f in finishes {
        f(outcome.clone());
    }
}

/// Runs a fixed statement through the connection's statement cache (no parsing per group or call).
pub fn cached(conn: Conn, sql: &str) -> ApiResult<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}
