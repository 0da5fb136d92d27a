//! The server: global state, the client lifecycle, processCommand/call,
//! serverCron and beforeSleep, and the generic commands (PING, ECHO, SELECT,
//! INFO, CONFIG, CLIENT, COMMAND, TIME, QUIT).

use std::collections::{BTreeMap, VecDeque};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::commands::{self, flags, Command, CommandTable, Ctx};
use crate::config::Config;
use crate::cost::Cost;
use crate::db::Db;
use crate::multi::Target;
use crate::networking::{Client, ClientKind, ClientType};
use crate::replication::ReplicationState;
use crate::reply::errors;
use crate::resp::{self, Parsed};
use crate::{ConnId, EngineOptions, Event, LogLevel, LogLine, Output, Step};

/// Counters INFO stats reports.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
    pub total_error_replies: u64,
    /// stat_reply_buffer_shrinks / _expands (clientsCron).
    pub reply_buffer_shrinks: u64,
    pub reply_buffer_expands: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub net_repl_input_bytes: u64,
    pub net_repl_output_bytes: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub rejected_conn: u64,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub expire_cycle_cpu_milliseconds: u64,
    pub expired_stale_perc: f64,
    pub expire_cycle_timelimit_exit: bool,
    /// Error replies by their first word (INFO errorstats).
    pub errors_by_code: BTreeMap<String, u64>,
    /// Calls per command full name: (calls, usec, rejected, failed).
    pub per_command: BTreeMap<String, (u64, u64, u64, u64)>,
    /// Per command full name, the latency of each call in ns, as Redis's
    /// hdr_histogram (1 ns .. 1 s, 2 significant digits) keeps it.
    pub latency: BTreeMap<String, hdrhistogram::Histogram<u64>>,
    /// total_error_replies when the last call() began or ended
    /// (incrCommandStatsOnError's prev_err_count).
    pub prev_err_count: u64,
}

/// LATENCY_HISTOGRAM_MIN_VALUE / MAX_VALUE / PRECISION.
const LATENCY_MIN_NS: u64 = 1;
const LATENCY_MAX_NS: u64 = 1_000_000_000;
const LATENCY_SIGFIG: u8 = 2;

impl Stats {
    /// call()'s accounting: calls, usec, failed_calls (an error reply
    /// since the call began or since a call nested in it ended), and the
    /// latency histogram (Redis records the usec duration times 1000).
    fn account_call(&mut self, full_name: &str, usec: u64) {
        let failed = self.total_error_replies > self.prev_err_count;
        self.prev_err_count = self.total_error_replies;
        // Look up by &str first: allocating the name on every call is costly.
        let entry = match self.per_command.get_mut(full_name) {
            Some(entry) => entry,
            None => self.per_command.entry(full_name.to_string()).or_default(),
        };
        entry.0 += 1;
        entry.1 += usec;
        entry.3 += u64::from(failed);
        let ns = (usec * 1000).clamp(LATENCY_MIN_NS, LATENCY_MAX_NS);
        let histogram = match self.latency.get_mut(full_name) {
            Some(h) => h,
            None => self
                .latency
                .entry(full_name.to_string())
                .or_insert_with(|| {
                    hdrhistogram::Histogram::new_with_bounds(
                        LATENCY_MIN_NS,
                        LATENCY_MAX_NS,
                        LATENCY_SIGFIG,
                    )
                    .expect("valid histogram bounds")
                }),
        };
        histogram
            .record(ns)
            .expect("clamped into the histogram's range");
    }
}

pub struct Server {
    pub config: Config,
    pub options: EngineOptions,
    pub run_id: String,
    pub rng: ChaCha8Rng,
    pub table: CommandTable,
    /// Node clock, unix microseconds, for the current step.
    pub now_us: u64,
    pub start_us: u64,
    pub dbs: Vec<Db>,
    pub clients: BTreeMap<ConnId, Box<Client>>,
    /// The client whose command is running (server.current_client): it is
    /// in `clients`, and freeing it waits until the command is over.
    pub current_client: Option<ConnId>,
    /// File descriptors the clients' sockets hold (lowest free first, as
    /// the kernel hands them out).
    pub client_fds: std::collections::BTreeSet<i64>,
    pub next_client_id: u64,
    pub next_outbound: u64,
    pub outputs: VecDeque<Output>,
    pub stats: Stats,
    /// DEBUG REPLYBUFFER's knobs and clientsCron's client rotation.
    pub reply_buffer: crate::reply_buffer::ReplyBufferCron,
    /// Changes since the last save (server.dirty).
    pub dirty: u64,
    pub lastsave_s: i64,
    pub cronloops: u64,
    pub next_cron_us: u64,
    pub cost: Cost,
    pub repl: ReplicationState,
    /// Commands to propagate at the end of the current call: (db, argv).
    pub also_propagate: Vec<(usize, Vec<Vec<u8>>)>,
    /// What the running top-level call will propagate, wrapped in
    /// MULTI/EXEC if it is more than one command (server.also_propagate).
    pub pending_propagate: Vec<(usize, Vec<Vec<u8>>, Target)>,
    /// Nesting of call(): 1 for a client's command, 2 inside its EXEC.
    pub call_depth: u32,
    /// EXEC is running its queued commands (server.in_exec).
    pub in_exec: bool,
    /// DEBUG SET-ACTIVE-EXPIRE (server.active_expire_enabled).
    pub active_expire_enabled: bool,
    /// WATCHed keys and the clients whose EXEC must fail (multi.rs).
    pub watch: crate::multi::WatchState,
    /// Is the command being run sent by our master?
    pub executing_master_stream: bool,
    /// State of the active expire cycle (expire.rs).
    pub expire: crate::expire::ExpireState,
    pub loading: bool,
    /// Virtual CPU time consumed by the main thread since start, µs.
    pub cpu_used_us: u64,
    /// The running child process, if any (child.rs).
    pub child: Option<crate::child::Child>,
    pub forks: crate::child::ForkStats,
    /// SAVE/BGSAVE state, save points, loading stats (rdb/bgsave.rs).
    pub rdb: crate::rdb::bgsave::RdbState,
    pub shutdown: crate::shutdown::ShutdownState,
    /// The append-only file (aof/).
    pub aof: crate::aof::AofState,
    /// maxmemory: LRU clock, eviction pool, eviction timer (evict.rs).
    pub evict: crate::evict::EvictState,
    /// The BIO_LAZY_FREE thread's queue (lazyfree.rs).
    pub lazyfree: crate::lazyfree::LazyfreeState,
    /// The memory model: simulated pages, key allocations, COW (memory/).
    pub mem: crate::memory::MemState,
    /// Channels and patterns with their subscribers (pubsub.rs).
    pub pubsub: crate::pubsub::PubsubState,
    /// Sentinel mode's state (sentinel/); None in Redis mode.
    pub sentinel: Option<crate::sentinel::SentinelState>,
}

/// The first descriptor a client socket gets (see Server::alloc_fd).
const FIRST_CLIENT_FD: i64 = 8;

