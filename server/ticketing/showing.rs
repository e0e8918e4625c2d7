//! `Showing`, `PriceClass` and `Seat`: one performance or screening, its price classes and, for
//! assigned seating, one row per sellable seat (DESIGN.md 场次, 票价等级, 座位).
//!
//! Adding a showing in a hall turns the hall's seat map into that showing's price classes and seats
//! in the same call, so a showing never exists half-built and later edits of the map leave it alone.
//! Two showings of a hall may not overlap: the check runs after a write lock on the hall row, so two
//! schedulers of one hall (threads or processes) are serialized by the database, not by luck.
//! `Showing.seats` is the seat map as a buyer sees it, read with one indexed query.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use serde_json::{json, Value};

use super::scope::{int_at, int_field, parent_of_store, str_at, str_field, Viewer};
use super::seatlayout::{Layout, Layouts};
use super::seatmap::SeatMap;
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::{value_to_string, Params};
use crate::crud::select::json::cents_text;
use crate::crud::{Decl, Object, Op, Registry, Role, Scope, SubObj, VCol, Write};
use crate::db::conn::Cell;
use crate::error::{ApiError, ApiResult, Code};
use crate::money::parse_cents;
use crate::query::SqlValue;

/// Showings the public sees: of events on sale at approved stores.
const PUBLIC: &str = "t0.eventId IN (SELECT e.id FROM Event e WHERE e.status='ON' AND e.storeId IN \
                      (SELECT id FROM Store WHERE status='OK'))";

/// Price classes the public sees: of those showings.
const PUBLIC_CLASSES: &str = "t0.showingId IN (SELECT s.id FROM Showing s JOIN Event e ON e.id=s.eventId WHERE \
                              e.status='ON' AND e.storeId IN (SELECT id FROM Store WHERE status='OK'))";

/// Seats or places left in a class: free seats (an expired hold is free), or capacity minus taken.
const LEFT: &str = "CASE WHEN t0.code IS NULL OR t0.code='' THEN t0.capacity - COALESCE(t0.taken, 0) \
                    ELSE (SELECT COUNT(*) FROM Seat st WHERE st.classId=t0.id AND (st.status='FR' OR \
                    (st.status='HD' AND st.expireTm <= {now}))) END";

/// Serves Showing, PriceClass and Seat.
pub fn register(reg: &mut Registry) {
    use Role::*;
    const READ: &[Op] = &[Op::Get, Op::Query];
    const STAFF_OPS: &[Op] = &super::venue::STAFF_OPS;
    let layouts = Arc::new(Layouts::default());
    let public = Showing { decl: showing_decl().allow(READ), layouts: layouts.clone() };
    reg.register("Showing", &[Guest, User], Arc::new(public));
    let staff = showing_decl()
        .allow(STAFF_OPS)
        .required(&[&["eventId"], &["startTm"]])
        .readonly(&["storeId", "venueId", "createTm", "doneTm"])
        .readonly_on_set(&["eventId", "hallId"]);
    reg.register("Showing", &[Emp, Admin], Arc::new(Showing { decl: staff, layouts }));
    reg.register("PriceClass", &[Guest, User], Arc::new(PriceClass(class_decl().allow(READ))));
    let staff = class_decl()
        .allow(STAFF_OPS)
        .required(&[&["showingId"], &["name"], &["price"]])
        .readonly(&["code", "taken"])
        .readonly_on_set(&["showingId"]);
    reg.register("PriceClass", &[Emp, Admin], Arc::new(PriceClass(staff)));
    let seat = Decl::new("Seat").allow(READ).default_sort("row,col");
    reg.register("Seat", &[Emp, Admin], Arc::new(Seat(seat)));
}

fn showing_decl() -> Decl {
    Decl::new("Showing")
        .vcols(vec![
            VCol::new(&["e.name eventName", "e.kind eventKind"])
                .join("LEFT JOIN Event e ON e.id=t0.eventId")
                .default_on(),
            VCol::new(&["v.name venueName"]).join("LEFT JOIN Venue v ON v.id=t0.venueId").default_on(),
            VCol::new(&["h.name hallName"]).join("LEFT JOIN Hall h ON h.id=t0.hallId").default_on(),
            // Seat occupancy (reports): seats sold and all seats of the showing.
            VCol::new(&[
                "(SELECT COUNT(*) FROM Seat so WHERE so.showingId=t0.id AND so.status='SO') seatsSold",
                "(SELECT COUNT(*) FROM Seat sa WHERE sa.showingId=t0.id) seatsTotal",
            ]),
        ])
        .subobjs(vec![SubObj::new("classes", "PriceClass", "showingId")
            .res("id,code,name,price,capacity,left")
            .orderby("price DESC,id")
            .in_query()])
        .default_sort("startTm,id")
        .tm_col("startTm")
}

