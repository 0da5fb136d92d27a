//! The keyspace: databases, key lookup with lazy expiry, and the generic key
//! commands (DEL, UNLINK, EXISTS, TYPE, RENAME, KEYS, SCAN, DBSIZE, FLUSHDB,
//! FLUSHALL, RANDOMKEY, MOVE, SWAPDB).

use crate::commands::{flags, Command, Ctx};
use crate::object::{Entry, Map, Value};
use crate::reply::errors;
use crate::server::Server;
use crate::util::{eq_ic, glob_match, parse_i64};
use rand::Rng;

/// One database: keys and their expire times (unix ms).
#[derive(Debug, Default, Clone)]
pub struct Db {
    pub dict: Map<Vec<u8>, Entry>,
    pub expires: Map<Vec<u8>, i64>,
    pub avg_ttl_ms: i64,
    /// Cursor of the active expire cycle into `expires`.
    pub expires_cursor: usize,
}

impl Db {
    pub fn len(&self) -> usize {
        self.dict.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }
}

impl Server {
    /// Is this key past its expire time as this node sees it? (keyIsExpired)
    pub fn key_is_expired(&self, db: usize, key: &[u8]) -> bool {
        if self.loading {
            return false;
        }
        match self.dbs[db].expires.get(key) {
            None => false,
            Some(&when) => self.mstime() > when,
        }
    }

