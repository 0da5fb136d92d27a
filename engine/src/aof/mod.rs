//! The append-only file: Redis 7.0's multi-part AOF (manifest, base and
//! incr files), appendfsync policies and BGREWRITEAOF.
//!
//! Every propagated command is appended to `buf` (feedAppendOnlyFile) and
//! written to the current INCR file in beforeSleep, before any reply leaves
//! (flushAppendOnlyFile). The write is an [`DiskOp::Append`]; durability
//! comes from [`DiskOp::Fsync`]: blocking right after the write under
//! `appendfsync always`, at most once per second on the bio thread under
//! `everysec` (answered by [`crate::Input::FsyncDone`]), never under `no`.

pub mod load;
pub mod manifest;
pub mod rewrite;

use std::collections::BTreeSet;

use crate::child::ChildKind;
use crate::server::Server;
use crate::{DiskOp, LogLevel, Output};
use manifest::Manifest;

pub use load::load_at_startup;
pub use rewrite::{background_rewrite_done, COMMANDS};

/// server.aof_state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofStatus {
    Off,
    On,
    /// CONFIG SET appendonly yes: on once the first rewrite is done.
    WaitRewrite,
}

/// appendfsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    No,
    Always,
    EverySec,
}

#[derive(Debug)]
pub struct AofState {
    pub status: AofStatus,
    /// server.aof_buf: commands not yet written.
    pub buf: Vec<u8>,
    /// The db the AOF stream last SELECTed (-1: force a SELECT).
    pub selected_db: i64,
    pub manifest: Manifest,
    /// appenddirname and appendfilename (both immutable at run time).
    pub dirname: String,
    pub filename: String,
    /// The INCR file being appended to, relative to `dir` (aof_fd != -1).
    pub incr_file: Option<String>,
    pub last_incr_size: u64,
    pub last_incr_fsync_offset: u64,
    pub current_size: u64,
    pub rewrite_base_size: u64,
    /// Unix seconds of the last fsync (aof_last_fsync).
    pub last_fsync_s: i64,
    /// aof_flush_postponed_start (0: no flush postponed).
    pub flush_postponed_start_s: i64,
    /// Background AOF fsyncs still running (bioPendingJobsOfType(BIO_AOF_FSYNC)).
    pub fsyncs_in_flight: BTreeSet<u64>,
    /// fsync-and-close jobs of replaced INCR files (BIO_CLOSE_FILE).
    pub closes_in_flight: BTreeSet<u64>,
    pub next_token: u64,
    pub delayed_fsync: u64,
    pub rewrite_scheduled: bool,
    pub rewrite_time_start_s: i64,
    pub rewrite_time_last_s: i64,
    pub lastbgrewrite_ok: bool,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    pub last_cow_size: u64,
    pub last_write_ok: bool,
    /// aofRewriteLimited's back-off.
    pub limit_next_delay_min: i64,
    pub limit_next_time_s: i64,
    /// aof-timestamp-enabled: the last #TS annotation.
    pub cur_timestamp_s: i64,
    /// The size of the base image the running rewrite child writes.
    pub child_base_size: u64,
    /// The start-up open (aofOpenIfNeededOnServerStart) has run.
    pub started: bool,
    /// What the start-up load returned.
    pub startup_load: Option<Result<bool, String>>,
    /// Files known to exist on disk (from start-up or created since), so
    /// removals are only asked for files that are there.
    pub known_files: BTreeSet<String>,
    /// appendfsync, aof-timestamp-enabled and no-appendfsync-on-rewrite,
    /// cached because the write path reads them on every command.
    pub policy: FsyncPolicy,
    pub timestamp_enabled: bool,
    pub no_fsync_on_rewrite: bool,
}

