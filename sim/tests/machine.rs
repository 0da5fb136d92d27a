//! The machine's memory: swap, the OOM killer and the memory-pressure fault.
//!
//! The policy is tested against a fake process (exact figures, a working
//! swap_out), the wiring against the real engine in a world.

use redsim_engine::MemoryStats;
use redsim_sim::machine::{
    check_memory, MachineState, MemoryCheck, OomScoreAdj, OomVictim, ProcessMemory,
    ProcessMemoryState, Resident,
};
use redsim_sim::{Fault, MachineSpec, NodeSpec, WorkloadKind, WorkloadSpec, World, WorldSpec};

const MB: u64 = 1 << 20;
const MS: u64 = 1000;
const S: u64 = 1_000_000;

/// A process with exact figures whose swap_out moves resident bytes to swap.
struct Fake {
    stats: MemoryStats,
    child: Option<u32>,
    adj: OomScoreAdj,
    swap_calls: Vec<u64>,
}

impl Fake {
    fn new(rss: u64) -> Fake {
        Fake {
            stats: MemoryStats {
                used_memory: rss,
                rss_bytes: rss,
                ..MemoryStats::default()
            },
            child: None,
            adj: OomScoreAdj::default(),
            swap_calls: Vec::new(),
        }
    }
}

impl ProcessMemory for Fake {
    fn memory_stats(&self) -> MemoryStats {
        self.stats
    }
    fn swap_out(&mut self, bytes: u64) -> u64 {
        self.swap_calls.push(bytes);
        let moved = bytes.min(self.stats.rss_bytes);
        self.stats.rss_bytes -= moved;
        self.stats.swapped_bytes += moved;
        moved
    }
    fn child_pid(&self) -> Option<u32> {
        self.child
    }
    fn pid(&self) -> u32 {
        4242
    }
    fn oom_score_adj(&self) -> OomScoreAdj {
        self.adj
    }
}

fn spec(ram: u64, swap: u64) -> MachineSpec {
    MachineSpec {
        memory_bytes: ram,
        swap_bytes: swap,
        ..MachineSpec::default()
    }
}

fn state(pressure: u64) -> MachineState {
    MachineState {
        memory_pressure_bytes: pressure,
        ..MachineState::default()
    }
}

/// The check of a machine with one live process.
fn check1(
    spec: &MachineSpec,
    st: &mut MachineState,
    pm: &mut ProcessMemoryState,
    p: &mut dyn ProcessMemory,
) -> MemoryCheck {
    check_memory(
        spec,
        st,
        &mut [Resident {
            process: p,
            memory: pm,
        }],
    )
}

#[test]
fn fitting_in_ram_swaps_nothing_and_records_rss() {
    let (spec, mut st, mut p) = (spec(100 * MB, 50 * MB), state(10 * MB), Fake::new(80 * MB));
    let mut pm = ProcessMemoryState::default();
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!(
        (check.swapped_out, check.oom.is_some(), check.in_use_bytes),
        (0, false, 90 * MB)
    );
    assert!(p.swap_calls.is_empty());
    assert_eq!(
        (pm.rss_bytes_max, st.swap_bytes_max, st.oom_kills),
        (80 * MB, 0, 0)
    );
}

#[test]
fn rss_plus_pressure_over_ram_swaps_the_excess() {
    let (spec, mut st, mut p) = (spec(100 * MB, 50 * MB), state(40 * MB), Fake::new(80 * MB));
    let mut pm = ProcessMemoryState::default();
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!(p.swap_calls, vec![20 * MB]);
    assert_eq!(
        (check.swapped_out, check.oom, check.in_use_bytes),
        (20 * MB, None, 100 * MB)
    );
    // RSS is measured after the kernel made room: it never held 80 MB.
    assert_eq!((pm.rss_bytes_max, st.swap_bytes_max), (60 * MB, 20 * MB));
    assert_eq!(
        (st.swap_used_bytes, st.swap_out_total_bytes, st.swap_outs),
        (20 * MB, 20 * MB, 1)
    );
    // The process swaps pages back in (the engine does, on touch): RSS is
    // over again, the same excess goes out once more; the peak stays.
    p.stats.rss_bytes += 20 * MB;
    p.stats.swapped_bytes -= 20 * MB;
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!(check.swapped_out, 20 * MB);
    assert_eq!(
        (st.swap_bytes_max, st.swap_out_total_bytes),
        (20 * MB, 40 * MB)
    );
    // Pressure gone: nothing to do, the swapped pages stay out until touched.
    st.memory_pressure_bytes = 0;
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!((check.swapped_out, check.in_use_bytes), (0, 60 * MB));
    assert_eq!(st.swap_used_bytes, 20 * MB);
}

