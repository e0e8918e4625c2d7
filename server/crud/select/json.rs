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

/// A decimal(19,2) value as the reference prints it (`12.50`). Amounts are stored rounded to cents, so
/// formatting the cents as an integer is exact, and much cheaper than float formatting.
pub fn cents_text(f: f64) -> String {
    let cents = (f * 100.0).round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
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
    fn decimals_print_two_places_exactly() {
        for (f, s) in
            [(12.5, "12.50"), (0.07, "0.07"), (-0.5, "-0.50"), (1e12 + 0.25, "1000000000000.25"), (9.999, "10.00")]
        {
            assert_eq!(cents_text(f), s);
        }
    }
}
