//! The `cond` grammar (protocol §4.2, Rust port), and the token parser that the `res` and `orderby`
//! grammars build on.
//!
//! ```text
//! expr := and (OR and)*                 -- AND binds tighter than OR
//! and  := term (AND term)*
//! term := NOT term | '(' expr ')' | f cmp lit | f IS [NOT] NULL | f [NOT] LIKE str
//!       | f [NOT] IN '(' lit (',' lit)* ')' | f [NOT] BETWEEN lit AND lit
//! cmp  := = | <> | != | < | <= | > | >=
//! f    := name | name.name
//! lit  := [-]number | 'string' | "string"
//! ```
//! Keywords are case-insensitive. Only literals may stand right of an operator, so `1=1`, `a=b` and
//! `sleep(1)=0` are all refused. A whole cond that is a bare integer means `id=N`; `ALL` means no condition.

use super::lexer::{check_tokens, lex, snippet, Ctx, Tok, Token};
use super::{parse_int, CmpOp, Cond, SqlValue};
use crate::error::{ApiError, ApiResult};

/// How deep `(`, `NOT` and unary `-` may nest. Far beyond any real query; it keeps a hostile
/// `((((...` from overflowing the stack, which would abort the whole server rather than fail one call.
const MAX_DEPTH: usize = 32;

/// Words that cannot be field names in a cond, because they would make the grammar ambiguous.
const RESERVED: [&str; 7] = ["AND", "OR", "NOT", "IS", "NULL", "LIKE", "IN"];

/// Parses a `cond` string. `""` and `ALL` (any case) give `None`; a bare integer `N` gives `id=N`.
///
/// A pseudo-uuid literal (`id='d9a37e4c2038e8ad'`) is kept as text, not decoded: this server uses plain
/// integer ids, so such a literal simply matches nothing.
pub fn parse_cond(s: &str) -> ApiResult<Option<Cond>> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("ALL") {
        return Ok(None);
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        if let Some(id) = parse_int(t) {
            return Ok(Some(Cond::Cmp { field: "id".into(), op: CmpOp::Eq, value: SqlValue::Int(id) }));
        }
    }
    let mut p = Parser::new(s, Ctx::Cond)?;
    let cond = p.expr()?;
    p.expect_end()?;
    Ok(Some(cond))
}

/// A cursor over checked tokens. Grammar productions are methods (`expr` here, `arith` in `res`).
pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    pub ctx: Ctx,
    depth: usize,
}

impl<'a> Parser<'a> {
    /// Lexes `src` and runs [`check_tokens`] (sub-queries, function calls, stray characters) before any
    /// parsing.
    pub fn new(src: &'a str, ctx: Ctx) -> ApiResult<Self> {
        let toks = lex(src);
        check_tokens(src, &toks, ctx)?;
        Ok(Parser { src, toks, i: 0, ctx, depth: 0 })
    }

