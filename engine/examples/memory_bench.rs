//! The large-dataset path: DEBUG POPULATE of a multi-GB simulated dataset,
//! a fork, writes during the fork (copy-on-write), and serialising the
//! fork-time RDB payload, with wall time and the real peak RSS (VmHWM).
//! Usage: cargo run --release -p redsim-engine --example memory_bench
//! [keys] [value_bytes] [thp 0|1] [percent of keys overwritten during the fork, default 1]

use redsim_engine::child::{self, ChildKind};
use redsim_engine::{ChildJob, Config, ConnId, Engine, EngineOptions, Input, MachineInfo};
use std::time::Instant;

fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) of this process so far: on a shared
/// machine wall time mostly measures the neighbours.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the ")".
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (field(11) + field(12)) as f64 / 100.0
}

fn send(engine: &mut Engine, now: u64, argv: &[&[u8]]) -> u64 {
    let req = redsim_engine::resp::encode_command(argv);
    let step = engine.handle_input(
        now,
        Input::Data {
            conn: ConnId(1),
            bytes: &req,
        },
    );
    while engine.poll_output().is_some() {}
    step.cpu_us
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let keys = args.first().copied().unwrap_or(1_000_000);
    let size = args.get(1).copied().unwrap_or(4096);
    let thp = args.get(2).copied().unwrap_or(0) == 1;
    let percent = args.get(3).copied().unwrap_or(1);
    let mut now = 1_704_067_200_000_000u64;
    let mut config = Config::default();
    config.set("enable-debug-command", &["yes"]).expect("valid");
    let machine = MachineInfo {
        thp,
        ..Default::default()
    };
    let mut engine = Engine::new(
        config,
        EngineOptions {
            seed: 1,
            pid: 1,
            port: 6379,
            machine,
            ..Default::default()
        },
        now,
    );
    engine.handle_input(
        now,
        Input::Accepted {
            conn: ConnId(1),
            peer: "127.0.0.1:1".into(),
            local_port: 6379,
        },
    );
    let t0 = Instant::now();
    let c0 = cpu_s();
    send(
        &mut engine,
        now,
        &[
            b"DEBUG",
            b"POPULATE",
            keys.to_string().as_bytes(),
            b"key",
            size.to_string().as_bytes(),
        ],
    );
    now += 200_000;
    engine.handle_timeout(now);
    let populate_s = t0.elapsed().as_secs_f64();
    let populate_cpu = cpu_s() - c0;
    let st = engine.memory_stats();
    println!(
        "populate {} keys x {} B: {:.2} s wall ({:.2} s CPU); used_memory {:.2} GB, rss {:.2} GB",
        keys,
        size,
        populate_s,
        populate_cpu,
        st.used_memory as f64 / 1e9,
        st.rss_bytes as f64 / 1e9
    );

    let t1 = Instant::now();
    let pid = child::fork(
        engine.server_mut(),
        ChildKind::Rdb,
        ChildJob::Compute { cpu_us: 1 },
    );
    let fork_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let c2 = cpu_s();
    let payload = {
        let srv = engine.server();
        let aux = redsim_engine::rdb::Aux {
            ctime_s: 1,
            used_mem: st.used_memory,
            repl_id: "0".repeat(40),
            repl_offset: 0,
        };
        let opts = redsim_engine::rdb::SaveOptions::from_config(&srv.config);
        redsim_engine::rdb::save_with(&srv.dbs, &aux, &opts)
    };
    let save_s = t2.elapsed().as_secs_f64();
    let save_cpu = cpu_s() - c2;
    println!("fork {:.3} s wall (latest_fork_usec {}); RDB payload {:.1} MB in {:.2} s wall ({:.2} s CPU)", fork_s, engine.server().forks.latest_fork_usec, payload.len() as f64 / 1e6, save_s, save_cpu);
    drop(payload);

    // Overwrite `percent`% of the keys at random while the child runs.
    let writes = (keys * percent / 100).max(1);
    let mut x = 99u64;
    let value = vec![b'w'; size as usize];
    let t3 = Instant::now();
    for _ in 0..writes {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let key = format!("key:{}", (x >> 33) % keys);
        send(&mut engine, now, &[b"SET", key.as_bytes(), &value]);
    }
    let st2 = engine.memory_stats();
    println!(
        "{} random overwrites ({:.2} s wall): child private (COW) {:.1} MB = {:.1}% of RSS {:.1} MB",
        writes,
        t3.elapsed().as_secs_f64(),
        st2.child_private_bytes as f64 / 1e6,
        st2.child_private_bytes as f64 * 100.0 / st.rss_bytes as f64,
        st.rss_bytes as f64 / 1e6
    );
    engine.handle_input(
        now,
        Input::ChildExit {
            pid,
            status: redsim_engine::ChildExitStatus::Ok,
        },
    );
    while let Some(o) = engine.poll_output() {
        if let redsim_engine::Output::Log(l) = o {
            println!("log: {}", l.message);
        }
    }
    println!(
        "total {:.2} s wall, {:.2} s CPU; real peak RSS (VmHWM) {:.0} MB",
        t0.elapsed().as_secs_f64(),
        cpu_s() - c0,
        vm_hwm_kb() as f64 / 1024.0
    );
}
