//! INFO: Redis 7.0's sections and field names.

use crate::server::Server;

pub type Fields = Vec<(String, String)>;

fn f(fields: &mut Fields, name: &str, value: impl ToString) {
    fields.push((name.to_string(), value.to_string()));
}

/// Redis's bytesToHuman.
pub fn bytes_to_human(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", n / (1024.0 * 1024.0 * 1024.0))
    }
}

fn server_section(srv: &Server) -> Fields {
    let mut v = Fields::new();
    f(&mut v, "redis_version", "7.0.15");
    f(&mut v, "redis_git_sha1", "00000000");
    f(&mut v, "redis_git_dirty", "0");
    f(&mut v, "redis_build_id", "72656473696d0001");
    f(
        &mut v,
        "redis_mode",
        if srv.sentinel.is_some() {
            "sentinel"
        } else {
            "standalone"
        },
    );
    f(&mut v, "os", "Linux redsim x86_64");
    f(&mut v, "arch_bits", "64");
    f(&mut v, "monotonic_clock", "POSIX clock_gettime");
    f(&mut v, "multiplexing_api", "epoll");
    f(&mut v, "atomicvar_api", "c11-builtin");
    f(&mut v, "gcc_version", "12.2.0");
    f(&mut v, "process_id", srv.options.pid);
    f(&mut v, "process_supervised", "no");
    f(&mut v, "run_id", &srv.run_id);
    f(&mut v, "tcp_port", srv.options.port);
    f(&mut v, "server_time_usec", srv.now_us);
    f(&mut v, "uptime_in_seconds", srv.uptime_s());
    f(&mut v, "uptime_in_days", srv.uptime_s() / 86400);
    f(&mut v, "hz", srv.config.hot.hz);
    f(&mut v, "configured_hz", srv.config.int("hz"));
    f(&mut v, "lru_clock", (srv.mstime() / 1000) & ((1 << 24) - 1));
    f(&mut v, "executable", "/usr/bin/redis-server");
    f(&mut v, "config_file", "");
    f(&mut v, "io_threads_active", "0");
    v
}

fn clients_section(srv: &Server) -> Fields {
    let mut v = Fields::new();
    let normal = srv
        .clients
        .values()
        .filter(|c| c.kind != crate::networking::ClientKind::Replica)
        .count();
    let blocked = srv
        .clients
        .values()
        .filter(|c| c.blocked_wait.is_some())
        .count();
    f(&mut v, "connected_clients", normal);
    f(&mut v, "cluster_connections", 0);
    f(&mut v, "maxclients", srv.config.int("maxclients"));
    let peaks = &srv.reply_buffer;
    f(
        &mut v,
        "client_recent_max_input_buffer",
        peaks.peak_mem_input.iter().max().copied().unwrap_or(0),
    );
    f(
        &mut v,
        "client_recent_max_output_buffer",
        peaks.peak_mem_output.iter().max().copied().unwrap_or(0),
    );
    f(&mut v, "blocked_clients", blocked);
    f(&mut v, "tracking_clients", 0);
    f(&mut v, "clients_in_timeout_table", blocked);
    v
}

/// used_memory: the memory model's allocated bytes (memory/).
pub fn used_memory(srv: &Server) -> u64 {
    crate::memory::used_memory(srv)
}

