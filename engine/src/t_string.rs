//! String commands (t_string.c): GET/SET and their variants, the counters,
//! APPEND, the range commands and LCS.

mod long_double;

use crate::commands::{flags, Command, Ctx};
use crate::object::{StrEncoding, StrObj, Value};
use crate::reply::errors;
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};

pub use long_double::LongDouble;

const OBJ_SET_NX: u32 = 1 << 0;
const OBJ_SET_XX: u32 = 1 << 1;
const OBJ_EX: u32 = 1 << 2;
const OBJ_PX: u32 = 1 << 3;
const OBJ_KEEPTTL: u32 = 1 << 4;
const OBJ_SET_GET: u32 = 1 << 5;
const OBJ_EXAT: u32 = 1 << 6;
const OBJ_PXAT: u32 = 1 << 7;
const OBJ_PERSIST: u32 = 1 << 8;
const OBJ_ANY_EXPIRE: u32 = OBJ_EX | OBJ_PX | OBJ_EXAT | OBJ_PXAT;

/// Strings cost one element of work per 64 bytes copied, so big values
/// delay the loop proportionally.
fn cost_bytes(srv: &mut Server, len: usize) {
    srv.cost.elements(len / 64);
}

/// The part of an option before any NUL byte: Redis compares options as C
/// strings, so "nx\0junk" reads as "nx".
fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(end) => &arg[..end],
        None => arg,
    }
}

/// Parsed EX/PX/EXAT/PXAT/... options of SET (from argv[3]) or GETEX (from argv[2]).
struct ExtendedArgs {
    flags: u32,
    /// Index in argv of the expire value, if any.
    expire_index: Option<usize>,
}

