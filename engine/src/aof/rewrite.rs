//! AOF rewrite: BGREWRITEAOF, the automatic rewrite on growth, turning
//! the AOF on and off at run time, and backgroundRewriteDoneHandler.
//!
//! 7.0 has no rewrite buffer: at fork time the parent switches to a new
//! INCR file, the child writes the fork-time dataset as the next BASE, and
//! on success the parent renames it in, retires the old BASE and INCR files
//! to HISTORY in the manifest and deletes them.

use super::{create_truncated, disk, manifest, persist_manifest, remove_if_known, AofStatus};
use crate::child::{Child, ChildKind};
use crate::commands::{flags, Command, Ctx};
use crate::server::Server;
use crate::{ChildExitStatus, ChildJob, DiskOp, LogLevel};

/// Items per variadic command in a RESP rewrite (AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;
const LIMIT_THRESHOLD: u64 = 3;
const LIMIT_MAX_MINUTES: i64 = 60;
const SIGUSR1: i32 = 10;

/// The dataset as a BASE file: an RDB image with aof-base set (preamble),
/// or the commands that rebuild it (rewriteAppendOnlyFileRio).
pub fn base_image(srv: &Server) -> Vec<u8> {
    if srv.config.bool("aof-use-rdb-preamble") {
        let aux = crate::rdb::Aux {
            ctime_s: srv.unixtime(),
            used_mem: crate::info::used_memory(srv),
            repl_id: srv.repl.replid.clone(),
            repl_offset: srv.repl.master_repl_offset,
        };
        let opts = crate::rdb::SaveOptions::from_config(&srv.config);
        let image = crate::rdb::save_with(&srv.dbs, &aux, &opts);
        return preamble_aux(&image).unwrap_or(image);
    }
    let mut out = Vec::new();
    if srv.config.bool("aof-timestamp-enabled") {
        out.extend_from_slice(format!("#TS:{}\r\n", srv.unixtime()).as_bytes());
    }
    for (index, db) in srv.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        crate::resp::encode_command_into(
            &mut out,
            &[b"SELECT".to_vec(), index.to_string().into_bytes()],
        );
        for (key, value) in &db.dict {
            rewrite_value(&mut out, key, value);
            if let Some(when) = db.expires.get(key) {
                crate::resp::encode_command_into(
                    &mut out,
                    &[
                        b"PEXPIREAT".to_vec(),
                        key.clone(),
                        when.to_string().into_bytes(),
                    ],
                );
            }
        }
    }
    out
}

/// The length of the RDB string at the start of `buf` (length-prefixed or
/// integer-encoded), prefix included.
fn rdb_string_len(buf: &[u8]) -> Option<usize> {
    let b = *buf.first()?;
    let (header, len) = match b >> 6 {
        0 => (1, (b & 0x3f) as usize),
        1 => (2, (((b & 0x3f) as usize) << 8) | *buf.get(1)? as usize),
        2 if b == 0x80 => (
            5,
            u32::from_be_bytes(buf.get(1..5)?.try_into().ok()?) as usize,
        ),
        3 => match b & 0x3f {
            0 => (1, 1),
            1 => (1, 2),
            2 => (1, 4),
            _ => return None,
        },
        _ => return None,
    };
    (buf.len() >= header + len).then_some(header + len)
}

/// A BASE file's RDB carries Redis's preamble aux fields: rdbSaveRio with
/// RDBFLAGS_AOF_PREAMBLE writes no replication info and `aof-base 1`.
/// Rewrites the aux block of a full-sync image accordingly (None if the
/// image is not laid out as expected).
fn preamble_aux(image: &[u8]) -> Option<Vec<u8>> {
    const AUX: u8 = 250;
    let mut out = image.get(..9)?.to_vec();
    let mut pos = 9;
    while image.get(pos) == Some(&AUX) {
        let key_len = rdb_string_len(&image[pos + 1..])?;
        let val_len = rdb_string_len(&image[pos + 1 + key_len..])?;
        let key = &image[pos + 1..pos + 1 + key_len];
        let record = &image[pos..pos + 1 + key_len + val_len];
        pos += 1 + key_len + val_len;
        match key.get(1..) {
            Some(b"repl-stream-db") | Some(b"repl-id") | Some(b"repl-offset") => {}
            Some(b"aof-base") => {
                out.push(AUX);
                out.extend_from_slice(key);
                out.extend_from_slice(&[0xc0, 1]);
            }
            _ => out.extend_from_slice(record),
        }
    }
    out.extend_from_slice(image.get(pos..image.len().checked_sub(8)?)?);
    let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Some(out)
}

