//! lab-seccomp-filter: the seccomp-filter demo, with the install and the
//! `--hardened` filter written by you in `lab.rs`: prctl(PR_SET_NO_NEW_PRIVS),
//! seccomp(SECCOMP_SET_MODE_FILTER), and a deny-list that checks
//! seccomp_data.arch and the x32 bit first. It runs like the demo:
//! `cargo run -p lab-seccomp-filter -- [--hardened] [--action ACTION] [-- CMD ARGS...]`.
//!
//! This is the demo's own main.rs, compiled with cfg(lab) (see build.rs):
//! where the demo installs the filter with the workbook's calls, yours are
//! used, and its `--hardened` filter is your `deny_list` (in the demo's
//! filters.rs).

mod lab;

include!("../../../seccomp-filter/src/main.rs");
