//! lab-attach-seize: the attach-seize demo, with the tracer's calls
//! written by you in `lab.rs`: PTRACE_ATTACH, PTRACE_SEIZE,
//! PTRACE_INTERRUPT, the wait for their stop, and PTRACE_DETACH. It runs
//! like the demo: `cargo run -p lab-attach-seize -- [--pid PID]`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `requests` and `wait_until_stopped`, yours are
//! used. Its victim and cycle of tracers come along, as given.
// What only the demo's own requests and wait need goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../attach-seize/src/main.rs");
