//! Checks what serde cannot: units, names, fault keys, redis.conf lines, expectations.
//! Every check reports a key path and a message; none of them panics.

use super::known;
use super::{
    Action, KeyPath, Machine, Node, NodeKind, Preload, PreloadType, Problem, Scenario, Size, Step,
    Workload,
};
use crate::expect::{Expectation, Lhs, Op, Rhs};
use std::collections::BTreeSet;

/// The fault names a step's `fault` key accepts.
pub const FAULT_KINDS: &[&str] = &[
    "partition",
    "heal",
    "kill",
    "restart",
    "pause",
    "resume",
    "link",
    "disk",
    "memory-pressure",
    "clock-jump",
    "crash",
];

/// The machine workload clients run on when they name none (the world links it to every node).
const CLIENT_MACHINE: &str = "client";

/// Node names that would make an expectation's left-hand side ambiguous.
const RESERVED_NODE_NAMES: &[&str] = &["history", "faults_fired", "cluster", "count", "first_ms"];

struct Checker<'a> {
    scenario: &'a Scenario,
    problems: Vec<Problem>,
    node_names: BTreeSet<&'a str>,
    /// Machines, nodes (standing for their machines) and workloads' `on` machines: what
    /// partitions and links may name.
    machine_names: BTreeSet<&'a str>,
    /// The machines nodes run on.
    node_machines: BTreeSet<&'a str>,
}

impl<'a> Checker<'a> {
    fn report(&mut self, path: KeyPath, message: String) {
        self.problems.push(Problem { path, message });
    }
}

pub(crate) fn validate(scenario: &Scenario) -> Vec<Problem> {
    let node_names: BTreeSet<&str> = scenario.nodes.iter().map(|n| n.name.as_str()).collect();
    let node_machines: BTreeSet<&str> = scenario.nodes.iter().map(|n| n.machine_name()).collect();
    let mut machine_names = node_names.clone();
    machine_names.extend(&node_machines);
    machine_names.extend(scenario.workloads.iter().filter_map(|w| w.on.as_deref()));
    let mut checker = Checker {
        scenario,
        problems: Vec::new(),
        node_names,
        machine_names,
        node_machines,
    };
    check_top(&mut checker);
    check_machine(
        &mut checker,
        &scenario.machine,
        &KeyPath::default().key("machine"),
    );
    for (i, node) in scenario.nodes.iter().enumerate() {
        check_node(&mut checker, i, node);
        // A duplicate name is reported once, not again as a second process on its machine.
        if !scenario.nodes[..i].iter().any(|n| n.name == node.name) {
            check_node_machine(&mut checker, i, node);
        }
    }
    let mut workload_names = BTreeSet::new();
    for (i, workload) in scenario.workloads.iter().enumerate() {
        let path = KeyPath::default().key("workload").index(i);
        if !workload_names.insert(workload.name.as_str()) {
            checker.report(
                path.key("name"),
                format!("duplicate workload name '{}'", workload.name),
            );
        }
        check_workload(&mut checker, &path, workload);
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        check_step(&mut checker, &KeyPath::default().key("step").index(i), step);
    }
    for (i, expect) in scenario.expects.iter().enumerate() {
        check_expect(
            &mut checker,
            &KeyPath::default().key("expect").index(i).key("that"),
            &expect.that,
        );
    }
    checker.problems
}

fn check_top(c: &mut Checker) {
    let root = KeyPath::default();
    if c.scenario.title.trim().is_empty() {
        c.report(root.key("title"), "the title must not be empty".into());
    }
    if c.scenario.seeds.is_empty() {
        c.report(root.key("seeds"), "at least one seed is needed".into());
    }
    if c.scenario.duration_ms == 0 {
        c.report(root.key("duration_ms"), "must be greater than 0".into());
    }
    if c.scenario.nodes.is_empty() {
        c.report(
            root.key("node"),
            "a scenario needs at least one [[node]]".into(),
        );
    }
}

fn check_size(c: &mut Checker, path: KeyPath, size: &Size) {
    if let Err(message) = size.bytes() {
        c.report(path, message);
    }
}

fn check_swap(c: &mut Checker, path: KeyPath, size: &Size) {
    if size.swap_bytes().is_err() {
        c.report(path, format!("'{}' is neither \"off\" nor a size (bytes, or a number with k, kb, m, mb, g or gb)", size.0));
    }
}

fn check_cores(c: &mut Checker, path: KeyPath, cores: u32) {
    if cores == 0 {
        c.report(path, "a machine needs at least 1 core".into());
    }
}

