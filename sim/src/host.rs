//! A host is one process on a machine: it drives one Engine as a
//! single-threaded event loop. A machine runs any number of hosts; they
//! share its cores, memory, disk and clock (world.rs, child.rs, machine.rs).
//!
//! When an input arrives and the node is idle it runs at once; the step's
//! cpu_us keeps the node busy, and the step's outputs leave at the END of the
//! busy period (they stay in the engine's output queue until then). Inputs
//! that arrive while busy queue in arrival order. The world (world.rs) owns
//! the scheduling; this file holds the per-node state and runs single steps.

use std::collections::{BTreeMap, VecDeque};

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use redsim_engine::{
    ChildExitStatus, ChildJob, Config, ConnId, DiskOp, Engine, EngineOptions, Input, MachineInfo,
    Output, Step,
};

use crate::child::ChildProc;
use crate::machine::ProcessMemoryState;

use crate::clock::NodeClock;

/// Something for the engine to handle, as it waits in the host's queue.
#[derive(Debug)]
pub(crate) enum HostInput {
    /// `local_port`: the port of this process the connection came in on.
    Accepted {
        conn: ConnId,
        peer: String,
        local_port: u16,
    },
    Data {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Closed {
        conn: ConnId,
    },
    Connected {
        conn: ConnId,
    },
    ConnectFailed {
        conn: ConnId,
    },
    Admin {
        argv: Vec<Vec<u8>>,
    },
    /// A background fsync finished.
    FsyncDone {
        token: u64,
    },
    /// A child process ended.
    ChildExit {
        pid: u32,
        status: ChildExitStatus,
    },
}

impl HostInput {
    pub fn name(&self) -> &'static str {
        match self {
            HostInput::Accepted { .. } => "accepted",
            HostInput::Data { .. } => "data",
            HostInput::Closed { .. } => "closed",
            HostInput::Connected { .. } => "connected",
            HostInput::ConnectFailed { .. } => "connect-failed",
            HostInput::Admin { .. } => "admin",
            HostInput::FsyncDone { .. } => "fsync-done",
            HostInput::ChildExit { .. } => "child-exit",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Queued {
    pub arrived_us: u64,
    pub input: HostInput,
}

pub struct Host {
    pub name: String,
    /// Index of the host's machine.
    pub machine: usize,
    pub config: Config,
    /// The port from the config (`port`), which EngineOptions carries.
    pub port: u16,
    /// Every port the process listens on (the Redis port; a Cluster bus
    /// would add port + 10000). A connect to the machine on one of them
    /// reaches this process.
    pub ports: Vec<u16>,
    /// Where this process's files live on the machine's disk: "" on a
    /// machine of its own (bare names, as the engine gives them), else its
    /// `dir` and a slash, so processes sharing a disk keep their own files.
    pub(crate) dir_prefix: String,
    pub engine: Option<Engine>,
    pub pid: u32,
    /// Bumped by every kill, so connections of a dead process are told apart.
    pub incarnation: u32,
    pub clock: NodeClock,
    /// Seeds and pids of this node's processes.
    pub(crate) rng: ChaCha8Rng,
    pub paused: bool,
    pub busy_until_us: u64,
    /// A HostWake event is scheduled at this time.
    pub(crate) wake_at_us: Option<u64>,
    /// The last step's outputs have not been released yet.
    pub(crate) outputs_pending: bool,
    /// Outputs to release before the engine's queue: one that waits for the
    /// disk (a write behind an in-flight fsync), or injected by a test.
    pub(crate) held_outputs: VecDeque<Output>,
    /// The main loop runs a step (uses a core) until then; busy_until_us
    /// can be later when the loop waits for the disk.
    pub(crate) step_end_us: u64,
    /// Child processes running on this node's machine (a crashed parent's
    /// child runs on to its end).
    pub(crate) children: Vec<ChildProc>,
    pub(crate) next_child_id: u64,
    /// World::release_outputs is running for this host.
    pub(crate) releasing: bool,
    pub(crate) inbox: VecDeque<Queued>,
    /// When the engine wants handle_timeout (virtual µs).
    pub(crate) timer_at_us: Option<u64>,
    pub(crate) timer_gen: u64,
    /// The next timer may not be earlier than this (see World::refresh_timer).
    pub(crate) timer_floor_us: u64,
    /// Engine ConnId -> world connection id.
    pub(crate) conns: BTreeMap<ConnId, u64>,
    pub(crate) next_accept_id: u64,
    /// Connections whose data to this node was lost at the kill: the peers'
    /// retransmissions are answered by RST after restart.
    pub(crate) unacked_peers: Vec<u64>,
    /// Redis-format log lines of every process of this node.
    pub log_lines: Vec<String>,
    /// What the machine's kernel last measured of this process's memory.
    pub memory: ProcessMemoryState,
    pub cpu_used_us: u64,
    /// Virtual CPU time this node's child processes used.
    pub child_cpu_used_us: u64,
    pub steps: u64,
    /// Started at least once (its seeded boot, or a restart fault before it).
    pub booted: bool,
    /// Runs redis-sentinel.
    pub sentinel: bool,
    /// The machine's address, as the process's own connections show it.
    pub ip: String,
    /// Machine names -> addresses (the machine's /etc/hosts).
    pub hosts: BTreeMap<String, String>,
}

impl Host {
    pub(crate) fn new(
        name: String,
        machine: usize,
        config: Config,
        clock: NodeClock,
        rng: ChaCha8Rng,
    ) -> Host {
        let port = config
            .get("port")
            .and_then(|p| p.parse().ok())
            .unwrap_or(6379);
        Host {
            name,
            machine,
            config,
            port,
            ports: vec![port],
            dir_prefix: String::new(),
            engine: None,
            pid: 0,
            incarnation: 0,
            clock,
            rng,
            paused: false,
            busy_until_us: 0,
            wake_at_us: None,
            outputs_pending: false,
            held_outputs: VecDeque::new(),
            step_end_us: 0,
            children: Vec::new(),
            next_child_id: 1,
            releasing: false,
            inbox: VecDeque::new(),
            timer_at_us: None,
            timer_gen: 0,
            timer_floor_us: 0,
            conns: BTreeMap::new(),
            next_accept_id: 1,
            unacked_peers: Vec::new(),
            log_lines: Vec::new(),
            memory: ProcessMemoryState::default(),
            cpu_used_us: 0,
            child_cpu_used_us: 0,
            steps: 0,
            booted: false,
            sentinel: false,
            ip: String::new(),
            hosts: BTreeMap::new(),
        }
    }

    /// The process is redis-sentinel: without a `port` line it listens on 26379.
    pub(crate) fn make_sentinel(&mut self, port_given: bool) {
        self.sentinel = true;
        if !port_given {
            self.port = redsim_engine::sentinel::DEFAULT_PORT;
            self.ports = vec![self.port];
            self.config
                .set("port", &[self.port.to_string()])
                .expect("a valid port");
        }
        self.ports = vec![self.port];
    }

    /// An output with this process's file names turned into the disk's.
    pub(crate) fn localize(&self, mut output: Output) -> Output {
        if self.dir_prefix.is_empty() {
            return output;
        }
        let on_disk = |name: &mut String| name.insert_str(0, &self.dir_prefix);
        match &mut output {
            Output::Disk(op) => match op {
                DiskOp::Append { file, .. }
                | DiskOp::Truncate { file, .. }
                | DiskOp::Fsync { file, .. }
                | DiskOp::Remove { file } => on_disk(file),
                DiskOp::Rename { from, to } => {
                    on_disk(from);
                    on_disk(to);
                }
            },
            Output::Fork(request) => {
                if let ChildJob::WriteFile {
                    file, rename_to, ..
                } = &mut request.job
                {
                    on_disk(file);
                    if let Some(to) = rename_to {
                        on_disk(to);
                    }
                }
            }
            _ => {}
        }
        output
    }

    /// The machine's files that this process sees, under the names it uses.
    pub(crate) fn own_files(&self, files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
        if self.dir_prefix.is_empty() {
            return files;
        }
        files
            .into_iter()
            .filter_map(|(name, bytes)| {
                name.strip_prefix(&self.dir_prefix)
                    .map(|own| (own.to_string(), bytes))
            })
            .collect()
    }

    /// Starts a new process: same config, a new seed and pid, the machine's
    /// figures and the files the disk holds now.
    pub(crate) fn start(
        &mut self,
        now_us: u64,
        machine: MachineInfo,
        files: BTreeMap<String, Vec<u8>>,
    ) {
        assert!(self.engine.is_none());
        let seed = self.rng.next_u64();
        self.pid = self.rng.gen_range(1000..60000);
        let options = EngineOptions {
            seed,
            pid: self.pid,
            port: self.port,
            machine,
            files,
            sentinel: self.sentinel,
            ip: self.ip.clone(),
            hosts: self.hosts.clone(),
            // The simulated machine holds no scripts Sentinel could run.
            is_executable: None,
            sentinel_conf_writer: None,
            resolve_host: None,
        };
        self.engine = Some(Engine::new(
            self.config.clone(),
            options,
            self.clock.node_us(now_us),
        ));
        self.paused = false;
        self.busy_until_us = now_us;
        // Startup logs are released at once.
        self.outputs_pending = true;
    }

    /// The process and everything it had not written yet vanish (power
    /// loss or SIGKILL; the world decides what happens to disk and children).
    pub(crate) fn kill(&mut self) {
        self.engine = None;
        self.incarnation += 1;
        self.paused = false;
        self.inbox.clear();
        self.outputs_pending = false;
        self.held_outputs.clear();
        self.timer_at_us = None;
        self.timer_gen += 1;
        self.conns.clear();
    }

    pub(crate) fn is_up(&self) -> bool {
        self.engine.is_some()
    }

    /// Queues an input. Bytes that arrive behind bytes of the same connection
    /// are merged, as one read() would take everything available.
    pub(crate) fn push_input(&mut self, now_us: u64, input: HostInput) {
        if let HostInput::Data { conn, bytes } = &input {
            if let Some(Queued {
                input:
                    HostInput::Data {
                        conn: last,
                        bytes: queued,
                    },
                ..
            }) = self.inbox.back_mut()
            {
                if last == conn {
                    queued.extend_from_slice(bytes);
                    return;
                }
            }
        }
        self.inbox.push_back(Queued {
            arrived_us: now_us,
            input,
        });
    }

    pub(crate) fn new_accept_id(&mut self) -> ConnId {
        let id = ConnId(self.next_accept_id);
        self.next_accept_id += 1;
        assert!(!id.is_outbound());
        id
    }

    /// Runs one input. Returns the step and, for an admin command, its reply.
    pub(crate) fn run_input(&mut self, now_us: u64, input: HostInput) -> (Step, Option<Vec<u8>>) {
        let node_us = self.clock.node_us(now_us);
        let engine = self
            .engine
            .as_mut()
            .expect("running an input on a dead node");
        let step = match input {
            HostInput::Accepted {
                conn,
                peer,
                local_port,
            } => engine.handle_input(
                node_us,
                Input::Accepted {
                    conn,
                    peer,
                    local_port,
                },
            ),
            HostInput::Data { conn, bytes } => engine.handle_input(
                node_us,
                Input::Data {
                    conn,
                    bytes: &bytes,
                },
            ),
            HostInput::Closed { conn } => engine.handle_input(node_us, Input::Closed { conn }),
            HostInput::Connected { conn } => {
                engine.handle_input(node_us, Input::Connected { conn })
            }
            HostInput::ConnectFailed { conn } => {
                engine.handle_input(node_us, Input::ConnectFailed { conn })
            }
            HostInput::FsyncDone { token } => {
                engine.handle_input(node_us, Input::FsyncDone { token })
            }
            HostInput::ChildExit { pid, status } => {
                engine.handle_input(node_us, Input::ChildExit { pid, status })
            }
            HostInput::Admin { argv } => {
                let (reply, step) = engine.admin_command(node_us, argv);
                return (step, Some(reply));
            }
        };
        (step, None)
    }

    /// Inputs that are ready together (no admin command among them): one
    /// event-loop pass, one beforeSleep.
    pub(crate) fn run_inputs(&mut self, now_us: u64, inputs: Vec<HostInput>) -> Step {
        let node_us = self.clock.node_us(now_us);
        let engine = self.engine.as_mut().expect("running inputs on a dead node");
        let converted = inputs.iter().map(|input| match input {
            HostInput::Accepted {
                conn,
                peer,
                local_port,
            } => Input::Accepted {
                conn: *conn,
                peer: peer.clone(),
                local_port: *local_port,
            },
            HostInput::Data { conn, bytes } => Input::Data { conn: *conn, bytes },
            HostInput::Closed { conn } => Input::Closed { conn: *conn },
            HostInput::Connected { conn } => Input::Connected { conn: *conn },
            HostInput::ConnectFailed { conn } => Input::ConnectFailed { conn: *conn },
            HostInput::FsyncDone { token } => Input::FsyncDone { token: *token },
            HostInput::ChildExit { pid, status } => Input::ChildExit {
                pid: *pid,
                status: *status,
            },
            HostInput::Admin { .. } => unreachable!("admin commands run alone"),
        });
        engine.handle_inputs(node_us, converted)
    }

    pub(crate) fn run_timer(&mut self, now_us: u64) -> Step {
        let node_us = self.clock.node_us(now_us);
        self.engine
            .as_mut()
            .expect("running a timer on a dead node")
            .handle_timeout(node_us)
    }

    /// The engine's next deadline in virtual time.
    pub(crate) fn next_timer_us(&self) -> Option<u64> {
        let node_us = self.engine.as_ref()?.poll_timeout()?;
        Some(self.clock.to_virtual(node_us))
    }
}
