//! One engine in sentinel mode, no peers: sentinel.conf in and out, and
//! the reply shapes of redis-sentinel 7.0.15 (asked on loopback).

use std::collections::BTreeMap;

use redsim_engine::resp::{parse_reply, Value};
use redsim_engine::{Config, DiskOp, Engine, EngineOptions, Output};

const T0: u64 = 1_700_000_000_000_000;

const CONF: [&str; 3] = [
    "port 26379",
    "sentinel monitor mymaster 10.0.0.1 6379 2",
    "sentinel down-after-milliseconds mymaster 5000",
];

/// Starts a Sentinel; returns it, its log lines and the files it wrote.
fn start(files: BTreeMap<String, Vec<u8>>) -> (Engine, Vec<String>, BTreeMap<String, Vec<u8>>) {
    let config = Config::from_conf_lines(&CONF).expect("valid");
    let options = EngineOptions {
        seed: 9,
        pid: 1,
        port: 26379,
        sentinel: true,
        files,
        ..Default::default()
    };
    let mut engine = Engine::new(config, options, T0);
    let (logs, disk) = drain(&mut engine);
    (engine, logs, disk)
}

/// The outputs so far: log lines, and the files as the disk ops leave them.
fn drain(engine: &mut Engine) -> (Vec<String>, BTreeMap<String, Vec<u8>>) {
    let mut logs = Vec::new();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    while let Some(o) = engine.poll_output() {
        match o {
            Output::Log(l) => logs.push(format!("{} {}", l.role, l.message)),
            Output::Disk(DiskOp::Append { file, bytes }) => {
                files.entry(file).or_default().extend(bytes)
            }
            Output::Disk(DiskOp::Truncate { file, len }) => {
                files.entry(file).or_default().truncate(len as usize)
            }
            Output::Disk(DiskOp::Rename { from, to }) => {
                let bytes = files.remove(&from).expect("renamed file exists");
                files.insert(to, bytes);
            }
            _ => {}
        }
    }
    (logs, files)
}

fn command(engine: &mut Engine, args: &[&str]) -> Value {
    let argv = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let (reply, _) = engine.admin_command(T0 + 1000, argv);
    parse_reply(&reply).expect("RESP").expect("complete").0
}

fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}

/// The node's sentinel.conf as the host installs it before the first boot.
fn installed() -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([(
        "sentinel.conf".to_string(),
        (CONF.join("\n") + "\n").into_bytes(),
    )])
}

#[test]
fn first_start_writes_its_id_and_state() {
    let (_, logs, files) = start(installed());
    let text = String::from_utf8(files["sentinel.conf"].clone()).expect("text");
    let myid = text
        .lines()
        .find_map(|l| l.strip_prefix("sentinel myid "))
        .expect("myid line");
    assert_eq!(myid.len(), 40);
    for line in [
        "port 26379",
        "sentinel monitor mymaster 10.0.0.1 6379 2",
        "sentinel down-after-milliseconds mymaster 5000",
        "sentinel config-epoch mymaster 0",
        "sentinel leader-epoch mymaster 0",
        "sentinel current-epoch 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{:?} in\n{}", line, text);
    }
    let order: Vec<&str> = logs.iter().map(|s| s.as_str()).collect();
    let saved = order
        .iter()
        .position(|l| *l == "X Sentinel new configuration saved on disk")
        .expect("saved");
    let id = order
        .iter()
        .position(|l| *l == format!("X Sentinel ID is {}", myid))
        .expect("id logged");
    let monitor = order
        .iter()
        .position(|l| *l == "X +monitor master mymaster 10.0.0.1 6379 quorum 2")
        .expect("+monitor");
    assert!(saved < id && id < monitor, "{:?}", logs);
}

