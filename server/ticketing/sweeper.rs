//! The hold sweeper: every `P_SWEEP_SECS` it cancels new orders whose hold has expired (state CA, OrderLog
//! actor system) and frees their seats and places, and completes paid orders whose showing has ended (RE). It is housekeeping, not a rule: an expired hold never
//! blocks a buyer even before it runs (`hold::hold_seats` takes expired seats, `Ordr.add` of general
//! admission expires the showing's holds first). Runs as a writer job, like a call.

use std::time::Duration;

use crate::config::Config;
use crate::error::ApiResult;
use crate::state::{AppState, Task};

/// The sweeper task, unless `P_SWEEP_SECS=0`.
pub fn tasks(config: &Config) -> Vec<Task> {
    if config.sweep_secs == 0 {
        return Vec::new();
    }
    vec![Task { name: "hold sweeper", every: Duration::from_secs(config.sweep_secs), run: sweep }]
}

/// Cancels the expired new orders and completes the ended paid ones (at most 1000 of each a run).
pub fn sweep(state: &AppState) -> ApiResult<()> {
    let (n, m) = state.db.writer().run("hold sweeper", |conn| {
        let now = crate::db::now_str();
        Ok((super::hold::expire_due(conn, super::hold::Due::All, &now)?, super::hold::complete_ended(conn, &now)?))
    })?;
    if n + m > 0 {
        log::info!("hold sweeper: cancelled {n} expired order(s), completed {m} order(s) of ended showings");
    }
    Ok(())
}
