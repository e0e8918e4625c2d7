//! ApiLog and ApiLog1: one row per call and per batch sub-call, written by one background thread in
//! batches (protocol §7, decision §9.13).
//!
//! A call never waits for its log row: ids are handed out from an in-memory counter (so ObjLog rows
//! written inside the call can point at their ApiLog row), the finished row is queued, and the writer
//! inserts everything queued in one transaction every few milliseconds. A crash loses at most the rows
//! still queued; business data is committed by the call itself and never depends on this queue.

use std::sync::Arc;

use super::ids::IdBlocks;
use crate::db::conn::Conn;
use crate::db::Db;
use crate::error::ApiResult;
use crate::query::SqlValue;

/// One ApiLog row (column names as in the design).
#[derive(Debug, Clone, Default)]
pub struct ApiLogRow {
    pub id: i64,
    pub tm: String,
    pub addr: String,
    pub ua: String,
    pub app: String,
    pub ses: String,
    pub user_id: Option<i64>,
    pub ac: String,
    pub t: i64,
    pub retval: i64,
    pub req: String,
    pub res: String,
    pub reqsz: i64,
    pub ressz: i64,
    pub ver: String,
    pub server_rev: String,
}

/// One ApiLog1 row (a batch sub-call).
#[derive(Debug, Clone, Default)]
pub struct ApiLog1Row {
    pub id: i64,
    pub api_log_id: i64,
    pub ac: String,
    pub t: i64,
    pub retval: i64,
    pub req: String,
    pub res: String,
}

/// ApiLog ids and rows. Rows go to the writer, which commits them in its group transactions.
pub struct ApiLogger {
    enabled: bool,
    ids: IdBlocks,
    ids1: IdBlocks,
    db: Arc<Db>,
}

impl ApiLogger {
    /// Starts handing out ids from blocks of the `IdBlock` table (see [`super::ids`]), so that several
    /// processes on one database never share one. With `enabled=false` ids are still handed out but
    /// nothing is written.
    pub fn start(db: Arc<Db>, enabled: bool) -> ApiResult<ApiLogger> {
        let ids = IdBlocks::start(db.clone(), "ApiLog")?;
        let ids1 = IdBlocks::start(db.clone(), "ApiLog1")?;
        Ok(ApiLogger { enabled, ids, ids1, db })
    }

    /// A new ApiLog id (fails only if no block can be reserved: the writer has stopped or is stuck).
    pub fn next_id(&self) -> ApiResult<i64> {
        self.ids.next()
    }

    /// A new ApiLog1 id.
    pub fn next_id1(&self) -> ApiResult<i64> {
        self.ids1.next()
    }

    /// Queues a finished ApiLog row (waits only while the writer's queue is full).
    pub fn log(&self, row: ApiLogRow) {
        if self.enabled {
            self.db.writer().log(row);
        }
    }

    /// Queues a finished ApiLog1 row.
    pub fn log1(&self, row: ApiLog1Row) {
        if self.enabled {
            self.db.writer().log1(row);
        }
    }

    /// Waits until every row queued before this call is in the database.
    pub fn flush(&self) {
        self.db.writer().flush();
    }

    /// Writes what is queued and stops the writer and checkpointer (server shutdown).
    pub fn shutdown(&self) {
        self.db.shutdown();
    }
}