/// parseExtendedStringArgumentsOrReply: the same mutual exclusions as Redis,
/// which allow a repeated option (EX 1 EX 2: the last one wins).
fn parse_extended_args(ctx: &mut Ctx, is_set: bool) -> Option<ExtendedArgs> {
    let argv = ctx.argv;
    // Each expire option excludes the others and KEEPTTL/PERSIST, but not itself.
    const EXPIRE_OPTIONS: [(&str, u32); 4] = [
        ("ex", OBJ_EX),
        ("px", OBJ_PX),
        ("exat", OBJ_EXAT),
        ("pxat", OBJ_PXAT),
    ];
    let mut f = 0u32;
    let mut expire_index = None;
    let mut j = if is_set { 3 } else { 2 };
    while j < argv.len() {
        let opt = c_str(&argv[j]);
        let has_next = j + 1 < argv.len();
        let is = |name: &str| eq_ic(opt, name);
        let expire_option = EXPIRE_OPTIONS
            .iter()
            .find(|(name, _)| is(name))
            .map(|&(_, flag)| flag);
        let ok = if let Some(flag) = expire_option {
            let excluded = (OBJ_ANY_EXPIRE & !flag) | OBJ_KEEPTTL | OBJ_PERSIST;
            let ok = f & excluded == 0 && has_next;
            if ok {
                f |= flag;
                expire_index = Some(j + 1);
                j += 1;
            }
            ok
        } else if is("nx") && is_set && f & OBJ_SET_XX == 0 {
            f |= OBJ_SET_NX;
            true
        } else if is("xx") && is_set && f & OBJ_SET_NX == 0 {
            f |= OBJ_SET_XX;
            true
        } else if is("get") && is_set {
            f |= OBJ_SET_GET;
            true
        } else if is("keepttl") && is_set && f & (OBJ_PERSIST | OBJ_ANY_EXPIRE) == 0 {
            f |= OBJ_KEEPTTL;
            true
        } else if is("persist") && !is_set && f & (OBJ_ANY_EXPIRE | OBJ_KEEPTTL) == 0 {
            f |= OBJ_PERSIST;
            true
        } else {
            false
        };
        if !ok {
            ctx.reply().err(errors::SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(ExtendedArgs {
        flags: f,
        expire_index,
    })
}

fn reply_expire_time_error(ctx: &mut Ctx, command: &str) {
    ctx.reply()
        .err(&format!("ERR invalid expire time in '{}' command", command));
}

/// getExpireMillisecondsOrReply: the absolute unix-ms time of an EX/PX/EXAT/PXAT argument.
fn expire_ms_or_reply(ctx: &mut Ctx, arg_index: usize, flags: u32, command: &str) -> Option<i64> {
    let argv = ctx.argv;
    let Some(mut ms) = parse_i64(&argv[arg_index]) else {
        ctx.reply().err(errors::NOT_INTEGER);
        return None;
    };
    let seconds = flags & (OBJ_EX | OBJ_EXAT) != 0;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        reply_expire_time_error(ctx, command);
        return None;
    }
    if seconds {
        ms *= 1000;
    }
    if flags & (OBJ_EX | OBJ_PX) != 0 {
        // Redis adds in C and then checks the sign to detect the overflow.
        ms = ms.wrapping_add(ctx.srv.mstime());
    }
    if ms <= 0 {
        reply_expire_time_error(ctx, command);
        return None;
    }
    Some(ms)
}

/// getGenericCommand: replies with the value (or nil). Err on WRONGTYPE.
fn get_generic(ctx: &mut Ctx) -> Result<(), ()> {
    let argv = ctx.argv;
    let db = ctx.db;
    match ctx.srv.lookup_read(db, &argv[1]) {
        None => ctx.reply().null(),
        Some(Value::Str(s)) => {
            let (len, bytes) = (s.len(), s.bytes().into_owned());
            ctx.reply().bulk(&bytes);
            cost_bytes(ctx.srv, len);
        }
        Some(_) => {
            ctx.reply().err(errors::WRONGTYPE);
            return Err(());
        }
    }
    Ok(())
}

fn get_command(ctx: &mut Ctx) {
    let _ = get_generic(ctx);
}

/// What setGenericCommand replies when the write happened or was skipped.
struct SetReplies {
    ok: &'static [u8],
    abort: &'static [u8],
}

const SET_REPLIES: SetReplies = SetReplies {
    ok: b"+OK\r\n",
    abort: b"$-1\r\n",
};
const SETNX_REPLIES: SetReplies = SetReplies {
    ok: b":1\r\n",
    abort: b":0\r\n",
};

/// setGenericCommand for SET, SETNX, SETEX and PSETEX.
fn set_generic(
    ctx: &mut Ctx,
    args: &ExtendedArgs,
    value_index: usize,
    command: &str,
    replies: SetReplies,
) {
    let f = args.flags;
    let mut when_ms = None;
    if let Some(index) = args.expire_index {
        match expire_ms_or_reply(ctx, index, f, command) {
            Some(ms) => when_ms = Some(ms),
            None => return,
        }
    }
    if f & OBJ_SET_GET != 0 && get_generic(ctx).is_err() {
        return;
    }
    let db = ctx.db;
    let key = &ctx.argv[1];
    let found = ctx.srv.lookup_write(db, key).is_some();
    if (f & OBJ_SET_NX != 0 && found) || (f & OBJ_SET_XX != 0 && !found) {
        if f & OBJ_SET_GET == 0 {
            ctx.reply().raw(replies.abort);
        }
        return;
    }
    let value = ctx.argv[value_index].clone();
    cost_bytes(ctx.srv, value.len());
    ctx.srv
        .set_key(db, key, Value::Str(value.into()), f & OBJ_KEEPTTL != 0);
    ctx.srv.dirty += 1;
    if let Some(when) = when_ms {
        ctx.srv.set_expire(db, key, when);
        let argv = vec![
            b"SET".to_vec(),
            key.clone(),
            ctx.argv[value_index].clone(),
            b"PXAT".to_vec(),
            when.to_string().into_bytes(),
        ];
        ctx.srv.also_propagate.push((db, argv));
    } else if f & OBJ_SET_GET != 0 {
        // Replicas must not see GET: it would make them reply to nobody.
        let argv: Vec<Vec<u8>> = ctx
            .argv
            .iter()
            .enumerate()
            .filter(|(j, a)| *j < 3 || !eq_ic(c_str(a), "get"))
            .map(|(_, a)| a.clone())
            .collect();
        ctx.srv.also_propagate.push((db, argv));
    }
    if f & OBJ_SET_GET == 0 {
        ctx.reply().raw(replies.ok);
    }
}

fn set_command(ctx: &mut Ctx) {
    let Some(args) = parse_extended_args(ctx, true) else {
        return;
    };
    set_generic(ctx, &args, 2, "set", SET_REPLIES);
}

fn setnx_command(ctx: &mut Ctx) {
    let args = ExtendedArgs {
        flags: OBJ_SET_NX,
        expire_index: None,
    };
    set_generic(ctx, &args, 2, "setnx", SETNX_REPLIES);
}

fn setex_command(ctx: &mut Ctx) {
    let args = ExtendedArgs {
        flags: OBJ_EX,
        expire_index: Some(2),
    };
    set_generic(ctx, &args, 3, "setex", SET_REPLIES);
}

fn psetex_command(ctx: &mut Ctx) {
    let args = ExtendedArgs {
        flags: OBJ_PX,
        expire_index: Some(2),
    };
    set_generic(ctx, &args, 3, "psetex", SET_REPLIES);
}

/// The command Redis propagates for a user-requested delete.
fn del_command_name(srv: &Server, lazy_config: &str) -> Vec<u8> {
    if srv.config.bool(lazy_config) {
        b"UNLINK".to_vec()
    } else {
        b"DEL".to_vec()
    }
}

fn getex_command(ctx: &mut Ctx) {
    let Some(args) = parse_extended_args(ctx, false) else {
        return;
    };
    let db = ctx.db;
    let key = ctx.argv[1].clone();
    match ctx.srv.lookup_read(db, &key) {
        None => {
            ctx.reply().null();
            return;
        }
        Some(Value::Str(_)) => {}
        Some(_) => {
            ctx.reply().err(errors::WRONGTYPE);
            return;
        }
    }
    let mut when_ms = None;
    if let Some(index) = args.expire_index {
        match expire_ms_or_reply(ctx, index, args.flags, "getex") {
            Some(ms) => when_ms = Some(ms),
            None => return,
        }
    }
    if let Some(Value::Str(s)) = ctx.srv.dbs[db].dict.get(&key).map(|e| &e.value) {
        let (len, bytes) = (s.len(), s.bytes().into_owned());
        ctx.reply().bulk(&bytes);
        cost_bytes(ctx.srv, len);
    }
    let absolute = args.flags & (OBJ_EXAT | OBJ_PXAT) != 0;
    if let Some(when) = when_ms {
        if absolute && crate::expire::check_already_expired(ctx.srv, when) {
            let deleted = ctx.srv.db_delete(db, &key);
            assert!(deleted, "GETEX found the key a moment ago");
            let cmd = del_command_name(ctx.srv, "lazyfree-lazy-expire");
            ctx.srv.also_propagate.push((db, vec![cmd, key]));
        } else {
            ctx.srv.set_expire(db, &key, when);
            let argv = vec![b"PEXPIREAT".to_vec(), key, when.to_string().into_bytes()];
            ctx.srv.also_propagate.push((db, argv));
        }
        ctx.srv.dirty += 1;
    } else if args.flags & OBJ_PERSIST != 0 && ctx.srv.dbs[db].expires.swap_remove(&key).is_some() {
        ctx.srv.signal_modified_key(db, &key);
        ctx.srv
            .also_propagate
            .push((db, vec![b"PERSIST".to_vec(), key]));
        ctx.srv.dirty += 1;
    }
}

fn getdel_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if get_generic(ctx).is_err() {
        return;
    }
    let db = ctx.db;
    let key = argv[1].clone();
    if ctx.srv.db_delete(db, &key) {
        let cmd = del_command_name(ctx.srv, "lazyfree-lazy-user-del");
        ctx.srv.also_propagate.push((db, vec![cmd, key]));
        ctx.srv.dirty += 1;
    }
}

fn getset_command(ctx: &mut Ctx) {
    if get_generic(ctx).is_err() {
        return;
    }
    let db = ctx.db;
    let value = ctx.argv[2].clone();
    cost_bytes(ctx.srv, value.len());
    ctx.srv
        .set_key(db, &ctx.argv[1], Value::Str(value.into()), false);
    ctx.srv.dirty += 1;
    let mut argv = ctx.argv.to_vec();
    argv[0] = b"SET".to_vec();
    ctx.srv.also_propagate.push((db, argv));
}

fn mget_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let db = ctx.db;
    ctx.reply().array(argv.len() - 1);
    for key in &argv[1..] {
        match ctx.srv.lookup_read(db, key) {
            Some(Value::Str(s)) => {
                let (len, bytes) = (s.len(), s.bytes().into_owned());
                ctx.reply().bulk(&bytes);
                cost_bytes(ctx.srv, len);
            }
            _ => ctx.reply().null(),
        }
    }
    ctx.srv.cost.elements(argv.len() - 1);
}

