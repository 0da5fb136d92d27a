//! Reading RDB images (rdbLoadRio): every type redis-server 7.0.15 writes
//! for strings, lists, sets, sorted sets and hashes, plus the ziplist forms
//! of older versions that 7.0 still loads. Every length is checked against
//! the bytes left, so corrupt input is an Err naming its offset, never a
//! panic or an allocation larger than the input can justify.

use super::listpack::{intset_decode, lp_decode, zl_decode};
use super::*;
use crate::db::Db;
use crate::object::{EncodingLimits, HashObj, Map, Set, SetObj, Value, ZSet};
use std::collections::VecDeque;

/// What the loader needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    pub databases: usize,
    /// Thresholds deciding the in-memory encoding of loaded values, as
    /// rdbLoadObject converts them.
    pub limits: EncodingLimits,
    /// A master loading its own file drops keys already expired at this
    /// time (ms); replicas and AOF preambles keep them (None).
    pub discard_expired_before_ms: Option<i64>,
}

impl LoadOptions {
    pub fn new(databases: usize) -> LoadOptions {
        LoadOptions {
            databases,
            limits: SaveOptions::default().limits,
            discard_expired_before_ms: None,
        }
    }
}

/// The dataset an RDB image holds, and its aux fields.
pub struct Loaded {
    pub dbs: Vec<Db>,
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    /// Every AUX field in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// FUNCTION2 libraries read past: redsim has no functions.
    pub functions_skipped: usize,
    /// Keys whose value had no elements, which Redis skips on load.
    pub empty_keys_skipped: usize,
    pub expired_keys_skipped: usize,
}

/// Parses an RDB image with Redis's default encoding thresholds.
pub fn load(buf: &[u8], databases: usize) -> Result<Loaded, String> {
    load_with(buf, &LoadOptions::new(databases))
}

/// Parses an RDB image of version 1 to 10.
pub fn load_with(buf: &[u8], opts: &LoadOptions) -> Result<Loaded, String> {
    if buf.len() < 9 || !buf.starts_with(b"REDIS") {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let version = std::str::from_utf8(&buf[5..9])
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(format!(
            "Can't handle RDB format version {}",
            String::from_utf8_lossy(&buf[5..9])
        ));
    }
    let mut r = Reader { buf, pos: 9 };
    let mut loaded = Loaded {
        dbs: (0..opts.databases).map(|_| Db::default()).collect(),
        repl_id: None,
        repl_offset: None,
        aux: Vec::new(),
        functions_skipped: 0,
        empty_keys_skipped: 0,
        expired_keys_skipped: 0,
    };
    let mut db = 0usize;
    let mut expire_ms: Option<i64> = None;
    loop {
        let at = r.pos;
        match r.byte()? {
            OPCODE_EOF => break,
            OPCODE_AUX => read_aux(&mut r, &mut loaded)?,
            OPCODE_SELECTDB => {
                let n = r.len()?;
                if n >= opts.databases as u64 {
                    return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n", opts.databases));
                }
                db = n as usize;
            }
            OPCODE_RESIZEDB => {
                // Only a sizing hint: preallocating from it would trust the file.
                r.len()?;
                r.len()?;
            }
            OPCODE_EXPIRETIME_MS => expire_ms = Some(i64::from_le_bytes(r.array::<8>()?)),
            OPCODE_EXPIRETIME => expire_ms = Some(i32::from_le_bytes(r.array::<4>()?) as i64 * 1000),
            OPCODE_IDLE => {
                r.len()?;
            }
            OPCODE_FREQ => {
                r.byte()?;
            }
            OPCODE_FUNCTION2 => {
                r.string()?;
                loaded.functions_skipped += 1;
            }
            OPCODE_FUNCTION_PRE_GA => return Err(format!("FUNCTION opcode of Redis 7.0 release candidates at offset {} is not supported", at)),
            OPCODE_MODULE_AUX => return Err(format!("The RDB file contains module AUX data at offset {} that redsim can't load: no modules are loaded", at)),
            t => {
                let key = r.string()?;
                let value = read_object(&mut r, t, at)?;
                let when = expire_ms.take();
                let Some(mut value) = value else {
                    loaded.empty_keys_skipped += 1;
                    continue;
                };
                if let (Some(w), Some(now)) = (when, opts.discard_expired_before_ms) {
                    if w < now {
                        loaded.expired_keys_skipped += 1;
                        continue;
                    }
                }
                value.note_encoding(&opts.limits);
                insert_key(&mut loaded.dbs[db], key, value, when, at)?;
            }
        }
    }
    if version >= 5 {
        check_crc(&mut r)?;
    }
    Ok(loaded)
}

