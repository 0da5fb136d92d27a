//! Start-up loading (loadDataFromDisk): the AOF when appendonly is yes,
//! else `dbfilename` from the files the node's `dir` held at process start.
//! Loading blocks the loop for its CPU time; a file that cannot be read
//! makes the process exit, as Redis does.

use crate::server::Server;
use crate::LogLevel;

/// What a loaded image says about replication (rdbSaveInfo).
pub struct LoadedInfo {
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    pub has_stream_db: bool,
}

/// loadDataFromDisk, called from Server::new.
pub fn load_data_from_disk(srv: &mut Server) {
    let start_ns = srv.cost.ns();
    if srv.config.bool("appendonly") {
        if let Err(e) = crate::aof::load_at_startup(srv) {
            exit(srv, &e);
        }
        return;
    }
    let name = super::bgsave::dbfilename(srv);
    let Some(image) = srv.options.files.get(&name).cloned() else {
        return;
    };
    match load_file(srv, &image) {
        Ok(info) => {
            let seconds = (srv.cost.ns() - start_ns) as f64 / 1e9;
            srv.log(
                LogLevel::Notice,
                format!("DB loaded from disk: {:.3} seconds", seconds),
            );
            restore_replication_info(srv, &info);
            srv.rdb.image = Some(image);
        }
        Err(e) => fatal_load_error(srv, &e),
    }
}

fn load_file(srv: &mut Server, image: &[u8]) -> Result<LoadedInfo, String> {
    load_image_info(srv, image, false)
}

/// Loads an image into the (empty, or merged with MERGE) keyspace.
pub fn load_image(srv: &mut Server, image: &[u8], merge: bool) -> Result<(), String> {
    load_image_info(srv, image, merge).map(|_| ())
}

fn load_image_info(srv: &mut Server, image: &[u8], merge: bool) -> Result<LoadedInfo, String> {
    let is_master = srv.repl.master.is_none();
    let opts = crate::rdb::LoadOptions {
        limits: crate::rdb::limits_from_config(&srv.config),
        // A master drops keys that expired while the file sat on disk.
        discard_expired_before_ms: if is_master { Some(srv.mstime()) } else { None },
        ..crate::rdb::LoadOptions::new(srv.dbs.len())
    };
    let loaded = crate::rdb::load_with(image, &opts)?;
    log_aux(srv, &loaded.aux);
    let mut keys = 0u64;
    for (i, db) in loaded.dbs.into_iter().enumerate() {
        keys += db.dict.len() as u64;
        if srv.dbs[i].dict.is_empty() {
            srv.dbs[i] = db;
            continue;
        }
        for (key, entry) in db.dict {
            if srv.dbs[i].dict.contains_key(&key) && !merge {
                return Err(format!(
                    "Duplicate key '{}' loading the RDB",
                    String::from_utf8_lossy(&key)
                ));
            }
            srv.dbs[i].expires.swap_remove(&key);
            if let Some(when) = db.expires.get(&key) {
                srv.dbs[i].expires.insert(key.clone(), *when);
            }
            srv.dbs[i].dict.insert(key, entry);
        }
    }
    srv.cost
        .block_us(crate::cost::rdb_load_us(keys, image.len() as u64));
    srv.rdb.last_load_keys_loaded = keys;
    srv.rdb.last_load_keys_expired = loaded.expired_keys_skipped as u64;
    let expired = loaded.expired_keys_skipped;
    if loaded.empty_keys_skipped > 0 {
        let msg = format!(
            "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
            keys, expired, loaded.empty_keys_skipped
        );
        srv.log(LogLevel::Warning, msg);
    } else {
        srv.log(
            LogLevel::Notice,
            format!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                keys, expired
            ),
        );
    }
    let has_stream_db = loaded.aux.iter().any(|(k, _)| k == b"repl-stream-db");
    Ok(LoadedInfo {
        repl_id: loaded.repl_id,
        repl_offset: loaded.repl_offset,
        has_stream_db,
    })
}

/// The AUX fields rdbLoadRio logs.
fn log_aux(srv: &mut Server, aux: &[(Vec<u8>, Vec<u8>)]) {
    for (k, v) in aux {
        let text = String::from_utf8_lossy(v).into_owned();
        match k.as_slice() {
            b"redis-ver" => srv.log(
                LogLevel::Notice,
                format!("Loading RDB produced by version {}", text),
            ),
            b"ctime" => {
                let age = (srv.unixtime() - text.parse::<i64>().unwrap_or(0)).max(0);
                srv.log(LogLevel::Notice, format!("RDB age {} seconds", age));
            }
            b"used-mem" => {
                let mb = text.parse::<i64>().unwrap_or(0) as f64 / (1024.0 * 1024.0);
                srv.log(
                    LogLevel::Notice,
                    format!("RDB memory usage when created {:.2} Mb", mb),
                );
            }
            b"aof-preamble" if text.parse::<i64>().unwrap_or(0) != 0 => {
                srv.log(LogLevel::Notice, "RDB has an AOF tail".into())
            }
            b"aof-base" if text.parse::<i64>().unwrap_or(0) != 0 => {
                srv.log(LogLevel::Notice, "RDB is base AOF".into())
            }
            _ => {}
        }
    }
}

/// The replication id and offset saved in the file: a replica caches a
/// master made of them (so it can PSYNC after a restart); a master keeps
/// them as its secondary id.
fn restore_replication_info(srv: &mut Server, info: &LoadedInfo) {
    let (Some(id), Some(offset)) = (info.repl_id.as_ref(), info.repl_offset) else {
        return;
    };
    if id.len() != 40 || offset == -1 || !info.has_stream_db {
        return;
    }
    if srv.repl.master.is_some() {
        srv.repl.replid = id.clone();
        srv.repl.master_repl_offset = offset;
        srv.repl.cached_master = Some((id.clone(), offset));
    } else {
        srv.repl.replid2 = id.clone();
        srv.repl.second_replid_offset = offset + 1;
        srv.repl.master_repl_offset += offset;
        crate::replication::create_backlog(srv);
        srv.repl.no_slaves_since_s = srv.unixtime();
    }
}

/// rdbLoad failed on a file: Redis logs why and exits(1).
fn fatal_load_error(srv: &mut Server, e: &str) {
    if e.starts_with("Unexpected EOF") {
        srv.log(
            LogLevel::Warning,
            "Short read or OOM loading DB. Unrecoverable error, aborting now.".into(),
        );
        srv.log(
            LogLevel::Warning,
            format!(
                "Internal error in RDB reading offset 0, function at rdb.c:3240 -> {}",
                e
            ),
        );
        srv.log(
            LogLevel::Warning,
            "Terminating server after rdb file reading failure.".into(),
        );
    } else if e.starts_with("Wrong signature") || e.starts_with("Can't handle RDB format") {
        srv.log(LogLevel::Warning, e.to_string());
        srv.log(
            LogLevel::Warning,
            "Fatal error loading the DB: Invalid argument. Exiting.".into(),
        );
    } else {
        srv.log(
            LogLevel::Warning,
            format!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}",
                e
            ),
        );
        srv.log(
            LogLevel::Warning,
            "Terminating server after rdb file reading failure.".into(),
        );
    }
    exit(srv, e);
}

/// exit(1): the engine stops serving; the host sees an "exit" event and
/// [`crate::Engine::exited`].
pub fn exit(srv: &mut Server, reason: &str) {
    srv.rdb.exited = Some(reason.to_string());
    srv.event("exit", format!("code 1: {}", reason));
}
