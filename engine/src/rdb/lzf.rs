//! LZF, the compression Redis uses for RDB strings (lzf_c.c / lzf_d.c).
//!
//! Written here rather than pulled from crates.io: the format is two opcodes
//! and the engine must stay deterministic and dependency-light. The stream is
//! a sequence of literal runs (`000LLLLL` then L+1 bytes) and back references
//! (`LLLooooo [extra length] oooooooo`: copy L+2 bytes from `offset + 1`
//! bytes back, L = 7 meaning "add the next byte"). Any LZF decoder reads what
//! `compress` writes; the exact bytes need not match liblzf's.

/// A back reference reaches at most this far back (13 offset bits).
const MAX_OFFSET: usize = 1 << 13;
/// Longest back reference: 7 + 255 from the length fields, plus 2.
const MAX_REF_LEN: usize = 264;
/// Longest literal run one control byte announces.
const MAX_LITERAL_RUN: usize = 32;
const HASH_LOG: u32 = 14;

/// The largest output a compressed stream of `compressed_len` bytes can
/// decode to: a 3-byte back reference yields 264 bytes. A declared length
/// beyond it is corrupt, which keeps a forged header from forcing a huge
/// allocation.
pub fn max_decompressed_len(compressed_len: usize) -> usize {
    compressed_len.saturating_mul(MAX_REF_LEN / 3 + 1)
}

/// Compresses `input` into at most `max_out_bytes`; None when the output
/// would not fit (Redis then stores the string verbatim).
pub fn compress(input: &[u8], max_out_bytes: usize) -> Option<Vec<u8>> {
    compress_with(input, max_out_bytes, input.len() > SPARSE_MAX_INPUT)
}

/// Compresses the string `head` followed by `fill` up to `len` bytes without
/// building or scanning it: the output is byte for byte what [`compress`]
/// writes for the materialised string, in time proportional to the head
/// plus the number of back references (len / 264).
pub fn compress_run(head: &[u8], fill: u8, len: usize, max_out_bytes: usize) -> Option<Vec<u8>> {
    assert!(head.len() <= len);
    let src = RunSource { head, fill, len };
    let table = Slots::sparse(head.len() + 8);
    compress_source(&src, max_out_bytes, table)
}

fn compress_with(input: &[u8], max_out_bytes: usize, dense: bool) -> Option<Vec<u8>> {
    let table = if dense {
        Slots::Dense(vec![0; 1 << HASH_LOG])
    } else {
        Slots::sparse(input.len())
    };
    compress_source(&input, max_out_bytes, table)
}

/// The compressor's view of its input. `run_start` is an index from which
/// every byte equals the last one: a match that reaches it runs to the end,
/// and all positions past it share one hash slot, which lets a compact
/// value skip its run without visiting each byte.
trait Source {
    fn len(&self) -> usize;
    fn at(&self, i: usize) -> u8;
    fn run_start(&self) -> usize;
    fn push_slice(&self, from: usize, to: usize, out: &mut Vec<u8>);
}

impl Source for &[u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn at(&self, i: usize) -> u8 {
        self[i]
    }
    fn run_start(&self) -> usize {
        <[u8]>::len(self)
    }
    fn push_slice(&self, from: usize, to: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self[from..to]);
    }
}

struct RunSource<'a> {
    head: &'a [u8],
    fill: u8,
    len: usize,
}

impl Source for RunSource<'_> {
    fn len(&self) -> usize {
        self.len
    }
    fn at(&self, i: usize) -> u8 {
        if i < self.head.len() {
            self.head[i]
        } else {
            self.fill
        }
    }
    fn run_start(&self) -> usize {
        self.head.len()
    }
    fn push_slice(&self, from: usize, to: usize, out: &mut Vec<u8>) {
        for i in from..to {
            out.push(self.at(i));
        }
    }
}

fn trigram<S: Source>(input: &S, i: usize) -> [u8; 3] {
    [input.at(i), input.at(i + 1), input.at(i + 2)]
}

