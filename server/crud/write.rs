//! `add`, `set`, `del`, `setIf`, `delIf` (protocol §3.2, §3.3, §3.6, §5.4).
//!
//! Order of checks follows the reference pipeline: readonly → uniKey → required → `on_validate` →
//! type conversion → SQL → ObjLog → sub-objects → `on_after`. Anything that fails returns an error
//! and the dispatcher rolls the whole call back, so nothing is half-written.

use serde_json::{json, Map, Value};

use super::convert::{empty_value, to_column};
use super::object::{Decl, Object, Op, Write};
use super::select::ReadReq;
use super::{read, subwrite};
use crate::api::ctx::Ctx;
use crate::api::params::{is_absent, value_to_string, Params};
use crate::auth::password;
use crate::error::{ApiError, ApiResult, Code};
use crate::meta::Table;
use crate::query::{CmpOp, Cond, ResItem, SqlValue};

/// Writes one ObjLog row unless the object opted out (protocol §7).
pub fn objlog(ctx: &mut Ctx, obj: &dyn Object, id: Option<i64>, dscr: &str) -> ApiResult<()> {
    if obj.decl().no_objlog {
        return Ok(());
    }
    crate::log::objlog::row(ctx, &obj.decl().table, id, dscr)
}

/// Column fields and sub-object arrays of a body.
type Split = (Map<String, Value>, Vec<(String, Vec<Value>)>);

/// Splits body fields into column fields and sub-object arrays; drops `p_*` and `_*` keys.
fn split_fields(obj: &dyn Object, body: Map<String, Value>) -> ApiResult<Split> {
    let mut fields = Map::new();
    let mut subs = Vec::new();
    for (k, v) in body {
        if k.starts_with("p_") || k.starts_with('_') {
            continue;
        }
        if obj.decl().subobj(&k).is_some() {
            match v {
                Value::Array(items) if items.iter().all(Value::is_object) => subs.push((k, items)),
                Value::Null => {}
                _ => return Err(ApiError::param(format!("子对象必须为数组: {k}"))),
            }
            continue;
        }
        fields.insert(k, v);
    }
    Ok((fields, subs))
}

/// The fields this object's role may not write with `op`: `readonly` on add and set (writable on add
/// when also required), `readonly_on_set` on set and setIf.
pub fn not_writable(decl: &Decl, op: Op) -> Vec<&'static str> {
    match op {
        Op::Add => decl.readonly.iter().copied().filter(|f| !decl.required.iter().any(|g| g.contains(f))).collect(),
        _ => decl.readonly.iter().chain(decl.readonly_on_set).copied().collect(),
    }
}

/// The write check of every write path (add, set, setIf, batchAdd rows, sub-object rows): a field the
/// role may not write is E_FORBIDDEN naming it (protocol §9.3), or, only where the caller asked for the
/// reference's lenient mode (`useStrictReadonly=0`), dropped. Field names are matched exactly as the
/// table spells them; any other spelling is not a column and is refused later as unknown.
pub fn check_writable(
    decl: &Decl,
    table: &Table,
    op: Op,
    fields: &mut Map<String, Value>,
    strict: bool,
) -> ApiResult<()> {
    for f in not_writable(decl, op) {
        if fields.contains_key(f) {
            if strict {
                return Err(ApiError::with_msg(Code::Forbidden, format!("字段`{f}`不可写"))
                    .internal(format!("set readonly field {}.`{f}`", table.name)));
            }
            fields.remove(f);
        }
    }
    Ok(())
}

/// Refuses a value of a `unique` field that another row already has.
fn check_unique(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    fields: &Map<String, Value>,
    id: Option<i64>,
) -> ApiResult<()> {
    for (f, msg) in obj.decl().unique {
        let Some(v) = fields.get(*f).filter(|v| !is_absent(v)).map(value_to_string) else { continue };
        if v == "null" || v == "empty" {
            continue;
        }
        let d = ctx.state.dialect.as_ref();
        let sql =
            format!("SELECT id FROM {} WHERE {}=? AND id<>? LIMIT 1", d.quote_ident(&table.name), d.quote_ident(f));
        if ctx.scalar(&sql, &[SqlValue::Text(v), SqlValue::Int(id.unwrap_or(0))])?.is_some() {
            return Err(ApiError::param(*msg).internal(format!("duplicate {}.{f}", table.name)));
        }
    }
    Ok(())
}

