//! Turns a request's `res`, `cond`, `gres`, `orderby` and paging parameters into one SELECT plan.
//!
//! Request text never reaches SQL: the grammar (`crate::query`) parses it, every identifier is
//! resolved here against the table's columns, the object's virtual columns and the time dimensions,
//! and every literal is a bound parameter. Aliases are always quoted by the dialect.

use std::collections::HashSet;

use serde_json::Value;

use super::object::{Decl, Object, Scope, SubObj};
use crate::api::ctx::Ctx;
use crate::api::params::{value_to_string, Params};
use crate::db::dialect::Dialect;
use crate::error::{ApiError, ApiResult};
use crate::meta::{ColType, Table};
use crate::query::{self, AggArg, Arith, Cond, OrderItem, ResItem, Resolve, Sql, SqlValue};

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

/// One output column.
#[derive(Debug, Clone)]
pub struct OutCol {
    pub name: String,
    pub kind: Kind,
    /// Selected as a helper (sub-object parent id, vcol requirement) and removed before output.
    pub hidden: bool,
}

/// A sub-object requested in this read.
#[derive(Debug, Clone)]
pub struct SubReq {
    pub def: SubObj,
    /// Output name (alias or the sub-object's name).
    pub key: String,
}

/// Time-dimension names (protocol §3.5), in the order `tmCols` produces them.
pub const TIME_DIMS: [&str; 7] = ["y", "q", "m", "w", "d", "wd", "h"];

/// Resolves identifiers for one object: columns, virtual columns, time dimensions and (where allowed)
/// result aliases. Records which vcol groups were used so their joins are added once.
pub struct Resolver<'a> {
    pub table: &'a Table,
    pub decl: &'a Decl,
    pub dialect: &'a dyn Dialect,
    pub used: Vec<bool>,
    /// Result aliases usable in orderby/gcond.
    pub aliases: HashSet<String>,
    /// The column the time dimensions are taken from (`tmField`, else the object's `tm_col`).
    pub tm_col: Option<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(table: &'a Table, decl: &'a Decl, dialect: &'a dyn Dialect) -> Resolver<'a> {
        Resolver {
            table,
            decl,
            dialect,
            used: vec![false; decl.vcols.len()],
            aliases: HashSet::new(),
            tm_col: decl.tm_col.clone(),
        }
    }

    /// The column of the main table with this name.
    pub fn column(&self, name: &str) -> Option<&'a crate::meta::Column> {
        self.table.column(name)
    }

    /// A vcol field: (group index, expression).
    fn vcol(&self, name: &str) -> Option<(usize, &'a str)> {
        self.decl
            .vcols
            .iter()
            .enumerate()
            .find_map(|(i, g)| g.fields.iter().find(|(_, n)| n == name).map(|(e, _)| (i, e.as_str())))
    }

    /// The SQL of a time dimension over the object's `tm_col`.
    fn time_dim(&self, name: &str) -> Option<String> {
        let col = self.tm_col.as_deref()?;
        if !TIME_DIMS.contains(&name) || self.table.column(col).is_none() {
            return None;
        }
        Some(self.dialect.time_part(name, &format!("t0.{}", self.dialect.quote_ident(col))))
    }

    /// Resolves a name written in the request and tells its output kind.
    ///
    /// Every identifier of every expression form (`res` items and their aliases' sources, aggregate
    /// arguments, `gres`, `cond`, `gcond`, `orderby`, `q`/`qsearch` fields, sub-object reads) is resolved
    /// here, so this is where "readable by this role" is enforced: a field the object hides from its
    /// role (`Decl::is_hidden`) is E_FORBIDDEN whatever expression names it, and its value can neither be
    /// output nor filter or order the answer.
    pub fn field_kind(&mut self, name: &str) -> ApiResult<(String, Kind)> {
        let bare = name.strip_prefix("t0.").unwrap_or(name);
        if self.decl.is_hidden(bare) && (self.table.column(bare).is_some() || self.vcol(bare).is_some()) {
            return Err(not_readable(&self.table.name, bare));
        }
        self.resolve_trusted(name)
    }

    /// Resolves a name without the readability check: only for names the developer declared (a vcol
    /// group's `require`), never for request text.
    fn resolve_trusted(&mut self, name: &str) -> ApiResult<(String, Kind)> {
        if let Some(col) = name.strip_prefix("t0.") {
            return match self.table.column(col) {
                Some(c) => Ok((format!("t0.{}", self.dialect.quote_ident(&c.name)), Kind::of(&c.ty))),
                None => Err(unknown(name)),
            };
        }
        if name.contains('.') {
            return Err(ApiError::bad_param(format!("bad property `{name}`")));
        }
        if let Some(c) = self.table.column(name) {
            return Ok((format!("t0.{}", self.dialect.quote_ident(&c.name)), Kind::of(&c.ty)));
        }
        if let Some((i, expr)) = self.vcol(name) {
            self.used[i] = true;
            return Ok((format!("({expr})"), Kind::Auto));
        }
        if let Some(e) = self.time_dim(name) {
            return Ok((e, Kind::Int));
        }
        if self.aliases.contains(name) {
            return Ok((self.dialect.quote_ident(name), Kind::Auto));
        }
        Err(unknown(name))
    }

    /// The joins of the vcol groups used so far (plus the joins of groups they require).
    pub fn joins(&mut self) -> ApiResult<Vec<String>> {
        // `require` may name fields of other groups; resolve until nothing new is used.
        loop {
            let before = self.used.clone();
            for i in 0..self.used.len() {
                if self.used[i] {
                    for r in self.decl.vcols[i].require.clone() {
                        self.resolve_trusted(&r)?;
                    }
                }
            }
            if before == self.used {
                break;
            }
        }
        let mut out: Vec<String> = Vec::new();
        for (i, g) in self.decl.vcols.iter().enumerate() {
            if let (true, Some(j)) = (self.used[i], &g.join) {
                if !out.contains(j) {
                    out.push(j.clone());
                }
            }
        }
        Ok(out)
    }
}

