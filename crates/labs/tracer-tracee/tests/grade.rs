//! Grading tests for lab-tracer-tracee. Every test runs a command the test
//! makes up at random (`sh -c 'echo R1; read line < FIFO; echo "$line";
//! ...'`) and checks, while the command waits on the FIFO, that the kernel
//! lists the lab as its tracer; only then does the command get R2, a second
//! random value, which it must print. Printing the expected lines is not
//! enough. The demo's snapshots are compared too. Each test's points are in
//! lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use insta_cmd::get_cargo_bin;
use workbook::testing::random_u64;
use workbook::testing::Transcript;

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-tracer-tracee"));
    workbook::testing::limited(&mut command);
    command
}

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours = Transcript::of_run(lab().args(args), ("lab-tracer-tracee", "tracer-tracee"));
    let demo = Transcript::of_demo("tracer-tracee", snapshot);
    ours.assert_same_as(&demo, &format!("lab-tracer-tracee {}", args.join(" ")));
}

/// A folder of this test's own under /tmp, with a random name; removed at
/// the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let path = std::env::temp_dir().join(format!("lab-tracer-tracee-{:016x}", random_u64()));
        fs::create_dir(&path).expect("making a folder under /tmp");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A field of /proc/PID/status ("" when the process is gone).
fn status_field(pid: u32, field: &str) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The children of `parent`, from /proc.
fn children(parent: u32) -> Vec<u32> {
    let wanted = parent.to_string();
    fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| status_field(pid, "PPid:") == wanted)
        .collect()
}