/// Converts the fields to (column, value) pairs, checking every name against the table.
fn columns(table: &Table, fields: &Map<String, Value>, for_set: bool) -> ApiResult<Vec<(String, SqlValue)>> {
    let mut out = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        let col =
            table.column(k).ok_or_else(|| ApiError::bad_param(format!("unknown field `{k}` of `{}`", table.name)))?;
        if col.name == "id" {
            continue;
        }
        // The last line of defence for passwords: whatever object writes `pwd`, its hook must have
        // replaced the value by a hash (auth::password); a plain password never reaches the table.
        if col.name == "pwd" && !v.as_str().is_some_and(password::is_stored_form) {
            return Err(ApiError::server(format!(
                "`{}.pwd` must be hashed by the object before it is stored",
                table.name
            )));
        }
        let sv = if for_set {
            match v {
                Value::Null => continue,
                Value::String(s) if s.is_empty() || s == "null" => SqlValue::Null,
                Value::String(s) if s == "empty" => empty_value(col),
                _ => to_column(col, v)?,
            }
        } else {
            to_column(col, v)?
        };
        out.push((col.name.clone(), sv));
    }
    Ok(out)
}

/// `add(res?, uniKey?, uniKeyMode?, doValidateOnly?)(fields)`; `forced` fields (sub-object foreign
/// keys) are set after the readonly check.
pub fn add_with(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    p: &Params,
    forced: &Map<String, Value>,
) -> ApiResult<Value> {
    let decl = obj.decl();
    // An add that repeats an earlier one (the object's idempotency key) answers the earlier id and
    // writes nothing.
    if let Some(id) = obj.replayed_add(ctx, p)? {
        return Ok(json!(id));
    }
    let strict = p.bool("useStrictReadonly")?.unwrap_or(true);
    let body = p.body_fields();
    let (mut fields, subs) = split_fields(obj, body)?;
    fields.remove("id");
    fields.retain(|_, v| !is_absent(v));

    check_writable(decl, table, Op::Add, &mut fields, strict)?;
    for (k, v) in forced {
        fields.insert(k.clone(), v.clone());
    }

    if let Some(uk) = p.str("uniKey") {
        if let Some(v) = unikey(ctx, obj, table, p, &uk, &fields)? {
            return Ok(v);
        }
    }
    for group in decl.required {
        if !group.iter().any(|f| fields.contains_key(*f)) {
            let name = group.join("|");
            return Err(ApiError::missing(&name));
        }
    }
    let mut w = Write { op: Op::Add, id: None, fields, subs, kept: Map::new() };
    obj.on_validate(ctx, p, &mut w)?;
    check_unique(ctx, obj, table, &w.fields, None)?;
    let cols = columns(table, &w.fields, false)?;
    if p.flag("doValidateOnly")? {
        return Ok(json!("OK"));
    }
    let d = ctx.state.dialect.as_ref();
    let sql = if cols.is_empty() {
        format!("INSERT INTO {} DEFAULT VALUES", d.quote_ident(&table.name))
    } else {
        let names: Vec<String> = cols.iter().map(|(c, _)| d.quote_ident(c)).collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            d.quote_ident(&table.name),
            names.join(","),
            vec!["?"; cols.len()].join(",")
        )
    };
    let values: Vec<SqlValue> = cols.into_iter().map(|(_, v)| v).collect();
    let id = ctx.insert(&sql, &values)?;
    w.id = Some(id);
    objlog(ctx, obj, Some(id), "添加")?;
    let subs = std::mem::take(&mut w.subs);
    subwrite::write(ctx, obj, id, subs, subwrite::Mode::Add)?;
    obj.on_after(ctx, Op::Add, Some(id), Some(&w))?;
    match p.str("res") {
        Some(res) => {
            let req = ReadReq::with_res(crate::query::parse_res(&res)?);
            read::get_with(ctx, obj, table, id, &req, p)
        }
        None => Ok(json!(id)),
    }
}

