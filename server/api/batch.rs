//! `batch`: several calls in one request, with references between them (protocol §1.8).
//!
//! Body: `[{ac, get?, post?, ref?}, ...]`. Keys listed in `ref` are evaluated against earlier results:
//! `{$1}` is the data of call 1, `{$-1}` of the previous call; `.name` and `[i]` reach inside; `+ - * /`
//! combine numbers. A whole-string `{...}` keeps the typed value, embedded ones are stringified.
//! The batch runs as one job of the writer. Without `useTrans` each call has its own savepoint (a
//! failing call undoes only itself); with it, after the first failure the rest are cancelled (`-100`)
//! and everything is rolled back.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use crate::db::conn::Conn;
use serde_json::{json, Map, Value};

use super::auth::Auth;
use super::ctx::Reply;
use super::dispatch::{run_on, CallIds, CallResult, Ran, Request};
use super::params::{value_to_string, Params};
use crate::db::writer::{Job, JobDone};
use crate::error::{ApiError, ApiResult, Code};
use crate::log::apilog::{truncate, ApiLog1Row};
use crate::state::AppState;

/// One parsed sub-call.
struct Sub {
    ac: String,
    get: Value,
    post: Value,
    refs: Vec<String>,
}

fn parse(body: &Value) -> ApiResult<Vec<Result<Sub, ApiError>>> {
    let Value::Array(items) = body else {
        return Err(ApiError::bad_param("batch requires a POST body that is a JSON array"));
    };
    Ok(items
        .iter()
        .map(|it| {
            let ac = it.get("ac").and_then(Value::as_str).filter(|s| !s.is_empty());
            let Some(ac) = ac else {
                return Err(ApiError::with_msg(Code::Param, "参数错误").internal("bad batch request: require `ac'"));
            };
            let refs = match it.get("ref") {
                Some(Value::Array(a)) => a.iter().map(value_to_string).collect(),
                Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
                _ => Vec::new(),
            };
            Ok(Sub {
                ac: ac.to_string(),
                get: it.get("get").cloned().unwrap_or(Value::Null),
                post: it.get("post").cloned().unwrap_or(Value::Null),
                refs,
            })
        })
        .collect())
}

/// Runs a batch; returns the call result and the ApiLog `ac` text (`batch:N,ac1,...`).
pub fn run(state: &Arc<AppState>, auth: &mut Auth, req: &Request, apilog_id: i64, debug: u8) -> (CallResult, String) {
    let subs = match (req.post, parse(&req.params.body)) {
        (false, _) => Err(ApiError::bad_param("batch requires POST")),
        (_, r) => r,
    };
    let subs = match subs {
        Ok(s) => s,
        Err(e) => return (CallResult::failed(e), "batch".into()),
    };
    let use_trans = req.params.flag("useTrans").unwrap_or(false);
    let names: Vec<&str> = subs.iter().map(|s| s.as_ref().map(|s| s.ac.as_str()).unwrap_or("?")).collect();
    let log_ac = truncate(&format!("batch:{},{}", subs.len(), names.join(",")), 50);

    // The sub-calls' ApiLog1 ids, taken here and not in the writer's job: a block reservation is itself a
    // writer job, which the writer could not run while it waited inside this one.
    let ids1: Vec<i64> = match (0..subs.len()).map(|_| state.apilog.next_id1()).collect::<ApiResult<_>>() {
        Ok(v) => v,
        Err(e) => return (CallResult::failed(e), log_ac),
    };
    let (tx, rx) = sync_channel(1);
    let st = state.clone();
    let auth0 = auth.clone();
    let job: Job = Box::new(move |conn: Conn| {
        let mut cur = auth0;
        let mut datas: Vec<Value> = Vec::new();
        let mut items: Vec<Item> = Vec::new();
        let mut failed = false;
        let mut always_later = Vec::new();
        for (sub, id1) in subs.into_iter().zip(ids1) {
            let t = Instant::now();
            let name = names_of(&sub);
            let (ac, params, outcome) = match sub {
                _ if use_trans && failed => {
                    let e = ApiError::with_msg(Code::Abort, "事务失败，取消执行").internal("batch call cancelled.");
                    (name, None, Outcome::Failed(e))
                }
                Err(e) => (name, None, Outcome::Failed(e)),
                Ok(s) => match params_of(&s, &datas) {
                    Err(e) => (s.ac, None, Outcome::Failed(e)),
                    Ok(p) => {
                        let ids = CallIds { apilog: apilog_id, apilog1: Some(id1), debug };
                        let mut ran = savepoint(conn, !use_trans, |c| run_on(&st, c, cur.clone(), ids, &s.ac, &p));
                        if use_trans {
                            always_later.append(&mut ran.always);
                        } else {
                            super::ctx::run_always(conn, std::mem::take(&mut ran.always));
                        }
                        if ran.result.is_ok() {
                            cur = ran.auth.clone();
                        }
                        (s.ac, Some(p), Outcome::Ran(Box::new(ran)))
                    }
                },
            };
            let data = match &outcome {
                Outcome::Ran(r) => match &r.result {
                    Ok(reply) => reply.value().unwrap_or(Value::Null),
                    Err(_) => Value::Null,
                },
                _ => Value::Null,
            };
            failed |= !matches!(&outcome, Outcome::Ran(r) if r.result.is_ok());
            datas.push(data);
            items.push(Item { ac, params, id1, ms: t.elapsed().as_millis() as i64, outcome });
        }
        let keep = !(use_trans && failed);
        JobDone {
            keep,
            then: super::dispatch::run_always_in(always_later),
            finish: Box::new(move |commit| {
                let _ = tx.send(settle_all(&st, items, keep, commit, apilog_id));
            }),
        }
    });
    if !state.db.writer().submit(job) {
        return (CallResult::failed(ApiError::server("the writer has stopped")), log_ac);
    }
    let out = match rx.recv() {
        Ok(o) => o,
        Err(_) => return (CallResult::failed(ApiError::server("batch job lost")), log_ac),
    };
    for row in out.logs1 {
        state.apilog.log1(row);
    }
    if let Some(a) = out.auth {
        *auth = a;
    }
    (CallResult { result: Ok(Reply::Data(Value::Array(out.results))), debug: out.debug, cookies: out.cookies }, log_ac)
}

