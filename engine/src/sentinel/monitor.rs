//! The monitoring half: reconnecting links, the periodic PING, INFO and
//! hello, INFO parsing (replica discovery, roles, reconfiguration
//! progress), hello processing (Sentinel discovery, epochs, config
//! updates) and SDOWN.

use super::instance::{flags, slave_name, Instance, Role};
use super::links::{self, Callback, LinkKind};
use super::{event, failover, SentinelState, Who};
use super::{INFO_PERIOD_MS, MIN_LINK_RECONNECT_PERIOD_MS, PING_PERIOD_MS, PUBLISH_PERIOD_MS};
use crate::resp::Value;
use crate::server::Server;
use crate::LogLevel;

/// sentinelHandleDictOfRedisInstances for one master: the master, then its
/// replicas, then its Sentinels.
pub fn handle_master_and_children(st: &mut SentinelState, srv: &mut Server, name: &str) {
    handle_instance(st, srv, name, &Who::Master);
    let Some(m) = st.masters.get(name) else {
        return;
    };
    let slaves: Vec<String> = m.slaves.keys().cloned().collect();
    let sentinels: Vec<String> = m.sentinels.keys().cloned().collect();
    for s in slaves {
        handle_instance(st, srv, name, &Who::Slave(s));
    }
    for s in sentinels {
        handle_instance(st, srv, name, &Who::Sentinel(s));
    }
}

/// sentinelHandleRedisInstance.
fn handle_instance(st: &mut SentinelState, srv: &mut Server, name: &str, who: &Who) {
    if st.masters.get(name).and_then(|m| m.get(who)).is_none() {
        return;
    }
    reconnect(st, srv, name, who);
    send_periodic_commands(st, srv, name, who);
    if st.tilt {
        if srv.mstime() - st.tilt_start_ms < super::TILT_PERIOD_MS {
            return;
        }
        st.tilt = false;
        event(srv, LogLevel::Warning, "-tilt", "#tilt mode exited".into());
    }
    check_subjectively_down(st, srv, name, who);
    if *who == Who::Master {
        failover::check_objectively_down(st, srv, name);
        if failover::start_failover_if_needed(st, srv, name) {
            failover::ask_master_state(st, srv, name, true);
        }
        failover::state_machine(st, srv, name);
        failover::ask_master_state(st, srv, name, false);
    }
}

/// sentinelReconnectInstance: at most once per ping period, open what is
/// missing; a new command link names itself and PINGs at once, a new
/// pub/sub link subscribes to the hello channel.
fn reconnect(st: &mut SentinelState, srv: &mut Server, name: &str, who: &Who) {
    let now = srv.mstime();
    let (host, port, role, need_cc, need_pc) = {
        let ri = st
            .masters
            .get_mut(name)
            .and_then(|m| m.get_mut(who))
            .expect("instance");
        if !ri.link.disconnected
            || ri.port == 0
            || now - ri.link.last_reconn_time_ms < PING_PERIOD_MS
        {
            return;
        }
        ri.link.last_reconn_time_ms = now;
        (
            ri.host.clone(),
            ri.port,
            ri.role,
            ri.link.cc.id.is_none(),
            ri.link.pc.id.is_none(),
        )
    };
    let myid = st.myid.clone();
    // sentinelSendAuthIfNeeded: masters and replicas take the master's auth-pass.
    let auth = if *who == Who::Master || matches!(who, Who::Slave(_)) {
        st.masters[name].auth_pass.clone()
    } else {
        None
    };
    if need_cc {
        let conn = links::open(st, srv, name, who, LinkKind::Cmd, &host, port);
        let ri = st
            .masters
            .get_mut(name)
            .and_then(|m| m.get_mut(who))
            .expect("instance");
        ri.link.cc.id = Some(conn);
        ri.link.pending_commands = 0;
        ri.link.cc_conn_time_ms = now;
        if let Some(pass) = &auth {
            links::send_command(
                srv,
                &mut ri.link,
                &["AUTH", pass.as_str()],
                Callback::Discard,
            );
        }
        let client_name = format!("sentinel-{}-cmd", &myid[..8]);
        links::send_command(
            srv,
            &mut ri.link,
            &["CLIENT", "SETNAME", &client_name],
            Callback::Discard,
        );
        send_ping(srv, ri, now);
    }
    if role != Role::Sentinel && need_pc {
        let conn = links::open(st, srv, name, who, LinkKind::Pubsub, &host, port);
        let ri = st
            .masters
            .get_mut(name)
            .and_then(|m| m.get_mut(who))
            .expect("instance");
        ri.link.pc.id = Some(conn);
        ri.link.pc_conn_time_ms = now;
        if let Some(pass) = &auth {
            links::send_pubsub(srv, &mut ri.link, &["AUTH", pass.as_str()]);
        }
        let client_name = format!("sentinel-{}-pubsub", &myid[..8]);
        links::send_pubsub(srv, &mut ri.link, &["CLIENT", "SETNAME", &client_name]);
        links::send_pubsub(srv, &mut ri.link, &["SUBSCRIBE", super::HELLO_CHANNEL]);
    }
    let ri = st
        .masters
        .get_mut(name)
        .and_then(|m| m.get_mut(who))
        .expect("instance");
    if ri.link.cc.id.is_some() && (ri.role == Role::Sentinel || ri.link.pc.id.is_some()) {
        ri.link.disconnected = false;
    }
}

