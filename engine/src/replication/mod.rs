//! Replication: replication ids and offsets, the backlog, the master side
//! (PSYNC, full sync through a forked child, propagation, REPLCONF ACK, WAIT,
//! min-replicas-to-write) and the replica side (the handshake state machine,
//! RDB transfer and load, the master client, ACKs and timeouts).

pub mod backlog;
pub mod master;
pub mod replica;

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;

use crate::commands::{flags, Command};
use crate::networking::ClientKind;
use crate::server::{random_hex40, Server};
use crate::{ConnId, LogLevel};
use backlog::Backlog;
pub use master::ReplicaSync;
pub use replica::{MasterLink, ReplState};

/// The replicas an RDB child (child.rs) serves: rdbSaveToSlavesSockets, or
/// a disk BGSAVE whose file they get when it ends.
#[derive(Debug, Clone)]
pub struct ReplChild {
    pub pid: u32,
    pub diskless: bool,
    /// The disk image to send when the child ends (empty when diskless).
    pub payload: Vec<u8>,
    pub targets: Vec<ConnId>,
}

pub struct ReplicationState {
    pub replid: String,
    pub replid2: String,
    pub second_replid_offset: i64,
    pub master_repl_offset: i64,
    pub backlog: Option<Backlog>,
    /// The db the replication stream last SELECTed (-1: none yet).
    pub slaveseldb: i64,
    pub good_slaves_count: i64,
    pub no_slaves_since_s: i64,
    pub cron_loops: u64,
    pub get_ack_from_slaves: bool,
    pub child: Option<ReplChild>,
    /// Per-replica full-sync state: buffered stream and RDB progress.
    pub syncs: BTreeMap<ConnId, ReplicaSync>,
    /// Set when this server is a replica.
    pub master: Option<MasterLink>,
    /// (replid, offset) of the last master, for PSYNC after a disconnect.
    pub cached_master: Option<(String, i64)>,
    /// Unix seconds the master link went down (0: it never went up).
    pub down_since_s: i64,
}

pub const ZERO_REPLID: &str = "0000000000000000000000000000000000000000";

impl ReplicationState {
    pub fn new(rng: &mut ChaCha8Rng) -> Self {
        ReplicationState {
            replid: random_hex40(rng),
            replid2: ZERO_REPLID.into(),
            second_replid_offset: -1,
            master_repl_offset: 0,
            backlog: None,
            slaveseldb: -1,
            good_slaves_count: 0,
            no_slaves_since_s: 0,
            cron_loops: 0,
            get_ack_from_slaves: false,
            child: None,
            syncs: BTreeMap::new(),
            master: None,
            cached_master: None,
            down_since_s: 0,
        }
    }
    pub fn backlog_histlen(&self) -> u64 {
        self.backlog.as_ref().map_or(0, |b| b.histlen as u64)
    }
}

// ---- replication ids ----

pub fn change_replication_id(srv: &mut Server) {
    srv.repl.replid = random_hex40(&mut srv.rng);
}

pub fn clear_replication_id2(srv: &mut Server) {
    srv.repl.replid2 = ZERO_REPLID.into();
    srv.repl.second_replid_offset = -1;
}

/// shiftReplicationId: on promotion, keep the old id valid up to our offset.
pub fn shift_replication_id(srv: &mut Server) {
    srv.repl.replid2 = srv.repl.replid.clone();
    srv.repl.second_replid_offset = srv.repl.master_repl_offset + 1;
    change_replication_id(srv);
    let msg = format!(
        "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
        srv.repl.replid2, srv.repl.second_replid_offset, srv.repl.replid
    );
    srv.log(LogLevel::Notice, msg);
}

pub fn create_backlog(srv: &mut Server) {
    let size = srv.config.hot.repl_backlog_size_bytes as usize;
    srv.repl.backlog = Some(Backlog::new(size, srv.repl.master_repl_offset));
}

// ---- hooks the server calls ----

pub fn on_startup(srv: &mut Server) {
    if let Some((host, port)) = srv.config.hot.replicaof.clone() {
        srv.repl.master = Some(MasterLink::new(host, port));
    }
}

