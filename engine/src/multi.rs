//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (multi.c), and the
//! wrapping of a call's propagated commands in MULTI/EXEC
//! (propagatePendingCommands).
//!
//! The WATCH registry lives in the server, not in the clients: a key can be
//! touched while the client that watches it is the one running (and is then
//! out of the client map), so the CAS-dirty flags are kept here too.

use std::collections::{BTreeMap, BTreeSet};

use crate::commands::{self, flags, Command, Ctx};
use crate::networking::Client;
use crate::server::Server;
use crate::ConnId;

pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// One key a client watches (watchedKey in multi.c).
#[derive(Debug, Clone)]
struct WatchedKey {
    db: usize,
    key: Vec<u8>,
    /// The key was already logically expired when WATCH ran.
    expired: bool,
}

#[derive(Debug, Default)]
pub struct WatchState {
    /// (db, key) -> the clients watching it, in WATCH order.
    keys: BTreeMap<(usize, Vec<u8>), Vec<ConnId>>,
    /// Each client's watched keys.
    by_client: BTreeMap<ConnId, Vec<WatchedKey>>,
    /// Clients whose next EXEC must fail (CLIENT_DIRTY_CAS).
    dirty_cas: BTreeSet<ConnId>,
    /// Keys the running command wrote; they are touched only if the command
    /// changed the dataset (Redis calls signalModifiedKey next to dirty++).
    pending: Vec<(usize, Vec<u8>)>,
}

impl WatchState {
    pub fn is_dirty(&self, conn: ConnId) -> bool {
        self.dirty_cas.contains(&conn)
    }
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }
}

impl Server {
    /// Notes that the running command wrote `key`; see `WatchState::pending`.
    pub fn signal_modified_key(&mut self, db: usize, key: &[u8]) {
        if self.watch.keys.is_empty() {
            return;
        }
        if self.watch.keys.contains_key(&(db, key.to_vec())) {
            self.watch.pending.push((db, key.to_vec()));
        }
    }
}

/// End of a call: touch the keys it wrote if it changed the dataset.
pub fn commit_modified_keys(srv: &mut Server, changed: bool) {
    let pending = std::mem::take(&mut srv.watch.pending);
    if changed {
        for (db, key) in pending {
            touch_watched_key(srv, db, &key);
        }
    }
}

/// touchWatchedKey: every client watching the key fails its next EXEC,
/// except one that watched it already expired and sees it now deleted.
pub fn touch_watched_key(srv: &mut Server, db: usize, key: &[u8]) {
    let Some(conns) = srv.watch.keys.get(&(db, key.to_vec())).cloned() else {
        return;
    };
    let exists = srv.dbs[db].dict.contains_key(key);
    for conn in conns {
        let Some(list) = srv.watch.by_client.get_mut(&conn) else {
            continue;
        };
        let Some(wk) = list.iter_mut().find(|wk| wk.db == db && wk.key == key) else {
            continue;
        };
        if wk.expired {
            if !exists {
                // The stale key is gone: logically nothing changed.
                wk.expired = false;
                continue;
            }
            // multi.c stops here for the remaining watchers too (a `break`).
            break;
        }
        srv.watch.dirty_cas.insert(conn);
        unwatch_all_keys(srv, conn);
    }
}

/// touchAllWatchedKeysInDb: FLUSHDB/FLUSHALL (replaced_with None) and
/// SWAPDB. Call before the databases change.
pub fn touch_all_watched_keys_in_db(
    srv: &mut Server,
    emptied: usize,
    replaced_with: Option<usize>,
) {
    let keys: Vec<(usize, Vec<u8>)> = srv
        .watch
        .keys
        .range((emptied, Vec::new())..)
        .take_while(|(k, _)| k.0 == emptied)
        .map(|(k, _)| k.clone())
        .collect();
    for (db, key) in keys {
        let exists_in_emptied = srv.dbs[db].dict.contains_key(&key);
        let exists_in_other =
            replaced_with.is_some_and(|other| srv.dbs[other].dict.contains_key(&key));
        if !exists_in_emptied && !exists_in_other {
            continue;
        }
        let other_expired = replaced_with.is_some_and(|other| srv.key_is_expired(other, &key));
        let conns = srv
            .watch
            .keys
            .get(&(db, key.clone()))
            .cloned()
            .unwrap_or_default();
        for conn in conns {
            let Some(list) = srv.watch.by_client.get_mut(&conn) else {
                continue;
            };
            let Some(wk) = list.iter_mut().find(|wk| wk.db == db && wk.key == key) else {
                continue;
            };
            if wk.expired {
                if !exists_in_other {
                    wk.expired = false;
                    continue;
                } else if other_expired {
                    continue;
                }
            } else if !exists_in_emptied && other_expired {
                wk.expired = true;
                continue;
            }
            srv.watch.dirty_cas.insert(conn);
        }
    }
}

