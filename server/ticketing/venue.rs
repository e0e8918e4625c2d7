//! `Venue` and `Hall`: where a store's events take place, and the seat maps of its halls (DESIGN.md
//! 票务: 场馆, 影厅与座位图). The seat map grammar is [`super::seatmap`].

use std::sync::Arc;

use serde_json::json;

use super::scope::{int_at, int_field, own_store_on_add, parent_of_store, store_rows, str_field};
use super::seatmap::SeatMap;
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::crud::{Decl, Object, Op, Registry, Role, Scope, VCol, Write};
use crate::error::{ApiError, ApiResult, Code};

/// Serves Venue and Hall: read by everyone (approved stores), written by the store's staff.
pub fn register(reg: &mut Registry) {
    use Role::*;
    const READ: &[Op] = &[Op::Get, Op::Query];
    reg.register("Venue", &[Guest, User], Arc::new(Venue(venue_decl().allow(READ))));
    // Staff always add to their own store; the admin names the store, fixed afterwards.
    reg.register("Venue", &[Emp], Arc::new(Venue(venue_decl().allow(&STAFF_OPS).readonly(&["storeId"]))));
    reg.register("Venue", &[Admin], Arc::new(Venue(venue_decl().allow(&STAFF_OPS).readonly_on_set(&["storeId"]))));
    reg.register("Hall", &[Guest, User], Arc::new(Hall(hall_decl().allow(READ))));
    reg.register("Hall", &[Emp, Admin], Arc::new(Hall(hall_decl().allow(&STAFF_OPS))));
}

/// What staff may do with store-owned objects: one row at a time, so each row's rules run (setIf/delIf
/// would skip the per-row checks).
pub const STAFF_OPS: [Op; 5] = [Op::Add, Op::Set, Op::Get, Op::Query, Op::Del];

const PUBLIC: &str = "t0.storeId IN (SELECT id FROM Store WHERE status='OK')";

fn venue_decl() -> Decl {
    Decl::new("Venue")
        .required(&[&["name"], &["cityId"]])
        .vcols(vec![VCol::new(&["c.name cityName"]).join("LEFT JOIN City c ON c.id=t0.cityId").default_on()])
        .q_fields("id!,name,addr")
}

/// A place of a store (theatre, stadium, cinema).
pub struct Venue(Decl);

impl Object for Venue {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        store_rows(ctx, scope, PUBLIC).map(|_| ())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if w.op == Op::Add {
            own_store_on_add(ctx, w)?;
        } else {
            w.fields.remove("storeId");
        }
        if let Some(city) = int_field(w, "cityId") {
            if ctx.scalar_int("SELECT id FROM City WHERE id=?", &[city.into()])?.is_none() {
                return Err(ApiError::param(format!("城市#{city}不存在")));
            }
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        // After the ownership check and the DELETE, in the same transaction: a refusal rolls it back,
        // and another store's venue never gets this far (it reads as not found).
        if let (Op::Del, Some(id)) = (op, id) {
            let used = ctx.scalar_int(
                "SELECT (SELECT COUNT(*) FROM Hall WHERE venueId=?1) + (SELECT COUNT(*) FROM Event WHERE venueId=?1)",
                &[id.into()],
            )?;
            if used.unwrap_or(0) > 0 {
                return Err(ApiError::with_msg(Code::Forbidden, "场馆已有影厅或演出, 不能删除"));
            }
        }
        Ok(())
    }
}

fn hall_decl() -> Decl {
    Decl::new("Hall")
        .required(&[&["venueId"], &["name"], &["seatMap"]])
        .readonly(&["storeId", "rows", "cols", "seatCnt"])
        .readonly_on_set(&["venueId"])
        .vcols(vec![VCol::new(&["v.name venueName"]).join("LEFT JOIN Venue v ON v.id=t0.venueId").default_on()])
        .q_fields("id!,name,venueName")
}

/// A hall of a venue, with its seat map.
pub struct Hall(Decl);

impl Object for Hall {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        store_rows(ctx, scope, PUBLIC).map(|_| ())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if w.op == Op::Add {
            let venue = int_field(w, "venueId").ok_or_else(|| ApiError::missing("venueId"))?;
            let row = parent_of_store(ctx, "SELECT storeId FROM Venue WHERE id=?", venue, "场馆")?;
            w.fields.insert("storeId".into(), json!(int_at(&row, 0)));
        }
        if w.fields.contains_key("seatMap") {
            let text = str_field(w, "seatMap").ok_or_else(|| ApiError::param("座位图不能为空"))?;
            let map = SeatMap::parse(&text)?;
            w.fields.insert("rows".into(), json!(map.rows));
            w.fields.insert("cols".into(), json!(map.cols));
            w.fields.insert("seatCnt".into(), json!(map.seats.len()));
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        if let (Op::Del, Some(id)) = (op, id) {
            if ctx.scalar_int("SELECT COUNT(*) FROM Showing WHERE hallId=?", &[id.into()])?.unwrap_or(0) > 0 {
                return Err(ApiError::with_msg(Code::Forbidden, "影厅已有场次, 不能删除"));
            }
        }
        Ok(())
    }
}
