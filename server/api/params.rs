//! The parameters of one call: URL parameters and body parameters kept apart (protocol §1.2).
//!
//! Generic lookups read the URL first, then the body, so the URL wins on a clash. Data fields of
//! `add`/`set` come only from the body (`Params::body_fields`). `""` and JSON `null` count as absent
//! for every typed read; `set` looks at raw body values itself because there `""` means "set NULL".

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::http::form::UploadedFile;

/// URL and body parameters of one call.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Query-string parameters (strings, or nested objects/arrays from `a[b]=` syntax).
    pub url: Map<String, Value>,
    /// Body: an object for forms and JSON objects, an array for JSON arrays, `Null` when absent.
    pub body: Value,
    /// The raw body for content types that are neither forms nor JSON (batchAdd text, raw uploads).
    pub raw: Bytes,
    /// Uploaded files of a multipart body.
    pub files: Vec<UploadedFile>,
    /// The few request headers a handler may need (conditional and range requests: `If-None-Match`,
    /// `Range`), with lower-case names. Internal calls and batch sub-calls have none.
    pub headers: Vec<(String, String)>,
    /// What a function's prepare phase computed before the call was queued (see `Functions::add_prepared`).
    pub prepared: Option<Prepared>,
}

/// `m.get(name)`. A call looks up a score of parameter names (most of them absent) in maps of a few
/// entries; comparing the names is cheaper than hashing one with the map's SipHash (about 170
/// instructions), which for `Ordr.add` was 2% of the call.
fn lookup<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if m.len() <= 8 {
        m.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v)
    } else {
        m.get(name)
    }
}

/// A prepare phase's result, handed to the function it prepared.
#[derive(Clone)]
pub struct Prepared(std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl Prepared {
    /// Wraps a value.
    pub fn new<T: std::any::Any + Send + Sync>(v: T) -> Prepared {
        Prepared(std::sync::Arc::new(v))
    }

    /// The value, if it is a `T`.
    pub fn get<T: std::any::Any + Send + Sync>(&self) -> Option<std::sync::Arc<T>> {
        self.0.clone().downcast::<T>().ok()
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared(..)")
    }
}

/// True for the values the protocol treats as "not given".
pub fn is_absent(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::String(s) if s.is_empty())
}

impl Params {
    /// Parameters with only URL values (internal calls, tests).
    pub fn from_url(url: Map<String, Value>) -> Params {
        Params { url, ..Default::default() }
    }

    /// Parameters with URL values and a JSON body (internal calls such as batch sub-calls and sub-object writes).
    pub fn with_body(url: Map<String, Value>, body: Value) -> Params {
        Params { url, body, ..Default::default() }
    }

    /// The body as an object (empty when the body is absent or an array).
    pub fn body_fields(&self) -> Map<String, Value> {
        match &self.body {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        }
    }

    /// Raw lookup, URL first then body; `""`/null count as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        if let Some(v) = lookup(&self.url, name) {
            if !is_absent(v) {
                return Some(v);
            }
        }
        match &self.body {
            Value::Object(m) => lookup(m, name).filter(|v| !is_absent(v)),
            _ => None,
        }
    }

    /// Both the URL and the body value of a parameter, for parameters that combine (cond).
    pub fn get_both(&self, name: &str) -> Vec<&Value> {
        let mut out = Vec::new();
        if let Some(v) = lookup(&self.url, name).filter(|v| !is_absent(v)) {
            out.push(v);
        }
        if let Value::Object(m) = &self.body {
            if let Some(v) = lookup(m, name).filter(|v| !is_absent(v)) {
                out.push(v);
            }
        }
        out
    }

    /// Sets a URL parameter (used by routing: REST ids, batch references).
    pub fn set_url(&mut self, name: &str, v: impl Into<Value>) {
        self.url.insert(name.to_string(), v.into());
    }

    /// A request header by (case-insensitive) name, if the HTTP layer passed it on.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A string parameter; numbers and booleans are accepted and printed.
    pub fn str(&self, name: &str) -> Option<String> {
        self.get(name).map(value_to_string)
    }

    /// A mandatory string parameter.
    pub fn must_str(&self, name: &str) -> ApiResult<String> {
        self.str(name).ok_or_else(|| ApiError::missing(name))
    }

    /// An integer parameter; a value that is not an integer is E_PARAM.
    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => value_to_int(v)
                .map(Some)
                .ok_or_else(|| ApiError::bad_param(format!("bad int param `{name}`: {}", short(v)))),
        }
    }

    /// A mandatory integer parameter.
    pub fn must_int(&self, name: &str) -> ApiResult<i64> {
        self.int(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// A boolean parameter: `1/true/on/yes` and `0/false/off/no`.
    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => match value_to_string(v).to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => Ok(Some(true)),
                "0" | "false" | "off" | "no" => Ok(Some(false)),
                _ => Err(ApiError::bad_param(format!("bad bool param `{name}`: {}", short(v)))),
            },
        }
    }

    /// A boolean parameter with a default.
    pub fn flag(&self, name: &str) -> ApiResult<bool> {
        Ok(self.bool(name)?.unwrap_or(false))
    }
}

/// Prints a scalar the way a form would have sent it; objects/arrays as JSON.
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An integer from a JSON number or a decimal string.
pub fn value_to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

/// A value shortened for error messages.
pub fn short(v: &Value) -> String {
    let s = value_to_string(v);
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(url: Value, body: Value) -> Params {
        Params::with_body(url.as_object().unwrap().clone(), body)
    }

    #[test]
    fn url_wins_over_body_on_a_clash() {
        let p = params(json!({"id": "1"}), json!({"id": "2", "name": "x"}));
        assert_eq!(p.int("id").unwrap(), Some(1));
        assert_eq!(p.str("name").as_deref(), Some("x"));
    }

    #[test]
    fn empty_string_and_null_count_as_absent() {
        let p = params(json!({"a": ""}), json!({"a": "b", "c": null}));
        assert_eq!(p.str("a").as_deref(), Some("b"));
        assert_eq!(p.str("c"), None);
        assert!(matches!(p.must_str("c"), Err(e) if e.msg == "缺少参数`c`"));
    }

    #[test]
    fn typed_reads_reject_bad_values() {
        let p = params(json!({"id": "1x", "b": "maybe", "n": "42"}), Value::Null);
        assert!(p.int("id").is_err());
        assert!(p.bool("b").is_err());
        assert_eq!(p.int("n").unwrap(), Some(42));
        let p = params(json!({"b": "on"}), json!({"n": 3.0}));
        assert_eq!(p.bool("b").unwrap(), Some(true));
        assert_eq!(p.int("n").unwrap(), Some(3));
    }

    #[test]
    fn lookups_find_each_name_in_maps_of_any_size() {
        for n in [0, 1, 2, 8, 9, 40] {
            let url: Map<String, Value> = (0..n).map(|i| (format!("k{i}"), json!(format!("u{i}")))).collect();
            let body: Map<String, Value> = (0..n).map(|i| (format!("b{i}"), json!(i))).collect();
            let p = Params::with_body(url, Value::Object(body));
            for i in 0..n {
                assert_eq!(p.str(&format!("k{i}")), Some(format!("u{i}")), "{n} entries");
                assert_eq!(p.int(&format!("b{i}")).unwrap(), Some(i), "{n} entries");
                assert_eq!(p.get_both(&format!("b{i}")), vec![&json!(i)]);
            }
            for absent in ["k", "k00", &format!("k{n}"), "b", "K0"] {
                assert_eq!(p.get(absent), None, "{absent} in {n} entries");
            }
        }
    }
}
