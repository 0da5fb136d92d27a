//! Checkers: properties of a whole run, judged from the history and the final state of the
//! nodes once the run is over.
//!
//! A checker reads the engines' public state (never through a command, so checking leaves the
//! trace and its hash untouched) and the history the clients recorded.

pub mod acked_writes;
pub mod linearizable;

pub use acked_writes::{AckedWritesResult, FinalState, FinalValue, LostWrite, NotEvaluated};
pub use linearizable::{check_linearizable, KeyVerdict, LinearizabilityReport, WitnessOp};

use redsim_engine::object::Value;

use crate::world::World;

impl World {
    /// Runs the acknowledged-writes checker against the final state of every workload's target.
    pub fn check_acked_writes(&self) -> AckedWritesResult {
        let targets: Vec<String> = self
            .workloads
            .iter()
            .map(|w| self.hosts[w.target_host].name.clone())
            .collect();
        acked_writes::check(&self.history, &targets, &EngineState { world: self })
    }
}

pub const DOWN: &str = "down at the end of the run";
pub const LOADING: &str = "loading its dataset at the end of the run";

/// The world's engines as a [`FinalState`].
struct EngineState<'a> {
    world: &'a World,
}

impl FinalState for EngineState<'_> {
    fn unavailable(&self, node: &str) -> Option<&'static str> {
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
