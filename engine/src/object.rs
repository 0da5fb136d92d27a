//! Values stored in the keyspace, with the encodings Redis 7.0 would pick
//! (listpack/intset/hashtable/quicklist/skiplist) tracked for OBJECT ENCODING,
//! reply order and the memory model.

use indexmap::{IndexMap, IndexSet};
use std::collections::{BTreeSet, VecDeque};

/// The hasher of every keyspace and engine map: foldhash with its fixed seed, so a run hashes
/// the same way everywhere. The maps are IndexMaps (insertion order), so hash values never show
/// in what the engine does; only lookups get faster (SipHash was ~10% of a write-heavy run).
pub type FixedState = foldhash::fast::FixedState;
pub type Map<K, V> = IndexMap<K, V, FixedState>;
pub type Set<K> = IndexSet<K, FixedState>;

/// A sorted set: scores by member, plus an ordered index of (score, member).
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    pub scores: Map<Vec<u8>, f64>,
    pub ordered: BTreeSet<(OrdF64, Vec<u8>)>,
    /// Set once the value outgrew the listpack limits: Redis never converts
    /// a skiplist back to a listpack when it shrinks.
    pub skiplist: bool,
}

/// f64 with a total order (scores are never NaN).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct OrdF64(pub f64);
impl Eq for OrdF64 {}
#[allow(clippy::derive_ord_xor_partial_ord)]
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.partial_cmp(&other.0).expect("scores are never NaN")
    }
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    /// Inserts or updates; returns the previous score.
    pub fn insert(&mut self, member: Vec<u8>, score: f64) -> Option<f64> {
        assert!(!score.is_nan());
        let previous = self.scores.insert(member.clone(), score);
        if let Some(old) = previous {
            self.ordered.remove(&(OrdF64(old), member.clone()));
        }
        self.ordered.insert((OrdF64(score), member));
        previous
    }
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.scores.shift_remove(member)?;
        let removed = self.ordered.remove(&(OrdF64(score), member.to_vec()));
        assert!(removed);
        Some(score)
    }
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }
    /// 0-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(
            self.ordered
                .range(..(OrdF64(score), member.to_vec()))
                .count(),
        )
    }
}

/// A hash: fields in listpack (insertion) order, plus whether Redis would
/// have converted it to a hashtable by now (a one-way conversion).
#[derive(Debug, Clone, Default)]
pub struct HashObj {
    pub fields: Map<Vec<u8>, Vec<u8>>,
    pub hashtable: bool,
}

impl From<Map<Vec<u8>, Vec<u8>>> for HashObj {
    fn from(fields: Map<Vec<u8>, Vec<u8>>) -> HashObj {
        HashObj {
            fields,
            hashtable: false,
        }
    }
}

impl std::ops::Deref for HashObj {
    type Target = Map<Vec<u8>, Vec<u8>>;
    fn deref(&self) -> &Self::Target {
        &self.fields
    }
}

impl std::ops::DerefMut for HashObj {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.fields
    }
}

/// A set, plus whether Redis would have converted it from an intset to a
/// hashtable by now (a one-way conversion).
#[derive(Debug, Clone, Default)]
pub struct SetObj {
    pub members: Set<Vec<u8>>,
    pub hashtable: bool,
}

impl From<Set<Vec<u8>>> for SetObj {
    fn from(members: Set<Vec<u8>>) -> SetObj {
        SetObj {
            members,
            hashtable: false,
        }
    }
}

impl std::ops::Deref for SetObj {
    type Target = Set<Vec<u8>>;
    fn deref(&self) -> &Self::Target {
        &self.members
    }
}

impl std::ops::DerefMut for SetObj {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.members
    }
}

impl SetObj {
    /// Is this set an intset right now (so replies list members sorted)?
    pub fn is_intset(&self, limits: &EncodingLimits) -> bool {
        !self.hashtable
            && self.members.len() <= limits.set_max_intset_entries
            && self.members.iter().all(|m| is_intset_member(m))
    }

    /// Members in the order Redis's iteration yields them where that order is
    /// deterministic: ascending numeric for an intset. A hashtable's order is
    /// Redis's hash order, which redsim cannot reproduce; insertion order
    /// stands in for it.
    pub fn ordered_members(&self, limits: &EncodingLimits) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self.members.iter().cloned().collect();
        if self.is_intset(limits) {
            out.sort_by_key(|m| crate::util::parse_i64(m).expect("intset member"));
        }
        out
    }
}

/// How a string was last created, which decides OBJECT ENCODING the way
/// Redis's object.c does: values set from a client are tried as integers
/// (`Auto`: int, embstr or raw by content), INCRBYFLOAT results are plain
/// strings (`Embstr` up to 44 bytes), and strings modified in place by
/// APPEND or SETRANGE are unshared into `Raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrEncoding {
    #[default]
    Auto,
    Embstr,
    Raw,
}