fn class_decl() -> Decl {
    Decl::new("PriceClass").vcols(vec![VCol::computed(format!("({LEFT})"), "left").default_on()])
}

/// A time parameter in the protocol's form; `YYYY-MM-DD HH:MM` is taken as `:00`.
pub fn parse_tm(field: &str, s: &str) -> ApiResult<NaiveDateTime> {
    let s = s.trim().replace('T', " ");
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M"))
        .map_err(|_| ApiError::param(format!("`{field}`须是时间YYYY-MM-DD HH:MM:SS, 不能是`{s}`")))
}

/// `prices` of `Showing.add`: `A:380.00,B:180.00`, one price in cents per class code.
pub fn parse_prices(s: &str) -> ApiResult<Vec<(char, i64)>> {
    let mut out: Vec<(char, i64)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (code, price) =
            part.split_once(':').ok_or_else(|| ApiError::param(format!("票价`{part}`须写成`A:380.00`")))?;
        let mut chars = code.trim().chars();
        let (Some(c @ 'A'..='Z'), None) = (chars.next(), chars.next()) else {
            return Err(ApiError::param(format!("票价等级代码`{code}`须是一个大写字母")));
        };
        let cents = parse_cents(price)
            .filter(|c| *c > 0)
            .ok_or_else(|| ApiError::param(format!("{c}等级的票价`{}`须大于0, 最多两位小数", price.trim())))?;
        if out.iter().any(|(x, _)| *x == c) {
            return Err(ApiError::param(format!("票价中{c}等级重复")));
        }
        out.push((c, cents));
    }
    Ok(out)
}

/// Checks the prices against the classes of a seat map: every class priced, no price for a class the
/// map does not have.
pub fn check_prices(map: &SeatMap, prices: &[(char, i64)]) -> ApiResult<()> {
    let classes = map.classes();
    let missing: Vec<String> =
        classes.iter().filter(|(c, _)| !prices.iter().any(|(p, _)| p == c)).map(|(c, _)| c.to_string()).collect();
    if !missing.is_empty() {
        return Err(ApiError::param(format!("请给出座位图中{}等级的票价(prices, 如`A:380.00`)", missing.join(","))));
    }
    if let Some((c, _)) = prices.iter().find(|(p, _)| !classes.iter().any(|(c, _)| c == p)) {
        return Err(ApiError::param(format!("座位图中没有{c}等级")));
    }
    Ok(())
}

/// `classNames` of `Showing.add`: `A:VIP,B:普通`.
fn parse_names(s: &str) -> Vec<(char, String)> {
    s.split(',')
        .filter_map(|p| p.split_once(':'))
        .filter_map(|(c, n)| Some((c.trim().chars().next()?, n.trim().to_string())))
        .filter(|(_, n)| !n.is_empty())
        .collect()
}

/// A showing for one kind of caller.
pub struct Showing {
    decl: Decl,
    /// Seat-map layouts, one set for all the roles' `Showing` objects.
    layouts: Arc<Layouts>,
}

/// The event a showing hangs from.
struct EventRow {
    store: i64,
    venue: Option<i64>,
    kind: String,
    movie: Option<i64>,
    name: String,
}

fn event_of(ctx: &mut Ctx, event: i64) -> ApiResult<EventRow> {
    let row =
        parent_of_store(ctx, "SELECT storeId, venueId, kind, movieId, name FROM Event WHERE id=?", event, "演出")?;
    Ok(EventRow {
        store: int_at(&row, 0).unwrap_or(0),
        venue: int_at(&row, 1),
        kind: str_at(&row, 2).unwrap_or_default(),
        movie: int_at(&row, 3),
        name: str_at(&row, 4).unwrap_or_default(),
    })
}

/// The times of a showing after this write: the given ones over the stored ones.
struct Times {
    start: NaiveDateTime,
    end: Option<NaiveDateTime>,
    sale_start: Option<NaiveDateTime>,
    sale_end: Option<NaiveDateTime>,
}

