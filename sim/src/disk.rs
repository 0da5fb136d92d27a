//! The simulated disk of one machine: files, the page cache, durability and
//! the device queue.
//!
//! Each file (an inode, reached through a name relative to the node's dir)
//! has two views: the page-cache view, which every read sees, and the
//! durable view, which is what survives a power loss. Writes (append,
//! truncate) land in the page cache at once and make the file dirty. Only
//! an fsync, or the kernel's writeback of data dirty for 30 s, makes bytes
//! durable, and only when the device has actually written them.
//!
//! The device is one FIFO queue shared by everything that does I/O on the
//! machine: fsyncs (main thread, bio thread, children), the kernel's
//! writeback and swap. An fsync occupies it for its dirty bytes at the
//! disk's bandwidth plus the machine's fsync latency (the cache flush and
//! journal commit); it makes durable the bytes the file held when the fsync
//! was issued.
//!
//! Durability choices, in one place:
//! - The durable view of a file that only grew since its last durable
//!   point is a length into the page-cache bytes (no copy). A truncate
//!   below that length copies the durable bytes out first (copy on
//!   truncate), so large append-only files stay cheap.
//! - rename(2) and unlink(2) act on both views at once (the journal commits
//!   directory changes within seconds and Redis always fsyncs before it
//!   renames). A rename that replaces an existing file also makes the moved
//!   file's current contents durable, as ext4's auto_da_alloc does for
//!   rename-over, so a crash never leaves an empty file where a good one was.
//! - A file with no durable point at all (created, never synced or written
//!   back) is gone after a power loss.
//! - An fsync of a clean file whose contents are already durable completes
//!   at once; there is nothing to write and no journal commit to wait for.
//! - A torn write (power loss with `torn`): the file of the machine's last
//!   non-durable append keeps its bytes up to a seeded 512-byte sector
//!   boundary strictly inside that append, as a disk that wrote some of the
//!   append's sectors (and everything before them) when power went.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Kernel writeback: the flusher thread wakes this often...
pub const FLUSHER_PERIOD_US: u64 = 5_000_000;
/// ...and writes back inodes dirty for longer than this (dirty_expire_centisecs 3000).
pub const DIRTY_EXPIRE_US: u64 = 30_000_000;
/// A torn write keeps whole sectors.
pub const SECTOR_BYTES: u64 = 512;

/// Disk counters of one machine, for tests and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskStats {
    /// Bytes written into the page cache (appends, by every process).
    pub bytes_written: u64,
    /// Bytes fsyncs (and a child's sync_file_range) wrote to the device.
    pub bytes_fsynced: u64,
    /// Bytes the kernel's writeback wrote to the device.
    pub bytes_written_back: u64,
    /// Bytes of other device I/O (swap).
    pub bytes_other_io: u64,
    /// fsyncs issued.
    pub fsyncs: u64,
    /// Bytes lost at power losses (page-cache bytes that were not durable).
    pub bytes_lost: u64,
}