impl AofState {
    pub fn new(config: &crate::Config, now_s: i64) -> AofState {
        AofState {
            status: if config.bool("appendonly") {
                AofStatus::On
            } else {
                AofStatus::Off
            },
            buf: Vec::new(),
            selected_db: -1,
            manifest: Manifest::default(),
            dirname: config
                .get("appenddirname")
                .unwrap_or_else(|| "appendonlydir".into()),
            filename: config
                .get("appendfilename")
                .unwrap_or_else(|| "appendonly.aof".into()),
            incr_file: None,
            last_incr_size: 0,
            last_incr_fsync_offset: 0,
            current_size: 0,
            rewrite_base_size: 0,
            last_fsync_s: now_s,
            flush_postponed_start_s: 0,
            fsyncs_in_flight: BTreeSet::new(),
            closes_in_flight: BTreeSet::new(),
            next_token: 1,
            delayed_fsync: 0,
            rewrite_scheduled: false,
            rewrite_time_start_s: -1,
            rewrite_time_last_s: -1,
            lastbgrewrite_ok: true,
            rewrites: 0,
            consecutive_failures: 0,
            last_cow_size: 0,
            last_write_ok: true,
            limit_next_delay_min: 0,
            limit_next_time_s: 0,
            cur_timestamp_s: 0,
            child_base_size: 0,
            started: false,
            startup_load: None,
            known_files: BTreeSet::new(),
            policy: policy_of(config),
            timestamp_enabled: config.bool("aof-timestamp-enabled"),
            no_fsync_on_rewrite: config.bool("no-appendfsync-on-rewrite"),
        }
    }
    /// A file of the AOF directory, relative to `dir`.
    pub fn path(&self, name: &str) -> String {
        format!("{}/{}", self.dirname, name)
    }

    fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        t
    }
}

/// Server::new: the manifest on disk, whatever appendonly says.
/// (A no-op once the start-up load ran, whichever was called first.)
pub fn on_startup(srv: &mut Server) {
    if !srv.aof.started {
        let _ = load::read_manifest(srv, false);
    }
}

fn policy_of(config: &crate::Config) -> FsyncPolicy {
    match config.get("appendfsync").as_deref() {
        Some("always") => FsyncPolicy::Always,
        Some("no") => FsyncPolicy::No,
        _ => FsyncPolicy::EverySec,
    }
}

pub fn aof_child_running(srv: &Server) -> bool {
    srv.child
        .as_ref()
        .is_some_and(|c| c.kind == ChildKind::AofRewrite)
}

// ---- disk helpers ----

pub(crate) fn disk(srv: &mut Server, op: DiskOp) {
    match &op {
        DiskOp::Append { file, .. } => {
            srv.aof.known_files.insert(file.clone());
        }
        DiskOp::Rename { from, to } => {
            srv.aof.known_files.remove(from);
            srv.aof.known_files.insert(to.clone());
        }
        DiskOp::Remove { file } => {
            srv.aof.known_files.remove(file);
        }
        _ => {}
    }
    srv.outputs.push_back(Output::Disk(op));
}

/// open(O_WRONLY|O_TRUNC|O_CREAT): create the file, empty.
pub(crate) fn create_truncated(srv: &mut Server, file: &str) {
    let existed = srv.aof.known_files.contains(file);
    disk(
        srv,
        DiskOp::Append {
            file: file.to_string(),
            bytes: Vec::new(),
        },
    );
    if existed {
        disk(
            srv,
            DiskOp::Truncate {
                file: file.to_string(),
                len: 0,
            },
        );
    }
}

/// bg_unlink of a file that may not exist.
pub(crate) fn remove_if_known(srv: &mut Server, file: &str) {
    if srv.aof.known_files.contains(file) {
        disk(
            srv,
            DiskOp::Remove {
                file: file.to_string(),
            },
        );
    }
}

/// writeAofManifestFile via persistAofManifest: temp file, fsync, rename.
pub(crate) fn persist_manifest(srv: &mut Server, am: &mut Manifest) {
    if !am.dirty {
        return;
    }
    let temp = srv
        .aof
        .path(&manifest::temp_manifest_name(&srv.aof.filename));
    let target = srv.aof.path(&manifest::manifest_name(&srv.aof.filename));
    create_truncated(srv, &temp);
    disk(
        srv,
        DiskOp::Append {
            file: temp.clone(),
            bytes: am.to_text().into_bytes(),
        },
    );
    let token = srv.aof.token();
    disk(
        srv,
        DiskOp::Fsync {
            file: temp.clone(),
            token,
            blocking: true,
        },
    );
    disk(
        srv,
        DiskOp::Rename {
            from: temp,
            to: target,
        },
    );
    am.dirty = false;
}

