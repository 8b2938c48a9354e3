//! seccomp-filter's library: the lecture's filter and its variants, and
//! the printer for the lecture's bpf_asm syntax, which the lab of this
//! chapter (crates/labs/seccomp-filter) prints its own filter with.

pub mod filters;
