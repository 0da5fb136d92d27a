//! The Scenario model: the TOML shape of docs/scenario-format.md, key for key.
//!
//! The model is the file's shape (every key a field, unknown keys rejected), so a file, the
//! Rust builder and a report's `scenario_resolved` all hold the same value. Meaning that serde
//! cannot check (units, node names, fault keys, redis.conf lines, expectations) is checked by
//! `validate`, and every problem is reported as "<file>:<line>:<col>: <key path>: <message>".

pub mod known;
mod locate;
mod validate;

use crate::expect::Expectation;
use crate::units::parse_size;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

pub use validate::FAULT_KINDS;

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The registry name (e.g. "backlog-overflow"); files may leave it to their file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Pinned seeds for cargo test and CI.
    pub seeds: Vec<u64>,
    pub duration_ms: u64,
    /// Defaults for every machine; a node's machine keys override them for its machine.
    #[serde(default)]
    pub machine: Machine,
    #[serde(default, rename = "node")]
    pub nodes: Vec<Node>,
    #[serde(default, rename = "workload")]
    pub workloads: Vec<Workload>,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    #[serde(default, rename = "expect")]
    pub expects: Vec<Expect>,
}

/// A size with Redis units as written ("1mb", "4gb", "512kb", "100"); see `units::parse_size`.
/// Files may also write a bare integer, which is kept as its decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Size(pub String);

impl Size {
    pub fn new(text: &str) -> Size {
        Size(text.to_string())
    }

    /// The size in bytes; `validate` guarantees Ok for a validated scenario.
    pub fn bytes(&self) -> Result<u64, String> {
        parse_size(&self.0)
    }

    /// Swap sizes also accept "off", which means no swap (0 bytes).
    pub fn swap_bytes(&self) -> Result<u64, String> {
        if self.0.eq_ignore_ascii_case("off") {
            return Ok(0);
        }
        self.bytes()
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Size, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Str(String),
            Int(u64),
        }
        // An untagged error would say only "did not match any variant"; say what a size is.
        match Text::deserialize(deserializer) {
            Ok(Text::Str(s)) => Ok(Size(s)),
            Ok(Text::Int(n)) => Ok(Size(n.to_string())),
            Err(_) => Err(serde::de::Error::custom(
                "expected a size such as \"1mb\", \"4gb\" or a number of bytes",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Thp {
    Never,
    Always,
}

/// Machine parameters as written; every node gets these unless it overrides a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Machine {
    pub memory: Size,
    /// "off" or a size.
    pub swap: Size,
    pub thp: Thp,
    pub cores: u32,
    /// Bytes per second, shared by RDB, AOF and swap.
    pub disk_bandwidth: Size,
    pub fsync_latency_ms: u64,
    pub fork_ms_per_gb: u64,
    pub swap_in_latency_us: u64,
}

impl Default for Machine {
    fn default() -> Machine {
        Machine {
            memory: Size::new("4gb"),
            swap: Size::new("off"),
            thp: Thp::Never,
            cores: 2,
            disk_bandwidth: Size::new("200mb"),
            fsync_latency_ms: 2,
            fork_ms_per_gb: 10,
            swap_in_latency_us: 100,
        }
    }
}

/// A node's machine with every size in bytes, for the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineParams {
    pub memory_bytes: u64,
    /// 0 means swap is off.
    pub swap_bytes: u64,
    pub thp: bool,
    pub cores: u32,
    pub disk_bandwidth_bytes_per_s: u64,
    pub fsync_latency_ms: u64,
    pub fork_ms_per_gb: u64,
    pub swap_in_latency_us: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Redis,
    Sentinel,
}

/// One redis-server or redis-sentinel process, on its own machine or on a shared one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    /// The machine the process runs on. Default: a machine of its own, named like the node.
    /// Nodes that name one machine share its cores, RAM, disk, clock and fate; their machine
    /// keys (memory, cores, ...) set that machine's and must not disagree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// redis.conf (or sentinel.conf) lines, verbatim.
    #[serde(default)]
    pub config: Vec<String>,
    /// Default: 6379 for redis, 26379 for sentinel (as redis-sentinel itself defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thp: Option<Thp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_bandwidth: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsync_latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_ms_per_gb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_in_latency_us: Option<u64>,
    /// A dataset the node starts with, as if restored from a backup: the runner writes it as
    /// the node's dump.rdb before the process boots, and the normal start-up load reads it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preload: Vec<Preload>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreloadType {
    String,
    Set,
    Hash,
    List,
    Zset,
}

/// One part of a preloaded dataset. Strings: `keys` keys named `<key_prefix><i>` holding
/// `value:<i>` padded with zero bytes to `value_bytes` (DEBUG POPULATE's values, kept compact
/// in memory), or one `key`. Sets, hashes, lists and sorted sets: one `key` with `elements`
/// members (`member:<i>`, hash values and zset scores `<i>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preload {
    #[serde(rename = "type")]
    pub kind: PreloadType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<u64>,
}

