//! Every demo's entry point and its ways out: one line on stderr and a
//! shell's exit code for an error, `_exit` for a forked child whose exec
//! failed. What to run is `program`; the children it leaves are `children`.

use std::env;
use std::fmt;
use std::process::ExitCode;

use anyhow::Result;

use crate::children::note_inherited_children;

/// An error that ends the demo with a particular exit code (127 for a
/// missing program, as a shell does).
#[derive(Debug)]
pub struct ExitWith {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for ExitWith {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitWith {}

/// Every demo's `main`: runs a built-in target if that is what this process
/// was started as, otherwise `run`, and turns an error into one line on
/// stderr and a non-zero exit code.
pub fn main(run: impl FnOnce() -> Result<ExitCode>) -> ExitCode {
    restore_sigpipe();
    note_inherited_children();
    if let Some(code) = crate::targets::run_if_requested() {
        return code;
    }
    match run() {
        Ok(code) => code,
        Err(error) => {
            crate::narrate!("{}: {error:#}", program_name());
            let code = error
                .chain()
                .find_map(|cause| cause.downcast_ref::<ExitWith>())
                .map_or(1, |exit| exit.code);
            ExitCode::from(code)
        }
    }
}

/// The Rust runtime ignores SIGPIPE, and an ignored signal stays ignored
/// across execve: every program a demo runs would then see EPIPE instead of
/// dying quietly when its reader goes away (`yes | head` would complain).
/// The default action also ends the demo itself quietly in such a pipe.
fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to its default has no
    // preconditions; no handler is involved.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// This binary's name, for error messages.
pub fn program_name() -> String {
    env::current_exe()
        .ok()
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "workbook".into())
}

/// A forked child's way out before its execvp succeeds: one line on
/// stderr, then _exit(2).
pub fn exit_child(code: i32, message: &str) -> ! {
    // The demos fork while single-threaded, so formatting in the child is safe.
    let line = format!("{}: {message}\n", program_name());
    let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
    // SAFETY: _exit(2) skips the parent's atexit handlers and stdio buffers,
    // which the forked child must not run twice.
    unsafe { libc::_exit(code) }
}
