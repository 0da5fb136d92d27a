//! The acting half: ODOWN through the other Sentinels' opinions, votes and
//! leader election by epoch, the failover state machine, replica
//! selection, and the reconfiguration of replicas (and of an old master
//! that comes back).

use rand::Rng;

use super::instance::{flags, slave_name, Instance, Role};
use super::links::{self, Callback};
use super::MAX_DESYNC_MS;
use super::{event, SentinelState, Who};
use crate::resp::Value;
use crate::server::Server;
use crate::LogLevel;

/// SENTINEL_FAILOVER_STATE_*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoone,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

impl State {
    /// sentinelFailoverStateStr.
    pub fn as_str(self) -> &'static str {
        match self {
            State::None => "none",
            State::WaitStart => "wait_start",
            State::SelectSlave => "select_slave",
            State::SendSlaveofNoone => "send_slaveof_noone",
            State::WaitPromotion => "wait_promotion",
            State::ReconfSlaves => "reconf_slaves",
            State::UpdateConfig => "update_config",
        }
    }
}

/// sentinelCheckObjectivelyDown: our SDOWN plus the Sentinels that said
/// "down" recently reach the quorum.
pub fn check_objectively_down(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let now = srv.mstime();
    let m = st.masters.get_mut(name).expect("master");
    let mut quorum = 0;
    if m.inst.has(flags::S_DOWN) {
        quorum = 1 + m
            .sentinels
            .values()
            .filter(|s| s.has(flags::MASTER_DOWN))
            .count() as u32;
    }
    let odown = m.inst.has(flags::S_DOWN) && quorum >= m.quorum;
    if odown && !m.inst.has(flags::O_DOWN) {
        let msg = format!(
            "{} #quorum {}/{}",
            m.describe(&Who::Master),
            quorum,
            m.quorum
        );
        m.inst.flags |= flags::O_DOWN;
        m.inst.o_down_since_ms = now;
        event(srv, LogLevel::Warning, "+odown", msg);
    } else if !odown && m.inst.has(flags::O_DOWN) {
        m.inst.flags &= !flags::O_DOWN;
        let msg = m.describe(&Who::Master);
        event(srv, LogLevel::Warning, "-odown", msg);
    }
}

/// sentinelReceiveIsMasterDownReply: [down, leader runid or "*", leader epoch].
pub fn on_is_master_down_reply(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    who: &Who,
    reply: Value,
) {
    let now = srv.mstime();
    let Some(si) = st.masters.get_mut(name).and_then(|m| m.get_mut(who)) else {
        return;
    };
    let Value::Array(items) = reply else { return };
    let [Value::Int(down), Value::Bulk(leader), Value::Int(epoch)] = items.as_slice() else {
        return;
    };
    si.last_master_down_reply_time_ms = now;
    if *down == 1 {
        si.flags |= flags::MASTER_DOWN;
    } else {
        si.flags &= !flags::MASTER_DOWN;
    }
    let leader = String::from_utf8_lossy(leader).into_owned();
    if leader != "*" {
        if si.leader_epoch as i64 != *epoch {
            let line = format!("{} voted for {} {}", si.name, leader, epoch);
            si.leader = Some(leader);
            si.leader_epoch = *epoch as u64;
            srv.log(LogLevel::Warning, line);
        } else {
            si.leader = Some(leader);
        }
    }
}

/// sentinelAskMasterStateToOtherSentinels: forget stale opinions (older
/// than 5 s), and while the master is SDOWN ask each connected Sentinel,
/// once per second unless forced. A vote request carries our id once a
/// failover started.
pub fn ask_master_state(st: &mut SentinelState, srv: &mut Server, name: &str, forced: bool) {
    let renames = st.masters[name].renamed_commands.clone();
    let now = srv.mstime();
    let epoch = st.current_epoch.to_string();
    let myid = st.myid.clone();
    let m = st.masters.get_mut(name).expect("master");
    let sdown = m.inst.has(flags::S_DOWN);
    let runid = if m.failover_state > State::None {
        myid
    } else {
        "*".to_string()
    };
    let (ip, port) = (m.inst.host.clone(), m.inst.port.to_string());
    for si in m.sentinels.values_mut() {
        if now - si.last_master_down_reply_time_ms > st.timing.ask_period * 5 {
            si.flags &= !flags::MASTER_DOWN;
            si.leader = None;
        }
        if !sdown || si.link.disconnected {
            continue;
        }
        if !forced && now - si.last_master_down_reply_time_ms < st.timing.ask_period {
            continue;
        }
        let argv = [
            "SENTINEL",
            "is-master-down-by-addr",
            &ip,
            &port,
            &epoch,
            &runid,
        ];
        links::send_command(srv, &mut si.link, &renames, &argv, Callback::IsMasterDown);
    }
}

