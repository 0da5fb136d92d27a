//! The compact blobs Redis stores inside RDB strings: listpack (7.0's
//! small hashes, sorted sets and quicklist nodes), ziplist (the older
//! encodings 7.0 still loads) and intset. Decoders check every length
//! against the blob and return Err naming the byte offset inside it.

use crate::util::parse_i64;

const LP_HEADER_BYTES: usize = 6;
const LP_EOF: u8 = 0xff;
/// The header's element count saturates here; the real count is then found
/// by walking the entries.
const LP_COUNT_UNKNOWN: usize = 65535;
const ZL_HEADER_BYTES: usize = 10;

/// Encodes one listpack holding `entries` in order. Strings that are
/// canonical integers take the integer encodings, as lpAppend does.
pub fn lp_encode<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = vec![0u8; LP_HEADER_BYTES];
    let mut count = 0usize;
    for e in entries {
        let start = out.len();
        match parse_i64(e) {
            Some(v) => lp_encode_int(&mut out, v),
            None => lp_encode_str(&mut out, e),
        }
        let entry_len = out.len() - start;
        lp_encode_backlen(&mut out, entry_len);
        count += 1;
    }
    out.push(LP_EOF);
    let total = u32::try_from(out.len()).expect("listpacks stay far below 4 GB");
    out[0..4].copy_from_slice(&total.to_le_bytes());
    out[4..6].copy_from_slice(&(count.min(LP_COUNT_UNKNOWN) as u16).to_le_bytes());
    out
}

/// Bytes one string entry adds to a listpack (encoding, data and backlen),
/// used to size quicklist nodes.
pub fn lp_entry_bytes(e: &[u8]) -> usize {
    let n = match parse_i64(e) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if (-32768..=32767).contains(&v) => 3,
        Some(v) if (-8_388_608..=8_388_607).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None if e.len() < 64 => 1 + e.len(),
        None if e.len() < 4096 => 2 + e.len(),
        None => 5 + e.len(),
    };
    n + backlen_bytes(n)
}

