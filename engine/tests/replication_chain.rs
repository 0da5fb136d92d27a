//! A chain of replicas, m1 -> r1 -> r2, under a steady write load: r1
//! proxies exactly the stream it applied into its own backlog and to r2,
//! including while r2 waits for and goes through a full sync, so at the
//! end the three datasets are equal key by key.

use std::collections::BTreeMap;

use redsim_engine::object::Value;
use redsim_engine::resp::encode_command;
use redsim_engine::{
    ChildExitStatus, ChildJob, Config, ConnId, Engine, EngineOptions, Input, Output,
};

const T0: u64 = 1_704_067_200_000_000;
const STEP_US: u64 = 10_000;
/// The client that writes to m1.
const WRITER: ConnId = ConnId(1);

/// A node and the connections the little network gave it.
struct Node {
    name: &'static str,
    engine: Engine,
    /// Children running: (exit time, pid).
    children: Vec<(u64, u32)>,
}

/// Three engines and the wires between them. A connection is two ends:
/// (node index, conn id) on each side.
struct Chain {
    nodes: Vec<Node>,
    wires: Vec<((usize, ConnId), (usize, ConnId))>,
    next_inbound: u64,
    now_us: u64,
}

fn node(name: &'static str, port: u16, seed: u64, conf: &[&str], now_us: u64) -> Node {
    let mut lines = vec!["repl-diskless-sync-delay 1"];
    lines.extend_from_slice(conf);
    let config = Config::from_conf_lines(&lines).expect("config");
    let options = EngineOptions {
        seed,
        pid: 10 + seed as u32,
        port,
        ..Default::default()
    };
    Node {
        name,
        engine: Engine::new(config, options, now_us),
        children: Vec::new(),
    }
}

impl Chain {
    fn peer_of(&self, end: (usize, ConnId)) -> Option<(usize, ConnId)> {
        self.wires.iter().find_map(|&(a, b)| {
            if a == end {
                Some(b)
            } else if b == end {
                Some(a)
            } else {
                None
            }
        })
    }

    /// Delivers every output until the network is quiet.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                while let Some(out) = self.nodes[i].engine.poll_output() {
                    moved = true;
                    self.deliver(i, out);
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn deliver(&mut self, from: usize, out: Output) {
        let now = self.now_us;
        match out {
            Output::Connect { conn, host, .. } => {
                let to = self
                    .nodes
                    .iter()
                    .position(|n| n.name == host)
                    .expect("a known host");
                let inbound = ConnId(self.next_inbound);
                self.next_inbound += 1;
                self.wires.push(((from, conn), (to, inbound)));
                let peer = format!("10.0.0.{}:{}", from + 1, 40000 + inbound.0);
                self.nodes[to].engine.handle_input(
                    now,
                    Input::Accepted {
                        conn: inbound,
                        peer,
                        local_port: 6379,
                    },
                );
                self.nodes[from]
                    .engine
                    .handle_input(now, Input::Connected { conn });
            }
            Output::Send { conn, bytes } => {
                if let Some((to, peer_conn)) = self.peer_of((from, conn)) {
                    self.nodes[to].engine.handle_input(
                        now,
                        Input::Data {
                            conn: peer_conn,
                            bytes: &bytes,
                        },
                    );
                }
            }
            Output::Close { conn } => {
                if let Some((to, peer_conn)) = self.peer_of((from, conn)) {
                    self.wires
                        .retain(|&(a, b)| a != (from, conn) && b != (from, conn));
                    self.nodes[to]
                        .engine
                        .handle_input(now, Input::Closed { conn: peer_conn });
                }
            }
            Output::Fork(req) => {
                let cpu_us = match &req.job {
                    ChildJob::WriteFile { cpu_us, .. } | ChildJob::Compute { cpu_us } => *cpu_us,
                };
                // Slow children: the sync spans many steps of writes.
                self.nodes[from]
                    .children
                    .push((now + cpu_us + 300_000, req.pid));
            }
            _ => {}
        }
    }

    /// One 10 ms step: children that ended, due timers, then the network.
    fn step(&mut self) {
        self.now_us += STEP_US;
        let now = self.now_us;
        for n in &mut self.nodes {
            let (done, running): (Vec<_>, Vec<_>) = n.children.drain(..).partition(|c| c.0 <= now);
            n.children = running;
            for (_, pid) in done {
                n.engine.handle_input(
                    now,
                    Input::ChildExit {
                        pid,
                        status: ChildExitStatus::Ok,
                    },
                );
            }
            if n.engine.poll_timeout().is_some_and(|t| t <= now) {
                n.engine.handle_timeout(now);
            }
        }
        self.pump();
    }

    fn write(&mut self, args: &[&str]) {
        let req = encode_command(args);
        self.nodes[0].engine.handle_input(
            self.now_us,
            Input::Data {
                conn: WRITER,
                bytes: &req,
            },
        );
    }

    fn info(&mut self, i: usize, field: &str) -> String {
        let fields = self.nodes[i].engine.info_fields(self.now_us);
        fields
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
            .unwrap_or_default()
    }
}

