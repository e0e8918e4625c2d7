//! The `res` grammar (protocol §4.1) and `gres` (§4.6), which share its item syntax.
//!
//! ```text
//! res   := item (',' item)*                        -- commas inside (), {} and quotes do not split
//! item  := '*' | 't0.*' | name tail | 'null' alias | AGG '(' args ')' alias
//! tail  := [[AS] alias] ['=' key ':' label (';' key ':' label)*]
//! alias := text without whitespace, quotes, ; ( ) = | '"' text '"'
//! AGG   := COUNT | SUM | AVG | MAX | MIN | COUNTIF | SUMIF
//! args  := '*' | [DISTINCT] arith                   -- COUNT ... MIN
//!        | cond [',' [DISTINCT] name]               -- COUNTIF
//!        | cond ',' arith                           -- SUMIF
//! arith := arith (+|-) arith | arith (*|/) arith | -arith | '(' arith ')' | name | number
//! name  := identifier | t0.identifier
//! ```
//! Items are split and their names and aliases read at the character level, because aliases and enum
//! labels are free text (CJK, `:`, `;`); only aggregate arguments go through the token parser, whose
//! `cond` grammar is the one in [`super::cond`]. Any other function is E_FORBIDDEN; anything else the
//! grammar does not know is E_PARAM "bad property".

use super::cond::{negate, Parser};
use super::lexer::{check_tokens, find_close, is_field_name, is_ident_char, lex, Ctx, Tok};
use super::{AggArg, AggFunc, Arith, GresItem, ResItem};
use crate::error::{ApiError, ApiResult};

/// Enum labels of a field: `(code, label)` pairs.
type Labels = Vec<(String, String)>;

/// Parses a `res` list. `""` gives an empty list (the caller treats it as absent).
pub fn parse_res(s: &str) -> ApiResult<Vec<ResItem>> {
    split_items(s)?.into_iter().map(parse_item).collect()
}

/// Parses a `gres` (GROUP BY) list: names with optional aliases, no functions.
pub fn parse_gres(s: &str) -> ApiResult<Vec<GresItem>> {
    let mut out = Vec::new();
    for item in split_items(s)? {
        let (name, rest) = split_name(item);
        if rest.trim_start().starts_with('(') {
            return Err(Ctx::Res.function_error(name));
        }
        check_field(name, item)?;
        let (alias, enums) = parse_tail(rest, item)?;
        if enums.is_some() {
            return Err(bad_property(item));
        }
        out.push(GresItem { field: name.to_string(), alias });
    }
    Ok(out)
}

fn parse_item(item: &str) -> ApiResult<ResItem> {
    if item == "*" {
        return Ok(ResItem::Star);
    }
    if item == "t0.*" {
        return Ok(ResItem::T0Star);
    }
    let (name, rest) = split_name(item);
    if let Some(args) = rest.trim_start().strip_prefix('(') {
        return parse_agg(name, args, item);
    }
    if name.eq_ignore_ascii_case("null") {
        return match parse_tail(rest, item)? {
            (Some(alias), None) => Ok(ResItem::Null { alias }),
            (None, _) => Err(ApiError::bad_param(format!("bad property: `null` needs an alias in `{item}`"))),
            _ => Err(bad_property(item)),
        };
    }
    check_field(name, item)?;
    let (alias, enums) = parse_tail(rest, item)?;
    Ok(ResItem::Field { name: name.to_string(), alias, enums })
}

