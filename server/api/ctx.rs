//! The per-call context: the transaction, the caller, and what the call leaves behind (cookies,
//! actions to run after commit, the debug SQL log).
//!
//! Handlers get `&mut Ctx` instead of reaching for globals. All SQL of a call goes through
//! `Ctx::exec`/`Ctx::query` so the `_debug=9` log and error mapping happen in one place.

use std::time::Instant;

use serde_json::Value;

use super::auth::Auth;
use crate::db::conn::{Conn, Row};
use crate::error::ApiResult;
use crate::query::SqlValue;
use crate::state::AppState;

/// An action run after the call's transaction commits (never after a rollback).
pub type AfterCommit = Box<dyn FnOnce(&AppState) + Send>;

/// An action run when the call's transaction is rolled back (the call failed, or its commit did):
/// undoes what the database cannot, such as files written by `upload`.
pub type OnRollback = Box<dyn FnOnce() + Send>;
/// An action run after the call whether it committed or rolled back, on the call's connection outside
/// any transaction (the reference's "forced" after-actions, §1.9). For facts that must outlive a failed
/// call, such as a wrong verification code counting as a try.
pub type Always = Box<dyn FnOnce(Conn) -> ApiResult<()> + Send>;

/// One call's context.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    /// The call's connection, inside its transaction.
    pub db: Conn<'a>,
    pub auth: Auth,
    /// Id of this call's ApiLog row (handed out in memory before the row is written).
    pub apilog_id: i64,
    /// Id of the ApiLog1 row when running inside a batch.
    pub apilog1_id: Option<i64>,
    /// Debug level 0-9; 9 logs every SQL statement.
    pub debug: u8,
    /// Debug lines appended to the envelope in test mode.
    pub debug_log: Vec<String>,
    /// `Set-Cookie` header values for the response.
    pub set_cookie: Vec<String>,
    after_commit: Vec<AfterCommit>,
    on_rollback: Vec<OnRollback>,
    always: Vec<Always>,
    /// Depth of nested internal calls (sub-object writes), to stop runaway recursion.
    pub depth: u32,
    /// Small facts a call's hooks hand to each other (a value read in `on_init` and compared in
    /// `on_after`, the caller's store looked up once): named by the module that owns them.
    memo: Vec<(&'static str, i64)>,
}

