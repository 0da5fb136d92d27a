//! One redsim process as a set of tasks: the engine's loop, the accept
//! loop, a reader and a writer per connection, a task per outbound connect,
//! background fsync and child. The same code runs under madsim (every task
//! on the node, virtual time) and on a real tokio runtime (loopback).
//!
//! The loop is Redis's single thread: it takes every input that is ready
//! (one pass of aeProcessEvents: one `Engine::handle_inputs`, one
//! beforeSleep), stays busy for the step's CPU time while new inputs queue
//! in its channel, then releases the step's outputs, as sim/src/host.rs
//! does. On a real runtime the CPU time has already passed, so only a long
//! step (DEBUG SLEEP, over 50 ms) is waited out, as `redsim serve` does.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redsim_engine::{
    ChildExitStatus, ChildJob, Config, ConnId, DiskOp, Engine, EngineOptions, Input, LogLine,
    Output, Step,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};

use crate::disk::Disk;
use crate::spec::NodeSpec;

/// The engine's wall clock: madsim's virtual one under madsim (it
/// overrides clock_gettime), the machine's otherwise.
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A log line of the process, as Redis prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub unix_us: u64,
    pub pid: u32,
    pub line: LogLine,
}

impl std::fmt::Display for LogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} {} {} {}",
            self.pid,
            self.line.role,
            redsim_sim::clock::format_log_time(self.unix_us),
            self.line.level.marker(),
            self.line.message
        )
    }
}

/// What outlives a process: the node's disk, its address, its logs.
pub(crate) struct Shared {
    pub spec: NodeSpec,
    pub sentinel: bool,
    pub disk: Mutex<Disk>,
    pub state: Mutex<State>,
    pub ready: watch::Sender<(u64, Option<(u64, String)>)>,
    /// Real runtime only: the loop waits while this is true (madsim pauses
    /// the whole node instead).
    pub paused: watch::Sender<bool>,
}

pub(crate) struct State {
    pub ip: IpAddr,
    /// The port from the config under madsim; on loopback the free port
    /// the first start bound, kept by every restart.
    pub port: u16,
    /// Starts so far.
    pub starts: u64,
    /// The running process's inbox (None: down).
    pub inbox: Option<mpsc::UnboundedSender<Msg>>,
    /// Real runtime only: every task of the running process, to abort them
    /// on a crash (madsim kills the node's tasks itself).
    pub tasks: Vec<AbortHandle>,
    pub logs: Vec<LogEntry>,
    pub events: Vec<redsim_engine::Event>,
    pub exit_code: Option<i32>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Spawns a task of this process.
    pub(crate) fn spawn_task<F>(&self, fut: F) -> JoinHandle<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(fut);
        if cfg!(not(madsim)) {
            let mut state = lock(&self.state);
            state.tasks.retain(|t| !t.is_finished());
            state.tasks.push(handle.abort_handle());
        }
        handle
    }

    /// The process is gone (killed, or it exited): nothing reaches it.
    pub fn down(&self) {
        let mut state = lock(&self.state);
        state.inbox = None;
        for task in std::mem::take(&mut state.tasks) {
            task.abort();
        }
    }
}

pub(crate) enum Msg {
    Accepted(ConnId, TcpStream, SocketAddr),
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
    Connected(ConnId, TcpStream),
    ConnectFailed(ConnId),
    FsyncDone(u64),
    ChildExit(u32, ChildExitStatus),
    /// Killed by the loop itself: always reported.
    ChildKilled(u32),
    Admin(Vec<Vec<u8>>, oneshot::Sender<Vec<u8>>),
}

/// An admin command's raw reply and who waits for it.
type AdminReply = (Vec<u8>, oneshot::Sender<Vec<u8>>);

enum ToWriter {
    Data(Vec<u8>),
    Close,
}

struct Conn {
    writer: mpsc::UnboundedSender<ToWriter>,
    reader: JoinHandle<()>,
}

struct Child {
    task: JoinHandle<()>,
    killed: Arc<AtomicBool>,
}

/// An input owned until the engine takes it.
enum Owned {
    Accepted(ConnId, String, u16),
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
    Connected(ConnId),
    ConnectFailed(ConnId),
    FsyncDone(u64),
    ChildExit(u32, ChildExitStatus),
}