/// A string value and its encoding; it reads as its bytes.
///
/// Values that are a short head followed by a long run of one byte (DEBUG
/// POPULATE's NUL-padded values, the simulated clients' 'x'-padded ones)
/// are kept compact, as head + fill byte + length, so GB-sized simulated
/// datasets cost little real memory. Every reader still sees the real
/// bytes: the hot paths ([`StrObj::bytes`], [`StrObj::range`], `len`, the RDB
/// writer) work from the compact form; `Deref` materialises lazily, once,
/// for the rare paths that need a plain slice.
#[derive(Debug, Clone, Default)]
pub struct StrObj {
    repr: StrRepr,
    pub encoding: StrEncoding,
}

#[derive(Debug, Clone)]
enum StrRepr {
    Plain(Vec<u8>),
    Run {
        head: Box<[u8]>,
        fill: u8,
        len: usize,
        plain: std::cell::OnceCell<Vec<u8>>,
    },
}

impl Default for StrRepr {
    fn default() -> Self {
        StrRepr::Plain(Vec::new())
    }
}

/// Strings shorter than this stay plain: compacting them saves nothing.
const RUN_MIN_LEN: usize = 128;

/// A compact view of a run-shaped string: all bytes from `head.len()` on
/// are `fill`.
#[derive(Debug, Clone, Copy)]
pub struct RunView<'a> {
    pub head: &'a [u8],
    pub fill: u8,
    pub len: usize,
}

impl RunView<'_> {
    pub fn at(&self, i: usize) -> u8 {
        if i < self.head.len() {
            self.head[i]
        } else {
            self.fill
        }
    }
}

impl StrObj {
    pub fn with_encoding(bytes: Vec<u8>, encoding: StrEncoding) -> StrObj {
        StrObj {
            repr: compact_or_plain(bytes),
            encoding,
        }
    }

    /// A plain value, never compacted (tests compare the two forms).
    pub fn plain(bytes: Vec<u8>) -> StrObj {
        StrObj {
            repr: StrRepr::Plain(bytes),
            encoding: StrEncoding::Auto,
        }
    }

    /// A compact run value without building its bytes: `head` then `fill`
    /// up to `len` bytes (the head is cut if longer than `len`).
    pub fn from_run(head: &[u8], fill: u8, len: usize) -> StrObj {
        let head = &head[..head.len().min(len)];
        if len < RUN_MIN_LEN {
            let mut v = head.to_vec();
            v.resize(len, fill);
            return StrObj::from(v);
        }
        let repr = StrRepr::Run {
            head: head.into(),
            fill,
            len,
            plain: Default::default(),
        };
        StrObj {
            repr,
            encoding: StrEncoding::Auto,
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            StrRepr::Plain(v) => v.len(),
            StrRepr::Run { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The compact form, if this value has one.
    pub fn run(&self) -> Option<RunView<'_>> {
        match &self.repr {
            StrRepr::Plain(_) => None,
            StrRepr::Run {
                head, fill, len, ..
            } => Some(RunView {
                head,
                fill: *fill,
                len: *len,
            }),
        }
    }

    /// The real bytes, built for the caller without keeping a copy.
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        self.range(0, self.len())
    }

    /// Bytes `from..to` (clamped to the length).
    pub fn range(&self, from: usize, to: usize) -> std::borrow::Cow<'_, [u8]> {
        let to = to.min(self.len());
        let from = from.min(to);
        match &self.repr {
            StrRepr::Plain(v) => std::borrow::Cow::Borrowed(&v[from..to]),
            StrRepr::Run { plain, .. } if plain.get().is_some() => {
                std::borrow::Cow::Borrowed(&plain.get().expect("checked")[from..to])
            }
            StrRepr::Run { head, fill, .. } => {
                let mut out = Vec::with_capacity(to - from);
                if from < head.len() {
                    out.extend_from_slice(&head[from..head.len().min(to)]);
                }
                out.resize(to - from, *fill);
                std::borrow::Cow::Owned(out)
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes().into_owned()
    }

    /// Real memory this representation holds (for the large-dataset bench).
    pub fn real_bytes(&self) -> usize {
        match &self.repr {
            StrRepr::Plain(v) => v.capacity(),
            StrRepr::Run { head, plain, .. } => {
                head.len() + plain.get().map_or(0, |p| p.capacity())
            }
        }
    }
}

/// Keeps `bytes` compact when it is a short head and a long run of its
/// last byte. The check scans only the trailing run and stops at the first
/// other byte.
fn compact_or_plain(bytes: Vec<u8>) -> StrRepr {
    if bytes.len() < RUN_MIN_LEN {
        return StrRepr::Plain(bytes);
    }
    let fill = bytes[bytes.len() - 1];
    let head_len = bytes.iter().rposition(|&b| b != fill).map_or(0, |i| i + 1);
    if bytes.len() - head_len < bytes.len() / 2 || bytes.len() - head_len < RUN_MIN_LEN / 2 {
        return StrRepr::Plain(bytes);
    }
    let head: Box<[u8]> = bytes[..head_len].into();
    StrRepr::Run {
        head,
        fill,
        len: bytes.len(),
        plain: Default::default(),
    }
}

impl PartialEq for StrObj {
    fn eq(&self, other: &StrObj) -> bool {
        self.encoding == other.encoding
            && self.len() == other.len()
            && self.bytes() == other.bytes()
    }
}
impl Eq for StrObj {}

impl From<Vec<u8>> for StrObj {
    fn from(bytes: Vec<u8>) -> StrObj {
        StrObj::with_encoding(bytes, StrEncoding::Auto)
    }
}

impl std::ops::Deref for StrObj {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.repr {
            StrRepr::Plain(v) => v,
            StrRepr::Run { plain, .. } => {
                plain.get_or_init(|| self.range(0, self.len()).into_owned())
            }
        }
    }
}

/// The header bits Redis's robj keeps beside a value: the LRU clock or LFU
/// counter (evict.rs) and where the key's allocations sit on the simulated
/// pages (memory/).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyMeta {
    /// 24 bits: LRU clock (seconds) or LFU (16-bit minutes, 8-bit counter).
    pub lru: u32,
    /// The memory model's handle for the key's allocations.
    pub alloc: u64,
}

