//! Column types and the rules that derive a column's type from its name in a table line (protocol §2.2).
//!
//! A design declares `@Ordr: id, userId, status(2), amount, dscr(l)` and never writes a SQL type: the type follows
//! from a tag, a one-character suffix or the shape of the name. `derive_type` applies the rules in the protocol's
//! order, first match wins, so `userId(s)` is a string even though its name ends in `Id`. How a `ColType` is spelled
//! in SQL is the dialect's business (`db::dialect`), not this file's.

use std::fmt;

/// The type of a column, independent of any SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColType {
    /// The auto-increment integer primary key `id`.
    Id,
    /// A string of at most N characters.
    Varchar(u32),
    /// Text up to 64K.
    Text,
    /// Text up to 16M.
    MediumText,
    /// An integer.
    Int,
    /// A decimal(19,2): money, quantities, totals.
    Decimal,
    /// A double-precision float (`#` suffix).
    Double,
    /// A single-precision float (`!` suffix).
    Float,
    /// Date and time.
    DateTime,
    /// Date only.
    Date,
    /// A 0/1 flag that is never NULL (defaults to 0).
    Flag,
}

impl ColType {
    /// True for every type whose values are numbers (ids, integers, decimals, floats, flags).
    pub fn is_numeric(&self) -> bool {
        matches!(self, ColType::Id | ColType::Int | ColType::Decimal | ColType::Double | ColType::Float | ColType::Flag)
    }

    /// True for the integer types: `Id`, `Int`, `Flag`.
    pub fn is_int(&self) -> bool {
        matches!(self, ColType::Id | ColType::Int | ColType::Flag)
    }

    /// True for the character types: `Varchar`, `Text`, `MediumText` (dates are not counted as strings).
    pub fn is_string(&self) -> bool {
        matches!(self, ColType::Varchar(_) | ColType::Text | ColType::MediumText)
    }

    /// True for `DateTime` and `Date`.
    pub fn is_temporal(&self) -> bool {
        matches!(self, ColType::DateTime | ColType::Date)
    }
}

/// The jdcloud notation of the type (`varchar(20)`, `decimal(19,2)`, ...), for messages and docs.
impl fmt::Display for ColType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColType::Id => f.write_str("id"),
            ColType::Varchar(n) => write!(f, "varchar({n})"),
            ColType::Text => f.write_str("text"),
            ColType::MediumText => f.write_str("mediumtext"),
            ColType::Int => f.write_str("int"),
            ColType::Decimal => f.write_str("decimal(19,2)"),
            ColType::Double => f.write_str("double"),
            ColType::Float => f.write_str("float"),
            ColType::DateTime => f.write_str("datetime"),
            ColType::Date => f.write_str("date"),
            ColType::Flag => f.write_str("flag"),
        }
    }
}

/// True if `c` is a `\w` character in the Unicode sense: a letter, a digit or `_` (so `是否有效` is a word).
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True if `s` is non-empty and made only of word characters (`\w+`): the shape of every table and column name.
pub fn is_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_word_char)
}

/// Derives the column name and type from one item of a table line, e.g. `phone(s)`, `t&`, `createTm`.
///
/// Rules (protocol §2.2), first match wins:
/// 1. `id` is the primary key;
/// 2. a tag `name(tag)`: `s` `m` `l` or a number N (varchar 20/50/255/N), `t` text, `tt` mediumtext, `i` int,
///    `n` decimal, `tm` datetime, `date` (or `dt`) date, `flag` flag; any other tag is an error;
/// 3. a suffix, removed from the name: `&` int, `@` decimal, `#` double, `!` float;
/// 4. the base name (trailing digits stripped, first letter upper-cased: `total2` → `Total`) ends in
///    `Price|Qty|Total|Amount` → decimal; 5. `Id|Cnt|编号` → int; 6. `Tm|时间` → datetime; 7. `Dt|日期` → date;
/// 8. it starts with `是否` or ends in `Flag` → flag;
/// 9. any other `\w+` name → varchar(50).
///
/// Whatever the rule, the remaining column name must be `\w+`; the error is the reason, without location.
pub fn derive_type(field_spec: &str) -> Result<(String, ColType), String> {
    let spec = field_spec.trim();
    if spec == "id" {
        return Ok((spec.to_string(), ColType::Id));
    }
    if let Some((name, tag)) = split_tag(spec)? {
        let ty = tag_type(tag)?;
        return Ok((checked_name(name)?, ty));
    }
    if let Some(ty) = spec.chars().last().and_then(suffix_type) {
        // Every suffix is one ASCII byte, so slicing it off stays on a char boundary.
        return Ok((checked_name(&spec[..spec.len() - 1])?, ty));
    }
    let name = checked_name(spec)?;
    Ok((name.clone(), type_by_name(&name)))
}