/// sentinelSendPing: act_ping_time keeps the oldest unanswered PING.
pub fn send_ping(srv: &mut Server, ri: &mut Instance, now: i64) -> bool {
    if !links::send_command(srv, &mut ri.link, &["PING"], Callback::Ping) {
        return false;
    }
    ri.link.last_ping_time_ms = now;
    if ri.link.act_ping_time_ms == 0 {
        ri.link.act_ping_time_ms = now;
    }
    true
}

/// sentinelSendPeriodicCommands: INFO to masters and replicas (every
/// second for a replica whose master is down or failing over, or whose
/// own master link is down), PING, and the hello.
fn send_periodic_commands(st: &mut SentinelState, srv: &mut Server, name: &str, who: &Who) {
    let now = srv.mstime();
    let m = st.masters.get(name).expect("master");
    let master_busy = m.inst.has(flags::O_DOWN | flags::FAILOVER_IN_PROGRESS);
    let ri = m.get(who).expect("instance");
    if ri.link.disconnected || ri.link.pending_commands >= super::MAX_PENDING_COMMANDS {
        return;
    }
    let info_period = if ri.role == Role::Slave && (master_busy || ri.master_link_down_time_ms != 0)
    {
        1000
    } else {
        INFO_PERIOD_MS
    };
    let ping_period = ri.down_after_ms.min(PING_PERIOD_MS);
    let wants_info = ri.role != Role::Sentinel
        && (ri.info_refresh_ms == 0 || now - ri.info_refresh_ms > info_period);
    let wants_ping = now - ri.link.last_pong_time_ms > ping_period
        && now - ri.link.last_ping_time_ms > ping_period / 2;
    let wants_hello = now - ri.last_pub_time_ms > PUBLISH_PERIOD_MS;
    let hello = if wants_hello {
        Some(hello_payload(st, srv, name))
    } else {
        None
    };
    let ri = st
        .masters
        .get_mut(name)
        .and_then(|m| m.get_mut(who))
        .expect("instance");
    if wants_info {
        links::send_command(srv, &mut ri.link, &["INFO"], Callback::Info);
    }
    if wants_ping {
        send_ping(srv, ri, now);
    }
    if let Some(payload) = hello {
        links::send_command(
            srv,
            &mut ri.link,
            &["PUBLISH", super::HELLO_CHANNEL, payload.as_str()],
            Callback::Publish,
        );
    }
}

