//! t_zset commands.
//!
//! Both Redis encodings (listpack and skiplist) iterate in (score, member)
//! order, so range replies are deterministic and redsim matches them; only
//! ZSCAN over a skiplist (Redis walks its dict) and the random commands
//! differ in order.

use crate::commands::{flags, Command, Ctx};
use crate::db::parse_scan_options;
use crate::object::{Value, ZSet};
use crate::reply::errors;
use crate::server::Server;
use crate::t_hash::{
    delete_if_empty, empty_scan, note_encoding, parse_rand_count, rand_indexes, scan_cursor,
    scan_reply,
};
use crate::t_list::arg_i64;
use crate::util::{eq_ic, format_double};

fn zset_write<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut ZSet>, ()> {
    match srv.lookup_write(db, key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(()),
    }
}

fn zset_read<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a ZSet>, ()> {
    match srv.lookup_read(db, key) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(()),
    }
}

/// C's strtod over the whole argument: returns the value and whether it
/// overflowed or underflowed (ERANGE). Accepts what glibc accepts: decimal,
/// hex ("0x1p4"), "inf"/"infinity", and with `leading_space` the leading
/// white space strtod skips. NaN is refused, as every Redis caller does.
fn strtod(arg: &[u8], leading_space: bool) -> Option<(f64, bool)> {
    let mut text = std::str::from_utf8(arg).ok()?;
    if leading_space {
        text = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    }
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = if lower == "inf" || lower == "infinity" {
        return Some((
            if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
            false,
        ));
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if lower.is_empty()
            || !lower
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'-' || b == b'+')
        {
            return None;
        }
        lower.parse::<f64>().ok()?
    };
    let mantissa = match lower.strip_prefix("0x") {
        Some(hex) => hex.split('p').next(),
        None => lower.split('e').next(),
    };
    let mantissa_nonzero = mantissa
        .unwrap_or("")
        .bytes()
        .any(|b| b.is_ascii_hexdigit() && b != b'0');
    let erange = magnitude.is_infinite() || (magnitude == 0.0 && mantissa_nonzero);
    Some((if negative { -magnitude } else { magnitude }, erange))
}

/// The part of a hex float after "0x": hex digits, an optional fraction and
/// an optional binary exponent ("p-3").
fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mantissa, exponent) = match hex.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (hex, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for d in int_part.chars().chain(frac_part.chars()) {
        value = value * 16.0 + f64::from(d.to_digit(16)?);
    }
    Some(value * 2f64.powi(exponent - 4 * frac_part.len() as i32))
}

/// getDoubleFromObject: no leading space, no overflow, no NaN.
fn parse_score(arg: &[u8]) -> Option<f64> {
    match strtod(arg, false) {
        Some((v, false)) => Some(v),
        _ => None,
    }
}

/// Records the encoding after a write and, for a listpack, stores -0 as 0:
/// a listpack keeps scores as strings and Redis writes -0 there as "0",
/// while a skiplist keeps the double's sign.
fn settle_zset(srv: &mut Server, db: usize, key: &[u8]) {
    note_encoding(srv, db, key);
    let limits = crate::debug::encoding_limits(srv);
    if let Some(v @ Value::ZSet(_)) = srv.dbs[db].dict.get_mut(key).map(|e| &mut e.value) {
        if crate::object::encoding_of(v, &limits) == "listpack" {
            let Value::ZSet(z) = v else {
                unreachable!("matched above")
            };
            normalize_negative_zero(z);
        }
    }
}

fn normalize_negative_zero(z: &mut ZSet) {
    let negative_zeros: Vec<Vec<u8>> = z
        .scores
        .iter()
        .filter(|(_, s)| **s == 0.0 && s.is_sign_negative())
        .map(|(m, _)| m.clone())
        .collect();
    for m in negative_zeros {
        z.insert(m, 0.0);
    }
}

/// ZADD's flags.
#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What zsetAdd did with one element.
enum AddOutcome {
    Added(f64),
    Updated(f64),
    Unchanged(f64),
    Skipped,
    NaN,
}

/// zsetAdd: adds or updates one member under ZADD's flags.
fn zset_add(z: &mut ZSet, member: &[u8], score: f64, f: AddFlags) -> AddOutcome {
    match z.score(member) {
        Some(current) => {
            if f.nx {
                return AddOutcome::Skipped;
            }
            let new = if f.incr { current + score } else { score };
            if new.is_nan() {
                return AddOutcome::NaN;
            }
            if (f.lt && new >= current) || (f.gt && new <= current) {
                return AddOutcome::Skipped;
            }
            if new == current {
                return AddOutcome::Unchanged(new);
            }
            z.insert(member.to_vec(), new);
            AddOutcome::Updated(new)
        }
        None => {
            if f.xx {
                return AddOutcome::Skipped;
            }
            z.insert(member.to_vec(), score);
            AddOutcome::Added(score)
        }
    }
}

