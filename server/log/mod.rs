//! Call logging: ApiLog/ApiLog1 through a batched background writer, and the request/response text
//! that goes into them (masking, truncation; protocol §7). ObjLog rows are business data and are
//! written inside the call's transaction by [`objlog::row`].

pub mod apilog;
pub mod ids;
pub mod objlog;
pub mod summary;

use serde_json::Value;

use crate::api::params::{value_to_string, Params};

/// Request fields never logged in clear, at any depth (a batch body nests whole calls).
const SECRET: [&str; 3] = ["pwd", "oldpwd", "token"];

/// True if any object inside `v` has one of `keys`.
fn has_key(v: &Value, keys: &[&str]) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| keys.contains(&k.as_str()) || has_key(x, keys)),
        Value::Array(a) => a.iter().any(|x| has_key(x, keys)),
        _ => false,
    }
}

/// A copy of `v` with the values of `keys` shown as `?` at any depth; `None` when there are none
/// (the common case, so nothing is copied).
fn mask(v: &Value, keys: &[&str]) -> Option<Value> {
    fn walk(v: &mut Value, keys: &[&str]) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if keys.contains(&k.as_str()) {
                        *x = Value::String("?".into());
                    } else {
                        walk(x, keys);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, keys)),
            _ => {}
        }
    }
    if !has_key(v, keys) {
        return None;
    }
    let mut v = v.clone();
    walk(&mut v, keys);
    Some(v)
}

/// `bytes` as text when they are UTF-8 up to a cut made by a byte bound (a character cut at the end is
/// left out); `None` when they are not text.
fn text_before_cut(bytes: &[u8]) -> Option<&str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

/// What ApiLog records as `res`: the first `n` characters of a response body, with every `_token`
/// value shown as `?` (managers read the log; a batch nests login replies). Works on the text
/// prefix, so a large query result is neither walked nor fully decoded.
pub fn res_text(body: &[u8], n: usize) -> String {
    // n characters take at most 4n bytes of UTF-8; a token cut by that bound is masked to the end.
    let cut = &body[..body.len().min(n * 4 + 80)];
    let prefix = match text_before_cut(cut) {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => String::from_utf8_lossy(cut),
    };
    if !prefix.contains("\"_token\"") {
        return apilog::truncate(&prefix, n);
    }
    apilog::truncate(&mask_tokens(&prefix), n)
}