/// sentinelVoteLeader: one vote per epoch, first come first served.
/// Returns our current vote and its epoch.
pub fn vote_leader(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    req_epoch: u64,
    req_runid: &str,
) -> (Option<String>, u64) {
    let now = srv.mstime();
    if req_epoch > st.current_epoch {
        st.current_epoch = req_epoch;
        super::config::flush(st, srv);
        let msg = format!("{}", st.current_epoch);
        event(srv, LogLevel::Warning, "+new-epoch", msg);
    }
    let current = st.current_epoch;
    let m = st.masters.get_mut(name).expect("master");
    if m.inst.leader_epoch < req_epoch && current <= req_epoch {
        m.inst.leader = Some(req_runid.to_string());
        m.inst.leader_epoch = current;
        // "%s %llu": the vote alone, without the instance.
        let msg = format!("{} {}", req_runid, current);
        let voted_other = !req_runid.eq_ignore_ascii_case(&st.myid);
        if voted_other {
            // Voting for another Sentinel holds our own attempt back for 2*failover-timeout.
            m.failover_start_time_ms = now + srv.rng.gen_range(0..MAX_DESYNC_MS);
        }
        super::config::flush(st, srv);
        event(srv, LogLevel::Warning, "+vote-for-leader", msg);
    }
    let m = &st.masters[name];
    (m.inst.leader.clone(), m.inst.leader_epoch)
}

/// sentinelGetLeader: the most voted runid of this epoch, with our own
/// vote added, wins if it has an absolute majority of the Sentinels we
/// know and at least the quorum.
fn get_leader(st: &mut SentinelState, srv: &mut Server, name: &str, epoch: u64) -> Option<String> {
    let m = &st.masters[name];
    let voters = m.sentinels.len() as u64 + 1;
    let mut counters: Vec<(String, u64)> = Vec::new();
    for si in m.sentinels.values() {
        if let (Some(l), true) = (&si.leader, si.leader_epoch == st.current_epoch) {
            incr(&mut counters, l);
        }
    }
    let mut winner: Option<String> = None;
    let mut max_votes = 0;
    for (runid, votes) in &counters {
        if *votes > max_votes {
            max_votes = *votes;
            winner = Some(runid.clone());
        }
    }
    let candidate = winner.clone().unwrap_or_else(|| st.myid.clone());
    let (myvote, leader_epoch) = vote_leader(st, srv, name, epoch, &candidate);
    if let (Some(v), true) = (myvote, leader_epoch == epoch) {
        let votes = incr(&mut counters, &v);
        if votes > max_votes {
            max_votes = votes;
            winner = Some(v);
        }
    }
    let quorum = u64::from(st.masters[name].quorum);
    if max_votes < voters / 2 + 1 || max_votes < quorum {
        return None;
    }
    winner
}

fn incr(counters: &mut Vec<(String, u64)>, runid: &str) -> u64 {
    match counters.iter_mut().find(|(r, _)| r == runid) {
        Some((_, n)) => {
            *n += 1;
            *n
        }
        None => {
            counters.push((runid.to_string(), 1));
            1
        }
    }
}

/// sentinelStartFailover: a new epoch, and a random 0-999 ms head start
/// so Sentinels do not all ask at once.
pub fn start_failover(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let now = srv.mstime();
    st.current_epoch += 1;
    let epoch = st.current_epoch;
    let m = st.masters.get_mut(name).expect("master");
    m.failover_state = State::WaitStart;
    m.inst.flags |= flags::FAILOVER_IN_PROGRESS;
    m.failover_epoch = epoch;
    let desc = m.describe(&Who::Master);
    event(srv, LogLevel::Warning, "+new-epoch", format!("{}", epoch));
    event(srv, LogLevel::Warning, "+try-failover", desc);
    m.failover_start_time_ms = now + srv.rng.gen_range(0..MAX_DESYNC_MS);
    m.failover_state_change_time_ms = now;
}

