//! One call from request to response: find the caller, open the call's transaction, run the
//! function or `Obj.ac`, commit or roll back, log to ApiLog, render the envelope (protocol §1.9).
//!
//! Read-only calls run in their own transaction on a pooled read-only connection. Writing calls (and
//! batches) become jobs of the writer thread (`db::writer`): each runs in its own savepoint of a group
//! transaction, and its caller is answered once that group is committed. Errors are logged here, once.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use crate::db::conn::{Conn, ReadScope, Snapshot};
use serde_json::Value;

use super::auth::{AppType, Auth};
use super::batch;
use super::ctx::{Ctx, Reply};
use super::envelope::{self, Options};
use super::params::Params;
use crate::db::writer::{cached, Job, JobDone, Then};
use crate::error::{ApiError, ApiResult};
use crate::log::apilog::{truncate_owned, ApiLogRow};
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

impl CallResult {
    /// A call that failed before producing anything else.
    pub fn failed(e: ApiError) -> CallResult {
        CallResult { result: Err(e), debug: vec![], cookies: vec![] }
    }
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
        Some((obj, op)) => !state.objects.action_reads(obj, op),
        None => state.functions.get(ac).is_none_or(|f| f.writes),
    }
}

/// Runs `ac` inside an existing context.
pub fn dispatch(ctx: &mut Ctx, ac: &str, p: &Params) -> ApiResult<Reply> {
    if let Some((obj, op)) = split_obj(ac) {
        return crate::crud::call(ctx, obj, op, p);
    }
    let starts_lower = ac.starts_with(|c: char| c.is_ascii_lowercase());
    match ctx.state.functions.get(ac) {
        Some(f) if starts_lower => (f.handler)(ctx, p),
        _ => Err(unknown_ac(ac)),
    }
}

/// Identifies a call for logging: its ApiLog id, its ApiLog1 id inside a batch, its debug level.
#[derive(Debug, Clone, Copy)]
pub struct CallIds {
    pub apilog: i64,
    pub apilog1: Option<i64>,
    pub debug: u8,
}

/// A call that has run on a connection, with everything that waits for the commit decision.
pub struct Ran {
    pub result: ApiResult<Reply>,
    after: Vec<super::ctx::AfterCommit>,
    undo: Vec<super::ctx::OnRollback>,
    /// Writes that stand whether or not the call's own writes do (run after its savepoint).
    pub always: Vec<super::ctx::Always>,
    pub debug: Vec<String>,
    pub cookies: Vec<String>,
    /// The caller as the call left it (a login changes it).
    pub auth: Auth,
}

impl Ran {
    /// A call that could not even start (its savepoint failed).
    pub fn failed(e: ApiError) -> Ran {
        Ran {
            result: Err(e),
            after: Vec::new(),
            undo: Vec::new(),
            always: Vec::new(),
            debug: Vec::new(),
            cookies: Vec::new(),
            auth: Auth::guest("user", false),
        }
    }

    /// The call's writes were rolled back with others': undo its side effects, keep what it answered.
    pub fn discard(self) -> (ApiResult<Reply>, Vec<String>, Vec<String>) {
        for f in self.undo {
            f();
        }
        (self.result, self.debug, self.cookies)
    }

    /// Applies the commit outcome: after a successful commit, run the after-commit actions and keep the
    /// result; otherwise undo what the database cannot (written files) and report the error.
    pub fn settle(self, state: &AppState, commit: ApiResult<()>) -> (CallResult, Option<Auth>) {
        let (result, auth) = match (self.result, commit) {
            (Ok(r), Ok(())) => {
                for f in self.after {
                    f(state);
                }
                (Ok(r), Some(self.auth))
            }
            (Ok(_), Err(e)) | (Err(e), _) => {
                for f in self.undo {
                    f();
                }
                (Err(e), None)
            }
        };
        (CallResult { result, debug: self.debug, cookies: self.cookies }, auth)
    }
}

/// Runs `ac` on `conn`, which the caller has put inside a transaction or savepoint (writes) or a
/// [`ReadScope`] (reads: [`run_read`]).
pub fn run_on(state: &AppState, conn: Conn, auth: Auth, ids: CallIds, ac: &str, p: &Params) -> Ran {
    let mut ctx = Ctx::new(state, conn, auth, ids.apilog, ids.debug);
    ctx.apilog1_id = ids.apilog1;
    let result = guarded(|| dispatch(&mut ctx, ac, p));
    Ran {
        result,
        after: ctx.take_after_commit(),
        undo: ctx.take_on_rollback(),
        always: ctx.take_always(),
        debug: std::mem::take(&mut ctx.debug_log),
        cookies: std::mem::take(&mut ctx.set_cookie),
        // Moved out, not copied: the context ends here.
        auth: std::mem::replace(&mut ctx.auth, Auth::nobody()),
    }
}

