//! Key/value conditions (protocol §4.2 "KV", §1.7) and `cond` in any of its JSON forms.
//!
//! `{status: "CR", "tm>=": "2021-1-1", amount: ">100 AND <=500", name: "~wang*", f: "null"}`: the key is a
//! field name (optionally followed by an operator), the value a small language of its own:
//!
//! ```text
//! value := part ((AND | OR) part)*          -- separated by spaces; AND binds tighter; no parentheses
//! part  := null | !null | IN a,b | NOT IN a,b | [op] operand
//! op    := > | < | >= | <= | = | ! | != | <> | ~ | !~   -- `!` is ≠, `~` is LIKE
//! ```
//! `empty` as an operand is `''`. LIKE turns `*` into `%` and, without any wildcard, matches anywhere
//! (`%v%`). Operands are bound as text, except for id-like fields (`id`, `*Id`, `*Id2`) where integers
//! are bound as integers; no other guessing, SQLite compares text and numbers sensibly.

use super::cond::parse_cond;
use super::lexer::is_field_name;
use super::{is_id_like, parse_int, CmpOp, Cond, SqlValue};
use crate::error::{ApiError, ApiResult};
use serde_json::Value;

/// The operator of a KV condition, from the key (`tm>=`) or from the value (`>=2021-1-1`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum KvOp {
    Cmp(CmpOp),
    Like { not: bool },
}

impl KvOp {
    fn parse(s: &str) -> Option<KvOp> {
        Some(match s {
            "=" => KvOp::Cmp(CmpOp::Eq),
            "!" | "!=" | "<>" => KvOp::Cmp(CmpOp::Ne),
            "<" => KvOp::Cmp(CmpOp::Lt),
            "<=" => KvOp::Cmp(CmpOp::Le),
            ">" => KvOp::Cmp(CmpOp::Gt),
            ">=" => KvOp::Cmp(CmpOp::Ge),
            "~" => KvOp::Like { not: false },
            "!~" => KvOp::Like { not: true },
            _ => return None,
        })
    }
}

const OP_CHARS: &str = "<>=!~";

/// One KV condition. Keys starting with `_` are options and give `None`, as do JSON null and `""`
/// (a condition left empty by a form is dropped, protocol §1.7).
///
/// With an operator on the key (`{"tm>=": "2021-1-1"}`) the value is one part, not a chain, so it may
/// contain ` and `. Arrays are IN lists (`NOT IN` with a `!`/`!=`/`<>` key). Numbers and booleans compare
/// for equality (or with the key's operator).
pub fn kv_cond(key: &str, value: &Value) -> ApiResult<Option<Cond>> {
    if key.starts_with('_') {
        return Ok(None);
    }
    let (field, key_op) = split_key(key)?;
    let op = key_op.unwrap_or(KvOp::Cmp(CmpOp::Eq));
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if key_op.is_some() => part(field, s.trim(), op).map(Some),
        Value::String(s) => chain(field, s).map(Some),
        Value::Bool(_) | Value::Number(_) => {
            let v = scalar(field, value).ok_or_else(|| bad(&format!("bad value for `{key}`")))?;
            Ok(Some(apply(field, op, v)))
        }
        Value::Array(items) => {
            let not = match op {
                KvOp::Cmp(CmpOp::Eq) => false,
                KvOp::Cmp(CmpOp::Ne) => true,
                _ => return Err(bad(&format!("a list needs `=` or `!` in `{key}`"))),
            };
            let values = items
                .iter()
                .map(|v| scalar(field, v).ok_or_else(|| bad(&format!("bad list item {v} for `{key}`"))))
                .collect::<ApiResult<Vec<_>>>()?;
            if values.is_empty() {
                return Err(bad(&format!("empty list for `{key}`")));
            }
            Ok(Some(Cond::In { field: field.to_string(), not, values }))
        }
        Value::Object(_) => Err(bad(&format!("an object is not a value for `{key}`"))),
    }
}

