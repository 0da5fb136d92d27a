//! t_list commands. Redis 7.0 always encodes lists as quicklists, so there is
//! no encoding to track here: OBJECT ENCODING is always "quicklist".

use crate::commands::{flags, Command, Ctx};
use crate::object::Value;
use crate::reply::errors;
use crate::reply::Reply;
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use std::collections::VecDeque;

type List = VecDeque<Vec<u8>>;

/// The list at `key` for writing: Ok(None) if missing, Err(()) if another type.
fn list_write<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut List>, ()> {
    match srv.lookup_write(db, key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(()),
    }
}

fn list_read<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a List>, ()> {
    match srv.lookup_read(db, key) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(()),
    }
}

/// Deletes `key` if its list became empty, as Redis does after the last pop.
fn delete_if_empty(srv: &mut Server, db: usize, key: &[u8]) {
    if let Some(Value::List(l)) = srv.dbs[db].dict.get(key).map(|e| &e.value) {
        if l.is_empty() {
            srv.db_delete(db, key);
        }
    }
}

/// getLongFromObjectOrReply.
pub(crate) fn arg_i64(ctx: &mut Ctx, index: usize) -> Option<i64> {
    let argv = ctx.argv;
    let parsed = parse_i64(&argv[index]);
    if parsed.is_none() {
        ctx.reply().err(errors::NOT_INTEGER);
    }
    parsed
}

/// getPositiveLongFromObjectOrReply: one error, "must be positive", for
/// both a non-integer and a negative count.
pub(crate) fn arg_positive(ctx: &mut Ctx, index: usize) -> Option<usize> {
    let argv = ctx.argv;
    match parse_i64(&argv[index]) {
        None | Some(i64::MIN..=-1) => {
            ctx.reply()
                .err("ERR value is out of range, must be positive");
            None
        }
        Some(n) => Some(n as usize),
    }
}

fn push_generic(ctx: &mut Ctx, left: bool, only_if_exists: bool) {
    let argv = ctx.argv;
    let db = ctx.db;
    let key = &argv[1];
    let values = &argv[2..];
    let list = match list_write(ctx.srv, db, key) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) if only_if_exists => return ctx.reply().int(0),
        Ok(None) => {
            ctx.srv.set_key(db, key, Value::List(VecDeque::new()), true);
            list_write(ctx.srv, db, key)
                .ok()
                .flatten()
                .expect("just created")
        }
        Ok(Some(l)) => l,
    };
    for v in values {
        if left {
            list.push_front(v.clone());
        } else {
            list.push_back(v.clone());
        }
    }
    let len = list.len();
    ctx.srv.cost.elements(values.len());
    ctx.srv.dirty += values.len() as u64;
    ctx.reply().int(len as i64);
}

fn lpush_command(ctx: &mut Ctx) {
    push_generic(ctx, true, false);
}
fn rpush_command(ctx: &mut Ctx) {
    push_generic(ctx, false, false);
}
fn lpushx_command(ctx: &mut Ctx) {
    push_generic(ctx, true, true);
}
fn rpushx_command(ctx: &mut Ctx) {
    push_generic(ctx, false, true);
}

fn pop_generic(ctx: &mut Ctx, left: bool) {
    let argv = ctx.argv;
    if argv.len() > 3 {
        let name = if left { "lpop" } else { "rpop" };
        return ctx.reply().err(&format!(
            "ERR wrong number of arguments for '{}' command",
            name
        ));
    }
    let count = if argv.len() == 3 {
        match arg_positive(ctx, 2) {
            Some(n) => Some(n),
            None => return,
        }
    } else {
        None
    };
    let db = ctx.db;
    let key = argv[1].clone();
    let list = match list_write(ctx.srv, db, &key) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) if count.is_some() => return ctx.reply().null_array(),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(l)) => l,
    };
    let take = count.unwrap_or(1).min(list.len());
    let popped: Vec<Vec<u8>> = (0..take)
        .filter_map(|_| {
            if left {
                list.pop_front()
            } else {
                list.pop_back()
            }
        })
        .collect();
    match count {
        None => ctx.reply().bulk(&popped[0]),
        Some(_) => ctx.reply().bulks(popped.iter()),
    }
    if take > 0 {
        ctx.srv.dirty += 1;
    }
    ctx.srv.cost.elements(take);
    delete_if_empty(ctx.srv, db, &key);
}

