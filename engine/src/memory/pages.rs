//! The simulated heap: a jemalloc-like allocator that hands out addresses
//! (small size classes carved from slabs of 4 KiB pages, large allocations
//! on page runs of their own, freed slots reused last-in first-out), and the
//! OS pages under it (4 KiB, or 2 MiB with transparent huge pages) with
//! their state: resident or swapped, shared with a forked child, copied.
//!
//! Nothing here holds the bytes themselves: an address is a number, a page
//! is one byte of flags, so a 4 GB simulated heap costs about 1 MB.

use std::collections::BTreeMap;

/// The allocator's page (jemalloc's LG_PAGE = 12), whatever the OS page.
pub const ALLOC_PAGE: u64 = 4096;
/// Larger allocations get their own page runs (SC_SMALL_MAXCLASS).
const SMALL_MAX: u64 = 14336;
const ADDR_BITS: u32 = 40;

/// The page was touched at least once: it counts in RSS unless swapped.
const MAPPED: u8 = 1;
const SWAPPED: u8 = 2;
/// Shared with the forked child and not yet written since the fork.
const SHARED: u8 = 4;
/// Touched since the swap clock last passed (the clock's second chance).
const REFERENCED: u8 = 8;

/// One allocation: its address (low 40 bits) and a size code (high bits:
/// small class index + 1, or 64 + pages of a large run). Zero is "none".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Alloc(pub u64);

impl Alloc {
    pub const NONE: Alloc = Alloc(0);
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
    pub fn addr(self) -> u64 {
        self.0 & ((1 << ADDR_BITS) - 1)
    }
    fn code(self) -> u64 {
        self.0 >> ADDR_BITS
    }
}

/// One small size class: its slabs' free slots (LIFO) and the slab being
/// carved.
#[derive(Debug, Clone)]
struct Class {
    size: u64,
    slab_bytes: u64,
    free: Vec<u64>,
    bump: u64,
    end: u64,
}

#[derive(Debug, Clone)]
pub struct Heap {
    page_shift: u32,
    pages: Vec<u8>,
    classes: Vec<Class>,
    /// Next never-used allocator page.
    next_page: u64,
    /// Freed large runs by length in pages (LIFO per length).
    large_free: BTreeMap<u64, Vec<u64>>,
    free_run_pages: u64,
    /// Bytes allocated, in size classes (zmalloc_used_memory).
    pub allocated: u64,
    /// OS pages resident / in swap / copied since the fork.
    pub resident: u64,
    pub swapped: u64,
    pub copied: u64,
    /// 4 KiB pages brought back from swap by main-loop touches, ever.
    pub swap_ins: u64,
    hand: usize,
}

