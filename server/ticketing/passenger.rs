//! `Passenger`: a buyer's list of the people it buys train tickets for (DESIGN.md 乘车人). A resident ID
//! number must carry its GB 11643 check digit ([`super::segments::id_number_ok`]).

use std::sync::Arc;

use serde_json::json;

use super::scope::str_field;
use super::segments::id_number_ok;
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::crud::{Decl, Object, Op, Registry, Role, Scope, Write};
use crate::error::{ApiError, ApiResult};

/// Document kinds and passenger kinds.
pub const ID_TYPES: [(&str, &str); 2] = [("ID", "居民身份证"), ("PP", "护照")];
pub const KINDS: [(&str, &str); 3] = [("AD", "成人"), ("CH", "儿童"), ("ST", "学生")];

/// Serves Passenger: each user its own; the admin everything.
pub fn register(reg: &mut Registry) {
    let decl = Decl::new("Passenger")
        .allow(&super::venue::STAFF_OPS)
        .required(&[&["name"], &["idNo"]])
        .readonly(&["userId"])
        .q_fields("name,idNo");
    reg.register("Passenger", &[Role::User], Arc::new(Passenger(decl)));
}

/// A passenger of the calling user.
pub struct Passenger(Decl);

impl Object for Passenger {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        scope.eq("userId", ctx.auth.require_user()?);
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        let uid = ctx.auth.require_user()?;
        super::store::check_code(w, "idType", &ID_TYPES)?;
        super::store::check_code(w, "type", &KINDS)?;
        if w.op == Op::Add {
            w.fields.insert("userId".into(), json!(uid));
            w.fields.entry("idType").or_insert(json!("ID"));
            w.fields.entry("type").or_insert(json!("AD"));
        }
        let id_type = match (str_field(w, "idType"), w.id) {
            (Some(t), _) => t,
            (None, Some(id)) => match ctx.scalar("SELECT idType FROM Passenger WHERE id=?", &[id.into()])? {
                Some(crate::query::SqlValue::Text(t)) => t,
                _ => "ID".into(),
            },
            _ => "ID".into(),
        };
        if let Some(no) = str_field(w, "idNo") {
            let no = no.to_uppercase();
            if id_type == "ID" && !id_number_ok(&no) {
                return Err(ApiError::param("身份证号须是18位, 且校验码正确"));
            }
            let dup = ctx.scalar_int(
                "SELECT id FROM Passenger WHERE userId=? AND idNo=? AND id<>?",
                &[uid.into(), no.clone().into(), w.id.unwrap_or(0).into()],
            )?;
            if dup.is_some() {
                return Err(ApiError::param("已有该证件号的乘车人"));
            }
            w.fields.insert("idNo".into(), json!(no));
        }
        Ok(())
    }
}
