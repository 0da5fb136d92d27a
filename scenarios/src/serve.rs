//! `redsim serve`: the engine behind real TCP, so redis-cli, redis-benchmark,
//! client libraries and Redis's own test suite can talk to it.
//!
//! One thread owns the engine (Redis's single-threaded loop); one reader
//! thread per socket forwards bytes to it over a channel. Real time is read
//! here, in the host, and passed in: the engine never reads a clock.
//!
//! Persistence is real: the engine's file operations (`Output::Disk`) run
//! against the files of its `dir` (serve_disk.rs), a fork's job runs on a
//! thread standing for the child process and reports its exit back into
//! the loop, background fsyncs run on a thread and report `FsyncDone`, and
//! SIGTERM / SIGINT reach the engine's shutdown as Redis's handler does.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redsim_engine::{
    ChildExitStatus, Config, ConnId, Engine, EngineOptions, Input, LogLevel, LogLine, Output,
};

use crate::serve_disk::{Children, Disk};

pub(crate) enum Msg {
    Accepted(ConnId, TcpStream, String),
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
    Connected(ConnId, TcpStream),
    ConnectFailed(ConnId),
    FsyncDone(u64),
    ChildExit(u32, ChildExitStatus),
    Signal(i32),
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Redis's log timestamp, "06 Dec 2026 12:00:00.123" (UTC: the engine
/// has no time zone, and servers usually run in UTC).
pub use redsim_engine::util::log_time as redis_timestamp;

/// The host's side of the process: its sockets, files and children.
struct Host {
    engine: Engine,
    rx: Receiver<Msg>,
    tx: Sender<Msg>,
    sockets: BTreeMap<ConnId, TcpStream>,
    disk: Disk,
    children: Children,
    /// The pid the last child log lines belong to (Redis prints the child's pid).
    last_child_pid: u32,
    verbosity: LogLevel,
}

fn spawn_reader(conn: ConnId, mut stream: TcpStream, tx: Sender<Msg>) {
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf) {
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
    });
}

/// Runs the server until SHUTDOWN or a signal ends it; returns the exit
/// code (0 after a clean shutdown).
pub fn serve(bind: &str, port: u16, config: Config) -> std::io::Result<i32> {
    let host = start(bind, port, config, None)?;
    watch_signals(host.tx.clone())?;
    Ok(event_loop(host))
}

/// `redis-server sentinel.conf --sentinel`: the engine in sentinel mode,
/// `conf` the file it was started with, which it rewrites in place.
pub fn serve_sentinel(
    bind: &str,
    port: u16,
    config: Config,
    conf: &std::path::Path,
) -> std::io::Result<i32> {
    let host = start(bind, port, config, Some(conf))?;
    watch_signals(host.tx.clone())?;
    Ok(event_loop(host))
}

/// Starts the server on a background thread and returns the port it listens
/// on; port 0 picks a free one (the differential test uses this).
pub fn spawn(bind: &str, port: u16, config: Config) -> std::io::Result<u16> {
    let host = start(bind, port, config, None)?;
    let port = host.engine.server().options.port;
    thread::Builder::new()
        .name("redsim-serve".into())
        .spawn(move || event_loop(host))?;
    Ok(port)
}

