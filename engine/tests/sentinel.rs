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
