//! The comparison charts: latency and throughput per workload in the series' buckets, lost
//! writes by ack time, the machine's RAM on the memory chart, and marks that stay readable
//! when they crowd.

use redsim_reports::charts::numbered_marks;
use redsim_reports::model::*;
use redsim_reports::timeline::marks;
use redsim_reports::to_html;
use redsim_reports::workload_charts::workloads;
use serde_json::json;

fn node(memory_bytes: u64) -> NodeReport {
    NodeReport {
        kind: "redis".into(),
        role: "master".into(),
        info: Default::default(),
        machine: MachineReport {
            memory_bytes,
            ..MachineReport::default()
        },
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

/// Two workloads in 100 ms buckets over 4 s: `del` on m1 stalls 600 ms at 2 s and loses
/// writes acknowledged at 1.0-1.2 s; `unlink` on m2 stays at 1 ms and fails once.
fn report() -> Report {
    let buckets = 40;
    let mut del = WorkloadSeries::default();
    let mut unlink = WorkloadSeries::default();
    for i in 0..buckets {
        let stalled = (20..26).contains(&i);
        del.ok.push(if stalled { 0 } else { 100 });
        del.fail.push(0);
        let latency = if i == 26 { 600.0 } else { 1.0 };
        del.latency_p50_ms.push((!stalled).then_some(latency / 2.0));
        del.latency_p99_ms.push((!stalled).then_some(latency));
        del.latency_max_ms.push((!stalled).then_some(latency * 1.1));
        del.acked_writes_lost
            .push(if (10..12).contains(&i) { 7 } else { 0 });
        unlink.ok.push(100);
        unlink.fail.push(if i == 30 { 1 } else { 0 });
        unlink.latency_p50_ms.push(Some(0.5));
        unlink.latency_p99_ms.push(Some(1.0));
        unlink.latency_max_ms.push(Some(1.2));
        unlink.acked_writes_lost.push(0);
    }
    let mut m1 = NodeSeries::default();
    for s in 0..4 {
        m1.role.push(Some("master".into()));
        m1.rss_bytes.push(Some((300 + s) << 20));
        m1.used_memory.push(Some(300 << 20));
    }
    let m2 = m1.clone();
    Report {
        redsim_version: "0".into(),
        scenario: "cmp".into(),
        title: "cmp".into(),
        seed: 1,
        trace_hash: "0".into(),
        passed: true,
        expectations: Vec::new(),
        virtual_ms: 4000,
        wall_ms: 0,
        nodes: [
            ("m1".to_string(), node(1 << 30)),
            ("m2".to_string(), node(1 << 30)),
        ]
        .into_iter()
        .collect(),
        events: vec![
            event(2000, "m1", "admin", "DEL big"),
            event(2000, "m2", "admin", "UNLINK big"),
        ],
        history: History {
            ok: 7799,
            fail: 1,
            acked_writes_lost: 14,
            ..History::default()
        },
        series: Some(Series {
            bucket_ms: Some(100),
            workloads: [("unlink".to_string(), unlink), ("del".to_string(), del)]
                .into_iter()
                .collect(),
            nodes: [("m1".to_string(), m1), ("m2".to_string(), m2)]
                .into_iter()
                .collect(),
            ..Series::default()
        }),
        faults_fired: Default::default(),
        scenario_resolved: json!({
            "node": [{"name": "m2"}, {"name": "m1"}],
            "workload": [{"name": "del", "target": "m1"}, {"name": "unlink", "target": "m2"}]
        }),
        replay: "redsim run cmp --seed 1".into(),
    }
}

fn svg_of<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg id=\"svg-{}\"", id))
        .unwrap_or_else(|| panic!("no svg-{}", id));
    let end = start + html[start..].find("</svg>").expect("closed");
    &html[start..end]
}

