//! A read request, parsed once: what `get`/`query` were asked for (`res`, `gres`, `cond`, `q`, `qsearch`,
//! `gcond`, `orderby`, `distinct`, `tmField`, paging), as typed values. The public path parses it from
//! the call's parameters ([`ReadReq::parse`]); internal callers (uniKey, add with `res`, `statRes`,
//! sub-objects) build one directly instead of re-encoding parameters as text.

use crate::api::params::Params;
use crate::error::{ApiError, ApiResult};
use crate::query::{self, Cond, GresItem, OrderItem, ResItem};

/// The parsed read parameters (protocol §4).
#[derive(Debug, Clone, Default)]
pub struct ReadReq {
    /// `res`; `None` = the default (`*`, or nothing when grouping).
    pub res: Option<Vec<ResItem>>,
    /// `gres`, and `gresHidden` (group columns left out of the output).
    pub gres: Vec<GresItem>,
    pub gres_hidden: bool,
    /// `cond` from the URL and the body, each already parsed (all must hold).
    pub conds: Vec<Cond>,
    /// `q`: words searched in the object's declared `q` fields.
    pub q: Option<String>,
    /// `qsearch=f1,f2:words`.
    pub qsearch: Option<Cond>,
    /// `gcond` (HAVING).
    pub gcond: Option<Cond>,
    /// `orderby` (or easyui `sort`/`order`); `None` = the object's default.
    pub orderby: Option<Vec<OrderItem>>,
    pub distinct: bool,
    /// `tmField`: the column the time dimensions are taken from.
    pub tm_field: Option<String>,
}

impl ReadReq {
    /// True when the call asked for nothing but the default read: no `res`, `gres`, `cond`, `q`,
    /// `qsearch`, `gcond`, `orderby`, `distinct` or `tmField`. Its plan then depends only on the object,
    /// the table and the scope (see `read::ReadPlans`).
    pub fn is_default(&self) -> bool {
        let ReadReq { res, gres, gres_hidden, conds, q, qsearch, gcond, orderby, distinct, tm_field } = self;
        res.is_none()
            && gres.is_empty()
            && !gres_hidden
            && conds.is_empty()
            && q.is_none()
            && qsearch.is_none()
            && gcond.is_none()
            && orderby.is_none()
            && !distinct
            && tm_field.is_none()
    }

    /// Parses the read parameters of a call. Syntax errors are E_PARAM (or E_FORBIDDEN for function calls
    /// and sub-queries); names are resolved later, by the plan, against the schema and the role.
    pub fn parse(p: &Params) -> ApiResult<ReadReq> {
        let res = match p.str("res") {
            Some(t) if t.trim().is_empty() => Some(Vec::new()),
            Some(t) => Some(query::parse_res(&t)?),
            None => None,
        };
        let gres = match p.str("gres") {
            Some(g) => query::parse_gres(&g)?,
            None => Vec::new(),
        };
        // easyui's `sort`/`order` name a column; a number in `sort` is an object's own sort mode
        // (`Event.query(sort=3)`), left to its hook.
        let easyui_sort = p.str("sort").filter(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()));
        let orderby =
            p.str("orderby").or_else(|| easyui_sort.map(|s| format!("{s} {}", p.str("order").unwrap_or_default())));
        Ok(ReadReq {
            res,
            gres,
            gres_hidden: p.flag("gresHidden")?,
            conds: Self::conds(p)?,
            q: p.str("q"),
            qsearch: match p.str("qsearch") {
                Some(qs) => query::parse_qsearch_param(&qs)?,
                None => None,
            },
            gcond: match p.str("gcond") {
                Some(g) => query::parse_cond(&g)?,
                None => None,
            },
            orderby: orderby.map(|o| query::parse_orderby(&o)).transpose()?,
            distinct: p.flag("distinct")?,
            tm_field: p.str("tmField"),
        })
    }

    /// The `cond` parameters of a call (URL and body, every form), parsed: what reads and the
    /// conditional writes (setIf, delIf, the ownership check of set/del) filter by.
    pub fn conds(p: &Params) -> ApiResult<Vec<Cond>> {
        let mut out = Vec::new();
        for v in p.get_both("cond") {
            if let Some(c) = query::parse_cond_value(v)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// A request for these `res` items only.
    pub fn with_res(res: Vec<ResItem>) -> ReadReq {
        ReadReq { res: Some(res), ..Default::default() }
    }

    /// The same filter with other result items, no grouping and no order: `statRes` over the whole set.
    pub fn for_totals(&self, res: Vec<ResItem>) -> ReadReq {
        ReadReq { res: Some(res), gres: Vec::new(), orderby: Some(Vec::new()), ..self.clone() }
    }
}

/// Page size, key and number from the request (protocol §4.4, §9.7).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub size: i64,
    pub key: Option<i64>,
    pub page: Option<i64>,
}

/// The parameters that give a page size, the first one present winning (`rows` is easyui's name).
pub const PAGE_SIZE_PARAMS: [&str; 3] = ["pagesz", "rows", "_pagesz"];

/// True for the output formats that read the whole result (up to the object's cap) when no page size is
/// given: `array`, and the keyed shapes `hash`, `multihash` (with or without a key spec) and `tree`.
pub fn reads_whole(fmt: &str) -> bool {
    fmt == "array" || fmt == "tree" || fmt.starts_with("hash") || fmt.starts_with("multihash")
}

/// Reads paging parameters; `cap` is the object's maximum page size.
pub fn paging(p: &Params, fmt: &str, cap: i64) -> ApiResult<Paging> {
    let first_int = |names: &[&str]| -> ApiResult<Option<i64>> {
        for n in names {
            if let Some(v) = p.int(n)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let size = match first_int(&PAGE_SIZE_PARAMS)? {
        Some(0) => 20,
        Some(n) if n < 0 || n > cap => cap,
        Some(n) => n,
        None if reads_whole(fmt) => cap,
        None => match fmt {
            "one" | "one?" => 1,
            _ => 20,
        },
    };
    let key = first_int(&["pagekey", "_pagekey"])?;
    let page = first_int(&["page"])?;
    if let Some(pg) = page {
        if pg < 1 {
            return Err(ApiError::bad_param(format!("bad page: {pg}")));
        }
    }
    Ok(Paging { size, key, page })
}

/// `hiddenFields=a,b`: output fields the caller asks to leave out.
pub fn hidden_fields(p: &Params) -> Vec<String> {
    p.str("hiddenFields")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default()
}
