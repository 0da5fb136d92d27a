//! The replica side: the link to the master (REPL_STATE_* handshake), the
//! RDB transfer and load, the master client, ACKs, timeouts, REPLICAOF and ROLE.

use crate::commands::Ctx;
use crate::networking::{Client, ClientKind};
use crate::reply::errors;
use crate::resp::{encode_command, parse_reply, Value};
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use crate::{ConnId, LogLevel, Output};

/// REPL_STATE_* (server.h), with the handshake reply states folded together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplState {
    Connect,
    Connecting,
    ReceivePingReply,
    ReceiveHandshakeReplies,
    ReceivePsyncReply,
    Transfer,
    Connected,
}

impl ReplState {
    /// The state name ROLE reports.
    pub fn role_name(self) -> &'static str {
        match self {
            ReplState::Connect => "connect",
            ReplState::Connecting => "connecting",
            ReplState::Transfer => "sync",
            ReplState::Connected => "connected",
            _ => "handshake",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Transfer {
    /// Diskless: the 40-byte EOF mark; disk-based: None and `total_bytes` set.
    pub eof_mark: Option<Vec<u8>>,
    pub total_bytes: Option<usize>,
    pub data: Vec<u8>,
    /// How far `data` was searched for the EOF mark without finding it.
    pub scanned: usize,
}

#[derive(Debug, Clone)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: ReplState,
    pub conn: Option<ConnId>,
    /// server.unixtime of the last I/O on the link during handshake/transfer.
    pub transfer_lastio_s: i64,
    /// Bytes received during handshake/transfer not yet consumed.
    pub buf: Vec<u8>,
    pub handshake_replies_pending: usize,
    pub transfer: Option<Transfer>,
    pub master_replid: String,
    pub initial_offset: i64,
    /// Offset of the stream applied (master->reploff).
    pub reploff: i64,
}

impl MasterLink {
    pub fn new(host: String, port: u16) -> MasterLink {
        MasterLink {
            host,
            port,
            state: ReplState::Connect,
            conn: None,
            transfer_lastio_s: 0,
            buf: Vec::new(),
            handshake_replies_pending: 0,
            transfer: None,
            master_replid: String::new(),
            initial_offset: -1,
            reploff: 0,
        }
    }
}

pub fn master_client(srv: &Server) -> Option<&Client> {
    let conn = srv.repl.master.as_ref()?.conn?;
    srv.clients
        .get(&conn)
        .map(|c| &**c)
        .filter(|c| c.kind == ClientKind::Master)
}

fn link(srv: &mut Server) -> &mut MasterLink {
    srv.repl
        .master
        .as_mut()
        .expect("replica-side code runs only on a replica")
}

fn send_command(srv: &mut Server, conn: ConnId, argv: &[&[u8]]) {
    let bytes = encode_command(argv);
    srv.send(conn, bytes);
}

/// connectWithMaster.
fn connect_with_master(srv: &mut Server) {
    let conn = srv.new_outbound_conn();
    let now = srv.unixtime();
    let l = link(srv);
    l.conn = Some(conn);
    l.state = ReplState::Connecting;
    l.transfer_lastio_s = now;
    l.buf.clear();
    let (host, port) = (l.host.clone(), l.port);
    srv.outputs.push_back(Output::Connect { conn, host, port });
    srv.log(LogLevel::Notice, "MASTER <-> REPLICA sync started".into());
}

pub fn connected(srv: &mut Server, conn: ConnId) {
    if !super::owns_outbound(srv, conn) || link(srv).state != ReplState::Connecting {
        return;
    }
    srv.log(
        LogLevel::Notice,
        "Non blocking connect for SYNC fired the event.".into(),
    );
    let now = srv.unixtime();
    let l = link(srv);
    l.state = ReplState::ReceivePingReply;
    l.transfer_lastio_s = now;
    send_command(srv, conn, &[b"PING"]);
}

pub fn connect_failed(srv: &mut Server, conn: ConnId) {
    if !super::owns_outbound(srv, conn) {
        return;
    }
    srv.log(
        LogLevel::Warning,
        "Error condition on socket for SYNC: Connection refused".into(),
    );
    cancel_handshake(srv, false);
}

/// cancelReplicationHandshake: drop the link, back to REPL_STATE_CONNECT.
fn cancel_handshake(srv: &mut Server, close: bool) {
    let l = link(srv);
    let conn = l.conn.take();
    l.state = ReplState::Connect;
    l.buf.clear();
    l.transfer = None;
    if let (Some(conn), true) = (conn, close) {
        srv.outputs.push_back(Output::Close { conn });
    }
}

pub fn link_closed(srv: &mut Server, conn: ConnId) {
    if srv
        .clients
        .get(&conn)
        .is_some_and(|c| c.kind == ClientKind::Master)
    {
        srv.free_client(conn);
        return;
    }
    let state = link(srv).state;
    if state == ReplState::Transfer {
        srv.log(
            LogLevel::Warning,
            "I/O error trying to sync with MASTER: connection lost".into(),
        );
    } else {
        srv.log(
            LogLevel::Warning,
            "Master closed the connection during the handshake".into(),
        );
    }
    cancel_handshake(srv, false);
}

/// Bytes on the master link before it carries the command stream.
pub fn read_handshake_or_transfer(srv: &mut Server, _conn: ConnId, bytes: &[u8]) {
    let now = srv.unixtime();
    let l = link(srv);
    l.transfer_lastio_s = now;
    if l.state == ReplState::Transfer {
        read_transfer(srv, bytes);
        return;
    }
    l.buf.extend_from_slice(bytes);
    loop {
        let state = link(srv).state;
        if !matches!(
            state,
            ReplState::ReceivePingReply
                | ReplState::ReceiveHandshakeReplies
                | ReplState::ReceivePsyncReply
        ) {
            return;
        }
        // Keepalive newlines may precede the PSYNC reply.
        let l = link(srv);
        while l.buf.first() == Some(&b'\n') {
            l.buf.remove(0);
        }
        let parsed = match parse_reply(&l.buf) {
            Ok(Some(p)) => p,
            Ok(None) => return,
            Err(e) => {
                srv.log(
                    LogLevel::Warning,
                    format!("Bad reply from MASTER during the handshake: {}", e),
                );
                cancel_handshake(srv, true);
                return;
            }
        };
        let (reply, used) = parsed;
        link(srv).buf.drain(..used);
        handshake_step(srv, state, reply);
    }
}

fn handshake_step(srv: &mut Server, state: ReplState, reply: Value) {
    let conn = link(srv).conn.expect("handshake has a connection");
    match state {
        ReplState::ReceivePingReply => {
            if let Value::Error(e) = &reply {
                let allowed = e.starts_with("NOAUTH")
                    || e.starts_with("NOPERM")
                    || e.starts_with("ERR operation not permitted");
                if !allowed {
                    srv.log(
                        LogLevel::Warning,
                        format!("Error reply to PING from master: '-{}'", e),
                    );
                    cancel_handshake(srv, true);
                    return;
                }
            }
            srv.log(
                LogLevel::Notice,
                "Master replied to PING, replication can continue...".into(),
            );
            let port = srv.config.int("replica-announce-port");
            let port = if port > 0 {
                port as u16
            } else {
                srv.options.port
            }
            .to_string();
            send_command(
                srv,
                conn,
                &[b"REPLCONF", b"listening-port", port.as_bytes()],
            );
            send_command(
                srv,
                conn,
                &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"],
            );
            let l = link(srv);
            l.state = ReplState::ReceiveHandshakeReplies;
            l.handshake_replies_pending = 2;
        }
        ReplState::ReceiveHandshakeReplies => {
            if let Value::Error(e) = &reply {
                srv.log(
                    LogLevel::Notice,
                    format!("(Non critical) Master does not understand REPLCONF: -{}", e),
                );
            }
            let l = link(srv);
            l.handshake_replies_pending -= 1;
            if l.handshake_replies_pending == 0 {
                send_psync(srv, conn);
            }
        }
        ReplState::ReceivePsyncReply => psync_reply(srv, reply),
        _ => unreachable!("handshake_step only runs in handshake states"),
    }
}

fn send_psync(srv: &mut Server, conn: ConnId) {
    let (replid, offset) = match srv.repl.cached_master.clone() {
        Some((id, off)) => {
            srv.log(
                LogLevel::Notice,
                format!(
                    "Trying a partial resynchronization (request {}:{}).",
                    id,
                    off + 1
                ),
            );
            (id, (off + 1).to_string())
        }
        None => {
            srv.log(
                LogLevel::Notice,
                "Partial resynchronization not possible (no cached master)".into(),
            );
            ("?".to_string(), "-1".to_string())
        }
    };
    send_command(srv, conn, &[b"PSYNC", replid.as_bytes(), offset.as_bytes()]);
    link(srv).state = ReplState::ReceivePsyncReply;
}

fn psync_reply(srv: &mut Server, reply: Value) {
    let text = match &reply {
        Value::Simple(s) => s.clone(),
        Value::Error(e) => {
            if e.starts_with("NOMASTERLINK") || e.starts_with("LOADING") {
                srv.log(
                    LogLevel::Notice,
                    format!(
                        "Master is currently unable to PSYNC but should be in the future: -{}",
                        e
                    ),
                );
            } else {
                srv.log(
                    LogLevel::Warning,
                    format!("Unexpected reply to PSYNC from master: -{}", e),
                );
            }
            cancel_handshake(srv, true);
            return;
        }
        other => format!("{:?}", other),
    };
    let words: Vec<&str> = text.split(' ').collect();
    match words.first().copied() {
        Some("FULLRESYNC") if words.len() == 3 => {
            let offset = words[2].parse::<i64>().unwrap_or(-1);
            srv.log(
                LogLevel::Notice,
                format!("Full resync from master: {}:{}", words[1], offset),
            );
            let l = link(srv);
            l.master_replid = words[1].to_string();
            l.initial_offset = offset;
            l.state = ReplState::Transfer;
            l.transfer = Some(Transfer::default());
            let rest = std::mem::take(&mut l.buf);
            read_transfer(srv, &rest);
        }
        Some("CONTINUE") => continue_partial(srv, words.get(1).map(|s| s.to_string())),
        _ => {
            srv.log(
                LogLevel::Warning,
                format!("Unexpected reply to PSYNC from master: {}", text),
            );
            cancel_handshake(srv, true);
        }
    }
}

/// +CONTINUE: resurrect the cached master; switch ids if the master's changed.
fn continue_partial(srv: &mut Server, new_id: Option<String>) {
    srv.log(
        LogLevel::Notice,
        "Successful partial resynchronization with master.".into(),
    );
    let (cached_id, cached_off) = srv
        .repl
        .cached_master
        .take()
        .expect("PSYNC with an id means a cached master");
    if let Some(new_id) = new_id.filter(|id| *id != cached_id) {
        srv.repl.replid2 = cached_id;
        srv.repl.second_replid_offset = srv.repl.master_repl_offset + 1;
        srv.repl.replid = new_id.clone();
        srv.log(
            LogLevel::Notice,
            format!("Master replication ID changed to {}", new_id),
        );
        disconnect_sub_replicas(srv);
    }
    srv.log(
        LogLevel::Notice,
        "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.".into(),
    );
    srv.event("master_link_up", "partial resync".into());
    if srv.repl.backlog.is_none() {
        super::create_backlog(srv);
    }
    let rest = std::mem::take(&mut link(srv).buf);
    create_master_client(srv, cached_off, rest);
}

fn disconnect_sub_replicas(srv: &mut Server) {
    let subs: Vec<ConnId> = srv
        .clients
        .values()
        .filter(|c| c.kind == ClientKind::Replica)
        .map(|c| c.conn)
        .collect();
    for conn in subs {
        srv.close_connection(conn);
    }
}

/// readSyncBulkPayload: gather the RDB, then load it.
fn read_transfer(srv: &mut Server, bytes: &[u8]) {
    let l = link(srv);
    let t = l.transfer.as_mut().expect("transfer state");
    t.data.extend_from_slice(bytes);
    if t.eof_mark.is_none() && t.total_bytes.is_none() {
        // Skip keepalive newlines, then read the "$EOF:<mark>" or "$<len>" line.
        while t.data.first() == Some(&b'\n') {
            t.data.remove(0);
        }
        let Some(eol) = t.data.windows(2).position(|w| w == b"\r\n") else {
            return;
        };
        let line = t.data[..eol].to_vec();
        t.data.drain(..eol + 2);
        if let Some(mark) = line.strip_prefix(b"$EOF:") {
            t.eof_mark = Some(mark.to_vec());
        } else if let Some(len) = line
            .strip_prefix(b"$")
            .and_then(parse_i64)
            .filter(|n| *n >= 0)
        {
            t.total_bytes = Some(len as usize);
        } else {
            srv.log(LogLevel::Warning, format!("Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", String::from_utf8_lossy(&line)));
            cancel_handshake(srv, true);
            return;
        }
        let kind = if t.eof_mark.is_some() {
            "with EOF to disk"
        } else {
            "to disk"
        };
        let what = match t.total_bytes {
            Some(n) => format!(
                "MASTER <-> REPLICA sync: receiving {} bytes from master {}",
                n, kind
            ),
            None => format!(
                "MASTER <-> REPLICA sync: receiving streamed RDB from master {}",
                kind
            ),
        };
        srv.log(LogLevel::Notice, what);
        return read_transfer(srv, &[]);
    }
    let l = link(srv);
    let t = l.transfer.as_mut().expect("transfer state");
    let (payload, rest) = match (&t.eof_mark, t.total_bytes) {
        (Some(mark), _) => {
            // Resume the search where the last one stopped (less a mark's
            // length): scanning from the start each time would make a large
            // transfer quadratic.
            let from = t.scanned.saturating_sub(mark.len());
            match find(&t.data[from..], mark) {
                Some(at) => (
                    t.data[..from + at].to_vec(),
                    t.data[from + at + mark.len()..].to_vec(),
                ),
                None => {
                    t.scanned = t.data.len();
                    return;
                }
            }
        }
        (None, Some(n)) if t.data.len() >= n => (t.data[..n].to_vec(), t.data[n..].to_vec()),
        _ => return,
    };
    load_payload(srv, &payload, rest);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// readSyncBulkPayload: a BGSAVE of the old dataset must neither overwrite
/// the synced one nor copy-on-write the whole load.
fn kill_rdb_child_before_load(srv: &mut Server) {
    let Some(child) = srv.child.as_ref() else {
        return;
    };
    if child.kind != crate::child::ChildKind::Rdb || child.killed {
        return;
    }
    let pid = child.pid;
    if srv.config.get("repl-diskless-load").as_deref() != Some("swapdb") {
        srv.log(LogLevel::Notice, format!("Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process {} and removing its temp file to avoid any race", pid));
    }
    crate::child::kill_rdb_child(srv);
}

fn load_payload(srv: &mut Server, payload: &[u8], rest: Vec<u8>) {
    let usemark = link(srv)
        .transfer
        .as_ref()
        .is_some_and(|t| t.eof_mark.is_some());
    crate::aof::stop_for_full_sync(srv);
    kill_rdb_child_before_load(srv);
    // replicationAttachToNewMaster: sub-replicas resync, the old history goes.
    discard_cached_master(srv);
    disconnect_sub_replicas(srv);
    srv.repl.backlog = None;
    srv.log(
        LogLevel::Notice,
        "MASTER <-> REPLICA sync: Flushing old data".into(),
    );
    let lazy = srv.config.bool("replica-lazy-flush");
    srv.empty_data_lazy(None, lazy);
    srv.log(
        LogLevel::Notice,
        "MASTER <-> REPLICA sync: Loading DB in memory".into(),
    );
    let opts = crate::rdb::LoadOptions {
        limits: crate::rdb::limits_from_config(&srv.config),
        ..crate::rdb::LoadOptions::new(srv.dbs.len())
    };
    match crate::rdb::load_with(payload, &opts) {
        Ok(loaded) => {
            srv.dbs = loaded.dbs;
            let elements: usize = srv
                .dbs
                .iter()
                .flat_map(|d| d.dict.values())
                .map(|v| v.element_count())
                .sum();
            srv.cost.elements(elements * 3);
        }
        Err(e) => {
            srv.log(
                LogLevel::Warning,
                format!(
                    "Failed trying to load the MASTER synchronization DB from socket: {}",
                    e
                ),
            );
            cancel_handshake(srv, true);
            crate::aof::restart_after_sync(srv);
            return;
        }
    }
    let (replid, offset) = {
        let l = link(srv);
        (l.master_replid.clone(), l.initial_offset)
    };
    srv.repl.replid = replid;
    srv.repl.master_repl_offset = offset;
    super::clear_replication_id2(srv);
    super::create_backlog(srv);
    srv.log(
        LogLevel::Notice,
        "MASTER <-> REPLICA sync: Finished with success".into(),
    );
    srv.event(
        "master_link_up",
        format!("full sync {} bytes", payload.len()),
    );
    create_master_client(srv, offset, rest);
    if usemark {
        send_ack(srv);
    }
    crate::aof::restart_after_sync(srv);
}

/// replicationCreateMasterClient: from here the link carries commands.
fn create_master_client(srv: &mut Server, reploff: i64, leftover: Vec<u8>) {
    let now_ms = srv.mstime();
    let id = srv.next_client_id;
    srv.next_client_id += 1;
    let (conn, peer) = {
        let l = link(srv);
        l.state = ReplState::Connected;
        l.reploff = reploff;
        l.transfer = None;
        l.buf.clear();
        (
            l.conn.expect("connected link"),
            format!("{}:{}", l.host, l.port),
        )
    };
    let mut client = Client::new(id, conn, peer, now_ms);
    client.fd = srv.alloc_fd();
    client.kind = ClientKind::Master;
    srv.clients.insert(conn, Box::new(client));
    srv.repl.down_since_s = 0;
    if !leftover.is_empty() {
        srv.read_from_client(conn, &leftover);
    }
}

/// The master client applied `bytes` of stream: advance our offset, keep
/// them in our backlog (for PSYNC after a promotion) and proxy them to
/// our own replicas.
pub fn stream_applied(srv: &mut Server, _conn: ConnId, bytes: &[u8]) {
    if let Some(l) = srv.repl.master.as_mut() {
        l.reploff += bytes.len() as i64;
    }
    srv.stats.net_repl_input_bytes += bytes.len() as u64;
    // replicationFeedStreamFromMasterStream: the very bytes we applied go
    // through the one feed a master uses, so sub-replicas waiting for or in
    // a full sync get them too (Redis 7.0's shared replication buffer).
    super::master::feed_stream(srv, bytes);
}

/// freeClient for the master: cache it for a later PSYNC.
pub fn master_client_freed(srv: &mut Server, client: &Client) {
    let Some(l) = srv.repl.master.as_mut() else {
        return;
    };
    let reploff = l.reploff;
    l.state = ReplState::Connect;
    l.conn = None;
    srv.repl.cached_master = Some((srv.repl.replid.clone(), reploff));
    srv.repl.down_since_s = srv.unixtime();
    srv.log(LogLevel::Notice, "Connection with master lost.".into());
    srv.log(
        LogLevel::Notice,
        "Caching the disconnected master state.".into(),
    );
    srv.event("master_link_down", format!("offset {}", reploff));
    srv.outputs.push_back(Output::Close { conn: client.conn });
    // replicationHandleMasterDisconnection: reconnect at once rather than at
    // the next replicationCron, since waiting risks the backlog moving on.
    let (host, port) = {
        let l = link(srv);
        (l.host.clone(), l.port)
    };
    srv.log(
        LogLevel::Notice,
        format!("Reconnecting to MASTER {}:{}", host, port),
    );
    connect_with_master(srv);
}

/// replicationSendAck.
pub fn send_ack(srv: &mut Server) {
    let Some(conn) = master_client(srv).map(|c| c.conn) else {
        return;
    };
    let offset = link(srv).reploff.to_string();
    send_command(srv, conn, &[b"REPLCONF", b"ACK", offset.as_bytes()]);
}

/// The replica half of replicationCron.
pub fn cron(srv: &mut Server) {
    let Some(l) = srv.repl.master.as_ref() else {
        return;
    };
    let now = srv.unixtime();
    let timeout = srv.config.hot.repl_timeout_s;
    let state = l.state;
    let handshaking = matches!(
        state,
        ReplState::Connecting
            | ReplState::ReceivePingReply
            | ReplState::ReceiveHandshakeReplies
            | ReplState::ReceivePsyncReply
    );
    if handshaking && now - l.transfer_lastio_s > timeout {
        srv.log(
            LogLevel::Warning,
            "Timeout connecting to the MASTER...".into(),
        );
        cancel_handshake(srv, true);
    } else if state == ReplState::Transfer && now - l.transfer_lastio_s > timeout {
        srv.log(
            LogLevel::Warning,
            "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.".into(),
        );
        cancel_handshake(srv, true);
    } else if state == ReplState::Connected {
        let last = master_client(srv).map_or(now, |c| c.last_interaction_ms / 1000);
        if now - last > timeout {
            srv.log(
                LogLevel::Warning,
                "MASTER timeout: no data nor PING received...".into(),
            );
            let conn = master_client(srv).map(|c| c.conn).expect("connected");
            srv.free_client(conn);
        }
    }
    if link(srv).state == ReplState::Connect {
        let (host, port) = {
            let l = link(srv);
            (l.host.clone(), l.port)
        };
        srv.log(
            LogLevel::Notice,
            format!("Connecting to MASTER {}:{}", host, port),
        );
        connect_with_master(srv);
    }
    if link(srv).state == ReplState::Connected {
        send_ack(srv);
    }
}

/// REPLICAOF host port | REPLICAOF NO ONE.
pub fn replicaof_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if eq_ic(&argv[1], "no") && eq_ic(&argv[2], "one") {
        if ctx.srv.repl.master.is_some() {
            unset_master(ctx.srv);
            let who = ctx.client().info_line(ctx.srv.mstime(), "");
            ctx.srv.log(
                LogLevel::Notice,
                format!("MASTER MODE enabled (user request from '{}')", who),
            );
        }
        ctx.reply().ok();
        return;
    }
    if ctx.c().kind == ClientKind::Replica {
        ctx.reply()
            .err("ERR Command is not valid when client is a replica.");
        return;
    }
    let Some(port) = parse_i64(&argv[2]).filter(|p| (0..=65535).contains(p)) else {
        ctx.reply().err(errors::NOT_INTEGER);
        return;
    };
    let host = String::from_utf8_lossy(&argv[1]).into_owned();
    if ctx
        .srv
        .repl
        .master
        .as_ref()
        .is_some_and(|m| m.host == host && m.port == port as u16)
    {
        ctx.srv.log(LogLevel::Notice, "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.".into());
        ctx.reply()
            .simple("OK Already connected to specified master");
        return;
    }
    set_master(ctx.srv, host.clone(), port as u16);
    let who = ctx.client().info_line(ctx.srv.mstime(), "");
    ctx.srv.log(
        LogLevel::Notice,
        format!(
            "REPLICAOF {}:{} enabled (user request from '{}')",
            host, port, who
        ),
    );
    ctx.reply().ok();
}

/// replicationDiscardCachedMaster.
fn discard_cached_master(srv: &mut Server) {
    if srv.repl.cached_master.take().is_some() {
        srv.log(
            LogLevel::Notice,
            "Discarding previously cached master state.".into(),
        );
    }
}

/// freeClient(server.master) with masterhost already cleared:
/// replicationCacheMaster without the reconnect.
fn cache_and_drop_master_client(srv: &mut Server) {
    let Some(conn) = master_client(srv).map(|c| c.conn) else {
        return;
    };
    srv.log(LogLevel::Notice, "Connection with master lost.".into());
    srv.log(
        LogLevel::Notice,
        "Caching the disconnected master state.".into(),
    );
    let reploff = link(srv).reploff;
    srv.repl.cached_master = Some((srv.repl.replid.clone(), reploff));
    if let Some(c) = srv.clients.remove(&conn) {
        srv.client_fds.remove(&c.fd);
    }
    srv.outputs.push_back(Output::Close { conn });
}

/// replicationSetMaster.
pub fn set_master(srv: &mut Server, host: String, port: u16) {
    let was_master = srv.repl.master.is_none();
    if master_client(srv).is_some() {
        // The new master is dialled below.
        cache_and_drop_master_client(srv);
    } else if srv.repl.master.is_some() {
        cancel_handshake(srv, true);
    }
    // Blocked WAIT clients cannot be served by a replica.
    let blocked: Vec<ConnId> = srv
        .clients
        .values()
        .filter(|c| c.blocked_wait.is_some())
        .map(|c| c.conn)
        .collect();
    for conn in blocked {
        if let Some(c) = srv.clients.get_mut(&conn) {
            c.blocked_wait = None;
            c.reply.err("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
        }
    }
    if was_master {
        discard_cached_master(srv);
        // replicationCacheMasterUsingMyself: PSYNC the new master with our own history.
        srv.log(LogLevel::Notice, "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.".into());
        srv.repl.cached_master = Some((srv.repl.replid.clone(), srv.repl.master_repl_offset));
    }
    srv.log(
        LogLevel::Notice,
        format!("Connecting to MASTER {}:{}", host, port),
    );
    srv.repl.master = Some(MasterLink::new(host, port));
    connect_with_master(srv);
}

/// replicationUnsetMaster: promotion.
pub fn unset_master(srv: &mut Server) {
    let connected = master_client(srv).is_some();
    cache_and_drop_master_client(srv);
    discard_cached_master(srv);
    if !connected && srv.repl.master.is_some() {
        cancel_handshake(srv, true);
    }
    srv.repl.master = None;
    super::shift_replication_id(srv);
    disconnect_sub_replicas(srv);
    srv.repl.slaveseldb = -1;
    srv.repl.no_slaves_since_s = srv.unixtime();
    srv.event(
        "promoted",
        format!("offset {}", srv.repl.master_repl_offset),
    );
}

pub fn role_command(ctx: &mut Ctx) {
    match &ctx.srv.repl.master {
        None => {
            let replicas: Vec<(String, u16, i64)> = ctx
                .srv
                .clients
                .values()
                .filter(|c| c.kind == ClientKind::Replica)
                .filter_map(|c| {
                    c.replica
                        .as_ref()
                        .map(|r| (r.ip.clone(), r.listening_port, r.ack_off))
                })
                .collect();
            ctx.reply().array(3);
            ctx.reply().bulk_str("master");
            let offset = ctx.srv.repl.master_repl_offset;
            ctx.reply().int(offset);
            ctx.reply().array(replicas.len());
            for (ip, port, off) in replicas {
                ctx.reply().array(3);
                ctx.reply().bulk_str(&ip);
                ctx.reply().bulk_str(&port.to_string());
                ctx.reply().bulk_str(&off.to_string());
            }
        }
        Some(l) => {
            let offset = if l.state == ReplState::Connected {
                l.reploff
            } else {
                -1
            };
            let (host, port, state) = (l.host.clone(), l.port, l.state.role_name());
            ctx.reply().array(5);
            ctx.reply().bulk_str("slave");
            ctx.reply().bulk_str(&host);
            ctx.reply().int(port as i64);
            ctx.reply().bulk_str(state);
            ctx.reply().int(offset);
        }
    }
}
