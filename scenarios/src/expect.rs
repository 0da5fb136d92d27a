//! Expectations: `<lhs> <op> <rhs>`, parsed from a scenario and evaluated against a report.
//!
//! lhs: `<node>.<INFO field>`, `history.<field>`, `history.workloads.<workload>.<field>`,
//! `faults_fired.<kind>`, `count(<event>)`,
//! `count(<node>:<event>)`, `first_ms(<event>)` or `first_ms(<node>:<event>)`.
//! op: == != < <= > >=. rhs: a number or a quoted string.
//! Both sides numeric (a quoted number counts) compare as numbers; otherwise == and != compare
//! text and the ordering operators fail. An absent left-hand side fails every operator.

use crate::spec::FAULT_KINDS;
use redsim_reports::model::{value_text, ExpectationResult, Report, WorkloadHistory};
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
        }
    }
}

/// What the left-hand side looks up in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lhs {
    /// A node's final INFO field (then its machine fields, role and kind).
    NodeField {
        node: String,
        field: String,
    },
    /// A history field path below `history.`, e.g. "ok", "errors.NOREPLICAS", "latency_ms.p99".
    History(String),
    /// A field of one workload's history, e.g. workload "w1", field "acked_writes_lost".
    WorkloadHistory {
        workload: String,
        field: String,
    },
    /// Faults of a kind that fired; absent counts as 0.
    FaultsFired(String),
    Count {
        node: Option<String>,
        event: String,
    },
    /// Virtual ms of the first such event; absent makes the expectation fail.
    FirstMs {
        node: Option<String>,
        event: String,
    },
}

/// The right-hand side: a number (kept as written) or a quoted string's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rhs {
    Number(String),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The expectation as written, reported back as `that`.
    pub that: String,
    pub lhs: Lhs,
    pub op: Op,
    pub rhs: Rhs,
}

const HISTORY_FIELDS: &[&str] = &[
    "ok",
    "fail",
    "unknown",
    "acked_writes",
    "acked_writes_lost",
    "acked_writes_evaluated",
    "first_lost_acked_ms",
    "last_lost_acked_ms",
    "first_fail_ms",
    "last_fail_ms",
    "linearizable",
    "converged",
];
/// The fields `history.workloads.<workload>.` accepts, besides errors.<CODE> and latency_ms.*.
const WORKLOAD_HISTORY_FIELDS: &[&str] = &[
    "ok",
    "fail",
    "unknown",
    "acked_writes",
    "acked_writes_lost",
    "first_lost_acked_ms",
    "last_lost_acked_ms",
    "first_fail_ms",
    "last_fail_ms",
];
const LATENCY_FIELDS: &[&str] = &["p50", "p99", "p999", "max"];
const MACHINE_FIELDS: &[&str] = &[
    "memory_bytes",
    "rss_bytes_max",
    "swap_bytes_max",
    "oom_kills",
];

impl Expectation {
    pub fn parse(that: &str) -> Result<Expectation, String> {
        let (lhs_text, op, rhs_text) = split_operator(that)?;
        let lhs = parse_lhs(lhs_text.trim())?;
        let rhs = parse_rhs(rhs_text.trim())?;
        Ok(Expectation {
            that: that.to_string(),
            lhs,
            op,
            rhs,
        })
    }

    /// The node the left-hand side names, if any, so a scenario can check it exists.
    pub fn node_name(&self) -> Option<&str> {
        match &self.lhs {
            Lhs::NodeField { node, .. } => Some(node),
            Lhs::Count { node, .. } | Lhs::FirstMs { node, .. } => node.as_deref(),
            Lhs::History(_) | Lhs::WorkloadHistory { .. } | Lhs::FaultsFired(_) => None,
        }
    }

    /// The workload the left-hand side names, if any, so a scenario can check it exists.
    pub fn workload_name(&self) -> Option<&str> {
        match &self.lhs {
            Lhs::WorkloadHistory { workload, .. } => Some(workload),
            _ => None,
        }
    }

    /// Looks the left-hand side up in the report and compares.
    pub fn evaluate(&self, report: &Report) -> ExpectationResult {
        let actual = lookup(&self.lhs, report);
        let passed = compare(&actual, self.op, &self.rhs);
        ExpectationResult {
            that: self.that.clone(),
            passed,
            actual,
        }
    }
}