/// jemalloc's small size classes: 8, 16, 32 ... 128 by 16, then four per
/// doubling up to 14336.
fn small_classes() -> Vec<u64> {
    let mut out = vec![8];
    out.extend((1..=8).map(|i| i * 16));
    let mut base = 128;
    while base < SMALL_MAX {
        for i in 1..=4 {
            let size = base + i * base / 4;
            if size <= SMALL_MAX {
                out.push(size);
            }
        }
        base *= 2;
    }
    out
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Heap {
    pub fn new(thp: bool) -> Heap {
        let classes = small_classes()
            .into_iter()
            .map(|size| {
                // A slab is the smallest page multiple the class divides.
                let slab_bytes = size / gcd(size, ALLOC_PAGE) * ALLOC_PAGE;
                Class {
                    size,
                    slab_bytes,
                    free: Vec::new(),
                    bump: 0,
                    end: 0,
                }
            })
            .collect();
        Heap {
            page_shift: if thp { 21 } else { 12 },
            pages: Vec::new(),
            classes,
            // Page 0 stays unused so that no allocation is Alloc(0).
            next_page: 1,
            large_free: BTreeMap::new(),
            free_run_pages: 0,
            allocated: 0,
            resident: 0,
            swapped: 0,
            copied: 0,
            swap_ins: 0,
            hand: 0,
        }
    }

    pub fn page_bytes(&self) -> u64 {
        1 << self.page_shift
    }

    /// The bytes an allocation of `n` takes (its size class).
    pub fn usable(&self, a: Alloc) -> u64 {
        match a.code() {
            0 => 0,
            c if c <= 64 => self.classes[c as usize - 1].size,
            c => (c - 64) * ALLOC_PAGE,
        }
    }

    /// Allocates `n` bytes (at least one) and writes them: the pages become
    /// resident. Returns the allocation and the 4 KiB pages swapped back in.
    pub fn alloc(&mut self, n: u64) -> (Alloc, u64) {
        let class = super::size_class(n.max(1) as usize) as u64;
        let (addr, code, size) = if class <= SMALL_MAX {
            let idx = self.classes.partition_point(|c| c.size < class);
            (
                self.alloc_small(idx),
                idx as u64 + 1,
                self.classes[idx].size,
            )
        } else {
            let pages = class.div_ceil(ALLOC_PAGE);
            let start = match self.large_free.get_mut(&pages).and_then(|v| v.pop()) {
                Some(start) => {
                    self.free_run_pages -= pages;
                    start
                }
                None => {
                    let start = self.next_page;
                    self.next_page += pages;
                    start
                }
            };
            (start * ALLOC_PAGE, 64 + pages, pages * ALLOC_PAGE)
        };
        assert!(
            addr < 1 << ADDR_BITS && code < 1 << (64 - ADDR_BITS),
            "simulated heap overflow"
        );
        self.allocated += size;
        let swapped_in = self.touch(addr, size, true);
        (Alloc(code << ADDR_BITS | addr), swapped_in)
    }

    fn alloc_small(&mut self, idx: usize) -> u64 {
        if let Some(addr) = self.classes[idx].free.pop() {
            return addr;
        }
        let c = &mut self.classes[idx];
        if c.bump + c.size > c.end {
            c.bump = self.next_page * ALLOC_PAGE;
            c.end = c.bump + c.slab_bytes;
            self.next_page += c.slab_bytes / ALLOC_PAGE;
        }
        let addr = c.bump;
        c.bump += c.size;
        addr
    }

    /// Frees an allocation. Freeing writes nothing on the page (jemalloc
    /// keeps its metadata elsewhere), so it copies nothing after a fork.
    pub fn free(&mut self, a: Alloc) {
        match a.code() {
            0 => {}
            c if c <= 64 => {
                let class = &mut self.classes[c as usize - 1];
                self.allocated -= class.size;
                class.free.push(a.addr());
            }
            c => {
                let pages = c - 64;
                self.allocated -= pages * ALLOC_PAGE;
                self.large_free
                    .entry(pages)
                    .or_default()
                    .push(a.addr() / ALLOC_PAGE);
                self.free_run_pages += pages;
            }
        }
    }

    /// The main loop reads or writes `len` bytes at `addr`: swapped pages
    /// come back (returned, in 4 KiB pages: the stall), new pages become
    /// resident, and a write to a page shared with the child copies it.
    pub fn touch(&mut self, addr: u64, len: u64, write: bool) -> u64 {
        let first = (addr >> self.page_shift) as usize;
        let last = ((addr + len.max(1) - 1) >> self.page_shift) as usize;
        if self.pages.len() <= last {
            self.pages.resize(last + 1, 0);
        }
        let mut swapped_in = 0;
        for p in first..=last {
            let flags = self.pages[p];
            let mut new = flags | MAPPED | REFERENCED;
            if flags & SWAPPED != 0 {
                new &= !SWAPPED;
                self.swapped -= 1;
                self.resident += 1;
                swapped_in += self.page_bytes() / ALLOC_PAGE;
            } else if flags & MAPPED == 0 {
                self.resident += 1;
            }
            if write && flags & SHARED != 0 {
                new &= !SHARED;
                self.copied += 1;
            }
            self.pages[p] = new;
        }
        self.swap_ins += swapped_in;
        swapped_in
    }

    /// fork(): every page the process has is now shared with the child.
    pub fn share_all(&mut self) {
        for f in self.pages.iter_mut() {
            if *f & MAPPED != 0 {
                *f |= SHARED;
            }
        }
        self.copied = 0;
    }

    /// The child exited: nothing is shared any more. Returns the bytes
    /// the parent's writes copied.
    pub fn unshare_all(&mut self) -> u64 {
        for f in self.pages.iter_mut() {
            *f &= !SHARED;
        }
        let copied = self.copied * self.page_bytes();
        self.copied = 0;
        copied
    }

    /// Moves up to `bytes` of resident pages to swap, least recently used
    /// first by a clock with second chances. The clock goes round at most
    /// twice, so a call costs the pages it passes, not a scan of all pages
    /// each time. Returns the bytes moved.
    pub fn swap_out(&mut self, bytes: u64) -> u64 {
        let want = bytes.div_ceil(self.page_bytes());
        let mut moved = 0;
        let mut budget = 2 * self.pages.len();
        while moved < want && budget > 0 && self.resident > 0 {
            budget -= 1;
            let p = self.hand;
            self.hand = (self.hand + 1) % self.pages.len();
            let flags = self.pages[p];
            if flags & MAPPED == 0 || flags & SWAPPED != 0 {
                continue;
            }
            if flags & REFERENCED != 0 {
                self.pages[p] = flags & !REFERENCED;
                continue;
            }
            self.pages[p] = flags | SWAPPED;
            self.resident -= 1;
            self.swapped += 1;
            moved += 1;
        }
        moved * self.page_bytes()
    }

    /// Bytes of allocator pages in use (jemalloc's "active"): every page
    /// handed to a slab or a large run, less the free large runs.
    pub fn active_bytes(&self) -> u64 {
        (self.next_page - 1 - self.free_run_pages) * ALLOC_PAGE
    }

    pub fn rss_bytes(&self) -> u64 {
        self.resident * self.page_bytes()
    }

    pub fn swapped_bytes(&self) -> u64 {
        self.swapped * self.page_bytes()
    }

    pub fn copied_bytes(&self) -> u64 {
        self.copied * self.page_bytes()
    }

    /// The allocator's pages of `a` (for touching all of a small value or
    /// one page of a big one).
    pub fn span_pages(&self, a: Alloc) -> u64 {
        self.usable(a).div_ceil(ALLOC_PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_slabs_like_jemalloc() {
        let h = Heap::new(false);
        let sizes: Vec<u64> = h.classes.iter().map(|c| c.size).collect();
        assert_eq!(
            &sizes[..12],
            &[8, 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224]
        );
        assert_eq!(*sizes.last().unwrap(), 14336);
        for n in [1usize, 17, 129, 1000, 4102, 14336] {
            assert!(
                sizes.contains(&(super::super::size_class(n) as u64)),
                "{}",
                n
            );
        }
        let slab = |s: u64| h.classes.iter().find(|c| c.size == s).unwrap().slab_bytes;
        assert_eq!(
            (slab(8), slab(48), slab(5120), slab(14336)),
            (4096, 3 * 4096, 5 * 4096, 7 * 4096)
        );
    }

    #[test]
    fn frees_are_reused_last_in_first_out() {
        let mut h = Heap::new(false);
        let a = h.alloc(40).0;
        let b = h.alloc(40).0;
        assert_eq!(b.addr(), a.addr() + 48);
        h.free(a);
        h.free(b);
        assert_eq!(h.alloc(33).0, b);
        assert_eq!(h.alloc(48).0, a);
        let big = h.alloc(100_000).0;
        assert_eq!(h.usable(big), 114_688);
        h.free(big);
        assert_eq!(h.alloc(100_000).0, big);
        assert_eq!(h.allocated, 48 * 2 + 114_688);
    }

    #[test]
    fn writes_copy_shared_pages_once_and_reads_never() {
        let mut h = Heap::new(false);
        let allocs: Vec<Alloc> = (0..1000).map(|_| h.alloc(64).0).collect();
        assert_eq!(h.resident, 16);
        h.share_all();
        h.touch(allocs[0].addr(), 64, false);
        assert_eq!(h.copied, 0);
        h.touch(allocs[0].addr(), 64, true);
        h.touch(allocs[1].addr(), 64, true);
        assert_eq!(h.copied, 1);
        assert_eq!(h.unshare_all(), 4096);
        h.touch(allocs[999].addr(), 64, true);
        assert_eq!(h.copied, 0);
    }

    #[test]
    fn swap_clock_prefers_unreferenced_pages_and_touch_brings_them_back() {
        let mut h = Heap::new(false);
        let allocs: Vec<Alloc> = (0..4).map(|_| h.alloc(4096).0).collect();
        let resident = h.resident;
        // Every page is referenced: the first pass clears, the second moves.
        assert_eq!(h.swap_out(4096), 4096);
        assert_eq!((h.resident, h.swapped), (resident - 1, 1));
        let before = h.swap_ins;
        let mut back = 0;
        for a in &allocs {
            back += h.touch(a.addr(), 4096, false);
        }
        assert_eq!((back, h.swap_ins - before, h.swapped), (1, 1, 0));
    }
}
