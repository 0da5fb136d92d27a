//! The HTML report: well-formed, self-contained (no external references), one SVG per chart,
//! hostile strings escaped, and robust to reports without or with empty series.

use redsim_reports::model::*;
use redsim_reports::timeline::{marks, role_lanes, MarkKind, RoleSegment, RoleState};
use redsim_reports::{from_json, to_html, to_json_pretty};
use serde_json::json;

const HOSTILE: &str = "\"><script>alert('x')</script><img src=x onerror=alert(1)>&amp;";

fn node(kind: &str, role: &str) -> NodeReport {
    let mut info = serde_json::Map::new();
    info.insert("role".into(), info_value(role));
    NodeReport {
        kind: kind.into(),
        role: role.into(),
        info,
        machine: MachineReport::default(),
    }
}

fn event(t_ms: u64, node: &str, event: &str, detail: &str) -> Event {
    Event {
        t_ms,
        node: node.into(),
        event: event.into(),
        detail: detail.into(),
    }
}

/// A failover story: r1 syncs, m1 is partitioned then killed, r1 is promoted, m1 restarts
/// as a replica; plus a pause, an admin command and hostile text everywhere text goes.
fn failover_report() -> Report {
    let seconds = 40;
    let ok: Vec<u64> = (0..seconds)
        .map(|s| if (12..20).contains(&s) { 0 } else { 900 + s })
        .collect();
    let fail: Vec<u64> = (0..seconds)
        .map(|s| if (12..20).contains(&s) { 300 } else { 0 })
        .collect();
    let p50: Vec<Option<f64>> = ok.iter().map(|n| (*n > 0).then_some(0.4)).collect();
    let p99: Vec<Option<f64>> = ok
        .iter()
        .enumerate()
        .map(|(s, n)| (*n > 0).then_some(if s == 20 { 2500.0 } else { 1.2 }))
        .collect();
    Report {
        redsim_version: "0.1.0".into(),
        scenario: format!("failover{}", HOSTILE),
        title: format!("title {}", HOSTILE),
        seed: 7,
        trace_hash: "ab".into(),
        passed: false,
        expectations: vec![ExpectationResult {
            that: format!("m1.x == \"{}\"", HOSTILE),
            passed: false,
            actual: json!(HOSTILE),
        }],
        virtual_ms: seconds * 1000,
        wall_ms: 3,
        nodes: [
            ("m1".to_string(), node("redis", "slave")),
            ("r1".to_string(), node("redis", "master")),
            ("s1".to_string(), node("sentinel", "sentinel")),
            (format!("n{}", HOSTILE), node("redis", HOSTILE)),
        ]
        .into_iter()
        .collect(),
        events: vec![
            event(5100, "r1", "master_link_up", "full sync 181 bytes"),
            event(10_000, "*", "fault:partition", "[m1] [r1,s1]"),
            event(10_000, "m1", "admin", &format!("CONFIG SET x {}", HOSTILE)),
            event(11_000, "m1", "fault:kill", ""),
            event(12_000, "r1", "master_link_down", "offset 10"),
            event(14_000, "r1", "promoted", "offset 10"),
            event(14_000, "s1", "+switch-master", HOSTILE),
            event(16_000, "*", "fault:heal", ""),
            event(18_000, "m1", "fault:restart", ""),
            event(18_500, "m1", "master_link_up", "full sync"),
            event(25_000, "s1", "fault:pause", ""),
            event(30_000, "m1", "fault:clock-jump", HOSTILE),
            event(33_000, "r1", "fault:pause", ""),
        ],
        history: History {
            ok: ok.iter().sum(),
            fail: fail.iter().sum(),
            ..History::default()
        },
        series: Some(Series {
            ok_per_s: ok,
            fail_per_s: fail,
            latency_p50_ms: p50,
            latency_p99_ms: p99,
            nodes: node_series(seconds as usize),
            ..Series::default()
        }),
        faults_fired: [("partition".to_string(), 1), (HOSTILE.to_string(), 1)]
            .into_iter()
            .collect(),
        scenario_resolved: json!({"node": [{"name": "m1", "config": []}, {"name": "r1", "config": ["replicaof m1 6379"]}]}),
        replay: format!("redsim run {}", HOSTILE),
    }
}