#[test]
fn swap_full_leaves_an_excess_and_the_oom_killer_takes_the_main_process() {
    let (spec, mut st, mut p) = (spec(100 * MB, 8 * MB), state(40 * MB), Fake::new(80 * MB));
    let mut pm = ProcessMemoryState::default();
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!(p.swap_calls, vec![8 * MB]);
    assert_eq!(st.swap_bytes_max, 8 * MB);
    let kill = check.oom.expect("12 MB cannot be swapped");
    assert_eq!(
        (kill.victim, kill.pid, kill.anon_rss_bytes, kill.swap_bytes),
        (OomVictim::Main, 4242, 72 * MB, 8 * MB)
    );
    assert_eq!(
        kill.kernel_line(),
        "Out of memory: Killed process 4242 (redis-server) total-vm:81920kB, anon-rss:73728kB, file-rss:0kB, shmem-rss:0kB, UID:999 pgtables:160kB oom_score_adj:0"
    );
    // The world counts the kill, not the policy.
    assert_eq!(st.oom_kills, 0);
}

#[test]
fn without_swap_nothing_is_swapped() {
    let (spec, mut st, mut p) = (spec(100 * MB, 0), state(30 * MB), Fake::new(80 * MB));
    let mut pm = ProcessMemoryState::default();
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert!(p.swap_calls.is_empty());
    assert_eq!(check.oom.map(|k| k.victim), Some(OomVictim::Main));
    assert_eq!(st.swap_bytes_max, 0);
}

#[test]
fn a_process_that_cannot_swap_is_killed_even_with_swap_free() {
    // The stub engine's swap_out moves nothing.
    struct Stuck(Fake);
    impl ProcessMemory for Stuck {
        fn memory_stats(&self) -> MemoryStats {
            self.0.stats
        }
        fn swap_out(&mut self, _bytes: u64) -> u64 {
            0
        }
        fn child_pid(&self) -> Option<u32> {
            None
        }
        fn pid(&self) -> u32 {
            7
        }
        fn oom_score_adj(&self) -> OomScoreAdj {
            OomScoreAdj::default()
        }
    }
    let (spec, mut st, mut p) = (
        spec(100 * MB, 50 * MB),
        state(30 * MB),
        Stuck(Fake::new(80 * MB)),
    );
    let mut pm = ProcessMemoryState::default();
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!(
        (check.swapped_out, check.oom.map(|k| (k.victim, k.pid))),
        (0, Some((OomVictim::Main, 7)))
    );
    assert_eq!(st.swap_outs, 0);
}

#[test]
fn the_child_counts_its_copies_and_loses_ties_with_its_parent() {
    let (spec, mut st) = (spec(100 * MB, 0), state(0));
    let mut pm = ProcessMemoryState::default();
    let mut p = Fake::new(60 * MB);
    p.child = Some(5000);
    // Fork: the child maps the parent's 60 MB.
    assert_eq!(check1(&spec, &mut st, &mut pm, &mut p).oom, None);
    assert_eq!(
        pm.child.map(|c| (c.pid, c.fork_bytes)),
        Some((5000, 60 * MB))
    );
    // The parent rewrites 45 MB: the child keeps the old copies.
    p.stats.child_private_bytes = 45 * MB;
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!(check.in_use_bytes, 105 * MB);
    // Equal badness (60 MB each): the later task in the list, the child.
    let kill = check.oom.expect("over RAM without swap");
    assert_eq!(
        (kill.victim, kill.pid, kill.anon_rss_bytes),
        (OomVictim::Child, 5000, 60 * MB)
    );
    // A parent that grew past the child's size is the one killed.
    p.stats.rss_bytes = 61 * MB;
    assert_eq!(
        check1(&spec, &mut st, &mut pm, &mut p)
            .oom
            .map(|k| k.victim),
        Some(OomVictim::Main)
    );
    // The child is gone: forgotten, and its copies no longer count.
    p.child = None;
    p.stats.child_private_bytes = 0;
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!((check.oom, pm.child), (None, None));
}