    pub fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    /// The token after the next one.
    pub fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.i + 1).map(|t| &t.tok)
    }

    pub fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).map(|t| t.tok.clone());
        self.i += 1;
        t
    }

    pub fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }

    /// Is the next token the keyword `kw` (case-insensitive)?
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(n)) if n.eq_ignore_ascii_case(kw))
    }

    /// Consumes the keyword `kw` if it is next.
    pub fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.is_kw(kw);
        if hit {
            self.i += 1;
        }
        hit
    }

    /// Consumes `tok` if it is next.
    pub fn eat(&mut self, tok: &Tok) -> bool {
        let hit = self.peek() == Some(tok);
        if hit {
            self.i += 1;
        }
        hit
    }

    /// Consumes `tok` or fails with "expected `what`".
    pub fn expect(&mut self, tok: &Tok, what: &str) -> ApiResult<()> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {what}")))
        }
    }

    /// Fails unless every token was used.
    pub fn expect_end(&self) -> ApiResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.err("unexpected text"))
        }
    }

    /// E_PARAM `bad cond: <msg> near `<text at the current token>``.
    pub fn err(&self, msg: &str) -> ApiError {
        let pos = self.toks.get(self.i).map_or(self.src.len(), |t| t.pos);
        ApiError::bad_param(format!("{}: {msg} near `{}`", self.ctx.what(), snippet(self.src, pos)))
    }

    /// Runs a nested production, refusing nesting deeper than [`MAX_DEPTH`].
    pub fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> ApiResult<T>) -> ApiResult<T> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// `expr := and (OR and)*`. Stops before a token it cannot use (`)`, `,`, end), for the caller to check.
    pub fn expr(&mut self) -> ApiResult<Cond> {
        let mut items = vec![self.and_expr()?];
        while self.eat_kw("OR") {
            items.push(self.and_expr()?);
        }
        Ok(Cond::or(items))
    }

    fn and_expr(&mut self) -> ApiResult<Cond> {
        let mut items = vec![self.term()?];
        while self.eat_kw("AND") {
            items.push(self.term()?);
        }
        Ok(Cond::and(items))
    }

    fn term(&mut self) -> ApiResult<Cond> {
        if self.eat_kw("NOT") {
            return self.nested(|p| Ok(Cond::Not(Box::new(p.term()?))));
        }
        if self.eat(&Tok::LParen) {
            return self.nested(|p| {
                let inner = p.expr()?;
                p.expect(&Tok::RParen, "`)`")?;
                Ok(inner)
            });
        }
        let field = self.cond_field()?;
        if self.peek() == Some(&Tok::LParen) {
            // check_tokens already refuses calls; this keeps the parser safe on its own.
            return Err(self.ctx.function_error(&field));
        }
        if let Some(Tok::Cmp(op)) = self.peek() {
            let op = *op;
            self.i += 1;
            let value = self.lit()?;
            return Ok(Cond::Cmp { field, op, value });
        }
        if self.eat_kw("IS") {
            let not = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                return Err(self.err("expected NULL after IS"));
            }
            return Ok(Cond::IsNull { field, not });
        }
        let not = self.eat_kw("NOT");
        if self.eat_kw("LIKE") {
            return match self.bump() {
                Some(Tok::Str { text, .. }) => Ok(Cond::Like { field, not, pattern: text }),
                _ => {
                    self.i -= 1;
                    Err(self.err("expected a quoted pattern after LIKE"))
                }
            };
        }
        if self.eat_kw("IN") {
            self.expect(&Tok::LParen, "`(` after IN")?;
            let mut values = vec![self.lit()?];
            while self.eat(&Tok::Comma) {
                values.push(self.lit()?);
            }
            self.expect(&Tok::RParen, "`)` after the IN list")?;
            return Ok(Cond::In { field, not, values });
        }
        if self.eat_kw("BETWEEN") {
            let lo = self.lit()?;
            if !self.eat_kw("AND") {
                return Err(self.err("expected AND in BETWEEN"));
            }
            let hi = self.lit()?;
            let between = Cond::Between { field, lo, hi };
            return Ok(if not { Cond::Not(Box::new(between)) } else { between });
        }
        Err(self.err(&format!("expected an operator after `{field}`")))
    }

    /// A field name on the left of an operator (never a literal: that is how `1=1` is refused).
    fn cond_field(&mut self) -> ApiResult<String> {
        match self.peek() {
            Some(Tok::Ident(n)) if !RESERVED.iter().any(|k| k.eq_ignore_ascii_case(n)) => {
                let n = n.clone();
                self.i += 1;
                Ok(n)
            }
            None => Err(self.err("expected a condition")),
            _ => Err(self.err("expected a field name")),
        }
    }

    /// `lit := [-]number | 'string' | "string"`, bound later as a parameter.
    pub fn lit(&mut self) -> ApiResult<SqlValue> {
        let neg = self.eat(&Tok::Minus);
        match (self.peek(), neg) {
            (Some(Tok::Num(v)), _) => {
                let v = if neg { negate(v) } else { v.clone() };
                self.i += 1;
                Ok(v)
            }
            (Some(Tok::Str { text, .. }), false) => {
                let v = SqlValue::Text(text.clone());
                self.i += 1;
                Ok(v)
            }
            _ => Err(self.err("expected a number or a quoted string")),
        }
    }
}