/// The connection of the scenario's admin hand while its command runs. It
/// has the outbound bit, so it never clashes with a host's connection, and
/// the engine never dials that many outbound connections.
pub const ADMIN_CONN: ConnId = ConnId(u64::MAX - 1);

/// Forty lowercase hex characters from the engine's RNG (a run id or replid).
pub fn random_hex40(rng: &mut ChaCha8Rng) -> String {
    let mut bytes = [0u8; 20];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

impl Server {
    pub fn new(config: Config, options: EngineOptions, now_us: u64) -> Server {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let run_id = random_hex40(&mut rng);
        let repl = ReplicationState::new(&mut rng);
        let dbs = (0..config.hot.databases).map(|_| Db::default()).collect();
        let aof = crate::aof::AofState::new(&config, (now_us / 1_000_000) as i64);
        let mem = crate::memory::MemState::new(options.machine.thp, options.seed);
        let table = if options.sentinel {
            crate::sentinel::commands::table()
        } else {
            CommandTable::new()
        };
        let mut srv = Server {
            mem,
            config,
            options,
            run_id,
            rng,
            table,
            now_us,
            start_us: now_us,
            dbs,
            clients: BTreeMap::new(),
            current_client: None,
            client_fds: Default::default(),
            next_client_id: 1,
            next_outbound: 1,
            outputs: VecDeque::new(),
            stats: Stats::default(),
            reply_buffer: Default::default(),
            dirty: 0,
            lastsave_s: (now_us / 1_000_000) as i64,
            cronloops: 0,
            // serverCron's timer is created with a 1 ms delay (aeCreateTimeEvent(.., 1, serverCron, ..)).
            next_cron_us: now_us + 1000,
            cost: Cost::default(),
            repl,
            also_propagate: Vec::new(),
            pending_propagate: Vec::new(),
            call_depth: 0,
            in_exec: false,
            watch: Default::default(),
            active_expire_enabled: true,
            executing_master_stream: false,
            expire: Default::default(),
            loading: false,
            cpu_used_us: 0,
            child: None,
            forks: Default::default(),
            rdb: Default::default(),
            shutdown: Default::default(),
            aof,
            evict: crate::evict::EvictState::new(now_us),
            lazyfree: Default::default(),
            pubsub: Default::default(),
            sentinel: None,
        };
        if srv.options.sentinel {
            if let Err(e) = crate::sentinel::on_startup(&mut srv) {
                srv.log(
                    LogLevel::Warning,
                    format!("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) *** {}", e),
                );
                srv.rdb.exited = Some(e);
            }
            return srv;
        }
        srv.log(LogLevel::Notice, "Server initialized".into());
        crate::replication::on_startup(&mut srv);
        crate::aof::on_startup(&mut srv);
        crate::rdb::startup::load_data_from_disk(&mut srv);
        // Loading blocked the loop: the host sees it in the first step.
        srv.rdb.startup_block_us = srv.cost.take_us();
        if srv.rdb.exited.is_none() {
            srv.log(LogLevel::Notice, "Ready to accept connections".into());
        }
        srv
    }

    // ---- time ----

    pub fn mstime(&self) -> i64 {
        (self.now_us / 1000) as i64
    }
    /// server.unixtime: whole seconds, as Redis's 1-second checks see it.
    pub fn unixtime(&self) -> i64 {
        (self.now_us / 1_000_000) as i64
    }
    pub fn uptime_s(&self) -> i64 {
        ((self.now_us.saturating_sub(self.start_us)) / 1_000_000) as i64
    }

    pub fn begin_step(&mut self, now_us: u64) {
        // A clock that jumps backwards is honoured, as Redis honours it.
        self.now_us = now_us;
        self.cost = Cost::default();
        self.cost
            .block_us(std::mem::take(&mut self.rdb.startup_block_us));
    }

    pub fn end_step(&mut self) -> Step {
        let cpu_us = self.cost.take_us();
        self.cpu_used_us += cpu_us;
        Step { cpu_us }
    }

    pub fn next_timeout_us(&self) -> Option<u64> {
        let mut next = self.next_cron_us;
        if self.evict.timer_running {
            next = next.min(self.now_us);
        }
        for c in self.clients.values() {
            if let Some((_, _, deadline_ms)) = c.blocked_wait {
                if deadline_ms > 0 {
                    next = next.min(deadline_ms as u64 * 1000);
                }
            }
        }
        Some(next)
    }

    // ---- output ----

    pub fn log(&mut self, level: LogLevel, message: String) {
        let role = if self.options.sentinel {
            'X'
        } else if self.repl.master.is_some() {
            'S'
        } else {
            'M'
        };
        self.outputs.push_back(Output::Log(LogLine {
            level,
            role,
            message,
        }));
    }

    pub fn event(&mut self, name: &str, detail: String) {
        self.outputs.push_back(Output::Event(Event {
            name: name.to_string(),
            detail,
        }));
    }

    pub fn send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        self.stats.net_output_bytes += bytes.len() as u64;
        self.cost.bytes_out(bytes.len());
        self.outputs.push_back(Output::Send { conn, bytes });
    }

    // ---- client lifecycle ----

    pub fn accept_client(&mut self, conn: ConnId, peer: String, local_port: u16) {
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.stats.total_connections_received += 1;
        self.cost.accept();
        let mut client = Client::new(id, conn, peer, self.mstime());
        client.fd = self.alloc_fd();
        client.local_port = Some(local_port);
        self.clients.insert(conn, Box::new(client));
    }

    pub fn connection_closed(&mut self, conn: ConnId) {
        if crate::sentinel::owns_outbound(self, conn) {
            crate::sentinel::links::closed(self, conn);
            return;
        }
        if crate::replication::owns_outbound(self, conn) {
            crate::replication::master_link_closed(self, conn);
            return;
        }
        self.free_client(conn);
    }

    pub fn outbound_connected(&mut self, conn: ConnId) {
        if crate::sentinel::owns_outbound(self, conn) {
            crate::sentinel::links::connected(self, conn);
            return;
        }
        crate::replication::master_link_connected(self, conn);
    }

    pub fn outbound_failed(&mut self, conn: ConnId) {
        if crate::sentinel::owns_outbound(self, conn) {
            crate::sentinel::links::closed(self, conn);
            return;
        }
        crate::replication::master_link_failed(self, conn);
    }

    /// freeClient. The running client is only marked (freeClientAsync): it
    /// goes at the end of the step, after its command.
    pub fn free_client(&mut self, conn: ConnId) {
        if self.current_client == Some(conn) {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.close_asap = true;
            }
            return;
        }
        let Some(mut client) = self.clients.remove(&conn) else {
            return;
        };
        self.client_fds.remove(&client.fd);
        crate::multi::free_client_state(self, conn);
        crate::pubsub::free_client(self, &mut client);
        match client.kind {
            ClientKind::Replica => crate::replication::replica_freed(self, &client),
            ClientKind::Master => crate::replication::master_client_freed(self, &client),
            ClientKind::Normal => {}
        }
    }

    /// The lowest free descriptor for a new socket. 0-7 are redis-server
    /// 7.0.15's own at start (stdio, a pipe, epoll, the IPv4 and IPv6
    /// listening sockets): its first client gets fd 8.
    pub fn alloc_fd(&mut self) -> i64 {
        let mut fd = FIRST_CLIENT_FD;
        while self.client_fds.contains(&fd) {
            fd += 1;
        }
        self.client_fds.insert(fd);
        fd
    }

    /// Allocates an id for an outbound connection.
    pub fn new_outbound_conn(&mut self) -> ConnId {
        let id = ConnId(ConnId::OUTBOUND_BIT | self.next_outbound);
        self.next_outbound += 1;
        id
    }

    pub fn read_from_client(&mut self, conn: ConnId, bytes: &[u8]) {
        self.stats.net_input_bytes += bytes.len() as u64;
        self.cost.bytes_in(bytes.len());
        if crate::sentinel::owns_outbound(self, conn) {
            crate::sentinel::links::read(self, conn, bytes);
            return;
        }
        if crate::replication::owns_outbound(self, conn) && !self.clients.contains_key(&conn) {
            crate::replication::read_from_master_link(self, conn, bytes);
            return;
        }
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        if client.close_after_reply || client.close_asap {
            return;
        }
        client.querybuf.extend_from_slice(bytes);
        client.bytes_in += bytes.len() as u64;
        client.last_interaction_ms = (self.now_us / 1000) as i64;
        self.process_input(conn);
    }

    /// Parses and runs every complete request in a client's query buffer,
    /// then drops the bytes consumed. Like Redis (qb_pos), the buffer keeps
    /// the processed bytes until the whole batch ran, which is what CLIENT
    /// LIST's qbuf shows from inside a command.
    pub fn process_input(&mut self, conn: ConnId) {
        self.process_input_batch(conn);
        if let Some(client) = self.clients.get_mut(&conn) {
            let consumed = client.qb_pos.min(client.querybuf.len());
            client.querybuf.drain(..consumed);
            client.qb_pos = 0;
        }
    }

    fn process_input_batch(&mut self, conn: ConnId) {
        let limits = resp::Limits {
            proto_max_bulk_len: self.config.hot.proto_max_bulk_len,
        };
        let now_ms = self.mstime();
        loop {
            let Some(client) = self.clients.get_mut(&conn) else {
                return;
            };
            if client.blocked_wait.is_some() || client.close_after_reply || client.close_asap {
                return;
            }
            if client.qb_pos >= client.querybuf.len() {
                return;
            }
            let is_master = client.kind == ClientKind::Master;
            match resp::parse_request(&client.querybuf[client.qb_pos..], limits) {
                Ok(Parsed::Incomplete) => {
                    if client.querybuf.len() as i64 > self.config.hot.client_query_buffer_limit {
                        let line = client.info_line(now_ms, "");
                        self.log(
                            LogLevel::Warning,
                            format!(
                                "Closing client that reached max query buffer length: {}",
                                line
                            ),
                        );
                        self.close_connection(conn);
                    }
                    return;
                }
                Ok(Parsed::Request { argv, consumed }) => {
                    let start = client.qb_pos;
                    client.qb_pos += consumed;
                    // A replica keeps the master's stream bytes it applied (offset, backlog, sub-replicas).
                    let request = if is_master {
                        client.querybuf[start..start + consumed].to_vec()
                    } else {
                        Vec::new()
                    };
                    if !argv.is_empty() {
                        self.run_client_command(conn, argv);
                    }
                    if is_master {
                        crate::replication::master_stream_consumed(self, conn, &request);
                    }
                }
                Err(e) => {
                    let text = e.text();
                    client.reply.raw(&e.reply());
                    client.close_after_reply = true;
                    client.querybuf.clear();
                    client.qb_pos = 0;
                    self.stats.total_error_replies += 1;
                    *self.stats.errors_by_code.entry("ERR".into()).or_default() += 1;
                    let info = client.info_line(now_ms, "");
                    self.log(
                        LogLevel::Verbose,
                        format!("Protocol error ({}) from client: {}", text, info),
                    );
                    return;
                }
            }
        }
    }

    /// The client table entry for `conn`. Only for clients known to be in
    /// the table (the running client always is: see `current_client`).
    pub fn client_mut(&mut self, conn: ConnId) -> &mut Client {
        self.clients
            .get_mut(&conn)
            .expect("client is in the client table")
    }

    /// Runs a command for a connected client. The client stays in the table
    /// throughout; `current_client` names it so that freeing it is deferred
    /// until the command is over (Redis's CLIENT_CLOSE_ASAP for the current
    /// client).
    pub fn run_client_command(&mut self, conn: ConnId, argv: Vec<Vec<u8>>) {
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        let is_master = client.kind == ClientKind::Master;
        client.argv_mem = argv.iter().map(|a| a.len()).sum();
        let outer = self.current_client.replace(conn);
        self.executing_master_stream = is_master;
        self.process_command(conn, &argv);
        self.executing_master_stream = false;
        self.current_client = outer;
        if let Some(client) = self.clients.get_mut(&conn) {
            client.argv_mem = 0;
        }
    }

    /// Runs a command for the scenario's admin hand, a short-lived local
    /// connection like a redis-cli invocation: it is in the client table
    /// (CLIENT LIST and connected_clients see it) for the command, then
    /// goes away. Returns its reply.
    pub fn run_admin_command(&mut self, argv: Vec<Vec<u8>>) -> Vec<u8> {
        if argv.is_empty() {
            return Vec::new();
        }
        assert!(
            !self.clients.contains_key(&ADMIN_CONN),
            "one admin command at a time"
        );
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.stats.total_connections_received += 1;
        let mut admin = Client::new(id, ADMIN_CONN, "127.0.0.1:0".into(), self.mstime());
        admin.fd = self.alloc_fd();
        admin.admin = true;
        self.clients.insert(ADMIN_CONN, Box::new(admin));
        self.run_client_command(ADMIN_CONN, argv);
        let reply = self
            .clients
            .get_mut(&ADMIN_CONN)
            .map(|c| c.reply.take())
            .unwrap_or_default();
        // The connection closes from its side: no Output::Close for the host.
        self.free_client(ADMIN_CONN);
        reply
    }

    /// Records an error reply in the stats, the way afterErrorReply does.
    fn count_error(&mut self, conn: ConnId, error: &str) {
        self.client_mut(conn).reply.err(error);
        self.stats.total_error_replies += 1;
        let code = error.split(' ').next().unwrap_or("ERR").to_string();
        *self.stats.errors_by_code.entry(code).or_default() += 1;
    }

    /// Rejects with an error that may hold raw argument bytes; CR and LF
    /// become spaces, as addReplyErrorSdsSafe does.
    fn reject_bytes(&mut self, conn: ConnId, error: &[u8]) {
        self.stats.rejected_calls += 1;
        let mut line = b"-".to_vec();
        line.extend(
            error
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        line.extend_from_slice(b"\r\n");
        self.client_mut(conn).reply.raw(&line);
        self.stats.total_error_replies += 1;
        let end = error.iter().position(|&b| b == b' ').unwrap_or(error.len());
        *self
            .stats
            .errors_by_code
            .entry(String::from_utf8_lossy(&error[..end]).into_owned())
            .or_default() += 1;
    }

    fn reject(&mut self, conn: ConnId, error: &str) {
        self.stats.rejected_calls += 1;
        self.count_error(conn, error);
    }

    /// rejectCommand: the error also dooms an open transaction, and a
    /// rejected EXEC discards it with an EXECABORT that gives the reason.
    fn reject_command(&mut self, conn: ConnId, is_exec: bool, error: &str) {
        crate::multi::flag_transaction(self.client_mut(conn));
        if is_exec {
            crate::multi::discard_transaction(self, conn);
            let reason = error.strip_prefix("ERR ").unwrap_or(error);
            self.reject(
                conn,
                &format!("EXECABORT Transaction discarded because of: {}", reason),
            );
        } else {
            self.reject(conn, error);
        }
    }

    /// processCommand: lookup, arity, the deny checks in Redis's order, then
    /// queue (inside MULTI) or call.
    pub fn process_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) {
        self.cost.command();
        let c = self.client_mut(conn);
        if util_eq(&argv[0], "quit") {
            c.reply.ok();
            c.close_after_reply = true;
            return;
        }
        // Like c->lastcmd, set at lookup: CLIENT LIST shows the running command.
        c.last_cmd = "NULL".into();
        let Some(base) = self.table.lookup(&argv[0]) else {
            crate::multi::flag_transaction(self.client_mut(conn));
            self.reject_bytes(conn, &commands::unknown_command_error(argv));
            return;
        };
        if base.subcommands.is_empty() || argv.len() == 1 {
            self.client_mut(conn).last_cmd = base.name.to_string();
        }
        let is_exec = base.name == "exec";
        if !base.arity_ok(argv.len()) {
            self.reject_command(
                conn,
                is_exec,
                &format!("ERR wrong number of arguments for '{}' command", base.name),
            );
            return;
        }
        let (cmd, full_name) = match commands::resolve(base, argv) {
            Ok(found) => found,
            Err(e) => {
                crate::multi::flag_transaction(self.client_mut(conn));
                self.reject_bytes(conn, &[&b"ERR "[..], &e].concat());
                return;
            }
        };
        self.client_mut(conn).last_cmd = full_name.clone();
        if !cmd.arity_ok(argv.len()) {
            self.reject_command(
                conn,
                false,
                &format!("ERR wrong number of arguments for '{}' command", full_name),
            );
            return;
        }
        self.check_and_call(conn, cmd, is_exec, full_name, argv);
    }

    /// The rest of processCommand once the command is known: the deny
    /// checks, then queue (inside MULTI) or call.
    fn check_and_call(
        &mut self,
        conn: ConnId,
        cmd: &'static Command,
        is_exec: bool,
        full_name: String,
        argv: &[Vec<u8>],
    ) {
        let in_multi = self.client_mut(conn).in_multi;
        if in_multi && crate::multi::denied_in_multi(cmd) {
            self.reject_command(conn, false, "ERR Command not allowed inside a transaction");
            return;
        }
        if let Some(error) = crate::evict::check_before_command(self, conn, cmd) {
            self.reject_command(conn, is_exec, error);
            self.stats.per_command.entry(full_name).or_default().2 += 1;
            return;
        }
        if let Some(error) = self.deny_reason(conn, cmd, &full_name) {
            self.reject_command(conn, is_exec, &error);
            self.stats.per_command.entry(full_name).or_default().2 += 1;
            return;
        }
        if in_multi && !crate::multi::runs_inside_multi(cmd) {
            crate::multi::queue_command(self.client_mut(conn), cmd, argv);
            return;
        }
        self.call(conn, cmd, &full_name, argv);
    }

    fn deny_reason(
        &self,
        conn: ConnId,
        cmd: &Command,
        full_name: &str,
    ) -> Option<std::borrow::Cow<'static, str>> {
        let c = self
            .clients
            .get(&conn)
            .expect("client is in the client table");
        // An EXEC counts as a write if it would run one (processCommand's is_write_command).
        let is_write = cmd.is_write() || (cmd.name == "exec" && c.mstate_write);
        let from_master = c.kind == ClientKind::Master;
        if (is_write || cmd.name == "ping") && !from_master {
            if let Some(error) = crate::rdb::bgsave::disk_error(self) {
                return Some(error.into());
            }
        }
        if is_write && !from_master && !crate::replication::good_replicas_ok(self) {
            return Some(errors::NOREPLICAS.into());
        }
        if is_write
            && !from_master
            && self.repl.master.is_some()
            && self.config.hot.replica_read_only
        {
            return Some(errors::READONLY.into());
        }
        if let Some(error) = crate::pubsub::context_error(c, cmd, full_name) {
            return Some(error.into());
        }
        if self.repl.master.is_some()
            && !self.config.hot.replica_serve_stale_data
            && !crate::replication::master_link_up(self)
            && cmd.flags & flags::STALE == 0
        {
            return Some(errors::MASTERDOWN.into());
        }
        None
    }

    /// call(): run the handler, account, and collect what changed the
    /// dataset for propagation; the outermost call propagates it all.
    pub(crate) fn call(
        &mut self,
        conn: ConnId,
        cmd: &'static Command,
        full_name: &str,
        argv: &[Vec<u8>],
    ) {
        let dirty_before = self.dirty;
        let errors_before = self.stats.total_error_replies;
        // incrCommandStatsOnError(NULL, 0): errors from here on are this call's.
        self.stats.prev_err_count = errors_before;
        let c = self.client_mut(conn);
        let reply_len_before = c.reply.buf.len();
        let db_before = c.db;
        // CLIENT_FORCE_REPL is per call: an EXEC's PUBLISH does not force the EXEC.
        let force_repl_outer = std::mem::take(&mut c.force_repl);
        let cost_before = self.cost.ns();
        self.also_propagate.clear();
        if self.call_depth == 0 {
            // Writes made outside any command (loading) touch nothing.
            self.watch.clear_pending();
        }
        self.call_depth += 1;
        crate::evict::command_starts(self);
        (cmd.handler)(&mut Ctx::new(self, conn, argv));
        let force_repl = std::mem::replace(&mut self.client_mut(conn).force_repl, force_repl_outer);
        self.call_depth -= 1;
        crate::memory::flush_pending(self);
        self.count_reply_error(conn, reply_len_before, errors_before);
        self.stats.total_commands_processed += 1;
        let usec = (self.cost.ns() - cost_before) / 1000;
        self.stats.account_call(full_name, usec);
        let changed = self.dirty > dirty_before;
        let mut own = std::mem::take(&mut self.also_propagate);
        if changed && cmd.flags & flags::NO_PROPAGATE == 0 && own.is_empty() {
            own.push((db_before, argv.to_vec()));
        }
        let forced_only = force_repl && own.is_empty();
        self.pending_propagate.extend(
            own.into_iter()
                .map(|(db, argv)| (db, argv, Target::AofAndRepl)),
        );
        if forced_only {
            self.pending_propagate
                .push((db_before, argv.to_vec(), Target::ReplOnly));
        }
        crate::multi::commit_modified_keys(self, changed);
        let top_level = self.call_depth == 0;
        if top_level {
            crate::multi::propagate_pending_commands(self, cmd);
        }
        let master_offset = self.repl.master_repl_offset;
        let c = self.client_mut(conn);
        if top_level && (changed || cmd.is_write()) {
            c.woff = master_offset;
        }
        // CLIENT KILL of itself: the reply still goes out, then the close.
        if c.close_after_command {
            c.close_after_command = false;
            c.close_after_reply = true;
        }
    }

    /// A handler that replied with an error is counted the way Redis counts
    /// failed calls and error replies.
    fn count_reply_error(&mut self, conn: ConnId, reply_len_before: usize, errors_before: u64) {
        if self.stats.total_error_replies != errors_before {
            return;
        }
        let c = self
            .clients
            .get(&conn)
            .expect("client is in the client table");
        let new = &c.reply.buf[reply_len_before.min(c.reply.buf.len())..];
        if new.first() == Some(&b'-') {
            let end = new
                .iter()
                .position(|&b| b == b' ' || b == b'\r')
                .unwrap_or(new.len());
            let code = String::from_utf8_lossy(&new[1..end]).into_owned();
            self.stats.failed_calls += 1;
            self.stats.total_error_replies += 1;
            *self.stats.errors_by_code.entry(code).or_default() += 1;
        }
    }

    // ---- the event loop hooks ----

    /// beforeSleep: release WAIT clients, then write pending replies.
    pub fn before_sleep(&mut self) {
        crate::expire::active_expire_fast(self);
        crate::replication::before_sleep(self);
        // The AOF is written (and under appendfsync always, synced) before any reply leaves.
        crate::aof::before_sleep(self);
        self.flush_replies();
    }

    fn flush_replies(&mut self) {
        let mut writes = Vec::new();
        let mut closes = Vec::new();
        for (conn, client) in self.clients.iter_mut() {
            if !client.reply.is_empty() && client.kind != ClientKind::Master {
                let bytes = client.reply.take();
                // A replica's stream goes through the shared replication
                // buffer, and its +FULLRESYNC is written straight to the
                // socket: its static buffer stays empty.
                if client.kind != ClientKind::Replica {
                    client.rbuf.note_pass(bytes.len());
                }
                client.bytes_out += bytes.len() as u64;
                writes.push((*conn, bytes));
            } else if client.kind == ClientKind::Master {
                client.reply.take();
            }
            if client.close_after_reply || client.close_asap {
                closes.push(*conn);
            }
        }
        for (conn, bytes) in writes {
            self.send(conn, bytes);
        }
        for conn in closes {
            self.free_client(conn);
            self.outputs.push_back(Output::Close { conn });
        }
    }

    /// Runs every timer that is due: serverCron at hz.
    pub fn run_timers(&mut self) {
        let period_us = 1_000_000 / self.config.hot.hz as u64;
        let mut ran = 0;
        while self.now_us >= self.next_cron_us && ran < 4 {
            self.server_cron();
            self.next_cron_us += period_us;
            ran += 1;
        }
        if self.now_us >= self.next_cron_us {
            // The loop was blocked far longer than a tick (DEBUG SLEEP, a
            // pause): Redis runs serverCron once and goes on from now.
            self.next_cron_us = self.now_us + period_us;
        }
        crate::replication::wait_timeouts(self);
        crate::evict::timer_proc(self);
    }

    pub fn run_with_period(&self, ms: u64) -> bool {
        let tick_ms = 1000 / self.config.hot.hz as u64;
        ms <= tick_ms || self.cronloops.is_multiple_of(ms / tick_ms)
    }

    fn server_cron(&mut self) {
        self.cost.cron();
        crate::evict::cron(self);
        crate::shutdown::cron(self);
        if self.rdb.exited.is_some() {
            return;
        }
        crate::lazyfree::reap(self);
        crate::expire::databases_cron(self);
        crate::rdb::bgsave::cron_save_points(self);
        crate::aof::cron(self);
        if self.run_with_period(1000) {
            crate::replication::replication_cron(self);
        }
        crate::rdb::bgsave::cron_scheduled(self);
        self.clients_cron();
        crate::memory::cron(self);
        if self.sentinel.is_some() {
            crate::sentinel::timer(self);
        }
        self.cronloops += 1;
    }

    /// clientsCron: visits numclients/hz clients per call (at least
    /// CLIENTS_CRON_MIN_ITERATIONS), rotating the client list tail to head,
    /// so each client is seen about once a second.
    fn clients_cron(&mut self) {
        const CLIENTS_CRON_MIN_ITERATIONS: usize = 5;
        self.sync_cron_order();
        let numclients = self.reply_buffer.order.len();
        let mut iterations = numclients / self.config.hot.hz.max(1) as usize;
        if iterations < CLIENTS_CRON_MIN_ITERATIONS {
            iterations = numclients.min(CLIENTS_CRON_MIN_ITERATIONS);
        }
        let now = self.mstime();
        // The slot of this second; the next one is zeroed so that it holds
        // only what is seen during its own second.
        let slots = crate::reply_buffer::PEAK_MEM_USAGE_SLOTS;
        let slot = (now.div_euclid(1000) as usize) % slots;
        self.reply_buffer.peak_mem_input[(slot + 1) % slots] = 0;
        self.reply_buffer.peak_mem_output[(slot + 1) % slots] = 0;
        while iterations > 0 && !self.reply_buffer.order.is_empty() {
            iterations -= 1;
            let Some(conn) = self.reply_buffer.order.pop_back() else {
                break;
            };
            self.reply_buffer.order.push_front(conn);
            if self.cron_client_timeout(conn, now) {
                continue;
            }
            self.cron_track_expansive_client(conn, slot);
            self.cron_resize_reply_buffer(conn, now);
        }
    }

    /// server.clients in Redis's order: new clients join at the tail,
    /// freed ones leave.
    fn sync_cron_order(&mut self) {
        let clients = &self.clients;
        self.reply_buffer
            .order
            .retain(|conn| clients.contains_key(conn));
        let known: std::collections::BTreeSet<ConnId> =
            self.reply_buffer.order.iter().copied().collect();
        let mut new: Vec<(u64, ConnId)> = clients
            .iter()
            .filter(|(conn, _)| !known.contains(conn))
            .map(|(conn, c)| (c.id, *conn))
            .collect();
        new.sort();
        self.reply_buffer
            .order
            .extend(new.into_iter().map(|(_, conn)| conn));
    }

    /// clientsCronHandleTimeout (the part the model has): true if the
    /// client was closed.
    fn cron_client_timeout(&mut self, conn: ConnId, now_ms: i64) -> bool {
        let timeout_s = self.config.int("timeout");
        let Some(c) = self.clients.get(&conn) else {
            return true;
        };
        if timeout_s <= 0
            || c.kind != ClientKind::Normal
            || c.blocked_wait.is_some()
            || c.in_pubsub()
            || (now_ms - c.last_interaction_ms) / 1000 <= timeout_s
        {
            return false;
        }
        self.log(LogLevel::Verbose, "Closing idle client".into());
        self.free_client(conn);
        self.outputs.push_back(Output::Close { conn });
        true
    }

    /// clientsCronTrackExpansiveClients: the client's input buffer (query
    /// buffer and parsed arguments) and output buffer, as the memory model
    /// and CLIENT LIST count them, raise this second's peaks.
    fn cron_track_expansive_client(&mut self, conn: ConnId, slot: usize) {
        let Some(c) = self.clients.get(&conn) else {
            return;
        };
        let input = c.querybuf.capacity() as u64 + c.argv_mem as u64;
        let output = c.output_buffer_bytes();
        let peaks = &mut self.reply_buffer;
        peaks.peak_mem_input[slot] = peaks.peak_mem_input[slot].max(input);
        peaks.peak_mem_output[slot] = peaks.peak_mem_output[slot].max(output);
    }

    fn cron_resize_reply_buffer(&mut self, conn: ConnId, now_ms: i64) {
        use crate::reply_buffer::{resize, Resize};
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        match resize(&mut c.rbuf, &self.reply_buffer, now_ms) {
            Resize::Shrunk => self.stats.reply_buffer_shrinks += 1,
            Resize::Expanded => self.stats.reply_buffer_expands += 1,
            Resize::None => {}
        }
    }

    /// Asks the host to close a connection and frees its client.
    pub fn close_connection(&mut self, conn: ConnId) {
        if self.current_client == Some(conn) {
            // Closed by flush_replies once its command is over.
            self.free_client(conn);
            return;
        }
        self.free_client(conn);
        self.outputs.push_back(Output::Close { conn });
    }

    pub fn db_index_ok(&self, index: i64) -> bool {
        index >= 0 && (index as usize) < self.dbs.len()
    }
}

