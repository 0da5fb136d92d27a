//! INFO and CLIENT LIST figures computed from the model, never constants:
//! failed_calls as Redis 7.0's call() counts them, latency percentiles
//! from a per-command histogram, CPU as the model knows it, client fds
//! handed out lowest-first from 8, the clients' memory split by type.
//! Expected values checked against redis-server 7.0.15 where it applies.

mod common;

use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input};

const T0: u64 = 1_700_000_000_000_000;

fn engine(conf: &[&str]) -> Engine {
    let config = Config::from_conf_lines(conf).expect("config");
    Engine::new(
        config,
        EngineOptions {
            seed: 9,
            pid: 1,
            port: 6379,
            ..Default::default()
        },
        T0,
    )
}

fn accept(e: &mut Engine, conn: u64) {
    e.handle_input(
        T0,
        Input::Accepted {
            conn: ConnId(conn),
            peer: format!("127.0.0.1:{}", 50000 + conn),
            local_port: 6379,
        },
    );
    while e.poll_output().is_some() {}
}

fn cmd(e: &mut Engine, conn: u64, args: &[&str]) -> String {
    common::send(e, T0, ConnId(conn), args).0
}

fn field(e: &mut Engine, name: &str) -> Option<String> {
    e.info_fields(T0)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[test]
fn failed_calls_count_error_replies_of_the_call_itself() {
    let mut e = engine(&[]);
    accept(&mut e, 1);
    cmd(&mut e, 1, &["SET", "s", "abc"]);
    assert!(cmd(&mut e, 1, &["INCR", "s"]).starts_with("-ERR"));
    cmd(&mut e, 1, &["MULTI"]);
    cmd(&mut e, 1, &["INCR", "s"]);
    assert!(cmd(&mut e, 1, &["EXEC"]).contains("-ERR"));
    // As redis-server: both INCRs failed, the EXEC that ran one did not.
    let incr = field(&mut e, "cmdstat_incr").expect("incr stats");
    assert!(
        incr.ends_with("rejected_calls=0,failed_calls=2"),
        "{}",
        incr
    );
    let exec = field(&mut e, "cmdstat_exec").expect("exec stats");
    assert!(
        exec.ends_with("rejected_calls=0,failed_calls=0"),
        "{}",
        exec
    );
    let set = field(&mut e, "cmdstat_set").expect("set stats");
    assert!(set.ends_with("failed_calls=0"), "{}", set);
}

#[test]
fn latency_percentiles_come_from_the_histogram_not_the_mean() {
    let mut e = engine(&["enable-debug-command yes"]);
    accept(&mut e, 1);
    for _ in 0..98 {
        cmd(&mut e, 1, &["DEBUG", "SLEEP", "0"]);
    }
    for _ in 0..2 {
        cmd(&mut e, 1, &["DEBUG", "SLEEP", "0.01"]);
    }
    let text = field(&mut e, "latency_percentiles_usec_debug").expect("debug latency");
    let p = |name: &str| -> f64 {
        let part = text
            .split(',')
            .find(|p| p.starts_with(&format!("{}=", name)))
            .expect("percentile");
        part[name.len() + 1..].parse().expect("number")
    };
    // Two slow calls in a hundred: the median is fast, p99 and p99.9 are
    // the 10 ms sleeps (within the histogram's two significant digits).
    assert!(p("p50") < 100.0, "{}", text);
    assert!((9_900.0..=10_200.0).contains(&p("p99")), "{}", text);
    assert_eq!(p("p99"), p("p99.9"), "{}", text);
}

#[test]
fn cpu_is_the_model_main_thread_time_and_nothing_invented() {
    let mut e = engine(&[]);
    accept(&mut e, 1);
    cmd(&mut e, 1, &["SET", "k", "v"]);
    let user: f64 = field(&mut e, "used_cpu_user")
        .expect("user")
        .parse()
        .expect("number");
    assert!(user > 0.0);
    assert_eq!(
        field(&mut e, "used_cpu_user_main_thread")
            .expect("main thread")
            .parse::<f64>()
            .unwrap(),
        user
    );
    for absent in [
        "used_cpu_sys",
        "used_cpu_sys_children",
        "used_cpu_user_children",
        "used_cpu_sys_main_thread",
    ] {
        assert_eq!(field(&mut e, absent), None, "{}", absent);
    }
}

fn client_field(line: &str, name: &str) -> String {
    let prefix = format!("{}=", name);
    line.split(' ')
        .find_map(|w| w.strip_prefix(&prefix))
        .expect("field")
        .to_string()
}

#[test]
fn client_fds_are_handed_out_lowest_first_from_eight() {
    let mut e = engine(&[]);
    accept(&mut e, 1);
    accept(&mut e, 2);
    let list = cmd(&mut e, 1, &["CLIENT", "LIST"]);
    let fds: Vec<String> = list
        .lines()
        .filter(|l| l.contains("id="))
        .map(|l| client_field(l, "fd"))
        .collect();
    assert_eq!(fds, vec!["8", "9"], "{}", list);
    e.handle_input(T0, Input::Closed { conn: ConnId(1) });
    accept(&mut e, 3);
    let info = cmd(&mut e, 3, &["CLIENT", "INFO"]);
    assert_eq!(
        client_field(&info, "fd"),
        "8",
        "the freed descriptor is reused"
    );
}

#[test]
fn client_memory_is_the_model_figure_split_by_type() {
    let mut e = engine(&[]);
    accept(&mut e, 1);
    accept(&mut e, 2);
    let info = cmd(&mut e, 1, &["CLIENT", "INFO"]);
    let tot_mem: u64 = client_field(&info, "tot-mem").parse().expect("number");
    let qbuf: u64 = client_field(&info, "qbuf").parse().expect("number");
    let qbuf_free: u64 = client_field(&info, "qbuf-free").parse().expect("number");
    assert!(tot_mem > qbuf + qbuf_free, "{}", info);
    let normal: u64 = field(&mut e, "mem_clients_normal")
        .expect("normal")
        .parse()
        .expect("number");
    assert_eq!(field(&mut e, "mem_clients_slaves").as_deref(), Some("0"));
    // Two idle clients with nothing pending, each the model's client size.
    assert!(normal > 0 && normal.is_multiple_of(2), "{}", normal);
    e.handle_input(T0, Input::Closed { conn: ConnId(2) });
    let one: u64 = field(&mut e, "mem_clients_normal")
        .expect("normal")
        .parse()
        .expect("number");
    assert!(one < normal, "{} then {}", normal, one);
}
