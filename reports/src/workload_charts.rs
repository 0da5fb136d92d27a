//! The per-workload charts: latency (p50, p99, max) and throughput bucket by bucket, one colour
//! per workload, so two workloads the scenario sets side by side (DEL's clients and UNLINK's,
//! before a fork and during it) compare at a glance; and the acknowledged writes lost, by when
//! they were acknowledged.
//!
//! Rationale: the scenario's own comparison is between workloads, so a line per workload says
//! more than one line for all operations, and a 100 ms bucket ([`crate::model::bucket_ms_for`])
//! shows a half-second stall as the stall it is.

use crate::charts::{
    gapped_bucket_path, log_y_axis, nice_step, node_class, step_bucket_path, time_chart,
    write_no_data, write_series_path, write_y_tick, TimeAxis,
};
use crate::model::{Report, WorkloadSeries};

/// One of the latency chart's three quantities, each in its own line style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyLine {
    P50,
    P99,
    Max,
}

impl LatencyLine {
    pub const ALL: [LatencyLine; 3] = [LatencyLine::P99, LatencyLine::Max, LatencyLine::P50];

    /// The CSS class of the line style, and the legend's name.
    pub fn class(self) -> &'static str {
        match self {
            LatencyLine::P50 => "lat-p50",
            LatencyLine::P99 => "lat-p99",
            LatencyLine::Max => "lat-max",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LatencyLine::P50 => "p50",
            LatencyLine::P99 => "p99",
            LatencyLine::Max => "max",
        }
    }

    fn values(self, w: &WorkloadSeries) -> &[Option<f64>] {
        match self {
            LatencyLine::P50 => &w.latency_p50_ms,
            LatencyLine::P99 => &w.latency_p99_ms,
            LatencyLine::Max => &w.latency_max_ms,
        }
    }
}

/// The bucket width of the per-workload series, in ms.
pub fn bucket_ms(report: &Report) -> u64 {
    report
        .series
        .as_ref()
        .and_then(|s| s.bucket_ms)
        .unwrap_or(1000)
        .max(1)
}

/// "100 ms" or "1 s": a bucket's width for titles and units.
pub fn bucket_text(report: &Report) -> String {
    match bucket_ms(report) {
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{} ms", ms),
    }
}

/// The workloads with a series, each with its colour index, in the scenario's order (as its
/// resolved form lists them), then any other the series names.
///
/// Colours: when each workload targets a node of its own, a workload takes its node's colour,
/// so the latency of `big_writers` and the memory of `big` read alike; otherwise workloads take
/// the colours after the nodes', so no workload looks like a node it is not about.
pub fn workloads(report: &Report) -> Vec<(usize, &str, &WorkloadSeries)> {
    let Some(series) = &report.series else {
        return Vec::new();
    };
    let listed = report
        .scenario_resolved
        .get("workload")
        .and_then(|w| w.as_array());
    let mut names: Vec<&str> = listed
        .into_iter()
        .flatten()
        .filter_map(|w| w.get("name")?.as_str())
        .filter(|n| series.workloads.contains_key(*n))
        .collect();
    names.extend(
        series
            .workloads
            .keys()
            .map(String::as_str)
            .filter(|n| !names.contains(n))
            .collect::<Vec<_>>(),
    );
    let nodes = crate::charts::series_nodes(report);
    let target = |name: &str| -> Option<usize> {
        let spec = listed?
            .iter()
            .find(|w| w.get("name").and_then(|n| n.as_str()) == Some(name))?;
        let target = spec.get("target")?.as_str()?;
        nodes.iter().find(|(_, n)| n == target).map(|(i, _)| *i)
    };
    let targets: Vec<Option<usize>> = names.iter().map(|n| target(n)).collect();
    let own_node = targets.iter().all(Option::is_some)
        && (1..targets.len()).all(|i| !targets[..i].contains(&targets[i]));
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            (
                if own_node {
                    targets[i].unwrap_or(i)
                } else {
                    nodes.len() + i
                },
                n,
                &series.workloads[n],
            )
        })
        .collect()
}

/// Whether the report has per-workload series with any completed operation.
pub fn has_operations(report: &Report) -> bool {
    workloads(report)
        .iter()
        .any(|(_, _, w)| w.ok.iter().chain(&w.fail).any(|n| *n > 0))
}

/// The workloads with a lost write, with their lost writes per bucket.
pub fn lost_lines(report: &Report) -> Vec<(usize, &str, Vec<f64>)> {
    workloads(report)
        .into_iter()
        .filter(|(_, _, w)| w.acked_writes_lost.iter().any(|n| *n > 0))
        .map(|(i, name, w)| {
            (
                i,
                name,
                w.acked_writes_lost.iter().map(|n| *n as f64).collect(),
            )
        })
        .collect()
}

/// Whether any workload had a failed operation (the throughput chart then draws failures).
pub fn any_failed(report: &Report) -> bool {
    workloads(report)
        .iter()
        .any(|(_, _, w)| w.fail.iter().any(|n| *n > 0))
}

