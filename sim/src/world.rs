//! The world: a deterministic discrete-event simulator driving engines.
//!
//! This follows the madsim model (one seeded scheduler owns time and every
//! source of nondeterminism) without its async runtime: the engine is
//! sans-IO, so the world is a single-threaded queue of events keyed by
//! (virtual time µs, sequence number). Ties run in scheduling order, so a
//! run is a pure function of the seed.
//!
//! Architecture Invariant: nothing here reads a wall clock, spawns a
//! thread, reads the environment or iterates a HashMap. Every random draw
//! comes from a ChaCha8Rng on its own stream of the run's seed.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use redsim_engine::{resp, Config, LogLevel, LogLine, MachineInfo, Output};

use crate::client::app::ClientEvent;
use crate::client::plain::PlainClient;
use crate::client::{self, Workload, WorkloadSpec};
use crate::clock::NodeClock;
use crate::disk::Disk;
use crate::faults::Fault;
use crate::history::{History, HistorySummary};
use crate::host::{Host, HostInput};
use crate::machine::{Machine, MachineSpec, MachineState, MachineStats, MemoryState};
use crate::network::{Conn, LinkSpec, Network};
use crate::trace::{emit_log, format_redis_log, NotableEvent, Trace};

/// RNG streams of the run's seed, one per purpose.
const STREAM_WORLD: u64 = 0;
const STREAM_NETWORK: u64 = 1;
const STREAM_BOOT: u64 = 2;
/// The boot window scenarios use (see [`WorldSpec::boot_spread_us`]).
pub const BOOT_SPREAD_US: u64 = 1_000_000;
const STREAM_NODE_BASE: u64 = 1 << 20;
const STREAM_CLIENT_BASE: u64 = 1 << 40;
const STREAM_DISK_BASE: u64 = 1 << 30;

/// A client whose connection dropped dials again after this long.
pub const RECONNECT_DELAY_US: u64 = 100_000;

/// One process of the world (today a redis-server) and the machine it runs on.
#[derive(Debug, Clone, Default)]
pub struct NodeSpec {
    pub name: String,
    /// The machine's hardware. Nodes that share a machine give the same spec.
    pub machine: MachineSpec,
    /// redis.conf lines, verbatim.
    pub config_lines: Vec<String>,
    /// The machine the process runs on; None: a machine of its own, named like the node.
    /// Several nodes may name one machine: they share its cores, RAM, disk and clock.
    pub machine_name: Option<String>,
    /// Runs redis-sentinel (redis-server --sentinel) instead of redis-server;
    /// `config_lines` are then its sentinel.conf.
    pub sentinel: bool,
}

#[derive(Debug, Clone, Default)]
pub struct WorldSpec {
    pub seed: u64,
    pub nodes: Vec<NodeSpec>,
    /// Machines for workload clients (a workload's `on`). A name that is already a machine (or
    /// a node, standing for its machine) is not added again. "client" (linked to every node)
    /// is always there.
    pub client_machines: Vec<String>,
    pub links: Vec<LinkSpec>,
    /// Nodes boot at seeded times in [0, boot_spread_us), so each process's
    /// serverCron (and its 1 Hz replicationCron) has its own phase against
    /// the whole-second clock, as separately started processes do. 0 boots
    /// every node at time 0.
    pub boot_spread_us: u64,
}

/// What can happen at a virtual time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ev {
    StreamDue {
        conn: u64,
        dir: u8,
    },
    SynArrive {
        conn: u64,
    },
    ConnectReply {
        conn: u64,
        ok: bool,
    },
    Reset {
        conn: u64,
        end: u8,
    },
    HostWake {
        host: u32,
    },
    HostTimer {
        host: u32,
        gen: u64,
    },
    ClientTick {
        client: u32,
    },
    ClientReconnect {
        client: u32,
    },
    ClientTimeout {
        client: u32,
        op: u64,
    },
    /// A Sentinel-aware client with `reask_ms` asks the sentinels again.
    ClientReask {
        client: u32,
    },
    /// A client with `follow = "pubsub"` subscribes again after its subscription dropped.
    ClientListen {
        client: u32,
    },
    /// A Sentinel-aware client gave a discovery connection (to a sentinel, or the ROLE check)
    /// this long to answer.
    ClientDiscoveryTimeout {
        client: u32,
        conn: u64,
    },
    Fault {
        index: u32,
    },
    Admin {
        index: u32,
    },
    HostBoot {
        host: u32,
    },
    /// A device I/O of a machine's disk completes.
    DiskDone {
        machine: u32,
        io: u64,
    },
    /// The kernel's flusher thread wakes on a machine.
    Flusher {
        machine: u32,
    },
    /// A child's CPU chunk ends.
    ChildWake {
        host: u32,
        child: u64,
    },
}

