//! PostgreSQL, the second backend (issue 16). `P_DB=postgres://user:pwd@host/db` selects it.
//!
//! What works today is the schema: `jindouyun upgrade` (and `upgrade --diff`) creates and upgrades the
//! design's tables, columns and indexes on PostgreSQL with the same planner as on SQLite
//! ([`crate::meta::upgrade::plan_all`]), spelled by [`Postgres`]. Serving calls from PostgreSQL comes
//! next: until then the server refuses to start on such a URL and says so.
//!
//! The upgrade runs in one transaction (PostgreSQL's DDL is transactional: a failed statement leaves the
//! schema as it was) under an advisory lock, so several processes starting at once on one database do
//! not plan the same CREATE TABLE twice.

use std::collections::{BTreeMap, BTreeSet};

use bytes::BytesMut;
use postgres::types::{Format, FromSql, IsNull, ToSql, Type};
use postgres::{Client, GenericClient, NoTls};

use super::conn::{PgConn, Val};
use super::dialect::Postgres;
use crate::meta::upgrade::plan_all;
use crate::meta::Design;
use crate::query::SqlValue;

/// True if `P_DB` names a PostgreSQL database rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The URL with its password replaced, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Connects (no TLS: a database on the same host or a private network; see README).
pub fn connect(url: &str) -> Result<Client, String> {
    Client::connect(url, NoTls).map_err(|e| format!("cannot connect to {}: {e}", redacted(url)))
}

/// What a schema already has: each table with its columns in order, and the index names (lower-cased,
/// as the planner compares them).
pub type Existing = (BTreeMap<String, Vec<String>>, BTreeSet<String>);

/// What the current schema already has.
pub fn existing(c: &mut impl GenericClient) -> Result<Existing, postgres::Error> {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in c.query(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        &[],
    )? {
        tables.insert(r.get(0), Vec::new());
    }
    for r in c.query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
        &[],
    )? {
        let (t, col): (String, String) = (r.get(0), r.get(1));
        if let Some(cols) = tables.get_mut(&t) {
            cols.push(col);
        }
    }
    let indexes = c
        .query("SELECT lower(indexname::text) FROM pg_indexes WHERE schemaname = current_schema()", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok((tables, indexes))
}

/// Brings the schema up to the design (or, with `diff_only`, only says what that would run). Returns
/// the statements, empty when the schema is up to date.
pub fn upgrade(c: &mut Client, design: &Design, diff_only: bool) -> Result<Vec<String>, String> {
    let err = |what: &str, e: postgres::Error| format!("{what}: {e}");
    let mut tx = c.transaction().map_err(|e| err("begin", e))?;
    // One upgrader at a time per database; released with the transaction.
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('jindouyun schema upgrade'))", &[])
        .map_err(|e| err("lock", e))?;
    let (tables, indexes) = existing(&mut tx).map_err(|e| err("reading the schema", e))?;
    let statements = plan_all(design, &tables, &indexes, &Postgres);
    if diff_only {
        return Ok(statements);
    }
    for sql in &statements {
        log::info!("schema upgrade: {sql}");
        tx.batch_execute(sql).map_err(|e| format!("schema upgrade failed on `{sql}`: {e}"))?;
    }
    tx.commit().map_err(|e| err("commit", e))?;
    Ok(statements)
}

/// The design's table and column names, for [`translate`]: found by their exact spelling first (the
/// table `Pwd` and its column `pwd` are two names), then by their lower-case one (`ordr` for `Ordr`),
/// where a table wins over a column.
#[derive(Debug, Default)]
pub struct Names {
    exact: std::collections::HashMap<String, Name>,
    folded: std::collections::HashMap<String, Name>,
}

impl Names {
    /// A set of names; `tables` are quoted even before `(`.
    pub fn new<'a>(tables: impl IntoIterator<Item = &'a str>, columns: impl IntoIterator<Item = &'a str>) -> Names {
        let mut n = Names::default();
        for c in columns {
            let name = Name { exact: c.to_string(), table: false };
            n.folded.entry(c.to_ascii_lowercase()).or_insert_with(|| name.clone());
            n.exact.entry(c.to_string()).or_insert(name);
        }
        for t in tables {
            let name = Name { exact: t.to_string(), table: true };
            n.folded.insert(t.to_ascii_lowercase(), name.clone());
            n.exact.insert(t.to_string(), name);
        }
        n
    }

    fn get(&self, word: &str) -> Option<&Name> {
        self.exact.get(word).or_else(|| self.folded.get(&word.to_ascii_lowercase()))
    }
}

