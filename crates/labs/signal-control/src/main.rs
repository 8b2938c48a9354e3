//! lab-signal-control: the signal-control demo, with `change_it` written by
//! you in `lab.rs`. It runs like the demo: `cargo run -p lab-signal-control`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo has its `change_it`, yours is used.
// What only the demo's own change_it needs goes unused here.
#![allow(unused_imports)]

mod lab;

include!("../../../signal-control/src/main.rs");
