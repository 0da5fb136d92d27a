//! A plain client: one connection to one node, no redirects, no discovery.
//!
//! The world (world.rs) moves its bytes and calls it on ticks, replies and
//! connection changes; this file holds its state and builds its requests.

use redsim_engine::resp::push_decimal;
use std::collections::VecDeque;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use redsim_engine::resp;

use super::Workload;
use crate::history::{Op, OpKind, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientConn {
    /// Before the workload starts.
    Idle,
    Connecting(u64),
    Connected(u64),
    /// A Sentinel-aware client waits for a sentinel's answer on this connection.
    Asking(u64),
    /// A Sentinel-aware client checks with ROLE that the node it was told of is the master.
    Checking(u64),
    /// The connection dropped; a reconnect is scheduled.
    Waiting,
}

pub(crate) struct PlainClient {
    /// Global index (workloads in order, then clients in order).
    pub id: u32,
    pub workload: usize,
    /// "client#<id>", the name trace lines use.
    pub label: String,
    pub conn: ClientConn,
    /// Generated but not sent: (history index, request bytes).
    pub backlog: VecDeque<(usize, Vec<u8>)>,
    /// Sent, waiting for a reply: (history index, sent at µs).
    pub outstanding: VecDeque<(usize, u64)>,
    pub readbuf: Vec<u8>,
    pub rng: ChaCha8Rng,
    pub seq: u64,
    /// Operations this client may still invoke, when the workload has a total.
    pub ops_left: Option<u64>,
    pub mean_gap_us: f64,
    /// Has this client ever reached its target? Until then (nodes boot at
    /// seeded times) its schedule runs but it invokes nothing: a workload
    /// starts against a deployment that is up.
    pub ever_connected: bool,
    /// The node the client sends its operations to (changes when Sentinel says so).
    pub serving_host: usize,
    /// Which sentinel a Sentinel-aware client asks next (an index into the workload's list).
    pub sentinel_cursor: usize,
    /// The application's process state and its second connections (app.rs).
    pub(crate) app: super::app::AppState,
}

impl PlainClient {
    pub fn new(
        id: u32,
        workload: usize,
        wl: &Workload,
        index: u32,
        rng: ChaCha8Rng,
    ) -> PlainClient {
        let clients = wl.spec.clients as u64;
        let ops_left = wl
            .spec
            .ops
            .map(|total| total / clients + u64::from((index as u64) < total % clients));
        PlainClient {
            id,
            workload,
            label: format!("client#{}", id),
            conn: ClientConn::Idle,
            backlog: VecDeque::new(),
            outstanding: VecDeque::new(),
            readbuf: Vec::new(),
            rng,
            seq: 0,
            ops_left,
            mean_gap_us: 1e6 * clients as f64 / wl.spec.ops_per_second,
            ever_connected: false,
            serving_host: wl.target_host,
            sentinel_cursor: 0,
            app: Default::default(),
        }
    }

    /// The gap to the next invocation: exponential with the client's mean.
    pub fn next_gap_us(&mut self) -> u64 {
        let u: f64 = self.rng.gen();
        let gap = -(1.0 - u).ln() * self.mean_gap_us;
        (gap.round() as u64).max(1)
    }

    /// May this client invoke another operation at `now_us`?
    pub fn may_invoke(&self, wl: &Workload, now_us: u64) -> bool {
        let before_stop = wl.spec.stop_us.is_none_or(|stop| now_us < stop);
        before_stop && self.ops_left != Some(0)
    }

    /// Builds the next operation and its request bytes.
    pub fn make_op(&mut self, wl: &Workload, now_us: u64) -> (Op, Vec<u8>) {
        if let Some(left) = self.ops_left.as_mut() {
            *left -= 1;
        }
        self.seq += 1;
        let kind = wl.choose_kind(&mut self.rng);
        let index = wl.choose_key_index(&mut self.rng);
        let mut key = String::with_capacity(wl.spec.key_prefix.len() + 20);
        key.push_str(&wl.spec.key_prefix);
        push_decimal_str(&mut key, index);
        let value = match kind {
            OpKind::Set | OpKind::RPush => Some(self.unique_value(wl.spec.value_bytes)),
            _ => None,
        };
        let request = match (kind, &value) {
            (OpKind::Set, Some(v)) => {
                redsim_engine::resp::encode_command(&[b"SET".as_slice(), key.as_bytes(), v])
            }
            (OpKind::RPush, Some(v)) => {
                redsim_engine::resp::encode_command(&[b"RPUSH".as_slice(), key.as_bytes(), v])
            }
            (OpKind::Incr, _) => {
                redsim_engine::resp::encode_command(&[b"INCR".as_slice(), key.as_bytes()])
            }
            (OpKind::LRange, _) => redsim_engine::resp::encode_command(&[
                b"LRANGE".as_slice(),
                key.as_bytes(),
                b"0",
                b"-1",
            ]),
            _ => redsim_engine::resp::encode_command(&[b"GET".as_slice(), key.as_bytes()]),
        };
        let op = Op {
            client: self.id,
            workload: self.workload as u32,
            kind,
            key,
            value,
            reply: None,
            invoke_us: now_us,
            complete_us: None,
            outcome: Outcome::Unknown,
            node: None,
        };
        (op, request)
    }

    /// "c<client>:<seq>" padded with 'x' to `value_bytes`: unique per op, so
    /// checkers can tell which write a read saw.
    fn unique_value(&self, value_bytes: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(value_bytes.max(42));
        v.push(b'c');
        push_decimal(&mut v, self.id as u64);
        v.push(b':');
        push_decimal(&mut v, self.seq);
        if v.len() < value_bytes {
            v.resize(value_bytes, b'x');
        }
        v
    }
}

/// Appends `n` in decimal to a String key.
fn push_decimal_str(out: &mut String, n: u64) {
    let mut digits = Vec::with_capacity(20);
    push_decimal(&mut digits, n);
    out.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
}

// ---- the client's life in the world ----

use crate::network::{Payload, Who};
use crate::world::{Ev, World, RECONNECT_DELAY_US};

impl World {
    pub(crate) fn client_connect(&mut self, c: usize) {
        let wl = &self.workloads[self.clients[c].workload];
        if !wl.sentinel_hosts.is_empty() {
            return self.client_ask_sentinel(c);
        }
        let target = &self.hosts[wl.target_host];
        let (from, to, port) = (wl.machine, target.machine, target.port);
        let id = self.open_conn(from, Who::Client { client: c }, to, port);
        self.clients[c].conn = ClientConn::Connecting(id);
    }

    pub(crate) fn client_connected(&mut self, c: usize, id: u64) {
        if let ClientConn::Asking(_) | ClientConn::Checking(_) = self.clients[c].conn {
            return self.client_discovery_connected(c, id);
        }
        self.client_connected_checked(c, id);
    }

    /// The client may send its operations on connection `id`.
    pub(crate) fn client_connected_checked(&mut self, c: usize, id: u64) {
        self.clients[c].conn = ClientConn::Connected(id);
        self.clients[c].ever_connected = true;
        self.client_serving(c);
        self.client_flush(c);
    }

    /// The connection failed or dropped: outstanding operations stay
    /// Unknown, unsent ones fail with NOCONN, and the client dials again.
    pub(crate) fn client_dropped(&mut self, c: usize) {
        let now = self.now_us;
        let client = &mut self.clients[c];
        if let ClientConn::Asking(_) | ClientConn::Checking(_) = client.conn {
            // This sentinel (or the master it named) did not do: try the next one.
            client.sentinel_cursor += 1;
        }
        client.outstanding.clear();
        client.readbuf.clear();
        for (op, _) in client.backlog.drain(..) {
            self.history
                .complete(op, now, Outcome::Fail("NOCONN".into()), None);
        }
        client.conn = ClientConn::Waiting;
        self.schedule(
            now + RECONNECT_DELAY_US,
            Ev::ClientReconnect { client: c as u32 },
        );
    }

    /// The client gives up on its connection (timeout, garbage reply).
    pub(crate) fn client_abort(&mut self, c: usize) {
        if let ClientConn::Connected(id)
        | ClientConn::Connecting(id)
        | ClientConn::Asking(id)
        | ClientConn::Checking(id) = self.clients[c].conn
        {
            self.close_client_end(id);
        }
        self.client_dropped(c);
    }

    /// Time for the next invocation of an open-loop client.
    pub(crate) fn client_tick(&mut self, c: usize) {
        let now = self.now_us;
        let client = &mut self.clients[c];
        let wl = &self.workloads[client.workload];
        if !client.may_invoke(wl, now) {
            return;
        }
        let unreachable_yet =
            !client.ever_connected && matches!(client.conn, ClientConn::Waiting | ClientConn::Idle);
        if unreachable_yet {
            let next_us = now + client.next_gap_us();
            self.schedule_tick(c, next_us);
            return;
        }
        let (op, request) = client.make_op(wl, now);
        let index = self.history.push(op);
        match client.conn {
            ClientConn::Connected(_)
            | ClientConn::Connecting(_)
            | ClientConn::Asking(_)
            | ClientConn::Checking(_) => client.backlog.push_back((index, request)),
            ClientConn::Waiting | ClientConn::Idle => {
                self.history
                    .complete(index, now, Outcome::Fail("NOCONN".into()), None);
            }
        }
        if client.may_invoke(wl, now) {
            let next_us = now + client.next_gap_us();
            self.schedule_tick(c, next_us);
        }
        self.client_flush(c);
    }

    /// Sends queued requests while fewer than `pipeline` are outstanding.
    fn client_flush(&mut self, c: usize) {
        let now = self.now_us;
        let client = &mut self.clients[c];
        let ClientConn::Connected(id) = client.conn else {
            return;
        };
        let spec = &self.workloads[client.workload].spec;
        let was_idle = client.outstanding.is_empty();
        let mut out: Option<Vec<u8>> = None;
        while client.outstanding.len() < spec.pipeline as usize {
            let Some((op, request)) = client.backlog.pop_front() else {
                break;
            };
            client.outstanding.push_back((op, now));
            self.history.ops[op].node = Some(client.serving_host as u32);
            match out.as_mut() {
                None => out = Some(request),
                Some(buf) => buf.extend_from_slice(&request),
            }
        }
        let Some(bytes) = out else { return };
        if let (true, Some(timeout_ms)) = (was_idle, spec.timeout_ms) {
            let op = client.outstanding.front().expect("just pushed").0 as u64;
            self.schedule(
                now + timeout_ms * 1000,
                Ev::ClientTimeout {
                    client: c as u32,
                    op,
                },
            );
        }
        self.conn_send(id, 0, Payload::Data(bytes));
    }

    /// Reply bytes arrived: each complete reply finishes the oldest
    /// outstanding operation.
    pub(crate) fn client_data(&mut self, c: usize, id: u64, bytes: &[u8]) {
        if let ClientConn::Asking(_) | ClientConn::Checking(_) = self.clients[c].conn {
            return self.client_discovery_data(c, id, bytes);
        }
        let now = self.now_us;
        let client = &mut self.clients[c];
        self.trace.record_fields(
            now,
            &client.label,
            "recv",
            "",
            &[("conn", id), ("bytes", bytes.len() as u64)],
        );
        client.readbuf.extend_from_slice(bytes);
        let mut consumed = 0;
        loop {
            match resp::parse_reply(&client.readbuf[consumed..]) {
                Ok(Some((value, used))) => {
                    consumed += used;
                    let Some((op, _)) = client.outstanding.pop_front() else {
                        // A reply nobody asked for: the stream is out of step.
                        return self.client_abort(c);
                    };
                    let outcome = match value.error_code() {
                        Some(code) => Outcome::Fail(code.to_string()),
                        None => Outcome::Ok,
                    };
                    let not_master = matches!(value.error_code(), Some("READONLY" | "MASTERDOWN"));
                    let keep = outcome == Outcome::Ok && self.history.ops[op].kind != OpKind::Set;
                    self.history
                        .complete(op, now, outcome, if keep { Some(value) } else { None });
                    if not_master && !self.workloads[client.workload].sentinel_hosts.is_empty() {
                        // The server is no longer the master: ask Sentinel again.
                        return self.client_abort(c);
                    }
                }
                Ok(None) => break,
                Err(_) => return self.client_abort(c),
            }
        }
        client.readbuf.drain(..consumed);
        let timeout_ms = self.workloads[client.workload].spec.timeout_ms;
        if let (true, Some(timeout_ms), Some(&(op, sent_us))) =
            (consumed > 0, timeout_ms, client.outstanding.front())
        {
            let at_us = (sent_us + timeout_ms * 1000).max(now);
            self.schedule(
                at_us,
                Ev::ClientTimeout {
                    client: c as u32,
                    op: op as u64,
                },
            );
        }
        self.client_flush(c);
    }

    /// The client-side timeout of the oldest outstanding operation.
    pub(crate) fn client_timeout(&mut self, c: usize, op: usize) {
        if self.clients[c].outstanding.front().map(|o| o.0) == Some(op) {
            let now = self.now_us;
            self.trace.record(
                now,
                &self.clients[c].label,
                "timeout",
                format_args!("op={}", op),
            );
            self.client_abort(c);
        }
    }
}
