//! `get` and `query`: run a SELECT plan, page it, attach sub-objects, process rows, format the result
//! (protocol §3.3, §4.4-§4.6, §5.3).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{json, Map, Value};

use super::object::{Object, Op, Scope, SubObj, SubShape};
use super::rows::{Row, RowSet};
use super::select::{self, map_enum, to_json, Kind, OutCol, Paging, Plan, ReadMode, ReadReq};
use super::text::{self, Shape, TextRows};
use super::{fmt, registry};
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::error::{ApiError, ApiResult};
use crate::meta::Table;
use crate::query::{self, SqlValue};
use crate::FastMap;

/// The plan's SELECT with ORDER BY and LIMIT/OFFSET.
fn page_sql(plan: &Plan, limit: i64, offset: i64) -> (String, Vec<SqlValue>) {
    let (mut sql, params) = ordered_sql(plan);
    push_limit(&mut sql, limit, offset);
    (sql, params)
}

/// The plan's SELECT with ORDER BY, and its parameters.
fn ordered_sql(plan: &Plan) -> (String, Vec<SqlValue>) {
    let (mut sql, mut params) = plan.base_sql();
    if !plan.order.is_empty() {
        sql.push_str(" ORDER BY ");
        sql.push_str(&plan.order.join(", "));
        params.extend(plan.order_params.iter().cloned());
    }
    (sql, params)
}

/// Appends LIMIT and OFFSET as literal integers, not bound parameters: SQLite re-prepares a statement
/// on every run when its LIMIT is a parameter (the value can change the plan), which cost a tenth of a
/// query's time. Both values are integers the server computed, never request text.
fn push_limit(sql: &mut String, limit: i64, offset: i64) {
    use std::fmt::Write as _;
    let _ = write!(sql, " LIMIT {} OFFSET {}", limit.max(0), offset.max(0));
}

/// Runs the plan's SELECT with ORDER BY and LIMIT/OFFSET: every selected column, helpers included
/// until `finish_rows`, in the plan's order.
fn fetch(ctx: &mut Ctx, plan: &Plan, limit: i64, offset: i64) -> ApiResult<RowSet> {
    let (sql, params) = page_sql(plan, limit, offset);
    fetch_sql(ctx, &plan.out, &sql, &params)
}

/// Runs `sql` with `params`, reading the columns `cols` (the plan's output) as values.
fn fetch_sql(ctx: &mut Ctx, cols: &[OutCol], sql: &str, params: &[SqlValue]) -> ApiResult<RowSet> {
    let mut out = RowSet::with_cols(cols.iter().map(|c| c.name.clone()).collect());
    ctx.query(sql, params, |r| {
        let mut row = Vec::with_capacity(cols.len());
        for (i, c) in cols.iter().enumerate() {
            row.push(to_json(r.get_ref(i)?, c.kind));
        }
        out.rows.push(row);
        Ok(())
    })?;
    Ok(out)
}

/// Counts the rows the plan would return without paging.
fn total(ctx: &mut Ctx, plan: &Plan) -> ApiResult<i64> {
    let (sql, params) = if plan.aggregated || plan.distinct {
        let (inner, params) = plan.base_sql();
        (format!("SELECT COUNT(*) FROM ({inner}) t"), params)
    } else {
        // No need to compute the selected columns (and their vcols) just to count.
        let counting = Plan {
            cols: vec!["COUNT(*)".into()],
            from: plan.from.clone(),
            joins: plan.joins.clone(),
            where_sql: plan.where_sql.clone(),
            where_params: plan.where_params.clone(),
            ..Default::default()
        };
        counting.base_sql()
    };
    Ok(ctx.scalar_int(&sql, &params)?.unwrap_or(0))
}

/// The parsed request of a sub-object read the call does not change (no `param_X`, no `res_X`): a function of
/// the declared `res` and `orderby` alone, so it is parsed once per process rather than at every read (7.8k
/// instructions a sub-object, and `Ordr.get` reads three). The keys are the declarations' own texts.
fn declared_sub_req(def: &SubObj, cp: &Params) -> ApiResult<ReadReq> {
    type Key = (Option<&'static str>, Option<&'static str>);
    static PARSED: std::sync::OnceLock<std::sync::RwLock<HashMap<Key, ReadReq>>> = std::sync::OnceLock::new();
    let cache = PARSED.get_or_init(Default::default);
    let key = (def.res, def.orderby);
    if let Some(r) = cache.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(r.clone());
    }
    let r = ReadReq::parse(cp)?;
    cache.write().unwrap_or_else(|p| p.into_inner()).insert(key, r.clone());
    Ok(r)
}

/// A sub-object read made ready for one call: the child object, its kept (or just made) SELECT with
/// this call's values, the child's parameters, and whether the read is the declared one (no `param_X`,
/// no `res_X`).
struct SubRead {
    child: Arc<dyn Object>,
    read: Arc<KeptRead>,
    params: Vec<SqlValue>,
    cp: Params,
    declared: bool,
}

