//! Property tests of the RESP parsers: arbitrary and mutated input never
//! panics, declared lengths are never trusted for an allocation, valid
//! multibulk requests round-trip, and protocol errors use Redis's wording.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use redsim_engine::resp::{
    encode_command, parse_reply, parse_request, Limits, Parsed, ProtoError, Value,
};

/// Records the largest single allocation, so a test can prove that a huge
/// declared length did not turn into a huge buffer.
struct Tracking;

static LARGEST_ALLOC_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOC_BYTES.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOC_BYTES.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

const LIMITS: Limits = Limits {
    proto_max_bulk_len: 512 * 1024 * 1024,
};
/// Nothing these tests parse needs more than this in one allocation; other
/// tests of this binary running in parallel stay far below it too.
const ALLOC_CEILING_BYTES: usize = 8 * 1024 * 1024;

/// Every protocol error text Redis 7.0 can send for a request
/// (networking.c processInlineBuffer/processMultibulkBuffer).
fn is_redis_wording(e: &ProtoError) -> bool {
    const FIXED: &[&[u8]] = &[
        b"invalid multibulk length",
        b"invalid bulk length",
        b"unbalanced quotes in request",
        b"too big mbulk count string",
        b"too big bulk count string",
        b"too big inline request",
    ];
    let expected = e.0.len() == b"expected '$', got 'x'".len()
        && e.0.starts_with(b"expected '$', got '")
        && e.0.ends_with(b"'");
    FIXED.contains(&e.0.as_slice()) || expected
}

fn check_request(buf: &[u8]) -> Result<(), TestCaseError> {
    match parse_request(buf, LIMITS) {
        Ok(Parsed::Incomplete) => {}
        Ok(Parsed::Request { consumed, .. }) => {
            prop_assert!(consumed > 0, "a request consumes bytes");
            prop_assert!(
                consumed <= buf.len(),
                "consumed {} of {}",
                consumed,
                buf.len()
            );
        }
        Err(e) => {
            prop_assert!(is_redis_wording(&e), "not Redis's wording: {:?}", e.text());
            prop_assert!(e.reply().starts_with(b"-ERR Protocol error: "));
            prop_assert!(e.reply().ends_with(b"\r\n"));
            let body = &e.reply()[..e.reply().len() - 2];
            prop_assert!(
                !body.contains(&b'\r') && !body.contains(&b'\n'),
                "an error reply is one line"
            );
        }
    }
    Ok(())
}

