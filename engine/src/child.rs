//! Child processes: fork() for BGSAVE, AOF rewrite and full sync, and
//! checkChildrenDone when the host reports the child's exit.
//!
//! Only one child runs at a time, as in Redis (hasActiveChildProcess). The
//! fork itself stalls the main loop for the page-table copy, in proportion
//! to RSS (the machine's fork_ms_per_gb), and is reported as
//! latest_fork_usec. The child's work is decided at fork time (it sees the
//! fork-time dataset); the host runs it on the machine's cores and disk and
//! answers with [`crate::Input::ChildExit`].

use crate::server::Server;
use crate::{ChildExitStatus, ChildJob, ForkRequest, Output};

/// What the child is for (CHILD_TYPE_RDB / CHILD_TYPE_AOF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// BGSAVE to disk, or an RDB for replicas (disk or sockets).
    Rdb,
    /// BGREWRITEAOF.
    AofRewrite,
}

#[derive(Debug, Clone)]
pub struct Child {
    pub pid: u32,
    pub kind: ChildKind,
    pub started_us: u64,
    /// SIGUSR1 sent (killRDBChild); its exit is still to be reaped.
    pub killed: bool,
}

/// Fork statistics (INFO stats: latest_fork_usec, total_forks).
#[derive(Debug, Clone, Default)]
pub struct ForkStats {
    pub latest_fork_usec: u64,
    pub total_forks: u64,
    pub next_pid_offset: u32,
}

/// redisFork: stalls the loop for the page-table copy, records the child and
/// asks the host to run `job`. Returns the child's pid. Callers check
/// [`has_active_child`] first (Redis's EEXIST): at most one child runs.
pub fn fork(srv: &mut Server, kind: ChildKind, job: ChildJob) -> u32 {
    fork_with(srv, kind, |_| job)
}

/// Like [`fork`], for jobs that name files after the child's pid
/// (temp-<pid>.rdb): `make_job` gets the pid.
pub fn fork_with(srv: &mut Server, kind: ChildKind, make_job: impl FnOnce(u32) -> ChildJob) -> u32 {
    // Every child the engine stops tracking was killed (Output::KillChild)
    // first, so this is also the host's view: one child at a time.
    assert!(
        srv.child.is_none(),
        "fork while child {:?} runs",
        srv.child.as_ref().map(|c| c.pid)
    );
    let rss = crate::memory::stats(srv).rss_bytes;
    let fork_us =
        (srv.options.machine.fork_ms_per_gb * 1000.0 * rss as f64 / (1u64 << 30) as f64) as u64;
    srv.cost.block_us(fork_us);
    srv.forks.latest_fork_usec = fork_us.max(1);
    srv.forks.total_forks += 1;
    srv.forks.next_pid_offset += 1;
    let pid = srv.options.pid + srv.forks.next_pid_offset;
    srv.child = Some(Child {
        pid,
        kind,
        started_us: srv.now_us,
        killed: false,
    });
    crate::memory::fork_started(srv);
    let job = make_job(pid);
    srv.outputs
        .push_back(Output::Fork(ForkRequest { pid, job }));
    pid
}

/// killRDBChild: SIGUSR1 to the RDB child. It stays the active child until
/// the host reports its exit, which checkChildrenDone handles like any
/// other (the "terminated by signal 10" log, the temp file removed).
pub fn kill_rdb_child(srv: &mut Server) {
    let Some(child) = srv.child.as_mut() else {
        return;
    };
    if child.kind != ChildKind::Rdb || child.killed {
        return;
    }
    child.killed = true;
    let pid = child.pid;
    srv.outputs.push_back(Output::KillChild { pid });
}

/// kill + waitpid, as killAppendOnlyChild does: the host stops the child
/// and the engine forgets it at once (its later exit report is ignored).
/// Returns the reaped child.
pub fn kill_and_reap(srv: &mut Server) -> Option<Child> {
    let child = srv.child.take()?;
    srv.outputs.push_back(Output::KillChild { pid: child.pid });
    crate::memory::child_ended(srv, child.kind);
    Some(child)
}

pub fn has_active_child(srv: &Server) -> bool {
    srv.child.is_some()
}

/// checkChildrenDone: the host says the child ended.
pub fn child_exited(srv: &mut Server, pid: u32, status: ChildExitStatus) {
    let Some(child) = srv.child.as_ref() else {
        return;
    };
    if child.pid != pid {
        return;
    }
    let child = srv.child.take().expect("checked");
    let cow_bytes = crate::memory::child_ended(srv, child.kind);
    match child.kind {
        ChildKind::Rdb => crate::rdb::bgsave::background_save_done(srv, &child, status, cow_bytes),
        ChildKind::AofRewrite => {
            crate::aof::background_rewrite_done(srv, &child, status, cow_bytes)
        }
    }
    // A child that failed or was killed sent no COW report.
    crate::memory::discard_cow_report(srv);
    // replicationStartPendingFork: replicas waiting for a BGSAVE go next.
    crate::replication::master::start_child_if_due(srv);
}