/// Parses ZADD's options; returns the flags and the index of the first score.
fn parse_zadd_flags(argv: &[Vec<u8>]) -> (AddFlags, usize) {
    let mut f = AddFlags::default();
    let mut j = 2;
    while j < argv.len() {
        let a = &argv[j];
        if eq_ic(a, "nx") {
            f.nx = true;
        } else if eq_ic(a, "xx") {
            f.xx = true;
        } else if eq_ic(a, "gt") {
            f.gt = true;
        } else if eq_ic(a, "lt") {
            f.lt = true;
        } else if eq_ic(a, "ch") {
            f.ch = true;
        } else if eq_ic(a, "incr") {
            f.incr = true;
        } else {
            break;
        }
        j += 1;
    }
    (f, j)
}

fn zadd_generic(ctx: &mut Ctx, f: AddFlags, score_index: usize) {
    let (db, argv) = (ctx.db, ctx.argv);
    let elements = argv.len() - score_index;
    if elements % 2 == 1 || elements == 0 {
        return ctx.reply().err(errors::SYNTAX);
    }
    if f.nx && f.xx {
        return ctx
            .reply()
            .err("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx
            .reply()
            .err("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && elements > 2 {
        return ctx
            .reply()
            .err("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::with_capacity(elements / 2);
    for pair in argv[score_index..].chunks(2) {
        let Some(score) = parse_score(&pair[0]) else {
            return ctx.reply().err(errors::NOT_FLOAT);
        };
        pairs.push((score, &pair[1]));
    }
    let z = match zset_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(Some(z)) => z,
        Ok(None) if f.xx => return zadd_reply(ctx, f, 0, None),
        Ok(None) => {
            ctx.srv
                .set_key(db, &argv[1], Value::ZSet(ZSet::default()), true);
            zset_write(ctx.srv, db, &argv[1])
                .ok()
                .flatten()
                .expect("just created")
        }
    };
    let (mut added, mut updated, mut last_score) = (0, 0, None);
    let mut nan = false;
    for (score, member) in pairs.iter() {
        match zset_add(z, member, *score, f) {
            AddOutcome::Added(s) => {
                added += 1;
                last_score = Some(s);
            }
            AddOutcome::Updated(s) => {
                updated += 1;
                last_score = Some(s);
            }
            AddOutcome::Unchanged(s) => last_score = Some(s),
            AddOutcome::Skipped => {}
            AddOutcome::NaN => {
                nan = true;
                break;
            }
        }
    }
    settle_zset(ctx.srv, db, &argv[1]);
    // A ZADD XX/NX that changed nothing on a key it created leaves no key.
    delete_if_empty(ctx.srv, db, &argv[1]);
    ctx.srv.cost.elements(pairs.len());
    ctx.srv.dirty += (added + updated) as u64;
    if nan {
        return ctx.reply().err("ERR resulting score is not a number (NaN)");
    }
    zadd_reply(
        ctx,
        f,
        if f.ch { added + updated } else { added },
        last_score,
    );
}

fn zadd_reply(ctx: &mut Ctx, f: AddFlags, count: i64, score: Option<f64>) {
    if !f.incr {
        return ctx.reply().int(count);
    }
    match score {
        Some(s) => ctx.reply().bulk_double(s),
        None => ctx.reply().null(),
    }
}

fn zadd_command(ctx: &mut Ctx) {
    let (f, score_index) = parse_zadd_flags(ctx.argv);
    zadd_generic(ctx, f, score_index);
}

fn zincrby_command(ctx: &mut Ctx) {
    zadd_generic(
        ctx,
        AddFlags {
            incr: true,
            ..AddFlags::default()
        },
        2,
    );
}

fn zrem_command(ctx: &mut Ctx) {
    let (db, argv) = (ctx.db, ctx.argv);
    let z = match zset_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(z)) => z,
    };
    let mut removed = 0;
    for m in &argv[2..] {
        if z.remove(m).is_some() {
            removed += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    delete_if_empty(ctx.srv, db, &argv[1]);
    ctx.srv.cost.elements(argv.len() - 2);
    ctx.srv.dirty += removed as u64;
    ctx.reply().int(removed);
}

fn zcard_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(z) => {
            let n = z.map_or(0, |z| z.len()) as i64;
            ctx.reply().int(n)
        }
    }
}

fn zscore_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(z) => match z.and_then(|z| z.score(&argv[2])) {
            Some(s) => ctx.reply().bulk_double(s),
            None => ctx.reply().null(),
        },
    }
}

