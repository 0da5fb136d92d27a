//! Loading the AOF at start-up (loadAppendOnlyFiles): the BASE file (an
//! RDB image or commands) then every INCR file, replayed through a fake
//! client the way Redis's loader runs them, and opening the files for
//! appending afterwards (aofOpenIfNeededOnServerStart).

use super::{create_truncated, disk, manifest, persist_manifest, AofStatus};
use crate::commands::Ctx;
use crate::networking::Client;
use crate::server::Server;
use crate::{ConnId, DiskOp, LogLevel};

/// loadSingleAppendOnlyFile's results (AOF_OK, AOF_EMPTY, AOF_TRUNCATED,
/// AOF_FAILED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loaded {
    Ok,
    Empty,
    Truncated,
    Failed,
}

/// fgets with Redis's 1024-byte line buffer.
const LINE_MAX: usize = 1023;

/// The connection id of the loader's fake client (it is never listed).
const AOF_CLIENT_CONN: ConnId = ConnId(u64::MAX - 3);

/// Reads the AOF named by the manifest in `srv.options.files`, then opens
/// the INCR file for appending and deletes HISTORY files, as Redis does at
/// start-up. Ok(true) when an AOF existed and was loaded (possibly
/// truncated), Ok(false) when there was none; Err with the last log line
/// when Redis would exit(1).
/// Called again, it returns what the first call returned (Server::new
/// loads at start-up; tests and hosts may ask for the outcome later).
pub fn load_at_startup(srv: &mut Server) -> Result<bool, String> {
    if srv.aof.started {
        return srv.aof.startup_load.clone().unwrap_or(Ok(false));
    }
    srv.aof.started = true;
    let result = load_once(srv);
    srv.aof.startup_load = Some(result.clone());
    result
}

fn load_once(srv: &mut Server) -> Result<bool, String> {
    read_manifest(srv, true)?;
    let mut loaded = false;
    if srv.aof.status == AofStatus::On {
        loaded = load_files(srv)?;
        if loaded {
            srv.log(
                LogLevel::Notice,
                "DB loaded from append only file: 0.000 seconds".into(),
            );
        }
    }
    open_if_needed_on_start(srv);
    super::rewrite::delete_history_files(srv);
    Ok(loaded)
}

/// aofLoadManifestFromDisk: a missing manifest is an empty one. Redis
/// reads it even with the AOF off, so a later rewrite continues its
/// sequence numbers.
pub fn read_manifest(srv: &mut Server, log: bool) -> Result<(), String> {
    for name in srv.options.files.keys() {
        if name.starts_with(&format!("{}/", srv.aof.dirname)) || name.starts_with("temp-") {
            srv.aof.known_files.insert(name.clone());
        }
    }
    let path = srv.aof.path(&manifest::manifest_name(&srv.aof.filename));
    let Some(text) = srv.options.files.get(&path) else {
        return Ok(());
    };
    match manifest::Manifest::parse(text) {
        Ok(am) => {
            srv.aof.manifest = am;
            Ok(())
        }
        Err(e) => {
            if log {
                srv.log(
                    LogLevel::Warning,
                    "\n*** FATAL AOF MANIFEST FILE ERROR ***\n".into(),
                );
                srv.log(LogLevel::Warning, format!("{}\n", e));
            }
            Err(e)
        }
    }
}

/// The size of a manifest file on disk, or Redis's stat failure.
fn file_size(srv: &mut Server, name: &str) -> Result<u64, String> {
    match srv.options.files.get(&srv.aof.path(name)) {
        Some(bytes) => Ok(bytes.len() as u64),
        None => {
            let msg = format!(
                "Unable to obtain the AOF file {} length. stat: No such file or directory",
                name
            );
            srv.log(LogLevel::Warning, msg.clone());
            Err(msg)
        }
    }
}