/// The durable contents of a file.
#[derive(Debug, Clone, PartialEq)]
enum Durable {
    /// Nothing of the file survives a power loss, not even its name.
    Missing,
    /// The first n bytes of the page-cache data (unchanged since).
    Prefix(u64),
    /// A copy, taken when a truncate cut the page cache below the durable length.
    Own(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Inode {
    data: Vec<u8>,
    durable: Durable,
    /// Bytes written since the file was last handed to the device.
    dirty_bytes: u64,
    /// When the oldest unsubmitted dirty byte was written (None: clean).
    dirty_since_us: Option<u64>,
    /// The latest completion time of an fsync in flight on this inode.
    fsync_until_us: u64,
}

impl Inode {
    fn new() -> Inode {
        Inode {
            data: Vec::new(),
            durable: Durable::Missing,
            dirty_bytes: 0,
            dirty_since_us: None,
            fsync_until_us: 0,
        }
    }

    fn durable_bytes(&self) -> Option<&[u8]> {
        match &self.durable {
            Durable::Missing => None,
            Durable::Prefix(n) => Some(&self.data[..*n as usize]),
            Durable::Own(bytes) => Some(bytes),
        }
    }

    fn mark_dirty(&mut self, now_us: u64, bytes: u64) {
        self.dirty_bytes += bytes;
        self.dirty_since_us.get_or_insert(now_us);
    }

    /// Whether the page cache holds anything the durable view lacks.
    fn is_clean(&self) -> bool {
        self.durable == Durable::Prefix(self.data.len() as u64)
    }

    /// The device has written the first `len` bytes. If a truncate changed
    /// them while the I/O was in flight, this stands for the later writes
    /// that the same device pass carried (a rare case Redis avoids).
    fn make_durable(&mut self, len: u64) {
        let len = len.min(self.data.len() as u64);
        match self.durable {
            // A longer prefix is durable already (the Prefix invariant).
            Durable::Prefix(n) if n >= len => {}
            _ => self.durable = Durable::Prefix(len),
        }
    }
}

/// What a power loss did: (file, bytes lost) per file that lost something,
/// and the torn write kept, if any, as (file, bytes kept).
pub(crate) type PowerLossReport = (Vec<(String, u64)>, Option<(String, u64)>);

/// What to do when a device I/O completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Nothing more (writeback, a blocking fsync whose host waits by time, swap).
    Nothing,
    /// Tell the process (if it is still the same one) Input::FsyncDone.
    Token {
        host: usize,
        incarnation: u32,
        token: u64,
    },
    /// Resume a child process.
    Child { host: usize, child: u64 },
}

#[derive(Debug, Clone)]
pub(crate) struct PendingIo {
    /// The inode and its length that become durable.
    durable: Option<(u64, u64)>,
    pub after: After,
}

/// One machine's disk.
#[derive(Debug)]
pub struct Disk {
    names: BTreeMap<String, u64>,
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    /// The device is busy until then (FIFO).
    device_free_us: u64,
    pending: BTreeMap<u64, PendingIo>,
    next_io: u64,
    /// A flusher wake-up is scheduled at this time.
    pub(crate) flusher_at_us: Option<u64>,
    /// (inode, start, end) of the last append, for torn writes.
    last_append: Option<(u64, u64, u64)>,
    pub stats: DiskStats,
    rng: ChaCha8Rng,
}

impl Disk {
    pub(crate) fn new(rng: ChaCha8Rng) -> Disk {
        Disk {
            names: BTreeMap::new(),
            inodes: BTreeMap::new(),
            next_inode: 1,
            device_free_us: 0,
            pending: BTreeMap::new(),
            next_io: 1,
            flusher_at_us: None,
            last_append: None,
            stats: DiskStats::default(),
            rng,
        }
    }

    fn inode_mut(&mut self, file: &str) -> Option<&mut Inode> {
        let id = *self.names.get(file)?;
        self.inodes.get_mut(&id)
    }

    fn inode(&self, file: &str) -> Option<&Inode> {
        self.inodes.get(self.names.get(file)?)
    }

    fn create(&mut self, file: &str) -> u64 {
        if let Some(&id) = self.names.get(file) {
            return id;
        }
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::new());
        self.names.insert(file.to_string(), id);
        id
    }

    /// write(2) at the end of `file`, creating it if missing.
    pub(crate) fn append(&mut self, now_us: u64, file: &str, bytes: &[u8]) {
        let id = self.create(file);
        let inode = self.inodes.get_mut(&id).expect("just created");
        let start = inode.data.len() as u64;
        inode.data.extend_from_slice(bytes);
        inode.mark_dirty(now_us, bytes.len() as u64);
        self.stats.bytes_written += bytes.len() as u64;
        if !bytes.is_empty() {
            self.last_append = Some((id, start, start + bytes.len() as u64));
        }
    }

    /// ftruncate(2). A missing file is ENOENT: nothing happens. Returns
    /// whether the file exists.
    pub(crate) fn truncate(&mut self, now_us: u64, file: &str, len: u64) -> bool {
        let Some(inode) = self.inode_mut(file) else {
            return false;
        };
        let old = inode.data.len() as u64;
        if len < old {
            if let Durable::Prefix(n) = inode.durable {
                if n > len {
                    inode.durable = Durable::Own(inode.data[..n as usize].to_vec());
                }
            }
            inode.data.truncate(len as usize);
        } else {
            inode.data.resize(len as usize, 0);
        }
        if len != old {
            // A truncate dirties the inode and at most the last partial
            // page (zeros past it are holes), not the bytes it cut or added.
            inode.mark_dirty(now_us, len.abs_diff(old).min(4096));
        }
        true
    }

