//! Clients as applications on their machine, and their second connections.
//!
//! Every client event (its timers, and what the network brings it) comes through
//! [`World::client_event`], which knows the application's process state:
//!
//! - Power loss of the client's machine (`kill`): the application dies with the machine. Its
//!   connections vanish without a FIN (the servers keep their end, as after a real power loss),
//!   its outstanding operations stay unknown and it invokes nothing more.
//! - `restart` of the machine starts the application again, like a service at boot: it
//!   connects (or asks the sentinels) anew and invokes operations once it is connected; its
//!   values go on from where they were, so they stay unique.
//! - `pause` of the machine (SIGSTOP of every process on it): the application's timers and
//!   input wait; at `resume` they run in the order they came, so a read timeout that expired
//!   meanwhile fires at once.
//!
//! A Sentinel-aware client may hold two connections besides its data connection, each its own
//! TCP connection to a sentinel:
//!
//! - `reask_ms`: every `reask_ms` while connected, ask the next sentinel
//!   get-master-addr-by-name; an answer naming another node moves the client there (the data
//!   connection closes, outstanding operations stay unknown, and the new node's ROLE is
//!   checked first). A sentinel that does not answer within the discovery timeout is skipped.
//! - `follow = "pubsub"`: SUBSCRIBE +switch-master on a sentinel, as Jedis's MasterListener
//!   does; a message for the client's master name that names another node moves the client
//!   there. A subscription whose connection drops is made again to the next sentinel after 5 s
//!   (Jedis's subscribeRetryWaitTimeMillis). Like Jedis, it sets no read timeout on it: a
//!   sentinel cut off by a partition just says nothing.

use redsim_engine::resp::{self, Value};

use super::plain::ClientConn;
use crate::network::{Payload, Who};
use crate::world::{Ev, World};

/// Jedis's subscribeRetryWaitTimeMillis: the wait before subscribing again after the
/// subscription connection dropped.
const SUBSCRIBE_RETRY_US: u64 = 5_000_000;

/// What the network brings a client, on one of its connections.
#[derive(Debug)]
pub(crate) enum ClientInput {
    Connected(u64),
    /// The connect was refused, or the peer closed or reset the connection.
    Lost(u64),
    Data(u64, Vec<u8>),
}

/// A client's timers and input.
#[derive(Debug)]
pub(crate) enum ClientEvent {
    Tick,
    Reconnect,
    Timeout(usize),
    DiscoveryTimeout(u64),
    Reask,
    Listen,
    Input(ClientInput),
}

/// A second connection to a sentinel (the periodic re-ask or the +switch-master subscription).
#[derive(Debug, Default)]
pub(crate) struct SideConn {
    pub id: u64,
    pub connected: bool,
    pub readbuf: Vec<u8>,
}

/// The application's process state and its second connections.
#[derive(Debug, Default)]
pub(crate) struct AppState {
    /// Its machine lost power; it runs again when the machine restarts.
    pub down: bool,
    /// Its machine is paused: events wait here until resume.
    pub paused: bool,
    pub deferred: std::collections::VecDeque<ClientEvent>,
    /// A ClientTick is scheduled (the open-loop chain is alive).
    pub tick_pending: bool,
    /// A ClientReask is scheduled.
    pub reask_pending: bool,
    /// The re-ask in flight.
    pub reask: Option<SideConn>,
    /// Which sentinel the next re-ask goes to.
    pub reask_cursor: usize,
    /// The +switch-master subscription.
    pub listener: Option<SideConn>,
    /// Which sentinel the next subscription goes to.
    pub listen_cursor: usize,
    /// A ClientListen is scheduled.
    pub listen_pending: bool,
}

impl World {
    /// Every client event goes through here: dropped while the application is down, held while
    /// it is paused.
    pub(crate) fn client_event(&mut self, c: usize, event: ClientEvent) {
        let app = &mut self.clients[c].app;
        if app.down {
            match event {
                ClientEvent::Tick => app.tick_pending = false,
                ClientEvent::Reask => app.reask_pending = false,
                ClientEvent::Listen => app.listen_pending = false,
                _ => {}
            }
            return;
        }
        if app.paused {
            app.deferred.push_back(event);
            return;
        }
        match event {
            ClientEvent::Tick => {
                self.clients[c].app.tick_pending = false;
                self.client_tick(c);
            }
            ClientEvent::Reconnect => {
                if matches!(self.clients[c].conn, ClientConn::Waiting | ClientConn::Idle) {
                    self.client_connect(c);
                }
            }
            ClientEvent::Timeout(op) => self.client_timeout(c, op),
            ClientEvent::DiscoveryTimeout(conn) => self.client_discovery_timeout(c, conn),
            ClientEvent::Reask => {
                self.clients[c].app.reask_pending = false;
                self.client_reask(c);
            }
            ClientEvent::Listen => {
                self.clients[c].app.listen_pending = false;
                self.client_listen(c);
            }
            ClientEvent::Input(input) => self.client_route(c, input),
        }
    }

