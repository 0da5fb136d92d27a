//! Number parsing and formatting with Redis's exact rules (util.c).

use crate::resp::parse_i64_strict;

/// string2ll: Redis's strict integer parse.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    parse_i64_strict(s)
}

/// string2ld / strtold-based parse used by INCRBYFLOAT and ZADD scores:
/// accepts what C's strtod accepts over the whole string, rejects NaN and
/// leading/trailing spaces. "inf", "+inf", "-inf" are accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty()
        || text.starts_with(|c: char| c.is_whitespace())
        || text.ends_with(|c: char| c.is_whitespace())
    {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let value = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            if lower.starts_with("0x") || lower.starts_with("-0x") || lower.starts_with("+0x") {
                return None;
            }
            lower.parse::<f64>().ok()?
        }
    };
    if value.is_nan() {
        return None;
    }
    Some(value)
}

/// Formats a double like Redis's "%.17g" (used by ZSCORE, ZADD INCR, etc.),
/// with "inf" and "-inf" for infinities.
pub fn format_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format_g(d, 17)
}

/// C's %.{precision}g.
pub fn format_g(d: f64, precision: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let precision = precision.max(1);
    let exp = d.abs().log10().floor() as i32;
    // Use the exponent of the correctly rounded value, as printf does.
    let sci = format!("{:.*e}", precision - 1, d);
    let (mantissa, exp_str) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp_rounded: i32 = exp_str.parse().unwrap_or(exp);
    if exp_rounded < -4 || exp_rounded >= precision as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp_rounded < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mantissa, sign, exp_rounded.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp_rounded).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// The "%.17Lg"-then-trim format INCRBYFLOAT and HINCRBYFLOAT reply with
/// (ld2string with LD_STR_HUMAN): no exponent, trailing zeros removed.
pub fn format_long_double_human(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{:.17}", d);
    let s = trim_fraction(&s);
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Resolves Redis's (start, end) index pair, negatives counting from the
/// end, to an inclusive in-range pair, or None when the range is empty
/// (LRANGE, LTRIM, ZRANGE by rank, ...).
pub fn clamp_index_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// Case-insensitive ASCII comparison of an argument with a keyword.
pub fn eq_ic(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Glob-style matching with Redis's stringmatchlen rules: * ? [abc] [^a] [a-z] and \ escapes.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut give_up = false;
    glob_inner(pattern, string, nocase, 0, &mut give_up)
}

/// `give_up` is Redis's skipLongerMatches: once the rest of a pattern after
/// a '*' matched no suffix at all, no earlier '*' can help by matching
/// longer, so the whole match fails at once instead of backtracking
/// exponentially ("a*a*a*...b" against "aaaa...").
fn glob_inner(p: &[u8], s: &[u8], nocase: bool, depth: usize, give_up: &mut bool) -> bool {
    if depth > 1000 {
        return false;
    }
    let (mut pi, mut si) = (0, 0);
    let lower = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    while pi < p.len() {
        match p[pi] {
            b'*' => {
                while pi + 1 < p.len() && p[pi + 1] == b'*' {
                    pi += 1;
                }
                if pi + 1 == p.len() {
                    return true;
                }
                for start in si..=s.len() {
                    if glob_inner(&p[pi + 1..], &s[start..], nocase, depth + 1, give_up) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                }
                *give_up = true;
                return false;
            }
            b'?' => {
                if si >= s.len() {
                    return false;
                }
                si += 1;
            }
            b'[' => {
                if si >= s.len() {
                    return false;
                }
                pi += 1;
                let negate = pi < p.len() && p[pi] == b'^';
                if negate {
                    pi += 1;
                }
                let mut matched = false;
                loop {
                    if pi >= p.len() {
                        pi -= 1;
                        break;
                    }
                    if p[pi] == b'\\' && pi + 2 < p.len() {
                        pi += 1;
                        if p[pi] == s[si] {
                            matched = true;
                        }
                    } else if p[pi] == b']' {
                        break;
                    } else if pi + 2 < p.len() && p[pi + 1] == b'-' {
                        let (mut start, mut end) = (lower(p[pi]), lower(p[pi + 2]));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let c = lower(s[si]);
                        if c >= start && c <= end {
                            matched = true;
                        }
                        pi += 2;
                    } else if lower(p[pi]) == lower(s[si]) {
                        matched = true;
                    }
                    pi += 1;
                }
                if negate {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
            }
            b'\\' if pi + 1 < p.len() => {
                pi += 1;
                if si >= s.len() || lower(p[pi]) != lower(s[si]) {
                    return false;
                }
                si += 1;
            }
            c => {
                if si >= s.len() || lower(c) != lower(s[si]) {
                    return false;
                }
                si += 1;
            }
        }
        pi += 1;
        if si >= s.len() {
            while pi < p.len() && p[pi] == b'*' {
                pi += 1;
            }
            break;
        }
    }
    pi == p.len() && si == s.len()
}

#[cfg(test)]
mod glob_regression_tests {
    use super::glob_match;

    #[test]
    fn long_nested_stars_fail_fast() {
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pattern, &[b'a'; 40], false));
        assert!(glob_match(b"a*b*c", b"axxbyyc", false));
        assert!(glob_match(b"*a*", b"bab", false));
        assert!(!glob_match(b"*a*b", b"ba", false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn calendar_formats() {
        // 2026-12-06 12:47:36 UTC, a Sunday; 2000-02-29 (a leap day of a century year).
        assert_eq!(ctime(1_796_561_256), "Sun Dec  6 12:47:36 2026");
        assert_eq!(log_time(951_782_400_123_000), "29 Feb 2000 00:00:00.123");
        assert_eq!(log_time(0), "01 Jan 1970 00:00:00.000");
    }
    #[test]
    fn doubles_like_printf() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_long_double_human(10.5), "10.5");
    }
    #[test]
    fn globs() {
        assert!(glob_match(b"key:*", b"key:12", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[^e]llo", b"hallo", false));
        assert!(!glob_match(b"h[a-b]llo", b"hello", false));
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31) in the
/// proleptic Gregorian calendar (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as usize, day)
}

/// Redis's log timestamp in UTC: "06 Dec 2026 12:00:00.123".
pub fn log_time(unix_us: u64) -> String {
    let secs = (unix_us / 1_000_000) as i64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[month - 1],
        year,
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        (unix_us / 1000) % 1000
    )
}

/// ctime_r without the newline, in UTC: "Sun Dec  6 12:47:36 2026".
pub fn ctime(unix_s: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[month - 1],
        day,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        year
    )
}
