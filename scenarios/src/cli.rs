//! The `redsim` command line: list, run, replay, sweep, grid, serve.
//! Exit codes: 0 passed, 1 an expectation failed or a replay diverged,
//! 2 bad input (with the file, line and key).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
        /// Write every operation to this file as JSON lines (invoke, then ok / fail / info),
        /// the shape Jepsen, Elle and porcupine users read.
        #[arg(long)]
        history: Option<PathBuf>,
    },
    /// Re-run the scenario and seed a report.json records; exit 0 iff the trace hash matches.
    Replay { report: PathBuf },
    /// Run many seeds on all cores; print each failing seed with its replay command.
    ///
    /// With --merge, join the JSON results of several shards into one summary instead.
    Sweep {
        /// A built-in name or a TOML file (not with --merge).
        #[arg(required_unless_present = "merge")]
        scenario: Option<String>,
        /// Seeds: an inclusive range 1..100, a list 3,17,42, or both (1..10,42).
        #[arg(long, required_unless_present = "merge")]
        seeds: Option<String>,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the I-th of N shards (1-based), e.g. 2/4; auto/N takes I from a
        /// Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based).
        #[arg(long)]
        shard: Option<String>,
        /// text (failures as they come, then a summary), json (one document for
        /// --merge), or junit (a JUnit XML test suite, one test case per seed).
        #[arg(long, value_enum, default_value_t = crate::sweep::Format::Text)]
        format: crate::sweep::Format,
        /// Join these `--format json` results (one per shard); exit 1 if any seed failed.
        #[arg(long, num_args = 1.., conflicts_with_all = ["scenario", "seeds", "shard"])]
        merge: Vec<PathBuf>,
    },
    /// What-if table: run every combination of the --vary values at every seed (all cores) and
    /// print, per combination, acknowledged writes lost, write availability and failover time.
    Grid {
        /// A built-in name or a TOML file.
        scenario: String,
        /// KEY=V1,V2,...: a node's config line (n1.min-replicas-to-write=0,1,2; * for every
        /// node) or a scenario value (step[0].at_ms=10000,20000). Repeat for more dimensions.
        #[arg(long, required = true)]
        vary: Vec<String>,
        /// Seeds: an inclusive range 1..20, a list 3,17,42, or both.
        #[arg(long)]
        seeds: String,
        /// Worker threads (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Also write grid.csv, grid.json and grid.html into this directory.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Serve the engine on real TCP for redis-cli, redis-benchmark and client libraries.
    Serve {
        /// The port to listen on; default: the config file's `port`, else
        /// 6379 (26379 with --sentinel).
        #[arg(long)]
        port: Option<u16>,
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// A redis.conf file (with --sentinel: the sentinel.conf Sentinel rewrites).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run as Sentinel, like `redis-server sentinel.conf --sentinel`.
        #[arg(long)]
        sentinel: bool,
    },
}

pub(crate) fn bad_input(message: &str) -> ExitCode {
    err_line(&format!("redsim: {}", message));
    ExitCode::from(2)
}

/// Writes to stdout. A reader that went away (`redsim run --json | head -1`)
/// ends the program quietly, as a Unix tool killed by SIGPIPE does (141).
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        let code = if e.kind() == std::io::ErrorKind::BrokenPipe {
            141
        } else {
            1
        };
        std::process::exit(code);
    }
}

/// Writes one line to stderr; a closed stderr is not worth a panic.
pub(crate) fn err_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", text);
}

pub fn main_with(cli: Cli) -> ExitCode {
    if cli.log {
        crate::logging::install();
    }
    match cli.command {
        Command::List => {
            for b in registry::BUILTINS {
                let title = registry::load(b.name).map(|s| s.title).unwrap_or_default();
                out(&format!("{}\t{}\n", b.name, title));
            }
            ExitCode::SUCCESS
        }
        Command::Run {
            scenario,
            seed,
            json,
            report,
            history,
        } => run(&scenario, seed, json, report.as_deref(), history.as_deref()),
        Command::Replay { report } => replay(&report),
        Command::Sweep {
            scenario,
            seeds,
            jobs,
            shard,
            format,
            merge,
        } => {
            if !merge.is_empty() {
                return crate::sweep::merge(&merge, format);
            }
            let (Some(name), Some(seeds)) = (scenario, seeds) else {
                return bad_input("sweep needs a scenario and --seeds (or --merge FILE...)");
            };
            // The only place the environment is read: a Kubernetes Indexed Job's shard index.
            let job_index = std::env::var("JOB_COMPLETION_INDEX").ok();
            let shard = match shard
                .map(|s| crate::sweep::parse_shard(&s, job_index.as_deref()))
                .transpose()
            {
                Ok(s) => s,
                Err(e) => return bad_input(&e),
            };
            crate::sweep::sweep(crate::sweep::SweepArgs {
                name: &name,
                seeds: &seeds,
                jobs,
                shard,
                format,
            })
        }
        Command::Grid {
            scenario,
            vary,
            seeds,
            jobs,
            report,
        } => crate::grid::grid(crate::grid::GridArgs {
            name: &scenario,
            vary: &vary,
            seeds: &seeds,
            jobs,
            report: report.as_deref(),
        }),
        Command::Serve {
            port,
            bind,
            config,
            sentinel,
        } => serve(&bind, port, config.as_deref(), sentinel),
    }
}

