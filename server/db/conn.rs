//! One connection, whichever the database: what the product's SQL runs on.
//!
//! Product code (`ticketing/`, `objects/`, `auth/`, the generic layer) takes a [`Conn`] and never names
//! the backend. A `Conn` is a copyable handle: to a SQLite connection (the embedded default), or to a
//! PostgreSQL session ([`PgConn`]). The calls mirror the few of rusqlite's the product used
//! (`execute`, `prepare_cached`, `query_row`, `query_map`, `last_insert_rowid`), so a statement reads
//! the same on both; values go in as [`SqlValue`] (any [`ToValue`], with [`params!`](crate::params))
//! and come out through [`Row::get`] into any [`FromValue`].
//!
//! SQL text is written once, in the subset both databases share; on PostgreSQL it is translated when
//! first prepared on a session (the design's identifiers quoted, `?` numbered: [`super::postgres::translate`])
//! and its statement kept for the next call with the same text. Parameters are sent as text and typed
//! by the server from the statement (a time into a `TIMESTAMP` column, an amount into a `NUMERIC`), and
//! results are read back into the values SQLite would have given: integers, reals, text (times as
//! `YYYY-MM-DD HH:MM:SS`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::types::ValueRef;

use super::postgres::{self as pg, Names};
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// A connection of either backend, lent for the length of a call or job.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    Sqlite(&'a rusqlite::Connection),
    Pg(&'a PgConn),
}

impl<'a> From<&'a rusqlite::Connection> for Conn<'a> {
    fn from(c: &'a rusqlite::Connection) -> Self {
        Conn::Sqlite(c)
    }
}

impl<'a> From<&'a PgConn> for Conn<'a> {
    fn from(c: &'a PgConn) -> Self {
        Conn::Pg(c)
    }
}

/// A connection owned by the thread that uses it (the writer's).
pub enum OwnedConn {
    Sqlite(rusqlite::Connection),
    Pg(Box<PgConn>),
}

impl OwnedConn {
    /// A handle for one job.
    pub fn conn(&self) -> Conn<'_> {
        match self {
            OwnedConn::Sqlite(c) => Conn::Sqlite(c),
            OwnedConn::Pg(c) => Conn::Pg(c),
        }
    }
}

/// One value read from a row, borrowed where the backend allows.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(Cow<'a, str>),
}

impl<'a> Val<'a> {
    /// The text, if the value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The value as an owned parameter.
    pub fn to_owned(&self) -> SqlValue {
        match self {
            Val::Null => SqlValue::Null,
            Val::Int(i) => SqlValue::Int(*i),
            Val::Real(f) => SqlValue::Real(*f),
            Val::Text(t) => SqlValue::Text(t.to_string()),
        }
    }

    /// Text as the database gave it: checked as UTF-8, invalid bytes replaced.
    pub fn of_text(t: &'a [u8]) -> Val<'a> {
        // Checked as UTF-8 first: the lossy decoder walks text char by char even when it is valid.
        match std::str::from_utf8(t) {
            Ok(s) => Val::Text(Cow::Borrowed(s)),
            Err(_) => Val::Text(String::from_utf8_lossy(t)),
        }
    }

    fn of_sqlite(v: ValueRef<'a>) -> Val<'a> {
        match v {
            ValueRef::Null => Val::Null,
            ValueRef::Integer(i) => Val::Int(i),
            ValueRef::Real(f) => Val::Real(f),
            ValueRef::Text(t) | ValueRef::Blob(t) => Val::of_text(t),
        }
    }
}

/// A column as the row holds it, for a writer that can take text as bytes (`crud::text`): SQLite's text
/// is not checked as UTF-8 here ([`Val::of_text`] does that), PostgreSQL's comes as a `Val` like any
/// other value.
pub enum Cell<'a> {
    Null,
    Text(&'a [u8]),
    Other(Val<'a>),
}

/// A value bound to a placeholder.
pub trait ToValue {
    fn to_value(&self) -> SqlValue;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> SqlValue {
                SqlValue::Int(*self as i64)
            }
        }
    )*};
}
int_to_value!(i64, i32, i16, u32, u16, u8, usize);