    /// rename(2) on both views (see the module comment). Returns false when
    /// `from` does not exist (ENOENT).
    pub(crate) fn rename(&mut self, from: &str, to: &str) -> bool {
        let Some(id) = self.names.remove(from) else {
            return false;
        };
        if let Some(old) = self.names.insert(to.to_string(), id) {
            if old != id {
                self.inodes.remove(&old);
                let inode = self.inodes.get_mut(&id).expect("named inode exists");
                let len = inode.data.len() as u64;
                inode.make_durable(len);
            }
        }
        true
    }

    /// unlink(2) on both views. Returns whether the file existed.
    pub(crate) fn remove(&mut self, file: &str) -> bool {
        let Some(id) = self.names.remove(file) else {
            return false;
        };
        self.inodes.remove(&id);
        true
    }

    /// Queues `bytes` (plus `extra_us` of fixed time) on the device; returns
    /// when the device finishes them.
    pub(crate) fn device_io(
        &mut self,
        now_us: u64,
        bytes: u64,
        bandwidth: u64,
        extra_us: u64,
    ) -> u64 {
        let start = self.device_free_us.max(now_us);
        let transfer_us = (bytes as u128 * 1_000_000).div_ceil(bandwidth.max(1) as u128) as u64;
        self.device_free_us = start + transfer_us + extra_us;
        self.device_free_us
    }

    /// Issues an fsync of `file`; returns (io id, completion time, bytes).
    /// A missing file fsyncs nothing (as an fsync of a deleted file's fd).
    pub(crate) fn start_fsync(
        &mut self,
        now_us: u64,
        file: &str,
        bandwidth: u64,
        latency_us: u64,
        after: After,
    ) -> (u64, u64, u64) {
        self.stats.fsyncs += 1;
        let id = self.names.get(file).copied();
        let (durable, bytes, clean) =
            match id.and_then(|id| self.inodes.get_mut(&id).map(|inode| (id, inode))) {
                Some((id, inode)) => {
                    let bytes = std::mem::take(&mut inode.dirty_bytes);
                    inode.dirty_since_us = None;
                    (Some((id, inode.data.len() as u64)), bytes, inode.is_clean())
                }
                None => (None, 0, true),
            };
        let done_us = if clean && bytes == 0 {
            now_us.max(self.fsync_until(file))
        } else {
            self.device_io(now_us, bytes, bandwidth, latency_us)
        };
        self.stats.bytes_fsynced += bytes;
        if let Some(inode) = id.and_then(|id| self.inodes.get_mut(&id)) {
            inode.fsync_until_us = inode.fsync_until_us.max(done_us);
        }
        (
            self.add_pending(PendingIo { durable, after }),
            done_us,
            bytes,
        )
    }

    /// sync_file_range(SYNC_FILE_RANGE_WRITE) of the file's dirty bytes:
    /// they go to the device now, with no cache flush or journal commit
    /// (no fsync latency). Returns (io id, completion time).
    pub(crate) fn start_range_write(
        &mut self,
        now_us: u64,
        file: &str,
        bandwidth: u64,
    ) -> Option<(u64, u64)> {
        let id = *self.names.get(file)?;
        let inode = self.inodes.get_mut(&id).expect("named inode exists");
        let bytes = std::mem::take(&mut inode.dirty_bytes);
        inode.dirty_since_us = None;
        let durable = Some((id, inode.data.len() as u64));
        self.stats.bytes_fsynced += bytes;
        let done_us = self.device_io(now_us, bytes, bandwidth, 0);
        Some((
            self.add_pending(PendingIo {
                durable,
                after: After::Nothing,
            }),
            done_us,
        ))
    }

    fn add_pending(&mut self, io: PendingIo) -> u64 {
        let id = self.next_io;
        self.next_io += 1;
        self.pending.insert(id, io);
        id
    }

    /// Device I/O with no file (swap): occupies the queue, no durability.
    pub(crate) fn other_io(&mut self, now_us: u64, bytes: u64, bandwidth: u64) -> u64 {
        self.stats.bytes_other_io += bytes;
        self.device_io(now_us, bytes, bandwidth, 0)
    }

