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
use crate::reply::Reply;
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
    let argv = ctx.argv;
    if argv.len() % 2 == 1 {
        return ctx.reply().err(&format!(
            "ERR wrong number of arguments for '{}' command",
            name
        ));
    }
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.db, &argv[1]) else {
        return ctx.reply().err(errors::WRONGTYPE);
    };
    let mut created = 0;
    for pair in argv[2..].chunks(2) {
        if h.insert(pair[0].clone(), pair[1].clone()).is_none() {
            created += 1;
        }
    }
    let pairs = (argv.len() - 2) / 2;
    note_encoding(ctx.srv, ctx.db, &argv[1]);
    ctx.srv.cost.elements(pairs);
    ctx.srv.dirty += pairs as u64;
    if name == "hset" {
        ctx.reply().int(created);
    } else {
        ctx.reply().ok();
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
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.db, &argv[1]) else {
        return ctx.reply().err(errors::WRONGTYPE);
    };
    if h.contains_key(&argv[2]) {
        return ctx.reply().int(0);
    }
    h.insert(argv[2].clone(), argv[3].clone());
    note_encoding(ctx.srv, ctx.db, &argv[1]);
    ctx.srv.dirty += 1;
    ctx.reply().int(1);
}

fn hget_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(h) => match h.and_then(|h| h.get(&argv[2])).cloned() {
            Some(v) => ctx.reply().bulk(&v),
            None => ctx.reply().null(),
        },
    }
}

fn hmget_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let h = match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(h) => h,
    };
    let fields = &argv[2..];
    // Encoded aside: the hash is borrowed from the server that holds the client.
    let mut out = Reply::default();
    out.array(fields.len());
    for f in fields {
        match h.and_then(|h| h.get(f)) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
    ctx.reply().raw(&out.buf);
    ctx.srv.cost.elements(fields.len());
}

fn hdel_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let db = ctx.db;
    let h = match hash_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(h)) => h,
    };
    let mut deleted = 0;
    for f in &argv[2..] {
        if h.shift_remove(f).is_some() {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    delete_if_empty(ctx.srv, db, &argv[1]);
    ctx.srv.cost.elements(argv.len() - 2);
    ctx.srv.dirty += deleted as u64;
    ctx.reply().int(deleted);
}

fn hlen_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(h) => {
            let len = h.map_or(0, |h| h.len());
            ctx.reply().int(len as i64)
        }
    }
}

fn hstrlen_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(h) => {
            let len = h.and_then(|h| h.get(&argv[2])).map_or(0, |v| v.len());
            ctx.reply().int(len as i64)
        }
    }
}

fn hexists_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(h) => {
            let exists = h.is_some_and(|h| h.contains_key(&argv[2]));
            ctx.reply().int(i64::from(exists))
        }
    }
}

/// HKEYS, HVALS, HGETALL.
fn hgetall_generic(ctx: &mut Ctx, keys: bool, values: bool) {
    let argv = ctx.argv;
    let h = match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().array(0),
        Ok(Some(h)) => h,
    };
    let per_field = usize::from(keys) + usize::from(values);
    // Encoded aside: the hash is borrowed from the server that holds the client.
    let mut out = Reply::default();
    out.array(h.len() * per_field);
    for (k, v) in h.iter() {
        if keys {
            out.bulk(k);
        }
        if values {
            out.bulk(v);
        }
    }
    let len = h.len();
    ctx.reply().raw(&out.buf);
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
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.db, &argv[1]) else {
        return ctx.reply().err(errors::WRONGTYPE);
    };
    let current = match h.get(&argv[2]) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return ctx.reply().err("ERR hash value is not an integer"),
        },
    };
    let Some(new) = current.checked_add(incr) else {
        return ctx.reply().err(errors::INCR_OVERFLOW);
    };
    h.insert(argv[2].clone(), new.to_string().into_bytes());
    note_encoding(ctx.srv, ctx.db, &argv[1]);
    ctx.srv.dirty += 1;
    ctx.reply().int(new);
}

