//! The world's event queue: a radix heap on virtual time.
//!
//! Events pop in (time, sequence) order, exactly as from a binary heap ordered that way. Virtual
//! time never goes back (every event is scheduled at or after the time of the last one popped),
//! which a radix heap exploits: an event waits in the bucket of the highest bit in which its
//! time differs from the last popped time, and moves to a lower bucket at most once per bit,
//! so a push is O(1) and a pop amortised O(1) instead of a heap's O(log n) sift through
//! thousands of pending timeouts. Events of one instant leave in sequence order.

use std::collections::VecDeque;

/// An event with its time and its scheduling sequence number.
pub(crate) struct Scheduled<E> {
    pub t_us: u64,
    pub seq: u64,
    pub ev: E,
}

pub(crate) struct EventQueue<E> {
    /// The time of the last event moved to `now` (no pending event is earlier).
    last: u64,
    /// Events at time `last`, by sequence number.
    now: VecDeque<Scheduled<E>>,
    /// buckets[b]: events whose time differs from `last` first in bit b (from 0).
    buckets: Vec<Vec<Scheduled<E>>>,
    /// Bit b set: buckets[b] is not empty.
    occupied: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            last: 0,
            now: VecDeque::new(),
            buckets: (0..64).map(|_| Vec::new()).collect(),
            occupied: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Adds an event. Its time must not be earlier than any popped event's, and its sequence
    /// number must be greater than every queued one's.
    pub fn push(&mut self, s: Scheduled<E>) {
        assert!(s.t_us >= self.last, "an event scheduled in the past");
        if s.t_us == self.last {
            self.now.push_back(s);
        } else {
            let b = bucket(s.t_us, self.last);
            self.buckets[b].push(s);
            self.occupied |= 1 << b;
        }
    }

    /// Removes and returns the earliest event if its time is at most `limit_us`.
    pub fn pop_until(&mut self, limit_us: u64) -> Option<Scheduled<E>> {
        if self.now.is_empty() {
            if self.occupied == 0 {
                return None;
            }
            let b = self.occupied.trailing_zeros() as usize;
            let min = self.buckets[b]
                .iter()
                .map(|s| s.t_us)
                .min()
                .expect("a non-empty bucket");
            if min > limit_us {
                return None;
            }
            self.last = min;
            self.occupied &= !(1 << b);
            let mut moving = std::mem::take(&mut self.buckets[b]);
            // `now` is empty: it takes the events at the new time, then sorts them.
            for s in moving.drain(..) {
                if s.t_us == min {
                    self.now.push_back(s);
                } else {
                    let to = bucket(s.t_us, min);
                    assert!(to < b);
                    self.buckets[to].push(s);
                    self.occupied |= 1 << to;
                }
            }
            // Keep the bucket's allocation for the events to come.
            self.buckets[b] = moving;
            if self.now.len() > 1 {
                self.now.make_contiguous().sort_unstable_by_key(|s| s.seq);
            }
        } else if self.last > limit_us {
            return None;
        }
        self.now.pop_front()
    }
}

/// The index of the highest bit in which `t` differs from `last` (t != last).
fn bucket(t: u64, last: u64) -> usize {
    63 - (t ^ last).leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BinaryHeap;

    /// The queue pops what a binary heap ordered by (time, sequence) pops, when events are
    /// scheduled at or after the current time, in bursts, with limits in between.
    #[test]
    fn pops_in_time_then_sequence_order_like_a_heap() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut queue = EventQueue::default();
        let mut heap = BinaryHeap::new();
        let (mut now, mut seq) = (0u64, 0u64);
        for _round in 0..2_000 {
            for _ in 0..rng.gen_range(0..6) {
                let t = now
                    + match rng.gen_range(0..4) {
                        0 => 0,
                        1 => rng.gen_range(0..3),
                        2 => rng.gen_range(0..1_000),
                        _ => rng.gen_range(0..10_000_000),
                    };
                seq += 1;
                queue.push(Scheduled {
                    t_us: t,
                    seq,
                    ev: (),
                });
                heap.push(std::cmp::Reverse((t, seq)));
            }
            let limit = now + rng.gen_range(0..2_000);
            // As World::run_until_pred: stop at the limit (time moves to it) or early.
            loop {
                let expect = heap.peek().filter(|r| r.0 .0 <= limit).map(|r| r.0);
                let got = queue.pop_until(limit).map(|s| (s.t_us, s.seq));
                assert_eq!(got, expect);
                let Some((t, _)) = got else {
                    now = now.max(limit);
                    break;
                };
                heap.pop();
                now = t;
                if rng.gen_bool(0.3) {
                    break;
                }
            }
        }
    }
}
