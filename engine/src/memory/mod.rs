//! Memory accounting: the sizes Redis's allocator would hand out for keys and
//! values (jemalloc size classes), and MEMORY USAGE. The page model (fork,
//! copy-on-write, swap) builds on these sizes.

mod keys;
pub mod pages;

pub use keys::{
    db_emptied, flush_pending, key_read, key_removed, key_stored, key_write, place, rebuild,
    record_bytes,
};
use pages::{Alloc, Heap};

use crate::child::ChildKind;
use crate::commands::{flags, Command, Ctx};
use crate::object::Value;
use crate::reply::errors;
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};

/// jemalloc's size class for an allocation of `n` bytes (8, 16, 32, 48, 64,
/// 80, ... then four classes per power of two).
pub fn size_class(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let pow = usize::BITS - (n - 1).leading_zeros();
    let step = 1usize << (pow - 3);
    n.div_ceil(step) * step
}

/// An sds string of `len` bytes: header, bytes, NUL.
fn sds_bytes(len: usize) -> usize {
    let header = if len < 32 {
        1
    } else if len < 256 {
        3
    } else if len < 65536 {
        5
    } else {
        9
    };
    size_class(header + len + 1)
}

const ROBJ_BYTES: usize = 16;
const DICT_ENTRY_BYTES: usize = 24;

/// Bytes a value takes, the way objectComputeSize estimates it.
pub fn value_bytes(value: &Value) -> usize {
    match value {
        Value::Str(s) if s.len() <= 20 && parse_i64(s).is_some() => ROBJ_BYTES,
        Value::Str(s) if s.len() <= 44 => size_class(ROBJ_BYTES + 3 + s.len() + 1),
        Value::Str(s) => ROBJ_BYTES + sds_bytes(s.len()),
        Value::List(l) => {
            let entries: usize = l.iter().map(|e| e.len() + 2).sum();
            let nodes = entries / 8192 + 1;
            ROBJ_BYTES + 40 + nodes * (32 + size_class(entries / nodes + 7))
        }
        Value::Hash(h) => {
            ROBJ_BYTES + collection_bytes(h.iter().map(|(k, v)| k.len() + v.len()), h.len())
        }
        Value::Set(s) => ROBJ_BYTES + collection_bytes(s.iter().map(|m| m.len()), s.len()),
        Value::ZSet(z) => {
            ROBJ_BYTES + collection_bytes(z.scores.keys().map(|m| m.len() + 8), z.len())
        }
    }
}

/// A listpack for small collections, a dict of entries for large ones.
fn collection_bytes(sizes: impl Iterator<Item = usize>, count: usize) -> usize {
    let payload: usize = sizes.map(|n| n + 2).sum();
    if count <= 128 {
        size_class(payload + 7)
    } else {
        size_class(count.next_power_of_two() * 8) + count * (DICT_ENTRY_BYTES + 16) + payload
    }
}

/// Bytes a key and its value take in the keyspace.
pub fn key_usage_bytes(key: &[u8], value: &Value) -> usize {
    DICT_ENTRY_BYTES + sds_bytes(key.len()) + value_bytes(value)
}

fn memory_usage_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let mut j = 3;
    while j < argv.len() {
        if eq_ic(&argv[j], "samples") && j + 1 < argv.len() {
            if parse_i64(&argv[j + 1]).is_none() {
                return ctx.reply().err(errors::NOT_INTEGER);
            }
            j += 2;
        } else {
            return ctx.reply().err(errors::SYNTAX);
        }
    }
    let key = argv[2].clone();
    match ctx.srv.dbs[ctx.db].dict.get(&key) {
        None => ctx.reply().null(),
        Some(v) => {
            let bytes = key_usage_bytes(&key, v);
            ctx.reply().int(bytes as i64);
        }
    }
}

