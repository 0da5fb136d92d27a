//! Machines: the hardware processes and clients run on, and its memory.
//!
//! A machine runs any number of processes (hosts); they share its cores,
//! RAM and swap, disk and page cache, and clock.
//!
//! Memory model (the kernel's view, checked after every step of any of
//! the machine's processes, after a fork or a child's exit, and after the
//! memory-pressure fault):
//! - In use = every process's resident pages + each one's child's private
//!   pages (copy-on-write copies) + the memory-pressure fault's bytes
//!   ("another process", active and not swappable). The page cache is not
//!   counted: clean cache is reclaimed first, so it never pushes a process out.
//! - Over RAM with swap space left: the excess goes to swap from the
//!   processes with the largest RSS first (main processes; only they can
//!   give pages back through `Engine::swap_out`), written through the
//!   machine's disk.
//! - Whatever cannot be swapped: the OOM killer kills, among ALL the
//!   machine's processes and their children, the one with the largest
//!   badness (resident + swapped pages, plus oom_score_adj x total pages /
//!   1000, as Linux's oom_badness). Ties go to the later task in the list,
//!   which runs in node order with each child after its parent. The
//!   pressure process is never chosen: the fault stands for memory the
//!   nodes cannot win back.
//! - A process killed = SIGKILL: the machine stays up. A child killed = the
//!   parent sees the child exit by signal 9; its memory is free at once,
//!   before the parent reaps it.
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
    /// The most swap in use at once.
    pub swap_bytes_max: u64,
    pub oom_kills: u64,
    /// Swap in use now (every process's swapped pages).
    pub swap_used_bytes: u64,
    /// Every byte ever written to swap (it went through the disk queue).
    pub swap_out_total_bytes: u64,
    /// Swap-outs so far (one per process the kernel took pages from).
    pub swap_outs: u64,
}

/// One process's memory as the kernel last measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessMemoryState {
    /// Zeros while the process is down.
    pub stats: MemoryStats,
    /// The child the engine runs, with its RSS at fork time: it maps every
    /// page the parent had, so that is its share in oom_badness.
    pub child: Option<ChildMemory>,
    /// The highest RSS seen after a step.
    pub rss_bytes_max: u64,
}

/// A node's memory and its machine's swap, as [`crate::World::node_memory`] reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryState {
    /// The node's process, as last measured (zeros while it is down).
    pub process: MemoryStats,
    /// Swap in use now on the machine.
    pub swap_used_bytes: u64,
    /// Every byte the machine ever wrote to swap.
    pub swap_out_total_bytes: u64,
    /// The machine's swap-outs so far.
    pub swap_outs: u64,
    /// The node's child, if any.
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

/// Per-node machine figures for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MachineStats {
    pub memory_bytes: u64,
    /// The node's own process's highest RSS.
    pub rss_bytes_max: u64,
    pub swap_bytes_max: u64,
    pub oom_kills: u64,
}

/// A machine of the world: nodes' processes, workload clients, or both.
#[derive(Debug, Clone)]
pub struct Machine {
    pub name: String,
    /// "10.0.0.N", N = index + 1.
    pub ip: String,
    pub spec: MachineSpec,
    pub state: MachineState,
    /// The hosts (processes) that run here, in node order.
    pub procs: Vec<usize>,
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

/// Which process the OOM killer picked: a main process or a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomVictim {
    Main,
    Child,
}

/// The kernel's decision, with the figures for its log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomKill {
    /// Index of the victim (or its parent) in the processes checked.
    pub process: usize,
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
    /// Bytes moved to swap by this check, from every process.
    pub swapped_out: u64,
    /// (process index, bytes) for each process that gave pages to swap, in order.
    pub swapped_from: Vec<(usize, u64)>,
    pub oom: Option<OomKill>,
}

/// One live process of the machine, for the kernel's check: the process
/// and what the kernel remembers about it.
pub struct Resident<'a> {
    pub process: &'a mut dyn ProcessMemory,
    pub memory: &'a mut ProcessMemoryState,
}

