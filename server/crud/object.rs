//! What an application object declares, and the hooks it may implement (protocol §3.4).
//!
//! An object is mostly data: the table it serves, the operations allowed, readonly/required/hidden
//! fields, virtual columns and sub-objects, declared in one style, with the builder methods of [`Decl`],
//! [`VCol`] and [`SubObj`] (`Decl::new("User").allow(..).readonly(&["pwd"])`). The few rules that are code go into `Object` hooks, whose
//! defaults do nothing. Role differences are chosen by the registry (one object per (name, app type)),
//! not by an inheritance chain.

use serde_json::{Map, Value};

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

/// A group of virtual columns sharing one join (protocol §3.5).
///
/// `fields` are `(sql expression, name)`; the expressions are developer-written SQL over the main
/// alias `t0` and the group's own join aliases, never request text.
#[derive(Debug, Clone, Default)]
pub struct VCol {
    pub fields: Vec<(String, String)>,
    pub join: Option<String>,
    /// Included when `res` is absent or starts with `*`.
    pub default: bool,
    /// Other columns/vcols this group needs (pulled in as hidden helpers).
    pub require: Vec<String>,
    /// Fields that are money (decimal(19,2)): output as two-decimal strings like a decimal column.
    pub money: Vec<String>,
}

impl VCol {
    /// Fields written as `"expr name"` (the last word is the name).
    pub fn new(fields: &[&str]) -> VCol {
        let fields = fields
            .iter()
            .map(|f| {
                let f = f.trim();
                match f.rfind(' ') {
                    Some(i) => (f[..i].trim().to_string(), f[i + 1..].to_string()),
                    None => (format!("t0.\"{f}\""), f.to_string()),
                }
            })
            .collect();
        VCol { fields, ..Default::default() }
    }

    /// Sets the join the fields need.
    pub fn join(mut self, j: &str) -> VCol {
        self.join = Some(j.to_string());
        self
    }

    /// Marks the group as default.
    pub fn default_on(mut self) -> VCol {
        self.default = true;
        self
    }

