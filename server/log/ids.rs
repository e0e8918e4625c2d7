//! Ids this process hands out before their rows exist (ApiLog, ApiLog1), taken in blocks from the
//! `IdBlock` table so that several server processes on one database never hand out the same id.
//!
//! A call needs its ApiLog id when it starts (its ObjLog rows and a batch's ApiLog1 rows point at it),
//! long before the row is written with a later group commit. A counter in memory did that for one
//! process; two processes would both start after the same `MAX(id)`. Now each process reserves a block
//! of [`BLOCK`] ids in a write transaction (one conditional `UPDATE ... RETURNING`, atomic across
//! processes) and counts through it in memory. When half a block is used, the next one is asked of
//! the writer as an ordinary job and arrives with its commit; a call waits only if a whole half block
//! went by before that commit, and then on a condition variable, never spinning.
//!
//! Ids rise within a process and interleave by block across processes; after a restart a process
//! starts at a new block and the rest of the old one stays unused (ids are never reused).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::db::conn::Conn;

use crate::db::writer::{Job, JobDone};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Ids per block.
pub const BLOCK: i64 = 10_000;

/// How long a call waits for a block before it fails (the writer is stuck or gone).
const WAIT: Duration = Duration::from_secs(10);

/// Hands out the ids of one table.
pub struct IdBlocks {
    shared: Arc<Shared>,
}

struct Shared {
    /// The table whose ids these are; a constant of the server, never request text.
    table: &'static str,
    block: i64,
    db: Arc<Db>,
    state: Mutex<State>,
    arrived: Condvar,
}

#[derive(Default)]
struct State {
    next: i64,
    end: i64,
    /// The block after this one, once its reservation has committed.
    spare: Option<(i64, i64)>,
    /// A reservation job is queued or running.
    asked: bool,
    /// The last reservation failed (the next call retries).
    failed: Option<String>,
}

impl IdBlocks {
    /// Reserves the first block (waiting for the writer's commit) and hands out ids from it.
    pub fn start(db: Arc<Db>, table: &'static str) -> ApiResult<IdBlocks> {
        IdBlocks::with_block(db, table, BLOCK)
    }

    /// As [`IdBlocks::start`] with another block size (tests use small ones to cross block ends).
    pub fn with_block(db: Arc<Db>, table: &'static str, block: i64) -> ApiResult<IdBlocks> {
        let first = db.writer().run("reserve ids", move |c| reserve(c, table, block))?;
        let state = State { next: first, end: first + block, ..Default::default() };
        let shared = Shared { table, block, db, state: Mutex::new(state), arrived: Condvar::new() };
        Ok(IdBlocks { shared: Arc::new(shared) })
    }

