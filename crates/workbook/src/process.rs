//! Starting programs the way a shell would, reporting failures with a shell's
//! exit codes, and never leaving a child behind.

use std::env;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;

use crate::stop::waitpid;

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
    if let Some(code) = crate::targets::run_if_requested() {
        return code;
    }
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{}: {error:#}", program_name());
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

/// A program to run: what execvp(2) gets, and how to talk about it.
#[derive(Debug, Clone)]
pub struct Program {
    /// execvp's first argument: a name to look up in PATH, or a path.
    pub file: CString,
    /// execvp's second argument; argv[0] comes first.
    pub argv: Vec<CString>,
    /// How the narration names it.
    pub label: String,
}

impl Program {
    /// The user's command, or the named built-in target when there is none.
    /// A command that can't be run fails here, before any fork, with the
    /// shell's exit code: 127 when not found, 126 when not executable.
    pub fn from_command_line(command: &[OsString], builtin: &str) -> Result<Program> {
        let Some(name) = command.first() else {
            return Ok(Program::builtin(builtin, &[]));
        };
        find_executable(name)?;
        let argv = command
            .iter()
            .map(|arg| c_string(arg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Program {
            file: argv[0].clone(),
            label: command
                .iter()
                .map(|arg| shell_quote(&arg.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(" "),
            argv,
        })
    }

    /// A built-in target: this very binary, re-executed under another name.
    pub fn builtin(name: &str, args: &[&str]) -> Program {
        let mut argv =
            vec![c_string(OsStr::new(&crate::targets::argv0(name)))
                .expect("target names have no NUL")];
        argv.extend(
            args.iter()
                .map(|a| c_string(OsStr::new(a)).expect("target args have no NUL")),
        );
        Program {
            file: c_string(OsStr::new(crate::targets::SELF_EXE)).expect("a constant path"),
            argv,
            label: match args {
                [] => format!("the built-in target '{name}'"),
                args => format!("the built-in target '{name} {}'", args.join(" ")),
            },
        }
    }
}

/// Quotes an argument the way a shell user would type it.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

fn c_string(arg: &OsStr) -> Result<CString> {
    CString::new(arg.as_bytes()).with_context(|| format!("argument {arg:?} contains a NUL byte"))
}

/// Looks `name` up as execvp(3) would, so that a typo is reported before
/// anything is forked.
pub fn find_executable(name: &OsStr) -> Result<PathBuf> {
    let shown = name.to_string_lossy();
    if name.is_empty() {
        return Err(ExitWith {
            code: 127,
            message: "'': command not found".into(),
        }
        .into());
    }
    if name.as_bytes().contains(&b'/') {
        let path = Path::new(name);
        return match path.metadata() {
            Err(_) => Err(ExitWith {
                code: 127,
                message: format!("{shown}: No such file or directory"),
            }
            .into()),
            Ok(meta) if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 => Err(ExitWith {
                code: 126,
                message: format!("{shown}: Permission denied"),
            }
            .into()),
            Ok(_) => Ok(path.to_path_buf()),
        };
    }
    let search = env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    env::split_paths(&search)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| {
            ExitWith {
                code: 127,
                message: format!("{shown}: command not found"),
            }
            .into()
        })
}

/// Owns a child process: if the demo returns early or fails, the child is
/// killed and reaped instead of outliving us as a stray or a zombie.
#[derive(Debug)]
pub struct ChildGuard {
    pid: Option<Pid>,
}

impl ChildGuard {
    pub fn new(pid: Pid) -> Self {
        ChildGuard { pid: Some(pid) }
    }

    pub fn pid(&self) -> Pid {
        self.pid.expect("guard still holds its child")
    }

    /// The child is gone and reaped; nothing is left to clean up.
    pub fn reaped(mut self) {
        self.pid = None;
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            // SIGKILL ends a tracee in any stop; then reap it so no zombie stays.
            let _ = kill(pid, Signal::SIGKILL);
            while let Ok(Some(waited)) = waitpid(pid, WaitPidFlag::__WALL) {
                if waited.stop.is_gone() {
                    break;
                }
            }
        }
    }
}

/// A `Command` that runs a built-in target, for a child we don't trace from
/// birth. It dies with us (PR_SET_PDEATHSIG), so it can't be left behind.
pub fn builtin_command(name: &str) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(crate::targets::SELF_EXE);
    command
        .arg0(crate::targets::argv0(name))
        .stdin(std::process::Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_quote_like_a_shell() {
        assert_eq!(shell_quote("ls"), "ls");
        assert_eq!(shell_quote("exit 3"), "'exit 3'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn missing_programs_get_the_shells_codes() {
        let code = |name: &str| {
            let error = find_executable(OsStr::new(name)).unwrap_err();
            error.downcast::<ExitWith>().unwrap().code
        };
        assert_eq!(code("no-such-program-anywhere"), 127);
        assert_eq!(code("/no/such/path"), 127);
        assert_eq!(code("/dev/null"), 126);
        assert_eq!(code("/"), 126);
        assert!(find_executable(OsStr::new("sh")).is_ok());
    }
}

/// The `-- CMD ARGS...` part of a demo's command line, shared by every demo
/// that runs a command.
#[derive(Debug, clap::Args)]
pub struct CommandArgs {
    /// The command to run, with its arguments. Without one, a built-in target.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD ARGS"
    )]
    pub command: Vec<OsString>,
}

impl CommandArgs {
    /// The command to run, or the built-in target `builtin` when none was given.
    pub fn program(&self, builtin: &str) -> Result<Program> {
        Program::from_command_line(&self.command, builtin)
    }

    pub fn is_empty(&self) -> bool {
        self.command.is_empty()
    }
}

/// The signals a terminal sends to the whole foreground process group
/// (Ctrl-C, Ctrl-\, a closed terminal) or that `kill` sends by default.
const FATAL_SIGNALS: [libc::c_int; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

/// The signal mask from before `hold_fatal_signals`, for the children to
/// get back. Written once, before any fork.
static MASK_BEFORE_HOLD: std::sync::OnceLock<libc::sigset_t> = std::sync::OnceLock::new();

/// Ctrl-C belongs to the program, not to the demo watching it: from now on
/// SIGHUP, SIGINT, SIGQUIT and SIGTERM are blocked in this process, as
/// strace does with `-o FILE` (its `-I 3`). The program gets the signal and
/// decides what it means; the demo stays to report how the program ended,
/// and exits with its status. They stay blocked until the demo exits, so a
/// pending Ctrl-C never kills the demo after the program has handled it.
/// Call before forking; the child calls `release_fatal_signals_in_child`.
pub fn hold_fatal_signals() -> Result<()> {
    // SAFETY: sigemptyset/sigaddset fill a local set; sigprocmask reads it
    // and writes the old mask into a local.
    unsafe {
        let mut fatal: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut fatal);
        for signal in FATAL_SIGNALS {
            libc::sigaddset(&mut fatal, signal);
        }
        let mut before: libc::sigset_t = std::mem::zeroed();
        nix::errno::Errno::result(libc::sigprocmask(libc::SIG_BLOCK, &fatal, &mut before))
            .context("sigprocmask(SIG_BLOCK, SIGHUP SIGINT SIGQUIT SIGTERM)")?;
        let _ = MASK_BEFORE_HOLD.set(before);
    }
    Ok(())
}

/// In a forked child, before execvp: the signal mask as it was before
/// `hold_fatal_signals`, so that the program gets Ctrl-C as it would without
/// us (a blocked mask survives execve). Async-signal-safe.
pub fn release_fatal_signals_in_child() -> Result<(), nix::errno::Errno> {
    let Some(before) = MASK_BEFORE_HOLD.get() else {
        return Ok(());
    };
    // SAFETY: sigprocmask reads a mask that lives in a static.
    nix::errno::Errno::result(unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, before, std::ptr::null_mut())
    })
    .map(drop)
}
