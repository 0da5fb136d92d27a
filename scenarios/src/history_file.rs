//! `redsim run --history FILE`: every operation as JSON lines, the shape Jepsen, Elle and
//! porcupine users read:
//!
//! ```text
//! {"process":3,"type":"invoke","f":"write","key":"k1","value":"c3:7","time_ms":1234.5}
//! {"process":3,"type":"ok","f":"write","key":"k1","value":"c3:7","time_ms":1236.1}
//! ```
//!
//! Each operation gives two lines, its invocation and its completion, and the lines are in time
//! order (an invocation before a completion at the same instant, then history order). `type` of
//! the completion is `ok` (a reply that is not an error), `fail` (an error reply, or never sent:
//! it certainly did not happen) or `info` (no reply: it may or may not have happened; an
//! operation still outstanding when the run ended completes `info` at the run's end).
//!
//! `process` follows Jepsen's rule: a process whose operation ended `info` may still have it in
//! flight, so the client goes on as a new process, `client + k * clients` after its k-th `info`
//! (`clients` is the number of clients of the whole run). A client with `pipeline > 1` has
//! several operations in flight on one process, which Knossos-style checkers do not accept.
//!
//! `f` and `value`: SET is `write` with the written value's tag ("c3:7", unique per operation;
//! the padding is left out), GET is `read` with the tag of the value read (null for nil), INCR
//! is `incr` with the value it returned, RPUSH is `append` with the element's tag, LRANGE is
//! `read` with the list of element tags. Invocations of reads carry `value: null`.

use std::io::{self, Write};

use redsim_engine::resp::Value;
use redsim_sim::history::{History, Op, OpKind, Outcome};

/// The tag of a workload value: "c3:17" of "c3:17xxxx...".
fn tag(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .skip(1)
        .position(|&b| b == b'x')
        .map_or(bytes.len(), |i| i + 1);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn f_name(kind: OpKind) -> &'static str {
    match kind {
        OpKind::Set => "write",
        OpKind::Get | OpKind::LRange => "read",
        OpKind::Incr => "incr",
        OpKind::RPush => "append",
    }
}

/// The value a completion line carries.
fn completion_value(op: &Op) -> serde_json::Value {
    use serde_json::Value as J;
    match op.kind {
        OpKind::Set | OpKind::RPush => op.value.as_deref().map_or(J::Null, |v| J::from(tag(v))),
        _ if op.outcome != Outcome::Ok => J::Null,
        OpKind::Incr => match op.reply {
            Some(Value::Int(n)) => J::from(n),
            _ => J::Null,
        },
        OpKind::Get => match &op.reply {
            Some(Value::Bulk(b)) => J::from(tag(b)),
            _ => J::Null,
        },
        OpKind::LRange => match &op.reply {
            Some(Value::Array(items)) => J::Array(
                items
                    .iter()
                    .map(|item| match item {
                        Value::Bulk(b) => J::from(tag(b)),
                        _ => J::Null,
                    })
                    .collect(),
            ),
            _ => J::Null,
        },
    }
}

/// One line's fields in the order the format shows them.
fn line(
    process: u64,
    kind: &str,
    op: &Op,
    value: serde_json::Value,
    time_us: u64,
) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    map.insert("process".into(), process.into());
    map.insert("type".into(), kind.into());
    map.insert("f".into(), f_name(op.kind).into());
    map.insert("key".into(), op.key.clone().into());
    map.insert("value".into(), value);
    map.insert("time_ms".into(), (time_us as f64 / 1000.0).into());
    serde_json::Value::Object(map)
}

/// Writes the history as JSON lines; `end_us` is when the run ended (the completion time of
/// operations still outstanding then).
pub fn write_history(history: &History, end_us: u64, out: &mut impl Write) -> io::Result<()> {
    let clients = history
        .ops
        .iter()
        .map(|op| op.client as u64 + 1)
        .max()
        .unwrap_or(0);
    // An operation's process is fixed by the infos of its client's operations that completed
    // before it was invoked.
    let mut infos_at: Vec<Vec<u64>> = vec![Vec::new(); clients as usize];
    for op in &history.ops {
        if op.outcome == Outcome::Unknown {
            infos_at[op.client as usize].push(op.complete_us.unwrap_or(end_us));
        }
    }
    for times in &mut infos_at {
        times.sort_unstable();
    }
    let process: Vec<u64> = history
        .ops
        .iter()
        .map(|op| {
            let k = infos_at[op.client as usize].partition_point(|&t| t <= op.invoke_us) as u64;
            op.client as u64 + k * clients
        })
        .collect();
    // (time, 0 invoke | 1 completion, op index)
    let mut lines: Vec<(u64, u8, usize)> = Vec::with_capacity(history.ops.len() * 2);
    for (i, op) in history.ops.iter().enumerate() {
        lines.push((op.invoke_us, 0, i));
        lines.push((op.complete_us.unwrap_or(end_us).max(op.invoke_us), 1, i));
    }
    lines.sort_unstable();
    for (time_us, phase, i) in lines {
        let op = &history.ops[i];
        let value = if phase == 0 {
            match op.kind {
                OpKind::Set | OpKind::RPush => op
                    .value
                    .as_deref()
                    .map_or(serde_json::Value::Null, |v| tag(v).into()),
                _ => serde_json::Value::Null,
            }
        } else {
            completion_value(op)
        };
        let kind = match (phase, &op.outcome) {
            (0, _) => "invoke",
            (_, Outcome::Ok) => "ok",
            (_, Outcome::Fail(_)) => "fail",
            (_, Outcome::Unknown) => "info",
        };
        serde_json::to_writer(&mut *out, &line(process[i], kind, op, value, time_us))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
