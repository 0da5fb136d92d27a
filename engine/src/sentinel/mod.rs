//! Sentinel mode (redis-server --sentinel, Redis 7.0's sentinel.c): the
//! monitored masters with their replicas and fellow Sentinels, the links
//! to them, failure detection, leader election and the failover state
//! machine. It shares the engine core (clients, timers, cost, logging,
//! config, disk) with Redis mode; only the command table and the timer's
//! work differ.
//!
//! `Server.sentinel` holds the state. Entry points take it out of the
//! server for the duration of a call (`with_state`), so the code can hold
//! an instance and the server's outputs at once.

pub mod commands;
pub mod config;
pub mod failover;
pub mod instance;
pub mod links;
pub mod monitor;

use std::collections::BTreeMap;

use rand::Rng;

use crate::server::Server;
use crate::{ConnId, LogLevel};

pub use instance::{Instance, Master, Role, Who};

/// Timing constants (sentinel.c), milliseconds.
pub const PING_PERIOD_MS: i64 = 1000;
pub const INFO_PERIOD_MS: i64 = 10_000;
pub const ASK_PERIOD_MS: i64 = 1000;
pub const PUBLISH_PERIOD_MS: i64 = 2000;
pub const DEFAULT_DOWN_AFTER_MS: i64 = 30_000;
pub const TILT_TRIGGER_MS: i64 = 2000;
pub const TILT_PERIOD_MS: i64 = PING_PERIOD_MS * 30;
pub const SLAVE_RECONF_TIMEOUT_MS: i64 = 10_000;
pub const MIN_LINK_RECONNECT_PERIOD_MS: i64 = 15_000;
pub const ELECTION_TIMEOUT_MS: i64 = 10_000;
pub const DEFAULT_FAILOVER_TIMEOUT_MS: i64 = 60 * 3 * 1000;
pub const MAX_DESYNC_MS: i64 = 1000;
pub const DEFAULT_PARALLEL_SYNCS: i64 = 1;
pub const MAX_PENDING_COMMANDS: u32 = 100;
pub const DEFAULT_SLAVE_PRIORITY: i64 = 100;
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";
pub const DEFAULT_PORT: u16 = 26379;
/// CONFIG_DEFAULT_HZ: the timer runs at 10 + rand() % 10 Hz.
const CONFIG_DEFAULT_HZ: i64 = 10;
/// Where Sentinel keeps its configuration, relative to the node's dir.
pub const CONFIG_FILE: &str = "sentinel.conf";

/// The whole Sentinel state (struct sentinelState).
#[derive(Debug, Default)]
pub struct SentinelState {
    pub myid: String,
    pub current_epoch: u64,
    /// Monitored masters by name (Redis keeps a hash table; ordered here so
    /// every walk is deterministic).
    pub masters: BTreeMap<String, Master>,
    pub tilt: bool,
    pub tilt_start_ms: i64,
    /// mstime() at the previous timer call, for the TILT check.
    pub previous_time_ms: i64,
    pub announce_ip: Option<String>,
    pub announce_port: u16,
    pub resolve_hostnames: bool,
    pub announce_hostnames: bool,
    pub deny_scripts_reconfig: bool,
    /// Outbound connections -> the instance and which of its two links.
    pub conns: links::Conns,
    /// The config file's lines that are not `sentinel` lines, kept for rewrites.
    pub other_lines: Vec<String>,
    /// Names this process resolves (EngineOptions.hosts).
    pub hosts: BTreeMap<String, String>,
}

impl SentinelState {
    /// createSentinelAddr: a host name becomes its address (as with
    /// `resolve-hostnames yes`); Sentinel reports addresses, not names.
    pub fn resolve(&self, host: &str) -> String {
        self.hosts
            .get(host)
            .cloned()
            .unwrap_or_else(|| host.to_string())
    }
}

/// Takes the state out of the server while `f` runs.
pub fn with_state<R>(
    srv: &mut Server,
    f: impl FnOnce(&mut SentinelState, &mut Server) -> R,
) -> Option<R> {
    let mut st = srv.sentinel.take()?;
    let out = f(&mut st, srv);
    srv.sentinel = Some(st);
    Some(out)
}

