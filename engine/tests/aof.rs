//! The append-only file, driven through the Engine API with the disk
//! operations applied to a temp dir, and checked against the real tools:
//! redis-check-aof 7.0.15 accepts what redsim writes, redis-server 7.0.15
//! loads it to the same dataset, and redsim loads what redis-server wrote.
//! Ports 7931-7939 are this file's.

use redsim_engine::{
    ChildExitStatus, ChildJob, Config, ConnId, DiskOp, Engine, EngineOptions, Input, Output,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// 2033: later than the real clock, so TTLs the engine wrote are still in
/// the future when the real redis-server loads the files.
const T0: u64 = 2_000_000_000_000_000;
const CLIENT: ConnId = ConnId(1);

/// A redsim node whose disk is a real directory.
struct Node {
    eng: Engine,
    now: u64,
    dir: PathBuf,
    /// Every output, in order, since the last `take`.
    log: Vec<Output>,
    /// Background fsyncs not yet answered.
    fsyncs: Vec<u64>,
    /// Forked children not yet run: (pid, job).
    children: Vec<(u32, ChildJob)>,
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redsim-aof-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under `dir`, relative to it.
fn read_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

impl Node {
    fn start(dir: &Path, conf: &[&str]) -> Node {
        let config = Config::from_conf_lines(conf).unwrap();
        let options = EngineOptions {
            seed: 7,
            pid: 100,
            port: 6379,
            files: read_files(dir),
            ..Default::default()
        };
        let eng = Engine::new(config, options, T0);
        let mut node = Node {
            eng,
            now: T0,
            dir: dir.to_path_buf(),
            log: Vec::new(),
            fsyncs: Vec::new(),
            children: Vec::new(),
        };
        node.drain();
        node
    }

    /// Start-up load, as the rdbsave helper's loader calls it.
    fn load(&mut self) -> Result<bool, String> {
        let r = redsim_engine::aof::load_at_startup(self.eng.server_mut());
        self.drain();
        r
    }

    fn apply(&mut self, op: &DiskOp) {
        let path = |f: &str| self.dir.join(f);
        match op {
            DiskOp::Append { file, bytes } => {
                std::fs::create_dir_all(path(file).parent().unwrap()).unwrap();
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path(file))
                    .unwrap();
                f.write_all(bytes).unwrap();
            }
            DiskOp::Truncate { file, len } => {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path(file))
                    .unwrap()
                    .set_len(*len)
                    .unwrap();
            }
            DiskOp::Fsync {
                file,
                token,
                blocking,
            } => {
                assert!(path(file).exists(), "fsync of a missing file {}", file);
                if !blocking {
                    self.fsyncs.push(*token);
                }
            }
            DiskOp::Rename { from, to } => {
                std::fs::create_dir_all(path(to).parent().unwrap()).unwrap();
                std::fs::rename(path(from), path(to))
                    .unwrap_or_else(|e| panic!("rename {} -> {}: {}", from, to, e));
            }
            // unlink(2) of a file a killed child never created: ENOENT, as in the sim's disk.
            DiskOp::Remove { file } => match std::fs::remove_file(path(file)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    panic!("remove {}: {}", file, e)
                }
                _ => {}
            },
        }
    }

    fn drain(&mut self) {
        while let Some(out) = self.eng.poll_output() {
            match &out {
                Output::Disk(op) => self.apply(op),
                Output::Fork(req) => self.children.push((req.pid, req.job.clone())),
                _ => {}
            }
            self.log.push(out);
        }
    }

    fn take(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.log)
    }

    fn connect(&mut self) {
        self.eng.handle_input(
            self.now,
            Input::Accepted {
                conn: CLIENT,
                peer: "127.0.0.1:5000".into(),
                local_port: 6379,
            },
        );
        self.drain();
    }

    /// Sends one command from the connected client; returns its reply bytes.
    fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let mut req = Vec::new();
        redsim_engine::resp::encode_command_into(&mut req, args);
        self.eng.handle_input(
            self.now,
            Input::Data {
                conn: CLIENT,
                bytes: &req,
            },
        );
        self.drain();
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Send { conn, bytes } if *conn == CLIENT => Some(bytes.clone()),
                _ => None,
            })
            .next_back()
            .unwrap_or_default()
    }

    fn admin(&mut self, args: &[&str]) -> String {
        let (reply, _) = self.eng.admin_command(
            self.now,
            args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        );
        self.drain();
        String::from_utf8_lossy(&reply).into_owned()
    }

    /// Moves the clock and runs every timer due on the way.
    fn advance_ms(&mut self, ms: u64) {
        let end = self.now + ms * 1000;
        while let Some(t) = self.eng.poll_timeout().filter(|&t| t <= end) {
            self.now = t.max(self.now);
            self.eng.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    fn fsync_done_all(&mut self) {
        for token in std::mem::take(&mut self.fsyncs) {
            self.eng.handle_input(self.now, Input::FsyncDone { token });
            self.drain();
        }
    }

    /// The host runs each child: writes its file, renames, exits with `status`.
    fn run_children(&mut self, status: ChildExitStatus) {
        for (pid, job) in std::mem::take(&mut self.children) {
            if let (
                ChildJob::WriteFile {
                    file,
                    bytes,
                    rename_to,
                    ..
                },
                ChildExitStatus::Ok,
            ) = (&job, status)
            {
                std::fs::write(self.dir.join(file), bytes).unwrap();
                if let Some(to) = rename_to {
                    std::fs::rename(self.dir.join(file), self.dir.join(to)).unwrap();
                }
            }
            self.eng
                .handle_input(self.now, Input::ChildExit { pid, status });
            self.drain();
        }
    }

    fn info(&mut self, field: &str) -> String {
        let fields = self.eng.info_fields(self.now);
        fields
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no INFO field {}", field))
    }

    fn logs(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Log(l) => Some(l.message.clone()),
                _ => None,
            })
            .collect()
    }

    fn manifest(&self) -> String {
        std::fs::read_to_string(self.dir.join("appendonlydir/appendonly.aof.manifest")).unwrap()
    }
}

fn disk_ops(outputs: &[Output]) -> Vec<DiskOp> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Disk(op) => Some(op.clone()),
            _ => None,
        })
        .collect()
}

fn is_fsync(op: &DiskOp, want_blocking: bool) -> bool {
    matches!(op, DiskOp::Fsync { blocking, .. } if *blocking == want_blocking)
}

