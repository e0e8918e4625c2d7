//! The ticketing part of the demo world (`P_DEMO`, on by default): a theatre in Beijing and a cinema in
//! Shanghai with their venues and halls (the big theatre hall has 480 seats), a rail operator and a store
//! waiting for review, the platform's movies and the cinema's licences, and events of both kinds with
//! showings over the coming weeks, a rail operator's G1 (6 stops) running every day of the next three
//! weeks, and paid orders of the demo buyers. Runs once, on a database without stores.
//!
//! Showings are built from the halls' seat maps by the same parser the API uses, so a demo showing is
//! exactly what `Showing.add` would have made.

use crate::db::conn::Conn;
use crate::params;
use chrono::{Duration, Local, NaiveDateTime, Timelike};

use super::seatmap::SeatMap;
use crate::auth::password;
use crate::error::ApiResult;

/// The big hall: 20 rows of 6 + 12 + 6 seats with two aisles and a walkway after row 10; VIP in front.
fn big_hall() -> String {
    let mut rows = Vec::new();
    for r in 1..=20 {
        let c = match r {
            1..=6 => 'A',
            7..=14 => 'B',
            _ => 'C',
        };
        let block = |n: usize| c.to_string().repeat(n);
        rows.push(format!("{}_{}_{}", block(6), block(12), block(6)));
        if r == 10 {
            rows.push("_".repeat(26));
        }
    }
    rows.join("\n")
}

const SMALL_HALL: &str = "\
BBBBBBBBBBBB
BBBBBBBBBBBB
AAAAAAAAAAAA
AAAAAAAAAAAA
AAAAAxxAAAAA
BBBBBBBBBBBB
BBBBBBBBBBBB
__BBBBBBBB__";

const CINEMA_1: &str = "\
BBBBB_BBBBBBBB_BBBBB
BBBBB_BBBBBBBB_BBBBB
BBBBB_AAAAAAAA_BBBBB
BBBBB_AAAAAAAA_BBBBB
BBBBB_AAAAAAAA_BBBBB
BBBBB_AAAAAAAA_BBBBB
BBBBB_BBBBBBBB_BBBBB
BBBBB_BBBBBBBB_BBBBB
xxBBB_BBBBBBBB_BBBxx
______CCCCCCCC______";

const CINEMA_2: &str = "\
AAAAAAAAAAAAAA
AAAAAAAAAAAAAA
AAAAAAAAAAAAAA
AAAAAAAAAAAAAA
BBBBBBBBBBBBBB
BBBBBBBBBBBBBB";

