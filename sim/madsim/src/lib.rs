//! redsim's Redis and Sentinel as [madsim](https://docs.rs/madsim) nodes,
//! for the madsim tests of Rust services.
//!
//! ```no_run
//! use redsim_madsim::{client, NodeSpec, RedisNode};
//!
//! #[tokio::test] // madsim-tokio's: madsim's test under --cfg madsim
//! async fn counter() {
//!     let redis = RedisNode::start(NodeSpec::conf(["appendonly yes"])).await.unwrap();
//!     let mut con = client::connection(redis.connect().await.unwrap()).await.unwrap();
//!     let n: i64 = redis::cmd("INCR").arg("hits").query_async(&mut con).await.unwrap();
//!     assert_eq!(n, 1);
//! }
//! ```
//!
//! Each node runs one process of redsim's engine (the sans-IO Redis 7.0
//! core that `redsim serve` and the scenario world also drive): one task
//! owns the engine, an accept loop feeds it, and each connection has a
//! reader and a writer task (process.rs).
//!
//! # Two builds, one API
//!
//! The crate uses madsim-tokio's names (`tokio::net`, `tokio::time`,
//! `tokio::spawn`), so with `RUSTFLAGS="--cfg madsim"` every node is a
//! madsim node with an IP of its own on madsim's network and in its virtual
//! time, and without it the same calls start real servers on loopback
//! (127.0.0.1, a free port each) on the current tokio runtime: one test
//! runs simulated and for real.
//!
//! # Who simulates what
//!
//! madsim simulates: time (every timer, and the wall clock the engine
//! reads), task scheduling, the random seed (`MADSIM_TEST_SEED`), the
//! network (connections, latency, `NetSim::clog_node` partitions), and the
//! node lifecycle (kill, restart, pause).
//!
//! redsim simulates: the Redis or Sentinel process itself (commands,
//! replication, persistence, Sentinel's failover, Redis's log lines and
//! events); its CPU time (each step's cost keeps the process busy, inputs
//! queue meanwhile, the step's replies leave at its end); its disk
//! (disk.rs: page cache vs durable bytes, so [`Node::power_fail`] loses
//! what was not fsynced, which madsim's `fs` does not model); and its
//! children (BGSAVE, AOF rewrite) as tasks beside the loop.
//!
//! # madsim's quirks, and how they are handled
//!
//! - madsim's `restart` respawns a node without closing its sockets, so
//!   the old listener would still hold the port: [`Node::restart`] kills
//!   the node first.
//! - madsim's TCP has no backpressure (a write never blocks, buffers grow
//!   without bound) and sends only on flush: the writer task flushes after
//!   every batch of replies. A slow reader therefore never fills Redis's
//!   output buffer here; client-output-buffer-limit tests need the
//!   scenario world.
//! - madsim's latency is one global range for every packet
//!   (`NetSim::update_config`, 1-10 ms by default), with no per-link
//!   latency or bandwidth: the scenario world has those.
//! - A paused madsim node runs nothing, so [`Node::admin`] on it waits
//!   until [`Node::resume`].
//! - A crash kills the node's tasks, children included (in the scenario
//!   world a crashed parent's child runs to its end).
//!
//! What does not work over redis-rs under madsim is in [`client`].

pub mod client;
mod disk;
mod node;
mod process;
mod spec;

pub use node::{on_client, Node, RedisNode, SentinelNode};
pub use process::LogEntry;
pub use redsim_engine::resp::Value;
pub use spec::NodeSpec;