/// Runs always-actions on the writer's connection, after the savepoint they belong to was settled.
pub fn run_always_in(actions: Vec<super::ctx::Always>) -> Option<Then> {
    if actions.is_empty() {
        return None;
    }
    Some(Box::new(move |conn: Conn| super::ctx::run_always(conn, actions)))
}

/// The read calls that ran more than one statement, by name and app type: they begin a transaction at
/// their first statement; every other read first runs as a single statement (`Snapshot::Single`).
#[derive(Default)]
pub struct SharedSnapshotReads(std::sync::RwLock<crate::FastMap<String, u8>>);

impl SharedSnapshotReads {
    fn bit(app: AppType) -> u8 {
        match app {
            AppType::User => 1,
            AppType::Emp => 2,
            AppType::Admin => 4,
            AppType::Other => 8,
        }
    }

    /// True once `ac` has run more than one statement for `app` in this process.
    pub fn needs_shared(&self, app: AppType, ac: &str) -> bool {
        let seen = self.0.read().unwrap_or_else(|p| p.into_inner());
        seen.get(ac).is_some_and(|bits| bits & Self::bit(app) != 0)
    }

    /// Remembers that `ac` ran more than one statement for `app`. The names are those of calls that ran,
    /// but come from requests: past a cap they are not remembered (such a call then tries one statement
    /// each time, which costs it a voided attempt and nothing else).
    fn note(&self, app: AppType, ac: &str) {
        const CAP: usize = 4096;
        let mut seen = self.0.write().unwrap_or_else(|p| p.into_inner());
        if seen.len() < CAP || seen.contains_key(ac) {
            *seen.entry(ac.to_string()).or_default() |= Self::bit(app);
        }
    }
}

/// Runs a read-only call on a pooled read connection, every statement in one snapshot: a call that runs
/// one statement runs it on its own (no BEGIN, no COMMIT); one that runs more, in a transaction begun at
/// its first statement. Which of the two a call is, is learned per call name and app type: a call not
/// known to run more first runs as a single statement, and if a second one starts, that attempt is
/// dropped whole (answer, cookies, actions) and the call runs again in a transaction
/// (`db::conn::Snapshot`).
///
/// `kept`: the call runs on a runtime thread, which reads on the connection it keeps (`Db::read_kept`).
fn run_read(state: &AppState, auth: &mut Auth, ids: CallIds, ac: &str, p: &Params, kept: bool) -> CallResult {
    let pooled = match if kept { state.db.read_kept() } else { state.db.read() } {
        Ok(c) => c,
        Err(e) => return CallResult::failed(e),
    };
    let conn = pooled.conn();
    let app = auth.app_type;
    let mut mode = if state.shared_reads.needs_shared(app, ac) { Snapshot::Shared } else { Snapshot::Single };
    let (mut ran, began) = loop {
        let scope = ReadScope::enter(conn, mode);
        let ran = run_on(state, conn, auth.clone(), ids, ac, p);
        if scope.voided() {
            drop(scope);
            let _ = ran.discard();
            state.shared_reads.note(app, ac);
            mode = Snapshot::Shared;
            continue;
        }
        break (ran, scope.began());
    };
    let mut commit = Ok(());
    if began {
        let end = if ran.result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        commit = cached(conn, end);
    }
    if conn.in_transaction() {
        let _ = cached(conn, "ROLLBACK");
    }
    // A read call has no write connection; anything it must record goes to the writer.
    if let Some(f) = run_always_in(std::mem::take(&mut ran.always)) {
        let job: Job = Box::new(move |conn: Conn| {
            f(conn);
            JobDone::kept()
        });
        state.db.writer().submit(job);
    }
    let (r, a) = ran.settle(state, commit);
    if let Some(a) = a {
        *auth = a;
    }
    r
}

/// Runs a writing call as a job of the writer: it shares a group commit with other writing calls,
/// inside its own savepoint, and is answered once the commit is decided. The caller awaits that
/// answer without holding a thread: the runtime thread serves other requests meanwhile.
async fn run_write(state: &Arc<AppState>, auth: &mut Auth, ids: CallIds, ac: String, p: Params) -> CallResult {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let st = state.clone();
    let a = auth.clone();
    let job: Job = Box::new(move |conn: Conn| {
        let mut ran = run_on(&st, conn, a, ids, &ac, &p);
        JobDone {
            keep: ran.result.is_ok(),
            then: run_always_in(std::mem::take(&mut ran.always)),
            finish: Box::new(move |commit| {
                let _ = tx.send(ran.settle(&st, commit));
            }),
        }
    });
    if !state.db.writer().submit(job) {
        return CallResult::failed(ApiError::server("the writer has stopped"));
    }
    match rx.await {
        Ok((r, a)) => {
            if let Some(a) = a {
                *auth = a;
            }
            r
        }
        Err(_) => CallResult::failed(ApiError::server("write job lost")),
    }
}