fn lpop_command(ctx: &mut Ctx) {
    pop_generic(ctx, true);
}
fn rpop_command(ctx: &mut Ctx) {
    pop_generic(ctx, false);
}

fn llen_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match list_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(l) => {
            let n = l.map_or(0, |l| l.len()) as i64;
            ctx.reply().int(n)
        }
    }
}

fn lrange_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(start) = arg_i64(ctx, 2) else { return };
    let Some(end) = arg_i64(ctx, 3) else { return };
    let list = match list_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().array(0),
        Ok(Some(l)) => l,
    };
    let Some((from, to)) = crate::util::clamp_index_range(start, end, list.len()) else {
        return ctx.reply().array(0);
    };
    // Encoded aside: the list is borrowed from the server that holds the client.
    let mut out = Reply::default();
    out.bulks(list.range(from..=to));
    ctx.reply().raw(&out.buf);
    ctx.srv.cost.elements(to - from + 1);
}

fn lindex_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let list = match list_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(l)) => l,
    };
    let Some(index) = parse_i64(&argv[2]) else {
        return ctx.reply().err(errors::NOT_INTEGER);
    };
    let len = list.len() as i64;
    let index = if index < 0 { len + index } else { index };
    match list
        .get(index.max(0) as usize)
        .filter(|_| index >= 0)
        .cloned()
    {
        Some(v) => ctx.reply().bulk(&v),
        None => ctx.reply().null(),
    }
    ctx.srv.cost.elements(index.clamp(0, len) as usize / 64);
}

fn lset_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let db = ctx.db;
    match list_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().err(errors::NO_SUCH_KEY),
        Ok(Some(_)) => {}
    }
    let Some(index) = arg_i64(ctx, 2) else { return };
    let value = argv[3].clone();
    let Ok(Some(list)) = list_write(ctx.srv, db, &argv[1]) else {
        return;
    };
    let len = list.len() as i64;
    let index = if index < 0 { len + index } else { index };
    if index < 0 || index >= len {
        return ctx.reply().err(errors::OUT_OF_RANGE);
    }
    list[index as usize] = value;
    ctx.srv.dirty += 1;
    ctx.reply().ok();
}

fn linsert_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let after = if eq_ic(&argv[2], "after") {
        true
    } else if eq_ic(&argv[2], "before") {
        false
    } else {
        return ctx.reply().err(errors::SYNTAX);
    };
    let db = ctx.db;
    let list = match list_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(l)) => l,
    };
    let Some(pos) = list.iter().position(|e| *e == argv[3]) else {
        let scanned = list.len();
        ctx.srv.cost.elements(scanned);
        return ctx.reply().int(-1);
    };
    list.insert(if after { pos + 1 } else { pos }, argv[4].clone());
    let len = list.len();
    ctx.srv.cost.elements(pos + 1);
    ctx.srv.dirty += 1;
    ctx.reply().int(len as i64);
}

fn lrem_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(count) = arg_i64(ctx, 2) else { return };
    let db = ctx.db;
    let key = argv[1].clone();
    let list = match list_write(ctx.srv, db, &key) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(l)) => l,
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let scanned = list.len();
    let mut removed = 0;
    let mut kept: List = VecDeque::with_capacity(list.len());
    let target = &argv[3];
    if count >= 0 {
        for e in list.drain(..) {
            if removed < limit && e == *target {
                removed += 1;
            } else {
                kept.push_back(e);
            }
        }
    } else {
        while let Some(e) = list.pop_back() {
            if removed < limit && e == *target {
                removed += 1;
            } else {
                kept.push_front(e);
            }
        }
    }
    *list = kept;
    ctx.srv.cost.elements(scanned);
    ctx.srv.dirty += removed as u64;
    delete_if_empty(ctx.srv, db, &key);
    ctx.reply().int(removed as i64);
}