fn run(
    name: &str,
    seed: Option<u64>,
    json: bool,
    report_dir: Option<&Path>,
    history_file: Option<&Path>,
) -> ExitCode {
    let scenario = match registry::load(name) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let seed = seed.unwrap_or_else(|| scenario.seeds.first().copied().unwrap_or(1));
    let output = match runner::run(&scenario, name, seed) {
        Ok(o) => o,
        Err(e) => return bad_input(&format!("{}: {}", name, e)),
    };
    if !output.step_errors.is_empty() {
        for message in step_error_lines(name, &output.step_errors) {
            err_line(&format!("redsim: {}", message));
        }
        return ExitCode::from(2);
    }
    if let Some(dir) = report_dir {
        if let Err(e) = write_report_dir(dir, &output) {
            return bad_input(&format!("{}: {}", dir.display(), e));
        }
    }
    if let Some(path) = history_file {
        if let Err(e) = write_history_file(path, &output) {
            return bad_input(&format!("{}: {}", path.display(), e));
        }
    }
    if json {
        out(&format!(
            "{}\n",
            redsim_reports::json::to_json_pretty(&output.report)
        ));
    } else {
        out(&redsim_reports::summary::summary(&output.report));
    }
    if output.report.passed {
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

fn write_history_file(path: &Path, out: &runner::RunOutput) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    crate::history_file::write_history(&out.history, out.end_us, &mut file)?;
    std::io::Write::flush(&mut file)
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
    let output = match runner::run(&scenario, &recorded.scenario, recorded.seed) {
        Ok(o) => o,
        Err(e) => return bad_input(&e),
    };
    if output.report.trace_hash == recorded.trace_hash {
        out(&format!(
            "replay: {} seed {}: trace hash {} matches\n",
            recorded.scenario, recorded.seed, recorded.trace_hash
        ));
        ExitCode::SUCCESS
    } else {
        out(&format!(
            "replay: {} seed {}: DIVERGED: recorded {} but this build gives {}\n",
            recorded.scenario, recorded.seed, recorded.trace_hash, output.report.trace_hash
        ));
        ExitCode::from(1)
    }
}

fn serve(bind: &str, port: Option<u16>, config: Option<&Path>, sentinel: bool) -> ExitCode {
    let mut lines: Vec<String> = Vec::new();
    if let Some(path) = config {
        match std::fs::read_to_string(path) {
            Ok(text) => lines = text.lines().map(str::to_string).collect(),
            Err(e) => return bad_input(&format!("{}: {}", path.display(), e)),
        }
    }
    let mut parsed = match redsim_engine::Config::from_conf_lines(&lines) {
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
    let names = |option: &str| {
        lines.iter().any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(option))
        })
    };
    if !names("dir") {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| ".".into());
        if let Err(e) = parsed.set("dir", &[cwd]) {
            return bad_input(&format!("dir: {:?}", e));
        }
    }
    // The command line wins over the file; Sentinel's own default is 26379.
    let port = match port {
        Some(p) => p,
        None if names("port") => parsed
            .get("port")
            .and_then(|p| p.parse().ok())
            .unwrap_or(6379),
        None if sentinel => redsim_engine::sentinel::DEFAULT_PORT,
        None => 6379,
    };
    let result = if sentinel {
        let Some(path) = config else {
            err_line("Sentinel needs config file on disk to save state. Exiting...");
            return ExitCode::from(1);
        };
        crate::serve::serve_sentinel(bind, port, parsed, path)
    } else {
        crate::serve::serve(bind, port, parsed)
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            err_line(&format!("redsim: serve {}:{}: {}", bind, port, e));
            ExitCode::from(1)
        }
    }
}
