//! The client's reply buffer as redis-server 7.0.15 sizes it: CLIENT LIST
//! rbs/rbp, clientsCron's shrink and expand, INFO reply_buffer_*, and
//! multi-mem. Every expected sequence below was read off a real 7.0.15 at
//! hz 100 (an observer connection polling CLIENT LIST every ~50 ms).

mod common;

use common::{run_timers_until, send};
use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input};

const START_US: u64 = 1_700_000_000_000_000;
const CLIENT: ConnId = ConnId(1);
const OBSERVER: ConnId = ConnId(2);

fn engine() -> Engine {
    let config = Config::from_conf_lines(&["hz 100", "enable-debug-command yes"]).expect("config");
    let mut e = Engine::new(
        config,
        EngineOptions {
            seed: 7,
            pid: 1,
            port: 6379,
            ..Default::default()
        },
        START_US,
    );
    for conn in [CLIENT, OBSERVER] {
        e.handle_input(
            START_US,
            Input::Accepted {
                conn,
                peer: format!("127.0.0.1:{}", 50000 + conn.0),
                local_port: 6379,
            },
        );
        while e.poll_output().is_some() {}
    }
    e
}

/// The watched client's CLIENT LIST fields `name`, read by the observer.
fn field(e: &mut Engine, now_us: u64, name: &str) -> u64 {
    let (list, _) = send(e, now_us, OBSERVER, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("id=1 "))
        .unwrap_or_else(|| panic!("no client 1 in {}", list));
    let prefix = format!(" {}=", name);
    let at = line.find(&prefix).expect("field") + prefix.len();
    line[at..]
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("number")
}

fn rbs_rbp(e: &mut Engine, now_us: u64) -> (u64, u64) {
    (field(e, now_us, "rbs"), field(e, now_us, "rbp"))
}

fn stat(e: &mut Engine, now_us: u64, name: &str) -> u64 {
    common::info_field(e, now_us, name).parse().expect("number")
}

#[test]
fn new_client_buffer_shrinks_after_one_peak_reset() {
    let mut e = engine();
    let mut now = START_US;
    let mut seen = vec![rbs_rbp(&mut e, now)];
    for _ in 0..20 {
        now = run_timers_until(&mut e, now, now + 10_000);
        let pair = rbs_rbp(&mut e, now);
        if seen.last() != Some(&pair) {
            seen.push(pair);
        }
    }
    // createClient's 16 KiB; the first cron visit resets the peak (the
    // reset time was stamped in seconds), the next shrinks to the minimum.
    assert_eq!(seen, vec![(16384, 16384), (16384, 0), (1024, 0)]);
    // Both connections shrank once; nothing expanded.
    assert_eq!(stat(&mut e, now, "reply_buffer_shrinks"), 2);
    assert_eq!(stat(&mut e, now, "reply_buffer_expands"), 0);
}

#[test]
fn big_replies_expand_the_buffer_one_doubling_per_full_peak() {
    let mut e = engine();
    let mut now = run_timers_until(&mut e, START_US, START_US + 200_000);
    let value = "x".repeat(5000);
    send(&mut e, now, CLIENT, &["SET", "k", &value]);
    assert_eq!(rbs_rbp(&mut e, now), (1024, 5));
    let mut seen = Vec::new();
    for _ in 0..6 {
        send(&mut e, now, CLIENT, &["GET", "k"]);
        now = run_timers_until(&mut e, now, now + 50_000);
        seen.push(rbs_rbp(&mut e, now));
    }
    // The 5009-byte reply fills each buffer (peak == size) until 8 KiB;
    // 16 KiB would be the next doubling but the peak stays below 8 KiB.
    assert_eq!(
        seen,
        vec![
            (2048, 1024),
            (4096, 2048),
            (8192, 4096),
            (8192, 5009),
            (8192, 5009),
            (8192, 5009)
        ]
    );
    assert_eq!(stat(&mut e, now, "reply_buffer_expands"), 3);
    // Idle past reply-buffer-peak-reset-time: the peak resets and the
    // buffer goes straight back to PROTO_REPLY_MIN_BYTES.
    now = run_timers_until(&mut e, now, now + 6_000_000);
    assert_eq!(rbs_rbp(&mut e, now), (1024, 0));
}

#[test]
fn multi_mem_counts_queued_arguments_and_pointers() {
    let mut e = engine();
    let now = START_US;
    send(&mut e, now, CLIENT, &["MULTI"]);
    assert_eq!(field(&mut e, now, "multi-mem"), 0);
    let queued: [&[&str]; 5] = [
        &["SET", "a", "b"],
        &["INCR", "counter"],
        &["GET", "a"],
        &["RPUSH", "list", "x", "yy", "zzz"],
        &["PING"],
    ];
    let mut seen = Vec::new();
    for args in queued {
        let (reply, _) = send(&mut e, now, CLIENT, args);
        assert_eq!(reply, "+QUEUED\r\n");
        seen.push(field(&mut e, now, "multi-mem"));
    }
    assert_eq!(seen, vec![29, 56, 76, 131, 143]);
    send(&mut e, now, CLIENT, &["EXEC"]);
    assert_eq!(field(&mut e, now, "multi-mem"), 0);
}

#[test]
fn debug_replybuffer_stops_resizing_and_peak_resets() {
    let mut e = engine();
    let (ok, _) = send(
        &mut e,
        START_US,
        OBSERVER,
        &["DEBUG", "REPLYBUFFER", "RESIZING", "0"],
    );
    assert_eq!(ok, "+OK\r\n");
    let now = run_timers_until(&mut e, START_US, START_US + 1_000_000);
    assert_eq!(rbs_rbp(&mut e, now), (16384, 16384));
    send(
        &mut e,
        now,
        OBSERVER,
        &["DEBUG", "REPLYBUFFER", "RESIZING", "1"],
    );
    send(
        &mut e,
        now,
        OBSERVER,
        &["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER"],
    );
    // With resets off the creation peak (the full buffer) never goes, so
    // the buffer never shrinks.
    let now = run_timers_until(&mut e, now, now + 1_000_000);
    assert_eq!(rbs_rbp(&mut e, now), (16384, 16384));
    let (err, _) = send(
        &mut e,
        now,
        OBSERVER,
        &["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "soon"],
    );
    assert_eq!(err, "-ERR value is not an integer or out of range\r\n");
}
