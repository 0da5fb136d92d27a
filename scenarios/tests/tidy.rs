//! Architecture invariants (ARCHITECTURE.md), enforced by grep.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code (comments stripped) containing any of `needles`.
fn offenders(dir: &str, needles: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join(dir), &mut files);
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for needle in needles {
                if code.contains(needle) {
                    found.push(format!("{}:{}: {}", file.display(), i + 1, needle));
                }
            }
        }
    }
    found
}

fn manifest_deps(krate: &str) -> String {
    std::fs::read_to_string(root().join(krate).join("Cargo.toml")).expect("manifest")
}

#[test]
fn engine_does_no_io() {
    let banned = [
        "Instant::now",
        "SystemTime",
        "thread_rng",
        "std::fs",
        "std::net",
        "std::thread",
        "std::env",
        "cfg(madsim)",
        "std::process",
        "getrandom",
        "OsRng",
    ];
    let found = offenders("engine/src", &banned);
    assert!(
        found.is_empty(),
        "the engine must stay sans-IO:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_world_reads_no_clock_env_or_threads() {
    let banned = [
        "Instant::now",
        "SystemTime",
        "thread_rng",
        "std::env",
        "std::thread",
        "OsRng",
    ];
    let found = offenders("sim/src", &banned);
    assert!(
        found.is_empty(),
        "the world must be a pure function of the seed:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_hash_order_dependence() {
    let banned = ["HashMap<", "HashSet<", "HashMap::", "HashSet::"];
    let mut found = offenders("engine/src", &banned);
    found.extend(offenders("sim/src", &banned));
    found.extend(offenders("reports/src", &banned));
    assert!(
        found.is_empty(),
        "use BTreeMap or IndexMap with a fixed hasher:\n{}",
        found.join("\n")
    );
}

#[test]
fn layering_is_one_way() {
    let engine = manifest_deps("engine");
    for other in ["redsim-sim", "redsim-scenarios", "redsim-reports"] {
        assert!(
            !engine.contains(other),
            "engine must not depend on {}",
            other
        );
    }
    let reports = manifest_deps("reports");
    for other in ["redsim-engine", "redsim-sim"] {
        assert!(
            !reports.contains(other),
            "reports knows only the report model, not {}",
            other
        );
    }
    let sim = manifest_deps("sim");
    assert!(
        !sim.contains("redsim-scenarios") && !sim.contains("redsim-reports"),
        "sim sits below scenarios and reports"
    );
    let madsim = manifest_deps("sim/madsim");
    assert!(
        !madsim.contains("redsim-scenarios") && !madsim.contains("redsim-reports"),
        "redsim-madsim hosts the engine on its own"
    );
    for krate in ["engine", "sim", "scenarios", "reports"] {
        assert!(
            !manifest_deps(krate).contains("redsim-madsim"),
            "{} must not depend on redsim-madsim: only it needs --cfg madsim",
            krate
        );
    }
}

#[test]
fn assertions_stay_on_and_tests_never_skip() {
    let mut found = offenders("engine/src", &["debug_assert"]);
    found.extend(offenders("sim/src", &["debug_assert"]));
    for dir in ["engine", "sim", "scenarios", "reports"] {
        found.extend(offenders(dir, &["#[ignore", "#[should_panic"]));
    }
    found.retain(|f| !f.contains("tidy.rs"));
    assert!(
        found.is_empty(),
        "assert!, never debug_assert!; no ignored tests:\n{}",
        found.join("\n")
    );
}