/// Prepares the read of sub-object `sub` for the parents `ids`: the child's parameters (declared
/// defaults, then `param_X` / `res_X` from the request), its scope, and its SELECT.
fn sub_read(ctx: &mut Ctx, sub: &select::SubReq, p: &Params, ids: &[i64]) -> ApiResult<SubRead> {
    let def = &sub.def;
    let child = registry::resolve(ctx, def.obj)?;
    let table = registry::table_of(ctx, child.as_ref())?;
    if table.column(def.fk).is_none() {
        return Err(ApiError::server(format!("sub-object {}: no column {}.{}", def.name, table.name, def.fk)));
    }
    // Child parameters: declared defaults, then `param_X` / `res_X` from the request.
    let mut url = Map::new();
    if let Some(r) = &def.res {
        url.insert("res".into(), json!(r));
    }
    if let Some(o) = &def.orderby {
        url.insert("orderby".into(), json!(o));
    }
    let mut declared = true;
    if let Some(Value::Object(extra)) = p.get(&format!("param_{}", sub.key)) {
        for (k, v) in extra {
            if k == "pagesz" {
                return Err(ApiError::bad_param("pagesz is not allowed in a sub-object query"));
            }
            url.insert(k.clone(), v.clone());
            declared = false;
        }
    }
    if let Some(r) = p.str(&format!("res_{}", sub.key)) {
        url.insert("res".into(), json!(r));
        declared = false;
    }
    let cp = Params::from_url(url);
    // A request the call shaped is parsed (and refused) first, as before; a declared one is needed
    // only when its read is not kept already.
    let shaped = if declared { None } else { Some(ReadReq::parse(&cp)?) };
    let mut scope = Scope::default();
    child.on_query(ctx, &cp, &mut scope)?;
    // A declared sub-object read (no param_X, no res_X) is the same SELECT for the same child,
    // scope texts and number of parents: kept like a plain get's (ReadPlans), values bound per call.
    let plans = &ctx.state.read_plans;
    let key = if declared { plans.sub_key(child.as_ref(), table, def, &scope, ids.len()) } else { None };
    let (read, params) = match key.as_ref().and_then(|k| plans.find_sub(k)) {
        Some(kept) => {
            let params = kept.bound(&scope, ids);
            (kept, params)
        }
        None => {
            let creq = match shaped {
                Some(r) => r,
                None => declared_sub_req(def, &cp)?,
            };
            let (plan, fk_idx) = sub_plan(ctx, child.as_ref(), table, def, &creq, &scope, ids)?;
            let cap = child.decl().max_page_sz.unwrap_or(10000);
            let (sql, params) = page_sql(&plan, cap, 0);
            // A declared read's rows written as text too, for a get that writes its sub-objects so.
            let text = if declared && def.shape == SubShape::List {
                TextRows::new(child.as_ref(), &plan, &cp, Shape::Array).map(TextRows::into_owned)
            } else {
                None
            };
            let made = Arc::new(KeptRead::new(plan, sql, fk_idx).with_text(text));
            if let Some(k) = key {
                ctx.state.read_plans.keep_sub(k, &made, &scope, ids, &params);
            }
            (made, params)
        }
    };
    Ok(SubRead { child, read, params, cp, declared })
}

