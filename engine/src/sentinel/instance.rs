//! The records Sentinel keeps (sentinelRedisInstance): a master with its
//! replicas and the other Sentinels that monitor it.

use std::collections::BTreeMap;

use super::failover::State;
use super::links::Link;

/// Which of a master's instances: the master itself, a replica (by its
/// "ip:port" name) or a Sentinel (by its run id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    Master,
    Slave(String),
    Sentinel(String),
}

/// What an instance is to us, or what its INFO says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Slave,
    Sentinel,
}

impl Role {
    /// sentinelRedisInstanceTypeStr.
    pub fn type_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Slave => "slave",
            Role::Sentinel => "sentinel",
        }
    }
}

/// SRI_* flags other than the role.
pub mod flags {
    pub const S_DOWN: u32 = 1 << 3;
    pub const O_DOWN: u32 = 1 << 4;
    pub const MASTER_DOWN: u32 = 1 << 5;
    pub const FAILOVER_IN_PROGRESS: u32 = 1 << 6;
    pub const PROMOTED: u32 = 1 << 7;
    pub const RECONF_SENT: u32 = 1 << 8;
    pub const RECONF_INPROG: u32 = 1 << 9;
    pub const RECONF_DONE: u32 = 1 << 10;
    pub const FORCE_FAILOVER: u32 = 1 << 11;
    pub const SCRIPT_KILL_SENT: u32 = 1 << 12;
    pub const MASTER_REBOOT: u32 = 1 << 13;
}

#[derive(Debug)]
pub struct Instance {
    pub role: Role,
    pub flags: u32,
    /// Masters: the configured name; replicas: "ip:port"; Sentinels: run id.
    pub name: String,
    /// The address connections go to (resolved).
    pub host: String,
    /// The name it was configured or discovered with (the address if it
    /// was given as one): what announce-hostnames reports.
    pub hostname: String,
    pub port: u16,
    pub runid: Option<String>,
    pub link: Link,
    pub last_pub_time_ms: i64,
    pub last_hello_time_ms: i64,
    pub last_master_down_reply_time_ms: i64,
    pub s_down_since_ms: i64,
    pub o_down_since_ms: i64,
    pub down_after_ms: i64,
    /// From INFO master_link_down_since_seconds, in ms; 0 when the link is up.
    pub master_link_down_time_ms: i64,
    pub slave_priority: i64,
    pub replica_announced: i64,
    pub slave_reconf_sent_time_ms: i64,
    pub slave_master_host: Option<String>,
    pub slave_master_port: i64,
    pub slave_master_link_up: bool,
    pub slave_repl_offset: u64,
    /// When the last INFO reply arrived (0: never).
    pub info_refresh_ms: i64,
    pub info: Option<String>,
    pub role_reported: Role,
    pub role_reported_time_ms: i64,
    pub slave_conf_change_time_ms: i64,
    /// The leader this instance voted for (Sentinels) or this Sentinel
    /// voted for (masters), and in which epoch.
    pub leader: Option<String>,
    pub leader_epoch: u64,
}