    /// When the last fsync in flight on `file` completes (0: none).
    pub(crate) fn fsync_until(&self, file: &str) -> u64 {
        self.inode(file).map_or(0, |inode| inode.fsync_until_us)
    }

    /// A device I/O completed: its bytes are durable. Returns what to do
    /// next, or None for an I/O that a power loss cancelled.
    pub(crate) fn complete(&mut self, io: u64) -> Option<After> {
        let pending = self.pending.remove(&io)?;
        if let Some((id, len)) = pending.durable {
            if let Some(inode) = self.inodes.get_mut(&id) {
                inode.make_durable(len);
            }
        }
        Some(pending.after)
    }

    /// The flusher thread's round: inodes dirty for longer than
    /// DIRTY_EXPIRE_US are written back whole. Returns the (io, completion)
    /// pairs to schedule.
    pub(crate) fn writeback(&mut self, now_us: u64, bandwidth: u64) -> Vec<(u64, u64)> {
        let expired: Vec<u64> = self
            .inodes
            .iter()
            .filter(|(_, inode)| {
                inode
                    .dirty_since_us
                    .is_some_and(|t| t + DIRTY_EXPIRE_US <= now_us)
            })
            .map(|(&id, _)| id)
            .collect();
        let mut ios = Vec::new();
        for id in expired {
            let inode = self.inodes.get_mut(&id).expect("listed");
            let bytes = std::mem::take(&mut inode.dirty_bytes);
            inode.dirty_since_us = None;
            let durable = Some((id, inode.data.len() as u64));
            self.stats.bytes_written_back += bytes;
            let done = self.device_io(now_us, bytes, bandwidth, 0);
            ios.push((
                self.add_pending(PendingIo {
                    durable,
                    after: After::Nothing,
                }),
                done,
            ));
        }
        ios
    }

    /// When the flusher should next wake for the dirty data now in the
    /// cache (a multiple of FLUSHER_PERIOD_US), or None when all is clean.
    pub(crate) fn next_flush_us(&self, now_us: u64) -> Option<u64> {
        let oldest = self
            .inodes
            .values()
            .filter_map(|inode| inode.dirty_since_us)
            .min()?;
        let due = (oldest + DIRTY_EXPIRE_US).max(now_us + 1);
        Some(due.div_ceil(FLUSHER_PERIOD_US) * FLUSHER_PERIOD_US)
    }

    /// Power loss: every file reverts to its durable contents and I/O in
    /// flight is lost.
    pub(crate) fn power_loss(&mut self, now_us: u64, torn: bool) -> PowerLossReport {
        let torn_keep = if torn { self.torn_cut() } else { None };
        let mut losses = Vec::new();
        let mut kept = None;
        let names = std::mem::take(&mut self.names);
        for (name, id) in names {
            let inode = self.inodes.get_mut(&id).expect("named inode exists");
            let before = inode.data.len() as u64;
            let mut lost = 0;
            let survived = match (
                std::mem::replace(&mut inode.durable, Durable::Missing),
                torn_keep,
            ) {
                (Durable::Prefix(durable), Some((torn_id, cut))) if torn_id == id => {
                    kept = Some((name.clone(), cut - durable));
                    inode.data.truncate(cut as usize);
                    true
                }
                (Durable::Prefix(n), _) => {
                    inode.data.truncate(n as usize);
                    true
                }
                (Durable::Own(bytes), _) => {
                    // The page-cache bytes past the common prefix were not durable.
                    let common = inode
                        .data
                        .iter()
                        .zip(&bytes)
                        .take_while(|(a, b)| a == b)
                        .count() as u64;
                    lost = before - common;
                    inode.data = bytes;
                    true
                }
                (Durable::Missing, _) => false,
            };
            if !survived {
                lost = before;
            } else if lost == 0 {
                lost = before - inode.data.len() as u64;
            }
            if lost > 0 || !survived {
                losses.push((name.clone(), lost));
            }
            self.stats.bytes_lost += lost;
            if survived {
                let data = std::mem::take(&mut inode.data);
                let len = data.len() as u64;
                *inode = Inode {
                    data,
                    durable: Durable::Prefix(len),
                    ..Inode::new()
                };
                self.names.insert(name, id);
            }
        }
        let names = &self.names;
        self.inodes.retain(|id, _| names.values().any(|n| n == id));
        self.pending.clear();
        self.device_free_us = now_us;
        self.flusher_at_us = None;
        self.last_append = None;
        (losses, kept)
    }

