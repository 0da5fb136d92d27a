//! redsim-engine: a Redis 7.0-compatible server core with no I/O of its own.
//!
//! The host feeds bytes, connection events and the current time in through
//! [`Engine::handle_input`] and [`Engine::handle_timeout`], then drains
//! [`Engine::poll_output`] until it returns `None` and asks
//! [`Engine::poll_timeout`] for the next deadline. Every step reports the
//! virtual CPU time it consumed, so the host keeps the single-threaded loop
//! busy for that long, exactly as a slow command blocks every client in Redis.
//!
//! The same engine runs under the simulator (sim/) and behind real TCP
//! (`redsim serve`).

pub mod aof;
pub mod child;
pub mod commands;
pub mod config;
pub mod cost;
pub mod db;
pub mod debug;
pub mod evict;
pub mod expire;
pub mod info;
pub mod lazyfree;
pub mod memory;
pub mod multi;
pub mod networking;
pub mod object;
pub mod pubsub;
pub mod rdb;
pub mod replication;
pub mod reply;
pub mod reply_buffer;
pub mod resp;
pub mod sentinel;
pub mod server;
pub mod shutdown;
pub mod t_hash;
pub mod t_list;
pub mod t_set;
pub mod t_string;
pub mod t_zset;
pub mod util;

pub use config::{Config, ConfigError};
pub use server::Server;

/// A connection as the host knows it. Inbound connections get ids from the
/// host; outbound ones (a replica dialling its master) get ids from the engine
/// with [`ConnId::OUTBOUND_BIT`] set, so the two spaces never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl ConnId {
    pub const OUTBOUND_BIT: u64 = 1 << 63;
    pub fn is_outbound(self) -> bool {
        self.0 & Self::OUTBOUND_BIT != 0
    }
}

/// What the host tells the engine.
#[derive(Debug)]
pub enum Input<'a> {
    /// A client connected; `peer` is "ip:port" as CLIENT LIST shows it;
    /// `local_port` is the port of this process it came in on (CLIENT LIST's
    /// laddr; a Cluster bus port later tells bus links from clients).
    Accepted {
        conn: ConnId,
        peer: String,
        local_port: u16,
    },
    /// Bytes arrived on a connection.
    Data { conn: ConnId, bytes: &'a [u8] },
    /// The peer closed the connection, or the network reset it.
    Closed { conn: ConnId },
    /// An outbound connection requested with [`Output::Connect`] is up.
    Connected { conn: ConnId },
    /// An outbound connection could not be established.
    ConnectFailed { conn: ConnId },
    /// A background fsync asked for with [`DiskOp::Fsync`] (`blocking: false`)
    /// has finished: the bytes the file held when it was asked are durable.
    FsyncDone { token: u64 },
    /// A child started with [`Output::Fork`] has ended (waitpid in
    /// checkChildrenDone).
    ChildExit { pid: u32, status: ChildExitStatus },
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExitStatus {
    /// exit(0): the job is done and its files are in place.
    Ok,
    /// exit(1): the job failed (for instance a write error).
    Error,
    /// Killed by a signal (9 when the OOM killer picked it).
    Signal(i32),
}

/// A file operation, always relative to the node's `dir`. Writes land in
/// the machine's page cache; only fsync (or the kernel's writeback) makes
/// them durable, and power loss drops whatever is not.
#[derive(Debug, Clone, PartialEq)]
pub enum DiskOp {
    /// write(2) at the end of `file`, creating it if missing.
    Append { file: String, bytes: Vec<u8> },
    /// ftruncate(2) to `len` bytes.
    Truncate { file: String, len: u64 },
    /// fsync(2). `blocking`: the main thread waits for it (SAVE, appendfsync
    /// always), so the host holds the node's later outputs until the disk
    /// answers. Otherwise a background thread does it (bio) and the host
    /// reports [`Input::FsyncDone`] with `token`.
    Fsync {
        file: String,
        token: u64,
        blocking: bool,
    },
    /// rename(2), atomic; it replaces `to` if it exists.
    Rename { from: String, to: String },
    /// unlink(2).
    Remove { file: String },
}

/// fork(): the host starts a child process that runs `job` on the node's
/// machine, competing for its cores and its disk, and reports
/// [`Input::ChildExit`] when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct ForkRequest {
    pub pid: u32,
    pub job: ChildJob,
}

/// The work of a child, decided at fork time.
#[derive(Debug, Clone, PartialEq)]
pub enum ChildJob {
    /// Serialise the fork-time dataset (`cpu_us` of CPU work), writing
    /// `bytes` to `file` as it goes, fsync every 4 MB when `incremental_fsync`
    /// (rdb-save-incremental-fsync), a final fsync, then rename the file to
    /// `rename_to` if given; exit 0.
    WriteFile {
        file: String,
        bytes: Vec<u8>,
        cpu_us: u64,
        incremental_fsync: bool,
        rename_to: Option<String>,
    },
    /// CPU work only: a diskless transfer whose bytes the parent already
    /// handed to the replicas' connections.
    Compute { cpu_us: u64 },
}

