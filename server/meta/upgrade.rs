//! Schema upgrade: brings a database up to the design by creating missing tables and adding missing columns.
//!
//! The rule is the reference tool's (protocol §2.4): upgrading only ever adds. A column the design no longer has
//! stays, a column whose type changed keeps its old type, and nothing is dropped, so starting a newer server on an
//! older database never loses data. Planning is a pure function of the design and the existing schema, which keeps
//! it testable without a database; `upgrade` runs the plan in one transaction, `diff` only shows it.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, TransactionBehavior};

use super::design::Design;
use crate::db::dialect::{Dialect, Sqlite};
use crate::error::ApiError;

/// The statements that bring a database with the `existing` tables (name → column names) up to `design`.
///
/// In design order: CREATE TABLE for each missing table, then for an existing table ALTER TABLE ADD COLUMN for
/// each missing column. Names compare ASCII-case-insensitively, as SQLite and MySQL compare them. Never drops
/// or retypes; a missing column the dialect cannot add (SQLite: a primary key) is skipped with a warning.
pub fn plan(design: &Design, existing: &BTreeMap<String, Vec<String>>, d: &dyn Dialect) -> Vec<String> {
    let existing: BTreeMap<String, Vec<String>> = existing
        .iter()
        .map(|(t, cols)| (t.to_ascii_lowercase(), cols.iter().map(|c| c.to_ascii_lowercase()).collect()))
        .collect();
    let mut sql = Vec::new();
    for table in &design.tables {
        let Some(have) = existing.get(&table.name.to_ascii_lowercase()) else {
            sql.push(d.create_table(table));
            continue;
        };
        for col in &table.columns {
            if have.contains(&col.name.to_ascii_lowercase()) {
                continue;
            }
            if d.can_add_column(&col.ty) {
                sql.push(d.add_column(&table.name, col));
            } else {
                log::warn!(
                    "{}: cannot add column `{}.{}` ({}) to the existing table; rebuild the table by hand",
                    d.name(),
                    table.name,
                    col.name,
                    col.ty
                );
            }
        }
    }
    sql
}

/// CREATE INDEX for each declared index the database does not have yet (`existing`: lower-cased names).
/// Runs after the table statements, so an index on a column added in the same upgrade works. An index
/// declared sparse that the database has in full (or the reverse) is replaced: its twin is dropped first,
/// and nothing else is ever dropped.
pub fn plan_indexes(design: &Design, existing: &BTreeSet<String>, d: &dyn Dialect) -> Vec<String> {
    let mut sql = Vec::new();
    for ix in design.indexes.iter().filter(|ix| !existing.contains(&ix.name.to_ascii_lowercase())) {
        let twin = ix.twin_name();
        if existing.contains(&twin.to_ascii_lowercase()) {
            sql.push(format!("DROP INDEX {}", d.quote_ident(&twin)));
        }
        sql.push(d.create_index(ix));
    }
    sql
}

/// Everything an upgrade of a database with these tables (and their columns) and indexes would run, in
/// order: tables and columns first, then indexes.
pub fn plan_all(
    design: &Design,
    tables: &BTreeMap<String, Vec<String>>,
    indexes: &BTreeSet<String>,
    d: &dyn Dialect,
) -> Vec<String> {
    let mut sql = plan(design, tables, d);
    sql.extend(plan_indexes(design, indexes, d));
    sql
}

/// Everything an upgrade of the SQLite database behind `conn` would run.
fn full_plan(conn: &Connection, design: &Design, d: &dyn Dialect) -> rusqlite::Result<Vec<String>> {
    Ok(plan_all(design, &Sqlite.list_tables_and_columns(conn)?, &Sqlite.list_indexes(conn)?, d))
}

/// The plan for the database behind `conn`, without running it (the reference tool's `?diff`).
pub fn diff(conn: &Connection, design: &Design, d: &dyn Dialect) -> rusqlite::Result<Vec<String>> {
    full_plan(conn, design, d)
}

