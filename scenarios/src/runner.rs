//! Runs a scenario at one seed in the simulated world and builds its report.

use std::collections::BTreeMap;

use redsim_reports::model::{self as report, Report};
use redsim_sim::checkers::{linearizable, AckedWritesResult, Convergence, ConvergenceTracker};
use redsim_sim::client::{
    Distribution as SimDistribution, SentinelDiscovery, WorkloadKind as SimKind, WorkloadSpec,
};
use redsim_sim::faults::Fault;
use redsim_sim::history::{HistorySummary, LatencyMs, Outcome};
use redsim_sim::machine::MachineSpec;
use redsim_sim::world::{NodeSpec, World, WorldSpec};

use crate::spec::{Action, Distribution, MachineParams, Scenario, Step, WorkloadKind};
use redsim_sim::trace::NotableEvent;

/// The outcome of one run: the report and the compact trace for snapshots.
pub struct RunOutput {
    pub report: Report,
    /// Command steps whose reply broke the step's rule (an error reply
    /// without `expect_error`, or not the expected error): (step index,
    /// message). Such a run does not pass.
    pub step_errors: Vec<(usize, String)>,
    /// One line per notable event ("<t_ms> <node> <event> <detail>").
    pub trace_snapshot: String,
    /// Every operation the clients invoked (for `redsim run --history FILE`).
    pub history: redsim_sim::History,
    /// When the run ended (virtual µs): operations still outstanding then end there.
    pub end_us: u64,
    /// The clients' write operations by outcome (for `redsim grid`'s write availability).
    pub writes: WriteCounts,
}

/// Write operations (SET, INCR, RPUSH) by outcome. `attempted` counts every write a client
/// invoked, including ones refused without being sent (NOCONN) and ones still waiting for a
/// reply when the run ended (unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    pub attempted: u64,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
}

impl WriteCounts {
    fn of(history: &redsim_sim::history::History) -> WriteCounts {
        let mut counts = WriteCounts::default();
        for op in history.ops.iter().filter(|op| op.kind.is_write()) {
            counts.attempted += 1;
            match op.outcome {
                Outcome::Ok => counts.ok += 1,
                Outcome::Fail(_) => counts.fail += 1,
                Outcome::Unknown => counts.unknown += 1,
            }
        }
        counts
    }
}

fn machine_spec(p: &MachineParams) -> MachineSpec {
    MachineSpec {
        cores: p.cores,
        memory_bytes: p.memory_bytes,
        swap_bytes: p.swap_bytes,
        thp: p.thp,
        disk_bandwidth_bytes_per_s: p.disk_bandwidth_bytes_per_s,
        fsync_latency_ms: p.fsync_latency_ms as f64,
        fork_ms_per_gb: p.fork_ms_per_gb as f64,
        swap_in_latency_us: p.swap_in_latency_us,
    }
}

fn world_spec(scenario: &Scenario, seed: u64) -> WorldSpec {
    let nodes = scenario
        .nodes
        .iter()
        .map(|n| {
            let mut config_lines = vec![format!("port {}", n.port())];
            config_lines.extend(n.config.iter().cloned());
            let params = scenario.machine_for(&n.name).expect("the node exists");
            NodeSpec {
                name: n.name.clone(),
                machine: machine_spec(&params),
                config_lines,
                machine_name: n.machine.clone(),
                sentinel: n.kind == crate::spec::NodeKind::Sentinel,
            }
        })
        .collect();
    let mut client_machines: Vec<String> = scenario
        .workloads
        .iter()
        .filter_map(|w| w.on.clone())
        .collect();
    client_machines.sort();
    client_machines.dedup();
    WorldSpec {
        seed,
        nodes,
        client_machines,
        links: Vec::new(),
        boot_spread_us: redsim_sim::world::BOOT_SPREAD_US,
    }
}

fn workload_spec(scenario: &Scenario, w: &crate::spec::Workload) -> Result<WorkloadSpec, String> {
    let discovery = match w.target.strip_prefix("sentinel:") {
        Some(name) => {
            let mut d = sentinel_discovery(scenario, name, w.sentinels.as_deref())?;
            d.reask_ms = w.reask_ms;
            d.follow_pubsub = w.follow.as_deref() == Some("pubsub");
            Some(d)
        }
        None => None,
    };
    // A Sentinel-aware workload's initial target is the monitored master (the world only
    // uses it before discovery; the clients go where the sentinels say).
    let target = match &discovery {
        Some(d) => d.group[0].clone(),
        None => w.target.clone(),
    };
    Ok(WorkloadSpec {
        name: w.name.clone(),
        target,
        on: w.on.clone(),
        clients: w.clients,
        ops_per_second: w.ops_per_second as f64,
        ops: w.ops,
        write_ratio: w.write_ratio,
        keys: w.keys,
        key_prefix: w.key_prefix.clone(),
        value_bytes: w.value_bytes as usize,
        start_us: w.start_ms * 1000,
        stop_us: w.stop_ms.map(|ms| ms * 1000),
        pipeline: w.pipeline,
        distribution: match w.distribution {
            Distribution::Uniform => SimDistribution::Uniform,
            Distribution::Zipf => SimDistribution::Zipf { s: 0.99 },
        },
        kind: match w.kind {
            WorkloadKind::Set => SimKind::Set,
            WorkloadKind::Get => SimKind::Get,
            WorkloadKind::Mixed => SimKind::Mixed,
            WorkloadKind::Incr => SimKind::Incr,
            WorkloadKind::AppendList => SimKind::AppendList,
        },
        timeout_ms: w.timeout_ms,
        discovery,
    })
}

