//! t_list commands.

use crate::commands::Command;

pub const COMMANDS: &[Command] = &[];
