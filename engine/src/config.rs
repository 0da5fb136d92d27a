//! redis.conf directives with Redis 7.0's names, aliases, units, defaults and
//! CONFIG GET / CONFIG SET semantics.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    /// Integer with bounds.
    Int(i64, i64),
    /// Bytes, accepting Redis units (1k, 1kb, 1m, 1mb, 1g, 1gb), with bounds.
    Memory(i64, i64),
    Enum(&'static [&'static str]),
    Str,
    /// Parsed by its own code (save, client-output-buffer-limit, replicaof, ...).
    Special,
}

pub struct Spec {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// Can CONFIG SET change it at run time?
    pub mutable: bool,
}

const fn spec(
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    default: &'static str,
    mutable: bool,
) -> Spec {
    Spec {
        name,
        alias,
        kind,
        default,
        mutable,
    }
}

const GB: i64 = 1024 * 1024 * 1024;
const I32: i64 = i32::MAX as i64;

/// Every directive Redis 7.0.15 has (src/config.c static_configs), with the
/// default CONFIG GET prints on a server started without a config file.
/// Generated from config.c; percent and octal values are kept as strings.
pub const SPECS: &[Spec] = &[
    spec("rdbchecksum", None, Kind::Bool, "yes", false),
    spec("daemonize", None, Kind::Bool, "no", false),
    spec("io-threads-do-reads", None, Kind::Bool, "no", false),
    spec("always-show-logo", None, Kind::Bool, "no", false),
    spec("protected-mode", None, Kind::Bool, "yes", true),
    spec("rdbcompression", None, Kind::Bool, "yes", true),
    spec("rdb-del-sync-files", None, Kind::Bool, "no", true),
    spec("activerehashing", None, Kind::Bool, "yes", true),
    spec("stop-writes-on-bgsave-error", None, Kind::Bool, "yes", true),
    spec("set-proc-title", None, Kind::Bool, "yes", false),
    spec("dynamic-hz", None, Kind::Bool, "yes", true),
    spec("lazyfree-lazy-eviction", None, Kind::Bool, "no", true),
    spec("lazyfree-lazy-expire", None, Kind::Bool, "no", true),
    spec("lazyfree-lazy-server-del", None, Kind::Bool, "no", true),
    spec("lazyfree-lazy-user-del", None, Kind::Bool, "no", true),
    spec("lazyfree-lazy-user-flush", None, Kind::Bool, "no", true),
    spec("repl-disable-tcp-nodelay", None, Kind::Bool, "no", true),
    spec("repl-diskless-sync", None, Kind::Bool, "yes", true),
    spec(
        "aof-rewrite-incremental-fsync",
        None,
        Kind::Bool,
        "yes",
        true,
    ),
    spec("no-appendfsync-on-rewrite", None, Kind::Bool, "no", true),
    spec(
        "cluster-require-full-coverage",
        None,
        Kind::Bool,
        "yes",
        true,
    ),
    spec("rdb-save-incremental-fsync", None, Kind::Bool, "yes", true),
    spec("aof-load-truncated", None, Kind::Bool, "yes", true),
    spec("aof-use-rdb-preamble", None, Kind::Bool, "yes", true),
    spec("aof-timestamp-enabled", None, Kind::Bool, "no", true),
    spec(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        Kind::Bool,
        "no",
        true,
    ),
    spec(
        "replica-lazy-flush",
        Some("slave-lazy-flush"),
        Kind::Bool,
        "no",
        true,
    ),
    spec(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        Kind::Bool,
        "yes",
        true,
    ),
    spec(
        "replica-read-only",
        Some("slave-read-only"),
        Kind::Bool,
        "yes",
        true,
    ),
    spec(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        Kind::Bool,
        "yes",
        true,
    ),
    spec("jemalloc-bg-thread", None, Kind::Bool, "yes", true),
    spec("activedefrag", None, Kind::Bool, "no", true),
    spec("syslog-enabled", None, Kind::Bool, "no", false),
    spec("cluster-enabled", None, Kind::Bool, "no", false),
    spec("appendonly", None, Kind::Bool, "no", true),
    spec(
        "cluster-allow-reads-when-down",
        None,
        Kind::Bool,
        "no",
        true,
    ),
    spec(
        "cluster-allow-pubsubshard-when-down",
        None,
        Kind::Bool,
        "yes",
        true,
    ),
    spec("crash-log-enabled", None, Kind::Bool, "yes", true),
    spec("crash-memcheck-enabled", None, Kind::Bool, "yes", true),
    spec("use-exit-on-panic", None, Kind::Bool, "no", true),
    spec("disable-thp", None, Kind::Bool, "yes", false),
    spec(
        "cluster-allow-replica-migration",
        None,
        Kind::Bool,
        "yes",
        true,
    ),
    spec("replica-announced", None, Kind::Bool, "yes", true),
    spec("latency-tracking", None, Kind::Bool, "yes", true),
    spec("aof-disable-auto-gc", None, Kind::Bool, "no", true),
    spec(
        "replica-ignore-disk-write-errors",
        None,
        Kind::Bool,
        "no",
        true,
    ),
    spec("aclfile", None, Kind::Str, "", false),
    spec("unixsocket", None, Kind::Str, "", false),
    spec("pidfile", None, Kind::Str, "", false),
    spec(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        Kind::Str,
        "",
        true,
    ),
    spec("masteruser", None, Kind::Str, "", true),
    spec("cluster-announce-ip", None, Kind::Str, "", true),
    spec("cluster-config-file", None, Kind::Str, "nodes.conf", false),
    spec("cluster-announce-hostname", None, Kind::Str, "", true),
    spec("syslog-ident", None, Kind::Str, "redis", false),
    spec("dbfilename", None, Kind::Str, "dump.rdb", true),
    spec("appendfilename", None, Kind::Str, "appendonly.aof", false),
    spec("appenddirname", None, Kind::Str, "appendonlydir", false),
    spec("server_cpulist", None, Kind::Str, "", false),
    spec("bio_cpulist", None, Kind::Str, "", false),
    spec("aof_rewrite_cpulist", None, Kind::Str, "", false),
    spec("bgsave_cpulist", None, Kind::Str, "", false),
    spec("ignore-warnings", None, Kind::Str, "", true),
    spec(
        "proc-title-template",
        None,
        Kind::Str,
        "{title} {listen-addr} {server-mode}",
        true,
    ),
    spec("bind-source-addr", None, Kind::Str, "", true),
    spec("logfile", None, Kind::Str, "", false),
    spec("masterauth", None, Kind::Str, "", true),
    spec("requirepass", None, Kind::Str, "", true),
    spec(
        "supervised",
        None,
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
        false,
    ),
    spec(
        "syslog-facility",
        None,
        Kind::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        "local0",
        false,
    ),
    spec(
        "repl-diskless-load",
        None,
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
        true,
    ),
    spec(
        "loglevel",
        None,
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
        true,
    ),
    spec(
        "maxmemory-policy",
        None,
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
        true,
    ),
    spec(
        "appendfsync",
        None,
        Kind::Enum(&["everysec", "always", "no"]),
        "everysec",
        true,
    ),
    spec(
        "oom-score-adj",
        None,
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
        true,
    ),
    spec(
        "acl-pubsub-default",
        None,
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
        true,
    ),
    spec(
        "sanitize-dump-payload",
        None,
        Kind::Enum(&["no", "yes", "clients"]),
        "no",
        true,
    ),
    spec(
        "enable-protected-configs",
        None,
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
    ),
    spec(
        "enable-debug-command",
        None,
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
    ),
    spec(
        "enable-module-command",
        None,
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
    ),
    spec(
        "cluster-preferred-endpoint-type",
        None,
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
        true,
    ),
    spec(
        "propagation-error-behavior",
        None,
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
        true,
    ),
    spec(
        "shutdown-on-sigint",
        None,
        Kind::Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        true,
    ),
    spec(
        "shutdown-on-sigterm",
        None,
        Kind::Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        true,
    ),
    spec("databases", None, Kind::Int(1, I32), "16", false),
    spec("port", None, Kind::Int(0, 65535), "6379", true),
    spec("io-threads", None, Kind::Int(1, 128), "1", false),
    spec(
        "auto-aof-rewrite-percentage",
        None,
        Kind::Int(0, I32),
        "100",
        true,
    ),
    spec(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        Kind::Int(0, I32),
        "10",
        true,
    ),
    spec(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        Kind::Int(i32::MIN as i64, I32),
        "-2",
        true,
    ),
    spec("tcp-keepalive", None, Kind::Int(0, I32), "300", true),
    spec(
        "cluster-migration-barrier",
        None,
        Kind::Int(0, I32),
        "1",
        true,
    ),
    spec("active-defrag-cycle-min", None, Kind::Int(1, 99), "1", true),
    spec(
        "active-defrag-cycle-max",
        None,
        Kind::Int(1, 99),
        "25",
        true,
    ),
    spec(
        "active-defrag-threshold-lower",
        None,
        Kind::Int(0, 1000),
        "10",
        true,
    ),
    spec(
        "active-defrag-threshold-upper",
        None,
        Kind::Int(0, 1000),
        "100",
        true,
    ),
    spec("lfu-log-factor", None, Kind::Int(0, I32), "10", true),
    spec("lfu-decay-time", None, Kind::Int(0, I32), "1", true),
    spec(
        "replica-priority",
        Some("slave-priority"),
        Kind::Int(0, I32),
        "100",
        true,
    ),
    spec(
        "repl-diskless-sync-delay",
        None,
        Kind::Int(0, I32),
        "5",
        true,
    ),
    spec("maxmemory-samples", None, Kind::Int(1, I32), "5", true),
    spec(
        "maxmemory-eviction-tenacity",
        None,
        Kind::Int(0, 100),
        "10",
        true,
    ),
    spec("timeout", None, Kind::Int(0, I32), "0", true),
    spec(
        "replica-announce-port",
        Some("slave-announce-port"),
        Kind::Int(0, 65535),
        "0",
        true,
    ),
    spec("tcp-backlog", None, Kind::Int(0, I32), "511", false),
    spec("cluster-port", None, Kind::Int(0, 65535), "0", false),
    spec(
        "cluster-announce-bus-port",
        None,
        Kind::Int(0, 65535),
        "0",
        true,
    ),
    spec(
        "cluster-announce-port",
        None,
        Kind::Int(0, 65535),
        "0",
        true,
    ),
    spec(
        "cluster-announce-tls-port",
        None,
        Kind::Int(0, 65535),
        "0",
        true,
    ),
    spec("repl-timeout", None, Kind::Int(1, I32), "60", true),
    spec(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        Kind::Int(1, I32),
        "10",
        true,
    ),
    spec("list-compress-depth", None, Kind::Int(0, I32), "0", true),
    spec(
        "rdb-key-save-delay",
        None,
        Kind::Int(i32::MIN as i64, I32),
        "0",
        true,
    ),
    spec(
        "key-load-delay",
        None,
        Kind::Int(i32::MIN as i64, I32),
        "0",
        true,
    ),
    spec("active-expire-effort", None, Kind::Int(1, 10), "1", true),
    spec("hz", None, Kind::Int(0, I32), "10", true),
    spec(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        Kind::Int(0, I32),
        "0",
        true,
    ),
    spec(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        Kind::Int(0, I32),
        "10",
        true,
    ),
    spec("watchdog-period", None, Kind::Int(0, I32), "0", true),
    spec("shutdown-timeout", None, Kind::Int(0, I32), "10", true),
    spec(
        "repl-diskless-sync-max-replicas",
        None,
        Kind::Int(0, I32),
        "0",
        true,
    ),
    spec("maxclients", None, Kind::Int(1, 4294967295), "10000", true),
    spec("unixsocketperm", None, Kind::Str, "0", false),
    spec("socket-mark-id", None, Kind::Int(0, 4294967295), "0", false),
    spec(
        "active-defrag-max-scan-fields",
        None,
        Kind::Int(1, i64::MAX),
        "1000",
        true,
    ),
    spec("slowlog-max-len", None, Kind::Int(0, i64::MAX), "128", true),
    spec("acllog-max-len", None, Kind::Int(0, i64::MAX), "128", true),
    spec(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        Kind::Int(0, i64::MAX),
        "5000",
        true,
    ),
    spec(
        "cluster-node-timeout",
        None,
        Kind::Int(0, i64::MAX),
        "15000",
        true,
    ),
    spec(
        "slowlog-log-slower-than",
        None,
        Kind::Int(-1, i64::MAX),
        "10000",
        true,
    ),
    spec(
        "latency-monitor-threshold",
        None,
        Kind::Int(0, i64::MAX),
        "0",
        true,
    ),
    spec(
        "proto-max-bulk-len",
        None,
        Kind::Memory(1048576, i64::MAX),
        "536870912",
        true,
    ),
    spec(
        "stream-node-max-entries",
        None,
        Kind::Int(0, i64::MAX),
        "100",
        true,
    ),
    spec(
        "repl-backlog-size",
        None,
        Kind::Memory(1, i64::MAX),
        "1048576",
        true,
    ),
    spec("maxmemory", None, Kind::Memory(0, i64::MAX), "0", true),
    spec(
        "cluster-link-sendbuf-limit",
        None,
        Kind::Memory(0, i64::MAX),
        "0",
        true,
    ),
    spec(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        Kind::Int(0, i64::MAX),
        "512",
        true,
    ),
    spec(
        "set-max-intset-entries",
        None,
        Kind::Int(0, i64::MAX),
        "512",
        true,
    ),
    spec(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        Kind::Int(0, i64::MAX),
        "128",
        true,
    ),
    spec(
        "active-defrag-ignore-bytes",
        None,
        Kind::Memory(1, i64::MAX),
        "104857600",
        true,
    ),
    spec(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        Kind::Memory(0, i64::MAX),
        "64",
        true,
    ),
    spec(
        "stream-node-max-bytes",
        None,
        Kind::Memory(0, i64::MAX),
        "4096",
        true,
    ),
    spec(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        Kind::Memory(0, i64::MAX),
        "64",
        true,
    ),
    spec(
        "hll-sparse-max-bytes",
        None,
        Kind::Memory(0, i64::MAX),
        "3000",
        true,
    ),
    spec(
        "tracking-table-max-keys",
        None,
        Kind::Int(0, i64::MAX),
        "1000000",
        true,
    ),
    spec(
        "client-query-buffer-limit",
        None,
        Kind::Memory(1048576, i64::MAX),
        "1073741824",
        true,
    ),
    spec("maxmemory-clients", None, Kind::Str, "0", true),
    spec(
        "repl-backlog-ttl",
        None,
        Kind::Int(0, i64::MAX),
        "3600",
        true,
    ),
    spec(
        "auto-aof-rewrite-min-size",
        None,
        Kind::Memory(0, i64::MAX),
        "67108864",
        true,
    ),
    spec(
        "loading-process-events-interval-bytes",
        None,
        Kind::Int(1024, I32),
        "1024*1024*2",
        true,
    ),
    spec("tls-port", None, Kind::Int(0, 65535), "0", true),
    spec(
        "tls-session-cache-size",
        None,
        Kind::Int(0, I32),
        "20480",
        true,
    ),
    spec(
        "tls-session-cache-timeout",
        None,
        Kind::Int(0, I32),
        "300",
        true,
    ),
    spec("tls-cluster", None, Kind::Bool, "no", true),
    spec("tls-replication", None, Kind::Bool, "no", true),
    spec(
        "tls-auth-clients",
        None,
        Kind::Enum(&["no", "yes", "optional"]),
        "yes",
        true,
    ),
    spec("tls-prefer-server-ciphers", None, Kind::Bool, "no", true),
    spec("tls-session-caching", None, Kind::Bool, "yes", true),
    spec("tls-cert-file", None, Kind::Str, "", true),
    spec("tls-key-file", None, Kind::Str, "", true),
    spec("tls-key-file-pass", None, Kind::Str, "", true),
    spec("tls-client-cert-file", None, Kind::Str, "", true),
    spec("tls-client-key-file", None, Kind::Str, "", true),
    spec("tls-client-key-file-pass", None, Kind::Str, "", true),
    spec("tls-dh-params-file", None, Kind::Str, "", true),
    spec("tls-ca-cert-file", None, Kind::Str, "", true),
    spec("tls-ca-cert-dir", None, Kind::Str, "", true),
    spec("tls-protocols", None, Kind::Str, "", true),
    spec("tls-ciphers", None, Kind::Str, "", true),
    spec("tls-ciphersuites", None, Kind::Str, "", true),
    spec("dir", None, Kind::Special, "/var/lib/redis", true),
    spec("save", None, Kind::Special, "3600 1 300 100 60 10000", true),
    spec(
        "client-output-buffer-limit",
        None,
        Kind::Special,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
    ),
    spec("oom-score-adj-values", None, Kind::Str, "0 200 800", true),
    spec("notify-keyspace-events", None, Kind::Str, "", true),
    spec("bind", None, Kind::Str, "* -::*", true),
    spec("replicaof", Some("slaveof"), Kind::Special, "", false),
    spec(
        "latency-tracking-info-percentiles",
        None,
        Kind::Str,
        "50 99 99.9",
        true,
    ),
];

