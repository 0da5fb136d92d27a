//! The acknowledged-writes checker's rule, on hand-built histories and final states.

use std::collections::{BTreeMap, BTreeSet};

use redsim_engine::resp::Value;
use redsim_sim::checkers::acked_writes::check;
use redsim_sim::checkers::{FinalState, FinalValue};
use redsim_sim::{History, Op, OpKind, Outcome};

/// A final state built by hand: node -> key -> value; nodes in `down` cannot be read.
#[derive(Default)]
struct Fixed {
    strings: BTreeMap<(String, String), Vec<u8>>,
    lists: BTreeMap<(String, String), Vec<Vec<u8>>>,
    hashes: BTreeSet<(String, String)>,
    down: BTreeSet<String>,
}

impl Fixed {
    fn string(mut self, key: &str, value: &str) -> Fixed {
        self.strings
            .insert(("m1".into(), key.into()), value.as_bytes().to_vec());
        self
    }
    fn list(mut self, key: &str, values: &[&str]) -> Fixed {
        self.lists.insert(
            ("m1".into(), key.into()),
            values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        );
        self
    }
}

impl FinalState for Fixed {
    fn unavailable(&self, node: &str) -> Option<&'static str> {
        self.down
            .contains(node)
            .then_some("down at the end of the run")
    }
    fn value(&self, node: &str, key: &[u8]) -> FinalValue<'_> {
        let k = (node.to_string(), String::from_utf8(key.to_vec()).unwrap());
        if let Some(v) = self.strings.get(&k) {
            return FinalValue::Str(v);
        }
        if let Some(l) = self.lists.get(&k) {
            return FinalValue::List(l.iter().map(|e| e.as_slice()).collect());
        }
        if self.hashes.contains(&k) {
            return FinalValue::Other("hash");
        }
        FinalValue::Missing
    }
}

/// An operation on workload 0, invoked and completed at the given milliseconds.
fn op(
    kind: OpKind,
    key: &str,
    value: Option<&str>,
    invoke_ms: u64,
    complete_ms: Option<u64>,
    outcome: Outcome,
) -> Op {
    Op {
        client: 0,
        workload: 0,
        kind,
        key: key.into(),
        value: value.map(|v| v.as_bytes().to_vec()),
        reply: None,
        invoke_us: invoke_ms * 1000,
        complete_us: complete_ms.map(|ms| ms * 1000),
        outcome,
        node: None,
    }
}

fn set(key: &str, value: &str, invoke_ms: u64, complete_ms: u64) -> Op {
    op(
        OpKind::Set,
        key,
        Some(value),
        invoke_ms,
        Some(complete_ms),
        Outcome::Ok,
    )
}

fn incr(key: &str, invoke_ms: u64, complete_ms: u64, reply: i64) -> Op {
    let mut o = op(
        OpKind::Incr,
        key,
        None,
        invoke_ms,
        Some(complete_ms),
        Outcome::Ok,
    );
    o.reply = Some(Value::Int(reply));
    o
}

fn history(ops: Vec<Op>) -> History {
    History { ops }
}

/// The history indexes of the lost writes, in order of acknowledgement.
fn lost(h: &History, state: &Fixed) -> Vec<usize> {
    check(h, &["m1".to_string()], state)
        .lost
        .iter()
        .map(|l| l.op)
        .collect()
}

#[test]
fn a_write_that_followed_the_survivor_is_lost() {
    // a completes at 2 ms; b is invoked at 3 ms, acknowledged at 4 ms; the final value is a's.
    let h = history(vec![set("k", "c0:1", 1, 2), set("k", "c0:2", 3, 4)]);
    let r = check(
        &h,
        &["m1".to_string()],
        &Fixed::default().string("k", "c0:1"),
    );
    assert_eq!(r.acked_writes, 2);
    assert_eq!(r.evaluated, 2);
    assert_eq!(r.lost.len(), 1);
    let l = &r.lost[0];
    assert_eq!(
        (l.op, l.kind, l.key.as_str(), l.node.as_str()),
        (1, OpKind::Set, "k", "m1")
    );
    assert_eq!(
        (l.invoke_us, l.acked_us, l.value_tag.as_deref()),
        (3000, 4000, Some("c0:2"))
    );
    assert_eq!(
        (r.first_lost_acked_us(), r.last_lost_acked_us()),
        (Some(4000), Some(4000))
    );
}

#[test]
fn superseded_writes_are_not_lost() {
    // Three sequential writes; the last one is the final value.
    let h = history(vec![
        set("k", "c0:1", 1, 2),
        set("k", "c0:2", 3, 4),
        set("k", "c0:3", 5, 6),
    ]);
    assert_eq!(
        lost(&h, &Fixed::default().string("k", "c0:3")),
        Vec::<usize>::new()
    );
    // The same history with the middle value surviving: the last write followed it.
    assert_eq!(lost(&h, &Fixed::default().string("k", "c0:2")), vec![2]);
    // The first value surviving loses both later writes.
    assert_eq!(lost(&h, &Fixed::default().string("k", "c0:1")), vec![1, 2]);
}

