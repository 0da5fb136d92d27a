//! Scenarios.

pub mod serve;