fn check_machine(c: &mut Checker, machine: &Machine, path: &KeyPath) {
    check_size(c, path.key("memory"), &machine.memory);
    check_swap(c, path.key("swap"), &machine.swap);
    check_size(c, path.key("disk_bandwidth"), &machine.disk_bandwidth);
    check_cores(c, path.key("cores"), machine.cores);
}

/// Names appear in key paths, expectations and `count(node:event)`, so they stay simple.
fn check_name(c: &mut Checker, path: KeyPath, name: &str, what: &str) {
    let simple = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if name.is_empty() || !simple {
        c.report(
            path,
            format!(
                "{} name '{}' must be letters, digits, '_' or '-'",
                what, name
            ),
        );
    } else if RESERVED_NODE_NAMES.contains(&name) {
        c.report(
            path,
            format!("'{}' is reserved and cannot name a {}", name, what),
        );
    }
}

fn check_node(c: &mut Checker, i: usize, node: &Node) {
    let path = KeyPath::default().key("node").index(i);
    check_name(c, path.key("name"), &node.name, "node");
    if let Some(machine) = &node.machine {
        check_name(c, path.key("machine"), machine, "machine");
    }
    if c.scenario.nodes[..i].iter().any(|n| n.name == node.name) {
        c.report(
            path.key("name"),
            format!("duplicate node name '{}'", node.name),
        );
    }
    if let Some(size) = &node.memory {
        check_size(c, path.key("memory"), size);
    }
    if let Some(size) = &node.swap {
        check_swap(c, path.key("swap"), size);
    }
    if let Some(size) = &node.disk_bandwidth {
        check_size(c, path.key("disk_bandwidth"), size);
    }
    if let Some(cores) = node.cores {
        check_cores(c, path.key("cores"), cores);
    }
    if node.port == Some(0) {
        c.report(path.key("port"), "port 0 cannot be connected to".into());
    }
    check_config(c, &path.key("config"), node);
    for (j, preload) in node.preload.iter().enumerate() {
        check_preload(c, &path.key("preload").index(j), preload);
    }
    check_preload_loads(c, &path, node);
}

/// The machine a node names: not a node that runs elsewhere, not the clients' default machine,
/// no port or `dir` another process there has, and no machine key that another node of the
/// same machine sets differently.
fn check_node_machine(c: &mut Checker, i: usize, node: &Node) {
    let path = KeyPath::default().key("node").index(i);
    let machine = node.machine_name();
    let key = if node.machine.is_some() {
        "machine"
    } else {
        "name"
    };
    if machine == CLIENT_MACHINE {
        c.report(
            path.key(key),
            format!(
                "machine '{}' is the workload clients' default machine",
                CLIENT_MACHINE
            ),
        );
    }
    if let Some(other) = c
        .scenario
        .nodes
        .iter()
        .find(|n| n.name == machine && n.machine_name() != machine)
    {
        let message = format!(
            "'{}' is node '{}', which runs on machine '{}'",
            machine,
            other.name,
            other.machine_name()
        );
        c.report(path.key(key), message);
    }
    let earlier: Vec<&Node> = c.scenario.nodes[..i]
        .iter()
        .filter(|n| n.machine_name() == machine)
        .collect();
    if let Some(other) = earlier.iter().find(|n| n.port() == node.port()) {
        c.report(
            path.key("port"),
            format!(
                "node '{}' on machine '{}' already listens on port {}",
                other.name,
                machine,
                node.port()
            ),
        );
    }
    let redis = |n: &Node| n.kind == NodeKind::Redis;
    if let Some(other) = earlier
        .iter()
        .find(|n| redis(n) && redis(node) && config_dir(n) == config_dir(node))
    {
        let message = format!("node '{}' on machine '{}' already keeps its files in dir {}: give each node of a machine its own `dir`", other.name, machine, config_dir(node));
        c.report(path.key("config"), message);
    }
    for other in earlier {
        for ((key, mine), (_, theirs)) in machine_keys(node).into_iter().zip(machine_keys(other)) {
            if let (Some(mine), Some(theirs)) = (&mine, &theirs) {
                if mine != theirs {
                    let message = format!(
                        "machine '{}' gets {} = {} here but {} from node '{}'",
                        machine, key, mine, theirs, other.name
                    );
                    c.report(path.key(key), message);
                }
            }
        }
    }
}

