//! Replication between two engines wired back to back, stepped on a
//! virtual clock: the handshake, full and partial resync decisions, the
//! backlog boundary, and min-replicas-to-write at Redis's 1 Hz granularity.

use redsim_engine::resp::{encode_command, parse_reply, Value};
use std::collections::BTreeMap;

use redsim_engine::{
    ChildExitStatus, ChildJob, Config, ConnId, DiskOp, Engine, EngineOptions, ForkRequest, Input,
    Output,
};

const T0: u64 = 1_704_067_200_000_000;

struct Pair {
    master: Engine,
    replica: Engine,
    now_us: u64,
    /// The replica's outbound connection id and whether the link is cut.
    link: Option<ConnId>,
    cut: bool,
    /// The master's log messages.
    master_logs: Vec<String>,
    client_replies: Vec<u8>,
    /// What the replica sent its own client (REPLICA_CLIENT).
    replica_client_replies: Vec<u8>,
    /// Running children: (exit time, pid, on the master?).
    children: Vec<(u64, u32, bool)>,
    /// The master's files, as its Disk operations leave them.
    files: BTreeMap<String, Vec<u8>>,
}

/// How long a child's job takes: its CPU time (the disk is free here).
fn job_us(req: &ForkRequest) -> u64 {
    match &req.job {
        ChildJob::WriteFile { cpu_us, .. } | ChildJob::Compute { cpu_us } => *cpu_us,
    }
}

/// Applies a child's file work at its exit, as the host would.
fn finish_job(files: &mut BTreeMap<String, Vec<u8>>, job: &ChildJob) {
    if let ChildJob::WriteFile {
        file,
        bytes,
        rename_to,
        ..
    } = job
    {
        files.insert(file.clone(), bytes.clone());
        if let Some(to) = rename_to {
            let b = files.remove(file).unwrap_or_default();
            files.insert(to.clone(), b);
        }
    }
}

fn apply_disk(files: &mut BTreeMap<String, Vec<u8>>, op: DiskOp) {
    match op {
        DiskOp::Append { file, bytes } => files.entry(file).or_default().extend_from_slice(&bytes),
        DiskOp::Truncate { file, len } => files.entry(file).or_default().truncate(len as usize),
        DiskOp::Fsync { .. } => {}
        DiskOp::Rename { from, to } => {
            let b = files.remove(&from).unwrap_or_default();
            files.insert(to, b);
        }
        DiskOp::Remove { file } => {
            files.remove(&file);
        }
    }
}

/// The master sees the replica's outbound connection as inbound conn 100.
const MASTER_SIDE: ConnId = ConnId(100);
const CLIENT: ConnId = ConnId(1);
/// A client of the replica (inbound ids there never clash with its outbound link).
const REPLICA_CLIENT: ConnId = ConnId(2);

impl Pair {
    fn new(master_conf: &[&str], replica_conf: &[&str]) -> Pair {
        let mconf = Config::from_conf_lines(master_conf).unwrap();
        let mut rlines: Vec<&str> = vec!["replicaof m1 6379"];
        rlines.extend_from_slice(replica_conf);
        let rconf = Config::from_conf_lines(&rlines).unwrap();
        let mut master = Engine::new(
            mconf,
            EngineOptions {
                seed: 1,
                pid: 10,
                port: 6379,
                ..Default::default()
            },
            T0,
        );
        let replica = Engine::new(
            rconf,
            EngineOptions {
                seed: 2,
                pid: 20,
                port: 6380,
                ..Default::default()
            },
            T0,
        );
        master.handle_input(
            T0,
            Input::Accepted {
                conn: CLIENT,
                peer: "10.0.0.9:5000".into(),
                local_port: 6379,
            },
        );
        Pair {
            master,
            replica,
            now_us: T0,
            link: None,
            cut: false,
            master_logs: Vec::new(),
            client_replies: Vec::new(),
            replica_client_replies: Vec::new(),
            children: Vec::new(),
            files: BTreeMap::new(),
        }
    }

