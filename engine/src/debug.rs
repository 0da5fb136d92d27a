//! DEBUG (SLEEP, POPULATE, SET-ACTIVE-EXPIRE, ...) and OBJECT.

use crate::commands::{flags, Command, Ctx};
use crate::object::{encoding_of, EncodingLimits, Value};
use crate::util::{eq_ic, parse_f64, parse_i64};

/// enable-debug-command (default no) guards DEBUG as in Redis 7.0; "local"
/// allows loopback clients. The scenario's admin hand (the operator on the
/// box) may always use it.
fn debug_allowed(ctx: &Ctx) -> bool {
    let c = ctx.client();
    let local =
        c.peer.starts_with("127.") || c.peer.starts_with("[::1]") || c.peer.starts_with("::1");
    match ctx.srv.config.get("enable-debug-command").as_deref() {
        Some("yes") => true,
        Some("local") => local || c.admin,
        _ => c.admin,
    }
}

fn debug_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if !debug_allowed(ctx) {
        ctx.reply().err("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
        return;
    }
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    match sub.as_str() {
        "sleep" if argv.len() == 3 => {
            let seconds = parse_f64(&argv[2]).unwrap_or(0.0).max(0.0);
            ctx.srv.cost.block_us((seconds * 1e6) as u64);
            ctx.reply().ok();
        }
        "populate" if (3..=5).contains(&argv.len()) => debug_populate(ctx),
        "reload" => crate::rdb::bgsave::debug_reload(ctx),
        "set-active-expire" if argv.len() == 3 => {
            // Like atoi: anything that is not a nonzero number turns it off.
            ctx.srv.active_expire_enabled = parse_i64(&argv[2]).unwrap_or(0) != 0;
            ctx.reply().ok();
        }
        "change-repl-id" if argv.len() == 2 => {
            crate::replication::change_replication_id(ctx.srv);
            crate::replication::clear_replication_id2(ctx.srv);
            ctx.reply().ok();
        }
        "replybuffer" if argv.len() == 4 && debug_replybuffer(ctx) => {}
        _ => ctx.reply().err(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&argv[1])
        )),
    }
}

/// DEBUG REPLYBUFFER PEAK-RESET-TIME <never|reset|ms> / RESIZING <0|1>.
/// False for an unknown option (the caller answers the syntax error).
fn debug_replybuffer(ctx: &mut Ctx) -> bool {
    let argv = ctx.argv;
    let knobs = &mut ctx.srv.reply_buffer;
    if argv[2].eq_ignore_ascii_case(b"peak-reset-time") {
        if argv[3].eq_ignore_ascii_case(b"never") {
            knobs.peak_reset_time_ms = -1;
        } else if argv[3].eq_ignore_ascii_case(b"reset") {
            knobs.peak_reset_time_ms = crate::reply_buffer::DEFAULT_PEAK_RESET_TIME_MS;
        } else if let Some(ms) = crate::resp::parse_i64_strict(&argv[3]) {
            knobs.peak_reset_time_ms = ms;
        } else {
            ctx.reply()
                .err("ERR value is not an integer or out of range");
            return true;
        }
    } else if argv[2].eq_ignore_ascii_case(b"resizing") {
        // atoi: a leading number, anything else is 0.
        let digits: Vec<u8> = argv[3]
            .iter()
            .copied()
            .take_while(|b| b.is_ascii_digit() || *b == b'-')
            .collect();
        knobs.resizing_enabled = parse_i64(&digits).unwrap_or(0) != 0;
    } else {
        return false;
    }
    ctx.reply().ok();
    true
}

/// DEBUG POPULATE count [prefix] [size]: keys "<prefix>:<n>" with values
/// "value:<n>", padded with zero bytes (or cut) to `size` when it is not
/// 0. Existing keys are skipped; nothing is propagated. Padded values are
/// stored compact (head + run of NULs), so a multi-GB simulated dataset
/// costs only its keys in real memory.
fn debug_populate(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(count) = parse_i64(&argv[2]).filter(|&n| n >= 0) else {
        ctx.reply()
            .err("ERR value is out of range, must be positive");
        return;
    };
    let prefix = argv.get(3).cloned().unwrap_or_else(|| b"key".to_vec());
    let size = match argv.get(4) {
        None => 0,
        Some(a) => match parse_i64(a) {
            Some(n) if n >= 0 => n as usize,
            _ => {
                ctx.reply()
                    .err("ERR value is out of range, must be positive");
                return;
            }
        },
    };
    let db = ctx.db;
    let mut key = prefix.clone();
    key.push(b':');
    let mut text = b"value:".to_vec();
    let mut swapped_in = 0;
    crate::memory::flush_pending(ctx.srv);
    for j in 0..count {
        key.truncate(prefix.len() + 1);
        crate::resp::push_decimal(&mut key, j as u64);
        let srv = &mut *ctx.srv;
        if srv.dbs[db].dict.contains_key(&key) {
            continue;
        }
        text.truncate(6);
        crate::resp::push_decimal(&mut text, j as u64);
        let value = if size == 0 {
            crate::object::StrObj::from(text.clone())
        } else {
            crate::object::StrObj::from_run(&text, 0, size)
        };
        let new = crate::evict::new_entry(srv, Value::Str(value));
        let indexmap::map::Entry::Vacant(slot) = srv.dbs[db].dict.entry(key.clone()) else {
            continue;
        };
        let entry = slot.insert(new);
        swapped_in += crate::memory::place(&mut srv.mem, key.len(), entry, None);
    }
    ctx.srv
        .cost
        .block_us(swapped_in * ctx.srv.options.machine.swap_in_latency_us);
    ctx.srv.cost.elements(count as usize * 4);
    ctx.reply().ok();
}

