//! Sentinel mode's command table (sentinelcmds) and the SENTINEL
//! subcommands, INFO's Sentinel section, ROLE and the hello-only PUBLISH.

use super::failover;
use super::instance::{flags, Instance, Role};
use super::{config, event, with_state, SentinelState, Who};
use crate::commands::{flags as cf, Command, Ctx};
use crate::reply::Reply;
use crate::server::Server;
use crate::LogLevel;

const NO_SUCH_MASTER: &str = "ERR No such master with that name";
/// sentinelFlushConfigAndReply's error.
const SAVE_FAILED: &str = "ERR Failed to save config file. Check server logs.";

/// addReplySentinelRedisInstance: a flat field/value array.
fn reply_instance(
    r: &mut Reply,
    st: &SentinelState,
    ri: &Instance,
    m: Option<&super::Master>,
    now: i64,
) {
    let mut fields: Vec<(&str, String)> = vec![
        ("name", ri.name.clone()),
        ("ip", st.announced(ri).to_string()),
        ("port", ri.port.to_string()),
        ("runid", ri.runid.clone().unwrap_or_default()),
        ("flags", flag_names(ri)),
        (
            "link-pending-commands",
            ri.link.pending_commands.to_string(),
        ),
        ("link-refcount", "1".into()),
    ];
    if let (Some(m), true) = (m, ri.has(flags::FAILOVER_IN_PROGRESS)) {
        fields.push(("failover-state", m.failover_state.as_str().into()));
    }
    let act = ri.link.act_ping_time_ms;
    fields.push((
        "last-ping-sent",
        if act != 0 { now - act } else { 0 }.to_string(),
    ));
    fields.push((
        "last-ok-ping-reply",
        (now - ri.link.last_avail_time_ms).to_string(),
    ));
    fields.push((
        "last-ping-reply",
        (now - ri.link.last_pong_time_ms).to_string(),
    ));
    if ri.has(flags::S_DOWN) {
        fields.push(("s-down-time", (now - ri.s_down_since_ms).to_string()));
    }
    if ri.has(flags::O_DOWN) {
        fields.push(("o-down-time", (now - ri.o_down_since_ms).to_string()));
    }
    fields.push(("down-after-milliseconds", ri.down_after_ms.to_string()));
    if ri.role != Role::Sentinel {
        let refresh = if ri.info_refresh_ms != 0 {
            now - ri.info_refresh_ms
        } else {
            0
        };
        fields.push(("info-refresh", refresh.to_string()));
        fields.push(("role-reported", ri.role_reported.type_str().into()));
        fields.push((
            "role-reported-time",
            (now - ri.role_reported_time_ms).to_string(),
        ));
    }
    match (ri.role, m) {
        (Role::Master, Some(m)) => {
            fields.push(("config-epoch", m.config_epoch.to_string()));
            fields.push(("num-slaves", m.slaves.len().to_string()));
            fields.push(("num-other-sentinels", m.sentinels.len().to_string()));
            fields.push(("quorum", m.quorum.to_string()));
            fields.push(("failover-timeout", m.failover_timeout_ms.to_string()));
            fields.push(("parallel-syncs", m.parallel_syncs.to_string()));
        }
        (Role::Slave, _) => {
            fields.push((
                "master-link-down-time",
                ri.master_link_down_time_ms.to_string(),
            ));
            fields.push((
                "master-link-status",
                if ri.slave_master_link_up { "ok" } else { "err" }.into(),
            ));
            fields.push((
                "master-host",
                ri.slave_master_host.clone().unwrap_or_else(|| "?".into()),
            ));
            fields.push(("master-port", ri.slave_master_port.to_string()));
            fields.push(("slave-priority", ri.slave_priority.to_string()));
            fields.push(("slave-repl-offset", ri.slave_repl_offset.to_string()));
            fields.push(("replica-announced", ri.replica_announced.to_string()));
        }
        (Role::Sentinel, _) => {
            fields.push((
                "last-hello-message",
                (now - ri.last_hello_time_ms).to_string(),
            ));
            fields.push((
                "voted-leader",
                ri.leader.clone().unwrap_or_else(|| "?".into()),
            ));
            fields.push(("voted-leader-epoch", ri.leader_epoch.to_string()));
        }
        _ => {}
    }
    r.map(fields.len());
    for (k, v) in fields {
        r.bulk_str(k);
        r.bulk_str(&v);
    }
}