fn util_eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

// ---- generic commands ----

pub(crate) fn ping_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if crate::pubsub::ping_in_context(ctx.c(), argv) {
        return;
    }
    match argv.len() {
        1 => ctx.reply().simple("PONG"),
        2 => ctx.reply().bulk(&argv[1]),
        _ => ctx
            .reply()
            .err("ERR wrong number of arguments for 'ping' command"),
    }
}

fn echo_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    ctx.reply().bulk(&argv[1]);
}

/// getIntFromObjectOrReply: a 64-bit integer that must also fit in an int.
/// With `msg`, that text is the error for both failures, as in Redis.
pub fn get_int_arg(arg: &[u8], msg: Option<&str>) -> Result<i32, String> {
    let Some(n) = crate::util::parse_i64(arg) else {
        return Err(msg.map_or(errors::NOT_INTEGER.to_string(), |m| format!("ERR {}", m)));
    };
    i32::try_from(n).map_err(|_| {
        msg.map_or(
            "ERR value is out of range, value must between -2147483648 and 2147483647".to_string(),
            |m| format!("ERR {}", m),
        )
    })
}

fn select_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match get_int_arg(&argv[1], None) {
        Err(e) => ctx.reply().err(&e),
        Ok(i) if !ctx.srv.db_index_ok(i64::from(i)) => ctx.reply().err(errors::INVALID_DB),
        Ok(i) => {
            ctx.db = i as usize;
            ctx.c().db = i as usize;
            ctx.reply().ok();
        }
    }
}