/// Resolves a `sentinel:<name>` target: the sentinels to ask, and the group the
/// acknowledged-writes checker picks the final master from (the monitored master first, then
/// every node configured as its replica).
fn sentinel_discovery(
    scenario: &Scenario,
    name: &str,
    asked: Option<&[String]>,
) -> Result<SentinelDiscovery, String> {
    let mut sentinels = Vec::new();
    let mut master = None;
    for n in &scenario.nodes {
        for line in &n.config {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [s, m, monitored, host, ..] = words.as_slice() {
                let monitor =
                    s.eq_ignore_ascii_case("sentinel") && m.eq_ignore_ascii_case("monitor");
                if monitor && *monitored == name {
                    sentinels.push(n.name.clone());
                    master.get_or_insert_with(|| host.to_string());
                }
            }
        }
    }
    let master = master.ok_or_else(|| format!("no sentinel node monitors '{}'", name))?;
    if !scenario.nodes.iter().any(|n| n.name == master) {
        return Err(format!(
            "sentinel:{}: the monitored master '{}' must name a node",
            name, master
        ));
    }
    let mut group = vec![master.clone()];
    for n in &scenario.nodes {
        let replica = n.config.iter().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            matches!(words.as_slice(), [r, host, ..]
                if (r.eq_ignore_ascii_case("replicaof") || r.eq_ignore_ascii_case("slaveof"))
                    && *host == master)
        });
        if replica {
            group.push(n.name.clone());
        }
    }
    Ok(SentinelDiscovery {
        master_name: name.to_string(),
        sentinels: asked.map_or(sentinels, <[String]>::to_vec),
        group,
        reask_ms: None,
        follow_pubsub: false,
    })
}

/// Splits an admin command line the way redis-cli does.
fn command_argv(line: &str) -> Result<Vec<Vec<u8>>, String> {
    redsim_engine::resp::split_args(line.as_bytes())
        .ok_or_else(|| format!("unbalanced quotes in command '{}'", line))
}

fn schedule(world: &mut World, at_ms: u64, action: Action) -> Result<(), String> {
    let at_us = at_ms * 1000;
    let fault = match action {
        Action::Command { node, command } => {
            return world.schedule_admin(at_us, &node, command_argv(&command)?)
        }
        Action::Partition { groups } => Fault::Partition { groups },
        Action::PartitionLink { from, to, one_way } => {
            if !one_way {
                world.schedule_fault(
                    at_us,
                    Fault::PartitionOneWay {
                        from: to.clone(),
                        to: from.clone(),
                    },
                )?;
            }
            Fault::PartitionOneWay { from, to }
        }
        Action::Heal => Fault::Heal,
        Action::Kill { node, torn: false } => Fault::Kill { node },
        Action::Kill { node, torn: true } => Fault::KillTorn { node },
        Action::Crash { node } => Fault::Crash { node },
        Action::Restart { node } => Fault::Restart { node },
        Action::Pause { node } => Fault::Pause { node },
        Action::Resume { node } => Fault::Resume { node },
        Action::PauseMachine { machine } => Fault::PauseMachine { machine },
        Action::ResumeMachine { machine } => Fault::ResumeMachine { machine },
        Action::Link {
            from,
            to,
            latency_ms,
            bandwidth_bytes_per_s,
        } => Fault::Link {
            from,
            to,
            latency_ms: latency_ms.map(|l| l as f64),
            bandwidth_bytes_per_s,
        },
        Action::Disk {
            node,
            fsync_latency_ms,
        } => Fault::Disk {
            node,
            fsync_latency_ms: fsync_latency_ms as f64,
        },
        Action::MemoryPressure { node, bytes } => Fault::MemoryPressure { node, bytes },
        Action::ClockJump { node, jump_ms } => Fault::ClockJump { node, jump_ms },
    };
    world.schedule_fault(at_us, fault)
}

/// Builds the world for `scenario` at `seed`, ready to run.
pub fn build_world(scenario: &Scenario, seed: u64) -> Result<World, String> {
    let mut world = World::new(world_spec(scenario, seed))?;
    for n in scenario.nodes.iter().filter(|n| !n.preload.is_empty()) {
        world.install_file(
            &n.name,
            &crate::preload::rdb_file_name(n),
            crate::preload::rdb_image(n),
        )?;
    }
    for w in &scenario.workloads {
        world.add_workload(workload_spec(scenario, w)?)?;
    }
    for (at_ms, action) in scenario.actions() {
        schedule(&mut world, at_ms, action)?;
    }
    Ok(world)
}

