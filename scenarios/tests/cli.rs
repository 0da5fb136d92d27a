//! The CLI contract: exit codes 0 / 1 / 2, messages naming file, line and
//! key, replay, sweep and list.

use std::process::Command;

fn redsim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redsim"))
        .args(args)
        .output()
        .expect("redsim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("redsim-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path.to_string_lossy().into_owned()
}

const SMALL: &str = r#"title = "one node, a few writes"
seeds = [1]
duration_ms = 2_000

[[node]]
name = "m1"
kind = "redis"
config = []

[[workload]]
name = "w"
target = "m1"
ops_per_second = 100
kind = "set"
"#;

#[test]
fn list_prints_name_tab_title() {
    let (code, out, _) = redsim(&["list"]);
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.starts_with("backlog-overflow\t")));
    assert!(out
        .lines()
        .any(|l| l.starts_with("min-replicas-to-write\t")));
}

#[test]
fn run_exit_codes() {
    let ok = temp_file(
        "ok.toml",
        &format!("{}\n[[expect]]\nthat = \"history.fail == 0\"\n", SMALL),
    );
    assert_eq!(redsim(&["run", &ok]).0, 0);
    let failing = temp_file(
        "fail.toml",
        &format!("{}\n[[expect]]\nthat = \"history.ok == 0\"\n", SMALL),
    );
    let (code, out, _) = redsim(&["run", &failing]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL"), "{}", out);
}

#[test]
fn bad_input_exits_2_naming_file_line_and_key() {
    let bad_node = temp_file(
        "bad_node.toml",
        &SMALL.replace("target = \"m1\"", "target = \"m9\""),
    );
    let (code, _, err) = redsim(&["run", &bad_node]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad_node.toml:") && err.contains("workload[0].target") && err.contains("m9"),
        "{}",
        err
    );
    let bad_conf = temp_file(
        "bad_conf.toml",
        &SMALL.replace("config = []", "config = [\"repl-backlog-size lots\"]"),
    );
    let (code, _, err) = redsim(&["run", &bad_conf]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad_conf.toml:8:") && err.contains("argument must be a memory value"),
        "{}",
        err
    );
    let bad_toml = temp_file("bad_toml.toml", "title = \"x\nseeds = [1]\n");
    assert_eq!(redsim(&["run", &bad_toml]).0, 2);
    assert_eq!(redsim(&["run", "no-such-scenario"]).0, 2);
    let sentinel = temp_file("sentinel.toml", &format!("{}\n[[node]]\nname = \"s1\"\nkind = \"sentinel\"\nconfig = [\"sentinel monitor mymaster m1 6379 0\"]\n", SMALL));
    let (code, _, err) = redsim(&["run", &sentinel]);
    assert_eq!(code, 2);
    assert!(
        err.contains("sentinel.toml:") && err.contains("Quorum must be 1 or greater."),
        "{}",
        err
    );
    assert_eq!(redsim(&["run", "backlog-overflow", "--seed", "x"]).0, 2);
    assert_eq!(
        redsim(&["sweep", "backlog-overflow", "--seeds", "9..1"]).0,
        2
    );
}

#[test]
fn json_report_and_replay() {
    let file = temp_file("replay.toml", SMALL);
    let (code, out, _) = redsim(&["run", &file, "--json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).expect("--json prints the report");
    for key in [
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
        "replay",
    ] {
        assert!(report.get(key).is_some(), "report lacks {}", key);
    }
    assert!(report["nodes"]["m1"]["info"]["master_repl_offset"].is_number());
    let path = temp_file("report.json", &out);
    let (code, out, _) = redsim(&["replay", &path]);
    assert_eq!(code, 0, "{}", out);
    let tampered = out_with_hash(&std::fs::read_to_string(&path).expect("report"), "00");
    let tampered_path = temp_file("tampered.json", &tampered);
    assert_eq!(redsim(&["replay", &tampered_path]).0, 1);
    assert_eq!(redsim(&["replay", &temp_file("garbage.json", "{")]).0, 2);
}

fn out_with_hash(report: &str, hash: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(report).expect("json");
    v["trace_hash"] = serde_json::Value::String(hash.into());
    v.to_string()
}

#[test]
fn sweep_runs_seeds_and_shards() {
    let file = temp_file("sweep.toml", SMALL);
    let (code, out, _) = redsim(&[
        "sweep", &file, "--seeds", "1..6", "--jobs", "2", "--shard", "2/3",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("2 seeds, 2 passed, 0 failed"), "{}", out);
}

fn redsim_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redsim"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("redsim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scenario whose expectation fails at every seed but 2's... at every seed:
/// history.ok is never 0 with writes going on.
fn failing_file(name: &str) -> String {
    temp_file(
        name,
        &format!("{}\n[[expect]]\nthat = \"history.ok == 0\"\n", SMALL),
    )
}

#[test]
fn sweep_prints_failing_seeds_and_replays_when_stdout_is_not_a_terminal() {
    let file = failing_file("sweep_fail.toml");
    let (code, out, err) = redsim(&["sweep", &file, "--seeds", "3,5", "--jobs", "1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("sweep: 2/2 seeds, 2 failed"),
        "progress lines on stderr: {}",
        err
    );
    for seed in ["3", "5"] {
        assert!(
            out.contains(&format!("FAIL seed {}: history.ok == 0", seed)),
            "{}",
            out
        );
        assert!(
            out.contains(&format!("replay: redsim run {} --seed {}", file, seed)),
            "{}",
            out
        );
    }
    assert!(
        out.contains("2 seeds, 0 passed, 2 failed") && out.contains("failing seeds: 3,5"),
        "{}",
        out
    );
}

#[test]
fn sweep_formats_json_and_junit() {
    let file = failing_file("sweep_formats.toml");
    let (code, out, err) = redsim(&["sweep", &file, "--seeds", "1..2", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document on stdout");
    assert_eq!(doc["seeds"], serde_json::json!([1, 2]));
    assert_eq!(doc["failed"], 2);
    assert_eq!(
        doc["results"][0]["replay"],
        format!("redsim run {} --seed 1", file)
    );
    assert!(
        err.contains("FAIL seed 1"),
        "failures still reach the CI log on stderr: {}",
        err
    );
    let (code, out, _) = redsim(&["sweep", &file, "--seeds", "7", "--format", "junit"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("<?xml")
            && out.contains("<testsuite")
            && out.contains("tests=\"1\" failures=\"1\""),
        "{}",
        out
    );
    assert!(
        out.contains("name=\"seed 7\"")
            && out.contains("<failure message=\"history.ok == 0\">replay: redsim run"),
        "{}",
        out
    );
}

#[test]
fn shards_say_which_seeds_they_ran_take_a_job_index_and_merge() {
    let file = failing_file("sweep_shards.toml");
    let dir = std::path::Path::new(&file)
        .parent()
        .expect("dir")
        .to_path_buf();
    let mut jsons = Vec::new();
    for index in ["0", "1"] {
        let (code, out, _) = redsim_env(
            &["sweep", &file, "--seeds", "1..5", "--shard", "auto/2"],
            &[("JOB_COMPLETION_INDEX", index)],
        );
        assert_eq!(code, 1);
        let expected = if index == "0" {
            "shard 1/2: 3 seeds: 1,3,5"
        } else {
            "shard 2/2: 2 seeds: 2,4"
        };
        assert!(out.contains(expected), "{}", out);
        let (_, json, _) = redsim_env(
            &[
                "sweep", &file, "--seeds", "1..5", "--shard", "auto/2", "--format", "json",
            ],
            &[("JOB_COMPLETION_INDEX", index)],
        );
        let path = dir.join(format!("shard{}.json", index));
        std::fs::write(&path, json).expect("write shard result");
        jsons.push(path.display().to_string());
    }
    let (code, out, _) = redsim(&["sweep", "--merge", &jsons[0], &jsons[1]]);
    assert_eq!(code, 1);
    assert!(
        out.contains("seeds 1..5") && out.contains("5 seeds, 0 passed, 5 failed"),
        "{}",
        out
    );
    assert!(out.contains("replay: redsim run"), "{}", out);
    assert_eq!(
        redsim_env(
            &["sweep", &file, "--seeds", "1..5", "--shard", "auto/2"],
            &[]
        )
        .0,
        2
    );
    assert_eq!(
        redsim(&["sweep", "--merge", &temp_file("not_json.json", "nope")]).0,
        2
    );
    let passing = temp_file("sweep_pass.toml", SMALL);
    let (_, json, _) = redsim(&["sweep", &passing, "--seeds", "1", "--format", "json"]);
    let (code, out, _) = redsim(&["sweep", "--merge", &temp_file("pass.json", &json)]);
    assert_eq!(code, 0, "{}", out);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let file = temp_file("pipe.toml", SMALL);
    for args in [vec!["run", file.as_str(), "--json"], vec!["list"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_redsim"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("redsim runs");
        // The reader goes before the first line is written, as with `| head -0`.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("redsim ends");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{:?}: {}",
            args,
            err
        );
    }
}

/// Two nodes on one machine (`machine = "h1"`), a replica dialling the machine by name, and
/// workloads `on` an app machine and on the box itself: the partition that cuts h1 off the
/// app machine stops only the app's clients; the box's own clients talk over loopback.
const SHARED_BOX: &str = r#"title = "a master and a replica on one box, clients on the box and on an app machine"
seeds = [1]
duration_ms = 12_000

[[node]]
name = "m1"
kind = "redis"
machine = "h1"
memory = "2gb"
config = ["dir /var/lib/redis/6379"]

[[node]]
name = "r1"
kind = "redis"
machine = "h1"
port = 6380
config = ["dir /var/lib/redis/6380", "replicaof m1 6379"]

[[node]]
name = "r2"
kind = "redis"
config = ["replicaof h1 6379"]

[[workload]]
name = "app"
target = "m1"
on = "app1"
ops_per_second = 200
kind = "set"
write_ratio = 1.0
timeout_ms = 200
stop_ms = 11_000

[[workload]]
name = "local"
target = "m1"
on = "h1"
ops_per_second = 200
kind = "set"
write_ratio = 1.0
timeout_ms = 200
stop_ms = 11_000

[[step]]
at_ms = 8_000
fault = "partition"
groups = [["h1"], ["app1", "r2"]]

[[step]]
at_ms = 11_500
fault = "clock-jump"
machine = "h1"
jump_ms = 1000

[[expect]]
that = "r1.master_link_status == \"up\""
[[expect]]
that = "history.workloads.local.latency_ms.p99 < 0.1"
[[expect]]
that = "history.workloads.app.last_fail_ms >= 8000"
[[expect]]
that = "faults_fired.clock-jump == 1"
[[expect]]
that = "m1.connected_slaves == 2"
"#;

#[test]
fn machines_and_workload_machines_through_the_cli() {
    let file = temp_file("box.toml", SHARED_BOX);
    let (code, out, err) = redsim(&["run", &file, "--json"]);
    assert_eq!(code, 0, "{}{}", out, err);
    let report: serde_json::Value = serde_json::from_str(&out).expect("--json prints the report");
    let local = &report["history"]["workloads"]["local"];
    let app = &report["history"]["workloads"]["app"];
    assert_eq!(
        (local["fail"].as_u64(), local["unknown"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(app["unknown"].as_u64().unwrap() > 300, "{}", app);
    // r1 sets no machine keys: it has h1's, which m1 gave.
    let memory = |node: &str| report["nodes"][node]["machine"]["memory_bytes"].as_u64();
    assert_eq!(
        (memory("m1"), memory("r1"), memory("r2")),
        (Some(2 << 30), Some(2 << 30), Some(4 << 30))
    );
    assert_eq!(report["scenario_resolved"]["node"][1]["machine"], "h1");
    let path = temp_file("box-report.json", &out);
    let (code, out, _) = redsim(&["replay", &path]);
    assert_eq!(code, 0, "{}", out);
    let unknown = temp_file(
        "box-bad.toml",
        &SHARED_BOX.replace("machine = \"h1\"\njump_ms", "machine = \"h9\"\njump_ms"),
    );
    let (code, _, err) = redsim(&["run", &unknown]);
    assert_eq!(code, 2);
    assert!(err.contains("box-bad.toml:52:1: step[1].machine: unknown machine 'h9' (machines with nodes: h1, r2)"), "{}", err);
}

/// m1 with replicas r1 and r2 (r2 preferred), three sentinels, and a Sentinel-aware workload;
/// m1 is paused at 20 s and resumed at 45 s.
const SENTINEL_FAILOVER: &str = r#"title = "sentinel clients follow a failover"
seeds = [1]
duration_ms = 60_000

[[node]]
name = "m1"
kind = "redis"
config = []

[[node]]
name = "r1"
kind = "redis"
config = ["replicaof m1 6379", "replica-priority 100"]

[[node]]
name = "r2"
kind = "redis"
config = ["replicaof m1 6379", "replica-priority 10"]

[[node]]
name = "s1"
kind = "sentinel"
config = ["sentinel monitor mymaster m1 6379 2", "sentinel down-after-milliseconds mymaster 5000"]

[[node]]
name = "s2"
kind = "sentinel"
config = ["sentinel monitor mymaster m1 6379 2", "sentinel down-after-milliseconds mymaster 5000"]

[[node]]
name = "s3"
kind = "sentinel"
config = ["sentinel monitor mymaster m1 6379 2", "sentinel down-after-milliseconds mymaster 5000"]

[[workload]]
name = "app"
target = "sentinel:mymaster"
clients = 2
ops_per_second = 200
write_ratio = 1.0
kind = "set"
keys = 100
timeout_ms = 500
start_ms = 8_000
stop_ms = 58_000

[[step]]
at_ms = 20_000
fault = "pause"
node = "m1"

[[step]]
at_ms = 45_000
fault = "resume"
node = "m1"

# 50 s at 200/s: about 10 000 writes, of which the ~8 s from the pause to the
# clients' switch fail or time out. A client stuck on m1 would get ~2 400.
[[expect]]
that = "history.ok >= 7500"

[[expect]]
that = "history.acked_writes_evaluated >= 7500"
"#;

#[test]
fn sentinel_workload_follows_a_failover_through_the_cli() {
    let path = temp_file("sentinel-failover.toml", SENTINEL_FAILOVER);
    let (code, out, err) = redsim(&["run", &path, "--json"]);
    assert_eq!(code, 0, "{}\n{}", out, err);
    let report: serde_json::Value = serde_json::from_str(&out).expect("--json prints the report");
    let history = &report["history"];
    assert_eq!(history["acked_writes_not_evaluated"], serde_json::json!([]));
    assert_eq!(history["acked_writes_evaluated"], history["acked_writes"]);
    for lost in history["lost_writes"].as_array().expect("a list") {
        assert_eq!(lost["node"], "m1", "{}", lost);
        assert!(lost["acked_ms"].as_u64().expect("ms") <= 20_000, "{}", lost);
    }
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("written")).expect("JSON")
}

#[test]
fn grid_varies_a_config_line_and_writes_csv_json_html() {
    let dir = std::env::temp_dir().join(format!("redsim-grid-test-{}", std::process::id()));
    let dir_text = dir.to_string_lossy().into_owned();
    let args = [
        "grid",
        "min-replicas-to-write",
        "--vary",
        "m1.min-replicas-to-write=0,1",
        "--seeds",
        "1..2",
        "--report",
        &dir_text,
    ];
    let (code, out, err) = redsim(&[&args[..], &["--jobs", "2"]].concat());
    assert_eq!(code, 0, "{}{}", out, err);
    assert!(out.starts_with("grid min-replicas-to-write: 2 cells x 2 seeds (1..2)\n"));
    let grid = read_json(&dir.join("grid.json"));
    let cells = grid["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2);
    // Without min-replicas-to-write every write is acknowledged; with 1, m1 refuses writes
    // from when the paused replica's lag passes 10 s until it resumes (about 9-11 s of 32).
    let availability =
        |c: &serde_json::Value, end: &str| c["write_availability"][end].as_f64().expect("a share");
    assert_eq!(cells[0]["settings"]["m1.min-replicas-to-write"], "0");
    assert_eq!(availability(&cells[0], "min"), 1.0);
    let (lo, hi) = (
        availability(&cells[1], "min"),
        availability(&cells[1], "max"),
    );
    assert!(0.6 < lo && lo <= hi && hi < 0.8, "{} {}", lo, hi);
    for c in cells {
        assert_eq!(c["acked_writes_lost"]["max"], 0.0);
        assert_eq!(c["failovers"], 0);
        assert!(c.get("failover_ms").is_none());
    }
    // The cell with the scenario's own value is the scenario: the same trace.
    let (_, json, _) = redsim(&["run", "min-replicas-to-write", "--seed", "2", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("report");
    assert_eq!(cells[1]["runs"][1]["trace_hash"], report["trace_hash"]);
    assert_eq!(cells[1]["expectations_passed"], 2);
    // Text, CSV and HTML hold the same rows.
    let csv = std::fs::read_to_string(dir.join("grid.csv")).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv);
    assert!(lines[0].starts_with("m1.min-replicas-to-write,seeds,acked_writes_lost_min,"));
    assert!(lines[1].starts_with("0,2,0,0,0,0,1,1,,,0,"), "{}", lines[1]);
    let html = std::fs::read_to_string(dir.join("grid.html")).expect("html");
    assert!(html.contains("<th>m1.min-replicas-to-write</th>") && html.contains("100.00%"));
    assert!(
        out.contains("100.00%") && out.contains("- (0/2)"),
        "{}",
        out
    );
    // One worker gives the same table: cells and seeds are independent runs.
    let (code, _, _) = redsim(&[&args[..], &["--jobs", "1"]].concat());
    assert_eq!(code, 0);
    assert_eq!(read_json(&dir.join("grid.json")), grid);
}

#[test]
fn grid_failover_time_follows_down_after_milliseconds() {
    let (code, out, err) = redsim(&[
        "grid",
        "sentinel-failover",
        "--vary",
        "*.sentinel down-after-milliseconds mymaster=2000,5000",
        "--vary",
        "step[0].at_ms=20000",
        "--seeds",
        "1,2",
    ]);
    assert_eq!(code, 0, "{}{}", out, err);
    let rows: Vec<&str> = out.lines().skip(3).take(2).collect();
    // Failover: SDOWN after down-after-milliseconds plus up to ~1.1 s, then ODOWN, the
    // election and the promotion: within (down-after, down-after + 5 s].
    let seconds = |row: &str| -> Vec<f64> {
        let failover = row.split("  ").find(|c| c.contains(" s (")).expect(row);
        let numbers = failover.split(" s (").next().expect(row);
        numbers
            .split('-')
            .map(|n| n.trim().parse().expect(row))
            .collect()
    };
    for (row, down_after) in rows.iter().zip([2.0, 5.0]) {
        assert!(row.contains("(2/2)"), "{}", row);
        for s in seconds(row) {
            assert!(down_after < s && s <= down_after + 5.0, "{}", row);
        }
    }
}

#[test]
fn grid_bad_vary_exits_2_naming_the_key() {
    for (vary, says) in [
        ("m9.min-replicas-to-write=1", "no node 'm9'"),
        (
            "m1.min-replicas-to-write=1,lots",
            "m1.min-replicas-to-write=lots: node[0].config[0]",
        ),
        ("step[7].at_ms=1", "step[7]: out of range"),
        (
            "workload[writers].clients=many",
            "workload[writers].clients=many: invalid type",
        ),
        ("nonsense", "expected KEY=V1,V2"),
    ] {
        let (code, out, err) = redsim(&[
            "grid",
            "min-replicas-to-write",
            "--vary",
            vary,
            "--seeds",
            "1",
        ]);
        assert_eq!(code, 2, "{}: {}{}", vary, out, err);
        assert!(out.is_empty(), "nothing ran: {}", out);
        assert!(err.contains(says), "{}: {}", vary, err);
    }
}
/// `run --history FILE`: every operation as two JSON lines (invoke, then ok / fail / info) in
/// time order, whose counts are the report's.
#[test]
fn history_file_is_json_lines_matching_the_report() {
    let scenario = temp_file(
        "history.toml",
        r#"title = "writes and reads, the server paused for a while"
seeds = [1]
duration_ms = 6_000

[[node]]
name = "m1"
kind = "redis"
config = []

[[workload]]
name = "w"
target = "m1"
clients = 3
ops_per_second = 300
kind = "mixed"
write_ratio = 0.5
keys = 20
timeout_ms = 300
start_ms = 1_500

[[workload]]
name = "counters"
target = "m1"
ops_per_second = 50
kind = "incr"
keys = 5
start_ms = 1_500

[[step]]
at_ms = 3_000
fault = "pause"
node = "m1"

[[step]]
at_ms = 4_000
fault = "resume"
node = "m1"
"#,
    );
    let history = temp_file("history.jsonl", "");
    let (code, out, err) = redsim(&["run", &scenario, "--json", "--history", &history]);
    assert_eq!(code, 0, "{}", err);
    let report: serde_json::Value = serde_json::from_str(&out).expect("a JSON report");
    let text = std::fs::read_to_string(&history).expect("the history file");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let count = |kind: &str| lines.iter().filter(|l| l["type"] == kind).count() as u64;
    let h = &report["history"];
    let (ok, fail, unknown) = (
        h["ok"].as_u64().unwrap(),
        h["fail"].as_u64().unwrap(),
        h["unknown"].as_u64().unwrap(),
    );
    assert!(
        ok > 500 && fail > 0 && unknown > 0,
        "{} {} {}",
        ok,
        fail,
        unknown
    );
    assert_eq!(count("ok"), ok);
    assert_eq!(count("fail"), fail);
    assert_eq!(count("info"), unknown);
    assert_eq!(count("invoke"), ok + fail + unknown);
    let keys: Vec<&str> = lines[0]
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["process", "type", "f", "key", "value", "time_ms"]);
    let times: Vec<f64> = lines
        .iter()
        .map(|l| l["time_ms"].as_f64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|p| p[0] <= p[1]),
        "lines in time order"
    );
    for f in ["write", "read", "incr"] {
        assert!(
            lines.iter().any(|l| l["f"] == f && l["type"] == "ok"),
            "{}",
            f
        );
    }
    // A write's completion carries the value its invocation did.
    let write = lines
        .iter()
        .find(|l| l["f"] == "write" && l["type"] == "invoke")
        .expect("a write");
    assert!(write["value"].as_str().unwrap().starts_with('c'));
    // Jepsen's rule: a process whose operation ended "info" does not invoke again.
    let mut retired = std::collections::BTreeSet::new();
    for l in &lines {
        let process = l["process"].as_u64().unwrap();
        match l["type"].as_str().unwrap() {
            "invoke" => assert!(!retired.contains(&process), "process {} reused", process),
            "info" => {
                retired.insert(process);
            }
            _ => {}
        }
    }
}
