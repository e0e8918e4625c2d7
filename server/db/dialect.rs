//! SQL dialects: every database-specific detail of DDL, schema introspection and the time-dimension
//! expressions that grouped queries use.
//!
//! The design speaks in `ColType`s; a `Dialect` turns them into one database's SQL: [`Sqlite`] (the embedded
//! default) and [`Postgres`] (`P_DB=postgres://...`, see `db::postgres`). A dialect gives `column_type`,
//! `push_ident`, `now_sql`, `time_part` and, where it differs, `table_options` and `can_add_column`;
//! `create_table`, `add_column` and `create_index` are written once here from those parts. Identifiers are
//! always quoted, so a design may use a name that is a keyword in some database (`order`, `user`, `row`)
//! without the DDL breaking. Listing what a database already has is the backend's (it needs its driver):
//! [`Sqlite::list_tables_and_columns`] here, `db::postgres::existing` for PostgreSQL.

use std::collections::BTreeMap;

use rusqlite::Connection;

use crate::meta::{ColType, Column, Index, Table};

/// One database's spelling of DDL and its way of listing the schema.
pub trait Dialect: Send + Sync {
    /// A short name for logs and configuration (`sqlite`).
    fn name(&self) -> &'static str;

    /// The current local time as a `YYYY-MM-DD HH:MM:SS` text expression, shifted by `days` (negative: the past).
    fn now_sql(&self, days: i64) -> String;

    /// Developer-written SQL (vcols, sub-object conditions, scope orders) with its time placeholders
    /// replaced: `{now}` is the current local time, `{now-7d}` seven days ago, `{now+1d}` a day ahead.
    /// Declarations stay the same for every database; only this spelling differs.
    fn expand<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        if !sql.contains("{now") {
            return std::borrow::Cow::Borrowed(sql);
        }
        let mut out = String::with_capacity(sql.len() + 40);
        let mut rest = sql;
        while let Some(i) = rest.find("{now") {
            out.push_str(&rest[..i]);
            let tail = &rest[i + 4..];
            let Some(end) = tail.find('}') else {
                rest = &rest[i..];
                break;
            };
            let days = match &tail[..end] {
                "" => Some(0),
                shift => shift.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()),
            };
            match days {
                Some(d) => out.push_str(&self.now_sql(d)),
                None => out.push_str(&rest[i..i + 5 + end]),
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        std::borrow::Cow::Owned(out)
    }

    /// `name` quoted as an identifier, inner quote characters escaped.
    fn quote_ident(&self, name: &str) -> String {
        let mut out = String::with_capacity(name.len() + 2);
        self.push_ident(&mut out, name);
        out
    }

    /// Appends `name` quoted as an identifier (what a SELECT list is built with, without a string per
    /// name).
    fn push_ident(&self, out: &mut String, name: &str);

    /// The SQL type (with constraints such as the primary key or a flag's default) of a column.
    fn column_type(&self, t: &ColType) -> String;

    /// Text appended after the closing parenthesis of CREATE TABLE (storage engine, charset); empty by default.
    fn table_options(&self) -> &'static str {
        ""
    }

    /// Whether `ALTER TABLE ... ADD COLUMN` can add a column of this type to an existing table.
    fn can_add_column(&self, _t: &ColType) -> bool {
        true
    }

    /// `"name" TYPE` as used inside CREATE TABLE and ADD COLUMN.
    fn column_def(&self, c: &Column) -> String {
        format!("{} {}", self.quote_ident(&c.name), self.column_type(&c.ty))
    }

    /// The CREATE TABLE statement for a design table (no trailing semicolon).
    fn create_table(&self, t: &Table) -> String {
        let defs: Vec<String> = t.columns.iter().map(|c| self.column_def(c)).collect();
        let sql = format!("CREATE TABLE {} ({})", self.quote_ident(&t.name), defs.join(", "));
        match self.table_options() {
            "" => sql,
            opts => format!("{sql} {opts}"),
        }
    }

    /// The statement adding column `c` to the existing table `table` (no trailing semicolon).
    fn add_column(&self, table: &str, c: &Column) -> String {
        format!("ALTER TABLE {} ADD COLUMN {}", self.quote_ident(table), self.column_def(c))
    }

    /// CREATE INDEX for a declared index.
    fn create_index(&self, ix: &Index) -> String {
        let cols: Vec<String> = ix.columns.iter().map(|c| self.quote_ident(c)).collect();
        let mut sql = format!(
            "CREATE {}INDEX {} ON {} ({})",
            if ix.unique { "UNIQUE " } else { "" },
            self.quote_ident(&ix.name),
            self.quote_ident(&ix.table),
            cols.join(", ")
        );
        // Both databases use a partial index for `col = ?` (which implies `col IS NOT NULL`).
        if ix.sparse {
            sql.push_str(&format!(" WHERE {} IS NOT NULL", cols[0]));
        }
        sql
    }

    /// The SQL of time dimension `dim` (protocol §3.5) of the date/time expression `expr`, as an integer:
    /// `y` year, `q` quarter 1-4, `m` month 1-12, `w` week of year (MySQL mode 5: Monday first, 0-53), `d` day of
    /// month, `wd` weekday 1=Mon..7=Sun, `h` hour. An unknown `dim` gives `NULL`; callers check the name first.
    fn time_part(&self, dim: &str, expr: &str) -> String;
}