/// Runs `scenario` at `seed`. `label` is how the user named it (registry
/// name or file path), used in the report and its replay line.
pub fn run(scenario: &Scenario, label: &str, seed: u64) -> Result<RunOutput, String> {
    let resolved = scenario.resolved();
    let started = std::time::Instant::now();
    let mut world = build_world(&resolved, seed)?;
    world.reserve_history(resolved.duration_ms * 1000);
    let (node_series, convergence) =
        run_sampling(&resolved, &mut world, resolved.duration_ms * 1000);
    let wall_ms = started.elapsed().as_millis() as u64;
    let mut rep = build_report(&resolved, &mut world, label, seed, wall_ms);
    if let Some(series) = rep.series.as_mut() {
        series.nodes = node_series;
    }
    for (node, us) in convergence.replicas {
        if us.is_none() {
            rep.history.not_converged.push(node.clone());
        }
        rep.history
            .convergence_ms
            .insert(node, us.map(|us| us / 1000));
    }
    let results = crate::expect::evaluate_all(&resolved.expectations(), &rep);
    let step_errors = admin_reply_problems(&resolved, world.notable_events());
    rep.passed = results.iter().all(|r| r.passed) && step_errors.is_empty();
    rep.expectations = results;
    Ok(RunOutput {
        report: rep,
        step_errors,
        trace_snapshot: world.trace_snapshot(),
        writes: WriteCounts::of(world.history()),
        end_us: world.now_us(),
        history: world.take_history(),
    })
}

/// Pairs each command step with its reply: per node, the k-th admin
/// command that reached a running node got the k-th reply (one loop, in
/// order). An error reply needs `expect_error` (a prefix of the error
/// text); `expect_error` needs an error reply.
fn admin_reply_problems(scenario: &Scenario, events: &[NotableEvent]) -> Vec<(usize, String)> {
    let mut steps: Vec<(u64, usize, &Step)> = (scenario.steps.iter().enumerate())
        .filter(|(_, s)| s.command.is_some())
        .map(|(i, s)| (s.at_ms, i, s))
        .collect();
    steps.sort_by_key(|&(at_ms, i, _)| (at_ms, i));
    let mut problems = Vec::new();
    let mut nodes: Vec<&str> = steps
        .iter()
        .filter_map(|(_, _, s)| s.node.as_deref())
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    for node in nodes {
        let admits = events
            .iter()
            .filter(|e| e.node == node && e.event == "admin");
        let mut replies = events
            .iter()
            .filter(|e| e.node == node && e.event == "admin-reply");
        let node_steps = steps
            .iter()
            .filter(|(_, _, s)| s.node.as_deref() == Some(node));
        for ((_, index, step), admit) in node_steps.zip(admits) {
            if admit.detail.ends_with("(node down)") {
                continue;
            }
            let Some(reply) = replies.next() else { break };
            let text = reply.detail.split_once(" -> ").map_or("", |(_, r)| r);
            let error = text.strip_prefix("(error) ");
            let command = step.command.as_deref().unwrap_or_default();
            let problem = match (error, step.expect_error.as_deref()) {
                (Some(e), None) => Some(format!("'{}' got an error reply: {} (a step that expects it says expect_error = \"{}\")", command, e, e.split(' ').next().unwrap_or(e))),
                (Some(e), Some(want)) if !e.starts_with(want) => Some(format!("'{}' got the error '{}', not the expected '{}'", command, e, want)),
                (None, Some(want)) => Some(format!("'{}' replied {} but the step expects the error '{}'", command, text, want)),
                _ => None,
            };
            if let Some(p) = problem {
                problems.push((*index, p));
            }
        }
    }
    problems.sort();
    problems
}

/// How often replicas are compared with their masters after the last fault: the resolution of
/// `history.convergence_ms`.
const CONVERGENCE_CHECK_US: u64 = 10_000;

/// Runs the world to `end_us` one virtual second at a time, sampling every Redis node at the
/// end of each second; from the last fault on, every [`CONVERGENCE_CHECK_US`] it also compares
/// each replica's dataset with its master's (history.convergence_ms).
///
/// Rationale: run_until processes every event up to and including its limit, so a run in
/// steps processes exactly the events of one long run; and the sampling only reads the
/// servers (no INFO call, no &mut), so the trace and its hash do not change.
fn run_sampling(
    scenario: &Scenario,
    world: &mut World,
    end_us: u64,
) -> (BTreeMap<String, report::NodeSeries>, Convergence) {
    let redis: Vec<&crate::spec::Node> = scenario
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, crate::spec::NodeKind::Redis))
        .collect();
    let mut series: BTreeMap<String, report::NodeSeries> = redis
        .iter()
        .map(|n| (n.name.clone(), Default::default()))
        .collect();
    let last_fault_us = scenario
        .steps
        .iter()
        .filter(|s| s.fault.is_some())
        .map(|s| s.at_ms * 1000)
        .max();
    let mut tracker = ConvergenceTracker::new(redis.iter().map(|n| n.name.clone()).collect());
    let mut t_us = 0;
    while t_us < end_us {
        let second_us = (t_us + 1_000_000).min(end_us);
        match last_fault_us {
            Some(last) if last < second_us => {
                // The last fault itself is applied before the first comparison.
                let mut check_us = t_us.max(last);
                while check_us < second_us {
                    world.run_until(check_us);
                    tracker.check(world);
                    check_us += CONVERGENCE_CHECK_US;
                }
                world.run_until(second_us);
                tracker.check(world);
            }
            _ => world.run_until(second_us),
        }
        t_us = second_us;
        for n in &redis {
            let sample = sample_node(scenario, world, &n.name);
            let s = series.get_mut(&n.name).expect("one series per Redis node");
            s.role.push(sample.map(|x| x.role.to_string()));
            s.master_repl_offset.push(sample.map(|x| x.offset));
            s.repl_lag_bytes.push(sample.and_then(|x| x.lag));
            s.used_memory.push(sample.map(|x| x.memory.used_memory));
            s.rss_bytes.push(sample.map(|x| x.memory.rss_bytes));
            s.cow_bytes
                .push(sample.map(|x| x.memory.child_private_bytes));
            s.swap_bytes.push(sample.map(|x| x.memory.swapped_bytes));
        }
    }
    let convergence = match last_fault_us {
        Some(last) => tracker.finish(world, last),
        None => Convergence::default(),
    };
    (series, convergence)
}

