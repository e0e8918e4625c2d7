//! Reads written straight to JSON text: the common shapes of `query` (`h/d`, `list`, `array`) and
//! `get`, from the database row to the answer's bytes with no `Value` per cell.
//!
//! The general path builds a [`RowSet`](super::rows::RowSet) of `Value`s, lets sub-objects and the
//! row hook change it, then serializes it: for a 20-row page that was half the call's work. When a
//! read has none of what needs the values (sub-objects, a row hook, `sumFields`), this writes each
//! cell as it comes from the row, with the same text the general path would produce (enum labels,
//! hidden fields and `hiddenFields`, `nextkey`, `total`, `stat` included). A kept get with list
//! sub-objects is written here too: its own columns ([`TextRows::of_columns`]), then each sub-object's
//! rows ([`append_rows`]). Which path answered is invisible to a client; `tests/api` checks both give
//! the same answers.

use std::borrow::Cow;

use serde_json::Value;

use super::object::Object;
use super::select::{hidden_fields, map_enum, to_json, write_json, write_str, write_text, Kind, Plan};
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::db::conn::{Cell, Row, Val};
use crate::error::ApiResult;
use crate::query::SqlValue;

/// What the answer looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// `{"h":[names],"d":[[values]...], extras}` (the default).
    Table,
    /// `{"list":[{...}...], extras}`.
    List,
    /// `[{...}...]`.
    Array,
    /// One object: the row of a `get`.
    Object,
}

impl Shape {
    /// The shape of a query format, if it is one this module writes.
    pub fn of_fmt(fmt: &str) -> Option<Shape> {
        match fmt {
            "" => Some(Shape::Table),
            "list" => Some(Shape::List),
            "array" => Some(Shape::Array),
            _ => None,
        }
    }

    fn objects(self) -> bool {
        self != Shape::Table
    }
}

/// One output column: where it is in the SELECT, its JSON key (quoted and escaped once), how its
/// values are written.
struct Col<'p> {
    at: usize,
    key: Vec<u8>,
    kind: Kind,
    labels: Option<Cow<'p, [(String, String)]>>,
}

/// The columns a read writes, in output order, and where its `id` is.
pub struct TextRows<'p> {
    shape: Shape,
    cols: Vec<Col<'p>>,
    id: Option<(usize, Kind)>,
}

impl<'p> TextRows<'p> {
    /// The writer for `plan` in `shape`, or `None` when the read needs the general path: sub-objects,
    /// a row hook, `sumFields`, or two output columns of one name in a shape that prints objects.
    pub fn new(obj: &dyn Object, plan: &'p Plan, p: &Params, shape: Shape) -> Option<TextRows<'p>> {
        if !plan.subs.is_empty() {
            return None;
        }
        TextRows::of_columns(obj, plan, p, shape)
    }

    /// The writer of the plan's own columns, sub-objects or not: the parent row of a get whose
    /// sub-objects the caller writes after them (`crud::read`). `None` for a row hook, `sumFields`, or
    /// two output columns of one name in a shape that prints objects.
    pub fn of_columns(obj: &dyn Object, plan: &'p Plan, p: &Params, shape: Shape) -> Option<TextRows<'p>> {
        let decl = obj.decl();
        if decl.row_hook || p.str("sumFields").is_some() {
            return None;
        }
        let extra_hidden = hidden_fields(p);
        let mut cols = Vec::with_capacity(plan.out.len());
        for (at, c) in plan.out.iter().enumerate() {
            if c.hidden || decl.is_hidden(&c.name) || extra_hidden.contains(&c.name) {
                continue;
            }
            if shape.objects() && plan.out[..at].iter().any(|o| o.name == c.name) {
                return None;
            }
            let mut key = Vec::with_capacity(c.name.len() + 3);
            write_str(&mut key, &c.name);
            let labels = plan.enums.iter().find(|(f, _)| *f == c.name).map(|(_, l)| Cow::Borrowed(l.as_slice()));
            cols.push(Col { at, key, kind: c.kind, labels });
        }
        let id = plan.out.iter().position(|c| c.name == "id").map(|i| (i, plan.out[i].kind));
        Some(TextRows { shape, cols, id })
    }

    /// The same writer holding its own copy of the enum labels, to be kept with a plan (`ReadPlans`).
    pub fn into_owned(self) -> TextRows<'static> {
        let cols = self
            .cols
            .into_iter()
            .map(|c| Col { at: c.at, key: c.key, kind: c.kind, labels: c.labels.map(|l| Cow::Owned(l.into_owned())) })
            .collect();
        TextRows { shape: self.shape, cols, id: self.id }
    }

    /// Writes what comes before the first row.
    fn head(&self, out: &mut Vec<u8>) {
        match self.shape {
            Shape::Table => {
                out.extend_from_slice(b"{\"h\":[");
                for (i, c) in self.cols.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&c.key);
                }
                out.extend_from_slice(b"],\"d\":[");
            }
            Shape::List => out.extend_from_slice(b"{\"list\":["),
            Shape::Array => out.push(b'['),
            Shape::Object => {}
        }
    }

    /// Writes one row.
    fn row(&self, out: &mut Vec<u8>, r: &Row) -> ApiResult<()> {
        let objects = self.shape.objects();
        out.push(if objects { b'{' } else { b'[' });
        for (i, c) in self.cols.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if objects {
                out.extend_from_slice(&c.key);
                out.push(b':');
            }
            match &c.labels {
                None => write_cell(out, r, c.at, c.kind)?,
                Some(labels) => {
                    let v = r.get_ref(c.at)?;
                    let _ = serde_json::to_writer(&mut *out, &map_enum(&to_json(v, c.kind), labels));
                }
            }
        }
        out.push(if objects { b'}' } else { b']' });
        Ok(())
    }

    /// Writes what follows the rows: the extras of `Table` and `List` (in the general path's order).
    fn tail(&self, out: &mut Vec<u8>, nextkey: Option<Value>, total: Option<i64>, stat: Option<&Value>) {
        if matches!(self.shape, Shape::Object) {
            return;
        }
        out.push(b']');
        if self.shape == Shape::Array {
            return;
        }
        let mut extra = |key: &[u8], v: &Value| {
            out.extend_from_slice(key);
            let _ = serde_json::to_writer(&mut *out, v);
        };
        if let Some(k) = nextkey {
            extra(b",\"nextkey\":", &k);
        }
        if let Some(t) = total {
            extra(b",\"total\":", &Value::from(t));
        }
        if let Some(s) = stat {
            extra(b",\"stat\":", s);
        }
        out.push(b'}');
    }
}

