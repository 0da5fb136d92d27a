"""Cases for collections_diff.py: (name, [command, ...]); a command is a
string split on spaces (a leading mode letter and space: 'S ', 'P ', 'N ')
or a list of arguments."""

def c(name, *cmds):
    out = []
    for x in cmds:
        if isinstance(x, str):
            parts = x.split(' ')
            out.append(parts)
        else:
            out.append(x)
    return (name, out)

LIST = [
    c('push', 'lpush l a b c', 'rpush l d e', 'lrange l 0 -1', 'llen l', 'lpushx nokey a', 'rpushx nokey a',
      'exists nokey', 'lpushx l z', 'rpushx l y', 'lrange l 0 -1', 'lpush', 'lpush l', 'rpush l'),
    c('wrongtype', 'set s v', 'lpush s a', 'rpush s a', 'lpushx s a', 'lpop s', 'rpop s 2', 'llen s', 'lrange s 0 1',
      'lindex s 0', 'lset s 0 a', 'linsert s before a b', 'lrem s 0 a', 'ltrim s 0 1', 'lpos s a', 'rpoplpush s l',
      'rpush l a', 'rpoplpush l s', 'lrange l 0 -1', 'lmove l s left right', 'lmove s l left right'),
    c('pop', 'rpush l a b c d e', 'lpop l', 'rpop l', 'lpop l 2', 'rpop l 0', 'rpop l -1', 'rpop l x', 'lpop l 10',
      'exists l', 'lpop l', 'lpop l 1', 'lpop l 0', 'lpop l 1 2', 'rpop l 1 2 3'),
    c('range', 'rpush l a b c d e f', 'lrange l 0 2', 'lrange l -3 -1', 'lrange l -100 100', 'lrange l 5 2',
      'lrange l 6 10', 'lrange l x 1', 'lrange l 1 y', 'lrange nokey 0 -1', 'lrange l -1 -2', 'lrange l 0 0'),
    c('index_set', 'rpush l a b c', 'lindex l 0', 'lindex l -1', 'lindex l 3', 'lindex l -4', 'lindex l x',
      'lindex nokey x', 'lset l 1 B', 'lset l -1 C', 'lset l 3 x', 'lset l -4 x', 'lset l x y', 'lset nokey 0 a',
      'lset nokey x a', 'lrange l 0 -1'),
    c('insert', 'rpush l a b c', 'linsert l before b x', 'linsert l after c y', 'linsert l after zz y',
      'linsert l middle b x', 'linsert nokey before a b', 'linsert nokey middle a b', 'lrange l 0 -1'),
    c('lrem', 'rpush l a b a c a b a', 'lrem l 2 a', 'lrange l 0 -1', 'lrem l -1 a', 'lrange l 0 -1',
      'lrem l 0 b', 'lrange l 0 -1', 'lrem l x a', 'lrem nokey 0 a', 'lrem l 0 a', 'lrem l 0 c', 'exists l'),
    c('ltrim', 'rpush l a b c d e f', 'ltrim l 1 -2', 'lrange l 0 -1', 'ltrim l 1 100', 'lrange l 0 -1',
      'ltrim l x 1', 'ltrim nokey 0 1', 'ltrim l 5 1', 'exists l', 'rpush l a b', 'ltrim l -1 -1', 'lrange l 0 -1'),
    c('lpos', 'rpush l a b c a b c a', 'lpos l a', 'lpos l c', 'lpos l z', 'lpos l a rank 2', 'lpos l a rank -1',
      'lpos l a rank -2', 'lpos l a rank 10', 'lpos l a count 0', 'lpos l a count 2', 'lpos l a count 2 rank -1',
      'lpos l a maxlen 3', 'lpos l a count 0 maxlen 4', 'lpos l a rank 0', 'lpos l a count -1', 'lpos l a maxlen -1',
      'lpos l a rank x', 'lpos l a rank', 'lpos l a foo 1', 'lpos nokey a', 'lpos nokey a count 1',
      'lpos l a rank -9223372036854775808', 'lpos l a rank 9223372036854775807', 'lpos l b count 0 rank 2 maxlen 5'),
    c('move', 'rpush a 1 2 3', 'rpoplpush a b', 'lrange a 0 -1', 'lrange b 0 -1', 'rpoplpush a a', 'lrange a 0 -1',
      'lmove a b left left', 'lmove a b right right', 'lrange a 0 -1', 'lrange b 0 -1', 'lmove a b up down',
      'lmove nokey b left left', 'rpoplpush nokey b', 'lmove a b left right', 'exists a', 'lrange b 0 -1',
      'rpush one x', 'lmove one one left right', 'lrange one 0 -1'),
    c('arity', 'lpop', 'llen', 'llen a b', 'lrange l 0', 'lindex l', 'lset l 0', 'linsert l before a',
      'lrem l 0', 'ltrim l 0', 'lpos l', 'rpoplpush a', 'lmove a b left'),
    c('encoding', 'rpush l a', 'object encoding l', 'type l'),
]