/// Directives CONFIG SET refuses while enable-protected-configs is "no" (the default).
pub const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// Directives CONFIG GET matches only by exact name, never by a glob.
pub const HIDDEN: &[&str] = &[
    "use-exit-on-panic",
    "rdb-key-save-delay",
    "key-load-delay",
    "watchdog-period",
    "loading-process-events-interval-bytes",
];

/// A config error, with Redis's wording for the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The directive name as written.
    pub directive: String,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}': {}", self.directive, self.reason)
    }
}

/// Parses a Redis memory value (memtoll): bare bytes, or k/kb/m/mb/g/gb, case-insensitive.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    // memtoull: unsigned digits, then an optional unit; no sign.
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => GB,
        _ => return None,
    };
    let n: i64 = digits.parse().ok()?;
    n.checked_mul(mul)
}

/// Limits for one client class (client-output-buffer-limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: i64,
}

/// Typed copies of the settings the hot paths read, refreshed on every change.
#[derive(Debug, Clone)]
pub struct Hot {
    pub hz: i64,
    pub databases: usize,
    pub replicaof: Option<(String, u16)>,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay_s: i64,
    pub repl_diskless_sync_max_replicas: i64,
    pub repl_ping_replica_period_s: i64,
    pub repl_timeout_s: i64,
    pub repl_backlog_size_bytes: i64,
    pub repl_backlog_ttl_s: i64,
    pub min_replicas_to_write: i64,
    pub min_replicas_max_lag_s: i64,
    pub obuf_replica: ObufLimit,
    pub obuf_normal: ObufLimit,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub active_expire_effort: i64,
    pub maxmemory_bytes: i64,
    pub save_points: Vec<(i64, i64)>,
    /// Read on every key lookup (evict.rs).
    pub maxmemory_policy: crate::evict::Policy,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
}