fn compress_source<S: Source>(
    input: &S,
    max_out_bytes: usize,
    mut table: Slots,
) -> Option<Vec<u8>> {
    let n = input.len();
    let run_start = input.run_start();
    let mut out = Vec::with_capacity(max_out_bytes.min(n).min(1 << 16));
    let mut literal_start = 0usize;
    let mut ip = 0usize;
    while ip + 2 < n {
        let slot = hash3(&trigram(input, ip));
        // Entries hold position + 1 so zero means empty.
        let candidate = table.get(slot);
        table.set(slot, ip + 1);
        if candidate > 0 {
            let start = candidate - 1;
            let distance = ip - start;
            if distance <= MAX_OFFSET && trigram(input, start) == trigram(input, ip) {
                let limit = MAX_REF_LEN.min(n - ip);
                let mut len = 3;
                while len < limit {
                    if start + len >= run_start {
                        // Both sides are inside the final run: equal to the end.
                        len = limit;
                        break;
                    }
                    if input.at(start + len) != input.at(ip + len) {
                        break;
                    }
                    len += 1;
                }
                push_literals(&mut out, input, literal_start, ip);
                push_back_reference(&mut out, len, distance - 1);
                if out.len() > max_out_bytes {
                    return None;
                }
                // Index the positions the match covered too, as liblzf does:
                // later data often repeats from inside a match. Positions in
                // the final run all hash alike, so only the last one counts.
                let end = (ip + len).min(n.saturating_sub(2));
                let run_from = run_start.max(ip + 1);
                for p in ip + 1..end.min(run_from) {
                    table.set(hash3(&trigram(input, p)), p + 1);
                }
                if end > run_from {
                    table.set(hash3(&trigram(input, end - 1)), end);
                }
                ip += len;
                literal_start = ip;
                continue;
            }
        }
        ip += 1;
    }
    push_literals(&mut out, input, literal_start, n);
    if out.len() > max_out_bytes {
        return None;
    }
    Some(out)
}

/// Hash slot to last position + 1 (zero: empty). Long inputs use a dense
/// array; short ones a small open-addressed map, so compressing a short
/// string does not zero 16K slots. Lookups agree, so the output is the same.
enum Slots {
    Dense(Vec<usize>),
    Sparse {
        keys: Vec<u16>,
        vals: Vec<usize>,
        mask: usize,
    },
}

/// Inputs up to this length use the sparse map.
const SPARSE_MAX_INPUT: usize = 2048;

impl Slots {
    /// A map for at most `distinct` slots (one per position at most).
    fn sparse(distinct: usize) -> Slots {
        // Load stays at or below half.
        let cap = (2 * distinct).next_power_of_two().max(8);
        Slots::Sparse {
            keys: vec![0; cap],
            vals: vec![0; cap],
            mask: cap - 1,
        }
    }

    /// Index of `slot`'s entry in the sparse map, or of the empty entry
    /// where it would go. Keys are stored as slot + 1 so zero means empty.
    fn probe(keys: &[u16], mask: usize, slot: usize) -> usize {
        let key = slot as u16 + 1;
        let mut i = slot & mask;
        while keys[i] != 0 && keys[i] != key {
            i = (i + 1) & mask;
        }
        i
    }

    fn get(&self, slot: usize) -> usize {
        match self {
            Slots::Dense(t) => t[slot],
            Slots::Sparse { keys, vals, mask } => vals[Self::probe(keys, *mask, slot)],
        }
    }

    fn set(&mut self, slot: usize, value: usize) {
        match self {
            Slots::Dense(t) => t[slot] = value,
            Slots::Sparse { keys, vals, mask } => {
                let i = Self::probe(keys, *mask, slot);
                keys[i] = slot as u16 + 1;
                vals[i] = value;
            }
        }
    }
}

