//! The node handles: start, address, faults, admin.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use redsim_engine::resp::{parse_reply, Value};
use redsim_engine::Config;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};

use crate::disk::Disk;
use crate::process::{self, lock, LogEntry, Msg, Shared, State};
use crate::spec::NodeSpec;

/// One redsim process hosted as a node: under madsim a madsim node of its
/// own; on a real runtime a set of tasks on the current tokio runtime,
/// listening on loopback.
pub struct Node {
    shared: Arc<Shared>,
    #[cfg(madsim)]
    node: madsim::runtime::NodeHandle,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Node {
    async fn start(spec: NodeSpec, sentinel: bool) -> io::Result<Node> {
        let config = Config::from_conf_lines(&spec.lines).map_err(|(line, e)| {
            invalid(format!(
                "config line {} ({:?}): {}",
                line,
                spec.lines[line - 1],
                e
            ))
        })?;
        if !sentinel && !config.sentinel_lines.is_empty() {
            return Err(invalid(
                "sentinel directive while not in sentinel mode".into(),
            ));
        }
        let port_given = spec
            .lines
            .iter()
            .any(|l| l.trim_start().to_ascii_lowercase().starts_with("port "));
        let port = match (port_given, sentinel) {
            (false, true) => redsim_engine::sentinel::DEFAULT_PORT,
            _ => config
                .get("port")
                .and_then(|p| p.parse().ok())
                .unwrap_or(6379),
        };
        let mut disk = Disk::default();
        if sentinel {
            // Sentinel reads its config file and rewrites it on its disk.
            let mut text = spec.lines.join("\n");
            text.push('\n');
            disk.install(redsim_engine::sentinel::CONFIG_FILE, text.into_bytes());
        }
        let shared = Arc::new(Shared {
            spec,
            sentinel,
            disk: Mutex::new(disk),
            state: Mutex::new(State {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                // On loopback the first start takes a free port.
                port: if cfg!(madsim) { port } else { 0 },
                starts: 0,
                inbox: None,
                tasks: Vec::new(),
                logs: Vec::new(),
                events: Vec::new(),
                exit_code: None,
            }),
            ready: watch::channel((0, None)).0,
            paused: watch::channel(false).0,
        });
        #[cfg(madsim)]
        let node = {
            let handle = madsim::runtime::Handle::current();
            let mut builder = handle.create_node();
            if let Some(name) = &shared.spec.name {
                builder = builder.name(name.clone());
            }
            let process = shared.clone();
            let node = builder.init(move || process::run(process.clone())).build();
            let ip = shared.spec.ip.unwrap_or_else(|| auto_ip(node.id()));
            madsim::net::NetSim::current().set_ip(node.id(), ip);
            lock(&shared.state).ip = ip;
            node
        };
        #[cfg(not(madsim))]
        shared.spawn_process();
        let this = Node {
            shared,
            #[cfg(madsim)]
            node,
        };
        this.wait_started(1).await?;
        Ok(this)
    }

    async fn wait_started(&self, start: u64) -> io::Result<()> {
        let mut ready = self.shared.ready.subscribe();
        loop {
            let (started, failed) = ready.borrow_and_update().clone();
            if started >= start {
                return Ok(());
            }
            if let Some((s, why)) = failed {
                if s >= start {
                    return Err(io::Error::new(io::ErrorKind::AddrInUse, why));
                }
            }
            if ready.changed().await.is_err() {
                return Err(io::Error::other("the node is gone"));
            }
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        let state = lock(&self.shared.state);
        SocketAddr::new(state.ip, state.port)
    }

    /// A TCP connection to the node, from the calling task's node. Under
    /// madsim that node needs an IP: madsim's main task has none, so
    /// connect from a node (see [`on_client`]).
    pub async fn connect(&self) -> io::Result<TcpStream> {
        TcpStream::connect(self.addr()).await
    }

    /// The madsim node, for madsim's own faults: `NetSim::current()
    /// .clog_node(redis.id())` cuts it off the network until `unclog_node`.
    #[cfg(madsim)]
    pub fn id(&self) -> madsim::task::NodeId {
        self.node.id()
    }

    /// SIGKILL: the process and its children vanish, its connections reset;
    /// what it wrote stays in the page cache (a restart reads it back).
    pub fn crash(&self) {
        #[cfg(madsim)]
        madsim::runtime::Handle::current().kill(self.node.id());
        self.shared.down();
        self.shared.paused.send_replace(false);
    }

    /// The machine loses power: the process dies as with [`Node::crash`]
    /// and every file reverts to what was fsynced. Returns the bytes lost.
    pub fn power_fail(&self) -> u64 {
        self.crash();
        lock(&self.shared.disk).power_loss()
    }

    /// Starts the process again (killing it first if it runs: madsim's
    /// restart alone keeps the old sockets bound), with the files its disk
    /// holds now, and waits until it listens.
    pub async fn restart(&self) -> io::Result<()> {
        let next = lock(&self.shared.state).starts + 1;
        self.crash();
        #[cfg(madsim)]
        madsim::runtime::Handle::current().restart(self.node.id());
        #[cfg(not(madsim))]
        self.shared.spawn_process();
        self.wait_started(next).await
    }

    /// SIGSTOP: the process runs nothing; bytes to it queue (in madsim's
    /// network, or the kernel's socket buffers).
    pub fn pause(&self) {
        #[cfg(madsim)]
        madsim::runtime::Handle::current().pause(self.node.id());
        #[cfg(not(madsim))]
        self.shared.paused.send_replace(true);
    }

    /// SIGCONT.
    pub fn resume(&self) {
        #[cfg(madsim)]
        madsim::runtime::Handle::current().resume(self.node.id());
        #[cfg(not(madsim))]
        self.shared.paused.send_replace(false);
    }

    /// Runs a command out of band, as an admin on the node's console would
    /// (no client connection, nothing in CLIENT LIST), in the process's loop
    /// between its other inputs. On a paused node it waits for resume.
    pub async fn admin<S: AsRef<[u8]>>(&self, args: &[S]) -> io::Result<Value> {
        let argv = args.iter().map(|a| a.as_ref().to_vec()).collect();
        let inbox = lock(&self.shared.state).inbox.clone();
        let inbox = inbox.ok_or_else(|| io::Error::other("the node is down"))?;
        let (to, reply) = oneshot::channel();
        inbox
            .send(Msg::Admin(argv, to))
            .map_err(|_| io::Error::other("the node is down"))?;
        let raw = reply
            .await
            .map_err(|_| io::Error::other("the node went down"))?;
        match parse_reply(&raw) {
            Ok(Some((value, _))) => Ok(value),
            _ => Err(io::Error::other("the admin reply did not parse")),
        }
    }

    /// Whether the process runs (started and neither killed nor exited).
    pub fn is_up(&self) -> bool {
        lock(&self.shared.state).inbox.is_some()
    }

    /// The exit code after SHUTDOWN or a fatal start-up error.
    pub fn exit_code(&self) -> Option<i32> {
        lock(&self.shared.state).exit_code
    }

    /// Every log line of every process of the node, in Redis's format.
    pub fn logs(&self) -> Vec<String> {
        let state = lock(&self.shared.state);
        state.logs.iter().map(LogEntry::to_string).collect()
    }

    pub fn log_entries(&self) -> Vec<LogEntry> {
        lock(&self.shared.state).logs.clone()
    }

    /// The notable events (Sentinel's `+sdown`, `+switch-master`, ...).
    pub fn events(&self) -> Vec<redsim_engine::Event> {
        lock(&self.shared.state).events.clone()
    }

    /// The node's files as a process starting now would read them.
    pub fn files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        lock(&self.shared.disk).files()
    }

    /// The node's files as a power loss now would leave them.
    pub fn durable_files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        lock(&self.shared.disk).durable_files()
    }
}