#[test]
fn restart_reads_back_the_rewritten_file() {
    let (_, _, files) = start(installed());
    let text = String::from_utf8(files["sentinel.conf"].clone()).expect("text");
    let myid = text
        .lines()
        .find_map(|l| l.strip_prefix("sentinel myid "))
        .expect("myid")
        .to_string();
    let rewritten = text.replace("sentinel current-epoch 0", "sentinel current-epoch 7");
    let (mut again, logs, files) = start(BTreeMap::from([(
        "sentinel.conf".to_string(),
        rewritten.into_bytes(),
    )]));
    assert!(
        files.is_empty(),
        "an id already known is not saved again: {:?}",
        files.keys()
    );
    assert!(logs
        .iter()
        .any(|l| *l == format!("X Sentinel ID is {}", myid)));
    assert_eq!(command(&mut again, &["SENTINEL", "MYID"]), bulk(&myid));
    let st = again.server().sentinel.as_ref().expect("sentinel");
    assert_eq!(st.current_epoch, 7);
}

#[test]
fn replies_have_redis_sentinel_shapes() {
    let (mut e, _, _) = start(BTreeMap::new());
    let Value::Array(masters) = command(&mut e, &["SENTINEL", "MASTERS"]) else {
        panic!("array")
    };
    let Value::Array(fields) = &masters[0] else {
        panic!("array")
    };
    let names: Vec<String> = fields
        .iter()
        .step_by(2)
        .map(|v| match v {
            Value::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{:?}", other),
        })
        .collect();
    // redis-sentinel 7.0.15, SENTINEL MASTERS of a master that is up.
    let real = [
        "name",
        "ip",
        "port",
        "runid",
        "flags",
        "link-pending-commands",
        "link-refcount",
        "last-ping-sent",
        "last-ok-ping-reply",
        "last-ping-reply",
        "down-after-milliseconds",
        "info-refresh",
        "role-reported",
        "role-reported-time",
        "config-epoch",
        "num-slaves",
        "num-other-sentinels",
        "quorum",
        "failover-timeout",
        "parallel-syncs",
    ];
    assert_eq!(names, real);
    assert_eq!(fields[1], bulk("mymaster"));
    assert_eq!(fields[9], bulk("master,disconnected"));
    assert_eq!(
        command(&mut e, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]),
        Value::Array(vec![bulk("10.0.0.1"), bulk("6379")])
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch"]),
        Value::NilArray
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "MASTER", "nosuch"]),
        Value::Error("ERR No such master with that name".into())
    );
    assert_eq!(
        command(&mut e, &["ROLE"]),
        Value::Array(vec![bulk("sentinel"), Value::Array(vec![bulk("mymaster")])])
    );
    assert_eq!(
        command(&mut e, &["GET", "x"]),
        Value::Error("ERR unknown command 'GET', with args beginning with: 'x' ".into())
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "FOO"]),
        Value::Error("ERR unknown subcommand 'FOO'. Try SENTINEL HELP.".into())
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "MASTERS", "x"]),
        Value::Error("ERR wrong number of arguments for 'sentinel|masters' command".into())
    );
    assert_eq!(
        command(&mut e, &["PUBLISH", "foo", "bar"]),
        Value::Error("ERR Only HELLO messages are accepted by Sentinel instances.".into())
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "RESET", "nosuch"]),
        Value::Int(0)
    );
    assert_eq!(
        command(
            &mut e,
            &["SENTINEL", "MONITOR", "mymaster", "10.0.0.1", "6379", "2"]
        ),
        Value::Error("ERR Duplicate master name.".into())
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "CKQUORUM", "mymaster"]),
        Value::Error(
            "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master".into()
        )
    );
    // SENTINEL HELP, byte for byte as redis-sentinel 7.0.15 sent it (2179 bytes, 49 lines).
    let argv = vec![b"SENTINEL".to_vec(), b"HELP".to_vec()];
    let (help, _) = e.admin_command(T0 + 1000, argv);
    assert_eq!(help.len(), 2179);
    assert!(help.starts_with(b"*49\r\n+SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CKQUORUM <master-name>\r\n"));
    assert!(
        help.ends_with(b"+    Simulate a Sentinel crash.\r\n+HELP\r\n+    Prints this help.\r\n")
    );
    let Value::Bulk(info) = command(&mut e, &["INFO"]) else {
        panic!("bulk")
    };
    let info = String::from_utf8(info).expect("text");
    assert!(info.contains("redis_mode:sentinel\r\n"));
    assert!(info.contains("# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\nsentinel_tilt_since_seconds:-1\r\n"), "{}", info);
    assert!(
        info.contains(
            "master0:name=mymaster,status=ok,address=10.0.0.1:6379,slaves=0,sentinels=1\r\n"
        ),
        "{}",
        info
    );
    assert!(
        !info.contains("# Memory") && !info.contains("# Keyspace"),
        "{}",
        info
    );
}

