//! Scenario files: every malformed input names its file, line, column and key and never panics;
//! the builder and a file give equal Scenarios; expectations parse and evaluate with every op.

use proptest::prelude::*;
use redsim_reports::model::{
    Event, History, Latency, MachineReport, NodeReport, Report, WorkloadHistory,
};
use redsim_scenarios::builder::ScenarioBuilder;
use redsim_scenarios::expect::{evaluate_all, Expectation, Lhs, Op};
use redsim_scenarios::spec::{Action, Scenario, Step, Thp};
use serde_json::{json, Value};

/// The example of docs/scenario-format.md, verbatim (checked below).
const SPEC_EXAMPLE: &str = r#"title = "backlog overflow: replica cut off longer than the backlog holds"
seeds = [1, 2, 3]                 # pinned for cargo test and CI
duration_ms = 30_000

[machine]                         # defaults for every node; a node may override any key
memory = "4gb"
swap = "off"                      # or a size, e.g. "2gb"
thp = "never"                     # or "always"
cores = 2
disk_bandwidth = "200mb"          # per second, shared by RDB, AOF and swap
fsync_latency_ms = 2
fork_ms_per_gb = 10
swap_in_latency_us = 100

[[node]]
name = "m1"
kind = "redis"                    # redis | sentinel
config = ["repl-backlog-size 1mb"]            # redis.conf lines, verbatim

[[node]]
name = "r1"
kind = "redis"
config = ["replicaof m1 6379"]

[[workload]]
name = "writers"
target = "m1"
on = "app1"
clients = 4
ops_per_second = 1000
write_ratio = 1.0
keys = 1000
value_bytes = 1000
start_ms = 0
stop_ms = 20_000

[[step]]                          # the timeline: faults and admin commands
at_ms = 5_000
node = "m1"
command = "CLIENT KILL TYPE replica"

[[step]]
at_ms = 5_000
fault = "partition"
groups = [["r1"], ["m1", "app1"]]

[[step]]
at_ms = 15_000
fault = "heal"

[[expect]]
that = "m1.sync_full == 1"
"#;

fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::from_toml_str(text, "x.toml").map_err(|e| e.to_string())
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("expected an error for:\n{}", text),
        Err(message) => message,
    }
}

/// Replaces exactly one occurrence, so a test cannot silently edit nothing.
fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        SPEC_EXAMPLE.matches(from).count(),
        1,
        "{:?} must occur once",
        from
    );
    SPEC_EXAMPLE.replace(from, to)
}

#[test]
fn the_format_doc_holds_the_example() {
    let doc = include_str!("../../docs/scenario-format.md");
    assert!(
        doc.contains(SPEC_EXAMPLE),
        "docs/scenario-format.md must show SPEC_EXAMPLE"
    );
}

#[test]
fn spec_example_parses() {
    let scenario = parse(SPEC_EXAMPLE).unwrap();
    assert_eq!(scenario.seeds, [1, 2, 3]);
    assert_eq!(scenario.nodes[1].config, ["replicaof m1 6379"]);
    assert_eq!(scenario.workloads[0].key_prefix, "key:");
    assert_eq!(scenario.nodes[0].port(), 6379);
    let machine = scenario.machine_for("m1").unwrap();
    assert_eq!(machine.memory_bytes, 4 << 30);
    assert_eq!(machine.disk_bandwidth_bytes_per_s, 200 << 20);
    assert_eq!(machine.swap_bytes, 0);
    let actions = scenario.actions();
    assert_eq!(
        actions[0],
        (
            5_000,
            Action::Command {
                node: "m1".into(),
                command: "CLIENT KILL TYPE replica".into()
            }
        )
    );
    assert_eq!(
        actions[1].1,
        Action::Partition {
            groups: vec![vec!["r1".into()], vec!["m1".into(), "app1".into()]]
        }
    );
    assert_eq!(actions[2], (15_000, Action::Heal));
    assert_eq!(scenario.expectations().len(), 1);
}

#[test]
fn unknown_keys_are_errors() {
    assert_eq!(
        error(&edit("title = ", "colour = 1\ntitle = ")),
        "x.toml:1:1: colour: unknown field `colour`, expected one of `name`, `title`, `description`, `seeds`, \
         `duration_ms`, `machine`, `node`, `workload`, `step`, `expect`"
    );
    assert!(error(&edit("cores = 2", "cores = 2\nram = 1"))
        .starts_with("x.toml:10:1: machine.ram: unknown field `ram`"));
    assert!(error(&edit("name = \"r1\"", "name = \"r1\"\nprot = 1"))
        .starts_with("x.toml:22:1: node[1].prot: unknown field `prot`"));
    assert!(error(&edit("clients = 4", "clients = 4\nrate = 4"))
        .starts_with("x.toml:30:1: workload[0].rate: unknown field"));
    assert!(
        error(&edit("fault = \"heal\"", "fault = \"heal\"\nwhen = 1"))
            .starts_with("x.toml:50:1: step[2].when: unknown field")
    );
    assert!(error(&edit("that = ", "this = 1\nthat = "))
        .starts_with("x.toml:52:1: expect[0].this: unknown field"));
}

#[test]
fn wrong_types_and_missing_keys_name_the_key() {
    assert_eq!(
        error(&edit("seeds = [1, 2, 3]", "seeds = [1, -2]")),
        "x.toml:2:13: seeds[1]: invalid value: integer `-2`, expected u64"
    );
    assert_eq!(
        error(&edit("thp = \"never\"", "thp = \"sometimes\"")),
        "x.toml:8:7: machine.thp: unknown variant `sometimes`, expected `never` or `always`"
    );
    assert!(error(&edit(
        "kind = \"redis\"                    # redis",
        "kind = \"valkey\" # redis"
    ))
    .starts_with("x.toml:17:8: node[0].kind: unknown variant `valkey`"));
    assert_eq!(
        error(&edit("duration_ms = 30_000\n", "")),
        "x.toml:1:1: missing field `duration_ms`"
    );
    assert_eq!(
        error(&edit("name = \"writers\"\n", "")),
        "x.toml:25:1: workload[0]: missing field `name`"
    );
    assert_eq!(error(&edit("memory = \"4gb\"", "memory = true")), "x.toml:6:10: machine.memory: expected a size such as \"1mb\", \"4gb\" or a number of bytes");
}