fn memory_help_command(ctx: &mut Ctx) {
    let lines = [
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply().simple_lines(&lines);
}

const MEMORY_SUBCOMMANDS: &[Command] = &[
    Command::new("usage", -3, flags::READONLY, memory_usage_command).with_keys(2, 2, 1),
    Command::new(
        "help",
        2,
        flags::STALE | flags::LOADING,
        memory_help_command,
    ),
];

pub const COMMANDS: &[Command] = &[Command::container("memory", -2, 0, MEMORY_SUBCOMMANDS)];

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn size_classes_like_jemalloc() {
        assert_eq!(size_class(1), 8);
        assert_eq!(size_class(17), 32);
        assert_eq!(size_class(129), 160);
        assert_eq!(size_class(1000), 1024);
        assert_eq!(size_class(1025), 1280);
        assert_eq!(
            key_usage_bytes(b"a", &Value::Str(b"hello".to_vec().into())),
            64
        );
    }
}

/// Memory outside the keyspace, laid out in 16 KiB blocks (the size of
/// Redis 7.0's replication buffer blocks) plus a tail allocation, so that
/// used_memory follows the server's state byte for byte while the pages
/// are reused as the region grows and shrinks.
#[derive(Debug, Clone, Default)]
struct Region {
    blocks: Vec<Alloc>,
    tail: Alloc,
    bytes: u64,
}

const REGION_BLOCK: u64 = 16 * 1024;

impl Region {
    fn resize(&mut self, heap: &mut Heap, bytes: u64) -> u64 {
        if bytes == self.bytes {
            return 0;
        }
        let mut back = 0;
        let full = (bytes / REGION_BLOCK) as usize;
        while self.blocks.len() > full {
            heap.free(self.blocks.pop().expect("len checked"));
        }
        while self.blocks.len() < full {
            let (a, b) = heap.alloc(REGION_BLOCK);
            self.blocks.push(a);
            back += b;
        }
        heap.free(std::mem::take(&mut self.tail));
        let rest = bytes % REGION_BLOCK;
        if rest > 0 {
            let (a, b) = heap.alloc(rest);
            self.tail = a;
            back += b;
        }
        self.bytes = bytes;
        back
    }

    /// Writes `len` bytes at ring position `pos` (the backlog's tail).
    fn write_ring(&self, heap: &mut Heap, pos: u64, len: u64) -> u64 {
        if self.blocks.is_empty() {
            return 0;
        }
        let size = self.blocks.len() as u64 * REGION_BLOCK;
        let mut back = 0;
        let mut done = 0;
        while done < len.min(size) {
            let at = (pos + done) % size;
            let block = self.blocks[(at / REGION_BLOCK) as usize];
            let chunk = (REGION_BLOCK - at % REGION_BLOCK).min(len - done);
            back += heap.touch(block.addr() + at % REGION_BLOCK, chunk, true);
            done += chunk;
        }
        back
    }
}

/// Redis 7.0.15's used_memory right after start-up (used_memory_startup).
pub const STARTUP_BYTES: u64 = 876_416;
/// A connected client's struct and what it owns besides its buffers
/// (20,496 bytes with the 16 KiB reply buffer of a new client).
const CLIENT_STRUCT_BYTES: u64 = 4_112;

/// One client's memory in the model: its struct, its reply buffer's
/// current size (clientsCron resizes it), its query buffer's capacity and
/// its pending reply bytes.
pub fn client_memory_bytes(c: &crate::networking::Client) -> u64 {
    CLIENT_STRUCT_BYTES
        + c.rbuf.usable_size_bytes as u64
        + c.querybuf.capacity() as u64
        + c.reply.buf.len() as u64
}

/// The copy-on-write figures the child reports (childinfo.c): samples
/// taken by serverCron while a child runs.
#[derive(Debug, Clone, Default)]
struct CowSamples {
    current: u64,
    peak: u64,
    sum: u64,
    count: u64,
    updated_us: u64,
}

