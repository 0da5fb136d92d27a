//! The network: links between machines, partitions, and TCP connections.
//!
//! A link is an ordered pair of machines with a latency (plus a small
//! seeded jitter) and a bandwidth. A send of B bytes leaves when the link is
//! free, takes B/bandwidth on the wire and arrives one latency later, never
//! before earlier data of the same connection (TCP order). Partitions hold
//! data rather than drop it: TCP retransmits, so after heal the held bytes
//! arrive in order.
//!
//! Processes on one machine talk over loopback: 1 µs each way, on no link
//! (no bandwidth shared with other machines' traffic), never partitioned.

use std::collections::{BTreeMap, VecDeque};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use redsim_engine::ConnId;

pub const DEFAULT_LATENCY_US: u64 = 200;
/// What a socket's kernel buffers hold for a sender (Linux's tcp_wmem
/// maximum, 4 MiB): a process that closes a connection loses what it had
/// written beyond this, since it never left its own buffers.
pub const SOCKET_SEND_BUFFER_BYTES: u64 = 4 * 1024 * 1024;
/// Writes larger than this travel between machines as several segments.
pub const SEGMENT_BYTES: usize = 1024 * 1024;
/// 1 Gbit/s.
pub const DEFAULT_BANDWIDTH_BYTES_PER_S: u64 = 125_000_000;