#[test]
fn a_killed_child_frees_its_copies_at_once_and_is_not_killed_twice() {
    let (spec, mut st) = (spec(100 * MB, 0), state(0));
    let mut pm = ProcessMemoryState::default();
    let mut p = Fake::new(60 * MB);
    p.child = Some(5000);
    check1(&spec, &mut st, &mut pm, &mut p);
    p.stats.child_private_bytes = 45 * MB;
    assert_eq!(
        check1(&spec, &mut st, &mut pm, &mut p)
            .oom
            .map(|k| k.victim),
        Some(OomVictim::Child)
    );
    // The world marks it killed; the parent has not reaped it yet, so the
    // engine still reports the child and its copies.
    pm.child.as_mut().unwrap().killed = true;
    let check = check1(&spec, &mut st, &mut pm, &mut p);
    assert_eq!((check.in_use_bytes, check.oom), (60 * MB, None));
    st.memory_pressure_bytes = 50 * MB;
    assert_eq!(
        check1(&spec, &mut st, &mut pm, &mut p)
            .oom
            .map(|k| k.victim),
        Some(OomVictim::Main)
    );
}

#[test]
fn oom_score_adj_yes_makes_the_child_the_victim() {
    assert_eq!(
        OomScoreAdj::from_config("no", "0 200 800", false),
        OomScoreAdj { main: 0, child: 0 }
    );
    assert_eq!(
        OomScoreAdj::from_config("yes", "0 200 800", false),
        OomScoreAdj {
            main: 0,
            child: 800
        }
    );
    assert_eq!(
        OomScoreAdj::from_config("relative", "0 200 800", true),
        OomScoreAdj {
            main: 200,
            child: 800
        }
    );
    assert_eq!(
        OomScoreAdj::from_config("absolute", "-1000 2000 100", false),
        OomScoreAdj {
            main: -1000,
            child: 100
        }
    );
    let (spec, mut st) = (spec(100 * MB, 0), state(0));
    let mut pm = ProcessMemoryState::default();
    let mut p = Fake::new(70 * MB);
    p.child = Some(5000);
    check1(&spec, &mut st, &mut pm, &mut p);
    // The parent grew to 80 MB after the fork at 70.
    p.stats.rss_bytes = 80 * MB;
    p.stats.child_private_bytes = 30 * MB;
    assert_eq!(
        check1(&spec, &mut st, &mut pm, &mut p)
            .oom
            .map(|k| k.victim),
        Some(OomVictim::Main)
    );
    p.adj = OomScoreAdj::from_config("yes", "0 200 800", false);
    let kill = check1(&spec, &mut st, &mut pm, &mut p)
        .oom
        .expect("still over");
    assert_eq!((kill.victim, kill.oom_score_adj), (OomVictim::Child, 800));
    // oom_score_adj -1000 protects a process; with no candidate, nobody dies.
    p.adj = OomScoreAdj {
        main: -1000,
        child: -1000,
    };
    assert_eq!(check1(&spec, &mut st, &mut pm, &mut p).oom, None);
}

#[test]
fn a_machine_without_a_process_holds_only_the_pressure() {
    let (spec, mut st, mut p) = (spec(100 * MB, 50 * MB), state(0), Fake::new(80 * MB));
    let mut pm = ProcessMemoryState::default();
    p.stats.swapped_bytes = 5 * MB;
    check1(&spec, &mut st, &mut pm, &mut p);
    st.memory_pressure_bytes = 120 * MB;
    let check = check_memory(&spec, &mut st, &mut []);
    assert_eq!(
        (check.in_use_bytes, check.oom, st.swap_used_bytes),
        (120 * MB, None, 0)
    );
    assert_eq!((pm.rss_bytes_max, st.swap_bytes_max), (80 * MB, 5 * MB));
}

