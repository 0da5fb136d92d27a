//! Convergence: does a replica hold its master's dataset?
//!
//! A dataset's digest is what DEBUG DIGEST computes in spirit (Redis's own is SHA-1 based and
//! not reproduced here; nothing compares it with a real server): every key of every database
//! gives a SHA-256 of its database index, name, type, value and expire time, and the keys'
//! digests are XORed, so the digest does not depend on the order keys are stored in. Inside a
//! value, lists and sorted sets are hashed in order; hash fields and set members are XORed
//! like keys, as Redis's digest does, since their order is an accident of the encoding.
//!
//! [`ConvergenceTracker`] watches the replicas after the last fault: for each (replica, master)
//! pair it remembers the first instant their digests were equal, so the run's end can say how
//! long each replica took to converge to the master it has then, or that it never did.

use std::collections::BTreeMap;

use redsim_engine::object::Value;
use redsim_engine::server::Server;
use sha2::{Digest, Sha256};

use crate::world::World;

/// A dataset digest: equal datasets give equal digests.
pub type DatasetDigest = [u8; 32];

fn xor_into(acc: &mut DatasetDigest, part: &[u8]) {
    for (a, b) in acc.iter_mut().zip(part) {
        *a ^= b;
    }
}

fn element_digest(parts: &[&[u8]]) -> DatasetDigest {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// The digest of every key of every database of a server (expired keys not yet removed count
/// as absent, as a read would see them).
pub fn dataset_digest(srv: &Server) -> DatasetDigest {
    let mut acc = [0u8; 32];
    for (db_index, db) in srv.dbs.iter().enumerate() {
        for (key, entry) in db.dict.iter() {
            if srv.key_is_expired(db_index, key) {
                continue;
            }
            let mut h = Sha256::new();
            h.update((db_index as u64).to_le_bytes());
            h.update((key.len() as u64).to_le_bytes());
            h.update(key);
            h.update(entry.value.type_name().as_bytes());
            match &entry.value {
                Value::Str(s) => h.update(element_digest(&[&s[..]])),
                Value::List(items) => {
                    for item in items {
                        h.update(element_digest(&[item]));
                    }
                }
                Value::Hash(hash) => {
                    let mut fields = [0u8; 32];
                    for (field, value) in hash.fields.iter() {
                        xor_into(&mut fields, &element_digest(&[field, value]));
                    }
                    h.update(fields);
                }
                Value::Set(set) => {
                    let mut members = [0u8; 32];
                    for member in set.members.iter() {
                        xor_into(&mut members, &element_digest(&[member]));
                    }
                    h.update(members);
                }
                Value::ZSet(z) => {
                    for (score, member) in z.ordered.iter() {
                        h.update(element_digest(&[member, &score.0.to_le_bytes()]));
                    }
                }
            }
            let expire = db.expires.get(key).copied().unwrap_or(-1);
            h.update(expire.to_le_bytes());
            let digest: DatasetDigest = h.finalize().into();
            xor_into(&mut acc, &digest);
        }
    }
    acc
}

/// How long each replica took, after the last fault, to hold its master's dataset.
#[derive(Debug, Clone, Default)]
pub struct ConvergenceTracker {
    /// Redis nodes to watch (sentinels have no dataset).
    nodes: Vec<String>,
    /// (replica, master) -> the first check at which their digests were equal (virtual µs).
    first_equal_us: BTreeMap<(String, String), u64>,
}

/// What the tracker concluded at the end of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Convergence {
    /// Each node that is a replica at the end -> µs from `since_us` to the first check at which
    /// its digest equalled its final master's, or None if it never did.
    pub replicas: BTreeMap<String, Option<u64>>,
}

impl ConvergenceTracker {
    pub fn new(nodes: Vec<String>) -> ConvergenceTracker {
        ConvergenceTracker {
            nodes,
            first_equal_us: BTreeMap::new(),
        }
    }

    /// Compares every replica that is caught up with the master at the root of its replication
    /// chain (every link on the way up, applied offset equal to the root's) with that master:
    /// digests only then, since a replica behind cannot hold the master's dataset yet, and most
    /// checks stop there.
    pub fn check(&mut self, world: &World) {
        let now = world.now_us();
        let mut master_digests: BTreeMap<String, DatasetDigest> = BTreeMap::new();
        for node in &self.nodes {
            let Some(root) = world.replication_root(node) else {
                continue;
            };
            let pair = (node.clone(), root.master.clone());
            if self.first_equal_us.contains_key(&pair) || !root.caught_up {
                continue;
            }
            let (Some(r), Some(m)) = (world.engine(node), world.engine(&root.master)) else {
                continue;
            };
            let master_digest = *master_digests
                .entry(root.master.clone())
                .or_insert_with(|| dataset_digest(m.server()));
            if dataset_digest(r.server()) == master_digest {
                self.first_equal_us.insert(pair, now);
            }
        }
    }

    /// The verdict at the end of the run, measured from `since_us` (the last fault).
    pub fn finish(&self, world: &World, since_us: u64) -> Convergence {
        let mut replicas = BTreeMap::new();
        for node in &self.nodes {
            let Some(root) = world.replication_root(node) else {
                continue;
            };
            let first = self.first_equal_us.get(&(node.clone(), root.master));
            replicas.insert(node.clone(), first.map(|&t| t.saturating_sub(since_us)));
        }
        Convergence { replicas }
    }
}

/// Where a replica's data comes from: the master at the root of its replication chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationRoot {
    pub master: String,
    /// Every link from the replica up to the root is up, no node on the way is loading, and the
    /// replica has applied the root's whole stream (a chained replica gets the root's stream
    /// with the root's offsets).
    pub caught_up: bool,
}

impl World {
    /// The master at the root of a replica's chain (None for a master, a node that is down, a
    /// chain that names no node of the world, or a loop of replicas).
    pub fn replication_root(&self, node: &str) -> Option<ReplicationRoot> {
        let mut current = node.to_string();
        let mut caught_up = true;
        let offset = self.engine(node)?.server().repl.master.as_ref()?.reploff;
        for _ in 0..self.hosts.len() {
            let srv = self.engine(&current)?.server();
            caught_up &= !srv.loading;
            let Some(link) = srv.repl.master.as_ref() else {
                let caught_up = caught_up && srv.repl.master_repl_offset == offset;
                return (current != node).then_some(ReplicationRoot {
                    master: current,
                    caught_up,
                });
            };
            caught_up &= link.state == redsim_engine::replication::ReplState::Connected;
            current = self.replica_master(&current)?;
        }
        None
    }

    /// The node a Redis node replicates from now (its `replicaof` host, a machine or node name
    /// or an IP, and port), or None when it is a master, down, or names no node of the world.
    pub fn replica_master(&self, node: &str) -> Option<String> {
        let link = self.engine(node)?.server().repl.master.as_ref()?;
        let m = self.machine_index(&link.host).ok()?;
        self.machines[m]
            .procs
            .iter()
            .find(|&&h| !self.hosts[h].sentinel && self.hosts[h].ports.contains(&link.port))
            .map(|&h| self.hosts[h].name.clone())
    }
}
