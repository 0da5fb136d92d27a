//! What the charts draw besides the series, derived from the report's events alone: fault
//! spans (a fault until its heal, resume or restart), instantaneous marks (other faults, admin
//! commands) and each node's role over time.
//!
//! Rationale: the event list is already the contract, so deriving these here keeps the JSON
//! free of a second, redundant encoding of the same facts.

use crate::model::{Event, Report};
use std::collections::BTreeMap;

/// What a mark on the time axis stands for; the charts pick colours by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkKind {
    Partition,
    Pause,
    Kill,
    /// Any other fault (link, clock-jump, disk, memory-pressure, or a fault with no effect), and
    /// an OOM kill.
    Fault,
    /// An admin command sent to a node at a scheduled time.
    Admin,
}

impl MarkKind {
    /// The CSS class suffix and legend name.
    pub fn name(self) -> &'static str {
        match self {
            MarkKind::Partition => "partition",
            MarkKind::Pause => "pause",
            MarkKind::Kill => "kill",
            MarkKind::Fault => "fault",
            MarkKind::Admin => "admin",
        }
    }
}

/// A fault band (`end_ms` is Some) or an instantaneous mark (`end_ms` is None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    pub kind: MarkKind,
    pub label: String,
    /// True when the run ended before the heal, resume or restart: the band runs to the end.
    pub open: bool,
}

fn had_effect(e: &Event) -> bool {
    !e.detail.ends_with("(no effect)")
}