/// Output formats that may turn a query into seconds of work (whole tables, spreadsheets).
const EXPORT_FORMATS: [&str; 6] = ["excel", "csv", "excelcsv", "txt", "html", "xlsx"];

/// True if a call must run on the blocking pool rather than on the runtime thread that read it.
///
/// Most calls are a few index lookups: they run where the request is, on one of the runtime's threads
/// (one per core), with no hand-off to another thread and back, which on two cores cost more than the
/// call itself. What may take long goes to the pool instead, so that it cannot stall the other
/// connections of its thread: batches (a writer job of many calls), functions declared blocking (file
/// reads, `execSql`), prepare phases (image work, password hashing) and exports or very large pages.
pub fn runs_on_pool(state: &AppState, req: &Request) -> bool {
    // PostgreSQL's client blocks on the network: a call waiting on it would stall its task thread.
    if req.ac == "batch" || state.db.is_pg() {
        return true;
    }
    if let Some(f) = state.functions.get(&req.ac) {
        return f.blocking || f.prepare.is_some();
    }
    big_read(&req.params)
}

/// True if the read parameters may ask for many rows: an export format, a page size above 500 (or
/// negative: the object's cap), or a whole-result format (`fmt=array`, `hash`, `tree`) with no page
/// size, which reads up to the object's cap (10,000 rows by default).
fn big_read(p: &Params) -> bool {
    let fmt = p.str("fmt").or_else(|| p.str("_fmt")).unwrap_or_default();
    use crate::crud::select::{reads_whole, PAGE_SIZE_PARAMS};
    let size = PAGE_SIZE_PARAMS.iter().find_map(|k| p.str(k)).map(|v| v.parse::<i64>().ok());
    let big_page = match size {
        Some(Some(n)) => !(0..=500).contains(&n),
        // Not a number: refused by the read itself, which then costs nothing.
        Some(None) => false,
        None => reads_whole(&fmt),
    };
    EXPORT_FORMATS.contains(&fmt.as_str()) || big_page
}

