//! One call from request to response: find the caller, open the call's transaction, run the
//! function or `Obj.ac`, commit or roll back, log to ApiLog, render the envelope (protocol §1.9).
//!
//! Writing calls take the single write connection for their whole run (see `db`); read-only calls use
//! a pooled read-only connection. Errors are logged here, once.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};
use serde_json::Value;

use super::auth::Auth;
use super::batch;
use super::ctx::{Ctx, Reply};
use super::envelope::{self, Options};
use super::params::Params;
use crate::error::{ApiError, ApiResult};
use crate::log::apilog::{truncate, ApiLogRow};
use crate::state::AppState;

/// A parsed request, independent of HTTP.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub ac: String,
    pub params: Params,
    /// True for POST (batch requires it).
    pub post: bool,
    /// `_app`, default `user`.
    pub app: String,
    /// Token from the `{appType}id` cookie or `Authorization: Bearer`.
    pub token: Option<String>,
    pub addr: String,
    pub ua: String,
    /// Client version (`_ver`, MicroMessenger UA, else `web`).
    pub ver: String,
    /// Length of the URI plus the body.
    pub reqsz: i64,
}

/// What the HTTP layer writes back.
#[derive(Debug)]
pub struct Output {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The result of running one call (top-level or batch sub-call) with its side outputs.
pub struct CallResult {
    pub result: ApiResult<Reply>,
    pub debug: Vec<String>,
    pub cookies: Vec<String>,
}

/// True when `ac` is an object call `Obj.op`.
fn split_obj(ac: &str) -> Option<(&str, &str)> {
    let (o, op) = ac.split_once('.')?;
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    (o.starts_with(|c: char| c.is_ascii_uppercase())
        && op.starts_with(|c: char| c.is_ascii_lowercase())
        && word(o)
        && word(op))
    .then_some((o, op))
}

fn unknown_ac(ac: &str) -> ApiError {
    ApiError::param("接口不支持").internal(format!("Bad request - unknown ac: {ac}"))
}

/// True if the call may write (decided before it runs, to choose the connection).
pub fn call_writes(state: &AppState, ac: &str) -> bool {
    match split_obj(ac) {
        Some((_, op)) => crate::crud::op_writes(op),
        None => state.functions.get(ac).is_none_or(|f| f.writes),
    }
}

/// Runs `ac` inside an existing context.
pub fn dispatch(ctx: &mut Ctx, ac: &str, p: &Params) -> ApiResult<Reply> {
    if let Some((obj, op)) = split_obj(ac) {
        return crate::crud::call(ctx, obj, op, p);
    }
    let starts_lower = ac.starts_with(|c: char| c.is_ascii_lowercase());
    match state_fn(ctx, ac) {
        Some(f) if starts_lower => (f.handler)(ctx, p),
        _ => Err(unknown_ac(ac)),
    }
}

fn state_fn(ctx: &Ctx, ac: &str) -> Option<super::functions::FnDef> {
    ctx.state.functions.get(ac)
}

/// Identifies a call for logging: its ApiLog id, its ApiLog1 id inside a batch, its debug level.
#[derive(Debug, Clone, Copy)]
pub struct CallIds {
    pub apilog: i64,
    pub apilog1: Option<i64>,
    pub debug: u8,
}

/// Runs one call in its own transaction on `conn`, then runs after-commit actions.
pub fn run_in_tx(
    state: &AppState,
    conn: &mut Connection,
    behavior: TransactionBehavior,
    auth: &mut Auth,
    ids: CallIds,
    ac: &str,
    p: &Params,
) -> CallResult {
    let tx = match conn.transaction_with_behavior(behavior) {
        Ok(tx) => tx,
        Err(e) => return CallResult { result: Err(e.into()), debug: vec![], cookies: vec![] },
    };
    let mut ctx = Ctx::new(state, &tx, auth.clone(), ids.apilog, ids.debug);
    ctx.apilog1_id = ids.apilog1;
    let result = guarded(|| dispatch(&mut ctx, ac, p));
    let after = ctx.take_after_commit();
    let undo = ctx.take_on_rollback();
    let (debug, cookies, new_auth) =
        (std::mem::take(&mut ctx.debug_log), std::mem::take(&mut ctx.set_cookie), ctx.auth.clone());
    drop(ctx);
    let result = match result {
        Ok(r) => match tx.commit() {
            Ok(()) => {
                for f in after {
                    f(state);
                }
                *auth = new_auth;
                Ok(r)
            }
            Err(e) => {
                undo.into_iter().for_each(|f| f());
                Err(e.into())
            }
        },
        Err(e) => {
            drop(tx); // rolls back
            undo.into_iter().for_each(|f| f());
            Err(e)
        }
    };
    CallResult { result, debug, cookies }
}

/// Runs a closure, turning a panic into E_SERVER so one bad call never takes the server down.
pub fn guarded<T>(f: impl FnOnce() -> ApiResult<T>) -> ApiResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(ApiError::server(format!("internal error: {msg}")))
        }
    }
}