/// SQLite, the default database.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn now_sql(&self, days: i64) -> String {
        match days {
            0 => "strftime('%Y-%m-%d %H:%M:%S','now','localtime')".into(),
            d => format!("strftime('%Y-%m-%d %H:%M:%S','now','localtime','{d:+} days')"),
        }
    }

    fn push_ident(&self, out: &mut String, name: &str) {
        out.push('"');
        if name.contains('"') {
            out.push_str(&name.replace('"', "\"\""));
        } else {
            out.push_str(name);
        }
        out.push('"');
    }

    fn column_type(&self, t: &ColType) -> String {
        match t {
            // AUTOINCREMENT so that ids of deleted rows are never handed out again: logs and clients keep ids.
            ColType::Id => "INTEGER PRIMARY KEY AUTOINCREMENT".to_string(),
            ColType::Varchar(n) => format!("NVARCHAR({n})"),
            ColType::Text | ColType::MediumText => "NTEXT".to_string(),
            ColType::Int => "INTEGER".to_string(),
            ColType::Decimal => "DECIMAL(19,2)".to_string(),
            ColType::Double | ColType::Float => "REAL".to_string(),
            ColType::DateTime => "DATETIME".to_string(),
            ColType::Date => "DATE".to_string(),
            // The one NOT NULL the design notation has: a flag is 0 until set, so `flag=0` finds unset rows.
            ColType::Flag => "TINYINT NOT NULL DEFAULT 0".to_string(),
        }
    }

    fn can_add_column(&self, t: &ColType) -> bool {
        // SQLite cannot add a PRIMARY KEY column to an existing table; that takes a table rebuild.
        *t != ColType::Id
    }

    fn time_part(&self, dim: &str, expr: &str) -> String {
        let part = |fmt: &str| format!("CAST(strftime('{fmt}', {expr}) AS INTEGER)");
        match dim {
            "y" => part("%Y"),
            "q" => format!("(({} + 2) / 3)", part("%m")),
            "m" => part("%m"),
            // `%W` counts weeks from the year's first Monday (days before it are week 0): MySQL's week mode 5.
            "w" => part("%W"),
            "d" => part("%d"),
            // `%w` is 0=Sunday..6; shift so Monday is 1 and Sunday 7, as the reference's `weekday()+1`.
            "wd" => format!("(({} + 6) % 7 + 1)", part("%w")),
            "h" => part("%H"),
            _ => "NULL".to_string(),
        }
    }
}