/// Splits `name(tag)` into its parts; `Ok(None)` if the spec has no tag, an error if the parentheses hold no `\w+`.
fn split_tag(spec: &str) -> Result<Option<(&str, &str)>, String> {
    let Some(inner) = spec.strip_suffix(')') else { return Ok(None) };
    let Some(open) = inner.rfind('(') else { return Err(format!("unbalanced `)` in `{spec}`")) };
    let tag = &inner[open + 1..];
    if !is_word(tag) {
        return Err(format!("bad type tag `({tag})` in `{spec}`"));
    }
    Ok(Some((&inner[..open], tag)))
}

/// The type a tag stands for (rule 2).
fn tag_type(tag: &str) -> Result<ColType, String> {
    Ok(match tag {
        "s" => ColType::Varchar(20),
        "m" => ColType::Varchar(50),
        "l" => ColType::Varchar(255),
        "t" => ColType::Text,
        "tt" => ColType::MediumText,
        "i" => ColType::Int,
        "n" => ColType::Decimal,
        "tm" => ColType::DateTime,
        // The reference tool rejects `(dt)`, but its own docs write `tm(dt)`; a design following the docs should
        // not fail to load, and `dt` cannot mean anything else, so it is accepted as a date.
        "date" | "dt" => ColType::Date,
        "flag" => ColType::Flag,
        _ if tag.bytes().all(|b| b.is_ascii_digit()) => match tag.parse::<u32>() {
            // 65535 is the most any SQL dialect we target allows for a varchar.
            Ok(n) if (1..=65535).contains(&n) => ColType::Varchar(n),
            _ => return Err(format!("bad string length `({tag})`, expected 1..65535")),
        },
        _ => return Err(format!("unknown type tag `({tag})`")),
    })
}

/// The type a one-character suffix stands for (rule 3).
fn suffix_type(c: char) -> Option<ColType> {
    match c {
        '&' => Some(ColType::Int),
        '@' => Some(ColType::Decimal),
        '#' => Some(ColType::Double),
        '!' => Some(ColType::Float),
        _ => None,
    }
}

/// Rules 4-9 on a name already known to be `\w+`.
fn type_by_name(name: &str) -> ColType {
    let base = base_name(name);
    let ends = |words: &[&str]| words.iter().any(|w| base.ends_with(w));
    if ends(&["Price", "Qty", "Total", "Amount"]) {
        ColType::Decimal
    } else if ends(&["Id", "Cnt", "编号"]) {
        ColType::Int
    } else if ends(&["Tm", "时间"]) {
        ColType::DateTime
    } else if ends(&["Dt", "日期"]) {
        ColType::Date
    } else if base.starts_with("是否") || base.ends_with("Flag") {
        ColType::Flag
    } else {
        ColType::Varchar(50)
    }
}