/// loadAppendOnlyFiles.
fn load_files(srv: &mut Server) -> Result<bool, String> {
    let am = srv.aof.manifest.clone();
    let mut files: Vec<(String, bool)> = Vec::new();
    if let Some(base) = &am.base {
        files.push((base.name.clone(), true));
    }
    files.extend(am.incr.iter().map(|i| (i.name.clone(), false)));
    if files.is_empty() {
        return Ok(false);
    }
    let mut total = 0;
    for (name, _) in &files {
        total += file_size(srv, name)?;
    }
    if total == 0 {
        return Ok(true);
    }
    srv.loading = true;
    // Replayed commands count as changes (rdb_changes_since_last_save), as in Redis.
    let result = load_each(srv, &files);
    srv.loading = false;
    let base_size = result?;
    srv.aof.current_size = total;
    srv.aof.rewrite_base_size = base_size;
    Ok(true)
}

/// Loads the files in order; returns the BASE file's size.
fn load_each(srv: &mut Server, files: &[(String, bool)]) -> Result<u64, String> {
    let mut base_size = 0;
    for (index, (name, is_base)) in files.iter().enumerate() {
        let last = index + 1 == files.len();
        if *is_base {
            base_size = file_size(srv, name)?;
        }
        let ret = load_single(srv, name);
        let kind = if *is_base { "base" } else { "incr" };
        if ret == Loaded::Ok || (ret == Loaded::Truncated && last) {
            srv.log(
                LogLevel::Notice,
                format!("DB loaded from {} file {}: 0.000 seconds", kind, name),
            );
        }
        if ret == Loaded::Truncated && !last {
            let msg = "Fatal error: the truncated file is not the last file".to_string();
            srv.log(LogLevel::Warning, msg.clone());
            return Err(msg);
        }
        if ret == Loaded::Failed {
            return Err(last_warning(srv));
        }
    }
    Ok(base_size)
}

fn last_warning(srv: &Server) -> String {
    srv.outputs
        .iter()
        .rev()
        .find_map(|o| match o {
            crate::Output::Log(l) if l.level == LogLevel::Warning => Some(l.message.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "AOF loading failed".into())
}

/// How a replay stopped before the end of the file.
enum Stop {
    /// Unexpected end of file (uxeof).
    Eof,
    /// Bad format (fmterr).
    Format,
    /// A command Redis does not know.
    Unknown(Vec<u8>),
}

/// loadSingleAppendOnlyFile.
fn load_single(srv: &mut Server, name: &str) -> Loaded {
    let path = srv.aof.path(name);
    let data = srv.options.files.get(&path).cloned().unwrap_or_default();
    if data.is_empty() {
        return Loaded::Empty;
    }
    let mut pos = 0;
    if data.starts_with(b"REDIS") {
        if name == srv.aof.filename {
            srv.log(
                LogLevel::Notice,
                "Reading RDB preamble from AOF file...".into(),
            );
        } else {
            srv.log(
                LogLevel::Notice,
                "Reading RDB base file on AOF loading...".into(),
            );
        }
        let opts = crate::rdb::LoadOptions {
            limits: crate::rdb::limits_from_config(&srv.config),
            ..crate::rdb::LoadOptions::new(srv.dbs.len())
        };
        match crate::rdb::load_with(&data, &opts) {
            Ok(loaded) => {
                srv.dbs = loaded.dbs;
                pos = data.len();
            }
            Err(e) => {
                srv.log(
                    LogLevel::Warning,
                    format!(
                        "Error reading the RDB base file {}, AOF loading aborted",
                        name
                    ),
                );
                srv.log(
                    LogLevel::Warning,
                    format!(
                        "Unrecoverable error reading the append only file {}: {}",
                        name, e
                    ),
                );
                return Loaded::Failed;
            }
        }
    }
    // The fake client (createAOFClient) is in the client table while it replays.
    let c = Client::new(u64::MAX, AOF_CLIENT_CONN, String::new(), srv.mstime());
    srv.clients.insert(AOF_CLIENT_CONN, Box::new(c));
    let outcome = replay(srv, &data, pos, name);
    crate::multi::discard_transaction(srv, AOF_CLIENT_CONN);
    srv.clients.remove(&AOF_CLIENT_CONN);
    match outcome {
        Ok(()) => Loaded::Ok,
        Err((Stop::Eof, valid_up_to)) => truncated_end(srv, name, valid_up_to),
        Err((Stop::Format, _)) => {
            srv.log(LogLevel::Warning, format!("Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", name));
            Loaded::Failed
        }
        Err((Stop::Unknown(cmd), _)) => {
            srv.log(
                LogLevel::Warning,
                format!(
                    "Unknown command '{}' reading the append only file {}",
                    String::from_utf8_lossy(&cmd),
                    name
                ),
            );
            Loaded::Failed
        }
    }
}

/// uxeof: cut the file at the last complete command when allowed.
fn truncated_end(srv: &mut Server, name: &str, valid_up_to: u64) -> Loaded {
    if srv.config.bool("aof-load-truncated") {
        srv.log(
            LogLevel::Warning,
            format!(
                "!!! Warning: short read while loading the AOF file {}!!!",
                name
            ),
        );
        srv.log(
            LogLevel::Warning,
            format!(
                "!!! Truncating the AOF {} at offset {} !!!",
                name, valid_up_to
            ),
        );
        let path = srv.aof.path(name);
        disk(
            srv,
            DiskOp::Truncate {
                file: path.clone(),
                len: valid_up_to,
            },
        );
        if let Some(bytes) = srv.options.files.get_mut(&path) {
            bytes.truncate(valid_up_to as usize);
        }
        srv.log(
            LogLevel::Warning,
            format!(
                "AOF {} loaded anyway because aof-load-truncated is enabled",
                name
            ),
        );
        return Loaded::Truncated;
    }
    srv.log(
        LogLevel::Warning,
        format!(
            "Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
            name
        ),
    );
    Loaded::Failed
}

/// fgets: the next line (through '\n', at most LINE_MAX bytes), or None at EOF.
fn next_line<'a>(data: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    if *pos >= data.len() {
        return None;
    }
    let window = &data[*pos..data.len().min(*pos + LINE_MAX)];
    let len = window
        .iter()
        .position(|&b| b == b'\n')
        .map_or(window.len(), |i| i + 1);
    let line = &window[..len];
    *pos += len;
    Some(line)
}