fn ltrim_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(start) = arg_i64(ctx, 2) else { return };
    let Some(end) = arg_i64(ctx, 3) else { return };
    let db = ctx.db;
    let key = argv[1].clone();
    let list = match list_write(ctx.srv, db, &key) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().ok(),
        Ok(Some(l)) => l,
    };
    let len = list.len();
    let (ltrim, rtrim) = match crate::util::clamp_index_range(start, end, len) {
        None => (len, 0),
        Some((from, to)) => (from, len - to - 1),
    };
    list.drain(..ltrim);
    list.truncate(list.len() - rtrim);
    ctx.srv.cost.elements(ltrim + rtrim);
    ctx.srv.dirty += (ltrim + rtrim) as u64;
    delete_if_empty(ctx.srv, db, &key);
    ctx.reply().ok();
}

/// LPOS options after the element: RANK, COUNT, MAXLEN.
struct LposOptions {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn parse_lpos_options(ctx: &mut Ctx) -> Option<LposOptions> {
    let argv = ctx.argv;
    let mut opts = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 3;
    while i < argv.len() {
        let has_arg = i + 1 < argv.len();
        if eq_ic(&argv[i], "rank") && has_arg {
            match parse_i64(&argv[i + 1]) {
                None => {
                    ctx.reply().err(errors::NOT_INTEGER);
                    return None;
                }
                Some(0) => {
                    ctx.reply().err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                    return None;
                }
                Some(r) => opts.rank = r,
            }
        } else if eq_ic(&argv[i], "count") && has_arg {
            match parse_i64(&argv[i + 1]) {
                None | Some(i64::MIN..=-1) => {
                    ctx.reply().err("ERR COUNT can't be negative");
                    return None;
                }
                Some(n) => opts.count = Some(n as usize),
            }
        } else if eq_ic(&argv[i], "maxlen") && has_arg {
            match parse_i64(&argv[i + 1]) {
                None | Some(i64::MIN..=-1) => {
                    ctx.reply().err("ERR MAXLEN can't be negative");
                    return None;
                }
                Some(n) => opts.maxlen = n as usize,
            }
        } else {
            ctx.reply().err(errors::SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(opts)
}

fn lpos_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(opts) = parse_lpos_options(ctx) else {
        return;
    };
    let list = match list_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) if opts.count.is_some() => return ctx.reply().array(0),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(l)) => l,
    };
    let len = list.len();
    let wanted = match opts.count {
        Some(0) => usize::MAX,
        Some(n) => n,
        None => 1,
    };
    let maxlen = if opts.maxlen == 0 {
        len
    } else {
        opts.maxlen.min(len)
    };
    // RANK -9223372036854775808 cannot be negated in C: Redis ends up
    // treating it as "from the tail, every match", which we copy.
    let overflowed = opts.rank == i64::MIN;
    let wanted = if overflowed && opts.count.is_some() {
        usize::MAX
    } else {
        wanted
    };
    let mut skip = if overflowed {
        0
    } else {
        opts.rank.unsigned_abs() - 1
    };
    let mut matches = Vec::new();
    for step in 0..maxlen {
        let index = if opts.rank > 0 { step } else { len - 1 - step };
        if list[index] != argv[2] {
            continue;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        matches.push(index as i64);
        if matches.len() >= wanted {
            break;
        }
    }
    ctx.srv.cost.elements(maxlen);
    match opts.count {
        Some(_) => {
            ctx.reply().array(matches.len());
            for m in matches {
                ctx.reply().int(m);
            }
        }
        None => match matches.first() {
            Some(&m) => ctx.reply().int(m),
            None => ctx.reply().null(),
        },
    }
}

fn parse_where(arg: &[u8]) -> Option<bool> {
    if eq_ic(arg, "left") {
        Some(true)
    } else if eq_ic(arg, "right") {
        Some(false)
    } else {
        None
    }
}

/// RPOPLPUSH/LMOVE: pop from one end of `src`, push on one end of `dst`
/// (which may be the same key, rotating the list).
fn lmove_generic(ctx: &mut Ctx, from_left: bool, to_left: bool) {
    let argv = ctx.argv;
    let db = ctx.db;
    let (src, dst) = (argv[1].clone(), argv[2].clone());
    match list_write(ctx.srv, db, &src) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(_)) => {}
    }
    if list_write(ctx.srv, db, &dst).is_err() {
        return ctx.reply().err(errors::WRONGTYPE);
    }
    let Ok(Some(list)) = list_write(ctx.srv, db, &src) else {
        return;
    };
    let value = if from_left {
        list.pop_front()
    } else {
        list.pop_back()
    }
    .expect("lists in the keyspace are never empty");
    if src != dst {
        delete_if_empty(ctx.srv, db, &src);
    }
    if !ctx.srv.dbs[db].dict.contains_key(&dst) {
        ctx.srv
            .set_key(db, &dst, Value::List(VecDeque::new()), true);
    }
    let Ok(Some(target)) = list_write(ctx.srv, db, &dst) else {
        return;
    };
    if to_left {
        target.push_front(value.clone());
    } else {
        target.push_back(value.clone());
    }
    ctx.srv.cost.elements(2);
    ctx.srv.dirty += 1;
    ctx.reply().bulk(&value);
}