/// G1 北京南 → 上海虹桥 over six stops, with a business, two first-class and five second-class carriages,
/// running every day of the next three weeks (its seats made as `TrainRun.add` makes them).
fn demo_train(tx: Conn, store: i64, today: chrono::NaiveDate) -> ApiResult<()> {
    tx.execute(
        "INSERT INTO Employee (uname, phone, pwd, name, perms, storeId) VALUES ('rail', '13900000003', ?, '铁路客运经理', 'emp,mgr', ?)",
        params![password::hash("demo123"), store],
    )?;
    tx.execute(
        "INSERT INTO Train (storeId, code, name, createTm) VALUES (?, 'G1', '北京南-上海虹桥', ?)",
        params![store, today.to_string()],
    )?;
    let train = tx.last_insert_rowid()?;
    let stops: [(&str, Option<&str>, Option<&str>, i64); 6] = [
        ("VNP", None, Some("08:00"), 0),
        ("TIP", Some("08:35"), Some("08:37"), 122),
        ("JGK", Some("09:32"), Some("09:34"), 406),
        ("UUH", Some("10:40"), Some("10:42"), 692),
        ("NKH", Some("11:46"), Some("11:48"), 1023),
        ("AOH", Some("12:48"), None, 1318),
    ];
    for (i, (code, arr, dep, km)) in stops.iter().enumerate() {
        tx.execute(
            "INSERT INTO TrainStop (trainId, seq, stationId, arrTm, depTm, dayOffset, km) VALUES (?, ?, (SELECT id FROM Station WHERE code=?), ?, ?, 0, ?)",
            params![train, i as i64, code, arr, dep, km],
        )?;
    }
    let seats = |rows: usize, letters: &str| -> String {
        (1..=rows).flat_map(|r| letters.chars().map(move |c| format!("{r:02}{c}"))).collect::<Vec<_>>().join(",")
    };
    let mut carriages = vec![("01".to_string(), "SW", seats(2, "ACF"))];
    carriages.push(("02".into(), "ZY", seats(7, "ACDF")));
    carriages.push(("03".into(), "ZY", seats(7, "ACDF")));
    for n in 4..=8 {
        carriages.push((format!("{n:02}"), "ZE", seats(17, "ABCDF")));
    }
    for (no, class, list) in &carriages {
        tx.execute(
            "INSERT INTO Carriage (trainId, no, seatClass, seats) VALUES (?, ?, ?, ?)",
            params![train, no, class, list],
        )?;
    }
    for d in 0..21 {
        tx.execute(
            "INSERT INTO TrainRun (trainId, dt, status) VALUES (?, ?, 'ON')",
            params![train, (today + Duration::days(d)).to_string()],
        )?;
        super::train::make_run_seats(tx, tx.last_insert_rowid()?, train)?;
    }
    Ok(())
}

