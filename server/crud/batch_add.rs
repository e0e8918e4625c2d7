//! `batchAdd(title?, uniKey?, uniKeyMode?)(data)` → `{cnt, idList}` (protocol §5.1).
//!
//! Rows come as a JSON `{list:[...]}` body, as raw text (header line + rows, TAB-separated if the
//! header has a TAB, else comma-separated with CSV quoting), or as an uploaded csv/txt file (UTF-8 or
//! GBK). `title` renames the columns (or, with `useColMap=1`, maps `Header->field` by header text);
//! `@sub.field` columns fill sub-object rows, and with `uniKey` consecutive rows with the same key (or
//! an empty one) add sub rows to the same parent. Every row goes through the object's own `add` (lenient readonly), so its checks and hooks
//! apply. Errors are collected (at most 20) and then the whole import fails, and is rolled back.

use serde_json::{json, Map, Value};

use super::object::{Object, Op};
use super::write;
use crate::api::ctx::Ctx;
use crate::api::params::{value_to_string, Params};
use crate::error::{ApiError, ApiResult, Code};
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

/// The field each text column goes to: the header as is, `title=a,-,c` instead of it (`-`/`-x` skips a
/// column), or with `useColMap=1` a `title` of `Header->field` items matched against the header text.
fn column_fields(p: &Params, header: Vec<String>) -> ApiResult<Vec<String>> {
    let Some(title) = p.str("title") else { return Ok(header) };
    let items: Vec<&str> = title.split(',').map(str::trim).collect();
    if !p.flag("useColMap")? {
        return Ok(items.iter().map(|s| s.to_string()).collect());
    }
    let mut out = vec![String::new(); header.len()];
    for item in items {
        let (text, field) = item.split_once("->").unwrap_or((item, item));
        let pos = header.iter().position(|h| h == text.trim());
        let pos = pos.ok_or_else(|| ApiError::param(format!("缺少列`{}`", text.trim())))?;
        out[pos] = field.trim().to_string();
    }
    Ok(out)
}

/// The rows of the import as field maps; `@sub.field` columns become one-item sub-object arrays.
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
    let header: Vec<String> = rows.next().unwrap_or_default().into_iter().map(|s| s.trim().to_string()).collect();
    let fields = column_fields(p, header)?;
    Ok(rows
        .filter(|r| r.iter().any(|c| !c.trim().is_empty()))
        .map(|r| {
            let mut m = Map::new();
            let mut subs: Map<String, Value> = Map::new();
            for (f, c) in fields.iter().zip(r) {
                if f.is_empty() || f.starts_with('-') {
                    continue;
                }
                let c = c.trim();
                let v = if c.is_empty() { Value::Null } else { json!(c) };
                match f.strip_prefix('@').and_then(|x| x.split_once('.')) {
                    Some((sub, field)) => {
                        let row = subs.entry(sub.to_string()).or_insert_with(|| json!({}));
                        row[field] = v;
                    }
                    None => {
                        m.insert(f.clone(), v);
                    }
                }
            }
            for (sub, row) in subs {
                // A row whose sub-object cells are all empty adds no child.
                let has = row.as_object().is_some_and(|o| o.values().any(|v| !v.is_null()));
                m.insert(sub, Value::Array(if has { vec![row] } else { vec![] }));
            }
            m
        })
        .collect())
}

/// With `uniKey`, consecutive rows with the same key (or with every key cell empty) are one parent with
/// several sub-object rows (protocol §5.1). The first row's key may not be empty.
fn merge_by_key(rows: Vec<Map<String, Value>>, key: Option<&str>) -> ApiResult<Vec<(usize, Map<String, Value>)>> {
    let keys: Vec<&str> = key.map(|k| k.trim_end_matches('!').split(',').map(str::trim).collect()).unwrap_or_default();
    let mut out: Vec<(usize, Map<String, Value>)> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let key_of = |r: &Map<String, Value>| -> Vec<Value> {
            keys.iter().map(|k| r.get(*k).cloned().unwrap_or(Value::Null)).collect()
        };
        let this = key_of(&row);
        let has_subs = row.values().any(|v| v.is_array());
        if !keys.is_empty() && has_subs {
            let empty = this.iter().all(Value::is_null);
            if empty && out.is_empty() {
                return Err(ApiError::param(format!("第{}行出错: 第一行的uniKey不能为空", i + 1)));
            }
            if let Some((_, last)) = out.last_mut() {
                if empty || key_of(last) == this {
                    for (k, v) in row {
                        if let (Value::Array(items), Some(Value::Array(into))) = (v, last.get_mut(&k)) {
                            into.extend(items);
                        }
                    }
                    continue;
                }
            }
        }
        out.push((i + 1, row));
    }
    Ok(out)
}

/// Runs the import.
pub fn batch_add(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Value> {
    let rows = input_rows(p)?;
    // A column the role may not write is refused before any row runs, whatever the header said
    // (a field name, or `Header->field` with useColMap). `useStrictReadonly=0` asks for the reference's
    // lenient import instead, which drops such columns: never written either way.
    let strict = p.bool("useStrictReadonly")?.unwrap_or(true);
    if strict {
        let mut cols = Map::new();
        for row in &rows {
            for k in row.keys() {
                cols.entry(k.clone()).or_insert(Value::Null);
            }
        }
        write::check_writable(obj.decl(), table, Op::Add, &mut cols, true).map_err(|e| {
            ApiError::with_msg(Code::Forbidden, format!("导入的列{}", e.user_msg()))
                .internal(e.internal.unwrap_or_default())
        })?;
    }
    let mut url = Map::new();
    url.insert("useStrictReadonly".into(), json!(if strict { "1" } else { "0" }));
    for k in ["uniKey", "uniKeyMode"] {
        if let Some(v) = p.str(k) {
            url.insert(k.into(), json!(v));
        }
    }
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for (line, row) in merge_by_key(rows, p.str("uniKey").as_deref())? {
        let text: Vec<String> = row.values().filter(|v| !v.is_array()).map(value_to_string).collect();
        let rp = Params::with_body(url.clone(), Value::Object(row));
        match write::add_with(ctx, obj, table, &rp, &Map::new()) {
            Ok(v) => ids.push(v),
            Err(e) => {
                errors.push(format!("第{line}行出错(\"{}\"): {}", text.join(","), e.user_msg()));
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
    fn rows_with_the_same_or_an_empty_key_continue_the_previous_parent() {
        let row = |d: Option<&str>, att: i64| -> Map<String, Value> {
            let mut m = Map::new();
            m.insert("dscr".into(), d.map(|x| json!(x)).unwrap_or(Value::Null));
            m.insert("atts".into(), json!([{"attId": att}]));
            m
        };
        let rows = vec![row(Some("A"), 1), row(None, 2), row(Some("A"), 3), row(Some("B"), 4)];
        let merged = merge_by_key(rows.clone(), Some("dscr")).unwrap();
        assert_eq!(merged.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(merged[0].1["atts"], json!([{"attId": 1}, {"attId": 2}, {"attId": 3}]));
        assert_eq!(merge_by_key(rows.clone(), None).unwrap().len(), 4, "no uniKey: a parent per row");
        assert!(merge_by_key(vec![row(None, 1)], Some("dscr")).is_err());
    }

    #[test]
    fn gbk_files_are_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("名称\n张三");
        assert_eq!(decode(&bytes), "名称\n张三");
    }
}
