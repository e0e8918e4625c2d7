//! `Ticket`: the tickets of orders, their QR codes and check-in at the gate (DESIGN.md 票).
//!
//! A buyer reads its own tickets (with codes); a store's staff read the store's tickets (without codes:
//! a code is what gets a person in) and check them in; the admin reads everything. Check-in is one
//! conditional update (`OK → US`), so two gates scanning the same ticket at once let it in once.

use std::sync::Arc;

use serde_json::{json, Value};

use super::hold::{self, Actor};
use crate::api::ctx::{Ctx, Raw, Reply};
use crate::api::params::Params;
use crate::crud::{read, Decl, Object, Op, Registry, Role, Scope, VCol};
use crate::error::{ApiError, ApiResult, Code};
use crate::objects::account::my_store;

/// Ticket states and their labels.
pub const STATUS: [(&str, &str); 5] =
    [("HD", "待付款"), ("OK", "有效"), ("US", "已检票"), ("RF", "已退票"), ("CA", "已取消")];

/// Serves Ticket to buyers, staff and the admin.
pub fn register(reg: &mut Registry) {
    use Role::*;
    let decl = || {
        Decl::new("Ticket")
            .allow(&[Op::Get, Op::Query])
            .vcols(vec![
                super::store::label_vcol("status", "statusName", &STATUS).default_on(),
                VCol::new(&["sh.startTm startTm", "ev.name eventName", "vn.name venueName", "hl.name hallName"])
                    .join(
                        "LEFT JOIN Showing sh ON sh.id=t0.showingId LEFT JOIN Event ev ON ev.id=t0.eventId \
                         LEFT JOIN Venue vn ON vn.id=sh.venueId LEFT JOIN Hall hl ON hl.id=sh.hallId",
                    )
                    .default_on(),
                // Box office dimensions (reports group tickets by these): the store, the city (the event's,
                // or the rail store's), what was sold (event, or train and date).
                VCol::new(&["st2.name storeName", "COALESCE(ce2.name, cs2.name) cityName", "COALESCE(ev2.name, o2.dscr) itemName"]).join(
                    "LEFT JOIN Ordr o2 ON o2.id=t0.orderId LEFT JOIN Store st2 ON st2.id=o2.storeId LEFT JOIN City cs2 ON cs2.id=st2.cityId \
                     LEFT JOIN Event ev2 ON ev2.id=t0.eventId LEFT JOIN City ce2 ON ce2.id=ev2.cityId",
                ),
            ])
            .tm_col("paidTm")
            .hidden(&["liveKey", "mask"])
            .default_sort("id DESC")
    };
    reg.register("Ticket", &[User, Admin], Arc::new(Ticket(decl())));
    reg.register("Ticket", &[Emp], Arc::new(Ticket(decl().hidden(&["code", "liveKey", "mask"]))));
}

/// A ticket for one kind of caller.
pub struct Ticket(Decl);

/// A ticket found by its code.
struct Found {
    id: i64,
    status: String,
    order: i64,
    checkin: Option<String>,
}

/// The ticket of a code if the caller may see it (its owner, its store's staff, the admin).
fn by_code(ctx: &mut Ctx, code: &str) -> ApiResult<Option<Found>> {
    let mut row = None;
    ctx.query(
        "SELECT k.id, k.status, k.orderId, k.checkinTm, o.storeId, o.userId FROM Ticket k JOIN Ordr o ON o.id=k.orderId WHERE k.code=?",
        &[code.into()],
        |r| {
            row = Some((
                r.get::<i64>(0)?,
                r.get::<Option<String>>(1)?.unwrap_or_default(),
                r.get::<i64>(2)?,
                r.get::<Option<String>>(3)?,
                r.get::<Option<i64>>(4)?.unwrap_or(0),
                r.get::<Option<i64>>(5)?,
            ));
            Ok(())
        },
    )?;
    let Some((id, status, order, checkin, store, user)) = row else { return Ok(None) };
    let may = match ctx.auth.role() {
        Role::User => user.is_some() && user == ctx.auth.uid(),
        Role::Emp => store == my_store(ctx)?,
        Role::Admin => true,
        Role::Guest => false,
    };
    Ok(may.then_some(Found { id, status, order, checkin }))
}