impl ToValue for bool {
    fn to_value(&self) -> SqlValue {
        SqlValue::Int(*self as i64)
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> SqlValue {
        SqlValue::Real(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> SqlValue {
        SqlValue::Text(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> SqlValue {
        SqlValue::Text(self.clone())
    }
}

impl ToValue for SqlValue {
    fn to_value(&self) -> SqlValue {
        self.clone()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> SqlValue {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> SqlValue {
        self.as_ref().map(ToValue::to_value).unwrap_or(SqlValue::Null)
    }
}

/// The parameters of one statement: `params![a, b]`, an array of one type (`[id]`), `[]`, or a slice
/// of [`SqlValue`]s (the generic layer's rendered conditions).
pub trait Params {
    /// Calls `f` with the values in placeholder order.
    fn with<R>(self, f: impl FnOnce(&[SqlValue]) -> R) -> R;
}

impl Params for &[SqlValue] {
    fn with<R>(self, f: impl FnOnce(&[SqlValue]) -> R) -> R {
        f(self)
    }
}

impl Params for &Vec<SqlValue> {
    fn with<R>(self, f: impl FnOnce(&[SqlValue]) -> R) -> R {
        f(self)
    }
}

impl Params for [SqlValue; 0] {
    fn with<R>(self, f: impl FnOnce(&[SqlValue]) -> R) -> R {
        f(&[])
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToValue> Params for [T; $n] {
            fn with<R>(self, f: impl FnOnce(&[SqlValue]) -> R) -> R {
                f(&self.map(|v| v.to_value()))
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);

/// Parameters of mixed types, in placeholder order: `params![id, name, None::<i64>]`.
#[macro_export]
macro_rules! params {
    () => { [] as [$crate::query::SqlValue; 0] };
    ($($v:expr),+ $(,)?) => {
        &[$($crate::db::conn::ToValue::to_value(&$v)),+][..]
    };
}

/// A value read into a Rust type. Conversions are those between SQLite's storage classes that keep
/// the value (an integer read as a real, a number as text); anything else is a server error naming
/// the column.
pub trait FromValue: Sized {
    fn from_value(v: Val<'_>) -> Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: Val<'_>) -> Result<Self, String> {
        match v {
            Val::Int(i) => Ok(i),
            Val::Real(f) if f.fract() == 0.0 => Ok(f as i64),
            Val::Text(t) => t.parse().map_err(|_| format!("not an integer: {t}")),
            other => Err(format!("not an integer: {other:?}")),
        }
    }
}

macro_rules! narrow_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Val<'_>) -> Result<Self, String> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| format!("out of range: {i}"))
            }
        }
    )*};
}
narrow_from_value!(i32, u32, usize);

impl FromValue for bool {
    fn from_value(v: Val<'_>) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(v: Val<'_>) -> Result<Self, String> {
        match v {
            Val::Int(i) => Ok(i as f64),
            Val::Real(f) => Ok(f),
            Val::Text(t) => t.parse().map_err(|_| format!("not a number: {t}")),
            Val::Null => Err("not a number: NULL".into()),
        }
    }
}

impl FromValue for String {
    fn from_value(v: Val<'_>) -> Result<Self, String> {
        match v {
            Val::Text(t) => Ok(t.into_owned()),
            Val::Int(i) => Ok(i.to_string()),
            Val::Real(f) => Ok(f.to_string()),
            Val::Null => Err("not text: NULL".into()),
        }
    }
}

impl FromValue for SqlValue {
    fn from_value(v: Val<'_>) -> Result<Self, String> {
        Ok(v.to_owned())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Val<'_>) -> Result<Self, String> {
        match v {
            Val::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One row of a result.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `i` (from 0) as it came.
    pub fn get_ref(&self, i: usize) -> ApiResult<Val<'_>> {
        match self {
            Row::Sqlite(r) => Ok(Val::of_sqlite(r.get_ref(i)?)),
            Row::Pg(r) => pg::value(r, i).map_err(|e| ApiError::db(format!("column {i}: {e}"))),
        }
    }

    /// Column `i` (from 0) as a [`Cell`].
    #[inline]
    pub fn cell(&self, i: usize) -> ApiResult<Cell<'_>> {
        match self {
            Row::Sqlite(r) => Ok(match r.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Text(t) => Cell::Text(t),
                v => Cell::Other(Val::of_sqlite(v)),
            }),
            Row::Pg(_) => self.get_ref(i).map(Cell::Other),
        }
    }

    /// Column `i` (from 0) as a `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> ApiResult<T> {
        T::from_value(self.get_ref(i)?).map_err(|e| ApiError::db(format!("column {i}: {e}")))
    }

    /// How many columns the row has.
    pub fn column_count(&self) -> usize {
        match self {
            Row::Sqlite(r) => r.as_ref().column_count(),
            Row::Pg(r) => r.len(),
        }
    }

    /// The name of column `i`.
    pub fn column_name(&self, i: usize) -> String {
        match self {
            Row::Sqlite(r) => r.as_ref().column_name(i).map(str::to_string).unwrap_or_default(),
            Row::Pg(r) => r.columns().get(i).map(|c| c.name().to_string()).unwrap_or_default(),
        }
    }
}

/// A PostgreSQL session with its prepared statements, used by one thread at a time (a pooled
/// connection during one call, or the writer's).
pub struct PgConn {
    /// Always `Some` until dropped (taken out then, to close it off the async threads).
    client: RefCell<Option<postgres::Client>>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    names: Arc<Names>,
    /// A transaction is open (kept from the BEGINs and COMMITs run through this handle; the protocol
    /// tells the client as much, but rust-postgres does not pass it on).
    in_tx: std::cell::Cell<bool>,
}

/// What a statement does to the session's transaction: opens one, ends one, or neither.
fn tx_effect(sql: &str) -> Option<bool> {
    let s = sql.trim_start().as_bytes();
    let starts = |w: &str| s.len() >= w.len() && s[..w.len()].eq_ignore_ascii_case(w.as_bytes());
    if starts("BEGIN") || starts("START TRANSACTION") {
        Some(true)
    } else if starts("COMMIT") || starts("END") || (starts("ROLLBACK") && !sql.to_ascii_uppercase().contains(" TO ")) {
        Some(false)
    } else {
        None
    }
}

impl PgConn {
    /// Wraps a connected client; `names` are the design's (for [`pg::translate`]).
    pub fn new(client: postgres::Client, names: Arc<Names>) -> PgConn {
        PgConn {
            client: RefCell::new(Some(client)),
            statements: RefCell::new(HashMap::new()),
            names,
            in_tx: std::cell::Cell::new(false),
        }
    }

    /// Runs `f` on the client, off the async threads (see [`blocking`]).
    fn with<T>(&self, f: impl FnOnce(&mut postgres::Client) -> T) -> T {
        let mut c = self.client.borrow_mut();
        let c = c.as_mut().expect("a PgConn's client is there until it is dropped");
        blocking(|| f(c))
    }

    /// A round trip, to tell a live session from a dropped one.
    pub fn ping(&mut self) -> Result<(), postgres::Error> {
        self.with(|c| c.simple_query("")).map(|_| ())
    }

    /// True once the server side of the session is gone.
    pub fn is_closed(&self) -> bool {
        self.client.borrow().as_ref().is_none_or(|c| c.is_closed())
    }

    /// The statement for `sql`, prepared on this session once.
    fn statement(&self, sql: &str) -> ApiResult<postgres::Statement> {
        if let Some(st) = self.statements.borrow().get(sql) {
            return Ok(st.clone());
        }
        let text = pg::translate(sql, &self.names);
        let st = self.with(|c| c.prepare(&text)).map_err(|e| pg_error(e, &text))?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= 512 {
            cache.clear();
        }
        cache.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    fn query(&self, st: &postgres::Statement, params: &[SqlValue]) -> ApiResult<Vec<postgres::Row>> {
        let p = pg::TextParams::new(params);
        self.with(|c| c.query(st, &p.refs())).map_err(|e| pg_error(e, ""))
    }

    fn execute(&self, st: &postgres::Statement, effect: Option<bool>, params: &[SqlValue]) -> ApiResult<usize> {
        let p = pg::TextParams::new(params);
        let r = self.with(|c| c.execute(st, &p.refs()));
        if let Some(open) = effect {
            // A failed COMMIT ends the transaction as well; a failed BEGIN leaves the old state.
            if r.is_ok() || !open {
                self.in_tx.set(open);
            }
        }
        Ok(r.map_err(|e| pg_error(e, ""))? as usize)
    }

    /// Runs statements without parameters (`BEGIN`, DDL), translated.
    pub fn batch(&self, sql: &str) -> ApiResult<()> {
        let text = pg::translate(sql, &self.names);
        let r = self.with(|c| c.batch_execute(&text)).map_err(|e| pg_error(e, &text));
        if let Some(open) = tx_effect(sql) {
            if r.is_ok() || !open {
                self.in_tx.set(open);
            }
        }
        r
    }
}

impl Drop for PgConn {
    /// Closing the client blocks too (it tells the server goodbye).
    fn drop(&mut self) {
        if let Some(c) = self.client.get_mut().take() {
            blocking(|| drop(c));
        }
    }
}

/// Runs a call of the blocking PostgreSQL client. Its client drives its own small runtime, which may
/// not be entered from a thread that runs the server's async tasks: there the call is moved off the
/// task thread (`block_in_place`); on the writer, the blocking pool and plain threads it runs as it is.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn pg_error(e: postgres::Error, sql: &str) -> ApiError {
    let mut err = ApiError::from(e);
    if !sql.is_empty() && err.internal.as_deref().is_some_and(|i| !i.contains(sql)) {
        let i = err.internal.take().unwrap_or_default();
        err.internal = Some(format!("{i} -- {sql}"));
    }
    err
}

/// The rows of [`Stmt::query_map`], each already read.
pub type Mapped<T> = std::iter::Map<std::vec::IntoIter<T>, fn(T) -> ApiResult<T>>;

/// How the statements of one read call share a snapshot of the database.
///
/// Every statement of a read call reads the database as one moment left it. A single statement is its
/// own snapshot (SQLite and PostgreSQL both run it in an implicit transaction), so a call that runs one
/// needs no BEGIN and COMMIT, which were about 6% of a `User.get` (two statements more, and their
/// bookkeeping in the statement cache). Which calls run one statement is not known before they run (a
/// hook may read more), so [`Snapshot::Single`] is an attempt: should a second statement start on the
/// connection, it fails, the scope says [`ReadScope::voided`], and the caller runs the call again with
/// [`Snapshot::Shared`]; nothing the first attempt did is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// BEGIN before the first statement: every statement of the call reads one snapshot.
    Shared,
    /// The first statement runs on its own; a second voids the attempt.
    Single,
}

/// Where a read call is in [`Snapshot`]'s rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No read call on this connection: statements run as they come (writer jobs, plain threads).
    Off,
    /// `Shared`, before the first statement.
    Lazy,
    /// `Shared`, BEGIN run: the caller commits.
    Begun,
    /// `Single`, before the first statement.
    Single,
    /// `Single`, one statement started.
    SingleRan,
    /// `Single`, a second statement was refused: the attempt is void.
    Void,
}

thread_local! {
    /// The read call running on this thread: the address of its connection and its phase. A call runs on
    /// one thread from its first statement to its last (reads never await), so the thread is the scope;
    /// statements on any other connection (a session lookup on another pooled one) are not the call's.
    static READ: std::cell::Cell<(usize, Phase)> = const { std::cell::Cell::new((0, Phase::Off)) };
}

impl Conn<'_> {
    /// The connection's identity for [`READ`] (its address; never dereferenced).
    fn addr(self) -> usize {
        match self {
            Conn::Sqlite(c) => c as *const rusqlite::Connection as usize,
            Conn::Pg(c) => c as *const PgConn as usize,
        }
    }
}