#[test]
fn workloads_have_their_own_lines_in_their_node_colour() {
    let r = report();
    // Scenario order; each workload targets a node of its own, so it takes that node's colour
    // (m2 is listed first: colour 0).
    let listed: Vec<(usize, &str)> = workloads(&r).iter().map(|(i, n, _)| (*i, *n)).collect();
    assert_eq!(listed, [(1, "del"), (0, "unlink")]);
    let html = to_html(&r);
    let latency = svg_of(&html, "latency");
    for line in [
        "node1 lat-p99",
        "node1 lat-max",
        "node1 lat-p50",
        "node0 lat-p99",
        "node0 lat-max",
        "node0 lat-p50",
    ] {
        assert_eq!(
            latency
                .matches(&format!("class=\"series {}\"", line))
                .count(),
            1,
            "{}",
            line
        );
    }
    // The stall breaks del's line and its 600 ms bucket is drawn in 100 ms buckets: x of
    // bucket 26's middle (2.65 s of 4 s over the plot from 120 to 1076 px).
    let del_p99 = latency
        .split("class=\"series node1 lat-p99\" d=\"")
        .nth(1)
        .unwrap();
    let del_p99 = &del_p99[..del_p99.find('"').unwrap()];
    assert_eq!(del_p99.matches('M').count(), 2);
    assert!(
        del_p99.contains(&format!("M{:.1},", 120.0 + 956.0 * 2.65 / 4.0)),
        "{}",
        del_p99
    );
    assert!(html.contains("Latency per workload (100 ms buckets, by completion time)"));
    let throughput = svg_of(&html, "throughput");
    assert!(
        throughput.contains("class=\"series node1 tp-ok\"")
            && throughput.contains("class=\"series node0 tp-ok\"")
    );
    assert!(
        throughput.contains("class=\"series node0 tp-failed\"")
            && !throughput.contains("node1 tp-failed"),
        "failures only where some"
    );
    assert!(
        throughput.contains(">1000<"),
        "100 per 100 ms bucket is 1000 ops/s"
    );
    assert!(html.contains("<i class=\"sw sw-node1\"></i>del</span>"));
}

#[test]
fn lost_writes_chart_shows_when_the_lost_writes_were_acknowledged() {
    let mut r = report();
    let html = to_html(&r);
    let lost = svg_of(&html, "lost-writes");
    assert!(
        lost.contains("class=\"series node1 tp-ok\"") && !lost.contains("node0"),
        "only the workload that lost writes"
    );
    assert!(lost.contains("lost writes / 100 ms"));
    for w in r.series.as_mut().unwrap().workloads.values_mut() {
        w.acked_writes_lost.iter_mut().for_each(|n| *n = 0);
    }
    assert!(
        !to_html(&r).contains("svg-lost-writes"),
        "no lost write, no chart"
    );
}

#[test]
fn memory_chart_draws_the_machine_ram_as_a_limit_unless_far_above() {
    let mut r = report();
    let memory = svg_of(&to_html(&r), "memory").to_string();
    assert!(
        memory.contains("class=\"limit\"") && memory.contains(">machine RAM 1 GiB<"),
        "RSS 300 MiB of 1 GiB"
    );
    for n in r.nodes.values_mut() {
        n.machine.memory_bytes = 64 << 30;
    }
    let html = to_html(&r);
    assert!(!svg_of(&html, "memory").contains("class=\"limit\""));
    assert!(html.contains("machine RAM 64 GiB (above this scale)"));
}

#[test]
fn same_command_on_several_nodes_is_one_mark_and_crowded_marks_are_numbered() {
    let mut r = report();
    r.events = vec![
        event(1000, "m1", "admin", "BGSAVE"),
        event(1000, "m2", "admin", "BGSAVE"),
        event(3000, "m1", "admin", "SAVE"),
    ];
    let all = marks(&r, 4000);
    assert_eq!(
        all.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(),
        ["m1, m2: BGSAVE", "m1: SAVE"]
    );
    assert!(
        numbered_marks(&r).is_none(),
        "two marks far apart: their text fits"
    );
    assert!(svg_of(&to_html(&r), "latency").contains(">m1, m2: BGSAVE</text>"));
    // Eight commands 50 ms apart cannot all be written out above the plot.
    r.events = (0..8)
        .map(|i| {
            event(
                2000 + 50 * i,
                if i % 2 == 0 { "m1" } else { "m2" },
                "admin",
                &format!("DEBUG POPULATE 70000 new{} 1000", i),
            )
        })
        .collect();
    let numbered = numbered_marks(&r).expect("numbered");
    assert_eq!(
        numbered.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    let html = to_html(&r);
    assert!(html.contains("<ol class=\"marks\" id=\"marks\">"));
    assert!(html.contains(
        "<li value=\"3\"><span class=\"t\">2.100 s</span> m1: DEBUG POPULATE 70000 new2 1000</li>"
    ));
    let latency = svg_of(&html, "latency");
    assert!(
        !latency.contains(" 1000</text>"),
        "no crowded text in the chart"
    );
    // 50 ms is 12 px on this axis: each mark has its own number.
    for n in 1..=8 {
        assert!(
            latency.contains(&format!("</title>{}</text>", n)),
            "label {}",
            n
        );
    }
}
