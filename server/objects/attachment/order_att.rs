//! `OrderAtt` as users see it: the links between their own orders and attachments (DESIGN.md
//! "订单-图片关联", protocol §9.4).
//!
//! Users read the links of their own orders, and write them only through the order
//! (`Ordr.add`/`Ordr.set` with `atts: [{attId}]`, see `Decl::parent_only`), so the order's own
//! ownership rules run first; a user may only link files they uploaded themselves.

use crate::query::SqlValue as SqlV;

use crate::api::ctx::Ctx;
use crate::api::params::{short, value_to_int, Params};
use crate::crud::{Decl, Object, Op, Scope, Write};
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// OrderAtt for the user app.
pub struct OrderAtt {
    decl: Decl,
}

impl OrderAtt {
    /// Read directly, written only through `Ordr`.
    pub fn user() -> OrderAtt {
        let decl = Decl::new("OrderAtt")
            .allow(&[Op::Query, Op::Get])
            .via_parent(&[Op::Add, Op::Set, Op::Del])
            .required(&[&["attId"]]);
        OrderAtt { decl }
    }
}

impl Object for OrderAtt {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        let uid = ctx.auth.require_user()?;
        // EXISTS on the order's key: one lookup per row, instead of listing every order of the user.
        scope.sql("EXISTS (SELECT 1 FROM Ordr o WHERE o.id=t0.orderId AND o.userId=?)", vec![SqlValue::Int(uid)]);
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        let Some(v) = w.fields.get("attId") else { return Ok(()) };
        let att_id = value_to_int(v).ok_or_else(|| ApiError::bad_param(format!("bad attId: {}", short(v))))?;
        let uid = ctx.auth.require_user()?;
        match ctx.scalar("SELECT userId FROM Attachment WHERE id=?", &[SqlValue::Int(att_id)])? {
            None => Err(ApiError::param(format!("附件不存在: {att_id}")).internal(format!("no Attachment {att_id}"))),
            Some(SqlV::Int(owner)) if owner == uid => Ok(()),
            Some(_) => Err(ApiError::forbidden(format!("Attachment {att_id} was not uploaded by user {uid}"))
                .with_user_msg("只能关联自己上传的附件")),
        }
    }
}
