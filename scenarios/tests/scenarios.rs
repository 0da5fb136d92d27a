//! Every built-in scenario at every pinned seed: its expectations hold, its
//! report and compact trace match their snapshots, and it replays to the
//! same trace hash. Failures print the replay command.

use redsim_scenarios::expect::{Expectation, Lhs};
use redsim_scenarios::{registry, runner};
use serde_json::Value;

/// INFO fields every snapshot keeps for each node, besides those the
/// scenario's expectations name: what a person reads first.
const SNAPSHOT_INFO_FIELDS: &[&str] = &[
    "role",
    "connected_slaves",
    "master_repl_offset",
    "used_memory",
    "total_commands_processed",
    "latest_fork_usec",
];

/// Keeps in each node's `info` only the fields a person reads for this
/// scenario, so that a new INFO field does not rewrite every snapshot.
fn trim_info(report_json: &mut Value, expectations: &[String]) {
    let mut keep: Vec<String> = SNAPSHOT_INFO_FIELDS.iter().map(|f| f.to_string()).collect();
    for that in expectations {
        if let Ok(Expectation {
            lhs: Lhs::NodeField { field, .. },
            ..
        }) = Expectation::parse(that)
        {
            keep.push(field);
        }
    }
    let Some(nodes) = report_json.get_mut("nodes").and_then(Value::as_object_mut) else {
        return;
    };
    for node in nodes.values_mut() {
        if let Some(info) = node.get_mut("info").and_then(Value::as_object_mut) {
            info.retain(|name, _| keep.contains(name));
        }
    }
}

/// How many entries of `history.lost` a report snapshot keeps.
const SNAPSHOT_LOST_LISTED: usize = 10;

fn run(name: &str, seed: u64) -> runner::RunOutput {
    let scenario = registry::load(name).unwrap_or_else(|e| panic!("{}", e));
    runner::run(&scenario, name, seed).unwrap_or_else(|e| panic!("{} seed {}: {}", name, seed, e))
}

fn pinned_seeds(name: &str) -> Vec<u64> {
    registry::load(name)
        .expect("built-in scenarios parse")
        .seeds
}

#[test]
fn scenarios_hold_their_expectations_at_pinned_seeds() {
    for b in registry::BUILTINS {
        for seed in pinned_seeds(b.name) {
            let out = run(b.name, seed);
            let failed: Vec<String> = out
                .report
                .expectations
                .iter()
                .filter(|e| !e.passed)
                .map(|e| format!("{} (actual: {})", e.that, e.actual))
                .collect();
            assert!(
                failed.is_empty(),
                "{} seed {} failed: {}\n  replay: {}",
                b.name,
                seed,
                failed.join("; "),
                out.report.replay
            );
            let mut report_json = serde_json::to_value(&out.report).expect("reports serialise");
            let thats: Vec<String> = out
                .report
                .expectations
                .iter()
                .map(|e| e.that.clone())
                .collect();
            trim_info(&mut report_json, &thats);
            // The per-workload series (hundreds of buckets) is derived from the history the
            // snapshot already pins; a runner test checks it, and the snapshots stay readable.
            if let Some(series) = report_json
                .get_mut("series")
                .and_then(|s| s.as_object_mut())
            {
                series.remove("workloads");
                series.remove("bucket_ms");
            }
            // history.lost lists every lost write (20 000 in split-brain); the snapshot keeps
            // its first entries, and acked_writes_lost pins how many there are.
            if let Some(lost) = report_json
                .pointer_mut("/history/lost")
                .and_then(Value::as_array_mut)
            {
                lost.truncate(SNAPSHOT_LOST_LISTED);
            }
            insta::assert_json_snapshot!(format!("{}__seed{}__report", b.name, seed), report_json, {".wall_ms" => "[wall]"});
            insta::assert_snapshot!(
                format!("{}__seed{}__trace", b.name, seed),
                out.trace_snapshot
            );
        }
    }
}

#[test]
fn scenarios_are_deterministic_per_seed() {
    for b in registry::BUILTINS {
        let mut hashes = Vec::new();
        for seed in pinned_seeds(b.name) {
            let first = run(b.name, seed).report.trace_hash;
            let second = run(b.name, seed).report.trace_hash;
            assert_eq!(
                first, second,
                "{} seed {} diverged between two runs\n  replay: redsim run {} --seed {}",
                b.name, seed, b.name, seed
            );
            hashes.push(first);
        }
        hashes.sort();
        hashes.dedup();
        assert!(
            hashes.len() > 1,
            "{}: different seeds must be able to give different traces",
            b.name
        );
    }
}
