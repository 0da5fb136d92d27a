//! Preloaded datasets: the spec key is validated with located errors, the runner turns it into
//! the node's dump.rdb, and the node starts with exactly those keys.

use redsim_scenarios::builder::ScenarioBuilder;
use redsim_scenarios::runner;
use redsim_scenarios::spec::{Preload, PreloadType, Scenario};

fn scenario(preload: &str, config: &str) -> String {
    format!(
        r#"title = "preload"
seeds = [1]
duration_ms = 3_000

[[node]]
name = "m1"
kind = "redis"
config = [{config}]
preload = {preload}
"#
    )
}

fn error(text: &str) -> String {
    match Scenario::from_toml_str(text, "p.toml") {
        Ok(_) => panic!("expected an error for:\n{}", text),
        Err(e) => e.to_string(),
    }
}

#[test]
fn preload_errors_are_located() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"[{ type = "stream", key = "s", elements = 3 }]"#,
            "",
            "p.toml:9:",
        ),
        (
            r#"[{ type = "set", elements = 3 }]"#,
            "",
            "node[0].preload[0]: a set, hash, list or zset preload needs `key`",
        ),
        (
            r#"[{ type = "set", key = "s" }]"#,
            "",
            "node[0].preload[0]: a set, hash, list or zset preload needs `elements`",
        ),
        (
            r#"[{ type = "zset", key = "s", elements = 0 }]"#,
            "",
            "node[0].preload[0].elements: 0 is not between 1 and",
        ),
        (
            r#"[{ type = "list", key = "s", elements = 3, keys = 4 }]"#,
            "",
            "node[0].preload[0].keys: only string preloads have this key",
        ),
        (
            r#"[{ type = "string", key = "a", keys = 4 }]"#,
            "",
            "node[0].preload[0].keys: give either `key`",
        ),
        (
            r#"[{ type = "string" }]"#,
            "",
            "node[0].preload[0]: a string preload needs `keys`",
        ),
        (
            r#"[{ type = "string", keys = 4, elements = 2 }]"#,
            "",
            "node[0].preload[0].elements: only set, hash, list and zset",
        ),
        (
            r#"[{ type = "string", keys = 4, values = 2 }]"#,
            "",
            "unknown field `values`",
        ),
        (
            r#"[{ type = "hash", key = "", elements = 2 }]"#,
            "",
            "node[0].preload[0].key: the key must not be empty",
        ),
        (
            r#"[{ type = "hash", key = "h", elements = 2 }]"#,
            r#""appendonly yes""#,
            "node[0].preload: the preload is written as the RDB file",
        ),
    ];
    for (preload, config, expected) in cases {
        let message = error(&scenario(preload, config));
        assert!(message.contains(expected), "{} -> {}", preload, message);
        assert!(message.starts_with("p.toml:"), "located: {}", message);
    }
}

#[test]
fn valid_preloads_parse_and_round_trip() {
    let text = scenario(
        r#"[{ type = "set", key = "bigset", elements = 1_000 }, { type = "string", keys = 100, value_bytes = 1000, key_prefix = "key:" }]"#,
        "",
    );
    let parsed = Scenario::from_toml_str(&text, "p.toml").unwrap();
    assert_eq!(
        parsed.nodes[0].preload[0],
        Preload::collection(PreloadType::Set, "bigset", 1000)
    );
    assert_eq!(
        parsed.nodes[0].preload[1],
        Preload::strings(100, 1000, "key:")
    );
    let again = Scenario::from_toml_str(&parsed.to_toml_string(), "again.toml").unwrap();
    assert_eq!(again, parsed);
    let built = ScenarioBuilder::new("preload")
        .seeds([1])
        .duration_ms(3_000)
        .node("m1", |n| {
            n.preload(Preload::collection(PreloadType::Set, "bigset", 1000))
                .preload(Preload::strings(100, 1000, "key:"))
        })
        .build()
        .unwrap();
    assert_eq!(built.nodes[0].preload, parsed.nodes[0].preload);
}