/// Inserts queued rows; the writer calls this inside its group transaction.
///
/// Several rows per statement ([`insert_rows`]): on PostgreSQL each statement is a round trip to the
/// server, which with one row per statement made the log the limit of every call (one row each). The
/// rows are consumed: their texts become the bound values as they are, not copies.
pub fn insert(conn: Conn, rows: Vec<ApiLogRow>, rows1: Vec<ApiLog1Row>) -> ApiResult<()> {
    static HEAD: &str =
        "INSERT INTO ApiLog (id, tm, addr, ua, app, ses, userId, ac, t, retval, req, res, reqsz, ressz, ver, serverRev) VALUES ";
    static HEAD1: &str = "INSERT INTO ApiLog1 (id, apiLogId, ac, t, retval, req, res) VALUES ";
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    static SQL1: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    insert_rows(conn, SQL.get_or_init(|| statements(HEAD, 16)), rows, |r, v| {
        v.extend([
            SqlValue::Int(r.id),
            SqlValue::Text(r.tm),
            SqlValue::Text(r.addr),
            SqlValue::Text(r.ua),
            SqlValue::Text(r.app),
            SqlValue::Text(r.ses),
            r.user_id.into(),
            SqlValue::Text(r.ac),
            SqlValue::Int(r.t),
            SqlValue::Int(r.retval),
            SqlValue::Text(r.req),
            SqlValue::Text(r.res),
            SqlValue::Int(r.reqsz),
            SqlValue::Int(r.ressz),
            SqlValue::Text(r.ver),
            SqlValue::Text(r.server_rev),
        ])
    })?;
    insert_rows(conn, SQL1.get_or_init(|| statements(HEAD1, 7)), rows1, |r, v| {
        v.extend([
            SqlValue::Int(r.id),
            SqlValue::Int(r.api_log_id),
            SqlValue::Text(r.ac),
            SqlValue::Int(r.t),
            SqlValue::Int(r.retval),
            SqlValue::Text(r.req),
            SqlValue::Text(r.res),
        ])
    })
}

/// Rows per INSERT, largest first: a batch of n rows takes the fewest statements of these sizes, and
/// each size's statement text is fixed (so it stays prepared). 64 rows of 16 values stay far below
/// both databases' limits on placeholders.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// `head` followed by `k` groups of `cols` placeholders, for each size of [`CHUNKS`].
fn statements(head: &str, cols: usize) -> Vec<String> {
    let group = format!("({})", vec!["?"; cols].join(","));
    CHUNKS.iter().map(|&k| format!("{head}{}", vec![group.as_str(); k].join(","))).collect()
}

/// Inserts `rows` with the statements of [`statements`], `bind` turning each row into its values in
/// order.
fn insert_rows<R>(conn: Conn, sql: &[String], rows: Vec<R>, bind: impl Fn(R, &mut Vec<SqlValue>)) -> ApiResult<()> {
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    let mut values = Vec::new();
    for (k, text) in CHUNKS.iter().zip(sql) {
        while left >= *k {
            values.clear();
            for r in rows.by_ref().take(*k) {
                bind(r, &mut values);
            }
            conn.prepare_cached(text)?.execute(&values)?;
            left -= k;
        }
    }
    Ok(())
}

/// [`truncate`] of a string the caller gives up: kept as it is when it is short enough (no copy).
pub fn truncate_owned(s: String, n: usize) -> String {
    if s.len() <= n {
        s
    } else {
        truncate(&s, n)
    }
}

/// Truncates to at most `n` characters (on a char boundary), marking the cut.
pub fn truncate(s: &str, n: usize) -> String {
    // No more bytes than `n` means no more characters.
    if s.len() <= n {
        return s.to_string();
    }
    match nth_char_start(s, n) {
        Some(i) => {
            let mut out = String::with_capacity(i + 3);
            out.push_str(&s[..i]);
            out.push_str("...");
            out
        }
        None => s.to_string(),
    }
}