fn given_tm(w: &Write, f: &str) -> ApiResult<Option<NaiveDateTime>> {
    str_field(w, f).map(|s| parse_tm(f, &s)).transpose()
}

impl Showing {
    /// Fills and checks the times: defaults, order, the hall's other showings.
    fn check_times(ctx: &mut Ctx, w: &mut Write, hall: Option<i64>, mut t: Times) -> ApiResult<()> {
        let end = t.end.ok_or_else(|| ApiError::missing("endTm"))?;
        if end <= t.start {
            return Err(ApiError::param("结束时间须晚于开始时间"));
        }
        let now = NaiveDateTime::parse_from_str(&crate::db::now_str(), "%Y-%m-%d %H:%M:%S").ok();
        let sale_start = *t.sale_start.get_or_insert_with(|| now.unwrap_or(t.start).min(t.start));
        let sale_end = *t.sale_end.get_or_insert(t.start);
        if sale_end <= sale_start {
            return Err(ApiError::param("停售时间须晚于开售时间"));
        }
        if sale_end > end {
            return Err(ApiError::param("停售时间不能晚于场次结束时间"));
        }
        for (f, v) in [("startTm", t.start), ("endTm", end), ("saleStartTm", sale_start), ("saleEndTm", sale_end)] {
            w.fields.insert(f.into(), json!(crate::db::datetime_text(&v)));
        }
        let Some(hall) = hall else { return Ok(()) };
        // Write-lock the hall row first: a concurrent scheduler of this hall waits here until this
        // call commits, then sees this showing (SQLite: the write lock; PostgreSQL: the row lock).
        ctx.exec("UPDATE Hall SET seatCnt=seatCnt WHERE id=?", &[hall.into()])?;
        let mut clash = None;
        ctx.query(
            "SELECT s.id, s.startTm, s.endTm, e.name FROM Showing s LEFT JOIN Event e ON e.id=s.eventId \
             WHERE s.hallId=? AND s.startTm < ? AND s.endTm > ? AND s.id<>? ORDER BY s.startTm LIMIT 1",
            &[
                hall.into(),
                crate::db::datetime_text(&end).into(),
                crate::db::datetime_text(&t.start).into(),
                w.id.unwrap_or(0).into(),
            ],
            |r| {
                clash = Some((
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<Option<String>>(3)?.unwrap_or_default(),
                ));
                Ok(())
            },
        )?;
        if let Some((id, s, e, name)) = clash {
            return Err(ApiError::param(format!("与场次#{id}(《{name}》{s}至{e})时间冲突")));
        }
        Ok(())
    }

    fn validate_add(ctx: &mut Ctx, w: &mut Write) -> ApiResult<()> {
        let event = int_field(w, "eventId").ok_or_else(|| ApiError::missing("eventId"))?;
        let EventRow { store, venue, kind, movie, name } = event_of(ctx, event)?;
        w.fields.insert("storeId".into(), json!(store));
        w.fields.insert("venueId".into(), json!(venue));
        let start = parse_tm("startTm", &str_field(w, "startTm").ok_or_else(|| ApiError::missing("startTm"))?)?;
        let hall = int_field(w, "hallId");
        if let Some(h) = hall {
            let row = parent_of_store(ctx, "SELECT storeId, venueId, seatMap FROM Hall WHERE id=?", h, "影厅")?;
            if int_at(&row, 1) != venue {
                return Err(ApiError::param(format!("影厅#{h}不在该演出的场馆中")));
            }
            let map = SeatMap::parse(&str_at(&row, 2).unwrap_or_default())?;
            let prices = w.keep("prices").map(|v| value_to_string(&v)).unwrap_or_default();
            check_prices(&map, &parse_prices(&prices)?)?;
        } else if kind == "movie" {
            return Err(ApiError::param("电影场次须指定影厅(hallId)"));
        } else if w.keep("prices").is_some() {
            return Err(ApiError::param("不对号入座的场次没有座位图, 请用PriceClass.add添加票价等级"));
        }
        w.keep("classNames");
        let mut end = given_tm(w, "endTm")?;
        if let (Some(m), "movie") = (movie, kind.as_str()) {
            let (duration, license) = movie_rights(ctx, store, m, &start.date().to_string())?;
            if !license {
                return Err(ApiError::with_msg(
                    Code::Forbidden,
                    format!("《{name}》的放映许可不含{}, 不能排场", start.date()),
                ));
            }
            end = end.or_else(|| duration.map(|d| start + Duration::minutes(d)));
        }
        let hold = w.fields.get("holdMinutes").map(crate::api::params::value_to_int).unwrap_or(Some(15));
        match hold {
            Some(m) if (1..=60).contains(&m) => w.fields.insert("holdMinutes".into(), json!(m)),
            _ => return Err(ApiError::param("保留时间(holdMinutes)须是1-60分钟")),
        };
        w.fields.insert("createTm".into(), json!(crate::db::now_str()));
        let times = Times { start, end, sale_start: given_tm(w, "saleStartTm")?, sale_end: given_tm(w, "saleEndTm")? };
        Self::check_times(ctx, w, hall, times)
    }