HASH = [
    c('hset', 'hset h a 1 b 2', 'hset h a 10 c 3', 'hgetall h', 'hset h a', 'hset h a 1 b', 'hmset h x 1 y',
      'hmset h x 1 y 2', 'hgetall h', 'hlen h', 'hkeys h', 'hvals h', 'hsetnx h a 5', 'hsetnx h n 5', 'hget h n',
      'hsetnx h', 'object encoding h'),
    c('read', 'hset h f1 v1 f2 v2 f3 v3', 'hget h f1', 'hget h zz', 'hget nokey f', 'hmget h f1 zz f3',
      'hmget nokey a b', 'hstrlen h f2', 'hstrlen h zz', 'hstrlen nokey f', 'hexists h f1', 'hexists h zz',
      'hexists nokey f', 'hlen nokey', 'hkeys nokey', 'hvals nokey', 'hgetall nokey'),
    c('hdel', 'hset h a 1 b 2 c 3 d 4', 'hdel h b', 'hgetall h', 'hset h b 5', 'hgetall h', 'hdel h zz a a',
      'hkeys h', 'hdel nokey a', 'hdel h c d b', 'exists h', 'hdel h'),
    c('wrongtype', 'set s v', 'hset s a 1', 'hget s a', 'hmget s a', 'hdel s a', 'hlen s', 'hstrlen s a',
      'hexists s a', 'hkeys s', 'hvals s', 'hgetall s', 'hincrby s a 1', 'hincrbyfloat s a 1', 'hrandfield s',
      'hrandfield s 1', 'hscan s 0', 'hsetnx s a 1', 'hmset s a 1'),
    c('hincrby', 'hincrby h a 5', 'hincrby h a -7', 'hget h a', 'hincrby h a x', 'hset h s abc', 'hincrby h s 1',
      'hset h big 9223372036854775807', 'hincrby h big 1', 'hincrby h big 0', 'hincrby h a 9223372036854775808',
      'hset h sp " 1"', 'hincrby h sp 1', 'hgetall h'),
    c('hincrbyfloat', 'hincrbyfloat h a 1.5', 'hincrbyfloat h a 0.1', 'hincrbyfloat h a -1.6', 'hincrbyfloat h b 0.1',
      'hincrbyfloat h b 0.2', 'hincrbyfloat h c 10.5', 'hincrbyfloat h c 0.1', 'hincrbyfloat h c x',
      'hincrbyfloat h c inf', 'hincrbyfloat h c -inf', 'hincrbyfloat h c nan', 'hset h s abc', 'hincrbyfloat h s 1',
      'hincrbyfloat h d 5e3', 'hincrbyfloat h d 1e-3', 'hset h i 7', 'hincrbyfloat h i 3', 'hincrbyfloat h e 3.0',
      'hincrbyfloat h e -3', 'hincrbyfloat h f 0.0001', 'hgetall h'),
    c('hincrbyfloat_precision', 'hincrbyfloat a x 1e308', 'hincrbyfloat a x 1e308', 'hincrbyfloat a x 1e308',
      'hincrbyfloat a y 3.14159265358979323846', 'hincrbyfloat a y 2.71828182845904523536', 'hincrbyfloat a z 1e-20',
      'hincrbyfloat a z 1e-17', 'hincrbyfloat a z 5e-18', 'hincrbyfloat a w 123456789.123456789',
      'hincrbyfloat a w 0.000000001', 'hincrbyfloat a v -0.1', 'hincrbyfloat a v 0.1', 'hincrbyfloat a u 1e5000',
      'hincrbyfloat a u 1e-5000', 'hincrbyfloat a u .5', 'hincrbyfloat a u 5.', 'hincrbyfloat a u 1e', 'hincrbyfloat a u +2',
      'hincrbyfloat a t 9223372036854775807', 'hincrbyfloat a t 1', 'hincrbyfloat a s 1.5e3', 'hincrbyfloat a s -1500.25',
      'hset a inf inf', 'hincrbyfloat a inf 1', 'hincrbyfloat a r 0.3', 'hincrbyfloat a r 0.3', 'hincrbyfloat a r 0.3',
      'hincrbyfloat a q 100.01', 'hincrbyfloat a q 100.01', 'hincrbyfloat a p 1e18', 'hincrbyfloat a p 0.5',
      'hincrbyfloat a o 2.5e-3', 'hincrbyfloat a o 7777.77777', 'hincrbyfloat a n 0x10', 'hincrbyfloat a m " 1"'),
    c('hrandfield', 'hset h a 1 b 2 c 3', 'hrandfield h 3', 'hrandfield h 10', 'hrandfield h 10 withvalues',
      'hrandfield h 0', 'hrandfield h 0 withvalues', 'N hrandfield h', 'N hrandfield h 2', 'N hrandfield h -5',
      'N hrandfield h -5 withvalues', 'hrandfield h 1 foo', 'hrandfield h 1 withvalues x', 'hrandfield h x',
      'hrandfield nokey', 'hrandfield nokey 5', 'hrandfield nokey 5 withvalues',
      'hrandfield h -9223372036854775807 withvalues', 'hrandfield h -9223372036854775808',
      'hrandfield h 4611686018427387904 withvalues'),
    c('hscan', 'hset h a 1 b 2 c 3', 'hscan h 0', 'hscan h 0 match a*', 'hscan h 0 count 1', 'hscan h x',
      'hscan h 0 count 0', 'hscan h 0 count x', 'hscan h 0 foo bar', 'hscan nokey 0', 'hscan h 0 match'),
    c('encoding', 'hset h a 1', 'object encoding h', ['hset', 'h', 'long', 'x' * 65], 'object encoding h',
      'hdel h long', 'object encoding h', 'P hgetall h', 'config set hash-max-listpack-entries 2',
      'hset g a 1 b 2', 'object encoding g', 'hset g c 3', 'object encoding g', 'hdel g c', 'object encoding g',
      'config set hash-max-listpack-entries 128'),
    c('big_hash', *['hset big f%d v%d' % (i, i) for i in range(140)], 'object encoding big', 'hlen big',
      'P hgetall big', 'S hkeys big', 'S hvals big', 'hget big f77', 'P hscan big 0 count 1000'),
]

