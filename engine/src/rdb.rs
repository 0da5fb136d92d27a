//! RDB in Redis 7.0's format (version 10, CRC64 trailer): full-sync payloads
//! now, SAVE/BGSAVE and the AOF preamble later.
//!
//! `save` writes each value in the encoding OBJECT ENCODING reports for it
//! (listpack, intset, quicklist of listpacks, or the plain hashtable and
//! skiplist forms), with LZF and integer-encoded strings as
//! redis-server 7.0.15 writes them; `load` reads all of those plus the
//! ziplist types of older versions. Files are checked against the real
//! `redis-check-rdb` and redis-server in engine/tests/rdb.rs.

mod listpack;
mod load;
pub mod lzf;
mod save;

pub use load::{load, load_with, LoadOptions, Loaded};
pub use save::{limits_from_config, save, save_with, Aux, SaveOptions};

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
