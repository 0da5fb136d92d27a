//! Node clocks: every node reads unix microseconds derived from virtual time.
//!
//! Virtual time starts at 0 when the run starts. A node's clock is the start
//! epoch (2024-01-01T00:00:00Z) plus a seeded sub-second phase shared by all
//! nodes, plus a per-node offset that the clock-jump fault changes.

/// 2024-01-01T00:00:00Z in unix microseconds.
pub const START_EPOCH_US: u64 = 1_704_067_200_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeClock {
    /// Unix microseconds at virtual time 0 (epoch plus phase).
    pub base_us: u64,
    /// What clock jumps have added, in microseconds (negative allowed).
    pub offset_us: i64,
}

impl NodeClock {
    pub fn new(phase_us: u64) -> NodeClock {
        assert!(phase_us < 1_000_000);
        NodeClock {
            base_us: START_EPOCH_US + phase_us,
            offset_us: 0,
        }
    }

    /// The node's clock reading at a virtual time.
    pub fn node_us(&self, virtual_us: u64) -> u64 {
        let t = self.base_us as i128 + virtual_us as i128 + self.offset_us as i128;
        t.max(0) as u64
    }

    /// The time a node's log line is stamped with: the start epoch plus virtual time plus the
    /// clock jumps, without the seeded sub-second phase, so that "00:00:10.250" in a log is
    /// t_ms 10250 in the report (unless a clock-jump fault moved the node's clock).
    ///
    /// Rationale: the phase stays in the node's clock (cron's whole-second ticks keep their
    /// spread), but a log that reads 400 ms off the report's time axis misleads whoever lines
    /// the two up.
    pub fn log_us(&self, virtual_us: u64) -> u64 {
        let t = START_EPOCH_US as i128 + virtual_us as i128 + self.offset_us as i128;
        t.max(0) as u64
    }

    /// The virtual time at which the node's clock reads `node_us` (0 if that
    /// reading lies before the run started).
    pub fn to_virtual(&self, node_us: u64) -> u64 {
        let t = node_us as i128 - self.base_us as i128 - self.offset_us as i128;
        t.max(0).min(u64::MAX as i128) as u64
    }
}

/// Formats a unix time as Redis's log does: "01 Jan 2024 00:00:00.123" (UTC).
pub use redsim_engine::util::log_time as format_log_time;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_time_matches_calendar() {
        assert_eq!(format_log_time(START_EPOCH_US), "01 Jan 2024 00:00:00.000");
        assert_eq!(
            format_log_time(START_EPOCH_US + 59 * 86_400_000_000 + 3_723_456_000),
            "29 Feb 2024 01:02:03.456"
        );
    }

    #[test]
    fn offset_round_trips() {
        let mut c = NodeClock::new(250_000);
        c.offset_us = -5_000_000;
        assert_eq!(c.to_virtual(c.node_us(10_000_000)), 10_000_000);
        assert_eq!(c.to_virtual(0), 0);
    }
}
