//! The query language of the protocol (§4): `cond`, `res`, `orderby`, `gres`, key/value conditions and
//! `qsearch`, parsed into small ASTs and rendered back to SQL with bound parameters.
//!
//! The reference builds SQL by pasting request text and then scanning it for danger; this module does the
//! opposite (protocol §9 item 12). Request text is lexed and parsed by a hand-written recursive-descent
//! parser into the types below; anything the grammar does not know is an error (E_PARAM for bad syntax,
//! E_FORBIDDEN for function calls and sub-queries). Rendering ([`render`]) writes only fixed keywords and
//! `?` placeholders itself: every literal goes to [`Sql::params`], and every identifier is handed to a
//! [`Resolve`] callback that answers with the schema's own expression (column, vcol) or refuses it.
//!
//! Files: `lexer` (tokens and pre-parse checks), [`cond`] (the `cond` grammar and the token parser),
//! [`res`] (`res` and `gres`), [`orderby`], [`kv`] (key/value conditions and `cond` in its JSON forms),
//! [`qsearch`](mod@qsearch) (fuzzy search), [`render`] (AST → SQL).

pub mod cond;
pub mod kv;
mod lexer;
pub mod orderby;
pub mod qsearch;
pub mod render;
pub mod res;

pub use cond::parse_cond;
pub use kv::{kv_cond, parse_cond_value};
pub use orderby::parse_orderby;
pub use qsearch::{parse_qsearch_param, qsearch};
pub use render::{render_agg, render_arith, render_cond};
pub use res::{parse_gres, parse_res};

use crate::error::ApiResult;

/// A value bound to a `?` placeholder (its `rusqlite::ToSql` impl lives in `db`).
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// A piece of SQL text with its parameters; the placeholders are `?`, bound in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<SqlValue>,
}

impl Sql {
    /// An empty piece, to render into.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends trusted text (keywords, resolved identifiers). Never call this with request text.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends a `?` and binds `value` to it.
    pub fn bind(&mut self, value: SqlValue) {
        self.text.push('?');
        self.params.push(value);
    }
}

/// Turns a field name written in a request into the SQL expression that stands for it.
///
/// This is the only way request identifiers reach SQL text, so implementations decide what is reachable:
/// main columns, vcols (the implementation also records which were used, to add their joins), `res`
/// aliases in `orderby`, `flag_x`/`prop_x` pseudo-fields.
pub trait Resolve {
    /// `name` as written: `status`, `t0.status`, `userName` (a vcol), an alias in orderby, `flag_x`.
    /// Returns the SQL expression (e.g. `t0."status"`), or an error (E_PARAM "unknown field") for a name
    /// the caller does not know.
    fn field(&mut self, name: &str) -> ApiResult<String>;
}

/// Any `FnMut(&str) -> ApiResult<String>` resolves names, which keeps tests and one-off callers short.
impl<F: FnMut(&str) -> ApiResult<String>> Resolve for F {
    fn field(&mut self, name: &str) -> ApiResult<String> {
        self(name)
    }
}

/// A comparison operator of the `cond` grammar (`!=` is read as `<>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator as SQL text.
    pub fn as_sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A parsed condition. Field names are kept exactly as written; [`Resolve`] decides what they mean.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// All of these (never built with fewer than two items by the parsers).
    And(Vec<Cond>),
    /// Any of these (never built with fewer than two items by the parsers).
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: String,
        op: CmpOp,
        value: SqlValue,
    },
    IsNull {
        field: String,
        not: bool,
    },
    Like {
        field: String,
        not: bool,
        pattern: String,
    },
    /// `values` is never empty when built by the parsers.
    In {
        field: String,
        not: bool,
        values: Vec<SqlValue>,
    },
    Between {
        field: String,
        lo: SqlValue,
        hi: SqlValue,
    },
}

impl Cond {
    /// `a AND b AND ...`, flattened: one item stays itself, nested `And`s are merged.
    pub fn and(items: Vec<Cond>) -> Cond {
        Self::join(items, true)
    }

    /// `a OR b OR ...`, flattened like [`Cond::and`].
    pub fn or(items: Vec<Cond>) -> Cond {
        Self::join(items, false)
    }