/// The names of a design.
pub fn design_names(design: &Design) -> Names {
    Names::new(
        design.tables.iter().map(|t| t.name.as_str()),
        design.tables.iter().flat_map(|t| t.columns.iter().map(|c| c.name.as_str())),
    )
}

/// A name of the design as [`translate`] quotes it.
#[derive(Debug, Clone)]
pub struct Name {
    pub exact: String,
    /// A table: quoted even before `(` (`INSERT INTO Ordr (...)`), where a column name is a function.
    pub table: bool,
}

/// The product's SQL (written once, in the subset SQLite and PostgreSQL share) as PostgreSQL runs it:
/// `?` and `?N` placeholders become `$N`, and every bare word that is a table or column of the design
/// is quoted in the design's spelling, because PostgreSQL folds unquoted names to lower case (the
/// schema keeps the design's case) and reserves some of them (`User`). A word followed by `(` is a
/// function (`CAST(`, although Event has a column `cast`) and stays; string literals and quoted
/// names are copied as they are. Meant to run once per SQL text, when a statement is prepared.
pub fn translate(sql: &str, names: &Names) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 32);
    let (mut i, mut next_param) = (0, 1);
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                // A literal or a quoted name, with doubled quotes inside, copied whole.
                let start = i;
                i += 1;
                while i < b.len() {
                    if b[i] == c {
                        if i + 1 < b.len() && b[i + 1] == c {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i = (i + 1).min(b.len());
                out.push_str(&sql[start..i]);
            }
            b'?' => {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: usize = if i > start { sql[start..i].parse().unwrap_or(next_param) } else { next_param };
                next_param = n + 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = &sql[start..i];
                let call = sql[i..].trim_start().starts_with('(');
                match names.get(word) {
                    Some(n) if n.table || !call => {
                        out.push('"');
                        out.push_str(&n.exact);
                        out.push('"');
                    }
                    _ => out.push_str(word),
                }
            }
            c if c.is_ascii_digit() => {
                // A number (or the digits of `t0`-like aliases are caught above): copied.
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                out.push_str(&sql[start..i]);
            }
            _ => {
                let ch = sql[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// Pools read sessions: connected with the design's names, read-only and repeatable-read, so that a
/// read call sees one snapshot through all its statements (as SQLite's read transaction does) and a
/// read path that tries to write fails loudly.
pub struct Manager {
    url: String,
    names: std::sync::Arc<Names>,
}

impl Manager {
    pub fn new(url: &str, names: std::sync::Arc<Names>) -> Manager {
        Manager { url: url.to_string(), names }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        let mut c = Client::connect(&self.url, NoTls)?;
        c.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        Ok(PgConn::new(c, self.names.clone()))
    }

    fn is_valid(&self, c: &mut PgConn) -> Result<(), postgres::Error> {
        c.ping()
    }

    fn has_broken(&self, c: &mut PgConn) -> bool {
        c.is_closed()
    }
}

/// Parameters sent to PostgreSQL as text, typed by the server from the statement: one encoding for
/// every column type (an id, a time into `TIMESTAMP`, an amount into `NUMERIC`), parsed by the server
/// as it parses a literal.
pub struct TextParams<'a>(Vec<TextParam<'a>>);

#[derive(Debug)]
pub struct TextParam<'a>(&'a SqlValue);

impl<'a> TextParams<'a> {
    pub fn new(values: &'a [SqlValue]) -> TextParams<'a> {
        TextParams(values.iter().map(TextParam).collect())
    }

    pub fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
    }
}

impl ToSql for TextParam<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use std::fmt::Write;
        match self.0 {
            SqlValue::Null => return Ok(IsNull::Yes),
            SqlValue::Int(i) => write!(out, "{i}")?,
            SqlValue::Real(f) => write!(out, "{f}")?,
            SqlValue::Text(t) => out.extend_from_slice(t.as_bytes()),
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    postgres::types::to_sql_checked!();
}

/// A column's bytes as the server sent them (binary format), decoded by [`value`].
struct RawValue<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawValue<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Column `i` of a row as SQLite would have given it: integers (flags and counts included), reals
/// (amounts), text (times as `YYYY-MM-DD HH:MM:SS`, dates as `YYYY-MM-DD`).
pub fn value<'a>(row: &'a postgres::Row, i: usize) -> Result<Val<'a>, String> {
    let ty = row.columns().get(i).ok_or_else(|| format!("no column {i}"))?.type_().clone();
    let raw: RawValue = row.try_get(i).map_err(|e| e.to_string())?;
    let Some(b) = raw.0 else { return Ok(Val::Null) };
    decode(&ty, b)
}

