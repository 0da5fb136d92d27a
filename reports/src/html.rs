//! The HTML report: one self-contained file (inline CSS, no scripts or external assets) that
//! opens offline, with inline SVG charts (see charts.rs).

use crate::charts::{self, MemoryLine, NodeMetric};
use crate::model::{value_text, Report};
use crate::summary::event_counts;
use crate::timeline::{self, MarkKind};
use crate::workload_charts;
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

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1150px}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.pass{color:#060;font-weight:bold}.fail{color:#b00;font-weight:bold}\
code{background:#f6f6f6;padding:1px 4px}.num{text-align:right;font-variant-numeric:tabular-nums}\
h3{margin:1.4em 0 .2em;font-size:1.05em}\
tr.ev-fault td{background:#fff4e0}tr.ev-admin td{background:#f3eefc}\
.legend{font-size:12px;color:#444;margin:.2em 0}.legend span{margin-right:1.2em;white-space:nowrap}\
.sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle;border:1px solid #0003}\
svg.chart{width:100%;height:auto;display:block;font-family:system-ui,sans-serif}\
svg .frame{fill:none;stroke:#888}svg .grid{stroke:#e4e4e4;stroke-width:1}\
svg .tick{font-size:11px;fill:#555}svg .axis-title{font-size:11px;fill:#333}\
svg .nodata{font-size:14px;fill:#888}svg .label{font-size:11px}\
svg .series{fill:none;stroke-width:1.8;stroke-linejoin:round}\
svg .p50{stroke:#2b6cb0}svg .p99{stroke:#b83280}svg .dot.p50{fill:#2b6cb0}svg .dot.p99{fill:#b83280}\
svg .ok{stroke:#2f855a}svg .failed{stroke:#c53030}\
.sw-p50{background:#2b6cb0}.sw-p99{background:#b83280}.sw-ok{background:#2f855a}.sw-failed{background:#c53030}\
svg .band-partition,.sw-partition{fill:#f6ad55;background:#f6ad55;opacity:.3}\
svg .band-pause,.sw-pause{fill:#718096;background:#718096;opacity:.28}\
svg .band-kill,.sw-kill{fill:#e53e3e;background:#e53e3e;opacity:.28}\
svg .mark,svg .leader{stroke-width:1.2}svg .leader{stroke-opacity:.55}\
svg .mark-admin{stroke:#6b46c1;stroke-dasharray:4 3}svg .mark-fault{stroke:#c53030;stroke-dasharray:2 2}\
svg .mark-partition{stroke:#c05621}svg .mark-pause{stroke:#4a5568}svg .mark-kill{stroke:#c53030}\
svg .label-admin{fill:#553c9a}svg .label-fault,svg .label-kill{fill:#9b2c2c}\
svg .label-partition{fill:#9c4221}svg .label-pause{fill:#2d3748}\
.sw-admin{background:repeating-linear-gradient(90deg,#6b46c1 0 4px,transparent 4px 7px);height:2px;border:0}\
.sw-fault{background:repeating-linear-gradient(90deg,#c53030 0 2px,transparent 2px 4px);height:2px;border:0}\
svg .lane-name{font-size:12px;font-weight:bold;fill:#222}svg .lane-final{font-size:10px;fill:#666}\
svg .seg{font-size:11px;fill:#fff}svg .seg-role-linkdown,svg .seg-role-paused,svg .seg-role-unknown,svg .seg-band-partition,svg .seg-band-pause,svg .seg-band-kill{fill:#222}\
svg .fband{opacity:.75}\
svg .role-master,.sw-master{fill:#2b6cb0;background:#2b6cb0}svg .role-replica,.sw-replica{fill:#38a169;background:#38a169}\
svg .role-linkdown,.sw-linkdown{fill:#c6f6d5;background:#c6f6d5}svg .role-sentinel,.sw-sentinel{fill:#805ad5;background:#805ad5}\
svg .role-paused,.sw-paused{fill:#cbd5e0;background:#cbd5e0}svg .role-down,.sw-down{fill:#742a2a;background:#742a2a}\
svg .node0{stroke:#2b6cb0}svg .node1{stroke:#38a169}svg .node2{stroke:#d69e2e}svg .node3{stroke:#805ad5}\
svg .node4{stroke:#b83280}svg .node5{stroke:#319795}svg .node6{stroke:#dd6b20}svg .node7{stroke:#4a5568}\
.sw-node0{background:#2b6cb0}.sw-node1{background:#38a169}.sw-node2{background:#d69e2e}.sw-node3{background:#805ad5}\
.sw-node4{background:#b83280}.sw-node5{background:#319795}.sw-node6{background:#dd6b20}.sw-node7{background:#4a5568}\
svg .role-unknown,.sw-unknown{fill:#edf2f7;background:#edf2f7}svg .role{stroke:#fff;stroke-width:1}\
svg .mem-cow{stroke-dasharray:6 3}svg .mem-swap{stroke-dasharray:1.5 2.5;stroke-width:2.4}\
.sw-mem-rss{background:#444;height:2px;border:0}\
.sw-mem-cow{background:repeating-linear-gradient(90deg,#444 0 6px,transparent 6px 9px);height:2px;border:0}\
.sw-mem-swap{background:repeating-linear-gradient(90deg,#444 0 2px,transparent 2px 4px);height:3px;border:0}\
svg .lat-p99{stroke-width:2}svg .lat-p50{stroke-dasharray:5 3;stroke-width:1.3}svg .lat-max{stroke-dasharray:1.5 2.5;stroke-width:1.6}\
svg .tp-failed{stroke-dasharray:6 3}\
svg circle.node0{fill:#2b6cb0}svg circle.node1{fill:#38a169}svg circle.node2{fill:#d69e2e}svg circle.node3{fill:#805ad5}\
svg circle.node4{fill:#b83280}svg circle.node5{fill:#319795}svg circle.node6{fill:#dd6b20}svg circle.node7{fill:#4a5568}\
.sw-lat-p99{background:#444;height:3px;border:0}\
.sw-lat-p50{background:repeating-linear-gradient(90deg,#444 0 5px,transparent 5px 8px);height:2px;border:0}\
.sw-lat-max{background:repeating-linear-gradient(90deg,#444 0 2px,transparent 2px 4px);height:2px;border:0}\
.sw-tp-ok{background:#444;height:2px;border:0}\
.sw-tp-failed{background:repeating-linear-gradient(90deg,#444 0 6px,transparent 6px 9px);height:2px;border:0}\
svg .limit{stroke:#c53030;stroke-width:1.3;stroke-dasharray:8 4}svg .limit-label{font-size:11px;fill:#9b2c2c}\
.sw-limit{background:repeating-linear-gradient(90deg,#c53030 0 8px,transparent 8px 12px);height:2px;border:0}\
.note{color:#555;font-style:italic}ol.marks{columns:2;font-size:13px;margin:.3em 0 1em}ol.marks li{break-inside:avoid}\
ol.marks .t{color:#555;font-variant-numeric:tabular-nums}";

/// The whole HTML document.
pub fn to_html(report: &Report) -> String {
    let mut out = String::new();
    let title = escape(&report.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    );
    let _ = write!(
        out,
        "<title>redsim: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
        title, STYLE
    );
    write_header(&mut out, report);
    write_expectations(&mut out, report);
    write_charts(&mut out, report);
    write_history(&mut out, report);
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
    let _ = writeln!(
        out,
        "<tr><th>replay</th><td><code>{}</code></td></tr>\n</table>",
        escape(&r.replay)
    );
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
    let opt = |v: Option<u64>| {
        v.map(|ms| format!("{} ms", ms))
            .unwrap_or_else(|| "-".to_string())
    };
    let _ = writeln!(out, "<h2>History</h2>\n<table id=\"history\">");
    let rows = [
        ("ok", h.ok.to_string()),
        ("fail", h.fail.to_string()),
        ("unknown", h.unknown.to_string()),
        ("acked writes", h.acked_writes.to_string()),
        ("acked writes lost", h.acked_writes_lost.to_string()),
        (
            "acked writes evaluated",
            h.acked_writes_evaluated.to_string(),
        ),
        ("first lost write acked", opt(h.first_lost_acked_ms)),
        ("last lost write acked", opt(h.last_lost_acked_ms)),
        ("first fail", opt(h.first_fail_ms)),
        ("last fail", opt(h.last_fail_ms)),
        (
            "latency p50 / p99 / p999 / max",
            format!(
                "{} / {} / {} / {} ms",
                h.latency_ms.p50, h.latency_ms.p99, h.latency_ms.p999, h.latency_ms.max
            ),
        ),
    ];
    for (name, value) in rows {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td class=\"num\">{}</td></tr>",
            name,
            escape(&value)
        );
    }
    for (code, n) in &h.errors {
        let _ = writeln!(
            out,
            "<tr><th>error {}</th><td class=\"num\">{}</td></tr>",
            escape(code),
            n
        );
    }
    for (kind, n) in &r.faults_fired {
        let _ = writeln!(
            out,
            "<tr><th>fault {}</th><td class=\"num\">{}</td></tr>",
            escape(kind),
            n
        );
    }
    out.push_str("</table>\n");
    write_lost_writes(out, h);
}

/// The lost writes the report lists, and what the checker could not judge.
fn write_lost_writes(out: &mut String, h: &crate::model::History) {
    for n in &h.acked_writes_not_evaluated {
        let _ = writeln!(
            out,
            "<p class=\"fail\">{} acked writes not evaluated ({}: {})</p>",
            n.acked_writes,
            escape(&n.node),
            escape(&n.reason)
        );
    }
    if h.lost_writes.is_empty() {
        return;
    }
    let listed = if (h.lost_writes.len() as u64) < h.acked_writes_lost {
        format!(
            "the first {} of {}",
            h.lost_writes.len(),
            h.acked_writes_lost
        )
    } else {
        h.acked_writes_lost.to_string()
    };
    let _ = writeln!(
        out,
        "<h3>Lost writes ({})</h3>\n<table id=\"lost-writes\">",
        listed
    );
    out.push_str("<tr><th>acked ms</th><th>invoked ms</th><th>node</th><th>kind</th><th>key</th><th>value</th><th>client</th><th>op</th></tr>\n");
    for w in &h.lost_writes {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">client#{}</td><td class=\"num\">{}</td></tr>",
            w.acked_ms,
            w.invoked_ms,
            escape(&w.node),
            escape(&w.kind),
            escape(&w.key),
            escape(w.value_tag.as_deref().unwrap_or("-")),
            w.client,
            w.op
        );
    }
    out.push_str("</table>\n");
}

/// The charts: latency and throughput per workload (or, in a report without per-workload
/// series, for all operations per second), lost writes, replication offsets and lag, memory
/// per node, all under fault bands, then each node's role over time on the same time axis.
/// A chart with nothing to draw is left out, with a line that says why.
fn write_charts(out: &mut String, r: &Report) {
    out.push_str("<h2>Charts</h2>\n<div id=\"charts\">\n");
    write_numbered_marks(out, r);
    let bands = band_legend(r);
    if workload_charts::has_operations(r) {
        write_workload_charts(out, r, &bands);
    } else if r
        .series
        .as_ref()
        .is_some_and(|s| s.ok_per_s.iter().chain(&s.fail_per_s).any(|n| *n > 0))
    {
        write_total_charts(out, r, &bands);
    } else if r.series.is_none() {
        out.push_str("<p class=\"note\">This report has no time series: no latency or throughput chart.</p>\n");
    } else {
        out.push_str(
            "<p class=\"note\">No operation completed: no latency or throughput chart.</p>\n",
        );
    }
    if !workload_charts::lost_lines(r).is_empty() {
        let lines: String = workload_charts::lost_lines(r)
            .iter()
            .map(|(i, name, _)| swatch(&charts::node_class(*i), name))
            .collect();
        write_chart_head(
            out,
            "lost-writes",
            "Lost writes",
            &format!("{}{}", lines, bands),
        );
        out.push_str(&workload_charts::lost_writes_chart(r));
        out.push_str("</div>\n");
    }
    write_node_charts(out, r, &bands);
    if r.nodes.is_empty() {
        out.push_str("</div>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<div class=\"chart\" id=\"chart-roles\">\n<h3>Roles</h3>"
    );
    let states: String = charts::role_states_used(r)
        .iter()
        .map(|s| swatch(s.class(), s.label()))
        .collect();
    let _ = writeln!(out, "<div class=\"legend\">{}</div>", states);
    out.push_str(&charts::roles_chart(r));
    out.push_str("</div>\n</div>\n");
}

fn write_chart_head(out: &mut String, id: &str, heading: &str, legend: &str) {
    let _ = writeln!(
        out,
        "<div class=\"chart\" id=\"chart-{}\">\n<h3>{}</h3>\n<div class=\"legend\">{}</div>",
        id,
        escape(heading),
        legend
    );
}

/// The list that explains the charts' numbered marks, when they are numbered.
fn write_numbered_marks(out: &mut String, r: &Report) {
    let Some(numbered) = charts::numbered_marks(r) else {
        return;
    };
    out.push_str("<h3>Marks on the time axis</h3>\n<ol class=\"marks\" id=\"marks\">\n");
    for (n, m) in numbered {
        let when = match m.end_ms {
            Some(end) if !m.open => format!(
                "{:.3} s to {:.3} s",
                m.start_ms as f64 / 1000.0,
                end as f64 / 1000.0
            ),
            Some(_) => format!("{:.3} s to the end", m.start_ms as f64 / 1000.0),
            None => format!("{:.3} s", m.start_ms as f64 / 1000.0),
        };
        let _ = writeln!(
            out,
            "<li value=\"{}\"><span class=\"t\">{}</span> {}</li>",
            n,
            when,
            escape(&m.label)
        );
    }
    out.push_str("</ol>\n");
}

/// Latency and throughput, one colour per workload.
fn write_workload_charts(out: &mut String, r: &Report, bands: &str) {
    let names: String = workload_charts::workloads(r)
        .iter()
        .map(|(i, name, _)| swatch(&charts::node_class(*i), name))
        .collect();
    let styles: String = workload_charts::LatencyLine::ALL
        .iter()
        .map(|l| swatch(l.class(), l.label()))
        .collect();
    let bucket = workload_charts::bucket_text(r);
    write_chart_head(
        out,
        "latency",
        &format!(
            "Latency per workload ({} buckets, by completion time)",
            bucket
        ),
        &format!("{}{}{}", names, styles, bands),
    );
    out.push_str(&workload_charts::latency_chart(r));
    out.push_str("</div>\n");
    let mut kinds = swatch("tp-ok", &format!("ok ({} total)", r.history.ok));
    if workload_charts::any_failed(r) {
        kinds.push_str(&swatch(
            "tp-failed",
            &format!("failed ({} total)", r.history.fail),
        ));
    }
    write_chart_head(
        out,
        "throughput",
        &format!(
            "Throughput per workload ({} buckets, by completion time)",
            bucket
        ),
        &format!("{}{}{}", names, kinds, bands),
    );
    out.push_str(&workload_charts::throughput_chart(r));
    out.push_str("</div>\n");
}

/// Latency and throughput of all operations per second, for reports without per-workload
/// series.
fn write_total_charts(out: &mut String, r: &Report, bands: &str) {
    let _ = writeln!(
        out,
        "<div class=\"chart\" id=\"chart-latency\">\n<h3>Latency per second</h3>"
    );
    let _ = writeln!(
        out,
        "<div class=\"legend\">{}{}{}</div>",
        swatch("p50", "p50"),
        swatch("p99", "p99"),
        bands
    );
    out.push_str(&charts::latency_chart(r));
    let _ = writeln!(
        out,
        "</div>\n<div class=\"chart\" id=\"chart-throughput\">\n<h3>Throughput per second</h3>"
    );
    let (ok, failed) = (r.history.ok, r.history.fail);
    let _ = writeln!(
        out,
        "<div class=\"legend\">{}{}{}</div>",
        swatch("ok", &format!("ok ({} total)", ok)),
        swatch("failed", &format!("failed ({} total)", failed)),
        bands
    );
    out.push_str(&charts::throughput_chart(r));
    out.push_str("</div>\n");
}

/// Whether any node was a replica at some point: the replication charts are drawn only then.
fn replicated(r: &Report) -> bool {
    let sampled = r.series.as_ref().is_some_and(|s| {
        s.nodes
            .values()
            .any(|n| n.role.iter().flatten().any(|role| role == "slave"))
    });
    sampled
        || r.nodes.values().any(|n| n.role == "slave")
        || r.events.iter().any(|e| e.event == "master_link_up")
}

/// Replication offsets and lag (when a node was a replica) and memory per node, one colour
/// per node; each legend names only the nodes drawn in its chart.
fn write_node_charts(out: &mut String, r: &Report, bands: &str) {
    for metric in NodeMetric::SINGLE_LINE
        .into_iter()
        .filter(|_| replicated(r))
    {
        let lines = charts::metric_lines(r, metric);
        if lines.is_empty() {
            continue;
        }
        let nodes: String = lines
            .iter()
            .map(|(i, name, _)| swatch(&charts::node_class(*i), name))
            .collect();
        write_chart_head(
            out,
            metric.id(),
            metric.heading(),
            &format!("{}{}", nodes, bands),
        );
        out.push_str(&charts::node_chart(r, metric));
        out.push_str("</div>\n");
    }
    let lines = charts::memory_lines(r);
    if lines.is_empty() {
        return;
    }
    let memory = NodeMetric::UsedMemory;
    let mut nodes: Vec<(usize, &str)> = lines
        .iter()
        .map(|(i, name, _, _)| (*i, name.as_str()))
        .collect();
    nodes.dedup();
    let mut styles: Vec<MemoryLine> = lines.iter().map(|(_, _, line, _)| *line).collect();
    styles.sort_by_key(|l| MemoryLine::ALL.iter().position(|a| a == l));
    styles.dedup();
    let node_swatches: String = nodes
        .iter()
        .map(|(i, name)| swatch(&charts::node_class(*i), name))
        .collect();
    let style_swatches: String = styles
        .iter()
        .map(|l| swatch(l.class(), l.label()))
        .collect();
    let ram: String = charts::ram_limits(r)
        .iter()
        .map(|(bytes, names, drawn)| {
            let label = charts::ram_label(r, *bytes, names);
            if *drawn {
                swatch("limit", &label)
            } else {
                format!(
                    "<span class=\"note\">{} (above this scale)</span>",
                    escape(&label)
                )
            }
        })
        .collect();
    write_chart_head(
        out,
        memory.id(),
        memory.heading(),
        &format!("{}{}{}{}", node_swatches, style_swatches, ram, bands),
    );
    out.push_str(&charts::memory_chart(r));
    out.push_str("</div>\n");
}

fn swatch(class: &str, label: &str) -> String {
    format!(
        "<span><i class=\"sw sw-{}\"></i>{}</span>",
        class,
        escape(label)
    )
}

/// Legend entries for the kinds of bands and marks this run has.
fn band_legend(r: &Report) -> String {
    let mut kinds: Vec<MarkKind> = timeline::marks(r, r.virtual_ms)
        .iter()
        .map(|m| m.kind)
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
        .iter()
        .map(|k| match k {
            MarkKind::Admin => swatch("admin", "admin command"),
            MarkKind::Fault => swatch("fault", "other fault"),
            band => swatch(
                band.name(),
                &format!("{} (until {})", band.name(), band_end(*band)),
            ),
        })
        .collect()
}

fn band_end(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::Partition => "heal",
        MarkKind::Pause => "resume",
        _ => "restart",
    }
}

fn write_nodes(out: &mut String, r: &Report) {
    let _ = writeln!(out, "<h2>Nodes</h2>\n<table id=\"nodes\">");
    out.push_str("<tr><th>node</th><th>kind</th><th>role</th><th>memory</th><th>rss max</th><th>swap max</th><th>oom kills</th></tr>\n");
    for (name, node) in &r.nodes {
        let m = &node.machine;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(name),
            escape(&node.kind),
            escape(&node.role),
            bytes_text(m.memory_bytes),
            bytes_text(m.rss_bytes_max),
            bytes_text(m.swap_bytes_max),
            m.oom_kills,
        );
    }
    out.push_str("</table>\n");
    write_node_info(out, r);
}

/// Key INFO fields side by side, one column per node, so nodes compare at a glance.
fn write_node_info(out: &mut String, r: &Report) {
    let fields: Vec<&str> = KEY_INFO_FIELDS
        .iter()
        .copied()
        .filter(|f| r.nodes.values().any(|n| n.info.contains_key(*f)))
        .collect();
    if fields.is_empty() {
        return;
    }
    let _ = write!(out, "<table id=\"node-info\">\n<tr><th>INFO field</th>");
    for name in r.nodes.keys() {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    out.push_str("</tr>\n");
    for field in fields {
        let _ = write!(out, "<tr><th><code>{}</code></th>", field);
        for node in r.nodes.values() {
            let value = node.info.get(field).map(value_text).unwrap_or_default();
            let _ = write!(out, "<td class=\"num\">{}</td>", escape(&value));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// "4.0 GiB" style, exact below 1 KiB, with the exact count on hover.
fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{} B", bytes);
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!(
        "<span title=\"{} bytes\">{:.1} {}</span>",
        bytes, value, UNITS[unit]
    )
}

fn write_events(out: &mut String, r: &Report) {
    let counts: Vec<String> = event_counts(r)
        .iter()
        .map(|(name, n)| format!("{} {}", escape(name), n))
        .collect();
    let _ = writeln!(
        out,
        "<h2>Events ({})</h2>\n<p>{}</p>\n<table id=\"events\">",
        r.events.len(),
        counts.join(", ")
    );
    out.push_str("<tr><th>t ms</th><th>node</th><th>event</th><th>detail</th></tr>\n");
    for e in &r.events {
        let class = if e.event.starts_with("fault:") {
            " class=\"ev-fault\""
        } else if e.event == "admin" || e.event == "admin-reply" {
            " class=\"ev-admin\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr{}><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            class,
            e.t_ms,
            escape(&e.node),
            escape(&e.event),
            escape(&e.detail)
        );
    }
    out.push_str("</table>\n");
}
