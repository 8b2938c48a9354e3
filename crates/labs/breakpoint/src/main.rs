//! lab-breakpoint: the breakpoint demo, with the lesson's requests written
//! by you in `lab.rs`: the int3 planted (PTRACE_PEEKTEXT/POKETEXT), and at
//! a hit stepped over: the original byte back, rip back over the int3
//! (PTRACE_PEEKUSER/POKEUSER), one PTRACE_SINGLESTEP. It runs like the demo:
//! `cargo run -p lab-breakpoint -- [--break SYMBOL|ADDRESS] [-- CMD ARGS...]`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its int3 module, your lab.rs is used.

mod lab;

include!("../../../breakpoint/src/main.rs");