    /// expireIfNeeded: a master deletes an expired key and propagates DEL; a
    /// replica only reports it as expired to normal clients, and never to its
    /// master's stream. Returns true if the key should be treated as missing.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        if !self.key_is_expired(db, key) {
            return false;
        }
        if self.repl.master.is_some() {
            return !self.executing_master_stream;
        }
        self.delete_expired_key_and_propagate(db, key);
        true
    }

    pub fn delete_expired_key_and_propagate(&mut self, db: usize, key: &[u8]) {
        let lazy = self.config.bool("lazyfree-lazy-expire");
        self.db_delete_unsignaled(db, key, lazy);
        self.stats.expired_keys += 1;
        crate::multi::touch_watched_key(self, db, key);
        let cmd: &[u8] = if self.config.bool("lazyfree-lazy-expire") {
            b"UNLINK"
        } else {
            b"DEL"
        };
        let argv = vec![cmd.to_vec(), key.to_vec()];
        // Inside a command the DEL joins what the command propagates (and
        // may make it a MULTI/EXEC); from the expire cycle it goes at once.
        if self.call_depth > 0 {
            self.pending_propagate
                .push((db, argv, crate::multi::Target::AofAndRepl));
        } else {
            crate::replication::propagate(self, db, &argv);
        }
    }

    /// lookupKeyRead: lazy expire, hit/miss stats, access time.
    pub fn lookup_read(&mut self, db: usize, key: &[u8]) -> Option<&Value> {
        self.lookup_read_flags(db, key, true)
    }

    /// lookupKeyReadWithFlags(LOOKUP_NOTOUCH): EXISTS, TYPE, TTL and OBJECT
    /// leave the key's LRU/LFU data alone.
    pub fn lookup_read_notouch(&mut self, db: usize, key: &[u8]) -> Option<&Value> {
        self.lookup_read_flags(db, key, false)
    }

    fn lookup_read_flags(&mut self, db: usize, key: &[u8], touch: bool) -> Option<&Value> {
        if self.expire_if_needed(db, key) {
            self.stats.keyspace_misses += 1;
            return None;
        }
        if touch {
            crate::evict::touch(self, db, key);
        }
        crate::memory::key_read(self, db, key);
        match self.dbs[db].dict.get(key) {
            Some(v) => {
                self.stats.keyspace_hits += 1;
                Some(v)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// lookupKeyWrite: lazy expire, no stats.
    pub fn lookup_write(&mut self, db: usize, key: &[u8]) -> Option<&mut Value> {
        self.expire_if_needed(db, key);
        if self.repl.master.is_some()
            && !self.executing_master_stream
            && self.key_is_expired(db, key)
        {
            return None;
        }
        if self.dbs[db].dict.contains_key(key) {
            self.signal_modified_key(db, key);
            crate::evict::touch_write(self, db, key);
            crate::memory::key_write(self, db, key);
        }
        self.dbs[db].dict.get_mut(key).map(|e| &mut e.value)
    }

    /// Does the key exist (after lazy expiry), without touching stats.
    pub fn key_exists(&mut self, db: usize, key: &[u8]) -> bool {
        if self.expire_if_needed(db, key) {
            return false;
        }
        self.dbs[db].dict.contains_key(key)
    }

    /// setKey: store a value, dropping any TTL unless `keep_ttl`.
    pub fn set_key(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool) {
        self.signal_modified_key(db, key);
        let lru = crate::evict::lru_for_set(self, db, key);
        let d = &mut self.dbs[db];
        if !keep_ttl {
            d.expires.swap_remove(key);
        }
        let mut entry = Entry::new(value);
        entry.meta.lru = lru;
        let old = d.dict.insert(key.to_vec(), entry);
        crate::memory::key_stored(self, db, key, old.as_ref().map(|e| e.meta.alloc));
        if let Some(old) = old {
            let lazy = self.config.bool("lazyfree-lazy-server-del");
            crate::lazyfree::free_value(self, old.value, lazy);
        }
    }

    /// dbDelete: remove a key and its TTL. Returns whether it existed.
    pub fn db_delete(&mut self, db: usize, key: &[u8]) -> bool {
        let lazy = self.config.bool("lazyfree-lazy-server-del");
        self.db_delete_lazy(db, key, lazy)
    }

    /// dbGenericDelete: the value is freed on the bio thread if `lazy`
    /// and big (UNLINK, lazyfree-lazy-*), else at once.
    pub fn db_delete_lazy(&mut self, db: usize, key: &[u8], lazy: bool) -> bool {
        self.signal_modified_key(db, key);
        self.db_delete_unsignaled(db, key, lazy)
    }

    /// dbDelete without the WATCH signal (expiry signals on its own).
    fn db_delete_unsignaled(&mut self, db: usize, key: &[u8], lazy: bool) -> bool {
        let d = &mut self.dbs[db];
        d.expires.swap_remove(key);
        match d.dict.swap_remove(key) {
            Some(v) => {
                crate::memory::key_removed(self, v.meta.alloc);
                self.cost.elements(1);
                crate::lazyfree::free_value(self, v.value, lazy);
                true
            }
            None => false,
        }
    }

    pub fn set_expire(&mut self, db: usize, key: &[u8], when_ms: i64) {
        assert!(
            self.dbs[db].dict.contains_key(key),
            "set_expire on a missing key"
        );
        self.signal_modified_key(db, key);
        self.dbs[db].expires.insert(key.to_vec(), when_ms);
    }

    pub fn get_expire(&self, db: usize, key: &[u8]) -> Option<i64> {
        self.dbs[db].expires.get(key).copied()
    }

    /// Removes every key of every db (or one db). Returns keys removed.
    pub fn empty_data(&mut self, db: Option<usize>) -> usize {
        self.empty_data_lazy(db, false)
    }

    /// emptyData with EMPTYDB_ASYNC: each emptied db goes to the bio thread.
    pub fn empty_data_lazy(&mut self, db: Option<usize>, lazy: bool) -> usize {
        for i in 0..self.dbs.len() {
            if db.is_none_or(|only| only == i) {
                crate::multi::touch_all_watched_keys_in_db(self, i, None);
            }
        }
        for i in 0..self.dbs.len() {
            if db.is_none_or(|only| only == i) {
                crate::memory::db_emptied(self, i);
            }
        }
        let mut removed = 0;
        for i in 0..self.dbs.len() {
            if db.is_none_or(|only| only == i) {
                let old = std::mem::take(&mut self.dbs[i]);
                removed += old.dict.len();
                if lazy {
                    crate::lazyfree::free_db_async(self, old);
                } else {
                    self.cost.add_ns(crate::lazyfree::db_free_ns(&old));
                }
            }
        }
        removed
    }

    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }
}

fn del_command(ctx: &mut Ctx) {
    let lazy = ctx.srv.config.bool("lazyfree-lazy-user-del");
    del_generic(ctx, lazy);
}

fn unlink_command(ctx: &mut Ctx) {
    del_generic(ctx, true);
}

fn del_generic(ctx: &mut Ctx, lazy: bool) {
    let argv = ctx.argv;
    let mut deleted = 0;
    for key in &argv[1..] {
        ctx.srv.expire_if_needed(ctx.db, key);
        if ctx.srv.db_delete_lazy(ctx.db, key, lazy) {
            ctx.srv.dirty += 1;
            deleted += 1;
        }
    }
    ctx.reply().int(deleted);
}

fn exists_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let mut count = 0;
    for key in &argv[1..] {
        if ctx.srv.lookup_read_notouch(ctx.db, key).is_some() {
            count += 1;
        }
    }
    ctx.reply().int(count);
}

