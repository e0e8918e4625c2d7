//! Login tokens (protocol decision §9.10): one random token per login, stored server-side as its
//! SHA-256 in the `Session` table, cached in memory.
//!
//! The token travels as the `{appType}id` cookie, as `Authorization: Bearer`, or through
//! `login(token)`. A token is valid only for the app type that created it, until its expiry or until
//! revoked (logout, password change). Because rows live in the database, sessions survive a restart;
//! the cache only saves the lookup, and is updated after the writing call commits.
//!
//! The cache is keyed by the token itself, not its digest: the digest protects the table and its
//! copies (backups, exports), while the process that holds the cache also holds every token it is
//! serving. A cached lookup then costs no SHA-256, which was an eighth of an `initClient`; the digest
//! is computed only when the table is read or written.

use std::sync::RwLock;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api::auth::{AppType, Login};
use crate::api::ctx::Ctx;
use crate::db::conn::Conn;
use crate::db::Db;
use crate::error::ApiResult;
use crate::query::SqlValue;
use crate::FastMap;

/// A cached session.
#[derive(Debug, Clone)]
struct Entry {
    login: Login,
    /// Unix seconds.
    expire: i64,
    /// When the token was issued (unix seconds).
    created: i64,
    /// `lastTm` as stored (unix seconds).
    seen: i64,
    /// When this entry was read from (or written to) the table (unix seconds).
    checked: i64,
}

/// The session cache, by token.
pub struct Sessions {
    cache: RwLock<FastMap<String, Entry>>,
    /// How long (seconds) a cached token is trusted before it is read from the table again. The table
    /// is the truth: a session revoked by another server instance, or by hand in the database, ends
    /// within this time (`P_SESSION_RECHECK`).
    recheck: i64,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(30)
    }
}

/// A newly issued token.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub session_id: i64,
    /// Lifetime in seconds (`_expire`).
    pub expire: i64,
}

/// `Session.lastTm` is refreshed at most this often, so that using a token is not a write per call.
pub const TOUCH_EVERY: i64 = 300;

/// True when a session last stored as seen at `seen` should have its `lastTm` written again.
pub fn touch_due(seen: i64, now: i64) -> bool {
    now - seen >= TOUCH_EVERY
}

/// Tokens kept in memory at most. The table is the truth; the cache only saves lookups, so when it is
/// full it drops expired entries, and if that is not enough starts over (entries reload on use).
const CACHE_CAP: usize = 20_000;

fn cache_insert(cache: &mut FastMap<String, Entry>, token: String, e: Entry) {
    if cache.len() >= CACHE_CAP {
        let t = now();
        cache.retain(|_, x| x.expire > t);
        if cache.len() >= CACHE_CAP {
            cache.clear();
        }
    }
    cache.insert(token, e);
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in Sha256::digest(token.as_bytes()) {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// Unix seconds now.
pub fn now() -> i64 {
    // A timestamp has no time zone: reading the local offset (as `chrono::Local::now` does) cost about
    // 2% of a call.
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Unix seconds as the protocol prints local time.
pub fn fmt_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| crate::db::datetime_text(&d.with_timezone(&chrono::Local).naive_local()))
        .unwrap_or_default()
}

/// Local `YYYY-MM-DD HH:MM:SS` as unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()?;
    t.and_local_timezone(chrono::Local).earliest().map(|d| d.timestamp())
}

impl Sessions {
    /// A cache that re-reads a token from the table after `recheck` seconds.
    pub fn new(recheck: i64) -> Sessions {
        Sessions { cache: RwLock::new(FastMap::default()), recheck }
    }

