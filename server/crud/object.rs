//! What an application object declares, and the hooks it may implement (protocol §3.4).
//!
//! An object is mostly data: the table it serves, the operations allowed, readonly/required/hidden
//! fields, virtual columns and sub-objects, declared in one style, with the builder methods of [`Decl`],
//! [`VCol`] and [`SubObj`] (`Decl::new("User").allow(..).readonly(&["pwd"])`). A declaration is a value
//! made of the source's own static text (`&'static str` and static slices, no copies; most builders are
//! `const fn`); only what is computed at start-up (the design's table names, a CASE expression built
//! from a label table) is owned, through [`Text`]. The few rules that are code go into `Object` hooks, whose
//! defaults do nothing. Role differences are chosen by the registry (one object per (name, app type)),
//! not by an inheritance chain.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::rows::Row;
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::api::Reply;
use crate::error::ApiResult;
use crate::query::SqlValue;

/// The standard operations that `allowed` guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Add,
    Set,
    Get,
    Query,
    Del,
    SetIf,
    DelIf,
}

impl Op {
    /// The op named in an action, e.g. `query` in `Ordr.query`.
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "add" => Op::Add,
            "set" => Op::Set,
            "get" => Op::Get,
            "query" => Op::Query,
            "del" => Op::Del,
            "setIf" => Op::SetIf,
            "delIf" => Op::DelIf,
            _ => return None,
        })
    }

    /// The protocol name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Set => "set",
            Op::Get => "get",
            Op::Query => "query",
            Op::Del => "del",
            Op::SetIf => "setIf",
            Op::DelIf => "delIf",
        }
    }

    /// Every op; handy for declaring "all but ...".
    pub const ALL: [Op; 7] = [Op::Add, Op::Set, Op::Get, Op::Query, Op::Del, Op::SetIf, Op::DelIf];
}

/// Declaration text: `&'static str` for what is written in the source (the usual case, no copy),
/// owned for what is made at start-up (the design's table names, an enum's CASE expression).
pub type Text = Cow<'static, str>;

/// A group of virtual columns sharing one join (protocol §3.5).
///
/// `fields` are `(sql expression, name)`; the expressions are developer-written SQL over the main
/// alias `t0` and the group's own join aliases, never request text.
#[derive(Debug, Clone, Default)]
pub struct VCol {
    pub fields: Vec<(Text, Text)>,
    pub join: Option<&'static str>,
    /// Included when `res` is absent or starts with `*`.
    pub default: bool,
    /// Other columns/vcols this group needs (pulled in as hidden helpers).
    pub require: &'static [&'static str],
    /// Fields that are money (decimal(19,2)): output as two-decimal strings like a decimal column.
    pub money: &'static [&'static str],
}

impl VCol {
    /// Fields written as `"expr name"` (the last word is the name; a lone word is a column of `t0`).
    pub fn new(fields: &[&'static str]) -> VCol {
        VCol { fields: fields.iter().map(|f| split_field(f)).collect(), ..Default::default() }
    }

    /// One field whose expression is made at start-up (`expr` is developer-written SQL, never request text).
    pub fn computed(expr: String, name: &'static str) -> VCol {
        VCol { fields: vec![(Cow::Owned(expr), Cow::Borrowed(name))], ..Default::default() }
    }

    /// Sets the join the fields need.
    pub const fn join(mut self, j: &'static str) -> VCol {
        self.join = Some(j);
        self
    }

    /// Marks the group as default.
    pub const fn default_on(mut self) -> VCol {
        self.default = true;
        self
    }

    /// Declares helper fields.
    pub const fn require(mut self, fields: &'static [&'static str]) -> VCol {
        self.require = fields;
        self
    }

    /// Marks fields as money: printed as two-decimal strings (`"80.00"`), as decimal columns are.
    pub const fn money(mut self, fields: &'static [&'static str]) -> VCol {
        self.money = fields;
        self
    }
}

/// `"u.name userName"` → (`u.name`, `userName`); `"status"` → (`t0."status"`, `status`).
fn split_field(f: &'static str) -> (Text, Text) {
    let f = f.trim();
    match f.rfind(' ') {
        Some(i) => (Cow::Borrowed(f[..i].trim()), Cow::Borrowed(&f[i + 1..])),
        None => (Cow::Owned(format!("t0.\"{f}\"")), Cow::Borrowed(f)),
    }
}

