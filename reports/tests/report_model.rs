//! The report JSON matches docs/report-format.md's shape, round-trips, and renders as text and HTML.

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
        machine: MachineReport {
            memory_bytes: 4 << 30,
            rss_bytes_max: 1 << 20,
            swap_bytes_max: 0,
            oom_kills: 0,
        },
    };
    Report {
        redsim_version: "0.1.0".into(),
        scenario: "backlog-overflow".into(),
        title: "backlog <overflow> & co".into(),
        seed: 1,
        trace_hash: "00ff".into(),
        passed: true,
        expectations: vec![ExpectationResult {
            that: "m1.sync_full == 1".into(),
            passed: true,
            actual: json!(1),
        }],
        virtual_ms: 30000,
        wall_ms: 41,
        nodes: [("m1".to_string(), node)].into_iter().collect(),
        events: vec![Event {
            t_ms: 5012,
            node: "s1".into(),
            event: "+sdown".into(),
            detail: "master mymaster m1 6379".into(),
        }],
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
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "redsim_version",
            "scenario",
            "title",
            "seed",
            "trace_hash",
            "passed",
            "expectations",
            "virtual_ms",
            "wall_ms",
            "nodes",
            "events",
            "history",
            "faults_fired",
            "scenario_resolved",
            "replay"
        ]
    );
    assert_eq!(
        value["expectations"][0],
        json!({"that": "m1.sync_full == 1", "passed": true, "actual": 1})
    );
    assert_eq!(value["nodes"]["m1"]["info"]["sync_full"], json!(1));
    assert_eq!(
        value["nodes"]["m1"]["info"]["mem_fragmentation_ratio"],
        json!(1.04)
    );
    assert_eq!(value["nodes"]["m1"]["machine"]["oom_kills"], json!(0));
    assert_eq!(value["history"]["first_fail_ms"], json!(5000));
    assert_eq!(value["history"]["last_fail_ms"], Value::Null);
    assert_eq!(
        value["history"]["latency_ms"],
        json!({"p50": 0.0, "p99": 0.0, "p999": 0.0, "max": 0.0})
    );
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
    assert_eq!(
        fields.keys().next().map(|k| k.as_str()),
        Some("redis_version")
    );
    let integers = fields.values().filter(|v| v.is_i64() || v.is_u64()).count();
    let floats = fields.values().filter(|v| v.is_f64()).count();
    assert_eq!((integers, floats), (135, 16));
    assert_eq!(fields["redis_version"], json!("7.0.15"));
    assert_eq!(
        fields["master_replid"],
        json!("11bf8a1da8b317429d1497f411e5dd7f014d871a")
    );
    assert_eq!(fields["used_memory_human"], json!("943.09K"));
    assert_eq!(fields["mem_fragmentation_ratio"], json!(7.76));
    assert_eq!(fields["config_file"], json!(""));
    assert_eq!(fields["role"], json!("master"));
    assert_eq!(fields["master_repl_offset"], json!(0));
    assert_eq!(fields["sync_full"], json!(0));
    assert_eq!(fields["rdb_last_cow_size"], json!(0));
    assert_eq!(
        fields["cmdstat_config|set"]
            .as_str()
            .map(|s| s.starts_with("calls=")),
        Some(true)
    );
}

fn with_lost_writes() -> Report {
    let mut report = sample();
    let lost = |op: u64, key: &str, acked_ms: u64, tag: Option<&str>| LostWrite {
        node: "m1".into(),
        key: key.into(),
        kind: if tag.is_some() { "set" } else { "incr" }.into(),
        client: 2,
        op,
        invoked_ms: acked_ms - 1,
        acked_ms,
        value_tag: tag.map(String::from),
    };
    report.history.acked_writes = 50;
    report.history.acked_writes_evaluated = 40;
    report.history.acked_writes_lost = 3;
    report.history.first_lost_acked_ms = Some(6012);
    report.history.last_lost_acked_ms = Some(7400);
    report.history.lost_writes = vec![
        lost(7, "key:<1>", 6012, Some("c2:7")),
        lost(9, "n:1", 7400, None),
    ];
    report.history.acked_writes_not_evaluated = vec![NotEvaluated {
        node: "r1".into(),
        reason: "down at the end of the run".into(),
        acked_writes: 10,
    }];
    report
}

#[test]
fn lost_writes_serialise_round_trip_and_old_reports_still_parse() {
    let report = with_lost_writes();
    let text = to_json_pretty(&report);
    assert_eq!(from_json(&text).unwrap(), report);
    let value: Value = serde_json::from_str(&text).unwrap();
    let h = &value["history"];
    assert_eq!(h["acked_writes_lost"], json!(3));
    assert_eq!(h["acked_writes_evaluated"], json!(40));
    assert_eq!(
        (
            h["first_lost_acked_ms"].clone(),
            h["last_lost_acked_ms"].clone()
        ),
        (json!(6012), json!(7400))
    );
    assert_eq!(
        h["lost_writes"][0],
        json!({"node": "m1", "key": "key:<1>", "kind": "set", "client": 2, "op": 7, "invoked_ms": 6011, "acked_ms": 6012, "value_tag": "c2:7"})
    );
    // INCR has no value: the tag is left out rather than null.
    assert!(h["lost_writes"][1].get("value_tag").is_none());
    assert_eq!(
        h["acked_writes_not_evaluated"][0],
        json!({"node": "r1", "reason": "down at the end of the run", "acked_writes": 10})
    );
    // A report written before the checker existed has none of these fields.
    let mut old: Value = serde_json::to_value(sample()).unwrap();
    let history = old["history"].as_object_mut().unwrap();
    for field in [
        "acked_writes_evaluated",
        "first_lost_acked_ms",
        "last_lost_acked_ms",
        "lost_writes",
        "acked_writes_not_evaluated",
    ] {
        assert!(history.remove(field).is_some(), "{}", field);
    }
    assert_eq!(from_json(&old.to_string()).unwrap(), sample());
}

#[test]
fn summary_and_html_name_the_lost_writes() {
    let text = summary(&with_lost_writes());
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("lost writes:"))
        .expect("a lost-writes line");
    assert_eq!(
        line.trim(),
        "lost writes: 3 of 40 acked writes evaluated, acknowledged from 6012 ms to 7400 ms (first: set key:<1> c2:7 on m1); \
         10 not evaluated (r1: down at the end of the run)"
    );
    let clean = summary(&sample());
    assert!(
        clean.contains("  lost writes: 0 of 0 acked writes evaluated\n"),
        "{}",
        clean
    );
    let html = to_html(&with_lost_writes());
    assert!(html.contains("<h3>Lost writes (the first 2 of 3)</h3>"));
    assert!(html.contains("<td>key:&lt;1&gt;</td><td>c2:7</td>"));
    assert!(html.contains("<td>n:1</td><td>-</td>"));
    assert!(html.contains("10 acked writes not evaluated (r1: down at the end of the run)"));
    assert!(!to_html(&sample()).contains("id=\"lost-writes\""));
}
