//! A program to run, as a shell would start it: its command line, its
//! label in the narration, the PATH lookup with a shell's exit codes (127,
//! 126) for what can't be run, and the `-- CMD ARGS...` part of a demo's
//! command line.

use std::env;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;

use crate::process::ExitWith;

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

/// An argument as a shell user would type it: `socket`, `''`, `'a b'`.
pub(crate) fn shell_quote(arg: &str) -> String {
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
        const NAME: &str = "program::tests::a_directory_we_may_not_search_is_permission_denied";
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
