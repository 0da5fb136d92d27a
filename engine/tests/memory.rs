//! The memory model: used_memory by size classes, copy-on-write after
//! fork (and with transparent huge pages), swap-in stalls, compact string
//! values, and DEBUG POPULATE. Replies of DEBUG POPULATE / MEMORY USAGE /
//! OBJECT ENCODING were checked against redis-server 7.0.15.

use redsim_engine::child::{self, ChildKind};
use redsim_engine::object::{StrObj, Value};
use redsim_engine::{
    ChildExitStatus, ChildJob, Config, ConnId, Engine, EngineOptions, Input, MachineInfo, Output,
};

const START_US: u64 = 1_700_000_000_000_000;
const CONN: ConnId = ConnId(1);

struct Node {
    engine: Engine,
    now_us: u64,
    logs: Vec<String>,
}

impl Node {
    fn with_machine(machine: MachineInfo) -> Node {
        let opts = EngineOptions {
            seed: 1,
            pid: 100,
            port: 6379,
            machine,
            ..Default::default()
        };
        let mut config = Config::default();
        config.set("enable-debug-command", &["yes"]).expect("valid");
        let mut engine = Engine::new(config, opts, START_US);
        engine.handle_input(
            START_US,
            Input::Accepted {
                conn: CONN,
                peer: "127.0.0.1:50000".into(),
                local_port: 6379,
            },
        );
        while engine.poll_output().is_some() {}
        Node {
            engine,
            now_us: START_US,
            logs: Vec::new(),
        }
    }

    fn new() -> Node {
        Node::with_machine(MachineInfo::default())
    }

    /// Sends one command; returns the reply and the step's CPU time.
    fn raw(&mut self, args: &[&[u8]]) -> (Vec<u8>, u64) {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        let step = self.engine.handle_input(
            self.now_us,
            Input::Data {
                conn: CONN,
                bytes: &req,
            },
        );
        (self.drain(), step.cpu_us)
    }

    fn drain(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(o) = self.engine.poll_output() {
            match o {
                Output::Send { bytes, .. } => out.extend_from_slice(&bytes),
                Output::Log(l) => self.logs.push(format!("{}:{}", l.role, l.message)),
                _ => {}
            }
        }
        out
    }

    fn cmd(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        String::from_utf8_lossy(&self.raw(&args).0).into_owned()
    }

    fn used(&self) -> u64 {
        self.engine.memory_stats().used_memory
    }

    fn info(&mut self, name: &str) -> String {
        let fields = self.engine.info_fields(self.now_us);
        fields
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no INFO field {}", name))
    }

    fn fork(&mut self) -> u32 {
        let pid = child::fork(
            self.engine.server_mut(),
            ChildKind::Rdb,
            ChildJob::Compute { cpu_us: 1 },
        );
        self.drain();
        pid
    }

    fn child_exit(&mut self, pid: u32) {
        self.engine.handle_input(
            self.now_us,
            Input::ChildExit {
                pid,
                status: ChildExitStatus::Ok,
            },
        );
        self.drain();
    }

    fn cron(&mut self) {
        self.now_us += 100_000;
        self.engine.handle_timeout(self.now_us);
        self.drain();
    }
}

#[test]
fn used_memory_moves_by_size_classes() {
    let mut n = Node::new();
    assert_eq!(n.info("used_memory"), n.used().to_string());
    let before = n.used();
    // dict entry 24 -> 32, key sds5 "k" 3 -> 8, embstr robj+sds 16+3+5+1 -> 32.
    assert_eq!(n.cmd("SET k hello"), "+OK\r\n");
    assert_eq!(n.used() - before, 32 + 8 + 32);
    // Overwrite with a raw string: embstr freed, robj 16 + sds 3+100+1 -> 112.
    let v100 = "v".repeat(100);
    n.cmd(&format!("SET k {}", v100));
    assert_eq!(n.used() - before, 32 + 8 + 16 + 112);
    // An integer is a bare robj.
    n.cmd("SET i 12345");
    assert_eq!(n.used() - before, 32 + 8 + 16 + 112 + 32 + 8 + 16);
    n.cmd("DEL k i");
    assert_eq!(n.used(), before);
    // In-place growth (APPEND) is re-sized after the command: the embstr
    // (32) becomes robj 16 + sds 3+201+1 -> 224 (sds's greedy growth is
    // not modelled).
    n.cmd("SET a x");
    let after_set = n.used();
    n.cmd(&format!("APPEND a {}", "y".repeat(200)));
    assert_eq!(n.used() - after_set, (16 + 224) - 32);
    n.cmd("DEL a");
    assert_eq!(n.used(), before);
    // Hash fields change the listpack's size class, no walk needed.
    n.cmd("HSET h f1 v1");
    let one = n.used();
    n.cmd(&format!("HSET h f2 {}", "z".repeat(300)));
    assert!(n.used() > one + 300, "{} vs {}", n.used(), one);
    n.cmd("FLUSHALL");
    assert_eq!(n.used(), before);
}