/// Reads the sub-objects of `rows` with one batched query per sub-object (protocol §5.3).
fn attach_subs(ctx: &mut Ctx, plan: &Plan, p: &Params, rs: &mut RowSet) -> ApiResult<()> {
    // The columns are there even with no rows (an empty result still names them in `h`).
    for sub in &plan.subs {
        if sub.def.shape != SubShape::Merged {
            rs.add_col(&sub.key);
        }
    }
    if plan.subs.is_empty() || rs.rows.is_empty() {
        return Ok(());
    }
    let parent_ids = rs.ints("id");
    let ids: Vec<i64> = parent_ids.iter().flatten().copied().collect();
    for sub in &plan.subs {
        let def = &sub.def;
        let SubRead { child, read, params, cp, .. } = sub_read(ctx, sub, p, &ids)?;
        let mut crows = fetch_sql(ctx, &read.plan.out, &read.sql, &params)?;
        let keys: Vec<Option<i64>> = crows.rows.iter().map(|r| r[read.fk_idx].as_i64()).collect();
        attach_subs(ctx, &read.plan, &cp, &mut crows)?;
        finish_rows(ctx, child.as_ref(), &read.plan, &cp, &mut crows)?;
        // The children of each parent, in the child query's order.
        let mut by_parent: HashMap<i64, Vec<Value>> = HashMap::new();
        for (m, k) in crows.into_maps().into_iter().zip(keys) {
            if let Some(k) = k {
                by_parent.entry(k).or_default().push(Value::Object(m));
            }
        }
        let first_new = rs.cols.len();
        for (i, pid) in parent_ids.iter().enumerate() {
            let mine = pid.and_then(|id| by_parent.get(&id)).cloned().unwrap_or_default();
            match def.shape {
                SubShape::List => {
                    let k = rs.add_col(&sub.key);
                    rs.rows[i][k] = Value::Array(mine);
                }
                SubShape::One => {
                    let k = rs.add_col(&sub.key);
                    rs.rows[i][k] = mine.into_iter().next().unwrap_or(Value::Null);
                }
                SubShape::Merged => {
                    // The child's fields join the parent row; a parent column of the same name wins.
                    if let Some(Value::Object(m)) = mine.into_iter().next() {
                        for (name, v) in m {
                            let k = rs.add_col(&name);
                            if k >= first_new {
                                rs.rows[i][k] = v;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The child plan of a sub-object read of the parents `ids` (every value bound), and where its foreign
/// key is in the output.
fn sub_plan(
    ctx: &mut Ctx,
    child: &dyn Object,
    table: &Table,
    def: &SubObj,
    creq: &ReadReq,
    scope: &Scope,
    ids: &[i64],
) -> ApiResult<(Plan, usize)> {
    let mut cplan = select::plan(ctx, child, table, creq, scope, ReadMode::Query)?;
    let fk_idx = match cplan.col_index(def.fk) {
        Some(i) => i,
        None => {
            let q = ctx.state.dialect.quote_ident(def.fk);
            cplan.cols.push(format!("t0.{q} AS {q}"));
            cplan.out.push(OutCol { name: def.fk.to_string(), kind: Kind::Int, hidden: true });
            cplan.out.len() - 1
        }
    };
    if let Some(only) = &def.only {
        cplan.add_where(format!("({})", ctx.state.dialect.expand(only)), Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(",");
    let q = ctx.state.dialect.quote_ident(def.fk);
    cplan.add_where(format!("t0.{q} IN ({marks})"), ids.iter().map(|i| SqlValue::Int(*i)).collect());
    Ok((cplan, fk_idx))
}

/// Row processing: on_handle_row → enum labels → hidden fields removed (protocol §3.3).
pub fn finish_rows(ctx: &mut Ctx, obj: &dyn Object, plan: &Plan, p: &Params, rs: &mut RowSet) -> ApiResult<()> {
    let decl = obj.decl();
    let extra_hidden = select::hidden_fields(p);
    let enums: Vec<(usize, &[(String, String)])> =
        plan.enums.iter().filter_map(|(f, labels)| Some((rs.col(f)?, labels.as_slice()))).collect();
    for row in rs.rows.iter_mut() {
        if decl.row_hook {
            obj.on_handle_row(ctx, &mut Row::new(&rs.cols, row))?;
        }
        for (i, labels) in &enums {
            row[*i] = map_enum(&row[*i], labels);
        }
    }
    // The plan's columns come first, in its order; sub-object fields follow.
    rs.remove_cols(|i, name| {
        plan.out.get(i).is_some_and(|c| c.hidden || decl.is_hidden(&c.name)) || extra_hidden.iter().any(|h| h == name)
    });
    Ok(())
}

/// `Obj.get(id, res?, cond?)`.
pub fn get(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Reply> {
    let req = ReadReq::parse(p)?;
    let mut id = p.int("id")?;
    obj.on_validate_id(ctx, Op::Get, &mut id)?;
    let id = id.ok_or_else(|| ApiError::missing("id"))?;
    let mut scope = Scope::default();
    obj.on_query(ctx, p, &mut scope)?;
    // A get asking for nothing but the default read runs the SELECT this server made for the same
    // object, table and scope before, with this call's values (ReadPlans).
    let key = if req.is_default() { ctx.state.read_plans.key(obj, table, &scope) } else { None };
    if let Some(c) = key.as_ref().and_then(|k| ctx.state.read_plans.find_get(k)) {
        let params = c.bound(&scope, &[id]);
        let mut fresh = None;
        if let Some(tr) = c.text_rows(obj, p, Shape::Object, &mut fresh) {
            return answer_get(ctx, table, id, tr, &c.sql, &params);
        }
        if let Some(reply) = get_text_with_subs(ctx, obj, table, id, &c, &params, p)? {
            return Ok(reply);
        }
        let row = get_rows(ctx, obj, &c.plan, &c.sql, &params, p)?;
        return row.map(Reply::Data).ok_or_else(|| not_found(table, id));
    }
    let plan = scoped_get_plan(ctx, obj, table, id, &req, &scope)?;
    let (sql, params) = page_sql(&plan, 1, 0);
    let (reply, text) = match TextRows::new(obj, &plan, p, Shape::Object) {
        Some(tr) => (answer_get(ctx, table, id, &tr, &sql, &params), plain_text(p).then(|| tr.into_owned())),
        // Sub-objects or a row hook: the general path, whose plan is kept just the same (with the
        // writer of its own columns, for the calls after it to write the row and sub-objects as text).
        None => {
            let text = if plan.subs.is_empty() || !plain_text(p) {
                None
            } else {
                TextRows::of_columns(obj, &plan, p, Shape::Object).map(TextRows::into_owned)
            };
            let row = get_rows(ctx, obj, &plan, &sql, &params, p);
            (row.and_then(|r| r.map(Reply::Data).ok_or_else(|| not_found(table, id))), text)
        }
    };
    if let Some(k) = key {
        ctx.state.read_plans.keep_get(k, KeptRead::new(plan, sql, 0).with_text(text), &scope, id, &params);
    }
    reply
}

/// Whether a kept get with sub-objects is written as text (see [`get_text_with_subs`]).
const SUBS_TEXT_UNKNOWN: u8 = 0;
const SUBS_TEXT_YES: u8 = 1;
const SUBS_TEXT_NO: u8 = 2;

/// The row of a kept get with sub-objects written as JSON text: the row's own columns, then each
/// sub-object's rows (lists: every sub-object the product declares) from its kept read, with the text
/// the general path gives (`tests/api`). `None` when this call needs the general path: a request that
/// shapes a sub-object (`param_X`, `res_X`) or asks for `sumFields`, or a read that can never be written
/// so (a sub-object of one row or merged, one named like a column, a child with a row hook or
/// sub-objects of its own), which is remembered.
fn get_text_with_subs(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    id: i64,
    kept: &KeptRead,
    params: &[SqlValue],
    p: &Params,
) -> ApiResult<Option<Reply>> {
    use std::sync::atomic::Ordering::Relaxed;
    let plan = &kept.plan;
    if plan.subs.is_empty() || kept.subs_text.load(Relaxed) == SUBS_TEXT_NO {
        return Ok(None);
    }
    let never = || {
        kept.subs_text.store(SUBS_TEXT_NO, Relaxed);
        Ok(None)
    };
    let not_a_list = |s: &select::SubReq| s.def.shape != SubShape::List || plan.out.iter().any(|c| c.name == s.key);
    if plan.subs.iter().any(not_a_list) {
        return never();
    }
    let shaped =
        |s: &select::SubReq| p.get(&format!("param_{}", s.key)).is_some() || p.get(&format!("res_{}", s.key)).is_some();
    if p.get("sumFields").is_some() || plan.subs.iter().any(shaped) {
        return Ok(None);
    }
    let mut fresh = None;
    let tr = match kept.text.as_ref().filter(|_| plain_text(p)) {
        Some(t) => t,
        None => match fresh.insert(TextRows::of_columns(obj, plan, p, Shape::Object)) {
            Some(t) => &*t,
            None => return never(),
        },
    };
    let mut out = text::write_page(ctx, tr, &kept.sql, params, 1, |_, _| (None, None, None))?;
    if out.rows == 0 {
        return Err(not_found(table, id));
    }
    // The row's object stays open for the sub-objects.
    debug_assert_eq!(out.text.last(), Some(&b'}'));
    out.text.pop();
    let mut first = out.text.last() == Some(&b'{');
    let hidden = select::hidden_fields(p);
    for sub in &plan.subs {
        let sr = sub_read(ctx, sub, p, &[id])?;
        let Some(ctr) = sr.read.text.as_ref().filter(|_| sr.declared) else {
            return never();
        };
        // Read as the general path reads it, which drops the field afterwards.
        if hidden.contains(&sub.key) {
            continue;
        }
        if !first {
            out.text.push(b',');
        }
        first = false;
        select::write_str(&mut out.text, &sub.key);
        out.text.push(b':');
        text::append_rows(ctx, ctr, &sr.read.sql, &sr.params, &mut out.text)?;
    }
    out.text.push(b'}');
    kept.subs_text.store(SUBS_TEXT_YES, Relaxed);
    Ok(Some(Reply::Json(out.text)))
}

/// The row of a get written as JSON text, or "not found".
fn answer_get(
    ctx: &mut Ctx,
    table: &Table,
    id: i64,
    tr: &TextRows,
    sql: &str,
    params: &[SqlValue],
) -> ApiResult<Reply> {
    let page = text::write_page(ctx, tr, sql, params, 1, |_, _| (None, None, None))?;
    if page.rows == 0 {
        return Err(not_found(table, id));
    }
    Ok(Reply::Json(page.text))
}

/// A get of row `id` with a request built by the caller (add with `res`); `p` is handed to the hooks.
pub fn get_with(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    id: i64,
    req: &ReadReq,
    p: &Params,
) -> ApiResult<Value> {
    let plan = get_plan(ctx, obj, table, id, req, p)?;
    let (sql, params) = page_sql(&plan, 1, 0);
    get_rows(ctx, obj, &plan, &sql, &params, p)?.ok_or_else(|| not_found(table, id))
}

fn get_plan(ctx: &mut Ctx, obj: &dyn Object, table: &Table, id: i64, req: &ReadReq, p: &Params) -> ApiResult<Plan> {
    let mut scope = Scope::default();
    obj.on_query(ctx, p, &mut scope)?;
    scoped_get_plan(ctx, obj, table, id, req, &scope)
}

fn scoped_get_plan(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    id: i64,
    req: &ReadReq,
    scope: &Scope,
) -> ApiResult<Plan> {
    let mut plan = select::plan(ctx, obj, table, req, scope, ReadMode::Get)?;
    plan.add_where("t0.id=?".into(), vec![SqlValue::Int(id)]);
    Ok(plan)
}

/// The SELECTs of plain gets and declared sub-object reads, kept per server.
///
/// A get that asks for nothing but the default read (`ReadReq::is_default`) has a plan made only from
/// the object's declaration (one object per role), the table and the scope its `on_query` hook built;
/// the scope's conditions are SQL texts with bound values. So the plan and its SQL text are the same
/// for every call with the same declaration, table and scope texts, and only the values change: the
/// scope's (the caller's user id, say) and the row id. Building them was a seventh of a `User.get`.
/// A declared sub-object read (no `param_X`, no `res_X`) is the same with the sub-object's declaration
/// and the number of parents (its `IN (?,...)` list) added to the key.
/// Entries hold no values; each call binds its own. The number of entries is bounded by the code's
/// distinct scopes (never request text), and capped besides.
///
/// Declarations are told apart by address, which is safe only for objects that live as long as the
/// cache: those of the server's registry (an object made for one call could be freed and its address
/// reused by another with a different declaration). Only their reads are kept.
#[derive(Default)]
pub struct ReadPlans {
    gets: RwLock<FastMap<GetKey, Arc<KeptRead>>>,
    subs: RwLock<FastMap<SubKey, Arc<KeptRead>>>,
    queries: RwLock<FastMap<QueryKey, Arc<KeptQuery>>>,
    registered: std::collections::HashSet<usize>,
}

/// Entries of each map at most (a hook writing values into its SQL text would otherwise grow them
/// without end).
const KEPT_MAX: usize = 1024;

/// What a plain get's plan is made from: the declaration and table (by address: both live as long
/// as the server's state, which owns this cache) and the scope's texts.
#[derive(PartialEq, Eq, Hash)]
pub struct GetKey {
    decl: usize,
    table: usize,
    scope: String,
}

impl GetKey {
    fn new(decl: usize, table: &Table, scope: &Scope) -> GetKey {
        let mut s = String::with_capacity(64);
        for (c, _) in &scope.conds {
            s.push_str(c);
            s.push('\u{1}');
        }
        s.push('\u{2}');
        for j in &scope.joins {
            s.push_str(j);
            s.push('\u{1}');
        }
        s.push('\u{2}');
        if let Some((o, _)) = &scope.order {
            s.push_str(o);
        }
        s.push(if scope.guards_write { 'w' } else { 'r' });
        GetKey { decl, table: table as *const Table as usize, scope: s }
    }
}

/// What a declared sub-object read's plan is made from: the child's declaration, table and scope
/// texts, the sub-object's declaration (its texts are `'static`, compared by content), and the number
/// of parents.
#[derive(PartialEq, Eq, Hash)]
pub struct SubKey {
    child: GetKey,
    def: (&'static str, &'static str, &'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>),
    parents: usize,
}

/// A kept read: its plan without bound values, its SQL text, and (sub-object reads) where the foreign
/// key is in the output.
pub struct KeptRead {
    plan: Plan,
    sql: String,
    fk_idx: usize,
    /// The rows' text writer for calls with no `hiddenFields` and no `sumFields` (see [`plain_text`]);
    /// for a get with sub-objects, the writer of its own columns.
    text: Option<TextRows<'static>>,
    /// A get with sub-objects: whether its answers are written as text (`SUBS_TEXT_*`).
    subs_text: std::sync::atomic::AtomicU8,
}

/// True if a read's text writer depends on nothing of the call's parameters (no `hiddenFields`, no
/// `sumFields`), so one made for an earlier call writes this one's rows too.
fn plain_text(p: &Params) -> bool {
    select::hidden_fields(p).is_empty() && p.get("sumFields").is_none()
}

impl KeptRead {
    /// A read of `plan` as `sql`, its values removed: from here on they travel in the call's own list.
    fn new(mut plan: Plan, sql: String, fk_idx: usize) -> KeptRead {
        plan.where_params.clear();
        plan.order_params.clear();
        let subs_text = std::sync::atomic::AtomicU8::new(SUBS_TEXT_UNKNOWN);
        KeptRead { plan, sql, fk_idx, text: None, subs_text }
    }

    /// The same, with the text writer made for the call that made it (`None` unless [`plain_text`]).
    fn with_text(mut self, text: Option<TextRows<'static>>) -> KeptRead {
        self.text = text;
        self
    }

    /// The text writer for this call: the kept one if the call may use it, else one made into `fresh`
    /// (`None` when the read needs the general path).
    fn text_rows<'a>(
        &'a self,
        obj: &dyn Object,
        p: &Params,
        shape: Shape,
        fresh: &'a mut Option<TextRows<'a>>,
    ) -> Option<&'a TextRows<'a>> {
        if !self.plan.subs.is_empty() {
            return None;
        }
        if let Some(t) = self.text.as_ref().filter(|_| plain_text(p)) {
            return Some(t);
        }
        *fresh = TextRows::new(obj, &self.plan, p, shape);
        fresh.as_ref()
    }

    /// This call's values in placeholder order: the plan's own (in its columns), the scope's
    /// conditions, the row ids (a get's id, or the parents'), the scope's ORDER BY.
    fn bound(&self, scope: &Scope, ids: &[i64]) -> Vec<SqlValue> {
        let mut v = self.plan.col_params.clone();
        for (_, ps) in &scope.conds {
            v.extend(ps.iter().cloned());
        }
        v.extend(ids.iter().map(|i| SqlValue::Int(*i)));
        if let Some((_, ps)) = &scope.order {
            v.extend(ps.iter().cloned());
        }
        v
    }

    /// True if a later call's values land where this call's `params` were: the plan has no values of
    /// its own beyond its columns', and `bound` gives exactly `params` for this call.
    fn rebinds(&self, scope: &Scope, ids: &[i64], params: &[SqlValue]) -> bool {
        self.plan.having.is_none() && self.plan.group.is_empty() && self.bound(scope, ids) == params
    }
}

/// What a plain query's plan is made from: what a plain get's is, and the shape of the answer.
#[derive(PartialEq, Eq, Hash)]
pub struct QueryKey {
    read: GetKey,
    shape: Shape,
}

/// A kept plain query: its plan and text writer, its SELECT (ORDER BY included, LIMIT not) for a
/// first page, and the same with the keyset condition ([`keyset_cond`]) for the pages after it.
pub struct KeptQuery {
    read: KeptRead,
    after: String,
}

fn find<K: Eq + std::hash::Hash, V>(map: &RwLock<FastMap<K, Arc<V>>>, key: &K) -> Option<Arc<V>> {
    map.read().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
}

fn insert<K: Eq + std::hash::Hash, V>(map: &RwLock<FastMap<K, Arc<V>>>, key: K, read: Arc<V>) {
    let mut map = map.write().unwrap_or_else(|p| p.into_inner());
    if map.len() < KEPT_MAX {
        map.insert(key, read);
    }
}

impl ReadPlans {
    /// A cache for the reads of the objects of `registry` (which the server's state owns with it).
    pub fn for_registry(registry: &registry::Registry) -> ReadPlans {
        ReadPlans { registered: registry.decl_addresses().collect(), ..Default::default() }
    }

    /// The key of a plain get of `obj`, if `obj` is one of the registry's.
    fn key(&self, obj: &dyn Object, table: &Table, scope: &Scope) -> Option<GetKey> {
        let decl = obj.decl() as *const _ as usize;
        self.registered.contains(&decl).then(|| GetKey::new(decl, table, scope))
    }

    /// The key of a declared sub-object read of `child` for `parents` parents, if `child` is the registry's.
    fn sub_key(
        &self,
        child: &dyn Object,
        table: &Table,
        def: &SubObj,
        scope: &Scope,
        parents: usize,
    ) -> Option<SubKey> {
        let def = (def.name, def.obj, def.fk, def.res, def.orderby, def.only);
        self.key(child, table, scope).map(|child| SubKey { child, def, parents })
    }

    fn find_get(&self, key: &GetKey) -> Option<Arc<KeptRead>> {
        find(&self.gets, key)
    }

    fn find_sub(&self, key: &SubKey) -> Option<Arc<KeptRead>> {
        find(&self.subs, key)
    }

    /// Keeps a get just run with `params` if it rebinds (see [`KeptRead::rebinds`]). One with
    /// sub-objects or a row hook is answered from here through the general path (its rows as values).
    fn keep_get(&self, key: GetKey, read: KeptRead, scope: &Scope, id: i64, params: &[SqlValue]) {
        if read.rebinds(scope, &[id], params) {
            insert(&self.gets, key, Arc::new(read));
        }
    }

    /// Keeps a sub-object read just run with `params` if it rebinds.
    fn keep_sub(&self, key: SubKey, read: &Arc<KeptRead>, scope: &Scope, ids: &[i64], params: &[SqlValue]) {
        if read.rebinds(scope, ids, params) {
            insert(&self.subs, key, read.clone());
        }
    }

    fn find_query(&self, key: &QueryKey) -> Option<Arc<KeptQuery>> {
        find(&self.queries, key)
    }

    /// Keeps a plain query just run with `params` (`after`: the page key it ran with, whose condition
    /// is the plan's last) if it rebinds; both SELECTs, with and without the keyset condition, are
    /// kept, so a first page and the pages after it share the entry.
    fn keep_query(
        &self,
        key: QueryKey,
        mut plan: Plan,
        text: Option<TextRows<'static>>,
        after: Option<i64>,
        scope: &Scope,
        params: &[SqlValue],
    ) {
        if !plan.subs.is_empty() {
            return;
        }
        if after.is_none() {
            plan.where_sql.push(keyset_cond(&plan));
        }
        let with_key = ordered_sql(&plan).0;
        plan.where_sql.pop();
        let first = ordered_sql(&plan).0;
        let read = KeptRead::new(plan, first, 0).with_text(text);
        if read.rebinds(scope, after.as_slice(), params) {
            insert(&self.queries, key, Arc::new(KeptQuery { read, after: with_key }));
        }
    }

    /// Plain queries kept (tests).
    pub fn queries_len(&self) -> usize {
        self.queries.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Kept gets with sub-objects whose answers are written as text (tests).
    pub fn gets_written_with_subs(&self) -> usize {
        use std::sync::atomic::Ordering::Relaxed;
        let gets = self.gets.read().unwrap_or_else(|p| p.into_inner());
        gets.values().filter(|g| g.subs_text.load(Relaxed) == SUBS_TEXT_YES).count()
    }

    /// Plain gets kept (tests).
    pub fn gets_len(&self) -> usize {
        self.gets.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Sub-object reads kept (tests).
    pub fn subs_len(&self) -> usize {
        self.subs.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn not_found(table: &Table, id: i64) -> ApiError {
    ApiError::new(crate::error::Code::Param).internal(format!("not found `{}.id`=`{id}`", table.name))
}

/// The general path of a get: the row as values (`sql` is the plan's SELECT of one row, `params` its
/// values), its sub-objects, the row processing; `None` when there is no such row.
fn get_rows(
    ctx: &mut Ctx,
    obj: &dyn Object,
    plan: &Plan,
    sql: &str,
    params: &[SqlValue],
    p: &Params,
) -> ApiResult<Option<Value>> {
    let mut rows = fetch_sql(ctx, &plan.out, sql, params)?;
    if rows.rows.is_empty() {
        return Ok(None);
    }
    attach_subs(ctx, plan, p, &mut rows)?;
    finish_rows(ctx, obj, plan, p, &mut rows)?;
    Ok(Some(Value::Object(rows.into_maps().pop().unwrap_or_default())))
}

/// `Obj.query(...)`.
pub fn query(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Reply> {
    let fmt = p.str("fmt").or_else(|| p.str("_fmt")).unwrap_or_default();
    let req = ReadReq::parse(p)?;
    let mut scope = Scope::default();
    obj.on_query(ctx, p, &mut scope)?;
    let cap = obj.decl().max_page_sz.unwrap_or(10000);
    // A query asking for nothing but the default read, written as text, page after page (no total,
    // no statRes), runs the SELECT this server made for the same object, table, scope and shape
    // (ReadPlans), with this call's values and page size.
    let shape = Shape::of_fmt(&fmt);
    let key = match shape {
        Some(shape) if req.is_default() && p.get("statRes").is_none() => {
            ctx.state.read_plans.key(obj, table, &scope).map(|read| QueryKey { read, shape })
        }
        _ => None,
    };
    if let Some((c, shape)) = key.as_ref().and_then(|k| Some((ctx.state.read_plans.find_query(k)?, k.shape))) {
        let pg = select::paging(p, &fmt, cap)?;
        if pg.key != Some(0) && pg.page.is_none() {
            let mut fresh = None;
            if let Some(tr) = c.read.text_rows(obj, p, shape, &mut fresh) {
                let after = pg.key.filter(|k| *k > 0);
                let mut sql = String::with_capacity(c.after.len() + 32);
                sql.push_str(if after.is_some() { &c.after } else { &c.read.sql });
                push_limit(&mut sql, pg.size.saturating_add(1), 0);
                let params = c.read.bound(&scope, after.as_slice());
                let page = text::write_page(ctx, tr, &sql, &params, pg.size.max(0) as usize, |more, last_id| {
                    (next_key(more && pg.size > 0, true, last_id, 1), None, None)
                })?;
                return Ok(Reply::Json(page.text));
            }
        }
    }
    let mut plan = select::plan(ctx, obj, table, &req, &scope, ReadMode::Query)?;
    let pg: Paging = select::paging(p, &fmt, cap)?;

    // Keyset paging by id unless a page number was asked for (protocol §4.4).
    let keyset = plan.keyset && pg.page.is_none();
    let want_total = pg.key == Some(0) || pg.page.is_some();
    let total_n = if want_total { Some(total(ctx, &plan)?) } else { None };
    let stat = match p.str("statRes") {
        Some(s) => Some(stat_res(ctx, obj, table, &req.for_totals(query::parse_res(&s)?), &scope)?),
        None => None,
    };
    let page_no = if keyset { 1 } else { pg.page.or(pg.key.filter(|k| *k > 0)).unwrap_or(1) };
    let mut offset = 0;
    if keyset {
        if let Some(k) = pg.key.filter(|k| *k > 0) {
            plan.add_where(keyset_cond(&plan), vec![SqlValue::Int(k)]);
        }
    } else {
        offset = (page_no - 1).saturating_mul(pg.size);
    }
    // One row more than the page: a next page exists only if it came back (a full last page has no
    // `nextkey`, so a client never offers an empty page).
    if let Some(tr) = shape.and_then(|shape| TextRows::new(obj, &plan, p, shape)) {
        let (sql, params) = page_sql(&plan, pg.size.saturating_add(1), offset);
        let size = pg.size.max(0) as usize;
        let page = text::write_page(ctx, &tr, &sql, &params, size, |more, last_id| {
            (next_key(more && pg.size > 0, keyset, last_id, page_no), total_n, stat)
        })?;
        if let Some(k) = key.filter(|_| keyset && !want_total) {
            let text = plain_text(p).then(|| tr.into_owned());
            let after = pg.key.filter(|k| *k > 0);
            ctx.state.read_plans.keep_query(k, plan, text, after, &scope, &params);
        }
        return Ok(Reply::Json(page.text));
    }
    let mut rows = fetch(ctx, &plan, pg.size.saturating_add(1), offset)?;
    let more = rows.rows.len() as i64 > pg.size;
    rows.rows.truncate(pg.size.max(0) as usize);
    let last_id = rows.col("id").and_then(|i| rows.rows.last().map(|r| r[i].clone()));
    let nextkey = next_key(more && pg.size > 0, keyset, last_id, page_no);
    attach_subs(ctx, &plan, p, &mut rows)?;
    finish_rows(ctx, obj, &plan, p, &mut rows)?;
    if let Some(sf) = p.str("sumFields") {
        add_sum_row(&mut rows, &sf, stat.as_ref());
    }
    fmt::format(&fmt, p, &table.name, rows, nextkey, total_n, stat)
}

/// The condition of keyset paging: the rows after the page key in the plan's id order.
fn keyset_cond(plan: &Plan) -> String {
    format!("t0.id {} ?", if plan.id_desc { "<" } else { ">" })
}

/// The `nextkey` of a page: none on the last page; else the last row's id (keyset paging, none if the
/// page has no `id` column) or the next page number.
fn next_key(more: bool, keyset: bool, last_id: Option<Value>, page_no: i64) -> Option<Value> {
    match (more, keyset) {
        (false, _) => None,
        (true, true) => last_id,
        (true, false) => Some(json!(page_no + 1)),
    }
}

/// `statRes`: aggregates over the whole filtered set.
fn stat_res(ctx: &mut Ctx, obj: &dyn Object, table: &Table, req: &ReadReq, scope: &Scope) -> ApiResult<Value> {
    let mut plan = select::plan(ctx, obj, table, req, scope, ReadMode::Query)?;
    plan.order.clear();
    plan.order_params.clear();
    plan.subs.clear();
    let rows = fetch(ctx, &plan, 1, 0)?;
    Ok(Value::Object(rows.into_maps().pop().unwrap_or_default()))
}

/// The id of the first row a request finds, if any (uniKey lookups).
pub fn first_id(ctx: &mut Ctx, obj: &dyn Object, table: &Table, req: &ReadReq, p: &Params) -> ApiResult<Option<i64>> {
    let mut scope = Scope::default();
    obj.on_query(ctx, p, &mut scope)?;
    let plan = select::plan(ctx, obj, table, req, &scope, ReadMode::Query)?;
    let rows = fetch(ctx, &plan, 1, 0)?;
    Ok(rows.ints("id").first().copied().flatten())
}

/// `sumFields=a,b`: a total row, first column `合计` (not for 0-1 rows).
fn add_sum_row(rs: &mut RowSet, fields: &str, stat: Option<&Value>) {
    if rs.rows.len() <= 1 || rs.cols.is_empty() {
        return;
    }
    let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
    let mut sum = Vec::with_capacity(rs.cols.len());
    for (i, c) in rs.cols.iter().enumerate() {
        let v = if i == 0 {
            json!("合计")
        } else if fields.contains(&c.as_str()) {
            match stat.and_then(|s| s.get(c)) {
                Some(v) => v.clone(),
                None => {
                    let mut decimal = false;
                    let total: f64 = rs
                        .rows
                        .iter()
                        .filter_map(|r| match &r[i] {
                            Value::Number(n) => n.as_f64(),
                            Value::String(s) => {
                                decimal |= s.contains('.');
                                s.parse().ok()
                            }
                            _ => None,
                        })
                        .sum();
                    if decimal {
                        json!(format!("{total:.2}"))
                    } else if total.fract() == 0.0 {
                        json!(total as i64)
                    } else {
                        json!(total)
                    }
                }
            }
        } else {
            Value::Null
        };
        sum.push(v);
    }
    rs.rows.push(sum);
}

/// The WHERE of a write op (setIf/delIf and the ownership check of set/del): the object's scope and
/// the call's `cond`, through the same builder as reads.
pub fn write_conds(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    p: &Params,
) -> ApiResult<(Vec<String>, Vec<SqlValue>, Vec<String>)> {
    let conds = ReadReq::conds(p)?;
    let mut scope = Scope { guards_write: true, ..Default::default() };
    obj.on_query(ctx, p, &mut scope)?;
    let mut r = select::Resolver::new(table, obj.decl(), ctx.state.dialect.as_ref());
    let (texts, params) = select::where_parts(&mut r, &scope, &conds)?;
    let joins = select::joins_of(&mut r, &scope)?;
    Ok((texts, params, joins))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crud::object::{Decl, Plain};
    use crate::crud::registry::{Registry, Role};
    use crate::meta::Design;

    #[test]
    fn only_the_registrys_own_objects_have_their_gets_kept() {
        let design = Design::default();
        let mut registry = Registry::new(&design);
        let held: Arc<dyn Object> = Arc::new(Plain(Decl::of("Ordr".into())));
        registry.register("Ordr", &[Role::User], held.clone());
        let plans = ReadPlans::for_registry(&registry);
        let table = Table { name: "Ordr".into(), columns: Vec::new(), file: Default::default(), line: 1 };
        let mut scope = Scope::default();
        scope.eq("userId", 7);
        let key = plans.key(held.as_ref(), &table, &scope).expect("a registered object's get is keyed");
        // The values are not part of the key; the texts are.
        let mut other_user = Scope::default();
        other_user.eq("userId", 8);
        assert!(plans.key(held.as_ref(), &table, &other_user) == Some(key));
        let mut other_col = Scope::default();
        other_col.eq("storeId", 7);
        assert!(plans.key(held.as_ref(), &table, &other_col) != plans.key(held.as_ref(), &table, &scope));
        // An object made for one call (same declaration, another address) is never keyed.
        let passing = Plain(Decl::of("Ordr".into()));
        assert!(plans.key(&passing, &table, &scope).is_none());
    }
}