fn type_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let name = ctx
        .srv
        .lookup_read_notouch(ctx.db, &argv[1])
        .map_or("none", |v| v.type_name());
    ctx.reply().simple(name);
}

fn dbsize_command(ctx: &mut Ctx) {
    let len = ctx.srv.dbs[ctx.db].len() as i64;
    ctx.reply().int(len);
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC; without one,
/// lazyfree-lazy-user-flush decides. Returns Some(lazy), or None after
/// replying with the syntax error.
fn flush_flags(ctx: &mut Ctx) -> Option<bool> {
    let argv = ctx.argv;
    match argv.len() {
        1 => Some(ctx.srv.config.bool("lazyfree-lazy-user-flush")),
        2 if eq_ic(&argv[1], "async") => Some(true),
        2 if eq_ic(&argv[1], "sync") => Some(false),
        _ => {
            ctx.reply().err(errors::SYNTAX);
            None
        }
    }
}

fn flushdb_command(ctx: &mut Ctx) {
    let Some(lazy) = flush_flags(ctx) else { return };
    let removed = ctx.srv.empty_data_lazy(Some(ctx.db), lazy);
    ctx.srv.dirty += removed as u64 + 1;
    ctx.reply().ok();
}

fn flushall_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(lazy) = flush_flags(ctx) else { return };
    let removed = ctx.srv.empty_data_lazy(None, lazy);
    ctx.srv.dirty += removed as u64;
    // flushAllDataAndResetRDB: a BGSAVE of the old data must not land.
    crate::child::kill_rdb_child(ctx.srv);
    // With save points the empty dataset is saved at once (dirty back to
    // 0). FLUSHALL is propagated even when it changed nothing
    // (forceCommandPropagation), and only removed keys count as changes.
    crate::rdb::bgsave::flushall_save(ctx.srv);
    ctx.srv.also_propagate.push((ctx.db, argv.to_vec()));
    ctx.reply().ok();
}

fn keys_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let pattern = argv[1].clone();
    let db = ctx.db;
    let all_match = pattern == b"*";
    let candidates: Vec<Vec<u8>> = ctx.srv.dbs[db]
        .dict
        .keys()
        .filter(|k| all_match || glob_match(&pattern, k, false))
        .cloned()
        .collect();
    ctx.srv.cost.elements(ctx.srv.dbs[db].dict.len());
    let live: Vec<Vec<u8>> = candidates
        .into_iter()
        .filter(|k| {
            !ctx.srv.key_is_expired(db, k)
                || (ctx.srv.repl.master.is_some() && ctx.srv.executing_master_stream)
        })
        .collect();
    ctx.reply().bulks(live.iter());
}

/// Parses SCAN's cursor the way Redis does, with strtoul: an optional sign
/// (a negative cursor wraps around), decimal digits, nothing else; an empty
/// string is cursor 0; a leading space or an overflow is an error.
pub fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// Options shared by SCAN, SSCAN, HSCAN, ZSCAN: MATCH, COUNT, TYPE.
pub struct ScanOptions {
    pub pattern: Option<Vec<u8>>,
    pub count: usize,
    pub type_name: Option<String>,
}

