//! sentinel.conf: the `sentinel ...` directives (sentinelHandleConfiguration)
//! and the rewrite after every change (rewriteConfigSentinelOption +
//! sentinelFlushConfig): a temp file, fsync, rename.

use super::instance::{Instance, Master, Role};
use super::{SentinelState, CONFIG_FILE};
use crate::server::Server;
use crate::{DiskOp, LogLevel};

/// Reads a whole sentinel.conf: `sentinel` lines are ours; every line is
/// kept for the rewrite, which edits the file in place (the engine's
/// Config already has the other options).
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
        if args
            .first()
            .is_some_and(|first| first.eq_ignore_ascii_case("sentinel"))
        {
            lines.push(args[1..].to_vec());
        }
    }
    st.file_lines = split_file(text);
    load_lines(st, &lines, now_ms)
}

/// The lines of a config file as rewriteConfigReadOldFile splits them: on
/// "\n", each trimmed, a trailing newline giving a last empty line.
fn split_file(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n')
        .map(|l| {
            l.trim_matches(|c| matches!(c, '\r' | '\n' | '\t' | ' '))
                .to_string()
        })
        .collect()
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
            let mut m = Master::new(a[1], &ip, port, quorum as u32, &st.timing, now_ms);
            m.inst.hostname = a[2].to_string();
            st.masters.insert(a[1].to_string(), m);
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
        ("notification-script", 3) => {
            let exec = st.is_executable(a[2]);
            let m = master_mut(st, a[1])?;
            if !exec {
                return Err("Notification script seems non existing or non executable.".into());
            }
            m.notification_script = Some(a[2].to_string());
        }
        ("client-reconfig-script", 3) => {
            let exec = st.is_executable(a[2]);
            let m = master_mut(st, a[1])?;
            if !exec {
                return Err(
                    "Client reconfiguration script seems non existing or non executable.".into(),
                );
            }
            m.client_reconfig_script = Some(a[2].to_string());
        }
        ("auth-pass", 3) => master_mut(st, a[1])?.auth_pass = Some(a[2].to_string()),
        ("auth-user", 3) => master_mut(st, a[1])?.auth_user = Some(a[2].to_string()),
        ("rename-command", 4) => {
            let m = master_mut(st, a[1])?;
            let key = a[2].to_ascii_lowercase();
            if m.renamed_commands.contains_key(&key) {
                return Err("Same command renamed multiple times with rename-command.".into());
            }
            m.renamed_commands
                .insert(key, (a[2].to_string(), a[3].to_string()));
        }
        ("master-reboot-down-after-period", 3) => {
            let m = master_mut(st, a[1])?;
            m.master_reboot_down_after_ms = atoi(a[2]);
            if m.master_reboot_down_after_ms < 0 {
                return Err("negative time parameter.".into());
            }
        }
        ("sentinel-user", 2) => {
            if !a[1].is_empty() {
                st.sentinel_auth_user = Some(a[1].to_string());
            }
        }
        ("sentinel-pass", 2) => {
            if !a[1].is_empty() {
                st.sentinel_auth_pass = Some(a[1].to_string());
            }
        }
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
        ("announce-port", 2) => st.announce_port = atoi(a[1]).clamp(0, 65535) as u16,
        ("resolve-hostnames", 2) => st.resolve_hostnames = yes_no(a[1], "resolve-hostnames")?,
        ("announce-hostnames", 2) => st.announce_hostnames = yes_no(a[1], "announce-hostnames")?,
        ("deny-scripts-reconfig", 2) => {
            st.deny_scripts_reconfig = yes_no(a[1], "deny-scripts-reconfig")
                .map_err(|_| "Please specify yes or no for the deny-scripts-reconfig options.")?
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
    let given = host;
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
    ri.hostname = given.to_string();
    table.insert(name, ri);
    Ok(())
}

/// atoi: the leading integer of `s`, 0 if none.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().unwrap_or(0)
}

/// sdscatrepr: a quoted, escaped string.
fn repr(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{:02x}", b)),
        }
    }
    out.push('"');
    out
}

/// REDIS_CONFIG_REWRITE_SIGNATURE: written once before the first appended line.
const REWRITE_SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// The config words rewriteConfigReadOldFile accepts besides the
/// standard options (the others become "# ??? " comments).
const SPECIAL_WORDS: &[&str] = &[
    "include",
    "rename-command",
    "user",
    "loadmodule",
    "sentinel",
];

/// rewriteConfigState: the old file's lines, where each option's lines
/// are, and which options the rewrite produced.
struct Rewrite {
    lines: Vec<String>,
    option_lines: std::collections::BTreeMap<String, std::collections::VecDeque<usize>>,
    rewritten: std::collections::BTreeSet<String>,
    needs_signature: bool,
}

