//! The append-only file: Redis 7.0's multi-part AOF (manifest, base and
//! incr files), appendfsync policies and BGREWRITEAOF.

use crate::child::Child;
use crate::server::Server;
use crate::ChildExitStatus;

/// backgroundRewriteDoneHandler.
pub fn background_rewrite_done(_srv: &mut Server, _child: &Child, _status: ChildExitStatus, _cow_bytes: u64) {}

/// The background fsync with this token has finished.
pub fn fsync_done(_srv: &mut Server, _token: u64) {}
