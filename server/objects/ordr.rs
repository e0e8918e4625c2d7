//! `Ordr` and `OrderLog`: orders and their business log (DESIGN.md, protocol §3.7, §9.4, §9.5).
//!
//! Users add, read and cancel their own orders; staff read and move orders through the state
//! machine; every action writes one OrderLog row. The admin sees everything with the same fields.

use serde_json::json;

use crate::api::ctx::Ctx;
use crate::api::params::{value_to_string, Params};
use std::sync::Arc;

use crate::crud::{Decl, Object, Op, Registry, Role, Scope, SubObj, VCol, Write};
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// Serves Ordr and OrderLog to users, staff and the admin.
pub fn register(reg: &mut Registry) {
    use Role::*;
    reg.register("Ordr", &[User], Arc::new(Ordr::user()));
    reg.register("Ordr", &[Emp], Arc::new(Ordr::emp()));
    reg.register("Ordr", &[Admin], Arc::new(Ordr::admin()));
    reg.register("OrderLog", &[User], Arc::new(OrderLog::user()));
    reg.register("OrderLog", &[Emp], Arc::new(OrderLog::emp()));
    reg.register("OrderLog", &[Admin], Arc::new(OrderLog::admin()));
}

/// Order states and their labels.
pub const STATUS: [(&str, &str); 5] =
    [("CR", "新创建"), ("PA", "已付款"), ("RE", "已完成"), ("CA", "已取消"), ("RF", "已退款")];

/// The order state machine of the generic `Ordr.set` (DESIGN.md `Ordr.status`; the ticketing rules of
/// `../shared/spec/ticketing.md` §4 extend it): users cancel new orders;
/// staff complete or cancel new ones and complete paid ones. Payment and refunds have their own calls.
pub fn transition_allowed(by: Role, from: &str, to: &str) -> bool {
    matches!(
        (by, from, to),
        (Role::User, "CR", "CA") | (Role::Emp | Role::Admin, "CR", "CA" | "RE") | (Role::Emp | Role::Admin, "PA", "RE")
    )
}

/// The Ordr object for one role.
pub struct Ordr {
    decl: Decl,
}

/// A vcol turning a code column into its label (`CASE t0.col WHEN 'CR' THEN '新创建' ... END name`).
/// The labels are constants of this file, never request text.
fn label_vcol(col: &str, name: &'static str) -> VCol {
    let whens: String = STATUS.iter().map(|(k, v)| format!(" WHEN '{k}' THEN '{v}'")).collect();
    VCol::computed(format!("CASE t0.{col}{whens} ELSE t0.{col} END"), name)
}

fn base_decl() -> Decl {
    Decl::new("Ordr")
        .vcols(vec![
            VCol::new(&["u.name userName", "u.phone userPhone"])
                .join("LEFT JOIN User u ON u.id=t0.userId")
                .default_on(),
            label_vcol("status", "statusName").default_on(),
            // Uses the buyer join of the group above, which `require` pulls in when only this field is asked for.
            VCol::new(&["(u.name || '/' || u.phone) userLabel"]).require(&["userName"]),
        ])
        .subobjs(vec![
            SubObj::new("orderLog", "OrderLog", "orderId").orderby("id").in_get(),
            SubObj::new("atts", "OrderAtt", "orderId").res("id,attId").in_get(),
        ])
        .tm_col("createTm")
        // `q=` searches the order number (exact), the buyer's phone and the buyer's name.
        .q_fields("id!,userPhone,userName")
}

impl Ordr {
    /// Orders as a buyer sees them.
    pub fn user() -> Ordr {
        // A buyer does not reprice an order once it exists.
        let decl = base_decl()
            .allow(&[Op::Add, Op::Get, Op::Query, Op::Set])
            .readonly(&["userId", "createTm"])
            .readonly_on_set(&["amount"]);
        Ordr { decl }
    }

    /// Orders as staff see them (no add/del: DESIGN rule, §9.5).
    pub fn emp() -> Ordr {
        Ordr { decl: base_decl().allow(&[Op::Get, Op::Query, Op::Set]).readonly(&["userId", "createTm"]) }
    }

    /// Orders as the platform admin sees them.
    pub fn admin() -> Ordr {
        Ordr { decl: base_decl() }
    }
}

/// Writes one OrderLog row.
pub fn order_log(ctx: &mut Ctx, order_id: i64, action: &str, dscr: Option<&str>) -> ApiResult<()> {
    let emp: SqlValue = ctx.auth.emp_id().into();
    ctx.exec(
        "INSERT INTO OrderLog (orderId, action, tm, dscr, empId) VALUES (?,?,?,?,?)",
        &[SqlValue::Int(order_id), action.into(), crate::db::now_str().into(), dscr.into(), emp],
    )?;
    Ok(())
}