/// Overwrites `count` random small keys of a populated node during a fork.
fn overwrite_during_fork(n: &mut Node, keys: u64, count: u64) -> (u64, u64) {
    n.cmd(&format!("DEBUG POPULATE {} key 100", keys));
    n.cron();
    let rss = n.engine.memory_stats().rss_bytes;
    let pid = n.fork();
    let mut x = 12345u64;
    for _ in 0..count {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let k = format!("key:{}", (x >> 33) % keys);
        n.cmd(&format!("SET {} {}", k, "w".repeat(100)));
    }
    n.cron();
    let copied = n.engine.memory_stats().child_private_bytes;
    assert_eq!(n.info("current_cow_size"), copied.to_string());
    n.child_exit(pid);
    (copied, rss)
}

#[test]
fn overwriting_one_percent_of_keys_copies_far_more_pages() {
    let mut n = Node::new();
    let (copied, rss) = overwrite_during_fork(&mut n, 100_000, 1_000);
    let share = copied as f64 / rss as f64;
    eprintln!(
        "4 KiB pages: 1% of keys overwritten copied {} of {} RSS bytes ({:.1}%)",
        copied,
        rss,
        share * 100.0
    );
    assert!(
        share > 0.10 && share < 0.9,
        "copied {} of rss {} ({:.3})",
        copied,
        rss,
        share
    );
    let line = n
        .logs
        .iter()
        .find(|l| l.starts_with("C:Fork CoW for RDB: current "))
        .expect("CoW log line");
    let mb = copied >> 20;
    assert_eq!(
        line,
        &format!(
            "C:Fork CoW for RDB: current {} MB, peak {} MB, average {} MB",
            mb, mb, mb
        )
    );
    assert_eq!(n.engine.memory_stats().child_private_bytes, 0);
    assert_eq!(n.info("current_cow_size"), "0");
}

#[test]
fn huge_pages_copy_nearly_everything() {
    let mut n = Node::with_machine(MachineInfo {
        thp: true,
        ..Default::default()
    });
    let (copied, rss) = overwrite_during_fork(&mut n, 100_000, 1_000);
    let heap_rss = rss - redsim_engine::memory::PROCESS_BASE_RSS;
    eprintln!(
        "2 MiB pages: 1% of keys overwritten copied {} of {} heap RSS bytes",
        copied, heap_rss
    );
    assert!(
        copied as f64 >= 0.9 * heap_rss as f64,
        "copied {} of heap rss {}",
        copied,
        heap_rss
    );
    assert_eq!(copied % (2 << 20), 0);
}

#[test]
fn no_copy_without_a_child_and_reads_never_copy() {
    let mut n = Node::new();
    n.cmd("DEBUG POPULATE 10000 key 100");
    for i in 0..500 {
        n.cmd(&format!("SET key:{} {}", i * 7, "q".repeat(100)));
    }
    assert_eq!(n.engine.memory_stats().child_private_bytes, 0);
    assert_eq!(n.engine.server().mem.heap.copied, 0);
    let pid = n.fork();
    for i in 0..500 {
        n.cmd(&format!("GET key:{}", i * 7));
    }
    assert_eq!(n.engine.memory_stats().child_private_bytes, 0);
    n.child_exit(pid);
}

#[test]
fn swapped_pages_stall_the_loop_when_touched() {
    let mut n = Node::new();
    n.cmd("DEBUG POPULATE 1000 key 4096");
    n.cron();
    let (_, warm_us) = n.raw(&[b"GET", b"key:5"]);
    let stats = n.engine.memory_stats();
    let moved = n.engine.swap_out(stats.rss_bytes);
    assert!(moved > 0);
    let after = n.engine.memory_stats();
    assert_eq!(after.swapped_bytes, moved);
    assert_eq!(after.rss_bytes, stats.rss_bytes - moved);
    let (reply, cold_us) = n.raw(&[b"GET", b"key:5"]);
    assert_eq!(reply.len(), "$4096\r\n".len() + 4096 + 2);
    let pages = n.engine.memory_stats().swap_in_pages;
    assert!(pages >= 1);
    assert!(
        cold_us >= warm_us + pages * 100,
        "cold {} warm {} pages {}",
        cold_us,
        warm_us,
        pages
    );
    // Now resident: no stall.
    let (_, again_us) = n.raw(&[b"GET", b"key:5"]);
    assert_eq!(n.engine.memory_stats().swap_in_pages, pages);
    assert!(again_us < warm_us + 100, "{} vs {}", again_us, warm_us);
}