impl Sqlite {
    /// Every user table of the database with its column names in declaration order, internal tables excluded.
    pub fn list_tables_and_columns(&self, conn: &Connection) -> rusqlite::Result<BTreeMap<String, Vec<String>>> {
        // `sqlite_%` names are reserved for SQLite's own tables (sqlite_sequence, sqlite_stat1, ...).
        let mut tables_stmt = conn.prepare(
            "SELECT name FROM sqlite_master \
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?;
        let tables = tables_stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut cols_stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
        let mut out = BTreeMap::new();
        for table in tables {
            let cols = cols_stmt.query_map([&table], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<_>>()?;
            out.insert(table, cols);
        }
        Ok(out)
    }

    /// Names of the indexes that exist (lower-cased).
    pub fn list_indexes(&self, conn: &Connection) -> rusqlite::Result<std::collections::BTreeSet<String>> {
        let mut st = conn.prepare("SELECT lower(name) FROM sqlite_master WHERE type = 'index'")?;
        let names = st.query_map([], |r| r.get::<_, String>(0))?.collect();
        names
    }

    /// Puts the `sqlite_sequence` rows of the AUTOINCREMENT tables named in `first` ahead of all the
    /// others, in that order, each with its counter unchanged; answers whether the list was rewritten
    /// (it is left alone when it already begins so).
    ///
    /// Every INSERT into an AUTOINCREMENT table looks its counter up by reading `sqlite_sequence` from
    /// the top until the table's name comes (SQLite's `sqlite3AutoincrementBegin`), some 400
    /// instructions for each row it passes. Rows are added in the order tables first get a row, so on
    /// a database that was given demo data first, `ApiLog` (written by every call) was 16th and `ObjLog`
    /// (written by every write) 18th: 6-7k instructions a statement. The order is only a matter of
    /// speed: a counter missing from the list is the largest id in its table, as SQLite itself takes it,
    /// so ids of deleted rows are still never handed out again.
    pub fn order_sequences(&self, conn: &mut Connection, first: &[&str]) -> rusqlite::Result<bool> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // The tables whose DDL says AUTOINCREMENT (a column merely named so would match too: a counter
        // row for a table without AUTOINCREMENT is one SQLite never reads).
        let auto: std::collections::BTreeSet<String> = {
            let mut st = tx.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )?;
            let names = st.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<_>>()?;
            names
        };
        if auto.is_empty() {
            // No AUTOINCREMENT table, so no sqlite_sequence either.
            return Ok(false);
        }
        let rows: Vec<(String, i64)> = {
            let mut st = tx.prepare("SELECT name, seq FROM sqlite_sequence ORDER BY rowid")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0))))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut want: Vec<(String, i64)> = Vec::with_capacity(rows.len() + first.len());
        for name in first.iter().filter(|n| auto.contains(**n)) {
            if want.iter().any(|(n, _)| n == name) {
                continue;
            }
            let seq = match rows.iter().filter(|(n, _)| n == name).map(|(_, s)| *s).max() {
                Some(s) => s,
                None => {
                    let mut sql = String::from("SELECT COALESCE(MAX(rowid), 0) FROM ");
                    self.push_ident(&mut sql, name);
                    tx.query_row(&sql, [], |r| r.get(0))?
                }
            };
            want.push((name.to_string(), seq));
        }
        for (name, seq) in &rows {
            match want.iter_mut().find(|(n, _)| n == name) {
                // A name listed twice (the list is an ordinary table) keeps its larger counter.
                Some((_, s)) => *s = (*s).max(*seq),
                None => want.push((name.clone(), *seq)),
            }
        }
        let same = rows.len() == want.len() && rows.iter().zip(&want).all(|(a, b)| a == b);
        if same {
            return Ok(false);
        }
        tx.execute("DELETE FROM sqlite_sequence", [])?;
        {
            let mut st = tx.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)")?;
            for (name, seq) in &want {
                st.execute(rusqlite::params![name, seq])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }
}