const INCR1: &str = "appendonlydir/appendonly.aof.1.incr.aof";

#[test]
fn aof_startup_creates_base_incr_and_manifest_like_redis() {
    let dir = temp_dir("startup");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    assert_eq!(n.load(), Ok(false));
    let logs = n.logs();
    assert!(
        logs.contains(
            &"Creating AOF base file appendonly.aof.1.base.rdb on server start".to_string()
        ),
        "{:?}",
        logs
    );
    assert!(
        logs.contains(
            &"Creating AOF incr file appendonly.aof.1.incr.aof on server start".to_string()
        ),
        "{:?}",
        logs
    );
    assert_eq!(n.manifest(), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    let files = read_files(&dir);
    let names: Vec<&String> = files.keys().collect();
    assert_eq!(
        names,
        [
            "appendonlydir/appendonly.aof.1.base.rdb",
            INCR1,
            "appendonlydir/appendonly.aof.manifest"
        ]
    );
    let base = &files["appendonlydir/appendonly.aof.1.base.rdb"];
    assert!(base.starts_with(b"REDIS0010"));
    // Like Redis's preamble: aof-base 1 and no replication aux fields.
    assert!(
        base.windows(10).any(|w| w == b"aof-base\xc0\x01"),
        "{:?}",
        String::from_utf8_lossy(base)
    );
    assert!(!base.windows(7).any(|w| w == b"repl-id"));
    let rdb_check = Command::new(require_tool("redis-check-rdb"))
        .arg(dir.join("appendonlydir/appendonly.aof.1.base.rdb"))
        .output()
        .unwrap();
    assert!(
        rdb_check.status.success(),
        "{}",
        String::from_utf8_lossy(&rdb_check.stdout)
    );
    assert_eq!(files[INCR1].len(), 0);
    // As in redis-server after an empty start.
    assert_eq!(
        (
            n.info("aof_enabled").as_str(),
            n.info("aof_current_size").as_str(),
            n.info("aof_base_size").as_str()
        ),
        ("1", "0", "0")
    );
}

#[test]
fn aof_is_written_before_the_reply_and_fsynced_once_per_second_under_everysec() {
    let dir = temp_dir("everysec");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    n.take();
    n.now += 1_000_000;
    assert_eq!(n.cmd(&["SET", "a", "1"]), b"+OK\r\n");
    let out = n.take();
    let append = out
        .iter()
        .position(|o| matches!(o, Output::Disk(DiskOp::Append { file, .. }) if file == INCR1))
        .expect("an AOF write");
    let reply = out
        .iter()
        .position(|o| matches!(o, Output::Send { .. }))
        .expect("a reply");
    assert!(
        append < reply,
        "the AOF write comes before the reply: {:?}",
        out
    );
    let ops = disk_ops(&out);
    assert_eq!(
        ops.iter().filter(|o| is_fsync(o, false)).count(),
        1,
        "{:?}",
        ops
    );
    assert!(!ops.iter().any(|o| is_fsync(o, true)));
    // Same second: written, not synced again.
    n.fsync_done_all();
    n.cmd(&["SET", "b", "2"]);
    n.cmd(&["SELECT", "2"]);
    n.cmd(&["SET", "c", "3"]);
    let ops = disk_ops(&n.take());
    assert_eq!(
        ops.iter()
            .filter(|o| matches!(o, DiskOp::Append { .. }))
            .count(),
        2
    );
    assert_eq!(ops.iter().filter(|o| is_fsync(o, false)).count(), 0);
    // Idle: 7.0 syncs the unsynced tail within the next second anyway.
    n.advance_ms(1100);
    let ops = disk_ops(&n.take());
    assert_eq!(
        ops.iter().filter(|o| is_fsync(o, false)).count(),
        1,
        "{:?}",
        ops
    );
    let text = std::fs::read(dir.join(INCR1)).unwrap();
    let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n\
                    *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n";
    assert_eq!(String::from_utf8_lossy(&text), expected);
    assert_eq!(n.info("aof_current_size"), expected.len().to_string());
}

#[test]
fn aof_everysec_postpones_the_write_up_to_two_seconds_behind_a_slow_fsync() {
    let dir = temp_dir("postpone");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    n.now += 1_000_000;
    n.cmd(&["SET", "a", "1"]);
    assert_eq!(
        n.fsyncs.len(),
        1,
        "the first write starts a background fsync"
    );
    assert_eq!(n.info("aof_pending_bio_fsync"), "1");
    n.take();
    // The fsync hangs for 3 s. The next write is postponed, its reply is not.
    n.now += 100_000;
    assert_eq!(n.cmd(&["SET", "b", "2"]), b"+OK\r\n");
    assert!(!disk_ops(&n.take())
        .iter()
        .any(|o| matches!(o, DiskOp::Append { .. })));
    assert_ne!(n.info("aof_buffer_length"), "0");
    n.advance_ms(1000);
    assert!(
        !disk_ops(&n.take())
            .iter()
            .any(|o| matches!(o, DiskOp::Append { .. })),
        "still within 2 s"
    );
    assert_eq!(n.info("aof_delayed_fsync"), "0");
    n.advance_ms(1000);
    let out = n.take();
    assert!(
        disk_ops(&out)
            .iter()
            .any(|o| matches!(o, DiskOp::Append { .. })),
        "written after 2 s"
    );
    let logs: Vec<String> = out
        .iter()
        .filter_map(|o| {
            if let Output::Log(l) = o {
                Some(l.message.clone())
            } else {
                None
            }
        })
        .collect();
    assert!(logs.contains(&"Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.".to_string()));
    n.advance_ms(1000);
    assert_eq!(n.info("aof_delayed_fsync"), "1");
    assert_eq!(n.info("aof_buffer_length"), "0");
    // The slow fsync ends: the tail written past it gets its own fsync at once.
    n.fsync_done_all();
    assert_eq!(n.info("aof_pending_bio_fsync"), "1");
    n.fsync_done_all();
    assert_eq!(n.info("aof_pending_bio_fsync"), "0");
}

#[test]
fn aof_always_fsyncs_blocking_before_the_reply_and_no_never_fsyncs() {
    let dir = temp_dir("always");
    let mut n = Node::start(&dir, &["appendonly yes", "appendfsync always"]);
    n.load().unwrap();
    n.connect();
    n.take();
    n.cmd(&["SET", "a", "1"]);
    let out = n.take();
    let fsync = out
        .iter()
        .position(|o| matches!(o, Output::Disk(op) if is_fsync(op, true)))
        .expect("a blocking fsync");
    let reply = out
        .iter()
        .position(|o| matches!(o, Output::Send { .. }))
        .unwrap();
    assert!(fsync < reply);
    n.cmd(&["GET", "a"]);
    assert!(disk_ops(&n.take()).is_empty(), "reads write nothing");

    let dir = temp_dir("no");
    let mut n = Node::start(&dir, &["appendonly yes", "appendfsync no"]);
    n.load().unwrap();
    n.connect();
    for i in 0..5 {
        n.cmd(&["SET", "k", &i.to_string()]);
        n.advance_ms(700);
    }
    let ops = disk_ops(&n.take());
    assert_eq!(ops.iter().filter(|o| matches!(o, DiskOp::Append { file, bytes } if file == INCR1 && !bytes.is_empty())).count(), 5);
    assert!(
        !ops.iter()
            .any(|o| matches!(o, DiskOp::Fsync { file, .. } if file == INCR1)),
        "{:?}",
        ops
    );
}

#[test]
fn aof_multi_exec_is_wrapped_and_selects_follow_the_command_db() {
    let dir = temp_dir("multi");
    let mut n = Node::start(&dir, &["appendonly yes", "appendfsync no"]);
    n.load().unwrap();
    n.connect();
    n.cmd(&["SELECT", "3"]);
    n.cmd(&["MULTI"]);
    n.cmd(&["SET", "b", "2"]);
    n.cmd(&["INCR", "b"]);
    assert_eq!(n.cmd(&["EXEC"]), b"*2\r\n+OK\r\n:3\r\n");
    let text = String::from_utf8(std::fs::read(dir.join(INCR1)).unwrap()).unwrap();
    assert_eq!(
        text,
        "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n"
    );
}

#[test]
fn aof_bgrewriteaof_rotates_incr_and_base_and_deletes_history() {
    let dir = temp_dir("rewrite");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["RPUSH", "l", "x", "y"]);
    n.take();
    assert_eq!(
        n.cmd(&["BGREWRITEAOF"]),
        b"+Background append only file rewriting started\r\n"
    );
    assert_eq!(
        n.cmd(&["BGREWRITEAOF"]),
        b"-ERR Background append only file rewriting already in progress\r\n"
    );
    assert_eq!(n.info("aof_rewrite_in_progress"), "1");
    assert_eq!(n.manifest(), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    // Writes during the rewrite go to the new INCR file.
    n.cmd(&["SET", "during", "yes"]);
    let during = std::fs::read(dir.join("appendonlydir/appendonly.aof.2.incr.aof")).unwrap();
    assert!(String::from_utf8_lossy(&during)
        .starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$6\r\nduring"));
    let (pid, job) = n.children[0].clone();
    assert!(
        matches!(&job, ChildJob::WriteFile { file, rename_to: None, incremental_fsync: true, .. } if *file == format!("temp-rewriteaof-bg-{}.aof", pid))
    );
    n.run_children(ChildExitStatus::Ok);
    let logs = n.logs();
    for line in [
        "Creating AOF incr file appendonly.aof.2.incr.aof on background rewrite".to_string(),
        format!("Background append only file rewriting started by pid {}", pid),
        "Background AOF rewrite terminated with success".to_string(),
        format!("Successfully renamed the temporary AOF base file temp-rewriteaof-bg-{}.aof into appendonly.aof.2.base.rdb", pid),
        "Removing the history file appendonly.aof.1.incr.aof in the background".to_string(),
        "Removing the history file appendonly.aof.1.base.rdb in the background".to_string(),
        "Background AOF rewrite finished successfully".to_string(),
    ] {
        assert!(logs.contains(&line), "missing {:?} in {:?}", line, logs);
    }
    assert_eq!(n.manifest(), "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    let names: Vec<String> = read_files(&dir).into_keys().collect();
    assert_eq!(
        names,
        [
            "appendonlydir/appendonly.aof.2.base.rdb",
            "appendonlydir/appendonly.aof.2.incr.aof",
            "appendonlydir/appendonly.aof.manifest"
        ]
    );
    assert_eq!(n.info("aof_rewrites"), "1");
    assert_eq!(n.info("aof_last_bgrewrite_status"), "ok");
    let base = std::fs::metadata(dir.join("appendonlydir/appendonly.aof.2.base.rdb"))
        .unwrap()
        .len();
    let incr = during.len() as u64;
    assert_eq!(n.info("aof_base_size"), (base + incr).to_string());

    // A failed rewrite leaves the files as they were and counts the failure.
    n.cmd(&["BGREWRITEAOF"]);
    n.run_children(ChildExitStatus::Signal(9));
    assert_eq!(n.info("aof_last_bgrewrite_status"), "err");
    assert_eq!(n.info("aof_rewrites_consecutive_failures"), "1");
    assert!(n
        .logs()
        .contains(&"Background AOF rewrite terminated by signal 9".to_string()));
    assert_eq!(n.manifest(), "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.3.incr.aof seq 3 type i\n");
}

#[test]
fn aof_auto_rewrite_starts_on_growth() {
    let dir = temp_dir("auto");
    let mut n = Node::start(
        &dir,
        &[
            "appendonly yes",
            "auto-aof-rewrite-min-size 1kb",
            "auto-aof-rewrite-percentage 100",
            "appendfsync no",
        ],
    );
    n.load().unwrap();
    n.connect();
    let value = "v".repeat(100);
    for i in 0..12 {
        n.cmd(&["SET", &format!("k{}", i), &value]);
    }
    n.take();
    n.advance_ms(200);
    let logs = n.logs();
    let growth = (n.info("aof_current_size").parse::<i64>().unwrap() * 100) - 100;
    let line = format!("Starting automatic rewriting of AOF on {}% growth", growth);
    assert!(logs.contains(&line), "{:?} not in {:?}", line, logs);
    assert_eq!(n.children.len(), 1);
}

#[test]
fn aof_config_set_appendonly_yes_rewrites_then_turns_on() {
    let dir = temp_dir("cfgset");
    let mut n = Node::start(&dir, &["appendonly no"]);
    n.load().unwrap();
    n.connect();
    n.cmd(&["SET", "before", "1"]);
    assert!(read_files(&dir).is_empty());
    assert_eq!(n.cmd(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    n.cmd(&["SET", "during", "2"]);
    assert_eq!(n.info("aof_rewrite_in_progress"), "1");
    n.run_children(ChildExitStatus::Ok);
    assert_eq!(n.manifest(), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    let incr = String::from_utf8(std::fs::read(dir.join(INCR1)).unwrap()).unwrap();
    assert!(incr.contains("during"), "{:?}", incr);
    n.cmd(&["SET", "after", "3"]);
    let incr = String::from_utf8(std::fs::read(dir.join(INCR1)).unwrap()).unwrap();
    assert!(incr.contains("after"));
    assert_eq!(n.cmd(&["CONFIG", "SET", "appendonly", "no"]), b"+OK\r\n");
    n.cmd(&["SET", "off", "4"]);
    let incr = String::from_utf8(std::fs::read(dir.join(INCR1)).unwrap()).unwrap();
    assert!(!incr.contains("off"));
    assert_eq!(n.info("aof_enabled"), "0");
}

// ---------------------------------------------------------------------------
// Loading.

/// A dataset as "db key type value" lines, sorted, from a redsim node.
fn redsim_dataset(n: &mut Node) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        n.admin(&["SELECT", &db.to_string()]);
        let srv = n.eng.server();
        for (key, value) in &srv.dbs[db].dict {
            out.push(format!(
                "{} {} {}",
                db,
                String::from_utf8_lossy(key),
                describe(value)
            ));
        }
    }
    out.sort();
    out
}

fn describe(v: &redsim_engine::object::Value) -> String {
    use redsim_engine::object::Value;
    let s = |b: &Vec<u8>| String::from_utf8_lossy(b).into_owned();
    match v {
        Value::Str(x) => s(&x.to_vec()),
        Value::List(l) => l.iter().map(s).collect::<Vec<_>>().join(","),
        Value::Set(x) => {
            let mut m: Vec<String> = x.iter().map(s).collect();
            m.sort();
            m.join(",")
        }
        Value::Hash(h) => {
            let mut m: Vec<String> = h
                .iter()
                .map(|(f, v)| format!("{}={}", s(f), s(v)))
                .collect();
            m.sort();
            m.join(",")
        }
        Value::ZSet(z) => z
            .ordered
            .iter()
            .map(|(sc, m)| format!("{}:{}", s(m), sc.0))
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[test]
fn aof_redsim_reloads_its_own_files_with_the_same_dataset() {
    let dir = temp_dir("reload");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    write_workload(&mut n);
    n.cmd(&["BGREWRITEAOF"]);
    n.cmd(&["SADD", "s", "late"]);
    n.run_children(ChildExitStatus::Ok);
    n.cmd(&["HSET", "h", "f3", "after"]);
    let before = redsim_dataset(&mut n);
    let mut m = Node::start(&dir, &["appendonly yes"]);
    assert_eq!(m.load(), Ok(true));
    assert_eq!(redsim_dataset(&mut m), before);
    assert!(
        m.logs().contains(
            &"Opening AOF incr file appendonly.aof.2.incr.aof on server start".to_string()
        ),
        "{:?}",
        m.logs()
    );
    assert_eq!(
        m.info("rdb_changes_since_last_save"),
        "2",
        "replayed commands count as changes, as in Redis"
    );
}

fn write_workload(n: &mut Node) {
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["RPUSH", "l", "x", "y", "z"]);
    n.cmd(&["SADD", "s", "m1", "m2"]);
    n.cmd(&["ZADD", "z", "1.5", "one", "2", "two"]);
    n.cmd(&["HSET", "h", "f1", "v1", "f2", "v2"]);
    n.cmd(&["SELECT", "5"]);
    n.cmd(&["SET", "in5", "five"]);
    n.cmd(&["SET", "ttl", "x", "EX", "10000"]);
    n.cmd(&["MULTI"]);
    n.cmd(&["INCR", "counter"]);
    n.cmd(&["INCR", "counter"]);
    n.cmd(&["EXEC"]);
    n.cmd(&["SELECT", "0"]);
}

#[test]
fn aof_truncated_incr_loads_with_aof_load_truncated_yes_and_fails_with_no() {
    let dir = temp_dir("trunc");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["MULTI"]);
    n.cmd(&["SET", "b", "2"]);
    n.cmd(&["SET", "c", "3"]);
    n.cmd(&["EXEC"]);
    n.cmd(&["SET", "d", "4"]);
    let full = std::fs::read(dir.join(INCR1)).unwrap();
    let text = String::from_utf8_lossy(&full).into_owned();
    // Cut inside the transaction: everything from MULTI on is reverted.
    let multi_at = text.find("*1\r\n$5\r\nMULTI").unwrap();
    let cut = text.find("$1\r\nc").unwrap() + 2;
    let dir_no = temp_dir("trunc-no");
    for d in [&dir, &dir_no] {
        std::fs::create_dir_all(d.join("appendonlydir")).unwrap();
        for (name, bytes) in read_files(&dir) {
            std::fs::write(d.join(&name), bytes).unwrap();
        }
        std::fs::write(d.join(INCR1), &full[..cut]).unwrap();
    }
    // A short read inside the transaction cuts after the last complete
    // (queued) command; the next start finds MULTI without EXEC and reverts it.
    let after_b = text.find("*3\r\n$3\r\nSET\r\n$1\r\nc").unwrap();
    let real_dir = temp_dir("trunc-real");
    copy_tree(&dir, &real_dir);
    let mut m = Node::start(&dir, &["appendonly yes"]);
    assert_eq!(m.load(), Ok(true));
    let logs = m.logs();
    for line in [
        "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!"
            .to_string(),
        format!(
            "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {} !!!",
            after_b
        ),
        "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"
            .to_string(),
    ] {
        assert!(logs.contains(&line), "missing {:?} in {:?}", line, logs);
    }
    assert_eq!(std::fs::read(dir.join(INCR1)).unwrap().len(), after_b);
    let mut m = Node::start(&dir, &["appendonly yes"]);
    assert_eq!(m.load(), Ok(true));
    let logs = m.logs();
    for line in [
        "Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof"
            .to_string(),
        format!(
            "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {} !!!",
            multi_at
        ),
    ] {
        assert!(logs.contains(&line), "missing {:?} in {:?}", line, logs);
    }
    assert_eq!(
        std::fs::read(dir.join(INCR1)).unwrap().len(),
        multi_at,
        "the file is cut before MULTI"
    );
    // redis-server 7.0.15 cuts the same file at the same two offsets.
    for want in [after_b, multi_at] {
        let r = RealRedis::start(&real_dir, 7936, &[]).unwrap();
        drop(r);
        assert_eq!(std::fs::read(real_dir.join(INCR1)).unwrap().len(), want);
    }
    assert_eq!(redsim_dataset(&mut m), ["0 a 1"]);
    // New writes append after the cut.
    m.connect();
    m.cmd(&["SET", "e", "5"]);
    assert!(
        String::from_utf8_lossy(&std::fs::read(dir.join(INCR1)).unwrap())
            .ends_with("$1\r\ne\r\n$1\r\n5\r\n")
    );

    let mut r = Node::start(&dir_no, &["appendonly yes", "aof-load-truncated no"]);
    let err = r.load().unwrap_err();
    assert!(err.starts_with("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup"), "{}", err);
}

#[test]
fn aof_truncated_file_that_is_not_the_last_is_fatal() {
    let dir = temp_dir("notlast");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["BGREWRITEAOF"]);
    n.cmd(&["SET", "b", "2"]);
    // The rewrite never finishes: two INCR files; cut the first.
    let full = std::fs::read(dir.join(INCR1)).unwrap();
    std::fs::write(dir.join(INCR1), &full[..full.len() - 3]).unwrap();
    std::fs::remove_file(dir.join("temp-rewriteaof-bg-101.aof")).ok();
    let mut m = Node::start(&dir, &["appendonly yes"]);
    assert_eq!(
        m.load(),
        Err("Fatal error: the truncated file is not the last file".to_string())
    );
}

// ---------------------------------------------------------------------------
// The real tools.

fn require_tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{} (Redis 7.0.15) is required for this test and was not found in /usr/bin or /usr/local/bin", name);
}

fn check_aof(dir: &Path) -> String {
    let out = Command::new(require_tool("redis-check-aof"))
        .arg("appendonlydir/appendonly.aof.manifest")
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "redis-check-aof failed:\n{}", text);
    text
}

struct RealRedis {
    child: std::process::Child,
    conn: Option<BufReader<TcpStream>>,
    port: u16,
}

impl RealRedis {
    fn start(dir: &Path, port: u16, extra: &[&str]) -> Result<RealRedis, String> {
        let mut cmd = Command::new(require_tool("redis-server"));
        cmd.args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--dir",
        ])
        .arg(dir);
        cmd.args(["--logfile", "redis.log"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
                return Err(format!("redis-server exited with {}:\n{}", status, log));
            }
            if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
                let mut r = RealRedis {
                    child,
                    conn: None,
                    port,
                };
                drop(s);
                if r.cmd(&["PING"]) == "+PONG" {
                    return Ok(r);
                }
                child = r.take();
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not come up on {}",
                port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn take(mut self) -> std::process::Child {
        let c = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        std::mem::forget(self);
        c
    }

    /// One command on the one connection; the reply as text (bulk
    /// payloads inline, array items separated by \u{1}).
    fn cmd(&mut self, args: &[&str]) -> String {
        if self.conn.is_none() {
            let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            self.conn = Some(BufReader::new(s));
        }
        let conn = self.conn.as_mut().unwrap();
        let mut req = Vec::new();
        redsim_engine::resp::encode_command_into(&mut req, args);
        conn.get_mut().write_all(&req).unwrap();
        read_reply(conn)
    }
}

fn read_reply(r: &mut impl BufRead) -> String {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let line = line.trim_end().to_string();
    if line.is_empty() {
        return line;
    }
    match line.as_bytes()[0] {
        b'$' => {
            let len: i64 = line[1..].parse().unwrap();
            if len < 0 {
                return "(nil)".into();
            }
            let mut buf = vec![0; len as usize + 2];
            r.read_exact(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..len as usize]).into_owned()
        }
        b'*' => {
            let n: i64 = line[1..].parse().unwrap();
            (0..n.max(0))
                .map(|_| read_reply(r))
                .collect::<Vec<_>>()
                .join("\u{1}")
        }
        _ => line,
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The dataset of a real server in the same form as `redsim_dataset`.
fn real_dataset(r: &mut RealRedis) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        let keys_cmd = format!(
            "return redis.call('select', {}) and redis.call('keys', '*')",
            db
        );
        let keys = r.cmd(&["EVAL", &keys_cmd, "0"]);
        for key in keys.split('\u{1}').filter(|k| !k.is_empty()) {
            let script =
                "redis.call('select', ARGV[1]); local t = redis.call('type', KEYS[1]).ok; \
                local v; if t == 'string' then v = {redis.call('get', KEYS[1])} \
                elseif t == 'list' then v = redis.call('lrange', KEYS[1], 0, -1) \
                elseif t == 'set' then v = redis.call('smembers', KEYS[1]); table.sort(v) \
                elseif t == 'hash' then local h = redis.call('hgetall', KEYS[1]); v = {}; \
                  for i = 1, #h, 2 do v[#v+1] = h[i] .. '=' .. h[i+1] end; table.sort(v) \
                else local z = redis.call('zrange', KEYS[1], 0, -1, 'withscores'); v = {}; \
                  for i = 1, #z, 2 do v[#v+1] = z[i] .. ':' .. z[i+1] end end \
                return table.concat(v, ',')";
            let value = r.cmd(&["EVAL", script, "1", key, &db.to_string()]);
            out.push(format!("{} {} {}", db, key, value));
        }
    }
    out.sort();
    out
}