/// A sub-object: child rows of another object linked by a foreign key (protocol §5.2).
#[derive(Debug, Clone)]
pub struct SubObj {
    /// Field name in the parent's output (`orderLog`).
    pub name: &'static str,
    /// Child object name (`OrderLog`); its class for the caller's app type serves the read/write.
    pub obj: &'static str,
    /// Column of the child pointing at the parent id (`orderId`).
    pub fk: &'static str,
    /// Default child `res`.
    pub res: Option<&'static str>,
    /// Default child `orderby`.
    pub orderby: Option<&'static str>,
    /// Included in `get` without being named in `res`.
    pub default_get: bool,
    /// Included in `query` when `res` is absent or `*`.
    pub default_query: bool,
    /// How the children appear in the parent row.
    pub shape: SubShape,
    /// A developer-written condition over the child's `t0` that every child row must meet (`t0.startTm >
    /// {now}`: upcoming showings only). Placeholders as in vcols ([`crate::db::dialect::Dialect::expand`]).
    pub only: Option<&'static str>,
}

/// How a sub-object's rows appear in its parent's output (the reference's `wantOne` 0/1/2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubShape {
    /// An array of child rows.
    #[default]
    List,
    /// The first child row, or null.
    One,
    /// The first child row's fields merged into the parent row.
    Merged,
}

impl SubObj {
    /// A sub-object read and written through the child object `obj` by `fk`.
    pub const fn new(name: &'static str, obj: &'static str, fk: &'static str) -> SubObj {
        SubObj {
            name,
            obj,
            fk,
            res: None,
            orderby: None,
            default_get: false,
            default_query: false,
            shape: SubShape::List,
            only: None,
        }
    }

    /// The child `res` when the request names none.
    pub const fn res(mut self, res: &'static str) -> SubObj {
        self.res = Some(res);
        self
    }

    /// The child `orderby`.
    pub const fn orderby(mut self, orderby: &'static str) -> SubObj {
        self.orderby = Some(orderby);
        self
    }

    /// Included in `get` without being named in `res`.
    pub const fn in_get(mut self) -> SubObj {
        self.default_get = true;
        self
    }

    /// Included in `get` and in `query` (and so in a parent's sub-object read) without being named.
    pub const fn in_query(mut self) -> SubObj {
        self.default_get = true;
        self.default_query = true;
        self
    }

    /// How the children appear in the parent row.
    pub const fn shape(mut self, shape: SubShape) -> SubObj {
        self.shape = shape;
        self
    }

    /// Only the children meeting a developer-written condition (see [`SubObj::only`]).
    pub const fn only(mut self, cond: &'static str) -> SubObj {
        self.only = Some(cond);
        self
    }
}

/// The data part of an object.
#[derive(Debug, Clone, Default)]
pub struct Decl {
    /// Table served (defaults to the object name).
    pub table: Text,
    /// Allowed standard ops; `None` = all.
    pub allowed: Option<&'static [Op]>,
    /// Ops allowed only as a sub-object write through a parent (`Ordr.add` with `atts`), never called
    /// directly: the parent's own checks and ownership rules then apply first.
    pub parent_only: &'static [Op],
    /// Readonly on add and set (strict: writing one is E_FORBIDDEN, protocol §9.3).
    pub readonly: &'static [&'static str],
    /// Readonly on set only (the reference's `readonlyFields2`): given at add, fixed afterwards.
    pub readonly_on_set: &'static [&'static str],
    /// Required on add (each inner list is a one-of group); not emptiable on set.
    pub required: &'static [&'static [&'static str]],
    /// Not emptiable on set, but not required at add (the reference's `requiredFields2`).
    pub required_on_set: &'static [&'static str],
    /// Never output (`pwd` always is).
    pub hidden: &'static [&'static str],
    /// Fields no two rows may share (non-empty values), with the user message for a duplicate.
    /// Checked by add and set; setIf may not set them (one value on many rows).
    pub unique: &'static [(&'static str, &'static str)],
    pub vcols: Vec<VCol>,
    pub subobjs: Vec<SubObj>,
    /// Default `orderby` (default `t0.id`).
    pub default_sort: Option<&'static str>,
    /// Page-size cap (default 10000).
    pub max_page_sz: Option<i64>,
    /// Fields searched by `q=` (qsearch syntax: `a,b*,c!`).
    pub q_fields: Option<&'static str>,
    /// Source columns of time-dimension vcols (`y q m w d wd h`), e.g. `createTm`.
    pub tm_col: Option<&'static str>,
    /// Write ObjLog rows for writes (default true; log tables turn it off).
    pub no_objlog: bool,
    /// The object implements [`Object::on_handle_row`]: reads then build each row as values for it.
    /// Without it the hook is never called, and reads write their rows straight to text (`crud::text`).
    pub row_hook: bool,
}