/// sentinelStartFailoverIfNeeded: ODOWN, no failover running, and none
/// tried (or voted for) in the last 2*failover-timeout.
pub fn start_failover_if_needed(st: &mut SentinelState, srv: &mut Server, name: &str) -> bool {
    let now = srv.mstime();
    let m = st.masters.get_mut(name).expect("master");
    if !m.inst.has(flags::O_DOWN) || m.inst.has(flags::FAILOVER_IN_PROGRESS) {
        return false;
    }
    if now - m.failover_start_time_ms < m.failover_timeout_ms * 2 {
        if m.failover_delay_logged_ms != m.failover_start_time_ms {
            m.failover_delay_logged_ms = m.failover_start_time_ms;
            let at_s = (m.failover_start_time_ms + m.failover_timeout_ms * 2) / 1000;
            let line = format!(
                "Next failover delay: I will not start a failover before {}",
                crate::util::ctime(at_s)
            );
            srv.log(LogLevel::Warning, line);
        }
        return false;
    }
    start_failover(st, srv, name);
    true
}

/// sentinelFailoverStateMachine.
pub fn state_machine(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let m = &st.masters[name];
    if !m.inst.has(flags::FAILOVER_IN_PROGRESS) {
        return;
    }
    match m.failover_state {
        State::WaitStart => wait_start(st, srv, name),
        State::SelectSlave => select_slave_state(st, srv, name),
        State::SendSlaveofNoone => send_slaveof_noone(st, srv, name),
        State::WaitPromotion => {
            let m = &st.masters[name];
            if srv.mstime() - m.failover_state_change_time_ms > m.failover_timeout_ms {
                abort_slave_timeout(st, srv, name);
            }
        }
        State::ReconfSlaves => reconf_next_slave(st, srv, name),
        State::None | State::UpdateConfig => {}
    }
}

fn set_state(st: &mut SentinelState, srv: &Server, name: &str, state: State) {
    let m = st.masters.get_mut(name).expect("master");
    m.failover_state = state;
    m.failover_state_change_time_ms = srv.mstime();
}

/// sentinelFailoverWaitStart.
fn wait_start(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let epoch = st.masters[name].failover_epoch;
    let leader = get_leader(st, srv, name, epoch);
    let is_leader = leader.is_some_and(|l| l.eq_ignore_ascii_case(&st.myid));
    let m = &st.masters[name];
    let desc = m.describe(&Who::Master);
    if !is_leader && !m.inst.has(flags::FORCE_FAILOVER) {
        let election_timeout = st.timing.election_timeout.min(m.failover_timeout_ms);
        if srv.mstime() - m.failover_start_time_ms > election_timeout {
            event(srv, LogLevel::Warning, "-failover-abort-not-elected", desc);
            abort_failover(st, srv, name);
        }
        return;
    }
    event(srv, LogLevel::Warning, "+elected-leader", desc.clone());
    if st.simfailure_flags & super::SIMFAILURE_CRASH_AFTER_ELECTION != 0 {
        super::simfailure_crash(srv);
        return;
    }
    set_state(st, srv, name, State::SelectSlave);
    event(srv, LogLevel::Warning, "+failover-state-select-slave", desc);
}

fn select_slave_state(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let chosen = select_slave(&st.masters[name], &st.timing, srv.mstime());
    let m = st.masters.get_mut(name).expect("master");
    let Some(slave) = chosen else {
        let desc = m.describe(&Who::Master);
        event(
            srv,
            LogLevel::Warning,
            "-failover-abort-no-good-slave",
            desc,
        );
        abort_failover(st, srv, name);
        return;
    };
    let who = Who::Slave(slave.clone());
    let desc = m.describe(&who);
    event(srv, LogLevel::Warning, "+selected-slave", desc.clone());
    m.slaves.get_mut(&slave).expect("slave").flags |= flags::PROMOTED;
    m.promoted_slave = Some(slave);
    set_state(st, srv, name, State::SendSlaveofNoone);
    event(
        srv,
        LogLevel::Notice,
        "+failover-state-send-slaveof-noone",
        desc,
    );
}

