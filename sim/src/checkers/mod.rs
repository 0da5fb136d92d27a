//! Checkers: properties of a whole run, judged from the history and the final state of the
//! nodes once the run is over.
//!
//! A checker reads the engines' public state (never through a command, so checking leaves the
//! trace and its hash untouched) and the history the clients recorded.

pub mod acked_writes;
pub mod convergence;
pub mod linearizable;

pub use acked_writes::{AckedWritesResult, FinalState, FinalValue, LostWrite, NotEvaluated};
pub use convergence::{dataset_digest, Convergence, ConvergenceTracker};
pub use linearizable::{check_linearizable, KeyVerdict, LinearizabilityReport, WitnessOp};

use std::collections::BTreeMap;

use redsim_engine::object::Value;

use crate::client::Workload;

use crate::world::World;

impl World {
    /// Runs the acknowledged-writes checker against the final state of every workload's target:
    /// a fixed target, or for a Sentinel-aware workload the node of its group that is master at
    /// the end.
    pub fn check_acked_writes(&self) -> AckedWritesResult {
        let mut ambiguous = BTreeMap::new();
        let targets: Vec<String> = self
            .workloads
            .iter()
            .map(|w| match self.final_master(w) {
                Ok(node) => node,
                Err(reason) => {
                    let name = format!(
                        "sentinel:{}",
                        w.spec.discovery.as_ref().expect("").master_name
                    );
                    ambiguous.insert(name.clone(), reason);
                    name
                }
            })
            .collect();
        let state = EngineState {
            world: self,
            ambiguous,
        };
        let mut result = acked_writes::check(&self.history, &targets, &state);
        // A lost write names the node that acknowledged it, which for a Sentinel-aware client
        // may be a master deposed since (for a fixed target it is the target itself).
        for lost in &mut result.lost {
            if let Some(host) = self.history.ops[lost.op].node {
                lost.node = self.hosts[host as usize].name.clone();
            }
        }
        result
    }

    /// The node whose final state judges workload `w`: its fixed target, or the one node of its
    /// Sentinel group that is up and master at the end (Err when none or several are: the
    /// checker says so rather than guess).
    fn final_master(&self, w: &Workload) -> Result<String, &'static str> {
        let Some(discovery) = &w.spec.discovery else {
            return Ok(self.hosts[w.target_host].name.clone());
        };
        let masters: Vec<&String> = discovery
            .group
            .iter()
            .filter(|n| {
                self.engine(n)
                    .is_some_and(|e| e.server().repl.master.is_none())
            })
            .collect();
        match masters.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(NO_MASTER),
            _ => Err(SEVERAL_MASTERS),
        }
    }
}

pub const NO_MASTER: &str = "no node of the group is master at the end of the run";
pub const SEVERAL_MASTERS: &str = "several nodes of the group claim master at the end of the run";

pub const DOWN: &str = "down at the end of the run";
pub const LOADING: &str = "loading its dataset at the end of the run";

/// The world's engines as a [`FinalState`].
struct EngineState<'a> {
    world: &'a World,
    /// Sentinel workloads without one master at the end, and why.
    ambiguous: BTreeMap<String, &'static str>,
}

impl FinalState for EngineState<'_> {
    fn unavailable(&self, node: &str) -> Option<&'static str> {
        if let Some(reason) = self.ambiguous.get(node) {
            return Some(reason);
        }
        match self.world.engine(node) {
            None => Some(DOWN),
            // A partly loaded dataset would make every key not loaded yet look lost.
            Some(engine) if engine.server().loading => Some(LOADING),
            Some(_) => None,
        }
    }

    fn value(&self, node: &str, key: &[u8]) -> FinalValue<'_> {
        let Some(engine) = self.world.engine(node) else {
            return FinalValue::Missing;
        };
        let srv = engine.server();
        // Workload clients never SELECT, so they write database 0.
        if srv.key_is_expired(0, key) {
            return FinalValue::Missing;
        }
        match srv.dbs[0].dict.get(key).map(|entry| &entry.value) {
            None => FinalValue::Missing,
            Some(Value::Str(s)) => FinalValue::Str(&s[..]),
            Some(Value::List(list)) => FinalValue::List(list.iter().map(|e| &e[..]).collect()),
            Some(other) => FinalValue::Other(other.type_name()),
        }
    }
}
