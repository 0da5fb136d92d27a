//! RESP2 request parsing (multibulk and inline) with Redis's limits and
//! protocol error wording, plus a reply parser for the engine's own outbound
//! links (a replica reading its master) and for simulated clients.

/// Longest inline request, and longest multibulk/bulk header line, Redis
/// accepts before it gives up (PROTO_INLINE_MAX_SIZE).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Bulk arguments at least this large are read into their own buffer in Redis
/// (PROTO_MBULK_BIG_ARG); kept for the cost model.
pub const PROTO_MBULK_BIG_ARG: usize = 32 * 1024;

/// A protocol error: the bytes after "-ERR Protocol error: ". Redis replies
/// with it and closes the connection. Bytes, not text: "expected '$', got
/// '%c'" quotes the offending byte raw, whatever it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError(pub Vec<u8>);

impl ProtoError {
    fn new(text: &str) -> ProtoError {
        ProtoError(text.as_bytes().to_vec())
    }
    fn expected_dollar(got: u8) -> ProtoError {
        ProtoError([&b"expected '$', got '"[..], &[got], b"'"].concat())
    }
    /// The error text for logs (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
    /// The full error reply line, as Redis writes it: like every error
    /// reply, CR and LF inside become spaces.
    pub fn reply(&self) -> Vec<u8> {
        let mut out = b"-ERR Protocol error: ".to_vec();
        out.extend(
            self.0
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// Limits that come from the config.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub proto_max_bulk_len: i64,
}

/// The outcome of trying to parse one request from the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Need more bytes.
    Incomplete,
    /// A request (possibly empty: an empty inline line or "*0"), and the bytes consumed.
    Request { argv: Vec<Vec<u8>>, consumed: usize },
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + from)
}

/// Parses a signed decimal the way Redis's string2ll does: no spaces, no
/// leading '+', no leading zeros (except "0"), fits in i64.
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut value: i128 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i128::from(d - b'0');
    }
    let value = if neg { -value } else { value };
    i64::try_from(value).ok()
}

/// Where a header line ends, found the way Redis finds it: strchr for the
/// terminator, which also stops at a NUL byte (the line then looks
/// unterminated).
enum LineEnd {
    /// No terminator before the end of the buffer (or a NUL).
    Missing,
    /// The '\r' is the last byte: the '\n' has not arrived yet.
    Partial,
    /// The terminator is at this index.
    At(usize),
}

fn find_terminator(buf: &[u8], from: usize, terminator: u8) -> Option<usize> {
    let rest = buf.get(from..)?;
    let p = rest.iter().position(|&b| b == terminator || b == 0)?;
    (rest[p] == terminator).then_some(from + p)
}

/// A multibulk header line ends at the first '\r'; the byte after it is
/// assumed to be '\n' and skipped unchecked, as Redis does.
fn header_end(buf: &[u8], from: usize) -> LineEnd {
    match find_terminator(buf, from, b'\r') {
        None => LineEnd::Missing,
        Some(cr) if cr + 1 >= buf.len() => LineEnd::Partial,
        Some(cr) => LineEnd::At(cr),
    }
}

/// Parses one request: multibulk if it starts with '*', inline otherwise.
pub fn parse_request(buf: &[u8], limits: Limits) -> Result<Parsed, ProtoError> {
    if buf.is_empty() {
        return Ok(Parsed::Incomplete);
    }
    if buf[0] == b'*' {
        parse_multibulk(buf, limits)
    } else {
        parse_inline(buf)
    }
}

fn parse_multibulk(buf: &[u8], limits: Limits) -> Result<Parsed, ProtoError> {
    let eol = match header_end(buf, 0) {
        LineEnd::Missing if buf.len() > PROTO_INLINE_MAX_SIZE => {
            return Err(ProtoError::new("too big mbulk count string"))
        }
        LineEnd::Missing | LineEnd::Partial => return Ok(Parsed::Incomplete),
        LineEnd::At(eol) => eol,
    };
    let count = match parse_i64_strict(&buf[1..eol]) {
        Some(n) if n <= i64::from(i32::MAX) => n,
        _ => return Err(ProtoError::new("invalid multibulk length")),
    };
    let mut pos = eol + 2;
    if count <= 0 {
        return Ok(Parsed::Request {
            argv: Vec::new(),
            consumed: pos,
        });
    }
    // Never trust the count for an allocation: grow as arguments arrive.
    let mut argv = Vec::with_capacity((count as usize).min(1024));
    for _ in 0..count {
        let eol = match header_end(buf, pos) {
            LineEnd::Missing if buf.len() - pos.min(buf.len()) > PROTO_INLINE_MAX_SIZE => {
                return Err(ProtoError::new("too big bulk count string"))
            }
            LineEnd::Missing | LineEnd::Partial => return Ok(Parsed::Incomplete),
            LineEnd::At(eol) => eol,
        };
        if buf[pos] != b'$' {
            return Err(ProtoError::expected_dollar(buf[pos]));
        }
        let len = match parse_i64_strict(&buf[pos + 1..eol]) {
            Some(n) if n >= 0 && n <= limits.proto_max_bulk_len => n as usize,
            _ => return Err(ProtoError::new("invalid bulk length")),
        };
        let start = eol + 2;
        let Some(end) = start.checked_add(len) else {
            return Err(ProtoError::new("invalid bulk length"));
        };
        // The two bytes after the payload are skipped unchecked, as in Redis.
        if buf.len() < end + 2 {
            return Ok(Parsed::Incomplete);
        }
        argv.push(buf[start..end].to_vec());
        pos = end + 2;
    }
    Ok(Parsed::Request {
        argv,
        consumed: pos,
    })
}

