//! Request values → column values: the type checks of add/set.
//!
//! Every field written goes through `to_column`, so a wrong type is E_PARAM naming the field before
//! any SQL runs. Dates are normalised to the protocol's `YYYY-MM-DD HH:MM:SS`.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use crate::api::params::{short, value_to_string};
use crate::error::{ApiError, ApiResult};
use crate::meta::{ColType, Column};
use crate::query::SqlValue;

fn bad(col: &Column, what: &str, v: &Value) -> ApiError {
    ApiError::param(format!("字段`{}`的值不正确", col.name)).internal(format!(
        "bad value for `{}` ({what}): {}",
        col.name,
        short(v)
    ))
}

/// Parses the date/time forms clients send: `2024-01-05 10:30:00`, `2024-1-5 10:30`, `2024-01-05`,
/// `2024-01-05T10:30:00(.sss)(Z)`, `2024/1/5 ...`.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Some(t) = parse_canonical(s.as_bytes()) {
        return Some(t);
    }
    let s = s.replace('/', "-").replace('T', " ");
    let s = s.trim_end_matches('Z');
    let s = match s.find('.') {
        Some(i) if s[..i].contains(':') => &s[..i],
        _ => s,
    };
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// `YYYY-MM-DD HH:MM:SS` exactly (the form this server writes and most clients send), read digit by
/// digit: chrono's `parse_from_str` interprets its format at every call, 2.3k instructions of an
/// `Ordr.add`. `None` for anything else, a date that does not exist included; the general parse
/// then decides.
fn parse_canonical(s: &[u8]) -> Option<NaiveDateTime> {
    if s.len() != 19 || s[4] != b'-' || s[7] != b'-' || s[10] != b' ' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let num = |from: usize, len: usize| {
        s[from..from + len].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 2)?, num(8, 2)?)?;
    date.and_hms_opt(num(11, 2)?, num(14, 2)?, num(17, 2)?)
}

/// Converts a non-empty request value to the column's SQL value, or E_PARAM.
pub fn to_column(col: &Column, v: &Value) -> ApiResult<SqlValue> {
    let text = || value_to_string(v);
    Ok(match &col.ty {
        ColType::Id | ColType::Int | ColType::Flag => {
            let i = crate::api::params::value_to_int(v).ok_or_else(|| bad(col, "integer", v))?;
            if matches!(col.ty, ColType::Flag) && !(0..=255).contains(&i) {
                return Err(bad(col, "flag 0-255", v));
            }
            SqlValue::Int(i)
        }
        ColType::Decimal | ColType::Double | ColType::Float => {
            let f = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|f| f.is_finite())
            .ok_or_else(|| bad(col, "number", v))?;
            if matches!(col.ty, ColType::Decimal) {
                if f.abs() >= 1e17 {
                    return Err(bad(col, "decimal(19,2)", v));
                }
                SqlValue::Real((f * 100.0).round() / 100.0)
            } else {
                SqlValue::Real(f)
            }
        }
        ColType::DateTime => {
            let t = parse_datetime(&text()).ok_or_else(|| bad(col, "datetime", v))?;
            SqlValue::Text(crate::db::datetime_text(&t))
        }
        ColType::Date => {
            let t = parse_datetime(&text()).ok_or_else(|| bad(col, "date", v))?;
            SqlValue::Text(t.format("%Y-%m-%d").to_string())
        }
        ColType::Varchar(n) => {
            let s = match v {
                Value::Array(_) | Value::Object(_) => v.to_string(),
                _ => text(),
            };
            if s.chars().count() > *n as usize {
                return Err(ApiError::param(format!("字段`{}`太长(最多{}字)", col.name, n))
                    .internal(format!("value too long for `{}` (max {n})", col.name)));
            }
            SqlValue::Text(s)
        }
        ColType::Text | ColType::MediumText => SqlValue::Text(match v {
            Value::Array(_) | Value::Object(_) => v.to_string(),
            _ => text(),
        }),
    })
}

