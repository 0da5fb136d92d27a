//! The report model: the JSON contract of docs/report-format.md, field for field.
//!
//! Maps are BTreeMaps so the JSON is byte-stable across runs, except a node's INFO, which keeps
//! Redis's own field order (serde_json's preserve_order makes `serde_json::Map` ordered).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// One run of one scenario at one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub redsim_version: String,
    /// The scenario's name (registry name or file path) as given to `redsim run`.
    pub scenario: String,
    pub title: String,
    pub seed: u64,
    /// Lower-case hex of the stable hash of the whole trace.
    pub trace_hash: String,
    /// True iff every expectation passed.
    pub passed: bool,
    pub expectations: Vec<ExpectationResult>,
    pub virtual_ms: u64,
    pub wall_ms: u64,
    pub nodes: BTreeMap<String, NodeReport>,
    pub events: Vec<Event>,
    pub history: History,
    /// Per-second time series for the charts. Optional so reports written before it existed
    /// still parse; absent from the JSON when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// Fault kind -> how many fired (a fault that never fired is absent).
    pub faults_fired: BTreeMap<String, u64>,
    /// The full scenario with defaults filled in, so a replay needs nothing else.
    pub scenario_resolved: Value,
    /// The one-line command that reproduces this run.
    pub replay: String,
}

/// One expectation after the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub that: String,
    pub passed: bool,
    /// The looked-up left-hand side: a number, a string, or null when it was absent.
    pub actual: Value,
}

/// A node's final state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// "redis" or "sentinel".
    pub kind: String,
    /// The final role as INFO replication prints it ("master", "slave"), or "sentinel".
    pub role: String,
    /// Final INFO fields under Redis's names, in Redis's order; see [`info_value`].
    pub info: Map<String, Value>,
    pub machine: MachineReport,
}

/// What the node's machine went through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineReport {
    pub memory_bytes: u64,
    pub rss_bytes_max: u64,
    pub swap_bytes_max: u64,
    pub oom_kills: u64,
}

/// A notable event (Sentinel events, role changes, faults, OOM kills, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub t_ms: u64,
    pub node: String,
    pub event: String,
    pub detail: String,
}

/// The clients' history, as the checkers saw it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub acked_writes: u64,
    /// Acknowledged writes missing from the final state of the node they were written to.
    pub acked_writes_lost: u64,
    /// The acknowledged writes the lost-writes checker judged; the others are listed in
    /// `acked_writes_not_evaluated`. Absent from reports written before the checker existed.
    #[serde(default)]
    pub acked_writes_evaluated: u64,
    /// When the first and the last of the lost writes were acknowledged (virtual ms).
    #[serde(default)]
    pub first_lost_acked_ms: Option<u64>,
    #[serde(default)]
    pub last_lost_acked_ms: Option<u64>,
    /// The first [`LOST_WRITES_LISTED`] lost writes, in order of acknowledgement.
    #[serde(default)]
    pub lost_writes: Vec<LostWrite>,
    /// Acknowledged writes the checker could not judge, by node and reason.
    #[serde(default)]
    pub acked_writes_not_evaluated: Vec<NotEvaluated>,
    /// Error code (the first word of the error reply, e.g. "NOREPLICAS") -> count.
    pub errors: BTreeMap<String, u64>,
    pub first_fail_ms: Option<u64>,
    pub last_fail_ms: Option<u64>,
    pub latency_ms: Latency,
    /// Workload name -> the same counts for that workload's operations alone. Absent from
    /// reports written before it existed, and from the JSON when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workloads: BTreeMap<String, WorkloadHistory>,
    /// Whether every SET/GET/INCR key's history is linearizable; absent when not computed
    /// (only scenarios that expect on `history.linearizable` run the checker) or when no key
    /// is known not linearizable but some ran out of budget (see `linearizability`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linearizable: Option<bool>,
    /// The linearizability checker's details, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linearizability: Option<Linearizability>,
    /// Every acknowledged write the final state does not hold (no cap; `acked_writes_lost`
    /// counts them), in order of acknowledgement. Absent from reports written before it existed.
    #[serde(default)]
    pub lost: Vec<Lost>,
    /// Each Redis node that is a replica at the end: the virtual ms from the last fault until
    /// its dataset digest first equalled its final master's, or null when it never did (it is
    /// then listed in `not_converged`). Empty when the run has no fault or no replica.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub convergence_ms: BTreeMap<String, Option<u64>>,
    /// The replicas whose digest never equalled their master's after the last fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_converged: Vec<String>,
}