/// Orders of the demo buyers (the reference demo's users), paid through the mock channel's records as a
/// real payment would leave them: show tickets in the theatre's first showing, and train tickets whose
/// segments share seats (北京南→济南西 and 南京南→上海虹桥 on one seat). Runs once, after both demos.
pub fn load_orders(conn: Conn) -> ApiResult<()> {
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
    if users.len() < 2 {
        return Ok(());
    }
    let tx = conn.begin()?;
    let now = crate::db::now_str();
    let ids = ["11010519491231002X", "440524188001010014", "110101199003074477", "440524188001010014"];
    let pay = |order: i64, cents: i64| -> crate::error::ApiResult<()> {
        tx.execute(
            "INSERT INTO Payment (orderId, serial, channel, amount, status, createTm, paidTm, refundedAmount, tradeNo) VALUES (?, ?, 'mock', ?, 'OK', ?, ?, 0, 'DEMO')",
            params![order, super::payment::new_serial('P'), cents as f64 / 100.0, now, now],
        )?;
        tx.execute(
            "INSERT INTO OrderLog (orderId, action, tm) VALUES (?, 'CR', ?), (?, 'PA', ?)",
            params![order, now, order, now],
        )?;
        Ok(())
    };
    // Train: the first run of G1.
    let run: Option<(i64, i64)> = tx
        .query_row("SELECT r.id, t.storeId FROM TrainRun r JOIN Train t ON t.id=r.trainId WHERE t.code='G1' ORDER BY r.dt LIMIT 1 OFFSET 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok();
    if let Some((run, store)) = run {
        let trips = [(0usize, 2usize), (4, 5), (1, 3)];
        for (i, (uid, name, phone)) in users.iter().take(3).enumerate() {
            tx.execute(
                "INSERT INTO Passenger (userId, name, idType, idNo, type) VALUES (?, ?, 'ID', ?, 'AD')",
                params![uid, name, ids[i]],
            )?;
            let pid = tx.last_insert_rowid()?;
            let (s, e) = trips[i];
            let m = super::segments::mask(s, e);
            // Trips 0 and 1 share the first second-class seat; trip 2 takes the next one.
            let seat: (i64, String) = tx.query_row(
                "SELECT id, label FROM RunSeat WHERE runId=? AND seatClass='ZE' ORDER BY carriageNo, seq LIMIT 1 OFFSET ?",
                params![run, if i < 2 { 0 } else { 1 }],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let cents = super::segments::fare_by_km(
                [0, 122, 406, 692, 1023, 1318][e] - [0, 122, 406, 692, 1023, 1318][s],
                "ZE",
            );
            // The departure from the buyer's first stop, made here rather than by text concatenation in
            // SQL (a typed time column on PostgreSQL takes no text expression).
            let (dt, dep): (String, String) = tx.query_row(
                "SELECT r.dt, ts.depTm FROM TrainStop ts JOIN TrainRun r ON r.trainId=ts.trainId WHERE r.id=? AND ts.seq=?",
                params![run, s as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let depart = format!("{dt} {dep}:00");
            tx.execute(
                "INSERT INTO Ordr (userId, createTm, status, amount, storeId, runId, fromStationId, toStationId, seatClass, departTm, qty, contactName, contactPhone, dscr) \
                 VALUES (?, ?, 'PA', ?, ?, ?, (SELECT stationId FROM TrainStop ts JOIN TrainRun r ON r.trainId=ts.trainId WHERE r.id=? AND ts.seq=?), \
                 (SELECT stationId FROM TrainStop ts JOIN TrainRun r ON r.trainId=ts.trainId WHERE r.id=? AND ts.seq=?), 'ZE', ?, 1, ?, ?, 'G1')",
                params![uid, now, cents as f64 / 100.0, store, run, run, s as i64, run, e as i64, depart, name, phone],
            )?;
            let order = tx.last_insert_rowid()?;
            tx.execute(
                "INSERT INTO Ticket (orderId, runId, runSeatId, fromSeq, toSeq, mask, passengerId, liveKey, label, price, status, code, createTm, paidTm)                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'OK', ?, ?, ?)",
                params![order, run, seat.0, s as i64, e as i64, m, pid, format!("{run}:{pid}"), seat.1, cents as f64 / 100.0, super::hold::ticket_code(), now, now],
            )?;
            tx.execute("UPDATE RunSeat SET sold = sold | ? WHERE id=?", params![m, seat.0])?;
            pay(order, cents)?;
        }
    }
    // Shows: two seats of the theatre's first showing for the first buyer.
    let showing: Option<(i64, i64, i64, String)> = tx
        .query_row("SELECT s.id, s.eventId, s.storeId, s.startTm FROM Showing s JOIN Event e ON e.id=s.eventId WHERE e.name LIKE '%茶馆%' ORDER BY s.startTm LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .ok();
    if let Some((showing, event, store, start)) = showing {
        let (uid, name, phone) = &users[0];
        let seats: Vec<(i64, String, i64, f64)> = tx
            .prepare("SELECT s.id, s.label, s.classId, pc.price FROM Seat s JOIN PriceClass pc ON pc.id=s.classId WHERE s.showingId=? AND s.row=8 ORDER BY s.col LIMIT 2 OFFSET 9")?
            .query_map([showing], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let cents: i64 = seats.iter().map(|s| (s.3 * 100.0).round() as i64).sum();
        tx.execute(
            "INSERT INTO Ordr (userId, createTm, status, amount, storeId, showingId, departTm, qty, contactName, contactPhone, liveKey) VALUES (?, ?, 'PA', ?, ?, ?, ?, ?, ?, ?, ?)",
            params![uid, now, cents as f64 / 100.0, store, showing, start, seats.len() as i64, name, phone, format!("{uid}:{showing}")],
        )?;
        let order = tx.last_insert_rowid()?;
        for (id, label, class, price) in &seats {
            tx.execute("UPDATE Seat SET status='SO', orderId=? WHERE id=?", params![order, id])?;
            tx.execute(
                "INSERT INTO Ticket (orderId, showingId, eventId, classId, seatId, label, price, status, code, createTm, paidTm) VALUES (?, ?, ?, ?, ?, ?, ?, 'OK', ?, ?, ?)",
                params![order, showing, event, class, id, label, price, super::hold::ticket_code(), now, now],
            )?;
        }
        pay(order, cents)?;
    }
    tx.commit()?;
    log::info!("loaded demo ticket orders (paid show and train tickets)");
    Ok(())
}

/// Loads the demo stores and catalogue if there is no store yet. Returns true if it did.
pub fn load_if_empty(conn: Conn, upload_dir: &std::path::Path) -> ApiResult<bool> {
    let stores: i64 = conn.query_row("SELECT COUNT(*) FROM Store", [], |r| r.get(0))?;
    if stores > 0 {
        return Ok(false);
    }
    let tx = conn.begin()?;
    let now = Local::now().naive_local().with_nanosecond(0).unwrap_or_else(|| Local::now().naive_local());
    let text = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let city = |code: &str| -> crate::error::ApiResult<i64> {
        tx.query_row("SELECT id FROM City WHERE code=?", [code], |r| r.get(0))
    };
    let (beijing, shanghai, hangzhou) = (city("110100")?, city("310100")?, city("330100")?);
    let created = text(now - Duration::days(60));
    let store =
        |name: &str, kind: &str, city: i64, status: &str, tel: &str, addr: &str| -> crate::error::ApiResult<i64> {
            tx.execute(
                "INSERT INTO Store (name, kind, cityId, status, tel, addr, createTm) VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![name, kind, city, status, tel, addr, created],
            )?;
            tx.last_insert_rowid()
        };
    let theatre = store("筋斗云大剧院", "show", beijing, "OK", "010-66668888", "北京市西城区长安街1号")?;
    let cinema = store("云上影城", "cinema", shanghai, "OK", "021-55557777", "上海市黄浦区南京东路100号")?;
    let rail = store("京沪高铁", "rail", beijing, "OK", "010-12306", "北京市丰台区北京南站")?;
    store("江南城际铁路", "rail", hangzhou, "OK", "0571-12306", "杭州市上城区城站路1号")?;
    store("星光剧场(待审核)", "show", hangzhou, "PE", "0571-88880000", "杭州市西湖区文三路8号")?;

    tx.execute(
        "INSERT INTO Employee (uname, phone, pwd, name, perms, storeId) VALUES ('cinema', '13900000002', ?, '影城经理', 'emp,mgr', ?)",
        params![password::hash("demo123"), cinema],
    )?;

    let venue = |store: i64, city: i64, name: &str, addr: &str| -> crate::error::ApiResult<i64> {
        tx.execute(
            "INSERT INTO Venue (storeId, cityId, name, addr) VALUES (?, ?, ?, ?)",
            params![store, city, name, addr],
        )?;
        tx.last_insert_rowid()
    };
    let hall = |store: i64, venue: i64, name: &str, map: &str| -> ApiResult<i64> {
        let m = SeatMap::parse(map)?;
        tx.execute(
            "INSERT INTO Hall (venueId, storeId, name, seatMap, rows, cols, seatCnt) VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![venue, store, name, map, m.rows as i64, m.cols as i64, m.seats.len() as i64],
        )?;
        tx.last_insert_rowid()
    };
    let grand = venue(theatre, beijing, "筋斗云大剧院", "北京市西城区长安街1号")?;
    let big = hall(theatre, grand, "大剧场", &big_hall())?;
    let small = hall(theatre, grand, "小剧场", SMALL_HALL)?;
    let club = venue(theatre, beijing, "后海livehouse", "北京市西城区后海南沿20号")?;
    let plaza = venue(cinema, shanghai, "云上影城(南京东路店)", "上海市黄浦区南京东路100号5楼")?;
    let hall1 = hall(cinema, plaza, "1号厅", CINEMA_1)?;
    let imax = hall(cinema, plaza, "IMAX厅", CINEMA_2)?;

    let event = |store: i64,
                 kind: &str,
                 name: &str,
                 category: &str,
                 cast: &str,
                 venue: i64,
                 city: i64,
                 movie: Option<i64>,
                 dscr: &str|
     -> crate::error::ApiResult<i64> {
        tx.execute(
            "INSERT INTO Event (storeId, kind, name, category, \"cast\", venueId, cityId, movieId, dscr, status, maxPerOrder, createTm) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ON', 5, ?)",
            params![store, kind, name, category, cast, venue, city, movie, dscr, created],
        )?;
        tx.last_insert_rowid()
    };
    // A showing with its classes and, in a hall, its seats (what Showing.add makes).
    let showing = |store: i64,
                   ev: i64,
                   venue: i64,
                   hall: Option<i64>,
                   start: NaiveDateTime,
                   minutes: i64,
                   classes: &[(&str, &str, i64, i64)]|
     -> ApiResult<i64> {
        let end = start + Duration::minutes(minutes);
        tx.execute(
            "INSERT INTO Showing (eventId, storeId, venueId, hallId, startTm, endTm, saleStartTm, saleEndTm, holdMinutes, createTm) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 15, ?)",
            params![ev, store, venue, hall, text(start), text(end), created, text(start), created],
        )?;
        let sid = tx.last_insert_rowid()?;
        let map = match hall {
            Some(h) => Some(SeatMap::parse(
                &tx.query_row("SELECT seatMap FROM Hall WHERE id=?", [h], |r| r.get::<String>(0))?,
            )?),
            None => None,
        };
        let mut class_ids: Vec<(String, i64)> = Vec::new();
        for (code, name, cents, capacity) in classes {
            let cap = match &map {
                Some(m) => {
                    m.classes().iter().find(|(c, _)| c.to_string() == *code).map(|(_, n)| *n as i64).unwrap_or(0)
                }
                None => *capacity,
            };
            let code = if map.is_some() { Some(*code) } else { None };
            tx.execute(
                "INSERT INTO PriceClass (showingId, code, name, price, capacity, taken) VALUES (?, ?, ?, ?, ?, 0)",
                params![sid, code, name, *cents as f64 / 100.0, cap],
            )?;
            class_ids.push((code.unwrap_or_default().to_string(), tx.last_insert_rowid()?));
        }
        // Seats in the map's row-major order (their ids are the order Showing.seats lists them in).
        if let Some(m) = &map {
            let mut ins = tx.prepare_cached(
                "INSERT INTO Seat (showingId, classId, row, col, label, status) VALUES (?, ?, ?, ?, ?, 'FR')",
            )?;
            for s in &m.seats {
                let cid = class_ids.iter().find(|(c, _)| *c == s.class.to_string()).map(|(_, id)| *id);
                ins.execute(params![sid, cid, s.row as i64, s.col as i64, s.label()])?;
            }
        }
        Ok(sid)
    };
    let day = |d: i64, h: u32, m: u32| -> NaiveDateTime {
        (now.date() + Duration::days(d)).and_hms_opt(h, m, 0).unwrap_or(now)
    };

    let teahouse = event(
        theatre,
        "show",
        "话剧《茶馆》",
        "话剧",
        "筋斗云话剧团",
        grand,
        beijing,
        None,
        "老舍名作, 三幕话剧, 时长约2小时40分钟.",
    )?;
    for d in [3, 4, 10, 11, 17, 18] {
        showing(
            theatre,
            teahouse,
            grand,
            Some(big),
            day(d, 19, 30),
            160,
            &[("A", "VIP", 68000, 0), ("B", "普通", 38000, 0), ("C", "楼座", 18000, 0)],
        )?;
    }
    let concert = event(
        theatre,
        "show",
        "新年音乐会",
        "音乐会",
        "筋斗云交响乐团",
        grand,
        beijing,
        None,
        "施特劳斯圆舞曲与中国名曲.",
    )?;
    showing(
        theatre,
        concert,
        grand,
        Some(big),
        day(20, 19, 30),
        120,
        &[("A", "VIP", 88000, 0), ("B", "普通", 48000, 0), ("C", "楼座", 28000, 0)],
    )?;
    let drama = event(
        theatre,
        "show",
        "小剧场话剧《恋爱的犀牛》",
        "话剧",
        "青年剧团",
        grand,
        beijing,
        None,
        "经典小剧场作品.",
    )?;
    for d in [5, 6, 12, 13] {
        showing(
            theatre,
            drama,
            grand,
            Some(small),
            day(d, 20, 0),
            110,
            &[("A", "前区", 28000, 0), ("B", "后区", 18000, 0)],
        )?;
    }
    let standup = event(
        theatre,
        "show",
        "周末脱口秀专场",
        "脱口秀",
        "筋斗云喜剧",
        club,
        beijing,
        None,
        "站着看, 笑着走. 不对号入座.",
    )?;
    for d in [2, 9, 16] {
        showing(
            theatre,
            standup,
            club,
            None,
            day(d, 20, 0),
            90,
            &[("", "前区站票", 18000, 60), ("", "后区站票", 12000, 120)],
        )?;
    }

    let movie = |name: &str, cast: &str, minutes: i64, category: &str, dscr: &str| -> crate::error::ApiResult<i64> {
        tx.execute(
            "INSERT INTO Movie (name, \"cast\", duration, category, dscr, releaseDt) VALUES (?, ?, ?, ?, ?, ?)",
            params![name, cast, minutes, category, dscr, (now.date() - Duration::days(10)).to_string()],
        )?;
        tx.last_insert_rowid()
    };
    let films = [
        ("星河彼岸", "林远, 苏晴", 128, "科幻", "一艘迷航的飞船, 和一封寄往地球的信."),
        ("小狐狸回家", "(配音) 王小米", 95, "动画", "一只小狐狸穿越四季寻找家人."),
        ("雾城疑案", "陈默, 周岚", 112, "悬疑", "一座被大雾封住的城, 一桩没有尸体的命案."),
    ];
    let mut evs = Vec::new();
    let mut durations = Vec::new();
    for (name, cast, minutes, category, dscr) in films {
        let m = movie(name, cast, minutes, category, dscr)?;
        tx.execute(
            "INSERT INTO License (storeId, movieId, fromDt, toDt) VALUES (?, ?, ?, ?)",
            params![
                cinema,
                m,
                (now.date() - Duration::days(7)).to_string(),
                (now.date() + Duration::days(60)).to_string()
            ],
        )?;
        evs.push(event(cinema, "movie", name, category, cast, plaza, shanghai, Some(m), dscr)?);
        durations.push(minutes);
    }
    movie("夏日来信", "许安", 101, "爱情", "(平台新片, 影城尚未购买放映权)")?;
    for d in 0..14 {
        // Hall 1 plays the three films in turn; the IMAX hall plays the science fiction film.
        let mut t = day(d, 10, 0);
        for k in 0..5 {
            let i = (d as usize + k) % 3;
            if t > now {
                showing(
                    cinema,
                    evs[i],
                    plaza,
                    Some(hall1),
                    t,
                    durations[i],
                    &[("A", "黄金区", 5500, 0), ("B", "普通区", 4500, 0), ("C", "情侣座", 9900, 0)],
                )?;
            }
            t += Duration::minutes(durations[i] + 30);
        }
        for h in [13, 19] {
            if day(d, h, 0) > now {
                showing(
                    cinema,
                    evs[0],
                    plaza,
                    Some(imax),
                    day(d, h, 0),
                    128,
                    &[("A", "IMAX中心区", 9000, 0), ("B", "IMAX普通区", 7000, 0)],
                )?;
            }
        }
    }
    demo_train(*tx, rail, now.date())?;
    super::demo_world::load(*tx, upload_dir, now)?;
    tx.commit()?;
    log::info!("loaded the demo ticketing world: stores in 10 cities, halls, 31 events with showings, the G1 train");
    Ok(true)
}