/// "<ip>,<port>,<myid>,<current_epoch>,<master>,<master_ip>,<master_port>,<config_epoch>".
/// Our address is the announced one, else the one our connections come from.
fn hello_payload(st: &SentinelState, srv: &Server, name: &str) -> String {
    let m = &st.masters[name];
    let ip = match &st.announce_ip {
        Some(ip) => ip.clone(),
        None if srv.options.ip.is_empty() => "127.0.0.1".to_string(),
        None => srv.options.ip.clone(),
    };
    let port = if st.announce_port != 0 {
        st.announce_port
    } else {
        srv.options.port
    };
    let (mip, mport) = m.current_addr();
    format!(
        "{},{},{},{},{},{},{},{}",
        ip, port, st.myid, st.current_epoch, m.inst.name, mip, mport, m.config_epoch
    )
}

/// A reply on an instance's command link.
pub fn on_reply(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    who: &Who,
    cb: Callback,
    reply: Value,
) {
    let now = srv.mstime();
    match cb {
        Callback::Discard => {}
        Callback::Ping => {
            let Some(ri) = st.masters.get_mut(name).and_then(|m| m.get_mut(who)) else {
                return;
            };
            if let Value::Simple(text) | Value::Error(text) = &reply {
                if ["PONG", "LOADING", "MASTERDOWN"]
                    .iter()
                    .any(|p| text.starts_with(p))
                {
                    ri.link.last_avail_time_ms = now;
                    ri.link.act_ping_time_ms = 0;
                }
            }
            ri.link.last_pong_time_ms = now;
        }
        Callback::Info => {
            if let Value::Bulk(text) = reply {
                refresh_instance_info(st, srv, name, who, &String::from_utf8_lossy(&text));
            }
        }
        Callback::Publish => {
            let Some(ri) = st.masters.get_mut(name).and_then(|m| m.get_mut(who)) else {
                return;
            };
            // Only a published hello counts; otherwise retry on the next tick.
            if !matches!(reply, Value::Error(_)) {
                ri.last_pub_time_ms = now;
            }
        }
        Callback::IsMasterDown => failover::on_is_master_down_reply(st, srv, name, who, reply),
    }
}

/// sentinelReceiveHelloMessages: any reply counts as activity; a
/// "message" from someone else is a hello to process.
pub fn on_pubsub_message(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    who: &Who,
    msg: Value,
) {
    let now = srv.mstime();
    if let Some(ri) = st.masters.get_mut(name).and_then(|m| m.get_mut(who)) {
        ri.link.pc_last_activity_ms = now;
    }
    let Value::Array(items) = msg else { return };
    match items.as_slice() {
        [Value::Bulk(kind), Value::Bulk(_), Value::Bulk(payload)] if kind == b"message" => {
            let text = String::from_utf8_lossy(payload).into_owned();
            if !text.contains(&st.myid) {
                process_hello(st, srv, &text);
            }
        }
        _ => {}
    }
}

/// sentinelProcessHelloMessage: learn the Sentinel, adopt a newer epoch
/// and a newer master configuration.
pub fn process_hello(st: &mut SentinelState, srv: &mut Server, hello: &str) {
    let token: Vec<&str> = hello.split(',').collect();
    if token.len() != 8 || !st.masters.contains_key(token[4]) {
        return;
    }
    let now = srv.mstime();
    let name = token[4].to_string();
    let port = atoi(token[1]) as u16;
    let master_port = atoi(token[6]);
    let current_epoch = token[3].parse::<u64>().unwrap_or(0);
    let master_config_epoch = token[7].parse::<u64>().unwrap_or(0);
    let runid = token[2].to_string();
    let known = st.masters[&name]
        .sentinels
        .get(&runid)
        .is_some_and(|si| si.addr_is(token[0], i64::from(port)));
    if !known {
        learn_sentinel(st, srv, &name, token[0], port, &runid);
    }
    if current_epoch > st.current_epoch {
        st.current_epoch = current_epoch;
        super::config::flush(st, srv);
        let msg = format!("{}", st.current_epoch);
        event(srv, LogLevel::Warning, "+new-epoch", msg);
    }
    let m = st.masters.get_mut(&name).expect("master");
    if m.sentinels.contains_key(&runid) && m.config_epoch < master_config_epoch {
        m.config_epoch = master_config_epoch;
        if !m.inst.addr_is(token[5], master_port) {
            let from = m.describe(&Who::Sentinel(runid.clone()));
            event(srv, LogLevel::Warning, "+config-update-from", from);
            let msg = format!(
                "{} {} {} {} {}",
                name, m.inst.host, m.inst.port, token[5], master_port
            );
            event(srv, LogLevel::Warning, "+switch-master", msg);
            failover::reset_master_and_change_address(st, srv, &name, token[5], master_port as u16);
        }
    }
    if let Some(si) = st
        .masters
        .get_mut(&name)
        .and_then(|m| m.sentinels.get_mut(&runid))
    {
        si.last_hello_time_ms = now;
    }
}

