//! t_set commands.
//!
//! Reply order: an intset (small, all-integer set) iterates in ascending
//! numeric order, which redsim reproduces; a hashtable iterates in Redis's
//! hash order, which redsim does not (insertion order stands in; tests
//! compare such replies sorted). SMEMBERS, SINTER, SUNION and SDIFF list
//! their result in that iteration order.

use crate::commands::{flags, Command, Ctx};
use crate::db::parse_scan_options;
use crate::object::{EncodingLimits, SetObj, Value};
use crate::reply::errors;
use crate::server::Server;
use crate::t_hash::{
    delete_if_empty, empty_scan, note_encoding, parse_rand_count, rand_indexes, scan_cursor,
    scan_reply,
};
use crate::t_list::arg_positive;
use crate::util::{eq_ic, parse_i64};
use rand::Rng;

fn set_write<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut SetObj>, ()> {
    match srv.lookup_write(db, key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

fn set_read<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a SetObj>, ()> {
    match srv.lookup_read(db, key) {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

fn limits(srv: &Server) -> EncodingLimits {
    crate::debug::encoding_limits(srv)
}

fn sadd_command(ctx: &mut Ctx) {
    let (db, argv) = (ctx.db, ctx.argv);
    let set = match set_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(Some(s)) => s,
        Ok(None) => {
            ctx.srv
                .set_key(db, &argv[1], Value::Set(SetObj::default()), true);
            set_write(ctx.srv, db, &argv[1])
                .ok()
                .flatten()
                .expect("just created")
        }
    };
    let mut added = 0;
    for m in &argv[2..] {
        if set.insert(m.clone()) {
            added += 1;
        }
    }
    note_encoding(ctx.srv, db, &argv[1]);
    ctx.srv.cost.elements(argv.len() - 2);
    ctx.srv.dirty += added as u64;
    ctx.reply().int(added);
}

fn srem_command(ctx: &mut Ctx) {
    let (db, argv) = (ctx.db, ctx.argv);
    let set = match set_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().int(0),
        Ok(Some(s)) => s,
    };
    let mut removed = 0;
    for m in &argv[2..] {
        if set.shift_remove(m) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    delete_if_empty(ctx.srv, db, &argv[1]);
    ctx.srv.cost.elements(argv.len() - 2);
    ctx.srv.dirty += removed as u64;
    ctx.reply().int(removed);
}

fn scard_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match set_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(s) => {
            let n = s.map_or(0, |s| s.len()) as i64;
            ctx.reply().int(n)
        }
    }
}

fn sismember_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match set_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => ctx.reply().err(errors::WRONGTYPE),
        Ok(s) => {
            let n = s.is_some_and(|s| s.contains(&argv[2])) as i64;
            ctx.reply().int(n)
        }
    }
}

fn smismember_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let set = match set_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(s) => s,
    };
    let members = &argv[2..];
    let found: Vec<bool> = members
        .iter()
        .map(|m| set.is_some_and(|s| s.contains(m)))
        .collect();
    ctx.reply().array(members.len());
    for f in found {
        ctx.reply().int(i64::from(f));
    }
    ctx.srv.cost.elements(members.len());
}

/// Replies with a set's members in its iteration order.
fn reply_members(ctx: &mut Ctx, members: &[Vec<u8>]) {
    ctx.reply().bulks(members.iter());
    ctx.srv.cost.elements(members.len());
}

fn spop_command(ctx: &mut Ctx) {
    if ctx.argv.len() == 3 {
        return spop_with_count(ctx);
    }
    if ctx.argv.len() > 3 {
        return ctx.reply().err(errors::SYNTAX);
    }
    let (db, argv) = (ctx.db, ctx.argv);
    let set = match set_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(s)) => s,
    };
    let len = set.len();
    let index = ctx.srv.rng.gen_range(0..len);
    let set = set_write(ctx.srv, db, &argv[1])
        .ok()
        .flatten()
        .expect("checked above");
    let member = set.shift_remove_index(index).expect("index in range");
    delete_if_empty(ctx.srv, db, &argv[1]);
    ctx.srv.dirty += 1;
    ctx.srv
        .also_propagate
        .push((db, vec![b"SREM".to_vec(), argv[1].clone(), member.clone()]));
    ctx.reply().bulk(&member);
}

