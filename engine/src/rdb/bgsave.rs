//! SAVE, BGSAVE and save points: the RDB file on disk.
//!
//! A foreground SAVE serialises the dataset on the main thread and emits the
//! file operations (write temp-<pid>.rdb, a blocking fsync, rename). BGSAVE
//! forks a child (child.rs) whose job carries the fork-time image; the host
//! runs it and reports its exit, which lands in [`background_save_done`].

use crate::child::{self, Child, ChildKind};
use crate::commands::{flags, Command, Ctx};
use crate::reply::errors;
use crate::server::Server;
use crate::util::eq_ic;
use crate::{ChildExitStatus, ChildJob, DiskOp, LogLevel, LogLine, Output};

/// CONFIG_BGSAVE_RETRY_DELAY: seconds between save-point attempts after a
/// failed BGSAVE.
pub const BGSAVE_RETRY_DELAY_S: i64 = 5;

/// shared.bgsaveerr without the leading '-' and trailing CRLF.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Where the running RDB child writes (server.rdb_child_type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdbChildType {
    Disk,
    Socket,
}

/// The RDB persistence state of the server.
#[derive(Debug, Clone)]
pub struct RdbState {
    pub child_type: Option<RdbChildType>,
    pub dirty_before_bgsave: u64,
    pub lastbgsave_try_s: i64,
    /// lastbgsave_status == C_OK.
    pub lastbgsave_ok: bool,
    /// rdb_save_time_start (-1: no child).
    pub save_time_start_s: i64,
    /// rdb_save_time_last (-1: never).
    pub save_time_last_s: i64,
    pub saves: u64,
    pub last_cow_size: u64,
    pub bgsave_scheduled: bool,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// Keys the running child serialises (current_save_keys_total).
    pub save_keys_total: u64,
    /// What `dbfilename` holds as far as this process knows (DEBUG RELOAD
    /// NOSAVE reads it back; the engine cannot read files).
    pub image: Option<Vec<u8>>,
    /// The image the running disk child writes, for `image` on success.
    pub child_image: Option<Vec<u8>>,
    /// Main-thread time spent before the first step (start-up loading).
    pub startup_block_us: u64,
    /// The process exited (a fatal load error): the reason.
    pub exited: Option<String>,
}

impl Default for RdbState {
    fn default() -> Self {
        RdbState {
            child_type: None,
            dirty_before_bgsave: 0,
            lastbgsave_try_s: 0,
            lastbgsave_ok: true,
            save_time_start_s: -1,
            save_time_last_s: -1,
            saves: 0,
            last_cow_size: 0,
            bgsave_scheduled: false,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            save_keys_total: 0,
            image: None,
            child_image: None,
            startup_block_us: 0,
            exited: None,
        }
    }
}

pub fn temp_file(pid: u32) -> String {
    format!("temp-{}.rdb", pid)
}

pub fn dbfilename(srv: &Server) -> String {
    srv.config
        .get("dbfilename")
        .unwrap_or_else(|| "dump.rdb".into())
}

/// The dataset as an RDB image, with the replication id and offset.
pub fn current_image(srv: &Server) -> Vec<u8> {
    let aux = crate::rdb::Aux {
        ctime_s: srv.unixtime(),
        used_mem: crate::memory::stats(srv).used_memory,
        repl_id: srv.repl.replid.clone(),
        repl_offset: srv.repl.master_repl_offset,
    };
    crate::rdb::save_with(
        &srv.dbs,
        &aux,
        &crate::rdb::SaveOptions::from_config(&srv.config),
    )
}

/// CPU time serialising the current dataset into `bytes` bytes takes.
pub fn save_cpu_us(srv: &Server, bytes: usize) -> u64 {
    let compress_us = if srv.config.bool("rdbcompression") {
        crate::memory::stats(srv).used_memory * crate::cost::RDB_COMPRESS_CENTI_NS_PER_BYTE
            / 100_000
    } else {
        0
    };
    crate::cost::rdb_save_us(srv.total_keys() as u64, bytes as u64) + compress_us
}

/// A log line the child process prints (role 'C').
fn child_log(srv: &mut Server, level: LogLevel, message: String) {
    srv.outputs.push_back(Output::Log(LogLine {
        level,
        role: 'C',
        message,
    }));
}

/// rdbSave on the main thread: serialise, write the temp file, fsync
/// (the loop waits), rename over dbfilename.
pub fn rdb_save(srv: &mut Server) {
    let bytes = current_image(srv);
    let cpu = save_cpu_us(srv, bytes.len());
    srv.cost.block_us(cpu);
    let tmp = temp_file(srv.options.pid);
    let target = dbfilename(srv);
    srv.outputs.push_back(Output::Disk(DiskOp::Append {
        file: tmp.clone(),
        bytes: bytes.clone(),
    }));
    srv.outputs.push_back(Output::Disk(DiskOp::Fsync {
        file: tmp.clone(),
        token: 0,
        blocking: true,
    }));
    srv.outputs.push_back(Output::Disk(DiskOp::Rename {
        from: tmp,
        to: target,
    }));
    srv.log(LogLevel::Notice, "DB saved on disk".into());
    srv.dirty = 0;
    srv.lastsave_s = srv.unixtime();
    srv.rdb.lastbgsave_ok = true;
    srv.rdb.image = Some(bytes);
}

