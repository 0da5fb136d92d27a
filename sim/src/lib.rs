//! The simulated world: machines, network, faults, clients, history, trace.
//!
//! [`World`] drives `redsim_engine::Engine` instances with a deterministic
//! discrete-event loop: the madsim model (one seeded scheduler owns time and
//! every random choice) without an async runtime, because the engine is
//! sans-IO. A run is a pure function of the seed: [`World::trace_hash`]
//! replays byte for byte.
//!
//! Code map:
//! - world.rs: the event queue (BinaryHeap keyed by (time µs, sequence)),
//!   the runner's API, and the host loop (when steps run, when outputs leave).
//! - host.rs: one process (a node) on a machine: engine, inbox, timer,
//!   connections, the ports it listens on, its files' place on the disk.
//! - network.rs: links (latency + jitter, bandwidth), partitions, TCP
//!   connections as pairs of FIFO streams, and how bytes move.
//! - faults.rs: the fault timeline and what each fault does.
//! - client/: open-loop workload clients (plain.rs: one connection each).
//! - history.rs: every operation and the summary the report shows.
//! - checkers/: judgements of a finished run (acked_writes.rs: acknowledged writes lost;
//!   linearizable.rs: per-key linearizability, Wing & Gong / porcupine).
//! - trace.rs: the running SHA-256 of every event and the notable events.
//! - clock.rs: node clocks (unix µs) from virtual time; Redis log timestamps.
//! - machine.rs: machine specs and per-machine state; a machine runs any
//!   number of processes that share its cores, RAM, swap and the OOM killer
//!   (checked after every step of any of them), disk and clock.
//! - disk.rs: each machine's files (page cache and durable views), the
//!   device queue, fsync, writeback, power loss and torn writes.
//! - child.rs: forked children (BGSAVE, AOF rewrite) on the machine's
//!   cores and disk.
//!
//! Timing rules, in one place:
//! - A node is a single-threaded loop. An input that arrives while it is
//!   idle runs at once; the step's cpu_us keeps it busy, and the step's
//!   outputs leave at the end of the busy period. Inputs arriving while busy
//!   queue in arrival order (bytes behind bytes of the same connection merge,
//!   as one read() takes all that is available). A due timer runs when the
//!   node is free; an input that arrived before the timer was due goes first.
//! - A send of B bytes arrives at max(now, link free) + B/bandwidth +
//!   latency + jitter (up to 5% of the latency), never before earlier data of
//!   the same connection. Connect takes one round trip (SYN, SYN-ACK); a node
//!   that is down or not listening answers RST after one round trip.
//! - Partitions hold data (TCP retransmits) and SYNs until heal.
//! - Kill is power loss of a machine: every process on it dies; peers are
//!   not told; data to them is lost. After restart, a peer that sends on (or
//!   was retransmitting on) an old connection gets RST one round trip later.
//! - Processes of one machine talk over loopback (1 µs, no link, never
//!   partitioned). A connect reaches the process of the target machine that
//!   listens on the port, else RST after a round trip.
//! - Clients are open loop with exponential inter-arrival times; an op's
//!   invoke time is when it was generated, so client-side queueing counts.
//!   Ops that cannot be sent (no connection) fail with "NOCONN"; ops in
//!   flight when the connection drops are Unknown. Reconnect after 100 ms.
//! - Disk: writes land in the page cache; an fsync takes the machine's
//!   fsync latency plus the file's dirty bytes at the disk bandwidth, in
//!   one FIFO device queue per machine. A blocking fsync stalls the loop
//!   and holds the step's remaining outputs; a main-thread write to a file
//!   with an fsync in flight waits for it. Dirty data older than 30 s is
//!   written back by the kernel (flusher every 5 s).
//! - Crash (SIGKILL) keeps the page cache and lets a child finish; kill
//!   (power loss) reverts every file to its durable contents.
//!
//! Architecture Invariant: nothing in this crate reads a wall clock, spawns
//! a thread, reads the environment or iterates a HashMap; every random draw
//! comes from a ChaCha8Rng on its own stream of the run's seed.

pub mod checkers;
pub(crate) mod child;
pub mod client;
pub mod clock;
pub mod disk;
pub mod faults;
pub mod history;
pub mod host;
pub mod machine;
pub mod network;
pub(crate) mod queue;
pub mod trace;
pub mod world;

pub use client::{Distribution, WorkloadKind, WorkloadSpec};
pub use disk::DiskStats;
pub use faults::Fault;
pub use history::{History, HistorySummary, LatencyMs, Op, OpKind, Outcome};
pub use machine::{MachineSpec, MachineStats, MemoryState};
pub use network::LinkSpec;
pub use trace::NotableEvent;
pub use world::{NodeSpec, World, WorldSpec};
