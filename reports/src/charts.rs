//! The inline SVG charts of the HTML report: latency and throughput per virtual second with
//! fault bands, and a role timeline per node. Plain SVG elements styled by the page's CSS; no
//! scripts, fonts or external references.
//!
//! Architecture Invariant: every chart shares one [`TimeAxis`], so a second sits at the same
//! x in every chart and the eye can drop a line from a fault band to the role lanes.

use crate::html::escape;
use crate::model::{NodeSeries, Report};
use crate::timeline::{marks, role_lanes, Mark, RoleState};
use std::fmt::Write;

/// The SVG user-space width every chart uses; CSS scales it to the page.
pub const WIDTH_PX: f64 = 1100.0;
const LEFT_PX: f64 = 120.0;
const RIGHT_PX: f64 = 24.0;
const PLOT_HEIGHT_PX: f64 = 200.0;
const AXIS_HEIGHT_PX: f64 = 34.0;
const LABEL_ROW_PX: f64 = 14.0;
/// Labels beyond this many rows share the last row rather than push the plot down forever.
const LABEL_ROWS_MAX: usize = 6;
/// An estimate of one character's width at the 11 px label font, for label placement.
const CHAR_WIDTH_PX: f64 = 6.2;
const LABEL_CHARS_MAX: usize = 48;

/// The time scale shared by all charts: [0, end_ms] onto the plot's width.
pub struct TimeAxis {
    pub end_ms: u64,
}

impl TimeAxis {
    /// Covers the run, its series and its events, and at least one second.
    pub fn new(report: &Report) -> TimeAxis {
        let series_ms = report.series.as_ref().map_or(0, |s| {
            let per_node = s.nodes.values().map(|n| {
                n.role
                    .len()
                    .max(n.master_repl_offset.len())
                    .max(n.repl_lag_bytes.len())
                    .max(n.used_memory.len())
            });
            let seconds = s
                .ok_per_s
                .len()
                .max(s.fail_per_s.len())
                .max(s.latency_p50_ms.len())
                .max(s.latency_p99_ms.len())
                .max(per_node.max().unwrap_or(0));
            let bucket_ms = s.bucket_ms.unwrap_or(1000);
            let workloads_ms = s
                .workloads
                .values()
                .map(|w| {
                    w.ok.len().max(w.fail.len()).max(w.latency_p99_ms.len()) as u64 * bucket_ms
                })
                .max()
                .unwrap_or(0);
            (seconds as u64 * 1000).max(workloads_ms)
        });
        let events_ms = report.events.iter().map(|e| e.t_ms).max().unwrap_or(0);
        TimeAxis {
            end_ms: report.virtual_ms.max(series_ms).max(events_ms).max(1000),
        }
    }

    pub(crate) fn x(&self, t_ms: f64) -> f64 {
        LEFT_PX + (WIDTH_PX - LEFT_PX - RIGHT_PX) * (t_ms / self.end_ms as f64).clamp(0.0, 1.0)
    }

    /// Tick positions in seconds, about ten across the run, on round steps.
    fn ticks_s(&self) -> Vec<u64> {
        let end_s = self.end_ms as f64 / 1000.0;
        let steps = [
            1u64, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
        ];
        let step = steps
            .iter()
            .copied()
            .find(|s| end_s / *s as f64 <= 12.0)
            .unwrap_or(((end_s / 10.0) as u64).max(1));
        (0..)
            .map(|i| i * step)
            .take_while(|t| *t as f64 <= end_s)
            .collect()
    }

    fn tick_label(&self, t_s: u64) -> String {
        if self.end_ms >= 600_000 {
            format!("{}:{:02}", t_s / 60, t_s % 60)
        } else {
            format!("{}s", t_s)
        }
    }
}

