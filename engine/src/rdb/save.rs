//! Writing an RDB image the way redis-server 7.0.15 does (rdbSaveRio): each
//! value in the encoding OBJECT ENCODING reports for it, strings integer-
//! encoded or LZF-compressed under the same rules as rdbSaveRawString.

use super::listpack::{intset_encode, lp_encode, lp_entry_bytes};
use super::*;
use crate::config::Config;
use crate::db::Db;
use crate::object::{encoding_of, EncodingLimits, HashObj, SetObj, Value, ZSet};
use std::collections::VecDeque;

/// Auxiliary fields written after the magic.
pub struct Aux {
    pub ctime_s: i64,
    pub used_mem: u64,
    pub repl_id: String,
    pub repl_offset: i64,
}

/// The configuration that shapes the file: `rdbcompression`, the
/// *-max-listpack-* / set-max-intset-entries thresholds and quicklist
/// node size and compression depth.
#[derive(Debug, Clone, Copy)]
pub struct SaveOptions {
    pub compression: bool,
    pub limits: EncodingLimits,
    pub list_compress_depth: usize,
}

impl Default for SaveOptions {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        SaveOptions {
            compression: true,
            limits: EncodingLimits {
                hash_max_listpack_entries: 512,
                hash_max_listpack_value: 64,
                set_max_intset_entries: 512,
                zset_max_listpack_entries: 128,
                zset_max_listpack_value: 64,
                list_max_listpack_size: -2,
            },
            list_compress_depth: 0,
        }
    }
}

impl SaveOptions {
    pub fn from_config(c: &Config) -> SaveOptions {
        SaveOptions {
            compression: c.bool("rdbcompression"),
            limits: limits_from_config(c),
            list_compress_depth: c.int("list-compress-depth").max(0) as usize,
        }
    }
}

/// The encoding thresholds as `config` sets them.
pub fn limits_from_config(c: &Config) -> EncodingLimits {
    EncodingLimits {
        hash_max_listpack_entries: c.int("hash-max-listpack-entries").max(0) as usize,
        hash_max_listpack_value: c.int("hash-max-listpack-value").max(0) as usize,
        set_max_intset_entries: c.int("set-max-intset-entries").max(0) as usize,
        zset_max_listpack_entries: c.int("zset-max-listpack-entries").max(0) as usize,
        zset_max_listpack_value: c.int("zset-max-listpack-value").max(0) as usize,
        list_max_listpack_size: c.int("list-max-listpack-size"),
    }
}

/// Serialises every db with Redis's default configuration.
pub fn save(dbs: &[Db], aux: &Aux) -> Vec<u8> {
    save_with(dbs, aux, &SaveOptions::default())
}

/// Serialises every db into an RDB image.
pub fn save_with(dbs: &[Db], aux: &Aux, opts: &SaveOptions) -> Vec<u8> {
    let mut w = Writer {
        out: Vec::new(),
        opts,
    };
    w.out
        .extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
    let aux_fields: [(&str, String); 8] = [
        ("redis-ver", "7.0.15".into()),
        ("redis-bits", "64".into()),
        ("ctime", aux.ctime_s.to_string()),
        ("used-mem", aux.used_mem.to_string()),
        ("repl-stream-db", "0".into()),
        ("repl-id", aux.repl_id.clone()),
        ("repl-offset", aux.repl_offset.to_string()),
        ("aof-base", "0".into()),
    ];
    for (k, v) in aux_fields.iter() {
        w.out.push(OPCODE_AUX);
        w.string(k.as_bytes());
        w.string(v.as_bytes());
    }
    for (index, db) in dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        w.out.push(OPCODE_SELECTDB);
        w.len(index as u64);
        w.out.push(OPCODE_RESIZEDB);
        w.len(db.dict.len() as u64);
        w.len(db.expires.len() as u64);
        for (key, value) in &db.dict {
            if let Some(when) = db.expires.get(key) {
                w.out.push(OPCODE_EXPIRETIME_MS);
                w.out.extend_from_slice(&when.to_le_bytes());
            }
            w.object(Some(key), value);
        }
    }
    w.out.push(OPCODE_EOF);
    let crc = CRC64.checksum(&w.out);
    w.out.extend_from_slice(&crc.to_le_bytes());
    w.out
}