    /// Network input goes to the connection it came on.
    pub(crate) fn client_input(&mut self, c: usize, input: ClientInput) {
        self.client_event(c, ClientEvent::Input(input));
    }

    fn client_route(&mut self, c: usize, input: ClientInput) {
        let id = match &input {
            ClientInput::Connected(id) | ClientInput::Lost(id) | ClientInput::Data(id, _) => *id,
        };
        let app = &self.clients[c].app;
        if app.reask.as_ref().is_some_and(|s| s.id == id) {
            return self.reask_input(c, input);
        }
        if app.listener.as_ref().is_some_and(|s| s.id == id) {
            return self.listener_input(c, input);
        }
        let current = match self.clients[c].conn {
            ClientConn::Connecting(x)
            | ClientConn::Connected(x)
            | ClientConn::Asking(x)
            | ClientConn::Checking(x) => Some(x),
            ClientConn::Idle | ClientConn::Waiting => None,
        };
        if current != Some(id) {
            // A connection the client has given up on.
            return;
        }
        match input {
            ClientInput::Connected(id) => self.client_connected(c, id),
            ClientInput::Lost(_) => self.client_dropped(c),
            ClientInput::Data(id, bytes) => self.client_data(c, id, &bytes),
        }
    }

    /// Schedules the open-loop chain's next tick.
    pub(crate) fn schedule_tick(&mut self, c: usize, at_us: u64) {
        self.clients[c].app.tick_pending = true;
        self.schedule(at_us, Ev::ClientTick { client: c as u32 });
    }

    /// The client reached the master: start its periodic re-ask and its subscription.
    pub(crate) fn client_serving(&mut self, c: usize) {
        let wl = &self.workloads[self.clients[c].workload];
        let Some(discovery) = wl.spec.discovery.as_ref() else {
            return;
        };
        let (reask_ms, pubsub) = (discovery.reask_ms, discovery.follow_pubsub);
        if let (Some(ms), false) = (reask_ms, self.clients[c].app.reask_pending) {
            self.clients[c].app.reask_pending = true;
            let at_us = self.now_us + ms * 1000;
            self.schedule(at_us, Ev::ClientReask { client: c as u32 });
        }
        let app = &self.clients[c].app;
        if pubsub && app.listener.is_none() && !app.listen_pending {
            self.client_listen(c);
        }
    }

    fn open_side_conn(&mut self, c: usize, sentinel_index: usize) -> u64 {
        let wl = &self.workloads[self.clients[c].workload];
        let sentinel = wl.sentinel_hosts[sentinel_index % wl.sentinel_hosts.len()];
        let (from, to, port) = (
            wl.machine,
            self.hosts[sentinel].machine,
            self.hosts[sentinel].port,
        );
        self.open_conn(from, Who::Client { client: c }, to, port)
    }

    // ---- reask_ms ----

    fn client_reask(&mut self, c: usize) {
        let app = &self.clients[c].app;
        if app.reask.is_some() || !matches!(self.clients[c].conn, ClientConn::Connected(_)) {
            // Not serving (it is asking the sentinels anyway) or a re-ask is in flight: the
            // next one is scheduled when it serves again.
            return;
        }
        let cursor = app.reask_cursor;
        let id = self.open_side_conn(c, cursor);
        self.clients[c].app.reask = Some(SideConn {
            id,
            ..SideConn::default()
        });
        self.schedule_discovery_timeout(c, id);
    }