/// atoi/strtol on what follows the type byte.
fn leading_int(line: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(&line[1..]);
    let digits: String = text
        .trim_start()
        .chars()
        .enumerate()
        .take_while(|(i, ch)| ch.is_ascii_digit() || (*i == 0 && (*ch == '-' || *ch == '+')))
        .map(|(_, ch)| ch)
        .collect();
    digits.parse().ok().or(Some(0))
}

/// Reads one command's argv at `pos`; Ok(None) at a clean end of file.
fn read_command(data: &[u8], pos: &mut usize) -> Result<Option<Vec<Vec<u8>>>, Stop> {
    let line = loop {
        let Some(line) = next_line(data, pos) else {
            return Ok(None);
        };
        if line[0] != b'#' {
            break line;
        }
    };
    if line[0] != b'*' {
        return Err(Stop::Format);
    }
    if line.len() == 1 {
        return Err(Stop::Eof);
    }
    let argc = leading_int(line).unwrap_or(0);
    if argc < 1 {
        return Err(Stop::Format);
    }
    let mut argv = Vec::new();
    for _ in 0..argc {
        let Some(line) = next_line(data, pos) else {
            return Err(Stop::Eof);
        };
        if line[0] != b'$' {
            return Err(Stop::Format);
        }
        let len = leading_int(line).unwrap_or(0);
        if len < 0 {
            return Err(Stop::Format);
        }
        let len = len as usize;
        if data.len() - *pos < len {
            return Err(Stop::Eof);
        }
        argv.push(data[*pos..*pos + len].to_vec());
        *pos += len;
        // The CRLF after the argument is skipped unchecked, as fread(buf,2,1) does.
        if data.len() - *pos < 2 {
            return Err(Stop::Eof);
        }
        *pos += 2;
    }
    Ok(Some(argv))
}