/// sentinelSelectSlave: drop replicas that are down, unreachable, stale
/// or priority 0, or whose link to the master went down too long before
/// the master did; then the best priority, offset, run id.
pub fn select_slave(m: &super::Master, t: &super::Timing, now: i64) -> Option<String> {
    let sdown = m.inst.has(flags::S_DOWN);
    let mut max_master_down_ms = m.inst.down_after_ms * 10;
    if sdown {
        max_master_down_ms += now - m.inst.s_down_since_ms;
    }
    let info_validity_ms = if sdown {
        t.ping_period * 5
    } else {
        t.info_period * 3
    };
    let mut candidates: Vec<&Instance> = m
        .slaves
        .values()
        .filter(|s| !s.has(flags::S_DOWN | flags::O_DOWN))
        .filter(|s| !s.link.disconnected)
        .filter(|s| now - s.link.last_avail_time_ms <= t.ping_period * 5)
        .filter(|s| s.slave_priority != 0)
        .filter(|s| now - s.info_refresh_ms <= info_validity_ms)
        .filter(|s| s.master_link_down_time_ms <= max_master_down_ms)
        .collect();
    candidates.sort_by(|a, b| {
        a.slave_priority
            .cmp(&b.slave_priority)
            .then(b.slave_repl_offset.cmp(&a.slave_repl_offset))
            .then_with(|| match (&a.runid, &b.runid) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
            })
    });
    candidates.first().map(|s| s.name.clone())
}

/// sentinelSendSlaveOf: the MULTI / SLAVEOF / CONFIG REWRITE / CLIENT KILL
/// TYPE normal / CLIENT KILL TYPE pubsub / EXEC bundle; replies ignored.
pub fn send_slaveof(
    srv: &mut Server,
    ri: &mut Instance,
    renames: &links::Renames,
    to: Option<(&str, u16)>,
) -> bool {
    let (host, port) = match to {
        None => ("NO".to_string(), "ONE".to_string()),
        Some((h, p)) => (h.to_string(), p.to_string()),
    };
    let link = &mut ri.link;
    links::send_command(srv, link, renames, &["MULTI"], Callback::Discard)
        && links::send_command(
            srv,
            link,
            renames,
            &["SLAVEOF", &host, &port],
            Callback::Discard,
        )
        && links::send_command(
            srv,
            link,
            renames,
            &["CONFIG", "REWRITE"],
            Callback::Discard,
        )
        && links::send_command(
            srv,
            link,
            renames,
            &["CLIENT", "KILL", "TYPE", "normal"],
            Callback::Discard,
        )
        && links::send_command(
            srv,
            link,
            renames,
            &["CLIENT", "KILL", "TYPE", "pubsub"],
            Callback::Discard,
        )
        && links::send_command(srv, link, renames, &["EXEC"], Callback::Discard)
}

/// sentinelFailoverSendSlaveOfNoOne: waits (up to failover-timeout) for a
/// link to the chosen replica.
fn send_slaveof_noone(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let renames = st.masters[name].renamed_commands.clone();
    let now = srv.mstime();
    let m = st.masters.get_mut(name).expect("master");
    let slave = m.promoted_slave.clone().expect("promoted slave");
    let desc = m.describe(&Who::Slave(slave.clone()));
    let ri = m.slaves.get_mut(&slave).expect("slave");
    if ri.link.disconnected {
        if now - m.failover_state_change_time_ms > m.failover_timeout_ms {
            abort_slave_timeout(st, srv, name);
        }
        return;
    }
    if !send_slaveof(srv, ri, &renames, None) {
        return;
    }
    event(
        srv,
        LogLevel::Notice,
        "+failover-state-wait-promotion",
        desc,
    );
    set_state(st, srv, name, State::WaitPromotion);
}

fn abort_slave_timeout(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let desc = st.masters[name].describe(&Who::Master);
    event(
        srv,
        LogLevel::Warning,
        "-failover-abort-slave-timeout",
        desc,
    );
    abort_failover(st, srv, name);
}

/// sentinelAbortFailover: possible only before the promotion.
fn abort_failover(st: &mut SentinelState, srv: &Server, name: &str) {
    let m = st.masters.get_mut(name).expect("master");
    assert!(m.inst.has(flags::FAILOVER_IN_PROGRESS));
    assert!(m.failover_state <= State::WaitPromotion);
    m.inst.flags &= !(flags::FAILOVER_IN_PROGRESS | flags::FORCE_FAILOVER);
    m.failover_state = State::None;
    m.failover_state_change_time_ms = srv.mstime();
    if let Some(p) = m.promoted_slave.take() {
        if let Some(s) = m.slaves.get_mut(&p) {
            s.flags &= !flags::PROMOTED;
        }
    }
}

