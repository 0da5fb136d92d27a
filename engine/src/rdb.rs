//! RDB in Redis 7.0's format (version 10, CRC64 trailer), for full sync
//! payloads. Strings, lists, sets, sorted sets and hashes are written with the
//! plain (non-compact) type codes, which Redis 7.0 loads and converts; the
//! persistence work extends this with the compact encodings and files.

use crate::db::Db;
use crate::object::{Map, Set, Value, ZSet};
use std::collections::VecDeque;

pub const RDB_VERSION: u32 = 10;
const OPCODE_AUX: u8 = 250;
const OPCODE_RESIZEDB: u8 = 251;
const OPCODE_EXPIRETIME_MS: u8 = 252;
const OPCODE_SELECTDB: u8 = 254;
const OPCODE_EOF: u8 = 255;
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;

const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Auxiliary fields written after the magic.
pub struct Aux {
    pub ctime_s: i64,
    pub used_mem: u64,
    pub repl_id: String,
    pub repl_offset: i64,
}

fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(((len >> 8) as u8) | 0x40);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn write_double_binary(out: &mut Vec<u8>, d: f64) {
    out.extend_from_slice(&d.to_le_bytes());
}

/// Serialises every db into an RDB image.
pub fn save(dbs: &[Db], aux: &Aux) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
    let aux_fields: [(&str, String); 7] = [
        ("redis-ver", "7.0.15".into()),
        ("redis-bits", "64".into()),
        ("ctime", aux.ctime_s.to_string()),
        ("used-mem", aux.used_mem.to_string()),
        ("repl-stream-db", "0".into()),
        ("repl-id", aux.repl_id.clone()),
        ("repl-offset", aux.repl_offset.to_string()),
    ];
    for (k, v) in aux_fields.iter() {
        out.push(OPCODE_AUX);
        write_string(&mut out, k.as_bytes());
        write_string(&mut out, v.as_bytes());
    }
    out.push(OPCODE_AUX);
    write_string(&mut out, b"aof-base");
    write_string(&mut out, b"0");
    for (index, db) in dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        out.push(OPCODE_SELECTDB);
        write_len(&mut out, index as u64);
        out.push(OPCODE_RESIZEDB);
        write_len(&mut out, db.dict.len() as u64);
        write_len(&mut out, db.expires.len() as u64);
        for (key, value) in &db.dict {
            if let Some(when) = db.expires.get(key) {
                out.push(OPCODE_EXPIRETIME_MS);
                out.extend_from_slice(&when.to_le_bytes());
            }
            write_object(&mut out, key, value);
        }
    }
    out.push(OPCODE_EOF);
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn write_object(out: &mut Vec<u8>, key: &[u8], value: &Value) {
    match value {
        Value::Str(s) => {
            out.push(TYPE_STRING);
            write_string(out, key);
            write_string(out, s);
        }
        Value::List(l) => {
            out.push(TYPE_LIST);
            write_string(out, key);
            write_len(out, l.len() as u64);
            l.iter().for_each(|e| write_string(out, e));
        }
        Value::Set(s) => {
            out.push(TYPE_SET);
            write_string(out, key);
            write_len(out, s.len() as u64);
            s.iter().for_each(|e| write_string(out, e));
        }
        Value::Hash(h) => {
            out.push(TYPE_HASH);
            write_string(out, key);
            write_len(out, h.len() as u64);
            for (f, v) in h.iter() {
                write_string(out, f);
                write_string(out, v);
            }
        }
        Value::ZSet(z) => {
            out.push(TYPE_ZSET_2);
            write_string(out, key);
            write_len(out, z.len() as u64);
            // Redis writes from the highest score down so loading inserts at the head.
            for (score, member) in z.ordered.iter().rev() {
                write_string(out, member);
                write_double_binary(out, score.0);
            }
        }
    }
}

