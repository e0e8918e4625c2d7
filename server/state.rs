//! The shared state of a running server, built once at start-up and cloned (as `Arc`) into every
//! connection: configuration, database, schema, objects, functions, sessions, the ApiLog writer.
//!
//! The framework does not know the product: what the product brings (its objects, functions and what a
//! new database gets) comes in through the [`Product`] trait, implemented by the composition root
//! (`crate::app`).

use std::sync::Arc;

use crate::api::functions::Functions;
use crate::auth::session::Sessions;
use crate::auth::sms::{self, SmsSender};
use crate::config::Config;
use crate::crud::Registry;
use crate::db::conn::{Conn, PgConn};
use crate::db::dialect::{Dialect, Postgres, Sqlite};
use crate::db::postgres as pg;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::log::apilog::ApiLogger;
use crate::meta::{upgrade, Design};

/// What a product plugs into the framework. Implemented once, by the composition root (`crate::app`).
pub trait Product: Send + Sync {
    /// Registers the product's objects (per role) and functions.
    fn register(&self, objects: &mut Registry, functions: &mut Functions);

    /// Runs on the write connection after the schema upgrade, before the server serves: bootstrap rows
    /// (a first manager) and, when configured, demo data.
    fn init_db(&self, conn: Conn, config: &Config) -> ApiResult<()>;

    /// Work the product does on its own while the server runs (the hold sweeper, ...).
    fn tasks(&self, _config: &Config) -> Vec<Task> {
        Vec::new()
    }

    /// The product's tables that get new rows most often, busiest first (an order's log, its orders,
    /// their tickets): on SQLite their AUTOINCREMENT counters are looked up first (see
    /// [`Sqlite::order_sequences`]).
    fn busiest_tables(&self) -> &'static [&'static str] {
        &[]
    }
}

/// The framework's tables that get a row from every call (`ApiLog`) and from every write of an object
/// (`ObjLog`): their counters come before the product's [`Product::busiest_tables`]; then those of logins
/// and of batch calls.
const BUSIEST_FIRST: [&str; 2] = ["ApiLog", "ObjLog"];
const BUSY_THEN: [&str; 2] = ["Session", "ApiLog1"];

/// Work the server does on its own every `every` while it runs: started with the server, stopped with
/// it (a run in progress finishes first). `run` is called on the blocking pool; it reads through
/// `state.db.read()` and writes through the writer, like a call.
#[derive(Clone)]
pub struct Task {
    pub name: &'static str,
    pub every: std::time::Duration,
    pub run: fn(&AppState) -> ApiResult<()>,
}

/// Everything a call may need.
pub struct AppState {
    pub config: Config,
    pub db: Arc<Db>,
    pub dialect: Box<dyn Dialect>,
    pub design: Design,
    pub objects: Registry,
    pub functions: Functions,
    pub sessions: Sessions,
    pub apilog: ApiLogger,
    /// Sends verification codes (`P_SMS`).
    pub sms: Arc<dyn SmsSender>,
    /// Background work of the framework and the product (see [`Task`]).
    pub tasks: Vec<Task>,
    /// This minute's call counts and times, logged once a minute (`log::summary`).
    pub summary: crate::log::summary::Summary,
    /// The SELECTs of plain gets and declared sub-object reads (`crud::read::ReadPlans`).
    pub read_plans: crate::crud::read::ReadPlans,
    /// The read calls known to run more than one statement (`api::dispatch::SharedSnapshotReads`).
    pub shared_reads: crate::api::dispatch::SharedSnapshotReads,
}

impl AppState {
    /// Loads the design, opens and upgrades the database, registers the product.
    pub fn open(config: Config, product: &dyn Product) -> ApiResult<Arc<AppState>> {
        let sms = sms::from_config(&config.sms).map_err(crate::error::ApiError::server)?;
        crate::auth::password::configure(config.pwd_cost);
        let design = Design::load(&config.design_path)?;
        let (dialect, db): (Box<dyn Dialect>, _) = match config.postgres_url() {
            Some(url) => (Box::new(Postgres), Arc::new(open_pg(url, &config, &design, product)?)),
            None => {
                let dialect: Box<dyn Dialect> = Box::new(Sqlite);
                let db = Db::open(&config.db_path, config.db_pool, |conn| {
                    let ran = upgrade::upgrade(conn, &design, dialect.as_ref())?;
                    if !ran.is_empty() {
                        log::info!("database upgraded: {} statement(s)", ran.len());
                    }
                    let busy: Vec<&str> =
                        BUSIEST_FIRST.iter().chain(product.busiest_tables()).chain(&BUSY_THEN).copied().collect();
                    if Sqlite.order_sequences(conn, &busy)? {
                        log::info!("AUTOINCREMENT counters reordered, busiest tables first: {}", busy.join(", "));
                    }
                    product.init_db(Conn::Sqlite(conn), &config)
                })?;
                (dialect, Arc::new(db))
            }
        };
        let sessions = Sessions::new(config.session_recheck);
        let mut objects = Registry::new(&design);
        let mut functions = Functions::framework();
        product.register(&mut objects, &mut functions);
        let apilog = ApiLogger::start(db.clone(), config.apilog)?;
        let mut tasks = crate::auth::tasks(&config);
        tasks.push(Task {
            name: "minute summary",
            every: std::time::Duration::from_secs(60),
            run: |s: &AppState| {
                if let Some(line) = s.summary.take_line() {
                    log::info!("{line}");
                }
                Ok(())
            },
        });
        tasks.extend(product.tasks(&config));
        let summary = crate::log::summary::Summary::default();
        let read_plans = crate::crud::read::ReadPlans::for_registry(&objects);
        Ok(Arc::new(AppState {
            config,
            db,
            dialect,
            design,
            objects,
            functions,
            sessions,
            apilog,
            sms,
            tasks,
            summary,
            read_plans,
            shared_reads: Default::default(),
        }))
    }
}

/// Opens a PostgreSQL database: the schema upgraded, the product's bootstrap data loaded (under a
/// lock, so that several processes starting at once load it once), then the writer and read pool.
fn open_pg(url: &str, config: &Config, design: &Design, product: &dyn Product) -> ApiResult<Db> {
    let mut client = pg::connect(url).map_err(ApiError::server)?;
    let ran = pg::upgrade(&mut client, design, false).map_err(ApiError::server)?;
    if !ran.is_empty() {
        log::info!("database upgraded: {} statement(s)", ran.len());
    }
    let names = Arc::new(pg::design_names(design));
    let writer = Box::new(PgConn::new(client, names.clone()));
    let conn = Conn::Pg(&writer);
    conn.execute_batch("SELECT pg_advisory_lock(hashtext('jindouyun bootstrap'))")?;
    let loaded = product.init_db(conn, config);
    conn.execute_batch("SELECT pg_advisory_unlock(hashtext('jindouyun bootstrap'))")?;
    loaded?;
    Db::open_pg(url, config.db_pool, names, writer)
}