fn mset_generic(ctx: &mut Ctx, nx: bool, name: &str) {
    let argv = ctx.argv;
    if argv.len().is_multiple_of(2) {
        ctx.reply().err(&format!(
            "ERR wrong number of arguments for '{}' command",
            name
        ));
        return;
    }
    let db = ctx.db;
    if nx {
        for pair in argv[1..].chunks(2) {
            if ctx.srv.lookup_write(db, &pair[0]).is_some() {
                ctx.reply().int(0);
                return;
            }
        }
    }
    for pair in argv[1..].chunks(2) {
        cost_bytes(ctx.srv, pair[1].len());
        ctx.srv
            .set_key(db, &pair[0], Value::Str(pair[1].clone().into()), false);
    }
    let pairs = (argv.len() - 1) / 2;
    ctx.srv.cost.elements(pairs);
    ctx.srv.dirty += pairs as u64;
    if nx {
        ctx.reply().int(1);
    } else {
        ctx.reply().ok();
    }
}

fn mset_command(ctx: &mut Ctx) {
    mset_generic(ctx, false, "mset");
}

fn msetnx_command(ctx: &mut Ctx) {
    mset_generic(ctx, true, "msetnx");
}

/// The string value of a key about to be modified: Ok(None) if missing,
/// Err after replying WRONGTYPE.
fn string_for_write(ctx: &mut Ctx) -> Result<Option<Vec<u8>>, ()> {
    let argv = ctx.argv;
    let db = ctx.db;
    match ctx.srv.lookup_write(db, &argv[1]) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.to_vec())),
        Some(_) => {
            ctx.reply().err(errors::WRONGTYPE);
            Err(())
        }
    }
}