#[derive(Clone, Copy)]
struct NodeSample {
    role: &'static str,
    offset: i64,
    lag: Option<i64>,
    memory: redsim_engine::MemoryStats,
}

/// One node's state read from its live server; None while it is down.
fn sample_node(scenario: &Scenario, world: &World, name: &str) -> Option<NodeSample> {
    let srv = world.engine(name)?.server();
    // As the machine measured it after the node's last step: no keyspace walk.
    let memory = world.node_memory(name)?.process;
    let offset = srv.repl.master_repl_offset;
    let Some(link) = srv.repl.master.as_ref() else {
        return Some(NodeSample {
            role: "master",
            offset,
            lag: None,
            memory,
        });
    };
    // Off-line, the replica holds what it applied so far, which its own offset counts.
    let applied = if link.state == redsim_engine::replication::replica::ReplState::Connected {
        link.reploff
    } else {
        offset
    };
    let lag = master_node(scenario, &link.host, link.port)
        .and_then(|m| world.engine(m))
        .map(|m| m.server().repl.master_repl_offset - applied);
    Some(NodeSample {
        role: "slave",
        offset,
        lag,
        memory,
    })
}

/// The scenario node a replica's `replicaof host port` names: by node name, or else by a port
/// no other node uses.
fn master_node<'a>(scenario: &'a Scenario, host: &str, port: u16) -> Option<&'a str> {
    if let Some(n) = scenario.nodes.iter().find(|n| n.name == host) {
        return Some(&n.name);
    }
    let mut same_port = scenario.nodes.iter().filter(|n| n.port() == port);
    match (same_port.next(), same_port.next()) {
        (Some(n), None) => Some(&n.name),
        _ => None,
    }
}

fn build_report(
    scenario: &Scenario,
    world: &mut World,
    label: &str,
    seed: u64,
    wall_ms: u64,
) -> Report {
    let mut nodes = BTreeMap::new();
    for n in &scenario.nodes {
        let fields = world.info(&n.name);
        let mut info = serde_json::Map::new();
        for (k, v) in fields {
            info.insert(k, report::info_value(&v));
        }
        // redis-sentinel's INFO has no role field: a sentinel that answers is "sentinel".
        let role = match info.get("role") {
            Some(role) => report::value_text(role),
            None if !info.is_empty() && n.kind == crate::spec::NodeKind::Sentinel => {
                "sentinel".to_string()
            }
            None => "down".to_string(),
        };
        let stats = world.machine_stats(&n.name);
        let machine = report::MachineReport {
            memory_bytes: stats.memory_bytes,
            rss_bytes_max: stats.rss_bytes_max,
            swap_bytes_max: stats.swap_bytes_max,
            oom_kills: stats.oom_kills,
        };
        let kind = match n.kind {
            crate::spec::NodeKind::Redis => "redis",
            crate::spec::NodeKind::Sentinel => "sentinel",
        };
        nodes.insert(
            n.name.clone(),
            report::NodeReport {
                kind: kind.to_string(),
                role,
                info,
                machine,
            },
        );
    }
    let summary = world.history_summary();
    let checked = world.check_acked_writes();
    let events = world
        .notable_events()
        .iter()
        .filter(|e| e.event != "log")
        .map(|e| report::Event {
            t_ms: e.t_us / 1000,
            node: e.node.clone(),
            event: e.event.clone(),
            detail: e.detail.clone(),
        })
        .collect();
    Report {
        redsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: label.to_string(),
        title: scenario.title.clone(),
        seed,
        trace_hash: world.trace_hash(),
        passed: true,
        expectations: Vec::new(),
        virtual_ms: world.now_us() / 1000,
        wall_ms,
        nodes,
        events,
        history: with_linearizability(
            scenario,
            world,
            history_report(scenario, world, &summary, &checked),
        ),
        series: Some(series_report(scenario, world, &summary, &checked)),
        faults_fired: world.faults_fired(),
        scenario_resolved: scenario.to_json_value(),
        replay: format!("redsim run {} --seed {}", label, seed),
    }
}