/// uniKey handling of add (protocol §3.6). Returns the call's result when the add is settled here.
fn unikey(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    p: &Params,
    spec: &str,
    fields: &Map<String, Value>,
) -> ApiResult<Option<Value>> {
    let (spec, update_mode) = match spec.strip_suffix('!') {
        Some(s) => (s, true),
        None => (spec, false),
    };
    let keys: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if keys.iter().all(|k| !fields.contains_key(*k)) {
        return Ok(None);
    }
    // The lookup is a read with one equality (or IS NULL) per key field, built as conditions, never
    // as text; it resolves the fields like any read, so a field the role may not read is refused.
    let mut conds = Vec::with_capacity(keys.len());
    for k in &keys {
        if table.column(k).is_none() {
            return Err(ApiError::bad_param(format!("bad uniKey field `{k}`")));
        }
        conds.push(match fields.get(*k).filter(|v| !is_absent(v)) {
            Some(v) => Cond::Cmp { field: (*k).to_string(), op: CmpOp::Eq, value: SqlValue::Text(value_to_string(v)) },
            None => Cond::IsNull { field: (*k).to_string(), not: false },
        });
    }
    let mut req = ReadReq::with_res(vec![ResItem::Field { name: "id".into(), alias: None, enums: None }]);
    req.conds = conds;
    let found = read::first_id(ctx, obj, table, &req, p)?;
    let mode = p.str("uniKeyMode").unwrap_or_else(|| "set".into());
    let desc = format!("uniKey={spec}");
    match (found, mode.as_str()) {
        (Some(_), "error") => Err(ApiError::param(format!("已存在重复记录: {desc}"))),
        (Some(id), "ignore") => Ok(Some(json!(id))),
        (Some(id), _) => {
            let mut body = fields.clone();
            for k in &keys {
                body.remove(*k);
            }
            for f in obj.decl().readonly {
                body.remove(*f);
            }
            let mut url = Map::new();
            url.insert("id".into(), json!(id));
            set(ctx, obj, table, &Params::with_body(url, Value::Object(body)))?;
            Ok(Some(json!(id)))
        }
        (None, "ignore") if update_mode => Ok(Some(json!(-1))),
        (None, _) if update_mode => Err(ApiError::param(format!("找不到匹配项: {desc}"))),
        (None, _) => Ok(None),
    }
}

/// The ownership check of set/del: when the object scopes its rows (on_query) or the call gives a
/// `cond`, the row must satisfy them (protocol §3.3).
fn check_owned(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params, id: i64) -> ApiResult<()> {
    let (conds, mut params, joins) = read::write_conds(ctx, obj, table, p)?;
    if conds.is_empty() {
        return Ok(());
    }
    let d = ctx.state.dialect.as_ref();
    let sql = format!(
        "SELECT 1 FROM {} t0 {} WHERE t0.id=? AND {}",
        d.quote_ident(&table.name),
        joins.join(" "),
        conds.join(" AND ")
    );
    params.insert(0, SqlValue::Int(id));
    if ctx.scalar(&sql, &params)?.is_none() {
        return Err(
            ApiError::param("操作对象不存在或无权限修改").internal(format!("no `{}.id`={id} in scope", table.name))
        );
    }
    Ok(())
}

fn resolve_id(ctx: &mut Ctx, obj: &dyn Object, op: Op, p: &Params) -> ApiResult<i64> {
    let mut id = p.int("id")?;
    obj.on_validate_id(ctx, op, &mut id)?;
    id.ok_or_else(|| ApiError::missing("id"))
}