/// The memory model's state (server.rs keeps it as `srv.mem`).
#[derive(Debug, Clone)]
pub struct MemState {
    pub heap: Heap,
    keys: keys::KeyTable,
    baseline: Region,
    backlog: Region,
    clients: Region,
    tables: Region,
    backlog_offset: i64,
    peak: u64,
    cow: CowSamples,
    /// The child's last COW report, logged by whoever handles its exit
    /// (the child prints it after its own success line).
    cow_report: Option<String>,
}

impl MemState {
    pub fn new(thp: bool, seed: u64) -> MemState {
        let mut heap = Heap::new(thp);
        let mut baseline = Region::default();
        baseline.resize(&mut heap, STARTUP_BYTES);
        let peak = heap.allocated;
        MemState {
            heap,
            keys: keys::KeyTable::new(seed),
            baseline,
            backlog: Region::default(),
            clients: Region::default(),
            tables: Region::default(),
            backlog_offset: 0,
            peak,
            cow: CowSamples::default(),
            cow_report: None,
        }
    }

    /// Keys the model accounts for.
    pub fn keys(&self) -> u64 {
        self.keys.keys
    }
}

/// zmalloc_used_memory: every allocation, in size classes. O(1).
pub fn used_memory(srv: &Server) -> u64 {
    srv.mem.heap.allocated
}

/// The peak of used_memory (Redis samples it in cron and INFO).
pub fn used_memory_peak(srv: &Server) -> u64 {
    srv.mem.peak.max(used_memory(srv))
}

/// Bytes of the regions that are overhead rather than dataset
/// (used_memory_overhead less the per-key dict entries Redis counts there).
pub fn overhead_bytes(srv: &Server) -> u64 {
    let m = &srv.mem;
    m.baseline.bytes + m.backlog.bytes + m.clients.bytes + m.tables.bytes
}

/// Resizes the regions that follow the server's state: the replication
/// backlog (and its writes since the last call, which dirty its tail
/// pages), client buffers, and the dicts' bucket tables and expires.
pub(crate) fn sync_regions(srv: &mut Server) {
    let histlen = srv.repl.backlog_histlen();
    let offset = srv.repl.master_repl_offset;
    let clients: u64 = srv.clients.values().map(|c| client_memory_bytes(c)).sum();
    let mut tables = 0u64;
    for d in &srv.dbs {
        for len in [d.dict.len(), d.expires.len()] {
            if len > 0 {
                tables += size_class(len.max(4).next_power_of_two() * 8) as u64;
            }
        }
        tables += d.expires.len() as u64 * 32;
    }
    let m = &mut srv.mem;
    let mut back = m.backlog.resize(&mut m.heap, histlen);
    let written = (offset - m.backlog_offset).max(0) as u64;
    back += m
        .backlog
        .write_ring(&mut m.heap, m.backlog_offset.max(0) as u64, written);
    m.backlog_offset = offset;
    back += m.clients.resize(&mut m.heap, clients);
    back += m.tables.resize(&mut m.heap, tables);
    m.peak = m.peak.max(m.heap.allocated);
    if back > 0 {
        srv.cost
            .block_us(back * srv.options.machine.swap_in_latency_us);
    }
}

/// serverCron's part: regions follow the state, the child's copy-on-write
/// is sampled, and a keyspace replaced without the hooks (a load) is
/// re-accounted.
pub fn cron(srv: &mut Server) {
    flush_pending(srv);
    if srv.total_keys() as u64 != srv.mem.keys.keys {
        rebuild(srv);
    }
    sync_regions(srv);
    if srv.child.is_some() {
        sample_cow(srv);
    }
}

fn sample_cow(srv: &mut Server) {
    let cow = &mut srv.mem.cow;
    cow.current = srv.mem.heap.copied_bytes();
    cow.peak = cow.peak.max(cow.current);
    cow.sum += cow.current;
    cow.count += 1;
    cow.updated_us = srv.now_us;
}

/// A child was just forked: every page is now shared with it.
pub fn fork_started(srv: &mut Server) {
    flush_pending(srv);
    sync_regions(srv);
    srv.mem.heap.share_all();
    srv.mem.cow = CowSamples::default();
}