/// `name(args) alias`; `args` is everything after the `(`.
fn parse_agg(name: &str, args: &str, item: &str) -> ApiResult<ResItem> {
    let upper = name.to_ascii_uppercase();
    let func = match upper.as_str() {
        "COUNT" => Some(AggFunc::Count),
        "SUM" => Some(AggFunc::Sum),
        "AVG" => Some(AggFunc::Avg),
        "MAX" => Some(AggFunc::Max),
        "MIN" => Some(AggFunc::Min),
        "COUNTIF" | "SUMIF" => None,
        _ if name.is_empty() => return Err(invalid_item(item)),
        _ => return Err(Ctx::Res.function_error(name)),
    };
    let close = find_close(args).ok_or_else(|| invalid_item(item))?;
    let (inner, rest) = (&args[..close], &args[close + 1..]);
    // Checked before the alias, so a hidden sub-query is reported as forbidden whatever else is wrong.
    let mut p = Parser::new(inner, Ctx::Res)?;
    let alias = match parse_tail(rest, item)? {
        (Some(alias), None) => alias,
        (None, None) => {
            return Err(ApiError::bad_param(format!("bad property: aggregate `{item}` needs an alias")));
        }
        (_, Some(_)) => return Err(bad_property(item)),
    };
    let parsed = match func {
        Some(func) => {
            if func == AggFunc::Count && p.peek() == Some(&Tok::Star) && p.peek2().is_none() {
                p.bump();
                ResItem::Agg { func, distinct: false, arg: AggArg::Star, alias }
            } else {
                let distinct = p.eat_kw("DISTINCT");
                ResItem::Agg { func, distinct, arg: AggArg::Expr(p.arith()?), alias }
            }
        }
        None if upper == "COUNTIF" => {
            let cond = p.expr()?;
            let (mut distinct, mut field) = (false, None);
            if p.eat(&Tok::Comma) {
                distinct = p.eat_kw("DISTINCT");
                field = Some(p.res_field()?);
            }
            ResItem::CountIf { cond, distinct, field, alias }
        }
        None => {
            let cond = p.expr()?;
            p.expect(&Tok::Comma, "`,` and the value to sum")?;
            ResItem::SumIf { cond, arg: p.arith()?, alias }
        }
    };
    p.expect_end()?;
    Ok(parsed)
}

impl Parser<'_> {
    /// `arith := term ((+|-) term)*`.
    pub(crate) fn arith(&mut self) -> ApiResult<Arith> {
        let mut left = self.arith_term()?;
        while let Some(op) = self.peek_op(&[(Tok::Plus, '+'), (Tok::Minus, '-')]) {
            left = Arith::Bin(Box::new(left), op, Box::new(self.arith_term()?));
        }
        Ok(left)
    }

    fn arith_term(&mut self) -> ApiResult<Arith> {
        let mut left = self.arith_unary()?;
        while let Some(op) = self.peek_op(&[(Tok::Star, '*'), (Tok::Slash, '/')]) {
            left = Arith::Bin(Box::new(left), op, Box::new(self.arith_unary()?));
        }
        Ok(left)
    }

    fn peek_op(&mut self, ops: &[(Tok, char)]) -> Option<char> {
        let op = ops.iter().find(|(t, _)| self.peek() == Some(t)).map(|&(_, c)| c);
        if op.is_some() {
            self.bump();
        }
        op
    }

    fn arith_unary(&mut self) -> ApiResult<Arith> {
        if self.eat(&Tok::Minus) {
            if let Some(Tok::Num(v)) = self.peek() {
                let v = negate(v);
                self.bump();
                return Ok(Arith::Num(v));
            }
            return self.nested(|p| Ok(Arith::Neg(Box::new(p.arith_unary()?))));
        }
        match self.peek() {
            Some(Tok::Num(v)) => {
                let v = v.clone();
                self.bump();
                Ok(Arith::Num(v))
            }
            Some(Tok::Ident(_)) => Ok(Arith::Field(self.res_field()?)),
            Some(Tok::LParen) => {
                self.bump();
                self.nested(|p| {
                    let inner = p.arith()?;
                    p.expect(&Tok::RParen, "`)`")?;
                    Ok(inner)
                })
            }
            _ => Err(self.err("expected a field or a number")),
        }
    }

    /// A field inside an aggregate: a name, `t0.`-prefixed at most, never a call.
    pub(crate) fn res_field(&mut self) -> ApiResult<String> {
        let Some(Tok::Ident(name)) = self.peek() else {
            return Err(self.err("expected a field name"));
        };
        let name = name.clone();
        if self.peek2() == Some(&Tok::LParen) {
            return Err(self.ctx.function_error(&name));
        }
        check_field(&name, &name)?;
        self.bump();
        Ok(name)
    }
}

/// Splits at top-level commas. Inside `()`/`{}` both quote styles protect commas; at the top level only
/// `"` does (a quoted alias), so an apostrophe in an enum label is plain text.
fn split_items(s: &str) -> ApiResult<Vec<&str>> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut items = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"') => quote = Some('"'),
            (None, '\'') if depth > 0 => quote = Some('\''),
            (None, '(' | '{') => depth += 1,
            (None, ')' | '}') => {
                depth = depth.checked_sub(1).ok_or_else(|| bad_property(s))?;
            }
            (None, ',') if depth == 0 => {
                items.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || quote.is_some() {
        return Err(ApiError::bad_param(format!("bad property: unbalanced brackets or quotes in `{s}`")));
    }
    items.push(s[start..].trim());
    if let Some(empty) = items.iter().position(|i| i.is_empty()) {
        return Err(ApiError::bad_param(format!("bad property: empty item {} in `{s}`", empty + 1)));
    }
    Ok(items)
}