#[test]
fn writes_concurrent_with_the_survivor_are_not_lost() {
    // b overlaps a ([1, 5] and [3, 6]): either order is linearizable.
    let h = history(vec![set("k", "c0:1", 1, 5), set("k", "c1:1", 3, 6)]);
    assert_eq!(
        lost(&h, &Fixed::default().string("k", "c0:1")),
        Vec::<usize>::new()
    );
    assert_eq!(
        lost(&h, &Fixed::default().string("k", "c1:1")),
        Vec::<usize>::new()
    );
    // Invoked exactly when the survivor completed is not strictly after it.
    let h = history(vec![set("k", "c0:1", 1, 5), set("k", "c1:1", 5, 6)]);
    assert_eq!(
        lost(&h, &Fixed::default().string("k", "c0:1")),
        Vec::<usize>::new()
    );
}

#[test]
fn unknown_and_failed_writes_are_never_lost_but_may_survive() {
    let h = history(vec![
        set("k", "c0:1", 1, 2),
        op(OpKind::Set, "k", Some("c0:2"), 3, None, Outcome::Unknown),
        op(
            OpKind::Set,
            "k",
            Some("c0:3"),
            4,
            Some(5),
            Outcome::Fail("NOREPLICAS".into()),
        ),
        set("k", "c0:4", 10, 11),
    ]);
    // The unknown write survives: it may have taken effect after the last acknowledged write.
    assert_eq!(
        lost(&h, &Fixed::default().string("k", "c0:2")),
        Vec::<usize>::new()
    );
    // The key is gone: only the acknowledged writes count lost.
    let r = check(&h, &["m1".to_string()], &Fixed::default());
    assert_eq!(r.acked_writes, 2);
    assert_eq!(r.lost.iter().map(|l| l.op).collect::<Vec<_>>(), vec![0, 3]);
    // A failed write that survives completed at 5 ms, so the write invoked at 10 ms is lost.
    assert_eq!(lost(&h, &Fixed::default().string("k", "c0:3")), vec![3]);
}

#[test]
fn a_missing_key_or_a_foreign_value_loses_every_acked_write() {
    let h = history(vec![
        set("a", "c0:1", 1, 2),
        set("b", "c0:2", 3, 4),
        set("b", "c0:3", 5, 6),
    ]);
    assert_eq!(lost(&h, &Fixed::default()), vec![0, 1, 2]);
    // A value no operation wrote (an admin SET, say) and a key of another type.
    let mut state = Fixed::default().string("a", "admin").string("b", "c0:3");
    assert_eq!(lost(&h, &state), vec![0]);
    state.hashes.insert(("m1".into(), "b".into()));
    state.strings.remove(&("m1".to_string(), "b".to_string()));
    assert_eq!(lost(&h, &state), vec![0, 1, 2]);
}

#[test]
fn append_elements_missing_from_the_final_list_are_lost() {
    let push = |v: &str, t: u64| op(OpKind::RPush, "l", Some(v), t, Some(t + 1), Outcome::Ok);
    let h = history(vec![
        push("c0:1", 1),
        push("c0:2", 3),
        op(OpKind::RPush, "l", Some("c0:3"), 5, None, Outcome::Unknown),
        push("c0:4", 7),
        op(OpKind::LRange, "l", None, 8, Some(9), Outcome::Ok),
    ]);
    let r = check(
        &h,
        &["m1".to_string()],
        &Fixed::default().list("l", &["c0:1", "c0:3", "c0:4"]),
    );
    assert_eq!(r.acked_writes, 3);
    assert_eq!(
        r.lost.iter().map(|l| (l.op, l.kind)).collect::<Vec<_>>(),
        vec![(1, OpKind::RPush)]
    );
    assert_eq!(
        lost(&h, &Fixed::default().list("l", &["c0:1", "c0:2", "c0:4"])),
        Vec::<usize>::new()
    );
    assert_eq!(lost(&h, &Fixed::default()), vec![0, 1, 3]);
}

