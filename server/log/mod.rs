//! Call logging: ApiLog/ApiLog1 through a batched background writer, and the request/response text
//! that goes into them (masking, truncation; protocol §7). ObjLog rows are business data and are
//! written inside the call's transaction by `crud::write::objlog`.

pub mod apilog;

use serde_json::Value;

use crate::api::params::{value_to_string, Params};

/// Fields never logged in clear.
const SECRET: [&str; 3] = ["pwd", "oldpwd", "token"];

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
                    out.push_str(&v.to_string());
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
                body = match std::str::from_utf8(&p.raw[..p.raw.len().min(4000)]) {
                    Ok(s) => s.to_string(),
                    Err(e) if e.error_len().is_none() => {
                        // Text cut inside its last character by the 4000-byte limit.
                        String::from_utf8_lossy(&p.raw[..e.valid_up_to()]).into_owned()
                    }
                    Err(_) => format!("[binary {}B]", p.raw.len()),
                };
            }
        }
        other => body = other.to_string(),
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
    fn long_parts_are_truncated() {
        let p = Params::with_body(serde_json::Map::new(), json!({"dscr": "x".repeat(5000)}));
        assert!(req_text(&p).len() < 2100);
    }
}
