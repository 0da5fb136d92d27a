//! The append-only file: Redis 7.0's multi-part AOF (manifest, base and
//! incr files), appendfsync policies and BGREWRITEAOF.

use crate::child::Child;
use crate::server::Server;
use crate::ChildExitStatus;

/// backgroundRewriteDoneHandler.
pub fn background_rewrite_done(_srv: &mut Server, _child: &Child, _status: ChildExitStatus, _cow_bytes: u64) {}

/// The background fsync with this token has finished.
pub fn fsync_done(_srv: &mut Server, _token: u64) {}

/// Start-up loading of the AOF (loadAppendOnlyFiles) when appendonly is
/// yes. Ok(true) if something was loaded. Stub until the AOF work lands.
pub fn load_at_startup(_srv: &mut Server) -> Result<bool, String> {
    Ok(false)
}