pub fn owns_outbound(srv: &Server, conn: ConnId) -> bool {
    srv.repl
        .master
        .as_ref()
        .is_some_and(|m| m.conn == Some(conn))
}

pub fn master_link_connected(srv: &mut Server, conn: ConnId) {
    replica::connected(srv, conn);
}

pub fn master_link_failed(srv: &mut Server, conn: ConnId) {
    replica::connect_failed(srv, conn);
}

pub fn master_link_closed(srv: &mut Server, conn: ConnId) {
    replica::link_closed(srv, conn);
}

pub fn read_from_master_link(srv: &mut Server, conn: ConnId, bytes: &[u8]) {
    replica::read_handshake_or_transfer(srv, conn, bytes);
}

pub fn master_stream_consumed(srv: &mut Server, conn: ConnId, bytes: &[u8]) {
    replica::stream_applied(srv, conn, bytes);
}

pub fn replica_freed(srv: &mut Server, client: &crate::networking::Client) {
    master::replica_freed(srv, client);
}

pub fn master_client_freed(srv: &mut Server, client: &crate::networking::Client) {
    replica::master_client_freed(srv, client);
}

/// checkGoodReplicasStatus.
pub fn good_replicas_ok(srv: &Server) -> bool {
    let hot = &srv.config.hot;
    srv.repl.master.is_some()
        || hot.min_replicas_max_lag_s == 0
        || hot.min_replicas_to_write == 0
        || srv.repl.good_slaves_count >= hot.min_replicas_to_write
}

pub fn master_link_up(srv: &Server) -> bool {
    srv.repl
        .master
        .as_ref()
        .is_some_and(|m| m.state == ReplState::Connected)
}

/// propagateNow: the AOF first, then the replicas; nothing while loading.
pub fn propagate(srv: &mut Server, db: usize, argv: &[Vec<u8>]) {
    if srv.loading {
        return;
    }
    crate::aof::feed(srv, db, argv);
    master::feed_replicas(srv, db as i64, argv);
}

/// propagateNow with PROPAGATE_REPL alone: to replicas and the backlog, not the AOF.
pub fn propagate_repl(srv: &mut Server, db: usize, argv: &[Vec<u8>]) {
    if srv.loading {
        return;
    }
    master::feed_replicas(srv, db as i64, argv);
}

pub fn before_sleep(srv: &mut Server) {
    master::before_sleep(srv);
}

pub fn wait_timeouts(srv: &mut Server) {
    master::wait_timeouts(srv);
}

/// replicationCron, once per second.
pub fn replication_cron(srv: &mut Server) {
    replica::cron(srv);
    master::cron(srv);
    srv.repl.cron_loops += 1;
}

pub fn config_changed(srv: &mut Server) {
    let size = srv.config.hot.repl_backlog_size_bytes as usize;
    if let Some(b) = srv.repl.backlog.as_mut() {
        b.resize(size);
    }
    master::refresh_good_slaves_count(srv);
}

// ---- INFO replication ----