/// m1 master until its kill at 11 s (down until 18 s, then a replica of r1); r1 a replica
/// that lags during the partition and is promoted at 14 s; the hostile-named node never up.
fn node_series(seconds: usize) -> std::collections::BTreeMap<String, NodeSeries> {
    let mut m1 = NodeSeries::default();
    let mut r1 = NodeSeries::default();
    for s in 0..seconds as i64 {
        let offset = 1000 * s;
        let m1_up = !(11..18).contains(&s);
        m1.role
            .push(m1_up.then(|| if s < 11 { "master" } else { "slave" }.to_string()));
        m1.master_repl_offset.push(m1_up.then_some(offset));
        m1.repl_lag_bytes.push((s >= 18).then_some(0));
        m1.used_memory
            .push(m1_up.then_some(900_000 + 20_000 * s as u64));
        r1.role
            .push(Some(if s < 14 { "slave" } else { "master" }.to_string()));
        r1.master_repl_offset.push(Some(if (10..14).contains(&s) {
            10_000
        } else {
            offset
        }));
        r1.repl_lag_bytes
            .push((s < 14).then_some(if s == 10 { 3000 } else { 0 }));
        r1.used_memory.push(Some(950_000 + 20_000 * s as u64));
    }
    let down = NodeSeries {
        role: vec![None; seconds],
        master_repl_offset: vec![None; seconds],
        repl_lag_bytes: vec![None; seconds],
        used_memory: vec![None; seconds],
        ..NodeSeries::default()
    };
    [
        ("m1".to_string(), m1),
        ("r1".to_string(), r1),
        (format!("n{}", HOSTILE), down),
    ]
    .into_iter()
    .collect()
}

fn bare_report() -> Report {
    Report {
        redsim_version: "0.1.0".into(),
        scenario: "empty".into(),
        title: "empty".into(),
        seed: 1,
        trace_hash: "0".into(),
        passed: true,
        expectations: Vec::new(),
        virtual_ms: 0,
        wall_ms: 0,
        nodes: Default::default(),
        events: Vec::new(),
        history: History::default(),
        series: None,
        faults_fired: Default::default(),
        scenario_resolved: serde_json::Value::Null,
        replay: String::new(),
    }
}

const VOID_ELEMENTS: &[&str] = &["meta", "br", "hr", "img", "input", "link", "col", "wbr"];

/// Checks that every element opened is closed in order (HTML void elements and `/>` aside)
/// and that no '<' starts something other than a tag. Returns the tags opened (name, text).
fn assert_well_nested(html: &str) -> Vec<(String, String)> {
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("unterminated tag near {:?}", &after[..after.len().min(60)]));
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with("!DOCTYPE") {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{}> closes nothing", name));
            assert_eq!(open, name, "</{}> closes <{}>", name, open);
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(!name.is_empty(), "'<' that starts no tag: <{}>", tag);
        opened.push((name.clone(), tag.to_string()));
        if !tag.ends_with('/') && !VOID_ELEMENTS.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "left open: {:?}", stack);
    opened
}

/// No reference leaves the file: no URL but the SVG namespace, no element that loads
/// anything, no attribute that points anywhere.
fn assert_self_contained(html: &str) {
    let without_xmlns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in ["http://", "https://", "url(", "@import"] {
        assert!(
            !without_xmlns.contains(needle),
            "HTML contains {:?}",
            needle
        );
    }
    for (name, tag) in assert_well_nested(html) {
        assert!(
            !["script", "link", "img", "iframe", "object", "embed", "image", "use"]
                .contains(&name.as_str()),
            "<{}>",
            tag
        );
        for attribute in [" src=", " href=", " on"] {
            assert!(!tag.contains(attribute), "<{}> has {:?}", tag, attribute);
        }
    }
    for bad in ["NaN", "inf\"", "\"inf", "Some(", "None"] {
        assert!(!html.contains(bad), "HTML contains {:?}", bad);
    }
}