fn time_command(ctx: &mut Ctx) {
    let us = ctx.srv.now_us;
    ctx.reply().array(2);
    ctx.reply().bulk_i64((us / 1_000_000) as i64);
    ctx.reply().bulk_i64((us % 1_000_000) as i64);
}

pub(crate) fn info_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let sections: Vec<String> = argv[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    // used_memory is exact at every moment in Redis: bring the regions that
    // follow client buffers and tables up to date first.
    crate::memory::sync_regions(ctx.srv);
    let text = crate::info::render(ctx.srv, &sections);
    ctx.reply().bulk(text.as_bytes());
}

fn config_get_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let pairs = ctx.srv.config.get_matching_all(&argv[2..]);
    ctx.reply().map(pairs.len());
    for (name, value) in pairs {
        ctx.reply().bulk_str(&name);
        ctx.reply().bulk_str(&value);
    }
}

/// Checks every name first, in Redis's order of precedence: an unknown name,
/// then an immutable one or a duplicate; values are checked only after.
fn config_set_names_error(args: &[Vec<u8>]) -> Option<String> {
    let mut unknown: Option<String> = None;
    let mut other: Option<String> = None;
    let mut specs: Vec<&'static str> = Vec::new();
    for pair in args.chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).into_owned();
        let Some(spec) = crate::config::find_spec(&name) else {
            unknown.get_or_insert(name);
            continue;
        };
        if unknown.is_some() || other.is_some() {
            continue;
        }
        if !spec.mutable {
            other = Some(format!("ERR CONFIG SET failed (possibly related to argument '{}') - can't set immutable config", name));
        } else if crate::config::PROTECTED.contains(&spec.name) {
            other = Some(format!("ERR CONFIG SET failed (possibly related to argument '{}') - can't set protected config", name));
        } else if specs.contains(&spec.name) {
            other = Some(format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
                name
            ));
        }
        specs.push(spec.name);
    }
    match unknown {
        Some(name) => Some(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
            name
        )),
        None => other,
    }
}

