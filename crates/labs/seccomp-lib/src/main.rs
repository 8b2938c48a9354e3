//! lab-seccomp-lib: the seccomp-lib demo, with the policies written by you
//! in `lab.rs`: the lecture's deny-list (allow everything, trap the
//! dangerous calls), and with `--allow-list` its opposite (trap everything
//! but the calls `echo` needs). It runs like the demo:
//! `cargo run -p lab-seccomp-lib -- [--allow-list] [--demo | --catch |
//! --print-filter | PROG ARGS...]`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo builds the lecture's filter itself, your `deny_list` (or,
//! with `--allow-list`, your `allow_list` of your `echo_needs`) is used.
// What only the demo's own filter needs goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../seccomp-lib/src/main.rs");
