//! `City` and `Store`: where things happen and who sells (DESIGN.md 票务: 城市与商户).
//!
//! The admin adds stores (always pending), approves or blocks them and adds each store's first
//! manager (`Employee.add(storeId, perms=emp,mgr)`). A store's manager edits its contact details; the
//! public sees approved stores only.

use std::sync::Arc;

use serde_json::json;

use super::scope::{str_field, Viewer};
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::crud::{Decl, Object, Op, Plain, Registry, Role, Scope, VCol, Write};
use crate::error::{ApiError, ApiResult, Code};
use crate::objects::account::MANAGER;

/// Store kinds and their labels.
pub const KINDS: [(&str, &str); 3] = [("show", "演出"), ("cinema", "影院"), ("rail", "铁路")];
/// Review states and their labels.
pub const STATUS: [(&str, &str); 3] = [("PE", "待审核"), ("OK", "已通过"), ("BL", "已封禁")];

/// Serves City and Store.
pub fn register(reg: &mut Registry) {
    use Role::*;
    let city = Decl::new("City").allow(&[Op::Get, Op::Query]).q_fields("name,province,code!").default_sort("code");
    reg.register("City", &[Guest, User, Emp], Arc::new(Plain(city)));
    reg.register("Store", &[Guest, User], Arc::new(Store::public()));
    reg.register("Store", &[Emp], Arc::new(Store::staff()));
    reg.register("Store", &[Admin], Arc::new(Store::admin()));
}

/// A vcol turning a code column into its label, from a constant table of this module.
pub fn label_vcol(col: &str, name: &'static str, labels: &[(&str, &str)]) -> VCol {
    let whens: String = labels.iter().map(|(k, v)| format!(" WHEN '{k}' THEN '{v}'")).collect();
    VCol::computed(format!("CASE t0.{col}{whens} ELSE t0.{col} END"), name)
}

/// Refuses a code outside `labels`, naming the field and the allowed values.
pub fn check_code(w: &Write, field: &str, labels: &[(&str, &str)]) -> ApiResult<()> {
    if let Some(v) = str_field(w, field) {
        if !labels.iter().any(|(k, _)| *k == v) {
            let allowed: Vec<String> = labels.iter().map(|(k, l)| format!("{k}({l})")).collect();
            return Err(ApiError::param(format!("`{field}`只能是{}", allowed.join(", "))));
        }
    }
    Ok(())
}

fn label(labels: &[(&str, &'static str)], code: &str) -> String {
    labels.iter().find(|(k, _)| *k == code).map(|(_, l)| l.to_string()).unwrap_or_else(|| code.to_string())
}

/// Review transitions: approve a pending store, block a pending or approved one, unblock.
pub fn status_change_allowed(from: &str, to: &str) -> bool {
    from == to || matches!((from, to), ("PE", "OK" | "BL") | ("OK", "BL") | ("BL", "OK"))
}

/// `Store` for one kind of caller.
pub struct Store {
    decl: Decl,
}

fn base() -> Decl {
    Decl::new("Store")
        .vcols(vec![
            label_vcol("kind", "kindName", &KINDS).default_on(),
            label_vcol("status", "statusName", &STATUS).default_on(),
            VCol::new(&["c.name cityName"]).join("LEFT JOIN City c ON c.id=t0.cityId").default_on(),
        ])
        .q_fields("id!,name,cityName")
        .tm_col("createTm")
}

impl Store {
    fn public() -> Store {
        Store { decl: base().allow(&[Op::Get, Op::Query]) }
    }

    fn staff() -> Store {
        Store { decl: base().allow(&[Op::Get, Op::Query, Op::Set]).readonly(&["kind", "status", "createTm"]) }
    }

    fn admin() -> Store {
        let decl = base()
            .allow(&super::venue::STAFF_OPS)
            .required(&[&["name"], &["kind"]])
            .readonly(&["createTm"])
            .readonly_on_set(&["kind"]);
        Store { decl }
    }
}

impl Object for Store {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        match Viewer::of(ctx)? {
            Viewer::Public => scope.sql("t0.status='OK'", Vec::new()),
            Viewer::Store(s) => scope.eq("id", s),
            Viewer::Platform => {}
        }
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if let Viewer::Store(_) = Viewer::of(ctx)? {
            ctx.auth.require_perm(MANAGER).map_err(|e| e.with_user_msg("只有经理可以修改商户信息"))?;
        }
        check_code(w, "kind", &KINDS)?;
        check_code(w, "status", &STATUS)?;
        if let Some(city) = super::scope::int_field(w, "cityId") {
            if ctx.scalar_int("SELECT id FROM City WHERE id=?", &[city.into()])?.is_none() {
                return Err(ApiError::param(format!("城市#{city}不存在")));
            }
        }
        match (w.op, w.id) {
            (Op::Add, _) => {
                // A new store is reviewed before it sells: always pending.
                w.fields.insert("status".into(), json!("PE"));
                w.fields.insert("createTm".into(), json!(crate::db::now_str()));
            }
            (Op::Set, Some(id)) => {
                if let Some(to) = str_field(w, "status") {
                    let from = ctx
                        .scalar("SELECT status FROM Store WHERE id=?", &[id.into()])?
                        .and_then(|v| if let crate::query::SqlValue::Text(t) = v { Some(t) } else { None })
                        .unwrap_or_default();
                    if !status_change_allowed(&from, &to) {
                        return Err(ApiError::with_msg(
                            Code::Forbidden,
                            format!("商户状态不可从{}改为{}", label(&STATUS, &from), label(&STATUS, &to)),
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&crate::crud::Write>) -> ApiResult<()> {
        if op == Op::Del {
            if let Some(id) = id {
                let used = ctx.scalar_int(
                    "SELECT (SELECT COUNT(*) FROM Employee WHERE storeId=?1) + (SELECT COUNT(*) FROM Venue WHERE \
                     storeId=?1) + (SELECT COUNT(*) FROM Event WHERE storeId=?1)",
                    &[id.into()],
                )?;
                if used.unwrap_or(0) > 0 {
                    return Err(ApiError::with_msg(Code::Forbidden, "商户已有员工或数据, 不能删除, 可以封禁"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_moves_pending_to_approved_or_blocked_and_blocked_back_only() {
        assert!(status_change_allowed("PE", "OK"));
        assert!(status_change_allowed("PE", "BL"));
        assert!(status_change_allowed("OK", "BL"));
        assert!(status_change_allowed("BL", "OK"));
        assert!(!status_change_allowed("OK", "PE"));
        assert!(!status_change_allowed("BL", "PE"));
        assert!(status_change_allowed("OK", "OK"), "saving a store unchanged is not a transition");
    }
}