pub fn encoding_limits(srv: &crate::server::Server) -> EncodingLimits {
    let c = &srv.config;
    EncodingLimits {
        hash_max_listpack_entries: c.int("hash-max-listpack-entries") as usize,
        hash_max_listpack_value: c.int("hash-max-listpack-value") as usize,
        set_max_intset_entries: c.int("set-max-intset-entries") as usize,
        zset_max_listpack_entries: c.int("zset-max-listpack-entries") as usize,
        zset_max_listpack_value: c.int("zset-max-listpack-value") as usize,
        list_max_listpack_size: c.int("list-max-listpack-size"),
    }
}

fn object_help_command(ctx: &mut Ctx) {
    let lines = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply().simple_lines(&lines);
}

/// Redis stores small integer strings (0..OBJ_SHARED_INTEGERS) as shared
/// objects with refcount INT_MAX, unless an LRU/LFU maxmemory policy needs
/// per-key access data.
fn is_shared_integer(value: &Value, per_key_lru: bool) -> bool {
    let Value::Str(s) = value else { return false };
    // Only strings that went through tryObjectEncoding can be shared:
    // INCRBYFLOAT results and strings grown by APPEND/SETRANGE are not.
    let tried_as_integer = s.encoding == crate::object::StrEncoding::Auto;
    !per_key_lru
        && tried_as_integer
        && s.len() <= 20
        && parse_i64(s).is_some_and(|n| (0..10_000).contains(&n))
}

/// OBJECT ENCODING/REFCOUNT/IDLETIME/FREQ: a missing key replies nil.
fn object_key_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let limits = encoding_limits(ctx.srv);
    let policy = ctx.srv.config.get("maxmemory-policy").unwrap_or_default();
    let per_key_lru = ctx.srv.config.hot.maxmemory_bytes > 0
        && (policy.contains("lru") || policy.contains("lfu"));
    let db = ctx.db;
    let sub = argv[1].clone();
    let key = argv[2].clone();
    let Some(value) = ctx.srv.lookup_read_notouch(db, &key) else {
        ctx.reply().null();
        return;
    };
    if eq_ic(&sub, "encoding") {
        let enc = encoding_of(value, &limits);
        ctx.reply().bulk_str(enc);
    } else if eq_ic(&sub, "refcount") {
        let shared = is_shared_integer(value, per_key_lru);
        ctx.reply()
            .int(if shared { i64::from(i32::MAX) } else { 1 });
    } else {
        object_lru_reply(ctx, db, &key, eq_ic(&sub, "idletime"));
    }
}

/// OBJECT IDLETIME (seconds since the last access, LRU policies) and
/// OBJECT FREQ (the decayed LFU counter, LFU policies).
fn object_lru_reply(ctx: &mut Ctx, db: usize, key: &[u8], idletime: bool) {
    let lfu = crate::evict::policy(ctx.srv).is_lfu();
    let lru = ctx.srv.dbs[db].dict.get(key).map_or(0, |e| e.meta.lru);
    if idletime && lfu {
        ctx.reply().err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    } else if idletime {
        let idle_s = crate::evict::idle_ms(ctx.srv, lru) / 1000;
        ctx.reply().int(idle_s as i64);
    } else if !lfu {
        ctx.reply().err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    } else {
        let freq = crate::evict::lfu_decr_and_return(ctx.srv, lru);
        ctx.reply().int(i64::from(freq));
    }
}

const OBJECT_SUBCOMMANDS: &[Command] = &[
    Command::new(
        "help",
        2,
        flags::LOADING | flags::STALE,
        object_help_command,
    ),
    Command::new("encoding", 3, flags::READONLY, object_key_command).with_keys(2, 2, 1),
    Command::new("refcount", 3, flags::READONLY, object_key_command).with_keys(2, 2, 1),
    Command::new("idletime", 3, flags::READONLY, object_key_command).with_keys(2, 2, 1),
    Command::new("freq", 3, flags::READONLY, object_key_command).with_keys(2, 2, 1),
];

pub const COMMANDS: &[Command] = &[
    Command::new(
        "debug",
        -2,
        flags::ADMIN | flags::NOSCRIPT | flags::LOADING | flags::STALE | flags::NO_PROPAGATE,
        debug_command,
    ),
    Command::container("object", -2, 0, OBJECT_SUBCOMMANDS),
];
