//! `Movie` and `License`: the platform's film catalogue (kept by the admin) and the screening rights a
//! cinema holds (DESIGN.md 票务: 影片与放映许可; seeds 001/002 "buy the screening right").

use std::sync::Arc;

use super::scope::{int_field, store_rows, str_field};
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::crud::{Decl, Object, Op, Registry, Role, Scope, VCol, Write};
use crate::error::{ApiError, ApiResult, Code};

/// Serves Movie (read by all, kept by the admin) and License (read by its cinema, granted by the admin).
pub fn register(reg: &mut Registry) {
    use Role::*;
    let movie = || Decl::new("Movie").q_fields("id!,name,cast").default_sort("id DESC");
    reg.register("Movie", &[Guest, User, Emp], Arc::new(Movie(movie().allow(&[Op::Get, Op::Query]))));
    let admin = movie().allow(&super::venue::STAFF_OPS).required(&[&["name"], &["duration"]]);
    reg.register("Movie", &[Admin], Arc::new(Movie(admin)));
    let license = || {
        Decl::new("License").vcols(vec![VCol::new(&["m.name movieName", "s.name storeName"])
            .join("LEFT JOIN Movie m ON m.id=t0.movieId LEFT JOIN Store s ON s.id=t0.storeId")
            .default_on()])
    };
    reg.register("License", &[Emp], Arc::new(License(license().allow(&[Op::Get, Op::Query]))));
    let admin = license().required(&[&["storeId"], &["movieId"], &["fromDt"], &["toDt"]]);
    reg.register("License", &[Admin], Arc::new(License(admin.allow(&super::venue::STAFF_OPS))));
}

/// A film of the platform catalogue.
pub struct Movie(Decl);

impl Object for Movie {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_validate(&self, _ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if let Some(d) = w.fields.get("duration") {
            let ok = crate::api::params::value_to_int(d).filter(|m| (1..=600).contains(m));
            if ok.is_none() {
                return Err(ApiError::param("片长(duration)须是1-600分钟"));
            }
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        if let (Op::Del, Some(id)) = (op, id) {
            if ctx.scalar_int("SELECT COUNT(*) FROM Event WHERE movieId=?", &[id.into()])?.unwrap_or(0) > 0 {
                return Err(ApiError::with_msg(Code::Forbidden, "影片已有影院排映, 不能删除"));
            }
        }
        Ok(())
    }
}

/// A cinema's right to screen a movie between two dates.
pub struct License(Decl);

impl Object for License {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        store_rows(ctx, scope, "0=1").map(|_| ())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if let Some(store) = int_field(w, "storeId") {
            let kind = ctx.scalar("SELECT kind FROM Store WHERE id=?", &[store.into()])?;
            match kind {
                None => return Err(ApiError::param(format!("商户#{store}不存在"))),
                Some(crate::query::SqlValue::Text(k)) if k == "cinema" => {}
                Some(_) => return Err(ApiError::param("只有影院可以持有放映许可")),
            }
        }
        if let Some(m) = int_field(w, "movieId") {
            if ctx.scalar_int("SELECT id FROM Movie WHERE id=?", &[m.into()])?.is_none() {
                return Err(ApiError::param(format!("影片#{m}不存在")));
            }
        }
        let dates = (str_field(w, "fromDt"), str_field(w, "toDt"));
        for d in [&dates.0, &dates.1].into_iter().flatten() {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(ApiError::param(format!("日期`{d}`须是YYYY-MM-DD")));
            }
        }
        if let (Some(from), Some(to)) = dates {
            if from > to {
                return Err(ApiError::param("许可开始日期不能晚于结束日期"));
            }
        }
        Ok(())
    }
}