fn rewrite_value(out: &mut Vec<u8>, key: &[u8], value: &crate::object::Value) {
    use crate::object::Value;
    let batched = |out: &mut Vec<u8>, cmd: &str, items: Vec<Vec<Vec<u8>>>| {
        for chunk in items.chunks(ITEMS_PER_CMD) {
            let mut argv = vec![cmd.as_bytes().to_vec(), key.to_vec()];
            argv.extend(chunk.iter().flatten().cloned());
            crate::resp::encode_command_into(out, &argv);
        }
    };
    match value {
        Value::Str(s) => {
            crate::resp::encode_command_into(out, &[b"SET".to_vec(), key.to_vec(), s.to_vec()])
        }
        Value::List(l) => batched(out, "RPUSH", l.iter().map(|v| vec![v.clone()]).collect()),
        Value::Set(s) => batched(out, "SADD", s.iter().map(|v| vec![v.clone()]).collect()),
        Value::ZSet(z) => batched(
            out,
            "ZADD",
            z.ordered
                .iter()
                .map(|(score, m)| vec![crate::util::format_double(score.0).into_bytes(), m.clone()])
                .collect(),
        ),
        Value::Hash(h) => batched(
            out,
            "HMSET",
            h.iter().map(|(f, v)| vec![f.clone(), v.clone()]).collect(),
        ),
    }
}

/// Virtual CPU time the child spends serialising `bytes` of output.
fn serialise_cpu_us(bytes: usize, keys: usize) -> u64 {
    (bytes as u64 / 400) + keys as u64 / 2 + 200
}

/// The file the rewrite child writes.
fn temp_rewrite_file(pid: u32) -> String {
    format!("temp-rewriteaof-bg-{}.aof", pid)
}

/// rewriteAppendOnlyFileBackground: the child's pid, or None (C_ERR).
pub fn rewrite_background(srv: &mut Server) -> Option<u32> {
    if crate::child::has_active_child(srv) {
        return None;
    }
    // Force a SELECT in the new INCR file.
    srv.aof.selected_db = -1;
    super::flush(srv, true);
    open_new_incr_for_append(srv);
    srv.aof.rewrites += 1;
    let bytes = base_image(srv);
    let keys: usize = srv.dbs.iter().map(|d| d.dict.len()).sum();
    srv.aof.child_base_size = bytes.len() as u64;
    let cpu_us = serialise_cpu_us(bytes.len(), keys);
    let incremental_fsync = srv.config.bool("aof-rewrite-incremental-fsync");
    let make_job = |pid| ChildJob::WriteFile {
        file: temp_rewrite_file(pid),
        cpu_us,
        bytes,
        incremental_fsync,
        rename_to: None,
    };
    let pid = crate::child::fork_with(srv, ChildKind::AofRewrite, make_job);
    srv.aof.known_files.insert(temp_rewrite_file(pid));
    srv.log(
        LogLevel::Notice,
        format!(
            "Background append only file rewriting started by pid {}",
            pid
        ),
    );
    srv.aof.rewrite_scheduled = false;
    srv.aof.rewrite_time_start_s = srv.unixtime();
    Some(pid)
}

/// openNewIncrAofForAppend: new writes go to a new INCR file (or, while
/// waiting for the first rewrite, to a temp INCR file).
fn open_new_incr_for_append(srv: &mut Server) {
    if srv.aof.status == AofStatus::Off {
        return;
    }
    let mut temp_am = None;
    let name = if srv.aof.status == AofStatus::WaitRewrite {
        manifest::temp_incr_name(&srv.aof.filename)
    } else {
        let mut am = srv.aof.manifest.clone();
        let name = am.new_incr(&srv.aof.filename);
        temp_am = Some(am);
        name
    };
    let path = srv.aof.path(&name);
    create_truncated(srv, &path);
    if let Some(am) = temp_am.as_mut() {
        persist_manifest(srv, am);
    }
    srv.log(
        LogLevel::Notice,
        format!("Creating AOF incr file {} on background rewrite", name),
    );
    if let Some(old) = srv.aof.incr_file.take() {
        super::fsync_and_close(srv, &old);
        srv.aof.last_fsync_s = srv.unixtime();
    }
    srv.aof.incr_file = Some(path);
    srv.aof.last_incr_size = 0;
    srv.aof.last_incr_fsync_offset = 0;
    if let Some(am) = temp_am {
        srv.aof.manifest = am;
    }
}

/// aofRewriteLimited: after 3 consecutive failures, automatic and scheduled
/// rewrites back off 1, 2, 4 ... 60 minutes.
pub fn rewrite_limited(srv: &mut Server) -> bool {
    let a = &mut srv.aof;
    if a.consecutive_failures < LIMIT_THRESHOLD {
        a.limit_next_delay_min = 0;
        a.limit_next_time_s = 0;
        return false;
    }
    let now = srv.unixtime();
    let a = &mut srv.aof;
    if a.limit_next_time_s != 0 {
        if now < a.limit_next_time_s {
            return true;
        }
        a.limit_next_time_s = 0;
        return false;
    }
    a.limit_next_delay_min = if a.limit_next_delay_min == 0 {
        1
    } else {
        (a.limit_next_delay_min * 2).min(LIMIT_MAX_MINUTES)
    };
    a.limit_next_time_s = now + a.limit_next_delay_min * 60;
    let minutes = a.limit_next_delay_min;
    srv.log(LogLevel::Warning, format!("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes", minutes));
    true
}