/// Applies the read call's [`Snapshot`] rules to a statement about to start on `conn`.
fn starting(conn: Conn) -> ApiResult<()> {
    let (at, phase) = READ.with(std::cell::Cell::get);
    if phase == Phase::Off || at != conn.addr() {
        return Ok(());
    }
    match phase {
        Phase::Lazy => {
            match conn {
                Conn::Sqlite(c) => c.prepare_cached("BEGIN")?.execute([]).map(|_| ())?,
                Conn::Pg(c) => c.batch("BEGIN")?,
            }
            READ.with(|r| r.set((at, Phase::Begun)));
        }
        Phase::Single => READ.with(|r| r.set((at, Phase::SingleRan))),
        Phase::SingleRan | Phase::Void => {
            READ.with(|r| r.set((at, Phase::Void)));
            return Err(ApiError::server("a second statement in a single-statement read (it runs again)"));
        }
        Phase::Off | Phase::Begun => {}
    }
    Ok(())
}

/// A read call's rules for the statements on its connection, from [`ReadScope::enter`] until dropped.
pub struct ReadScope {
    prev: (usize, Phase),
}

impl ReadScope {
    /// Applies `mode` to the statements that start on `conn` on this thread.
    pub fn enter(conn: Conn, mode: Snapshot) -> ReadScope {
        let phase = match mode {
            Snapshot::Shared => Phase::Lazy,
            Snapshot::Single => Phase::Single,
        };
        ReadScope { prev: READ.with(|r| r.replace((conn.addr(), phase))) }
    }