/// The DUMP payload of one value (rdbSaveObjectType and rdbSaveObject,
/// then the RDB version and a CRC64, both little-endian), as DUMP replies.
pub fn dump_payload(value: &Value, opts: &SaveOptions) -> Vec<u8> {
    let mut w = Writer {
        out: Vec::new(),
        opts,
    };
    w.object(None, value);
    w.out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = CRC64.checksum(&w.out);
    w.out.extend_from_slice(&crc.to_le_bytes());
    w.out
}

struct Writer<'o> {
    out: Vec<u8>,
    opts: &'o SaveOptions,
}

impl Writer<'_> {
    /// rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian lengths.
    fn len(&mut self, len: u64) {
        if len < 1 << 6 {
            self.out.push(len as u8);
        } else if len < 1 << 14 {
            self.out.push(((len >> 8) as u8) | 0x40);
            self.out.push(len as u8);
        } else if len <= u32::MAX as u64 {
            self.out.push(LEN_32BIT);
            self.out.extend_from_slice(&(len as u32).to_be_bytes());
        } else {
            self.out.push(LEN_64BIT);
            self.out.extend_from_slice(&len.to_be_bytes());
        }
    }

    /// rdbSaveRawString: an integer encoding for short canonical integers,
    /// LZF when compression is on and saves at least four bytes, else
    /// verbatim.
    fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 && self.try_integer(s) {
            return;
        }
        if self.opts.compression && s.len() > 20 {
            if let Some(c) = lzf::compress(s, s.len() - 4) {
                self.lzf_blob(&c, s.len());
                return;
            }
        }
        self.len(s.len() as u64);
        self.out.extend_from_slice(s);
    }

    /// A string value: compact values (memory model's head + run) are
    /// written from their compact form, with the same bytes `string`
    /// writes for the materialised value.
    fn str_value(&mut self, s: &crate::object::StrObj) {
        let Some(run) = s.run() else {
            return self.string(s);
        };
        assert!(run.len > 20, "compact strings are long");
        if self.opts.compression {
            if let Some(c) = lzf::compress_run(run.head, run.fill, run.len, run.len - 4) {
                self.lzf_blob(&c, run.len);
                return;
            }
        }
        self.len(run.len as u64);
        self.out.extend_from_slice(run.head);
        self.out
            .resize(self.out.len() + run.len - run.head.len(), run.fill);
    }

    fn try_integer(&mut self, s: &[u8]) -> bool {
        let Some(v) = crate::util::parse_i64(s) else {
            return false;
        };
        if let Ok(b) = i8::try_from(v) {
            self.out.push(ENC_MARK | ENC_INT8);
            self.out.push(b as u8);
        } else if let Ok(h) = i16::try_from(v) {
            self.out.push(ENC_MARK | ENC_INT16);
            self.out.extend_from_slice(&h.to_le_bytes());
        } else if let Ok(w) = i32::try_from(v) {
            self.out.push(ENC_MARK | ENC_INT32);
            self.out.extend_from_slice(&w.to_le_bytes());
        } else {
            return false;
        }
        true
    }

    fn lzf_blob(&mut self, compressed: &[u8], original_len: usize) {
        self.out.push(ENC_MARK | ENC_LZF);
        self.len(compressed.len() as u64);
        self.len(original_len as u64);
        self.out.extend_from_slice(compressed);
    }

    /// The type byte, then the key except in a DUMP payload.
    fn header(&mut self, t: u8, key: Option<&[u8]>) {
        self.out.push(t);
        if let Some(k) = key {
            self.string(k);
        }
    }

    fn object(&mut self, key: Option<&[u8]>, value: &Value) {
        let limits = self.opts.limits;
        let encoding = encoding_of(value, &limits);
        match value {
            Value::Str(s) => {
                self.header(TYPE_STRING, key);
                self.str_value(s);
            }
            Value::List(l) => {
                self.header(TYPE_LIST_QUICKLIST_2, key);
                self.quicklist(l);
            }
            Value::Set(s) => self.set(key, s, encoding == "intset"),
            Value::Hash(h) => self.hash(key, h, encoding == "listpack"),
            Value::ZSet(z) => self.zset(key, z, encoding == "listpack"),
        }
    }

    fn set(&mut self, key: Option<&[u8]>, s: &SetObj, intset: bool) {
        if intset {
            let values: Vec<i64> = s
                .iter()
                .map(|m| crate::util::parse_i64(m).expect("intset member"))
                .collect();
            self.header(TYPE_SET_INTSET, key);
            self.string(&intset_encode(&values));
            return;
        }
        self.header(TYPE_SET, key);
        self.len(s.len() as u64);
        s.iter().for_each(|m| self.string(m));
    }

    fn hash(&mut self, key: Option<&[u8]>, h: &HashObj, listpack: bool) {
        if listpack {
            self.header(TYPE_HASH_LISTPACK, key);
            let blob = lp_encode(h.iter().flat_map(|(f, v)| [f.as_slice(), v.as_slice()]));
            self.string(&blob);
            return;
        }
        self.header(TYPE_HASH, key);
        self.len(h.len() as u64);
        for (f, v) in h.iter() {
            self.string(f);
            self.string(v);
        }
    }

    fn zset(&mut self, key: Option<&[u8]>, z: &ZSet, listpack: bool) {
        if listpack {
            self.header(TYPE_ZSET_LISTPACK, key);
            let scores: Vec<Vec<u8>> = z
                .ordered
                .iter()
                .map(|(s, _)| d2string(s.0).into_bytes())
                .collect();
            let entries = z
                .ordered
                .iter()
                .zip(&scores)
                .flat_map(|((_, m), s)| [m.as_slice(), s.as_slice()]);
            self.string(&lp_encode(entries));
            return;
        }
        self.header(TYPE_ZSET_2, key);
        self.len(z.len() as u64);
        // Highest score first, as Redis walks its skiplist from the tail.
        for (score, member) in z.ordered.iter().rev() {
            self.string(member);
            self.out.extend_from_slice(&score.0.to_le_bytes());
        }
    }

    /// A quicklist: nodes of listpacks filled the way RPUSH fills them,
    /// inner nodes LZF-compressed when list-compress-depth asks for it.
    fn quicklist(&mut self, l: &VecDeque<Vec<u8>>) {
        let nodes = quicklist_nodes(l, self.opts.limits.list_max_listpack_size);
        self.len(nodes.len() as u64);
        let depth = self.opts.list_compress_depth;
        let count = nodes.len();
        for (index, node) in nodes.iter().enumerate() {
            if let [e] = node.as_slice() {
                if is_large_element(e) {
                    self.len(QUICKLIST_NODE_PLAIN);
                    self.string(e);
                    continue;
                }
            }
            self.len(QUICKLIST_NODE_PACKED);
            let blob = lp_encode(node.iter().map(|e| e.as_slice()));
            let inner = depth > 0 && count > depth * 2 && index >= depth && index < count - depth;
            if inner && blob.len() >= QUICKLIST_MIN_COMPRESS_BYTES {
                if let Some(c) = lzf::compress(&blob, blob.len())
                    .filter(|c| c.len() + QUICKLIST_MIN_COMPRESS_IMPROVE < blob.len())
                {
                    self.lzf_blob(&c, blob.len());
                    continue;
                }
            }
            self.string(&blob);
        }
    }
}

