//! Machines: the hardware a node or a client runs on, and its memory.
//!
//! Memory model (the kernel's view, checked after every step of a node's
//! process, after a fork or a child's exit, and after the memory-pressure
//! fault):
//! - In use = the main process's resident pages + its child's private pages
//!   (copy-on-write copies) + the memory-pressure fault's bytes ("another
//!   process", active and not swappable). The page cache is not counted:
//!   clean cache is reclaimed first, so it never pushes a process out.
//! - Over RAM with swap space left: the excess of the process with the
//!   largest RSS (the main process; only it can give pages back through
//!   `Engine::swap_out`) goes to swap, written through the machine's disk.
//! - Whatever cannot be swapped: the OOM killer kills the process with the
//!   largest badness (resident + swapped pages, plus oom_score_adj x total
//!   pages / 1000, as Linux's oom_badness; ties go to the later process,
//!   the child). The pressure process is never chosen: the fault stands for
//!   memory the node cannot win back.
//! - The node's process killed = SIGKILL: the machine stays up. The child
//!   killed = the parent sees the child exit by signal 9; its memory is
//!   free at once, before the parent reaps it.
//! - Simplifications: a child's pages never swap; the child of a killed
//!   parent (it runs on to its end) is not counted; RSS is measured after
//!   the kernel made room, so it never exceeds what RAM could hold.

use redsim_engine::MemoryStats;

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
    /// The highest main-process RSS seen after a step.
    pub rss_bytes_max: u64,
    /// The most swap in use at once.
    pub swap_bytes_max: u64,
    pub oom_kills: u64,
    pub memory: MemoryState,
}

/// The machine's memory after the last check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryState {
    /// The node's process, as last measured (zeros while it is down).
    pub process: MemoryStats,
    /// Swap in use now (only the main process swaps).
    pub swap_used_bytes: u64,
    /// Every byte ever written to swap (it went through the disk queue).
    pub swap_out_total_bytes: u64,
    /// Swap-outs so far.
    pub swap_outs: u64,
    /// The child the engine runs, with its RSS at fork time: it maps every
    /// page the parent had, so that is its share in oom_badness.
    pub child: Option<ChildMemory>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChildMemory {
    pub pid: u32,
    /// Resident + swapped bytes of the parent when the child was first seen.
    pub fork_bytes: u64,
    /// The OOM killer took it; its memory is free although the parent has
    /// not reaped it yet.
    pub killed: bool,
}

impl MemoryState {
    /// Bytes of RAM in use on the machine: both processes and the pressure.
    pub fn in_use_bytes(&self, pressure_bytes: u64) -> u64 {
        self.process.rss_bytes + self.process.child_private_bytes + pressure_bytes
    }
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

/// A process whose memory the machine accounts: the engine, or a fake in
/// tests of the policy.
pub trait ProcessMemory {
    fn memory_stats(&self) -> MemoryStats;
    /// Moves up to `bytes` of resident pages to swap; returns the bytes moved.
    fn swap_out(&mut self, bytes: u64) -> u64;
    /// The running child's pid (the parent's view), if any.
    fn child_pid(&self) -> Option<u32>;
    /// The pid the kernel knows the main process by.
    fn pid(&self) -> u32;
    /// oom_score_adj of the main process and of a child.
    fn oom_score_adj(&self) -> OomScoreAdj;
}

/// oom_score_adj values as Redis sets them (oom-score-adj, oom-score-adj-values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OomScoreAdj {
    pub main: i32,
    pub child: i32,
}

impl OomScoreAdj {
    /// setOOMScoreAdj: with `oom-score-adj no` (the default) Redis leaves
    /// the inherited value (0 here). Otherwise the main process takes the
    /// master or replica value and a child the bgchild one, added to the
    /// inherited 0 (relative, yes) or as they are (absolute), clamped to
    /// [-1000, 1000].
    pub fn from_config(mode: &str, values: &str, replica: bool) -> OomScoreAdj {
        if mode == "no" {
            return OomScoreAdj::default();
        }
        let v: Vec<i32> = values
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let pick = |i: usize| v.get(i).copied().unwrap_or(0).clamp(-1000, 1000);
        OomScoreAdj {
            main: pick(if replica { 1 } else { 0 }),
            child: pick(2),
        }
    }
}