type Scheduled = crate::queue::Scheduled<Ev>;

pub struct World {
    pub(crate) seed: u64,
    pub(crate) now_us: u64,
    seq: u64,
    queue: crate::queue::EventQueue<Ev>,
    pub(crate) machines: Vec<Machine>,
    /// disks[i] is machines[i]'s disk.
    pub(crate) disks: Vec<Disk>,
    /// Machine names, IPs and node names (a node stands for its machine) -> machine index.
    names: BTreeMap<String, usize>,
    /// Processes (nodes): hosts[i] runs on machines[hosts[i].machine].
    pub(crate) hosts: Vec<Host>,
    /// Node names -> host index.
    host_names: BTreeMap<String, usize>,
    pub(crate) net: Network,
    pub(crate) conns: BTreeMap<u64, Conn>,
    pub(crate) next_conn_id: u64,
    /// Connects waiting for a partition to heal.
    pub(crate) pending_connects: Vec<u64>,
    pub(crate) workloads: Vec<Workload>,
    pub(crate) clients: Vec<PlainClient>,
    pub(crate) history: History,
    pub(crate) trace: Trace,
    pub(crate) faults: Vec<Fault>,
    admins: Vec<(usize, Vec<Vec<u8>>)>,
    pub(crate) faults_fired: BTreeMap<String, u64>,
    events_processed: u64,
}

/// A ChaCha8Rng on stream `stream` of `seed`.
pub(crate) fn rng_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

impl World {
    pub fn new(spec: WorldSpec) -> Result<World, String> {
        let phase_us = rng_stream(spec.seed, STREAM_WORLD).gen_range(0..1_000_000);
        let mut world = World {
            seed: spec.seed,
            now_us: 0,
            seq: 0,
            queue: Default::default(),
            machines: Vec::new(),
            disks: Vec::new(),
            names: BTreeMap::new(),
            hosts: Vec::new(),
            host_names: BTreeMap::new(),
            net: Network::new(rng_stream(spec.seed, STREAM_NETWORK)),
            conns: BTreeMap::new(),
            next_conn_id: 1,
            pending_connects: Vec::new(),
            workloads: Vec::new(),
            clients: Vec::new(),
            history: History::default(),
            trace: Trace::default(),
            faults: Vec::new(),
            admins: Vec::new(),
            faults_fired: BTreeMap::new(),
            events_processed: 0,
        };
        for node in &spec.nodes {
            world.add_node(node, phase_us)?;
        }
        world.give_shared_machines_dirs()?;
        for (h, node) in spec.nodes.iter().enumerate() {
            if node.sentinel {
                // Sentinel reads its config file and rewrites it: it lives on the machine's disk.
                let mut text = node.config_lines.join("\n");
                text.push('\n');
                let host = &world.hosts[h];
                let path = format!(
                    "{}{}",
                    host.dir_prefix,
                    redsim_engine::sentinel::CONFIG_FILE
                );
                world.disks[host.machine].install(&path, text.into_bytes());
            }
        }
        let mut client_machines = spec.client_machines.clone();
        if !client_machines.iter().any(|m| m == "client") {
            client_machines.push("client".into());
        }
        for name in &client_machines {
            if !world.names.contains_key(name) {
                world.add_machine(name, MachineSpec::default())?;
            }
        }
        for link in &spec.links {
            let (from, to) = (
                world.machine_index(&link.from)?,
                world.machine_index(&link.to)?,
            );
            world.net.set_link(
                from,
                to,
                Some(link.latency_us),
                Some(link.bandwidth_bytes_per_s),
            );
        }
        // Machine names and node names (standing for their machines) resolve to the machine's IP.
        let mut hosts: BTreeMap<String, String> = world
            .machines
            .iter()
            .map(|m| (m.name.clone(), m.ip.clone()))
            .collect();
        for host in &world.hosts {
            hosts.insert(host.name.clone(), world.machines[host.machine].ip.clone());
        }
        for host in &mut world.hosts {
            host.hosts = hosts.clone();
        }
        let mut boot_rng = rng_stream(spec.seed, STREAM_BOOT);
        for h in 0..world.hosts.len() {
            let boot_us = if spec.boot_spread_us > 0 {
                boot_rng.gen_range(0..spec.boot_spread_us)
            } else {
                0
            };
            world.schedule(boot_us, Ev::HostBoot { host: h as u32 });
        }
        Ok(world)
    }

