//! The HTML report: one self-contained file (inline CSS, no scripts or external assets) that
//! opens offline.

use crate::model::{value_text, Report};
use crate::summary::event_counts;
use std::fmt::Write;

/// INFO fields shown in the nodes table, when the node has them; the full INFO is in the JSON.
pub const KEY_INFO_FIELDS: &[&str] = &[
    "role",
    "master_repl_offset",
    "connected_slaves",
    "master_link_status",
    "sync_full",
    "sync_partial_ok",
    "sync_partial_err",
    "used_memory",
    "used_memory_rss",
    "latest_fork_usec",
    "rdb_last_cow_size",
    "aof_last_cow_size",
    "evicted_keys",
    "expired_keys",
];

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\
th{background:#f3f3f3}.pass{color:#060;font-weight:bold}.fail{color:#b00;font-weight:bold}\
code{background:#f6f6f6;padding:1px 4px}.num{text-align:right;font-variant-numeric:tabular-nums}";

/// The whole HTML document.
pub fn to_html(report: &Report) -> String {
    let mut out = String::new();
    let title = escape(&report.title);
    let _ = write!(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = write!(out, "<title>redsim: {}</title>\n<style>{}</style>\n</head>\n<body>\n", title, STYLE);
    write_header(&mut out, report);
    write_expectations(&mut out, report);
    write_history(&mut out, report);
    write_charts(&mut out, report);
    write_nodes(&mut out, report);
    write_events(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

fn verdict(passed: bool) -> &'static str {
    if passed {
        "<span class=\"pass\">PASS</span>"
    } else {
        "<span class=\"fail\">FAIL</span>"
    }
}

fn write_header(out: &mut String, r: &Report) {
    let _ = writeln!(out, "<h1>{} {}</h1>", verdict(r.passed), escape(&r.title));
    let _ = writeln!(out, "<table id=\"summary\">");
    let rows = [
        ("scenario", r.scenario.clone()),
        ("seed", r.seed.to_string()),
        ("redsim version", r.redsim_version.clone()),
        ("virtual time", format!("{} ms", r.virtual_ms)),
        ("wall time", format!("{} ms", r.wall_ms)),
        ("trace hash", r.trace_hash.clone()),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", name, escape(&value));
    }
    let _ = writeln!(out, "<tr><th>replay</th><td><code>{}</code></td></tr>\n</table>", escape(&r.replay));
}

fn write_expectations(out: &mut String, r: &Report) {
    let _ = writeln!(out, "<h2>Expectations</h2>\n<table id=\"expectations\">\n<tr><th></th><th>that</th><th>actual</th></tr>");
    for e in &r.expectations {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            verdict(e.passed),
            escape(&e.that),
            escape(&value_text(&e.actual))
        );
    }
    out.push_str("</table>\n");
}

fn write_history(out: &mut String, r: &Report) {
    let h = &r.history;
    let opt = |v: Option<u64>| v.map(|ms| format!("{} ms", ms)).unwrap_or_else(|| "-".to_string());
    let _ = writeln!(out, "<h2>History</h2>\n<table id=\"history\">");
    let rows = [
        ("ok", h.ok.to_string()),
        ("fail", h.fail.to_string()),
        ("unknown", h.unknown.to_string()),
        ("acked writes", h.acked_writes.to_string()),
        ("acked writes lost", h.acked_writes_lost.to_string()),
        ("first fail", opt(h.first_fail_ms)),
        ("last fail", opt(h.last_fail_ms)),
        ("latency p50 / p99 / p999 / max", format!("{} / {} / {} / {} ms", h.latency_ms.p50, h.latency_ms.p99, h.latency_ms.p999, h.latency_ms.max)),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "<tr><th>{}</th><td class=\"num\">{}</td></tr>", name, escape(&value));
    }
    for (code, n) in &h.errors {
        let _ = writeln!(out, "<tr><th>error {}</th><td class=\"num\">{}</td></tr>", escape(code), n);
    }
    for (kind, n) in &r.faults_fired {
        let _ = writeln!(out, "<tr><th>fault {}</th><td class=\"num\">{}</td></tr>", escape(kind), n);
    }
    out.push_str("</table>\n");
}

/// The place for the SVG charts (latency and throughput with fault bands, memory, replication
/// offsets, role timeline). They need time series the report model does not carry yet; until
/// then the section says so, and the ids stay stable for when the charts land.
fn write_charts(out: &mut String, _r: &Report) {
    out.push_str("<h2>Charts</h2>\n<div id=\"charts\">\n");
    for id in ["latency", "throughput", "memory", "replication", "roles"] {
        let _ = writeln!(out, "<div class=\"chart\" id=\"chart-{}\"></div>", id);
    }
    out.push_str("<p>(charts not yet rendered: time series are not in the report model yet)</p>\n</div>\n");
}

fn write_nodes(out: &mut String, r: &Report) {
    let _ = writeln!(out, "<h2>Nodes</h2>\n<table id=\"nodes\">");
    out.push_str("<tr><th>node</th><th>kind</th><th>role</th><th>memory</th><th>rss max</th><th>swap max</th><th>oom kills</th><th>INFO</th></tr>\n");
    for (name, node) in &r.nodes {
        let info: Vec<String> = KEY_INFO_FIELDS
            .iter()
            .filter_map(|f| node.info.get(*f).map(|v| format!("{}:{}", f, escape(&value_text(v)))))
            .collect();
        let m = &node.machine;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(name),
            escape(&node.kind),
            escape(&node.role),
            m.memory_bytes,
            m.rss_bytes_max,
            m.swap_bytes_max,
            m.oom_kills,
            info.join("<br>")
        );
    }
    out.push_str("</table>\n");
}

fn write_events(out: &mut String, r: &Report) {
    let counts: Vec<String> = event_counts(r).iter().map(|(name, n)| format!("{} {}", escape(name), n)).collect();
    let _ = writeln!(out, "<h2>Events ({})</h2>\n<p>{}</p>\n<table id=\"events\">", r.events.len(), counts.join(", "));
    out.push_str("<tr><th>t ms</th><th>node</th><th>event</th><th>detail</th></tr>\n");
    for e in &r.events {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.t_ms,
            escape(&e.node),
            escape(&e.event),
            escape(&e.detail)
        );
    }
    out.push_str("</table>\n");
}
