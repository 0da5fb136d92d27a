//! Machines host processes: several nodes on one machine share its fate
//! (power, partitions, clock), its RAM (one OOM killer for all of them), its
//! disk and page cache, and talk to each other over loopback.

use redsim_sim::{
    Fault, MachineSpec, NodeSpec, Op, Outcome, WorkloadKind, WorkloadSpec, World, WorldSpec,
};

const MB: u64 = 1 << 20;
const MS: u64 = 1000;
const S: u64 = 1_000_000;

fn node(name: &str, machine: Option<&str>, config: &[&str]) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        machine: MachineSpec::default(),
        config_lines: config.iter().map(|l| l.to_string()).collect(),
        machine_name: machine.map(str::to_string),
        sentinel: false,
    }
}

fn world(nodes: Vec<NodeSpec>) -> World {
    let mut w = World::new(WorldSpec {
        seed: 7,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.keep_trace_lines();
    w
}

/// m1 and r1 on machine h1 (r1 replicates m1 over loopback), r2 on its own
/// machine replicating m1 by the machine's name.
fn h1_pair_and_r2() -> World {
    world(vec![
        node("m1", Some("h1"), &["port 6379", "dir /data/m1"]),
        node(
            "r1",
            Some("h1"),
            &["port 6380", "dir /data/r1", "replicaof m1 6379"],
        ),
        node("r2", None, &["replicaof h1 6379"]),
    ])
}

fn keys_in_db0(w: &mut World, node: &str) -> u64 {
    // "keys=N,expires=0,avg_ttl=0"; no db0 line while the keyspace is empty.
    w.info_field(node, "db0").map_or(0, |v| {
        v.trim_start_matches("keys=")
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    })
}

#[test]
fn two_nodes_on_one_machine_replicate_over_loopback_while_it_is_partitioned() {
    let mut w = h1_pair_and_r2();
    w.schedule_fault(
        0,
        Fault::Partition {
            groups: vec![vec!["h1".into()], vec!["r2".into()]],
        },
    )
    .unwrap();
    w.schedule_admin_line(2 * S, "m1", "DEBUG POPULATE 100 key 10")
        .unwrap();
    // The full sync waits out repl-diskless-sync-delay (5 s).
    w.run_until(9 * S);
    assert_eq!(
        w.info_field("r1", "master_link_status").as_deref(),
        Some("up")
    );
    assert_eq!(keys_in_db0(&mut w, "r1"), 100);
    assert_eq!(
        w.info_field("r2", "master_link_status").as_deref(),
        Some("down")
    );
    assert_eq!(keys_in_db0(&mut w, "r2"), 0);
    // r1 dialled m1 from h1 itself (10.0.0.1): loopback, and m1 knows the
    // port it came in on.
    let from_h1 = w
        .trace_lines()
        .iter()
        .filter(|l| l.contains(" m1 accept ") && l.contains("peer=10.0.0.1:"))
        .count();
    assert_eq!(
        from_h1,
        1,
        "{:?}",
        w.trace_lines()
            .iter()
            .filter(|l| l.contains("accept"))
            .collect::<Vec<_>>()
    );
    let clients = &w.engine("m1").unwrap().server().clients;
    assert!(clients.values().all(|c| c.local_port == Some(6379)) && !clients.is_empty());
    w.schedule_fault(9 * S, Fault::Heal).unwrap();
    w.run_until(20 * S);
    assert_eq!(
        w.info_field("r2", "master_link_status").as_deref(),
        Some("up")
    );
    assert_eq!(keys_in_db0(&mut w, "r2"), 100);
}

#[test]
fn a_connect_reaches_the_process_listening_on_its_port_and_is_refused_elsewhere() {
    let mut w = world(vec![
        node("m1", Some("h1"), &["port 6379", "dir /data/m1"]),
        node("r1", Some("h1"), &["port 6380", "dir /data/r1"]),
        node("r2", None, &["replicaof h1 6381"]),
    ]);
    w.run_until(3 * S);
    assert_eq!(
        w.info_field("r2", "master_link_status").as_deref(),
        Some("down")
    );
    assert!(w
        .trace_lines()
        .iter()
        .any(|l| l.contains(" r2 connect-failed ")));
    assert!(!w.trace_lines().iter().any(|l| l.contains(" accept conn=")));
    // REPLICAOF to h1's second process: r1 (port 6380) accepts, m1 does not.
    w.schedule_admin_line(3 * S, "r2", "REPLICAOF h1 6380")
        .unwrap();
    w.run_until(12 * S);
    assert_eq!(
        w.info_field("r2", "master_link_status").as_deref(),
        Some("up")
    );
    assert!(w
        .trace_lines()
        .iter()
        .any(|l| l.contains(" r1 accept conn=")));
    assert!(!w
        .trace_lines()
        .iter()
        .any(|l| l.contains(" m1 accept conn=")));
}

#[test]
fn power_loss_of_a_machine_kills_every_process_on_it_and_restart_starts_them_all() {
    let mut w = h1_pair_and_r2();
    w.run_until(2 * S);
    let pids = (
        w.info_field("m1", "process_id"),
        w.info_field("r1", "process_id"),
    );
    // The node's name stands for its machine.
    w.schedule_fault(2 * S, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.run_until(3 * S);
    assert!(!w.node_is_up("m1") && !w.node_is_up("r1") && w.node_is_up("r2"));
    assert_eq!(w.faults_fired()["kill"], 1);
    w.schedule_fault(3 * S, Fault::Restart { node: "h1".into() })
        .unwrap();
    w.run_until(12 * S);
    assert!(w.node_is_up("m1") && w.node_is_up("r1"));
    assert_ne!(
        (
            w.info_field("m1", "process_id"),
            w.info_field("r1", "process_id")
        ),
        pids
    );
    assert_eq!(
        w.info_field("r1", "master_link_status").as_deref(),
        Some("up")
    );
}

#[test]
fn crash_kills_one_process_and_the_page_cache_survives_until_power_loss() {
    let aof = |dir: &str| {
        vec![
            format!("dir {}", dir),
            "appendonly yes".into(),
            "appendfsync no".into(),
        ]
    };
    let mut m2_config = aof("/d/m2");
    m2_config.push("port 6380".into());
    let nodes = vec![
        NodeSpec {
            config_lines: aof("/d/m1"),
            ..node("m1", Some("h1"), &[])
        },
        NodeSpec {
            config_lines: m2_config,
            ..node("m2", Some("h1"), &[])
        },
    ];
    let mut w = world(nodes);
    w.schedule_admin_line(1500 * MS, "m1", "SET a 1").unwrap();
    w.schedule_admin_line(1500 * MS, "m2", "SET b 2").unwrap();
    w.run_until(2 * S);
    let cached = w.disk_files("h1");
    let durable = w.disk_durable_files("h1");
    let incr = |files: &std::collections::BTreeMap<String, Vec<u8>>, dir: &str| {
        files
            .iter()
            .filter(|(name, _)| name.starts_with(dir) && name.ends_with(".incr.aof"))
            .map(|(_, b)| b.len())
            .sum::<usize>()
    };
    // Each process keeps its files under its own dir; appendfsync no left the writes in the cache.
    assert!(
        incr(&cached, "/d/m1/") > incr(&durable, "/d/m1/"),
        "{:?}",
        cached.keys().collect::<Vec<_>>()
    );
    assert!(incr(&cached, "/d/m2/") > incr(&durable, "/d/m2/"));
    w.schedule_fault(2 * S, Fault::Crash { node: "m1".into() })
        .unwrap();
    w.run_until(3 * S);
    assert!(!w.node_is_up("m1") && w.node_is_up("m2"));
    assert_eq!(w.disk_files("h1"), cached, "SIGKILL keeps the page cache");
    w.schedule_fault(3 * S, Fault::Kill { node: "h1".into() })
        .unwrap();
    w.run_until(4 * S);
    assert!(!w.node_is_up("m2"));
    assert_eq!(
        w.disk_files("h1"),
        durable,
        "power loss keeps what was durable"
    );
}

#[test]
fn restart_of_a_crashed_process_starts_it_alone_and_restart_of_a_live_one_power_cycles_its_machine()
{
    let mut w = h1_pair_and_r2();
    w.schedule_admin_line(1500 * MS, "m1", "SET a 1").unwrap();
    w.run_until(2 * S);
    let m1_pid = w.info_field("m1", "process_id");
    let r1_pid = w.info_field("r1", "process_id");
    w.schedule_fault(2 * S, Fault::Crash { node: "r1".into() })
        .unwrap();
    w.schedule_fault(3 * S, Fault::Restart { node: "r1".into() })
        .unwrap();
    w.run_until(12 * S);
    assert_eq!(w.faults_fired()["restart"], 1);
    assert_eq!(w.info_field("m1", "process_id"), m1_pid, "m1 kept running");
    assert_ne!(
        w.info_field("r1", "process_id"),
        r1_pid,
        "r1 is a new process"
    );
    assert_eq!(
        w.info_field("r1", "master_link_status").as_deref(),
        Some("up")
    );
    assert_eq!(keys_in_db0(&mut w, "r1"), 1);
    // Every process up: a restart named by one of them is a power cycle of the machine.
    let r1_pid = w.info_field("r1", "process_id");
    w.schedule_fault(12 * S, Fault::Restart { node: "r1".into() })
        .unwrap();
    w.run_until(20 * S);
    assert_ne!(w.info_field("m1", "process_id"), m1_pid);
    assert_ne!(w.info_field("r1", "process_id"), r1_pid);
}

#[test]
fn the_oom_killer_picks_the_larger_of_two_processes_on_a_box() {
    let mut nodes = vec![
        node("small", Some("box"), &["port 6379", "dir /d/small"]),
        node("big", Some("box"), &["port 6380", "dir /d/big"]),
    ];
    for n in &mut nodes {
        n.machine = MachineSpec {
            memory_bytes: 96 * MB,
            swap_bytes: 0,
            ..MachineSpec::default()
        };
    }
    let mut w = world(nodes);
    w.schedule_admin_line(100 * MS, "big", "DEBUG POPULATE 20000 key 1000")
        .unwrap();
    w.schedule_admin_line(100 * MS, "small", "DEBUG POPULATE 1000 key 100")
        .unwrap();
    w.run_until(300 * MS);
    let rss = |w: &World, n: &str| w.node_memory(n).expect("up").process.rss_bytes;
    let (big, small) = (rss(&w, "big"), rss(&w, "small"));
    assert!(big > small + 10 * MB, "big {} small {}", big, small);
    // Another process takes what the two leave free, and 8 MB more.
    let pressure = 96 * MB - big - small + 8 * MB;
    w.schedule_fault(
        400 * MS,
        Fault::MemoryPressure {
            node: "box".into(),
            bytes: pressure,
        },
    )
    .unwrap();
    w.run_until(500 * MS);
    assert!(!w.node_is_up("big") && w.node_is_up("small"));
    assert_eq!(w.machine_stats("small").oom_kills, 1);
    assert_eq!(
        w.machine_stats("box").rss_bytes_max,
        w.machine_stats("big").rss_bytes_max
    );
    let kills: Vec<_> = w
        .notable_events()
        .iter()
        .filter(|e| e.event == "oom-kill")
        .map(|e| e.node.clone())
        .collect();
    assert_eq!(kills, vec!["big".to_string()]);
}

fn writers(name: &str, on: &str) -> WorkloadSpec {
    WorkloadSpec {
        name: name.into(),
        target: "m1".into(),
        on: Some(on.into()),
        clients: 2,
        ops_per_second: 200.0,
        write_ratio: 1.0,
        kind: WorkloadKind::Set,
        stop_us: Some(6 * S),
        timeout_ms: Some(200),
        ..WorkloadSpec::default()
    }
}

fn ok_between(ops: &[Op], workload: u32, from_us: u64, to_us: u64) -> usize {
    ops.iter()
        .filter(|o| {
            o.workload == workload
                && o.outcome == Outcome::Ok
                && o.complete_us.is_some_and(|t| t >= from_us && t < to_us)
        })
        .count()
}

#[test]
fn a_partition_that_isolates_a_workloads_machine_stops_only_its_clients() {
    let mut w = World::new(WorldSpec {
        seed: 3,
        nodes: vec![node("m1", None, &[])],
        client_machines: vec!["app1".into(), "app2".into()],
        ..WorldSpec::default()
    })
    .unwrap();
    w.add_workload(writers("a", "app1")).unwrap();
    w.add_workload(writers("b", "app2")).unwrap();
    w.schedule_fault(
        2 * S,
        Fault::Partition {
            groups: vec![vec!["app1".into()], vec!["m1".into(), "app2".into()]],
        },
    )
    .unwrap();
    w.run_until(7 * S);
    let ops = &w.history().ops;
    assert!(ok_between(ops, 0, S, 2 * S) > 150 && ok_between(ops, 1, S, 2 * S) > 150);
    assert_eq!(
        ok_between(ops, 0, 2 * S + 10 * MS, 6 * S),
        0,
        "app1 is cut off from m1"
    );
    assert!(
        ok_between(ops, 1, 2 * S + 10 * MS, 6 * S) > 700,
        "app2 keeps writing"
    );
    let failed = ops
        .iter()
        .filter(|o| o.workload == 0 && o.invoke_us > 2 * S && o.outcome != Outcome::Ok)
        .count();
    assert!(failed > 700, "{}", failed);
}

#[test]
fn a_clock_jump_on_a_machine_is_seen_by_every_process_on_it() {
    let mut w = h1_pair_and_r2();
    w.run_until(S);
    let before = |w: &World, n: &str| {
        w.node_clock_us(n).unwrap() as i64 - w.node_clock_us("r2").unwrap() as i64
    };
    assert_eq!((before(&w, "m1"), before(&w, "r1")), (0, 0));
    w.schedule_fault(
        S,
        Fault::ClockJump {
            node: "h1".into(),
            jump_ms: 5000,
        },
    )
    .unwrap();
    w.run_until(2 * S);
    assert_eq!((before(&w, "m1"), before(&w, "r1")), (5_000_000, 5_000_000));
    assert_eq!(w.faults_fired()["clock-jump"], 1);
}

#[test]
fn processes_of_one_machine_compete_for_its_cores() {
    let one_core = |name: &str, config: &[&str]| NodeSpec {
        machine: MachineSpec {
            cores: 1,
            ..MachineSpec::default()
        },
        ..node(name, Some("h1"), config)
    };
    let mut w = world(vec![
        one_core("m1", &["port 6379", "dir /d/m1"]),
        one_core("m2", &["port 6380", "dir /d/m2"]),
    ]);
    w.run_until(S);
    let before = w.trace_lines().len();
    // Both loops run a long step at once on the machine's one core: the later one is stretched.
    w.schedule_admin_line(S, "m1", "DEBUG POPULATE 200000 key 10")
        .unwrap();
    w.schedule_admin_line(S, "m2", "DEBUG POPULATE 200000 key 10")
        .unwrap();
    w.run_until(3 * S);
    let stretched: Vec<&String> = w.trace_lines()[before..]
        .iter()
        .filter(|l| l.contains(" m2 step admin "))
        .collect();
    assert_eq!(
        stretched.len(),
        1,
        "{:?}",
        &w.trace_lines()[before..before + 10]
    );
    let field = |l: &str, f: &str| -> u64 {
        l.split(&format!("{}=", f))
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        field(stretched[0], "busy_us"),
        2 * field(stretched[0], "cpu_us")
    );
}

#[test]
fn machines_are_checked_when_the_world_is_built() {
    let err = |nodes: Vec<NodeSpec>| {
        World::new(WorldSpec {
            seed: 1,
            nodes,
            ..WorldSpec::default()
        })
        .err()
        .expect("an error")
    };
    let e = err(vec![
        node("a", Some("h1"), &["dir /x"]),
        node("b", Some("h1"), &["dir /x", "port 6380"]),
    ]);
    assert!(e.contains("share dir /x"), "{}", e);
    let e = err(vec![
        node("a", Some("h1"), &["dir /a"]),
        node("b", Some("h1"), &["dir /b"]),
    ]);
    assert!(
        e.contains("already has 'a' listening on port 6379"),
        "{}",
        e
    );
    let mut big = node("b", Some("h1"), &["dir /b", "port 6380"]);
    big.machine.cores = 8;
    let e = err(vec![node("a", Some("h1"), &["dir /a"]), big]);
    assert!(
        e.contains("machine 'h1' is given different hardware"),
        "{}",
        e
    );
    let e = err(vec![node("a", Some("h1"), &[]), node("b", Some("a"), &[])]);
    assert!(e.contains("'a' already stands for machine 'h1'"), "{}", e);
}

#[test]
fn a_sentinel_and_the_master_it_watches_share_a_machine() {
    let sentinel_lines = [
        "sentinel myid 1111111111111111111111111111111111111111",
        "sentinel monitor mymaster m1 6379 1",
        "sentinel down-after-milliseconds mymaster 5000",
    ];
    let sentinel = NodeSpec {
        sentinel: true,
        ..node("s1", Some("h1"), &sentinel_lines)
    };
    let mut w = world(vec![
        node("m1", Some("h1"), &[]),
        sentinel,
        node("r1", None, &["replicaof m1 6379"]),
    ]);
    w.run_until(15 * S);
    let master0 = w.info_field("s1", "master0").expect("s1 monitors a master");
    assert!(
        master0.contains("status=ok") && master0.contains("slaves=1"),
        "{}",
        master0
    );
    // s1 reached m1 over loopback on h1 (10.0.0.1) and listens on 26379 itself.
    assert!(w
        .trace_lines()
        .iter()
        .any(|l| l.contains(" m1 accept ") && l.contains("peer=10.0.0.1:")));
    assert_eq!(w.info_field("s1", "tcp_port").as_deref(), Some("26379"));
}
