//! The results: the tables, the JSON and the chart.

use anyhow::{anyhow, bail, Context, Result};

use workbook::targets::overhead::BUFFER_LEN;

use crate::{Args, Cpus, MemoryRow, ACROSS_TWO_CPUS};

/// One row of the table: ns per syscall over the runs, or why it was skipped.
pub(crate) struct Row {
    label: &'static str,
    calls: u64,
    result: Result<Spread, &'static str>,
}

/// The median, minimum and maximum of the runs.
#[derive(Clone, Copy)]
pub(crate) struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    pub(crate) fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len() % 2 == 1 {
            values[middle]
        } else {
            (values[middle - 1] + values[middle]) / 2.0
        };
        Spread {
            median,
            min: values[0],
            max: values[values.len() - 1],
        }
    }
}

impl Row {
    /// Runs `once` `runs` times with `calls` syscalls.
    pub(crate) fn measure(
        label: &'static str,
        calls: u64,
        runs: u32,
        once: impl Fn(u64) -> Result<u64>,
    ) -> Result<Row> {
        let per_call = (0..runs)
            .map(|_| Ok(once(calls)? as f64 / calls as f64))
            .collect::<Result<Vec<f64>>>()
            .with_context(|| format!("measuring \"{label}\""))?;
        Ok(Row {
            label,
            calls,
            result: Ok(Spread::of(per_call)),
        })
    }

    pub(crate) fn skipped(label: &'static str, why: &'static str) -> Row {
        Row {
            label,
            calls: 0,
            result: Err(why),
        }
    }
}

pub(crate) fn print_tables(args: &Args, cpus: &Cpus, rows: &[Row], memory: &[MemoryRow]) {
    println!(
        "syscall cost: getppid in a loop, {} runs a row; ns per syscall",
        args.runs
    );
    match cpus.other {
        Some(other) => println!(
            "tracer and tracee pinned to CPU {}, but\n\"{ACROSS_TWO_CPUS}\" runs the tracee on CPU {other}",
            cpus.one
        ),
        None => println!("tracer and tracee pinned to CPU {}", cpus.one),
    }
    println!(
        // 85 columns: a line of the book's content column.
        "{:<43} {:>6} {:>8} {:>8} {:>8} {:>7}",
        "setting", "calls", "median", "min", "max", "ratio"
    );
    let baseline = rows.first().and_then(|row| row.result.ok());
    for row in rows {
        match row.result {
            Ok(spread) => println!(
                "{:<43} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>6.1}x",
                row.label,
                row.calls,
                spread.median,
                spread.min,
                spread.max,
                baseline.map_or(f64::NAN, |base| spread.median / base.median)
            ),
            Err(why) => println!("{:<43} skipped: {why}", row.label),
        }
    }
    println!();
    println!(
        "memory reads: 1 MiB from a stopped tracee, {} runs each; MB/s (10^6 bytes/s)",
        args.runs
    );
    let peek = memory.first().map(|row| row.mb_per_s.median);
    for row in memory {
        println!(
            "{:<44} {:>9.1} MB/s {:>8.1}x",
            row.label,
            row.mb_per_s.median,
            peek.map_or(f64::NAN, |peek| row.mb_per_s.median / peek)
        );
    }
    println!("the bytes matched the target's pattern, all three ways");
}

