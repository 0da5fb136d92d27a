//! Faults: what the scenario's timeline does to the world.
//!
//! A fault is counted in `faults_fired` (by kind) only when it actually
//! changes something: healing a healthy network, pausing a paused node or
//! killing a dead one fires nothing. World::apply_fault decides that.

/// One fault, applied at a virtual time by [`crate::World::schedule_fault`].
///
/// What a fault hits: partitions and links act between machines, and so
/// do kill, restart, clock-jump, disk and memory-pressure (every process of
/// the machine feels them); crash, pause and resume act on one process.
/// Where a machine is meant, a node's name stands for the machine it runs on.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Traffic between machines in different groups stops (held, as TCP
    /// retransmits, until heal). Machines in no group keep all links;
    /// loopback traffic inside a machine is never cut.
    Partition { groups: Vec<Vec<String>> },
    /// Traffic from `from` to `to` stops; the other direction flows.
    PartitionOneWay { from: String, to: String },
    /// Removes every partition.
    Heal,
    /// Power loss of the machine `node` names (a machine or a node on it):
    /// every process on it dies (children silently), peers are not told,
    /// data in flight to them is lost, and every file reverts to its
    /// durable contents (disk.rs).
    Kill { node: String },
    /// Power loss during a write: as Kill, but the file of the machine's
    /// last non-durable append keeps a seeded whole-sector prefix of it.
    KillTorn { node: String },
    /// SIGKILL of one process (a node): the machine stays up, so the page
    /// cache and files survive, a running child runs on to its end (its exit
    /// reaches no one), and the kernel closes the process's connections.
    Crash { node: String },
    /// Power on the machine `node` names: every process on it starts anew
    /// (same config, new seed and pid) and finds the disk's current files.
    /// A machine with a process still running is power-cycled first.
    Restart { node: String },
    /// SIGSTOP of one process: inputs and timers queue; the kernel still accepts bytes.
    Pause { node: String },
    /// SIGCONT.
    Resume { node: String },
    /// SIGSTOP of every process of a machine, its applications (workload clients) included.
    PauseMachine { machine: String },
    /// SIGCONT of every process of a machine.
    ResumeMachine { machine: String },
    /// Changes the link from `from` to `to` (one direction; give both
    /// directions for a symmetric change).
    Link {
        from: String,
        to: String,
        latency_ms: Option<f64>,
        bandwidth_bytes_per_s: Option<u64>,
    },
    /// The machine's clock jumps by `jump_ms` (negative allowed): every
    /// process on it sees the jump.
    ClockJump { node: String, jump_ms: i64 },
    /// Slows (or restores) the machine's disk.
    Disk { node: String, fsync_latency_ms: f64 },
    /// Another process on the machine takes `bytes` of memory.
    MemoryPressure { node: String, bytes: u64 },
}