fn string_at(n: &Node, key: &str) -> StrObj {
    match &n.engine.server().dbs[0]
        .dict
        .get(key.as_bytes())
        .expect("key")
        .value
    {
        Value::Str(s) => s.clone(),
        _ => panic!("not a string"),
    }
}

#[test]
fn compact_values_read_as_their_bytes() {
    let mut n = Node::new();
    let mut plain = b"c7:123".to_vec();
    plain.resize(4000, b'x');
    n.raw(&[b"SET", b"k", &plain]);
    assert!(string_at(&n, "k").run().is_some(), "stored compact");
    assert_eq!(
        n.raw(&[b"GET", b"k"]).0,
        [
            format!("${}\r\n", plain.len()).into_bytes(),
            plain.clone(),
            b"\r\n".to_vec()
        ]
        .concat()
    );
    assert_eq!(n.cmd("STRLEN k"), ":4000\r\n");
    for (a, b) in [
        (0i64, 10i64),
        (3, 8),
        (5, 5000),
        (-10, -1),
        (-4000, 7),
        (6, 6),
        (3990, 3999),
    ] {
        let len = plain.len() as i64;
        let (s, e) = (
            (if a < 0 { len + a } else { a }).max(0) as usize,
            (if b < 0 { len + b } else { b }).min(len - 1) as usize,
        );
        let want = &plain[s..=e];
        let got = n
            .raw(&[
                b"GETRANGE",
                b"k",
                a.to_string().as_bytes(),
                b.to_string().as_bytes(),
            ])
            .0;
        assert_eq!(
            got,
            [
                format!("${}\r\n", want.len()).into_bytes(),
                want.to_vec(),
                b"\r\n".to_vec()
            ]
            .concat(),
            "{} {}",
            a,
            b
        );
    }
    n.cmd("MEMORY USAGE k");
    n.cmd("OBJECT ENCODING k");
    assert!(
        string_at(&n, "k").real_bytes() < 64,
        "hot paths must not materialise the value"
    );
    n.cmd("APPEND k xxxx");
    plain.extend_from_slice(b"xxxx");
    assert!(string_at(&n, "k").run().is_some(), "still a run");
    n.cmd("APPEND k yz");
    plain.extend_from_slice(b"yz");
    assert!(string_at(&n, "k").run().is_none());
    assert_eq!(string_at(&n, "k").to_vec(), plain);
    assert_eq!(n.cmd("MEMORY USAGE k"), n.cmd("MEMORY USAGE k"));
}

#[test]
fn compact_values_save_and_dump_like_plain_ones() {
    use redsim_engine::db::Db;
    use redsim_engine::object::Entry;
    let aux = redsim_engine::rdb::Aux {
        ctime_s: 1,
        used_mem: 1 << 20,
        repl_id: "0".repeat(40),
        repl_offset: 0,
    };
    let cases: Vec<(Vec<u8>, u8, usize)> = vec![
        (b"value:0".to_vec(), 0, 4096),
        (b"c12:99".to_vec(), b'x', 1000),
        (b"".to_vec(), b'a', 300),
        (b"xxhead".to_vec(), b'x', 100_000),
    ];
    for compression in [true, false] {
        let opts = redsim_engine::rdb::SaveOptions {
            compression,
            ..Default::default()
        };
        let (mut compact, mut plain) = (Db::default(), Db::default());
        for (i, (head, fill, len)) in cases.iter().enumerate() {
            let c = StrObj::from_run(head, *fill, *len);
            assert!(c.run().is_some());
            let p = StrObj::plain(c.to_vec());
            assert!(p.run().is_none());
            let key = format!("k{}", i).into_bytes();
            assert_eq!(
                redsim_engine::rdb::dump_payload(&Value::Str(c.clone()), &opts),
                redsim_engine::rdb::dump_payload(&Value::Str(p.clone()), &opts)
            );
            compact.dict.insert(key.clone(), Entry::new(Value::Str(c)));
            plain.dict.insert(key, Entry::new(Value::Str(p)));
        }
        let a = redsim_engine::rdb::save_with(&[compact], &aux, &opts);
        let b = redsim_engine::rdb::save_with(&[plain.clone()], &aux, &opts);
        assert_eq!(a, b, "compression {}", compression);
        let loaded = redsim_engine::rdb::load(&a, 1).expect("loads");
        for (key, entry) in &plain.dict {
            let Value::Str(want) = &entry.value else {
                unreachable!()
            };
            let Value::Str(got) = &loaded.dbs[0].dict[key].value else {
                panic!("type")
            };
            assert_eq!(got.to_vec(), want.to_vec());
            assert!(got.run().is_some(), "loading keeps it compact");
        }
    }
}

