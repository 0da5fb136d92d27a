//! RDB persistence driven through the Engine API: SAVE's file operations,
//! BGSAVE's fork and the child's exit, save points on whole seconds,
//! MISCONF after a failed child, FLUSHALL's save, DEBUG RELOAD and loading
//! dump.rdb at start-up.

use std::collections::BTreeMap;

use redsim_engine::child::{self, ChildKind};
use redsim_engine::db::Db;
use redsim_engine::object::{Entry, Value};
use redsim_engine::resp::{encode_command, parse_reply, Value as R};
use redsim_engine::{
    ChildExitStatus, ChildJob, Config, DiskOp, Engine, EngineOptions, Input, LogLine, Output,
};

/// A whole second, so save-point arithmetic is easy to follow.
const T0: u64 = 1_704_067_200_000_000;
const PID: u32 = 4000;
const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

struct Node {
    e: Engine,
    now: u64,
    logs: Vec<LogLine>,
    disk: Vec<DiskOp>,
    forks: Vec<(u32, ChildJob)>,
    events: Vec<(String, String)>,
    replies: Vec<u8>,
    last_cpu_us: u64,
}

impl Node {
    fn new(conf: &[&str]) -> Node {
        Node::with_files(conf, BTreeMap::new(), T0)
    }

    fn with_files(conf: &[&str], files: BTreeMap<String, Vec<u8>>, now: u64) -> Node {
        let config = Config::from_conf_lines(conf).unwrap();
        let e = Engine::new(
            config,
            EngineOptions {
                seed: 1,
                pid: PID,
                port: 6379,
                files,
                ..Default::default()
            },
            now,
        );
        let mut n = Node {
            e,
            now,
            logs: vec![],
            disk: vec![],
            forks: vec![],
            events: vec![],
            replies: vec![],
            last_cpu_us: 0,
        };
        n.drain();
        if !n.e.exited() {
            let step = n.e.handle_input(
                now,
                Input::Accepted {
                    conn: redsim_engine::ConnId(1),
                    peer: "127.0.0.1:5000".into(),
                    local_port: 6379,
                },
            );
            n.last_cpu_us = step.cpu_us;
            n.drain();
        }
        n
    }

    fn drain(&mut self) {
        while let Some(out) = self.e.poll_output() {
            match out {
                Output::Log(l) => self.logs.push(l),
                Output::Disk(op) => self.disk.push(op),
                Output::Fork(f) => self.forks.push((f.pid, f.job)),
                Output::Event(ev) => self.events.push((ev.name, ev.detail)),
                Output::Send { bytes, .. } => self.replies.extend_from_slice(&bytes),
                _ => {}
            }
        }
    }

    fn cmd(&mut self, args: &[&str]) -> R {
        self.replies.clear();
        let bytes = encode_command(args);
        let step = self.e.handle_input(
            self.now,
            Input::Data {
                conn: redsim_engine::ConnId(1),
                bytes: &bytes,
            },
        );
        self.last_cpu_us = step.cpu_us;
        self.drain();
        parse_reply(&self.replies).unwrap().unwrap().0
    }

    /// Advances the clock in 10 ms steps, firing due timers.
    fn advance_ms(&mut self, ms: u64) {
        let end = self.now + ms * 1000;
        while self.now < end {
            self.now += 10_000;
            if self.e.poll_timeout().is_some_and(|t| t <= self.now) {
                self.e.handle_timeout(self.now);
                self.drain();
            }
        }
    }

    fn exit_child(&mut self, pid: u32, status: ChildExitStatus) {
        self.e
            .handle_input(self.now, Input::ChildExit { pid, status });
        self.drain();
    }

    fn info(&mut self, field: &str) -> String {
        self.e
            .info_fields(self.now)
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
            .unwrap_or_default()
    }

    fn logged(&self, text: &str) -> bool {
        self.logs.iter().any(|l| l.message == text)
    }
}