/// Dots for values with no neighbour, which a path alone would not show.
fn isolated_dots(out: &mut String, class: &str, values: &[Option<f64>], points: &[(f64, f64)]) {
    let present: Vec<bool> = values
        .iter()
        .map(|v| v.is_some_and(|v| v.is_finite() && v > 0.0))
        .collect();
    let mut k = 0;
    let mut lone = Vec::new();
    for (i, here) in present.iter().enumerate() {
        if !here {
            continue;
        }
        let before = i > 0 && present[i - 1];
        let after = present.get(i + 1).copied().unwrap_or(false);
        if !before && !after {
            lone.push(points[k]);
        }
        k += 1;
    }
    write_series_path(out, class, "", &lone, true);
}

/// Latency per bucket, one colour per workload: p99 solid, max dotted, p50 dashed, log scale.
pub fn latency_chart(report: &Report) -> String {
    let axis = TimeAxis::new(report);
    let bucket = bucket_ms(report) as f64;
    let title = format!(
        "latency of the operations completed in each {} per workload: p50, p99 and max (ms)",
        bucket_text(report)
    );
    time_chart(
        report,
        "latency",
        &title,
        "latency, ms (log scale)",
        |out, frame| {
            let lines = workloads(report);
            let all: Vec<f64> = lines
                .iter()
                .flat_map(|(_, _, w)| {
                    LatencyLine::ALL
                        .into_iter()
                        .flat_map(move |l| l.values(w).iter().flatten().copied())
                })
                .collect();
            let Some(y) = log_y_axis(out, frame, &all) else {
                return write_no_data(out, frame.top, frame.bottom, "no operation completed");
            };
            for (i, _, w) in &lines {
                for line in LatencyLine::ALL {
                    let class = format!("{} {}", node_class(*i), line.class());
                    let (d, points) = gapped_bucket_path(&axis, line.values(w), bucket, y);
                    write_series_path(out, &class, &d, &[], false);
                    isolated_dots(out, &class, line.values(w), &points);
                }
            }
        },
    )
}

/// Linear y ticks from zero to a round maximum at or above `max`; returns the y mapping.
fn linear_y_axis(
    out: &mut String,
    top: f64,
    bottom: f64,
    max: f64,
    label: impl Fn(f64) -> String,
) -> impl Fn(f64) -> f64 {
    let step = nice_step(max.max(1.0), 4.0);
    let y_max = ((max / step).ceil() * step).max(step);
    let y = move |v: f64| bottom - (bottom - top) * v.clamp(0.0, y_max) / y_max;
    let mut tick = 0.0;
    while tick <= y_max * 1.0001 {
        write_y_tick(out, y(tick), &label(tick));
        tick += step;
    }
    y
}

/// Completed operations per workload as a rate (ops/s) per bucket: ok solid, failed dashed
/// (only for a workload with failures).
pub fn throughput_chart(report: &Report) -> String {
    let axis = TimeAxis::new(report);
    let bucket = bucket_ms(report) as f64;
    let title = format!(
        "throughput per {} per workload: ok and failed operations (ops/s)",
        bucket_text(report)
    );
    time_chart(report, "throughput", &title, "ops/s", |out, frame| {
        let rate = |counts: &[u64]| -> Vec<f64> {
            counts.iter().map(|n| *n as f64 * 1000.0 / bucket).collect()
        };
        let lines: Vec<(usize, Vec<f64>, Vec<f64>)> = workloads(report)
            .into_iter()
            .map(|(i, _, w)| (i, rate(&w.ok), rate(&w.fail)))
            .collect();
        let max = lines
            .iter()
            .flat_map(|(_, ok, fail)| ok.iter().chain(fail))
            .copied()
            .fold(0.0, f64::max);
        if max == 0.0 {
            return write_no_data(out, frame.top, frame.bottom, "no operation completed");
        }
        let y = linear_y_axis(out, frame.top, frame.bottom, max, |v| format!("{}", v));
        for (i, ok, fail) in &lines {
            write_series_path(
                out,
                &format!("{} tp-ok", node_class(*i)),
                &step_bucket_path(&axis, ok, bucket, &y),
                &[],
                false,
            );
            if fail.iter().any(|v| *v > 0.0) {
                write_series_path(
                    out,
                    &format!("{} tp-failed", node_class(*i)),
                    &step_bucket_path(&axis, fail, bucket, &y),
                    &[],
                    false,
                );
            }
        }
    })
}

/// Acknowledged writes found lost, per workload, in the bucket in which each was acknowledged.
pub fn lost_writes_chart(report: &Report) -> String {
    let axis = TimeAxis::new(report);
    let bucket = bucket_ms(report) as f64;
    let title = format!(
        "acknowledged writes lost, per workload, by when they were acknowledged (writes per {})",
        bucket_text(report)
    );
    let y_title = format!("lost writes / {}", bucket_text(report));
    time_chart(report, "lost-writes", &title, &y_title, |out, frame| {
        let lines = lost_lines(report);
        let max = lines
            .iter()
            .flat_map(|(_, _, v)| v.iter())
            .copied()
            .fold(0.0, f64::max);
        if max == 0.0 {
            return write_no_data(
                out,
                frame.top,
                frame.bottom,
                "no acknowledged write was lost",
            );
        }
        let y = linear_y_axis(out, frame.top, frame.bottom, max, |v| format!("{}", v));
        for (i, _, values) in &lines {
            write_series_path(
                out,
                &format!("{} tp-ok", node_class(*i)),
                &step_bucket_path(&axis, values, bucket, &y),
                &[],
                false,
            );
        }
    })
}