/// quicklist.c's packed_threshold: elements this large get a node of
/// their own, stored as a plain string.
const LARGE_ELEMENT_BYTES: usize = 1 << 30;
/// quicklist.c's __quicklistCompressNode bounds.
const QUICKLIST_MIN_COMPRESS_BYTES: usize = 48;
const QUICKLIST_MIN_COMPRESS_IMPROVE: usize = 8;
/// Node size limits for list-max-listpack-size -1 .. -5.
const OPTIMIZATION_LEVEL_BYTES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
const SIZE_SAFETY_LIMIT_BYTES: usize = 8192;
const SIZE_ESTIMATE_OVERHEAD_BYTES: usize = 8;
/// An empty listpack: header and terminator.
const EMPTY_LISTPACK_BYTES: usize = 7;

fn is_large_element(e: &[u8]) -> bool {
    e.len() >= LARGE_ELEMENT_BYTES
}

/// Splits a list into quicklist nodes as successive RPUSHes would
/// (_quicklistNodeAllowInsert).
fn quicklist_nodes(l: &VecDeque<Vec<u8>>, fill: i64) -> Vec<Vec<&Vec<u8>>> {
    let mut nodes: Vec<Vec<&Vec<u8>>> = Vec::new();
    let mut node_bytes = 0usize;
    for e in l {
        let fits = match nodes.last() {
            Some(node) => allow_insert(node, node_bytes, e, fill),
            None => false,
        };
        if !fits {
            nodes.push(Vec::new());
            node_bytes = EMPTY_LISTPACK_BYTES;
        }
        nodes.last_mut().expect("pushed").push(e);
        node_bytes += lp_entry_bytes(e);
    }
    nodes
}

