//! The terminal summary `redsim run` prints.

use crate::model::{value_text, History, Report, WorkloadHistory};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Event name -> how many times it happened, in name order.
pub fn event_counts(report: &Report) -> BTreeMap<&str, u64> {
    let mut counts = BTreeMap::new();
    for e in &report.events {
        *counts.entry(e.event.as_str()).or_insert(0) += 1;
    }
    counts
}

/// A plain-text summary, one fact a line, ending with the replay command.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    let verdict = if report.passed { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "{} {} (seed {})",
        verdict, report.scenario, report.seed
    );
    let _ = writeln!(out, "  {}", report.title);
    let _ = writeln!(
        out,
        "  virtual {} ms, wall {} ms",
        report.virtual_ms, report.wall_ms
    );
    for e in &report.expectations {
        let mark = if e.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "  {} {}  (actual: {})",
            mark,
            e.that,
            value_text(&e.actual)
        );
    }
    write_history(&mut out, report);
    write_faults(&mut out, report);
    write_events(&mut out, report);
    let _ = writeln!(out, "  trace {}", report.trace_hash);
    let _ = writeln!(out, "  replay: {}", report.replay);
    out
}

fn write_history(out: &mut String, report: &Report) {
    let h = &report.history;
    let _ = writeln!(
        out,
        "  history: ok {} fail {} unknown {}, acked writes {} lost {}",
        h.ok, h.fail, h.unknown, h.acked_writes, h.acked_writes_lost
    );
    let _ = writeln!(out, "  {}", lost_writes_line(h));
    if !h.errors.is_empty() {
        let errors: Vec<String> = h
            .errors
            .iter()
            .map(|(code, n)| format!("{} {}", code, n))
            .collect();
        let _ = writeln!(out, "  errors: {}", errors.join(", "));
    }
    if let (Some(first), Some(last)) = (h.first_fail_ms, h.last_fail_ms) {
        let _ = writeln!(out, "  failures from {} ms to {} ms", first, last);
    }
    let l = &h.latency_ms;
    let _ = writeln!(
        out,
        "  latency ms: p50 {} p99 {} p999 {} max {}",
        l.p50, l.p99, l.p999, l.max
    );
    if h.workloads.len() > 1 {
        for (name, w) in &h.workloads {
            let _ = writeln!(out, "  {}", workload_line(name, w));
        }
    }
}

/// One workload's counts on one line, for runs with more than one workload.
pub fn workload_line(name: &str, w: &WorkloadHistory) -> String {
    let mut line = format!(
        "workload {}: ok {} fail {} unknown {}, acked writes {} lost {}",
        name, w.ok, w.fail, w.unknown, w.acked_writes, w.acked_writes_lost
    );
    if let (Some(first), Some(last)) = (w.first_lost_acked_ms, w.last_lost_acked_ms) {
        let _ = write!(line, " (acknowledged from {} ms to {} ms)", first, last);
    }
    if !w.errors.is_empty() {
        let errors: Vec<String> = w
            .errors
            .iter()
            .map(|(code, n)| format!("{} {}", code, n))
            .collect();
        let _ = write!(line, ", errors: {}", errors.join(", "));
    }
    let _ = write!(
        line,
        ", latency ms p50 {} p99 {}",
        w.latency_ms.p50, w.latency_ms.p99
    );
    line
}

/// One line about the acknowledged-writes checker: how many it judged, how many were lost and
/// when they were acknowledged, and what it could not judge.
pub fn lost_writes_line(h: &History) -> String {
    let mut line = format!(
        "lost writes: {} of {} acked writes evaluated",
        h.acked_writes_lost, h.acked_writes_evaluated
    );
    if let (Some(first), Some(last)) = (h.first_lost_acked_ms, h.last_lost_acked_ms) {
        let _ = write!(line, ", acknowledged from {} ms to {} ms", first, last);
    }
    if let Some(w) = h.lost_writes.first() {
        let value = w
            .value_tag
            .as_deref()
            .map(|tag| format!(" {}", tag))
            .unwrap_or_default();
        let _ = write!(
            line,
            " (first: {} {}{} on {})",
            w.kind, w.key, value, w.node
        );
    }
    for n in &h.acked_writes_not_evaluated {
        let _ = write!(
            line,
            "; {} not evaluated ({}: {})",
            n.acked_writes, n.node, n.reason
        );
    }
    line
}

fn write_faults(out: &mut String, report: &Report) {
    if report.faults_fired.is_empty() {
        let _ = writeln!(out, "  faults fired: none");
        return;
    }
    let faults: Vec<String> = report
        .faults_fired
        .iter()
        .map(|(kind, n)| format!("{} {}", kind, n))
        .collect();
    let _ = writeln!(out, "  faults fired: {}", faults.join(", "));
}

fn write_events(out: &mut String, report: &Report) {
    const SHOWN_NAMES_MAX: usize = 12;
    let counts = event_counts(report);
    let mut named: Vec<String> = counts
        .iter()
        .take(SHOWN_NAMES_MAX)
        .map(|(name, n)| format!("{} {}", name, n))
        .collect();
    if counts.len() > SHOWN_NAMES_MAX {
        named.push("...".to_string());
    }
    if named.is_empty() {
        let _ = writeln!(out, "  events: 0");
    } else {
        let _ = writeln!(
            out,
            "  events: {} ({})",
            report.events.len(),
            named.join(", ")
        );
    }
}