/// An override of one link's properties (ordered pair of machines).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    pub from: String,
    pub to: String,
    pub latency_us: u64,
    pub bandwidth_bytes_per_s: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkState {
    pub latency_us: u64,
    pub bandwidth_bytes_per_s: u64,
    /// When the last byte queued on this link has left the sender.
    pub free_at_us: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum PartitionRule {
    /// Group index per machine; NO_GROUP keeps all links.
    Groups(Vec<u32>),
    OneWay {
        from: usize,
        to: usize,
    },
}

pub(crate) const NO_GROUP: u32 = u32::MAX;

impl PartitionRule {
    pub(crate) fn blocks(&self, from: usize, to: usize) -> bool {
        match self {
            PartitionRule::Groups(groups) => {
                let (a, b) = (groups[from], groups[to]);
                a != NO_GROUP && b != NO_GROUP && a != b
            }
            PartitionRule::OneWay { from: f, to: t } => *f == from && *t == to,
        }
    }
}

pub(crate) struct Network {
    links: BTreeMap<(u32, u32), LinkState>,
    pub rules: Vec<PartitionRule>,
    rng: ChaCha8Rng,
}

impl Network {
    pub fn new(rng: ChaCha8Rng) -> Network {
        Network {
            links: BTreeMap::new(),
            rules: Vec::new(),
            rng,
        }
    }

    fn link(&mut self, from: usize, to: usize) -> &mut LinkState {
        self.links
            .entry((from as u32, to as u32))
            .or_insert(LinkState {
                latency_us: DEFAULT_LATENCY_US,
                bandwidth_bytes_per_s: DEFAULT_BANDWIDTH_BYTES_PER_S,
                free_at_us: 0,
            })
    }

    /// Sets a link's latency and/or bandwidth; returns whether anything changed.
    pub fn set_link(
        &mut self,
        from: usize,
        to: usize,
        latency_us: Option<u64>,
        bandwidth: Option<u64>,
    ) -> bool {
        let link = self.link(from, to);
        let before = (link.latency_us, link.bandwidth_bytes_per_s);
        if let Some(l) = latency_us {
            link.latency_us = l;
        }
        if let Some(b) = bandwidth {
            assert!(b > 0);
            link.bandwidth_bytes_per_s = b;
        }
        before != (link.latency_us, link.bandwidth_bytes_per_s)
    }

    pub fn blocked(&self, from: usize, to: usize) -> bool {
        from != to && self.rules.iter().any(|r| r.blocks(from, to))
    }

    /// One-way delay of a small control packet (SYN, RST), with jitter.
    pub fn packet_delay_us(&mut self, from: usize, to: usize) -> u64 {
        if from == to {
            return 1;
        }
        let latency_us = self.link(from, to).latency_us;
        latency_us + self.jitter_us(latency_us)
    }

    fn jitter_us(&mut self, latency_us: u64) -> u64 {
        // Up to 5% of the latency: enough to reorder independent connections.
        let max = latency_us / 20;
        if max == 0 {
            0
        } else {
            self.rng.gen_range(0..=max)
        }
    }

    /// When `bytes` sent now from `from` to `to` arrive, ignoring the
    /// connection's order (the caller applies that). Occupies the link.
    pub fn transmit(&mut self, from: usize, to: usize, bytes: usize, now_us: u64) -> (u64, u64) {
        if from == to {
            return (now_us, now_us + 1);
        }
        let link = self.link(from, to);
        let wire_us = (bytes as u64 * 1_000_000).div_ceil(link.bandwidth_bytes_per_s);
        let leave_us = now_us.max(link.free_at_us) + wire_us;
        link.free_at_us = leave_us;
        let latency_us = link.latency_us;
        (leave_us, leave_us + latency_us + self.jitter_us(latency_us))
    }

    /// A sender closed its end: of the bytes queued on the link, those that
    /// would leave later than one full send buffer from now were still in
    /// the process's own buffers, and go with it. Trims them off the back of
    /// `segments`, gives their wire time back to the link when they were its
    /// tail, and returns how many bytes were dropped.
    pub(crate) fn drop_unsent(
        &mut self,
        from: usize,
        to: usize,
        segments: &mut VecDeque<Segment>,
        now_us: u64,
    ) -> u64 {
        if from == to {
            return 0;
        }
        let link = self.link(from, to);
        let bw = link.bandwidth_bytes_per_s;
        let horizon_us = now_us + (SOCKET_SEND_BUFFER_BYTES * 1_000_000).div_ceil(bw);
        let mut dropped = 0u64;
        let tail_leave_us = segments.back().map(|s| s.leave_us);
        while let Some(seg) = segments.back_mut() {
            if seg.leave_us <= horizon_us {
                break;
            }
            let Payload::Data(bytes) = &mut seg.payload else {
                break;
            };
            let late = ((seg.leave_us - horizon_us) * bw / 1_000_000) as usize;
            if late >= bytes.len() {
                dropped += bytes.len() as u64;
                segments.pop_back();
                continue;
            }
            dropped += late as u64;
            bytes.truncate(bytes.len() - late);
            seg.at_us -= seg.leave_us - horizon_us;
            seg.leave_us = horizon_us;
            break;
        }
        if dropped > 0 && tail_leave_us == Some(link.free_at_us) {
            let wire_us = dropped * 1_000_000 / bw;
            link.free_at_us = link.free_at_us.saturating_sub(wire_us).max(now_us);
        }
        dropped
    }
}

/// What travels on a stream.
#[derive(Debug)]
pub(crate) enum Payload {
    Data(Vec<u8>),
    /// The sender closed its side (FIN), after all its data.
    Fin,
}

#[derive(Debug)]
pub(crate) struct Segment {
    /// When its last byte left the sender.
    pub leave_us: u64,
    pub at_us: u64,
    pub payload: Payload,
}

/// One direction of a connection: a FIFO of segments in flight.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    pub segments: VecDeque<Segment>,
    /// Arrival time of the last queued segment (arrivals never reorder).
    pub last_at_us: u64,
    /// A StreamDue event is scheduled for the front segment.
    pub armed: bool,
}

/// Who sits at one end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    /// An engine; `incarnation` tells a restarted process from the old one.
    Node {
        host: usize,
        conn: ConnId,
        incarnation: u32,
    },
    Client {
        client: usize,
    },
    /// The acceptor before the SYN arrived.
    Pending,
}