/// A sub-call's result before the commit decision.
enum Outcome {
    Ran(Box<Ran>),
    /// Never ran: bad item, bad reference, or cancelled by an earlier failure.
    Failed(ApiError),
}

/// A sub-call as run inside the batch job.
struct Item {
    ac: String,
    params: Option<Params>,
    id1: i64,
    ms: i64,
    outcome: Outcome,
}

/// What the batch job hands back to the caller.
struct BatchOut {
    results: Vec<Value>,
    logs1: Vec<ApiLog1Row>,
    debug: Vec<String>,
    cookies: Vec<String>,
    auth: Option<Auth>,
}

/// Runs `f` inside its own savepoint when `own` (kept on success, rolled back on failure).
fn savepoint(conn: Conn, own: bool, f: impl FnOnce(Conn) -> Ran) -> Ran {
    if !own {
        return f(conn);
    }
    if let Err(e) = conn.execute_batch("SAVEPOINT sub") {
        return Ran::failed(e);
    }
    let ran = f(conn);
    let end = if ran.result.is_ok() { "RELEASE sub" } else { "ROLLBACK TO sub; RELEASE sub" };
    if let Err(e) = conn.execute_batch(end) {
        log::error!("batch savepoint: {e}");
    }
    ran
}

/// After the commit decision: each sub-call's envelope and ApiLog1 row; the caller as the batch left it.
fn settle_all(state: &AppState, items: Vec<Item>, keep: bool, commit: ApiResult<()>, apilog_id: i64) -> BatchOut {
    let mut out =
        BatchOut { results: Vec::new(), logs1: Vec::new(), debug: Vec::new(), cookies: Vec::new(), auth: None };
    for it in items {
        let r: Result<Value, ApiError> = match it.outcome {
            Outcome::Failed(e) => Err(e),
            // useTrans with a failure: every call's writes are gone; earlier calls still show what they
            // answered (as the reference does), and their non-database effects are undone.
            Outcome::Ran(ran) if !keep => {
                let (shown, debug, cookies) = ran.discard();
                out.debug.extend(debug);
                let _ = cookies;
                shown.and_then(data_of)
            }
            Outcome::Ran(ran) => {
                let (mut cr, a) = ran.settle(state, commit.clone());
                out.debug.append(&mut cr.debug);
                out.cookies.append(&mut cr.cookies);
                if a.is_some() {
                    out.auth = a;
                }
                cr.result.and_then(data_of)
            }
        };
        let env = super::envelope::envelope(&r, &[], &Default::default());
        out.logs1.push(ApiLog1Row {
            id: it.id1,
            api_log_id: apilog_id,
            ac: truncate(&it.ac, 50),
            t: it.ms,
            retval: r.as_ref().err().map(|e| e.code.number() as i64).unwrap_or(0),
            req: it.params.as_ref().map(crate::log::req_text).unwrap_or_default(),
            res: crate::log::res_text(env.to_string().as_bytes(), 200),
        });
        out.results.push(env);
    }
    out
}

