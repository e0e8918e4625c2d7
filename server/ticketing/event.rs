//! `Event`: a show or a movie run of a store, and the catalogue search over events (DESIGN.md 演出;
//! `ticketing-api.md` Catalogue; seed 000 "演出的综合搜索筛选").
//!
//! `Event.query` is the generic query plus the search parameters `cityId, category, kind, fromDt,
//! toDt` and `sort` (0 relevance, 1 heat, 2 next showing, 3/4 min price up/down), all turned into
//! scope conditions and a scope order with bound values. `Event.get` carries the upcoming showings,
//! each with its price classes.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::scope::{int_at, int_field, parent_of_store, store_rows, str_field, Viewer};
use super::store::{check_code, label_vcol};
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::crud::{Decl, Object, Op, Registry, Role, Scope, SubObj, VCol, Write};
use crate::error::{ApiError, ApiResult, Code};
use crate::query::SqlValue;

/// Event kinds.
pub const KINDS: [(&str, &str); 2] = [("show", "演出"), ("movie", "电影")];
/// Sale states.
pub const STATUS: [(&str, &str); 3] = [("DR", "草稿"), ("ON", "在售"), ("OF", "停售")];

/// What the public sees: events on sale of approved stores.
pub const PUBLIC: &str = "t0.status='ON' AND t0.storeId IN (SELECT id FROM Store WHERE status='OK')";

/// The lowest class price of the upcoming showings.
const MIN_PRICE: &str = "SELECT MIN(pc.price) FROM Showing s JOIN PriceClass pc ON pc.showingId=s.id \
                         WHERE s.eventId=t0.id AND s.startTm > {now}";
/// The start of the next showing.
const NEXT_TM: &str = "SELECT MIN(s.startTm) FROM Showing s WHERE s.eventId=t0.id AND s.startTm > {now}";
/// Tickets paid in the last seven days (ticketing.md §7 heat).
const HEAT: &str = "SELECT COUNT(*) FROM Ticket k WHERE k.eventId=t0.id AND k.status IN ('OK','US') \
                    AND k.paidTm >= {now-7d}";

/// Serves Event: the public catalogue, the store's own events, everything for the admin.
pub fn register(reg: &mut Registry) {
    use Role::*;
    reg.register("Event", &[Guest, User], Arc::new(Event(decl().allow(&[Op::Get, Op::Query]))));
    // The store comes from the venue: staff name one of theirs, the admin any store's.
    let staff = decl()
        .allow(&super::venue::STAFF_OPS)
        .required(&[&["venueId"]])
        .readonly(&["storeId", "cityId", "createTm"])
        .readonly_on_set(&["kind", "movieId", "venueId"]);
    reg.register("Event", &[Emp, Admin], Arc::new(Event(staff)));
}

fn decl() -> Decl {
    Decl::new("Event")
        .vcols(vec![
            VCol::new(&["c.name cityName"]).join("LEFT JOIN City c ON c.id=t0.cityId").default_on(),
            VCol::new(&["v.name venueName"]).join("LEFT JOIN Venue v ON v.id=t0.venueId").default_on(),
            VCol::computed(format!("({MIN_PRICE})"), "minPrice").money(&["minPrice"]).default_on(),
            VCol::computed(format!("({NEXT_TM})"), "nextTm").default_on(),
            VCol::computed(format!("({HEAT})"), "heat").default_on(),
            label_vcol("kind", "kindName", &KINDS),
            label_vcol("status", "statusName", &STATUS),
        ])
        .subobjs(vec![SubObj::new("showings", "Showing", "eventId")
            .only("t0.startTm > {now}")
            .orderby("startTm")
            .in_get()])
        // q: name, cast and venue (seed 000: keyword search); every word must appear in one of them.
        .q_fields("name,cast,venueName")
        .tm_col("createTm")
}

/// An event for one kind of caller.
pub struct Event(Decl);

