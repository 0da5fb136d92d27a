//! Expiry: the active expire cycle (slow from serverCron, fast from
//! beforeSleep) with Redis 7.0's parameters, and the EXPIRE / TTL families.

use crate::commands::{flags, Command, Ctx};
use crate::reply::errors;
use crate::server::Server;
use crate::util::parse_i64;

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
        keys_per_loop: ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
            + ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP / 4 * e,
        fast_duration_us: ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US
            + ACTIVE_EXPIRE_CYCLE_FAST_DURATION_US / 4 * e,
        slow_time_perc: ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC + 2 * e,
        acceptable_stale: ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE - e,
    }
}

/// databasesCron: masters run the slow active expire cycle; replicas never
/// expire keys themselves.
pub fn databases_cron(srv: &mut Server) {
    if srv.repl.master.is_none() && srv.active_expire_enabled {
        active_expire_cycle(srv, CycleKind::Slow);
    }
}

/// beforeSleep's fast cycle, masters only.
pub fn active_expire_fast(srv: &mut Server) {
    if srv.repl.master.is_none() && srv.active_expire_enabled {
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
    let current_perc = if total_sampled > 0 {
        total_expired as f64 / total_sampled as f64
    } else {
        0.0
    };
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
        let (key, when) = srv.dbs[db]
            .expires
            .get_index(index)
            .map(|(k, w)| (k.clone(), *w))
            .expect("in range");
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

/// checkAlreadyExpired: an expire time at or before now deletes the key,
/// except while loading or on a replica, which wait for their master's DEL.
pub fn check_already_expired(srv: &Server, when_ms: i64) -> bool {
    when_ms <= srv.mstime() && !srv.loading && srv.repl.master.is_none()
}

const EXPIRE_NX: u32 = 1 << 0;
const EXPIRE_XX: u32 = 1 << 1;
const EXPIRE_GT: u32 = 1 << 2;
const EXPIRE_LT: u32 = 1 << 3;

/// parseExtendedExpireArgumentsOrReply: NX XX GT LT after the time.
fn parse_expire_flags(ctx: &mut Ctx) -> Option<u32> {
    let argv = ctx.argv;
    let mut f = 0;
    for opt in &argv[3..] {
        // Redis compares options as C strings: stop at a NUL byte.
        let text = &opt[..opt.iter().position(|&b| b == 0).unwrap_or(opt.len())];
        f |= match text.to_ascii_lowercase().as_slice() {
            b"nx" => EXPIRE_NX,
            b"xx" => EXPIRE_XX,
            b"gt" => EXPIRE_GT,
            b"lt" => EXPIRE_LT,
            _ => {
                ctx.reply().err(&format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(text)
                ));
                return None;
            }
        };
    }
    if f & EXPIRE_NX != 0 && f & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        ctx.reply()
            .err("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if f & EXPIRE_GT != 0 && f & EXPIRE_LT != 0 {
        ctx.reply()
            .err("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(f)
}

/// The absolute unix-ms time EXPIRE & co. ask for, with Redis's overflow checks.
fn expire_when_ms(ctx: &mut Ctx, basetime_ms: i64, seconds: bool, name: &str) -> Option<i64> {
    let argv = ctx.argv;
    let Some(mut when) = parse_i64(&argv[2]) else {
        ctx.reply().err(errors::NOT_INTEGER);
        return None;
    };
    let error = format!("ERR invalid expire time in '{}' command", name);
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            ctx.reply().err(&error);
            return None;
        }
        when *= 1000;
    }
    if when > i64::MAX - basetime_ms {
        ctx.reply().err(&error);
        return None;
    }
    Some(when + basetime_ms)
}

/// Do the NX/XX/GT/LT conditions allow replacing `current` (None: no TTL) by `when`?
fn expire_flags_allow(f: u32, current: Option<i64>, when: i64) -> bool {
    if f & EXPIRE_NX != 0 && current.is_some() {
        return false;
    }
    if f & EXPIRE_XX != 0 && current.is_none() {
        return false;
    }
    // No TTL counts as an infinite TTL: GT always fails, LT always passes.
    if f & EXPIRE_GT != 0 && current.is_none_or(|cur| when <= cur) {
        return false;
    }
    if f & EXPIRE_LT != 0 && current.is_some_and(|cur| when >= cur) {
        return false;
    }
    true
}

/// expireGenericCommand: `basetime_ms` is now for relative variants, 0 for *AT.
fn expire_generic(ctx: &mut Ctx, basetime_ms: i64, seconds: bool, name: &str) {
    let Some(f) = parse_expire_flags(ctx) else {
        return;
    };
    let Some(when) = expire_when_ms(ctx, basetime_ms, seconds, name) else {
        return;
    };
    let db = ctx.db;
    let key = ctx.argv[1].clone();
    if ctx.srv.lookup_write(db, &key).is_none() {
        ctx.reply().int(0);
        return;
    }
    if f != 0 && !expire_flags_allow(f, ctx.srv.get_expire(db, &key), when) {
        ctx.reply().int(0);
        return;
    }
    ctx.srv.dirty += 1;
    if check_already_expired(ctx.srv, when) {
        let deleted = ctx.srv.db_delete(db, &key);
        assert!(deleted, "EXPIRE found the key a moment ago");
        let cmd: &[u8] = if ctx.srv.config.bool("lazyfree-lazy-expire") {
            b"UNLINK"
        } else {
            b"DEL"
        };
        ctx.srv.also_propagate.push((db, vec![cmd.to_vec(), key]));
    } else {
        ctx.srv.set_expire(db, &key, when);
        // Replicas and the AOF get an absolute time, keeping the options.
        let mut argv = ctx.argv.to_vec();
        if name != "pexpireat" {
            argv[0] = b"PEXPIREAT".to_vec();
        }
        argv[2] = when.to_string().into_bytes();
        ctx.srv.also_propagate.push((db, argv));
    }
    ctx.reply().int(1);
}

fn expire_command(ctx: &mut Ctx) {
    let now = ctx.srv.mstime();
    expire_generic(ctx, now, true, "expire");
}

fn pexpire_command(ctx: &mut Ctx) {
    let now = ctx.srv.mstime();
    expire_generic(ctx, now, false, "pexpire");
}

fn expireat_command(ctx: &mut Ctx) {
    expire_generic(ctx, 0, true, "expireat");
}

fn pexpireat_command(ctx: &mut Ctx) {
    expire_generic(ctx, 0, false, "pexpireat");
}

/// ttlGenericCommand for TTL, PTTL, EXPIRETIME and PEXPIRETIME.
fn ttl_generic(ctx: &mut Ctx, output_ms: bool, output_abs: bool) {
    let argv = ctx.argv;
    let db = ctx.db;
    if ctx.srv.lookup_read_notouch(db, &argv[1]).is_none() {
        ctx.reply().int(-2);
        return;
    }
    let Some(expire) = ctx.srv.get_expire(db, &argv[1]) else {
        ctx.reply().int(-1);
        return;
    };
    let ttl = if output_abs {
        expire
    } else {
        expire - ctx.srv.mstime()
    }
    .max(0);
    ctx.reply()
        .int(if output_ms { ttl } else { (ttl + 500) / 1000 });
}

fn ttl_command(ctx: &mut Ctx) {
    ttl_generic(ctx, false, false);
}

fn pttl_command(ctx: &mut Ctx) {
    ttl_generic(ctx, true, false);
}

fn expiretime_command(ctx: &mut Ctx) {
    ttl_generic(ctx, false, true);
}

fn pexpiretime_command(ctx: &mut Ctx) {
    ttl_generic(ctx, true, true);
}

fn persist_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let db = ctx.db;
    if ctx.srv.lookup_write(db, &argv[1]).is_none() {
        ctx.reply().int(0);
        return;
    }
    if ctx.srv.dbs[db].expires.swap_remove(&argv[1]).is_some() {
        ctx.srv.dirty += 1;
        ctx.reply().int(1);
    } else {
        ctx.reply().int(0);
    }
}

pub const COMMANDS: &[Command] = &[
    Command::new("expire", -3, flags::WRITE | flags::FAST, expire_command).with_keys(1, 1, 1),
    Command::new("pexpire", -3, flags::WRITE | flags::FAST, pexpire_command).with_keys(1, 1, 1),
    Command::new("expireat", -3, flags::WRITE | flags::FAST, expireat_command).with_keys(1, 1, 1),
    Command::new(
        "pexpireat",
        -3,
        flags::WRITE | flags::FAST,
        pexpireat_command,
    )
    .with_keys(1, 1, 1),
    Command::new("ttl", 2, flags::READONLY | flags::FAST, ttl_command).with_keys(1, 1, 1),
    Command::new("pttl", 2, flags::READONLY | flags::FAST, pttl_command).with_keys(1, 1, 1),
    Command::new(
        "expiretime",
        2,
        flags::READONLY | flags::FAST,
        expiretime_command,
    )
    .with_keys(1, 1, 1),
    Command::new(
        "pexpiretime",
        2,
        flags::READONLY | flags::FAST,
        pexpiretime_command,
    )
    .with_keys(1, 1, 1),
    Command::new("persist", 2, flags::WRITE | flags::FAST, persist_command).with_keys(1, 1, 1),
];