    /// The next id. Never called on the writer's thread (its reservation job could not run while it
    /// waits): a batch takes its ids before its job is queued.
    pub fn next(&self) -> ApiResult<i64> {
        let sh = &self.shared;
        let mut s = sh.state.lock().unwrap_or_else(|p| p.into_inner());
        // Set at the first wait: the common case, an id in the block, reads no clock.
        let mut deadline = None;
        loop {
            if s.next < s.end {
                let id = s.next;
                s.next += 1;
                if !s.asked && s.spare.is_none() && s.end - s.next <= sh.block / 2 {
                    s.asked = true;
                    drop(s);
                    Shared::ask(sh);
                }
                return Ok(id);
            }
            if let Some((a, b)) = s.spare.take() {
                (s.next, s.end) = (a, b);
                continue;
            }
            if let Some(e) = s.failed.take() {
                return Err(ApiError::server(format!("cannot reserve {} ids: {e}", sh.table)));
            }
            if !s.asked {
                s.asked = true;
                drop(s);
                Shared::ask(sh);
                s = sh.state.lock().unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let deadline = *deadline.get_or_insert_with(|| std::time::Instant::now() + WAIT);
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(ApiError::server(format!("no {} ids after {WAIT:?}: the writer did not answer", sh.table)));
            }
            s = sh.arrived.wait_timeout(s, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

impl Shared {
    /// Queues the reservation of the next block; its commit makes it the spare.
    fn ask(this: &Arc<Shared>) {
        let sh = this.clone();
        let (table, block) = (this.table, this.block);
        let job: Job = Box::new(move |c: Conn| {
            let r = reserve(c, table, block);
            JobDone {
                keep: r.is_ok(),
                then: None,
                finish: Box::new(move |commit| {
                    let mut s = sh.state.lock().unwrap_or_else(|p| p.into_inner());
                    s.asked = false;
                    match commit.and(r) {
                        // Published only once committed: a rolled-back block may go to another process.
                        Ok(start) => s.spare = Some((start, start + block)),
                        Err(e) => s.failed = Some(e.to_string()),
                    }
                    drop(s);
                    sh.arrived.notify_all();
                }),
            }
        });
        if !this.db.writer().submit(job) {
            let mut s = this.state.lock().unwrap_or_else(|p| p.into_inner());
            s.asked = false;
            s.failed = Some("the writer has stopped".into());
            drop(s);
            this.arrived.notify_all();
        }
    }
}

/// Takes the next block of `table`'s ids (inside the caller's write transaction) and returns its start.
/// The first block of a table starts after its largest id, so a database from before blocks keeps its ids.
/// Both statements are the same on PostgreSQL: two processes making the first row at once meet at the
/// unique key (`ON CONFLICT DO NOTHING`), and the UPDATE takes the row's lock.
pub fn reserve(c: Conn, table: &'static str, block: i64) -> ApiResult<i64> {
    let [first, take] = reserve_sql(table);
    c.prepare_cached(&first)?.execute(crate::params![table])?;
    let start: i64 = c.prepare_cached(&take)?.query_row(crate::params![table, block], |r| r.get(0))?;
    Ok(start)
}

/// The two statements of a reservation (`?1` the table's name, `?2` the block size): make the table's
/// row if it has none, then move it on by a block and return where the block starts. Identifiers are
/// quoted so that the same text runs on PostgreSQL, which folds unquoted names to lower case.
pub fn reserve_sql(table: &str) -> [String; 2] {
    [
        format!(
            "INSERT INTO \"IdBlock\" (\"name\", \"nextId\") VALUES (?1, (SELECT COALESCE(MAX(\"id\"), 0) + 1 FROM \"{table}\")) \
             ON CONFLICT (\"name\") DO NOTHING"
        ),
        "UPDATE \"IdBlock\" SET \"nextId\" = \"nextId\" + ?2 WHERE \"name\" = ?1 RETURNING \"nextId\" - ?2".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{upgrade, Design};

    fn db(dir: &std::path::Path) -> Arc<Db> {
        let design = Design::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/design/DESIGN.md")))
            .expect("design");
        let db = Db::open(&dir.join("t.db"), 2, |c| {
            upgrade::upgrade(c, &design, &crate::db::dialect::Sqlite)?;
            c.execute_batch("INSERT INTO ApiLog (id, ac) VALUES (41, 'old')")?;
            Ok(())
        })
        .expect("open");
        Arc::new(db)
    }

    #[test]
    fn ids_continue_after_the_largest_and_cross_block_ends_without_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let ids = IdBlocks::with_block(db.clone(), "ApiLog", 4).unwrap();
        let got: Vec<i64> = (0..10).map(|_| ids.next().unwrap()).collect();
        assert_eq!(got, (42..52).collect::<Vec<_>>(), "one process counts up through its blocks");
        db.shutdown();
    }

    #[test]
    fn two_allocators_on_one_database_never_hand_out_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let a = Arc::new(IdBlocks::with_block(db.clone(), "ApiLog", 8).unwrap());
        let b = Arc::new(IdBlocks::with_block(db.clone(), "ApiLog", 8).unwrap());
        let take = |ids: Arc<IdBlocks>| std::thread::spawn(move || (0..500).map(|_| ids.next().unwrap()).collect());
        let (ta, tb) = (take(a), take(b));
        let mut all: Vec<i64> = ta.join().unwrap();
        all.extend(tb.join().unwrap());
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "an id was handed out twice");
        assert!(all[0] >= 42);
        db.shutdown();
    }
}
