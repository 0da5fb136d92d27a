//! Sentinel mode in the world: three Sentinels watch a master and two
//! replicas; faults drive SDOWN, ODOWN, the election and the failover.

use redsim_engine::sentinel::instance::flags;
use redsim_sim::faults::Fault;
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

fn events(w: &World, node: &str) -> Vec<(u64, String, String)> {
    w.notable_events()
        .iter()
        .filter(|e| e.node == node)
        .map(|e| (e.t_us, e.event.clone(), e.detail.clone()))
        .collect()
}

fn first(w: &World, node: &str, name: &str) -> Option<(u64, String)> {
    events(w, node)
        .into_iter()
        .find(|(_, n, _)| n == name)
        .map(|(t, _, d)| (t, d))
}

fn master_addr(w: &World, node: &str) -> (String, u16) {
    let st = w
        .engine(node)
        .expect("up")
        .server()
        .sentinel
        .as_ref()
        .expect("a sentinel");
    st.masters["mymaster"].current_addr()
}

#[test]
fn sentinels_discover_the_replicas_and_agree_the_master_is_up() {
    let mut w = world(1, 3, 2);
    w.run_until(15 * S);
    for s in ["s1", "s2", "s3"] {
        let st = w
            .engine(s)
            .expect("up")
            .server()
            .sentinel
            .as_ref()
            .expect("a sentinel");
        let m = &st.masters["mymaster"];
        assert_eq!(m.inst.host, "10.0.0.1", "{} resolves m1", s);
        assert_eq!(
            m.slaves.len(),
            2,
            "{} found both replicas: {:?}",
            s,
            m.slaves.keys().collect::<Vec<_>>()
        );
        assert_eq!(m.sentinels.len(), 2);
        assert!(!m.inst.has(flags::S_DOWN));
        assert!(
            m.sentinels.values().all(|si| !si.link.disconnected),
            "{} links up",
            s
        );
        let (t, detail) =
            first(&w, s, "+sentinel").expect("+sentinel: found through the hello channel");
        assert!(t < 6 * S, "hellos every 2 s: {}", t);
        assert!(
            detail.starts_with("sentinel ") && detail.contains(" 26379 @ mymaster 10.0.0.1 6379"),
            "{}",
            detail
        );
        let (_, detail) = first(&w, s, "+slave").expect("+slave");
        assert!(detail.starts_with("slave 10.0.0."), "{}", detail);
        assert!(detail.ends_with("@ mymaster 10.0.0.1 6379"), "{}", detail);
    }
    assert!(
        w.node_log("s1")
            .iter()
            .any(|l| l.contains("X ")
                && l.contains("+monitor master mymaster 10.0.0.1 6379 quorum 2"))
    );
}