    fn validate_set(ctx: &mut Ctx, w: &mut Write, id: i64) -> ApiResult<()> {
        const TIMES: [&str; 4] = ["startTm", "endTm", "saleStartTm", "saleEndTm"];
        if let Some(h) = w.fields.get("holdMinutes") {
            if crate::api::params::value_to_int(h).filter(|m| (1..=60).contains(m)).is_none() {
                return Err(ApiError::param("保留时间(holdMinutes)须是1-60分钟"));
            }
        }
        if !TIMES.iter().any(|f| w.fields.contains_key(*f)) {
            return Ok(());
        }
        let mut cur: Option<(Option<i64>, Vec<String>)> = None;
        ctx.query(
            "SELECT hallId, startTm, endTm, saleStartTm, saleEndTm FROM Showing WHERE id=?",
            &[id.into()],
            |r| {
                let times: crate::error::ApiResult<Vec<String>> =
                    (1..5).map(|i| r.get::<Option<String>>(i).map(Option::unwrap_or_default)).collect();
                cur = Some((r.get(0)?, times?));
                Ok(())
            },
        )?;
        let (hall, stored) = cur.ok_or_else(|| ApiError::param(format!("场次#{id}不存在")))?;
        if stored[0].as_str() <= crate::db::now_str().as_str() {
            return Err(ApiError::with_msg(Code::Forbidden, "场次已开始, 不能修改时间"));
        }
        let pick = |w: &Write, i: usize| -> ApiResult<Option<NaiveDateTime>> {
            match given_tm(w, TIMES[i])? {
                Some(t) => Ok(Some(t)),
                None if stored[i].is_empty() => Ok(None),
                None => parse_tm(TIMES[i], &stored[i]).map(Some),
            }
        };
        let start = pick(w, 0)?.ok_or_else(|| ApiError::missing("startTm"))?;
        // A sale end that was the default (the start) follows a moved start.
        let sale_end =
            if w.fields.contains_key("startTm") && !w.fields.contains_key("saleEndTm") && stored[3] == stored[0] {
                None
            } else {
                pick(w, 3)?
            };
        let times = Times { start, end: pick(w, 1)?, sale_start: pick(w, 2)?, sale_end };
        Self::check_times(ctx, w, hall, times)
    }

    /// Creates the price classes and seats of a new showing in a hall, from the hall's map.
    fn build_inventory(ctx: &mut Ctx, id: i64, hall: i64, w: &Write) -> ApiResult<()> {
        let text = ctx
            .scalar("SELECT seatMap FROM Hall WHERE id=?", &[hall.into()])?
            .and_then(|v| if let crate::query::SqlValue::Text(t) = v { Some(t) } else { None })
            .unwrap_or_default();
        let map = SeatMap::parse(&text)?;
        let prices = parse_prices(&w.kept.get("prices").map(value_to_string).unwrap_or_default())?;
        let names = parse_names(&w.kept.get("classNames").map(value_to_string).unwrap_or_default());
        let mut class_ids: Vec<(char, i64)> = Vec::new();
        for (code, count) in map.classes() {
            let cents = prices.iter().find(|(c, _)| *c == code).map(|(_, p)| *p).unwrap_or(0);
            let name = names.iter().find(|(c, _)| *c == code).map(|(_, n)| n.clone()).unwrap_or(format!("{code}区"));
            let cid = ctx.insert(
                "INSERT INTO PriceClass (showingId, code, name, price, capacity, taken) VALUES (?, ?, ?, ?, ?, 0)",
                &[
                    id.into(),
                    code.to_string().into(),
                    name.into(),
                    SqlValue::Real(cents as f64 / 100.0),
                    (count as i64).into(),
                ],
            )?;
            class_ids.push((code, cid));
        }
        for s in &map.seats {
            let cid = class_ids.iter().find(|(c, _)| *c == s.class).map(|(_, i)| *i).unwrap_or(0);
            ctx.exec(
                "INSERT INTO Seat (showingId, classId, row, col, label, status) VALUES (?, ?, ?, ?, ?, 'FR')",
                &[id.into(), cid.into(), (s.row as i64).into(), (s.col as i64).into(), s.label().into()],
            )?;
        }
        Ok(())
    }
}

