//! gdb is the spec: the same breakpoint gives the same hits with the same
//! first argument. And --count counts the same instructions every time.

use std::path::{Path, PathBuf};
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::arch::FUNCTION_ARGS;

#[path = "common/hits.rs"]
mod hits;
use hits::{first_arg, first_arguments};

/// The demo, killed if it runs past the time limit.
fn demo() -> Command {
    let mut command = Command::new(get_cargo_bin("breakpoint"));
    workbook::testing::limited(&mut command);
    command
}

/// A fresh directory for compiled programs, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("breakpoint-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// `source` compiled with `cc FLAGS`.
    fn compile(&self, name: &str, source: &str, flags: &[&str]) -> PathBuf {
        let c = self.0.join(format!("{name}.c"));
        std::fs::write(&c, source).unwrap();
        let exe = self.0.join(name);
        let output =
            workbook::testing::run(Command::new("cc").args(flags).arg("-o").arg(&exe).arg(&c));
        assert!(
            output.status.success(),
            "cc: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        exe
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// target_fn called with rdi = 3, 6, ... 15; then printf and write.
const PROGRAM: &str = r#"
#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) long target_fn(long n, long seed) { return n * n + seed; }
int main(void) {
    long total = 0;
    for (long i = 1; i <= 5; i++) total += target_fn(i * 3, 0x5eed0000 + i);
    printf("total %ld\n", total);
    fflush(stdout);
    write(1, "bye\n", 4);
    return 3;
}
"#;

/// rdi at each hit, as gdb prints it (`$1 = 0x3`).
fn gdb_hits(program: &Path, symbol: &str, after_main: bool) -> Vec<String> {
    let dir = program.parent().unwrap();
    let script = dir.join(format!("{symbol}.gdb"));
    let (number, start) = if after_main {
        (2, "break main\nrun\n")
    } else {
        (1, "")
    };
    let run = if after_main { "continue" } else { "run" };
    std::fs::write(
        &script,
        format!(
            "set pagination off\n{start}break *{symbol}\ncommands {number}\nsilent\nprint/x ${}\ncontinue\nend\n{run}\n",
            FUNCTION_ARGS[0]
        ),
    )
    .unwrap();
    let output = workbook::testing::run(
        Command::new("gdb")
            .args(["-batch", "-nx", "-x"])
            .arg(&script)
            .arg("--args")
            .arg(program),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let hits: Vec<String> = stdout
        .lines()
        .filter_map(|line| Some(line.strip_prefix('$')?.split_once(" = ")?.1.to_string()))
        .collect();
    assert!(stdout.contains("exited with code 03"), "gdb: {stdout}");
    hits
}

/// rdi at each hit, from the demo's `hit N at ...: rdi=0x...` lines.
fn demo_hits(program: &Path, symbol: &str) -> Vec<String> {
    let output = workbook::testing::run(demo().args(["--break", symbol, "--"]).arg(program));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "total 7962952190\nbye\n",
        "{stderr}"
    );
    first_arguments(&stderr)
}

fn same_hits_as_gdb(flags: &[&str], symbol: &str, after_main: bool, wanted: &[&str]) {
    let dir = TempDir::new(&format!("gdb-{}-{symbol}", flags.join("")));
    let program = dir.compile("prog", PROGRAM, flags);
    let ours = demo_hits(&program, symbol);
    let gdbs = gdb_hits(&program, symbol, after_main);
    assert_eq!(ours, gdbs, "breakpoint (left) and gdb (right) disagree");
    assert_eq!(ours, wanted);
}

#[test]
#[ignore = "needs gdb and cc"]
fn same_hits_as_gdb_without_pie() {
    same_hits_as_gdb(
        &["-O0", "-no-pie"],
        "target_fn",
        false,
        &["0x3", "0x6", "0x9", "0xc", "0xf"],
    );
}

#[test]
#[ignore = "needs gdb and cc"]
fn same_hits_as_gdb_in_a_pie() {
    same_hits_as_gdb(
        &["-O0", "-pie", "-fPIE"],
        "target_fn",
        false,
        &["0x3", "0x6", "0x9", "0xc", "0xf"],
    );
}

/// libc's write: resolved in libc.so.6 once it is mapped (gdb: after
/// main is reached). printf's flush and the program's own write: fd 1.
#[test]
#[ignore = "needs gdb and cc"]
fn same_hits_as_gdb_in_libc() {
    same_hits_as_gdb(&["-O0", "-pie", "-fPIE"], "write", true, &["0x1", "0x1"]);
}

/// A program with no C library, its entry point in assembly: a loop of N
/// iterations of two instructions (dec, jnz; on arm64 subs, b.ne), then
/// exit(0). With no libc start-up it is a few steps and 2N, a few seconds
/// even where a single step costs milliseconds (scripts/test-arm64's VM).
const LOOP: &str = r#"
void _start(void) {
#if defined(__aarch64__)
    __asm__ volatile("mov x9, %0\n1: subs x9, x9, #1\n\tb.ne 1b\n\t"
                     "mov x0, #0\n\tmov x8, #93\n\tsvc #0" : : "i"(N) : "x0", "x8", "x9", "cc");
#else
    __asm__ volatile("mov %0, %%rcx\n1: dec %%rcx\n\tjnz 1b\n\t"
                     "xor %%edi, %%edi\n\tmov $60, %%eax\n\tsyscall" : : "i"(N) : "rax", "rcx", "rdi", "r11");
#endif
    __builtin_unreachable();
}
"#;

fn steps(program: &Path) -> u64 {
    let output = workbook::testing::run_within(demo().arg("--count").arg("--").arg(program), 600);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
        .lines()
        .find_map(|line| {
            line.strip_prefix("breakpoint: ")?
                .split_once(" instructions in user space")
        })
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {stderr}"))
}

/// A static program executes the same instructions every time; 1000 more
/// iterations of a two-instruction loop are exactly 2000 more steps.
#[test]
#[ignore = "needs cc"]
fn count_is_exact_for_a_static_program() {
    let dir = TempDir::new("count");
    let flags = ["-static", "-nostdlib", "-O1", "-fno-stack-protector"];
    let program = |n: u32| {
        let define = format!("-DN={n}");
        let flags: Vec<&str> = flags.iter().copied().chain([define.as_str()]).collect();
        dir.compile(&format!("loop{n}"), LOOP, &flags)
    };
    let (thousand, two_thousand) = (program(1000), program(2000));
    let first = steps(&thousand);
    assert_eq!(steps(&thousand), first, "two runs of one static program");
    assert_eq!(steps(&two_thousand), first + 2000);
}

/// vfork and posix_spawn: the child runs in its parent's memory, on the
/// parent's 0xCC bytes, until its execve. Its hits are shown (with its
/// pid), the int3 stays in the parent, and nobody dies of SIGTRAP. (gdb,
/// which detaches such a child, shows only the parent's hits.)
const VFORK: &str = r#"
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
__attribute__((noinline)) long target_fn(long n) { return n + 1; }
int main(void) {
    int status;
    target_fn(1);
    pid_t pid = vfork();
    if (pid == 0) {
        target_fn(2);
        execl("/bin/echo", "echo", "child", (char *)0);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    char *argv[] = {"echo", "spawned", 0};
    posix_spawn(&pid, "/bin/echo", 0, 0, argv, environ);
    waitpid(pid, &status, 0);
    target_fn(3);
    return 0;
}
"#;

#[test]
#[ignore = "needs cc"]
fn vfork_children_run_on_the_parents_breakpoints() {
    let dir = TempDir::new("vfork");
    let program = dir.compile("vfork", VFORK, &["-O0"]);
    let output = workbook::testing::run(
        demo()
            .args(["--break", "target_fn", "--break", "execve", "--"])
            .arg(&program),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "child\nspawned\n",
        "{stderr}"
    );
    let of_target_fn: String = stderr
        .lines()
        .filter(|line| line.contains("at target_fn"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        first_arguments(&of_target_fn),
        ["0x1", "0x2", "0x3"],
        "{stderr}"
    );
    assert!(stderr.contains("execve ("), "{stderr}");
    assert!(stderr.contains(") was hit 2 times"), "{stderr}");
}

/// gdb on the built-in target, through the exec-wrapper that gives it its
/// argv[0]; `set language c` because gdb takes a Rust binary's minimal
/// symbols for Rust, which target_fn (assembly) is not.
fn gdb_on_the_builtin_target(commands: &[&str]) -> String {
    let mut gdb = Command::new("gdb");
    gdb.args(["-batch", "-nx", "-ex", "set language c", "-ex"])
        .arg("set exec-wrapper bash -c 'exec -a builtin:breakme \"$0\"'");
    for command in commands {
        gdb.args(["-ex", command]);
    }
    let output = workbook::testing::run(gdb.arg(get_cargo_bin("breakpoint")));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The instruction text of `x/3i`-style lines, addresses left out:
/// `<target_fn+3>:\timul   %rdi,%rax`.
fn listing(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.contains("<target_fn"))
        .filter_map(|line| Some(line[line.find('<')?..].to_string()))
        .collect()
}

/// The demo's default run and gdb's dprintf see the same three calls, and
/// the demo's listing is gdb's `x/3i $pc`, character for character.
#[test]
#[ignore = "needs gdb"]
fn builtin_target_same_hits_and_listing_as_gdb() {
    let output = workbook::testing::run(&mut demo());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let ours: Vec<String> = stderr
        .lines()
        .filter(|line| line.contains(" hit "))
        .filter_map(|line| Some(line.split_once("): ")?.1.to_string()))
        .collect();
    let [a, b, c] = FUNCTION_ARGS;
    let dprintf = format!(r#"dprintf *target_fn,"{a}=%#lx {b}=%#lx {c}=%#lx\n",${a},${b},${c}"#);
    let printed = gdb_on_the_builtin_target(&[&dprintf, "run"]);
    // C's %#lx prints a zero as 0, where the demo (and Rust's {:#x}) says 0x0.
    let gdbs: Vec<String> = printed
        .lines()
        .filter(|line| line.starts_with(&first_arg()))
        .map(|line| {
            line.split(' ')
                .map(|field| match field.split_once('=') {
                    Some((register, "0")) => format!("{register}=0x0"),
                    _ => field.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(ours, gdbs, "breakpoint (left) and gdb (right) disagree");
    assert_eq!(ours.len(), 3);
    let gdb_listing = gdb_on_the_builtin_target(&["break *target_fn", "run", "x/3i $pc", "kill"]);
    assert_eq!(listing(&stderr), listing(&gdb_listing));
    assert_eq!(listing(&stderr).len(), 3, "{stderr}");
}

/// Four threads call target_fn 500 times each while the main thread keeps
/// sending them SIGUSR1: every call must be a hit (the other threads are
/// stopped during each step-over), every result right, every signal
/// handled.
const THREADS: &str = r#"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static volatile sig_atomic_t caught;
static void on_usr1(int sig) { (void)sig; caught++; }
__attribute__((noinline)) long target_fn(long n, long seed) { return n * 2 + seed; }
static void *worker(void *arg) {
    long seed = (long)arg, sum = 0;
    for (long i = 0; i < 500; i++) sum += target_fn(i, seed);
    return (void *)sum;
}
int main(void) {
    signal(SIGUSR1, on_usr1);
    pthread_t threads[4];
    for (long t = 0; t < 4; t++) pthread_create(&threads[t], 0, worker, (void *)t);
    for (int k = 0; k < 20; k++) {
        for (int t = 0; t < 4; t++) pthread_kill(threads[t], SIGUSR1);
        usleep(1000);
    }
    long total = 0;
    for (int t = 0; t < 4; t++) {
        void *sum;
        pthread_join(threads[t], &sum);
        total += (long)sum;
    }
    printf("total %ld\n", total);
    return caught > 0 ? 0 : 1;
}
"#;

#[test]
#[ignore = "needs cc"]
fn every_call_in_every_thread_is_a_hit() {
    let dir = TempDir::new("threads");
    let program = dir.compile("threads", THREADS, &["-O0", "-pthread"]);
    for round in 0..3 {
        let output =
            workbook::testing::run(demo().args(["--break", "target_fn", "--"]).arg(&program));
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Each thread: sum of 2i for i < 500, plus 500 times its seed t.
        let total = 4 * 249_500 + 500 * (1 + 2 + 3);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("total {total}\n"),
            "round {round}: {stderr}"
        );
        assert_eq!(output.status.code(), Some(0), "round {round}: {stderr}");
        let hits = stderr
            .lines()
            .filter(|line| line.contains(&first_arg()))
            .count();
        assert_eq!(
            hits,
            2000,
            "round {round}: {}",
            stderr.lines().last().unwrap_or_default()
        );
        assert!(
            stderr.ends_with("was hit 2000 times\n"),
            "round {round}: {stderr}"
        );
    }
}

/// The breakpoint's own instruction faults (a write to a read-only page):
/// the program's SIGSEGV handler makes the page writable and returns, and
/// must run once, as without the demo; the instruction then runs again,
/// at the breakpoint: a second hit.
const FAULTING: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
static char *page;
static volatile int faults;
static void on_segv(int sig) { (void)sig; faults++; mprotect(page, 4096, PROT_READ | PROT_WRITE); }
__attribute__((noinline)) void poke(char *p) { *p = 0; }
int main(void) {
    page = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    signal(SIGSEGV, on_segv);
    poke(page);
    printf("faults %d\n", faults);
    return 0;
}
"#;

#[test]
#[ignore = "needs cc"]
fn a_faulting_instruction_under_the_breakpoint_faults_once() {
    let dir = TempDir::new("fault");
    // -O1: poke is the one store instruction, then ret (a zero, so that
    // arm64 needs no instruction to make the value: strb wzr, [x0]).
    let program = dir.compile("fault", FAULTING, &["-O1"]);
    let output = workbook::testing::run(demo().args(["--break", "poke", "--"]).arg(&program));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "faults 1\n",
        "{}: {stderr}",
        output.status
    );
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.trim_end().ends_with(") was hit 2 times"), "{stderr}");
}
