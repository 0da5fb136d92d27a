//! t_hash commands.
//!
//! Reply order: a listpack-encoded hash (the small case) lists fields in
//! insertion order, and deleting keeps the order of the rest, so `fields` is
//! an IndexMap updated with shift_remove. Once Redis converts a hash to a
//! hashtable its order is Redis's hash order, which redsim does not
//! reproduce (insertion order stands in; tests compare such replies sorted).

use crate::commands::{flags, Command, Ctx};
use crate::db::{parse_scan_cursor, parse_scan_options, ScanOptions};
use crate::object::{HashObj, Value};
use crate::reply::errors;
use crate::server::Server;
use crate::t_list::arg_i64;
use crate::t_string::LongDouble;
use crate::util::{eq_ic, glob_match, parse_i64};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn hash_write<'a>(
    srv: &'a mut Server,
    db: usize,
    key: &[u8],
) -> Result<Option<&'a mut HashObj>, ()> {
    match srv.lookup_write(db, key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(()),
    }
}

fn hash_read<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a HashObj>, ()> {
    match srv.lookup_read(db, key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(()),
    }
}

/// hashTypeLookupWriteOrCreate: Err(()) means the key holds another type.
fn hash_write_or_create<'a>(
    srv: &'a mut Server,
    db: usize,
    key: &[u8],
) -> Result<&'a mut HashObj, ()> {
    if hash_write(srv, db, key)?.is_none() {
        srv.set_key(db, key, Value::Hash(HashObj::default()), true);
    }
    Ok(hash_write(srv, db, key)?.expect("exists or just created"))
}

/// Records a one-way encoding conversion after a write (see object.rs).
pub(crate) fn note_encoding(srv: &mut Server, db: usize, key: &[u8]) {
    let limits = crate::debug::encoding_limits(srv);
    if let Some(v) = srv.dbs[db].dict.get_mut(key) {
        v.note_encoding(&limits);
    }
}

/// Deletes `key` if its collection became empty.
pub(crate) fn delete_if_empty(srv: &mut Server, db: usize, key: &[u8]) {
    if srv.dbs[db]
        .dict
        .get(key)
        .is_some_and(|v| v.element_count() == 0)
    {
        srv.db_delete(db, key);
    }
}

fn hset_generic(ctx: &mut Ctx, name: &str) {
    if ctx.argv.len() % 2 == 1 {
        return ctx.c.reply.err(&format!(
            "ERR wrong number of arguments for '{}' command",
            name
        ));
    }
    let argv = ctx.argv;
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.c.db, &argv[1]) else {
        return ctx.c.reply.err(errors::WRONGTYPE);
    };
    let mut created = 0;
    for pair in ctx.argv[2..].chunks(2) {
        if h.insert(pair[0].clone(), pair[1].clone()).is_none() {
            created += 1;
        }
    }
    let pairs = (ctx.argv.len() - 2) / 2;
    note_encoding(ctx.srv, ctx.c.db, &ctx.argv[1]);
    ctx.srv.cost.elements(pairs);
    ctx.srv.dirty += pairs as u64;
    if name == "hset" {
        ctx.c.reply.int(created);
    } else {
        ctx.c.reply.ok();
    }
}

fn hset_command(ctx: &mut Ctx) {
    hset_generic(ctx, "hset");
}
fn hmset_command(ctx: &mut Ctx) {
    hset_generic(ctx, "hmset");
}

fn hsetnx_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.c.db, &argv[1]) else {
        return ctx.c.reply.err(errors::WRONGTYPE);
    };
    if h.contains_key(&ctx.argv[2]) {
        return ctx.c.reply.int(0);
    }
    h.insert(ctx.argv[2].clone(), ctx.argv[3].clone());
    note_encoding(ctx.srv, ctx.c.db, &ctx.argv[1]);
    ctx.srv.dirty += 1;
    ctx.c.reply.int(1);
}

fn hget_command(ctx: &mut Ctx) {
    match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => ctx.c.reply.err(errors::WRONGTYPE),
        Ok(h) => match h.and_then(|h| h.get(&ctx.argv[2])) {
            Some(v) => ctx.c.reply.bulk(v),
            None => ctx.c.reply.null(),
        },
    }
}

