//! The report JSON matches SPEC.md's shape, round-trips, and renders as text and HTML.

use redsim_reports::model::*;
use redsim_reports::{from_json, summary, to_html, to_json_pretty};
use serde_json::{json, Value};

fn sample() -> Report {
    let mut info = serde_json::Map::new();
    info.insert("role".into(), info_value("master"));
    info.insert("sync_full".into(), info_value("1"));
    info.insert("mem_fragmentation_ratio".into(), info_value("1.04"));
    let node = NodeReport {
        kind: "redis".into(),
        role: "master".into(),
        info,
        machine: MachineReport { memory_bytes: 4 << 30, rss_bytes_max: 1 << 20, swap_bytes_max: 0, oom_kills: 0 },
    };
    Report {
        redsim_version: "0.1.0".into(),
        scenario: "backlog-overflow".into(),
        title: "backlog <overflow> & co".into(),
        seed: 1,
        trace_hash: "00ff".into(),
        passed: true,
        expectations: vec![ExpectationResult { that: "m1.sync_full == 1".into(), passed: true, actual: json!(1) }],
        virtual_ms: 30000,
        wall_ms: 41,
        nodes: [("m1".to_string(), node)].into_iter().collect(),
        events: vec![Event { t_ms: 5012, node: "s1".into(), event: "+sdown".into(), detail: "master mymaster m1 6379".into() }],
        history: History {
            errors: [("NOREPLICAS".to_string(), 3)].into_iter().collect(),
            first_fail_ms: Some(5000),
            ..History::default()
        },
        series: None,
        faults_fired: [("partition".to_string(), 1)].into_iter().collect(),
        scenario_resolved: json!({"title": "t"}),
        replay: "redsim run backlog-overflow --seed 1".into(),
    }
}

#[test]
fn json_has_the_spec_shape() {
    let value: Value = serde_json::from_str(&to_json_pretty(&sample())).unwrap();
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "redsim_version", "scenario", "title", "seed", "trace_hash", "passed", "expectations", "virtual_ms",
            "wall_ms", "nodes", "events", "history", "faults_fired", "scenario_resolved", "replay"
        ]
    );
    assert_eq!(value["expectations"][0], json!({"that": "m1.sync_full == 1", "passed": true, "actual": 1}));
    assert_eq!(value["nodes"]["m1"]["info"]["sync_full"], json!(1));
    assert_eq!(value["nodes"]["m1"]["info"]["mem_fragmentation_ratio"], json!(1.04));
    assert_eq!(value["nodes"]["m1"]["machine"]["oom_kills"], json!(0));
    assert_eq!(value["history"]["first_fail_ms"], json!(5000));
    assert_eq!(value["history"]["last_fail_ms"], Value::Null);
    assert_eq!(value["history"]["latency_ms"], json!({"p50": 0.0, "p99": 0.0, "p999": 0.0, "max": 0.0}));
    assert_eq!(value["events"][0]["t_ms"], json!(5012));
}

#[test]
fn json_round_trips() {
    let report = sample();
    let text = to_json_pretty(&report);
    assert_eq!(from_json(&text).unwrap(), report);
    assert_eq!(to_json_pretty(&from_json(&text).unwrap()), text);
}

#[test]
fn summary_and_html_show_the_facts() {
    let report = sample();
    let text = summary(&report);
    assert!(text.contains("PASS m1.sync_full == 1  (actual: 1)"));
    assert!(text.contains("replay: redsim run backlog-overflow --seed 1"));
    assert!(text.contains("trace 00ff"));
    assert!(text.contains("partition 1"));
    let html = to_html(&report);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("backlog &lt;overflow&gt; &amp; co"));
    assert!(html.contains("+sdown"));
    assert!(html.contains("id=\"charts\""));
    // The SVG namespace is a name, not a fetch; nothing else may point outside the file.
    let html = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
}

/// INFO ALL captured from redis-server 7.0.15 (`redis-cli info all`): 186 fields, of which 135
/// are integers and 16 plain decimals.
#[test]
fn real_redis_info_converts_field_by_field() {
    let text = include_str!("fixtures/info-redis-7.0.15.txt");
    let fields = info_fields(text);
    assert_eq!(fields.len(), 186);
    assert_eq!(fields.keys().next().map(|k| k.as_str()), Some("redis_version"));
    let integers = fields.values().filter(|v| v.is_i64() || v.is_u64()).count();
    let floats = fields.values().filter(|v| v.is_f64()).count();
    assert_eq!((integers, floats), (135, 16));
    assert_eq!(fields["redis_version"], json!("7.0.15"));
    assert_eq!(fields["master_replid"], json!("11bf8a1da8b317429d1497f411e5dd7f014d871a"));
    assert_eq!(fields["used_memory_human"], json!("943.09K"));
    assert_eq!(fields["mem_fragmentation_ratio"], json!(7.76));
    assert_eq!(fields["config_file"], json!(""));
    assert_eq!(fields["role"], json!("master"));
    assert_eq!(fields["master_repl_offset"], json!(0));
    assert_eq!(fields["sync_full"], json!(0));
    assert_eq!(fields["rdb_last_cow_size"], json!(0));
    assert_eq!(fields["cmdstat_config|set"].as_str().map(|s| s.starts_with("calls=")), Some(true));
}
