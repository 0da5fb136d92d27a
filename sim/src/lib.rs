//! The simulated world: machines, network, faults, clients, history, trace.
//!
//! [`World`] drives `redsim_engine::Engine` instances with a deterministic
//! discrete-event loop (world.rs). See world.rs for the invariants.

pub mod client;
pub mod clock;
pub mod faults;
pub mod history;
pub mod host;
pub mod machine;
pub mod network;
pub mod trace;
pub mod world;

pub use client::{Distribution, WorkloadKind, WorkloadSpec};
pub use faults::Fault;
pub use history::{History, HistorySummary, LatencyMs, Op, OpKind, Outcome};
pub use machine::{MachineSpec, MachineStats};
pub use network::LinkSpec;
pub use trace::NotableEvent;
pub use world::{NodeSpec, World, WorldSpec};
