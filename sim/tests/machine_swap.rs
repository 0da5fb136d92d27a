//! Swap with the engine's page model: pressure pushes the node's pages to
//! swap instead of killing it, and the swap shows in the machine's figures.

use redsim_sim::{Fault, MachineSpec, NodeSpec, World, WorldSpec};

const MB: u64 = 1 << 20;
const MS: u64 = 1000;

fn world(swap: u64) -> World {
    let machine = MachineSpec {
        memory_bytes: 64 * MB,
        swap_bytes: swap,
        ..MachineSpec::default()
    };
    let nodes = vec![NodeSpec {
        name: "m1".into(),
        machine,
        config_lines: vec![],
        machine_name: None,
        sentinel: false,
    }];
    let mut w = World::new(WorldSpec {
        seed: 9,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.schedule_admin_line(100 * MS, "m1", "DEBUG POPULATE 20000 key 1000")
        .unwrap();
    w
}

#[test]
fn pressure_with_swap_swaps_the_excess_and_the_node_lives() {
    let mut w = world(64 * MB);
    w.run_until(300 * MS);
    let rss = w.node_memory("m1").expect("up").process.rss_bytes;
    assert!(rss > 20 * MB, "{}", rss);
    let pressure = 64 * MB - rss + 8 * MB;
    w.schedule_fault(
        400 * MS,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: pressure,
        },
    )
    .unwrap();
    w.run_until(500 * MS);
    assert!(w.node_is_up("m1"));
    let stats = w.machine_stats("m1");
    assert_eq!(stats.oom_kills, 0);
    let memory = w.node_memory("m1").unwrap();
    assert!(memory.process.swapped_bytes >= 8 * MB, "{:?}", memory);
    assert!(
        memory.process.rss_bytes + pressure <= 64 * MB,
        "{:?}",
        memory
    );
    assert_eq!(stats.swap_bytes_max, memory.swap_used_bytes);
    assert_eq!(memory.swap_out_total_bytes, memory.swap_used_bytes);
    assert!(w
        .notable_events()
        .iter()
        .any(|e| e.event == "swap" && e.t_us == 400 * MS));
    // Without swap the same pressure kills it.
    let mut w = world(0);
    w.schedule_fault(
        400 * MS,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: pressure,
        },
    )
    .unwrap();
    w.run_until(500 * MS);
    assert!(!w.node_is_up("m1"));
    assert_eq!(w.machine_stats("m1").oom_kills, 1);
}

#[test]
fn cow_copies_during_bgsave_oom_kill_the_child_and_free_its_memory() {
    let machine = MachineSpec {
        memory_bytes: 64 * MB,
        swap_bytes: 0,
        disk_bandwidth_bytes_per_s: 1 << 20,
        ..MachineSpec::default()
    };
    let nodes = vec![NodeSpec {
        name: "m1".into(),
        machine,
        config_lines: vec!["oom-score-adj yes".into()],
        machine_name: None,
        sentinel: false,
    }];
    let mut w = World::new(WorldSpec {
        seed: 9,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.schedule_admin_line(100 * MS, "m1", "DEBUG POPULATE 20000 key 1000")
        .unwrap();
    w.schedule_admin_line(200 * MS, "m1", "BGSAVE").unwrap();
    w.run_until(300 * MS);
    let child = w.node_children("m1")[0];
    let rss = w.node_memory("m1").unwrap().process.rss_bytes;
    w.schedule_fault(
        300 * MS,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 64 * MB - rss - 2 * MB,
        },
    )
    .unwrap();
    w.add_workload(redsim_sim::WorkloadSpec {
        name: "overwrite".into(),
        target: "m1".into(),
        clients: 4,
        ops_per_second: 4000.0,
        write_ratio: 1.0,
        keys: 20000,
        key_prefix: "key:".into(),
        value_bytes: 1000,
        kind: redsim_sim::WorkloadKind::Set,
        ..redsim_sim::WorkloadSpec::default()
    })
    .unwrap();
    w.run_until(3000 * MS);
    let kills: Vec<_> = w
        .notable_events()
        .iter()
        .filter(|e| e.event == "oom-kill")
        .collect();
    assert_eq!(kills.len(), 1, "{:?}", kills);
    assert!(
        kills[0]
            .detail
            .contains(&format!("Killed process {} (redis-server)", child)),
        "{:?}",
        kills
    );
    assert!(
        kills[0].detail.ends_with("oom_score_adj:800"),
        "{:?}",
        kills
    );
    assert!(w.node_is_up("m1"));
    assert!(w
        .node_log("m1")
        .iter()
        .any(|l| l.contains("Background saving terminated by signal 9")));
    assert_eq!(w.node_memory("m1").unwrap().process.child_private_bytes, 0);
}

#[test]
fn reads_of_swapped_pages_stall_and_the_pressure_keeps_swapping_them_out() {
    let machine = MachineSpec {
        memory_bytes: 64 * MB,
        swap_bytes: 64 * MB,
        swap_in_latency_us: 5000,
        ..MachineSpec::default()
    };
    let nodes = vec![NodeSpec {
        name: "m1".into(),
        machine,
        config_lines: vec![],
        machine_name: None,
        sentinel: false,
    }];
    let mut w = World::new(WorldSpec {
        seed: 9,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.schedule_admin_line(100 * MS, "m1", "DEBUG POPULATE 20000 key 1000")
        .unwrap();
    w.run_until(300 * MS);
    let rss = w.node_memory("m1").unwrap().process.rss_bytes;
    w.schedule_fault(
        300 * MS,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 64 * MB - rss / 2,
        },
    )
    .unwrap();
    w.add_workload(redsim_sim::WorkloadSpec {
        name: "readers".into(),
        target: "m1".into(),
        clients: 2,
        ops_per_second: 200.0,
        write_ratio: 0.0,
        keys: 20000,
        key_prefix: "key:".into(),
        kind: redsim_sim::WorkloadKind::Get,
        start_us: 400 * MS,
        ..redsim_sim::WorkloadSpec::default()
    })
    .unwrap();
    w.run_until(2000 * MS);
    assert!(w.node_is_up("m1"));
    let memory = w.node_memory("m1").unwrap();
    // Pages read back in went out again: more was written to swap than it holds.
    assert!(
        memory.swap_out_total_bytes > memory.swap_used_bytes,
        "{:?}",
        memory
    );
    assert!(memory.swap_outs > 1);
    let summary = w.history_summary();
    assert!(summary.ok > 100);
    assert!(
        summary.latency_ms.max >= 5.0,
        "a GET of a swapped-out value waits for the swap-in: {:?}",
        summary.latency_ms
    );
}
