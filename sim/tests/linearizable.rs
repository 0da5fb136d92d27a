//! The linearizability checker on hand-made histories, and a property: histories produced by
//! a sequential execution are always linearizable.

use proptest::prelude::*;
use redsim_engine::resp::Value;
use redsim_sim::checkers::linearizable::DEFAULT_BUDGET;
use redsim_sim::checkers::{check_linearizable, KeyVerdict};
use redsim_sim::{History, Op, OpKind, Outcome};

/// An operation on key "k" by `client`, invoked and completed at the given milliseconds.
fn op(client: u32, kind: OpKind, invoke_ms: u64, complete_ms: Option<u64>) -> Op {
    Op {
        client,
        workload: 0,
        node: None,
        kind,
        key: "k".into(),
        value: None,
        reply: None,
        invoke_us: invoke_ms * 1000,
        complete_us: complete_ms.map(|ms| ms * 1000),
        outcome: if complete_ms.is_some() {
            Outcome::Ok
        } else {
            Outcome::Unknown
        },
    }
}

fn set(client: u32, value: &str, invoke_ms: u64, complete_ms: u64) -> Op {
    let mut o = op(client, OpKind::Set, invoke_ms, Some(complete_ms));
    o.value = Some(value.as_bytes().to_vec());
    o
}

/// A GET that read `value` (None: nil).
fn get(client: u32, value: Option<&str>, invoke_ms: u64, complete_ms: u64) -> Op {
    let mut o = op(client, OpKind::Get, invoke_ms, Some(complete_ms));
    o.reply = Some(value.map_or(Value::Nil, |v| Value::Bulk(v.as_bytes().to_vec())));
    o
}

fn incr(client: u32, reply: i64, invoke_ms: u64, complete_ms: u64) -> Op {
    let mut o = op(client, OpKind::Incr, invoke_ms, Some(complete_ms));
    o.reply = Some(Value::Int(reply));
    o
}

fn verdict(ops: Vec<Op>, budget: u64) -> KeyVerdict {
    let report = check_linearizable(&History { ops }, budget);
    report.keys["k"].clone()
}

fn witness_indices(v: &KeyVerdict) -> Vec<usize> {
    match v {
        KeyVerdict::NotLinearizable { witness } => witness.iter().map(|w| w.index).collect(),
        other => panic!("expected not linearizable, got {other:?}"),
    }
}

#[test]
fn sequential_register_is_linearizable() {
    let ops = vec![
        get(0, None, 0, 1),
        set(0, "a", 2, 3),
        get(1, Some("a"), 4, 5),
        set(1, "b", 6, 7),
        get(0, Some("b"), 8, 9),
    ];
    assert_eq!(verdict(ops, DEFAULT_BUDGET), KeyVerdict::Linearizable);
}

#[test]
fn overlapping_writes_then_a_read_of_either_is_linearizable() {
    for seen in ["a", "b"] {
        let ops = vec![
            set(0, "a", 0, 10),
            set(1, "b", 1, 9),
            get(2, Some(seen), 11, 12),
        ];
        assert_eq!(
            verdict(ops, DEFAULT_BUDGET),
            KeyVerdict::Linearizable,
            "{seen}"
        );
    }
}

#[test]
fn read_concurrent_with_a_write_may_see_old_or_new() {
    for seen in [Some("a"), Some("b")] {
        let ops = vec![set(0, "a", 0, 1), set(0, "b", 2, 10), get(1, seen, 3, 5)];
        assert_eq!(verdict(ops, DEFAULT_BUDGET), KeyVerdict::Linearizable);
    }
}

#[test]
fn stale_read_after_a_completed_write_is_not_linearizable() {
    let ops = vec![
        set(0, "a", 0, 1),
        set(0, "b", 2, 3),
        get(1, Some("a"), 4, 5),
    ];
    let v = verdict(ops, DEFAULT_BUDGET);
    // All three are needed: without "a" nothing wrote it; without "b" the read is fresh.
    assert_eq!(witness_indices(&v), vec![0, 1, 2]);
    let KeyVerdict::NotLinearizable { witness } = v else {
        unreachable!()
    };
    assert_eq!(witness[2].kind, "get");
    assert_eq!(witness[2].client, 1);
    assert_eq!(witness[2].value.as_deref(), Some("a"));
    assert_eq!(witness[2].invoke_us, 4000);
    assert_eq!(witness[2].complete_us, Some(5000));
}

#[test]
fn reads_in_an_order_no_write_order_allows_are_not_linearizable() {
    // Two concurrent writes; one reader sees a then b, the other b then a, all after both.
    let ops = vec![
        set(0, "a", 0, 10),
        set(1, "b", 0, 10),
        get(2, Some("a"), 11, 12),
        get(2, Some("b"), 13, 14),
        get(3, Some("b"), 15, 16),
        get(3, Some("a"), 17, 18),
    ];
    let v = verdict(ops, DEFAULT_BUDGET);
    assert!(matches!(v, KeyVerdict::NotLinearizable { .. }), "{v:?}");
}

#[test]
fn lost_incr_is_not_linearizable() {
    let ops = vec![incr(0, 1, 0, 1), incr(1, 2, 2, 3), get(2, Some("1"), 4, 5)];
    let v = verdict(ops, DEFAULT_BUDGET);
    // The first INCR stays: it explains the second's reply and the read.
    assert_eq!(witness_indices(&v), vec![0, 1, 2]);
    // Two concurrent INCRs that both return 1: one increment was lost.
    let ops = vec![incr(0, 1, 0, 5), incr(1, 1, 1, 4)];
    assert!(matches!(
        verdict(ops, DEFAULT_BUDGET),
        KeyVerdict::NotLinearizable { .. }
    ));
    let ops = vec![incr(0, 1, 0, 5), incr(1, 2, 1, 4), get(2, Some("2"), 6, 7)];
    assert_eq!(verdict(ops, DEFAULT_BUDGET), KeyVerdict::Linearizable);
}