/// `set(id, cond?, submode?)(fields)` → "OK".
pub fn set(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Value> {
    let decl = obj.decl();
    let id = resolve_id(ctx, obj, Op::Set, p)?;
    check_owned(ctx, obj, table, p, id)?;
    let strict = p.bool("useStrictReadonly")?.unwrap_or(true);
    let (mut fields, subs) = split_fields(obj, p.body_fields())?;
    fields.remove("id");
    fields.retain(|_, v| !v.is_null());
    check_writable(decl, table, Op::Set, &mut fields, strict)?;
    let required = decl.required.iter().copied().flatten().chain(decl.required_on_set);
    for f in required {
        if let Some(v) = fields.get(*f) {
            if is_absent(v) || v == "null" || v == "empty" {
                return Err(ApiError::param(format!("字段`{f}`不允许置空")));
            }
        }
    }
    let mut w = Write { op: Op::Set, id: Some(id), fields, subs, kept: Map::new() };
    obj.on_validate(ctx, p, &mut w)?;
    check_unique(ctx, obj, table, &w.fields, Some(id))?;
    let cols = columns(table, &w.fields, true)?;
    if p.flag("doValidateOnly")? {
        return Ok(json!("OK"));
    }
    if !cols.is_empty() {
        let d = ctx.state.dialect.as_ref();
        let sets: Vec<String> = cols.iter().map(|(c, _)| format!("{}=?", d.quote_ident(c))).collect();
        let sql = format!("UPDATE {} SET {} WHERE id=?", d.quote_ident(&table.name), sets.join(", "));
        let mut values: Vec<SqlValue> = cols.into_iter().map(|(_, v)| v).collect();
        values.push(SqlValue::Int(id));
        ctx.exec(&sql, &values)?;
        objlog(ctx, obj, Some(id), "更新")?;
    }
    let subs = std::mem::take(&mut w.subs);
    let mode = match p.str("submode").as_deref() {
        Some("put") => subwrite::Mode::Put,
        _ => subwrite::Mode::Patch,
    };
    subwrite::write(ctx, obj, id, subs, mode)?;
    obj.on_after(ctx, Op::Set, Some(id), Some(&w))?;
    Ok(json!("OK"))
}

/// `del(id, force?)` → "OK".
pub fn del(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Value> {
    let id = resolve_id(ctx, obj, Op::Del, p)?;
    check_owned(ctx, obj, table, p, id)?;
    let sql = format!("DELETE FROM {} WHERE id=?", ctx.state.dialect.quote_ident(&table.name));
    let n = ctx.exec(&sql, &[SqlValue::Int(id)])?;
    if n == 0 && !p.flag("force")? {
        return Err(ApiError::new(Code::Param).internal(format!("not found `{}.id`=`{id}`", table.name)));
    }
    if n > 0 {
        objlog(ctx, obj, Some(id), "删除")?;
    }
    obj.on_after(ctx, Op::Del, Some(id), None)?;
    Ok(json!("OK"))
}

/// The `WHERE id IN (...)` of setIf/delIf; refuses to run without any condition.
fn if_scope(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<(String, Vec<SqlValue>)> {
    let (conds, params, joins) = read::write_conds(ctx, obj, table, p)?;
    if conds.is_empty() {
        return Err(ApiError::param("未指定操作条件"));
    }
    let q = ctx.state.dialect.quote_ident(&table.name);
    Ok((format!("id IN (SELECT t0.id FROM {q} t0 {} WHERE {})", joins.join(" "), conds.join(" AND ")), params))
}

/// `setIf(cond)(fields)` → count; one UPDATE, no per-row hooks.
pub fn set_if(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Value> {
    let decl = obj.decl();
    let (mut fields, subs) = split_fields(obj, p.body_fields())?;
    if !subs.is_empty() {
        return Err(ApiError::bad_param("setIf cannot write sub-objects"));
    }
    fields.remove("id");
    fields.retain(|_, v| !v.is_null());
    check_writable(decl, table, Op::SetIf, &mut fields, true)?;
    if let Some((f, _)) = decl.unique.iter().find(|(f, _)| fields.get(*f).is_some_and(|v| !is_absent(v))) {
        return Err(
            ApiError::param(format!("字段`{f}`不能重复, 不可批量设置")).internal(format!("setIf on unique field {f}"))
        );
    }
    let cols = columns(table, &fields, true)?;
    if cols.is_empty() {
        return Err(ApiError::bad_param("setIf: no field to set"));
    }
    let (scope, scope_params) = if_scope(ctx, obj, table, p)?;
    let d = ctx.state.dialect.as_ref();
    let sets: Vec<String> = cols.iter().map(|(c, _)| format!("{}=?", d.quote_ident(c))).collect();
    let sql = format!("UPDATE {} SET {} WHERE {scope}", d.quote_ident(&table.name), sets.join(", "));
    let mut values: Vec<SqlValue> = cols.into_iter().map(|(_, v)| v).collect();
    values.extend(scope_params);
    let n = ctx.exec(&sql, &values)?;
    objlog(ctx, obj, None, "条件更新")?;
    let w = Write { op: Op::SetIf, id: None, fields, subs: Vec::new(), kept: Map::new() };
    obj.on_after(ctx, Op::SetIf, None, Some(&w))?;
    Ok(json!(n))
}

/// `delIf(cond)` → count.
pub fn del_if(ctx: &mut Ctx, obj: &dyn Object, table: &Table, p: &Params) -> ApiResult<Value> {
    let (scope, params) = if_scope(ctx, obj, table, p)?;
    let sql = format!("DELETE FROM {} WHERE {scope}", ctx.state.dialect.quote_ident(&table.name));
    let n = ctx.exec(&sql, &params)?;
    objlog(ctx, obj, None, "条件删除")?;
    obj.on_after(ctx, Op::DelIf, None, None)?;
    Ok(json!(n))
}