#[test]
fn increments_short_of_the_acked_count_are_lost() {
    let h = history(vec![
        incr("n", 1, 2, 1),
        incr("n", 3, 4, 2),
        op(OpKind::Incr, "n", None, 5, None, Outcome::Unknown),
        incr("n", 7, 8, 4),
    ]);
    // 3 acknowledged; 3 or 4 (with the unknown one) is fine.
    assert_eq!(
        lost(&h, &Fixed::default().string("n", "4")),
        Vec::<usize>::new()
    );
    assert_eq!(
        lost(&h, &Fixed::default().string("n", "3")),
        Vec::<usize>::new()
    );
    // The counter went back to 2: one increment lost, named by the highest reply.
    let r = check(&h, &["m1".to_string()], &Fixed::default().string("n", "2"));
    assert_eq!(
        r.lost
            .iter()
            .map(|l| (l.op, l.kind, l.value_tag.clone()))
            .collect::<Vec<_>>(),
        vec![(3, OpKind::Incr, None)]
    );
    // Gone entirely: all three.
    assert_eq!(lost(&h, &Fixed::default()), vec![0, 1, 3]);
}

#[test]
fn lost_increments_are_the_ones_the_counter_later_went_below() {
    // Three increments, a flush, two more: the counter ends at 2, three short. The replies
    // after the flush (1, 2) show the counter went below the first three, not below the last two.
    let h = history(vec![
        incr("n", 1, 2, 1),
        incr("n", 3, 4, 2),
        incr("n", 5, 6, 3),
        incr("n", 10, 11, 1),
        incr("n", 12, 13, 2),
    ]);
    assert_eq!(lost(&h, &Fixed::default().string("n", "2")), vec![0, 1, 2]);
    // A failover to a replica that had the first three: increments 4 and 5 are lost, and the
    // new master counts on from 3, returning 4, 5 and 6.
    let h = history(vec![
        incr("n", 1, 2, 1),
        incr("n", 3, 4, 2),
        incr("n", 5, 6, 3),
        incr("n", 7, 8, 4),
        incr("n", 9, 10, 5),
        incr("n", 20, 21, 4),
        incr("n", 22, 23, 5),
        incr("n", 24, 25, 6),
    ]);
    assert_eq!(lost(&h, &Fixed::default().string("n", "6")), vec![3, 4]);
    // A concurrent increment is no evidence: [1, 3] and [2, 10] both returned 1, so one of
    // them is lost, but not provably the first; the latest acknowledgement is named.
    let h = history(vec![incr("n", 1, 3, 1), incr("n", 2, 10, 1)]);
    assert_eq!(lost(&h, &Fixed::default().string("n", "1")), vec![1]);
}

#[test]
fn a_down_target_and_mixed_keys_are_not_evaluated() {
    let mut h = history(vec![
        set("k", "c0:1", 1, 2),
        set("k", "c0:2", 3, 4),
        incr("mixed", 5, 6, 1),
    ]);
    let mut mixed_set = set("mixed", "c0:3", 7, 8);
    mixed_set.workload = 0;
    h.ops.push(mixed_set);
    let mut state = Fixed::default();
    let r = check(&h, &["m1".to_string()], &state);
    assert_eq!((r.acked_writes, r.evaluated, r.lost.len()), (4, 2, 2));
    assert_eq!(r.not_evaluated.len(), 1);
    assert_eq!(
        r.not_evaluated[0].reason,
        "keys written by more than one kind of write"
    );
    assert_eq!(r.not_evaluated[0].acked_writes, 2);
    state.down.insert("m1".into());
    let r = check(&h, &["m1".to_string()], &state);
    assert_eq!((r.acked_writes, r.evaluated, r.lost.len()), (4, 0, 0));
    assert_eq!(
        r.not_evaluated
            .iter()
            .map(|n| (n.node.as_str(), n.reason.as_str(), n.acked_writes))
            .collect::<Vec<_>>(),
        vec![("m1", "down at the end of the run", 4)]
    );
}

#[test]
fn each_workload_is_judged_against_its_own_target() {
    // The same key on two nodes: workload 1 wrote r1, whose value is its own write.
    let mut other = set("k", "c1:1", 1, 2);
    other.workload = 1;
    other.client = 1;
    let h = history(vec![set("k", "c0:1", 1, 2), other]);
    let mut state = Fixed::default().string("k", "c0:1");
    state
        .strings
        .insert(("r1".into(), "k".into()), b"c1:1".to_vec());
    let r = check(&h, &["m1".to_string(), "r1".to_string()], &state);
    assert_eq!((r.evaluated, r.lost.len()), (2, 0));
    state.strings.remove(&("r1".to_string(), "k".to_string()));
    let r = check(&h, &["m1".to_string(), "r1".to_string()], &state);
    assert_eq!(
        r.lost
            .iter()
            .map(|l| (l.op, l.node.as_str(), l.client))
            .collect::<Vec<_>>(),
        vec![(1, "r1", 1)]
    );
}

#[test]
fn value_tags_drop_the_padding() {
    let o = set("k", "c12:345xxxxxxxxxxxx", 1, 2);
    assert_eq!(o.value_tag().as_deref(), Some("c12:345"));
    let short = set("k", "c1:2", 1, 2);
    assert_eq!(short.value_tag().as_deref(), Some("c1:2"));
}