impl Instance {
    /// createSentinelRedisInstance's defaults.
    pub fn new(
        role: Role,
        name: String,
        host: &str,
        port: u16,
        down_after_ms: i64,
        now_ms: i64,
    ) -> Instance {
        Instance {
            role,
            flags: 0,
            name,
            host: host.to_string(),
            hostname: host.to_string(),
            port,
            runid: None,
            link: Link::new(now_ms),
            last_pub_time_ms: now_ms,
            last_hello_time_ms: now_ms,
            last_master_down_reply_time_ms: now_ms,
            s_down_since_ms: 0,
            o_down_since_ms: 0,
            down_after_ms,
            master_link_down_time_ms: 0,
            slave_priority: super::DEFAULT_SLAVE_PRIORITY,
            replica_announced: 1,
            slave_reconf_sent_time_ms: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_repl_offset: 0,
            info_refresh_ms: 0,
            info: None,
            role_reported: if role == Role::Sentinel {
                Role::Master
            } else {
                role
            },
            role_reported_time_ms: now_ms,
            slave_conf_change_time_ms: now_ms,
            leader: None,
            leader_epoch: 0,
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// sentinelRedisInstanceNoDownFor: not S/O_DOWN within the last `ms`.
    pub fn no_down_for(&self, ms: i64, now_ms: i64) -> bool {
        let most_recent = self.s_down_since_ms.max(self.o_down_since_ms);
        most_recent == 0 || now_ms - most_recent > ms
    }

    pub fn addr_is(&self, host: &str, port: i64) -> bool {
        i64::from(self.port) == port && self.host.eq_ignore_ascii_case(host)
    }
}

/// A monitored master and what hangs off it.
#[derive(Debug)]
pub struct Master {
    pub inst: Instance,
    pub quorum: u32,
    pub parallel_syncs: i64,
    pub failover_timeout_ms: i64,
    pub config_epoch: u64,
    pub failover_epoch: u64,
    pub failover_state: State,
    pub failover_state_change_time_ms: i64,
    pub failover_start_time_ms: i64,
    pub failover_delay_logged_ms: i64,
    /// The replica being promoted, by name.
    pub promoted_slave: Option<String>,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    /// master-reboot-down-after-period (0: off) and when the reboot was seen.
    pub master_reboot_down_after_ms: i64,
    pub master_reboot_since_ms: i64,
    pub renamed_commands: super::links::Renames,
    pub slaves: BTreeMap<String, Instance>,
    pub sentinels: BTreeMap<String, Instance>,
}

impl Master {
    pub fn new(
        name: &str,
        host: &str,
        port: u16,
        quorum: u32,
        timing: &super::Timing,
        now_ms: i64,
    ) -> Master {
        Master {
            inst: Instance::new(
                Role::Master,
                name.to_string(),
                host,
                port,
                timing.default_down_after,
                now_ms,
            ),
            quorum,
            parallel_syncs: super::DEFAULT_PARALLEL_SYNCS,
            failover_timeout_ms: timing.default_failover_timeout,
            config_epoch: 0,
            failover_epoch: 0,
            failover_state: State::None,
            failover_state_change_time_ms: 0,
            failover_start_time_ms: 0,
            failover_delay_logged_ms: 0,
            promoted_slave: None,
            auth_pass: None,
            auth_user: None,
            notification_script: None,
            client_reconfig_script: None,
            master_reboot_down_after_ms: 0,
            master_reboot_since_ms: 0,
            renamed_commands: Default::default(),
            slaves: BTreeMap::new(),
            sentinels: BTreeMap::new(),
        }
    }

    pub fn get(&self, who: &Who) -> Option<&Instance> {
        match who {
            Who::Master => Some(&self.inst),
            Who::Slave(n) => self.slaves.get(n),
            Who::Sentinel(n) => self.sentinels.get(n),
        }
    }

    pub fn get_mut(&mut self, who: &Who) -> Option<&mut Instance> {
        match who {
            Who::Master => Some(&mut self.inst),
            Who::Slave(n) => self.slaves.get_mut(n),
            Who::Sentinel(n) => self.sentinels.get_mut(n),
        }
    }

    /// The "%@" of sentinelEvent for one of this master's instances.
    pub fn describe(&self, who: &Who) -> String {
        match self.get(who) {
            Some(ri) if ri.role == Role::Master => describe(ri, None),
            Some(ri) => describe(ri, Some(&self.inst)),
            None => String::new(),
        }
    }

    /// sentinelGetCurrentMasterAddress: once the promoted replica has
    /// acknowledged, the new address is advertised.
    pub fn current_addr(&self) -> (String, u16) {
        let ri = self.current_instance();
        (ri.host.clone(), ri.port)
    }

    /// The instance current_addr names (the promoted replica or the master).
    pub fn current_instance(&self) -> &Instance {
        if self.inst.has(flags::FAILOVER_IN_PROGRESS) && self.failover_state >= State::ReconfSlaves
        {
            if let Some(p) = self
                .promoted_slave
                .as_ref()
                .and_then(|n| self.slaves.get(n))
            {
                return p;
            }
        }
        &self.inst
    }

    pub fn lookup_slave(&self, host: &str, port: u16) -> Option<&Instance> {
        self.slaves.get(&slave_name(host, port))
    }
}

/// A replica's name: anetFormatAddr ("ip:port", IPv6 in brackets).
pub fn slave_name(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{}]:{}", host, port)
    } else {
        format!("{}:{}", host, port)
    }
}

/// "%@": `<type> <name> <ip> <port>` and, for a replica or a Sentinel,
/// ` @ <master name> <master ip> <master port>`.
pub fn describe(ri: &Instance, master: Option<&Instance>) -> String {
    let mut s = format!("{} {} {} {}", ri.role.type_str(), ri.name, ri.host, ri.port);
    if let Some(m) = master {
        s.push_str(&format!(" @ {} {} {}", m.name, m.host, m.port));
    }
    s
}