fn decode<'a>(ty: &Type, b: &'a [u8]) -> Result<Val<'a>, String> {
    let bad = || format!("bad {ty} value ({} bytes)", b.len());
    let int = |n: usize| -> Result<i64, String> {
        if b.len() != n {
            return Err(bad());
        }
        Ok(b.iter().fold(if b[0] & 0x80 != 0 { -1i64 } else { 0 }, |acc, x| (acc << 8) | *x as i64))
    };
    Ok(match *ty {
        Type::INT2 => Val::Int(int(2)?),
        Type::INT4 | Type::OID => Val::Int(int(4)?),
        Type::INT8 => Val::Int(int(8)?),
        Type::BOOL => Val::Int((b.first().copied().unwrap_or(0) != 0) as i64),
        Type::FLOAT4 => Val::Real(f32::from_be_bytes(b.try_into().map_err(|_| bad())?) as f64),
        Type::FLOAT8 => Val::Real(f64::from_be_bytes(b.try_into().map_err(|_| bad())?)),
        // As SQLite's NUMERIC affinity stores it: a whole amount as an integer, a fraction as a real.
        Type::NUMERIC => match numeric(b).ok_or_else(bad)? {
            f if f.fract() == 0.0 && f.abs() < 9.0e15 => Val::Int(f as i64),
            f => Val::Real(f),
        },
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let us = int(8)?;
            let t = epoch() + chrono::Duration::microseconds(us);
            Val::Text(super::datetime_text(&t).into())
        }
        Type::DATE => {
            let days = int(4)?;
            Val::Text((epoch().date() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string().into())
        }
        _ => Val::Text(String::from_utf8_lossy(b)),
    })
}

/// PostgreSQL's epoch for times and dates.
fn epoch() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default()
}