impl ProcessMemory for redsim_engine::Engine {
    fn memory_stats(&self) -> MemoryStats {
        redsim_engine::Engine::memory_stats(self)
    }
    fn swap_out(&mut self, bytes: u64) -> u64 {
        redsim_engine::Engine::swap_out(self, bytes)
    }
    fn child_pid(&self) -> Option<u32> {
        self.server().child.as_ref().map(|c| c.pid)
    }
    fn pid(&self) -> u32 {
        self.server().options.pid
    }
    fn oom_score_adj(&self) -> OomScoreAdj {
        let srv = self.server();
        let mode = srv
            .config
            .get("oom-score-adj")
            .unwrap_or_else(|| "no".into());
        let values = srv.config.get("oom-score-adj-values").unwrap_or_default();
        OomScoreAdj::from_config(&mode, &values, srv.repl.master.is_some())
    }
}

/// Which process the OOM killer picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomVictim {
    Main,
    Child,
}

/// The kernel's decision, with the figures for its log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomKill {
    pub victim: OomVictim,
    pub pid: u32,
    pub anon_rss_bytes: u64,
    pub swap_bytes: u64,
    pub oom_score_adj: i32,
}

impl OomKill {
    /// The kernel's line (mm/oom_kill.c, __oom_kill_process). Every page is
    /// anonymous here, so total-vm is resident + swapped and pgtables are
    /// 8 bytes per 4 KiB page.
    pub fn kernel_line(&self) -> String {
        let kb = |b: u64| b / 1024;
        format!(
            "Out of memory: Killed process {} (redis-server) total-vm:{}kB, anon-rss:{}kB, file-rss:0kB, shmem-rss:0kB, UID:999 pgtables:{}kB oom_score_adj:{}",
            self.pid,
            kb(self.anon_rss_bytes + self.swap_bytes),
            kb(self.anon_rss_bytes),
            kb((self.anon_rss_bytes + self.swap_bytes) / 512),
            self.oom_score_adj
        )
    }
}

/// What one memory check did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryCheck {
    /// RAM in use after any swap-out (before an OOM kill takes effect).
    pub in_use_bytes: u64,
    /// Bytes moved to swap by this check.
    pub swapped_out: u64,
    pub oom: Option<OomKill>,
}

/// The kernel's memory check for a machine whose node runs `process`
/// (None while it is down): updates `state`'s figures, swaps out what it
/// can and picks an OOM victim for the rest. O(1) apart from the process's
/// own figures.
pub fn check_memory(
    spec: &MachineSpec,
    state: &mut MachineState,
    process: Option<&mut dyn ProcessMemory>,
) -> MemoryCheck {
    let Some(process) = process else {
        // A dead process's pages and swap slots are freed.
        state.memory.process = MemoryStats::default();
        state.memory.child = None;
        state.memory.swap_used_bytes = 0;
        return MemoryCheck {
            in_use_bytes: state.memory_pressure_bytes,
            ..MemoryCheck::default()
        };
    };
    let mut stats = process.memory_stats();
    note_child(&mut state.memory, process.child_pid(), &stats);
    if state.memory.child.is_some_and(|c| c.killed) {
        stats.child_private_bytes = 0;
    }
    let pressure = state.memory_pressure_bytes;
    let mut in_use = stats.rss_bytes + stats.child_private_bytes + pressure;
    let mut swapped_out = 0;
    if in_use > spec.memory_bytes {
        let room = spec.swap_bytes.saturating_sub(stats.swapped_bytes);
        let want = (in_use - spec.memory_bytes).min(room).min(stats.rss_bytes);
        if want > 0 {
            swapped_out = process.swap_out(want);
            if swapped_out > 0 {
                let child_private = stats.child_private_bytes;
                stats = process.memory_stats();
                stats.child_private_bytes = child_private;
                in_use = stats.rss_bytes + stats.child_private_bytes + pressure;
                state.memory.swap_outs += 1;
                state.memory.swap_out_total_bytes += swapped_out;
            }
        }
    }
    state.memory.process = stats;
    state.memory.swap_used_bytes = stats.swapped_bytes;
    state.rss_bytes_max = state.rss_bytes_max.max(stats.rss_bytes);
    state.swap_bytes_max = state.swap_bytes_max.max(stats.swapped_bytes);
    let oom = if in_use > spec.memory_bytes {
        pick_victim(spec, &state.memory, &*process)
    } else {
        None
    };
    MemoryCheck {
        in_use_bytes: in_use,
        swapped_out,
        oom,
    }
}

/// Remembers a newly seen child's size at fork, forgets an ended one.
fn note_child(memory: &mut MemoryState, pid: Option<u32>, stats: &MemoryStats) {
    memory.child = match (pid, memory.child) {
        (None, _) => None,
        (Some(pid), Some(known)) if known.pid == pid => Some(known),
        (Some(pid), _) => Some(ChildMemory {
            pid,
            fork_bytes: stats.rss_bytes + stats.swapped_bytes,
            killed: false,
        }),
    };
}

