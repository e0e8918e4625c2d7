//! Inventory and the ticket order's state changes: holding seats and places, releasing them, selling
//! them, expiring orders (DESIGN.md 票务订单; ticketing.md §4 "No oversell, ever").
//!
//! Every step that takes inventory is one conditional statement whose changed-row count says whether it
//! worked: a seat is taken by `UPDATE Seat ... WHERE id=? AND (free OR hold expired)`, places by
//! `UPDATE PriceClass SET taken=taken+n WHERE taken+n<=capacity`, and an order changes state only by
//! `UPDATE Ordr SET status=? WHERE id=? AND status=?`. None of it reads first and writes later, so the same
//! code holds with one writer thread, several, or several server processes on one database: the database
//! serializes each row, and a loser sees 0 changed rows.
//!
//! The functions work on a plain connection inside the caller's transaction, so calls (`&mut Ctx`) and the
//! sweeper (a writer job) share them.

use crate::db::conn::Conn;
use crate::params;

use crate::error::{ApiError, ApiResult, Code};

/// Who moved an order, for its OrderLog row: a user (no employee), an employee, or the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User,
    Emp(i64),
    System,
}

impl Actor {
    fn emp(self) -> Option<i64> {
        match self {
            Actor::Emp(e) => Some(e),
            _ => None,
        }
    }
}

/// Writes one OrderLog row. The system's rows say so in `dscr`.
pub fn log(conn: Conn, order: i64, action: &str, actor: Actor, dscr: Option<&str>, now: &str) -> ApiResult<()> {
    let dscr = match (actor, dscr) {
        (Actor::System, Some(d)) => Some(format!("系统: {d}")),
        (Actor::System, None) => Some("系统".to_string()),
        (_, d) => d.map(str::to_string),
    };
    conn.prepare_cached("INSERT INTO OrderLog (orderId, action, tm, dscr, empId) VALUES (?, ?, ?, ?, ?)")?
        .execute(params![order, action, now, dscr, actor.emp()])?;
    Ok(())
}

/// Moves an order from `from` to `to` if it is in `from`; true if it moved.
pub fn transition(conn: Conn, order: i64, from: &str, to: &str) -> ApiResult<bool> {
    // A cancelled or refunded order no longer counts as the user's live order of its showing.
    let sql = if matches!(to, "CA" | "RF") {
        "UPDATE Ordr SET status=?, liveKey=NULL WHERE id=? AND status=?"
    } else {
        "UPDATE Ordr SET status=? WHERE id=? AND status=?"
    };
    Ok(conn.prepare_cached(sql)?.execute(params![to, order, from])? == 1)
}

/// A seat of an order request: id, label, class id, price in cents.
#[derive(Debug, Clone)]
pub struct SeatPick {
    pub id: i64,
    pub label: String,
    pub class: i64,
    pub cents: i64,
}

/// Holds the seats for `order` until `expire`, one conditional update each; the first one taken by
/// someone else ends the call with a message naming it (the caller's transaction then rolls back the
/// seats already held). A hold that expired before `now` counts as free.
pub fn hold_seats(conn: Conn, order: i64, seats: &[SeatPick], expire: &str, now: &str) -> ApiResult<()> {
    let mut st = conn.prepare_cached(
        "UPDATE Seat SET status='HD', orderId=?, expireTm=? WHERE id=? AND (status='FR' OR (status='HD' AND expireTm<=?))",
    )?;
    // In id order: two orders wanting overlapping seats then lock them in the same order, so that on
    // a database with row locks (PostgreSQL, several processes) they queue instead of deadlocking.
    let mut sorted: Vec<&SeatPick> = seats.iter().collect();
    sorted.sort_by_key(|s| s.id);
    for s in sorted {
        if st.execute(params![order, expire, s.id, now])? != 1 {
            return Err(ApiError::with_msg(Code::Forbidden, format!("{}已被选走, 请重新选座", s.label))
                .internal(format!("seat {} is held or sold", s.id)));
        }
    }
    Ok(())
}