impl Owned {
    fn input(&self) -> Input<'_> {
        match self {
            Owned::Accepted(conn, peer, local_port) => Input::Accepted {
                conn: *conn,
                peer: peer.clone(),
                local_port: *local_port,
            },
            Owned::Data(conn, bytes) => Input::Data { conn: *conn, bytes },
            Owned::Closed(conn) => Input::Closed { conn: *conn },
            Owned::Connected(conn) => Input::Connected { conn: *conn },
            Owned::ConnectFailed(conn) => Input::ConnectFailed { conn: *conn },
            Owned::FsyncDone(token) => Input::FsyncDone { token: *token },
            Owned::ChildExit(pid, status) => Input::ChildExit {
                pid: *pid,
                status: *status,
            },
        }
    }
}

struct Host {
    shared: Arc<Shared>,
    engine: Engine,
    pid: u32,
    port: u16,
    tx: mpsc::UnboundedSender<Msg>,
    conns: BTreeMap<ConnId, Conn>,
    /// Outbound connects in flight that the engine still waits for.
    connecting: BTreeSet<ConnId>,
    children: BTreeMap<u32, Child>,
}

/// Runs one process of the node until it exits or is killed.
pub(crate) async fn run(shared: Arc<Shared>) {
    let (start, ip, port) = {
        let mut state = lock(&shared.state);
        state.starts += 1;
        state.exit_code = None;
        (state.starts, state.ip, state.port)
    };
    let listener = match TcpListener::bind(SocketAddr::new(ip, port)).await {
        Ok(l) => l,
        Err(e) => {
            let why = format!("Could not create server TCP listening socket {ip}:{port}: {e}");
            shared.ready.send_replace((0, Some((start, why))));
            return;
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let mut config = Config::from_conf_lines(&shared.spec.lines)
        .expect("the spec's lines were checked when the node was started");
    config
        .set("port", &[port.to_string()])
        .expect("a port is a valid port");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pid = madsim::rand::random::<u32>() % 59_000 + 1000;
    let options = EngineOptions {
        seed: madsim::rand::random::<u64>(),
        pid,
        port,
        files: lock(&shared.disk).files(),
        sentinel: shared.sentinel,
        ip: ip.to_string(),
        hosts: shared.spec.hosts.clone(),
        ..Default::default()
    };
    let engine = Engine::new(config, options, now_us());
    {
        let mut state = lock(&shared.state);
        state.port = port;
        state.inbox = Some(tx.clone());
    }
    let acceptor = shared.spawn_task(accept_loop(listener, tx.clone()));
    let mut host = Host {
        shared: shared.clone(),
        engine,
        pid,
        port,
        tx,
        conns: BTreeMap::new(),
        connecting: BTreeSet::new(),
        children: BTreeMap::new(),
    };
    host.drain().await;
    shared.ready.send_replace((start, None));
    let mut paused = shared.paused.subscribe();
    loop {
        if host.exited() {
            acceptor.abort();
            return;
        }
        let msg = match host.engine.poll_timeout() {
            Some(t) if t <= now_us() => None,
            Some(t) => {
                let wait = Duration::from_micros(t - now_us());
                // biased: tokio's random branch order draws from a
                // thread-local RNG that madsim does not seed.
                tokio::select! {
                    biased;
                    m = rx.recv() => m,
                    _ = tokio::time::sleep(wait) => None,
                }
            }
            None => rx.recv().await,
        };
        while *paused.borrow_and_update() {
            if paused.changed().await.is_err() {
                break;
            }
        }
        let (step, replies) = match msg {
            None => (host.engine.handle_timeout(now_us()), Vec::new()),
            Some(first) => {
                let mut batch = vec![first];
                while let Ok(m) = rx.try_recv() {
                    batch.push(m);
                }
                host.run_batch(batch)
            }
        };
        busy(step).await;
        for (reply, to) in replies {
            let _ = to.send(reply);
        }
        host.drain().await;
    }
}

/// The loop stays busy for the step's CPU time.
async fn busy(step: Step) {
    if step.cpu_us > 0 && (cfg!(madsim) || step.cpu_us > 50_000) {
        tokio::time::sleep(Duration::from_micros(step.cpu_us)).await;
    }
}

async fn accept_loop(listener: TcpListener, tx: mpsc::UnboundedSender<Msg>) {
    let mut next = 1u64;
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        if tx.send(Msg::Accepted(ConnId(next), stream, peer)).is_err() {
            return;
        }
        next += 1;
    }
}

async fn read_loop(conn: ConnId, mut r: ReadHalf<TcpStream>, tx: mpsc::UnboundedSender<Msg>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(Msg::Closed(conn));
                return;
            }
            Ok(n) => {
                if tx.send(Msg::Data(conn, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes what the loop sends, flushing after each batch: madsim's TCP
/// sends nothing before a flush.
async fn write_loop(mut w: WriteHalf<TcpStream>, mut rx: mpsc::UnboundedReceiver<ToWriter>) {
    while let Some(first) = rx.recv().await {
        let mut close = false;
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                ToWriter::Data(bytes) => {
                    if w.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                ToWriter::Close => {
                    close = true;
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        if w.flush().await.is_err() {
            return;
        }
        if close {
            let _ = w.shutdown().await;
            return;
        }
    }
}

impl Host {
    /// The process exited (SHUTDOWN, or a fatal start-up error): its
    /// connections close and its tasks end.
    fn exited(&mut self) -> bool {
        let Some(code) = self.engine.exit_code() else {
            return false;
        };
        for (_, conn) in std::mem::take(&mut self.conns) {
            conn.reader.abort();
            let _ = conn.writer.send(ToWriter::Close);
        }
        lock(&self.shared.state).exit_code = Some(code);
        lock(&self.shared.state).inbox = None;
        true
    }

    fn attach(&mut self, conn: ConnId, stream: TcpStream) {
        let (r, w) = tokio::io::split(stream);
        let (wtx, wrx) = mpsc::unbounded_channel();
        self.shared.spawn_task(write_loop(w, wrx));
        let reader = self.shared.spawn_task(read_loop(conn, r, self.tx.clone()));
        self.conns.insert(
            conn,
            Conn {
                writer: wtx,
                reader,
            },
        );
    }

    /// One pass over every ready input: the host's part of each, then the
    /// engine's (admin commands run on their own, between the others).
    fn run_batch(&mut self, batch: Vec<Msg>) -> (Step, Vec<AdminReply>) {
        let mut cpu_us = 0;
        let mut replies = Vec::new();
        let mut inputs: Vec<Owned> = Vec::new();
        for msg in batch {
            match msg {
                Msg::Accepted(conn, stream, peer) => {
                    self.attach(conn, stream);
                    inputs.push(Owned::Accepted(conn, peer.to_string(), self.port));
                }
                Msg::Data(conn, bytes) => {
                    if !self.conns.contains_key(&conn) {
                        continue;
                    }
                    // One read() takes everything available.
                    if let Some(Owned::Data(last, queued)) = inputs.last_mut() {
                        if *last == conn {
                            queued.extend_from_slice(&bytes);
                            continue;
                        }
                    }
                    inputs.push(Owned::Data(conn, bytes));
                }
                Msg::Closed(conn) => {
                    if self.conns.remove(&conn).is_some() {
                        inputs.push(Owned::Closed(conn));
                    }
                }
                Msg::Connected(conn, stream) => {
                    if self.connecting.remove(&conn) {
                        self.attach(conn, stream);
                        inputs.push(Owned::Connected(conn));
                    }
                }
                Msg::ConnectFailed(conn) => {
                    if self.connecting.remove(&conn) {
                        inputs.push(Owned::ConnectFailed(conn));
                    }
                }
                Msg::FsyncDone(token) => inputs.push(Owned::FsyncDone(token)),
                Msg::ChildExit(pid, status) => {
                    if self.children.remove(&pid).is_some() {
                        inputs.push(Owned::ChildExit(pid, status));
                    }
                }
                Msg::ChildKilled(pid) => {
                    inputs.push(Owned::ChildExit(pid, ChildExitStatus::Signal(10)))
                }
                Msg::Admin(argv, to) => {
                    cpu_us += self.run_inputs(std::mem::take(&mut inputs));
                    let (reply, step) = self.engine.admin_command(now_us(), argv);
                    cpu_us += step.cpu_us;
                    replies.push((reply, to));
                }
            }
        }
        cpu_us += self.run_inputs(inputs);
        (Step { cpu_us }, replies)
    }

    fn run_inputs(&mut self, inputs: Vec<Owned>) -> u64 {
        if inputs.is_empty() {
            return 0;
        }
        let step = self
            .engine
            .handle_inputs(now_us(), inputs.iter().map(Owned::input));
        step.cpu_us
    }

    /// Carries out the engine's outputs in order.
    async fn drain(&mut self) {
        // A child the engine no longer counts on was killed.
        let running = self.engine.server().child.as_ref().map(|c| c.pid);
        let doomed: Vec<u32> = self
            .children
            .keys()
            .copied()
            .filter(|p| Some(*p) != running)
            .collect();
        for pid in doomed {
            self.kill_child(pid);
        }
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(c) = self.conns.get(&conn) {
                        let _ = c.writer.send(ToWriter::Data(bytes));
                    }
                }
                Output::Close { conn } => {
                    self.connecting.remove(&conn);
                    if let Some(c) = self.conns.remove(&conn) {
                        c.reader.abort();
                        let _ = c.writer.send(ToWriter::Close);
                    }
                }
                Output::Connect { conn, host, port } => {
                    self.connecting.insert(conn);
                    let host = self.shared.spec.hosts.get(&host).cloned().unwrap_or(host);
                    let tx = self.tx.clone();
                    self.shared.spawn_task(async move {
                        let msg = match TcpStream::connect(format!("{host}:{port}")).await {
                            Ok(stream) => {
                                let _ = stream.set_nodelay(true);
                                Msg::Connected(conn, stream)
                            }
                            Err(_) => Msg::ConnectFailed(conn),
                        };
                        let _ = tx.send(msg);
                    });
                }
                Output::Log(line) => {
                    let entry = LogEntry {
                        unix_us: now_us(),
                        pid: self.pid,
                        line,
                    };
                    lock(&self.shared.state).logs.push(entry);
                }
                Output::Event(event) => lock(&self.shared.state).events.push(event),
                Output::Disk(op) => self.disk_op(op).await,
                Output::Fork(request) => self.fork(request.pid, request.job),
                Output::KillChild { pid } => self.kill_child(pid),
            }
        }
    }

    async fn disk_op(&mut self, op: DiskOp) {
        let latency = self.shared.spec.fsync_latency;
        let Some(fsync) = lock(&self.shared.disk).apply(&op) else {
            return;
        };
        let DiskOp::Fsync {
            token, blocking, ..
        } = op
        else {
            unreachable!("only an fsync is completed later");
        };
        if blocking {
            // The main thread waits for the disk; later outputs wait too.
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            lock(&self.shared.disk).complete_fsync(fsync);
            return;
        }
        let (shared, tx) = (self.shared.clone(), self.tx.clone());
        self.shared.spawn_task(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            lock(&shared.disk).complete_fsync(fsync);
            let _ = tx.send(Msg::FsyncDone(token));
        });
    }

    /// The child runs beside the loop (on another core): its CPU time, then
    /// its file written, synced and renamed at once, unless it was killed.
    fn fork(&mut self, pid: u32, job: ChildJob) {
        let killed = Arc::new(AtomicBool::new(false));
        let (shared, tx, flag) = (self.shared.clone(), self.tx.clone(), killed.clone());
        let task = self.shared.spawn_task(async move {
            let (cpu_us, write) = match job {
                ChildJob::WriteFile {
                    file,
                    bytes,
                    cpu_us,
                    rename_to,
                    ..
                } => (cpu_us, Some((file, bytes, rename_to))),
                ChildJob::Compute { cpu_us } => (cpu_us, None),
            };
            let mut wait = Duration::from_micros(cpu_us);
            if write.is_some() {
                wait += shared.spec.fsync_latency;
            }
            tokio::time::sleep(wait).await;
            {
                let mut disk = lock(&shared.disk);
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                if let Some((file, bytes, rename_to)) = write {
                    disk.write_file(&file, &bytes);
                    let fsync = disk.start_fsync(&file);
                    disk.complete_fsync(fsync);
                    if let Some(to) = rename_to {
                        disk.apply(&DiskOp::Rename { from: file, to });
                    }
                }
            }
            let _ = tx.send(Msg::ChildExit(pid, ChildExitStatus::Ok));
        });
        self.children.insert(pid, Child { task, killed });
    }

    /// kill(pid, SIGUSR1): the child does no more of its job; the loop
    /// hears of it as waitpid would tell.
    fn kill_child(&mut self, pid: u32) {
        if let Some(child) = self.children.remove(&pid) {
            let _disk = lock(&self.shared.disk);
            child.killed.store(true, Ordering::SeqCst);
            child.task.abort();
            let _ = self.tx.send(Msg::ChildKilled(pid));
        }
    }
}