/// The PNG of a QR code of `text` (see [`crate::export::qr`]).
pub fn qr_png(text: &str) -> ApiResult<Vec<u8>> {
    crate::export::qr::png(text)
}

impl Ticket {
    /// `Ticket.qr(code)`: the code as a QR PNG, for its owner or the store's staff.
    fn qr(&self, ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
        let code = p.must_str("code")?;
        if by_code(ctx, &code)?.is_none() {
            return Err(ApiError::param("票码不存在"));
        }
        Ok(Reply::Raw(Raw {
            status: 200,
            content_type: "image/png".into(),
            headers: vec![("Cache-Control".into(), "private, max-age=86400".into())],
            body: qr_png(&code)?,
            log_res: Some("[qr png]".into()),
        }))
    }

    /// `Ticket.checkin(code)`: lets the ticket in once; the order is completed when all its tickets are in.
    fn checkin(&self, ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
        let emp = ctx.auth.emp_id().ok_or_else(|| ApiError::with_msg(Code::Forbidden, "检票需要商户员工登录"))?;
        let code = p.must_str("code")?.trim().to_uppercase();
        let found = by_code(ctx, &code)?;
        let Some(Found { id, status, order, checkin }) = found else {
            // Another store's ticket reads like none: the gate learns nothing about other stores.
            return Err(ApiError::with_msg(Code::Forbidden, "票码无效或不是本商户的票"));
        };
        let now = crate::db::now_str();
        let changed = ctx
            .db
            .prepare_cached("UPDATE Ticket SET status='US', checkinTm=?, checkinEmpId=? WHERE id=? AND status='OK'")?
            .execute(crate::params![now, emp, id])?;
        if changed != 1 {
            let msg = match (status.as_str(), checkin) {
                ("US", Some(t)) => format!("该票已于{t}检票"),
                ("US", None) => "该票已检票".to_string(),
                ("RF", _) => "该票已退票".to_string(),
                ("CA", _) => "该票已取消".to_string(),
                _ => "该票尚未付款, 不能入场".to_string(),
            };
            return Err(ApiError::with_msg(Code::Forbidden, msg));
        }
        let left: i64 =
            ctx.db.query_row("SELECT COUNT(*) FROM Ticket WHERE orderId=? AND status='OK'", [order], |r| r.get(0))?;
        if left == 0 && hold::transition(ctx.db, order, "PA", "RE")? {
            hold::log(ctx.db, order, "RE", Actor::Emp(emp), Some("全部票已检票"), &now)?;
        }
        let table = crate::crud::registry::table_of(ctx, self)?;
        let req = crate::crud::select::ReadReq::default();
        let v: Value = read::get_with(ctx, self, table, id, &req, p)?;
        Ok(Reply::Data(json!(v)))
    }
}

impl Object for Ticket {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn actions(&self) -> &'static [&'static str] {
        &["qr", "checkin"]
    }

    fn read_actions(&self) -> &'static [&'static str] {
        &["qr"]
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        match ctx.auth.role() {
            Role::User => {
                let uid = ctx.auth.require_user()?;
                scope.sql("EXISTS (SELECT 1 FROM Ordr o WHERE o.id=t0.orderId AND o.userId=?)", vec![uid.into()]);
            }
            Role::Emp => {
                let s = my_store(ctx)?;
                scope.sql("EXISTS (SELECT 1 FROM Ordr o WHERE o.id=t0.orderId AND o.storeId=?)", vec![s.into()]);
            }
            _ => {}
        }
        Ok(())
    }

    fn custom(&self, ctx: &mut Ctx, ac: &str, p: &Params) -> Option<ApiResult<Reply>> {
        match ac {
            "qr" => Some(self.qr(ctx, p)),
            "checkin" => Some(self.checkin(ctx, p)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_qr_is_a_png_that_decodes_to_the_code() {
        let png = qr_png("0123456789ABCDEFGHJKMNPQRS").unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        // Version 2 (25 modules) at M for 26 characters, 8 px a module, 4 modules of quiet zone each side.
        assert_eq!(img.width(), (25 + 8) * 8);
        assert_eq!(img.get_pixel(0, 0).0[0], 255, "the quiet zone is white");
        assert_eq!(img.get_pixel(4 * 8, 4 * 8).0[0], 0, "the finder pattern's corner is black");
    }
}