fn zmscore_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let z = match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(z) => z,
    };
    let members = &argv[2..];
    let scores: Vec<Option<f64>> = members.iter().map(|m| z.and_then(|z| z.score(m))).collect();
    ctx.reply().array(members.len());
    for score in scores {
        match score {
            Some(s) => ctx.reply().bulk_double(s),
            None => ctx.reply().null(),
        }
    }
    ctx.srv.cost.elements(members.len());
}

fn zrank_generic(ctx: &mut Ctx, reverse: bool) {
    let argv = ctx.argv;
    let z = match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(z)) => z,
    };
    let len = z.len();
    match z.rank(&argv[2]) {
        Some(r) => ctx
            .reply()
            .int(if reverse { len - 1 - r } else { r } as i64),
        None => ctx.reply().null(),
    }
    ctx.srv.cost.elements(len / 64);
}

fn zrank_command(ctx: &mut Ctx) {
    zrank_generic(ctx, false);
}
fn zrevrank_command(ctx: &mut Ctx) {
    zrank_generic(ctx, true);
}

/// A score interval as zslParseRange reads it ("(" makes a bound exclusive).
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

impl ScoreRange {
    fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }
    fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }
}

/// One bound as strtod reads it: the whole string must be consumed, and an
/// empty string reads as 0.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (exclusive, text) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    let value = if text.is_empty() {
        0.0
    } else {
        strtod(text, true)?.0
    };
    Some((value, exclusive))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, minex) = parse_score_bound(min)?;
    let (max, maxex) = parse_score_bound(max)?;
    Some(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// A lexicographic bound: "-", "+", "[x" or "(x".
#[derive(Clone)]
enum LexBound {
    NegInf,
    PosInf,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.first()? {
        b'+' if arg.len() == 1 => Some(LexBound::PosInf),
        b'-' if arg.len() == 1 => Some(LexBound::NegInf),
        b'(' => Some(LexBound::Exclusive(arg[1..].to_vec())),
        b'[' => Some(LexBound::Inclusive(arg[1..].to_vec())),
        _ => None,
    }
}

#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(x) => m >= x.as_slice(),
            LexBound::Exclusive(x) => m > x.as_slice(),
        }
    }
    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(x) => m <= x.as_slice(),
            LexBound::Exclusive(x) => m < x.as_slice(),
        }
    }
}

