//! Every built-in scenario's HTML report, as `redsim run NAME --seed 1 --report DIR` writes
//! it, opens in headless Chromium: the page is not blank, it has the charts the scenario
//! should show, and the browser's console reports no error.
//!
//! Without Chromium the test says so loudly and passes, except in CI (CI=true), where a
//! missing browser fails it: .ci/run installs one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redsim_scenarios::registry;

/// The charts (svg ids without "svg-") each built-in scenario's report must have, exactly.
const EXPECTED_CHARTS: &[(&str, &[&str])] = &[
    (
        "aof-fsync-loss",
        &["latency", "throughput", "lost-writes", "memory", "roles"],
    ),
    (
        "aof-rewrite-crash",
        &["latency", "throughput", "memory", "roles"],
    ),
    (
        "backlog-overflow",
        &[
            "latency",
            "throughput",
            "repl-offset",
            "repl-lag",
            "memory",
            "roles",
        ],
    ),
    (
        "bigkey-delete",
        &["latency", "throughput", "memory", "roles"],
    ),
    (
        "fork-latency-thp",
        &["latency", "throughput", "memory", "roles"],
    ),
    (
        "min-replicas-to-write",
        &[
            "latency",
            "throughput",
            "repl-offset",
            "repl-lag",
            "memory",
            "roles",
        ],
    ),
    (
        "swap-latency",
        &["latency", "throughput", "memory", "roles"],
    ),
];

/// What a browser launch may take before the test gives up on it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The Chromium binary on PATH, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

/// Runs a command with a deadline; returns (stdout, stderr).
fn run_with_timeout(cmd: &mut Command, what: &str) -> (String, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {}", what, e));
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let out_reader =
        std::thread::spawn(move || std::io::read_to_string(&mut out).unwrap_or_default());
    let err_reader =
        std::thread::spawn(move || std::io::read_to_string(&mut err).unwrap_or_default());
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}: no exit within {:?}", what, BROWSER_TIMEOUT);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        out_reader.join().expect("reader"),
        err_reader.join().expect("reader"),
    )
}

/// Opens `page` in headless Chromium: `--dump-dom` (returns the DOM and the console lines of
/// the browser's log), or `--screenshot=PATH`.
fn open(browser: &Path, profile: &Path, page: &Path, mode: &str) -> (String, Vec<String>) {
    let url = format!("file://{}", page.display());
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
    ])
    .args([
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(mode)
    .arg(&url);
    let (dom, log) = run_with_timeout(&mut cmd, &format!("chromium {} {}", mode, url));
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    (dom, console)
}

/// The ids of the page's <svg> elements, without the "svg-" prefix, in page order.
fn svg_ids(dom: &str) -> Vec<String> {
    dom.split("<svg")
        .skip(1)
        .filter_map(|s| s.split("id=\"").nth(1)?.split('"').next())
        .map(|id| id.trim_start_matches("svg-").to_string())
        .collect()
}

/// The charts the report's own data calls for: what any scenario's report must have.
fn charts_from_report(report: &serde_json::Value) -> Vec<&'static str> {
    let h = &report["history"];
    let mut charts = Vec::new();
    if h["ok"].as_u64().unwrap_or(0) + h["fail"].as_u64().unwrap_or(0) > 0 {
        charts.extend(["latency", "throughput"]);
    }
    if h["acked_writes_lost"].as_u64().unwrap_or(0) > 0 {
        charts.push("lost-writes");
    }
    let nodes = report["series"]["nodes"].as_object();
    if nodes.is_some_and(|n| {
        n.values().any(|s| {
            s["role"]
                .as_array()
                .is_some_and(|r| r.iter().any(|v| v == "slave"))
        })
    }) {
        charts.extend(["repl-offset", "repl-lag"]);
    }
    if nodes.is_some_and(|n| {
        n.values().any(|s| {
            s["rss_bytes"]
                .as_array()
                .is_some_and(|r| r.iter().any(|v| !v.is_null()))
        })
    }) {
        charts.push("memory");
    }
    charts.push("roles");
    charts
}

