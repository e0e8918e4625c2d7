//! The generic object layer: every table of the design served through add/set/get/query/del and
//! friends, with per-(object, role) declarations and hooks (protocol §3-§5).
//!
//! `call` is the entry for `Obj.ac`: it finds the object for the caller, checks the op is allowed and
//! runs it. `crud` never imports the application (`objects`); objects register themselves in the
//! `Registry` at start-up.

pub mod batch_add;
pub mod convert;
pub mod fmt;
pub mod object;
pub mod read;
pub mod registry;
pub mod rows;
pub mod select;
pub mod subwrite;
pub mod text;
pub mod write;

use serde_json::{Map, Value};

pub use object::{Decl, Object, Op, Plain, Scope, SubObj, SubShape, VCol, Write};
pub use registry::{Registry, Role};

use crate::api::ctx::{Ctx, Reply};

/// True if the op changes rows (everything but get and query).
pub fn op_changes(op: Op) -> bool {
    !matches!(op, Op::Get | Op::Query)
}
use crate::api::params::Params;
use crate::error::{ApiError, ApiResult};
use crate::meta::Table;

/// Serves `Obj.op` for the caller in `ctx`.
pub fn call(ctx: &mut Ctx, obj_name: &str, op_name: &str, p: &Params) -> ApiResult<Reply> {
    let obj = registry::resolve(ctx, obj_name)?;
    let table = registry::table_of(ctx, obj.as_ref())?;
    match Op::parse(op_name) {
        Some(op) => run_op_with(ctx, obj.as_ref(), table, op, p, &Map::new()),
        None => match op_name {
            "batchAdd" => {
                check_allowed(ctx, obj.as_ref(), Op::Add)?;
                obj.on_init(ctx, Op::Add)?;
                batch_add::batch_add(ctx, obj.as_ref(), table, p).map(Reply::Data)
            }
            _ => {
                let declared = obj.actions().contains(&op_name);
                declared.then(|| obj.custom(ctx, op_name, p)).flatten().unwrap_or_else(|| {
                    Err(ApiError::param("接口不支持")
                        .internal(format!("Bad request - unknown ac: {obj_name}.{op_name}")))
                })
            }
        },
    }
}

/// Checks `op` against the object's allowed ops; `parent_only` ops pass only inside a sub-object write
/// (`ctx.depth > 0`, set by `subwrite`).
fn check_allowed(ctx: &Ctx, obj: &dyn Object, op: Op) -> ApiResult<()> {
    let decl = obj.decl();
    if decl.allows(op) || (ctx.depth > 0 && decl.parent_only.contains(&op)) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("Operation `{}` is not allowed on object `{}`", op.name(), obj.decl().table)))
    }
}

/// Runs a standard op on an object; `forced` fields are set on add after the readonly check
/// (sub-object foreign keys).
pub fn run_op_with(
    ctx: &mut Ctx,
    obj: &dyn Object,
    table: &Table,
    op: Op,
    p: &Params,
    forced: &Map<String, Value>,
) -> ApiResult<Reply> {
    check_allowed(ctx, obj, op)?;
    obj.on_init(ctx, op)?;
    let v = match op {
        Op::Add => write::add_with(ctx, obj, table, p, forced)?,
        Op::Set => write::set(ctx, obj, table, p)?,
        Op::Del => write::del(ctx, obj, table, p)?,
        Op::Get => return read::get(ctx, obj, table, p),
        Op::Query => return read::query(ctx, obj, table, p),
        Op::SetIf => write::set_if(ctx, obj, table, p)?,
        Op::DelIf => write::del_if(ctx, obj, table, p)?,
    };
    Ok(Reply::Data(v))
}