pub(crate) fn truncate(text: &str, chars_max: usize) -> String {
    if text.chars().count() <= chars_max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(chars_max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// Where a label goes: a row above the plot, and whether it hangs left of its line (near the
/// right edge) or right of it. A label stands for one mark, or in numbered mode for the marks
/// at (nearly) the same x.
struct LabelPlace {
    /// The index in the marks list of the (first) mark it stands for.
    index: usize,
    row: usize,
    x: f64,
    hang_left: bool,
    text: String,
    /// The hover text: every mark's full label.
    title: String,
}

/// Full-text labels may take this many rows; past it, or when a label would overlap another,
/// the charts number the marks instead and the page lists the numbers ([`numbered_marks`]).
const TEXT_ROWS_MAX: usize = 2;
/// Marks closer than this (px) share one numbered label ("3,4").
const SAME_X_PX: f64 = 6.0;

/// The marks in time order, each with its number (1-based), the order of the numbered labels.
fn mark_order(all: &[Mark]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|i| all[*i].start_ms);
    order
}

/// Greedy row assignment: each label (mark index, x, text, hover text) takes the first row
/// where it does not overlap the previous label in that row. Returns the places, the rows
/// used, and whether any label had to overlap another (all rows full).
fn place_rows(
    labels: Vec<(usize, f64, String, String)>,
    rows_max: usize,
) -> (Vec<LabelPlace>, usize, bool) {
    let mut row_ends: Vec<f64> = Vec::new();
    let mut places = Vec::new();
    let mut overlapped = false;
    for (index, x, text, title) in labels {
        let width = text.chars().count() as f64 * CHAR_WIDTH_PX + 6.0;
        let hang_left = x + width > WIDTH_PX - 2.0;
        let (from, to) = if hang_left {
            (x - width, x)
        } else {
            (x, x + width)
        };
        let row = match row_ends.iter().position(|end| *end + 4.0 <= from) {
            Some(row) => row,
            None if row_ends.len() < rows_max => {
                row_ends.push(f64::MIN);
                row_ends.len() - 1
            }
            None => {
                overlapped = true;
                rows_max - 1
            }
        };
        row_ends[row] = row_ends[row].max(to);
        places.push(LabelPlace {
            index,
            row,
            x,
            hang_left,
            text,
            title,
        });
    }
    (places, row_ends.len(), overlapped)
}

/// The labels above the plot: each mark's text when they fit in [`TEXT_ROWS_MAX`] rows without
/// overlapping, else numbers ("3", or "3,4" for marks at the same x) that the page's list of
/// marks explains. Returns the places, the rows used, and whether the labels are numbers.
fn place_labels(axis: &TimeAxis, all: &[Mark]) -> (Vec<LabelPlace>, usize, bool) {
    let order = mark_order(all);
    let texts = order
        .iter()
        .map(|i| {
            (
                *i,
                axis.x(all[*i].start_ms as f64),
                truncate(&all[*i].label, LABEL_CHARS_MAX),
                all[*i].label.clone(),
            )
        })
        .collect();
    let (places, rows, overlapped) = place_rows(texts, TEXT_ROWS_MAX);
    if !overlapped {
        return (places, rows, false);
    }
    // Numbered: consecutive marks within SAME_X_PX of a group's first mark share its label.
    let mut groups: Vec<(usize, f64, Vec<usize>)> = Vec::new();
    for (number, i) in order.iter().enumerate() {
        let x = axis.x(all[*i].start_ms as f64);
        match groups.last_mut() {
            Some((_, first_x, numbers)) if x - *first_x < SAME_X_PX => numbers.push(number + 1),
            _ => groups.push((*i, x, vec![number + 1])),
        }
    }
    let labels = groups
        .into_iter()
        .map(|(index, x, numbers)| {
            let title: Vec<String> = numbers
                .iter()
                .map(|n| format!("{}. {}", n, all[order[n - 1]].label))
                .collect();
            (index, x, number_text(&numbers), title.join("\n"))
        })
        .collect();
    let (places, rows, _) = place_rows(labels, LABEL_ROWS_MAX);
    (places, rows, true)
}

/// "3", "3,4", "3,4,5" or "3-9" for a run of consecutive numbers.
fn number_text(numbers: &[usize]) -> String {
    match numbers {
        [first, .., last] if numbers.len() > 3 => format!("{}-{}", first, last),
        _ => numbers
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// When the charts number their marks (too many, or too close, for their text to fit above
/// the plot): every mark with its number, in number order, for the page's list. None when the
/// charts print each mark's text.
pub fn numbered_marks(report: &Report) -> Option<Vec<(usize, Mark)>> {
    let axis = TimeAxis::new(report);
    let all = marks(report, axis.end_ms);
    let (_, _, numbered) = place_labels(&axis, &all);
    numbered.then(|| {
        mark_order(&all)
            .into_iter()
            .enumerate()
            .map(|(n, i)| (n + 1, all[i].clone()))
            .collect()
    })
}

/// The vertical frame of one time chart.
pub(crate) struct Frame {
    pub(crate) top: f64,
    pub(crate) bottom: f64,
}

impl Frame {
    fn height_px(&self) -> f64 {
        self.bottom + AXIS_HEIGHT_PX
    }
}

/// Opens an `<svg>` of the given height with an accessible title.
fn open_svg(out: &mut String, id: &str, height: f64, title: &str) {
    let _ = writeln!(
        out,
        "<svg id=\"svg-{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h:.0}\" role=\"img\" aria-label=\"{t}\">\n<title>{t}</title>",
        w = WIDTH_PX,
        h = height,
        t = escape(title)
    );
}

/// Fault bands and instantaneous marks over the plot area, behind the series.
fn write_bands(out: &mut String, axis: &TimeAxis, all: &[Mark], top: f64, bottom: f64) {
    for m in all {
        let x0 = axis.x(m.start_ms as f64);
        let title = match m.end_ms {
            Some(_) if m.open => format!("{} from {} ms (never ended)", m.label, m.start_ms),
            Some(end) => format!("{} from {} ms to {} ms", m.label, m.start_ms, end),
            None => format!("{} at {} ms", m.label, m.start_ms),
        };
        match m.end_ms {
            Some(end) => {
                let width = (axis.x(end as f64) - x0).max(1.5);
                let _ = writeln!(
                    out,
                    "<rect class=\"band band-{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                    m.kind.name(),
                    x0,
                    top,
                    width,
                    bottom - top,
                    escape(&title)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "<line class=\"mark mark-{}\" x1=\"{x0:.1}\" y1=\"{top:.1}\" x2=\"{x0:.1}\" y2=\"{bottom:.1}\"><title>{}</title></line>",
                    m.kind.name(),
                    escape(&title)
                );
            }
        }
    }
}

/// The labels above the plot, each with a leader line down to its band or mark.
fn write_labels(out: &mut String, places: &[LabelPlace], all: &[Mark], top: f64) {
    for place in places {
        let mark = &all[place.index];
        let y = 12.0 + place.row as f64 * LABEL_ROW_PX;
        let (anchor, dx) = if place.hang_left {
            ("end", -3.0)
        } else {
            ("start", 3.0)
        };
        let _ = writeln!(
            out,
            "<line class=\"leader mark-{k}\" x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{top:.1}\"/>\n<text class=\"label label-{k}\" x=\"{tx:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\"><title>{full}</title>{text}</text>",
            k = mark.kind.name(),
            x = place.x,
            y0 = y - 9.0,
            tx = place.x + dx,
            full = escape(&place.title),
            text = escape(&place.text)
        );
    }
}

/// The x axis: ticks, their labels and vertical grid lines.
fn write_time_axis(out: &mut String, axis: &TimeAxis, top: f64, bottom: f64) {
    for t_s in axis.ticks_s() {
        let x = axis.x(t_s as f64 * 1000.0);
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 14.0,
            axis.tick_label(t_s)
        );
    }
    let _ = writeln!(
        out,
        "<text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">virtual time ({})</text>",
        (LEFT_PX + WIDTH_PX - RIGHT_PX) / 2.0,
        bottom + 30.0,
        if axis.end_ms >= 600_000 { "min:s" } else { "s" }
    );
}

fn write_frame(out: &mut String, top: f64, bottom: f64, y_title: &str) {
    let _ = writeln!(
        out,
        "<rect class=\"frame\" x=\"{LEFT_PX}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
        WIDTH_PX - LEFT_PX - RIGHT_PX,
        bottom - top
    );
    let mid = (top + bottom) / 2.0;
    let _ = writeln!(
        out,
        "<text class=\"axis-title\" x=\"16\" y=\"{mid:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {mid:.1})\">{}</text>",
        escape(y_title)
    );
}

pub(crate) fn write_no_data(out: &mut String, top: f64, bottom: f64, text: &str) {
    let _ = writeln!(
        out,
        "<text class=\"nodata\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        (LEFT_PX + WIDTH_PX - RIGHT_PX) / 2.0,
        (top + bottom) / 2.0,
        escape(text)
    );
}

/// A horizontal grid line with its value label on the left.
pub(crate) fn write_y_tick(out: &mut String, y: f64, label: &str) {
    let _ = writeln!(
        out,
        "<line class=\"grid\" x1=\"{LEFT_PX}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        WIDTH_PX - RIGHT_PX,
        LEFT_PX - 6.0,
        y + 4.0,
        escape(label)
    );
}

/// The shared skeleton of a time chart: svg, label rows, bands, axis. `plot` draws the
/// y axis and the series between the bands and the labels.
pub(crate) fn time_chart(
    report: &Report,
    id: &str,
    title: &str,
    y_title: &str,
    plot: impl FnOnce(&mut String, &Frame),
) -> String {
    let axis = TimeAxis::new(report);
    let all = marks(report, axis.end_ms);
    let (places, rows, _) = place_labels(&axis, &all);
    let top = 8.0 + rows as f64 * LABEL_ROW_PX;
    let frame = Frame {
        top,
        bottom: top + PLOT_HEIGHT_PX,
    };
    let mut out = String::new();
    open_svg(&mut out, id, frame.height_px(), title);
    write_bands(&mut out, &axis, &all, frame.top, frame.bottom);
    write_time_axis(&mut out, &axis, frame.top, frame.bottom);
    plot(&mut out, &frame);
    write_frame(&mut out, frame.top, frame.bottom, y_title);
    write_labels(&mut out, &places, &all, frame.top);
    out.push_str("</svg>\n");
    out
}

/// A round step near range / target: 1, 2 or 5 times a power of ten.
pub(crate) fn nice_step(range: f64, target: f64) -> f64 {
    let raw = (range / target).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// An SVG path through per-second values, one point at the middle of each second, broken
/// where a second has no value.
fn gapped_path(
    axis: &TimeAxis,
    values: &[Option<f64>],
    y: impl Fn(f64) -> f64,
) -> (String, Vec<(f64, f64)>) {
    gapped_bucket_path(axis, values, 1000.0, y)
}

/// As [`gapped_path`], for buckets of `bucket_ms`.
pub(crate) fn gapped_bucket_path(
    axis: &TimeAxis,
    values: &[Option<f64>],
    bucket_ms: f64,
    y: impl Fn(f64) -> f64,
) -> (String, Vec<(f64, f64)>) {
    let mut d = String::new();
    let mut points = Vec::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v.filter(|v| v.is_finite() && *v > 0.0) {
            Some(v) => {
                let (px, py) = (axis.x((i as f64 + 0.5) * bucket_ms), y(v));
                let _ = write!(d, "{}{px:.1},{py:.1} ", if pen_down { "L" } else { "M" });
                points.push((px, py));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    (d, points)
}

pub(crate) fn write_series_path(
    out: &mut String,
    class: &str,
    d: &str,
    points: &[(f64, f64)],
    dots: bool,
) {
    if !d.is_empty() {
        let _ = writeln!(
            out,
            "<path class=\"series {class}\" d=\"{}\"/>",
            d.trim_end()
        );
    }
    if dots {
        for (x, y) in points {
            let _ = writeln!(
                out,
                "<circle class=\"dot {class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"1.8\"/>"
            );
        }
    }
}

/// Latency p50 and p99 per second on a log scale (latencies under faults span decades).
pub fn latency_chart(report: &Report) -> String {
    let axis = TimeAxis::new(report);
    time_chart(
        report,
        "latency",
        "latency per second: p50 and p99 (ms)",
        "ms (log scale)",
        |out, frame| {
            let Some(series) = &report.series else {
                return write_no_data(
                    out,
                    frame.top,
                    frame.bottom,
                    "no per-second series in this report",
                );
            };
            let all: Vec<f64> = series
                .latency_p50_ms
                .iter()
                .chain(&series.latency_p99_ms)
                .flatten()
                .copied()
                .collect();
            let Some(y) = log_y_axis(out, frame, &all) else {
                return write_no_data(out, frame.top, frame.bottom, "no operation completed");
            };
            let dots = axis.end_ms <= 300_000;
            for (class, values) in [
                ("p50", &series.latency_p50_ms),
                ("p99", &series.latency_p99_ms),
            ] {
                let (d, points) = gapped_path(&axis, values, y);
                write_series_path(out, class, &d, &points, dots);
            }
        },
    )
}

/// A log-scale y axis over whole decades covering the positive finite `values`, with its
/// ticks; returns the y mapping, or None when no value is positive.
pub(crate) fn log_y_axis(
    out: &mut String,
    frame: &Frame,
    values: &[f64],
) -> Option<impl Fn(f64) -> f64 + Copy> {
    let all: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    if all.is_empty() {
        return None;
    }
    let lo_exp = all.iter().copied().fold(f64::MAX, f64::min).log10().floor() as i32;
    let hi_exp =
        (all.iter().copied().fold(f64::MIN, f64::max).log10().ceil() as i32).max(lo_exp + 1);
    let (top, bottom) = (frame.top, frame.bottom);
    let y = move |v: f64| {
        bottom - (bottom - top) * (v.log10() - lo_exp as f64) / (hi_exp - lo_exp) as f64
    };
    // Few decades: label 1, 2 and 5 of each; many: only the decades.
    let mantissas: &[f64] = if hi_exp - lo_exp <= 2 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    for exp in lo_exp..=hi_exp {
        for m in mantissas {
            let v = m * 10f64.powi(exp);
            if v <= 10f64.powi(hi_exp) * 1.0001 {
                write_y_tick(out, y(v), &latency_label(*m, exp));
            }
        }
    }
    Some(y)
}

/// "0.05", "2", "500": as many decimals as the power of ten needs, never float noise.
pub(crate) fn latency_label(mantissa: f64, exp: i32) -> String {
    let v = mantissa * 10f64.powi(exp);
    if exp >= 0 {
        format!("{:.0}", v)
    } else {
        format!("{:.*}", (-exp) as usize, v)
    }
}

/// A step line: each second's value held flat across that second.
fn step_path(axis: &TimeAxis, values: &[u64], y: impl Fn(f64) -> f64) -> String {
    let values: Vec<f64> = values.iter().map(|v| *v as f64).collect();
    step_bucket_path(axis, &values, 1000.0, y)
}

/// As [`step_path`], for buckets of `bucket_ms`.
pub(crate) fn step_bucket_path(
    axis: &TimeAxis,
    values: &[f64],
    bucket_ms: f64,
    y: impl Fn(f64) -> f64,
) -> String {
    let mut d = String::new();
    for (i, v) in values.iter().enumerate() {
        let (x0, x1, py) = (
            axis.x(i as f64 * bucket_ms),
            axis.x((i + 1) as f64 * bucket_ms),
            y(*v),
        );
        let _ = write!(
            d,
            "{}{x0:.1},{py:.1} L{x1:.1},{py:.1} ",
            if i == 0 { "M" } else { "L" }
        );
    }
    d
}

/// Ok and failed operations per second, linear scale, as step lines.
pub fn throughput_chart(report: &Report) -> String {
    let axis = TimeAxis::new(report);
    time_chart(
        report,
        "throughput",
        "throughput per second: ok and failed operations",
        "ops/s",
        |out, frame| {
            let Some(series) = &report.series else {
                return write_no_data(
                    out,
                    frame.top,
                    frame.bottom,
                    "no per-second series in this report",
                );
            };
            let max = series
                .ok_per_s
                .iter()
                .chain(&series.fail_per_s)
                .copied()
                .max()
                .unwrap_or(0);
            if max == 0 {
                return write_no_data(out, frame.top, frame.bottom, "no operation completed");
            }
            let step = nice_step(max as f64, 4.0);
            let y_max = (max as f64 / step).ceil() * step;
            let (top, bottom) = (frame.top, frame.bottom);
            let y = move |v: f64| bottom - (bottom - top) * v / y_max;
            let mut tick = 0.0;
            while tick <= y_max * 1.0001 {
                write_y_tick(out, y(tick), &format!("{}", tick));
                tick += step;
            }
            for (class, values) in [("ok", &series.ok_per_s), ("failed", &series.fail_per_s)] {
                let d = step_path(&axis, values, y);
                write_series_path(out, class, &d, &[], false);
            }
        },
    )
}

const LANE_HEIGHT_PX: f64 = 28.0;
const LANE_GAP_PX: f64 = 6.0;

/// One lane per node: master, replica (link up or down), paused, down, over time; above them
/// a "faults" lane with the fault bands, and instantaneous marks drawn across every lane.
pub fn roles_chart(report: &Report) -> String {
    let axis = TimeAxis::new(report);
    let lanes = role_lanes(report, axis.end_ms);
    let all = marks(report, axis.end_ms);
    let fault_rows = band_rows(&all);
    let faults_height = fault_rows.len() as f64 * FAULT_ROW_PX;
    let top = 8.0;
    let first_lane_y = top
        + LANE_GAP_PX / 2.0
        + if fault_rows.is_empty() {
            0.0
        } else {
            faults_height + LANE_GAP_PX
        };
    let lane_y = |i: usize| first_lane_y + i as f64 * (LANE_HEIGHT_PX + LANE_GAP_PX);
    let bottom = lane_y(lanes.len().max(1)) - LANE_GAP_PX / 2.0;
    let mut out = String::new();
    open_svg(
        &mut out,
        "roles",
        bottom + AXIS_HEIGHT_PX,
        "role timeline per node",
    );
    write_time_axis(&mut out, &axis, top, bottom);
    if lanes.is_empty() {
        write_no_data(&mut out, lane_y(0), lane_y(1), "no nodes in this report");
    }
    if !fault_rows.is_empty() {
        write_lane_name(&mut out, top + LANE_GAP_PX / 2.0, "faults", "");
    }
    for (row, bands) in fault_rows.iter().enumerate() {
        let rects: Vec<(f64, f64, String, String)> = bands
            .iter()
            .map(|m| {
                (
                    m.start_ms as f64,
                    m.end_ms.unwrap_or(m.start_ms) as f64,
                    format!("fband band-{}", m.kind.name()),
                    m.label.clone(),
                )
            })
            .collect();
        let y = top + LANE_GAP_PX / 2.0 + row as f64 * FAULT_ROW_PX;
        write_lane_rects(&mut out, &axis, y, FAULT_ROW_PX - 2.0, &rects, "fault");
    }
    for (i, (name, final_role, segments)) in lanes.iter().enumerate() {
        let y = lane_y(i);
        write_lane_name(&mut out, y, name, &format!("final: {}", final_role));
        let rects: Vec<(f64, f64, String, String)> = segments
            .iter()
            .map(|s| {
                (
                    s.start_ms as f64,
                    s.end_ms as f64,
                    format!("role role-{}", s.state.class()),
                    s.state.label().to_string(),
                )
            })
            .collect();
        write_lane_rects(&mut out, &axis, y, LANE_HEIGHT_PX, &rects, name);
    }
    let instants: Vec<Mark> = all.into_iter().filter(|m| m.end_ms.is_none()).collect();
    write_bands(&mut out, &axis, &instants, top, bottom);
    out.push_str("</svg>\n");
    out
}

const FAULT_ROW_PX: f64 = 18.0;

/// The fault bands in rows, so overlapping faults (a kill inside a partition) sit one above
/// the other instead of on top of each other.
fn band_rows(all: &[Mark]) -> Vec<Vec<&Mark>> {
    let mut rows: Vec<Vec<&Mark>> = Vec::new();
    for mark in all.iter().filter(|m| m.end_ms.is_some()) {
        let free = rows.iter().position(|row| {
            row.last()
                .and_then(|m| m.end_ms)
                .is_some_and(|end| end <= mark.start_ms)
        });
        match free {
            Some(row) => rows[row].push(mark),
            None => rows.push(vec![mark]),
        }
    }
    rows
}

fn write_lane_name(out: &mut String, y: f64, name: &str, note: &str) {
    let _ = writeln!(
        out,
        "<text class=\"lane-name\" x=\"8\" y=\"{:.1}\">{}</text><text class=\"lane-final\" x=\"8\" y=\"{:.1}\">{}</text>",
        y + 12.0,
        escape(&truncate(name, 13)),
        y + 24.0,
        escape(&truncate(note, 19))
    );
}

/// A lane's rectangles (start ms, end ms, CSS class, text), each with a hover title and its
/// text inside when it fits.
fn write_lane_rects(
    out: &mut String,
    axis: &TimeAxis,
    y: f64,
    height: f64,
    rects: &[(f64, f64, String, String)],
    lane: &str,
) {
    for (start_ms, end_ms, class, text) in rects {
        let (x0, x1) = (axis.x(*start_ms), axis.x(*end_ms));
        let _ = writeln!(
            out,
            "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{height}\"><title>{}: {} from {} ms to {} ms</title></rect>",
            (x1 - x0).max(1.0),
            escape(lane),
            escape(text),
            start_ms,
            end_ms
        );
        let shown = truncate(text, ((x1 - x0 - 8.0) / CHAR_WIDTH_PX).max(0.0) as usize);
        if shown.chars().count() >= 4 {
            let text_class = class.split_whitespace().last().unwrap_or("");
            let _ = writeln!(
                out,
                "<text class=\"seg seg-{}\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                text_class,
                x0 + 4.0,
                y + height / 2.0 + 4.0,
                escape(&shown)
            );
        }
    }
}

/// The role states that appear in any lane, for the legend.
pub fn role_states_used(report: &Report) -> Vec<RoleState> {
    let lanes = role_lanes(report, TimeAxis::new(report).end_ms);
    RoleState::ALL
        .iter()
        .copied()
        .filter(|state| {
            lanes
                .iter()
                .any(|(_, _, segs)| segs.iter().any(|s| s.state == *state))
        })
        .collect()
}

/// How many node colours the CSS defines; further nodes reuse them in turn.
pub const NODE_COLOURS: usize = 8;

/// The CSS class of the i-th node's line and legend swatch.
pub fn node_class(i: usize) -> String {
    format!("node{}", i % NODE_COLOURS)
}

/// A path through per-second samples taken at the end of each second (index i at (i+1) s),
/// broken where a sample is missing (the node was down).
fn sample_path(axis: &TimeAxis, values: &[Option<f64>], y: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v.filter(|v| v.is_finite()) {
            Some(v) => {
                let (px, py) = (axis.x((i + 1) as f64 * 1000.0), y(v));
                let _ = write!(d, "{}{px:.1},{py:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

/// A byte count for an axis label: the unit is chosen once per axis so ticks line up.
fn bytes_label(v: f64, unit: f64, unit_name: &str) -> String {
    let scaled = v / unit;
    if scaled == 0.0 {
        "0".to_string()
    } else if scaled == scaled.round() {
        format!("{:.0} {}", scaled, unit_name)
    } else {
        format!("{:.1} {}", scaled, unit_name)
    }
}

/// Lines of bytes per node (index in the report's node order, values), linear from zero.
fn write_byte_lines(
    out: &mut String,
    axis: &TimeAxis,
    frame: &Frame,
    lines: &[(usize, Vec<Option<f64>>)],
) {
    let styled: Vec<(String, &[Option<f64>])> = lines
        .iter()
        .map(|(i, v)| (node_class(*i), v.as_slice()))
        .collect();
    write_styled_byte_lines(out, axis, frame, &styled, &[]);
}

/// Lines of bytes, each with its CSS classes, on one linear axis from zero, and horizontal
/// limit lines (bytes, label) across the plot.
fn write_styled_byte_lines(
    out: &mut String,
    axis: &TimeAxis,
    frame: &Frame,
    lines: &[(String, &[Option<f64>])],
    limits: &[(f64, String)],
) {
    let data_max = lines
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let max = limits.iter().map(|(v, _)| *v).fold(data_max, f64::max);
    let units = [
        (1.0, "B"),
        (1024.0, "KiB"),
        (1048576.0, "MiB"),
        (1073741824.0, "GiB"),
        (1099511627776.0, "TiB"),
    ];
    let (unit, unit_name) = units
        .iter()
        .rev()
        .copied()
        .find(|(u, _)| max >= *u)
        .unwrap_or(units[0]);
    let step = nice_step((max / unit).max(1.0), 4.0) * unit;
    let y_max = ((max / step).ceil() * step).max(step);
    let (top, bottom) = (frame.top, frame.bottom);
    let y = move |v: f64| bottom - (bottom - top) * v.clamp(0.0, y_max) / y_max;
    let mut tick = 0.0;
    while tick <= y_max * 1.0001 {
        write_y_tick(out, y(tick), &bytes_label(tick, unit, unit_name));
        tick += step;
    }
    for (bytes, label) in limits {
        let _ = writeln!(
            out,
            "<line class=\"limit\" x1=\"{LEFT_PX}\" y1=\"{ly:.1}\" x2=\"{x2:.1}\" y2=\"{ly:.1}\"/><text class=\"limit-label\" x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{}</text>",
            escape(label),
            ly = y(*bytes),
            x2 = WIDTH_PX - RIGHT_PX,
            tx = WIDTH_PX - RIGHT_PX - 4.0,
            ty = y(*bytes) - 4.0
        );
    }
    for (class, values) in lines {
        write_series_path(out, class, &sample_path(axis, values, y), &[], false);
    }
}

/// A per-node quantity the node charts plot, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeMetric {
    ReplOffset,
    ReplLag,
    UsedMemory,
}

impl NodeMetric {
    pub const ALL: [NodeMetric; 3] = [
        NodeMetric::ReplOffset,
        NodeMetric::ReplLag,
        NodeMetric::UsedMemory,
    ];

    /// The metrics drawn one line per node; memory has its own chart ([`memory_chart`]).
    pub const SINGLE_LINE: [NodeMetric; 2] = [NodeMetric::ReplOffset, NodeMetric::ReplLag];

    /// The chart's id (svg-{id}) and its heading in the page.
    pub fn id(self) -> &'static str {
        match self {
            NodeMetric::ReplOffset => "repl-offset",
            NodeMetric::ReplLag => "repl-lag",
            NodeMetric::UsedMemory => "memory",
        }
    }

    pub fn heading(self) -> &'static str {
        match self {
            NodeMetric::ReplOffset => "Replication offsets",
            NodeMetric::ReplLag => "Replication lag",
            NodeMetric::UsedMemory => "Memory",
        }
    }

    fn titles(self) -> (&'static str, &'static str, &'static str) {
        match self {
            NodeMetric::ReplOffset => (
                "replication: master_repl_offset per node (bytes)",
                "offset, bytes",
                "no node was up",
            ),
            // A negative lag (a replica ahead of a demoted master) is drawn at zero.
            NodeMetric::ReplLag => (
                "replication lag per replica: master offset minus replica offset (bytes)",
                "lag, bytes",
                "no replica in this run",
            ),
            NodeMetric::UsedMemory => (
                "memory per node: used_memory (bytes)",
                "memory, bytes",
                "no node was up",
            ),
        }
    }

    fn values(self, s: &NodeSeries) -> Vec<Option<f64>> {
        match self {
            NodeMetric::ReplOffset => s
                .master_repl_offset
                .iter()
                .map(|v| v.map(|v| v as f64))
                .collect(),
            NodeMetric::ReplLag => s
                .repl_lag_bytes
                .iter()
                .map(|v| v.map(|v| v as f64))
                .collect(),
            NodeMetric::UsedMemory => s.used_memory.iter().map(|v| v.map(|v| v as f64)).collect(),
        }
    }
}

/// The lines of one metric: (colour index, name, samples) of each node with any sample.
pub fn metric_lines(report: &Report, metric: NodeMetric) -> Vec<(usize, String, Vec<Option<f64>>)> {
    let Some(series) = &report.series else {
        return Vec::new();
    };
    series_nodes(report)
        .into_iter()
        .filter_map(|(i, name)| series.nodes.get(&name).map(|s| (i, metric.values(s), name)))
        .filter(|(_, v, _)| v.iter().any(|v| v.is_some_and(f64::is_finite)))
        .map(|(i, v, name)| (i, name, v))
        .collect()
}

/// One per-node byte chart over the shared time axis and fault bands.
pub fn node_chart(report: &Report, metric: NodeMetric) -> String {
    let axis = TimeAxis::new(report);
    let (title, y_title, empty) = metric.titles();
    time_chart(report, metric.id(), title, y_title, |out, frame| {
        if report.series.as_ref().is_none_or(|s| s.nodes.is_empty()) {
            return write_no_data(
                out,
                frame.top,
                frame.bottom,
                "no per-node series in this report",
            );
        }
        let lines: Vec<(usize, Vec<Option<f64>>)> = metric_lines(report, metric)
            .into_iter()
            .map(|(i, _, v)| (i, v))
            .collect();
        if lines.is_empty() {
            return write_no_data(out, frame.top, frame.bottom, empty);
        }
        write_byte_lines(out, &axis, frame, &lines);
    })
}

/// The nodes that have per-node series, each with its colour index: in the scenario's order
/// (as its resolved form lists them), then the report's other nodes in name order, then any
/// the series alone names.
pub fn series_nodes(report: &Report) -> Vec<(usize, String)> {
    let Some(series) = &report.series else {
        return Vec::new();
    };
    let listed = report
        .scenario_resolved
        .get("node")
        .and_then(|n| n.as_array());
    let mut names: Vec<&String> = listed
        .into_iter()
        .flatten()
        .filter_map(|n| n.get("name")?.as_str())
        .filter_map(|n| series.nodes.get_key_value(n).map(|(k, _)| k))
        .collect();
    let others: Vec<&String> = report
        .nodes
        .keys()
        .filter(|n| series.nodes.contains_key(*n) && !names.contains(n))
        .collect();
    names.extend(others);
    names.extend(
        series
            .nodes
            .keys()
            .filter(|n| !report.nodes.contains_key(*n)),
    );
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (i, n.clone()))
        .collect()
}

/// One of the memory chart's three quantities, each drawn in its own line style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLine {
    /// The main process's resident memory (solid).
    Rss,
    /// The child's copy-on-write copies (dashed).
    Cow,
    /// The main process's pages in swap (dotted).
    Swap,
}

impl MemoryLine {
    pub const ALL: [MemoryLine; 3] = [MemoryLine::Rss, MemoryLine::Cow, MemoryLine::Swap];

    /// The CSS class of the line style and the legend's name.
    pub fn class(self) -> &'static str {
        match self {
            MemoryLine::Rss => "mem-rss",
            MemoryLine::Cow => "mem-cow",
            MemoryLine::Swap => "mem-swap",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MemoryLine::Rss => "RSS",
            MemoryLine::Cow => "COW (child's copies)",
            MemoryLine::Swap => "swap",
        }
    }

    /// The samples; a report without RSS samples (written before the machine's memory model)
    /// draws used_memory as its RSS line.
    fn values(self, s: &NodeSeries) -> Vec<Option<f64>> {
        let pick = match self {
            MemoryLine::Rss if s.rss_bytes.iter().all(Option::is_none) => &s.used_memory,
            MemoryLine::Rss => &s.rss_bytes,
            MemoryLine::Cow => &s.cow_bytes,
            MemoryLine::Swap => &s.swap_bytes,
        };
        pick.iter().map(|v| v.map(|v| v as f64)).collect()
    }
}

/// The memory chart's lines: (colour index, node, quantity, samples). COW and swap lines are
/// drawn only for a node that had some (a flat zero would hide under the axis anyway).
pub fn memory_lines(report: &Report) -> Vec<(usize, String, MemoryLine, Vec<Option<f64>>)> {
    let Some(series) = &report.series else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (i, name) in series_nodes(report) {
        let Some(s) = series.nodes.get(&name) else {
            continue;
        };
        for line in MemoryLine::ALL {
            let values = line.values(s);
            let drawn = match line {
                MemoryLine::Rss => values.iter().any(|v| v.is_some_and(f64::is_finite)),
                _ => values.iter().any(|v| v.is_some_and(|v| v > 0.0)),
            };
            if drawn {
                lines.push((i, name.clone(), line, values));
            }
        }
    }
    lines
}

/// The machines' RAM under the memory chart's nodes: (bytes, the nodes on machines of that
/// size, whether the chart draws it). A RAM more than 4x the highest line is left off the
/// scale (the legend names it), or it would flatten every line against the axis.
pub fn ram_limits(report: &Report) -> Vec<(u64, Vec<String>, bool)> {
    let lines = memory_lines(report);
    let data_max = lines
        .iter()
        .flat_map(|(_, _, _, v)| v.iter().flatten())
        .copied()
        .fold(0.0, f64::max);
    let mut limits: Vec<(u64, Vec<String>, bool)> = Vec::new();
    for (_, name) in series_nodes(report) {
        let Some(bytes) = report
            .nodes
            .get(&name)
            .map(|n| n.machine.memory_bytes)
            .filter(|b| *b > 0)
        else {
            continue;
        };
        match limits.iter_mut().find(|(b, _, _)| *b == bytes) {
            Some((_, nodes, _)) => nodes.push(name),
            None => limits.push((bytes, vec![name], data_max * 4.0 >= bytes as f64)),
        }
    }
    limits
}

/// "RAM 1 GiB" for a limit every node shares, "RAM 1 GiB (m1, m2)" otherwise.
pub fn ram_label(report: &Report, bytes: u64, nodes: &[String]) -> String {
    let all = ram_limits(report).len() == 1;
    let size = if bytes.is_multiple_of(1 << 30) {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    };
    if all {
        format!("machine RAM {}", size)
    } else {
        format!("machine RAM {} ({})", size, nodes.join(", "))
    }
}

/// Memory per node: RSS solid, the child's COW copies dashed, swap dotted, each in the node's
/// colour, over the fault bands, with the machine's RAM as a limit line.
pub fn memory_chart(report: &Report) -> String {
    let axis = TimeAxis::new(report);
    let title = "memory per node: RSS, the child's copy-on-write copies, swap (bytes)";
    time_chart(
        report,
        NodeMetric::UsedMemory.id(),
        title,
        "memory, bytes",
        |out, frame| {
            if report.series.as_ref().is_none_or(|s| s.nodes.is_empty()) {
                return write_no_data(
                    out,
                    frame.top,
                    frame.bottom,
                    "no per-node series in this report",
                );
            }
            let lines = memory_lines(report);
            if lines.is_empty() {
                return write_no_data(out, frame.top, frame.bottom, "no node was up");
            }
            let styled: Vec<(String, &[Option<f64>])> = lines
                .iter()
                .map(|(i, _, line, v)| {
                    (format!("{} {}", node_class(*i), line.class()), v.as_slice())
                })
                .collect();
            let limits: Vec<(f64, String)> = ram_limits(report)
                .into_iter()
                .filter(|(_, _, drawn)| *drawn)
                .map(|(b, nodes, _)| (b as f64, ram_label(report, b, &nodes)))
                .collect();
            write_styled_byte_lines(out, &axis, frame, &styled, &limits);
        },
    )
}