/// The node's `dir` (the last `dir` line wins, as in redis.conf), or the default.
fn config_dir(node: &Node) -> String {
    let lines: Vec<&str> = node.config.iter().map(String::as_str).collect();
    let config = redsim_engine::Config::from_conf_lines(&lines).ok();
    config
        .and_then(|c| c.get("dir"))
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string()
}

/// A node's machine keys as written (None where it keeps the default), for comparison.
fn machine_keys(node: &Node) -> [(&'static str, Option<String>); 8] {
    let text = |size: &Option<Size>| size.as_ref().map(|s| format!("{:?}", s.0));
    [
        ("memory", text(&node.memory)),
        ("swap", text(&node.swap)),
        ("thp", node.thp.map(|t| format!("{:?}", t).to_lowercase())),
        ("cores", node.cores.map(|v| v.to_string())),
        ("disk_bandwidth", text(&node.disk_bandwidth)),
        (
            "fsync_latency_ms",
            node.fsync_latency_ms.map(|v| v.to_string()),
        ),
        ("fork_ms_per_gb", node.fork_ms_per_gb.map(|v| v.to_string())),
        (
            "swap_in_latency_us",
            node.swap_in_latency_us.map(|v| v.to_string()),
        ),
    ]
}

/// Collections are built member by member in real memory, so their size is bounded; string
/// values stay compact however large.
const PRELOAD_MAX_ELEMENTS: u64 = 20_000_000;
const PRELOAD_MAX_KEYS: u64 = 50_000_000;
/// proto-max-bulk-len's default: no string value can be larger.
const PRELOAD_MAX_VALUE_BYTES: u64 = 512 * 1024 * 1024;

fn check_preload(c: &mut Checker, path: &KeyPath, p: &Preload) {
    if p.kind == PreloadType::String {
        match (&p.key, p.keys) {
            (Some(_), Some(_)) => c.report(
                path.key("keys"),
                "give either `key` (one string) or `keys` (a count), not both".into(),
            ),
            (None, None) => c.report(
                path.clone(),
                "a string preload needs `keys` (a count) or `key` (one key)".into(),
            ),
            _ => {}
        }
        if p.elements.is_some() {
            c.report(
                path.key("elements"),
                "only set, hash, list and zset preloads have elements".into(),
            );
        }
        if let Some(n) = p.keys {
            if n == 0 || n > PRELOAD_MAX_KEYS {
                c.report(
                    path.key("keys"),
                    format!("{} is not between 1 and {}", n, PRELOAD_MAX_KEYS),
                );
            }
        }
        if let Some(n) = p.value_bytes {
            if n > PRELOAD_MAX_VALUE_BYTES {
                c.report(
                    path.key("value_bytes"),
                    format!(
                        "{} is more than proto-max-bulk-len ({})",
                        n, PRELOAD_MAX_VALUE_BYTES
                    ),
                );
            }
        }
    } else {
        if p.key.is_none() {
            c.report(
                path.clone(),
                "a set, hash, list or zset preload needs `key`".into(),
            );
        }
        for (key, given) in [
            ("keys", p.keys.is_some()),
            ("key_prefix", p.key_prefix.is_some()),
            ("value_bytes", p.value_bytes.is_some()),
        ] {
            if given {
                c.report(path.key(key), "only string preloads have this key".into());
            }
        }
        match p.elements {
            None => c.report(
                path.clone(),
                "a set, hash, list or zset preload needs `elements`".into(),
            ),
            Some(n) if n == 0 || n > PRELOAD_MAX_ELEMENTS => c.report(
                path.key("elements"),
                format!("{} is not between 1 and {}", n, PRELOAD_MAX_ELEMENTS),
            ),
            Some(_) => {}
        }
    }
    if p.key.as_deref() == Some("") {
        c.report(path.key("key"), "the key must not be empty".into());
    }
}

/// The preload becomes dump.rdb, which start-up reads only when appendonly is off (with
/// appendonly yes Redis loads the AOF and ignores the RDB file).
fn check_preload_loads(c: &mut Checker, path: &KeyPath, node: &Node) {
    if node.preload.is_empty() {
        return;
    }
    let lines: Vec<&str> = node.config.iter().map(String::as_str).collect();
    let Ok(config) = redsim_engine::Config::from_conf_lines(&lines) else {
        return;
    };
    if config.bool("appendonly") {
        c.report(path.key("preload"), "the preload is written as the RDB file, which a node with `appendonly yes` does not load at start-up".into());
    }
    if node.kind == NodeKind::Sentinel {
        c.report(
            path.key("preload"),
            "only redis nodes hold a dataset".into(),
        );
    }
}

/// Runs the lines through the engine's redis.conf parser. Sentinel nodes' `sentinel ...`
/// directives belong to Sentinel, so only their other lines go through it.
fn check_config(c: &mut Checker, path: &KeyPath, node: &Node) {
    let is_sentinel_line = |line: &str| {
        let first = line.split_whitespace().next().unwrap_or("");
        node.kind == NodeKind::Sentinel && first.eq_ignore_ascii_case("sentinel")
    };
    let checked: Vec<(usize, &str)> = node
        .config
        .iter()
        .enumerate()
        .filter(|(_, l)| !is_sentinel_line(l))
        .map(|(i, l)| (i, l.as_str()))
        .collect();
    let lines: Vec<&str> = checked.iter().map(|(_, l)| *l).collect();
    if let Err((line_number, error)) = redsim_engine::Config::from_conf_lines(&lines) {
        // from_conf_lines numbers lines from 1; clamp so a surprising number cannot panic.
        let position = line_number
            .saturating_sub(1)
            .min(checked.len().saturating_sub(1));
        let (index, line) = checked.get(position).copied().unwrap_or((0, ""));
        c.report(
            path.index(index),
            format!("'{}': {}", line.trim(), error.reason),
        );
    }
    for (index, line) in node.config.iter().enumerate() {
        check_config_host(c, &path.index(index), line);
    }
    check_sentinel_lines(c, path, node);
}

/// A Sentinel's `sentinel ...` lines go through the engine's sentinel.conf loader.
fn check_sentinel_lines(c: &mut Checker, path: &KeyPath, node: &Node) {
    let mut indexes = Vec::new();
    let mut lines = Vec::new();
    for (index, line) in node.config.iter().enumerate() {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        match words.split_first() {
            Some((first, rest))
                if node.kind == NodeKind::Sentinel && first.eq_ignore_ascii_case("sentinel") =>
            {
                indexes.push(index);
                lines.push(rest.to_vec());
            }
            Some((first, _))
                if node.kind == NodeKind::Redis && first.eq_ignore_ascii_case("sentinel") =>
            {
                c.report(
                    path.index(index),
                    format!(
                        "'{}': sentinel directive while not in sentinel mode",
                        line.trim()
                    ),
                );
            }
            _ => {}
        }
    }
    if let Err((position, error)) = redsim_engine::sentinel::config::check_lines(&lines) {
        c.report(
            path.index(indexes[position]),
            format!("'{}': {}", node.config[indexes[position]].trim(), error),
        );
    }
}

/// A host in replicaof or sentinel monitor must be a node or a machine: the simulation has no
/// other hosts.
fn check_config_host(c: &mut Checker, path: &KeyPath, line: &str) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let host = match words.as_slice() {
        [directive, host, port]
            if is_replicaof(directive)
                && !host.eq_ignore_ascii_case("no")
                && !port.eq_ignore_ascii_case("one") =>
        {
            *host
        }
        [sentinel, monitor, _, host, _, _]
            if sentinel.eq_ignore_ascii_case("sentinel")
                && monitor.eq_ignore_ascii_case("monitor") =>
        {
            *host
        }
        _ => return,
    };
    if !c.node_names.contains(host) && !c.node_machines.contains(host) {
        c.report(
            path.clone(),
            format!("'{}': unknown node '{}'", line.trim(), host),
        );
    }
}