fn join_label(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fault bands and marks in event order. A partition lasts until the next heal (which heals
/// every partition at once); a pause until the node's resume; a kill until its restart. A span
/// still open when the run ends reaches `end_ms`. The same admin command sent to several nodes
/// at the same instant is one mark ("m1, m2: BGSAVE").
pub fn marks(report: &Report, end_ms: u64) -> Vec<Mark> {
    let mut out: Vec<Mark> = Vec::new();
    // Open spans: (kind, node) -> index into `out`; partitions are keyed by their position.
    let mut open: BTreeMap<(MarkKind, String), usize> = BTreeMap::new();
    // (t_ms, command) -> (index into `out`, the nodes it went to).
    let mut admins: BTreeMap<(u64, &str), (usize, Vec<&str>)> = BTreeMap::new();
    for (i, e) in report.events.iter().enumerate() {
        let span = |kind: MarkKind, label: String| Mark {
            start_ms: e.t_ms,
            end_ms: Some(end_ms),
            kind,
            label,
            open: true,
        };
        let closes = match e.event.as_str() {
            "fault:heal" => Some(MarkKind::Partition),
            "fault:resume" => Some(MarkKind::Pause),
            "fault:restart" => Some(MarkKind::Kill),
            _ => None,
        };
        let opens = match e.event.as_str() {
            "fault:partition" if had_effect(e) => Some(MarkKind::Partition),
            "fault:pause" if had_effect(e) => Some(MarkKind::Pause),
            "fault:kill" if had_effect(e) => Some(MarkKind::Kill),
            _ => None,
        };
        if let Some(kind) = opens {
            let key = if kind == MarkKind::Partition {
                i.to_string()
            } else {
                e.node.clone()
            };
            let node = if kind == MarkKind::Partition {
                ""
            } else {
                e.node.as_str()
            };
            open.insert((kind, key), out.len());
            out.push(span(kind, join_label(&[kind.name(), node, &e.detail])));
            continue;
        }
        // A heal, resume or restart ends its band; one with nothing to end is drawn as a mark.
        if closes.is_some_and(|kind| close_spans(&mut out, &mut open, kind, &e.node, e.t_ms)) {
            continue;
        }
        if let Some(name) = e.event.strip_prefix("fault:") {
            let node = if e.node == "*" { "" } else { e.node.as_str() };
            let label = join_label(&[name, node, &e.detail]);
            out.push(Mark {
                start_ms: e.t_ms,
                end_ms: None,
                kind: MarkKind::Fault,
                label,
                open: false,
            });
        } else if e.event == "oom-kill" {
            // The kernel's kill is drawn like a fault: memory charts show what led to it.
            let label = join_label(&["oom-kill", &e.node]);
            out.push(Mark {
                start_ms: e.t_ms,
                end_ms: None,
                kind: MarkKind::Fault,
                label,
                open: false,
            });
        } else if e.event == "admin" {
            let (index, nodes) = admins
                .entry((e.t_ms, e.detail.as_str()))
                .or_insert_with(|| {
                    out.push(Mark {
                        start_ms: e.t_ms,
                        end_ms: None,
                        kind: MarkKind::Admin,
                        label: String::new(),
                        open: false,
                    });
                    (out.len() - 1, Vec::new())
                });
            nodes.push(&e.node);
            out[*index].label = format!("{}: {}", nodes.join(", "), e.detail);
        }
    }
    out
}

/// Closes the open spans of `kind` that `node`'s event ends (every partition for a heal).
/// Returns whether any span closed.
fn close_spans(
    out: &mut [Mark],
    open: &mut BTreeMap<(MarkKind, String), usize>,
    kind: MarkKind,
    node: &str,
    t_ms: u64,
) -> bool {
    let keys: Vec<(MarkKind, String)> = open
        .keys()
        .filter(|(k, n)| *k == kind && (kind == MarkKind::Partition || n == node))
        .cloned()
        .collect();
    for key in &keys {
        if let Some(index) = open.remove(key) {
            out[index].end_ms = Some(t_ms);
            out[index].open = false;
        }
    }
    !keys.is_empty()
}

/// What a node is doing during a stretch of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleState {
    Master,
    /// A replica with its master link up.
    Replica,
    /// A replica without a working master link (connecting, syncing, or cut off).
    ReplicaLinkDown,
    Sentinel,
    /// Paused (SIGSTOP): alive but not running.
    Paused,
    /// Killed and not restarted.
    Down,
    Unknown,
}

impl RoleState {
    pub const ALL: [RoleState; 7] = [
        RoleState::Master,
        RoleState::Replica,
        RoleState::ReplicaLinkDown,
        RoleState::Sentinel,
        RoleState::Paused,
        RoleState::Down,
        RoleState::Unknown,
    ];

    /// The CSS class suffix.
    pub fn class(self) -> &'static str {
        match self {
            RoleState::Master => "master",
            RoleState::Replica => "replica",
            RoleState::ReplicaLinkDown => "linkdown",
            RoleState::Sentinel => "sentinel",
            RoleState::Paused => "paused",
            RoleState::Down => "down",
            RoleState::Unknown => "unknown",
        }
    }

    /// The legend text.
    pub fn label(self) -> &'static str {
        match self {
            RoleState::Master => "master",
            RoleState::Replica => "replica (link up)",
            RoleState::ReplicaLinkDown => "replica (link down)",
            RoleState::Sentinel => "sentinel",
            RoleState::Paused => "paused",
            RoleState::Down => "down",
            RoleState::Unknown => "unknown",
        }
    }
}

/// One stretch of a node's role lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleSegment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub state: RoleState,
}

/// One lane per node, in the report's node order: the node's name, its final role as the
/// report gives it, and its segments covering [0, end_ms].
pub fn role_lanes(report: &Report, end_ms: u64) -> Vec<(String, String, Vec<RoleSegment>)> {
    report
        .nodes
        .iter()
        .map(|(name, node)| {
            let events: Vec<&Event> = report.events.iter().filter(|e| &e.node == name).collect();
            let start = initial_role(report, name, &events);
            let mut segments = Vec::new();
            let mut lane = Lane {
                role: start,
                restart_role: start,
                down: false,
                paused: false,
            };
            let mut current = (0, lane.shown());
            for e in events {
                lane.apply(e);
                if lane.shown() != current.1 {
                    push_segment(&mut segments, current.0, e.t_ms, current.1);
                    current = (e.t_ms, lane.shown());
                }
            }
            push_segment(&mut segments, current.0, end_ms.max(current.0), current.1);
            (name.clone(), node.role.clone(), segments)
        })
        .collect()
}