/// The console check can fail: a page that logs an error and throws is caught.
fn assert_console_is_watched(browser: &Path, dir: &Path) {
    let page = dir.join("probe.html");
    std::fs::write(&page, "<!DOCTYPE html><html><body><p>probe</p><script>console.error('redsim-probe'); notDefined();</script></body></html>").expect("write probe");
    let (dom, console) = open(browser, &dir.join("profile-probe"), &page, "--dump-dom");
    assert!(
        dom.contains("<p>probe</p>"),
        "the browser printed no DOM: {}",
        dom
    );
    assert!(
        console.iter().any(|l| l.contains("redsim-probe"))
            && console.iter().any(|l| l.contains("Uncaught")),
        "console errors are not captured: {:?}",
        console
    );
}

fn check_scenario(browser: &Path, dir: &Path, name: &str) {
    let out_dir = dir.join(name);
    let run = Command::new(env!("CARGO_BIN_EXE_redsim"))
        .args(["run", name, "--seed", "1", "--report"])
        .arg(&out_dir)
        .output()
        .expect("redsim runs");
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "{}: redsim run exited {:?}: {}",
        name,
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let page = out_dir.join("report.html");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    let (dom, console) = open(
        browser,
        &dir.join(format!("profile-{}", name)),
        &page,
        "--dump-dom",
    );
    assert!(
        console.is_empty(),
        "{}: console messages: {:?}",
        name,
        console
    );
    assert!(
        dom.contains("<h1>") && dom.contains("id=\"charts\"") && dom.contains("</html>"),
        "{}: blank or cut page ({} bytes)",
        name,
        dom.len()
    );
    for bad in ["Some(", "None", "{ "] {
        assert!(
            !dom.contains(bad),
            "{}: Rust Debug text {:?} in the page",
            name,
            bad
        );
    }
    let ids = svg_ids(&dom);
    let expected = EXPECTED_CHARTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.to_vec());
    if let Some(expected) = &expected {
        assert_eq!(&ids, expected, "{}: charts", name);
    }
    let mut wanted = charts_from_report(&report);
    wanted.sort();
    let mut drawn = ids.clone();
    drawn.sort();
    assert_eq!(
        drawn, wanted,
        "{}: the charts its report's data calls for",
        name
    );
    for id in &ids {
        let svg = dom
            .split(&format!("<svg id=\"svg-{}\"", id))
            .nth(1)
            .and_then(|s| s.split("</svg>").next())
            .unwrap_or("");
        assert!(
            svg.contains("<path") || svg.contains("<rect class=\"role"),
            "{}: chart {} draws nothing",
            name,
            id
        );
        assert!(
            !svg.contains("class=\"nodata\""),
            "{}: chart {} is empty",
            name,
            id
        );
    }
    let shot = out_dir.join("report.png");
    let (_, console) = open(
        browser,
        &dir.join(format!("profile-{}-shot", name)),
        &page,
        &format!("--screenshot={}", shot.display()),
    );
    assert!(
        console.is_empty(),
        "{}: console messages: {:?}",
        name,
        console
    );
    // A blank 1200x3000 page compresses to a few KB; a report with charts to far more.
    let png_bytes = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        png_bytes > 40_000,
        "{}: the screenshot looks blank ({} bytes)",
        name,
        png_bytes
    );
}

#[test]
fn every_builtin_report_opens_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            !in_ci(),
            "CI=true but no chromium on PATH: .ci/run installs it (apt-get install -y chromium)"
        );
        eprintln!("\n!!!!! SKIPPED: every_builtin_report_opens_in_headless_chromium needs chromium on PATH (apt-get install -y chromium) !!!!!\n");
        return;
    };
    let dir = std::env::temp_dir().join(format!("redsim-browser-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    assert_console_is_watched(&browser, &dir);
    for b in registry::BUILTINS {
        check_scenario(&browser, &dir, b.name);
    }
    let known: Vec<&str> = registry::BUILTINS.iter().map(|b| b.name).collect();
    for (name, _) in EXPECTED_CHARTS {
        assert!(
            known.contains(name),
            "EXPECTED_CHARTS names {}, which is not a built-in scenario",
            name
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
