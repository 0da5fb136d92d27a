//! Linearizability of single-key histories: Wing & Gong's search with Lowe's cache, the way
//! porcupine implements it.
//!
//! Every key is checked on its own (linearizability is compositional: a history is
//! linearizable iff each key's sub-history is). A key's model is one string value that may be
//! absent: SET writes it, GET reads it, INCR reads it as an integer (absent = 0) and returns
//! the new value, so a key used as a register and one used as a counter share one model.
//! Keys touched by list commands are not checked.
//!
//! Outcomes: a failed op (an error reply, or never sent) did not happen and is dropped. An op
//! whose outcome is unknown may take effect at any time after its invocation, or never: it is
//! a call whose return is at +infinity; since a SET or INCR can always be placed after every
//! other op, "never" needs no separate case. An unknown GET constrains nothing and is dropped.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::BuildHasherDefault;

use redsim_engine::resp::Value;

use crate::history::{History, Op, OpKind, Outcome};

/// Explored search states per key when the caller does not choose: a 10k-op key whose
/// operations overlap little needs about one state per op.
pub const DEFAULT_BUDGET: u64 = 200_000;

/// Sub-checks the witness shrinker may run per non-linearizable key.
const SHRINK_CHECKS_MAX: usize = 400;

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyVerdict {
    Linearizable,
    /// No order of the operations explains the replies; `witness` is a smallest set found
    /// (no single op can be removed from it and keep it non-linearizable).
    NotLinearizable {
        witness: Vec<WitnessOp>,
    },
    /// The search gave up after `budget` states.
    Unknown {
        budget: u64,
    },
}

/// One operation of a witness, as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WitnessOp {
    /// The index of the operation in the history.
    pub index: usize,
    pub client: u32,
    pub kind: &'static str,
    pub invoke_us: u64,
    /// None: the outcome is unknown.
    pub complete_us: Option<u64>,
    /// The value written (SET) or read (GET, INCR); None is nil.
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinearizabilityReport {
    pub keys: BTreeMap<String, KeyVerdict>,
}

impl LinearizabilityReport {
    /// true: every key is linearizable; false: some key is not; None: no key is known not
    /// linearizable but some ran out of budget.
    pub fn linearizable(&self) -> Option<bool> {
        let mut all = Some(true);
        for v in self.keys.values() {
            match v {
                KeyVerdict::NotLinearizable { .. } => return Some(false),
                KeyVerdict::Unknown { .. } => all = None,
                KeyVerdict::Linearizable => {}
            }
        }
        all
    }
}

/// Checks every SET/GET/INCR key of the history with at most `budget` explored states per key.
pub fn check_linearizable(history: &History, budget: u64) -> LinearizabilityReport {
    let mut per_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut list_keys: Vec<&str> = Vec::new();
    for (i, op) in history.ops.iter().enumerate() {
        if matches!(op.kind, OpKind::RPush | OpKind::LRange) {
            list_keys.push(&op.key);
        }
        per_key.entry(&op.key).or_default().push(i);
    }
    let mut report = LinearizabilityReport::default();
    for (key, indices) in per_key {
        if list_keys.contains(&key) {
            continue;
        }
        let calls = calls_of(&history.ops, &indices);
        let verdict = match search(&calls, budget) {
            Search::Ok => KeyVerdict::Linearizable,
            Search::OutOfBudget => KeyVerdict::Unknown { budget },
            Search::Stuck { blocked_at_us } => {
                let witness = shrink(&calls, blocked_at_us, budget);
                KeyVerdict::NotLinearizable {
                    witness: witness
                        .iter()
                        .map(|c| witness_op(&history.ops, c))
                        .collect(),
                }
            }
        };
        report.keys.insert(key.to_string(), verdict);
    }
    report
}

/// The model's value: absent, an integer (a canonical decimal string, so INCR can use it), or
/// any other string, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    Nil,
    Int(i64),
    Bytes(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Set(State),
    Get(State),
    /// The value INCR returned; None: unknown.
    Incr(Option<i64>),
}

/// An operation that took part: what it did and when.
#[derive(Debug, Clone)]
struct Call {
    index: usize,
    step: Step,
    invoke_us: u64,
    /// None: unknown outcome, returns at +infinity.
    return_us: Option<u64>,
}

