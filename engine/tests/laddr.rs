//! An accepted connection knows the local port it came in on: CLIENT LIST,
//! CLIENT INFO and CLIENT KILL LADDR use it (a process may listen on
//! several ports, as a Cluster node does on port + 10000).

#[allow(dead_code)]
mod common;

use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input};

const T0: u64 = 1_704_067_200_000_000;

fn engine_with_two_clients() -> Engine {
    let options = EngineOptions {
        seed: 1,
        pid: 1,
        port: 6379,
        ..Default::default()
    };
    let mut engine = Engine::new(Config::default(), options, T0);
    for (id, local_port) in [(1, 6379), (2, 16379)] {
        let peer = format!("10.0.0.2:{}", 40000 + id);
        engine.handle_input(
            T0,
            Input::Accepted {
                conn: ConnId(id),
                peer,
                local_port,
            },
        );
    }
    while engine.poll_output().is_some() {}
    engine
}

#[test]
fn client_list_shows_the_local_port_each_connection_came_in_on() {
    let mut engine = engine_with_two_clients();
    let (list, _) = common::send(&mut engine, T0, ConnId(1), &["CLIENT", "LIST"]);
    assert!(
        list.contains("addr=10.0.0.2:40001 laddr=127.0.0.1:6379 "),
        "{}",
        list
    );
    assert!(
        list.contains("addr=10.0.0.2:40002 laddr=127.0.0.1:16379 "),
        "{}",
        list
    );
    let (info, _) = common::send(&mut engine, T0, ConnId(2), &["CLIENT", "INFO"]);
    assert!(info.contains(" laddr=127.0.0.1:16379 "), "{}", info);
    let (killed, _) = common::send(
        &mut engine,
        T0,
        ConnId(1),
        &["CLIENT", "KILL", "LADDR", "127.0.0.1:16379"],
    );
    assert_eq!(killed, ":1\r\n");
}
