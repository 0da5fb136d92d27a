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
/// SENTINEL_DEFAULT_DENY_SCRIPTS_RECONFIG.
pub const DEFAULT_DENY_SCRIPTS_RECONFIG: bool = true;
/// SENTINEL_SIMFAILURE_CRASH_AFTER_ELECTION / _AFTER_PROMOTION.
pub const SIMFAILURE_CRASH_AFTER_ELECTION: u32 = 1 << 0;
pub const SIMFAILURE_CRASH_AFTER_PROMOTION: u32 = 1 << 1;
/// SENTINEL_SCRIPT_MAX_RUNTIME and SENTINEL_SCRIPT_RETRY_DELAY.
pub const SCRIPT_MAX_RUNTIME_MS: i64 = 60_000;
pub const SCRIPT_RETRY_DELAY_MS: i64 = 30_000;

/// The timing parameters SENTINEL DEBUG changes (sentinel_info_period and
/// friends in sentinel.c); every use reads them from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub info_period: i64,
    pub ping_period: i64,
    pub ask_period: i64,
    pub publish_period: i64,
    pub default_down_after: i64,
    pub default_failover_timeout: i64,
    pub tilt_trigger: i64,
    pub tilt_period: i64,
    pub slave_reconf_timeout: i64,
    pub min_link_reconnect_period: i64,
    pub election_timeout: i64,
    pub script_max_runtime: i64,
    pub script_retry_delay: i64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            info_period: INFO_PERIOD_MS,
            ping_period: PING_PERIOD_MS,
            ask_period: ASK_PERIOD_MS,
            publish_period: PUBLISH_PERIOD_MS,
            default_down_after: DEFAULT_DOWN_AFTER_MS,
            default_failover_timeout: DEFAULT_FAILOVER_TIMEOUT_MS,
            tilt_trigger: TILT_TRIGGER_MS,
            tilt_period: TILT_PERIOD_MS,
            slave_reconf_timeout: SLAVE_RECONF_TIMEOUT_MS,
            min_link_reconnect_period: MIN_LINK_RECONNECT_PERIOD_MS,
            election_timeout: ELECTION_TIMEOUT_MS,
            script_max_runtime: SCRIPT_MAX_RUNTIME_MS,
            script_retry_delay: SCRIPT_RETRY_DELAY_MS,
        }
    }
}

impl Timing {
    /// SENTINEL DEBUG's names, in addReplySentinelDebugInfo's order.
    pub fn fields(&self) -> [(&'static str, i64); 13] {
        [
            ("INFO-PERIOD", self.info_period),
            ("PING-PERIOD", self.ping_period),
            ("ASK-PERIOD", self.ask_period),
            ("PUBLISH-PERIOD", self.publish_period),
            ("DEFAULT-DOWN-AFTER", self.default_down_after),
            ("DEFAULT-FAILOVER-TIMEOUT", self.default_failover_timeout),
            ("TILT-TRIGGER", self.tilt_trigger),
            ("TILT-PERIOD", self.tilt_period),
            ("SLAVE-RECONF-TIMEOUT", self.slave_reconf_timeout),
            ("MIN-LINK-RECONNECT-PERIOD", self.min_link_reconnect_period),
            ("ELECTION-TIMEOUT", self.election_timeout),
            ("SCRIPT-MAX-RUNTIME", self.script_max_runtime),
            ("SCRIPT-RETRY-DELAY", self.script_retry_delay),
        ]
    }

    /// The parameter SENTINEL DEBUG names (case-insensitive), if any.
    pub fn field_mut(&mut self, name: &str) -> Option<&mut i64> {
        Some(match name.to_ascii_lowercase().as_str() {
            "info-period" => &mut self.info_period,
            "ping-period" => &mut self.ping_period,
            "ask-period" => &mut self.ask_period,
            "publish-period" => &mut self.publish_period,
            "default-down-after" => &mut self.default_down_after,
            "default-failover-timeout" => &mut self.default_failover_timeout,
            "tilt-trigger" => &mut self.tilt_trigger,
            "tilt-period" => &mut self.tilt_period,
            "slave-reconf-timeout" => &mut self.slave_reconf_timeout,
            "min-link-reconnect-period" => &mut self.min_link_reconnect_period,
            "election-timeout" => &mut self.election_timeout,
            "script-max-runtime" => &mut self.script_max_runtime,
            "script-retry-delay" => &mut self.script_retry_delay,
            _ => return None,
        })
    }
}

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
    /// The config file's lines as last read or written: the rewrite edits
    /// them in place (rewriteConfig).
    pub file_lines: Vec<String>,
    /// sentinel-user / sentinel-pass: how we authenticate to other Sentinels.
    pub sentinel_auth_user: Option<String>,
    pub sentinel_auth_pass: Option<String>,
    /// SENTINEL SIMULATE-FAILURE flags (SENTINEL_SIMFAILURE_*).
    pub simfailure_flags: u32,
    /// The host's access(X_OK) check (EngineOptions.is_executable).
    pub executable_check: Option<fn(&str) -> bool>,
    /// The host's resolver (EngineOptions.resolve_host).
    pub resolver: Option<fn(&str) -> Option<String>>,
    /// Names this process resolves (EngineOptions.hosts).
    pub hosts: BTreeMap<String, String>,
    /// SENTINEL DEBUG's timing parameters.
    pub timing: Timing,
}

impl SentinelState {
    /// access(path, X_OK) through the host; false without one.
    pub fn is_executable(&self, path: &str) -> bool {
        self.executable_check.is_some_and(|f| f(path))
    }

    /// createSentinelAddr: a host name becomes its address (as with
    /// `resolve-hostnames yes`); Sentinel reports addresses, not names.
    pub fn resolve(&self, host: &str) -> String {
        if let Some(ip) = self.hosts.get(host) {
            return ip.clone();
        }
        if !is_ip_literal(host) {
            if let Some(ip) = self.resolver.and_then(|r| r(host)) {
                return ip;
            }
        }
        host.to_string()
    }

    /// announceSentinelAddr: the name it was given with announce-hostnames
    /// yes, else its address.
    pub fn announced<'a>(&self, ri: &'a Instance) -> &'a str {
        if self.announce_hostnames {
            &ri.hostname
        } else {
            &ri.host
        }
    }
}

/// An IPv4 dotted quad or an IPv6 address (hex groups and colons), which
/// needs no resolving.
fn is_ip_literal(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    let v4 = parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok());
    let v6 = host.contains(':')
        && host
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    v4 || v6
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
        deny_scripts_reconfig: DEFAULT_DENY_SCRIPTS_RECONFIG,
        executable_check: srv.options.is_executable,
        resolver: srv.options.resolve_host,
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
    if !(0..=st.timing.tilt_trigger).contains(&delta) {
        st.tilt = true;
        st.tilt_start_ms = now;
        event(srv, LogLevel::Warning, "+tilt", "#tilt mode entered".into());
    }
    st.previous_time_ms = now;
}

/// sentinelSimFailureCrash: SENTINEL SIMULATE-FAILURE asked for it; the
/// process exits with status 99.
pub fn simfailure_crash(srv: &mut Server) {
    srv.log(
        LogLevel::Warning,
        "Sentinel CRASH because of SENTINEL simulate-failure".into(),
    );
    crate::shutdown::exit(srv, 99, "SENTINEL simulate-failure");
}

/// The outbound connection belongs to Sentinel's links.
pub fn owns_outbound(srv: &Server, conn: ConnId) -> bool {
    srv.sentinel
        .as_ref()
        .is_some_and(|st| st.conns.contains_key(&conn))
}