/// `-v` for a lexed number (always non-negative, so this cannot overflow).
pub(crate) fn negate(v: &SqlValue) -> SqlValue {
    match v {
        SqlValue::Int(n) => SqlValue::Int(-n),
        SqlValue::Real(f) => SqlValue::Real(-f),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn parse(s: &str) -> Cond {
        parse_cond(s).unwrap_or_else(|e| panic!("{s}: {e}")).expect("a condition")
    }

    fn code(s: &str) -> Code {
        parse_cond(s).expect_err(s).code
    }

    fn cmp(field: &str, op: CmpOp, value: SqlValue) -> Cond {
        Cond::Cmp { field: field.into(), op, value }
    }

    fn int(n: i64) -> SqlValue {
        SqlValue::Int(n)
    }

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.into())
    }

    #[test]
    fn empty_and_all_mean_no_condition() {
        assert_eq!(parse_cond("").unwrap(), None);
        assert_eq!(parse_cond("  ").unwrap(), None);
        assert_eq!(parse_cond("all").unwrap(), None);
        assert_eq!(parse_cond("ALL").unwrap(), None);
    }

    #[test]
    fn bare_integer_means_id_equals() {
        assert_eq!(parse(" 42 "), cmp("id", CmpOp::Eq, int(42)));
    }

    #[test]
    fn every_comparison_operator_parses() {
        let cases = [
            ("a=1", CmpOp::Eq),
            ("a<>1", CmpOp::Ne),
            ("a!=1", CmpOp::Ne),
            ("a<1", CmpOp::Lt),
            ("a<=1", CmpOp::Le),
            ("a>1", CmpOp::Gt),
            ("a >= 1", CmpOp::Ge),
        ];
        for (s, op) in cases {
            assert_eq!(parse(s), cmp("a", op, int(1)), "{s}");
        }
    }

    #[test]
    fn literals_are_integers_decimals_negatives_and_both_quote_styles() {
        assert_eq!(parse("a=-3"), cmp("a", CmpOp::Eq, int(-3)));
        assert_eq!(parse("a=2.50"), cmp("a", CmpOp::Eq, SqlValue::Real(2.5)));
        assert_eq!(parse("a=-0.5"), cmp("a", CmpOp::Eq, SqlValue::Real(-0.5)));
        assert_eq!(parse("a='it''s'"), cmp("a", CmpOp::Eq, text("it's")));
        assert_eq!(parse("a=\"say \"\"hi\"\"\""), cmp("a", CmpOp::Eq, text("say \"hi\"")));
        assert_eq!(parse("名字='张三; DROP'"), cmp("名字", CmpOp::Eq, text("张三; DROP")));
    }

    #[test]
    fn pseudo_uuid_literals_stay_text() {
        assert_eq!(parse("id='d9a37e4c2038e8ad'"), cmp("id", CmpOp::Eq, text("d9a37e4c2038e8ad")));
    }

    #[test]
    fn table_prefixed_fields_are_kept_as_written() {
        assert_eq!(parse("t0.status='CR'"), cmp("t0.status", CmpOp::Eq, text("CR")));
    }

    #[test]
    fn is_null_like_in_and_between_parse_with_and_without_not() {
        assert_eq!(parse("a IS NULL"), Cond::IsNull { field: "a".into(), not: false });
        assert_eq!(parse("a is not null"), Cond::IsNull { field: "a".into(), not: true });
        assert_eq!(parse("a LIKE 'x%'"), Cond::Like { field: "a".into(), not: false, pattern: "x%".into() });
        assert_eq!(parse("a not like 'x%'"), Cond::Like { field: "a".into(), not: true, pattern: "x%".into() });
        assert_eq!(parse("a IN (1, 'b')"), Cond::In { field: "a".into(), not: false, values: vec![int(1), text("b")] });
        assert_eq!(parse("a NOT IN (-1)"), Cond::In { field: "a".into(), not: true, values: vec![int(-1)] });
        let between = Cond::Between { field: "tm".into(), lo: text("2024-01-01"), hi: text("2024-02-01") };
        assert_eq!(parse("tm BETWEEN '2024-01-01' AND '2024-02-01'"), between);
        assert_eq!(parse("tm not between '2024-01-01' and '2024-02-01'"), Cond::Not(Box::new(between)));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let expected = Cond::Or(vec![
            cmp("a", CmpOp::Eq, int(1)),
            Cond::And(vec![cmp("b", CmpOp::Eq, int(2)), cmp("c", CmpOp::Eq, int(3))]),
        ]);
        assert_eq!(parse("a=1 OR b=2 AND c=3"), expected);
    }

    #[test]
    fn parentheses_override_precedence() {
        let expected = Cond::And(vec![
            Cond::Or(vec![cmp("a", CmpOp::Eq, int(1)), cmp("b", CmpOp::Eq, int(2))]),
            cmp("c", CmpOp::Eq, int(3)),
        ]);
        assert_eq!(parse("(a=1 or b=2) and c=3"), expected);
    }

    #[test]
    fn not_applies_to_the_next_term_only() {
        let expected = Cond::And(vec![Cond::Not(Box::new(cmp("a", CmpOp::Eq, int(1)))), cmp("b", CmpOp::Eq, int(2))]);
        assert_eq!(parse("NOT a=1 AND b=2"), expected);
        let grouped = Cond::Not(Box::new(Cond::Or(vec![cmp("a", CmpOp::Eq, int(1)), cmp("b", CmpOp::Eq, int(2))])));
        assert_eq!(parse("not (a=1 or b=2)"), grouped);
    }

    #[test]
    fn chains_of_the_same_operator_are_flat() {
        let Cond::And(items) = parse("a=1 and b=2 and (c=3 and d=4)") else { panic!("expected And") };
        assert_eq!(items.len(), 4);
    }

    #[test]
    fn deep_nesting_is_refused_instead_of_overflowing_the_stack() {
        let ok = format!("{}a=1{}", "(".repeat(30), ")".repeat(30));
        assert!(parse_cond(&ok).is_ok());
        let hostile = format!("{}a=1{}", "(".repeat(100_000), ")".repeat(100_000));
        let err = parse_cond(&hostile).unwrap_err();
        assert!(err.internal.unwrap().starts_with("bad cond: nested too deeply"));
        assert_eq!(code(&"NOT ".repeat(100_000)), Code::Param);
    }

    #[test]
    fn semicolon_statements_are_refused() {
        assert_eq!(code("1=1; DROP TABLE User"), Code::Param);
        assert_eq!(code("id=1; DROP TABLE User"), Code::Param);
    }

    #[test]
    fn quote_breaking_injection_is_refused() {
        assert_eq!(code("' OR '1'='1"), Code::Param);
        assert_eq!(code("name='x' OR '1'='1'"), Code::Param);
    }

    #[test]
    fn comments_are_refused() {
        assert_eq!(code("id=1 --"), Code::Param);
        assert_eq!(code("id=1 /* x */"), Code::Param);
    }

    #[test]
    fn sub_queries_and_union_are_forbidden() {
        assert_eq!(code("id IN (SELECT id FROM User)"), Code::Forbidden);
        assert_eq!(code("id=1 UNION SELECT pwd FROM User"), Code::Forbidden);
        assert_eq!(code("id=1; select 1"), Code::Forbidden);
    }

    #[test]
    fn function_calls_are_forbidden_with_the_reference_wording() {
        let err = parse_cond("sleep(1)=0").unwrap_err();
        assert_eq!(err.code, Code::Forbidden);
        assert_eq!(err.internal.as_deref(), Some("forbidden `sleep` in param cond"));
        assert_eq!(code("id=1 OR a=char(65)"), Code::Forbidden);
    }

    #[test]
    fn literal_on_the_left_is_refused() {
        let err = parse_cond("status='CR' OR 1=1").unwrap_err();
        assert_eq!(err.code, Code::Param);
        assert_eq!(err.internal.as_deref(), Some("bad cond: expected a field name near `1=1`"));
    }

    #[test]
    fn field_on_the_right_is_refused() {
        assert_eq!(code("a=b"), Code::Param);
    }

    #[test]
    fn malformed_conditions_are_refused() {
        for s in [
            "a='open",
            "a=1 b=2",
            "a=1)",
            "(a=1",
            "a",
            "a=",
            "a IS 1",
            "a LIKE 1",
            "a IN ()",
            "a IN 1",
            "a BETWEEN 1 OR 2",
            "a=1 AND",
            "a.b.c=1",
            "and=1",
            "a=-'x'",
            "a=99999999999999999999",
            "a=1 # x",
            "a = NULL",
        ] {
            assert_eq!(code(s), Code::Param, "{s}");
        }
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = parse_cond("a=1 b=2").unwrap_err();
        assert_eq!(err.internal.as_deref(), Some("bad cond: unexpected text near `b=2`"));
        let err = parse_cond("a=1 AND").unwrap_err();
        assert_eq!(err.internal.as_deref(), Some("bad cond: expected a condition near `(end)`"));
    }
}