/// rdbSaveBackground: fork a child that writes `bytes` (the fork-time
/// image) to temp-<pid>.rdb and renames it to dbfilename. None when
/// another child runs.
pub fn rdb_save_background_with(srv: &mut Server, bytes: Vec<u8>) -> Option<u32> {
    if child::has_active_child(srv) {
        return None;
    }
    srv.rdb.saves += 1;
    srv.rdb.dirty_before_bgsave = srv.dirty;
    srv.rdb.lastbgsave_try_s = srv.unixtime();
    let cpu_us = save_cpu_us(srv, bytes.len());
    let incremental_fsync = srv.config.bool("rdb-save-incremental-fsync");
    let rename_to = Some(dbfilename(srv));
    let job_bytes = bytes.clone();
    let pid = child::fork_with(srv, ChildKind::Rdb, move |pid| ChildJob::WriteFile {
        file: temp_file(pid),
        bytes: job_bytes,
        cpu_us,
        incremental_fsync,
        rename_to,
    });
    srv.log(
        LogLevel::Notice,
        format!("Background saving started by pid {}", pid),
    );
    srv.rdb.save_time_start_s = srv.unixtime();
    srv.rdb.child_type = Some(RdbChildType::Disk);
    srv.rdb.save_keys_total = srv.total_keys() as u64;
    srv.rdb.child_image = Some(bytes);
    Some(pid)
}

pub fn rdb_save_background(srv: &mut Server) -> Option<u32> {
    if child::has_active_child(srv) {
        return None;
    }
    let bytes = current_image(srv);
    rdb_save_background_with(srv, bytes)
}

/// backgroundSaveDoneHandler: the RDB child ended.
pub fn background_save_done(
    srv: &mut Server,
    child: &Child,
    status: ChildExitStatus,
    cow_bytes: u64,
) {
    let socket = srv.rdb.child_type == Some(RdbChildType::Socket);
    let ok = status == ChildExitStatus::Ok;
    if ok {
        if !socket {
            child_log(srv, LogLevel::Notice, "DB saved on disk".into());
        }
        crate::memory::log_cow_report(srv);
        srv.rdb.last_cow_size = cow_bytes;
    }
    if socket {
        if ok {
            // rdbPipeReadHandler reached the end of the child's pipe.
            let up = srv.repl.child.as_ref().map_or(0, |c| {
                c.targets
                    .iter()
                    .filter(|t| srv.clients.contains_key(t))
                    .count()
            });
            srv.log(
                LogLevel::Warning,
                format!(
                    "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
                    up
                ),
            );
        }
        socket_done(srv, status);
    } else {
        disk_done(srv, child, status);
    }
    srv.rdb.child_type = None;
    srv.rdb.child_image = None;
    srv.rdb.save_keys_total = 0;
    srv.rdb.save_time_last_s = srv.unixtime() - srv.rdb.save_time_start_s;
    srv.rdb.save_time_start_s = -1;
    crate::replication::master::rdb_child_done(srv, ok);
}

fn disk_done(srv: &mut Server, child: &Child, status: ChildExitStatus) {
    match status {
        ChildExitStatus::Ok => {
            srv.log(
                LogLevel::Notice,
                "Background saving terminated with success".into(),
            );
            srv.dirty = srv.dirty.saturating_sub(srv.rdb.dirty_before_bgsave);
            srv.lastsave_s = srv.unixtime();
            srv.rdb.lastbgsave_ok = true;
            srv.rdb.image = srv.rdb.child_image.take();
            srv.event("bgsave_done", format!("pid {} ok", child.pid));
        }
        ChildExitStatus::Error => {
            srv.log(LogLevel::Warning, "Background saving error".into());
            srv.rdb.lastbgsave_ok = false;
            srv.event("bgsave_done", format!("pid {} error", child.pid));
        }
        ChildExitStatus::Signal(sig) => {
            srv.log(
                LogLevel::Warning,
                format!("Background saving terminated by signal {}", sig),
            );
            srv.outputs.push_back(Output::Disk(DiskOp::Remove {
                file: temp_file(child.pid),
            }));
            // SIGUSR1 is how Redis itself stops a child: not an error.
            if sig != 10 {
                srv.rdb.lastbgsave_ok = false;
            }
            srv.event("bgsave_done", format!("pid {} signal {}", child.pid, sig));
        }
    }
}

fn socket_done(srv: &mut Server, status: ChildExitStatus) {
    match status {
        ChildExitStatus::Ok => srv.log(
            LogLevel::Notice,
            "Background RDB transfer terminated with success".into(),
        ),
        ChildExitStatus::Error => srv.log(LogLevel::Warning, "Background transfer error".into()),
        ChildExitStatus::Signal(sig) => srv.log(
            LogLevel::Warning,
            format!("Background transfer terminated by signal {}", sig),
        ),
    }
}