impl LexRange {
    /// zslIsInLexRange: a non-empty interval whose min is at most the last
    /// element and whose max is at least the first. Checking the ends rather
    /// than scanning matters when members have different scores (where
    /// Redis documents lex ranges as unspecified, but answers this way).
    fn may_intersect(&self, z: &ZSet) -> bool {
        let key = |b: &LexBound| match b {
            LexBound::NegInf => (0u8, Vec::new()),
            LexBound::Inclusive(x) | LexBound::Exclusive(x) => (1, x.clone()),
            LexBound::PosInf => (2, Vec::new()),
        };
        let exclusive = |b: &LexBound| matches!(b, LexBound::Exclusive(_));
        let (lo, hi) = (key(&self.min), key(&self.max));
        if lo > hi || (lo == hi && (exclusive(&self.min) || exclusive(&self.max))) {
            return false;
        }
        let (Some(first), Some(last)) = (z.ordered.first(), z.ordered.last()) else {
            return false;
        };
        self.gte_min(&last.1) && self.lte_max(&first.1)
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<LexRange> {
    Some(LexRange {
        min: parse_lex_bound(min)?,
        max: parse_lex_bound(max)?,
    })
}

/// The three ways to select a range.
#[derive(Clone)]
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// The elements a range selects, in reply order, after LIMIT offset/count
/// (a negative offset selects nothing, a negative count means all).
fn select_range(
    z: &ZSet,
    spec: &RangeSpec,
    reverse: bool,
    offset: i64,
    limit: i64,
) -> Vec<(Vec<u8>, f64)> {
    let asc = z.ordered.iter().map(|(s, m)| (m, s.0));
    let iter: Box<dyn Iterator<Item = (&Vec<u8>, f64)>> = if reverse {
        Box::new(asc.rev())
    } else {
        Box::new(asc)
    };
    let picked: Box<dyn Iterator<Item = (&Vec<u8>, f64)>> = match spec {
        RangeSpec::Rank(start, end) => {
            match crate::util::clamp_index_range(*start, *end, z.len()) {
                None => return Vec::new(),
                Some((from, to)) => Box::new(iter.skip(from).take(to - from + 1)),
            }
        }
        RangeSpec::Score(r) => {
            let r = *r;
            if reverse {
                Box::new(
                    iter.skip_while(move |(_, s)| !r.lte_max(*s))
                        .take_while(move |(_, s)| r.gte_min(*s)),
                )
            } else {
                Box::new(
                    iter.skip_while(move |(_, s)| !r.gte_min(*s))
                        .take_while(move |(_, s)| r.lte_max(*s)),
                )
            }
        }
        RangeSpec::Lex(r) if !r.may_intersect(z) => return Vec::new(),
        RangeSpec::Lex(r) => {
            let (r1, r2) = (r.clone(), r.clone());
            if reverse {
                Box::new(
                    iter.skip_while(move |(m, _)| !r1.lte_max(m))
                        .take_while(move |(m, _)| r2.gte_min(m)),
                )
            } else {
                Box::new(
                    iter.skip_while(move |(m, _)| !r1.gte_min(m))
                        .take_while(move |(m, _)| r2.lte_max(m)),
                )
            }
        }
    };
    if offset < 0 {
        return Vec::new();
    }
    let limit = if limit < 0 {
        usize::MAX
    } else {
        limit as usize
    };
    picked
        .skip(offset as usize)
        .take(limit)
        .map(|(m, s)| (m.clone(), s))
        .collect()
}

fn reply_scored(ctx: &mut Ctx, items: &[(Vec<u8>, f64)], with_scores: bool) {
    ctx.reply()
        .array(items.len() * if with_scores { 2 } else { 1 });
    for (m, s) in items {
        ctx.reply().bulk(m);
        if with_scores {
            ctx.reply().bulk_double(*s);
        }
    }
    ctx.srv.cost.elements(items.len());
}

/// Which command form is parsing: fixed range type/direction or ZRANGE's
/// options.
#[derive(Clone, Copy, PartialEq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

struct RangeRequest {
    spec: RangeSpec,
    reverse: bool,
    with_scores: bool,
    offset: i64,
    limit: i64,
}

/// zrangeGenericCommand's argument parsing; `first` is the source key's index.
fn parse_range_request(
    ctx: &mut Ctx,
    first: usize,
    store: bool,
    mut kind: RangeKind,
    fixed_reverse: Option<bool>,
) -> Option<RangeRequest> {
    let argv = ctx.argv;
    let (mut with_scores, mut offset, mut limit) = (false, 0, -1);
    let mut reverse = None;
    let mut j = first + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if !store && eq_ic(a, "withscores") {
            with_scores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            offset = arg_i64(ctx, j + 1)?;
            limit = arg_i64(ctx, j + 2)?;
            j += 2;
        } else if fixed_reverse.is_none() && eq_ic(a, "rev") {
            reverse = Some(true);
        } else if kind == RangeKind::Auto && eq_ic(a, "bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && eq_ic(a, "byscore") {
            kind = RangeKind::Score;
        } else {
            ctx.reply().err(errors::SYNTAX);
            return None;
        }
        j += 1;
    }
    let reverse = fixed_reverse.or(reverse).unwrap_or(false);
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    if limit != -1 && kind == RangeKind::Rank {
        ctx.reply().err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        return None;
    }
    if with_scores && kind == RangeKind::Lex {
        ctx.reply()
            .err("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    let (mut lo, mut hi) = (&argv[first + 1], &argv[first + 2]);
    if reverse && kind != RangeKind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let spec = match kind {
        RangeKind::Score => match parse_score_range(lo, hi) {
            Some(r) => RangeSpec::Score(r),
            None => {
                ctx.reply().err("ERR min or max is not a float");
                return None;
            }
        },
        RangeKind::Lex => match parse_lex_range(lo, hi) {
            Some(r) => RangeSpec::Lex(r),
            None => {
                ctx.reply()
                    .err("ERR min or max not valid string range item");
                return None;
            }
        },
        _ => RangeSpec::Rank(arg_i64(ctx, first + 1)?, arg_i64(ctx, first + 2)?),
    };
    Some(RangeRequest {
        spec,
        reverse,
        with_scores,
        offset,
        limit,
    })
}

fn zrange_generic(ctx: &mut Ctx, kind: RangeKind, fixed_reverse: Option<bool>) {
    let argv = ctx.argv;
    let Some(req) = parse_range_request(ctx, 1, false, kind, fixed_reverse) else {
        return;
    };
    let z = match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().array(0),
        Ok(Some(z)) => z,
    };
    let items = select_range(z, &req.spec, req.reverse, req.offset, req.limit);
    reply_scored(ctx, &items, req.with_scores);
}

fn zrange_command(ctx: &mut Ctx) {
    zrange_generic(ctx, RangeKind::Auto, None);
}
fn zrevrange_command(ctx: &mut Ctx) {
    zrange_generic(ctx, RangeKind::Rank, Some(true));
}
fn zrangebyscore_command(ctx: &mut Ctx) {
    zrange_generic(ctx, RangeKind::Score, Some(false));
}
fn zrevrangebyscore_command(ctx: &mut Ctx) {
    zrange_generic(ctx, RangeKind::Score, Some(true));
}
fn zrangebylex_command(ctx: &mut Ctx) {
    zrange_generic(ctx, RangeKind::Lex, Some(false));
}
fn zrevrangebylex_command(ctx: &mut Ctx) {
    zrange_generic(ctx, RangeKind::Lex, Some(true));
}

/// Stores a computed sorted set at `dst` (or deletes `dst` when empty) and
/// replies with its size. A stored result gets the encoding a fresh value of
/// its content would have, as zsetConvertToListpackIfNeeded gives it.
fn store_zset(ctx: &mut Ctx, dst: &[u8], result: ZSet) {
    let db = ctx.db;
    let len = result.len();
    if len > 0 {
        ctx.srv.set_key(db, dst, Value::ZSet(result), false);
        settle_zset(ctx.srv, db, dst);
        ctx.srv.dirty += 1;
    } else if ctx.srv.db_delete(db, dst) {
        ctx.srv.dirty += 1;
    }
    ctx.reply().int(len as i64);
}

fn zrangestore_command(ctx: &mut Ctx) {
    let Some(req) = parse_range_request(ctx, 2, true, RangeKind::Auto, None) else {
        return;
    };
    let argv = ctx.argv;
    let items = match zset_read(ctx.srv, ctx.db, &argv[2]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => Vec::new(),
        Ok(Some(z)) => select_range(z, &req.spec, req.reverse, req.offset, req.limit),
    };
    ctx.srv.cost.elements(items.len());
    let mut result = ZSet::default();
    for (m, s) in items {
        result.insert(m, s);
    }
    store_zset(ctx, &argv[1], result);
}

fn zcount_generic(ctx: &mut Ctx, lex: bool) {
    let argv = ctx.argv;
    let spec = if lex {
        match parse_lex_range(&argv[2], &argv[3]) {
            Some(r) => RangeSpec::Lex(r),
            None => {
                return ctx
                    .reply()
                    .err("ERR min or max not valid string range item")
            }
        }
    } else {
        match parse_score_range(&argv[2], &argv[3]) {
            Some(r) => RangeSpec::Score(r),
            None => return ctx.reply().err("ERR min or max is not a float"),
        }
    };
    let z = match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(z)) => z,
    };
    let count = select_range(z, &spec, false, 0, -1).len();
    ctx.srv.cost.elements(count / 64);
    ctx.reply().int(count as i64);
}