/// A movie's duration, and whether the store holds a licence for it on `date`.
fn movie_rights(ctx: &mut Ctx, store: i64, movie: i64, date: &str) -> ApiResult<(Option<i64>, bool)> {
    let duration = ctx.scalar_int("SELECT duration FROM Movie WHERE id=?", &[movie.into()])?;
    let license = ctx.scalar(
        "SELECT 1 FROM License WHERE storeId=? AND movieId=? AND fromDt<=? AND toDt>=?",
        &[store.into(), movie.into(), date.into(), date.into()],
    )?;
    Ok((duration, license.is_some()))
}

impl Object for Showing {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn actions(&self) -> &'static [&'static str] {
        &["seats"]
    }

    fn read_actions(&self) -> &'static [&'static str] {
        &["seats"]
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        super::scope::store_rows(ctx, scope, PUBLIC).map(|_| ())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        match (w.op, w.id) {
            (Op::Add, _) => Self::validate_add(ctx, w),
            (Op::Set, Some(id)) => Self::validate_set(ctx, w, id),
            _ => Ok(()),
        }
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, w: Option<&Write>) -> ApiResult<()> {
        match (op, id, w) {
            (Op::Add, Some(id), Some(w)) => match int_field(w, "hallId") {
                Some(hall) => Self::build_inventory(ctx, id, hall, w),
                None => Ok(()),
            },
            (Op::Del, Some(id), _) => {
                if ctx.scalar_int("SELECT COUNT(*) FROM Ticket WHERE showingId=?", &[id.into()])?.unwrap_or(0) > 0 {
                    return Err(ApiError::with_msg(Code::Forbidden, "场次已有订单, 不能删除"));
                }
                ctx.exec("DELETE FROM Seat WHERE showingId=?", &[id.into()])?;
                ctx.exec("DELETE FROM PriceClass WHERE showingId=?", &[id.into()])?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn custom(&self, ctx: &mut Ctx, ac: &str, p: &Params) -> Option<ApiResult<Reply>> {
        match ac {
            "seats" => Some(seats(ctx, &self.layouts, p).map(Reply::Json)),
            _ => None,
        }
    }
}

/// A class as `Showing.seats` reports it.
struct ClassLeft {
    id: i64,
    code: Option<String>,
    name: Option<String>,
    price: String,
    /// capacity - taken (general admission).
    left: i64,
    /// Seats that read free now (assigned seating).
    free: i64,
}

/// `Showing.seats(id)`: the grid, the classes with what is left, and every seat's state.
///
/// The seats are one indexed read in id order (the map's row-major order, so no sort), written straight
/// to JSON text: a thousand seats as `Value` maps cost more than the query. A showing read before reads
/// only ids and states and writes the rest from its kept layout ([`seatlayout`](super::seatlayout)).
fn seats(ctx: &mut Ctx, layouts: &Layouts, p: &Params) -> ApiResult<Vec<u8>> {
    let id = p.must_int("id")?;
    let (visible, params): (String, Vec<SqlValue>) = match Viewer::of(ctx)? {
        Viewer::Public => (PUBLIC.to_string(), vec![]),
        Viewer::Store(s) => ("t0.storeId=?".into(), vec![s.into()]),
        Viewer::Platform => ("1=1".into(), vec![]),
    };
    let mut all = vec![SqlValue::Int(id)];
    all.extend(params);
    let mut grid = None;
    let sql = format!(
        "SELECT h.rows, h.cols, t0.hallId FROM Showing t0 LEFT JOIN Hall h ON h.id=t0.hallId WHERE t0.id=? AND {visible}"
    );
    ctx.query(&sql, &all, |r| {
        grid = Some((r.get::<Option<i64>>(0)?, r.get::<Option<i64>>(1)?, r.get::<Option<i64>>(2)?));
        Ok(())
    })?;
    let (rows, cols, hall) = grid.ok_or_else(|| ApiError::param(format!("场次#{id}不存在")))?;
    let now = crate::db::now_str();
    let mut classes: Vec<ClassLeft> = Vec::new();
    ctx.query(
        "SELECT id, code, name, price, capacity, taken FROM PriceClass WHERE showingId=? ORDER BY price DESC, id",
        &[id.into()],
        |r| {
            let left = r.get::<Option<i64>>(4)?.unwrap_or(0) - r.get::<Option<i64>>(5)?.unwrap_or(0);
            let price = cents_text(r.get::<Option<f64>>(3)?.unwrap_or(0.0));
            classes.push(ClassLeft { id: r.get(0)?, code: r.get(1)?, name: r.get(2)?, price, left, free: 0 });
            Ok(())
        },
    )?;
    let count_free = |classes: &mut [ClassLeft], class: i64| {
        if let Some(c) = classes.iter_mut().find(|c| c.id == class) {
            c.free += 1;
        }
    };
    let mut seats = Vec::new();
    let mut from_kept = false;
    if let Some(layout) = layouts.get(id) {
        seats.reserve(layout.text_len());
        let (mut n, mut same) = (0, true);
        ctx.query("SELECT id, status, expireTm FROM Seat WHERE showingId=? ORDER BY id", &[id.into()], |r| {
            if same && layout.id(n) == Some(r.get::<i64>(0)?) {
                let st = state_of(r.cell(1)?, r.cell(2)?, now.as_bytes());
                if st == "free" {
                    count_free(&mut classes, layout.class(n));
                }
                layout.write(&mut seats, n, st);
                n += 1;
            } else {
                same = false;
            }
            Ok(())
        })?;
        from_kept = same && n == layout.len();
        if !from_kept {
            seats.clear();
            classes.iter_mut().for_each(|c| c.free = 0);
        }
    }
    if !from_kept {
        let mut layout = Layout::default();
        ctx.query(
            "SELECT id, row, col, label, classId, status, expireTm FROM Seat WHERE showingId=? ORDER BY id",
            &[id.into()],
            |r| {
                let class: i64 = r.get::<Option<i64>>(4)?.unwrap_or(0);
                let label = r.get_ref(3)?;
                layout.push(
                    r.get(0)?,
                    r.get::<Option<i64>>(1)?.unwrap_or(0),
                    r.get::<Option<i64>>(2)?.unwrap_or(0),
                    label.as_str().unwrap_or(""),
                    class,
                );
                let st = state_of(r.cell(5)?, r.cell(6)?, now.as_bytes());
                if st == "free" {
                    count_free(&mut classes, class);
                }
                layout.write(&mut seats, layout.len() - 1, st);
                Ok(())
            },
        )?;
        layouts.keep(id, layout);
    }
    let classes: Vec<Value> = classes
        .into_iter()
        .map(|c| {
            // Assigned seating: what is left is what reads free now, expired holds included.
            let left = if hall.is_some() { c.free } else { c.left };
            json!({"id": c.id, "code": c.code, "name": c.name, "price": c.price, "left": left})
        })
        .collect();
    let mut out = Vec::with_capacity(seats.len() + 512);
    {
        use std::io::Write as _;
        let _ = write!(
            out,
            "{{\"showingId\":{id},\"rows\":{},\"cols\":{},\"classes\":{},\"seats\":[",
            rows.unwrap_or(0),
            cols.unwrap_or(0),
            Value::Array(classes)
        );
    }
    out.extend_from_slice(&seats);
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// What a seat reads as: free unless sold or held by a hold that has not expired. Its status and
/// hold's end are compared as the database gives them (bytes, no UTF-8 check: a seat map is a thousand
/// of each).
fn state_of(status: Cell, expire: Cell, now: &[u8]) -> &'static str {
    fn bytes<'a>(c: &'a Cell) -> Option<&'a [u8]> {
        match c {
            Cell::Text(t) => Some(t),
            Cell::Other(v) => v.as_str().map(str::as_bytes),
            Cell::Null => None,
        }
    }
    match bytes(&status) {
        Some(b"SO") => "sold",
        Some(b"HD") if bytes(&expire).is_some_and(|t| t > now) => "held",
        _ => "free",
    }
}