#[test]
fn syntax_errors_have_a_place() {
    let message = error("title = \"t\"\nseeds = [1,\n[[node]]\n");
    assert!(message.starts_with("x.toml:3:"), "{}", message);
    assert!(!message.contains('\n'));
    assert!(error("title = ").starts_with("x.toml:1:9: "));
    assert_eq!(error(""), "x.toml:1:1: missing field `title`");
}

#[test]
fn bad_units() {
    assert_eq!(
        error(&edit("memory = \"4gb\"", "memory = \"4tb\"")),
        "x.toml:6:1: machine.memory: '4tb' is not a size (bytes, or a number with k, kb, m, mb, g or gb)"
    );
    assert!(error(&edit("swap = \"off\"", "swap = \"none\""))
        .starts_with("x.toml:7:1: machine.swap: 'none' is neither \"off\" nor a size"));
    assert!(
        error(&edit("name = \"r1\"", "name = \"r1\"\nmemory = \"lots\""))
            .starts_with("x.toml:22:1: node[1].memory: 'lots' is not a size")
    );
    let link = edit(
        "fault = \"heal\"",
        "fault = \"link\"\nfrom = \"m1\"\nto = \"r1\"\nbandwidth = \"1 mbit\"",
    );
    assert!(error(&link).starts_with("x.toml:52:1: step[2].bandwidth: '1 mbit' is not a size"));
    assert_eq!(
        parse(&edit("swap = \"off\"", "swap = \"2GB\""))
            .unwrap()
            .machine_for("r1")
            .unwrap()
            .swap_bytes,
        2 << 30
    );
}

#[test]
fn config_lines_go_through_the_engine_parser() {
    let text = edit(
        "config = [\"replicaof m1 6379\"]",
        "config = [\n  \"replicaof m1 6379\",\n  \"repl-backlog-size lots\",\n]",
    );
    assert_eq!(
        error(&text),
        "x.toml:25:3: node[1].config[1]: 'repl-backlog-size lots': argument must be a memory value"
    );
    let unknown = edit("[\"repl-backlog-size 1mb\"]", "[\"no-such-directive 1\"]");
    assert!(
        error(&unknown).starts_with("x.toml:18:11: node[0].config[0]: 'no-such-directive 1': "),
        "{}",
        error(&unknown)
    );
    let host = edit("replicaof m1 6379", "replicaof m9 6379");
    assert_eq!(
        error(&host),
        "x.toml:23:11: node[1].config[0]: 'replicaof m9 6379': unknown node 'm9'"
    );
}

#[test]
fn names_must_exist_and_be_unique() {
    assert!(error(&edit("name = \"r1\"", "name = \"m1\""))
        .starts_with("x.toml:21:1: node[1].name: duplicate node name 'm1'"));
    assert_eq!(
        error(&edit("target = \"m1\"", "target = \"m9\"")),
        "x.toml:27:1: workload[0].target: unknown node 'm9'"
    );
    assert!(error(&edit("node = \"m1\"", "node = \"m9\""))
        .starts_with("x.toml:39:1: step[0].node: unknown node 'm9'"));
    assert!(error(&edit(
        "[[\"r1\"], [\"m1\", \"app1\"]]",
        "[[\"r1\"], [\"m1\", \"app2\"]]"
    ))
    .starts_with("x.toml:45:26: step[1].groups[1][1]: unknown machine 'app2'"));
    assert!(error(&edit(
        "[[\"r1\"], [\"m1\", \"app1\"]]",
        "[[\"r1\"], [\"m1\", \"r1\"]]"
    ))
    .contains("step[1].groups[1][1]: 'r1' is in more than one group"));
    assert_eq!(
        error(&edit("m1.sync_full == 1", "m9.sync_full == 1")),
        "x.toml:52:1: expect[0].that: 'm9.sync_full == 1': unknown node 'm9'"
    );
    assert!(error(&edit("name = \"r1\"", "name = \"history\""))
        .contains("node[1].name: 'history' is reserved"));
    assert!(error(&edit("name = \"r1\"", "name = \"r.1\""))
        .contains("node[1].name: node name 'r.1' must be"));
    let sentinel_target = edit("target = \"m1\"", "target = \"sentinel:mymaster\"");
    assert!(error(&sentinel_target).contains(
        "workload[0].target: target 'sentinel:mymaster' needs at least one sentinel node"
    ));
}

#[test]
fn steps_need_known_faults_and_their_keys() {
    let heal = |to: &str| edit("fault = \"heal\"", to);
    assert_eq!(
        error(&heal("fault = \"explode\"")),
        "x.toml:49:1: step[2].fault: unknown fault 'explode' (expected one of: partition, heal, kill, restart, pause, \
         resume, link, disk, memory-pressure, clock-jump, crash)"
    );
    assert_eq!(
        error(&heal("fault = \"kill\"")),
        "x.toml:47:1: step[2]: fault 'kill' needs key 'node' or 'machine'"
    );
    assert!(error(&heal("fault = \"partition\"")).starts_with(
        "x.toml:47:1: step[2]: fault 'partition' needs key 'groups', or 'from' and 'to'"
    ));
    assert!(error(&heal("fault = \"partition\"\nfrom = \"m1\""))
        .starts_with("x.toml:47:1: step[2]: fault 'partition' needs key 'to'"));
    assert!(error(&heal("fault = \"link\"\nfrom = \"m1\"\nto = \"r1\""))
        .contains("step[2]: fault 'link' needs key 'latency_ms' or 'bandwidth'"));
    assert!(error(&heal("fault = \"disk\"\nnode = \"m1\""))
        .contains("step[2]: fault 'disk' needs key 'fsync_latency_ms'"));
    assert!(error(&heal("fault = \"memory-pressure\"\nnode = \"m1\""))
        .contains("step[2]: fault 'memory-pressure' needs key 'bytes'"));
    assert!(error(&heal("fault = \"clock-jump\"\nnode = \"m1\""))
        .contains("step[2]: fault 'clock-jump' needs key 'jump_ms'"));
    assert_eq!(
        error(&heal("fault = \"heal\"\nnode = \"m1\"")),
        "x.toml:50:1: step[2].node: fault 'heal' does not take key 'node'"
    );
    assert!(error(&heal("fault = \"heal\"\ncommand = \"PING\""))
        .contains("step[2].command: a step has either `fault` or `command`, not both"));
    assert!(error(&heal("node = \"m1\""))
        .contains("step[2]: a step needs `fault = \"...\"`, or `node` and `command`"));
    assert!(error(&edit(
        "command = \"CLIENT KILL TYPE replica\"",
        "command = \"SET \\\"a b\""
    ))
    .contains("step[0].command: 'SET \"a b' is not a command"));
    assert!(error(&edit(
        "groups = [[\"r1\"], [\"m1\", \"app1\"]]",
        "groups = [[\"r1\", \"m1\"]]"
    ))
    .contains("step[1].groups: a partition needs at least two groups"));
}