    /// The torn write's cut: (inode, length kept) strictly inside the last
    /// append, on a sector boundary, beyond the durable length.
    fn torn_cut(&mut self) -> Option<(u64, u64)> {
        let (id, start, end) = self.last_append?;
        let inode = self.inodes.get(&id)?;
        let Durable::Prefix(durable) = inode.durable else {
            return None;
        };
        if !self.names.values().any(|&n| n == id) || end > inode.data.len() as u64 || durable >= end
        {
            return None;
        }
        let low = start.max(durable) / SECTOR_BYTES + 1;
        let high = (end - 1) / SECTOR_BYTES;
        if low > high {
            return None;
        }
        Some((id, self.rng.gen_range(low..=high) * SECTOR_BYTES))
    }

    /// Puts a file on the disk as if it had been written and fsynced long ago (a restored
    /// backup): durable, clean, replacing any file of that name.
    pub fn install(&mut self, file: &str, bytes: Vec<u8>) {
        let id = self.create(file);
        let len = bytes.len() as u64;
        let inode = self.inodes.get_mut(&id).expect("create made the inode");
        inode.data = bytes;
        inode.durable = Durable::Prefix(len);
        inode.dirty_bytes = 0;
        inode.dirty_since_us = None;
    }

    /// The page-cache view: what a process reading the files sees.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.names
            .iter()
            .map(|(name, id)| (name.clone(), self.inodes[id].data.clone()))
            .collect()
    }

    /// The durable view: what a power loss now would leave.
    pub fn durable_files(&self) -> BTreeMap<String, Vec<u8>> {
        self.names
            .iter()
            .filter_map(|(name, id)| {
                Some((name.clone(), self.inodes[id].durable_bytes()?.to_vec()))
            })
            .collect()
    }

    /// Length of a file in the page cache.
    pub fn file_len(&self, file: &str) -> Option<u64> {
        self.inode(file).map(|inode| inode.data.len() as u64)
    }

    /// Length of a file's durable contents (None: it would not survive).
    pub fn durable_len(&self, file: &str) -> Option<u64> {
        self.inode(file)?.durable_bytes().map(|b| b.len() as u64)
    }
}

// ---- the world's side: the device queue in time, main-thread disk ops ----

use redsim_engine::DiskOp;

use crate::host::HostInput;
use crate::world::{Ev, World};

impl World {
    fn disk_params(&self, machine: usize) -> (u64, u64) {
        let m = &self.machines[machine];
        let latency_us = (m.state.fsync_latency_ms * 1000.0).round().max(0.0) as u64;
        (m.spec.disk_bandwidth_bytes_per_s, latency_us)
    }

    /// Device I/O of `bytes` with no file (swap in or out) on `machine`'s
    /// disk, queued behind everything else. Returns when it is done (µs).
    /// The swap model in machine.rs calls it.
    #[allow(dead_code)] // until the swap model lands
    pub(crate) fn disk_io(&mut self, machine: usize, bytes: u64) -> u64 {
        let (bandwidth, _) = self.disk_params(machine);
        let now = self.now_us;
        self.disks[machine].other_io(now, bytes, bandwidth)
    }

    /// Issues an fsync on the disk of host h's machine; the caller schedules Ev::DiskDone.
    pub(crate) fn start_fsync(&mut self, h: usize, file: &str, after: After) -> (u64, u64, u64) {
        let m = self.hosts[h].machine;
        let (bandwidth, latency_us) = self.disk_params(m);
        let now = self.now_us;
        let (io, done_us, bytes) =
            self.disks[m].start_fsync(now, file, bandwidth, latency_us, after);
        self.trace.record(
            now,
            &self.hosts[h].name,
            "fsync",
            format_args!("{} bytes={} done_us={}", file, bytes, done_us),
        );
        (io, done_us, bytes)
    }

