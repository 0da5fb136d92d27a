//! Evictions reach replicas: a master evicting keys sends DEL (or UNLINK
//! with lazyfree-lazy-eviction) down the replication stream, and a replica
//! with the default replica-ignore-maxmemory only mirrors its master.

use redsim_engine::resp::{encode_command, parse_reply, Value};
use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input, Output};

const T0: u64 = 1_704_067_200_000_000;
const MASTER_SIDE: ConnId = ConnId(100);
const CLIENT: ConnId = ConnId(1);

struct Pair {
    master: Engine,
    replica: Engine,
    now_us: u64,
    link: Option<ConnId>,
    client_replies: Vec<u8>,
}

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
            client_replies: Vec::new(),
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
                    Output::Send { bytes, .. } => {
                        self.master.handle_input(
                            self.now_us,
                            Input::Data {
                                conn: MASTER_SIDE,
                                bytes: &bytes,
                            },
                        );
                    }
                    _ => {}
                }
            }
            while let Some(out) = self.master.poll_output() {
                moved = true;
                match out {
                    Output::Send { conn, bytes } if conn == MASTER_SIDE => {
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
                    // The full-sync child runs at once and succeeds.
                    Output::Fork(f) => {
                        self.master.handle_input(
                            self.now_us,
                            Input::ChildExit {
                                pid: f.pid,
                                status: redsim_engine::ChildExitStatus::Ok,
                            },
                        );
                    }
                    _ => {}
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn advance_ms(&mut self, ms: u64) {
        let end = self.now_us + ms * 1000;
        while self.now_us < end {
            self.now_us += 10_000;
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

    fn keys(engine: &Engine) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = engine.server().dbs[0].dict.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The replication stream the master produced since `offset`.
    fn stream_since(&self, offset: i64) -> String {
        let srv = self.master.server();
        let backlog = srv
            .repl
            .backlog
            .as_ref()
            .expect("a backlog once a replica attached");
        String::from_utf8_lossy(&backlog.copy_from(offset + 1)).into_owned()
    }
}

fn run(lazy: &str) -> (Pair, String) {
    let mut p = Pair::new(
        &[
            "maxmemory-policy allkeys-lru",
            &format!("lazyfree-lazy-eviction {}", lazy),
        ],
        &[],
    );
    // The diskless sync waits repl-diskless-sync-delay (5 s) first.
    p.advance_ms(8000);
    assert_eq!(
        Pair::info(&mut p.replica, p.now_us, "master_link_status"),
        "up"
    );
    let v = "v".repeat(20_000);
    for i in 0..20 {
        p.master_cmd(&["SET", &format!("k{:02}", i), &v]);
    }
    p.advance_ms(100);
    assert_eq!(Pair::keys(&p.replica).len(), 20);
    let used: u64 = Pair::info(&mut p.master, p.now_us, "used_memory")
        .parse()
        .unwrap();
    let offset = p.master.server().repl.master_repl_offset;
    p.master_cmd(&["CONFIG", "SET", "maxmemory", &(used - 100_000).to_string()]);
    p.advance_ms(100);
    assert_eq!(
        p.master_cmd(&["SET", "trigger", "1"]),
        Value::Simple("OK".into())
    );
    p.advance_ms(100);
    let stream = p.stream_since(offset);
    (p, stream)
}

#[test]
fn evicted_keys_are_deleted_on_the_replica() {
    let (mut p, stream) = run("no");
    let evicted: u64 = Pair::info(&mut p.master, p.now_us, "evicted_keys")
        .parse()
        .unwrap();
    assert!((5..=7).contains(&evicted), "evicted {}", evicted);
    assert_eq!(
        stream.matches("$3\r\nDEL\r\n").count() as u64,
        evicted,
        "stream: {:?}",
        &stream[..stream.len().min(300)]
    );
    assert!(
        !stream.contains("MULTI"),
        "evictions are not wrapped in a transaction"
    );
    assert_eq!(Pair::keys(&p.master), Pair::keys(&p.replica));
    assert_eq!(Pair::info(&mut p.replica, p.now_us, "evicted_keys"), "0");
}

#[test]
fn lazy_eviction_propagates_unlink() {
    let (mut p, stream) = run("yes");
    let evicted: u64 = Pair::info(&mut p.master, p.now_us, "evicted_keys")
        .parse()
        .unwrap();
    assert!(evicted >= 5);
    assert_eq!(stream.matches("$6\r\nUNLINK\r\n").count() as u64, evicted);
    assert_eq!(Pair::keys(&p.master), Pair::keys(&p.replica));
}
