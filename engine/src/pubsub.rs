//! Pub/sub as Redis 7.0 does it over RESP2 (Redis's pubsub.c): SUBSCRIBE,
//! UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB, RESET, the
//! subscribed-context restriction processCommand applies, and
//! `publish_message` for messages the server publishes itself (Sentinel's
//! events).
//!
//! Each client keeps what it is subscribed to (`Client::pubsub_channels`,
//! `Client::pubsub_patterns`); the server keeps the reverse maps here.
//! Delivery order is deterministic: a channel's subscribers in subscription
//! order (a list in Redis too), then each matching pattern's subscribers,
//! patterns in the order they were first subscribed. Redis 7.0 walks its
//! pattern dict in hash order there, which a seeded run must not copy.

use std::collections::BTreeMap;

use crate::commands::{flags, Command, Ctx};
use crate::networking::{Client, ClientKind};
use crate::object::Map;
use crate::server::Server;
use crate::ConnId;

/// server.pubsub_channels and server.pubsub_patterns.
#[derive(Debug, Default)]
pub struct PubsubState {
    /// Channel -> its subscribers, in subscription order.
    channels: BTreeMap<Vec<u8>, Vec<ConnId>>,
    /// Pattern -> its subscribers, in subscription order; patterns in the
    /// order they were first subscribed.
    patterns: Map<Vec<u8>, Vec<ConnId>>,
}

impl PubsubState {
    /// INFO pubsub_channels: channels with at least one subscriber.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
    /// INFO pubsub_patterns and PUBSUB NUMPAT: distinct patterns subscribed.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
    /// PUBSUB NUMSUB for one channel.
    pub fn subscribers(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, Vec::len)
    }
}

// ---- the reply frames (addReplyPubsub*) ----

fn reply_count_frame(c: &mut Client, kind: &str, name: Option<&[u8]>) {
    c.reply.array(3);
    c.reply.bulk_str(kind);
    match name {
        Some(name) => c.reply.bulk(name),
        None => c.reply.null(),
    }
    let count = c.subscription_count();
    c.reply.int(count as i64);
}

fn reply_message(c: &mut Client, channel: &[u8], message: &[u8]) {
    c.reply.array(3);
    c.reply.bulk_str("message");
    c.reply.bulk(channel);
    c.reply.bulk(message);
}

fn reply_pmessage(c: &mut Client, pattern: &[u8], channel: &[u8], message: &[u8]) {
    c.reply.array(4);
    c.reply.bulk_str("pmessage");
    c.reply.bulk(pattern);
    c.reply.bulk(channel);
    c.reply.bulk(message);
}

// ---- subscribing and unsubscribing (pubsubSubscribeChannel & co) ----

/// Subscribes `c` to `channel` and replies; returns whether it is new.
pub fn subscribe_channel(ps: &mut PubsubState, c: &mut Client, channel: &[u8]) -> bool {
    let added = c.pubsub_channels.insert(channel.to_vec());
    if added {
        ps.channels
            .entry(channel.to_vec())
            .or_default()
            .push(c.conn);
    }
    reply_count_frame(c, "subscribe", Some(channel));
    added
}

/// Unsubscribes `c` from `channel`, replying if `notify`; returns whether it was subscribed.
pub fn unsubscribe_channel(
    ps: &mut PubsubState,
    c: &mut Client,
    channel: &[u8],
    notify: bool,
) -> bool {
    let removed = c.pubsub_channels.shift_remove(channel);
    if removed {
        let subscribers = ps
            .channels
            .get_mut(channel)
            .expect("a subscribed channel is in the server map");
        let at = subscribers
            .iter()
            .position(|&s| s == c.conn)
            .expect("the subscriber is listed");
        subscribers.remove(at);
        if subscribers.is_empty() {
            // Forget the channel so that many short-lived channels cost nothing.
            ps.channels.remove(channel);
        }
    }
    if notify {
        reply_count_frame(c, "unsubscribe", Some(channel));
    }
    removed
}