/// The name with trailing digits and symbols stripped and the first letter upper-cased (`total2` → `Total`), so
/// that a bare `tm` or `price` follows the same rule as `createTm` or `unitPrice`.
fn base_name(name: &str) -> String {
    let stripped = name.trim_end_matches(|c: char| c.is_numeric() || !is_word_char(c));
    let mut chars = stripped.chars();
    match chars.next() {
        // ASCII only, as the reference's `ucfirst`: a Chinese first character has no case anyway.
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `name` as an owned column name if it is `\w+`.
fn checked_name(name: &str) -> Result<String, String> {
    if is_word(name) {
        Ok(name.to_string())
    } else if name.is_empty() {
        Err("empty column name".to_string())
    } else {
        Err(format!("bad column name `{name}` (letters, digits and `_` only)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(spec: &str) -> ColType {
        match derive_type(spec) {
            Ok((_, t)) => t,
            Err(e) => panic!("`{spec}` should derive a type, got error: {e}"),
        }
    }

    fn name(spec: &str) -> String {
        match derive_type(spec) {
            Ok((n, _)) => n,
            Err(e) => panic!("`{spec}` should derive a type, got error: {e}"),
        }
    }

    #[test]
    fn id_is_the_primary_key() {
        assert_eq!(derive_type("id"), Ok(("id".to_string(), ColType::Id)));
    }

    #[test]
    fn each_string_tag_gives_its_varchar_length() {
        assert_eq!(ty("phone(s)"), ColType::Varchar(20));
        assert_eq!(ty("name(m)"), ColType::Varchar(50));
        assert_eq!(ty("dscr(l)"), ColType::Varchar(255));
        assert_eq!(ty("qty(20)"), ColType::Varchar(20));
        assert_eq!(ty("status(2)"), ColType::Varchar(2));
    }

    #[test]
    fn each_other_tag_gives_its_type() {
        assert_eq!(ty("exif(t)"), ColType::Text);
        assert_eq!(ty("content(tt)"), ColType::MediumText);
        assert_eq!(ty("n(i)"), ColType::Int);
        assert_eq!(ty("price(n)"), ColType::Decimal);
        assert_eq!(ty("x(tm)"), ColType::DateTime);
        assert_eq!(ty("tm(date)"), ColType::Date);
        assert_eq!(ty("tm(dt)"), ColType::Date);
        assert_eq!(ty("x(flag)"), ColType::Flag);
    }

    #[test]
    fn a_tag_is_removed_from_the_column_name() {
        assert_eq!(name("phone(s)"), "phone");
        assert_eq!(name("qty(20)"), "qty");
    }

    #[test]
    fn each_suffix_gives_its_type_and_is_removed_from_the_name() {
        assert_eq!(derive_type("t&"), Ok(("t".to_string(), ColType::Int)));
        assert_eq!(derive_type("fee@"), Ok(("fee".to_string(), ColType::Decimal)));
        assert_eq!(derive_type("lat#"), Ok(("lat".to_string(), ColType::Double)));
        assert_eq!(derive_type("ratio!"), Ok(("ratio".to_string(), ColType::Float)));
    }

    #[test]
    fn money_and_quantity_names_are_decimal() {
        assert_eq!(ty("amount"), ColType::Decimal);
        assert_eq!(ty("unitPrice"), ColType::Decimal);
        assert_eq!(ty("qty"), ColType::Decimal);
        assert_eq!(ty("total2"), ColType::Decimal);
    }

    #[test]
    fn id_count_and_number_names_are_int() {
        assert_eq!(ty("userId"), ColType::Int);
        assert_eq!(ty("xxxCnt"), ColType::Int);
        assert_eq!(ty("cnt"), ColType::Int);
        assert_eq!(ty("场次编号"), ColType::Int);
        assert_eq!(ty("apiLog1Id"), ColType::Int);
        assert_eq!(ty("id2"), ColType::Int);
    }

    #[test]
    fn time_names_are_datetime_and_date_names_are_date() {
        assert_eq!(ty("createTm"), ColType::DateTime);
        assert_eq!(ty("tm"), ColType::DateTime);
        assert_eq!(ty("开始时间"), ColType::DateTime);
        assert_eq!(ty("orderDt"), ColType::Date);
        assert_eq!(ty("出生日期"), ColType::Date);
    }

    #[test]
    fn yes_no_names_are_flags() {
        assert_eq!(ty("是否有效"), ColType::Flag);
        assert_eq!(ty("delFlag"), ColType::Flag);
        assert_eq!(ty("flag"), ColType::Flag);
    }

    #[test]
    fn any_other_word_is_a_varchar_50() {
        assert_eq!(ty("uname"), ColType::Varchar(50));
        assert_eq!(ty("备注"), ColType::Varchar(50));
        assert_eq!(ty("a_b"), ColType::Varchar(50));
        // Documentation-only hints the tool ignores (§2.2): `Time` suffix, `is` prefix, lower-case `id` endings.
        assert_eq!(ty("startTime"), ColType::Varchar(50));
        assert_eq!(ty("isValid"), ColType::Varchar(50));
        assert_eq!(ty("paid"), ColType::Varchar(50));
    }

    #[test]
    fn the_first_matching_rule_wins() {
        assert_eq!(ty("userId(s)"), ColType::Varchar(20));
        assert_eq!(ty("price&"), ColType::Int);
        assert_eq!(ty("createTm(date)"), ColType::Date);
        assert_eq!(ty("qtyCnt"), ColType::Int);
        assert_eq!(ty("totalTm"), ColType::DateTime);
        assert_eq!(ty("priceId"), ColType::Int);
        assert_eq!(ty("是否开始时间"), ColType::DateTime);
        assert_eq!(ty("id&"), ColType::Int);
    }

    #[test]
    fn an_unknown_or_malformed_tag_is_an_error() {
        assert!(derive_type("x(q)").is_err());
        assert!(derive_type("x(0)").is_err());
        assert!(derive_type("x(99999999999)").is_err());
        assert!(derive_type("x()").is_err());
        assert!(derive_type("x(1,2)").is_err());
        assert!(derive_type("x)").is_err());
    }

    #[test]
    fn a_bad_column_name_is_an_error() {
        assert!(derive_type("a-b").is_err());
        assert!(derive_type("(s)").is_err());
        assert!(derive_type("&").is_err());
        assert!(derive_type("a&&").is_err());
        assert!(derive_type("a(s)&").is_err());
        assert!(derive_type("price()").is_err());
        assert!(derive_type("a.b").is_err());
        assert!(derive_type("").is_err());
    }

    #[test]
    fn type_classes_group_the_types() {
        assert!(ColType::Flag.is_int() && ColType::Flag.is_numeric());
        assert!(ColType::Decimal.is_numeric() && !ColType::Decimal.is_int());
        assert!(ColType::Varchar(20).is_string() && ColType::Text.is_string());
        assert!(!ColType::DateTime.is_string() && ColType::DateTime.is_temporal());
    }

    #[test]
    fn types_display_in_jdcloud_notation() {
        assert_eq!(ColType::Varchar(20).to_string(), "varchar(20)");
        assert_eq!(ColType::Decimal.to_string(), "decimal(19,2)");
    }
}
