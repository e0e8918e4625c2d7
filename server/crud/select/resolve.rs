//! Name resolution: every identifier of a request's expressions becomes the schema's own SQL here, or is
//! refused. This is where "readable by this role" holds for every expression form (issue 8).

use std::collections::HashMap;

use super::json::Kind;
use crate::crud::object::Decl;
use crate::db::dialect::Dialect;
use crate::error::{ApiError, ApiResult};
use crate::meta::Table;
use crate::query::Resolve;

/// Time-dimension names (protocol §3.5), in the order `tmCols` produces them.
pub const TIME_DIMS: [&str; 7] = ["y", "q", "m", "w", "d", "wd", "h"];

/// Resolves identifiers for one object: columns, virtual columns, time dimensions and (where allowed)
/// result aliases. Records which vcol groups were used so their joins are added once.
pub struct Resolver<'a> {
    pub table: &'a Table,
    pub decl: &'a Decl,
    pub dialect: &'a dyn Dialect,
    pub used: Vec<bool>,
    /// Result aliases usable in orderby/gcond, each with the expression behind it when that binds no
    /// values (`cnt` for `COUNT(*) cnt`, a `gres` alias for its column): `gcond` names them by alias,
    /// and a HAVING clause must repeat the expression on PostgreSQL (only SQLite resolves output
    /// aliases there).
    pub aliases: HashMap<String, Option<String>>,
    /// Set while `gcond` is resolved: aliases with an expression stand for it.
    pub expand_aliases: bool,
    /// The column the time dimensions are taken from (`tmField`, else the object's `tm_col`).
    pub tm_col: Option<String>,
}

impl<'a> Resolver<'a> {
    pub fn new(table: &'a Table, decl: &'a Decl, dialect: &'a dyn Dialect) -> Resolver<'a> {
        Resolver {
            table,
            decl,
            dialect,
            used: vec![false; decl.vcols.len()],
            aliases: HashMap::new(),
            expand_aliases: false,
            tm_col: decl.tm_col.map(str::to_string),
        }
    }

    /// The column of the main table with this name.
    pub fn column(&self, name: &str) -> Option<&'a crate::meta::Column> {
        self.table.column(name)
    }

    /// A vcol field: (group index, expression, output kind).
    fn vcol(&self, name: &str) -> Option<(usize, &'a str, Kind)> {
        self.decl.vcols.iter().enumerate().find_map(|(i, g)| {
            let kind = if g.money.contains(&name) { Kind::Decimal } else { Kind::Auto };
            g.fields.iter().find(|(_, n)| n == name).map(|(e, _)| (i, e.as_ref(), kind))
        })
    }

    /// The SQL of a time dimension over the object's `tm_col`.
    fn time_dim(&self, name: &str) -> Option<String> {
        let col = self.tm_col.as_deref()?;
        if !TIME_DIMS.contains(&name) || self.table.column(col).is_none() {
            return None;
        }
        Some(self.dialect.time_part(name, &format!("t0.{}", self.dialect.quote_ident(col))))
    }

    /// Resolves a name written in the request and tells its output kind.
    ///
    /// Every identifier of every expression form (`res` items and their aliases' sources, aggregate
    /// arguments, `gres`, `cond`, `gcond`, `orderby`, `q`/`qsearch` fields, sub-object reads) is resolved
    /// here, so this is where "readable by this role" is enforced: a field the object hides from its
    /// role (`Decl::is_hidden`) is E_FORBIDDEN whatever expression names it, and its value can neither be
    /// output nor filter or order the answer.
    pub fn field_kind(&mut self, name: &str) -> ApiResult<(String, Kind)> {
        let bare = name.strip_prefix("t0.").unwrap_or(name);
        if self.decl.is_hidden(bare) && (self.table.column(bare).is_some() || self.vcol(bare).is_some()) {
            return Err(not_readable(&self.table.name, bare));
        }
        self.resolve_trusted(name)
    }

    /// Resolves a name without the readability check: only for names the developer declared (a vcol
    /// group's `require`), never for request text.
    fn resolve_trusted(&mut self, name: &str) -> ApiResult<(String, Kind)> {
        if let Some(col) = name.strip_prefix("t0.") {
            return match self.table.column(col) {
                Some(c) => Ok((format!("t0.{}", self.dialect.quote_ident(&c.name)), Kind::of(&c.ty))),
                None => Err(unknown(name)),
            };
        }
        if name.contains('.') {
            return Err(ApiError::bad_param(format!("bad property `{name}`")));
        }
        if self.expand_aliases {
            if let Some(Some(e)) = self.aliases.get(name) {
                return Ok((e.clone(), Kind::Auto));
            }
        }
        if let Some(c) = self.table.column(name) {
            return Ok((format!("t0.{}", self.dialect.quote_ident(&c.name)), Kind::of(&c.ty)));
        }
        if let Some((i, expr, kind)) = self.vcol(name) {
            self.used[i] = true;
            return Ok((format!("({})", self.dialect.expand(expr)), kind));
        }
        if let Some(e) = self.time_dim(name) {
            return Ok((e, Kind::Int));
        }
        if self.aliases.contains_key(name) {
            return Ok((self.dialect.quote_ident(name), Kind::Auto));
        }
        Err(unknown(name))
    }

    /// The joins of the vcol groups used so far (plus the joins of groups they require).
    pub fn joins(&mut self) -> ApiResult<Vec<String>> {
        // `require` may name fields of other groups; resolve until nothing new is used.
        loop {
            let before = self.used.clone();
            for i in 0..self.used.len() {
                if self.used[i] {
                    for r in self.decl.vcols[i].require {
                        self.resolve_trusted(r)?;
                    }
                }
            }
            if before == self.used {
                break;
            }
        }
        let mut out: Vec<String> = Vec::new();
        for (i, g) in self.decl.vcols.iter().enumerate() {
            if let (true, Some(j)) = (self.used[i], g.join) {
                if !out.iter().any(|o| o == j) {
                    out.push(j.to_string());
                }
            }
        }
        Ok(out)
    }
}

impl Resolve for Resolver<'_> {
    fn field(&mut self, name: &str) -> ApiResult<String> {
        self.field_kind(name).map(|(e, _)| e)
    }
}

fn unknown(name: &str) -> ApiError {
    ApiError::bad_param(format!("unknown field `{name}`"))
}

/// The refusal of a field the caller's role may not read (protocol §9.14).
pub fn not_readable(table: &str, field: &str) -> ApiError {
    ApiError::with_msg(crate::error::Code::Forbidden, format!("字段`{field}`不可读"))
        .internal(format!("field `{table}.{field}` is not readable for this role"))
}
