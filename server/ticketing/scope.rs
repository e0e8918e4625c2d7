//! Who sees which store's rows: the one rule every ticketing object applies in its `on_query` hook
//! (`ticketing-api.md` "Who may call what", protocol §3.3 ownership).
//!
//! - guests and buyers see the public catalogue: rows of approved stores, with each object's own
//!   condition on top (an event on sale, a showing of such an event);
//! - an employee sees its own store's rows and nothing else, whatever id, cond, batch or REST form it
//!   sends: the scope is a WHERE term of every read and of the ownership check of every set/del;
//! - the platform admin sees everything.
//!
//! Writes name their parent (a hall its venue, a showing its event); [`parent_of_store`] looks the parent
//! up through the same rule, so another store's venue is "not found", never "forbidden" (which would
//! tell that it exists).

use serde_json::{json, Value};

use crate::api::ctx::Ctx;
use crate::api::params::value_to_int;
use crate::crud::{Role, Scope, Write};
use crate::error::{ApiError, ApiResult};
use crate::objects::account::my_store;
use crate::query::SqlValue as SqlV;

/// An integer column of a looked-up row.
pub fn int_at(row: &[SqlV], i: usize) -> Option<i64> {
    match row.get(i) {
        Some(SqlV::Int(x)) => Some(*x),
        Some(SqlV::Real(f)) => Some(*f as i64),
        Some(SqlV::Text(t)) => t.parse().ok(),
        _ => None,
    }
}

/// A text column of a looked-up row.
pub fn str_at(row: &[SqlV], i: usize) -> Option<String> {
    match row.get(i) {
        Some(SqlV::Text(t)) => Some(t.clone()),
        Some(SqlV::Int(x)) => Some(x.to_string()),
        _ => None,
    }
}

/// The ids of approved stores, for public conditions.
pub const APPROVED_STORES: &str = "SELECT id FROM Store WHERE status='OK'";

/// How the caller looks at store data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// A guest or a buyer: the public catalogue.
    Public,
    /// An employee of this store.
    Store(i64),
    /// The platform admin.
    Platform,
}

impl Viewer {
    /// The viewer of the current call.
    pub fn of(ctx: &mut Ctx) -> ApiResult<Viewer> {
        Ok(match ctx.auth.role() {
            Role::Guest | Role::User => Viewer::Public,
            Role::Emp => Viewer::Store(my_store(ctx)?),
            Role::Admin => Viewer::Platform,
        })
    }
}

/// Scopes a table with a `storeId` column: own store for staff, `public` (SQL over `t0`) for the
/// public, nothing for the admin.
pub fn store_rows(ctx: &mut Ctx, scope: &mut Scope, public: &str) -> ApiResult<Viewer> {
    let v = Viewer::of(ctx)?;
    match v {
        Viewer::Public => scope.sql(public, Vec::new()),
        Viewer::Store(s) => scope.eq("storeId", s),
        Viewer::Platform => {}
    }
    Ok(v)
}

/// An integer field of a write, if given.
pub fn int_field(w: &Write, name: &str) -> Option<i64> {
    w.fields.get(name).and_then(value_to_int)
}

/// A text field of a write, if given and not empty.
pub fn str_field(w: &Write, name: &str) -> Option<String> {
    match w.fields.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s != "null" => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Sets `storeId` of a new row: the employee's own store; the admin names an existing one.
pub fn own_store_on_add(ctx: &mut Ctx, w: &mut Write) -> ApiResult<i64> {
    match Viewer::of(ctx)? {
        Viewer::Store(s) => {
            w.fields.insert("storeId".into(), json!(s));
            Ok(s)
        }
        _ => {
            let id = int_field(w, "storeId").ok_or_else(|| ApiError::missing("storeId"))?;
            ctx.scalar_int("SELECT id FROM Store WHERE id=?", &[id.into()])?
                .ok_or_else(|| ApiError::param(format!("商户#{id}不存在")))
        }
    }
}

/// Looks up a parent row (`SELECT cols FROM table WHERE id=?`) that must belong to the caller's store
/// (the admin: any store). Another store's row reads as missing, with `what` naming it (`场馆`).
/// Returns the columns, `storeId` first (the query must select it first).
pub fn parent_of_store(ctx: &mut Ctx, sql: &str, id: i64, what: &str) -> ApiResult<Vec<SqlV>> {
    let viewer = Viewer::of(ctx)?;
    let mut row: Option<Vec<SqlV>> = None;
    ctx.query(sql, &[id.into()], |r| {
        let n = r.column_count();
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            v.push(r.get::<SqlV>(i)?);
        }
        row = Some(v);
        Ok(())
    })?;
    let row = row.filter(|r| match viewer {
        Viewer::Store(s) => matches!(r.first(), Some(SqlV::Int(x)) if *x == s),
        Viewer::Platform => true,
        Viewer::Public => false,
    });
    row.ok_or_else(|| ApiError::param(format!("{what}#{id}不存在")))
}