fn flag_names(ri: &Instance) -> String {
    let mut names: Vec<&str> = Vec::new();
    let has = |f| ri.has(f);
    if has(flags::S_DOWN) {
        names.push("s_down");
    }
    if has(flags::O_DOWN) {
        names.push("o_down");
    }
    names.push(ri.role.type_str());
    if ri.link.disconnected {
        names.push("disconnected");
    }
    let rest = [
        (flags::MASTER_DOWN, "master_down"),
        (flags::FAILOVER_IN_PROGRESS, "failover_in_progress"),
        (flags::PROMOTED, "promoted"),
        (flags::RECONF_SENT, "reconf_sent"),
        (flags::RECONF_INPROG, "reconf_inprog"),
        (flags::RECONF_DONE, "reconf_done"),
        (flags::FORCE_FAILOVER, "force_failover"),
        (flags::SCRIPT_KILL_SENT, "script_kill_sent"),
    ];
    names.extend(rest.iter().filter(|(f, _)| has(*f)).map(|(_, n)| *n));
    names.join(",")
}

fn state<'a>(ctx: &'a Ctx) -> &'a SentinelState {
    ctx.srv.sentinel.as_ref().expect("sentinel mode")
}

/// Builds a reply from the state, then hands it to the caller (the
/// caller's buffer lives in the server too).
fn reply_with(ctx: &mut Ctx, build: impl FnOnce(&SentinelState, i64, &mut Reply)) {
    let now = ctx.srv.mstime();
    let mut r = Reply::default();
    build(
        ctx.srv.sentinel.as_ref().expect("sentinel mode"),
        now,
        &mut r,
    );
    ctx.reply().raw(&r.buf);
}

fn masters_command(ctx: &mut Ctx) {
    reply_with(ctx, |st, now, r| {
        r.array(st.masters.len());
        for m in st.masters.values() {
            reply_instance(r, st, &m.inst, Some(m), now);
        }
    });
}

fn master_command(ctx: &mut Ctx) {
    let name = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    reply_with(ctx, |st, now, r| match st.masters.get(&name) {
        Some(m) => reply_instance(r, st, &m.inst, Some(m), now),
        None => r.err(NO_SUCH_MASTER),
    });
}

fn list_of(ctx: &mut Ctx, sentinels: bool) {
    let name = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    reply_with(ctx, |st, now, r| {
        let Some(m) = st.masters.get(&name) else {
            r.err(NO_SUCH_MASTER);
            return;
        };
        let table = if sentinels { &m.sentinels } else { &m.slaves };
        // addReplyDictOfRedisInstances: replicas with replica-announced no
        // are not listed.
        let shown: Vec<&Instance> = table
            .values()
            .filter(|ri| ri.role != Role::Slave || ri.replica_announced != 0)
            .collect();
        r.array(shown.len());
        for ri in shown {
            reply_instance(r, st, ri, Some(m), now);
        }
    });
}

fn replicas_command(ctx: &mut Ctx) {
    list_of(ctx, false);
}

fn sentinels_command(ctx: &mut Ctx) {
    list_of(ctx, true);
}

fn myid_command(ctx: &mut Ctx) {
    let id = state(ctx).myid.clone();
    ctx.reply().bulk_str(&id);
}

fn get_master_addr_command(ctx: &mut Ctx) {
    let name = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    let st = state(ctx);
    let addr = st.masters.get(&name).map(|m| {
        let ri = m.current_instance();
        (st.announced(ri).to_string(), ri.port)
    });
    match addr {
        Some((host, port)) => {
            ctx.reply().array(2);
            ctx.reply().bulk_str(&host);
            ctx.reply().bulk_str(&port.to_string());
        }
        None => ctx.reply().null_array(),
    }
}

/// SENTINEL is-master-down-by-addr <ip> <port> <epoch> <runid|*>: our
/// opinion (never "down" in TILT), and our vote when asked for one.
fn is_master_down_command(ctx: &mut Ctx) {
    let (Some(port), Some(req_epoch)) = (
        crate::util::parse_i64(&ctx.argv[3]),
        crate::util::parse_i64(&ctx.argv[4]),
    ) else {
        ctx.reply().err(crate::reply::errors::NOT_INTEGER);
        return;
    };
    let ip = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    let runid = String::from_utf8_lossy(&ctx.argv[5]).into_owned();
    let answer = with_state(ctx.srv, |st, srv| {
        let name = st
            .masters
            .iter()
            .find(|(_, m)| m.inst.addr_is(&ip, port))
            .map(|(n, _)| n.clone());
        let Some(name) = name else {
            return (false, None, 0);
        };
        let isdown = !st.tilt && st.masters[&name].inst.has(flags::S_DOWN);
        if runid == "*" {
            return (isdown, None, 0);
        }
        let (leader, epoch) = failover::vote_leader(st, srv, &name, req_epoch as u64, &runid);
        (isdown, leader, epoch)
    });
    let (isdown, leader, epoch) = answer.expect("sentinel mode");
    ctx.reply().array(3);
    ctx.reply().int(i64::from(isdown));
    ctx.reply().bulk_str(leader.as_deref().unwrap_or("*"));
    ctx.reply().int(epoch as i64);
}