// ---- in a world, with the real engine ----

fn world(ram: u64, swap: u64, config: &[&str]) -> World {
    let machine = MachineSpec {
        memory_bytes: ram,
        swap_bytes: swap,
        ..MachineSpec::default()
    };
    let config_lines = config.iter().map(|l| l.to_string()).collect();
    let nodes = vec![NodeSpec {
        name: "m1".into(),
        machine,
        config_lines,
        machine_name: None,
        sentinel: false,
    }];
    World::new(WorldSpec {
        seed: 3,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world")
}

fn writers(stop_us: u64) -> WorkloadSpec {
    WorkloadSpec {
        name: "w".into(),
        target: "m1".into(),
        clients: 2,
        ops_per_second: 400.0,
        write_ratio: 1.0,
        keys: 2000,
        value_bytes: 100,
        stop_us: Some(stop_us),
        kind: WorkloadKind::Set,
        ..WorkloadSpec::default()
    }
}

#[test]
fn rss_max_is_measured_after_every_step() {
    let mut w = world(64 * MB, 0, &[]);
    w.add_workload(writers(3 * S)).unwrap();
    w.run_until(2 * S);
    let mid = w.machine_stats("m1").rss_bytes_max;
    let now = w.node_memory("m1").expect("up").process;
    assert!(mid > 0 && mid >= now.rss_bytes, "{} {:?}", mid, now);
    w.run_until(4 * S);
    let stats = w.machine_stats("m1");
    assert!(
        stats.rss_bytes_max > mid,
        "the dataset grew: {} -> {}",
        mid,
        stats.rss_bytes_max
    );
    assert_eq!(
        stats.rss_bytes_max,
        w.engine("m1").unwrap().memory_stats().rss_bytes
    );
    assert_eq!(
        (stats.memory_bytes, stats.swap_bytes_max, stats.oom_kills),
        (64 * MB, 0, 0)
    );
    assert!(!w
        .notable_events()
        .iter()
        .any(|e| e.event == "oom-kill" || e.event == "swap"));
}

fn oom_run(seed_pressure: u64) -> World {
    let mut w = world(16 * MB, 0, &[]);
    w.add_workload(writers(6 * S)).unwrap();
    w.schedule_fault(
        2 * S,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: seed_pressure,
        },
    )
    .unwrap();
    w.run_until(6 * S);
    w
}

#[test]
fn memory_pressure_over_ram_without_swap_oom_kills_the_node() {
    let w = oom_run(16 * MB);
    assert!(!w.node_is_up("m1"));
    let stats = w.machine_stats("m1");
    assert_eq!(stats.oom_kills, 1);
    assert!(stats.rss_bytes_max > 870_000, "{}", stats.rss_bytes_max);
    let events: Vec<_> = w
        .notable_events()
        .iter()
        .filter(|e| e.event != "log")
        .collect();
    let fault = events
        .iter()
        .position(|e| e.event == "fault:memory-pressure")
        .expect("the fault");
    let kill = events
        .iter()
        .position(|e| e.event == "oom-kill")
        .expect("the kill");
    assert_eq!(kill, fault + 1, "{:?}", events);
    assert_eq!(events[kill].t_us, 2 * S);
    assert!(
        events[kill]
            .detail
            .starts_with("Out of memory: Killed process "),
        "{}",
        events[kill].detail
    );
    assert!(events[kill].detail.contains(" (redis-server) total-vm:"));
    let anon_kb = (stats.rss_bytes_max / 1024).to_string();
    assert!(
        events[kill]
            .detail
            .contains(&format!("anon-rss:{}kB", anon_kb)),
        "{} vs {}",
        events[kill].detail,
        anon_kb
    );
    assert_eq!(w.faults_fired().get("memory-pressure"), Some(&1));
    assert!(w.node_memory("m1").is_none());
    // The same run replays to the same trace; without the kill it differs.
    assert_eq!(oom_run(16 * MB).trace_hash(), w.trace_hash());
    let spared = oom_run(MB);
    assert!(spared.node_is_up("m1"));
    assert_eq!(spared.machine_stats("m1").oom_kills, 0);
}

#[test]
fn pressure_undone_before_it_bites_and_dead_nodes_are_left_alone() {
    let mut w = world(16 * MB, 0, &[]);
    w.schedule_fault(
        S,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 8 * MB,
        },
    )
    .unwrap();
    w.schedule_fault(
        2 * S,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 0,
        },
    )
    .unwrap();
    w.schedule_fault(3 * S, Fault::Kill { node: "m1".into() })
        .unwrap();
    w.schedule_fault(
        4 * S,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 20 * MB,
        },
    )
    .unwrap();
    w.run_until(5 * S);
    assert_eq!(w.faults_fired().get("memory-pressure"), Some(&3));
    assert_eq!(w.machine_stats("m1").oom_kills, 0);
    assert_eq!(
        w.machine_state("m1").unwrap().memory_pressure_bytes,
        20 * MB
    );
    // Restarted under the pressure, the new process does not fit: killed at once.
    w.schedule_fault(5 * S, Fault::Restart { node: "m1".into() })
        .unwrap();
    w.run_until(5 * S + 100 * MS);
    assert!(!w.node_is_up("m1"));
    assert_eq!(w.machine_stats("m1").oom_kills, 1);
}

