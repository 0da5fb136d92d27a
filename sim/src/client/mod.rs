//! Workload clients: open-loop generators of operations against one node.
//!
//! Each client has its own connection and its own seeded RNG. It invokes
//! operations at its share of the workload's rate with exponential
//! inter-arrival times (a Poisson process: bursts and gaps as real traffic
//! has them), keeps up to `pipeline` of them outstanding, and queues the
//! rest. An operation's invoke time is when it was generated, so queueing
//! behind a slow server counts in its latency (no coordinated omission).

pub(crate) mod app;
pub mod plain;
pub mod sentinel;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::history::OpKind;

/// How keys are chosen among `keys`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    Uniform,
    /// Zipf with exponent s (0.99 is the YCSB default): key 0 is the hottest.
    Zipf {
        s: f64,
    },
}

/// What the workload does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    /// Only SET.
    Set,
    /// Only GET.
    Get,
    /// SET with probability write_ratio, else GET.
    Mixed,
    /// INCR with probability write_ratio, else GET.
    Incr,
    /// RPUSH of a unique value with probability write_ratio, else LRANGE 0 -1.
    AppendList,
}

impl WorkloadKind {
    pub fn parse(s: &str) -> Option<WorkloadKind> {
        Some(match s {
            "set" => WorkloadKind::Set,
            "get" => WorkloadKind::Get,
            "mixed" => WorkloadKind::Mixed,
            "incr" => WorkloadKind::Incr,
            "append-list" => WorkloadKind::AppendList,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    pub name: String,
    /// The node the clients talk to.
    pub target: String,
    /// The machine the clients run on (default "client", linked to every node).
    pub on: Option<String>,
    pub clients: u32,
    /// The total rate of all clients.
    pub ops_per_second: f64,
    /// A total count of operations (shared out among the clients), if any.
    pub ops: Option<u64>,
    pub write_ratio: f64,
    pub keys: u64,
    pub key_prefix: String,
    pub value_bytes: usize,
    pub start_us: u64,
    /// No operation is invoked at or after this time.
    pub stop_us: Option<u64>,
    pub pipeline: u32,
    pub distribution: Distribution,
    pub kind: WorkloadKind,
    /// Client-side timeout of an outstanding operation: the client gives up
    /// (the op is Unknown), drops the connection and reconnects. None waits
    /// forever, like redis-py's default.
    pub timeout_ms: Option<u64>,
    /// Set for a `target = "sentinel:<name>"` workload: the clients find the
    /// master through Sentinel instead of talking to `target`.
    pub discovery: Option<SentinelDiscovery>,
}

/// How a Sentinel-aware client (redis-py's Sentinel, Jedis's JedisSentinelPool) finds its
/// master: it asks each sentinel in turn with SENTINEL get-master-addr-by-name, connects to
/// the answer and checks ROLE, and asks again whenever the connection fails or the server says
/// it is not the master.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SentinelDiscovery {
    /// The monitored master's name.
    pub master_name: String,
    /// The sentinels to ask, in order.
    pub sentinels: Vec<String>,
    /// The data nodes that may be master (the monitored master and its replicas): the
    /// acknowledged-writes checker judges whichever of them is master at the end.
    pub group: Vec<String>,
    /// Ask the sentinels again this often while connected (over a second connection), and
    /// move to the master they name if it changed.
    pub reask_ms: Option<u64>,
    /// Also subscribe to +switch-master on a sentinel over a second connection and move to the
    /// new master on the message, as Jedis's JedisSentinelPool does.
    pub follow_pubsub: bool,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            name: "workload".into(),
            target: String::new(),
            on: None,
            clients: 1,
            ops_per_second: 100.0,
            ops: None,
            write_ratio: 0.5,
            keys: 1000,
            key_prefix: "key:".into(),
            value_bytes: 100,
            start_us: 0,
            stop_us: None,
            pipeline: 1,
            distribution: Distribution::Uniform,
            kind: WorkloadKind::Mixed,
            timeout_ms: None,
            discovery: None,
        }
    }
}

/// A workload resolved against the world.
pub(crate) struct Workload {
    pub spec: WorkloadSpec,
    pub target_host: usize,
    pub machine: usize,
    /// The sentinels a Sentinel-aware workload asks (host indices); empty for a fixed target.
    pub sentinel_hosts: Vec<usize>,
    /// Cumulative probabilities for Zipf, one per key.
    zipf_cdf: Vec<f64>,
}

impl Workload {
    pub fn new(spec: WorkloadSpec, target_host: usize, machine: usize) -> Workload {
        let zipf_cdf = match spec.distribution {
            Distribution::Uniform => Vec::new(),
            Distribution::Zipf { s } => zipf_cdf(spec.keys, s),
        };
        Workload {
            spec,
            target_host,
            machine,
            sentinel_hosts: Vec::new(),
            zipf_cdf,
        }
    }

    pub fn choose_key_index(&self, rng: &mut ChaCha8Rng) -> u64 {
        match self.spec.distribution {
            Distribution::Uniform => rng.gen_range(0..self.spec.keys),
            Distribution::Zipf { .. } => {
                let u: f64 = rng.gen();
                let index = self.zipf_cdf.partition_point(|&c| c < u);
                (index as u64).min(self.spec.keys - 1)
            }
        }
    }

    pub fn choose_kind(&self, rng: &mut ChaCha8Rng) -> OpKind {
        let mut write = || rng.gen::<f64>() < self.spec.write_ratio;
        match self.spec.kind {
            WorkloadKind::Set => OpKind::Set,
            WorkloadKind::Get => OpKind::Get,
            WorkloadKind::Mixed => {
                if write() {
                    OpKind::Set
                } else {
                    OpKind::Get
                }
            }
            WorkloadKind::Incr => {
                if write() {
                    OpKind::Incr
                } else {
                    OpKind::Get
                }
            }
            WorkloadKind::AppendList => {
                if write() {
                    OpKind::RPush
                } else {
                    OpKind::LRange
                }
            }
        }
    }
}

fn zipf_cdf(keys: u64, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=keys).map(|rank| 1.0 / (rank as f64).powf(s)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

/// Checks a spec for values the generator cannot work with.
pub(crate) fn validate(spec: &WorkloadSpec) -> Result<(), String> {
    let fail = |what: &str| Err(format!("workload '{}': {}", spec.name, what));
    if spec.clients == 0 {
        return fail("clients must be at least 1");
    }
    if !(spec.ops_per_second > 0.0 && spec.ops_per_second.is_finite()) {
        return fail("ops_per_second must be positive");
    }
    if spec.keys == 0 {
        return fail("keys must be at least 1");
    }
    if spec.pipeline == 0 {
        return fail("pipeline must be at least 1");
    }
    if !(0.0..=1.0).contains(&spec.write_ratio) {
        return fail("write_ratio must be between 0 and 1");
    }
    Ok(())
}
