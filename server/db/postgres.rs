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

use postgres::{Client, GenericClient, NoTls};

use super::dialect::Postgres;
use crate::meta::upgrade::plan_all;
use crate::meta::Design;

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
    fn postgres_urls_are_told_from_sqlite_paths_and_passwords_never_shown() {
        assert!(is_url("postgres://jdy:pw@db/jdy") && is_url("postgresql://localhost/jdy"));
        assert!(!is_url("data/jdy.db") && !is_url("/var/lib/postgres.db"));
        assert_eq!(redacted("postgres://jdy:s3cret@db:5432/jdy"), "postgres://jdy:***@db:5432/jdy");
        assert_eq!(redacted("postgres://jdy@db/jdy"), "postgres://jdy@db/jdy");
        assert_eq!(redacted("postgresql://localhost/jdy"), "postgresql://localhost/jdy");
    }
}