impl Preload {
    /// `keys` string keys named `<prefix><i>` with `value_bytes`-byte values.
    pub fn strings(keys: u64, value_bytes: u64, prefix: &str) -> Preload {
        Preload {
            kind: PreloadType::String,
            key: None,
            keys: Some(keys),
            key_prefix: Some(prefix.into()),
            value_bytes: Some(value_bytes),
            elements: None,
        }
    }

    /// One collection key with `elements` members.
    pub fn collection(kind: PreloadType, key: &str, elements: u64) -> Preload {
        Preload {
            kind,
            key: Some(key.into()),
            keys: None,
            key_prefix: None,
            value_bytes: None,
            elements: Some(elements),
        }
    }
}

impl Node {
    pub fn new(name: &str, kind: NodeKind) -> Node {
        Node {
            name: name.to_string(),
            kind,
            machine: None,
            config: Vec::new(),
            port: None,
            memory: None,
            swap: None,
            thp: None,
            cores: None,
            disk_bandwidth: None,
            fsync_latency_ms: None,
            fork_ms_per_gb: None,
            swap_in_latency_us: None,
            preload: Vec::new(),
        }
    }

    /// The port the node listens on, with the kind's default.
    pub fn port(&self) -> u16 {
        match (self.port, self.kind) {
            (Some(port), _) => port,
            (None, NodeKind::Redis) => 6379,
            (None, NodeKind::Sentinel) => 26379,
        }
    }

    /// The name of the machine this node runs on.
    pub fn machine_name(&self) -> &str {
        self.machine.as_deref().unwrap_or(&self.name)
    }

    /// The scenario's [machine] with this node's own overrides applied (see
    /// `Scenario::machine_of` for its machine, which all its nodes set).
    pub fn own_machine(&self, defaults: &Machine) -> Machine {
        Machine {
            memory: self
                .memory
                .clone()
                .unwrap_or_else(|| defaults.memory.clone()),
            swap: self.swap.clone().unwrap_or_else(|| defaults.swap.clone()),
            thp: self.thp.unwrap_or(defaults.thp),
            cores: self.cores.unwrap_or(defaults.cores),
            disk_bandwidth: self
                .disk_bandwidth
                .clone()
                .unwrap_or_else(|| defaults.disk_bandwidth.clone()),
            fsync_latency_ms: self.fsync_latency_ms.unwrap_or(defaults.fsync_latency_ms),
            fork_ms_per_gb: self.fork_ms_per_gb.unwrap_or(defaults.fork_ms_per_gb),
            swap_in_latency_us: self
                .swap_in_latency_us
                .unwrap_or(defaults.swap_in_latency_us),
        }
    }
}