/// serverCron's "Trigger an AOF rewrite if needed".
pub fn auto_rewrite_check(srv: &mut Server) {
    let perc = srv.config.int("auto-aof-rewrite-percentage");
    let min_size = srv.config.int("auto-aof-rewrite-min-size").max(0) as u64;
    if srv.aof.status != AofStatus::On || perc == 0 || srv.aof.current_size <= min_size {
        return;
    }
    let base = srv.aof.rewrite_base_size.max(1) as i64;
    let growth = (srv.aof.current_size as i64).saturating_mul(100) / base - 100;
    if growth >= perc && !rewrite_limited(srv) {
        srv.log(
            LogLevel::Notice,
            format!("Starting automatic rewriting of AOF on {}% growth", growth),
        );
        rewrite_background(srv);
    }
}

fn bgrewriteaof_command(ctx: &mut Ctx) {
    if super::aof_child_running(ctx.srv) {
        ctx.reply()
            .err("ERR Background append only file rewriting already in progress");
    } else if crate::child::has_active_child(ctx.srv) || ctx.srv.in_exec {
        ctx.srv.aof.rewrite_scheduled = true;
        // A manual request resets the back-off so it can run at once.
        ctx.srv.aof.consecutive_failures = 0;
        ctx.reply()
            .simple("Background append only file rewriting scheduled");
    } else if rewrite_background(ctx.srv).is_some() {
        ctx.reply()
            .simple("Background append only file rewriting started");
    } else {
        ctx.reply().err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
    }
}

pub const COMMANDS: &[Command] = &[Command::new(
    "bgrewriteaof",
    1,
    flags::ADMIN | flags::NOSCRIPT | flags::NO_PROPAGATE,
    bgrewriteaof_command,
)];

/// startAppendOnly (CONFIG SET appendonly yes); false is C_ERR.
pub fn start_append_only(srv: &mut Server) -> bool {
    srv.aof.status = AofStatus::WaitRewrite;
    srv.aof.started = true;
    if crate::child::has_active_child(srv) && !super::aof_child_running(srv) {
        srv.aof.rewrite_scheduled = true;
        srv.log(LogLevel::Warning, "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.".into());
    } else if srv.in_exec {
        srv.aof.rewrite_scheduled = true;
        srv.log(LogLevel::Warning, "AOF was enabled during a transaction. An AOF background was scheduled to start when possible.".into());
    } else {
        if super::aof_child_running(srv) {
            srv.log(LogLevel::Warning, "AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.".into());
            kill_append_only_child(srv);
        }
        if rewrite_background(srv).is_none() {
            srv.aof.status = AofStatus::Off;
            srv.log(LogLevel::Warning, "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.".into());
            return false;
        }
    }
    srv.aof.last_fsync_s = srv.unixtime();
    if !srv.aof.last_write_ok {
        srv.log(
            LogLevel::Warning,
            "AOF reopen, just ignore the last error.".into(),
        );
        srv.aof.last_write_ok = true;
    }
    true
}

/// stopAppendOnly (CONFIG SET appendonly no).
pub fn stop_append_only(srv: &mut Server) {
    super::flush(srv, true);
    if let Some(file) = srv.aof.incr_file.take() {
        let token = srv.aof.next_token;
        srv.aof.next_token += 1;
        disk(
            srv,
            DiskOp::Fsync {
                file,
                token,
                blocking: true,
            },
        );
        srv.aof.last_fsync_s = srv.unixtime();
    }
    let a = &mut srv.aof;
    a.selected_db = -1;
    a.status = AofStatus::Off;
    a.rewrite_scheduled = false;
    a.last_incr_size = 0;
    a.last_incr_fsync_offset = 0;
    kill_append_only_child(srv);
    srv.aof.buf.clear();
}

/// killAppendOnlyChild: SIGUSR1 to the rewrite child and reap it.
pub(crate) fn kill_append_only_child(srv: &mut Server) {
    if !super::aof_child_running(srv) {
        return;
    }
    let pid = srv.child.as_ref().expect("checked").pid;
    srv.log(
        LogLevel::Notice,
        format!("Killing running AOF rewrite child: {}", pid),
    );
    crate::child::kill_and_reap(srv);
    remove_temp_files(srv, pid);
    srv.aof.rewrite_time_start_s = -1;
}

