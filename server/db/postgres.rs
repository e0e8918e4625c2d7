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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_from_sqlite_paths_and_passwords_never_shown() {
        assert!(is_url("postgres://jdy:pw@db/jdy") && is_url("postgresql://localhost/jdy"));
        assert!(!is_url("data/jdy.db") && !is_url("/var/lib/postgres.db"));
        assert_eq!(redacted("postgres://jdy:s3cret@db:5432/jdy"), "postgres://jdy:***@db:5432/jdy");
        assert_eq!(redacted("postgres://jdy@db/jdy"), "postgres://jdy@db/jdy");
        assert_eq!(redacted("postgresql://localhost/jdy"), "postgresql://localhost/jdy");
    }
}
