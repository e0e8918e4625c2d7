//! Rendering parsed conditions, arithmetic and aggregates to SQL.
//!
//! The only text written here is fixed keywords, operators and `?`; literals go to [`Sql::params`] and
//! identifiers are whatever [`Resolve::field`] returns. So a request can only reach SQL text through the
//! resolver, which answers from the schema. Every compound node is parenthesised, so a rendered piece can
//! be dropped next to any other condition (`WHERE <onQuery> AND <cond>`) without changing its meaning; a
//! resolved expression that is more than a plain (possibly qualified or quoted) name is parenthesised too,
//! so a vcol such as `a || b` keeps its meaning under `=`.
//!
//! On error `out` may hold a partial rendering; callers discard it.

use super::lexer::find_close;
use super::{AggArg, Arith, Cond, ResItem, Resolve, Sql};
use crate::error::{ApiError, ApiResult};

/// Renders a condition, e.g. `(t0."a" = ? OR (t0."b" = ? AND t0."c" IS NULL))`.
pub fn render_cond(c: &Cond, r: &mut dyn Resolve, out: &mut Sql) -> ApiResult<()> {
    match c {
        Cond::And(items) => render_list(items, " AND ", "1=1", r, out)?,
        Cond::Or(items) => render_list(items, " OR ", "1=0", r, out)?,
        Cond::Not(inner) => {
            out.push("NOT ");
            if is_compound(inner) {
                render_cond(inner, r, out)?;
            } else {
                out.push("(");
                render_cond(inner, r, out)?;
                out.push(")");
            }
        }
        Cond::Cmp { field, op, value } => {
            push_field(field, r, out)?;
            out.push(" ");
            out.push(op.as_sql());
            out.push(" ");
            out.bind(value.clone());
        }
        Cond::IsNull { field, not } => {
            push_field(field, r, out)?;
            out.push(if *not { " IS NOT NULL" } else { " IS NULL" });
        }
        Cond::Like { field, not, pattern } => {
            push_field(field, r, out)?;
            out.push(if *not { " NOT LIKE " } else { " LIKE " });
            out.bind(super::SqlValue::Text(pattern.clone()));
        }
        // An empty list cannot come from the parsers; render what SQL would mean by it rather than `IN ()`.
        Cond::In { values, not, .. } if values.is_empty() => out.push(if *not { "1=1" } else { "1=0" }),
        Cond::In { field, not, values } => {
            push_field(field, r, out)?;
            out.push(if *not { " NOT IN (" } else { " IN (" });
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(", ");
                }
                out.bind(v.clone());
            }
            out.push(")");
        }
        // Parenthesised so that its AND is not read as a condition joiner by humans reading logs.
        Cond::Between { field, lo, hi } => {
            out.push("(");
            push_field(field, r, out)?;
            out.push(" BETWEEN ");
            out.bind(lo.clone());
            out.push(" AND ");
            out.bind(hi.clone());
            out.push(")");
        }
    }
    Ok(())
}

fn render_list(items: &[Cond], sep: &str, empty: &str, r: &mut dyn Resolve, out: &mut Sql) -> ApiResult<()> {
    match items {
        [] => out.push(empty),
        [one] => render_cond(one, r, out)?,
        _ => {
            out.push("(");
            for (i, c) in items.iter().enumerate() {
                if i > 0 {
                    out.push(sep);
                }
                render_cond(c, r, out)?;
            }
            out.push(")");
        }
    }
    Ok(())
}

/// Does `c` render with its own outer parentheses?
fn is_compound(c: &Cond) -> bool {
    matches!(c, Cond::And(v) | Cond::Or(v) if v.len() > 1) || matches!(c, Cond::Between { .. })
}

/// Renders arithmetic, parenthesised as a whole: `(t0."qty" * t0."price")`.
pub fn render_arith(a: &Arith, r: &mut dyn Resolve, out: &mut Sql) -> ApiResult<()> {
    arith(a, false, r, out)
}

/// `top`: the expression already sits inside parentheses (an aggregate's), so a binary operation there
/// needs none of its own.
fn arith(a: &Arith, top: bool, r: &mut dyn Resolve, out: &mut Sql) -> ApiResult<()> {
    match a {
        Arith::Field(name) => push_field(name, r, out)?,
        Arith::Num(v) => out.bind(v.clone()),
        // Always in parentheses: `-(-x)` must never become `--x`, which SQL reads as a comment.
        Arith::Neg(inner) => {
            out.push("(-");
            arith(inner, false, r, out)?;
            out.push(")");
        }
        Arith::Bin(left, op, right) => {
            let op = match op {
                '+' => " + ",
                '-' => " - ",
                '*' => " * ",
                '/' => " / ",
                other => return Err(ApiError::server(format!("bad arithmetic operator `{other}`"))),
            };
            if !top {
                out.push("(");
            }
            arith(left, false, r, out)?;
            out.push(op);
            arith(right, false, r, out)?;
            if !top {
                out.push(")");
            }
        }
    }
    Ok(())
}