SET = [
    c('sadd', 'sadd s 3 1 2', 'sadd s 2 4', 'smembers s', 'scard s', 'object encoding s', 'sadd s a',
      'object encoding s', 'S smembers s', 'srem s a', 'object encoding s', 'sadd s', 'srem s'),
    c('intset_order', 'sadd s 10 -5 3 100 0 -100', 'smembers s', 'sscan s 0', 'sscan s 0 count 1',
      'sscan s 0 match 1*', 'srandmember s 10', 'srandmember s 6', 'spop s 6', 'exists s'),
    c('members', 'sadd s a b c', 'sismember s a', 'sismember s z', 'sismember nokey a', 'smismember s a z c',
      'smismember nokey a b', 'scard nokey', 'smembers nokey', 'srem s a z', 'srem nokey a', 'srem s b c', 'exists s'),
    c('wrongtype', 'set k v', 'sadd k a', 'srem k a', 'scard k', 'sismember k a', 'smismember k a', 'smembers k',
      'spop k', 'spop k 2', 'srandmember k', 'srandmember k 2', 'smove k s a', 'sadd s a', 'smove s k a',
      'sinter k', 'sinter s k', 'sunion s k', 'sdiff s k', 'sinterstore d k', 'sunionstore d s k', 'sintercard 1 k',
      'sscan k 0', 'sdiff nokey k', 'sinter nokey k'),
    c('spop', 'sadd s 1 2 3', 'N spop s', 'N spop s 1', 'N spop s 5', 'exists s', 'spop s', 'spop s 0', 'spop s 2',
      'spop s -1', 'spop s x', 'spop s 1 2', 'sadd t a', 'spop t 0', 'spop t', 'exists t'),
    c('srandmember', 'sadd s 1 2 3', 'srandmember s 0', 'srandmember s 3', 'srandmember s 5', 'N srandmember s',
      'N srandmember s 2', 'N srandmember s -7', 'srandmember s x', 'srandmember s 1 2', 'srandmember nokey',
      'srandmember nokey 3', 'srandmember nokey -3', 'srandmember s -9223372036854775808'),
    c('smove', 'sadd a 1 2', 'sadd b 3', 'smove a b 1', 'smembers a', 'smembers b', 'smove a b 9', 'smove a a 2',
      'smove a a 9', 'smove nokey b 1', 'smove a c 2', 'exists a', 'smembers c', 'smove c b 2', 'smembers b',
      'sadd d x', 'smove d b x', 'object encoding b', 'S smembers b'),
    c('inter_union_diff', 'sadd a 1 2 3 4', 'sadd b 3 4 5', 'sadd c 4 5 6', 'sinter a b', 'sinter a b c', 'sinter a nokey',
      'sunion a b', 'sunion a b c nokey', 'sdiff a b', 'sdiff a b c', 'sdiff nokey a', 'sdiff a nokey', 'sdiff a a',
      'sinterstore d a b', 'smembers d', 'sunionstore d a c', 'smembers d', 'sdiffstore d a b', 'smembers d',
      'sinterstore d a nokey', 'exists d', 'set d x', 'sunionstore d a', 'type d',
      'sdiffstore d a a', 'exists d', 'sintercard 2 a b', 'sintercard 3 a b c', 'sintercard 2 a b limit 1',
      'sintercard 2 a b limit 0', 'sintercard 2 a nokey', 'sintercard 0 a', 'sintercard x a', 'sintercard 3 a b',
      'sintercard 1 a limit -1', 'sintercard 1 a limit x', 'sintercard 1 a limit', 'sintercard 1 a foo',
      'sintercard -1 a'),
    c('mixed_members', 'sadd a x y 1', 'sadd b y 1 z', 'S sinter a b', 'S sunion a b', 'S sdiff a b', 'sdiffstore d a b',
      'object encoding d', 'sinterstore e a b', 'object encoding e', 'sunionstore f a b', 'object encoding f'),
    c('encoding', 'config set set-max-intset-entries 3', 'sadd s 1 2 3', 'object encoding s', 'sadd s 4',
      'object encoding s', 'srem s 4', 'object encoding s', 'config set set-max-intset-entries 512',
      'sadd t 01', 'object encoding t', 'sadd u -0', 'object encoding u', 'sadd v 9223372036854775807 -9223372036854775808',
      'object encoding v', 'smembers v'),
    c('sscan', 'sadd s a b c', 'S sscan s 0', 'sscan s x', 'sscan nokey 0', 'sscan s 0 count 0', 'S sscan s 0 match a*'),
    c('big_set', *['sadd big %d' % i for i in range(600)], 'object encoding big', 'scard big', 'sismember big 599',
      'S smembers big', 'srem big 5', 'scard big'),
]

