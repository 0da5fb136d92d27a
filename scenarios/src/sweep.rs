//! `redsim sweep`: many seeds on every core, results a CI can read.
//!
//! Failing seeds and their replay commands go to stdout whatever stdout
//! is (a terminal, a file, a CI log); progress goes to stderr. `--format
//! json` prints one document a later `sweep --merge` joins with the other
//! shards'; `--format junit` one JUnit XML test suite, a test case per seed.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::cli::{bad_input, out};
use crate::{registry, runner};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

/// One seed's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    pub seed: u64,
    pub passed: bool,
    /// Why it failed: the failed expectations, or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    pub wall_ms: u64,
}

/// What `--format json` prints, and what `--merge` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    pub redsim_version: String,
    pub scenario: String,
    /// "I/N" when this was one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Every seed this run (or these shards) ran, ascending.
    pub seeds: Vec<u64>,
    pub passed: u64,
    pub failed: u64,
    pub results: Vec<SeedResult>,
}

impl SweepResult {
    fn new(scenario: &str, shard: Option<String>, mut results: Vec<SeedResult>) -> SweepResult {
        results.sort_by_key(|r| r.seed);
        let failed = results.iter().filter(|r| !r.passed).count() as u64;
        SweepResult {
            redsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: scenario.to_string(),
            shard,
            seeds: results.iter().map(|r| r.seed).collect(),
            passed: results.len() as u64 - failed,
            failed,
            results,
        }
    }

    fn exit_code(&self) -> ExitCode {
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

/// Parses "A..B" (inclusive), "3,17,42", or a mix ("1..5,9").
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let mut seeds = Vec::new();
    for part in text.split(',').map(str::trim) {
        if let Some((a, b)) = part.split_once("..") {
            let a: u64 = a
                .trim()
                .parse()
                .map_err(|_| format!("--seeds {}: '{}' is not a seed", text, a))?;
            let b = b.trim().trim_start_matches('=');
            let b: u64 = b
                .parse()
                .map_err(|_| format!("--seeds {}: '{}' is not a seed", text, b))?;
            if a > b {
                return Err(format!("--seeds {}: the range {} is empty", text, part));
            }
            seeds.extend(a..=b);
        } else {
            let seed = part.parse().map_err(|_| {
                format!(
                    "--seeds {}: '{}' is not a seed (expected A..B or A,B,C)",
                    text, part
                )
            })?;
            seeds.push(seed);
        }
    }
    seeds.sort_unstable();
    seeds.dedup();
    Ok(seeds)
}

/// Parses "I/N" (1-based), or "auto/N": the index from a Kubernetes
/// Indexed Job's JOB_COMPLETION_INDEX (0-based), given here as `job_index`
/// so that only the CLI reads the environment.
pub fn parse_shard(text: &str, job_index: Option<&str>) -> Result<(u64, u64), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("--shard {}: expected I/N or auto/N", text))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("--shard {}: N must be a number", text))?;
    let i: u64 = if i == "auto" {
        let index = job_index.ok_or_else(|| {
            format!(
                "--shard {}: 'auto' reads JOB_COMPLETION_INDEX, which is not set",
                text
            )
        })?;
        let index: u64 = index.trim().parse().map_err(|_| {
            format!(
                "--shard {}: JOB_COMPLETION_INDEX={} is not a number",
                text, index
            )
        })?;
        index + 1
    } else {
        i.trim()
            .parse()
            .map_err(|_| format!("--shard {}: I must be a number (or auto)", text))?
    };
    if n == 0 || i == 0 || i > n {
        return Err(format!(
            "--shard {}: need 1 <= I <= N (auto: 0 <= JOB_COMPLETION_INDEX < N)",
            text
        ));
    }
    Ok((i, n))
}

/// A short description of a seed list: "1..20", "2..98 step 4", or "3,17,42".
pub fn describe_seeds(seeds: &[u64]) -> String {
    match seeds {
        [] => "none".into(),
        [one] => one.to_string(),
        [first, second, ..] => {
            let step = second - first;
            let last = seeds[seeds.len() - 1];
            let even = seeds.windows(2).all(|w| w[1] - w[0] == step);
            match (even, step) {
                (true, 1) => format!("{}..{}", first, last),
                (true, _) if seeds.len() > 3 => format!("{}..{} step {}", first, last, step),
                _ => seeds
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            }
        }
    }
}

pub struct SweepArgs<'a> {
    pub name: &'a str,
    pub seeds: &'a str,
    pub jobs: Option<usize>,
    pub shard: Option<(u64, u64)>,
    pub format: Format,
}

pub fn sweep(args: SweepArgs) -> ExitCode {
    let scenario = match registry::load(args.name) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let all = match parse_seeds(args.seeds) {
        Ok(s) => s,
        Err(e) => return bad_input(&e),
    };
    let (index, count) = args.shard.unwrap_or((1, 1));
    let seeds: Vec<u64> = all
        .iter()
        .enumerate()
        .filter(|(k, _)| *k as u64 % count == index - 1)
        .map(|(_, s)| *s)
        .collect();
    let shard = args.shard.map(|(i, n)| format!("{}/{}", i, n));
    if let (Format::Text, Some(shard)) = (args.format, &shard) {
        out(&format!(
            "shard {}: {} seeds: {}\n",
            shard,
            seeds.len(),
            describe_seeds(&seeds)
        ));
    }
    let results = run_seeds(&scenario, args.name, &seeds, args.jobs, args.format);
    let result = SweepResult::new(args.name, shard, results);
    print_result(&result, args.format);
    result.exit_code()
}