fn is_replicaof(directive: &str) -> bool {
    directive.eq_ignore_ascii_case("replicaof") || directive.eq_ignore_ascii_case("slaveof")
}

fn check_workload(c: &mut Checker, path: &KeyPath, w: &Workload) {
    check_name(c, path.key("name"), &w.name, "workload");
    check_target(c, path.key("target"), &w.target);
    check_sentinels(c, path.key("sentinels"), w);
    if let Some(on) = &w.on {
        check_name(c, path.key("on"), on, "machine");
    }
    let at_least_one = [
        ("clients", w.clients as u64),
        ("pipeline", w.pipeline as u64),
        ("keys", w.keys),
        ("ops_per_second", w.ops_per_second),
    ];
    for (key, value) in at_least_one {
        if value == 0 {
            c.report(path.key(key), "must be at least 1".into());
        }
    }
    if w.timeout_ms == Some(0) {
        c.report(path.key("timeout_ms"), "must be at least 1".into());
    }
    let sentinel_aware = w.target.starts_with("sentinel:");
    if w.reask_ms.is_some() && !sentinel_aware {
        let message = "only a workload whose target is \"sentinel:<name>\" asks sentinels again";
        c.report(path.key("reask_ms"), message.into());
    } else if w.reask_ms == Some(0) {
        c.report(path.key("reask_ms"), "must be at least 1".into());
    }
    match w.follow.as_deref() {
        None => {}
        Some("pubsub") if sentinel_aware => {}
        Some("pubsub") => {
            let message = "only a workload whose target is \"sentinel:<name>\" follows Sentinel";
            c.report(path.key("follow"), message.into());
        }
        Some(other) => c.report(
            path.key("follow"),
            format!("unknown follow mode '{}' (expected \"pubsub\")", other),
        ),
    }
    if w.ops == Some(0) {
        c.report(path.key("ops"), "must be at least 1".into());
    }
    if !(w.write_ratio >= 0.0 && w.write_ratio <= 1.0) {
        c.report(
            path.key("write_ratio"),
            format!("{} is not between 0.0 and 1.0", w.write_ratio),
        );
    }
    let duration_ms = c.scenario.duration_ms;
    if w.start_ms > duration_ms {
        c.report(
            path.key("start_ms"),
            format!("{} is beyond duration_ms {}", w.start_ms, duration_ms),
        );
    }
    match w.stop_ms {
        Some(stop_ms) if stop_ms > duration_ms => {
            c.report(
                path.key("stop_ms"),
                format!("{} is beyond duration_ms {}", stop_ms, duration_ms),
            );
        }
        Some(stop_ms) if stop_ms <= w.start_ms => {
            c.report(
                path.key("stop_ms"),
                format!("{} is not after start_ms {}", stop_ms, w.start_ms),
            );
        }
        _ => {}
    }
}

