//! The `redsim` command line: list, run, replay, sweep, serve.
//! Exit codes: 0 passed, 1 an expectation failed or a replay diverged,
//! 2 bad input (with the file, line and key).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};

use crate::registry;
use crate::runner;

#[derive(Parser)]
#[command(
    name = "redsim",
    version,
    about = "Deterministic simulation and chaos testbed for a Redis-compatible engine"
)]
pub struct Cli {
    /// Print every node's Redis-format log lines (virtual time) to stderr.
    #[arg(long, global = true)]
    pub log: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// List the built-in scenarios: name<TAB>title, one a line.
    List,
    /// Run a scenario (built-in name or TOML file) at one seed.
    Run {
        scenario: String,
        /// The seed (default: the scenario's first pinned seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Print the JSON report on stdout instead of the summary.
        #[arg(long)]
        json: bool,
        /// Write report.json, report.html and trace.txt into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Re-run the scenario and seed a report.json records; exit 0 iff the trace hash matches.
    Replay { report: PathBuf },
    /// Run many seeds on all cores; print each failing seed with its replay command.
    Sweep {
        scenario: String,
        /// Inclusive seed range, e.g. 1..100.
        #[arg(long)]
        seeds: String,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the I-th of N shards (1-based), e.g. 2/4.
        #[arg(long)]
        shard: Option<String>,
    },
    /// Serve the engine on real TCP for redis-cli, redis-benchmark and client libraries.
    Serve {
        #[arg(long, default_value_t = 6379)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// A redis.conf file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("redsim: {}", message);
    ExitCode::from(2)
}

pub fn main_with(cli: Cli) -> ExitCode {
    if cli.log {
        crate::logging::install();
    }
    match cli.command {
        Command::List => {
            for b in registry::BUILTINS {
                let title = registry::load(b.name).map(|s| s.title).unwrap_or_default();
                println!("{}\t{}", b.name, title);
            }
            ExitCode::SUCCESS
        }
        Command::Run {
            scenario,
            seed,
            json,
            report,
        } => run(&scenario, seed, json, report.as_deref()),
        Command::Replay { report } => replay(&report),
        Command::Sweep {
            scenario,
            seeds,
            jobs,
            shard,
        } => sweep(&scenario, &seeds, jobs, shard.as_deref()),
        Command::Serve { port, bind, config } => serve(&bind, port, config.as_deref()),
    }
}

fn run(name: &str, seed: Option<u64>, json: bool, report_dir: Option<&Path>) -> ExitCode {
    let scenario = match registry::load(name) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let seed = seed.unwrap_or_else(|| scenario.seeds.first().copied().unwrap_or(1));
    let out = match runner::run(&scenario, name, seed) {
        Ok(o) => o,
        Err(e) => return bad_input(&format!("{}: {}", name, e)),
    };
    if !out.step_errors.is_empty() {
        for message in step_error_lines(name, &out.step_errors) {
            eprintln!("redsim: {}", message);
        }
        return ExitCode::from(2);
    }
    if let Some(dir) = report_dir {
        if let Err(e) = write_report_dir(dir, &out) {
            return bad_input(&format!("{}: {}", dir.display(), e));
        }
    }
    if json {
        println!("{}", redsim_reports::json::to_json_pretty(&out.report));
    } else {
        print!("{}", redsim_reports::summary::summary(&out.report));
    }
    if out.report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Each command step whose reply broke its rule, as "<file>:<line>:<col>: ...".
fn step_error_lines(name: &str, errors: &[(usize, String)]) -> Vec<String> {
    let source = registry::source(name);
    errors
        .iter()
        .map(|(step, message)| match &source {
            Some((file, text)) => crate::spec::locate_step_problem(text, file, *step, message),
            None => format!("{}: step[{}].command: {}", name, step, message),
        })
        .collect()
}

fn write_report_dir(dir: &Path, out: &runner::RunOutput) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("report.json"),
        redsim_reports::json::to_json_pretty(&out.report),
    )?;
    std::fs::write(
        dir.join("report.html"),
        redsim_reports::html::to_html(&out.report),
    )?;
    std::fs::write(dir.join("trace.txt"), &out.trace_snapshot)?;
    Ok(())
}

fn replay(path: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return bad_input(&format!("{}: {}", path.display(), e)),
    };
    let recorded = match redsim_reports::json::from_json(&text) {
        Ok(r) => r,
        Err(e) => {
            return bad_input(&format!(
                "{}:{}:{}: {}",
                path.display(),
                e.line(),
                e.column(),
                e
            ))
        }
    };
    let file = format!("{} (scenario_resolved)", path.display());
    let scenario = match crate::spec::Scenario::from_json_value(&recorded.scenario_resolved, &file)
    {
        Ok(s) => s,
        Err(e) => return bad_input(&e.to_string()),
    };
    let out = match runner::run(&scenario, &recorded.scenario, recorded.seed) {
        Ok(o) => o,
        Err(e) => return bad_input(&e),
    };
    if out.report.trace_hash == recorded.trace_hash {
        println!(
            "replay: {} seed {}: trace hash {} matches",
            recorded.scenario, recorded.seed, recorded.trace_hash
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "replay: {} seed {}: DIVERGED: recorded {} but this build gives {}",
            recorded.scenario, recorded.seed, recorded.trace_hash, out.report.trace_hash
        );
        ExitCode::from(1)
    }
}

