//! `redsim serve`: the engine behind real TCP, so redis-cli, redis-benchmark,
//! client libraries and Redis's own test suite can talk to it.
//!
//! One thread owns the engine (Redis's single-threaded loop); one reader
//! thread per socket forwards bytes to it over a channel. Real time is read
//! here, in the host, and passed in: the engine never reads a clock.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redsim_engine::{
    ChildExitStatus, Config, ConnId, Engine, EngineOptions, Input, LogLevel, Output,
};

enum Msg {
    Accepted(ConnId, TcpStream, String),
    Data(ConnId, Vec<u8>),
    Closed(ConnId),
    Connected(ConnId, TcpStream),
    ConnectFailed(ConnId),
    /// A child the engine killed (Output::KillChild) is gone: SIGUSR1.
    ChildKilled(u32),
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
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

/// Runs the server until the process is killed.
pub fn serve(bind: &str, port: u16, config: Config) -> std::io::Result<()> {
    let (engine, rx, tx) = start(bind, port, config)?;
    event_loop(engine, rx, tx)
}

/// Starts the server on a background thread and returns the port it listens
/// on; port 0 picks a free one (the differential test uses this).
pub fn spawn(bind: &str, port: u16, config: Config) -> std::io::Result<u16> {
    let (engine, rx, tx) = start(bind, port, config)?;
    let port = engine.server().options.port;
    thread::Builder::new()
        .name("redsim-serve".into())
        .spawn(move || event_loop(engine, rx, tx))?;
    Ok(port)
}

/// Binds the listener, starts the accept thread and builds the engine.
fn start(
    bind: &str,
    port: u16,
    config: Config,
) -> std::io::Result<(Engine, Receiver<Msg>, Sender<Msg>)> {
    let listener = TcpListener::bind((bind, port))?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = mpsc::channel::<Msg>();
    let accept_tx = tx.clone();
    thread::spawn(move || {
        let mut next = 1u64;
        for stream in listener.incoming().flatten() {
            let _ = stream.set_nodelay(true);
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let conn = ConnId(next);
            next += 1;
            let Ok(reader) = stream.try_clone() else {
                continue;
            };
            if accept_tx.send(Msg::Accepted(conn, stream, peer)).is_err() {
                return;
            }
            spawn_reader(conn, reader, accept_tx.clone());
        }
    });
    let options = EngineOptions {
        seed: now_us(),
        pid: std::process::id(),
        port,
        ..Default::default()
    };
    let engine = Engine::new(config, options, now_us());
    eprintln!("redsim serve: listening on {}:{}", bind, port);
    Ok((engine, rx, tx))
}

fn event_loop(mut engine: Engine, rx: Receiver<Msg>, tx: Sender<Msg>) -> std::io::Result<()> {
    let mut sockets: BTreeMap<ConnId, TcpStream> = BTreeMap::new();
    drain(&mut engine, &mut sockets, &tx);
    loop {
        let wait_us = engine
            .poll_timeout()
            .map(|t| t.saturating_sub(now_us()))
            .unwrap_or(100_000);
        let msg = match rx.recv_timeout(Duration::from_micros(wait_us)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let step = match msg {
            None => engine.handle_timeout(now_us()),
            Some(Msg::Accepted(conn, stream, peer)) => {
                sockets.insert(conn, stream);
                engine.handle_input(now_us(), Input::Accepted { conn, peer })
            }
            Some(Msg::Data(conn, bytes)) => engine.handle_input(
                now_us(),
                Input::Data {
                    conn,
                    bytes: &bytes,
                },
            ),
            Some(Msg::Closed(conn)) => {
                sockets.remove(&conn);
                engine.handle_input(now_us(), Input::Closed { conn })
            }
            Some(Msg::Connected(conn, stream)) => {
                sockets.insert(conn, stream);
                engine.handle_input(now_us(), Input::Connected { conn })
            }
            Some(Msg::ConnectFailed(conn)) => {
                engine.handle_input(now_us(), Input::ConnectFailed { conn })
            }
            Some(Msg::ChildKilled(pid)) => engine.handle_input(
                now_us(),
                Input::ChildExit {
                    pid,
                    status: ChildExitStatus::Signal(10),
                },
            ),
        };
        // The engine reports virtual CPU time; on real hardware the real time
        // already passed while it ran, so there is nothing to wait for here,
        // except DEBUG SLEEP, whose cost is all blocking.
        if step.cpu_us > 50_000 {
            thread::sleep(Duration::from_micros(step.cpu_us));
        }
        if now_us() >= engine.poll_timeout().unwrap_or(u64::MAX) {
            engine.handle_timeout(now_us());
        }
        drain(&mut engine, &mut sockets, &tx);
    }
}

fn drain(engine: &mut Engine, sockets: &mut BTreeMap<ConnId, TcpStream>, tx: &Sender<Msg>) {
    while let Some(out) = engine.poll_output() {
        match out {
            Output::Send { conn, bytes } => {
                if let Some(s) = sockets.get_mut(&conn) {
                    let _ = s.write_all(&bytes);
                }
            }
            // Real files and child processes for serve arrive with the persistence model.
            Output::Disk(_) | Output::Fork(_) => {}
            // No child runs here, so a kill ends it at once.
            Output::KillChild { pid } => {
                let _ = tx.send(Msg::ChildKilled(pid));
            }
            Output::Close { conn } => {
                if let Some(s) = sockets.remove(&conn) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
            Output::Connect { conn, host, port } => {
                let tx = tx.clone();
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
            Output::Log(line) => {
                if line.level >= LogLevel::Notice {
                    eprintln!(
                        "{}:{} {} {}",
                        std::process::id(),
                        line.role,
                        line.level.marker(),
                        line.message
                    );
                }
            }
            Output::Event(_) => {}
        }
    }
}