/// Replays commands from `pos` with the fake client. Err carries where the
/// last complete command (or an unfinished MULTI) ends.
fn replay(srv: &mut Server, data: &[u8], mut pos: usize, name: &str) -> Result<(), (Stop, u64)> {
    let mut valid_up_to = pos as u64;
    let mut valid_before_multi = valid_up_to;
    let track = srv.config.bool("aof-load-truncated");
    loop {
        let argv = match read_command(data, &mut pos) {
            Ok(Some(argv)) => argv,
            Ok(None) => break,
            Err(stop) => return Err((stop, valid_up_to)),
        };
        let Some(base) = srv.table.lookup(&argv[0]) else {
            return Err((Stop::Unknown(argv[0].clone()), valid_up_to));
        };
        let Ok((cmd, _)) = crate::commands::resolve(base, &argv) else {
            return Err((Stop::Unknown(argv[0].clone()), valid_up_to));
        };
        if !base.arity_ok(argv.len()) || !cmd.arity_ok(argv.len()) {
            // Redis would run the handler anyway; redsim's handlers rely on arity.
            return Err((Stop::Format, valid_up_to));
        }
        if cmd.name == "multi" {
            valid_before_multi = valid_up_to;
        }
        if srv.client_mut(AOF_CLIENT_CONN).in_multi && cmd.name != "exec" {
            crate::multi::queue_command(srv.client_mut(AOF_CLIENT_CONN), cmd, &argv);
        } else {
            srv.also_propagate.clear();
            (cmd.handler)(&mut Ctx::new(srv, AOF_CLIENT_CONN, &argv));
            // Nothing propagates or wakes WATCHers while loading (call() is bypassed).
            srv.pending_propagate.clear();
            srv.watch.clear_pending();
        }
        srv.client_mut(AOF_CLIENT_CONN).reply.take();
        if track {
            valid_up_to = pos as u64;
        }
    }
    if srv.client_mut(AOF_CLIENT_CONN).in_multi {
        srv.log(
            LogLevel::Warning,
            format!(
                "Revert incomplete MULTI/EXEC transaction in AOF file {}",
                name
            ),
        );
        return Err((Stop::Eof, valid_before_multi));
    }
    Ok(())
}

/// aofOpenIfNeededOnServerStart: an empty start gets a BASE file written
/// synchronously; then the last INCR file (or a new one) is opened and the
/// manifest persisted.
pub fn open_if_needed_on_start(srv: &mut Server) {
    srv.aof.started = true;
    if srv.aof.status != AofStatus::On || srv.aof.incr_file.is_some() {
        return;
    }
    let had_incr = !srv.aof.manifest.incr.is_empty();
    let mut am = std::mem::take(&mut srv.aof.manifest);
    if am.base.is_none() && !had_incr {
        let preamble = srv.config.bool("aof-use-rdb-preamble");
        let base = am.new_base_marking_previous(&srv.aof.filename, preamble);
        write_base_sync(srv, &base);
        srv.log(
            LogLevel::Notice,
            format!("Creating AOF base file {} on server start", base),
        );
    }
    let name = am.last_incr_or_new(&srv.aof.filename);
    let path = srv.aof.path(&name);
    // O_APPEND|O_CREAT: an existing file keeps its contents.
    disk(
        srv,
        DiskOp::Append {
            file: path.clone(),
            bytes: Vec::new(),
        },
    );
    persist_manifest(srv, &mut am);
    srv.aof.manifest = am;
    let size = srv.options.files.get(&path).map_or(0, |b| b.len() as u64);
    srv.aof.last_incr_size = size;
    srv.aof.last_incr_fsync_offset = size;
    srv.aof.incr_file = Some(path);
    let verb = if had_incr { "Opening" } else { "Creating" };
    srv.log(
        LogLevel::Notice,
        format!("{} AOF incr file {} on server start", verb, name),
    );
}

/// rewriteAppendOnlyFile in the main process: temp file, fsync, rename.
fn write_base_sync(srv: &mut Server, base: &str) {
    let tmp = format!("temp-rewriteaof-{}.aof", srv.options.pid);
    let bytes = super::rewrite::base_image(srv);
    create_truncated(srv, &tmp);
    disk(
        srv,
        DiskOp::Append {
            file: tmp.clone(),
            bytes,
        },
    );
    let token = srv.aof.next_token;
    srv.aof.next_token += 1;
    disk(
        srv,
        DiskOp::Fsync {
            file: tmp.clone(),
            token,
            blocking: true,
        },
    );
    disk(
        srv,
        DiskOp::Rename {
            from: tmp,
            to: srv.aof.path(base),
        },
    );
}