fn svg_count(html: &str) -> usize {
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    html.matches("<svg").count()
}

#[test]
fn html_is_well_formed_self_contained_and_has_six_charts() {
    let html = to_html(&failover_report());
    let opened = assert_well_nested(&html);
    assert_self_contained(&html);
    assert_eq!(svg_count(&html), 6);
    for id in [
        "svg-latency",
        "svg-throughput",
        "svg-repl-offset",
        "svg-repl-lag",
        "svg-memory",
        "svg-roles",
    ] {
        assert_eq!(html.matches(&format!("id=\"{}\"", id)).count(), 1, "{}", id);
    }
    assert!(
        opened.iter().any(|(name, _)| name == "path"),
        "series are drawn"
    );
    for id in ["summary", "expectations", "history", "nodes", "events"] {
        assert!(html.contains(&format!("<table id=\"{}\">", id)), "{}", id);
    }
    assert!(html.contains("<span class=\"fail\">FAIL</span>"));
}

#[test]
fn hostile_strings_are_escaped_everywhere() {
    let html = to_html(&failover_report());
    assert!(!html.contains("<script"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("alert('x')"), "quotes are escaped too");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("&amp;amp;"));
    assert_well_nested(&html);
}

/// A chart with nothing to draw is left out, and a note says why.
#[test]
fn report_without_series_draws_only_the_roles() {
    let mut report = failover_report();
    report.series = None;
    let html = to_html(&report);
    assert_well_nested(&html);
    assert_self_contained(&html);
    assert_eq!(svg_count(&html), 1);
    assert!(html.contains("<svg id=\"svg-roles\""));
    assert!(html.contains(
        "<p class=\"note\">This report has no time series: no latency or throughput chart.</p>"
    ));
    assert!(
        html.contains("band-partition"),
        "fault bands come from the events alone"
    );
}

#[test]
fn empty_report_renders_no_chart() {
    for series in [None, Some(Series::default())] {
        let mut report = bare_report();
        report.series = series;
        let html = to_html(&report);
        assert_well_nested(&html);
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 0);
        assert!(html.contains("no latency or throughput chart"));
    }
}

#[test]
fn series_of_zeros_and_ragged_lengths_render() {
    let mut report = failover_report();
    report.series = Some(Series {
        ok_per_s: vec![0; 5],
        fail_per_s: vec![0; 50],
        latency_p50_ms: vec![None, Some(0.0), Some(f64::NAN)],
        latency_p99_ms: vec![Some(3.0)],
        nodes: node_series(7),
        ..Series::default()
    });
    let html = to_html(&report);
    assert_well_nested(&html);
    assert_self_contained(&html);
    assert_eq!(
        svg_count(&html),
        4,
        "no latency or throughput chart: throughput is all zero"
    );
    assert!(html.contains("No operation completed"));
    for id in ["repl-offset", "repl-lag", "memory", "roles"] {
        assert!(html.contains(&format!("<svg id=\"svg-{}\"", id)), "{}", id);
    }
}

#[test]
fn series_is_optional_in_json() {
    let mut report = failover_report();
    let text = to_json_pretty(&report);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["series"]["fail_per_s"][12], json!(300));
    assert_eq!(
        value["series"]["latency_p50_ms"][12],
        serde_json::Value::Null
    );
    assert_eq!(from_json(&text).unwrap(), report);
    report.series = None;
    let old = to_json_pretty(&report);
    assert!(!old.contains("\"series\""));
    assert_eq!(from_json(&old).unwrap().series, None);
}

