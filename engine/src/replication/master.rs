//! The master side: PSYNC/SYNC, full sync through a forked RDB child,
//! feeding the stream to the backlog and replicas, REPLCONF, WAIT, the
//! min-replicas good-replica count, and the master half of replicationCron.

use crate::commands::Ctx;
use crate::networking::{Client, ClientKind, ReplicaInfo, SlaveState};
use crate::reply::errors;
use crate::server::Server;
use crate::util::{eq_ic, parse_i64};
use crate::{ConnId, LogLevel};
use rand::RngCore;

/// Full-sync progress of one replica.
#[derive(Debug, Clone, Default)]
pub struct ReplicaSync {
    /// Stream bytes produced since the fork, held until the replica is online.
    pub pending: Vec<u8>,
    /// Attached with the old SYNC command (redis-cli --replica, test
    /// helpers): it gets no +FULLRESYNC line and never sends REPLCONF ACK.
    pub pre_psync: bool,
    /// The RDB has been handed to the network (diskless: waiting for the first ACK).
    pub rdb_transmitted: bool,
}

fn replica_name(c: &Client) -> String {
    match &c.replica {
        Some(r) => format!("{}:{}", r.ip, r.listening_port),
        None => c.peer.clone(),
    }
}

fn peer_ip(peer: &str) -> String {
    peer.rsplit_once(':').map_or(peer, |(ip, _)| ip).to_string()
}

fn replica_conns(srv: &Server) -> Vec<ConnId> {
    srv.clients
        .values()
        .filter(|c| c.kind == ClientKind::Replica)
        .map(|c| c.conn)
        .collect()
}

pub fn psync_command(ctx: &mut Ctx) {
    sync_generic(ctx, true);
}

pub fn sync_command(ctx: &mut Ctx) {
    sync_generic(ctx, false);
}