fn config_set_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if !argv.len().is_multiple_of(2) {
        ctx.reply().err(errors::SYNTAX);
        return;
    }
    let args = &argv[2..];
    if let Some(e) = config_set_names_error(args) {
        ctx.reply().err(&e);
        return;
    }
    let mut trial = ctx.srv.config.clone();
    for pair in args.chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).into_owned();
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        let canonical = crate::config::find_spec(&name).map_or(name.as_str(), |s| s.name);
        if let Err(e) = trial.set(&name, &[value]) {
            ctx.reply().err(&format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - {}",
                canonical, e.reason
            ));
            return;
        }
    }
    let previous = std::mem::replace(&mut ctx.srv.config, trial);
    if let Err(e) = crate::aof::config_changed(ctx.srv, &previous) {
        ctx.srv.config = previous;
        ctx.reply().err(&e);
        return;
    }
    crate::replication::config_changed(ctx.srv);
    if args
        .chunks(2)
        .any(|pair| crate::util::eq_ic(&pair[0], "maxmemory"))
    {
        crate::evict::maxmemory_changed(ctx.srv);
    }
    ctx.reply().ok();
}

fn config_resetstat_command(ctx: &mut Ctx) {
    ctx.srv.stats = Stats::default();
    crate::lazyfree::reset_stats(ctx.srv);
    crate::evict::reset_stats(ctx.srv);
    ctx.reply().ok();
}