#[test]
fn replica_with_oom_score_adj_is_the_one_chosen_by_its_setting() {
    // One process per machine: oom-score-adj changes the score the kernel
    // logs, and -1000 protects it.
    let mut w = world(
        16 * MB,
        0,
        &[
            "oom-score-adj absolute",
            "oom-score-adj-values \"-1000 200 800\"",
        ],
    );
    w.schedule_fault(
        S,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 16 * MB,
        },
    )
    .unwrap();
    w.run_until(2 * S);
    assert!(w.node_is_up("m1"));
    assert_eq!(w.machine_stats("m1").oom_kills, 0);
    let mut w = world(16 * MB, 0, &["oom-score-adj yes"]);
    w.schedule_fault(
        S,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 16 * MB,
        },
    )
    .unwrap();
    w.run_until(2 * S);
    let kill = w
        .notable_events()
        .iter()
        .find(|e| e.event == "oom-kill")
        .expect("killed");
    assert!(kill.detail.ends_with("oom_score_adj:0"), "{}", kill.detail);
}

/// A node with a dataset and a BGSAVE child running on a slow disk.
fn saving_world(config: &[&str]) -> World {
    let machine = MachineSpec {
        memory_bytes: 64 * MB,
        swap_bytes: 0,
        disk_bandwidth_bytes_per_s: 64 << 10,
        ..MachineSpec::default()
    };
    let config_lines = config.iter().map(|l| l.to_string()).collect();
    let nodes = vec![NodeSpec {
        name: "m1".into(),
        machine,
        config_lines,
        machine_name: None,
        sentinel: false,
    }];
    let mut w = World::new(WorldSpec {
        seed: 4,
        nodes,
        ..WorldSpec::default()
    })
    .expect("valid world");
    w.schedule_admin_line(100 * MS, "m1", "DEBUG POPULATE 20000 key 100")
        .unwrap();
    w.schedule_admin_line(200 * MS, "m1", "BGSAVE").unwrap();
    w
}

#[test]
fn oom_during_bgsave_kills_the_child_on_a_tie_and_the_parent_logs_signal_9() {
    let mut w = saving_world(&[]);
    w.run_until(300 * MS);
    let children = w.node_children("m1");
    assert_eq!(children.len(), 1, "BGSAVE runs on a slow disk");
    let rss = w.node_memory("m1").unwrap().process.rss_bytes;
    // Nothing written since the fork: parent and child score the same.
    w.schedule_fault(
        400 * MS,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 64 * MB - rss / 2,
        },
    )
    .unwrap();
    w.run_until(500 * MS);
    let kills: Vec<_> = w
        .notable_events()
        .iter()
        .filter(|e| e.event == "oom-kill")
        .collect();
    assert!(
        kills[0]
            .detail
            .contains(&format!("Killed process {} (redis-server)", children[0])),
        "{:?}",
        kills
    );
    assert!(w.node_children("m1").is_empty());
    assert!(w
        .notable_events()
        .iter()
        .any(|e| e.event == "child-killed" && e.detail.ends_with("signal=9")));
    // The child had copied nothing, so its death freed nothing: the parent
    // goes next, at its next step (reaping the child), before it could log.
    assert_eq!(kills.len(), 2, "{:?}", kills);
    assert!(
        kills[1]
            .detail
            .contains(&format!("anon-rss:{}kB", rss / 1024)),
        "{:?}",
        kills
    );
    assert!(!w.node_is_up("m1"));
    assert_eq!(w.machine_stats("m1").oom_kills, 2);
}