#[test]
fn fault_marks_pair_faults_with_their_ends() {
    let report = failover_report();
    let all = marks(&report, 40_000);
    let spans: Vec<(MarkKind, u64, Option<u64>, bool)> = all
        .iter()
        .map(|m| (m.kind, m.start_ms, m.end_ms, m.open))
        .collect();
    assert_eq!(
        spans,
        [
            (MarkKind::Partition, 10_000, Some(16_000), false),
            (MarkKind::Admin, 10_000, None, false),
            (MarkKind::Kill, 11_000, Some(18_000), false),
            (MarkKind::Pause, 25_000, Some(40_000), true),
            (MarkKind::Fault, 30_000, None, false),
            (MarkKind::Pause, 33_000, Some(40_000), true),
        ]
    );
    assert_eq!(all[0].label, "partition [m1] [r1,s1]");
    assert_eq!(all[3].label, "pause s1");
    assert!(all[4].label.starts_with("clock-jump m1 "));
}

#[test]
fn heal_without_partition_and_no_effect_faults_are_instant_marks() {
    let mut report = bare_report();
    report.events = vec![
        event(1000, "*", "fault:heal", ""),
        event(2000, "r1", "fault:pause", "(no effect)"),
    ];
    let kinds: Vec<(MarkKind, Option<u64>)> = marks(&report, 5000)
        .iter()
        .map(|m| (m.kind, m.end_ms))
        .collect();
    assert_eq!(kinds, [(MarkKind::Fault, None), (MarkKind::Fault, None)]);
}

#[test]
fn role_lanes_follow_promotion_kill_restart_and_pause() {
    let report = failover_report();
    let lanes = role_lanes(&report, 40_000);
    let lane = |name: &str| {
        lanes
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, s)| s.clone())
            .unwrap()
    };
    let seg = |start_ms, end_ms, state| RoleSegment {
        start_ms,
        end_ms,
        state,
    };
    assert_eq!(
        lane("m1"),
        [
            seg(0, 11_000, RoleState::Master),
            seg(11_000, 18_000, RoleState::Down),
            // m1's config has no replicaof, so it restarts as a master; its link up says otherwise.
            seg(18_000, 18_500, RoleState::Master),
            seg(18_500, 40_000, RoleState::Replica),
        ]
    );
    assert_eq!(
        lane("r1"),
        [
            seg(0, 5100, RoleState::ReplicaLinkDown),
            seg(5100, 12_000, RoleState::Replica),
            seg(12_000, 14_000, RoleState::ReplicaLinkDown),
            seg(14_000, 33_000, RoleState::Master),
            seg(33_000, 40_000, RoleState::Paused),
        ]
    );
    assert_eq!(
        lane("s1"),
        [
            seg(0, 25_000, RoleState::Sentinel),
            seg(25_000, 40_000, RoleState::Paused)
        ]
    );
    let hostile = lanes.iter().find(|(n, _, _)| n.starts_with('n')).unwrap();
    assert_eq!(
        hostile.2,
        [seg(0, 40_000, RoleState::Unknown)],
        "no config, no events, an unknown final role"
    );
}

#[test]
fn node_info_is_a_field_by_node_table() {
    let mut report = failover_report();
    report
        .nodes
        .get_mut("m1")
        .unwrap()
        .info
        .insert("sync_full".into(), json!(2));
    report.nodes.get_mut("m1").unwrap().machine.memory_bytes = 4 << 30;
    let html = to_html(&report);
    assert!(html.contains("<table id=\"node-info\">"));
    assert!(html.contains(
        "<tr><th><code>sync_full</code></th><td class=\"num\">2</td><td class=\"num\"></td>"
    ));
    assert!(html.contains("<span title=\"4294967296 bytes\">4.0 GiB</span>"));
}

/// The chart's SVG alone, by its id.
fn svg_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg id=\"svg-{}\"", id))
        .unwrap_or_else(|| panic!("no svg-{}", id));
    let end = start + html[start..].find("</svg>").expect("closed");
    &html[start..end]
}

