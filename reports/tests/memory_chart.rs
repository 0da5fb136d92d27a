//! The memory chart: RSS, the child's COW copies and swap per node, in the node's colour and
//! one line style each, over the fault bands; an OOM kill is marked and takes the node down.

use redsim_reports::charts::{memory_lines, MemoryLine};
use redsim_reports::model::*;
use redsim_reports::timeline::{marks, role_lanes, MarkKind, RoleState};
use redsim_reports::to_html;

fn report() -> Report {
    let seconds = 10;
    let mut m1 = NodeSeries::default();
    let mut r1 = NodeSeries::default();
    for s in 0..seconds {
        let up = s < 6;
        m1.used_memory.push(up.then_some(1_000_000 + s));
        m1.rss_bytes.push(up.then_some((20 + s) << 20));
        m1.cow_bytes
            .push(up.then_some(if (2..5).contains(&s) { s << 20 } else { 0 }));
        m1.swap_bytes
            .push(up.then_some(if s >= 4 { 3 << 20 } else { 0 }));
        r1.used_memory.push(Some(900_000));
        r1.rss_bytes.push(Some(2 << 20));
        r1.cow_bytes.push(Some(0));
        r1.swap_bytes.push(Some(0));
    }
    let node = || NodeReport {
        kind: "redis".into(),
        role: "master".into(),
        info: Default::default(),
        machine: MachineReport::default(),
    };
    let event = |t_ms: u64, node: &str, event: &str, detail: &str| Event {
        t_ms,
        node: node.into(),
        event: event.into(),
        detail: detail.into(),
    };
    Report {
        redsim_version: "0".into(),
        scenario: "memory".into(),
        title: "memory".into(),
        seed: 1,
        trace_hash: "0".into(),
        passed: true,
        expectations: Vec::new(),
        virtual_ms: seconds * 1000,
        wall_ms: 0,
        nodes: [("m1".to_string(), node()), ("r1".to_string(), node())]
            .into_iter()
            .collect(),
        events: vec![
            event(3000, "m1", "fault:memory-pressure", "bytes=40000000"),
            event(4000, "m1", "swap", "3145728 bytes of pid 7 to swap"),
            event(
                5500,
                "m1",
                "oom-kill",
                "Out of memory: Killed process 7 (redis-server) total-vm:1kB, anon-rss:1kB",
            ),
            event(5500, "m1", "crash", "pid=7 killed (SIGKILL)"),
        ],
        history: History::default(),
        series: Some(Series {
            nodes: [("m1".to_string(), m1), ("r1".to_string(), r1)]
                .into_iter()
                .collect(),
            ..Series::default()
        }),
        faults_fired: Default::default(),
        scenario_resolved: serde_json::json!({}),
        replay: String::new(),
    }
}

#[test]
fn rss_cow_and_swap_lines_per_node() {
    let r = report();
    let lines: Vec<(usize, String, MemoryLine)> = memory_lines(&r)
        .into_iter()
        .map(|(i, n, l, _)| (i, n, l))
        .collect();
    // r1 never copied or swapped: only its RSS is drawn.
    assert_eq!(
        lines,
        vec![
            (0, "m1".into(), MemoryLine::Rss),
            (0, "m1".into(), MemoryLine::Cow),
            (0, "m1".into(), MemoryLine::Swap),
            (1, "r1".into(), MemoryLine::Rss)
        ]
    );
    let html = to_html(&r);
    let svg = html
        .split("id=\"svg-memory\"")
        .nth(1)
        .unwrap()
        .split("</svg>")
        .next()
        .unwrap();
    for class in [
        "series node0 mem-rss",
        "series node0 mem-cow",
        "series node0 mem-swap",
        "series node1 mem-rss",
    ] {
        assert_eq!(svg.matches(class).count(), 1, "{}", class);
    }
    assert!(!svg.contains("node1 mem-swap"));
    assert!(svg.contains("MiB<"));
    assert!(
        svg.contains("memory-pressure m1 bytes=40000000"),
        "the fault is marked"
    );
    assert!(svg.contains("oom-kill m1"), "the kill is marked");
    let legend = html
        .split("id=\"chart-memory\">")
        .nth(1)
        .unwrap()
        .split("<svg")
        .next()
        .unwrap();
    for label in [
        "sw-node0\"></i>m1",
        "sw-node1\"></i>r1",
        "sw-mem-rss\"></i>RSS",
        "sw-mem-cow\"></i>COW",
        "sw-mem-swap\"></i>swap",
    ] {
        assert_eq!(legend.matches(label).count(), 1, "{} in {}", label, legend);
    }
}

#[test]
fn an_old_report_draws_used_memory_as_rss_and_an_oom_kill_takes_the_node_down() {
    let mut r = report();
    for s in r.series.as_mut().unwrap().nodes.values_mut() {
        s.rss_bytes.clear();
        s.cow_bytes.clear();
        s.swap_bytes.clear();
    }
    let lines = memory_lines(&r);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].3[0], Some(1_000_000.0));
    let marks = marks(&r, 10_000);
    assert!(marks
        .iter()
        .any(|m| m.kind == MarkKind::Fault && m.label == "oom-kill m1" && m.start_ms == 5500));
    let lanes = role_lanes(&r, 10_000);
    let m1 = &lanes.iter().find(|(n, _, _)| n == "m1").unwrap().2;
    assert_eq!(
        m1.last().map(|s| (s.start_ms, s.state)),
        Some((5500, RoleState::Down))
    );
}