/// One acknowledged write that is lost: which workload and client wrote which key, when the
/// acknowledgement arrived, and which node gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lost {
    pub workload: String,
    /// The client's global index.
    pub client: u32,
    pub key: String,
    /// When the acknowledgement reached the client (virtual ms).
    pub acked_ms: u64,
    /// The node that acknowledged it.
    pub node: String,
}

/// What the linearizability checker found, key by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Linearizability {
    /// Explored search states allowed per key.
    pub budget: u64,
    pub keys_checked: u64,
    /// Keys the search gave up on (budget exhausted), in key order.
    pub keys_unknown: Vec<String>,
    /// Keys that are not linearizable, each with a minimal set of operations no order explains.
    pub violations: Vec<LinearizabilityViolation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinearizabilityViolation {
    pub key: String,
    pub witness: Vec<WitnessOp>,
}

/// One operation of a linearizability witness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WitnessOp {
    /// The operation's index in the history.
    pub op: u64,
    pub client: u32,
    /// "set", "get" or "incr".
    pub kind: String,
    pub invoked_ms: f64,
    /// Absent: the outcome is unknown (it may have taken effect at any later time, or never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_ms: Option<f64>,
    /// The value written (SET), read (GET) or returned (INCR); absent for nil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One workload's share of the history: its operations, its acknowledged writes and which of
/// them the lost-writes checker found missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadHistory {
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub acked_writes: u64,
    pub acked_writes_lost: u64,
    /// When the first and the last of this workload's lost writes were acknowledged.
    pub first_lost_acked_ms: Option<u64>,
    pub last_lost_acked_ms: Option<u64>,
    pub errors: BTreeMap<String, u64>,
    pub first_fail_ms: Option<u64>,
    pub last_fail_ms: Option<u64>,
    pub latency_ms: Latency,
}

/// How many lost writes a report lists; `acked_writes_lost` counts them all.
pub const LOST_WRITES_LISTED: usize = 100;

/// An acknowledged write the final state does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostWrite {
    /// The node the write was acknowledged by.
    pub node: String,
    pub key: String,
    /// "set", "rpush" or "incr".
    pub kind: String,
    /// The client's global index.
    pub client: u32,
    /// The operation's index in the history.
    pub op: u64,
    pub invoked_ms: u64,
    pub acked_ms: u64,
    /// The written value's tag ("c3:17"; values are unique per operation); absent for INCR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_tag: Option<String>,
}

/// Acknowledged writes the checker could not judge (e.g. their node was down at the end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub node: String,
    pub reason: String,
    pub acked_writes: u64,
}

/// The clients' history second by second: index i covers virtual time [i s, i+1 s).
///
/// The runner makes every array as long as the run; readers must still accept arrays of
/// different lengths (a missing second reads as "no data").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Operations that completed Ok in each second.
    pub ok_per_s: Vec<u64>,
    /// Operations that completed with an error reply in each second.
    pub fail_per_s: Vec<u64>,
    /// Median latency of the operations that completed Ok in each second; null when none did.
    pub latency_p50_ms: Vec<Option<f64>>,
    /// 99th percentile latency, as `latency_p50_ms`.
    pub latency_p99_ms: Vec<Option<f64>>,
    /// Redis node name -> its state sampled at the end of each second. Absent from reports
    /// written before it existed, and from the JSON when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, NodeSeries>,
    /// The width of one bucket of `workloads`, in ms: see [`bucket_ms_for`]. Absent from
    /// reports written before per-workload series existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_ms: Option<u64>,
    /// Workload name -> its operations bucket by bucket: index i covers virtual time
    /// [i * bucket_ms, (i + 1) * bucket_ms). Absent from older reports, and from the JSON when
    /// empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workloads: BTreeMap<String, WorkloadSeries>,
}

/// One workload's operations per bucket of [`Series::bucket_ms`], so workloads compare side
/// by side (DEL's clients against UNLINK's, before a fork against during it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSeries {
    /// Operations that completed Ok in each bucket.
    pub ok: Vec<u64>,
    /// Operations that completed with an error reply in each bucket.
    pub fail: Vec<u64>,
    /// Latency percentiles (nearest rank) and maximum of the operations that completed Ok in
    /// each bucket, in ms; null when none did.
    pub latency_p50_ms: Vec<Option<f64>>,
    pub latency_p99_ms: Vec<Option<f64>>,
    pub latency_max_ms: Vec<Option<f64>>,
    /// Acknowledged writes the lost-writes checker found missing, in the bucket in which they
    /// were acknowledged.
    pub acked_writes_lost: Vec<u64>,
}