/// Runs `seeds` on `jobs` threads; a failure is printed as soon as it is
/// known (stdout in text format, stderr otherwise so the document stays whole).
fn run_seeds(
    scenario: &crate::spec::Scenario,
    name: &str,
    seeds: &[u64],
    jobs: Option<usize>,
    format: Format,
) -> Vec<SeedResult> {
    let work = |i: usize| {
        let seed = seeds[i];
        let result = run_one(scenario, name, seed);
        let line = result.why.as_ref().map(|why| {
            format!(
                "FAIL seed {}: {}\n  replay: redsim run {} --seed {}\n",
                seed, why, name, seed
            )
        });
        (result, line)
    };
    let print = |line: &str| {
        if format == Format::Text {
            out(line)
        } else {
            crate::cli::err_line(line.trim_end())
        }
    };
    let words = ProgressWords {
        command: "sweep",
        unit: "seeds",
        failed: "failed",
    };
    run_parallel(seeds.len(), jobs, &words, work, print)
}

/// How progress reads: "<command>: 40/400 <unit>, 1 <failed>".
pub(crate) struct ProgressWords<'a> {
    pub command: &'a str,
    pub unit: &'a str,
    pub failed: &'a str,
}

/// Runs `work(0..total)` on `jobs` threads (default: every core), with a progress bar on a
/// terminal and a line at every tenth of the run otherwise ("sweep: 40/400 seeds, 1 failed").
/// `work` returns its result and, for a failure, a line that `print` shows at once (above the
/// bar). The results come back in index order, whatever order the threads finished in.
pub(crate) fn run_parallel<R: Send>(
    total: usize,
    jobs: Option<usize>,
    words: &ProgressWords,
    work: impl Fn(usize) -> (R, Option<String>) + Sync,
    print: impl Fn(&str) + Sync,
) -> Vec<R> {
    let jobs = jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, total.max(1));
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    // A CI log is no terminal: a bar would be noise there, so plain lines instead.
    let tty = std::io::stderr().is_terminal();
    if !tty {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {}, {{msg}}",
            words.unit
        ))
        .expect("valid template"),
    );
    let next = AtomicU64::new(0);
    let results = Mutex::new(Vec::<(usize, R)>::new());
    let failed = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst) as usize;
                if i >= total {
                    return;
                }
                let (result, line) = work(i);
                if let Some(line) = line {
                    bar.suspend(|| print(&line));
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                let done = {
                    let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
                    all.push((i, result));
                    all.len()
                };
                if !tty {
                    plain_progress(done, total, words, failed.load(Ordering::SeqCst));
                }
                bar.inc(1);
                bar.set_message(format!(
                    "{} {}",
                    failed.load(Ordering::SeqCst),
                    words.failed
                ));
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// "sweep: 40/400 seeds, 1 failed" on stderr at every tenth of the run.
fn plain_progress(done: usize, total: usize, words: &ProgressWords, failed: u64) {
    let step = total.div_ceil(10).max(1);
    if done.is_multiple_of(step) || done == total {
        crate::cli::err_line(&format!(
            "{}: {}/{} {}, {} {}",
            words.command, done, total, words.unit, failed, words.failed
        ));
    }
}

fn run_one(scenario: &crate::spec::Scenario, name: &str, seed: u64) -> SeedResult {
    let started = std::time::Instant::now();
    let why = match runner::run(scenario, name, seed) {
        Ok(o) if o.report.passed => None,
        Ok(o) => {
            let mut failed: Vec<String> = o
                .report
                .expectations
                .iter()
                .filter(|e| !e.passed)
                .map(|e| e.that.clone())
                .collect();
            failed.extend(
                o.step_errors
                    .iter()
                    .map(|(i, m)| format!("step[{}]: {}", i, m)),
            );
            Some(failed.join("; "))
        }
        Err(e) => Some(e),
    };
    SeedResult {
        seed,
        passed: why.is_none(),
        replay: why
            .as_ref()
            .map(|_| format!("redsim run {} --seed {}", name, seed)),
        why,
        wall_ms: started.elapsed().as_millis() as u64,
    }
}

fn print_result(result: &SweepResult, format: Format) {
    match format {
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(result).expect("serialisable")
        )),
        Format::Junit => out(&junit(result)),
        Format::Text => {
            let shard = result
                .shard
                .as_ref()
                .map(|s| format!(" (shard {})", s))
                .unwrap_or_default();
            let mut text = format!(
                "sweep {}{}: {} seeds, {} passed, {} failed\n",
                result.scenario,
                shard,
                result.seeds.len(),
                result.passed,
                result.failed
            );
            let failing: Vec<String> = result
                .results
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.seed.to_string())
                .collect();
            if !failing.is_empty() {
                text.push_str(&format!("failing seeds: {}\n", failing.join(",")));
            }
            out(&text);
        }
    }
}