/// The child ended: returns the bytes it had to copy (its private dirty
/// memory, the peak it reported), for rdb_last_cow_size /
/// aof_last_cow_size, and logs the child's last report as Redis 7.0 does
/// ("Fork CoW for RDB: current 12 MB, peak 12 MB, average 6 MB").
pub fn child_ended(srv: &mut Server, kind: ChildKind) -> u64 {
    flush_pending(srv);
    sample_cow(srv);
    let cow = std::mem::take(&mut srv.mem.cow);
    srv.mem.heap.unshare_all();
    let name = match kind {
        ChildKind::Rdb => "RDB",
        ChildKind::AofRewrite => "AOF rewrite",
    };
    let message = format!(
        "Fork CoW for {}: current {} MB, peak {} MB, average {} MB",
        name,
        cow.current >> 20,
        cow.peak >> 20,
        (cow.sum / cow.count.max(1)) >> 20
    );
    srv.mem.cow_report = Some(message);
    cow.peak
}

pub fn discard_cow_report(srv: &mut Server) {
    srv.mem.cow_report = None;
}

/// Logs the ended child's "Fork CoW for ..." line (sendChildCowInfo), once.
pub fn log_cow_report(srv: &mut Server) {
    if let Some(message) = srv.mem.cow_report.take() {
        srv.outputs.push_back(crate::Output::Log(crate::LogLine {
            level: crate::LogLevel::Notice,
            role: 'C',
            message,
        }));
    }
}

/// The current_cow_* fields of INFO persistence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CowInfo {
    pub current_cow_peak: u64,
    pub current_cow_size: u64,
    /// Seconds since the last sample (0 before the first one).
    pub current_cow_size_age: u64,
}

/// The copy-on-write figures of the running child (all zero without one).
pub fn cow_info(srv: &Server) -> CowInfo {
    let cow = &srv.mem.cow;
    if srv.child.is_none() || cow.count == 0 {
        return CowInfo::default();
    }
    CowInfo {
        current_cow_peak: cow.peak,
        current_cow_size: cow.current,
        current_cow_size_age: srv.now_us.saturating_sub(cow.updated_us) / 1_000_000,
    }
}

/// RSS outside the heap: the binary, libraries, stacks and the
/// allocator's own metadata (an idle Redis 7.0.15 has about 6.5 MB of RSS
/// for under 1 MB of used_memory).
pub const PROCESS_BASE_RSS: u64 = 5_767_168;

/// The figures of INFO memory.
#[derive(Debug, Clone, Copy)]
pub struct InfoFigures {
    pub used: u64,
    pub rss: u64,
    pub peak: u64,
    pub overhead: u64,
    pub startup: u64,
    pub active: u64,
    pub allocator_resident: u64,
}

pub fn info_figures(srv: &Server) -> InfoFigures {
    let heap = &srv.mem.heap;
    InfoFigures {
        used: heap.allocated,
        rss: heap.rss_bytes() + PROCESS_BASE_RSS,
        peak: used_memory_peak(srv),
        overhead: overhead_bytes(srv) + srv.mem.keys() * 24,
        startup: STARTUP_BYTES,
        active: heap.active_bytes(),
        allocator_resident: heap.rss_bytes(),
    }
}

/// The figures the machine needs (see [`crate::MemoryStats`]).
pub fn stats(srv: &Server) -> crate::MemoryStats {
    let heap = &srv.mem.heap;
    crate::MemoryStats {
        used_memory: heap.allocated,
        rss_bytes: heap.rss_bytes() + PROCESS_BASE_RSS,
        swapped_bytes: heap.swapped_bytes(),
        child_private_bytes: if srv.child.is_some() {
            heap.copied_bytes()
        } else {
            0
        },
        swap_in_pages: heap.swap_ins,
    }
}

/// Moves up to `bytes` of least recently used resident pages to swap.
pub fn swap_out(srv: &mut Server, bytes: u64) -> u64 {
    srv.mem.heap.swap_out(bytes)
}