/// The first lines of Redis 7.0.15's tests/sentinel/tests/includes/sentinel.conf
/// and the lines tests/instances.tcl appends to it.
const SUITE_CONF: &str = "# assume master is down after being unresponsive for 20s
sentinel down-after-milliseconds setmaster 20000
# reconfigure one slave at a time
sentinel parallel-syncs setmaster 2
# wait for 4m before assuming failover went wrong
sentinel failover-timeout setmaster 240000
# monitoring set
sentinel monitor setmaster 10.0.0.1 30000 2

port 26379
sentinel deny-scripts-reconfig no
";

fn start_with(text: &str, is_executable: Option<fn(&str) -> bool>) -> Engine {
    let config = Config::from_conf_lines(&text.lines().collect::<Vec<_>>()).expect("valid");
    let options = EngineOptions {
        seed: 9,
        pid: 1,
        port: 26379,
        sentinel: true,
        files: BTreeMap::from([("sentinel.conf".to_string(), text.as_bytes().to_vec())]),
        is_executable,
        ..Default::default()
    };
    let mut engine = Engine::new(config, options, T0);
    drain(&mut engine);
    engine
}

fn written(engine: &mut Engine) -> String {
    let (_, files) = drain(engine);
    String::from_utf8(files["sentinel.conf"].clone()).expect("text")
}

fn err(s: &str) -> Value {
    Value::Error(s.into())
}

#[test]
fn rewrite_edits_the_file_in_place() {
    let mut e = start_with(SUITE_CONF, None);
    let ok = Value::Simple("OK".into());
    assert_eq!(command(&mut e, &["SENTINEL", "FLUSHCONFIG"]), ok);
    let text = written(&mut e);
    let myid = text
        .lines()
        .find_map(|l| l.strip_prefix("sentinel myid "))
        .expect("myid")
        .to_string();
    // As redis-sentinel 7.0.15 rewrote the same file (less the standard
    // options it also rewrites: protected-mode, latency-tracking-info-
    // percentiles and the default user, which redsim keeps as they are).
    let first = format!(
        "{}\n# Generated by CONFIG REWRITE\nsentinel myid {}\nsentinel config-epoch setmaster 0\n\
         sentinel leader-epoch setmaster 0\nsentinel current-epoch 0\n\n",
        SUITE_CONF, myid
    );
    assert_eq!(text, first);
    assert_eq!(
        command(
            &mut e,
            &["SENTINEL", "MONITOR", "mymaster", "127.0.0.1", "30000", "2"]
        ),
        ok
    );
    assert_eq!(
        command(
            &mut e,
            &[
                "SENTINEL",
                "SET",
                "mymaster",
                "down-after-milliseconds",
                "2000"
            ]
        ),
        ok
    );
    // mymaster's lines take the places of the old ones, in order; setmaster's
    // are appended after them.
    let second = format!(
        "# assume master is down after being unresponsive for 20s
sentinel down-after-milliseconds mymaster 2000
# reconfigure one slave at a time
sentinel parallel-syncs setmaster 2
# wait for 4m before assuming failover went wrong
sentinel failover-timeout setmaster 240000
# monitoring set
sentinel monitor mymaster 127.0.0.1 30000 2

port 26379
sentinel deny-scripts-reconfig no

# Generated by CONFIG REWRITE
sentinel myid {}
sentinel config-epoch mymaster 0
sentinel leader-epoch mymaster 0
sentinel current-epoch 0

sentinel monitor setmaster 10.0.0.1 30000 2
sentinel config-epoch setmaster 0
sentinel leader-epoch setmaster 0

sentinel down-after-milliseconds setmaster 20000
",
        myid
    );
    assert_eq!(written(&mut e), second);
    // Read back, the file gives the same state.
    let mut again = start_with(&second, None);
    assert_eq!(command(&mut again, &["SENTINEL", "MYID"]), bulk(&myid));
    assert_eq!(command(&mut again, &["SENTINEL", "FLUSHCONFIG"]), ok);
    // Nothing to append: the file's last (empty) line stays, as in Redis.
    assert_eq!(written(&mut again), format!("{}\n", second));
}

