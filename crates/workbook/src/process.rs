//! Starting programs the way a shell would, reporting failures with a shell's
//! exit codes, and never leaving a child behind.

use std::env;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::Pid;

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

/// A program to run: what execvp(2) gets, and how to talk about it.
#[derive(Debug, Clone)]
pub struct Program {
    /// execvp's first argument: a name to look up in PATH, or a path.
    pub file: CString,
    /// execvp's second argument; argv[0] comes first.
    pub argv: Vec<CString>,
    /// How the narration names it: the command line, abbreviated as
    /// strace abbreviates an argv.
    pub label: String,
    /// How an error names it: the program as given, in full.
    pub name: String,
}

impl Program {
    /// The user's command, or the named built-in target when there is none.
    /// A command that can't be run fails here, before any fork, with the
    /// shell's exit code: 127 when not found, 126 when not executable.
    pub fn from_command_line(command: &[OsString], builtin: &str) -> Result<Program> {
        let Some(name) = command.first() else {
            return Ok(Program::builtin(builtin, &[]));
        };
        // execvp would search PATH again, and a tracer would see each
        // failed execve on the way; strace, too, execs the path it found.
        let path = find_executable(name)?;
        let argv = command
            .iter()
            .map(|arg| c_string(arg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Program {
            file: c_string(path.as_os_str())?,
            label: abbreviated(command),
            name: shell_quote(&name.to_string_lossy()),
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
        let label = match args {
            [] => format!("the built-in target '{name}'"),
            args => format!("the built-in target '{name} {}'", args.join(" ")),
        };
        Program {
            file: c_string(OsStr::new(crate::targets::SELF_EXE)).expect("a constant path"),
            argv,
            name: label.clone(),
            label,
        }
    }
}

/// How much of a command line the narration shows. strace shows an
/// execve's first 32 arguments, and so do we, so that 100,000 arguments
/// make a line of a few KB, not 600 KB. strace also cuts every string after
/// 32 characters (`-s 32`), but that is for a trace full of buffers; our
/// one line names the command, so a path or a short script stays whole and
/// only an argument longer than 128 characters is cut.
const SHOWN_ARGUMENTS: usize = 32;
const SHOWN_CHARACTERS: usize = 128;

/// The command as a shell user would type it, abbreviated: a longer
/// argument ends in `...` after its first 128 characters, and `...` stands
/// for any arguments after the first 32.
fn abbreviated(command: &[OsString]) -> String {
    let mut shown: Vec<String> = command
        .iter()
        .take(SHOWN_ARGUMENTS)
        .map(|arg| {
            let arg = arg.to_string_lossy();
            match arg.char_indices().nth(SHOWN_CHARACTERS) {
                Some((cut, _)) => format!("{}...", shell_quote(&arg[..cut])),
                None => shell_quote(&arg),
            }
        })
        .collect();
    if command.len() > SHOWN_ARGUMENTS {
        shown.push("...".to_string());
    }
    shown.join(" ")
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

/// Looks `name` up as execvp(3) would, so that a program that can't be run
/// is reported before anything is forked, in bash's words and with bash's
/// exit codes: 127 when there is no such file (or no such command in PATH),
/// 126 when there is one and it can't be run, or when the path itself is the
/// trouble (a symlink loop, a name too long, a directory we may not search);
/// the errno's text says which.
pub fn find_executable(name: &OsStr) -> Result<PathBuf> {
    if name.is_empty() {
        return Err(ExitWith {
            code: 127,
            message: "'': command not found".into(),
        }
        .into());
    }
    if name.as_bytes().contains(&b'/') {
        let path = Path::new(name);
        return match executable(path) {
            Ok(()) => Ok(path.to_path_buf()),
            Err(errno) => Err(cannot_run(path, errno)),
        };
    }
    let search = env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    search_path(name, &search)
}

/// execvp's walk through PATH: the first executable candidate wins. One we
/// may not execute (EACCES) is remembered and passed over, as are entries
/// where the name is not found; any other error ends the search, as it ends
/// execvp's.
fn search_path(name: &OsStr, search: &OsStr) -> Result<PathBuf> {
    let mut denied: Option<PathBuf> = None;
    for dir in env::split_paths(search) {
        let candidate = dir.join(name);
        match executable(&candidate) {
            Ok(()) => return Ok(candidate),
            // execve(2) refuses a directory with EACCES; bash says "Is a
            // directory" only of a path that names one.
            Err(Errno::EACCES | Errno::EISDIR) => {
                denied.get_or_insert(candidate);
            }
            Err(
                Errno::ENOENT | Errno::ENOTDIR | Errno::ESTALE | Errno::ENODEV | Errno::ETIMEDOUT,
            ) => {}
            Err(errno) => return Err(cannot_run(&candidate, errno)),
        }
    }
    match denied {
        Some(candidate) => Err(cannot_run(&candidate, Errno::EACCES)),
        None => Err(ExitWith {
            code: 127,
            message: format!("{}: command not found", name.to_string_lossy()),
        }
        .into()),
    }
}

/// Whether execve(2) would start `path`, checked by the kernel's own rules
/// with access(2) for our effective ids: every directory on the way
/// searchable, an x bit for us (root needs any x bit), no noexec mount; and
/// then a regular file, for a directory passes access(X_OK).
fn executable(path: &Path) -> Result<(), Errno> {
    nix::unistd::eaccess(path, nix::unistd::AccessFlags::X_OK)?;
    let meta = path
        .metadata()
        .map_err(|error| error.raw_os_error().map_or(Errno::EIO, Errno::from_raw))?;
    if meta.is_dir() {
        Err(Errno::EISDIR)
    } else if !meta.is_file() {
        Err(Errno::EACCES)
    } else {
        Ok(())
    }
}

/// bash's message and code for a program that can't be started: the
/// errno's text, 127 for ENOENT and 126 for every other reason.
fn cannot_run(path: &Path, errno: Errno) -> anyhow::Error {
    ExitWith {
        code: if errno == Errno::ENOENT { 127 } else { 126 },
        message: format!("{}: {}", path.display(), strerror(errno)),
    }
    .into()
}

/// The C library's text for `errno`, as bash prints it ("Too many levels of
/// symbolic links"; nix's own texts are the kernel's comments).
fn strerror(errno: Errno) -> String {
    let text = std::io::Error::from_raw_os_error(errno as i32).to_string();
    match text.rsplit_once(" (os error ") {
        Some((reason, _)) => reason.to_string(),
        None => text,
    }
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
            // SIGKILL ends a tracee in any stop; then reap it so no zombie
            // stays. Waiting for -1, not for the pid: a zombie thread-group
            // leader is reported only after its other threads, which are
            // our tracees too and must be reaped first.
            let _ = kill(pid, Signal::SIGKILL);
            loop {
                match crate::stop::wait_raw(None, WaitPidFlag::__WALL) {
                    Ok(Some((found, raw))) if found == pid && !libc::WIFSTOPPED(raw) => break,
                    Ok(_) => continue,
                    Err(_) => break,
                }
            }
        }
    }
}

/// Kills every child still stopped or running and reaps them all:
/// waitpid(-1, __WALL) until ECHILD. A tracer's last word, so that no
/// tracee, thread or zombie outlives it.
///
/// Children this process had before it did anything are not ours to wait
/// for: `exec demo ... 2> >(tee log)` hands the demo the shell's `tee`,
/// which ends only when the demo closes stderr, by exiting. Once only such
/// children are left, the wait ends.
pub fn kill_and_reap_all_children() {
    loop {
        if only_inherited_children_left() {
            return;
        }
        match crate::stop::wait_raw(None, WaitPidFlag::__WALL) {
            // A stop of a tracee we did not know of: it dies too.
            Ok(Some((pid, raw))) if libc::WIFSTOPPED(raw) => {
                let _ = kill(pid, Signal::SIGKILL);
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
}

/// The children this process was started with (inherited across the
/// execve that started it), noted by `main` before it forks anything.
static INHERITED_CHILDREN: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();

fn note_inherited_children() {
    if let Some(children) = children_now() {
        let _ = INHERITED_CHILDREN.set(children);
    }
}

/// Whether every child left is one we were started with. False when there
/// were none such (the usual case: then the wait goes on to ECHILD, for
/// tracees that are not our children too), or when procfs can't say.
fn only_inherited_children_left() -> bool {
    let Some(inherited) = INHERITED_CHILDREN.get().filter(|pids| !pids.is_empty()) else {
        return false;
    };
    children_now().is_some_and(|now| now.iter().all(|pid| inherited.contains(pid)))
}

/// This process's children, from /proc/self/task/TID/children (every
/// thread's: a child belongs to the thread that forked it). `None` where
/// the kernel lacks those files (CONFIG_PROC_CHILDREN).
fn children_now() -> Option<Vec<i32>> {
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).ok()?;
        children.extend(
            list.split_whitespace()
                .filter_map(|pid| pid.parse::<i32>().ok()),
        );
    }
    Some(children)
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
    fn long_command_lines_are_abbreviated() {
        let command =
            |args: &[&str]| -> Vec<OsString> { args.iter().map(OsString::from).collect() };
        assert_eq!(abbreviated(&command(&["ls", "-l"])), "ls -l");
        let exactly = "a".repeat(128);
        assert_eq!(abbreviated(&command(&[&exactly])), exactly);
        let longer = format!("{exactly} b");
        assert_eq!(abbreviated(&command(&[&longer])), format!("{exactly}..."));
        // Cut by characters, not bytes: a multi-byte character stays whole.
        let wide = "й".repeat(140);
        assert_eq!(
            abbreviated(&command(&[&wide])),
            format!("'{}'...", "й".repeat(128))
        );
        let many: Vec<String> = (0..100_000).map(|n| n.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let shown = abbreviated(&command(&many));
        assert!(shown.starts_with("0 1 2 "), "{shown}");
        assert!(shown.ends_with(" 30 31 ..."), "{shown}");
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

    /// The exit code and message for a program that can't be started.
    fn refusal(result: Result<PathBuf>) -> (u8, String) {
        let exit = result.unwrap_err().downcast::<ExitWith>().unwrap();
        (exit.code, exit.message)
    }

    fn refusal_of(path: &Path) -> (u8, String) {
        refusal(find_executable(path.as_os_str()))
    }

    /// A fresh directory under the system's temp dir, removed afterwards.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir = env::temp_dir().join(format!("workbook-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        /// A file with these permission bits.
        fn file(&self, name: &str, mode: u32) -> PathBuf {
            use std::os::unix::fs::PermissionsExt;
            let path = self.0.join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_reason_a_path_cant_run_is_the_errnos() {
        let dir = TempDir::new("reasons");
        let looping = dir.0.join("loop");
        std::os::unix::fs::symlink(&looping, &looping).unwrap();
        let shown = |path: &Path, reason: &str| format!("{}: {reason}", path.display());
        assert_eq!(
            refusal_of(&looping),
            (126, shown(&looping, "Too many levels of symbolic links"))
        );
        let long = dir.0.join("x".repeat(300));
        assert_eq!(refusal_of(&long), (126, shown(&long, "File name too long")));
        let longer = dir.0.join(["d"; 2100].join("/"));
        assert_eq!(
            refusal_of(&longer),
            (126, shown(&longer, "File name too long"))
        );
        let plain = dir.file("plain", 0o644);
        assert_eq!(
            refusal_of(&plain),
            (126, shown(&plain, "Permission denied"))
        );
        let under_a_file = plain.join("x");
        assert_eq!(
            refusal_of(&under_a_file),
            (126, shown(&under_a_file, "Not a directory"))
        );
        assert_eq!(refusal_of(&dir.0), (126, shown(&dir.0, "Is a directory")));
        let dangling = dir.0.join("dangling");
        std::os::unix::fs::symlink(dir.0.join("nowhere"), &dangling).unwrap();
        assert_eq!(
            refusal_of(&dangling),
            (127, shown(&dangling, "No such file or directory"))
        );
        let script = dir.file("script", 0o755);
        assert_eq!(find_executable(script.as_os_str()).unwrap(), script);
    }

    /// Root may execute a file with any x bit; anyone else needs the bit of
    /// their class (the owner's, for the owner).
    #[test]
    fn any_x_bit_is_enough_for_root_only() {
        let dir = TempDir::new("xbit");
        let group_only = dir.file("group-only", 0o010);
        let root = nix::unistd::geteuid().is_root();
        assert_eq!(find_executable(group_only.as_os_str()).is_ok(), root);
    }

    #[test]
    fn path_search_passes_over_what_it_may_not_run() {
        let dir = TempDir::new("search");
        for sub in ["a", "b", "c", "d"] {
            std::fs::create_dir(dir.0.join(sub)).unwrap();
        }
        dir.file("a/prog", 0o644);
        std::fs::create_dir(dir.0.join("b/prog")).unwrap();
        let found = dir.file("c/prog", 0o755);
        let path = |subs: &[&str]| env::join_paths(subs.iter().map(|sub| dir.0.join(sub))).unwrap();
        let prog = OsStr::new("prog");
        assert_eq!(
            search_path(prog, &path(&["a", "missing", "b", "c"])).unwrap(),
            found
        );
        // Found, but not executable: execvp's EACCES, naming the first one.
        assert_eq!(
            refusal(search_path(prog, &path(&["missing", "a", "b"]))),
            (
                126,
                format!("{}: Permission denied", dir.0.join("a/prog").display())
            )
        );
        assert_eq!(
            refusal(search_path(prog, &path(&["b", "d"]))),
            (
                126,
                format!("{}: Permission denied", dir.0.join("b/prog").display())
            )
        );
        assert_eq!(
            refusal(search_path(prog, &path(&["d", "missing"]))),
            (127, "prog: command not found".into())
        );
        // An error other than "not here" or "not allowed" ends the search.
        let looping = dir.0.join("d/prog");
        std::os::unix::fs::symlink(&looping, &looping).unwrap();
        assert_eq!(
            refusal(search_path(prog, &path(&["d", "c"]))),
            (
                126,
                format!("{}: Too many levels of symbolic links", looping.display())
            )
        );
    }

    /// A program in a directory we may not search: Permission denied, 126.
    /// Root may search any directory, so as root the test runs itself again
    /// as nobody.
    #[test]
    fn a_directory_we_may_not_search_is_permission_denied() {
        const NAME: &str = "process::tests::a_directory_we_may_not_search_is_permission_denied";
        if nix::unistd::geteuid().is_root() {
            use std::os::unix::process::CommandExt;
            let output = std::process::Command::new(env::current_exe().unwrap())
                .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
                .uid(65534)
                .gid(65534)
                .output()
                .unwrap();
            let report = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "as nobody: {report}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(
                report.contains("1 passed"),
                "the test did not run as nobody: {report}"
            );
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("unsearchable");
        std::fs::create_dir(dir.0.join("locked")).unwrap();
        let prog = dir.file("locked/prog", 0o755);
        assert!(find_executable(prog.as_os_str()).is_ok());
        let set_mode = |mode| {
            std::fs::set_permissions(dir.0.join("locked"), std::fs::Permissions::from_mode(mode))
                .unwrap()
        };
        set_mode(0o600);
        let result = find_executable(prog.as_os_str());
        let prog_dir = env::join_paths([dir.0.join("locked")]).unwrap();
        let searched = search_path(OsStr::new("prog"), &prog_dir);
        set_mode(0o755);
        assert_eq!(
            refusal(result),
            (126, format!("{}: Permission denied", prog.display()))
        );
        assert_eq!(
            refusal(searched),
            (126, format!("{}: Permission denied", prog.display()))
        );
    }
}

/// The `-- CMD ARGS...` part of a demo's command line, shared by every demo
/// that runs a command.
///
/// Everything from the command's name on is the command's own (`ls -l`
/// needs no `--`), but before it a word that starts with `-` is the demo's:
/// a misspelt flag such as `--blok` is refused by clap, with a suggestion
/// and exit code 2, instead of being run as a program. A command whose
/// name starts with `-` comes after `--`.
#[derive(Debug, clap::Args)]
pub struct CommandArgs {
    /// The command to run, with its arguments. Without one, a built-in target.
    #[arg(trailing_var_arg = true, value_name = "CMD ARGS")]
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

/// How long any one run of a demo may take in a test. A tracer that hangs
/// fails its test after this long, not after CI's 90 minutes.
pub const TIME_LIMIT_SECS: u32 = 60;

/// Arms a time limit for `command`: alarm(2) in the child, just before it
/// executes. An alarm survives execve, so the demo itself gets SIGALRM after
/// `TIME_LIMIT_SECS` and dies of it; PTRACE_O_EXITKILL then takes its tracees
/// along. Forked children don't inherit the alarm, so only the demo is timed.
/// For `assert_cmd_snapshot!(limited(&mut command))`; a hang then shows as a
/// snapshot whose exit is SIGALRM. Use `run` for a clear panic message.
pub fn limited(command: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: alarm(2) is async-signal-safe and touches no memory.
    unsafe {
        command.pre_exec(|| {
            libc::alarm(TIME_LIMIT_SECS);
            Ok(())
        });
    }
    command
}

/// Runs `command` to completion under the time limit and returns its
/// output; panics with a message naming the command if it ran past it.
pub fn run(command: &mut std::process::Command) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    let shown = format!("{command:?}");
    let output = limited(command)
        .output()
        .unwrap_or_else(|error| panic!("could not start {shown}: {error}"));
    if output.status.signal() == Some(libc::SIGALRM) {
        panic!(
            "{shown} ran past the {TIME_LIMIT_SECS} s time limit (a hang?); stderr so far:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}