fn read_aux(r: &mut Reader, loaded: &mut Loaded) -> Result<(), String> {
    let (k, v) = (r.string()?, r.string()?);
    match k.as_slice() {
        b"repl-id" => loaded.repl_id = Some(String::from_utf8_lossy(&v).into_owned()),
        b"repl-offset" => {
            loaded.repl_offset = std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok())
        }
        _ => {}
    }
    loaded.aux.push((k, v));
    Ok(())
}

fn insert_key(
    d: &mut Db,
    key: Vec<u8>,
    value: Value,
    when: Option<i64>,
    at: usize,
) -> Result<(), String> {
    if d.dict.contains_key(&key) {
        return Err(format!(
            "Duplicate key '{}' at offset {}",
            String::from_utf8_lossy(&key),
            at
        ));
    }
    if let Some(w) = when {
        d.expires.insert(key.clone(), w);
    }
    d.dict.insert(key, crate::object::Entry::new(value));
    Ok(())
}

/// The 8-byte CRC64 after EOF; zero means the writer disabled checksums.
fn check_crc(r: &mut Reader) -> Result<(), String> {
    let body_end = r.pos;
    let expected = u64::from_le_bytes(r.array::<8>()?);
    if expected != 0 && CRC64.checksum(&r.buf[..body_end]) != expected {
        return Err(format!(
            "Wrong RDB checksum expected: ({:x}) got ({:x}) at offset {}",
            CRC64.checksum(&r.buf[..body_end]),
            expected,
            body_end
        ));
    }
    Ok(())
}

/// A cursor over an RDB image; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| {
            format!(
                "Unexpected EOF reading RDB file: {} bytes wanted at offset {}",
                n, self.pos
            )
        })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// A length, or (encoding, true) for a specially encoded string.
    fn len_or_enc(&mut self) -> Result<(u64, bool), String> {
        let at = self.pos;
        let first = self.byte()?;
        match first >> 6 {
            0 => Ok(((first & 0x3f) as u64, false)),
            1 => Ok(((((first & 0x3f) as u64) << 8) | self.byte()? as u64, false)),
            3 => Ok(((first & 0x3f) as u64, true)),
            _ => match first {
                LEN_32BIT => Ok((u32::from_be_bytes(self.array::<4>()?) as u64, false)),
                LEN_64BIT => Ok((u64::from_be_bytes(self.array::<8>()?), false)),
                _ => Err(format!(
                    "Unknown length encoding {} in rdbLoadLen() at offset {}",
                    first, at
                )),
            },
        }
    }

    fn len(&mut self) -> Result<u64, String> {
        let at = self.pos;
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => Err(format!(
                "encoded value where a length belongs at offset {}",
                at
            )),
        }
    }

    /// A length that counts elements of at least one byte each, so it can
    /// never exceed the bytes left.
    fn count(&mut self) -> Result<usize, String> {
        let at = self.pos;
        let n = self.len()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(format!(
                "element count {} exceeds the {} bytes left at offset {}",
                n, left, at
            ));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        let at = self.pos;
        match self.len_or_enc()? {
            (n, false) => {
                let n = usize::try_from(n)
                    .map_err(|_| format!("string length {} too large at offset {}", n, at))?;
                Ok(self.take(n)?.to_vec())
            }
            (enc, true) => self.encoded_string(enc as u8, at),
        }
    }

    /// The integer and LZF string encodings (a length byte of 0b11xxxxxx).
    fn encoded_string(&mut self, enc: u8, at: usize) -> Result<Vec<u8>, String> {
        match enc {
            ENC_INT8 => Ok((self.byte()? as i8).to_string().into_bytes()),
            ENC_INT16 => Ok(i16::from_le_bytes(self.array::<2>()?)
                .to_string()
                .into_bytes()),
            ENC_INT32 => Ok(i32::from_le_bytes(self.array::<4>()?)
                .to_string()
                .into_bytes()),
            ENC_LZF => {
                let compressed_len = self.len()?;
                let original_len = self.len()?;
                let compressed_len = usize::try_from(compressed_len)
                    .map_err(|_| format!("LZF length too large at offset {}", at))?;
                let original_len = usize::try_from(original_len)
                    .map_err(|_| format!("LZF length too large at offset {}", at))?;
                let data = self.take(compressed_len)?;
                lzf::decompress(data, original_len)
                    .map_err(|e| format!("{} in the string at offset {}", e, at))
            }
            _ => Err(format!(
                "Unknown RDB string encoding type {} at offset {}",
                enc, at
            )),
        }
    }

    /// A string holding a ziplist/listpack/intset, with its offset for errors.
    fn blob(&mut self) -> Result<(Vec<u8>, usize), String> {
        let at = self.pos;
        Ok((self.string()?, at))
    }

    /// rdbLoadDoubleValue: the text score of the old ZSET type.
    fn text_double(&mut self) -> Result<f64, String> {
        let at = self.pos;
        match self.byte()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Err(format!("Zset with NAN score detected at offset {}", at)),
            n => {
                let text = self.take(n as usize)?;
                crate::util::parse_f64(text)
                    .ok_or_else(|| format!("invalid score at offset {}", at))
            }
        }
    }
}

