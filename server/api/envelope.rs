//! The response envelope (protocol §1.4, §1.3 output options): `[0, data]` or `[code, msg, internal]`,
//! with the `_raw`, `_jsonp` and `retfn` variants, pretty JSON and a debug appendix in test mode.

use serde_json::{json, Value};

use super::params::{value_to_string, Params};
use crate::error::ApiError;

/// Output options read from the call's URL.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub pretty: bool,
    /// Debug lines appended to the envelope (test mode only).
    pub show_debug: bool,
    pub raw: u8,
    pub jsonp: Option<String>,
    pub retfn: Option<String>,
}

impl Options {
    /// Reads `_raw`, `_jsonp`, `retfn` from the call.
    pub fn from_params(p: &Params, test_mode: bool) -> Options {
        let mut o = Options { pretty: test_mode, show_debug: test_mode, ..Default::default() };
        o.raw = p.str("_raw").and_then(|s| s.parse().ok()).unwrap_or(0);
        o.jsonp = p.str("_jsonp").filter(|s| s.chars().all(|c| c.is_alphanumeric() || "_.$=[]".contains(c)));
        o.retfn = p.str("retfn");
        if o.retfn.as_deref() == Some("raw") {
            o.raw = o.raw.max(1);
        }
        o
    }
}

/// The envelope value of a result.
pub fn envelope(result: &Result<Value, ApiError>, debug: &[String], opts: &Options) -> Value {
    let mut arr = match result {
        Ok(v) => vec![json!(0), v.clone()],
        Err(e) => vec![
            json!(e.code.number()),
            json!(e.user_msg()),
            e.internal.clone().map(Value::String).unwrap_or(Value::Null),
        ],
    };
    if opts.show_debug {
        arr.extend(debug.iter().map(|d| json!(d)));
    }
    Value::Array(arr)
}

fn to_text(v: &Value, pretty: bool) -> String {
    let s = if pretty { serde_json::to_string_pretty(v) } else { serde_json::to_string(v) };
    s.unwrap_or_else(|_| "null".into())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Renders a result: (content type, body).
pub fn render(result: &Result<Value, ApiError>, debug: &[String], opts: &Options) -> (&'static str, Vec<u8>) {
    let text_plain = "text/plain; charset=UTF-8";
    if opts.retfn.as_deref() == Some("xml") {
        let body = match result {
            Ok(v) => format!("<ret><code>0</code><data>{}</data></ret>", xml_escape(&to_text(v, false))),
            Err(e) => {
                format!("<ret><code>{}</code><message>{}</message></ret>", e.code.number(), xml_escape(e.user_msg()))
            }
        };
        return ("application/xml; charset=UTF-8", body.into_bytes());
    }
    let mut out = if opts.raw > 0 {
        match result {
            Ok(Value::Array(a)) if opts.raw == 2 => a.iter().map(value_to_string).collect::<Vec<_>>().join("\t"),
            Ok(Value::String(s)) if opts.raw == 2 => s.clone(),
            Ok(v) => to_text(v, opts.pretty),
            // Errors keep the envelope even in raw mode: the client must be able to tell them apart.
            Err(_) => to_text(&envelope(result, debug, opts), opts.pretty),
        }
    } else if opts.retfn.as_deref() == Some("obj") {
        let v = match result {
            Ok(v) => json!({"code": 0, "data": v}),
            Err(e) => json!({"code": e.code.number(), "message": e.user_msg(), "debug": e.internal}),
        };
        to_text(&v, opts.pretty)
    } else if let (Ok(v), false) = (result, opts.pretty || (opts.show_debug && !debug.is_empty())) {
        // The common case, written without copying the data into an envelope value first.
        let mut s = String::from("[0,");
        s.push_str(&to_text(v, false));
        s.push(']');
        s
    } else {
        to_text(&envelope(result, debug, opts), opts.pretty)
    };
    if let Some(j) = &opts.jsonp {
        out = if j.ends_with('=') { format!("{j}{out};") } else { format!("{j}({out});") };
    }
    out.push('\n');
    (text_plain, out.into_bytes())
}

/// Renders data that is already JSON text: the common envelope is written around it as it is; the
/// rarer forms (xml, raw, obj, pretty, jsonp, debug lines) parse it and take the usual path.
pub fn render_text(data: &[u8], debug: &[String], opts: &Options) -> (&'static str, Vec<u8>) {
    let plain = opts.retfn.is_none() && opts.raw == 0 && opts.jsonp.is_none() && !opts.pretty;
    if plain && (!opts.show_debug || debug.is_empty()) {
        let mut out = Vec::with_capacity(data.len() + 5);
        out.extend_from_slice(b"[0,");
        out.extend_from_slice(data);
        out.extend_from_slice(b"]\n");
        return ("text/plain; charset=UTF-8", out);
    }
    let v: Value = serde_json::from_slice(data).unwrap_or(Value::Null);
    render(&Ok(v), debug, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    #[test]
    fn success_and_failure_have_the_protocol_shape() {
        let o = Options::default();
        assert_eq!(render(&Ok(json!({"a": 1})), &[], &o).1, b"[0,{\"a\":1}]\n");
        let e = ApiError::param("缺少参数`id`").internal("x");
        assert_eq!(String::from_utf8(render(&Err(e), &[], &o).1).unwrap(), "[1,\"缺少参数`id`\",\"x\"]\n");
        let e = ApiError::new(Code::NoAuth);
        assert_eq!(String::from_utf8(render(&Err(e), &[], &o).1).unwrap(), "[2,\"未登录\",null]\n");
    }

    #[test]
    fn data_given_as_text_renders_exactly_as_the_same_value() {
        let value = json!({"seats": [{"id": 1, "label": "1排1座"}], "n": 2});
        for o in [
            Options::default(),
            Options { jsonp: Some("cb".into()), ..Default::default() },
            Options { retfn: Some("obj".into()), ..Default::default() },
            Options { raw: 1, ..Default::default() },
            Options { pretty: true, ..Default::default() },
        ] {
            assert_eq!(render_text(value.to_string().as_bytes(), &[], &o), render(&Ok(value.clone()), &[], &o));
        }
    }

    #[test]
    fn jsonp_raw_and_obj_variants() {
        let mut o = Options { jsonp: Some("cb".into()), ..Default::default() };
        assert_eq!(render(&Ok(json!(1)), &[], &o).1, b"cb([0,1]);\n");
        o.jsonp = Some("x=".into());
        o.raw = 1;
        assert_eq!(render(&Ok(json!(1)), &[], &o).1, b"x=1;\n");
        let o = Options { raw: 2, ..Default::default() };
        assert_eq!(render(&Ok(json!(["a", 2])), &[], &o).1, b"a\t2\n");
        let o = Options { retfn: Some("obj".into()), ..Default::default() };
        assert_eq!(render(&Ok(json!(1)), &[], &o).1, b"{\"code\":0,\"data\":1}\n");
    }
}