impl Resolve for Resolver<'_> {
    fn field(&mut self, name: &str) -> ApiResult<String> {
        self.field_kind(name).map(|(e, _)| e)
    }
}

fn unknown(name: &str) -> ApiError {
    ApiError::bad_param(format!("unknown field `{name}`"))
}

/// The refusal of a field the caller's role may not read (protocol §9.14).
pub fn not_readable(table: &str, field: &str) -> ApiError {
    ApiError::with_msg(crate::error::Code::Forbidden, format!("字段`{field}`不可读"))
        .internal(format!("field `{table}.{field}` is not readable for this role"))
}

/// A planned SELECT.
#[derive(Debug, Default)]
pub struct Plan {
    pub distinct: bool,
    pub cols: Vec<String>,
    pub col_params: Vec<SqlValue>,
    pub out: Vec<OutCol>,
    pub from: String,
    pub joins: Vec<String>,
    pub where_sql: Vec<String>,
    pub where_params: Vec<SqlValue>,
    pub group: Vec<String>,
    pub having: Option<Sql>,
    pub order: Vec<String>,
    /// Keyset paging on id (ascending unless `id_desc`).
    pub keyset: bool,
    pub id_desc: bool,
    pub aggregated: bool,
    pub subs: Vec<SubReq>,
    pub enums: Vec<(String, Vec<(String, String)>)>,
}

impl Plan {
    /// The SELECT text without ORDER BY/LIMIT, and its parameters.
    pub fn base_sql(&self) -> (String, Vec<SqlValue>) {
        let mut sql = String::from("SELECT ");
        if self.distinct {
            sql.push_str("DISTINCT ");
        }
        sql.push_str(&self.cols.join(", "));
        sql.push_str(" FROM ");
        sql.push_str(&self.from);
        for j in &self.joins {
            sql.push(' ');
            sql.push_str(j);
        }
        let mut params = self.col_params.clone();
        if !self.where_sql.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.where_sql.join(" AND "));
            params.extend(self.where_params.iter().cloned());
        }
        if !self.group.is_empty() {
            sql.push_str(" GROUP BY ");
            sql.push_str(&self.group.join(", "));
        }
        if let Some(h) = &self.having {
            sql.push_str(" HAVING ");
            sql.push_str(&h.text);
            params.extend(h.params.iter().cloned());
        }
        (sql, params)
    }

    /// Adds a condition.
    pub fn add_where(&mut self, text: String, params: Vec<SqlValue>) {
        self.where_sql.push(text);
        self.where_params.extend(params);
    }

    /// Index of an output column.
    pub fn col_index(&self, name: &str) -> Option<usize> {
        self.out.iter().position(|c| c.name == name)
    }
}