fn config_rewrite_command(ctx: &mut Ctx) {
    ctx.reply()
        .err("ERR The server is running without a config file");
}

fn config_help_command(ctx: &mut Ctx) {
    let lines = [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply().simple_lines(&lines);
}

const CONFIG_SUBCOMMANDS: &[Command] = &[
    Command::new(
        "get",
        -3,
        flags::ADMIN | flags::STALE | flags::LOADING,
        config_get_command,
    ),
    Command::new(
        "set",
        -4,
        flags::ADMIN | flags::STALE | flags::LOADING,
        config_set_command,
    ),
    Command::new(
        "resetstat",
        2,
        flags::ADMIN | flags::STALE | flags::LOADING,
        config_resetstat_command,
    ),
    Command::new(
        "rewrite",
        2,
        flags::ADMIN | flags::STALE | flags::LOADING,
        config_rewrite_command,
    ),
    Command::new(
        "help",
        2,
        flags::STALE | flags::LOADING,
        config_help_command,
    ),
];

/// CLIENT TYPE names as getClientTypeByName knows them.
fn client_type_by_name(name: &[u8]) -> Option<ClientType> {
    match String::from_utf8_lossy(name).to_ascii_lowercase().as_str() {
        "normal" => Some(ClientType::Normal),
        "slave" | "replica" => Some(ClientType::Replica),
        "master" => Some(ClientType::Master),
        "pubsub" => Some(ClientType::Pubsub),
        _ => None,
    }
}

fn client_list_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let now = ctx.srv.mstime();
    let laddr = format!("127.0.0.1:{}", ctx.srv.options.port);
    let mut type_filter: Option<ClientType> = None;
    let mut ids: Option<Vec<u64>> = None;
    if argv.len() == 4 && util_eq(&argv[2], "type") {
        let Some(kind) = client_type_by_name(&argv[3]) else {
            ctx.reply().err(&format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(&argv[3])
            ));
            return;
        };
        type_filter = Some(kind);
    } else if argv.len() > 3 && util_eq(&argv[2], "id") {
        let mut list = Vec::new();
        for arg in &argv[3..] {
            match crate::util::parse_i64(arg) {
                Some(id) if id > 0 => list.push(id as u64),
                _ => {
                    ctx.reply().err("ERR Invalid client ID");
                    return;
                }
            }
        }
        ids = Some(list);
    } else if argv.len() != 2 {
        ctx.reply().err(errors::SYNTAX);
        return;
    }
    let mut lines = Vec::new();
    // The table is keyed by connection; Redis lists clients by id.
    let mut all: Vec<&Client> = ctx.srv.clients.values().map(|c| &**c).collect();
    all.sort_by_key(|c| c.id);
    for client in all {
        if type_filter.is_some_and(|t| t != client.client_type()) {
            continue;
        }
        if ids.as_ref().is_some_and(|list| !list.contains(&client.id)) {
            continue;
        }
        lines.push(client.info_line(now, &client.laddr(&laddr)));
        lines.push("\n".to_string());
    }
    ctx.reply().bulk(lines.concat().as_bytes());
}