impl Fault {
    /// The kind name faults_fired counts under (the scenario's `fault` key).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition { .. } | Fault::PartitionOneWay { .. } => "partition",
            Fault::Heal => "heal",
            Fault::Kill { .. } | Fault::KillTorn { .. } => "kill",
            Fault::Crash { .. } => "crash",
            Fault::Restart { .. } => "restart",
            Fault::Pause { .. } | Fault::PauseMachine { .. } => "pause",
            Fault::Resume { .. } | Fault::ResumeMachine { .. } => "resume",
            Fault::Link { .. } => "link",
            Fault::ClockJump { .. } => "clock-jump",
            Fault::Disk { .. } => "disk",
            Fault::MemoryPressure { .. } => "memory-pressure",
        }
    }

    /// The node or machine the fault is about, for the event table ("*" for
    /// world-wide faults).
    pub fn subject(&self) -> &str {
        match self {
            Fault::Partition { .. } | Fault::Heal => "*",
            Fault::PartitionOneWay { from, .. } | Fault::Link { from, .. } => from,
            _ => self.node().expect("every other fault acts on one node"),
        }
    }

    /// The node (crash, pause, resume) or the machine, named by itself or
    /// by a node on it (the other single-target faults), a fault acts on.
    pub fn node(&self) -> Option<&str> {
        match self {
            Fault::Kill { node }
            | Fault::KillTorn { node }
            | Fault::Crash { node }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::PauseMachine { machine: node }
            | Fault::ResumeMachine { machine: node }
            | Fault::ClockJump { node, .. }
            | Fault::Disk { node, .. }
            | Fault::MemoryPressure { node, .. } => Some(node),
            Fault::Partition { .. }
            | Fault::PartitionOneWay { .. }
            | Fault::Link { .. }
            | Fault::Heal => None,
        }
    }

    /// Human-readable parameters for the event table and the trace.
    pub fn detail(&self) -> String {
        match self {
            Fault::Partition { groups } => {
                let parts: Vec<String> = groups
                    .iter()
                    .map(|g| format!("[{}]", g.join(",")))
                    .collect();
                parts.join(" ")
            }
            Fault::PartitionOneWay { from, to } => format!("{} -> {} (one way)", from, to),
            Fault::Heal
            | Fault::Kill { .. }
            | Fault::Crash { .. }
            | Fault::Restart { .. }
            | Fault::Pause { .. }
            | Fault::Resume { .. } => String::new(),
            Fault::PauseMachine { .. } | Fault::ResumeMachine { .. } => "machine".to_string(),
            Fault::KillTorn { .. } => "torn".to_string(),
            Fault::Link {
                from,
                to,
                latency_ms,
                bandwidth_bytes_per_s,
            } => {
                // Only what the fault sets, in the scenario file's own terms (never Rust's
                // Debug text such as "Some(200.0)").
                let mut text = format!("{} -> {}", from, to);
                if let Some(ms) = latency_ms {
                    text.push_str(&format!(" latency_ms={}", ms));
                }
                if let Some(bytes) = bandwidth_bytes_per_s {
                    text.push_str(&format!(" bandwidth_bytes_per_s={}", bytes));
                }
                text
            }
            Fault::ClockJump { jump_ms, .. } => format!("jump_ms={}", jump_ms),
            Fault::Disk {
                fsync_latency_ms, ..
            } => format!("fsync_latency_ms={}", fsync_latency_ms),
            Fault::MemoryPressure { bytes, .. } => format!("bytes={}", bytes),
        }
    }
}

// ---- applying faults ----

use crate::network::{PartitionRule, Who, NO_GROUP};
use crate::world::{Ev, World};

impl World {
    pub(crate) fn check_fault_names(&self, fault: &Fault) -> Result<(), String> {
        match fault {
            Fault::Partition { groups } => {
                for name in groups.iter().flatten() {
                    self.machine_index(name)?;
                }
                Ok(())
            }
            Fault::PartitionOneWay { from, to } | Fault::Link { from, to, .. } => {
                self.machine_index(from)?;
                self.machine_index(to).map(|_| ())
            }
            Fault::Heal => Ok(()),
            _ if Self::hits_one_process(fault) => self.host_index(fault.subject()).map(|_| ()),
            _ => self.machine_index(fault.subject()).map(|_| ()),
        }
    }

    /// Whether the fault acts on one process rather than on a machine.
    fn hits_one_process(fault: &Fault) -> bool {
        matches!(
            fault,
            Fault::Crash { .. } | Fault::Pause { .. } | Fault::Resume { .. }
        )
    }