fn allow_insert(node: &[&Vec<u8>], node_bytes: usize, e: &[u8], fill: i64) -> bool {
    // A large element only ever starts a node, and then has it to itself.
    if is_large_element(e) || node.first().is_some_and(|x| is_large_element(x)) {
        return false;
    }
    let new_bytes = node_bytes + e.len() + SIZE_ESTIMATE_OVERHEAD_BYTES;
    if fill < 0 {
        let level = (-fill - 1) as usize;
        if level < OPTIMIZATION_LEVEL_BYTES.len() && new_bytes <= OPTIMIZATION_LEVEL_BYTES[level] {
            return true;
        }
    }
    if new_bytes > SIZE_SAFETY_LIMIT_BYTES {
        return false;
    }
    (node.len() as i64) < fill
}

/// d2string: how a score is stored in a sorted-set listpack.
pub fn d2string(d: f64) -> String {
    assert!(!d.is_nan(), "scores are never NaN");
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let bound = (i64::MAX / 2) as f64;
    if d >= -bound && d <= bound && (d as i64) as f64 == d {
        return (d as i64).to_string();
    }
    crate::util::format_double(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d2string_matches_redis() {
        assert_eq!(d2string(1.0), "1");
        assert_eq!(d2string(-3.0), "-3");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(1.5), "1.5");
        assert_eq!(d2string(0.1), "0.10000000000000001");
        assert_eq!(d2string(1e300), "1.0000000000000001e+300");
        assert_eq!(d2string(f64::INFINITY), "inf");
    }

    #[test]
    fn quicklist_nodes_follow_the_size_limit() {
        let l: VecDeque<Vec<u8>> = (0..1000).map(|_| vec![b'v'; 100]).collect();
        let nodes = quicklist_nodes(&l, -2);
        assert!(nodes.len() > 1);
        for n in &nodes[..nodes.len() - 1] {
            let bytes: usize =
                EMPTY_LISTPACK_BYTES + n.iter().map(|e| lp_entry_bytes(e)).sum::<usize>();
            assert!(bytes <= 8192, "{}", bytes);
        }
        let counted = quicklist_nodes(&l, 3);
        assert_eq!(counted.len(), 334);
    }
}