fn spop_with_count(ctx: &mut Ctx) {
    let Some(count) = arg_positive(ctx, 2) else {
        return;
    };
    let (db, argv) = (ctx.db, ctx.argv);
    let lim = limits(ctx.srv);
    let set = match set_write(ctx.srv, db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return ctx.reply().array(0),
        Ok(Some(s)) => s,
    };
    if count == 0 {
        return ctx.reply().array(0);
    }
    if count >= set.len() {
        // The whole set goes: Redis answers with SUNION of the key (one more
        // read lookup, counted in keyspace_hits), then deletes it and
        // propagates a DEL.
        let members = set.ordered_members(&lim);
        ctx.srv.lookup_read(db, &argv[1]);
        ctx.srv.db_delete(db, &argv[1]);
        ctx.srv.dirty += members.len() as u64;
        let del: &[u8] = if ctx.srv.config.bool("lazyfree-lazy-server-del") {
            b"UNLINK"
        } else {
            b"DEL"
        };
        ctx.srv
            .also_propagate
            .push((db, vec![del.to_vec(), argv[1].clone()]));
        return reply_members(ctx, &members);
    }
    let len = set.len();
    let indexes: Vec<usize> = (0..count)
        .map(|i| ctx.srv.rng.gen_range(0..len - i))
        .collect();
    let set = set_write(ctx.srv, db, &argv[1])
        .ok()
        .flatten()
        .expect("checked above");
    let popped: Vec<Vec<u8>> = indexes
        .into_iter()
        .map(|i| set.shift_remove_index(i).expect("index in range"))
        .collect();
    ctx.srv.dirty += count as u64;
    // Redis 7.0 propagates one SREM per popped member (checked in its AOF),
    // wrapped together in MULTI/EXEC by the propagation layer.
    for member in &popped {
        ctx.srv
            .also_propagate
            .push((db, vec![b"SREM".to_vec(), argv[1].clone(), member.clone()]));
    }
    reply_members(ctx, &popped);
}

fn srandmember_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if argv.len() > 3 {
        return ctx.reply().err(errors::SYNTAX);
    }
    let parsed = if argv.len() == 3 {
        match parse_rand_count(ctx, None) {
            Some((count, _)) => Some(count),
            None => return,
        }
    } else {
        None
    };
    let lim = limits(ctx.srv);
    let set = match set_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) if parsed.is_some() => return ctx.reply().array(0),
        Ok(None) => return ctx.reply().null(),
        Ok(Some(s)) => s.ordered_members(&lim),
    };
    let Some(count) = parsed else {
        let index = ctx.srv.rng.gen_range(0..set.len());
        return ctx.reply().bulk(&set[index]);
    };
    let picked: Vec<Vec<u8>> = rand_indexes(&mut ctx.srv.rng, set.len(), count)
        .into_iter()
        .map(|i| set[i].clone())
        .collect();
    reply_members(ctx, &picked);
}

fn smove_command(ctx: &mut Ctx) {
    let (db, argv) = (ctx.db, ctx.argv);
    let (src, dst, member) = (&argv[1], &argv[2], &argv[3]);
    let src_type = set_write(ctx.srv, db, src).map(|s| s.is_some());
    let dst_type = set_write(ctx.srv, db, dst).map(|s| s.is_some());
    let (src_exists, dst_exists) = match (src_type, dst_type) {
        (Ok(false), _) => return ctx.reply().int(0),
        (Err(()), _) | (_, Err(())) => return ctx.reply().err(errors::WRONGTYPE),
        (Ok(s), Ok(d)) => (s, d),
    };
    assert!(src_exists);
    let set = set_write(ctx.srv, db, src)
        .ok()
        .flatten()
        .expect("checked above");
    if src == dst {
        let found = set.contains(member);
        return ctx.reply().int(i64::from(found));
    }
    if !set.shift_remove(member) {
        return ctx.reply().int(0);
    }
    delete_if_empty(ctx.srv, db, src);
    if !dst_exists {
        ctx.srv
            .set_key(db, dst, Value::Set(SetObj::default()), true);
    }
    ctx.srv.dirty += 1;
    let target = set_write(ctx.srv, db, dst)
        .ok()
        .flatten()
        .expect("exists or just created");
    if target.insert(member.clone()) {
        ctx.srv.dirty += 1;
    }
    note_encoding(ctx.srv, db, dst);
    ctx.reply().int(1);
}