/// oom_badness over the node's processes, in bytes instead of pages.
fn pick_victim(
    spec: &MachineSpec,
    memory: &MemoryState,
    process: &dyn ProcessMemory,
) -> Option<OomKill> {
    let adj = process.oom_score_adj();
    let total = spec.memory_bytes + spec.swap_bytes;
    let badness = |bytes: u64, adj: i32| -> Option<i128> {
        // OOM_SCORE_ADJ_MIN: never killed.
        (adj > -1000).then(|| bytes as i128 + adj as i128 * total as i128 / 1000)
    };
    let stats = memory.process;
    let main = badness(stats.rss_bytes + stats.swapped_bytes, adj.main).map(|points| {
        let kill = OomKill {
            victim: OomVictim::Main,
            pid: process.pid(),
            anon_rss_bytes: stats.rss_bytes,
            swap_bytes: stats.swapped_bytes,
            oom_score_adj: adj.main,
        };
        (points, kill)
    });
    let child = memory.child.filter(|c| !c.killed).and_then(|c| {
        // The child maps the fork-time pages (shared or its private copies).
        let bytes = c.fork_bytes.max(stats.child_private_bytes);
        badness(bytes, adj.child).map(|points| {
            (
                points,
                OomKill {
                    victim: OomVictim::Child,
                    pid: c.pid,
                    anon_rss_bytes: bytes,
                    swap_bytes: 0,
                    oom_score_adj: adj.child,
                },
            )
        })
    });
    match (main, child) {
        // The task list holds the child after its parent; a later task with
        // equal points replaces the chosen one.
        (Some((m, main)), Some((c, child))) => Some(if c >= m { child } else { main }),
        (Some((_, kill)), None) | (None, Some((_, kill))) => Some(kill),
        (None, None) => None,
    }
}

// ---- the world's side: one call after each step ----

use crate::world::World;

impl World {
    /// The kernel's memory check for host h's machine: after every step of
    /// its process, and after the memory-pressure fault. Swap-outs go to the
    /// trace and the disk; an OOM kill is a notable event.
    pub(crate) fn machine_memory_check(&mut self, h: usize) {
        let m = self.hosts[h].machine;
        let machine = &mut self.machines[m];
        let process = self.hosts[h]
            .engine
            .as_mut()
            .map(|e| e as &mut dyn ProcessMemory);
        let check = check_memory(&machine.spec, &mut machine.state, process);
        if check.swapped_out > 0 {
            let now = self.now_us;
            let used = machine.state.memory.swap_used_bytes;
            let first = used == check.swapped_out;
            // kswapd writes the pages behind the other I/O; the process does not wait.
            let done_us = self.disk_io(m, check.swapped_out);
            let fields = [
                ("bytes", check.swapped_out),
                ("swap_used", used),
                ("done_us", done_us),
            ];
            self.trace
                .record_fields(now, &self.hosts[h].name, "swap-out", "", &fields);
            if first {
                let detail = format!(
                    "{} bytes of pid {} to swap (RAM {} bytes in use)",
                    check.swapped_out, self.hosts[h].pid, check.in_use_bytes
                );
                self.trace.notable(now, &self.hosts[h].name, "swap", detail);
            }
        }
        if let Some(kill) = check.oom {
            self.oom_kill(h, kill);
        }
    }

    fn oom_kill(&mut self, h: usize, kill: OomKill) {
        let now = self.now_us;
        let m = self.hosts[h].machine;
        self.machines[m].state.oom_kills += 1;
        self.trace
            .notable(now, &self.hosts[h].name, "oom-kill", kill.kernel_line());
        match kill.victim {
            OomVictim::Main => self.oom_kill_main(h),
            OomVictim::Child => self.oom_kill_child(h),
        }
    }

    /// SIGKILL of the node's process; the machine stays up (the kernel
    /// closes its sockets, its child runs on).
    fn oom_kill_main(&mut self, h: usize) {
        self.crash_host(h);
        self.machine_memory_check(h);
    }

    /// SIGKILL of the node's child; the parent sees it exit by signal 9
    /// when it reaps it. Its memory is free at once.
    fn oom_kill_child(&mut self, h: usize) {
        let m = self.hosts[h].machine;
        if let Some(child) = self.machines[m].state.memory.child.as_mut() {
            child.killed = true;
        }
        self.kill_child(h, 9);
    }
}
