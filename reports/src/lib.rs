//! Reports: the report model (the JSON contract), its JSON form, the terminal summary and the
//! self-contained HTML page.
//!
//! Architecture Invariant: this crate knows only the report model; it never imports engine,
//! sim or scenario types, so a report can be read by any tool from its JSON alone.

pub mod charts;
pub mod html;
pub mod json;
pub mod model;
pub mod summary;
pub mod timeline;
pub mod workload_charts;

pub use html::to_html;
pub use json::{from_json, to_json_pretty};
pub use model::{
    info_fields, info_value, Event, ExpectationResult, History, Latency, LostWrite, MachineReport,
    NodeReport, NotEvaluated, Report, Series, WorkloadSeries,
};
pub use summary::summary;