/// Stores a new string value keeping the key's TTL (dbOverwrite / dbAdd).
fn overwrite_string(ctx: &mut Ctx, value: Vec<u8>, encoding: StrEncoding) {
    let argv = ctx.argv;
    let db = ctx.db;
    ctx.srv.set_key(
        db,
        &argv[1],
        Value::Str(StrObj::with_encoding(value, encoding)),
        true,
    );
    ctx.srv.dirty += 1;
}

fn incr_decr(ctx: &mut Ctx, incr: i64) {
    let Ok(old) = string_for_write(ctx) else {
        return;
    };
    let value = match old {
        None => 0,
        Some(s) => match parse_i64(&s) {
            Some(v) => v,
            None => {
                ctx.reply().err(errors::NOT_INTEGER);
                return;
            }
        },
    };
    let Some(new) = value.checked_add(incr) else {
        ctx.reply().err(errors::INCR_OVERFLOW);
        return;
    };
    overwrite_string(ctx, new.to_string().into_bytes(), StrEncoding::Auto);
    ctx.reply().int(new);
}

fn incr_command(ctx: &mut Ctx) {
    incr_decr(ctx, 1);
}

fn decr_command(ctx: &mut Ctx) {
    incr_decr(ctx, -1);
}

fn incrby_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match parse_i64(&argv[2]) {
        Some(incr) => incr_decr(ctx, incr),
        None => ctx.reply().err(errors::NOT_INTEGER),
    }
}

