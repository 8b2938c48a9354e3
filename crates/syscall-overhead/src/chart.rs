//! The chart: ns per syscall, as an SVG file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::rows::{Row, Spread};

/// The `--svg` file, opened for writing before anything is measured. An
/// existing file is emptied only when the chart is ready to go in.
pub struct SvgFile {
    path: PathBuf,
    file: File,
}

impl SvgFile {
    pub fn open(path: &Path) -> Result<SvgFile> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("opening {} for writing", path.display()))?;
        Ok(SvgFile {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn write(mut self, rows: &[Row]) -> Result<()> {
        let path = self.path.display();
        let svg = draw_chart(rows).with_context(|| format!("drawing {path}"))?;
        let regular = self
            .file
            .metadata()
            .with_context(|| format!("fstat {path}"))?
            .is_file();
        if regular {
            self.file
                .set_len(0)
                .with_context(|| format!("truncating {path}"))?;
        }
        self.file
            .write_all(svg.as_bytes())
            .with_context(|| format!("writing {path}"))
    }
}

// ANCHOR: chart
/// A horizontal bar per measured row, ns per syscall on a log scale, with
/// a line from the fastest run to the slowest, as the text of an SVG file.
fn draw_chart(rows: &[Row]) -> Result<String> {
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

fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotters: {error}")
}
