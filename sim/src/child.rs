//! Child processes: what a fork()ed BGSAVE, AOF rewrite or diskless sync
//! does on the node's machine.
//!
//! A WriteFile child alternates CPU work and writes: it serialises one
//! chunk (its share of cpu_us) and writes it into the page cache. With
//! incremental fsync it does what Redis 7.0's rioFileWrite does on Linux:
//! at every 4 MB boundary it starts the block's writeout
//! (sync_file_range WRITE, no cache flush) and waits for the previous
//! block's writeout to finish, so at most two blocks are in flight and the
//! child is bounded by the disk's bandwidth, shared with every other
//! writer. After the last chunk it fsyncs (the remaining dirty bytes plus
//! the fsync latency), renames, and exits 0. A Compute child only burns
//! its cpu_us.
//!
//! Cores: the runnable threads are the main loops of every process on the
//! machine (while they run a step) and every child in a CPU phase. When there are more than `cores`, each
//! runs at cores/runnable speed; the factor is taken when a step or a CPU
//! phase starts (deterministic and simple, not a fluid share).
//!
//! A power loss kills children silently. A crashed (SIGKILLed) parent's
//! child runs on to its end and its files land; its exit reaches no one.
//! ChildExit goes to the parent only if the parent is the same process
//! (incarnation) that forked it.

use redsim_engine::{ChildExitStatus, ChildJob, ForkRequest};

use crate::disk::After;
use crate::host::HostInput;
use crate::world::{Ev, World};

/// The signal Redis stops its own child with (killRDBChild, killAppendOnlyChild).
pub const SIGUSR1: i32 = 10;

/// rdb-save-incremental-fsync: REDIS_AUTOSYNC_BYTES.
pub const AUTOSYNC_BYTES: u64 = 4 << 20;
/// A child writes its file in chunks of this size.
pub const CHUNK_BYTES: u64 = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildPhase {
    /// Burning CPU until the ChildWake event; `cpu_us` and `bytes` are the chunk's.
    Cpu { cpu_us: u64, bytes: u64 },
    /// Waiting for the device (an fsync).
    Io,
    /// Waiting until the previous 4 MB block's writeout is done (a ChildWake).
    Wait,
}

#[derive(Debug, Clone)]
pub(crate) struct ChildProc {
    /// Unique per host, for stale events.
    pub id: u64,
    pub pid: u32,
    /// The parent process's incarnation.
    pub incarnation: u32,
    pub job: ChildJob,
    pub cpu_left_us: u64,
    pub written: u64,
    pub since_sync: u64,
    /// When the last 4 MB block's writeout completes.
    pub block_done_us: u64,
    pub final_synced: bool,
    pub phase: ChildPhase,
}

impl ChildProc {
    fn total_bytes(&self) -> u64 {
        match &self.job {
            ChildJob::WriteFile { bytes, .. } => bytes.len() as u64,
            ChildJob::Compute { .. } => 0,
        }
    }
}

impl World {
    /// Output::Fork: the child starts now.
    pub(crate) fn start_child(&mut self, h: usize, request: ForkRequest) {
        let now = self.now_us;
        let host = &mut self.hosts[h];
        // Redis runs one child at a time; the engine kills one before it
        // forgets it (Output::KillChild), so the process never has two.
        assert!(
            !host
                .children
                .iter()
                .any(|c| c.incarnation == host.incarnation),
            "{}: fork of pid {} while another child runs",
            host.name,
            request.pid
        );
        let id = host.next_child_id;
        host.next_child_id += 1;
        let cpu_us = match &request.job {
            ChildJob::WriteFile { cpu_us, .. } | ChildJob::Compute { cpu_us } => *cpu_us,
        };
        let what = match &request.job {
            ChildJob::WriteFile { file, bytes, .. } => {
                format!("write {} bytes={}", file, bytes.len())
            }
            ChildJob::Compute { .. } => "compute".to_string(),
        };
        self.trace.record(
            now,
            &host.name,
            "fork",
            format_args!("pid={} {} cpu_us={}", request.pid, what, cpu_us),
        );
        host.children.push(ChildProc {
            id,
            pid: request.pid,
            incarnation: host.incarnation,
            job: request.job,
            cpu_left_us: cpu_us,
            written: 0,
            since_sync: 0,
            block_done_us: 0,
            final_synced: false,
            phase: ChildPhase::Io,
        });
        self.child_advance(h, id);
    }

