//! Fuzzy search (protocol §4.7): `qsearch=f1,f2*,f3!:words` and the class-level `q=` built on it.
//!
//! Words are split on whitespace; every word must match (AND) in at least one field (OR). A word with
//! `*` is a LIKE pattern as written (`*` → `%`); otherwise a plain field matches it anywhere (`%w%`), a
//! `f*` field at the start (`w%`) and a `f!` field exactly (`= w`). As in the reference, `%` and `_` in
//! words keep their LIKE meaning.

use super::kv::like_pattern;
use super::lexer::is_field_name;
use super::{is_id_like, parse_int, CmpOp, Cond, SqlValue};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Anywhere,
    Prefix,
    Exact,
}

/// Searches `words` in the fields of `spec` (`f1,f2*,f3!`). `None` when there are no words.
pub fn qsearch(spec: &str, words: &str) -> ApiResult<Option<Cond>> {
    let fields = parse_spec(spec)?;
    let conds: Vec<Cond> = words
        .split_whitespace()
        .map(|w| {
            // An id is a whole number: another word cannot match it, and is not compared with it
            // (PostgreSQL refuses text for an integer column outright). The field is still named, as
            // `1=0 AND id=0`, so that it is checked like any other (a hidden one is refused).
            let id = |f: &str| f == "id" || f.ends_with("Id");
            let whole = w.parse::<i64>().is_ok();
            Cond::or(
                fields
                    .iter()
                    .map(|&(f, mode)| match whole || !id(f) {
                        true => word_cond(f, mode, w),
                        false => Cond::And(vec![Cond::Or(vec![]), word_cond(f, mode, "0")]),
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(if conds.is_empty() { None } else { Some(Cond::and(conds)) })
}

/// The `qsearch` parameter: `f1,f2:words` (the first `:` separates; words may contain more).
pub fn parse_qsearch_param(s: &str) -> ApiResult<Option<Cond>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let (spec, words) = s.split_once(':').ok_or_else(|| bad(&format!("expected `fields:words` in `{s}`")))?;
    qsearch(spec, words)
}

fn parse_spec(spec: &str) -> ApiResult<Vec<(&str, Mode)>> {
    spec.split(',')
        .map(str::trim)
        .map(|f| {
            let (name, mode) = if let Some(n) = f.strip_suffix('*') {
                (n, Mode::Prefix)
            } else if let Some(n) = f.strip_suffix('!') {
                (n, Mode::Exact)
            } else {
                (f, Mode::Anywhere)
            };
            if is_field_name(name) {
                Ok((name, mode))
            } else {
                Err(bad(&format!("bad field `{f}`")))
            }
        })
        .collect()
}

fn word_cond(field: &str, mode: Mode, word: &str) -> Cond {
    let like = |pattern: String| Cond::Like { field: field.to_string(), not: false, pattern };
    match mode {
        _ if word.contains('*') => like(like_pattern(word)),
        Mode::Anywhere => like(format!("%{word}%")),
        Mode::Prefix => like(format!("{word}%")),
        Mode::Exact => {
            let value = match parse_int(word) {
                Some(n) if is_id_like(field) => SqlValue::Int(n),
                _ => SqlValue::Text(word.to_string()),
            };
            Cond::Cmp { field: field.to_string(), op: CmpOp::Eq, value }
        }
    }
}

fn bad(msg: &str) -> ApiError {
    ApiError::bad_param(format!("bad qsearch: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn like(field: &str, pattern: &str) -> Cond {
        Cond::Like { field: field.into(), not: false, pattern: pattern.into() }
    }

    #[test]
    fn words_are_anded_and_fields_ored() {
        let got = qsearch("dscr,cmt", "张* 退款").unwrap();
        let expected = Cond::And(vec![
            Cond::Or(vec![like("dscr", "张%"), like("cmt", "张%")]),
            Cond::Or(vec![like("dscr", "%退款%"), like("cmt", "%退款%")]),
        ]);
        assert_eq!(got, Some(expected));
    }

    #[test]
    fn field_suffixes_choose_prefix_or_exact_matching() {
        let got = qsearch("code!, name*, id!", "a001").unwrap();
        let expected = Cond::Or(vec![
            Cond::Cmp { field: "code".into(), op: CmpOp::Eq, value: SqlValue::Text("a001".into()) },
            like("name", "a001%"),
            // Not a whole number: the id is named (and so checked) but cannot match.
            Cond::And(vec![Cond::Or(vec![]), Cond::Cmp { field: "id".into(), op: CmpOp::Eq, value: SqlValue::Int(0) }]),
        ]);
        assert_eq!(got, Some(expected));
        let by_id = qsearch("id!", "42").unwrap();
        assert_eq!(by_id, Some(Cond::Cmp { field: "id".into(), op: CmpOp::Eq, value: SqlValue::Int(42) }));
    }

    #[test]
    fn a_word_with_a_star_is_a_pattern_for_every_field() {
        assert_eq!(qsearch("code!", "a*1").unwrap(), Some(like("code", "a%1")));
    }

    #[test]
    fn no_words_means_no_condition() {
        assert_eq!(qsearch("name", "  ").unwrap(), None);
        assert_eq!(parse_qsearch_param("").unwrap(), None);
        assert_eq!(parse_qsearch_param("name:").unwrap(), None);
    }

    #[test]
    fn the_parameter_form_splits_at_the_first_colon() {
        assert_eq!(parse_qsearch_param("name,phone*:a:b").unwrap(), qsearch("name,phone*", "a:b").unwrap());
    }

    #[test]
    fn bad_specs_are_refused() {
        for s in ["nofields", ":x", "a,,b:x", "a b:x", "sleep(1):x", "a;b:x", "u.v.w:x"] {
            assert_eq!(parse_qsearch_param(s).expect_err(s).code, Code::Param, "{s}");
        }
    }
}