fn decrby_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match parse_i64(&argv[2]) {
        Some(i64::MIN) => ctx.reply().err("ERR decrement would overflow"),
        Some(incr) => incr_decr(ctx, -incr),
        None => ctx.reply().err(errors::NOT_INTEGER),
    }
}

fn incrbyfloat_command(ctx: &mut Ctx) {
    let Ok(old) = string_for_write(ctx) else {
        return;
    };
    let value = match &old {
        None => Some(LongDouble::ZERO),
        Some(s) => LongDouble::parse(s),
    };
    let incr = LongDouble::parse(&ctx.argv[2]);
    let (Some(value), Some(incr)) = (value, incr) else {
        ctx.reply().err(errors::NOT_FLOAT);
        return;
    };
    let sum = value.sum(incr);
    if !sum.is_finite() {
        ctx.reply()
            .err("ERR increment would produce NaN or Infinity");
        return;
    }
    let text = sum.to_human_string().into_bytes();
    overwrite_string(ctx, text.clone(), StrEncoding::Embstr);
    ctx.reply().bulk(&text);
    // Replicas get the result, so float formatting can never make them diverge.
    let argv = vec![
        b"SET".to_vec(),
        ctx.argv[1].clone(),
        text,
        b"KEEPTTL".to_vec(),
    ];
    ctx.srv.also_propagate.push((ctx.db, argv));
}

/// checkStringLength: may a string of `size + append` bytes be created?
/// The master's stream is trusted, as Redis trusts it.
fn check_string_length(ctx: &mut Ctx, size: i64, append: i64) -> bool {
    if ctx.c().kind == crate::networking::ClientKind::Master {
        return true;
    }
    let total = (size as u64).wrapping_add(append as u64) as i64;
    if total > ctx.srv.config.hot.proto_max_bulk_len || total < size || total < append {
        ctx.reply()
            .err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }
    true
}

fn append_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Ok(old) = string_for_write(ctx) else {
        return;
    };
    let add = &argv[2];
    // A new key takes the argument as SET would; an existing string is
    // unshared into a raw sds and grown in place.
    let (new, encoding) = match old {
        None => (add.clone(), StrEncoding::Auto),
        Some(mut s) => {
            if !check_string_length(ctx, s.len() as i64, add.len() as i64) {
                return;
            }
            s.extend_from_slice(add);
            (s, StrEncoding::Raw)
        }
    };
    cost_bytes(ctx.srv, new.len());
    let len = new.len() as i64;
    overwrite_string(ctx, new, encoding);
    ctx.reply().int(len);
}

fn strlen_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let db = ctx.db;
    match ctx.srv.lookup_read(db, &argv[1]) {
        None => ctx.reply().int(0),
        Some(Value::Str(s)) => {
            let len = s.len() as i64;
            ctx.reply().int(len);
        }
        Some(_) => ctx.reply().err(errors::WRONGTYPE),
    }
}

/// The byte range GETRANGE returns for a string of `len` bytes, if any.
fn getrange_bounds(len: i64, mut start: i64, mut end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start = start.saturating_add(len);
    }
    if end < 0 {
        end = end.saturating_add(len);
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let (Some(start), Some(end)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        ctx.reply().err(errors::NOT_INTEGER);
        return;
    };
    let db = ctx.db;
    match ctx.srv.lookup_read(db, &argv[1]) {
        None => ctx.reply().bulk(b""),
        Some(Value::Str(s)) => match getrange_bounds(s.len() as i64, start, end) {
            None => ctx.reply().bulk(b""),
            Some((from, to)) => {
                let bytes = s.range(from, to + 1).into_owned();
                ctx.reply().bulk(&bytes);
                cost_bytes(ctx.srv, to - from);
            }
        },
        Some(_) => ctx.reply().err(errors::WRONGTYPE),
    }
}