/// `sentinels` belongs to a `sentinel:<name>` target and lists sentinel nodes.
fn check_sentinels(c: &mut Checker, path: KeyPath, w: &Workload) {
    let Some(names) = &w.sentinels else { return };
    if !w.target.starts_with("sentinel:") {
        let message = "only a workload whose target is \"sentinel:<name>\" asks sentinels";
        return c.report(path, message.into());
    }
    if names.is_empty() {
        return c.report(path, "needs at least one sentinel node".into());
    }
    for name in names {
        let is_sentinel = c
            .scenario
            .nodes
            .iter()
            .any(|n| &n.name == name && n.kind == NodeKind::Sentinel);
        if !is_sentinel {
            c.report(path.clone(), format!("'{}' is not a sentinel node", name));
        }
    }
}

fn check_target(c: &mut Checker, path: KeyPath, target: &str) {
    if target == "cluster" {
        let message = "target 'cluster': Redis Cluster is not modelled yet; target a node by name";
        return c.report(path, message.into());
    }
    if let Some(master) = target.strip_prefix("sentinel:") {
        if master.is_empty() {
            let message = "'sentinel:' needs a master name, e.g. \"sentinel:mymaster\"";
            return c.report(path, message.into());
        }
        let sentinels: Vec<&Node> = c
            .scenario
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Sentinel)
            .collect();
        if sentinels.is_empty() {
            return c.report(
                path,
                format!("target '{}' needs at least one sentinel node", target),
            );
        }
        if !sentinels
            .iter()
            .any(|n| monitored_masters(n).contains(&master))
        {
            let message = format!("target '{}': no sentinel node monitors a master named '{}' (its config needs \"sentinel monitor {} <host> <port> <quorum>\")", target, master, master);
            c.report(path, message);
        }
        return;
    }
    if !c.node_names.contains(target) {
        c.report(path, format!("unknown node '{}'", target));
    }
}

/// The master names a sentinel node's `sentinel monitor <name> ...` lines give.
fn monitored_masters(node: &Node) -> Vec<&str> {
    node.config
        .iter()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [s, m, name, ..]
                    if s.eq_ignore_ascii_case("sentinel") && m.eq_ignore_ascii_case("monitor") =>
                {
                    Some(*name)
                }
                _ => None,
            }
        })
        .collect()
}

fn check_step(c: &mut Checker, path: &KeyPath, step: &Step) {
    if step.at_ms > c.scenario.duration_ms {
        c.report(
            path.key("at_ms"),
            format!(
                "{} is beyond duration_ms {}",
                step.at_ms, c.scenario.duration_ms
            ),
        );
    }
    let action = match step_action(step) {
        Ok(action) => action,
        Err((relative, message)) => {
            let mut full = path.clone();
            full.0.extend(relative.0);
            c.report(full, message);
            return;
        }
    };
    check_action_names(c, path, step, &action);
}