#[test]
fn sentinel_debug_changes_the_timing() {
    let mut e = start_with(SUITE_CONF, None);
    let Value::Array(fields) = command(&mut e, &["SENTINEL", "DEBUG"]) else {
        panic!("array")
    };
    let names: Vec<Value> = fields.iter().step_by(2).cloned().collect();
    let want = [
        "INFO-PERIOD",
        "PING-PERIOD",
        "ASK-PERIOD",
        "PUBLISH-PERIOD",
        "DEFAULT-DOWN-AFTER",
        "DEFAULT-FAILOVER-TIMEOUT",
        "TILT-TRIGGER",
        "TILT-PERIOD",
        "SLAVE-RECONF-TIMEOUT",
        "MIN-LINK-RECONNECT-PERIOD",
        "ELECTION-TIMEOUT",
        "SCRIPT-MAX-RUNTIME",
        "SCRIPT-RETRY-DELAY",
    ];
    assert_eq!(names, want.iter().map(|n| bulk(n)).collect::<Vec<_>>());
    assert_eq!(fields[1], bulk("10000"));
    assert_eq!(
        command(
            &mut e,
            &[
                "SENTINEL",
                "DEBUG",
                "ping-period",
                "500",
                "info-period",
                "100"
            ]
        ),
        Value::Simple("OK".into())
    );
    let st = e.server().sentinel.as_ref().expect("sentinel");
    assert_eq!((st.timing.ping_period, st.timing.info_period), (500, 100));
    assert_eq!(
        command(&mut e, &["SENTINEL", "DEBUG", "ping-period", "0"]),
        err("ERR Invalid argument '0' for SENTINEL DEBUG 'ping-period'")
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "DEBUG", "foo", "1"]),
        err("ERR Unknown option or number of arguments for SENTINEL DEBUG 'foo'")
    );
    // default-down-after is what a newly monitored master gets.
    command(&mut e, &["SENTINEL", "DEBUG", "default-down-after", "1000"]);
    command(
        &mut e,
        &["SENTINEL", "MONITOR", "m2", "10.0.0.9", "6379", "1"],
    );
    let st = e.server().sentinel.as_ref().expect("sentinel");
    assert_eq!(st.masters["m2"].inst.down_after_ms, 1000);
}

