//! Database access: a pool of read connections and one write connection.
//!
//! SQLite allows one writer at a time. Rather than let many connections race for the write lock and
//! poll on `SQLITE_BUSY`, one thread owns the write connection (`writer`) and runs every writing call,
//! and the ApiLog rows, as jobs committed in groups: writes never fail for contention.
//! Read-only calls use pooled connections opened with `query_only`, so a read path that tries to write
//! fails loudly instead of racing the writer. WAL mode lets readers run beside the writer.
//!
//! Everything SQLite-specific about SQL text lives in `dialect`; this file holds the SQLite connection
//! setup. A server database (MySQL/Postgres) would bring its own `Db` constructor and `Dialect`.

pub mod conn;
pub mod dialect;
pub mod postgres;
pub mod writer;

use std::path::Path;
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::{ToSqlOutput, Value as SqlV, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;
use conn::{Conn, OwnedConn};
use writer::Writer;

/// The writer's PostgreSQL session, handed to [`Db::open_pg`].
pub type PgConnBox = Box<conn::PgConn>;

/// A pooled read connection; [`ReadConn::conn`] lends it for a call.
pub enum ReadConn {
    Sqlite(r2d2::PooledConnection<SqliteConnectionManager>),
    /// A runtime thread's own connection ([`Db::read_kept`]), back to the thread when dropped.
    Kept(Option<Kept>),
    Pg(Box<r2d2::PooledConnection<postgres::Manager>>),
}

impl ReadConn {
    pub fn conn(&self) -> Conn<'_> {
        match self {
            ReadConn::Sqlite(c) => Conn::Sqlite(c),
            ReadConn::Kept(k) => Conn::Sqlite(&k.as_ref().expect("a kept connection until dropped").conn),
            ReadConn::Pg(c) => Conn::Pg(c),
        }
    }
}

impl Drop for ReadConn {
    fn drop(&mut self) {
        if let ReadConn::Kept(k) = self {
            if let Some(k) = k.take() {
                // Back to this thread for its next read; should the slot be taken (a read inside a
                // read), this one goes back to the pool instead.
                KEPT.with(|slot| {
                    let mut slot = slot.borrow_mut();
                    if slot.is_none() {
                        *slot = Some(k);
                    }
                })
            }
        }
    }
}

/// A read connection a runtime thread keeps between its calls: taken from the pool once, it spares each
/// read the pool's lock, its clock reads and the check-out (about 850 instructions, and a lock both
/// runtime threads shared). At most [`KeptReaders`]' quota of them exist per database, each counted back
/// when its thread ends.
pub struct Kept {
    db: u64,
    conn: r2d2::PooledConnection<SqliteConnectionManager>,
    quota: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.quota.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

thread_local! {
    /// This thread's kept read connection, if it has one.
    static KEPT: std::cell::RefCell<Option<Kept>> = const { std::cell::RefCell::new(None) };
}

/// The quota of kept read connections of one SQLite database: the pool holds `P_DB_POOL` connections more
/// than the quota, so that what the runtime threads keep is never missing from the blocking pool's reads.
struct KeptReaders {
    /// Tells this database's kept connections from another's (tests run many servers in one process).
    id: u64,
    /// Connections that may be kept, and that may still be.
    quota: usize,
    left: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// The runtime's threads, as tokio counts them by default (one per core): the quota of kept read
/// connections.
fn runtime_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).min(16)
}

impl KeptReaders {
    fn new(quota: usize) -> KeptReaders {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        KeptReaders {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            quota,
            left: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(quota)),
        }
    }
}

enum Readers {
    Sqlite(r2d2::Pool<SqliteConnectionManager>, KeptReaders),
    Pg(r2d2::Pool<postgres::Manager>),
}

/// The database of one server.
pub struct Db {
    readers: Readers,
    writer: Writer,
    /// SQLite only: the WAL is copied back by its own thread.
    checkpointer: Option<Checkpointer>,
}

/// Per-connection settings shared by readers and the writer.
/// `cache_kb` is the page cache of this connection: every connection has its own, so readers get a
/// small one (the OS page cache is shared by all) and the writer a larger one.
fn tune(conn: &Connection, cache_kb: u32) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(256);
    // NORMAL is durable across application crashes in WAL mode; only an OS crash or power loss can
    // lose the last transactions. That is the usual trade for a WAL SQLite server.
    conn.execute_batch(&format!("PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-{cache_kb};"))
}