/// Looks up the input sets of SINTER/SUNION/SDIFF; None if one has the
/// wrong type (WRONGTYPE already replied). Missing keys are None entries.
/// The STORE forms read their sources too: Redis counts them in
/// keyspace_hits/misses (checked against INFO).
fn input_sets(ctx: &mut Ctx, keys: &[Vec<u8>]) -> Option<Vec<Option<SetObj>>> {
    let db = ctx.db;
    let mut sets = Vec::with_capacity(keys.len());
    for key in keys {
        match set_read(ctx.srv, db, key).map(|s| s.cloned()) {
            Err(()) => {
                ctx.reply().err(errors::WRONGTYPE);
                return None;
            }
            Ok(s) => sets.push(s),
        }
    }
    Some(sets)
}

/// Stores a computed set at `dst` (or deletes `dst` when it is empty) and
/// replies with its size, as the *STORE commands do.
fn store_result(ctx: &mut Ctx, dst: &[u8], result: SetObj) {
    let db = ctx.db;
    let len = result.len();
    if len > 0 {
        let mut value = Value::Set(result);
        value.note_encoding(&limits(ctx.srv));
        ctx.srv.set_key(db, dst, value, false);
        ctx.srv.dirty += 1;
    } else if ctx.srv.db_delete(db, dst) {
        ctx.srv.dirty += 1;
    }
    ctx.reply().int(len as i64);
}

/// SINTER, SINTERSTORE, SINTERCARD (and SMEMBERS, which Redis implements as
/// SINTER of one key).
fn sinter_generic(ctx: &mut Ctx, keys: &[Vec<u8>], dst: Option<&[u8]>, card_limit: Option<usize>) {
    let Some(sets) = input_sets(ctx, keys) else {
        return;
    };
    let lim = limits(ctx.srv);
    let mut present: Vec<SetObj> = Vec::with_capacity(sets.len());
    for s in sets {
        match s {
            Some(s) => present.push(s),
            None => {
                present.clear();
                break;
            }
        }
    }
    let mut result = SetObj::default();
    if !present.is_empty() {
        present.sort_by_key(|s| s.len());
        let limit = card_limit.filter(|&l| l > 0).unwrap_or(usize::MAX);
        for m in present[0].ordered_members(&lim) {
            if present[1..].iter().all(|s| s.contains(&m)) {
                result.insert(m);
                if result.len() >= limit {
                    break;
                }
            }
        }
        ctx.srv.cost.elements(present[0].len() * present.len());
    }
    match (dst, card_limit) {
        (Some(dst), _) => store_result(ctx, dst, result),
        (None, Some(_)) => ctx.reply().int(result.len() as i64),
        (None, None) => {
            let members: Vec<Vec<u8>> = result.members.into_iter().collect();
            reply_members(ctx, &members);
        }
    }
}

fn sinter_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    sinter_generic(ctx, &argv[1..], None, None);
}

fn sinterstore_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    sinter_generic(ctx, &argv[2..], Some(&argv[1]), None);
}

fn sintercard_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let numkeys = match parse_i64(&argv[1]) {
        None | Some(i64::MIN..=0) => {
            return ctx.reply().err("ERR numkeys should be greater than 0")
        }
        Some(n) => n as usize,
    };
    if numkeys > argv.len() - 2 {
        return ctx
            .reply()
            .err("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if eq_ic(&argv[i], "limit") && i + 1 < argv.len() {
            match parse_i64(&argv[i + 1]) {
                None | Some(i64::MIN..=-1) => {
                    return ctx.reply().err("ERR LIMIT can't be negative")
                }
                Some(n) => limit = n as usize,
            }
            i += 2;
        } else {
            return ctx.reply().err(errors::SYNTAX);
        }
    }
    sinter_generic(ctx, &argv[2..2 + numkeys], None, Some(limit));
}