#[derive(Debug)]
pub(crate) struct End {
    pub machine: usize,
    pub who: Who,
    /// This side has not closed.
    pub open: bool,
}

/// A TCP connection: ends[0] dialled ends[1]; streams[i] carries data from
/// ends[i] to the other end.
#[derive(Debug)]
pub(crate) struct Conn {
    pub ends: [End; 2],
    pub streams: [Stream; 2],
    pub port: u16,
    pub established: bool,
}

// ---- connections, as the world moves them ----

use crate::client::app::ClientInput;
use crate::host::HostInput;
use crate::world::{Ev, World};

impl World {
    /// Records a trace line under the name of one end of a connection.
    fn trace_end(&mut self, who: Who, machine: usize, kind: &str, detail: std::fmt::Arguments<'_>) {
        let label: &str = match who {
            Who::Node { host, .. } => &self.hosts[host].name,
            Who::Client { client } => &self.clients[client].label,
            Who::Pending => &self.machines[machine].name,
        };
        self.trace.record(self.now_us, label, kind, detail);
    }

    /// Dials `port` on machine `to` from `who` on machine `from`: the SYN
    /// leaves now. Returns the connection id.
    pub(crate) fn open_conn(&mut self, from: usize, who: Who, to: usize, port: u16) -> u64 {
        let now = self.now_us;
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        let ends = [
            End {
                machine: from,
                who,
                open: true,
            },
            End {
                machine: to,
                who: Who::Pending,
                open: true,
            },
        ];
        self.conns.insert(
            id,
            Conn {
                ends,
                streams: Default::default(),
                port,
                established: false,
            },
        );
        let delay_us = self.net.packet_delay_us(from, to);
        self.schedule(now + delay_us, Ev::SynArrive { conn: id });
        let to_name = self.machines[to].name.clone();
        self.trace_end(
            who,
            from,
            "connect",
            format_args!("conn={} to={}:{}", id, to_name, port),
        );
        id
    }

    /// The SYN reaches the target machine: its kernel accepts for the
    /// process listening on the port (the engine hears Accepted, even while
    /// paused) or, with no such process, answers RST; a partition holds the
    /// SYN until heal.
    pub(crate) fn syn_arrive(&mut self, id: u64) {
        let now = self.now_us;
        let Some(c) = self.conns.get(&id) else { return };
        let (a, b) = (c.ends[0].machine, c.ends[1].machine);
        if self.net.blocked(a, b) || self.net.blocked(b, a) {
            self.pending_connects.push(id);
            return;
        }
        let local_port = c.port;
        let listener = self.listener(b, local_port);
        let delay_us = self.net.packet_delay_us(b, a);
        self.schedule(
            now + delay_us,
            Ev::ConnectReply {
                conn: id,
                ok: listener.is_some(),
            },
        );
        let Some(h) = listener else { return };
        let peer = format!("{}:{}", self.machines[a].ip, 32768 + id % 28000);
        let host = &mut self.hosts[h];
        let conn = host.new_accept_id();
        host.conns.insert(conn, id);
        let incarnation = host.incarnation;
        let c = self.conns.get_mut(&id).expect("checked");
        c.ends[1].who = Who::Node {
            host: h,
            conn,
            incarnation,
        };
        // Whatever the acceptor sends travels behind its SYN-ACK.
        c.streams[1].last_at_us = now + delay_us;
        self.trace.record(
            now,
            &host.name,
            "accept",
            format_args!("conn={} id={} peer={}", id, conn.0, peer),
        );
        host.push_input(
            now,
            HostInput::Accepted {
                conn,
                peer,
                local_port,
            },
        );
        self.host_run(h);
    }

    /// The live process of machine m that listens on `port` (its kernel
    /// accepts for it even while it is paused), if any.
    fn listener(&self, m: usize, port: u16) -> Option<usize> {
        self.machines[m]
            .procs
            .iter()
            .copied()
            .find(|&h| self.hosts[h].is_up() && self.hosts[h].ports.contains(&port))
    }

