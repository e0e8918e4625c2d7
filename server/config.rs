//! Server configuration: the only place that reads environment variables.
//!
//! Names follow the reference's `P_*` convention so an operator of the PHP server finds the same knobs.
//! Tests build a `Config` directly (see `Config::for_test`) instead of touching the process environment.

use std::path::PathBuf;

/// Everything the server needs to know at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// `P_ADDR`: listen address (default `127.0.0.1:8080`).
    pub addr: String,
    /// `P_DB`: SQLite database file (default `data/jdy.db`); `:memory:` is not supported (the pool needs a file).
    /// A `postgres://` URL names a PostgreSQL database instead (today: `jindouyun upgrade` only).
    pub db_path: PathBuf,
    /// `P_DESIGN`: the design document the schema comes from (default `design/DESIGN.md`).
    pub design_path: PathBuf,
    /// `P_WEB_ROOT`: directory holding `web/` and `m2/` (default: the current directory).
    pub web_root: PathBuf,
    /// `P_ADMIN_CRED`: `user:pwd` (or its base64) for the admin app; unset means admin login is refused.
    pub admin_cred: Option<String>,
    /// `P_TEST_MODE=1`: test mode (protocol §9.1). Never on by default.
    pub test_mode: bool,
    /// `P_DEBUG`: default debug level 0-9 for every call (9 logs SQL).
    pub debug: u8,
    /// `P_MAX_BODY`: largest accepted request body in bytes (default 20 MiB).
    pub max_body: usize,
    /// `P_SERVER_REV`: the revision sent as `X-Daca-Server-Rev` (≤6 chars; default: `revision.txt` or the crate version).
    pub server_rev: String,
    /// `P_TOKEN_LIFE`: login token lifetime in seconds (default 30 days).
    pub token_life: i64,
    /// `P_APILOG=0` turns ApiLog off (default on).
    pub apilog: bool,
    /// `P_DB_POOL`: read connections in the pool (default 4); on PostgreSQL also the number of write sessions.
    pub db_pool: u32,
    /// `P_WORKERS`: threads that run calls (default 8).
    pub workers: usize,
    /// `P_SMS`: the SMS sender for verification codes (default `mock`: messages go to the log).
    pub sms: String,
    /// `P_HEADER_TIMEOUT`: seconds a client may take to send a request head before the connection is
    /// closed (default 30).
    pub header_timeout: u64,
    /// `P_SESSION_RECHECK`: seconds a cached login token is trusted before the Session table is read
    /// again (default 30); sessions revoked outside this process end within this time.
    pub session_recheck: i64,
    /// `P_DEMO=0` skips loading demo data into a new database (default on for `cargo run`).
    pub demo: bool,
    /// `P_UPLOAD_DIR`: where `upload` stores files (default `data/upload`). `Attachment.path` values
    /// (`upload/202601/123456.jpg`) are relative to its parent: `upload/` names this directory.
    pub upload_dir: PathBuf,
    /// `P_PWD_COST`: Argon2id cost of new password hashes, `m,t,p` (memory KiB, passes, lanes; default
    /// `7168,5,1`, see `auth::password`).
    pub pwd_cost: crate::auth::password::Cost,
    /// `P_MAX_ORDER_AMOUNT`: the largest amount a buyer may offer for a plain order, in cents (default
    /// 100000.00 yuan). Ticket orders are priced by the server.
    pub max_order_cents: i64,
    /// `P_HOUSEKEEP_SECS`: how often expired verification codes and long-dead sessions are deleted
    /// (default 3600; 0 turns it off).
    pub housekeep_secs: u64,
    /// `P_SWEEP_SECS`: how often new orders whose hold has expired are cancelled (default 30; 0 turns the
    /// sweeper off: expired holds still never block a buyer).
    pub sweep_secs: u64,
    /// `P_PAY_MOCK_SECRET`: the key of the built-in `mock` payment channel's signatures (default: a random
    /// key the server keeps in Cinf).
    pub pay_mock_secret: Option<String>,
}

