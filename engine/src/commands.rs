//! The command table: names, arity, flags and handlers, gathered from each
//! subsystem file (t_string.rs, replication/, ...), plus the dispatcher that
//! applies Redis's processCommand checks in Redis's order.

use crate::networking::Client;
use crate::reply::Reply;
use crate::server::Server;
use crate::ConnId;

/// A handler runs with the server, the calling client's connection and the
/// arguments. The caller stays in `srv.clients` for the whole command (as in
/// Redis, where c is also in server.clients), so code that walks every
/// client (CLIENT LIST, INFO, the replication feed) sees it like any other.
/// A client is never removed from the table during its own command: freeing
/// it is deferred (close_asap), so `c()` always finds it.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    /// The caller: `srv.clients[&conn]`.
    pub conn: ConnId,
    /// The caller's selected database when the command started (c->db).
    /// SELECT updates it together with the client's.
    pub db: usize,
    pub argv: &'a [Vec<u8>],
}

impl<'a> Ctx<'a> {
    pub fn new(srv: &'a mut Server, conn: ConnId, argv: &'a [Vec<u8>]) -> Ctx<'a> {
        let db = srv
            .clients
            .get(&conn)
            .expect("the running client is in the client table")
            .db;
        Ctx {
            srv,
            conn,
            db,
            argv,
        }
    }
    /// The calling client.
    pub fn c(&mut self) -> &mut Client {
        self.srv.client_mut(self.conn)
    }
    /// The calling client, read-only.
    pub fn client(&self) -> &Client {
        self.srv
            .clients
            .get(&self.conn)
            .expect("the running client is in the client table")
    }
    /// The calling client's reply buffer.
    pub fn reply(&mut self) -> &mut Reply {
        &mut self.srv.client_mut(self.conn).reply
    }
}

pub type Handler = fn(&mut Ctx);

pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const FAST: u32 = 1 << 4;
    /// Allowed while a replica's master link is down and serve-stale-data is no.
    pub const STALE: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const NOSCRIPT: u32 = 1 << 7;
    /// Never propagated even if it made the dataset dirty.
    pub const NO_PROPAGATE: u32 = 1 << 8;
}

pub struct Command {
    /// Lower-case name; for subcommands, the subcommand name alone.
    pub name: &'static str,
    /// Redis arity: > 0 exact, < 0 at least -arity (counting the name).
    pub arity: i32,
    pub flags: u32,
    pub handler: Handler,
    /// Subcommands (CONFIG GET, CLIENT LIST, ...). Empty for plain commands.
    pub subcommands: &'static [Command],
    /// Where the keys are (Redis 7.0's first key, last key, step).
    pub keys: KeySpec,
}

/// Redis's legacy key positions: `first` (0: no keys), `last` (negative:
/// counted from the end, -1 the last argument), `step`; for movablekeys
/// commands, the argument holding numkeys, whose keys follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
    /// movablekeys: numkeys is argv[numkeys_at], the keys come right after.
    pub numkeys_at: Option<usize>,
}

impl KeySpec {
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
        numkeys_at: None,
    };
}

impl Command {
    pub const fn new(name: &'static str, arity: i32, flags: u32, handler: Handler) -> Command {
        Command {
            name,
            arity,
            flags,
            handler,
            subcommands: &[],
            keys: KeySpec::NONE,
        }
    }
    pub const fn container(
        name: &'static str,
        arity: i32,
        flags: u32,
        subcommands: &'static [Command],
    ) -> Command {
        Command {
            name,
            arity,
            flags,
            handler: no_handler,
            subcommands,
            keys: KeySpec::NONE,
        }
    }
    /// Redis's first key, last key and step for this command.
    pub const fn with_keys(mut self, first: i32, last: i32, step: i32) -> Command {
        self.keys = KeySpec {
            first,
            last,
            step,
            numkeys_at: None,
        };
        self
    }
    /// movablekeys: numkeys at argv[at], then that many keys.
    pub const fn movable_numkeys(mut self, at: usize) -> Command {
        self.keys.numkeys_at = Some(at);
        self
    }
    pub fn is_movable(&self) -> bool {
        self.keys.numkeys_at.is_some()
    }
    /// getKeysFromCommand: the positions in `argv` that are keys, in
    /// order (a destination first). Missing arguments, or a numkeys that
    /// is not a positive count, give the keys found so far.
    pub fn keys(&self, argv: &[Vec<u8>]) -> Vec<usize> {
        let mut out = Vec::new();
        let spec = self.keys;
        if spec.first > 0 {
            let argc = argv.len() as i32;
            let last = if spec.last < 0 {
                argc + spec.last
            } else {
                spec.last
            };
            let mut i = spec.first;
            while i <= last.min(argc - 1) {
                out.push(i as usize);
                i += spec.step.max(1);
            }
        }
        if let Some(at) = spec.numkeys_at {
            let numkeys = argv
                .get(at)
                .and_then(|a| crate::util::parse_i64(a))
                .filter(|n| *n > 0)
                .unwrap_or(0) as usize;
            out.extend((at + 1..at + 1 + numkeys).filter(|&i| i < argv.len()));
        }
        out
    }
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        (self.arity > 0 && argc == self.arity) || (self.arity < 0 && argc >= -self.arity)
    }
}