fn reset_command(ctx: &mut Ctx) {
    let pattern = ctx.argv[2].clone();
    let count = with_state(ctx.srv, |st, srv| {
        let names: Vec<String> = st
            .masters
            .keys()
            .filter(|n| crate::util::glob_match(&pattern, n.as_bytes(), false))
            .cloned()
            .collect();
        for name in &names {
            failover::reset_master(st, srv, name, false, true);
        }
        names.len()
    });
    ctx.reply().int(count.unwrap_or(0) as i64);
}

/// SENTINEL FAILOVER: forced, no agreement asked.
fn failover_command(ctx: &mut Ctx) {
    let name = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    let now = ctx.srv.mstime();
    let result = with_state(ctx.srv, |st, srv| {
        let Some(m) = st.masters.get(&name) else {
            return Err(NO_SUCH_MASTER);
        };
        if m.inst.has(flags::FAILOVER_IN_PROGRESS) {
            return Err("INPROG Failover already in progress");
        }
        if failover::select_slave(m, &st.timing, now).is_none() {
            return Err("NOGOODSLAVE No suitable replica to promote");
        }
        srv.log(
            LogLevel::Warning,
            format!("Executing user requested FAILOVER of '{}'", name),
        );
        failover::start_failover(st, srv, &name);
        st.masters.get_mut(&name).expect("master").inst.flags |= flags::FORCE_FAILOVER;
        Ok(())
    });
    match result.expect("sentinel mode") {
        Ok(()) => ctx.reply().ok(),
        Err(e) => ctx.reply().err(e),
    }
}

fn flushconfig_command(ctx: &mut Ctx) {
    if with_state(ctx.srv, config::save) == Some(true) {
        ctx.reply().ok();
    } else {
        ctx.reply().err(SAVE_FAILED);
    }
}