fn memory_section(srv: &Server) -> Fields {
    let mut v = Fields::new();
    let m = crate::memory::info_figures(srv);
    let used = m.used;
    let rss = m.rss;
    let maxmemory = srv.config.hot.maxmemory_bytes.max(0) as u64;
    f(&mut v, "used_memory", used);
    f(&mut v, "used_memory_human", bytes_to_human(used));
    f(&mut v, "used_memory_rss", rss);
    f(&mut v, "used_memory_rss_human", bytes_to_human(rss));
    f(&mut v, "used_memory_peak", m.peak);
    f(&mut v, "used_memory_peak_human", bytes_to_human(m.peak));
    f(
        &mut v,
        "used_memory_peak_perc",
        format!("{:.2}%", used as f64 * 100.0 / m.peak.max(1) as f64),
    );
    f(&mut v, "used_memory_overhead", m.overhead);
    f(&mut v, "used_memory_startup", m.startup);
    let dataset = used.saturating_sub(m.overhead);
    f(&mut v, "used_memory_dataset", dataset);
    let net = used.saturating_sub(m.startup).max(1);
    f(
        &mut v,
        "used_memory_dataset_perc",
        format!("{:.2}%", dataset as f64 * 100.0 / net as f64),
    );
    f(&mut v, "allocator_allocated", used);
    f(&mut v, "allocator_active", m.active);
    f(&mut v, "allocator_resident", m.allocator_resident);
    // The engine cannot ask the host; the simulated machine's RAM is the host's business.
    f(&mut v, "total_system_memory", 0);
    f(&mut v, "total_system_memory_human", bytes_to_human(0));
    // No scripting engine: the figures an idle Redis 7.0 reports.
    f(&mut v, "used_memory_lua", 32768);
    f(&mut v, "used_memory_vm_eval", 32768);
    f(&mut v, "used_memory_lua_human", bytes_to_human(32768));
    f(&mut v, "used_memory_scripts_eval", 0);
    f(&mut v, "number_of_cached_scripts", 0);
    f(&mut v, "number_of_functions", 0);
    f(&mut v, "number_of_libraries", 0);
    f(&mut v, "used_memory_vm_functions", 33792);
    f(&mut v, "used_memory_vm_total", 66560);
    f(&mut v, "used_memory_vm_total_human", bytes_to_human(66560));
    f(&mut v, "used_memory_functions", 200);
    f(&mut v, "used_memory_scripts", 200);
    f(&mut v, "used_memory_scripts_human", bytes_to_human(200));
    f(&mut v, "maxmemory", maxmemory);
    f(&mut v, "maxmemory_human", bytes_to_human(maxmemory));
    f(
        &mut v,
        "maxmemory_policy",
        srv.config.get("maxmemory-policy").unwrap_or_default(),
    );
    let ratio = |a: u64, b: u64| format!("{:.2}", a as f64 / b.max(1) as f64);
    let diff = |a: u64, b: u64| a as i64 - b as i64;
    f(&mut v, "allocator_frag_ratio", ratio(m.active, used));
    f(&mut v, "allocator_frag_bytes", diff(m.active, used));
    f(
        &mut v,
        "allocator_rss_ratio",
        ratio(m.allocator_resident, m.active),
    );
    f(
        &mut v,
        "allocator_rss_bytes",
        diff(m.allocator_resident, m.active),
    );
    f(
        &mut v,
        "rss_overhead_ratio",
        ratio(rss, m.allocator_resident),
    );
    f(
        &mut v,
        "rss_overhead_bytes",
        diff(rss, m.allocator_resident),
    );
    f(&mut v, "mem_fragmentation_ratio", ratio(rss, used));
    f(&mut v, "mem_fragmentation_bytes", diff(rss, used));
    f(
        &mut v,
        "mem_not_counted_for_evict",
        crate::evict::not_counted_memory(srv),
    );
    f(
        &mut v,
        "mem_replication_backlog",
        srv.repl.backlog_histlen(),
    );
    f(
        &mut v,
        "mem_total_replication_buffers",
        srv.repl.backlog_histlen(),
    );
    // Replicas apart; masters and pubsub clients count as normal ones.
    let (mut replicas_bytes, mut normal_bytes) = (0, 0);
    for c in srv.clients.values() {
        let bytes = crate::memory::client_memory_bytes(c);
        if c.kind == crate::networking::ClientKind::Replica {
            replicas_bytes += bytes;
        } else {
            normal_bytes += bytes;
        }
    }
    f(&mut v, "mem_clients_slaves", replicas_bytes);
    f(&mut v, "mem_clients_normal", normal_bytes);
    f(&mut v, "mem_cluster_links", 0);
    f(&mut v, "mem_aof_buffer", srv.aof.buf.len());
    f(&mut v, "mem_allocator", "jemalloc-5.3.0");
    f(&mut v, "active_defrag_running", 0);
    f(
        &mut v,
        "lazyfree_pending_objects",
        crate::lazyfree::pending_objects(srv),
    );
    f(
        &mut v,
        "lazyfreed_objects",
        crate::lazyfree::freed_objects(srv),
    );
    v
}

fn persistence_section(srv: &Server) -> Fields {
    let mut v = Fields::new();
    let r = &srv.rdb;
    let rdb_child = r.child_type.is_some();
    f(&mut v, "loading", u8::from(srv.loading));
    f(&mut v, "async_loading", 0);
    let cow = crate::memory::cow_info(srv);
    f(&mut v, "current_cow_peak", cow.current_cow_peak);
    f(&mut v, "current_cow_size", cow.current_cow_size);
    f(&mut v, "current_cow_size_age", cow.current_cow_size_age);
    f(&mut v, "current_fork_perc", "0.00");
    f(&mut v, "current_save_keys_processed", 0);
    f(
        &mut v,
        "current_save_keys_total",
        if srv.child.is_some() {
            r.save_keys_total
        } else {
            0
        },
    );
    f(&mut v, "rdb_changes_since_last_save", srv.dirty);
    f(&mut v, "rdb_bgsave_in_progress", u8::from(rdb_child));
    f(&mut v, "rdb_last_save_time", srv.lastsave_s);
    f(
        &mut v,
        "rdb_last_bgsave_status",
        if r.lastbgsave_ok { "ok" } else { "err" },
    );
    f(&mut v, "rdb_last_bgsave_time_sec", r.save_time_last_s);
    let current = if rdb_child {
        srv.unixtime() - r.save_time_start_s
    } else {
        -1
    };
    f(&mut v, "rdb_current_bgsave_time_sec", current);
    f(&mut v, "rdb_saves", r.saves);
    f(&mut v, "rdb_last_cow_size", r.last_cow_size);
    f(
        &mut v,
        "rdb_last_load_keys_expired",
        r.last_load_keys_expired,
    );
    f(&mut v, "rdb_last_load_keys_loaded", r.last_load_keys_loaded);
    v.extend(crate::aof::info_fields(srv));
    v
}

