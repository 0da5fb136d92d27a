//! Sentinel-aware workload clients: they find the master through the
//! sentinels, follow a failover, and the acked-writes checker judges the node
//! that is master at the end.

use redsim_sim::client::{SentinelDiscovery, WorkloadKind, WorkloadSpec};

use redsim_sim::faults::Fault;
use redsim_sim::history::Outcome;
use redsim_sim::machine::MachineSpec;
use redsim_sim::world::{NodeSpec, World, WorldSpec};

const S: u64 = 1_000_000;

/// Fixed ids, so tests can name the Sentinels; they find each other
/// through the hellos on the master's and replicas' hello channel.
const IDS: [&str; 5] = [
    "1111111111111111111111111111111111111111",
    "2222222222222222222222222222222222222222",
    "3333333333333333333333333333333333333333",
    "4444444444444444444444444444444444444444",
    "5555555555555555555555555555555555555555",
];

fn redis(name: &str, lines: &[&str]) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        machine: MachineSpec::default(),
        config_lines: lines.iter().map(|l| l.to_string()).collect(),
        sentinel: false,
        machine_name: None,
    }
}

fn sentinel(i: usize, quorum: u32) -> NodeSpec {
    let lines = vec![
        format!("sentinel myid {}", IDS[i]),
        format!("sentinel monitor mymaster m1 6379 {}", quorum),
        "sentinel down-after-milliseconds mymaster 5000".to_string(),
        "sentinel failover-timeout mymaster 60000".to_string(),
    ];
    NodeSpec {
        name: format!("s{}", i + 1),
        machine: MachineSpec::default(),
        config_lines: lines,
        sentinel: true,
        machine_name: None,
    }
}

/// m1 with replicas r1 (priority 100) and r2 (priority 10: the one to
/// promote), and `count` Sentinels.
fn world(seed: u64, count: usize, quorum: u32) -> World {
    let mut nodes = vec![
        redis("m1", &[]),
        redis("r1", &["replicaof m1 6379", "replica-priority 100"]),
        redis("r2", &["replicaof m1 6379", "replica-priority 10"]),
    ];
    nodes.extend((0..count).map(|i| sentinel(i, quorum)));
    let mut w = World::new(WorldSpec {
        seed,
        nodes,
        boot_spread_us: S,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.keep_trace_lines();
    w
}

fn first(w: &World, node: &str, name: &str) -> Option<u64> {
    w.notable_events()
        .iter()
        .find(|e| e.node == node && e.event == name)
        .map(|e| e.t_us)
}

fn sentinel_workload(timeout_ms: Option<u64>) -> WorkloadSpec {
    WorkloadSpec {
        name: "app".into(),
        target: "m1".into(),
        clients: 3,
        ops_per_second: 300.0,
        kind: WorkloadKind::Set,
        write_ratio: 1.0,
        keys: 50,
        start_us: 5 * S,
        stop_us: Some(68 * S),
        timeout_ms,
        discovery: Some(SentinelDiscovery {
            master_name: "mymaster".into(),
            sentinels: vec!["s1".into(), "s2".into(), "s3".into()],
            group: vec!["m1".into(), "r1".into(), "r2".into()],
        }),
        ..WorkloadSpec::default()
    }
}

/// The master is paused; the sentinels promote r2; the clients, whose requests to m1 time
/// out, ask the sentinels again and write to r2 within seconds of +switch-master.
#[test]
fn sentinel_clients_follow_a_failover() {
    let mut w = world(7, 3, 2);
    w.add_workload(sentinel_workload(Some(500)))
        .expect("workload");
    w.schedule_fault(20 * S, Fault::Pause { node: "m1".into() })
        .expect("fault");
    w.schedule_fault(50 * S, Fault::Resume { node: "m1".into() })
        .expect("fault");
    w.run_until(75 * S);
    let switch_us = first(&w, "s1", "+switch-master").expect("a failover");
    let names = w.node_names();
    let served_by = |op: &redsim_sim::history::Op| op.node.map(|h| names[h as usize].as_str());
    let ops = &w.history().ops;
    let before: Vec<_> = ops
        .iter()
        .filter(|o| o.complete_us.is_some_and(|t| t < 20 * S))
        .collect();
    assert!(before
        .iter()
        .any(|o| o.outcome == Outcome::Ok && served_by(o) == Some("m1")));
    let first_on_r2 = ops
        .iter()
        .filter(|o| o.outcome == Outcome::Ok && served_by(o) == Some("r2"))
        .filter_map(|o| o.complete_us)
        .min()
        .expect("clients wrote to the promoted replica");
    assert!(first_on_r2 > switch_us, "r2 served before the switch");
    assert!(
        first_on_r2 < switch_us + 3 * S,
        "clients took too long: {} vs {}",
        first_on_r2,
        switch_us
    );
    // Once on r2, every later acknowledged write is r2's.
    assert!(ops
        .iter()
        .filter(|o| o.invoke_us > first_on_r2 + S && o.outcome == Outcome::Ok)
        .all(|o| served_by(o) == Some("r2")));
    let checked = w.check_acked_writes();
    assert!(
        checked.not_evaluated.is_empty(),
        "{:?}",
        checked.not_evaluated
    );
    assert_eq!(checked.evaluated, checked.acked_writes);
    assert!(checked.acked_writes > 10_000);
    // m1 acknowledged nothing while paused, and r2 replicated all it had acknowledged
    // until then, except possibly the last moments before the pause.
    for l in &checked.lost {
        assert_eq!(l.node, "m1");
        assert!(l.acked_us <= 20 * S + 1, "{:?}", l);
    }
}