fn client_info_command(ctx: &mut Ctx) {
    let laddr = format!("127.0.0.1:{}", ctx.srv.options.port);
    let client = ctx.client();
    let mut line = client.info_line(ctx.srv.mstime(), &client.laddr(&laddr));
    line.push('\n');
    ctx.reply().bulk(line.as_bytes());
}

fn client_help_command(ctx: &mut Ctx) {
    let lines = [
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply().simple_lines(&lines);
}

fn client_id_command(ctx: &mut Ctx) {
    let id = ctx.client().id as i64;
    ctx.reply().int(id);
}

fn client_setname_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let name = &argv[2];
    if name.iter().any(|&b| b <= b' ' || b > b'~') {
        ctx.reply()
            .err("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    ctx.c().name = name.clone();
    ctx.reply().ok();
}

fn client_getname_command(ctx: &mut Ctx) {
    if ctx.c().name.is_empty() {
        ctx.reply().null();
    } else {
        let name = ctx.c().name.clone();
        ctx.reply().bulk(&name);
    }
}

/// The filters of CLIENT KILL.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<String>,
    laddr: Option<String>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, c: &Client, laddr: &str) -> bool {
        self.id.is_none_or(|i| c.id == i)
            && self.kind.is_none_or(|k| k == c.client_type())
            && self.addr.as_ref().is_none_or(|a| c.peer == *a)
            && self.laddr.as_ref().is_none_or(|a| *a == c.laddr(laddr))
    }
}

/// Parses CLIENT KILL's new-style options, replying with Redis's error.
fn client_kill_options(args: &[Vec<u8>]) -> Result<KillFilter, String> {
    let mut f = KillFilter {
        skipme: true,
        ..Default::default()
    };
    let mut i = 0;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return Err(errors::SYNTAX.into());
        };
        let text = String::from_utf8_lossy(value).into_owned();
        match String::from_utf8_lossy(&args[i])
            .to_ascii_lowercase()
            .as_str()
        {
            "id" => match crate::util::parse_i64(value) {
                Some(v) if v >= 1 => f.id = Some(v as u64),
                _ => return Err("ERR client-id should be greater than 0".into()),
            },
            "type" => match client_type_by_name(value) {
                Some(kind) => f.kind = Some(kind),
                None => return Err(format!("ERR Unknown client type '{}'", text)),
            },
            "addr" => f.addr = Some(text),
            "laddr" => f.laddr = Some(text),
            // Only the default user exists: every client is logged in as it.
            "user" if text == "default" => {}
            "user" => return Err(format!("ERR No such user '{}'", text)),
            "skipme" if text.eq_ignore_ascii_case("yes") => f.skipme = true,
            "skipme" if text.eq_ignore_ascii_case("no") => f.skipme = false,
            _ => return Err(errors::SYNTAX.into()),
        }
        i += 2;
    }
    Ok(f)
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [TYPE type] [ADDR addr] [LADDR addr] [USER u] [SKIPME yes/no]
fn client_kill_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let old_style = argv.len() == 3;
    let filter = if old_style {
        KillFilter {
            addr: Some(String::from_utf8_lossy(&argv[2]).into_owned()),
            skipme: false,
            ..Default::default()
        }
    } else {
        match client_kill_options(&argv[2..]) {
            Ok(f) => f,
            Err(e) => {
                ctx.reply().err(&e);
                return;
            }
        }
    };
    let laddr = format!("127.0.0.1:{}", ctx.srv.options.port);
    let me = ctx.conn;
    let victims: Vec<ConnId> = ctx
        .srv
        .clients
        .values()
        .filter(|c| filter.matches(c, &laddr) && !(c.conn == me && filter.skipme))
        .map(|c| c.conn)
        .collect();
    let killed = victims.len();
    for conn in victims {
        if conn == me {
            // clientKillCommand: the caller still gets its reply.
            ctx.c().close_after_command = true;
        } else {
            // freeClient logs "Connection with replica ... lost." for replicas.
            ctx.srv.close_connection(conn);
        }
    }
    if !old_style {
        ctx.reply().int(killed as i64);
    } else if killed == 0 {
        ctx.reply().err("ERR No such client");
    } else {
        ctx.reply().ok();
    }
}