/// syncCommand: try a partial resync, else queue a full one.
fn sync_generic(ctx: &mut Ctx, psync: bool) {
    let argv = ctx.argv;
    if ctx.c().kind == ClientKind::Replica {
        return;
    }
    if ctx.srv.repl.master.is_some() && !super::master_link_up(ctx.srv) {
        ctx.reply()
            .err("NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    let name = format!(
        "{}:{}",
        peer_ip(&ctx.c().peer),
        ctx.c().replica.as_ref().map_or(0, |r| r.listening_port)
    );
    ctx.srv.log(
        LogLevel::Notice,
        format!("Replica {} asks for synchronization", name),
    );
    let (capa_eof, capa_psync2, listening_port) =
        ctx.c().replica.as_ref().map_or((false, false, 0), |r| {
            (r.capa_eof, r.capa_psync2, r.listening_port)
        });
    ctx.c().kind = ClientKind::Replica;
    ctx.c().replica = Some(ReplicaInfo {
        state: SlaveState::WaitBgsaveStart,
        listening_port,
        ip: peer_ip(&ctx.c().peer),
        ack_off: 0,
        ack_time_s: ctx.srv.unixtime(),
        initial_offset: 0,
        capa_eof,
        capa_psync2,
        pending_stream_bytes: 0,
        obuf_soft_limit_reached_s: 0,
    });
    if psync {
        let replid = String::from_utf8_lossy(&argv[1]).into_owned();
        let offset = parse_i64(&argv[2]).unwrap_or(-1);
        if try_partial_resync(ctx, &replid, offset, &name) {
            return;
        }
    }
    ctx.srv.stats.sync_full += 1;
    ctx.srv.event("full_sync", format!("replica {}", name));
    // The caller is a replica already: it is the first if it is the only one.
    let first = replica_conns(ctx.srv).len() == 1 && ctx.srv.repl.backlog.is_none();
    if first {
        super::change_replication_id(ctx.srv);
        super::clear_replication_id2(ctx.srv);
        super::create_backlog(ctx.srv);
        let msg = format!(
            "Replication backlog created, my new replication IDs are '{}' and '{}'",
            ctx.srv.repl.replid, ctx.srv.repl.replid2
        );
        ctx.srv.log(LogLevel::Notice, msg);
    }
    ctx.srv.repl.syncs.insert(
        ctx.conn,
        ReplicaSync {
            pre_psync: !psync,
            ..ReplicaSync::default()
        },
    );
    let diskless = ctx.srv.config.hot.repl_diskless_sync && capa_eof;
    let rdb_child = ctx.srv.rdb.child_type;
    if rdb_child == Some(crate::rdb::bgsave::RdbChildType::Disk) {
        ctx.srv.log(
            LogLevel::Notice,
            "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC"
                .into(),
        );
    } else if rdb_child == Some(crate::rdb::bgsave::RdbChildType::Socket) {
        ctx.srv.log(
            LogLevel::Notice,
            "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC".into(),
        );
    } else if diskless && ctx.srv.config.hot.repl_diskless_sync_delay_s > 0 {
        // The child starts in replicationCron, once more replicas may have come.
        ctx.srv.log(
            LogLevel::Notice,
            "Delay next BGSAVE for diskless SYNC".into(),
        );
    } else if crate::child::has_active_child(ctx.srv) {
        ctx.srv.log(LogLevel::Notice, "No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed".into());
    } else {
        start_child_for_replication(ctx.srv, diskless);
    }
}

/// masterTryPartialResynchronization.
fn try_partial_resync(ctx: &mut Ctx, replid: &str, offset: i64, name: &str) -> bool {
    let r = &ctx.srv.repl;
    let id_ok = replid == r.replid || (replid == r.replid2 && offset <= r.second_replid_offset);
    if !id_ok {
        if replid == "?" {
            ctx.srv.log(
                LogLevel::Notice,
                format!("Full resync requested by replica {}", name),
            );
        } else {
            if replid != r.replid2 {
                let msg = format!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    replid, r.replid, r.replid2
                );
                ctx.srv.log(LogLevel::Notice, msg);
            } else {
                let msg = format!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                    offset, r.second_replid_offset
                );
                ctx.srv.log(LogLevel::Notice, msg);
            }
            ctx.srv.stats.sync_partial_err += 1;
            ctx.srv.event(
                "partial_sync_err",
                format!("replica {} offset {}", name, offset),
            );
        }
        return false;
    }
    let covered = r.backlog.as_ref().is_some_and(|b| b.covers(offset));
    let master_offset = r.master_repl_offset;
    if !covered {
        let msg = format!("Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).", name, offset);
        ctx.srv.log(LogLevel::Notice, msg);
        if offset > master_offset {
            let msg = format!("Warning: replica {} tried to PSYNC with an offset that is greater than the master replication offset.", name);
            ctx.srv.log(LogLevel::Warning, msg);
        }
        ctx.srv.stats.sync_partial_err += 1;
        ctx.srv.event(
            "partial_sync_err",
            format!("replica {} offset {}", name, offset),
        );
        return false;
    }
    let data = ctx
        .srv
        .repl
        .backlog
        .as_ref()
        .expect("covered")
        .copy_from(offset);
    let now_s = ctx.srv.unixtime();
    let replid = ctx.srv.repl.replid.clone();
    let info = ctx.c().replica.as_mut().expect("set by sync_generic");
    info.state = SlaveState::Online;
    info.ack_time_s = now_s;
    info.initial_offset = offset - 1;
    let header = if info.capa_psync2 {
        format!("+CONTINUE {}\r\n", replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    ctx.reply().raw(header.as_bytes());
    ctx.reply().raw(&data);
    ctx.srv.stats.sync_partial_ok += 1;
    ctx.srv.stats.net_repl_output_bytes += data.len() as u64;
    let msg = format!("Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.", name, data.len(), offset);
    ctx.srv.log(LogLevel::Notice, msg);
    ctx.srv.event(
        "partial_sync_ok",
        format!("replica {} offset {} bytes {}", name, offset, data.len()),
    );
    refresh_good_slaves_count(ctx.srv);
    true
}

/// startBgsaveForReplication: fork, send +FULLRESYNC to every waiting
/// replica, and hand the child the dataset as it is now. A disk target is
/// a BGSAVE (temp file renamed to dbfilename) whose image the replicas get
/// when the child ends; a socket target gets the image at once and the
/// child only burns the CPU of producing it.
pub fn start_child_for_replication(srv: &mut Server, diskless: bool) {
    if crate::child::has_active_child(srv) {
        return;
    }
    let target = if diskless { "replicas sockets" } else { "disk" };
    srv.log(
        LogLevel::Notice,
        format!("Starting BGSAVE for SYNC with target: {}", target),
    );
    let payload = crate::rdb::bgsave::current_image(srv);
    let pid = if diskless {
        let cpu_us = crate::rdb::bgsave::save_cpu_us(srv, payload.len());
        let pid = crate::child::fork(
            srv,
            crate::child::ChildKind::Rdb,
            crate::ChildJob::Compute { cpu_us },
        );
        srv.log(
            LogLevel::Notice,
            format!("Background RDB transfer started by pid {}", pid),
        );
        srv.rdb.save_time_start_s = srv.unixtime();
        srv.rdb.child_type = Some(crate::rdb::bgsave::RdbChildType::Socket);
        pid
    } else {
        crate::rdb::bgsave::rdb_save_background_with(srv, payload.clone()).expect("no child runs")
    };
    let offset = srv.repl.master_repl_offset;
    let replid = srv.repl.replid.clone();
    let mut targets = Vec::new();
    for conn in replica_conns(srv) {
        let c = srv.clients.get_mut(&conn).expect("listed");
        let info = c.replica.as_mut().expect("replica info");
        if info.state != SlaveState::WaitBgsaveStart {
            continue;
        }
        info.state = SlaveState::WaitBgsaveEnd;
        info.initial_offset = offset;
        if !srv.repl.syncs.get(&conn).is_some_and(|s| s.pre_psync) {
            c.reply
                .raw(format!("+FULLRESYNC {} {}\r\n", replid, offset).as_bytes());
        }
        targets.push(conn);
    }
    // The next command must SELECT its db again (replicationSetupSlaveForFullResync).
    srv.repl.slaveseldb = -1;
    if diskless {
        send_rdb_to_targets(srv, &targets, &payload, true);
    }
    let payload = if diskless { Vec::new() } else { payload };
    srv.repl.child = Some(ReplChild {
        pid,
        diskless,
        payload,
        targets,
    });
}

use super::ReplChild;

fn send_rdb_to_targets(srv: &mut Server, targets: &[ConnId], payload: &[u8], diskless: bool) {
    let mut framed = Vec::with_capacity(payload.len() + 100);
    if diskless {
        let mut mark = [0u8; 20];
        srv.rng.fill_bytes(&mut mark);
        let mark: String = mark.iter().map(|b| format!("{:02x}", b)).collect();
        framed.extend_from_slice(format!("$EOF:{}\r\n", mark).as_bytes());
        framed.extend_from_slice(payload);
        framed.extend_from_slice(mark.as_bytes());
    } else {
        framed.extend_from_slice(format!("${}\r\n", payload.len()).as_bytes());
        framed.extend_from_slice(payload);
    }
    for conn in targets {
        if let Some(c) = srv.clients.get_mut(conn) {
            c.reply.raw(&framed);
            srv.stats.net_repl_output_bytes += framed.len() as u64;
        }
    }
}

/// updateSlavesWaitingBgsave: an RDB child ended (`ok`: exit 0). A disk
/// image goes to its replicas now; a socket transfer is complete, and the
/// replicas go online at their next ACK. On failure they are dropped.
pub fn rdb_child_done(srv: &mut Server, ok: bool) {
    let Some(child) = srv.repl.child.take() else {
        return;
    };
    for conn in &child.targets {
        let Some(c) = srv.clients.get(conn) else {
            continue;
        };
        let name = replica_name(c);
        if !ok {
            srv.log(
                LogLevel::Warning,
                "SYNC failed. BGSAVE child returned an error".into(),
            );
            srv.close_connection(*conn);
        } else if child.diskless {
            srv.log(
                LogLevel::Notice,
                format!("Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming", name),
            );
            if let Some(s) = srv.repl.syncs.get_mut(conn) {
                s.rdb_transmitted = true;
            }
        } else {
            send_rdb_to_targets(srv, &[*conn], &child.payload, false);
            replica_put_online(srv, *conn);
        }
    }
}

fn replica_state(srv: &Server, conn: ConnId) -> Option<SlaveState> {
    srv.clients
        .get(&conn)
        .and_then(|c| c.replica.as_ref())
        .map(|r| r.state)
}

/// replicaPutOnline + replicaStartCommandStream: the replica gets the
/// stream it missed during the transfer.
fn replica_put_online(srv: &mut Server, conn: ConnId) {
    let now_s = srv.unixtime();
    let pending = srv
        .repl
        .syncs
        .get_mut(&conn)
        .map(|s| std::mem::take(&mut s.pending))
        .unwrap_or_default();
    let Some(c) = srv.clients.get_mut(&conn) else {
        return;
    };
    let info = c.replica.as_mut().expect("replica info");
    info.state = SlaveState::Online;
    info.ack_time_s = now_s;
    info.pending_stream_bytes = 0;
    c.reply.raw(&pending);
    let name = replica_name(c);
    srv.stats.net_repl_output_bytes += pending.len() as u64;
    srv.log(
        LogLevel::Notice,
        format!("Synchronization with replica {} succeeded", name),
    );
    srv.event("replica_online", format!("replica {}", name));
    refresh_good_slaves_count(srv);
}

/// replicationFeedSlaves: SELECT when the db changes, append to the
/// backlog, and write to every replica past WAIT_BGSAVE_START.
pub fn feed_replicas(srv: &mut Server, db: i64, argv: &[Vec<u8>]) {
    if srv.repl.master.is_some() {
        // A replica proxies its master's stream instead (replica.rs).
        return;
    }
    let has_replicas = srv.clients.values().any(|c| c.kind == ClientKind::Replica);
    if srv.repl.backlog.is_none() && !has_replicas {
        return;
    }
    let mut bytes = Vec::with_capacity(32 + argv.iter().map(|a| a.len() + 16).sum::<usize>());
    if srv.repl.slaveseldb != db && db >= 0 {
        crate::resp::encode_command_into(
            &mut bytes,
            &[b"SELECT".to_vec(), db.to_string().into_bytes()],
        );
        srv.repl.slaveseldb = db;
    }
    crate::resp::encode_command_into(&mut bytes, argv);
    feed_stream(srv, &bytes);
}

/// Appends raw stream bytes to the backlog and every attached replica (to
/// its output if online, else to what it gets after its RDB). The one
/// feed: a master's own writes come here through feed_replicas, and a
/// replica's applied master stream through replica::stream_applied.
pub fn feed_stream(srv: &mut Server, bytes: &[u8]) {
    let new_block = srv.repl.backlog.as_mut().is_some_and(|b| b.append(bytes));
    srv.repl.master_repl_offset += bytes.len() as i64;
    srv.cost.elements(bytes.len() / 256);
    let mut over_limit = Vec::new();
    let now_s = srv.unixtime();
    let limits = obuf_limits(srv);
    // Walk the clients in place (no list of replica ids per command).
    for c in srv
        .clients
        .values_mut()
        .filter(|c| c.kind == ClientKind::Replica)
    {
        let conn = c.conn;
        let info = c.replica.as_mut().expect("replica info");
        match info.state {
            SlaveState::WaitBgsaveStart => {}
            SlaveState::Online => {
                c.reply.raw(bytes);
                srv.stats.net_repl_output_bytes += bytes.len() as u64;
            }
            SlaveState::WaitBgsaveEnd | SlaveState::SendBulk => {
                let sync = srv.repl.syncs.entry(conn).or_default();
                sync.pending.extend_from_slice(bytes);
                info.pending_stream_bytes = sync.pending.len() as u64;
                if new_block && !c.close_asap && obuf_limit_reached(info, &limits, now_s) {
                    over_limit.push(conn);
                }
            }
        }
    }
    for conn in over_limit {
        close_over_limit(srv, conn, true);
    }
}

/// The replica class's limits as checkClientOutputBufferLimits applies
/// them: a hard limit below repl-backlog-size counts as repl-backlog-size.
fn obuf_limits(srv: &Server) -> crate::config::ObufLimit {
    let mut l = srv.config.hot.obuf_replica;
    let backlog = srv.config.hot.repl_backlog_size_bytes as u64;
    if l.hard_bytes > 0 && l.hard_bytes < backlog {
        l.hard_bytes = backlog;
    }
    l
}

/// checkClientOutputBufferLimits for a replica. Its output buffer is the
/// stream held for it while it waits for or receives its RDB (an online
/// replica's output is handed to its connection at once). The soft limit
/// must hold for more than soft-seconds; the first sighting only starts
/// the clock.
fn obuf_limit_reached(info: &mut ReplicaInfo, l: &crate::config::ObufLimit, now_s: i64) -> bool {
    let used = info.pending_stream_bytes;
    let hard = l.hard_bytes > 0 && used >= l.hard_bytes;
    let mut soft = l.soft_bytes > 0 && used >= l.soft_bytes;
    if soft {
        if info.obuf_soft_limit_reached_s == 0 {
            info.obuf_soft_limit_reached_s = now_s;
            soft = false;
        } else if now_s - info.obuf_soft_limit_reached_s <= l.soft_seconds {
            soft = false;
        }
    } else {
        info.obuf_soft_limit_reached_s = 0;
    }
    hard || soft
}

/// closeClientOnOutputBufferLimitReached: from the write path the client
/// is freed asynchronously (freeClientAsync), from clientsCron at once;
/// each has its own log line.
fn close_over_limit(srv: &mut Server, conn: ConnId, async_free: bool) {
    let now_ms = srv.mstime();
    let Some(c) = srv.clients.get_mut(&conn) else {
        return;
    };
    if async_free {
        c.close_asap = true;
    }
    let name = c.info_line(now_ms, "");
    let held = c.replica.as_ref().map_or(0, |r| r.pending_stream_bytes);
    let line = if async_free {
        format!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            name
        )
    } else {
        format!(
            "Client {} closed for overcoming of output buffer limits.",
            name
        )
    };
    srv.log(LogLevel::Warning, line);
    srv.event("replica_obuf_limit", format!("{} bytes", held));
    srv.close_connection(conn);
}

