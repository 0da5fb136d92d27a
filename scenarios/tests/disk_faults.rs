//! The disk and process faults in scenario files: `kill` with `torn`, and
//! `crash`: their keys are checked with located errors, the builder writes
//! the same steps, and the runner turns them into the simulator's faults.

use redsim_scenarios::builder::ScenarioBuilder;
use redsim_scenarios::runner;
use redsim_scenarios::spec::{Action, Scenario, Step};

const BASE: &str = r#"title = "disk faults"
seeds = [1]
duration_ms = 10_000

[[node]]
name = "m1"
kind = "redis"

[[step]]
at_ms = 1_000
fault = "kill"
node = "m1"
"#;

fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::from_toml_str(text, "x.toml").map_err(|e| e.to_string())
}

fn with_step_keys(keys: &str) -> String {
    BASE.replace("fault = \"kill\"\nnode = \"m1\"\n", keys)
}

#[test]
fn kill_takes_torn_and_crash_takes_only_node() {
    let plain = parse(BASE).unwrap();
    assert_eq!(
        plain.actions()[0].1,
        Action::Kill {
            node: "m1".into(),
            torn: false
        }
    );
    let torn = parse(&with_step_keys(
        "fault = \"kill\"\nnode = \"m1\"\ntorn = true\n",
    ))
    .unwrap();
    assert_eq!(
        torn.actions()[0].1,
        Action::Kill {
            node: "m1".into(),
            torn: true
        }
    );
    let crash = parse(&with_step_keys("fault = \"crash\"\nnode = \"m1\"\n")).unwrap();
    assert_eq!(
        crash.actions()[0],
        (1_000, Action::Crash { node: "m1".into() })
    );
    assert_eq!(crash.actions()[0].1.kind(), "crash");
}

#[test]
fn bad_torn_and_crash_keys_are_located() {
    let e = parse(&with_step_keys(
        "fault = \"kill\"\nnode = \"m1\"\ntorn = \"yes\"\n",
    ))
    .unwrap_err();
    assert_eq!(
        e,
        "x.toml:13:8: step[0].torn: invalid type: string \"yes\", expected a boolean"
    );
    let e = parse(&with_step_keys(
        "fault = \"crash\"\nnode = \"m1\"\ntorn = true\n",
    ))
    .unwrap_err();
    assert_eq!(
        e,
        "x.toml:13:1: step[0].torn: fault 'crash' does not take key 'torn'"
    );
    let e = parse(&with_step_keys(
        "fault = \"restart\"\nnode = \"m1\"\ntorn = true\n",
    ))
    .unwrap_err();
    assert_eq!(
        e,
        "x.toml:13:1: step[0].torn: fault 'restart' does not take key 'torn'"
    );
    let e = parse(&with_step_keys("fault = \"crash\"\n")).unwrap_err();
    assert_eq!(e, "x.toml:9:1: step[0]: fault 'crash' needs key 'node'");
    let e = parse(&with_step_keys("fault = \"crash\"\nnode = \"m9\"\n")).unwrap_err();
    assert_eq!(e, "x.toml:12:1: step[0].node: unknown node 'm9'");
    let counted = parse(&format!(
        "{}\n[[expect]]\nthat = \"faults_fired.crash == 0\"\n",
        BASE
    ))
    .unwrap();
    assert_eq!(counted.expectations().len(), 1);
}

#[test]
fn builder_steps_equal_the_file_and_run() {
    let built = ScenarioBuilder::new("disk faults")
        .seeds([1])
        .duration_ms(10_000)
        .node("m1", |n| n)
        .step_at(1_000, Step::kill_torn("m1"))
        .step_at(2_000, Step::restart("m1"))
        .step_at(3_000, Step::crash("m1"))
        .build()
        .expect("valid");
    let actions: Vec<Action> = built.actions().into_iter().map(|(_, a)| a).collect();
    assert_eq!(
        actions,
        vec![
            Action::Kill {
                node: "m1".into(),
                torn: true
            },
            Action::Restart { node: "m1".into() },
            Action::Crash { node: "m1".into() }
        ]
    );
    let text = built.to_toml_string();
    assert!(text.contains("torn = true"), "{}", text);
    assert_eq!(parse(&text).unwrap(), built, "the file form round-trips");
    let out = runner::run(&built, "disk faults", 1).expect("runs");
    let fired = &out.report.faults_fired;
    assert_eq!(fired.get("kill"), Some(&1), "{:?}", fired);
    assert_eq!(fired.get("crash"), Some(&1), "{:?}", fired);
    assert_eq!(fired.get("restart"), Some(&1), "{:?}", fired);
}
