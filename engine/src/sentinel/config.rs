//! sentinel.conf: the `sentinel ...` directives (sentinelHandleConfiguration)
//! and the rewrite after every change (rewriteConfigSentinelOption +
//! sentinelFlushConfig): a temp file, fsync, rename.

use super::instance::{Instance, Master, Role};
use super::{SentinelState, CONFIG_FILE};
use crate::server::Server;
use crate::{DiskOp, LogLevel};

/// Reads a whole sentinel.conf: `sentinel` lines are ours, the rest is
/// kept for the rewrite (the engine's Config already has them).
pub fn load_file(st: &mut SentinelState, text: &str, now_ms: i64) -> Result<(), String> {
    let mut lines = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        let args = crate::resp::split_args(line.as_bytes())
            .ok_or("Unbalanced quotes in configuration line")?;
        let args: Vec<String> = args
            .into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect();
        match args.first() {
            Some(first) if first.eq_ignore_ascii_case("sentinel") => lines.push(args[1..].to_vec()),
            _ if line.is_empty() || line.starts_with('#') => {}
            _ => st.other_lines.push(line.to_string()),
        }
    }
    load_lines(st, &lines, now_ms)
}

/// Applies `sentinel` directives (without the leading word). Redis loads
/// `monitor` lines first so the others can name any master.
pub fn load_lines(
    st: &mut SentinelState,
    lines: &[Vec<String>],
    now_ms: i64,
) -> Result<(), String> {
    let (monitors, rest): (Vec<&Vec<String>>, Vec<&Vec<String>>) = lines
        .iter()
        .partition(|a| a.first().is_some_and(|w| w.eq_ignore_ascii_case("monitor")));
    for args in monitors.into_iter().chain(rest) {
        handle_directive(st, args, now_ms)
            .map_err(|e| format!("sentinel {}: {}", args.join(" "), e))?;
    }
    Ok(())
}

fn master_mut<'a>(st: &'a mut SentinelState, name: &str) -> Result<&'a mut Master, String> {
    st.masters
        .get_mut(name)
        .ok_or_else(|| "No such master with specified name.".to_string())
}

fn positive_ms(v: &str) -> Result<i64, String> {
    match v.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("negative or zero time parameter.".into()),
    }
}

fn yes_no(v: &str, option: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!(
            "Please specify yes or no for the {} option.",
            option
        )),
    }
}

/// sentinelHandleConfiguration: one directive with Redis's error texts.
pub fn handle_directive(
    st: &mut SentinelState,
    args: &[String],
    now_ms: i64,
) -> Result<(), String> {
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let word = a
        .first()
        .map(|w| w.to_ascii_lowercase())
        .unwrap_or_default();
    match (word.as_str(), a.len()) {
        ("monitor", 5) => {
            let quorum = a[4].parse::<i64>().unwrap_or(0);
            if quorum <= 0 {
                return Err("Quorum must be 1 or greater.".into());
            }
            if st.masters.contains_key(a[1]) {
                return Err("Duplicate master name.".into());
            }
            let port = a[3]
                .parse::<u16>()
                .map_err(|_| "Invalid port number".to_string())?;
            let ip = st.resolve(a[2]);
            st.masters.insert(
                a[1].to_string(),
                Master::new(a[1], &ip, port, quorum as u32, now_ms),
            );
        }
        ("down-after-milliseconds", 3) => {
            let ms = positive_ms(a[2])?;
            let m = master_mut(st, a[1])?;
            m.inst.down_after_ms = ms;
            m.slaves
                .values_mut()
                .chain(m.sentinels.values_mut())
                .for_each(|ri| ri.down_after_ms = ms);
        }
        ("failover-timeout", 3) => {
            let ms = positive_ms(a[2])?;
            master_mut(st, a[1])?.failover_timeout_ms = ms;
        }
        ("parallel-syncs", 3) => master_mut(st, a[1])?.parallel_syncs = a[2].parse().unwrap_or(0),
        ("auth-pass", 3) => master_mut(st, a[1])?.auth_pass = Some(a[2].to_string()),
        ("current-epoch", 2) => st.current_epoch = st.current_epoch.max(a[1].parse().unwrap_or(0)),
        ("myid", 2) => {
            if a[1].len() != 40 {
                return Err("Malformed Sentinel id in myid option.".into());
            }
            st.myid = a[1].to_string();
        }
        ("config-epoch", 3) => {
            let epoch = a[2].parse().unwrap_or(0);
            master_mut(st, a[1])?.config_epoch = epoch;
            st.current_epoch = st.current_epoch.max(epoch);
        }
        ("leader-epoch", 3) => master_mut(st, a[1])?.inst.leader_epoch = a[2].parse().unwrap_or(0),
        ("known-slave" | "known-replica", 4) => {
            add_known(st, a[1], Role::Slave, a[2], a[3], None, now_ms)?
        }
        // The old form without a run id is ignored, as in Redis.
        ("known-sentinel", 4) => {}
        ("known-sentinel", 5) => {
            add_known(st, a[1], Role::Sentinel, a[2], a[3], Some(a[4]), now_ms)?
        }
        ("announce-ip", 2) => st.announce_ip = Some(a[1].to_string()).filter(|s| !s.is_empty()),
        ("announce-port", 2) => st.announce_port = a[1].parse().unwrap_or(0),
        ("resolve-hostnames", 2) => st.resolve_hostnames = yes_no(a[1], "resolve-hostnames")?,
        ("announce-hostnames", 2) => st.announce_hostnames = yes_no(a[1], "announce-hostnames")?,
        ("deny-scripts-reconfig", 2) => {
            st.deny_scripts_reconfig = yes_no(a[1], "deny-scripts-reconfig")?
        }
        _ => return Err("Unrecognized sentinel configuration statement.".into()),
    }
    Ok(())
}

