//! getKeysFromCommand: the key positions of a command's arguments, from
//! Redis 7.0.15's first/last/step and, for movablekeys commands, numkeys.

use redsim_engine::commands::{resolve, CommandTable};

fn keys(line: &str) -> Vec<usize> {
    let argv: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
    let table = CommandTable::new();
    let base = table.lookup(&argv[0]).expect("known command");
    let (cmd, _) = resolve(base, &argv).expect("resolves");
    cmd.keys(&argv)
}

#[test]
fn fixed_positions() {
    assert_eq!(keys("GET k"), vec![1]);
    assert_eq!(keys("SET k v EX 10"), vec![1]);
    assert_eq!(keys("DEL a b c"), vec![1, 2, 3]);
    assert_eq!(keys("MSET a 1 b 2 c 3"), vec![1, 3, 5]);
    assert_eq!(keys("LMOVE src dst LEFT RIGHT"), vec![1, 2]);
    assert_eq!(keys("OBJECT ENCODING k"), vec![2]);
    assert_eq!(keys("MEMORY USAGE k SAMPLES 5"), vec![2]);
    assert_eq!(keys("PING"), Vec::<usize>::new());
    assert_eq!(keys("CONFIG GET maxmemory"), Vec::<usize>::new());
}

#[test]
fn movable_keys_follow_numkeys() {
    assert_eq!(keys("ZUNIONSTORE dst 2 a b WEIGHTS 1 2"), vec![1, 3, 4]);
    assert_eq!(keys("ZINTERSTORE dst 3 a b c"), vec![1, 3, 4, 5]);
    assert_eq!(keys("ZUNION 2 a b WITHSCORES"), vec![2, 3]);
    assert_eq!(keys("ZDIFF 1 a"), vec![2]);
    assert_eq!(keys("SINTERCARD 2 a b LIMIT 1"), vec![2, 3]);
    // A numkeys larger than the arguments stops at the last one.
    assert_eq!(keys("ZINTERCARD 5 a b"), vec![2, 3]);
    assert_eq!(keys("ZUNION x a"), Vec::<usize>::new());
}
