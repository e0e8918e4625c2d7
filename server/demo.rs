//! Demo data for a brand-new database, so `cargo run` shows a living system: staff, users with
//! passwords, orders in every state with their logs.
//!
//! Runs once, only when the database has no users and no orders (`P_DEMO=0` turns it off). Demo
//! passwords are printed in the README; they are ordinary hashed passwords.

use crate::db::conn::Conn;
use crate::params;

use crate::auth::password;
use crate::error::ApiResult;

/// Demo users: (phone, name). Every demo user's password is `demo123`.
const USERS: [(&str, &str); 4] =
    [("13800000001", "张三"), ("13800000002", "李四"), ("13800000003", "王五"), ("13800000004", "赵六")];

/// Loads the demo data if the database is empty. Returns true if it did.
pub fn load_if_empty(conn: Conn) -> ApiResult<bool> {
    let used: i64 =
        conn.query_row("SELECT (SELECT COUNT(*) FROM User) + (SELECT COUNT(*) FROM Ordr)", [], |r| r.get(0))?;
    if used > 0 {
        return Ok(false);
    }
    let tx = conn.begin()?;
    let pwd = password::hash("demo123");
    tx.execute(
        "INSERT INTO Employee (uname, phone, pwd, name, perms) VALUES ('clerk', '13900000001', ?, '店员小王', 'emp')",
        [&pwd],
    )?;
    let now = chrono::Local::now();
    let mut order_no = 0;
    for (i, (phone, name)) in USERS.iter().enumerate() {
        let created = (now - chrono::Duration::days(40 - i as i64 * 3)).format("%Y-%m-%d %H:%M:%S").to_string();
        tx.execute(
            "INSERT INTO User (uname, phone, pwd, name, createTm) VALUES (?, ?, ?, ?, ?)",
            params![format!("demo{}", i + 1), phone, pwd, name, created],
        )?;
        let uid = tx.last_insert_rowid()?;
        for (status, dscr) in
            [("CR", "演唱会门票 2张"), ("PA", "电影票 IMAX"), ("RE", "高铁 北京-上海"), ("CA", "话剧门票")]
        {
            order_no += 1;
            let days_ago = (order_no * 7) % 30;
            let tm = now - chrono::Duration::days(days_ago) - chrono::Duration::minutes(order_no * 13);
            let t = tm.format("%Y-%m-%d %H:%M:%S").to_string();
            let amount = 80 + (order_no * 37) % 500;
            tx.execute(
                "INSERT INTO Ordr (userId, createTm, status, amount, dscr) VALUES (?, ?, ?, ?, ?)",
                params![uid, t, status, amount, dscr],
            )?;
            let oid = tx.last_insert_rowid()?;
            let log = |action: &str, minutes: i64, emp: Option<i64>| -> crate::error::ApiResult<usize> {
                let lt = (tm + chrono::Duration::minutes(minutes)).format("%Y-%m-%d %H:%M:%S").to_string();
                tx.execute(
                    "INSERT INTO OrderLog (orderId, action, tm, empId) VALUES (?, ?, ?, ?)",
                    params![oid, action, lt, emp],
                )
            };
            log("CR", 0, None)?;
            match status {
                "PA" => {
                    log("PA", 5, None)?;
                }
                "RE" => {
                    log("PA", 5, None)?;
                    log("RE", 60 * 24, Some(1))?;
                }
                "CA" => {
                    log("CA", 20, None)?;
                }
                _ => {}
            }
        }
    }
    tx.execute("INSERT INTO Cinf (name, value) VALUES ('shopName', '筋斗云票务演示店')", [])?;
    tx.commit()?;
    log::info!("loaded demo data: {} users (password demo123), {order_no} orders, employee clerk/demo123", USERS.len());
    Ok(true)
}