    fn child_index(&self, h: usize, id: u64) -> Option<usize> {
        self.hosts[h].children.iter().position(|c| c.id == id)
    }

    /// Starts the child's next phase: a CPU chunk, the final fsync, or exit.
    pub(crate) fn child_advance(&mut self, h: usize, id: u64) {
        let Some(i) = self.child_index(h, id) else {
            return;
        };
        let now = self.now_us;
        let child = &self.hosts[h].children[i];
        let total = child.total_bytes();
        if child.written < total || child.cpu_left_us > 0 {
            let bytes = (total - child.written).min(CHUNK_BYTES);
            let remaining = total - child.written;
            let cpu_us = if bytes == remaining {
                child.cpu_left_us
            } else {
                child.cpu_left_us * bytes / remaining
            };
            let m = self.hosts[h].machine;
            let (runnable, cores) = (
                self.runnable_threads(m) + 1,
                self.machines[m].spec.cores.max(1) as u64,
            );
            let wall_us = if runnable > cores {
                cpu_us * runnable / cores
            } else {
                cpu_us
            };
            self.hosts[h].children[i].phase = ChildPhase::Cpu { cpu_us, bytes };
            self.schedule(
                now + wall_us,
                Ev::ChildWake {
                    host: h as u32,
                    child: id,
                },
            );
            return;
        }
        match &child.job {
            ChildJob::WriteFile { file, .. } if !child.final_synced => {
                let file = file.clone();
                self.hosts[h].children[i].final_synced = true;
                self.child_fsync(h, i, &file);
            }
            _ => self.child_exit(h, i),
        }
    }

    /// Threads using a core now on machine m: every process's main loop
    /// that runs a step, and every child in a CPU phase.
    pub(crate) fn runnable_threads(&self, m: usize) -> u64 {
        let mut threads = 0;
        for &h in &self.machines[m].procs {
            let host = &self.hosts[h];
            threads += u64::from(host.is_up() && host.step_end_us > self.now_us);
            threads += host
                .children
                .iter()
                .filter(|c| matches!(c.phase, ChildPhase::Cpu { .. }))
                .count() as u64;
        }
        threads
    }

    /// The end of a CPU chunk (write it, maybe start its block's writeout)
    /// or of a wait for the previous block.
    pub(crate) fn child_wake(&mut self, h: usize, id: u64) {
        let Some(i) = self.child_index(h, id) else {
            return;
        };
        let now = self.now_us;
        let ChildPhase::Cpu { cpu_us, bytes } = self.hosts[h].children[i].phase else {
            if self.hosts[h].children[i].phase == ChildPhase::Wait {
                self.child_advance(h, id);
            }
            return;
        };
        self.hosts[h].child_cpu_used_us += cpu_us;
        let m = self.hosts[h].machine;
        let child = &mut self.hosts[h].children[i];
        child.phase = ChildPhase::Io;
        child.cpu_left_us -= cpu_us;
        let ChildJob::WriteFile {
            file,
            bytes: data,
            incremental_fsync,
            ..
        } = &child.job
        else {
            return self.child_advance(h, id);
        };
        let from = child.written as usize;
        self.disks[m].append(now, file, &data[from..from + bytes as usize]);
        child.written += bytes;
        child.since_sync += bytes;
        let block_done = *incremental_fsync && child.since_sync >= AUTOSYNC_BYTES;
        let file = file.clone();
        if block_done {
            let bandwidth = self.machines[m].spec.disk_bandwidth_bytes_per_s;
            let (io, done_us) = self.disks[m]
                .start_range_write(now, &file, bandwidth)
                .expect("the child just wrote the file");
            self.trace.record(
                now,
                &self.hosts[h].name,
                "sync-range",
                format_args!("{} done_us={}", file, done_us),
            );
            self.schedule(
                done_us,
                Ev::DiskDone {
                    machine: m as u32,
                    io,
                },
            );
            let child = &mut self.hosts[h].children[i];
            child.since_sync = 0;
            let wait_us = std::mem::replace(&mut child.block_done_us, done_us);
            if wait_us > now {
                child.phase = ChildPhase::Wait;
                self.schedule(
                    wait_us,
                    Ev::ChildWake {
                        host: h as u32,
                        child: id,
                    },
                );
                return;
            }
        }
        self.arm_flusher(m);
        self.child_advance(h, id);
    }