fn zcount_command(ctx: &mut Ctx) {
    zcount_generic(ctx, false);
}
fn zlexcount_command(ctx: &mut Ctx) {
    zcount_generic(ctx, true);
}

fn zremrange_generic(ctx: &mut Ctx, kind: RangeKind) {
    let argv = ctx.argv;
    let spec = match kind {
        RangeKind::Score => match parse_score_range(&argv[2], &argv[3]) {
            Some(r) => RangeSpec::Score(r),
            None => return ctx.reply().err("ERR min or max is not a float"),
        },
        RangeKind::Lex => match parse_lex_range(&argv[2], &argv[3]) {
            Some(r) => RangeSpec::Lex(r),
            None => {
                return ctx
                    .reply()
                    .err("ERR min or max not valid string range item")
            }
        },
        _ => {
            let Some(start) = arg_i64(ctx, 2) else { return };
            let Some(end) = arg_i64(ctx, 3) else { return };
            RangeSpec::Rank(start, end)
        }
    };
    let db = ctx.db;
    let z = match zset_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(z)) => z,
    };
    let doomed = select_range(z, &spec, false, 0, -1);
    for (m, _) in &doomed {
        z.remove(m);
    }
    delete_if_empty(ctx.srv, db, &argv[1]);
    ctx.srv.cost.elements(doomed.len());
    ctx.srv.dirty += doomed.len() as u64;
    ctx.reply().int(doomed.len() as i64);
}

fn zremrangebyrank_command(ctx: &mut Ctx) {
    zremrange_generic(ctx, RangeKind::Rank);
}
fn zremrangebyscore_command(ctx: &mut Ctx) {
    zremrange_generic(ctx, RangeKind::Score);
}
fn zremrangebylex_command(ctx: &mut Ctx) {
    zremrange_generic(ctx, RangeKind::Lex);
}

