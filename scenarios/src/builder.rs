//! The Rust builder: writes the same `Scenario` value a TOML file would, validated the same way.
//!
//! ```
//! use redsim_scenarios::builder::ScenarioBuilder;
//! use redsim_scenarios::spec::Step;
//! let scenario = ScenarioBuilder::new("backlog overflow")
//!     .seeds([1, 2])
//!     .duration_ms(30_000)
//!     .machine(|m| m.memory("4gb"))
//!     .node("m1", |n| n.config("repl-backlog-size 1mb"))
//!     .node("r1", |n| n.config("replicaof m1 6379"))
//!     .workload("w", |w| w.target("m1").ops_per_second(1000))
//!     .step_at(5_000, Step::partition(&[&["r1"], &["m1"]]))
//!     .step_at(15_000, Step::heal())
//!     .expect("m1.sync_full == 1")
//!     .build()
//!     .unwrap();
//! assert_eq!(scenario.nodes.len(), 2);
//! ```

use crate::spec::{
    Distribution, Expect, Machine, Node, NodeKind, Scenario, Size, SpecError, Step, Thp, Workload,
    WorkloadKind, BUILDER_FILE,
};

/// Builds a `Scenario`; `build` validates it exactly as `Scenario::from_toml_str` does.
#[derive(Debug, Clone)]
pub struct ScenarioBuilder {
    scenario: Scenario,
}

