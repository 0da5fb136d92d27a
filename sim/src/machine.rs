//! Machines: the hardware a node or a client runs on.
//!
//! The spec is stored and reported now; memory, disk and fork effects come
//! with the memory and persistence models.

/// The hardware of one machine, as the scenario's `[machine]` table gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineSpec {
    pub cores: u32,
    pub memory_bytes: u64,
    pub swap_bytes: u64,
    /// Transparent huge pages: "always" when true, "never" when false.
    pub thp: bool,
    pub disk_bandwidth_bytes_per_s: u64,
    pub fsync_latency_ms: f64,
    pub fork_ms_per_gb: f64,
    pub swap_in_latency_us: u64,
}

impl Default for MachineSpec {
    fn default() -> Self {
        MachineSpec {
            cores: 2,
            memory_bytes: 4 << 30,
            swap_bytes: 0,
            thp: false,
            disk_bandwidth_bytes_per_s: 200 << 20,
            fsync_latency_ms: 2.0,
            fork_ms_per_gb: 10.0,
            swap_in_latency_us: 100,
        }
    }
}

/// What faults have changed on a machine, and what it has measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MachineState {
    /// The current fsync latency (the disk fault changes it).
    pub fsync_latency_ms: f64,
    /// Memory taken by "another process" (the memory-pressure fault).
    pub memory_pressure_bytes: u64,
    pub rss_bytes_max: u64,
    pub swap_bytes_max: u64,
    pub oom_kills: u64,
}

/// Per-node machine figures for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineStats {
    pub memory_bytes: u64,
    pub rss_bytes_max: u64,
    pub swap_bytes_max: u64,
    pub oom_kills: u64,
}

/// A machine of the world: a node's or a client machine.
#[derive(Debug, Clone)]
pub struct Machine {
    pub name: String,
    /// "10.0.0.N", N = index + 1.
    pub ip: String,
    pub spec: MachineSpec,
    pub state: MachineState,
}