fn parse_inline(buf: &[u8]) -> Result<Parsed, ProtoError> {
    let Some(nl) = find_terminator(buf, 0, b'\n') else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtoError::new("too big inline request"));
        }
        return Ok(Parsed::Incomplete);
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let argv = split_args(line).ok_or_else(|| ProtoError::new("unbalanced quotes in request"))?;
    Ok(Parsed::Request {
        argv,
        consumed: nl + 1,
    })
}

/// C's isspace(): space, \t, \n, \v, \f, \r.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments the way Redis's sdssplitargs does: spaces
/// separate, "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes,
/// 'single quotes' take only \'. A closing quote must be followed by a space
/// or the end. Returns None on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_digit(line[i + 2]), hex_digit(line[i + 3])) {
                        current.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    current.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    current.push(c);
                }
                i += 1;
            } else if in_sq {
                let c = *line.get(i)?;
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    current.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                }
                current.push(c);
                i += 1;
            } else {
                match line.get(i) {
                    None => break,
                    // A bare word ends only at these four, not at \v or \f.
                    Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => current.push(c),
                }
                i += 1;
            }
        }
        args.push(current);
    }
}

/// Encodes a command as a RESP multibulk.
pub fn encode_command<A: AsRef<[u8]>>(argv: &[A]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(16 + argv.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
    encode_command_into(&mut out, argv);
    out
}

/// Appends a command as a RESP multibulk, without temporary strings: this
/// runs for every propagated command and every simulated client request.
pub fn encode_command_into<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.push(b'*');
    push_decimal(out, argv.len() as u64);
    out.extend_from_slice(b"\r\n");
    for arg in argv {
        let arg = arg.as_ref();
        out.push(b'$');
        push_decimal(out, arg.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// A parsed RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Value>),
    NilArray,
}

impl Value {
    /// The first word of an error ("NOREPLICAS", "ERR", ...), if this is one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Value::Error(e) => Some(e.split(' ').next().unwrap_or("")),
            _ => None,
        }
    }
}

/// Parses one reply from the front of `buf`. Ok(None): need more bytes.
/// Err: the bytes are not RESP (the text names what was wrong).
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Value, usize)>, String> {
    parse_reply_at(buf, 0, 0)
}

fn parse_reply_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Value, usize)>, String> {
    if depth > 64 {
        return Err("reply nested too deeply".into());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
        return Err(format!("unexpected reply type byte {:?}", kind as char));
    }
    let Some(eol) = find_crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..eol];
    let text = || String::from_utf8_lossy(line).into_owned();
    let number = || parse_i64_strict(line).ok_or_else(|| format!("bad number {:?}", text()));
    let next = eol + 2;
    match kind {
        b'+' => Ok(Some((Value::Simple(text()), next))),
        b'-' => Ok(Some((Value::Error(text()), next))),
        b':' => Ok(Some((Value::Int(number()?), next))),
        b'$' => {
            let len = number()?;
            if len < 0 {
                return Ok(Some((Value::Nil, next)));
            }
            let end = next + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            Ok(Some((Value::Bulk(buf[next..end].to_vec()), end + 2)))
        }
        b'*' => {
            let count = number()?;
            if count < 0 {
                return Ok(Some((Value::NilArray, next)));
            }
            let mut items = Vec::with_capacity((count as usize).min(1024));
            let mut at = next;
            for _ in 0..count {
                match parse_reply_at(buf, at, depth + 1)? {
                    None => return Ok(None),
                    Some((v, n)) => {
                        items.push(v);
                        at = n;
                    }
                }
            }
            Ok(Some((Value::Array(items), at)))
        }
        other => Err(format!("unexpected reply type byte {:?}", other as char)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const LIMITS: Limits = Limits {
        proto_max_bulk_len: 512 * 1024 * 1024,
    };

    #[test]
    fn multibulk_and_inline() {
        let r = parse_request(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", LIMITS).unwrap();
        assert_eq!(
            r,
            Parsed::Request {
                argv: vec![b"GET".to_vec(), b"k".to_vec()],
                consumed: 20
            }
        );
        let r = parse_request(b"set a \"b c\"\r\n", LIMITS).unwrap();
        assert_eq!(
            r,
            Parsed::Request {
                argv: vec![b"set".to_vec(), b"a".to_vec(), b"b c".to_vec()],
                consumed: 13
            }
        );
        assert_eq!(
            parse_request(b"*2\r\n$3\r\nGE", LIMITS).unwrap(),
            Parsed::Incomplete
        );
    }

    #[test]
    fn protocol_errors_use_redis_wording() {
        assert_eq!(
            parse_request(b"*x\r\n", LIMITS).unwrap_err().text(),
            "invalid multibulk length"
        );
        assert_eq!(
            parse_request(b"*1\r\n:1\r\n", LIMITS).unwrap_err().text(),
            "expected '$', got ':'"
        );
        assert_eq!(
            parse_request(b"*1\r\n$-5\r\n", LIMITS).unwrap_err().text(),
            "invalid bulk length"
        );
        assert_eq!(
            parse_request(b"a \"b\r\n", LIMITS).unwrap_err().text(),
            "unbalanced quotes in request"
        );
    }
}