    /// SYN-ACK (or RST) reaches the dialler.
    pub(crate) fn connect_reply(&mut self, id: u64, ok: bool) {
        let now = self.now_us;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let (who, machine) = (c.ends[0].who, c.ends[0].machine);
        if !c.ends[0].open {
            return;
        }
        if ok {
            c.established = true;
        } else {
            self.conns.remove(&id);
        }
        let kind = if ok { "connected" } else { "connect-failed" };
        self.trace_end(who, machine, kind, format_args!("conn={}", id));
        match who {
            Who::Node {
                host,
                conn,
                incarnation,
            } => {
                if self.hosts[host].incarnation != incarnation {
                    return;
                }
                let input = if ok {
                    HostInput::Connected { conn }
                } else {
                    self.hosts[host].conns.remove(&conn);
                    HostInput::ConnectFailed { conn }
                };
                self.hosts[host].push_input(now, input);
                self.host_run(host);
            }
            Who::Client { client } => {
                let input = if ok {
                    ClientInput::Connected(id)
                } else {
                    ClientInput::Lost(id)
                };
                self.client_input(client, input);
            }
            Who::Pending => unreachable!("the dialler is never pending"),
        }
    }

    /// Sends on a connection from end `from`. A peer process that died
    /// loses the bytes; one whose node restarted answers with RST.
    pub(crate) fn conn_send(&mut self, id: u64, from: usize, payload: Payload) {
        let now = self.now_us;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let to = 1 - from;
        if let Who::Node {
            host, incarnation, ..
        } = c.ends[to].who
        {
            if self.hosts[host].incarnation != incarnation {
                let restarted = self.hosts[host].is_up();
                if restarted {
                    let (a, b) = (c.ends[from].machine, c.ends[to].machine);
                    let rtt_us = self.net.packet_delay_us(a, b) + self.net.packet_delay_us(b, a);
                    self.schedule(
                        now + rtt_us,
                        Ev::Reset {
                            conn: id,
                            end: from as u8,
                        },
                    );
                } else if matches!(payload, Payload::Fin) {
                    self.conns.remove(&id);
                } else if !self.hosts[host].unacked_peers.contains(&id) {
                    // TCP retransmits into the void until the machine is
                    // back; then its kernel answers with RST.
                    self.hosts[host].unacked_peers.push(id);
                }
                return;
            }
        }
        let (a, b) = (c.ends[from].machine, c.ends[to].machine);
        if let Payload::Data(bytes) = &payload {
            if a != b && bytes.len() > SEGMENT_BYTES {
                // A large write (an RDB) reaches the peer piece by piece as it
                // crosses the wire, not all at once when its last byte lands.
                let Payload::Data(bytes) = payload else {
                    unreachable!("matched above")
                };
                for chunk in bytes.chunks(SEGMENT_BYTES) {
                    self.conn_send(id, from, Payload::Data(chunk.to_vec()));
                }
                return;
            }
        }
        let bytes = match &payload {
            Payload::Data(b) => b.len(),
            Payload::Fin => 0,
        };
        let (leave_us, arrive_us) =
            self.net
                .transmit(c.ends[from].machine, c.ends[to].machine, bytes, now);
        let stream = &mut c.streams[from];
        let at_us = arrive_us.max(stream.last_at_us);
        stream.last_at_us = at_us;
        stream.segments.push_back(Segment {
            leave_us,
            at_us,
            payload,
        });
        if !stream.armed {
            stream.armed = true;
            self.schedule(
                at_us,
                Ev::StreamDue {
                    conn: id,
                    dir: from as u8,
                },
            );
        }
    }