/// Takes `n` places of a general-admission class; refuses naming what is left.
pub fn hold_places(conn: Conn, class: i64, n: i64, class_name: &str) -> ApiResult<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE PriceClass SET taken=COALESCE(taken,0)+?1 WHERE id=?2 AND COALESCE(taken,0)+?1<=capacity",
        )?
        .execute(params![n, class])?;
    if changed != 1 {
        let left: i64 = conn
            .query_opt("SELECT capacity-COALESCE(taken,0) FROM PriceClass WHERE id=?", [class], |r| r.get(0))?
            .unwrap_or(0);
        let msg = if left <= 0 { format!("{class_name}已售罄") } else { format!("{class_name}只剩{left}张") };
        return Err(ApiError::with_msg(Code::Forbidden, msg).internal(format!("class {class}: {n} wanted")));
    }
    Ok(())
}

/// Gives back what an order holds (not what it bought): its held seats become free, its held places go
/// back to their classes, its held tickets are cancelled.
pub fn release_held(conn: Conn, order: i64) -> ApiResult<()> {
    conn.prepare_cached("UPDATE Seat SET status='FR', orderId=NULL, expireTm=NULL WHERE orderId=? AND status='HD'")?
        .execute([order])?;
    // Places of general admission: one per held ticket without a seat.
    conn.prepare_cached(
        "UPDATE PriceClass SET taken=taken-(SELECT COUNT(*) FROM Ticket k WHERE k.orderId=?1 AND k.classId=PriceClass.id \
         AND k.seatId IS NULL AND k.status='HD') WHERE id IN (SELECT classId FROM Ticket WHERE orderId=?1 AND seatId IS NULL AND status='HD')",
    )?
    .execute([order])?;
    // Train seats: the order's held segments, one ticket per seat.
    conn.prepare_cached(
        "UPDATE RunSeat SET held = held & ~(SELECT k.mask FROM Ticket k WHERE k.orderId=?1 AND k.runSeatId=RunSeat.id AND k.status='HD') \
         WHERE id IN (SELECT runSeatId FROM Ticket WHERE orderId=?1 AND status='HD' AND runSeatId IS NOT NULL)",
    )?
    .execute([order])?;
    conn.prepare_cached("UPDATE Ticket SET status='CA', liveKey=NULL WHERE orderId=? AND status='HD'")?
        .execute([order])?;
    Ok(())
}

/// Cancels a new order (CR → CA) and releases its holds; false if it was not new any more.
pub fn cancel(conn: Conn, order: i64, actor: Actor, dscr: Option<&str>, now: &str) -> ApiResult<bool> {
    if !transition(conn, order, "CR", "CA")? {
        return Ok(false);
    }
    release_held(conn, order)?;
    log(conn, order, "CA", actor, dscr, now)?;
    Ok(true)
}

/// Which new orders [`expire_due`] looks at.
#[derive(Debug, Clone, Copy)]
pub enum Due {
    All,
    Showing(i64),
    Run(i64),
}

