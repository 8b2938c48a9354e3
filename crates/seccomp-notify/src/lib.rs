//! seccomp-notify's filter and its child's side, for its main.rs and for
//! the lab (crates/labs/seccomp-notify): the filter that sends the named
//! calls to a supervisor (SECCOMP_RET_USER_NOTIF), and the child that
//! installs it with a listener and passes the listener on.

pub mod child;
pub mod filter;