#[test]
fn sentinel_set_and_config_errors_are_redis_s() {
    let mut e = start_with(SUITE_CONF, Some(|p| p == "/bin/notify.sh"));
    let set = |e: &mut Engine, args: &[&str]| {
        let mut argv = vec!["SENTINEL", "SET", "setmaster"];
        argv.extend_from_slice(args);
        command(e, &argv)
    };
    assert_eq!(
        set(&mut e, &["down-after-milliseconds", "-20"]),
        err("ERR Invalid argument '-20' for SENTINEL SET 'down-after-milliseconds'")
    );
    assert_eq!(
        set(&mut e, &["down-after-milliseconds", "abc"]),
        err("ERR Invalid argument 'abc' for SENTINEL SET 'down-after-milliseconds'")
    );
    assert_eq!(
        set(&mut e, &["notification-script", "test.txt"]),
        err("ERR Notification script seems non existing or non executable")
    );
    assert_eq!(
        set(&mut e, &["fakeoption"]),
        err("ERR wrong number of arguments for 'sentinel|set' command")
    );
    assert_eq!(
        set(&mut e, &["fakeoption", "fakevalue"]),
        err("ERR Unknown option or number of arguments for SENTINEL SET 'fakeoption'")
    );
    let ok = Value::Simple("OK".into());
    assert_eq!(
        set(
            &mut e,
            &[
                "notification-script",
                "/bin/notify.sh",
                "master-reboot-down-after-period",
                "5000",
                "auth-user",
                "u"
            ]
        ),
        ok
    );
    let text = written(&mut e);
    for line in [
        "sentinel notification-script setmaster /bin/notify.sh",
        "sentinel auth-user setmaster u",
        "sentinel master-reboot-down-after-period setmaster 5000",
    ] {
        assert!(text.lines().any(|l| l == line), "{:?} in\n{}", line, text);
    }
    // An option applied before a bad one stays, and is saved.
    assert_eq!(
        set(&mut e, &["quorum", "3", "parallel-syncs", "x"]),
        err("ERR Invalid argument 'x' for SENTINEL SET 'parallel-syncs'")
    );
    let st = e.server().sentinel.as_ref().expect("sentinel");
    assert_eq!(st.masters["setmaster"].quorum, 3);
    assert!(written(&mut e).contains("sentinel monitor setmaster 10.0.0.1 30000 3\n"));

    assert_eq!(
        command(
            &mut e,
            &["SENTINEL", "CONFIG", "SET", "announce-port", "70000"]
        ),
        err("ERR Invalid value '70000' to SENTINEL CONFIG SET 'announce-port'")
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "CONFIG", "GET"]),
        err("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.")
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "CONFIG", "SET", "foo", "1"]),
        err("ERR Invalid argument 'foo' to SENTINEL CONFIG SET")
    );
    assert_eq!(
        command(
            &mut e,
            &["SENTINEL", "CONFIG", "SET", "announce-hostnames", "yes"]
        ),
        ok
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "CONFIG", "GET", "announce-*"]),
        Value::Array(vec![
            bulk("announce-hostnames"),
            bulk("yes"),
            bulk("announce-ip"),
            bulk(""),
            bulk("announce-port"),
            bulk("0"),
        ])
    );
    assert!(written(&mut e).contains("\nsentinel announce-hostnames yes\n"));
    assert_eq!(
        command(
            &mut e,
            &["SENTINEL", "SIMULATE-FAILURE", "crash-after-election"]
        ),
        ok
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "SIMULATE-FAILURE", "boom"]),
        err("ERR Unknown failure simulation specified")
    );
    assert_eq!(
        command(&mut e, &["SENTINEL", "PENDING-SCRIPTS"]),
        Value::Array(vec![])
    );
}

#[test]
fn scripts_are_refused_by_default() {
    // deny-scripts-reconfig is yes unless the file says no.
    let mut e = start_with("port 26379\nsentinel monitor m 10.0.0.1 6379 1\n", None);
    assert_eq!(
        command(
            &mut e,
            &["SENTINEL", "SET", "m", "client-reconfig-script", "/x.sh"]
        ),
        err("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration")
    );
}

/// The first outbound command link's traffic after a timer tick: the
/// connection is accepted and what the Sentinel sends is returned.
fn cmd_link_traffic(e: &mut Engine, at_us: u64) -> (redsim_engine::ConnId, String) {
    e.handle_timeout(at_us);
    let mut conns = Vec::new();
    while let Some(o) = e.poll_output() {
        if let Output::Connect { conn, .. } = o {
            conns.push(conn);
        }
    }
    let cc = conns[0];
    e.handle_input(at_us, redsim_engine::Input::Connected { conn: cc });
    let mut sent = Vec::new();
    while let Some(o) = e.poll_output() {
        if let Output::Send { conn, bytes } = o {
            if conn == cc {
                sent.extend(bytes);
            }
        }
    }
    (cc, String::from_utf8_lossy(&sent).into_owned())
}

