//! Clients: connection state, query buffers, reply buffers, CLIENT LIST.

use crate::reply::Reply;
use crate::ConnId;

/// Client flags Redis shows in CLIENT LIST `flags=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Normal,
    /// A replica attached to this master (flag S).
    Replica,
    /// The link from this replica to its master (flag M).
    Master,
}

/// Replica states on the master side (SLAVE_STATE_* in server.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaveState {
    WaitBgsaveStart,
    WaitBgsaveEnd,
    SendBulk,
    Online,
}

impl SlaveState {
    /// The name INFO replication prints in slaveN:...,state=.
    pub fn info_name(self) -> &'static str {
        match self {
            SlaveState::WaitBgsaveStart | SlaveState::WaitBgsaveEnd => "wait_bgsave",
            SlaveState::SendBulk => "send_bulk",
            SlaveState::Online => "online",
        }
    }
}

/// Master-side view of an attached replica.
#[derive(Debug, Clone)]
pub struct ReplicaInfo {
    pub state: SlaveState,
    pub listening_port: u16,
    pub ip: String,
    /// Highest offset the replica acknowledged with REPLCONF ACK.
    pub ack_off: i64,
    /// server.unixtime of the last REPLCONF ACK (repl_ack_time), seconds.
    pub ack_time_s: i64,
    /// The stream offset this replica's output starts from (psync_initial_offset).
    pub initial_offset: i64,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// Bytes of replication stream queued for this replica but not yet sent
    /// (its share of the shared replication buffer).
    pub pending_stream_bytes: u64,
    /// Unix seconds when the soft output-buffer limit was first exceeded.
    pub obuf_soft_limit_reached_s: i64,
}

#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub conn: ConnId,
    /// The socket's file descriptor (-1 for the AOF loader's fake client).
    pub fd: i64,
    pub peer: String,
    /// The local port an accepted connection came in on (None for the
    /// replica's link to its master, which this process dialled).
    pub local_port: Option<u16>,
    pub name: Vec<u8>,
    pub db: usize,
    pub kind: ClientKind,
    pub querybuf: Vec<u8>,
    /// Bytes of `querybuf` already parsed in the current batch (c->qb_pos).
    pub qb_pos: usize,
    /// Total argument bytes of the command running now (argv-mem).
    pub argv_mem: usize,
    pub reply: Reply,
    /// The static reply buffer's size and peak (CLIENT LIST rbs/rbp).
    pub rbuf: crate::reply_buffer::ReplyBuffer,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    pub last_cmd: String,
    /// Master offset after this client's last write (c->woff), for WAIT.
    pub woff: i64,
    /// Close once the pending reply is written (protocol error, QUIT).
    pub close_after_reply: bool,
    /// CLIENT KILL of itself: close after this command's reply
    /// (CLIENT_CLOSE_AFTER_COMMAND, turned into close_after_reply by call()).
    pub close_after_command: bool,
    /// The scenario's admin hand (the operator on the box): DEBUG is
    /// allowed whatever enable-debug-command says.
    pub admin: bool,
    /// Closed by CLIENT KILL or an output-buffer limit; freed at the end of the step.
    pub close_asap: bool,
    pub replica: Option<ReplicaInfo>,
    /// A blocked WAIT: (target offset, replicas wanted, deadline ms or 0).
    pub blocked_wait: Option<(i64, i64, i64)>,
    /// Total bytes read from this client.
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub resp: u8,
    /// Inside MULTI: commands are queued until EXEC (CLIENT_MULTI).
    pub in_multi: bool,
    /// A command failed to queue, so EXEC must abort (CLIENT_DIRTY_EXEC).
    pub dirty_exec: bool,
    /// The queued commands' arguments (c->mstate).
    pub mstate: Vec<Vec<Vec<u8>>>,
    /// Some queued command is a write (mstate.cmd_flags & CMD_WRITE).
    pub mstate_write: bool,
    /// Channels subscribed (c->pubsub_channels), in subscription order.
    pub pubsub_channels: crate::object::Set<Vec<u8>>,
    /// Patterns subscribed (c->pubsub_patterns, a list in Redis 7.0).
    pub pubsub_patterns: Vec<Vec<u8>>,
    /// The running command asks to be propagated to replicas even though it
    /// changed nothing (CLIENT_FORCE_REPL: PUBLISH).
    pub force_repl: bool,
}