/// aofRemoveTempFile.
fn remove_temp_files(srv: &mut Server, pid: u32) {
    remove_if_known(srv, &temp_rewrite_file(pid));
    remove_if_known(srv, &format!("temp-rewriteaof-{}.aof", pid));
}

/// backgroundRewriteDoneHandler.
pub fn background_rewrite_done(
    srv: &mut Server,
    child: &Child,
    status: ChildExitStatus,
    cow_bytes: u64,
) {
    match status {
        ChildExitStatus::Ok => {
            crate::memory::log_cow_report(srv);
            srv.aof.last_cow_size = cow_bytes;
            rewrite_succeeded(srv, child.pid);
        }
        ChildExitStatus::Error => {
            srv.aof.lastbgrewrite_ok = false;
            srv.aof.consecutive_failures += 1;
            srv.log(
                LogLevel::Warning,
                "Background AOF rewrite terminated with error".into(),
            );
        }
        ChildExitStatus::Signal(sig) => {
            if sig != SIGUSR1 {
                srv.aof.lastbgrewrite_ok = false;
                srv.aof.consecutive_failures += 1;
            }
            srv.log(
                LogLevel::Warning,
                format!("Background AOF rewrite terminated by signal {}", sig),
            );
        }
    }
    remove_temp_files(srv, child.pid);
    if srv.aof.status == AofStatus::WaitRewrite {
        srv.aof.buf.clear();
        let temp_incr = manifest::temp_incr_name(&srv.aof.filename);
        srv.log(
            LogLevel::Notice,
            format!(
                "Removing the temp incr aof file {} in the background",
                temp_incr
            ),
        );
        let path = srv.aof.path(&temp_incr);
        remove_if_known(srv, &path);
        if srv.aof.incr_file.as_deref() == Some(path.as_str()) {
            srv.aof.incr_file = None;
        }
        srv.aof.rewrite_scheduled = true;
    }
    srv.aof.rewrite_time_last_s = srv.unixtime() - srv.aof.rewrite_time_start_s;
    srv.aof.rewrite_time_start_s = -1;
}

fn rewrite_succeeded(srv: &mut Server, pid: u32) {
    srv.log(
        LogLevel::Notice,
        "Background AOF rewrite terminated with success".into(),
    );
    let tmpfile = temp_rewrite_file(pid);
    let mut am = srv.aof.manifest.clone();
    let preamble = srv.config.bool("aof-use-rdb-preamble");
    let base = am.new_base_marking_previous(&srv.aof.filename, preamble);
    disk(
        srv,
        DiskOp::Rename {
            from: tmpfile.clone(),
            to: srv.aof.path(&base),
        },
    );
    srv.log(
        LogLevel::Notice,
        format!(
            "Successfully renamed the temporary AOF base file {} into {}",
            tmpfile, base
        ),
    );
    if srv.aof.status == AofStatus::WaitRewrite {
        let temp_incr = manifest::temp_incr_name(&srv.aof.filename);
        let incr = am.new_incr(&srv.aof.filename);
        let to = srv.aof.path(&incr);
        disk(
            srv,
            DiskOp::Rename {
                from: srv.aof.path(&temp_incr),
                to: to.clone(),
            },
        );
        srv.aof.incr_file = Some(to);
        srv.log(
            LogLevel::Notice,
            format!(
                "Successfully renamed the temporary AOF incr file {} into {}",
                temp_incr, incr
            ),
        );
    }
    am.mark_rewritten_incr_as_history(srv.aof.incr_file.is_some());
    persist_manifest(srv, &mut am);
    srv.aof.manifest = am;
    if srv.aof.status != AofStatus::Off {
        srv.aof.current_size = srv.aof.child_base_size + srv.aof.last_incr_size;
        srv.aof.rewrite_base_size = srv.aof.current_size;
    }
    delete_history_files(srv);
    srv.aof.lastbgrewrite_ok = true;
    srv.aof.consecutive_failures = 0;
    srv.log(
        LogLevel::Notice,
        "Background AOF rewrite finished successfully".into(),
    );
    if srv.aof.status == AofStatus::WaitRewrite {
        srv.aof.status = AofStatus::On;
    }
}

/// aofDelHistoryFiles.
pub fn delete_history_files(srv: &mut Server) {
    if srv.config.bool("aof-disable-auto-gc") || srv.aof.manifest.history.is_empty() {
        return;
    }
    let history = std::mem::take(&mut srv.aof.manifest.history);
    for info in history {
        srv.log(
            LogLevel::Notice,
            format!("Removing the history file {} in the background", info.name),
        );
        let path = srv.aof.path(&info.name);
        disk(srv, DiskOp::Remove { file: path });
    }
    let mut am = std::mem::take(&mut srv.aof.manifest);
    am.dirty = true;
    persist_manifest(srv, &mut am);
    srv.aof.manifest = am;
}
