//! Trains (DESIGN.md 火车): `Station`, `Train` with its `stops` and `carriages`, `TrainRun` and its seat
//! inventory `RunSeat`, `Fare`, and `Train.search` between stations or cities. A seat is sold per segment
//! with bitmasks ([`super::segments`]); what is left per class is counted from the masks at query time.

use std::sync::Arc;

use crate::db::conn::Conn;
use crate::params;
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{json, Value};

use super::scope::{int_field, own_store_on_add, parent_of_store, store_rows, str_field, Viewer};
use super::segments::{fare_by_km, mask, MAX_STOPS};
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::crud::{Decl, Object, Op, Plain, Registry, Role, Scope, SubObj, VCol, Write};
use crate::error::{ApiError, ApiResult, Code};
use crate::query::SqlValue;

/// The stations shipped with the server (`design/stations/`).
pub const SHIPPED_STATIONS: &str = include_str!("../../design/stations/stations.csv");

/// Seat classes and their labels.
pub const CLASSES: [(&str, &str); 3] = [("SW", "商务座"), ("ZY", "一等座"), ("ZE", "二等座")];

/// Serves Station, Train, TrainStop, Carriage, TrainRun, RunSeat and Fare.
pub fn register(reg: &mut Registry) {
    use Role::*;
    let station = Decl::new("Station")
        .allow(&[Op::Get, Op::Query])
        .vcols(vec![VCol::new(&["c.name cityName"]).join("LEFT JOIN City c ON c.id=t0.cityId").default_on()])
        .q_fields("code!,name,cityName");
    reg.register("Station", &[Guest, User, Emp], Arc::new(Plain(station)));
    const OPS: &[Op] = &super::venue::STAFF_OPS;
    let train = Decl::new("Train")
        .allow(OPS)
        .required(&[&["code"]])
        .readonly_on_set(&["storeId"])
        .subobjs(vec![
            SubObj::new("stops", "TrainStop", "trainId").orderby("seq").in_get(),
            SubObj::new("carriages", "Carriage", "trainId").orderby("no").in_get(),
        ])
        .q_fields("code*,name");
    reg.register("Train", &[Guest, User], Arc::new(Train(Decl::new("Train").allow(&[]))));
    reg.register("Train", &[Emp], Arc::new(Train(train.clone().readonly(&["storeId", "createTm"]))));
    reg.register("Train", &[Admin], Arc::new(Train(train)));
    let child = |t: &'static str| Decl::new(t).allow(OPS).readonly_on_set(&["trainId"]);
    reg.register("TrainStop", &[Emp, Admin], Arc::new(TrainChild(child("TrainStop").default_sort("trainId,seq"))));
    reg.register("Carriage", &[Emp, Admin], Arc::new(TrainChild(child("Carriage").default_sort("trainId,no"))));
    reg.register("Fare", &[Emp, Admin], Arc::new(TrainChild(child("Fare"))));
    let run = Decl::new("TrainRun")
        .allow(&[Op::Add, Op::Get, Op::Query, Op::Set, Op::Del])
        .required(&[&["trainId"], &["dt"]])
        .readonly_on_set(&["trainId", "dt"])
        .vcols(vec![VCol::new(&["tr.code trainCode"]).join("LEFT JOIN Train tr ON tr.id=t0.trainId").default_on()])
        .default_sort("dt,id");
    reg.register("TrainRun", &[Emp, Admin], Arc::new(TrainChild(run)));
    let seat = Decl::new("RunSeat").allow(&[Op::Get, Op::Query]).default_sort("runId,carriageNo,seq");
    reg.register("RunSeat", &[Emp, Admin], Arc::new(TrainChild(seat)));
}

/// Loads the shipped stations when `Station` is empty (after the cities).
pub fn load_stations_if_empty(conn: Conn) -> ApiResult<()> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM Station", [], |r| r.get(0))?;
    if n > 0 {
        return Ok(());
    }
    let tx = conn.begin()?;
    let mut added = 0;
    {
        let mut ins =
            tx.prepare("INSERT INTO Station (code, name, cityId) VALUES (?, ?, (SELECT id FROM City WHERE code=?))")?;
        for line in SHIPPED_STATIONS.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            if let [code, name, city] = f[..] {
                ins.execute([code, name, city])?;
                added += 1;
            }
        }
    }
    tx.commit()?;
    log::info!("imported {added} stations from the shipped list");
    Ok(())
}