/// Arguments of any bytes, including CR, LF and NUL.
fn argv_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..8)
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation_strategy() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                b'*', b'$', b'\r', b'\n', b'-', b'0', b'9', b'"', b'\'', 0u8
            ])
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Flip(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..300)) {
        check_request(&buf)?;
        let _ = parse_reply(&buf);
    }

    #[test]
    fn protocol_shaped_bytes_never_panic(buf in prop::collection::vec(prop::sample::select(b"*$:+-\r\n0123456789 \"'\\x".to_vec()), 0..120)) {
        check_request(&buf)?;
        let _ = parse_reply(&buf);
    }

    #[test]
    fn mutated_requests_never_panic(argv in argv_strategy(), mutations in prop::collection::vec(mutation_strategy(), 1..6)) {
        let bytes = mutate(encode_command(&argv), &mutations);
        check_request(&bytes)?;
        let _ = parse_reply(&bytes);
    }

    #[test]
    fn multibulk_round_trips(argv in argv_strategy()) {
        let wire = encode_command(&argv);
        let parsed = parse_request(&wire, LIMITS).expect("valid request");
        prop_assert_eq!(parsed, Parsed::Request { argv: argv.clone(), consumed: wire.len() });
        let (reply, used) = parse_reply(&wire).expect("valid RESP").expect("complete");
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(reply, Value::Array(argv.into_iter().map(Value::Bulk).collect()));
    }

    #[test]
    fn every_proper_prefix_is_incomplete(argv in argv_strategy(), cut in any::<usize>()) {
        let wire = encode_command(&argv);
        let cut = cut % wire.len();
        prop_assert_eq!(parse_request(&wire[..cut], LIMITS).expect("a prefix is no error"), Parsed::Incomplete);
        prop_assert_eq!(parse_reply(&wire[..cut]).expect("a prefix is no error"), None);
    }

    #[test]
    fn pipelined_requests_parse_one_at_a_time(batch in prop::collection::vec(argv_strategy(), 1..6)) {
        let wire: Vec<u8> = batch.iter().flat_map(|argv| encode_command(argv)).collect();
        let mut at = 0;
        for argv in &batch {
            match parse_request(&wire[at..], LIMITS).expect("valid pipeline") {
                Parsed::Request { argv: got, consumed } => {
                    prop_assert_eq!(&got, argv);
                    at += consumed;
                }
                Parsed::Incomplete => prop_assert!(false, "incomplete inside a complete pipeline"),
            }
        }
        prop_assert_eq!(at, wire.len());
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate(count in 1_000_000i64..=i64::from(i32::MAX), bulk in 1_000_000i64..=512 * 1024 * 1024) {
        let requests = [
            format!("*{}\r\n", count).into_bytes(),
            format!("*{}\r\n$3\r\nGET\r\n", count).into_bytes(),
            format!("*1\r\n${}\r\n", bulk).into_bytes(),
            format!("*1\r\n${}\r\nabc", bulk).into_bytes(),
        ];
        for req in requests {
            LARGEST_ALLOC_BYTES.store(0, Ordering::Relaxed);
            prop_assert_eq!(parse_request(&req, LIMITS).expect("within limits"), Parsed::Incomplete);
            prop_assert_eq!(parse_reply(&req).expect("well-formed so far"), None);
            prop_assert!(LARGEST_ALLOC_BYTES.load(Ordering::Relaxed) < ALLOC_CEILING_BYTES);
        }
    }
}

#[test]
fn lengths_past_the_limits_are_rejected_with_redis_wording() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"*2147483648\r\n", b"invalid multibulk length"),
        (b"*9223372036854775808\r\n", b"invalid multibulk length"),
        (b"*1\r\n$536870913\r\n", b"invalid bulk length"),
        (b"*1\r\n$9223372036854775807\r\n", b"invalid bulk length"),
        (b"*1\r\n$-1\r\n", b"invalid bulk length"),
        (b"*+1\r\n", b"invalid multibulk length"),
        (b"*1\r\n$+1\r\n", b"invalid bulk length"),
        (b"*1\r\n:1\r\n", b"expected '$', got ':'"),
        (b"*1\r\n\xff\r\n", b"expected '$', got '\xff'"),
        (b"SET a \"b\r\n", b"unbalanced quotes in request"),
        (b"SET a 'b'c\r\n", b"unbalanced quotes in request"),
    ];
    for (input, wording) in cases {
        LARGEST_ALLOC_BYTES.store(0, Ordering::Relaxed);
        let e = parse_request(input, LIMITS).expect_err("a protocol error");
        assert_eq!(
            e.0,
            wording.to_vec(),
            "input {:?}",
            input.escape_ascii().to_string()
        );
        assert!(LARGEST_ALLOC_BYTES.load(Ordering::Relaxed) < ALLOC_CEILING_BYTES);
    }
    // A CR or LF quoted in an error reply becomes a space, as addReplyError does.
    let e = parse_request(b"*1\r\n\r\n\r\n", LIMITS).expect_err("a protocol error");
    assert_eq!(
        e.reply(),
        b"-ERR Protocol error: expected '$', got ' '\r\n".to_vec()
    );
    // "*2147483647" is a legal count: Redis waits for the arguments.
    assert_eq!(
        parse_request(b"*2147483647\r\n", LIMITS).unwrap(),
        Parsed::Incomplete
    );
    // The limits for unterminated header lines are Redis's 64 KiB.
    let long = [b"*".to_vec(), vec![b'1'; 64 * 1024 + 1]].concat();
    assert_eq!(
        parse_request(&long, LIMITS).unwrap_err().0,
        b"too big mbulk count string".to_vec()
    );
    let long = vec![b'a'; 64 * 1024 + 1];
    assert_eq!(
        parse_request(&long, LIMITS).unwrap_err().0,
        b"too big inline request".to_vec()
    );
}