/// serverCron's save points: with no child running, the first point whose
/// changes and seconds are both exceeded starts a BGSAVE; after a failed
/// one, not before CONFIG_BGSAVE_RETRY_DELAY seconds.
pub fn cron_save_points(srv: &mut Server) {
    if child::has_active_child(srv) {
        return;
    }
    let now = srv.unixtime();
    let retry_ok = now - srv.rdb.lastbgsave_try_s > BGSAVE_RETRY_DELAY_S || srv.rdb.lastbgsave_ok;
    let due = srv
        .config
        .hot
        .save_points
        .iter()
        .find(|(secs, changes)| srv.dirty as i64 >= *changes && now - srv.lastsave_s > *secs);
    if let (Some(&(secs, changes)), true) = (due, retry_ok) {
        srv.log(
            LogLevel::Notice,
            format!("{} changes in {} seconds. Saving...", changes, secs),
        );
        rdb_save_background(srv);
    }
}

/// serverCron's scheduled BGSAVE (BGSAVE SCHEDULE, or BGSAVE in MULTI),
/// after replicationCron so replication's forks go first.
pub fn cron_scheduled(srv: &mut Server) {
    let now = srv.unixtime();
    let retry_ok = now - srv.rdb.lastbgsave_try_s > BGSAVE_RETRY_DELAY_S || srv.rdb.lastbgsave_ok;
    if !child::has_active_child(srv)
        && srv.rdb.bgsave_scheduled
        && retry_ok
        && rdb_save_background(srv).is_some()
    {
        srv.rdb.bgsave_scheduled = false;
    }
}

/// writeCommandsDeniedByDiskError's RDB half: the error for write commands
/// (and PING) after a failed BGSAVE.
pub fn disk_error(srv: &Server) -> Option<&'static str> {
    let configured =
        srv.config.bool("stop-writes-on-bgsave-error") && !srv.config.hot.save_points.is_empty();
    if configured && !srv.rdb.lastbgsave_ok {
        return Some(MISCONF);
    }
    None
}

/// FLUSHALL's flushAllDataAndResetRDB: with save points, the empty dataset
/// is saved at once (which resets dirty), so the caller must force the
/// command's propagation.
pub fn flushall_save(srv: &mut Server) -> bool {
    if srv.config.hot.save_points.is_empty() {
        return false;
    }
    rdb_save(srv);
    true
}

fn save_command(ctx: &mut Ctx) {
    if ctx.srv.rdb.child_type.is_some() {
        return ctx.reply().err("ERR Background save already in progress");
    }
    ctx.srv.rdb.saves += 1;
    rdb_save(ctx.srv);
    ctx.reply().ok();
}

fn bgsave_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let mut schedule = false;
    if argv.len() > 1 {
        if argv.len() == 2 && eq_ic(&argv[1], "schedule") {
            schedule = true;
        } else {
            return ctx.reply().err(errors::SYNTAX);
        }
    }
    if ctx.srv.rdb.child_type.is_some() {
        ctx.reply().err("ERR Background save already in progress");
    } else if child::has_active_child(ctx.srv) || ctx.srv.in_exec {
        if schedule || ctx.srv.in_exec {
            ctx.srv.rdb.bgsave_scheduled = true;
            ctx.reply().simple("Background saving scheduled");
        } else {
            ctx.reply().err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
    } else if rdb_save_background(ctx.srv).is_some() {
        ctx.reply().simple("Background saving started");
    } else {
        ctx.reply().err("ERR");
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load the file back.
pub fn debug_reload(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let (mut merge, mut flush, mut save) = (false, true, true);
    for opt in &argv[2..] {
        if eq_ic(opt, "merge") {
            merge = true;
        } else if eq_ic(opt, "noflush") {
            flush = false;
        } else if eq_ic(opt, "nosave") {
            save = false;
        } else {
            return ctx
                .reply()
                .err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
        }
    }
    if save {
        rdb_save(ctx.srv);
    }
    let Some(image) = ctx.srv.rdb.image.clone() else {
        return ctx.reply().err("ERR Error trying to load the RDB dump");
    };
    if flush {
        ctx.srv.empty_data(None);
    }
    match crate::rdb::startup::load_image(ctx.srv, &image, merge) {
        Ok(()) => {
            ctx.srv
                .log(LogLevel::Warning, "DB reloaded by DEBUG RELOAD".into());
            ctx.reply().ok();
        }
        Err(e) => {
            ctx.srv.log(LogLevel::Warning, e);
            ctx.reply().err("ERR Error trying to load the RDB dump");
        }
    }
}

pub const COMMANDS: &[Command] = &[
    Command::new("save", 1, flags::ADMIN | flags::NOSCRIPT, save_command),
    Command::new("bgsave", -1, flags::ADMIN | flags::NOSCRIPT, bgsave_command),
];