/// Which read this plan is for (sub-object defaults differ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadMode {
    Get,
    Query,
}

/// Builds the plan of a get/query from the request.
pub fn plan(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    p: &Params,
    scope: &Scope,
    mode: ReadMode,
) -> ApiResult<Plan> {
    let decl = obj.decl();
    let dialect = ctx.state.dialect.as_ref();
    let mut r = Resolver::new(table, decl, dialect);
    // `tmField=col`: time dimensions over another date/datetime column of this table (protocol §3.5).
    if let Some(f) = p.str("tmField") {
        match table.column(&f) {
            Some(c) if decl.is_hidden(&c.name) => return Err(not_readable(&table.name, &c.name)),
            Some(c) if matches!(c.ty, ColType::DateTime | ColType::Date) => r.tm_col = Some(c.name.clone()),
            _ => return Err(ApiError::bad_param(format!("tmField `{f}` is not a date or datetime column"))),
        }
    }
    let mut plan = Plan { from: format!("{} t0", dialect.quote_ident(&table.name)), ..Default::default() };

    // gres first: its columns lead the output.
    let gres = match p.str("gres") {
        Some(g) => query::parse_gres(&g)?,
        None => Vec::new(),
    };
    let gres_hidden = p.flag("gresHidden")?;
    for g in &gres {
        let (expr, kind) = r.field_kind(&g.field)?;
        let name = g.alias.clone().unwrap_or_else(|| g.field.trim_start_matches("t0.").to_string());
        plan.group.push(expr.clone());
        push_col(&mut plan, dialect, expr, &name, kind, gres_hidden);
        r.aliases.insert(name);
    }
    plan.aggregated = !gres.is_empty();

    let res_text = p.str("res").unwrap_or_else(|| if gres.is_empty() { "*".into() } else { String::new() });
    let items = if res_text.trim().is_empty() { Vec::new() } else { query::parse_res(&res_text)? };
    for item in &items {
        add_res_item(&mut plan, &mut r, decl, item, mode, p)?;
    }
    if plan.out.iter().all(|c| c.hidden) && plan.subs.is_empty() {
        return Err(ApiError::bad_param("res selects no column"));
    }

    // Sub-objects need the parent id.
    if !plan.subs.is_empty() && plan.col_index("id").is_none() {
        let (e, k) = r.field_kind("t0.id")?;
        push_col(&mut plan, dialect, e, "id", k, true);
    }

    // Conditions: on_query scope, cond (URL and body), q, qsearch.
    for (c, params) in &scope.conds {
        plan.add_where(format!("({c})"), params.clone());
    }
    for v in p.get_both("cond") {
        if let Some(c) = query::parse_cond_value(v)? {
            add_cond(&mut plan, &mut r, &c)?;
        }
    }
    if let (Some(fields), Some(words)) = (decl.q_fields.as_deref(), p.str("q")) {
        if let Some(c) = query::qsearch(fields, &words)? {
            add_cond(&mut plan, &mut r, &c)?;
        }
    }
    if let Some(qs) = p.str("qsearch") {
        if let Some(c) = query::parse_qsearch_param(&qs)? {
            add_cond(&mut plan, &mut r, &c)?;
        }
    }
    if let Some(g) = p.str("gcond") {
        if let Some(c) = query::parse_cond(&g)? {
            let mut sql = Sql { text: String::new(), params: Vec::new() };
            query::render_cond(&c, &mut r, &mut sql)?;
            plan.having = Some(sql);
        }
    }
    plan.distinct = p.flag("distinct")?;

    // Order: orderby, easyui sort/order, class default, else id (not for grouped queries).
    let orderby =
        p.str("orderby").or_else(|| p.str("sort").map(|s| format!("{s} {}", p.str("order").unwrap_or_default())));
    let items: Vec<OrderItem> = match orderby {
        Some(o) => query::parse_orderby(&o)?,
        None if plan.aggregated => Vec::new(),
        None => match &decl.default_sort {
            Some(s) => query::parse_orderby(s)?,
            None => vec![OrderItem { field: "id".into(), desc: false }],
        },
    };
    for (i, o) in items.iter().enumerate() {
        let (expr, _) = r.field_kind(&o.field)?;
        if i == 0 && (o.field == "id" || o.field == "t0.id") && !plan.aggregated && !plan.distinct {
            plan.keyset = true;
            plan.id_desc = o.desc;
        }
        plan.order.push(format!("{expr}{}", if o.desc { " DESC" } else { "" }));
    }

    let mut joins = scope.joins.clone();
    for j in r.joins()? {
        if !joins.contains(&j) {
            joins.push(j);
        }
    }
    plan.joins = joins;
    Ok(plan)
}