/// Cancels the new orders whose hold has expired (of one showing or run, or all), as the system. Each
/// one is its own conditional transition, so a concurrent sweep or payment never handles an order twice.
pub fn expire_due(conn: Conn, which: Due, now: &str) -> ApiResult<usize> {
    let ids: Vec<i64> = match which {
        Due::Showing(s) => conn
            .prepare_cached("SELECT id FROM Ordr WHERE showingId=? AND status='CR' AND expireTm<=?")?
            .query_map(params![s, now], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
        Due::Run(r) => conn
            .prepare_cached("SELECT id FROM Ordr WHERE runId=? AND status='CR' AND expireTm<=?")?
            .query_map(params![r, now], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
        Due::All => conn
            .prepare_cached("SELECT id FROM Ordr WHERE status='CR' AND expireTm<=? LIMIT 1000")?
            .query_map([now], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
    };
    let mut n = 0;
    for id in ids {
        if cancel(conn, id, Actor::System, Some("超时未付款, 自动取消"), now)? {
            n += 1;
        }
    }
    Ok(n)
}

/// Showings and orders one sweep completes at most (the rest is left to the next run).
const COMPLETE_SHOWINGS: usize = 1000;
const COMPLETE_ORDERS: usize = 1000;
/// Ended showings read per query of a sweep.
const SHOWING_BATCH: usize = 100;

/// Completes paid orders whose showing has ended (PA → RE, as the system); returns how many.
///
/// Driven by the showings, not by the orders: those that have ended and are not done yet (`doneTm` null,
/// a range of the `(doneTm, endTm)` index), each one's paid orders by the `(showingId, status)` index,
/// then the showing is marked done. The earlier join of every paid order to its showing cost the writer
/// about 2.5k instructions per paid order of any kind (trains' and other orders too, which never leave PA
/// by time) at every sweep: 64M instructions at 25,000 paid orders, a 30 ms stall of every write each
/// `P_SWEEP_SECS`, growing with the table. A showing is marked done only once all its paid orders are
/// completed, and conditionally, so concurrent sweeps of several processes settle each order once.
pub fn complete_ended(conn: Conn, now: &str) -> ApiResult<usize> {
    let mut done = 0;
    let mut left = COMPLETE_ORDERS;
    let mut seen = 0;
    while seen < COMPLETE_SHOWINGS && left > 0 {
        let showings: Vec<i64> = conn
            .prepare_cached("SELECT id FROM Showing WHERE doneTm IS NULL AND endTm<=? ORDER BY endTm, id LIMIT ?")?
            .query_map(params![now, SHOWING_BATCH as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let batch = showings.len();
        for sid in showings {
            seen += 1;
            let ids: Vec<i64> = conn
                .prepare_cached("SELECT id FROM Ordr WHERE showingId=? AND status='PA' ORDER BY id")?
                .query_map([sid], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let all = ids.len() <= left;
            for id in ids.into_iter().take(left) {
                left -= 1;
                if transition(conn, id, "PA", "RE")? {
                    log(conn, id, "RE", Actor::System, Some("场次已结束"), now)?;
                    done += 1;
                }
            }
            if !all {
                return Ok(done);
            }
            conn.prepare_cached("UPDATE Showing SET doneTm=? WHERE id=? AND doneTm IS NULL")?
                .execute(params![now, sid])?;
        }
        if batch < SHOWING_BATCH {
            break;
        }
    }
    Ok(done)
}

/// A ticket code: 128 random bits in Crockford base32 (26 characters, no I L O U), unguessable and easy
/// to type at a gate.
pub fn ticket_code() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut v: u128 = rand::random();
    let mut out = [0u8; 26];
    for c in out.iter_mut().rev() {
        *c = ALPHABET[(v & 31) as usize];
        v >>= 5;
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// Sells what a paid order holds: its held seats become sold, its held tickets valid with codes.
pub fn sell_held(conn: Conn, order: i64, now: &str) -> ApiResult<()> {
    conn.prepare_cached("UPDATE Seat SET status='SO', expireTm=NULL WHERE orderId=? AND status='HD'")?
        .execute([order])?;
    // Train seats: the held segments become sold.
    conn.prepare_cached(
        "UPDATE RunSeat SET sold = sold | (SELECT k.mask FROM Ticket k WHERE k.orderId=?1 AND k.runSeatId=RunSeat.id AND k.status='HD'), \
         held = held & ~(SELECT k.mask FROM Ticket k WHERE k.orderId=?1 AND k.runSeatId=RunSeat.id AND k.status='HD') \
         WHERE id IN (SELECT runSeatId FROM Ticket WHERE orderId=?1 AND status='HD' AND runSeatId IS NOT NULL)",
    )?
    .execute([order])?;
    issue_tickets(conn, order, "HD", now)
}

/// Makes the order's tickets in state `from` valid, each with a new code.
fn issue_tickets(conn: Conn, order: i64, from: &str, now: &str) -> ApiResult<()> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM Ticket WHERE orderId=? AND status=?")?
        .query_map(params![order, from], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut st = conn.prepare_cached("UPDATE Ticket SET status='OK', code=?, paidTm=? WHERE id=?")?;
    for id in ids {
        st.execute(params![ticket_code(), now, id])?;
    }
    Ok(())
}

/// For a payment that arrived after its order was cancelled: takes the order's seats or places again if
/// they are still (or again) free, and sells them. Returns false, changing nothing, if any is gone.
pub fn retake_and_sell(conn: Conn, order: i64, now: &str) -> ApiResult<bool> {
    conn.execute_batch("SAVEPOINT retake")?;
    let r = (|| -> ApiResult<bool> {
        type Row = (i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
        let tickets: Vec<Row> = conn
            .prepare_cached("SELECT id, seatId, classId, runSeatId, mask, runId, passengerId FROM Ticket WHERE orderId=? AND status='CA'")?
            .query_map([order], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
            .collect::<Result<_, _>>()?;
        if tickets.is_empty() {
            return Ok(false);
        }
        let mut seat = conn.prepare_cached(
            "UPDATE Seat SET status='SO', orderId=?, expireTm=NULL WHERE id=? AND (status='FR' OR (status='HD' AND expireTm<=?))",
        )?;
        let mut place = conn.prepare_cached(
            "UPDATE PriceClass SET taken=COALESCE(taken,0)+1 WHERE id=? AND COALESCE(taken,0)+1<=capacity",
        )?;
        let mut segs =
            conn.prepare_cached("UPDATE RunSeat SET sold = sold | ?1 WHERE id=?2 AND ((sold | held) & ?1) = 0")?;
        let mut relive = conn.prepare_cached(
            "UPDATE Ticket SET liveKey=?1 WHERE id=?2 AND NOT EXISTS (SELECT 1 FROM Ticket WHERE liveKey=?1)",
        )?;
        for (id, seat_id, class, run_seat, mask, run, passenger) in &tickets {
            let ok = match (seat_id, run_seat) {
                (Some(s), _) => seat.execute(params![order, s, now])? == 1,
                // A passenger who bought another ticket of this run meanwhile keeps that one: refund this.
                (None, Some(rs)) => {
                    relive.execute(params![format!("{}:{}", run.unwrap_or(0), passenger.unwrap_or(0)), id])? == 1
                        && segs.execute(params![mask.unwrap_or(0), rs])? == 1
                }
                (None, None) => place.execute([class])? == 1,
            };
            if !ok {
                return Ok(false);
            }
        }
        issue_tickets(conn, order, "CA", now)?;
        Ok(true)
    })();
    match r {
        Ok(true) => conn.execute_batch("RELEASE retake")?,
        _ => conn.execute_batch("ROLLBACK TO retake; RELEASE retake")?,
    }
    r
}

/// Frees what refunded tickets used: their seats become free again, their places go back.
pub fn release_sold(conn: Conn, tickets: &[i64]) -> ApiResult<()> {
    let mut seat = conn.prepare_cached(
        "UPDATE Seat SET status='FR', orderId=NULL, expireTm=NULL WHERE id=(SELECT seatId FROM Ticket WHERE id=?) AND status='SO'",
    )?;
    let mut place = conn.prepare_cached(
        "UPDATE PriceClass SET taken=taken-1 WHERE id=(SELECT classId FROM Ticket WHERE id=?1 AND seatId IS NULL) AND taken>0",
    )?;
    let mut segs = conn.prepare_cached(
        "UPDATE RunSeat SET sold = sold & ~(SELECT mask FROM Ticket WHERE id=?1) WHERE id=(SELECT runSeatId FROM Ticket WHERE id=?1)",
    )?;
    let mut unlive = conn.prepare_cached("UPDATE Ticket SET liveKey=NULL WHERE id=?")?;
    for t in tickets {
        seat.execute([t])?;
        place.execute([t])?;
        segs.execute([t])?;
        unlive.execute([t])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE Seat (id INTEGER PRIMARY KEY, showingId, classId, row, col, label, status, orderId, expireTm);
             CREATE TABLE PriceClass (id INTEGER PRIMARY KEY, showingId, code, name, price, capacity, taken);
             CREATE TABLE Ticket (id INTEGER PRIMARY KEY, orderId, showingId, eventId, classId, seatId, runId, runSeatId, mask, passengerId, liveKey, label, price, status, code, createTm, paidTm);
             CREATE TABLE RunSeat (id INTEGER PRIMARY KEY, runId, seatClass, sold, held);
             CREATE TABLE Ordr (id INTEGER PRIMARY KEY, status, liveKey, showingId, runId, expireTm);
             CREATE TABLE OrderLog (id INTEGER PRIMARY KEY, orderId, action, tm, dscr, empId);
             INSERT INTO Seat (id, showingId, classId, label, status) VALUES (1, 1, 1, '1排1座', 'FR'), (2, 1, 1, '1排2座', 'FR');
             INSERT INTO PriceClass (id, showingId, name, price, capacity, taken) VALUES (1, 1, 'A', 100, 2, 0), (2, 1, '站票', 50, 3, 0);",
        )
        .unwrap();
        c
    }

    fn pick(id: i64) -> SeatPick {
        SeatPick { id, label: format!("1排{id}座"), class: 1, cents: 10000 }
    }

    #[test]
    fn a_held_seat_is_refused_to_another_order_until_its_hold_expires() {
        let owned = db();
        let c = Conn::Sqlite(&owned);
        hold_seats(c, 10, &[pick(1)], "2026-01-01 10:15:00", "2026-01-01 10:00:00").unwrap();
        let e = hold_seats(c, 11, &[pick(1)], "2026-01-01 10:20:00", "2026-01-01 10:05:00").unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (Code::Forbidden, "1排1座已被选走, 请重新选座"));
        // Expired: taken over at once, no sweeper needed.
        hold_seats(c, 11, &[pick(1)], "2026-01-01 10:31:00", "2026-01-01 10:16:00").unwrap();
        let owner: i64 = c.query_row("SELECT orderId FROM Seat WHERE id=1", [], |r| r.get(0)).unwrap();
        assert_eq!(owner, 11);
        // The first order's late release does not free the seat the second one holds now.
        release_held(c, 10).unwrap();
        let st: String = c.query_row("SELECT status FROM Seat WHERE id=1", [], |r| r.get(0)).unwrap();
        assert_eq!(st, "HD");
    }

    #[test]
    fn places_are_taken_within_capacity_and_given_back_on_release() {
        let owned = db();
        let c = Conn::Sqlite(&owned);
        hold_places(c, 2, 2, "站票").unwrap();
        assert_eq!(hold_places(c, 2, 2, "站票").unwrap_err().msg, "站票只剩1张");
        hold_places(c, 2, 1, "站票").unwrap();
        assert_eq!(hold_places(c, 2, 1, "站票").unwrap_err().msg, "站票已售罄");
        c.execute_batch("INSERT INTO Ticket (orderId, classId, status) VALUES (7, 2, 'HD'), (7, 2, 'HD')").unwrap();
        release_held(c, 7).unwrap();
        let taken: i64 = c.query_row("SELECT taken FROM PriceClass WHERE id=2", [], |r| r.get(0)).unwrap();
        assert_eq!(taken, 1);
    }

    #[test]
    fn an_order_moves_only_from_the_state_it_is_in() {
        let owned = db();
        let c = Conn::Sqlite(&owned);
        c.execute_batch("INSERT INTO Ordr (id, status, liveKey) VALUES (1, 'CR', '5:1')").unwrap();
        assert!(cancel(c, 1, Actor::System, None, "2026-01-01 10:00:00").unwrap());
        assert!(!cancel(c, 1, Actor::User, None, "2026-01-01 10:00:01").unwrap(), "a second cancel changes nothing");
        assert!(!transition(c, 1, "CR", "PA").unwrap());
        let (st, live): (String, Option<String>) =
            c.query_row("SELECT status, liveKey FROM Ordr WHERE id=1", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((st.as_str(), live), ("CA", None));
        let logs: i64 = c.query_row("SELECT COUNT(*) FROM OrderLog WHERE orderId=1", [], |r| r.get(0)).unwrap();
        assert_eq!(logs, 1);
    }

    #[test]
    fn a_late_payment_retakes_free_seats_or_changes_nothing() {
        let owned = db();
        let c = Conn::Sqlite(&owned);
        c.execute_batch(
            "INSERT INTO Ticket (id, orderId, classId, seatId, status) VALUES (1, 3, 1, 1, 'CA'), (2, 3, 1, 2, 'CA');
             UPDATE Seat SET status='SO', orderId=9 WHERE id=2;",
        )
        .unwrap();
        assert!(!retake_and_sell(c, 3, "2026-01-01 10:00:00").unwrap());
        let st: String = c.query_row("SELECT status FROM Seat WHERE id=1", [], |r| r.get(0)).unwrap();
        assert_eq!(st, "FR", "seat 1 is not kept when seat 2 is gone");
        c.execute_batch("UPDATE Seat SET status='FR', orderId=NULL WHERE id=2").unwrap();
        assert!(retake_and_sell(c, 3, "2026-01-01 10:00:00").unwrap());
        let sold: i64 =
            c.query_row("SELECT COUNT(*) FROM Seat WHERE status='SO' AND orderId=3", [], |r| r.get(0)).unwrap();
        let codes: i64 =
            c.query_row("SELECT COUNT(DISTINCT code) FROM Ticket WHERE status='OK'", [], |r| r.get(0)).unwrap();
        assert_eq!((sold, codes), (2, 2));
    }

    #[test]
    fn ticket_codes_are_26_unambiguous_characters_and_do_not_repeat() {
        let codes: std::collections::HashSet<String> = (0..2000).map(|_| ticket_code()).collect();
        assert_eq!(codes.len(), 2000);
        for c in &codes {
            assert_eq!(c.len(), 26);
            assert!(c.bytes().all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b))), "{c}");
        }
    }
}