/// Splits `item` into its leading name (identifier characters and dots) and the rest.
fn split_name(item: &str) -> (&str, &str) {
    let end = item.find(|c: char| !(is_ident_char(c) || c == '.')).unwrap_or(item.len());
    item.split_at(end)
}

/// A plain name or `t0.name`; other tables cannot be named from a request (E_PARAM "bad property").
fn check_field(name: &str, item: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err(invalid_item(item));
    }
    match name.split_once('.') {
        _ if !is_field_name(name) => Err(bad_property(name)),
        Some((table, _)) if table != "t0" => Err(bad_property(name)),
        _ => Ok(()),
    }
}

/// Reads what follows a name or a call: `[AS] alias` and `=key:label;...`.
fn parse_tail(rest: &str, item: &str) -> ApiResult<(Option<String>, Option<Labels>)> {
    if rest.is_empty() {
        return Ok((None, None));
    }
    // `id;drop`, `id--x`, `count(*)x`: a name must be followed by a space (or the `=` of enum labels).
    if !(rest.starts_with(char::is_whitespace) || rest.starts_with('=')) {
        return Err(bad_property(item));
    }
    let mut r = rest.trim();
    // `get`, not slicing: the alias may start with a multi-byte character.
    if r.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("as")) && r[2..].starts_with(char::is_whitespace) {
        r = r[2..].trim_start();
    } else if r.eq_ignore_ascii_case("as") {
        return Err(bad_property(item));
    }
    let (alias, tail) = if let Some(quoted) = r.strip_prefix('"') {
        let (alias, after) = read_quoted(quoted).ok_or_else(|| bad_property(item))?;
        (Some(alias), after.trim_start())
    } else {
        let end = r.find('=').unwrap_or(r.len());
        let alias = r[..end].trim_end();
        let plain = |c: char| !(c.is_whitespace() || "\"'`;()".contains(c));
        if !alias.chars().all(plain) || alias.contains("/*") || alias.contains("--") {
            return Err(bad_property(item));
        }
        (Some(alias.to_string()).filter(|a| !a.is_empty()), &r[end..])
    };
    if alias.as_deref().is_some_and(|a| a.is_empty() || a.chars().any(char::is_control)) {
        return Err(bad_property(item));
    }
    let enums = match tail.strip_prefix('=') {
        None if tail.is_empty() => None,
        None => return Err(bad_property(item)),
        Some(labels) => Some(parse_enums(labels, item)?),
    };
    Ok((alias, enums))
}

/// `text"...` after an opening `"`: the text (`""` → `"`) and what follows the closing quote.
fn read_quoted(s: &str) -> Option<(String, &str)> {
    let mut text = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            text.push(c);
        } else if chars.peek().is_some_and(|&(_, c)| c == '"') {
            chars.next();
            text.push('"');
        } else {
            return Some((text, &s[i + 1..]));
        }
    }
    None
}

/// `CR:新创建;CA:已取消;:(null)` → pairs; an empty key labels NULL and `""`.
fn parse_enums(s: &str, item: &str) -> ApiResult<Labels> {
    let mut out = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| ApiError::bad_param(format!("bad property: bad enum label `{part}` in `{item}`")))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    if out.is_empty() {
        return Err(bad_property(item));
    }
    Ok(out)
}

/// The error for an item that fits no form: E_FORBIDDEN if it hides a sub-query or a call, else E_PARAM.
fn invalid_item(item: &str) -> ApiError {
    match check_tokens(item, &lex(item), Ctx::Res) {
        Err(e) if e.code == crate::error::Code::Forbidden => e,
        _ => bad_property(item),
    }
}