fn ok() -> R {
    R::Simple("OK".into())
}

fn err(text: &str) -> R {
    R::Error(text.into())
}

#[test]
fn save_writes_the_temp_file_fsyncs_and_renames() {
    let mut n = Node::new(&["save \"\""]);
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["RPUSH", "l", "x", "y"]);
    n.now += 3_000_000;
    assert_eq!(n.cmd(&["SAVE"]), ok());
    let tmp = format!("temp-{}.rdb", PID);
    assert_eq!(n.disk.len(), 3, "{:?}", n.disk);
    let DiskOp::Append { file, bytes } = &n.disk[0] else {
        panic!("{:?}", n.disk[0])
    };
    assert_eq!(file, &tmp);
    assert_eq!(
        n.disk[1],
        DiskOp::Fsync {
            file: tmp.clone(),
            token: 0,
            blocking: true
        }
    );
    assert_eq!(
        n.disk[2],
        DiskOp::Rename {
            from: tmp,
            to: "dump.rdb".into()
        }
    );
    let loaded = redsim_engine::rdb::load(bytes, 16).unwrap();
    assert_eq!(loaded.dbs[0].dict.len(), 2);
    assert!(n.logged("DB saved on disk"));
    assert_eq!(n.cmd(&["LASTSAVE"]), R::Int((T0 / 1_000_000) as i64 + 3));
    assert_eq!(n.info("rdb_changes_since_last_save"), "0");
    assert_eq!(n.info("rdb_saves"), "1");
    assert!(n.forks.is_empty(), "SAVE does not fork");
}

#[test]
fn bgsave_forks_a_child_that_writes_and_renames() {
    let mut n = Node::new(&["save \"\""]);
    n.cmd(&["SET", "a", "1"]);
    assert_eq!(
        n.cmd(&["BGSAVE"]),
        R::Simple("Background saving started".into())
    );
    assert_eq!(n.forks.len(), 1);
    let (pid, job) = n.forks[0].clone();
    assert_eq!(pid, PID + 1);
    let ChildJob::WriteFile {
        file,
        bytes,
        cpu_us,
        incremental_fsync,
        rename_to,
    } = job
    else {
        panic!("{:?}", job)
    };
    assert_eq!(file, format!("temp-{}.rdb", pid));
    assert_eq!(rename_to.as_deref(), Some("dump.rdb"));
    assert!(incremental_fsync && cpu_us > 0);
    assert_eq!(
        redsim_engine::rdb::load(&bytes, 16).unwrap().dbs[0]
            .dict
            .len(),
        1
    );
    assert!(n.logged(&format!("Background saving started by pid {}", pid)));
    assert!(n.disk.is_empty(), "the parent writes nothing itself");
    assert_eq!(
        n.cmd(&["BGSAVE"]),
        err("ERR Background save already in progress")
    );
    assert_eq!(
        n.cmd(&["BGSAVE", "SCHEDULE"]),
        err("ERR Background save already in progress")
    );
    assert_eq!(
        n.cmd(&["SAVE"]),
        err("ERR Background save already in progress")
    );
    assert_eq!(n.cmd(&["BGSAVE", "NOW"]), err("ERR syntax error"));
    assert_eq!(n.info("rdb_bgsave_in_progress"), "1");
    assert_eq!(n.info("current_save_keys_total"), "1");
    // Writes during the child stay dirty after it ends.
    n.cmd(&["SET", "b", "2"]);
    n.cmd(&["SET", "c", "3"]);
    n.now += 2_000_000;
    assert_eq!(n.info("rdb_current_bgsave_time_sec"), "2");
    n.exit_child(pid, ChildExitStatus::Ok);
    assert!(n.logged("Background saving terminated with success"));
    assert_eq!(n.info("rdb_changes_since_last_save"), "2");
    assert_eq!(n.info("rdb_last_bgsave_status"), "ok");
    assert_eq!(n.info("rdb_bgsave_in_progress"), "0");
    assert_eq!(n.info("rdb_last_bgsave_time_sec"), "2");
    assert_eq!(n.info("rdb_saves"), "1");
    assert_eq!(n.info("total_forks"), "1");
    assert_eq!(n.cmd(&["LASTSAVE"]), R::Int((T0 / 1_000_000) as i64 + 2));
    assert!(n.e.server().child.is_none());
}

