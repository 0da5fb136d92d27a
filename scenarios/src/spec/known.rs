//! The names an expectation may use: the INFO fields a Redis node has, the
//! events the engine, the world and Sentinel emit, and Redis's error codes.
//! A name outside these lists is a typo that would otherwise pass silently
//! (an absent field fails every comparison; a count of a misspelt event is 0).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use redsim_engine::{Config, Engine, EngineOptions};

/// Events the engine emits (`Output::Event`) and the world records.
const ENGINE_AND_WORLD_EVENTS: &[&str] = &[
    "bgsave_done",
    "exit",
    "full_sync",
    "master_link_down",
    "master_link_up",
    "partial_sync_err",
    "partial_sync_ok",
    "promoted",
    "replica_lost",
    "replica_obuf_limit",
    "replica_online",
    "replica_timeout",
    "admin",
    "admin-reply",
    "child-killed",
    "crash",
    "disk-loss",
    "oom-kill",
    "swap",
    "torn-write",
];

/// Sentinel's events, as redis-sentinel 7.0 publishes them (sentinel.c).
const SENTINEL_EVENTS: &[&str] = &[
    "+sdown",
    "-sdown",
    "+odown",
    "-odown",
    "+new-epoch",
    "+try-failover",
    "+vote-for-leader",
    "+elected-leader",
    "+failover-state-select-slave",
    "+selected-slave",
    "+failover-state-send-slaveof-noone",
    "+failover-state-wait-promotion",
    "+promoted-slave",
    "+failover-state-reconf-slaves",
    "+slave-reconf-sent",
    "+slave-reconf-inprog",
    "+slave-reconf-done",
    "+failover-end",
    "+failover-end-for-timeout",
    "+switch-master",
    "+convert-to-slave",
    "+fix-slave-config",
    "+tilt",
    "-tilt",
    "+reboot",
    "-reboot",
    "+slave",
    "+sentinel",
    "+config-update-from",
    "+monitor",
    "-monitor",
    "+reset-master",
    "-failover-abort-not-elected",
    "-failover-abort-no-good-slave",
    "-failover-abort-slave-timeout",
    "-slave-reconf-sent-timeout",
    "+slave-reconf-sent-be",
    "-dup-sentinel",
    "+role-change",
    "-role-change",
    "+set",
    "+script-child",
    "-script-child",
    "-script-error",
    "-script-timeout",
    "+sentinel-address-switch",
    "+sentinel-address-update",
    "+sentinel-invalid-addr",
    "-cmd-link-reconnection",
    "-pubsub-link-reconnection",
];

/// The error codes a failed operation is counted under in
/// `history.errors.<CODE>`: the first word of Redis's error replies, and
/// NOCONN (the client could not reach the server).
pub const ERROR_CLASSES: &[&str] = &[
    "ERR",
    "WRONGTYPE",
    "NOREPLICAS",
    "READONLY",
    "MASTERDOWN",
    "MISCONF",
    "LOADING",
    "BUSY",
    "BUSYKEY",
    "EXECABORT",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "NOPROTO",
    "NOSCRIPT",
    "NOTBUSY",
    "OOM",
    "UNKILLABLE",
    "UNBLOCKED",
    "CROSSSLOT",
    "CLUSTERDOWN",
    "TRYAGAIN",
    "MOVED",
    "ASK",
    "IOERR",
    "DENIED",
    "NOGOODSLAVE",
    "NOTREADY",
    "NOCONN",
];

/// Is `event` one the engine, the world or Sentinel can emit? Faults are
/// recorded as `fault:<kind>`.
pub fn is_known_event(event: &str) -> bool {
    if let Some(kind) = event.strip_prefix("fault:") {
        return super::FAULT_KINDS.contains(&kind);
    }
    ENGINE_AND_WORLD_EVENTS.contains(&event) || SENTINEL_EVENTS.contains(&event)
}

/// Fields whose names carry a number or a command (db0, slave3,
/// cmdstat_get, errorstat_ERR, latency_percentiles_usec_set).
fn is_patterned_field(name: &str) -> bool {
    let numbered = |prefix: &str| {
        name.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    numbered("db")
        || numbered("slave")
        || ["cmdstat_", "errorstat_", "latency_percentiles_usec_"]
            .iter()
            .any(|p| name.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
}

/// Whether a known INFO field holds a number (true) or text (false).
/// None: no Redis node has such a field.
pub fn redis_field_is_numeric(name: &str) -> Option<bool> {
    if is_patterned_field(name) {
        // db0 and slave0 are "keys=1,expires=0,...": text.
        return Some(name.starts_with("errorstat_"));
    }
    match name {
        "role" | "kind" => return Some(false),
        "memory_bytes" | "rss_bytes_max" | "swap_bytes_max" | "oom_kills" => return Some(true),
        _ => {}
    }
    redis_fields().get(name).copied()
}

/// The INFO fields of throwaway engines in the states that add fields: a
/// master, one with appendonly and min-replicas, a replica, and a master
/// with a BGSAVE child; plus the fields only a full sync in progress shows.
fn redis_fields() -> &'static BTreeMap<String, bool> {
    static FIELDS: OnceLock<BTreeMap<String, bool>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut fields = BTreeMap::new();
        let configs: &[&[&str]] = &[
            &[],
            &["appendonly yes", "min-replicas-to-write 1"],
            &["replicaof 10.0.0.1 6379"],
        ];
        for lines in configs {
            let config = Config::from_conf_lines(lines).expect("valid config lines");
            let mut engine = Engine::new(config, EngineOptions::default(), 1_000_000);
            if lines.is_empty() {
                let argv = vec![b"BGSAVE".to_vec()];
                engine.admin_command(1_000_000, argv);
            }
            for (name, value) in engine.info_fields(1_000_000) {
                fields.insert(name, value.parse::<f64>().is_ok());
            }
        }
        for name in [
            "master_sync_total_bytes",
            "master_sync_read_bytes",
            "master_sync_left_bytes",
            "master_sync_perc",
            "master_sync_last_io_seconds_ago",
            "master_link_down_since_seconds",
        ] {
            fields.insert(name.to_string(), true);
        }
        fields
    })
}

/// A few known INFO field names close to `name`, for the message.
pub fn similar_fields(name: &str) -> Vec<String> {
    let stem: String = name.chars().take(4).collect();
    redis_fields()
        .keys()
        .filter(|k| k.starts_with(&stem) || k.contains(name) || name.contains(k.as_str()))
        .take(5)
        .cloned()
        .collect()
}
