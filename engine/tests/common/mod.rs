//! What the engine's integration tests share: the few things a host does
//! (send a request, collect replies, let timers run, read INFO).

use redsim_engine::{ConnId, Engine, Input, Output, Step};

/// Sends one command on `conn`; returns the reply text and the step.
pub fn send(engine: &mut Engine, now_us: u64, conn: ConnId, args: &[&str]) -> (String, Step) {
    let req = redsim_engine::resp::encode_command(args);
    let step = engine.handle_input(now_us, Input::Data { conn, bytes: &req });
    let mut out = Vec::new();
    while let Some(o) = engine.poll_output() {
        if let Output::Send { bytes, .. } = o {
            out.extend_from_slice(&bytes);
        }
    }
    (String::from_utf8(out).expect("utf8"), step)
}

/// Runs every timer that falls due up to `end_us`; returns `end_us`.
#[allow(dead_code)]
pub fn run_timers_until(engine: &mut Engine, now_us: u64, end_us: u64) -> u64 {
    let mut now = now_us;
    while let Some(t) = engine.poll_timeout() {
        if t > end_us {
            break;
        }
        now = now.max(t);
        engine.handle_timeout(now);
        while engine.poll_output().is_some() {}
    }
    end_us
}

/// One INFO field, as text.
#[allow(dead_code)]
pub fn info_field(engine: &mut Engine, now_us: u64, field: &str) -> String {
    let fields = engine.info_fields(now_us);
    fields
        .into_iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no INFO field {}", field))
}

/// Sends one command on `conn`; returns the bytes each connection received
/// in that step (a PUBLISH reaches other connections).
#[allow(dead_code)]
pub fn send_all(
    engine: &mut Engine,
    now_us: u64,
    conn: ConnId,
    args: &[&str],
) -> (std::collections::BTreeMap<ConnId, Vec<u8>>, Step) {
    let req = redsim_engine::resp::encode_command(args);
    let step = engine.handle_input(now_us, Input::Data { conn, bytes: &req });
    let mut out: std::collections::BTreeMap<ConnId, Vec<u8>> = Default::default();
    while let Some(o) = engine.poll_output() {
        if let Output::Send { conn, bytes } = o {
            out.entry(conn).or_default().extend_from_slice(&bytes);
        }
    }
    (out, step)
}