#[test]
fn paused_master_fails_over_to_the_best_priority_replica() {
    let mut w = world(2, 3, 2);
    w.schedule_fault(20 * S, Fault::Pause { node: "m1".into() })
        .expect("m1");
    w.run_until(60 * S);
    let sdown: Vec<u64> = ["s1", "s2", "s3"]
        .iter()
        .map(|s| first(&w, s, "+sdown").expect("+sdown").0)
        .collect();
    for t in &sdown {
        // The oldest unanswered PING leaves within a ping period and a timer
        // tick (<= 100 ms) of the pause; +sdown once it is 5 s old, seen on
        // the next tick. redis-sentinel 7.0.15 on loopback: 5.7-5.8 s.
        assert!(*t > 25 * S && *t < 26 * S + 300_000, "+sdown at {}", t);
    }
    let leaders: Vec<&str> = ["s1", "s2", "s3"]
        .into_iter()
        .filter(|s| first(&w, s, "+elected-leader").is_some())
        .collect();
    assert_eq!(leaders.len(), 1, "exactly one leader: {:?}", leaders);
    let leader = leaders[0];
    let names: Vec<String> = events(&w, leader).into_iter().map(|(_, n, _)| n).collect();
    let order = [
        "+sdown",
        "+odown",
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
        "+switch-master",
    ];
    let mut at = 0;
    for name in order {
        let pos = names[at..]
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("{} after {:?} in {:?}", name, &names[..at], names));
        at += pos + 1;
    }
    let leader_id = IDS[leader[1..].parse::<usize>().expect("s<n>") - 1];
    let (_, vote) = first(&w, leader, "+vote-for-leader").expect("it votes for itself");
    assert_eq!(vote, format!("{} 1", leader_id));
    let (_, odown) = first(&w, leader, "+odown").expect("+odown");
    assert!(
        odown.starts_with("master mymaster 10.0.0.1 6379 #quorum ") && odown.ends_with("/2"),
        "{}",
        odown
    );
    let (_, selected) = first(&w, leader, "+selected-slave").expect("+selected-slave");
    assert_eq!(
        selected,
        "slave 10.0.0.3:6379 10.0.0.3 6379 @ mymaster 10.0.0.1 6379"
    );
    for s in ["s1", "s2", "s3"] {
        let (_, switch) = first(&w, s, "+switch-master").expect("every sentinel switches");
        assert_eq!(switch, "mymaster 10.0.0.1 6379 10.0.0.3 6379");
        assert_eq!(master_addr(&w, s), ("10.0.0.3".to_string(), 6379));
    }
    assert_eq!(w.node_role("r2").as_deref(), Some("master"));
    assert_eq!(
        w.info_field("r1", "master_host").as_deref(),
        Some("10.0.0.3")
    );
    assert_eq!(
        w.info_field("r1", "master_link_status").as_deref(),
        Some("up")
    );
}

#[test]
fn no_failover_without_a_majority() {
    // Five Sentinels, quorum 2, three of them down: ODOWN, but 2 votes of 5 are no majority.
    let mut w = world(3, 5, 2);
    for s in ["s3", "s4", "s5"] {
        w.schedule_fault(10 * S, Fault::Kill { node: s.into() })
            .expect("sentinel");
    }
    w.schedule_fault(20 * S, Fault::Pause { node: "m1".into() })
        .expect("m1");
    w.run_until(80 * S);
    let mut tried = 0;
    for s in ["s1", "s2"] {
        assert!(first(&w, s, "+odown").is_some(), "{} reaches ODOWN", s);
        assert!(
            first(&w, s, "+elected-leader").is_none(),
            "{} is not elected",
            s
        );
        assert!(first(&w, s, "+switch-master").is_none());
        assert_eq!(master_addr(&w, s), ("10.0.0.1".to_string(), 6379));
        // One that voted for the other holds its own attempt back for 2*failover-timeout.
        if let Some((t_try, _)) = first(&w, s, "+try-failover") {
            tried += 1;
            let (t_abort, _) = first(&w, s, "-failover-abort-not-elected").expect("gives up");
            // The election waits min(10 s, failover-timeout) from the start time (+ up to 1 s desync).
            assert!(
                t_abort > t_try + 10 * S && t_abort < t_try + 11 * S + 200_000,
                "{} {}",
                t_try,
                t_abort
            );
        }
    }
    assert!(tried >= 1, "someone tried to fail over");
    assert_eq!(w.node_role("r2").as_deref(), Some("slave"));
}

#[test]
fn clock_jump_enters_tilt_and_causes_no_failover() {
    let mut w = world(4, 3, 2);
    w.schedule_fault(
        20 * S,
        Fault::ClockJump {
            node: "s1".into(),
            jump_ms: 10_000,
        },
    )
    .expect("s1");
    w.run_until(70 * S);
    let (t_tilt, detail) = first(&w, "s1", "+tilt").expect("+tilt");
    assert_eq!(detail, "#tilt mode entered");
    assert!(
        (20 * S..20 * S + 200_000).contains(&t_tilt),
        "+tilt at {}",
        t_tilt
    );
    let (t_exit, _) = first(&w, "s1", "-tilt").expect("-tilt");
    // 30 s after the trigger, seen on the next timer tick.
    assert!(
        t_exit >= t_tilt + 30 * S && t_exit < t_tilt + 30 * S + 200_000,
        "-tilt at {}",
        t_exit
    );
    for s in ["s1", "s2", "s3"] {
        assert!(first(&w, s, "+sdown").is_none(), "{} saw no false SDOWN", s);
        assert!(first(&w, s, "+switch-master").is_none());
    }
}