impl Rewrite {
    /// rewriteConfigReadOldFile (Sentinel mode: a `sentinel <word>` line is
    /// the option "sentinel <word>").
    fn read(old: &[String]) -> Rewrite {
        let mut rw = Rewrite {
            lines: Vec::new(),
            option_lines: Default::default(),
            rewritten: Default::default(),
            needs_signature: true,
        };
        for line in old {
            if line.is_empty() || line.starts_with('#') {
                if line == REWRITE_SIGNATURE {
                    rw.needs_signature = false;
                }
                rw.lines.push(line.clone());
                continue;
            }
            let argv = crate::resp::split_args(line.as_bytes()).map(|v| {
                v.into_iter()
                    .map(|a| String::from_utf8_lossy(&a).into_owned())
                    .collect::<Vec<String>>()
            });
            let known = |argv: &Vec<String>| {
                argv.first().is_some_and(|w| {
                    crate::config::find_spec(w).is_some()
                        || SPECIAL_WORDS.iter().any(|s| w.eq_ignore_ascii_case(s))
                })
            };
            let Some(argv) = argv.filter(known) else {
                rw.lines.push(format!("# ??? {}", line));
                continue;
            };
            let word = argv[0].to_ascii_lowercase();
            let option = if word == "sentinel" && argv.len() > 1 {
                format!("sentinel {}", argv[1])
            } else {
                crate::config::find_spec(&word).map_or(word, |spec| spec.name.to_string())
            };
            rw.option_lines
                .entry(option)
                .or_default()
                .push_back(rw.lines.len());
            rw.lines.push(line.clone());
        }
        rw
    }

    /// rewriteConfigRewriteLine: reuse the option's next old line in place,
    /// else append (when forced).
    fn line(&mut self, option: &str, line: String, force: bool) {
        self.rewritten.insert(option.to_string());
        if let Some(at) = self
            .option_lines
            .get_mut(option)
            .and_then(|l| l.pop_front())
        {
            self.lines[at] = line;
            return;
        }
        if !force {
            return;
        }
        if self.needs_signature {
            self.lines.push(REWRITE_SIGNATURE.to_string());
            self.needs_signature = false;
        }
        self.lines.push(line);
    }

    fn mark(&mut self, option: &str) {
        self.rewritten.insert(option.to_string());
    }

    /// rewriteConfigRemoveOrphaned, then rewriteConfigGetContentFromState:
    /// old lines of rewritten options not reused are blanked, and every run
    /// of empty lines becomes one.
    fn finish(mut self) -> Vec<String> {
        for (option, at) in &self.option_lines {
            if self.rewritten.contains(option) {
                for &i in at {
                    self.lines[i].clear();
                }
            }
        }
        let mut out: Vec<String> = Vec::with_capacity(self.lines.len());
        for line in self.lines {
            if line.is_empty() && out.last().is_some_and(|l| l.is_empty()) {
                continue;
            }
            out.push(line);
        }
        out
    }
}

/// The file as rewriteConfig leaves it: the old file's lines edited in
/// place, new ones appended, in rewriteConfigSentinelOption's order. The
/// other options' lines are kept as they are (redsim does not rewrite
/// them: their values do not change in Sentinel mode).
pub fn render(st: &SentinelState) -> String {
    let mut rw = Rewrite::read(&st.file_lines);
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    rw.line("sentinel myid", format!("sentinel myid {}", st.myid), true);
    rw.line(
        "sentinel deny-scripts-reconfig",
        format!(
            "sentinel deny-scripts-reconfig {}",
            yes_no(st.deny_scripts_reconfig)
        ),
        st.deny_scripts_reconfig != super::DEFAULT_DENY_SCRIPTS_RECONFIG,
    );
    rw.line(
        "sentinel resolve-hostnames",
        format!(
            "sentinel resolve-hostnames {}",
            yes_no(st.resolve_hostnames)
        ),
        st.resolve_hostnames,
    );
    rw.line(
        "sentinel announce-hostnames",
        format!(
            "sentinel announce-hostnames {}",
            yes_no(st.announce_hostnames)
        ),
        st.announce_hostnames,
    );
    for (name, m) in &st.masters {
        render_master(&mut rw, st, name, m);
    }
    rw.line(
        "sentinel current-epoch",
        format!("sentinel current-epoch {}", st.current_epoch),
        true,
    );
    match &st.announce_ip {
        Some(ip) => rw.line(
            "sentinel announce-ip",
            format!("sentinel announce-ip {}", repr(ip.as_bytes())),
            true,
        ),
        None => rw.mark("sentinel announce-ip"),
    }
    match st.announce_port {
        0 => rw.mark("sentinel announce-port"),
        p => rw.line(
            "sentinel announce-port",
            format!("sentinel announce-port {}", p),
            true,
        ),
    }
    match &st.sentinel_auth_user {
        Some(u) => rw.line(
            "sentinel sentinel-user",
            format!("sentinel sentinel-user {}", u),
            true,
        ),
        None => rw.mark("sentinel sentinel-user"),
    }
    match &st.sentinel_auth_pass {
        Some(p) => rw.line(
            "sentinel sentinel-pass",
            format!("sentinel sentinel-pass {}", p),
            true,
        ),
        None => rw.mark("sentinel sentinel-pass"),
    }
    for option in [
        "monitor",
        "down-after-milliseconds",
        "failover-timeout",
        "parallel-syncs",
        "notification-script",
        "client-reconfig-script",
        "auth-pass",
        "auth-user",
        "config-epoch",
        "leader-epoch",
        "known-replica",
        "known-sentinel",
        "rename-command",
        "master-reboot-down-after-period",
    ] {
        rw.mark(&format!("sentinel {}", option));
    }
    let mut text = rw.finish().join("\n");
    text.push('\n');
    text
}