/// A NUMERIC in PostgreSQL's binary form (base-10000 digits with a weight), as the nearest `f64`:
/// written out as decimal text first, so that `12.34` reads as the same double SQLite would store.
fn numeric(b: &[u8]) -> Option<f64> {
    let word = |i: usize| -> Option<i32> { Some(i16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]) as i32) };
    let (ndigits, weight, sign) = (word(0)?, word(2)?, word(4)? as u16);
    if sign == 0xC000 {
        return Some(f64::NAN);
    }
    let digits: Vec<i32> = (0..ndigits as usize).map(|k| word(8 + 2 * k)).collect::<Option<_>>()?;
    let mut text = String::from(if sign == 0x4000 { "-" } else { "" });
    // Digit k stands for digits[k] * 10000^(weight - k).
    let int_groups = (weight + 1).max(0);
    if int_groups == 0 {
        text.push('0');
    }
    for k in 0..int_groups {
        let d = digits.get(k as usize).copied().unwrap_or(0);
        if k == 0 {
            text.push_str(&d.to_string());
        } else {
            text.push_str(&format!("{d:04}"));
        }
    }
    text.push('.');
    for _ in 0..(-(weight + 1)).max(0) {
        text.push_str("0000");
    }
    for d in digits.iter().skip(int_groups as usize) {
        text.push_str(&format!("{d:04}"));
    }
    text.push('0');
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::new(["Ordr", "User", "Pwd"], ["showingId", "status", "id", "cast", "name", "row", "pwd"])
    }

    #[test]
    fn design_names_are_quoted_placeholders_numbered_and_the_rest_left_alone() {
        let n = names();
        assert_eq!(
            translate("SELECT id, status FROM Ordr WHERE showingId=? AND status IN ('CR','PA') LIMIT ?", &n),
            "SELECT \"id\", \"status\" FROM \"Ordr\" WHERE \"showingId\"=$1 AND \"status\" IN ('CR','PA') LIMIT $2"
        );
        // Aliases, functions, keywords and numbers stay; a column named like a function is quoted only as a column.
        assert_eq!(
            translate("SELECT CAST(t0.cast AS INTEGER) c, COUNT(*) FROM User u JOIN Ordr t0 ON t0.id=u.id", &n),
            "SELECT CAST(t0.\"cast\" AS INTEGER) c, COUNT(*) FROM \"User\" u JOIN \"Ordr\" t0 ON t0.\"id\"=u.\"id\""
        );
        // Literals and quoted names are copied, doubled quotes included; numbered placeholders keep their number.
        assert_eq!(
            translate("UPDATE Ordr SET name='it''s ?' WHERE \"row\"=?2 AND id=?1", &n),
            "UPDATE \"Ordr\" SET \"name\"='it''s ?' WHERE \"row\"=$2 AND \"id\"=$1"
        );
        assert_eq!(
            translate("SELECT 1.5, 'Ordr' || name FROM Ordr", &n),
            "SELECT 1.5, 'Ordr' || \"name\" FROM \"Ordr\""
        );
        // The table `Pwd` and the column `pwd` are told apart by their spelling.
        assert_eq!(translate("INSERT INTO Pwd (pwd) VALUES (?)", &n), r#"INSERT INTO "Pwd" ("pwd") VALUES ($1)"#);
        // A table before its column list is a table, not a call.
        assert_eq!(translate("INSERT INTO Ordr (id) VALUES (?)", &n), r#"INSERT INTO "Ordr" ("id") VALUES ($1)"#);
    }

    #[test]
    fn numeric_binary_values_read_as_the_doubles_sqlite_stores() {
        // (ndigits, weight, sign, dscale, digits...) as PostgreSQL sends NUMERIC.
        let enc = |w: &[i16]| w.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        assert_eq!(numeric(&enc(&[2, 0, 0, 2, 12, 3400])), Some(12.34));
        assert_eq!(numeric(&enc(&[1, -1, 0, 2, 500])), Some(0.05));
        assert_eq!(numeric(&enc(&[2, 1, 0x4000, 2, 1, 2345])), Some(-12345.0));
        assert_eq!(numeric(&enc(&[0, 0, 0, 2])), Some(0.0));
        assert_eq!(numeric(&enc(&[3, 1, 0, 2, 1, 0, 1])), Some(10000.0001));
        let us = (86_400_000_000i64 * 366 + 3_661_000_000).to_be_bytes();
        let t = decode(&Type::TIMESTAMP, &us).unwrap();
        assert_eq!(t, Val::Text("2001-01-01 01:01:01".into()));
        let (d, i2, i8) = ((-1i32).to_be_bytes(), (-3i16).to_be_bytes(), (1i64 << 40).to_be_bytes());
        assert_eq!(decode(&Type::DATE, &d).unwrap(), Val::Text("1999-12-31".into()));
        assert_eq!(decode(&Type::INT2, &i2).unwrap(), Val::Int(-3));
        assert_eq!(decode(&Type::INT8, &i8).unwrap(), Val::Int(1 << 40));
    }

    #[test]
    fn postgres_urls_are_told_from_sqlite_paths_and_passwords_never_shown() {
        assert!(is_url("postgres://jdy:pw@db/jdy") && is_url("postgresql://localhost/jdy"));
        assert!(!is_url("data/jdy.db") && !is_url("/var/lib/postgres.db"));
        assert_eq!(redacted("postgres://jdy:s3cret@db:5432/jdy"), "postgres://jdy:***@db:5432/jdy");
        assert_eq!(redacted("postgres://jdy@db/jdy"), "postgres://jdy@db/jdy");
        assert_eq!(redacted("postgresql://localhost/jdy"), "postgresql://localhost/jdy");
    }
}