/// A hello from a Sentinel we do not know at this address: drop any old
/// record with its run id (an address switch) or with its address (a
/// stale id), then add it.
fn learn_sentinel(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    ip: &str,
    port: u16,
    runid: &str,
) {
    let now = srv.mstime();
    let removed = remove_sentinel_everywhere(st, srv, Some(name), runid);
    if removed {
        let m = &st.masters[name];
        let msg = format!(
            "{} ip {} port {} for {}",
            m.describe(&Who::Master),
            ip,
            port,
            runid
        );
        event(srv, LogLevel::Notice, "+sentinel-address-switch", msg);
    } else {
        let m = &st.masters[name];
        let other = m
            .sentinels
            .values()
            .find(|si| si.addr_is(ip, i64::from(port)))
            .map(|si| si.name.clone());
        if let Some(other) = other {
            let msg = m.describe(&Who::Sentinel(other.clone()));
            event(srv, LogLevel::Notice, "+sentinel-invalid-addr", msg);
            remove_sentinel_everywhere(st, srv, None, &other);
        }
    }
    let m = st.masters.get_mut(name).expect("master");
    let mut si = Instance::new(
        Role::Sentinel,
        runid.to_string(),
        ip,
        port,
        m.inst.down_after_ms,
        now,
    );
    si.runid = Some(runid.to_string());
    m.sentinels.insert(runid.to_string(), si);
    if !removed {
        let msg = m.describe(&Who::Sentinel(runid.to_string()));
        event(srv, LogLevel::Notice, "+sentinel", msg);
    }
    super::config::flush(st, srv);
}

/// removeMatchingSentinelFromMaster for one master (Some) or all (None).
fn remove_sentinel_everywhere(
    st: &mut SentinelState,
    srv: &mut Server,
    only: Option<&str>,
    runid: &str,
) -> bool {
    let SentinelState { conns, masters, .. } = st;
    let mut removed = false;
    for (name, m) in masters.iter_mut() {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        if let Some(mut si) = m.sentinels.remove(runid) {
            links::close_all(conns, srv, &mut si.link);
            removed = true;
        }
    }
    removed
}

fn atoi(s: &str) -> i64 {
    let end = s
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(s.len());
    s[..end].parse().unwrap_or(0)
}

/// The fields of an INFO reply Sentinel reads (sentinelRefreshInstanceInfo's
/// parsing half).
#[derive(Default)]
struct ParsedInfo {
    run_id: Option<String>,
    slaves: Vec<(String, u16)>,
    link_down_ms: i64,
    role: Option<Role>,
    master_host: Option<String>,
    master_port: Option<i64>,
    link_up: Option<bool>,
    priority: Option<i64>,
    repl_offset: Option<u64>,
    announced: Option<i64>,
}

