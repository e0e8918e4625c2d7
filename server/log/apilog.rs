//! ApiLog and ApiLog1: one row per call and per batch sub-call, written by one background thread in
//! batches (protocol §7, decision §9.13).
//!
//! A call never waits for its log row: ids are handed out from an in-memory counter (so ObjLog rows
//! written inside the call can point at their ApiLog row), the finished row is queued, and the writer
//! inserts everything queued in one transaction every few milliseconds. A crash loses at most the rows
//! still queued; business data is committed by the call itself and never depends on this queue.

use std::sync::Arc;

use super::ids::IdBlocks;
use crate::db::conn::Conn;
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

/// ApiLog ids and rows. Rows go to the writer, which commits them in its group transactions.
pub struct ApiLogger {
    enabled: bool,
    ids: IdBlocks,
    ids1: IdBlocks,
    db: Arc<Db>,
}

impl ApiLogger {
    /// Starts handing out ids from blocks of the `IdBlock` table (see [`super::ids`]), so that several
    /// processes on one database never share one. With `enabled=false` ids are still handed out but
    /// nothing is written.
    pub fn start(db: Arc<Db>, enabled: bool) -> ApiResult<ApiLogger> {
        let ids = IdBlocks::start(db.clone(), "ApiLog")?;
        let ids1 = IdBlocks::start(db.clone(), "ApiLog1")?;
        Ok(ApiLogger { enabled, ids, ids1, db })
    }

    /// A new ApiLog id (fails only if no block can be reserved: the writer has stopped or is stuck).
    pub fn next_id(&self) -> ApiResult<i64> {
        self.ids.next()
    }

    /// A new ApiLog1 id.
    pub fn next_id1(&self) -> ApiResult<i64> {
        self.ids1.next()
    }

    /// Queues a finished ApiLog row (waits only while the writer's queue is full).
    pub fn log(&self, row: ApiLogRow) {
        if self.enabled {
            self.db.writer().log(row);
        }
    }

    /// Queues a finished ApiLog1 row.
    pub fn log1(&self, row: ApiLog1Row) {
        if self.enabled {
            self.db.writer().log1(row);
        }
    }

    /// Waits until every row queued before this call is in the database.
    pub fn flush(&self) {
        self.db.writer().flush();
    }

    /// Writes what is queued and stops the writer and checkpointer (server shutdown).
    pub fn shutdown(&self) {
        self.db.shutdown();
    }
}

/// Inserts queued rows; the writer calls this inside its group transaction.
pub fn insert(conn: Conn, rows: &[ApiLogRow], rows1: &[ApiLog1Row]) -> ApiResult<()> {
    if !rows.is_empty() {
        let mut st = conn.prepare_cached(
            "INSERT INTO ApiLog (id, tm, addr, ua, app, ses, userId, ac, t, retval, req, res, reqsz, ressz, ver, serverRev) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )?;
        for r in rows {
            st.execute(crate::params![
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
    }
    if !rows1.is_empty() {
        let mut st =
            conn.prepare_cached("INSERT INTO ApiLog1 (id, apiLogId, ac, t, retval, req, res) VALUES (?,?,?,?,?,?,?)")?;
        for r in rows1 {
            st.execute(crate::params![r.id, r.api_log_id, r.ac, r.t, r.retval, r.req, r.res])?;
        }
    }
    Ok(())
}

/// Truncates to at most `n` characters (on a char boundary), marking the cut.
pub fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