    fn child_fsync(&mut self, h: usize, i: usize, file: &str) {
        let id = self.hosts[h].children[i].id;
        self.hosts[h].children[i].phase = ChildPhase::Io;
        let (io, done_us, _) = self.start_fsync(h, file, After::Child { host: h, child: id });
        self.schedule(
            done_us,
            Ev::DiskDone {
                machine: self.hosts[h].machine as u32,
                io,
            },
        );
    }

    /// The job is done: rename, exit 0, tell the parent if it is alive.
    fn child_exit(&mut self, h: usize, i: usize) {
        let now = self.now_us;
        let child = self.hosts[h].children.remove(i);
        if let ChildJob::WriteFile {
            file,
            rename_to: Some(to),
            ..
        } = &child.job
        {
            self.disks[self.hosts[h].machine].rename(file, to);
        }
        let host = &mut self.hosts[h];
        let parent_alive = host.is_up() && host.incarnation == child.incarnation;
        let detail = format!(
            "pid={} status=ok{}",
            child.pid,
            if parent_alive { "" } else { " (parent gone)" }
        );
        self.trace
            .record(now, &host.name, "child-exit", format_args!("{}", detail));
        if parent_alive {
            host.push_input(
                now,
                HostInput::ChildExit {
                    pid: child.pid,
                    status: ChildExitStatus::Ok,
                },
            );
            self.host_run(h);
        }
    }

    /// Kills the node's current child with `signal` (the OOM killer sends
    /// 9); its parent gets ChildExit{Signal(signal)}. Returns whether a
    /// child was running. The child's partial file stays in the page cache.
    pub(crate) fn kill_child(&mut self, h: usize, signal: i32) -> bool {
        let Some(i) = self.hosts[h].children.len().checked_sub(1) else {
            return false;
        };
        self.kill_child_at(h, i, signal);
        true
    }

    /// Output::KillChild: the engine stops its child (SIGUSR1). Returns
    /// whether that child was still running.
    pub(crate) fn kill_child_pid(&mut self, h: usize, pid: u32, signal: i32) -> bool {
        let incarnation = self.hosts[h].incarnation;
        let Some(i) = self.hosts[h]
            .children
            .iter()
            .position(|c| c.pid == pid && c.incarnation == incarnation)
        else {
            return false;
        };
        self.kill_child_at(h, i, signal);
        true
    }

    fn kill_child_at(&mut self, h: usize, i: usize, signal: i32) {
        let now = self.now_us;
        let child = self.hosts[h].children.remove(i);
        let host = &mut self.hosts[h];
        let parent_alive = host.is_up() && host.incarnation == child.incarnation;
        self.trace.notable(
            now,
            &host.name,
            "child-killed",
            format!("pid={} signal={}", child.pid, signal),
        );
        if parent_alive {
            host.push_input(
                now,
                HostInput::ChildExit {
                    pid: child.pid,
                    status: ChildExitStatus::Signal(signal),
                },
            );
            self.host_run(h);
        }
    }

    /// Kills a node's current child with `signal`, as the OOM killer does;
    /// returns whether one was running. For tests and tools.
    pub fn signal_child(&mut self, node: &str, signal: i32) -> bool {
        self.host_index(node)
            .is_ok_and(|h| self.kill_child(h, signal))
    }

    /// Virtual CPU time a node's child processes have used, µs.
    pub fn node_child_cpu_used_us(&self, node: &str) -> u64 {
        self.host_index(node)
            .map_or(0, |h| self.hosts[h].child_cpu_used_us)
    }

    /// The pids of the child processes running on a node's machine.
    pub fn node_children(&self, node: &str) -> Vec<u32> {
        self.host_index(node).map_or(Vec::new(), |h| {
            self.hosts[h].children.iter().map(|c| c.pid).collect()
        })
    }
}