fn parse_info(info: &str) -> ParsedInfo {
    let mut p = ParsedInfo::default();
    for l in info.split("\r\n") {
        if l.len() >= 47 && l.starts_with("run_id:") {
            p.run_id = Some(l[7..47].to_string());
        }
        if let Some(addr) = parse_slave_line(l) {
            p.slaves.push(addr);
        }
        if l.len() >= 32 && l.starts_with("master_link_down_since_seconds") {
            p.link_down_ms = atoi(&l[31..]) * 1000;
        }
        if l.starts_with("role:master") {
            p.role = Some(Role::Master);
        } else if l.starts_with("role:slave") {
            p.role = Some(Role::Slave);
        }
        // Replica fields count only after a role:slave line, as in Redis.
        if p.role == Some(Role::Slave) {
            if let Some(v) = l.strip_prefix("master_host:") {
                p.master_host = Some(v.to_string());
            } else if let Some(v) = l.strip_prefix("master_port:") {
                p.master_port = Some(atoi(v));
            } else if let Some(v) = l.strip_prefix("master_link_status:") {
                p.link_up = Some(v.eq_ignore_ascii_case("up"));
            } else if let Some(v) = l.strip_prefix("slave_priority:") {
                p.priority = Some(atoi(v));
            } else if let Some(v) = l.strip_prefix("slave_repl_offset:") {
                p.repl_offset = Some(atoi(v).max(0) as u64);
            } else if let Some(v) = l.strip_prefix("replica_announced:") {
                p.announced = Some(atoi(v));
            }
        }
    }
    p
}

/// "slave0:ip=10.0.0.2,port=6379,state=online,..." -> ("10.0.0.2", 6379).
fn parse_slave_line(l: &str) -> Option<(String, u16)> {
    let rest = l.strip_prefix("slave")?;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) || l.len() < 7 {
        return None;
    }
    let ip_at = l.find("ip=")? + 3;
    let port_at = l.find("port=")? + 5;
    let ip = l[ip_at..].split(',').next()?.to_string();
    let port = atoi(l[port_at..].split(',').next()?);
    Some((ip, port as u16))
}

/// sentinelRefreshInstanceInfo.
fn refresh_instance_info(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    who: &Who,
    info: &str,
) {
    let now = srv.mstime();
    let p = parse_info(info);
    let Some(m) = st.masters.get_mut(name) else {
        return;
    };
    let Some(ri) = m.get_mut(who) else { return };
    ri.info = Some(info.to_string());
    ri.master_link_down_time_ms = p.link_down_ms;
    let mut rebooted = false;
    if let Some(id) = &p.run_id {
        rebooted = ri.runid.as_ref().is_some_and(|old| old != id);
        ri.runid = Some(id.clone());
    }
    if ri.role == Role::Slave && p.role == Some(Role::Slave) {
        update_replica_fields(ri, &p, now);
    }
    ri.info_refresh_ms = now;
    if rebooted {
        let msg = m.describe(who);
        event(srv, LogLevel::Notice, "+reboot", msg);
    }
    if *who == Who::Master {
        discover_replicas(st, srv, name, &p.slaves);
    }
    let role = p.role;
    let Some(m) = st.masters.get_mut(name) else {
        return;
    };
    let Some(ri) = m.get_mut(who) else { return };
    let role_changed = match role {
        Some(r) => r != ri.role_reported,
        None => false,
    };
    if let (true, Some(r)) = (role_changed, role) {
        ri.role_reported_time_ms = now;
        ri.role_reported = r;
        if r == Role::Slave {
            ri.slave_conf_change_time_ms = now;
        }
        let kind = if ri.role == r {
            "+role-change"
        } else {
            "-role-change"
        };
        let msg = format!("{} new reported role is {}", m.describe(who), r.type_str());
        event(srv, LogLevel::Verbose, kind, msg);
    }
    if st.tilt {
        return;
    }
    if let (Who::Slave(slave), Some(r)) = (who, role) {
        failover::replica_role_acting(st, srv, name, slave, r);
    }
}