    fn reask_input(&mut self, c: usize, input: ClientInput) {
        match input {
            ClientInput::Connected(id) => {
                let name = self.workloads[self.clients[c].workload]
                    .spec
                    .discovery
                    .as_ref()
                    .expect("a re-asking client has discovery")
                    .master_name
                    .clone();
                let request = resp::encode_command(&[
                    b"SENTINEL".as_slice(),
                    b"get-master-addr-by-name",
                    name.as_bytes(),
                ]);
                if let Some(side) = self.clients[c].app.reask.as_mut() {
                    side.connected = true;
                }
                self.conn_send(id, 0, Payload::Data(request));
            }
            ClientInput::Lost(_) => self.reask_done(c, None),
            ClientInput::Data(_, bytes) => {
                let side = self.clients[c].app.reask.as_mut().expect("routed by id");
                side.readbuf.extend_from_slice(&bytes);
                match resp::parse_reply(&side.readbuf) {
                    Ok(None) => {}
                    Ok(Some((value, _))) => {
                        let host = self.master_from_answer(&value);
                        self.reask_done(c, Some(host));
                    }
                    Err(_) => self.reask_done(c, None),
                }
            }
        }
    }

    /// The re-ask is over: `answer` is Some(the node named, if any) when a sentinel answered.
    fn reask_done(&mut self, c: usize, answer: Option<Option<usize>>) {
        let Some(side) = self.clients[c].app.reask.take() else {
            return;
        };
        self.close_client_end(side.id);
        let app = &mut self.clients[c].app;
        if answer.is_none() {
            // This sentinel did not do: the next re-ask goes to the next one.
            app.reask_cursor += 1;
        }
        match answer.flatten() {
            Some(host) if host != self.clients[c].serving_host => self.client_move(c, host),
            _ => self.client_serving(c),
        }
    }

    /// A re-ask that took too long.
    pub(crate) fn reask_timeout(&mut self, c: usize, id: u64) -> bool {
        if self.clients[c]
            .app
            .reask
            .as_ref()
            .is_some_and(|s| s.id == id)
        {
            self.reask_done(c, None);
            return true;
        }
        false
    }

    /// Moves the client to another node: its data connection closes (outstanding operations
    /// stay unknown, unsent ones wait), and the new node's ROLE is checked before it serves.
    fn client_move(&mut self, c: usize, host: usize) {
        let now = self.now_us;
        let target = self.hosts[host].name.clone();
        self.trace.record(
            now,
            &self.clients[c].label,
            "switch-master",
            format_args!("to={}", target),
        );
        if let ClientConn::Connected(id)
        | ClientConn::Connecting(id)
        | ClientConn::Asking(id)
        | ClientConn::Checking(id) = self.clients[c].conn
        {
            self.close_client_end(id);
        }
        let client = &mut self.clients[c];
        client.outstanding.clear();
        client.readbuf.clear();
        client.serving_host = host;
        self.client_check_role(c);
    }

    // ---- follow = "pubsub" ----

    fn client_listen(&mut self, c: usize) {
        if self.clients[c].app.listener.is_some() {
            return;
        }
        let cursor = self.clients[c].app.listen_cursor;
        let id = self.open_side_conn(c, cursor);
        self.clients[c].app.listener = Some(SideConn {
            id,
            ..SideConn::default()
        });
    }

    fn listener_input(&mut self, c: usize, input: ClientInput) {
        match input {
            ClientInput::Connected(id) => {
                let request = resp::encode_command(&[b"SUBSCRIBE".as_slice(), b"+switch-master"]);
                if let Some(side) = self.clients[c].app.listener.as_mut() {
                    side.connected = true;
                }
                self.conn_send(id, 0, Payload::Data(request));
            }
            ClientInput::Lost(_) => self.listener_lost(c),
            ClientInput::Data(_, bytes) => {
                let side = self.clients[c].app.listener.as_mut().expect("routed by id");
                side.readbuf.extend_from_slice(&bytes);
                let mut messages = Vec::new();
                let mut consumed = 0;
                loop {
                    match resp::parse_reply(&side.readbuf[consumed..]) {
                        Ok(Some((value, used))) => {
                            consumed += used;
                            messages.push(value);
                        }
                        Ok(None) => break,
                        Err(_) => return self.listener_lost(c),
                    }
                }
                side.readbuf.drain(..consumed);
                for message in messages {
                    self.switch_master_message(c, &message);
                }
            }
        }
    }

    /// The subscription dropped: subscribe again, to the next sentinel, after Jedis's wait.
    fn listener_lost(&mut self, c: usize) {
        let Some(side) = self.clients[c].app.listener.take() else {
            return;
        };
        self.close_client_end(side.id);
        let app = &mut self.clients[c].app;
        app.listen_cursor += 1;
        if !app.listen_pending {
            app.listen_pending = true;
            let at_us = self.now_us + SUBSCRIBE_RETRY_US;
            self.schedule(at_us, Ev::ClientListen { client: c as u32 });
        }
    }