fn setrange_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(offset) = parse_i64(&argv[2]) else {
        ctx.reply().err(errors::NOT_INTEGER);
        return;
    };
    if offset < 0 {
        ctx.reply().err("ERR offset is out of range");
        return;
    }
    let Ok(old) = string_for_write(ctx) else {
        return;
    };
    let patch_len = argv[3].len();
    if patch_len == 0 {
        ctx.reply().int(old.map_or(0, |s| s.len() as i64));
        return;
    }
    if !check_string_length(ctx, offset, patch_len as i64) {
        return;
    }
    let mut s = old.unwrap_or_default();
    let offset = offset as usize;
    if s.len() < offset + patch_len {
        s.resize(offset + patch_len, 0);
    }
    s[offset..offset + patch_len].copy_from_slice(&argv[3]);
    cost_bytes(ctx.srv, s.len());
    let len = s.len() as i64;
    // SETRANGE always leaves a raw sds, new key or not.
    overwrite_string(ctx, s, StrEncoding::Raw);
    ctx.reply().int(len);
}

/// LCS options: LEN, IDX, MINMATCHLEN n, WITHMATCHLEN.
struct LcsOptions {
    get_len: bool,
    get_idx: bool,
    with_match_len: bool,
    min_match_len: i64,
}

fn parse_lcs_options(ctx: &mut Ctx) -> Option<LcsOptions> {
    let argv = ctx.argv;
    let mut o = LcsOptions {
        get_len: false,
        get_idx: false,
        with_match_len: false,
        min_match_len: 0,
    };
    let mut j = 3;
    while j < argv.len() {
        let opt = c_str(&argv[j]);
        if eq_ic(opt, "idx") {
            o.get_idx = true;
        } else if eq_ic(opt, "len") {
            o.get_len = true;
        } else if eq_ic(opt, "withmatchlen") {
            o.with_match_len = true;
        } else if eq_ic(opt, "minmatchlen") && j + 1 < argv.len() {
            let Some(n) = parse_i64(&argv[j + 1]) else {
                ctx.reply().err(errors::NOT_INTEGER);
                return None;
            };
            o.min_match_len = n.max(0);
            j += 1;
        } else {
            ctx.reply().err(errors::SYNTAX);
            return None;
        }
        j += 1;
    }
    if o.get_len && o.get_idx {
        ctx.reply()
            .err("ERR If you want both the length and indexes, please just use IDX.");
        return None;
    }
    Some(o)
}

/// The two strings LCS compares (a missing key is an empty string).
fn lcs_inputs(ctx: &mut Ctx) -> Option<(Vec<u8>, Vec<u8>)> {
    let argv = ctx.argv;
    let db = ctx.db;
    let mut out = Vec::with_capacity(2);
    let mut wrong_type = false;
    for key in &argv[1..3] {
        match ctx.srv.lookup_read(db, key) {
            None => out.push(Vec::new()),
            Some(Value::Str(s)) => out.push(s.to_vec()),
            Some(_) => {
                wrong_type = true;
                out.push(Vec::new());
            }
        }
    }
    if wrong_type {
        ctx.reply()
            .err("ERR The specified keys must contain string values");
        return None;
    }
    let b = out.pop().expect("two inputs");
    let a = out.pop().expect("two inputs");
    Some((a, b))
}

/// A matched range: (a_start, a_end, b_start, b_end), inclusive.
type LcsRange = (usize, usize, usize, usize);