/// sentinelFailoverReconfNextSlave: keep at most parallel-syncs replicas
/// being reconfigured; one stuck in RECONF_SENT for 10 s counts as done.
fn reconf_next_slave(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let renames = st.masters[name].renamed_commands.clone();
    let now = srv.mstime();
    let m = st.masters.get_mut(name).expect("master");
    let promoted = m
        .promoted_slave
        .clone()
        .and_then(|p| m.slaves.get(&p).map(|s| (s.host.clone(), s.port)));
    let Some((host, port)) = promoted else { return };
    let mut in_progress = m
        .slaves
        .values()
        .filter(|s| s.has(flags::RECONF_SENT | flags::RECONF_INPROG))
        .count() as i64;
    let names: Vec<String> = m.slaves.keys().cloned().collect();
    for sname in names {
        if in_progress >= m.parallel_syncs {
            break;
        }
        let desc = m.describe(&Who::Slave(sname.clone()));
        let s = m.slaves.get_mut(&sname).expect("slave");
        if s.has(flags::PROMOTED | flags::RECONF_DONE) {
            continue;
        }
        if s.has(flags::RECONF_SENT)
            && now - s.slave_reconf_sent_time_ms > st.timing.slave_reconf_timeout
        {
            event(
                srv,
                LogLevel::Notice,
                "-slave-reconf-sent-timeout",
                desc.clone(),
            );
            s.flags &= !flags::RECONF_SENT;
            s.flags |= flags::RECONF_DONE;
        }
        if s.has(flags::RECONF_SENT | flags::RECONF_INPROG) || s.link.disconnected {
            continue;
        }
        if send_slaveof(srv, s, &renames, Some((&host, port))) {
            s.flags |= flags::RECONF_SENT;
            s.slave_reconf_sent_time_ms = now;
            event(srv, LogLevel::Notice, "+slave-reconf-sent", desc);
            in_progress += 1;
        }
    }
    detect_end(st, srv, name);
}

/// sentinelFailoverDetectEnd: every reachable replica is done, or
/// failover-timeout passed (then the rest get SLAVEOF, best effort).
fn detect_end(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let renames = st.masters[name].renamed_commands.clone();
    let now = srv.mstime();
    let m = st.masters.get_mut(name).expect("master");
    let Some(promoted) = m.promoted_slave.clone() else {
        return;
    };
    let Some((host, port)) = m
        .slaves
        .get(&promoted)
        .filter(|p| !p.has(flags::S_DOWN))
        .map(|p| (p.host.clone(), p.port))
    else {
        return;
    };
    let mut not_reconfigured = m
        .slaves
        .values()
        .filter(|s| !s.has(flags::PROMOTED | flags::RECONF_DONE) && !s.has(flags::S_DOWN))
        .count();
    let desc = m.describe(&Who::Master);
    let timeout = now - m.failover_state_change_time_ms > m.failover_timeout_ms;
    if timeout {
        not_reconfigured = 0;
        event(
            srv,
            LogLevel::Warning,
            "+failover-end-for-timeout",
            desc.clone(),
        );
    }
    if not_reconfigured == 0 {
        event(srv, LogLevel::Warning, "+failover-end", desc);
        m.failover_state = State::UpdateConfig;
        m.failover_state_change_time_ms = now;
    }
    if !timeout {
        return;
    }
    let names: Vec<String> = m.slaves.keys().cloned().collect();
    for sname in names {
        let desc = m.describe(&Who::Slave(sname.clone()));
        let s = m.slaves.get_mut(&sname).expect("slave");
        if s.has(flags::PROMOTED | flags::RECONF_DONE | flags::RECONF_SENT) || s.link.disconnected {
            continue;
        }
        if send_slaveof(srv, s, &renames, Some((&host, port))) {
            event(srv, LogLevel::Notice, "+slave-reconf-sent-be", desc);
            s.flags |= flags::RECONF_SENT;
        }
    }
}

