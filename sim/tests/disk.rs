//! The simulated disk and child processes, driven through World with
//! injected outputs (as if the engine had emitted them at the end of a
//! step): durability, fsync timing, the shared device queue, writeback,
//! power loss, torn writes, crash, children and cores.

use redsim_engine::{ChildJob, DiskOp, Event, ForkRequest, Output};
use redsim_sim::{Fault, MachineSpec, NodeSpec, World, WorldSpec};

const MS: u64 = 1000;
const S: u64 = 1_000_000;
const MIB: usize = 1 << 20;

fn world_on(seed: u64, machine: MachineSpec) -> World {
    let nodes = vec![NodeSpec {
        name: "m1".into(),
        machine,
        config_lines: vec![],
        machine_name: None,
        sentinel: false,
    }];
    let mut w = World::new(WorldSpec {
        seed,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.keep_trace_lines();
    w.run_until(S);
    w
}

fn world() -> World {
    world_on(1, MachineSpec::default())
}

fn append(file: &str, n: usize) -> Output {
    Output::Disk(DiskOp::Append {
        file: file.into(),
        bytes: vec![b'x'; n],
    })
}

fn fsync(file: &str, token: u64, blocking: bool) -> Output {
    Output::Disk(DiskOp::Fsync {
        file: file.into(),
        token,
        blocking,
    })
}

fn marker(name: &str) -> Output {
    Output::Event(Event {
        name: name.into(),
        detail: String::new(),
    })
}

fn event_time(w: &World, name: &str) -> Option<u64> {
    w.notable_events()
        .iter()
        .find(|e| e.event == name)
        .map(|e| e.t_us)
}

/// The time of the first kept trace line containing `needle`.
fn line_time(w: &World, needle: &str) -> Option<u64> {
    let line = w.trace_lines().iter().find(|l| l.contains(needle))?;
    line.split(' ').next()?.parse().ok()
}

fn durable_len(w: &World, file: &str) -> Option<usize> {
    w.disk_durable_files("m1").get(file).map(|b| b.len())
}

fn write_job(
    file: &str,
    bytes: usize,
    cpu_us: u64,
    incremental_fsync: bool,
    rename_to: Option<&str>,
) -> Output {
    Output::Fork(ForkRequest {
        pid: 4242,
        job: ChildJob::WriteFile {
            file: file.into(),
            bytes: vec![b'r'; bytes],
            cpu_us,
            incremental_fsync,
            rename_to: rename_to.map(String::from),
        },
    })
}

#[test]
fn fsync_makes_data_durable_only_after_latency_and_bandwidth() {
    let mut w = world();
    // 1 MiB at 200 MiB/s is 5 ms on the device, plus 2 ms of fsync latency.
    w.inject_outputs("m1", vec![append("a", MIB), fsync("a", 7, false)])
        .unwrap();
    assert_eq!(w.disk_files("m1")["a"].len(), MIB);
    w.run_until(S + 6_999);
    assert_eq!(durable_len(&w, "a"), None);
    w.run_until(S + 7 * MS);
    assert_eq!(durable_len(&w, "a"), Some(MIB));
    assert_eq!(line_time(&w, "fsync-done token=7"), Some(S + 7 * MS));
    let stats = w.disk_stats("m1");
    assert_eq!(
        (stats.bytes_written, stats.bytes_fsynced, stats.fsyncs),
        (MIB as u64, MIB as u64, 1)
    );
}

#[test]
fn power_loss_drops_unsynced_bytes_and_restart_sees_what_survived() {
    let mut w = world();
    w.inject_outputs("m1", vec![append("a", 1000), fsync("a", 1, false)])
        .unwrap();
    w.run_until(S + 10 * MS);
    w.inject_outputs("m1", vec![append("a", 500), append("b", 64)])
        .unwrap();
    w.schedule_fault(S + 20 * MS, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.run_until(S + 20 * MS);
    assert!(!w.node_is_up("m1"));
    assert_eq!(w.disk_files("m1")["a"].len(), 1000);
    assert!(
        !w.disk_files("m1").contains_key("b"),
        "a file never made durable is gone"
    );
    let losses: Vec<String> = w
        .notable_events()
        .iter()
        .filter(|e| e.event == "disk-loss")
        .map(|e| e.detail.clone())
        .collect();
    assert_eq!(losses, ["lost 500 bytes of a", "lost 64 bytes of b"]);
    assert_eq!(w.disk_stats("m1").bytes_lost, 564);
    w.schedule_fault(S + 30 * MS, Fault::Restart { node: "m1".into() })
        .unwrap();
    w.run_until(S + 30 * MS);
    let files = &w.engine("m1").unwrap().server().options.files;
    assert_eq!(files.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(files["a"].len(), 1000);
    assert_eq!(w.engine("m1").unwrap().server().options.machine.cores, 2);
}

fn torn_len(seed: u64) -> usize {
    let mut w = world_on(seed, MachineSpec::default());
    w.inject_outputs("m1", vec![append("aof", 1000), fsync("aof", 1, false)])
        .unwrap();
    w.run_until(S + 10 * MS);
    w.inject_outputs("m1", vec![append("aof", 5000)]).unwrap();
    w.schedule_fault(S + 20 * MS, Fault::KillTorn { node: "m1".into() })
        .unwrap();
    w.run_until(S + 20 * MS);
    let kept = w
        .notable_events()
        .iter()
        .find(|e| e.event == "torn-write")
        .expect("a torn write")
        .detail
        .clone();
    let len = w.disk_files("m1")["aof"].len();
    assert_eq!(
        kept,
        format!("kept {} bytes of the last write to aof", len - 1000)
    );
    len
}

#[test]
fn torn_write_keeps_whole_sectors_inside_the_last_append() {
    let lens: Vec<usize> = (1..=8).map(torn_len).collect();
    for &len in &lens {
        assert_eq!(len % 512, 0, "{:?}", lens);
        assert!(len > 1000 && len < 6000, "{:?}", lens);
    }
    assert!(
        lens.iter().any(|&l| l != lens[0]),
        "the cut is seeded: {:?}",
        lens
    );
    assert_eq!(torn_len(3), lens[2], "the same seed cuts at the same place");
}

#[test]
fn kernel_writeback_makes_old_dirty_data_durable_without_fsync() {
    let mut w = world();
    w.inject_outputs("m1", vec![append("a", 100)]).unwrap();
    // Dirty since 1 s: expires at 31 s, and the flusher wakes every 5 s.
    w.run_until(31 * S - 1);
    assert_eq!(durable_len(&w, "a"), None);
    w.run_until(36 * S);
    assert_eq!(durable_len(&w, "a"), Some(100));
    assert_eq!(w.disk_stats("m1").bytes_written_back, 100);
    let at = line_time(&w, "writeback").unwrap();
    assert!((31 * S..=35 * S).contains(&at), "{}", at);
}

#[test]
fn blocking_fsync_holds_the_rest_of_the_step_and_the_loop() {
    let mut w = world();
    w.schedule_fault(
        S,
        Fault::Disk {
            node: "m1".into(),
            fsync_latency_ms: 100.0,
        },
    )
    .unwrap();
    w.run_until(S);
    w.inject_outputs(
        "m1",
        vec![append("a", 10), fsync("a", 0, true), marker("after-fsync")],
    )
    .unwrap();
    assert_eq!(
        event_time(&w, "after-fsync"),
        None,
        "held until the disk answers"
    );
    w.schedule_admin_line(S + 10 * MS, "m1", "PING").unwrap();
    w.run_until(S + 200 * MS);
    // 10 bytes take 1 µs on the device, then 100 ms of latency.
    let done = S + 100 * MS + 1;
    assert_eq!(event_time(&w, "after-fsync"), Some(done));
    assert_eq!(durable_len(&w, "a"), Some(10));
    let reply = w
        .notable_events()
        .iter()
        .find(|e| e.event == "admin-reply")
        .unwrap();
    assert!(reply.t_us >= done, "the loop was stalled: {}", reply.t_us);
}

#[test]
fn a_write_behind_an_inflight_fsync_waits_for_it() {
    let mut w = world();
    w.schedule_fault(
        S,
        Fault::Disk {
            node: "m1".into(),
            fsync_latency_ms: 50.0,
        },
    )
    .unwrap();
    w.run_until(S);
    w.inject_outputs(
        "m1",
        vec![
            append("b", 10),
            fsync("b", 1, false),
            append("c", 10),
            marker("other-file"),
        ],
    )
    .unwrap();
    assert_eq!(
        event_time(&w, "other-file"),
        Some(S),
        "a write to another file does not wait"
    );
    w.run_until(S + 100 * MS);
    let t = w.now_us();
    w.inject_outputs(
        "m1",
        vec![
            append("a", 10),
            fsync("a", 2, false),
            append("a", 10),
            marker("after-write"),
        ],
    )
    .unwrap();
    assert_eq!(
        w.disk_files("m1")["a"].len(),
        10,
        "the second write is held"
    );
    w.run_until(t + 200 * MS);
    assert_eq!(event_time(&w, "after-write"), Some(t + 50 * MS + 1));
    assert_eq!(w.disk_files("m1")["a"].len(), 20);
    assert_eq!(durable_len(&w, "a"), Some(10));
}

fn slow_disk() -> MachineSpec {
    MachineSpec {
        disk_bandwidth_bytes_per_s: 10 << 20,
        ..MachineSpec::default()
    }
}

fn child_exit_time(w: &World) -> Option<u64> {
    line_time(w, "child-exit pid=4242 status=ok")
}

#[test]
fn child_exit_comes_after_the_bandwidth_bound_time() {
    // 20 MiB at 10 MiB/s: five 4 MiB chunks of 20 ms CPU. Each 4 MiB block
    // goes to the device (400 ms) as it is written, and the child waits for
    // the block before it; the device is busy from 20 ms to 2020 ms, then
    // the final fsync adds its 2 ms latency.
    let mut w = world_on(1, slow_disk());
    w.inject_outputs(
        "m1",
        vec![write_job(
            "temp-4242.rdb",
            20 * MIB,
            100 * MS,
            true,
            Some("dump.rdb"),
        )],
    )
    .unwrap();
    assert_eq!(w.node_children("m1"), [4242]);
    w.run_until(5 * S);
    assert_eq!(child_exit_time(&w), Some(S + 2_022 * MS));
    assert_eq!(
        line_time(&w, "step child-exit"),
        Some(S + 2_022 * MS),
        "the parent got ChildExit"
    );
    assert!(w.node_children("m1").is_empty());
    let durable = w.disk_durable_files("m1");
    assert_eq!(durable.keys().collect::<Vec<_>>(), ["dump.rdb"]);
    assert_eq!(durable["dump.rdb"].len(), 20 * MIB);
    // Without incremental fsync the CPU runs ahead; one 2 s fsync at the end.
    let mut w = world_on(1, slow_disk());
    w.inject_outputs(
        "m1",
        vec![write_job("temp-4242.rdb", 20 * MIB, 100 * MS, false, None)],
    )
    .unwrap();
    w.run_until(5 * S);
    assert_eq!(child_exit_time(&w), Some(S + 2_102 * MS));
    assert_eq!(w.node_child_cpu_used_us("m1"), 100 * MS);
    assert_eq!(durable_len(&w, "temp-4242.rdb"), Some(20 * MIB));
}

#[test]
fn the_disk_queue_is_shared_by_every_writer() {
    let mut w = world_on(1, slow_disk());
    w.inject_outputs(
        "m1",
        vec![
            write_job("temp.rdb", 4 * MIB, 0, false, None),
            append("aof", 4 * MIB),
            fsync("aof", 9, false),
        ],
    )
    .unwrap();
    w.run_until(3 * S);
    // The main thread's fsync went first (402 ms); the child's final fsync
    // of its 4 MiB queued behind it.
    assert_eq!(line_time(&w, "fsync-done token=9"), Some(S + 402 * MS));
    assert_eq!(child_exit_time(&w), Some(S + 804 * MS));
    let mut alone = world_on(1, slow_disk());
    alone
        .inject_outputs("m1", vec![write_job("temp.rdb", 4 * MIB, 0, false, None)])
        .unwrap();
    alone.run_until(3 * S);
    assert_eq!(child_exit_time(&alone), Some(S + 402 * MS));
}

#[test]
fn crash_keeps_the_page_cache_and_a_running_child_finishes() {
    let mut w = world_on(1, slow_disk());
    w.inject_outputs(
        "m1",
        vec![
            append("a", 1000),
            write_job("temp.rdb", 4 * MIB, 0, false, Some("dump.rdb")),
        ],
    )
    .unwrap();
    w.schedule_fault(S + 100 * MS, Fault::Crash { node: "m1".into() })
        .unwrap();
    w.run_until(S + 100 * MS);
    assert!(!w.node_is_up("m1"));
    assert_eq!(w.disk_files("m1")["a"].len(), 1000);
    assert_eq!(event_time(&w, "crash"), Some(S + 100 * MS));
    w.run_until(2 * S);
    assert!(
        w.disk_files("m1").contains_key("dump.rdb"),
        "the orphaned child's rename landed"
    );
    let exit = w
        .trace_lines()
        .iter()
        .find(|l| l.contains("child-exit pid=4242"))
        .unwrap()
        .clone();
    assert!(exit.ends_with("status=ok (parent gone)"), "{}", exit);
    assert_eq!(w.faults_fired().get("crash"), Some(&1));
    // A power loss of the crashed machine still loses the unsynced page cache.
    w.schedule_fault(2 * S, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.schedule_fault(3 * S, Fault::Restart { node: "m1".into() })
        .unwrap();
    w.run_until(3 * S);
    assert_eq!(w.faults_fired().get("kill"), Some(&1));
    let files = w.disk_files("m1");
    assert_eq!(files.keys().collect::<Vec<_>>(), ["dump.rdb"]);
    // The test's child wrote 4 MiB of filler as dump.rdb: the restarted
    // server refuses it and exits, as redis-server does.
    assert!(w
        .trace_lines()
        .iter()
        .any(|l| l.contains("exit code 1: Wrong signature trying to load DB from file")));
    assert!(!w.node_is_up("m1"));
}

#[test]
fn crash_closes_the_process_connections() {
    let mut w = world();
    let workload = redsim_sim::WorkloadSpec {
        name: "w".into(),
        target: "m1".into(),
        clients: 1,
        ops_per_second: 200.0,
        write_ratio: 1.0,
        keys: 10,
        value_bytes: 8,
        stop_us: Some(4 * S),
        ..redsim_sim::WorkloadSpec::default()
    };
    w.add_workload(workload).unwrap();
    w.schedule_fault(2 * S, Fault::Crash { node: "m1".into() })
        .unwrap();
    w.run_until(3 * S);
    // The kernel sent FIN for the dead process's socket; the client saw it.
    let closed = w
        .trace_lines()
        .iter()
        .filter(|l| l.contains("closed conn="))
        .filter_map(|l| l.split(' ').next()?.parse::<u64>().ok());
    assert!(closed.into_iter().any(|t| t > 2 * S && t < 2 * S + 10 * MS));
    let after = w
        .history()
        .ops
        .iter()
        .filter(|o| o.invoke_us > 2 * S + 200 * MS)
        .collect::<Vec<_>>();
    assert!(!after.is_empty());
    assert!(
        after
            .iter()
            .all(|o| !matches!(o.outcome, redsim_sim::Outcome::Ok)),
        "nothing succeeds on a dead node"
    );
}

#[test]
fn power_loss_kills_a_child_silently_and_signals_reach_the_parent() {
    let mut w = world_on(1, slow_disk());
    w.inject_outputs(
        "m1",
        vec![write_job("temp.rdb", 12 * MIB, 0, true, Some("dump.rdb"))],
    )
    .unwrap();
    w.schedule_fault(S + 100 * MS, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.run_until(3 * S);
    assert!(w.node_children("m1").is_empty());
    assert!(child_exit_time(&w).is_none());
    assert!(
        w.disk_files("m1").is_empty(),
        "nothing of the child's file was durable"
    );

    let mut w = world_on(1, slow_disk());
    w.inject_outputs(
        "m1",
        vec![write_job("temp.rdb", 12 * MIB, 0, true, Some("dump.rdb"))],
    )
    .unwrap();
    w.run_until(S + 100 * MS);
    assert!(w.signal_child("m1", 9));
    assert!(!w.signal_child("m1", 9), "no child left");
    w.run_until(3 * S);
    assert_eq!(event_time(&w, "child-killed"), Some(S + 100 * MS));
    assert_eq!(line_time(&w, "step child-exit"), Some(S + 100 * MS));
    assert!(!w.disk_files("m1").contains_key("dump.rdb"));
    // Two blocks written, the second waiting for the first's writeout.
    assert_eq!(
        w.disk_files("m1")["temp.rdb"].len(),
        8 * MIB,
        "the partial file stays in the page cache"
    );
}

#[test]
fn more_runnable_threads_than_cores_stretch_the_main_loop() {
    let one_core = MachineSpec {
        cores: 1,
        ..MachineSpec::default()
    };
    let mut w = world_on(1, one_core);
    let compute = Output::Fork(ForkRequest {
        pid: 4242,
        job: ChildJob::Compute { cpu_us: 500 * MS },
    });
    w.inject_outputs("m1", vec![compute]).unwrap();
    w.schedule_admin_line(S + 10 * MS, "m1", "PING").unwrap();
    w.run_until(2 * S);
    let step = w
        .trace_lines()
        .iter()
        .find(|l| l.contains(" step admin"))
        .unwrap()
        .clone();
    let cpu: u64 = step
        .split("cpu_us=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(step.ends_with(&format!("busy_us={}", 2 * cpu)), "{}", step);
    assert_eq!(child_exit_time(&w), Some(S + 500 * MS));
    assert_eq!(
        w.engine("m1").unwrap().server().options.machine.cores,
        1,
        "the engine is told its machine"
    );
    // Two cores: no stretch.
    let mut w = world_on(1, MachineSpec::default());
    let compute = Output::Fork(ForkRequest {
        pid: 4242,
        job: ChildJob::Compute { cpu_us: 500 * MS },
    });
    w.inject_outputs("m1", vec![compute]).unwrap();
    w.schedule_admin_line(S + 10 * MS, "m1", "PING").unwrap();
    w.run_until(2 * S);
    assert!(!w.trace_lines().iter().any(|l| l.contains("busy_us")));
}

fn busy_run(seed: u64) -> String {
    let mut w = world_on(seed, slow_disk());
    let workload = redsim_sim::WorkloadSpec {
        name: "w".into(),
        target: "m1".into(),
        clients: 2,
        ops_per_second: 500.0,
        write_ratio: 0.5,
        keys: 100,
        value_bytes: 32,
        stop_us: Some(4 * S),
        ..redsim_sim::WorkloadSpec::default()
    };
    w.add_workload(workload).unwrap();
    w.inject_outputs(
        "m1",
        vec![
            append("aof", 3000),
            write_job("temp.rdb", 6 * MIB, 50 * MS, true, Some("dump.rdb")),
        ],
    )
    .unwrap();
    w.run_until(S + 500 * MS);
    w.inject_outputs(
        "m1",
        vec![
            append("aof", 3000),
            fsync("aof", 1, true),
            append("aof", 7000),
        ],
    )
    .unwrap();
    w.schedule_fault(S + 700 * MS, Fault::KillTorn { node: "m1".into() })
        .unwrap();
    w.schedule_fault(2 * S, Fault::Restart { node: "m1".into() })
        .unwrap();
    w.run_until(5 * S);
    w.trace_hash()
}

#[test]
fn same_seed_same_trace_hash() {
    assert_eq!(busy_run(5), busy_run(5));
    assert_ne!(busy_run(5), busy_run(6));
}