fn no_handler(_: &mut Ctx) {}

/// Every command table, one per subsystem file.
pub fn tables() -> [&'static [Command]; 16] {
    [
        crate::server::COMMANDS,
        crate::db::COMMANDS,
        crate::expire::COMMANDS,
        crate::t_string::COMMANDS,
        crate::t_list::COMMANDS,
        crate::t_hash::COMMANDS,
        crate::t_set::COMMANDS,
        crate::t_zset::COMMANDS,
        crate::replication::COMMANDS,
        crate::debug::COMMANDS,
        crate::multi::COMMANDS,
        crate::memory::COMMANDS,
        crate::rdb::bgsave::COMMANDS,
        crate::aof::COMMANDS,
        crate::shutdown::COMMANDS,
        crate::pubsub::COMMANDS,
    ]
}

/// The table keyed by name, built once per server.
pub struct CommandTable {
    by_name: std::collections::BTreeMap<&'static str, &'static Command>,
}

impl CommandTable {
    pub fn new() -> CommandTable {
        CommandTable::from_tables(&tables())
    }

    /// A table of the given commands only (Sentinel mode has its own).
    pub fn from_tables(tables: &[&'static [Command]]) -> CommandTable {
        let mut by_name = std::collections::BTreeMap::new();
        for table in tables.iter().copied() {
            for cmd in table {
                let previous = by_name.insert(cmd.name, cmd);
                assert!(previous.is_none(), "command {} defined twice", cmd.name);
            }
        }
        CommandTable { by_name }
    }
    /// Adds one command (Sentinel mode takes the pub/sub ones it needs).
    pub fn add(&mut self, cmd: &'static Command) {
        let previous = self.by_name.insert(cmd.name, cmd);
        assert!(previous.is_none(), "command {} defined twice", cmd.name);
    }
    pub fn lookup(&self, name: &[u8]) -> Option<&'static Command> {
        if name.len() > 32 {
            return None;
        }
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.by_name.get(lower.as_str()).copied()
    }
    pub fn len(&self) -> usize {
        self.by_name.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &'static Command> + '_ {
        self.by_name.values().copied()
    }
}

impl Default for CommandTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Resolves a container's subcommand, or gives Redis's error (without the
/// leading "ERR "). Returns the command to run and its full name ("config|get").
pub fn resolve(
    cmd: &'static Command,
    argv: &[Vec<u8>],
) -> Result<(&'static Command, String), Vec<u8>> {
    if cmd.subcommands.is_empty() {
        return Ok((cmd, cmd.name.to_string()));
    }
    let Some(sub_name) = argv.get(1) else {
        if cmd.arity == -1 {
            return Ok((cmd, cmd.name.to_string()));
        }
        return Err(format!("wrong number of arguments for '{}' command", cmd.name).into_bytes());
    };
    let lower = String::from_utf8_lossy(sub_name).to_ascii_lowercase();
    match cmd.subcommands.iter().find(|s| s.name == lower) {
        Some(sub) => Ok((sub, format!("{}|{}", cmd.name, sub.name))),
        None => {
            let mut e = b"unknown subcommand '".to_vec();
            e.extend_from_slice(c_string_prefix(sub_name, 128));
            e.extend_from_slice(b"'. Try ");
            e.extend(c_string_prefix(&argv[0], usize::MAX).to_ascii_uppercase());
            e.extend_from_slice(b" HELP.");
            Err(e)
        }
    }
}

/// What printf's "%.*s" prints of an argument: at most `max` bytes, and
/// nothing from the first NUL on (Redis formats arguments as C strings).
pub fn c_string_prefix(b: &[u8], max: usize) -> &[u8] {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len()).min(max);
    &b[..end]
}

pub fn truncate_lossy(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned()
}

/// Redis's "unknown command" error, with up to 128 bytes of arguments
/// quoted, as raw bytes (arguments may be binary).
pub fn unknown_command_error(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut args: Vec<u8> = Vec::new();
    for arg in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(c_string_prefix(arg, room));
        args.extend_from_slice(b"' ");
    }
    let mut e = b"ERR unknown command '".to_vec();
    e.extend_from_slice(c_string_prefix(&argv[0], 128));
    e.extend_from_slice(b"', with args beginning with: ");
    e.extend(args);
    e
}