#[test]
fn oom_score_adj_no_spares_a_grown_parent_s_child_only_if_it_is_smaller() {
    // The parent grows after the fork: it outscores the child and dies first;
    // its orphaned child runs on.
    let mut w = saving_world(&[]);
    w.schedule_admin_line(250 * MS, "m1", "DEBUG POPULATE 5000 other 100")
        .unwrap();
    w.run_until(300 * MS);
    let child = w.node_children("m1")[0];
    let rss = w.node_memory("m1").unwrap().process.rss_bytes;
    w.schedule_fault(
        400 * MS,
        Fault::MemoryPressure {
            node: "m1".into(),
            bytes: 64 * MB - rss / 2,
        },
    )
    .unwrap();
    w.run_until(500 * MS);
    let kills: Vec<_> = w
        .notable_events()
        .iter()
        .filter(|e| e.event == "oom-kill")
        .collect();
    assert_eq!(kills.len(), 1, "{:?}", kills);
    assert!(!kills[0].detail.contains(&format!("process {} ", child)));
    assert!(!w.node_is_up("m1"));
    assert!(
        w.notable_events().iter().any(|e| e.event == "crash"),
        "SIGKILL, not a power loss"
    );
    assert_eq!(w.node_children("m1"), vec![child]);
}

#[test]
fn several_processes_share_one_ram_swap_from_the_largest_and_the_oom_killer_picks_among_all() {
    let (spec, mut st) = (spec(100 * MB, 10 * MB), state(0));
    let (mut small, mut big) = (Fake::new(30 * MB), Fake::new(60 * MB));
    let (mut small_mem, mut big_mem) =
        (ProcessMemoryState::default(), ProcessMemoryState::default());
    let check = |st: &mut MachineState,
                 small: &mut Fake,
                 big: &mut Fake,
                 small_mem: &mut ProcessMemoryState,
                 big_mem: &mut ProcessMemoryState| {
        check_memory(
            &spec,
            st,
            &mut [
                Resident {
                    process: small,
                    memory: small_mem,
                },
                Resident {
                    process: big,
                    memory: big_mem,
                },
            ],
        )
    };
    let c = check(&mut st, &mut small, &mut big, &mut small_mem, &mut big_mem);
    assert_eq!((c.in_use_bytes, c.swapped_out, c.oom), (90 * MB, 0, None));
    // 20 MB over RAM, 10 MB of swap: the largest process gives what swap holds.
    st.memory_pressure_bytes = 30 * MB;
    let c = check(&mut st, &mut small, &mut big, &mut small_mem, &mut big_mem);
    assert_eq!(
        (small.swap_calls.len(), big.swap_calls.clone()),
        (0, vec![10 * MB])
    );
    assert_eq!(
        (c.swapped_from.clone(), st.swap_used_bytes, c.in_use_bytes),
        (vec![(1, 10 * MB)], 10 * MB, 110 * MB)
    );
    let kill = c.oom.expect("10 MB still over");
    assert_eq!(
        (
            kill.process,
            kill.victim,
            kill.anon_rss_bytes,
            kill.swap_bytes
        ),
        (1, OomVictim::Main, 50 * MB, 10 * MB)
    );
    // oom_score_adj moves the choice to the smaller process.
    small.adj = OomScoreAdj {
        main: 500,
        child: 0,
    };
    let kill = check(&mut st, &mut small, &mut big, &mut small_mem, &mut big_mem)
        .oom
        .expect("still over");
    assert_eq!(kill.process, 0);
    assert_eq!(
        (small_mem.rss_bytes_max, big_mem.rss_bytes_max),
        (30 * MB, 60 * MB)
    );
}