#[test]
fn times_and_seeds_are_checked() {
    assert_eq!(
        error(&edit("at_ms = 15_000", "at_ms = 45_000")),
        "x.toml:48:1: step[2].at_ms: 45000 is beyond duration_ms 30000"
    );
    assert_eq!(
        error(&edit("seeds = [1, 2, 3]", "seeds = []")),
        "x.toml:2:1: seeds: at least one seed is needed"
    );
    assert!(error(&edit("stop_ms = 20_000", "stop_ms = 40_000"))
        .contains("workload[0].stop_ms: 40000 is beyond duration_ms 30000"));
    assert!(error(&edit("write_ratio = 1.0", "write_ratio = 1.5"))
        .contains("workload[0].write_ratio: 1.5 is not between 0.0 and 1.0"));
    assert!(error(&edit("clients = 4", "clients = 0"))
        .contains("workload[0].clients: must be at least 1"));
}

#[test]
fn bad_expectations_are_errors() {
    let bad = |that: &str| error(&edit("m1.sync_full == 1", that));
    assert_eq!(bad("m1.sync_full = 1"), "x.toml:52:1: expect[0].that: 'm1.sync_full = 1': expected `<lhs> <op> <rhs>` with op one of == != < <= > >=");
    assert!(bad("m1.role == master")
        .contains("the right-hand side master is neither a number nor a quoted string"));
    assert!(bad("m1.role == 'master").contains("unterminated or doubled quote"));
    assert!(bad("history.oks == 1").contains("unknown history field 'oks'"));
    assert!(bad("history.latency_ms.p42 < 1").contains("unknown history field 'latency_ms.p42'"));
    assert!(bad("faults_fired.explode == 1").contains("unknown fault kind 'explode'"));
    assert_eq!(
        bad("history.workloads.readers.ok == 1"),
        "x.toml:52:1: expect[0].that: 'history.workloads.readers.ok == 1': unknown workload 'readers' (workloads: writers)"
    );
    assert!(
        bad("history.workloads.writers.oks == 1").contains("unknown workload history field 'oks'")
    );
    assert!(bad("history.workloads.writers.acked_writes_evaluated == 1")
        .contains("unknown workload history field"));
    assert!(bad("history.workloads.writers.latency_ms.p42 < 1")
        .contains("unknown workload history field 'latency_ms.p42'"));
    assert!(bad("history.workloads.writers.errors. == 1")
        .contains("unknown workload history field 'errors.'"));
    assert!(bad("history.workloads.writers == 1")
        .contains("is not history.workloads.<workload>.<field>"));
    assert!(bad("history.workloads. == 1").contains("is not history.workloads.<workload>.<field>"));
    assert!(bad("count() == 1").contains("count() needs an event name"));
    assert!(bad("sync_full == 1").contains("is not <node>.<field>"));
    assert!(bad(" == 1").contains("the left-hand side is missing"));
    assert!(bad("m1.sync_full >= ").contains("the right-hand side is missing"));
}

#[test]
fn every_issue_is_reported_in_file_order() {
    let text =
        edit("target = \"m1\"", "target = \"m9\"").replace("seeds = [1, 2, 3]", "seeds = []");
    let err = Scenario::from_toml_str(&text, "x.toml").unwrap_err();
    assert_eq!(err.issues.len(), 2);
    assert_eq!(err.issues[0].key, "seeds");
    assert_eq!(err.issues[1].key, "workload[0].target");
    assert_eq!(err.issues[1].line, Some(27));
}

fn built_example() -> Scenario {
    ScenarioBuilder::new("backlog overflow: replica cut off longer than the backlog holds")
        .seeds([1, 2, 3])
        .duration_ms(30_000)
        .machine(|m| {
            m.memory("4gb")
                .swap("off")
                .thp(Thp::Never)
                .cores(2)
                .disk_bandwidth("200mb")
        })
        .node("m1", |n| n.config("repl-backlog-size 1mb"))
        .node("r1", |n| n.config("replicaof m1 6379"))
        .workload("writers", |w| {
            w.target("m1")
                .on("app1")
                .clients(4)
                .ops_per_second(1000)
                .write_ratio(1.0)
                .keys(1000)
                .value_bytes(1000)
                .stop_ms(20_000)
        })
        .command_at(5_000, "m1", "CLIENT KILL TYPE replica")
        .step_at(5_000, Step::partition(&[&["r1"], &["m1", "app1"]]))
        .step_at(15_000, Step::heal())
        .expect("m1.sync_full == 1")
        .build()
        .unwrap()
}

#[test]
fn builder_and_file_give_equal_scenarios() {
    assert_eq!(built_example(), parse(SPEC_EXAMPLE).unwrap());
}

