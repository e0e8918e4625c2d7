//! Result values to JSON: column kinds, decimals as two-decimal strings, enum labels.

use serde_json::Value;

use crate::api::params::value_to_string;
use crate::db::conn::Val;
use crate::meta::ColType;

/// How a result column is turned into JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Int,
    /// decimal(19,2): printed as a two-decimal string, as the reference does.
    Decimal,
    Real,
    Text,
    /// Whatever the database returns.
    Auto,
}

impl Kind {
    /// The output kind of a column type.
    pub fn of(t: &ColType) -> Kind {
        match t {
            ColType::Id | ColType::Int | ColType::Flag => Kind::Int,
            ColType::Decimal => Kind::Decimal,
            ColType::Double | ColType::Float => Kind::Real,
            _ => Kind::Text,
        }
    }
}

/// Converts one database value to JSON by column kind.
pub fn to_json(v: Val, kind: Kind) -> Value {
    use Val as V;
    match (v, kind) {
        (V::Null, _) => Value::Null,
        (V::Int(i), Kind::Decimal) => Value::String(format!("{i}.00")),
        (V::Real(f), Kind::Decimal) => Value::String(cents_text(f)),
        (V::Int(i), Kind::Text) => Value::String(i.to_string()),
        (V::Int(i), _) => Value::from(i),
        (V::Real(f), Kind::Int) if f.fract() == 0.0 => Value::from(f as i64),
        (V::Real(f), Kind::Text) => Value::String(f.to_string()),
        (V::Real(f), _) => serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
        (V::Text(t), Kind::Int) => t.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(t.into_owned())),
        (V::Text(t), _) => Value::String(t.into_owned()),
    }
}

/// Writes one database value as JSON text: exactly the text of `to_json(v, kind)`, without the
/// `Value` (rows written straight to text, see `crud::text`).
pub fn write_json(out: &mut Vec<u8>, v: Val, kind: Kind) {
    use Val as V;
    // serde_json writes numbers with itoa/ryu, as it does inside a `Value`; writing to a Vec cannot fail.
    let int = |out: &mut Vec<u8>, i: i64| {
        let _ = serde_json::to_writer(&mut *out, &i);
    };
    match (v, kind) {
        (V::Null, _) => out.extend_from_slice(b"null"),
        (V::Int(i), Kind::Decimal) => {
            out.push(b'"');
            int(out, i);
            out.extend_from_slice(b".00\"");
        }
        (V::Real(f), Kind::Decimal) => {
            out.push(b'"');
            write_cents(out, f);
            out.push(b'"');
        }
        (V::Int(i), Kind::Text) => {
            out.push(b'"');
            int(out, i);
            out.push(b'"');
        }
        (V::Int(i), _) => int(out, i),
        (V::Real(f), Kind::Int) if f.fract() == 0.0 => int(out, f as i64),
        (V::Real(f), Kind::Text) => write_str(out, &f.to_string()),
        (V::Real(f), _) => {
            let _ = serde_json::to_writer(&mut *out, &f);
        }
        (V::Text(t), Kind::Int) => match t.parse::<i64>() {
            Ok(i) => int(out, i),
            Err(_) => write_str(out, &t),
        },
        (V::Text(t), _) => write_str(out, &t),
    }
}

/// Writes a JSON string (serde_json's escaping).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// A decimal(19,2) value as the reference prints it (`12.50`). Amounts are stored rounded to cents, so
/// formatting the cents as an integer is exact, and much cheaper than float formatting.
pub fn cents_text(f: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_cents(&mut out, f);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `cents_text(f)`.
fn write_cents(out: &mut Vec<u8>, f: f64) {
    let cents = (f * 100.0).round() as i64;
    if cents < 0 {
        out.push(b'-');
    }
    let c = cents.unsigned_abs();
    let _ = serde_json::to_writer(&mut *out, &(c / 100));
    out.push(b'.');
    out.push(b'0' + (c % 100 / 10) as u8);
    out.push(b'0' + (c % 10) as u8);
}

/// Applies enum labels to a value (comma-separated values are mapped element-wise).
pub fn map_enum(v: &Value, labels: &[(String, String)]) -> Value {
    let lookup = |s: &str| labels.iter().find(|(k, _)| k == s).map(|(_, l)| l.clone());
    match v {
        Value::Null => lookup("").map(Value::String).unwrap_or(Value::Null),
        other => {
            let s = value_to_string(other);
            if let Some(l) = lookup(&s) {
                return Value::String(l);
            }
            if s.contains(',') {
                let parts: Vec<String> = s.split(',').map(|x| lookup(x).unwrap_or_else(|| x.to_string())).collect();
                return Value::String(parts.join(","));
            }
            other.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_written_as_text_are_the_text_of_their_json_value() {
        use std::borrow::Cow;
        let vals = [
            Val::Null,
            Val::Int(0),
            Val::Int(-42),
            Val::Int(i64::MAX),
            Val::Real(12.5),
            Val::Real(-0.07),
            Val::Real(3.0),
            Val::Real(1e300),
            Val::Real(f64::NAN),
            Val::Real(f64::INFINITY),
            Val::Text(Cow::Borrowed("")),
            Val::Text(Cow::Borrowed("12")),
            Val::Text(Cow::Borrowed("-7")),
            Val::Text(Cow::Borrowed("12.50")),
            Val::Text(Cow::Borrowed("用户\"1\"\\ \n\t\u{1}/<>")),
            Val::Text(Cow::Owned("2024-01-01 10:00:00".to_string())),
        ];
        for v in &vals {
            for kind in [Kind::Int, Kind::Decimal, Kind::Real, Kind::Text, Kind::Auto] {
                let mut out = Vec::new();
                write_json(&mut out, v.clone(), kind);
                let want = serde_json::to_vec(&to_json(v.clone(), kind)).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(want).unwrap(), "{v:?} as {kind:?}");
            }
        }
    }

    #[test]
    fn decimals_print_two_places_exactly() {
        for (f, s) in
            [(12.5, "12.50"), (0.07, "0.07"), (-0.5, "-0.50"), (1e12 + 0.25, "1000000000000.25"), (9.999, "10.00")]
        {
            assert_eq!(cents_text(f), s);
        }
    }
}
