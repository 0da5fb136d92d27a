//! Expiry: the active expire cycle (slow from serverCron, fast from
//! beforeSleep) with Redis 7.0's parameters, and the EXPIRE / TTL families.

use crate::commands::{Command, Ctx};
use crate::server::Server;

pub const ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP: u64 = 20;
pub const ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US: u64 = 1000;
pub const ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC: u64 = 25;
pub const ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE: u64 = 10;
pub const CRON_DBS_PER_CALL: usize = 16;

#[derive(Debug, Default, Clone)]
pub struct ExpireState {
    /// Next db the cycle visits (current_db in expire.c).
    pub current_db: usize,
    /// Did the last cycle stop on its time limit?
    pub timelimit_exit: bool,
    /// When the last fast cycle started (node clock, µs).
    pub last_fast_cycle_us: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CycleKind {
    Slow,
    Fast,
}

struct Effort {
    keys_per_loop: u64,
    fast_duration_us: u64,
    slow_time_perc: u64,
    acceptable_stale: u64,
}

fn effort(srv: &Server) -> Effort {
    let e = (srv.config.hot.active_expire_effort - 1).max(0) as u64;
    Effort {
        keys_per_loop: ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP + ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP / 4 * e,
        fast_duration_us: ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US + ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US / 4 * e,
        slow_time_perc: ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC + 2 * e,
        acceptable_stale: ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE - e,
    }
}

/// databasesCron: masters run the slow active expire cycle; replicas never
/// expire keys themselves.
pub fn databases_cron(srv: &mut Server) {
    if srv.repl.master.is_none() {
        active_expire_cycle(srv, CycleKind::Slow);
    }
}

/// beforeSleep's fast cycle, masters only.
pub fn active_expire_fast(srv: &mut Server) {
    if srv.repl.master.is_none() {
        active_expire_cycle(srv, CycleKind::Fast);
    }
}

fn active_expire_cycle(srv: &mut Server, kind: CycleKind) {
    let eff = effort(srv);
    if kind == CycleKind::Fast {
        let stale_enough = srv.stats.expired_stale_perc >= eff.acceptable_stale as f64;
        if !srv.expire.timelimit_exit && !stale_enough {
            return;
        }
        if srv.now_us < srv.expire.last_fast_cycle_us + eff.fast_duration_us * 2 {
            return;
        }
        srv.expire.last_fast_cycle_us = srv.now_us;
    }
    let timelimit_us = match kind {
        CycleKind::Slow => eff.slow_time_perc * 1_000_000 / srv.config.hot.hz as u64 / 100,
        CycleKind::Fast => eff.fast_duration_us,
    };
    let start_ns = srv.cost.ns();
    let dbs_per_call = CRON_DBS_PER_CALL.min(srv.dbs.len());
    let (mut total_sampled, mut total_expired) = (0u64, 0u64);
    srv.expire.timelimit_exit = false;
    'dbs: for _ in 0..dbs_per_call {
        let db = srv.expire.current_db % srv.dbs.len();
        srv.expire.current_db += 1;
        let mut iteration = 0u64;
        loop {
            if srv.dbs[db].expires.is_empty() {
                break;
            }
            iteration += 1;
            let (sampled, expired) = sample_db(srv, db, eff.keys_per_loop);
            total_sampled += sampled;
            total_expired += expired;
            if iteration & 0xf == 0 && (srv.cost.ns() - start_ns) / 1000 > timelimit_us {
                srv.expire.timelimit_exit = true;
                break 'dbs;
            }
            let repeat = sampled > 0 && expired * 100 / sampled > eff.acceptable_stale;
            if !repeat {
                break;
            }
        }
    }
    let current_perc = if total_sampled > 0 { total_expired as f64 / total_sampled as f64 } else { 0.0 };
    srv.stats.expired_stale_perc = current_perc * 0.05 + srv.stats.expired_stale_perc * 0.95;
}

/// Samples up to `count` keys with a TTL from the cursor; deletes the expired.
fn sample_db(srv: &mut Server, db: usize, count: u64) -> (u64, u64) {
    let (mut sampled, mut expired) = (0, 0);
    let now = srv.mstime();
    for _ in 0..count {
        let len = srv.dbs[db].expires.len();
        if len == 0 {
            break;
        }
        let index = srv.dbs[db].expires_cursor % len;
        let (key, when) = srv.dbs[db].expires.get_index(index).map(|(k, w)| (k.clone(), *w)).expect("in range");
        sampled += 1;
        srv.cost.elements(1);
        if now > when {
            srv.delete_expired_key_and_propagate(db, &key);
            expired += 1;
        } else {
            srv.dbs[db].expires_cursor = index + 1;
        }
    }
    (sampled, expired)
}

/// Command handlers of the EXPIRE and TTL families live here (t_string.rs
/// owns SET's EX/PX options).
pub const COMMANDS: &[Command] = &[];

#[allow(dead_code)]
fn _unused(_: &mut Ctx) {}
