//! LIST, HASH, SET and SORTED SET commands driven through an in-process
//! Engine. Every expected reply below was checked byte for byte against
//! redis-server 7.0.15 (see collections_diff.py beside this file).

use redsim_engine::{Config, ConnId, Engine, EngineOptions, Input, Output};

struct Session {
    engine: Engine,
    conn: ConnId,
    now_us: u64,
}

impl Session {
    fn new() -> Session {
        Session::with_seed(1)
    }

    fn with_seed(seed: u64) -> Session {
        let now_us = 1_700_000_000_000_000;
        let mut engine = Engine::new(
            Config::default(),
            EngineOptions {
                seed,
                pid: 1,
                port: 6379,
                ..Default::default()
            },
            now_us,
        );
        let conn = ConnId(1);
        engine.handle_input(
            now_us,
            Input::Accepted {
                conn,
                peer: "127.0.0.1:50000".into(),
                local_port: 6379,
            },
        );
        let mut session = Session {
            engine,
            conn,
            now_us,
        };
        session.drain();
        session
    }

    fn drain(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(o) = self.engine.poll_output() {
            if let Output::Send { conn, bytes } = o {
                assert_eq!(conn, self.conn);
                out.extend_from_slice(&bytes);
            }
        }
        out
    }

    /// Sends one command (arguments split on spaces) and returns the raw reply.
    fn cmd(&mut self, line: &str) -> String {
        let args: Vec<&[u8]> = line.split(' ').map(|a| a.as_bytes()).collect();
        self.cmd_args(&args)
    }

    fn cmd_args(&mut self, args: &[&[u8]]) -> String {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.now_us += 100;
        self.engine.handle_input(
            self.now_us,
            Input::Data {
                conn: self.conn,
                bytes: &req,
            },
        );
        String::from_utf8(self.drain()).expect("replies here are ASCII")
    }

