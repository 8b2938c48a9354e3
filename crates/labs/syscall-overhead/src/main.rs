//! lab-syscall-overhead: the syscall-overhead demo, with the tracers of the
//! two ptrace rows and the process_vm_readv reader written by you in
//! `lab.rs`. It runs like the demo: `cargo run --release -p
//! lab-syscall-overhead -- [-n N] [-r RUNS] [--json] [--svg FILE]`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `syscall_stops`, `seccomp_stops` and `vm_readv`,
//! yours are used.
// What only the demo's own functions need goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../syscall-overhead/src/main.rs");