/// Runs up to this long (virtual ms) get 100 ms buckets, longer ones 1 s buckets.
///
/// Rationale: the charts are about 950 px wide, so 300 buckets of 100 ms still get 3 px each,
/// and a 100 ms bucket is what shows a 500 ms stall as a stall rather than as one bad second.
/// Past 30 s, 1 s buckets keep the JSON and the lines small.
pub const SHORT_RUN_MS_MAX: u64 = 30_000;

/// The bucket width of the per-workload series for a run of `virtual_ms`.
pub fn bucket_ms_for(virtual_ms: u64) -> u64 {
    if virtual_ms <= SHORT_RUN_MS_MAX {
        100
    } else {
        1000
    }
}

/// One Redis node's state at the end of each virtual second (index i: at (i+1) s), read from
/// the live server without touching it. Every entry is null while the node is down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSeries {
    /// "master" or "slave", as INFO replication prints it.
    pub role: Vec<Option<String>>,
    /// The node's master_repl_offset.
    pub master_repl_offset: Vec<Option<i64>>,
    /// For a replica: its master's master_repl_offset minus the offset the replica has
    /// processed, in bytes; null for a master, or when the master is down or unknown.
    pub repl_lag_bytes: Vec<Option<i64>>,
    /// The engine's used_memory estimate, in bytes.
    pub used_memory: Vec<Option<u64>>,
    /// The main process's resident memory, bytes (its swapped pages not included). Absent
    /// from reports written before the machine's memory model.
    #[serde(default)]
    pub rss_bytes: Vec<Option<u64>>,
    /// The child's private pages (copy-on-write copies made since the fork), bytes; 0 without
    /// a child.
    #[serde(default)]
    pub cow_bytes: Vec<Option<u64>>,
    /// The main process's pages in swap, bytes.
    #[serde(default)]
    pub swap_bytes: Vec<Option<u64>>,
}

/// Operation latency percentiles in virtual milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Converts one INFO value: a JSON number when the text is an integer or a plain decimal
/// fraction, the string otherwise.
///
/// Rationale: a 40-digit replid made only of digits must stay a string, so only integers that
/// fit 64 bits and `digits.digits` forms become numbers (never "inf", "nan" or "1e5").
pub fn info_value(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        if !text.starts_with('+') {
            return Value::Number(n.into());
        }
    }
    if let Ok(n) = text.parse::<u64>() {
        if !text.starts_with('+') {
            return Value::Number(n.into());
        }
    }
    if is_plain_decimal(text) {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}

fn is_plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let Some((whole, fraction)) = unsigned.split_once('.') else {
        return false;
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// Parses the text of an INFO reply ("# Section" headers, "field:value" lines) into ordered
/// fields. Later duplicates replace earlier ones in place.
pub fn info_fields(info_text: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    for line in info_text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            fields.insert(name.to_string(), info_value(value));
        }
    }
    fields
}

/// Renders an INFO value or an `actual` for people: strings bare, numbers as JSON prints them.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_values_become_numbers_only_when_plain() {
        assert_eq!(info_value("42"), Value::from(42));
        assert_eq!(info_value("-3"), Value::from(-3));
        assert_eq!(info_value("18446744073709551615"), Value::from(u64::MAX));
        assert_eq!(info_value("1.04"), Value::from(1.04));
        assert_eq!(info_value("master"), Value::from("master"));
        assert_eq!(info_value("inf"), Value::from("inf"));
        assert_eq!(info_value("nan"), Value::from("nan"));
        assert_eq!(info_value("+5"), Value::from("+5"));
        assert_eq!(info_value("1e5"), Value::from("1e5"));
        assert_eq!(info_value(""), Value::from(""));
        let replid = "1234567890123456789012345678901234567890";
        assert_eq!(info_value(replid), Value::from(replid));
    }

    #[test]
    fn info_text_keeps_redis_order() {
        let text = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.0.0.1,port=6380\r\n\r\n# Stats\r\nsync_full:1\r\n";
        let fields = info_fields(text);
        let names: Vec<&str> = fields.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["role", "connected_slaves", "slave0", "sync_full"]);
        assert_eq!(fields["slave0"], Value::from("ip=127.0.0.1,port=6380"));
        assert_eq!(fields["sync_full"], Value::from(1));
    }
}