fn in_blob<T>(result: Result<T, String>, at: usize) -> Result<T, String> {
    result.map_err(|e| format!("{} (blob at offset {})", e, at))
}

/// One value of type `t`; None for an empty one, which Redis skips.
fn read_object(r: &mut Reader, t: u8, at: usize) -> Result<Option<Value>, String> {
    let value = match t {
        TYPE_STRING => return Ok(Some(Value::Str(r.string()?.into()))),
        TYPE_LIST => {
            let n = r.count()?;
            let mut l = VecDeque::new();
            for _ in 0..n {
                l.push_back(r.string()?);
            }
            Value::List(l)
        }
        TYPE_SET => {
            let n = r.count()?;
            let mut s = Set::default();
            for _ in 0..n {
                let m_at = r.pos;
                if !s.insert(r.string()?) {
                    return Err(format!("Duplicate set members detected at offset {}", m_at));
                }
            }
            Value::Set(SetObj::from(s))
        }
        TYPE_ZSET | TYPE_ZSET_2 => read_zset_plain(r, t == TYPE_ZSET_2)?,
        TYPE_HASH => read_hash_plain(r)?,
        TYPE_LIST_ZIPLIST => {
            let (blob, at) = r.blob()?;
            Value::List(in_blob(zl_decode(&blob), at)?.into())
        }
        TYPE_SET_INTSET => {
            let (blob, at) = r.blob()?;
            let values = in_blob(intset_decode(&blob), at)?;
            Value::Set(SetObj::from(
                values
                    .iter()
                    .map(|v| v.to_string().into_bytes())
                    .collect::<Set<Vec<u8>>>(),
            ))
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let (blob, at) = r.blob()?;
            let entries = in_blob(
                if t == TYPE_ZSET_LISTPACK {
                    lp_decode(&blob)
                } else {
                    zl_decode(&blob)
                },
                at,
            )?;
            in_blob(zset_from_pairs(entries), at)?
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let (blob, at) = r.blob()?;
            let entries = in_blob(
                if t == TYPE_HASH_LISTPACK {
                    lp_decode(&blob)
                } else {
                    zl_decode(&blob)
                },
                at,
            )?;
            in_blob(hash_from_pairs(entries), at)?
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            read_quicklist(r, t == TYPE_LIST_QUICKLIST_2)?
        }
        TYPE_MODULE | TYPE_MODULE_2 => {
            return Err(format!(
                "module value at offset {}: redsim loads no modules",
                at
            ))
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => {
            return Err(format!(
                "stream value at offset {}: redsim has no streams",
                at
            ))
        }
        TYPE_HASH_ZIPMAP => {
            return Err(format!(
                "zipmap hash at offset {}: Redis 2.x encodings are not supported",
                at
            ))
        }
        other => {
            return Err(format!(
                "Unknown RDB encoding type {} at offset {}",
                other, at
            ))
        }
    };
    Ok(if value.element_count() == 0 {
        None
    } else {
        Some(value)
    })
}

fn read_zset_plain(r: &mut Reader, binary: bool) -> Result<Value, String> {
    let n = r.count()?;
    let mut z = ZSet::default();
    for _ in 0..n {
        let m_at = r.pos;
        let member = r.string()?;
        let score = if binary {
            f64::from_le_bytes(r.array::<8>()?)
        } else {
            r.text_double()?
        };
        if score.is_nan() {
            return Err(format!("Zset with NAN score detected at offset {}", m_at));
        }
        if z.insert(member, score).is_some() {
            return Err(format!("Duplicate zset fields detected at offset {}", m_at));
        }
    }
    Ok(Value::ZSet(z))
}

fn read_hash_plain(r: &mut Reader) -> Result<Value, String> {
    let n = r.count()?;
    let mut h = Map::default();
    for _ in 0..n {
        let f_at = r.pos;
        let field = r.string()?;
        let value = r.string()?;
        if h.insert(field, value).is_some() {
            return Err(format!("Duplicate hash fields detected at offset {}", f_at));
        }
    }
    Ok(Value::Hash(HashObj::from(h)))
}

fn zset_from_pairs(entries: Vec<Vec<u8>>) -> Result<Value, String> {
    if !entries.len().is_multiple_of(2) {
        return Err(format!(
            "sorted set listpack has an odd number of entries ({})",
            entries.len()
        ));
    }
    let mut z = ZSet::default();
    let mut it = entries.into_iter();
    while let (Some(member), Some(score)) = (it.next(), it.next()) {
        let score = crate::util::parse_f64(&score)
            .ok_or_else(|| format!("invalid score '{}'", String::from_utf8_lossy(&score)))?;
        if z.insert(member, score).is_some() {
            return Err("Duplicate zset fields detected".into());
        }
    }
    Ok(Value::ZSet(z))
}

fn hash_from_pairs(entries: Vec<Vec<u8>>) -> Result<Value, String> {
    if !entries.len().is_multiple_of(2) {
        return Err(format!(
            "hash listpack has an odd number of entries ({})",
            entries.len()
        ));
    }
    let mut h = Map::default();
    let mut it = entries.into_iter();
    while let (Some(field), Some(value)) = (it.next(), it.next()) {
        if h.insert(field, value).is_some() {
            return Err("Duplicate hash fields detected".into());
        }
    }
    Ok(Value::Hash(HashObj::from(h)))
}

/// LIST_QUICKLIST (ziplist nodes) and LIST_QUICKLIST_2 (a container tag per
/// node: plain nodes hold one element, packed ones a listpack).
fn read_quicklist(r: &mut Reader, v2: bool) -> Result<Value, String> {
    let nodes = r.count()?;
    let mut l = VecDeque::new();
    for _ in 0..nodes {
        let node_at = r.pos;
        let container = if v2 { r.len()? } else { QUICKLIST_NODE_PACKED };
        if container != QUICKLIST_NODE_PACKED && container != QUICKLIST_NODE_PLAIN {
            return Err(format!(
                "Quicklist integrity check failed: container {} at offset {}",
                container, node_at
            ));
        }
        let (blob, at) = r.blob()?;
        if blob.is_empty() {
            return Err(format!("empty quicklist node at offset {}", at));
        }
        if container == QUICKLIST_NODE_PLAIN {
            l.push_back(blob);
            continue;
        }
        let entries = in_blob(
            if v2 {
                lp_decode(&blob)
            } else {
                zl_decode(&blob)
            },
            at,
        )?;
        l.extend(entries);
    }
    Ok(Value::List(l))
}