pub fn info_fields(srv: &Server) -> crate::info::Fields {
    let mut v: crate::info::Fields = Vec::new();
    let mut f = |k: &str, val: String| v.push((k.to_string(), val));
    let r = &srv.repl;
    match &r.master {
        None => f("role", "master".into()),
        Some(link) => {
            f("role", "slave".into());
            f("master_host", link.host.clone());
            f("master_port", link.port.to_string());
            let up = link.state == ReplState::Connected;
            f("master_link_status", if up { "up" } else { "down" }.into());
            let last_io = replica::master_client(srv)
                .map_or(-1, |c| srv.unixtime() - c.last_interaction_ms / 1000);
            f("master_last_io_seconds_ago", last_io.to_string());
            f(
                "master_sync_in_progress",
                u8::from(link.state == ReplState::Transfer).to_string(),
            );
            let (read_off, off) =
                replica::master_client(srv).map_or((0, 0), |_| (link.reploff, link.reploff));
            f("slave_read_repl_offset", read_off.to_string());
            f("slave_repl_offset", off.to_string());
            if let (ReplState::Transfer, Some(t)) = (link.state, link.transfer.as_ref()) {
                let total = t.total_bytes.map_or(-1, |n| n as i64);
                f("master_sync_total_bytes", total.to_string());
                f("master_sync_read_bytes", t.data.len().to_string());
                f(
                    "master_sync_left_bytes",
                    (total - t.data.len() as i64).max(-1).to_string(),
                );
                let perc = if total > 0 {
                    t.data.len() as f64 * 100.0 / total as f64
                } else {
                    0.0
                };
                f("master_sync_perc", format!("{:.2}", perc));
                f(
                    "master_sync_last_io_seconds_ago",
                    (srv.unixtime() - link.transfer_lastio_s).to_string(),
                );
            }
            if !up {
                let since = if r.down_since_s > 0 {
                    srv.unixtime() - r.down_since_s
                } else {
                    -1
                };
                f("master_link_down_since_seconds", since.to_string());
            }
            f(
                "slave_priority",
                srv.config.int("replica-priority").to_string(),
            );
            f(
                "slave_read_only",
                u8::from(srv.config.hot.replica_read_only).to_string(),
            );
            f(
                "replica_announced",
                u8::from(srv.config.bool("replica-announced")).to_string(),
            );
        }
    }
    let replicas: Vec<&crate::networking::Client> = srv
        .clients
        .values()
        .map(|c| &**c)
        .filter(|c| c.kind == ClientKind::Replica)
        .collect();
    f("connected_slaves", replicas.len().to_string());
    if srv.config.hot.min_replicas_to_write > 0 && srv.config.hot.min_replicas_max_lag_s > 0 {
        f("min_slaves_good_slaves", r.good_slaves_count.to_string());
    }
    for (i, c) in replicas.iter().enumerate() {
        let info = c
            .replica
            .as_ref()
            .expect("replica clients carry replica info");
        let lag = srv.unixtime() - info.ack_time_s;
        f(
            &format!("slave{}", i),
            format!(
                "ip={},port={},state={},offset={},lag={}",
                info.ip,
                info.listening_port,
                info.state.info_name(),
                info.ack_off,
                lag
            ),
        );
    }
    f("master_failover_state", "no-failover".into());
    f("master_replid", r.replid.clone());
    f("master_replid2", r.replid2.clone());
    f("master_repl_offset", r.master_repl_offset.to_string());
    f("second_repl_offset", r.second_replid_offset.to_string());
    f(
        "repl_backlog_active",
        u8::from(r.backlog.is_some()).to_string(),
    );
    f(
        "repl_backlog_size",
        srv.config.hot.repl_backlog_size_bytes.to_string(),
    );
    f(
        "repl_backlog_first_byte_offset",
        r.backlog.as_ref().map_or(0, |b| b.offset).to_string(),
    );
    f("repl_backlog_histlen", r.backlog_histlen().to_string());
    v
}

pub const COMMANDS: &[Command] = &[
    Command::new(
        "psync",
        -3,
        flags::ADMIN | flags::NOSCRIPT | flags::NO_PROPAGATE,
        master::psync_command,
    ),
    Command::new(
        "sync",
        1,
        flags::ADMIN | flags::NOSCRIPT | flags::NO_PROPAGATE,
        master::sync_command,
    ),
    Command::new(
        "replconf",
        -1,
        flags::ADMIN | flags::NOSCRIPT | flags::LOADING | flags::STALE | flags::NO_PROPAGATE,
        master::replconf_command,
    ),
    Command::new("wait", 3, flags::NOSCRIPT, master::wait_command),
    Command::new(
        "replicaof",
        3,
        flags::ADMIN | flags::NOSCRIPT | flags::STALE | flags::NO_PROPAGATE,
        replica::replicaof_command,
    ),
    Command::new(
        "slaveof",
        3,
        flags::ADMIN | flags::NOSCRIPT | flags::STALE | flags::NO_PROPAGATE,
        replica::replicaof_command,
    ),
    Command::new(
        "role",
        1,
        flags::NOSCRIPT | flags::LOADING | flags::STALE | flags::FAST,
        replica::role_command,
    ),
];
