//! maxmemory: the LRU clock and LFU counters kept in each key's header, the
//! eviction pool, the eight policies, and performEvictions as Redis 7.0 runs
//! it before every command (src/evict.c).

use rand::Rng;

use crate::server::Server;

/// 24 bits of LRU clock in each object header.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// The LRU clock ticks once a second.
pub const LRU_CLOCK_RESOLUTION_MS: u64 = 1000;
/// A new object's LFU counter, so that fresh keys are not evicted at once.
pub const LFU_INIT_VAL: u32 = 5;
/// Keys the eviction pool keeps between calls.
pub const EVPOOL_SIZE: usize = 16;
/// Virtual time to sample one key and score it for the pool.
const SAMPLE_NS: u64 = 100;

/// The eight maxmemory policies, as maxmemory-policy names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileTtl,
    VolatileRandom,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl Policy {
    pub fn from_name(name: &str) -> Policy {
        match name {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-ttl" => Policy::VolatileTtl,
            "volatile-random" => Policy::VolatileRandom,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }
    pub fn is_lru(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::AllkeysLru)
    }
    pub fn all_keys(self) -> bool {
        matches!(
            self,
            Policy::AllkeysLru | Policy::AllkeysLfu | Policy::AllkeysRandom
        )
    }
    fn uses_pool(self) -> bool {
        self.is_lru() || self.is_lfu() || self == Policy::VolatileTtl
    }
}

/// What performEvictions reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictResult {
    /// Under the limit (or nothing was needed).
    Ok,
    /// The time budget ran out; the eviction timer goes on.
    Running,
    /// Over the limit and nothing may be evicted.
    Fail,
}

#[derive(Debug, Clone)]
struct PoolEntry {
    idle: u64,
    db: usize,
    key: Vec<u8>,
}

/// Eviction state: the cached LRU clock, the pool, the timer.
#[derive(Debug, Clone, Default)]
pub struct EvictState {
    /// server.lruclock, refreshed by serverCron.
    pub lruclock: u32,
    /// Best candidates so far, ascending by score (EvictionPoolLRU).
    pool: Vec<PoolEntry>,
    /// Where the random policies start looking (next_db).
    next_db: usize,
    /// evictionTimeProc is scheduled (isEvictionProcRunning).
    pub timer_running: bool,
    /// Times evictionTimeProc ran.
    pub timer_runs: u64,
    /// Since when used memory has been over maxmemory (node clock, µs;
    /// stat_last_eviction_exceeded_time).
    exceeded_since_us: Option<u64>,
    /// Time spent over the limit in finished episodes, µs.
    exceeded_total_us: u64,
    /// The key the running command last looked up for writing under LFU,
    /// so that setKey counts one write access as Redis does (its caller's
    /// lookupKeyWrite, or its own).
    last_touch: Option<(usize, Vec<u8>)>,
}

impl EvictState {
    pub fn new(now_us: u64) -> EvictState {
        EvictState {
            lruclock: lru_clock_at(now_us),
            ..Default::default()
        }
    }
}

/// getLRUClock: the clock in seconds, 24 bits.
pub fn lru_clock_at(now_us: u64) -> u32 {
    ((now_us / 1000 / LRU_CLOCK_RESOLUTION_MS) & u64::from(LRU_CLOCK_MAX)) as u32
}

pub fn policy(srv: &Server) -> Policy {
    srv.config.hot.maxmemory_policy
}

/// LFUGetTimeInMinutes: 16 bits of unix minutes.
fn lfu_minutes(srv: &Server) -> u32 {
    ((srv.unixtime() / 60) & 0xffff) as u32
}

/// The header a new object gets (createObject).
pub fn new_object_lru(srv: &Server) -> u32 {
    if policy(srv).is_lfu() {
        (lfu_minutes(srv) << 8) | LFU_INIT_VAL
    } else {
        srv.evict.lruclock
    }
}

/// estimateObjectIdleTime in milliseconds, with the clock's wrap-around.
pub fn idle_ms(srv: &Server, lru: u32) -> u64 {
    let clock = srv.evict.lruclock;
    let ticks = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    u64::from(ticks) * LRU_CLOCK_RESOLUTION_MS
}

/// LFUDecrAndReturn: the counter after one decrement per lfu-decay-time
/// minutes since the last access (7.0 subtracts, it does not halve).
pub fn lfu_decr_and_return(srv: &Server, lru: u32) -> u32 {
    let ldt = lru >> 8;
    let counter = lru & 255;
    let now = lfu_minutes(srv);
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    let decay = srv.config.hot.lfu_decay_time;
    let periods = if decay > 0 {
        i64::from(elapsed) / decay
    } else {
        0
    };
    (i64::from(counter) - periods).max(0) as u32
}

