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
use crate::util::{eq_ic, glob_match, parse_i64};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn hash_write<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut HashObj>, ()> {
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
fn hash_write_or_create<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<&'a mut HashObj, ()> {
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
    if srv.dbs[db].dict.get(key).is_some_and(|v| v.element_count() == 0) {
        srv.db_delete(db, key);
    }
}

fn hset_generic(ctx: &mut Ctx, name: &str) {
    if ctx.argv.len() % 2 == 1 {
        return ctx.c.reply.err(&format!("ERR wrong number of arguments for '{}' command", name));
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
        Ok(h) => ctx.c.reply.int(h.and_then(|h| h.get(&ctx.argv[2])).map_or(0, |v| v.len()) as i64),
    }
}

fn hexists_command(ctx: &mut Ctx) {
    match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => ctx.c.reply.err(errors::WRONGTYPE),
        Ok(h) => ctx.c.reply.int(h.is_some_and(|h| h.contains_key(&ctx.argv[2])) as i64),
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
    use long_double::Parsed;
    let incr = match long_double::parse(&ctx.argv[3]) {
        None => return ctx.c.reply.err(errors::NOT_FLOAT),
        Some(Parsed::Infinite) => return ctx.c.reply.err("ERR value is NaN or Infinity"),
        Some(Parsed::Finite(v)) => v,
    };
    let argv = ctx.argv;
    let Ok(h) = hash_write_or_create(ctx.srv, ctx.c.db, &argv[1]) else {
        return ctx.c.reply.err(errors::WRONGTYPE);
    };
    let current = match h.get(&argv[2]).map(|v| long_double::parse(v)) {
        None => long_double::parse(b"0").expect("zero parses"),
        Some(None) => return ctx.c.reply.err("ERR hash value is not a float"),
        Some(Some(p)) => p,
    };
    let sum = match current {
        Parsed::Finite(c) => long_double::add(c, incr),
        Parsed::Infinite => None,
    };
    let Some(sum) = sum else {
        return ctx.c.reply.err("ERR increment would produce NaN or Infinity");
    };
    let new = long_double::format_human(sum).into_bytes();
    h.insert(argv[2].clone(), new.clone());
    let db = ctx.c.db;
    note_encoding(ctx.srv, db, &argv[1]);
    ctx.srv.dirty += 1;
    // Redis 7.0 propagates the result, not the increment, so replicas and the
    // AOF never redo float arithmetic.
    ctx.srv.also_propagate.push((db, vec![b"HSET".to_vec(), argv[1].clone(), argv[2].clone(), new.clone()]));
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
        return (0..count.unsigned_abs()).map(|_| rng.gen_range(0..len)).collect();
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
    ctx.c.reply.array(indexes.len() * if with_values { 2 } else { 1 });
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
pub(crate) fn scan_reply(ctx: &mut Ctx, cursor: u64, opts: &ScanOptions, items: &[(Vec<u8>, Option<Vec<u8>>)], compact: bool) {
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
    let Some(cursor) = scan_cursor(ctx) else { return };
    let limits = crate::debug::encoding_limits(ctx.srv);
    let h = match hash_read(ctx.srv, ctx.c.db, &ctx.argv[1]) {
        Err(()) => return ctx.c.reply.err(errors::WRONGTYPE),
        Ok(None) => return empty_scan(ctx),
        Ok(Some(h)) => h.clone(),
    };
    let Some(opts) = parse_scan_options(ctx, 3, false) else { return };
    let compact = crate::object::encoding_of(&Value::Hash(h.clone()), &limits) == "listpack";
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = h.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
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

/// HINCRBYFLOAT's arithmetic as Redis does it on x86-64: strtold into an
/// 80-bit long double (64-bit mantissa), one rounded addition, then
/// "%.17Lf" with trailing zeros trimmed. f64 would differ in the last
/// digits (0.1+0.2, 5000+0.001), so the format is emulated exactly with a
/// small big-integer type.
mod long_double {
    use std::cmp::Ordering;

    /// Unsigned big integer, little-endian base 2^32, no leading zero words.
    #[derive(Clone, Debug)]
    struct Big(Vec<u32>);

    impl Big {
        fn from_u64(v: u64) -> Big {
            let mut b = Big(vec![v as u32, (v >> 32) as u32]);
            b.trim();
            b
        }
        fn trim(&mut self) {
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
        }
        fn is_zero(&self) -> bool {
            self.0.is_empty()
        }
        fn bits(&self) -> usize {
            self.0.last().map_or(0, |top| (self.0.len() - 1) * 32 + (32 - top.leading_zeros() as usize))
        }
        fn bit(&self, i: usize) -> bool {
            self.0.get(i / 32).is_some_and(|w| (w >> (i % 32)) & 1 == 1)
        }
        /// Are any of the bits below `n` set?
        fn any_below(&self, n: usize) -> bool {
            let words = n / 32;
            self.0.iter().take(words).any(|&w| w != 0) || (n % 32 != 0 && self.0.get(words).is_some_and(|w| w & ((1u32 << (n % 32)) - 1) != 0))
        }
        fn mul_small_add(&mut self, m: u32, a: u32) {
            let mut carry = u64::from(a);
            for d in self.0.iter_mut() {
                let v = u64::from(*d) * u64::from(m) + carry;
                *d = v as u32;
                carry = v >> 32;
            }
            if carry > 0 {
                self.0.push(carry as u32);
            }
        }
        fn mul_pow10(&mut self, mut n: usize) {
            while n >= 9 {
                self.mul_small_add(1_000_000_000, 0);
                n -= 9;
            }
            self.mul_small_add(10u32.pow(n as u32), 0);
        }
        fn shl(&self, n: usize) -> Big {
            let (words, bits) = (n / 32, n % 32);
            let mut out = vec![0u32; words];
            let mut carry = 0u32;
            for &d in &self.0 {
                if bits == 0 {
                    out.push(d);
                } else {
                    out.push((d << bits) | carry);
                    carry = d >> (32 - bits);
                }
            }
            out.push(carry);
            let mut b = Big(out);
            b.trim();
            b
        }
        fn shr(&self, n: usize) -> Big {
            let (words, bits) = (n / 32, n % 32);
            let src = self.0.get(words..).unwrap_or(&[]);
            let out = (0..src.len())
                .map(|i| {
                    let hi = if bits > 0 && i + 1 < src.len() { src[i + 1] << (32 - bits) } else { 0 };
                    (src[i] >> bits) | hi
                })
                .collect();
            let mut b = Big(out);
            b.trim();
            b
        }
        fn cmp(&self, o: &Big) -> Ordering {
            self.0.len().cmp(&o.0.len()).then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
        }
        fn add(&self, o: &Big) -> Big {
            let mut out = Vec::with_capacity(self.0.len().max(o.0.len()) + 1);
            let mut carry = 0u64;
            for i in 0..self.0.len().max(o.0.len()) {
                let v = u64::from(*self.0.get(i).unwrap_or(&0)) + u64::from(*o.0.get(i).unwrap_or(&0)) + carry;
                out.push(v as u32);
                carry = v >> 32;
            }
            out.push(carry as u32);
            let mut b = Big(out);
            b.trim();
            b
        }
        /// self - o, for self >= o.
        fn sub(&self, o: &Big) -> Big {
            assert!(self.cmp(o) != Ordering::Less);
            let mut out = Vec::with_capacity(self.0.len());
            let mut borrow = 0i64;
            for i in 0..self.0.len() {
                let mut v = i64::from(self.0[i]) - i64::from(*o.0.get(i).unwrap_or(&0)) - borrow;
                borrow = i64::from(v < 0);
                if v < 0 {
                    v += 1 << 32;
                }
                out.push(v as u32);
            }
            let mut b = Big(out);
            b.trim();
            b
        }
        /// Quotient and whether the remainder is non-zero.
        fn div(&self, d: &Big) -> (Big, bool) {
            let mut q = vec![0u32; self.0.len()];
            let mut r = Big(Vec::new());
            for i in (0..self.bits()).rev() {
                r = r.shl(1);
                if self.bit(i) {
                    if r.0.is_empty() {
                        r.0.push(0);
                    }
                    r.0[0] |= 1;
                }
                if r.cmp(d) != Ordering::Less {
                    r = r.sub(d);
                    q[i / 32] |= 1 << (i % 32);
                }
            }
            let mut q = Big(q);
            q.trim();
            (q, !r.is_zero())
        }
        fn divmod_small(&mut self, d: u32) -> u32 {
            let mut rem = 0u64;
            for x in self.0.iter_mut().rev() {
                let cur = (rem << 32) | u64::from(*x);
                *x = (cur / u64::from(d)) as u32;
                rem = cur % u64::from(d);
            }
            self.trim();
            rem as u32
        }
        fn to_decimal(&self) -> String {
            let mut n = self.clone();
            let mut chunks = Vec::new();
            while !n.is_zero() {
                chunks.push(n.divmod_small(1_000_000_000));
            }
            let mut s = chunks.pop().map_or("0".to_string(), |c| c.to_string());
            for c in chunks.iter().rev() {
                s.push_str(&format!("{:09}", c));
            }
            s
        }
        fn low_u64(&self) -> u64 {
            u64::from(*self.0.first().unwrap_or(&0)) | (u64::from(*self.0.get(1).unwrap_or(&0)) << 32)
        }
    }

    /// A finite long double: (-1)^neg * mant * 2^exp.
    #[derive(Clone, Copy, Debug)]
    pub struct Ld {
        neg: bool,
        mant: u64,
        exp: i64,
    }

    /// The largest binary exponent of an x87 long double.
    const MAX_EXP: i64 = 16384;

    /// Rounds n * 2^exp to 64 significant bits, ties to even; None on overflow.
    fn round(neg: bool, n: &Big, exp: i64) -> Option<Ld> {
        let len = n.bits();
        if len <= 64 {
            return Some(Ld { neg, mant: n.low_u64(), exp });
        }
        let shift = len - 64;
        let mut q = n.shr(shift).low_u64() as u128;
        let half = n.bit(shift - 1);
        let sticky = n.any_below(shift - 1);
        if half && (sticky || q & 1 == 1) {
            q += 1;
        }
        let (mant, exp) = if q >> 64 != 0 { ((q >> 1) as u64, exp + shift as i64 + 1) } else { (q as u64, exp + shift as i64) };
        if exp + 64 > MAX_EXP {
            return None;
        }
        Some(Ld { neg, mant, exp })
    }

    pub enum Parsed {
        Finite(Ld),
        Infinite,
    }

    /// string2ld: strtold over the whole string, no leading space, no NaN,
    /// no overflow or underflow; decimal, hex ("0x1.8p3") or infinity.
    pub fn parse(s: &[u8]) -> Option<Parsed> {
        let text = std::str::from_utf8(s).ok()?;
        let (neg, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let lower = body.to_ascii_lowercase();
        if lower == "inf" || lower == "infinity" {
            return Some(Parsed::Infinite);
        }
        if let Some(hex) = lower.strip_prefix("0x") {
            return parse_hex(neg, hex);
        }
        let (mantissa, exp10) = match lower.split_once('e') {
            Some((m, e)) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let magnitude: i64 = digits.parse().unwrap_or(i64::MAX / 4).min(100_000);
                (m, if e.starts_with('-') { -magnitude } else { magnitude })
            }
            None => (lower.as_str(), 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int_part.len() + frac_part.len() == 0 || !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = format!("{}{}", int_part, frac_part);
        let digits = digits.trim_start_matches('0');
        let mut d = Big(Vec::new());
        for b in digits.bytes() {
            d.mul_small_add(10, u32::from(b - b'0'));
        }
        if d.is_zero() {
            return Some(Parsed::Finite(Ld { neg, mant: 0, exp: 0 }));
        }
        let k = exp10 - frac_part.len() as i64;
        let magnitude10 = digits.len() as i64 + k;
        if !(-4950..=4933).contains(&magnitude10) {
            return None;
        }
        if k >= 0 {
            d.mul_pow10(k as usize);
            return round(neg, &d, 0).map(Parsed::Finite);
        }
        let mut p = Big::from_u64(1);
        p.mul_pow10((-k) as usize);
        let s = (66 + p.bits()).saturating_sub(d.bits()) + 1;
        let (q, inexact) = d.shl(s).div(&p);
        // One extra low bit carries "inexact" below the rounding position.
        let q = q.shl(1).add(&Big::from_u64(u64::from(inexact)));
        round(neg, &q, -(s as i64) - 1).map(Parsed::Finite)
    }

    /// The digits after "0x": hex mantissa, optional fraction, optional "p" exponent.
    fn parse_hex(neg: bool, hex: &str) -> Option<Parsed> {
        let (mantissa, exp2) = match hex.split_once('p') {
            Some((m, e)) => (m, e.parse::<i64>().ok()?.clamp(-100_000, 100_000)),
            None => (hex, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int_part.len() + frac_part.len() == 0 {
            return None;
        }
        let mut h = Big(Vec::new());
        for c in int_part.chars().chain(frac_part.chars()) {
            h.mul_small_add(16, c.to_digit(16)?);
        }
        if h.is_zero() {
            return Some(Parsed::Finite(Ld { neg, mant: 0, exp: 0 }));
        }
        let exp = exp2 - 4 * frac_part.len() as i64;
        if exp + h.bits() as i64 > MAX_EXP || exp + (h.bits() as i64) < -16445 {
            return None;
        }
        round(neg, &h, exp).map(Parsed::Finite)
    }

    /// a + b rounded to a long double; None on overflow.
    pub fn add(a: Ld, b: Ld) -> Option<Ld> {
        if a.mant == 0 {
            return Some(if b.mant == 0 { Ld { neg: a.neg && b.neg, mant: 0, exp: 0 } } else { b });
        }
        if b.mant == 0 {
            return Some(a);
        }
        // Far apart, the smaller cannot reach half an ulp of the larger.
        let (top_a, top_b) = (a.exp + 64, b.exp + 64);
        if top_a > top_b + 130 {
            return Some(a);
        }
        if top_b > top_a + 130 {
            return Some(b);
        }
        let e = a.exp.min(b.exp);
        let x = Big::from_u64(a.mant).shl((a.exp - e) as usize);
        let y = Big::from_u64(b.mant).shl((b.exp - e) as usize);
        if a.neg == b.neg {
            return round(a.neg, &x.add(&y), e);
        }
        match x.cmp(&y) {
            Ordering::Equal => Some(Ld { neg: false, mant: 0, exp: 0 }),
            Ordering::Greater => round(a.neg, &x.sub(&y), e),
            Ordering::Less => round(b.neg, &y.sub(&x), e),
        }
    }

    /// "%.17Lf", then trailing zeros and a bare "-0" removed (ld2string's
    /// LD_STR_HUMAN mode).
    pub fn format_human(v: Ld) -> String {
        const DECIMALS: usize = 17;
        let mut n = Big::from_u64(v.mant);
        let digits = if v.exp >= 0 {
            let mut int = n.shl(v.exp as usize);
            int.mul_pow10(DECIMALS);
            int.to_decimal()
        } else {
            n.mul_pow10(DECIMALS);
            let shift = (-v.exp) as usize;
            let mut q = n.shr(shift);
            if n.bit(shift - 1) && (n.any_below(shift - 1) || q.bit(0)) {
                q = q.add(&Big::from_u64(1));
            }
            q.to_decimal()
        };
        let padded = format!("{:0>width$}", digits, width = DECIMALS + 1);
        let (int_part, frac_part) = padded.split_at(padded.len() - DECIMALS);
        let frac_part = frac_part.trim_end_matches('0');
        let mut s = if v.neg { "-".to_string() } else { String::new() };
        s.push_str(int_part);
        if !frac_part.is_empty() {
            s.push('.');
            s.push_str(frac_part);
        }
        if s == "-0" {
            "0".to_string()
        } else {
            s
        }
    }
}