#[test]
fn builder_validates_like_files() {
    let err = ScenarioBuilder::new("t")
        .seeds([1])
        .duration_ms(1000)
        .node("m1", |n| n.memory("4tb"))
        .workload("w", |w| w.target("m9"))
        .step_at(2000, Step::kill("m1"))
        .expect("m1.x ~ 1")
        .build()
        .unwrap_err()
        .to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "<builder>: node[0].memory: '4tb' is not a size (bytes, or a number with k, kb, m, mb, g or gb)");
    assert_eq!(lines[1], "<builder>: workload[0].target: unknown node 'm9'");
    assert_eq!(
        lines[2],
        "<builder>: step[0].at_ms: 2000 is beyond duration_ms 1000"
    );
    assert!(lines[3].starts_with("<builder>: expect[0].that: 'm1.x ~ 1': expected"));
}

#[test]
fn every_step_constructor_validates() {
    let scenario = ScenarioBuilder::new("all faults")
        .seeds([7])
        .duration_ms(10_000)
        .node("m1", |n| n.memory("1gb").swap("512mb").thp(Thp::Always))
        .node("s1", |n| {
            n.sentinel().config("sentinel monitor mymaster m1 6379 1")
        })
        .workload("w", |w| w.target("sentinel:mymaster").on("app1"))
        .step_at(1, Step::partition_one_way("app1", "m1"))
        .step_at(2, Step::heal())
        .step_at(3, Step::kill("m1"))
        .step_at(4, Step::restart("m1"))
        .step_at(5, Step::pause("m1"))
        .step_at(6, Step::resume("m1"))
        .step_at(7, Step::link("m1", "s1", Some(50), Some("1mb")))
        .step_at(8, Step::disk("m1", 500))
        .step_at(9, Step::memory_pressure("m1", "1gb"))
        .step_at(10, Step::clock_jump("s1", -2000))
        .command_at(11, "m1", "DEBUG SLEEP 15")
        .expect("count(s1:+sdown) >= 1")
        .expect("first_ms(+switch-master) < 10000")
        .expect("faults_fired.memory-pressure == 1")
        .build()
        .unwrap();
    assert_eq!(scenario.nodes[1].port(), 26379);
    let kinds: Vec<&str> = scenario.actions().iter().map(|(_, a)| a.kind()).collect();
    assert_eq!(
        kinds,
        [
            "partition",
            "heal",
            "kill",
            "restart",
            "pause",
            "resume",
            "link",
            "disk",
            "memory-pressure",
            "clock-jump",
            "command"
        ]
    );
    assert_eq!(
        scenario.actions()[6].1,
        Action::Link {
            from: "m1".into(),
            to: "s1".into(),
            latency_ms: Some(50),
            bandwidth_bytes_per_s: Some(1 << 20)
        }
    );
    assert_eq!(scenario.machine_for("m1").unwrap().swap_bytes, 512 << 20);
    assert!(scenario.machine_for("m1").unwrap().thp);
    assert_eq!(parse(&scenario.to_toml_string()).unwrap(), scenario);
}

#[test]
fn toml_and_json_round_trip() {
    let scenario = parse(SPEC_EXAMPLE).unwrap();
    assert_eq!(parse(&scenario.to_toml_string()).unwrap(), scenario);
    let value = scenario.to_json_value();
    assert_eq!(value["node"][0]["port"], json!(6379));
    assert_eq!(value["node"][1]["memory"], json!("4gb"));
    assert_eq!(value["workload"][0]["key_prefix"], json!("key:"));
    let back = Scenario::from_json_value(&value, "report.json").unwrap();
    assert_eq!(back, scenario.resolved());
    assert_eq!(back.resolved(), back);
    assert_eq!(parse(&back.to_toml_string()).unwrap(), back);
}

fn report() -> Report {
    let mut info = serde_json::Map::new();
    info.insert("role".into(), json!("master"));
    info.insert("sync_full".into(), json!(2));
    info.insert("master_repl_offset".into(), json!(9007199254740993u64));
    info.insert("mem_fragmentation_ratio".into(), json!(1.25));
    info.insert("master_link_status".into(), json!("up"));
    info.insert("rdb_changes_since_last_save".into(), json!("17"));
    let node = NodeReport {
        kind: "redis".into(),
        role: "master".into(),
        info,
        machine: MachineReport {
            memory_bytes: 4 << 30,
            rss_bytes_max: 1000,
            swap_bytes_max: 0,
            oom_kills: 1,
        },
    };
    let event = |t_ms: u64, node: &str, event: &str| Event {
        t_ms,
        node: node.into(),
        event: event.into(),
        detail: String::new(),
    };
    Report {
        redsim_version: "0.1.0".into(),
        scenario: "x".into(),
        title: "x".into(),
        seed: 1,
        trace_hash: "0".into(),
        passed: true,
        expectations: Vec::new(),
        virtual_ms: 30_000,
        wall_ms: 1,
        nodes: [("m1".to_string(), node)].into_iter().collect(),
        events: vec![
            event(5012, "s1", "+sdown"),
            event(5013, "s2", "+sdown"),
            event(7000, "s1", "+switch-master"),
        ],
        history: History {
            ok: 10,
            fail: 2,
            unknown: 1,
            acked_writes: 8,
            acked_writes_lost: 3,
            acked_writes_evaluated: 8,
            first_lost_acked_ms: Some(6100),
            errors: [("NOREPLICAS".to_string(), 2)].into_iter().collect(),
            first_fail_ms: Some(6000),
            last_fail_ms: None,
            latency_ms: Latency {
                p50: 0.5,
                p99: 12.0,
                p999: 40.0,
                max: 120.5,
            },
            workloads: [("writers".to_string(), writers_history())]
                .into_iter()
                .collect(),
            ..History::default()
        },
        series: None,
        faults_fired: [("partition".to_string(), 1)].into_iter().collect(),
        scenario_resolved: Value::Null,
        replay: String::new(),
    }
}

fn writers_history() -> WorkloadHistory {
    WorkloadHistory {
        ok: 7,
        fail: 1,
        acked_writes: 6,
        acked_writes_lost: 2,
        first_lost_acked_ms: Some(6100),
        last_lost_acked_ms: Some(6900),
        errors: [("NOREPLICAS".to_string(), 1)].into_iter().collect(),
        latency_ms: Latency {
            p50: 0.25,
            p99: 3.0,
            p999: 9.0,
            max: 11.5,
        },
        ..WorkloadHistory::default()
    }
}

