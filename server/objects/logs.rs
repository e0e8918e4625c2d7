//! `ApiLog`, `ApiLog1` and `ObjLog` as the staff console and admin read them (protocol §3.7, §7).
//!
//! Logs are read-only through the API. ApiLog (and its batch rows) show every caller's requests, so
//! they are for managers and the admin; ObjLog is for all staff and can be narrowed to the rows of
//! objects matching a filter (`objFilter`), seen through the caller's own class of that object.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::crud::{self, registry, Decl, Object, Op, Plain, Registry, Role, Scope, SubObj, VCol};
use crate::error::{ApiError, ApiResult};

/// Managers and the admin only.
fn require_mgr(ctx: &Ctx) -> ApiResult<()> {
    ctx.auth.require_perm(super::account::MANAGER)
}

/// ApiLog (or ApiLog1), managers and admin only.
pub struct ApiLog(Decl);

impl ApiLog {
    pub fn new() -> ApiLog {
        ApiLog(
            Decl::new("ApiLog")
                .allow(&[Op::Query, Op::Get])
                .default_sort("id DESC")
                .tm_col("tm")
                .no_objlog()
                .vcols(vec![
                    VCol::new(&["e.name empName", "e.phone empPhone"])
                        .join("LEFT JOIN Employee e ON e.id=t0.userId AND t0.app LIKE 'emp%'")
                        .default_on(),
                    VCol::new(&["a1.id id1", "a1.req req1", "a1.ac ac1"])
                        .join("LEFT JOIN ApiLog1 a1 ON a1.apiLogId=t0.id"),
                ])
                .subobjs(vec![SubObj::new("log1", "ApiLog1", "apiLogId").orderby("id")])
                .q_fields("ac,req,addr"),
        )
    }

    /// The batch sub-call rows, under the same rule.
    pub fn batch_rows() -> ApiLog {
        ApiLog(Decl::new("ApiLog1").allow(&[Op::Query, Op::Get]).no_objlog())
    }
}

impl Default for ApiLog {
    fn default() -> Self {
        Self::new()
    }
}

impl Object for ApiLog {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_init(&self, ctx: &mut Ctx, _op: Op) -> ApiResult<()> {
        require_mgr(ctx)
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, _scope: &mut Scope) -> ApiResult<()> {
        // Also guards reads that do not pass on_init (ApiLog1 as a sub-object).
        require_mgr(ctx)
    }
}

/// ObjLog with the call it came from.
pub struct ObjLog(Decl);

impl ObjLog {
    pub fn new() -> ObjLog {
        let d = Decl::new("ObjLog").allow(&[Op::Query, Op::Get]).default_sort("id DESC").no_objlog().vcols(vec![
            VCol::new(&[
                "a.tm tm",
                "COALESCE(a1.ac, a.ac) ac",
                "COALESCE(a1.req, a.req) req",
                "a.userId userId",
                "a.addr addr",
                "a.app app",
                "a.ac ac0",
                "a1.ac ac1",
                "emp.name empName",
                "emp.phone empPhone",
            ])
            .join(
                "LEFT JOIN ApiLog a ON a.id=t0.apiLogId LEFT JOIN ApiLog1 a1 ON a1.id=t0.apiLog1Id \
             LEFT JOIN Employee emp ON emp.id=a.userId AND a.app LIKE 'emp%'",
            )
            .default_on(),
        ]);
        ObjLog(d)
    }
}

impl Default for ObjLog {
    fn default() -> Self {
        Self::new()
    }
}

/// The `obj` named by a key/value `cond` (URL `cond[obj]=Ordr` or a JSON object), as the reference
/// reads it for `objFilter`.
fn cond_obj(p: &Params) -> Option<String> {
    p.get_both("cond").into_iter().find_map(|c| match c {
        Value::Object(m) => m.get("obj").and_then(Value::as_str).map(str::to_string),
        Value::String(s) => serde_json::from_str::<Map<String, Value>>(s)
            .ok()
            .and_then(|m| m.get("obj").and_then(Value::as_str).map(str::to_string)),
        _ => None,
    })
}

/// `objFilter` as query parameters of the filtered object (`{cond: ...}`, or that as JSON text).
fn filter_params(v: &Value) -> ApiResult<Params> {
    let m = match v {
        Value::Object(m) => m.clone(),
        Value::String(s) => serde_json::from_str::<Map<String, Value>>(s)
            .map_err(|_| ApiError::bad_param("objFilter must be an object such as {\"cond\": \"status='CR'\"}"))?,
        _ => return Err(ApiError::bad_param("objFilter must be an object")),
    };
    Ok(Params::from_url(m))
}

impl Object for ObjLog {
    fn decl(&self) -> &Decl {
        &self.0
    }

    /// `objFilter={cond}` with `cond={obj: X}`: only logs of X rows that the caller's X class shows
    /// and that match the filter's `cond` (ownership rules of X apply).
    fn on_query(&self, ctx: &mut Ctx, p: &Params, scope: &mut Scope) -> ApiResult<()> {
        let Some(filter) = p.get("objFilter") else { return Ok(()) };
        let fp = filter_params(filter)?;
        let name = cond_obj(p).ok_or_else(|| ApiError::bad_param("objFilter needs cond with `obj`"))?;
        let obj = registry::resolve(ctx, &name)?;
        if !obj.decl().allows(Op::Query) {
            return Err(ApiError::forbidden(format!("Operation `query` is not allowed on object `{name}`")));
        }
        obj.on_init(ctx, Op::Query)?;
        let table = registry::table_of(ctx, obj.as_ref())?;
        let (conds, params, joins) = crud::read::write_conds(ctx, obj.as_ref(), table, &fp)?;
        let q = ctx.state.dialect.quote_ident(&table.name);
        let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        scope.sql(&format!("t0.objId IN (SELECT t0.id FROM {q} t0 {}{filter})", joins.join(" ")), params);
        Ok(())
    }
}

/// Serves the call and object logs to staff (managers, see the objects) and the admin, and the
/// framework tables to the admin read-only: the server keeps them consistent with its caches, and no
/// secret (token digests, codes) is shown. Pwd digests are useless without the key.
pub fn register(reg: &mut Registry) {
    use Role::*;
    reg.register("ApiLog", &[Emp, Admin], Arc::new(ApiLog::new()));
    reg.register("ApiLog1", &[Emp, Admin], Arc::new(ApiLog::batch_rows()));
    reg.register("ObjLog", &[Emp, Admin], Arc::new(ObjLog::new()));
    let read_only = |table: &'static str, hidden: &'static [&'static str]| {
        Arc::new(Plain(Decl::new(table).allow(&[Op::Query, Op::Get]).hidden(hidden).no_objlog()))
    };
    reg.register("Session", &[Admin], read_only("Session", &["tokenHash"]));
    reg.register("VCode", &[Admin], read_only("VCode", &["code"]));
    reg.register("Pwd", &[Admin], read_only("Pwd", &[]));
    // A QR login request's id lets its desktop log in once confirmed: not shown.
    reg.register("QrLogin", &[Admin], read_only("QrLogin", &["qrId"]));
    // The id blocks processes have taken (log/ids.rs): changing one could hand out an id twice.
    reg.register("IdBlock", &[Admin], read_only("IdBlock", &[]));
}