/// The order of a sort mode; `q` (relevance) binds the search words.
pub fn sort_order(mode: i64, q: Option<&str>) -> ApiResult<(String, Vec<SqlValue>)> {
    let heat = format!("({HEAT}) DESC");
    let tail = "t0.id DESC";
    Ok(match mode {
        0 => match q.map(str::trim).filter(|q| !q.is_empty()) {
            // Name hits first (exact, then containing the words), then cast, then venue; heat breaks ties.
            Some(q) => {
                let like = format!("%{}%", q.split_whitespace().collect::<Vec<_>>().join("%"));
                (
                    format!(
                        "CASE WHEN t0.name=? THEN 0 WHEN t0.name LIKE ? THEN 1 WHEN t0.\"cast\" LIKE ? THEN 2 \
                         ELSE 3 END, {heat}, {tail}"
                    ),
                    vec![q.into(), like.clone().into(), like.into()],
                )
            }
            None => (format!("{heat}, {tail}"), vec![]),
        },
        1 => (format!("{heat}, {tail}"), vec![]),
        2 => (format!("({NEXT_TM}) IS NULL, ({NEXT_TM}), {tail}"), vec![]),
        3 => (format!("({MIN_PRICE}) IS NULL, ({MIN_PRICE}), {tail}"), vec![]),
        4 => (format!("({MIN_PRICE}) IS NULL, ({MIN_PRICE}) DESC, {tail}"), vec![]),
        m => return Err(ApiError::param(format!("排序方式`sort`只能是0-4, 不能是{m}"))),
    })
}

/// A `YYYY-MM-DD` search parameter.
fn date_param(p: &Params, name: &str) -> ApiResult<Option<NaiveDate>> {
    match p.str(name).filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::param(format!("`{name}`须是日期YYYY-MM-DD, 不能是`{s}`"))),
    }
}

/// The search parameters of `Event.query` as scope conditions and order.
fn search(p: &Params, scope: &mut Scope) -> ApiResult<()> {
    if let Some(city) = p.int("cityId")? {
        scope.eq("cityId", city);
    }
    for f in ["category", "kind"] {
        if let Some(v) = p.str(f).filter(|v| !v.is_empty()) {
            scope.eq(f, v);
        }
    }
    let (from, to) = (date_param(p, "fromDt")?, date_param(p, "toDt")?);
    if from.is_some() || to.is_some() {
        let lo = from.map(|d| format!("{d} 00:00:00")).unwrap_or_else(|| "1000-01-01 00:00:00".into());
        let hi = to.and_then(|d| d.succ_opt()).map(|d| format!("{d} 00:00:00")).unwrap_or_else(|| "9999-12-31".into());
        if lo >= hi {
            return Err(ApiError::param("开始日期`fromDt`不能晚于结束日期`toDt`"));
        }
        scope.sql(
            "EXISTS (SELECT 1 FROM Showing s WHERE s.eventId=t0.id AND s.startTm >= ? AND s.startTm < ?)",
            vec![lo.into(), hi.into()],
        );
    }
    let mode = p.int("sort")?.unwrap_or(0);
    let (order, params) = sort_order(mode, p.str("q").as_deref())?;
    scope.order_by(&order, params);
    Ok(())
}