fn hincrbyfloat_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    // The arithmetic is Redis's 80-bit long double, shared with INCRBYFLOAT.
    let incr = match LongDouble::parse(&argv[3]) {
        None => return ctx.reply().err(errors::NOT_FLOAT),
        Some(v) if !v.is_finite() => return ctx.reply().err("ERR value is NaN or Infinity"),
        Some(v) => v,
    };
    let argv = ctx.argv;
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.db, &argv[1]) else {
        return ctx.reply().err(errors::WRONGTYPE);
    };
    let current = match h.get(&argv[2]) {
        None => LongDouble::ZERO,
        Some(v) => match LongDouble::parse(v) {
            Some(c) => c,
            None => return ctx.reply().err("ERR hash value is not a float"),
        },
    };
    let sum = current.sum(incr);
    if !sum.is_finite() {
        return ctx
            .reply()
            .err("ERR increment would produce NaN or Infinity");
    }
    let new = sum.to_human_string().into_bytes();
    h.insert(argv[2].clone(), new.clone());
    let db = ctx.db;
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
    ctx.reply().bulk(&new);
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
    let argv = ctx.argv;
    let count = match parse_i64(&argv[2]) {
        None => {
            ctx.reply().err(errors::NOT_INTEGER);
            return None;
        }
        Some(i64::MIN) => {
            ctx.reply().err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return None;
        }
        Some(n) => n,
    };
    let mut with = false;
    if let Some(flag) = with_flag {
        if argv.len() > 4 || (argv.len() == 4 && !eq_ic(&argv[3], flag)) {
            ctx.reply().err(errors::SYNTAX);
            return None;
        }
        with = argv.len() == 4;
    }
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        ctx.reply().err("ERR value is out of range");
        return None;
    }
    // FIXME: a huge negative count makes Redis build a reply of that many
    // elements until memory or the output buffer limit gives out (7.0.15's
    // SRANDMEMBER crashes at -LONG_MAX); redsim refuses instead of
    // allocating without bound.
    if count < -RAND_COUNT_MAX {
        ctx.reply().err("ERR value is out of range");
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
    let argv = ctx.argv;
    let parsed = if argv.len() >= 3 {
        match parse_rand_count(ctx, Some("withvalues")) {
            Some(p) => Some(p),
            None => return,
        }
    } else {
        None
    };
    let h = match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) if parsed.is_some() => return ctx.reply().array(0),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(h)) => h.clone(),
    };
    let Some((count, with_values)) = parsed else {
        let index = ctx.srv.rng.gen_range(0..h.len());
        let (field, _) = h.get_index(index).expect("index in range");
        return ctx.reply().bulk(field);
    };
    let indexes = rand_indexes(&mut ctx.srv.rng, h.len(), count);
    ctx.reply()
        .array(indexes.len() * if with_values { 2 } else { 1 });
    for &i in &indexes {
        let (field, value) = h.get_index(i).expect("index in range");
        ctx.reply().bulk(field);
        if with_values {
            ctx.reply().bulk(value);
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
    ctx.reply().array(2);
    ctx.reply().bulk_i64(next as i64);
    ctx.reply().bulks(out.iter());
}

/// Parses the cursor of a *SCAN command; replies on error.
pub(crate) fn scan_cursor(ctx: &mut Ctx) -> Option<u64> {
    let argv = ctx.argv;
    let cursor = parse_scan_cursor(&argv[2]);
    if cursor.is_none() {
        ctx.reply().err("ERR invalid cursor");
    }
    cursor
}

pub(crate) fn empty_scan(ctx: &mut Ctx) {
    ctx.reply().array(2);
    ctx.reply().bulk(b"0");
    ctx.reply().array(0);
}

fn hscan_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(cursor) = scan_cursor(ctx) else {
        return;
    };
    let limits = crate::debug::encoding_limits(ctx.srv);
    let h = match hash_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
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
    Command::new("hset", -4, WD | F, hset_command).with_keys(1, 1, 1),
    Command::new("hmset", -4, WD | F, hmset_command).with_keys(1, 1, 1),
    Command::new("hsetnx", 4, WD | F, hsetnx_command).with_keys(1, 1, 1),
    Command::new("hget", 3, R | F, hget_command).with_keys(1, 1, 1),
    Command::new("hmget", -3, R | F, hmget_command).with_keys(1, 1, 1),
    Command::new("hdel", -3, W | F, hdel_command).with_keys(1, 1, 1),
    Command::new("hlen", 2, R | F, hlen_command).with_keys(1, 1, 1),
    Command::new("hstrlen", 3, R | F, hstrlen_command).with_keys(1, 1, 1),
    Command::new("hexists", 3, R | F, hexists_command).with_keys(1, 1, 1),
    Command::new("hkeys", 2, R, hkeys_command).with_keys(1, 1, 1),
    Command::new("hvals", 2, R, hvals_command).with_keys(1, 1, 1),
    Command::new("hgetall", 2, R, hgetall_command).with_keys(1, 1, 1),
    Command::new("hincrby", 4, WD | F, hincrby_command).with_keys(1, 1, 1),
    Command::new("hincrbyfloat", 4, WD | F, hincrbyfloat_command).with_keys(1, 1, 1),
    Command::new("hrandfield", -2, R, hrandfield_command).with_keys(1, 1, 1),
    Command::new("hscan", -3, R, hscan_command).with_keys(1, 1, 1),
];