impl Drop for Node {
    /// On a real runtime the server's tasks end with its handle.
    fn drop(&mut self) {
        if cfg!(not(madsim)) {
            self.shared.down();
        }
    }
}

#[cfg(madsim)]
fn auto_ip(id: madsim::task::NodeId) -> IpAddr {
    let n: u32 = id.to_string().parse().expect("a node id is a number");
    IpAddr::V4(Ipv4Addr::new(10, 213, (n >> 8) as u8, n as u8))
}

impl Shared {
    #[cfg(not(madsim))]
    fn spawn_process(self: &Arc<Self>) {
        let process = process::run(self.clone());
        self.spawn_task(process);
    }
}

/// A redis-server process.
pub struct RedisNode(Node);

impl RedisNode {
    /// Starts redis-server with these redis.conf lines (`port` defaults to
    /// 6379 under madsim; on loopback the node takes a free port).
    pub async fn start(spec: NodeSpec) -> io::Result<RedisNode> {
        Node::start(spec, false).await.map(RedisNode)
    }
}

impl Deref for RedisNode {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.0
    }
}

/// A redis-sentinel process.
pub struct SentinelNode(Node);

impl SentinelNode {
    /// Starts redis-sentinel with these sentinel.conf lines (`port`
    /// defaults to 26379 under madsim). Sentinel rewrites the file on its
    /// node's disk; a restart reads it back.
    pub async fn start(spec: NodeSpec) -> io::Result<SentinelNode> {
        Node::start(spec, true).await.map(SentinelNode)
    }

    /// SENTINEL GET-MASTER-ADDR-BY-NAME, out of band.
    pub async fn master_addr(&self, name: &str) -> io::Result<Option<SocketAddr>> {
        let reply = self
            .admin(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])
            .await?;
        let Value::Array(parts) = reply else {
            return Ok(None);
        };
        let text = |v: &Value| match v {
            Value::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        };
        let (Some(ip), Some(port)) = (parts.first().and_then(text), parts.get(1).and_then(text))
        else {
            return Ok(None);
        };
        Ok(format!("{ip}:{port}").parse().ok())
    }
}

impl Deref for SentinelNode {
    type Target = Node;
    fn deref(&self) -> &Node {
        &self.0
    }
}

/// Runs `task` as a client machine: under madsim on a node of its own with
/// an IP (madsim's main task has none, so it cannot open connections);
/// on a real runtime in place.
pub async fn on_client<F>(name: &str, task: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[cfg(madsim)]
    {
        let handle = madsim::runtime::Handle::current();
        let node = handle.create_node().name(name).build();
        madsim::net::NetSim::current().set_ip(node.id(), auto_ip(node.id()));
        node.spawn(task).await.expect("the client node was killed")
    }
    #[cfg(not(madsim))]
    {
        let _ = name;
        task.await
    }
}