/// The per-second series for the HTML charts, every array padded to the run's length so a
/// quiet tail reads as zero throughput rather than as missing data; and each workload's
/// series in buckets of [`report::bucket_ms_for`] the run.
fn series_report(
    scenario: &Scenario,
    world: &World,
    s: &HistorySummary,
    checked: &AckedWritesResult,
) -> report::Series {
    let now_us = world.now_us();
    let bucket_ms = report::bucket_ms_for(now_us / 1000);
    let seconds = (now_us.div_ceil(1_000_000) as usize)
        .max(s.throughput_per_s.len())
        .max(s.fails_per_s.len());
    let padded = |v: &[u64]| {
        (0..seconds)
            .map(|i| v.get(i).copied().unwrap_or(0))
            .collect::<Vec<u64>>()
    };
    let ok_per_s = padded(&s.throughput_per_s);
    // A second without an Ok completion has no latency; the summary holds 0 there.
    let latency = |pick: fn(&LatencyMs) -> f64| -> Vec<Option<f64>> {
        (0..seconds)
            .map(|i| {
                if ok_per_s[i] > 0 {
                    s.latency_per_s.get(i).map(pick)
                } else {
                    None
                }
            })
            .collect()
    };
    report::Series {
        latency_p50_ms: latency(|l| l.p50),
        latency_p99_ms: latency(|l| l.p99),
        fail_per_s: padded(&s.fails_per_s),
        ok_per_s,
        nodes: BTreeMap::new(),
        bucket_ms: Some(bucket_ms),
        workloads: workload_series(scenario, world, checked, bucket_ms),
    }
}

/// Each workload's operations bucket by bucket, every array as long as the run (and as any
/// completion after its end).
fn workload_series(
    scenario: &Scenario,
    world: &World,
    checked: &AckedWritesResult,
    bucket_ms: u64,
) -> BTreeMap<String, report::WorkloadSeries> {
    let bucket_us = bucket_ms * 1000;
    let ops = &world.history().ops;
    let last_us = ops
        .iter()
        .filter_map(|op| op.complete_us)
        .max()
        .unwrap_or(0);
    let buckets = (world
        .now_us()
        .div_ceil(bucket_us)
        .max(last_us / bucket_us + 1)) as usize;
    let workloads = scenario.workloads.len();
    let (mut ok, mut fail, mut lost) = (
        vec![vec![0u64; buckets]; workloads],
        vec![vec![0u64; buckets]; workloads],
        vec![vec![0u64; buckets]; workloads],
    );
    let mut latencies_us: Vec<Vec<Vec<u64>>> = vec![vec![Vec::new(); buckets]; workloads];
    for op in ops {
        let (w, Some(done_us)) = (op.workload as usize, op.complete_us) else {
            continue;
        };
        let bucket = (done_us / bucket_us) as usize;
        match op.outcome {
            Outcome::Ok => {
                ok[w][bucket] += 1;
                latencies_us[w][bucket].push((done_us - op.invoke_us).max(1));
            }
            Outcome::Fail(_) => fail[w][bucket] += 1,
            Outcome::Unknown => {}
        }
    }
    for l in &checked.lost {
        lost[ops[l.op].workload as usize][(l.acked_us / bucket_us) as usize] += 1;
    }
    let mut out = BTreeMap::new();
    for (w, spec) in scenario.workloads.iter().enumerate() {
        let (ok, fail, acked_writes_lost) = (
            std::mem::take(&mut ok[w]),
            std::mem::take(&mut fail[w]),
            std::mem::take(&mut lost[w]),
        );
        let mut series = report::WorkloadSeries {
            ok,
            fail,
            acked_writes_lost,
            ..Default::default()
        };
        for latencies in &mut latencies_us[w] {
            latencies.sort_unstable();
            let ms = |us: Option<&u64>| us.map(|us| *us as f64 / 1000.0);
            series
                .latency_p50_ms
                .push(ms(nearest_rank(latencies, 0.50)));
            series
                .latency_p99_ms
                .push(ms(nearest_rank(latencies, 0.99)));
            series.latency_max_ms.push(ms(latencies.last()));
        }
        out.insert(spec.name.clone(), series);
    }
    out
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `q` of
/// them at or below it; None for no values.
fn nearest_rank(sorted: &[u64], q: f64) -> Option<&u64> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1)
}

fn history_report(
    scenario: &Scenario,
    world: &World,
    s: &HistorySummary,
    checked: &AckedWritesResult,
) -> report::History {
    let workloads = workload_histories(scenario, world, checked);
    report::History {
        workloads,
        ok: s.ok,
        fail: s.fail,
        unknown: s.unknown,
        acked_writes: checked.acked_writes,
        acked_writes_lost: checked.lost_count(),
        acked_writes_evaluated: checked.evaluated,
        first_lost_acked_ms: checked.first_lost_acked_us().map(|us| us / 1000),
        last_lost_acked_ms: checked.last_lost_acked_us().map(|us| us / 1000),
        lost_writes: checked
            .lost
            .iter()
            .take(report::LOST_WRITES_LISTED)
            .map(lost_write_report)
            .collect(),
        acked_writes_not_evaluated: checked
            .not_evaluated
            .iter()
            .map(|n| report::NotEvaluated {
                node: n.node.clone(),
                reason: n.reason.clone(),
                acked_writes: n.acked_writes,
            })
            .collect(),
        errors: s.errors.clone(),
        first_fail_ms: s.first_fail_ms,
        last_fail_ms: s.last_fail_ms,
        latency_ms: report::Latency {
            p50: s.latency_ms.p50,
            p99: s.latency_ms.p99,
            p999: s.latency_ms.p999,
            max: s.latency_ms.max,
        },
        linearizable: None,
        linearizability: None,
        lost: checked
            .lost
            .iter()
            .map(|l| report::Lost {
                workload: scenario.workloads[world.history().ops[l.op].workload as usize]
                    .name
                    .clone(),
                client: l.client,
                key: l.key.clone(),
                acked_ms: l.acked_us / 1000,
                node: l.node.clone(),
            })
            .collect(),
        convergence_ms: BTreeMap::new(),
        not_converged: Vec::new(),
    }
}