/// The server configuration: canonical directive name -> value as CONFIG GET prints it.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    pub hot: Hot,
    /// `sentinel ...` directives (without the leading word), in order: only
    /// a process in sentinel mode may have them.
    pub sentinel_lines: Vec<Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        let values = SPECS
            .iter()
            .map(|s| (s.name, s.default.to_string()))
            .collect();
        let mut c = Config {
            values,
            hot: placeholder_hot(),
            sentinel_lines: Vec::new(),
        };
        c.refresh();
        c
    }
}

fn placeholder_hot() -> Hot {
    let zero = ObufLimit {
        hard_bytes: 0,
        soft_bytes: 0,
        soft_seconds: 0,
    };
    Hot {
        hz: 10,
        databases: 16,
        replicaof: None,
        replica_read_only: true,
        replica_serve_stale_data: true,
        repl_diskless_sync: true,
        repl_diskless_sync_delay_s: 5,
        repl_diskless_sync_max_replicas: 0,
        repl_ping_replica_period_s: 10,
        repl_timeout_s: 60,
        repl_backlog_size_bytes: 1 << 20,
        repl_backlog_ttl_s: 3600,
        min_replicas_to_write: 0,
        min_replicas_max_lag_s: 10,
        obuf_replica: zero,
        obuf_normal: zero,
        proto_max_bulk_len: 512 << 20,
        client_query_buffer_limit: GB,
        active_expire_effort: 1,
        maxmemory_bytes: 0,
        save_points: Vec::new(),
        maxmemory_policy: crate::evict::Policy::NoEviction,
        lfu_log_factor: 10,
        lfu_decay_time: 1,
    }
}