    /// Adds a node's process, on its machine (created by its first node).
    fn add_node(&mut self, node: &NodeSpec, phase_us: u64) -> Result<(), String> {
        let config = Config::from_conf_lines(&node.config_lines).map_err(|(line, e)| {
            format!(
                "node '{}': config line {} ({:?}): {}",
                node.name,
                line,
                node.config_lines[line - 1],
                e
            )
        })?;
        let machine_name = node.machine_name.as_deref().unwrap_or(&node.name);
        let machine = match self.names.get(machine_name) {
            Some(&m) if self.machines[m].name == machine_name => {
                if self.machines[m].spec != node.machine {
                    return Err(format!(
                        "node '{}': machine '{}' is given different hardware by its nodes",
                        node.name, machine_name
                    ));
                }
                m
            }
            Some(&m) => {
                return Err(format!(
                    "node '{}': '{}' already stands for machine '{}'",
                    node.name, machine_name, self.machines[m].name
                ))
            }
            None => self.add_machine(machine_name, node.machine.clone())?,
        };
        if self.host_names.contains_key(&node.name) {
            return Err(format!("node name '{}' is used twice", node.name));
        }
        match self.names.get(&node.name) {
            Some(&m) if m != machine => {
                return Err(format!(
                    "node '{}': the name is another machine's",
                    node.name
                ))
            }
            Some(_) => {}
            None => {
                self.names.insert(node.name.clone(), machine);
            }
        }
        if !node.sentinel && !config.sentinel_lines.is_empty() {
            return Err(format!(
                "node '{}': sentinel directive while not in sentinel mode",
                node.name
            ));
        }
        let h = self.hosts.len();
        let rng = rng_stream(self.seed, STREAM_NODE_BASE + h as u64);
        let mut host = Host::new(
            node.name.clone(),
            machine,
            config,
            NodeClock::new(phase_us),
            rng,
        );
        host.ip = self.machines[machine].ip.clone();
        if node.sentinel {
            let port_given = node
                .config_lines
                .iter()
                .any(|l| l.trim_start().to_ascii_lowercase().starts_with("port "));
            host.make_sentinel(port_given);
        }
        let clash = self.machines[machine]
            .procs
            .iter()
            .find(|&&o| self.hosts[o].ports.iter().any(|p| host.ports.contains(p)));
        if let Some(&other) = clash {
            return Err(format!(
                "node '{}': machine '{}' already has '{}' listening on port {}",
                node.name, machine_name, self.hosts[other].name, host.port
            ));
        }
        self.machines[machine].procs.push(h);
        self.host_names.insert(node.name.clone(), h);
        self.hosts.push(host);
        Ok(())
    }

    /// Processes that share a machine share its disk: each keeps its files
    /// under its own `dir`, and two of them in one dir is an error (Redis
    /// processes in one dir overwrite each other's files).
    fn give_shared_machines_dirs(&mut self) -> Result<(), String> {
        for m in 0..self.machines.len() {
            let procs = self.machines[m].procs.clone();
            if procs.len() < 2 {
                continue;
            }
            for (i, &h) in procs.iter().enumerate() {
                let host = &self.hosts[h];
                let dir = host.config.get("dir").unwrap_or_default();
                // A sentinel's only file is its own sentinel.conf, which
                // shares no name with a Redis process's files in the same dir.
                let prefix = match host.sentinel {
                    true => format!("{}/sentinel-{}/", dir.trim_end_matches('/'), host.port),
                    false => format!("{}/", dir.trim_end_matches('/')),
                };
                if let Some(&other) = procs[..i]
                    .iter()
                    .find(|&&o| self.hosts[o].dir_prefix == prefix)
                {
                    let (a, b) = (&self.hosts[other].name, &self.hosts[h].name);
                    return Err(format!(
                        "nodes '{}' and '{}' on machine '{}' share dir {}: give each its own `dir`",
                        a, b, self.machines[m].name, dir
                    ));
                }
                self.hosts[h].dir_prefix = prefix;
            }
        }
        Ok(())
    }

    fn add_machine(&mut self, name: &str, spec: MachineSpec) -> Result<usize, String> {
        let index = self.machines.len();
        let ip = format!("10.0.{}.{}", (index + 1) / 256, (index + 1) % 256);
        if name.is_empty() || self.names.contains_key(name) {
            return Err(format!("machine name '{}' is empty or used twice", name));
        }
        self.names.insert(name.to_string(), index);
        self.names.insert(ip.clone(), index);
        let state = MachineState {
            fsync_latency_ms: spec.fsync_latency_ms,
            ..MachineState::default()
        };
        self.machines.push(Machine {
            name: name.to_string(),
            ip,
            spec,
            state,
            procs: Vec::new(),
        });
        self.disks.push(Disk::new(rng_stream(
            self.seed,
            STREAM_DISK_BASE + index as u64,
        )));
        Ok(index)
    }

