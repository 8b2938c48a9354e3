//! The breakpoint demo's lesson, as a library for the lab that builds on
//! it (crates/labs/breakpoint): the int3 planted and stepped over
//! (`int3`), and where a name is in a running program (`symbols`). The
//! demo's own binary (main.rs) uses them from here.

pub mod int3;
pub mod symbols;