/// Handles one request end to end.
pub fn handle(state: &AppState, req: Request) -> Output {
    handle_with(state, req, None)
}

/// Handles one request; `pre_error` is a failure found while reading it (bad route, body too large),
/// answered and logged like any other failed call.
pub fn handle_with(state: &AppState, req: Request, pre_error: Option<ApiError>) -> Output {
    let t0 = Instant::now();
    let cfg = &state.config;
    let test_mode = cfg.test_mode;
    let mut auth = Auth::guest(&req.app, test_mode);
    let debug = req.params.str("_debug").and_then(|s| s.parse::<u8>().ok()).unwrap_or(cfg.debug).min(9);
    let opts = Options::from_params(&req.params, test_mode);
    if let Some(tok) = &req.token {
        match state.sessions.lookup(&state.db, tok, auth.app_type) {
            Ok(l) => auth.login = l,
            Err(e) => log::error!("session lookup: {e}"),
        }
    }
    let start_user = auth.log_user_id();
    let apilog_id = state.apilog.next_id();

    let mut log_ac = req.ac.clone();
    let call = if let Some(e) = pre_error {
        CallResult { result: Err(e), debug: vec![], cookies: vec![] }
    } else if req.ac == "batch" {
        let r = batch::run(state, &mut auth, &req, apilog_id, debug);
        log_ac = r.1;
        r.0
    } else if call_writes(state, &req.ac) {
        let mut conn = state.db.write();
        run_in_tx(
            state,
            &mut conn,
            TransactionBehavior::Immediate,
            &mut auth,
            CallIds { apilog: apilog_id, apilog1: None, debug },
            &req.ac,
            &req.params,
        )
    } else {
        match state.db.read() {
            Ok(mut conn) => run_in_tx(
                state,
                &mut conn,
                TransactionBehavior::Deferred,
                &mut auth,
                CallIds { apilog: apilog_id, apilog1: None, debug },
                &req.ac,
                &req.params,
            ),
            Err(e) => CallResult { result: Err(e), debug: vec![], cookies: vec![] },
        }
    };

    let mut headers: Vec<(String, String)> =
        call.cookies.iter().map(|c| ("Set-Cookie".to_string(), c.clone())).collect();
    let (status, content_type, body, retval, res_text) = match call.result {
        Ok(Reply::Raw(raw)) => {
            headers.extend(raw.headers);
            let note = raw.log_res.unwrap_or_else(|| format!("[raw {} {}B]", raw.content_type, raw.body.len()));
            (raw.status, raw.content_type, raw.body, 0, note)
        }
        Ok(Reply::Data(v)) => {
            let r: Result<Value, ApiError> = Ok(v);
            let (ct, body) = envelope::render(&r, &call.debug, &opts);
            let res = truncate(&String::from_utf8_lossy(&body), 200);
            (200, ct.to_string(), body, 0, res)
        }
        Err(e) => {
            if matches!(e.code, crate::error::Code::Db | crate::error::Code::Server) {
                log::error!("{} failed: {e}", req.ac);
            } else {
                log::debug!("{} refused: {e}", req.ac);
            }
            let retval = e.code.number() as i64;
            let r: Result<Value, ApiError> = Err(e);
            let (ct, body) = envelope::render(&r, &call.debug, &opts);
            let res = truncate(&String::from_utf8_lossy(&body), 2000);
            (200, ct.to_string(), body, retval, res)
        }
    };
    if debug > 0 && !test_mode {
        for d in &call.debug {
            log::info!("[debug] {d}");
        }
    }

    let t = t0.elapsed().as_millis() as i64;
    if t > 1000 {
        log::warn!("slow call {} took {t}ms", req.ac);
    }
    state.apilog.log(ApiLogRow {
        id: apilog_id,
        tm: crate::db::now_str(),
        addr: truncate(&req.addr, 50),
        ua: truncate(&req.ua, 250),
        app: truncate(&req.app, 50),
        ses: auth.login.as_ref().map(|l| l.session_id.to_string()).unwrap_or_default(),
        user_id: start_user.or(auth.log_user_id()),
        ac: truncate(&log_ac, 50),
        t,
        retval,
        req: crate::log::req_text(&req.params),
        res: res_text,
        reqsz: req.reqsz,
        ressz: body.len() as i64,
        ver: truncate(&req.ver, 50),
        server_rev: cfg.server_rev.clone(),
    });
    Output { status, content_type, headers, body }
}