fn check_action_names(c: &mut Checker, path: &KeyPath, step: &Step, action: &Action) {
    match action {
        Action::Partition { groups } => {
            // A node stands for its machine, so two names can mean one machine.
            let mut seen = BTreeSet::new();
            let mut group_of: Vec<(&str, usize)> = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                for (m, name) in group.iter().enumerate() {
                    let at = path.key("groups").index(g).index(m);
                    check_machine_name(c, at.clone(), name);
                    let machine = machine_of_name(c.scenario, name);
                    if !seen.insert(name.as_str()) {
                        c.report(at, format!("'{}' is in more than one group", name));
                    } else if group_of
                        .iter()
                        .any(|&(known, other)| known == machine && other != g)
                    {
                        c.report(
                            at,
                            format!(
                                "'{}' means machine '{}', which is already in another group",
                                name, machine
                            ),
                        );
                    }
                    group_of.push((machine, g));
                }
            }
        }
        Action::PartitionLink { from, to, .. } | Action::Link { from, to, .. } => {
            check_machine_name(c, path.key("from"), from);
            check_machine_name(c, path.key("to"), to);
            if from == to {
                c.report(path.key("to"), format!("from and to are both '{}'", to));
            }
        }
        Action::Heal => {}
        Action::Kill { node, .. }
        | Action::Restart { node }
        | Action::Disk { node, .. }
        | Action::MemoryPressure { node, .. }
        | Action::ClockJump { node, .. }
            if step.machine.is_some() =>
        {
            check_fault_machine(c, path, node);
        }
        Action::PauseMachine { machine } | Action::ResumeMachine { machine } => {
            check_fault_machine(c, path, machine);
        }
        Action::Kill { node, .. }
        | Action::Crash { node }
        | Action::Restart { node }
        | Action::Pause { node }
        | Action::Resume { node }
        | Action::Disk { node, .. }
        | Action::MemoryPressure { node, .. }
        | Action::ClockJump { node, .. }
        | Action::Command { node, .. } => {
            if !c.node_names.contains(node.as_str()) {
                c.report(path.key("node"), format!("unknown node '{}'", node));
            }
        }
    }
}

/// The `machine` a machine-wide fault names: a machine nodes run on, or a workload's `on`
/// machine (its applications are the machine's processes).
fn check_fault_machine(c: &mut Checker, path: &KeyPath, node: &str) {
    let app_machine = c
        .scenario
        .workloads
        .iter()
        .any(|w| w.on.as_deref() == Some(node));
    if !c.node_machines.contains(node) && !app_machine {
        let known: Vec<&str> = c.node_machines.iter().copied().collect();
        c.report(
            path.key("machine"),
            format!(
                "unknown machine '{}' (machines with nodes: {})",
                node,
                known.join(", ")
            ),
        );
    }
}

/// The machine a partition or link name means: a node's machine, or the name itself.
fn machine_of_name<'a>(scenario: &'a Scenario, name: &'a str) -> &'a str {
    scenario.node(name).map_or(name, |n| n.machine_name())
}

fn check_machine_name(c: &mut Checker, path: KeyPath, name: &str) {
    if !c.machine_names.contains(name) {
        c.report(path, format!("unknown machine '{}' (partitions and links name machines, nodes and workloads' `on` machines)", name));
    }
}

fn check_expect(c: &mut Checker, path: &KeyPath, that: &str) {
    match Expectation::parse(that) {
        Ok(expectation) => {
            if let Some(node) = expectation.node_name() {
                if !c.node_names.contains(node) {
                    c.report(path.clone(), format!("'{}': unknown node '{}'", that, node));
                }
            }
            check_expect_names(c, path, that, &expectation);
            if let Some(workload) = expectation.workload_name() {
                if !c.scenario.workloads.iter().any(|w| w.name == workload) {
                    let known: Vec<&str> = c
                        .scenario
                        .workloads
                        .iter()
                        .map(|w| w.name.as_str())
                        .collect();
                    let message = format!(
                        "'{}': unknown workload '{}' (workloads: {})",
                        that,
                        workload,
                        known.join(", ")
                    );
                    c.report(path.clone(), message);
                }
            }
        }
        Err(message) => c.report(path.clone(), format!("'{}': {}", that, message)),
    }
}