/// clientsCron's closeClientOnOutputBufferLimitReached(c, 0) for replicas:
/// a soft limit that has held long enough closes even with no new writes.
fn check_obuf_limits_cron(srv: &mut Server, replicas: &[ConnId]) {
    let now_s = srv.unixtime();
    let limits = obuf_limits(srv);
    let mut over = Vec::new();
    for conn in replicas {
        let Some(c) = srv.clients.get_mut(conn) else {
            continue;
        };
        if c.close_asap {
            continue;
        }
        let Some(info) = c.replica.as_mut() else {
            continue;
        };
        if obuf_limit_reached(info, &limits, now_s) {
            over.push(*conn);
        }
    }
    for conn in over {
        close_over_limit(srv, conn, false);
    }
}

/// freeClient for a replica: forget its sync state, refresh the count.
pub fn replica_freed(srv: &mut Server, client: &Client) {
    srv.repl.syncs.remove(&client.conn);
    let mut last_dropped = false;
    if let Some(child) = srv.repl.child.as_mut() {
        let had = child.targets.len();
        child.targets.retain(|c| *c != client.conn);
        last_dropped = child.diskless && had > 0 && child.targets.is_empty();
    }
    srv.log(
        LogLevel::Notice,
        format!("Connection with replica {} lost.", replica_name(client)),
    );
    srv.event("replica_lost", format!("replica {}", replica_name(client)));
    if last_dropped && srv.rdb.child_type == Some(crate::rdb::bgsave::RdbChildType::Socket) {
        // rdbPipeReadHandler: nobody is left to read what the child writes.
        srv.log(
            LogLevel::Warning,
            "Diskless rdb transfer, last replica dropped, killing fork child.".into(),
        );
        crate::child::kill_rdb_child(srv);
    }
    kill_unneeded_rdb_child(srv, client);
    if replica_conns(srv).is_empty() {
        srv.repl.no_slaves_since_s = srv.unixtime();
    }
    refresh_good_slaves_count(srv);
}