/// Subscribes `c` to `pattern` and replies; returns whether it is new.
pub fn subscribe_pattern(ps: &mut PubsubState, c: &mut Client, pattern: &[u8]) -> bool {
    let added = !c.pubsub_patterns.iter().any(|p| p == pattern);
    if added {
        c.pubsub_patterns.push(pattern.to_vec());
        ps.patterns
            .entry(pattern.to_vec())
            .or_default()
            .push(c.conn);
    }
    reply_count_frame(c, "psubscribe", Some(pattern));
    added
}

/// Unsubscribes `c` from `pattern`, replying if `notify`; returns whether it was subscribed.
pub fn unsubscribe_pattern(
    ps: &mut PubsubState,
    c: &mut Client,
    pattern: &[u8],
    notify: bool,
) -> bool {
    let position = c.pubsub_patterns.iter().position(|p| p == pattern);
    if let Some(at) = position {
        c.pubsub_patterns.remove(at);
        let subscribers = ps
            .patterns
            .get_mut(pattern)
            .expect("a subscribed pattern is in the server map");
        let at = subscribers
            .iter()
            .position(|&s| s == c.conn)
            .expect("the subscriber is listed");
        subscribers.remove(at);
        if subscribers.is_empty() {
            ps.patterns.shift_remove(pattern);
        }
    }
    if notify {
        reply_count_frame(c, "punsubscribe", Some(pattern));
    }
    position.is_some()
}

/// pubsubUnsubscribeAllChannels: with `notify`, one frame per channel, or a
/// single frame with a nil channel if there was none.
pub fn unsubscribe_all_channels(ps: &mut PubsubState, c: &mut Client, notify: bool) -> usize {
    let channels: Vec<Vec<u8>> = c.pubsub_channels.iter().cloned().collect();
    for channel in &channels {
        unsubscribe_channel(ps, c, channel, notify);
    }
    if notify && channels.is_empty() {
        reply_count_frame(c, "unsubscribe", None);
    }
    channels.len()
}

/// pubsubUnsubscribeAllPatterns, in the client's subscription order.
pub fn unsubscribe_all_patterns(ps: &mut PubsubState, c: &mut Client, notify: bool) -> usize {
    let patterns = c.pubsub_patterns.clone();
    for pattern in &patterns {
        unsubscribe_pattern(ps, c, pattern, notify);
    }
    if notify && patterns.is_empty() {
        reply_count_frame(c, "punsubscribe", None);
    }
    patterns.len()
}

/// freeClient's part: a closed client leaves every channel and pattern.
pub fn free_client(srv: &mut Server, c: &mut Client) {
    unsubscribe_all_channels(&mut srv.pubsub, c, false);
    unsubscribe_all_patterns(&mut srv.pubsub, c, false);
}

// ---- publishing ----

/// pubsubPublishMessage: appends the message to every subscriber's reply
/// buffer and returns how many received it.
fn deliver(srv: &mut Server, channel: &[u8], message: &[u8]) -> usize {
    let mut receivers = 0;
    let mut targets: Vec<(ConnId, Option<&[u8]>)> = Vec::new();
    if let Some(subscribers) = srv.pubsub.channels.get(channel) {
        targets.extend(subscribers.iter().map(|&conn| (conn, None)));
    }
    for (pattern, subscribers) in &srv.pubsub.patterns {
        if crate::util::glob_match(pattern, channel, false) {
            targets.extend(
                subscribers
                    .iter()
                    .map(|&conn| (conn, Some(pattern.as_slice()))),
            );
        }
    }
    for (conn, pattern) in targets {
        let Some(client) = srv.clients.get_mut(&conn) else {
            continue;
        };
        match pattern {
            None => reply_message(client, channel, message),
            Some(pattern) => reply_pmessage(client, pattern, channel, message),
        }
        receivers += 1;
    }
    srv.cost.publish(srv.pubsub.patterns.len(), receivers);
    receivers
}

/// Publishes from inside the server (Sentinel's events on their channels):
/// the same delivery as PUBLISH, without a client and without propagation.
/// Returns the number of receivers.
pub fn publish_message(srv: &mut Server, channel: &[u8], message: &[u8]) -> usize {
    deliver(srv, channel, message)
}

// ---- the subscribed context ----

