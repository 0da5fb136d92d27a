//! Sizes with Redis units, parsed the way Redis's memtoll() reads redis.conf.
//!
//! "1mb" is 1024 * 1024 bytes and "1m" is 1000 * 1000 bytes, case-insensitive, so a size in a
//! scenario file means exactly what the same text means in the redis.conf lines beside it.

/// Parses a size: bare bytes, or a number followed by b, k, kb, m, mb, g or gb.
///
/// Unlike memtoll, an empty number ("mb") and a negative size are errors: a scenario that
/// writes them has a typo, and silently reading 0 would hide it.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    // An empty number ("mb") would read as 0 through memtoll: refuse it.
    if !trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(size_error(text));
    }
    match redsim_engine::config::parse_memory(trimmed) {
        Some(bytes) if bytes >= 0 => Ok(bytes as u64),
        _ => Err(size_error(text)),
    }
}

fn size_error(text: &str) -> String {
    format!(
        "'{}' is not a size (bytes, or a number with k, kb, m, mb, g or gb)",
        text
    )
}

/// Formats a byte count with the largest Redis unit that divides it exactly ("4gb", "512kb").
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "gb"), (1 << 20, "mb"), (1 << 10, "kb")];
    for (size, unit) in UNITS {
        if bytes != 0 && bytes.is_multiple_of(size) {
            return format!("{}{}", bytes / size, unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_memtoll() {
        assert_eq!(parse_size("1mb"), Ok(1 << 20));
        assert_eq!(parse_size("1MB"), Ok(1 << 20));
        assert_eq!(parse_size("1m"), Ok(1_000_000));
        assert_eq!(parse_size("512kb"), Ok(512 * 1024));
        assert_eq!(parse_size("2k"), Ok(2000));
        assert_eq!(parse_size("4gb"), Ok(4 << 30));
        assert_eq!(parse_size("3g"), Ok(3_000_000_000));
        assert_eq!(parse_size("100"), Ok(100));
        assert_eq!(parse_size("100b"), Ok(100));
        assert!(parse_size("lots").is_err());
    }

    /// What redis-server 7.0.15 stored for `CONFIG SET maxmemory <text>` (CONFIG GET maxmemory).
    #[test]
    fn units_match_redis_7_0_15() {
        let measured: &[(&str, u64)] = &[
            ("1k", 1000),
            ("1kb", 1024),
            ("1K", 1000),
            ("1KB", 1024),
            ("1m", 1_000_000),
            ("1mb", 1_048_576),
            ("1M", 1_000_000),
            ("1g", 1_000_000_000),
            ("1gb", 1_073_741_824),
            ("3G", 3_000_000_000),
            ("100", 100),
            ("100b", 100),
            ("1B", 1),
            ("0", 0),
        ];
        for (text, bytes) in measured {
            assert_eq!(parse_size(text), Ok(*bytes), "{}", text);
        }
        assert!(parse_size("mb").is_err());
        assert!(parse_size("-1mb").is_err());
        assert!(parse_size("1.5gb").is_err());
        assert!(parse_size("1tb").is_err());
        assert!(parse_size("99999999999999999999gb").is_err());
    }

    #[test]
    fn format_round_trips() {
        for bytes in [0u64, 1, 1000, 1024, 512 * 1024, 1 << 20, 4 << 30, 1234567] {
            assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
        }
    }
}