ZSET = [
    c('zadd', 'zadd z 1 a 2 b 3 c', 'zadd z 1 a', 'zadd z ch 5 a 2 b 9 d', 'zrange z 0 -1 withscores',
      'zadd z nx 100 a 4 e', 'zadd z xx 100 a 4 f', 'zrange z 0 -1 withscores', 'zadd z gt 50 a 200 b', 'zadd z gt ch 50 a 200 b',
      'zadd z lt ch 1 a 300 b', 'zrange z 0 -1 withscores', 'zadd z incr 5 a', 'zadd z nx incr 5 a', 'zadd z xx incr 5 zz',
      'zadd z incr 5 new', 'zadd z gt incr -5 a', 'zadd z lt incr -5 a', 'zadd z nx xx 1 a', 'zadd z nx gt 1 a',
      'zadd z gt lt 1 a', 'zadd z lt nx 1 a', 'zadd z incr 1 a 2 b', 'zadd z 1', 'zadd z 1 a 2', 'zadd z x a',
      'zadd z 1 a x b', 'zadd z nan a', 'zadd z inf i -inf j', 'zscore z i', 'zscore z j', 'zadd z incr -inf i',
      'zadd z incr 1 i', 'zadd z xx 1 nokey', 'zadd nokey xx 1 a', 'exists nokey', 'zadd nokey xx incr 1 a',
      'zadd z ch', 'zadd z CH NX 7 q', 'zadd z 1.5e2 s -0 t 0x10 u', 'zscore z s', 'zscore z t', 'zadd z " 1" v',
      'zadd z 1e400 w', 'zadd z .5 w', 'zscore z w', 'zadd z 1.1 x', 'zscore z x', 'zadd z 0.1 y', 'zscore z y',
      'zadd z 3.0 yy', 'zscore z yy', 'zadd z 123456789012345678 zz', 'zscore z zz'),
    c('zincrby', 'zincrby z 5 a', 'zincrby z 2.5 a', 'zincrby z x a', 'zincrby z -inf a', 'zincrby z inf a',
      'zincrby z 1 a', 'zadd z inf b', 'zincrby z -inf b', 'zscore z b', 'set s v', 'zincrby s 1 a'),
    c('basic', 'zadd z 1 a 2 b 3 c', 'zcard z', 'zcard nokey', 'zscore z a', 'zscore z zz', 'zscore nokey a',
      'zmscore z a zz c', 'zmscore nokey a', 'zrank z a', 'zrank z c', 'zrank z zz', 'zrank nokey a',
      'zrevrank z a', 'zrevrank z c', 'zrevrank z zz', 'zrem z a zz', 'zrem z', 'zrem nokey a', 'zrem z b c',
      'exists z'),
    c('wrongtype', 'set s v', 'zadd s 1 a', 'zrem s a', 'zcard s', 'zscore s a', 'zmscore s a', 'zrank s a',
      'zrange s 0 1', 'zrangebyscore s 0 1', 'zrangebylex s - +', 'zcount s 0 1', 'zlexcount s - +',
      'zremrangebyrank s 0 1', 'zpopmin s', 'zpopmax s 0', 'zrandmember s', 'zscan s 0', 'zunionstore d 1 s',
      'zinter 1 s', 'zrangestore d s 0 1', 'sadd st 1', 'zunion 2 st s'),
    c('zrange_rank', 'zadd z 1 a 2 b 3 c 4 d 5 e', 'zrange z 0 -1', 'zrange z 1 2 withscores', 'zrange z -2 -1',
      'zrange z 3 1', 'zrange z -100 100', 'zrange z 5 10', 'zrange z 0 -1 rev', 'zrange z 0 1 rev withscores',
      'zrevrange z 0 1', 'zrevrange z 0 -1 withscores', 'zrevrange z 0 1 rev', 'zrange z x 1', 'zrange z 0 y',
      'zrange z 0 1 limit 0 1', 'zrange z 0 1 foo', 'zrange nokey 0 1', 'zrange z 0 1 withscores withscores',
      'zrevrange z 0 1 byscore', 'zrange z 0 1 limit 0', 'zrange z 0 1 limit x 1'),
    c('zrange_score', 'zadd z 1 a 2 b 3 c 4 d 5 e', 'zrange z 2 4 byscore', 'zrange z (2 4 byscore withscores',
      'zrange z 2 (4 byscore', 'zrange z -inf +inf byscore', 'zrange z 4 2 byscore rev', 'zrange z (4 2 byscore rev',
      'zrange z 0 10 byscore limit 1 2', 'zrange z 0 10 byscore limit 1 -1', 'zrange z 0 10 byscore limit -1 2',
      'zrange z 0 10 byscore limit 10 2', 'zrange z 0 10 byscore limit 0 0', 'zrange z 10 0 byscore rev limit 1 2 withscores',
      'zrangebyscore z 2 4', 'zrangebyscore z 2 4 withscores limit 1 5', 'zrangebyscore z (1 (5', 'zrangebyscore z a 1',
      'zrangebyscore z 1 b', 'zrangebyscore z 1 2 rev', 'zrangebyscore z 1 2 bylex', 'zrevrangebyscore z 4 2',
      'zrevrangebyscore z +inf -inf withscores', 'zrevrangebyscore z 4 2 limit 1 1', 'zrangebyscore z 3 3',
      'zrangebyscore z (3 3', 'zrangebyscore z 4 2', 'zrangebyscore z inf -inf', ['zrangebyscore', 'z', '', '3'],
      ['zrangebyscore', 'z', '(', '3'], 'zrangebyscore z nan 3', 'zrangebyscore z 1 2 withscores limit 0',
      'zrangebyscore nokey 0 1', 'zrangebyscore z 1e0 2.5e0', 'zrangebyscore z [1 2'),
    c('zrange_lex', 'zadd z 0 a 0 b 0 c 0 d 0 e', 'zrangebylex z - +', 'zrangebylex z [b (d', 'zrangebylex z (a [c',
      'zrangebylex z + -', 'zrangebylex z - + limit 1 2', 'zrevrangebylex z + -', 'zrevrangebylex z [d (a',
      'zrevrangebylex z + - limit 0 2', 'zrange z [b [d bylex', 'zrange z [d [b bylex rev', 'zrange z - + bylex withscores',
      'zrangebylex z a c', 'zrangebylex z [a c', 'zrangebylex z -a +', 'zrangebylex z - ++', ['zrangebylex', 'z', '', '+'],
      'zrangebylex z [ +', 'zrangebylex z ( +', 'zrangebylex z - + withscores', 'zlexcount z - +', 'zlexcount z [b (e',
      'zlexcount z x +', 'zlexcount nokey - +', 'zrangebylex nokey - +'),
    c('zcount', 'zadd z 1 a 2 b 3 c', 'zcount z 1 2', 'zcount z (1 2', 'zcount z -inf +inf', 'zcount z 3 1',
      'zcount z x 1', 'zcount nokey 0 1', 'zcount z 1'),
    c('zremrange', 'zadd z 1 a 2 b 3 c 4 d 5 e 6 f', 'zremrangebyrank z 0 1', 'zrange z 0 -1', 'zremrangebyrank z -1 -1',
      'zremrangebyrank z 5 1', 'zremrangebyrank z x 1', 'zremrangebyscore z (3 4', 'zrange z 0 -1 withscores',
      'zremrangebyscore z x 1', 'zremrangebyscore nokey 0 1', 'zadd l 0 a 0 b 0 c', 'zremrangebylex l [a (c',
      'zrange l 0 -1', 'zremrangebylex l x y', 'zremrangebylex l - +', 'exists l', 'zremrangebyrank z 0 -1', 'exists z'),
    c('zpop', 'zadd z 1 a 2 b 3 c 4 d', 'zpopmin z', 'zpopmax z', 'zpopmin z 0', 'zpopmin z 5', 'exists z',
      'zpopmin z', 'zpopmax nokey 2', 'zpopmin z -1', 'zpopmin z x', 'zpopmin z 1 2', 'zadd y 1 a 2 b 3 c',
      'zpopmax y 2', 'zrange y 0 -1', 'set s v', 'zpopmin s 0'),
    c('zrandmember', 'zadd z 1 a 2 b 3 c', 'zrandmember z 3', 'zrandmember z 5 withscores', 'zrandmember z 0',
      'N zrandmember z', 'N zrandmember z 2', 'N zrandmember z -4 withscores', 'zrandmember z 1 foo', 'zrandmember z x',
      'zrandmember nokey', 'zrandmember nokey 2', 'zrandmember z -9223372036854775807 withscores',
      'zrandmember z -9223372036854775808'),
    c('zscan', 'zadd z 1 a 2.5 b 3 c', 'zscan z 0', 'zscan z 0 match b*', 'zscan z 0 count 1', 'zscan z x',
      'zscan nokey 0', 'zscan z 0 count 0'),
    c('zsetops', 'zadd a 1 x 2 y 3 z', 'zadd b 10 y 20 z 30 w', 'sadd s x w', 'zunionstore d 2 a b', 'zrange d 0 -1 withscores',
      'zinterstore d 2 a b', 'zrange d 0 -1 withscores', 'zunionstore d 2 a b weights 2 3', 'zrange d 0 -1 withscores',
      'zunionstore d 2 a b aggregate max', 'zrange d 0 -1 withscores', 'zinterstore d 2 a b aggregate min weights 1 0.5',
      'zrange d 0 -1 withscores', 'zunionstore d 3 a b s', 'zrange d 0 -1 withscores', 'zinterstore d 2 a s',
      'zrange d 0 -1 withscores', 'zunionstore d 0 a', 'zunionstore d -1 a', 'zunionstore d 3 a b', 'zunionstore d x a',
      'zunionstore d 2 a b weights 1', 'zunionstore d 2 a b weights 1 x', 'zunionstore d 2 a b aggregate foo',
      'zunionstore d 2 a b aggregate', 'zunionstore d 2 a b withscores', 'zinterstore d 2 a nokey', 'exists d',
      'zunionstore d 1 nokey', 'zunion 2 a b', 'zunion 2 a b withscores', 'zinter 2 a b withscores',
      'zdiff 2 a b withscores', 'zdiff 2 a b weights 1 1', 'zdiffstore d 2 b a', 'zrange d 0 -1 withscores',
      'zinter 0 a', 'zadd i1 inf x', 'zadd i2 -inf x', 'zunion 2 i1 i2 withscores', 'zunion 1 i1 weights 0 withscores',
      'zinterstore d 2 a b weights 1 1 aggregate sum', 'object encoding d'),
    c('zintercard', 'zadd a 1 x 2 y', 'zadd b 1 y 2 z', 'sadd s y', 'zintercard 2 a b', 'zintercard 0 a', 'zintercard x a',
      'zintercard 3 a b', 'zintercard 2 a b limit 1', 'zintercard 2 a b limit -1', 'zintercard 2 a b limit x',
      'zintercard 2 a b weights 1 1', 'zintercard 1 nokey', 'zintercard 2 a b limit 0', 'zintercard 2 a b withscores',
      'zintercard 3 a b s', 'zunion 1 a limit 1', 'zinter 0 a', 'zdiff 0 a', 'zdiffstore d 0 a', 'zintercard 1 a limit',
      'set str v', 'zintercard 2 a str'),
    c('zrangestore', 'zadd z 1 a 2 b 3 c', 'zrangestore d z 0 1', 'zrange d 0 -1 withscores', 'zrangestore d z 2 3 byscore',
      'zrangestore d z (3 +inf byscore', 'exists d', 'zrangestore d z 0 1 withscores', 'zrangestore d nokey 0 1',
      'zrangestore d z [a [b bylex', 'zrangestore d z 0 -1 rev', 'zrange d 0 -1'),
    c('encoding', 'zadd z 1 a', 'object encoding z', ['zadd', 'z', '2', 'y' * 65], 'object encoding z',
      ['zrem', 'z', 'y' * 65], 'object encoding z', 'config set zset-max-listpack-entries 2', 'zadd w 1 a 2 b',
      'object encoding w', 'zadd w 3 c', 'object encoding w', 'zrem w c', 'object encoding w',
      'zunionstore u 1 w', 'object encoding u', 'config set zset-max-listpack-entries 128'),
    c('big_zset', *['zadd big %d m%d' % (i % 7, i) for i in range(200)], 'object encoding big', 'zrange big 0 9 withscores',
      'zrevrange big 0 4', 'zrangebyscore big 3 3 limit 5 3', 'zcount big 2 4', 'zrank big m100', 'zpopmin big 3',
      'zremrangebyrank big 0 9', 'zcard big'),
]