/// The results as JSON, written by hand: a few numbers and strings.
pub(crate) fn json(args: &Args, cpus: &Cpus, rows: &[Row], memory: &[MemoryRow]) -> String {
    let baseline = rows.first().and_then(|row| row.result.ok());
    let syscalls: Vec<String> = rows
        .iter()
        .map(|row| match row.result {
            Ok(s) => format!(
                "{{\"setting\": {}, \"calls\": {}, \"median_ns\": {:.3}, \"min_ns\": {:.3}, \
                 \"max_ns\": {:.3}, \"ratio\": {:.3}}}",
                json_string(row.label),
                row.calls,
                s.median,
                s.min,
                s.max,
                baseline.map_or(0.0, |base| s.median / base.median)
            ),
            Err(why) => format!(
                "{{\"setting\": {}, \"skipped\": {}}}",
                json_string(row.label),
                json_string(why)
            ),
        })
        .collect();
    let peek = memory.first().map_or(1.0, |row| row.mb_per_s.median);
    let reads: Vec<String> = memory
        .iter()
        .map(|row| {
            format!(
                "{{\"method\": {}, \"mb_per_s\": {:.3}, \"ratio\": {:.3}}}",
                json_string(row.label),
                row.mb_per_s.median,
                row.mb_per_s.median / peek
            )
        })
        .collect();
    format!(
        "{{\n  \"runs\": {},\n  \"release\": {},\n  \"cpu\": {},\n  \"other_cpu\": {},\n  \"syscalls\": [\n    {}\n  ],\n  \
         \"memory\": {{\n    \"bytes\": {},\n    \"bytes_match\": true,\n    \"reads\": [\n      {}\n    ]\n  }}\n}}",
        args.runs,
        !cfg!(debug_assertions),
        cpus.one,
        cpus.other.map_or("null".to_string(), |cpu| cpu.to_string()),
        syscalls.join(",\n    "),
        BUFFER_LEN,
        reads.join(",\n      ")
    )
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ANCHOR: chart
/// A horizontal bar per measured row, ns per syscall on a log scale, with
/// a line from the fastest run to the slowest, as the text of an SVG file.
pub(crate) fn draw_chart(rows: &[Row]) -> Result<String> {
    use plotters::prelude::*;
    let measured: Vec<(&str, Spread)> = rows
        .iter()
        .filter_map(|row| row.result.ok().map(|spread| (row.label, spread)))
        .collect();
    let count = measured.len();
    if count == 0 {
        bail!("nothing was measured");
    }
    let low = measured.iter().map(|(_, s)| s.min).fold(f64::MAX, f64::min) / 2.0;
    let high = measured.iter().map(|(_, s)| s.max).fold(0.0, f64::max) * 3.0;
    // The first row at the top: segment `count - 1 - i` holds row i.
    let place = |i: usize| count - 1 - i;
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (960, 80 + 36 * count as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("ns per syscall (log scale)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(330)
        .build_cartesian_2d((low..high).log_scale(), (0..count).into_segmented())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(count)
        .y_label_formatter(&|value| match value {
            SegmentValue::CenterOf(segment) if *segment < count => {
                measured[place(*segment)].0.to_string()
            }
            _ => String::new(),
        })
        .x_label_formatter(&|ns| format!("{ns:.0}"))
        .x_desc("ns per syscall: bar at the median, line from min to max")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(measured.iter().enumerate().map(|(i, (_, spread))| {
            let mut bar = Rectangle::new(
                [
                    (low, SegmentValue::Exact(place(i))),
                    (spread.median, SegmentValue::Exact(place(i) + 1)),
                ],
                BLUE.mix(0.5).filled(),
            );
            bar.set_margin(6, 6, 0, 0);
            bar
        }))
        .map_err(plot_error)?;
    chart
        .draw_series(measured.iter().enumerate().map(|(i, (_, spread))| {
            PathElement::new(
                [
                    (spread.min, SegmentValue::CenterOf(place(i))),
                    (spread.max, SegmentValue::CenterOf(place(i))),
                ],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(plot_error)?;
    chart
        .draw_series(measured.iter().enumerate().map(|(i, (_, spread))| {
            Text::new(
                format!("{:.0} ns", spread.median),
                (spread.max * 1.15, SegmentValue::CenterOf(place(i))),
                ("sans-serif", 13),
            )
        }))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    drop(chart);
    drop(root);
    Ok(svg)
}
// ANCHOR_END: chart

pub(crate) fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotters: {error}")
}
