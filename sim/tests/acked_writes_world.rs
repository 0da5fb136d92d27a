//! The acknowledged-writes checker end to end: writes acknowledged by a node, then lost (or
//! not) by what happens to that node afterwards.

use redsim_sim::{
    Fault, MachineSpec, NodeSpec, OpKind, WorkloadKind, WorkloadSpec, World, WorldSpec,
};

const S: u64 = 1_000_000;

fn world(seed: u64, nodes: &[(&str, &[&str])]) -> World {
    let nodes = nodes
        .iter()
        .map(|(name, config)| NodeSpec {
            name: name.to_string(),
            machine: MachineSpec::default(),
            config_lines: config.iter().map(|l| l.to_string()).collect(),
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

fn writers(kind: WorkloadKind, start_us: u64, stop_us: u64) -> WorkloadSpec {
    WorkloadSpec {
        name: "writers".into(),
        target: "m1".into(),
        clients: 3,
        ops_per_second: 300.0,
        write_ratio: 0.8,
        keys: 50,
        value_bytes: 40,
        start_us,
        stop_us: Some(stop_us),
        kind,
        ..WorkloadSpec::default()
    }
}

fn acked_writes(w: &World) -> u64 {
    w.history()
        .ops
        .iter()
        .filter(|op| op.is_acked_write())
        .count() as u64
}

#[test]
fn no_faults_no_lost_writes_for_every_workload_kind() {
    for kind in [
        WorkloadKind::Mixed,
        WorkloadKind::AppendList,
        WorkloadKind::Incr,
    ] {
        let mut w = world(7, &[("m1", &[])]);
        w.add_workload(writers(kind, 0, 3 * S)).unwrap();
        w.run_until(4 * S);
        let r = w.check_acked_writes();
        assert!(r.acked_writes > 500, "{:?}: {}", kind, r.acked_writes);
        assert_eq!(r.acked_writes, acked_writes(&w));
        assert_eq!(
            (r.evaluated, r.lost.len()),
            (r.acked_writes, 0),
            "{:?}: {:?}",
            kind,
            r.lost.first()
        );
        assert!(r.not_evaluated.is_empty());
    }
}

#[test]
fn flushall_after_the_writes_loses_every_acked_write() {
    let mut w = world(3, &[("m1", &[])]);
    w.add_workload(writers(WorkloadKind::Mixed, 0, 2 * S))
        .unwrap();
    w.schedule_admin_line(3 * S, "m1", "FLUSHALL").unwrap();
    w.run_until(4 * S);
    let r = w.check_acked_writes();
    let acked: Vec<u64> = w
        .history()
        .ops
        .iter()
        .filter(|op| op.is_acked_write())
        .map(|op| op.complete_us.unwrap())
        .collect();
    assert!(acked.len() > 300);
    assert_eq!(r.lost.len(), acked.len());
    assert_eq!(r.first_lost_acked_us(), acked.iter().min().copied());
    assert_eq!(r.last_lost_acked_us(), acked.iter().max().copied());
    assert!(r.lost.iter().all(|l| l.kind == OpKind::Set
        && l.node == "m1"
        && l.value_tag.as_deref().is_some_and(|t| t.starts_with('c'))));
    assert!(r.lost.windows(2).all(|p| p[0].acked_us <= p[1].acked_us));
}

#[test]
fn flushall_amid_the_writes_loses_only_writes_nothing_superseded() {
    let mut w = world(4, &[("m1", &[])]);
    w.add_workload(WorkloadSpec {
        keys: 2000,
        ..writers(WorkloadKind::Set, 0, 4 * S)
    })
    .unwrap();
    w.add_workload(WorkloadSpec {
        name: "lists".into(),
        key_prefix: "list:".into(),
        ..writers(WorkloadKind::AppendList, 0, 4 * S)
    })
    .unwrap();
    w.add_workload(WorkloadSpec {
        name: "counters".into(),
        key_prefix: "n:".into(),
        keys: 5,
        ..writers(WorkloadKind::Incr, 0, 4 * S)
    })
    .unwrap();
    w.schedule_admin_line(2 * S, "m1", "FLUSHALL").unwrap();
    w.run_until(5 * S);
    let r = w.check_acked_writes();
    assert_eq!(r.evaluated, r.acked_writes);
    // Every appended element acknowledged before the flush is gone; none after it.
    let pushes_before = w
        .history()
        .ops
        .iter()
        .filter(|op| {
            op.kind == OpKind::RPush && op.is_acked_write() && op.complete_us.unwrap() < 2 * S
        })
        .count();
    let lost_pushes = r.lost.iter().filter(|l| l.kind == OpKind::RPush).count();
    assert!(pushes_before > 100);
    assert_eq!(lost_pushes, pushes_before);
    // The counters restart from zero: they fall short by the increments acknowledged before
    // the flush (give or take one in flight across it).
    let incrs_done_by = |t_us: u64| {
        w.history()
            .ops
            .iter()
            .filter(|op| {
                op.kind == OpKind::Incr && op.is_acked_write() && op.complete_us.unwrap() < t_us
            })
            .count()
    };
    let lost_incrs = r.lost.iter().filter(|l| l.kind == OpKind::Incr).count();
    assert!(incrs_done_by(2 * S) > 100);
    assert!(
        lost_incrs >= incrs_done_by(2 * S - 1000) && lost_incrs <= incrs_done_by(2 * S + 1000),
        "{} {}",
        lost_incrs,
        incrs_done_by(2 * S)
    );
    // And the increments named are the ones from before the flush.
    assert!(r
        .lost
        .iter()
        .filter(|l| l.kind == OpKind::Incr)
        .all(|l| l.acked_us <= 2 * S + 1000));
    // A SET acknowledged before the flush is lost exactly when nothing wrote its key again:
    // with 2000 keys, most keys written before the flush are not written after it.
    let ops = &w.history().ops;
    let sets = || {
        ops.iter()
            .enumerate()
            .filter(|(_, op)| op.kind == OpKind::Set)
    };
    let written_from =
        |key: &str, t_us: u64| sets().any(|(_, op)| op.key == key && op.invoke_us >= t_us);
    let lost_sets: Vec<usize> = r
        .lost
        .iter()
        .filter(|l| l.kind == OpKind::Set)
        .map(|l| l.op)
        .collect();
    let surely_lost: Vec<usize> = sets()
        .filter(|(_, op)| {
            op.is_acked_write()
                && op.complete_us.unwrap() < 2 * S
                && !written_from(&op.key, 2 * S - 1000)
        })
        .map(|(i, _)| i)
        .collect();
    assert!(surely_lost.len() > 100, "{}", surely_lost.len());
    assert!(surely_lost.iter().all(|i| lost_sets.contains(i)));
    for &i in &lost_sets {
        assert!(
            ops[i].complete_us.unwrap() <= 2 * S + 1000 && !written_from(&ops[i].key, 2 * S + 1000),
            "{:?}",
            ops[i]
        );
    }
}

#[test]
fn promoted_replica_overwrites_what_the_old_master_acknowledged() {
    // m1 acknowledges writes while cut off from r1; r1 becomes a master on its own, then m1
    // turns into r1's replica and its dataset is replaced by r1's: the writes m1 acknowledged
    // during the partition are lost, the ones before it were replicated.
    let mut w = world(
        5,
        &[
            ("m1", &["repl-diskless-sync-delay 0"]),
            ("r1", &["replicaof m1 6379", "repl-diskless-sync-delay 0"]),
        ],
    );
    w.add_workload(writers(WorkloadKind::Set, 3 * S, 9 * S))
        .unwrap();
    w.schedule_fault(
        6 * S,
        Fault::Partition {
            groups: vec![vec!["m1".into()], vec!["r1".into()]],
        },
    )
    .unwrap();
    w.schedule_admin_line(6 * S + 500_000, "r1", "REPLICAOF NO ONE")
        .unwrap();
    w.schedule_fault(10 * S, Fault::Heal).unwrap();
    w.schedule_admin_line(10 * S + 100_000, "m1", "REPLICAOF r1 6379")
        .unwrap();
    w.run_until(16 * S);
    assert_eq!(
        w.info_field("m1", "master_link_status").as_deref(),
        Some("up")
    );
    let r = w.check_acked_writes();
    assert_eq!(r.evaluated, r.acked_writes);
    assert!(r.lost.len() > 100, "{}", r.lost.len());
    // Writes acknowledged well before the partition reached r1; the losses start about when
    // the partition did and end with the workload.
    let first = r.first_lost_acked_us().unwrap();
    assert!(first > 5_900_000 && first < 6_500_000, "{}", first);
    assert!(r.last_lost_acked_us().unwrap() <= 9 * S + 10_000);
    assert!(r
        .lost
        .iter()
        .all(|l| l.node == "m1" && l.kind == OpKind::Set));
    // Exactly: every write m1 acknowledged after the partition began is lost (r1 never saw
    // it, and each one followed r1's value of its key), and none from well before.
    let lost: Vec<usize> = r.lost.iter().map(|l| l.op).collect();
    for (i, op) in w.history().ops.iter().enumerate() {
        if op.is_acked_write() && op.invoke_us > 6 * S + 1000 {
            assert!(lost.contains(&i), "{:?}", op);
        }
        if op.is_acked_write() && op.complete_us.unwrap() < 6 * S - 1000 {
            assert!(!lost.contains(&i), "{:?}", op);
        }
    }
}

#[test]
fn a_target_down_at_the_end_is_not_evaluated() {
    let mut w = world(6, &[("m1", &[])]);
    w.add_workload(writers(WorkloadKind::Mixed, 0, 2 * S))
        .unwrap();
    w.schedule_fault(3 * S, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.run_until(4 * S);
    let r = w.check_acked_writes();
    assert!(r.acked_writes > 300);
    assert_eq!((r.evaluated, r.lost.len()), (0, 0));
    assert_eq!(r.not_evaluated.len(), 1);
    assert_eq!(r.not_evaluated[0].node, "m1");
    assert_eq!(r.not_evaluated[0].reason, "down at the end of the run");
    assert_eq!(r.not_evaluated[0].acked_writes, r.acked_writes);
}

#[test]
fn power_loss_without_persistence_loses_what_was_acknowledged_before_it() {
    // No save points, no AOF: the restarted process starts empty. Writes go on after the
    // restart; only those acknowledged before the power loss on keys not written since are lost.
    let mut w = world(8, &[("m1", &["save \"\"", "appendonly no"])]);
    w.add_workload(WorkloadSpec {
        keys: 5000,
        ..writers(WorkloadKind::AppendList, 0, 5 * S)
    })
    .unwrap();
    w.schedule_fault(2 * S, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.schedule_fault(2 * S + 200_000, Fault::Restart { node: "m1".into() })
        .unwrap();
    w.run_until(6 * S);
    let r = w.check_acked_writes();
    assert_eq!(r.evaluated, r.acked_writes);
    let ops = &w.history().ops;
    let before: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].is_acked_write() && ops[i].complete_us.unwrap() < 2 * S)
        .collect();
    let after = ops
        .iter()
        .filter(|op| op.is_acked_write() && op.invoke_us > 2 * S)
        .count();
    assert!(
        before.len() > 300 && after > 300,
        "{} {}",
        before.len(),
        after
    );
    // Appends are never superseded: every element acknowledged before the kill is gone.
    let mut lost: Vec<usize> = r.lost.iter().map(|l| l.op).collect();
    lost.sort();
    assert_eq!(lost, before);
}