/// The commands a RESP2 client may run while subscribed.
fn allowed_in_context(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "ping" | "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "quit" | "reset"
    )
}

/// processCommand's Pub/Sub check (after READONLY, before MASTERDOWN):
/// the error for a command a subscribed RESP2 client may not run.
pub fn context_error(c: &Client, cmd: &Command, full_name: &str) -> Option<String> {
    if !c.in_pubsub() || c.resp != 2 || allowed_in_context(cmd) {
        return None;
    }
    Some(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        full_name
    ))
}

/// PING from a subscribed RESP2 client: a two-element array instead of +PONG.
/// Returns false (nothing replied) for a client that is not subscribed.
pub fn ping_in_context(c: &mut Client, argv: &[Vec<u8>]) -> bool {
    if !c.in_pubsub() || c.resp != 2 || argv.len() > 2 {
        return false;
    }
    c.reply.array(2);
    c.reply.bulk(b"pong");
    c.reply.bulk(argv.get(1).map_or(&b""[..], |a| a.as_slice()));
    true
}

// ---- commands ----

/// The server's subscription maps and the calling client, borrowed together.
fn state_and_client<'a>(ctx: &'a mut Ctx) -> (&'a mut PubsubState, &'a mut Client) {
    let srv = &mut *ctx.srv;
    let c = srv
        .clients
        .get_mut(&ctx.conn)
        .expect("the running client is in the client table");
    (&mut srv.pubsub, c)
}

type SubscribeOne = fn(&mut PubsubState, &mut Client, &[u8]) -> bool;
type UnsubscribeOne = fn(&mut PubsubState, &mut Client, &[u8], bool) -> bool;
type UnsubscribeAll = fn(&mut PubsubState, &mut Client, bool) -> usize;

/// (P)SUBSCRIBE: one frame per name, in argument order.
fn subscribe_each(ctx: &mut Ctx, subscribe: SubscribeOne) {
    let argv = ctx.argv;
    let (ps, c) = state_and_client(ctx);
    for name in &argv[1..] {
        subscribe(ps, c, name);
    }
}

/// (P)UNSUBSCRIBE: the names given, or every subscription without names.
fn unsubscribe_each(ctx: &mut Ctx, one: UnsubscribeOne, all: UnsubscribeAll) {
    let argv = ctx.argv;
    let (ps, c) = state_and_client(ctx);
    if argv.len() == 1 {
        all(ps, c, true);
        return;
    }
    for name in &argv[1..] {
        one(ps, c, name, true);
    }
}

fn subscribe_command(ctx: &mut Ctx) {
    subscribe_each(ctx, subscribe_channel);
}

fn unsubscribe_command(ctx: &mut Ctx) {
    unsubscribe_each(ctx, unsubscribe_channel, unsubscribe_all_channels);
}

fn psubscribe_command(ctx: &mut Ctx) {
    subscribe_each(ctx, subscribe_pattern);
}

fn punsubscribe_command(ctx: &mut Ctx) {
    unsubscribe_each(ctx, unsubscribe_pattern, unsubscribe_all_patterns);
}

/// PUBLISH channel message. Redis forces its propagation to replicas (not
/// the AOF), so a replica's subscribers get the master's messages.
fn publish_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let receivers = deliver(ctx.srv, &argv[1], &argv[2]);
    ctx.c().force_repl = true;
    ctx.reply().int(receivers as i64);
}

fn pubsub_help_command(ctx: &mut Ctx) {
    let lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply().simple_lines(&lines);
}

