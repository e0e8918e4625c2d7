//! The rest of the demo world, so that a fresh `cargo run` looks alive: a theatre in eight more cities with
//! three events each (posters drawn here as PNG files in the upload directory), showings over the coming four
//! weeks, and sales spread over the past month (paid tickets with their payments, a refund, a cancelled
//! order, tickets already checked in) so that every report has a shape. Written as the order code would
//! leave the rows: every valid ticket has its payment, every sold seat its ticket.

use std::path::Path;

use crate::db::conn::Conn;
use crate::params;
use chrono::{Duration, NaiveDateTime};

use super::seatmap::SeatMap;
use crate::error::{ApiError, ApiResult};

/// (city code, theatre, venue address).
const CITIES: [(&str, &str, &str); 8] = [
    ("330100", "西湖大剧院", "杭州市上城区钱江路39号"),
    ("440100", "珠江大剧院", "广州市天河区珠江西路1号"),
    ("440300", "鹏城音乐厅", "深圳市福田区福中一路2016号"),
    ("510100", "锦城艺术宫", "成都市锦江区人民南路一段"),
    ("420100", "琴台大剧院", "武汉市汉阳区知音大道"),
    ("320100", "紫金大剧院", "南京市建邺区江东中路"),
    ("610100", "曲江大剧院", "西安市雁塔区曲江新区"),
    ("500100", "山城大剧院", "重庆市渝中区解放碑"),
];

/// (name, category, cast, price of A, B in yuan).
const SHOWS: [(&str, &str, &str, i64, i64); 12] = [
    ("话剧《雷雨》", "话剧", "城市话剧团", 380, 180),
    ("交响音乐会: 贝多芬之夜", "音乐会", "城市交响乐团", 480, 220),
    ("儿童剧《小王子》", "儿童剧", "童话剧社", 180, 80),
    ("舞剧《永不消逝的电波》", "舞剧", "城市歌舞剧院", 580, 280),
    ("脱口秀之夜", "脱口秀", "喜剧联盟", 280, 120),
    ("民乐专场: 春江花月夜", "音乐会", "民族乐团", 320, 150),
    ("音乐剧《猫》中文版", "音乐剧", "音乐剧工作室", 680, 380),
    ("相声大会", "曲艺", "德云传人", 260, 120),
    ("钢琴独奏会", "音乐会", "青年钢琴家", 380, 180),
    ("越剧《梁祝》", "戏曲", "越剧团", 300, 150),
    ("魔术秀: 奇幻之旅", "魔术", "魔术剧团", 280, 150),
    ("爵士之夜", "音乐会", "爵士乐队", 200, 100),
];

const HALL: &str = "\
BBBBBBBBBB
BBBBBBBBBB
AAAAAAAAAA
AAAAAAAAAA
AAAAAAAAAA
BBBBBBBBBB
BBBBBBBBBB";

