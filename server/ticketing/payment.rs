//! Payment and refunds (DESIGN.md 付款, 退款; ticketing.md §5 "never trust the client").
//!
//! A channel is a [`PayChannel`]: it makes the page the buyer pays on, reads a notification it sent us
//! (verifying it over what was received), and refunds. Order code knows only this interface; `mock` is
//! the built-in channel (its page is `payMock`, its notifications are signed with HMAC-SHA256). An Alipay
//! channel would implement the same three steps with its page-pay URL, RSA2 verification and refund API.
//!
//! `payNotify` changes state only after the channel verified the notification and the serial, amount and
//! status match; applying it is conditional (`WA → OK` on the payment, `CR → PA` on the order), so a
//! repeated or concurrent notification changes nothing the second time and still answers `success`.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::hold::{self, Actor};
use crate::api::ctx::{Ctx, Raw, Reply};
use crate::api::functions::{Functions, Receives};
use crate::api::params::{value_to_string, Params};
use crate::crud::{Decl, Object, Op, Registry, Role, Scope};
use crate::error::{ApiError, ApiResult, Code};
use crate::objects::account::my_store;
use crate::query::SqlValue;

/// The Cinf name of the mock channel's generated key.
pub const MOCK_SECRET_NAME: &str = "payMockSecret";

/// What a channel read from a notification it sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub serial: String,
    pub trade_no: String,
    /// The amount paid, in cents.
    pub cents: i64,
    /// True when the provider says the payment succeeded.
    pub paid: bool,
}

/// A payment provider.
pub trait PayChannel: Send + Sync {
    /// The channel's name (`mock`, `alipay`).
    fn name(&self) -> &'static str;
    /// The page the buyer pays on for a new payment.
    fn page_url(&self, serial: &str, cents: i64) -> String;
    /// Verifies a notification over the fields as received; `None` when it is not genuine.
    fn verify(&self, fields: &[(String, String)]) -> Option<Notice>;
    /// Refunds part or all of a payment; an error leaves the refund unrecorded.
    fn refund(&self, serial: &str, refund_serial: &str, cents: i64) -> ApiResult<()>;
}

type HmacSha256 = Hmac<Sha256>;

/// The built-in channel: a page of this server plays the provider.
pub struct Mock {
    secret: Vec<u8>,
}

impl Mock {
    pub fn new(secret: &[u8]) -> Mock {
        Mock { secret: secret.to_vec() }
    }

    /// The MAC of a notification: HMAC-SHA256 over the non-empty fields but `sign`, as `key=value`
    /// sorted by key and joined by `&`.
    fn mac(&self, fields: &[(String, String)]) -> HmacSha256 {
        let mut kv: Vec<&(String, String)> = fields.iter().filter(|(k, v)| k != "sign" && !v.is_empty()).collect();
        kv.sort();
        let text: Vec<String> = kv.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any size");
        mac.update(text.join("&").as_bytes());
        mac
    }

    /// The signature of a notification: the MAC in lowercase hex.
    pub fn sign(&self, fields: &[(String, String)]) -> String {
        self.mac(fields).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl PayChannel for Mock {
    fn name(&self) -> &'static str {
        "mock"
    }

    fn page_url(&self, serial: &str, _cents: i64) -> String {
        format!("/api/payMock?serial={serial}")
    }

    fn verify(&self, fields: &[(String, String)]) -> Option<Notice> {
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let given = hex_bytes(&get("sign")?)?;
        // `verify_slice` compares in constant time: the signature is the key's only witness.
        self.mac(fields).verify_slice(&given).ok()?;
        Some(Notice {
            serial: get("serial")?,
            trade_no: get("tradeNo").unwrap_or_default(),
            cents: crate::money::parse_cents(&get("amount")?)?,
            paid: get("status").as_deref() == Some("SUCCESS"),
        })
    }

    fn refund(&self, _serial: &str, _refund_serial: &str, _cents: i64) -> ApiResult<()> {
        Ok(())
    }
}

/// Lowercase or uppercase hex to bytes; `None` for anything else.
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The channel of that name, configured.
pub fn channel(ctx: &mut Ctx, name: &str) -> ApiResult<Box<dyn PayChannel>> {
    match name {
        "mock" => Ok(Box::new(Mock::new(mock_secret(ctx)?.as_bytes()))),
        other => Err(ApiError::param(format!("不支持的支付方式`{other}`"))),
    }
}

/// The mock channel's key: `P_PAY_MOCK_SECRET`, else the one kept in Cinf (made at first start).
fn mock_secret(ctx: &mut Ctx) -> ApiResult<String> {
    if let Some(s) = &ctx.state.config.pay_mock_secret {
        return Ok(s.clone());
    }
    match ctx.scalar("SELECT value FROM Cinf WHERE name=? ORDER BY id LIMIT 1", &[MOCK_SECRET_NAME.into()])? {
        Some(crate::query::SqlValue::Text(s)) => Ok(s),
        _ => Err(ApiError::server("the mock payment key is missing (Cinf payMockSecret)")),
    }
}

/// Makes the mock channel's key on first start when none is configured.
pub fn init_db(conn: crate::db::conn::Conn) -> ApiResult<()> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM Cinf WHERE name=?", [MOCK_SECRET_NAME], |r| r.get(0))?;
    if n == 0 {
        let key: [u8; 32] = rand::random();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        conn.execute("INSERT INTO Cinf (name, value) VALUES (?, ?)", [MOCK_SECRET_NAME, hex.as_str()])?;
    }
    Ok(())
}

