//! redsim nodes from a service's point of view. Every test runs both ways:
//! `cargo test -p redsim-madsim` (real servers on loopback) and
//! `RUSTFLAGS="--cfg madsim" cargo test -p redsim-madsim` (madsim nodes).

use std::net::SocketAddr;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redsim_madsim::{client, on_client, NodeSpec, RedisNode, SentinelNode, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep, timeout, Instant};

async fn redis_at(addr: SocketAddr) -> MultiplexedConnection {
    client::connect(addr).await.expect("redis-rs connects")
}

async fn read_reply(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let n = stream.read(&mut buf).await.expect("a reply");
    buf.truncate(n);
    buf
}

#[tokio::test]
async fn commands_round_trip_over_raw_tcp_and_redis_rs() {
    let redis = RedisNode::start(NodeSpec::new()).await.unwrap();
    let addr = redis.addr();
    on_client("client", async move {
        let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
        raw.flush().await.unwrap();
        assert_eq!(read_reply(&mut raw).await, b"+PONG\r\n");

        let mut con = redis_at(addr).await;
        let () = redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query_async(&mut con)
            .await
            .unwrap();
        let v: String = redis::cmd("GET")
            .arg("k")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(v, "v");
        let n: i64 = redis::cmd("INCRBY")
            .arg("n")
            .arg(41)
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(n, 41);
    })
    .await;
    assert_eq!(
        redis.admin(&["DBSIZE"]).await.unwrap(),
        Value::Int(2),
        "the admin command sees the clients' keys"
    );
}

/// README.md's "From your madsim tests" example, as it is there.
#[tokio::test] // madsim's test under --cfg madsim, tokio's otherwise
async fn hits_survive_a_crash() {
    let redis = RedisNode::start(NodeSpec::conf(["appendonly yes"]))
        .await
        .unwrap();
    let addr = redis.addr();
    on_client("app", async move {
        let mut con = client::connect(addr).await.unwrap();
        let _: i64 = redis::cmd("INCR")
            .arg("hits")
            .query_async(&mut con)
            .await
            .unwrap();
    })
    .await;
    redis.crash();
    redis.restart().await.unwrap();
    assert_eq!(
        redis.admin(&["GET", "hits"]).await.unwrap(),
        redsim_madsim::Value::Bulk(b"1".to_vec())
    );
}

#[tokio::test]
async fn admin_commands_run_out_of_band() {
    let redis = RedisNode::start(NodeSpec::new()).await.unwrap();
    assert_eq!(
        redis.admin(&["SET", "k", "from-admin"]).await.unwrap(),
        Value::Simple("OK".into())
    );
    let addr = redis.addr();
    let (v, clients): (String, String) = on_client("client", async move {
        let mut con = redis_at(addr).await;
        let v = redis::cmd("GET")
            .arg("k")
            .query_async(&mut con)
            .await
            .unwrap();
        let clients = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut con)
            .await
            .unwrap();
        (v, clients)
    })
    .await;
    assert_eq!(v, "from-admin");
    assert_eq!(
        clients.lines().count(),
        1,
        "the admin is no client: {clients}"
    );
    assert!(
        matches!(redis.admin(&["NOSUCHCMD"]).await.unwrap(), Value::Error(e) if e.starts_with("ERR unknown command"))
    );
}

/// Counts INCRs on `key`, returning the last acknowledged value.
async fn incr_n(addr: SocketAddr, key: &'static str, n: usize) -> i64 {
    on_client("writer", async move {
        let mut con = redis_at(addr).await;
        let mut last = 0;
        for _ in 0..n {
            last = redis::cmd("INCR")
                .arg(key)
                .query_async(&mut con)
                .await
                .unwrap();
        }
        last
    })
    .await
}

async fn get_int(redis: &RedisNode, key: &str) -> Option<i64> {
    let reply = redis.admin(&["GET", key]).await;
    let reply = reply.unwrap_or_else(|e| panic!("{e}: {:#?}", redis.logs()));
    match reply {
        Value::Bulk(b) => Some(String::from_utf8(b).unwrap().parse().unwrap()),
        Value::Nil => None,
        other => panic!("GET answered {other:?}"),
    }
}