/// A wall clock stepped back enters TILT too (time went backwards), on the
/// next tick: the event loop's timers run on the monotonic clock, so the
/// Sentinel does not sleep through the 5 s the clock went back.
#[test]
fn clock_stepped_back_enters_tilt_on_the_next_tick() {
    let mut w = world(5, 3, 2);
    w.schedule_fault(
        20 * S,
        Fault::ClockJump {
            node: "s2".into(),
            jump_ms: -5_000,
        },
    )
    .expect("s2");
    w.run_until(60 * S);
    let (t_tilt, detail) = first(&w, "s2", "+tilt").expect("+tilt");
    assert_eq!(detail, "#tilt mode entered");
    assert!(
        (20 * S..20 * S + 110_000).contains(&t_tilt),
        "+tilt at {}",
        t_tilt
    );
    let (t_exit, _) = first(&w, "s2", "-tilt").expect("-tilt");
    assert!(
        t_exit >= t_tilt + 30 * S && t_exit < t_tilt + 30 * S + 200_000,
        "-tilt at {}",
        t_exit
    );
    for s in ["s1", "s3"] {
        assert!(
            first(&w, s, "+tilt").is_none(),
            "{}'s clock did not move",
            s
        );
    }
    for s in ["s1", "s2", "s3"] {
        assert!(first(&w, s, "+sdown").is_none(), "{} saw no false SDOWN", s);
    }
}

#[test]
fn sentinel_restarted_mid_failover_keeps_its_epoch() {
    let mut w = world(2, 3, 2);
    w.schedule_fault(20 * S, Fault::Pause { node: "m1".into() })
        .expect("m1");
    // Power loss of s1 right after it voted in the election: the vote was
    // flushed (written, fsynced, renamed) before it was announced.
    let voted = w.run_until_pred(|w| first(w, "s1", "+vote-for-leader").is_some(), 40 * S);
    assert!(voted, "s1 votes");
    let st = w
        .engine("s1")
        .expect("up")
        .server()
        .sentinel
        .as_ref()
        .expect("sentinel");
    let (epoch, leader_epoch) = (st.current_epoch, st.masters["mymaster"].inst.leader_epoch);
    assert!(
        epoch >= 1 && leader_epoch == epoch,
        "{} {}",
        epoch,
        leader_epoch
    );
    let now = w.now_us();
    w.schedule_fault(now, Fault::Kill { node: "s1".into() })
        .expect("s1");
    w.schedule_fault(now + S / 2, Fault::Restart { node: "s1".into() })
        .expect("s1");
    w.run_until(now + S / 2 + 1000);
    let st = w
        .engine("s1")
        .expect("up again")
        .server()
        .sentinel
        .as_ref()
        .expect("sentinel");
    assert_eq!(st.myid, IDS[0]);
    assert_eq!(st.current_epoch, epoch, "the epoch survives the power loss");
    assert_eq!(
        st.masters["mymaster"].inst.leader_epoch, leader_epoch,
        "and so does the vote"
    );
    assert_eq!(
        st.masters["mymaster"].slaves.len(),
        2,
        "and the replicas it knew"
    );
    assert_eq!(st.masters["mymaster"].sentinels.len(), 2);
    // The failover completes without it, and the others' hellos bring it the new configuration.
    w.run_until(60 * S);
    assert_eq!(master_addr(&w, "s1"), ("10.0.0.3".to_string(), 6379));
    let (_, from) = first(&w, "s1", "+config-update-from").expect("updated by a hello");
    assert!(from.starts_with("sentinel "), "{}", from);
    let st = w
        .engine("s1")
        .expect("up")
        .server()
        .sentinel
        .as_ref()
        .expect("sentinel");
    assert_eq!(st.masters["mymaster"].config_epoch, st.current_epoch);
}