/// Parses "A..B" (inclusive).
fn parse_seed_range(text: &str) -> Result<(u64, u64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("--seeds {}: expected A..B", text))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("--seeds {}: '{}' is not a seed", text, a))?;
    let b: u64 = b
        .trim()
        .trim_start_matches('=')
        .parse()
        .map_err(|_| format!("--seeds {}: '{}' is not a seed", text, b))?;
    if a > b {
        return Err(format!("--seeds {}: the range is empty", text));
    }
    Ok((a, b))
}

/// Parses "I/N" (1-based).
fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("--shard {}: expected I/N", text))?;
    let (i, n): (u64, u64) = match (i.parse(), n.parse()) {
        (Ok(i), Ok(n)) => (i, n),
        _ => return Err(format!("--shard {}: I and N must be numbers", text)),
    };
    if n == 0 || i == 0 || i > n {
        return Err(format!("--shard {}: need 1 <= I <= N", text));
    }
    Ok((i, n))
}

fn sweep(name: &str, seeds: &str, jobs: Option<usize>, shard: Option<&str>) -> ExitCode {
    let scenario = match registry::load(name) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let (first, last) = match parse_seed_range(seeds) {
        Ok(r) => r,
        Err(e) => return bad_input(&e),
    };
    let (shard_index, shard_count) = match shard.map(parse_shard).transpose() {
        Ok(s) => s.unwrap_or((1, 1)),
        Err(e) => return bad_input(&e),
    };
    let all: Vec<u64> = (first..=last)
        .filter(|s| (s - first) % shard_count == shard_index - 1)
        .collect();
    let jobs = jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let bar = indicatif::ProgressBar::new(all.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg}")
            .expect("valid template"),
    );
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<(u64, String)>::new()));
    let seeds = Arc::new(all);
    let scenario = Arc::new(scenario);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (next, failures, seeds, scenario, bar) = (
                next.clone(),
                failures.clone(),
                seeds.clone(),
                scenario.clone(),
                bar.clone(),
            );
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst) as usize;
                let Some(&seed) = seeds.get(i) else { return };
                let outcome = match runner::run(&scenario, name, seed) {
                    Ok(out) if out.report.passed => None,
                    Ok(out) => {
                        let failed: Vec<&str> = out
                            .report
                            .expectations
                            .iter()
                            .filter(|e| !e.passed)
                            .map(|e| e.that.as_str())
                            .collect();
                        Some(failed.join("; "))
                    }
                    Err(e) => Some(e),
                };
                if let Some(why) = outcome {
                    bar.println(format!(
                        "FAIL seed {}: {}\n  replay: redsim run {} --seed {}",
                        seed, why, name, seed
                    ));
                    failures.lock().expect("no poisoned lock").push((seed, why));
                }
                bar.inc(1);
                bar.set_message(format!(
                    "{} failed",
                    failures.lock().expect("no poisoned lock").len()
                ));
            });
        }
    });
    bar.finish();
    let failures = failures.lock().expect("no poisoned lock");
    println!(
        "sweep {}: {} seeds, {} passed, {} failed",
        name,
        seeds.len(),
        seeds.len() - failures.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn serve(bind: &str, port: u16, config: Option<&Path>) -> ExitCode {
    let mut lines: Vec<String> = Vec::new();
    if let Some(path) = config {
        match std::fs::read_to_string(path) {
            Ok(text) => lines = text.lines().map(str::to_string).collect(),
            Err(e) => return bad_input(&format!("{}: {}", path.display(), e)),
        }
    }
    let mut config = match redsim_engine::Config::from_conf_lines(&lines) {
        Ok(c) => c,
        Err((line, e)) => {
            return bad_input(&format!(
                "{}:{}: {}",
                config.map(|p| p.display().to_string()).unwrap_or_default(),
                line,
                e
            ))
        }
    };
    // redis-server's dir is the directory it was started in unless the
    // configuration names one; CONFIG GET dir shows it absolute.
    let names_dir = lines.iter().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("dir"))
    });
    if !names_dir {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| ".".into());
        if let Err(e) = config.set("dir", &[cwd]) {
            return bad_input(&format!("dir: {:?}", e));
        }
    }
    match crate::serve::serve(bind, port, config) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("redsim: serve {}:{}: {}", bind, port, e);
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn seed_ranges_and_shards() {
        assert_eq!(parse_seed_range("1..100"), Ok((1, 100)));
        assert!(parse_seed_range("5..1").is_err());
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert!(parse_shard("0/4").is_err());
    }
}
