//! `jdy-bench`: the benchmark harness (run it through `tools/bench/run`).
//!
//! 1. Generates a fresh database: the design's schema, N users (all with password `bench123`) and M
//!    orders with their OrderLog rows; the first users get enough orders for full 20-row pages.
//! 2. Starts the release server on a free loopback port with that database.
//! 3. For each scenario and each connection count, keeps that many keep-alive connections busy for a
//!    fixed time and records every call's latency. Each connection is its own logged-in user.
//! 4. Reads the server's RSS, stops it with SIGINT (graceful: the ApiLog queue is drained), and checks
//!    that every call made has its ApiLog row and every acknowledged `Ordr.add` is in the database.
//! 5. Prints a markdown table and writes the same numbers as JSON.
//!
//! The load client speaks plain HTTP/1.1 over tokio TCP streams: no client library between the
//! measurement and the socket.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod flash;
mod train;

use jindouyun::db::conn::Conn as DbConn;
use jindouyun::params;
use rusqlite::Connection;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Command-line options.
#[derive(Debug, Clone)]
struct Opts {
    server: PathBuf,
    users: usize,
    orders: usize,
    seconds: f64,
    conns: Vec<usize>,
    out: PathBuf,
    only: Option<String>,
    /// Order counts for the growth run (`--growth 10000,100000,1000000`): only `Ordr.query` at the
    /// largest connection count, on a fresh database of each size.
    growth: Vec<usize>,
    /// `--flash`: the flash-sale profile instead of the scenarios.
    flash: bool,
    /// `--train`: the train profile (corridor search, overlapping segments).
    train: bool,
    /// `--pg URL`: run on PostgreSQL, in a database made (and dropped) through this URL's role.
    pg: Option<String>,
    /// `--procs N`: N server processes on the one database, the connections spread over them.
    procs: usize,
    /// `--generate PATH`: only write the benchmark's SQLite database to PATH (for `tools/bench/callgrind`).
    generate: Option<PathBuf>,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        server: PathBuf::from("target/release/jindouyun"),
        users: 10_000,
        orders: 100_000,
        seconds: 5.0,
        conns: vec![16, 64],
        out: PathBuf::from("tools/bench/out/result.json"),
        only: None,
        growth: Vec::new(),
        flash: false,
        train: false,
        pg: None,
        procs: 1,
        generate: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--server" => o.server = PathBuf::from(val()?),
            "--users" => o.users = val()?.parse().map_err(|e| format!("--users: {e}"))?,
            "--orders" => o.orders = val()?.parse().map_err(|e| format!("--orders: {e}"))?,
            "--seconds" => o.seconds = val()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--conns" => {
                o.conns = val()?
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|e| format!("--conns: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--out" => o.out = PathBuf::from(val()?),
            "--only" => o.only = Some(val()?),
            "--growth" => {
                o.growth = val()?
                    .split(',')
                    .map(|s| s.trim().parse().map_err(|e| format!("--growth: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--pg" => o.pg = Some(val()?),
            "--procs" => o.procs = val()?.parse::<usize>().map_err(|e| format!("--procs: {e}"))?.max(1),
            "--generate" => o.generate = Some(PathBuf::from(val()?)),
            "--flash" => o.flash = true,
            "--train" => o.train = true,
            "--smoke" => {
                o.users = 200;
                o.orders = 2000;
                o.seconds = 0.5;
                o.conns = vec![4];
            }
            "-h" | "--help" => {
                println!(
                    "usage: jdy-bench [--server PATH] [--users N] [--orders N] [--seconds S] [--conns 16,64] \
                     [--only scenario] [--growth 10000,100000,1000000] [--out result.json] [--smoke] \
                     [--pg postgres://user:pwd@host/db] [--procs N]\n       \
                     jdy-bench --generate PATH [--users N] [--orders N]   (only the SQLite database)\n       \
                     jdy-bench --flash [--seconds S] [--conns 256]   (the flash-sale profile)\n       \
                     jdy-bench --train [--seconds S] [--conns 256]   (the train profile)\n       \
                     jdy-bench --bare ADDR   (the bare hyper reference server)"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(o)
}

const PASSWORD: &str = "bench123";
/// Users that get `FULL_PAGE_ORDERS` orders each, so their first query page is full.
const FULL_PAGE_USERS: usize = 200;
const FULL_PAGE_ORDERS: usize = 25;

/// Where the benchmark's data lives: a SQLite file, or a PostgreSQL database made for the run.
enum Target {
    Sqlite(PathBuf),
    Pg { admin: String, url: String, name: String },
}

/// A connection to the target for the set-up and the count check.
enum Opened {
    Sqlite(Connection),
    Pg(Box<jindouyun::db::conn::PgConn>),
}

impl Opened {
    fn conn(&self) -> DbConn<'_> {
        match self {
            Opened::Sqlite(c) => DbConn::Sqlite(c),
            Opened::Pg(c) => DbConn::Pg(c),
        }
    }
}

impl Target {
    fn new(dir: &Path, pg: Option<&str>, orders: usize) -> Target {
        match pg {
            None => Target::Sqlite(dir.join(format!("bench-{orders}.db"))),
            Some(admin) => {
                let name = format!("jdy_bench_{}_{orders}", std::process::id());
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
                Target::Pg { admin: admin.to_string(), url: format!("{base}/{name}"), name }
            }
        }
    }

    /// What the server gets as `P_DB`.
    fn p_db(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Pg { url, .. } => url.clone(),
        }
    }

    fn design() -> Result<jindouyun::meta::Design, Box<dyn std::error::Error>> {
        Ok(jindouyun::meta::Design::load(Path::new("design/DESIGN.md"))?)
    }

    /// A fresh database with the design's schema.
    fn create(&self) -> Result<Opened, Box<dyn std::error::Error>> {
        let design = Self::design()?;
        Ok(match self {
            Target::Sqlite(p) => {
                let mut conn = Connection::open(p)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                jindouyun::meta::upgrade::upgrade(&mut conn, &design, &jindouyun::db::dialect::Sqlite)?;
                Opened::Sqlite(conn)
            }
            Target::Pg { admin, url, name } => {
                let mut a = jindouyun::db::postgres::connect(admin)?;
                a.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
                a.batch_execute(&format!("CREATE DATABASE {name}"))?;
                let mut c = jindouyun::db::postgres::connect(url)?;
                jindouyun::db::postgres::upgrade(&mut c, &design, false)?;
                let names = Arc::new(jindouyun::db::postgres::design_names(&design));
                Opened::Pg(Box::new(jindouyun::db::conn::PgConn::new(c, names)))
            }
        })
    }

    /// The existing database, for the count check.
    fn open(&self) -> Result<Opened, Box<dyn std::error::Error>> {
        Ok(match self {
            Target::Sqlite(p) => Opened::Sqlite(Connection::open(p)?),
            Target::Pg { url, .. } => {
                let names = Arc::new(jindouyun::db::postgres::design_names(&Self::design()?));
                let c = jindouyun::db::postgres::connect(url)?;
                Opened::Pg(Box::new(jindouyun::db::conn::PgConn::new(c, names)))
            }
        })
    }

    fn remove(&self) {
        match self {
            Target::Sqlite(p) => {
                let _ = std::fs::remove_file(p);
            }
            Target::Pg { admin, name, .. } => {
                if let Ok(mut a) = jindouyun::db::postgres::connect(admin) {
                    let _ = a.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// Creates the schema through the server's own upgrade code and bulk-loads users and orders (through
/// the server's own connection type, so the same code loads SQLite and PostgreSQL).
fn generate(target: &Target, users: usize, orders: usize) -> Result<(), Box<dyn std::error::Error>> {
    let opened = target.create()?;
    let conn = opened.conn();
    // One hash for every user: hashing 10,000 passwords one by one would only slow the set-up down.
    let pwd = jindouyun::auth::password::hash(PASSWORD);
    let tx = conn.begin()?;
    {
        let mut st = tx.prepare("INSERT INTO User (id, uname, phone, pwd, name, createTm) VALUES (?,?,?,?,?,?)")?;
        for i in 1..=users {
            st.execute(params![
                i as i64,
                format!("u{i}"),
                format!("139{i:08}"),
                pwd,
                format!("用户{i}"),
                "2024-01-01 00:00:00"
            ])?;
        }
        let mut ins = tx.prepare("INSERT INTO Ordr (userId, createTm, status, amount, dscr) VALUES (?,?,?,?,?)")?;
        let mut log = tx.prepare("INSERT INTO OrderLog (orderId, action, tm) VALUES (?, 'CR', ?)")?;
        let full = FULL_PAGE_USERS.min(users);
        for n in 0..orders {
            let uid = if n < full * FULL_PAGE_ORDERS { n % full + 1 } else { n % users + 1 };
            let tm = format!("2024-{:02}-{:02} 10:00:00", n % 12 + 1, n % 28 + 1);
            let status = ["CR", "PA", "RE", "CA"][n % 4];
            ins.execute(params![uid as i64, tm, status, (n % 500) as f64 + 0.5, format!("bench order {n}")])?;
            log.execute(params![tx.last_insert_rowid()?, tm])?;
        }
    }
    seat_map_showing(*tx)?;
    tx.commit()?;
    match conn {
        DbConn::Sqlite(_) => conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?,
        // Rows inserted with their ids leave the identity sequences behind; the planner gets statistics.
        DbConn::Pg(_) => {
            for t in ["User", "Store", "Venue", "Hall", "Event", "Showing"] {
                conn.execute_batch(&format!(
                    "SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), (SELECT MAX(id) FROM {t}))"
                ))?;
            }
            conn.execute_batch("ANALYZE")?;
        }
    }
    Ok(())
}

/// The showing of `Showing.seats`: a 1,000-seat hall (25 rows of 40, three classes) of an approved
/// store's event on sale, with a tenth of its seats sold and a tenth held, built from the seat map by
/// the server's own parser. Its id is [`SEATS_SHOWING`].
fn seat_map_showing(tx: DbConn) -> Result<(), Box<dyn std::error::Error>> {
    let map: String = (0..25)
        .map(|r| {
            let c = if r < 5 {
                'A'
            } else if r < 15 {
                'B'
            } else {
                'C'
            };
            format!("{}_{}_{}", c.to_string().repeat(10), c.to_string().repeat(20), c.to_string().repeat(10))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let parsed = jindouyun::ticketing::seatmap::SeatMap::parse(&map).map_err(|e| e.to_string())?;
    tx.execute("INSERT INTO Store (id, name, kind, status) VALUES (1, 'bench', 'show', 'OK')", [])?;
    tx.execute("INSERT INTO Venue (id, storeId, name) VALUES (1, 1, 'bench')", [])?;
    tx.execute("INSERT INTO Hall (id, venueId, storeId, name, seatMap, rows, cols, seatCnt) VALUES (1, 1, 1, 'h', ?, 25, 42, ?)", params![map, parsed.seats.len() as i64])?;
    tx.execute(
        "INSERT INTO Event (id, storeId, kind, name, venueId, status) VALUES (1, 1, 'show', 'bench', 1, 'ON')",
        [],
    )?;
    tx.execute(
        "INSERT INTO Showing (id, eventId, storeId, venueId, hallId, startTm, endTm) VALUES (?, 1, 1, 1, 1, '2099-01-01 19:00:00', '2099-01-01 21:00:00')",
        [SEATS_SHOWING],
    )?;
    let mut class_ids = Vec::new();
    for (code, n) in parsed.classes() {
        tx.execute(
            "INSERT INTO PriceClass (showingId, code, name, price, capacity, taken) VALUES (?, ?, ?, 100, ?, 0)",
            params![SEATS_SHOWING, code.to_string(), format!("{code}区"), n as i64],
        )?;
        class_ids.push((code, tx.last_insert_rowid()?));
    }
    let mut st =
        tx.prepare("INSERT INTO Seat (showingId, classId, row, col, label, status, expireTm) VALUES (?,?,?,?,?,?,?)")?;
    for (i, seat) in parsed.seats.iter().enumerate() {
        let class = class_ids.iter().find(|(c, _)| *c == seat.class).map(|(_, id)| *id);
        let (status, expire) = match i % 10 {
            0 => ("SO", None),
            5 => ("HD", Some("2099-01-01 00:00:00")),
            _ => ("FR", None),
        };
        st.execute(params![SEATS_SHOWING, class, seat.row as i64, seat.col as i64, seat.label(), status, expire])?;
    }
    Ok(())
}

/// The id of the bench showing.
const SEATS_SHOWING: i64 = 1;

/// A started server process.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(bin: &Path, db: &Path) -> Result<Server, Box<dyn std::error::Error>> {
        Self::start_with(bin, db, &[])
    }

    /// Starts the server with extra environment variables.
    fn start_with(bin: &Path, db: &Path, env: &[(&str, &str)]) -> Result<Server, Box<dyn std::error::Error>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(bin);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .env("P_ADDR", &addr)
            .env("P_DB", db)
            .env("P_DEMO", "0")
            .env("P_TEST_MODE", "0")
            .env("P_ADMIN_CRED", "admin:bench-admin")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut s = Server { child, addr };
        for _ in 0..200 {
            if std::net::TcpStream::connect(&s.addr).is_ok() {
                return Ok(s);
            }
            // A server that exits (a design it cannot read, a port taken) ends the run at once.
            if let Some(status) = s.child.try_wait()? {
                return Err(format!("the server exited before it listened: {status}").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("server did not start".into())
    }

    /// A field of /proc/PID/status in kB (`VmRSS`, `RssAnon`, `RssFile`, `RssShmem`).
    fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// SIGINT, then wait: the server drains its ApiLog queue before exiting.
    fn stop(mut self) -> Result<(), Box<dyn std::error::Error>> {
        Command::new("kill").args(["-INT", &self.child.id().to_string()]).status()?;
        for _ in 0..300 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        Err("server did not stop within 15 s".into())
    }
}

impl Drop for Server {
    /// A server not stopped (an early error, one that did not start) is killed: none outlives the run.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(16 * 1024), host: addr.to_string() })
    }

    /// Sends a request and returns the response body.
    async fn call(&mut self, path: &str, cookie: &str, form: Option<&str>) -> std::io::Result<Vec<u8>> {
        let mut req = match form {
            Some(b) => format!(
                "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                self.host,
                b.len()
            ),
            None => format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.host),
        };
        if !cookie.is_empty() {
            req.push_str("Cookie: ");
            req.push_str(cookie);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        if let Some(b) = form {
            req.push_str(b);
        }
        self.stream.write_all(req.as_bytes()).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> std::io::Result<Vec<u8>> {
        self.buf.clear();
        let mut tmp = [0u8; 16 * 1024];
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| std::io::Error::other("response without content-length"))?;
                let total = end + 4 + len;
                while self.buf.len() < total {
                    let n = self.stream.read(&mut tmp).await?;
                    if n == 0 {
                        return Err(std::io::Error::other("connection closed mid-body"));
                    }
                    self.buf.extend_from_slice(&tmp[..n]);
                }
                return Ok(self.buf[end + 4..total].to_vec());
            }
            let n = self.stream.read(&mut tmp).await?;
            if n == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }
}

/// True for a `[0, ...]` envelope.
fn is_ok(body: &[u8]) -> bool {
    body.starts_with(b"[0,")
}

/// What one request of a scenario is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bare,
    Ceiling,
    UserGet,
    Query,
    Get,
    Add,
    Login,
    Seats,
}

/// The scenarios in the order they run. `bare` is the reference every rate is compared with: a hyper
/// server that answers a fixed body, on the same machine in the same run. A name ending in `@1` runs
/// its scenario with every connection sharing one login (one user), at the largest connection count.
const SCENARIOS: [(&str, &str); 13] = [
    ("bare", "bare hyper server, fixed answer (the reference)"),
    ("ceiling", "initClient (no table)"),
    ("ceiling@1", "initClient, one login shared"),
    ("User.get", "User.get of oneself"),
    ("User.get@1", "User.get, one login shared"),
    ("Ordr.query", "Ordr.query, 20-row page, default vcols"),
    ("Ordr.query@1", "Ordr.query, one login shared"),
    ("Ordr.get", "Ordr.get of an own order"),
    ("Ordr.add", "Ordr.add (+OrderLog, ObjLog, ApiLog)"),
    ("Ordr.add@1", "Ordr.add, one login shared"),
    ("Showing.seats", "Showing.seats of a 1,000-seat hall"),
    ("login", "login with password"),
    ("mixed", "80% reads / 20% writes"),
];

/// A logged-in bench user: cookie and one of its order ids.
#[derive(Clone)]
struct Session {
    user: usize,
    cookie: String,
    order_id: i64,
}

/// Per-run counters shared by the connections.
#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    errors: AtomicU64,
    adds_acked: AtomicU64,
}

async fn request(c: &mut Conn, kind: Kind, s: &Session, counters: &Counters) -> std::io::Result<bool> {
    let (path, form) = match kind {
        Kind::Bare => ("/".to_string(), None),
        Kind::Ceiling => ("/api/initClient".to_string(), None),
        Kind::UserGet => ("/api/User.get".to_string(), None),
        Kind::Query => ("/api/Ordr.query".to_string(), None),
        Kind::Get => (format!("/api/Ordr.get?id={}", s.order_id), None),
        Kind::Add => ("/api/Ordr.add".to_string(), Some("dscr=bench&amount=12.5".to_string())),
        Kind::Login => ("/api/login".to_string(), Some(format!("uname=u{}&pwd={PASSWORD}", s.user))),
        Kind::Seats => (format!("/api/Showing.seats?id={SEATS_SHOWING}"), None),
    };
    let cookie = if kind == Kind::Login { "" } else { s.cookie.as_str() };
    let body = c.call(&path, cookie, form.as_deref()).await?;
    if kind != Kind::Bare {
        counters.calls.fetch_add(1, Ordering::Relaxed);
    }
    let ok = is_ok(&body);
    if kind == Kind::Add && ok {
        counters.adds_acked.fetch_add(1, Ordering::Relaxed);
    }
    Ok(ok)
}

/// The result of one (scenario, connections) run.
#[derive(Debug, Clone)]
struct RunResult {
    scenario: String,
    conns: usize,
    requests: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// The reference measured right before this run, at the same connections (`None` for `bare`).
    bare_rps: Option<f64>,
    /// CPU time the server process(es) used per call in this run, user plus system, in microseconds.
    cpu_us: Option<f64>,
    /// Share of the machine's CPU time the hypervisor gave to other guests during this run (`steal` in
    /// /proc/stat): how much of the box the run did not have.
    steal_pct: Option<f64>,
}

/// A reading of the machine's and some processes' CPU clocks, to tell what one run cost and how much
/// of the machine it had.
struct CpuClock {
    steal: u64,
    total: u64,
    procs: u64,
}

impl CpuClock {
    /// Reads /proc/stat and the user plus system time of `pids` (clock ticks).
    fn read(pids: &[u32]) -> CpuClock {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let f: Vec<u64> =
            stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
        let procs = pids
            .iter()
            .map(|pid| {
                let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
                let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
                let v: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|x| x.parse().ok()).collect();
                v.iter().sum::<u64>()
            })
            .sum();
        CpuClock { steal: f.get(7).copied().unwrap_or(0), total: f.iter().take(8).sum(), procs }
    }

    /// (CPU microseconds of the processes per call, steal percentage) since `start`. Clock ticks are
    /// USER_HZ, 100 per second on Linux whatever the kernel's own tick.
    fn since(&self, start: &CpuClock, calls: u64) -> (Option<f64>, Option<f64>) {
        let cpu = (calls > 0).then(|| self.procs.saturating_sub(start.procs) as f64 * 10_000.0 / calls as f64);
        let total = self.total.saturating_sub(start.total);
        let steal = (total > 0).then(|| 100.0 * self.steal.saturating_sub(start.steal) as f64 / total as f64);
        (cpu, steal)
    }
}

impl RunResult {
    /// The rate as a share of the reference measured next to it.
    fn vs_bare(&self) -> Option<f64> {
        self.bare_rps.filter(|b| *b > 0.0).map(|b| self.rps / b)
    }
}

/// Keeps one connection per session busy for `seconds`; connection i goes to server `i % addrs.len()`.
async fn run(
    addrs: &[String],
    scenario: &str,
    sessions: &[Session],
    seconds: f64,
    counters: Arc<Counters>,
) -> RunResult {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for (i, s) in sessions.iter().cloned().enumerate() {
        let addr = addrs[i % addrs.len()].clone();
        let scenario = scenario.to_string();
        let counters = counters.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let Ok(mut c) = Conn::open(&addr).await else { return (lat, 1) };
            let mut n: u64 = i as u64;
            while Instant::now() < deadline {
                n = n.wrapping_add(1);
                let kind = match scenario.trim_end_matches("@1") {
                    "bare" => Kind::Bare,
                    "ceiling" => Kind::Ceiling,
                    "User.get" => Kind::UserGet,
                    "Ordr.query" => Kind::Query,
                    "Ordr.get" => Kind::Get,
                    "Ordr.add" => Kind::Add,
                    "login" => Kind::Login,
                    "Showing.seats" => Kind::Seats,
                    // mixed: 80% reads (half query, half get), 20% adds.
                    _ => match n % 10 {
                        0 | 5 => Kind::Add,
                        1 | 3 | 7 | 9 => Kind::Query,
                        _ => Kind::Get,
                    },
                };
                let t = Instant::now();
                match request(&mut c, kind, &s, &counters).await {
                    Ok(true) => {}
                    Ok(false) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        match Conn::open(&addr).await {
                            Ok(nc) => c = nc,
                            Err(_) => break,
                        }
                    }
                }
                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            (lat, errors)
        }));
    }
    let started = Instant::now();
    let mut all: Vec<u32> = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(seconds);
    counters.errors.fetch_add(errors, Ordering::Relaxed);
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[i] as f64 / 1000.0
    };
    RunResult {
        scenario: scenario.to_string(),
        conns: sessions.len(),
        requests: all.len() as u64,
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
        bare_rps: None,
        cpu_us: None,
        steal_pct: None,
    }
}

/// Logs in `n` distinct users (one per connection) and finds one of each user's orders.
async fn login_users(addr: &str, n: usize, counters: &Counters) -> Result<Vec<Session>, Box<dyn std::error::Error>> {
    let mut c = Conn::open(addr).await?;
    let mut out = Vec::new();
    for user in 1..=n {
        let body = c.call("/api/login", "", Some(&format!("uname=u{user}&pwd={PASSWORD}"))).await?;
        counters.calls.fetch_add(1, Ordering::Relaxed);
        let v: Value = serde_json::from_slice(&body)?;
        let token = v[1]["_token"].as_str().ok_or_else(|| format!("login of u{user} failed: {v}"))?;
        let cookie = format!("userid={token}");
        let body = c.call("/api/Ordr.query?res=id&pagesz=1&fmt=one", &cookie, None).await?;
        counters.calls.fetch_add(1, Ordering::Relaxed);
        let v: Value = serde_json::from_slice(&body)?;
        let order_id = v[1]["id"].as_i64().ok_or_else(|| format!("u{user} has no order: {v}"))?;
        out.push(Session { user, cookie, order_id });
    }
    Ok(out)
}

/// `count` on a SQLite file's connection (the flash and train profiles run on SQLite).
fn count_sqlite(conn: &Connection, sql: &str) -> i64 {
    count(DbConn::Sqlite(conn), sql)
}

fn count(conn: DbConn, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get::<Option<i64>>(0)).ok().flatten().unwrap_or(-1)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, addr] = args.as_slice() {
        if flag == "--bare" {
            return bare_server(addr);
        }
    }
    let o = parse_opts()?;
    if let Some(path) = &o.generate {
        if path.exists() {
            return Err(format!("{} exists; give a new file", path.display()).into());
        }
        generate(&Target::Sqlite(path.clone()), o.users, o.orders)?;
        eprintln!("wrote {} ({} users, {} orders)", path.display(), o.users, o.orders);
        return Ok(());
    }
    let dir = tempfile_dir()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let bare = BareServer::start()?;
    if o.flash || o.train {
        let conns = if o.conns == vec![16, 64] { 256 } else { *o.conns.iter().max().unwrap_or(&256) };
        let ok = if o.flash {
            flash::run(&o.server, &dir, o.seconds, conns, &rt, &bare)?
        } else {
            train::run(&o.server, &dir, o.seconds, conns, &rt, &bare)?
        };
        drop(bare);
        let _ = std::fs::remove_dir_all(&dir);
        return if ok { Ok(()) } else { Err("a database check failed".into()) };
    }
    let mut report = String::new();
    let mut json_runs = Vec::new();
    let mut ok = true;
    if o.growth.is_empty() {
        let (text, json, good) = main_run(&o, &dir, &rt, &bare, o.orders, None)?;
        report.push_str(&text);
        json_runs.push(json);
        ok &= good;
    } else {
        let conns = *o.conns.iter().max().unwrap_or(&64);
        report.push_str(&format!(
            "\nGrowth: Ordr.query (20-row page) at {conns} conns as the orders table grows; machine: {}\n\n\
             | orders | req/s | vs bare | p99 ms | RSS MB | CPU µs/call | steal |\n|---:|---:|---:|---:|---:|---:|---:|\n",
            machine()
        ));
        for &n in &o.growth {
            let (_, json, good) = main_run(&o, &dir, &rt, &bare, n, Some(conns))?;
            let r = &json["results"];
            let q = r.as_array().and_then(|a| a.iter().find(|x| x["scenario"] == "Ordr.query")).cloned();
            if let Some(q) = q {
                let qr = q["rps"].as_f64().unwrap_or(0.0);
                report.push_str(&format!(
                    "| {n} | {qr:.0} | {:.0}% | {:.2} | {:.1} | {:.0} | {:.0}% |\n",
                    100.0 * q["vs_bare"].as_f64().unwrap_or(0.0),
                    q["p99_ms"].as_f64().unwrap_or(0.0),
                    json["server_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0,
                    q["cpu_us_per_call"].as_f64().unwrap_or(0.0),
                    q["steal_pct"].as_f64().unwrap_or(0.0)
                ));
            }
            json_runs.push(json);
            ok &= good;
        }
    }
    drop(bare);
    println!("{report}");
    if let Some(p) = o.out.parent() {
        std::fs::create_dir_all(p)?;
    }
    let json = if json_runs.len() == 1 { json_runs.remove(0) } else { json!({"growth": json_runs}) };
    std::fs::write(&o.out, serde_json::to_string_pretty(&json)?)?;
    eprintln!("wrote {}", o.out.display());
    let _ = std::fs::remove_dir_all(&dir);
    if !ok {
        return Err("count check failed".into());
    }
    Ok(())
}

/// One database of `orders` orders: every scenario (or only `Ordr.query` and the reference at
/// `only_conns`), then the count check. Returns the report text, the JSON and whether the check held.
fn main_run(
    o: &Opts,
    dir: &Path,
    rt: &tokio::runtime::Runtime,
    bare: &BareServer,
    orders: usize,
    only_conns: Option<usize>,
) -> Result<(String, Value, bool), Box<dyn std::error::Error>> {
    let target = Target::new(dir, o.pg.as_deref(), orders);
    let t0 = Instant::now();
    eprintln!("generating {} users and {orders} orders ...", o.users);
    generate(&target, o.users, orders)?;
    eprintln!("  done in {:.1}s", t0.elapsed().as_secs_f64());
    let orders_before = count(target.open()?.conn(), "SELECT MAX(id) FROM Ordr");

    let p_db = target.p_db();
    let servers: Vec<Server> =
        (0..o.procs).map(|_| Server::start(&o.server, Path::new(&p_db))).collect::<Result<_, _>>()?;
    let server = &servers[0];
    let addrs: Vec<String> = servers.iter().map(|s| s.addr.clone()).collect();
    let counters = Arc::new(Counters::default());
    let conns: Vec<usize> = match only_conns {
        Some(n) => vec![n],
        None => o.conns.clone(),
    };
    let max_conns = *conns.iter().max().unwrap_or(&16);
    let sessions = rt.block_on(login_users(&server.addr, max_conns.min(FULL_PAGE_USERS).min(o.users), &counters))?;

    let mut results = Vec::new();
    let mut wal_max_mb: f64 = 0.0;
    for (name, _) in SCENARIOS {
        if let Some(only) = &o.only {
            if name != "bare" && only != name && only != name.trim_end_matches("@1") {
                continue;
            }
        }
        if only_conns.is_some() && name != "bare" && name != "Ordr.query" {
            continue;
        }
        let shared = name.ends_with("@1");
        let bare_addr = [bare.addr.clone()];
        let addr: &[String] = if name == "bare" { &bare_addr } else { &addrs };
        for &n in &conns {
            if shared && n != max_conns {
                continue;
            }
            let s: Vec<Session> =
                if shared { vec![sessions[0].clone(); n] } else { sessions.iter().cycle().take(n).cloned().collect() };
            // The reference again, just before this run and at its connections: on a shared machine its
            // rate moves by a fifth within minutes, so each share is of a reference measured seconds away.
            let bare_now = (name != "bare").then(|| rt.block_on(bare_rate(&bare.addr, n, (o.seconds / 2.0).max(0.5))));
            // A short warm-up so each run starts with open connections and warm caches.
            rt.block_on(run(addr, name, &s, (o.seconds / 10.0).min(0.5), counters.clone()));
            let pids: Vec<u32> =
                if name == "bare" { vec![bare.child.id()] } else { servers.iter().map(|s| s.child.id()).collect() };
            let clock = CpuClock::read(&pids);
            let mut r = rt.block_on(run(addr, name, &s, o.seconds, counters.clone()));
            (r.cpu_us, r.steal_pct) = CpuClock::read(&pids).since(&clock, r.requests);
            r.bare_rps = bare_now;
            // The WAL file's size shows whether checkpoints keep up (it is reused from its start, and cut
            // back to 160 MB, only when they do; it starts over every 128 MB).
            let wal_mb = match &target {
                Target::Sqlite(db) => std::fs::metadata(db.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0),
                Target::Pg { .. } => 0,
            } as f64
                / 1e6;
            wal_max_mb = wal_max_mb.max(wal_mb);
            eprintln!(
                "  {:<13} {:>3} conns: {:>8.0} req/s  p50 {:.2} ms  p99 {:.2} ms  errors {}  cpu {:.0} us/call  steal {:.0}%  (RSS {:.1} MB, anon {:.1}; WAL {:.0} MB)",
                r.scenario,
                n,
                r.rps,
                r.p50_ms,
                r.p99_ms,
                r.errors,
                r.cpu_us.unwrap_or(0.0),
                r.steal_pct.unwrap_or(0.0),
                server.status_kb("VmRSS") as f64 / 1024.0,
                server.status_kb("RssAnon") as f64 / 1024.0,
                wal_mb
            );
            results.push(r);
        }
    }
    let rss_kb = server.status_kb("VmRSS");
    let rss_parts = ["RssAnon", "RssFile", "RssShmem"].map(|f| server.status_kb(f));
    for s in servers {
        s.stop()?;
    }

    // Count check: every call made has its ApiLog row; every acknowledged add is in Ordr.
    let opened = target.open()?;
    let conn = opened.conn();
    let calls = counters.calls.load(Ordering::Relaxed) as i64;
    let apilog = count(conn, "SELECT COUNT(*) FROM ApiLog");
    let acked = counters.adds_acked.load(Ordering::Relaxed) as i64;
    let added = count(conn, &format!("SELECT COUNT(*) FROM Ordr WHERE id > {orders_before}"));
    let good = apilog == calls && added == acked;

    let mut text = report(&results, rss_kb, calls, apilog, acked, added, o, orders);
    text.push_str(&format!(
        "RSS parts: anonymous {:.1} MB, file-backed {:.1} MB, shared memory {:.1} MB\n",
        rss_parts[0] as f64 / 1024.0,
        rss_parts[1] as f64 / 1024.0,
        rss_parts[2] as f64 / 1024.0
    ));
    text.push_str(&format!("largest WAL file after a scenario: {wal_max_mb:.0} MB\n"));
    let json = json!({
        "machine": machine(),
        "users": o.users, "orders": orders, "seconds": o.seconds,
        "results": results.iter().map(|r| json!({
            "scenario": r.scenario, "conns": r.conns, "requests": r.requests, "rps": r.rps.round(),
            "bare_rps": r.bare_rps.map(f64::round),
            "vs_bare": r.vs_bare().map(|v| (1000.0 * v).round() / 1000.0),
            "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors,
            "cpu_us_per_call": r.cpu_us.map(|v| (10.0 * v).round() / 10.0),
            "steal_pct": r.steal_pct.map(|v| (10.0 * v).round() / 10.0),
        })).collect::<Vec<_>>(),
        "server_rss_kb": rss_kb,
        "server_rss_parts_kb": {"anon": rss_parts[0], "file": rss_parts[1], "shmem": rss_parts[2]},
        "wal_max_mb": wal_max_mb.round(),
        "check": {"calls": calls, "apilog_rows": apilog, "adds_acked": acked, "orders_added": added, "ok": good},
    });
    drop(opened);
    target.remove();
    Ok((text, json, good))
}

#[allow(clippy::too_many_arguments)]
fn report(
    results: &[RunResult],
    rss_kb: u64,
    calls: i64,
    apilog: i64,
    acked: i64,
    added: i64,
    o: &Opts,
    orders: usize,
) -> String {
    let mut s = String::new();
    s.push_str(&format!("\n{} users, {orders} orders, {} s per run; machine: {}\n\n", o.users, o.seconds, machine()));
    s.push_str(
        "Each share is of the bare server measured just before that row, at the same connections. CPU is the \
         server's (the bare server's on its rows), user plus system, per call; steal is the share of the \
         machine's CPU time the hypervisor gave elsewhere during the row.\n\n",
    );
    s.push_str(
        "| scenario | conns | req/s | bare req/s | vs bare | p50 ms | p99 ms | errors | CPU µs/call | steal |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let bare = r.bare_rps.map(|b| format!("{b:.0}")).unwrap_or_default();
        let ratio = r.vs_bare().map(|v| format!("{:.0}%", 100.0 * v)).unwrap_or_else(|| "100%".into());
        let cpu = r.cpu_us.map(|v| format!("{v:.0}")).unwrap_or_default();
        let steal = r.steal_pct.map(|v| format!("{v:.0}%")).unwrap_or_default();
        s.push_str(&format!(
            "| {} | {} | {:.0} | {bare} | {ratio} | {:.2} | {:.2} | {} | {cpu} | {steal} |\n",
            r.scenario, r.conns, r.rps, r.p50_ms, r.p99_ms, r.errors
        ));
    }
    s.push_str(&format!("server RSS after the run: {:.1} MB\n", rss_kb as f64 / 1024.0));
    s.push_str(&format!(
        "count check: {calls} calls made, {apilog} ApiLog rows ({}); {acked} adds acknowledged, {added} new orders ({})\n",
        if calls == apilog { "ok" } else { "MISMATCH" },
        if acked == added { "ok" } else { "MISMATCH" }
    ));
    s
}

/// The reference server: this binary started with `--bare ADDR` in its own process, so it has a
/// process and runtime of its own like the server under test (tokio's default multi-thread runtime).
struct BareServer {
    child: Child,
    addr: String,
}

impl BareServer {
    fn start() -> Result<BareServer, Box<dyn std::error::Error>> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(std::env::current_exe()?).args(["--bare", &addr]).stdout(Stdio::null()).spawn()?;
        // Held from the start, so that a reference that never listens is killed too.
        let b = BareServer { child, addr };
        for _ in 0..200 {
            if std::net::TcpStream::connect(&b.addr).is_ok() {
                return Ok(b);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err("bare server did not start".into())
    }
}

impl Drop for BareServer {
    /// Also on an early error: a reference server left running would hold the run's output open.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A hyper 1 HTTP/1.1 server that answers every request with a fixed protocol envelope: the most any
/// server on hyper and tokio can do on this machine, and so the unit of every rate in the report.
fn bare_server(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(async move {
                let svc = service_fn(|_req| async {
                    let body = http_body_util::Full::new(bytes::Bytes::from_static(b"[0,\"hello\"]\n"));
                    let resp = hyper::Response::builder()
                        .header("Content-Type", "text/plain; charset=UTF-8")
                        .body(body)
                        .expect("static response");
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    })
}

/// Pays an order through the mock channel as its buyer would: `Ordr.pay`, then the notification the
/// channel's page would send, signed with `secret`. True when the server answered `success`.
async fn pay_mock(c: &mut Conn, cookie: &str, order: i64, secret: &str) -> std::io::Result<bool> {
    let v: Value = serde_json::from_slice(&c.call(&format!("/api/Ordr.pay?id={order}"), cookie, Some("")).await?)
        .unwrap_or(Value::Null);
    if v[0] != 0 {
        return Ok(false);
    }
    let (serial, amount) = (v[1]["serial"].as_str().unwrap_or(""), v[1]["amount"].as_str().unwrap_or(""));
    let fields: Vec<(String, String)> =
        [("serial", serial), ("tradeNo", "B1"), ("amount", amount), ("status", "SUCCESS")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let sign = jindouyun::ticketing::payment::Mock::new(secret.as_bytes()).sign(&fields);
    let form = format!("serial={serial}&tradeNo=B1&amount={amount}&status=SUCCESS&sign={sign}");
    Ok(c.call("/api/payNotify?channel=mock", "", Some(&form)).await?.starts_with(b"success"))
}

/// The bare server's rate at `conns` connections (the unit of the flash-sale report).
async fn bare_rate(addr: &str, conns: usize, seconds: f64) -> f64 {
    let sessions: Vec<Session> = (0..conns).map(|i| Session { user: i, cookie: String::new(), order_id: 0 }).collect();
    run(&[addr.to_string()], "bare", &sessions, seconds, Arc::new(Counters::default())).await.rps
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{} cores, {cpu}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0))
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("jdy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