    /// ["message", "+switch-master", "<name> <old-ip> <old-port> <new-ip> <new-port>"].
    fn switch_master_message(&mut self, c: usize, message: &Value) {
        let Value::Array(items) = message else { return };
        let [Value::Bulk(kind), Value::Bulk(_channel), Value::Bulk(payload)] = items.as_slice()
        else {
            return;
        };
        if kind != b"message" {
            return;
        }
        let text = String::from_utf8_lossy(payload);
        let words: Vec<&str> = text.split(' ').collect();
        let [name, _, _, ip, port] = words.as_slice() else {
            return;
        };
        let wl = &self.workloads[self.clients[c].workload];
        let ours = wl
            .spec
            .discovery
            .as_ref()
            .is_some_and(|d| d.master_name == *name);
        if !ours {
            return;
        }
        let answer = Value::Array(vec![
            Value::Bulk(ip.as_bytes().to_vec()),
            Value::Bulk(port.as_bytes().to_vec()),
        ]);
        if let Some(host) = self.master_from_answer(&answer) {
            if host != self.clients[c].serving_host {
                self.client_move(c, host);
            }
        }
    }

    // ---- the application's machine ----

    /// Power loss of machine m: its applications die.
    pub(crate) fn kill_clients_on(&mut self, m: usize) -> bool {
        let mut any = false;
        for c in 0..self.clients.len() {
            let wl = self.clients[c].workload;
            if self.workloads[wl].machine != m || self.clients[c].app.down {
                continue;
            }
            any = true;
            let mut ids = Vec::new();
            if let ClientConn::Connected(id)
            | ClientConn::Connecting(id)
            | ClientConn::Asking(id)
            | ClientConn::Checking(id) = self.clients[c].conn
            {
                ids.push(id);
            }
            let app = &mut self.clients[c].app;
            ids.extend(app.reask.take().map(|s| s.id));
            ids.extend(app.listener.take().map(|s| s.id));
            app.down = true;
            app.paused = false;
            app.deferred.clear();
            for id in ids {
                self.vanish_client_end(id);
            }
            let client = &mut self.clients[c];
            // Outstanding and unsent operations stay unknown: nobody learns their fate.
            client.outstanding.clear();
            client.backlog.clear();
            client.readbuf.clear();
            client.conn = ClientConn::Idle;
            let label = client.label.clone();
            self.trace
                .record(self.now_us, &label, "app-down", format_args!("power loss"));
        }
        any
    }

    /// The client's end of a connection disappears without a word (power loss).
    fn vanish_client_end(&mut self, id: u64) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.ends[0].open = false;
        if !conn.ends[1].open || conn.ends[1].who == Who::Pending {
            self.conns.remove(&id);
            self.pending_connects.retain(|&p| p != id);
        }
    }

    /// The machine powers on: its applications start again.
    pub(crate) fn restart_clients_on(&mut self, m: usize) {
        for c in 0..self.clients.len() {
            let wl = self.clients[c].workload;
            if self.workloads[wl].machine != m || !self.clients[c].app.down {
                continue;
            }
            let client = &mut self.clients[c];
            client.app.down = false;
            // Like a service starting: it serves no request until it reaches its server.
            client.ever_connected = false;
            let label = client.label.clone();
            self.trace
                .record(self.now_us, &label, "app-start", format_args!("restart"));
            self.client_connect(c);
            if !self.clients[c].app.tick_pending {
                let now = self.now_us;
                let gap = self.clients[c].next_gap_us();
                self.schedule_tick(c, now + gap);
            }
        }
    }

    /// SIGSTOP / SIGCONT of every application on machine m; returns whether any changed.
    pub(crate) fn pause_clients_on(&mut self, m: usize, pause: bool) -> bool {
        let mut any = false;
        for c in 0..self.clients.len() {
            let wl = self.clients[c].workload;
            let app = &mut self.clients[c].app;
            if self.workloads[wl].machine != m || app.down || app.paused == pause {
                continue;
            }
            any = true;
            app.paused = pause;
            if !pause {
                while let Some(event) = self.clients[c].app.deferred.pop_front() {
                    self.client_event(c, event);
                    if self.clients[c].app.paused || self.clients[c].app.down {
                        break;
                    }
                }
            }
        }
        any
    }
}