impl ScenarioBuilder {
    pub fn new(title: &str) -> ScenarioBuilder {
        ScenarioBuilder {
            scenario: Scenario {
                name: None,
                title: title.to_string(),
                description: None,
                seeds: Vec::new(),
                duration_ms: 0,
                machine: Machine::default(),
                nodes: Vec::new(),
                workloads: Vec::new(),
                steps: Vec::new(),
                expects: Vec::new(),
            },
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.scenario.name = Some(name.to_string());
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.scenario.description = Some(description.to_string());
        self
    }

    pub fn seeds(mut self, seeds: impl IntoIterator<Item = u64>) -> Self {
        self.scenario.seeds = seeds.into_iter().collect();
        self
    }

    pub fn duration_ms(mut self, duration_ms: u64) -> Self {
        self.scenario.duration_ms = duration_ms;
        self
    }

    /// Edits the machine defaults every node starts from.
    pub fn machine(mut self, edit: impl FnOnce(MachineBuilder) -> MachineBuilder) -> Self {
        self.scenario.machine = edit(MachineBuilder(self.scenario.machine)).0;
        self
    }

    /// Adds a redis node (use `n.sentinel()` for a Sentinel).
    pub fn node(mut self, name: &str, edit: impl FnOnce(NodeBuilder) -> NodeBuilder) -> Self {
        self.scenario
            .nodes
            .push(edit(NodeBuilder(Node::new(name, NodeKind::Redis))).0);
        self
    }

    /// Adds a workload; its target must be set with `w.target(...)`.
    pub fn workload(
        mut self,
        name: &str,
        edit: impl FnOnce(WorkloadBuilder) -> WorkloadBuilder,
    ) -> Self {
        self.scenario
            .workloads
            .push(edit(WorkloadBuilder(Workload::new(name, ""))).0);
        self
    }

    /// Adds a step (a fault or a command) at a virtual time.
    pub fn step_at(mut self, at_ms: u64, step: Step) -> Self {
        self.scenario.steps.push(Step { at_ms, ..step });
        self
    }

    /// Adds an admin command on a node at a virtual time.
    pub fn command_at(self, at_ms: u64, node: &str, command: &str) -> Self {
        self.step_at(at_ms, Step::command(node, command))
    }

    pub fn expect(mut self, that: &str) -> Self {
        self.scenario.expects.push(Expect {
            that: that.to_string(),
        });
        self
    }

    /// The scenario, or every problem with its key path (file "<builder>").
    pub fn build(self) -> Result<Scenario, SpecError> {
        self.scenario.validate(BUILDER_FILE)?;
        Ok(self.scenario)
    }
}

/// Edits machine defaults.
#[derive(Debug, Clone)]
pub struct MachineBuilder(pub Machine);

impl MachineBuilder {
    pub fn memory(mut self, size: &str) -> Self {
        self.0.memory = Size::new(size);
        self
    }
    /// "off" or a size.
    pub fn swap(mut self, size: &str) -> Self {
        self.0.swap = Size::new(size);
        self
    }
    pub fn thp(mut self, thp: Thp) -> Self {
        self.0.thp = thp;
        self
    }
    pub fn cores(mut self, cores: u32) -> Self {
        self.0.cores = cores;
        self
    }
    pub fn disk_bandwidth(mut self, size_per_s: &str) -> Self {
        self.0.disk_bandwidth = Size::new(size_per_s);
        self
    }
    pub fn fsync_latency_ms(mut self, ms: u64) -> Self {
        self.0.fsync_latency_ms = ms;
        self
    }
    pub fn fork_ms_per_gb(mut self, ms: u64) -> Self {
        self.0.fork_ms_per_gb = ms;
        self
    }
    pub fn swap_in_latency_us(mut self, us: u64) -> Self {
        self.0.swap_in_latency_us = us;
        self
    }
}

/// Edits one node: its kind, config lines, port and machine overrides.
#[derive(Debug, Clone)]
pub struct NodeBuilder(pub Node);

impl NodeBuilder {
    pub fn sentinel(mut self) -> Self {
        self.0.kind = NodeKind::Sentinel;
        self
    }
    pub fn kind(mut self, kind: NodeKind) -> Self {
        self.0.kind = kind;
        self
    }
    /// Appends one redis.conf line.
    pub fn config(mut self, line: &str) -> Self {
        self.0.config.push(line.to_string());
        self
    }
    /// Runs the node on a machine shared with other nodes (default: its own machine).
    pub fn machine(mut self, machine: &str) -> Self {
        self.0.machine = Some(machine.to_string());
        self
    }
    pub fn port(mut self, port: u16) -> Self {
        self.0.port = Some(port);
        self
    }
    pub fn memory(mut self, size: &str) -> Self {
        self.0.memory = Some(Size::new(size));
        self
    }
    pub fn swap(mut self, size: &str) -> Self {
        self.0.swap = Some(Size::new(size));
        self
    }
    pub fn thp(mut self, thp: Thp) -> Self {
        self.0.thp = Some(thp);
        self
    }
    pub fn cores(mut self, cores: u32) -> Self {
        self.0.cores = Some(cores);
        self
    }
    pub fn disk_bandwidth(mut self, size_per_s: &str) -> Self {
        self.0.disk_bandwidth = Some(Size::new(size_per_s));
        self
    }
    pub fn fsync_latency_ms(mut self, ms: u64) -> Self {
        self.0.fsync_latency_ms = Some(ms);
        self
    }
    pub fn fork_ms_per_gb(mut self, ms: u64) -> Self {
        self.0.fork_ms_per_gb = Some(ms);
        self
    }
    pub fn swap_in_latency_us(mut self, us: u64) -> Self {
        self.0.swap_in_latency_us = Some(us);
        self
    }
    /// Adds a part of the dataset the node starts with (see `spec::Preload`).
    pub fn preload(mut self, preload: crate::spec::Preload) -> Self {
        self.0.preload.push(preload);
        self
    }
}

/// Edits one workload.
#[derive(Debug, Clone)]
pub struct WorkloadBuilder(pub Workload);

impl WorkloadBuilder {
    pub fn target(mut self, target: &str) -> Self {
        self.0.target = target.to_string();
        self
    }
    pub fn on(mut self, machine: &str) -> Self {
        self.0.on = Some(machine.to_string());
        self
    }
    pub fn clients(mut self, clients: u32) -> Self {
        self.0.clients = clients;
        self
    }
    pub fn ops_per_second(mut self, ops_per_second: u64) -> Self {
        self.0.ops_per_second = ops_per_second;
        self
    }
    pub fn ops(mut self, ops: u64) -> Self {
        self.0.ops = Some(ops);
        self
    }
    pub fn write_ratio(mut self, write_ratio: f64) -> Self {
        self.0.write_ratio = write_ratio;
        self
    }
    pub fn keys(mut self, keys: u64) -> Self {
        self.0.keys = keys;
        self
    }
    pub fn key_prefix(mut self, key_prefix: &str) -> Self {
        self.0.key_prefix = key_prefix.to_string();
        self
    }
    pub fn value_bytes(mut self, value_bytes: u64) -> Self {
        self.0.value_bytes = value_bytes;
        self
    }
    pub fn start_ms(mut self, start_ms: u64) -> Self {
        self.0.start_ms = start_ms;
        self
    }
    pub fn stop_ms(mut self, stop_ms: u64) -> Self {
        self.0.stop_ms = Some(stop_ms);
        self
    }
    pub fn timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.0.timeout_ms = Some(timeout_ms);
        self
    }