// ---- the write path ----

/// feedAppendOnlyFile, called for every propagated command.
pub fn feed(srv: &mut Server, db: usize, argv: &[Vec<u8>]) {
    if srv.aof.status == AofStatus::Off || srv.loading {
        return;
    }
    let keep = srv.aof.status == AofStatus::On || aof_child_running(srv);
    let mut bytes = Vec::new();
    if srv.aof.timestamp_enabled && srv.aof.cur_timestamp_s < srv.unixtime() {
        srv.aof.cur_timestamp_s = srv.unixtime();
        bytes.extend_from_slice(format!("#TS:{}\r\n", srv.aof.cur_timestamp_s).as_bytes());
    }
    if db as i64 != srv.aof.selected_db {
        crate::resp::encode_command_into(
            &mut bytes,
            &[b"SELECT".to_vec(), db.to_string().into_bytes()],
        );
        srv.aof.selected_db = db as i64;
    }
    crate::resp::encode_command_into(&mut bytes, argv);
    if keep {
        srv.aof.buf.extend_from_slice(&bytes);
    }
}

/// beforeSleep's flush, before any reply is handed out.
pub fn before_sleep(srv: &mut Server) {
    if srv.aof.status == AofStatus::Off {
        return;
    }
    if !srv.aof.started && srv.aof.status == AofStatus::On {
        // Nobody ran the start-up load (the host should, at process start):
        // load and open the files now rather than lose writes.
        if let Err(e) = load::load_at_startup(srv) {
            srv.log(
                LogLevel::Warning,
                format!("AOF start-up load failed: {}", e),
            );
        }
    }
    flush(srv, false);
}

/// flushAppendOnlyFile.
pub fn flush(srv: &mut Server, force: bool) {
    if srv.aof.buf.is_empty() && srv.aof.last_incr_fsync_offset == srv.aof.last_incr_size {
        return;
    }
    let Some(file) = srv.aof.incr_file.clone() else {
        return;
    };
    let policy = srv.aof.policy;
    let now = srv.unixtime();
    let in_progress = !srv.aof.fsyncs_in_flight.is_empty();
    let a = &mut srv.aof;
    let mut sync_in_progress = false;
    if a.buf.is_empty() {
        // 7.0 also fsyncs a file that was written but not synced, so an idle
        // server's last writes reach the disk within a second.
        let unsynced = a.last_incr_fsync_offset != a.last_incr_size;
        let idle_everysec =
            policy == FsyncPolicy::EverySec && unsynced && now > a.last_fsync_s && !in_progress;
        if !(idle_everysec || (policy == FsyncPolicy::Always && unsynced)) {
            return;
        }
    } else {
        if policy == FsyncPolicy::EverySec {
            sync_in_progress = in_progress;
        }
        if policy == FsyncPolicy::EverySec && !force && sync_in_progress {
            if a.flush_postponed_start_s == 0 {
                a.flush_postponed_start_s = now;
                return;
            } else if now - a.flush_postponed_start_s < 2 {
                return;
            }
            a.delayed_fsync += 1;
            srv.log(LogLevel::Notice, "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.".into());
        }
        let bytes = std::mem::take(&mut srv.aof.buf);
        let n = bytes.len() as u64;
        srv.cost.elements(bytes.len() / 256);
        disk(
            srv,
            DiskOp::Append {
                file: file.clone(),
                bytes,
            },
        );
        let a = &mut srv.aof;
        a.flush_postponed_start_s = 0;
        a.current_size += n;
        a.last_incr_size += n;
    }
    try_fsync(srv, &file, policy, sync_in_progress);
}