/// A serial: a letter, the time to the second and 8 random digits (`P20261201235959` + `12345678`).
pub fn new_serial(prefix: char) -> String {
    let t = chrono::Local::now().format("%Y%m%d%H%M%S");
    format!("{prefix}{t}{:08}", rand::random::<u32>() % 100_000_000)
}

fn cents_of(v: Option<f64>) -> i64 {
    (v.unwrap_or(0.0) * 100.0).round() as i64
}

fn money(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// `Ordr.pay(id, channel=mock)`: a payment for a new order (the same one again while it waits).
pub fn pay(ctx: &mut Ctx, p: &Params) -> ApiResult<Value> {
    let uid = ctx.auth.uid().ok_or_else(|| ApiError::with_msg(Code::Forbidden, "只有下单的用户可以付款"))?;
    let id = p.must_int("id")?;
    let name = p.str("channel").unwrap_or_else(|| "mock".into());
    let ch = channel(ctx, &name)?;
    let mut row = None;
    ctx.query(
        "SELECT status, amount, expireTm, COALESCE(showingId, runId), userId FROM Ordr WHERE id=?",
        &[id.into()],
        |r| {
            row = Some((
                r.get::<Option<String>>(0)?.unwrap_or_default(),
                cents_of(r.get(1)?),
                r.get::<Option<String>>(2)?,
                r.get::<Option<i64>>(3)?,
                r.get::<Option<i64>>(4)?,
            ));
            Ok(())
        },
    )?;
    let (status, cents, expire, showing, user) = row.ok_or_else(|| ApiError::param(format!("订单#{id}不存在")))?;
    if user != Some(uid) {
        return Err(ApiError::param(format!("订单#{id}不存在")));
    }
    if showing.is_none() {
        return Err(ApiError::with_msg(Code::Forbidden, "该订单不能在线付款"));
    }
    let now = crate::db::now_str();
    match status.as_str() {
        "CR" if expire.as_deref().is_some_and(|e| e > now.as_str()) => {}
        "CR" | "CA" => return Err(ApiError::with_msg(Code::Forbidden, "订单已超时或已取消, 请重新下单")),
        _ => return Err(ApiError::with_msg(Code::Forbidden, "订单已付款")),
    }
    let existing = {
        let mut e = None;
        ctx.query(
            "SELECT id, serial FROM Payment WHERE orderId=? AND channel=? AND status='WA' ORDER BY id DESC LIMIT 1",
            &[id.into(), ch.name().into()],
            |r| {
                e = Some((r.get::<i64>(0)?, r.get::<String>(1)?));
                Ok(())
            },
        )?;
        e
    };
    let (pay_id, serial) = match existing {
        Some(e) => e,
        None => {
            let serial = new_serial('P');
            let pid = ctx.insert(
                "INSERT INTO Payment (orderId, serial, channel, amount, status, createTm, refundedAmount) VALUES (?, ?, ?, ?, 'WA', ?, 0)",
                &[id.into(), serial.clone().into(), ch.name().into(), SqlValue::Real(cents as f64 / 100.0), now.into()],
            )?;
            (pid, serial)
        }
    };
    Ok(
        json!({"payId": pay_id, "serial": serial, "amount": money(cents), "channel": ch.name(), "url": ch.page_url(&serial, cents)}),
    )
}

/// The form fields of a notification, as received.
fn form_fields(p: &Params) -> Vec<(String, String)> {
    if !p.raw.is_empty() {
        return form_urlencoded::parse(&p.raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    }
    p.body_fields().iter().map(|(k, v)| (k.clone(), value_to_string(v))).collect()
}

fn text(body: &str) -> Reply {
    Reply::Raw(Raw {
        status: 200,
        content_type: "text/plain; charset=UTF-8".into(),
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
        log_res: Some(body.into()),
    })
}

/// `POST /api/payNotify?channel=mock`: `success` when the notification is genuine and matches its
/// payment (applied once), `fail` otherwise (nothing changes).
fn pay_notify(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let name = p.url.get("channel").map(value_to_string).unwrap_or_else(|| "mock".into());
    let Ok(ch) = channel(ctx, &name) else { return Ok(text("fail")) };
    let Some(n) = ch.verify(&form_fields(p)) else {
        log::warn!("payNotify({name}): a notification with a bad signature was refused");
        return Ok(text("fail"));
    };
    match apply_notice(ctx, ch.as_ref(), &n)? {
        true => Ok(text("success")),
        false => Ok(text("fail")),
    }
}

/// Applies a verified notification; false when it does not match its payment.
fn apply_notice(ctx: &mut Ctx, ch: &dyn PayChannel, n: &Notice) -> ApiResult<bool> {
    let mut row = None;
    ctx.query(
        "SELECT id, orderId, amount, status, channel FROM Payment WHERE serial=?",
        &[n.serial.clone().into()],
        |r| {
            row = Some((
                r.get::<i64>(0)?,
                r.get::<i64>(1)?,
                cents_of(r.get(2)?),
                r.get::<String>(3)?,
                r.get::<String>(4)?,
            ));
            Ok(())
        },
    )?;
    let Some((pay_id, order, cents, status, channel)) = row else { return Ok(false) };
    if channel != ch.name() || cents != n.cents || !n.paid {
        log::warn!("payNotify: serial {} refused (channel/amount/status do not match)", n.serial);
        return Ok(false);
    }
    let now = crate::db::now_str();
    let conn = ctx.db;
    // Applied once: a repeated notification finds the payment no longer waiting.
    let took = conn
        .prepare_cached("UPDATE Payment SET status='OK', paidTm=?, tradeNo=? WHERE id=? AND status='WA'")?
        .execute(crate::params![now, n.trade_no, pay_id])?;
    if took == 0 {
        // Applied before (or refunded after a late payment): the provider is told it was received.
        let _ = status;
        return Ok(true);
    }
    if hold::transition(conn, order, "CR", "PA")? {
        hold::sell_held(conn, order, &now)?;
        hold::log(conn, order, "PA", Actor::User, None, &now)?;
        return Ok(true);
    }
    // The order was cancelled (its hold expired, or the buyer cancelled) before the money arrived.
    if hold::retake_and_sell(conn, order, &now)? && hold::transition(conn, order, "CA", "PA")? {
        let live: Option<String> =
            conn.query_row("SELECT userId||':'||showingId FROM Ordr WHERE id=?", [order], |r| r.get(0)).ok();
        // The order is live again; a newer live order of the same buyer keeps its key.
        let _ = conn.execute(
            "UPDATE Ordr SET liveKey=? WHERE id=? AND NOT EXISTS (SELECT 1 FROM Ordr WHERE liveKey=?)",
            crate::params![live, order, live],
        );
        hold::log(conn, order, "PA", Actor::System, Some("超时后付款, 座位仍在, 已出票"), &now)?;
        return Ok(true);
    }
    let serial = new_serial('R');
    ch.refund(&n.serial, &serial, cents)?;
    conn.prepare_cached(
        "INSERT INTO Refund (paymentId, orderId, serial, amount, tm, reason) VALUES (?, ?, ?, ?, ?, '超时后付款, 座位已售出, 全额退款')",
    )?
    .execute(crate::params![pay_id, order, serial, cents as f64 / 100.0, now])?;
    conn.prepare_cached("UPDATE Payment SET status='RF', refundedAmount=amount WHERE id=?")?.execute([pay_id])?;
    hold::log(conn, order, "RF", Actor::System, Some("超时后付款, 座位已售出, 已全额退款"), &now)?;
    Ok(true)
}

/// `GET /api/payMock?serial=...`: the mock provider's page. It shows the amount and, on 确认支付, posts
/// the signed notification (the page knows the key: it plays the provider), then returns to the order.
fn pay_mock(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let serial = p.must_str("serial")?;
    let mut row = None;
    ctx.query(
        "SELECT orderId, amount, status FROM Payment WHERE serial=? AND channel='mock'",
        &[serial.clone().into()],
        |r| {
            row = Some((r.get::<i64>(0)?, cents_of(r.get(1)?), r.get::<String>(2)?));
            Ok(())
        },
    )?;
    let Some((order, cents, status)) = row else {
        return Ok(html_page(404, "<h1>付款单不存在</h1>"));
    };
    let mock = Mock::new(mock_secret(ctx)?.as_bytes());
    let trade_no = format!("MOCK{}", &serial[1..]);
    let fields = vec![
        ("serial".to_string(), serial.clone()),
        ("tradeNo".to_string(), trade_no.clone()),
        ("amount".to_string(), money(cents)),
        ("status".to_string(), "SUCCESS".to_string()),
    ];
    let sign = mock.sign(&fields);
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    let inputs: String = fields
        .iter()
        .chain(std::iter::once(&("sign".to_string(), sign)))
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(k), esc(v)))
        .collect();
    let back = format!("/m2/#order/{order}");
    let body = format!(
        "<div class=\"box\"><div class=\"brand\">模拟支付平台</div><p class=\"muted\">付款单 {serial}</p>\
         <div class=\"amt\">¥{amt}</div>{state}\
         <form id=\"f\" method=\"post\" action=\"/api/payNotify?channel=mock\">{inputs}\
         <button type=\"submit\" id=\"btnPay\" {dis}>确认支付</button></form>\
         <a href=\"{back}\" id=\"lnkBack\">返回订单</a><p id=\"msg\" class=\"muted\"></p></div>\
         <script>document.getElementById('f').addEventListener('submit',async e=>{{e.preventDefault();\
         const b=document.getElementById('btnPay');b.disabled=true;\
         const r=await fetch(e.target.action,{{method:'POST',body:new URLSearchParams(new FormData(e.target))}});\
         const t=(await r.text()).trim();document.getElementById('msg').textContent=t==='success'?'支付成功, 正在返回…':'支付失败: '+t;\
         if(t==='success')setTimeout(()=>location.href='{back}',600);else b.disabled=false;}});</script>",
        amt = money(cents),
        state = if status == "WA" { String::new() } else { "<p class=\"paid\">该付款单已支付</p>".into() },
        dis = if status == "WA" { "" } else { "disabled" },
    );
    Ok(html_page(200, &body))
}

