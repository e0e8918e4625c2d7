//! `jindouyun`: run the server, or work on its database.
//!
//! ```text
//! jindouyun                  serve (P_ADDR, default 127.0.0.1:8080)
//! jindouyun upgrade          create missing tables/columns from the design and exit
//! jindouyun upgrade --diff   print the SQL an upgrade would run, change nothing
//!                            (P_DB=postgres://user:pwd@host/db: the same on PostgreSQL)
//! jindouyun import cities F  load a city file (design/cities/README.md) into City, by code
//! ```
//! Configuration comes from `P_*` environment variables (see README).

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: a call allocates many small, short-lived values (JSON rows), and
/// glibc's per-thread arenas and consolidation showed up as a quarter of the CPU profile and inflated RSS.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use jindouyun::config::Config;
use jindouyun::db::dialect::{Dialect, Sqlite};
use jindouyun::db::postgres;
use jindouyun::http::Application;
use jindouyun::meta::{upgrade, Design};

/// Jindouyun: a jdcloud-protocol server and ticketing platform.
#[derive(clap::Parser)]
#[command(version, about, after_help = jindouyun::config::variables_help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the API and the pages (the default).
    Serve,
    /// Create missing tables, columns and indexes from the design, then exit.
    Upgrade {
        /// Print the SQL an upgrade would run and change nothing.
        #[arg(long)]
        diff: bool,
    },
    /// Load data files into the database.
    Import {
        #[command(subcommand)]
        what: Import,
    },
}

#[derive(clap::Subcommand)]
enum Import {
    /// A city file (design/cities/README.md): updates by code, adds the rest, deletes nothing.
    Cities { file: String },
}

fn main() -> ExitCode {
    use clap::Parser;
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let config = Config::from_env();
    let r = match cli.command {
        None | Some(Command::Serve) => serve(config),
        Some(Command::Upgrade { diff }) => run_upgrade(&config, diff),
        Some(Command::Import { what: Import::Cities { file } }) => import_cities(&config, &file),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

type AnyErr = Box<dyn std::error::Error + Send + Sync>;

fn serve(config: Config) -> Result<(), AnyErr> {
    // Calls run on the blocking pool (one call = one closure with one connection). Bounding the pool keeps
    // thread count and memory flat under load; calls beyond it wait their turn in tokio's queue.
    let rt = tokio::runtime::Builder::new_multi_thread().max_blocking_threads(config.workers).enable_all().build()?;
    rt.block_on(async {
        let app = Application::build(config, jindouyun::app::Jindouyun::product()).await?;
        log::info!("jindouyun listening on http://{}/ (api: /api/...)", app.addr());
        app.run_until_stopped(stop_signal()).await;
        Ok(())
    })
}

/// Ctrl-C (SIGINT) or SIGTERM (what service managers send): stop accepting, finish open requests,
/// write the queued ApiLog rows, checkpoint.
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                log::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    log::info!("shutting down");
}

fn run_upgrade(config: &Config, diff_only: bool) -> Result<(), AnyErr> {
    let design = Design::load(&config.design_path)?;
    if let Some(url) = config.postgres_url() {
        let stmts = postgres::upgrade(&mut postgres::connect(url)?, &design, diff_only)?;
        print_upgrade(&stmts);
        return Ok(());
    }
    if let Some(dir) = config.db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut conn = rusqlite::Connection::open(&config.db_path)?;
    let d: &dyn Dialect = &Sqlite;
    let stmts = if diff_only { upgrade::diff(&conn, &design, d)? } else { upgrade::upgrade(&mut conn, &design, d)? };
    print_upgrade(&stmts);
    Ok(())
}

fn print_upgrade(stmts: &[String]) {
    for s in stmts {
        println!("{s};");
    }
    if stmts.is_empty() {
        eprintln!("database is up to date");
    }
}

fn import_cities(config: &Config, file: &str) -> Result<(), AnyErr> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let rows = jindouyun::ticketing::cities::parse(&text)?;
    // The City table may not exist yet: bring the schema up to date first (quietly; `upgrade` prints it).
    let design = Design::load(&config.design_path)?;
    if let Some(url) = config.postgres_url() {
        let mut client = postgres::connect(url)?;
        postgres::upgrade(&mut client, &design, false)?;
        let pg = jindouyun::db::conn::PgConn::new(client, std::sync::Arc::new(postgres::design_names(&design)));
        let (added, updated) = jindouyun::ticketing::cities::import(jindouyun::db::conn::Conn::Pg(&pg), &rows)?;
        println!("{added} cities added, {updated} updated");
        return Ok(());
    }
    if let Some(dir) = config.db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut conn = rusqlite::Connection::open(&config.db_path)?;
    upgrade::upgrade(&mut conn, &design, &Sqlite)?;
    let (added, updated) = jindouyun::ticketing::cities::import(jindouyun::db::conn::Conn::Sqlite(&conn), &rows)?;
    println!("{added} cities added, {updated} updated");
    Ok(())
}