    pub fn pipeline(mut self, pipeline: u32) -> Self {
        self.0.pipeline = pipeline;
        self
    }
    pub fn distribution(mut self, distribution: Distribution) -> Self {
        self.0.distribution = distribution;
        self
    }
    pub fn kind(mut self, kind: WorkloadKind) -> Self {
        self.0.kind = kind;
        self
    }
}

/// Step constructors; `ScenarioBuilder::step_at` sets the time.
impl Step {
    fn fault(kind: &str) -> Step {
        Step {
            fault: Some(kind.to_string()),
            ..Step::default()
        }
    }

    fn fault_on(kind: &str, node: &str) -> Step {
        Step {
            node: Some(node.to_string()),
            ..Step::fault(kind)
        }
    }

    /// Traffic between different groups is dropped.
    pub fn partition(groups: &[&[&str]]) -> Step {
        let groups = groups
            .iter()
            .map(|g| g.iter().map(|n| n.to_string()).collect())
            .collect();
        Step {
            groups: Some(groups),
            ..Step::fault("partition")
        }
    }

    /// Traffic from `from` to `to` is dropped, the other way still flows.
    pub fn partition_one_way(from: &str, to: &str) -> Step {
        Step {
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            one_way: Some(true),
            ..Step::fault("partition")
        }
    }

    pub fn heal() -> Step {
        Step::fault("heal")
    }
    pub fn kill(node: &str) -> Step {
        Step::fault_on("kill", node)
    }
    /// Power loss in the middle of the last write: it keeps a seeded
    /// whole-sector prefix (`torn = true`).
    pub fn kill_torn(node: &str) -> Step {
        Step {
            torn: Some(true),
            ..Step::fault_on("kill", node)
        }
    }
    /// SIGKILL of the node's process; the machine stays up.
    pub fn crash(node: &str) -> Step {
        Step::fault_on("crash", node)
    }
    pub fn restart(node: &str) -> Step {
        Step::fault_on("restart", node)
    }
    pub fn pause(node: &str) -> Step {
        Step::fault_on("pause", node)
    }
    pub fn resume(node: &str) -> Step {
        Step::fault_on("resume", node)
    }

    /// Changes a link's latency and/or bandwidth ("1mb" per second).
    pub fn link(from: &str, to: &str, latency_ms: Option<u64>, bandwidth: Option<&str>) -> Step {
        Step {
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            latency_ms,
            bandwidth: bandwidth.map(Size::new),
            ..Step::fault("link")
        }
    }

    pub fn disk(node: &str, fsync_latency_ms: u64) -> Step {
        Step {
            fsync_latency_ms: Some(fsync_latency_ms),
            ..Step::fault_on("disk", node)
        }
    }
    pub fn memory_pressure(node: &str, bytes: &str) -> Step {
        Step {
            bytes: Some(Size::new(bytes)),
            ..Step::fault_on("memory-pressure", node)
        }
    }
    pub fn clock_jump(node: &str, jump_ms: i64) -> Step {
        Step {
            jump_ms: Some(jump_ms),
            ..Step::fault_on("clock-jump", node)
        }
    }

    /// Names the machine a machine-wide fault (kill, restart, disk, memory-pressure,
    /// clock-jump) hits instead of a node: `Step::kill("").on_machine("h1")`.
    pub fn on_machine(mut self, machine: &str) -> Step {
        self.node = None;
        self.machine = Some(machine.to_string());
        self
    }

    /// An admin command, as typed into redis-cli.
    pub fn command(node: &str, command: &str) -> Step {
        Step {
            node: Some(node.to_string()),
            command: Some(command.to_string()),
            ..Step::default()
        }
    }
}