/// Evaluates every expectation in order.
pub fn evaluate_all(expectations: &[Expectation], report: &Report) -> Vec<ExpectationResult> {
    expectations.iter().map(|e| e.evaluate(report)).collect()
}

/// Evaluates every expectation into the report and sets `passed` (true iff all passed).
pub fn apply(expectations: &[Expectation], report: &mut Report) {
    report.expectations = evaluate_all(expectations, report);
    report.passed = report.expectations.iter().all(|e| e.passed);
}

/// Splits at the first operator. The left-hand side never holds '=', '!', '<' or '>', so the
/// first of them starts the operator even when the quoted rhs holds more.
fn split_operator(that: &str) -> Result<(&str, Op, &str), String> {
    let expected = "expected `<lhs> <op> <rhs>` with op one of == != < <= > >=";
    let start = that
        .find(['=', '!', '<', '>'])
        .ok_or_else(|| expected.to_string())?;
    let rest = &that[start..];
    let (op, len) = match (rest.as_bytes()[0], rest.as_bytes().get(1)) {
        (b'=', Some(b'=')) => (Op::Eq, 2),
        (b'!', Some(b'=')) => (Op::Ne, 2),
        (b'<', Some(b'=')) => (Op::Le, 2),
        (b'>', Some(b'=')) => (Op::Ge, 2),
        (b'<', _) => (Op::Lt, 1),
        (b'>', _) => (Op::Gt, 1),
        _ => return Err(expected.to_string()),
    };
    Ok((&that[..start], op, &that[start + len..]))
}

fn parse_rhs(text: &str) -> Result<Rhs, String> {
    if text.is_empty() {
        return Err("the right-hand side is missing".into());
    }
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote) {
            return match inner.strip_suffix(quote) {
                Some(content) if !content.contains(quote) => Ok(Rhs::Text(content.to_string())),
                _ => Err(format!("unterminated or doubled quote in {}", text)),
            };
        }
    }
    if parse_number(text).is_some() {
        return Ok(Rhs::Number(text.to_string()));
    }
    // A boolean compares as its text, like a JSON true printed.
    if text == "true" || text == "false" {
        return Ok(Rhs::Text(text.to_string()));
    }
    Err(format!(
        "the right-hand side {} is neither a number nor a quoted string",
        text
    ))
}

fn parse_call<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')
        .map(str::trim)
}

/// `<event>` or `<node>:<event>`. Event names start with '+' or '-' or a letter; a node prefix is
/// a simple name followed by ':'.
fn parse_event_ref(inner: &str, call: &str) -> Result<(Option<String>, String), String> {
    let (node, event) = parse_event_parts(inner, call)?;
    if !crate::spec::known::is_known_event(&event) {
        return Err(format!(
            "unknown event '{}' in {}() (events: fault:<kind>, admin, admin-reply, bgsave_done, full_sync, replica_online, oom-kill, swap, Sentinel's +sdown, +switch-master, ...)",
            event, call
        ));
    }
    Ok((node, event))
}

fn parse_event_parts(inner: &str, call: &str) -> Result<(Option<String>, String), String> {
    if inner.is_empty() {
        return Err(format!("{}() needs an event name", call));
    }
    if let Some((node, event)) = inner.split_once(':') {
        let simple = !node.is_empty()
            && node
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if simple && !node.starts_with(['+', '-']) {
            if event.trim().is_empty() {
                return Err(format!("{}({}) needs an event name after ':'", call, inner));
            }
            return Ok((Some(node.to_string()), event.trim().to_string()));
        }
    }
    Ok((None, inner.to_string()))
}

fn parse_lhs(text: &str) -> Result<Lhs, String> {
    if text.is_empty() {
        return Err("the left-hand side is missing".into());
    }
    if let Some(inner) = parse_call(text, "count") {
        let (node, event) = parse_event_ref(inner, "count")?;
        return Ok(Lhs::Count { node, event });
    }
    if let Some(inner) = parse_call(text, "first_ms") {
        let (node, event) = parse_event_ref(inner, "first_ms")?;
        return Ok(Lhs::FirstMs { node, event });
    }
    if text.contains(char::is_whitespace) {
        return Err(format!(
            "'{}' is not a left-hand side (no spaces inside)",
            text
        ));
    }
    let Some((head, field)) = text.split_once('.') else {
        return Err(format!("'{}' is not <node>.<field>, history.<field>, faults_fired.<kind>, count(...) or first_ms(...)", text));
    };
    if field.is_empty() {
        return Err(format!("'{}' names no field", text));
    }
    match head {
        "history" => match field.strip_prefix("workloads.") {
            Some(rest) => parse_workload_field(rest),
            None => parse_history_field(field).map(|()| Lhs::History(field.to_string())),
        },
        "faults_fired" if FAULT_KINDS.contains(&field) || field == "command" => {
            Ok(Lhs::FaultsFired(field.to_string()))
        }
        "faults_fired" => Err(format!(
            "unknown fault kind '{}' (expected one of: {}, command)",
            field,
            FAULT_KINDS.join(", ")
        )),
        node => Ok(Lhs::NodeField {
            node: node.to_string(),
            field: field.to_string(),
        }),
    }
}

