//! Where each key's allocations sit on the simulated heap, kept up to date
//! by small hooks in the keyspace (db.rs) so used_memory never needs a walk
//! of the keyspace.
//!
//! A key is four allocations, as in Redis: the dict entry, the key's sds,
//! the robj (or the embstr robj+sds), and the value (a raw sds, a listpack
//! or the dict/quicklist of a big collection, lumped together). Entries
//! carry a handle (`KeyMeta.alloc`) into a side table of records.

use super::pages::{Alloc, Heap, ALLOC_PAGE};
use super::{size_class, value_bytes};
use crate::object::{Map, Value};
use crate::server::Server;

const ROBJ: u64 = 16;
const DICT_ENTRY: u64 = 24;
/// Collections with more elements are sized from a sample taken when their
/// size last changed by half or double, so a write costs O(1).
const SCAN_MAX: usize = 128;

/// The bytes sdsnewlen asks for: header, bytes, NUL.
fn sds_request(len: usize) -> u64 {
    let header = if len < 32 {
        1
    } else if len < 256 {
        3
    } else if len < 65536 {
        5
    } else {
        9
    };
    (header + len + 1) as u64
}

#[derive(Debug, Clone)]
pub struct KeyTable {
    /// Handle - 1 -> [dict entry, key sds, robj, value].
    records: Vec<[Alloc; 4]>,
    free_handles: Vec<u64>,
    /// Live records (keys accounted).
    pub keys: u64,
    /// Keys handed out by lookup_write whose value the command may have
    /// changed in place: re-sized after the command.
    pub pending: Vec<(usize, Vec<u8>)>,
    /// Big collections: (elements, bytes) when last measured, by handle.
    big: Map<u64, (u64, u64)>,
    /// Picks which page of a big value a command touches: a ChaCha stream
    /// of the run's seed of its own, so the commands' draws from srv.rng
    /// (SPOP, RANDOMKEY...) stay what they were.
    rng: rand_chacha::ChaCha8Rng,
}

/// The ChaCha stream (of the engine's seed) the page picks draw from;
/// srv.rng is stream 0.
const PAGE_PICK_STREAM: u64 = 1;

impl KeyTable {
    pub fn new(seed: u64) -> KeyTable {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(PAGE_PICK_STREAM);
        KeyTable {
            records: Vec::new(),
            free_handles: Vec::new(),
            keys: 0,
            pending: Vec::new(),
            big: Map::default(),
            rng,
        }
    }

    fn next_random(&mut self) -> u64 {
        use rand::RngCore;
        self.rng.next_u64()
    }

    /// (robj or embstr bytes, value bytes) Redis would allocate for `value`.
    fn value_requests(&mut self, handle: u64, value: &Value) -> (u64, u64) {
        match value {
            Value::Str(s) if s.len() <= 20 && crate::util::parse_i64(s).is_some() => (ROBJ, 0),
            Value::Str(s) if s.len() <= 44 => (ROBJ + 3 + s.len() as u64 + 1, 0),
            Value::Str(s) => (ROBJ, sds_request(s.len())),
            v if v.element_count() <= SCAN_MAX => {
                self.big.swap_remove(&handle);
                (ROBJ, value_bytes(v) as u64 - ROBJ)
            }
            v => {
                let count = v.element_count() as u64;
                match self.big.get(&handle) {
                    Some(&(at, bytes)) if count <= at * 2 && count * 2 >= at => {
                        (ROBJ, bytes * count / at)
                    }
                    _ => {
                        let bytes = value_bytes(v) as u64 - ROBJ;
                        self.big.insert(handle, (count, bytes));
                        (ROBJ, bytes)
                    }
                }
            }
        }
    }

    /// The live record of `handle` (a freed one reads as None).
    fn record(&self, handle: u64) -> Option<&[Alloc; 4]> {
        handle
            .checked_sub(1)
            .and_then(|i| self.records.get(i as usize))
            .filter(|r| !r[0].is_none())
    }
}