    /// Delivers every due segment of one direction, unless a partition
    /// holds them.
    pub(crate) fn stream_due(&mut self, id: u64, dir: usize) {
        let now = self.now_us;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.streams[dir].armed = false;
        if self
            .net
            .blocked(c.ends[dir].machine, c.ends[1 - dir].machine)
        {
            return;
        }
        loop {
            let Some(c) = self.conns.get_mut(&id) else {
                return;
            };
            let stream = &mut c.streams[dir];
            let Some(front_us) = stream.segments.front().map(|s| s.at_us) else {
                return;
            };
            if front_us > now {
                stream.armed = true;
                self.schedule(
                    front_us,
                    Ev::StreamDue {
                        conn: id,
                        dir: dir as u8,
                    },
                );
                return;
            }
            let segment = stream.segments.pop_front().expect("front exists");
            self.deliver(id, 1 - dir, segment.payload);
        }
    }

    fn deliver(&mut self, id: u64, to: usize, payload: Payload) {
        let now = self.now_us;
        let c = self
            .conns
            .get_mut(&id)
            .expect("delivering on a live connection");
        let who = c.ends[to].who;
        if !c.ends[to].open {
            // Bytes for a socket its owner closed are dropped on arrival.
            return;
        }
        if matches!(payload, Payload::Fin) {
            c.ends[to].open = false;
            if !c.ends[1 - to].open {
                self.conns.remove(&id);
            }
        }
        match who {
            Who::Node {
                host,
                conn,
                incarnation,
            } => {
                if self.hosts[host].incarnation != incarnation {
                    return;
                }
                let h = &mut self.hosts[host];
                let input = match payload {
                    Payload::Data(bytes) => {
                        self.trace.record_fields(
                            now,
                            &h.name,
                            "recv",
                            "",
                            &[("conn", id), ("bytes", bytes.len() as u64)],
                        );
                        HostInput::Data { conn, bytes }
                    }
                    Payload::Fin => {
                        self.trace
                            .record(now, &h.name, "closed", format_args!("conn={}", id));
                        h.conns.remove(&conn);
                        HostInput::Closed { conn }
                    }
                };
                h.push_input(now, input);
                self.host_run(host);
            }
            Who::Client { client } => match payload {
                Payload::Data(bytes) => self.client_input(client, ClientInput::Data(id, bytes)),
                Payload::Fin => {
                    self.trace.record(
                        now,
                        &self.clients[client].label,
                        "closed",
                        format_args!("conn={}", id),
                    );
                    self.client_input(client, ClientInput::Lost(id));
                }
            },
            Who::Pending => {}
        }
    }

    /// An RST from a restarted node reaches end `end`: its connection is gone.
    pub(crate) fn reset_arrive(&mut self, id: u64, end: usize) {
        let now = self.now_us;
        let Some(c) = self.conns.remove(&id) else {
            return;
        };
        let e = &c.ends[end];
        if !e.open {
            return;
        }
        let (who, machine) = (e.who, e.machine);
        self.trace_end(who, machine, "reset", format_args!("conn={}", id));
        match e.who {
            Who::Node {
                host,
                conn,
                incarnation,
            } => {
                if self.hosts[host].incarnation != incarnation {
                    return;
                }
                self.hosts[host].conns.remove(&conn);
                self.hosts[host].push_input(now, HostInput::Closed { conn });
                self.host_run(host);
            }
            Who::Client { client } => self.client_input(client, ClientInput::Lost(id)),
            Who::Pending => {}
        }
    }