/// SUNION, SDIFF and their STORE forms. The result is a fresh set, so its
/// iteration order is an intset's when it qualifies.
fn sunion_diff_generic(ctx: &mut Ctx, keys: &[Vec<u8>], dst: Option<&[u8]>, diff: bool) {
    let Some(sets) = input_sets(ctx, keys) else {
        return;
    };
    let mut result = SetObj::default();
    let mut touched = 0;
    for (j, s) in sets.iter().enumerate() {
        let Some(s) = s else {
            if diff && j == 0 {
                break;
            }
            continue;
        };
        touched += s.len();
        if !diff || j == 0 {
            result.extend(s.iter().cloned());
        } else {
            for m in s.iter() {
                result.shift_remove(m);
            }
        }
        if diff && result.is_empty() {
            break;
        }
    }
    ctx.srv.cost.elements(touched);
    match dst {
        Some(dst) => store_result(ctx, dst, result),
        None => {
            let members = result.ordered_members(&limits(ctx.srv));
            reply_members(ctx, &members);
        }
    }
}

fn sunion_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    sunion_diff_generic(ctx, &argv[1..], None, false);
}
fn sunionstore_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    sunion_diff_generic(ctx, &argv[2..], Some(&argv[1]), false);
}
fn sdiff_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    sunion_diff_generic(ctx, &argv[1..], None, true);
}
fn sdiffstore_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    sunion_diff_generic(ctx, &argv[2..], Some(&argv[1]), true);
}

fn sscan_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(cursor) = scan_cursor(ctx) else {
        return;
    };
    let lim = limits(ctx.srv);
    let set = match set_read(ctx.srv, ctx.db, &argv[1]) {
        Err(()) => return ctx.reply().err(errors::WRONGTYPE),
        Ok(None) => return empty_scan(ctx),
        Ok(Some(s)) => s.clone(),
    };
    let Some(opts) = parse_scan_options(ctx, 3, false) else {
        return;
    };
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = set
        .ordered_members(&lim)
        .into_iter()
        .map(|m| (m, None))
        .collect();
    scan_reply(ctx, cursor, &opts, &items, set.is_intset(&lim));
}

const W: u32 = flags::WRITE;
const WD: u32 = flags::WRITE | flags::DENYOOM;
const R: u32 = flags::READONLY;
const F: u32 = flags::FAST;

pub const COMMANDS: &[Command] = &[
    Command::new("sadd", -3, WD | F, sadd_command).with_keys(1, 1, 1),
    Command::new("srem", -3, W | F, srem_command).with_keys(1, 1, 1),
    Command::new("scard", 2, R | F, scard_command).with_keys(1, 1, 1),
    Command::new("sismember", 3, R | F, sismember_command).with_keys(1, 1, 1),
    Command::new("smismember", -3, R | F, smismember_command).with_keys(1, 1, 1),
    Command::new("smembers", 2, R, sinter_command).with_keys(1, 1, 1),
    Command::new("spop", -2, W | F, spop_command).with_keys(1, 1, 1),
    Command::new("srandmember", -2, R, srandmember_command).with_keys(1, 1, 1),
    Command::new("smove", 4, W | F, smove_command).with_keys(1, 2, 1),
    Command::new("sinter", -2, R, sinter_command).with_keys(1, -1, 1),
    Command::new("sinterstore", -3, WD, sinterstore_command).with_keys(1, -1, 1),
    Command::new("sintercard", -3, R, sintercard_command)
        .with_keys(0, 0, 0)
        .movable_numkeys(1),
    Command::new("sunion", -2, R, sunion_command).with_keys(1, -1, 1),
    Command::new("sunionstore", -3, WD, sunionstore_command).with_keys(1, -1, 1),
    Command::new("sdiff", -2, R, sdiff_command).with_keys(1, -1, 1),
    Command::new("sdiffstore", -3, WD, sdiffstore_command).with_keys(1, -1, 1),
    Command::new("sscan", -3, R, sscan_command).with_keys(1, 1, 1),
];
