//! The real thing, side by side: `redsim serve --sentinel` next to two real
//! redis-sentinel 7.0.15 processes, all watching a real redis-server master
//! with two replicas on loopback. They must discover each other, agree on
//! every failover (SIGSTOP of the current master), convert the old master
//! on SIGCONT, and take turns leading: the rounds go on (at most
//! MAX_ROUNDS) until redsim's Sentinel and a real one have each been the
//! elected leader. Needs redis-server and redis-sentinel on PATH (.ci/run
//! installs them); without them the test says so loudly and passes, unless
//! CI is set. Ports 29100-29199.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redsim_engine::resp::{parse_reply, Value};

const MASTER_PORT: u16 = 29101;
const REPLICA_PORTS: [u16; 2] = [29102, 29103];
const REAL_SENTINELS: [u16; 2] = [29111, 29112];
const REDSIM_SENTINEL: u16 = 29113;
const SENTINELS: [u16; 3] = [REAL_SENTINELS[0], REAL_SENTINELS[1], REDSIM_SENTINEL];
const MAX_ROUNDS: usize = 6;
/// Short enough that a failed election is retried quickly (2 x this).
const FAILOVER_TIMEOUT_MS: u64 = 10_000;

/// Every child process, killed (SIGKILL also ends a stopped one) and
/// reaped on every exit path, a failed assertion included.
struct Procs {
    children: Vec<Child>,
}

impl Drop for Procs {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn have(binary: &str) -> bool {
    Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One command over a fresh connection; None if the process does not answer.
fn query(port: u16, args: &[&str]) -> Option<Value> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
    }
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Ok(Some((v, _))) = parse_reply(&buf) {
            return Some(v);
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Simple(s) | Value::Error(s) => s.clone(),
        Value::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        other => format!("{:?}", other),
    }
}

/// SENTINEL replicas / sentinels: one field map per entry.
fn entries(port: u16, what: &str) -> Option<Vec<BTreeMap<String, String>>> {
    let Value::Array(items) = query(port, &["SENTINEL", what, "mymaster"])? else {
        return None;
    };
    let mut out = Vec::new();
    for item in items {
        let Value::Array(flat) = item else {
            return None;
        };
        let pairs = flat.chunks(2).map(|p| (text(&p[0]), text(&p[1])));
        out.push(pairs.collect());
    }
    Some(out)
}

fn master_addr(port: u16) -> Option<(String, u16)> {
    let Value::Array(v) = query(port, &["SENTINEL", "get-master-addr-by-name", "mymaster"])? else {
        return None;
    };
    Some((text(&v[0]), text(v.get(1)?).parse().ok()?))
}

/// ROLE's first element and, for a replica, its master's port and link state.
fn role(port: u16) -> Option<(String, u16, String)> {
    let Value::Array(v) = query(port, &["ROLE"])? else {
        return None;
    };
    let kind = text(v.first()?);
    if kind == "slave" {
        return Some((kind, text(&v[2]).parse().ok()?, text(&v[3])));
    }
    Some((kind, 0, String::new()))
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < limit,
            "timed out after {:?} waiting for {}",
            limit,
            what
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {} {}", sig, child.id());
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redsim-sentinel-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn start_redis(procs: &mut Procs, dir: &Path, port: u16, master: Option<u16>) {
    let mut cmd = Command::new("redis-server");
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--dbfilename")
        .arg(format!("dump-{}.rdb", port))
        .arg("--logfile")
        .arg(dir.join(format!("redis-{}.log", port)));
    if let Some(m) = master {
        cmd.args(["--replicaof", "127.0.0.1", &m.to_string()]);
    }
    let child = cmd.stdout(Stdio::null()).spawn().expect("redis-server");
    procs.children.push(child);
}

fn sentinel_log(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("sentinel-{}.log", port))
}

/// sentinel.conf for one of the three; each process rewrites its own.
fn write_conf(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join(format!("sentinel-{}.conf", port));
    let conf = format!(
        "port {}\nbind 127.0.0.1\nlogfile \"{}\"\n\
         sentinel monitor mymaster 127.0.0.1 {} 2\n\
         sentinel down-after-milliseconds mymaster 5000\n\
         sentinel failover-timeout mymaster {}\n",
        port,
        sentinel_log(dir, port).display(),
        MASTER_PORT,
        FAILOVER_TIMEOUT_MS
    );
    std::fs::write(&path, conf).expect("write sentinel.conf");
    path
}