fn check(that: &str) -> (bool, Value) {
    let result = Expectation::parse(that)
        .unwrap_or_else(|e| panic!("{}: {}", that, e))
        .evaluate(&report());
    assert_eq!(result.that, that);
    (result.passed, result.actual)
}

#[test]
fn expectations_parse() {
    let e = Expectation::parse("count(s1:+sdown) >= 2").unwrap();
    assert_eq!(
        e.lhs,
        Lhs::Count {
            node: Some("s1".into()),
            event: "+sdown".into()
        }
    );
    assert_eq!(e.op, Op::Ge);
    let e = Expectation::parse("first_ms( -odown )<'5'").unwrap();
    assert_eq!(
        e.lhs,
        Lhs::FirstMs {
            node: None,
            event: "-odown".into()
        }
    );
    assert_eq!(e.op, Op::Lt);
    assert_eq!(
        Expectation::parse("m1.role != \"a == b\"").unwrap().op,
        Op::Ne
    );
    let e = Expectation::parse("history.workloads.w-1.errors.NOREPLICAS > 0").unwrap();
    assert_eq!(
        e.lhs,
        Lhs::WorkloadHistory {
            workload: "w-1".into(),
            field: "errors.NOREPLICAS".into()
        }
    );
    assert_eq!((e.workload_name(), e.node_name()), (Some("w-1"), None));
    assert_eq!(
        Expectation::parse("history.ok > 0")
            .unwrap()
            .workload_name(),
        None
    );
    let e = Expectation::parse("history.workloads.w-1.errors.NOREPLICAS > 0").unwrap();
    assert_eq!(
        e.lhs,
        Lhs::WorkloadHistory {
            workload: "w-1".into(),
            field: "errors.NOREPLICAS".into()
        }
    );
    assert_eq!((e.workload_name(), e.node_name()), (Some("w-1"), None));
    assert_eq!(
        Expectation::parse("history.ok > 0")
            .unwrap()
            .workload_name(),
        None
    );
}

#[test]
fn expectations_evaluate_with_every_op() {
    let cases: &[(&str, bool, Value)] = &[
        ("m1.sync_full == 2", true, json!(2)),
        ("m1.sync_full != 2", false, json!(2)),
        ("m1.sync_full < 3", true, json!(2)),
        ("m1.sync_full <= 2", true, json!(2)),
        ("m1.sync_full > 2", false, json!(2)),
        ("m1.sync_full >= 2.0", true, json!(2)),
        ("m1.sync_full == \"2\"", true, json!(2)),
        (
            "m1.master_repl_offset == 9007199254740993",
            true,
            json!(9007199254740993u64),
        ),
        (
            "m1.master_repl_offset > 9007199254740992",
            true,
            json!(9007199254740993u64),
        ),
        ("m1.mem_fragmentation_ratio > 1.2", true, json!(1.25)),
        ("m1.rdb_changes_since_last_save == 17", true, json!("17")),
        ("m1.role == \"master\"", true, json!("master")),
        ("m1.role != 'slave'", true, json!("master")),
        ("m1.role < \"z\"", false, json!("master")),
        ("m1.master_link_status == \"up\"", true, json!("up")),
        ("m1.no_such_field == 0", false, Value::Null),
        ("m1.no_such_field != 0", false, Value::Null),
        ("m1.oom_kills == 1", true, json!(1)),
        ("m1.kind == \"redis\"", true, json!("redis")),
        ("m2.role == \"master\"", false, Value::Null),
        ("history.ok == 10", true, json!(10)),
        ("history.fail > 1", true, json!(2)),
        ("history.unknown == 1", true, json!(1)),
        ("history.acked_writes == 8", true, json!(8)),
        ("history.acked_writes_lost <= 3", true, json!(3)),
        ("history.acked_writes_evaluated == 8", true, json!(8)),
        ("history.first_lost_acked_ms == 6100", true, json!(6100)),
        ("history.last_lost_acked_ms >= 0", false, Value::Null),
        ("history.errors.NOREPLICAS == 2", true, json!(2)),
        ("history.errors.READONLY == 0", true, json!(0)),
        ("history.first_fail_ms >= 6000", true, json!(6000)),
        ("history.last_fail_ms == 0", false, Value::Null),
        ("history.latency_ms.p50 < 1", true, json!(0.5)),
        ("history.workloads.writers.ok == 7", true, json!(7)),
        ("history.workloads.writers.fail == 1", true, json!(1)),
        ("history.workloads.writers.unknown == 0", true, json!(0)),
        (
            "history.workloads.writers.acked_writes == 6",
            true,
            json!(6),
        ),
        (
            "history.workloads.writers.acked_writes_lost == 2",
            true,
            json!(2),
        ),
        (
            "history.workloads.writers.first_lost_acked_ms == 6100",
            true,
            json!(6100),
        ),
        (
            "history.workloads.writers.last_lost_acked_ms < 6900",
            false,
            json!(6900),
        ),
        (
            "history.workloads.writers.first_fail_ms == 0",
            false,
            Value::Null,
        ),
        (
            "history.workloads.writers.errors.NOREPLICAS == 1",
            true,
            json!(1),
        ),
        (
            "history.workloads.writers.errors.READONLY == 0",
            true,
            json!(0),
        ),
        (
            "history.workloads.writers.latency_ms.p99 == 3",
            true,
            json!(3.0),
        ),
        (
            "history.workloads.writers.latency_ms.max > 11",
            true,
            json!(11.5),
        ),
        ("history.workloads.other.ok == 0", false, Value::Null),
        ("history.latency_ms.p99 == 12", true, json!(12.0)),
        ("history.latency_ms.p999 > 39.5", true, json!(40.0)),
        ("history.latency_ms.max <= 120.5", true, json!(120.5)),
        ("faults_fired.partition == 1", true, json!(1)),
        ("faults_fired.kill == 0", true, json!(0)),
        ("count(+sdown) == 2", true, json!(2)),
        ("count(s1:+sdown) == 1", true, json!(1)),
        ("count(+odown) == 0", true, json!(0)),
        ("first_ms(+switch-master) == 7000", true, json!(7000)),
        ("first_ms(s2:+sdown) == 5013", true, json!(5013)),
        ("first_ms(+odown) >= 0", false, Value::Null),
    ];
    for (that, passed, actual) in cases {
        assert_eq!(check(that), (*passed, actual.clone()), "{}", that);
    }
    let all: Vec<Expectation> = ["history.ok == 10", "count(+tilt) > 0"]
        .iter()
        .map(|t| Expectation::parse(t).unwrap())
        .collect();
    let results = evaluate_all(&all, &report());
    assert_eq!(
        results.iter().map(|r| r.passed).collect::<Vec<_>>(),
        [true, false]
    );
}