#[tokio::test]
async fn a_crash_keeps_the_page_cache_and_a_power_loss_drops_what_was_not_fsynced() {
    let spec = NodeSpec::conf(["appendonly yes", "appendfsync no"]);
    let redis = RedisNode::start(spec).await.unwrap();
    assert_eq!(incr_n(redis.addr(), "c", 10).await, 10);
    redis.crash();
    assert!(!redis.is_up());
    redis.restart().await.unwrap();
    assert_eq!(
        get_int(&redis, "c").await,
        Some(10),
        "a crash loses nothing written"
    );
    assert_eq!(incr_n(redis.addr(), "c", 5).await, 15);
    let lost = redis.power_fail();
    assert!(lost > 0, "appendfsync no leaves the AOF's tail unsynced");
    redis.restart().await.unwrap();
    let after = get_int(&redis, "c").await.unwrap_or(0);
    assert!(
        after < 15,
        "acknowledged increments were lost: {after} of 15 left"
    );

    // appendfsync always: every acknowledged write was fsynced first.
    let spec = NodeSpec::conf(["appendonly yes", "appendfsync always"]);
    let durable = RedisNode::start(spec).await.unwrap();
    assert_eq!(incr_n(durable.addr(), "c", 15).await, 15);
    durable.power_fail();
    durable.restart().await.unwrap();
    assert_eq!(get_int(&durable, "c").await, Some(15));
}

#[tokio::test]
async fn shutdown_saves_and_a_restart_loads_the_rdb() {
    let redis = RedisNode::start(NodeSpec::conf(["save 3600 1"]))
        .await
        .unwrap();
    redis.admin(&["SET", "k", "kept"]).await.unwrap();
    let addr = redis.addr();
    on_client("client", async move {
        let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"SHUTDOWN\r\n").await.unwrap();
        raw.flush().await.unwrap();
        let mut buf = Vec::new();
        // The server closes the connection without a reply.
        let _ = timeout(Duration::from_secs(5), raw.read_to_end(&mut buf)).await;
    })
    .await;
    assert_eq!(redis.exit_code(), Some(0));
    assert!(!redis.is_up());
    assert!(redis.durable_files().contains_key("dump.rdb"));
    redis.restart().await.unwrap();
    assert_eq!(
        redis.admin(&["GET", "k"]).await.unwrap(),
        Value::Bulk(b"kept".to_vec())
    );
    assert!(redis.logs().iter().any(|l| l.contains("DB saved on disk")));
}

#[tokio::test]
async fn a_paused_node_answers_after_resume() {
    let redis = RedisNode::start(NodeSpec::new()).await.unwrap();
    let addr = redis.addr();
    let mut raw = on_client("client", async move {
        tokio::net::TcpStream::connect(addr).await.unwrap()
    })
    .await;
    redis.pause();
    raw.write_all(b"PING\r\n").await.unwrap();
    raw.flush().await.unwrap();
    let mut buf = [0u8; 64];
    let waited = timeout(Duration::from_millis(500), raw.read(&mut buf)).await;
    assert!(waited.is_err(), "a paused node answers nothing");
    redis.resume();
    let n = timeout(Duration::from_secs(5), raw.read(&mut buf))
        .await
        .expect("the reply comes after resume")
        .unwrap();
    assert_eq!(&buf[..n], b"+PONG\r\n");
}

#[tokio::test]
async fn a_slow_command_keeps_every_client_waiting() {
    let redis = RedisNode::start(NodeSpec::conf(["enable-debug-command yes"]))
        .await
        .unwrap();
    let addr = redis.addr();
    let waited = on_client("clients", async move {
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut fast = redis_at(addr).await;
        let _: String = redis::cmd("PING").query_async(&mut fast).await.unwrap();
        slow.write_all(b"DEBUG SLEEP 0.3\r\n").await.unwrap();
        slow.flush().await.unwrap();
        sleep(Duration::from_millis(20)).await;
        let t0 = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut fast).await.unwrap();
        t0.elapsed()
    })
    .await;
    assert!(
        waited >= Duration::from_millis(200),
        "PING waited only {waited:?} behind DEBUG SLEEP 0.3"
    );
}

#[tokio::test]
async fn a_replica_follows_its_master() {
    let master = RedisNode::start(NodeSpec::new()).await.unwrap();
    let m = master.addr();
    let replica = RedisNode::start(NodeSpec::conf([format!(
        "replicaof {} {}",
        m.ip(),
        m.port()
    )]))
    .await
    .unwrap();
    master.admin(&["SET", "k", "replicated"]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if replica.admin(&["GET", "k"]).await.unwrap() == Value::Bulk(b"replicated".to_vec()) {
            break;
        }
        assert!(Instant::now() < deadline, "the replica never got the key");
        sleep(Duration::from_millis(100)).await;
    }
    let Value::Array(role) = replica.admin(&["ROLE"]).await.unwrap() else {
        panic!("ROLE is an array")
    };
    assert_eq!(role[0], Value::Bulk(b"slave".to_vec()));
}