fn lp_encode_int(out: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u16) & 0x1fff;
        out.push(0xc0 | (u >> 8) as u8);
        out.push(u as u8);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xf1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(0xf2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if i32::try_from(v).is_ok() {
        out.push(0xf3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xf4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn lp_encode_str(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.push(0xe0 | (len >> 8) as u8);
        out.push(len as u8);
    } else {
        out.push(0xf0);
        out.extend_from_slice(
            &(u32::try_from(len).expect("listpack entry below 4 GB")).to_le_bytes(),
        );
    }
    out.extend_from_slice(s);
}

fn backlen_bytes(entry_len: usize) -> usize {
    match entry_len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// The entry length in 7-bit groups, most significant first; every byte but
/// the first has its high bit set so a reader walking backwards knows where
/// the group ends.
fn lp_encode_backlen(out: &mut Vec<u8>, entry_len: usize) {
    let n = backlen_bytes(entry_len);
    for k in (0..n).rev() {
        let group = ((entry_len >> (7 * k)) & 0x7f) as u8;
        out.push(if k == n - 1 { group } else { group | 0x80 });
    }
}

fn get<'a>(blob: &'a [u8], at: usize, n: usize, what: &str) -> Result<&'a [u8], String> {
    at.checked_add(n)
        .and_then(|end| blob.get(at..end))
        .ok_or_else(|| format!("{} entry overruns the blob at byte {}", what, at))
}

/// Decodes a listpack into its entries (integers as decimal strings).
pub fn lp_decode(blob: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if blob.len() < LP_HEADER_BYTES + 1 {
        return Err(format!(
            "listpack of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() {
        return Err(format!(
            "listpack header says {} bytes, blob has {}",
            total,
            blob.len()
        ));
    }
    let declared = u16::from_le_bytes(blob[4..6].try_into().expect("2 bytes")) as usize;
    let mut entries = Vec::new();
    let mut at = LP_HEADER_BYTES;
    loop {
        let first = *blob
            .get(at)
            .ok_or_else(|| format!("listpack without terminator at byte {}", at))?;
        if first == LP_EOF {
            break;
        }
        let (value, entry_len) = lp_decode_entry(blob, at)?;
        let n = backlen_bytes(entry_len);
        let mut expected = Vec::with_capacity(n);
        lp_encode_backlen(&mut expected, entry_len);
        if get(blob, at + entry_len, n, "listpack")? != expected.as_slice() {
            return Err(format!(
                "listpack backlen mismatch at byte {}",
                at + entry_len
            ));
        }
        entries.push(value);
        at += entry_len + n;
    }
    if at != blob.len() - 1 {
        return Err(format!("listpack terminator at byte {} before the end", at));
    }
    if declared != LP_COUNT_UNKNOWN && declared != entries.len() {
        return Err(format!(
            "listpack header counts {} entries, found {}",
            declared,
            entries.len()
        ));
    }
    Ok(entries)
}

/// One entry at `at`: its value and the length of encoding plus data.
fn lp_decode_entry(blob: &[u8], at: usize) -> Result<(Vec<u8>, usize), String> {
    let b = blob[at];
    let int = |v: i64, len: usize| Ok((v.to_string().into_bytes(), len));
    let string = |header: usize, len: usize| -> Result<(Vec<u8>, usize), String> {
        let data = get(blob, at + header, len, "listpack")?;
        Ok((data.to_vec(), header + len))
    };
    match b {
        0x00..=0x7f => int(b as i64, 1),
        0x80..=0xbf => string(1, (b & 0x3f) as usize),
        0xc0..=0xdf => {
            let lo = get(blob, at + 1, 1, "listpack")?[0];
            let raw = (((b & 0x1f) as u16) << 8) | lo as u16;
            // Sign-extend the 13-bit two's complement value.
            int(((raw << 3) as i16 >> 3) as i64, 2)
        }
        0xe0..=0xef => {
            let lo = get(blob, at + 1, 1, "listpack")?[0];
            string(2, (((b & 0x0f) as usize) << 8) | lo as usize)
        }
        0xf0 => {
            let len = u32::from_le_bytes(
                get(blob, at + 1, 4, "listpack")?
                    .try_into()
                    .expect("4 bytes"),
            );
            string(5, len as usize)
        }
        0xf1 => int(
            i16::from_le_bytes(get(blob, at + 1, 2, "listpack")?.try_into().expect("2")) as i64,
            3,
        ),
        0xf2 => {
            let d = get(blob, at + 1, 3, "listpack")?;
            int((i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8) as i64, 4)
        }
        0xf3 => int(
            i32::from_le_bytes(get(blob, at + 1, 4, "listpack")?.try_into().expect("4")) as i64,
            5,
        ),
        0xf4 => int(
            i64::from_le_bytes(get(blob, at + 1, 8, "listpack")?.try_into().expect("8")),
            9,
        ),
        _ => Err(format!(
            "listpack invalid encoding 0x{:02x} at byte {}",
            b, at
        )),
    }
}

/// Decodes a ziplist (Redis before 7.0) into its entries.
pub fn zl_decode(blob: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if blob.len() < ZL_HEADER_BYTES + 1 {
        return Err(format!(
            "ziplist of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() || blob[blob.len() - 1] != 0xff {
        return Err(format!(
            "ziplist header says {} bytes, blob has {}",
            total,
            blob.len()
        ));
    }
    let declared = u16::from_le_bytes(blob[8..10].try_into().expect("2 bytes")) as usize;
    let mut entries = Vec::new();
    let mut at = ZL_HEADER_BYTES;
    let mut previous_len = 0usize;
    while blob[at] != 0xff {
        let start = at;
        let prevlen_size = if blob[at] < 254 { 1 } else { 5 };
        let prevlen = match prevlen_size {
            1 => blob[at] as usize,
            _ => {
                u32::from_le_bytes(get(blob, at + 1, 4, "ziplist")?.try_into().expect("4")) as usize
            }
        };
        if blob[at] == 255 || prevlen != previous_len {
            return Err(format!("ziplist prevlen mismatch at byte {}", at));
        }
        at += prevlen_size;
        let (value, len) = zl_decode_payload(blob, at)?;
        at += len;
        if at >= blob.len() {
            return Err(format!("ziplist entry overruns the blob at byte {}", start));
        }
        entries.push(value);
        previous_len = at - start;
    }
    if at != blob.len() - 1 {
        return Err(format!("ziplist terminator at byte {} before the end", at));
    }
    if declared != 65535 && declared != entries.len() {
        return Err(format!(
            "ziplist header counts {} entries, found {}",
            declared,
            entries.len()
        ));
    }
    Ok(entries)
}

/// The encoding and data of a ziplist entry at `at`, and their length.
fn zl_decode_payload(blob: &[u8], at: usize) -> Result<(Vec<u8>, usize), String> {
    let b = *blob
        .get(at)
        .ok_or_else(|| format!("ziplist entry overruns the blob at byte {}", at))?;
    let int = |v: i64, len: usize| Ok((v.to_string().into_bytes(), len));
    let string = |header: usize, len: usize| -> Result<(Vec<u8>, usize), String> {
        Ok((
            get(blob, at + header, len, "ziplist")?.to_vec(),
            header + len,
        ))
    };
    match b {
        0x00..=0x3f => string(1, (b & 0x3f) as usize),
        0x40..=0x7f => {
            let lo = get(blob, at + 1, 1, "ziplist")?[0];
            string(2, (((b & 0x3f) as usize) << 8) | lo as usize)
        }
        0x80 => {
            let len = u32::from_be_bytes(get(blob, at + 1, 4, "ziplist")?.try_into().expect("4"));
            string(5, len as usize)
        }
        0xc0 => int(
            i16::from_le_bytes(get(blob, at + 1, 2, "ziplist")?.try_into().expect("2")) as i64,
            3,
        ),
        0xd0 => int(
            i32::from_le_bytes(get(blob, at + 1, 4, "ziplist")?.try_into().expect("4")) as i64,
            5,
        ),
        0xe0 => int(
            i64::from_le_bytes(get(blob, at + 1, 8, "ziplist")?.try_into().expect("8")),
            9,
        ),
        0xf0 => {
            let d = get(blob, at + 1, 3, "ziplist")?;
            int((i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8) as i64, 4)
        }
        0xfe => int(get(blob, at + 1, 1, "ziplist")?[0] as i8 as i64, 2),
        0xf1..=0xfd => int((b & 0x0f) as i64 - 1, 1),
        _ => Err(format!(
            "ziplist invalid encoding 0x{:02x} at byte {}",
            b, at
        )),
    }
}

/// Encodes an intset: the narrowest width holding every value, values
/// ascending, all little-endian.
pub fn intset_encode(values: &[i64]) -> Vec<u8> {
    let width: usize = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(u32::try_from(sorted.len()).expect("intset count")).to_le_bytes());
    for v in sorted {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// Decodes an intset, checking its width, size and strict ascending order.
pub fn intset_decode(blob: &[u8]) -> Result<Vec<i64>, String> {
    if blob.len() < 8 {
        return Err(format!(
            "intset of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let width = u32::from_le_bytes(blob[0..4].try_into().expect("4")) as usize;
    let count = u32::from_le_bytes(blob[4..8].try_into().expect("4")) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("intset invalid encoding {} at byte 0", width));
    }
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(blob.len()) {
        return Err(format!(
            "intset of {} x {} bytes does not match its {}-byte blob",
            count,
            width,
            blob.len()
        ));
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for (k, chunk) in blob[8..].chunks_exact(width).enumerate() {
        let v = match width {
            2 => i16::from_le_bytes(chunk.try_into().expect("2")) as i64,
            4 => i32::from_le_bytes(chunk.try_into().expect("4")) as i64,
            _ => i64::from_le_bytes(chunk.try_into().expect("8")),
        };
        if out.last().is_some_and(|&prev| prev >= v) {
            return Err(format!(
                "intset not strictly ascending at byte {}",
                8 + k * width
            ));
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_round_trips_every_encoding() {
        let long = vec![b'z'; 5000];
        let mid = vec![b'y'; 300];
        let items: Vec<Vec<u8>> = vec![
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-1".to_vec(),
            b"-4096".to_vec(),
            b"4095".to_vec(),
            b"-4097".to_vec(),
            b"32767".to_vec(),
            b"-32769".to_vec(),
            b"8388607".to_vec(),
            b"-8388609".to_vec(),
            b"2147483647".to_vec(),
            b"-2147483649".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"".to_vec(),
            b"-0".to_vec(),
            b"07".to_vec(),
            b"hello".to_vec(),
            mid,
            long,
        ];
        let blob = lp_encode(items.iter().map(|v| v.as_slice()));
        assert_eq!(lp_decode(&blob).unwrap(), items);
        for it in &items {
            assert_eq!(lp_entry_bytes(it) + 7, lp_encode([it.as_slice()]).len());
        }
    }

    /// A listpack as redis-server 7.0.15 keeps `RPUSH l a 1 300 -5`.
    #[test]
    fn listpack_matches_redis_bytes() {
        let blob = lp_encode([&b"a"[..], b"1", b"300", b"-5"]);
        let expected = [
            0x12, 0, 0, 0, 4, 0, 0x81, b'a', 2, 0x01, 1, 0xc1, 0x2c, 2, 0xdf, 0xfb, 2, 0xff,
        ];
        assert_eq!(blob, expected);
    }

    #[test]
    fn intset_round_trips_each_width() {
        for values in [
            vec![1, -2, 300],
            vec![70_000, -1],
            vec![i64::MIN, 5, i64::MAX],
        ] {
            let mut sorted = values.clone();
            sorted.sort();
            assert_eq!(intset_decode(&intset_encode(&values)).unwrap(), sorted);
        }
        assert_eq!(intset_encode(&[1, 2])[0], 2);
        assert_eq!(intset_encode(&[1, 1 << 20])[0], 4);
        assert_eq!(intset_encode(&[1, 1 << 40])[0], 8);
    }

    #[test]
    fn ziplist_decodes_each_encoding() {
        // zlbytes, zltail, zllen, then entries: "ab", 7 (immediate), -2 (int8),
        // 1000 (int16), 100000 (int24), 1<<40 (int64).
        let mut body = Vec::new();
        let mut prev = 0u8;
        let entries: Vec<Vec<u8>> = vec![
            vec![0x02, b'a', b'b'],
            vec![0xf8],
            vec![0xfe, 0xfe],
            vec![0xc0, 0xe8, 0x03],
            vec![0xf0, 0xa0, 0x86, 0x01],
            [vec![0xe0], (1i64 << 40).to_le_bytes().to_vec()].concat(),
        ];
        for e in &entries {
            body.push(prev);
            body.extend_from_slice(e);
            prev = (e.len() + 1) as u8;
        }
        let total = 10 + body.len() + 1;
        let mut blob = Vec::new();
        blob.extend_from_slice(&(total as u32).to_le_bytes());
        blob.extend_from_slice(&0u32.to_le_bytes());
        blob.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        blob.extend_from_slice(&body);
        blob.push(0xff);
        let got = zl_decode(&blob).unwrap();
        let want: Vec<Vec<u8>> = ["ab", "7", "-2", "1000", "100000", "1099511627776"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let blob = lp_encode([&b"abc"[..], b"12"]);
        for cut in 0..blob.len() {
            assert!(lp_decode(&blob[..cut]).is_err());
        }
        let mut bad = blob.clone();
        bad[6] = 0xf7;
        assert!(lp_decode(&bad).is_err());
        assert!(intset_decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err());
        assert!(intset_decode(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0]).is_err());
    }
}