CASES = LIST + HASH + SET + ZSET

ARITY = [c('arity_' + name, name, name + ' k', name + ' k a', name + ' k a b', name + ' k a b c d e') for name in ['lpush', 'rpush', 'lpushx', 'rpushx', 'lpop', 'rpop', 'llen', 'lrange', 'lindex', 'lset', 'linsert', 'lrem', 'ltrim', 'lpos', 'rpoplpush', 'lmove', 'hset', 'hmset', 'hsetnx', 'hget', 'hmget', 'hdel', 'hlen', 'hstrlen', 'hexists', 'hkeys', 'hvals', 'hgetall', 'hincrby', 'hincrbyfloat', 'hrandfield', 'hscan', 'sadd', 'srem', 'scard', 'sismember', 'smismember', 'smembers', 'spop', 'srandmember', 'smove', 'sinter', 'sinterstore', 'sintercard', 'sunion', 'sunionstore', 'sdiff', 'sdiffstore', 'sscan', 'zadd', 'zincrby', 'zrem', 'zcard', 'zscore', 'zmscore', 'zrank', 'zrevrank', 'zrange', 'zrangestore', 'zrevrange', 'zrangebyscore', 'zrevrangebyscore', 'zrangebylex', 'zrevrangebylex', 'zcount', 'zlexcount', 'zremrangebyrank', 'zremrangebyscore', 'zremrangebylex', 'zpopmin', 'zpopmax', 'zrandmember', 'zscan', 'zunionstore', 'zinterstore', 'zdiffstore', 'zunion', 'zinter', 'zdiff', 'zintercard']]
CASES = CASES + ARITY

