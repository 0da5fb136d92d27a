//! The node's disk: each file has a page-cache view (what every read sees)
//! and a durable view (what survives a power loss), as sim/src/disk.rs
//! keeps them, without its device queue and bandwidth.
//!
//! Writes land in the page cache. An fsync makes durable the bytes the file
//! held when it was issued, once it completes (after the spec's fsync
//! latency). rename(2) and unlink(2) act on both views at once (the journal
//! commits directory changes and Redis fsyncs before it renames), and so
//! does creating a file: its name is durable at once, its bytes empty until
//! an fsync (Redis fsyncs the AOF directory after creating a file). A crash
//! (SIGKILL) keeps the page cache; a power loss reverts every file to its
//! durable bytes.
//!
//! Not modelled: the kernel's writeback. Linux writes dirty pages back
//! within about 30 s, so there `appendfsync no` loses at most that much
//! on power loss; here unsynced bytes stay unsynced until an fsync.
//!
//! madsim's own `fs` keeps everything a node wrote across a kill, so the
//! nodes here keep their files in this model instead.

use std::collections::BTreeMap;

use redsim_engine::DiskOp;

#[derive(Debug, Default)]
struct Inode {
    cache: Vec<u8>,
    durable: Option<Vec<u8>>,
    /// The sequence number of the fsync whose snapshot `durable` is.
    durable_seq: u64,
}

/// Files by name (relative to the node's `dir`), over inodes, so an fsync
/// in flight follows its file through a rename.
#[derive(Debug, Default)]
pub struct Disk {
    names: BTreeMap<String, u64>,
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    next_seq: u64,
}

/// An fsync issued and not yet completed: the bytes it will make durable.
#[derive(Debug)]
pub struct PendingFsync {
    inode: u64,
    seq: u64,
    snapshot: Vec<u8>,
}

impl Disk {
    fn inode_mut(&mut self, file: &str) -> &mut Inode {
        let id = match self.names.get(file) {
            Some(id) => *id,
            None => {
                self.next_inode += 1;
                let id = self.next_inode;
                self.names.insert(file.to_string(), id);
                let created = Inode {
                    durable: Some(Vec::new()),
                    ..Inode::default()
                };
                self.inodes.insert(id, created);
                id
            }
        };
        self.inodes.get_mut(&id).expect("every name has an inode")
    }

    /// A file written and synced before the process starts (a sentinel.conf,
    /// a preloaded dump.rdb): durable at once.
    pub fn install(&mut self, file: &str, bytes: Vec<u8>) {
        self.next_seq += 1;
        let seq = self.next_seq;
        let inode = self.inode_mut(file);
        inode.cache = bytes.clone();
        inode.durable = Some(bytes);
        inode.durable_seq = seq;
    }

    /// Carries out a write-side operation at once. An fsync returns what it
    /// will make durable; the caller completes it after the fsync latency.
    pub fn apply(&mut self, op: &DiskOp) -> Option<PendingFsync> {
        match op {
            DiskOp::Append { file, bytes } => {
                self.inode_mut(file).cache.extend_from_slice(bytes);
            }
            DiskOp::Truncate { file, len } => {
                let inode = self.inode_mut(file);
                inode.cache.resize(*len as usize, 0);
            }
            DiskOp::Fsync { file, .. } => return Some(self.start_fsync(file)),
            DiskOp::Rename { from, to } => {
                if let Some(id) = self.names.remove(from) {
                    if let Some(old) = self.names.insert(to.clone(), id) {
                        self.inodes.remove(&old);
                    }
                }
            }
            DiskOp::Remove { file } => {
                if let Some(id) = self.names.remove(file) {
                    self.inodes.remove(&id);
                }
            }
        }
        None
    }

    pub fn start_fsync(&mut self, file: &str) -> PendingFsync {
        self.next_seq += 1;
        let seq = self.next_seq;
        let id = {
            self.inode_mut(file);
            self.names[file]
        };
        PendingFsync {
            inode: id,
            seq,
            snapshot: self.inodes[&id].cache.clone(),
        }
    }

    /// The fsync is done: its bytes are durable (unless a later fsync of
    /// the same file already completed, or the file is gone).
    pub fn complete_fsync(&mut self, fsync: PendingFsync) {
        if let Some(inode) = self.inodes.get_mut(&fsync.inode) {
            if inode.durable_seq < fsync.seq {
                inode.durable = Some(fsync.snapshot);
                inode.durable_seq = fsync.seq;
            }
        }
    }

    /// Writes a whole file as a child does (create, write), for the fsync
    /// that follows.
    pub fn write_file(&mut self, file: &str, bytes: &[u8]) {
        let inode = self.inode_mut(file);
        inode.cache = bytes.to_vec();
    }

    /// Power loss: every file reverts to its durable bytes. Returns the
    /// bytes lost.
    pub fn power_loss(&mut self) -> u64 {
        let mut lost = 0u64;
        let mut gone = Vec::new();
        for (id, inode) in self.inodes.iter_mut() {
            match &inode.durable {
                Some(d) => {
                    let kept = common_prefix(&inode.cache, d);
                    lost += (inode.cache.len() - kept) as u64;
                    inode.cache = d.clone();
                }
                None => {
                    lost += inode.cache.len() as u64;
                    gone.push(*id);
                }
            }
        }
        for id in gone {
            self.inodes.remove(&id);
        }
        let inodes = &self.inodes;
        self.names.retain(|_, id| inodes.contains_key(id));
        lost
    }

    /// Every file as the page cache holds it: what a process starting now reads.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.names
            .iter()
            .map(|(name, id)| (name.clone(), self.inodes[id].cache.clone()))
            .collect()
    }

    /// Every file's durable bytes (files that have some).
    pub fn durable_files(&self) -> BTreeMap<String, Vec<u8>> {
        self.names
            .iter()
            .filter_map(|(name, id)| Some((name.clone(), self.inodes[id].durable.clone()?)))
            .collect()
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(file: &str, bytes: &[u8]) -> DiskOp {
        DiskOp::Append {
            file: file.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn power_loss_keeps_only_synced_bytes() {
        let mut disk = Disk::default();
        disk.apply(&append("a.aof", b"one"));
        let fsync = disk.start_fsync("a.aof");
        disk.apply(&append("a.aof", b"two"));
        disk.complete_fsync(fsync);
        disk.apply(&append("b.rdb", b"never synced"));
        assert_eq!(disk.files()["a.aof"], b"onetwo");
        assert_eq!(disk.power_loss(), 3 + 12);
        assert_eq!(disk.files()["a.aof"], b"one");
        assert_eq!(
            disk.files()["b.rdb"],
            b"",
            "the name was durable, the bytes not"
        );
    }

    #[test]
    fn an_fsync_follows_its_file_through_a_rename_and_never_goes_back() {
        let mut disk = Disk::default();
        disk.apply(&append("temp", b"rdb"));
        let early = disk.start_fsync("temp");
        disk.apply(&append("temp", b"+more"));
        let late = disk.start_fsync("temp");
        disk.apply(&DiskOp::Rename {
            from: "temp".into(),
            to: "dump.rdb".into(),
        });
        disk.complete_fsync(late);
        disk.complete_fsync(early);
        assert_eq!(disk.durable_files()["dump.rdb"], b"rdb+more");
        disk.power_loss();
        assert_eq!(disk.files()["dump.rdb"], b"rdb+more");
    }
}
