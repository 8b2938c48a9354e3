//! Programs that took gdb's behaviour to match: io_uring's kernel threads
//! in the process, odd program paths, IFUNC and versioned symbols in libc,
//! libraries loaded by dlopen, code run before main, CLONE_VM children.
//! gdb is the spec; these tests check the demo's own behaviour, and the
//! ones marked "needs gdb" compare with gdb itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use insta_cmd::get_cargo_bin;
use workbook::arch::FUNCTION_ARGS;

#[path = "common/hits.rs"]
mod hits;
use hits::first_arguments;

/// The demo, killed if it runs past the time limit.
fn demo() -> Command {
    let mut command = Command::new(get_cargo_bin("breakpoint"));
    workbook::testing::limited(&mut command);
    command
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A fresh directory, removed afterwards. Its name is this test run's
/// own and this directory's own: tests run in parallel, several on the
/// same built-in target.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("breakpoint-{tag}-{}-{number}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo with `--break BREAKS...` on a built-in target run as
/// `builtin:NAME ARGS` from PATH (a symlink named so in a fresh directory:
/// argv[0] picks the target), so that the breakpoints go into the target
/// itself, not into a shell that execs it.
fn builtin(name: &str, args: &[&str], breaks: &[&str]) -> Output {
    let dir = TempDir::new(&format!("hostile-{name}"));
    let link = format!("builtin:{name}");
    std::os::unix::fs::symlink(get_cargo_bin("breakpoint"), dir.path().join(&link)).unwrap();
    let search = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = demo();
    command.env("PATH", search);
    for spec in breaks {
        command.args(["--break", spec]);
    }
    workbook::testing::run(command.arg("--").arg(&link).args(args))
}

/// io_uring's worker (iou-wrk-N) and submission (iou-sqp-N) threads are
/// threads of the process that are no tracees: no SIGSTOP stops them, and
/// the step-over must not wait for them. Five hits, as gdb has.
#[test]
fn io_uring_threads_do_not_hang_the_step_over() {
    for mode in [None, Some("sqpoll")] {
        let args: Vec<&str> = mode.into_iter().collect();
        let output = builtin("io-uring", &args, &["target_fn"]);
        let (stdout, stderr) = text(&output);
        if stdout.contains("io_uring not available") {
            eprintln!("skipped: {}", stdout.lines().next().unwrap_or_default());
            return;
        }
        assert_eq!(output.status.code(), Some(0), "{mode:?}: {stderr}");
        assert!(
            stdout.starts_with("target: io_uring worker thread running\n"),
            "{mode:?}: {stdout}"
        );
        assert_eq!(
            first_arguments(&stderr),
            ["0x1", "0x2", "0x3", "0x4", "0x5"],
            "{mode:?}: {stderr}"
        );
    }
}

/// A program whose path has two spaces in a row, a newline and a trailing
/// space: /proc/PID/maps shows the newline as `\012`, and the path is the
/// rest of the line, spaces and all. The built-in target, linked there.
#[test]
fn a_program_path_with_spaces_and_a_newline() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("odd  dir\nname {}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("builtin:breakme");
    if std::fs::hard_link(get_cargo_bin("breakpoint"), &program).is_err() {
        std::fs::copy(get_cargo_bin("breakpoint"), &program).unwrap();
    }
    let search = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = workbook::testing::run(demo().env("PATH", search).args([
        "--break",
        "target_fn",
        "--",
        "builtin:breakme",
    ]));
    let _ = std::fs::remove_dir_all(&dir);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(first_arguments(&stderr), ["0x4", "0x8", "0xc"], "{stderr}");
    assert!(
        stderr.contains("odd  dir\\nname "),
        "the path on one line: {stderr}"
    );
}

/// strlen is an IFUNC in glibc: its symbol is a resolver, which returns
/// the implementation for this CPU. The demo runs it, as gdb does, and
/// breaks where the program's calls go: a 12-byte strlen is among the hits.
#[test]
fn an_ifunc_breaks_on_the_implementation_called() {
    let output = builtin("breakme", &["libc"], &["strlen"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout, "target: strlen = 12, memcpy copied 12345\n",
        "{stderr}"
    );
    assert!(
        stderr.contains("strlen is an IFUNC: its resolver"),
        "{stderr}"
    );
    assert!(!first_arguments(&stderr).is_empty(), "no hit: {stderr}");
}

/// memcpy has two versions in glibc: the old memcpy@GLIBC_2.2.5 and the
/// default memcpy@@GLIBC_2.14 (an IFUNC), which programs call. The demo's
/// memcpy is the default one: the 12345-byte (0x3039) copy is a hit.
#[test]
fn a_versioned_symbol_is_its_default_version() {
    let output = builtin("breakme", &["libc"], &["memcpy"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.lines().any(|line| line.contains(" hit ")
            && line.ends_with(&format!(" {}=0x3039", FUNCTION_ARGS[2]))),
        "no hit of memcpy(.., .., 12345): {stderr}"
    );
}

/// ilogb is in libm, which the target loads with dlopen: the breakpoint
/// is pending, as in gdb, until the dynamic loader says (at r_brk) that a
/// library came; then it is planted, and both calls are hits.
#[test]
fn a_function_of_a_library_loaded_later_is_a_pending_breakpoint() {
    let output = builtin("breakme", &["dlopen"], &["ilogb"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout, "target: ilogb(8) = 3, ilogb(1024) = 10\n",
        "{stderr}"
    );
    assert!(stderr.contains("Breakpoint (ilogb) pending."), "{stderr}");
    assert!(stderr.trim_end().ends_with(") was hit 2 times"), "{stderr}");
}

/// A symbol that never appears is not fatal: the program runs as it would,
/// and the end says the breakpoint stayed pending, naming the files searched.
#[test]
fn a_symbol_that_never_appears_is_reported_at_the_end() {
    let output = builtin("breakme", &[], &["no_such_function", "target_fn"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert_eq!(first_arguments(&stderr), ["0x4", "0x8", "0xc"], "{stderr}");
    assert!(
        stderr.contains(
            "breakpoint: --break no_such_function: still pending at the end: \
             no symbol 'no_such_function' in /"
        ),
        "{stderr}"
    );
}

/// A library whose constructor calls lib_fn(7) before main, and a program
/// linked with it that calls lib_fn(9) from main.
const CONSTRUCTOR_LIBRARY: &str = r#"
#include <stdio.h>
__attribute__((noinline)) int lib_fn(int n) { __asm__ volatile(""); return n * 2; }
__attribute__((constructor)) static void set_up(void) { printf("constructor: %d\n", lib_fn(7)); }
"#;
const CONSTRUCTOR_PROGRAM: &str = r#"
#include <stdio.h>
int lib_fn(int n);
int main(void) { printf("main: %d\n", lib_fn(9)); return 0; }
"#;

/// `cc ARGS`, which must succeed.
fn cc(args: &[&std::ffi::OsStr]) {
    let output = workbook::testing::run(Command::new("cc").args(args));
    assert!(
        output.status.success(),
        "cc: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A library's constructor runs before main: the dynamic loader calls it
/// once every library is mapped and relocated, before the program's entry
/// point. gdb, which follows the loader from the start, breaks there; so
/// must the demo: both calls are hits, the constructor's first.
#[test]
#[ignore = "needs cc"]
fn a_call_from_a_library_constructor_before_main_is_a_hit() {
    let dir = TempDir::new("constructor");
    let (lib_c, main_c) = (dir.path().join("lib.c"), dir.path().join("main.c"));
    std::fs::write(&lib_c, CONSTRUCTOR_LIBRARY).unwrap();
    std::fs::write(&main_c, CONSTRUCTOR_PROGRAM).unwrap();
    let (library, program) = (dir.path().join("libctor.so"), dir.path().join("prog"));
    cc(&[
        "-O2".as_ref(),
        "-shared".as_ref(),
        "-fPIC".as_ref(),
        "-o".as_ref(),
        library.as_ref(),
        lib_c.as_ref(),
    ]);
    let rpath = format!("-Wl,-rpath,{}", dir.path().display());
    let search = format!("-L{}", dir.path().display());
    cc(&[
        "-o".as_ref(),
        program.as_ref(),
        main_c.as_ref(),
        search.as_ref(),
        "-lctor".as_ref(),
        rpath.as_ref(),
    ]);
    let output = workbook::testing::run(demo().args(["--break", "lib_fn", "--"]).arg(&program));
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "constructor: 14\nmain: 18\n", "{stderr}");
    assert_eq!(first_arguments(&stderr), ["0x7", "0x9"], "{stderr}");
    if let Some(gdbs) = gdb_hits_of(&program, "lib_fn") {
        assert_eq!(
            first_arguments(&stderr),
            gdbs,
            "breakpoint (left) and gdb (right) disagree"
        );
    }
}

/// A process made by clone(CLONE_VM | SIGCHLD) runs in its parent's
/// memory at the same time as its parent. While the demo lifts the int3
/// to step one of them over it, the other must be stopped too, as a
/// thread is, or it runs through target_fn unseen: every call is a hit.
#[test]
fn a_clone_vm_child_is_stopped_during_the_step_over() {
    let output = builtin("breakme", &["clone-vm"], &["target_fn"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout, "target: target_fn called 1000 times in the process, 1000 in its CLONE_VM child\n",
        "{stderr}"
    );
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("breakpoint: target_fn (") && summary.ends_with(") was hit 2000 times"),
        "{summary}"
    );
}

/// floorf is an IFUNC in libm, which the target loads with dlopen: the
/// loader announces libm before it relocates it, when its resolver can't
/// run yet. The end says so, not that there is no such symbol. (x86_64's
/// libm only: arm64's floorf is one instruction, frintm, for every CPU.)
#[test]
#[cfg(target_arch = "x86_64")]
fn an_ifunc_of_a_library_loaded_later_is_reported_as_such() {
    let output = builtin("breakme", &["dlopen"], &["floorf"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("no symbol 'floorf'"), "{stderr}");
    assert!(
        stderr.contains("--break floorf: still pending at the end: floorf is an IFUNC of /"),
        "{stderr}"
    );
}

/// strlen called 3 times from main on a string the program names (its
/// address, printed), through a volatile pointer so that the compiler
/// keeps every call.
const STATIC_STRLEN: &str = r#"
#include <stdio.h>
#include <string.h>
static char text[] = "a string of 29 characters....";
int main(void) {
    char *volatile p = text;
    size_t total = 0;
    for (int i = 0; i < 3; i++) total += strlen(p);
    printf("%p %zu\n", (void *)text, total);
    return 0;
}
"#;

/// In a statically linked program glibc picks an IFUNC's implementation
/// itself, after the entry point: __libc_start_main initialises the CPU
/// features, then calls every resolver (apply_irel) and stores what it
/// returns in the GOT slot the program calls through. A resolver run at
/// the entry point answered with a baseline implementation
/// (__strlen_sse2) the program never calls (__strlen_avx2): 0 hits. The
/// demo follows the program's own call of the resolver, as gdb does, and
/// breaks where it returns: the 3 calls from main are hits, and with
/// -static as many hits in all as gdb has (libc's own calls before main
/// included). gdb 13 mistakes a static PIE's IFUNC for a plain function
/// and breaks on the resolver itself: no comparison there.
#[test]
#[ignore = "needs cc"]
fn an_ifunc_in_a_static_program_breaks_where_the_program_calls() {
    let dir = TempDir::new("static-ifunc");
    let source = dir.path().join("prog.c");
    std::fs::write(&source, STATIC_STRLEN).unwrap();
    for flag in ["-static", "-static-pie"] {
        let program = dir.path().join(format!("prog{flag}"));
        let built = workbook::testing::run(
            Command::new("cc")
                .args(["-O0", flag, "-o"])
                .arg(&program)
                .arg(&source),
        );
        if !built.status.success() {
            // cc is there (the test needs it) but not a static libc (libc.a).
            eprintln!(
                "skipped {flag}: cc {flag} failed, no static libc? {}",
                String::from_utf8_lossy(&built.stderr)
            );
            continue;
        }
        let output = workbook::testing::run(demo().args(["--break", "strlen", "--"]).arg(&program));
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{flag}: {stderr}");
        let (text_at, total) = stdout.trim_end().split_once(' ').unwrap();
        assert_eq!(total, "87", "{flag}: {stdout}");
        let hits = first_arguments(&stderr);
        let ours = hits.iter().filter(|rdi| *rdi == text_at).count();
        assert_eq!(ours, 3, "{flag}: hits of strlen({text_at}): {stderr}");
        if flag == "-static" {
            if let Some(gdbs) = gdb_hits_of(&program, "strlen") {
                assert_eq!(hits.len(), gdbs.len(), "breakpoint {hits:?}, gdb {gdbs:?}");
            }
        }
    }
}

/// rdi at each hit of `symbol` under gdb (`$1 = 0x7`), its breakpoint
/// pending until a library that has it is loaded; `None` without gdb.
fn gdb_hits_of(program: &Path, symbol: &str) -> Option<Vec<String>> {
    let script = program.with_extension("gdb");
    std::fs::write(
        &script,
        format!(
            "set pagination off\nset breakpoint pending on\nbreak {symbol}\n\
             commands 1\nsilent\nprint/x ${}\ncontinue\nend\nrun\n",
            FUNCTION_ARGS[0]
        ),
    )
    .unwrap();
    let output = Command::new("gdb")
        .args(["-batch", "-nx", "-x"])
        .arg(&script)
        .arg(program)
        .output();
    let Ok(output) = output else {
        eprintln!("no gdb: the comparison with gdb is skipped");
        return None;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("exited normally"), "gdb: {stdout}");
    Some(
        stdout
            .lines()
            .filter_map(|line| Some(line.strip_prefix('$')?.split_once(" = ")?.1.to_string()))
            .collect(),
    )
}
