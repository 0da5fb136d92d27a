//! The replication backlog as Redis 7.0 keeps it: a list of blocks of the
//! replication stream, trimmed whole blocks at a time, never below
//! repl-backlog-size. (In 7.0 the blocks are shared with replica output
//! buffers; here replica output is handed to the host at once, so only the
//! backlog holds blocks.)

use std::collections::VecDeque;

/// PROTO_REPLY_CHUNK_BYTES: the smallest block.
pub const MIN_BLOCK_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct Backlog {
    blocks: VecDeque<Vec<u8>>,
    /// Capacity of each block (the size it was created with).
    capacities: VecDeque<usize>,
    /// repl_backlog_size in bytes.
    pub size_bytes: usize,
    /// Bytes held (histlen).
    pub histlen: usize,
    /// Replication offset of the first byte held (backlog->offset).
    pub offset: i64,
}

impl Backlog {
    /// A new backlog whose first byte will be `master_repl_offset + 1`.
    pub fn new(size_bytes: usize, master_repl_offset: i64) -> Backlog {
        Backlog {
            blocks: VecDeque::new(),
            capacities: VecDeque::new(),
            size_bytes,
            histlen: 0,
            offset: master_repl_offset + 1,
        }
    }

    fn block_size_for(&self, len: usize) -> usize {
        len.max(MIN_BLOCK_BYTES)
            .min((self.size_bytes / 16).max(MIN_BLOCK_BYTES))
    }

    /// Appends stream bytes (feedReplicationBuffer), then trims. Returns
    /// whether a new block was started (Redis checks replicas' output
    /// buffer limits only then).
    pub fn append(&mut self, mut data: &[u8]) -> bool {
        let mut added = false;
        self.histlen += data.len();
        while !data.is_empty() {
            let room = match (self.blocks.back(), self.capacities.back()) {
                (Some(b), Some(&cap)) => cap - b.len(),
                _ => 0,
            };
            if room == 0 {
                let cap = self.block_size_for(data.len());
                self.blocks.push_back(Vec::with_capacity(cap.min(1 << 20)));
                self.capacities.push_back(cap);
                added = true;
                continue;
            }
            let n = room.min(data.len());
            self.blocks
                .back_mut()
                .expect("a block exists")
                .extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        self.trim();
        added
    }

    /// incrementalTrimReplicationBacklog: drop whole blocks from the front
    /// while what stays still covers repl-backlog-size.
    fn trim(&mut self) {
        while self.histlen > self.size_bytes && self.blocks.len() > 1 {
            let first = self.blocks.front().expect("len > 1").len();
            if self.histlen - first <= self.size_bytes {
                break;
            }
            self.blocks.pop_front();
            self.capacities.pop_front();
            self.histlen -= first;
            self.offset += first as i64;
        }
        let held: usize = self.blocks.iter().map(|b| b.len()).sum();
        assert_eq!(
            held, self.histlen,
            "backlog histlen out of step with its blocks"
        );
    }

    pub fn resize(&mut self, size_bytes: usize) {
        self.size_bytes = size_bytes;
        self.trim();
    }

    /// Can a replica asking for `psync_offset` continue from here?
    pub fn covers(&self, psync_offset: i64) -> bool {
        psync_offset >= self.offset && psync_offset <= self.offset + self.histlen as i64
    }

    /// The bytes from `psync_offset` to the end (addReplyReplicationBacklog).
    pub fn copy_from(&self, psync_offset: i64) -> Vec<u8> {
        assert!(self.covers(psync_offset));
        let mut skip = (psync_offset - self.offset) as usize;
        let mut out = Vec::with_capacity(self.histlen - skip);
        for block in &self.blocks {
            if skip >= block.len() {
                skip -= block.len();
                continue;
            }
            out.extend_from_slice(&block[skip..]);
            skip = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn trims_whole_blocks_never_below_size() {
        let mut b = Backlog::new(32 * 1024, 0);
        for _ in 0..100 {
            b.append(&[b'x'; 1000]);
        }
        assert!(b.histlen >= 32 * 1024);
        assert!(b.histlen < 32 * 1024 + MIN_BLOCK_BYTES);
        assert_eq!(b.offset + b.histlen as i64, 100_001);
        assert!(b.covers(100_001));
        assert!(!b.covers(1));
        assert_eq!(b.copy_from(100_001 - 10).len(), 10);
    }
}
