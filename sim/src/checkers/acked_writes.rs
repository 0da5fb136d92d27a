//! Acknowledged writes lost: which writes the server said OK to are missing from the final
//! state of the node the workload wrote to, and when they were acknowledged.
//!
//! The workloads make this decidable without a full linearizability search: every SET value
//! and every RPUSH element is unique to its operation ("c<client>:<seq>..."), so the final
//! state names the write it came from. Per key, by the kind of write the key received:
//!
//! - Register (SET). Let S be the write whose value is the final value. An acknowledged write
//!   W with another value is lost when S does not exist (the key is missing, holds another
//!   type, or holds a value no operation wrote), or when W was invoked after S completed: W
//!   followed S in real time, so W had to supersede it. A write concurrent with S may
//!   legitimately be ordered before it. An S whose reply never came (Unknown) may have taken
//!   effect at any time after its invocation, so nothing strictly follows it.
//! - Append (RPUSH). An acknowledged element absent from the final list is lost.
//! - Counter (INCR). The final value must count at least every acknowledged increment; the
//!   shortfall is the number lost. Increments have no identity, so which ones vanished is an
//!   attribution: Redis loses a suffix of a node's history (a replica holds a prefix; a flush
//!   or an empty restart loses all of it), so an increment that returned r is named lost when
//!   the counter was later seen below r (by the final value, or by an acknowledged increment
//!   invoked after it completed that returned r or less), earliest first; if that names fewer
//!   than the shortfall, the rest are the highest replies left.
//!
//! Writes that failed or whose outcome is unknown are never lost, but may be the final value.
//! A key written by more than one kind of write, and every key of a node that is down (or still
//! loading its dataset) at the end, are not evaluated (and reported as such) rather than guessed at.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use redsim_engine::object::FixedState;

use crate::history::{History, Op, OpKind, Outcome};

/// What a key holds at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalValue<'a> {
    Missing,
    Str(&'a [u8]),
    List(Vec<&'a [u8]>),
    /// Another type ("hash", "set", "zset"): no workload write produced it.
    Other(&'static str),
}

/// Read access to the final state of the nodes the workloads wrote to (database 0).
pub trait FinalState {
    /// Why the node's final dataset cannot be judged ("down at the end of the run"), or None
    /// when it can.
    fn unavailable(&self, node: &str) -> Option<&'static str>;
    /// The key's final value on an available node.
    fn value(&self, node: &str, key: &[u8]) -> FinalValue<'_>;
}

/// One acknowledged write the final state does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostWrite {
    /// The operation's index in the history.
    pub op: usize,
    pub kind: OpKind,
    /// The node that acknowledged the write (World fills it in from the history; the checker
    /// alone names the node whose final state judged it).
    pub node: String,
    pub key: String,
    pub client: u32,
    pub invoke_us: u64,
    /// When the acknowledgement reached the client.
    pub acked_us: u64,
    /// The written value's tag ("c3:17"); None for INCR.
    pub value_tag: Option<String>,
}

/// Acknowledged writes the checker could not judge, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotEvaluated {
    pub node: String,
    pub reason: String,
    pub acked_writes: u64,
}

/// The checker's verdict on a whole history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckedWritesResult {
    /// Every acknowledged write in the history.
    pub acked_writes: u64,
    /// The acknowledged writes that were judged (the rest are in `not_evaluated`).
    pub evaluated: u64,
    /// Every lost write, in order of acknowledgement.
    pub lost: Vec<LostWrite>,
    pub not_evaluated: Vec<NotEvaluated>,
}

impl AckedWritesResult {
    pub fn lost_count(&self) -> u64 {
        self.lost.len() as u64
    }
    pub fn first_lost_acked_us(&self) -> Option<u64> {
        self.lost.iter().map(|l| l.acked_us).min()
    }
    pub fn last_lost_acked_us(&self) -> Option<u64> {
        self.lost.iter().map(|l| l.acked_us).max()
    }
}

/// Why a key is not judged: a register, a list and a counter rule cannot all hold at once.
pub const MIXED_KINDS: &str = "keys written by more than one kind of write";

/// The kinds of write a key received, one bit per [`OpKind`].
fn kind_bit(kind: OpKind) -> u8 {
    1 << (kind as u8)
}

