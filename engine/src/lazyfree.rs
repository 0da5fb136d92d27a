//! Lazy freeing (src/lazyfree.c): UNLINK, FLUSHALL/FLUSHDB ASYNC and the
//! lazyfree-lazy-* options hand big values to the BIO_LAZY_FREE thread, so
//! the main thread pays only for unlinking them; freeing synchronously costs
//! the main thread time proportional to the elements.
//!
//! The bio thread is modelled inside the engine: jobs run one after another,
//! each for its freeing time, starting when the thread is free. A job counts
//! in lazyfree_pending_objects until its finishing time has passed on the
//! node's clock.

use std::collections::VecDeque;

use crate::cost;
use crate::object::Value;
use crate::server::Server;

/// Values with a free effort at most this are freed at once even when lazy.
pub const LAZYFREE_THRESHOLD: usize = 64;

#[derive(Debug, Clone)]
struct Job {
    /// Objects the job frees (1 for a value, the key count for a db).
    objects: u64,
    /// Bytes the job still holds until it is done.
    bytes: u64,
    /// Node clock (µs) at which the bio thread finishes it.
    done_us: u64,
}

#[derive(Debug, Clone, Default)]
pub struct LazyfreeState {
    jobs: VecDeque<Job>,
    /// Objects freed by finished jobs already reaped (lazyfreed_objects).
    freed_objects: u64,
    /// When the bio thread finishes its queue (node clock, µs).
    busy_until_us: u64,
    /// Total CPU the bio thread spent freeing, µs.
    pub bio_cpu_us: u64,
}

/// lazyfreeGetFreeEffort: allocations to free. A list frees one per
/// quicklist node; listpack and intset encodings are one allocation.
pub fn free_effort(srv: &Server, value: &Value) -> usize {
    match value {
        Value::Str(_) => 1,
        Value::List(l) => {
            let bytes: usize = l.iter().map(|e| e.len() + 2).sum();
            bytes / 8192 + 1
        }
        Value::Set(_) | Value::Hash(_) | Value::ZSet(_) => {
            match crate::object::encoding_of(value, &crate::debug::encoding_limits(srv)) {
                "hashtable" | "skiplist" => value.element_count(),
                _ => 1,
            }
        }
    }
}

/// Frees a value removed from the keyspace: on the bio thread if `lazy` and
/// it is big enough (freeObjAsync), else now on the main thread.
pub fn free_value(srv: &mut Server, value: Value, lazy: bool) {
    if lazy && free_effort(srv, &value) > LAZYFREE_THRESHOLD {
        let bytes = crate::memory::value_bytes(&value) as u64;
        let work_ns = cost::FREE_ELEMENT_NS * value.element_count() as u64;
        enqueue(srv, 1, bytes, work_ns);
    } else {
        srv.cost.free_elements(value.element_count());
    }
}

/// The work of freeing one key and its value: the key's own allocations
/// plus one free per further element of a collection.
pub fn key_free_ns(value: &Value) -> u64 {
    cost::FREE_KEY_NS + cost::FREE_ELEMENT_NS * (value.element_count() as u64).saturating_sub(1)
}

/// The work of freeing a whole db (dictEmpty, or the bio job of emptyDbAsync).
pub fn db_free_ns(db: &crate::db::Db) -> u64 {
    db.dict.values().map(|e| key_free_ns(e)).sum()
}

/// emptyDbAsync: the whole dict goes to the bio thread in one job that
/// counts its keys as pending objects.
pub fn free_db_async(srv: &mut Server, db: crate::db::Db) {
    let objects = db.dict.len() as u64;
    let bytes: u64 = db
        .dict
        .iter()
        .map(|(k, v)| crate::memory::key_usage_bytes(k, v) as u64)
        .sum();
    let work_ns = db_free_ns(&db);
    enqueue(srv, objects, bytes, work_ns);
}

/// Hands a job to the bio thread, which starts it when it is free.
fn enqueue(srv: &mut Server, objects: u64, bytes: u64, work_ns: u64) {
    let work_us = work_ns.div_ceil(1000);
    let start = srv.lazyfree.busy_until_us.max(srv.now_us);
    let done_us = start + work_us;
    srv.lazyfree.busy_until_us = done_us;
    srv.lazyfree.bio_cpu_us += work_us;
    srv.lazyfree.jobs.push_back(Job {
        objects,
        bytes,
        done_us,
    });
    // The main thread only queues the job (bioCreateLazyFreeJob).
    srv.cost.add_ns(cost::BIO_JOB_SUBMIT_NS);
}

/// lazyfree_pending_objects: objects of jobs the bio thread has not finished.
pub fn pending_objects(srv: &Server) -> u64 {
    srv.lazyfree
        .jobs
        .iter()
        .filter(|j| j.done_us > srv.now_us)
        .map(|j| j.objects)
        .sum()
}

/// lazyfreed_objects: objects the bio thread has freed.
pub fn freed_objects(srv: &Server) -> u64 {
    srv.lazyfree.freed_objects
        + srv
            .lazyfree
            .jobs
            .iter()
            .filter(|j| j.done_us <= srv.now_us)
            .map(|j| j.objects)
            .sum::<u64>()
}

/// Bytes still held by unfinished jobs: used_memory includes them until the
/// bio thread releases them.
pub fn pending_bytes(srv: &Server) -> u64 {
    srv.lazyfree
        .jobs
        .iter()
        .filter(|j| j.done_us > srv.now_us)
        .map(|j| j.bytes)
        .sum()
}

/// Are there jobs the bio thread has not finished (bioPendingJobsOfType)?
pub fn has_pending_jobs(srv: &Server) -> bool {
    srv.lazyfree.jobs.iter().any(|j| j.done_us > srv.now_us)
}

/// When the bio thread's queue runs dry, if it has unfinished jobs.
pub fn last_job_done_us(srv: &Server) -> Option<u64> {
    has_pending_jobs(srv).then_some(srv.lazyfree.busy_until_us)
}

/// Forgets finished jobs, keeping their count (called from serverCron).
pub fn reap(srv: &mut Server) {
    let now = srv.now_us;
    while srv.lazyfree.jobs.front().is_some_and(|j| j.done_us <= now) {
        let job = srv.lazyfree.jobs.pop_front().expect("checked");
        srv.lazyfree.freed_objects += job.objects;
    }
}

/// CONFIG RESETSTAT (lazyfreeResetStats).
pub fn reset_stats(srv: &mut Server) {
    reap(srv);
    srv.lazyfree.freed_objects = 0;
}