/// `<workload>.<field>` after `history.workloads.`; workload names never hold '.'.
fn parse_workload_field(rest: &str) -> Result<Lhs, String> {
    let Some((workload, field)) = rest
        .split_once('.')
        .filter(|(w, f)| !w.is_empty() && !f.is_empty())
    else {
        return Err(format!(
            "'history.workloads.{}' is not history.workloads.<workload>.<field>",
            rest
        ));
    };
    if WORKLOAD_HISTORY_FIELDS.contains(&field) || is_errors_or_latency(field) {
        return Ok(Lhs::WorkloadHistory {
            workload: workload.to_string(),
            field: field.to_string(),
        });
    }
    Err(format!(
        "unknown workload history field '{}' (expected one of: {}, errors.<CODE> with a Redis error code such as NOREPLICAS, latency_ms.p50|p99|p999|max)",
        field,
        WORKLOAD_HISTORY_FIELDS.join(", ")
    ))
}

fn is_errors_or_latency(field: &str) -> bool {
    field
        .strip_prefix("errors.")
        .is_some_and(|code| crate::spec::known::ERROR_CLASSES.contains(&code))
        || field
            .strip_prefix("latency_ms.")
            .is_some_and(|p| LATENCY_FIELDS.contains(&p))
}

fn parse_history_field(field: &str) -> Result<(), String> {
    let convergence = field
        .strip_prefix("convergence_ms.")
        .is_some_and(|node| !node.is_empty());
    if HISTORY_FIELDS.contains(&field) || is_errors_or_latency(field) || convergence {
        return Ok(());
    }
    Err(format!(
        "unknown history field '{}' (expected one of: {}, convergence_ms.<node>, errors.<CODE> with a Redis error code such as NOREPLICAS, latency_ms.p50|p99|p999|max)",
        field,
        HISTORY_FIELDS.join(", ")
    ))
}

/// `history.converged`: true when every replica converged after the last fault, false when one
/// never did, null when nothing was measured (no fault, or no replica at the end).
fn converged(h: &redsim_reports::model::History) -> Value {
    if h.convergence_ms.is_empty() {
        Value::Null
    } else {
        Value::from(h.not_converged.is_empty())
    }
}

fn lookup(lhs: &Lhs, report: &Report) -> Value {
    match lhs {
        Lhs::NodeField { node, field } => lookup_node(report, node, field),
        Lhs::History(field) => lookup_history(report, field),
        Lhs::WorkloadHistory { workload, field } => report
            .history
            .workloads
            .get(workload)
            .map_or(Value::Null, |w| lookup_workload(w, field)),
        Lhs::FaultsFired(kind) => Value::from(report.faults_fired.get(kind).copied().unwrap_or(0)),
        Lhs::Count { node, event } => Value::from(
            report
                .events
                .iter()
                .filter(|e| matches_event(e, node.as_deref(), event))
                .count() as u64,
        ),
        Lhs::FirstMs { node, event } => report
            .events
            .iter()
            .filter(|e| matches_event(e, node.as_deref(), event))
            .map(|e| e.t_ms)
            .min()
            .map_or(Value::Null, Value::from),
    }
}

fn matches_event(e: &redsim_reports::model::Event, node: Option<&str>, event: &str) -> bool {
    e.event == event && node.is_none_or(|n| e.node == n)
}

