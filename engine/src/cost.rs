//! The cost model: virtual CPU time each step consumes.
//!
//! Redis is single-threaded, so a command's cost delays every other client.
//! The constants are calibrated against redis-server 7.0.15 on the project's
//! CI machine (see BENCHMARKS.md): a pipelined SET/GET costs about 1 µs of
//! command work; a non-pipelined request costs about 10 µs of read/write
//! system calls and event-loop overhead.

/// Fixed cost of one command through processCommand and call().
pub const COMMAND_NS: u64 = 1_000;
/// Cost of one read event plus one write (the syscalls around a request).
pub const IO_EVENT_NS: u64 = 8_000;
/// Cost per element touched by an O(N) command (dict/listpack work).
pub const ELEMENT_NS: u64 = 60;
/// Cost per byte copied in or out.
pub const BYTE_NS_PER_64: u64 = 3;
/// Fixed cost of one serverCron tick.
pub const CRON_NS: u64 = 5_000;
/// Accepting a connection.
pub const ACCEPT_NS: u64 = 20_000;
/// Freeing one element of a collection (dict entry, sds, robj). Measured
/// on redis-server 7.0.15 here: DEL of a 1,000,000-member set ("member:N"
/// members, hashtable encoding) took 313, 319 and 426 ms (INFO commandstats
/// usec), about 320 ns per element; the bio thread's UNLINK of the same set
/// drained lazyfree_pending_objects in about 450 ms. Later runs with the
/// shared machine at load 10 to 14 took 1.58 s (same set) and 0.84 s
/// (1,000,000 integer members): contention, not the allocator; the quiet
/// figure is kept until ci/reference/persistence has a clean one.
/// ci/reference/persistence (RESULTS.md, 3 runs with per-process CPU time
/// read from /proc, so machine load does not inflate it): DEL of a
/// 1,000,000-member set costs 580 ns of main-thread CPU per member (a hash:
/// 700 ns per field). The set figure is used for every collection.
pub const FREE_ELEMENT_NS: u64 = 580;
/// Freeing one key of a flushed db: its dict entry, key sds and value robj,
/// three frees against a set member's two, so 1.5 x FREE_ELEMENT_NS. (A
/// FLUSHALL SYNC of 1,000,000 small strings measured 1.8 to 5 s here, but
/// on a machine at load 14 and including 7.0's jemalloc purge after a sync
/// flush, so it was not taken as the figure.)
pub const FREE_KEY_NS: u64 = 480;
/// The main thread's share of handing a value or a db to the bio thread
/// (bioCreateLazyFreeJob). Measured on redis-server 7.0.15: UNLINK of a
/// 100,000-member set about 10 µs a call against 7 µs for a 3-member set;
/// FLUSHALL ASYNC (16 dbs, each a new dict and a job) 61 µs.
pub const BIO_JOB_SUBMIT_NS: u64 = 3_000;

/// PUBLISH's walk of the subscribed patterns, per pattern that does not
/// match (the dict iteration and stringmatchlen). Measured on redis-server
/// 7.0.15 here (machine load about 9 on 2 cores): one client with 500 and
/// 2,000 patterns that fail on their first byte, PUBLISH took 47 and 163 µs
/// a call (INFO commandstats), 80 to 95 ns a pattern.
pub const PUBSUB_PATTERN_NS: u64 = 80;
/// Each receiver of a PUBLISH: the message frame appended to its reply
/// buffer. Same runs with every pattern matching: 140 and 660 µs a call,
/// 190 to 250 ns a receiver above the walk. The write to each receiver's
/// socket is charged when its reply is flushed (`bytes_out`).
pub const PUBSUB_RECEIVER_NS: u64 = 200;

#[derive(Debug, Default, Clone, Copy)]
pub struct Cost {
    ns: u64,
    io_events: u64,
}

impl Cost {
    pub fn ns(&self) -> u64 {
        self.ns
    }
    pub fn command(&mut self) {
        self.ns += COMMAND_NS;
    }
    /// `count` elements of O(N) work.
    pub fn elements(&mut self, count: usize) {
        self.ns += ELEMENT_NS * count as u64;
    }
    pub fn bytes_in(&mut self, bytes: usize) {
        self.io_events += 1;
        self.ns += IO_EVENT_NS / 2 + BYTE_NS_PER_64 * (bytes as u64 / 64);
    }
    pub fn bytes_out(&mut self, bytes: usize) {
        self.ns += IO_EVENT_NS / 2 + BYTE_NS_PER_64 * (bytes as u64 / 64);
    }
    /// Freeing `count` elements on the main thread (a synchronous DEL).
    pub fn free_elements(&mut self, count: usize) {
        self.ns += FREE_ELEMENT_NS * count as u64;
    }
    /// PUBLISH: `patterns` walked, `receivers` messages queued.
    pub fn publish(&mut self, patterns: usize, receivers: usize) {
        self.ns += PUBSUB_PATTERN_NS * patterns as u64 + PUBSUB_RECEIVER_NS * receivers as u64;
    }
    /// A fixed amount of work, in nanoseconds.
    pub fn add_ns(&mut self, ns: u64) {
        self.ns += ns;
    }
    pub fn cron(&mut self) {
        self.ns += CRON_NS;
    }
    pub fn accept(&mut self) {
        self.ns += ACCEPT_NS;
    }
    /// Time the main thread is blocked outright (DEBUG SLEEP, fork).
    pub fn block_us(&mut self, us: u64) {
        self.ns += us * 1000;
    }
    pub fn take_us(&mut self) -> u64 {
        let us = self.ns / 1000;
        self.ns = 0;
        self.io_events = 0;
        us
    }
}

/// RDB serialisation (rdbSaveRio) per key: dict walk, type and length
/// headers. Fitted on redis-server 7.0.15's BGSAVE child CPU time over six
/// datasets (ci/reference/persistence/RESULTS.md): 1.2 µs per key plus
/// 2.7 ns per RDB byte written, plus about 1 ns per value byte that LZF
/// compresses (rdbcompression yes).
pub const RDB_SAVE_NS_PER_KEY: u64 = 1_200;
/// RDB serialisation per byte of output (copying, CRC64, write), in
/// hundredths of a nanosecond.
pub const RDB_SAVE_CENTI_NS_PER_BYTE: u64 = 270;
/// LZF over the dataset's value bytes when rdbcompression is on, in
/// hundredths of a nanosecond per byte of used_memory.
pub const RDB_COMPRESS_CENTI_NS_PER_BYTE: u64 = 100;
/// RDB loading (rdbLoadRio) per key: allocation and dict insertion.
pub const RDB_LOAD_NS_PER_KEY: u64 = 1_200;
/// RDB loading per byte of input, in hundredths of a nanosecond.
pub const RDB_LOAD_CENTI_NS_PER_BYTE: u64 = 200;

/// CPU microseconds to serialise `keys` keys into `bytes` bytes of RDB.
pub fn rdb_save_us(keys: u64, bytes: u64) -> u64 {
    (keys * RDB_SAVE_NS_PER_KEY + bytes * RDB_SAVE_CENTI_NS_PER_BYTE / 100) / 1000 + 1
}

/// CPU microseconds to load `keys` keys from `bytes` bytes of RDB.
pub fn rdb_load_us(keys: u64, bytes: u64) -> u64 {
    (keys * RDB_LOAD_NS_PER_KEY + bytes * RDB_LOAD_CENTI_NS_PER_BYTE / 100) / 1000 + 1
}