fn monitor_command(ctx: &mut Ctx) {
    let args: Vec<String> = ctx.argv[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let quorum = crate::util::parse_i64(&ctx.argv[5]);
    let port = crate::util::parse_i64(&ctx.argv[4]);
    let error = match (quorum, port) {
        (None, _) => Some("ERR Invalid quorum".to_string()),
        (_, None) => Some("ERR Invalid port".to_string()),
        (Some(q), _) if q <= 0 => Some("ERR Quorum must be 1 or greater.".to_string()),
        _ => None,
    };
    if let Some(e) = error {
        ctx.reply().err(&e);
        return;
    }
    let now = ctx.srv.mstime();
    let mut line = vec!["monitor".to_string()];
    line.extend(args.iter().cloned());
    let result = with_state(ctx.srv, |st, srv| {
        config::handle_directive(st, &line, now)?;
        let saved = config::save(st, srv);
        let m = &st.masters[&args[0]];
        let msg = format!("{} quorum {}", m.describe(&Who::Master), m.quorum);
        event(srv, LogLevel::Warning, "+monitor", msg);
        if saved {
            Ok::<(), String>(())
        } else {
            Err(SAVE_FAILED.into())
        }
    });
    match result.expect("sentinel mode") {
        Ok(()) => ctx.reply().ok(),
        Err(e) if e.starts_with("ERR ") => ctx.reply().err(&e),
        Err(e) => ctx.reply().err(&format!("ERR {}", e)),
    }
}

fn remove_command(ctx: &mut Ctx) {
    let name = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    let found = with_state(ctx.srv, |st, srv| {
        let m = st.masters.get(&name)?;
        let desc = m.describe(&Who::Master);
        event(srv, LogLevel::Warning, "-monitor", desc);
        failover::reset_master(st, srv, &name, false, false);
        st.masters.remove(&name);
        Some(config::save(st, srv))
    });
    match found.flatten() {
        Some(true) => ctx.reply().ok(),
        Some(false) => ctx.reply().err(SAVE_FAILED),
        None => ctx.reply().err(NO_SUCH_MASTER),
    }
}

/// sentinelIsQuorumReachable: Sentinels we hear from (plus us) against
/// the quorum and the majority.
fn ckquorum_command(ctx: &mut Ctx) {
    let name = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    let Some(m) = state(ctx).masters.get(&name) else {
        ctx.reply().err(NO_SUCH_MASTER);
        return;
    };
    let voters = m.sentinels.len() + 1;
    let usable = 1 + m
        .sentinels
        .values()
        .filter(|s| !s.has(flags::S_DOWN | flags::O_DOWN))
        .count();
    let no_quorum = usable < m.quorum as usize;
    let no_auth = usable < voters / 2 + 1;
    if !no_quorum && !no_auth {
        ctx.reply().simple(&format!(
            "OK {} usable Sentinels. Quorum and failover authorization can be reached",
            usable
        ));
        return;
    }
    let mut e = format!("NOQUORUM {} usable Sentinels. ", usable);
    if no_quorum {
        e.push_str("Not enough available Sentinels to reach the specified quorum for this master");
    }
    if no_auth {
        if no_quorum {
            e.push_str(". ");
        }
        e.push_str("Not enough available Sentinels to reach the majority and authorize a failover");
    }
    ctx.reply().err(&e);
}

/// SENTINEL SET <master> <option> <value> [<option> <value> ...]
/// (sentinelSetCommand): options apply one by one, each an event; the
/// config is saved if any applied, even when a later one is bad.
fn set_command(ctx: &mut Ctx) {
    let args: Vec<String> = ctx.argv[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let result = with_state(ctx.srv, |st, srv| {
        let name = args[0].clone();
        if !st.masters.contains_key(&name) {
            return Err(NO_SUCH_MASTER.to_string());
        }
        let mut changes = 0;
        let mut j = 1;
        let outcome = loop {
            if j >= args.len() {
                break Ok(());
            }
            let option = args[j].clone();
            let moreargs = args.len() - 1 - j;
            let old_j = j;
            match set_option(st, srv, &name, &args, &mut j, moreargs) {
                Ok(redacted) => {
                    changes += 1;
                    let desc = st.masters[&name].describe(&Who::Master);
                    let msg = match j - old_j + 1 {
                        2 if redacted => format!("{} {} ******", desc, option),
                        2 => format!("{} {} {}", desc, option, args[old_j + 1]),
                        3 => format!(
                            "{} {} {} {}",
                            desc,
                            option,
                            args[old_j + 1],
                            args[old_j + 2]
                        ),
                        _ => format!("{} {}", desc, option),
                    };
                    event(srv, LogLevel::Warning, "+set", msg);
                    j += 1;
                }
                Err(e) => break Err(e),
            }
        };
        if changes > 0 && !config::save(st, srv) && outcome.is_ok() {
            return Err(SAVE_FAILED.to_string());
        }
        outcome
    });
    match result.expect("sentinel mode") {
        Ok(()) => ctx.reply().ok(),
        Err(e) => ctx.reply().err(&e),
    }
}

/// One SENTINEL SET option at args[*j] (advancing *j over its values);
/// Ok(redacted) when applied.
fn set_option(
    st: &mut SentinelState,
    srv: &mut Server,
    name: &str,
    args: &[String],
    j: &mut usize,
    moreargs: usize,
) -> Result<bool, String> {
    let word = args[*j].clone();
    let option = word.to_ascii_lowercase();
    let badfmt = |value: &str| {
        format!(
            "ERR Invalid argument '{}' for SENTINEL SET '{}'",
            value, word
        )
    };
    let positive = |v: &str| crate::util::parse_i64(v.as_bytes()).filter(|&n| n > 0);
    let scripts_denied = "ERR Reconfiguration of scripts path is denied for security reasons. \
                          Check the deny-scripts-reconfig configuration directive in your \
                          Sentinel configuration";
    let deny = st.deny_scripts_reconfig;
    let mut redacted = false;
    match option.as_str() {
        "down-after-milliseconds" | "failover-timeout" | "parallel-syncs" | "quorum"
            if moreargs > 0 =>
        {
            *j += 1;
            let Some(n) = positive(&args[*j]) else {
                return Err(badfmt(&args[*j]));
            };
            let m = st.masters.get_mut(name).expect("master");
            match option.as_str() {
                "down-after-milliseconds" => {
                    // sentinelPropagateDownAfterPeriod.
                    m.inst.down_after_ms = n;
                    m.slaves
                        .values_mut()
                        .chain(m.sentinels.values_mut())
                        .for_each(|ri| ri.down_after_ms = n);
                }
                "failover-timeout" => m.failover_timeout_ms = n,
                "parallel-syncs" => m.parallel_syncs = n,
                _ => m.quorum = n.min(i64::from(u32::MAX)) as u32,
            }
        }
        "notification-script" | "client-reconfig-script" if moreargs > 0 => {
            *j += 1;
            let value = args[*j].clone();
            if deny {
                return Err(scripts_denied.to_string());
            }
            let notification = option == "notification-script";
            if !value.is_empty() && !st.is_executable(&value) {
                return Err(if notification {
                    "ERR Notification script seems non existing or non executable"
                } else {
                    "ERR Client reconfiguration script seems non existing or non executable"
                }
                .to_string());
            }
            let m = st.masters.get_mut(name).expect("master");
            let slot = if notification {
                &mut m.notification_script
            } else {
                &mut m.client_reconfig_script
            };
            *slot = Some(value).filter(|v| !v.is_empty());
        }
        "auth-pass" | "auth-user" if moreargs > 0 => {
            *j += 1;
            let value = Some(args[*j].clone()).filter(|v| !v.is_empty());
            let m = st.masters.get_mut(name).expect("master");
            if option == "auth-pass" {
                m.auth_pass = value;
                redacted = true;
            } else {
                m.auth_user = value;
            }
            drop_instance_connections(st, srv, name);
        }
        "rename-command" if moreargs > 1 => {
            *j += 2;
            let (old, new) = (&args[*j - 1], &args[*j]);
            if old.is_empty() || new.is_empty() {
                let bad = if new.is_empty() { *j } else { *j - 1 };
                return Err(badfmt(&args[bad]));
            }
            let m = st.masters.get_mut(name).expect("master");
            let key = old.to_ascii_lowercase();
            m.renamed_commands.remove(&key);
            if !old.eq_ignore_ascii_case(new) {
                m.renamed_commands.insert(key, (old.clone(), new.clone()));
            }
        }
        "master-reboot-down-after-period" if moreargs > 0 => {
            *j += 1;
            let Some(n) = crate::util::parse_i64(args[*j].as_bytes()).filter(|&n| n >= 0) else {
                return Err(badfmt(&args[*j]));
            };
            st.masters
                .get_mut(name)
                .expect("master")
                .master_reboot_down_after_ms = n;
        }
        _ => {
            return Err(format!(
                "ERR Unknown option or number of arguments for SENTINEL SET '{}'",
                word
            ))
        }
    }
    Ok(redacted)
}

/// dropInstanceConnections: the master's links and its replicas' close,
/// so they reconnect with the new credentials.
fn drop_instance_connections(st: &mut SentinelState, srv: &mut Server, name: &str) {
    let SentinelState { conns, masters, .. } = st;
    let m = masters.get_mut(name).expect("master");
    super::links::close_all(conns, srv, &mut m.inst.link);
    for ri in m.slaves.values_mut() {
        super::links::close_all(conns, srv, &mut ri.link);
    }
}

/// sentinelDropConnections: every link to another Sentinel closes.
fn drop_sentinel_connections(st: &mut SentinelState, srv: &mut Server) {
    let SentinelState { conns, masters, .. } = st;
    for m in masters.values_mut() {
        for ri in m.sentinels.values_mut() {
            super::links::close_all(conns, srv, &mut ri.link);
        }
    }
}

/// SENTINEL CONFIG SET <option> <value> | CONFIG GET <pattern>.
fn config_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let sub = String::from_utf8_lossy(&argv[2]).to_ascii_lowercase();
    if sub == "set" && argv.len() == 5 {
        let option = String::from_utf8_lossy(&argv[3]).into_owned();
        let value = String::from_utf8_lossy(&argv[4]).into_owned();
        let result = with_state(ctx.srv, |st, srv| config_set(st, srv, &option, &value));
        match result.expect("sentinel mode") {
            Ok(()) => ctx.reply().ok(),
            Err(e) => ctx.reply().err(&e),
        }
    } else if sub == "get" && argv.len() == 4 {
        let pattern = argv[3].clone();
        reply_with(ctx, |st, _, r| {
            let values = [
                (
                    "resolve-hostnames",
                    yes_no(st.resolve_hostnames).to_string(),
                ),
                (
                    "announce-hostnames",
                    yes_no(st.announce_hostnames).to_string(),
                ),
                ("announce-ip", st.announce_ip.clone().unwrap_or_default()),
                ("announce-port", st.announce_port.to_string()),
                (
                    "sentinel-user",
                    st.sentinel_auth_user.clone().unwrap_or_default(),
                ),
                (
                    "sentinel-pass",
                    st.sentinel_auth_pass.clone().unwrap_or_default(),
                ),
            ];
            let matching: Vec<&(&str, String)> = values
                .iter()
                .filter(|(k, _)| crate::util::glob_match(&pattern, k.as_bytes(), true))
                .collect();
            r.map(matching.len());
            for (k, v) in matching {
                r.bulk_str(k);
                r.bulk_str(v);
            }
        });
    } else {
        ctx.reply()
            .err("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.");
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// sentinelConfigSetCommand.
fn config_set(
    st: &mut SentinelState,
    srv: &mut Server,
    option: &str,
    value: &str,
) -> Result<(), String> {
    let badfmt = || {
        format!(
            "ERR Invalid value '{}' to SENTINEL CONFIG SET '{}'",
            value, option
        )
    };
    let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let mut drop_conns = false;
    match option.to_ascii_lowercase().as_str() {
        "resolve-hostnames" => st.resolve_hostnames = yes_no(value).ok_or_else(badfmt)?,
        "announce-hostnames" => st.announce_hostnames = yes_no(value).ok_or_else(badfmt)?,
        "announce-ip" => st.announce_ip = Some(value.to_string()),
        "announce-port" => {
            let port = crate::util::parse_i64(value.as_bytes())
                .filter(|p| (0..=65535).contains(p))
                .ok_or_else(badfmt)?;
            st.announce_port = port as u16;
        }
        "sentinel-user" => {
            st.sentinel_auth_user = Some(value.to_string()).filter(|v| !v.is_empty());
            drop_conns = true;
        }
        "sentinel-pass" => {
            st.sentinel_auth_pass = Some(value.to_string()).filter(|v| !v.is_empty());
            drop_conns = true;
        }
        _ => {
            return Err(format!(
                "ERR Invalid argument '{}' to SENTINEL CONFIG SET",
                option
            ))
        }
    }
    let saved = config::save(st, srv);
    if drop_conns {
        drop_sentinel_connections(st, srv);
    }
    if saved {
        Ok(())
    } else {
        Err(SAVE_FAILED.to_string())
    }
}

/// SENTINEL DEBUG [<param> <value> ...]: the timing parameters, shown or set.
fn debug_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    if argv.len() == 2 {
        reply_with(ctx, |st, _, r| {
            let fields = st.timing.fields();
            r.map(fields.len());
            for (k, v) in fields {
                r.bulk_str(k);
                r.bulk_str(&v.to_string());
            }
        });
        return;
    }
    let args: Vec<String> = argv[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let result = with_state(ctx.srv, |st, _| {
        let mut j = 0;
        while j < args.len() {
            let option = &args[j];
            let more = args.len() - 1 - j;
            let Some(slot) = st.timing.field_mut(option).filter(|_| more > 0) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for SENTINEL DEBUG '{}'",
                    option
                ));
            };
            j += 1;
            match crate::util::parse_i64(args[j].as_bytes()).filter(|&n| n > 0) {
                Some(n) => *slot = n,
                None => {
                    return Err(format!(
                        "ERR Invalid argument '{}' for SENTINEL DEBUG '{}'",
                        args[j], option
                    ))
                }
            }
            j += 1;
        }
        Ok(())
    });
    match result.expect("sentinel mode") {
        Ok(()) => ctx.reply().ok(),
        Err(e) => ctx.reply().err(&e),
    }
}