fn rpoplpush_command(ctx: &mut Ctx) {
    lmove_generic(ctx, false, true);
}

fn lmove_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let (Some(from_left), Some(to_left)) = (parse_where(&argv[3]), parse_where(&argv[4])) else {
        return ctx.reply().err(errors::SYNTAX);
    };
    lmove_generic(ctx, from_left, to_left);
}

const W: u32 = flags::WRITE;
const WD: u32 = flags::WRITE | flags::DENYOOM;
const R: u32 = flags::READONLY;
const F: u32 = flags::FAST;

pub const COMMANDS: &[Command] = &[
    Command::new("lpush", -3, WD | F, lpush_command).with_keys(1, 1, 1),
    Command::new("rpush", -3, WD | F, rpush_command).with_keys(1, 1, 1),
    Command::new("lpushx", -3, WD | F, lpushx_command).with_keys(1, 1, 1),
    Command::new("rpushx", -3, WD | F, rpushx_command).with_keys(1, 1, 1),
    Command::new("lpop", -2, W | F, lpop_command).with_keys(1, 1, 1),
    Command::new("rpop", -2, W | F, rpop_command).with_keys(1, 1, 1),
    Command::new("llen", 2, R | F, llen_command).with_keys(1, 1, 1),
    Command::new("lrange", 4, R, lrange_command).with_keys(1, 1, 1),
    Command::new("lindex", 3, R, lindex_command).with_keys(1, 1, 1),
    Command::new("lset", 4, WD, lset_command).with_keys(1, 1, 1),
    Command::new("linsert", 5, WD, linsert_command).with_keys(1, 1, 1),
    Command::new("lrem", 4, W, lrem_command).with_keys(1, 1, 1),
    Command::new("ltrim", 4, W, ltrim_command).with_keys(1, 1, 1),
    Command::new("lpos", -3, R, lpos_command).with_keys(1, 1, 1),
    Command::new("rpoplpush", 3, WD, rpoplpush_command).with_keys(1, 2, 1),
    Command::new("lmove", 5, WD, lmove_command).with_keys(1, 2, 1),
];
