//! lab-tracer-tracee: the tracer-tracee demo, with the lecture's start-up
//! written by you in `lab.rs`: the child's PTRACE_TRACEME, raise(SIGSTOP)
//! and execvp, and the parent's first waitpid. It runs like the demo:
//! `cargo run -p lab-tracer-tracee -- CMD ARGS...`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `tracee` and `first_stop`, yours are used.
// What only the demo's own tracee and first_stop need goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../tracer-tracee/src/main.rs");