/// freeClient of a replica: a disk BGSAVE that only it waited for, with no
/// save points that need it, is killed so the next sync can fork at once.
fn kill_unneeded_rdb_child(srv: &mut Server, client: &Client) {
    let waited = client
        .replica
        .as_ref()
        .is_some_and(|r| r.state == SlaveState::WaitBgsaveEnd);
    let others_wait = srv.clients.values().any(|c| {
        c.kind == ClientKind::Replica
            && c.conn != client.conn
            && c.replica
                .as_ref()
                .is_some_and(|r| r.state == SlaveState::WaitBgsaveEnd)
    });
    if waited
        && !others_wait
        && srv.config.hot.save_points.is_empty()
        && srv.rdb.child_type == Some(crate::rdb::bgsave::RdbChildType::Disk)
    {
        crate::child::kill_rdb_child(srv);
    }
}

/// refreshGoodSlavesCount.
pub fn refresh_good_slaves_count(srv: &mut Server) {
    let (to_write, max_lag) = (
        srv.config.hot.min_replicas_to_write,
        srv.config.hot.min_replicas_max_lag_s,
    );
    if to_write == 0 || max_lag == 0 {
        return;
    }
    let now = srv.unixtime();
    let good = srv
        .clients
        .values()
        .filter_map(|c| c.replica.as_ref().filter(|_| c.kind == ClientKind::Replica))
        .filter(|r| r.state == SlaveState::Online && now - r.ack_time_s <= max_lag)
        .count() as i64;
    let was_ok = srv.repl.good_slaves_count >= to_write;
    srv.repl.good_slaves_count = good;
    let is_ok = good >= to_write;
    if was_ok != is_ok {
        let name = if is_ok {
            "min_replicas_met"
        } else {
            "min_replicas_not_met"
        };
        srv.event(name, format!("good_slaves {} min {}", good, to_write));
    }
}