/// sentinelFailoverSwitchToPromotedSlave.
pub fn switch_to_promoted(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let m = &st.masters[name];
    let (host, hostname, port) = match m.promoted_slave.as_ref().and_then(|p| m.slaves.get(p)) {
        Some(p) => (p.host.clone(), p.hostname.clone(), p.port),
        None => (m.inst.host.clone(), m.inst.hostname.clone(), m.inst.port),
    };
    let msg = format!("{} {} {} {} {}", name, m.inst.host, m.inst.port, host, port);
    event(srv, LogLevel::Warning, "+switch-master", msg);
    reset_master_and_change_address(st, srv, name, (&host, &hostname), port);
}

/// sentinelResetMaster: forget replicas (and Sentinels unless kept), drop
/// the links, clear every flag and the failover.
pub fn reset_master(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    keep_sentinels: bool,
    generate_event: bool,
) {
    let now = srv.mstime();
    let SentinelState { conns, masters, .. } = st;
    let m = masters.get_mut(name).expect("master");
    for (_, mut s) in std::mem::take(&mut m.slaves) {
        links::close_all(conns, srv, &mut s.link);
    }
    if !keep_sentinels {
        for (_, mut s) in std::mem::take(&mut m.sentinels) {
            links::close_all(conns, srv, &mut s.link);
        }
    }
    links::close_all(conns, srv, &mut m.inst.link);
    m.inst.flags = 0;
    m.inst.leader = None;
    m.failover_state = State::None;
    m.failover_state_change_time_ms = 0;
    m.failover_start_time_ms = 0;
    m.promoted_slave = None;
    m.inst.runid = None;
    m.inst.slave_master_host = None;
    m.inst.link.act_ping_time_ms = now;
    m.inst.link.last_ping_time_ms = 0;
    m.inst.link.last_avail_time_ms = now;
    m.inst.link.last_pong_time_ms = now;
    m.inst.role_reported_time_ms = now;
    m.inst.role_reported = Role::Master;
    if generate_event {
        let desc = m.describe(&Who::Master);
        event(srv, LogLevel::Warning, "+reset-master", desc);
    }
}

/// sentinelResetMasterAndChangeAddress: the master moves to host:port;
/// its replicas, and the old master's address, become its replicas.
pub fn reset_master_and_change_address(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    (host, hostname): (&str, &str),
    port: u16,
) {
    let now = srv.mstime();
    let m = &st.masters[name];
    let mut addrs: Vec<(String, String, u16)> = m
        .slaves
        .values()
        .filter(|s| !s.addr_is(host, i64::from(port)))
        .map(|s| (s.host.clone(), s.hostname.clone(), s.port))
        .collect();
    if !m.inst.addr_is(host, i64::from(port)) {
        addrs.push((m.inst.host.clone(), m.inst.hostname.clone(), m.inst.port));
    }
    reset_master(st, srv, name, true, false);
    let m = st.masters.get_mut(name).expect("master");
    m.inst.host = host.to_string();
    m.inst.hostname = hostname.to_string();
    m.inst.port = port;
    m.inst.o_down_since_ms = 0;
    m.inst.s_down_since_ms = 0;
    for (h, given, p) in addrs {
        let sname = slave_name(&h, p);
        if m.slaves.contains_key(&sname) {
            continue;
        }
        let mut ri = Instance::new(Role::Slave, sname.clone(), &h, p, m.inst.down_after_ms, now);
        ri.hostname = given;
        m.slaves.insert(sname.clone(), ri);
        let desc = m.describe(&Who::Slave(sname));
        event(srv, LogLevel::Notice, "+slave", desc);
    }
    super::config::flush(st, srv);
}

/// sentinelMasterLooksSane.
fn master_looks_sane(m: &super::Master, t: &super::Timing, now: i64) -> bool {
    m.inst.role_reported == Role::Master
        && !m.inst.has(flags::S_DOWN | flags::O_DOWN)
        && now - m.inst.info_refresh_ms < t.info_period * 2
}