impl Decl {
    /// A declaration for `table` with no restrictions.
    pub const fn new(table: &'static str) -> Decl {
        Decl::of(Cow::Borrowed(table))
    }

    /// A declaration for a table named at start-up (the design's tables the admin reaches).
    pub const fn of(table: Text) -> Decl {
        Decl {
            table,
            allowed: None,
            parent_only: &[],
            readonly: &[],
            readonly_on_set: &[],
            required: &[],
            required_on_set: &[],
            hidden: &[],
            unique: &[],
            vcols: Vec::new(),
            subobjs: Vec::new(),
            default_sort: None,
            max_page_sz: None,
            q_fields: None,
            tm_col: None,
            no_objlog: false,
            row_hook: false,
        }
    }

    /// Restricts the allowed ops.
    pub const fn allow(mut self, ops: &'static [Op]) -> Decl {
        self.allowed = Some(ops);
        self
    }

    /// True if `op` is allowed.
    pub fn allows(&self, op: Op) -> bool {
        self.allowed.is_none_or(|a| a.contains(&op))
    }

    /// Allows ops only through a parent's sub-object field.
    pub const fn via_parent(mut self, ops: &'static [Op]) -> Decl {
        self.parent_only = ops;
        self
    }

    /// Fields the role may not write (add and set; writable on add when also required).
    pub const fn readonly(mut self, fields: &'static [&'static str]) -> Decl {
        self.readonly = fields;
        self
    }

    /// Fields given at add and fixed afterwards.
    pub const fn readonly_on_set(mut self, fields: &'static [&'static str]) -> Decl {
        self.readonly_on_set = fields;
        self
    }

    /// Required on add: each inner list is a one-of group (`&[&["uname", "phone"]]`).
    pub const fn required(mut self, groups: &'static [&'static [&'static str]]) -> Decl {
        self.required = groups;
        self
    }

    /// Not emptiable on set, but not required at add.
    pub const fn required_on_set(mut self, fields: &'static [&'static str]) -> Decl {
        self.required_on_set = fields;
        self
    }

    /// Fields the role may not read, anywhere in the query language (besides `pwd`, always).
    pub const fn hidden(mut self, fields: &'static [&'static str]) -> Decl {
        self.hidden = fields;
        self
    }

    /// Fields no two rows may share, each with the message for a duplicate.
    pub const fn unique(mut self, fields: &'static [(&'static str, &'static str)]) -> Decl {
        self.unique = fields;
        self
    }

    /// Virtual column groups.
    pub fn vcols(mut self, vcols: Vec<VCol>) -> Decl {
        self.vcols = vcols;
        self
    }

    /// Sub-objects.
    pub fn subobjs(mut self, subs: Vec<SubObj>) -> Decl {
        self.subobjs = subs;
        self
    }

    /// The `orderby` when the request gives none.
    pub const fn default_sort(mut self, orderby: &'static str) -> Decl {
        self.default_sort = Some(orderby);
        self
    }

    /// The largest page a caller may ask for.
    pub const fn max_page_sz(mut self, n: i64) -> Decl {
        self.max_page_sz = Some(n);
        self
    }

    /// The fields `q=` searches (qsearch syntax: `id!,name,phone`).
    pub const fn q_fields(mut self, spec: &'static str) -> Decl {
        self.q_fields = Some(spec);
        self
    }

    /// The column of the time dimensions (`y q m w d wd h`).
    pub const fn tm_col(mut self, col: &'static str) -> Decl {
        self.tm_col = Some(col);
        self
    }

    /// Declares that the object implements [`Object::on_handle_row`].
    pub const fn row_hook(mut self) -> Decl {
        self.row_hook = true;
        self
    }

    /// Writes leave no ObjLog row (the log tables themselves).
    pub const fn no_objlog(mut self) -> Decl {
        self.no_objlog = true;
        self
    }

    /// True if the field is never output.
    pub fn is_hidden(&self, f: &str) -> bool {
        f == "pwd" || self.hidden.contains(&f)
    }

    /// The sub-object of that name.
    pub fn subobj(&self, name: &str) -> Option<&SubObj> {
        self.subobjs.iter().find(|s| s.name == name)
    }
}