fn bad_property(what: &str) -> ApiError {
    ApiError::bad_param(format!("bad property `{what}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use crate::query::{CmpOp, Cond, SqlValue};

    fn res(s: &str) -> Vec<ResItem> {
        parse_res(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn one(s: &str) -> ResItem {
        let mut v = res(s);
        assert_eq!(v.len(), 1, "{s}");
        v.remove(0)
    }

    fn code(s: &str) -> Code {
        parse_res(s).expect_err(s).code
    }

    fn field(name: &str, alias: Option<&str>) -> ResItem {
        ResItem::Field { name: name.into(), alias: alias.map(Into::into), enums: None }
    }

    fn f(name: &str) -> Arith {
        Arith::Field(name.into())
    }

    #[test]
    fn stars_fields_and_aliases_parse() {
        let items = res("*, t0.*, id, t0.name, amount AS total, status 状态, tm \"下单 时间\"");
        assert_eq!(
            items,
            vec![
                ResItem::Star,
                ResItem::T0Star,
                field("id", None),
                field("t0.name", None),
                field("amount", Some("total")),
                field("status", Some("状态")),
                field("tm", Some("下单 时间")),
            ]
        );
    }

    #[test]
    fn quoted_aliases_may_hold_commas_and_quotes() {
        assert_eq!(res("a \"x, \"\"y\"\"\", b"), vec![field("a", Some("x, \"y\"")), field("b", None)]);
    }

    #[test]
    fn empty_res_is_an_empty_list() {
        assert_eq!(res(" "), vec![]);
    }

    #[test]
    fn enum_labels_parse_with_and_without_alias() {
        let labels = vec![("CR".into(), "新创建".into()), ("CA".into(), "已取消".into())];
        assert_eq!(
            one("status =CR:新创建;CA:已取消"),
            ResItem::Field { name: "status".into(), alias: None, enums: Some(labels.clone()) }
        );
        assert_eq!(
            one("status 状态=CR:新创建;CA:已取消"),
            ResItem::Field { name: "status".into(), alias: Some("状态".into()), enums: Some(labels) }
        );
        let ResItem::Field { enums: Some(e), .. } = one("sex =M:男;F:女;:(null)") else { panic!() };
        assert_eq!(e[2], ("".into(), "(null)".into()));
    }

    #[test]
    fn enum_labels_may_contain_apostrophes() {
        let ResItem::Field { enums: Some(e), .. } = one("a =x:Tom's") else { panic!() };
        assert_eq!(e, vec![("x".into(), "Tom's".into())]);
    }

    #[test]
    fn null_placeholder_needs_an_alias() {
        assert_eq!(one("null f1"), ResItem::Null { alias: "f1".into() });
        assert_eq!(code("null"), Code::Param);
    }

    #[test]
    fn plain_aggregates_parse() {
        assert_eq!(
            one("count(*) cnt"),
            ResItem::Agg { func: AggFunc::Count, distinct: false, arg: AggArg::Star, alias: "cnt".into() }
        );
        assert_eq!(
            one("sum(amount) total"),
            ResItem::Agg { func: AggFunc::Sum, distinct: false, arg: AggArg::Expr(f("amount")), alias: "total".into() }
        );
        assert_eq!(
            one("COUNT(DISTINCT userId) AS 用户数"),
            ResItem::Agg {
                func: AggFunc::Count,
                distinct: true,
                arg: AggArg::Expr(f("userId")),
                alias: "用户数".into()
            }
        );
        assert_eq!(
            one("count(distinct(userId)) n"),
            ResItem::Agg { func: AggFunc::Count, distinct: true, arg: AggArg::Expr(f("userId")), alias: "n".into() }
        );
        for (s, func) in [("avg(a) x", AggFunc::Avg), ("Max(a) x", AggFunc::Max), ("MIN(a) x", AggFunc::Min)] {
            assert!(matches!(one(s), ResItem::Agg { func: g, .. } if g == func), "{s}");
        }
    }

    #[test]
    fn aggregate_arithmetic_follows_precedence() {
        let ResItem::Agg { arg: AggArg::Expr(e), .. } = one("sum(qty*price - -1.5 / (t0.a+2)) amt") else { panic!() };
        let expected = Arith::Bin(
            Box::new(Arith::Bin(Box::new(f("qty")), '*', Box::new(f("price")))),
            '-',
            Box::new(Arith::Bin(
                Box::new(Arith::Num(SqlValue::Real(-1.5))),
                '/',
                Box::new(Arith::Bin(Box::new(f("t0.a")), '+', Box::new(Arith::Num(SqlValue::Int(2))))),
            )),
        );
        assert_eq!(e, expected);
        let ResItem::Agg { arg: AggArg::Expr(e), .. } = one("sum(-a) x") else { panic!() };
        assert_eq!(e, Arith::Neg(Box::new(f("a"))));
    }

    #[test]
    fn countif_and_sumif_use_the_cond_grammar() {
        let re = Cond::Cmp { field: "status".into(), op: CmpOp::Eq, value: SqlValue::Text("RE".into()) };
        assert_eq!(
            one("COUNTIF(status='RE') reCnt"),
            ResItem::CountIf { cond: re.clone(), distinct: false, field: None, alias: "reCnt".into() }
        );
        assert_eq!(
            one("countif(status='RE', DISTINCT userId) u"),
            ResItem::CountIf { cond: re.clone(), distinct: true, field: Some("userId".into()), alias: "u".into() }
        );
        let ResItem::SumIf { cond, arg, alias } = one("SUMIF(id>=100 and id<200, amount*2) s1") else { panic!() };
        assert!(matches!(cond, Cond::And(ref v) if v.len() == 2));
        assert_eq!(arg, Arith::Bin(Box::new(f("amount")), '*', Box::new(Arith::Num(SqlValue::Int(2)))));
        assert_eq!(alias, "s1");
    }

    #[test]
    fn deep_arithmetic_nesting_is_refused() {
        let hostile = format!("sum({}a{}) x", "(".repeat(50_000), ")".repeat(50_000));
        assert_eq!(code(&hostile), Code::Param);
        assert_eq!(code(&format!("sum({}a) x", "- ".repeat(50_000))), Code::Param);
    }

    #[test]
    fn commas_inside_calls_and_quotes_do_not_split() {
        let items = res("countif(a IN ('x,y', 'z'), b) n, id");
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn aggregates_need_an_alias() {
        for s in ["count(*)", "sum(a)", "countif(a=1)", "count(*)cnt"] {
            assert_eq!(code(s), Code::Param, "{s}");
        }
    }

    #[test]
    fn other_functions_are_forbidden() {
        let err = parse_res("group_concat(pwd) x").unwrap_err();
        assert_eq!(err.code, Code::Forbidden);
        assert_eq!(err.internal.as_deref(), Some("function not allowed: group_concat"));
        for s in ["sleep(1) x", "sum(length(pwd)) x", "countif(a=char(1)) x", "database() x"] {
            assert_eq!(code(s), Code::Forbidden, "{s}");
        }
    }

    #[test]
    fn sub_queries_are_forbidden() {
        for s in [
            "(select pwd from User) x",
            "sum((select 1)) x",
            "sum((select 1))",
            "countif(id in (select id from User)) x",
        ] {
            assert_eq!(code(s), Code::Forbidden, "{s}");
        }
    }

    #[test]
    fn dotted_names_other_than_t0_are_bad_properties() {
        let err = parse_res("u.pwd").unwrap_err();
        assert_eq!((err.code, err.internal.as_deref()), (Code::Param, Some("bad property `u.pwd`")));
        assert_eq!(code("sum(u.amount) x"), Code::Param);
        assert_eq!(code("countif(a=1, u.id) x"), Code::Param);
        assert_eq!(code("u.*"), Code::Param);
    }

    #[test]
    fn statement_and_comment_tricks_are_refused() {
        for s in [
            "id; drop",
            "id;drop table User",
            "id --x",
            "id /* x */",
            "id a b",
            "id 'x'",
            "id AS",
            "a+b x",
            "count(*) cnt; drop",
            "sum(a) x y",
            "count(distinct *) x",
            "sum(*) x",
            "sum('a') x",
            "count(a b) x",
            "@x",
            "id,,name",
            "id,",
            "count(a x",
            "id =",
            "id =CR",
        ] {
            assert!(parse_res(s).is_err(), "{s}");
        }
    }

    #[test]
    fn gres_takes_names_and_aliases_only() {
        let items = parse_gres("status, t0.userId 用户, y AS 年").unwrap();
        let expected = vec![
            GresItem { field: "status".into(), alias: None },
            GresItem { field: "t0.userId".into(), alias: Some("用户".into()) },
            GresItem { field: "y".into(), alias: Some("年".into()) },
        ];
        assert_eq!(items, expected);
        assert_eq!(parse_gres("").unwrap(), vec![]);
    }

    #[test]
    fn gres_refuses_functions_and_expressions() {
        assert_eq!(parse_gres("year(tm)").unwrap_err().code, Code::Forbidden);
        assert_eq!(parse_gres("count(*) n").unwrap_err().code, Code::Forbidden);
        assert_eq!(parse_gres("(select 1) x").unwrap_err().code, Code::Forbidden);
        for s in ["a+b", "u.x", "a =x:y", "a;b", "*"] {
            assert_eq!(parse_gres(s).unwrap_err().code, Code::Param, "{s}");
        }
    }
}
