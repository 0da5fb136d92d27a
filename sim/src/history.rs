//! The history: every operation the workload clients invoked, and a summary.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use redsim_engine::resp::Value;

/// What an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    Set,
    Get,
    Incr,
    RPush,
    LRange,
}

impl OpKind {
    pub fn is_write(self) -> bool {
        matches!(self, OpKind::Set | OpKind::Incr | OpKind::RPush)
    }
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Set => "set",
            OpKind::Get => "get",
            OpKind::Incr => "incr",
            OpKind::RPush => "rpush",
            OpKind::LRange => "lrange",
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server replied with something other than an error.
    Ok,
    /// The server replied with an error (its first word, e.g. "NOREPLICAS"),
    /// or the client could not send it at all ("NOCONN": it was never sent,
    /// so it certainly did not happen).
    Fail(String),
    /// The connection dropped, the client timed out, or the run ended before
    /// a reply: the operation may or may not have happened.
    Unknown,
}

/// One operation, from invocation to completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// The client's global index (workloads in order, clients in order).
    pub client: u32,
    pub workload: u32,
    pub kind: OpKind,
    pub key: String,
    /// What a write wrote (SET and RPUSH); None for reads and INCR.
    pub value: Option<Vec<u8>>,
    /// The reply of a read or INCR that succeeded.
    pub reply: Option<Value>,
    pub invoke_us: u64,
    pub complete_us: Option<u64>,
    pub outcome: Outcome,
    /// The host index of the node the request was sent to (None: never sent).
    pub node: Option<u32>,
}

impl Op {
    /// A write the server acknowledged: +OK for SET, the new length for RPUSH, the new value
    /// for INCR. Only these may be counted lost; a write that failed or whose reply never came
    /// may or may not have happened.
    pub fn is_acked_write(&self) -> bool {
        self.kind.is_write() && self.outcome == Outcome::Ok
    }

    /// The written value without its padding ("c3:17" of "c3:17xxxx..."), for reports.
    pub fn value_tag(&self) -> Option<String> {
        let v = self.value.as_deref()?;
        let end = v
            .iter()
            .skip(1)
            .position(|&b| b == b'x')
            .map_or(v.len(), |i| i + 1);
        const TAG_BYTES_MAX: usize = 40;
        Some(String::from_utf8_lossy(&v[..end.min(TAG_BYTES_MAX)]).into_owned())
    }

    /// The integer an acknowledged INCR returned.
    pub fn int_reply(&self) -> Option<i64> {
        match self.reply {
            Some(Value::Int(n)) => Some(n),
            _ => None,
        }
    }
}

/// Latency percentiles of completed operations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyMs {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// What the report shows about a history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistorySummary {
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub errors: BTreeMap<String, u64>,
    pub first_fail_ms: Option<u64>,
    pub last_fail_ms: Option<u64>,
    pub latency_ms: LatencyMs,
    /// Operations completed Ok in each virtual second [i, i+1).
    pub throughput_per_s: Vec<u64>,
    /// Operations completed with Fail in each virtual second.
    pub fails_per_s: Vec<u64>,
    /// p50 and p99 latency (ms) of operations completed in each second.
    pub latency_per_s: Vec<LatencyMs>,
}

#[derive(Debug, Default, Clone)]
pub struct History {
    pub ops: Vec<Op>,
}

impl History {
    pub fn push(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.ops.len() - 1
    }

    pub fn complete(&mut self, index: usize, t_us: u64, outcome: Outcome, reply: Option<Value>) {
        let op = &mut self.ops[index];
        assert!(op.complete_us.is_none());
        assert!(t_us >= op.invoke_us);
        op.complete_us = Some(t_us);
        op.outcome = outcome;
        op.reply = reply;
    }

    pub fn summary(&self) -> HistorySummary {
        summarize(&self.ops)
    }
}

