//! The engine asks the host to kill its child (Output::KillChild) where
//! Redis kills it: FLUSHALL during a BGSAVE (killRDBChild: reaped later,
//! temp file removed), CONFIG SET appendonly no during a rewrite
//! (killAppendOnlyChild: reaped at once). At most one child runs.
//! Replies and log lines as redis-server 7.0.15 gives them.

use std::collections::BTreeMap;

use redsim_engine::resp::encode_command;
use redsim_engine::{
    ChildExitStatus, ChildJob, Config, ConnId, DiskOp, Engine, EngineOptions, Input, Output,
};

const T0: u64 = 1_704_067_200_000_000;
const CONN: ConnId = ConnId(1);

/// A host with a disk and a process table.
struct Host {
    engine: Engine,
    now_us: u64,
    files: BTreeMap<String, Vec<u8>>,
    /// Running children: pid -> their job.
    children: BTreeMap<u32, ChildJob>,
    /// Pids killed this step, whose exit goes back to the engine.
    killed: Vec<u32>,
    logs: Vec<String>,
    replies: Vec<u8>,
}

impl Host {
    fn new(conf: &[&str]) -> Host {
        let config = Config::from_conf_lines(conf).expect("config");
        let options = EngineOptions {
            seed: 7,
            pid: 100,
            port: 6379,
            ..Default::default()
        };
        let mut engine = Engine::new(config, options, T0);
        engine.handle_input(
            T0,
            Input::Accepted {
                conn: CONN,
                peer: "127.0.0.1:5000".into(),
                local_port: 6379,
            },
        );
        let mut h = Host {
            engine,
            now_us: T0,
            files: BTreeMap::new(),
            children: BTreeMap::new(),
            killed: Vec::new(),
            logs: Vec::new(),
            replies: Vec::new(),
        };
        h.drain();
        h
    }

    fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Send { bytes, .. } => self.replies.extend_from_slice(&bytes),
                Output::Log(line) => self.logs.push(line.message),
                Output::Disk(op) => self.disk(op),
                Output::Fork(req) => {
                    assert!(self.children.is_empty(), "a second child: {}", req.pid);
                    // The child has written part of its file when it is killed.
                    if let ChildJob::WriteFile { file, bytes, .. } = &req.job {
                        self.files
                            .insert(file.clone(), bytes[..bytes.len() / 2].to_vec());
                    }
                    self.children.insert(req.pid, req.job);
                }
                Output::KillChild { pid } => {
                    assert!(
                        self.children.remove(&pid).is_some(),
                        "kill of a child not running: {}",
                        pid
                    );
                    self.killed.push(pid);
                }
                _ => {}
            }
        }
    }

    fn disk(&mut self, op: DiskOp) {
        match op {
            DiskOp::Append { file, bytes } => self
                .files
                .entry(file)
                .or_default()
                .extend_from_slice(&bytes),
            DiskOp::Truncate { file, len } => {
                self.files.entry(file).or_default().truncate(len as usize)
            }
            DiskOp::Rename { from, to } => {
                let b = self.files.remove(&from).unwrap_or_default();
                self.files.insert(to, b);
            }
            DiskOp::Remove { file } => {
                self.files.remove(&file);
            }
            DiskOp::Fsync { .. } => {}
        }
    }

    /// Sends a pipeline of commands in one read; returns the replies.
    fn pipeline(&mut self, commands: &[&[&str]]) -> String {
        let bytes: Vec<u8> = commands.iter().flat_map(|c| encode_command(c)).collect();
        self.replies.clear();
        self.engine.handle_input(
            self.now_us,
            Input::Data {
                conn: CONN,
                bytes: &bytes,
            },
        );
        self.drain();
        String::from_utf8(std::mem::take(&mut self.replies)).expect("utf8")
    }

    /// The killed children's exits reach the engine (wait3 in serverCron).
    fn reap_killed(&mut self) {
        self.now_us += 1000;
        for pid in std::mem::take(&mut self.killed) {
            self.engine.handle_input(
                self.now_us,
                Input::ChildExit {
                    pid,
                    status: ChildExitStatus::Signal(10),
                },
            );
            self.drain();
        }
    }

    fn info(&mut self, field: &str) -> String {
        let fields = self.engine.info_fields(self.now_us);
        fields
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
            .expect("INFO field")
    }

    fn populate(&mut self, keys: usize) {
        let sets: Vec<Vec<String>> = (0..keys)
            .map(|i| vec!["SET".into(), format!("k{}", i), "v".into()])
            .collect();
        let refs: Vec<Vec<&str>> = sets
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let cmds: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
        self.pipeline(&cmds);
    }
}