/// The byte offset of character `n` (from 0), if `s` has that many. A character starts at every byte
/// that is not a UTF-8 continuation byte (`0b10xx_xxxx`); counting those 32 bytes at a time (a loop the
/// compiler vectorizes) instead of decoding every character: ApiLog's `res` of an `Ordr.get` 4.0k → 2.3k
/// instructions.
fn nth_char_start(s: &str, n: usize) -> Option<usize> {
    let starts_char = |c: u8| (c as i8) >= -0x40;
    let bytes = s.as_bytes();
    let mut seen = 0;
    let mut at = 0;
    for chunk in bytes.chunks(32) {
        let k = chunk.iter().filter(|&&c| starts_char(c)).count();
        if seen + k > n {
            break;
        }
        seen += k;
        at += chunk.len();
    }
    // Character n starts in the chunk at `at` (or not at all).
    for (i, &c) in bytes[at..].iter().enumerate() {
        if starts_char(c) {
            if seen == n {
                return Some(at + i);
            }
            seen += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_in_as_few_statements_as_the_chunk_sizes_allow_and_all_arrive_in_order() {
        let owned = rusqlite::Connection::open_in_memory().unwrap();
        owned
            .execute_batch(
                "CREATE TABLE ApiLog (id INTEGER PRIMARY KEY, tm, addr, ua, app, ses, userId, ac, t, retval, req, res, \
                 reqsz, ressz, ver, serverRev); \
                 CREATE TABLE ApiLog1 (id INTEGER PRIMARY KEY, apiLogId, ac, t, retval, req, res);",
            )
            .unwrap();
        let conn = Conn::Sqlite(&owned);
        let rows: Vec<ApiLogRow> = (1..=87)
            .map(|i| ApiLogRow {
                id: i,
                ac: format!("ac{i}"),
                user_id: (i % 2 == 0).then_some(i),
                ..Default::default()
            })
            .collect();
        let rows1: Vec<ApiLog1Row> =
            (1..=5).map(|i| ApiLog1Row { id: i, api_log_id: 1, ac: format!("sub{i}"), ..Default::default() }).collect();
        insert(conn, rows, rows1).unwrap();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM ApiLog"), 87);
        assert_eq!(count("SELECT COUNT(*) FROM ApiLog WHERE ac = 'ac' || id"), 87, "each row's values with its id");
        assert_eq!(count("SELECT COUNT(*) FROM ApiLog WHERE userId IS NULL"), 44);
        assert_eq!(count("SELECT COUNT(*) FROM ApiLog1 WHERE apiLogId=1"), 5);
        // 87 = 64 + 16 + 4 + 1 + 1 + 1: six statements of four fixed texts.
        let sql = statements("INSERT INTO ApiLog1 (id, ac) VALUES ", 2);
        assert_eq!(sql[3], "INSERT INTO ApiLog1 (id, ac) VALUES (?,?)");
        assert_eq!(sql[2].matches("(?,?)").count(), 4);
        assert_eq!(sql[0].matches('?').count(), 128);
        insert(conn, Vec::new(), Vec::new()).unwrap();
    }

    #[test]
    fn texts_are_cut_at_n_characters_and_kept_whole_below() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "abc...");
        assert_eq!(truncate("用户名字", 2), "用户...");
        assert_eq!(truncate("用户", 2), "用户", "two characters in six bytes");
        for (s, n) in [("", 0), ("abc", 3), ("abcd", 3), ("用户名字", 2), ("用户", 2), ("用户", 1)] {
            assert_eq!(truncate_owned(s.to_string(), n), truncate(s, n), "{s:?} at {n}");
        }
    }

    #[test]
    fn the_nth_character_is_found_where_decoding_finds_it_across_chunk_edges() {
        // One to four bytes a character, in runs that put character starts on every side of the
        // 32-byte chunk edges.
        let parts = ["a", "é", "用", "😀", "ab", "用户", "a😀é"];
        for len in [0, 1, 31, 32, 33, 64, 65, 200, 301] {
            let mut s = String::new();
            let mut k = len;
            while s.len() < len {
                s.push_str(parts[k % parts.len()]);
                k = (k * 7 + 3) % 1009;
            }
            let chars = s.chars().count();
            for n in 0..=chars + 1 {
                assert_eq!(nth_char_start(&s, n), s.char_indices().nth(n).map(|(i, _)| i), "{s:?} at {n}");
            }
        }
        assert_eq!(truncate(&"用".repeat(100), 40), format!("{}...", "用".repeat(40)));
    }
}
