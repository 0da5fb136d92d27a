//! SAVE, BGSAVE and save points: the RDB file on disk.

use crate::child::Child;
use crate::server::Server;
use crate::ChildExitStatus;

/// backgroundSaveDoneHandler.
pub fn background_save_done(_srv: &mut Server, _child: &Child, _status: ChildExitStatus, _cow_bytes: u64) {}