#[test]
fn node_charts_draw_one_line_per_node_with_samples() {
    let html = to_html(&failover_report());
    // m1 is down from 11 s to 18 s, so its offset line breaks in two; r1's is unbroken; the
    // never-up node (colour 2: after m1 and r1, which the scenario lists) draws nothing.
    let offsets = svg_of(&html, "repl-offset");
    assert_eq!(offsets.matches("class=\"series node0\"").count(), 1);
    assert_eq!(offsets.matches("class=\"series node1\"").count(), 1);
    assert!(!offsets.contains("node2"));
    let m1 = offsets.split("class=\"series node0\" d=\"").nth(1).unwrap();
    assert_eq!(m1[..m1.find('"').unwrap()].matches('M').count(), 2);
    assert!(
        offsets.contains("band-partition"),
        "fault bands as on the other charts"
    );
    assert!(offsets.contains(" KiB<"), "byte ticks");
    let lag = svg_of(&html, "repl-lag");
    assert!(lag.contains("series node0") && lag.contains("series node1"));
    let memory = svg_of(&html, "memory");
    assert!(memory.contains("MiB<"), "about 1.7 MiB at the end");
    for id in ["repl-offset", "repl-lag", "memory"] {
        assert!(html.contains(&format!("<div class=\"chart\" id=\"chart-{}\">", id)));
    }
    assert!(
        html.contains("<i class=\"sw sw-node0\"></i>m1</span>"),
        "legend names nodes by colour"
    );
}

#[test]
fn node_charts_without_samples_are_left_out() {
    let mut report = failover_report();
    let series = report.series.as_mut().unwrap();
    for s in series.nodes.values_mut() {
        s.repl_lag_bytes = vec![None; 3];
        s.used_memory.clear();
    }
    let html = to_html(&report);
    assert_well_nested(&html);
    assert_self_contained(&html);
    assert!(
        !html.contains("svg-repl-lag") && !html.contains("chart-repl-lag"),
        "no lag sample: no lag chart"
    );
    assert!(
        !html.contains("svg-memory"),
        "no memory sample: no memory chart"
    );
    assert!(svg_of(&html, "repl-offset").contains("series node0"));
    report.series.as_mut().unwrap().nodes.clear();
    let html = to_html(&report);
    assert_eq!(svg_count(&html), 3, "latency, throughput, roles");
    // Without any replica, no replication chart even with samples.
    let mut report = failover_report();
    report.events.retain(|e| e.event != "master_link_up");
    report.nodes.get_mut("m1").unwrap().role = "master".into();
    for s in report.series.as_mut().unwrap().nodes.values_mut() {
        s.role = s
            .role
            .iter()
            .map(|r| r.as_ref().map(|_| "master".to_string()))
            .collect();
    }
    let html = to_html(&report);
    assert!(
        !html.contains("svg-repl-offset")
            && !html.contains("svg-repl-lag")
            && html.contains("svg-memory")
    );
}

#[test]
fn node_series_are_optional_in_json() {
    let report = failover_report();
    let text = to_json_pretty(&report);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value["series"]["nodes"]["m1"]["master_repl_offset"][3],
        json!(3000)
    );
    assert_eq!(
        value["series"]["nodes"]["m1"]["role"][12],
        serde_json::Value::Null
    );
    assert_eq!(from_json(&text).unwrap(), report);
    let mut old: serde_json::Value = value.clone();
    old["series"].as_object_mut().unwrap().remove("nodes");
    let parsed = from_json(&old.to_string()).unwrap();
    assert!(parsed.series.unwrap().nodes.is_empty());
    let mut empty = report.clone();
    empty.series.as_mut().unwrap().nodes.clear();
    assert!(!to_json_pretty(&empty).contains("\"nodes\": {}"));
    assert!(!to_json_pretty(&empty).contains("master_repl_offset\": ["));
}
