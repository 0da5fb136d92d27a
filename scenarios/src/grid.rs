//! `redsim grid`: what-if tables for operators. Each `--vary KEY=V1,V2,...` gives a dimension;
//! every cell of their cartesian product is the scenario with one value per key, run at every
//! seed (cells and seeds together on every core, through the sweep's worker pool). Per cell:
//! acknowledged writes lost (share of the judged acked writes, min-max over seeds), write
//! availability (acked writes / write attempts) and failover time (first fault to the first
//! `+switch-master` after it). docs/grid.md is the contract.
//!
//! A KEY is either a node's config line (`n1.min-replicas-to-write`, `*.min-replicas-to-write`
//! for every redis-server, `*.sentinel down-after-milliseconds mymaster` for every sentinel)
//! or a path into the scenario (`step[0].at_ms`, `workload[w1].ops_per_second`,
//! `machine.memory`, `duration_ms`).

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use serde_json::Value;

use crate::cli::{bad_input, err_line, out};
use crate::spec::{NodeKind, Scenario};
use crate::{registry, runner, sweep};

/// The scenario's top-level keys: a KEY starting with one of them is a path into the scenario.
const TOP_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "seeds",
    "duration_ms",
    "machine",
    "node",
    "workload",
    "step",
    "expect",
];

/// One `--vary KEY=V1,V2,...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vary {
    pub key: String,
    pub values: Vec<String>,
}

/// Parses `KEY=V1,V2,...`: the key is everything before the first `=`, the values are split
/// at commas and trimmed.
pub fn parse_vary(text: &str) -> Result<Vary, String> {
    let (key, values) = text
        .split_once('=')
        .ok_or_else(|| format!("--vary {}: expected KEY=V1,V2,...", text))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("--vary {}: the key is empty", text));
    }
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().any(String::is_empty) {
        return Err(format!(
            "--vary {}: a value is empty (write \"\" for an empty string)",
            text
        ));
    }
    Ok(Vary {
        key: key.to_string(),
        values,
    })
}

/// What a KEY names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A config line: the nodes it goes to (a name or `*`) and its directive words.
    Config { nodes: String, directive: String },
    /// A path into the scenario's TOML shape.
    Path(Vec<Segment>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    /// An element of an array of tables, by its `name` (node, workload).
    Name(String),
}

fn target(key: &str) -> Result<Target, String> {
    let head_end = key.find(['.', '[']).unwrap_or(key.len());
    if TOP_KEYS.contains(&&key[..head_end]) {
        return parse_path(key).map(Target::Path);
    }
    let Some((nodes, directive)) = key.split_once('.') else {
        return Err(format!(
            "'{}' is neither NODE.DIRECTIVE (a node's config line) nor a path into the scenario ({})",
            key,
            TOP_KEYS.join(", ")
        ));
    };
    let directive = directive.split_whitespace().collect::<Vec<_>>().join(" ");
    if nodes.is_empty() || directive.is_empty() {
        return Err(format!("'{}': expected NODE.DIRECTIVE", key));
    }
    Ok(Target::Config {
        nodes: nodes.to_string(),
        directive,
    })
}

/// Parses `step[0].at_ms`, `workload[w1].ops_per_second`, `machine.memory`.
fn parse_path(key: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let close = inner
                .find(']')
                .ok_or_else(|| format!("'{}': a '[' without its ']'", key))?;
            let index = &inner[..close];
            segments.push(match index.parse::<usize>() {
                Ok(i) => Segment::Index(i),
                Err(_) if !index.is_empty() => Segment::Name(index.to_string()),
                Err(_) => return Err(format!("'{}': an empty []", key)),
            });
            rest = &inner[close + 1..];
        } else {
            let name = rest.strip_prefix('.').unwrap_or(rest);
            if name.len() == rest.len() && !segments.is_empty() {
                return Err(format!("'{}': expected '.' or '[' after ']'", key));
            }
            let end = name.find(['.', '[']).unwrap_or(name.len());
            if end == 0 {
                return Err(format!("'{}': an empty key", key));
            }
            segments.push(Segment::Key(name[..end].to_string()));
            rest = &name[end..];
        }
    }
    Ok(segments)
}