/// LFULogIncr: a logarithmic counter, incremented with probability
/// 1/((counter - LFU_INIT_VAL) * lfu-log-factor + 1).
fn lfu_log_incr(srv: &mut Server, counter: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let r: f64 = srv.rng.gen::<f64>();
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * srv.config.hot.lfu_log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// The header after one access (updateLFU, or the LRU clock).
pub fn touched_lru(srv: &mut Server, old: u32) -> u32 {
    if policy(srv).is_lfu() {
        let counter = lfu_decr_and_return(srv, old);
        let counter = lfu_log_incr(srv, counter);
        (lfu_minutes(srv) << 8) | counter
    } else {
        srv.evict.lruclock
    }
}

/// lookupKey's access-time update. Not while a child is saving (it would
/// copy-on-write every page it touches), and not for NOTOUCH lookups.
pub fn touch(srv: &mut Server, db: usize, key: &[u8]) {
    if crate::child::has_active_child(srv) || written_this_command(srv, db, key) {
        return;
    }
    let Some(old) = srv.dbs[db].dict.get(key).map(|e| e.meta.lru) else {
        return;
    };
    let lru = touched_lru(srv, old);
    if let Some(e) = srv.dbs[db].dict.get_mut(key) {
        e.meta.lru = lru;
    }
}

/// lookupKeyWrite's access. Remembered under LFU: Redis looks a key up
/// for writing once per command (the caller, or setKey when the caller
/// did not: GETSET, MSET) and then works on the object it holds, while
/// redsim's handlers may look it up again after creating or storing it.
pub fn touch_write(srv: &mut Server, db: usize, key: &[u8]) {
    touch(srv, db, key);
    mark_written(srv, db, key);
}

fn mark_written(srv: &mut Server, db: usize, key: &[u8]) {
    if policy(srv).is_lfu() && !written_this_command(srv, db, key) {
        srv.evict.last_touch = Some((db, key.to_vec()));
    }
}

fn written_this_command(srv: &Server, db: usize, key: &[u8]) -> bool {
    srv.evict
        .last_touch
        .as_ref()
        .is_some_and(|(d, k)| *d == db && k == key)
}

/// A keyspace entry for a value created now (createObject's header), for
/// code that inserts into a dict directly (loading, DEBUG POPULATE).
pub fn new_entry(srv: &Server, value: crate::object::Value) -> crate::object::Entry {
    let mut entry = crate::object::Entry::new(value);
    entry.meta.lru = new_object_lru(srv);
    entry
}

/// The header for a value stored under `key` by setKey: a new object's,
/// except that under LFU an overwrite keeps the old counter after the write
/// lookup's access (dbOverwrite).
pub fn lru_for_set(srv: &mut Server, db: usize, key: &[u8]) -> u32 {
    let lru = match srv.dbs[db].dict.get(key).map(|e| e.meta.lru) {
        Some(old) if policy(srv).is_lfu() => {
            if written_this_command(srv, db, key) || crate::child::has_active_child(srv) {
                old
            } else {
                touched_lru(srv, old)
            }
        }
        _ => new_object_lru(srv),
    };
    mark_written(srv, db, key);
    lru
}

/// call() starts a command: forget the previous command's write lookup.
pub fn command_starts(srv: &mut Server) {
    srv.evict.last_touch = None;
}

/// RENAME and MOVE move the object itself, access data included.
pub fn keep_lru(srv: &mut Server, db: usize, key: &[u8], lru: u32) {
    if let Some(e) = srv.dbs[db].dict.get_mut(key) {
        e.meta.lru = lru;
    }
}

/// serverCron's part: refresh the cached LRU clock.
pub fn cron(srv: &mut Server) {
    srv.evict.lruclock = lru_clock_at(srv.now_us);
}

/// freeMemoryGetNotCountedMemory: replica output beyond the backlog (the
/// shared replication buffer) plus the AOF buffer.
pub fn not_counted_memory(srv: &Server) -> u64 {
    let backlog_size = srv.config.hot.repl_backlog_size_bytes.max(0) as u64;
    let replica_pending = srv
        .clients
        .values()
        .filter(|c| c.kind == crate::networking::ClientKind::Replica)
        .map(|c| c.reply.buf.len() as u64)
        .max()
        .unwrap_or(0);
    let repl_buffer = srv.repl.backlog_histlen().max(replica_pending);
    let mut overhead = 0;
    if repl_buffer > backlog_size {
        // The backlog's block headers count as part of it (replBufBlock + listNode per 16 KB).
        let counted = backlog_size + (backlog_size / (16 * 1024) + 1) * (48 + 24);
        overhead += repl_buffer.saturating_sub(counted);
    }
    overhead
}

/// getMaxmemoryState: Some(bytes to free) when over the limit.
pub fn bytes_to_free(srv: &Server) -> Option<u64> {
    let maxmemory = srv.config.hot.maxmemory_bytes.max(0) as u64;
    if maxmemory == 0 {
        return None;
    }
    let reported = crate::memory::stats(srv).used_memory;
    if reported <= maxmemory {
        return None;
    }
    let used = reported.saturating_sub(not_counted_memory(srv));
    (used > maxmemory).then(|| used - maxmemory)
}

/// evictionTimeLimitUs: from maxmemory-eviction-tenacity.
pub fn time_limit_us(tenacity: i64) -> u64 {
    if tenacity <= 10 {
        50 * tenacity.max(0) as u64
    } else if tenacity < 100 {
        (500.0 * 1.15f64.powi((tenacity - 10) as i32)) as u64
    } else {
        u64::MAX
    }
}

/// isSafeToPerformEvictions: not while loading, and a replica mirrors its
/// master unless replica-ignore-maxmemory is off.
fn safe_to_evict(srv: &Server) -> bool {
    if srv.loading {
        return false;
    }
    !(srv.repl.master.is_some() && srv.config.bool("replica-ignore-maxmemory"))
}

/// performEvictions: evict keys by the policy until under maxmemory, for at
/// most the tenacity's time budget (then the timer continues).
pub fn perform_evictions(srv: &mut Server) -> EvictResult {
    if !safe_to_evict(srv) {
        return EvictResult::Ok;
    }
    let result = match bytes_to_free(srv) {
        None => EvictResult::Ok,
        Some(_) if policy(srv) == Policy::NoEviction => EvictResult::Fail,
        Some(to_free) => evict_loop(srv, to_free),
    };
    update_exceeded_time(srv, result);
    result
}

/// The eviction-exceeded clock of INFO stats: it runs while evictions are
/// failing or unfinished.
fn update_exceeded_time(srv: &mut Server, result: EvictResult) {
    let now = srv.now_us;
    let e = &mut srv.evict;
    match (result, e.exceeded_since_us) {
        (EvictResult::Ok, Some(since)) => {
            e.exceeded_total_us += now.saturating_sub(since);
            e.exceeded_since_us = None;
        }
        (EvictResult::Running | EvictResult::Fail, None) => e.exceeded_since_us = Some(now),
        _ => {}
    }
}

/// (total_eviction_exceeded_time, current_eviction_exceeded_time) in ms.
pub fn exceeded_time_ms(srv: &Server) -> (u64, u64) {
    let current = srv
        .evict
        .exceeded_since_us
        .map_or(0, |since| srv.now_us.saturating_sub(since));
    (
        (srv.evict.exceeded_total_us + current) / 1000,
        current / 1000,
    )
}

/// CONFIG RESETSTAT.
pub fn reset_stats(srv: &mut Server) {
    srv.evict.exceeded_total_us = 0;
    srv.evict.exceeded_since_us = None;
}

/// The body of performEvictions once over the limit with a policy that
/// may evict.
/// Like Redis, only the keyspace's shrinking counts toward `to_free`: the
/// DELs' own propagation buffers would otherwise keep the loop going.
fn evict_loop(srv: &mut Server, to_free: u64) -> EvictResult {
    let pol = policy(srv);
    let limit_ns =
        time_limit_us(srv.config.int("maxmemory-eviction-tenacity")).saturating_mul(1000);
    let start_ns = srv.cost.ns();
    let lazy = srv.config.bool("lazyfree-lazy-eviction");
    let mut freed: u64 = 0;
    let mut keys_freed: u64 = 0;
    while freed < to_free {
        let Some((db, key)) = pick_key(srv, pol) else {
            wait_for_lazyfree(srv, limit_ns / 1000);
            return EvictResult::Fail;
        };
        let before = crate::memory::stats(srv).used_memory;
        evict_key(srv, db, &key, lazy);
        let after = crate::memory::stats(srv).used_memory;
        freed += before.saturating_sub(after);
        keys_freed += 1;
        if keys_freed.is_multiple_of(16) {
            if lazy && bytes_to_free(srv).is_none() {
                break;
            }
            if srv.cost.ns() - start_ns > limit_ns {
                srv.evict.timer_running = true;
                break;
            }
        }
    }
    if srv.evict.timer_running {
        EvictResult::Running
    } else {
        EvictResult::Ok
    }
}

/// Nothing left to evict: Redis sleeps up to the time budget in 1 ms naps
/// while the bio thread still frees objects, hoping memory drops. The
/// main thread stalls for that long (until the last job ends, at most the
/// budget); used_memory is only re-read by the next command.
fn wait_for_lazyfree(srv: &mut Server, limit_us: u64) {
    let Some(done_us) = crate::lazyfree::last_job_done_us(srv) else {
        return;
    };
    let wait_us = done_us.saturating_sub(srv.now_us).min(limit_us);
    srv.cost.block_us(wait_us);
}

/// Deletes one evicted key: the free (lazily under lazyfree-lazy-eviction),
/// the stats, WATCH, and the DEL/UNLINK sent to replicas and the AOF.
fn evict_key(srv: &mut Server, db: usize, key: &[u8], lazy: bool) {
    srv.db_delete_lazy(db, key, lazy);
    srv.stats.evicted_keys += 1;
    crate::multi::touch_watched_key(srv, db, key);
    let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
    crate::replication::propagate(srv, db, &[cmd.to_vec(), key.to_vec()]);
}

/// Chooses the next victim by the policy; None when no key qualifies.
fn pick_key(srv: &mut Server, pol: Policy) -> Option<(usize, Vec<u8>)> {
    if pol.uses_pool() {
        return pick_from_pool(srv, pol);
    }
    let n = srv.dbs.len();
    for _ in 0..n {
        srv.evict.next_db = srv.evict.next_db.wrapping_add(1);
        let db = srv.evict.next_db % n;
        let len = if pol.all_keys() {
            srv.dbs[db].dict.len()
        } else {
            srv.dbs[db].expires.len()
        };
        if len == 0 {
            continue;
        }
        let i = srv.rng.gen_range(0..len);
        let key = if pol.all_keys() {
            srv.dbs[db].dict.get_index(i).map(|(k, _)| k.clone())
        } else {
            srv.dbs[db].expires.get_index(i).map(|(k, _)| k.clone())
        };
        return key.map(|k| (db, k));
    }
    None
}

/// Fills the pool from every db, then takes the best candidate that still
/// exists (a key deleted since it was pooled is a ghost and skipped).
fn pick_from_pool(srv: &mut Server, pol: Policy) -> Option<(usize, Vec<u8>)> {
    loop {
        let mut total = 0;
        for db in 0..srv.dbs.len() {
            let len = if pol.all_keys() {
                srv.dbs[db].dict.len()
            } else {
                srv.dbs[db].expires.len()
            };
            if len > 0 {
                populate_pool(srv, pol, db);
                total += len;
            }
        }
        if total == 0 {
            return None;
        }
        while let Some(best) = srv.evict.pool.pop() {
            let d = &srv.dbs[best.db];
            let exists = if pol.all_keys() {
                d.dict.contains_key(&best.key)
            } else {
                d.expires.contains_key(&best.key)
            };
            if exists {
                return Some((best.db, best.key));
            }
        }
    }
}

/// dictGetSomeKeys stand-in: up to `count` distinct keys at random
/// positions (Redis walks adjacent hash buckets, which are unrelated to
/// insertion order; adjacent IndexMap slots are not, so positions are
/// drawn independently).
fn sample_indices(srv: &mut Server, len: usize, count: usize) -> Vec<usize> {
    if len <= count {
        return (0..len).collect();
    }
    let mut picked: Vec<usize> = Vec::with_capacity(count);
    while picked.len() < count {
        let i = srv.rng.gen_range(0..len);
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked
}

/// evictionPoolPopulate: score `maxmemory-samples` keys of one db and keep
/// the best EVPOOL_SIZE candidates, sorted by ascending score.
fn populate_pool(srv: &mut Server, pol: Policy, db: usize) {
    let samples = srv.config.int("maxmemory-samples").max(1) as usize;
    let len = if pol.all_keys() {
        srv.dbs[db].dict.len()
    } else {
        srv.dbs[db].expires.len()
    };
    let indices = sample_indices(srv, len, samples);
    srv.cost.add_ns(SAMPLE_NS * indices.len() as u64);
    for i in indices {
        let Some((key, idle)) = score(srv, pol, db, i) else {
            continue;
        };
        let pool = &mut srv.evict.pool;
        let k = pool
            .iter()
            .position(|e| e.idle >= idle)
            .unwrap_or(pool.len());
        let entry = PoolEntry { idle, db, key };
        if pool.len() < EVPOOL_SIZE {
            pool.insert(k, entry);
        } else if k > 0 {
            // Full: drop the worst candidate to make room.
            pool.remove(0);
            pool.insert(k - 1, entry);
        }
    }
}

/// The key at position `i` of the sampled dict and its score: higher is a
/// better victim (idle time, 255 - frequency, or sooner expiry).
fn score(srv: &Server, pol: Policy, db: usize, i: usize) -> Option<(Vec<u8>, u64)> {
    let d = &srv.dbs[db];
    if pol == Policy::VolatileTtl {
        let (k, &when) = d.expires.get_index(i)?;
        return Some((k.clone(), u64::MAX - when.max(0) as u64));
    }
    let key = if pol.all_keys() {
        d.dict.get_index(i)?.0
    } else {
        d.expires.get_index(i)?.0
    };
    let lru = d.dict.get(key)?.meta.lru;
    let idle = if pol.is_lru() {
        idle_ms(srv, lru)
    } else {
        255 - u64::from(lfu_decr_and_return(srv, lru))
    };
    Some((key.clone(), idle))
}

/// processCommand's maxmemory check: evict, then refuse deny-oom commands
/// (and anything but EXEC/DISCARD/QUIT/RESET inside MULTI) if still over.
/// Returns the error to reject with.
pub fn check_before_command(
    srv: &mut Server,
    conn: crate::ConnId,
    cmd: &crate::commands::Command,
) -> Option<&'static str> {
    if srv.config.hot.maxmemory_bytes <= 0 {
        return None;
    }
    let out_of_memory = perform_evictions(srv) == EvictResult::Fail;
    if !out_of_memory {
        return None;
    }
    let c = srv
        .clients
        .get(&conn)
        .expect("the running client is in the client table");
    let mut reject = cmd.flags & crate::commands::flags::DENYOOM != 0
        || (cmd.name == "exec" && queued_denyoom(srv, c));
    if c.in_multi && !matches!(cmd.name, "exec" | "discard" | "quit" | "reset") {
        reject = true;
    }
    reject.then_some(OOM_ERROR)
}

/// The reply Redis gives a refused command (shared.oomerr).
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Is any queued command of the transaction deny-oom (mstate.cmd_flags)?
fn queued_denyoom(srv: &Server, c: &crate::networking::Client) -> bool {
    c.mstate.iter().any(|argv| {
        srv.table
            .lookup(&argv[0])
            .and_then(|base| crate::commands::resolve(base, argv).ok())
            .is_some_and(|(cmd, _)| cmd.flags & crate::commands::flags::DENYOOM != 0)
    })
}

/// evictionTimeProc: keep evicting until under the limit or stuck.
pub fn timer_proc(srv: &mut Server) {
    if !srv.evict.timer_running {
        return;
    }
    srv.evict.timer_running = false;
    srv.evict.timer_runs += 1;
    // Between commands the memory model's regions (client buffers, tables)
    // lag until serverCron; the timer reads used_memory as INFO will.
    crate::memory::sync_regions(srv);
    if perform_evictions(srv) != EvictResult::Running {
        srv.evict.timer_running = false;
    }
}

/// CONFIG SET maxmemory: warn when already over, and start the timer.
pub fn maxmemory_changed(srv: &mut Server) {
    let maxmemory = srv.config.hot.maxmemory_bytes.max(0) as u64;
    if maxmemory == 0 {
        return;
    }
    let used = crate::memory::stats(srv)
        .used_memory
        .saturating_sub(not_counted_memory(srv));
    if maxmemory < used {
        srv.log(
            crate::LogLevel::Warning,
            format!("WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", maxmemory, used),
        );
    }
    srv.evict.timer_running = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_budget() {
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(1), 50);
        assert_eq!(time_limit_us(11), 575);
        assert_eq!(time_limit_us(100), u64::MAX);
    }

    #[test]
    fn lru_clock_wraps_at_24_bits() {
        assert_eq!(lru_clock_at(1_000_000), 1);
        assert_eq!(lru_clock_at((1u64 << 24) * 1_000_000 + 3_000_000), 3);
    }
}