/// The paused master's failover, with the old master converted once it
/// is back, holds for every seed (election, timings and phases vary).
#[test]
fn failover_and_conversion_hold_across_seeds() {
    let mut bad = Vec::new();
    for seed in 10..20 {
        let mut w = world(seed, 3, 2);
        w.schedule_fault(20 * S, Fault::Pause { node: "m1".into() })
            .expect("m1");
        w.schedule_fault(50 * S, Fault::Resume { node: "m1".into() })
            .expect("m1");
        w.run_until(75 * S);
        let ok = ["s1", "s2", "s3"]
            .iter()
            .all(|s| master_addr(&w, s) == ("10.0.0.3".to_string(), 6379))
            && w.node_role("r2").as_deref() == Some("master")
            && w.info_field("m1", "master_host").as_deref() == Some("10.0.0.3")
            && w.info_field("r1", "master_host").as_deref() == Some("10.0.0.3");
        let leaders = ["s1", "s2", "s3"]
            .iter()
            .filter(|s| first(&w, s, "+elected-leader").is_some())
            .count();
        if !ok || leaders != 1 {
            bad.push((seed, leaders));
        }
    }
    assert!(bad.is_empty(), "{:?}", bad);
}

/// Sentinel-aware workload clients: they find the master through the
/// sentinels, follow a failover, and the acked-writes checker judges the node
/// that is master at the end. Same world as above.
mod clients {
    use super::{world, S};
    use redsim_sim::client::{SentinelDiscovery, WorkloadKind, WorkloadSpec};
    use redsim_sim::faults::Fault;
    use redsim_sim::history::Outcome;
    use redsim_sim::world::World;

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
                ..SentinelDiscovery::default()
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

    /// The first acknowledged write r2 served, after the sentinels' +switch-master.
    fn first_on(w: &World, node: &str) -> u64 {
        let names = w.node_names();
        w.history()
            .ops
            .iter()
            .filter(|o| o.outcome == Outcome::Ok)
            .filter(|o| o.node.map(|h| names[h as usize].as_str()) == Some(node))
            .filter_map(|o| o.complete_us)
            .min()
            .unwrap_or_else(|| panic!("no write on {}", node))
    }

    /// Clients without a read timeout wait for ever on a paused master; `reask_ms` and
    /// `follow = "pubsub"` move them to the promoted replica anyway: the re-ask within its
    /// period of the switch, the subscriber on s1's +switch-master message itself.
    #[test]
    fn reask_and_pubsub_clients_move_without_a_timeout() {
        let run = |reask_ms: Option<u64>, follow_pubsub: bool| {
            let mut w = world(7, 3, 2);
            let mut spec = sentinel_workload(None);
            let d = spec.discovery.as_mut().expect("discovery");
            d.reask_ms = reask_ms;
            d.follow_pubsub = follow_pubsub;
            w.add_workload(spec).expect("workload");
            w.schedule_fault(20 * S, Fault::Pause { node: "m1".into() })
                .expect("fault");
            w.run_until(60 * S);
            w
        };
        let plain = run(None, false);
        let stuck = plain
            .history()
            .ops
            .iter()
            .filter(|o| o.invoke_us > 40 * S)
            .all(|o| o.outcome != Outcome::Ok);
        assert!(stuck, "without a timeout the clients wait on m1 for ever");

        let reask = run(Some(1000), false);
        let switch_us = first(&reask, "s1", "+switch-master").expect("a failover");
        let on_r2 = first_on(&reask, "r2");
        assert!(
            on_r2 > switch_us && on_r2 < switch_us + 2 * S,
            "{} vs {}",
            on_r2,
            switch_us
        );

        let pubsub = run(None, true);
        let switch_us = first(&pubsub, "s1", "+switch-master").expect("a failover");
        let on_r2 = first_on(&pubsub, "r2");
        assert!(
            on_r2 > switch_us && on_r2 < switch_us + 50_000,
            "{} vs {}",
            on_r2,
            switch_us
        );
    }

