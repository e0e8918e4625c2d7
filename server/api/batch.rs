//! `batch`: several calls in one request, with references between them (protocol §1.8).
//!
//! Body: `[{ac, get?, post?, ref?}, ...]`. Keys listed in `ref` are evaluated against earlier results:
//! `{$1}` is the data of call 1, `{$-1}` of the previous call; `.name` and `[i]` reach inside; `+ - * /`
//! combine numbers. A whole-string `{...}` keeps the typed value, embedded ones are stringified.
//! Without `useTrans` each call commits on its own; with it, one transaction, and after the first
//! failure the rest are cancelled (`-100`) and everything is rolled back.

use std::time::Instant;

use rusqlite::TransactionBehavior;
use serde_json::{json, Map, Value};

use super::auth::Auth;
use super::ctx::{Ctx, Reply};
use super::dispatch::{dispatch, guarded, run_in_tx, CallIds, CallResult, Request};
use super::params::{value_to_string, Params};
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
pub fn run(state: &AppState, auth: &mut Auth, req: &Request, apilog_id: i64, debug: u8) -> (CallResult, String) {
    let subs = match (req.post, parse(&req.params.body)) {
        (false, _) => Err(ApiError::bad_param("batch requires POST")),
        (_, r) => r,
    };
    let subs = match subs {
        Ok(s) => s,
        Err(e) => return (CallResult { result: Err(e), debug: vec![], cookies: vec![] }, "batch".into()),
    };
    let use_trans = req.params.flag("useTrans").unwrap_or(false);
    let names: Vec<&str> = subs.iter().map(|s| s.as_ref().map(|s| s.ac.as_str()).unwrap_or("?")).collect();
    let log_ac = truncate(&format!("batch:{},{}", subs.len(), names.join(",")), 50);

    let mut conn = state.db.write();
    let mut results: Vec<Value> = Vec::new();
    let mut datas: Vec<Value> = Vec::new();
    let mut debug_out = Vec::new();
    let mut cookies = Vec::new();

    let one = |sub: &Sub, datas: &[Value]| -> ApiResult<Params> {
        let get = eval_part(&sub.get, &sub.refs, datas)?;
        let post = eval_part(&sub.post, &sub.refs, datas)?;
        let url = match get {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => return Err(ApiError::bad_param("batch: `get` must be an object")),
        };
        Ok(Params::with_body(url, post))
    };

    let record = |state: &AppState, ac: &str, p: Option<&Params>, r: &Result<Value, ApiError>, t: Instant, id1: i64| {
        let env = super::envelope::envelope(r, &[], &Default::default());
        state.apilog.log1(ApiLog1Row {
            id: id1,
            api_log_id: apilog_id,
            ac: truncate(ac, 50),
            t: t.elapsed().as_millis() as i64,
            retval: r.as_ref().err().map(|e| e.code.number() as i64).unwrap_or(0),
            req: p.map(crate::log::req_text).unwrap_or_default(),
            res: truncate(&env.to_string(), 200),
        });
        env
    };

    if use_trans {
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => return (CallResult { result: Err(e.into()), debug: vec![], cookies: vec![] }, log_ac),
        };
        let mut ctx = Ctx::new(state, &tx, auth.clone(), apilog_id, debug);
        let mut failed = false;
        for sub in &subs {
            let t = Instant::now();
            let id1 = state.apilog.next_id1();
            let (ac, p, r) = match sub {
                _ if failed => {
                    let e = ApiError::with_msg(Code::Abort, "事务失败，取消执行").internal("batch call cancelled.");
                    (names_of(sub), None, Err(e))
                }
                Err(e) => (names_of(sub), None, Err(e.clone())),
                Ok(s) => {
                    ctx.apilog1_id = Some(id1);
                    let p = one(s, &datas);
                    let r = match &p {
                        Ok(p) => guarded(|| dispatch(&mut ctx, &s.ac, p)).and_then(data_of),
                        Err(e) => Err(e.clone()),
                    };
                    (s.ac.clone(), p.ok(), r)
                }
            };
            failed |= r.is_err();
            datas.push(r.as_ref().cloned().unwrap_or(Value::Null));
            results.push(record(state, &ac, p.as_ref(), &r, t, id1));
        }
        let after = ctx.take_after_commit();
        let undo = ctx.take_on_rollback();
        debug_out.append(&mut ctx.debug_log);
        cookies.append(&mut ctx.set_cookie);
        let new_auth = ctx.auth.clone();
        drop(ctx);
        if failed {
            drop(tx);
            undo.into_iter().for_each(|f| f());
        } else {
            match tx.commit() {
                Ok(()) => {
                    for f in after {
                        f(state);
                    }
                    *auth = new_auth;
                }
                Err(e) => {
                    undo.into_iter().for_each(|f| f());
                    return (CallResult { result: Err(e.into()), debug: debug_out, cookies: vec![] }, log_ac);
                }
            }
        }
    } else {
        for sub in &subs {
            let t = Instant::now();
            let id1 = state.apilog.next_id1();
            let (ac, p, r) = match sub {
                Err(e) => (names_of(sub), None, Err(e.clone())),
                Ok(s) => match one(s, &datas) {
                    Err(e) => (s.ac.clone(), None, Err(e)),
                    Ok(p) => {
                        let mut cr = run_in_tx(
                            state,
                            &mut conn,
                            TransactionBehavior::Immediate,
                            auth,
                            CallIds { apilog: apilog_id, apilog1: Some(id1), debug },
                            &s.ac,
                            &p,
                        );
                        debug_out.append(&mut cr.debug);
                        cookies.append(&mut cr.cookies);
                        (s.ac.clone(), Some(p), cr.result.and_then(data_of))
                    }
                },
            };
            datas.push(r.as_ref().cloned().unwrap_or(Value::Null));
            results.push(record(state, &ac, p.as_ref(), &r, t, id1));
        }
    }
    (CallResult { result: Ok(Reply::Data(Value::Array(results))), debug: debug_out, cookies }, log_ac)
}

fn names_of(sub: &Result<Sub, ApiError>) -> String {
    sub.as_ref().map(|s| s.ac.clone()).unwrap_or_default()
}

fn data_of(r: Reply) -> ApiResult<Value> {
    match r {
        Reply::Data(v) => Ok(v),
        Reply::Raw(_) => Err(ApiError::bad_param("batch: a call with raw output cannot be batched")),
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
