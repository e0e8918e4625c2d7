//! `Ordr` for tickets: an order of one showing, priced by the server, holding its seats or places until
//! `expireTm` (DESIGN.md 票务订单; `ticketing-api.md` Orders). The reference product's `Ordr` serves plain
//! orders as before; this object wraps it and takes over what a ticket order changes: `Ordr.add` with a
//! `showingId`, `Ordr.cancel`, `Ordr.hide`, `Ordr.pay` and `Ordr.refund` (the last two in
//! [`super::payment`]), the store scope of staff, and the buyer's hidden orders.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use super::hold::{self, Actor, SeatPick};
use super::scope::{int_field, str_field};
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::{value_to_string, Params};
use crate::crud::{Decl, Object, Op, Registry, Role, Scope, SubObj, VCol, Write};
use crate::error::{ApiError, ApiResult, Code};
use crate::objects::account::my_store;
use crate::objects::ordr::Ordr as PlainOrdr;
use crate::query::SqlValue;

/// Serves Ordr to users, staff and the admin (replacing the reference product's registration).
pub fn register(reg: &mut Registry) {
    use Role::*;
    reg.register("Ordr", &[User], Arc::new(TicketOrdr::new(PlainOrdr::user(), User)));
    reg.register("Ordr", &[Emp], Arc::new(TicketOrdr::new(PlainOrdr::emp(), Emp)));
    reg.register("Ordr", &[Admin], Arc::new(TicketOrdr::new(PlainOrdr::admin(), Admin)));
}

/// Fields of a ticket order only the server writes.
/// What buyers and staff may not write on a ticket order: the plain order's readonly fields and the
/// ones only the server sets.
const TICKET_READONLY: &[&str] =
    &["userId", "createTm", "storeId", "expireTm", "liveKey", "reqKey", "hidden", "departTm"];
/// Fields fixed once a ticket order exists (a plain order's staff may still change its amount).
const FIXED: [&str; 12] = [
    "showingId",
    "qty",
    "amount",
    "contactName",
    "contactPhone",
    "reqId",
    "userId",
    "runId",
    "fromStationId",
    "toStationId",
    "seatClass",
    "departTm",
];

/// The order object for one role.
pub struct TicketOrdr {
    plain: PlainOrdr,
    decl: Decl,
    role: Role,
}

impl TicketOrdr {
    fn new(plain: PlainOrdr, role: Role) -> TicketOrdr {
        let mut decl = plain.decl().clone();
        decl.vcols.push(
            VCol::new(&["sh.startTm showTm", "ev.name eventName", "hl.name hallName"])
                .join("LEFT JOIN Showing sh ON sh.id=t0.showingId LEFT JOIN Event ev ON ev.id=sh.eventId LEFT JOIN Hall hl ON hl.id=sh.hallId")
                .default_on(),
        );
        let ticket_res = if role == Role::Emp {
            "id,seatId,classId,label,price,status,statusName,checkinTm"
        } else {
            "id,seatId,classId,label,price,status,statusName,code,checkinTm"
        };
        decl.subobjs.push(SubObj::new("tickets", "Ticket", "orderId").res(ticket_res).orderby("id").in_get());
        if role != Role::Admin {
            debug_assert!(decl.readonly.iter().all(|f| TICKET_READONLY.contains(f)));
            decl.hidden = &["liveKey", "reqKey"];
            decl.readonly = TICKET_READONLY;
        }
        TicketOrdr { plain, decl, role }
    }
}

/// The showing an order is for, as `Ordr.add` checks it.
struct ShowingRow {
    start: String,
    store: i64,
    event: i64,
    hall: Option<i64>,
    sale_start: String,
    sale_end: String,
    hold_minutes: i64,
    event_on: bool,
    store_ok: bool,
    max_per_order: i64,
}

