//! write-rewriter on its built-in target and on a shell: every write(2)
//! buffer read with process_vm_readv (or PTRACE_PEEKDATA) and rewritten.

use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::testing::{assert_no_orphaned_targets, redactions};

/// The demo, killed if it runs past the time limit.
fn rewriter() -> Command {
    let mut command = Command::new(get_cargo_bin("write-rewriter"));
    workbook::testing::limited(&mut command);
    command
}

#[test]
fn default_run() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter());
    assert_no_orphaned_targets();
}

#[test]
fn peek_run() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter().arg("--peek"));
}

#[test]
fn shell_writes_to_stdout_and_stderr() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter().args([
        "--",
        "sh",
        "-c",
        "echo hello; echo oops >&2"
    ]));
}

#[test]
fn missing_program_exits_127() {
    let _redactions = redactions().bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter().args(["--", "no-such-program-anywhere"]));
}

#[test]
fn the_tracees_output_really_is_rewritten() {
    let output = rewriter().args(["--", "echo", "hello"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "AAAAA\n");
    assert_eq!(output.status.code(), Some(0));
}

/// Children are followed: the writes of a forked process are rewritten too,
/// and the exit status is the first process's.
#[test]
fn children_are_followed() {
    let output = rewriter()
        .args(["--", "sh", "-c", "/bin/echo child; echo parent; exit 4"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "AAAAA\nAAAAAA\n");
    assert_eq!(output.status.code(), Some(4));
}

/// A tracee killed by a signal gives 128+N, as in a shell.
#[test]
fn killed_tracee_gives_128_plus_signal() {
    let output = rewriter()
        .args(["--", "sh", "-c", "kill -KILL $$"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(137));
}

/// Signals are passed on: the shell's trap runs.
#[test]
fn signals_are_passed_on() {
    let output = rewriter()
        .args(["--", "sh", "-c", "trap 'echo trapped' USR1; kill -USR1 $$"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "AAAAAAA\n");
    assert_eq!(output.status.code(), Some(0));
}

/// Runs the built-in target `hostile` (with `args`) under write-rewriter:
/// bash re-executes the demo binary as `builtin:hostile`.
fn rewriter_on_hostile(args: &[&str]) -> Command {
    let mut command = rewriter();
    command
        .args(["--", "bash", "-c", "exec -a builtin:hostile \"$0\" \"$@\""])
        .arg(get_cargo_bin("write-rewriter"))
        .args(args);
    command
}

/// write(1, buf64, 2^40), and lengths of -1, 2^62 and 2^33: the kernel
/// refuses such a range or stops at the first unmapped page, so the tracer
/// leaves the buffer alone instead of writing 'A's over the stack. The
/// target survives, its buffer unchanged, and its normal write still works.
#[test]
fn huge_lengths_are_left_unchanged() {
    let output = workbook::testing::run(&mut rewriter_on_hostile(&[]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    for len in [1u64 << 40, u64::MAX, 1 << 62, 1 << 33] {
        let line = format!("SYS_write(1, len {len})");
        let at = stderr
            .find(&line)
            .unwrap_or_else(|| panic!("no {line} in stderr:\n{stderr}"));
        let narration = stderr[at..].lines().nth(1).unwrap_or_default();
        assert!(
            narration.contains("left unchanged"),
            "{line} is not reported as left unchanged:\n{stderr}"
        );
    }
    // Only the normal write was written to.
    assert_eq!(
        stderr.matches("process_vm_writev").count(),
        1,
        "stderr:\n{stderr}"
    );
    assert!(!stderr.contains("PTRACE_POKEDATA"), "stderr:\n{stderr}");
    // The normal write, rewritten, is the last thing on stdout (before it
    // may come what the kernel copied past the buffer for the huge ones).
    let normal = "still here, and this write is normal\n";
    let rewritten = "A".repeat(normal.len() - 1) + "\n";
    assert!(
        output.stdout.ends_with(rewritten.as_bytes()),
        "stdout ends with {:?}",
        String::from_utf8_lossy(&output.stdout[output.stdout.len().saturating_sub(80)..])
    );
}

/// One valid 3 MiB write is rewritten whole: every byte but the final
/// newline is an 'A', and not one byte past its end is touched.
#[test]
fn a_long_write_is_rewritten_whole() {
    const LONG: usize = 3 << 20;
    let output = workbook::testing::run(&mut rewriter_on_hostile(&["long"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(output.stdout.len(), LONG, "stderr:\n{stderr}");
    let a_count = output.stdout.iter().filter(|&&byte| byte == b'A').count();
    assert_eq!(a_count, LONG - 1, "stderr:\n{stderr}");
    assert_eq!(output.stdout.last(), Some(&b'\n'));
}

/// A script whose `#!` names a missing interpreter: execve fails with
/// ENOENT in the demo's own child, before the program ever starts, and the
/// child's error message is not the program's output: it is left alone.
#[test]
fn a_failed_exec_is_reported_unchanged() {
    // A committed file: one written by the test could be open in another
    // test's forked child at exec time, and execve would say ETXTBSY.
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/missing-interpreter");
    // Without a tracer: execve itself fails with ENOENT.
    let untraced = Command::new(&script).output().unwrap_err();
    assert_eq!(untraced.raw_os_error(), Some(libc::ENOENT));
    let output = workbook::testing::run(rewriter().arg("--").arg(&script));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let enoent = nix::errno::Errno::ENOENT.desc();
    assert!(
        stderr.contains(&format!("{}: {enoent}", script.display())),
        "stderr:\n{stderr}"
    );
    assert!(!stderr.contains("AAAA"), "stderr:\n{stderr}");
    assert!(output.stdout.is_empty());
    // The exit status a shell gives for it: 127, as for a command that is
    // not found.
    let shell = workbook::testing::run(Command::new("sh").args(["-c", "\"$0\""]).arg(&script));
    assert_eq!(shell.status.code(), Some(127));
    assert_eq!(output.status.code(), Some(127), "stderr:\n{stderr}");
}

/// A directory of the test's own, removed when dropped: the files the
/// targets map live here, never among the user's files.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "write-rewriter-{tag}-{}-{:x}",
            std::process::id(),
            workbook::testing::random_u64()
        ));
        std::fs::create_dir(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the built-in target `mapped-writes` (with `args`) under write-rewriter.
fn rewriter_on_mapped_writes(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut command = rewriter();
    command
        .args([
            "--",
            "bash",
            "-c",
            "exec -a builtin:mapped-writes \"$0\" \"$@\"",
        ])
        .arg(get_cargo_bin("write-rewriter"))
        .args(args);
    workbook::testing::run(&mut command)
}

/// A file with known contents in a directory of the test's own.
fn file_with(dir: &TempDir, contents: &[u8]) -> std::path::PathBuf {
    let path = dir.0.join("data");
    std::fs::write(&path, contents).unwrap();
    path
}

const FILE_CONTENTS: &[u8] = b"the file's own contents, which no tracer may change\n";

/// write(1, map, n) from a writable MAP_SHARED mapping of a file: the
/// mapping's pages are the file's pages in the page cache, so writing 'A's
/// there would write them into the file on disk. The buffer is left alone,
/// the narration says why, and the file is as it was.
#[test]
fn a_shared_file_mapping_is_left_unchanged() {
    let dir = TempDir::new("shared");
    let path = file_with(&dir, FILE_CONTENTS);
    let output = rewriter_on_mapped_writes(&["shared".as_ref(), path.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        FILE_CONTENTS,
        "the file was changed; stderr:\n{stderr}"
    );
    assert_eq!(output.stdout, FILE_CONTENTS, "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("shared mapping of {}", path.display())),
        "the narration does not name the shared mapping:\n{stderr}"
    );
    assert!(!stderr.contains("process_vm_writev"), "stderr:\n{stderr}");
    assert!(!stderr.contains("PTRACE_POKEDATA"), "stderr:\n{stderr}");
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
}

/// The same run for the book: the demo runs its target as `./write-rewriter`
/// (a link in the test's directory) on `data` there, so that only the
/// directory's name differs between runs.
#[test]
fn shared_file_mapping_run() {
    let dir = TempDir::new("shared");
    let path = file_with(&dir, FILE_CONTENTS);
    std::os::unix::fs::symlink(
        get_cargo_bin("write-rewriter"),
        dir.0.join("write-rewriter"),
    )
    .unwrap();
    let mut settings = redactions();
    settings.add_filter(r"/\S*/write-rewriter-shared-\d+-[0-9a-f]+", "[DIR]");
    let _redactions = settings.bind_to_scope();
    workbook::assert_limited_snapshot!(rewriter().current_dir(&dir.0).args([
        "--",
        "bash",
        "-c",
        "exec -a builtin:mapped-writes \"$0\" \"$@\"",
        "./write-rewriter",
        "shared",
        "data",
    ]));
    assert_eq!(std::fs::read(&path).unwrap(), FILE_CONTENTS);
}

/// A writable MAP_PRIVATE mapping of a file is the program's own
/// copy-on-write memory: it is rewritten, and the file stays as it was.
#[test]
fn a_private_file_mapping_is_rewritten_and_the_file_kept() {
    let dir = TempDir::new("private");
    let path = file_with(&dir, FILE_CONTENTS);
    let output = rewriter_on_mapped_writes(&["private".as_ref(), path.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        FILE_CONTENTS,
        "the file was changed; stderr:\n{stderr}"
    );
    let rewritten = "A".repeat(FILE_CONTENTS.len() - 1) + "\n";
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        rewritten,
        "stderr:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
}

/// Shared memory that is not a file on disk is still shared: a memfd (a
/// file without a name) and MAP_SHARED|MAP_ANONYMOUS memory are what other
/// processes see too. Both are left alone; the target checks its buffer.
#[test]
fn shared_memory_is_left_unchanged() {
    for (mode, named) in [
        ("memfd", "shared mapping of /memfd:mapped-writes"),
        ("shared-anonymous", "shared anonymous memory"),
    ] {
        let output = rewriter_on_mapped_writes(&[mode.as_ref()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "from shared memory\n",
            "{mode}; stderr:\n{stderr}"
        );
        assert!(
            stderr.contains(named),
            "{mode}: no {named:?} in stderr:\n{stderr}"
        );
        assert_eq!(output.status.code(), Some(0), "{mode}; stderr:\n{stderr}");
    }
}

/// write(2) through `int 0x80` (the i386 ABI, call 4) from a 64-bit
/// process is a write all the same, as strace shows it: rewritten.
// x86_64 only: int 0x80 and x32 are x86_64's ABIs; arm64 has neither.
#[cfg(target_arch = "x86_64")]
#[test]
fn an_int_0x80_write_is_rewritten() {
    let mut command = rewriter();
    command
        .args(["--", "bash", "-c", "exec -a builtin:int80-write \"$0\""])
        .arg(get_cargo_bin("write-rewriter"));
    let output = workbook::testing::run(&mut command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = "written through int 0x80\n";
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "A".repeat(line.len() - 1) + "\n",
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("SYS_write(1, len {}) via int 0x80", line.len())),
        "stderr:\n{stderr}"
    );
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
}