/// The summary of `ops` (a whole history, or one workload's operations of it).
///
/// Latency percentiles are HdrHistogram's (1 µs to 1 hour, 3 significant digits): the
/// whole run's from one histogram, each second's as the histogram would give them (the
/// highest value equivalent to the nearest-rank sample) without a histogram per second.
pub fn summarize<'a>(ops: impl IntoIterator<Item = &'a Op>) -> HistorySummary {
    let mut s = HistorySummary::default();
    let mut all = new_histogram();
    let mut per_s: Vec<Vec<u64>> = Vec::new();
    for op in ops {
        match (&op.outcome, op.complete_us) {
            (Outcome::Unknown, _) | (_, None) => s.unknown += 1,
            (Outcome::Ok, Some(done)) => {
                s.ok += 1;
                bump(&mut s.throughput_per_s, done);
                let latency_us = (done - op.invoke_us).max(1);
                let recorded = record(&mut all, latency_us);
                let second = (done / 1_000_000) as usize;
                if per_s.len() <= second {
                    per_s.resize_with(second + 1, Vec::new);
                }
                per_s[second].push(recorded);
            }
            (Outcome::Fail(code), Some(done)) => {
                s.fail += 1;
                match s.errors.get_mut(code.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        s.errors.insert(code.clone(), 1);
                    }
                }
                bump(&mut s.fails_per_s, done);
                let ms = done / 1000;
                s.first_fail_ms = Some(s.first_fail_ms.map_or(ms, |f| f.min(ms)));
                s.last_fail_ms = Some(s.last_fail_ms.map_or(ms, |l| l.max(ms)));
            }
        }
    }
    s.latency_ms = percentiles(&all);
    s.latency_per_s = per_s
        .iter_mut()
        .map(|latencies| sorted_percentiles(&all, latencies))
        .collect();
    s
}

fn bump(series: &mut Vec<u64>, t_us: u64) {
    let second = (t_us / 1_000_000) as usize;
    if series.len() <= second {
        series.resize(second + 1, 0);
    }
    series[second] += 1;
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 1 hour with 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Records `value` (saturating) and returns the value the histogram counted: `value` itself,
/// or, when it is past the last bucket, the highest trackable value.
fn record(h: &mut Histogram<u64>, value: u64) -> u64 {
    h.saturating_record(value);
    // Past `high()` a value still counts as itself while its bucket exists (the counts reach
    // the end of the last bucket); the max then reaches it, as it never does when clamped
    // (every recorded value that fits is below it, since fitting is monotone).
    if value <= h.high() || h.max() >= h.highest_equivalent(value) {
        value
    } else {
        h.high()
    }
}

/// What [`percentiles`] gives for a histogram holding exactly `values` (as [`record`]
/// returned them): HdrHistogram's value at quantile q is the highest value equivalent to the
/// sample of rank max(1, ceil(q * n)), and its max the highest value equivalent to the largest.
fn sorted_percentiles(like: &Histogram<u64>, values: &mut [u64]) -> LatencyMs {
    if values.is_empty() {
        return LatencyMs::default();
    }
    values.sort_unstable();
    let ms = |us: u64| us as f64 / 1000.0;
    let at = |q: f64| {
        let rank = ((q * values.len() as f64).ceil() as usize).max(1);
        like.highest_equivalent(values[rank - 1])
    };
    LatencyMs {
        p50: ms(at(0.50)),
        p99: ms(at(0.99)),
        p999: ms(at(0.999)),
        max: ms(like.highest_equivalent(values[values.len() - 1])),
    }
}

fn percentiles(h: &Histogram<u64>) -> LatencyMs {
    if h.is_empty() {
        return LatencyMs::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    LatencyMs {
        p50: ms(h.value_at_quantile(0.50)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The per-second percentiles computed from sorted samples are the ones a histogram of
    /// the same samples gives, including the equivalent-value rounding and the clamp.
    #[test]
    fn sorted_percentiles_match_the_histogram() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in [1usize, 2, 3, 10, 999, 1000, 1001, 5000] {
            let mut h = new_histogram();
            let mut values = Vec::new();
            for _ in 0..n {
                let v = match rng.gen_range(0..4) {
                    0 => rng.gen_range(1..100),
                    1 => rng.gen_range(1..100_000),
                    2 => rng.gen_range(1..10_000_000_000u64),
                    _ => 1_000_003,
                };
                values.push(record(&mut h, v));
            }
            assert_eq!(sorted_percentiles(&h, &mut values), percentiles(&h), "{n}");
        }
    }
}