/// An INFO field no node of that kind has, and a string compared with a
/// number: both would only ever fail (or pass) silently at run time.
fn check_expect_names(c: &mut Checker, path: &KeyPath, that: &str, e: &Expectation) {
    let numeric_lhs = match &e.lhs {
        Lhs::NodeField { node, field } => {
            let kind = c
                .scenario
                .nodes
                .iter()
                .find(|n| n.name == *node)
                .map(|n| n.kind);
            if kind != Some(NodeKind::Redis) {
                return;
            }
            match known::redis_field_is_numeric(field) {
                Some(numeric) => numeric,
                None => {
                    let similar = known::similar_fields(field);
                    let hint = if similar.is_empty() {
                        String::new()
                    } else {
                        format!(" (similar: {})", similar.join(", "))
                    };
                    let message = format!(
                        "'{}': no redis node has an INFO field '{}'{}",
                        that, field, hint
                    );
                    return c.report(path.clone(), message);
                }
            }
        }
        // A boolean: compares with true or false, as text.
        Lhs::History(field) if field == "linearizable" || field == "converged" => false,
        _ => true,
    };
    let message = match (&e.rhs, numeric_lhs) {
        (Rhs::Text(t), true) if t.trim().parse::<f64>().is_err() => {
            format!("'{}': compares a number with the string \"{}\"", that, t)
        }
        (Rhs::Number(n), false) => {
            format!("'{}': compares a text field with the number {}", that, n)
        }
        (Rhs::Text(_), false) if !matches!(e.op, Op::Eq | Op::Ne) => {
            format!("'{}': text compares only with == or !=", that)
        }
        _ => return,
    };
    c.report(path.clone(), message);
}

/// The keys a step wrote, besides at_ms, in the model's field order.
fn present_keys(step: &Step) -> Vec<&'static str> {
    let flags = [
        ("fault", step.fault.is_some()),
        ("node", step.node.is_some()),
        ("machine", step.machine.is_some()),
        ("command", step.command.is_some()),
        ("groups", step.groups.is_some()),
        ("from", step.from.is_some()),
        ("to", step.to.is_some()),
        ("one_way", step.one_way.is_some()),
        ("latency_ms", step.latency_ms.is_some()),
        ("bandwidth", step.bandwidth.is_some()),
        ("fsync_latency_ms", step.fsync_latency_ms.is_some()),
        ("bytes", step.bytes.is_some()),
        ("jump_ms", step.jump_ms.is_some()),
        ("torn", step.torn.is_some()),
        ("expect_error", step.expect_error.is_some()),
    ];
    flags
        .iter()
        .filter(|(_, present)| *present)
        .map(|(key, _)| *key)
        .collect()
}

/// The keys each fault takes besides `fault` itself.
fn fault_keys(fault: &str, step: &Step) -> Option<&'static [&'static str]> {
    Some(match fault {
        "partition" if step.groups.is_some() => &["groups"],
        "partition" => &["from", "to", "one_way"],
        "heal" => &[],
        "kill" => &["node", "machine", "torn"],
        "restart" => &["node", "machine"],
        "crash" => &["node"],
        "pause" | "resume" => &["node", "machine"],
        "link" => &["from", "to", "latency_ms", "bandwidth"],
        "disk" => &["node", "machine", "fsync_latency_ms"],
        "memory-pressure" => &["node", "machine", "bytes"],
        "clock-jump" => &["node", "machine", "jump_ms"],
        _ => return None,
    })
}

type StepResult<T> = Result<T, (KeyPath, String)>;

fn at(key: &str) -> KeyPath {
    if key.is_empty() {
        KeyPath::default()
    } else {
        KeyPath::default().key(key)
    }
}

fn need<T: Clone>(value: &Option<T>, key: &str, what: &str) -> StepResult<T> {
    value
        .clone()
        .ok_or_else(|| (at(""), format!("{} needs key '{}'", what, key)))
}

/// The typed action of a step, or (relative key, message) for its first problem.
pub(crate) fn step_action(step: &Step) -> StepResult<Action> {
    let present = present_keys(step);
    match (&step.fault, &step.command) {
        (Some(_), Some(_)) => Err((
            at("command"),
            "a step has either `fault` or `command`, not both".into(),
        )),
        (None, None) => Err((
            at(""),
            "a step needs `fault = \"...\"`, or `node` and `command`".into(),
        )),
        (None, Some(command)) => {
            reject_extra_keys(
                &present,
                &["node", "command", "expect_error"],
                "a command step",
            )?;
            let node = need(&step.node, "node", "a command step")?;
            if redsim_engine::resp::split_args(command.as_bytes())
                .is_none_or(|args| args.is_empty())
            {
                return Err((
                    at("command"),
                    format!(
                        "'{}' is not a command (empty, or unbalanced quotes)",
                        command
                    ),
                ));
            }
            Ok(Action::Command {
                node,
                command: command.clone(),
            })
        }
        (Some(fault), None) => {
            let Some(keys) = fault_keys(fault, step) else {
                return Err((
                    at("fault"),
                    format!(
                        "unknown fault '{}' (expected one of: {})",
                        fault,
                        FAULT_KINDS.join(", ")
                    ),
                ));
            };
            let mut allowed = vec!["fault"];
            allowed.extend_from_slice(keys);
            reject_extra_keys(&present, &allowed, &format!("fault '{}'", fault))?;
            fault_action(fault, step)
        }
    }
}