pub fn replconf_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if argv.len().is_multiple_of(2) {
        ctx.reply().err(errors::SYNTAX);
        return;
    }
    for pair in argv[1..].chunks(2) {
        let (opt, value) = (&pair[0], &pair[1]);
        if eq_ic(opt, "listening-port") {
            let Some(port) = parse_i64(value) else {
                ctx.reply().err(errors::NOT_INTEGER);
                return;
            };
            replica_info_mut(ctx).listening_port = port as u16;
        } else if eq_ic(opt, "ip-address") {
            replica_info_mut(ctx).ip = String::from_utf8_lossy(value).into_owned();
        } else if eq_ic(opt, "capa") {
            if eq_ic(value, "eof") {
                replica_info_mut(ctx).capa_eof = true;
            } else if eq_ic(value, "psync2") {
                replica_info_mut(ctx).capa_psync2 = true;
            }
        } else if eq_ic(opt, "ack") {
            replconf_ack(ctx, value);
            return;
        } else if eq_ic(opt, "getack") {
            if ctx.srv.repl.master.is_some() && ctx.c().kind == ClientKind::Master {
                super::replica::send_ack(ctx.srv);
            }
            return;
        } else if eq_ic(opt, "rdb-only") || eq_ic(opt, "rdb-filter-only") {
        } else {
            ctx.reply().err(&format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            ));
            return;
        }
    }
    ctx.reply().ok();
}