    fn phase(&self) -> Phase {
        READ.with(std::cell::Cell::get).1
    }

    /// True when BEGIN was run: the caller ends the transaction (after dropping the scope).
    pub fn began(&self) -> bool {
        self.phase() == Phase::Begun
    }

    /// True when a second statement was refused: nothing the call did stands, and it must run again
    /// with [`Snapshot::Shared`].
    pub fn voided(&self) -> bool {
        self.phase() == Phase::Void
    }
}

impl Drop for ReadScope {
    fn drop(&mut self) {
        READ.with(|r| r.set(self.prev));
    }
}

/// A prepared statement of either backend.
pub enum Stmt<'a> {
    SqliteCached(rusqlite::CachedStatement<'a>, Conn<'a>),
    Sqlite(rusqlite::Statement<'a>, Conn<'a>),
    Pg(&'a PgConn, postgres::Statement, Option<bool>),
}

impl<'a> Stmt<'a> {
    fn sqlite(&mut self) -> Option<&mut rusqlite::Statement<'a>> {
        match self {
            Stmt::SqliteCached(s, _) => Some(&mut **s),
            Stmt::Sqlite(s, _) => Some(s),
            Stmt::Pg(..) => None,
        }
    }

    /// The connection the statement was prepared on.
    fn conn(&self) -> Conn<'a> {
        match self {
            Stmt::SqliteCached(_, c) | Stmt::Sqlite(_, c) => *c,
            Stmt::Pg(c, ..) => Conn::Pg(c),
        }
    }

    /// Runs the statement; returns the number of rows changed.
    pub fn execute(&mut self, params: impl Params) -> ApiResult<usize> {
        starting(self.conn())?;
        if let Stmt::Pg(c, st, effect) = self {
            return params.with(|p| c.execute(st, *effect, p));
        }
        let s = self.sqlite().expect("sqlite statement");
        params.with(|p| Ok(s.execute(rusqlite::params_from_iter(p.iter()))?))
    }

    /// Calls `f` with each row; returns how many there were.
    pub fn for_each(&mut self, params: impl Params, mut f: impl FnMut(&Row) -> ApiResult<()>) -> ApiResult<usize> {
        starting(self.conn())?;
        if let Stmt::Pg(c, st, _) = self {
            let rows = params.with(|p| c.query(st, p))?;
            for r in &rows {
                f(&Row::Pg(r))?;
            }
            return Ok(rows.len());
        }
        let s = self.sqlite().expect("sqlite statement");
        params.with(|p| {
            let mut rows = s.query(rusqlite::params_from_iter(p.iter()))?;
            let mut n = 0;
            while let Some(r) = rows.next()? {
                f(&Row::Sqlite(r))?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// Each row mapped by `f`, read to the end before it is returned.
    pub fn query_map<T>(
        &mut self,
        params: impl Params,
        mut f: impl FnMut(&Row) -> ApiResult<T>,
    ) -> ApiResult<Mapped<T>> {
        let mut out = Vec::new();
        self.for_each(params, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out.into_iter().map(Ok as fn(T) -> ApiResult<T>))
    }

    /// The first row mapped by `f`, if there is one (on SQLite the rest are never stepped through).
    pub fn query_opt<T>(&mut self, params: impl Params, f: impl FnOnce(&Row) -> ApiResult<T>) -> ApiResult<Option<T>> {
        starting(self.conn())?;
        if let Stmt::Pg(c, st, _) = self {
            let rows = params.with(|p| c.query(st, p))?;
            return rows.first().map(|r| f(&Row::Pg(r))).transpose();
        }
        let s = self.sqlite().expect("sqlite statement");
        params.with(|p| match s.query(rusqlite::params_from_iter(p.iter()))?.next()? {
            Some(r) => f(&Row::Sqlite(r)).map(Some),
            None => Ok(None),
        })
    }

    /// The first row mapped by `f`; a server error if there is none.
    pub fn query_row<T>(&mut self, params: impl Params, f: impl FnOnce(&Row) -> ApiResult<T>) -> ApiResult<T> {
        self.query_opt(params, f)?.ok_or_else(|| ApiError::db("the query returned no row"))
    }

    /// The names of the result's columns.
    pub fn column_names(&mut self) -> Vec<String> {
        match self {
            Stmt::Pg(_, st, _) => st.columns().iter().map(|c| c.name().to_string()).collect(),
            s => s.sqlite().map(|s| s.column_names().iter().map(|n| n.to_string()).collect()).unwrap_or_default(),
        }
    }
}

impl<'a> Conn<'a> {
    /// A statement kept prepared on this connection for the next use of the same text.
    pub fn prepare_cached(self, sql: &str) -> ApiResult<Stmt<'a>> {
        Ok(match self {
            Conn::Sqlite(c) => Stmt::SqliteCached(c.prepare_cached(sql)?, self),
            Conn::Pg(c) => Stmt::Pg(c, c.statement(sql)?, tx_effect(sql)),
        })
    }

    /// A statement prepared for a few uses (SQL text that does not repeat).
    pub fn prepare(self, sql: &str) -> ApiResult<Stmt<'a>> {
        Ok(match self {
            Conn::Sqlite(c) => Stmt::Sqlite(c.prepare(sql)?, self),
            Conn::Pg(c) => Stmt::Pg(c, c.statement(sql)?, tx_effect(sql)),
        })
    }

    /// Runs one statement; returns the number of rows changed.
    pub fn execute(self, sql: &str, params: impl Params) -> ApiResult<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    /// The first row of a query mapped by `f`; a server error if there is none.
    pub fn query_row<T>(self, sql: &str, params: impl Params, f: impl FnOnce(&Row) -> ApiResult<T>) -> ApiResult<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// The first row of a query mapped by `f`, if there is one.
    pub fn query_opt<T>(
        self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row) -> ApiResult<T>,
    ) -> ApiResult<Option<T>> {
        self.prepare_cached(sql)?.query_opt(params, f)
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(self, sql: &str) -> ApiResult<()> {
        // It may hold several statements: in a read call, it needs the call's transaction.
        starting(self)?;
        starting(self)?;
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Pg(c) => c.batch(sql),
        }
    }

    /// True while a transaction is open on the connection.
    pub fn in_transaction(self) -> bool {
        match self {
            Conn::Sqlite(c) => !c.is_autocommit(),
            Conn::Pg(c) => c.in_tx.get(),
        }
    }

    /// The id the last INSERT on this connection generated.
    pub fn last_insert_rowid(self) -> ApiResult<i64> {
        match self {
            Conn::Sqlite(c) => Ok(c.last_insert_rowid()),
            Conn::Pg(_) => self.query_row("SELECT lastval()", [], |r| r.get(0)).map_err(|e| {
                ApiError::db(format!("no id generated on this session: {}", e.internal.unwrap_or_default()))
            }),
        }
    }

    /// Begins a transaction, rolled back unless [`Tx::commit`] is called.
    pub fn begin(self) -> ApiResult<Tx<'a>> {
        self.execute_batch("BEGIN")?;
        Ok(Tx { conn: self, done: false })
    }
}