fn reject_extra_keys(present: &[&str], allowed: &[&str], what: &str) -> StepResult<()> {
    match present.iter().find(|key| !allowed.contains(key)) {
        Some(key) => Err((at(key), format!("{} does not take key '{}'", what, key))),
        None => Ok(()),
    }
}

/// The machine a machine-wide fault hits: `node` (its machine) or `machine`, exactly one.
fn machine_target(step: &Step, what: &str) -> StepResult<String> {
    match (&step.node, &step.machine) {
        (Some(_), Some(_)) => Err((
            at("machine"),
            format!("{} takes `node` or `machine`, not both", what),
        )),
        (Some(name), None) | (None, Some(name)) => Ok(name.clone()),
        (None, None) => Err((at(""), format!("{} needs key 'node' or 'machine'", what))),
    }
}

fn fault_action(fault: &str, step: &Step) -> StepResult<Action> {
    let what = format!("fault '{}'", fault);
    let node = || need(&step.node, "node", &what);
    let machine = || machine_target(step, &what);
    let size = |size: &Size, key: &str| size.bytes().map_err(|message| (at(key), message));
    Ok(match fault {
        "partition" => return partition_action(step, &what),
        "heal" => Action::Heal,
        "kill" => Action::Kill {
            node: machine()?,
            torn: step.torn.unwrap_or(false),
        },
        "crash" => Action::Crash { node: node()? },
        "restart" => Action::Restart { node: machine()? },
        "pause" | "resume" if step.machine.is_some() => {
            let machine = machine_target(step, &what)?;
            match fault {
                "pause" => Action::PauseMachine { machine },
                _ => Action::ResumeMachine { machine },
            }
        }
        "pause" => Action::Pause { node: node()? },
        "resume" => Action::Resume { node: node()? },
        "link" => {
            if step.latency_ms.is_none() && step.bandwidth.is_none() {
                return Err((
                    at(""),
                    format!("{} needs key 'latency_ms' or 'bandwidth'", what),
                ));
            }
            let bandwidth_bytes_per_s = match &step.bandwidth {
                Some(bandwidth) => Some(size(bandwidth, "bandwidth")?),
                None => None,
            };
            let from = need(&step.from, "from", &what)?;
            let to = need(&step.to, "to", &what)?;
            Action::Link {
                from,
                to,
                latency_ms: step.latency_ms,
                bandwidth_bytes_per_s,
            }
        }
        "disk" => Action::Disk {
            node: machine()?,
            fsync_latency_ms: need(&step.fsync_latency_ms, "fsync_latency_ms", &what)?,
        },
        "memory-pressure" => {
            let node = machine()?;
            Action::MemoryPressure {
                node,
                bytes: size(&need(&step.bytes, "bytes", &what)?, "bytes")?,
            }
        }
        "clock-jump" => Action::ClockJump {
            node: machine()?,
            jump_ms: need(&step.jump_ms, "jump_ms", &what)?,
        },
        _ => return Err((at("fault"), format!("unknown fault '{}'", fault))),
    })
}

fn partition_action(step: &Step, what: &str) -> StepResult<Action> {
    if let Some(groups) = &step.groups {
        if groups.len() < 2 {
            return Err((at("groups"), "a partition needs at least two groups".into()));
        }
        if let Some(g) = groups.iter().position(|group| group.is_empty()) {
            return Err((
                at("groups").index(g),
                "a partition group must not be empty".into(),
            ));
        }
        return Ok(Action::Partition {
            groups: groups.clone(),
        });
    }
    if step.from.is_none() && step.to.is_none() {
        return Err((
            at(""),
            format!("{} needs key 'groups', or 'from' and 'to'", what),
        ));
    }
    let from = need(&step.from, "from", what)?;
    let to = need(&step.to, "to", what)?;
    Ok(Action::PartitionLink {
        from,
        to,
        one_way: step.one_way.unwrap_or(false),
    })
}