/// A cursor over an RDB image; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| format!("unexpected end of RDB at offset {}", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    /// A length, or Err for an encoded value (handled by `string`).
    fn len_or_enc(&mut self) -> Result<(u64, bool), String> {
        let first = self.byte()?;
        match first >> 6 {
            0 => Ok(((first & 0x3f) as u64, false)),
            1 => Ok(((((first & 0x3f) as u64) << 8) | self.byte()? as u64, false)),
            2 => match first {
                0x80 => Ok((u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")) as u64, false)),
                0x81 => Ok((u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")), false)),
                _ => Err(format!("unknown length encoding 0x{:02x} at offset {}", first, self.pos - 1)),
            },
            _ => Ok(((first & 0x3f) as u64, true)),
        }
    }
    fn len(&mut self) -> Result<u64, String> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => Err(format!("unexpected encoded value at offset {}", self.pos)),
        }
    }
    fn string(&mut self) -> Result<Vec<u8>, String> {
        match self.len_or_enc()? {
            (n, false) => {
                let n = usize::try_from(n).map_err(|_| "string too long".to_string())?;
                Ok(self.take(n)?.to_vec())
            }
            (0, true) => Ok((self.byte()? as i8).to_string().into_bytes()),
            (1, true) => Ok(i16::from_le_bytes(self.take(2)?.try_into().expect("2")).to_string().into_bytes()),
            (2, true) => Ok(i32::from_le_bytes(self.take(4)?.try_into().expect("4")).to_string().into_bytes()),
            (enc, true) => Err(format!("unsupported string encoding {} at offset {}", enc, self.pos)),
        }
    }
    fn count(&mut self) -> Result<usize, String> {
        let n = self.len()?;
        // Every element takes at least one byte: a larger count is corrupt.
        if n as usize > self.buf.len() - self.pos {
            return Err(format!("element count {} exceeds the payload at offset {}", n, self.pos));
        }
        Ok(n as usize)
    }
}

/// The dataset an RDB image holds, and its replication aux fields.
pub struct Loaded {
    pub dbs: Vec<Db>,
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
}

/// Parses an RDB image written by `save` (and the plain encodings of Redis).
pub fn load(buf: &[u8], databases: usize) -> Result<Loaded, String> {
    if buf.len() < 9 + 1 + 8 || !buf.starts_with(b"REDIS") {
        return Err("wrong signature trying to load DB from file".into());
    }
    let body_len = buf.len() - 8;
    let expected = u64::from_le_bytes(buf[body_len..].try_into().expect("8 bytes"));
    if expected != 0 && CRC64.checksum(&buf[..body_len]) != expected {
        return Err("RDB CRC error".into());
    }
    let mut r = Reader { buf: &buf[..body_len], pos: 9 };
    let mut loaded = Loaded { dbs: (0..databases).map(|_| Db::default()).collect(), repl_id: None, repl_offset: None };
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    loop {
        let op = r.byte()?;
        match op {
            OPCODE_EOF => return Ok(loaded),
            OPCODE_AUX => {
                let (k, v) = (r.string()?, r.string()?);
                match k.as_slice() {
                    b"repl-id" => loaded.repl_id = Some(String::from_utf8_lossy(&v).into_owned()),
                    b"repl-offset" => loaded.repl_offset = std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()),
                    _ => {}
                }
            }
            OPCODE_SELECTDB => {
                db = r.len()? as usize;
                if db >= databases {
                    return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases.", databases));
                }
            }
            OPCODE_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            OPCODE_EXPIRETIME_MS => expire = Some(i64::from_le_bytes(r.take(8)?.try_into().expect("8"))),
            t => {
                let key = r.string()?;
                let value = read_object(&mut r, t)?;
                let d = &mut loaded.dbs[db];
                if let Some(when) = expire.take() {
                    d.expires.insert(key.clone(), when);
                }
                d.dict.insert(key, value);
            }
        }
    }
}

fn read_object(r: &mut Reader, t: u8) -> Result<Value, String> {
    Ok(match t {
        TYPE_STRING => Value::Str(r.string()?),
        TYPE_LIST => {
            let n = r.count()?;
            let mut l = VecDeque::with_capacity(n);
            for _ in 0..n {
                l.push_back(r.string()?);
            }
            Value::List(l)
        }
        TYPE_SET => {
            let n = r.count()?;
            let mut s = Set::default();
            for _ in 0..n {
                s.insert(r.string()?);
            }
            Value::Set(s.into())
        }
        TYPE_HASH => {
            let n = r.count()?;
            let mut h = Map::default();
            for _ in 0..n {
                let f = r.string()?;
                h.insert(f, r.string()?);
            }
            Value::Hash(h.into())
        }
        TYPE_ZSET_2 => {
            let n = r.count()?;
            let mut z = ZSet::default();
            for _ in 0..n {
                let m = r.string()?;
                let score = f64::from_le_bytes(r.take(8)?.try_into().expect("8"));
                if score.is_nan() {
                    return Err("Zset with NAN score detected".into());
                }
                z.insert(m, score);
            }
            Value::ZSet(z)
        }
        other => return Err(format!("unknown RDB object type {} at offset {}", other, r.pos - 1)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn crc64_matches_redis_check_value() {
        assert_eq!(CRC64.checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
    }
    #[test]
    fn round_trip() {
        let mut db = Db::default();
        db.dict.insert(b"a".to_vec(), Value::Str(b"1".to_vec()));
        db.expires.insert(b"a".to_vec(), 123);
        let aux = Aux { ctime_s: 0, used_mem: 0, repl_id: "x".into(), repl_offset: 5 };
        let img = save(&[db], &aux);
        let loaded = load(&img, 16).unwrap();
        assert_eq!(loaded.dbs[0].dict.len(), 1);
        assert_eq!(loaded.dbs[0].expires.get(&b"a"[..]), Some(&123));
        assert_eq!(loaded.repl_offset, Some(5));
    }
}
