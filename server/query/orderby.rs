//! The `orderby` grammar (protocol §4.3).
//!
//! ```text
//! orderby := term (',' term)*
//! term    := (name | tbl.name | "alias") [ASC | DESC]
//! ```
//! Names are kept as written; the caller's [`super::Resolve`] maps them to res aliases, vcols or `t0.`
//! columns and refuses the rest. Function calls (`rand()`) are E_FORBIDDEN; anything else is E_PARAM.

use super::cond::Parser;
use super::lexer::{Ctx, Tok};
use super::OrderItem;
use crate::error::ApiResult;

/// Parses an `orderby` list; `""` gives an empty list.
pub fn parse_orderby(s: &str) -> ApiResult<Vec<OrderItem>> {
    let mut p = Parser::new(s, Ctx::Orderby)?;
    let mut items = Vec::new();
    if p.at_end() {
        return Ok(items);
    }
    loop {
        let field = match p.peek() {
            Some(Tok::Ident(name)) => name.clone(),
            Some(Tok::Str { text, double: true }) if !text.is_empty() => text.clone(),
            _ => return Err(p.err("expected a field name")),
        };
        p.bump();
        let desc = p.eat_kw("DESC");
        if !desc {
            p.eat_kw("ASC");
        }
        items.push(OrderItem { field, desc });
        if p.at_end() {
            return Ok(items);
        }
        p.expect(&Tok::Comma, "`,`")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn item(field: &str, desc: bool) -> OrderItem {
        OrderItem { field: field.into(), desc }
    }

    #[test]
    fn names_with_directions_parse() {
        let items = parse_orderby("id desc, amount, t0.tm ASC, \"下单 时间\" DESC, 用户").unwrap();
        let expected = vec![
            item("id", true),
            item("amount", false),
            item("t0.tm", false),
            item("下单 时间", true),
            item("用户", false),
        ];
        assert_eq!(items, expected);
    }

    #[test]
    fn empty_orderby_is_an_empty_list() {
        assert_eq!(parse_orderby("  ").unwrap(), vec![]);
    }

    #[test]
    fn statements_and_expressions_are_refused() {
        for s in ["id; drop", "id desc desc", "id,", ",id", "id + 1", "1", "'id'", "id -- x", "a.b.c", "\"\""] {
            assert_eq!(parse_orderby(s).unwrap_err().code, Code::Param, "{s}");
        }
    }

    #[test]
    fn function_calls_and_sub_queries_are_forbidden() {
        let err = parse_orderby("rand()").unwrap_err();
        assert_eq!((err.code, err.internal.as_deref()), (Code::Forbidden, Some("function not allowed: rand")));
        assert_eq!(parse_orderby("(select 1)").unwrap_err().code, Code::Forbidden);
    }
}