fn update_replica_fields(ri: &mut Instance, p: &ParsedInfo, now: i64) {
    if let Some(h) = &p.master_host {
        if ri
            .slave_master_host
            .as_ref()
            .is_none_or(|old| !old.eq_ignore_ascii_case(h))
        {
            ri.slave_master_host = Some(h.clone());
            ri.slave_conf_change_time_ms = now;
        }
    }
    if let Some(port) = p.master_port {
        if ri.slave_master_port != port {
            ri.slave_master_port = port;
            ri.slave_conf_change_time_ms = now;
        }
    }
    if let Some(up) = p.link_up {
        ri.slave_master_link_up = up;
    }
    if let Some(v) = p.priority {
        ri.slave_priority = v;
    }
    if let Some(v) = p.repl_offset {
        ri.slave_repl_offset = v;
    }
    if let Some(v) = p.announced {
        ri.replica_announced = v;
    }
}

/// New replicas listed by the master's INFO: +slave, and the config is saved.
fn discover_replicas(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    slaves: &[(String, u16)],
) {
    let now = srv.mstime();
    for (ip, port) in slaves {
        let m = st.masters.get_mut(name).expect("master");
        if m.lookup_slave(ip, *port).is_some() {
            continue;
        }
        let sname = slave_name(ip, *port);
        let ri = Instance::new(
            Role::Slave,
            sname.clone(),
            ip,
            *port,
            m.inst.down_after_ms,
            now,
        );
        m.slaves.insert(sname.clone(), ri);
        let msg = m.describe(&Who::Slave(sname));
        event(srv, LogLevel::Notice, "+slave", msg);
        super::config::flush(st, srv);
    }
}

/// sentinelCheckSubjectivelyDown, with the link hygiene that goes with it.
fn check_subjectively_down(st: &mut SentinelState, srv: &mut Server, name: &str, who: &Who) {
    let now = srv.mstime();
    let (close_cc, close_pc) = {
        let ri = st
            .masters
            .get(name)
            .and_then(|m| m.get(who))
            .expect("instance");
        let l = &ri.link;
        let half = ri.down_after_ms / 2;
        let close_cc = l.cc.id.is_some()
            && now - l.cc_conn_time_ms > MIN_LINK_RECONNECT_PERIOD_MS
            && l.act_ping_time_ms != 0
            && now - l.act_ping_time_ms > half
            && now - l.last_pong_time_ms > half;
        let close_pc = l.pc.id.is_some()
            && now - l.pc_conn_time_ms > MIN_LINK_RECONNECT_PERIOD_MS
            && now - l.pc_last_activity_ms > PUBLISH_PERIOD_MS * 3;
        (close_cc, close_pc)
    };
    if close_cc {
        links::close_of(st, srv, name, who, LinkKind::Cmd, true);
    }
    if close_pc {
        links::close_of(st, srv, name, who, LinkKind::Pubsub, true);
    }
    let m = st.masters.get_mut(name).expect("master");
    let ri = m.get_mut(who).expect("instance");
    let elapsed = if ri.link.act_ping_time_ms != 0 {
        now - ri.link.act_ping_time_ms
    } else if ri.link.disconnected {
        now - ri.link.last_avail_time_ms
    } else {
        0
    };
    let claims_slave = ri.role == Role::Master
        && ri.role_reported == Role::Slave
        && now - ri.role_reported_time_ms > ri.down_after_ms + INFO_PERIOD_MS * 2;
    // The instance's description is formatted only for an event (this runs every tick).
    if elapsed > ri.down_after_ms || claims_slave {
        if !ri.has(flags::S_DOWN) {
            ri.s_down_since_ms = now;
            ri.flags |= flags::S_DOWN;
            event(srv, LogLevel::Warning, "+sdown", m.describe(who));
        }
    } else if ri.has(flags::S_DOWN) {
        ri.flags &= !flags::S_DOWN;
        event(srv, LogLevel::Warning, "-sdown", m.describe(who));
    }
}
