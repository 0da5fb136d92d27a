//! What a node is started with.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// A redis-server or redis-sentinel process: its config file's lines and
/// where it runs.
#[derive(Debug, Clone, Default)]
pub struct NodeSpec {
    pub(crate) name: Option<String>,
    pub(crate) lines: Vec<String>,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) hosts: BTreeMap<String, String>,
    pub(crate) fsync_latency: Duration,
}

impl NodeSpec {
    pub fn new() -> NodeSpec {
        NodeSpec::default()
    }

    /// redis.conf (or sentinel.conf) lines, as the file would hold them:
    /// `["appendonly yes", "appendfsync everysec"]`.
    pub fn conf<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) -> NodeSpec {
        NodeSpec::new().lines(lines)
    }

    /// One more config line.
    pub fn line(mut self, line: impl Into<String>) -> NodeSpec {
        self.lines.push(line.into());
        self
    }

    pub fn lines<S: AsRef<str>>(mut self, lines: impl IntoIterator<Item = S>) -> NodeSpec {
        self.lines
            .extend(lines.into_iter().map(|l| l.as_ref().to_string()));
        self
    }

    /// The madsim node's name (its log lines and madsim's traces show it).
    pub fn name(mut self, name: impl Into<String>) -> NodeSpec {
        self.name = Some(name.into());
        self
    }

    /// The node's IP under madsim (default: 10.213.x.y from the madsim node
    /// id). On loopback every node is 127.0.0.1.
    pub fn ip(mut self, ip: IpAddr) -> NodeSpec {
        self.ip = Some(ip);
        self
    }

    /// A host name the process resolves (its /etc/hosts), for a
    /// `replicaof` or `sentinel monitor` line that names a host.
    pub fn host(mut self, name: impl Into<String>, ip: impl Into<String>) -> NodeSpec {
        self.hosts.insert(name.into(), ip.into());
        self
    }

    /// How long an fsync takes to complete (the disk's cache flush). Zero
    /// by default: the model then only decides what survives a power loss.
    pub fn fsync_latency(mut self, latency: Duration) -> NodeSpec {
        self.fsync_latency = latency;
        self
    }
}