/// A write in progress, handed to `on_validate`: hooks may change fields and queue follow-ups.
#[derive(Debug)]
pub struct Write {
    pub op: Op,
    /// The row id (set); `None` for add until inserted.
    pub id: Option<i64>,
    /// Fields to write (column → value); hooks may add, change or remove.
    pub fields: Map<String, Value>,
    /// Sub-object bodies taken out of the fields (written after the parent).
    pub subs: Vec<(String, Vec<Value>)>,
    /// Parameters that are not columns, taken out of `fields` by `on_validate` for its `on_after`
    /// (`Showing.add`'s `prices`, turned into price classes once the showing has its id).
    pub kept: Map<String, Value>,
}

impl Write {
    /// Moves a non-column parameter from the fields into [`Write::kept`].
    pub fn keep(&mut self, name: &str) -> Option<Value> {
        let v = self.fields.remove(name)?;
        self.kept.insert(name.to_string(), v.clone());
        Some(v)
    }
}

/// Conditions and joins an `on_query` hook adds (ownership rules, scoping).
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// SQL fragments (developer-written, over `t0`) with their bound values.
    pub conds: Vec<(String, Vec<SqlValue>)>,
    pub joins: Vec<String>,
    /// A developer-written ORDER BY (with bound values) for this call, used when the request names no
    /// `orderby`: a search's ranking, for example.
    pub order: Option<(String, Vec<SqlValue>)>,
    /// Set by the framework when the scope guards a write (the ownership check of set/del, the rows of
    /// setIf/delIf) rather than a read: a hook then applies its ownership rules but not the search
    /// parameters of a read, which the write's own fields would otherwise be taken for.
    pub guards_write: bool,
}

impl Scope {
    /// Adds `t0.col = value`; `col` must be a column name the object knows.
    pub fn eq(&mut self, col: &str, v: impl Into<SqlValue>) {
        // Concatenated rather than formatted: most objects' on_query add one of these on every call.
        self.conds.push((["t0.\"", col, "\"=?"].concat(), vec![v.into()]));
    }

    /// Adds a developer-written condition with bound values.
    pub fn sql(&mut self, cond: &str, params: Vec<SqlValue>) {
        self.conds.push((cond.to_string(), params));
    }

    /// Adds a join.
    pub fn join(&mut self, j: &str) {
        if !self.joins.iter().any(|x| x == j) {
            self.joins.push(j.to_string());
        }
    }

    /// Orders this call's rows by a developer-written expression when the request gives no `orderby`.
    pub fn order_by(&mut self, order: &str, params: Vec<SqlValue>) {
        self.order = Some((order.to_string(), params));
    }

    /// True if any condition is set (turns on the ownership check of set/del).
    pub fn is_empty(&self) -> bool {
        self.conds.is_empty()
    }
}

/// An application object: a declaration plus optional hooks (protocol §3.3, §3.4).
pub trait Object: Send + Sync {
    fn decl(&self) -> &Decl;

    /// Checks an op the declaration allows against the caller before anything else runs (the
    /// reference's `onInit`): rules that depend on who calls, such as "add needs a manager".
    fn on_init(&self, _ctx: &mut Ctx, _op: Op) -> ApiResult<()> {
        Ok(())
    }

    /// Conditions every get/query/set/del/setIf/delIf must satisfy (ownership).
    fn on_query(&self, _ctx: &mut Ctx, _p: &Params, _scope: &mut Scope) -> ApiResult<()> {
        Ok(())
    }

    /// May force or check the id of get/set/del (e.g. "self only").
    fn on_validate_id(&self, _ctx: &mut Ctx, _op: Op, _id: &mut Option<i64>) -> ApiResult<()> {
        Ok(())
    }