/// SIGTERM and SIGINT become messages to the loop, as Redis's handler only
/// sets shutdown_asap for serverCron. signal-hook rather than ctrlc: the
/// loop must know which signal came (the log line, shutdown-on-sigterm vs
/// shutdown-on-sigint), and a second SIGINT must reach it too.
fn watch_signals(tx: Sender<Msg>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    thread::Builder::new()
        .name("redsim-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if tx.send(Msg::Signal(sig)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

/// Binds the listener, starts the accept thread, reads the files of `dir`
/// and builds the engine (which loads its dataset from them). With
/// `sentinel_conf`, the engine runs as Sentinel and that file is its
/// sentinel.conf.
fn start(
    bind: &str,
    port: u16,
    config: Config,
    sentinel_conf: Option<&Path>,
) -> std::io::Result<Host> {
    let listener = TcpListener::bind((bind, port))?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = mpsc::channel::<Msg>();
    spawn_acceptor(listener, tx.clone());
    let mut disk = Disk::new(std::env::current_dir()?);
    let dir = disk.dir_of(&config);
    // Redis chdirs into `dir` at start and exits if it cannot.
    if !dir.is_dir() {
        let e = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        return Err(io_context(
            e,
            &format!("Can't chdir to '{}'", dir.display()),
        ));
    }
    let logfile = config.get("logfile").unwrap_or_default();
    if !logfile.is_empty() {
        let _ = LOGFILE.set(dir.join(logfile));
    }
    let pid = std::process::id();
    let mut options = EngineOptions {
        seed: now_us(),
        pid,
        port,
        ..Default::default()
    };
    match sentinel_conf {
        Some(conf) => {
            let conf = sentinel_file(conf)?;
            options.files.insert(
                redsim_engine::sentinel::CONFIG_FILE.into(),
                std::fs::read(&conf)?,
            );
            disk.map_sentinel_conf(&conf);
            let _ = SENTINEL_CONF.set(conf.clone());
            options.sentinel_conf_writer = Some(write_sentinel_conf);
            let _ = SCRIPT_DIR.set(dir.clone());
            options.is_executable = Some(is_executable);
            options.resolve_host = Some(resolve_host);
            options.sentinel = true;
            options.ip = own_address(&config, bind);
        }
        None => {
            options.files = crate::serve_disk::startup_files(&dir, &config)?;
            print_log(
                pid,
                'M',
                LogLevel::Notice,
                &format!("Running mode=standalone, port={}.", port),
            );
        }
    }
    let verbosity = verbosity(&config);
    let engine = Engine::new(config, options, now_us());
    let host = Host {
        engine,
        rx,
        tx,
        sockets: BTreeMap::new(),
        disk,
        children: Children::default(),
        last_child_pid: pid,
        verbosity,
    };
    Ok(host)
}

fn spawn_acceptor(listener: TcpListener, accept_tx: Sender<Msg>) {
    thread::spawn(move || {
        for (next, stream) in (1u64..).zip(listener.incoming().flatten()) {
            let _ = stream.set_nodelay(true);
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let conn = ConnId(next);
            let Ok(reader) = stream.try_clone() else {
                continue;
            };
            if accept_tx.send(Msg::Accepted(conn, stream, peer)).is_err() {
                return;
            }
            spawn_reader(conn, reader, accept_tx.clone());
        }
    });
}

/// Sentinel rewrites the file it was started with, by absolute path
/// (Redis resolves it before chdir), and refuses to start when it could
/// not: "Sentinel config file ... is not writable".
fn sentinel_file(conf: &Path) -> std::io::Result<PathBuf> {
    let conf = std::env::current_dir()?.join(conf);
    if let Err(e) = std::fs::OpenOptions::new().append(true).open(&conf) {
        return Err(std::io::Error::new(
            e.kind(),
            format!(
                "Sentinel config file {} is not writable: {}. Exiting...",
                conf.display(),
                e
            ),
        ));
    }
    Ok(conf)
}

/// The address this host's outbound connections come from (what Sentinel
/// reads with getsockname and announces in its hellos): the bind address
/// if it is a specific one, else the source address the OS picks towards
/// the first monitored master.
fn own_address(config: &Config, bind: &str) -> String {
    if let Ok(ip) = bind.parse::<std::net::IpAddr>() {
        if !ip.is_unspecified() {
            return ip.to_string();
        }
    }
    let master = config
        .sentinel_lines
        .iter()
        .find(|l| l.len() >= 4 && l[0].eq_ignore_ascii_case("monitor"));
    let picked = master.and_then(|l| {
        let port: u16 = l[3].parse().ok()?;
        let sock = std::net::UdpSocket::bind(("0.0.0.0", 0)).ok()?;
        sock.connect((l[2].as_str(), port)).ok()?;
        Some(sock.local_addr().ok()?.ip().to_string())
    });
    picked.unwrap_or_else(|| "127.0.0.1".into())
}

fn io_context(e: std::io::Error, what: &str) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {}", what, e))
}

fn verbosity(config: &Config) -> LogLevel {
    match config.get("loglevel").as_deref() {
        Some("debug") => LogLevel::Debug,
        Some("verbose") => LogLevel::Verbose,
        Some("warning") => LogLevel::Warning,
        _ => LogLevel::Notice,
    }
}

/// Sentinel's working directory: Redis chdirs into `dir`, so script paths
/// are relative to it.
static SCRIPT_DIR: OnceLock<PathBuf> = OnceLock::new();

/// The sentinel.conf this process rewrites (absolute).
static SENTINEL_CONF: OnceLock<PathBuf> = OnceLock::new();

/// rewriteConfigOverwriteFile: a temp file beside the config, fsync,
/// rename over it, fsync of the directory.
fn write_sentinel_conf(bytes: &[u8]) -> Result<(), String> {
    let conf = SENTINEL_CONF.get().ok_or("no config file")?;
    let mut temp = conf.as_os_str().to_owned();
    temp.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp);
    let result = (|| {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, conf)?;
        if let Some(dir) = conf.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok::<(), std::io::Error>(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        e.to_string()
    })
}