fn push_col(plan: &mut Plan, d: &dyn Dialect, expr: String, name: &str, kind: Kind, hidden: bool) {
    plan.cols.push(format!("{expr} AS {}", d.quote_ident(name)));
    plan.out.push(OutCol { name: name.to_string(), kind, hidden });
}

fn add_cond(plan: &mut Plan, r: &mut Resolver, c: &Cond) -> ApiResult<()> {
    let mut sql = Sql { text: String::new(), params: Vec::new() };
    query::render_cond(c, r, &mut sql)?;
    plan.add_where(format!("({})", sql.text), sql.params);
    Ok(())
}

/// Adds the columns of `*`: table columns, default vcols, default sub-objects.
fn add_star(plan: &mut Plan, r: &mut Resolver, decl: &Decl, mode: ReadMode, with_defaults: bool) -> ApiResult<()> {
    let d = r.dialect;
    for c in &r.table.columns {
        if plan.col_index(&c.name).is_none() && !decl.is_hidden(&c.name) {
            push_col(plan, d, format!("t0.{}", d.quote_ident(&c.name)), &c.name, Kind::of(&c.ty), false);
        }
    }
    if !with_defaults {
        return Ok(());
    }
    for (i, g) in decl.vcols.iter().enumerate() {
        if g.default {
            r.used[i] = true;
            for (expr, name) in &g.fields {
                if plan.col_index(name).is_none() && !decl.is_hidden(name) {
                    push_col(plan, d, format!("({expr})"), name, Kind::Auto, false);
                }
            }
        }
    }
    for s in &decl.subobjs {
        let on = match mode {
            ReadMode::Get => s.default_get || s.default_query,
            ReadMode::Query => s.default_query,
        };
        if on && !plan.subs.iter().any(|x| x.key == s.name) {
            plan.subs.push(SubReq { def: s.clone(), key: s.name.clone() });
        }
    }
    Ok(())
}

fn add_res_item(
    plan: &mut Plan,
    r: &mut Resolver,
    decl: &Decl,
    item: &ResItem,
    mode: ReadMode,
    p: &Params,
) -> ApiResult<()> {
    let d = r.dialect;
    match item {
        ResItem::Star => add_star(plan, r, decl, mode, true)?,
        ResItem::T0Star => add_star(plan, r, decl, mode, false)?,
        ResItem::Null { alias } => {
            plan.cols.push(format!("NULL AS {}", d.quote_ident(alias)));
            plan.out.push(OutCol { name: alias.clone(), kind: Kind::Auto, hidden: false });
        }
        ResItem::Field { name, alias, enums } => {
            let key = alias.clone().unwrap_or_else(|| name.trim_start_matches("t0.").to_string());
            if let Some(s) = decl.subobj(name) {
                if decl.is_hidden(name) {
                    return Err(not_readable(&r.table.name, name));
                }
                plan.subs.retain(|x| x.key != key);
                plan.subs.push(SubReq { def: s.clone(), key });
                return Ok(());
            }
            let (expr, kind) = r.field_kind(name)?;
            if let Some(i) = plan.col_index(&key) {
                // `*,name` repeats a column: keep one, but honour an explicit request for a hidden helper.
                plan.out[i].hidden = false;
            } else {
                push_col(plan, d, expr, &key, kind, false);
            }
            if let Some(e) = enums {
                plan.enums.push((key.clone(), e.clone()));
            }
            r.aliases.insert(key);
        }
        ResItem::Agg { alias, .. } | ResItem::CountIf { alias, .. } | ResItem::SumIf { alias, .. } => {
            let mut sql = Sql { text: String::new(), params: Vec::new() };
            query::render_agg(item, r, &mut sql)?;
            let kind = agg_kind(item, r);
            plan.cols.push(format!("{} AS {}", sql.text, d.quote_ident(alias)));
            plan.col_params.extend(sql.params);
            plan.out.push(OutCol { name: alias.clone(), kind, hidden: false });
            plan.aggregated = true;
            r.aliases.insert(alias.clone());
        }
    }
    let _ = p;
    Ok(())
}