fn try_fsync(srv: &mut Server, file: &str, policy: FsyncPolicy, sync_in_progress: bool) {
    if srv.aof.no_fsync_on_rewrite && crate::child::has_active_child(srv) {
        return;
    }
    let now = srv.unixtime();
    match policy {
        FsyncPolicy::Always => {
            let token = srv.aof.token();
            disk(
                srv,
                DiskOp::Fsync {
                    file: file.to_string(),
                    token,
                    blocking: true,
                },
            );
            srv.aof.last_incr_fsync_offset = srv.aof.last_incr_size;
            srv.aof.last_fsync_s = now;
        }
        FsyncPolicy::EverySec if now > srv.aof.last_fsync_s => {
            if !sync_in_progress {
                let token = srv.aof.token();
                srv.aof.fsyncs_in_flight.insert(token);
                disk(
                    srv,
                    DiskOp::Fsync {
                        file: file.to_string(),
                        token,
                        blocking: false,
                    },
                );
                srv.aof.last_incr_fsync_offset = srv.aof.last_incr_size;
            }
            srv.aof.last_fsync_s = now;
        }
        _ => {}
    }
}

/// The background fsync with this token has finished.
pub fn fsync_done(srv: &mut Server, token: u64) {
    srv.aof.fsyncs_in_flight.remove(&token);
    srv.aof.closes_in_flight.remove(&token);
}

/// aof_background_fsync_and_close: the replaced INCR file is synced by a
/// bio job that does not count as a pending AOF fsync.
pub(crate) fn fsync_and_close(srv: &mut Server, file: &str) {
    let token = srv.aof.token();
    srv.aof.closes_in_flight.insert(token);
    disk(
        srv,
        DiskOp::Fsync {
            file: file.to_string(),
            token,
            blocking: false,
        },
    );
}

/// serverCron's AOF duties, in Redis's order: a scheduled rewrite, the
/// automatic rewrite on growth, and the retry of a postponed flush.
pub fn cron(srv: &mut Server) {
    if !crate::child::has_active_child(srv)
        && srv.aof.rewrite_scheduled
        && !rewrite::rewrite_limited(srv)
    {
        rewrite::rewrite_background(srv);
    }
    if !crate::child::has_active_child(srv) {
        rewrite::auto_rewrite_check(srv);
    }
    if srv.aof.status != AofStatus::Off && srv.aof.flush_postponed_start_s != 0 {
        flush(srv, false);
    }
}

/// CONFIG SET changed something: appendonly switches the AOF on or off.
/// Returns Redis's error when it cannot be switched on.
/// aof-disable-auto-gc going back to no deletes pending HISTORY files.
pub fn config_changed(srv: &mut Server, previous: &crate::Config) -> Result<(), String> {
    srv.aof.policy = policy_of(&srv.config);
    srv.aof.timestamp_enabled = srv.config.bool("aof-timestamp-enabled");
    srv.aof.no_fsync_on_rewrite = srv.config.bool("no-appendfsync-on-rewrite");
    if previous.bool("aof-disable-auto-gc") && !srv.config.bool("aof-disable-auto-gc") {
        rewrite::delete_history_files(srv);
    }
    let want = srv.config.bool("appendonly");
    if want && srv.aof.status == AofStatus::Off {
        if !rewrite::start_append_only(srv) {
            srv.aof.policy = policy_of(previous);
            srv.aof.timestamp_enabled = previous.bool("aof-timestamp-enabled");
            srv.aof.no_fsync_on_rewrite = previous.bool("no-appendfsync-on-rewrite");
            return Err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.".into());
        }
    } else if !want && srv.aof.status != AofStatus::Off {
        rewrite::stop_append_only(srv);
    }
    Ok(())
}

/// readSyncBulkPayload: the AOF (and its rewrite child) stops before a
/// replica flushes and loads its master's dataset.
pub fn stop_for_full_sync(srv: &mut Server) {
    if srv.aof.status != AofStatus::Off {
        rewrite::stop_append_only(srv);
    }
}