impl Object for Event {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, p: &Params, scope: &mut Scope) -> ApiResult<()> {
        store_rows(ctx, scope, PUBLIC)?;
        if scope.guards_write {
            return Ok(());
        }
        search(p, scope)
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        check_code(w, "kind", &KINDS)?;
        check_code(w, "status", &STATUS)?;
        if let Some(n) = w.fields.get("maxPerOrder") {
            if crate::api::params::value_to_int(n).filter(|n| (1..=20).contains(n)).is_none() {
                return Err(ApiError::param("每单限购张数(maxPerOrder)须是1-20"));
            }
        }
        if w.op != Op::Add {
            return Ok(());
        }
        let venue = int_field(w, "venueId").ok_or_else(|| ApiError::missing("venueId"))?;
        let row = parent_of_store(ctx, "SELECT storeId, cityId FROM Venue WHERE id=?", venue, "场馆")?;
        let store = int_at(&row, 0).unwrap_or(0);
        w.fields.insert("storeId".into(), json!(store));
        w.fields.insert("cityId".into(), json!(int_at(&row, 1)));
        let store_kind = ctx
            .scalar("SELECT kind FROM Store WHERE id=?", &[store.into()])?
            .and_then(|v| if let crate::query::SqlValue::Text(t) = v { Some(t) } else { None })
            .unwrap_or_default();
        let kind = str_field(w, "kind").unwrap_or_else(|| if store_kind == "cinema" { "movie" } else { "show" }.into());
        match (store_kind.as_str(), kind.as_str()) {
            ("cinema", "show") => return Err(ApiError::param("影院只能添加电影")),
            (k, "movie") if k != "cinema" => return Err(ApiError::param("只有影院可以添加电影")),
            _ => {}
        }
        w.fields.insert("kind".into(), json!(kind));
        if kind == "movie" {
            let movie = int_field(w, "movieId").ok_or_else(|| ApiError::param("请指定影片(movieId)"))?;
            let mut m = None;
            ctx.query("SELECT name, \"cast\", category, posterId FROM Movie WHERE id=?", &[movie.into()], |r| {
                m = Some((
                    r.get::<Option<String>>(0)?,
                    r.get::<Option<String>>(1)?,
                    r.get::<Option<String>>(2)?,
                    r.get::<Option<i64>>(3)?,
                ));
                Ok(())
            })?;
            let (name, cast, category, poster) = m.ok_or_else(|| ApiError::param(format!("影片#{movie}不存在")))?;
            let copied = [
                ("name", name.map(Value::from)),
                ("cast", cast.map(Value::from)),
                ("category", category.map(Value::from)),
                ("posterId", poster.map(Value::from)),
            ];
            for (f, v) in copied {
                if let (Some(v), false) = (v, w.fields.contains_key(f)) {
                    w.fields.insert(f.into(), v);
                }
            }
        } else {
            w.fields.remove("movieId");
        }
        if str_field(w, "name").is_none() {
            return Err(ApiError::missing("name"));
        }
        w.fields.entry("status").or_insert(json!("DR"));
        w.fields.entry("maxPerOrder").or_insert(json!(5));
        w.fields.insert("createTm".into(), json!(crate::db::now_str()));
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        if let (Op::Del, Some(id)) = (op, id) {
            if ctx.scalar_int("SELECT COUNT(*) FROM Showing WHERE eventId=?", &[id.into()])?.unwrap_or(0) > 0 {
                return Err(ApiError::with_msg(Code::Forbidden, "演出已有场次, 不能删除, 可以停售"));
            }
        }
        Ok(())
    }
}

/// True if the caller may see the event (public: on sale at an approved store).
pub fn visible(ctx: &mut Ctx, event: i64) -> ApiResult<bool> {
    let (sql, params): (String, Vec<SqlValue>) = match Viewer::of(ctx)? {
        Viewer::Public => (format!("SELECT 1 FROM Event t0 WHERE t0.id=? AND {PUBLIC}"), vec![event.into()]),
        Viewer::Store(s) => {
            ("SELECT 1 FROM Event t0 WHERE t0.id=? AND t0.storeId=?".into(), vec![event.into(), s.into()])
        }
        Viewer::Platform => ("SELECT 1 FROM Event t0 WHERE t0.id=?".into(), vec![event.into()]),
    };
    Ok(ctx.scalar(&sql, &params)?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sort_mode_has_an_order_and_others_are_refused() {
        for m in 0..=4 {
            let (o, _) = sort_order(m, None).unwrap();
            assert!(o.ends_with("t0.id DESC"), "mode {m}: {o}");
        }
        let (o, params) = sort_order(0, Some("天鹅 湖")).unwrap();
        assert!(o.starts_with("CASE WHEN t0.name=?"));
        assert_eq!(params, vec![SqlValue::from("天鹅 湖"), SqlValue::from("%天鹅%湖%"), SqlValue::from("%天鹅%湖%")]);
        assert!(sort_order(3, None).unwrap().0.contains("IS NULL"), "events without a price sort last");
        assert_eq!(sort_order(5, None).unwrap_err().code, Code::Param);
        assert_eq!(sort_order(-1, None).unwrap_err().code, Code::Param);
    }
}
