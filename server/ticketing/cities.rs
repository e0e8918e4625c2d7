//! The city list: `City` rows from a data file of prefecture-level divisions (`design/cities/`, its
//! README names the source and licence). A new database gets the shipped file on first start;
//! `jindouyun import cities FILE` loads another one into an existing database.

use crate::db::conn::Conn;

use crate::error::{ApiError, ApiResult};

/// The shipped list (337 divisions), compiled in so the one binary needs no data directory.
pub const SHIPPED: &str = include_str!("../../design/cities/cities.csv");

/// One line of a city file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityRow {
    pub code: String,
    pub name: String,
    pub province: String,
}

/// Reads a city file: a header `code,name,province`, then one division per line with a 6-digit code.
/// Errors name the line, so a hand-edited file can be fixed.
pub fn parse(text: &str) -> ApiResult<Vec<CityRow>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, h)) if h.trim().trim_start_matches('\u{feff}') == "code,name,province" => {}
        _ => return Err(ApiError::param("城市文件的第一行须是`code,name,province`")),
    }
    let mut out: Vec<CityRow> = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let [code, name, province] = f[..] else {
            return Err(ApiError::param(format!("城市文件第{n}行: 须是3列(code,name,province)")));
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::param(format!("城市文件第{n}行: 区划代码`{code}`不是6位数字")));
        }
        if name.is_empty() || province.is_empty() {
            return Err(ApiError::param(format!("城市文件第{n}行: 名称和省份不能为空")));
        }
        if out.iter().any(|c| c.code == code) {
            return Err(ApiError::param(format!("城市文件第{n}行: 区划代码{code}重复")));
        }
        out.push(CityRow { code: code.into(), name: name.into(), province: province.into() });
    }
    Ok(out)
}

/// Writes the rows into `City`: updates the row of an existing code, adds the others, deletes nothing
/// (venues and stations refer to cities). Returns (added, updated). One transaction.
pub fn import(conn: Conn, rows: &[CityRow]) -> ApiResult<(usize, usize)> {
    let tx = conn.begin()?;
    let (mut added, mut updated) = (0, 0);
    {
        let mut upd = tx.prepare("UPDATE City SET name=?, province=? WHERE code=?")?;
        let mut ins = tx.prepare("INSERT INTO City (code, name, province) VALUES (?, ?, ?)")?;
        for c in rows {
            if upd.execute([&c.name, &c.province, &c.code])? > 0 {
                updated += 1;
            } else {
                ins.execute([&c.code, &c.name, &c.province])?;
                added += 1;
            }
        }
    }
    tx.commit()?;
    Ok((added, updated))
}

/// Loads the shipped list when `City` is empty (first start).
pub fn load_if_empty(conn: Conn) -> ApiResult<()> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM City", [], |r| r.get(0))?;
    if n == 0 {
        let rows = parse(SHIPPED).map_err(|e| ApiError::server(format!("shipped city file: {e}")))?;
        let (added, _) = import(conn, &rows)?;
        log::info!("imported {added} cities from the shipped list");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_has_every_prefecture_level_division_once() {
        let rows = parse(SHIPPED).unwrap();
        assert_eq!(rows.len(), 337);
        let provinces: std::collections::BTreeSet<&str> = rows.iter().map(|c| c.province.as_str()).collect();
        assert_eq!(provinces.len(), 31, "31 province-level divisions of mainland China");
        let hz = rows.iter().find(|c| c.code == "330100").unwrap();
        assert_eq!((hz.name.as_str(), hz.province.as_str()), ("杭州市", "浙江省"));
        assert!(rows.iter().any(|c| c.code == "110100" && c.name == "北京市"));
        assert!(!rows.iter().any(|c| c.name.contains("直辖") || c.name == "市辖区"));
    }

    #[test]
    fn a_bad_line_is_refused_with_its_number() {
        let e = parse("code,name,province\n330100,杭州市,浙江省\n3302,宁波市,浙江省\n").unwrap_err();
        assert!(e.msg.contains("第3行") && e.msg.contains("6位"), "{}", e.msg);
        assert!(parse("id,name\n").is_err());
        assert!(parse("code,name,province\n330100,杭州市\n").unwrap_err().msg.contains("3列"));
        let dup = "code,name,province\n330100,杭州市,浙江省\n330100,杭州,浙江省\n";
        assert!(parse(dup).unwrap_err().msg.contains("重复"));
    }

    #[test]
    fn importing_again_updates_by_code_and_adds_without_deleting() {
        let owned = rusqlite::Connection::open_in_memory().unwrap();
        let conn = Conn::Sqlite(&owned);
        conn.execute_batch("CREATE TABLE City (id INTEGER PRIMARY KEY, code TEXT, name TEXT, province TEXT)").unwrap();
        let first = parse("code,name,province\n330100,杭州,浙江省\n330200,宁波市,浙江省\n").unwrap();
        assert_eq!(import(conn, &first).unwrap(), (2, 0));
        let second = parse("code,name,province\n330100,杭州市,浙江省\n").unwrap();
        assert_eq!(import(conn, &second).unwrap(), (0, 1));
        let names: Vec<String> = conn
            .prepare("SELECT name FROM City ORDER BY code")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(names, ["杭州市", "宁波市"]);
    }
}
