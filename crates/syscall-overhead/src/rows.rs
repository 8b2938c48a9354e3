//! The rows' model: what a measured row holds, for the tables, the JSON and
//! the chart.

use anyhow::{Context, Result};

/// One row of the table: ns per syscall over the runs, or why it was skipped.
pub struct Row {
    pub label: &'static str,
    pub calls: u64,
    pub result: Result<Spread, &'static str>,
}

impl Row {
    /// Runs `once` `runs` times with `calls` syscalls.
    pub fn measure(
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

    pub fn skipped(label: &'static str, why: &'static str) -> Row {
        Row {
            label,
            calls: 0,
            result: Err(why),
        }
    }
}

/// One way of reading the tracee's buffer.
pub struct MemoryRow {
    pub label: &'static str,
    pub mb_per_s: Spread,
}

/// The median, minimum and maximum of the runs.
#[derive(Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Spread {
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