fn hmget_command(ctx: &mut Ctx) {
    let h = match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => return ctx.c.reply.err(errors::WRONGTYPE),
        Ok(h) => h,
    };
    let fields = &ctx.argv[2..];
    ctx.c.reply.array(fields.len());
    for f in fields {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.c.reply.bulk(v),
            None => ctx.c.reply.null(),
        }
    }
    ctx.srv.cost.elements(fields.len());
}

fn hdel_command(ctx: &mut Ctx) {
    let db = ctx.c.db;
    let h = match hash_write(ctx.srv, db, &ctx.argv[1]) {
        Err(()) => return ctx.c.reply.err(errors::WRONGTYPE),
        Ok(None) => return ctx.c.reply.int(0),
        Ok(Some(h)) => h,
    };
    let mut deleted = 0;
    for f in &ctx.argv[2..] {
        if h.shift_remove(f).is_some() {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    delete_if_empty(ctx.srv, db, &ctx.argv[1]);
    ctx.srv.cost.elements(ctx.argv.len() - 2);
    ctx.srv.dirty += deleted as u64;
    ctx.c.reply.int(deleted);
}

fn hlen_command(ctx: &mut Ctx) {
    match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => ctx.c.reply.err(errors::WRONGTYPE),
        Ok(h) => ctx.c.reply.int(h.map_or(0, |h| h.len()) as i64),
    }
}

fn hstrlen_command(ctx: &mut Ctx) {
    match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => ctx.c.reply.err(errors::WRONGTYPE),
        Ok(h) => ctx
            .c
            .reply
            .int(h.and_then(|h| h.get(&ctx.argv[2])).map_or(0, |v| v.len()) as i64),
    }
}

fn hexists_command(ctx: &mut Ctx) {
    match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => ctx.c.reply.err(errors::WRONGTYPE),
        Ok(h) => ctx
            .c
            .reply
            .int(h.is_some_and(|h| h.contains_key(&ctx.argv[2])) as i64),
    }
}

/// HKEYS, HVALS, HGETALL.
fn hgetall_generic(ctx: &mut Ctx, keys: bool, values: bool) {
    let h = match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => return ctx.c.reply.err(errors::WRONGTYPE),
        Ok(None) => return ctx.c.reply.array(0),
        Ok(Some(h)) => h,
    };
    let per_field = usize::from(keys) + usize::from(values);
    ctx.c.reply.array(h.len() * per_field);
    for (k, v) in h.iter() {
        if keys {
            ctx.c.reply.bulk(k);
        }
        if values {
            ctx.c.reply.bulk(v);
        }
    }
    let len = h.len();
    ctx.srv.cost.elements(len);
}

fn hkeys_command(ctx: &mut Ctx) {
    hgetall_generic(ctx, true, false);
}
fn hvals_command(ctx: &mut Ctx) {
    hgetall_generic(ctx, false, true);
}
fn hgetall_command(ctx: &mut Ctx) {
    hgetall_generic(ctx, true, true);
}

fn hincrby_command(ctx: &mut Ctx) {
    let Some(incr) = arg_i64(ctx, 3) else { return };
    let argv = ctx.argv;
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.c.db, &argv[1]) else {
        return ctx.c.reply.err(errors::WRONGTYPE);
    };
    let current = match h.get(&ctx.argv[2]) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return ctx.c.reply.err("ERR hash value is not an integer"),
        },
    };
    let Some(new) = current.checked_add(incr) else {
        return ctx.c.reply.err(errors::INCR_OVERFLOW);
    };
    h.insert(ctx.argv[2].clone(), new.to_string().into_bytes());
    note_encoding(ctx.srv, ctx.c.db, &ctx.argv[1]);
    ctx.srv.dirty += 1;
    ctx.c.reply.int(new);
}