fn calls_of(ops: &[Op], indices: &[usize]) -> Vec<Call> {
    let mut interned: BTreeMap<Vec<u8>, u32> = BTreeMap::new();
    let mut state_of = |b: &[u8]| -> State {
        if let Some(n) = canonical_int(b) {
            return State::Int(n);
        }
        let next = interned.len() as u32;
        State::Bytes(*interned.entry(b.to_vec()).or_insert(next))
    };
    let mut calls = Vec::new();
    for &index in indices {
        let op = &ops[index];
        let return_us = match (&op.outcome, op.complete_us) {
            (Outcome::Fail(_), _) => continue,
            (Outcome::Ok, Some(t)) => Some(t),
            _ => None,
        };
        let step = match (op.kind, return_us) {
            (OpKind::Get, None) => continue,
            (OpKind::Get, Some(_)) => match &op.reply {
                Some(Value::Bulk(b)) => Step::Get(state_of(b)),
                Some(Value::Nil) | None => Step::Get(State::Nil),
                Some(_) => continue,
            },
            (OpKind::Set, _) => Step::Set(state_of(op.value.as_deref().unwrap_or_default())),
            (OpKind::Incr, Some(_)) => Step::Incr(op.int_reply()),
            (OpKind::Incr, None) => Step::Incr(None),
            (OpKind::RPush | OpKind::LRange, _) => continue,
        };
        calls.push(Call {
            index,
            step,
            invoke_us: op.invoke_us,
            return_us,
        });
    }
    calls
}

fn canonical_int(b: &[u8]) -> Option<i64> {
    let n: i64 = std::str::from_utf8(b).ok()?.parse().ok()?;
    (n.to_string().as_bytes() == b).then_some(n)
}

/// Applies one call to the model: the new state, or None if the reply is impossible here.
fn apply(state: State, step: Step) -> Option<State> {
    match step {
        Step::Set(v) => Some(v),
        Step::Get(v) => (v == state).then_some(state),
        Step::Incr(reply) => {
            let current = match state {
                State::Nil => Some(0),
                State::Int(n) => Some(n),
                State::Bytes(_) => None,
            };
            let next = current.and_then(|n| n.checked_add(1));
            match (reply, next) {
                (Some(r), Some(n)) => (r == n).then_some(State::Int(n)),
                (Some(_), None) => None,
                // An INCR of unknown outcome against a non-integer errored: no effect.
                (None, Some(n)) => Some(State::Int(n)),
                (None, None) => Some(state),
            }
        }
    }
}

enum Search {
    Ok,
    OutOfBudget,
    /// No linearization; the deepest search point was blocked by a return at this time.
    Stuck {
        blocked_at_us: u64,
    },
}

/// The call/return entries ordered by time, as a doubly linked list over indices. Entry 0 is
/// the head; entry 2c+1 is call c's call event, 2c+2 its return.
struct Entries {
    next: Vec<usize>,
    prev: Vec<usize>,
}

const END: usize = usize::MAX;