/// Before SYNC/PSYNC a client is not a replica yet, but REPLCONF records
/// what it will need.
fn replica_info_mut<'a>(ctx: &'a mut Ctx) -> &'a mut ReplicaInfo {
    let ip = peer_ip(&ctx.c().peer);
    let now = ctx.srv.unixtime();
    ctx.c().replica.get_or_insert(ReplicaInfo {
        state: SlaveState::WaitBgsaveStart,
        listening_port: 0,
        ip,
        ack_off: 0,
        ack_time_s: now,
        initial_offset: 0,
        capa_eof: false,
        capa_psync2: false,
        pending_stream_bytes: 0,
        obuf_soft_limit_reached_s: 0,
    })
}

fn replconf_ack(ctx: &mut Ctx, value: &[u8]) {
    if ctx.c().kind != ClientKind::Replica {
        return;
    }
    let Some(offset) = parse_i64(value) else {
        return;
    };
    let now = ctx.srv.unixtime();
    let info = ctx.c().replica.as_mut().expect("replica info");
    if offset > info.ack_off {
        info.ack_off = offset;
    }
    info.ack_time_s = now;
    // The child streaming to it may still be running (the host has not
    // reported its exit): the replica then waits for a later ACK, as in
    // Redis, whose waitpid finds nothing yet.
    let transmitted = ctx
        .srv
        .repl
        .syncs
        .get(&ctx.conn)
        .is_some_and(|s| s.rdb_transmitted);
    let info = ctx.c().replica.as_mut().expect("replica info");
    if info.state == SlaveState::WaitBgsaveEnd && transmitted {
        replica_put_online(ctx.srv, ctx.conn);
    }
}

