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

/// Writes text as the database gave it (bytes) as a JSON string: the same bytes as [`write_str`] of
/// it, invalid UTF-8 replaced as `Val` replaces it. Printable ASCII with no quote and no backslash,
/// which is most of what a row holds (times, codes, statuses), is copied as it is: one pass over the
/// bytes instead of a UTF-8 check and then an escaping pass.
pub fn write_text(out: &mut Vec<u8>, t: &[u8]) {
    if is_plain(t) {
        out.reserve(t.len() + 2);
        out.push(b'"');
        out.extend_from_slice(t);
        out.push(b'"');
        return;
    }
    match std::str::from_utf8(t) {
        Ok(s) => write_str(out, s),
        Err(_) => write_str(out, &String::from_utf8_lossy(t)),
    }
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

/// True if every byte is printable ASCII other than `"` and `\\`: what a JSON string holds as it is.
/// Eight bytes at a time (bytes from 0x80, below 0x20, and equal to either character show as a high
/// bit: the borrow tests of "Bit Twiddling Hacks", exact as a yes or no), then the rest one by one.
fn is_plain(t: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * n as u64) & !x & HIGH;
    let mut chunks = t.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_ne_bytes(c.try_into().unwrap_or([0; 8]));
        let bad =
            (x & HIGH) | below(x, 0x20) | below(x ^ (ONES * b'"' as u64), 1) | below(x ^ (ONES * b'\\' as u64), 1);
        if bad != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| (0x20..0x80).contains(&b) && b != b'"' && b != b'\\')
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
    fn text_as_bytes_is_written_as_serde_json_writes_it_for_every_byte_at_every_place() {
        let want = |t: &[u8]| serde_json::to_string(&String::from_utf8_lossy(t)).unwrap();
        let got = |t: &[u8]| {
            let mut out = Vec::new();
            write_text(&mut out, t);
            String::from_utf8(out).unwrap()
        };
        // Every byte at every place of strings up to two chunks and a remainder long.
        for len in 1..=19 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut t = vec![b'a'; len];
                    t[at] = b;
                    assert_eq!(got(&t), want(&t), "{t:?}");
                }
            }
        }
        for t in ["", "2026-12-04 10:00:00", "say \"hi\"", "a\\b", "tab\there", "\u{7f}", "用户1", "ok 座位 A-12"] {
            assert_eq!(got(t.as_bytes()), want(t.as_bytes()), "{t:?}");
        }
        // Invalid UTF-8 is replaced, as Val replaces it.
        assert_eq!(got(b"ab\xffcdefghij"), want(b"ab\xffcdefghij"));
        assert!(is_plain(b"2026-12-04 10:00:00") && !is_plain("用户".as_bytes()) && !is_plain(b"12345678\""));
    }

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