/// A train for one kind of caller (guests only search).
pub struct Train(Decl);

impl Object for Train {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn actions(&self) -> &'static [&'static str] {
        &["search", "addRuns"]
    }

    fn read_actions(&self) -> &'static [&'static str] {
        &["search"]
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        store_rows(ctx, scope, "0=1").map(|_| ())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if w.op == Op::Add {
            let store = own_store_on_add(ctx, w)?;
            let kind = ctx.scalar("SELECT kind FROM Store WHERE id=?", &[store.into()])?;
            if !matches!(kind, Some(crate::query::SqlValue::Text(ref k)) if k == "rail") {
                return Err(ApiError::param("只有铁路商户可以添加车次"));
            }
            w.fields.insert("createTm".into(), json!(crate::db::now_str()));
        }
        if let Some(code) = str_field(w, "code") {
            w.fields.insert("code".into(), json!(code.to_uppercase()));
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        if let (Op::Add | Op::Set, Some(id)) = (op, id) {
            check_stops(ctx.db, id)?;
        }
        if let (Op::Del, Some(id)) = (op, id) {
            if ctx.scalar_int("SELECT COUNT(*) FROM TrainRun WHERE trainId=?", &[id.into()])?.unwrap_or(0) > 0 {
                return Err(ApiError::with_msg(Code::Forbidden, "车次已有运行日期, 不能删除"));
            }
        }
        Ok(())
    }

    fn custom(&self, ctx: &mut Ctx, ac: &str, p: &Params) -> Option<ApiResult<Reply>> {
        match ac {
            "search" => Some(search(ctx, p).map(Reply::Data)),
            "addRuns" if matches!(ctx.auth.role(), Role::Emp | Role::Admin) => Some(add_runs(ctx, p).map(Reply::Data)),
            "addRuns" => Some(Err(ApiError::with_msg(Code::Forbidden, "只有铁路商户的员工可以生成车次日期"))),
            _ => None,
        }
    }
}