/// Lines a mutation may splice in: valid, invalid, and half-written TOML.
const SNIPPETS: &[&str] = &[
    "[[node]]",
    "[[step]]",
    "[machine]",
    "[[expect]]",
    "[[workload]]",
    "name = \"m1\"",
    "kind = \"sentinel\"",
    "fault = \"kill\"",
    "fault = \"partition\"",
    "groups = [[]]",
    "groups = [[\"x\"], []]",
    "at_ms = 99999999999",
    "memory = \"1qb\"",
    "seeds = []",
    "that = \"count(\"",
    "that = \"m1. == 1\"",
    "config = [\"save \\\"\"]",
    "config = [\"maxmemory -1gb\"]",
    "x = 1",
    "[",
    "]]",
    "\"",
    "= 1",
    "a.b.c = 1",
    "node = 1",
    "step = []",
    "jump_ms = -9223372036854775808",
    "port = 70000",
    "title = {}",
    "bandwidth = 18446744073709551615",
    "write_ratio = nan",
    "write_ratio = inf",
    "duration_ms = 0",
    "command = \"\"",
    "target = \"sentinel:\"",
    "on = \"\"",
    "groups = [[\"m1\", \"m1\"], [\"r1\"]]",
    "\u{feff}",
    "é = 1",
    "from = \"m1\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Scenario::from_toml_str(&text, "fuzz.toml");
    }

    #[test]
    fn mutated_files_never_panic(
        cut_start in 0usize..SPEC_EXAMPLE.len(),
        cut_len in 0usize..40,
        line in 0usize..60,
        snippet in 0usize..SNIPPETS.len(),
        garbage in "[\\[\\]=\"'{},.a-z0-9 \\n#-]{0,12}",
    ) {
        let lines: Vec<&str> = SPEC_EXAMPLE.lines().collect();
        let mut spliced: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        spliced.insert(line.min(spliced.len()), SNIPPETS[snippet].to_string());
        let spliced = spliced.join("\n");
        let mut cut = SPEC_EXAMPLE.as_bytes().to_vec();
        let end = (cut_start + cut_len).min(cut.len());
        cut.splice(cut_start..end, garbage.bytes());
        for text in [spliced, String::from_utf8_lossy(&cut).into_owned()] {
            match Scenario::from_toml_str(&text, "fuzz.toml") {
                Ok(scenario) => {
                    // Whatever parses must also survive the trip through TOML and JSON.
                    prop_assert_eq!(Scenario::from_toml_str(&scenario.to_toml_string(), "again.toml"), Ok(scenario.clone()));
                    prop_assert!(Scenario::from_json_value(&scenario.to_json_value(), "r.json").is_ok());
                }
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(message.starts_with("fuzz.toml:"), "{}", message);
                    prop_assert_eq!(message.lines().count(), e.issues.len());
                }
            }
        }
    }

    #[test]
    fn arbitrary_expectations_never_panic(text in "\\PC{0,40}") {
        if let Ok(e) = Expectation::parse(&text) {
            let _ = e.evaluate(&report());
        }
    }
}

/// A strict file: the mistakes that would otherwise pass (or fail) silently
/// at run time are errors with file:line.
#[test]
fn an_info_field_no_redis_node_has_is_an_error() {
    assert_eq!(
        error(&edit("m1.sync_full == 1", "m1.sync_fulll == 1")),
        "x.toml:52:1: expect[0].that: 'm1.sync_fulll == 1': no redis node has an INFO field 'sync_fulll' (similar: sync_full, sync_partial_err, sync_partial_ok)"
    );
    // Fields that exist only in some states are known: a replica's, a
    // child's, AOF's, numbered and per-command ones, the machine's.
    for that in [
        "r1.master_link_status == 'up'",
        "r1.master_sync_left_bytes == 0",
        "m1.slave0 != ''",
        "m1.db0 != ''",
        "m1.cmdstat_set != ''",
        "m1.errorstat_NOREPLICAS == 0",
        "m1.aof_delayed_fsync == 0",
        "m1.min_slaves_good_slaves == 1",
        "m1.rss_bytes_max > 0",
        "m1.role == 'master'",
    ] {
        assert!(parse(&edit("m1.sync_full == 1", that)).is_ok(), "{}", that);
    }
}

#[test]
fn unknown_events_and_error_classes_are_errors() {
    let message = error(&edit("m1.sync_full == 1", "count(+switchmaster) == 1"));
    assert!(message.starts_with("x.toml:52:1: expect[0].that: 'count(+switchmaster) == 1': unknown event '+switchmaster' in count()"), "{}", message);
    let message = error(&edit("m1.sync_full == 1", "first_ms(m1:bgsave-done) > 0"));
    assert!(
        message.contains("unknown event 'bgsave-done' in first_ms()"),
        "{}",
        message
    );
    for that in [
        "count(+switch-master) == 1",
        "count(m1:fault:partition) == 1",
        "first_ms(bgsave_done) > 0",
        "count(-failover-abort-no-good-slave) == 0",
    ] {
        assert!(parse(&edit("m1.sync_full == 1", that)).is_ok(), "{}", that);
    }
    let message = error(&edit("m1.sync_full == 1", "history.errors.NOREPLICA == 0"));
    assert!(message.starts_with("x.toml:52:1: expect[0].that: 'history.errors.NOREPLICA == 0': unknown history field 'errors.NOREPLICA'"), "{}", message);
    let message = error(&edit(
        "m1.sync_full == 1",
        "history.workloads.writers.errors.readonly == 0",
    ));
    assert!(
        message.contains("unknown workload history field 'errors.readonly'"),
        "{}",
        message
    );
    assert!(parse(&edit("m1.sync_full == 1", "history.errors.NOREPLICAS == 0")).is_ok());
    assert!(parse(&edit("m1.sync_full == 1", "history.errors.NOCONN == 0")).is_ok());
}

