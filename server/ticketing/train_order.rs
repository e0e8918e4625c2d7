//! A train order: `Ordr.add(runId, fromStationId, toStationId, seatClass, passengerIds, reqId)` (DESIGN.md
//! 火车订单). What differs from a show order is checked and taken here: the trip's segments, the
//! passengers, the choice of seats next to each other, and the conditional hold of each seat's segments.
//! Everything after (payment, expiry, cancel, refund, check-in) goes through the same order code
//! ([`super::hold`], [`super::payment`], [`super::ticket`]), which knows train tickets by their masks.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::hold::{self, Due};
use super::order::{money, parse_ids, plus_minutes};
use super::scope::{int_field, str_field};
use super::segments::{mask, passenger_price, pick_seats, FreeSeat};
use super::train::{price, run_row, stop_time, stops_of, CLASSES};
use crate::api::ctx::Ctx;
use crate::api::params::value_to_string;
use crate::crud::Write;
use crate::error::{ApiError, ApiResult, Code};
use crate::query::SqlValue;

/// How long a train order holds its seats before it is cancelled.
pub const HOLD_MINUTES: i64 = 30;
/// Passengers per order.
pub const MAX_PASSENGERS: usize = 5;

/// Checks a new train order and fills what the server decides; the seats are taken in [`after_add`].
pub fn validate(ctx: &mut Ctx, w: &mut Write, run: i64) -> ApiResult<()> {
    let uid = ctx.auth.uid().ok_or_else(|| ApiError::with_msg(Code::Forbidden, "车票由用户购买"))?;
    let (train, code, run_dt, on, store) = run_row(ctx, run)?;
    if !on {
        return Err(ApiError::with_msg(Code::Forbidden, format!("{code} {run_dt}停运或暂停售票")));
    }
    let class = str_field(w, "seatClass").ok_or_else(|| ApiError::param("请选择席别(seatClass)"))?;
    let class_name = CLASSES
        .iter()
        .find(|(c, _)| *c == class)
        .map(|(_, n)| *n)
        .ok_or_else(|| ApiError::param("席别只能是SW, ZY, ZE"))?;
    let (from, to) = (
        int_field(w, "fromStationId").ok_or_else(|| ApiError::param("请选择上车站(fromStationId)"))?,
        int_field(w, "toStationId").ok_or_else(|| ApiError::param("请选择下车站(toStationId)"))?,
    );
    let stops = stops_of(ctx.db, train)?;
    let a = stops.iter().find(|s| s.station == from);
    let b = stops.iter().find(|s| s.station == to);
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) if a.seq < b.seq => (a.clone(), b.clone()),
        _ => return Err(ApiError::with_msg(Code::Forbidden, format!("{code}不是从该站开往该站的车次"))),
    };
    let depart = stop_time(run_dt, &a, true).ok_or_else(|| ApiError::server("a stop without times"))?;
    let now = crate::db::now_str();
    let now_t =
        NaiveDateTime::parse_from_str(&now, "%Y-%m-%d %H:%M:%S").map_err(|e| ApiError::server(e.to_string()))?;
    if depart <= now_t {
        return Err(ApiError::with_msg(
            Code::Forbidden,
            format!("{code}已于{}从上车站发车", depart.format("%Y-%m-%d %H:%M")),
        ));
    }
    let ids = parse_ids(&w.keep("passengerIds").map(|v| value_to_string(&v)).unwrap_or_default(), "乘车人")?;
    if ids.is_empty() {
        return Err(ApiError::param("请选择乘车人(passengerIds)"));
    }
    if ids.len() > MAX_PASSENGERS {
        return Err(ApiError::with_msg(Code::Forbidden, format!("每单最多{MAX_PASSENGERS}位乘车人")));
    }
    let base = price(ctx.db, train, &a, &b, &class)?;
    let mut lines: Vec<Value> = Vec::new();
    let mut total = 0;
    for pid in &ids {
        let mut row = None;
        ctx.query(
            "SELECT name, type FROM Passenger WHERE id=? AND userId=?",
            &[SqlValue::Int(*pid), uid.into()],
            |r| {
                row = Some((
                    r.get::<Option<String>>(0)?.unwrap_or_default(),
                    r.get::<Option<String>>(1)?.unwrap_or_else(|| "AD".into()),
                ));
                Ok(())
            },
        )?;
        let (name, kind) =
            row.ok_or_else(|| ApiError::with_msg(Code::Forbidden, format!("乘车人#{pid}不是你的常用乘车人")))?;
        if ctx.scalar_int("SELECT id FROM Ticket WHERE liveKey=?", &[format!("{run}:{pid}").into()])?.is_some() {
            return Err(ApiError::with_msg(Code::Forbidden, format!("乘车人{name}已有{code} {run_dt}的车票")));
        }
        let cents = passenger_price(base, &kind);
        total += cents;
        lines.push(json!([pid, name, cents]));
    }
    let trip = mask(a.seq, b.seq);
    let f = &mut w.fields;
    f.insert("userId".into(), json!(uid));
    f.insert("storeId".into(), json!(store));
    f.insert("qty".into(), json!(ids.len()));
    f.insert("amount".into(), json!(money(total)));
    f.insert("seatClass".into(), json!(class));
    f.insert("departTm".into(), json!(crate::db::datetime_text(&depart)));
    f.insert("expireTm".into(), json!(plus_minutes(&now, HOLD_MINUTES)));
    f.insert("dscr".into(), json!(format!("{code} {}", run_dt)));
    if let Some(req) = str_field(w, "reqId") {
        w.fields.insert("reqKey".into(), json!(format!("{uid}:{req}")));
    }
    w.kept.insert("passengers".into(), Value::Array(lines));
    w.kept.insert("trip".into(), json!([a.seq, b.seq, trip]));
    w.kept.insert("className".into(), json!(class_name));
    Ok(())
}