impl Db {
    /// Opens (creating if needed) the database file in WAL mode with `readers` pooled read connections.
    /// `prepare` runs on the write connection before the writer starts (schema upgrade, bootstrap data).
    pub fn open(path: &Path, readers: u32, prepare: impl FnOnce(&mut Connection) -> ApiResult<()>) -> ApiResult<Db> {
        Self::open_restarting(path, readers, prepare, Restart { frames: RESTART_FRAMES, every: RESTART_EVERY })
    }

    /// [`Db::open`] with the log started over as `restart` says (tests use a small one).
    fn open_restarting(
        path: &Path,
        readers: u32,
        prepare: impl FnOnce(&mut Connection) -> ApiResult<()>,
        restart: Restart,
    ) -> ApiResult<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ApiError::server(format!("create {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        tune(&conn, 4096)?;
        // Except the writer's temporary files: each call's SAVEPOINT copies every page it changes into
        // a sub-journal, which with temp_store=MEMORY is a list of 1 KiB chunks (five mallocs and
        // frees a page, every call). With FILE it is a 64 KiB buffer in memory that only a call
        // changing more than that spills to a temporary file.
        conn.execute_batch("PRAGMA temp_store=FILE;")?;
        prepare(&mut conn)?;
        // Checkpoints run on their own thread (below), never inside the writer's commit.
        conn.execute_batch(&format!("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT};"))?;
        let checkpointer = Checkpointer::start(path, restart)?;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
            .with_init(|c| {
                tune(c, 512)?;
                // In WAL mode a reader's page cache is reset whenever another connection has committed,
                // which under steady writes (every call logs) is before nearly every read. Mapping the
                // file turns those re-reads into memory reads instead of a pread per page; only pages
                // actually read count towards RSS.
                c.execute_batch("PRAGMA query_only=1; PRAGMA mmap_size=1073741824;")
            });
        // One more per runtime thread, which it may keep (`read_kept`).
        let kept = runtime_threads();
        let pool = r2d2::Pool::builder()
            .max_size(readers + kept as u32)
            // A local file connection does not go stale; the check cost a statement per call.
            .test_on_check_out(false)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        Ok(Db {
            readers: Readers::Sqlite(pool, KeptReaders::new(kept)),
            writer: Writer::start(OwnedConn::Sqlite(conn), checkpointer.restart_due.clone())?,
            checkpointer: Some(checkpointer),
        })
    }

    /// A PostgreSQL database: `writer` (connected, the schema upgraded and the bootstrap data loaded
    /// by the caller) becomes the writer's session (log rows), `readers` read-only sessions are pooled,
    /// and as many more run the writing calls side by side.
    pub fn open_pg(
        url: &str,
        readers: u32,
        names: std::sync::Arc<postgres::Names>,
        writer: PgConnBox,
    ) -> ApiResult<Db> {
        let pool = r2d2::Pool::builder()
            .max_size(readers)
            // Not checked when taken: a ping per call was a round trip per call (initClient included). A
            // session the server dropped fails its call and is then discarded (`has_broken`).
            .test_on_check_out(false)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(postgres::Manager::new(url, names.clone()))?;
        // As many write sessions as read ones: each runs one call at a time, in its own transaction.
        let workers = (0..readers)
            .map(|_| {
                let c = postgres::connect(url).map_err(ApiError::server)?;
                Ok(OwnedConn::Pg(Box::new(conn::PgConn::new(c, names.clone()))))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(Db {
            readers: Readers::Pg(pool),
            writer: Writer::start_with(OwnedConn::Pg(writer), workers)?,
            checkpointer: None,
        })
    }

    /// True when this is a PostgreSQL database (calls then run on the blocking pool: the client blocks).
    pub fn is_pg(&self) -> bool {
        matches!(self.readers, Readers::Pg(_))
    }

    /// A read-only connection from the pool.
    pub fn read(&self) -> ApiResult<ReadConn> {
        Ok(match &self.readers {
            Readers::Sqlite(p, _) => ReadConn::Sqlite(p.get()?),
            Readers::Pg(p) => ReadConn::Pg(Box::new(p.get()?)),
        })
    }

    /// A read-only connection for a call on a runtime thread: the thread's own, kept from its earlier
    /// reads, or one from the pool that the thread then keeps while the quota allows. Only for the
    /// runtime's threads (one per core): a thread of the blocking pool, of which there may be many, uses
    /// [`Db::read`].
    pub fn read_kept(&self) -> ApiResult<ReadConn> {
        let Readers::Sqlite(pool, kept) = &self.readers else { return self.read() };
        if let Some(k) = KEPT.with(|slot| slot.borrow_mut().take()) {
            if k.db == kept.id {
                return Ok(ReadConn::Kept(Some(k)));
            }
            // Another database's (a server gone, in tests): back to its pool.
        }
        let conn = pool.get()?;
        let take = |n: usize| n.checked_sub(1);
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        Ok(match kept.left.fetch_update(relaxed, relaxed, take) {
            Ok(_) => ReadConn::Kept(Some(Kept { db: kept.id, conn, quota: kept.left.clone() })),
            Err(_) => ReadConn::Sqlite(conn),
        })
    }

    /// How many read connections runtime threads keep now (tests).
    pub fn kept_readers(&self) -> usize {
        match &self.readers {
            Readers::Sqlite(_, kept) => kept.quota.saturating_sub(kept.left.load(std::sync::atomic::Ordering::Relaxed)),
            Readers::Pg(_) => 0,
        }
    }

    /// The writer: every write goes through its jobs.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// How many checkpoints the checkpointer thread has run (SQLite; 0 on PostgreSQL).
    pub fn checkpoints_run(&self) -> u64 {
        self.checkpointer.as_ref().map_or(0, |c| c.runs.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Stops the writer (finishing queued work) and the checkpointer, leaving the WAL checkpointed.
    pub fn shutdown(&self) {
        self.writer.shutdown();
        if let Some(c) = &self.checkpointer {
            c.stop();
        }
    }
}

/// Copies committed pages from the WAL back into the database file, on its own connection.
///
/// SQLite's automatic checkpoint runs inside the committing connection, which here is the writer: each
/// one stalled every queued write while pages were copied and the file synced. PASSIVE checkpoints
/// from another connection never wait for the writer or readers; the WAL restarts from its beginning
/// by itself once a checkpoint has caught up and no reader still uses the old frames; under a steady
/// write load that moment only comes when the writer finishes the copy between two groups. This
/// thread runs every 20 ms to leave it little to do, and once the log holds [`RESTART_FRAMES`] it
/// hands over: having copied everything, it raises `restart_due` and waits while the writer copies
/// the last group or two and starts the log over (`writer::run`).
///
/// A server with nothing to write does nothing here: `PRAGMA data_version` (one read of the WAL
/// index, from the statement cache) tells whether any connection, in this process or another, has
/// committed since the last look, and the checkpoint only runs if one has or the last one could not
/// copy everything. Before, an idle server prepared and ran a checkpoint 50 times a second (its
/// prepare re-read the schema each time).
struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Checkpoints run so far (tests, and anyone asking whether the thread is alive).
    runs: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Set when a checkpoint has copied a log of [`RESTART_FRAMES`] or more to its end: the writer's
    /// cue to start it over (see `writer::run`).
    restart_due: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How often the checkpointer looks for committed frames.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

/// The log frames (pages) from which the log is started over: 32,768 pages of 4 KiB, 128 MB.
///
/// Starting the log over stalls the writer for two fsyncs (see `writer::run`), 10-25 ms under a steady
/// write load on a 2-core virtual machine, and every call in flight waits for them: under `Ordr.add` at
/// 64 connections the log grows by about 60 MB a second, and a restart every 200 ms (the first rule) or
/// at 32 MB put the stall into the slowest 1% of calls (p99 17-23 ms); at 128 MB, a restart every two
/// seconds, p99 is 9 ms. The price is a longer log on disk, which costs reads nothing while the
/// checkpointer keeps up (a reader looks only at frames not yet copied back).
const RESTART_FRAMES: i64 = 32768;

/// What a restarted log file is cut back to: above the restart size, so the file is reused rather than
/// cut and extended again at every restart.
const JOURNAL_SIZE_LIMIT: i64 = 160 << 20;

/// When the checkpointer hands over to the writer to start the log over: at `frames` in the log, at
/// most once every `every`.
#[derive(Clone, Copy)]
struct Restart {
    frames: i64,
    every: Duration,
}

/// How long the checkpointer waits for the writer to start the log over before it goes on copying.
const RESTART_WAIT_MS: u32 = 100;

/// How often at most the checkpointer hands over to the writer: a restart that fails (a reader still
/// in the old frames) is tried again after this, not at every checkpoint.
const RESTART_EVERY: Duration = Duration::from_secs(1);

/// A PASSIVE checkpoint on `conn`: whether it copied every frame of the log (none left behind by
/// a reader or a writer that was busy), and how many frames the log holds.
fn checkpoint_passive(conn: &Connection) -> rusqlite::Result<(bool, i64)> {
    let mut st = conn.prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")?;
    // (busy, frames in the log, frames checkpointed); -1 frames when the file is not in WAL mode.
    let (busy, log, done) =
        st.query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
    Ok((busy == 0 && log == done, log))
}

/// The connection's `PRAGMA data_version`: changes when another connection has committed.
fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))
}

impl Checkpointer {
    fn start(path: &Path, restart: Restart) -> ApiResult<Checkpointer> {
        use std::sync::atomic::Ordering::Relaxed;
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_millis(100))?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let restart_due = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, count, due) = (stop.clone(), runs.clone(), restart_due.clone());
        let thread = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || {
                // Unknown at start: the log may hold frames of an earlier run.
                let (mut seen, mut caught_up) = (None, false);
                let mut handed_over = Instant::now();
                while !flag.load(Relaxed) {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    // Read before the checkpoint: a commit after this line shows at the next look.
                    let version = data_version(&conn).ok();
                    if caught_up && version.is_some() && version == seen {
                        continue;
                    }
                    seen = version;
                    count.fetch_add(1, Relaxed);
                    caught_up = match checkpoint_passive(&conn) {
                        Ok((all, log)) => {
                            if all && log >= restart.frames && handed_over.elapsed() >= restart.every {
                                handed_over = Instant::now();
                                // Hand over to the writer while the disk is quiet, and copy nothing
                                // until it has started the log over (or let the moment pass).
                                due.store(true, Relaxed);
                                for _ in 0..RESTART_WAIT_MS {
                                    if !due.load(Relaxed) || flag.load(Relaxed) {
                                        break;
                                    }
                                    std::thread::sleep(Duration::from_millis(1));
                                }
                                due.store(false, Relaxed);
                            }
                            all
                        }
                        Err(e) => {
                            log::warn!("checkpoint: {e}");
                            false
                        }
                    };
                }
                // Last one at shutdown: nothing writes any more, so fold the whole log back.
                let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
            })
            .map_err(|e| ApiError::server(format!("start checkpointer: {e}")))?;
        Ok(Checkpointer { stop, runs, restart_due, thread: std::sync::Mutex::new(Some(thread)) })
    }

    fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            SqlValue::Null => ToSqlOutput::Owned(SqlV::Null),
            SqlValue::Int(i) => ToSqlOutput::Owned(SqlV::Integer(*i)),
            SqlValue::Real(f) => ToSqlOutput::Owned(SqlV::Real(*f)),
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(SqlValue::Null)
    }
}

