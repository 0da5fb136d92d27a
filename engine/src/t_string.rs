//! String commands.

use crate::commands::{flags, Command, Ctx};
use crate::object::Value;
use crate::reply::errors;

fn get_command(ctx: &mut Ctx) {
    match ctx.srv.lookup_read(ctx.c.db, &ctx.argv[1]) {
        None => ctx.c.reply.null(),
        Some(Value::Str(s)) => {
            let s = s.clone();
            ctx.c.reply.bulk(&s);
        }
        Some(_) => ctx.c.reply.err(errors::WRONGTYPE),
    }
}

fn set_command(ctx: &mut Ctx) {
    // FIXME: the options (NX XX GET EX PX EXAT PXAT KEEPTTL) land with the
    // full string command set.
    if ctx.argv.len() != 3 {
        ctx.c.reply.err(errors::SYNTAX);
        return;
    }
    let db = ctx.c.db;
    ctx.srv.cost.elements(ctx.argv[2].len() / 64);
    ctx.srv.set_key(db, &ctx.argv[1], Value::Str(ctx.argv[2].clone()), false);
    ctx.srv.dirty += 1;
    ctx.c.reply.ok();
}

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, flags::READONLY | flags::FAST, get_command),
    Command::new("set", -3, flags::WRITE | flags::DENYOOM, set_command),
];