#[test]
fn aof_redsim_files_pass_redis_check_aof_and_load_in_redis_server() {
    let dir = temp_dir("real1");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    write_workload(&mut n);
    // Before any rewrite: base (empty RDB) + commands.
    let report = check_aof(&dir);
    assert!(
        report.contains("All AOF files and manifest are valid"),
        "{}",
        report
    );
    let expected = redsim_dataset(&mut n);
    {
        let copy = temp_dir("real1-copy");
        copy_tree(&dir, &copy);
        let mut r = RealRedis::start(&copy, 7931, &[]).unwrap();
        assert_eq!(real_dataset(&mut r), expected);
    }
    // After a rewrite with the RDB preamble, and another in RESP format.
    n.cmd(&["BGREWRITEAOF"]);
    n.cmd(&["SADD", "s", "late"]);
    n.run_children(ChildExitStatus::Ok);
    n.admin(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"]);
    n.cmd(&["BGREWRITEAOF"]);
    n.cmd(&["HSET", "h", "f3", "after"]);
    n.run_children(ChildExitStatus::Ok);
    assert!(
        n.manifest()
            .starts_with("file appendonly.aof.3.base.aof seq 3 type b\n"),
        "{}",
        n.manifest()
    );
    let report = check_aof(&dir);
    assert!(
        report.contains("All AOF files and manifest are valid"),
        "{}",
        report
    );
    let expected = redsim_dataset(&mut n);
    let mut r = RealRedis::start(&dir, 7932, &[]).unwrap();
    assert_eq!(real_dataset(&mut r), expected);
    assert_eq!(expected.len(), 8);
}

fn copy_tree(from: &Path, to: &Path) {
    for (name, bytes) in read_files(from) {
        let p = to.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn aof_truncated_redsim_file_behaves_the_same_in_redis_server() {
    let dir = temp_dir("real-trunc");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["SET", "b", "2"]);
    let full = std::fs::read(dir.join(INCR1)).unwrap();
    std::fs::write(dir.join(INCR1), &full[..full.len() - 4]).unwrap();
    let dir_no = temp_dir("real-trunc-no");
    copy_tree(&dir, &dir_no);
    let mut r = RealRedis::start(&dir, 7933, &[]).unwrap();
    assert_eq!(real_dataset(&mut r), ["0 a 1"]);
    drop(r);
    let log = std::fs::read_to_string(dir.join("redis.log")).unwrap();
    let real_len = std::fs::read(dir.join(INCR1)).unwrap().len();
    assert!(
        log.contains(&format!(
            "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {} !!!",
            real_len
        )),
        "{}",
        log
    );
    // redsim on the untruncated copy cuts at the same offset.
    let mut m = Node::start(&dir_no, &["appendonly yes"]);
    std::fs::remove_file(dir_no.join("redis.log")).ok();
    assert_eq!(m.load(), Ok(true));
    assert_eq!(std::fs::read(dir_no.join(INCR1)).unwrap().len(), real_len);
    // With aof-load-truncated no both refuse.
    let dir_no2 = temp_dir("real-trunc-no2");
    std::fs::create_dir_all(dir_no2.join("appendonlydir")).unwrap();
    for (name, bytes) in read_files(&dir) {
        if name.starts_with("appendonlydir") {
            std::fs::write(dir_no2.join(&name), bytes).unwrap();
        }
    }
    std::fs::write(dir_no2.join(INCR1), &full[..full.len() - 4]).unwrap();
    let refused = RealRedis::start(&dir_no2, 7934, &["--aof-load-truncated", "no"])
        .err()
        .expect("redis-server refuses");
    assert!(
        refused.contains(
            "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"
        ),
        "{}",
        refused
    );
    std::fs::remove_file(dir_no2.join("redis.log")).ok();
    let mut m = Node::start(&dir_no2, &["appendonly yes", "aof-load-truncated no"]);
    assert!(m.load().unwrap_err().starts_with(
        "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"
    ));
}

#[test]
fn aof_redsim_loads_a_directory_written_by_redis_server() {
    let dir = temp_dir("real-load");
    let expected;
    {
        let mut r = RealRedis::start(&dir, 7935, &[]).unwrap();
        for args in [
            &["SET", "a", "1"][..],
            &["RPUSH", "l", "x", "y", "z"],
            &["SADD", "s", "m1", "m2"],
            &["ZADD", "z", "1.5", "one", "2", "two"],
        ] {
            r.cmd(args);
        }
        assert_eq!(
            r.cmd(&["BGREWRITEAOF"]),
            "+Background append only file rewriting started"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while r
            .cmd(&["INFO", "persistence"])
            .contains("aof_rewrite_in_progress:1")
        {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        for args in [
            &["HSET", "h", "f1", "v1", "f2", "v2"][..],
            &["SELECT", "5"],
            &["INCR", "n"],
            &["SET", "ttl", "x", "EX", "10000"],
        ] {
            r.cmd(args);
        }
        expected = real_dataset(&mut r);
        r.cmd(&["SHUTDOWN", "NOSAVE"]);
    }
    std::fs::remove_file(dir.join("redis.log")).ok();
    let mut n = Node::start(&dir, &["appendonly yes"]);
    assert_eq!(n.load(), Ok(true));
    assert_eq!(redsim_dataset(&mut n), expected);
    let logs = n.logs();
    assert!(
        logs.contains(&"Reading RDB base file on AOF loading...".to_string()),
        "{:?}",
        logs
    );
    assert!(
        logs.contains(
            &"DB loaded from incr file appendonly.aof.2.incr.aof: 0.000 seconds".to_string()
        ),
        "{:?}",
        logs
    );
    assert!(
        logs.contains(
            &"Opening AOF incr file appendonly.aof.2.incr.aof on server start".to_string()
        ),
        "{:?}",
        logs
    );
}

/// The same sequence as on redis-server 7.0.15 (checked by hand there):
/// BGREWRITEAOF and CONFIG SET appendonly yes during a BGSAVE are
/// scheduled, and the rewrite starts from serverCron once the child ends.
#[test]
fn aof_rewrite_is_scheduled_behind_another_child() {
    let dir = temp_dir("sched");
    let mut n = Node::start(&dir, &["appendonly no"]);
    n.load().unwrap();
    n.connect();
    let srv = n.eng.server_mut();
    let rdb_pid = redsim_engine::child::fork(
        srv,
        redsim_engine::child::ChildKind::Rdb,
        ChildJob::Compute { cpu_us: 10 },
    );
    n.drain();
    n.children.clear();
    assert_eq!(
        n.cmd(&["BGREWRITEAOF"]),
        b"+Background append only file rewriting scheduled\r\n"
    );
    assert_eq!(n.info("aof_rewrite_scheduled"), "1");
    assert_eq!(n.cmd(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    assert!(n.logs().contains(&"AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.".to_string()));
    assert_eq!(
        (
            n.info("aof_enabled").as_str(),
            n.info("aof_pending_rewrite").as_str()
        ),
        ("1", "1")
    );
    n.advance_ms(300);
    assert!(
        n.children.is_empty(),
        "nothing starts while the BGSAVE child runs"
    );
    n.eng.handle_input(
        n.now,
        Input::ChildExit {
            pid: rdb_pid,
            status: ChildExitStatus::Ok,
        },
    );
    n.drain();
    n.advance_ms(300);
    assert_eq!(n.children.len(), 1);
    assert!(n.logs().contains(
        &"Creating AOF incr file temp-appendonly.aof.incr on background rewrite".to_string()
    ));
    n.cmd(&["SET", "k", "v"]);
    n.run_children(ChildExitStatus::Ok);
    let logs = n.logs();
    assert!(logs.contains(&"Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into appendonly.aof.1.incr.aof".to_string()), "{:?}", logs);
    assert_eq!(n.manifest(), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    assert_eq!(n.info("aof_rewrite_scheduled"), "0");
    assert!(
        String::from_utf8_lossy(&std::fs::read(dir.join(INCR1)).unwrap())
            .ends_with("$1\r\nk\r\n$1\r\nv\r\n")
    );
    let report = check_aof(&dir);
    assert!(
        report.contains("All AOF files and manifest are valid"),
        "{}",
        report
    );
}

/// Moves bytes between a bare master engine and a replica Node until quiet.
fn pump(master: &mut Engine, replica: &mut Node, link: &mut Option<ConnId>) {
    const MASTER_SIDE: ConnId = ConnId(100);
    for _ in 0..64 {
        let mut moved = false;
        replica.drain();
        for out in replica.take() {
            match out {
                Output::Connect { conn, .. } => {
                    moved = true;
                    *link = Some(conn);
                    master.handle_input(
                        replica.now,
                        Input::Accepted {
                            conn: MASTER_SIDE,
                            peer: "10.0.0.2:40000".into(),
                            local_port: 6379,
                        },
                    );
                    replica
                        .eng
                        .handle_input(replica.now, Input::Connected { conn });
                }
                Output::Send { conn, bytes } if Some(conn) == *link => {
                    moved = true;
                    master.handle_input(
                        replica.now,
                        Input::Data {
                            conn: MASTER_SIDE,
                            bytes: &bytes,
                        },
                    );
                }
                other => replica.log.push(other),
            }
        }
        let mut forked = Vec::new();
        while let Some(out) = master.poll_output() {
            // The master's full-sync child runs at once and succeeds.
            if let Output::Fork(f) = &out {
                forked.push(f.pid);
            }
            if let (Output::Send { conn, bytes }, Some(l)) = (&out, *link) {
                if *conn == MASTER_SIDE {
                    moved = true;
                    replica
                        .eng
                        .handle_input(replica.now, Input::Data { conn: l, bytes });
                }
            }
        }
        for pid in forked {
            moved = true;
            master.handle_input(
                replica.now,
                Input::ChildExit {
                    pid,
                    status: ChildExitStatus::Ok,
                },
            );
        }
        if !moved {
            return;
        }
    }
}

#[test]
fn aof_replica_restarts_its_aof_with_a_rewrite_after_a_full_sync() {
    let mut master = Engine::new(
        Config::from_conf_lines(&["repl-diskless-sync-delay 0"]).unwrap(),
        EngineOptions {
            seed: 1,
            pid: 10,
            port: 6379,
            ..Default::default()
        },
        T0,
    );
    let (reply, _) = master.admin_command(
        T0,
        vec![b"SET".to_vec(), b"from-master".to_vec(), b"1".to_vec()],
    );
    assert_eq!(reply, b"+OK\r\n");
    let dir = temp_dir("replica");
    let mut r = Node::start(&dir, &["appendonly yes", "replicaof m1 6379"]);
    r.load().unwrap();
    let mut link = None;
    for _ in 0..300 {
        r.now += 10_000;
        for e in [&mut master, &mut r.eng] {
            if e.poll_timeout().is_some_and(|t| t <= r.now) {
                e.handle_timeout(r.now);
            }
        }
        pump(&mut master, &mut r, &mut link);
        if !r.children.is_empty() {
            break;
        }
    }
    assert_eq!(
        r.children.len(),
        1,
        "the synced dataset is rewritten: {:?}",
        r.logs()
    );
    master.admin_command(
        r.now,
        vec![b"SET".to_vec(), b"streamed".to_vec(), b"2".to_vec()],
    );
    pump(&mut master, &mut r, &mut link);
    r.run_children(ChildExitStatus::Ok);
    assert_eq!(r.manifest(), "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    let incr = String::from_utf8_lossy(
        &std::fs::read(dir.join("appendonlydir/appendonly.aof.2.incr.aof")).unwrap(),
    )
    .into_owned();
    assert!(incr.contains("streamed"), "{:?}", incr);
    let mut again = Node::start(&dir, &["appendonly yes"]);
    assert_eq!(again.load(), Ok(true));
    assert_eq!(
        redsim_dataset(&mut again),
        ["0 from-master 1", "0 streamed 2"]
    );
}

#[test]
fn aof_shutdown_hook_writes_and_fsyncs_the_buffer() {
    let dir = temp_dir("shutdown");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    n.now += 1_000_000;
    n.cmd(&["SET", "a", "1"]);
    n.now += 100_000;
    n.cmd(&["SET", "b", "2"]);
    assert_ne!(
        n.info("aof_buffer_length"),
        "0",
        "postponed behind the first fsync"
    );
    n.take();
    assert_eq!(
        redsim_engine::aof::prepare_for_shutdown(n.eng.server_mut(), false),
        Ok(())
    );
    n.drain();
    let out = n.take();
    let ops = disk_ops(&out);
    assert!(
        matches!(&ops[..], [DiskOp::Append { file, .. }, DiskOp::Fsync { file: f2, blocking: true, .. }] if file == INCR1 && f2 == INCR1),
        "{:?}",
        ops
    );
    assert!(
        String::from_utf8_lossy(&std::fs::read(dir.join(INCR1)).unwrap())
            .ends_with("$1\r\nb\r\n$1\r\n2\r\n")
    );
}

/// A RESP BASE file (aof-use-rdb-preamble no) is byte for byte what
/// redis-server 7.0.15 writes for the same dataset (one key per db so
/// hash order cannot differ), and INFO lists the aof_* fields in its order.
#[test]
fn aof_resp_base_and_info_fields_match_redis_server() {
    let script: Vec<Vec<String>> = {
        let mut l = vec!["RPUSH".to_string(), "l".into()];
        l.extend((0..70).map(|i| format!("e{}", i)));
        vec![
            l,
            vec!["SELECT".into(), "1".into()],
            vec![
                "ZADD".into(),
                "z".into(),
                "1.5".into(),
                "a".into(),
                "2".into(),
                "b".into(),
            ],
            vec!["SELECT".into(), "2".into()],
            vec!["HSET".into(), "h".into(), "f".into(), "v".into()],
            vec!["SELECT".into(), "3".into()],
            vec![
                "SADD".into(),
                "s".into(),
                "1".into(),
                "2".into(),
                "3".into(),
            ],
            vec!["SELECT".into(), "4".into()],
            vec![
                "SET".into(),
                "str".into(),
                "12345".into(),
                "PXAT".into(),
                "4000000000000".into(),
            ],
        ]
    };
    let real_dir = temp_dir("resp-base-real");
    let (real_base, real_info) = {
        let mut r = RealRedis::start(&real_dir, 7937, &["--aof-use-rdb-preamble", "no"]).unwrap();
        for cmd in &script {
            let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
            r.cmd(&args);
        }
        r.cmd(&["BGREWRITEAOF"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !r
            .cmd(&["INFO", "persistence"])
            .contains("aof_rewrites:1\r\n")
            || r.cmd(&["INFO", "persistence"])
                .contains("aof_rewrite_in_progress:1")
        {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
        let info = r.cmd(&["INFO", "persistence"]);
        (
            std::fs::read(real_dir.join("appendonlydir/appendonly.aof.2.base.aof")).unwrap(),
            info,
        )
    };
    let dir = temp_dir("resp-base");
    let mut n = Node::start(&dir, &["appendonly yes", "aof-use-rdb-preamble no"]);
    n.load().unwrap();
    n.connect();
    for cmd in &script {
        let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        n.cmd(&args);
    }
    n.cmd(&["BGREWRITEAOF"]);
    n.run_children(ChildExitStatus::Ok);
    let ours = std::fs::read(dir.join("appendonlydir/appendonly.aof.2.base.aof")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&real_base)
    );
    let real_names: Vec<&str> = real_info
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .skip_while(|k| *k != "aof_enabled")
        .collect();
    let ours: Vec<String> = redsim_engine::aof::info_fields(n.eng.server())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(ours, real_names);
}

#[test]
fn aof_no_appendfsync_on_rewrite_skips_fsync_while_a_child_runs() {
    let dir = temp_dir("nofsync-rw");
    let mut n = Node::start(&dir, &["appendonly yes", "no-appendfsync-on-rewrite yes"]);
    n.load().unwrap();
    n.connect();
    n.cmd(&["BGREWRITEAOF"]);
    n.take();
    for _ in 0..3 {
        n.now += 1_000_000;
        n.cmd(&["SET", "k", "v"]);
    }
    let ops = disk_ops(&n.take());
    assert_eq!(
        ops.iter()
            .filter(|o| matches!(o, DiskOp::Append { bytes, .. } if !bytes.is_empty()))
            .count(),
        3
    );
    assert!(!ops.iter().any(|o| is_fsync(o, false)), "{:?}", ops);
    n.run_children(ChildExitStatus::Ok);
    // The unsynced tail is synced in the first beforeSleep without the child.
    assert!(disk_ops(&n.take()).iter().any(|o| matches!(o, DiskOp::Fsync { file, blocking: false, .. } if file.ends_with(".2.incr.aof"))));
}

#[test]
fn aof_auto_rewrite_backs_off_after_three_failures() {
    let dir = temp_dir("limit");
    let mut n = Node::start(
        &dir,
        &[
            "appendonly yes",
            "auto-aof-rewrite-min-size 100",
            "appendfsync no",
        ],
    );
    n.load().unwrap();
    n.connect();
    n.cmd(&["SET", "k", &"v".repeat(200)]);
    for _ in 0..3 {
        n.advance_ms(100);
        assert_eq!(n.children.len(), 1, "{:?}", n.logs());
        n.run_children(ChildExitStatus::Error);
    }
    assert_eq!(n.info("aof_rewrites_consecutive_failures"), "3");
    n.take();
    n.advance_ms(100);
    assert!(n.children.is_empty());
    assert!(n.logs().contains(&"Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes".to_string()), "{:?}", n.logs());
    n.advance_ms(59_000);
    assert!(n.children.is_empty());
    n.advance_ms(1_500);
    assert_eq!(n.children.len(), 1, "retried after a minute");
    assert!(n
        .logs()
        .iter()
        .any(|l| l.starts_with("Starting automatic rewriting of AOF on ")));
}

/// Every cut and many single-byte corruptions of an INCR file load or fail
/// cleanly: the loader never panics and a cut file is always accepted
/// with aof-load-truncated yes.
#[test]
fn aof_loader_survives_every_truncation_and_byte_flip() {
    let dir = temp_dir("fuzz");
    let mut n = Node::start(&dir, &["appendonly yes"]);
    n.load().unwrap();
    n.connect();
    write_workload(&mut n);
    let files = read_files(&dir);
    let incr = files[INCR1].clone();
    let start = |bytes: Vec<u8>| {
        let mut f = files.clone();
        f.insert(INCR1.to_string(), bytes);
        let options = EngineOptions {
            seed: 7,
            pid: 100,
            port: 6379,
            files: f,
            ..Default::default()
        };
        let mut e = Engine::new(
            Config::from_conf_lines(&["appendonly yes"]).unwrap(),
            options,
            T0,
        );
        let r = redsim_engine::aof::load_at_startup(e.server_mut());
        while e.poll_output().is_some() {}
        r
    };
    for cut in 0..incr.len() {
        assert!(start(incr[..cut].to_vec()).is_ok(), "cut at {}", cut);
    }
    let mut ok = 0;
    for i in 0..incr.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut bytes = incr.clone();
            bytes[i] ^= flip;
            ok += usize::from(start(bytes).is_ok());
        }
    }
    assert!(ok > 0);
}