impl Config {
    /// Reads the configuration from `P_*` environment variables.
    pub fn from_env() -> Config {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let flag = |k: &str, default: bool| var(k).map(|v| v != "0").unwrap_or(default);
        let num = |k: &str, default: i64| var(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        let web_root = var("P_WEB_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        let server_rev = var("P_SERVER_REV")
            .or_else(|| std::fs::read_to_string(web_root.join("revision.txt")).ok())
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
        Config {
            addr: var("P_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            db_path: var("P_DB").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("data/jdy.db")),
            design_path: var("P_DESIGN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("design/DESIGN.md")),
            web_root,
            admin_cred: var("P_ADMIN_CRED"),
            test_mode: flag("P_TEST_MODE", false),
            debug: num("P_DEBUG", 0).clamp(0, 9) as u8,
            max_body: num("P_MAX_BODY", 20 << 20).max(1024) as usize,
            server_rev: short_rev(&server_rev),
            token_life: num("P_TOKEN_LIFE", 30 * 86400).max(60),
            apilog: flag("P_APILOG", true),
            db_pool: num("P_DB_POOL", 4).clamp(1, 64) as u32,
            workers: num("P_WORKERS", 8).clamp(2, 256) as usize,
            sms: var("P_SMS").unwrap_or_else(|| "mock".into()),
            session_recheck: num("P_SESSION_RECHECK", 30).max(0),
            header_timeout: num("P_HEADER_TIMEOUT", 30).clamp(1, 3600) as u64,
            demo: flag("P_DEMO", true),
            upload_dir: var("P_UPLOAD_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("data/upload")),
            housekeep_secs: num("P_HOUSEKEEP_SECS", 3600).max(0) as u64,
            sweep_secs: num("P_SWEEP_SECS", 30).max(0) as u64,
            pay_mock_secret: var("P_PAY_MOCK_SECRET"),
            max_order_cents: var("P_MAX_ORDER_AMOUNT")
                .and_then(|v| crate::money::parse_cents(&v))
                .filter(|c| *c > 0)
                .unwrap_or(10_000_000),
            pwd_cost: match var("P_PWD_COST").map(|v| crate::auth::password::Cost::parse(&v)) {
                None => crate::auth::password::Cost::DEFAULT,
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    eprintln!("{e}");
                    std::process::exit(2);
                }
            },
        }
    }

    /// A configuration for tests: port 0, the given database file, the repository's design and pages,
    /// test mode on, no demo data, uploads in an `upload` directory next to the database (so each test
    /// with its own database directory gets its own uploads).
    /// The PostgreSQL URL when `P_DB` is one (`postgres://...`), else `None` (a SQLite file).
    pub fn postgres_url(&self) -> Option<&str> {
        self.db_path.to_str().filter(|s| crate::db::postgres::is_url(s))
    }

    pub fn for_test(db_path: PathBuf) -> Config {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let upload_dir = db_path.parent().map(|d| d.join("upload")).unwrap_or_else(|| PathBuf::from("upload"));
        Config {
            addr: "127.0.0.1:0".into(),
            db_path,
            design_path: root.join("design/DESIGN.md"),
            web_root: root,
            admin_cred: Some("admin:admin123".into()),
            test_mode: true,
            debug: 0,
            max_body: 1 << 20,
            server_rev: "test".into(),
            token_life: 30 * 86400,
            apilog: true,
            db_pool: 4,
            workers: 8,
            sms: "mock".into(),
            session_recheck: 30,
            header_timeout: 30,
            demo: false,
            upload_dir,
            pwd_cost: crate::auth::password::Cost::DEFAULT,
            max_order_cents: 10_000_000,
            housekeep_secs: 3600,
            sweep_secs: 30,
            pay_mock_secret: Some("test-pay-secret".into()),
        }
    }
}

/// Every `P_*` variable: name, default, meaning (shown by `jindouyun --help`; README's table says the same,
/// and a test keeps the three in step).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("P_ADDR", "127.0.0.1:8080", "listen address"),
    ("P_DB", "data/jdy.db", "SQLite database file (WAL mode), created on first start; or postgres://user:pwd@host/db (upgrade only, for now)"),
    ("P_DESIGN", "design/DESIGN.md", "the design document the schema comes from"),
    ("P_WEB_ROOT", ".", "directory holding web/ and m2/"),
    ("P_ADMIN_CRED", "unset", "user:pwd (or its base64) for the admin app; unset = admin login refused"),
    ("P_TEST_MODE", "0", "1: test mode (execSql, pretty JSON, X-Daca-Test-Mode); never in production"),
    ("P_DEBUG", "0", "default debug level 0-9 (9 logs every SQL statement)"),
    ("P_MAX_BODY", "20971520", "largest request body in bytes; larger ones get E_PARAM"),
    ("P_SERVER_REV", "revision.txt or crate version", "value of X-Daca-Server-Rev (6 chars)"),
    ("P_TOKEN_LIFE", "2592000", "login token lifetime in seconds (30 days)"),
    ("P_SMS", "mock", "SMS sender for verification codes; mock writes 验证码{code}，请在5分钟内使用。 to the log (target sms) instead of sending"),
    ("P_APILOG", "1", "0 turns ApiLog off"),
    ("P_DB_POOL", "4", "read connections shared by the calls on the blocking pool; on SQLite each runtime thread keeps one more of its own, on PostgreSQL as many write sessions"),
    ("P_WORKERS", "8", "threads of the blocking pool, for the calls that may take long (batches, exports, uploads, password hashing); other calls run on the runtime threads (one per core)"),
    ("P_HEADER_TIMEOUT", "30", "seconds a client may take to send a request head; then the connection is closed"),
    ("P_SESSION_RECHECK", "30", "seconds a cached login token is trusted before the Session table is read again"),
    ("P_SWEEP_SECS", "30", "how often expired new ticket orders are cancelled and paid orders of ended showings completed (0: never; an expired hold never blocks a buyer anyway)"),
    ("P_PAY_MOCK_SECRET", "random, kept in Cinf", "the key of the built-in mock payment channel's HMAC-SHA256 signatures"),
    ("P_HOUSEKEEP_SECS", "3600", "how often verification codes older than a day and sessions dead for a week are deleted (0: never)"),
    ("P_MAX_ORDER_AMOUNT", "100000.00", "the largest amount a buyer may offer for a plain order (ticket orders are priced by the server)"),
    ("P_PWD_COST", "7168,5,1", "Argon2id cost of new password hashes: memory KiB, passes, lanes (OWASP's floor is enforced); about 100 logins/s on 2 cores"),
    ("P_DEMO", "1", "load demo data into a new, empty database (0: never)"),
    ("P_UPLOAD_DIR", "data/upload", "where upload stores files; Attachment.path values upload/... are relative to it"),
];

/// The `--help` text of the variables, aligned.
pub fn variables_help() -> String {
    let mut out = String::from("Configuration (environment variables):\n");
    for (name, default, meaning) in VARIABLES {
        out.push_str(&format!("  {name:<20} {meaning} [default: {default}]\n"));
    }
    out
}

/// The protocol allows at most 6 characters of revision (clients compare it to decide to reload).
fn short_rev(s: &str) -> String {
    s.trim().chars().take(6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_read_is_documented_for_help_and_in_the_readme() {
        let src = include_str!("config.rs");
        let readme = include_str!("../README.md");
        let code = &src[..src.find("pub const VARIABLES").unwrap()];
        let mut read = 0;
        for (i, _) in code.match_indices("(\"P_") {
            let name: String = code[i + 2..].chars().take_while(|c| *c != '"').collect();
            assert!(VARIABLES.iter().any(|(n, _, _)| *n == name), "{name} has no help line");
            read += 1;
        }
        assert!(read >= 20, "the variables read by from_env were found");
        for (n, _, _) in VARIABLES {
            assert!(readme.contains(&format!("`{n}`")), "{n} is not in the README");
        }
        assert!(variables_help().contains("P_SWEEP_SECS"));
    }
}