fn watch_for_key(srv: &mut Server, conn: ConnId, db: usize, key: &[u8]) {
    let list = srv.watch.by_client.entry(conn).or_default();
    if list.iter().any(|wk| wk.db == db && wk.key == key) {
        return;
    }
    let expired = srv.key_is_expired(db, key);
    srv.watch
        .by_client
        .entry(conn)
        .or_default()
        .push(WatchedKey {
            db,
            key: key.to_vec(),
            expired,
        });
    srv.watch
        .keys
        .entry((db, key.to_vec()))
        .or_default()
        .push(conn);
}

pub fn unwatch_all_keys(srv: &mut Server, conn: ConnId) {
    let Some(list) = srv.watch.by_client.remove(&conn) else {
        return;
    };
    for wk in list {
        let slot = (wk.db, wk.key);
        if let Some(conns) = srv.watch.keys.get_mut(&slot) {
            conns.retain(|&c| c != conn);
            if conns.is_empty() {
                srv.watch.keys.remove(&slot);
            }
        }
    }
}

/// isWatchedKeyExpired: a key that was live at WATCH time and has expired
/// since then (even if nobody deleted it yet) fails the EXEC.
fn watched_key_expired(srv: &Server, conn: ConnId) -> bool {
    let Some(list) = srv.watch.by_client.get(&conn) else {
        return false;
    };
    list.iter()
        .any(|wk| !wk.expired && srv.key_is_expired(wk.db, &wk.key))
}

/// A client goes away: forget its watches.
pub fn free_client_state(srv: &mut Server, conn: ConnId) {
    unwatch_all_keys(srv, conn);
    srv.watch.dirty_cas.remove(&conn);
}

pub fn discard_transaction(srv: &mut Server, conn: ConnId) {
    if let Some(c) = srv.clients.get_mut(&conn) {
        c.mstate.clear();
        c.in_multi = false;
        c.dirty_exec = false;
        c.mstate_write = false;
    }
    srv.watch.dirty_cas.remove(&conn);
    unwatch_all_keys(srv, conn);
}

/// flagTransaction: an error while queueing makes the EXEC abort.
pub fn flag_transaction(c: &mut Client) {
    if c.in_multi {
        c.dirty_exec = true;
    }
}

/// Commands Redis refuses inside MULTI (CMD_NO_MULTI).
pub fn denied_in_multi(cmd: &Command) -> bool {
    matches!(cmd.name, "sync" | "psync" | "save" | "shutdown")
}

