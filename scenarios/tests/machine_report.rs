//! The machine's memory in the report: a memory-pressure fault on a small
//! machine without swap OOM-kills the node; the figures and the event reach
//! nodes.*.machine, the event table, the per-second memory series and the
//! HTML memory chart.

use redsim_scenarios::runner;
use redsim_scenarios::spec::Scenario;

const TOML: &str = r#"
title = "memory pressure on a 16 MB machine"
seeds = [5]
duration_ms = 6_000

[machine]
memory = "16mb"
swap = "off"

[[node]]
name = "m1"
kind = "redis"

[[node]]
name = "r1"
kind = "redis"

[[workload]]
name = "writers"
target = "m1"
clients = 2
ops_per_second = 400
write_ratio = 1.0
kind = "set"
keys = 1000
value_bytes = 100

[[step]]
at_ms = 3_000
fault = "memory-pressure"
node = "m1"
bytes = "16mb"

[[expect]]
that = "m1.oom_kills == 1"

[[expect]]
that = "r1.oom_kills == 0"
"#;

#[test]
fn oom_kill_figures_reach_the_report_and_its_memory_chart() {
    let scenario = Scenario::from_toml_str(TOML, "machine.toml").expect("a valid scenario");
    let out = runner::run(&scenario, "machine.toml", 5).expect("runs");
    let rep = &out.report;
    assert!(rep.passed, "{:?}", rep.expectations);
    let (m1, r1) = (&rep.nodes["m1"].machine, &rep.nodes["r1"].machine);
    assert_eq!(
        (m1.memory_bytes, m1.oom_kills, m1.swap_bytes_max),
        (16 << 20, 1, 0)
    );
    assert!(
        m1.rss_bytes_max > 870_000 && r1.rss_bytes_max >= 870_000,
        "{:?} {:?}",
        m1,
        r1
    );
    assert_eq!(rep.nodes["m1"].role, "down");
    let kill = rep
        .events
        .iter()
        .find(|e| e.event == "oom-kill")
        .expect("the kill is in the event table");
    assert_eq!((kill.t_ms, kill.node.as_str()), (3_000, "m1"));
    assert!(
        kill.detail
            .contains(&format!("anon-rss:{}kB", m1.rss_bytes_max / 1024)),
        "{}",
        kill.detail
    );
    let series = &rep.series.as_ref().expect("series").nodes["m1"];
    assert_eq!(series.rss_bytes.len(), 6);
    // Sampled at the end of each second: up at 1 s and 2 s, killed at 3 s.
    assert!(
        series.rss_bytes[..2]
            .iter()
            .all(|v| v.is_some_and(|b| b >= 870_000)),
        "{:?}",
        series.rss_bytes
    );
    assert!(
        series.rss_bytes[1] > series.rss_bytes[0],
        "the dataset grows: {:?}",
        series.rss_bytes
    );
    assert!(
        series.rss_bytes[2..].iter().all(Option::is_none),
        "{:?}",
        series.rss_bytes
    );
    assert_eq!(series.swap_bytes[0], Some(0));
    assert_eq!(series.cow_bytes[0], Some(0));
    assert!(series.used_memory[1].is_some());
    let json = serde_json::to_value(rep).expect("serialises");
    assert_eq!(json["nodes"]["m1"]["machine"]["oom_kills"], 1);
    let html = redsim_reports::to_html(rep);
    let memory = html
        .split("id=\"svg-memory\"")
        .nth(1)
        .expect("the memory chart")
        .split("</svg>")
        .next()
        .unwrap();
    assert!(
        memory.contains("series node0 mem-rss") && memory.contains("series node1 mem-rss"),
        "RSS per node"
    );
    assert!(!memory.contains("mem-swap"), "no swap in this run");
}