/// The one kind of a kind set with a single bit.
fn only_kind(bits: u8) -> OpKind {
    const KINDS: [OpKind; 5] = [
        OpKind::Set,
        OpKind::Get,
        OpKind::Incr,
        OpKind::RPush,
        OpKind::LRange,
    ];
    assert_eq!(bits.count_ones(), 1);
    KINDS[bits.trailing_zeros() as usize]
}

/// Judges `history` against the final state. `targets[w]` is the node workload `w` wrote to.
///
/// Writes are grouped by (node, key) through a hash index (the order groups are judged in does
/// not show: lost writes are sorted by acknowledgement and operation, skipped ones summed by
/// node and reason).
pub fn check(history: &History, targets: &[String], state: &impl FinalState) -> AckedWritesResult {
    // Distinct target nodes, and each workload's.
    let mut nodes: Vec<&str> = Vec::new();
    let workload_node: Vec<u32> = targets
        .iter()
        .map(|t| match nodes.iter().position(|n| *n == t.as_str()) {
            Some(i) => i as u32,
            None => {
                nodes.push(t);
                (nodes.len() - 1) as u32
            }
        })
        .collect();
    // At most one group per write: sized once instead of rehashed while it grows.
    let write_ops = history.ops.iter().filter(|op| op.kind.is_write()).count();
    let mut groups: IndexMap<(u32, &str), u32, FixedState> =
        IndexMap::with_capacity_and_hasher(write_ops, FixedState::default());
    // Per group: the kinds of write, how many writes and how many acknowledged.
    let mut kinds: Vec<u8> = Vec::new();
    let mut counts: Vec<u32> = Vec::new();
    let mut acked: Vec<u64> = Vec::new();
    // Per write operation: (its group, its history index).
    let mut writes: Vec<(u32, u32)> = Vec::with_capacity(write_ops);
    let mut result = AckedWritesResult::default();
    for (i, op) in history.ops.iter().enumerate() {
        if !op.kind.is_write() {
            continue;
        }
        let is_acked = op.is_acked_write();
        result.acked_writes += u64::from(is_acked);
        let node = *workload_node
            .get(op.workload as usize)
            .expect("every workload has a target");
        let next = groups.len() as u32;
        let g = *groups.entry((node, op.key.as_str())).or_insert(next) as usize;
        if g == kinds.len() {
            kinds.push(0);
            counts.push(0);
            acked.push(0);
        }
        kinds[g] |= kind_bit(op.kind);
        counts[g] += 1;
        acked[g] += u64::from(is_acked);
        writes.push((g as u32, i as u32));
    }
    // The history indices of each group's writes, in history order (a counting sort).
    let mut starts: Vec<usize> = Vec::with_capacity(counts.len() + 1);
    let mut total = 0usize;
    for &c in &counts {
        starts.push(total);
        total += c as usize;
    }
    starts.push(total);
    let mut fill = starts.clone();
    let mut by_group = vec![0usize; total];
    for &(g, i) in &writes {
        by_group[fill[g as usize]] = i as usize;
        fill[g as usize] += 1;
    }
    let unavailable: Vec<Option<&'static str>> =
        nodes.iter().map(|n| state.unavailable(n)).collect();
    // Unjudged acknowledged writes by (node, reason), so each reason is reported once.
    let mut skipped: BTreeMap<(&str, &'static str), u64> = BTreeMap::new();
    let mut ops: Vec<(usize, &Op)> = Vec::new();
    for (g, (&(node_index, key), _)) in groups.iter().enumerate() {
        let acked = acked[g];
        if acked == 0 {
            continue;
        }
        let node = nodes[node_index as usize];
        let kind = match (unavailable[node_index as usize], kinds[g].count_ones()) {
            (Some(reason), _) => {
                *skipped.entry((node, reason)).or_default() += acked;
                continue;
            }
            (None, 1) => only_kind(kinds[g]),
            (None, _) => {
                *skipped.entry((node, MIXED_KINDS)).or_default() += acked;
                continue;
            }
        };
        result.evaluated += acked;
        ops.clear();
        ops.extend(
            by_group[starts[g]..starts[g + 1]]
                .iter()
                .map(|&i| (i, &history.ops[i])),
        );
        let final_value = state.value(node, key.as_bytes());
        let lost = match kind {
            OpKind::Set => lost_register(&ops, &final_value),
            OpKind::RPush => lost_appends(&ops, &final_value),
            OpKind::Incr => lost_increments(&ops, &final_value),
            OpKind::Get | OpKind::LRange => unreachable!("only writes are grouped by key"),
        };
        result.lost.extend(
            lost.into_iter()
                .map(|i| lost_write(i, &history.ops[i], node)),
        );
    }
    result.lost.sort_by_key(|l| (l.acked_us, l.op));
    result.not_evaluated = skipped
        .into_iter()
        .map(|((node, reason), acked_writes)| NotEvaluated {
            node: node.to_string(),
            reason: reason.to_string(),
            acked_writes,
        })
        .collect();
    result
}

fn lost_write(index: usize, op: &Op, node: &str) -> LostWrite {
    LostWrite {
        op: index,
        kind: op.kind,
        node: node.to_string(),
        key: op.key.clone(),
        client: op.client,
        invoke_us: op.invoke_us,
        acked_us: op.complete_us.expect("an acknowledged write completed"),
        value_tag: op.value_tag(),
    }
}

/// The register rule: see the module documentation.
fn lost_register(ops: &[(usize, &Op)], final_value: &FinalValue) -> Vec<usize> {
    let final_bytes = match final_value {
        FinalValue::Str(bytes) => Some(*bytes),
        _ => None,
    };
    let survivor = final_bytes.and_then(|f| {
        ops.iter()
            .map(|(_, op)| op)
            .find(|op| op.value.as_deref() == Some(f))
    });
    // When the survivor's effect certainly ended; None = it may take effect at any time.
    let survivor_done = survivor.and_then(|s| {
        if s.outcome == Outcome::Unknown {
            None
        } else {
            s.complete_us
        }
    });
    ops.iter()
        .filter(|(_, w)| w.is_acked_write() && w.value.as_deref() != final_bytes)
        .filter(|(_, w)| survivor.is_none() || survivor_done.is_some_and(|done| w.invoke_us > done))
        .map(|&(i, _)| i)
        .collect()
}

/// The append rule: every acknowledged element must be in the final list.
fn lost_appends(ops: &[(usize, &Op)], final_value: &FinalValue) -> Vec<usize> {
    let present: BTreeSet<&[u8]> = match final_value {
        FinalValue::List(elements) => elements.iter().copied().collect(),
        _ => BTreeSet::new(),
    };
    ops.iter()
        .filter(|(_, w)| w.is_acked_write())
        .filter(|(_, w)| w.value.as_deref().is_none_or(|v| !present.contains(v)))
        .map(|&(i, _)| i)
        .collect()
}

/// The counter rule: see the module documentation.
fn lost_increments(ops: &[(usize, &Op)], final_value: &FinalValue) -> Vec<usize> {
    let final_count = match final_value {
        FinalValue::Str(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0),
        _ => 0,
    };
    let acked: Vec<(usize, &Op)> = ops
        .iter()
        .copied()
        .filter(|(_, w)| w.is_acked_write())
        .collect();
    let shortfall = (acked.len() as u64).saturating_sub(final_count.max(0) as u64) as usize;
    if shortfall == 0 {
        return Vec::new();
    }
    let reply = |w: &Op| w.int_reply().unwrap_or(i64::MIN);
    let done = |w: &Op| w.complete_us.expect("an acknowledged write completed");
    // Acknowledged increments by invocation time, and the lowest reply from each one onwards.
    let mut by_invoke: Vec<(u64, i64)> =
        acked.iter().map(|(_, w)| (w.invoke_us, reply(w))).collect();
    by_invoke.sort();
    let mut lowest_from = vec![i64::MAX; by_invoke.len() + 1];
    for k in (0..by_invoke.len()).rev() {
        lowest_from[k] = lowest_from[k + 1].min(by_invoke[k].1);
    }
    let seen_below = |w: &Op| {
        let later = by_invoke.partition_point(|&(invoke, _)| invoke <= done(w));
        final_count < reply(w) || lowest_from[later] <= reply(w)
    };
    type Indexed<'a> = Vec<(usize, &'a Op)>;
    let (mut named, mut rest): (Indexed, Indexed) =
        acked.into_iter().partition(|(_, w)| seen_below(w));
    named.sort_by_key(|(i, w)| (done(w), *i));
    // Highest reply first, then the latest acknowledgement, then the latest operation.
    rest.sort_by_key(|(i, w)| std::cmp::Reverse((reply(w), done(w), *i)));
    named
        .into_iter()
        .chain(rest)
        .take(shortfall)
        .map(|(i, _)| i)
        .collect()
}