/// What the engine asks the host to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Send {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Close {
        conn: ConnId,
    },
    Connect {
        conn: ConnId,
        host: String,
        port: u16,
    },
    Log(LogLine),
    Event(Event),
    Disk(DiskOp),
    Fork(ForkRequest),
    /// kill(pid, SIGUSR1): stop the child started with [`Output::Fork`]
    /// at once; it does no more of its job (no more writes, no rename).
    /// The host then reports [`Input::ChildExit`] with `Signal(10)`. The
    /// engine has either already reaped it (an AOF rewrite child, which
    /// Redis waits for) and ignores that report, or reaps it then (an RDB
    /// child, as checkChildrenDone does) and removes its temp file.
    KillChild {
        pid: u32,
    },
}

/// Redis log levels, with the marker character Redis prints for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl LogLevel {
    pub fn marker(self) -> char {
        match self {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning => '#',
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub level: LogLevel,
    /// 'M' master, 'S' replica, 'C' child, 'X' sentinel: the role Redis prints.
    pub role: char,
    pub message: String,
}

/// A notable state change, for the trace and the report's event table.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub detail: String,
}

/// How much virtual CPU time a step consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    pub cpu_us: u64,
}

/// Identity the host gives an engine: its RNG seed, pid, the port it
/// listens on (replicas announce it with REPLCONF listening-port), the
/// machine it runs on, and the files its `dir` holds at start-up.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub seed: u64,
    pub pid: u32,
    pub port: u16,
    pub machine: MachineInfo,
    /// File name (relative to `dir`) -> contents, as the disk holds them
    /// when the process starts: what survived the last crash.
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
    /// Run as redis-sentinel (redis-server --sentinel): the config's
    /// `sentinel` lines, or the `sentinel.conf` in `files`, say what to monitor.
    pub sentinel: bool,
    /// This process's own address as its outbound connections show it
    /// (getsockname); Sentinel announces it unless `announce-ip` is set.
    pub ip: String,
    /// Host names this process can resolve -> addresses (/etc/hosts).
    pub hosts: std::collections::BTreeMap<String, String>,
    /// access(path, X_OK) for Sentinel's notification and client
    /// reconfiguration scripts (relative to `dir`). None: the host has no
    /// such files (the simulation), so every script is "non existing".
    pub is_executable: Option<fn(&str) -> bool>,
    /// Sentinel's config rewrite, done at once by the host as Redis's
    /// rewriteConfig does (temp file, fsync, rename), with its error (the
    /// client hears "Failed to save config file"). None: the rewrite goes
    /// out as Output::Disk operations on the node's disk (the simulation).
    pub sentinel_conf_writer: Option<ConfWriter>,
    /// Name resolution (getaddrinfo) for names `hosts` does not hold.
    pub resolve_host: Option<fn(&str) -> Option<String>>,
}

/// Writes Sentinel's config file at once: Err is the OS error's text.
pub type ConfWriter = fn(&[u8]) -> Result<(), String>;

/// What the engine knows of its machine.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineInfo {
    /// fork(): page-table copy time per GB of RSS.
    pub fork_ms_per_gb: f64,
    /// Transparent huge pages "always": 2 MiB pages instead of 4 KiB.
    pub thp: bool,
    /// A main-loop touch of a swapped-out page stalls this long.
    pub swap_in_latency_us: u64,
    pub cores: u32,
}

impl Default for MachineInfo {
    fn default() -> Self {
        MachineInfo {
            fork_ms_per_gb: 10.0,
            thp: false,
            swap_in_latency_us: 100,
            cores: 2,
        }
    }
}

/// The process's memory as the machine sees it (memory/ keeps the pages).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// zmalloc_used_memory: bytes allocated.
    pub used_memory: u64,
    /// Resident pages of the main process, bytes (not counting swapped ones).
    pub rss_bytes: u64,
    /// Pages of the main process now in swap, bytes.
    pub swapped_bytes: u64,
    /// The child's private pages (copy-on-write copies), bytes; 0 without a child.
    pub child_private_bytes: u64,
    /// 4 KiB pages main-loop touches brought back from swap, since start
    /// (each stalled the loop for swap_in_latency_us).
    pub swap_in_pages: u64,
}

/// The engine: one Redis server process, minus the I/O.
pub struct Engine {
    srv: Server,
}

impl Engine {
    pub fn new(config: Config, options: EngineOptions, now_us: u64) -> Engine {
        Engine {
            srv: Server::new(config, options, now_us),
        }
    }

    pub fn handle_input(&mut self, now_us: u64, input: Input<'_>) -> Step {
        if self.exited() {
            return Step::default();
        }
        self.srv.begin_step(now_us);
        self.dispatch(input);
        self.srv.before_sleep();
        self.srv.end_step()
    }