pub fn find_spec(name: &str) -> Option<&'static Spec> {
    let lower = name.to_ascii_lowercase();
    SPECS
        .iter()
        .find(|s| s.name == lower || s.alias == Some(lower.as_str()))
}

impl Config {
    /// Parses redis.conf text. Errors carry the 1-based line number.
    pub fn from_conf_lines<S: AsRef<str>>(lines: &[S]) -> Result<Config, (usize, ConfigError)> {
        let mut config = Config::default();
        let mut saw_save = false;
        for (index, line) in lines.iter().enumerate() {
            let line = line.as_ref().trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let args = crate::resp::split_args(line.as_bytes()).ok_or_else(|| {
                (
                    index + 1,
                    ConfigError {
                        directive: line.to_string(),
                        reason: "Unbalanced quotes in configuration line".into(),
                    },
                )
            })?;
            let args: Vec<String> = args
                .into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect();
            let Some((name, rest)) = args.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("sentinel") && !rest.is_empty() {
                config.sentinel_lines.push(rest.to_vec());
                continue;
            }
            // In a file, the first "save" line replaces the defaults and later ones add to it.
            let result = if name.eq_ignore_ascii_case("save") && saw_save {
                let mut joined = config.get("save").unwrap_or_default();
                if !joined.is_empty() && !rest.is_empty() && rest[0].is_empty() {
                    joined.clear();
                }
                let extra = rest.join(" ");
                config.set(name, &[format!("{} {}", joined, extra).trim().to_string()])
            } else {
                config.set(name, rest)
            };
            if name.eq_ignore_ascii_case("save") {
                saw_save = true;
            }
            result.map_err(|e| (index + 1, e))?;
        }
        Ok(config)
    }