    /// Applies a scheduled fault, counting it only if it changed something.
    pub(crate) fn apply_fault(&mut self, index: usize) {
        let now = self.now_us;
        let fault = self.faults[index].clone();
        let fired = match &fault {
            Fault::Partition { groups } => {
                let mut map = vec![NO_GROUP; self.machines.len()];
                for (group, names) in groups.iter().enumerate() {
                    for name in names {
                        map[self.machine_index(name).expect("checked at schedule")] = group as u32;
                    }
                }
                self.add_partition(PartitionRule::Groups(map))
            }
            Fault::PartitionOneWay { from, to } => {
                let (from, to) = (
                    self.machine_index(from).expect("checked"),
                    self.machine_index(to).expect("checked"),
                );
                self.add_partition(PartitionRule::OneWay { from, to })
            }
            Fault::Heal => {
                let any = !self.net.rules.is_empty();
                self.net.rules.clear();
                if any {
                    self.release_held();
                }
                any
            }
            Fault::Link {
                from,
                to,
                latency_ms,
                bandwidth_bytes_per_s,
            } => {
                let (from, to) = (
                    self.machine_index(from).expect("checked"),
                    self.machine_index(to).expect("checked"),
                );
                let latency_us = latency_ms.map(|ms| (ms * 1000.0).round().max(0.0) as u64);
                self.net
                    .set_link(from, to, latency_us, *bandwidth_bytes_per_s)
            }
            _ if Self::hits_one_process(&fault) => self.apply_process_fault(&fault),
            _ => self.apply_machine_fault(&fault),
        };
        if fired {
            *self
                .faults_fired
                .entry(fault.kind().to_string())
                .or_default() += 1;
        }
        let mut detail = fault.detail();
        if !fired {
            detail.push_str(if detail.is_empty() {
                "(no effect)"
            } else {
                " (no effect)"
            });
        }
        let event = format!("fault:{}", fault.kind());
        self.trace.notable(now, fault.subject(), &event, detail);
        if let (true, Fault::MemoryPressure { node, .. }) = (fired, &fault) {
            // After the fault's event, so a swap or kill it causes follows it.
            self.machine_memory_check(self.machine_index(node).expect("checked at schedule"));
        }
    }

    fn add_partition(&mut self, rule: PartitionRule) -> bool {
        let count = self.machines.len();
        let mut changes = false;
        for a in 0..count {
            for b in 0..count {
                if a != b && !self.net.blocked(a, b) && rule_blocks(&rule, a, b) {
                    changes = true;
                }
            }
        }
        if changes {
            self.net.rules.push(rule);
        }
        changes
    }

    /// Crash, pause, resume: one process.
    fn apply_process_fault(&mut self, fault: &Fault) -> bool {
        let h = self
            .host_index(fault.subject())
            .expect("checked at schedule");
        let up = self.hosts[h].is_up();
        match fault {
            Fault::Crash { .. } => self.crash_host(h),
            Fault::Pause { .. } => {
                let fires = up && !self.hosts[h].paused;
                self.hosts[h].paused |= fires;
                fires
            }
            Fault::Resume { .. } => {
                let fires = self.hosts[h].paused;
                self.hosts[h].paused = false;
                self.host_run(h);
                fires
            }
            _ => unreachable!("not a process fault"),
        }
    }

    /// Kill, restart, clock jump, disk, memory pressure: a machine and every process on it.
    fn apply_machine_fault(&mut self, fault: &Fault) -> bool {
        let m = self
            .machine_index(fault.subject())
            .expect("checked at schedule");
        let procs = self.procs_on(m);
        match fault {
            Fault::Kill { .. } | Fault::KillTorn { .. } => {
                // Power lost before the seeded boot: the processes never start.
                let unbooted = procs.iter().any(|&h| !self.hosts[h].booted);
                let fires = self.power_loss(m, matches!(fault, Fault::KillTorn { .. })) || unbooted;
                for &h in &procs {
                    self.hosts[h].booted = true;
                }
                fires
            }
            Fault::Restart { node } => {
                // A crashed process on a machine that is still up starts
                // again alone, as its service manager would start it; the
                // machine's other processes keep running.
                let alone = self.host_index(node).ok().filter(|&h| {
                    !self.hosts[h].is_up() && procs.iter().any(|&p| self.hosts[p].is_up())
                });
                if let Some(h) = alone {
                    self.restart_host(h);
                    return true;
                }
                let apps_up = self
                    .clients
                    .iter()
                    .any(|c| self.workloads[c.workload].machine == m && !c.app.down);
                if apps_up || procs.iter().any(|&h| self.hosts[h].is_up()) {
                    self.power_loss(m, false);
                }
                for &h in &procs {
                    self.restart_host(h);
                }
                self.restart_clients_on(m);
                true
            }
            Fault::PauseMachine { .. } | Fault::ResumeMachine { .. } => {
                let pause = matches!(fault, Fault::PauseMachine { .. });
                let mut fires = false;
                for &h in &procs {
                    let host = &mut self.hosts[h];
                    if pause && host.is_up() && !host.paused {
                        host.paused = true;
                        fires = true;
                    } else if !pause && host.paused {
                        host.paused = false;
                        fires = true;
                        self.host_run(h);
                    }
                }
                fires | self.pause_clients_on(m, pause)
            }
            Fault::ClockJump { jump_ms, .. } => {
                for &h in &procs {
                    self.hosts[h].clock.offset_us += jump_ms * 1000;
                    if let Some(engine) = self.hosts[h].engine.as_mut() {
                        engine.wall_clock_jumped(jump_ms * 1000);
                    }
                    if self.hosts[h].is_up() {
                        // The engine's deadline is in node time: it moved in virtual time.
                        self.hosts[h].timer_at_us = None;
                        self.refresh_timer(h);
                    }
                }
                *jump_ms != 0
            }
            Fault::Disk {
                fsync_latency_ms, ..
            } => {
                let state = &mut self.machines[m].state;
                let changed = state.fsync_latency_ms != *fsync_latency_ms;
                state.fsync_latency_ms = *fsync_latency_ms;
                changed
            }
            Fault::MemoryPressure { bytes, .. } => {
                // `bytes` is what the other process holds from now on (0 frees it).
                let state = &mut self.machines[m].state;
                let changed = state.memory_pressure_bytes != *bytes;
                state.memory_pressure_bytes = *bytes;
                changed
            }
            _ => unreachable!("not a machine fault"),
        }
    }