/// Commands that run at once even inside MULTI.
pub fn runs_inside_multi(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// queueMultiCommand plus the +QUEUED reply. Once the transaction is
/// doomed there is no point keeping the arguments.
pub fn queue_command(c: &mut Client, cmd: &Command, argv: &[Vec<u8>]) {
    if !c.dirty_exec {
        c.mstate.push(argv.to_vec());
        if cmd.is_write() {
            c.mstate_write = true;
        }
    }
    c.reply.simple("QUEUED");
}

fn multi_command(ctx: &mut Ctx) {
    if ctx.c().in_multi {
        ctx.reply().err("ERR MULTI calls can not be nested");
        return;
    }
    ctx.c().in_multi = true;
    ctx.reply().ok();
}

fn discard_command(ctx: &mut Ctx) {
    if !ctx.c().in_multi {
        ctx.reply().err("ERR DISCARD without MULTI");
        return;
    }
    discard_transaction(ctx.srv, ctx.conn);
    ctx.reply().ok();
}

fn exec_command(ctx: &mut Ctx) {
    if !ctx.c().in_multi {
        ctx.reply().err("ERR EXEC without MULTI");
        return;
    }
    let conn = ctx.conn;
    if watched_key_expired(ctx.srv, conn) {
        ctx.srv.watch.dirty_cas.insert(conn);
    }
    if ctx.c().dirty_exec || ctx.srv.watch.is_dirty(conn) {
        if ctx.c().dirty_exec {
            ctx.reply().err(EXECABORT);
        } else {
            ctx.reply().null_array();
        }
        discard_transaction(ctx.srv, ctx.conn);
        return;
    }
    unwatch_all_keys(ctx.srv, conn);
    let queued = std::mem::take(&mut ctx.c().mstate);
    ctx.reply().array(queued.len());
    ctx.srv.in_exec = true;
    for argv in &queued {
        // The table is static, so the lookup that queued the command finds it again.
        let base = ctx
            .srv
            .table
            .lookup(&argv[0])
            .expect("queued commands exist");
        let (cmd, full_name) = commands::resolve(base, argv).expect("queued commands resolve");
        ctx.c().last_cmd = full_name.clone();
        ctx.srv.call(ctx.conn, cmd, &full_name, argv);
    }
    ctx.srv.in_exec = false;
    ctx.c().last_cmd = "exec".into();
    discard_transaction(ctx.srv, ctx.conn);
}

fn watch_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if ctx.c().in_multi {
        ctx.reply().err("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let conn = ctx.conn;
    if !ctx.srv.watch.is_dirty(conn) {
        for key in &argv[1..] {
            watch_for_key(ctx.srv, conn, ctx.db, key);
        }
    }
    ctx.reply().ok();
}

fn unwatch_command(ctx: &mut Ctx) {
    let conn = ctx.conn;
    unwatch_all_keys(ctx.srv, conn);
    ctx.srv.watch.dirty_cas.remove(&conn);
    ctx.reply().ok();
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]; only RESP2 is spoken.
pub(crate) fn hello_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let mut next = 1;
    if argv.len() >= 2 {
        let Some(ver) = crate::util::parse_i64(&argv[1]) else {
            ctx.reply()
                .err("ERR Protocol version is not an integer or out of range");
            return;
        };
        // RESP3 is not implemented, so version 3 is refused like an unknown one.
        if ver != 2 {
            ctx.reply().err("NOPROTO unsupported protocol version");
            return;
        }
        next = 2;
    }
    let mut j = next;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = &argv[j];
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            // Only the default user without a password exists.
            if !argv[j + 1].eq_ignore_ascii_case(b"default") {
                ctx.reply()
                    .err("WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            let n = &argv[j + 1];
            if n.iter().any(|&b| b <= b' ' || b > b'~') {
                ctx.reply()
                    .err("ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            // Redis renames at once, even if a later option is bad.
            ctx.c().name = n.clone();
            j += 2;
        } else {
            let mut e = b"-ERR Syntax error in HELLO option '".to_vec();
            e.extend_from_slice(commands::c_string_prefix(opt, usize::MAX));
            e.extend_from_slice(b"'\r\n");
            ctx.reply().raw(&e);
            return;
        }
    }
    ctx.reply().array(14);
    ctx.reply().bulk_str("server");
    ctx.reply().bulk_str("redis");
    ctx.reply().bulk_str("version");
    ctx.reply().bulk_str("7.0.15");
    ctx.reply().bulk_str("proto");
    ctx.reply().int(2);
    ctx.reply().bulk_str("id");
    let id = ctx.client().id as i64;
    ctx.reply().int(id);
    ctx.reply().bulk_str("mode");
    let mode = if ctx.srv.sentinel.is_some() {
        "sentinel"
    } else {
        "standalone"
    };
    ctx.reply().bulk_str(mode);
    ctx.reply().bulk_str("role");
    let role = if ctx.srv.repl.master.is_some() {
        "replica"
    } else {
        "master"
    };
    ctx.reply().bulk_str(role);
    ctx.reply().bulk_str("modules");
    ctx.reply().array(0);
}

/// Where a propagated command goes (PROPAGATE_AOF | PROPAGATE_REPL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    AofAndRepl,
    /// Replicas only: PUBLISH (forceCommandPropagation(c, PROPAGATE_REPL)).
    ReplOnly,
}

/// propagatePendingCommands: what one top-level call produced goes to the
/// replicas, wrapped in MULTI/EXEC when it is more than one command.
pub fn propagate_pending_commands(srv: &mut Server, cmd: &Command) {
    let ops = std::mem::take(&mut srv.pending_propagate);
    if ops.is_empty() {
        return;
    }
    // RANDOMKEY and SCAN may expire arbitrary keys: Redis does not wrap those.
    let transaction = ops.len() > 1 && !matches!(cmd.name, "randomkey" | "scan");
    let first_db = ops[0].0;
    let last_db = ops[ops.len() - 1].0;
    if transaction {
        crate::replication::propagate(srv, first_db, &[b"MULTI".to_vec()]);
    }
    for (db, argv, target) in ops {
        match target {
            Target::AofAndRepl => crate::replication::propagate(srv, db, &argv),
            Target::ReplOnly => crate::replication::propagate_repl(srv, db, &argv),
        }
    }
    if transaction {
        crate::replication::propagate(srv, last_db, &[b"EXEC".to_vec()]);
    }
}

const TXN: u32 = flags::FAST | flags::STALE | flags::LOADING | flags::NOSCRIPT;

pub const COMMANDS: &[Command] = &[
    Command::new("multi", 1, TXN, multi_command),
    Command::new(
        "exec",
        1,
        flags::STALE | flags::LOADING | flags::NOSCRIPT | flags::NO_PROPAGATE,
        exec_command,
    ),
    Command::new("discard", 1, TXN, discard_command),
    Command::new("watch", -2, TXN, watch_command).with_keys(1, -1, 1),
    Command::new("unwatch", 1, TXN, unwatch_command),
    Command::new("hello", -1, TXN, hello_command),
];
