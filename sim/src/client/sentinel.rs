//! Discovery for Sentinel-aware clients, as redis-py's Sentinel and Jedis's
//! JedisSentinelPool do it: ask the sentinels in turn with SENTINEL
//! get-master-addr-by-name (a refused, reset or silent sentinel means: ask the
//! next one), connect to the answer, check with ROLE that it is the master, and
//! only then send operations. Operations generated meanwhile queue in the
//! backlog, as they do while a plain client connects.

use redsim_engine::resp::{self, Value};

use super::plain::ClientConn;
use crate::network::{Payload, Who};
use crate::world::{Ev, World};

/// How long a discovery step (a sentinel's answer, the ROLE check) may take when the workload
/// sets no `timeout_ms`: the harness's choice, so a silent sentinel cannot stall a client.
const DISCOVERY_TIMEOUT_MS: u64 = 1000;

impl World {
    /// Dials the next sentinel of the client's workload.
    pub(crate) fn client_ask_sentinel(&mut self, c: usize) {
        let wl = &self.workloads[self.clients[c].workload];
        let sentinels = &wl.sentinel_hosts;
        let sentinel = sentinels[self.clients[c].sentinel_cursor % sentinels.len()];
        let (from, to, port) = (
            wl.machine,
            self.hosts[sentinel].machine,
            self.hosts[sentinel].port,
        );
        let id = self.open_conn(from, Who::Client { client: c }, to, port);
        self.clients[c].conn = ClientConn::Asking(id);
        self.schedule_discovery_timeout(c, id);
    }

    pub(crate) fn schedule_discovery_timeout(&mut self, c: usize, id: u64) {
        let wl = &self.workloads[self.clients[c].workload];
        let timeout_ms = wl.spec.timeout_ms.unwrap_or(DISCOVERY_TIMEOUT_MS);
        let at_us = self.now_us + timeout_ms * 1000;
        self.schedule(
            at_us,
            Ev::ClientDiscoveryTimeout {
                client: c as u32,
                conn: id,
            },
        );
    }

    /// A discovery connection is up: ask the sentinel, or ask the candidate its ROLE.
    pub(crate) fn client_discovery_connected(&mut self, c: usize, id: u64) {
        let request = match self.clients[c].conn {
            ClientConn::Asking(_) => {
                let wl = &self.workloads[self.clients[c].workload];
                let name = &wl.spec.discovery.as_ref().expect("discovery").master_name;
                resp::encode_command(&[
                    b"SENTINEL".as_slice(),
                    b"get-master-addr-by-name",
                    name.as_bytes(),
                ])
            }
            _ => resp::encode_command(&[b"ROLE".as_slice()]),
        };
        self.conn_send(id, 0, Payload::Data(request));
    }

    /// The answer of a sentinel or of the ROLE check.
    pub(crate) fn client_discovery_data(&mut self, c: usize, id: u64, bytes: &[u8]) {
        let client = &mut self.clients[c];
        client.readbuf.extend_from_slice(bytes);
        let value = match resp::parse_reply(&client.readbuf) {
            Ok(None) => return,
            Ok(Some((value, _))) => value,
            Err(_) => return self.client_abort(c),
        };
        client.readbuf.clear();
        match client.conn {
            ClientConn::Asking(_) => match self.master_from_answer(&value) {
                Some(host) => {
                    self.close_client_end(id);
                    self.clients[c].serving_host = host;
                    self.client_check_role(c);
                }
                None => self.client_abort(c),
            },
            _ => {
                let is_master = matches!(&value, Value::Array(items)
                    if matches!(items.first(), Some(Value::Bulk(role)) if role == b"master"));
                if is_master {
                    self.client_connected_checked(c, id);
                } else {
                    self.client_abort(c);
                }
            }
        }
    }

    /// The node a get-master-addr-by-name answer names: ["ip", "port"].
    pub(crate) fn master_from_answer(&self, value: &Value) -> Option<usize> {
        let Value::Array(items) = value else {
            return None;
        };
        let [Value::Bulk(ip), Value::Bulk(port)] = items.as_slice() else {
            return None;
        };
        let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
        self.hosts.iter().position(|h| {
            !h.sentinel && h.port == port && self.machines[h.machine].ip.as_bytes() == ip.as_slice()
        })
    }

    pub(crate) fn client_check_role(&mut self, c: usize) {
        let wl = &self.workloads[self.clients[c].workload];
        let target = &self.hosts[self.clients[c].serving_host];
        let (from, to, port) = (wl.machine, target.machine, target.port);
        let id = self.open_conn(from, Who::Client { client: c }, to, port);
        self.clients[c].conn = ClientConn::Checking(id);
        self.schedule_discovery_timeout(c, id);
    }

    /// Closes the client's end of a connection it no longer needs.
    pub(crate) fn close_client_end(&mut self, id: u64) {
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.ends[0].open = false;
            if conn.ends[1].open && conn.ends[1].who != Who::Pending {
                self.conn_send(id, 0, Payload::Fin);
            } else {
                self.conns.remove(&id);
            }
        }
    }

    /// A discovery step took too long: give up on it and ask the next sentinel.
    pub(crate) fn client_discovery_timeout(&mut self, c: usize, id: u64) {
        if self.reask_timeout(c, id) {
            return;
        }
        if let ClientConn::Asking(now) | ClientConn::Checking(now) = self.clients[c].conn {
            if now == id {
                self.client_abort(c);
            }
        }
    }
}