/// Parses the scan options after the cursor; replies with Redis's error on failure.
pub fn parse_scan_options(ctx: &mut Ctx, from: usize, allow_type: bool) -> Option<ScanOptions> {
    let argv = ctx.argv;
    let mut opts = ScanOptions {
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut i = from;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        if eq_ic(&argv[i], "count") && remaining >= 1 {
            match parse_i64(&argv[i + 1]) {
                None => {
                    ctx.reply().err(errors::NOT_INTEGER);
                    return None;
                }
                Some(n) if n < 1 => {
                    ctx.reply().err(errors::SYNTAX);
                    return None;
                }
                Some(n) => opts.count = n as usize,
            }
        } else if eq_ic(&argv[i], "match") && remaining >= 1 {
            let p = argv[i + 1].clone();
            opts.pattern = if p == b"*" { None } else { Some(p) };
        } else if allow_type && eq_ic(&argv[i], "type") && remaining >= 1 {
            opts.type_name = Some(String::from_utf8_lossy(&argv[i + 1]).to_ascii_lowercase());
        } else {
            ctx.reply().err(errors::SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(opts)
}

/// SCAN over an insertion-ordered dict: the cursor is a position. Keys that
/// exist for the whole scan are returned (deleting keys may move a later key
/// to an earlier slot, which can then be missed: FIXME, Redis's
/// reverse-binary cursor does not have this gap).
fn scan_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let Some(cursor) = parse_scan_cursor(&argv[1]) else {
        ctx.reply().err("ERR invalid cursor");
        return;
    };
    let Some(opts) = parse_scan_options(ctx, 2, true) else {
        return;
    };
    let db = ctx.db;
    let len = ctx.srv.dbs[db].dict.len();
    let start = (cursor as usize).min(len);
    let end = (start + opts.count).min(len);
    let keys: Vec<Vec<u8>> = ctx.srv.dbs[db]
        .dict
        .get_range(start..end)
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    ctx.srv.cost.elements(keys.len());
    let mut out = Vec::new();
    for key in keys {
        if let Some(p) = &opts.pattern {
            if !glob_match(p, &key, false) {
                continue;
            }
        }
        if let Some(t) = &opts.type_name {
            match ctx.srv.dbs[db].dict.get(&key) {
                Some(v) if v.type_name() == t => {}
                _ => continue,
            }
        }
        if ctx.srv.expire_if_needed(db, &key) {
            continue;
        }
        out.push(key);
    }
    let next = if end >= len { 0 } else { end };
    ctx.reply().array(2);
    ctx.reply().bulk_i64(next as i64);
    ctx.reply().bulks(out.iter());
}

fn rename_generic(ctx: &mut Ctx, nx: bool) {
    let argv = ctx.argv;
    let db = ctx.db;
    let (src, dst) = (argv[1].clone(), argv[2].clone());
    if ctx.srv.lookup_write(db, &src).is_none() {
        ctx.reply().err(errors::NO_SUCH_KEY);
        return;
    }
    if src == dst {
        if nx {
            ctx.reply().int(0);
        } else {
            ctx.reply().ok();
        }
        return;
    }
    let expire = ctx.srv.get_expire(db, &src);
    if ctx.srv.lookup_write(db, &dst).is_some() {
        if nx {
            ctx.reply().int(0);
            return;
        }
        ctx.srv.db_delete(db, &dst);
    }
    let value = ctx.srv.dbs[db]
        .dict
        .swap_remove(&src)
        .expect("checked above");
    crate::memory::key_removed(ctx.srv, value.meta.alloc);
    ctx.srv.dbs[db].expires.swap_remove(&src);
    ctx.srv.set_key(db, &dst, value.value, false);
    crate::evict::keep_lru(ctx.srv, db, &dst, value.meta.lru);
    if let Some(when) = expire {
        ctx.srv.set_expire(db, &dst, when);
    }
    ctx.srv.dirty += 1;
    if nx {
        ctx.reply().int(1);
    } else {
        ctx.reply().ok();
    }
}

fn rename_command(ctx: &mut Ctx) {
    rename_generic(ctx, false);
}

fn renamenx_command(ctx: &mut Ctx) {
    rename_generic(ctx, true);
}

fn randomkey_command(ctx: &mut Ctx) {
    let db = ctx.db;
    for _ in 0..100 {
        let len = ctx.srv.dbs[db].dict.len();
        if len == 0 {
            break;
        }
        let index = ctx.srv.rng.gen_range(0..len);
        let key = ctx.srv.dbs[db]
            .dict
            .get_index(index)
            .map(|(k, _)| k.clone())
            .expect("index in range");
        if ctx.srv.expire_if_needed(db, &key) {
            continue;
        }
        ctx.reply().bulk(&key);
        return;
    }
    ctx.reply().null();
}

fn move_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let src_db = ctx.db;
    let dst_db = match crate::server::get_int_arg(&argv[2], None) {
        Ok(i) if ctx.srv.db_index_ok(i64::from(i)) => i as usize,
        Ok(_) => {
            ctx.reply().err(errors::INVALID_DB);
            return;
        }
        Err(e) => {
            ctx.reply().err(&e);
            return;
        }
    };
    if src_db == dst_db {
        ctx.reply()
            .err("ERR source and destination objects are the same");
        return;
    }
    let key = argv[1].clone();
    if ctx.srv.lookup_write(src_db, &key).is_none() || ctx.srv.lookup_write(dst_db, &key).is_some()
    {
        ctx.reply().int(0);
        return;
    }
    let expire = ctx.srv.get_expire(src_db, &key);
    let value = ctx.srv.dbs[src_db]
        .dict
        .swap_remove(&key)
        .expect("checked above");
    crate::memory::key_removed(ctx.srv, value.meta.alloc);
    ctx.srv.dbs[src_db].expires.swap_remove(&key);
    ctx.srv.set_key(dst_db, &key, value.value, false);
    crate::evict::keep_lru(ctx.srv, dst_db, &key, value.meta.lru);
    if let Some(when) = expire {
        ctx.srv.set_expire(dst_db, &key, when);
    }
    ctx.srv.dirty += 1;
    ctx.reply().int(1);
}

/// COPY source destination [DB index] [REPLACE]
fn copy_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let src_db = ctx.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if eq_ic(&argv[j], "replace") {
            replace = true;
        } else if eq_ic(&argv[j], "db") && j + 1 < argv.len() {
            match crate::server::get_int_arg(&argv[j + 1], None) {
                Ok(i) if ctx.srv.db_index_ok(i64::from(i)) => dst_db = i as usize,
                Ok(_) => return ctx.reply().err(errors::INVALID_DB),
                Err(e) => return ctx.reply().err(&e),
            }
            j += 1;
        } else {
            return ctx.reply().err(errors::SYNTAX);
        }
        j += 1;
    }
    let (key, newkey) = (argv[1].clone(), argv[2].clone());
    if src_db == dst_db && key == newkey {
        return ctx
            .reply()
            .err("ERR source and destination objects are the same");
    }
    let Some(value) = ctx.srv.lookup_read(src_db, &key).cloned() else {
        return ctx.reply().int(0);
    };
    let expire = ctx.srv.get_expire(src_db, &key);
    if ctx.srv.lookup_write(dst_db, &newkey).is_some() {
        if !replace {
            return ctx.reply().int(0);
        }
        ctx.srv.db_delete(dst_db, &newkey);
    }
    ctx.srv.cost.elements(value.element_count());
    ctx.srv.set_key(dst_db, &newkey, value, false);
    if let Some(when) = expire {
        ctx.srv.set_expire(dst_db, &newkey, when);
    }
    ctx.srv.dirty += 1;
    ctx.reply().int(1);
}