/// A node's dataset, every key of every db with its value in a form that
/// ignores encodings (an RDB-loaded "7" and an INCR'd 7 are the same).
fn dataset(e: &Engine) -> Dataset {
    let mut all = BTreeMap::new();
    for (i, db) in e.server().dbs.iter().enumerate() {
        for (key, entry) in db.dict.iter() {
            let value = match &entry.value {
                Value::Str(s) => format!("str {:?}", s.bytes()),
                Value::List(l) => format!("list {:?}", l),
                other => panic!("unexpected type {}", other.type_name()),
            };
            all.insert((i, key.clone()), value);
        }
    }
    all
}

type Dataset = BTreeMap<(usize, Vec<u8>), String>;

/// Equal datasets, or which keys differ (a readable failure).
fn assert_same(a: &Dataset, b: &Dataset, what: &str) {
    let keys: std::collections::BTreeSet<&(usize, Vec<u8>)> = a.keys().chain(b.keys()).collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|(db, key)| format!("db{} {}", db, String::from_utf8_lossy(key)))
        .collect();
    assert!(
        differ.is_empty(),
        "{}: {} of {} keys differ: {:?}",
        what,
        differ.len(),
        a.len(),
        &differ[..differ.len().min(8)]
    );
}

/// Writes of several kinds and dbs, a few per step.
fn write_load(chain: &mut Chain, round: u64) {
    let key = format!("k{}", round % 97);
    let value = format!("v{}", round);
    chain.write(&["SET", &key, &value]);
    chain.write(&["INCR", &format!("n{}", round % 13)]);
    chain.write(&["RPUSH", &format!("l{}", round % 7), &value]);
    if round.is_multiple_of(5) {
        chain.write(&["SELECT", "3"]);
        chain.write(&["APPEND", "other", "x"]);
        chain.write(&["SELECT", "0"]);
    }
    if round.is_multiple_of(11) {
        chain.write(&["DEL", &format!("k{}", (round / 11) % 97)]);
    }
}

fn chain() -> Chain {
    let m1 = node("m1", 6379, 1, &[], T0);
    let r1 = node("r1", 6380, 2, &["replicaof m1 6379"], T0);
    let mut c = Chain {
        nodes: vec![m1, r1],
        wires: Vec::new(),
        next_inbound: 100,
        now_us: T0,
    };
    c.nodes[0].engine.handle_input(
        T0,
        Input::Accepted {
            conn: WRITER,
            peer: "10.0.0.9:5000".into(),
            local_port: 6379,
        },
    );
    c
}

fn run_chain(diskless: bool) {
    let mut c = chain();
    if !diskless {
        let argv = vec![
            b"CONFIG".to_vec(),
            b"SET".to_vec(),
            b"repl-diskless-sync".to_vec(),
            b"no".to_vec(),
        ];
        for n in &mut c.nodes {
            n.engine.admin_command(T0, argv.clone());
        }
    }
    let mut round = 0;
    // r1 syncs from m1 under writes.
    for _ in 0..300 {
        write_load(&mut c, round);
        round += 1;
        c.step();
    }
    assert_eq!(c.info(1, "master_link_status"), "up");
    // r2 joins later, and does its full sync from r1 while writes go on.
    let mut r2 = node("r2", 6381, 3, &["replicaof r1 6380"], c.now_us);
    if !diskless {
        r2.engine.admin_command(
            c.now_us,
            vec![
                b"CONFIG".to_vec(),
                b"SET".to_vec(),
                b"repl-diskless-sync".to_vec(),
                b"no".to_vec(),
            ],
        );
    }
    c.nodes.push(r2);
    let mut saw_sync_under_writes = false;
    for _ in 0..600 {
        write_load(&mut c, round);
        round += 1;
        c.step();
        let state = c.info(1, "slave0");
        saw_sync_under_writes |=
            state.contains("state=wait_bgsave") || state.contains("state=send_bulk");
    }
    assert!(
        saw_sync_under_writes,
        "r2's full sync overlapped the writes"
    );
    // Writes stop; everything drains.
    for _ in 0..300 {
        c.step();
    }
    assert_eq!(c.info(2, "master_link_status"), "up");
    let (m1, r1, r2) = (
        dataset(&c.nodes[0].engine),
        dataset(&c.nodes[1].engine),
        dataset(&c.nodes[2].engine),
    );
    assert!(
        m1.len() > 100,
        "a dataset worth comparing: {} keys",
        m1.len()
    );
    assert_same(&m1, &r1, "r1 holds m1's dataset");
    assert_same(&r1, &r2, "r2 holds r1's dataset");
    let offsets: Vec<String> = (0..3).map(|i| c.info(i, "master_repl_offset")).collect();
    assert_eq!(offsets[0], offsets[1], "r1's offset follows m1's");
    assert_eq!(offsets[1], offsets[2], "r2's offset follows r1's");
}

#[test]
fn chained_replica_full_sync_under_writes_diskless() {
    run_chain(true);
}

#[test]
fn chained_replica_full_sync_under_writes_disk() {
    run_chain(false);
}