    /// Applications run on their machine: a power loss stops them (nothing invoked until the
    /// machine restarts, then they connect again), and a pause holds them (nothing invoked,
    /// and a reply that arrives meanwhile completes its operation only at the resume).
    #[test]
    fn applications_die_restart_and_pause_with_their_machine() {
        let mut w = world(3, 0, 2);
        w.add_workload(WorkloadSpec {
            name: "app".into(),
            target: "m1".into(),
            on: Some("client".into()),
            clients: 2,
            ops_per_second: 200.0,
            kind: WorkloadKind::Set,
            write_ratio: 1.0,
            start_us: 2 * S,
            ..WorkloadSpec::default()
        })
        .expect("workload");
        let fault = |w: &mut World, at: u64, f: Fault| w.schedule_fault(at, f).expect("fault");
        fault(
            &mut w,
            10 * S,
            Fault::Kill {
                node: "client".into(),
            },
        );
        fault(
            &mut w,
            15 * S,
            Fault::Restart {
                node: "client".into(),
            },
        );
        fault(
            &mut w,
            20 * S,
            Fault::PauseMachine {
                machine: "client".into(),
            },
        );
        fault(
            &mut w,
            22 * S,
            Fault::ResumeMachine {
                machine: "client".into(),
            },
        );
        w.run_until(25 * S);
        let ops = &w.history().ops;
        let invoked_in = |a: u64, b: u64| {
            ops.iter()
                .filter(|o| o.invoke_us > a && o.invoke_us < b)
                .count()
        };
        assert!(invoked_in(2 * S, 10 * S) > 1000);
        assert_eq!(
            invoked_in(10 * S, 15 * S),
            0,
            "a dead application invokes nothing"
        );
        assert_eq!(
            invoked_in(20 * S, 22 * S),
            0,
            "a paused application invokes nothing"
        );
        let after_restart = ops
            .iter()
            .filter(|o| o.invoke_us > 15 * S && o.invoke_us < 20 * S);
        assert!(after_restart.clone().count() > 500);
        assert!(after_restart.clone().all(|o| o.outcome == Outcome::Ok));
        // Nothing completes while the application is paused.
        assert!(ops
            .iter()
            .filter_map(|o| o.complete_us)
            .all(|t| t <= 20 * S || t >= 22 * S));
        assert_eq!(
            w.faults_fired().get("kill").copied(),
            Some(1),
            "a machine with only applications still loses power"
        );
        assert_eq!(w.faults_fired().get("pause").copied(), Some(1));
    }
}

/// SENTINEL SIMULATE-FAILURE crash-after-election: the Sentinel that wins
/// the election exits (status 99) right after +elected-leader, before it
/// promotes anyone; the others carry on without it.
#[test]
fn simulated_crash_after_election_stops_the_leader() {
    let mut w = world(3, 3, 2);
    w.run_until(10 * S);
    for s in ["s1", "s2", "s3"] {
        let argv = ["SENTINEL", "SIMULATE-FAILURE", "crash-after-election"]
            .iter()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        w.admin(10 * S, s, argv).expect("a sentinel");
    }
    w.schedule_fault(12 * S, Fault::Pause { node: "m1".into() })
        .expect("m1");
    let elected = w.run_until_pred(
        |w| {
            ["s1", "s2", "s3"]
                .iter()
                .any(|s| first(w, s, "+elected-leader").is_some())
        },
        60 * S,
    );
    assert!(elected, "someone is elected");
    w.run_until(w.now_us() + S);
    let leader = ["s1", "s2", "s3"]
        .into_iter()
        .find(|s| first(&w, s, "+elected-leader").is_some())
        .expect("leader");
    assert!(!w.node_is_up(leader), "{} crashed", leader);
    assert!(w
        .node_log(leader)
        .iter()
        .any(|l| l.contains("Failure simulation: this Sentinel will crash after being successfully elected as failover leader")));
    assert!(w
        .node_log(leader)
        .iter()
        .any(|l| l.contains("Sentinel CRASH because of SENTINEL simulate-failure")));
    assert!(
        first(&w, leader, "+failover-state-select-slave").is_none(),
        "it stopped before selecting a replica"
    );
    for s in ["s1", "s2", "s3"].into_iter().filter(|s| *s != leader) {
        assert!(w.node_is_up(s), "{} is still up", s);
    }
}