# Mixed-type keyspace: every command against each wrong type and a missing key.
TYPES = [c('types_' + name, 'set str v', 'rpush list a', 'hset hash f v', 'sadd set m', 'zadd zset 1 m',
           *[name + ' ' + k + ' 0 1' for k in ('str', 'list', 'hash', 'set', 'zset', 'nokey')],
           *[name + ' ' + k for k in ('str', 'list', 'hash', 'set', 'zset', 'nokey')])
         for name in ['lpush', 'rpush', 'lpushx', 'rpushx', 'lpop', 'rpop', 'llen', 'lrange', 'lindex', 'lset', 'linsert', 'lrem', 'ltrim', 'lpos', 'rpoplpush', 'lmove', 'hset', 'hmset', 'hsetnx', 'hget', 'hmget', 'hdel', 'hlen', 'hstrlen', 'hexists', 'hkeys', 'hvals', 'hgetall', 'hincrby', 'hincrbyfloat', 'hscan', 'sadd', 'srem', 'scard', 'sismember', 'smismember', 'smembers', 'smove', 'sinter', 'sinterstore', 'sintercard', 'sunion', 'sunionstore', 'sdiff', 'sdiffstore', 'sscan', 'zadd', 'zincrby', 'zrem', 'zcard', 'zscore', 'zmscore', 'zrank', 'zrevrank', 'zrange', 'zrangestore', 'zrevrange', 'zrangebyscore', 'zrevrangebyscore', 'zrangebylex', 'zrevrangebylex', 'zcount', 'zlexcount', 'zremrangebyrank', 'zremrangebyscore', 'zremrangebylex', 'zpopmin', 'zpopmax', 'zscan', 'zunionstore', 'zinterstore', 'zdiffstore', 'zunion', 'zinter', 'zdiff', 'zintercard']]
