//! Building RESP2 replies into a client's output buffer, with Redis's
//! shared replies and error strings.

/// Error strings Redis 7.0 shares between commands (server.c createSharedObjects).
pub mod errors {
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const SYNTAX: &str = "ERR syntax error";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const OUT_OF_RANGE: &str = "ERR index out of range";
    pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
    pub const READONLY: &str = "READONLY You can't write against a read only replica.";
    pub const MASTERDOWN: &str =
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
    pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
    pub const INVALID_DB: &str = "ERR DB index is out of range";
    pub const INCR_OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
}

/// A client's pending reply bytes.
#[derive(Debug, Default, Clone)]
pub struct Reply {
    pub buf: Vec<u8>,
}

impl Reply {
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }
    /// An error; `e` starts with its code ("ERR ...", "WRONGTYPE ...").
    /// Newlines are replaced by spaces, as addReplyError does.
    pub fn err(&mut self, e: &str) {
        self.buf.push(b'-');
        for b in e.bytes() {
            self.buf
                .push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn int(&mut self, i: i64) {
        self.buf.push(b':');
        self.push_decimal(i);
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn bulk(&mut self, b: &[u8]) {
        self.buf.push(b'$');
        self.push_decimal(b.len() as i64);
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }
    pub fn bulk_i64(&mut self, i: i64) {
        self.bulk(i.to_string().as_bytes());
    }
    /// A double as RESP2 sends it: a bulk string in Redis's %.17g format.
    pub fn bulk_double(&mut self, d: f64) {
        self.bulk(crate::util::format_double(d).as_bytes());
    }
    pub fn null(&mut self) {
        self.buf.extend_from_slice(b"$-1\r\n");
    }
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(b"*-1\r\n");
    }
    pub fn array(&mut self, len: usize) {
        self.buf.push(b'*');
        self.push_decimal(len as i64);
        self.buf.extend_from_slice(b"\r\n");
    }
    pub fn bulks<I, B>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.array(items.len());
        for item in items {
            self.bulk(item.as_ref());
        }
    }
    /// An array of status lines: the shape of every HELP reply (addReplyHelp).
    pub fn simple_lines(&mut self, lines: &[&str]) {
        self.array(lines.len());
        for line in lines {
            self.simple(line);
        }
    }
    /// A map reply; RESP2 flattens it to an array of 2*len.
    pub fn map(&mut self, len: usize) {
        self.array(len * 2);
    }
    pub fn verbatim(&mut self, text: &str) {
        self.bulk(text.as_bytes());
    }
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
    fn push_decimal(&mut self, i: i64) {
        if i < 0 {
            self.buf.push(b'-');
        }
        crate::resp::push_decimal(&mut self.buf, i.unsigned_abs());
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}