/// Charges the main loop for pages brought back from swap.
fn stall(srv: &mut Server, swapped_in_4k: u64) {
    if swapped_in_4k > 0 {
        srv.cost
            .block_us(swapped_in_4k * srv.options.machine.swap_in_latency_us);
    }
}

/// Reads or writes a key's allocations. A big value (more than one
/// allocator page) is touched on one page only: a command on a big
/// collection reaches a few of its entries, not all.
fn touch_record(heap: &mut Heap, rec: &[Alloc; 4], write_value: bool, pick: u64) -> u64 {
    let mut back = 0;
    for (i, a) in rec.iter().enumerate() {
        if a.is_none() {
            continue;
        }
        let write = write_value && i >= 2;
        let pages = heap.span_pages(*a);
        back += if pages > 1 && i == 3 {
            heap.touch(a.addr() + (pick % pages) * ALLOC_PAGE, 1, write)
        } else {
            heap.touch(a.addr(), heap.usable(*a), write)
        };
    }
    back
}

/// A key was stored (setKey): a new key gets a dict entry and key sds; an
/// overwritten one keeps them (dbOverwrite sets the entry's value). The
/// old value is freed and the new one allocated, landing in the slots
/// recent frees left.
pub fn key_stored(srv: &mut Server, db: usize, key: &[u8], old_handle: Option<u64>) {
    flush_pending(srv);
    let Some(entry) = srv.dbs[db].dict.get_mut(key) else {
        return;
    };
    let back = place(&mut srv.mem, key.len(), entry, old_handle);
    stall(srv, back);
}

/// Lays out a stored entry's allocations and records its handle in the
/// entry. Returns the 4 KiB pages swapped back in. Callers that already
/// hold the entry (DEBUG POPULATE) use it directly to avoid a lookup.
pub fn place(
    mem: &mut super::MemState,
    key_len: usize,
    entry: &mut crate::object::Entry,
    old_handle: Option<u64>,
) -> u64 {
    let old = old_handle.filter(|&h| mem.keys.record(h).is_some());
    let mut back = 0;
    let handle = match old {
        Some(h) => {
            let rec = mem.keys.records[h as usize - 1];
            mem.heap.free(rec[2]);
            mem.heap.free(rec[3]);
            // dictSetVal writes the entry.
            back += mem.heap.touch(rec[0].addr(), DICT_ENTRY, true);
            h
        }
        None => {
            let (e, b1) = mem.heap.alloc(DICT_ENTRY);
            let (k, b2) = mem.heap.alloc(sds_request(key_len));
            back += b1 + b2;
            let h = match mem.keys.free_handles.pop() {
                Some(h) => h,
                None => {
                    mem.keys.records.push([Alloc::NONE; 4]);
                    mem.keys.records.len() as u64
                }
            };
            mem.keys.records[h as usize - 1] = [e, k, Alloc::NONE, Alloc::NONE];
            mem.keys.keys += 1;
            h
        }
    };
    let (robj, val) = mem.keys.value_requests(handle, &entry.value);
    let (r, b3) = mem.heap.alloc(robj);
    let (v, b4) = if val > 0 {
        mem.heap.alloc(val)
    } else {
        (Alloc::NONE, 0)
    };
    back += b3 + b4;
    let rec = &mut mem.keys.records[handle as usize - 1];
    rec[2] = r;
    rec[3] = v;
    entry.meta.alloc = handle;
    back
}

/// A key is gone (dbDelete, or its value moved by RENAME/MOVE): its
/// allocations are freed, which writes no page.
pub fn key_removed(srv: &mut Server, handle: u64) {
    let mem = &mut srv.mem;
    if mem.keys.record(handle).is_none() {
        return;
    }
    let rec = std::mem::take(&mut mem.keys.records[handle as usize - 1]);
    for a in rec {
        mem.heap.free(a);
    }
    mem.keys.big.swap_remove(&handle);
    mem.keys.free_handles.push(handle);
    mem.keys.keys -= 1;
}