impl Machine {
    /// Sizes in bytes. Unparseable sizes read as 0; `validate` rejects them first.
    pub fn params(&self) -> MachineParams {
        MachineParams {
            memory_bytes: self.memory.bytes().unwrap_or(0),
            swap_bytes: self.swap.swap_bytes().unwrap_or(0),
            thp: self.thp == Thp::Always,
            cores: self.cores,
            disk_bandwidth_bytes_per_s: self.disk_bandwidth.bytes().unwrap_or(0),
            fsync_latency_ms: self.fsync_latency_ms,
            fork_ms_per_gb: self.fork_ms_per_gb,
            swap_in_latency_us: self.swap_in_latency_us,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    Uniform,
    Zipf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// SET with probability write_ratio, GET otherwise.
    Mixed,
    Set,
    Get,
    Incr,
    /// RPUSH of a unique element, so lost acknowledged writes can be named.
    AppendList,
}

/// A group of clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    /// A node name, "sentinel:<master name>", or "cluster".
    pub target: String,
    /// The client machine; it shares that machine's network fate. Default: a client machine
    /// connected to every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    #[serde(default = "default_clients")]
    pub clients: u32,
    #[serde(default = "default_ops_per_second")]
    pub ops_per_second: u64,
    /// A total operation count; the workload stops at whichever of ops and stop_ms comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    #[serde(default = "default_write_ratio")]
    pub write_ratio: f64,
    #[serde(default = "default_keys")]
    pub keys: u64,
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    #[serde(default = "default_value_bytes")]
    pub value_bytes: u64,
    #[serde(default)]
    pub start_ms: u64,
    /// Default: the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
    #[serde(default = "default_pipeline")]
    pub pipeline: u32,
    #[serde(default = "default_distribution")]
    pub distribution: Distribution,
    #[serde(default = "default_workload_kind")]
    pub kind: WorkloadKind,
    /// A client gives up on a reply after this long (the op is "unknown")
    /// and reconnects, as clients with a read timeout do. Default: no
    /// timeout (a client whose server died silently waits for ever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// For a `sentinel:<name>` target: the sentinels the clients ask, in order. Default: every
    /// sentinel node that monitors <name>.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinels: Option<Vec<String>>,
    /// For a `sentinel:<name>` target: ask the sentinels again this often while connected, and
    /// move to the master they name if it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reask_ms: Option<u64>,
    /// For a `sentinel:<name>` target: `"pubsub"` also subscribes to +switch-master on a
    /// sentinel and moves to the new master on the message (Jedis's JedisSentinelPool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<String>,
}

fn default_clients() -> u32 {
    1
}
fn default_ops_per_second() -> u64 {
    100
}
fn default_write_ratio() -> f64 {
    0.5
}
fn default_keys() -> u64 {
    1000
}
/// The naming DEBUG POPULATE uses, so a populated dataset and a workload touch the same keys.
fn default_key_prefix() -> String {
    "key:".to_string()
}
fn default_value_bytes() -> u64 {
    100
}
fn default_pipeline() -> u32 {
    1
}
fn default_distribution() -> Distribution {
    Distribution::Uniform
}
fn default_workload_kind() -> WorkloadKind {
    WorkloadKind::Mixed
}

impl Workload {
    pub fn new(name: &str, target: &str) -> Workload {
        Workload {
            name: name.to_string(),
            target: target.to_string(),
            on: None,
            clients: default_clients(),
            ops_per_second: default_ops_per_second(),
            ops: None,
            write_ratio: default_write_ratio(),
            keys: default_keys(),
            key_prefix: default_key_prefix(),
            value_bytes: default_value_bytes(),
            start_ms: 0,
            stop_ms: None,
            pipeline: default_pipeline(),
            distribution: default_distribution(),
            kind: default_workload_kind(),
            timeout_ms: None,
            sentinels: None,
            reask_ms: None,
            follow: None,
        }
    }
}

/// One timeline entry as written: `fault` and its keys, or `node` and `command`.
/// `Step::action` gives the typed meaning.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The machine a machine-wide fault (kill, restart, clock-jump, disk, memory-pressure)
    /// hits, instead of `node` (which stands for its node's machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_way: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsync_latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_ms: Option<i64>,
    /// On a kill: the power goes during the last write, which keeps a
    /// seeded whole-sector prefix on disk (a torn write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn: Option<bool>,
    /// On a command step: the reply must be an error starting with this
    /// text. Without it, an error reply fails the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_error: Option<String>,
}

/// What a step does, typed.
///
/// Partitions and links name machines (a node's name stands for its machine). Kill, restart,
/// disk, memory-pressure and clock-jump act on a machine: their `node` holds the step's
/// `node` (standing for its machine) or its `machine`. Crash, pause, resume and commands act
/// on one node's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Traffic between different groups is dropped; names are machines, nodes (their
    /// machines) or workloads' `on` machines.
    Partition {
        groups: Vec<Vec<String>>,
    },
    /// Traffic from `from` to `to` is dropped (and back too unless `one_way`).
    PartitionLink {
        from: String,
        to: String,
        one_way: bool,
    },
    Heal,
    /// Power loss of the machine: every process on it; `torn`: the last write is torn.
    Kill {
        node: String,
        torn: bool,
    },
    /// SIGKILL of the node's process; the machine (page cache, a child, other processes) stays up.
    Crash {
        node: String,
    },
    /// Power on the machine (after a power cycle if anything on it still runs): every process starts.
    Restart {
        node: String,
    },
    Pause {
        node: String,
    },
    Resume {
        node: String,
    },
    /// SIGSTOP of every process of a machine (`machine = "..."`), its applications included.
    PauseMachine {
        machine: String,
    },
    ResumeMachine {
        machine: String,
    },
    Link {
        from: String,
        to: String,
        latency_ms: Option<u64>,
        bandwidth_bytes_per_s: Option<u64>,
    },
    Disk {
        node: String,
        fsync_latency_ms: u64,
    },
    MemoryPressure {
        node: String,
        bytes: u64,
    },
    ClockJump {
        node: String,
        jump_ms: i64,
    },
    /// An admin command as typed into redis-cli.
    Command {
        node: String,
        command: String,
    },
}