/// SENTINEL SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP].
fn simulate_failure_command(ctx: &mut Ctx) {
    let argv = ctx.argv;
    let mut flags = 0;
    let mut logs = Vec::new();
    for arg in &argv[2..] {
        if arg.eq_ignore_ascii_case(b"crash-after-election") {
            flags |= super::SIMFAILURE_CRASH_AFTER_ELECTION;
            logs.push(
                "Failure simulation: this Sentinel will crash after being successfully \
                 elected as failover leader",
            );
        } else if arg.eq_ignore_ascii_case(b"crash-after-promotion") {
            flags |= super::SIMFAILURE_CRASH_AFTER_PROMOTION;
            logs.push(
                "Failure simulation: this Sentinel will crash after promoting the \
                 selected replica to master",
            );
        } else if arg.eq_ignore_ascii_case(b"help") {
            ctx.reply().array(2);
            ctx.reply().bulk_str("crash-after-election");
            ctx.reply().bulk_str("crash-after-promotion");
            return;
        } else {
            ctx.reply().err("ERR Unknown failure simulation specified");
            return;
        }
    }
    // Redis clears the flags first, then sets them one by one, logging each.
    for line in logs {
        ctx.srv.log(LogLevel::Warning, line.into());
    }
    if let Some(st) = ctx.srv.sentinel.as_mut() {
        st.simfailure_flags = flags;
    }
    ctx.reply().ok();
}