    fn pump(&mut self) {
        for _ in 0..64 {
            let mut moved = false;
            while let Some(out) = self.replica.poll_output() {
                moved = true;
                match out {
                    Output::Connect { conn, .. } => {
                        self.link = Some(conn);
                        self.master.handle_input(
                            self.now_us,
                            Input::Accepted {
                                conn: MASTER_SIDE,
                                peer: "10.0.0.2:40000".into(),
                                local_port: 6379,
                            },
                        );
                        self.replica
                            .handle_input(self.now_us, Input::Connected { conn });
                    }
                    Output::Send { conn, bytes } if conn == REPLICA_CLIENT => {
                        self.replica_client_replies.extend_from_slice(&bytes)
                    }
                    Output::Send { bytes, .. } if !self.cut => {
                        self.master.handle_input(
                            self.now_us,
                            Input::Data {
                                conn: MASTER_SIDE,
                                bytes: &bytes,
                            },
                        );
                    }
                    Output::Close { .. } => {
                        self.master
                            .handle_input(self.now_us, Input::Closed { conn: MASTER_SIDE });
                        self.link = None;
                    }
                    Output::Fork(req) => {
                        self.children
                            .push((self.now_us + job_us(&req), req.pid, false))
                    }
                    _ => {}
                }
            }
            while let Some(out) = self.master.poll_output() {
                moved = true;
                match out {
                    Output::Send { conn, bytes } if conn == MASTER_SIDE && !self.cut => {
                        if let Some(link) = self.link {
                            self.replica.handle_input(
                                self.now_us,
                                Input::Data {
                                    conn: link,
                                    bytes: &bytes,
                                },
                            );
                        }
                    }
                    Output::Send { conn, bytes } if conn == CLIENT => {
                        self.client_replies.extend_from_slice(&bytes)
                    }
                    Output::Close { conn } if conn == MASTER_SIDE => {
                        if let Some(link) = self.link.take() {
                            self.replica
                                .handle_input(self.now_us, Input::Closed { conn: link });
                        }
                    }
                    Output::Fork(req) => {
                        finish_job(&mut self.files, &req.job);
                        self.children
                            .push((self.now_us + job_us(&req), req.pid, true));
                    }
                    Output::Disk(op) => apply_disk(&mut self.files, op),
                    Output::Log(line) => self.master_logs.push(line.message),
                    _ => {}
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Advance the clock in 10 ms steps, firing due timers.
    fn advance_ms(&mut self, ms: u64) {
        let end = self.now_us + ms * 1000;
        while self.now_us < end {
            self.now_us += 10_000;
            let now = self.now_us;
            let (done, running): (Vec<_>, Vec<_>) =
                self.children.drain(..).partition(|c| c.0 <= now);
            self.children = running;
            for (_, pid, on_master) in done {
                let e = if on_master {
                    &mut self.master
                } else {
                    &mut self.replica
                };
                e.handle_input(
                    now,
                    Input::ChildExit {
                        pid,
                        status: ChildExitStatus::Ok,
                    },
                );
            }
            for e in [&mut self.master, &mut self.replica] {
                if e.poll_timeout().is_some_and(|t| t <= self.now_us) {
                    e.handle_timeout(self.now_us);
                }
            }
            self.pump();
        }
    }

    fn master_cmd(&mut self, args: &[&str]) -> Value {
        self.client_replies.clear();
        let bytes = encode_command(args);
        self.master.handle_input(
            self.now_us,
            Input::Data {
                conn: CLIENT,
                bytes: &bytes,
            },
        );
        self.pump();
        parse_reply(&self.client_replies).unwrap().unwrap().0
    }

    fn info(engine: &mut Engine, now: u64, field: &str) -> String {
        engine
            .info_fields(now)
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
            .unwrap_or_default()
    }
    fn m(&mut self, field: &str) -> String {
        Pair::info(&mut self.master, self.now_us, field)
    }
    fn r(&mut self, field: &str) -> String {
        Pair::info(&mut self.replica, self.now_us, field)
    }
}

#[test]
fn full_sync_waits_for_diskless_delay_then_streams() {
    let mut p = Pair::new(&[], &[]);
    p.master_cmd(&["SET", "a", "1"]);
    p.advance_ms(2_500);
    assert_eq!(p.m("sync_full"), "1");
    assert_eq!(
        p.r("master_link_status"),
        "down",
        "diskless sync waits repl-diskless-sync-delay"
    );
    p.advance_ms(6_000);
    assert_eq!(p.r("master_link_status"), "up");
    assert_eq!(p.m("slave0").split(',').nth(2), Some("state=online"));
    p.master_cmd(&["SET", "b", "2"]);
    p.advance_ms(1_100);
    assert_eq!(p.m("master_repl_offset"), p.r("slave_repl_offset"));
    let r_keys = p.r("db0");
    assert_eq!(r_keys, "keys=2,expires=0,avg_ttl=0");
}

#[test]
fn short_cut_resumes_with_partial_resync() {
    let mut p = Pair::new(&["repl-timeout 5"], &["repl-timeout 5"]);
    p.advance_ms(8_000);
    assert_eq!(p.r("master_link_status"), "up");
    p.cut = true;
    for i in 0..50 {
        p.master_cmd(&["SET", &format!("k{}", i), "v"]);
    }
    p.advance_ms(8_000);
    p.cut = false;
    assert_eq!(p.r("master_link_status"), "down");
    p.advance_ms(3_000);
    assert_eq!(p.r("master_link_status"), "up");
    assert_eq!(p.m("sync_full"), "1");
    assert_eq!(p.m("sync_partial_ok"), "1");
    assert_eq!(p.m("master_repl_offset"), p.r("slave_repl_offset"));
}

#[test]
fn cut_longer_than_backlog_forces_full_resync() {
    let conf = ["repl-timeout 5", "repl-backlog-size 16kb"];
    let mut p = Pair::new(&conf, &conf);
    p.advance_ms(8_000);
    p.cut = true;
    let value = "x".repeat(1000);
    for i in 0..100 {
        p.master_cmd(&["SET", &format!("k{}", i), &value]);
    }
    p.advance_ms(8_000);
    p.cut = false;
    p.advance_ms(10_000);
    assert_eq!(p.r("master_link_status"), "up");
    assert_eq!(p.m("sync_full"), "2");
    assert_eq!(p.m("sync_partial_err"), "1");
    assert_eq!(p.m("master_repl_offset"), p.r("slave_repl_offset"));
}

#[test]
fn min_replicas_refuses_writes_after_max_lag_on_whole_seconds() {
    let mut p = Pair::new(&["min-replicas-to-write 1", "min-replicas-max-lag 3"], &[]);
    assert_eq!(
        p.master_cmd(&["SET", "a", "1"]),
        Value::Error("NOREPLICAS Not enough good replicas to write.".into())
    );
    p.advance_ms(8_000);
    assert_eq!(p.master_cmd(&["SET", "a", "1"]), Value::Simple("OK".into()));
    assert_eq!(p.m("min_slaves_good_slaves"), "1");
    p.cut = true;
    // ACKs stop: lag must exceed 3 whole seconds, noticed at a 1 Hz cron tick.
    p.advance_ms(3_000);
    assert_eq!(p.master_cmd(&["SET", "a", "2"]), Value::Simple("OK".into()));
    p.advance_ms(2_000);
    assert_eq!(
        p.master_cmd(&["SET", "a", "3"]),
        Value::Error("NOREPLICAS Not enough good replicas to write.".into())
    );
    assert_eq!(p.m("min_slaves_good_slaves"), "0");
    p.cut = false;
    p.advance_ms(1_500);
    assert_eq!(p.master_cmd(&["SET", "a", "4"]), Value::Simple("OK".into()));
}

#[test]
fn wait_counts_acknowledged_replicas() {
    let mut p = Pair::new(&[], &[]);
    p.advance_ms(9_000);
    p.master_cmd(&["SET", "a", "1"]);
    p.client_replies.clear();
    let bytes = encode_command(&["WAIT", "1", "500"]);
    p.master.handle_input(
        p.now_us,
        Input::Data {
            conn: CLIENT,
            bytes: &bytes,
        },
    );
    p.pump();
    p.advance_ms(20);
    assert_eq!(
        parse_reply(&p.client_replies).unwrap().unwrap().0,
        Value::Int(1)
    );
    p.cut = true;
    p.master_cmd(&["SET", "a", "2"]);
    p.client_replies.clear();
    p.master.handle_input(
        p.now_us,
        Input::Data {
            conn: CLIENT,
            bytes: &bytes,
        },
    );
    p.advance_ms(400);
    assert!(p.client_replies.is_empty(), "WAIT blocks until its timeout");
    p.advance_ms(200);
    assert_eq!(
        parse_reply(&p.client_replies).unwrap().unwrap().0,
        Value::Int(0)
    );
}

#[test]
fn transactions_and_multi_command_propagation_reach_the_replica() {
    let mut p = Pair::new(&[], &[]);
    p.advance_ms(9_000);
    p.master_cmd(&["SADD", "s", "1", "2", "3", "4", "5"]);
    // SPOP with a count propagates one SREM per member, wrapped in MULTI/EXEC.
    p.master_cmd(&["SPOP", "s", "2"]);
    p.master_cmd(&["MULTI"]);
    p.master_cmd(&["INCR", "n"]);
    p.master_cmd(&["INCR", "n"]);
    assert_eq!(
        p.master_cmd(&["EXEC"]),
        Value::Array(vec![Value::Int(1), Value::Int(2)])
    );
    p.advance_ms(1_100);
    assert_eq!(p.m("master_repl_offset"), p.r("slave_repl_offset"));
    assert_eq!(p.r("db0"), "keys=2,expires=0,avg_ttl=0");
    let scard = |e: &mut Engine, now: u64| {
        let (reply, _) = e.admin_command(now, vec![b"SCARD".to_vec(), b"s".to_vec()]);
        parse_reply(&reply).unwrap().unwrap().0
    };
    assert_eq!(scard(&mut p.replica, p.now_us), Value::Int(3));
    let (reply, _) = p
        .replica
        .admin_command(p.now_us, vec![b"GET".to_vec(), b"n".to_vec()]);
    assert_eq!(
        parse_reply(&reply).unwrap().unwrap().0,
        Value::Bulk(b"2".to_vec())
    );
}

#[test]
fn disk_based_full_sync_is_a_bgsave_whose_file_the_replica_gets() {
    let mut p = Pair::new(&["repl-diskless-sync no"], &[]);
    p.master_cmd(&["SET", "a", "1"]);
    p.advance_ms(1_500);
    assert_eq!(p.r("master_link_status"), "up");
    assert_eq!(p.r("db0"), "keys=1,expires=0,avg_ttl=0");
    // The sync's child wrote dump.rdb, and it counts as a save.
    let dump = p
        .files
        .get("dump.rdb")
        .expect("the sync's BGSAVE renamed its file to dump.rdb");
    let loaded = redsim_engine::rdb::load(dump, 16).unwrap();
    assert_eq!(loaded.dbs[0].dict.len(), 1);
    assert_eq!(p.m("rdb_saves"), "1");
    assert_eq!(p.m("rdb_changes_since_last_save"), "0");
    assert_eq!(p.m("total_forks"), "1");
    assert_eq!(p.m("rdb_bgsave_in_progress"), "0");
}

#[test]
fn publish_reaches_the_replicas_subscribers_but_not_the_aof() {
    let mut p = Pair::new(&["appendonly yes"], &[]);
    p.advance_ms(9_000);
    p.replica.handle_input(
        p.now_us,
        Input::Accepted {
            conn: REPLICA_CLIENT,
            peer: "10.0.0.7:6000".into(),
            local_port: 6379,
        },
    );
    let subscribe = encode_command(&["SUBSCRIBE", "news"]);
    p.replica.handle_input(
        p.now_us,
        Input::Data {
            conn: REPLICA_CLIENT,
            bytes: &subscribe,
        },
    );
    p.pump();
    p.replica_client_replies.clear();
    // PUBLISH changes nothing, yet Redis forces it to the replicas.
    assert_eq!(p.master_cmd(&["PUBLISH", "news", "hello"]), Value::Int(0));
    p.master_cmd(&["SET", "k", "v"]);
    p.advance_ms(1_100);
    assert_eq!(p.m("master_repl_offset"), p.r("slave_repl_offset"));
    assert_eq!(
        p.replica_client_replies,
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    // The AOF gets the SET only: PUBLISH is PROPAGATE_REPL alone.
    let aof: Vec<u8> = p.files.values().flatten().copied().collect();
    let has = |needle: &[u8]| aof.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"$3\r\nSET\r\n"), "the AOF has the SET");
    assert!(!has(b"PUBLISH"), "no PUBLISH in the AOF");
}

/// A replica whose RDB never arrives keeps waiting for it while the master
/// holds the stream for it: past the soft limit for longer than
/// soft-seconds, clientsCron closes it (the synchronous line); past the hard
/// limit, the write itself schedules the close. Each drop is followed by a
/// new full sync.
#[test]
fn replica_output_buffer_limits_soft_then_hard() {
    let conf = [
        "client-output-buffer-limit replica 64kb 8kb 2",
        "repl-backlog-size 16kb",
    ];
    let mut p = Pair::new(&conf, &[]);
    p.advance_ms(4_000);
    p.cut = true; // the RDB of the coming sync is lost on the way
    p.advance_ms(3_000);
    assert_eq!(p.m("sync_full"), "1");
    let value = "x".repeat(1000);
    for i in 0..10 {
        p.master_cmd(&["SET", &format!("k{}", i), &value]);
    }
    let soft = |p: &Pair| {
        p.master_logs
            .iter()
            .filter(|l| l.ends_with(" closed for overcoming of output buffer limits."))
            .count()
    };
    let hard = |p: &Pair| {
        p.master_logs
            .iter()
            .filter(|l| {
                l.ends_with("scheduled to be closed ASAP for overcoming of output buffer limits.")
            })
            .count()
    };
    p.advance_ms(2_000);
    assert_eq!(soft(&p), 0, "the soft limit must hold for more than 2 s");
    p.advance_ms(2_000);
    assert_eq!(soft(&p), 1);
    assert!(p.master_logs.iter().any(|l| l.contains("flags=S")));
    // The replica comes back for a new full sync, whose RDB is lost too;
    // 70 KB of writes cross the 64 KB hard limit at once.
    p.cut = false;
    p.advance_ms(1_500);
    assert_eq!(p.m("sync_full"), "2");
    p.cut = true;
    p.advance_ms(6_000);
    for i in 0..70 {
        p.master_cmd(&["SET", &format!("k{}", i), &value]);
    }
    assert_eq!(hard(&p), 1);
    assert_eq!(soft(&p), 1);
    p.cut = false;
    p.advance_ms(10_000);
    assert_eq!(p.r("master_link_status"), "up");
    assert_eq!(p.m("sync_full"), "3");
}