impl<'a> Ctx<'a> {
    /// A context for one call on `db` (already inside a transaction).
    pub fn new(state: &'a AppState, db: Conn<'a>, auth: Auth, apilog_id: i64, debug: u8) -> Ctx<'a> {
        Ctx {
            state,
            db,
            auth,
            apilog_id,
            apilog1_id: None,
            debug,
            debug_log: Vec::new(),
            set_cookie: Vec::new(),
            after_commit: Vec::new(),
            on_rollback: Vec::new(),
            always: Vec::new(),
            depth: 0,
            memo: Vec::new(),
        }
    }

    /// A fact noted earlier in this call (see [`Ctx::note`]).
    pub fn noted(&self, name: &'static str) -> Option<i64> {
        self.memo.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Notes a fact for later hooks of this call (replacing an earlier one of that name).
    pub fn note(&mut self, name: &'static str, v: i64) {
        self.memo.retain(|(n, _)| *n != name);
        self.memo.push((name, v));
    }

    /// Queues an action for after the commit.
    pub fn after_commit(&mut self, f: impl FnOnce(&AppState) + Send + 'static) {
        self.after_commit.push(Box::new(f));
    }

    /// Takes the queued after-commit actions (the dispatcher runs them once the commit succeeded).
    pub fn take_after_commit(&mut self) -> Vec<AfterCommit> {
        std::mem::take(&mut self.after_commit)
    }

    /// Queues an action for a rollback of this call's transaction.
    pub fn on_rollback(&mut self, f: impl FnOnce() + Send + 'static) {
        self.on_rollback.push(Box::new(f));
    }

    /// Takes the queued rollback actions (the dispatcher runs them if the call does not commit).
    pub fn take_on_rollback(&mut self) -> Vec<OnRollback> {
        std::mem::take(&mut self.on_rollback)
    }

    /// Queues a write that must happen even if the call fails and its transaction rolls back.
    pub fn always(&mut self, f: impl FnOnce(Conn) -> ApiResult<()> + Send + 'static) {
        self.always.push(Box::new(f));
    }

    /// Takes the queued always-actions (the dispatcher runs them after commit or rollback).
    pub fn take_always(&mut self) -> Vec<Always> {
        std::mem::take(&mut self.always)
    }

    /// The start of a statement when `_debug=9` logs it (reading the clock costs a call otherwise).
    fn sql_clock(&self) -> Option<Instant> {
        (self.debug >= 9).then(Instant::now)
    }

    fn log_sql(&mut self, sql: &str, params: &[SqlValue], what: String, t0: Option<Instant>) {
        if let Some(t0) = t0 {
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            let line = format!("{sql} -- params={params:?} | {what} | t={ms:.1}ms");
            log::debug!("{line}");
            self.debug_log.push(line);
        }
    }

    /// Executes a statement; returns changed rows.
    pub fn exec(&mut self, sql: &str, params: &[SqlValue]) -> ApiResult<usize> {
        let t0 = self.sql_clock();
        let n = self.db.execute(sql, params)?;
        if t0.is_some() {
            let what = format!("cnt={n}");
            self.log_sql(sql, params, what, t0);
        }
        Ok(n)
    }

    /// Executes an INSERT and returns the new row id.
    pub fn insert(&mut self, sql: &str, params: &[SqlValue]) -> ApiResult<i64> {
        self.exec(sql, params)?;
        self.db.last_insert_rowid()
    }

    /// Runs a query; each row is handed to `f` as raw SQLite values.
    pub fn query(&mut self, sql: &str, params: &[SqlValue], f: impl FnMut(&Row) -> ApiResult<()>) -> ApiResult<usize> {
        let t0 = self.sql_clock();
        let n = self.db.prepare_cached(sql)?.for_each(params, f)?;
        if t0.is_some() {
            self.log_sql(sql, params, format!("cnt={n}"), t0);
        }
        Ok(n)
    }

    /// First column of the first row, if any.
    pub fn scalar(&mut self, sql: &str, params: &[SqlValue]) -> ApiResult<Option<SqlValue>> {
        let mut out = None;
        self.query(sql, params, |r| {
            if out.is_none() {
                out = Some(r.get::<SqlValue>(0)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// First column of the first row as an integer.
    pub fn scalar_int(&mut self, sql: &str, params: &[SqlValue]) -> ApiResult<Option<i64>> {
        Ok(match self.scalar(sql, params)? {
            Some(SqlValue::Int(i)) => Some(i),
            Some(SqlValue::Real(f)) => Some(f as i64),
            Some(SqlValue::Text(s)) => s.parse().ok(),
            _ => None,
        })
    }

    /// Appends a debug line (shown in test mode).
    pub fn debug_note(&mut self, v: impl Into<String>) {
        self.debug_log.push(v.into());
    }
}

/// What a handler returns: data for the envelope, or raw bytes written as they are.
#[derive(Debug)]
pub enum Reply {
    Data(Value),
    /// Data already serialized as JSON text, put into the envelope as it is: for large answers read
    /// often (a seat map of a thousand seats), where building a `Value` per row cost more than the
    /// query. Must be one valid JSON value, in UTF-8. Bytes rather than a `String`: the writers build it
    /// from text only, and checking a 20-row page for UTF-8 again cost 2% of `Ordr.query`.
    Json(Vec<u8>),
    Raw(Raw),
}

impl Reply {
    /// The data as a value (a `Json` reply parsed back), for callers that combine answers (batch);
    /// `None` for raw output.
    pub fn into_value(self) -> Option<Value> {
        match self {
            Reply::Data(v) => Some(v),
            Reply::Json(t) => Some(serde_json::from_slice(&t).unwrap_or(Value::Null)),
            Reply::Raw(_) => None,
        }
    }

    /// A copy of the data as a value (see [`Reply::into_value`]).
    pub fn value(&self) -> Option<Value> {
        match self {
            Reply::Data(v) => Some(v.clone()),
            Reply::Json(t) => Some(serde_json::from_slice(t).unwrap_or(Value::Null)),
            Reply::Raw(_) => None,
        }
    }
}

impl From<Value> for Reply {
    fn from(v: Value) -> Self {
        Reply::Data(v)
    }
}

/// A raw response (file download, export, attachment).
#[derive(Debug, Clone)]
pub struct Raw {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What ApiLog records as `res` instead of a size note (att logs the file path, protocol §7).
    pub log_res: Option<String>,
}

/// Runs always-actions on `conn` (outside any transaction); a failure is logged, never answered.
pub fn run_always(conn: Conn, actions: Vec<Always>) {
    for f in actions {
        if let Err(e) = f(conn) {
            log::error!("after-call write failed: {e}");
        }
    }
}