#[test]
fn a_string_compared_with_a_number_is_an_error() {
    assert_eq!(
        error(&edit("m1.sync_full == 1", "m1.sync_full == 'one'")),
        "x.toml:52:1: expect[0].that: 'm1.sync_full == 'one'': compares a number with the string \"one\""
    );
    assert_eq!(
        error(&edit("m1.sync_full == 1", "m1.role == 1")),
        "x.toml:52:1: expect[0].that: 'm1.role == 1': compares a text field with the number 1"
    );
    assert!(error(&edit("m1.sync_full == 1", "history.ok > 'many'"))
        .contains("compares a number with the string \"many\""));
    assert!(error(&edit("m1.sync_full == 1", "m1.role < 'slave'"))
        .contains("text compares only with == or !="));
    // A quoted number is a number.
    assert!(parse(&edit("m1.sync_full == 1", "m1.sync_full == '1'")).is_ok());
}

#[test]
fn unresolvable_targets_are_errors() {
    assert_eq!(
        error(&edit("target = \"m1\"", "target = \"cluster\"")),
        "x.toml:27:1: workload[0].target: target 'cluster': Redis Cluster is not modelled yet; target a node by name"
    );
    let sentinel = "[[node]]\nname = \"s1\"\nkind = \"sentinel\"\nconfig = [\"sentinel monitor mymaster m1 6379 1\"]\n\n[[workload]]";
    let with_sentinel = edit("[[workload]]", sentinel);
    let monitored = with_sentinel.replace("target = \"m1\"", "target = \"sentinel:mymaster\"");
    assert!(parse(&monitored).is_ok(), "{:?}", parse(&monitored));
    let reask = monitored.replacen(
        "[[step]]",
        "reask_ms = 1000\nfollow = \"pubsub\"\n\n[[step]]",
        1,
    );
    assert!(parse(&reask).is_ok(), "{:?}", parse(&reask));
    assert!(
        error(&edit("target = \"m1\"", "target = \"m1\"\nreask_ms = 500")).contains(
            "reask_ms: only a workload whose target is \"sentinel:<name>\" asks sentinels again"
        )
    );
    assert!(error(&edit(
        "target = \"m1\"",
        "target = \"m1\"\nfollow = \"pubsub\""
    ))
    .contains("follow: only a workload whose target is \"sentinel:<name>\" follows Sentinel"));
    assert!(error(&reask.replace("\"pubsub\"", "\"poll\""))
        .contains("follow: unknown follow mode 'poll' (expected \"pubsub\")"));
    assert!(error(&reask.replace("reask_ms = 1000", "reask_ms = 0"))
        .contains("reask_ms: must be at least 1"));
    let other = with_sentinel.replace("target = \"m1\"", "target = \"sentinel:other\"");
    assert_eq!(
        error(&other),
        "x.toml:32:1: workload[0].target: target 'sentinel:other': no sentinel node monitors a master named 'other' (its config needs \"sentinel monitor other <host> <port> <quorum>\")"
    );
}

#[test]
fn expect_error_belongs_to_command_steps() {
    let ok = edit(
        "command = \"CLIENT KILL TYPE replica\"",
        "command = \"CLIENT KILL TYPE replica\"\nexpect_error = \"ERR\"",
    );
    assert!(parse(&ok).is_ok());
    let message = error(&edit(
        "fault = \"heal\"",
        "fault = \"heal\"\nexpect_error = \"ERR\"",
    ));
    assert!(
        message.contains("step[2]") && message.contains("expect_error"),
        "{}",
        message
    );
}

const ONE_NODE: &str = r#"title = "one node, one admin command"
seeds = [1]
duration_ms = 2_000

[[node]]
name = "m1"
kind = "redis"
config = []

[[step]]
at_ms = 1_500
node = "m1"
command = "CONFIG SET no-such-directive 1"
"#;

/// An admin command that gets an error reply fails the run (exit 2, with
/// the step's file:line), unless the step says expect_error, a prefix of
/// the error text; expect_error on a command that succeeds fails too.
#[test]
fn an_admin_command_error_reply_fails_the_run_unless_expected() {
    let dir = std::env::temp_dir().join(format!("redsim-admin-error-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let run = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write scenario");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_redsim"))
            .arg("run")
            .arg(&path)
            .output()
            .expect("redsim runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            path.display().to_string(),
        )
    };
    let (code, err, path) = run("unexpected.toml", ONE_NODE);
    assert_eq!(code, Some(2), "{}", err);
    let want = format!("{}:13:1: step[0].command: 'CONFIG SET no-such-directive 1' got an error reply: ERR Unknown option or number of arguments for CONFIG SET - 'no-such-directive'", path);
    assert!(err.contains(&want), "{}\nwanted {}", err, want);
    let expected = ONE_NODE.replace(
        "directive 1\"\n",
        "directive 1\"\nexpect_error = \"ERR Unknown option\"\n",
    );
    let (code, err, _) = run("expected.toml", &expected);
    assert_eq!(code, Some(0), "{}", err);
    let wrong = ONE_NODE.replace(
        "directive 1\"\n",
        "directive 1\"\nexpect_error = \"WRONGTYPE\"\n",
    );
    let (code, err, _) = run("wrong.toml", &wrong);
    assert_eq!(code, Some(2));
    assert!(err.contains("not the expected 'WRONGTYPE'"), "{}", err);
    let succeeds = ONE_NODE.replace(
        "CONFIG SET no-such-directive 1\"\n",
        "PING\"\nexpect_error = \"ERR\"\n",
    );
    let (code, err, _) = run("succeeds.toml", &succeeds);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("'PING' replied PONG but the step expects the error 'ERR'"),
        "{}",
        err
    );
}