/// addReplySubcommandSyntaxError: the table's arity passed, the command's own check did not.
fn subcommand_syntax_error(ctx: &mut Ctx) {
    let sub = crate::commands::c_string_prefix(&ctx.argv[1], 128);
    let mut e = b"-ERR unknown subcommand or wrong number of arguments for '".to_vec();
    e.extend(
        sub.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    e.extend_from_slice(b"'. Try PUBSUB HELP.\r\n");
    ctx.reply().raw(&e);
}

/// PUBSUB CHANNELS [pattern] and SHARDCHANNELS: `channels` is None for the
/// shard channels, which no client can subscribe to here (no SSUBSCRIBE).
fn channel_list(ctx: &mut Ctx, shard: bool) {
    if ctx.argv.len() > 3 {
        subcommand_syntax_error(ctx);
        return;
    }
    let pattern = ctx.argv.get(2);
    let names: Vec<Vec<u8>> = if shard {
        Vec::new()
    } else {
        let all = ctx.srv.pubsub.channels.keys();
        all.filter(|ch| pattern.is_none_or(|p| crate::util::glob_match(p, ch, false)))
            .cloned()
            .collect()
    };
    ctx.srv.cost.elements(ctx.srv.pubsub.channels.len());
    ctx.reply().bulks(names.iter());
}

fn pubsub_channels_command(ctx: &mut Ctx) {
    channel_list(ctx, false);
}

fn pubsub_shardchannels_command(ctx: &mut Ctx) {
    channel_list(ctx, true);
}

fn numsub_reply(ctx: &mut Ctx, shard: bool) {
    let argv = ctx.argv;
    ctx.reply().array((argv.len() - 2) * 2);
    for channel in &argv[2..] {
        let count = if shard {
            0
        } else {
            ctx.srv.pubsub.subscribers(channel)
        };
        ctx.reply().bulk(channel);
        ctx.reply().int(count as i64);
    }
}

fn pubsub_numsub_command(ctx: &mut Ctx) {
    numsub_reply(ctx, false);
}

fn pubsub_shardnumsub_command(ctx: &mut Ctx) {
    numsub_reply(ctx, true);
}

fn pubsub_numpat_command(ctx: &mut Ctx) {
    let count = ctx.srv.pubsub.pattern_count() as i64;
    ctx.reply().int(count);
}

/// RESET (clearClientConnectionState): leaves MULTI, WATCH, the selected
/// db, the name and every subscription, without unsubscribe frames.
fn reset_command(ctx: &mut Ctx) {
    if ctx.c().kind != ClientKind::Normal {
        ctx.reply()
            .err("ERR can only reset normal client connections");
        return;
    }
    ctx.c().db = 0;
    ctx.db = 0;
    ctx.c().resp = 2;
    crate::multi::discard_transaction(ctx.srv, ctx.conn);
    let (ps, c) = state_and_client(ctx);
    unsubscribe_all_channels(ps, c, false);
    unsubscribe_all_patterns(ps, c, false);
    ctx.c().name.clear();
    ctx.reply().simple("RESET");
}

const PUBSUB_FLAGS: u32 = flags::LOADING | flags::STALE;

const PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command::new("channels", -2, PUBSUB_FLAGS, pubsub_channels_command),
    Command::new("numsub", -2, PUBSUB_FLAGS, pubsub_numsub_command),
    Command::new("numpat", 2, PUBSUB_FLAGS, pubsub_numpat_command),
    Command::new(
        "shardchannels",
        -2,
        PUBSUB_FLAGS,
        pubsub_shardchannels_command,
    ),
    Command::new("shardnumsub", -2, PUBSUB_FLAGS, pubsub_shardnumsub_command),
    Command::new("help", 2, PUBSUB_FLAGS, pubsub_help_command),
];

pub const COMMANDS: &[Command] = &[
    Command::new(
        "subscribe",
        -2,
        PUBSUB_FLAGS | flags::NOSCRIPT,
        subscribe_command,
    ),
    Command::new(
        "unsubscribe",
        -1,
        PUBSUB_FLAGS | flags::NOSCRIPT,
        unsubscribe_command,
    ),
    Command::new(
        "psubscribe",
        -2,
        PUBSUB_FLAGS | flags::NOSCRIPT,
        psubscribe_command,
    ),
    Command::new(
        "punsubscribe",
        -1,
        PUBSUB_FLAGS | flags::NOSCRIPT,
        punsubscribe_command,
    ),
    Command::new("publish", 3, PUBSUB_FLAGS | flags::FAST, publish_command),
    Command::container("pubsub", -2, 0, PUBSUB_SUBCOMMANDS),
    Command::new(
        "reset",
        1,
        flags::NOSCRIPT | flags::LOADING | flags::STALE | flags::FAST,
        reset_command,
    ),
];