/// restartAOFAfterSYNC: with appendonly yes the AOF restarts with a rewrite
/// of the synced dataset (Redis retries 10 times a second apart, then exits).
pub fn restart_after_sync(srv: &mut Server) {
    if srv.config.bool("appendonly")
        && srv.aof.status == AofStatus::Off
        && !rewrite::start_append_only(srv)
    {
        srv.log(LogLevel::Warning, "Failed enabling the AOF after successful master synchronization! Trying it again in one second.".into());
    }
}

/// prepareForShutdown's AOF part, for SHUTDOWN: a rewrite child is killed
/// (refused while the first AOF is being written, unless `force`), then
/// the buffer is written and fsynced. Err: Redis's refusal (logged).
pub fn prepare_for_shutdown(srv: &mut Server, force: bool) -> Result<(), String> {
    if aof_child_running(srv) {
        if srv.aof.status == AofStatus::WaitRewrite {
            if !force {
                let msg = "Writing initial AOF, can't exit.".to_string();
                srv.log(LogLevel::Warning, msg.clone());
                return Err(msg);
            }
            srv.log(
                LogLevel::Warning,
                "Writing initial AOF. Exit anyway.".into(),
            );
        }
        srv.log(
            LogLevel::Warning,
            "There is a child rewriting the AOF. Killing it!".into(),
        );
        rewrite::kill_append_only_child(srv);
    }
    if srv.aof.status != AofStatus::Off {
        srv.log(LogLevel::Notice, "Calling fsync() on the AOF file.".into());
        flush(srv, true);
        if let Some(file) = srv.aof.incr_file.clone() {
            let token = srv.aof.token();
            disk(
                srv,
                DiskOp::Fsync {
                    file,
                    token,
                    blocking: true,
                },
            );
        }
    }
    Ok(())
}

/// The aof_* fields of INFO persistence, in Redis's order: from
/// aof_enabled to the end of the section, with the two module_fork_*
/// fields Redis prints between aof_last_cow_size and aof_current_size.
pub fn info_fields(srv: &Server) -> Vec<(String, String)> {
    let a = &srv.aof;
    let mut v: Vec<(String, String)> = Vec::new();
    let mut f = |k: &str, val: String| v.push((k.to_string(), val));
    f(
        "aof_enabled",
        u8::from(a.status != AofStatus::Off).to_string(),
    );
    f(
        "aof_rewrite_in_progress",
        u8::from(aof_child_running(srv)).to_string(),
    );
    f(
        "aof_rewrite_scheduled",
        u8::from(a.rewrite_scheduled).to_string(),
    );
    f(
        "aof_last_rewrite_time_sec",
        a.rewrite_time_last_s.to_string(),
    );
    let current = if a.rewrite_time_start_s == -1 {
        -1
    } else {
        srv.unixtime() - a.rewrite_time_start_s
    };
    f("aof_current_rewrite_time_sec", current.to_string());
    f(
        "aof_last_bgrewrite_status",
        if a.lastbgrewrite_ok { "ok" } else { "err" }.to_string(),
    );
    f("aof_rewrites", a.rewrites.to_string());
    f(
        "aof_rewrites_consecutive_failures",
        a.consecutive_failures.to_string(),
    );
    f(
        "aof_last_write_status",
        if a.last_write_ok { "ok" } else { "err" }.to_string(),
    );
    f("aof_last_cow_size", a.last_cow_size.to_string());
    f("module_fork_in_progress", "0".into());
    f("module_fork_last_cow_size", "0".into());
    // server.aof_enabled is the configured value, which CONFIG SET updates at once.
    if srv.config.bool("appendonly") {
        f("aof_current_size", a.current_size.to_string());
        f("aof_base_size", a.rewrite_base_size.to_string());
        f(
            "aof_pending_rewrite",
            u8::from(a.rewrite_scheduled).to_string(),
        );
        f("aof_buffer_length", a.buf.len().to_string());
        f(
            "aof_pending_bio_fsync",
            a.fsyncs_in_flight.len().to_string(),
        );
        f("aof_delayed_fsync", a.delayed_fsync.to_string());
    }
    v
}
