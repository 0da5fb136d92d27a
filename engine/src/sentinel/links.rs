//! The two outbound connections Sentinel keeps to an instance
//! (instanceLink): the command link, where commands go out and replies
//! come back in order, each to its callback; and, for masters and
//! replicas, the pub/sub link subscribed to the hello channel.

use std::collections::VecDeque;

use super::{monitor, SentinelState, Who};
use crate::resp::{self, Value};
use crate::server::Server;
use crate::{ConnId, Output};

/// Outbound connections -> the instance and which of its two links.
pub type Conns = std::collections::BTreeMap<ConnId, (String, Who, LinkKind)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkKind {
    Cmd,
    Pubsub,
}

/// What to do with the reply of a command sent on the command link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Discard,
    Ping,
    Info,
    Publish,
    IsMasterDown,
}

/// One TCP connection of a link.
#[derive(Debug, Default)]
pub struct Conn {
    pub id: Option<ConnId>,
    /// The TCP connection is established; until then writes wait in `out`.
    up: bool,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    /// Pub/sub link: replies still owed to commands other than SUBSCRIBE
    /// (AUTH, CLIENT SETNAME), which hiredis matches before pub/sub traffic.
    regular_replies: u32,
}

#[derive(Debug)]
pub struct Link {
    pub cc: Conn,
    pub pc: Conn,
    pub callbacks: VecDeque<Callback>,
    pub disconnected: bool,
    pub pending_commands: u32,
    pub cc_conn_time_ms: i64,
    pub pc_conn_time_ms: i64,
    pub last_reconn_time_ms: i64,
    pub pc_last_activity_ms: i64,
    /// When the oldest unanswered PING was sent (0: none pending).
    pub act_ping_time_ms: i64,
    pub last_ping_time_ms: i64,
    pub last_avail_time_ms: i64,
    pub last_pong_time_ms: i64,
}

impl Link {
    /// createInstanceLink: act_ping_time starts at "now" so an instance
    /// we never reach still times out.
    pub fn new(now_ms: i64) -> Link {
        Link {
            cc: Conn::default(),
            pc: Conn::default(),
            callbacks: VecDeque::new(),
            disconnected: true,
            pending_commands: 0,
            cc_conn_time_ms: 0,
            pc_conn_time_ms: 0,
            last_reconn_time_ms: 0,
            pc_last_activity_ms: 0,
            act_ping_time_ms: now_ms,
            last_ping_time_ms: 0,
            last_avail_time_ms: now_ms,
            last_pong_time_ms: now_ms,
        }
    }
}

fn write(srv: &mut Server, conn: &mut Conn, bytes: Vec<u8>) {
    let Some(id) = conn.id else { return };
    if conn.up {
        srv.send(id, bytes);
    } else {
        conn.out.extend_from_slice(&bytes);
    }
}

/// redisAsyncCommand on the command link: queued even before the
/// connection is up, as hiredis buffers it. False when there is no link.
pub fn send_command<A: AsRef<[u8]>>(
    srv: &mut Server,
    link: &mut Link,
    renames: &Renames,
    argv: &[A],
    cb: Callback,
) -> bool {
    if link.cc.id.is_none() {
        return false;
    }
    write(srv, &mut link.cc, encode_mapped(renames, argv));
    link.callbacks.push_back(cb);
    link.pending_commands += 1;
    true
}

pub fn send_pubsub<A: AsRef<[u8]>>(
    srv: &mut Server,
    link: &mut Link,
    renames: &Renames,
    argv: &[A],
) {
    let subscribe = argv
        .first()
        .is_some_and(|a| a.as_ref().eq_ignore_ascii_case(b"subscribe"));
    if !subscribe && link.pc.id.is_some() {
        link.pc.regular_replies += 1;
    }
    write(srv, &mut link.pc, encode_mapped(renames, argv));
}

/// A master's renamed commands (`sentinel rename-command`), by the
/// lowercase original name: (original name as given, new name). Its
/// replicas and Sentinels use the master's table.
pub type Renames = std::collections::BTreeMap<String, (String, String)>;

/// sentinelInstanceMapCommand: the name to send for `command`.
pub fn map_command<'a>(renames: &'a Renames, command: &'a str) -> &'a str {
    renames
        .get(&command.to_ascii_lowercase())
        .map_or(command, |(_, new)| new.as_str())
}

fn encode_mapped<A: AsRef<[u8]>>(renames: &Renames, argv: &[A]) -> Vec<u8> {
    let mut args: Vec<Vec<u8>> = argv.iter().map(|a| a.as_ref().to_vec()).collect();
    if let Some(first) = args.first_mut() {
        let name = String::from_utf8_lossy(first).into_owned();
        *first = map_command(renames, &name).as_bytes().to_vec();
    }
    resp::encode_command(&args)
}

/// Asks the host for a connection and records whose it is.
pub fn open(
    st: &mut SentinelState,
    srv: &mut Server,
    master: &str,
    who: &Who,
    kind: LinkKind,
    host: &str,
    port: u16,
) -> ConnId {
    let conn = srv.new_outbound_conn();
    srv.outputs.push_back(Output::Connect {
        conn,
        host: host.to_string(),
        port,
    });
    st.conns
        .insert(conn, (master.to_string(), who.clone(), kind));
    conn
}