/// Stops must be numbered 0.. without gaps, with increasing km, at most [`MAX_STOPS`].
fn check_stops(conn: Conn, train: i64) -> ApiResult<()> {
    let stops: Vec<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT seq, km FROM TrainStop WHERE trainId=? ORDER BY seq")?
        .query_map([train], |r| Ok((r.get::<Option<i64>>(0)?.unwrap_or(-1), r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if stops.len() > MAX_STOPS {
        return Err(ApiError::param(format!("一个车次最多{MAX_STOPS}个停靠站")));
    }
    for (i, (seq, km)) in stops.iter().enumerate() {
        if *seq != i as i64 {
            return Err(ApiError::param(format!("停靠站的序号须从0起连续, 第{}个是{seq}", i + 1)));
        }
        if i > 0 && km.unwrap_or(0) <= stops[i - 1].1.unwrap_or(0) {
            return Err(ApiError::param(format!("第{i}站的里程须大于前一站")));
        }
    }
    Ok(())
}

/// Stops, carriages, fares and runs of a train: the store of their train decides who sees them.
pub struct TrainChild(Decl);

impl Object for TrainChild {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        let via = if self.0.table == "RunSeat" {
            "t0.runId IN (SELECT r.id FROM TrainRun r JOIN Train t ON t.id=r.trainId WHERE t.storeId=?)"
        } else {
            "t0.trainId IN (SELECT id FROM Train WHERE storeId=?)"
        };
        if let Viewer::Store(s) = Viewer::of(ctx)? {
            scope.sql(via, vec![s.into()]);
        }
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if w.op == Op::Add {
            let train = int_field(w, "trainId").ok_or_else(|| ApiError::missing("trainId"))?;
            parent_of_store(ctx, "SELECT storeId FROM Train WHERE id=?", train, "车次")?;
        }
        match self.0.table.as_ref() {
            "Carriage" => super::store::check_code(w, "seatClass", &CLASSES)?,
            "Fare" => {
                super::store::check_code(w, "seatClass", &CLASSES)?;
                if let Some(p) = w.fields.get("price").map(crate::api::params::value_to_string) {
                    if crate::money::parse_cents(&p).filter(|c| *c > 0).is_none() {
                        return Err(ApiError::param(format!("票价`{p}`须大于0, 最多两位小数")));
                    }
                }
            }
            "TrainRun" if w.op == Op::Add => {
                let train = int_field(w, "trainId").unwrap_or(0);
                let dt = str_field(w, "dt").unwrap_or_default();
                NaiveDate::parse_from_str(&dt, "%Y-%m-%d")
                    .map_err(|_| ApiError::param(format!("日期`{dt}`须是YYYY-MM-DD")))?;
                if let Some(other) = ctx.scalar_int(
                    "SELECT id FROM TrainRun WHERE trainId=? AND dt=?",
                    &[train.into(), dt.clone().into()],
                )? {
                    let code = ctx.scalar("SELECT code FROM Train WHERE id=?", &[train.into()])?;
                    let code = match code {
                        Some(crate::query::SqlValue::Text(c)) => c,
                        _ => String::new(),
                    };
                    return Err(ApiError::param(format!("{code}在{dt}已有车次日期#{other}")));
                }
                w.fields.entry("status").or_insert(json!("ON"));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, w: Option<&Write>) -> ApiResult<()> {
        match (self.0.table.as_ref(), op, id) {
            ("TrainRun", Op::Add, Some(id)) => {
                let train = w.and_then(|w| int_field(w, "trainId")).unwrap_or(0);
                make_run_seats(ctx.db, id, train)?;
            }
            ("TrainRun", Op::Del, Some(id)) => {
                if ctx.scalar_int("SELECT COUNT(*) FROM Ticket WHERE runId=?", &[id.into()])?.unwrap_or(0) > 0 {
                    return Err(ApiError::with_msg(Code::Forbidden, "该日期已有订单, 不能删除, 可以停运"));
                }
                ctx.exec("DELETE FROM RunSeat WHERE runId=?", &[SqlValue::Int(id)])?;
            }
            ("TrainStop", _, _) => {
                let train = match (w.and_then(|w| int_field(w, "trainId")), id) {
                    (Some(t), _) => Some(t),
                    (None, Some(i)) => ctx.scalar_int("SELECT trainId FROM TrainStop WHERE id=?", &[i.into()])?,
                    _ => None,
                };
                // Stops of a train with runs are its sold segments' meaning: they may not change then.
                if let Some(t) = train {
                    if ctx.scalar_int("SELECT COUNT(*) FROM TrainRun WHERE trainId=?", &[t.into()])?.unwrap_or(0) > 0 {
                        return Err(ApiError::with_msg(Code::Forbidden, "车次已有运行日期, 不能再改停靠站"));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Splits a carriage's seat list (`01A,01B 01C`).
pub fn seat_labels(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// One RunSeat per seat of each carriage, masks zero.
pub fn make_run_seats(conn: Conn, run: i64, train: i64) -> ApiResult<usize> {
    let carriages: Vec<(i64, String, String, String)> = conn
        .prepare_cached("SELECT id, no, seatClass, seats FROM Carriage WHERE trainId=? ORDER BY no")?
        .query_map([train], |r| {
            Ok((
                r.get(0)?,
                r.get::<Option<String>>(1)?.unwrap_or_default(),
                r.get::<Option<String>>(2)?.unwrap_or_default(),
                r.get::<Option<String>>(3)?.unwrap_or_default(),
            ))
        })?
        .collect::<Result<_, _>>()?;
    if carriages.is_empty() {
        return Err(ApiError::param("车次还没有车厢, 不能生成座位"));
    }
    let mut st = conn.prepare_cached(
        "INSERT INTO RunSeat (runId, carriageId, carriageNo, seatClass, seq, label, sold, held) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
    )?;
    let mut n = 0;
    for (cid, no, class, seats) in carriages {
        for (i, s) in seat_labels(&seats).iter().enumerate() {
            st.execute(params![run, cid, no, class, i as i64 + 1, format!("{no}车{s}")])?;
            n += 1;
        }
    }
    Ok(n)
}

/// `Train.addRuns(id, fromDt, toDt)`: a run for every day of the range that has none (at most 90 days).
fn add_runs(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let id = p.must_int("id")?;
    parent_of_store(ctx, "SELECT storeId FROM Train WHERE id=?", id, "车次")?;
    let d = |n: &str| -> ApiResult<NaiveDate> {
        let s = p.must_str(n)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| ApiError::param(format!("`{n}`须是日期YYYY-MM-DD")))
    };
    let (from, to) = (d("fromDt")?, d("toDt")?);
    if to < from || (to - from).num_days() > 89 {
        return Err(ApiError::param("日期范围须是1-90天"));
    }
    let conn = ctx.db;
    let mut made = 0;
    let mut day = from;
    while day <= to {
        let dt = day.to_string();
        let exists: Option<i64> =
            conn.query_opt("SELECT id FROM TrainRun WHERE trainId=? AND dt=?", params![id, dt], |r| r.get(0))?;
        if exists.is_none() {
            conn.prepare_cached("INSERT INTO TrainRun (trainId, dt, status) VALUES (?, ?, 'ON')")?
                .execute(params![id, dt])?;
            make_run_seats(conn, conn.last_insert_rowid()?, id)?;
            made += 1;
        }
        day += Duration::days(1);
    }
    Ok(json!(made))
}

/// A stop as search and orders use it.
#[derive(Debug, Clone)]
pub struct Stop {
    pub seq: usize,
    pub station: i64,
    pub arr: Option<String>,
    pub dep: Option<String>,
    pub day: i64,
    pub km: i64,
}

/// The stops of a train in order.
pub fn stops_of(conn: Conn, train: i64) -> ApiResult<Vec<Stop>> {
    conn.prepare_cached(
        "SELECT seq, stationId, arrTm, depTm, dayOffset, km FROM TrainStop WHERE trainId=? ORDER BY seq",
    )?
    .query_map([train], |r| {
        Ok(Stop {
            seq: r.get::<Option<i64>>(0)?.unwrap_or(0) as usize,
            station: r.get::<Option<i64>>(1)?.unwrap_or(0),
            arr: r.get(2)?,
            dep: r.get(3)?,
            day: r.get::<Option<i64>>(4)?.unwrap_or(0),
            km: r.get::<Option<i64>>(5)?.unwrap_or(0),
        })
    })?
    .collect()
}

/// The moment a stop is passed on a run's date: its departure (or arrival) time plus its day offset.
pub fn stop_time(run_dt: NaiveDate, stop: &Stop, departing: bool) -> Option<NaiveDateTime> {
    let hm = if departing {
        stop.dep.as_deref().or(stop.arr.as_deref())
    } else {
        stop.arr.as_deref().or(stop.dep.as_deref())
    }?;
    let t = NaiveTime::parse_from_str(hm, "%H:%M").ok()?;
    Some((run_dt + Duration::days(stop.day)).and_time(t))
}

/// The price in cents of a trip of a train in a class: its Fare row, else by distance.
pub fn price(conn: Conn, train: i64, from: &Stop, to: &Stop, class: &str) -> ApiResult<i64> {
    let fare: Option<f64> = conn
        .prepare_cached("SELECT price FROM Fare WHERE trainId=? AND fromSeq=? AND toSeq=? AND seatClass=?")?
        .query_opt(params![train, from.seq as i64, to.seq as i64, class], |r| r.get(0))?;
    Ok(match fare {
        Some(p) => (p * 100.0).round() as i64,
        None => fare_by_km(to.km - from.km, class),
    })
}

/// The seats left per class on a run for a trip, counted from the masks.
pub fn left_by_class(conn: Conn, run: i64, trip: i64) -> ApiResult<Vec<(String, i64)>> {
    conn.prepare_cached(
            "SELECT seatClass, SUM(CASE WHEN ((sold | held) & ?1) = 0 THEN 1 ELSE 0 END) FROM RunSeat WHERE runId=?2 GROUP BY seatClass",
        )?
        .query_map(params![trip, run], |r| Ok((r.get::<Option<String>>(0)?.unwrap_or_default(), r.get::<Option<i64>>(1)?.unwrap_or(0))))?
        .collect()
}

/// The stations of a `…StationId` or `…CityId` parameter pair.
fn end_stations(ctx: &mut Ctx, p: &Params, side: &str) -> ApiResult<Vec<(i64, String)>> {
    let (sid, cid) = (p.int(&format!("{side}StationId"))?, p.int(&format!("{side}CityId"))?);
    let (sql, v) = match (sid, cid) {
        (Some(s), _) => ("SELECT id, name FROM Station WHERE id=?", s),
        (None, Some(c)) => ("SELECT id, name FROM Station WHERE cityId=?", c),
        _ => {
            return Err(ApiError::param(format!(
                "请指定{}站或城市({side}StationId或{side}CityId)",
                if side == "from" { "出发" } else { "到达" }
            )))
        }
    };
    let mut out = Vec::new();
    ctx.query(sql, &[v.into()], |r| {
        out.push((r.get(0)?, r.get::<Option<String>>(1)?.unwrap_or_default()));
        Ok(())
    })?;
    Ok(out)
}

/// `Train.search(from…, to…, dt, sort=dep|duration, onlyLeft)`.
fn search(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let dt_s = p.must_str("dt")?;
    let dt = NaiveDate::parse_from_str(&dt_s, "%Y-%m-%d")
        .map_err(|_| ApiError::param(format!("`dt`须是日期YYYY-MM-DD, 不能是`{dt_s}`")))?;
    let sort = p.str("sort").unwrap_or_else(|| "dep".into());
    if !matches!(sort.as_str(), "dep" | "duration") {
        return Err(ApiError::param("排序`sort`只能是dep(出发时间)或duration(历时)"));
    }
    let only_left = p.flag("onlyLeft")?;
    let from = end_stations(ctx, p, "from")?;
    let to = end_stations(ctx, p, "to")?;
    if from.is_empty() || to.is_empty() {
        return Ok(json!([]));
    }
    // Trains stopping at one of the origins and, later, at one of the destinations, whose run from the
    // origin leaves on `dt` (a run's date is its first stop's; day offsets up to 3 are looked at).
    let marks = |n: usize| vec!["?"; n].join(",");
    let sql = format!(
        "SELECT r.id, r.dt, t.id, t.code, a.seq, b.seq FROM TrainStop a JOIN TrainStop b ON b.trainId=a.trainId AND b.seq>a.seq \
         JOIN Train t ON t.id=a.trainId JOIN Store st ON st.id=t.storeId AND st.status='OK' \
         JOIN TrainRun r ON r.trainId=t.id AND r.status='ON' AND r.dt BETWEEN ? AND ? \
         WHERE a.stationId IN ({}) AND b.stationId IN ({})",
        marks(from.len()),
        marks(to.len())
    );
    let mut params: Vec<SqlValue> = vec![(dt - Duration::days(3)).to_string().into(), dt_s.clone().into()];
    params.extend(from.iter().map(|(i, _)| SqlValue::Int(*i)));
    params.extend(to.iter().map(|(i, _)| SqlValue::Int(*i)));
    let mut cands: Vec<(i64, String, i64, String, usize, usize)> = Vec::new();
    ctx.query(&sql, &params, |r| {
        cands.push((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<i64>(4)? as usize, r.get::<i64>(5)? as usize));
        Ok(())
    })?;
    let name_of =
        |id: i64| from.iter().chain(to.iter()).find(|(i, _)| *i == id).map(|(_, n)| n.clone()).unwrap_or_default();
    let conn = ctx.db;
    let mut out: Vec<(NaiveDateTime, i64, Value)> = Vec::new();
    let mut stops_cache: Vec<(i64, Vec<Stop>)> = Vec::new();
    for (run, run_dt, train, code, s, e) in cands {
        let Ok(run_day) = NaiveDate::parse_from_str(&run_dt, "%Y-%m-%d") else { continue };
        if !stops_cache.iter().any(|(t, _)| *t == train) {
            stops_cache.push((train, stops_of(conn, train)?));
        }
        let stops = &stops_cache.iter().find(|(t, _)| *t == train).map(|(_, s)| s.clone()).unwrap_or_default();
        let (Some(a), Some(b)) = (stops.get(s), stops.get(e)) else { continue };
        let (Some(dep), Some(arr)) = (stop_time(run_day, a, true), stop_time(run_day, b, false)) else { continue };
        if dep.date() != dt {
            continue;
        }
        let trip = mask(s, e);
        let left = left_by_class(conn, run, trip)?;
        let mut classes = Vec::new();
        for (class, _) in CLASSES {
            if let Some((_, n)) = left.iter().find(|(c, _)| c == class) {
                let cents = price(conn, train, a, b, class)?;
                classes.push(
                    json!({"seatClass": class, "price": format!("{}.{:02}", cents / 100, cents % 100), "left": n}),
                );
            }
        }
        if only_left && !classes.iter().any(|c| c["left"].as_i64().unwrap_or(0) > 0) {
            continue;
        }
        let minutes = (arr - dep).num_minutes();
        let fmt = |t: NaiveDateTime| crate::db::datetime_text(&t);
        out.push((
            dep,
            minutes,
            json!({
                "runId": run, "trainCode": code,
                "fromStationId": a.station, "fromStationName": name_of(a.station),
                "toStationId": b.station, "toStationName": name_of(b.station),
                "depTm": fmt(dep), "arrTm": fmt(arr), "durationMin": minutes, "classes": classes,
            }),
        ));
    }
    if sort == "duration" {
        out.sort_by_key(|(d, m, _)| (*m, *d));
    } else {
        out.sort_by_key(|(d, m, _)| (*d, *m));
    }
    Ok(Value::Array(out.into_iter().map(|(_, _, v)| v).collect()))
}

/// A run as an order needs it: (train, train code, date, store status OK, run status ON, store id).
pub fn run_row(ctx: &mut Ctx, run: i64) -> ApiResult<(i64, String, NaiveDate, bool, i64)> {
    let mut row = None;
    ctx.query(
        "SELECT r.trainId, t.code, r.dt, st.status, r.status, t.storeId FROM TrainRun r JOIN Train t ON t.id=r.trainId \
         JOIN Store st ON st.id=t.storeId WHERE r.id=?",
        &[run.into()],
        |r| {
            row = Some((
                r.get::<i64>(0)?,
                r.get::<Option<String>>(1)?.unwrap_or_default(),
                r.get::<Option<String>>(2)?.unwrap_or_default(),
                r.get::<Option<String>>(3)?.as_deref() == Some("OK") && r.get::<Option<String>>(4)?.as_deref() == Some("ON"),
                r.get::<Option<i64>>(5)?.unwrap_or(0),
            ));
            Ok(())
        },
    )?;
    let (train, code, dt, on, store) = row.ok_or_else(|| ApiError::param(format!("车次日期#{run}不存在")))?;
    let dt = NaiveDate::parse_from_str(&dt, "%Y-%m-%d")
        .map_err(|_| ApiError::server(format!("run {run}: bad date {dt}")))?;
    Ok((train, code, dt, on, store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_lists_split_on_commas_and_spaces() {
        assert_eq!(seat_labels("01A,01B 01C，01D\n01F"), ["01A", "01B", "01C", "01D", "01F"]);
        assert!(seat_labels(" , ").is_empty());
    }

    #[test]
    fn a_stop_time_adds_its_day_offset_and_falls_back_between_arrival_and_departure() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let s = Stop { seq: 3, station: 1, arr: Some("23:50".into()), dep: None, day: 1, km: 900 };
        assert_eq!(stop_time(d, &s, true).unwrap().to_string(), "2026-12-06 23:50:00");
        assert_eq!(stop_time(d, &s, false).unwrap().to_string(), "2026-12-06 23:50:00");
        let none = Stop { arr: None, dep: None, ..s };
        assert!(stop_time(d, &none, true).is_none());
    }
}
