//! In-process engine throughput: feeds pipelined SET and GET requests (like
//! `redis-benchmark -P 16 -r 100000 -d 3`) straight into an Engine and counts
//! commands per wall second. Usage: cargo run --release -p redsim-engine
//! --example throughput [requests] [pipeline]

use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input, Output};
use std::time::Instant;

fn batch(cmd: &str, start: usize, pipeline: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in start..start + pipeline {
        let key = format!("key:{:012}", i % 100_000);
        let argv: Vec<&[u8]> = if cmd == "SET" {
            vec![b"SET", key.as_bytes(), b"xxx"]
        } else {
            vec![b"GET", key.as_bytes()]
        };
        out.extend_from_slice(&redsim_engine::resp::encode_command(&argv));
    }
    out
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let requests = args.first().copied().unwrap_or(1_000_000);
    let pipeline = args.get(1).copied().unwrap_or(16);
    let now = 1_704_067_200_000_000u64;
    let mut engine = Engine::new(
        Config::default(),
        EngineOptions {
            seed: 1,
            pid: 1,
            port: 6379,
            ..Default::default()
        },
        now,
    );
    let conn = ConnId(1);
    engine.handle_input(
        now,
        Input::Accepted {
            conn,
            peer: "127.0.0.1:1".into(),
            local_port: 6379,
        },
    );
    for cmd in ["SET", "GET"] {
        let batches: Vec<Vec<u8>> = (0..requests / pipeline)
            .map(|b| batch(cmd, b * pipeline, pipeline))
            .collect();
        let started = Instant::now();
        let mut reply_bytes = 0usize;
        for bytes in &batches {
            engine.handle_input(now, Input::Data { conn, bytes });
            while let Some(out) = engine.poll_output() {
                if let Output::Send { bytes, .. } = out {
                    reply_bytes += bytes.len();
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}: {:.0} requests per second ({} requests, pipeline {}, {} reply bytes)",
            cmd,
            requests as f64 / secs,
            requests,
            pipeline,
            reply_bytes
        );
    }
}
