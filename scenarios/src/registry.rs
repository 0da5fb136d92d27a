//! The built-in scenarios: every file in scenarios/specs, compiled in.

use crate::spec::Scenario;

pub struct Builtin {
    pub name: &'static str,
    pub toml: &'static str,
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "backlog-overflow",
        toml: include_str!("../specs/backlog-overflow.toml"),
    },
    Builtin {
        name: "bigkey-delete",
        toml: include_str!("../specs/bigkey-delete.toml"),
    },
    Builtin {
        name: "fork-latency-thp",
        toml: include_str!("../specs/fork-latency-thp.toml"),
    },
    Builtin {
        name: "min-replicas-to-write",
        toml: include_str!("../specs/min-replicas-to-write.toml"),
    },
    Builtin {
        name: "swap-latency",
        toml: include_str!("../specs/swap-latency.toml"),
    },
    Builtin {
        name: "aof-fsync-loss",
        toml: include_str!("../specs/aof-fsync-loss.toml"),
    },
    Builtin {
        name: "aof-rewrite-crash",
        toml: include_str!("../specs/aof-rewrite-crash.toml"),
    },
    Builtin {
        name: "sentinel-failover",
        toml: include_str!("../specs/sentinel-failover.toml"),
    },
    Builtin {
        name: "sentinel-quorum",
        toml: include_str!("../specs/sentinel-quorum.toml"),
    },
    Builtin {
        name: "sentinel-tilt",
        toml: include_str!("../specs/sentinel-tilt.toml"),
    },
    Builtin {
        name: "sentinel-restart",
        toml: include_str!("../specs/sentinel-restart.toml"),
    },
    Builtin {
        name: "psync2-failover",
        toml: include_str!("../specs/psync2-failover.toml"),
    },
    Builtin {
        name: "chained-replicas",
        toml: include_str!("../specs/chained-replicas.toml"),
    },
    Builtin {
        name: "expire-replica-lag",
        toml: include_str!("../specs/expire-replica-lag.toml"),
    },
    Builtin {
        name: "output-buffer-overflow",
        toml: include_str!("../specs/output-buffer-overflow.toml"),
    },
    Builtin {
        name: "split-brain",
        toml: include_str!("../specs/split-brain.toml"),
    },
    Builtin {
        name: "split-brain-min-replicas",
        toml: include_str!("../specs/split-brain-min-replicas.toml"),
    },
];

pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Loads a built-in scenario by name, or a TOML file by path. Errors name
/// the file, line and key.
pub fn load(name_or_path: &str) -> Result<Scenario, String> {
    if let Some(b) = builtin(name_or_path) {
        let file = format!("scenarios/specs/{}.toml", b.name);
        let mut scenario = Scenario::from_toml_str(b.toml, &file).map_err(|e| e.to_string())?;
        scenario.name.get_or_insert_with(|| b.name.to_string());
        return Ok(scenario);
    }
    let path = std::path::Path::new(name_or_path);
    if !path.exists() {
        let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
        return Err(format!(
            "{}: no such scenario file, and not a built-in scenario (built-ins: {})",
            name_or_path,
            names.join(", ")
        ));
    }
    Scenario::from_toml_file(path).map_err(|e| e.to_string())
}

/// The file name and text a scenario was loaded from, for messages that
/// name a line.
pub fn source(name_or_path: &str) -> Option<(String, String)> {
    if let Some(b) = builtin(name_or_path) {
        return Some((
            format!("scenarios/specs/{}.toml", b.name),
            b.toml.to_string(),
        ));
    }
    let text = std::fs::read_to_string(name_or_path).ok()?;
    Some((name_or_path.to_string(), text))
}