/// A transaction begun with [`Conn::begin`].
pub struct Tx<'a> {
    conn: Conn<'a>,
    done: bool,
}

impl<'a> Tx<'a> {
    /// The connection, to run the transaction's statements on.
    pub fn conn(&self) -> Conn<'a> {
        self.conn
    }

    /// Commits; if that fails, the transaction is rolled back (when `self` drops).
    pub fn commit(mut self) -> ApiResult<()> {
        self.conn.execute_batch("COMMIT")?;
        self.done = true;
        Ok(())
    }
}

impl<'a> std::ops::Deref for Tx<'a> {
    type Target = Conn<'a>;

    fn deref(&self) -> &Conn<'a> {
        &self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE T (id INTEGER PRIMARY KEY, name TEXT, amount DECIMAL(19,2), n INTEGER)").unwrap();
        c
    }

    /// One statement on `c`: the rows of `T`.
    fn count(c: Conn) -> ApiResult<i64> {
        c.query_row("SELECT COUNT(*) FROM T", [], |r| r.get::<i64>(0))
    }

    #[test]
    fn a_single_statement_read_runs_alone_and_a_second_statement_voids_it() {
        let (a, b) = (db(), db());
        let (ca, cb) = (Conn::from(&a), Conn::from(&b));
        {
            let scope = ReadScope::enter(ca, Snapshot::Single);
            assert_eq!(count(ca).unwrap(), 0);
            assert!(!ca.in_transaction(), "no BEGIN for the first statement");
            assert_eq!(count(cb).unwrap(), 0, "another connection's statements are not the call's");
            assert!(!scope.voided() && !scope.began());
            assert!(count(ca).is_err(), "a second statement is refused");
            assert!(scope.voided());
            assert!(ca.execute_batch("SELECT 1").is_err(), "and so is every later one");
        }
        {
            let scope = ReadScope::enter(ca, Snapshot::Single);
            assert!(ca.execute_batch("SELECT 1; SELECT 2").is_err(), "a batch may hold several: never single");
            assert!(scope.voided());
        }
        // Out of the scope, statements run as they come.
        assert_eq!(count(ca).unwrap(), 0);
        assert_eq!(count(ca).unwrap(), 0);
    }

    #[test]
    fn a_shared_snapshot_read_begins_at_its_first_statement_and_scopes_nest() {
        let (a, b) = (db(), db());
        let (ca, cb) = (Conn::from(&a), Conn::from(&b));
        let scope = ReadScope::enter(ca, Snapshot::Shared);
        assert!(!ca.in_transaction() && !scope.began(), "nothing begun before a statement");
        let mut st = ca.prepare_cached("SELECT COUNT(*) FROM T").unwrap();
        assert!(!ca.in_transaction(), "preparing is not running");
        st.query_row([], |r| r.get::<i64>(0)).unwrap();
        assert!(ca.in_transaction() && scope.began(), "BEGIN before the first statement ran");
        st.query_row([], |r| r.get::<i64>(0)).unwrap();
        drop(st);
        {
            // A scope inside (another call's, on another connection) leaves this one as it was.
            let inner = ReadScope::enter(cb, Snapshot::Single);
            count(cb).unwrap();
            assert!(!cb.in_transaction());
            drop(inner);
        }
        assert!(scope.began() && !scope.voided());
        drop(scope);
        ca.execute_batch("COMMIT").unwrap();
        assert!(!ca.in_transaction());
    }

    #[test]
    fn values_go_in_by_params_and_come_out_as_the_asked_type() {
        let owned = db();
        let c = Conn::Sqlite(&owned);
        let none: Option<i64> = None;
        c.execute("INSERT INTO T (name, amount, n) VALUES (?, ?, ?)", params!["a", 12.5, none]).unwrap();
        assert_eq!(c.last_insert_rowid().unwrap(), 1);
        c.execute("INSERT INTO T (name, amount, n) VALUES (?, ?, ?)", params![String::from("b"), 3, 7i32]).unwrap();
        let row = c
            .query_row("SELECT name, amount, n, id FROM T WHERE id=?", [2], |r| {
                Ok((r.get::<String>(0)?, r.get::<f64>(1)?, r.get::<Option<i64>>(2)?, r.get::<String>(3)?))
            })
            .unwrap();
        assert_eq!(row, ("b".to_string(), 3.0, Some(7), "2".to_string()));
        // NULL into a plain integer is an error naming the column, not a zero.
        let e = c.query_row("SELECT n FROM T WHERE id=1", [], |r| r.get::<i64>(0)).unwrap_err();
        assert!(e.internal.as_deref().unwrap_or("").contains("column 0"), "{e:?}");
        assert_eq!(c.query_opt("SELECT id FROM T WHERE id=?", [9], |r| r.get::<i64>(0)).unwrap(), None);
        assert!(c.query_row("SELECT id FROM T WHERE id=9", [], |r| r.get::<i64>(0)).is_err());
        let names: Vec<String> = c
            .prepare("SELECT name FROM T ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(names, ["a", "b"]);
        let v = c
            .query_row("SELECT amount, name FROM T WHERE id=1", [], |r| {
                Ok((r.get_ref(0)?.to_owned(), r.column_name(1)))
            })
            .unwrap();
        assert_eq!(v, (SqlValue::Real(12.5), "name".to_string()));
    }

    #[test]
    fn a_transaction_not_committed_is_rolled_back_and_a_failed_commit_leaves_none_open() {
        let owned = db();
        let c = Conn::Sqlite(&owned);
        {
            let tx = c.begin().unwrap();
            assert!(c.in_transaction());
            tx.execute("INSERT INTO T (name) VALUES ('gone')", []).unwrap();
        }
        assert!(!c.in_transaction());
        assert_eq!(c.query_row("SELECT COUNT(*) FROM T", [], |r| r.get::<i64>(0)).unwrap(), 0);
        let tx = c.begin().unwrap();
        tx.execute("INSERT INTO T (name) VALUES ('kept')", []).unwrap();
        tx.commit().unwrap();
        assert_eq!(c.query_row("SELECT COUNT(*) FROM T", [], |r| r.get::<i64>(0)).unwrap(), 1);
        assert!(!c.in_transaction());
    }

    #[test]
    fn transaction_statements_are_told_apart_from_savepoint_rollbacks() {
        assert_eq!(tx_effect("BEGIN"), Some(true));
        assert_eq!(tx_effect("  begin immediate"), Some(true));
        assert_eq!(tx_effect("COMMIT"), Some(false));
        assert_eq!(tx_effect("ROLLBACK"), Some(false));
        assert_eq!(tx_effect("ROLLBACK TO call"), None);
        assert_eq!(tx_effect("SAVEPOINT call"), None);
        assert_eq!(tx_effect("SELECT 1"), None);
    }
}