/// Renders an aggregate `res` item without its alias (the caller appends ` AS ` and the quoted alias):
/// `COUNT(*)`, `SUM(DISTINCT t0."a")`, COUNTIF as `COUNT([DISTINCT] CASE WHEN c THEN f|1 ELSE NULL END)`,
/// SUMIF as `SUM(CASE WHEN c THEN x ELSE 0 END)`. Other items are E_SERVER (a caller bug).
pub fn render_agg(item: &ResItem, r: &mut dyn Resolve, out: &mut Sql) -> ApiResult<()> {
    match item {
        ResItem::Agg { func, distinct, arg, .. } => {
            out.push(func.as_sql());
            out.push(if *distinct { "(DISTINCT " } else { "(" });
            match arg {
                AggArg::Star => out.push("*"),
                AggArg::Expr(a) => arith(a, true, r, out)?,
            }
            out.push(")");
        }
        ResItem::CountIf { cond, distinct, field, .. } => {
            out.push(if *distinct { "COUNT(DISTINCT CASE WHEN " } else { "COUNT(CASE WHEN " });
            render_cond(cond, r, out)?;
            out.push(" THEN ");
            match field {
                Some(f) => push_field(f, r, out)?,
                None => out.push("1"),
            }
            out.push(" ELSE NULL END)");
        }
        ResItem::SumIf { cond, arg, .. } => {
            out.push("SUM(CASE WHEN ");
            render_cond(cond, r, out)?;
            out.push(" THEN ");
            arith(arg, true, r, out)?;
            out.push(" ELSE 0 END)");
        }
        other => return Err(ApiError::server(format!("render_agg: not an aggregate: {other:?}"))),
    }
    Ok(())
}

/// Writes the resolver's expression for `name`, parenthesised unless it is a plain name or already is.
fn push_field(name: &str, r: &mut dyn Resolve, out: &mut Sql) -> ApiResult<()> {
    let expr = r.field(name)?;
    let plain = !expr.is_empty() && expr.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '"');
    if plain || is_wrapped(&expr) {
        out.push(&expr);
    } else {
        out.push("(");
        out.push(&expr);
        out.push(")");
    }
    Ok(())
}

