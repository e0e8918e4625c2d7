//! Money: integer cents inside, two-decimal strings in JSON (the project's fixed choice).

/// Parses a money amount as the protocol writes it (`12`, `12.5`, `12.50`) into cents; `None` for
/// anything else (more than two decimals, signs other than `-`, exponents, text).
pub fn parse_cents(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((_, "")) => return None,
        Some(wf) => wf,
        None => (body, ""),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 13 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let cents = whole.parse::<i64>().ok()? * 100 + format!("{frac:0<2}").parse::<i64>().ok()?;
    Some(if neg { -cents } else { cents })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_to_cents_with_at_most_two_decimals() {
        for (s, c) in [("12", 1200), ("12.5", 1250), ("12.50", 1250), ("0.01", 1), ("-3.10", -310), (" 7 ", 700)] {
            assert_eq!(parse_cents(s), Some(c), "{s}");
        }
        for s in ["", "1.234", "1e3", "abc", "1.", ".5", "+1", "1,5", "99999999999999"] {
            assert_eq!(parse_cents(s), None, "{s}");
        }
    }
}
