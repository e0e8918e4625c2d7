//! `batchAdd(title?, uniKey?, uniKeyMode?)(data)` → `{cnt, idList}` (protocol §5.1).
//!
//! Rows come as a JSON `{list:[...]}` body, as raw text (header line + rows, TAB-separated if the
//! header has a TAB, else comma-separated with CSV quoting), or as an uploaded csv/txt file (UTF-8 or
//! GBK). Every row goes through the object's own `add` (lenient readonly), so its checks and hooks
//! apply. Errors are collected (at most 20) and then the whole import fails, and is rolled back.

use serde_json::{json, Map, Value};

use super::object::Object;
use super::write;
use crate::api::ctx::Ctx;
use crate::api::params::{value_to_string, Params};
use crate::error::{ApiError, ApiResult};
use crate::meta::Table;

/// Splits delimited text into rows of cells: CSV quoting (`"a,b"`, `""`), CRLF or LF line ends.
pub fn parse_delimited(text: &str, delim: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => quoted = true,
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            c if c == delim => row.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// Decodes an uploaded file: UTF-8 (BOM stripped), else GB18030.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// The rows of the import as field maps.
fn input_rows(p: &Params) -> ApiResult<Vec<Map<String, Value>>> {
    if let Some(Value::Array(list)) = p.body.get("list") {
        return list
            .iter()
            .map(|v| v.as_object().cloned().ok_or_else(|| ApiError::bad_param("batchAdd: list items must be objects")))
            .collect();
    }
    let text = if let Some(f) = p.files.first() {
        decode(&f.data)
    } else if !p.raw.is_empty() {
        decode(&p.raw)
    } else {
        return Err(ApiError::param("batchAdd: 没有数据").internal("no list, text body or file"));
    };
    let first = text.lines().next().unwrap_or_default();
    let delim = if first.contains('\t') { '\t' } else { ',' };
    let mut rows = parse_delimited(&text, delim).into_iter();
    let header: Vec<String> = match p.str("title") {
        Some(t) => {
            rows.next();
            t.split(',').map(|s| s.trim().to_string()).collect()
        }
        None => rows.next().unwrap_or_default().into_iter().map(|s| s.trim().to_string()).collect(),
    };
    Ok(rows
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
        .map(|r| {
            let mut m = Map::new();
            for (h, c) in header.iter().zip(r) {
                // `-` or `-x` in the title skips the column.
                if h.is_empty() || h.starts_with('-') {
                    continue;
                }
                let c = c.trim();
                m.insert(h.clone(), if c.is_empty() { Value::Null } else { json!(c) });
            }
            m
        })
        .collect())
}

/// Runs the import.
pub fn batch_add(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Value> {
    let rows = input_rows(p)?;
    let mut url = Map::new();
    url.insert("useStrictReadonly".into(), json!("0"));
    for k in ["uniKey", "uniKeyMode"] {
        if let Some(v) = p.str(k) {
            url.insert(k.into(), json!(v));
        }
    }
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let text: Vec<String> = row.values().map(value_to_string).collect();
        let rp = Params::with_body(url.clone(), Value::Object(row));
        match write::add_with(ctx, obj, table, &rp, &Map::new()) {
            Ok(v) => ids.push(v),
            Err(e) => {
                errors.push(format!("第{}行出错(\"{}\"): {}", i + 1, text.join(","), e.user_msg()));
                if errors.len() >= 20 {
                    break;
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::param(errors.join("\n")));
    }
    Ok(json!({"cnt": ids.len(), "idList": ids}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimited_text_honours_csv_quotes_and_crlf() {
        let rows = parse_delimited("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n3,\n", ',');
        assert_eq!(rows, vec![vec!["a", "b"], vec!["x,1", "say \"hi\""], vec!["3", ""]]);
        assert_eq!(parse_delimited("a\tb\n1\t2", '\t'), vec![vec!["a", "b"], vec!["1", "2"]]);
    }

    #[test]
    fn gbk_files_are_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("名称\n张三");
        assert_eq!(decode(&bytes), "名称\n张三");
    }
}