impl Action {
    /// The `faults_fired` key for this action ("command" for admin commands).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Partition { .. } | Action::PartitionLink { .. } => "partition",
            Action::Heal => "heal",
            Action::Kill { .. } => "kill",
            Action::Crash { .. } => "crash",
            Action::Restart { .. } => "restart",
            Action::Pause { .. } | Action::PauseMachine { .. } => "pause",
            Action::Resume { .. } | Action::ResumeMachine { .. } => "resume",
            Action::Link { .. } => "link",
            Action::Disk { .. } => "disk",
            Action::MemoryPressure { .. } => "memory-pressure",
            Action::ClockJump { .. } => "clock-jump",
            Action::Command { .. } => "command",
        }
    }
}

/// One expectation as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub that: String,
}

/// One segment of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A key path such as `node[1].config[0]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<PathSegment>);

impl KeyPath {
    pub fn key(&self, key: &str) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Key(key.to_string()));
        KeyPath(segments)
    }

    pub fn index(&self, index: usize) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Index(index));
        KeyPath(segments)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Key(key) if i == 0 => write!(f, "{}", key)?,
                PathSegment::Key(key) => write!(f, ".{}", key)?,
                PathSegment::Index(index) => write!(f, "[{}]", index)?,
            }
        }
        Ok(())
    }
}

/// One problem in a scenario, located when the scenario came from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecIssue {
    /// 1-based line and column of the offending key, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The key path, e.g. "node[1].config[0]"; empty for TOML syntax errors.
    pub key: String,
    pub message: String,
}

/// Why a scenario was rejected: every problem found, in file order where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file name as given to the parser ("<builder>" for the Rust builder).
    pub file: String,
    pub issues: Vec<SpecIssue>,
}