fn swapdb_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let a = match crate::server::get_int_arg(&argv[1], Some("invalid first DB index")) {
        Ok(a) => i64::from(a),
        Err(e) => return ctx.reply().err(&e),
    };
    let b = match crate::server::get_int_arg(&argv[2], Some("invalid second DB index")) {
        Ok(b) => i64::from(b),
        Err(e) => return ctx.reply().err(&e),
    };
    if !ctx.srv.db_index_ok(a) || !ctx.srv.db_index_ok(b) {
        ctx.reply().err(errors::INVALID_DB);
        return;
    }
    crate::multi::touch_all_watched_keys_in_db(ctx.srv, a as usize, Some(b as usize));
    crate::multi::touch_all_watched_keys_in_db(ctx.srv, b as usize, Some(a as usize));
    ctx.srv.dbs.swap(a as usize, b as usize);
    ctx.srv.dirty += 1;
    ctx.reply().ok();
}

pub const COMMANDS: &[Command] = &[
    Command::new("del", -2, flags::WRITE, del_command).with_keys(1, -1, 1),
    Command::new("unlink", -2, flags::WRITE | flags::FAST, unlink_command).with_keys(1, -1, 1),
    Command::new("exists", -2, flags::READONLY | flags::FAST, exists_command).with_keys(1, -1, 1),
    Command::new("type", 2, flags::READONLY | flags::FAST, type_command).with_keys(1, 1, 1),
    Command::new("dbsize", 1, flags::READONLY | flags::FAST, dbsize_command),
    Command::new("flushdb", -1, flags::WRITE, flushdb_command),
    Command::new("flushall", -1, flags::WRITE, flushall_command),
    Command::new("keys", 2, flags::READONLY, keys_command),
    Command::new("scan", -2, flags::READONLY, scan_command),
    Command::new("rename", 3, flags::WRITE, rename_command).with_keys(1, 2, 1),
    Command::new("renamenx", 3, flags::WRITE | flags::FAST, renamenx_command).with_keys(1, 2, 1),
    Command::new("randomkey", 1, flags::READONLY, randomkey_command),
    Command::new("move", 3, flags::WRITE | flags::FAST, move_command).with_keys(1, 1, 1),
    Command::new("swapdb", 3, flags::WRITE | flags::FAST, swapdb_command),
    Command::new("copy", -3, flags::WRITE | flags::DENYOOM, copy_command).with_keys(1, 2, 1),
];