/// Runs `f` on the blocking pool, handing `input` over and back (a panic there is an E_SERVER answer
/// already: every closure passed here runs its call through [`guarded`]).
async fn pooled<I: Send + 'static, O: Send + 'static>(
    input: I,
    f: impl FnOnce(I) -> (I, O) + Send + 'static,
) -> (I, O) {
    tokio::task::spawn_blocking(move || f(input)).await.expect("pooled call panicked outside its guard")
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

/// Handles one request; `pre_error` is a failure found while reading it (bad route, body too large),
/// answered and logged like any other failed call. Runs on the runtime thread that read the request;
/// see [`runs_on_pool`] for what moves to the blocking pool.
pub async fn handle(state: Arc<AppState>, mut req: Request, pre_error: Option<ApiError>) -> Output {
    let t0 = Instant::now();
    let state = &state;
    let cfg = &state.config;
    let test_mode = cfg.test_mode;
    let mut auth = Auth::guest(&req.app, test_mode);
    let debug = req.params.str("_debug").and_then(|s| s.parse::<u8>().ok()).unwrap_or(cfg.debug).min(9);
    let opts = Options::from_params(&req.params, test_mode);
    if let Some(tok) = &req.token {
        match state.sessions.lookup_and_touch(&state.db, tok, auth.app_type) {
            Ok(Some(l)) => {
                auth.login = Some(l);
                auth.token = Some(tok.clone());
            }
            Ok(None) => {}
            Err(e) => log::error!("session lookup: {e}"),
        }
    }
    let start_ses = auth.login.as_ref().map(|l| l.session_id);
    let start_user = auth.log_user_id();
    let apilog_id = match state.apilog.next_id() {
        Ok(id) => id,
        Err(e) => {
            // Without an id the call cannot be logged, so it is not run (the writer is stuck or gone).
            log::error!("{}: {e:?}", req.ac);
            let (content_type, body) = envelope::render(&Err(e), &[], &opts);
            return Output { status: 200, content_type: content_type.into(), headers: Vec::new(), body };
        }
    };

    let mut log_ac = req.ac.clone();
    let req_text = crate::log::req_text(&req.params);
    let ids = CallIds { apilog: apilog_id, apilog1: None, debug };
    let on_pool = pre_error.is_none() && runs_on_pool(state, &req);
    let call = if let Some(e) = pre_error {
        CallResult::failed(e)
    } else if req.ac == "batch" {
        let st = state.clone();
        let r = pooled((auth, req), move |(mut auth, req)| {
            let r = batch::run(&st, &mut auth, &req, apilog_id, debug);
            ((auth, req), r)
        })
        .await;
        let ((a, rq), (call, ac)) = r;
        (auth, req) = (a, rq);
        log_ac = ac;
        call
    } else if call_writes(state, &req.ac) {
        let mut params = std::mem::take(&mut req.params);
        let prepared = match state.functions.get(&req.ac).and_then(|f| f.prepare) {
            Some(prepare) => {
                let st = state.clone();
                let ((a, p), r) = pooled((auth, params), move |(auth, mut p)| {
                    let r = guarded(|| prepare(&st, &auth, &mut p));
                    ((auth, p), r)
                })
                .await;
                (auth, params) = (a, p);
                r
            }
            None => Ok(()),
        };
        match prepared {
            Ok(()) => run_write(state, &mut auth, ids, req.ac.clone(), params).await,
            Err(e) => CallResult::failed(e),
        }
    } else if on_pool {
        let st = state.clone();
        let ((a, rq), r) = pooled((auth, req), move |(mut auth, req)| {
            let r = run_read(&st, &mut auth, ids, &req.ac, &req.params, false);
            ((auth, req), r)
        })
        .await;
        (auth, req) = (a, rq);
        r
    } else {
        run_read(state, &mut auth, ids, &req.ac, &req.params, true)
    };

    let mut headers: Vec<(String, String)> =
        call.cookies.iter().map(|c| ("Set-Cookie".to_string(), c.clone())).collect();
    let (status, content_type, body, retval, res_text) = match call.result {
        Ok(Reply::Raw(raw)) => {
            headers.extend(raw.headers);
            let note = raw.log_res.unwrap_or_else(|| format!("[raw {} {}B]", raw.content_type, raw.body.len()));
            (raw.status, raw.content_type, raw.body, 0, note)
        }
        Ok(Reply::Json(text)) => {
            let (ct, body) = envelope::render_text(&text, &call.debug, &opts);
            let res = crate::log::res_text(&body, 200);
            (200, ct.to_string(), body, 0, res)
        }
        Ok(Reply::Data(v)) => {
            let r: Result<Value, ApiError> = Ok(v);
            let (ct, body) = envelope::render(&r, &call.debug, &opts);
            // Tokens handed out by login/chpwd/refreshToken never reach the log (managers read it).
            let res = crate::log::res_text(&body, 200);
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
            let res = crate::log::res_text(&body, 2000);
            (200, ct.to_string(), body, retval, res)
        }
    };
    if debug > 0 && !test_mode {
        for d in &call.debug {
            log::info!("[debug] {d}");
        }
    }

    let took = t0.elapsed();
    let t = took.as_millis() as i64;
    if t > 1000 {
        log::warn!("slow call {} took {t}ms", req.ac);
    }
    state.summary.record(retval, took.as_micros() as u64);
    state.apilog.log(ApiLogRow {
        id: apilog_id,
        tm: crate::db::now_str(),
        // The request's texts are moved into the row, copied only when cut.
        addr: truncate_owned(std::mem::take(&mut req.addr), 50),
        ua: truncate_owned(std::mem::take(&mut req.ua), 250),
        app: truncate_owned(std::mem::take(&mut req.app), 50),
        ses: auth.login.as_ref().map(|l| l.session_id).or(start_ses).map(|s| s.to_string()).unwrap_or_default(),
        user_id: start_user.or(auth.log_user_id()),
        ac: truncate_owned(log_ac, 50),
        t,
        retval,
        req: req_text,
        res: res_text,
        reqsz: req.reqsz,
        ressz: body.len() as i64,
        ver: truncate_owned(std::mem::take(&mut req.ver), 50),
        server_rev: cfg.server_rev.clone(),
    });
    Output { status, content_type, headers, body }
}

#[cfg(test)]
mod tests {
    use super::big_read;
    use crate::api::params::Params;

    fn params(kv: &[(&str, &str)]) -> Params {
        Params::from_url(kv.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect())
    }

    #[test]
    fn reads_of_many_rows_go_to_the_pool_and_pages_stay_where_they_are() {
        for (kv, big) in [
            (&[][..], false),
            (&[("fmt", "list")][..], false),
            (&[("fmt", "one")][..], false),
            (&[("pagesz", "500")][..], false),
            (&[("pagesz", "501")][..], true),
            (&[("rows", "-1")][..], true),
            (&[("fmt", "csv")][..], true),
            (&[("_fmt", "xlsx"), ("pagesz", "20")][..], true),
            // Whole-result formats read up to the object's cap unless a page size is given.
            (&[("fmt", "array")][..], true),
            (&[("fmt", "hash:id,name")][..], true),
            (&[("fmt", "multihash")][..], true),
            (&[("fmt", "tree")][..], true),
            (&[("fmt", "array"), ("pagesz", "50")][..], false),
            (&[("fmt", "array"), ("pagesz", "x")][..], false),
        ] {
            assert_eq!(big_read(&params(kv)), big, "{kv:?}");
        }
    }
}