    /// The value CONFIG GET prints for a canonical name.
    pub fn get(&self, name: &str) -> Option<String> {
        self.value(name).map(str::to_string)
    }

    /// The value of a directive by its name or alias, any case, without copying it. The
    /// canonical names the engine itself asks for on every cron tick are found directly.
    fn value(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.values.get(name) {
            return Some(v);
        }
        let spec = find_spec(name)?;
        self.values.get(spec.name).map(String::as_str)
    }

    /// CONFIG GET with several patterns, as Redis 7.0 answers it: a name
    /// without glob characters is looked up directly (alias or not) and echoed
    /// as typed; a glob matches every name and alias except hidden ones,
    /// each under its own name. A name already in the reply (compared
    /// case-insensitively) is not repeated. Redis emits them in hash order,
    /// so callers must not rely on the order.
    pub fn get_matching_all(&self, patterns: &[Vec<u8>]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let add = |out: &mut Vec<(String, String)>, name: String, value: &String| {
            if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                out.push((name, value.clone()));
            }
        };
        for pattern in patterns {
            if !pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
                let typed = String::from_utf8_lossy(pattern).into_owned();
                if let Some(spec) = find_spec(&typed) {
                    add(&mut out, typed, &self.values[spec.name]);
                }
                continue;
            }
            for spec in SPECS.iter().filter(|s| !HIDDEN.contains(&s.name)) {
                let value = &self.values[spec.name];
                for name in std::iter::once(spec.name).chain(spec.alias) {
                    if crate::util::glob_match(pattern, name.as_bytes(), true) {
                        add(&mut out, name.to_string(), value);
                    }
                }
            }
        }
        out
    }

    /// CONFIG GET with one pattern.
    pub fn get_matching(&self, pattern: &[u8]) -> Vec<(String, String)> {
        self.get_matching_all(&[pattern.to_vec()])
    }

    /// Sets one directive from its arguments (as on a redis.conf line or CONFIG SET).
    pub fn set<S: AsRef<str>>(&mut self, name: &str, args: &[S]) -> Result<(), ConfigError> {
        let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
        let err = |reason: &str| ConfigError {
            directive: name.to_string(),
            reason: reason.to_string(),
        };
        let spec =
            find_spec(name).ok_or_else(|| err("Bad directive or wrong number of arguments"))?;
        let value = match spec.kind {
            Kind::Special => special_value(spec.name, &args).map_err(|r| err(&r))?,
            _ => {
                if args.len() != 1 {
                    return Err(err("wrong number of arguments"));
                }
                typed_value(spec, args[0]).map_err(|r| err(&r))?
            }
        };
        let value = normalize_value(spec.name, value).map_err(|r| err(&r))?;
        self.values.insert(spec.name, value);
        self.refresh();
        Ok(())
    }

    pub fn bool(&self, name: &str) -> bool {
        self.value(name) == Some("yes")
    }
    pub fn int(&self, name: &str) -> i64 {
        self.value(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    fn refresh(&mut self) {
        let obuf = parse_obuf_limits(&self.values["client-output-buffer-limit"]);
        let replicaof = self.values["replicaof"]
            .split_once(' ')
            .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)));
        let save_points = self.values["save"]
            .split_whitespace()
            .collect::<Vec<_>>()
            .chunks(2)
            .filter_map(|c| Some((c.first()?.parse().ok()?, c.get(1)?.parse().ok()?)))
            .collect();
        self.hot = Hot {
            hz: self.int("hz").clamp(1, 500),
            databases: self.int("databases") as usize,
            replicaof,
            replica_read_only: self.bool("replica-read-only"),
            replica_serve_stale_data: self.bool("replica-serve-stale-data"),
            repl_diskless_sync: self.bool("repl-diskless-sync"),
            repl_diskless_sync_delay_s: self.int("repl-diskless-sync-delay"),
            repl_diskless_sync_max_replicas: self.int("repl-diskless-sync-max-replicas"),
            repl_ping_replica_period_s: self.int("repl-ping-replica-period"),
            repl_timeout_s: self.int("repl-timeout"),
            repl_backlog_size_bytes: self.int("repl-backlog-size").max(16 * 1024),
            repl_backlog_ttl_s: self.int("repl-backlog-ttl"),
            min_replicas_to_write: self.int("min-replicas-to-write"),
            min_replicas_max_lag_s: self.int("min-replicas-max-lag"),
            obuf_normal: obuf.0,
            obuf_replica: obuf.1,
            proto_max_bulk_len: self.int("proto-max-bulk-len"),
            client_query_buffer_limit: self.int("client-query-buffer-limit"),
            active_expire_effort: self.int("active-expire-effort"),
            maxmemory_bytes: self.int("maxmemory"),
            save_points,
            maxmemory_policy: crate::evict::Policy::from_name(&self.values["maxmemory-policy"]),
            lfu_log_factor: self.int("lfu-log-factor"),
            lfu_decay_time: self.int("lfu-decay-time"),
        };
    }
}