impl Entries {
    fn new(calls: &[Call]) -> Entries {
        // Same time: calls before returns, so touching ops count as concurrent (permissive).
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(calls.len() * 2);
        for (c, call) in calls.iter().enumerate() {
            events.push((call.invoke_us, false, 2 * c + 1));
            events.push((call.return_us.unwrap_or(u64::MAX), true, 2 * c + 2));
        }
        events.sort();
        let n = 2 * calls.len() + 1;
        let (mut next, mut prev) = (vec![END; n], vec![END; n]);
        let mut last = 0;
        for &(_, _, e) in &events {
            next[last] = e;
            prev[e] = last;
            last = e;
        }
        Entries { next, prev }
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != END {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != END {
            self.prev[n] = e;
        }
    }

    /// Removes call c's call and return entries (return first, so relinking in reverse
    /// order restores the list).
    fn lift(&mut self, c: usize) {
        self.unlink(2 * c + 1);
        self.unlink(2 * c + 2);
    }

    fn unlift(&mut self, c: usize) {
        self.relink(2 * c + 2);
        self.relink(2 * c + 1);
    }
}

type FixedState = BuildHasherDefault<DefaultHasher>;

/// Wing & Gong's search: linearize the first pending call whose reply the model allows, skip
/// (state, set of linearized calls) pairs already seen, backtrack at a return.
fn search(calls: &[Call], budget: u64) -> Search {
    let definite = calls.iter().filter(|c| c.return_us.is_some()).count();
    let mut entries = Entries::new(calls);
    let mut linearized = vec![0u64; calls.len().div_ceil(64)];
    // Membership only, never iterated: an IndexSet with a fixed hasher keeps tidy's rule.
    let mut seen: indexmap::IndexSet<(Vec<u64>, State), FixedState> = indexmap::IndexSet::default();
    let mut stack: Vec<(usize, State)> = Vec::new();
    let (mut state, mut done, mut explored) = (State::Nil, 0usize, 0u64);
    let (mut deepest, mut blocked_at_us) = (0usize, 0u64);
    let mut entry = entries.next[0];
    // Calls of unknown outcome left at the end can all be dropped.
    while done < definite {
        let is_call = entry % 2 == 1;
        if is_call {
            let c = entry / 2;
            if let Some(next_state) = apply(state, calls[c].step) {
                linearized[c / 64] |= 1 << (c % 64);
                if seen.insert((linearized.clone(), next_state)) {
                    explored += 1;
                    if explored > budget {
                        return Search::OutOfBudget;
                    }
                    stack.push((c, state));
                    state = next_state;
                    done += usize::from(calls[c].return_us.is_some());
                    entries.lift(c);
                    entry = entries.next[0];
                    continue;
                }
                linearized[c / 64] &= !(1 << (c % 64));
            }
            entry = entries.next[entry];
        } else {
            if stack.len() >= deepest {
                deepest = stack.len();
                blocked_at_us = calls[(entry - 2) / 2].return_us.unwrap_or(u64::MAX);
            }
            let Some((c, previous)) = stack.pop() else {
                return Search::Stuck { blocked_at_us };
            };
            state = previous;
            done -= usize::from(calls[c].return_us.is_some());
            linearized[c / 64] &= !(1 << (c % 64));
            entries.unlift(c);
            entry = entries.next[2 * c + 1];
        }
    }
    Search::Ok
}

/// A smallest non-linearizable subset: first the calls invoked by the time the deepest search
/// point was blocked (if that alone is already non-linearizable), then calls dropped one at a
/// time, latest first, until none can be. A call may be dropped only if the rest stays
/// non-linearizable and every read the rest explained stays explained: otherwise a read of a
/// value whose write was dropped would be a trivial, uninformative witness.
fn shrink(calls: &[Call], blocked_at_us: u64, budget: u64) -> Vec<Call> {
    let stuck = |cs: &[Call]| matches!(search(cs, budget), Search::Stuck { .. });
    let prefix: Vec<Call> = calls
        .iter()
        .filter(|c| c.invoke_us <= blocked_at_us)
        .cloned()
        .collect();
    let mut current = if prefix.len() < calls.len() && stuck(&prefix) {
        prefix
    } else {
        calls.to_vec()
    };
    let mut checks = 0;
    let mut changed = true;
    while changed && checks < SHRINK_CHECKS_MAX {
        changed = false;
        for i in (0..current.len()).rev() {
            if checks >= SHRINK_CHECKS_MAX || i >= current.len() {
                continue;
            }
            let mut without = current.clone();
            without.remove(i);
            if !still_explained(&current, &without) {
                continue;
            }
            checks += 1;
            if stuck(&without) {
                current = without;
                changed = true;
            }
        }
    }
    current
}

/// Whether every read of `rest` that some write of `all` explained is still explained.
fn still_explained(all: &[Call], rest: &[Call]) -> bool {
    rest.iter()
        .all(|c| !explained(c, all) || explained(c, rest))
}

/// Whether some write in `calls` could have produced what `call` read.
fn explained(call: &Call, calls: &[Call]) -> bool {
    let needed = match call.step {
        Step::Get(State::Nil) | Step::Set(_) | Step::Incr(None) | Step::Incr(Some(1)) => {
            return true
        }
        Step::Get(v) => v,
        Step::Incr(Some(n)) => State::Int(n - 1),
    };
    calls.iter().any(|w| match w.step {
        Step::Set(v) => v == needed,
        Step::Incr(Some(n)) => State::Int(n) == needed,
        Step::Incr(None) | Step::Get(_) => false,
    })
}

fn witness_op(ops: &[Op], call: &Call) -> WitnessOp {
    let op = &ops[call.index];
    let value = match op.kind {
        OpKind::Set => op.value_tag(),
        _ => match &op.reply {
            Some(Value::Bulk(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Some(Value::Int(n)) => Some(n.to_string()),
            _ => None,
        },
    };
    WitnessOp {
        index: call.index,
        client: op.client,
        kind: op.kind.name(),
        invoke_us: op.invoke_us,
        complete_us: call.return_us,
        value,
    }
}