/// Replies checked against redis-server 7.0.15 (enable-debug-command yes).
#[test]
fn debug_populate_like_redis() {
    let mut n = Node::new();
    assert_eq!(n.cmd("DEBUG POPULATE 3 key 10"), "+OK\r\n");
    assert_eq!(
        n.raw(&[b"GET", b"key:0"]).0,
        b"$10\r\nvalue:0\x00\x00\x00\r\n"
    );
    assert_eq!(
        n.raw(&[b"GET", b"key:2"]).0,
        b"$10\r\nvalue:2\x00\x00\x00\r\n"
    );
    assert_eq!(n.cmd("DEBUG POPULATE 2 key 3"), "+OK\r\n");
    assert_eq!(n.cmd("GET key:1"), "$10\r\nvalue:1\x00\x00\x00\r\n");
    n.cmd("DEBUG POPULATE 2 k");
    assert_eq!(n.cmd("GET k:1"), "$7\r\nvalue:1\r\n");
    n.cmd("DEBUG POPULATE 1 z 0");
    assert_eq!(n.cmd("GET z:0"), "$7\r\nvalue:0\r\n");
    n.cmd("DEBUG POPULATE 1 c 3");
    assert_eq!(n.cmd("GET c:0"), "$3\r\nval\r\n");
    n.cmd("DEBUG POPULATE 1 q 100");
    assert_eq!(n.cmd("MEMORY USAGE q:0"), ":160\r\n");
    assert_eq!(n.cmd("OBJECT ENCODING q:0"), "$3\r\nraw\r\n");
    n.cmd("DEBUG POPULATE 1 e 20");
    assert_eq!(n.cmd("OBJECT ENCODING e:0"), "$6\r\nembstr\r\n");
    assert_eq!(n.cmd("MEMORY USAGE e:0"), ":80\r\n");
    n.cmd("DEBUG POPULATE 1 r 4096");
    assert_eq!(n.cmd("MEMORY USAGE r:0"), ":5168\r\n");
    assert_eq!(n.cmd("OBJECT ENCODING r:0"), "$3\r\nraw\r\n");
    assert_eq!(
        n.cmd("DEBUG POPULATE -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        n.cmd("DEBUG POPULATE 1 z2 -3"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(n.cmd("DBSIZE"), ":10\r\n");
    assert!(string_at(&n, "r:0").run().is_some());
}

#[test]
fn loaded_keyspace_is_re_accounted_by_cron() {
    let mut n = Node::new();
    n.cmd("DEBUG POPULATE 1000 key 100");
    // Two cron passes: the first resets the new client's reply-buffer peak,
    // the second shrinks its buffer to 1 KiB, so the client's memory stays
    // put from here on.
    n.cron();
    n.cron();
    let used = n.used();
    let dbs = n.engine.server().dbs.clone();
    let image = redsim_engine::rdb::save(
        &dbs,
        &redsim_engine::rdb::Aux {
            ctime_s: 1,
            used_mem: 0,
            repl_id: "0".repeat(40),
            repl_offset: 0,
        },
    );
    n.cmd("FLUSHALL");
    let loaded = redsim_engine::rdb::load(&image, 16).expect("loads");
    n.engine.server_mut().dbs = loaded.dbs;
    n.cron();
    assert_eq!(n.used(), used);
    assert_eq!(n.engine.server().mem.keys(), 1000);
}

#[test]
fn aof_rewrite_child_logs_its_cow_and_age_grows() {
    let mut n = Node::new();
    n.cmd("DEBUG POPULATE 20000 key 100");
    n.cron();
    let pid = child::fork(
        n.engine.server_mut(),
        ChildKind::AofRewrite,
        ChildJob::Compute { cpu_us: 1 },
    );
    n.drain();
    n.cmd("SET key:1 changed");
    n.cron();
    assert_eq!(n.info("current_cow_size"), "8192");
    assert_eq!(n.info("current_cow_size_age"), "0");
    n.now_us += 3_000_000;
    assert_eq!(n.info("current_cow_size_age"), "3");
    n.child_exit(pid);
    assert!(
        n.logs
            .iter()
            .any(|l| l == "C:Fork CoW for AOF rewrite: current 0 MB, peak 0 MB, average 0 MB"),
        "{:?}",
        n.logs
    );
}