/// What the directive's apply or parse function in Redis does to a value that
/// passed the generic checks: clamping, validation, a canonical spelling.
fn normalize_value(name: &str, value: String) -> Result<String, String> {
    match name {
        // updateHZ clamps to CONFIG_MIN_HZ..CONFIG_MAX_HZ, and CONFIG GET shows that.
        "hz" => Ok(value.parse::<i64>().unwrap_or(10).clamp(1, 500).to_string()),
        // resizeReplicationBacklog never goes below CONFIG_REPL_BACKLOG_MIN_SIZE.
        "repl-backlog-size" => Ok(value.parse::<i64>().unwrap_or(0).max(16 * 1024).to_string()),
        "notify-keyspace-events" => notify_flags_canonical(&value),
        "oom-score-adj-values" => {
            // Multi-argument values are split on single spaces (sdssplitlen).
            let values: Vec<&str> = value.split(' ').collect();
            if values.len() != 3 {
                return Err("wrong number of arguments".into());
            }
            let ok = values.iter().all(|v| {
                crate::resp::parse_i64_strict(v.as_bytes())
                    .is_some_and(|n| (-2000..=2000).contains(&n))
            });
            if !ok {
                return Err(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into(),
                );
            }
            Ok(values.join(" "))
        }
        _ => Ok(value),
    }
}