/// Runs the linearizability checker when an expectation asks for `history.linearizable`; other
/// reports stay as they were (the search can be costly, and snapshots keep their shape).
fn with_linearizability(
    scenario: &Scenario,
    world: &World,
    mut history: report::History,
) -> report::History {
    let wanted = scenario
        .expectations()
        .iter()
        .any(|e| e.lhs == crate::expect::Lhs::History("linearizable".into()));
    if !wanted {
        return history;
    }
    let budget = linearizable::DEFAULT_BUDGET;
    let checked = linearizable::check_linearizable(world.history(), budget);
    let ms = |us: u64| us as f64 / 1000.0;
    let mut details = report::Linearizability {
        budget,
        keys_checked: checked.keys.len() as u64,
        ..Default::default()
    };
    for (key, verdict) in &checked.keys {
        match verdict {
            linearizable::KeyVerdict::Linearizable => {}
            linearizable::KeyVerdict::Unknown { .. } => details.keys_unknown.push(key.clone()),
            linearizable::KeyVerdict::NotLinearizable { witness } => {
                let witness = witness
                    .iter()
                    .map(|w| report::WitnessOp {
                        op: w.index as u64,
                        client: w.client,
                        kind: w.kind.to_string(),
                        invoked_ms: ms(w.invoke_us),
                        completed_ms: w.complete_us.map(ms),
                        value: w.value.clone(),
                    })
                    .collect();
                details.violations.push(report::LinearizabilityViolation {
                    key: key.clone(),
                    witness,
                });
            }
        }
    }
    history.linearizable = checked.linearizable();
    history.linearizability = Some(details);
    history
}

fn latency_report(l: &LatencyMs) -> report::Latency {
    report::Latency {
        p50: l.p50,
        p99: l.p99,
        p999: l.p999,
        max: l.max,
    }
}

/// Each workload's share of the history, by name. Operations carry their workload's index,
/// which is its position in the scenario (the world adds workloads in that order); a lost
/// write belongs to the workload of the operation the checker names.
fn workload_histories(
    scenario: &Scenario,
    world: &World,
    checked: &redsim_sim::checkers::AckedWritesResult,
) -> BTreeMap<String, report::WorkloadHistory> {
    let ops = &world.history().ops;
    let mut out = BTreeMap::new();
    for (index, w) in scenario.workloads.iter().enumerate() {
        let index = index as u32;
        let own = || ops.iter().filter(move |op| op.workload == index);
        let s = redsim_sim::history::summarize(own());
        let lost: Vec<&redsim_sim::checkers::LostWrite> = checked
            .lost
            .iter()
            .filter(|l| ops[l.op].workload == index)
            .collect();
        let history = report::WorkloadHistory {
            ok: s.ok,
            fail: s.fail,
            unknown: s.unknown,
            acked_writes: own().filter(|op| op.is_acked_write()).count() as u64,
            acked_writes_lost: lost.len() as u64,
            first_lost_acked_ms: lost.iter().map(|l| l.acked_us / 1000).min(),
            last_lost_acked_ms: lost.iter().map(|l| l.acked_us / 1000).max(),
            errors: s.errors,
            first_fail_ms: s.first_fail_ms,
            last_fail_ms: s.last_fail_ms,
            latency_ms: latency_report(&s.latency_ms),
        };
        out.insert(w.name.clone(), history);
    }
    out
}