    pub(crate) fn machine_index(&self, name: &str) -> Result<usize, String> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| format!("unknown machine '{}'", name))
    }

    /// The process (node) named `name`.
    pub(crate) fn host_index(&self, name: &str) -> Result<usize, String> {
        match self.host_names.get(name) {
            Some(&h) => Ok(h),
            None if self.names.contains_key(name) => {
                Err(format!("'{}' is a machine, not a node", name))
            }
            None => Err(format!("unknown node '{}'", name)),
        }
    }

    /// The processes on machine m, in the order their nodes were given.
    pub(crate) fn procs_on(&self, m: usize) -> Vec<usize> {
        self.machines[m].procs.clone()
    }

    pub(crate) fn schedule(&mut self, t_us: u64, ev: Ev) {
        assert!(t_us >= self.now_us);
        self.seq += 1;
        self.queue.push(Scheduled {
            t_us,
            seq: self.seq,
            ev,
        });
    }

    // ---- the runner's API ----

    /// Puts a durable file on a node's disk before the run starts (a restored backup, such as
    /// a preloaded dump.rdb), so the process finds it at boot.
    pub fn install_file(&mut self, node: &str, file: &str, bytes: Vec<u8>) -> Result<(), String> {
        let h = self.host_index(node)?;
        if self.now_us > 0 {
            return Err(format!(
                "node '{}': files can be installed only before the run starts",
                node
            ));
        }
        let machine = self.hosts[h].machine;
        let path = format!("{}{}", self.hosts[h].dir_prefix, file);
        self.disks[machine].install(&path, bytes);
        Ok(())
    }

    pub fn add_workload(&mut self, spec: WorkloadSpec) -> Result<(), String> {
        client::validate(&spec)?;
        let target = self
            .host_index(&spec.target)
            .map_err(|e| format!("workload '{}': {}", spec.name, e))?;
        let machine = self.machine_index(spec.on.as_deref().unwrap_or("client"))?;
        let start_us = spec.start_us.max(self.now_us);
        let sentinel_hosts = match &spec.discovery {
            Some(d) => d
                .sentinels
                .iter()
                .map(|s| self.host_index(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("workload '{}': {}", spec.name, e))?,
            None => Vec::new(),
        };
        let workload = self.workloads.len();
        let mut wl = Workload::new(spec, target, machine);
        wl.sentinel_hosts = sentinel_hosts;
        self.workloads.push(wl);
        for index in 0..self.workloads[workload].spec.clients {
            let id = self.clients.len() as u32;
            let rng = rng_stream(self.seed, STREAM_CLIENT_BASE + id as u64);
            let mut c = PlainClient::new(id, workload, &self.workloads[workload], index, rng);
            let first_us = start_us + c.next_gap_us();
            self.clients.push(c);
            self.schedule(start_us, Ev::ClientReconnect { client: id });
            self.schedule_tick(id as usize, first_us);
        }
        Ok(())
    }

    /// Schedules a fault; names are checked now, so a bad one is an error
    /// here rather than a surprise mid-run.
    pub fn schedule_fault(&mut self, at_us: u64, fault: Fault) -> Result<(), String> {
        self.check_fault_names(&fault)?;
        let index = self.faults.len() as u32;
        self.faults.push(fault);
        self.schedule(at_us.max(self.now_us), Ev::Fault { index });
        Ok(())
    }

    /// Schedules an admin command (as typed into redis-cli) on a node.
    pub fn schedule_admin(
        &mut self,
        at_us: u64,
        node: &str,
        argv: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        let host = self.host_index(node)?;
        if argv.is_empty() {
            return Err(format!("empty admin command for '{}'", node));
        }
        let index = self.admins.len() as u32;
        self.admins.push((host, argv));
        self.schedule(at_us.max(self.now_us), Ev::Admin { index });
        Ok(())
    }

    /// Same as [`World::schedule_admin`].
    pub fn admin(&mut self, at_us: u64, node: &str, argv: Vec<Vec<u8>>) -> Result<(), String> {
        self.schedule_admin(at_us, node, argv)
    }

    /// Like schedule_admin, splitting a command line as redis-cli does.
    pub fn schedule_admin_line(
        &mut self,
        at_us: u64,
        node: &str,
        line: &str,
    ) -> Result<(), String> {
        let argv = resp::split_args(line.as_bytes())
            .ok_or_else(|| format!("unbalanced quotes in '{}'", line))?;
        self.schedule_admin(at_us, node, argv)
    }

    /// Makes room in the history for the operations the workloads will invoke by `end_us` at
    /// their nominal rates, so a long run does not copy its history while it grows. Only
    /// capacity: what the run does is unchanged.
    pub fn reserve_history(&mut self, end_us: u64) {
        /// 4 M operations (~600 MB): beyond that the history grows as it needs.
        const MAX_RESERVED_OPS: f64 = 4_000_000.0;
        let expected: f64 = (self.workloads.iter())
            .map(|w| {
                let (start, stop) = (w.spec.start_us, w.spec.stop_us.unwrap_or(end_us));
                let seconds = stop.min(end_us).saturating_sub(start) as f64 / 1e6;
                let ops = w.spec.ops_per_second.max(0.0) * seconds;
                w.spec.ops.map_or(ops, |cap| ops.min(cap as f64))
            })
            .sum();
        let ops = expected.clamp(0.0, MAX_RESERVED_OPS) as usize;
        self.history
            .ops
            .reserve(ops.saturating_sub(self.history.ops.len()));
    }

    pub fn run_until(&mut self, t_us: u64) {
        self.run_until_pred(|_| false, t_us);
    }

    /// Runs events until `pred` holds (checked before the first and after
    /// every event) or virtual time would pass `limit_us`. Returns whether
    /// `pred` held; on false, now_us() == limit_us.
    pub fn run_until_pred(
        &mut self,
        mut pred: impl FnMut(&mut World) -> bool,
        limit_us: u64,
    ) -> bool {
        if pred(self) {
            return true;
        }
        while let Some(event) = self.queue.pop_until(limit_us) {
            assert!(event.t_us >= self.now_us);
            self.now_us = event.t_us;
            self.events_processed += 1;
            self.dispatch(event.ev);
            if pred(self) {
                return true;
            }
        }
        self.now_us = self.now_us.max(limit_us);
        false
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::StreamDue { conn, dir } => self.stream_due(conn, dir as usize),
            Ev::SynArrive { conn } => self.syn_arrive(conn),
            Ev::ConnectReply { conn, ok } => self.connect_reply(conn, ok),
            Ev::Reset { conn, end } => self.reset_arrive(conn, end as usize),
            Ev::HostWake { host } => {
                let h = host as usize;
                if self.hosts[h].wake_at_us == Some(self.now_us) {
                    self.hosts[h].wake_at_us = None;
                }
                self.host_run(h);
            }
            Ev::HostTimer { host, gen } => {
                if self.hosts[host as usize].timer_gen == gen {
                    self.host_run(host as usize);
                }
            }
            Ev::ClientTick { client } => self.client_event(client as usize, ClientEvent::Tick),
            Ev::ClientReconnect { client } => {
                self.client_event(client as usize, ClientEvent::Reconnect)
            }
            Ev::ClientTimeout { client, op } => {
                self.client_event(client as usize, ClientEvent::Timeout(op as usize))
            }
            Ev::ClientDiscoveryTimeout { client, conn } => {
                self.client_event(client as usize, ClientEvent::DiscoveryTimeout(conn))
            }
            Ev::ClientReask { client } => self.client_event(client as usize, ClientEvent::Reask),
            Ev::ClientListen { client } => self.client_event(client as usize, ClientEvent::Listen),
            Ev::Fault { index } => self.apply_fault(index as usize),
            Ev::Admin { index } => self.admin_arrive(index as usize),
            Ev::HostBoot { host } => {
                if !self.hosts[host as usize].booted {
                    self.start_host(host as usize);
                }
            }
            Ev::DiskDone { machine, io } => self.disk_done(machine as usize, io),
            Ev::Flusher { machine } => self.flusher_wake(machine as usize),
            Ev::ChildWake { host, child } => self.child_wake(host as usize, child),
        }
    }

    // ---- observing the world ----

    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn node_names(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.name.clone()).collect()
    }

    /// The node's INFO fields (every section); empty while it is down.
    pub fn info(&mut self, node: &str) -> Vec<(String, String)> {
        let Ok(h) = self.host_index(node) else {
            return Vec::new();
        };
        let host = &mut self.hosts[h];
        let node_us = host.clock.node_us(self.now_us);
        match host.engine.as_mut() {
            Some(engine) => engine.info_fields(node_us),
            None => Vec::new(),
        }
    }

    /// One INFO field of a node.
    pub fn info_field(&mut self, node: &str, field: &str) -> Option<String> {
        self.info(node)
            .into_iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
    }

    /// "master" or "slave" as INFO prints it; None while the node is down.
    pub fn node_role(&mut self, node: &str) -> Option<String> {
        self.info_field(node, "role")
    }

    pub fn node_is_up(&self, node: &str) -> bool {
        self.host_index(node).is_ok_and(|h| self.hosts[h].is_up())
    }

    /// The engine of a node, for white-box tests.
    pub fn engine(&self, node: &str) -> Option<&redsim_engine::Engine> {
        self.hosts[self.host_index(node).ok()?].engine.as_ref()
    }

    /// Redis-format log lines of every process the node ran.
    pub fn node_log(&self, node: &str) -> &[String] {
        self.host_index(node)
            .map_or(&[], |h| &self.hosts[h].log_lines)
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Moves the history out of a world whose run is over (the world keeps an empty one).
    pub fn take_history(&mut self) -> History {
        std::mem::take(&mut self.history)
    }

    pub fn history_summary(&self) -> HistorySummary {
        self.history.summary()
    }

    pub fn notable_events(&self) -> &[NotableEvent] {
        self.trace.notable_events()
    }

    /// The compact one-line-per-event form of the notable events.
    pub fn trace_snapshot(&self) -> String {
        self.trace.snapshot()
    }

    pub fn trace_hash(&self) -> String {
        self.trace.hash_hex()
    }

    /// Keeps every trace line from now on (see trace_lines); for debugging
    /// a divergence between two runs, and for white-box tests.
    pub fn keep_trace_lines(&mut self) {
        self.trace.keep_lines();
    }

    pub fn trace_lines(&self) -> &[String] {
        self.trace.kept_lines()
    }

    pub fn trace_line_count(&self) -> u64 {
        self.trace.line_count()
    }

    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    pub fn faults_fired(&self) -> BTreeMap<String, u64> {
        self.faults_fired.clone()
    }

    /// A node's machine figures: the machine's RAM, swap peak and OOM kills,
    /// and the node's own process's RSS peak (a machine name gives the
    /// highest of its processes').
    pub fn machine_stats(&self, node: &str) -> MachineStats {
        let Ok(m) = self.machine_index(node) else {
            return MachineStats::default();
        };
        let machine = &self.machines[m];
        let rss_bytes_max = match self.host_index(node) {
            Ok(h) => self.hosts[h].memory.rss_bytes_max,
            Err(_) => machine
                .procs
                .iter()
                .map(|&h| self.hosts[h].memory.rss_bytes_max)
                .max()
                .unwrap_or(0),
        };
        MachineStats {
            memory_bytes: machine.spec.memory_bytes,
            rss_bytes_max,
            swap_bytes_max: machine.state.swap_bytes_max,
            oom_kills: machine.state.oom_kills,
        }
    }

    /// The node's process memory as the machine last measured it (after
    /// the last step of a process on the machine), and the machine's swap;
    /// None while it is down.
    pub fn node_memory(&self, node: &str) -> Option<MemoryState> {
        let h = self.host_index(node).ok()?;
        let host = &self.hosts[h];
        let state = &self.machines[host.machine].state;
        host.is_up().then_some(MemoryState {
            process: host.memory.stats,
            swap_used_bytes: state.swap_used_bytes,
            swap_out_total_bytes: state.swap_out_total_bytes,
            swap_outs: state.swap_outs,
            child: host.memory.child,
        })
    }

    /// The machine a node runs on (its name), or None for an unknown node.
    pub fn node_machine(&self, node: &str) -> Option<&str> {
        Some(&self.machines[self.hosts[self.host_index(node).ok()?].machine].name)
    }

    pub fn machine_state(&self, name: &str) -> Option<&MachineState> {
        Some(&self.machines[self.machine_index(name).ok()?].state)
    }

    /// Virtual CPU time a node's processes have used, µs.
    pub fn node_cpu_used_us(&self, node: &str) -> u64 {
        self.host_index(node)
            .map_or(0, |h| self.hosts[h].cpu_used_us)
    }

    /// The node's clock now (unix µs).
    pub fn node_clock_us(&self, node: &str) -> Option<u64> {
        Some(
            self.hosts[self.host_index(node).ok()?]
                .clock
                .node_us(self.now_us),
        )
    }
}