    /// The cache entry of a token (loaded from the database on a miss), if the token is live for `app_type`.
    fn find(&self, db: &Db, token: &str, app_type: AppType, t: i64) -> ApiResult<Option<Entry>> {
        if token.is_empty() || token.len() > 200 {
            return Ok(None);
        }
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .filter(|e| t - e.checked < self.recheck)
            .cloned();
        let entry = match cached {
            Some(e) => e,
            None => {
                let h = token_hash(token);
                let pooled = db.read()?;
                let conn = pooled.conn();
                let mut st = conn.prepare_cached(
                    "SELECT id, appType, userId, perms, expireTm, createTm, lastTm FROM Session \
                     WHERE tokenHash=? AND revokeTm IS NULL",
                )?;
                let row = st.query_opt([&h], |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<String>(1)?,
                        r.get::<i64>(2)?,
                        r.get::<Option<String>>(3)?,
                        r.get::<String>(4)?,
                        r.get::<Option<String>>(5)?,
                        r.get::<Option<String>>(6)?,
                    ))
                })?;
                let Some((sid, at, uid, perms, exp, created, last)) = row else {
                    self.cache.write().unwrap_or_else(|p| p.into_inner()).remove(token);
                    return Ok(None);
                };
                let created = created.as_deref().and_then(parse_time).unwrap_or(0);
                let e = Entry {
                    login: Login {
                        session_id: sid,
                        app_type: AppType::parse(&at),
                        id: uid,
                        roles: perms.unwrap_or_default(),
                    },
                    expire: parse_time(&exp).unwrap_or(0),
                    created,
                    seen: last.as_deref().and_then(parse_time).unwrap_or(created),
                    checked: t,
                };
                cache_insert(&mut self.cache.write().unwrap_or_else(|p| p.into_inner()), token.to_string(), e.clone());
                e
            }
        };
        if entry.expire <= t || entry.login.app_type != app_type {
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// The login a token stands for, if it is valid for `app_type`.
    pub fn lookup(&self, db: &Db, token: &str, app_type: AppType) -> ApiResult<Option<Login>> {
        Ok(self.find(db, token, app_type, now())?.map(|e| e.login))
    }

    /// Like `lookup`, and records the use in `Session.lastTm` when the stored time is older than
    /// `TOUCH_EVERY`. Called by the dispatcher before a call takes any connection; the write is
    /// skipped (and retried on a later call) when the writer's queue is full.
    pub fn lookup_and_touch(&self, db: &Db, token: &str, app_type: AppType) -> ApiResult<Option<Login>> {
        let t = now();
        let Some(e) = self.find(db, token, app_type, t)? else { return Ok(None) };
        if touch_due(e.seen, t) {
            // Housekeeping, not worth a wait: queue the update if the writer has room, else retry later.
            let sid = e.login.session_id;
            let job: crate::db::writer::Job = Box::new(move |conn: Conn| {
                let sql = "UPDATE Session SET lastTm=? WHERE id=?";
                if let Err(err) = conn.execute(sql, crate::params![fmt_time(t), sid]) {
                    log::warn!("session lastTm: {err}");
                }
                crate::db::writer::JobDone::kept()
            });
            if db.writer().try_submit(job) {
                if let Some(c) = self.cache.write().unwrap_or_else(|p| p.into_inner()).get_mut(token) {
                    c.seen = t;
                }
            }
        }
        Ok(Some(e.login))
    }

    /// When the token was issued and when it expires (unix seconds), if it is live.
    pub fn times(&self, db: &Db, token: &str, app_type: AppType) -> ApiResult<Option<(i64, i64)>> {
        Ok(self.find(db, token, app_type, now())?.map(|e| (e.created, e.expire)))
    }

    /// Issues a token for a login (inside the call's transaction; cached after commit).
    pub fn issue(ctx: &mut Ctx, app: &str, app_type: AppType, id: i64, roles: &str, life: i64) -> ApiResult<Issued> {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let h = token_hash(&token);
        let t = now();
        let sid = ctx.insert(
            "INSERT INTO Session (tokenHash, appType, app, userId, perms, createTm, lastTm, expireTm) VALUES (?,?,?,?,?,?,?,?)",
            &[
                SqlValue::Text(h),
                app_type.name().into(),
                app.into(),
                SqlValue::Int(id),
                roles.into(),
                fmt_time(t).into(),
                fmt_time(t).into(),
                fmt_time(t + life).into(),
            ],
        )?;
        let entry = Entry {
            login: Login { session_id: sid, app_type, id, roles: roles.to_string() },
            expire: t + life,
            created: t,
            seen: t,
            checked: t,
        };
        let key = token.clone();
        ctx.after_commit(move |st| {
            let mut cache = st.sessions.cache.write().unwrap_or_else(|p| p.into_inner());
            cache_insert(&mut cache, key, entry);
        });
        Ok(Issued { token, session_id: sid, expire: life })
    }

    /// Revokes sessions by condition: one session (`only`), or every session of an identity except `keep`.
    pub fn revoke(
        ctx: &mut Ctx,
        app_type: AppType,
        user_id: i64,
        only: Option<i64>,
        keep: Option<i64>,
    ) -> ApiResult<()> {
        let t = fmt_time(now());
        match only {
            Some(sid) => ctx.exec(
                "UPDATE Session SET revokeTm=? WHERE id=? AND revokeTm IS NULL",
                &[t.into(), SqlValue::Int(sid)],
            )?,
            None => ctx.exec(
                "UPDATE Session SET revokeTm=? WHERE appType=? AND userId=? AND id<>? AND revokeTm IS NULL",
                &[t.into(), app_type.name().into(), SqlValue::Int(user_id), SqlValue::Int(keep.unwrap_or(0))],
            )?,
        };
        ctx.after_commit(move |st| {
            st.sessions.cache.write().unwrap_or_else(|p| p.into_inner()).retain(|_, e| {
                let l = &e.login;
                let hit = match only {
                    Some(sid) => l.session_id == sid,
                    None => l.app_type == app_type && l.id == user_id && Some(l.session_id) != keep,
                };
                !hit
            });
        });
        Ok(())
    }

    /// Changes the roles of every live session of an employee (perms edits reach live sessions).
    pub fn set_roles(ctx: &mut Ctx, app_type: AppType, user_id: i64, roles: &str) -> ApiResult<()> {
        ctx.exec(
            "UPDATE Session SET perms=? WHERE appType=? AND userId=? AND revokeTm IS NULL",
            &[roles.into(), app_type.name().into(), SqlValue::Int(user_id)],
        )?;
        let roles = roles.to_string();
        ctx.after_commit(move |st| {
            for e in st.sessions.cache.write().unwrap_or_else(|p| p.into_inner()).values_mut() {
                if e.login.app_type == app_type && e.login.id == user_id {
                    e.login.roles = roles.clone();
                }
            }
        });
        Ok(())
    }

    /// After a bulk change (setIf/delIf) whose rows are not known: revokes live sessions of `app_type`
    /// whose account is gone, re-reads employees' perms, and lets cached sessions of that type reload.
    pub fn resync(ctx: &mut Ctx, app_type: AppType) -> ApiResult<()> {
        let Some(acc) = ctx.state.objects.accounts(app_type).copied() else { return Ok(()) };
        let table = acc.table;
        ctx.exec(
            &format!(
                "UPDATE Session SET revokeTm=? WHERE appType=? AND revokeTm IS NULL \
                 AND userId NOT IN (SELECT id FROM {table})"
            ),
            &[fmt_time(now()).into(), app_type.name().into()],
        )?;
        if let Some(roles) = acc.roles_col {
            ctx.exec(
                &format!(
                    "UPDATE Session SET perms=(SELECT a.{roles} FROM {table} a WHERE a.id=Session.userId) \
                     WHERE appType=? AND revokeTm IS NULL"
                ),
                &[app_type.name().into()],
            )?;
        }
        ctx.after_commit(move |st| {
            st.sessions.cache.write().unwrap_or_else(|p| p.into_inner()).retain(|_, e| e.login.app_type != app_type);
        });
        Ok(())
    }
}

