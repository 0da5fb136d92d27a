//! The trace: every world event, hashed as it happens, plus the notable ones.
//!
//! Each event becomes one canonical line "<t_us> <node> <kind> <detail>\n"
//! that is fed to a running SHA-256 and then forgotten, so a long run costs
//! no memory for its trace. The line is formatted into one reused buffer.
//! Notable events (faults, admin commands, engine Events, engine logs at
//! Notice or above) are kept as structs for the report and for snapshots.

use std::fmt::Write as _;
use std::io::Write as _;

use redsim_engine::{LogLevel, LogLine};
use sha2::{Digest, Sha256};

use crate::clock::format_log_time;

/// One event worth showing to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotableEvent {
    pub t_us: u64,
    pub node: String,
    pub event: String,
    pub detail: String,
}

pub struct Trace {
    hasher: Sha256,
    line: Vec<u8>,
    line_count: u64,
    notable: Vec<NotableEvent>,
    /// Every line, when asked for (debugging a divergence, white-box tests).
    kept_lines: Option<Vec<String>>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            hasher: Sha256::new(),
            line: Vec::with_capacity(256),
            line_count: 0,
            notable: Vec::new(),
            kept_lines: None,
        }
    }
}

impl Trace {
    /// Hashes one canonical line. `detail` is formatted without allocating.
    pub fn record(&mut self, t_us: u64, node: &str, kind: &str, detail: std::fmt::Arguments<'_>) {
        self.line.clear();
        // Writing into a Vec<u8> cannot fail.
        let _ = writeln!(self.line, "{} {} {} {}", t_us, node, kind, detail);
        self.finish_line();
    }

    /// The hot-path form of [`Trace::record`]: the detail is an optional
    /// word followed by "name=value" integers, formatted without core::fmt
    /// (the same text record() would produce).
    pub fn record_fields(
        &mut self,
        t_us: u64,
        node: &str,
        kind: &str,
        word: &str,
        fields: &[(&str, u64)],
    ) {
        self.line.clear();
        push_u64(&mut self.line, t_us);
        for part in [node, kind] {
            self.line.push(b' ');
            self.line.extend_from_slice(part.as_bytes());
        }
        self.line.push(b' ');
        self.line.extend_from_slice(word.as_bytes());
        for (index, (name, value)) in fields.iter().enumerate() {
            if index > 0 || !word.is_empty() {
                self.line.push(b' ');
            }
            self.line.extend_from_slice(name.as_bytes());
            self.line.push(b'=');
            push_u64(&mut self.line, *value);
        }
        self.line.push(b'\n');
        self.finish_line();
    }

    fn finish_line(&mut self) {
        self.hasher.update(&self.line);
        self.line_count += 1;
        if let Some(lines) = self.kept_lines.as_mut() {
            lines.push(String::from_utf8_lossy(&self.line[..self.line.len() - 1]).into_owned());
        }
    }

    /// Starts keeping every line from now on.
    pub fn keep_lines(&mut self) {
        self.kept_lines.get_or_insert_with(Vec::new);
    }

    pub fn kept_lines(&self) -> &[String] {
        self.kept_lines.as_deref().unwrap_or(&[])
    }

    /// Hashes the line and keeps the event for the report.
    pub fn notable(&mut self, t_us: u64, node: &str, event: &str, detail: String) {
        self.record(t_us, node, event, format_args!("{}", detail));
        self.notable.push(NotableEvent {
            t_us,
            node: node.to_string(),
            event: event.to_string(),
            detail,
        });
    }

    /// Keeps an event for the report whose line was already hashed.
    pub fn keep(&mut self, t_us: u64, node: &str, event: &str, detail: String) {
        self.notable.push(NotableEvent {
            t_us,
            node: node.to_string(),
            event: event.to_string(),
            detail,
        });
    }

    pub fn line_count(&self) -> u64 {
        self.line_count
    }

    pub fn notable_events(&self) -> &[NotableEvent] {
        &self.notable
    }

    /// The hex SHA-256 of every line so far (the run's trace_hash).
    pub fn hash_hex(&self) -> String {
        let digest = self.hasher.clone().finalize();
        let mut hex = String::with_capacity(64);
        for b in digest.iter() {
            let _ = write!(hex, "{:02x}", b);
        }
        hex
    }

    /// One line per notable event: "<t_ms>.<µs> <node> <event> <detail>",
    /// the compact form snapshot tests compare.
    pub fn snapshot(&self) -> String {
        let mut out = String::new();
        for e in &self.notable {
            let _ = writeln!(
                out,
                "{}.{:03} {} {} {}",
                e.t_us / 1000,
                e.t_us % 1000,
                e.node,
                e.event,
                e.detail
            );
        }
        out
    }
}

/// Appends the decimal digits of `n`.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Formats an engine log line the way Redis writes it:
/// "<pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <marker> <message>".
pub fn format_redis_log(pid: u32, node_clock_us: u64, line: &LogLine) -> String {
    format!(
        "{}:{} {} {} {}",
        pid,
        line.role,
        format_log_time(node_clock_us),
        line.level.marker(),
        line.message
    )
}

/// Emits a formatted log line through `tracing` so a subscriber set up by
/// the CLI can print it; target "redsim::log".
pub fn emit_log(node: &str, level: LogLevel, text: &str) {
    match level {
        LogLevel::Warning => tracing::warn!(target: "redsim::log", node, "{}", text),
        LogLevel::Notice => tracing::info!(target: "redsim::log", node, "{}", text),
        LogLevel::Verbose => tracing::debug!(target: "redsim::log", node, "{}", text),
        LogLevel::Debug => tracing::trace!(target: "redsim::log", node, "{}", text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fields_matches_record() {
        let mut a = Trace::default();
        let mut b = Trace::default();
        a.keep_lines();
        b.keep_lines();
        a.record(1_000_007, "m1", "step", format_args!("data cpu_us={}", 0));
        b.record_fields(1_000_007, "m1", "step", "data", &[("cpu_us", 0)]);
        a.record(
            0,
            "client#1",
            "recv",
            format_args!("conn={} bytes={}", 12, 18_446_744_073_709_551_615u64),
        );
        b.record_fields(
            0,
            "client#1",
            "recv",
            "",
            &[("conn", 12), ("bytes", u64::MAX)],
        );
        assert_eq!(a.kept_lines(), b.kept_lines());
        assert_eq!(a.hash_hex(), b.hash_hex());
    }
}
