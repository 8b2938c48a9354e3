//! lab-refuse-trace: the refuse-trace demo, with the lecture's detector
//! written by you in `lab.rs`: PTRACE_TRACEME's failure, and TracerPid in
//! /proc/self/status. It runs like the demo: `cargo run -p lab-refuse-trace`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `traceme_refused` and `tracer_pid`, yours are used.
// What only the demo's own traceme_refused and tracer_pid need goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../refuse-trace/src/main.rs");