/// Walks the LCS table back from the end, as Redis does, collecting the
/// common subsequence and the contiguous matched ranges (last first).
fn lcs_backtrack(
    a: &[u8],
    b: &[u8],
    table: &[u32],
    min_match_len: i64,
) -> (Vec<u8>, Vec<LcsRange>) {
    let width = b.len() + 1;
    let cell = |i: usize, j: usize| table[i * width + j];
    let mut result = vec![0u8; cell(a.len(), b.len()) as usize];
    let mut idx = result.len();
    let mut ranges = Vec::new();
    let mut current: Option<LcsRange> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            match current.as_mut() {
                None => current = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if current.is_some_and(|r| r.0 == 0 || r.2 == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if cell(i - 1, j) > cell(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit {
            if let Some(r) = current.take() {
                let match_len = (r.1 - r.0 + 1) as i64;
                if min_match_len == 0 || match_len >= min_match_len {
                    ranges.push(r);
                }
            }
        }
    }
    (result, ranges)
}

fn lcs_command(ctx: &mut Ctx) {
    let Some((a, b)) = lcs_inputs(ctx) else {
        return;
    };
    let Some(opts) = parse_lcs_options(ctx) else {
        return;
    };
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells * 4 > ctx.srv.config.hot.proto_max_bulk_len as u64 {
        ctx.reply()
            .err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    ctx.srv.cost.elements((cells / 64) as usize);
    let width = b.len() + 1;
    let mut table = vec![0u32; cells as usize];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let len = table[a.len() * width + b.len()] as i64;
    if opts.get_len {
        ctx.reply().int(len);
        return;
    }
    let (result, ranges) = lcs_backtrack(&a, &b, &table, opts.min_match_len);
    if !opts.get_idx {
        ctx.reply().bulk(&result);
        return;
    }
    ctx.reply().map(2);
    ctx.reply().bulk(b"matches");
    ctx.reply().array(ranges.len());
    for (a_start, a_end, b_start, b_end) in ranges {
        ctx.reply().array(if opts.with_match_len { 3 } else { 2 });
        ctx.reply().array(2);
        ctx.reply().int(a_start as i64);
        ctx.reply().int(a_end as i64);
        ctx.reply().array(2);
        ctx.reply().int(b_start as i64);
        ctx.reply().int(b_end as i64);
        if opts.with_match_len {
            ctx.reply().int((a_end - a_start + 1) as i64);
        }
    }
    ctx.reply().bulk(b"len");
    ctx.reply().int(len);
}

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, flags::READONLY | flags::FAST, get_command).with_keys(1, 1, 1),
    Command::new("set", -3, flags::WRITE | flags::DENYOOM, set_command).with_keys(1, 1, 1),
    Command::new(
        "setnx",
        3,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        setnx_command,
    )
    .with_keys(1, 1, 1),
    Command::new("setex", 4, flags::WRITE | flags::DENYOOM, setex_command).with_keys(1, 1, 1),
    Command::new("psetex", 4, flags::WRITE | flags::DENYOOM, psetex_command).with_keys(1, 1, 1),
    Command::new("mget", -2, flags::READONLY | flags::FAST, mget_command).with_keys(1, -1, 1),
    Command::new("mset", -3, flags::WRITE | flags::DENYOOM, mset_command).with_keys(1, -1, 2),
    Command::new("msetnx", -3, flags::WRITE | flags::DENYOOM, msetnx_command).with_keys(1, -1, 2),
    Command::new(
        "getset",
        3,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        getset_command,
    )
    .with_keys(1, 1, 1),
    Command::new("getdel", 2, flags::WRITE | flags::FAST, getdel_command).with_keys(1, 1, 1),
    Command::new("getex", -2, flags::WRITE | flags::FAST, getex_command).with_keys(1, 1, 1),
    Command::new(
        "incr",
        2,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        incr_command,
    )
    .with_keys(1, 1, 1),
    Command::new(
        "decr",
        2,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        decr_command,
    )
    .with_keys(1, 1, 1),
    Command::new(
        "incrby",
        3,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        incrby_command,
    )
    .with_keys(1, 1, 1),
    Command::new(
        "decrby",
        3,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        decrby_command,
    )
    .with_keys(1, 1, 1),
    Command::new(
        "incrbyfloat",
        3,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        incrbyfloat_command,
    )
    .with_keys(1, 1, 1),
    Command::new(
        "append",
        3,
        flags::WRITE | flags::DENYOOM | flags::FAST,
        append_command,
    )
    .with_keys(1, 1, 1),
    Command::new("strlen", 2, flags::READONLY | flags::FAST, strlen_command).with_keys(1, 1, 1),
    Command::new("getrange", 4, flags::READONLY, getrange_command).with_keys(1, 1, 1),
    Command::new("substr", 4, flags::READONLY, getrange_command).with_keys(1, 1, 1),
    Command::new(
        "setrange",
        4,
        flags::WRITE | flags::DENYOOM,
        setrange_command,
    )
    .with_keys(1, 1, 1),
    Command::new("lcs", -3, flags::READONLY, lcs_command).with_keys(1, 2, 1),
];