fn render_master(rw: &mut Rewrite, st: &SentinelState, name: &str, m: &Master) {
    let (host, port) = m.current_addr();
    let current = m.current_instance();
    rw.line(
        "sentinel monitor",
        format!(
            "sentinel monitor {} {} {} {}",
            name,
            st.announced(current),
            port,
            m.quorum
        ),
        true,
    );
    let mut opt = |option: &str, value: String| {
        rw.line(
            &format!("sentinel {}", option),
            format!("sentinel {} {} {}", option, name, value),
            true,
        )
    };
    if m.inst.down_after_ms != st.timing.default_down_after {
        opt("down-after-milliseconds", m.inst.down_after_ms.to_string());
    }
    if m.failover_timeout_ms != st.timing.default_failover_timeout {
        opt("failover-timeout", m.failover_timeout_ms.to_string());
    }
    if m.parallel_syncs != super::DEFAULT_PARALLEL_SYNCS {
        opt("parallel-syncs", m.parallel_syncs.to_string());
    }
    if let Some(script) = &m.notification_script {
        opt("notification-script", script.clone());
    }
    if let Some(script) = &m.client_reconfig_script {
        opt("client-reconfig-script", script.clone());
    }
    if let Some(pass) = &m.auth_pass {
        opt("auth-pass", pass.clone());
    }
    if let Some(user) = &m.auth_user {
        opt("auth-user", user.clone());
    }
    if m.master_reboot_down_after_ms != 0 {
        opt(
            "master-reboot-down-after-period",
            m.master_reboot_down_after_ms.to_string(),
        );
    }
    opt("config-epoch", m.config_epoch.to_string());
    opt("leader-epoch", m.inst.leader_epoch.to_string());
    for s in m.slaves.values() {
        // The promoted replica is written as the old master's address.
        let (h, p) = if s.addr_is(&host, i64::from(port)) {
            (st.announced(&m.inst), m.inst.port)
        } else {
            (st.announced(s), s.port)
        };
        opt("known-replica", format!("{} {}", h, p));
    }
    for s in m.sentinels.values() {
        if let Some(id) = &s.runid {
            opt(
                "known-sentinel",
                format!("{} {} {}", st.announced(s), s.port, id),
            );
        }
    }
    for (old, new) in m.renamed_commands.values() {
        opt("rename-command", format!("{} {}", old, new));
    }
}

/// Checks `sentinel` directives as Sentinel would load them: the index of
/// the first bad line and why.
pub fn check_lines(lines: &[Vec<String>]) -> Result<(), (usize, String)> {
    let mut st = SentinelState {
        deny_scripts_reconfig: super::DEFAULT_DENY_SCRIPTS_RECONFIG,
        ..Default::default()
    };
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
/// survives a crash. A failure is logged (the state stays in memory).
pub fn flush(st: &mut SentinelState, srv: &mut Server) {
    save(st, srv);
}

/// sentinelFlushConfig with its outcome: false when the host could not
/// write the file (sentinelFlushConfigAndReply then answers with an error).
pub fn save(st: &mut SentinelState, srv: &mut Server) -> bool {
    let text = render(st);
    if let Some(write) = srv.options.sentinel_conf_writer {
        if let Err(e) = write(text.as_bytes()) {
            srv.log(
                LogLevel::Warning,
                format!(
                    "WARNING: Sentinel was not able to save the new configuration on disk!!!: {}",
                    e
                ),
            );
            return false;
        }
        st.file_lines = split_file(&text);
    } else {
        st.file_lines = split_file(&text);
        let temp = format!("{}.tmp", CONFIG_FILE);
        crate::aof::create_truncated(srv, &temp);
        crate::aof::disk(
            srv,
            DiskOp::Append {
                file: temp.clone(),
                bytes: text.into_bytes(),
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
    }
    srv.log(
        LogLevel::Notice,
        "Sentinel new configuration saved on disk".into(),
    );
    true
}