#[test]
fn fork_stalls_the_loop_in_proportion_to_rss() {
    let mut n = Node::new(&["save \"\"", "enable-debug-command yes"]);
    n.cmd(&["DEBUG", "POPULATE", "20000", "key", "100"]);
    assert_eq!(n.cmd(&["DBSIZE"]), R::Int(20000));
    let rss = n.e.memory_stats().rss_bytes;
    n.cmd(&["BGSAVE"]);
    let expected = (10.0 * 1000.0 * rss as f64 / (1u64 << 30) as f64) as u64;
    assert_eq!(n.info("latest_fork_usec"), expected.max(1).to_string());
    assert!(
        n.last_cpu_us >= expected,
        "the fork's stall is in the step's CPU time"
    );
}

#[test]
fn failed_bgsave_denies_writes_and_ping_with_misconf() {
    let mut n = Node::new(&["save 3600 1"]);
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["BGSAVE"]);
    let pid = n.forks[0].0;
    n.exit_child(pid, ChildExitStatus::Error);
    assert!(n.logged("Background saving error"));
    assert_eq!(n.info("rdb_last_bgsave_status"), "err");
    assert_eq!(n.cmd(&["SET", "a", "2"]), err(MISCONF));
    assert_eq!(n.cmd(&["PING"]), err(MISCONF));
    assert_eq!(n.cmd(&["GET", "a"]), R::Bulk(b"1".to_vec()));
    assert_eq!(
        n.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]),
        ok()
    );
    assert_eq!(n.cmd(&["SET", "a", "3"]), ok());
    assert_eq!(
        n.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]),
        ok()
    );
    assert_eq!(n.cmd(&["SET", "a", "4"]), err(MISCONF));
    // Without save points the error does not stop writes.
    assert_eq!(n.cmd(&["CONFIG", "SET", "save", ""]), ok());
    assert_eq!(n.cmd(&["SET", "a", "5"]), ok());
    assert_eq!(n.cmd(&["CONFIG", "SET", "save", "3600 1"]), ok());
    // A good BGSAVE clears it.
    n.cmd(&["BGSAVE"]);
    let pid = n.forks[1].0;
    n.exit_child(pid, ChildExitStatus::Ok);
    assert_eq!(n.cmd(&["SET", "a", "6"]), ok());
}

#[test]
fn child_killed_by_a_signal_removes_its_temp_file() {
    let mut n = Node::new(&["save \"\""]);
    n.cmd(&["BGSAVE"]);
    let pid = n.forks[0].0;
    n.exit_child(pid, ChildExitStatus::Signal(9));
    assert!(n.logged("Background saving terminated by signal 9"));
    assert_eq!(
        n.disk,
        vec![DiskOp::Remove {
            file: format!("temp-{}.rdb", pid)
        }]
    );
    assert_eq!(n.info("rdb_last_bgsave_status"), "err");
    // An exit for a pid that is not our child changes nothing.
    n.exit_child(pid + 7, ChildExitStatus::Ok);
    assert!(!n.logged("Background saving terminated with success"));
}