impl Object for Ordr {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        if ctx.auth.role() == Role::User {
            let uid = ctx.auth.require_user()?;
            scope.eq("userId", uid);
        }
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        // A plain order keeps the buyer's offered amount (or none yet, a price agreed later), within
        // bounds. The admin records orders as they were (imports) and is not bounded.
        if let (true, Some(a)) = (ctx.auth.role() != Role::Admin, w.fields.get("amount")) {
            check_amount(&value_to_string(a), ctx.state.config.max_order_cents)?;
        }
        match w.op {
            Op::Add if ctx.auth.role() == Role::Admin => {
                // The platform may record orders as they were (imports); it only gets defaults.
                w.fields.entry("status").or_insert(json!("CR"));
                w.fields.entry("createTm").or_insert(json!(crate::db::now_str()));
            }
            Op::Add => {
                if ctx.auth.role() == Role::User {
                    w.fields.insert("userId".into(), json!(ctx.auth.uid()));
                }
                w.fields.insert("status".into(), json!("CR"));
                w.fields.insert("createTm".into(), json!(crate::db::now_str()));
            }
            Op::Set => {
                if let Some(to) = w.fields.get("status").map(value_to_string) {
                    let id = w.id.unwrap_or(0);
                    let from = ctx
                        .scalar("SELECT status FROM Ordr WHERE id=?", &[SqlValue::Int(id)])?
                        .and_then(|v| if let crate::query::SqlValue::Text(s) = v { Some(s) } else { None })
                        .unwrap_or_default();
                    if from != to && !transition_allowed(ctx.auth.role(), &from, &to) {
                        return Err(ApiError::forbidden(format!("order status cannot change from {from} to {to}"))
                            .with_user_msg(format!("订单状态不可从{}改为{}", label(&from), label(&to))));
                    }
                    if from == to {
                        w.fields.remove("status");
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, w: Option<&Write>) -> ApiResult<()> {
        if op == Op::SetIf && w.is_some_and(|w| w.fields.contains_key("status")) {
            // A bulk update would skip the state machine and the order log.
            return Err(ApiError::forbidden("order status changes one order at a time (Ordr.set)"));
        }
        let (Some(id), Some(w)) = (id, w) else { return Ok(()) };
        match op {
            Op::Add => order_log(ctx, id, "CR", None),
            Op::Set => match w.fields.get("status") {
                Some(s) => order_log(ctx, id, &value_to_string(s), None),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// The bounds of a plain order's amount (the buyer's offer): more than 0, at most two decimals, at most
/// `P_MAX_ORDER_AMOUNT`.
fn check_amount(v: &str, max_cents: i64) -> ApiResult<()> {
    let max = format!("{}.{:02}", max_cents / 100, max_cents % 100);
    match crate::money::parse_cents(v) {
        Some(c) if c > 0 && c <= max_cents => Ok(()),
        _ => Err(ApiError::param(format!("金额须大于0、最多两位小数、不超过{max}元"))
            .internal(format!("bad amount `{v}` (0 < amount <= {max}, two decimals)"))),
    }
}

fn label(code: &str) -> String {
    STATUS.iter().find(|(k, _)| *k == code).map(|(_, v)| v.to_string()).unwrap_or_else(|| code.to_string())
}

/// OrderLog for a role: users see the logs of their own orders only (§9.5).
pub struct OrderLog {
    decl: Decl,
    user: bool,
}

impl OrderLog {
    fn decl(ops: Option<&'static [Op]>) -> Decl {
        let d = Decl::new("OrderLog")
            .vcols(vec![
                VCol::new(&["e.name empName", "e.phone empPhone"])
                    .join("LEFT JOIN Employee e ON e.id=t0.empId")
                    .default_on(),
                label_vcol("action", "actionName").default_on(),
            ])
            .default_sort("id DESC");
        match ops {
            Some(ops) => d.allow(ops),
            None => d,
        }
    }

    /// Read-only, own orders' logs. Buyers see who handled their order by name, never the staff
    /// member's phone.
    pub fn user() -> OrderLog {
        OrderLog { decl: Self::decl(Some(&[Op::Query, Op::Get])).hidden(&["empPhone"]), user: true }
    }

    /// Staff: read-only. The log is written by the order actions themselves, so it stays a true
    /// record of them (DESIGN: 员工端可查看).
    pub fn emp() -> OrderLog {
        OrderLog { decl: Self::decl(Some(&[Op::Query, Op::Get])), user: false }
    }

    /// The admin: everything.
    pub fn admin() -> OrderLog {
        OrderLog { decl: Self::decl(None), user: false }
    }
}

impl Object for OrderLog {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        if self.user {
            let uid = ctx.auth.require_user()?;
            // EXISTS on the order's key: one lookup per row, instead of listing every order of the user.
            scope.sql("EXISTS (SELECT 1 FROM Ordr o WHERE o.id=t0.orderId AND o.userId=?)", vec![SqlValue::Int(uid)]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_order_amounts_are_bounded() {
        let max = 10_000_000;
        for ok in ["0.01", "117", "100000", "100000.00"] {
            assert!(check_amount(ok, max).is_ok(), "{ok}");
        }
        for bad in ["0", "-1", "100000.01", "99999999", "1.001", "x"] {
            let e = check_amount(bad, max).unwrap_err();
            assert_eq!(e.user_msg(), "金额须大于0、最多两位小数、不超过100000.00元", "{bad}");
        }
    }

    #[test]
    fn users_may_only_cancel_new_orders() {
        assert!(transition_allowed(Role::User, "CR", "CA"));
        assert!(!transition_allowed(Role::User, "CR", "RE"));
        assert!(!transition_allowed(Role::User, "PA", "CA"));
        assert!(!transition_allowed(Role::User, "CA", "CR"));
    }

    #[test]
    fn staff_complete_or_cancel_new_orders_and_complete_paid_ones() {
        assert!(transition_allowed(Role::Emp, "CR", "RE"));
        assert!(transition_allowed(Role::Emp, "CR", "CA"));
        assert!(transition_allowed(Role::Emp, "PA", "RE"));
        assert!(!transition_allowed(Role::Emp, "CA", "RE"));
        assert!(!transition_allowed(Role::Emp, "CR", "PA"), "payment only through a verified notification");
        assert!(!transition_allowed(Role::Emp, "RE", "CA"));
    }
}
