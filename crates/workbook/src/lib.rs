//! The support crate of the workbook: what several demos share.
//!
//! It takes away repetition, not the lesson: each demo's `main.rs` still makes
//! the lecture's ptrace, waitpid and exec calls itself.

pub mod arch;
pub mod bench;
pub mod bpf;
pub mod children;
pub mod gone;
pub mod hints;
pub mod memory;
pub mod names;
pub mod narrate;
pub mod notify;
pub mod process;
pub mod procfs;
pub mod program;
pub mod seccomp;
pub mod siginfo;
pub mod signal;
pub mod snapshot;
pub mod stop;
pub mod targets;
pub mod trace;

#[cfg(feature = "testing")]
pub mod testing;

pub use children::ChildGuard;
pub use process::{main, ExitWith};
pub use program::{CommandArgs, Program};
pub use signal::{ptrace_cont, ptrace_detach, ptrace_listen, ptrace_syscall, Sig};
pub use stop::{wait_for, waitpid, Event, Stop, Waited};

/// libseccomp, for the demos that use it (feature `libseccomp`).
#[cfg(feature = "libseccomp")]
pub use libseccomp;
