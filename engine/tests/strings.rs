//! String and expire commands driven through an in-process Engine. Every
//! expected reply below was checked byte for byte against redis-server 7.0.15
//! (engine/tests/strings_diff.py runs the same sequences against both).

use std::collections::VecDeque;

use redsim_engine::commands::Ctx;
use redsim_engine::networking::Client;
use redsim_engine::object::Value;
use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input, Output};

const START_US: u64 = 1_700_000_000_000_000;
const CONN: ConnId = ConnId(1);

struct Node {
    engine: Engine,
    now_us: u64,
}

impl Node {
    fn new() -> Node {
        let mut engine = Engine::new(
            Config::default(),
            EngineOptions {
                seed: 1,
                pid: 1,
                port: 6379,
                ..Default::default()
            },
            START_US,
        );
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
        }
    }

    fn now_ms(&self) -> i64 {
        (self.now_us / 1000) as i64
    }

    fn advance_ms(&mut self, ms: u64) {
        self.now_us += ms * 1000;
    }

    /// Sends one command and returns the raw reply bytes.
    fn raw(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.engine.handle_input(
            self.now_us,
            Input::Data {
                conn: CONN,
                bytes: &req,
            },
        );
        let mut out = Vec::new();
        while let Some(o) = self.engine.poll_output() {
            if let Output::Send { conn, bytes } = o {
                assert_eq!(conn, CONN);
                out.extend_from_slice(&bytes);
            }
        }
        out
    }

    /// Sends a space-separated command and returns the reply as text.
    fn cmd(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        String::from_utf8(self.raw(&args)).expect("utf8 reply")
    }

    /// Runs a handler directly and returns (reply, what the command propagates).
    fn propagated(&mut self, line: &str) -> (String, Vec<Vec<String>>) {
        let argv: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
        let srv = self.engine.server_mut();
        srv.begin_step(self.now_us);
        let cmd = srv.table.lookup(&argv[0]).expect("known command");
        let c = Client::new(999, ConnId(999), "127.0.0.1:1".into(), srv.mstime());
        srv.clients.insert(ConnId(999), Box::new(c));
        srv.also_propagate.clear();
        (cmd.handler)(&mut Ctx::new(srv, ConnId(999), &argv));
        let props = std::mem::take(&mut srv.also_propagate)
            .into_iter()
            .map(|(_, args)| {
                args.into_iter()
                    .map(|a| String::from_utf8(a).expect("utf8"))
                    .collect()
            })
            .collect();
        let mut c = srv.clients.remove(&ConnId(999)).expect("inserted above");
        srv.end_step();
        (String::from_utf8(c.reply.take()).expect("utf8"), props)
    }

    fn put_list(&mut self, key: &str) {
        let list: VecDeque<Vec<u8>> = VecDeque::from(vec![b"a".to_vec()]);
        self.engine.server_mut().dbs[0].dict.insert(
            key.as_bytes().to_vec(),
            redsim_engine::object::Entry::new(Value::List(list)),
        );
    }
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";

