//! Test harness: a real server on 127.0.0.1:0 with a fresh database per test, and a small HTTP/1.1
//! client with a cookie jar (so tests speak to the server exactly as a browser or curl would).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use jindouyun::config::Config;
use jindouyun::http::Application;
use jindouyun::state::AppState;
use serde_json::{json, Value};

/// A running server and a client session against it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub cookies: BTreeMap<String, String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    /// The test's own PostgreSQL database, dropped after the server stopped.
    pg: Option<PgTestDb>,
}

/// True when the suite runs on PostgreSQL: `P_TEST_BACKEND=postgres` with `P_TEST_PG`, the URL of a
/// role that may create databases (`tools/pg-test-server` prints one). Every test then gets its own
/// database, as it gets its own SQLite file otherwise.
pub fn on_pg() -> bool {
    std::env::var("P_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A local time `secs` seconds ago (ahead when negative) as an SQL literal, `'YYYY-MM-DD HH:MM:SS'`:
/// what test SQL writes into time columns on either backend.
pub fn ago(secs: i64) -> String {
    let t = chrono::Local::now().naive_local() - chrono::Duration::seconds(secs);
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

/// A database made for one test and dropped with it.
struct PgTestDb {
    admin_url: String,
    name: String,
}

impl PgTestDb {
    fn create() -> (PgTestDb, String) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let admin_url = std::env::var("P_TEST_PG").expect("P_TEST_BACKEND=postgres needs P_TEST_PG");
        let name = format!("jdy_api_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).expect("connect to P_TEST_PG");
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = admin_url.rsplit_once('/').map(|(b, _)| b).expect("P_TEST_PG ends in /database");
        let url = format!("{base}/{name}");
        (PgTestDb { admin_url, name }, url)
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request body.
pub enum Body<'a> {
    None,
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
    Raw(&'a str, Vec<u8>),
}

/// Starts a server with the test configuration, adjusted by `f`.
pub fn spawn_with(f: impl FnOnce(&mut Config)) -> TestApp {
    spawn_product(jindouyun::app::Jindouyun::product(), f)
}

/// Starts a server for another product (tests of what the framework offers products).
pub fn spawn_product(product: Arc<dyn jindouyun::state::Product>, f: impl FnOnce(&mut Config)) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::for_test(dir.path().join("test.db"));
    let pg = on_pg().then(|| {
        let (db, url) = PgTestDb::create();
        config.db_path = url.into();
        db
    });
    f(&mut config);
    let (tx_ready, rx_ready) = std::sync::mpsc::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let app = match Application::build(config, product).await {
                Ok(a) => a,
                Err(e) => {
                    tx_ready.send(Err(e.to_string())).unwrap();
                    return;
                }
            };
            tx_ready.send(Ok((app.addr(), app.state()))).unwrap();
            app.run_until_stopped(async {
                let _ = stop_rx.await;
            })
            .await;
        });
    });
    let (addr, state) = rx_ready.recv().unwrap().expect("server starts");
    TestApp { addr, state, cookies: BTreeMap::new(), stop: Some(stop), thread: Some(thread), _dir: dir, pg }
}

/// Starts a server with the test configuration (test mode on, admin `admin:admin123`).
pub fn spawn_app() -> TestApp {
    spawn_with(|_| {})
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `k=v&...` with both sides encoded.
pub fn qs(params: &[(&str, &str)]) -> String {
    params.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// One HTTP/1.1 request on its own connection, without cookies: for tests that call from several
/// threads at once (a [`TestApp`] is one client with one cookie jar).
pub fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse_response(&raw)
}

/// A form POST as a token holder from any thread; the answer as JSON.
pub fn post_form_as(addr: SocketAddr, token: &str, path: &str, form: &[(&str, &str)]) -> Value {
    let auth = format!("Bearer {token}");
    let h = [("Authorization", auth.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    send(addr, "POST", path, &h, qs(form).as_bytes()).json()
}

impl TestApp {
    /// Sends a raw request; stores cookies the server sets.
    pub fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let cookie = cookie.join("; ");
        let mut h = headers.to_vec();
        if !self.cookies.is_empty() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("cookie")) {
            h.push(("Cookie", cookie.as_str()));
        }
        let resp = send(self.addr, method, path, &h, body);
        for (k, v) in &resp.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let kv = v.split(';').next().unwrap_or("");
                if let Some((name, val)) = kv.split_once('=') {
                    if val.is_empty() || v.contains("Max-Age=0") {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_string(), val.to_string());
                    }
                }
            }
        }
        resp
    }

    /// Calls `ac` with URL params and a body; returns the raw response.
    pub fn call_raw(&mut self, ac: &str, url: &[(&str, &str)], body: Body) -> Resp {
        let path = if url.is_empty() { format!("/api/{ac}") } else { format!("/api/{ac}?{}", qs(url)) };
        match body {
            Body::None => self.request("GET", &path, &[], b""),
            Body::Form(f) => {
                let b = qs(f);
                self.request("POST", &path, &[("Content-Type", "application/x-www-form-urlencoded")], b.as_bytes())
            }
            Body::Json(v) => {
                let b = serde_json::to_vec(&v).unwrap();
                self.request("POST", &path, &[("Content-Type", "application/json")], &b)
            }
            Body::Raw(ct, b) => self.request("POST", &path, &[("Content-Type", ct)], &b),
        }
    }

    /// Calls `ac` and returns the envelope.
    pub fn call(&mut self, ac: &str, url: &[(&str, &str)], body: Body) -> Value {
        self.call_raw(ac, url, body).json()
    }

    /// Calls `ac`, asserts success, returns the data.
    pub fn ok(&mut self, ac: &str, url: &[(&str, &str)], body: Body) -> Value {
        let v = self.call(ac, url, body);
        assert_eq!(v[0], json!(0), "{ac} should succeed: {v}");
        v[1].clone()
    }

    /// Calls `ac`, asserts the error code, returns the envelope.
    pub fn err(&mut self, ac: &str, url: &[(&str, &str)], body: Body, code: i64) -> Value {
        let v = self.call(ac, url, body);
        assert_eq!(v[0], json!(code), "{ac} should fail with {code}: {v}");
        v
    }

    /// Logs in to the admin app (`_app=admin`).
    pub fn login_admin(&mut self) {
        self.ok("login", &[("_app", "admin")], Body::Form(&[("uname", "admin"), ("pwd", "admin123")]));
    }

    /// Runs SQL through execSql (test mode) and returns the data.
    pub fn sql(&mut self, sql: &str) -> Value {
        self.ok("execSql", &[], Body::Form(&[("sql", sql)]))
    }

    /// A single number from SQL.
    pub fn count(&mut self, sql: &str) -> i64 {
        self.ok("execSql", &[], Body::Form(&[("sql", sql), ("fmt", "one")])).as_i64().unwrap_or(-1)
    }

    /// The database's table names, sorted (from the catalogue of whichever backend runs).
    pub fn tables(&mut self) -> Vec<String> {
        let sql = if on_pg() {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        } else {
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite%' ORDER BY name"
        };
        let rows = self.sql(sql);
        rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
    }

    /// Waits until every queued ApiLog row is written.
    pub fn flush_log(&self) {
        self.state.apilog.flush();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.pg.take();
    }
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 2 + n + 2..];
    }
    out
}