/// A value as TOML reads it (`10`, `0.5`, `true`, `"text"`, `[1, 2]`); anything that is not a
/// TOML value is a bare string (`4gb`, `set`, `always`).
fn value_of(text: &str) -> Value {
    #[derive(serde::Deserialize)]
    struct Holder {
        v: toml::Value,
    }
    toml::from_str::<Holder>(&format!("v = {}", text))
        .ok()
        .and_then(|h| serde_json::to_value(h.v).ok())
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// Sets the config line `<directive> <value>` on the nodes `nodes` names: it replaces the
/// node's lines that start with the directive's words (the first one keeps its place), or is
/// appended when there is none.
fn set_config(
    scenario: &mut Scenario,
    nodes: &str,
    directive: &str,
    value: &str,
) -> Result<(), String> {
    let words: Vec<&str> = directive.split(' ').collect();
    let sentinel_line = words[0].eq_ignore_ascii_case("sentinel");
    let names: Vec<String> = scenario.nodes.iter().map(|n| n.name.clone()).collect();
    let chosen: Vec<usize> = if nodes == "*" {
        let kind = if sentinel_line {
            NodeKind::Sentinel
        } else {
            NodeKind::Redis
        };
        (0..scenario.nodes.len())
            .filter(|&i| scenario.nodes[i].kind == kind)
            .collect()
    } else {
        match names.iter().position(|n| n == nodes) {
            Some(i) => vec![i],
            None => {
                return Err(format!(
                    "no node '{}' (nodes: {}; * is every {})",
                    nodes,
                    names.join(", "),
                    if sentinel_line {
                        "sentinel"
                    } else {
                        "redis-server"
                    }
                ))
            }
        }
    };
    if chosen.is_empty() {
        return Err(format!(
            "* names no node: the scenario has no {} node",
            if sentinel_line { "sentinel" } else { "redis" }
        ));
    }
    let line = format!("{} {}", directive, value);
    let starts_with_directive = |l: &String| {
        let have: Vec<&str> = l.split_whitespace().collect();
        have.len() >= words.len()
            && have
                .iter()
                .zip(&words)
                .all(|(h, w)| h.eq_ignore_ascii_case(w))
    };
    for i in chosen {
        let config = &mut scenario.nodes[i].config;
        match config.iter().position(starts_with_directive) {
            Some(first) => {
                config[first] = line.clone();
                let mut k = 0;
                config.retain(|l| {
                    k += 1;
                    k - 1 == first || !starts_with_directive(l)
                });
            }
            None => config.push(line.clone()),
        }
    }
    Ok(())
}

/// Sets the value at `path` in the scenario's JSON shape; a missing last key is added (an
/// unknown one is then rejected when the scenario is read back).
fn set_path(root: &mut Value, path: &[Segment], value: Value) -> Result<(), String> {
    let mut here = root;
    let mut shown = String::new();
    for (k, segment) in path.iter().enumerate() {
        let last = k + 1 == path.len();
        here = match segment {
            Segment::Key(key) => {
                if !shown.is_empty() {
                    shown.push('.');
                }
                shown.push_str(key);
                let Value::Object(map) = here else {
                    return Err(format!("{} is not a table", shown));
                };
                if last {
                    map.insert(key.clone(), value);
                    return Ok(());
                }
                match map.get_mut(key) {
                    Some(v) => v,
                    None => return Err(format!("{}: no such key in this scenario", shown)),
                }
            }
            Segment::Index(i) => {
                let Value::Array(items) = here else {
                    return Err(format!("{} is not an array", shown));
                };
                let len = items.len();
                shown.push_str(&format!("[{}]", i));
                let Some(item) = items.get_mut(*i) else {
                    return Err(format!("{}: out of range ({} entries)", shown, len));
                };
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
            Segment::Name(name) => {
                let Value::Array(items) = here else {
                    return Err(format!("{} is not an array", shown));
                };
                let names: Vec<String> = items
                    .iter()
                    .filter_map(|i| i.get("name").and_then(Value::as_str).map(str::to_string))
                    .collect();
                let Some(item) = items
                    .iter_mut()
                    .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
                else {
                    return Err(format!(
                        "{}[{}]: no entry named '{}' (names: {})",
                        shown,
                        name,
                        name,
                        names.join(", ")
                    ));
                };
                shown.push_str(&format!("[{}]", name));
                if last {
                    *item = value;
                    return Ok(());
                }
                item
            }
        };
    }
    Ok(())
}

/// The scenario with `settings` (key, value) applied in order, validated.
pub fn apply(base: &Scenario, settings: &[(String, String)]) -> Result<Scenario, String> {
    let mut scenario = base.clone();
    let mut paths = Vec::new();
    for (key, value) in settings {
        match target(key)? {
            Target::Config { nodes, directive } => {
                set_config(&mut scenario, &nodes, &directive, value)?
            }
            Target::Path(path) => paths.push((path, value)),
        }
    }
    if !paths.is_empty() {
        let mut json = serde_json::to_value(&scenario).map_err(|e| e.to_string())?;
        for (path, value) in paths {
            set_path(&mut json, &path, value_of(value))?;
        }
        scenario = serde_json::from_value(json).map_err(|e| e.to_string())?;
    }
    scenario.validate("grid").map_err(|e| {
        e.issues
            .iter()
            .map(|i| format!("{}: {}", i.key, i.message))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(scenario)
}

/// One cell: a value for every key, and the scenario they make.
pub struct Cell {
    pub settings: Vec<(String, String)>,
    pub scenario: Scenario,
}

/// Every cell of the product, the first key's values varying slowest. Each setting is first
/// checked on its own (so a bad one is named by its key), then each cell as a whole.
pub fn cells(base: &Scenario, varies: &[Vary]) -> Result<Vec<Cell>, String> {
    for v in varies {
        for value in &v.values {
            let setting = [(v.key.clone(), value.clone())];
            apply(base, &setting).map_err(|e| format!("--vary {}={}: {}", v.key, value, e))?;
        }
    }
    let mut products: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for v in varies {
        products = products
            .into_iter()
            .flat_map(|done| {
                v.values.iter().map(move |value| {
                    let mut next = done.clone();
                    next.push((v.key.clone(), value.clone()));
                    next
                })
            })
            .collect();
    }
    products
        .into_iter()
        .map(|settings| {
            let scenario = apply(base, &settings)
                .map_err(|e| format!("--vary cell {}: {}", describe_settings(&settings), e))?;
            Ok(Cell { settings, scenario })
        })
        .collect()
}

fn describe_settings(settings: &[(String, String)]) -> String {
    settings
        .iter()
        .map(|(k, v)| format!("{}={}", k, v))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One run of one cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunMetrics {
    pub seed: u64,
    pub acked_writes: u64,
    /// The acked writes the lost-writes checker judged (see `history.acked_writes_evaluated`).
    pub acked_writes_evaluated: u64,
    pub acked_writes_lost: u64,
    /// When the first and the last lost writes were acknowledged (virtual ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_lost_acked_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_lost_acked_ms: Option<u64>,
    pub writes_attempted: u64,
    pub writes_ok: u64,
    /// First fault to the first +switch-master after it; absent when there was none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover_ms: Option<u64>,
    /// The scenario's own expectations held (they were written for the unvaried scenario).
    pub expectations_passed: bool,
    pub trace_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunMetrics {
    fn lost_share(&self) -> Option<f64> {
        (self.acked_writes_evaluated > 0)
            .then(|| self.acked_writes_lost as f64 / self.acked_writes_evaluated as f64)
    }

    fn availability(&self) -> Option<f64> {
        (self.writes_attempted > 0).then(|| self.writes_ok as f64 / self.writes_attempted as f64)
    }
}

/// From the report's events: the first fault, then the first `+switch-master` at or after it.
pub fn failover_ms(report: &redsim_reports::model::Report) -> Option<u64> {
    let fault = report
        .events
        .iter()
        .find(|e| e.event.starts_with("fault:"))?
        .t_ms;
    let switch = report
        .events
        .iter()
        .find(|e| e.event == "+switch-master" && e.t_ms >= fault)?
        .t_ms;
    Some(switch - fault)
}

fn run_cell(cell: &Cell, label: &str, seed: u64) -> RunMetrics {
    let mut metrics = RunMetrics {
        seed,
        acked_writes: 0,
        acked_writes_evaluated: 0,
        acked_writes_lost: 0,
        first_lost_acked_ms: None,
        last_lost_acked_ms: None,
        writes_attempted: 0,
        writes_ok: 0,
        failover_ms: None,
        expectations_passed: false,
        trace_hash: String::new(),
        error: None,
    };
    match runner::run(&cell.scenario, label, seed) {
        Ok(o) => {
            let h = &o.report.history;
            metrics.acked_writes = h.acked_writes;
            metrics.acked_writes_evaluated = h.acked_writes_evaluated;
            metrics.acked_writes_lost = h.acked_writes_lost;
            metrics.first_lost_acked_ms = h.first_lost_acked_ms;
            metrics.last_lost_acked_ms = h.last_lost_acked_ms;
            metrics.writes_attempted = o.writes.attempted;
            metrics.writes_ok = o.writes.ok;
            metrics.failover_ms = failover_ms(&o.report);
            metrics.expectations_passed = o.report.passed;
            metrics.trace_hash = o.report.trace_hash;
        }
        Err(e) => metrics.error = Some(e),
    }
    metrics
}

/// Lowest and highest over the seeds that have the value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MinMax {
    pub min: f64,
    pub max: f64,
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<MinMax> {
    values.fold(None, |acc, v| {
        Some(match acc {
            None => MinMax { min: v, max: v },
            Some(m) => MinMax {
                min: m.min.min(v),
                max: m.max.max(v),
            },
        })
    })
}

/// One cell's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellResult {
    /// Key -> value, in --vary order.
    pub settings: serde_json::Map<String, Value>,
    /// Lost acked writes / judged acked writes (0..1), over the seeds with judged writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_share: Option<MinMax>,
    pub acked_writes_lost: Option<MinMax>,
    /// Acked writes / write attempts (0..1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_availability: Option<MinMax>,
    /// Over the seeds that had a failover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover_ms: Option<MinMax>,
    /// Seeds with a failover / seeds run.
    pub failovers: u64,
    pub seeds: u64,
    pub expectations_passed: u64,
    pub runs: Vec<RunMetrics>,
}

impl CellResult {
    fn new(settings: &[(String, String)], runs: Vec<RunMetrics>) -> CellResult {
        let ok: Vec<&RunMetrics> = runs.iter().filter(|r| r.error.is_none()).collect();
        CellResult {
            settings: settings
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
            lost_share: min_max(ok.iter().filter_map(|r| r.lost_share())),
            acked_writes_lost: min_max(ok.iter().map(|r| r.acked_writes_lost as f64)),
            write_availability: min_max(ok.iter().filter_map(|r| r.availability())),
            failover_ms: min_max(ok.iter().filter_map(|r| r.failover_ms.map(|f| f as f64))),
            failovers: ok.iter().filter(|r| r.failover_ms.is_some()).count() as u64,
            seeds: runs.len() as u64,
            expectations_passed: ok.iter().filter(|r| r.expectations_passed).count() as u64,
            runs,
        }
    }
}

/// What `--report DIR` writes as grid.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridResult {
    pub redsim_version: String,
    pub scenario: String,
    pub seeds: Vec<u64>,
    pub vary: Vec<Vary>,
    pub cells: Vec<CellResult>,
}

pub struct GridArgs<'a> {
    pub name: &'a str,
    pub vary: &'a [String],
    pub seeds: &'a str,
    pub jobs: Option<usize>,
    pub report: Option<&'a Path>,
}

pub fn grid(args: GridArgs) -> ExitCode {
    let base = match registry::load(args.name) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let seeds = match sweep::parse_seeds(args.seeds) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let mut varies = Vec::new();
    for text in args.vary {
        match parse_vary(text) {
            Ok(v) if varies.iter().any(|o: &Vary| o.key == v.key) => {
                return bad_input(&format!("--vary {}: the key is given twice", v.key))
            }
            Ok(v) => varies.push(v),
            Err(e) => return bad_input(&e),
        }
    }
    let cells = match cells(&base, &varies) {
        Ok(c) => c,
        Err(e) => return bad_input(&e),
    };
    let total = cells.len() * seeds.len();
    let work = |i: usize| {
        let (cell, seed) = (&cells[i / seeds.len()], seeds[i % seeds.len()]);
        let metrics = run_cell(cell, args.name, seed);
        let line = metrics.error.as_ref().map(|e| {
            format!(
                "ERROR {} seed {}: {}",
                describe_settings(&cell.settings),
                seed,
                e
            )
        });
        (metrics, line)
    };
    let words = sweep::ProgressWords {
        command: "grid",
        unit: "runs",
        failed: "errors",
    };
    let runs = sweep::run_parallel(total, args.jobs, &words, work, err_line);
    let mut runs = runs.into_iter();
    let results: Vec<CellResult> = cells
        .iter()
        .map(|c| CellResult::new(&c.settings, runs.by_ref().take(seeds.len()).collect()))
        .collect();
    let result = GridResult {
        redsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: args.name.to_string(),
        seeds,
        vary: varies,
        cells: results,
    };
    out(&text_table(&result));
    if let Some(dir) = args.report {
        if let Err(e) = write_report(dir, &result) {
            return bad_input(&format!("{}: {}", dir.display(), e));
        }
    }
    let errors = result
        .cells
        .iter()
        .flat_map(|c| &c.runs)
        .any(|r| r.error.is_some());
    if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// "lo-hi<unit>", or "v<unit>" when both ends read the same; "-" when no seed had a value.
fn range(m: Option<MinMax>, show: impl Fn(f64) -> String, unit: &str) -> String {
    match m {
        None => "-".into(),
        Some(m) if show(m.min) == show(m.max) => format!("{}{}", show(m.min), unit),
        Some(m) => format!("{}-{}{}", show(m.min), show(m.max), unit),
    }
}

/// The table's header and rows as people read them (the text table and the HTML page).
fn rows(result: &GridResult) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = result.vary.iter().map(|v| v.key.clone()).collect();
    header.extend(
        [
            "acked writes lost",
            "lost share",
            "write availability",
            "failover",
            "expectations",
        ]
        .map(String::from),
    );
    let rows = result
        .cells
        .iter()
        .map(|c| {
            let mut row: Vec<String> = c.settings.values().map(value_text).collect();
            let percent = |share: f64| format!("{:.2}", share * 100.0);
            row.push(range(c.acked_writes_lost, |v| format!("{}", v as u64), ""));
            row.push(range(c.lost_share, percent, "%"));
            row.push(range(c.write_availability, percent, "%"));
            row.push(format!(
                "{} ({}/{})",
                range(c.failover_ms, |ms| format!("{:.1}", ms / 1000.0), " s"),
                c.failovers,
                c.seeds
            ));
            row.push(format!("{}/{}", c.expectations_passed, c.seeds));
            row
        })
        .collect();
    (header, rows)
}

fn value_text(v: &Value) -> String {
    redsim_reports::model::value_text(v)
}

/// The table as aligned text, with a line that says what the columns mean.
pub fn text_table(result: &GridResult) -> String {
    let (header, rows) = rows(result);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", c, w = w))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = format!(
        "grid {}: {} cells x {} seeds ({})\n",
        result.scenario,
        result.cells.len(),
        result.seeds.len(),
        sweep::describe_seeds(&result.seeds)
    );
    text.push_str(&line(&header));
    text.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for r in &rows {
        text.push_str(&line(r));
    }
    text.push_str(
        "min-max over seeds. lost share: acked writes missing from the final master / acked \
         writes judged; write availability: acked writes / write attempts; failover: first \
         fault to the first +switch-master (seeds with one / seeds); expectations: seeds where \
         the scenario's own expectations held.\n",
    );
    text
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One row per cell, numbers unformatted (shares 0..1, times in ms); empty when absent.
pub fn csv(result: &GridResult) -> String {
    let mut header: Vec<String> = result.vary.iter().map(|v| v.key.clone()).collect();
    header.extend(
        [
            "seeds",
            "acked_writes_lost_min",
            "acked_writes_lost_max",
            "lost_share_min",
            "lost_share_max",
            "write_availability_min",
            "write_availability_max",
            "failover_ms_min",
            "failover_ms_max",
            "failovers",
            "expectations_passed",
        ]
        .map(String::from),
    );
    let mut text = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    let num = |m: Option<MinMax>, pick: fn(&MinMax) -> f64| {
        m.map(|m| format!("{}", pick(&m))).unwrap_or_default()
    };
    for c in &result.cells {
        let mut row: Vec<String> = c.settings.values().map(value_text).collect();
        row.push(c.seeds.to_string());
        for m in [
            c.acked_writes_lost,
            c.lost_share,
            c.write_availability,
            c.failover_ms,
        ] {
            row.push(num(m, |m| m.min));
            row.push(num(m, |m| m.max));
        }
        row.push(c.failovers.to_string());
        row.push(c.expectations_passed.to_string());
        text.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        text.push('\n');
    }
    text
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The same table as a self-contained HTML page.
pub fn html(result: &GridResult) -> String {
    let (header, rows) = rows(result);
    let title = format!(
        "redsim grid {}: {} cells x {} seeds ({})",
        result.scenario,
        result.cells.len(),
        result.seeds.len(),
        sweep::describe_seeds(&result.seeds)
    );
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         th,td{{border:1px solid #bbb;padding:4px 10px;text-align:right}}th{{background:#eee}}\
         td.key{{text-align:left;font-family:monospace}}p{{max-width:60em;color:#444}}</style>\n\
         </head><body>\n<h1>{}</h1>\n<table>\n<tr>",
        html_escape(&title),
        html_escape(&title)
    );
    for h in &header {
        page.push_str(&format!("<th>{}</th>", html_escape(h)));
    }
    page.push_str("</tr>\n");
    let keys = result.vary.len();
    for r in &rows {
        page.push_str("<tr>");
        for (i, cell) in r.iter().enumerate() {
            let class = if i < keys { " class=\"key\"" } else { "" };
            page.push_str(&format!("<td{}>{}</td>", class, html_escape(cell)));
        }
        page.push_str("</tr>\n");
    }
    page.push_str(
        "</table>\n<p>min-max over seeds. Lost share: acked writes missing from the final \
         master / acked writes judged. Write availability: acked writes / write attempts. \
         Failover: first fault to the first +switch-master (seeds with one / seeds). \
         Expectations: seeds where the scenario's own expectations held.</p>\n</body></html>\n",
    );
    page
}

fn write_report(dir: &Path, result: &GridResult) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("grid.json"),
        serde_json::to_string_pretty(result).expect("serialisable") + "\n",
    )?;
    std::fs::write(dir.join("grid.csv"), csv(result))?;
    std::fs::write(dir.join("grid.html"), html(result))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        registry::load("sentinel-failover").expect("built-in")
    }

    fn set(key: &str, value: &str) -> Result<Scenario, String> {
        apply(&base(), &[(key.to_string(), value.to_string())])
    }

    #[test]
    fn vary_flags_parse() {
        assert_eq!(
            parse_vary("n1.min-replicas-to-write=0, 1,2"),
            Ok(Vary {
                key: "n1.min-replicas-to-write".into(),
                values: vec!["0".into(), "1".into(), "2".into()]
            })
        );
        assert!(parse_vary("n1.min-replicas-to-write").is_err());
        assert!(parse_vary("=1").is_err());
        assert!(parse_vary("k=1,,2").is_err());
        assert_eq!(
            parse_path("workload[w1].timeout_ms"),
            Ok(vec![
                Segment::Key("workload".into()),
                Segment::Name("w1".into()),
                Segment::Key("timeout_ms".into())
            ])
        );
        assert_eq!(
            parse_path("step[1].at_ms"),
            Ok(vec![
                Segment::Key("step".into()),
                Segment::Index(1),
                Segment::Key("at_ms".into())
            ])
        );
        assert!(parse_path("step[1]at_ms").is_err());
        assert!(parse_path("step[").is_err());
        assert!(parse_path("step[].at_ms").is_err());
    }

    #[test]
    fn config_keys_replace_or_append_lines() {
        let s = set("m1.min-replicas-to-write", "1").expect("valid");
        assert_eq!(s.node("m1").unwrap().config, ["min-replicas-to-write 1"]);
        let s = set("r2.replica-priority", "50").expect("valid");
        assert_eq!(
            s.node("r2").unwrap().config,
            ["replicaof m1 6379", "replica-priority 50"]
        );
        // `*` is every redis-server for a redis.conf directive, every sentinel for a
        // `sentinel ...` line; the sentinels' other lines stay.
        let s = set("*.min-replicas-max-lag", "5").expect("valid");
        for n in ["m1", "r1", "r2"] {
            assert!(s
                .node(n)
                .unwrap()
                .config
                .contains(&"min-replicas-max-lag 5".into()));
        }
        assert!(s
            .node("s1")
            .unwrap()
            .config
            .iter()
            .all(|l| !l.contains("lag")));
        let s = set("*.sentinel down-after-milliseconds mymaster", "2000").expect("valid");
        for n in ["s1", "s2", "s3"] {
            let config = &s.node(n).unwrap().config;
            assert_eq!(config[2], "sentinel down-after-milliseconds mymaster 2000");
            assert_eq!(config.len(), 4);
        }
        assert!(set("m9.min-replicas-to-write", "1")
            .unwrap_err()
            .contains("no node 'm9'"));
        assert!(set("m1.min-replicas-to-write", "lots")
            .unwrap_err()
            .contains("node[0].config[0]"));
        assert!(set("m1.no-such-directive", "1").is_err());
    }

    #[test]
    fn path_keys_set_scenario_values() {
        let s = set("step[0].at_ms", "15000").expect("valid");
        assert_eq!(s.steps[0].at_ms, 15_000);
        let s = set("workload[w1].timeout_ms", "500").expect("valid");
        assert_eq!(s.workloads[0].timeout_ms, Some(500));
        let s = set("machine.memory", "8gb").expect("valid");
        assert_eq!(s.machine.memory.0, "8gb");
        let s = set("node[r1].config[1]", "replica-priority 1").expect("valid");
        assert_eq!(s.node("r1").unwrap().config[1], "replica-priority 1");
        let s = set("workload[0].kind", "append-list").expect("valid");
        assert_eq!(s.workloads[0].kind, crate::spec::WorkloadKind::AppendList);
        assert!(set("step[9].at_ms", "1")
            .unwrap_err()
            .contains("out of range"));
        assert!(set("workload[w9].clients", "1").unwrap_err().contains("w9"));
        assert!(set("step[0].at_ms", "soon")
            .unwrap_err()
            .contains("invalid type"));
        assert!(set("step[0].at_minutes", "1")
            .unwrap_err()
            .contains("unknown field"));
        assert!(set("duration", "1").is_err());
    }

    #[test]
    fn cells_are_the_product_first_key_slowest() {
        let varies = [
            parse_vary("*.min-replicas-to-write=0,1").unwrap(),
            parse_vary("step[0].at_ms=10000,20000,30000").unwrap(),
        ];
        let all = cells(&base(), &varies).expect("valid");
        assert_eq!(all.len(), 6);
        assert_eq!(
            describe_settings(&all[1].settings),
            "*.min-replicas-to-write=0 step[0].at_ms=20000"
        );
        assert_eq!(all[5].scenario.steps[0].at_ms, 30_000);
        let bad = [parse_vary("step[0].at_ms=1,x").unwrap()];
        let message = cells(&base(), &bad).err().expect("x is no time");
        assert!(
            message.starts_with("--vary step[0].at_ms=x: "),
            "{}",
            message
        );
    }
}