fn hash3(b: &[u8]) -> usize {
    let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

fn push_literals<S: Source>(out: &mut Vec<u8>, input: &S, from: usize, to: usize) {
    let mut at = from;
    while at < to {
        let run = (to - at).min(MAX_LITERAL_RUN);
        out.push((run - 1) as u8);
        input.push_slice(at, at + run, out);
        at += run;
    }
}

fn push_back_reference(out: &mut Vec<u8>, len: usize, offset: usize) {
    assert!((3..=MAX_REF_LEN).contains(&len));
    assert!(offset < MAX_OFFSET);
    let len_code = len - 2;
    let high = (offset >> 8) as u8;
    if len_code < 7 {
        out.push(((len_code as u8) << 5) | high);
    } else {
        out.push((7 << 5) | high);
        out.push((len_code - 7) as u8);
    }
    out.push(offset as u8);
}

/// Decompresses a stream that must expand to exactly `expected_len` bytes.
/// Errors name the offset inside the compressed stream.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, String> {
    if expected_len > max_decompressed_len(input.len()) {
        return Err(format!(
            "LZF length {} impossible for {} compressed bytes",
            expected_len,
            input.len()
        ));
    }
    let mut out: Vec<u8> = Vec::with_capacity(expected_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        let at = ip;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let literals = input
                .get(ip..ip + run)
                .ok_or_else(|| format!("LZF literal run past the end at byte {}", at))?;
            if out.len() + run > expected_len {
                return Err(format!(
                    "LZF output overflows {} bytes at byte {}",
                    expected_len, at
                ));
            }
            out.extend_from_slice(literals);
            ip += run;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += *input
                .get(ip)
                .ok_or_else(|| format!("LZF truncated back reference at byte {}", at))?
                as usize;
            ip += 1;
        }
        let low = *input
            .get(ip)
            .ok_or_else(|| format!("LZF truncated back reference at byte {}", at))?
            as usize;
        ip += 1;
        let distance = (((ctrl & 0x1f) << 8) | low) + 1;
        let len = len + 2;
        if distance > out.len() {
            return Err(format!(
                "LZF back reference before the start at byte {}",
                at
            ));
        }
        if out.len() + len > expected_len {
            return Err(format!(
                "LZF output overflows {} bytes at byte {}",
                expected_len, at
            ));
        }
        let from = out.len() - distance;
        // Byte by byte: a reference may overlap the bytes it produces.
        for k in 0..len {
            let b = out[from + k];
            out.push(b);
        }
    }
    if out.len() != expected_len {
        return Err(format!(
            "LZF stream decodes to {} bytes, expected {}",
            out.len(),
            expected_len
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sparse_and_dense_slots_compress_identically() {
        let mut seed = 7u32;
        for len in [0usize, 1, 3, 20, 100, 777, 2048] {
            for alphabet in [2u32, 4, 26, 256] {
                let input: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        ((seed >> 16) % alphabet) as u8
                    })
                    .collect();
                let dense = super::compress_with(&input, len + 64, true);
                let sparse = super::compress_with(&input, len + 64, false);
                assert_eq!(dense, sparse, "len {} alphabet {}", len, alphabet);
            }
        }
    }

    use super::*;

    fn round_trip(input: &[u8]) {
        let c = compress(input, input.len() * 2 + 64).expect("fits");
        assert_eq!(decompress(&c, input.len()).unwrap(), input);
    }

    #[test]
    fn round_trips() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(&[b'x'; 1000]);
        round_trip(b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc-hello-abcabc");
        let noise: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        round_trip(&noise);
        let mixed: Vec<u8> = (0..20_000u32)
            .map(|i| {
                if i % 700 < 400 {
                    b'q'
                } else {
                    (i * 7 % 251) as u8
                }
            })
            .collect();
        round_trip(&mixed);
    }

    #[test]
    fn compresses_padding_and_refuses_when_it_does_not_fit() {
        let c = compress(&[b'x'; 100], 96).unwrap();
        assert!(c.len() < 10, "{}", c.len());
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz", 22).is_none());
    }

    /// liblzf's shape of output for 34 'a's and a literal tail, as Redis writes it.
    #[test]
    fn decodes_liblzf_output() {
        let stream = [0x00, b'a', 0xe0, 0x18, 0x00, 0x02, b'b', b'c', b'd'];
        let out = decompress(&stream, 1 + 33 + 3).unwrap();
        assert_eq!(&out[..34], &[b'a'; 34][..]);
        assert_eq!(&out[34..], b"bcd");
    }

    /// The run path writes exactly what the plain path writes for the same
    /// bytes, for heads that share bytes with the fill and that do not.
    #[test]
    fn run_compression_matches_plain() {
        let heads: [&[u8]; 6] = [
            b"",
            b"value:17",
            b"c3:991",
            b"xxaxx",
            b"abcabcabcabcabcabcabcabcabcabcabcabcab",
            b"\0\0v\0",
        ];
        for head in heads {
            for fill in [0u8, b'x', b'a'] {
                for len in [
                    head.len(),
                    head.len() + 1,
                    head.len() + 3,
                    64,
                    200,
                    263,
                    264,
                    265,
                    700,
                    4096,
                    10_000,
                    100_000,
                ] {
                    if len < head.len() {
                        continue;
                    }
                    let mut plain = head.to_vec();
                    plain.resize(len, fill);
                    for max in [len + 64, len.saturating_sub(4), 12] {
                        let want = compress(&plain, max);
                        assert_eq!(
                            compress_run(head, fill, len, max),
                            want,
                            "head {:?} fill {} len {}",
                            head,
                            fill,
                            len
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_corrupt_streams() {
        assert!(decompress(&[0x20, 0x00], 3).is_err());
        assert!(decompress(&[0x05, b'a'], 6).is_err());
        assert!(decompress(&[0x00, b'a'], 2).is_err());
        assert!(decompress(&[0x00, b'a'], 1 << 40).is_err());
    }
}