    /// The engine closed a connection: a FIN follows its data. Closing a
    /// connect that the target has not accepted yet just cancels it.
    pub(crate) fn host_close(&mut self, h: usize, conn: ConnId) {
        let now = self.now_us;
        let Some(id) = self.hosts[h].conns.remove(&conn) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let end = if matches!(c.ends[0].who, Who::Node { host, conn: cid, .. } if host == h && cid == conn)
        {
            0
        } else {
            1
        };
        self.trace.record(
            now,
            &self.hosts[h].name,
            "close",
            format_args!("conn={}", id),
        );
        if c.ends[1].who == Who::Pending {
            self.conns.remove(&id);
            self.pending_connects.retain(|&p| p != id);
            return;
        }
        c.ends[end].open = false;
        if !c.ends[1 - end].open {
            self.conns.remove(&id);
            return;
        }
        let (from, to) = (c.ends[end].machine, c.ends[1 - end].machine);
        let stream = &mut c.streams[end];
        let dropped = self.net.drop_unsent(from, to, &mut stream.segments, now);
        if dropped > 0 {
            stream.last_at_us = stream.segments.back().map_or(now, |s| s.at_us);
            let front_us = stream.segments.front().map(|s| s.at_us);
            self.trace.record(
                now,
                &self.hosts[h].name,
                "unsent-dropped",
                format_args!("conn={} bytes={}", id, dropped),
            );
            // A cut segment arrives earlier than the delivery already scheduled.
            if let Some(at_us) = front_us {
                self.schedule(
                    at_us,
                    Ev::StreamDue {
                        conn: id,
                        dir: end as u8,
                    },
                );
            }
        }
        self.conn_send(id, end, Payload::Fin);
    }

    /// The engine wrote bytes to a connection.
    pub(crate) fn host_send(&mut self, h: usize, conn: ConnId, bytes: Vec<u8>) {
        let Some(&id) = self.hosts[h].conns.get(&conn) else {
            return;
        };
        let Some(c) = self.conns.get(&id) else { return };
        let end = if matches!(c.ends[0].who, Who::Node { host, conn: cid, .. } if host == h && cid == conn)
        {
            0
        } else {
            1
        };
        if !c.ends[end].open {
            return;
        }
        self.conn_send(id, end, Payload::Data(bytes));
    }

    /// After heal: held segments leave again (as TCP retransmits them) in
    /// order, and held connects proceed.
    pub(crate) fn release_held(&mut self) {
        let now = self.now_us;
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.streams.iter().any(|s| !s.armed && !s.segments.is_empty()))
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            for dir in 0..2 {
                let c = self.conns.get_mut(&id).expect("listed");
                let (from, to) = (c.ends[dir].machine, c.ends[1 - dir].machine);
                if c.streams[dir].armed || c.streams[dir].segments.is_empty() {
                    continue;
                }
                let earliest_us = now + self.net.packet_delay_us(from, to);
                let stream = &mut c.streams[dir];
                let mut last_us = earliest_us;
                for segment in stream.segments.iter_mut() {
                    segment.at_us = segment.at_us.max(last_us);
                    last_us = segment.at_us;
                }
                stream.last_at_us = stream.last_at_us.max(last_us);
                stream.armed = true;
                let first_us = stream.segments.front().expect("not empty").at_us;
                self.schedule(
                    first_us,
                    Ev::StreamDue {
                        conn: id,
                        dir: dir as u8,
                    },
                );
            }
        }
        for id in std::mem::take(&mut self.pending_connects) {
            let Some(c) = self.conns.get(&id) else {
                continue;
            };
            let delay_us = self
                .net
                .packet_delay_us(c.ends[0].machine, c.ends[1].machine);
            self.schedule(now + delay_us, Ev::SynArrive { conn: id });
        }
    }
}

#[cfg(test)]
mod tests {
    //! Engine-initiated connections (Output::Connect), driven directly: the
    //! engine's replication is what will issue them.

    use redsim_engine::{resp, ConnId};

    use crate::faults::Fault;
    use crate::machine::MachineSpec;
    use crate::world::{NodeSpec, World, WorldSpec};

    fn two_nodes() -> World {
        let node = |name: &str| NodeSpec {
            name: name.into(),
            machine: MachineSpec::default(),
            config_lines: vec![],
            machine_name: None,
            sentinel: false,
        };
        let mut w = World::new(WorldSpec {
            seed: 11,
            nodes: vec![node("m1"), node("m2")],
            ..WorldSpec::default()
        })
        .unwrap();
        w.keep_trace_lines();
        // Both processes are up once the seeded boot window has passed.
        w.run_until(crate::world::BOOT_SPREAD_US);
        w
    }