fn start_sentinels(procs: &mut Procs, dir: &Path) {
    for port in REAL_SENTINELS {
        let child = Command::new("redis-sentinel")
            .arg(write_conf(dir, port))
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-sentinel");
        procs.children.push(child);
    }
    let child = Command::new(env!("CARGO_BIN_EXE_redsim"))
        .args(["serve", "--sentinel", "--config"])
        .arg(write_conf(dir, REDSIM_SENTINEL))
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redsim serve --sentinel");
    procs.children.push(child);
}

/// Each Sentinel sees the two others and both replicas, all healthy.
fn everyone_sees_everyone(master: u16) -> bool {
    SENTINELS.iter().all(|&s| {
        let others = entries(s, "sentinels").unwrap_or_default();
        let replicas = entries(s, "replicas").unwrap_or_default();
        master_addr(s).is_some_and(|(_, p)| p == master)
            && others.len() == 2
            && others.iter().all(|o| o["flags"] == "sentinel")
            && replicas.len() == 2
            && replicas.iter().all(|r| {
                r["flags"] == "slave"
                    && r["master-link-status"] == "ok"
                    && r["master-port"] == master.to_string()
            })
    })
}

fn elected_counts(dir: &Path) -> Vec<usize> {
    SENTINELS
        .iter()
        .map(|&p| {
            std::fs::read_to_string(sentinel_log(dir, p))
                .unwrap_or_default()
                .matches("+elected-leader master mymaster")
                .count()
        })
        .collect()
}

/// Tilts the race for the next election towards `favoured`: the leader is
/// usually the Sentinel whose own SDOWN comes second, because it asks the
/// others at once and finds the first already agreeing, while the first
/// only asks once a second. So the favoured one times out at 3.5 s, one
/// other at 2 s (the one it finds agreeing) and the last at 5 s.
fn favour(favoured: u16) {
    let early = SENTINELS.iter().copied().find(|&s| s != favoured);
    for s in SENTINELS {
        let ms = if s == favoured {
            "3500"
        } else if Some(s) == early {
            "2000"
        } else {
            "5000"
        };
        let reply = query(
            s,
            &["SENTINEL", "SET", "mymaster", "down-after-milliseconds", ms],
        );
        assert_eq!(
            reply,
            Some(Value::Simple("OK".into())),
            "SENTINEL SET on {}",
            s
        );
    }
}

struct Round {
    paused: u16,
    promoted: u16,
    leaders: Vec<u16>,
    failover: Duration,
    rejoin: Duration,
}

/// Pauses the master, waits until all three name the same new one, checks
/// it, resumes the old master and waits until it is a replica again.
fn round(procs: &Procs, dir: &Path, master: u16) -> Round {
    let before = elected_counts(dir);
    let paused = &procs.children[port_index(master)];
    signal(paused, "-STOP");
    let mut promoted = 0;
    let failover = wait_for(
        "all Sentinels to agree on a new master",
        Duration::from_secs(60),
        || {
            let addrs: Vec<Option<(String, u16)>> =
                SENTINELS.iter().map(|&s| master_addr(s)).collect();
            match &addrs[0] {
                Some((_, p)) if *p != master && addrs.iter().all(|a| a == &addrs[0]) => {
                    promoted = *p;
                    true
                }
                _ => false,
            }
        },
    );
    assert_eq!(
        role(promoted).map(|r| r.0),
        Some("master".into()),
        "{} promoted",
        promoted
    );
    let after = elected_counts(dir);
    let leaders: Vec<u16> = (0..3)
        .filter(|&i| after[i] > before[i])
        .map(|i| SENTINELS[i])
        .collect();
    signal(paused, "-CONT");
    let rejoin = wait_for(
        "the old master to be converted and all healthy",
        Duration::from_secs(60),
        || {
            role(master).is_some_and(|(kind, of, state)| {
                kind == "slave" && of == promoted && state == "connected"
            }) && everyone_sees_everyone(promoted)
        },
    );
    Round {
        paused: master,
        promoted,
        leaders,
        failover,
        rejoin,
    }
}

/// procs.children holds the master, then the replicas, in port order.
fn port_index(port: u16) -> usize {
    let ports = [MASTER_PORT, REPLICA_PORTS[0], REPLICA_PORTS[1]];
    ports.iter().position(|&p| p == port).expect("a data node")
}

