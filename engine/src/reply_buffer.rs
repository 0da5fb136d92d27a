//! The client's static reply buffer as Redis 7.0 sizes it (networking.c
//! createClient / _addReplyToBuffer, server.c clientsCronResizeOutputBuffer):
//! CLIENT LIST's rbs/rbp, INFO's reply_buffer_shrinks/expands, and the
//! buffer's share of each client's memory.

/// PROTO_REPLY_CHUNK_BYTES: the buffer a new client gets.
pub const PROTO_REPLY_CHUNK_BYTES: usize = 16 * 1024;
/// PROTO_REPLY_MIN_BYTES: the cron never shrinks a buffer below this.
pub const PROTO_REPLY_MIN_BYTES: usize = 1024;
/// REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME (ms).
pub const DEFAULT_PEAK_RESET_TIME_MS: i64 = 5000;

/// One client's reply buffer (c->buf_usable_size, c->buf_peak,
/// c->buf_peak_last_reset_time).
#[derive(Debug, Clone)]
pub struct ReplyBuffer {
    pub usable_size_bytes: usize,
    pub peak_bytes: usize,
    pub peak_last_reset_ms: i64,
}

impl ReplyBuffer {
    /// createClient: zmalloc_usable(PROTO_REPLY_CHUNK_BYTES). Redis stamps
    /// the reset time with server.unixtime (seconds) while the cron compares
    /// it with milliseconds, so the first cron visit always resets the peak:
    /// keep that, it decides when an idle client's buffer first shrinks.
    pub fn new(now_ms: i64) -> ReplyBuffer {
        let usable = crate::memory::size_class(PROTO_REPLY_CHUNK_BYTES);
        ReplyBuffer {
            usable_size_bytes: usable,
            peak_bytes: usable,
            peak_last_reset_ms: now_ms.div_euclid(1000),
        }
    }

    /// _addReplyToBuffer: the static buffer takes what fits, and the peak
    /// follows its fill level. The engine hands each pass's replies to the
    /// host, so a pass's reply bytes are the buffer's fill level.
    pub fn note_pass(&mut self, reply_bytes: usize) {
        let bufpos = reply_bytes.min(self.usable_size_bytes);
        self.peak_bytes = self.peak_bytes.max(bufpos);
    }
}

/// The server's side: DEBUG REPLYBUFFER's knobs and the cron's rotation of
/// the client list.
#[derive(Debug, Clone)]
pub struct ReplyBufferCron {
    /// server.reply_buffer_peak_reset_time: -1 is never.
    pub peak_reset_time_ms: i64,
    /// server.reply_buffer_resizing_enabled.
    pub resizing_enabled: bool,
    /// server.clients as clientsCron rotates it (tail to head).
    pub order: std::collections::VecDeque<crate::ConnId>,
    /// ClientsPeakMemInput / ClientsPeakMemOutput: the largest client
    /// input and output buffers clientsCron saw, one slot per second of
    /// the last CLIENTS_PEAK_MEM_USAGE_SLOTS (INFO client_recent_max_*).
    pub peak_mem_input: [u64; PEAK_MEM_USAGE_SLOTS],
    pub peak_mem_output: [u64; PEAK_MEM_USAGE_SLOTS],
}

/// CLIENTS_PEAK_MEM_USAGE_SLOTS.
pub const PEAK_MEM_USAGE_SLOTS: usize = 8;

impl Default for ReplyBufferCron {
    fn default() -> Self {
        ReplyBufferCron {
            peak_reset_time_ms: DEFAULT_PEAK_RESET_TIME_MS,
            resizing_enabled: true,
            order: Default::default(),
            peak_mem_input: [0; PEAK_MEM_USAGE_SLOTS],
            peak_mem_output: [0; PEAK_MEM_USAGE_SLOTS],
        }
    }
}

/// What clientsCronResizeOutputBuffer did to one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    None,
    Shrunk,
    Expanded,
}

/// clientsCronResizeOutputBuffer for one client. The engine's bufpos is 0
/// between passes (replies were handed over), so the reset peak is 0.
pub fn resize(rb: &mut ReplyBuffer, knobs: &ReplyBufferCron, now_ms: i64) -> Resize {
    if !knobs.resizing_enabled {
        return Resize::None;
    }
    let shrink_target = rb.usable_size_bytes / 2;
    let expand_target = rb.usable_size_bytes * 2;
    let mut new_size = 0;
    let mut what = Resize::None;
    if shrink_target >= PROTO_REPLY_MIN_BYTES && rb.peak_bytes < shrink_target {
        new_size = PROTO_REPLY_MIN_BYTES.max(rb.peak_bytes + 1);
        what = Resize::Shrunk;
    } else if expand_target < PROTO_REPLY_CHUNK_BYTES * 2 && rb.peak_bytes == rb.usable_size_bytes {
        new_size = PROTO_REPLY_CHUNK_BYTES.min(expand_target);
        what = Resize::Expanded;
    }
    if knobs.peak_reset_time_ms >= 0 && now_ms - rb.peak_last_reset_ms >= knobs.peak_reset_time_ms {
        rb.peak_bytes = 0;
        rb.peak_last_reset_ms = now_ms;
    }
    if new_size != 0 {
        rb.usable_size_bytes = crate::memory::size_class(new_size);
    }
    what
}

/// multiStateMemOverhead's queued-command part (without watched keys):
/// each command's argument bytes plus its argv pointers, and the
/// commands array (2 slots at first, doubled when full) of multiCmd.
pub fn multi_state_bytes(mstate: &[Vec<Vec<u8>>]) -> (u64, u64) {
    const PTR_BYTES: u64 = 8;
    const MULTI_CMD_BYTES: u64 = 24;
    let argv_len_sums: u64 = mstate
        .iter()
        .map(|argv| argv.iter().map(|a| a.len() as u64 + PTR_BYTES).sum::<u64>())
        .sum();
    let alloc_count = if mstate.is_empty() {
        0
    } else {
        mstate.len().next_power_of_two().max(2) as u64
    };
    (argv_len_sums, alloc_count * MULTI_CMD_BYTES)
}