fn html_page(status: u16, body: &str) -> Reply {
    let page = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>模拟支付</title><style>body{{font-family:system-ui,sans-serif;background:#f4f6fa;margin:0;display:flex;justify-content:center}}\
         .box{{background:#fff;margin:40px 16px;padding:24px;border-radius:12px;max-width:360px;width:100%;text-align:center;box-shadow:0 4px 16px rgba(0,0,0,.08)}}\
         .brand{{font-weight:700;color:#1677ff;font-size:18px}}.amt{{font-size:34px;font-weight:700;margin:16px 0}}.muted{{color:#888;font-size:13px}}\
         button{{width:100%;height:44px;border:0;border-radius:8px;background:#1677ff;color:#fff;font-size:16px;margin:8px 0}}\
         button:disabled{{background:#9bbcf0}}.paid{{color:#12a150}}a{{color:#1677ff;font-size:14px}}</style></head><body>{body}</body></html>"
    );
    Reply::Raw(Raw {
        status,
        content_type: "text/html; charset=UTF-8".into(),
        headers: Vec::new(),
        body: page.into_bytes(),
        log_res: Some("[payMock page]".into()),
    })
}

/// `Ordr.refund(id, ticketIds?)`: refunds valid tickets of a paid order before the showing starts.
pub fn refund(ctx: &mut Ctx, p: &Params, actor: Actor) -> ApiResult<Value> {
    let id = p.must_int("id")?;
    let mut row = None;
    ctx.query(
        "SELECT o.status, COALESCE(s.startTm, o.departTm) FROM Ordr o LEFT JOIN Showing s ON s.id=o.showingId \
         WHERE o.id=? AND (o.showingId IS NOT NULL OR o.runId IS NOT NULL)",
        &[id.into()],
        |r| {
            row = Some((
                r.get::<Option<String>>(0)?.unwrap_or_default(),
                r.get::<Option<String>>(1)?.unwrap_or_default(),
            ));
            Ok(())
        },
    )?;
    let (status, start) = row.ok_or_else(|| ApiError::with_msg(Code::Forbidden, "该订单没有可退的票"))?;
    let now = crate::db::now_str();
    if status != "PA" {
        return Err(ApiError::with_msg(Code::Forbidden, "只有已付款的订单可以退票"));
    }
    if now >= start {
        return Err(ApiError::with_msg(Code::Forbidden, format!("已于{start}开演或发车, 不能退票")));
    }
    let asked = match p.str("ticketIds").filter(|s| !s.trim().is_empty()) {
        Some(s) => Some(super::order::parse_ids(&s, "票")?),
        None => None,
    };
    let mut tickets: Vec<(i64, String, String, i64)> = Vec::new();
    ctx.query("SELECT id, status, label, price FROM Ticket WHERE orderId=? ORDER BY id", &[id.into()], |r| {
        tickets.push((
            r.get(0)?,
            r.get::<Option<String>>(1)?.unwrap_or_default(),
            r.get::<Option<String>>(2)?.unwrap_or_default(),
            cents_of(r.get(3)?),
        ));
        Ok(())
    })?;
    let chosen: Vec<&(i64, String, String, i64)> = match &asked {
        Some(ids) => {
            let mut v = Vec::new();
            for t in ids {
                let k =
                    tickets.iter().find(|k| k.0 == *t).ok_or_else(|| ApiError::param(format!("票#{t}不属于该订单")))?;
                match k.1.as_str() {
                    "OK" => v.push(k),
                    "US" => return Err(ApiError::with_msg(Code::Forbidden, format!("{}已检票, 不能退", k.2))),
                    _ => return Err(ApiError::with_msg(Code::Forbidden, format!("{}已退或无效", k.2))),
                }
            }
            v
        }
        None => tickets.iter().filter(|k| k.1 == "OK").collect(),
    };
    if chosen.is_empty() {
        return Err(ApiError::with_msg(Code::Forbidden, "没有可退的票(已检票的票不能退)"));
    }
    let cents: i64 = chosen.iter().map(|k| k.3).sum();
    let ids: Vec<i64> = chosen.iter().map(|k| k.0).collect();
    let mut pay = None;
    ctx.query("SELECT id, serial, channel, amount, refundedAmount FROM Payment WHERE orderId=? AND status='OK' ORDER BY id DESC LIMIT 1", &[id.into()], |r| {
        pay = Some((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<String>(2)?, cents_of(r.get(3)?), cents_of(r.get(4)?)));
        Ok(())
    })?;
    let (pay_id, pay_serial, ch_name, paid, refunded) =
        pay.ok_or_else(|| ApiError::server(format!("paid order {id} has no payment")))?;
    let ch = channel(ctx, &ch_name)?;
    let conn = ctx.db;
    // Tickets change only if still valid: a concurrent refund or check-in of the same ticket wins once.
    let mut st = conn.prepare_cached("UPDATE Ticket SET status='RF', liveKey=NULL WHERE id=? AND status='OK'")?;
    for t in &ids {
        if st.execute([t])? != 1 {
            return Err(ApiError::with_msg(Code::Forbidden, "票的状态已变化, 请刷新后重试"));
        }
    }
    drop(st);
    hold::release_sold(conn, &ids)?;
    let serial = new_serial('R');
    ch.refund(&pay_serial, &serial, cents)?;
    let label_list: Vec<&str> = chosen.iter().map(|k| k.2.as_str()).collect();
    let reason = p.str("reason");
    let refund_id = {
        conn.prepare_cached("INSERT INTO Refund (paymentId, orderId, serial, amount, tm, ticketIds, reason) VALUES (?, ?, ?, ?, ?, ?, ?)")?
            .execute(crate::params![
                pay_id,
                id,
                serial,
                cents as f64 / 100.0,
                now,
                ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","),
                reason
            ])?;
        conn.last_insert_rowid()?
    };
    let total = refunded + cents;
    let pay_status = if total >= paid { "RF" } else { "OK" };
    conn.prepare_cached("UPDATE Payment SET refundedAmount=?, status=? WHERE id=?")?.execute(crate::params![
        total as f64 / 100.0,
        pay_status,
        pay_id
    ])?;
    let left: i64 =
        conn.query_row("SELECT COUNT(*) FROM Ticket WHERE orderId=? AND status IN ('OK','US')", [id], |r| r.get(0))?;
    let dscr = format!("退票: {} (¥{})", label_list.join(", "), money(cents));
    if left == 0 {
        hold::transition(conn, id, "PA", "RF")?;
    }
    hold::log(conn, id, "RF", actor, Some(&dscr), &now)?;
    // What is left was all used already: the order is complete.
    let unused: i64 =
        conn.query_row("SELECT COUNT(*) FROM Ticket WHERE orderId=? AND status='OK'", [id], |r| r.get(0))?;
    if left > 0 && unused == 0 && hold::transition(conn, id, "PA", "RE")? {
        hold::log(conn, id, "RE", actor, Some("其余的票都已检票"), &now)?;
    }
    Ok(json!({"refundId": refund_id, "serial": serial, "amount": money(cents)}))
}

/// Serves Payment and Refund (read-only: they are written by pay, notify and refund) and registers the
/// channel functions.
pub fn register(reg: &mut Registry, functions: &mut Functions) {
    use Role::*;
    reg.declare_private_setting(MOCK_SECRET_NAME);
    for table in ["Payment", "Refund"] {
        let decl = Decl::new(table).allow(&[Op::Get, Op::Query]);
        reg.register(table, &[User, Emp, Admin], Arc::new(PayRecord(decl)));
    }
    functions.add_receiving("payNotify", true, pay_notify, Receives { raw_body: true, headers: &[] });
    functions.add("payMock", false, pay_mock);
}

/// Payment or Refund: a buyer's own orders', a store's orders', or all (admin).
pub struct PayRecord(Decl);

impl Object for PayRecord {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        match ctx.auth.role() {
            Role::User => {
                let uid = ctx.auth.require_user()?;
                scope.sql("EXISTS (SELECT 1 FROM Ordr o WHERE o.id=t0.orderId AND o.userId=?)", vec![uid.into()]);
            }
            Role::Emp => {
                let s = my_store(ctx)?;
                scope.sql("EXISTS (SELECT 1 FROM Ordr o WHERE o.id=t0.orderId AND o.storeId=?)", vec![s.into()]);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_mock_signature_is_hmac_sha256_over_sorted_non_empty_fields() {
        let m = Mock::new(b"key");
        let fields = f(&[("status", "SUCCESS"), ("amount", "80.00"), ("serial", "P1"), ("tradeNo", ""), ("sign", "x")]);
        // RFC 2104 HMAC-SHA256 of "amount=80.00&serial=P1&status=SUCCESS" under "key".
        let mut mac = HmacSha256::new_from_slice(b"key").unwrap();
        mac.update(b"amount=80.00&serial=P1&status=SUCCESS");
        let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(m.sign(&fields), want);
        assert_eq!(want.len(), 64);
    }

    #[test]
    fn a_notice_verifies_only_with_its_own_signature() {
        let m = Mock::new(b"key");
        let mut fields = f(&[("serial", "P1"), ("tradeNo", "T9"), ("amount", "80.00"), ("status", "SUCCESS")]);
        let sign = m.sign(&fields);
        fields.push(("sign".into(), sign.clone()));
        let n = m.verify(&fields).unwrap();
        assert_eq!(n, Notice { serial: "P1".into(), trade_no: "T9".into(), cents: 8000, paid: true });
        let mut forged = fields.clone();
        forged[2].1 = "0.01".into();
        assert!(m.verify(&forged).is_none(), "a changed amount breaks the signature");
        assert!(Mock::new(b"other").verify(&fields).is_none(), "another key");
        let unsigned: Vec<_> = fields.iter().filter(|(k, _)| k != "sign").cloned().collect();
        assert!(m.verify(&unsigned).is_none());
    }

    #[test]
    fn serials_are_unique_and_carry_their_kind() {
        let s: std::collections::HashSet<String> = (0..500).map(|_| new_serial('P')).collect();
        assert!(s.len() > 495, "8 random digits per second");
        assert!(s.iter().all(|x| x.starts_with('P') && x.len() == 23));
    }
}