    fn join(items: Vec<Cond>, is_and: bool) -> Cond {
        let mut flat = Vec::with_capacity(items.len());
        for c in items {
            match c {
                Cond::And(v) if is_and => flat.extend(v),
                Cond::Or(v) if !is_and => flat.extend(v),
                c => flat.push(c),
            }
        }
        if flat.len() == 1 {
            return flat.pop().expect("one item");
        }
        if is_and {
            Cond::And(flat)
        } else {
            Cond::Or(flat)
        }
    }
}

/// One column of a `res` list (protocol §4.1).
#[derive(Debug, Clone, PartialEq)]
pub enum ResItem {
    /// `*`: main columns plus default vcols and sub-objects.
    Star,
    /// `t0.*`: main columns only.
    T0Star,
    /// A column, vcol or sub-object name (the parser cannot tell which), optionally aliased and with
    /// per-request enum labels (`status =CR:新创建;CA:已取消`; key `""` labels both NULL and `""`).
    Field { name: String, alias: Option<String>, enums: Option<Vec<(String, String)>> },
    /// `null alias`: a placeholder column that is always NULL.
    Null { alias: String },
    /// `COUNT(*)`, `SUM(DISTINCT x)`, `AVG(a*b)` ...
    Agg { func: AggFunc, distinct: bool, arg: AggArg, alias: String },
    /// `COUNTIF(cond[, [DISTINCT] f])`: counts rows (or distinct `f`) where `cond` holds.
    CountIf { cond: Cond, distinct: bool, field: Option<String>, alias: String },
    /// `SUMIF(cond, arith)`: sums `arith` over rows where `cond` holds.
    SumIf { cond: Cond, arg: Arith, alias: String },
}

/// The plain aggregate functions allowed in `res`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    Sum,
    Avg,
    Max,
    Min,
}

impl AggFunc {
    /// The function name as SQL text.
    pub fn as_sql(self) -> &'static str {
        match self {
            AggFunc::Count => "COUNT",
            AggFunc::Sum => "SUM",
            AggFunc::Avg => "AVG",
            AggFunc::Max => "MAX",
            AggFunc::Min => "MIN",
        }
    }
}

/// The argument of an aggregate: `*` (COUNT only) or an arithmetic expression.
#[derive(Debug, Clone, PartialEq)]
pub enum AggArg {
    Star,
    Expr(Arith),
}

/// Arithmetic over fields and numbers, as allowed inside aggregates (`SUM(qty*price)`).
#[derive(Debug, Clone, PartialEq)]
pub enum Arith {
    Field(String),
    /// Always `Int` or `Real` when built by the parser.
    Num(SqlValue),
    Neg(Box<Arith>),
    /// Operator is one of `+ - * /`.
    Bin(Box<Arith>, char, Box<Arith>),
}

/// One `orderby` term. `field` is as written (`id`, `t0.id`, an alias; a `"quoted alias"` arrives unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub field: String,
    pub desc: bool,
}

/// One `gres` (GROUP BY) term with its optional output alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GresItem {
    pub field: String,
    pub alias: Option<String>,
}

/// `id`, `id2`, `orderId`, `orderId2`: fields whose numeric values are bound as integers (reference rule
/// `(^id|Id)\d*$`).
pub(crate) fn is_id_like(field: &str) -> bool {
    let name = field.rsplit('.').next().unwrap_or(field);
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    base == "id" || base.ends_with("Id")
}

/// `-?\d+` that fits an i64.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_like_fields_are_id_and_names_ending_in_id() {
        for f in ["id", "id2", "orderId", "orderId2", "t0.userId"] {
            assert!(is_id_like(f), "{f}");
        }
        for f in ["idx", "name", "valid", "ID", "orderid"] {
            assert!(!is_id_like(f), "{f}");
        }
    }

    #[test]
    fn and_flattens_nested_ands_and_unwraps_single_items() {
        let a = Cond::IsNull { field: "a".into(), not: false };
        let b = Cond::IsNull { field: "b".into(), not: false };
        assert_eq!(Cond::and(vec![a.clone()]), a);
        let nested = Cond::and(vec![Cond::And(vec![a.clone(), b.clone()]), a.clone()]);
        assert_eq!(nested, Cond::And(vec![a.clone(), b.clone(), a.clone()]));
        assert_eq!(Cond::or(vec![Cond::And(vec![a.clone(), b.clone()])]), Cond::And(vec![a, b]));
    }
}