#[tokio::test]
async fn a_sentinel_keeps_its_rewritten_config_through_a_power_loss() {
    let master = RedisNode::start(NodeSpec::new()).await.unwrap();
    let m = master.addr();
    let spec = NodeSpec::conf([format!(
        "sentinel monitor mymaster {} {} 1",
        m.ip(),
        m.port()
    )]);
    let sentinel = SentinelNode::start(spec).await.unwrap();
    let Value::Bulk(id) = sentinel.admin(&["SENTINEL", "MYID"]).await.unwrap() else {
        panic!("SENTINEL MYID is a bulk string")
    };
    let conf = String::from_utf8(sentinel.durable_files()["sentinel.conf"].clone()).unwrap();
    assert!(
        conf.contains(&format!("sentinel myid {}", String::from_utf8_lossy(&id))),
        "the id was fsynced into sentinel.conf: {conf}"
    );
    sentinel.power_fail();
    sentinel.restart().await.unwrap();
    assert_eq!(
        sentinel.admin(&["SENTINEL", "MYID"]).await.unwrap(),
        Value::Bulk(id)
    );
    assert_eq!(sentinel.master_addr("mymaster").await.unwrap(), Some(m));
}

/// What the example service saw.
#[derive(Debug, PartialEq)]
struct Outcome {
    acked: usize,
    /// Acknowledged writes missing from the final master.
    lost: usize,
    /// Writes acknowledged after the failover.
    acked_after: usize,
    failed_attempts: usize,
    /// The sentinels' events with their virtual times, for the
    /// determinism check.
    events: Vec<(u64, String, String)>,
}

/// One command with a deadline on madsim-tokio's timer (redis-rs's own
/// response timeout sleeps on tokio's, which does not run under madsim).
async fn query<T: redis::FromRedisValue>(
    con: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
    within: Duration,
) -> Option<T> {
    timeout(within, cmd.query_async(con)).await.ok()?.ok()
}

/// The master's address as the sentinels report it, checked with ROLE.
async fn discover(sentinels: &[SocketAddr]) -> Option<MultiplexedConnection> {
    for s in sentinels {
        let Ok(Ok(mut con)) = timeout(Duration::from_millis(500), client::connect(*s)).await else {
            continue;
        };
        let mut ask = redis::cmd("SENTINEL");
        ask.arg("GET-MASTER-ADDR-BY-NAME").arg("mymaster");
        let asked: Option<Option<(String, u16)>> =
            query(&mut con, &ask, Duration::from_millis(500)).await;
        let Some(Some((ip, port))) = asked else {
            continue;
        };
        let addr: SocketAddr = format!("{ip}:{port}").parse().ok()?;
        let Ok(Ok(mut master)) = timeout(Duration::from_millis(500), client::connect(addr)).await
        else {
            continue;
        };
        let role = query(&mut master, &redis::cmd("ROLE"), Duration::from_millis(500)).await;
        if let Some(redis::Value::Array(parts)) = role {
            if parts.first() == Some(&redis::Value::BulkString(b"master".to_vec())) {
                return Some(master);
            }
        }
    }
    None
}

/// The example service: it finds the master through the sentinels, appends
/// numbered entries to a list, and on any error or timeout (redis-rs's own
/// timeouts do not work under madsim: madsim-tokio's `timeout` wraps each
/// call) asks the sentinels again.
async fn service(sentinels: Vec<SocketAddr>, writes: usize) -> (Vec<u64>, usize, Vec<Instant>) {
    let mut acked = Vec::new();
    let mut acked_at = Vec::new();
    let mut failed = 0;
    let mut con: Option<MultiplexedConnection> = None;
    let mut next = 0u64;
    while acked.len() < writes {
        if con.is_none() {
            con = discover(&sentinels).await;
            if con.is_none() {
                failed += 1;
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        let c = con.as_mut().expect("connected above");
        next += 1;
        let mut push = redis::cmd("RPUSH");
        push.arg("log").arg(next);
        match query::<i64>(c, &push, Duration::from_millis(300)).await {
            Some(_) => {
                acked.push(next);
                acked_at.push(Instant::now());
                sleep(Duration::from_millis(10)).await;
            }
            _ => {
                failed += 1;
                con = None;
            }
        }
    }
    (acked, failed, acked_at)
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(100)).await;
    }
}

async fn array_len(node: &redsim_madsim::Node, args: &[&str]) -> usize {
    match node.admin(args).await.unwrap() {
        Value::Array(a) => a.len(),
        _ => 0,
    }
}