/// A 300×400 poster: a vertical gradient between two colours of the palette with a lighter band, as PNG.
pub fn poster_png(i: usize) -> ApiResult<Vec<u8>> {
    const PALETTE: [[u8; 3]; 8] = [
        [229, 72, 77],
        [47, 111, 237],
        [18, 161, 80],
        [245, 158, 11],
        [142, 78, 198],
        [14, 165, 233],
        [219, 39, 119],
        [101, 163, 13],
    ];
    let (a, b) = (PALETTE[i % 8], PALETTE[(i * 3 + 1) % 8]);
    let img = image::RgbImage::from_fn(300, 400, |x, y| {
        let t = y as f32 / 399.0;
        let band = if (150..190).contains(&y) || (x + y) % 97 < 3 { 40.0 } else { 0.0 };
        let mix = |k: usize| ((a[k] as f32 * (1.0 - t) + b[k] as f32 * t + band).min(255.0)) as u8;
        image::Rgb([mix(0), mix(1), mix(2)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).map_err(|e| ApiError::server(format!("poster: {e}")))?;
    Ok(out.into_inner())
}

/// Writes a poster file and its Attachment row; its id.
fn poster(tx: Conn, upload_dir: &Path, i: usize, now: &str) -> ApiResult<i64> {
    let rel = format!("demo/poster-{i:02}.png");
    let file = upload_dir.join(&rel);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ApiError::server(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&file, poster_png(i)?).map_err(|e| ApiError::server(format!("{}: {e}", file.display())))?;
    tx.execute(
        "INSERT INTO Attachment (path, tm, orgName) VALUES (?, ?, ?)",
        params![format!("upload/{rel}"), now, format!("poster-{i:02}.png")],
    )?;
    let id = tx.last_insert_rowid()?;
    // A picture small enough to be its own thumbnail.
    tx.execute("UPDATE Attachment SET orgPicId=id WHERE id=?", [id])?;
    Ok(id)
}

/// The eight theatres with three events each, posters for every event (those of the first demo too).
pub fn load(tx: Conn, upload_dir: &Path, now: NaiveDateTime) -> ApiResult<()> {
    let text = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let created = text(now - Duration::days(60));
    let map = SeatMap::parse(HALL)?;
    let mut n = 0;
    for (c, (code, theatre, addr)) in CITIES.iter().enumerate() {
        let city: i64 = tx.query_row("SELECT id FROM City WHERE code=?", [code], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO Store (name, kind, cityId, status, addr, createTm) VALUES (?, 'show', ?, 'OK', ?, ?)",
            params![theatre, city, addr, created],
        )?;
        let store = tx.last_insert_rowid()?;
        tx.execute(
            "INSERT INTO Venue (storeId, cityId, name, addr) VALUES (?, ?, ?, ?)",
            params![store, city, theatre, addr],
        )?;
        let venue = tx.last_insert_rowid()?;
        tx.execute(
            "INSERT INTO Hall (venueId, storeId, name, seatMap, rows, cols, seatCnt) VALUES (?, ?, '主剧场', ?, ?, ?, ?)",
            params![venue, store, HALL, map.rows as i64, map.cols as i64, map.seats.len() as i64],
        )?;
        let hall = tx.last_insert_rowid()?;
        for k in 0..3 {
            let (name, category, cast, a, b) = SHOWS[(c * 3 + k) % SHOWS.len()];
            tx.execute(
                "INSERT INTO Event (storeId, kind, name, category, \"cast\", venueId, cityId, dscr, status, maxPerOrder, createTm) \
                 VALUES (?, 'show', ?, ?, ?, ?, ?, ?, 'ON', 6, ?)",
                params![store, name, category, cast, venue, city, format!("{theatre}出品. 演出时长约2小时."), created],
            )?;
            let event = tx.last_insert_rowid()?;
            // Showings on different evenings of the coming four weeks, one hall, never overlapping.
            for w in 0..3 {
                let start =
                    (now.date() + Duration::days((2 + k * 2 + w * 9) as i64)).and_hms_opt(19, 30, 0).unwrap_or(now);
                tx.execute(
                    "INSERT INTO Showing (eventId, storeId, venueId, hallId, startTm, endTm, saleStartTm, saleEndTm, holdMinutes, createTm) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 15, ?)",
                    params![event, store, venue, hall, text(start), text(start + Duration::minutes(120)), created, text(start), created],
                )?;
                let sid = tx.last_insert_rowid()?;
                let mut ids = Vec::new();
                for (code, cname, price) in [("A", "VIP", a), ("B", "普通", b)] {
                    let count = map.seats.iter().filter(|s| s.class.to_string() == code).count() as i64;
                    tx.execute(
                        "INSERT INTO PriceClass (showingId, code, name, price, capacity, taken) VALUES (?, ?, ?, ?, ?, 0)",
                        params![sid, code, cname, price as f64, count],
                    )?;
                    ids.push((code, tx.last_insert_rowid()?));
                }
                let mut st = tx.prepare_cached(
                    "INSERT INTO Seat (showingId, classId, row, col, label, status) VALUES (?, ?, ?, ?, ?, 'FR')",
                )?;
                for s in &map.seats {
                    let cid = ids.iter().find(|(c, _)| *c == s.class.to_string()).map(|(_, i)| *i);
                    st.execute(params![sid, cid, s.row as i64, s.col as i64, s.label()])?;
                }
            }
            n += 1;
        }
    }
    // Posters for every show event (the first demo's too); movies take theirs from the catalogue.
    let events: Vec<i64> = tx
        .prepare("SELECT id FROM Event WHERE kind='show' ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (i, e) in events.iter().enumerate() {
        let p = poster(tx, upload_dir, i, &text(now))?;
        tx.execute("UPDATE Event SET posterId=? WHERE id=?", params![p, e])?;
    }
    let movies: Vec<i64> =
        tx.prepare("SELECT id FROM Movie ORDER BY id")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    for (i, m) in movies.iter().enumerate() {
        let p = poster(tx, upload_dir, 40 + i, &text(now))?;
        tx.execute("UPDATE Movie SET posterId=? WHERE id=?", params![p, m])?;
        tx.execute("UPDATE Event SET posterId=? WHERE movieId=?", params![p, m])?;
    }
    log::info!("loaded {n} more demo events in {} cities, with posters", CITIES.len());
    Ok(())
}

/// Sales over the past month by the demo buyers: every day some paid tickets of upcoming showings (their
/// payment made that day), one refunded ticket, one cancelled order. Needs the buyers of the reference demo.
pub fn past_sales(conn: Conn) -> ApiResult<()> {
    let users: Vec<(i64, String, String)> = conn
        .prepare("SELECT id, name, phone FROM User WHERE phone LIKE '1380000000%' ORDER BY id")?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<Option<String>>(1)?.unwrap_or_default(),
                r.get::<Option<String>>(2)?.unwrap_or_default(),
            ))
        })?
        .collect::<Result<_, _>>()?;
    if users.is_empty() {
        return Ok(());
    }
    let showings: Vec<(i64, i64, i64, String)> = conn
        .prepare("SELECT s.id, s.eventId, s.storeId, s.startTm FROM Showing s WHERE s.hallId IS NOT NULL AND s.startTm > ? ORDER BY s.id")?
        .query_map([crate::db::now_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let tx = conn.begin()?;
    let now = chrono::Local::now().naive_local();
    let mut made = 0;
    for day in 1..=30i64 {
        let paid = (now - Duration::days(day) + Duration::minutes(day * 7)).format("%Y-%m-%d %H:%M:%S").to_string();
        // More sales on recent days, and a weekly rhythm: the charts get a shape.
        let count = 1 + (30 - day) / 8 + if day % 7 < 2 { 2 } else { 0 };
        for k in 0..count {
            let (uid, name, phone) = &users[((day + k) as usize) % users.len()];
            let Some((showing, event, store, start)) =
                showings.get(((day * 5 + k * 11) as usize) % showings.len().max(1)).cloned()
            else {
                break;
            };
            let live = format!("{uid}:{showing}");
            if tx.query_row("SELECT 1 FROM Ordr WHERE liveKey=?", [&live], |_| Ok(())).is_ok() {
                continue;
            }
            let seats: Vec<(i64, String, i64, f64)> = tx
                .prepare_cached("SELECT s.id, s.label, s.classId, pc.price FROM Seat s JOIN PriceClass pc ON pc.id=s.classId WHERE s.showingId=? AND s.status='FR' ORDER BY s.id LIMIT 2")?
                .query_map([showing], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            if seats.is_empty() {
                continue;
            }
            let cents: i64 = seats.iter().map(|s| (s.3 * 100.0).round() as i64).sum();
            tx.execute(
                "INSERT INTO Ordr (userId, createTm, status, amount, storeId, showingId, departTm, qty, contactName, contactPhone, liveKey) VALUES (?, ?, 'PA', ?, ?, ?, ?, ?, ?, ?, ?)",
                params![uid, paid, cents as f64 / 100.0, store, showing, start, seats.len() as i64, name, phone, live],
            )?;
            let order = tx.last_insert_rowid()?;
            for (id, label, class, price) in &seats {
                tx.execute("UPDATE Seat SET status='SO', orderId=? WHERE id=?", params![order, id])?;
                tx.execute(
                    "INSERT INTO Ticket (orderId, showingId, eventId, classId, seatId, label, price, status, code, createTm, paidTm) VALUES (?, ?, ?, ?, ?, ?, ?, 'OK', ?, ?, ?)",
                    params![order, showing, event, class, id, label, price, super::hold::ticket_code(), paid, paid],
                )?;
            }
            tx.execute(
                "INSERT INTO Payment (orderId, serial, channel, amount, status, createTm, paidTm, refundedAmount, tradeNo) VALUES (?, ?, 'mock', ?, 'OK', ?, ?, 0, 'DEMO')",
                params![order, super::payment::new_serial('P'), cents as f64 / 100.0, paid, paid],
            )?;
            tx.execute(
                "INSERT INTO OrderLog (orderId, action, tm) VALUES (?, 'CR', ?), (?, 'PA', ?)",
                params![order, paid, order, paid],
            )?;
            made += 1;
            // Now and then a refund of one ticket (the seat goes back on sale).
            if made % 9 == 0 && seats.len() == 2 {
                let (sid, label, _, price) = &seats[1];
                let t: i64 =
                    tx.query_row("SELECT id FROM Ticket WHERE orderId=? AND seatId=?", params![order, sid], |r| {
                        r.get(0)
                    })?;
                tx.execute("UPDATE Ticket SET status='RF' WHERE id=?", [t])?;
                tx.execute("UPDATE Seat SET status='FR', orderId=NULL WHERE id=?", [sid])?;
                let pay: i64 = tx.query_row("SELECT id FROM Payment WHERE orderId=?", [order], |r| r.get(0))?;
                tx.execute(
                    "INSERT INTO Refund (paymentId, orderId, serial, amount, tm, ticketIds, reason) VALUES (?, ?, ?, ?, ?, ?, '行程有变')",
                    params![pay, order, super::payment::new_serial('R'), price, paid, t.to_string()],
                )?;
                tx.execute("UPDATE Payment SET refundedAmount=? WHERE id=?", params![price, pay])?;
                tx.execute(
                    "INSERT INTO OrderLog (orderId, action, tm, dscr) VALUES (?, 'RF', ?, ?)",
                    params![order, paid, format!("退票: {label}")],
                )?;
            }
        }
    }
    states(*tx, &users, &showings, now)?;
    tx.commit()?;
    log::info!("loaded {made} demo orders paid over the past month");
    Ok(())
}

/// Ticket orders in the other states: one of a showing three days ago whose tickets were checked in (RE),
/// one waiting for payment (CR), one cancelled by expiry (CA), one refunded in full (RF).
fn states(
    tx: Conn,
    users: &[(i64, String, String)],
    showings: &[(i64, i64, i64, String)],
    now: NaiveDateTime,
) -> ApiResult<()> {
    let Some((first, event, store, _)) = showings.first().cloned() else { return Ok(()) };
    let text = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let (venue, hall): (i64, i64) =
        tx.query_row("SELECT venueId, hallId FROM Showing WHERE id=?", [first], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let clerk: Option<i64> = tx.query_row("SELECT id FROM Employee WHERE uname='clerk'", [], |r| r.get(0)).ok();
    let start = (now.date() - Duration::days(3)).and_hms_opt(19, 30, 0).unwrap_or(now);
    tx.execute(
        "INSERT INTO Showing (eventId, storeId, venueId, hallId, startTm, endTm, saleStartTm, saleEndTm, holdMinutes, createTm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 15, ?)",
        params![event, store, venue, hall, text(start), text(start + Duration::minutes(150)), text(start - Duration::days(30)), text(start), text(start - Duration::days(30))],
    )?;
    let past = tx.last_insert_rowid()?;
    tx.execute(
        "INSERT INTO PriceClass (showingId, code, name, price, capacity, taken) VALUES (?, 'A', 'VIP', 380, 2, 0)",
        [past],
    )?;
    let class = tx.last_insert_rowid()?;
    // (user, showing, order state, ticket state, seat state)
    let plan = [
        (0usize, past, "RE", "US", "SO"),
        (1, first, "CR", "HD", "HD"),
        (2, first, "CA", "CA", "FR"),
        (3 % users.len(), first, "RF", "RF", "FR"),
    ];
    for (i, (u, showing, order_state, ticket_state, seat_state)) in plan.into_iter().enumerate() {
        let (uid, name, phone) = &users[u % users.len()];
        let (seat, label, cls, price): (i64, String, i64, f64) = if showing == past {
            tx.execute(
                "INSERT INTO Seat (showingId, classId, row, col, label, status) VALUES (?, ?, 1, ?, ?, 'FR')",
                params![past, class, i as i64 + 1, format!("1排{}座", i + 1)],
            )?;
            (tx.last_insert_rowid()?, format!("1排{}座", i + 1), class, 380.0)
        } else {
            tx.query_row(
                "SELECT s.id, s.label, s.classId, pc.price FROM Seat s JOIN PriceClass pc ON pc.id=s.classId WHERE s.showingId=? AND s.status='FR' ORDER BY s.id DESC LIMIT 1",
                [showing],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?
        };
        let created = text(if showing == past { start - Duration::days(5) } else { now - Duration::minutes(5) });
        let live = matches!(order_state, "CR" | "RE").then(|| format!("{uid}:{showing}"));
        let expire = text(now + Duration::minutes(if order_state == "CR" { 15 } else { -60 }));
        tx.execute(
            "INSERT INTO Ordr (userId, createTm, status, amount, storeId, showingId, departTm, qty, contactName, contactPhone, liveKey, expireTm) \
             VALUES (?, ?, ?, ?, ?, ?, (SELECT startTm FROM Showing WHERE id=?), 1, ?, ?, ?, ?)",
            params![uid, created, order_state, price, store, showing, showing, name, phone, live, expire],
        )?;
        let order = tx.last_insert_rowid()?;
        let paid = matches!(order_state, "RE" | "RF").then(|| created.clone());
        let checkin = (ticket_state == "US").then(|| text(start - Duration::minutes(12)));
        let code = paid.as_ref().map(|_| super::hold::ticket_code());
        tx.execute(
            "INSERT INTO Ticket (orderId, showingId, eventId, classId, seatId, label, price, status, code, createTm, paidTm, checkinTm, checkinEmpId) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![order, showing, event, cls, seat, label, price, ticket_state, code, created, paid, checkin, checkin.as_ref().and(clerk)],
        )?;
        match seat_state {
            "FR" => tx.execute("UPDATE Seat SET status='FR', orderId=NULL WHERE id=?", [seat])?,
            st => tx.execute(
                "UPDATE Seat SET status=?, orderId=?, expireTm=? WHERE id=?",
                params![st, order, expire, seat],
            )?,
        };
        tx.execute("INSERT INTO OrderLog (orderId, action, tm) VALUES (?, 'CR', ?)", params![order, created])?;
        if let Some(p) = &paid {
            let refunded = order_state == "RF";
            tx.execute(
                "INSERT INTO Payment (orderId, serial, channel, amount, status, createTm, paidTm, refundedAmount, tradeNo) VALUES (?, ?, 'mock', ?, ?, ?, ?, ?, 'DEMO')",
                params![order, super::payment::new_serial('P'), price, if refunded { "RF" } else { "OK" }, p, p, if refunded { price } else { 0.0 }],
            )?;
            let pay = tx.last_insert_rowid()?;
            tx.execute("INSERT INTO OrderLog (orderId, action, tm) VALUES (?, 'PA', ?)", params![order, p])?;
            if refunded {
                tx.execute(
                    "INSERT INTO Refund (paymentId, orderId, serial, amount, tm, reason) VALUES (?, ?, ?, ?, ?, '不能出行')",
                    params![pay, order, super::payment::new_serial('R'), price, p],
                )?;
            }
            tx.execute(
                "INSERT INTO OrderLog (orderId, action, tm, empId) VALUES (?, ?, ?, ?)",
                params![order, order_state, p, if order_state == "RE" { clerk } else { None }],
            )?;
        } else if order_state == "CA" {
            tx.execute(
                "INSERT INTO OrderLog (orderId, action, tm, dscr) VALUES (?, 'CA', ?, '系统: 超时未付款, 自动取消')",
                params![order, created],
            )?;
        }
    }
    Ok(())
}
