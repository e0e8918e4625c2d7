//! Writing sub-objects through their parent, in the parent's transaction (protocol §5.4).
//!
//! Each child row goes through the child object's own add/set/del (so its checks, hooks and ObjLog
//! apply), with the foreign key forced to the parent id after the child's readonly check.

use serde_json::{json, Map, Value};

use super::object::{Object, Op};
use super::{registry, run_op_with};
use crate::api::ctx::Ctx;
use crate::api::params::{value_to_int, Params};
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// How the listed children relate to the existing ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Parent add: every item is added.
    Add,
    /// Items with `id` are updated (or deleted with `_delete:1`), others added.
    Patch,
    /// Like patch, and children not listed are deleted.
    Put,
}

/// Writes the sub-object arrays of one parent row.
pub fn write(
    ctx: &mut Ctx,
    parent: &dyn Object,
    parent_id: i64,
    subs: Vec<(String, Vec<Value>)>,
    mode: Mode,
) -> ApiResult<()> {
    if subs.is_empty() {
        return Ok(());
    }
    if ctx.depth > 4 {
        return Err(ApiError::bad_param("sub-objects nested too deeply"));
    }
    ctx.depth += 1;
    let r = write_all(ctx, parent, parent_id, subs, mode);
    ctx.depth -= 1;
    r
}

fn write_all(
    ctx: &mut Ctx,
    parent: &dyn Object,
    parent_id: i64,
    subs: Vec<(String, Vec<Value>)>,
    mode: Mode,
) -> ApiResult<()> {
    for (name, items) in subs {
        let def = parent
            .decl()
            .subobj(&name)
            .cloned()
            .ok_or_else(|| ApiError::bad_param(format!("unknown sub-object {name}")))?;
        let child = registry::resolve(ctx, def.obj)?;
        let table = registry::table_of(ctx, child.as_ref())?;
        let d = ctx.state.dialect.as_ref();
        let (tq, fq) = (d.quote_ident(&table.name), d.quote_ident(def.fk));
        let mut forced = Map::new();
        forced.insert(def.fk.to_string(), json!(parent_id));

        if mode == Mode::Put {
            let keep: Vec<i64> = items.iter().filter_map(|i| i.get("id").and_then(value_to_int)).collect();
            let mut gone = Vec::new();
            ctx.query(&format!("SELECT id FROM {tq} WHERE {fq}=?"), &[SqlValue::Int(parent_id)], |r| {
                let id: i64 = r.get(0)?;
                if !keep.contains(&id) {
                    gone.push(id);
                }
                Ok(())
            })?;
            for id in gone {
                run_op_with(ctx, child.as_ref(), table, Op::Del, &id_params(id, Value::Null), &Map::new())?;
            }
        }
        for item in items {
            let Value::Object(mut body) = item else { continue };
            let id = match mode {
                Mode::Add => None,
                _ => body.get("id").and_then(value_to_int),
            };
            body.remove("id");
            body.remove(def.fk);
            match id {
                None => {
                    run_op_with(
                        ctx,
                        child.as_ref(),
                        table,
                        Op::Add,
                        &Params::with_body(Map::new(), Value::Object(body)),
                        &forced,
                    )?;
                }
                Some(id) => {
                    let mine = ctx.scalar(
                        &format!("SELECT 1 FROM {tq} WHERE id=? AND {fq}=?"),
                        &[SqlValue::Int(id), SqlValue::Int(parent_id)],
                    )?;
                    if mine.is_none() {
                        return Err(ApiError::param(format!("子对象不存在: {name}.id={id}")));
                    }
                    let delete = body.remove("_delete").and_then(|v| value_to_int(&v)).unwrap_or(0) != 0;
                    let op = if delete { Op::Del } else { Op::Set };
                    run_op_with(ctx, child.as_ref(), table, op, &id_params(id, Value::Object(body)), &Map::new())?;
                }
            }
        }
    }
    Ok(())
}

fn id_params(id: i64, body: Value) -> Params {
    let mut url = Map::new();
    url.insert("id".into(), json!(id));
    Params::with_body(url, body)
}