pub fn is_sentinel(srv: &Server) -> bool {
    srv.sentinel.is_some()
}

/// Start-up in sentinel mode: load sentinel.conf (the file the disk holds
/// wins over the node's config lines: it is what this Sentinel rewrote),
/// create an id on first start, and log the monitored masters
/// (sentinelIsRunning).
pub fn on_startup(srv: &mut Server) -> Result<(), String> {
    let mut st = SentinelState {
        previous_time_ms: srv.mstime(),
        hosts: srv.options.hosts.clone(),
        ..Default::default()
    };
    let now = srv.mstime();
    match srv.options.files.get(CONFIG_FILE) {
        Some(bytes) => config::load_file(&mut st, &String::from_utf8_lossy(bytes), now)?,
        None => {
            let lines = srv.config.sentinel_lines.clone();
            config::load_lines(&mut st, &lines, now)?;
        }
    }
    srv.log(
        LogLevel::Notice,
        format!("Running mode=sentinel, port={}.", srv.options.port),
    );
    if st.myid.is_empty() {
        st.myid = crate::server::random_hex40(&mut srv.rng);
        config::flush(&mut st, srv);
    }
    srv.log(LogLevel::Warning, format!("Sentinel ID is {}", st.myid));
    let names: Vec<String> = st.masters.keys().cloned().collect();
    for name in names {
        let m = &st.masters[&name];
        let msg = format!("{} quorum {}", instance::describe(&m.inst, None), m.quorum);
        event(srv, LogLevel::Warning, "+monitor", msg);
    }
    srv.sentinel = Some(st);
    Ok(())
}

/// sentinelEvent: log it, publish it on the channel named after it (not
/// for debug events), and hand it to the host for the report.
pub fn event(srv: &mut Server, level: LogLevel, kind: &str, msg: String) {
    if level == LogLevel::Debug {
        return;
    }
    if level >= verbosity(srv) {
        srv.log(level, format!("{} {}", kind, msg));
    }
    crate::pubsub::publish_message(srv, kind.as_bytes(), msg.as_bytes());
    srv.event(kind, msg);
}

/// server.verbosity from `loglevel`.
fn verbosity(srv: &Server) -> LogLevel {
    match srv.config.get("loglevel").as_deref() {
        Some("debug") => LogLevel::Debug,
        Some("verbose") => LogLevel::Verbose,
        Some("warning") => LogLevel::Warning,
        _ => LogLevel::Notice,
    }
}

/// sentinelTimer, run from every serverCron tick.
pub fn timer(srv: &mut Server) {
    with_state(srv, |st, srv| {
        check_tilt(st, srv);
        let names: Vec<String> = st.masters.keys().cloned().collect();
        let mut switch_to_promoted = None;
        for name in names {
            monitor::handle_master_and_children(st, srv, &name);
            if st
                .masters
                .get(&name)
                .is_some_and(|m| m.failover_state == failover::State::UpdateConfig)
            {
                switch_to_promoted = Some(name);
            }
        }
        if let Some(name) = switch_to_promoted {
            failover::switch_to_promoted(st, srv, &name);
        }
    });
    // Desynchronise Sentinels: a different tick length every time.
    let extra = srv.rng.gen_range(0..CONFIG_DEFAULT_HZ);
    srv.config.hot.hz = CONFIG_DEFAULT_HZ + extra;
}

/// sentinelCheckTiltCondition: the clock went backwards or the process
/// was stalled for more than 2 s (a pause, a jump): the view of time can
/// not be trusted for 30 s.
fn check_tilt(st: &mut SentinelState, srv: &mut Server) {
    let now = srv.mstime();
    let delta = now - st.previous_time_ms;
    if !(0..=TILT_TRIGGER_MS).contains(&delta) {
        st.tilt = true;
        st.tilt_start_ms = now;
        event(srv, LogLevel::Warning, "+tilt", "#tilt mode entered".into());
    }
    st.previous_time_ms = now;
}

/// The outbound connection belongs to Sentinel's links.
pub fn owns_outbound(srv: &Server, conn: ConnId) -> bool {
    srv.sentinel
        .as_ref()
        .is_some_and(|st| st.conns.contains_key(&conn))
}