/// getaddrinfo: the first address of a name.
fn resolve_host(name: &str) -> Option<String> {
    use std::net::ToSocketAddrs;
    let mut addrs = (name, 0).to_socket_addrs().ok()?;
    addrs.next().map(|a| a.ip().to_string())
}

/// access(path, X_OK) as Sentinel checks its scripts.
fn is_executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let full = SCRIPT_DIR
        .get()
        .map_or_else(|| PathBuf::from(path), |d| d.join(path));
    std::fs::metadata(full).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// `logfile`, when the config names one (relative to `dir`).
static LOGFILE: OnceLock<PathBuf> = OnceLock::new();

/// One log line to `logfile` if set, else to stderr. Redis opens the file
/// for every line, so a rotated log is picked up.
pub(crate) fn emit_log(line: &str) {
    if let Some(path) = LOGFILE.get() {
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut f) = opened {
            let _ = writeln!(f, "{}", line);
            return;
        }
    }
    eprintln!("{}", line);
}

fn print_log(pid: u32, role: char, level: LogLevel, message: &str) {
    emit_log(&format!(
        "{}:{} {} {} {}",
        pid,
        role,
        redis_timestamp(now_us()),
        level.marker(),
        message
    ));
}

fn event_loop(mut host: Host) -> i32 {
    host.drain(false);
    if let Some(code) = host.engine.exit_code() {
        return code;
    }
    loop {
        let wait_us = host
            .engine
            .poll_timeout()
            .map(|t| t.saturating_sub(now_us()))
            .unwrap_or(100_000);
        let msg = match host.rx.recv_timeout(Duration::from_micros(wait_us)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return 0,
        };
        let from_signal = matches!(msg, Some(Msg::Signal(_)));
        let step = host.handle(msg);
        // The engine reports virtual CPU time; on real hardware the real time
        // already passed while it ran, so there is nothing to wait for here,
        // except DEBUG SLEEP, whose cost is all blocking.
        if step.cpu_us > 50_000 {
            thread::sleep(Duration::from_micros(step.cpu_us));
        }
        host.drain(from_signal);
        if now_us() >= host.engine.poll_timeout().unwrap_or(u64::MAX) {
            host.engine.handle_timeout(now_us());
            host.drain(false);
        }
        if let Some(code) = host.engine.exit_code() {
            host.close_all();
            return code;
        }
    }
}

impl Host {
    fn handle(&mut self, msg: Option<Msg>) -> redsim_engine::Step {
        let engine = &mut self.engine;
        match msg {
            None => engine.handle_timeout(now_us()),
            Some(Msg::Accepted(conn, stream, peer)) => {
                let local_port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
                self.sockets.insert(conn, stream);
                engine.handle_input(
                    now_us(),
                    Input::Accepted {
                        conn,
                        peer,
                        local_port,
                    },
                )
            }
            Some(Msg::Data(conn, bytes)) => engine.handle_input(
                now_us(),
                Input::Data {
                    conn,
                    bytes: &bytes,
                },
            ),
            Some(Msg::Closed(conn)) => {
                self.sockets.remove(&conn);
                engine.handle_input(now_us(), Input::Closed { conn })
            }
            Some(Msg::Connected(conn, stream)) => {
                self.sockets.insert(conn, stream);
                engine.handle_input(now_us(), Input::Connected { conn })
            }
            Some(Msg::ConnectFailed(conn)) => {
                engine.handle_input(now_us(), Input::ConnectFailed { conn })
            }
            Some(Msg::FsyncDone(token)) => {
                engine.handle_input(now_us(), Input::FsyncDone { token })
            }
            Some(Msg::ChildExit(pid, status)) => {
                self.children.reaped(pid);
                self.last_child_pid = pid;
                engine.handle_input(now_us(), Input::ChildExit { pid, status })
            }
            Some(Msg::Signal(sig)) => engine.signal(now_us(), sig),
        }
    }