    /// Ev::DiskDone: the I/O's bytes are durable; tell whoever waits.
    pub(crate) fn disk_done(&mut self, machine: usize, io: u64) {
        let now = self.now_us;
        let Some(after) = self.disks[machine].complete(io) else {
            return;
        };
        match after {
            After::Nothing => {}
            After::Token {
                host,
                incarnation,
                token,
            } => {
                let h = &mut self.hosts[host];
                if h.is_up() && h.incarnation == incarnation {
                    self.trace
                        .record(now, &h.name, "fsync-done", format_args!("token={}", token));
                    h.push_input(now, HostInput::FsyncDone { token });
                    self.host_run(host);
                }
            }
            After::Child { host, child } => self.child_advance(host, child),
        }
    }

    /// Ev::Flusher: the kernel writes back inodes dirty for 30 s.
    pub(crate) fn flusher_wake(&mut self, machine: usize) {
        let now = self.now_us;
        if self.disks[machine].flusher_at_us != Some(now) {
            return;
        }
        self.disks[machine].flusher_at_us = None;
        let (bandwidth, _) = self.disk_params(machine);
        for (io, done_us) in self.disks[machine].writeback(now, bandwidth) {
            self.trace.record(
                now,
                &self.machines[machine].name,
                "writeback",
                format_args!("io={} done_us={}", io, done_us),
            );
            self.schedule(
                done_us,
                Ev::DiskDone {
                    machine: machine as u32,
                    io,
                },
            );
        }
        self.arm_flusher(machine);
    }

    /// Schedules the flusher's next useful wake-up, if any data is dirty.
    pub(crate) fn arm_flusher(&mut self, machine: usize) {
        let now = self.now_us;
        let Some(at_us) = self.disks[machine].next_flush_us(now) else {
            return;
        };
        if self.disks[machine]
            .flusher_at_us
            .is_some_and(|t| t <= at_us)
        {
            return;
        }
        self.disks[machine].flusher_at_us = Some(at_us);
        self.schedule(
            at_us,
            Ev::Flusher {
                machine: machine as u32,
            },
        );
    }

    /// A disk operation of host h's main thread (or a bio thread, for a
    /// background fsync). Returns Err(op) with the time to retry when the
    /// op must wait: Linux serialises write(2) and ftruncate(2) behind an
    /// fsync of the same inode, which is what makes Redis's everysec write
    /// "delayed" on a slow disk. Ok(Some(t)) when the main thread is
    /// blocked until t (a blocking fsync).
    pub(crate) fn host_disk_op(
        &mut self,
        h: usize,
        op: DiskOp,
    ) -> Result<Option<u64>, (DiskOp, u64)> {
        let now = self.now_us;
        let m = self.hosts[h].machine;
        let name = &self.hosts[h].name;
        let mut wait = None;
        match &op {
            DiskOp::Append { file, bytes } => {
                let until = self.disks[m].fsync_until(file);
                if until > now {
                    return Err((op, until));
                }
                self.trace.record(
                    now,
                    name,
                    "write",
                    format_args!("{} bytes={}", file, bytes.len()),
                );
                self.disks[m].append(now, file, bytes);
            }
            DiskOp::Truncate { file, len } => {
                let until = self.disks[m].fsync_until(file);
                if until > now {
                    return Err((op, until));
                }
                let ok = self.disks[m].truncate(now, file, *len);
                self.trace.record(
                    now,
                    name,
                    "truncate",
                    format_args!("{} len={}{}", file, len, if ok { "" } else { " ENOENT" }),
                );
            }
            DiskOp::Rename { from, to } => {
                let ok = self.disks[m].rename(from, to);
                self.trace.record(
                    now,
                    name,
                    "rename",
                    format_args!("{} {}{}", from, to, if ok { "" } else { " ENOENT" }),
                );
            }
            DiskOp::Remove { file } => {
                let ok = self.disks[m].remove(file);
                self.trace.record(
                    now,
                    name,
                    "remove",
                    format_args!("{}{}", file, if ok { "" } else { " ENOENT" }),
                );
            }
            DiskOp::Fsync {
                file,
                token,
                blocking,
            } => {
                let after = if *blocking {
                    After::Nothing
                } else {
                    After::Token {
                        host: h,
                        incarnation: self.hosts[h].incarnation,
                        token: *token,
                    }
                };
                let (io, done_us, _) = self.start_fsync(h, file, after);
                self.schedule(
                    done_us,
                    Ev::DiskDone {
                        machine: m as u32,
                        io,
                    },
                );
                if *blocking && done_us > now {
                    wait = Some(done_us);
                }
            }
        }
        self.arm_flusher(m);
        Ok(wait)
    }