/// The `Set-Cookie` value carrying a token (`None` clears it).
pub fn cookie(app_type: AppType, token: Option<&str>, life: i64) -> String {
    match token {
        Some(t) => format!("{}id={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={life}", app_type.name()),
        None => format!("{}id=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", app_type.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_cache_stays_bounded_and_drops_expired_entries_first() {
        let entry = |expire: i64| Entry {
            login: Login { session_id: 1, app_type: AppType::User, id: 1, roles: String::new() },
            expire,
            created: 0,
            seen: 0,
            checked: 0,
        };
        let mut c = FastMap::default();
        for i in 0..CACHE_CAP - 1 {
            cache_insert(&mut c, format!("old{i}"), entry(if i % 2 == 0 { 0 } else { i64::MAX }));
        }
        cache_insert(&mut c, "live".into(), entry(i64::MAX));
        cache_insert(&mut c, "next".into(), entry(i64::MAX));
        assert!(c.len() <= CACHE_CAP);
        assert!(c.contains_key("old1") && !c.contains_key("old0"), "expired ones go first");
        assert!(c.contains_key("next"));
    }

    #[test]
    fn last_use_is_written_at_most_every_five_minutes() {
        assert!(!touch_due(1000, 1000));
        assert!(!touch_due(1000, 1000 + TOUCH_EVERY - 1));
        assert!(touch_due(1000, 1000 + TOUCH_EVERY));
    }

    #[test]
    fn times_round_trip_through_their_stored_text() {
        let t = 1_700_000_000;
        assert_eq!(parse_time(&fmt_time(t)), Some(t));
        assert_eq!(parse_time("not a time"), None);
    }

    #[test]
    fn a_token_is_stored_as_a_digest_that_does_not_contain_it() {
        let h = token_hash("abc");
        assert_eq!(h.len(), 64);
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(token_hash("abd"), h);
    }
}