    /// Carries out the engine's outputs in order. A child the engine no
    /// longer counts as running was killed (killRDBChild,
    /// killAppendOnlyChild): it is stopped first, so it cannot rename its
    /// file over one the outputs below write.
    fn drain(&mut self, from_signal: bool) {
        let running = self.engine.server().child.as_ref().map(|c| c.pid);
        self.children.kill_all_but(running, &self.tx);
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(s) = self.sockets.get_mut(&conn) {
                        let _ = s.write_all(&bytes);
                    }
                }
                Output::Disk(op) => {
                    let dir = self.disk.dir_of(&self.engine.server().config);
                    if let Err(e) = self.disk.apply(&dir, &op, &self.tx) {
                        self.fatal_disk_error(&e);
                    }
                }
                Output::Fork(request) => {
                    let dir = self.disk.dir_of(&self.engine.server().config);
                    self.children.start(&dir, request, &self.tx);
                }
                Output::Close { conn } => {
                    if let Some(s) = self.sockets.remove(&conn) {
                        let _ = s.shutdown(Shutdown::Both);
                    }
                }
                Output::Connect { conn, host, port } => connect(conn, host, port, self.tx.clone()),
                Output::Log(line) => self.log(&line, from_signal),
                Output::KillChild { pid } => self.children.kill(pid, &self.tx),
                Output::Event(_) => {}
            }
        }
    }

    fn log(&self, line: &LogLine, from_signal: bool) {
        if line.level < self.verbosity {
            return;
        }
        let pid = std::process::id();
        if from_signal {
            // serverLogFromHandler: no role, no milliseconds, and the unix time.
            emit_log(&format!(
                "{}:signal-handler ({}) {}",
                pid,
                now_us() / 1_000_000,
                line.message
            ));
            return;
        }
        let pid = if line.role == 'C' {
            self.last_child_pid
        } else {
            pid
        };
        print_log(pid, line.role, line.level, &line.message);
    }

    /// A file operation failed. The engine cannot hear of it (it models no
    /// disk errors), and the outputs after it may report the data as saved
    /// ("DB saved on disk", +OK): rather than report a save that was not
    /// written, the process exits here, as Redis does on an AOF write
    /// error it cannot recover from.
    fn fatal_disk_error(&mut self, e: &str) -> ! {
        print_log(
            std::process::id(),
            'M',
            LogLevel::Warning,
            &format!("Fatal: {}. Exiting.", e),
        );
        self.close_all();
        std::process::exit(1);
    }

    fn close_all(&mut self) {
        self.children.kill_all_but(None, &self.tx);
        for (_, s) in std::mem::take(&mut self.sockets) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn connect(conn: ConnId, host: String, port: u16, tx: Sender<Msg>) {
    thread::spawn(move || match TcpStream::connect((host.as_str(), port)) {
        Ok(stream) => {
            let _ = stream.set_nodelay(true);
            match stream.try_clone() {
                Ok(reader) => {
                    let _ = tx.send(Msg::Connected(conn, stream));
                    spawn_reader(conn, reader, tx);
                }
                Err(_) => {
                    let _ = tx.send(Msg::ConnectFailed(conn));
                }
            }
        }
        Err(_) => {
            let _ = tx.send(Msg::ConnectFailed(conn));
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_have_redis_format() {
        // 2026-12-06 12:47:30.264 UTC
        assert_eq!(
            super::redis_timestamp(1_796_561_250_264_000),
            "06 Dec 2026 12:47:30.264"
        );
        assert_eq!(super::redis_timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(
            super::redis_timestamp(951_782_400_000_000),
            "29 Feb 2000 00:00:00.000"
        );
    }
}