fn zpop_generic(ctx: &mut Ctx, max: bool) {
    if ctx.argv.len() > 3 {
        return ctx.reply().err(errors::SYNTAX);
    }
    let count = if ctx.argv.len() == 3 {
        match crate::t_list::arg_positive(ctx, 2) {
            Some(n) => n,
            None => return,
        }
    } else {
        1
    };
    let (db, argv) = (ctx.db, ctx.argv);
    let z = match zset_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().array(0),
        Ok(Some(z)) => z,
    };
    let take = count.min(z.len());
    let picked: Vec<(Vec<u8>, f64)> = if max {
        z.ordered
            .iter()
            .rev()
            .take(take)
            .map(|(s, m)| (m.clone(), s.0))
            .collect()
    } else {
        z.ordered
            .iter()
            .take(take)
            .map(|(s, m)| (m.clone(), s.0))
            .collect()
    };
    for (m, _) in &picked {
        z.remove(m);
    }
    delete_if_empty(ctx.srv, db, &argv[1]);
    ctx.srv.dirty += picked.len() as u64;
    reply_scored(ctx, &picked, true);
}

fn zpopmin_command(ctx: &mut Ctx) {
    zpop_generic(ctx, false);
}
fn zpopmax_command(ctx: &mut Ctx) {
    zpop_generic(ctx, true);
}

fn zrandmember_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let parsed = if argv.len() >= 3 {
        match parse_rand_count(ctx, Some("withscores")) {
            Some(p) => Some(p),
            None => return,
        }
    } else {
        None
    };
    let items: Vec<(Vec<u8>, f64)> = match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) if parsed.is_some() => return ctx.reply().array(0),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(z)) => z.ordered.iter().map(|(s, m)| (m.clone(), s.0)).collect(),
    };
    let Some((count, with_scores)) = parsed else {
        use rand::Rng;
        let index = ctx.srv.rng.gen_range(0..items.len());
        return ctx.reply().bulk(&items[index].0);
    };
    // Asking for at least the whole set returns it by descending rank, as
    // Redis answers that case with a reversed ZRANGE.
    let indexes = if count >= items.len() as i64 {
        (0..items.len()).rev().collect()
    } else {
        rand_indexes(&mut ctx.srv.rng, items.len(), count)
    };
    let picked: Vec<(Vec<u8>, f64)> = indexes.into_iter().map(|i| items[i].clone()).collect();
    reply_scored(ctx, &picked, with_scores);
}

fn zscan_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(cursor) = scan_cursor(ctx) else {
        return;
    };
    let limits = crate::debug::encoding_limits(ctx.srv);
    let z = match zset_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return empty_scan(ctx),
        Ok(Some(z)) => z.clone(),
    };
    let Some(opts) = parse_scan_options(ctx, 3, false) else {
        return;
    };
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = z
        .ordered
        .iter()
        .map(|(s, m)| (m.clone(), Some(format_double(s.0).into_bytes())))
        .collect();
    let compact = crate::object::encoding_of(&Value::ZSet(z), &limits) == "listpack";
    scan_reply(ctx, cursor, &opts, &items, compact);
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// The inputs of ZUNION/ZINTER/ZDIFF: a set counts each member with score 1.
type Source = Option<Vec<(Vec<u8>, f64)>>;

/// Sources are read lookups even for the *STORE forms: Redis counts them in
/// keyspace_hits/misses (checked against INFO).
fn load_sources(ctx: &mut Ctx, keys: &[Vec<u8>]) -> Option<Vec<Source>> {
    let db = ctx.db;
    let mut sources = Vec::with_capacity(keys.len());
    for key in keys {
        let source = match ctx.srv.lookup_read(db, key) {
            None => None,
            Some(Value::ZSet(z)) => Some(z.scores.iter().map(|(m, s)| (m.clone(), *s)).collect()),
            Some(Value::Set(s)) => Some(s.iter().map(|m| (m.clone(), 1.0)).collect()),
            Some(_) => {
                ctx.reply().err(errors::WRONGTYPE);
                return None;
            }
        };
        sources.push(source);
    }
    Some(sources)
}

fn aggregate(acc: f64, value: f64, how: Aggregate) -> f64 {
    match how {
        // inf + -inf is NaN; Redis keeps 0 instead.
        Aggregate::Sum => {
            let sum = acc + value;
            if sum.is_nan() {
                0.0
            } else {
                sum
            }
        }
        Aggregate::Min => acc.min(value),
        Aggregate::Max => acc.max(value),
    }
}

fn weighted(score: f64, weight: f64) -> f64 {
    let w = score * weight;
    if w.is_nan() {
        0.0
    } else {
        w
    }
}