/// Is `expr` one parenthesised group, `(...)`, as resolvers return vcol expressions? Quote-aware, so
/// `(a) + (b)` and `('(')` are told apart correctly.
fn is_wrapped(expr: &str) -> bool {
    expr.strip_prefix('(').and_then(find_close).is_some_and(|i| i + 2 == expr.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiResult, Code};
    use crate::query::{parse_cond, parse_cond_value, parse_res, qsearch, SqlValue};
    use serde_json::json;

    /// Knows a few columns of `t0` and some vcol-like expressions; refuses everything else, as the real
    /// resolver will.
    fn resolver(name: &str) -> ApiResult<String> {
        let col = name.strip_prefix("t0.").unwrap_or(name);
        match col {
            "a" | "b" | "c" | "id" | "name" | "status" | "amount" | "qty" | "price" | "tm" | "userId" => {
                Ok(format!("t0.\"{col}\""))
            }
            "userName" if name == col => Ok("u.name".into()),
            "total" if name == col => Ok("t0.qty * t0.price".into()),
            "contact" if name == col => Ok("(u.name || ' (' || u.phone || ')')".into()),
            "pair" if name == col => Ok("(t0.a) + (t0.b)".into()),
            _ => Err(ApiError::param("unknown field").internal(format!("unknown field `{name}`"))),
        }
    }

    fn cond_sql(s: &str) -> (String, Vec<SqlValue>) {
        let cond = parse_cond(s).unwrap().expect("a condition");
        let mut out = Sql::new();
        render_cond(&cond, &mut resolver, &mut out).unwrap();
        (out.text, out.params)
    }

    fn agg_sql(s: &str) -> (String, Vec<SqlValue>) {
        let item = parse_res(s).unwrap().remove(0);
        let mut out = Sql::new();
        render_agg(&item, &mut resolver, &mut out).unwrap();
        (out.text, out.params)
    }

    fn int(n: i64) -> SqlValue {
        SqlValue::Int(n)
    }

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.into())
    }

    #[test]
    fn comparisons_bind_their_literals() {
        assert_eq!(cond_sql("a=1"), ("t0.\"a\" = ?".into(), vec![int(1)]));
        assert_eq!(cond_sql("t0.name <> 'x'"), ("t0.\"name\" <> ?".into(), vec![text("x")]));
    }

    #[test]
    fn precedence_is_made_explicit_with_parentheses() {
        let expected = "(t0.\"a\" = ? OR (t0.\"b\" = ? AND t0.\"c\" = ?))";
        assert_eq!(cond_sql("a=1 OR b=2 AND c=3"), (expected.into(), vec![int(1), int(2), int(3)]));
        let grouped = "((t0.\"a\" = ? OR t0.\"b\" = ?) AND t0.\"c\" = ?)";
        assert_eq!(cond_sql("(a=1 OR b=2) AND c=3").0, grouped);
    }

    #[test]
    fn not_wraps_its_operand() {
        assert_eq!(cond_sql("NOT a=1").0, "NOT (t0.\"a\" = ?)");
        assert_eq!(cond_sql("not (a=1 or b=2)").0, "NOT (t0.\"a\" = ? OR t0.\"b\" = ?)");
        assert_eq!(cond_sql("NOT NOT a=1").0, "NOT (NOT (t0.\"a\" = ?))");
    }

    #[test]
    fn null_like_in_and_between_render_with_placeholders() {
        assert_eq!(cond_sql("a is not null").0, "t0.\"a\" IS NOT NULL");
        assert_eq!(cond_sql("name not like 'w%'"), ("t0.\"name\" NOT LIKE ?".into(), vec![text("w%")]));
        assert_eq!(cond_sql("id IN (1,2,3)"), ("t0.\"id\" IN (?, ?, ?)".into(), vec![int(1), int(2), int(3)]));
        assert_eq!(cond_sql("id not in ('x')").0, "t0.\"id\" NOT IN (?)");
        let between = cond_sql("tm BETWEEN '2024-01-01' AND '2024-02-01' AND a=1");
        assert_eq!(between.0, "((t0.\"tm\" BETWEEN ? AND ?) AND t0.\"a\" = ?)");
        assert_eq!(between.1, vec![text("2024-01-01"), text("2024-02-01"), int(1)]);
        assert_eq!(cond_sql("tm not between 1 and 2").0, "NOT (t0.\"tm\" BETWEEN ? AND ?)");
    }

    #[test]
    fn quotes_and_cjk_in_literals_stay_in_parameters() {
        let (sql, params) = cond_sql("name='x'' OR ''1''=''1' AND status=\"张三\"");
        assert_eq!(sql, "(t0.\"name\" = ? AND t0.\"status\" = ?)");
        assert_eq!(params, vec![text("x' OR '1'='1"), text("张三")]);
    }

    #[test]
    fn vcol_expressions_are_used_and_parenthesised_when_compound() {
        assert_eq!(cond_sql("userName LIKE '%a%'").0, "u.name LIKE ?");
        assert_eq!(cond_sql("total > 100").0, "(t0.qty * t0.price) > ?");
    }

    #[test]
    fn unknown_fields_are_refused_by_the_resolver() {
        let cond = parse_cond("a=1 AND pwd='x'").unwrap().unwrap();
        let err = render_cond(&cond, &mut resolver, &mut Sql::new()).unwrap_err();
        assert_eq!((err.code, err.internal.as_deref()), (Code::Param, Some("unknown field `pwd`")));
        let other_table = parse_cond("u.name='x'").unwrap().unwrap();
        assert!(render_cond(&other_table, &mut resolver, &mut Sql::new()).is_err());
    }

    #[test]
    fn empty_lists_render_as_constants() {
        let mut out = Sql::new();
        render_cond(&Cond::And(vec![]), &mut resolver, &mut out).unwrap();
        render_cond(&Cond::In { field: "a".into(), not: false, values: vec![] }, &mut resolver, &mut out).unwrap();
        assert_eq!(out.text, "1=11=0");
    }

    #[test]
    fn kv_and_qsearch_conditions_render_too() {
        let cond = parse_cond_value(&json!({"id": ">=1 AND <100", "status": "CR OR null"})).unwrap().unwrap();
        let mut out = Sql::new();
        render_cond(&cond, &mut resolver, &mut out).unwrap();
        let expected = "(t0.\"id\" >= ? AND t0.\"id\" < ? AND (t0.\"status\" = ? OR t0.\"status\" IS NULL))";
        assert_eq!(out.text, expected);
        assert_eq!(out.params, vec![int(1), int(100), text("CR")]);

        let q = qsearch("name,status!", "ab").unwrap().unwrap();
        let mut out = Sql::new();
        render_cond(&q, &mut resolver, &mut out).unwrap();
        assert_eq!(out.text, "(t0.\"name\" LIKE ? OR t0.\"status\" = ?)");
        assert_eq!(out.params, vec![text("%ab%"), text("ab")]);
    }

    #[test]
    fn aggregates_render_without_their_alias() {
        assert_eq!(agg_sql("count(*) cnt"), ("COUNT(*)".into(), vec![]));
        assert_eq!(agg_sql("count(distinct userId) n").0, "COUNT(DISTINCT t0.\"userId\")");
        assert_eq!(agg_sql("sum(amount) total").0, "SUM(t0.\"amount\")");
        assert_eq!(agg_sql("sum(qty*price+1) x"), ("SUM((t0.\"qty\" * t0.\"price\") + ?)".into(), vec![int(1)]));
        assert_eq!(agg_sql("max(-(a-b)) x").0, "MAX((-(t0.\"a\" - t0.\"b\")))");
        assert_eq!(agg_sql("avg(total) x").0, "AVG((t0.qty * t0.price))");
    }

    #[test]
    fn countif_and_sumif_render_as_case_expressions() {
        assert_eq!(
            agg_sql("COUNTIF(status='RE') n"),
            ("COUNT(CASE WHEN t0.\"status\" = ? THEN 1 ELSE NULL END)".into(), vec![text("RE")])
        );
        assert_eq!(
            agg_sql("countif(status='RE', distinct userId) n").0,
            "COUNT(DISTINCT CASE WHEN t0.\"status\" = ? THEN t0.\"userId\" ELSE NULL END)"
        );
        assert_eq!(
            agg_sql("sumif(id>=100 and id<200, amount*2) s"),
            (
                "SUM(CASE WHEN (t0.\"id\" >= ? AND t0.\"id\" < ?) THEN t0.\"amount\" * ? ELSE 0 END)".into(),
                vec![int(100), int(200), int(2)]
            )
        );
    }

    #[test]
    fn render_arith_parenthesises_the_whole_expression() {
        let ResItem::Agg { arg: AggArg::Expr(a), .. } = parse_res("sum(a+b) x").unwrap().remove(0) else { panic!() };
        let mut out = Sql::new();
        render_arith(&a, &mut resolver, &mut out).unwrap();
        assert_eq!(out.text, "(t0.\"a\" + t0.\"b\")");
    }

    #[test]
    fn double_negation_never_renders_a_comment_marker() {
        let a = Arith::Neg(Box::new(Arith::Neg(Box::new(Arith::Field("a".into())))));
        let mut out = Sql::new();
        render_arith(&a, &mut resolver, &mut out).unwrap();
        assert_eq!(out.text, "(-(-t0.\"a\"))");
    }

    #[test]
    fn non_aggregates_are_a_caller_bug() {
        let err = render_agg(&ResItem::Star, &mut resolver, &mut Sql::new()).unwrap_err();
        assert_eq!(err.code, Code::Server);
    }

    #[test]
    fn already_parenthesised_expressions_are_not_wrapped_again() {
        assert_eq!(cond_sql("contact IS NULL").0, "(u.name || ' (' || u.phone || ')') IS NULL");
        assert_eq!(cond_sql("pair = 1").0, "((t0.a) + (t0.b)) = ?");
    }

    /// A resolver with state, as the real one is: it records the names it was asked for.
    struct Recorder(Vec<String>);

    impl Resolve for Recorder {
        fn field(&mut self, name: &str) -> ApiResult<String> {
            self.0.push(name.to_string());
            resolver(name)
        }
    }

    #[test]
    fn every_identifier_goes_through_the_resolver() {
        let item = parse_res("countif(a=1 or userName like 'x', distinct id) n").unwrap().remove(0);
        let mut rec = Recorder(Vec::new());
        render_agg(&item, &mut rec, &mut Sql::new()).unwrap();
        assert_eq!(rec.0, vec!["a", "userName", "id"]);
    }

    #[test]
    fn request_text_never_reaches_sql_text() {
        // Whatever the literals hold, the rendered text is built only from keywords, `?` and the
        // resolver's answers, so it never contains a single quote or the literal text.
        for s in [
            "name='x'' OR 1=1 --'",
            "name LIKE '%''; DROP TABLE User; --'",
            "status IN ('a'')', 'select')",
            "name=\"\"\"; sleep(1)\"",
            "tm BETWEEN 'union' AND 'select'",
        ] {
            let (sql, params) = cond_sql(s);
            assert!(!sql.contains('\''), "{s} -> {sql}");
            for word in ["DROP", "sleep", "select", "union", "--"] {
                assert!(!sql.contains(word), "{s} -> {sql}");
            }
            assert!(!params.is_empty());
        }
    }
}