/// A price class of a showing.
pub struct PriceClass(Decl);

impl Object for PriceClass {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        match Viewer::of(ctx)? {
            Viewer::Public => scope.sql(PUBLIC_CLASSES, vec![]),
            Viewer::Store(s) => scope.sql("t0.showingId IN (SELECT id FROM Showing WHERE storeId=?)", vec![s.into()]),
            Viewer::Platform => {}
        }
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if let Some(price) = w.fields.get("price").map(value_to_string) {
            let cents = parse_cents(&price).filter(|c| *c > 0);
            if cents.is_none() {
                return Err(ApiError::param(format!("票价`{price}`须大于0, 最多两位小数")));
            }
        }
        if let Some(c) = w.fields.get("capacity") {
            if crate::api::params::value_to_int(c).filter(|n| (1..=100_000).contains(n)).is_none() {
                return Err(ApiError::param("数量(capacity)须是1-100000"));
            }
        }
        let showing = match (w.op, w.id) {
            (Op::Add, _) => int_field(w, "showingId").ok_or_else(|| ApiError::missing("showingId"))?,
            (_, Some(id)) => ctx.scalar_int("SELECT showingId FROM PriceClass WHERE id=?", &[id.into()])?.unwrap_or(0),
            _ => return Ok(()),
        };
        let row = parent_of_store(ctx, "SELECT storeId, hallId FROM Showing WHERE id=?", showing, "场次")?;
        let assigned = int_at(&row, 1).is_some();
        if assigned && w.op == Op::Add {
            return Err(ApiError::param("对号入座的场次的票价等级由座位图生成, 不能另加"));
        }
        if assigned && w.fields.contains_key("capacity") {
            return Err(ApiError::param("对号入座的票价等级的数量是其座位数, 不能修改"));
        }
        if w.op == Op::Add {
            if !w.fields.contains_key("capacity") {
                return Err(ApiError::missing("capacity"));
            }
            w.fields.insert("taken".into(), json!(0));
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        if let (Op::Del, Some(id)) = (op, id) {
            if ctx.scalar_int("SELECT COUNT(*) FROM Seat WHERE classId=?", &[id.into()])?.unwrap_or(0) > 0 {
                return Err(ApiError::with_msg(Code::Forbidden, "对号入座的票价等级不能删除"));
            }
            if ctx.scalar_int("SELECT COUNT(*) FROM Ticket WHERE classId=?", &[id.into()])?.unwrap_or(0) > 0 {
                return Err(ApiError::with_msg(Code::Forbidden, "票价等级已有订单, 不能删除"));
            }
        }
        Ok(())
    }
}