/// WAIT numreplicas timeout.
pub fn wait_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if ctx.srv.repl.master.is_some() {
        ctx.reply().err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
        return;
    }
    let Some(wanted) = parse_i64(&argv[1]) else {
        ctx.reply().err(errors::NOT_INTEGER);
        return;
    };
    let timeout_ms = match parse_i64(&argv[2]) {
        None => {
            ctx.reply()
                .err("ERR timeout is not an integer or out of range");
            return;
        }
        Some(t) if t < 0 => {
            ctx.reply().err(errors::TIMEOUT_NEGATIVE);
            return;
        }
        Some(t) => t,
    };
    let woff = ctx.client().woff;
    let acked = count_acks(ctx.srv, woff);
    // Inside MULTI/EXEC a WAIT cannot block: it replies with what it has.
    if acked >= wanted || ctx.srv.in_exec {
        ctx.reply().int(acked);
        return;
    }
    let deadline = if timeout_ms > 0 {
        ctx.srv.mstime() + timeout_ms
    } else {
        0
    };
    ctx.c().blocked_wait = Some((ctx.c().woff, wanted, deadline));
    ctx.srv.repl.get_ack_from_slaves = true;
}

/// replicationCountAcksByOffset.
fn count_acks(srv: &Server, offset: i64) -> i64 {
    srv.clients
        .values()
        .filter_map(|c| c.replica.as_ref().filter(|_| c.kind == ClientKind::Replica))
        .filter(|r| r.state == SlaveState::Online && r.ack_off >= offset)
        .count() as i64
}

/// beforeSleep's replication part: release WAIT clients whose replicas
/// acknowledged, then ask replicas for ACKs if a WAIT blocked.
pub fn before_sleep(srv: &mut Server) {
    let waiting: Vec<(ConnId, i64, i64)> = srv
        .clients
        .values()
        .filter_map(|c| c.blocked_wait.map(|(off, n, _)| (c.conn, off, n)))
        .collect();
    let mut released = Vec::new();
    for (conn, offset, wanted) in waiting {
        let acked = count_acks(srv, offset);
        if acked >= wanted {
            let c = srv.clients.get_mut(&conn).expect("listed");
            c.blocked_wait = None;
            c.reply.int(acked);
            released.push(conn);
        }
    }
    if srv.repl.get_ack_from_slaves {
        srv.repl.get_ack_from_slaves = false;
        feed_replicas(
            srv,
            srv.repl.slaveseldb,
            &[b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()],
        );
    }
    for conn in released {
        srv.process_input(conn);
    }
}

/// WAIT clients whose timeout passed reply with the count they have.
pub fn wait_timeouts(srv: &mut Server) {
    let now = srv.mstime();
    let expired: Vec<(ConnId, i64)> = srv
        .clients
        .values()
        .filter_map(|c| {
            c.blocked_wait
                .filter(|(_, _, d)| *d > 0 && now >= *d)
                .map(|(off, _, _)| (c.conn, off))
        })
        .collect();
    for (conn, offset) in expired {
        let acked = count_acks(srv, offset);
        let c = srv.clients.get_mut(&conn).expect("listed");
        c.blocked_wait = None;
        c.reply.int(acked);
        srv.process_input(conn);
    }
}