    /// Power loss on machine m: its applications and every process on it
    /// die (children silently), each file reverts to its durable contents.
    /// Returns whether it changed anything.
    pub(crate) fn power_loss(&mut self, m: usize, torn: bool) -> bool {
        let now = self.now_us;
        let mut changed = self.kill_clients_on(m);
        for h in self.procs_on(m) {
            changed |= self.hosts[h].is_up() || !self.hosts[h].children.is_empty();
            if self.hosts[h].is_up() {
                self.kill_host(h);
            }
            for child in std::mem::take(&mut self.hosts[h].children) {
                self.trace.record(
                    now,
                    &self.hosts[h].name,
                    "child-lost",
                    format_args!("pid={}", child.pid),
                );
            }
        }
        let (losses, kept) = self.disks[m].power_loss(now, torn);
        changed |= !losses.is_empty();
        let name = self.machines[m].name.clone();
        for (file, bytes) in &losses {
            self.trace.notable(
                now,
                &name,
                "disk-loss",
                format!("lost {} bytes of {}", bytes, file),
            );
        }
        if let Some((file, bytes)) = kept {
            self.trace.notable(
                now,
                &name,
                "torn-write",
                format!("kept {} bytes of the last write to {}", bytes, file),
            );
        }
        changed
    }

    /// SIGKILL of the node's process: the machine stays up, the page cache
    /// and files survive, a running child runs on to its end. The kernel
    /// closes the process's sockets (peers see FIN).
    pub(crate) fn crash_host(&mut self, h: usize) -> bool {
        if !self.hosts[h].is_up() {
            return false;
        }
        let now = self.now_us;
        let conns: Vec<redsim_engine::ConnId> = self.hosts[h].conns.keys().copied().collect();
        for conn in conns {
            self.host_close(h, conn);
        }
        self.trace.notable(
            now,
            &self.hosts[h].name,
            "crash",
            format!("pid={} killed (SIGKILL)", self.hosts[h].pid),
        );
        self.hosts[h].kill();
        true
    }

    /// The engine exited by itself (SHUTDOWN, a SIGTERM it obeyed, SENTINEL
    /// SIMULATE-FAILURE's crash): its outputs are out, the kernel closes its
    /// sockets, and the process is gone until a restart.
    pub(crate) fn process_exited(&mut self, h: usize) {
        let now = self.now_us;
        let code = self.hosts[h]
            .engine
            .as_ref()
            .and_then(|e| e.exit_code())
            .unwrap_or(0);
        let conns: Vec<redsim_engine::ConnId> = self.hosts[h].conns.keys().copied().collect();
        for conn in conns {
            self.host_close(h, conn);
        }
        self.trace.notable(
            now,
            &self.hosts[h].name,
            "process-exit",
            format!("pid={} exited with status {}", self.hosts[h].pid, code),
        );
        self.hosts[h].kill();
    }

    /// Injects outputs as if host h's engine had emitted them in a step
    /// that ends now: for tests of the disk and child model before the
    /// engine emits them itself. They are released before the engine's own.
    pub fn inject_outputs(
        &mut self,
        node: &str,
        outputs: Vec<redsim_engine::Output>,
    ) -> Result<(), String> {
        let h = self.host_index(node)?;
        if !self.hosts[h].is_up() {
            return Err(format!("node '{}' is down", node));
        }
        let outputs: Vec<_> = outputs
            .into_iter()
            .map(|o| self.hosts[h].localize(o))
            .collect();
        self.hosts[h].held_outputs.extend(outputs);
        self.hosts[h].outputs_pending = true;
        self.host_run(h);
        Ok(())
    }

    /// The files of a machine (or a node's machine) as a process would read them (the page
    /// cache). On a machine shared by several processes, each one's files are under its `dir`.
    pub fn disk_files(&self, node: &str) -> BTreeMap<String, Vec<u8>> {
        self.disk(node).map_or_else(BTreeMap::new, |d| d.files())
    }