/// getClientType: the class CLIENT LIST/KILL TYPE and the output buffer
/// limits go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

impl Client {
    pub fn new(id: u64, conn: ConnId, peer: String, now_ms: i64) -> Client {
        Client {
            id,
            conn,
            fd: -1,
            peer,
            local_port: None,
            name: Vec::new(),
            db: 0,
            kind: ClientKind::Normal,
            querybuf: Vec::new(),
            qb_pos: 0,
            argv_mem: 0,
            reply: Reply::default(),
            rbuf: crate::reply_buffer::ReplyBuffer::new(now_ms),
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            last_cmd: "NULL".into(),
            woff: 0,
            close_after_reply: false,
            close_after_command: false,
            admin: false,
            close_asap: false,
            replica: None,
            blocked_wait: None,
            bytes_in: 0,
            bytes_out: 0,
            resp: 2,
            in_multi: false,
            dirty_exec: false,
            mstate: Vec::new(),
            mstate_write: false,
            pubsub_channels: Default::default(),
            pubsub_patterns: Vec::new(),
            force_repl: false,
        }
    }

    /// Channels plus patterns subscribed (clientSubscriptionsCount).
    pub fn subscription_count(&self) -> usize {
        self.pubsub_channels.len() + self.pubsub_patterns.len()
    }

    /// CLIENT_PUBSUB: set by a subscription, cleared when the last one goes.
    pub fn in_pubsub(&self) -> bool {
        self.subscription_count() > 0
    }

    pub fn client_type(&self) -> ClientType {
        match self.kind {
            ClientKind::Master => ClientType::Master,
            ClientKind::Replica => ClientType::Replica,
            ClientKind::Normal if self.in_pubsub() => ClientType::Pubsub,
            ClientKind::Normal => ClientType::Normal,
        }
    }

    pub fn flags(&self) -> String {
        let mut flags = String::new();
        match self.kind {
            ClientKind::Replica => flags.push('S'),
            ClientKind::Master => flags.push('M'),
            ClientKind::Normal => {}
        }
        if self.in_pubsub() {
            flags.push('P');
        }
        if self.in_multi {
            flags.push('x');
        }
        if self.blocked_wait.is_some() {
            flags.push('b');
        }
        if self.close_asap {
            flags.push('A');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// CLIENT LIST's laddr: the listening address's host with the port the
    /// connection came in on; `listen_laddr` for a connection this process dialled.
    pub fn laddr(&self, listen_laddr: &str) -> String {
        match (self.local_port, listen_laddr.rsplit_once(':')) {
            (Some(port), Some((host, _))) => format!("{}:{}", host, port),
            _ => listen_laddr.to_string(),
        }
    }

    /// getClientOutputBufferMemoryUsage: a replica's share of the
    /// replication buffer, the stream held for it during its full sync.
    pub fn output_buffer_bytes(&self) -> u64 {
        self.replica.as_ref().map_or(0, |r| r.pending_stream_bytes)
    }

    /// One CLIENT LIST line (without the trailing newline), fields in Redis 7.0's order.
    pub fn info_line(&self, now_ms: i64, laddr: &str) -> String {
        let (multi_argv_bytes, multi_array_bytes) =
            crate::reply_buffer::multi_state_bytes(&self.mstate);
        let omem = self.output_buffer_bytes();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.peer,
            laddr,
            self.fd,
            String::from_utf8_lossy(&self.name),
            (now_ms - self.created_ms).max(0) / 1000,
            (now_ms - self.last_interaction_ms).max(0) / 1000,
            self.flags(),
            self.db,
            self.pubsub_channels.len(),
            self.pubsub_patterns.len(),
            if self.in_multi { self.mstate.len() as i64 } else { -1 },
            self.querybuf.len(),
            self.querybuf.capacity() - self.querybuf.len(),
            self.argv_mem,
            multi_argv_bytes,
            self.rbuf.usable_size_bytes,
            self.rbuf.peak_bytes,
            self.reply.buf.len(),
            omem,
            // The memory model's figure for the client, plus the running
            // command's arguments and the queued MULTI commands
            // (getClientMemoryUsage counts both).
            crate::memory::client_memory_bytes(self)
                + omem
                + self.argv_mem as u64
                + multi_argv_bytes
                + multi_array_bytes,
            self.last_cmd,
            self.resp,
        )
    }
}