/// COUNT is an integer; SUM/MIN/MAX of a decimal column stays decimal; others are whatever SQL gives.
fn agg_kind(item: &ResItem, r: &Resolver) -> Kind {
    match item {
        ResItem::Agg { func, arg, .. } => {
            if matches!(func, query::AggFunc::Count) {
                return Kind::Int;
            }
            if let AggArg::Expr(Arith::Field(f)) = arg {
                if let Some(c) = r.column(f.trim_start_matches("t0.")) {
                    if matches!(c.ty, ColType::Decimal) && !matches!(func, query::AggFunc::Avg) {
                        return Kind::Decimal;
                    }
                }
            }
            Kind::Auto
        }
        ResItem::CountIf { .. } => Kind::Int,
        ResItem::SumIf { arg: Arith::Field(f), .. } => match r.column(f.trim_start_matches("t0.")) {
            Some(c) if matches!(c.ty, ColType::Decimal) => Kind::Decimal,
            _ => Kind::Auto,
        },
        _ => Kind::Auto,
    }
}

/// Page size, key and number from the request (protocol §4.4, §9.7).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub size: i64,
    pub key: Option<i64>,
    pub page: Option<i64>,
}

/// Reads paging parameters; `cap` is the object's maximum page size.
pub fn paging(p: &Params, fmt: &str, cap: i64) -> ApiResult<Paging> {
    let first_int = |names: &[&str]| -> ApiResult<Option<i64>> {
        for n in names {
            if let Some(v) = p.int(n)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let size = match first_int(&["pagesz", "rows", "_pagesz"])? {
        Some(0) => 20,
        Some(n) if n < 0 || n > cap => cap,
        Some(n) => n,
        None => match fmt {
            "array" | "hash" | "multihash" | "tree" => cap,
            f if f.starts_with("hash") || f.starts_with("multihash") => cap,
            "one" | "one?" => 1,
            _ => 20,
        },
    };
    let key = first_int(&["pagekey", "_pagekey"])?;
    let page = first_int(&["page"])?;
    if let Some(pg) = page {
        if pg < 1 {
            return Err(ApiError::bad_param(format!("bad page: {pg}")));
        }
    }
    Ok(Paging { size, key, page })
}

/// Converts one SQLite value to JSON by column kind.
pub fn to_json(v: rusqlite::types::ValueRef, kind: Kind) -> Value {
    use rusqlite::types::ValueRef as V;
    match (v, kind) {
        (V::Null, _) => Value::Null,
        (V::Integer(i), Kind::Decimal) => Value::String(format!("{i}.00")),
        (V::Real(f), Kind::Decimal) => Value::String(cents_text(f)),
        (V::Integer(i), Kind::Text) => Value::String(i.to_string()),
        (V::Integer(i), _) => Value::from(i),
        (V::Real(f), Kind::Int) if f.fract() == 0.0 => Value::from(f as i64),
        (V::Real(f), Kind::Text) => Value::String(f.to_string()),
        (V::Real(f), _) => serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
        (V::Text(t), Kind::Int) => {
            let s = String::from_utf8_lossy(t);
            s.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(s.into_owned()))
        }
        (V::Text(t), _) => Value::String(String::from_utf8_lossy(t).into_owned()),
        (V::Blob(b), _) => Value::String(String::from_utf8_lossy(b).into_owned()),
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