/// A `cond` parameter in any form: number → `id=N`; string → [`parse_cond`]; object → KV conditions
/// ANDed (ORed when it has a truthy `_or`; all-digit keys, as from `cond[0]=...` forms, hold nested
/// conds); array → each element in any of these forms, ANDed. `None` when nothing remains.
pub fn parse_cond_value(v: &Value) -> ApiResult<Option<Cond>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(id) => Ok(Some(Cond::Cmp { field: "id".into(), op: CmpOp::Eq, value: SqlValue::Int(id) })),
            None => Err(bad(&format!("bad id {n}"))),
        },
        Value::Bool(b) => Err(bad(&format!("bad cond {b}"))),
        Value::String(s) => parse_cond(s),
        Value::Array(items) => {
            let conds = items.iter().map(parse_cond_value).collect::<ApiResult<Vec<_>>>()?;
            Ok(combine(conds.into_iter().flatten().collect(), false))
        }
        Value::Object(map) => {
            let mut conds = Vec::new();
            for (k, v) in map {
                let c = if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) {
                    parse_cond_value(v)?
                } else {
                    kv_cond(k, v)?
                };
                conds.extend(c);
            }
            Ok(combine(conds, map.get("_or").is_some_and(truthy)))
        }
    }
}

fn combine(conds: Vec<Cond>, is_or: bool) -> Option<Cond> {
    match (conds.is_empty(), is_or) {
        (true, _) => None,
        (false, true) => Some(Cond::or(conds)),
        (false, false) => Some(Cond::and(conds)),
    }
}

/// PHP-like truthiness for option values: `true`, non-zero numbers, strings other than `""`/`"0"`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty() && s != "0",
        _ => false,
    }
}

/// `tm>=` → (`tm`, Some(>=)); `status` → (`status`, None).
fn split_key(key: &str) -> ApiResult<(&str, Option<KvOp>)> {
    let (field, op) = match key.find(|c| OP_CHARS.contains(c)) {
        Some(i) => (key[..i].trim_end(), Some(&key[i..])),
        None => (key, None),
    };
    let op = match op {
        None => None,
        Some(op) => Some(KvOp::parse(op).ok_or_else(|| bad(&format!("bad key `{key}`")))?),
    };
    if !is_field_name(field) {
        return Err(bad(&format!("bad key `{key}`")));
    }
    Ok((field, op))
}

/// A non-string JSON scalar (or a string, typed as an operand) as a bound value.
fn scalar(field: &str, v: &Value) -> Option<SqlValue> {
    match v {
        Value::Bool(b) => Some(SqlValue::Int(i64::from(*b))),
        Value::Number(n) => n.as_i64().map(SqlValue::Int).or_else(|| n.as_f64().map(SqlValue::Real)),
        Value::String(s) => Some(operand(field, s)),
        _ => None,
    }
}

/// An operand: an integer for id-like fields when it is one, else text.
fn operand(field: &str, s: &str) -> SqlValue {
    match parse_int(s) {
        Some(n) if is_id_like(field) => SqlValue::Int(n),
        _ => SqlValue::Text(s.to_string()),
    }
}

fn apply(field: &str, op: KvOp, value: SqlValue) -> Cond {
    let field = field.to_string();
    match op {
        KvOp::Cmp(op) => Cond::Cmp { field, op, value },
        KvOp::Like { not } => {
            let text = match value {
                SqlValue::Text(s) => s,
                SqlValue::Int(n) => n.to_string(),
                SqlValue::Real(f) => f.to_string(),
                SqlValue::Null => String::new(),
            };
            Cond::Like { field, not, pattern: like_pattern(&text) }
        }
    }
}

/// `*` → `%`; without any wildcard the text matches anywhere.
pub(crate) fn like_pattern(s: &str) -> String {
    let p = s.replace('*', "%");
    if p.contains('%') {
        p
    } else {
        format!("%{p}%")
    }
}

/// `>=1 AND <100 OR null`: parts joined by AND/OR (AND first), no parentheses.
fn chain(field: &str, s: &str) -> ApiResult<Cond> {
    let mut groups: Vec<Vec<Cond>> = vec![Vec::new()];
    for (is_or, p) in split_chain(s) {
        if is_or {
            groups.push(Vec::new());
        }
        let c = part(field, p.trim(), KvOp::Cmp(CmpOp::Eq))?;
        groups.last_mut().expect("never empty").push(c);
    }
    Ok(Cond::or(groups.into_iter().map(Cond::and).collect()))
}