// ---- hosts ----

impl World {
    pub(crate) fn start_host(&mut self, h: usize) {
        let now = self.now_us;
        let spec = &self.machines[self.hosts[h].machine].spec;
        let machine = MachineInfo {
            fork_ms_per_gb: spec.fork_ms_per_gb,
            thp: spec.thp,
            swap_in_latency_us: spec.swap_in_latency_us,
            cores: spec.cores,
        };
        let files = self.hosts[h].own_files(self.disks[self.hosts[h].machine].files());
        let host = &mut self.hosts[h];
        host.booted = true;
        host.start(now, machine, files);
        self.trace.record(
            now,
            &host.name,
            "start",
            format_args!("pid={} incarnation={}", host.pid, host.incarnation),
        );
        self.host_run(h);
    }

    /// Runs the host's loop at the current time: releases the outputs of a
    /// finished step, then runs queued inputs and due timers until the node
    /// is busy or has nothing to do.
    pub(crate) fn host_run(&mut self, h: usize) {
        let now = self.now_us;
        loop {
            let host = &mut self.hosts[h];
            // An input pushed while outputs are being released (a child
            // that exits at once) waits for this loop to come round.
            if !host.is_up() || host.paused || host.releasing {
                return;
            }
            if host.busy_until_us > now {
                let wake_us = host.busy_until_us;
                if host.wake_at_us != Some(wake_us) {
                    host.wake_at_us = Some(wake_us);
                    self.schedule(wake_us, Ev::HostWake { host: h as u32 });
                }
                return;
            }
            if host.outputs_pending {
                host.releasing = true;
                self.release_outputs(h);
                self.hosts[h].releasing = false;
                if self.hosts[h].engine.as_ref().is_some_and(|e| e.exited()) {
                    self.process_exited(h);
                    return;
                }
                continue;
            }
            if !self.run_next_work(h) {
                return;
            }
        }
    }