impl SpecError {
    fn single(file: &str, issue: SpecIssue) -> SpecError {
        SpecError {
            file: file.to_string(),
            issues: vec![issue],
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file)?;
            if let (Some(line), Some(column)) = (issue.line, issue.column) {
                write!(f, ":{}:{}", line, column)?;
            }
            // One line per issue even when a quoted config line holds a newline.
            if !issue.key.is_empty() {
                write!(f, ": {}", issue.key.escape_debug())?;
            }
            write!(
                f,
                ": {}",
                issue.message.replace('\r', "\\r").replace('\n', "\\n")
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// A problem found by `validate`, before it is located in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub path: KeyPath,
    pub message: String,
}

/// Parser messages may span lines; a SpecError line stays one line per issue.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A problem found while the scenario ran (a command step's reply), located
/// in the scenario's text as "<file>:<line>:<col>: step[3].command: ...".
pub fn locate_step_problem(text: &str, file: &str, step: usize, message: &str) -> String {
    let path = KeyPath::default().key("step").index(step).key("command");
    let issue = match toml_edit::ImDocument::parse(text) {
        Ok(document) => {
            let problem = Problem {
                path: path.clone(),
                message: message.to_string(),
            };
            locate::SpanIndex::new(&document).locate(text, &problem)
        }
        Err(_) => SpecIssue {
            line: None,
            column: None,
            key: path.to_string(),
            message: message.to_string(),
        },
    };
    SpecError::single(file, issue).to_string()
}

/// The name files get when the builder made the scenario.
pub const BUILDER_FILE: &str = "<builder>";

impl Scenario {
    /// Parses and validates a scenario file's text. `file_name` is only used in messages.
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Scenario, SpecError> {
        let document = toml_edit::ImDocument::parse(text).map_err(|e| {
            let (line, column) = e.span().map(|s| locate::line_column(text, s.start)).unzip();
            SpecError::single(
                file_name,
                SpecIssue {
                    line,
                    column,
                    key: String::new(),
                    message: one_line(e.message()),
                },
            )
        })?;
        let index = locate::SpanIndex::new(&document);
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..text.len());
            let (line, column) = locate::line_column(text, span.start);
            let key = index.path_at(span).to_string();
            let message = one_line(e.message());
            SpecError::single(
                file_name,
                SpecIssue {
                    line: Some(line),
                    column: Some(column),
                    key,
                    message,
                },
            )
        })?;
        let problems = validate::validate(&scenario);
        if problems.is_empty() {
            return Ok(scenario);
        }
        let mut issues: Vec<SpecIssue> = problems.iter().map(|p| index.locate(text, p)).collect();
        issues.sort_by_key(|i| (i.line, i.column));
        Err(SpecError {
            file: file_name.to_string(),
            issues,
        })
    }

    /// Reads and parses a scenario file; I/O errors name the file too.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Scenario, SpecError> {
        let file_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            SpecError::single(
                &file_name,
                SpecIssue {
                    line: None,
                    column: None,
                    key: String::new(),
                    message: e.to_string(),
                },
            )
        })?;
        Scenario::from_toml_str(&text, &file_name)
    }

    /// Validates a scenario that did not come from text (the builder, a report's JSON).
    pub fn validate(&self, file_name: &str) -> Result<(), SpecError> {
        let problems = validate::validate(self);
        if problems.is_empty() {
            return Ok(());
        }
        let issues = problems
            .into_iter()
            .map(|p| SpecIssue {
                line: None,
                column: None,
                key: p.path.to_string(),
                message: p.message,
            })
            .collect();
        Err(SpecError {
            file: file_name.to_string(),
            issues,
        })
    }

    /// The scenario as a TOML file that parses back to an equal value.
    pub fn to_toml_string(&self) -> String {
        // Every field is a string, integer, float, bool, array or table, which TOML can write.
        toml::to_string(self)
            .unwrap_or_else(|e| format!("# cannot write this scenario as TOML: {}\n", e))
    }

    /// The scenario with every default written out: node ports and each node's full machine.
    pub fn resolved(&self) -> Scenario {
        let mut resolved = self.clone();
        for node in &mut resolved.nodes {
            let machine = self.machine_of(node.machine_name());
            node.port = Some(node.port());
            node.memory = Some(machine.memory);
            node.swap = Some(machine.swap);
            node.thp = Some(machine.thp);
            node.cores = Some(machine.cores);
            node.disk_bandwidth = Some(machine.disk_bandwidth);
            node.fsync_latency_ms = Some(machine.fsync_latency_ms);
            node.fork_ms_per_gb = Some(machine.fork_ms_per_gb);
            node.swap_in_latency_us = Some(machine.swap_in_latency_us);
        }
        resolved
    }

    /// The resolved scenario as JSON, for a report's `scenario_resolved`.
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::to_value(self.resolved()).unwrap_or(serde_json::Value::Null)
    }

    /// Reads a report's `scenario_resolved` back, validated.
    pub fn from_json_value(
        value: &serde_json::Value,
        file_name: &str,
    ) -> Result<Scenario, SpecError> {
        let scenario: Scenario = serde_json::from_value(value.clone()).map_err(|e| {
            SpecError::single(
                file_name,
                SpecIssue {
                    line: None,
                    column: None,
                    key: "scenario_resolved".into(),
                    message: e.to_string(),
                },
            )
        })?;
        scenario.validate(file_name)?;
        Ok(scenario)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// A node's machine parameters in bytes, with overrides applied.
    pub fn machine_for(&self, node: &str) -> Option<MachineParams> {
        self.node(node)
            .map(|n| self.machine_of(n.machine_name()).params())
    }

    /// A machine as its nodes make it: [machine] with every override any of its nodes gives
    /// (validation rejects nodes of one machine that disagree; here the first one wins).
    pub fn machine_of(&self, machine_name: &str) -> Machine {
        let mut machine = self.machine.clone();
        for node in self
            .nodes
            .iter()
            .rev()
            .filter(|n| n.machine_name() == machine_name)
        {
            machine = node.own_machine(&machine);
        }
        machine
    }

    /// The timeline, typed, in file order (stable sort by at_ms is the runner's choice).
    /// Steps that do not validate are skipped; `validate` reports them.
    pub fn actions(&self) -> Vec<(u64, Action)> {
        self.steps
            .iter()
            .filter_map(|s| s.action().ok().map(|a| (s.at_ms, a)))
            .collect()
    }

    /// The parsed expectations, in file order. Ones that do not parse are skipped; `validate`
    /// reports them.
    pub fn expectations(&self) -> Vec<Expectation> {
        self.expects
            .iter()
            .filter_map(|e| Expectation::parse(&e.that).ok())
            .collect()
    }
}

impl Step {
    /// The typed meaning of this step, or the key and message of the first problem.
    pub fn action(&self) -> Result<Action, (String, String)> {
        validate::step_action(self).map_err(|(path, message)| (path.to_string(), message))
    }
}