/// Splits at ` AND ` / ` OR ` (any case, any ASCII spacing); each part comes with "joined by OR".
/// Works on bytes: the separators are ASCII, and ASCII bytes never occur inside a multi-byte character.
fn split_chain(s: &str) -> Vec<(bool, &str)> {
    let b = s.as_bytes();
    let ws = |i: usize| b.get(i).is_some_and(u8::is_ascii_whitespace);
    let word_at = |i: usize, w: &str| b.get(i..i + w.len()).is_some_and(|x| x.eq_ignore_ascii_case(w.as_bytes()));
    let mut parts = Vec::new();
    let (mut start, mut is_or, mut i) = (0, false, 0);
    while i < b.len() {
        if !ws(i) {
            i += 1;
            continue;
        }
        let mut j = i;
        while ws(j) {
            j += 1;
        }
        let word = ["AND", "OR"].into_iter().find(|w| word_at(j, w) && ws(j + w.len()));
        if let Some(w) = word {
            parts.push((is_or, &s[start..i]));
            is_or = w == "OR";
            j += w.len();
            while ws(j) {
                j += 1;
            }
            start = j;
        }
        i = j;
    }
    parts.push((is_or, &s[start..]));
    parts
}

/// One part of a value: `null`, `!null`, `IN a,b`, `NOT IN a,b` or `[op] operand`.
fn part(field: &str, p: &str, default_op: KvOp) -> ApiResult<Cond> {
    let f = field.to_string();
    match p {
        "" => return Err(bad(&format!("empty condition for `{field}`"))),
        "null" => return Ok(Cond::IsNull { field: f, not: false }),
        "!null" => return Ok(Cond::IsNull { field: f, not: true }),
        _ => {}
    }
    for (prefix, not) in [("IN ", false), ("NOT IN ", true)] {
        if p.get(..prefix.len()).is_some_and(|x| x.eq_ignore_ascii_case(prefix)) {
            let values = p[prefix.len()..]
                .split(',')
                .map(str::trim)
                .map(|v| if v.is_empty() { Err(bad(&format!("empty item in `{p}`"))) } else { Ok(operand(field, v)) })
                .collect::<ApiResult<Vec<_>>>()?;
            return Ok(Cond::In { field: f, not, values });
        }
    }
    let run = p.find(|c| !OP_CHARS.contains(c)).unwrap_or(p.len());
    let op = match &p[..run] {
        "" => default_op,
        s => KvOp::parse(s).ok_or_else(|| bad(&format!("bad operator `{s}` for `{field}`")))?,
    };
    let v = p[run..].trim();
    if v.is_empty() {
        return Err(bad(&format!("missing value in `{p}` for `{field}`")));
    }
    let v = if v == "empty" { "" } else { v };
    Ok(apply(field, op, operand(field, v)))
}