/// The value of `empty` in set: `''` for strings, 0 for numbers.
pub fn empty_value(col: &Column) -> SqlValue {
    if col.ty.is_numeric() {
        SqlValue::Int(0)
    } else {
        SqlValue::Text(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn by_chrono(s: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()
    }

    #[test]
    fn the_canonical_form_is_read_as_chrono_reads_it_and_anything_else_is_left_to_the_general_parse() {
        // Every month's first, last and one-past-last day (leap years and centuries among them), at
        // times around the edges of each field.
        let mut seen = 0;
        for y in [1, 999, 1900, 2000, 2023, 2024, 2100, 9999] {
            for m in 0..=13 {
                for d in [0, 1, 28, 29, 30, 31, 32] {
                    for (h, mi, sec) in [(0, 0, 0), (23, 59, 59), (24, 0, 0), (12, 60, 0), (12, 0, 60), (9, 5, 7)] {
                        let s = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{sec:02}");
                        let fast = parse_canonical(s.as_bytes());
                        // A leap second (:60) is chrono's to read.
                        assert!(fast.is_none() || fast == by_chrono(&s), "{s}: {fast:?}");
                        assert_eq!(fast.is_some(), by_chrono(&s).is_some() && sec < 60, "{s}");
                        assert_eq!(parse_datetime(&s), by_chrono(&s), "{s}");
                        seen += usize::from(fast.is_some());
                    }
                }
            }
        }
        assert!(seen > 1000, "most of them are real times, read the fast way: {seen}");
        for other in [
            "2024-01-05T10:30:00",
            "2024/01/05 10:30:00",
            "2024-1-5 10:30:00",
            "2024-01-05 10:30",
            "2024-01-05",
            "2024-01-05 10:30:0x",
            "+024-01-05 10:30:00",
            "2024-01-05 10:30:00.5",
            "2024-01-05  10:30:0",
        ] {
            assert_eq!(parse_canonical(other.as_bytes()), None, "{other}");
        }
        let t = |s: &str| parse_datetime(s).map(|t| crate::db::datetime_text(&t));
        assert_eq!(t(" 2024-01-05 10:30:00 ").as_deref(), Some("2024-01-05 10:30:00"));
        assert_eq!(t("2024/1/5 10:30").as_deref(), Some("2024-01-05 10:30:00"));
        assert_eq!(t("2024-01-05T10:30:00.123Z").as_deref(), Some("2024-01-05 10:30:00"));
        assert_eq!(t("2024-02-30 10:30:00"), None);
    }

    fn col(ty: ColType) -> Column {
        Column { name: "f".into(), ty }
    }

    #[test]
    fn dates_in_every_common_form_normalise() {
        let c = col(ColType::DateTime);
        for s in ["2024-01-05 10:30:00", "2024-1-5 10:30", "2024-01-05T10:30:00.123Z", "2024/01/05 10:30:00"] {
            assert_eq!(to_column(&c, &json!(s)).unwrap(), SqlValue::Text("2024-01-05 10:30:00".into()), "{s}");
        }
        assert_eq!(to_column(&col(ColType::Date), &json!("2024-1-5")).unwrap(), SqlValue::Text("2024-01-05".into()));
        assert!(to_column(&c, &json!("yesterday")).is_err());
        assert!(to_column(&c, &json!("2024-13-01")).is_err());
    }

    #[test]
    fn numbers_are_checked_and_decimals_rounded_to_cents() {
        assert_eq!(to_column(&col(ColType::Int), &json!("12")).unwrap(), SqlValue::Int(12));
        assert!(to_column(&col(ColType::Int), &json!("12a")).is_err());
        assert!(to_column(&col(ColType::Int), &json!(1.5)).is_err());
        assert_eq!(to_column(&col(ColType::Decimal), &json!("9.999")).unwrap(), SqlValue::Real(10.0));
        assert!(to_column(&col(ColType::Decimal), &json!("abc")).is_err());
        assert!(to_column(&col(ColType::Flag), &json!(300)).is_err());
    }

    #[test]
    fn strings_longer_than_the_column_are_refused() {
        assert!(to_column(&col(ColType::Varchar(2)), &json!("abc")).is_err());
        assert_eq!(to_column(&col(ColType::Varchar(2)), &json!("中文")).unwrap(), SqlValue::Text("中文".into()));
    }
}