fn hincrbyfloat_command(ctx: &mut Ctx) {
    // The arithmetic is Redis's 80-bit long double, shared with INCRBYFLOAT.
    let incr = match LongDouble::parse(&ctx.argv[3]) {
        None => return ctx.c.reply.err(errors::NOT_FLOAT),
        Some(v) if !v.is_finite() => return ctx.c.reply.err("ERR value is NaN or Infinity"),
        Some(v) => v,
    };
    let argv = ctx.argv;
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.c.db, &argv[1]) else {
        return ctx.c.reply.err(errors::WRONGTYPE);
    };
    let current = match h.get(&argv[2]) {
        None => LongDouble::ZERO,
        Some(v) => match LongDouble::parse(v) {
            Some(c) => c,
            None => return ctx.c.reply.err("ERR hash value is not a float"),
        },
    };
    let sum = current.sum(incr);
    if !sum.is_finite() {
        return ctx
            .c
            .reply
            .err("ERR increment would produce NaN or Infinity");
    }
    let new = sum.to_human_string().into_bytes();
    h.insert(argv[2].clone(), new.clone());
    let db = ctx.c.db;
    note_encoding(ctx.srv, db, &argv[1]);
    ctx.srv.dirty += 1;
    // Redis 7.0 propagates the result, not the increment, so replicas and the
    // AOF never redo float arithmetic.
    ctx.srv.also_propagate.push((
        db,
        vec![
            b"HSET".to_vec(),
            argv[1].clone(),
            argv[2].clone(),
            new.clone(),
        ],
    ));
    ctx.c.reply.bulk(&new);
}

/// `count` distinct indexes out of `len`, ascending, so a sample keeps the
/// listpack order as Redis's lpRandomPairsUnique does.
pub(crate) fn sample_distinct(rng: &mut ChaCha8Rng, len: usize, count: usize) -> Vec<usize> {
    assert!(count <= len);
    let mut picked = std::collections::BTreeSet::new();
    // Floyd's algorithm: exactly `count` draws, no rejection loop.
    for j in (len - count)..len {
        let t = rng.gen_range(0..=j);
        if !picked.insert(t) {
            picked.insert(j);
        }
    }
    picked.into_iter().collect()
}

/// The largest repeat count *RANDMEMBER answers (see parse_rand_count).
const RAND_COUNT_MAX: i64 = 1 << 24;

/// Parses the count of HRANDFIELD/ZRANDMEMBER/SRANDMEMBER: a long in
/// [-LONG_MAX, LONG_MAX], and with the values/scores flag within half that.
pub(crate) fn parse_rand_count(ctx: &mut Ctx, with_flag: Option<&str>) -> Option<(i64, bool)> {
    let count = match parse_i64(&ctx.argv[2]) {
        None => {
            ctx.c.reply.err(errors::NOT_INTEGER);
            return None;
        }
        Some(i64::MIN) => {
            ctx.c.reply.err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return None;
        }
        Some(n) => n,
    };
    let mut with = false;
    if let Some(flag) = with_flag {
        if ctx.argv.len() > 4 || (ctx.argv.len() == 4 && !eq_ic(&ctx.argv[3], flag)) {
            ctx.c.reply.err(errors::SYNTAX);
            return None;
        }
        with = ctx.argv.len() == 4;
    }
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        ctx.c.reply.err("ERR value is out of range");
        return None;
    }
    // FIXME: a huge negative count makes Redis build a reply of that many
    // elements until memory or the output buffer limit gives out (7.0.15's
    // SRANDMEMBER crashes at -LONG_MAX); redsim refuses instead of
    // allocating without bound.
    if count < -RAND_COUNT_MAX {
        ctx.c.reply.err("ERR value is out of range");
        return None;
    }
    Some((count, with))
}

/// Indexes a *RANDMEMBER-style command returns for `count` out of `len`:
/// negative counts repeat, positive ones are distinct (all, in order, when
/// count covers the whole collection).
pub(crate) fn rand_indexes(rng: &mut ChaCha8Rng, len: usize, count: i64) -> Vec<usize> {
    if count < 0 {
        return (0..count.unsigned_abs())
            .map(|_| rng.gen_range(0..len))
            .collect();
    }
    let count = count as usize;
    if count >= len {
        return (0..len).collect();
    }
    sample_distinct(rng, len, count)
}

fn hrandfield_command(ctx: &mut Ctx) {
    let parsed = if ctx.argv.len() >= 3 {
        match parse_rand_count(ctx, Some("withvalues")) {
            Some(p) => Some(p),
            None => return,
        }
    } else {
        None
    };
    let h = match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => return ctx.c.reply.err(errors::WRONGTYPE),
        Ok(None) if parsed.is_some() => return ctx.c.reply.array(0),
        Ok(None) => return ctx.c.reply.null(),
        Ok(Some(h)) => h.clone(),
    };
    let Some((count, with_values)) = parsed else {
        let index = ctx.srv.rng.gen_range(0..h.len());
        let (field, _) = h.get_index(index).expect("index in range");
        return ctx.c.reply.bulk(field);
    };
    let indexes = rand_indexes(&mut ctx.srv.rng, h.len(), count);
    ctx.c
        .reply
        .array(indexes.len() * if with_values { 2 } else { 1 });
    for &i in &indexes {
        let (field, value) = h.get_index(i).expect("index in range");
        ctx.c.reply.bulk(field);
        if with_values {
            ctx.c.reply.bulk(value);
        }
    }
    ctx.srv.cost.elements(indexes.len());
}