    /// Declares helper fields.
    pub fn require(mut self, fields: &[&str]) -> VCol {
        self.require = fields.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Marks fields as money: printed as two-decimal strings (`"80.00"`), as decimal columns are.
    pub fn money(mut self, fields: &[&str]) -> VCol {
        self.money = fields.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// A sub-object: child rows of another object linked by a foreign key (protocol §5.2).
#[derive(Debug, Clone)]
pub struct SubObj {
    /// Field name in the parent's output (`orderLog`).
    pub name: String,
    /// Child object name (`OrderLog`); its class for the caller's app type serves the read/write.
    pub obj: String,
    /// Column of the child pointing at the parent id (`orderId`).
    pub fk: String,
    /// Default child `res`.
    pub res: Option<String>,
    /// Default child `orderby`.
    pub orderby: Option<String>,
    /// Included in `get` without being named in `res`.
    pub default_get: bool,
    /// Included in `query` when `res` is absent or `*`.
    pub default_query: bool,
    /// How the children appear in the parent row.
    pub shape: SubShape,
    /// A developer-written condition over the child's `t0` that every child row must meet (`t0.startTm >
    /// {now}`: upcoming showings only). Placeholders as in vcols ([`crate::db::dialect::Dialect::expand`]).
    pub only: Option<String>,
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
    /// The child `res` when the request names none.
    pub fn res(mut self, res: &str) -> SubObj {
        self.res = Some(res.into());
        self
    }

    /// The child `orderby`.
    pub fn orderby(mut self, orderby: &str) -> SubObj {
        self.orderby = Some(orderby.into());
        self
    }

    /// Included in `get` without being named in `res`.
    pub fn in_get(mut self) -> SubObj {
        self.default_get = true;
        self
    }

    /// Included in `get` and in `query` (and so in a parent's sub-object read) without being named.
    pub fn in_query(mut self) -> SubObj {
        self.default_get = true;
        self.default_query = true;
        self
    }

    /// Only the children meeting a developer-written condition (see [`SubObj::only`]).
    pub fn only(mut self, cond: &str) -> SubObj {
        self.only = Some(cond.into());
        self
    }

    /// A sub-object read and written through the child object `obj` by `fk`.
    pub fn new(name: &str, obj: &str, fk: &str) -> SubObj {
        SubObj {
            name: name.into(),
            obj: obj.into(),
            fk: fk.into(),
            res: None,
            orderby: None,
            default_get: false,
            default_query: false,
            shape: SubShape::List,
            only: None,
        }
    }
}

/// The data part of an object.
#[derive(Debug, Clone, Default)]
pub struct Decl {
    /// Table served (defaults to the object name).
    pub table: String,
    /// Allowed standard ops; `None` = all.
    pub allowed: Option<Vec<Op>>,
    /// Ops allowed only as a sub-object write through a parent (`Ordr.add` with `atts`), never called
    /// directly: the parent's own checks and ownership rules then apply first.
    pub parent_only: Vec<Op>,
    /// Readonly on add and set (strict: writing one is E_FORBIDDEN, protocol §9.3).
    pub readonly: Vec<String>,
    /// Readonly on set only (the reference's `readonlyFields2`): given at add, fixed afterwards.
    pub readonly_on_set: Vec<String>,
    /// Required on add (each inner list is a one-of group); not emptiable on set.
    pub required: Vec<Vec<String>>,
    /// Not emptiable on set, but not required at add (the reference's `requiredFields2`).
    pub required_on_set: Vec<String>,
    /// Never output (`pwd` always is).
    pub hidden: Vec<String>,
    /// Fields no two rows may share (non-empty values), with the user message for a duplicate.
    /// Checked by add and set; setIf may not set them (one value on many rows).
    pub unique: Vec<(String, String)>,
    pub vcols: Vec<VCol>,
    pub subobjs: Vec<SubObj>,
    /// Default `orderby` (default `t0.id`).
    pub default_sort: Option<String>,
    /// Page-size cap (default 10000).
    pub max_page_sz: Option<i64>,
    /// Enum labels per field applied to output.
    pub enums: Vec<(String, Vec<(String, String)>)>,
    /// Fields searched by `q=` (qsearch syntax: `a,b*,c!`).
    pub q_fields: Option<String>,
    /// Source columns of time-dimension vcols (`y q m w d wd h`), e.g. `createTm`.
    pub tm_col: Option<String>,
    /// Write ObjLog rows for writes (default true; log tables turn it off).
    pub no_objlog: bool,
}

impl Decl {
    /// A declaration for `table` with no restrictions.
    pub fn new(table: &str) -> Decl {
        Decl { table: table.to_string(), ..Default::default() }
    }

    /// Restricts the allowed ops.
    pub fn allow(mut self, ops: &[Op]) -> Decl {
        self.allowed = Some(ops.to_vec());
        self
    }

    /// True if `op` is allowed.
    pub fn allows(&self, op: Op) -> bool {
        self.allowed.as_ref().is_none_or(|a| a.contains(&op))
    }

    /// Allows ops only through a parent's sub-object field.
    pub fn via_parent(mut self, ops: &[Op]) -> Decl {
        self.parent_only = ops.to_vec();
        self
    }

    /// Fields the role may not write (add and set; writable on add when also required).
    pub fn readonly(mut self, fields: &[&str]) -> Decl {
        self.readonly = strings(fields);
        self
    }

    /// Fields given at add and fixed afterwards.
    pub fn readonly_on_set(mut self, fields: &[&str]) -> Decl {
        self.readonly_on_set = strings(fields);
        self
    }

    /// Required on add: each inner list is a one-of group (`&[&["uname", "phone"]]`).
    pub fn required(mut self, groups: &[&[&str]]) -> Decl {
        self.required = groups.iter().map(|g| strings(g)).collect();
        self
    }

    /// Fields the role may not read, anywhere in the query language (besides `pwd`, always).
    pub fn hidden(mut self, fields: &[&str]) -> Decl {
        self.hidden = strings(fields);
        self
    }

    /// Fields no two rows may share, each with the message for a duplicate.
    pub fn unique(mut self, fields: &[(&str, &str)]) -> Decl {
        self.unique = fields.iter().map(|(f, m)| (f.to_string(), m.to_string())).collect();
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
    pub fn default_sort(mut self, orderby: &str) -> Decl {
        self.default_sort = Some(orderby.into());
        self
    }

    /// The fields `q=` searches (qsearch syntax: `id!,name,phone`).
    pub fn q_fields(mut self, spec: &str) -> Decl {
        self.q_fields = Some(spec.into());
        self
    }

    /// The column of the time dimensions (`y q m w d wd h`).
    pub fn tm_col(mut self, col: &str) -> Decl {
        self.tm_col = Some(col.into());
        self
    }

    /// Writes leave no ObjLog row (the log tables themselves).
    pub fn no_objlog(mut self) -> Decl {
        self.no_objlog = true;
        self
    }

    /// True if the field is never output.
    pub fn is_hidden(&self, f: &str) -> bool {
        f == "pwd" || self.hidden.iter().any(|h| h == f)
    }

    /// The sub-object of that name.
    pub fn subobj(&self, name: &str) -> Option<&SubObj> {
        self.subobjs.iter().find(|s| s.name == name)
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
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
        self.conds.push((format!("t0.\"{col}\"=?"), vec![v.into()]));
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

    /// Adjusts one output row.
    fn on_handle_row(&self, _ctx: &mut Ctx, _row: &mut Map<String, Value>) -> ApiResult<()> {
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