#[test]
fn flushall_during_bgsave_kills_the_child_and_removes_its_temp_file() {
    let mut h = Host::new(&["save \"\""]);
    h.populate(500);
    assert_eq!(h.pipeline(&[&["BGSAVE"]]), "+Background saving started\r\n");
    let pid = *h.children.keys().next().expect("a child runs");
    let temp = format!("temp-{}.rdb", pid);
    assert!(h.files.contains_key(&temp));
    // Until its exit is reaped the child is still the active one, as in Redis.
    let replies = h.pipeline(&[&["FLUSHALL"], &["BGSAVE"]]);
    assert_eq!(
        replies,
        "+OK\r\n-ERR Background save already in progress\r\n"
    );
    assert_eq!(h.killed, vec![pid]);
    assert!(h.children.is_empty());
    assert_eq!(h.info("rdb_bgsave_in_progress"), "1");
    h.reap_killed();
    assert!(
        h.logs
            .iter()
            .any(|l| l == "Background saving terminated by signal 10"),
        "{:?}",
        h.logs
    );
    assert!(!h.files.contains_key(&temp), "the temp file is removed");
    assert!(
        !h.files.contains_key("dump.rdb"),
        "the killed save never lands"
    );
    assert_eq!(h.info("rdb_bgsave_in_progress"), "0");
    assert_eq!(
        h.info("rdb_last_bgsave_status"),
        "ok",
        "SIGUSR1 is not an error"
    );
    // Now a new BGSAVE forks the one child.
    assert_eq!(h.pipeline(&[&["BGSAVE"]]), "+Background saving started\r\n");
    assert_eq!(h.children.len(), 1);
}

#[test]
fn appendonly_no_during_a_rewrite_kills_it_so_bgsave_is_the_only_child() {
    let mut h = Host::new(&["save \"\"", "appendonly yes"]);
    h.populate(200);
    let replies = h.pipeline(&[&["BGREWRITEAOF"]]);
    assert_eq!(
        replies,
        "+Background append only file rewriting started\r\n"
    );
    let pid = *h.children.keys().next().expect("a rewrite child");
    let temp = format!("temp-rewriteaof-bg-{}.aof", pid);
    h.files.insert(temp.clone(), b"partial".to_vec());
    let replies = h.pipeline(&[&["CONFIG", "SET", "appendonly", "no"], &["BGSAVE"]]);
    // killAppendOnlyChild waits for the child: BGSAVE can fork at once.
    assert_eq!(replies, "+OK\r\n+Background saving started\r\n");
    assert!(
        h.logs
            .iter()
            .any(|l| l == &format!("Killing running AOF rewrite child: {}", pid)),
        "{:?}",
        h.logs
    );
    assert_eq!(h.killed, vec![pid]);
    assert_eq!(h.children.len(), 1, "only the BGSAVE child runs");
    assert!(!h.children.contains_key(&pid));
    assert!(
        !h.files.contains_key(&temp),
        "the rewrite's temp file is removed"
    );
    // The rewrite child's late exit report is not mistaken for the BGSAVE's.
    h.reap_killed();
    assert_eq!(h.info("rdb_bgsave_in_progress"), "1");
    assert_eq!(h.info("aof_rewrite_in_progress"), "0");
}
