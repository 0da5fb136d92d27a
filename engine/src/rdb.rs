//! RDB in Redis 7.0's format (version 10, CRC64 trailer): full-sync payloads
//! now, SAVE/BGSAVE and the AOF preamble later.
//!
//! `save` writes each value in the encoding OBJECT ENCODING reports for it
//! (listpack, intset, quicklist of listpacks, or the plain hashtable and
//! skiplist forms), with LZF and integer-encoded strings as
//! redis-server 7.0.15 writes them; `load` reads all of those plus the
//! ziplist types of older versions. Files are checked against the real
//! `redis-check-rdb` and redis-server in engine/tests/rdb.rs.

pub mod bgsave;
mod listpack;
mod load;
pub mod lzf;
mod save;
pub mod startup;

pub use load::{load, load_with, LoadOptions, Loaded};
pub use save::{dump_payload, limits_from_config, save, save_with, Aux, SaveOptions};

pub const RDB_VERSION: u32 = 10;

const OPCODE_FUNCTION2: u8 = 245;
/// The function opcode of the 7.0 release candidates.
const OPCODE_FUNCTION_PRE_GA: u8 = 246;
const OPCODE_MODULE_AUX: u8 = 247;
const OPCODE_IDLE: u8 = 248;
const OPCODE_FREQ: u8 = 249;
const OPCODE_AUX: u8 = 250;
const OPCODE_RESIZEDB: u8 = 251;
const OPCODE_EXPIRETIME_MS: u8 = 252;
const OPCODE_EXPIRETIME: u8 = 253;
const OPCODE_SELECTDB: u8 = 254;
const OPCODE_EOF: u8 = 255;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