/// keyspaceEventsStringToFlags then keyspaceEventsFlagsToString: the classes
/// in Redis's canonical order, "A" for all of them.
fn notify_flags_canonical(classes: &str) -> Result<String, String> {
    const ALL: &str = "g$lshzxetd";
    let mut present = String::new();
    for c in classes.chars() {
        match c {
            'A' => present.push_str(ALL),
            'g' | '$' | 'l' | 's' | 'h' | 'z' | 'x' | 'e' | 'K' | 'E' | 't' | 'm' | 'd' | 'n' => {
                present.push(c)
            }
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        }
    }
    let mut out = String::new();
    // Like Redis, "n" is not part of "A" and is not printed next to it.
    if ALL.chars().all(|c| present.contains(c)) {
        out.push('A');
    } else {
        out.extend("g$lshzxetdn".chars().filter(|&c| present.contains(c)));
    }
    out.extend("KEm".chars().filter(|&c| present.contains(c)));
    Ok(out)
}

fn typed_value(spec: &Spec, arg: &str) -> Result<String, String> {
    match spec.kind {
        Kind::Bool => match arg.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n = crate::resp::parse_i64_strict(arg.as_bytes())
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            bounded(n, min, max)
        }
        Kind::Memory(min, max) => {
            let n =
                parse_memory(arg).ok_or_else(|| "argument must be a memory value".to_string())?;
            bounded(n, min, max)
        }
        Kind::Enum(values) => {
            let lower = arg.to_ascii_lowercase();
            if values.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    values.join(", ")
                ))
            }
        }
        Kind::Str => Ok(arg.to_string()),
        Kind::Special => unreachable!("special directives have their own parser"),
    }
}