fn combine(sources: &[Source], weights: &[f64], op: SetOp, how: Aggregate) -> ZSet {
    let mut acc: crate::object::Map<Vec<u8>, f64> = Default::default();
    match op {
        SetOp::Union => {
            for (src, w) in sources.iter().zip(weights) {
                for (m, s) in src.iter().flatten() {
                    let v = weighted(*s, *w);
                    match acc.get_mut(m) {
                        Some(a) => *a = aggregate(*a, v, how),
                        None => {
                            acc.insert(m.clone(), v);
                        }
                    }
                }
            }
        }
        SetOp::Inter => {
            if sources.iter().all(|s| s.is_some()) {
                let lookups: Vec<crate::object::Map<&[u8], f64>> = sources
                    .iter()
                    .flatten()
                    .map(|s| s.iter().map(|(m, v)| (m.as_slice(), *v)).collect())
                    .collect();
                for (m, s) in sources[0].iter().flatten() {
                    let mut value = weighted(*s, weights[0]);
                    let mut everywhere = true;
                    for (other, w) in lookups[1..].iter().zip(&weights[1..]) {
                        match other.get(m.as_slice()) {
                            Some(v) => value = aggregate(value, weighted(*v, *w), how),
                            None => everywhere = false,
                        }
                    }
                    if everywhere {
                        acc.insert(m.clone(), value);
                    }
                }
            }
        }
        SetOp::Diff => {
            for (m, s) in sources[0].iter().flatten() {
                if !sources[1..]
                    .iter()
                    .flatten()
                    .any(|o| o.iter().any(|(x, _)| x == m))
                {
                    acc.insert(m.clone(), *s);
                }
            }
        }
    }
    let mut out = ZSet::default();
    for (m, s) in acc {
        out.insert(m, s);
    }
    out
}

struct SetOpArgs {
    weights: Vec<f64>,
    how: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT (0: no limit).
    limit: usize,
    sources: Vec<Source>,
}