/// Two nodes on machine h1, a third on its own machine, and a power loss of h1.
const BOX: &str = r#"title = "box"
seeds = [1]
duration_ms = 10_000

[[node]]
name = "m1"
kind = "redis"
machine = "h1"
memory = "2gb"
config = ["dir /d/m1"]

[[node]]
name = "r1"
kind = "redis"
machine = "h1"
port = 6380
config = ["dir /d/r1", "replicaof m1 6379"]

[[node]]
name = "r2"
kind = "redis"
config = ["replicaof h1 6379"]

[[step]]
at_ms = 1_000
fault = "kill"
machine = "h1"
"#;

fn box_edit(from: &str, to: &str) -> String {
    assert_eq!(BOX.matches(from).count(), 1, "{:?} must occur once", from);
    BOX.replace(from, to)
}

#[test]
fn machines_are_known_and_their_nodes_agree() {
    let scenario = parse(BOX).expect("valid");
    assert_eq!(scenario.machine_for("r1").unwrap().memory_bytes, 2 << 30);
    assert_eq!(scenario.machine_for("r2").unwrap().memory_bytes, 4 << 30);
    assert_eq!(
        scenario.actions()[0].1,
        Action::Kill {
            node: "h1".into(),
            torn: false
        }
    );
    let back = Scenario::from_json_value(&scenario.to_json_value(), "r.json")
        .expect("the resolved scenario validates");
    assert_eq!(back.resolved(), back);
    let conflict = box_edit("port = 6380", "port = 6380\nmemory = \"4gb\"");
    assert_eq!(error(&conflict), "x.toml:17:1: node[1].memory: machine 'h1' gets memory = \"4gb\" here but \"2gb\" from node 'm1'");
    assert_eq!(
        error(&box_edit(
            "kill\"\nmachine = \"h1\"",
            "kill\"\nmachine = \"h9\""
        )),
        "x.toml:27:1: step[0].machine: unknown machine 'h9' (machines with nodes: h1, r2)"
    );
    assert_eq!(
        error(&box_edit(
            "kill\"\nmachine = \"h1\"",
            "kill\"\nnode = \"h1\""
        )),
        "x.toml:27:1: step[0].node: unknown node 'h1'"
    );
    assert!(error(&box_edit(
        "fault = \"kill\"",
        "fault = \"kill\"\nnode = \"m1\""
    ))
    .contains("step[0].machine: fault 'kill' takes `node` or `machine`, not both"));
    // A whole machine pauses (applications included); an unknown one is an error.
    assert!(parse(&box_edit("fault = \"kill\"", "fault = \"pause\"")).is_ok());
    assert_eq!(
        error(&box_edit(
            "fault = \"kill\"\nmachine = \"h1\"",
            "fault = \"resume\"\nmachine = \"h7\""
        )),
        "x.toml:27:1: step[0].machine: unknown machine 'h7' (machines with nodes: h1, r2)"
    );
    assert!(error(&box_edit("fault = \"kill\"", "fault = \"crash\""))
        .contains("step[0].machine: fault 'crash' does not take key 'machine'"));
    assert!(error(&box_edit("port = 6380\n", ""))
        .contains("node[1].port: node 'm1' on machine 'h1' already listens on port 6379"));
    assert!(
        error(&box_edit("\"dir /d/r1\"", "\"dir /d/m1/\"")).contains(
            "node[1].config: node 'm1' on machine 'h1' already keeps its files in dir /d/m1"
        )
    );
    let elsewhere = box_edit(
        "config = [\"replicaof h1 6379\"]",
        "machine = \"m1\"\nconfig = [\"replicaof h1 6379\"]",
    );
    assert!(
        error(&elsewhere).contains(
            "x.toml:22:1: node[2].machine: 'm1' is node 'm1', which runs on machine 'h1'"
        ),
        "{}",
        error(&elsewhere)
    );
    let client = box_edit(
        "name = \"r2\"\nkind = \"redis\"",
        "name = \"r2\"\nkind = \"redis\"\nmachine = \"client\"",
    );
    assert!(error(&client)
        .contains("node[2].machine: machine 'client' is the workload clients' default machine"));
    assert!(error(&box_edit("replicaof h1 6379", "replicaof h9 6379"))
        .contains("'replicaof h9 6379': unknown node 'h9'"));
    let split = box_edit(
        "fault = \"kill\"\nmachine = \"h1\"",
        "fault = \"partition\"\ngroups = [[\"m1\"], [\"h1\", \"r2\"]]",
    );
    assert!(
        error(&split).contains(
            "step[0].groups[1][0]: 'h1' means machine 'h1', which is already in another group"
        ),
        "{}",
        error(&split)
    );
    let together = box_edit(
        "fault = \"kill\"\nmachine = \"h1\"",
        "fault = \"partition\"\ngroups = [[\"m1\", \"h1\"], [\"r2\"]]",
    );
    assert!(parse(&together).is_ok());
}

#[test]
fn the_builder_places_nodes_on_machines_and_faults_on_them() {
    let built = ScenarioBuilder::new("box")
        .seeds([1])
        .duration_ms(10_000)
        .node("m1", |n| n.machine("h1").memory("2gb").config("dir /d/m1"))
        .node("r1", |n| {
            n.machine("h1")
                .port(6380)
                .config("dir /d/r1")
                .config("replicaof m1 6379")
        })
        .node("r2", |n| n.config("replicaof h1 6379"))
        .step_at(1_000, Step::kill("").on_machine("h1"))
        .build()
        .unwrap();
    assert_eq!(built, parse(BOX).unwrap());
    let clash = ScenarioBuilder::new("box")
        .seeds([1])
        .duration_ms(10_000)
        .node("m1", |n| n.machine("h1"))
        .node("r1", |n| n.machine("h1"))
        .build();
    let message = clash.unwrap_err().to_string();
    assert!(
        message.contains(
            "<builder>: node[1].port: node 'm1' on machine 'h1' already listens on port 6379"
        ),
        "{}",
        message
    );
}