#[test]
fn save_point_fires_when_seconds_are_strictly_exceeded() {
    let mut n = Node::new(&["save 5 2"]);
    n.advance_ms(300);
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["SET", "b", "1"]);
    // unixtime - lastsave > 5: not at T0+5, first at the tick in T0+6.
    n.advance_ms(5_600);
    assert!(n.forks.is_empty(), "at T0+5.9 only 5 whole seconds passed");
    n.advance_ms(200);
    assert_eq!(
        n.forks.len(),
        1,
        "fires at the first cron tick of second T0+6"
    );
    assert!(n.logged("2 changes in 5 seconds. Saving..."));
    let pid = n.forks[0].0;
    // A failed save retries only after CONFIG_BGSAVE_RETRY_DELAY (> 5 s).
    n.exit_child(pid, ChildExitStatus::Error);
    let failed_at = n.now;
    n.advance_ms(5_000);
    assert_eq!(n.forks.len(), 1, "no retry within 5 s of the last try");
    n.advance_ms(1_000);
    assert_eq!(
        n.forks.len(),
        2,
        "retried once unixtime - lastbgsave_try > 5"
    );
    assert!(n.now - failed_at <= 6_000_000);
    let pid = n.forks[1].0;
    n.exit_child(pid, ChildExitStatus::Ok);
    assert_eq!(n.info("rdb_changes_since_last_save"), "0");
    n.advance_ms(10_000);
    assert_eq!(n.forks.len(), 2, "nothing dirty, no save");
}

#[test]
fn bgsave_schedule_waits_for_another_child() {
    let mut n = Node::new(&["save \"\""]);
    let aof_pid = child::fork(
        n.e.server_mut(),
        ChildKind::AofRewrite,
        ChildJob::Compute { cpu_us: 10 },
    );
    n.drain();
    assert_eq!(
        n.cmd(&["BGSAVE"]),
        err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    );
    assert_eq!(
        n.cmd(&["BGSAVE", "SCHEDULE"]),
        R::Simple("Background saving scheduled".into())
    );
    assert_eq!(n.info("rdb_bgsave_in_progress"), "0");
    n.advance_ms(500);
    assert_eq!(n.forks.len(), 1);
    n.exit_child(aof_pid, ChildExitStatus::Ok);
    n.advance_ms(200);
    assert_eq!(
        n.forks.len(),
        2,
        "the scheduled BGSAVE starts at the next cron tick"
    );
    assert!(matches!(n.forks[1].1, ChildJob::WriteFile { .. }));
    assert_eq!(n.info("rdb_bgsave_in_progress"), "1");
}

#[test]
fn bgsave_inside_multi_is_scheduled() {
    let mut n = Node::new(&["save \"\""]);
    n.cmd(&["MULTI"]);
    n.cmd(&["BGSAVE"]);
    assert_eq!(
        n.cmd(&["EXEC"]),
        R::Array(vec![R::Simple("Background saving scheduled".into())])
    );
    assert!(n.forks.is_empty());
    n.advance_ms(200);
    assert_eq!(n.forks.len(), 1);
}

#[test]
fn flushall_saves_when_save_points_exist() {
    let mut n = Node::new(&["save 3600 1"]);
    n.cmd(&["SET", "a", "1"]);
    assert_eq!(n.cmd(&["FLUSHALL"]), ok());
    assert_eq!(n.disk.len(), 3);
    assert!(matches!(&n.disk[2], DiskOp::Rename { to, .. } if to == "dump.rdb"));
    assert_eq!(n.info("rdb_changes_since_last_save"), "0");
    let mut quiet = Node::new(&["save \"\""]);
    quiet.cmd(&["SET", "a", "1"]);
    quiet.cmd(&["FLUSHALL"]);
    assert!(quiet.disk.is_empty());
    assert_eq!(quiet.info("rdb_changes_since_last_save"), "2");
    // An empty FLUSHALL changes nothing (redis-server 7.0.15 agrees).
    quiet.cmd(&["FLUSHALL"]);
    assert_eq!(quiet.info("rdb_changes_since_last_save"), "2");
}