    fn outbound(n: u64) -> ConnId {
        ConnId(ConnId::OUTBOUND_BIT | n)
    }

    fn lines_with(w: &World, needle: &str) -> usize {
        w.trace_lines()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    #[test]
    fn outbound_connect_by_name_or_ip_carries_bytes_both_ways() {
        let mut w = two_nodes();
        w.host_connect(0, outbound(1), "m2", 6379);
        w.run_until(crate::world::BOOT_SPREAD_US + 2_000);
        assert_eq!(lines_with(&w, "m1 connected conn=1"), 1);
        assert_eq!(lines_with(&w, "m2 accept conn=1 id=1 peer=10.0.0.1:"), 1);
        w.host_send(0, outbound(1), resp::encode_command(&["PING"]));
        w.run_until(crate::world::BOOT_SPREAD_US + 4_000);
        assert_eq!(w.engine("m2").unwrap().server().stats.net_input_bytes, 14);
        // "+PONG\r\n" came back to the dialler.
        assert_eq!(w.engine("m1").unwrap().server().stats.net_input_bytes, 7);
        w.host_connect(0, outbound(2), "10.0.0.2", 6379);
        w.run_until(crate::world::BOOT_SPREAD_US + 6_000);
        assert_eq!(w.engine("m2").unwrap().server().clients.len(), 2);
        w.host_close(0, outbound(2));
        w.run_until(crate::world::BOOT_SPREAD_US + 8_000);
        assert_eq!(w.engine("m2").unwrap().server().clients.len(), 1);
        // A wrong port is refused after one round trip.
        w.host_connect(0, outbound(3), "m2", 7000);
        w.run_until(crate::world::BOOT_SPREAD_US + 10_000);
        assert_eq!(lines_with(&w, "m1 connect-failed conn=3"), 1);
    }

    #[test]
    fn outbound_connect_fails_to_a_dead_node_and_waits_out_a_partition() {
        let mut w = two_nodes();
        w.schedule_fault(0, Fault::Kill { node: "m2".into() })
            .unwrap();
        w.run_until(crate::world::BOOT_SPREAD_US + 1);
        w.host_connect(0, outbound(1), "m2", 6379);
        w.run_until(crate::world::BOOT_SPREAD_US + 1_000);
        assert_eq!(lines_with(&w, "m1 connect-failed conn=1"), 1);

        w.schedule_fault(
            crate::world::BOOT_SPREAD_US + 1_000,
            Fault::Restart { node: "m2".into() },
        )
        .unwrap();
        let groups = vec![vec!["m1".to_string()], vec!["m2".to_string()]];
        w.schedule_fault(
            crate::world::BOOT_SPREAD_US + 1_000,
            Fault::Partition { groups },
        )
        .unwrap();
        w.schedule_fault(crate::world::BOOT_SPREAD_US + 50_000, Fault::Heal)
            .unwrap();
        w.run_until(crate::world::BOOT_SPREAD_US + 2_000);
        w.host_connect(0, outbound(2), "m2", 6379);
        w.host_connect(0, outbound(3), "m2", 6379);
        w.run_until(crate::world::BOOT_SPREAD_US + 40_000);
        assert_eq!(lines_with(&w, " accept conn="), 0, "the SYN waits for heal");
        // Closing a pending connect cancels it.
        w.host_close(0, outbound(3));
        w.run_until(crate::world::BOOT_SPREAD_US + 60_000);
        assert_eq!(lines_with(&w, "m2 accept conn=2 "), 1);
        assert_eq!(lines_with(&w, "m2 accept conn=3 "), 0);
        assert_eq!(lines_with(&w, "m1 connected conn=2"), 1);
        assert_eq!(w.engine("m2").unwrap().server().clients.len(), 1);
    }
}