#[test]
fn set_option_combinations() {
    let mut n = Node::new();
    assert_eq!(n.cmd("set k v nx xx"), SYNTAX);
    assert_eq!(n.cmd("set k v keepttl ex 10"), SYNTAX);
    assert_eq!(n.cmd("set k v ex 10 px 100"), SYNTAX);
    assert_eq!(n.cmd("set k v ex"), SYNTAX);
    assert_eq!(n.cmd("set k v persist"), SYNTAX);
    assert_eq!(n.cmd("set k v ex 10 ex 20"), "+OK\r\n");
    assert_eq!(n.cmd("ttl k"), ":20\r\n");
    assert_eq!(
        n.cmd("set k v ex 0"),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        n.cmd("set k v ex 9223372036854775"),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        n.cmd("set k v px 9223372036854775807"),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(n.cmd("set k v ex abc"), NOT_INTEGER);
    assert_eq!(
        n.cmd("setex k 0 v"),
        "-ERR invalid expire time in 'setex' command\r\n"
    );
    assert_eq!(
        n.cmd("psetex k -1 v"),
        "-ERR invalid expire time in 'psetex' command\r\n"
    );
    assert_eq!(n.cmd("set k old"), "+OK\r\n");
    assert_eq!(n.cmd("set k new get"), bulk("old"));
    assert_eq!(n.cmd("set k newer get nx"), bulk("new"));
    assert_eq!(n.cmd("set x v get xx"), "$-1\r\n");
    assert_eq!(n.cmd("get x"), "$-1\r\n");
    assert_eq!(n.cmd("set x v nx"), "+OK\r\n");
    assert_eq!(n.cmd("set x v nx"), "$-1\r\n");
    assert_eq!(n.cmd("setnx x v"), ":0\r\n");
    assert_eq!(n.cmd("setnx y v"), ":1\r\n");
    // A past absolute time stores the key, which is then already gone.
    assert_eq!(n.cmd("set k v exat 1"), "+OK\r\n");
    assert_eq!(n.cmd("exists k"), ":0\r\n");
}

#[test]
fn keepttl_and_overwrites() {
    let mut n = Node::new();
    n.cmd("set k v ex 100");
    assert_eq!(n.cmd("set k v2 keepttl"), "+OK\r\n");
    assert_eq!(n.cmd("ttl k"), ":100\r\n");
    assert_eq!(n.cmd("set k v3"), "+OK\r\n");
    assert_eq!(n.cmd("ttl k"), ":-1\r\n");
    // INCR, INCRBYFLOAT, APPEND and SETRANGE keep the TTL; GETSET and MSET drop it.
    n.cmd("set c 10 ex 100");
    assert_eq!(n.cmd("incr c"), ":11\r\n");
    assert_eq!(n.cmd("incrbyfloat c 1.5"), bulk("12.5"));
    assert_eq!(n.cmd("append c x"), ":5\r\n");
    assert_eq!(n.cmd("setrange c 0 9"), ":5\r\n");
    assert_eq!(n.cmd("ttl c"), ":100\r\n");
    assert_eq!(n.cmd("getset c y"), bulk("92.5x"));
    assert_eq!(n.cmd("ttl c"), ":-1\r\n");
}

#[test]
fn wrong_type_everywhere() {
    let mut n = Node::new();
    n.put_list("l");
    for line in [
        "get l",
        "set l v get",
        "getset l v",
        "getdel l",
        "getex l",
        "getex l ex 0",
        "incr l",
        "incrby l 1",
        "decr l",
        "incrbyfloat l 1",
        "append l x",
        "strlen l",
        "getrange l 0 1",
        "setrange l 0 x",
    ] {
        assert_eq!(n.cmd(line), WRONGTYPE, "{line}");
    }
    assert_eq!(
        n.raw(&[b"setrange", b"l", b"0", b""]),
        WRONGTYPE.as_bytes().to_vec()
    );
    assert_eq!(n.cmd("mget l"), "*1\r\n$-1\r\n");
    assert_eq!(n.cmd("setnx l v"), ":0\r\n");
    assert_eq!(n.cmd("set l v nx get"), WRONGTYPE);
    assert_eq!(n.cmd("expire l 100"), ":1\r\n");
    assert_eq!(n.cmd("type l"), "+list\r\n");
}

#[test]
fn counters() {
    let mut n = Node::new();
    assert_eq!(n.cmd("incr k"), ":1\r\n");
    assert_eq!(n.cmd("incrby k abc"), NOT_INTEGER);
    n.cmd("set k 9223372036854775807");
    assert_eq!(
        n.cmd("incr k"),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(
        n.cmd("decrby k -9223372036854775808"),
        "-ERR decrement would overflow\r\n"
    );
    for bad in ["01", "-0", "+1", "1.0", "abc"] {
        n.cmd(&format!("set k {bad}"));
        assert_eq!(n.cmd("incr k"), NOT_INTEGER, "{bad}");
    }
}

#[test]
fn incrbyfloat_matches_long_double() {
    let mut n = Node::new();
    assert_eq!(n.cmd("incrbyfloat a 10.1"), bulk("10.1"));
    assert_eq!(n.cmd("incrbyfloat a 0.1"), bulk("10.2"));
    assert_eq!(
        n.cmd("incrbyfloat c 1.23456789012345678901"),
        bulk("1.23456789012345679")
    );
    assert_eq!(n.cmd("incrbyfloat d 0x1p-3"), bulk("0.125"));
    assert_eq!(
        n.cmd("incrbyfloat e 12345678901234567890"),
        bulk("12345678901234567890")
    );
    assert_eq!(n.cmd("incrbyfloat f 1e-20"), bulk("0"));
    assert_eq!(
        n.cmd("incrbyfloat h 1e30"),
        bulk("1000000000000000000024696061952")
    );
    let big = "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880";
    assert_eq!(n.cmd("incrbyfloat b 1e400"), bulk(big));
    assert_eq!(
        n.cmd("incrbyfloat x inf"),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    for bad in ["nan", "abc", "1e", "1e-5000", "1e99999"] {
        assert_eq!(
            n.cmd(&format!("incrbyfloat x {bad}")),
            "-ERR value is not a valid float\r\n",
            "{bad}"
        );
    }
}

#[test]
fn ranges_and_lengths() {
    let mut n = Node::new();
    n.raw(&[b"set", b"k", b"Hello World"]);
    assert_eq!(n.cmd("getrange k -5 -1"), bulk("World"));
    assert_eq!(n.cmd("getrange k -1 -5"), "$0\r\n\r\n");
    assert_eq!(n.cmd("getrange k 0 1000"), bulk("Hello World"));
    assert_eq!(n.cmd("substr k 0 3"), bulk("Hell"));
    assert_eq!(n.cmd("getrange nokey 0 -1"), "$0\r\n\r\n");
    assert_eq!(n.cmd("getrange k a 1"), NOT_INTEGER);
    assert_eq!(n.cmd("setrange n 5 hello"), ":10\r\n");
    assert_eq!(
        n.raw(&[b"get", b"n"]),
        b"$10\r\n\0\0\0\0\0hello\r\n".to_vec()
    );
    assert_eq!(n.cmd("setrange k -1 x"), "-ERR offset is out of range\r\n");
    assert_eq!(
        n.cmd("setrange z 536870912 x"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(
        n.cmd("setrange z 9223372036854775807 x"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(n.raw(&[b"setrange", b"m", b"10", b""]), b":0\r\n".to_vec());
    assert_eq!(n.cmd("exists m"), ":0\r\n");
    assert_eq!(
        n.cmd("mset a"),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(
        n.cmd("msetnx a 1 b"),
        "-ERR wrong number of arguments for 'msetnx' command\r\n"
    );
    assert_eq!(n.cmd("msetnx a 1 k 2"), ":0\r\n");
    assert_eq!(n.cmd("strlen k"), ":11\r\n");
}

#[test]
fn expire_options_and_errors() {
    let mut n = Node::new();
    n.cmd("set k v");
    assert_eq!(
        n.cmd("expire k 10 nx xx"),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        n.cmd("expire k 10 gt lt"),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(n.cmd("expire k 10 foo"), "-ERR Unsupported option foo\r\n");
    assert_eq!(n.cmd("expire k abc foo"), "-ERR Unsupported option foo\r\n");
    assert_eq!(
        n.cmd("expire k 9223372036854775807"),
        "-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        n.cmd("pexpire k 9223372036854775807"),
        "-ERR invalid expire time in 'pexpire' command\r\n"
    );
    assert_eq!(n.cmd("expire k 100 gt"), ":0\r\n");
    assert_eq!(n.cmd("expire k 100 xx"), ":0\r\n");
    assert_eq!(n.cmd("expire k 100 lt"), ":1\r\n");
    assert_eq!(n.cmd("expire k 200 nx"), ":0\r\n");
    assert_eq!(n.cmd("expire k 200 gt"), ":1\r\n");
    assert_eq!(n.cmd("ttl k"), ":200\r\n");
    assert_eq!(
        n.cmd("expiretime k"),
        format!(":{}\r\n", n.now_ms() / 1000 + 200)
    );
    assert_eq!(
        n.cmd("pexpiretime k"),
        format!(":{}\r\n", n.now_ms() + 200_000)
    );
    assert_eq!(n.cmd("persist k"), ":1\r\n");
    assert_eq!(n.cmd("persist k"), ":0\r\n");
    assert_eq!(n.cmd("ttl k"), ":-1\r\n");
    assert_eq!(n.cmd("ttl nokey"), ":-2\r\n");
    assert_eq!(n.cmd("expire k -1"), ":1\r\n");
    assert_eq!(n.cmd("exists k"), ":0\r\n");
}

#[test]
fn ttl_rounds_and_expired_keys_are_missing() {
    let mut n = Node::new();
    n.cmd("set a v px 1500");
    n.cmd("set b v px 1499");
    assert_eq!(n.cmd("ttl a"), ":2\r\n");
    assert_eq!(n.cmd("ttl b"), ":1\r\n");
    assert_eq!(n.cmd("pttl a"), ":1500\r\n");
    n.advance_ms(1500);
    // At the exact expire time the key is still there (expired only when now > when).
    assert_eq!(n.cmd("pttl a"), ":0\r\n");
    assert_eq!(n.cmd("get b"), "$-1\r\n");
    n.advance_ms(1);
    assert_eq!(n.cmd("get a"), "$-1\r\n");
    for (i, line) in [
        "setnx k x",
        "getex k ex 10",
        "append k y",
        "incr k",
        "strlen k",
        "ttl k",
        "persist k",
        "expire k 10",
    ]
    .iter()
    .enumerate()
    {
        n.cmd(&format!("set k v px {}", 10 + i));
        n.advance_ms(100);
        let expected = match *line {
            "setnx k x" => ":1\r\n",
            "getex k ex 10" => "$-1\r\n",
            "append k y" => ":1\r\n",
            "incr k" => ":1\r\n",
            "strlen k" => ":0\r\n",
            "ttl k" => ":-2\r\n",
            _ => ":0\r\n",
        };
        assert_eq!(n.cmd(line), expected, "{line}");
    }
}

#[test]
fn relative_expires_propagate_as_absolute() {
    let mut n = Node::new();
    let at = n.now_ms() + 10_000;
    let (reply, props) = n.propagated("set k v ex 10");
    assert_eq!(reply, "+OK\r\n");
    assert_eq!(
        props,
        vec![vec![
            "SET".to_string(),
            "k".into(),
            "v".into(),
            "PXAT".into(),
            at.to_string()
        ]]
    );
    let (_, props) = n.propagated("setex k 10 v");
    assert_eq!(
        props[0],
        vec![
            "SET".to_string(),
            "k".into(),
            "v".into(),
            "PXAT".into(),
            at.to_string()
        ]
    );
    let (_, props) = n.propagated("psetex k 10000 v");
    assert_eq!(props[0][4], at.to_string());
    let (reply, props) = n.propagated("expire k 10 gt");
    assert_eq!(
        (reply.as_str(), props.len()),
        (":0\r\n", 0),
        "the same time is not greater"
    );
    let (_, props) = n.propagated("expire k 20 gt");
    assert_eq!(
        props,
        vec![vec![
            "PEXPIREAT".to_string(),
            "k".into(),
            (at + 10_000).to_string(),
            "gt".into()
        ]]
    );
    let (_, props) = n.propagated("pexpireat k 1800000000000");
    assert_eq!(
        props,
        vec![vec![
            "pexpireat".to_string(),
            "k".into(),
            "1800000000000".into()
        ]]
    );
    let (_, props) = n.propagated("getex k px 10000");
    assert_eq!(
        props,
        vec![vec!["PEXPIREAT".to_string(), "k".into(), at.to_string()]]
    );
    let (reply, props) = n.propagated("getex k persist");
    assert_eq!(
        (reply.as_str(), props),
        ("$1\r\nv\r\n", vec![vec!["PERSIST".to_string(), "k".into()]])
    );
    let (_, props) = n.propagated("getex k persist");
    assert!(props.is_empty());
    let (_, props) = n.propagated("set k v2 get");
    assert_eq!(
        props,
        vec![vec!["set".to_string(), "k".into(), "v2".into()]]
    );
    let (_, props) = n.propagated("getset k v3");
    assert_eq!(
        props,
        vec![vec!["SET".to_string(), "k".into(), "v3".into()]]
    );
    let (_, props) = n.propagated("set k v");
    assert!(props.is_empty(), "a plain SET propagates as itself");
}

#[test]
fn deletes_and_floats_propagate_rewritten() {
    let mut n = Node::new();
    n.cmd("set k 1.5");
    let (reply, props) = n.propagated("incrbyfloat k 0.1");
    assert_eq!(reply, bulk("1.6"));
    assert_eq!(
        props,
        vec![vec![
            "SET".to_string(),
            "k".into(),
            "1.6".into(),
            "KEEPTTL".into()
        ]]
    );
    let (_, props) = n.propagated("getdel k");
    assert_eq!(props, vec![vec!["DEL".to_string(), "k".into()]]);
    n.cmd("set k v");
    let (reply, props) = n.propagated("expire k -5");
    assert_eq!(
        (reply.as_str(), props),
        (":1\r\n", vec![vec!["DEL".to_string(), "k".into()]])
    );
    assert_eq!(n.cmd("config set lazyfree-lazy-expire yes"), "+OK\r\n");
    n.cmd("set k v");
    let (_, props) = n.propagated("pexpireat k 1");
    assert_eq!(props, vec![vec!["UNLINK".to_string(), "k".into()]]);
    n.cmd("set k v");
    let (reply, props) = n.propagated("getex k exat 1");
    assert_eq!(
        (reply.as_str(), props),
        ("$1\r\nv\r\n", vec![vec!["UNLINK".to_string(), "k".into()]])
    );
    assert_eq!(n.cmd("exists k"), ":0\r\n");
}

#[test]
fn big_values_cost_more() {
    let mut n = Node::new();
    let small = n.engine.handle_input(
        n.now_us,
        Input::Data {
            conn: CONN,
            bytes: b"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\nb\r\n",
        },
    );
    let value = vec![b'x'; 1 << 20];
    let mut req = format!("*3\r\n$3\r\nset\r\n$1\r\nb\r\n${}\r\n", value.len()).into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    let big = n.engine.handle_input(
        n.now_us,
        Input::Data {
            conn: CONN,
            bytes: &req,
        },
    );
    assert!(
        big.cpu_us > small.cpu_us * 10,
        "big {} small {}",
        big.cpu_us,
        small.cpu_us
    );
}

#[test]
fn lcs_replies() {
    let mut n = Node::new();
    n.cmd("mset a ohmytext b mynewtext");
    assert_eq!(n.cmd("lcs a b"), bulk("mytext"));
    assert_eq!(n.cmd("lcs a b len"), ":6\r\n");
    assert_eq!(
        n.cmd("lcs a b idx"),
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        n.cmd("lcs a b idx minmatchlen 4 withmatchlen"),
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        n.cmd("lcs a b len idx"),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    n.put_list("l");
    assert_eq!(
        n.cmd("lcs a l"),
        "-ERR The specified keys must contain string values\r\n"
    );
}