CASES = CASES + TYPES

# Seeded random sequences over a tiny keyspace, so commands collide on keys,
# types, members and range bounds. Set replies are compared sorted (a set
# with non-integer members is a hashtable in Redis).
def _fuzz(seed, length):
    import random
    rng = random.Random(seed)
    keys = ['k1', 'k2', 'k3']
    vals = ['a', 'b', 'c', '1', '2', '-3', '10', 'x' * 70]
    nums = ['0', '1', '-1', '2', '-2', '5', '100', 'x', '1.5', '-inf', '+inf', '(1', '(2']
    lex = ['-', '+', '[a', '(a', '[b', '(c', 'a']
    k = lambda: rng.choice(keys)
    v = lambda: rng.choice(vals)
    n = lambda: rng.choice(nums)
    templates = [
        lambda: 'lpush %s %s %s' % (k(), v(), v()), lambda: 'rpush %s %s' % (k(), v()),
        lambda: 'lpop %s' % k(), lambda: 'rpop %s %s' % (k(), n()), lambda: 'lrange %s %s %s' % (k(), n(), n()),
        lambda: 'lindex %s %s' % (k(), n()), lambda: 'lset %s %s %s' % (k(), n(), v()),
        lambda: 'linsert %s %s %s %s' % (k(), rng.choice(['before', 'after']), v(), v()),
        lambda: 'lrem %s %s %s' % (k(), n(), v()), lambda: 'ltrim %s %s %s' % (k(), n(), n()),
        lambda: 'lpos %s %s rank %s count %s' % (k(), v(), n(), n()), lambda: 'lmove %s %s left right' % (k(), k()),
        lambda: 'hset %s %s %s' % (k(), v(), v()), lambda: 'hdel %s %s %s' % (k(), v(), v()),
        lambda: 'P hgetall %s' % k(), lambda: 'hincrby %s %s %s' % (k(), v(), n()),
        lambda: 'hincrbyfloat %s %s %s' % (k(), v(), n()), lambda: 'hmget %s %s %s' % (k(), v(), v()),
        lambda: 'hsetnx %s %s %s' % (k(), v(), v()), lambda: 'hlen %s' % k(),
        lambda: 'sadd %s %s %s' % (k(), v(), v()), lambda: 'srem %s %s' % (k(), v()),
        lambda: 'S smembers %s' % k(), lambda: 'S sinter %s %s' % (k(), k()), lambda: 'S sunion %s %s' % (k(), k()),
        lambda: 'S sdiff %s %s' % (k(), k()), lambda: 'sinterstore %s %s %s' % (k(), k(), k()),
        lambda: 'sunionstore %s %s %s' % (k(), k(), k()), lambda: 'smove %s %s %s' % (k(), k(), v()),
        lambda: 'sintercard 2 %s %s' % (k(), k()), lambda: 'smismember %s %s %s' % (k(), v(), v()),
        lambda: 'zadd %s %s %s %s' % (k(), rng.choice(['', 'nx', 'xx', 'gt', 'lt', 'ch', 'incr']), n(), v()),
        lambda: 'zincrby %s %s %s' % (k(), n(), v()), lambda: 'zrem %s %s' % (k(), v()),
        lambda: 'zrange %s %s %s withscores' % (k(), n(), n()),
        lambda: 'zrange %s %s %s byscore %s limit %s %s' % (k(), n(), n(), rng.choice(['', 'rev']), n(), n()),
        lambda: 'zrangebylex %s %s %s' % (k(), rng.choice(lex), rng.choice(lex)),
        lambda: 'zcount %s %s %s' % (k(), n(), n()), lambda: 'zremrangebyscore %s %s %s' % (k(), n(), n()),
        lambda: 'zremrangebyrank %s %s %s' % (k(), n(), n()), lambda: 'zpopmin %s %s' % (k(), n()),
        lambda: 'zunionstore %s 2 %s %s' % (k(), k(), k()), lambda: 'zinterstore %s 2 %s %s weights 2 %s' % (k(), k(), k(), n()),
        lambda: 'zrank %s %s' % (k(), v()), lambda: 'zmscore %s %s %s' % (k(), v(), v()),
        lambda: 'type %s' % k(), lambda: 'object encoding %s' % k(),
    ]
    out = []
    for _ in range(length):
        line = rng.choice(templates)().replace('  ', ' ')
        out.append(line)
    return c('fuzz_%d' % seed, *out)

FUZZ = [_fuzz(seed, 150) for seed in range(40)]
CASES = CASES + FUZZ

# The same with tiny encoding limits, so values cross listpack/intset limits
# and must stay converted after shrinking (OBJECT ENCODING is in the mix).
def _small_limits(case):
    name, cmds = case
    limits = [['config', 'set', 'hash-max-listpack-entries', '3'], ['config', 'set', 'set-max-intset-entries', '3'],
              ['config', 'set', 'zset-max-listpack-entries', '3']]
    restore = [['config', 'set', 'hash-max-listpack-entries', '128'], ['config', 'set', 'set-max-intset-entries', '512'],
               ['config', 'set', 'zset-max-listpack-entries', '128']]
    return (name + '_small', limits + cmds + restore)

SMALL = [_small_limits(_fuzz(seed, 150)) for seed in range(100, 130)]
CASES = CASES + SMALL