/// The reply of HSCAN/SSCAN/ZSCAN over `items` (each a member and, for
/// hashes and zsets, its value). A compact encoding (listpack/intset) is
/// returned whole with cursor 0, ignoring COUNT, as Redis does; a hashtable
/// is walked by position (Redis walks buckets, whose order we cannot copy).
pub(crate) fn scan_reply(
    ctx: &mut Ctx,
    cursor: u64,
    opts: &ScanOptions,
    items: &[(Vec<u8>, Option<Vec<u8>>)],
    compact: bool,
) {
    let len = items.len();
    let (start, end) = if compact {
        (0, len)
    } else {
        let start = (cursor.min(len as u64)) as usize;
        (start, (start + opts.count).min(len))
    };
    let next = if end >= len { 0 } else { end };
    let mut out = Vec::new();
    for (member, value) in &items[start..end] {
        if let Some(p) = &opts.pattern {
            if !glob_match(p, member, false) {
                continue;
            }
        }
        out.push(member);
        if let Some(v) = value {
            out.push(v);
        }
    }
    ctx.srv.cost.elements(end - start);
    ctx.c.reply.array(2);
    ctx.c.reply.bulk_i64(next as i64);
    ctx.c.reply.bulks(out.iter());
}

/// Parses the cursor of a *SCAN command; replies on error.
pub(crate) fn scan_cursor(ctx: &mut Ctx) -> Option<u64> {
    let cursor = parse_scan_cursor(&ctx.argv[2]);
    if cursor.is_none() {
        ctx.c.reply.err("ERR invalid cursor");
    }
    cursor
}

pub(crate) fn empty_scan(ctx: &mut Ctx) {
    ctx.c.reply.array(2);
    ctx.c.reply.bulk(b"0");
    ctx.c.reply.array(0);
}

fn hscan_command(ctx: &mut Ctx) {
    let Some(cursor) = scan_cursor(ctx) else {
        return;
    };
    let limits = crate::debug::encoding_limits(ctx.srv);
    let h = match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => return ctx.c.reply.err(errors::WRONGTYPE),
        Ok(None) => return empty_scan(ctx),
        Ok(Some(h)) => h.clone(),
    };
    let Some(opts) = parse_scan_options(ctx, 3, false) else {
        return;
    };
    let compact = crate::object::encoding_of(&Value::Hash(h.clone()), &limits) == "listpack";
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = h
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    scan_reply(ctx, cursor, &opts, &items, compact);
}

const W: u32 = flags::WRITE;
const WD: u32 = flags::WRITE | flags::DENYOOM;
const R: u32 = flags::READONLY;
const F: u32 = flags::FAST;

pub const COMMANDS: &[Command] = &[
    Command::new("hset", -4, WD | F, hset_command),
    Command::new("hmset", -4, WD | F, hmset_command),
    Command::new("hsetnx", 4, WD | F, hsetnx_command),
    Command::new("hget", 3, R | F, hget_command),
    Command::new("hmget", -3, R | F, hmget_command),
    Command::new("hdel", -3, W | F, hdel_command),
    Command::new("hlen", 2, R | F, hlen_command),
    Command::new("hstrlen", 3, R | F, hstrlen_command),
    Command::new("hexists", 3, R | F, hexists_command),
    Command::new("hkeys", 2, R, hkeys_command),
    Command::new("hvals", 2, R, hvals_command),
    Command::new("hgetall", 2, R, hgetall_command),
    Command::new("hincrby", 4, WD | F, hincrby_command),
    Command::new("hincrbyfloat", 4, WD | F, hincrbyfloat_command),
    Command::new("hrandfield", -2, R, hrandfield_command),
    Command::new("hscan", -3, R, hscan_command),
];
