//! The client table: the client running a command is in it like every
//! other, so INFO, CLIENT LIST and CLIENT KILL see the caller the way
//! redis-server 7.0.15 does (checked with redis-cli and a raw socket).

mod common;

use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input, Output};

const START_US: u64 = 1_700_000_000_000_000;

fn engine() -> Engine {
    let config = Config::from_conf_lines::<&str>(&[]).expect("config");
    Engine::new(
        config,
        EngineOptions {
            seed: 5,
            pid: 1,
            port: 6379,
            ..Default::default()
        },
        START_US,
    )
}

fn accept(e: &mut Engine, conn: u64, peer: &str) {
    e.handle_input(
        START_US,
        Input::Accepted {
            conn: ConnId(conn),
            peer: peer.into(),
            local_port: 6379,
        },
    );
    while e.poll_output().is_some() {}
}

/// Sends a pipeline of raw requests; returns what was sent back on `conn`
/// and whether the engine closed it.
fn pipeline(e: &mut Engine, conn: u64, raw: &[u8]) -> (String, bool) {
    e.handle_input(
        START_US,
        Input::Data {
            conn: ConnId(conn),
            bytes: raw,
        },
    );
    let (mut out, mut closed) = (Vec::new(), false);
    while let Some(o) = e.poll_output() {
        match o {
            Output::Send { conn: c, bytes } if c == ConnId(conn) => out.extend_from_slice(&bytes),
            Output::Close { conn: c } if c == ConnId(conn) => closed = true,
            _ => {}
        }
    }
    (String::from_utf8(out).expect("utf8"), closed)
}

fn info_field(reply: &str, field: &str) -> String {
    let line = reply
        .lines()
        .find(|l| l.starts_with(&format!("{}:", field)))
        .unwrap_or_else(|| panic!("no {} in {}", field, reply));
    line[field.len() + 1..].to_string()
}

#[test]
fn info_counts_the_caller_as_a_connected_client() {
    let mut e = engine();
    accept(&mut e, 1, "127.0.0.1:50001");
    let (reply, _) = common::send(&mut e, START_US, ConnId(1), &["INFO", "clients"]);
    assert_eq!(info_field(&reply, "connected_clients"), "1");
    accept(&mut e, 2, "127.0.0.1:50002");
    let (reply, _) = common::send(&mut e, START_US, ConnId(2), &["INFO", "clients"]);
    assert_eq!(info_field(&reply, "connected_clients"), "2");
}

#[test]
fn client_list_shows_the_caller_once_in_id_order() {
    let mut e = engine();
    accept(&mut e, 9, "127.0.0.1:50009");
    accept(&mut e, 3, "127.0.0.1:50003");
    let (reply, _) = common::send(&mut e, START_US, ConnId(9), &["CLIENT", "LIST"]);
    let ids: Vec<&str> = reply
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter_map(|w| w.strip_prefix("id="))
        .collect();
    assert_eq!(ids, vec!["1", "2"], "{}", reply);
    assert!(
        reply.contains("id=1 addr=127.0.0.1:50009") && reply.contains("cmd=client|list"),
        "{}",
        reply
    );
}

#[test]
fn client_kill_of_itself_replies_then_closes_and_runs_nothing_more() {
    let mut e = engine();
    accept(&mut e, 1, "127.0.0.1:50001");
    let (out, closed) = pipeline(&mut e, 1, b"CLIENT KILL SKIPME no\r\nPING\r\n");
    assert_eq!(out, ":1\r\n");
    assert!(closed);
    let (reply, _) = common::send(&mut e, START_US, ConnId(1), &["PING"]);
    assert_eq!(reply, "", "the connection is gone");
    accept(&mut e, 3, "127.0.0.1:50003");
    let (reply, _) = common::send(&mut e, START_US, ConnId(3), &["INFO", "clients"]);
    assert_eq!(info_field(&reply, "connected_clients"), "1");
}

#[test]
fn client_kill_by_address_of_itself_and_skipme_default() {
    let mut e = engine();
    accept(&mut e, 1, "127.0.0.1:50001");
    accept(&mut e, 2, "127.0.0.1:50002");
    // SKIPME defaults to yes: killing every normal client spares the caller.
    let (out, closed) = pipeline(&mut e, 1, b"CLIENT KILL TYPE normal\r\nPING\r\n");
    assert_eq!(out, ":1\r\n+PONG\r\n");
    assert!(!closed);
    // The old form has no SKIPME: the caller's own address kills it.
    let (out, closed) = pipeline(&mut e, 1, b"CLIENT KILL 127.0.0.1:50001\r\nPING\r\n");
    assert_eq!(out, "+OK\r\n");
    assert!(closed);
}

#[test]
fn the_admin_hand_is_a_client_while_its_command_runs() {
    let mut e = engine();
    accept(&mut e, 1, "127.0.0.1:50001");
    let (reply, _) = e.admin_command(START_US, vec![b"CLIENT".to_vec(), b"LIST".to_vec()]);
    let text = String::from_utf8(reply).expect("utf8");
    assert_eq!(text.matches("id=").count(), 2, "{}", text);
    assert!(
        text.contains("id=2 addr=127.0.0.1:0 ") && text.contains("cmd=client|list"),
        "{}",
        text
    );
    // Killing itself is harmless: it goes away after its reply anyway.
    let (reply, _) = e.admin_command(
        START_US,
        vec![
            b"CLIENT".to_vec(),
            b"KILL".to_vec(),
            b"SKIPME".to_vec(),
            b"no".to_vec(),
        ],
    );
    assert_eq!(reply, b":2\r\n");
    let (reply, _) = e.admin_command(START_US, vec![b"INFO".to_vec(), b"clients".to_vec()]);
    assert_eq!(
        info_field(
            &String::from_utf8(reply).expect("utf8"),
            "connected_clients"
        ),
        "1"
    );
}
