//! lab-write-rewriter: the write-rewriter demo, with its memory calls
//! written by you in `lab.rs`: one process_vm_readv to read a write(2)
//! buffer, one process_vm_writev to put the 'A's back, and PTRACE_POKEDATA
//! where the page is read-only. It runs like the demo:
//! `cargo run -p lab-write-rewriter -- [--peek] [-- CMD ARGS...]`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `read_buffer`, `write_buffer`, `poke_buffer` and
//! `WORD`, yours are used.
// What only the demo's own memory calls need goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../write-rewriter/src/main.rs");