/// lookupKeyRead found the key: its pages are read (swapped ones come back
/// and stall the loop; nothing is copied).
pub fn key_read(srv: &mut Server, db: usize, key: &[u8]) {
    flush_pending(srv);
    let Some(handle) = srv.dbs[db].dict.get(key).map(|e| e.meta.alloc) else {
        return;
    };
    let Some(rec) = srv.mem.keys.record(handle).copied() else {
        return adopt(srv, db, key);
    };
    let pick = srv.mem.keys.next_random();
    let back = touch_record(&mut srv.mem.heap, &rec, false, pick);
    stall(srv, back);
}

/// lookupKeyWrite found the key: the command will change the value in
/// place, so it is re-sized after the command ([`flush_pending`]).
pub fn key_write(srv: &mut Server, db: usize, key: &[u8]) {
    flush_pending(srv);
    let Some(handle) = srv.dbs[db].dict.get(key).map(|e| e.meta.alloc) else {
        return;
    };
    if srv.mem.keys.record(handle).is_none() {
        return adopt(srv, db, key);
    }
    srv.mem.keys.pending.push((db, key.to_vec()));
}

/// A key the hooks never saw (loaded straight into the dict): account it.
fn adopt(srv: &mut Server, db: usize, key: &[u8]) {
    key_stored(srv, db, key, None);
}

/// After a command: values changed in place are re-sized. A value whose
/// size class changed moves (realloc); one that did not is written where
/// it is.
pub fn flush_pending(srv: &mut Server) {
    if srv.mem.keys.pending.is_empty() {
        return;
    }
    let pending = std::mem::take(&mut srv.mem.keys.pending);
    let mut back = 0;
    for (db, key) in &pending {
        let Some(entry) = srv.dbs.get(*db).and_then(|d| d.dict.get(key.as_slice())) else {
            continue;
        };
        let handle = entry.meta.alloc;
        let mem = &mut srv.mem;
        let Some(rec) = mem.keys.record(handle).copied() else {
            continue;
        };
        let (robj, val) = mem.keys.value_requests(handle, &entry.value);
        let mut new = rec;
        for (slot, want) in [(2usize, robj), (3, val)] {
            let have = mem.heap.usable(rec[slot]);
            let need = if want == 0 {
                0
            } else {
                size_class(want as usize) as u64
            };
            if have != need {
                mem.heap.free(rec[slot]);
                let (a, b) = if want > 0 {
                    mem.heap.alloc(want)
                } else {
                    (Alloc::NONE, 0)
                };
                new[slot] = a;
                back += b;
            }
        }
        let pick = mem.keys.next_random();
        back += touch_record(&mut mem.heap, &new, true, pick);
        mem.keys.records[handle as usize - 1] = new;
    }
    srv.mem.keys.pending = pending;
    srv.mem.keys.pending.clear();
    stall(srv, back);
}

/// Every key of `db` is about to go (FLUSHDB/FLUSHALL, replica load).
pub fn db_emptied(srv: &mut Server, db: usize) {
    flush_pending(srv);
    let handles: Vec<u64> = srv.dbs[db].dict.values().map(|e| e.meta.alloc).collect();
    for h in handles {
        key_removed(srv, h);
    }
}

/// Re-accounts every key from scratch, when the keyspace was replaced
/// without the hooks (loading an RDB into fresh dbs): the cron notices the
/// key count no longer matches.
pub fn rebuild(srv: &mut Server) {
    srv.mem.keys.pending.clear();
    for h in 1..=srv.mem.keys.records.len() as u64 {
        key_removed(srv, h);
    }
    for db in 0..srv.dbs.len() {
        let keys: Vec<Vec<u8>> = srv.dbs[db].dict.keys().cloned().collect();
        for key in keys {
            key_stored(srv, db, &key, None);
        }
    }
}

/// The handle a keyspace entry would be re-sized under (for tests).
pub fn record_bytes(srv: &Server, handle: u64) -> u64 {
    srv.mem
        .keys
        .record(handle)
        .map_or(0, |rec| rec.iter().map(|a| srv.mem.heap.usable(*a)).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sds_requests_follow_the_header_types() {
        assert_eq!(sds_request(5), 7);
        assert_eq!(sds_request(4096), 4102);
        assert_eq!(size_class(sds_request(4096) as usize), 5120);
    }
}