/// `YYYY-MM-DD HH:MM:SS`: the one text form of a datetime, in the database and in answers.
///
/// Written digit by digit: chrono's `format` parses its pattern on every call, which showed in the
/// writer's profile under `Ordr.add` (about 1% of the server's time) and costs every datetime value
/// read from PostgreSQL. Years outside 0..=9999 (which the form cannot hold) go through chrono.
pub fn datetime_text(t: &chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let y = t.year();
    if !(0..=9999).contains(&y) {
        return t.format("%Y-%m-%d %H:%M:%S").to_string();
    }
    let mut b = *b"0000-00-00 00:00:00";
    let mut put = |at: usize, v: u32, n: usize| {
        let mut v = v;
        for i in (0..n).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    b.iter().map(|&c| c as char).collect()
}

/// Local time as the protocol prints it: `YYYY-MM-DD HH:MM:SS`.
///
/// Every call logs its time, so the text is made once per second per thread rather than formatted
/// (with a time-zone conversion) every time.
pub fn now_str() -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.0 != secs {
            *l = (secs, datetime_text(&chrono::Local::now().naive_local()));
        }
        l.1.clone()
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use chrono::{Duration, NaiveDate};

    /// Polls `f` every 10 ms for up to 10 s.
    fn eventually(what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + std::time::Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < end, "{what}: not within 10 s");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn the_writer_keeps_savepoint_journals_in_a_spilling_buffer_and_readers_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::Db::open(&dir.path().join("t.db"), 1, |_| Ok(())).unwrap();
        let temp_store = |c: super::Conn| c.query_row("PRAGMA temp_store", [], |r| r.get::<i64>(0));
        // 1 = FILE: sub-journals are 64 KiB memory chunks that spill to a file; 2 = MEMORY: 1 KiB chunks.
        assert_eq!(db.writer().run("test", temp_store).unwrap(), 1);
        let reader = db.read().unwrap();
        assert_eq!(temp_store(reader.conn()).unwrap(), 2);
        drop(reader);
        db.shutdown();
    }

    #[test]
    fn a_runtime_thread_keeps_its_read_connection_and_gives_it_back_when_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let a = super::Db::open(&dir.path().join("a.db"), 1, |c| Ok(c.execute_batch("CREATE TABLE A (x)")?)).unwrap();
        let b = super::Db::open(&dir.path().join("b.db"), 1, |c| Ok(c.execute_batch("CREATE TABLE B (x)")?)).unwrap();
        // A connection's own setting tells it from another (its address moves with its holder).
        let mark = |r: &super::ReadConn, kb: i64| r.conn().execute_batch(&format!("PRAGMA cache_size=-{kb}")).unwrap();
        let marked = |r: &super::ReadConn| r.conn().query_row("PRAGMA cache_size", [], |r| r.get::<i64>(0)).unwrap();
        let has = |r: &super::ReadConn, t: &str| {
            r.conn().query_row("SELECT COUNT(*) FROM sqlite_master WHERE name=?", [t], |r| r.get::<i64>(0)).unwrap()
                == 1
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                let first = a.read_kept().unwrap();
                assert_eq!(a.kept_readers(), 1);
                mark(&first, 1234);
                drop(first);
                assert_eq!(a.kept_readers(), 1, "kept by the thread between calls");
                let again = a.read_kept().unwrap();
                assert_eq!(marked(&again), -1234, "the same connection, not one from the pool");
                // A read inside a read takes another connection, which the slot then keeps.
                let inner = a.read_kept().unwrap();
                assert_ne!(marked(&inner), -1234);
                drop(inner);
                drop(again);
                assert!(a.kept_readers() <= 2);
                // Another database's read on the same thread is that database's, whatever the slot holds.
                let other = b.read_kept().unwrap();
                assert!(has(&other, "B") && !has(&other, "A"), "b's connection, not a's kept one");
                drop(other);
                assert!(has(&a.read_kept().unwrap(), "A"));
            });
        });
        // A thread's locals are dropped as it exits, just after `scope` saw it finish.
        eventually("the thread ended: its connections are back in the pool", || a.kept_readers() == 0);
        assert_eq!(b.kept_readers(), 0);
        // The pool holds P_DB_POOL connections besides those the runtime threads may keep: with every
        // kept one taken, plain reads still get theirs.
        let quota = super::runtime_threads();
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
            let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
            for _ in 0..quota {
                let (rx, ready_tx, a) = (rx.clone(), ready_tx.clone(), &a);
                s.spawn(move || {
                    let held = a.read_kept().unwrap();
                    ready_tx.send(()).unwrap();
                    let _ = rx.lock().unwrap().recv();
                    drop(held);
                });
            }
            drop(ready_tx);
            for _ in 0..quota {
                ready_rx.recv().expect("each thread holds a kept connection");
            }
            assert_eq!(a.kept_readers(), quota);
            let plain = a.read().unwrap();
            assert!(has(&plain, "A"), "a plain read still has the pool's connection");
            drop(plain);
            drop(tx);
        });
        a.shutdown();
        b.shutdown();
    }

    #[test]
    fn the_checkpointer_runs_after_commits_and_not_while_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let db = super::Db::open(&path, 1, |c| Ok(c.execute_batch("CREATE TABLE t (x)")?)).unwrap();
        let write = |x: i64| {
            db.writer()
                .run("test", move |c| {
                    c.execute("INSERT INTO t (x) VALUES (?)", &vec![crate::query::SqlValue::Int(x)]).map(|_| ())
                })
                .unwrap()
        };
        write(1);
        eventually("the first commit is checkpointed", || db.checkpoints_run() > 0);
        // Settled: the runs stop once the log is copied and nothing new is committed.
        let mut last = db.checkpoints_run();
        eventually("the checkpointer goes quiet", || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = db.checkpoints_run();
            std::mem::replace(&mut last, now) == now
        });
        let idle = db.checkpoints_run();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(db.checkpoints_run(), idle, "an idle server ran checkpoints (every 20 ms is 15 in 300 ms)");
        write(2);
        eventually("a new commit is checkpointed", || db.checkpoints_run() > idle);
        db.shutdown();
        let n: i64 =
            rusqlite::Connection::open(&path).unwrap().query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn under_steady_writes_the_log_starts_over_at_its_restart_size_instead_of_growing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        // Started over from 64 frames (256 KiB) on, at every checkpoint (20 ms) that finds them copied.
        // Not every 50 ms, as at first: the file's size is then what is written in three checkpoint
        // periods or more (4-5 MB at 60 MB/s of log), and on a loaded CI machine twice that.
        let restart = super::Restart { frames: 64, every: std::time::Duration::from_millis(1) };
        let create = |c: &mut rusqlite::Connection| Ok(c.execute_batch("CREATE TABLE t (x)")?);
        let db = super::Db::open_restarting(&path, 1, create, restart).unwrap();
        let wal = dir.path().join("w.db-wal");
        let blob = crate::query::SqlValue::Text("x".repeat(4000));
        // 3,000 commits of a 4 KB row, one after another with a pause every ten (the checkpointer's
        // turn): three log frames a commit, about 37 MB of log in all.
        for i in 0..3000 {
            let v = vec![blob.clone()];
            db.writer().run("test", move |c| c.execute("INSERT INTO t (x) VALUES (?)", &v).map(|_| ())).unwrap();
            if i % 10 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        let size = std::fs::metadata(&wal).unwrap().len();
        // Without the writer's part of a restart the file holds every frame (37.6 MB here); with it,
        // what is written between two restarts (1.6-3 MB on a 2-core machine, with or without three
        // busy loops beside the whole unit suite), so the bound is a third of the whole and leaves room for a few missed checkpoints.
        assert!(size < 12 << 20, "the log file grew to {size} bytes");
        db.shutdown();
        let n: i64 =
            rusqlite::Connection::open(&path).unwrap().query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 3000, "every commit is in the database");
    }

    #[test]
    fn datetime_text_is_what_chrono_writes_for_every_field_width() {
        let base = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        // Every month and day, hours, minutes and seconds of one and two digits, leap days, and the
        // years at both ends of four digits.
        let mut times: Vec<_> = (0..800).map(|i| base + Duration::seconds(i * 39_719 + i * i)).collect();
        for (y, m, d, h, mi, s) in
            [(2024, 2, 29, 23, 59, 59), (1, 1, 1, 0, 0, 0), (999, 12, 31, 9, 5, 7), (9999, 12, 31, 23, 59, 59)]
        {
            times.push(NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, s).unwrap());
        }
        for t in times {
            assert_eq!(super::datetime_text(&t), t.format("%Y-%m-%d %H:%M:%S").to_string(), "{t:?}");
        }
        // Outside four digits the form cannot hold the year; chrono's text is kept as it is.
        let far = NaiveDate::from_ymd_opt(12345, 6, 7).unwrap().and_hms_opt(1, 2, 3).unwrap();
        assert_eq!(super::datetime_text(&far), far.format("%Y-%m-%d %H:%M:%S").to_string());
    }
}
