//! The results: the tables, or the JSON.

use workbook::bench::Cpus;
use workbook::targets::overhead::BUFFER_LEN;

use crate::rows::{MemoryRow, Row};
use crate::watchers::{ACROSS_TWO_CPUS, NOTIFY_ACROSS_TWO_CPUS};

/// The two tables, as text.
pub fn print_tables(runs: u32, cpus: &Cpus, rows: &[Row], memory: &[MemoryRow]) {
    println!(
        "syscall cost: getppid in a loop, {} runs a row; ns per syscall",
        runs
    );
    match cpus.other {
        Some(other) => println!(
            "tracer and tracee pinned to CPU {}, but\n\"{ACROSS_TWO_CPUS}\" runs the tracee on CPU {other},\n\
             and so does \"{NOTIFY_ACROSS_TWO_CPUS}\"",
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
        runs
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
pub fn json(runs: u32, cpus: &Cpus, rows: &[Row], memory: &[MemoryRow]) -> String {
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
        runs,
        !cfg!(debug_assertions),
        cpus.one,
        cpus.other.map_or("null".to_string(), |cpu| cpu.to_string()),
        syscalls.join(",\n    "),
        BUFFER_LEN,
        reads.join(",\n      ")
    )
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn json_string(text: &str) -> String {
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
