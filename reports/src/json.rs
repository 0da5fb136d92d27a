//! The report's JSON form, the contract external tools read.

use crate::model::Report;

/// Pretty JSON with a trailing newline; field order is the model's, so the bytes are stable.
pub fn to_json_pretty(report: &Report) -> String {
    // Every field of Report is a string, number, bool, map with string keys or JSON value, so
    // serialization cannot fail.
    let mut text = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"{}\"}}", e));
    text.push('\n');
    text
}

/// Reads a report back (for `redsim replay`). Unknown extra fields are accepted so reports from
/// newer versions still load.
pub fn from_json(text: &str) -> Result<Report, serde_json::Error> {
    serde_json::from_str(text)
}