/// The acting half of sentinelRefreshInstanceInfo for a replica: the
/// promotion seen, an old master converted, a misconfigured replica
/// fixed, and reconfiguration progress.
pub fn replica_role_acting(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    slave: &str,
    role: Role,
) {
    let renames = st.masters[name].renamed_commands.clone();
    if role == Role::Master {
        replica_reports_master(st, srv, name, slave);
        return;
    }
    let now = srv.mstime();
    // sentinelAddrEqualsHostname: the reported master host is resolved before comparing.
    let reported = st.masters[name]
        .slaves
        .get(slave)
        .and_then(|s| s.slave_master_host.clone())
        .map(|h| st.resolve(&h));
    let m = st.masters.get_mut(name).expect("master");
    let sane = master_looks_sane(m, &st.timing, now);
    let (mhost, mport, timeout) = (m.inst.host.clone(), m.inst.port, m.failover_timeout_ms);
    let promoted = m
        .promoted_slave
        .as_ref()
        .and_then(|p| m.slaves.get(p))
        .map(|p| (p.host.clone(), p.port));
    let desc = m.describe(&Who::Slave(slave.to_string()));
    let Some(s) = m.slaves.get_mut(slave) else {
        return;
    };
    let wrong_master = s.slave_master_port != i64::from(mport)
        || !reported
            .as_ref()
            .is_some_and(|h| h.eq_ignore_ascii_case(&mhost));
    if wrong_master
        && sane
        && s.no_down_for(timeout, now)
        && now - s.slave_conf_change_time_ms > timeout
        && send_slaveof(srv, s, &renames, Some((&mhost, mport)))
    {
        event(srv, LogLevel::Notice, "+fix-slave-config", desc.clone());
    }
    if !s.has(flags::RECONF_SENT | flags::RECONF_INPROG) {
        return;
    }
    if let Some((phost, pport)) = promoted {
        let points_to_promoted = reported
            .as_ref()
            .is_some_and(|h| h.eq_ignore_ascii_case(&phost))
            && s.slave_master_port == i64::from(pport);
        if s.has(flags::RECONF_SENT) && points_to_promoted {
            s.flags &= !flags::RECONF_SENT;
            s.flags |= flags::RECONF_INPROG;
            event(srv, LogLevel::Notice, "+slave-reconf-inprog", desc.clone());
        }
    }
    if s.has(flags::RECONF_INPROG) && s.slave_master_link_up {
        s.flags &= !flags::RECONF_INPROG;
        s.flags |= flags::RECONF_DONE;
        event(srv, LogLevel::Notice, "+slave-reconf-done", desc);
    }
}

/// A replica says role:master: the one we promoted (the failover moves
/// on), or one that must be turned back into a replica after 8 s of calm.
fn replica_reports_master(st: &mut SentinelState, srv: &mut Server, name: &str, slave: &str) {
    let renames = st.masters[name].renamed_commands.clone();
    let now = srv.mstime();
    let m = st.masters.get_mut(name).expect("master");
    let desc = m.describe(&Who::Slave(slave.to_string()));
    let Some(s) = m.slaves.get(slave) else { return };
    let promoted = s.has(flags::PROMOTED);
    if promoted
        && m.inst.has(flags::FAILOVER_IN_PROGRESS)
        && m.failover_state == State::WaitPromotion
    {
        m.config_epoch = m.failover_epoch;
        m.failover_state = State::ReconfSlaves;
        m.failover_state_change_time_ms = now;
        let master_desc = m.describe(&Who::Master);
        super::config::flush(st, srv);
        event(srv, LogLevel::Warning, "+promoted-slave", desc);
        if st.simfailure_flags & super::SIMFAILURE_CRASH_AFTER_PROMOTION != 0 {
            super::simfailure_crash(srv);
            return;
        }
        event(
            srv,
            LogLevel::Warning,
            "+failover-state-reconf-slaves",
            master_desc,
        );
        force_hello_update(st, name);
        return;
    }
    let wait_ms = st.timing.publish_period * 4;
    let sane = master_looks_sane(m, &st.timing, now);
    let (mhost, mport) = (m.inst.host.clone(), m.inst.port);
    let s = m.slaves.get_mut(slave).expect("slave");
    let calm =
        !promoted && sane && s.no_down_for(wait_ms, now) && now - s.role_reported_time_ms > wait_ms;
    if calm && send_slaveof(srv, s, &renames, Some((&mhost, mport))) {
        event(srv, LogLevel::Notice, "+convert-to-slave", desc);
    }
}

/// sentinelForceHelloUpdateForMaster: hellos go out on the next tick.
fn force_hello_update(st: &mut SentinelState, name: &str) {
    let m = st.masters.get_mut(name).expect("master");
    let all = std::iter::once(&mut m.inst)
        .chain(m.sentinels.values_mut())
        .chain(m.slaves.values_mut());
    for ri in all {
        if ri.last_pub_time_ms > st.timing.publish_period {
            ri.last_pub_time_ms -= st.timing.publish_period + 1;
        }
    }
}