#[test]
fn debug_reload_saves_and_loads_the_dataset_back() {
    let mut n = Node::new(&["save \"\"", "enable-debug-command yes"]);
    n.cmd(&["SET", "a", "1"]);
    n.cmd(&["HSET", "h", "f", "v"]);
    n.cmd(&["PEXPIRE", "a", "100000"]);
    assert_eq!(n.cmd(&["DEBUG", "RELOAD"]), ok());
    assert!(n.logged("DB reloaded by DEBUG RELOAD"));
    assert_eq!(n.cmd(&["HGET", "h", "f"]), R::Bulk(b"v".to_vec()));
    assert!(matches!(n.cmd(&["PTTL", "a"]), R::Int(t) if t > 99_000));
    assert_eq!(n.disk.len(), 3);
    assert_eq!(
        n.cmd(&["DEBUG", "RELOAD", "BOGUS"]),
        err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    );
    n.cmd(&["SET", "later", "x"]);
    assert_eq!(n.cmd(&["DEBUG", "RELOAD", "NOSAVE"]), ok());
    assert_eq!(
        n.cmd(&["EXISTS", "later"]),
        R::Int(0),
        "NOSAVE loads the file as it was"
    );
    assert_eq!(n.disk.len(), 3);
}

fn image_with(keys: &[(&str, &str, Option<i64>)], ctime_s: i64) -> Vec<u8> {
    let mut db = Db::default();
    for (k, v, exp) in keys {
        db.dict.insert(
            k.as_bytes().to_vec(),
            Entry::new(Value::Str(v.as_bytes().to_vec().into())),
        );
        if let Some(e) = exp {
            db.expires.insert(k.as_bytes().to_vec(), *e);
        }
    }
    let aux = redsim_engine::rdb::Aux {
        ctime_s,
        used_mem: 3 * 1024 * 1024,
        repl_id: "f".repeat(40),
        repl_offset: 1234,
    };
    redsim_engine::rdb::save(&[db], &aux)
}

#[test]
fn startup_loads_dump_rdb_and_drops_expired_keys_on_a_master() {
    let now_ms = (T0 / 1000) as i64;
    let img = image_with(
        &[
            ("a", "1", None),
            ("b", "2", Some(now_ms + 60_000)),
            ("gone", "x", Some(now_ms - 1)),
        ],
        (T0 / 1_000_000) as i64 - 30,
    );
    let files: BTreeMap<String, Vec<u8>> = [("dump.rdb".to_string(), img)].into_iter().collect();
    let mut n = Node::with_files(&["save \"\""], files, T0);
    for line in [
        "Loading RDB produced by version 7.0.15",
        "RDB age 30 seconds",
        "RDB memory usage when created 3.00 Mb",
        "Done loading RDB, keys loaded: 2, keys expired: 1.",
    ] {
        assert!(n.logged(line), "missing log {:?} in {:?}", line, n.logs);
    }
    assert!(n
        .logs
        .iter()
        .any(|l| l.message.starts_with("DB loaded from disk: ")));
    let order: Vec<&str> = n.logs.iter().map(|l| l.message.as_str()).collect();
    let ready = order
        .iter()
        .position(|m| *m == "Ready to accept connections")
        .unwrap();
    assert!(
        order
            .iter()
            .position(|m| m.starts_with("DB loaded from disk"))
            .unwrap()
            < ready
    );
    assert!(
        n.last_cpu_us > 0,
        "loading blocked the loop in the first step"
    );
    assert_eq!(n.cmd(&["GET", "a"]), R::Bulk(b"1".to_vec()));
    assert_eq!(n.cmd(&["EXISTS", "gone"]), R::Int(0));
    assert_eq!(n.info("rdb_last_load_keys_loaded"), "2");
    assert_eq!(n.info("rdb_last_load_keys_expired"), "1");
    // The file's replication id becomes the secondary id, for PSYNC after a restart.
    assert_eq!(n.info("master_replid2"), "f".repeat(40));
    assert_eq!(n.info("second_repl_offset"), "1235");
    assert_eq!(n.info("master_repl_offset"), "1234");
}