fn bad(msg: &str) -> ApiError {
    ApiError::bad_param(format!("bad cond: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use serde_json::json;

    fn kv(key: &str, v: Value) -> Option<Cond> {
        kv_cond(key, &v).unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    fn cmp(field: &str, op: CmpOp, value: SqlValue) -> Cond {
        Cond::Cmp { field: field.into(), op, value }
    }

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.into())
    }

    fn like(field: &str, not: bool, pattern: &str) -> Cond {
        Cond::Like { field: field.into(), not, pattern: pattern.into() }
    }

    #[test]
    fn plain_values_compare_for_equality() {
        assert_eq!(kv("status", json!("CR")), Some(cmp("status", CmpOp::Eq, text("CR"))));
        assert_eq!(kv("id", json!(1)), Some(cmp("id", CmpOp::Eq, SqlValue::Int(1))));
        assert_eq!(kv("amount", json!(2.5)), Some(cmp("amount", CmpOp::Eq, SqlValue::Real(2.5))));
        assert_eq!(kv("flag_x", json!(true)), Some(cmp("flag_x", CmpOp::Eq, SqlValue::Int(1))));
    }

    #[test]
    fn numeric_strings_are_integers_only_for_id_like_fields() {
        assert_eq!(kv("orderId", json!("12")), Some(cmp("orderId", CmpOp::Eq, SqlValue::Int(12))));
        assert_eq!(kv("id", json!(">=100")), Some(cmp("id", CmpOp::Ge, SqlValue::Int(100))));
        assert_eq!(kv("phone", json!("0138")), Some(cmp("phone", CmpOp::Eq, text("0138"))));
    }

    #[test]
    fn null_and_empty_values_drop_the_condition() {
        assert_eq!(kv("a", Value::Null), None);
        assert_eq!(kv("a", json!("")), None);
        assert_eq!(kv("tm>=", json!("")), None);
    }

    #[test]
    fn null_and_empty_words_test_for_null_and_empty_string() {
        assert_eq!(kv("a", json!("null")), Some(Cond::IsNull { field: "a".into(), not: false }));
        assert_eq!(kv("a", json!("!null")), Some(Cond::IsNull { field: "a".into(), not: true }));
        assert_eq!(kv("a", json!("empty")), Some(cmp("a", CmpOp::Eq, text(""))));
        assert_eq!(kv("a", json!("!empty")), Some(cmp("a", CmpOp::Ne, text(""))));
    }

    #[test]
    fn every_value_prefix_maps_to_its_operator() {
        let cases = [
            (">5", CmpOp::Gt),
            ("<5", CmpOp::Lt),
            (">=5", CmpOp::Ge),
            ("<= 5", CmpOp::Le),
            ("=5", CmpOp::Eq),
            ("!5", CmpOp::Ne),
            ("!=5", CmpOp::Ne),
            ("<>5", CmpOp::Ne),
        ];
        for (v, op) in cases {
            assert_eq!(kv("a", json!(v)), Some(cmp("a", op, text("5"))), "{v}");
        }
        assert_eq!(kv("a", json!("~wang")), Some(like("a", false, "%wang%")));
        assert_eq!(kv("a", json!("!~wang*")), Some(like("a", true, "wang%")));
        assert_eq!(kv("a", json!("~a%b")), Some(like("a", false, "a%b")));
    }

    #[test]
    fn operators_on_the_key_apply_to_the_whole_value() {
        assert_eq!(kv("tm>=", json!("2021-1-1")), Some(cmp("tm", CmpOp::Ge, text("2021-1-1"))));
        assert_eq!(kv("tm <", json!("2021-1-1")), Some(cmp("tm", CmpOp::Lt, text("2021-1-1"))));
        assert_eq!(kv("status!", json!("CR")), Some(cmp("status", CmpOp::Ne, text("CR"))));
        assert_eq!(kv("name~", json!("tom and jerry")), Some(like("name", false, "%tom and jerry%")));
        assert_eq!(kv("id>", json!(100)), Some(cmp("id", CmpOp::Gt, SqlValue::Int(100))));
        assert_eq!(kv("t0.id", json!(1)), Some(cmp("t0.id", CmpOp::Eq, SqlValue::Int(1))));
    }

    #[test]
    fn in_and_not_in_lists_parse() {
        let ids = vec![SqlValue::Int(1), SqlValue::Int(2), SqlValue::Int(3)];
        assert_eq!(kv("id", json!("IN 1, 2,3")), Some(Cond::In { field: "id".into(), not: false, values: ids }));
        assert_eq!(
            kv("status", json!("not in CA,XX")),
            Some(Cond::In { field: "status".into(), not: true, values: vec![text("CA"), text("XX")] })
        );
    }

    #[test]
    fn arrays_are_in_lists() {
        let values = vec![SqlValue::Int(1), SqlValue::Int(2)];
        assert_eq!(kv("id", json!([1, "2"])), Some(Cond::In { field: "id".into(), not: false, values }));
        assert_eq!(
            kv("status!", json!(["CA"])),
            Some(Cond::In { field: "status".into(), not: true, values: vec![text("CA")] })
        );
    }

    #[test]
    fn chains_join_with_and_before_or() {
        let expected = Cond::Or(vec![
            Cond::And(vec![cmp("s", CmpOp::Ne, text("CR")), cmp("s", CmpOp::Ne, text("PA"))]),
            Cond::IsNull { field: "s".into(), not: false },
        ]);
        assert_eq!(kv("s", json!("!CR AND !PA or null")), Some(expected));
        let range = Cond::And(vec![cmp("id", CmpOp::Ge, SqlValue::Int(1)), cmp("id", CmpOp::Lt, SqlValue::Int(100))]);
        assert_eq!(kv("id", json!(">=1  and\t<100")), Some(range));
    }

    #[test]
    fn words_containing_and_or_do_not_split() {
        assert_eq!(kv("a", json!("~brandon")), Some(like("a", false, "%brandon%")));
        assert_eq!(kv("a", json!("ORDER AND")), Some(cmp("a", CmpOp::Eq, text("ORDER AND"))));
    }

    #[test]
    fn option_keys_are_skipped() {
        assert_eq!(kv("_or", json!(1)), None);
        assert_eq!(kv("_anything", json!("x; drop")), None);
    }

    #[test]
    fn bad_keys_and_values_are_refused() {
        let cases = [
            ("a b", json!(1)),
            ("a;drop", json!(1)),
            ("1=1", json!(1)),
            ("a)", json!(1)),
            ("a>>", json!(1)),
            ("a", json!(">>1")),
            ("a", json!(">")),
            ("a", json!("1 AND ")),
            ("a", json!("IN 1,,2")),
            ("a", json!({"b": 1})),
            ("a", json!([])),
            ("a", json!([[1]])),
            ("a>", json!([1])),
        ];
        for (k, v) in cases {
            assert_eq!(kv_cond(k, &v).expect_err(k).code, Code::Param, "{k} {v}");
        }
    }

    #[test]
    fn cond_values_accept_every_form() {
        let id1 = cmp("id", CmpOp::Eq, SqlValue::Int(1));
        assert_eq!(parse_cond_value(&json!(1)).unwrap(), Some(id1.clone()));
        assert_eq!(parse_cond_value(&json!("id=1")).unwrap(), Some(id1.clone()));
        assert_eq!(parse_cond_value(&json!("ALL")).unwrap(), None);
        assert_eq!(parse_cond_value(&Value::Null).unwrap(), None);
        let both = Cond::And(vec![id1.clone(), cmp("s", CmpOp::Eq, text("CR"))]);
        assert_eq!(parse_cond_value(&json!({"id": 1, "s": "CR", "x": null})).unwrap(), Some(both.clone()));
        assert_eq!(parse_cond_value(&json!(["id=1", {"s": "CR"}, null, ""])).unwrap(), Some(both));
        assert_eq!(parse_cond_value(&json!({})).unwrap(), None);
    }

    #[test]
    fn or_option_joins_object_conditions_with_or() {
        let got = parse_cond_value(&json!({"a": "null OR empty", "b": "!null", "_or": 1})).unwrap();
        let expected = Cond::Or(vec![
            Cond::IsNull { field: "a".into(), not: false },
            cmp("a", CmpOp::Eq, text("")),
            Cond::IsNull { field: "b".into(), not: true },
        ]);
        assert_eq!(got, Some(expected));
    }

    #[test]
    fn digit_keys_hold_nested_conds_as_from_form_arrays() {
        let got = parse_cond_value(&json!({"0": "a=1", "1": {"b": 2}})).unwrap();
        let expected = Cond::And(vec![cmp("a", CmpOp::Eq, SqlValue::Int(1)), cmp("b", CmpOp::Eq, SqlValue::Int(2))]);
        assert_eq!(got, Some(expected));
    }

    #[test]
    fn bad_cond_values_are_refused() {
        assert_eq!(parse_cond_value(&json!(1.5)).unwrap_err().code, Code::Param);
        assert_eq!(parse_cond_value(&json!(true)).unwrap_err().code, Code::Param);
        assert_eq!(parse_cond_value(&json!(["a=1", "1=1"])).unwrap_err().code, Code::Param);
    }

    #[test]
    fn kv_values_are_data_never_syntax() {
        let got = parse_cond_value(&json!({"b": "x'; DROP TABLE User --"})).unwrap();
        assert_eq!(got, Some(cmp("b", CmpOp::Eq, text("x'; DROP TABLE User --"))));
    }
}