/// The seats of a showing (read-only; the staff's view of the inventory).
pub struct Seat(Decl);

impl Object for Seat {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        if let Viewer::Store(s) = Viewer::of(ctx)? {
            scope.sql("t0.showingId IN (SELECT id FROM Showing WHERE storeId=?)", vec![s.into()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_per_class_code_in_cents() {
        assert_eq!(parse_prices("A:380.00, B:180").unwrap(), vec![('A', 38000), ('B', 18000)]);
        for bad in ["A380", "AB:1", "a:1", "A:0", "A:-1", "A:1.234", "A:1,A:2"] {
            assert_eq!(parse_prices(bad).unwrap_err().code, Code::Param, "{bad}");
        }
    }

    #[test]
    fn every_class_of_the_map_needs_a_price_and_no_other_class_may_have_one() {
        let map = SeatMap::parse("AAB\nBB").unwrap();
        assert!(check_prices(&map, &[('A', 100), ('B', 50)]).is_ok());
        assert!(check_prices(&map, &[('A', 100)]).unwrap_err().msg.contains('B'));
        assert!(check_prices(&map, &[('A', 1), ('B', 1), ('C', 1)]).unwrap_err().msg.contains("没有C"));
    }

    #[test]
    fn times_take_the_protocol_form_and_minutes_only() {
        assert_eq!(crate::db::datetime_text(&parse_tm("startTm", "2026-12-05 19:30").unwrap()), "2026-12-05 19:30:00");
        assert_eq!(
            crate::db::datetime_text(&parse_tm("startTm", "2026-12-05T19:30:15").unwrap()),
            "2026-12-05 19:30:15"
        );
        assert!(parse_tm("startTm", "12/05/2026").unwrap_err().msg.contains("startTm"));
    }
}
