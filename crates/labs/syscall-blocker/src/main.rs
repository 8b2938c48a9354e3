//! lab-syscall-blocker: the syscall-blocker demo, with the handling of a
//! blocked call written by you in `lab.rs`: syscall number -1 at its entry,
//! -errno at its exit, and the restart after each stop that passes signals
//! on. It runs like the demo:
//! `cargo run -p lab-syscall-blocker -- [--block NAME] [--trace] -- CMD ARGS...`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `block_at_entry`, `fail_at_exit` and `resume`,
//! yours are used.
// What only the demo's own functions need goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../syscall-blocker/src/main.rs");