/// PostgreSQL (15 and later).
///
/// Integers are `BIGINT` (SQLite's are 64-bit: cents, ids and a train seat's segment masks need it),
/// ids are identity columns (`GENERATED BY DEFAULT`, so an id given explicitly is kept, as SQLite does),
/// times are `TIMESTAMP(0)` and dates `DATE`: typed, so the database compares and indexes them as
/// times, not as text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Postgres;

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn now_sql(&self, days: i64) -> String {
        match days {
            0 => "LOCALTIMESTAMP(0)".into(),
            d => format!("(LOCALTIMESTAMP(0) + INTERVAL '{d} days')"),
        }
    }

    fn push_ident(&self, out: &mut String, name: &str) {
        Sqlite.push_ident(out, name)
    }

    fn column_type(&self, t: &ColType) -> String {
        match t {
            ColType::Id => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY".to_string(),
            ColType::Varchar(n) => format!("VARCHAR({n})"),
            ColType::Text | ColType::MediumText => "TEXT".to_string(),
            ColType::Int => "BIGINT".to_string(),
            ColType::Decimal => "NUMERIC(19,2)".to_string(),
            ColType::Double | ColType::Float => "DOUBLE PRECISION".to_string(),
            ColType::DateTime => "TIMESTAMP(0)".to_string(),
            ColType::Date => "DATE".to_string(),
            ColType::Flag => "SMALLINT NOT NULL DEFAULT 0".to_string(),
        }
    }

    fn time_part(&self, dim: &str, expr: &str) -> String {
        let part = |field: &str| format!("CAST(EXTRACT({field} FROM {expr}) AS INTEGER)");
        match dim {
            "y" => part("YEAR"),
            "q" => part("QUARTER"),
            "m" => part("MONTH"),
            // Week mode 5 as SQLite's `%W`: weeks start on Monday, days before the year's first Monday are
            // week 0. (day of year, 0-based, + 7 - days since Monday) / 7.
            "w" => format!("((({}) - 1 + 7 - (({}) - 1)) / 7)", part("DOY"), part("ISODOW")),
            "d" => part("DAY"),
            // ISODOW is already 1=Monday..7=Sunday.
            "wd" => part("ISODOW"),
            "h" => part("HOUR"),
            _ => "NULL".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn col(name: &str, ty: ColType) -> Column {
        Column { name: name.to_string(), ty }
    }

    fn table(name: &str, columns: Vec<Column>) -> Table {
        Table { name: name.to_string(), columns, file: PathBuf::from("DESIGN.md"), line: 1 }
    }

    #[test]
    fn time_placeholders_expand_to_the_dialects_now_and_leave_other_text_alone() {
        assert_eq!(Sqlite.expand("t0.a > 1"), "t0.a > 1");
        assert_eq!(Sqlite.expand("s.tm > {now}"), "s.tm > strftime('%Y-%m-%d %H:%M:%S','now','localtime')");
        assert_eq!(
            Sqlite.expand("a>={now-7d} AND b<{now+1d}"),
            "a>=strftime('%Y-%m-%d %H:%M:%S','now','localtime','-7 days') AND \
             b<strftime('%Y-%m-%d %H:%M:%S','now','localtime','+1 days')"
        );
        assert_eq!(Sqlite.expand("{nowhere} {now"), "{nowhere} {now");
        let conn = Connection::open_in_memory().unwrap();
        let now: String = conn.query_row(&format!("SELECT {}", Sqlite.now_sql(0)), [], |r| r.get(0)).unwrap();
        assert_eq!(now.len(), 19, "YYYY-MM-DD HH:MM:SS, got {now}");
    }

    #[test]
    fn sqlite_quotes_identifiers_with_double_quotes_doubling_inner_ones() {
        assert_eq!(Sqlite.quote_ident("Ordr"), "\"Ordr\"");
        assert_eq!(Sqlite.quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Sqlite.quote_ident("订单"), "\"订单\"");
    }

    #[test]
    fn sqlite_spells_every_column_type() {
        use ColType::*;
        let cases = [
            (Id, "INTEGER PRIMARY KEY AUTOINCREMENT"),
            (Varchar(20), "NVARCHAR(20)"),
            (Text, "NTEXT"),
            (MediumText, "NTEXT"),
            (Int, "INTEGER"),
            (Decimal, "DECIMAL(19,2)"),
            (Double, "REAL"),
            (Float, "REAL"),
            (DateTime, "DATETIME"),
            (Date, "DATE"),
            (Flag, "TINYINT NOT NULL DEFAULT 0"),
        ];
        for (t, sql) in cases {
            assert_eq!(Sqlite.column_type(&t), sql, "{t}");
        }
    }

    #[test]
    fn create_table_and_add_column_quote_every_identifier() {
        let t = table("order", vec![col("id", ColType::Id), col("amount", ColType::Decimal)]);
        assert_eq!(
            Sqlite.create_table(&t),
            "CREATE TABLE \"order\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"amount\" DECIMAL(19,2))"
        );
        assert_eq!(
            Sqlite.add_column("order", &col("是否有效", ColType::Flag)),
            "ALTER TABLE \"order\" ADD COLUMN \"是否有效\" TINYINT NOT NULL DEFAULT 0"
        );
    }

    #[test]
    fn the_generated_ddl_runs_on_sqlite_even_for_keyword_names() {
        let conn = Connection::open_in_memory().expect("open");
        let all = [ColType::Varchar(9), ColType::Text, ColType::Int, ColType::Double, ColType::Date, ColType::Flag];
        let mut columns = vec![col("id", ColType::Id)];
        columns.extend(all.iter().enumerate().map(|(i, t)| col(&format!("c{i}"), *t)));
        conn.execute(&Sqlite.create_table(&table("order", columns)), []).expect("create");
        conn.execute(&Sqlite.add_column("order", &col("select", ColType::Flag)), []).expect("add flag column");
        conn.execute("INSERT INTO \"order\" (c0) VALUES ('x')", []).expect("insert");
        let flag: i64 = conn.query_row("SELECT \"select\" FROM \"order\"", [], |r| r.get(0)).expect("select");
        assert_eq!(flag, 0);
    }

    #[test]
    fn listing_the_schema_gives_columns_in_order_without_sqlite_internal_tables() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE B (id INTEGER PRIMARY KEY AUTOINCREMENT, zeta TEXT, alpha TEXT);
             CREATE TABLE A (x INTEGER);
             INSERT INTO B (zeta) VALUES ('z');
             CREATE VIEW V AS SELECT * FROM A;",
        )
        .expect("schema");
        let got = Sqlite.list_tables_and_columns(&conn).expect("list");
        let want: BTreeMap<String, Vec<String>> = [
            ("A".to_string(), vec!["x".to_string()]),
            ("B".to_string(), vec!["id".to_string(), "zeta".to_string(), "alpha".to_string()]),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn time_parts_give_integers_with_monday_as_weekday_one() {
        let conn = Connection::open_in_memory().expect("open");
        // 2024-01-07 is a Sunday; 2024-01-01 a Monday, so the 7th is still in week 1.
        let at = |dim: &str, tm: &str| -> Option<i64> {
            let sql = format!("SELECT {}", Sqlite.time_part(dim, "?1"));
            conn.query_row(&sql, [tm], |r| r.get(0)).expect("time part")
        };
        let tm = "2024-01-07 15:04:05";
        let got: Vec<Option<i64>> = ["y", "q", "m", "w", "d", "wd", "h"].iter().map(|d| at(d, tm)).collect();
        assert_eq!(got, [2024, 1, 1, 1, 7, 7, 15].map(Some));
        assert_eq!(at("wd", "2024-01-08"), Some(1));
        assert_eq!(at("q", "2024-12-31"), Some(4));
        assert_eq!(at("w", "2023-01-01"), Some(0));
        assert_eq!(Sqlite.time_part("bogus", "tm"), "NULL");
    }

    #[test]
    fn sequences_named_first_come_first_keeping_every_counter() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE A (id INTEGER PRIMARY KEY AUTOINCREMENT, x);
             CREATE TABLE B (id INTEGER PRIMARY KEY AUTOINCREMENT, x);
             CREATE TABLE C (id INTEGER PRIMARY KEY AUTOINCREMENT, x);
             CREATE TABLE D (id INTEGER PRIMARY KEY AUTOINCREMENT, x);
             CREATE TABLE P (id INTEGER PRIMARY KEY, x);
             INSERT INTO A (x) VALUES (1), (2), (3); DELETE FROM A WHERE id = 3;
             INSERT INTO B (x) VALUES (1), (2);
             INSERT INTO C (id, x) VALUES (1, 1), (2, 1), (5, 1);
             DELETE FROM sqlite_sequence WHERE name = 'C';",
        )
        .expect("schema");
        let list = |conn: &Connection| -> Vec<(String, i64)> {
            let mut st = conn.prepare("SELECT name, seq FROM sqlite_sequence ORDER BY rowid").unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
        };
        let pairs = |v: &[(&str, i64)]| -> Vec<(String, i64)> { v.iter().map(|(n, s)| (n.to_string(), *s)).collect() };
        assert_eq!(list(&conn), pairs(&[("A", 3), ("B", 2)]));
        // A plain table (P), an unknown name (X) and a repeated one (D) are passed over.
        assert!(Sqlite.order_sequences(&mut conn, &["D", "C", "P", "X", "B", "D"]).unwrap());
        // D has no rows (0); C had lost its row, so its largest id stands for it, as SQLite takes it.
        assert_eq!(list(&conn), pairs(&[("D", 0), ("C", 5), ("B", 2), ("A", 3)]));
        assert!(!Sqlite.order_sequences(&mut conn, &["D", "C", "B"]).unwrap(), "already in order");
        assert!(!Sqlite.order_sequences(&mut conn, &[]).unwrap(), "nothing asked first");
        let add = |conn: &Connection, t: &str| -> i64 {
            conn.execute(&format!("INSERT INTO {t} (x) VALUES (1)"), []).unwrap();
            conn.last_insert_rowid()
        };
        // The deleted id 3 of A is not handed out again; the others go on from their counters.
        assert_eq!(["A", "B", "C", "D"].map(|t| add(&conn, t)), [4, 3, 6, 1]);
        // The list is an ordinary table: a name entered twice keeps its larger counter, once.
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('A', 10)", []).unwrap();
        assert!(Sqlite.order_sequences(&mut conn, &["A"]).unwrap());
        assert_eq!(list(&conn), pairs(&[("A", 10), ("D", 1), ("C", 6), ("B", 3)]));
        assert_eq!(add(&conn, "A"), 11);
        // A database without AUTOINCREMENT tables has no list to order.
        let mut plain = Connection::open_in_memory().unwrap();
        plain.execute_batch("CREATE TABLE P (id INTEGER PRIMARY KEY, x)").unwrap();
        assert!(!Sqlite.order_sequences(&mut plain, &["P"]).unwrap());
    }

    #[test]
    fn sqlite_cannot_add_a_primary_key_column() {
        assert!(!Sqlite.can_add_column(&ColType::Id));
        assert!(Sqlite.can_add_column(&ColType::Int));
    }
}