fn push_segment(segments: &mut Vec<RoleSegment>, start_ms: u64, end_ms: u64, state: RoleState) {
    if end_ms > start_ms {
        segments.push(RoleSegment {
            start_ms,
            end_ms,
            state,
        });
    }
}

/// A node's state while walking its events.
struct Lane {
    role: RoleState,
    /// What the node comes back as after a restart: its configured role.
    restart_role: RoleState,
    down: bool,
    paused: bool,
}

impl Lane {
    fn shown(&self) -> RoleState {
        if self.down {
            RoleState::Down
        } else if self.paused {
            RoleState::Paused
        } else {
            self.role
        }
    }

    fn apply(&mut self, e: &Event) {
        let sentinel = self.role == RoleState::Sentinel;
        match e.event.as_str() {
            "promoted" if !sentinel => self.role = RoleState::Master,
            "master_link_up" if !sentinel => self.role = RoleState::Replica,
            "master_link_down" if !sentinel => self.role = RoleState::ReplicaLinkDown,
            "admin" if !sentinel => {
                let words: Vec<String> = e
                    .detail
                    .split_whitespace()
                    .map(|w| w.to_ascii_lowercase())
                    .collect();
                if matches!(
                    words.first().map(String::as_str),
                    Some("replicaof" | "slaveof")
                ) && words.len() == 3
                {
                    let no_one = words[1] == "no" && words[2] == "one";
                    self.role = if no_one {
                        RoleState::Master
                    } else {
                        RoleState::ReplicaLinkDown
                    };
                }
            }
            // A SIGKILL (the crash fault, or the OOM killer) leaves the node down as well.
            "fault:kill" | "crash" if had_effect(e) => self.down = true,
            "fault:restart" if had_effect(e) => {
                self.down = false;
                self.paused = false;
                self.role = self.restart_role;
            }
            "fault:pause" if had_effect(e) => self.paused = true,
            "fault:resume" if had_effect(e) => self.paused = false,
            _ => {}
        }
    }
}

/// The role a node starts with: Sentinel for sentinels; a replica (link down until its first
/// sync) when its resolved config says replicaof or its first role event is a replica's;
/// otherwise what its final role suggests.
fn initial_role(report: &Report, name: &str, events: &[&Event]) -> RoleState {
    let node = &report.nodes[name];
    if node.kind == "sentinel" || node.role == "sentinel" {
        return RoleState::Sentinel;
    }
    if let Some(configured) = configured_replica(report, name) {
        return if configured {
            RoleState::ReplicaLinkDown
        } else {
            RoleState::Master
        };
    }
    let first_role_event = events.iter().find(|e| {
        matches!(
            e.event.as_str(),
            "promoted" | "master_link_up" | "master_link_down"
        )
    });
    if first_role_event.is_some() {
        return RoleState::ReplicaLinkDown;
    }
    match node.role.as_str() {
        "master" => RoleState::Master,
        "slave" | "replica" => RoleState::Replica,
        _ => RoleState::Unknown,
    }
}

/// Whether the resolved scenario configures `name` as a replica; None when the report does not
/// carry the node's config.
fn configured_replica(report: &Report, name: &str) -> Option<bool> {
    let nodes = report.scenario_resolved.get("node")?.as_array()?;
    let node = nodes
        .iter()
        .find(|n| n.get("name").and_then(|v| v.as_str()) == Some(name))?;
    let config = node.get("config").and_then(|c| c.as_array());
    let replica = config.is_some_and(|lines| {
        lines.iter().filter_map(|l| l.as_str()).any(|l| {
            let directive = l
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            directive == "replicaof" || directive == "slaveof"
        })
    });
    Some(replica)
}