/// Replaces the value of every `"_token"` key (compact or pretty JSON) with `?`.
fn mask_tokens(s: &str) -> String {
    const KEY: &str = "\"_token\"";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(KEY) {
        let after = &rest[i + KEY.len()..];
        let value_at = after.trim_start().strip_prefix(':').map(str::trim_start).and_then(|v| v.strip_prefix('"'));
        let Some(value) = value_at else {
            out.push_str(&rest[..i + KEY.len()]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..i + KEY.len()]);
        out.push_str(":\"?\"");
        rest = match value.find('"') {
            Some(end) => &value[end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// JSON text of a request value with its secrets masked.
fn secret_free(v: &Value) -> String {
    mask(v, &SECRET).unwrap_or_else(|| v.clone()).to_string()
}

fn push_map(out: &mut String, m: &serde_json::Map<String, Value>) {
    let mut first = true;
    for (k, v) in m {
        if !first {
            out.push_str(", ");
        }
        first = false;
        out.push_str(k);
        out.push('=');
        if SECRET.contains(&k.as_str()) {
            out.push('?');
        } else {
            match v {
                Value::Object(_) | Value::Array(_) => {
                    out.push_str("obj:");
                    out.push_str(&secret_free(v));
                }
                _ => out.push_str(&value_to_string(v)),
            }
        }
    }
}

/// The `req` text of a call: URL params, then `;\n` and body params (or the raw body), each part
/// at most 2000 characters, secrets shown as `?`.
pub fn req_text(p: &Params) -> String {
    let mut url = String::new();
    push_map(&mut url, &p.url);
    let mut body = String::new();
    match &p.body {
        Value::Object(m) => push_map(&mut body, m),
        Value::Null => {
            if !p.raw.is_empty() {
                // Binary bodies (raw uploads) are noted by size instead of filling the log with mojibake.
                body = match text_before_cut(&p.raw[..p.raw.len().min(4000)]) {
                    Some(s) => s.to_string(),
                    None => format!("[binary {}B]", p.raw.len()),
                };
                // A text import (batchAdd) whose header names a secret column carries passwords in
                // every row: note its size instead.
                let header = body.lines().next().unwrap_or("");
                if header.split(['\t', ',', ' ']).any(|h| SECRET.contains(&h.trim().trim_matches('"'))) {
                    body = format!("[text with a secret column {}B]", p.raw.len());
                }
            }
        }
        other => body = secret_free(other),
    }
    for f in &p.files {
        body.push_str(&format!(" file:{}({}B)", f.file_name.as_deref().unwrap_or(""), f.data.len()));
    }
    let mut s = apilog::truncate(&url, 2000);
    if !body.is_empty() {
        s.push_str(";\n");
        s.push_str(&apilog::truncate(&body, 2000));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_imports_with_a_password_column_are_not_logged() {
        let p = Params { raw: bytes::Bytes::from_static(b"uname\tpwd\nli\tsecret1\n"), ..Default::default() };
        let t = req_text(&p);
        assert!(!t.contains("secret1"), "{t}");
        assert!(t.contains("secret column"));
        let p = Params { raw: bytes::Bytes::from_static(b"name,phone\nli,138\n"), ..Default::default() };
        assert!(req_text(&p).contains("li,138"));
    }

    #[test]
    fn passwords_are_masked_and_nested_values_marked() {
        let p = Params::with_body(
            json!({"ac": "login"}).as_object().unwrap().clone(),
            json!({"uname": "a", "pwd": "secret", "cond": {"x": 1}}),
        );
        let t = req_text(&p);
        assert_eq!(t, "ac=login;\nuname=a, pwd=?, cond=obj:{\"x\":1}");
        assert!(!t.contains("secret"));
    }

    #[test]
    fn tokens_in_logged_replies_are_masked_even_when_cut_or_pretty() {
        let body = br#"[0,{"id":1,"_token":"abcdef","_expire":9}]"#;
        assert_eq!(res_text(body, 200), r#"[0,{"id":1,"_token":"?","_expire":9}]"#);
        let batch = br#"[0,[[0,{"_token":"t1"}],[0,"OK"],[0,{"_token" : "t2"}]]]"#;
        assert_eq!(res_text(batch, 200), r#"[0,[[0,{"_token":"?"}],[0,"OK"],[0,{"_token":"?"}]]]"#);
        let cut = format!("[0,{{\"_token\":\"{}", "a".repeat(300));
        assert_eq!(res_text(cut.as_bytes(), 200), "[0,{\"_token\":\"?\"");
        assert_eq!(res_text("[0,\"中文\"]".as_bytes(), 5), "[0,\"中...");
        // The byte bound (4n+80) falls inside a character: the characters before it are kept.
        let long = format!("[0,\"{}\"]", "中".repeat(60));
        assert_eq!(res_text(long.as_bytes(), 40), format!("[0,\"{}...", "中".repeat(36)));
        assert_eq!(res_text(long.as_bytes(), 5), "[0,\"中...");
    }

    #[test]
    fn secrets_nested_in_request_bodies_are_masked() {
        let p = Params::with_body(
            serde_json::Map::new(),
            json!([{"ac": "login", "post": {"uname": "a", "pwd": "secret"}}, {"ac": "chpwd", "post": {"oldpwd": "o"}}]),
        );
        let t = req_text(&p);
        assert!(!t.contains("secret") && !t.contains("\"o\""), "{t}");
        assert!(t.contains("\"pwd\":\"?\""), "{t}");
        let p = Params::with_body(serde_json::Map::new(), json!({"post": {"token": "tk"}}));
        assert_eq!(req_text(&p), ";\npost=obj:{\"token\":\"?\"}");
    }

    #[test]
    fn long_parts_are_truncated() {
        let p = Params::with_body(serde_json::Map::new(), json!({"dscr": "x".repeat(5000)}));
        assert!(req_text(&p).len() < 2100);
    }
}