#[test]
fn the_image_holds_every_type() {
    let node = &Scenario::from_toml_str(
        &scenario(
            r#"[{ type = "string", keys = 50, value_bytes = 300 }, { type = "set", key = "s", elements = 600 },
                { type = "hash", key = "h", elements = 7 }, { type = "list", key = "l", elements = 9 },
                { type = "zset", key = "z", elements = 200 }, { type = "string", key = "one", value_bytes = 5 }]"#,
            "",
        ),
        "p.toml",
    )
    .unwrap()
    .nodes[0];
    assert_eq!(redsim_scenarios::preload::rdb_file_name(node), "dump.rdb");
    let image = redsim_scenarios::preload::rdb_image(node);
    let loaded = redsim_engine::rdb::load(&image, 16).unwrap();
    let db = &loaded.dbs[0];
    assert_eq!(db.len(), 50 + 5);
    let value = |k: &str| db.dict.get(k.as_bytes()).map(|e| e.value.clone()).unwrap();
    let redsim_engine::object::Value::Str(s) = value("key:49") else {
        panic!("a string")
    };
    let mut expected = b"value:49".to_vec();
    expected.resize(300, 0);
    assert_eq!(s.to_vec(), expected);
    assert!(s.run().is_some(), "the loaded value stays compact");
    assert_eq!(value("s").element_count(), 600);
    assert_eq!(value("h").element_count(), 7);
    assert_eq!(value("l").element_count(), 9);
    assert_eq!(value("z").element_count(), 200);
    let redsim_engine::object::Value::Str(one) = value("one") else {
        panic!("a string")
    };
    assert_eq!(one.to_vec(), b"value".to_vec(), "value:0 cut to 5 bytes");
}

#[test]
fn a_preloaded_node_starts_with_the_keys() {
    let text = scenario(
        r#"[{ type = "set", key = "bigset", elements = 20_000 }, { type = "string", keys = 1000, value_bytes = 1000 },
            { type = "zset", key = "z", elements = 300 }]"#,
        r#""dbfilename backup.rdb""#,
    ) + r#"
[[step]]
at_ms = 2_000
node = "m1"
command = "DBSIZE"

[[step]]
at_ms = 2_000
node = "m1"
command = "SCARD bigset"

[[step]]
at_ms = 2_000
node = "m1"
command = "STRLEN key:999"

[[step]]
at_ms = 2_000
node = "m1"
command = "OBJECT ENCODING z"

[[expect]]
that = "m1.rdb_last_load_keys_loaded == 1002"
"#;
    let scenario = Scenario::from_toml_str(&text, "p.toml").unwrap();
    let out = runner::run(&scenario, "p.toml", 1).unwrap();
    let replies: Vec<&str> = out
        .report
        .events
        .iter()
        .filter(|e| e.event == "admin-reply")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        replies,
        [
            "DBSIZE -> (integer) 1002",
            "SCARD bigset -> (integer) 20000",
            "STRLEN key:999 -> (integer) 1000",
            "OBJECT ENCODING z -> \"skiplist\""
        ]
    );
    assert!(
        out.trace_snapshot.contains("DB loaded from disk"),
        "{}",
        out.trace_snapshot
    );
    assert!(out.report.passed, "{:?}", out.report.expectations);
}

#[test]
fn the_preloaded_file_is_durable() {
    // A restored backup was fsynced long ago: a power loss right after boot keeps it.
    let text = scenario(r#"[{ type = "list", key = "l", elements = 5000 }]"#, "")
        + r#"
[[step]]
at_ms = 1_500
fault = "kill"
node = "m1"

[[step]]
at_ms = 2_000
fault = "restart"
node = "m1"

[[step]]
at_ms = 2_900
node = "m1"
command = "LLEN l"
"#;
    let scenario = Scenario::from_toml_str(&text, "p.toml").unwrap();
    let out = runner::run(&scenario, "p.toml", 2).unwrap();
    let replies: Vec<&str> = out
        .report
        .events
        .iter()
        .filter(|e| e.event == "admin-reply")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(replies, ["LLEN l -> (integer) 5000"]);
    assert_eq!(
        out.trace_snapshot.matches("DB loaded from disk").count(),
        2,
        "{}",
        out.trace_snapshot
    );
}
