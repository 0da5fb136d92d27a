//! Scenarios.

pub mod builder;
pub mod expect;
pub mod spec;
pub mod units;