fn xml_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&apos;".into(),
            c if c.is_control() && c != '\n' && c != '\t' => " ".into(),
            c => c.to_string(),
        })
        .collect()
}

/// One JUnit test suite: a test case per seed, failures with their replay command.
pub fn junit(result: &SweepResult) -> String {
    let name = xml_escape(&result.scenario);
    let total_s: f64 = result
        .results
        .iter()
        .map(|r| r.wall_ms as f64 / 1000.0)
        .sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!("<testsuite name=\"redsim sweep {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\">\n", name, result.seeds.len(), result.failed, total_s));
    for r in &result.results {
        let time = r.wall_ms as f64 / 1000.0;
        xml.push_str(&format!(
            "  <testcase classname=\"redsim.{}\" name=\"seed {}\" time=\"{:.3}\"",
            name, r.seed, time
        ));
        match (&r.why, &r.replay) {
            (Some(why), replay) => {
                let replay = replay.as_deref().unwrap_or_default();
                xml.push_str(&format!(
                    ">\n    <failure message=\"{}\">replay: {}</failure>\n  </testcase>\n",
                    xml_escape(why),
                    xml_escape(replay)
                ));
            }
            (None, _) => xml.push_str("/>\n"),
        }
    }
    xml.push_str("</testsuite>\n");
    xml
}

/// `sweep --merge FILE...`: the shards' JSON results as one summary.
pub fn merge(files: &[std::path::PathBuf], format: Format) -> ExitCode {
    let mut scenario: Option<String> = None;
    let mut by_seed: BTreeMap<u64, SeedResult> = BTreeMap::new();
    for path in files {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::from_str::<SweepResult>(&t)
                    .map_err(|e| format!("{}:{}: {}", e.line(), e.column(), e))
            });
        let shard = match parsed {
            Ok(s) => s,
            Err(e) => {
                return bad_input(&format!(
                    "{}: {} (expected the output of `redsim sweep --format json`)",
                    path.display(),
                    e
                ))
            }
        };
        match &scenario {
            Some(name) if *name != shard.scenario => {
                return bad_input(&format!(
                    "{}: scenario '{}', but the other files are '{}'",
                    path.display(),
                    shard.scenario,
                    name
                ));
            }
            _ => scenario = Some(shard.scenario.clone()),
        }
        for r in shard.results {
            by_seed.insert(r.seed, r);
        }
    }
    let Some(scenario) = scenario else {
        return bad_input("--merge needs at least one file");
    };
    let result = SweepResult::new(&scenario, None, by_seed.into_values().collect());
    if format == Format::Text {
        for r in result.results.iter().filter(|r| !r.passed) {
            let replay = r.replay.clone().unwrap_or_default();
            out(&format!(
                "FAIL seed {}: {}\n  replay: {}\n",
                r.seed,
                r.why.as_deref().unwrap_or_default(),
                replay
            ));
        }
        out(&format!(
            "merged {} files: seeds {}\n",
            files.len(),
            describe_seeds(&result.seeds)
        ));
    }
    print_result(&result, format);
    result.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_lists_ranges_and_shards() {
        assert_eq!(parse_seeds("1..4"), Ok(vec![1, 2, 3, 4]));
        assert_eq!(parse_seeds("3,17,42"), Ok(vec![3, 17, 42]));
        assert_eq!(parse_seeds("9, 1..3,2"), Ok(vec![1, 2, 3, 9]));
        assert!(parse_seeds("5..1").is_err());
        assert!(parse_seeds("3,x").is_err());
        assert_eq!(parse_shard("2/4", None), Ok((2, 4)));
        assert!(parse_shard("0/4", None).is_err());
        assert_eq!(parse_shard("auto/4", Some("0")), Ok((1, 4)));
        assert_eq!(parse_shard("auto/4", Some("3")), Ok((4, 4)));
        assert!(parse_shard("auto/4", Some("4")).is_err());
        assert!(parse_shard("auto/4", None).is_err());
        assert_eq!(describe_seeds(&[1, 2, 3]), "1..3");
        assert_eq!(describe_seeds(&[2, 6, 10, 14]), "2..14 step 4");
        assert_eq!(describe_seeds(&[3, 17, 42]), "3,17,42");
    }

    #[test]
    fn junit_escapes_and_counts() {
        let results = vec![
            SeedResult {
                seed: 1,
                passed: true,
                why: None,
                replay: None,
                wall_ms: 5,
            },
            SeedResult {
                seed: 2,
                passed: false,
                why: Some("m1.x < 3 & \"y\"".into()),
                replay: Some("redsim run s --seed 2".into()),
                wall_ms: 7,
            },
        ];
        let xml = junit(&SweepResult::new("s", None, results));
        assert!(xml.contains("tests=\"2\" failures=\"1\""), "{}", xml);
        assert!(xml.contains("<failure message=\"m1.x &lt; 3 &amp; &quot;y&quot;\">replay: redsim run s --seed 2</failure>"), "{}", xml);
    }
}