fn stats_section(srv: &Server) -> Fields {
    let s = &srv.stats;
    let mut v = Fields::new();
    f(
        &mut v,
        "total_connections_received",
        s.total_connections_received,
    );
    f(
        &mut v,
        "total_commands_processed",
        s.total_commands_processed,
    );
    f(&mut v, "instantaneous_ops_per_sec", 0);
    f(&mut v, "total_net_input_bytes", s.net_input_bytes);
    f(&mut v, "total_net_output_bytes", s.net_output_bytes);
    f(&mut v, "total_net_repl_input_bytes", s.net_repl_input_bytes);
    f(
        &mut v,
        "total_net_repl_output_bytes",
        s.net_repl_output_bytes,
    );
    f(&mut v, "instantaneous_input_kbps", "0.00");
    f(&mut v, "instantaneous_output_kbps", "0.00");
    f(&mut v, "instantaneous_input_repl_kbps", "0.00");
    f(&mut v, "instantaneous_output_repl_kbps", "0.00");
    f(&mut v, "rejected_connections", s.rejected_conn);
    f(&mut v, "sync_full", s.sync_full);
    f(&mut v, "sync_partial_ok", s.sync_partial_ok);
    f(&mut v, "sync_partial_err", s.sync_partial_err);
    f(&mut v, "expired_keys", s.expired_keys);
    f(
        &mut v,
        "expired_stale_perc",
        format!("{:.2}", s.expired_stale_perc * 100.0),
    );
    f(&mut v, "expired_time_cap_reached_count", 0);
    f(
        &mut v,
        "expire_cycle_cpu_milliseconds",
        s.expire_cycle_cpu_milliseconds,
    );
    f(&mut v, "evicted_keys", s.evicted_keys);
    f(&mut v, "evicted_clients", 0);
    let (exceeded_total_ms, exceeded_current_ms) = crate::evict::exceeded_time_ms(srv);
    f(&mut v, "total_eviction_exceeded_time", exceeded_total_ms);
    f(
        &mut v,
        "current_eviction_exceeded_time",
        exceeded_current_ms,
    );
    f(&mut v, "keyspace_hits", s.keyspace_hits);
    f(&mut v, "keyspace_misses", s.keyspace_misses);
    f(&mut v, "pubsub_channels", srv.pubsub.channel_count());
    f(&mut v, "pubsub_patterns", srv.pubsub.pattern_count());
    f(&mut v, "pubsubshard_channels", 0);
    f(&mut v, "latest_fork_usec", srv.forks.latest_fork_usec);
    f(&mut v, "total_forks", srv.forks.total_forks);
    f(&mut v, "migrate_cached_sockets", 0);
    f(&mut v, "slave_expires_tracked_keys", 0);
    f(&mut v, "active_defrag_hits", 0);
    f(&mut v, "active_defrag_misses", 0);
    f(&mut v, "active_defrag_key_hits", 0);
    f(&mut v, "active_defrag_key_misses", 0);
    f(&mut v, "total_active_defrag_time", 0);
    f(&mut v, "current_active_defrag_time", 0);
    f(&mut v, "tracking_total_keys", 0);
    f(&mut v, "tracking_total_items", 0);
    f(&mut v, "tracking_total_prefixes", 0);
    f(&mut v, "unexpected_error_replies", 0);
    f(&mut v, "total_error_replies", s.total_error_replies);
    f(&mut v, "dump_payload_sanitizations", 0);
    f(&mut v, "total_reads_processed", s.total_commands_processed);
    f(&mut v, "total_writes_processed", s.total_commands_processed);
    f(&mut v, "io_threaded_reads_processed", 0);
    f(&mut v, "io_threaded_writes_processed", 0);
    f(&mut v, "reply_buffer_shrinks", s.reply_buffer_shrinks);
    f(&mut v, "reply_buffer_expands", s.reply_buffer_expands);
    v
}