/// Length prefixes: 00 6-bit, 01 14-bit, 0x80 32-bit, 0x81 64-bit, and 11
/// for the special string encodings below.
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
const ENC_MARK: u8 = 0xc0;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::object::Value;

    #[test]
    fn crc64_matches_redis_check_value() {
        assert_eq!(CRC64.checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    /// A hand-built image: the magic, `body`, EOF and a CRC64 trailer.
    fn image(version: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!("REDIS{}", version).into_bytes();
        out.extend_from_slice(body);
        out.push(OPCODE_EOF);
        let crc = CRC64.checksum(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn raw(out: &mut Vec<u8>, s: &[u8]) {
        assert!(s.len() < 64);
        out.push(s.len() as u8);
        out.extend_from_slice(s);
    }

    /// A ziplist of short strings, as Redis 6 wrote them.
    fn ziplist(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0u8;
        for it in items {
            let start = body.len();
            body.push(prev);
            raw(&mut body, it);
            prev = (body.len() - start) as u8;
        }
        let mut zl = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
        zl.extend_from_slice(&0u32.to_le_bytes());
        zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xff);
        zl
    }

    fn with_blob(out: &mut Vec<u8>, t: u8, key: &[u8], blob: &[u8]) {
        out.push(t);
        raw(out, key);
        out.push(0x40 | (blob.len() >> 8) as u8);
        out.push(blob.len() as u8);
        out.extend_from_slice(blob);
    }

    fn shape(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::Str(s) => vec![s.to_vec()],
            Value::List(l) => l.iter().cloned().collect(),
            Value::Hash(h) => h.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect(),
            Value::Set(s) => s.iter().cloned().collect(),
            Value::ZSet(z) => z
                .ordered
                .iter()
                .flat_map(|(s, m)| [m.clone(), s.0.to_string().into_bytes()])
                .collect(),
        }
    }

    /// The ziplist-era types Redis 7.0 still loads, the seconds expire,
    /// IDLE/FREQ and FUNCTION2 opcodes, and the old text-score ZSET.
    #[test]
    fn loads_pre_7_encodings_and_opcodes() {
        let mut body = Vec::new();
        body.extend_from_slice(&[OPCODE_SELECTDB, 2]);
        body.push(OPCODE_FUNCTION2);
        raw(
            &mut body,
            b"#!lua name=lib\nredis.register_function('f', f)",
        );
        with_blob(
            &mut body,
            TYPE_HASH_ZIPLIST,
            b"h",
            &ziplist(&[b"f", b"v", b"g", b"w"]),
        );
        with_blob(
            &mut body,
            TYPE_ZSET_ZIPLIST,
            b"z",
            &ziplist(&[b"a", b"1", b"b", b"2.5"]),
        );
        with_blob(&mut body, TYPE_LIST_ZIPLIST, b"l0", &ziplist(&[b"x", b"y"]));
        body.push(OPCODE_EXPIRETIME);
        body.extend_from_slice(&1_000i32.to_le_bytes());
        body.extend_from_slice(&[OPCODE_IDLE, 5, OPCODE_FREQ, 9]);
        body.push(TYPE_LIST_QUICKLIST);
        raw(&mut body, b"l");
        body.push(1);
        let zl = ziplist(&[b"p", b"q"]);
        body.push(zl.len() as u8);
        body.extend_from_slice(&zl);
        body.push(TYPE_ZSET);
        raw(&mut body, b"old");
        body.push(2);
        raw(&mut body, b"m");
        raw(&mut body, b"3.5");
        raw(&mut body, b"n");
        body.push(254);
        let loaded = load(&image("0009", &body), 16).unwrap();
        let d = &loaded.dbs[2];
        assert_eq!(loaded.functions_skipped, 1);
        assert_eq!(
            shape(&d.dict[&b"h"[..]]),
            vec![b"f".to_vec(), b"v".to_vec(), b"g".to_vec(), b"w".to_vec()]
        );
        assert_eq!(
            shape(&d.dict[&b"z"[..]]),
            vec![b"a".to_vec(), b"1".to_vec(), b"b".to_vec(), b"2.5".to_vec()]
        );
        assert_eq!(
            shape(&d.dict[&b"l0"[..]]),
            vec![b"x".to_vec(), b"y".to_vec()]
        );
        assert_eq!(
            shape(&d.dict[&b"l"[..]]),
            vec![b"p".to_vec(), b"q".to_vec()]
        );
        assert_eq!(d.expires.get(&b"l"[..]), Some(&1_000_000));
        assert_eq!(
            shape(&d.dict[&b"old"[..]]),
            vec![
                b"m".to_vec(),
                b"3.5".to_vec(),
                b"n".to_vec(),
                b"inf".to_vec()
            ]
        );
    }

    #[test]
    fn rejects_what_redsim_cannot_hold_and_names_the_offset() {
        let module_aux = load(&image("0010", &[OPCODE_MODULE_AUX, 0, 0]), 16)
            .err()
            .unwrap();
        assert!(
            module_aux.contains("module AUX data at offset 9"),
            "{}",
            module_aux
        );
        let stream = load(&image("0010", &[TYPE_STREAM_LISTPACKS_2, 1, b'k']), 16)
            .err()
            .unwrap();
        assert!(stream.contains("offset 9"), "{}", stream);
        let huge = load(
            &image("0010", &[TYPE_LIST, 1, b'k', 0x80, 0xff, 0xff, 0xff, 0xff]),
            16,
        )
        .err()
        .unwrap();
        assert!(huge.contains("at offset 12"), "{}", huge);
        let truncated = &image("0010", &[TYPE_STRING, 1, b'k', 5, b'a'])[..14];
        assert!(load(truncated, 16).err().unwrap().contains("offset"));
        let mut bad_crc = image("0010", &[TYPE_STRING, 1, b'k', 1, b'v']);
        let n = bad_crc.len();
        bad_crc[n - 1] ^= 1;
        assert!(load(&bad_crc, 16)
            .err()
            .unwrap()
            .starts_with("Wrong RDB checksum"));
        assert!(load(&image("0011", &[]), 16)
            .err()
            .unwrap()
            .contains("version"));
    }

    #[test]
    fn skips_empty_and_optionally_expired_keys() {
        let mut body = vec![TYPE_SET, 1, b'e', 0, OPCODE_EXPIRETIME_MS];
        body.extend_from_slice(&50i64.to_le_bytes());
        body.extend_from_slice(&[TYPE_STRING, 1, b'x', 1, b'v', TYPE_STRING, 1, b'y', 1, b'w']);
        let img = image("0010", &body);
        let all = load(&img, 16).unwrap();
        assert_eq!((all.dbs[0].dict.len(), all.empty_keys_skipped), (2, 1));
        let opts = LoadOptions {
            discard_expired_before_ms: Some(100),
            ..LoadOptions::new(16)
        };
        let live = load_with(&img, &opts).unwrap();
        assert_eq!((live.dbs[0].dict.len(), live.expired_keys_skipped), (1, 1));
    }

    #[test]
    fn round_trip() {
        let mut db = Db::default();
        db.dict.insert(
            b"a".to_vec(),
            crate::object::Entry::new(Value::Str(b"1".to_vec().into())),
        );
        db.expires.insert(b"a".to_vec(), 123);
        let aux = Aux {
            ctime_s: 0,
            used_mem: 0,
            repl_id: "x".into(),
            repl_offset: 5,
        };
        let img = save(&[db], &aux);
        let loaded = load(&img, 16).unwrap();
        assert_eq!(loaded.dbs[0].dict.len(), 1);
        assert_eq!(loaded.dbs[0].expires.get(&b"a"[..]), Some(&123));
        assert_eq!(loaded.repl_offset, Some(5));
    }
}