/// Writes column `i` of `r` as [`write_json`] does; text as the database gave it goes to [`write_text`]
/// as bytes (unless it is to be read as a number) and a NULL is written in place, with no `Val` made for
/// them.
fn write_cell(out: &mut Vec<u8>, r: &Row, i: usize, kind: Kind) -> ApiResult<()> {
    match r.cell(i)? {
        // Most cells of a wide row are empty.
        Cell::Null => out.extend_from_slice(b"null"),
        Cell::Text(t) if kind != Kind::Int => write_text(out, t),
        Cell::Text(t) => write_json(out, Val::of_text(t), kind),
        Cell::Other(v) => write_json(out, v, kind),
    }
    Ok(())
}

/// Runs `sql` and appends its rows to `out` in the writer's shape with no extras (`[{...},...]` for
/// `Array`): the sub-objects of a get written as text.
pub fn append_rows(ctx: &mut Ctx, tr: &TextRows, sql: &str, params: &[SqlValue], out: &mut Vec<u8>) -> ApiResult<()> {
    write_rows(ctx, tr, sql, params, usize::MAX, false, out)?;
    tr.tail(out, None, None, None);
    Ok(())
}

/// What [`write_rows`] wrote: how many rows, whether a row beyond `size` came back, and (when asked
/// for) the `id` of the last row written as the general path gives it.
struct Written {
    rows: usize,
    more: bool,
    last_id: Option<Value>,
}

/// Runs `sql` and appends the writer's head and up to `size` rows to `out` (the tail is the caller's).
fn write_rows(
    ctx: &mut Ctx,
    tr: &TextRows,
    sql: &str,
    params: &[SqlValue],
    size: usize,
    keep_id: bool,
    out: &mut Vec<u8>,
) -> ApiResult<Written> {
    tr.head(out);
    let mut w = Written { rows: 0, more: false, last_id: None };
    ctx.query(sql, params, |r| {
        if w.rows == size {
            w.more = true;
            return Ok(());
        }
        if w.rows > 0 {
            out.push(b',');
        }
        tr.row(out, r)?;
        if let Some((i, kind)) = tr.id.filter(|_| keep_id) {
            w.last_id = Some(to_json(r.get_ref(i)?, kind));
        }
        w.rows += 1;
        Ok(())
    })?;
    Ok(w)
}

/// A page of a query written as text.
pub struct Page {
    pub text: Vec<u8>,
    /// Rows written.
    pub rows: usize,
}

/// Runs `sql` and writes up to `size` rows, then the extras from `extras(more, last_id)`: `more` when
/// a row beyond `size` came back, `last_id` the `id` of the last row written as the general path
/// gives it.
pub fn write_page(
    ctx: &mut Ctx,
    tr: &TextRows,
    sql: &str,
    params: &[SqlValue],
    size: usize,
    extras: impl FnOnce(bool, Option<Value>) -> (Option<Value>, Option<i64>, Option<Value>),
) -> ApiResult<Page> {
    let mut text = Vec::with_capacity(256 + size.min(1000) * 32 * tr.cols.len().max(1));
    let w = write_rows(ctx, tr, sql, params, size, true, &mut text)?;
    let (nextkey, total, stat) = extras(w.more, w.last_id);
    tr.tail(&mut text, nextkey, total, stat.as_ref());
    Ok(Page { text, rows: w.rows })
}