    /// The process vanishes as at a power loss (World::power_loss also
    /// reverts the disk). Peers are not told. Data in flight to the node is lost;
    /// its senders are remembered, since their retransmissions will meet
    /// the restarted kernel's RST.
    pub(crate) fn kill_host(&mut self, h: usize) {
        let conns: Vec<u64> = self.hosts[h].conns.values().copied().collect();
        for id in conns {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            let mine = if matches!(c.ends[0].who, Who::Node { host, .. } if host == h) {
                0
            } else {
                1
            };
            if mine == 0 && !c.established {
                // A connect in progress dies with its process.
                self.conns.remove(&id);
                continue;
            }
            let inbound = &mut c.streams[1 - mine];
            if !inbound.segments.is_empty() {
                inbound.segments.clear();
                self.hosts[h].unacked_peers.push(id);
            }
        }
        let conns = &self.conns;
        self.pending_connects.retain(|id| conns.contains_key(id));
        self.hosts[h].kill();
    }

    pub(crate) fn restart_host(&mut self, h: usize) {
        let now = self.now_us;
        self.start_host(h);
        for id in std::mem::take(&mut self.hosts[h].unacked_peers) {
            let Some(c) = self.conns.get(&id) else {
                continue;
            };
            let live = if matches!(c.ends[0].who, Who::Node { host, .. } if host == h) {
                1
            } else {
                0
            };
            let (a, b) = (c.ends[live].machine, c.ends[1 - live].machine);
            let rtt_us = self.net.packet_delay_us(a, b) + self.net.packet_delay_us(b, a);
            self.schedule(
                now + rtt_us,
                Ev::Reset {
                    conn: id,
                    end: live as u8,
                },
            );
        }
    }
}

fn rule_blocks(rule: &PartitionRule, from: usize, to: usize) -> bool {
    rule.blocks(from, to)
}

#[cfg(test)]
mod tests {
    use super::Fault;

    #[test]
    fn link_detail_names_only_what_it_sets_without_debug_text() {
        let link = |latency_ms, bandwidth_bytes_per_s| Fault::Link {
            from: "m1".into(),
            to: "r1".into(),
            latency_ms,
            bandwidth_bytes_per_s,
        };
        assert_eq!(link(Some(200.0), None).detail(), "m1 -> r1 latency_ms=200");
        assert_eq!(
            link(Some(0.5), Some(1_000_000)).detail(),
            "m1 -> r1 latency_ms=0.5 bandwidth_bytes_per_s=1000000"
        );
        assert_eq!(link(None, None).detail(), "m1 -> r1");
    }
}