/// The master half of replicationCron.
pub fn cron(srv: &mut Server) {
    let replicas = replica_conns(srv);
    let period = srv.config.hot.repl_ping_replica_period_s.max(1) as u64;
    if srv.repl.cron_loops.is_multiple_of(period)
        && !replicas.is_empty()
        && srv.repl.master.is_none()
    {
        feed_replicas(srv, srv.repl.slaveseldb, &[b"PING".to_vec()]);
    }
    let diskless_child = srv.repl.child.as_ref().is_some_and(|c| c.diskless);
    for conn in &replicas {
        let state = replica_state(srv, *conn);
        let transmitted = srv.repl.syncs.get(conn).is_some_and(|s| s.rdb_transmitted);
        let waiting = state == Some(SlaveState::WaitBgsaveStart)
            || (state == Some(SlaveState::WaitBgsaveEnd) && !diskless_child && !transmitted);
        if waiting {
            if let Some(c) = srv.clients.get_mut(conn) {
                c.reply.raw(b"\n");
            }
        }
    }
    check_obuf_limits_cron(srv, &replicas);
    disconnect_timedout_replicas(srv, &replicas);
    expire_backlog(srv);
    start_child_if_due(srv);
    refresh_good_slaves_count(srv);
}

fn disconnect_timedout_replicas(srv: &mut Server, replicas: &[ConnId]) {
    let now = srv.unixtime();
    let timeout = srv.config.hot.repl_timeout_s;
    for conn in replicas {
        let Some(c) = srv.clients.get(conn) else {
            continue;
        };
        let info = c.replica.as_ref().expect("replica info");
        let pre_psync = srv.repl.syncs.get(conn).is_some_and(|s| s.pre_psync);
        if info.state == SlaveState::Online && now - info.ack_time_s > timeout && !pre_psync {
            let name = replica_name(c);
            srv.log(
                LogLevel::Warning,
                format!("Disconnecting timedout replica (streaming sync): {}", name),
            );
            srv.event("replica_timeout", format!("replica {}", name));
            srv.close_connection(*conn);
        }
    }
}

fn expire_backlog(srv: &mut Server) {
    let ttl = srv.config.hot.repl_backlog_ttl_s;
    let idle = srv.unixtime() - srv.repl.no_slaves_since_s;
    if srv.repl.master.is_none()
        && srv.repl.backlog.is_some()
        && replica_conns(srv).is_empty()
        && ttl > 0
        && idle > ttl
    {
        super::change_replication_id(srv);
        super::clear_replication_id2(srv);
        srv.repl.backlog = None;
        let msg = format!(
            "Replication backlog freed after {} seconds without connected replicas.",
            ttl
        );
        srv.log(LogLevel::Notice, msg);
    }
}

/// shouldStartChildReplication: a diskless sync starts once the longest
/// waiting replica has waited repl-diskless-sync-delay seconds, or enough
/// replicas are waiting.
pub fn start_child_if_due(srv: &mut Server) {
    if crate::child::has_active_child(srv) {
        return;
    }
    let now = srv.unixtime();
    let mut waiting = 0;
    let mut max_idle = 0;
    for c in srv
        .clients
        .values()
        .filter(|c| c.kind == ClientKind::Replica)
    {
        let info = c.replica.as_ref().expect("replica info");
        if info.state == SlaveState::WaitBgsaveStart {
            waiting += 1;
            max_idle = max_idle.max(now - c.last_interaction_ms / 1000);
        }
    }
    if waiting == 0 {
        return;
    }
    let hot = &srv.config.hot;
    let enough =
        hot.repl_diskless_sync_max_replicas > 0 && waiting >= hot.repl_diskless_sync_max_replicas;
    if !hot.repl_diskless_sync || max_idle >= hot.repl_diskless_sync_delay_s || enough {
        let diskless = hot.repl_diskless_sync;
        start_child_for_replication(srv, diskless);
    }
}