fn bounded(n: i64, min: i64, max: i64) -> Result<String, String> {
    if n < min || n > max {
        return Err(format!(
            "argument must be between {} and {} inclusive",
            min, max
        ));
    }
    Ok(n.to_string())
}

fn special_value(name: &str, args: &[&str]) -> Result<String, String> {
    match name {
        "save" => {
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if words.is_empty() || (words.len() == 1 && words[0].is_empty()) {
                return Ok(String::new());
            }
            if !words.len().is_multiple_of(2)
                || words
                    .iter()
                    .any(|w| w.parse::<i64>().map_or(true, |n| n < 0))
            {
                return Err("Invalid save parameters".into());
            }
            Ok(words.join(" "))
        }
        "replicaof" => match args {
            [host, port] if host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one") => {
                Ok(String::new())
            }
            [host, port] => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| "Invalid master port".to_string())?;
                Ok(format!("{} {}", host, port))
            }
            [] => Ok(String::new()),
            _ => Err("wrong number of arguments".into()),
        },
        "dir" => match args {
            [dir] => Ok(dir.to_string()),
            _ => Err("wrong number of arguments".into()),
        },
        "client-output-buffer-limit" => {
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if words.is_empty() || !words.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let mut current = parse_obuf_all(
                "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            );
            for chunk in words.chunks(4) {
                let class = match chunk[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => {
                        return Err(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        )
                    }
                };
                let hard = parse_memory(chunk[1]);
                let soft = parse_memory(chunk[2]);
                let secs = chunk[3].parse::<i64>().ok();
                match (hard, soft, secs) {
                    (Some(h), Some(s), Some(t)) if h >= 0 && s >= 0 && t >= 0 => {
                        current[class] = ObufLimit { hard_bytes: h as u64, soft_bytes: s as u64, soft_seconds: t }
                    }
                    _ => return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()),
                }
            }
            let names = ["normal", "slave", "pubsub"];
            Ok(current
                .iter()
                .zip(names)
                .map(|(l, n)| format!("{} {} {} {}", n, l.hard_bytes, l.soft_bytes, l.soft_seconds))
                .collect::<Vec<_>>()
                .join(" "))
        }
        _ => Err("Bad directive or wrong number of arguments".into()),
    }
}

fn parse_obuf_all(s: &str) -> [ObufLimit; 3] {
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut out = [ObufLimit {
        hard_bytes: 0,
        soft_bytes: 0,
        soft_seconds: 0,
    }; 3];
    for (i, chunk) in words.chunks(4).take(3).enumerate() {
        out[i] = ObufLimit {
            hard_bytes: chunk[1].parse().unwrap_or(0),
            soft_bytes: chunk[2].parse().unwrap_or(0),
            soft_seconds: chunk[3].parse().unwrap_or(0),
        };
    }
    out
}

fn parse_obuf_limits(s: &str) -> (ObufLimit, ObufLimit) {
    let all = parse_obuf_all(s);
    (all[0], all[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn units_and_aliases() {
        assert_eq!(parse_memory("1mb"), Some(1048576));
        assert_eq!(parse_memory("1m"), Some(1000000));
        assert_eq!(parse_memory("2GB"), Some(2 * GB));
        assert_eq!(parse_memory("1tb"), None);
        let c = Config::from_conf_lines(&[
            "repl-backlog-size 2mb",
            "slaveof m1 6379",
            "min-slaves-to-write 1",
        ])
        .unwrap();
        assert_eq!(c.hot.repl_backlog_size_bytes, 2 * 1024 * 1024);
        assert_eq!(c.hot.replicaof, Some(("m1".into(), 6379)));
        assert_eq!(c.hot.min_replicas_to_write, 1);
    }
    #[test]
    fn bad_lines_name_the_line() {
        let e = Config::from_conf_lines(&["hz 10", "bogus 1"]).unwrap_err();
        assert_eq!(e.0, 2);
        let e = Config::from_conf_lines(&["maxmemory lots"]).unwrap_err();
        assert_eq!(e.1.reason, "argument must be a memory value");
    }
}