/// One keyspace entry: a value and its header; it reads as its value.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    pub meta: KeyMeta,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry {
            value,
            meta: KeyMeta::default(),
        }
    }
}

impl std::ops::Deref for Entry {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.value
    }
}

impl std::ops::DerefMut for Entry {
    fn deref_mut(&mut self) -> &mut Value {
        &mut self.value
    }
}

/// A keyspace value.
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrObj),
    List(VecDeque<Vec<u8>>),
    Hash(HashObj),
    Set(SetObj),
    ZSet(ZSet),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// Number of elements (1 for strings), the unit of work for O(N) costs.
    pub fn element_count(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.len(),
            Value::Hash(h) => h.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
        }
    }

    /// Approximate bytes of payload, for the memory model and the RDB size.
    pub fn payload_bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::List(l) => l.iter().map(|e| e.len() + 2).sum(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len() + 4).sum(),
            Value::Set(s) => s.iter().map(|e| e.len() + 2).sum(),
            Value::ZSet(z) => z.scores.keys().map(|m| m.len() + 10).sum(),
        }
    }
}

/// Encoding thresholds from the config (the *-max-listpack-* family).
#[derive(Debug, Clone, Copy)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub list_max_listpack_size: i64,
}

/// Is this member representable in an intset (a canonical i64)?
pub fn is_intset_member(m: &[u8]) -> bool {
    crate::util::parse_i64(m).is_some()
}

/// What OBJECT ENCODING would say for this value right now: the compact
/// encoding unless the content exceeds its limits or the value was already
/// converted (the `hashtable`/`skiplist` flags, since Redis never converts
/// back when a value shrinks).
pub fn encoding_of(v: &Value, limits: &EncodingLimits) -> &'static str {
    match v {
        Value::Str(s) => match s.encoding {
            StrEncoding::Raw => "raw",
            StrEncoding::Auto if s.len() <= 20 && crate::util::parse_i64(s).is_some() => "int",
            _ if s.len() <= 44 => "embstr",
            _ => "raw",
        },
        Value::List(_) => "quicklist",
        Value::Hash(h) => {
            if hash_is_listpack(h, limits) {
                "listpack"
            } else {
                "hashtable"
            }
        }
        Value::Set(s) => {
            if s.is_intset(limits) {
                "intset"
            } else {
                "hashtable"
            }
        }
        Value::ZSet(z) => {
            if zset_is_listpack(z, limits) {
                "listpack"
            } else {
                "skiplist"
            }
        }
    }
}

fn hash_is_listpack(h: &HashObj, limits: &EncodingLimits) -> bool {
    !h.hashtable
        && h.len() <= limits.hash_max_listpack_entries
        && h.iter().all(|(k, v)| {
            k.len() <= limits.hash_max_listpack_value && v.len() <= limits.hash_max_listpack_value
        })
}

fn zset_is_listpack(z: &ZSet, limits: &EncodingLimits) -> bool {
    !z.skiplist
        && z.len() <= limits.zset_max_listpack_entries
        && z.scores
            .keys()
            .all(|m| m.len() <= limits.zset_max_listpack_value)
}

impl Value {
    /// Records a one-way conversion to the big encoding once the content
    /// exceeds the compact encoding's limits; call after every write.
    pub fn note_encoding(&mut self, limits: &EncodingLimits) {
        match self {
            Value::Hash(h) if !h.hashtable => h.hashtable = !hash_is_listpack(h, limits),
            Value::Set(s) if !s.hashtable => s.hashtable = !s.is_intset(limits),
            Value::ZSet(z) if !z.skiplist => z.skiplist = !zset_is_listpack(z, limits),
            _ => {}
        }
    }
}