/// Runs the plan in one transaction and returns the statements run (empty when the schema is up to date).
///
/// Either every statement runs or none does, so a failed upgrade leaves the database as it was.
pub fn upgrade(conn: &mut Connection, design: &Design, d: &dyn Dialect) -> Result<Vec<String>, ApiError> {
    // IMMEDIATE takes the write lock before reading the schema, so two servers starting on one database file
    // cannot both plan the same CREATE TABLE.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let statements = full_plan(&tx, design, d)?;
    for sql in &statements {
        log::info!("schema upgrade: {sql}");
        tx.execute(sql, []).map_err(|e| ApiError::db(format!("schema upgrade failed on `{sql}`: {e}")))?;
    }
    tx.commit()?;
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::dialect::Sqlite;
    use std::path::Path;

    fn design(text: &str) -> Design {
        Design::parse_str(text, Path::new("DESIGN.md")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn schema(tables: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        tables.iter().map(|(t, cols)| (t.to_string(), cols.iter().map(|c| c.to_string()).collect())).collect()
    }

    #[test]
    fn declared_indexes_are_created_once() {
        let d = design("@T: id, userId\n@index T(userId)\n");
        let mut conn = Connection::open_in_memory().unwrap();
        let ran = upgrade(&mut conn, &d, &Sqlite).unwrap();
        assert_eq!(ran.last().unwrap(), "CREATE INDEX \"ix_T_userId\" ON \"T\" (\"userId\")");
        assert!(upgrade(&mut conn, &d, &Sqlite).unwrap().is_empty());
        let d2 = design("@T: id, userId, tm\n@index T(userId)\n@unique T(tm)\n");
        assert_eq!(diff(&conn, &d2, &Sqlite).unwrap().len(), 2, "a new column and its unique index");
    }

    #[test]
    fn an_index_declared_sparse_replaces_its_full_twin_and_serves_lookups_of_its_column() {
        let full = design("@T: id, showingId, status\n@index T(showingId, status)\n");
        let sparse = design("@T: id, showingId, status\n@index T(showingId, status) sparse\n");
        let mut conn = Connection::open_in_memory().unwrap();
        upgrade(&mut conn, &full, &Sqlite).unwrap();
        conn.execute_batch("INSERT INTO T (showingId, status) VALUES (NULL, 'CR'), (NULL, 'PA'), (7, 'CR')").unwrap();
        let ran = upgrade(&mut conn, &sparse, &Sqlite).unwrap();
        assert_eq!(
            ran,
            [
                "DROP INDEX \"ix_T_showingId_status\"",
                "CREATE INDEX \"sx_T_showingId_status\" ON \"T\" (\"showingId\", \"status\") WHERE \"showingId\" IS NOT NULL"
            ]
        );
        assert!(upgrade(&mut conn, &sparse, &Sqlite).unwrap().is_empty(), "converged");
        let plan: String = conn
            .query_row("EXPLAIN QUERY PLAN SELECT id FROM T WHERE showingId = ?1 AND status = 'CR'", [7], |r| r.get(3))
            .unwrap();
        assert!(plan.contains("sx_T_showingId_status"), "{plan}");
        // Only the non-null row is in the index.
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM T INDEXED BY sx_T_showingId_status WHERE showingId > 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        // And back: declared full again, the sparse one gives way.
        let back = upgrade(&mut conn, &full, &Sqlite).unwrap();
        assert_eq!(back[0], "DROP INDEX \"sx_T_showingId_status\"");
    }

    #[test]
    fn a_missing_table_is_created() {
        let sql = plan(&design("@A: id, name(s)\n"), &BTreeMap::new(), &Sqlite);
        assert_eq!(sql, ["CREATE TABLE \"A\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"name\" NVARCHAR(20))"]);
    }

    #[test]
    fn a_missing_column_is_added_and_present_ones_compare_without_case() {
        let d = design("@Ordr: id, userId, amount, cmt(l)\n");
        let sql = plan(&d, &schema(&[("ordr", &["ID", "UserId", "amount"])]), &Sqlite);
        assert_eq!(sql, ["ALTER TABLE \"Ordr\" ADD COLUMN \"cmt\" NVARCHAR(255)"]);
    }

    #[test]
    fn extra_columns_and_tables_in_the_database_are_left_alone() {
        let d = design("@A: id, x\n");
        let sql = plan(&d, &schema(&[("A", &["id", "x", "old"]), ("Legacy", &["id"])]), &Sqlite);
        assert!(sql.is_empty(), "{sql:?}");
    }

    #[test]
    fn an_up_to_date_schema_needs_nothing() {
        let d = design("@A: id, x\n@B: id\n");
        assert!(plan(&d, &schema(&[("A", &["id", "x"]), ("B", &["id"])]), &Sqlite).is_empty());
    }

    #[test]
    fn the_plan_follows_design_order() {
        let d = design("@Z: id\n@A: id, n\n@M: id\n");
        let sql = plan(&d, &schema(&[("A", &["id"])]), &Sqlite);
        assert_eq!(sql.len(), 3);
        assert!(sql[0].starts_with("CREATE TABLE \"Z\""));
        assert!(sql[1].starts_with("ALTER TABLE \"A\" ADD COLUMN \"n\""));
        assert!(sql[2].starts_with("CREATE TABLE \"M\""));
    }

    #[test]
    fn a_primary_key_sqlite_cannot_add_is_skipped() {
        let d = design("@A: id, x\n");
        assert!(plan(&d, &schema(&[("A", &["x"])]), &Sqlite).is_empty());
    }

    #[test]
    fn upgrade_creates_then_adds_and_a_second_run_does_nothing() {
        let mut conn = Connection::open_in_memory().expect("open");
        let v1 = design("@Ordr: id, userId, amount\n");
        assert_eq!(upgrade(&mut conn, &v1, &Sqlite).expect("v1").len(), 1);
        conn.execute("INSERT INTO Ordr (userId, amount) VALUES (7, 12.5)", []).expect("insert");

        let v2 = design("@Ordr: id, userId, amount, 是否删除, cmt(l)\n@OrderLog: id, orderId, tm\n");
        let ran = upgrade(&mut conn, &v2, &Sqlite).expect("v2");
        assert_eq!(ran.len(), 3, "{ran:?}");
        let (user, deleted): (i64, i64) =
            conn.query_row("SELECT userId, 是否删除 FROM Ordr", [], |r| Ok((r.get(0)?, r.get(1)?))).expect("row");
        assert_eq!((user, deleted), (7, 0));

        assert!(upgrade(&mut conn, &v2, &Sqlite).expect("again").is_empty());
        assert!(diff(&conn, &v2, &Sqlite).expect("diff").is_empty());
    }

    #[test]
    fn diff_shows_the_plan_without_running_it() {
        let conn = Connection::open_in_memory().expect("open");
        let d = design("@A: id\n");
        assert_eq!(diff(&conn, &d, &Sqlite).expect("diff").len(), 1);
        assert!(Sqlite.list_tables_and_columns(&conn).expect("list").is_empty());
    }

    #[test]
    fn a_failing_statement_rolls_back_the_whole_upgrade() {
        let mut conn = Connection::open_in_memory().expect("open");
        // A design table named like SQLite's reserved prefix cannot be created; the table before it must not stay.
        let d = design("@A: id\n@sqlite_x: id\n");
        let err = upgrade(&mut conn, &d, &Sqlite).expect_err("reserved name");
        assert!(err.internal.as_deref().unwrap_or("").contains("sqlite_x"), "{err}");
        assert!(Sqlite.list_tables_and_columns(&conn).expect("list").is_empty());
    }

    #[test]
    fn the_project_design_upgrades_an_empty_database_and_is_idempotent() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("design/DESIGN.md");
        let d = Design::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut conn = Connection::open_in_memory().expect("open");
        let ran = upgrade(&mut conn, &d, &Sqlite).expect("upgrade");
        assert_eq!(ran.len(), d.tables.len() + d.indexes.len());
        let schema = Sqlite.list_tables_and_columns(&conn).expect("list");
        for t in &d.tables {
            let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(schema.get(&t.name).map(|c| c.iter().map(String::as_str).collect::<Vec<_>>()), Some(cols));
        }
        assert!(upgrade(&mut conn, &d, &Sqlite).expect("again").is_empty());
    }
}
