//! Function calls (`/api/login`, `/api/execSql`, ...): a registry from name to handler.
//!
//! Each function declares whether it writes, so the dispatcher can open the right kind of
//! transaction before it runs. Application modules add their functions at start-up.

use serde_json::{json, Map, Value};

use super::auth::{perm, AppType};
use super::ctx::{Ctx, Reply};
use super::params::Params;
use crate::crud::select::{to_json, write_str, Kind};
use crate::error::ApiResult;
use crate::FastMap;

/// A function handler.
pub type Handler = fn(&mut Ctx, &Params) -> ApiResult<Reply>;

/// A registered function.
#[derive(Clone, Copy)]
pub struct FnDef {
    pub handler: Handler,
    /// True if it may change data (runs on the write connection).
    pub writes: bool,
    /// Work done before a writing call is queued for the writer thread (which runs writes one at a
    /// time): slow, database-free preparation such as image processing. Not run for batch sub-calls,
    /// so the handler must cope without it.
    pub prepare: Option<Prepare>,
    /// Runs on the blocking pool rather than on the runtime thread that read the request: for
    /// functions that may take long (file reads, arbitrary SQL), see `dispatch::runs_on_pool`.
    pub blocking: bool,
    /// What of the HTTP request the handler sees besides the parameters (see [`Receives`]).
    pub receives: Receives,
}

/// What of the request a function sees besides its parameters. A payment notify, for one, is verified
/// over the bytes that were sent and a signature header, not over parameters parsed from them.
#[derive(Clone, Copy, Default)]
pub struct Receives {
    /// `Params::raw` holds the request body exactly as sent, whatever its content type (it is parsed
    /// into parameters as usual too).
    pub raw_body: bool,
    /// Request headers (lower-case names) handed to the handler in `Params::headers`.
    pub headers: &'static [&'static str],
}

/// A prepare phase: may check the caller and stash its result in `Params::prepared`.
pub type Prepare = fn(&crate::state::AppState, &super::auth::Auth, &mut Params) -> ApiResult<()>;

/// All functions by name.
#[derive(Default)]
pub struct Functions {
    map: FastMap<&'static str, FnDef>,
}

impl Functions {
    /// The protocol's own functions (`initClient`, `execSql`); accounts (`auth::register`) and the
    /// product add theirs at start-up.
    pub fn framework() -> Functions {
        let mut f = Functions::default();
        f.add_blocking("execSql", true, exec_sql);
        f.add("initClient", false, init_client);
        f
    }

    /// Registers a function.
    pub fn add(&mut self, name: &'static str, writes: bool, handler: Handler) {
        self.map.insert(name, FnDef { handler, writes, prepare: None, blocking: false, receives: Receives::default() });
    }

    /// Registers a function that sees the raw body and/or declared headers of its request.
    pub fn add_receiving(&mut self, name: &'static str, writes: bool, handler: Handler, receives: Receives) {
        self.map.insert(name, FnDef { handler, writes, prepare: None, blocking: false, receives });
    }

    /// Registers a function that runs on the blocking pool (it may take long).
    pub fn add_blocking(&mut self, name: &'static str, writes: bool, handler: Handler) {
        self.map.insert(name, FnDef { handler, writes, prepare: None, blocking: true, receives: Receives::default() });
    }

    /// Registers a writing function with a prepare phase.
    pub fn add_prepared(&mut self, name: &'static str, prepare: Prepare, handler: Handler) {
        self.map.insert(
            name,
            FnDef { handler, writes: true, prepare: Some(prepare), blocking: false, receives: Receives::default() },
        );
    }

    /// The function of that name.
    pub fn get(&self, name: &str) -> Option<FnDef> {
        self.map.get(name).copied()
    }
}

/// `initClient()`: what a client needs before its first call (protocol §1.11). Touches no table,
/// which also makes it the benchmark's measure of the bare call path.
fn init_client(ctx: &mut Ctx, _p: &Params) -> ApiResult<Reply> {
    // Written as JSON text (`Reply::Json`): it is the most frequent call and has no rows, and building
    // the same four keys through an ordered map cost about 3k instructions a call (callgrind).
    // Pieces pushed rather than formatted (format! was a tenth of what is left of the call).
    let c = &ctx.state.config;
    let app = ctx.auth.app_type;
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(br#"{"serverRev":"#);
    write_str(&mut out, &c.server_rev);
    out.extend_from_slice(if c.test_mode { br#","testMode":1,"appType":""# } else { br#","testMode":0,"appType":""# });
    out.extend_from_slice(app.name().as_bytes());
    out.extend_from_slice(br#"","plugins":{}"#);
    // Staff consoles offer the permission words the product declared (`[[word, label], ...]`).
    if matches!(app, AppType::Emp | AppType::Admin) {
        let words: Vec<Value> = ctx.state.objects.perms().iter().map(|(p, label)| json!([p.0, label])).collect();
        out.extend_from_slice(br#","perms":"#);
        out.extend_from_slice(Value::Array(words).to_string().as_bytes());
    }
    out.push(b'}');
    Ok(Reply::Json(out))
}

/// `execSql(sql, fmt?, wantArray?, wantId?)`: admin or test mode only (protocol §1.11, §9.1).
fn exec_sql(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    if !ctx.auth.is_admin() && !ctx.auth.has(perm::TEST_MODE) {
        return Err(ctx.auth.refuse("execSql requires admin or test mode"));
    }
    let sql = p.must_str("sql")?;
    let fmt = p.str("fmt");
    let want_array = p.flag("wantArray")?;
    let lower = sql.trim_start().to_ascii_lowercase();
    let is_query =
        fmt.is_some() || lower.starts_with("select") || lower.starts_with("pragma") || lower.starts_with("with");
    if !is_query {
        let n = ctx.exec(&sql, &[])?;
        if p.flag("wantId")? {
            return Ok(Reply::Data(json!(ctx.db.last_insert_rowid()?)));
        }
        return Ok(Reply::Data(json!(n)));
    }
    let mut st = ctx.db.prepare(&sql)?;
    let names = st.column_names();
    let mut data: Vec<Vec<Value>> = Vec::new();
    st.for_each([], |r| {
        let mut row = Vec::with_capacity(names.len());
        for i in 0..names.len() {
            row.push(to_json(r.get_ref(i)?, Kind::Auto));
        }
        data.push(row);
        Ok(())
    })?;
    let fmt = fmt.unwrap_or_default();
    let out = match fmt.as_str() {
        "table" => json!({"h": names, "d": data}),
        "one" => match data.into_iter().next() {
            Some(r) if r.len() == 1 => r.into_iter().next().unwrap_or(Value::Null),
            Some(r) => Value::Array(r),
            None => Value::Bool(false),
        },
        _ if fmt == "array" || want_array => json!(data),
        _ => Value::Array(
            data.into_iter()
                .map(|r| Value::Object(names.iter().cloned().zip(r).collect::<Map<String, Value>>()))
                .collect(),
        ),
    };
    Ok(Reply::Data(out))
}