fn lost_write_report(w: &redsim_sim::checkers::LostWrite) -> report::LostWrite {
    report::LostWrite {
        node: w.node.clone(),
        key: w.key.clone(),
        kind: w.kind.name().to_string(),
        client: w.client,
        op: w.op as u64,
        invoked_ms: w.invoke_us / 1000,
        acked_ms: w.acked_us / 1000,
        value_tag: w.value_tag.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes for 2 s, then (with `step`) something happens to m1 at 3 s.
    fn scenario(step: &str, expect: &str) -> Scenario {
        let text = format!(
            "title = \"acked writes\"\nseeds = [1]\nduration_ms = 4_000\n\
             [[node]]\nname = \"m1\"\nkind = \"redis\"\n\
             [[workload]]\nname = \"w\"\ntarget = \"m1\"\nclients = 2\nops_per_second = 300\nkind = \"set\"\n\
             write_ratio = 1.0\nkeys = 100\nvalue_bytes = 16\nstop_ms = 2_000\n{}\n{}\n",
            step, expect
        );
        Scenario::from_toml_str(&text, "acked.toml").expect("a valid scenario")
    }

    #[test]
    fn flushall_loses_every_acked_write_and_expectations_see_it() {
        let step = "[[step]]\nat_ms = 3_000\nnode = \"m1\"\ncommand = \"FLUSHALL\"";
        let expect = "[[expect]]\nthat = \"history.acked_writes_lost > 300\"\n[[expect]]\nthat = \"history.last_lost_acked_ms <= 2000\"";
        let out = run(&scenario(step, expect), "acked.toml", 1).expect("runs");
        let h = &out.report.history;
        assert!(out.report.passed, "{:?}", out.report.expectations);
        assert_eq!(
            (h.acked_writes_lost, h.acked_writes_evaluated),
            (h.acked_writes, h.acked_writes)
        );
        assert_eq!(h.lost_writes.len(), report::LOST_WRITES_LISTED);
        assert!(h
            .lost_writes
            .windows(2)
            .all(|p| p[0].acked_ms <= p[1].acked_ms));
        assert_eq!(h.first_lost_acked_ms, Some(h.lost_writes[0].acked_ms));
        assert!(h
            .lost_writes
            .iter()
            .all(|w| w.node == "m1" && w.kind == "set" && w.key.starts_with("key:")));
        let text = redsim_reports::summary(&out.report);
        assert!(
            text.contains(&format!(
                "lost writes: {} of {} acked writes evaluated, acknowledged from",
                h.acked_writes, h.acked_writes
            )),
            "{}",
            text
        );
    }

    fn register_scenario(step: &str) -> Scenario {
        let text = format!(
            "title = \"register\"\nseeds = [1]\nduration_ms = 3_000\n\
             [[node]]\nname = \"m1\"\nkind = \"redis\"\n\
             [[workload]]\nname = \"w\"\ntarget = \"m1\"\nclients = 4\nops_per_second = 400\nkind = \"mixed\"\n\
             write_ratio = 0.3\nkeys = 3\nvalue_bytes = 16\nstop_ms = 2_000\n{}\n\
             [[expect]]\nthat = \"history.linearizable == true\"\n",
            step
        );
        Scenario::from_toml_str(&text, "register.toml").expect("a valid scenario")
    }

    #[test]
    fn linearizability_is_checked_only_when_expected() {
        let out = run(&register_scenario(""), "register.toml", 1).expect("runs");
        let h = &out.report.history;
        assert!(out.report.passed, "{:?}", out.report.expectations);
        assert_eq!(h.linearizable, Some(true));
        let details = h.linearizability.as_ref().expect("computed");
        assert_eq!((details.keys_checked, details.violations.len()), (3, 0));
        // A FLUSHALL the clients do not see: a GET after it reads nil after a completed SET.
        let step = "[[step]]\nat_ms = 1_000\nnode = \"m1\"\ncommand = \"FLUSHALL\"\n\
                    [[step]]\nat_ms = 1_500\nnode = \"m1\"\ncommand = \"FLUSHALL\"";
        let out = run(&register_scenario(step), "register.toml", 1).expect("runs");
        let h = &out.report.history;
        assert!(!out.report.passed, "{:?}", h.linearizability);
        assert_eq!(h.linearizable, Some(false));
        let details = h.linearizability.as_ref().expect("computed");
        assert!(!details.violations.is_empty());
        let witness = &details.violations[0].witness;
        assert!(witness.iter().any(|w| w.kind == "get" && w.value.is_none()));
        assert!(witness.iter().any(|w| w.kind == "set"));
        // Without the expectation nothing is computed.
        let out = run(&scenario("", ""), "acked.toml", 1).expect("runs");
        assert_eq!(out.report.history.linearizable, None);
        assert!(out.report.history.linearizability.is_none());
    }

    #[test]
    fn no_fault_no_loss_and_a_dead_target_is_not_evaluated() {
        let out = run(
            &scenario("", "[[expect]]\nthat = \"history.acked_writes_lost == 0\""),
            "acked.toml",
            1,
        )
        .expect("runs");
        let h = &out.report.history;
        assert!(
            out.report.passed && h.acked_writes > 300 && h.acked_writes_evaluated == h.acked_writes
        );
        assert!(
            h.lost_writes.is_empty()
                && h.first_lost_acked_ms.is_none()
                && h.acked_writes_not_evaluated.is_empty()
        );
        let out = run(
            &scenario(
                "[[step]]\nat_ms = 3_000\nfault = \"kill\"\nnode = \"m1\"",
                "",
            ),
            "acked.toml",
            1,
        )
        .expect("runs");
        let h = &out.report.history;
        assert_eq!((h.acked_writes_evaluated, h.acked_writes_lost), (0, 0));
        let n = &h.acked_writes_not_evaluated;
        assert_eq!(n.len(), 1);
        assert_eq!(
            (n[0].node.as_str(), n[0].reason.as_str(), n[0].acked_writes),
            ("m1", "down at the end of the run", h.acked_writes)
        );
    }

    #[test]
    fn lost_writes_are_attributed_to_their_workload() {
        let out = run(&two_workloads(), "two.toml", 1).expect("runs");
        check_two_workloads(&out);
    }

    /// The per-workload series add up to the workload's totals, bucket by bucket in 100 ms
    /// buckets for this short run, and the lost writes sit where they were acknowledged.
    #[test]
    fn workload_series_add_up_to_the_workload_history() {
        let out = run(&two_workloads(), "two.toml", 1).expect("runs");
        let series = out.report.series.as_ref().expect("a series");
        assert_eq!(series.bucket_ms, Some(100));
        assert_eq!(series.workloads.keys().collect::<Vec<_>>(), ["a", "b"]);
        for (name, w) in &series.workloads {
            let h = &out.report.history.workloads[name];
            let lengths = [
                w.ok.len(),
                w.fail.len(),
                w.latency_p50_ms.len(),
                w.latency_p99_ms.len(),
                w.latency_max_ms.len(),
                w.acked_writes_lost.len(),
            ];
            assert_eq!(lengths, [40; 6], "4 s in 100 ms buckets");
            assert_eq!(
                (w.ok.iter().sum::<u64>(), w.fail.iter().sum::<u64>()),
                (h.ok, h.fail),
                "{}",
                name
            );
            assert_eq!(
                w.acked_writes_lost.iter().sum::<u64>(),
                h.acked_writes_lost,
                "{}",
                name
            );
            // Writes stop at 2 s: nothing completes in the last 2 s, so no latency there.
            assert!(
                w.ok[21..].iter().all(|n| *n == 0)
                    && w.latency_p99_ms[21..].iter().all(Option::is_none),
                "{}",
                name
            );
            let max = w
                .latency_max_ms
                .iter()
                .flatten()
                .copied()
                .fold(0.0, f64::max);
            assert!(
                (max - h.latency_ms.max).abs() <= h.latency_ms.max * 0.01,
                "{}: {} vs {}",
                name,
                max,
                h.latency_ms.max
            );
            for i in 0..40 {
                if let (Some(p50), Some(p99), Some(max)) = (
                    w.latency_p50_ms[i],
                    w.latency_p99_ms[i],
                    w.latency_max_ms[i],
                ) {
                    assert!(
                        0.0 < p50 && p50 <= p99 && p99 <= max,
                        "{} bucket {}",
                        name,
                        i
                    );
                }
            }
        }
        let lost = &series.workloads["a"].acked_writes_lost;
        let first = out.report.history.workloads["a"]
            .first_lost_acked_ms
            .expect("a lost writes");
        assert_eq!(
            lost.iter().position(|n| *n > 0),
            Some((first / 100) as usize)
        );
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 0.5), Some(&2));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 0.99), Some(&4));
        assert_eq!(nearest_rank(&[], 0.5), None);
    }

    fn two_workloads() -> Scenario {
        let text = "title = \"two workloads\"\nseeds = [1]\nduration_ms = 4_000\n\
             [[node]]\nname = \"m1\"\nkind = \"redis\"\n[[node]]\nname = \"m2\"\nkind = \"redis\"\n\
             [[workload]]\nname = \"a\"\ntarget = \"m1\"\nops_per_second = 200\nkind = \"set\"\nwrite_ratio = 1.0\nstop_ms = 2_000\n\
             [[workload]]\nname = \"b\"\ntarget = \"m2\"\nops_per_second = 100\nkind = \"set\"\nwrite_ratio = 1.0\nstop_ms = 2_000\n\
             [[step]]\nat_ms = 3_000\nnode = \"m1\"\ncommand = \"FLUSHALL\"\n\
             [[expect]]\nthat = \"history.workloads.a.acked_writes_lost > 150\"\n\
             [[expect]]\nthat = \"history.workloads.b.acked_writes_lost == 0\"\n";
        Scenario::from_toml_str(text, "two.toml").expect("a valid scenario")
    }

    fn check_two_workloads(out: &RunOutput) {
        assert!(out.report.passed, "{:?}", out.report.expectations);
        let h = &out.report.history;
        let (a, b) = (&h.workloads["a"], &h.workloads["b"]);
        assert_eq!(
            (a.ok + b.ok, a.fail + b.fail, a.unknown + b.unknown),
            (h.ok, h.fail, h.unknown)
        );
        assert_eq!(a.acked_writes + b.acked_writes, h.acked_writes);
        assert_eq!(
            (a.acked_writes_lost, a.acked_writes),
            (h.acked_writes_lost, a.acked_writes)
        );
        assert_eq!(
            (a.first_lost_acked_ms, a.last_lost_acked_ms),
            (h.first_lost_acked_ms, h.last_lost_acked_ms)
        );
        assert!(b.acked_writes > 80 && b.first_lost_acked_ms.is_none());
        assert!(a.latency_ms.p50 > 0.0 && a.latency_ms.max <= h.latency_ms.max);
        let text = redsim_reports::summary(&out.report);
        assert!(
            text.contains(&format!(
                "  workload a: ok {} fail {} unknown 0, acked writes {} lost {} (acknowledged from",
                a.ok, a.fail, a.acked_writes, a.acked_writes
            )),
            "{}",
            text
        );
        assert!(
            text.contains(&format!(
                "  workload b: ok {} fail {} unknown 0, acked writes {} lost 0",
                b.ok, b.fail, b.acked_writes
            )),
            "{}",
            text
        );
        let one = run(&super::tests::scenario("", ""), "acked.toml", 1).expect("runs");
        assert!(!redsim_reports::summary(&one.report).contains("workload w:"));
        assert_eq!(one.report.history.workloads.len(), 1);
    }
}
