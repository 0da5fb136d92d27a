//! SHUTDOWN and the SIGTERM / SIGINT shutdown (prepareForShutdown,
//! finishShutdown, the signal handler's shutdown_asap checked in serverCron).
//!
//! The engine cannot exit a process: a finished shutdown marks the engine
//! exited with code 0 (an "exit" event), and the host ends the process.
//! Redis 7.0 can wait up to shutdown-timeout seconds for lagging replicas
//! before it exits; this model does not wait (as with SHUTDOWN NOW).

use crate::commands::{flags, Command, Ctx};
use crate::reply::errors;
use crate::server::Server;
use crate::util::eq_ic;
use crate::LogLevel;

/// SIGINT and SIGTERM, the two signals Redis shuts down on.
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;

/// The SHUTDOWN flags (SHUTDOWN_SAVE, _NOSAVE, _NOW, _FORCE).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownFlags {
    pub save: bool,
    pub nosave: bool,
    pub now: bool,
    pub force: bool,
}

/// The signal handler's side of a shutdown: what Redis keeps in
/// shutdown_asap and last_sig_received.
#[derive(Debug, Clone, Default)]
pub struct ShutdownState {
    /// A signal asked for a shutdown that serverCron has not tried yet.
    pub asap_signal: Option<i32>,
    /// The process exited: its exit code (0 after a clean shutdown).
    pub exit_code: Option<i32>,
}

/// sigShutdownHandler: the host delivers SIGTERM or SIGINT. Returns the
/// exit code when the process must exit at once (a second SIGINT).
pub fn signal(srv: &mut Server, sig: i32) -> Option<i32> {
    if srv.shutdown.asap_signal.is_some() && sig == SIGINT {
        srv.log(LogLevel::Warning, "You insist... exiting now.".into());
        exit(srv, 1, "a second SIGINT");
        return Some(1);
    }
    let msg = match sig {
        SIGINT => "Received SIGINT scheduling shutdown...",
        SIGTERM => "Received SIGTERM scheduling shutdown...",
        _ => "Received shutdown signal, scheduling shutdown...",
    };
    srv.log(LogLevel::Warning, msg.into());
    srv.shutdown.asap_signal = Some(sig);
    None
}

/// serverCron's shutdown check: shutdown-on-sigterm / shutdown-on-sigint
/// pick the flags ("default" keeps none).
pub fn cron(srv: &mut Server) {
    let Some(sig) = srv.shutdown.asap_signal else {
        return;
    };
    let setting = match sig {
        SIGINT => srv.config.get("shutdown-on-sigint"),
        _ => srv.config.get("shutdown-on-sigterm"),
    }
    .unwrap_or_default();
    let words: Vec<&str> = setting.split_whitespace().collect();
    let flags = ShutdownFlags {
        save: words.contains(&"save"),
        nosave: words.contains(&"nosave"),
        now: words.contains(&"now"),
        force: words.contains(&"force"),
    };
    srv.shutdown.asap_signal = None;
    if !prepare(srv, flags) {
        let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
        srv.log(LogLevel::Warning, format!("{} received but errors trying to shut down the server, check the logs for more information", name));
    }
}

/// prepareForShutdown + finishShutdown. true: the engine has exited (code 0);
/// false: the shutdown failed (logged) and the server goes on.
pub fn prepare(srv: &mut Server, mut flags: ShutdownFlags) -> bool {
    // Sentinel mode never saves: SAVE is cleared and NOSAVE forced.
    if srv.sentinel.is_some() {
        flags.save = false;
        flags.nosave = true;
    }
    srv.log(LogLevel::Warning, "User requested shutdown...".into());
    if !finish(srv, flags) {
        srv.log(
            LogLevel::Warning,
            "Errors trying to shut down the server. Check the logs for more information.".into(),
        );
        return false;
    }
    let who = if srv.sentinel.is_some() {
        "Sentinel"
    } else {
        "Redis"
    };
    srv.log(
        LogLevel::Warning,
        format!("{} is now ready to exit, bye bye...", who),
    );
    exit(srv, 0, "shutdown");
    true
}

/// finishShutdown: false when the AOF cannot be left (Redis's `goto error`).
fn finish(srv: &mut Server, flags: ShutdownFlags) -> bool {
    if srv.rdb.child_type.is_some() {
        srv.log(
            LogLevel::Warning,
            "There is a child saving an .rdb. Killing it!".into(),
        );
        kill_rdb_child(srv);
    }
    if crate::aof::prepare_for_shutdown(srv, flags.force).is_err() {
        return false;
    }
    if (!srv.config.hot.save_points.is_empty() && !flags.nosave) || flags.save {
        srv.log(
            LogLevel::Notice,
            "Saving the final RDB snapshot before exiting.".into(),
        );
        // The save's file operations go to the host in order before the
        // exit; a host that cannot complete them must not report success.
        crate::rdb::bgsave::rdb_save(srv);
    }
    true
}

/// killRDBChild and rdbRemoveTempFile: the child is stopped and its temp
/// file removed; its exit is never reaped.
fn kill_rdb_child(srv: &mut Server) {
    let Some(child) = srv.child.take() else {
        return;
    };
    crate::memory::child_ended(srv, child.kind);
    crate::memory::discard_cow_report(srv);
    srv.outputs
        .push_back(crate::Output::Disk(crate::DiskOp::Remove {
            file: crate::rdb::bgsave::temp_file(child.pid),
        }));
    srv.rdb.child_type = None;
    srv.rdb.child_image = None;
    srv.rdb.save_time_start_s = -1;
}

pub(crate) fn exit(srv: &mut Server, code: i32, why: &str) {
    srv.shutdown.exit_code = Some(code);
    srv.rdb.exited = Some(why.to_string());
    srv.event("exit", format!("code {}: {}", code, why));
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT].
fn shutdown_command(ctx: &mut Ctx) {
    let mut flags = ShutdownFlags::default();
    let mut abort = false;
    for arg in ctx.argv.iter().skip(1) {
        match () {
            _ if eq_ic(arg, "nosave") => flags.nosave = true,
            _ if eq_ic(arg, "save") => flags.save = true,
            _ if eq_ic(arg, "now") => flags.now = true,
            _ if eq_ic(arg, "force") => flags.force = true,
            _ if eq_ic(arg, "abort") => abort = true,
            _ => return ctx.reply().err(errors::SYNTAX),
        }
    }
    if (abort && flags != ShutdownFlags::default()) || (flags.save && flags.nosave) {
        return ctx.reply().err(errors::SYNTAX);
    }
    if abort {
        if ctx.srv.shutdown.asap_signal.take().is_some() {
            ctx.srv
                .log(LogLevel::Notice, "Shutdown manually aborted.".into());
            return ctx.reply().ok();
        }
        return ctx.reply().err("ERR No shutdown in progress.");
    }
    if !prepare(ctx.srv, flags) {
        ctx.reply()
            .err("ERR Errors trying to SHUTDOWN. Check logs.");
    }
}

pub const COMMANDS: &[Command] = &[Command::new(
    "shutdown",
    -1,
    flags::ADMIN | flags::NOSCRIPT | flags::LOADING | flags::STALE,
    shutdown_command,
)];