/// The parameters of a sub-call, with its references evaluated against earlier results.
fn params_of(sub: &Sub, datas: &[Value]) -> ApiResult<Params> {
    let get = eval_part(&sub.get, &sub.refs, datas)?;
    let post = eval_part(&sub.post, &sub.refs, datas)?;
    let url = match get {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => return Err(ApiError::bad_param("batch: `get` must be an object")),
    };
    Ok(Params::with_body(url, post))
}

fn names_of(sub: &Result<Sub, ApiError>) -> String {
    sub.as_ref().map(|s| s.ac.clone()).unwrap_or_default()
}

fn data_of(r: Reply) -> ApiResult<Value> {
    match r {
        Reply::Raw(_) => Err(ApiError::bad_param("batch: a call with raw output cannot be batched")),
        other => Ok(other.into_value().unwrap_or(Value::Null)),
    }
}

/// Evaluates the `ref` keys of a `get`/`post` part (a string part is evaluated whole).
fn eval_part(part: &Value, refs: &[String], datas: &[Value]) -> ApiResult<Value> {
    match part {
        Value::String(s) => {
            let v = subst(s, datas)?;
            match v {
                Value::Object(_) => Ok(v),
                Value::String(s) => serde_json::from_str::<Value>(&s)
                    .ok()
                    .filter(Value::is_object)
                    .ok_or_else(|| ApiError::bad_param("batch: a string get/post must evaluate to an object")),
                _ => Err(ApiError::bad_param("batch: a string get/post must evaluate to an object")),
            }
        }
        Value::Object(m) => {
            let mut out = m.clone();
            for k in refs {
                if let Some(Value::String(s)) = m.get(k) {
                    out.insert(k.clone(), subst(s, datas)?);
                }
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// Replaces `{...}` expressions in a string.
pub fn subst(s: &str, datas: &[Value]) -> ApiResult<Value> {
    let t = s.trim();
    if t.starts_with('{') && t.ends_with('}') && t[1..].find('{').is_none() && t.matches('}').count() == 1 {
        return eval(&t[1..t.len() - 1], datas);
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{$") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            return Err(ApiError::bad_param("batch: unclosed `{` in reference"));
        };
        let v = eval(&rest[i + 1..i + j], datas)?;
        out.push_str(&match v {
            Value::Null => "null".to_string(),
            Value::String(s) => s,
            other => other.to_string(),
        });
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// Evaluates `$N`, `$-N`, `.name`, `[i]`, numbers and `+ - * /` (left to right, `* /` first).
pub fn eval(expr: &str, datas: &[Value]) -> ApiResult<Value> {
    let toks = tokenize(expr)?;
    let mut pos = 0;
    let v = sum(&toks, &mut pos, datas)?;
    if pos != toks.len() {
        return Err(ApiError::bad_param(format!("batch: bad reference `{expr}`")));
    }
    Ok(v)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ref(i64),
    Num(f64),
    Member(String),
    Index(usize),
    Op(char),
}

fn tokenize(s: &str) -> ApiResult<Vec<Tok>> {
    let bad = || ApiError::bad_param(format!("batch: bad reference `{s}`"));
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        match c[i] {
            ' ' => i += 1,
            '$' => {
                let st = i + 1;
                i += 1;
                if i < c.len() && c[i] == '-' {
                    i += 1;
                }
                while i < c.len() && c[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Ref(c[st..i].iter().collect::<String>().parse().map_err(|_| bad())?));
            }
            '.' => {
                let st = i + 1;
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                if st == i {
                    return Err(bad());
                }
                out.push(Tok::Member(c[st..i].iter().collect()));
            }
            '[' => {
                let end = c[i..].iter().position(|&x| x == ']').ok_or_else(bad)? + i;
                out.push(Tok::Index(c[i + 1..end].iter().collect::<String>().trim().parse().map_err(|_| bad())?));
                i = end + 1;
            }
            '+' | '-' | '*' | '/' => {
                out.push(Tok::Op(c[i]));
                i += 1;
            }
            d if d.is_ascii_digit() => {
                let st = i;
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                    i += 1;
                }
                out.push(Tok::Num(c[st..i].iter().collect::<String>().parse().map_err(|_| bad())?));
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

fn num(v: &Value) -> ApiResult<f64> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| ApiError::bad_param("batch: not a number")),
        Value::String(s) => s.parse().map_err(|_| ApiError::bad_param("batch: not a number")),
        Value::Null => Ok(0.0),
        _ => Err(ApiError::bad_param("batch: not a number")),
    }
}

fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

fn sum(t: &[Tok], pos: &mut usize, d: &[Value]) -> ApiResult<Value> {
    let mut v = product(t, pos, d)?;
    while let Some(Tok::Op(op @ ('+' | '-'))) = t.get(*pos) {
        *pos += 1;
        let r = product(t, pos, d)?;
        v = number(if *op == '+' { num(&v)? + num(&r)? } else { num(&v)? - num(&r)? });
    }
    Ok(v)
}

fn product(t: &[Tok], pos: &mut usize, d: &[Value]) -> ApiResult<Value> {
    let mut v = operand(t, pos, d)?;
    while let Some(Tok::Op(op @ ('*' | '/'))) = t.get(*pos) {
        *pos += 1;
        let r = num(&operand(t, pos, d)?)?;
        if *op == '/' && r == 0.0 {
            return Err(ApiError::bad_param("batch: division by zero"));
        }
        v = number(if *op == '*' { num(&v)? * r } else { num(&v)? / r });
    }
    Ok(v)
}

fn operand(t: &[Tok], pos: &mut usize, d: &[Value]) -> ApiResult<Value> {
    let mut v = match t.get(*pos) {
        Some(Tok::Num(n)) => number(*n),
        Some(Tok::Ref(n)) => {
            // $N is 1-based from the start; $-N counts back from the current call.
            let idx = if *n > 0 { *n - 1 } else { d.len() as i64 + *n };
            if idx < 0 || idx as usize >= d.len() {
                return Err(ApiError::bad_param(format!("batch: reference ${n} is out of range")));
            }
            d[idx as usize].clone()
        }
        _ => return Err(ApiError::bad_param("batch: bad reference")),
    };
    *pos += 1;
    loop {
        match t.get(*pos) {
            Some(Tok::Member(m)) => v = v.get(m).cloned().unwrap_or(Value::Null),
            Some(Tok::Index(i)) => v = v.get(*i).cloned().unwrap_or(Value::Null),
            _ => break,
        }
        *pos += 1;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_keep_types_when_whole_and_stringify_when_embedded() {
        let d = vec![json!(7), json!({"id": 9, "d": [[1, 2]]})];
        assert_eq!(subst("{$1}", &d).unwrap(), json!(7));
        assert_eq!(subst("{$-1.id}", &d).unwrap(), json!(9));
        assert_eq!(subst("{$-1.d[0][1]}", &d).unwrap(), json!(2));
        assert_eq!(subst("id in ({$1}, {$2.id})", &d).unwrap(), json!("id in (7, 9)"));
        assert_eq!(subst("{$2.id - $1}", &d).unwrap(), json!(2));
        assert_eq!(subst("{$1 * 2 + 1}", &d).unwrap(), json!(15));
    }

    #[test]
    fn bad_references_are_errors_not_panics() {
        let d = vec![json!(1)];
        for s in ["{$3}", "{$0}", "{$1 +}", "{foo}", "{$1.}", "{$1 / 0}", "{$-2}"] {
            assert!(subst(s, &d).is_err(), "{s}");
        }
        assert_eq!(subst("{$1.x}", &d).unwrap(), Value::Null);
    }
}