/// A master, two replicas, three sentinels (quorum 2); the service writes,
/// the master is paused mid-run, the sentinels fail over, the service
/// follows, and the old master comes back as a replica.
async fn failover_run() -> Outcome {
    let master = RedisNode::start(NodeSpec::new().name("m1")).await.unwrap();
    let m = master.addr();
    let replicaof = format!("replicaof {} {}", m.ip(), m.port());
    let r1 = RedisNode::start(NodeSpec::conf([replicaof.as_str()]).name("r1"))
        .await
        .unwrap();
    let r2 = RedisNode::start(NodeSpec::conf([replicaof.as_str()]).name("r2"))
        .await
        .unwrap();
    let mut sentinels = Vec::new();
    for i in 0..3 {
        let spec = NodeSpec::conf([
            format!("sentinel monitor mymaster {} {} 2", m.ip(), m.port()),
            "sentinel down-after-milliseconds mymaster 1000".into(),
            "sentinel failover-timeout mymaster 10000".into(),
        ])
        .name(format!("s{}", i + 1));
        sentinels.push(SentinelNode::start(spec).await.unwrap());
    }
    for s in &sentinels {
        wait_for(
            "the sentinels to know each other and the replicas",
            async || {
                array_len(s, &["SENTINEL", "SENTINELS", "mymaster"]).await == 2
                    && array_len(s, &["SENTINEL", "REPLICAS", "mymaster"]).await == 2
            },
        )
        .await;
    }
    let addrs: Vec<SocketAddr> = sentinels.iter().map(|s| s.addr()).collect();
    let writer = tokio::spawn(on_client("service", service(addrs, 300)));
    sleep(Duration::from_millis(1000)).await;
    master.pause();
    let paused_at = Instant::now();
    for s in &sentinels {
        wait_for("the failover", async || {
            s.master_addr("mymaster").await.unwrap() != Some(m)
        })
        .await;
    }
    let (acked, failed_attempts, acked_at) = writer.await.unwrap();
    master.resume();
    // The final master, as the sentinels say.
    let new_master = sentinels[0].master_addr("mymaster").await.unwrap().unwrap();
    let node = [&r1, &r2]
        .into_iter()
        .find(|r| r.addr() == new_master)
        .expect("a replica was promoted");
    let kept: Vec<u64> = match node.admin(&["LRANGE", "log", "0", "-1"]).await.unwrap() {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::Bulk(b) => String::from_utf8_lossy(b).parse().unwrap(),
                other => panic!("LRANGE item {other:?}"),
            })
            .collect(),
        other => panic!("LRANGE answered {other:?}"),
    };
    let lost = acked.iter().filter(|a| !kept.contains(a)).count();
    let acked_after = acked_at.iter().filter(|t| **t > paused_at).count();
    let mut events = Vec::new();
    for (i, s) in sentinels.iter().enumerate() {
        for e in s.log_entries() {
            if e.line.message.starts_with('+') || e.line.message.starts_with('-') {
                events.push((e.unix_us, format!("s{}", i + 1), e.line.message.clone()));
            }
        }
    }
    Outcome {
        acked: acked.len(),
        lost,
        acked_after,
        failed_attempts,
        events,
    }
}

#[tokio::test]
async fn a_sentinel_aware_service_survives_a_failover() {
    let outcome = failover_run().await;
    assert_eq!(outcome.acked, 300);
    assert!(
        outcome.acked_after > 0,
        "the service wrote after the failover"
    );
    assert!(outcome.failed_attempts > 0, "the outage was seen");
    assert!(
        outcome.lost <= 5,
        "asynchronous replication loses at most the last writes before the pause: {outcome:?}"
    );
    assert!(outcome
        .events
        .iter()
        .any(|(_, _, e)| e.starts_with("+switch-master")));
}

/// The same seed, the same run: every sentinel event at the same virtual
/// microsecond, the same writes acknowledged and lost.
#[cfg(madsim)]
#[test]
fn the_same_seed_gives_the_same_run() {
    // Each run on a fresh thread, as madsim's own check does: thread-locals
    // of other crates (tokio's select! RNG) would carry over otherwise.
    let run = |seed: u64| {
        std::thread::spawn(move || {
            let config = madsim::Config::default();
            let rt = madsim::runtime::Runtime::with_seed_and_config(seed, config);
            rt.block_on(failover_run())
        })
        .join()
        .expect("the run completes")
    };
    let first = run(7);
    assert_eq!(first, run(7));
    assert_ne!(first.events, run(8).events, "the seed decides the run");
}