pub(crate) const CLIENT_SUBCOMMANDS: &[Command] = &[
    Command::new(
        "list",
        -2,
        flags::ADMIN | flags::STALE | flags::LOADING,
        client_list_command,
    ),
    Command::new(
        "kill",
        -3,
        flags::ADMIN | flags::STALE | flags::LOADING,
        client_kill_command,
    ),
    Command::new("id", 2, flags::STALE | flags::LOADING, client_id_command),
    Command::new(
        "info",
        2,
        flags::STALE | flags::LOADING,
        client_info_command,
    ),
    Command::new(
        "help",
        2,
        flags::STALE | flags::LOADING,
        client_help_command,
    ),
    Command::new(
        "setname",
        3,
        flags::STALE | flags::LOADING,
        client_setname_command,
    ),
    Command::new(
        "getname",
        2,
        flags::STALE | flags::LOADING,
        client_getname_command,
    ),
];

fn command_count_command(ctx: &mut Ctx) {
    let count = ctx.srv.table.len() as i64;
    ctx.reply().int(count);
}

/// One command's entry: the first six fields of Redis 7.0's (name, arity,
/// flags, first key, last key, step), enough for clients that probe it.
fn reply_command_entry(out: &mut crate::reply::Reply, cmd: &Command, name: &str) {
    out.array(6);
    out.bulk_str(name);
    out.int(cmd.arity as i64);
    let mut fl = vec![if cmd.is_write() { "write" } else { "readonly" }];
    if cmd.is_movable() {
        fl.push("movablekeys");
    }
    out.array(fl.len());
    for f in fl {
        out.simple(f);
    }
    out.int(i64::from(cmd.keys.first));
    out.int(i64::from(cmd.keys.last));
    out.int(i64::from(cmd.keys.step));
}

fn command_command(ctx: &mut Ctx) {
    let mut out = crate::reply::Reply::default();
    let names: Vec<&'static Command> = ctx.srv.table.iter().collect();
    out.array(names.len());
    for cmd in names {
        reply_command_entry(&mut out, cmd, cmd.name);
    }
    ctx.reply().raw(&out.buf);
}

/// COMMAND INFO [name ...]: "container|sub" names a subcommand; an
/// unknown name gets a nil; no name means every command.
fn command_info_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if argv.len() == 2 {
        return command_command(ctx);
    }
    let mut out = crate::reply::Reply::default();
    out.array(argv.len() - 2);
    for arg in &argv[2..] {
        let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
        let (base, sub) = name
            .split_once('|')
            .map_or((name.as_str(), None), |(b, s)| (b, Some(s)));
        let found = ctx
            .srv
            .table
            .lookup(base.as_bytes())
            .and_then(|cmd| match sub {
                None => Some(cmd),
                Some(sub) => cmd.subcommands.iter().find(|c| c.name == sub),
            });
        match found {
            Some(cmd) => reply_command_entry(&mut out, cmd, &name),
            None => out.null(),
        }
    }
    ctx.reply().raw(&out.buf);
}

/// COMMAND LIST [FILTERBY PATTERN <pattern>]: every command name, and
/// each subcommand as "container|sub".
fn command_list_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let pattern = match argv.len() {
        2 => None,
        5 if argv[2].eq_ignore_ascii_case(b"filterby")
            && argv[3].eq_ignore_ascii_case(b"pattern") =>
        {
            Some(argv[4].clone())
        }
        _ => return ctx.reply().err(crate::reply::errors::SYNTAX),
    };
    let mut names: Vec<String> = Vec::new();
    for cmd in ctx.srv.table.iter() {
        names.push(cmd.name.to_string());
        names.extend(
            cmd.subcommands
                .iter()
                .map(|sub| format!("{}|{}", cmd.name, sub.name)),
        );
    }
    if let Some(p) = pattern {
        names.retain(|n| crate::util::glob_match(&p, n.as_bytes(), true));
    }
    ctx.reply().array(names.len());
    for n in names {
        ctx.reply().bulk_str(&n);
    }
}

fn command_docs_command(ctx: &mut Ctx) {
    ctx.reply().array(0);
}

pub(crate) const COMMAND_SUBCOMMANDS: &[Command] = &[
    Command::new(
        "count",
        2,
        flags::STALE | flags::LOADING,
        command_count_command,
    ),
    Command::new(
        "docs",
        -2,
        flags::STALE | flags::LOADING,
        command_docs_command,
    ),
    Command::new(
        "info",
        -2,
        flags::STALE | flags::LOADING,
        command_info_command,
    ),
    Command::new(
        "list",
        -2,
        flags::STALE | flags::LOADING,
        command_list_command,
    ),
];

pub(crate) fn command_entry(ctx: &mut Ctx) {
    if ctx.argv.len() == 1 {
        command_command(ctx);
    }
}

/// FUNCTION FLUSH [ASYNC|SYNC]: there are no functions to flush; Redis's
/// test suite calls it before every unit in external-server mode.
fn function_flush_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    match argv.get(2) {
        None => ctx.reply().ok(),
        Some(mode) if util_eq(mode, "async") || util_eq(mode, "sync") => ctx.reply().ok(),
        Some(_) => ctx
            .reply()
            .err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
    }
}

/// FUNCTION LIST: no libraries are ever loaded.
fn function_list_command(ctx: &mut Ctx) {
    ctx.reply().array(0);
}

const FUNCTION_SUBCOMMANDS: &[Command] = &[
    Command::new(
        "flush",
        -2,
        flags::WRITE | flags::NOSCRIPT,
        function_flush_command,
    ),
    Command::new("list", -2, flags::NOSCRIPT, function_list_command),
];

fn lastsave_command(ctx: &mut Ctx) {
    let lastsave_s = ctx.srv.lastsave_s;
    ctx.reply().int(lastsave_s);
}

pub const COMMANDS: &[Command] = &[
    // Not STALE since 7.0 (ping.json: FAST, SENTINEL): a replica with
    // replica-serve-stale-data no answers -MASTERDOWN.
    Command::new("ping", -1, flags::FAST, ping_command),
    Command::new("echo", 2, flags::FAST, echo_command),
    Command::new(
        "select",
        2,
        flags::FAST | flags::STALE | flags::LOADING,
        select_command,
    ),
    Command::new(
        "time",
        1,
        flags::FAST | flags::STALE | flags::LOADING,
        time_command,
    ),
    Command::new("info", -1, flags::STALE | flags::LOADING, info_command),
    Command::new(
        "lastsave",
        1,
        flags::FAST | flags::STALE | flags::LOADING,
        lastsave_command,
    ),
    Command::container("config", -2, 0, CONFIG_SUBCOMMANDS),
    Command::container("client", -2, 0, CLIENT_SUBCOMMANDS),
    Command::container("function", -2, 0, FUNCTION_SUBCOMMANDS),
    Command {
        name: "command",
        arity: -1,
        flags: flags::STALE | flags::LOADING,
        handler: command_entry,
        subcommands: COMMAND_SUBCOMMANDS,
        keys: crate::commands::KeySpec::NONE,
    },
];