/// SENTINEL PENDING-SCRIPTS: the script queue. redsim does not run
/// notification or client reconfiguration scripts, so nothing is ever
/// queued.
fn pending_scripts_command(ctx: &mut Ctx) {
    ctx.reply().array(0);
}

/// SENTINEL INFO-CACHE [master ...]: the last INFO of each master and its replicas.
fn info_cache_command(ctx: &mut Ctx) {
    let wanted: Vec<String> = ctx.argv[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    reply_with(ctx, |st, now, r| {
        let masters: Vec<&super::Master> = st
            .masters
            .values()
            .filter(|m| wanted.is_empty() || wanted.contains(&m.inst.name))
            .collect();
        r.array(masters.len() * 2);
        for m in masters {
            r.bulk_str(&m.inst.name);
            r.array(m.slaves.len() + 1);
            for ri in std::iter::once(&m.inst).chain(m.slaves.values()) {
                r.array(2);
                r.int(if m.inst.info_refresh_ms != 0 {
                    now - ri.info_refresh_ms
                } else {
                    0
                });
                match &ri.info {
                    Some(text) => r.bulk_str(text),
                    None => r.null(),
                }
            }
        }
    });
}

/// SENTINEL HELP (addReplyHelp around sentinelCommand's list).
fn help_command(ctx: &mut Ctx) {
    let lines = [
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CKQUORUM <master-name>",
        "    Check if the current Sentinel configuration is able to reach the quorum",
        "    needed to failover a master and the majority needed to authorize the",
        "    failover.",
        "CONFIG SET <param> <value>",
        "    Set a global Sentinel configuration parameter.",
        "CONFIG GET <param>",
        "    Get global Sentinel configuration parameter.",
        "DEBUG [<param> <value> ...]",
        "    Show a list of configurable time parameters and their values (milliseconds).",
        "    Or update current configurable parameters values (one or more).",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the master with that name.",
        "FAILOVER <master-name>",
        "    Manually failover a master node without asking for agreement from other",
        "    Sentinels",
        "FLUSHCONFIG",
        "    Force Sentinel to rewrite its configuration on disk, including the current",
        "    Sentinel state.",
        "INFO-CACHE <master-name>",
        "    Return last cached INFO output from masters and all its replicas.",
        "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
        "    Check if the master specified by ip:port is down from current Sentinel's",
        "    point of view.",
        "MASTER <master-name>",
        "    Show the state and info of the specified master.",
        "MASTERS",
        "    Show a list of monitored masters and their state.",
        "MONITOR <name> <ip> <port> <quorum>",
        "    Start monitoring a new master with the specified name, ip, port and quorum.",
        "MYID",
        "    Return the ID of the Sentinel instance.",
        "PENDING-SCRIPTS",
        "    Get pending scripts information.",
        "REMOVE <master-name>",
        "    Remove master from Sentinel's monitor list.",
        "REPLICAS <master-name>",
        "    Show a list of replicas for this master and their state.",
        "RESET <pattern>",
        "    Reset masters for specific master name matching this pattern.",
        "SENTINELS <master-name>",
        "    Show a list of Sentinel instances for this master and their state.",
        "SET <master-name> <option> <value> [<option> <value> ...]",
        "    Set configuration parameters for certain masters.",
        "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
        "    Simulate a Sentinel crash.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply().simple_lines(&lines);
}

const SENTINEL_SUBCOMMANDS: &[Command] = &[
    Command::new("help", 2, cf::ADMIN, help_command),
    Command::new("masters", 2, cf::ADMIN, masters_command),
    Command::new("master", 3, cf::ADMIN, master_command),
    Command::new("replicas", 3, cf::ADMIN, replicas_command),
    Command::new("slaves", 3, cf::ADMIN, replicas_command),
    Command::new("sentinels", 3, cf::ADMIN, sentinels_command),
    Command::new("myid", 2, cf::ADMIN, myid_command),
    Command::new(
        "is-master-down-by-addr",
        6,
        cf::ADMIN,
        is_master_down_command,
    ),
    Command::new("reset", 3, cf::ADMIN, reset_command),
    Command::new(
        "get-master-addr-by-name",
        3,
        cf::ADMIN,
        get_master_addr_command,
    ),
    Command::new("failover", 3, cf::ADMIN, failover_command),
    Command::new("monitor", 6, cf::ADMIN, monitor_command),
    Command::new("flushconfig", 2, cf::ADMIN, flushconfig_command),
    Command::new("remove", 3, cf::ADMIN, remove_command),
    Command::new("ckquorum", 3, cf::ADMIN, ckquorum_command),
    Command::new("set", -5, cf::ADMIN, set_command),
    Command::new("info-cache", -3, cf::ADMIN, info_cache_command),
    Command::new("config", -3, cf::ADMIN, config_command),
    Command::new("debug", -2, cf::ADMIN, debug_command),
    Command::new("pending-scripts", 2, cf::ADMIN, pending_scripts_command),
    Command::new("simulate-failure", -3, cf::ADMIN, simulate_failure_command),
];

/// ROLE: "sentinel" and the names of the monitored masters.
fn role_command(ctx: &mut Ctx) {
    let names: Vec<String> = state(ctx).masters.keys().cloned().collect();
    ctx.reply().array(2);
    ctx.reply().bulk_str("sentinel");
    ctx.reply().array(names.len());
    for n in names {
        ctx.reply().bulk_str(&n);
    }
}

/// PUBLISH: only hellos, processed as if they came over pub/sub.
fn publish_command(ctx: &mut Ctx) {
    if ctx.argv[1] != super::HELLO_CHANNEL.as_bytes() {
        ctx.reply()
            .err("ERR Only HELLO messages are accepted by Sentinel instances.");
        return;
    }
    let hello = String::from_utf8_lossy(&ctx.argv[2]).into_owned();
    with_state(ctx.srv, |st, srv| {
        super::monitor::process_hello(st, srv, &hello)
    });
    ctx.reply().int(1);
}

/// INFO's Sentinel section.
pub fn info_fields(srv: &Server) -> Vec<(String, String)> {
    let Some(st) = srv.sentinel.as_ref() else {
        return Vec::new();
    };
    let mut v: Vec<(String, String)> = vec![
        ("sentinel_masters".into(), st.masters.len().to_string()),
        ("sentinel_tilt".into(), u8::from(st.tilt).to_string()),
        (
            "sentinel_tilt_since_seconds".into(),
            if st.tilt {
                ((srv.mstime() - st.tilt_start_ms) / 1000).to_string()
            } else {
                "-1".into()
            },
        ),
        ("sentinel_running_scripts".into(), "0".into()),
        ("sentinel_scripts_queue_length".into(), "0".into()),
        ("sentinel_simulate_failure_flags".into(), "0".into()),
    ];
    for (i, m) in st.masters.values().enumerate() {
        let status = if m.inst.has(flags::O_DOWN) {
            "odown"
        } else if m.inst.has(flags::S_DOWN) {
            "sdown"
        } else {
            "ok"
        };
        // The configured address, even while a failover advertises the new one.
        let (host, port) = (m.inst.host.clone(), m.inst.port);
        let value = format!(
            "name={},status={},address={}:{},slaves={},sentinels={}",
            m.inst.name,
            status,
            host,
            port,
            m.slaves.len(),
            m.sentinels.len() + 1
        );
        v.push((format!("master{}", i), value));
    }
    v
}

/// sentinelcmds: the only commands a Sentinel answers, with the pub/sub
/// ones that let clients follow its events.
pub fn table() -> crate::commands::CommandTable {
    let mut t = crate::commands::CommandTable::from_tables(&[COMMANDS]);
    let subscribe = ["subscribe", "unsubscribe", "psubscribe", "punsubscribe"];
    for cmd in crate::pubsub::COMMANDS
        .iter()
        .filter(|c| subscribe.contains(&c.name))
    {
        t.add(cmd);
    }
    // SHUTDOWN (never saving in Sentinel mode) and HELLO (RESP2).
    for cmd in crate::shutdown::COMMANDS
        .iter()
        .chain(crate::multi::COMMANDS.iter())
        .filter(|c| matches!(c.name, "shutdown" | "hello"))
    {
        t.add(cmd);
    }
    t
}

/// The commands of Sentinel's own table.
pub const COMMANDS: &[Command] = &[
    Command::new(
        "ping",
        -1,
        cf::FAST | cf::STALE,
        crate::server::ping_command,
    ),
    Command::container("sentinel", -2, cf::ADMIN, SENTINEL_SUBCOMMANDS),
    Command::new("role", 1, cf::FAST | cf::STALE, role_command),
    Command::new("publish", 3, cf::FAST, publish_command),
    Command::new("info", -1, cf::STALE, crate::server::info_command),
    Command::container("client", -2, 0, crate::server::CLIENT_SUBCOMMANDS),
    Command {
        name: "command",
        arity: -1,
        flags: cf::STALE,
        handler: crate::server::command_entry,
        subcommands: crate::server::COMMAND_SUBCOMMANDS,
        keys: crate::commands::KeySpec::NONE,
    },
];