/// Chooses and holds the seats of a new train order and writes one ticket per passenger.
pub fn after_add(ctx: &mut Ctx, order: i64, w: &Write) -> ApiResult<()> {
    let run = int_field(w, "runId").unwrap_or(0);
    let class = str_field(w, "seatClass").unwrap_or_default();
    let passengers = w.kept.get("passengers").and_then(Value::as_array).cloned().unwrap_or_default();
    let trip = w.kept.get("trip").cloned().unwrap_or(Value::Null);
    let (s, e, m) = (trip[0].as_i64().unwrap_or(0), trip[1].as_i64().unwrap_or(0), trip[2].as_i64().unwrap_or(0));
    let class_name = w.kept.get("className").and_then(Value::as_str).unwrap_or("").to_string();
    let now = crate::db::now_str();
    let conn = ctx.db;
    // Expired holds of this run give their segments back first: they never block a buyer.
    hold::expire_due(conn, Due::Run(run), &now)?;
    let n = passengers.len();
    let mut held: Vec<(i64, String)> = Vec::new();
    // Candidates are read, then each is held by a conditional update; one taken meanwhile (another
    // process) is skipped and the next candidate tried, so the hold never depends on the read.
    for _round in 0..3 {
        if held.len() == n {
            break;
        }
        let free: Vec<(FreeSeat, String)> = conn
            .prepare_cached(
                "SELECT carriageId, seq, id, label FROM RunSeat WHERE runId=?1 AND seatClass=?2 AND ((sold | held) & ?3) = 0 \
                 ORDER BY carriageNo, seq LIMIT 100",
            )?
            .query_map(crate::params![run, class, m], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get::<Option<String>>(3)?.unwrap_or_default())))?
            .collect::<Result<_, _>>()?;
        let free: Vec<(FreeSeat, String)> =
            free.into_iter().filter(|(f, _)| !held.iter().any(|(id, _)| *id == f.2)).collect();
        let want = n - held.len();
        let seats: Vec<FreeSeat> = free.iter().map(|(f, _)| *f).collect();
        let picked = pick_seats(&seats, want);
        if picked.is_empty() {
            break;
        }
        let mut st =
            conn.prepare_cached("UPDATE RunSeat SET held = held | ?1 WHERE id=?2 AND ((sold | held) & ?1) = 0")?;
        for id in picked {
            if st.execute(crate::params![m, id])? == 1 {
                let label = free.iter().find(|(f, _)| f.2 == id).map(|(_, l)| l.clone()).unwrap_or_default();
                held.push((id, label));
            }
        }
    }
    if held.len() < n {
        return Err(ApiError::with_msg(Code::Forbidden, format!("{class_name}余票不足")));
    }
    let mut ins = conn.prepare_cached(
        "INSERT INTO Ticket (orderId, runId, runSeatId, fromSeq, toSeq, mask, passengerId, liveKey, label, price, status, createTm) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'HD', ?)",
    )?;
    for (p, (seat, label)) in passengers.iter().zip(&held) {
        let pid = p[0].as_i64().unwrap_or(0);
        let cents = p[2].as_i64().unwrap_or(0);
        ins.execute(crate::params![
            order,
            run,
            seat,
            s,
            e,
            m,
            pid,
            format!("{run}:{pid}"),
            label,
            cents as f64 / 100.0,
            now
        ])?;
    }
    Ok(())
}
