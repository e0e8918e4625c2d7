//! The shapes a query result can take (`fmt`, protocol §4.5) and the file exports (§4.9).

use serde_json::{json, Map, Value};

use super::rows::RowSet;
use crate::api::ctx::{Raw, Reply};
use crate::api::params::{value_to_string, Params};
use crate::error::{ApiError, ApiResult};
use crate::export::{self, ExportFmt};

/// Formats query rows (their visible columns, in output order).
pub fn format(
    fmt: &str,
    p: &Params,
    table: &str,
    rows: RowSet,
    nextkey: Option<Value>,
    total: Option<i64>,
    stat: Option<Value>,
) -> ApiResult<Reply> {
    let (name, arg) = match fmt.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (fmt, None),
    };
    if let Some(ef) = ExportFmt::parse(name) {
        let fname = p.str("fname").unwrap_or_else(|| table.to_string());
        let e = export::export(ef, &fname, &rows.cols, &rows.rows)?;
        return Ok(Reply::Raw(Raw {
            status: 200,
            content_type: e.content_type,
            headers: vec![("Content-Disposition".into(), e.disposition)],
            body: e.body,
            log_res: None,
        }));
    }
    let out = match name {
        "list" | "array" | "one" | "one?" | "hash" | "multihash" => {
            let cols = rows.cols.clone();
            objects(name, arg, &cols, rows.into_maps(), nextkey, total, stat)?
        }
        _ => {
            let mut m = Map::new();
            m.insert("h".into(), json!(rows.cols));
            m.insert("d".into(), Value::Array(rows.rows.into_iter().map(Value::Array).collect()));
            extras(&mut m, nextkey, total, stat);
            Value::Object(m)
        }
    };
    Ok(Reply::Data(out))
}

/// The formats that print each row as an object.
fn objects(
    name: &str,
    arg: Option<&str>,
    cols: &[String],
    rows: Vec<Map<String, Value>>,
    nextkey: Option<Value>,
    total: Option<i64>,
    stat: Option<Value>,
) -> ApiResult<Value> {
    Ok(match name {
        "list" => {
            let mut m = Map::new();
            m.insert("list".into(), Value::Array(rows.into_iter().map(Value::Object).collect()));
            extras(&mut m, nextkey, total, stat);
            Value::Object(m)
        }
        "array" => Value::Array(rows.into_iter().map(Value::Object).collect()),
        "one" => match rows.into_iter().next() {
            Some(r) => Value::Object(r),
            None => return Err(ApiError::param("查询不到数据").internal("no data")),
        },
        "one?" => match rows.into_iter().next() {
            Some(r) if r.len() == 1 => r.into_iter().next().map(|(_, v)| v).unwrap_or(Value::Null),
            Some(r) => Value::Object(r),
            None => Value::Null,
        },
        _ => hash(rows, cols, arg, name == "multihash")?,
    })
}

fn extras(m: &mut Map<String, Value>, nextkey: Option<Value>, total: Option<i64>, stat: Option<Value>) {
    if let Some(k) = nextkey {
        m.insert("nextkey".into(), k);
    }
    if let Some(t) = total {
        m.insert("total".into(), json!(t));
    }
    if let Some(s) = stat {
        m.insert("stat".into(), s);
    }
}

/// `hash[:key[,value]]` / `multihash[...]`.
fn hash(rows: Vec<Map<String, Value>>, cols: &[String], arg: Option<&str>, multi: bool) -> ApiResult<Value> {
    let (key, val) = match arg {
        Some(a) => match a.split_once(',') {
            Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
            None => (a.trim().to_string(), None),
        },
        None => (cols.first().cloned().unwrap_or_default(), None),
    };
    for f in std::iter::once(&key).chain(val.iter()) {
        if !cols.contains(f) {
            return Err(ApiError::bad_param(format!("bad hash field `{f}`")));
        }
    }
    let mut out = Map::new();
    for r in rows {
        let k = r.get(&key).map(value_to_string).unwrap_or_default();
        let v = match &val {
            Some(f) => r.get(f).cloned().unwrap_or(Value::Null),
            None => Value::Object(r),
        };
        if multi {
            match out.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(a) => a.push(v),
                _ => unreachable!("multihash values are arrays"),
            }
        } else {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out))
}