#[test]
fn unknown_write_may_explain_a_later_read() {
    let mut timed_out = set(0, "b", 2, 3);
    timed_out.complete_us = None;
    timed_out.outcome = Outcome::Unknown;
    let ops = vec![set(0, "a", 0, 1), timed_out, get(1, Some("b"), 50, 51)];
    assert_eq!(
        verdict(ops.clone(), DEFAULT_BUDGET),
        KeyVerdict::Linearizable
    );
    // ... or never take effect.
    let mut never = ops;
    never[2] = get(1, Some("a"), 50, 51);
    assert_eq!(verdict(never, DEFAULT_BUDGET), KeyVerdict::Linearizable);
    // An unknown INCR may have counted.
    let mut lost = op(0, OpKind::Incr, 0, None);
    lost.outcome = Outcome::Unknown;
    let ops = vec![lost, get(1, Some("1"), 10, 11), incr(1, 2, 12, 13)];
    assert_eq!(verdict(ops, DEFAULT_BUDGET), KeyVerdict::Linearizable);
}

#[test]
fn failed_write_must_not_explain_a_read() {
    let mut refused = set(0, "b", 2, 3);
    refused.outcome = Outcome::Fail("NOREPLICAS".into());
    let ops = vec![set(0, "a", 0, 1), refused, get(1, Some("b"), 4, 5)];
    let v = verdict(ops, DEFAULT_BUDGET);
    // The failed SET is not part of the witness: it never happened.
    assert_eq!(witness_indices(&v), vec![2]);
}

#[test]
fn budget_exhaustion_reports_unknown() {
    // Many concurrent writes and a read nobody wrote: every order must be tried.
    let mut ops: Vec<Op> = (0..14).map(|i| set(i, &format!("v{i}"), 0, 100)).collect();
    ops.push(get(99, Some("never"), 101, 102));
    assert_eq!(verdict(ops.clone(), 50), KeyVerdict::Unknown { budget: 50 });
    let report = check_linearizable(&History { ops }, 50);
    assert_eq!(report.linearizable(), None);
}

#[test]
fn witness_is_minimal_for_a_small_case() {
    // Noise around a stale read: other clients' reads and writes that do not matter.
    let ops = vec![
        set(0, "a", 0, 1),
        get(2, Some("a"), 1, 2),
        set(0, "b", 2, 3),
        get(3, Some("b"), 3, 4),
        set(4, "c", 20, 21),
        get(1, Some("a"), 5, 6),
        get(2, Some("c"), 22, 23),
    ];
    let v = verdict(ops, DEFAULT_BUDGET);
    assert_eq!(witness_indices(&v), vec![0, 2, 5]);
}

#[test]
fn keys_are_checked_independently_in_order() {
    let mut other = set(0, "x", 0, 1);
    other.key = "j".into();
    let ops = vec![
        other,
        set(0, "a", 0, 1),
        set(0, "b", 2, 3),
        get(1, Some("a"), 4, 5),
    ];
    let report = check_linearizable(&History { ops }, DEFAULT_BUDGET);
    let keys: Vec<&String> = report.keys.keys().collect();
    assert_eq!(keys, ["j", "k"]);
    assert_eq!(report.keys["j"], KeyVerdict::Linearizable);
    assert_eq!(report.linearizable(), Some(false));
}

#[test]
fn ten_thousand_sequential_ops_finish_quickly() {
    let mut ops = Vec::new();
    for i in 0..10_000u64 {
        let client = (i % 7) as u32;
        ops.push(match i % 3 {
            0 => set(client, &format!("v{i}"), 2 * i, 2 * i + 1),
            _ => get(client, Some(&format!("v{}", i - i % 3)), 2 * i, 2 * i + 1),
        });
    }
    let start = std::time::Instant::now();
    assert_eq!(verdict(ops, DEFAULT_BUDGET), KeyVerdict::Linearizable);
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
}

/// Ops from a sequential execution: each step (client, what, before_ms, after_ms) takes
/// effect at its own instant t; its invoke is up to `before_ms` earlier and its completion up
/// to `after_ms` later, so real-time order never contradicts the effect order.
fn sequential_history(steps: &[(u32, u8, u64, u64)]) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut value: Option<String> = None;
    for (i, &(client, what, before_ms, after_ms)) in steps.iter().enumerate() {
        let t = 1000 + 100 * i as u64;
        let (invoke, complete) = (t - before_ms, t + after_ms);
        let counter = match value.as_deref() {
            None => Some(0),
            Some(v) => v.parse::<i64>().ok(),
        };
        let o = match (what, counter) {
            (0, _) => {
                // Half the writes store an integer, so INCR has something to count from.
                let v = if i % 2 == 0 {
                    format!("v{i}")
                } else {
                    i.to_string()
                };
                value = Some(v.clone());
                set(client, &v, invoke, complete)
            }
            (1, Some(n)) => {
                value = Some((n + 1).to_string());
                incr(client, n + 1, invoke, complete)
            }
            _ => get(client, value.as_deref(), invoke, complete),
        };
        ops.push(o);
    }
    ops
}

proptest! {
    #[test]
    fn sequential_executions_are_linearizable(
        steps in proptest::collection::vec((0u32..4, 0u8..3, 0u64..250, 0u64..250), 1..40)
    ) {
        let ops = sequential_history(&steps);
        prop_assert_eq!(verdict(ops, DEFAULT_BUDGET), KeyVerdict::Linearizable);
    }
}
