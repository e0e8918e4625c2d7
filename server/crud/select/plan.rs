//! A SELECT plan from a parsed read request: columns (with vcols, time dimensions, aggregates), joins,
//! the WHERE of the object's scope and the request, GROUP BY/HAVING, ORDER BY and keyset paging.
//!
//! Request text never reaches SQL: the grammar (`crate::query`) parsed it into a [`ReadReq`], every
//! identifier is resolved by the [`Resolver`] against the table's columns, the object's virtual columns
//! and the time dimensions, and every literal is a bound parameter. Aliases are always quoted.

use super::json::Kind;
use super::request::ReadReq;
use super::resolve::{not_readable, Resolver};
use crate::api::ctx::Ctx;
use crate::crud::object::{Decl, Object, Scope, SubObj};
use crate::db::dialect::Dialect;
use crate::error::{ApiError, ApiResult};
use crate::meta::{ColType, Table};
use crate::query::{self, AggArg, Arith, Cond, OrderItem, ResItem, Sql, SqlValue};

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
    /// Values bound in `order` (a scope's ranking expression).
    pub order_params: Vec<SqlValue>,
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

/// Builds the plan of a get/query from a parsed request. Every name of every expression is resolved
/// here through the [`Resolver`], which refuses what the role may not read.
pub fn plan(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    req: &ReadReq,
    scope: &Scope,
    mode: ReadMode,
) -> ApiResult<Plan> {
    let decl = obj.decl();
    let dialect = ctx.state.dialect.as_ref();
    let mut r = Resolver::new(table, decl, dialect);
    // `tmField=col`: time dimensions over another date/datetime column of this table (protocol §3.5).
    if let Some(f) = &req.tm_field {
        match table.column(f) {
            Some(c) if decl.is_hidden(&c.name) => return Err(not_readable(&table.name, &c.name)),
            Some(c) if matches!(c.ty, ColType::DateTime | ColType::Date) => r.tm_col = Some(c.name.clone()),
            _ => return Err(ApiError::bad_param(format!("tmField `{f}` is not a date or datetime column"))),
        }
    }
    let mut plan = Plan { from: format!("{} t0", dialect.quote_ident(&table.name)), ..Default::default() };

    // gres first: its columns lead the output.
    for g in &req.gres {
        let (expr, kind) = r.field_kind(&g.field)?;
        let name = g.alias.clone().unwrap_or_else(|| g.field.trim_start_matches("t0.").to_string());
        plan.group.push(expr.clone());
        push_col(&mut plan, dialect, expr.clone(), &name, kind, req.gres_hidden);
        r.aliases.insert(name, Some(expr));
    }
    plan.aggregated = !req.gres.is_empty();

    let star = [ResItem::Star];
    let items: &[ResItem] = match &req.res {
        Some(items) => items,
        None if req.gres.is_empty() => &star,
        None => &[],
    };
    for item in items {
        add_res_item(&mut plan, &mut r, decl, item, mode)?;
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
    let mut conds: Vec<Cond> = req.conds.clone();
    if let (Some(fields), Some(words)) = (decl.q_fields, req.q.as_deref()) {
        conds.extend(query::qsearch(fields, words)?);
    }
    conds.extend(req.qsearch.clone());
    let (texts, params) = where_parts(&mut r, scope, &conds)?;
    plan.where_sql = texts;
    plan.where_params = params;
    if let Some(c) = &req.gcond {
        let mut sql = Sql { text: String::new(), params: Vec::new() };
        r.expand_aliases = true;
        let rendered = query::render_cond(c, &mut r, &mut sql);
        r.expand_aliases = false;
        rendered?;
        plan.having = Some(sql);
    }
    plan.distinct = req.distinct;

    // Order: orderby, easyui sort/order, class default, else id (not for grouped queries).
    let default_order;
    let items: &[OrderItem] = match (&req.orderby, &scope.order) {
        (Some(o), _) => o,
        (None, _) if plan.aggregated => &[],
        (None, Some((text, params))) => {
            plan.order.push(dialect.expand(text).into_owned());
            plan.order_params = params.clone();
            &[]
        }
        // DISTINCT rows in a stable order, by their own columns: PostgreSQL orders them only by what
        // they select, and the id of a collapsed row means nothing.
        (None, None) if plan.distinct => {
            plan.order.push("1".into());
            &[]
        }
        (None, None) => {
            default_order = match &decl.default_sort {
                Some(s) => query::parse_orderby(s)?,
                None => vec![OrderItem { field: "id".into(), desc: false }],
            };
            &default_order
        }
    };
    for (i, o) in items.iter().enumerate() {
        let (expr, _) = r.field_kind(&o.field)?;
        if i == 0 && (o.field == "id" || o.field == "t0.id") && !plan.aggregated && !plan.distinct {
            plan.keyset = true;
            plan.id_desc = o.desc;
        }
        plan.order.push(format!("{expr}{}", if o.desc { " DESC" } else { "" }));
    }

    plan.joins = joins_of(&mut r, scope)?;
    Ok(plan)
}

/// The one WHERE builder of reads and writes: the object's scope (its on_query conditions) and the
/// request's conditions, each rendered through the resolver, ANDed by the caller.
pub fn where_parts(r: &mut Resolver, scope: &Scope, conds: &[Cond]) -> ApiResult<(Vec<String>, Vec<SqlValue>)> {
    let mut texts = Vec::with_capacity(scope.conds.len() + conds.len());
    let mut params = Vec::new();
    for (c, ps) in &scope.conds {
        texts.push(format!("({c})"));
        params.extend(ps.iter().cloned());
    }
    for c in conds {
        let mut sql = Sql { text: String::new(), params: Vec::new() };
        query::render_cond(c, r, &mut sql)?;
        texts.push(format!("({})", sql.text));
        params.extend(sql.params);
    }
    Ok((texts, params))
}

/// The scope's joins plus those of the vcols the resolver used.
pub fn joins_of(r: &mut Resolver, scope: &Scope) -> ApiResult<Vec<String>> {
    let mut joins = scope.joins.clone();
    for j in r.joins()? {
        if !joins.contains(&j) {
            joins.push(j);
        }
    }
    Ok(joins)
}

fn push_col(plan: &mut Plan, d: &dyn Dialect, expr: String, name: &str, kind: Kind, hidden: bool) {
    let mut col = expr;
    col.push_str(" AS ");
    d.push_ident(&mut col, name);
    plan.cols.push(col);
    plan.out.push(OutCol { name: name.to_string(), kind, hidden });
}

/// `t0."name" AS "name"`: a column of the main table under its own name.
fn push_t0_col(plan: &mut Plan, d: &dyn Dialect, name: &str, kind: Kind) {
    let mut col = String::with_capacity(2 * name.len() + 12);
    col.push_str("t0.");
    d.push_ident(&mut col, name);
    col.push_str(" AS ");
    d.push_ident(&mut col, name);
    plan.cols.push(col);
    plan.out.push(OutCol { name: name.to_string(), kind, hidden: false });
}

/// Adds the columns of `*`: table columns, default vcols, default sub-objects.
fn add_star(plan: &mut Plan, r: &mut Resolver, decl: &Decl, mode: ReadMode, with_defaults: bool) -> ApiResult<()> {
    let d = r.dialect;
    // The table's columns have distinct names: each is compared only with the columns already there
    // before `*` (a search of the whole growing list made this loop quadratic, 4% of a query).
    let before = plan.out.len();
    plan.cols.reserve(r.table.columns.len());
    plan.out.reserve(r.table.columns.len());
    for c in &r.table.columns {
        if !plan.out[..before].iter().any(|o| o.name == c.name) && !decl.is_hidden(&c.name) {
            push_t0_col(plan, d, &c.name, Kind::of(&c.ty));
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
                    let kind = if g.money.contains(&name.as_ref()) { Kind::Decimal } else { Kind::Auto };
                    let e = d.expand(expr);
                    let mut sql = String::with_capacity(e.len() + name.len() + 8);
                    sql.push('(');
                    sql.push_str(&e);
                    sql.push(')');
                    push_col(plan, d, sql, name, kind, false);
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
            plan.subs.push(SubReq { def: s.clone(), key: s.name.to_string() });
        }
    }
    Ok(())
}

fn add_res_item(plan: &mut Plan, r: &mut Resolver, decl: &Decl, item: &ResItem, mode: ReadMode) -> ApiResult<()> {
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
            r.aliases.insert(key, None);
        }
        ResItem::Agg { alias, .. } | ResItem::CountIf { alias, .. } | ResItem::SumIf { alias, .. } => {
            let mut sql = Sql { text: String::new(), params: Vec::new() };
            query::render_agg(item, r, &mut sql)?;
            let kind = agg_kind(item, r);
            plan.cols.push(format!("{} AS {}", sql.text, d.quote_ident(alias)));
            let expr = sql.params.is_empty().then(|| sql.text.clone());
            plan.col_params.extend(sql.params);
            plan.out.push(OutCol { name: alias.clone(), kind, hidden: false });
            plan.aggregated = true;
            r.aliases.insert(alias.clone(), expr);
        }
    }
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
