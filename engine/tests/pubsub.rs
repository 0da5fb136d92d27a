//! Pub/sub: subscriptions, delivery order, counts, the subscribed-context
//! restriction, client state in CLIENT LIST and INFO, freeing a closed
//! subscriber, and messages the server publishes itself. Expected bytes
//! were taken from redis-server 7.0.15 with the same sequences.

mod common;

use std::collections::BTreeMap;

use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input};

const START_US: u64 = 1_700_000_000_000_000;

struct Node {
    engine: Engine,
    now_us: u64,
}

impl Node {
    /// A node with connections 1..=n accepted.
    fn new(n: u64) -> Node {
        let config = Config::from_conf_lines::<&str>(&[]).expect("config");
        let mut engine = Engine::new(
            config,
            EngineOptions {
                seed: 7,
                pid: 1,
                port: 6379,
                ..Default::default()
            },
            START_US,
        );
        for id in 1..=n {
            engine.handle_input(
                START_US,
                Input::Accepted {
                    conn: ConnId(id),
                    peer: format!("127.0.0.1:{}", 50000 + id),
                    local_port: 6379,
                },
            );
        }
        while engine.poll_output().is_some() {}
        Node {
            engine,
            now_us: START_US,
        }
    }

    /// Runs `line` on connection `conn`; returns what each connection received.
    fn all(&mut self, conn: u64, line: &str) -> BTreeMap<u64, String> {
        let args: Vec<&str> = line.split(' ').collect();
        self.now_us += 100;
        let (out, _) = common::send_all(&mut self.engine, self.now_us, ConnId(conn), &args);
        out.into_iter()
            .map(|(c, b)| (c.0, String::from_utf8(b).expect("utf8")))
            .collect()
    }

    /// Runs `line` on `conn`; returns its own reply, asserting nobody else got anything.
    fn cmd(&mut self, conn: u64, line: &str) -> String {
        let mut out = self.all(conn, line);
        let own = out.remove(&conn).unwrap_or_default();
        assert!(out.is_empty(), "{} on {} also sent {:?}", line, conn, out);
        own
    }

    fn info(&mut self, field: &str) -> String {
        common::info_field(&mut self.engine, self.now_us, field)
    }
}

fn frame(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for item in items {
        match item.strip_prefix(':') {
            Some(n) => s.push_str(&format!(":{}\r\n", n)),
            None => s.push_str(&format!("${}\r\n{}\r\n", item.len(), item)),
        }
    }
    s
}