fn showing_row(ctx: &mut Ctx, id: i64) -> ApiResult<ShowingRow> {
    let mut row = None;
    ctx.query(
        "SELECT s.storeId, s.eventId, s.hallId, s.saleStartTm, s.saleEndTm, s.holdMinutes, e.status, st.status, e.maxPerOrder, s.startTm \
         FROM Showing s JOIN Event e ON e.id=s.eventId JOIN Store st ON st.id=s.storeId WHERE s.id=?",
        &[id.into()],
        |r| {
            row = Some(ShowingRow {
                store: r.get(0)?,
                event: r.get(1)?,
                hall: r.get(2)?,
                sale_start: r.get::<Option<String>>(3)?.unwrap_or_default(),
                sale_end: r.get::<Option<String>>(4)?.unwrap_or_default(),
                hold_minutes: r.get::<Option<i64>>(5)?.unwrap_or(15),
                event_on: r.get::<Option<String>>(6)?.as_deref() == Some("ON"),
                store_ok: r.get::<Option<String>>(7)?.as_deref() == Some("OK"),
                max_per_order: r.get::<Option<i64>>(8)?.unwrap_or(5),
                start: r.get::<Option<String>>(9)?.unwrap_or_default(),
            });
            Ok(())
        },
    )?;
    row.ok_or_else(|| ApiError::param(format!("场次#{id}不存在")))
}