#[test]
fn redsim_sentinel_fails_over_and_leads_alongside_real_sentinels() {
    if !have("redis-server") || !have("redis-sentinel") {
        let msg = "sentinel_interop: redis-server / redis-sentinel 7.0.15 not on PATH";
        assert!(
            std::env::var_os("CI").is_none(),
            "{} (CI is set: they must be installed)",
            msg
        );
        eprintln!("\n*** SKIPPED: {} ***\n", msg);
        return;
    }
    let dir = temp_dir("interop");
    let mut procs = Procs {
        children: Vec::new(),
    };
    start_redis(&mut procs, &dir, MASTER_PORT, None);
    for port in REPLICA_PORTS {
        start_redis(&mut procs, &dir, port, Some(MASTER_PORT));
    }
    wait_for("replicas in sync", Duration::from_secs(20), || {
        REPLICA_PORTS
            .iter()
            .all(|&p| role(p).is_some_and(|r| r.2 == "connected"))
    });
    start_sentinels(&mut procs, &dir);
    let took = wait_for(
        "Sentinels to discover each other and the replicas",
        Duration::from_secs(40),
        || everyone_sees_everyone(MASTER_PORT),
    );
    eprintln!("discovery: {:?}", took);
    let (mut redsim_led, mut real_led) = (false, false);
    let mut master = MASTER_PORT;
    for n in 1..=MAX_ROUNDS {
        favour(if redsim_led {
            REAL_SENTINELS[0]
        } else {
            REDSIM_SENTINEL
        });
        let r = round(&procs, &dir, master);
        eprintln!(
            "round {}: paused {}, promoted {}, leader {:?}, failover {:?}, old master back as replica {:?}",
            n, r.paused, r.promoted, r.leaders, r.failover, r.rejoin
        );
        redsim_led |= r.leaders.contains(&REDSIM_SENTINEL);
        real_led |= r.leaders.iter().any(|l| REAL_SENTINELS.contains(l));
        master = r.promoted;
        if redsim_led && real_led {
            break;
        }
    }
    assert!(
        redsim_led,
        "redsim's Sentinel never led a failover in {} rounds",
        MAX_ROUNDS
    );
    assert!(
        real_led,
        "no real Sentinel led a failover in {} rounds",
        MAX_ROUNDS
    );
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Alone (no real binaries needed): `--config FILE --sentinel` in either
/// order, the file named relative to the working directory is rewritten in
/// place (an id, the epochs; no temp file left beside it), and redis-cli's
/// Sentinel commands answer. Without a config file it refuses to start,
/// as redis-sentinel does.
#[test]
fn serve_sentinel_rewrites_the_file_it_was_started_with() {
    let out = Command::new(env!("CARGO_BIN_EXE_redsim"))
        .args(["serve", "--sentinel", "--port", "29121"])
        .output()
        .expect("redsim runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Sentinel needs config file on disk to save state. Exiting..."),
        "{}",
        err
    );
    let dir = temp_dir("alone");
    std::fs::create_dir_all(dir.join("etc")).expect("dir");
    let conf = dir.join("etc/my-sentinel.conf");
    std::fs::write(&conf, "sentinel monitor mymaster 127.0.0.1 29199 2\n").expect("conf");
    let child = Command::new(env!("CARGO_BIN_EXE_redsim"))
        .args(["serve", "--config", "etc/my-sentinel.conf", "--sentinel"])
        .args(["--port", "29120"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redsim serve --sentinel");
    let procs = Procs {
        children: vec![child],
    };
    wait_for(
        "the rewritten sentinel.conf",
        Duration::from_secs(20),
        || {
            let text = std::fs::read_to_string(&conf).unwrap_or_default();
            text.contains("sentinel myid ") && text.contains("sentinel current-epoch 0")
        },
    );
    assert!(!dir.join("etc/my-sentinel.conf.tmp").exists());
    assert!(
        !dir.join("sentinel.conf").exists(),
        "the file, not dir/sentinel.conf"
    );
    assert_eq!(
        master_addr(29120),
        Some(("127.0.0.1".to_string(), 29199)),
        "get-master-addr-by-name"
    );
    assert_eq!(role(29120).map(|r| r.0), Some("sentinel".into()));
    drop(procs);
    let _ = std::fs::remove_dir_all(&dir);
}