    /// Runs the earliest of the queued input and the due timer (an input
    /// that arrived no later than the timer was due goes first, as Redis
    /// handles file events before time events). Returns false if idle.
    fn run_next_work(&mut self, h: usize) -> bool {
        let now = self.now_us;
        let host = &mut self.hosts[h];
        let timer_due = host.timer_at_us.filter(|&t| t <= now);
        let take_input = match (host.inbox.front(), timer_due) {
            (None, None) => return false,
            (Some(q), Some(t)) => q.arrived_us <= t,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        let mut admin = None;
        let batch_limit_us = timer_due.unwrap_or(now);
        let batch = take_input
            && host
                .inbox
                .iter()
                .take(2)
                .filter(|q| {
                    q.arrived_us <= batch_limit_us && !matches!(q.input, HostInput::Admin { .. })
                })
                .count()
                == 2;
        let (step, what) = if batch {
            // Every input ready now is handled in one pass of the event
            // loop (aeProcessEvents), then beforeSleep once.
            let mut inputs = Vec::new();
            while let Some(q) = host.inbox.front() {
                if q.arrived_us > batch_limit_us || matches!(q.input, HostInput::Admin { .. }) {
                    break;
                }
                inputs.push(host.inbox.pop_front().expect("front exists").input);
            }
            (host.run_inputs(now, inputs), "inputs")
        } else if take_input {
            let queued = host.inbox.pop_front().expect("front exists");
            let what = queued.input.name();
            let argv = match &queued.input {
                HostInput::Admin { argv } => Some(argv.clone()),
                _ => None,
            };
            let (step, reply) = host.run_input(now, queued.input);
            admin = argv.zip(reply);
            (step, what)
        } else {
            host.timer_at_us = None;
            host.timer_floor_us = now + 1;
            (host.run_timer(now), "timer")
        };
        // More runnable threads on the machine than cores (this loop, other
        // processes' loops, children): the step's CPU is stretched.
        let m = self.hosts[h].machine;
        let (others, cores) = (
            self.runnable_threads(m),
            self.machines[m].spec.cores.max(1) as u64,
        );
        let busy_us = if others + 1 > cores {
            step.cpu_us * (others + 1) / cores
        } else {
            step.cpu_us
        };
        let host = &mut self.hosts[h];
        host.busy_until_us = now + busy_us;
        host.step_end_us = now + busy_us;
        host.outputs_pending = true;
        host.cpu_used_us += step.cpu_us;
        host.steps += 1;
        if busy_us == step.cpu_us {
            self.trace
                .record_fields(now, &host.name, "step", what, &[("cpu_us", step.cpu_us)]);
        } else {
            self.trace.record_fields(
                now,
                &host.name,
                "step",
                what,
                &[("cpu_us", step.cpu_us), ("busy_us", busy_us)],
            );
        }
        if let Some((argv, reply)) = admin {
            self.record_admin_reply(h, now + busy_us, &argv, &reply);
        }
        self.machine_memory_check(m);
        true
    }

    /// The end of a busy period: the step's outputs leave now, in order,
    /// until one makes the main thread wait for the disk (a blocking fsync,
    /// or a write behind an in-flight fsync); the rest leave when it wakes.
    fn release_outputs(&mut self, h: usize) {
        self.hosts[h].outputs_pending = false;
        loop {
            let host = &mut self.hosts[h];
            let next = match host.held_outputs.pop_front() {
                Some(held) => Some(held),
                None => host
                    .engine
                    .as_mut()
                    .and_then(|e| e.poll_output())
                    .map(|o| host.localize(o)),
            };
            let Some(output) = next else { break };
            match output {
                Output::Send { conn, bytes } => self.host_send(h, conn, bytes),
                Output::Close { conn } => self.host_close(h, conn),
                Output::Connect { conn, host, port } => self.host_connect(h, conn, &host, port),
                Output::Log(line) => self.host_log(h, line),
                Output::Event(event) => {
                    let now = self.now_us;
                    self.trace
                        .notable(now, &self.hosts[h].name, &event.name, event.detail);
                }
                Output::Disk(op) => {
                    let wait = match self.host_disk_op(h, op) {
                        Ok(wait) => wait,
                        Err((op, until)) => {
                            self.hosts[h].held_outputs.push_front(Output::Disk(op));
                            Some(until)
                        }
                    };
                    if let Some(until) = wait {
                        let host = &mut self.hosts[h];
                        host.busy_until_us = until;
                        host.outputs_pending = true;
                        self.trace.record_fields(
                            self.now_us,
                            &host.name,
                            "disk-wait",
                            "",
                            &[("until_us", until)],
                        );
                        return;
                    }
                }
                Output::Fork(request) => self.start_child(h, request),
                Output::KillChild { pid } => {
                    self.kill_child_pid(h, pid, crate::child::SIGUSR1);
                }
            }
            if !self.hosts[h].is_up() {
                return;
            }
        }
        self.refresh_timer(h);
    }

    /// Re-reads the engine's deadline; a changed one gets a new timer event
    /// and the old event goes stale through the generation counter.
    pub(crate) fn refresh_timer(&mut self, h: usize) {
        let now = self.now_us;
        let host = &mut self.hosts[h];
        // After a timer step the deadline must move on, or a timer that the
        // engine did not advance would spin at one instant forever.
        let next = host.next_timer_us().map(|t| t.max(host.timer_floor_us));
        if next == host.timer_at_us {
            return;
        }
        host.timer_at_us = next;
        host.timer_gen += 1;
        if let Some(t_us) = next {
            let gen = host.timer_gen;
            self.schedule(
                t_us.max(now),
                Ev::HostTimer {
                    host: h as u32,
                    gen,
                },
            );
        }
    }

    fn host_log(&mut self, h: usize, line: LogLine) {
        let now = self.now_us;
        let host = &mut self.hosts[h];
        // The hashed trace keeps the node-clock stamp it always had, so trace hashes stay put;
        // what people read (the printed log, node_log) is stamped on the report's time base.
        let hashed = format_redis_log(host.pid, host.clock.node_us(now), &line);
        self.trace
            .record(now, &host.name, "log", format_args!("{}", hashed));
        let text = format_redis_log(host.pid, host.clock.log_us(now), &line);
        emit_log(&host.name, line.level, &text);
        if line.level >= LogLevel::Notice {
            self.trace.keep(now, &host.name, "log", line.message);
        }
        host.log_lines.push(text);
    }

    pub(crate) fn host_connect(
        &mut self,
        h: usize,
        conn: redsim_engine::ConnId,
        target: &str,
        port: u16,
    ) {
        let from = self.hosts[h].machine;
        let incarnation = self.hosts[h].incarnation;
        let who = crate::network::Who::Node {
            host: h,
            conn,
            incarnation,
        };
        match self.names.get(target).copied() {
            Some(to) => {
                let id = self.open_conn(from, who, to, port);
                self.hosts[h].conns.insert(conn, id);
            }
            None => {
                // An unknown host name fails like a failed DNS lookup: at once.
                let now = self.now_us;
                self.trace.record(
                    now,
                    &self.hosts[h].name,
                    "connect-failed",
                    format_args!("unknown host {}", target),
                );
                self.hosts[h].push_input(now, HostInput::ConnectFailed { conn });
            }
        }
    }

    fn admin_arrive(&mut self, index: usize) {
        let now = self.now_us;
        let (h, argv) = self.admins[index].clone();
        let command = render_argv(&argv);
        let host = &mut self.hosts[h];
        if !host.is_up() {
            self.trace
                .notable(now, &host.name, "admin", format!("{} (node down)", command));
            return;
        }
        self.trace.notable(now, &host.name, "admin", command);
        host.push_input(now, HostInput::Admin { argv });
        self.host_run(h);
    }

    fn record_admin_reply(&mut self, h: usize, t_us: u64, argv: &[Vec<u8>], reply: &[u8]) {
        let text = render_reply(reply);
        let detail = format!("{} -> {}", render_argv(argv), text);
        self.trace
            .notable(t_us, &self.hosts[h].name, "admin-reply", detail);
    }
}

fn render_argv(argv: &[Vec<u8>]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    words.join(" ")
}

/// A short human form of a RESP reply, as redis-cli would show it.
fn render_reply(reply: &[u8]) -> String {
    match resp::parse_reply(reply) {
        Ok(Some((value, _))) => match value {
            resp::Value::Simple(s) => s,
            resp::Value::Error(e) => format!("(error) {}", e),
            resp::Value::Int(i) => format!("(integer) {}", i),
            resp::Value::Bulk(b) => {
                let text = String::from_utf8_lossy(&b);
                let short: String = text.chars().take(200).collect();
                format!("\"{}\"", short)
            }
            resp::Value::Nil | resp::Value::NilArray => "(nil)".into(),
            resp::Value::Array(items) => format!("({} items)", items.len()),
        },
        _ => format!("({} bytes)", reply.len()),
    }
}