fn add_known(
    st: &mut SentinelState,
    master: &str,
    role: Role,
    host: &str,
    port: &str,
    runid: Option<&str>,
    now_ms: i64,
) -> Result<(), String> {
    let port = port
        .parse::<u16>()
        .map_err(|_| "Invalid port number".to_string())?;
    let ip = st.resolve(host);
    let host = ip.as_str();
    let m = master_mut(st, master)?;
    let name = match runid {
        Some(id) => id.to_string(),
        None => super::instance::slave_name(host, port),
    };
    let table = if role == Role::Slave {
        &mut m.slaves
    } else {
        &mut m.sentinels
    };
    if table.contains_key(&name) {
        return Err(if role == Role::Slave {
            "Duplicate hostname and port for replica."
        } else {
            "Duplicate runid for sentinel."
        }
        .into());
    }
    let mut ri = Instance::new(role, name.clone(), host, port, m.inst.down_after_ms, now_ms);
    ri.runid = runid.map(str::to_string);
    table.insert(name, ri);
    Ok(())
}

/// The file as rewriteConfig leaves it: the lines that are not ours, then
/// the Sentinel state in rewriteConfigSentinelOption's order.
pub fn render(st: &SentinelState) -> String {
    let mut out: Vec<String> = st.other_lines.clone();
    out.push(format!("sentinel myid {}", st.myid));
    if st.deny_scripts_reconfig {
        out.push("sentinel deny-scripts-reconfig yes".into());
    }
    if st.resolve_hostnames {
        out.push("sentinel resolve-hostnames yes".into());
    }
    if st.announce_hostnames {
        out.push("sentinel announce-hostnames yes".into());
    }
    for (name, m) in &st.masters {
        render_master(&mut out, name, m);
    }
    out.push(format!("sentinel current-epoch {}", st.current_epoch));
    if let Some(ip) = &st.announce_ip {
        out.push(format!("sentinel announce-ip \"{}\"", ip));
    }
    if st.announce_port != 0 {
        out.push(format!("sentinel announce-port {}", st.announce_port));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn render_master(out: &mut Vec<String>, name: &str, m: &Master) {
    let (host, port) = m.current_addr();
    out.push(format!(
        "sentinel monitor {} {} {} {}",
        name, host, port, m.quorum
    ));
    if m.inst.down_after_ms != super::DEFAULT_DOWN_AFTER_MS {
        out.push(format!(
            "sentinel down-after-milliseconds {} {}",
            name, m.inst.down_after_ms
        ));
    }
    if m.failover_timeout_ms != super::DEFAULT_FAILOVER_TIMEOUT_MS {
        out.push(format!(
            "sentinel failover-timeout {} {}",
            name, m.failover_timeout_ms
        ));
    }
    if m.parallel_syncs != super::DEFAULT_PARALLEL_SYNCS {
        out.push(format!(
            "sentinel parallel-syncs {} {}",
            name, m.parallel_syncs
        ));
    }
    if let Some(pass) = &m.auth_pass {
        out.push(format!("sentinel auth-pass {} {}", name, pass));
    }
    out.push(format!("sentinel config-epoch {} {}", name, m.config_epoch));
    out.push(format!(
        "sentinel leader-epoch {} {}",
        name, m.inst.leader_epoch
    ));
    for s in m.slaves.values() {
        // The promoted replica is written as the old master's address.
        let (h, p) = if s.addr_is(&host, i64::from(port)) {
            (m.inst.host.clone(), m.inst.port)
        } else {
            (s.host.clone(), s.port)
        };
        out.push(format!("sentinel known-replica {} {} {}", name, h, p));
    }
    for s in m.sentinels.values() {
        if let Some(id) = &s.runid {
            out.push(format!(
                "sentinel known-sentinel {} {} {} {}",
                name, s.host, s.port, id
            ));
        }
    }
}

/// Checks `sentinel` directives as Sentinel would load them: the index of
/// the first bad line and why.
pub fn check_lines(lines: &[Vec<String>]) -> Result<(), (usize, String)> {
    let mut st = SentinelState::default();
    let (monitors, rest): (Vec<usize>, Vec<usize>) = (0..lines.len()).partition(|&i| {
        lines[i]
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("monitor"))
    });
    for i in monitors.into_iter().chain(rest) {
        handle_directive(&mut st, &lines[i], 0).map_err(|e| (i, e))?;
    }
    Ok(())
}

/// sentinelFlushConfig: rewrite, fsync, rename; the disk decides what
/// survives a crash.
pub fn flush(st: &mut SentinelState, srv: &mut Server) {
    let temp = format!("{}.tmp", CONFIG_FILE);
    crate::aof::create_truncated(srv, &temp);
    crate::aof::disk(
        srv,
        DiskOp::Append {
            file: temp.clone(),
            bytes: render(st).into_bytes(),
        },
    );
    crate::aof::disk(
        srv,
        DiskOp::Fsync {
            file: temp.clone(),
            token: 0,
            blocking: true,
        },
    );
    crate::aof::disk(
        srv,
        DiskOp::Rename {
            from: temp,
            to: CONFIG_FILE.to_string(),
        },
    );
    srv.log(
        LogLevel::Notice,
        "Sentinel new configuration saved on disk".into(),
    );
}
