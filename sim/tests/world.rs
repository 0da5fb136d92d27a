//! The simulated world, end to end: one engine behind the simulated network.

use redsim_sim::{
    Fault, MachineSpec, NodeSpec, Op, Outcome, WorkloadKind, WorkloadSpec, World, WorldSpec,
};

const MS: u64 = 1000;
const S: u64 = 1_000_000;

fn world_with(seed: u64, nodes: &[&str]) -> World {
    let nodes = nodes
        .iter()
        .map(|name| NodeSpec {
            name: name.to_string(),
            machine: MachineSpec::default(),
            config_lines: vec![],
            machine_name: None,
            sentinel: false,
        })
        .collect();
    World::new(WorldSpec {
        seed,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world")
}

fn set_get(target: &str, clients: u32, ops_per_second: f64, stop_us: u64) -> WorkloadSpec {
    WorkloadSpec {
        name: "setget".into(),
        target: target.into(),
        clients,
        ops_per_second,
        write_ratio: 0.5,
        keys: 100,
        value_bytes: 32,
        stop_us: Some(stop_us),
        kind: WorkloadKind::Mixed,
        ..WorkloadSpec::default()
    }
}

fn completed_between(ops: &[Op], from_us: u64, to_us: u64) -> usize {
    ops.iter()
        .filter(|o| o.complete_us.is_some_and(|t| t >= from_us && t < to_us))
        .count()
}

#[test]
fn one_node_set_get_latency_is_network_plus_cost() {
    let mut w = world_with(1, &["m1"]);
    w.add_workload(set_get("m1", 2, 200.0, 10 * S)).unwrap();
    w.run_until(11 * S);
    let s = w.history_summary();
    assert!(s.ok > 1800 && s.ok < 2200, "ok {}", s.ok);
    assert_eq!(s.fail, 0);
    assert_eq!(s.unknown, 0);
    // Two 0.2 ms hops (+ up to 5% jitter each) plus about 10 µs of command
    // cost (read event, call, write event). An op invoked while the
    // previous one is outstanding (pipeline 1) waits up to one more round
    // trip in the client's queue.
    assert!(
        s.latency_ms.p50 >= 0.40 && s.latency_ms.p50 <= 0.43,
        "{:?}",
        s.latency_ms
    );
    assert!(s.latency_ms.max <= 0.86, "{:?}", s.latency_ms);
    let unqueued = w
        .history()
        .ops
        .iter()
        .filter(|o| o.client == 0)
        .collect::<Vec<_>>();
    let service_max = unqueued
        .windows(2)
        .filter(|p| p[0].complete_us.unwrap() < p[1].invoke_us)
        .map(|p| p[1].complete_us.unwrap() - p[1].invoke_us)
        .max()
        .unwrap();
    assert!(service_max <= 440, "{}", service_max);
    // Reads see values that some client wrote.
    let reads: Vec<&Op> = w
        .history()
        .ops
        .iter()
        .filter(|o| o.reply.is_some())
        .collect();
    assert!(!reads.is_empty());
    for read in reads {
        if let Some(redsim_engine::resp::Value::Bulk(v)) = &read.reply {
            assert!(v.starts_with(b"c"), "{:?}", String::from_utf8_lossy(v));
            assert_eq!(v.len(), 32);
        }
    }
    assert!(w
        .node_log("m1")
        .iter()
        .any(|l| l.contains("Ready to accept connections")));
    let info = w.info("m1");
    let field = |k: &str| info.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(field("total_connections_received").as_deref(), Some("2"));
    assert_eq!(w.machine_stats("m1").memory_bytes, 4 << 30);
}

#[test]
fn config_errors_name_the_node_and_line() {
    let node = NodeSpec {
        name: "r1".into(),
        machine: MachineSpec::default(),
        config_lines: vec!["hz 10".into(), "no-such-directive 1".into()],
        machine_name: None,
        sentinel: false,
    };
    let err = World::new(WorldSpec {
        seed: 1,
        nodes: vec![node],
        ..WorldSpec::default()
    })
    .err()
    .expect("an error");
    assert!(
        err.contains("node 'r1'") && err.contains("line 2"),
        "{}",
        err
    );
}

fn busy_run(seed: u64) -> (String, u64) {
    let mut w = world_with(seed, &["m1", "r1"]);
    w.add_workload(set_get("m1", 4, 500.0, 3 * S)).unwrap();
    w.schedule_fault(
        S,
        Fault::Partition {
            groups: vec![vec!["client".into()], vec!["m1".into()]],
        },
    )
    .unwrap();
    w.schedule_fault(2 * S, Fault::Heal).unwrap();
    w.schedule_admin_line(2500 * MS, "m1", "DEBUG SLEEP 0.1")
        .unwrap();
    w.run_until(4 * S);
    (w.trace_hash(), w.trace_line_count())
}

#[test]
fn same_seed_same_trace_hash_different_seed_different() {
    let (a, lines) = busy_run(7);
    let (b, _) = busy_run(7);
    let (c, _) = busy_run(8);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(lines > 3000, "{}", lines);
}

#[test]
fn partition_holds_traffic_and_heal_releases_it_in_order() {
    let mut w = world_with(3, &["m1"]);
    w.add_workload(set_get("m1", 2, 200.0, 6 * S)).unwrap();
    // A second workload that dials while the partition holds its SYN.
    let mut late = set_get("m1", 1, 100.0, 6 * S);
    late.name = "late".into();
    late.start_us = 3 * S;
    w.add_workload(late).unwrap();
    w.schedule_fault(
        2 * S,
        Fault::Partition {
            groups: vec![vec!["client".into()], vec!["m1".into()]],
        },
    )
    .unwrap();
    w.schedule_fault(4 * S, Fault::Heal).unwrap();
    w.schedule_fault(4 * S + 1, Fault::Heal).unwrap();
    w.run_until(7 * S);
    let ops = &w.history().ops;
    // Nothing completes while the partition lasts (one round trip of grace
    // for replies already in flight).
    assert_eq!(completed_between(ops, 2 * S + MS, 4 * S), 0);
    let s = w.history_summary();
    assert_eq!(s.fail, 0);
    assert_eq!(s.unknown, 0, "held data is delivered after heal");
    assert!(s.latency_ms.max >= 1990.0, "{:?}", s.latency_ms);
    // The late client's first op completes only after heal.
    let first_late = ops
        .iter()
        .filter(|o| o.workload == 1)
        .filter_map(|o| o.complete_us)
        .min()
        .unwrap();
    assert!(first_late > 4 * S, "{}", first_late);
    // Per client, completions come back in invocation order (TCP order).
    for client in 0..3 {
        let mut last = 0;
        for op in ops.iter().filter(|o| o.client == client) {
            let done = op.complete_us.unwrap();
            assert!(done >= last);
            last = done;
        }
    }
    let fired = w.faults_fired();
    assert_eq!(fired.get("partition"), Some(&1));
    assert_eq!(
        fired.get("heal"),
        Some(&1),
        "the second heal changes nothing"
    );
}

#[test]
fn pause_queues_inputs_and_timers_resume_drains() {
    let mut w = world_with(4, &["m1"]);
    w.add_workload(set_get("m1", 2, 200.0, 5 * S)).unwrap();
    w.schedule_fault(2 * S, Fault::Pause { node: "m1".into() })
        .unwrap();
    w.schedule_fault(3 * S, Fault::Resume { node: "m1".into() })
        .unwrap();
    w.run_until(2100 * MS);
    let crons = w.engine("m1").unwrap().server().cronloops;
    w.run_until(2900 * MS);
    assert_eq!(
        w.engine("m1").unwrap().server().cronloops,
        crons,
        "no serverCron while stopped"
    );
    w.run_until(6 * S);
    assert!(w.engine("m1").unwrap().server().cronloops > crons);
    let ops = &w.history().ops;
    assert_eq!(completed_between(ops, 2 * S + MS, 3 * S), 0);
    assert!(
        completed_between(ops, 3 * S, 3 * S + 10 * MS) > 0,
        "the queue drains at resume"
    );
    let s = w.history_summary();
    assert_eq!((s.fail, s.unknown), (0, 0));
    assert!(s.latency_ms.max >= 900.0, "{:?}", s.latency_ms);
    assert_eq!(w.faults_fired().get("pause"), Some(&1));
}

#[test]
fn kill_loses_the_process_and_restart_starts_a_new_one() {
    let mut w = world_with(5, &["m1"]);
    let mut spec = set_get("m1", 2, 200.0, 6 * S);
    spec.timeout_ms = Some(300);
    w.add_workload(spec).unwrap();
    // A client without a timeout notices the restart through RST.
    let mut patient = set_get("m1", 1, 200.0, 6 * S);
    patient.name = "patient".into();
    patient.pipeline = 4;
    w.add_workload(patient).unwrap();
    w.schedule_fault(2 * S, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.schedule_fault(2 * S + 1, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.schedule_fault(3 * S, Fault::Restart { node: "m1".into() })
        .unwrap();
    w.run_until(2500 * MS);
    assert!(!w.node_is_up("m1"));
    assert!(w.info("m1").is_empty());
    w.run_until(7 * S);
    assert!(w.node_is_up("m1"));
    let ops = &w.history().ops;
    assert_eq!(
        completed_between(ops, 2 * S + MS, 3 * S),
        ops.iter()
            .filter(|o| matches!(o.outcome, Outcome::Fail(_)))
            .filter(|o| o.complete_us.unwrap() >= 2 * S + MS && o.complete_us.unwrap() < 3 * S)
            .count()
    );
    let s = w.history_summary();
    assert!(
        s.errors.get("NOCONN").copied().unwrap_or(0) > 0,
        "{:?}",
        s.errors
    );
    assert!(s.unknown > 0);
    // Every client is back to normal shortly after the restart.
    for client in 0..3 {
        let late: Vec<&Op> = ops
            .iter()
            .filter(|o| o.client == client && o.invoke_us > 3500 * MS)
            .collect();
        assert!(!late.is_empty());
        let bad: Vec<&&Op> = late.iter().filter(|o| o.outcome != Outcome::Ok).collect();
        assert!(bad.is_empty(), "client {}: {:?}", client, bad.first());
    }
    let fired = w.faults_fired();
    assert_eq!(
        (fired.get("kill"), fired.get("restart")),
        (Some(&1), Some(&1))
    );
    // Two processes logged, with different pids.
    let ready: Vec<&String> = w
        .node_log("m1")
        .iter()
        .filter(|l| l.contains("Ready to accept"))
        .collect();
    assert_eq!(ready.len(), 2);
    assert_ne!(ready[0].split(':').next(), ready[1].split(':').next());
    // The restarted process starts empty (no persistence yet).
    assert!(w
        .info("m1")
        .iter()
        .any(|(k, v)| k == "total_connections_received" && v == "3"));
}

#[test]
fn debug_sleep_via_admin_delays_every_client_by_a_second() {
    let mut w = world_with(6, &["m1"]);
    w.add_workload(set_get("m1", 10, 1000.0, 4 * S)).unwrap();
    w.schedule_admin_line(S, "m1", "DEBUG SLEEP 1").unwrap();
    w.run_until(5 * S);
    let s = w.history_summary();
    assert_eq!((s.fail, s.unknown), (0, 0));
    // A quarter of the ops are invoked during the sleep, with latencies
    // spread over 0..1000 ms; the ones in flight when it began wait it all.
    assert!(s.latency_ms.max >= 990.0, "{:?}", s.latency_ms);
    assert!(s.latency_ms.p99 >= 950.0, "{:?}", s.latency_ms);
    assert!(s.latency_ms.p50 < 1.0, "{:?}", s.latency_ms);
    for client in 0..10 {
        let worst = w
            .history()
            .ops
            .iter()
            .filter(|o| o.client == client)
            .map(|o| o.complete_us.unwrap() - o.invoke_us)
            .max()
            .unwrap();
        assert!(worst >= 900 * MS, "client {} worst {} µs", client, worst);
    }
    let events = w.notable_events();
    assert!(events
        .iter()
        .any(|e| e.event == "admin" && e.detail == "DEBUG SLEEP 1" && e.t_us == S));
    let reply = events
        .iter()
        .find(|e| e.event == "admin-reply")
        .expect("reply recorded");
    assert_eq!(reply.detail, "DEBUG SLEEP 1 -> OK");
    assert!(reply.t_us >= 2 * S);
}

#[test]
fn faults_count_only_when_they_change_something() {
    let mut w = world_with(9, &["m1", "r1"]);
    let faults = vec![
        Fault::Resume { node: "m1".into() },
        Fault::Pause { node: "m1".into() },
        Fault::Pause { node: "m1".into() },
        Fault::Resume { node: "m1".into() },
        Fault::PartitionOneWay {
            from: "m1".into(),
            to: "r1".into(),
        },
        Fault::Partition {
            groups: vec![vec!["m1".into()], vec!["r1".into()]],
        },
        Fault::Partition {
            groups: vec![vec!["m1".into()], vec!["r1".into()]],
        },
        Fault::Link {
            from: "m1".into(),
            to: "r1".into(),
            latency_ms: Some(0.2),
            bandwidth_bytes_per_s: None,
        },
        Fault::Link {
            from: "m1".into(),
            to: "r1".into(),
            latency_ms: Some(5.0),
            bandwidth_bytes_per_s: None,
        },
        Fault::ClockJump {
            node: "r1".into(),
            jump_ms: -2000,
        },
        Fault::Disk {
            node: "r1".into(),
            fsync_latency_ms: 2.0,
        },
        Fault::Disk {
            node: "r1".into(),
            fsync_latency_ms: 50.0,
        },
        Fault::MemoryPressure {
            node: "r1".into(),
            bytes: 1 << 30,
        },
    ];
    for (i, f) in faults.into_iter().enumerate() {
        w.schedule_fault((i as u64 + 1) * 10 * MS, f).unwrap();
    }
    assert!(w
        .schedule_fault(
            0,
            Fault::Kill {
                node: "nope".into()
            }
        )
        .is_err());
    w.run_until(S);
    let fired: Vec<(String, u64)> = w.faults_fired().into_iter().collect();
    let expect = [
        ("clock-jump", 1),
        ("disk", 1),
        ("link", 1),
        ("memory-pressure", 1),
        ("partition", 2),
        ("pause", 1),
        ("resume", 1),
    ];
    let expect: Vec<(String, u64)> = expect.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(fired, expect);
    assert_eq!(w.machine_state("r1").unwrap().fsync_latency_ms, 50.0);
    let r1_clock = w.node_clock_us("r1").unwrap();
    let m1_clock = w.node_clock_us("m1").unwrap();
    assert_eq!(m1_clock - r1_clock, 2_000_000);
    assert!(w.trace_snapshot().contains("fault:pause (no effect)"));
}

/// Not a benchmark harness, a tripwire and a printed measurement: 60 virtual
/// seconds of 1000 ops/s against one of six nodes. Run with --nocapture to
/// see the ratio; BENCHMARKS.md records it.
#[test]
fn perf_sixty_virtual_seconds_at_1000_ops_per_second() {
    let mut w = world_with(12, &["m1", "r1", "r2", "s1", "s2", "s3"]);
    w.add_workload(set_get("m1", 10, 1000.0, 60 * S)).unwrap();
    let started = std::time::Instant::now();
    w.run_until(60 * S);
    let wall = started.elapsed();
    let s = w.history_summary();
    assert!(s.ok > 59_000, "{}", s.ok);
    let ratio = 60.0 / wall.as_secs_f64();
    println!(
        "perf: 60 s virtual, {} ops, {} events, {} trace lines in {:.1} ms wall = {:.0}x real time",
        s.ok,
        w.events_processed(),
        w.trace_line_count(),
        wall.as_secs_f64() * 1000.0,
        ratio
    );
}

#[test]
fn link_bandwidth_and_latency_shape_delivery() {
    let mut w = world_with(13, &["m1"]);
    let mut spec = set_get("m1", 1, 2.0, 10 * S);
    spec.kind = WorkloadKind::Set;
    spec.value_bytes = 100_000;
    w.add_workload(spec).unwrap();
    let slow = Fault::Link {
        from: "client".into(),
        to: "m1".into(),
        latency_ms: Some(5.0),
        bandwidth_bytes_per_s: Some(1_000_000),
    };
    w.schedule_fault(0, slow).unwrap();
    w.run_until(11 * S);
    let s = w.history_summary();
    assert_eq!((s.fail, s.unknown), (0, 0));
    // 100 KB at 1 MB/s is 100 ms on the wire, plus 5 ms there and 0.2 ms
    // back, plus the engine's per-byte cost.
    assert!(
        s.latency_ms.p50 >= 105.2 && s.latency_ms.p50 < 110.0,
        "{:?}",
        s.latency_ms
    );
}

#[test]
fn zipf_workload_prefers_low_keys() {
    let mut w = world_with(14, &["m1"]);
    let mut spec = set_get("m1", 4, 2000.0, 2 * S);
    spec.distribution = redsim_sim::Distribution::Zipf { s: 0.99 };
    spec.keys = 1000;
    w.add_workload(spec).unwrap();
    w.run_until(3 * S);
    let ops = &w.history().ops;
    let hot = ops.iter().filter(|o| o.key == "key:0").count();
    let cold = ops.iter().filter(|o| o.key == "key:999").count();
    assert!(hot > 200 && cold < 10, "hot {} cold {}", hot, cold);
    assert!(ops
        .iter()
        .all(|o| o.key["key:".len()..].parse::<u64>().unwrap() < 1000));
}

#[test]
fn trace_hash_is_printed_for_cross_build_comparison() {
    let (hash, lines) = busy_run(7);
    println!("busy_run(7) trace_hash {} over {} lines", hash, lines);
}

#[test]
fn logs_are_redis_formatted_from_the_node_clock() {
    let mut w = world_with(15, &["m1"]);
    w.schedule_fault(
        2 * S,
        Fault::ClockJump {
            node: "m1".into(),
            jump_ms: 3_600_000,
        },
    )
    .unwrap();
    w.schedule_fault(3 * S, Fault::Restart { node: "m1".into() })
        .unwrap();
    w.run_until(4 * S);
    let log = w.node_log("m1");
    let first = &log[0];
    // "<pid>:M 01 Jan 2024 00:00:00.<ms> * Server initialized"
    let (pid, rest) = first.split_once(":M ").unwrap();
    assert!(pid.parse::<u32>().is_ok(), "{}", first);
    assert!(rest.starts_with("01 Jan 2024 00:00:00."), "{}", first);
    assert!(rest.ends_with(" * Server initialized"), "{}", first);
    let restarted = log
        .iter()
        .rev()
        .find(|l| l.contains("Server initialized"))
        .unwrap();
    assert!(
        restarted.contains(" 01 Jan 2024 01:00:03."),
        "{}",
        restarted
    );
    let snapshot = w.trace_snapshot();
    assert!(
        snapshot.contains("2000.000 m1 fault:clock-jump jump_ms=3600000"),
        "{}",
        snapshot
    );
    assert!(
        snapshot.contains("3000.000 m1 fault:restart"),
        "{}",
        snapshot
    );
}

/// A log line's stamp reads the same time as the report's t_ms for it: the seeded boot time and
/// the clock's sub-second phase do not shift the log against the report.
#[test]
fn log_stamps_agree_with_the_trace_time() {
    let nodes = ["a", "b"]
        .iter()
        .map(|n| NodeSpec {
            name: n.to_string(),
            machine: MachineSpec::default(),
            config_lines: vec![],
            ..NodeSpec::default()
        })
        .collect();
    let mut w = World::new(WorldSpec {
        seed: 5,
        nodes,
        boot_spread_us: S,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.run_until(2 * S);
    for node in ["a", "b"] {
        let event = w
            .notable_events()
            .iter()
            .find(|e| e.node == node && e.event == "log" && e.detail == "Server initialized")
            .expect("booted");
        let line = w
            .node_log(node)
            .iter()
            .find(|l| l.ends_with("Server initialized"))
            .expect("logged");
        let stamp = format!(
            "01 Jan 2024 00:00:{:02}.{:03} ",
            event.t_us / 1_000_000,
            (event.t_us / 1000) % 1000
        );
        assert!(
            event.t_us > 0 && line.contains(&stamp),
            "{} at t_us {}",
            line,
            event.t_us
        );
    }
}

/// With a boot window, processes start at seeded times, so their serverCron
/// ticks have different phases; a node killed before its boot never starts.
#[test]
fn seeded_boot_times_spread_cron_phases() {
    let nodes = ["a", "b", "c"]
        .iter()
        .map(|n| NodeSpec {
            name: n.to_string(),
            machine: MachineSpec::default(),
            config_lines: vec![],
            machine_name: None,
            sentinel: false,
        })
        .collect();
    let mut w = World::new(WorldSpec {
        seed: 3,
        nodes,
        boot_spread_us: S,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.schedule_fault(0, Fault::Kill { node: "c".into() })
        .expect("c exists");
    w.run_until(2 * S);
    let first_line = |w: &World, n: &str| w.node_log(n).first().cloned();
    let (a, b) = (
        first_line(&w, "a").expect("a booted"),
        first_line(&w, "b").expect("b booted"),
    );
    assert_ne!(
        a.split(' ').nth(4),
        b.split(' ').nth(4),
        "boot times differ: {} / {}",
        a,
        b
    );
    assert!(
        !w.node_is_up("c") && first_line(&w, "c").is_none(),
        "killed before boot, never started"
    );
}