/// The model has one CPU figure: the main thread's virtual CPU time (the
/// cost of every step), which it cannot split into user and system time,
/// and the host, not the engine, runs the children. So it is reported as
/// user time, for the process and its main thread, and the sys and
/// children fields are left out.
fn cpu_section(srv: &Server) -> Fields {
    let mut v = Fields::new();
    let user_s = srv.cpu_used_us as f64 / 1e6;
    f(&mut v, "used_cpu_user", format!("{:.6}", user_s));
    f(
        &mut v,
        "used_cpu_user_main_thread",
        format!("{:.6}", user_s),
    );
    v
}

fn errorstats_section(srv: &Server) -> Fields {
    srv.stats
        .errors_by_code
        .iter()
        .map(|(code, n)| (format!("errorstat_{}", code), format!("count={}", n)))
        .collect()
}

fn commandstats_section(srv: &Server) -> Fields {
    srv.stats
        .per_command
        .iter()
        .map(|(name, (calls, usec, rejected, failed))| {
            let per_call = if *calls > 0 {
                *usec as f64 / *calls as f64
            } else {
                0.0
            };
            (
                format!("cmdstat_{}", name),
                format!(
                    "calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                    calls, usec, per_call, rejected, failed
                ),
            )
        })
        .collect()
}

/// Latencystats: p50, p99 and p99.9 (latency-tracking-info-percentiles'
/// default) of each command's histogram, in usec.
fn latencystats_section(srv: &Server) -> Fields {
    srv.stats
        .latency
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(name, h)| {
            let at = |percentile: f64| h.value_at_percentile(percentile) as f64 / 1000.0;
            (
                format!("latency_percentiles_usec_{}", name),
                format!(
                    "p50={:.3},p99={:.3},p99.9={:.3}",
                    at(50.0),
                    at(99.0),
                    at(99.9)
                ),
            )
        })
        .collect()
}

fn keyspace_section(srv: &Server) -> Fields {
    let mut v = Fields::new();
    for (i, db) in srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        f(
            &mut v,
            &format!("db{}", i),
            format!(
                "keys={},expires={},avg_ttl={}",
                db.len(),
                db.expires.len(),
                db.avg_ttl_ms
            ),
        );
    }
    v
}

type SectionFn = fn(&Server) -> Fields;

/// (name, header, default?, builder) in Redis's order.
const SECTIONS: &[(&str, &str, bool, SectionFn)] = &[
    ("server", "Server", true, server_section),
    ("clients", "Clients", true, clients_section),
    ("memory", "Memory", true, memory_section),
    ("persistence", "Persistence", true, persistence_section),
    ("stats", "Stats", true, stats_section),
    (
        "replication",
        "Replication",
        true,
        crate::replication::info_fields,
    ),
    ("cpu", "CPU", true, cpu_section),
    ("modules", "Modules", true, |_| Fields::new()),
    ("commandstats", "Commandstats", false, commandstats_section),
    ("errorstats", "Errorstats", true, errorstats_section),
    ("latencystats", "Latencystats", false, latencystats_section),
    ("cluster", "Cluster", true, |_| {
        vec![("cluster_enabled".into(), "0".into())]
    }),
    ("keyspace", "Keyspace", true, keyspace_section),
    (
        "sentinel",
        "Sentinel",
        true,
        crate::sentinel::commands::info_fields,
    ),
];

/// The sections a Sentinel has (sentinelInfoCommand); a Redis server has
/// every other one.
fn section_exists(srv: &Server, name: &str) -> bool {
    let sentinel_section = ["server", "clients", "cpu", "stats", "sentinel"].contains(&name);
    if srv.sentinel.is_some() {
        sentinel_section
    } else {
        name != "sentinel"
    }
}

/// Renders INFO [section ...] as Redis does.
pub fn render(srv: &Server, requested: &[String]) -> String {
    let all = requested.iter().any(|s| s == "all" || s == "everything");
    let default = requested.is_empty() || requested.iter().any(|s| s == "default");
    let mut out = String::new();
    let mut count = 0;
    for (name, header, in_default, build) in SECTIONS {
        let wanted = all || (default && *in_default) || requested.iter().any(|s| s == name);
        if !wanted || !section_exists(srv, name) {
            continue;
        }
        if count > 0 {
            out.push_str("\r\n");
        }
        count += 1;
        out.push_str("# ");
        out.push_str(header);
        out.push_str("\r\n");
        for (k, v) in build(srv) {
            out.push_str(&k);
            out.push(':');
            out.push_str(&v);
            out.push_str("\r\n");
        }
    }
    out
}

/// Every field of every section, for reports.
pub fn all_fields(srv: &Server) -> Fields {
    let mut out = Fields::new();
    for (name, _, _, build) in SECTIONS {
        if section_exists(srv, name) {
            out.extend(build(srv));
        }
    }
    out
}