/// Parses numkeys, keys, WEIGHTS, AGGREGATE and WITHSCORES the way
/// zunionInterDiffGenericCommand does; `name` is the command for errors.
fn parse_setop_args(
    ctx: &mut Ctx,
    numkeys_index: usize,
    op: SetOp,
    store: bool,
    name: &str,
) -> Option<SetOpArgs> {
    let card_only = name == "zintercard";
    let argv = ctx.argv;
    let numkeys = arg_i64(ctx, numkeys_index)?;
    if numkeys < 1 {
        ctx.reply().err(&format!(
            "ERR at least 1 input key is needed for '{}' command",
            name
        ));
        return None;
    }
    if numkeys as usize > argv.len() - numkeys_index - 1 {
        ctx.reply().err(errors::SYNTAX);
        return None;
    }
    let n = numkeys as usize;
    let keys = argv[numkeys_index + 1..numkeys_index + 1 + n].to_vec();
    // Redis looks the keys up (and rejects a wrong type) before the options.
    let sources = load_sources(ctx, &keys)?;
    let mut args = SetOpArgs {
        weights: vec![1.0; n],
        how: Aggregate::Sum,
        with_scores: false,
        limit: 0,
        sources,
    };
    let mut j = numkeys_index + 1 + n;
    while j < argv.len() {
        let remaining = argv.len() - j;
        if op != SetOp::Diff && !card_only && remaining > n && eq_ic(&argv[j], "weights") {
            for i in 0..n {
                match parse_score(&argv[j + 1 + i]) {
                    Some(w) => args.weights[i] = w,
                    None => {
                        ctx.reply().err("ERR weight value is not a float");
                        return None;
                    }
                }
            }
            j += 1 + n;
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(&argv[j], "aggregate")
        {
            let a = &argv[j + 1];
            args.how = if eq_ic(a, "sum") {
                Aggregate::Sum
            } else if eq_ic(a, "min") {
                Aggregate::Min
            } else if eq_ic(a, "max") {
                Aggregate::Max
            } else {
                ctx.reply().err(errors::SYNTAX);
                return None;
            };
            j += 2;
        } else if !store && !card_only && eq_ic(&argv[j], "withscores") {
            args.with_scores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(&argv[j], "limit") {
            match crate::util::parse_i64(&argv[j + 1]) {
                Some(l) if l >= 0 => args.limit = l as usize,
                _ => {
                    ctx.reply().err("ERR LIMIT can't be negative");
                    return None;
                }
            }
            j += 2;
        } else {
            ctx.reply().err(errors::SYNTAX);
            return None;
        }
    }
    Some(args)
}

fn setop_generic(ctx: &mut Ctx, op: SetOp, store: bool, name: &str) {
    let numkeys_index = if store { 2 } else { 1 };
    let Some(mut args) = parse_setop_args(ctx, numkeys_index, op, store, name) else {
        return;
    };
    let sources = std::mem::take(&mut args.sources);
    let touched: usize = sources.iter().flatten().map(|s| s.len()).sum();
    ctx.srv.cost.elements(touched);
    let result = combine(&sources, &args.weights, op, args.how);
    if name == "zintercard" {
        let len = result.len();
        return ctx.reply().int(if args.limit > 0 {
            len.min(args.limit)
        } else {
            len
        } as i64);
    }
    if store {
        let argv = ctx.argv;
        return store_zset(ctx, &argv[1], result);
    }
    let items: Vec<(Vec<u8>, f64)> = result
        .ordered
        .iter()
        .map(|(s, m)| (m.clone(), s.0))
        .collect();
    reply_scored(ctx, &items, args.with_scores);
}

fn zunionstore_command(ctx: &mut Ctx) {
    setop_generic(ctx, SetOp::Union, true, "zunionstore");
}
fn zinterstore_command(ctx: &mut Ctx) {
    setop_generic(ctx, SetOp::Inter, true, "zinterstore");
}
fn zdiffstore_command(ctx: &mut Ctx) {
    setop_generic(ctx, SetOp::Diff, true, "zdiffstore");
}
fn zunion_command(ctx: &mut Ctx) {
    setop_generic(ctx, SetOp::Union, false, "zunion");
}
fn zinter_command(ctx: &mut Ctx) {
    setop_generic(ctx, SetOp::Inter, false, "zinter");
}
fn zintercard_command(ctx: &mut Ctx) {
    setop_generic(ctx, SetOp::Inter, false, "zintercard");
}
fn zdiff_command(ctx: &mut Ctx) {
    setop_generic(ctx, SetOp::Diff, false, "zdiff");
}

const W: u32 = flags::WRITE;
const WD: u32 = flags::WRITE | flags::DENYOOM;
const R: u32 = flags::READONLY;
const F: u32 = flags::FAST;

pub const COMMANDS: &[Command] = &[
    Command::new("zadd", -4, WD | F, zadd_command).with_keys(1, 1, 1),
    Command::new("zincrby", 4, WD | F, zincrby_command).with_keys(1, 1, 1),
    Command::new("zrem", -3, W | F, zrem_command).with_keys(1, 1, 1),
    Command::new("zcard", 2, R | F, zcard_command).with_keys(1, 1, 1),
    Command::new("zscore", 3, R | F, zscore_command).with_keys(1, 1, 1),
    Command::new("zmscore", -3, R | F, zmscore_command).with_keys(1, 1, 1),
    Command::new("zrank", 3, R | F, zrank_command).with_keys(1, 1, 1),
    Command::new("zrevrank", 3, R | F, zrevrank_command).with_keys(1, 1, 1),
    Command::new("zrange", -4, R, zrange_command).with_keys(1, 1, 1),
    Command::new("zrangestore", -5, WD, zrangestore_command).with_keys(1, 2, 1),
    Command::new("zrevrange", -4, R, zrevrange_command).with_keys(1, 1, 1),
    Command::new("zrangebyscore", -4, R, zrangebyscore_command).with_keys(1, 1, 1),
    Command::new("zrevrangebyscore", -4, R, zrevrangebyscore_command).with_keys(1, 1, 1),
    Command::new("zrangebylex", -4, R, zrangebylex_command).with_keys(1, 1, 1),
    Command::new("zrevrangebylex", -4, R, zrevrangebylex_command).with_keys(1, 1, 1),
    Command::new("zcount", 4, R | F, zcount_command).with_keys(1, 1, 1),
    Command::new("zlexcount", 4, R | F, zlexcount_command).with_keys(1, 1, 1),
    Command::new("zremrangebyrank", 4, W, zremrangebyrank_command).with_keys(1, 1, 1),
    Command::new("zremrangebyscore", 4, W, zremrangebyscore_command).with_keys(1, 1, 1),
    Command::new("zremrangebylex", 4, W, zremrangebylex_command).with_keys(1, 1, 1),
    Command::new("zpopmin", -2, W | F, zpopmin_command).with_keys(1, 1, 1),
    Command::new("zpopmax", -2, W | F, zpopmax_command).with_keys(1, 1, 1),
    Command::new("zrandmember", -2, R, zrandmember_command).with_keys(1, 1, 1),
    Command::new("zscan", -3, R, zscan_command).with_keys(1, 1, 1),
    Command::new("zunionstore", -4, WD, zunionstore_command)
        .with_keys(1, 1, 1)
        .movable_numkeys(2),
    Command::new("zinterstore", -4, WD, zinterstore_command)
        .with_keys(1, 1, 1)
        .movable_numkeys(2),
    Command::new("zdiffstore", -4, WD, zdiffstore_command)
        .with_keys(1, 1, 1)
        .movable_numkeys(2),
    Command::new("zunion", -3, R, zunion_command)
        .with_keys(0, 0, 0)
        .movable_numkeys(1),
    Command::new("zinter", -3, R, zinter_command)
        .with_keys(0, 0, 0)
        .movable_numkeys(1),
    Command::new("zdiff", -3, R, zdiff_command)
        .with_keys(0, 0, 0)
        .movable_numkeys(1),
    Command::new("zintercard", -3, R, zintercard_command)
        .with_keys(0, 0, 0)
        .movable_numkeys(1),
];
