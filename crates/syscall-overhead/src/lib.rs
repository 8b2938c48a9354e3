//! The syscall-overhead demo's parts, as a library for its main.rs and for
//! the lab that adds a row to its table (crates/labs/syscall-overhead):
//! the command line, the rows' model, the filters, the watchers (the
//! user-notification rows' supervisor in `notify`), the memory benchmark,
//! the report and the chart.

pub mod chart;
pub mod cli;
pub mod filters;
pub mod memory;
pub mod notify;
pub mod report;
pub mod rows;
pub mod watchers;