    /// An add that repeats an earlier one: the id of the row that earlier add made (a client's request id
    /// seen again), answered without writing anything. `None`: a new add.
    fn replayed_add(&self, _ctx: &mut Ctx, _p: &Params) -> ApiResult<Option<i64>> {
        Ok(None)
    }

    /// Checks and fills the fields of add/set.
    fn on_validate(&self, _ctx: &mut Ctx, _p: &Params, _w: &mut Write) -> ApiResult<()> {
        Ok(())
    }

    /// Adjusts one output row before enum labels and hiding: its values by column name ([`Row`]); a
    /// value the hook computes needs a column, declared as a vcol. Called only for an object whose
    /// declaration says so ([`Decl::row_hook`]).
    fn on_handle_row(&self, _ctx: &mut Ctx, _row: &mut Row) -> ApiResult<()> {
        Ok(())
    }

    /// Runs after a successful op in the same transaction (business logs, follow-up writes). For
    /// setIf/delIf `id` is `None` and `w` holds the fields set (setIf) or nothing (delIf).
    fn on_after(&self, _ctx: &mut Ctx, _op: Op, _id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        Ok(())
    }

    /// The names of the custom actions this object serves (`Obj.xxx` beyond the standard ops). Only
    /// these reach [`Object::custom`]; the authorization-table test walks them for every role.
    fn actions(&self) -> &'static [&'static str] {
        &[]
    }

    /// The custom actions of [`Object::actions`] that only read: they run like `get`/`query`, on a read
    /// connection where the request is, instead of queueing for the writer. An action listed here must
    /// not write (its connection refuses writes).
    fn read_actions(&self) -> &'static [&'static str] {
        &[]
    }

    /// Runs a custom action named in [`Object::actions`]; `None` = not supported after all.
    fn custom(&self, _ctx: &mut Ctx, _ac: &str, _p: &Params) -> Option<ApiResult<Reply>> {
        None
    }
}

/// An object that only declares (no hooks).
pub struct Plain(pub Decl);

impl Object for Plain {
    fn decl(&self) -> &Decl {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A declaration that needs no start-up work is a constant.
    const STATION: Decl = Decl::new("Station")
        .allow(&[Op::Get, Op::Query])
        .readonly(&["code"])
        .required(&[&["code"], &["name", "pinyin"]])
        .unique(&[("code", "电报码已存在")])
        .default_sort("code")
        .q_fields("code!,name");

    #[test]
    fn a_declaration_is_a_value_of_static_text() {
        assert_eq!(STATION.table, "Station");
        assert!(STATION.allows(Op::Query) && !STATION.allows(Op::Del));
        assert!(matches!(STATION.table, Cow::Borrowed(_)));
        assert_eq!(STATION.required[1], ["name", "pinyin"]);
        assert!(STATION.is_hidden("pwd") && !STATION.is_hidden("code"));
    }

    #[test]
    fn vcol_fields_split_into_expression_and_name_without_copying_the_source() {
        let g = VCol::new(&["u.name userName", "(a || '/' || b) label", "status"]).require(&["userName"]);
        let names: Vec<&str> = g.fields.iter().map(|(_, n)| n.as_ref()).collect();
        assert_eq!(names, ["userName", "label", "status"]);
        assert_eq!(g.fields[1].0, "(a || '/' || b)");
        assert!(matches!(g.fields[0].0, Cow::Borrowed("u.name")));
        // A lone word is a column of the main table, quoted.
        assert_eq!(g.fields[2].0, "t0.\"status\"");
        let c = VCol::computed("CASE t0.s WHEN 'A' THEN '甲' ELSE t0.s END".into(), "sName");
        assert_eq!(c.fields[0].1, "sName");
    }

    #[test]
    fn sub_object_builders_set_what_they_name() {
        const S: SubObj = SubObj::new("tickets", "Ticket", "orderId").res("id,code").orderby("id").in_get();
        const { assert!(S.default_get && !S.default_query) };
        assert_eq!((S.res, S.orderby, S.shape), (Some("id,code"), Some("id"), SubShape::List));
        let q = S.in_query().shape(SubShape::One);
        assert!(q.default_query && q.shape == SubShape::One);
    }
}