#[test]
fn startup_on_a_replica_keeps_expired_keys_and_caches_the_master() {
    let now_ms = (T0 / 1000) as i64;
    let img = image_with(
        &[("a", "1", None), ("gone", "x", Some(now_ms - 1))],
        (T0 / 1_000_000) as i64,
    );
    let files: BTreeMap<String, Vec<u8>> = [("dump.rdb".to_string(), img)].into_iter().collect();
    let mut n = Node::with_files(&["save \"\"", "replicaof m1 6379"], files, T0);
    assert!(n.logged("Done loading RDB, keys loaded: 2, keys expired: 0."));
    assert_eq!(n.info("master_replid"), "f".repeat(40));
    assert_eq!(
        n.e.server().repl.cached_master,
        Some(("f".repeat(40), 1234))
    );
}

#[test]
fn startup_ignores_a_missing_file_and_honours_dbfilename() {
    let img = image_with(&[("a", "1", None)], 0);
    let files: BTreeMap<String, Vec<u8>> = [("other.rdb".to_string(), img)].into_iter().collect();
    let mut n = Node::with_files(&["save \"\""], files.clone(), T0);
    assert_eq!(n.cmd(&["DBSIZE"]), R::Int(0));
    let mut m = Node::with_files(&["save \"\"", "dbfilename other.rdb"], files, T0);
    assert_eq!(m.cmd(&["DBSIZE"]), R::Int(1));
}

#[test]
fn a_short_rdb_at_startup_makes_the_process_exit() {
    let img = image_with(&[("a", "1", None), ("b", "2", None)], 0);
    let short = img[..img.len() - 12].to_vec();
    let files: BTreeMap<String, Vec<u8>> = [("dump.rdb".to_string(), short)].into_iter().collect();
    let mut n = Node::with_files(&["save \"\""], files, T0);
    assert!(n.e.exited());
    assert!(n.logged("Short read or OOM loading DB. Unrecoverable error, aborting now."));
    assert!(!n.logged("Ready to accept connections"));
    assert!(n.events.iter().any(|(name, _)| name == "exit"));
    assert_eq!(n.e.poll_timeout(), None);
    let step = n.e.handle_input(
        T0,
        Input::Accepted {
            conn: redsim_engine::ConnId(2),
            peer: "x:1".into(),
            local_port: 6379,
        },
    );
    assert_eq!(step.cpu_us, 0);
    assert!(
        n.e.poll_output().is_none(),
        "an exited process answers nothing"
    );
    let bad = [("dump.rdb".to_string(), b"NOTREDIS0010".to_vec())]
        .into_iter()
        .collect();
    let m = Node::with_files(&["save \"\""], bad, T0);
    assert!(m.e.exited());
    assert!(m.logged("Fatal error loading the DB: Invalid argument. Exiting."));
}

#[test]
fn info_persistence_fields_in_redis_order() {
    let mut n = Node::new(&["save \"\""]);
    let names: Vec<String> = n.e.info_fields(n.now).into_iter().map(|(k, _)| k).collect();
    let start = names.iter().position(|k| k == "loading").unwrap();
    let expected = [
        "loading",
        "async_loading",
        "current_cow_peak",
        "current_cow_size",
        "current_cow_size_age",
        "current_fork_perc",
        "current_save_keys_processed",
        "current_save_keys_total",
        "rdb_changes_since_last_save",
        "rdb_bgsave_in_progress",
        "rdb_last_save_time",
        "rdb_last_bgsave_status",
        "rdb_last_bgsave_time_sec",
        "rdb_current_bgsave_time_sec",
        "rdb_saves",
        "rdb_last_cow_size",
        "rdb_last_load_keys_expired",
        "rdb_last_load_keys_loaded",
        "aof_enabled",
    ];
    assert_eq!(&names[start..start + expected.len()], &expected[..]);
    assert_eq!(n.info("rdb_last_bgsave_time_sec"), "-1");
    assert_eq!(n.info("rdb_current_bgsave_time_sec"), "-1");
}
