//! Scenarios: the scenario model and its files, the registry of built-in
//! scenarios, the Rust builder, expectations, the runner that plays a
//! scenario in the simulated world, and the `redsim` command line.

pub mod builder;
pub mod cli;
pub mod expect;
pub mod grid;
pub mod history_file;
pub mod logging;
pub mod preload;
pub mod registry;
pub mod runner;
pub mod serve;
mod serve_disk;
pub mod spec;
pub mod sweep;
pub mod units;
