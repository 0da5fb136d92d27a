//! Replication (stub while the real one is written).

use crate::commands::Command;
use crate::networking::Client;
use crate::server::Server;
use crate::ConnId;
use rand_chacha::ChaCha8Rng;

pub struct MasterLink;

pub struct ReplicationState {
    pub master: Option<MasterLink>,
    pub master_repl_offset: i64,
    pub latest_fork_usec: u64,
    pub total_forks: u64,
}

impl ReplicationState {
    pub fn new(_rng: &mut ChaCha8Rng) -> Self {
        ReplicationState { master: None, master_repl_offset: 0, latest_fork_usec: 0, total_forks: 0 }
    }
    pub fn backlog_histlen(&self) -> u64 {
        0
    }
    pub fn rdb_child_active(&self) -> bool {
        false
    }
}

pub fn on_startup(_: &mut Server) {}
pub fn owns_outbound(_: &Server, _: ConnId) -> bool {
    false
}
pub fn master_link_closed(_: &mut Server, _: ConnId) {}
pub fn master_link_connected(_: &mut Server, _: ConnId) {}
pub fn master_link_failed(_: &mut Server, _: ConnId) {}
pub fn replica_freed(_: &mut Server, _: &Client) {}
pub fn master_client_freed(_: &mut Server, _: &Client) {}
pub fn read_from_master_link(_: &mut Server, _: ConnId, _: &[u8]) {}
pub fn master_stream_consumed(_: &mut Server, _: ConnId, _: usize) {}
pub fn good_replicas_ok(_: &Server) -> bool {
    true
}
pub fn master_link_up(_: &Server) -> bool {
    true
}
pub fn propagate(_: &mut Server, _: usize, _: &[Vec<u8>]) {}
pub fn before_sleep(_: &mut Server) {}
pub fn wait_timeouts(_: &mut Server) {}
pub fn replication_cron(_: &mut Server) {}
pub fn config_changed(_: &mut Server) {}
pub fn info_fields(_: &Server) -> crate::info::Fields {
    vec![("role".into(), "master".into())]
}
pub fn change_replication_id(_: &mut Server) {}
pub fn clear_replication_id2(_: &mut Server) {}
pub const COMMANDS: &[Command] = &[];
