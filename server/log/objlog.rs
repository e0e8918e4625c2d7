//! ObjLog (protocol §7): one row per write of an object, pointing at the call (ApiLog/ApiLog1) that made
//! it. Written inside the call's transaction, so a rolled-back write leaves no row.

use crate::api::ctx::Ctx;
use crate::error::ApiResult;
use crate::query::SqlValue;

/// Writes one ObjLog row for `table`/`id` with a description (`添加`, `更新`, `删除`, ...). Does nothing
/// when the design has no ObjLog table.
pub fn row(ctx: &mut Ctx, table: &str, id: Option<i64>, dscr: &str) -> ApiResult<()> {
    if ctx.state.design.table("ObjLog").is_none() {
        return Ok(());
    }
    let params = [
        SqlValue::Text(table.to_string()),
        id.into(),
        dscr.into(),
        SqlValue::Int(ctx.apilog_id),
        ctx.apilog1_id.into(),
    ];
    ctx.exec("INSERT INTO ObjLog (obj, objId, dscr, apiLogId, apiLog1Id) VALUES (?,?,?,?,?)", &params)?;
    Ok(())
}