/// `seatIds=12,13` as distinct ids.
pub fn parse_ids(s: &str, what: &str) -> ApiResult<Vec<i64>> {
    let mut out: Vec<i64> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = part.parse::<i64>().map_err(|_| ApiError::param(format!("{what}`{part}`不是编号")))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn cents(price: f64) -> i64 {
    (price * 100.0).round() as i64
}

pub fn money(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

pub fn plus_minutes(now: &str, m: i64) -> String {
    NaiveDateTime::parse_from_str(now, "%Y-%m-%d %H:%M:%S")
        .map(|t| crate::db::datetime_text(&(t + Duration::minutes(m))))
        .unwrap_or_else(|_| now.to_string())
}

impl TicketOrdr {
    /// Checks a new ticket order and fills what the server decides: price, hold time, keys.
    fn validate_add(&self, ctx: &mut Ctx, w: &mut Write, showing: i64) -> ApiResult<()> {
        let uid = ctx.auth.uid().ok_or_else(|| ApiError::with_msg(Code::Forbidden, "票务订单由用户下单"))?;
        let s = showing_row(ctx, showing)?;
        if !s.event_on || !s.store_ok {
            return Err(ApiError::with_msg(Code::Forbidden, "该演出目前不在售"));
        }
        let now = crate::db::now_str();
        if now < s.sale_start {
            return Err(ApiError::with_msg(Code::Forbidden, format!("未到开售时间, {}开售", s.sale_start)));
        }
        if now >= s.sale_end {
            return Err(ApiError::with_msg(Code::Forbidden, "该场次已停止售票"));
        }
        let name = str_field(w, "contactName").ok_or_else(|| ApiError::param("请填写联系人姓名(contactName)"))?;
        let phone = str_field(w, "contactPhone").unwrap_or_default();
        if phone.len() != 11 || !phone.starts_with('1') || !phone.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::param("联系人手机号(contactPhone)须是11位数字"));
        }
        let _ = name;
        let seat_ids = w.keep("seatIds").map(|v| value_to_string(&v)).unwrap_or_default();
        let picks: Vec<SeatPick> = match s.hall {
            Some(_) => {
                let ids = parse_ids(&seat_ids, "座位")?;
                if ids.is_empty() {
                    return Err(ApiError::param("请选择座位(seatIds)"));
                }
                self.check_count(ids.len() as i64, s.max_per_order)?;
                seat_picks(ctx, showing, &ids)?
            }
            None => {
                let class = int_field(w, "classId").ok_or_else(|| ApiError::param("请选择票价等级(classId)"))?;
                let qty = int_field(w, "qty").ok_or_else(|| ApiError::param("请填写张数(qty)"))?;
                self.check_count(qty, s.max_per_order)?;
                let mut row = None;
                ctx.query(
                    "SELECT name, price FROM PriceClass WHERE id=? AND showingId=? AND (code IS NULL OR code='')",
                    &[class.into(), showing.into()],
                    |r| {
                        row = Some((
                            r.get::<Option<String>>(0)?.unwrap_or_default(),
                            r.get::<Option<f64>>(1)?.unwrap_or(0.0),
                        ));
                        Ok(())
                    },
                )?;
                let (name, price) =
                    row.ok_or_else(|| ApiError::with_msg(Code::Forbidden, format!("票价等级#{class}不属于该场次")))?;
                (0..qty).map(|_| SeatPick { id: 0, label: name.clone(), class, cents: cents(price) }).collect()
            }
        };
        w.keep("classId");
        let live = format!("{uid}:{showing}");
        if let Some(other) = ctx.scalar_int("SELECT id FROM Ordr WHERE liveKey=?", &[live.clone().into()])? {
            return Err(ApiError::with_msg(Code::Forbidden, format!("你已有该场次的订单#{other}, 请先支付或取消")));
        }
        let total: i64 = picks.iter().map(|p| p.cents).sum();
        let f = &mut w.fields;
        f.insert("userId".into(), json!(uid));
        f.insert("storeId".into(), json!(s.store));
        f.insert("qty".into(), json!(picks.len()));
        f.insert("amount".into(), json!(money(total)));
        f.insert("expireTm".into(), json!(plus_minutes(&now, s.hold_minutes)));
        f.insert("departTm".into(), json!(s.start));
        f.insert("liveKey".into(), json!(live));
        if let Some(req) = str_field(w, "reqId") {
            w.fields.insert("reqKey".into(), json!(format!("{uid}:{req}")));
        }
        let picks: Vec<Value> = picks.iter().map(|p| json!([p.id, p.label, p.class, p.cents])).collect();
        w.kept.insert("picks".into(), Value::Array(picks));
        w.kept.insert("eventId".into(), json!(s.event));
        w.kept.insert("seated".into(), json!(s.hall.is_some()));
        Ok(())
    }

    fn check_count(&self, n: i64, max: i64) -> ApiResult<()> {
        if n < 1 {
            return Err(ApiError::param("张数须至少1张"));
        }
        if n > max {
            return Err(ApiError::with_msg(Code::Forbidden, format!("每单限购{max}张")));
        }
        Ok(())
    }

    /// Takes the inventory of a new ticket order and writes its tickets.
    fn after_add(&self, ctx: &mut Ctx, id: i64, w: &Write) -> ApiResult<()> {
        let now = crate::db::now_str();
        let showing = int_field(w, "showingId").unwrap_or(0);
        let expire = str_field(w, "expireTm").unwrap_or_default();
        let event = w.kept.get("eventId").and_then(Value::as_i64).unwrap_or(0);
        let seated = w.kept.get("seated").and_then(Value::as_bool).unwrap_or(false);
        let picks: Vec<SeatPick> = w
            .kept
            .get("picks")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|p| SeatPick {
                        id: p[0].as_i64().unwrap_or(0),
                        label: p[1].as_str().unwrap_or_default().to_string(),
                        class: p[2].as_i64().unwrap_or(0),
                        cents: p[3].as_i64().unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let conn = ctx.db;
        if seated {
            hold::hold_seats(conn, id, &picks, &expire, &now)?;
        } else if let Some(first) = picks.first() {
            // Expired holds of this showing give their places back first: an expired hold never blocks a buyer.
            hold::expire_due(conn, hold::Due::Showing(showing), &now)?;
            hold::hold_places(conn, first.class, picks.len() as i64, &first.label)?;
        }
        let mut st = conn.prepare_cached(
            "INSERT INTO Ticket (orderId, showingId, eventId, classId, seatId, label, price, status, createTm) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'HD', ?)",
        )?;
        for p in &picks {
            let seat = if seated { Some(p.id) } else { None };
            st.execute(crate::params![id, showing, event, p.class, seat, p.label, p.cents as f64 / 100.0, now])?;
        }
        Ok(())
    }

    /// The order `id` if the caller may act on it: (status, showingId, userId).
    fn own_order(&self, ctx: &mut Ctx, id: i64) -> ApiResult<(String, Option<i64>, Option<i64>)> {
        let mut row = None;
        ctx.query("SELECT status, showingId, userId, storeId FROM Ordr WHERE id=?", &[id.into()], |r| {
            row = Some((
                r.get::<Option<String>>(0)?.unwrap_or_default(),
                r.get::<Option<i64>>(1)?,
                r.get::<Option<i64>>(2)?,
                r.get::<Option<i64>>(3)?,
            ));
            Ok(())
        })?;
        let missing = || ApiError::param(format!("订单#{id}不存在"));
        let (status, showing, user, store) = row.ok_or_else(missing)?;
        let mine = match self.role {
            Role::User => user.is_some() && user == ctx.auth.uid(),
            Role::Emp => store.is_none() || store == Some(my_store(ctx)?),
            Role::Admin => true,
            Role::Guest => false,
        };
        if !mine {
            return Err(missing());
        }
        Ok((status, showing, user))
    }

    fn actor(ctx: &Ctx) -> Actor {
        match ctx.auth.emp_id() {
            Some(e) => Actor::Emp(e),
            None => Actor::User,
        }
    }

    /// `Ordr.cancel(id)`: CR → CA by its buyer or the store's staff; releases the hold.
    fn cancel(&self, ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
        let id = p.must_int("id")?;
        let (status, _, _) = self.own_order(ctx, id)?;
        let now = crate::db::now_str();
        let reason = p.str("reason");
        if !hold::cancel(ctx.db, id, Self::actor(ctx), reason.as_deref(), &now)? {
            let why = match status.as_str() {
                "PA" => "订单已付款, 不能取消; 可以申请退款",
                "CA" => "订单已经取消",
                _ => "订单已完成或已退款, 不能取消",
            };
            return Err(ApiError::with_msg(Code::Forbidden, why));
        }
        Ok(json!("OK"))
    }

    /// `Ordr.hide(id)`: the buyer's "delete from my list"; only for finished orders.
    fn hide(&self, ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
        if self.role != Role::User {
            return Err(ApiError::with_msg(Code::Forbidden, "只有下单的用户可以删除订单"));
        }
        let id = p.must_int("id")?;
        let (status, _, _) = self.own_order(ctx, id)?;
        if !matches!(status.as_str(), "CA" | "RF" | "RE") {
            return Err(ApiError::with_msg(Code::Forbidden, "只能删除已取消、已退款或已完成的订单"));
        }
        ctx.exec("UPDATE Ordr SET hidden=1 WHERE id=?", &[SqlValue::Int(id)])?;
        Ok(json!("OK"))
    }
}

/// The seats asked for, with their labels and prices; a seat of another showing (or none) is refused.
fn seat_picks(ctx: &mut Ctx, showing: i64, ids: &[i64]) -> ApiResult<Vec<SeatPick>> {
    let marks = vec!["?"; ids.len()].join(",");
    let mut params: Vec<SqlValue> = vec![showing.into()];
    params.extend(ids.iter().map(|i| SqlValue::Int(*i)));
    let mut found: Vec<SeatPick> = Vec::new();
    ctx.query(
        &format!(
            "SELECT s.id, s.label, s.classId, pc.price FROM Seat s JOIN PriceClass pc ON pc.id=s.classId \
             WHERE s.showingId=? AND s.id IN ({marks})"
        ),
        &params,
        |r| {
            found.push(SeatPick {
                id: r.get(0)?,
                label: r.get::<Option<String>>(1)?.unwrap_or_default(),
                class: r.get(2)?,
                cents: cents(r.get::<Option<f64>>(3)?.unwrap_or(0.0)),
            });
            Ok(())
        },
    )?;
    if let Some(bad) = ids.iter().find(|i| !found.iter().any(|f| f.id == **i)) {
        return Err(ApiError::with_msg(Code::Forbidden, format!("座位#{bad}不属于该场次")));
    }
    // In the order asked, so the refusal names the first seat that is gone.
    Ok(ids.iter().filter_map(|i| found.iter().find(|f| f.id == *i).cloned()).collect())
}

impl Object for TicketOrdr {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn actions(&self) -> &'static [&'static str] {
        &["cancel", "hide", "pay", "refund"]
    }

    fn on_init(&self, ctx: &mut Ctx, op: Op) -> ApiResult<()> {
        self.plain.on_init(ctx, op)
    }

    fn on_query(&self, ctx: &mut Ctx, p: &Params, scope: &mut Scope) -> ApiResult<()> {
        self.plain.on_query(ctx, p, scope)?;
        match self.role {
            // A buyer's deleted orders leave the list (the rows stay).
            Role::User if !scope.guards_write => scope.sql("COALESCE(t0.hidden,0)=0", Vec::new()),
            // Staff see their store's ticket orders and the plain orders of the reference product.
            Role::Emp => {
                let s = my_store(ctx)?;
                scope.sql("(t0.storeId=? OR t0.storeId IS NULL)", vec![s.into()]);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_validate_id(&self, ctx: &mut Ctx, op: Op, id: &mut Option<i64>) -> ApiResult<()> {
        self.plain.on_validate_id(ctx, op, id)
    }

    fn replayed_add(&self, ctx: &mut Ctx, p: &Params) -> ApiResult<Option<i64>> {
        match (ctx.auth.uid(), p.str("reqId").filter(|r| !r.is_empty()), p.get("showingId").or(p.get("runId"))) {
            (Some(uid), Some(req), Some(_)) => {
                ctx.scalar_int("SELECT id FROM Ordr WHERE reqKey=?", &[format!("{uid}:{req}").into()])
            }
            _ => Ok(None),
        }
    }

    fn on_validate(&self, ctx: &mut Ctx, p: &Params, w: &mut Write) -> ApiResult<()> {
        if let (Op::Add, None, Some(run)) = (w.op, int_field(w, "showingId"), int_field(w, "runId")) {
            w.fields.remove("amount");
            super::train_order::validate(ctx, w, run)?;
            w.fields.insert("status".into(), json!("CR"));
            w.fields.insert("createTm".into(), json!(crate::db::now_str()));
            return Ok(());
        }
        match (w.op, int_field(w, "showingId")) {
            (Op::Add, Some(showing)) => {
                // A ticket order is priced by the server: a client amount is ignored.
                w.fields.remove("amount");
                self.validate_add(ctx, w, showing)?;
                w.fields.insert("status".into(), json!("CR"));
                w.fields.insert("createTm".into(), json!(crate::db::now_str()));
                Ok(())
            }
            (Op::Set, _) => {
                let id = w.id.unwrap_or(0);
                let ticket =
                    ctx.scalar_int("SELECT COALESCE(showingId, runId) FROM Ordr WHERE id=?", &[id.into()])?.is_some();
                if ticket {
                    if let Some(f) = FIXED.iter().find(|f| w.fields.contains_key(**f)) {
                        return Err(ApiError::with_msg(Code::Forbidden, format!("字段`{f}`不可写"))
                            .internal(format!("a ticket order's `{f}` is fixed")));
                    }
                    // Cancelling and refunding move inventory: they have their own calls. Completing stays.
                    let to = w.fields.get("status").map(value_to_string);
                    if to.as_deref().is_some_and(|t| t != "RE") {
                        return Err(ApiError::with_msg(
                            Code::Forbidden,
                            "票务订单请用取消(Ordr.cancel)或退款(Ordr.refund)",
                        ));
                    }
                }
                self.plain.on_validate(ctx, p, w)
            }
            _ => self.plain.on_validate(ctx, p, w),
        }
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, w: Option<&Write>) -> ApiResult<()> {
        if let (Op::Add, Some(id), Some(w)) = (op, id, w) {
            if w.kept.contains_key("picks") {
                self.after_add(ctx, id, w)?;
            }
            if w.kept.contains_key("passengers") {
                super::train_order::after_add(ctx, id, w)?;
            }
        }
        self.plain.on_after(ctx, op, id, w)
    }

    fn custom(&self, ctx: &mut Ctx, ac: &str, p: &Params) -> Option<ApiResult<Reply>> {
        let r = match ac {
            "cancel" => self.cancel(ctx, p),
            "hide" => self.hide(ctx, p),
            "pay" if self.role != Role::User => Err(ApiError::with_msg(Code::Forbidden, "只有下单的用户可以付款")),
            "pay" => {
                self.own_order(ctx, p.int("id").ok().flatten().unwrap_or(0)).and_then(|_| super::payment::pay(ctx, p))
            }
            "refund" => self
                .own_order(ctx, p.int("id").ok().flatten().unwrap_or(0))
                .and_then(|_| super::payment::refund(ctx, p, Self::actor(ctx))),
            _ => return None,
        };
        Some(r.map(Reply::Data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_ids_parse_distinct_and_refuse_what_is_not_a_number() {
        assert_eq!(parse_ids("12, 13,12,,14", "座位").unwrap(), vec![12, 13, 14]);
        assert_eq!(parse_ids("12,x", "座位").unwrap_err().msg, "座位`x`不是编号");
        assert!(parse_ids("", "座位").unwrap().is_empty());
    }

    #[test]
    fn prices_add_up_in_cents() {
        assert_eq!(money(cents(80.5) + cents(0.1) + cents(0.2)), "80.80");
        assert_eq!(plus_minutes("2026-12-01 23:50:00", 15), "2026-12-02 00:05:00");
    }
}