    /// The files of a machine (or a node's machine) as a power loss now would leave them.
    pub fn disk_durable_files(&self, node: &str) -> BTreeMap<String, Vec<u8>> {
        self.disk(node)
            .map_or_else(BTreeMap::new, |d| d.durable_files())
    }

    /// The disk of a machine, or of a node's machine (lengths, counters).
    pub fn disk(&self, node: &str) -> Option<&Disk> {
        Some(&self.disks[self.machine_index(node).ok()?])
    }

    pub fn disk_stats(&self, node: &str) -> DiskStats {
        self.disk(node).map_or_else(DiskStats::default, |d| d.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::rng_stream;

    fn disk() -> Disk {
        Disk::new(rng_stream(1, 9))
    }

    #[test]
    fn append_is_durable_only_after_fsync_completes() {
        let mut d = disk();
        d.append(0, "a", b"hello");
        assert_eq!(d.durable_len("a"), None);
        let (io, done, bytes) = d.start_fsync(0, "a", 1_000_000, 2_000, After::Nothing);
        assert_eq!((done, bytes), (2_005, 5));
        d.append(1, "a", b" world");
        assert_eq!(d.complete(io), Some(After::Nothing));
        assert_eq!(d.durable_files()["a"], b"hello");
        assert_eq!(d.files()["a"], b"hello world");
    }

    #[test]
    fn truncate_below_durable_copies_and_power_loss_restores() {
        let mut d = disk();
        d.append(0, "a", b"0123456789");
        let (io, _, _) = d.start_fsync(0, "a", 1_000_000, 0, After::Nothing);
        d.complete(io);
        assert!(d.truncate(1, "a", 4));
        d.append(1, "a", b"xy");
        assert_eq!(d.durable_files()["a"], b"0123456789");
        let (losses, _) = d.power_loss(2, false);
        assert_eq!(losses, vec![("a".to_string(), 2)]);
        assert_eq!(d.files()["a"], b"0123456789");
    }

    #[test]
    fn a_large_append_only_file_costs_no_copy_per_write() {
        // 40 MB in 2 KB writes, each fsynced: a copy of the file per write
        // or per fsync would be 20_000 x 20 MB on average and never finish.
        let mut d = disk();
        let chunk = vec![7u8; 2048];
        for i in 0..20_000u64 {
            d.append(i, "aof", &chunk);
            let (io, _, bytes) = d.start_fsync(i, "aof", 200 << 20, 0, After::Nothing);
            assert_eq!(bytes, 2048);
            d.complete(io);
        }
        assert_eq!(d.durable_len("aof"), Some(40_960_000));
        d.append(20_000, "aof", b"tail");
        let (losses, _) = d.power_loss(20_001, false);
        assert_eq!(losses, vec![("aof".to_string(), 4)]);
        assert_eq!(d.file_len("aof"), Some(40_960_000));
    }

    #[test]
    fn swap_io_and_fsyncs_share_one_fifo_device() {
        let mut d = disk();
        // 1 MB/s: 1000 bytes of swap take 1 ms and the fsync queues behind.
        assert_eq!(d.other_io(0, 1000, 1_000_000), 1_000);
        d.append(0, "a", &[1; 500]);
        let (_, done, _) = d.start_fsync(0, "a", 1_000_000, 2_000, After::Nothing);
        assert_eq!(done, 1_000 + 500 + 2_000);
        assert_eq!(
            d.other_io(10_000, 1, 1_000_000),
            10_001,
            "an idle device starts at once"
        );
        assert_eq!(d.stats.bytes_other_io, 1001);
    }

    #[test]
    fn rename_over_makes_the_new_file_durable() {
        let mut d = disk();
        d.append(0, "dump.rdb", b"old");
        let (io, _, _) = d.start_fsync(0, "dump.rdb", 1_000_000, 0, After::Nothing);
        d.complete(io);
        d.append(1, "temp.rdb", b"new!");
        assert!(d.rename("temp.rdb", "dump.rdb"));
        assert_eq!(d.durable_files()["dump.rdb"], b"new!");
        assert!(!d.rename("temp.rdb", "x"));
        d.append(2, "fresh", b"never synced");
        let (losses, _) = d.power_loss(3, false);
        assert_eq!(losses, vec![("fresh".to_string(), 12)]);
        assert!(!d.files().contains_key("fresh"));
    }
}