fn lookup_node(report: &Report, node: &str, field: &str) -> Value {
    let Some(n) = report.nodes.get(node) else {
        return Value::Null;
    };
    if let Some(value) = n.info.get(field) {
        return value.clone();
    }
    match field {
        "role" => Value::from(n.role.clone()),
        "kind" => Value::from(n.kind.clone()),
        _ if MACHINE_FIELDS.contains(&field) => serde_json::to_value(&n.machine)
            .ok()
            .and_then(|m| m.get(field).cloned())
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn lookup_history(report: &Report, field: &str) -> Value {
    let h = &report.history;
    if let Some(code) = field.strip_prefix("errors.") {
        return Value::from(h.errors.get(code).copied().unwrap_or(0));
    }
    if let Some(node) = field.strip_prefix("convergence_ms.") {
        return h
            .convergence_ms
            .get(node)
            .copied()
            .flatten()
            .map_or(Value::Null, Value::from);
    }
    let l = &h.latency_ms;
    match field {
        "converged" => converged(h),
        "ok" => Value::from(h.ok),
        "fail" => Value::from(h.fail),
        "unknown" => Value::from(h.unknown),
        "acked_writes" => Value::from(h.acked_writes),
        "acked_writes_lost" => Value::from(h.acked_writes_lost),
        "acked_writes_evaluated" => Value::from(h.acked_writes_evaluated),
        "first_lost_acked_ms" => h.first_lost_acked_ms.map_or(Value::Null, Value::from),
        "last_lost_acked_ms" => h.last_lost_acked_ms.map_or(Value::Null, Value::from),
        "first_fail_ms" => h.first_fail_ms.map_or(Value::Null, Value::from),
        "last_fail_ms" => h.last_fail_ms.map_or(Value::Null, Value::from),
        "linearizable" => h.linearizable.map_or(Value::Null, Value::from),
        "latency_ms.p50" => Value::from(l.p50),
        "latency_ms.p99" => Value::from(l.p99),
        "latency_ms.p999" => Value::from(l.p999),
        "latency_ms.max" => Value::from(l.max),
        _ => Value::Null,
    }
}

fn lookup_workload(w: &WorkloadHistory, field: &str) -> Value {
    if let Some(code) = field.strip_prefix("errors.") {
        return Value::from(w.errors.get(code).copied().unwrap_or(0));
    }
    let l = &w.latency_ms;
    let optional = |v: Option<u64>| v.map_or(Value::Null, Value::from);
    match field {
        "ok" => Value::from(w.ok),
        "fail" => Value::from(w.fail),
        "unknown" => Value::from(w.unknown),
        "acked_writes" => Value::from(w.acked_writes),
        "acked_writes_lost" => Value::from(w.acked_writes_lost),
        "first_lost_acked_ms" => optional(w.first_lost_acked_ms),
        "last_lost_acked_ms" => optional(w.last_lost_acked_ms),
        "first_fail_ms" => optional(w.first_fail_ms),
        "last_fail_ms" => optional(w.last_fail_ms),
        "latency_ms.p50" => Value::from(l.p50),
        "latency_ms.p99" => Value::from(l.p99),
        "latency_ms.p999" => Value::from(l.p999),
        "latency_ms.max" => Value::from(l.max),
        _ => Value::Null,
    }
}

/// A number exactly as an integer when it is one, so 64-bit offsets compare exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    Int(i128),
    Float(f64),
}

fn parse_number(text: &str) -> Option<Number> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i128>() {
        return Some(Number::Int(n));
    }
    // Rust also parses "inf" and "nan"; only finite decimal forms count as numbers here.
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && looks_numeric)
        .map(Number::Float)
}

fn value_number(value: &Value) -> Option<Number> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .map(|i| Number::Int(i as i128))
            .or_else(|| n.as_u64().map(|u| Number::Int(u as i128)))
            .or_else(|| n.as_f64().map(Number::Float)),
        Value::String(s) => parse_number(s),
        _ => None,
    }
}

fn compare_numbers(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        (Number::Int(x), Number::Float(y)) => (x as f64).partial_cmp(&y),
        (Number::Float(x), Number::Int(y)) => x.partial_cmp(&(y as f64)),
        (Number::Float(x), Number::Float(y)) => x.partial_cmp(&y),
    }
}

fn compare(actual: &Value, op: Op, rhs: &Rhs) -> bool {
    if actual.is_null() {
        return false;
    }
    let rhs_text = match rhs {
        Rhs::Number(text) | Rhs::Text(text) => text,
    };
    if let (Some(a), Some(b)) = (value_number(actual), parse_number(rhs_text)) {
        return compare_numbers(a, b).is_some_and(|ordering| op.holds(ordering));
    }
    match op {
        Op::Eq => value_text(actual) == *rhs_text,
        Op::Ne => value_text(actual) != *rhs_text,
        _ => false,
    }
}