    /// Several inputs ready at once, as one pass of Redis's event loop
    /// (aeProcessEvents) finds them: each is handled in turn, then
    /// beforeSleep runs once, so one AOF write (and under appendfsync
    /// always one fsync) covers every command of the pass, and the replies
    /// leave after it.
    pub fn handle_inputs<'a>(
        &mut self,
        now_us: u64,
        inputs: impl IntoIterator<Item = Input<'a>>,
    ) -> Step {
        if self.exited() {
            return Step::default();
        }
        self.srv.begin_step(now_us);
        for input in inputs {
            if self.exited() {
                break;
            }
            self.dispatch(input);
        }
        if !self.exited() {
            self.srv.before_sleep();
        }
        self.srv.end_step()
    }

    fn dispatch(&mut self, input: Input<'_>) {
        match input {
            Input::Accepted {
                conn,
                peer,
                local_port,
            } => self.srv.accept_client(conn, peer, local_port),
            Input::Data { conn, bytes } => self.srv.read_from_client(conn, bytes),
            Input::Closed { conn } => self.srv.connection_closed(conn),
            Input::Connected { conn } => self.srv.outbound_connected(conn),
            Input::ConnectFailed { conn } => self.srv.outbound_failed(conn),
            Input::FsyncDone { token } => crate::aof::fsync_done(&mut self.srv, token),
            Input::ChildExit { pid, status } => {
                crate::child::child_exited(&mut self.srv, pid, status)
            }
        }
    }

    pub fn handle_timeout(&mut self, now_us: u64) -> Step {
        if self.exited() {
            return Step::default();
        }
        self.srv.begin_step(now_us);
        self.srv.run_timers();
        self.srv.before_sleep();
        self.srv.end_step()
    }

    /// The machine's wall clock was stepped by `jump_us` (an NTP step, a
    /// `date -s`). The event loop's timers run on the monotonic clock, as
    /// ae's do since Redis 6.2, so they keep their remaining time: the next
    /// serverCron neither fires at once after a forward step nor waits out a
    /// backward one. Everything that reads the wall clock (mstime: Sentinel's
    /// TILT check, its PING and down-after timers) sees the step.
    pub fn wall_clock_jumped(&mut self, jump_us: i64) {
        let next = self.srv.next_cron_us as i128 + jump_us as i128;
        self.srv.next_cron_us = next.max(0) as u64;
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.srv.outputs.pop_front()
    }

    /// The next time (node clock, unix microseconds) the engine wants
    /// [`Engine::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.exited() {
            return None;
        }
        self.srv.next_timeout_us()
    }

    /// The process exited (exit(1) after a fatal start-up load error, with
    /// an `Event{name:"exit"}`): it serves nothing more; the host should
    /// treat the node as down and drain the remaining outputs (its logs).
    pub fn exited(&self) -> bool {
        self.srv.rdb.exited.is_some()
    }

    /// The exit code of a process that exited (0 after SHUTDOWN or a
    /// signal's shutdown, 1 after a fatal error).
    pub fn exit_code(&self) -> Option<i32> {
        self.exited()
            .then(|| self.srv.shutdown.exit_code.unwrap_or(1))
    }

    /// The process received SIGTERM or SIGINT (sigShutdownHandler): the
    /// shutdown runs in the next serverCron, with Redis's log lines. A
    /// second SIGINT exits at once.
    pub fn signal(&mut self, now_us: u64, sig: i32) -> Step {
        if self.exited() {
            return Step::default();
        }
        self.srv.begin_step(now_us);
        crate::shutdown::signal(&mut self.srv, sig);
        self.srv.end_step()
    }

    /// Memory figures for the machine's accounting (swap, OOM killer).
    pub fn memory_stats(&self) -> MemoryStats {
        memory::stats(&self.srv)
    }

    /// The kernel reclaims `bytes` of this process's least recently used
    /// resident pages into swap. Returns the bytes actually swapped out.
    pub fn swap_out(&mut self, bytes: u64) -> u64 {
        memory::swap_out(&mut self.srv, bytes)
    }

    pub fn server(&self) -> &Server {
        &self.srv
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.srv
    }

    /// All INFO fields, every section, as (name, value) pairs in Redis's order.
    pub fn info_fields(&mut self, now_us: u64) -> Vec<(String, String)> {
        self.srv.begin_step(now_us);
        memory::sync_regions(&mut self.srv);
        let fields = info::all_fields(&self.srv);
        self.srv.end_step();
        fields
    }

    /// Runs one command as if typed into redis-cli by an admin client that is
    /// not listed anywhere. Returns the raw RESP reply.
    pub fn admin_command(&mut self, now_us: u64, argv: Vec<Vec<u8>>) -> (Vec<u8>, Step) {
        self.srv.begin_step(now_us);
        let reply = self.srv.run_admin_command(argv);
        self.srv.before_sleep();
        (reply, self.srv.end_step())
    }
}
