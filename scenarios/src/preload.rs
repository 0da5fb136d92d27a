//! Preloaded datasets: a node's `preload` list built with the engine's own keyspace types and
//! serialised by the engine's RDB writer, so the file the node finds on its disk at boot is
//! exactly what redis-server would have written for that dataset (a restored backup).

use redsim_engine::db::Db;
use redsim_engine::object::{Entry, HashObj, SetObj, StrObj, Value, ZSet};

use crate::spec::{Node, Preload, PreloadType};

/// The file the node's start-up load reads: `dbfilename` from its config, else dump.rdb.
pub fn rdb_file_name(node: &Node) -> String {
    let lines: Vec<&str> = node.config.iter().map(String::as_str).collect();
    redsim_engine::Config::from_conf_lines(&lines)
        .ok()
        .and_then(|c| c.get("dbfilename"))
        .unwrap_or_else(|| "dump.rdb".to_string())
}

/// The keyspace a preload list describes (db 0). Later entries replace earlier keys of the
/// same name, as a restore of successive writes would.
pub fn build_db(preload: &[Preload]) -> Db {
    let mut db = Db::default();
    for p in preload {
        let elements = p.elements.unwrap_or(0);
        let value = match p.kind {
            PreloadType::String => {
                add_strings(&mut db, p);
                continue;
            }
            PreloadType::Set => set(elements),
            PreloadType::Hash => hash(elements),
            PreloadType::List => Value::List((0..elements).map(member).collect()),
            PreloadType::Zset => zset(elements),
        };
        let key = p.key.clone().unwrap_or_default().into_bytes();
        db.dict.insert(key, Entry::new(value));
    }
    db
}

/// DEBUG POPULATE's values: `value:<i>` padded with zero bytes to the size, built compact so a
/// GB-sized preload costs little real memory (the RDB writer compresses them from that form).
fn add_strings(db: &mut Db, p: &Preload) {
    let size = p.value_bytes.unwrap_or(0) as usize;
    let value = |i: u64| {
        let text = format!("value:{}", i).into_bytes();
        if size == 0 {
            StrObj::from(text)
        } else {
            StrObj::from_run(&text, 0, size)
        }
    };
    if let Some(key) = &p.key {
        db.dict
            .insert(key.clone().into_bytes(), Entry::new(Value::Str(value(0))));
        return;
    }
    let prefix = p.key_prefix.clone().unwrap_or_else(|| "key:".to_string());
    let count = p.keys.unwrap_or(0);
    db.dict.reserve(count as usize);
    for i in 0..count {
        let mut key = prefix.clone().into_bytes();
        key.extend_from_slice(i.to_string().as_bytes());
        db.dict.insert(key, Entry::new(Value::Str(value(i))));
    }
}

fn member(i: u64) -> Vec<u8> {
    format!("member:{}", i).into_bytes()
}

fn set(elements: u64) -> Value {
    let mut set = SetObj::default();
    set.members.reserve(elements as usize);
    set.members.extend((0..elements).map(member));
    Value::Set(set)
}

fn hash(elements: u64) -> Value {
    let mut hash = HashObj::default();
    hash.fields
        .extend((0..elements).map(|i| (member(i), i.to_string().into_bytes())));
    Value::Hash(hash)
}

fn zset(elements: u64) -> Value {
    let mut zset = ZSet::default();
    for i in 0..elements {
        zset.insert(member(i), i as f64);
    }
    Value::ZSet(zset)
}

/// The RDB image of the node's preload, written with the node's own rdbcompression and
/// encoding thresholds (what its `redis-server` would have saved).
pub fn rdb_image(node: &Node) -> Vec<u8> {
    let lines: Vec<&str> = node.config.iter().map(String::as_str).collect();
    let config = redsim_engine::Config::from_conf_lines(&lines).unwrap_or_default();
    let opts = redsim_engine::rdb::SaveOptions::from_config(&config);
    let db = build_db(&node.preload);
    // No replication id: the restored node starts a history of its own.
    let aux = redsim_engine::rdb::Aux {
        ctime_s: 0,
        used_mem: 0,
        repl_id: String::new(),
        repl_offset: 0,
    };
    redsim_engine::rdb::save_with(std::slice::from_ref(&db), &aux, &opts)
}