/// The kernel's memory check for a machine whose live processes are
/// `procs` (in node order): updates the figures, swaps out what it can
/// and picks an OOM victim for the rest. O(processes) apart from the
/// processes' own figures.
pub fn check_memory(
    spec: &MachineSpec,
    state: &mut MachineState,
    procs: &mut [Resident<'_>],
) -> MemoryCheck {
    let mut stats: Vec<MemoryStats> = Vec::with_capacity(procs.len());
    for p in procs.iter_mut() {
        let mut s = p.process.memory_stats();
        note_child(p.memory, p.process.child_pid(), &s);
        if p.memory.child.is_some_and(|c| c.killed) {
            s.child_private_bytes = 0;
        }
        stats.push(s);
    }
    let pressure = state.memory_pressure_bytes;
    let in_use_of = |stats: &[MemoryStats]| {
        stats
            .iter()
            .map(|s| s.rss_bytes + s.child_private_bytes)
            .sum::<u64>()
            + pressure
    };
    let mut in_use = in_use_of(&stats);
    let mut swapped_from = Vec::new();
    if in_use > spec.memory_bytes {
        swapped_from = swap_out_largest(spec, state, procs, &mut stats, in_use - spec.memory_bytes);
        in_use = in_use_of(&stats);
    }
    for (p, s) in procs.iter_mut().zip(&stats) {
        p.memory.stats = *s;
        p.memory.rss_bytes_max = p.memory.rss_bytes_max.max(s.rss_bytes);
    }
    state.swap_used_bytes = stats.iter().map(|s| s.swapped_bytes).sum();
    state.swap_bytes_max = state.swap_bytes_max.max(state.swap_used_bytes);
    let oom = if in_use > spec.memory_bytes {
        pick_victim(spec, procs)
    } else {
        None
    };
    let swapped_out = swapped_from.iter().map(|(_, b)| b).sum();
    MemoryCheck {
        in_use_bytes: in_use,
        swapped_out,
        swapped_from,
        oom,
    }
}

/// Moves up to `excess` bytes to swap, from the process with the largest
/// RSS first (the earlier one on a tie), while swap space lasts.
fn swap_out_largest(
    spec: &MachineSpec,
    state: &mut MachineState,
    procs: &mut [Resident<'_>],
    stats: &mut [MemoryStats],
    excess: u64,
) -> Vec<(usize, u64)> {
    let mut order: Vec<usize> = (0..procs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(stats[i].rss_bytes));
    let mut left = excess;
    let mut moved_from = Vec::new();
    for i in order {
        let room = spec
            .swap_bytes
            .saturating_sub(stats.iter().map(|s| s.swapped_bytes).sum());
        let want = left.min(room).min(stats[i].rss_bytes);
        if want == 0 {
            continue;
        }
        let moved = procs[i].process.swap_out(want);
        if moved == 0 {
            continue;
        }
        let child_private = stats[i].child_private_bytes;
        stats[i] = procs[i].process.memory_stats();
        stats[i].child_private_bytes = child_private;
        state.swap_outs += 1;
        state.swap_out_total_bytes += moved;
        moved_from.push((i, moved));
        left = left.saturating_sub(moved);
        if left == 0 {
            break;
        }
    }
    moved_from
}

/// Remembers a newly seen child's size at fork, forgets an ended one.
fn note_child(memory: &mut ProcessMemoryState, pid: Option<u32>, stats: &MemoryStats) {
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

/// oom_badness over every process of the machine and their children, in bytes instead of pages.
fn pick_victim(spec: &MachineSpec, procs: &[Resident<'_>]) -> Option<OomKill> {
    let total = spec.memory_bytes + spec.swap_bytes;
    let badness = |bytes: u64, adj: i32| -> Option<i128> {
        // OOM_SCORE_ADJ_MIN: never killed.
        (adj > -1000).then(|| bytes as i128 + adj as i128 * total as i128 / 1000)
    };
    let mut chosen: Option<(i128, OomKill)> = None;
    let mut consider = |candidate: Option<(i128, OomKill)>| {
        // The task list holds each child after its parent; a later task with
        // equal points replaces the chosen one.
        if let Some((points, kill)) = candidate {
            if chosen.as_ref().is_none_or(|(best, _)| points >= *best) {
                chosen = Some((points, kill));
            }
        }
    };
    for (i, p) in procs.iter().enumerate() {
        let adj = p.process.oom_score_adj();
        let stats = p.memory.stats;
        consider(
            badness(stats.rss_bytes + stats.swapped_bytes, adj.main).map(|points| {
                let kill = OomKill {
                    process: i,
                    victim: OomVictim::Main,
                    pid: p.process.pid(),
                    anon_rss_bytes: stats.rss_bytes,
                    swap_bytes: stats.swapped_bytes,
                    oom_score_adj: adj.main,
                };
                (points, kill)
            }),
        );
        consider(p.memory.child.filter(|c| !c.killed).and_then(|c| {
            // The child maps the fork-time pages (shared or its private copies).
            let bytes = c.fork_bytes.max(stats.child_private_bytes);
            badness(bytes, adj.child).map(|points| {
                (
                    points,
                    OomKill {
                        process: i,
                        victim: OomVictim::Child,
                        pid: c.pid,
                        anon_rss_bytes: bytes,
                        swap_bytes: 0,
                        oom_score_adj: adj.child,
                    },
                )
            })
        }));
    }
    chosen.map(|(_, kill)| kill)
}

// ---- the world's side: one call after each step ----

use crate::world::World;

impl World {
    /// The kernel's memory check for machine m: after every step of any of
    /// its processes, and after the memory-pressure fault. Swap-outs go to
    /// the trace and the disk; an OOM kill is a notable event.
    pub(crate) fn machine_memory_check(&mut self, m: usize) {
        let mut live = Vec::with_capacity(self.machines[m].procs.len());
        for &h in &self.machines[m].procs {
            let host = &mut self.hosts[h];
            if host.is_up() {
                live.push(h);
            } else {
                // A dead process's pages and swap slots are freed.
                host.memory.stats = MemoryStats::default();
                host.memory.child = None;
            }
        }
        let machine = &mut self.machines[m];
        let mut residents: Vec<Resident<'_>> = if live.len() == 1 {
            let host = &mut self.hosts[live[0]];
            vec![Resident {
                process: host.engine.as_mut().expect("live"),
                memory: &mut host.memory,
            }]
        } else {
            // Several processes: borrow each once, in node order.
            self.hosts
                .iter_mut()
                .enumerate()
                .filter(|(h, _)| live.binary_search(h).is_ok())
                .map(|(_, host)| Resident {
                    process: host.engine.as_mut().expect("live"),
                    memory: &mut host.memory,
                })
                .collect()
        };
        let check = check_memory(&machine.spec, &mut machine.state, &mut residents);
        drop(residents);
        self.trace_swap_outs(m, &live, &check);
        if let Some(kill) = check.oom {
            self.oom_kill(m, live[kill.process], kill);
        }
    }

    fn trace_swap_outs(&mut self, m: usize, live: &[usize], check: &MemoryCheck) {
        if check.swapped_out == 0 {
            return;
        }
        let now = self.now_us;
        let used = self.machines[m].state.swap_used_bytes;
        let first = used == check.swapped_out;
        for &(i, bytes) in &check.swapped_from {
            let h = live[i];
            // kswapd writes the pages behind the other I/O; the process does not wait.
            let done_us = self.disk_io(m, bytes);
            let fields = [("bytes", bytes), ("swap_used", used), ("done_us", done_us)];
            self.trace
                .record_fields(now, &self.hosts[h].name, "swap-out", "", &fields);
        }
        if first {
            let h = live[check.swapped_from[0].0];
            let detail = format!(
                "{} bytes of pid {} to swap (RAM {} bytes in use)",
                check.swapped_out, self.hosts[h].pid, check.in_use_bytes
            );
            self.trace.notable(now, &self.hosts[h].name, "swap", detail);
        }
    }

    fn oom_kill(&mut self, m: usize, h: usize, kill: OomKill) {
        let now = self.now_us;
        self.machines[m].state.oom_kills += 1;
        self.trace
            .notable(now, &self.hosts[h].name, "oom-kill", kill.kernel_line());
        match kill.victim {
            OomVictim::Main => {
                // SIGKILL of the process; the machine stays up (the kernel
                // closes its sockets, its child runs on).
                self.crash_host(h);
                self.machine_memory_check(m);
            }
            OomVictim::Child => {
                // The parent sees the child exit by signal 9 when it reaps
                // it. Its memory is free at once.
                if let Some(child) = self.hosts[h].memory.child.as_mut() {
                    child.killed = true;
                }
                self.kill_child(h, 9);
            }
        }
    }
}