    fn expect(&mut self, line: &str, reply: &str) {
        assert_eq!(self.cmd(line), reply, "reply to {:?}", line);
    }
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn list_pop_with_count_and_empty_key_deletion() {
    let mut s = Session::new();
    s.expect("rpush l a b", ":2\r\n");
    s.expect("lpop l 0", "*0\r\n");
    s.expect("lpop nokey 0", "*-1\r\n");
    s.expect("lpop nokey", "$-1\r\n");
    s.expect(
        "rpop l x",
        "-ERR value is out of range, must be positive\r\n",
    );
    s.expect("rpop l 5", "*2\r\n$1\r\nb\r\n$1\r\na\r\n");
    s.expect("exists l", ":0\r\n");
    s.expect(
        "lpop l 1 2",
        "-ERR wrong number of arguments for 'lpop' command\r\n",
    );
}

#[test]
fn list_index_errors_follow_redis_order() {
    let mut s = Session::new();
    s.expect("lset nokey x a", "-ERR no such key\r\n");
    s.expect("rpush l a b c", ":3\r\n");
    s.expect("lset l 3 x", "-ERR index out of range\r\n");
    s.expect(
        "lset l x y",
        "-ERR value is not an integer or out of range\r\n",
    );
    s.expect("lindex l -4", "$-1\r\n");
    s.expect("linsert l middle b x", "-ERR syntax error\r\n");
    s.expect("linsert l after zz y", ":-1\r\n");
    s.expect("set str v", "+OK\r\n");
    s.expect("rpoplpush l str", WRONGTYPE);
    s.expect("lrange l 0 -1", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
}

#[test]
fn lpos_rank_count_maxlen() {
    let mut s = Session::new();
    s.expect("rpush l a b c a b c a", ":7\r\n");
    s.expect("lpos l a rank -2", ":3\r\n");
    s.expect("lpos l a count 2 rank -1", "*2\r\n:6\r\n:3\r\n");
    s.expect("lpos l a count 0 maxlen 4", "*2\r\n:0\r\n:3\r\n");
    s.expect("lpos l a rank -9223372036854775808", ":6\r\n");
    s.expect(
        "lpos l a rank 0",
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
    );
    s.expect("lpos nokey a count 1", "*0\r\n");
}

#[test]
fn list_rotation_onto_itself() {
    let mut s = Session::new();
    s.expect("rpush one x", ":1\r\n");
    s.expect("lmove one one left right", "$1\r\nx\r\n");
    s.expect("lrange one 0 -1", "*1\r\n$1\r\nx\r\n");
    s.expect("object encoding one", "$9\r\nquicklist\r\n");
}

#[test]
fn hash_listpack_keeps_insertion_order_across_deletes() {
    let mut s = Session::new();
    s.expect("hset h a 1 b 2 c 3 d 4", ":4\r\n");
    s.expect("hdel h b", ":1\r\n");
    s.expect("hset h b 5", ":1\r\n");
    s.expect(
        "hkeys h",
        "*4\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\nb\r\n",
    );
    s.expect(
        "hset h a",
        "-ERR wrong number of arguments for 'hset' command\r\n",
    );
    s.expect(
        "hmset h x 1 y",
        "-ERR wrong number of arguments for 'hmset' command\r\n",
    );
    s.expect("hdel h c d b a", ":4\r\n");
    s.expect("exists h", ":0\r\n");
}

#[test]
fn hincrby_and_hincrbyfloat_errors_and_formatting() {
    let mut s = Session::new();
    s.expect("hset h s abc big 9223372036854775807", ":2\r\n");
    s.expect("hincrby h s 1", "-ERR hash value is not an integer\r\n");
    s.expect(
        "hincrby h big 1",
        "-ERR increment or decrement would overflow\r\n",
    );
    s.expect("hincrbyfloat h s 1", "-ERR hash value is not a float\r\n");
    s.expect("hincrbyfloat h f inf", "-ERR value is NaN or Infinity\r\n");
    s.expect("hincrbyfloat h f x", "-ERR value is not a valid float\r\n");
    // Redis adds in long double, so 0.1 + 0.2 prints as 0.3.
    s.expect("hincrbyfloat h b 0.1", "$3\r\n0.1\r\n");
    s.expect("hincrbyfloat h b 0.2", "$3\r\n0.3\r\n");
    s.expect("hincrbyfloat h c 10.5", "$4\r\n10.5\r\n");
    s.expect("hincrbyfloat h c 0.1", "$4\r\n10.6\r\n");
    s.expect("hincrbyfloat h d 5e3", "$4\r\n5000\r\n");
    s.expect("hincrbyfloat h d 1e-3", "$22\r\n5000.00099999999999989\r\n");
    s.expect("hincrbyfloat h n 0x10", "$2\r\n16\r\n");
    s.expect(
        "hincrbyfloat h u 1e5000",
        "-ERR value is not a valid float\r\n",
    );
    s.expect("hincrbyfloat h e 3.0", "$1\r\n3\r\n");
    s.expect("hincrbyfloat h e -3", "$1\r\n0\r\n");
}

#[test]
fn hash_encoding_conversion_is_one_way() {
    let mut s = Session::new();
    s.expect("config set hash-max-listpack-entries 2", "+OK\r\n");
    s.expect("hset g a 1 b 2", ":2\r\n");
    s.expect("object encoding g", "$8\r\nlistpack\r\n");
    s.expect("hset g c 3", ":1\r\n");
    s.expect("object encoding g", "$9\r\nhashtable\r\n");
    s.expect("hdel g c", ":1\r\n");
    s.expect("object encoding g", "$9\r\nhashtable\r\n");
}

#[test]
fn hrandfield_count_covering_the_hash_returns_it_in_order() {
    let mut s = Session::new();
    s.expect("hset h a 1 b 2 c 3", ":3\r\n");
    s.expect(
        "hrandfield h 10 withvalues",
        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
    );
    s.expect(
        "hrandfield h -9223372036854775807 withvalues",
        "-ERR value is out of range\r\n",
    );
    s.expect("hrandfield nokey 5", "*0\r\n");
    s.expect(
        "hscan h 0 match a*",
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
}

#[test]
fn intset_replies_are_numerically_sorted() {
    let mut s = Session::new();
    s.expect("sadd s 10 -5 3 100 0 -100", ":6\r\n");
    let sorted = "*6\r\n$4\r\n-100\r\n$2\r\n-5\r\n$1\r\n0\r\n$1\r\n3\r\n$2\r\n10\r\n$3\r\n100\r\n";
    s.expect("smembers s", sorted);
    s.expect("srandmember s 10", sorted);
    s.expect("spop s 6", sorted);
    s.expect("exists s", ":0\r\n");
    s.expect("sadd t 01", ":1\r\n");
    s.expect("object encoding t", "$9\r\nhashtable\r\n");
}

#[test]
fn set_algebra_and_store_forms() {
    let mut s = Session::new();
    s.expect("sadd a 1 2 3 4", ":4\r\n");
    s.expect("sadd b 3 4 5", ":3\r\n");
    s.expect(
        "sunion a b",
        "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n",
    );
    s.expect("sdiff a b", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    s.expect("sinterstore d a nokey", ":0\r\n");
    s.expect("exists d", ":0\r\n");
    s.expect("sintercard 2 a b limit 1", ":1\r\n");
    s.expect(
        "sintercard x a",
        "-ERR numkeys should be greater than 0\r\n",
    );
    s.expect("sintercard 1 a limit x", "-ERR LIMIT can't be negative\r\n");
    s.expect(
        "sintercard 3 a b",
        "-ERR Number of keys can't be greater than number of args\r\n",
    );
    s.expect("smove a a 9", ":0\r\n");
    s.expect("set k v", "+OK\r\n");
    s.expect("sinter nokey k", WRONGTYPE);
}

#[test]
fn spop_draws_only_from_the_seeded_rng() {
    let run = |seed| {
        let mut s = Session::with_seed(seed);
        s.cmd("sadd s a b c d e f g h");
        (s.cmd("spop s 3"), s.cmd("srandmember s -4"))
    };
    assert_eq!(run(7), run(7));
}

#[test]
fn zadd_flag_errors_and_incr() {
    let mut s = Session::new();
    s.expect(
        "zadd z nx xx 1 a",
        "-ERR XX and NX options at the same time are not compatible\r\n",
    );
    s.expect(
        "zadd z gt lt 1 a",
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
    );
    s.expect(
        "zadd z incr 1 a 2 b",
        "-ERR INCR option supports a single increment-element pair\r\n",
    );
    s.expect("zadd z 1 a 2", "-ERR syntax error\r\n");
    s.expect("zadd nokey xx incr 1 a", "$-1\r\n");
    s.expect("zadd z 1 a 2 b", ":2\r\n");
    s.expect("zadd z gt ch 50 a 0 b", ":1\r\n");
    s.expect("zadd z inf i", ":1\r\n");
    s.expect(
        "zadd z incr -inf i",
        "-ERR resulting score is not a number (NaN)\r\n",
    );
    s.expect("zadd z 1e400 w", "-ERR value is not a valid float\r\n");
    s.expect("zadd z 0x10 u 1.1 x", ":2\r\n");
    s.expect("zscore z u", "$2\r\n16\r\n");
    s.expect("zscore z x", "$18\r\n1.1000000000000001\r\n");
}

#[test]
fn zset_negative_zero_depends_on_encoding() {
    let mut s = Session::new();
    s.expect("zadd z incr -0 c", "$2\r\n-0\r\n");
    s.expect("zscore z c", "$1\r\n0\r\n");
    s.expect("config set zset-max-listpack-entries 0", "+OK\r\n");
    s.expect("zadd y -0 a", ":1\r\n");
    s.expect("zscore y a", "$2\r\n-0\r\n");
    s.expect("object encoding y", "$8\r\nskiplist\r\n");
}

#[test]
fn zrange_by_score_and_lex_with_rev_and_limit() {
    let mut s = Session::new();
    s.expect("zadd z 1 a 2 b 3 c 4 d 5 e", ":5\r\n");
    s.expect(
        "zrange z 10 0 byscore rev limit 1 2 withscores",
        "*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n",
    );
    s.expect("zrange z 0 10 byscore limit -1 2", "*0\r\n");
    s.expect("zrangebyscore z (1 (3", "*1\r\n$1\r\nb\r\n");
    s.expect("zrange z 0 1 limit 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n");
    s.expect(
        "zrange z - + bylex withscores",
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    );
    s.expect("zrangebyscore z a 1", "-ERR min or max is not a float\r\n");
    s.expect(
        "zrangebylex z a c",
        "-ERR min or max not valid string range item\r\n",
    );
    s.expect("zadd l 0 a 0 b 0 c 0 d", ":4\r\n");
    s.expect(
        "zrevrangebylex l [d (a",
        "*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n",
    );
    s.expect("zremrangebylex l - +", ":4\r\n");
    s.expect("exists l", ":0\r\n");
}

#[test]
fn zpop_zrandmember_and_store_ops() {
    let mut s = Session::new();
    s.expect("zadd z 1 a 2 b 3 c", ":3\r\n");
    s.expect(
        "zrandmember z 5 withscores",
        "*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    s.expect(
        "zpopmax z 2",
        "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    s.expect(
        "zpopmin z x",
        "-ERR value is out of range, must be positive\r\n",
    );
    s.expect("zadd b 10 a 20 w", ":2\r\n");
    s.expect("zunionstore d 2 z b weights 2 3", ":2\r\n");
    s.expect(
        "zrange d 0 -1 withscores",
        "*4\r\n$1\r\na\r\n$2\r\n32\r\n$1\r\nw\r\n$2\r\n60\r\n",
    );
    s.expect(
        "zunionstore d 0 z",
        "-ERR at least 1 input key is needed for 'zunionstore' command\r\n",
    );
    s.expect("zinterstore d 2 z", "-ERR syntax error\r\n");
    s.expect(
        "zunionstore d 2 z b weights 1 x",
        "-ERR weight value is not a float\r\n",
    );
}