#[test]
fn subscribe_replies_count_channels_and_patterns_once_each() {
    let mut n = Node::new(1);
    let expected = [
        frame(&["subscribe", "c1", ":1"]),
        frame(&["subscribe", "c2", ":2"]),
        frame(&["subscribe", "c1", ":2"]),
    ]
    .concat();
    assert_eq!(n.cmd(1, "SUBSCRIBE c1 c2 c1"), expected);
    let expected = [
        frame(&["psubscribe", "c*", ":3"]),
        frame(&["psubscribe", "x?", ":4"]),
    ]
    .concat();
    assert_eq!(n.cmd(1, "PSUBSCRIBE c* x?"), expected);
    // Unsubscribing from nothing still answers, with the count.
    assert_eq!(
        n.cmd(1, "UNSUBSCRIBE zz"),
        frame(&["unsubscribe", "zz", ":4"])
    );
    // PUNSUBSCRIBE without arguments goes in subscription order.
    let expected = [
        frame(&["punsubscribe", "c*", ":3"]),
        frame(&["punsubscribe", "x?", ":2"]),
    ]
    .concat();
    assert_eq!(n.cmd(1, "PUNSUBSCRIBE"), expected);
    let expected = [
        frame(&["unsubscribe", "c1", ":1"]),
        frame(&["unsubscribe", "c2", ":0"]),
    ]
    .concat();
    assert_eq!(n.cmd(1, "UNSUBSCRIBE"), expected);
    // With nothing left, a mass unsubscribe answers once with a nil name.
    assert_eq!(
        n.cmd(1, "UNSUBSCRIBE"),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        n.cmd(1, "PUNSUBSCRIBE"),
        "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(n.cmd(1, "GET x"), "$-1\r\n");
}

#[test]
fn publish_delivers_channel_then_patterns_in_subscription_order() {
    let mut n = Node::new(4);
    n.cmd(1, "SUBSCRIBE news");
    n.cmd(2, "PSUBSCRIBE n*");
    n.cmd(3, "SUBSCRIBE news");
    n.cmd(3, "PSUBSCRIBE ne?s *");
    n.cmd(2, "PSUBSCRIBE *");
    let out = n.all(4, "PUBLISH news hi");
    assert_eq!(out[&4], ":6\r\n");
    assert_eq!(out[&1], frame(&["message", "news", "hi"]));
    // Patterns go in the order they were first subscribed (n*, ne?s, *).
    assert_eq!(
        out[&2],
        [
            frame(&["pmessage", "n*", "news", "hi"]),
            frame(&["pmessage", "*", "news", "hi"])
        ]
        .concat()
    );
    let expected = [
        frame(&["message", "news", "hi"]),
        frame(&["pmessage", "ne?s", "news", "hi"]),
        frame(&["pmessage", "*", "news", "hi"]),
    ]
    .concat();
    assert_eq!(out[&3], expected);
    // A channel nobody listens to only reaches the catch-all patterns.
    let out = n.all(4, "PUBLISH other x");
    assert_eq!(out[&4], ":2\r\n");
    assert!(!out.contains_key(&1));
    assert_eq!(
        n.cmd(4, "PUBLISH"),
        "-ERR wrong number of arguments for 'publish' command\r\n"
    );
}

#[test]
fn subscribed_context_allows_only_pubsub_ping_quit_reset() {
    let mut n = Node::new(1);
    n.cmd(1, "SUBSCRIBE c");
    let only =
        "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";
    assert_eq!(
        n.cmd(1, "GET x"),
        format!("-ERR Can't execute 'get': {}\r\n", only)
    );
    assert_eq!(
        n.cmd(1, "CONFIG GET hz"),
        format!("-ERR Can't execute 'config|get': {}\r\n", only)
    );
    assert_eq!(
        n.cmd(1, "PUBSUB NUMSUB"),
        format!("-ERR Can't execute 'pubsub|numsub': {}\r\n", only)
    );
    // Lookup and arity come first.
    assert_eq!(
        n.cmd(1, "NOSUCH"),
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(
        n.cmd(1, "SUBSCRIBE"),
        "-ERR wrong number of arguments for 'subscribe' command\r\n"
    );
    assert_eq!(n.cmd(1, "PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(n.cmd(1, "PING hi"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    assert_eq!(
        n.cmd(1, "PING a b"),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    assert_eq!(n.info("total_error_replies"), "6");
    assert_eq!(n.cmd(1, "RESET"), "+RESET\r\n");
    assert_eq!(n.cmd(1, "PING"), "+PONG\r\n");
    assert_eq!(n.info("pubsub_channels"), "0");
}

#[test]
fn subscribing_inside_exec_sees_its_own_message_outside_the_array() {
    let mut n = Node::new(1);
    for line in ["MULTI", "SUBSCRIBE z", "PUBLISH z self", "GET x"] {
        n.cmd(1, line);
    }
    // The message is pushed between EXEC's elements, not counted in them.
    let expected = [
        "*3\r\n",
        &frame(&["subscribe", "z", ":1"]),
        &frame(&["message", "z", "self"]),
        ":1\r\n$-1\r\n",
    ]
    .concat();
    assert_eq!(n.cmd(1, "EXEC"), expected);
    assert!(n.cmd(1, "GET x").starts_with("-ERR Can't execute 'get'"));
}

#[test]
fn pubsub_introspection_client_list_and_info() {
    let mut n = Node::new(3);
    n.cmd(1, "SUBSCRIBE c1 c2");
    n.cmd(1, "PSUBSCRIBE c* x?");
    n.cmd(2, "SUBSCRIBE c1");
    assert_eq!(
        n.cmd(3, "PUBSUB NUMSUB c1 c3"),
        "*4\r\n$2\r\nc1\r\n:2\r\n$2\r\nc3\r\n:0\r\n"
    );
    assert_eq!(n.cmd(3, "PUBSUB NUMSUB"), "*0\r\n");
    assert_eq!(n.cmd(3, "PUBSUB NUMPAT"), ":2\r\n");
    assert_eq!(
        n.cmd(3, "PUBSUB CHANNELS"),
        "*2\r\n$2\r\nc1\r\n$2\r\nc2\r\n"
    );
    assert_eq!(n.cmd(3, "PUBSUB CHANNELS *2"), "*1\r\n$2\r\nc2\r\n");
    assert_eq!(
        n.cmd(3, "PUBSUB CHANNELS c* x"),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        n.cmd(3, "PUBSUB NUMPAT x"),
        "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        n.cmd(3, "PUBSUB FOO"),
        "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n"
    );
    assert!(n
        .cmd(3, "PUBSUB HELP")
        .starts_with("*14\r\n+PUBSUB <subcommand>"));
    assert_eq!(
        (n.info("pubsub_channels"), n.info("pubsub_patterns")),
        ("2".into(), "2".into())
    );
    let list = n.cmd(3, "CLIENT LIST");
    assert!(
        list.contains("id=1 addr=127.0.0.1:50001")
            && list.contains("flags=P db=0 sub=2 psub=2 ssub=0"),
        "{}",
        list
    );
    assert!(
        list.contains("flags=P db=0 sub=1 psub=0 ssub=0"),
        "{}",
        list
    );
    let pubsub_only = n.cmd(3, "CLIENT LIST TYPE pubsub");
    assert_eq!(pubsub_only.matches("flags=P").count(), 2, "{}", pubsub_only);
    assert!(!n.cmd(3, "CLIENT LIST TYPE normal").contains("flags=P"));
    assert_eq!(n.cmd(3, "CLIENT KILL TYPE pubsub"), ":2\r\n");
    n.all(3, "PING");
    assert_eq!(
        (n.info("pubsub_channels"), n.info("pubsub_patterns")),
        ("0".into(), "0".into())
    );
}

#[test]
fn closed_subscriber_leaves_every_channel_and_pattern() {
    let mut n = Node::new(2);
    n.cmd(1, "SUBSCRIBE a b");
    n.cmd(1, "PSUBSCRIBE *");
    assert_eq!(n.all(2, "PUBLISH a m")[&2], ":2\r\n");
    n.engine
        .handle_input(n.now_us, Input::Closed { conn: ConnId(1) });
    assert_eq!(n.cmd(2, "PUBLISH a m"), ":0\r\n");
    assert_eq!(
        n.cmd(2, "PUBSUB NUMSUB a b"),
        "*4\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:0\r\n"
    );
    assert_eq!(n.cmd(2, "PUBSUB NUMPAT"), ":0\r\n");
}

#[test]
fn server_published_messages_reach_subscribers() {
    let mut n = Node::new(2);
    n.cmd(1, "SUBSCRIBE +sdown");
    n.cmd(2, "PSUBSCRIBE *");
    let srv = n.engine.server_mut();
    let receivers =
        redsim_engine::pubsub::publish_message(srv, b"+sdown", b"master mymaster 10.0.0.1 6379");
    assert_eq!(receivers, 2);
    // They leave with the next event-loop pass.
    let out = n.all(2, "PING");
    assert_eq!(
        out[&1],
        frame(&["message", "+sdown", "master mymaster 10.0.0.1 6379"])
    );
    assert_eq!(
        out[&2],
        [
            frame(&["pmessage", "*", "+sdown", "master mymaster 10.0.0.1 6379"]),
            "*2\r\n$4\r\npong\r\n$0\r\n\r\n".into()
        ]
        .concat()
    );
}

#[test]
fn idle_timeout_spares_subscribers() {
    let config = Config::from_conf_lines(&["timeout 2"]).expect("config");
    let mut engine = Engine::new(
        config,
        EngineOptions {
            seed: 7,
            pid: 1,
            port: 6379,
            ..Default::default()
        },
        START_US,
    );
    for id in 1..=2 {
        engine.handle_input(
            START_US,
            Input::Accepted {
                conn: ConnId(id),
                peer: format!("127.0.0.1:{}", 50000 + id),
                local_port: 6379,
            },
        );
    }
    common::send(&mut engine, START_US, ConnId(1), &["SUBSCRIBE", "c"]);
    let now = common::run_timers_until(&mut engine, START_US, START_US + 5_000_000);
    assert_eq!(
        common::info_field(&mut engine, now, "connected_clients"),
        "1"
    );
    assert_eq!(
        common::send(&mut engine, now, ConnId(1), &["PING"]).0,
        "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
}

#[test]
fn publish_costs_per_pattern_and_per_receiver() {
    let mut n = Node::new(2);
    let publish = |n: &mut Node| {
        n.now_us += 1000;
        let (mut out, step) = common::send_all(
            &mut n.engine,
            n.now_us,
            ConnId(2),
            &["PUBLISH", "chan", "m"],
        );
        (
            String::from_utf8(out.remove(&ConnId(2)).expect("a reply")).expect("utf8"),
            step.cpu_us,
        )
    };
    let (reply, alone_us) = publish(&mut n);
    assert_eq!(reply, ":0\r\n");
    // 1000 patterns that fail on their first byte, then 1000 that match.
    let misses: Vec<String> = (0..1000).map(|i| format!("[z{}]*", i)).collect();
    let hits: Vec<String> = (0..1000).map(|i| format!("[c{}]*", i)).collect();
    for patterns in [&misses, &hits] {
        let mut args = vec!["PSUBSCRIBE"];
        args.extend(patterns.iter().map(String::as_str));
        common::send(&mut n.engine, n.now_us, ConnId(1), &args);
    }
    let (reply, busy_us) = publish(&mut n);
    assert_eq!(reply, ":1000\r\n");
    let walk_and_queue_us = (2000 * redsim_engine::cost::PUBSUB_PATTERN_NS
        + 1000 * redsim_engine::cost::PUBSUB_RECEIVER_NS)
        / 1000;
    assert!(
        busy_us >= alone_us + walk_and_queue_us,
        "{} µs with 2000 patterns against {} µs alone",
        busy_us,
        alone_us
    );
}