/// Opens `fifo` for writing once somebody reads it; `None` if nobody does
/// within `wait`.
fn open_for_writing(fifo: &Path, wait: Duration) -> Option<fs::File> {
    let deadline = Instant::now() + wait;
    loop {
        match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo)
        {
            Ok(file) => return Some(file),
            Err(error) if error.raw_os_error() == Some(libc::ENXIO) => {}
            Err(error) => panic!("opening {}: {error}", fifo.display()),
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// What a traced run gave: the program's stdout after its first line, the
/// lab's exit code and its stderr.
struct Run {
    rest: String,
    code: Option<i32>,
    stderr: String,
}

/// Runs `sh -c 'echo R1; read line < FIFO; echo "$line"; TAIL'` under the
/// lab, with R1 and R2 random. While sh waits for the FIFO, the kernel
/// must list it as the lab's child, running that command line, traced by
/// the lab; only then does it get R2. Its stdout must be R1 and R2, then
/// whatever `tail` prints.
fn traced_run(tail: &str) -> Run {
    let scratch = Scratch::new();
    let fifo = scratch.0.join("go");
    let path = std::ffi::CString::new(fifo.to_str().expect("a UTF-8 path")).expect("no NUL");
    // SAFETY: `path` is NUL-terminated.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    let (first, second) = (
        format!("{:016x}", random_u64()),
        format!("{:016x}", random_u64()),
    );
    let script = format!(
        "echo {first}; read line < {}; echo \"$line\"; {tail}",
        fifo.display()
    );
    let mut child = lab()
        .args(["--", "sh", "-c", &script])
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting lab-tracer-tracee");
    let lab_pid = child.id();
    let cmdline = format!("sh\0-c\0{script}\0");
    // The program: the lab's child, running our command line.
    let deadline = Instant::now() + Duration::from_secs(10);
    let program = loop {
        let found = children(lab_pid).into_iter().find(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() == cmdline.as_bytes()
        });
        if let Some(pid) = found {
            break Some(pid);
        }
        if Instant::now() >= deadline || matches!(child.try_wait(), Ok(Some(_))) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let tracer = program.map(|pid| status_field(pid, "TracerPid:"));
    let traced = tracer.as_deref() == Some(lab_pid.to_string().as_str());
    if traced {
        // Let it go on, with R2.
        if let Some(mut go) = open_for_writing(&fifo, Duration::from_secs(10)) {
            let _ = go.write_all(format!("{second}\n").as_bytes());
        }
    } else {
        // The lab and whatever it started (in its process group).
        // SAFETY: kill takes plain numbers.
        unsafe { libc::kill(-(lab_pid as libc::pid_t), libc::SIGKILL) };
    }
    let output: Output = child.wait_with_output().expect("waiting for the lab");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match (program, &tracer) {
        (None, _) => panic!(
            "the lab (pid {lab_pid}) never had a child running sh -c {script:?}\n{stdout}{stderr}"
        ),
        (Some(pid), Some(tracer)) if !traced => panic!(
            "the program, pid {pid}, is traced by {tracer:?}, not by the lab (pid {lab_pid})\n{stderr}"
        ),
        _ => {}
    }
    let Some(rest) = stdout.strip_prefix(&format!("{first}\n{second}\n")) else {
        panic!("the program printed {stdout:?}, not {first} then {second}\n{stderr}");
    };
    Run {
        rest: rest.to_string(),
        code: output.status.code(),
        stderr,
    }
}

/// The program runs traced by the lab, prints what it must and exits with
/// a random status, which the lab's is. And the built-in target runs as
/// under the demo.
#[test]
fn the_program_runs_traced_as_under_the_demo() {
    let code = 1 + (random_u64() % 125) as i32;
    let run = traced_run(&format!("exit {code}"));
    assert_eq!(run.rest, "", "{}", run.stderr);
    assert_eq!(run.code, Some(code), "{}", run.stderr);
    same_as_demo(&[], "builtin_target_gets_its_signal");
}

/// Killed by a random signal, the program's status is 128 + N, and so is
/// the lab's; as in the demo's snapshots for `exit 3` and `kill -TERM $$`.
#[test]
fn the_programs_exit_status_is_the_demos() {
    // Signals whose default action ends the process (no core dump), none
    // of them ignored by a shell or by Rust (SIGPIPE) when it starts.
    let mut fatal = vec![
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGTERM,
        libc::SIGSTKFLT,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
    ];
    fatal.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    let signal = fatal[(random_u64() % fatal.len() as u64) as usize];
    let run = traced_run(&format!("kill -{signal} $$"));
    assert_eq!(run.rest, "", "{}", run.stderr);
    assert_eq!(
        run.code,
        Some(128 + signal),
        "killed by signal {signal}: {}",
        run.stderr
    );
    same_as_demo(
        &["--", "sh", "-c", "echo from the tracee; exit 3"],
        "exit_status_is_the_tracees",
    );
    same_as_demo(
        &["--", "sh", "-c", "kill -TERM $$"],
        "killed_tracee_gives_128_plus_signal",
    );
}

/// Programs that are there but that execve refuses, made up at random: a
/// script whose interpreter is missing (ENOENT: 127) and one whose
/// interpreter is not executable (EACCES: 126). The child's execvp fails,
/// and the exit status is the shell's, with the reason and the program's
/// name. (And a program that execve takes runs traced.)
#[test]
fn a_program_execvp_refuses_exits_126_or_127() {
    let run = traced_run("exit 0");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let scratch = Scratch::new();
    let interpreter = scratch
        .0
        .join(format!("interpreter-{:08x}", random_u64() as u32));
    fs::write(&interpreter, "").expect("writing a file");
    let missing = scratch
        .0
        .join(format!("missing-{:08x}", random_u64() as u32));
    let mut cases = vec![
        (missing, 127, "No such file or directory"),
        (interpreter, 126, "Permission denied"),
    ];
    if random_u64() % 2 == 1 {
        cases.reverse();
    }
    for (interpreter, code, reason) in cases {
        let script = scratch
            .0
            .join(format!("script-{:08x}", random_u64() as u32));
        fs::write(&script, format!("#!{}\n", interpreter.display())).expect("writing a script");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
        let output = workbook::testing::run(lab().arg("--").arg(&script));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let name = script.display().to_string();
        assert_eq!(output.status.code(), Some(code), "{name}: {stderr}");
        assert!(
            stderr.contains(reason),
            "{name}: the reason ({reason}) is not given: {stderr}"
        );
        assert!(
            stderr.contains(&name),
            "{name}: the program is not named: {stderr}"
        );
    }
}

/// Under a tracer that makes PTRACE_TRACEME fail (the demo syscall-blocker,
/// which follows the fork), the child exits 1 and the parent must refuse
/// that first status, not carry on. (And a program runs traced otherwise.)
#[test]
fn a_stop_other_than_sigstop_is_refused() {
    let run = traced_run("exit 0");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let blocker = workbook::testing::workspace_bin("syscall-blocker");
    let mut command = Command::new(blocker);
    command
        .args(["--block", "ptrace", "--"])
        .arg(get_cargo_bin("lab-tracer-tracee"));
    let output = workbook::testing::run(&mut command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unexpected wait status: 0x100 (exited with status 1)"),
        "first_stop must refuse the status of a child that exited 1: {stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
}