/// instanceLinkCloseConnection. `tell_host`: we close it (the peer did
/// not already).
pub fn close(
    conns: &mut Conns,
    srv: &mut Server,
    link: &mut Link,
    kind: LinkKind,
    tell_host: bool,
) {
    let conn = match kind {
        LinkKind::Cmd => &mut link.cc,
        LinkKind::Pubsub => &mut link.pc,
    };
    let Some(id) = conn.id.take() else { return };
    *conn = Conn::default();
    conns.remove(&id);
    if tell_host {
        srv.outputs.push_back(Output::Close { conn: id });
    }
    if kind == LinkKind::Cmd {
        link.pending_commands = 0;
        // hiredis calls every pending callback with a NULL reply: dropped.
        link.callbacks.clear();
    }
    link.disconnected = true;
}

/// Both connections of an instance that goes away.
pub fn close_all(conns: &mut Conns, srv: &mut Server, link: &mut Link) {
    close(conns, srv, link, LinkKind::Cmd, true);
    close(conns, srv, link, LinkKind::Pubsub, true);
}

/// Closes one link of an instance named by master and who.
pub fn close_of(
    st: &mut SentinelState,
    srv: &mut Server,
    master: &str,
    who: &Who,
    kind: LinkKind,
    tell_host: bool,
) {
    let SentinelState { conns, masters, .. } = st;
    if let Some(ri) = masters.get_mut(master).and_then(|m| m.get_mut(who)) {
        close(conns, srv, &mut ri.link, kind, tell_host);
    }
}

fn with_link<R>(
    st: &mut SentinelState,
    conn: ConnId,
    f: impl FnOnce(&mut Link, LinkKind) -> R,
) -> Option<R> {
    let (master, who, kind) = st.conns.get(&conn)?.clone();
    let link = &mut st.masters.get_mut(&master)?.get_mut(&who)?.link;
    Some(f(link, kind))
}

pub fn connected(srv: &mut Server, conn: ConnId) {
    super::with_state(srv, |st, srv| {
        let pending = with_link(st, conn, |link, kind| {
            let c = if kind == LinkKind::Cmd {
                &mut link.cc
            } else {
                &mut link.pc
            };
            c.up = true;
            std::mem::take(&mut c.out)
        });
        if let Some(bytes) = pending {
            srv.send(conn, bytes);
        }
    });
}

/// The connection failed or the peer closed it (sentinelDisconnectCallback).
pub fn closed(srv: &mut Server, conn: ConnId) {
    super::with_state(srv, |st, srv| {
        let Some((master, who, kind)) = st.conns.get(&conn).cloned() else {
            return;
        };
        close_of(st, srv, &master, &who, kind, false);
    });
}

/// Bytes arrived on one of our links: parse every complete reply.
pub fn read(srv: &mut Server, conn: ConnId, bytes: &[u8]) {
    super::with_state(srv, |st, srv| {
        let appended = with_link(st, conn, |link, kind| {
            let c = if kind == LinkKind::Cmd {
                &mut link.cc
            } else {
                &mut link.pc
            };
            c.inbuf.extend_from_slice(bytes);
        });
        if appended.is_none() {
            return;
        }
        while let Some(value) = next_reply(st, srv, conn) {
            let Some((master, who, kind)) = st.conns.get(&conn).cloned() else {
                return;
            };
            match kind {
                LinkKind::Cmd => {
                    let cb = with_link(st, conn, |link, _| {
                        link.pending_commands = link.pending_commands.saturating_sub(1);
                        link.callbacks.pop_front()
                    });
                    if let Some(Some(cb)) = cb {
                        monitor::on_reply(st, srv, &master, &who, cb, value);
                    }
                }
                LinkKind::Pubsub => {
                    // hiredis: a reply that matches no pending regular
                    // command and is an error (SUBSCRIBE refused with
                    // -NOAUTH) drops the connection.
                    let regular = with_link(st, conn, |link, _| {
                        let owed = link.pc.regular_replies > 0;
                        link.pc.regular_replies = link.pc.regular_replies.saturating_sub(1);
                        owed
                    });
                    if regular == Some(false) && matches!(value, Value::Error(_)) {
                        close_of(st, srv, &master, &who, LinkKind::Pubsub, true);
                        return;
                    }
                    monitor::on_pubsub_message(st, srv, &master, &who, value)
                }
            }
        }
    });
}

/// The next complete reply on `conn`, if any; a protocol error closes the link.
fn next_reply(st: &mut SentinelState, srv: &mut Server, conn: ConnId) -> Option<Value> {
    let parsed = with_link(st, conn, |link, kind| {
        let c = if kind == LinkKind::Cmd {
            &mut link.cc
        } else {
            &mut link.pc
        };
        match resp::parse_reply(&c.inbuf) {
            Ok(Some((value, used))) => {
                c.inbuf.drain(..used);
                Ok(Some(value))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    })?;
    match parsed {
        Ok(v) => v,
        Err(_) => {
            let (master, who, kind) = st.conns.get(&conn).cloned()?;
            close_of(st, srv, &master, &who, kind, true);
            None
        }
    }
}