#[test]
fn renamed_commands_are_sent_under_their_new_name() {
    let mut e = start_with("port 26379\nsentinel monitor m 10.0.0.1 6379 1\n", None);
    let set = ["SENTINEL", "SET", "m", "rename-command", "PING", "PONG"];
    assert_eq!(command(&mut e, &set), Value::Simple("OK".into()));
    assert!(written(&mut e).contains("\nsentinel rename-command m PING PONG\n"));
    let (_, sent) = cmd_link_traffic(&mut e, T0 + 2_000_000);
    assert!(sent.contains("$4\r\nPONG\r\n"), "{:?}", sent);
    assert!(!sent.contains("$4\r\nPING\r\n"), "{:?}", sent);
    assert!(sent.contains("$4\r\nINFO\r\n"), "{:?}", sent);
}

#[test]
fn unannounced_replicas_are_not_listed() {
    let mut e = start_with("port 26379\nsentinel monitor m 10.0.0.1 6379 1\n", None);
    let t = T0 + 2_000_000;
    let (cc, _) = cmd_link_traffic(&mut e, t);
    let info = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
                slave0:ip=10.0.0.2,port=6380,state=online,offset=1,lag=0\r\n";
    let replies = format!("+OK\r\n+PONG\r\n${}\r\n{}\r\n", info.len(), info);
    e.handle_input(
        t,
        redsim_engine::Input::Data {
            conn: cc,
            bytes: replies.as_bytes(),
        },
    );
    drain(&mut e);
    let count = |e: &mut Engine| match command(e, &["SENTINEL", "REPLICAS", "m"]) {
        Value::Array(v) => v.len(),
        other => panic!("{:?}", other),
    };
    assert_eq!(count(&mut e), 1);
    // The replica's own INFO says replica-announced no.
    let (rc, _) = cmd_link_traffic(&mut e, t + 1_100_000);
    let info = "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\n\
                master_link_status:up\r\nslave_priority:100\r\nreplica_announced:0\r\n";
    let replies = format!("+OK\r\n+PONG\r\n${}\r\n{}\r\n", info.len(), info);
    e.handle_input(
        t + 1_100_000,
        redsim_engine::Input::Data {
            conn: rc,
            bytes: replies.as_bytes(),
        },
    );
    assert_eq!(count(&mut e), 0);
    let Value::Array(m) = command(&mut e, &["SENTINEL", "MASTER", "m"]) else {
        panic!("array")
    };
    let at = m
        .iter()
        .position(|v| *v == bulk("num-slaves"))
        .expect("num-slaves");
    assert_eq!(m[at + 1], bulk("1"), "still known");
}

#[test]
fn announce_hostnames_reports_the_names() {
    let text = "port 26379\nsentinel resolve-hostnames yes\nsentinel monitor m db.example 6379 1\n";
    let config = Config::from_conf_lines(&text.lines().collect::<Vec<_>>()).expect("valid");
    let options = EngineOptions {
        seed: 9,
        pid: 1,
        port: 26379,
        sentinel: true,
        files: BTreeMap::from([("sentinel.conf".to_string(), text.as_bytes().to_vec())]),
        resolve_host: Some(|name| (name == "db.example").then(|| "10.0.0.7".to_string())),
        ..Default::default()
    };
    let mut e = Engine::new(config, options, T0);
    drain(&mut e);
    let addr = |e: &mut Engine| command(e, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "m"]);
    assert_eq!(
        addr(&mut e),
        Value::Array(vec![bulk("10.0.0.7"), bulk("6379")])
    );
    let set = ["SENTINEL", "CONFIG", "SET", "announce-hostnames", "yes"];
    assert_eq!(command(&mut e, &set), Value::Simple("OK".into()));
    assert_eq!(
        addr(&mut e),
        Value::Array(vec![bulk("db.example"), bulk("6379")])
    );
    assert!(written(&mut e).contains("\nsentinel monitor m db.example 6379 1\n"));
    let Value::Array(m) = command(&mut e, &["SENTINEL", "MASTER", "m"]) else {
        panic!("array")
    };
    assert_eq!(m[3], bulk("db.example"));
    // Connections still go to the address.
    e.handle_timeout(T0 + 2_000_000);
    let mut hosts = Vec::new();
    while let Some(o) = e.poll_output() {
        if let Output::Connect { host, .. } = o {
            hosts.push(host);
        }
    }
    assert_eq!(hosts, ["10.0.0.7", "10.0.0.7"]);
}
