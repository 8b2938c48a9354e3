//! Grading tests for lab-tracer-tracee. Each run gives the lab a chain of
//! execs of random length, made up per run: copies of sh under random names
//! in a folder of the test's own, each running a script that first makes a
//! file with a random name, then execs the next copy. `--max-execs` is
//! random too. The files show which steps really ran: those past the limit
//! must not exist. The programs the lab names must be the copies that ran,
//! in order, and the lab must end as its killed tracee did (137) or as the
//! chain ended. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::Folder;
use workbook::testing::random_u64;

/// A number in `low..=high`.
fn random_in(low: u32, high: u32) -> u32 {
    low + (random_u64() % u64::from(high - low + 1)) as u32
}

/// A chain of execs, step by step: the program each step runs (a copy of
/// sh) and the file it makes before it execs the next step.
struct Chain {
    _scratch: Folder,
    programs: Vec<PathBuf>,
    files: Vec<PathBuf>,
    /// The last step's exit code.
    code: u8,
}

impl Chain {
    /// `steps` steps; each step's script runs `extra` (shell code) after
    /// making its file, before its exec.
    fn new(steps: usize, extra: &str) -> Chain {
        let scratch = Folder::new("lab-tracer-tracee");
        let sh = fs::canonicalize("/bin/sh").expect("/bin/sh");
        let code = random_in(1, 100) as u8;
        let mut programs = Vec::new();
        let mut files = Vec::new();
        for _ in 0..steps {
            let program = scratch.0.join(format!("p-{:016x}", random_u64()));
            fs::copy(&sh, &program).expect("copying /bin/sh");
            fs::set_permissions(&program, fs::Permissions::from_mode(0o755))
                .expect("making the copy executable");
            programs.push(program);
            files.push(scratch.0.join(format!("f-{:016x}", random_u64())));
        }
        for step in 0..steps {
            let next = match step + 1 < steps {
                true => format!(
                    "exec {} {}\n",
                    programs[step + 1].display(),
                    script(&scratch.0, step + 1).display()
                ),
                false => format!("exit {code}\n"),
            };
            let text = format!(": > {}\n{extra}{next}", files[step].display());
            fs::write(script(&scratch.0, step), text).expect("writing a step's script");
        }
        Chain {
            _scratch: scratch,
            programs,
            files,
            code,
        }
    }

    /// The lab, limiting the chain to `max_execs`.
    fn run(&self, max_execs: u32) -> Run {
        let mut command = Command::new(get_cargo_bin("lab-tracer-tracee"));
        command
            .arg("--max-execs")
            .arg(max_execs.to_string())
            .arg("--")
            .arg(&self.programs[0])
            .arg(script(self.files[0].parent().expect("in the folder"), 0));
        // stderr to a file, and the lab in a process group of its own: a
        // tracee it leaves behind, stopped, holds no pipe of ours and is
        // killed with the group once the lab has ended.
        let log = self.files[0].with_file_name("lab-stderr");
        let stderr = fs::File::create(&log).expect("creating the lab's stderr file");
        workbook::testing::limited(&mut command);
        let mut lab = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .expect("starting lab-tracer-tracee");
        let status = lab.wait().expect("waiting for lab-tracer-tracee");
        // SAFETY: kill(2) of the lab's own process group; no memory involved.
        unsafe { libc::kill(-(lab.id() as libc::pid_t), libc::SIGKILL) };
        assert_ne!(
            status.signal(),
            Some(libc::SIGALRM),
            "lab-tracer-tracee ran past the time limit (a hang?)"
        );
        let what = format!(
            "a chain of {} execs with --max-execs {max_execs}",
            self.programs.len()
        );
        Run {
            stderr: fs::read_to_string(&log).unwrap_or_default(),
            code: status.code(),
            what,
        }
    }
}

fn script(folder: &Path, step: usize) -> PathBuf {
    folder.join(format!("step-{step}.sh"))
}

/// What a run of the lab left.
struct Run {
    stderr: String,
    code: Option<i32>,
    what: String,
}

/// Checks a run of `chain` with `max_execs`: which steps ran (their files),
/// the programs the lab named, and its exit status.
fn assert_limited(chain: &Chain, max_execs: u32, run: &Run) {
    let steps = chain.programs.len();
    let allowed = steps.min(max_execs as usize);
    let what = &run.what;
    let stderr = &run.stderr;
    for (step, file) in chain.files.iter().enumerate() {
        let ran = step < allowed;
        assert_eq!(
            file.exists(),
            ran,
            "{what}: exec #{} (step {} of the chain) should {}have run, and its file {} should {}exist; \
             the lab said:\n{stderr}",
            step + 1,
            step + 1,
            if ran { "" } else { "not " },
            file.display(),
            if ran { "" } else { "not " },
        );
    }
    let named: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("tracer: exec #"))
        .collect();
    let mut wanted: Vec<String> = chain.programs[..allowed]
        .iter()
        .enumerate()
        .map(|(n, program)| format!("tracer: exec #{}: {}", n + 1, program.display()))
        .collect();
    if steps > allowed {
        wanted.push(format!(
            "tracer: exec #{}: {}: over the limit, killing it",
            allowed + 1,
            chain.programs[allowed].display()
        ));
    }
    assert_eq!(
        named, wanted,
        "{what}: the programs named at the exec stops (from /proc/PID/exe) should be the copies \
         of sh that ran, in order; the lab said:\n{stderr}"
    );
    let status = match steps > allowed {
        true => 128 + libc::SIGKILL,
        false => i32::from(chain.code),
    };
    assert_eq!(
        run.code,
        Some(status),
        "{what}: the lab should exit with {status} ({}); the lab said:\n{stderr}",
        if steps > allowed {
            "its tracee killed by SIGKILL"
        } else {
            "the chain's own exit status"
        }
    );
}

/// Twice, a chain of 3 to 6 execs, limited to fewer (1 to one less than
/// its length): the steps past the limit never run, and the lab exits 137.
#[test]
fn a_chain_past_the_limit_is_killed_there() {
    for _ in 0..2 {
        let steps = random_in(3, 6);
        let max_execs = random_in(1, steps - 1);
        let chain = Chain::new(steps as usize, "");
        let run = chain.run(max_execs);
        assert_limited(&chain, max_execs, &run);
    }
}

/// A chain of 1 to 4 execs, allowed as many or more: every step runs, each
/// is named, and the lab exits with the chain's own random status. Then one
/// chain that is one exec too long.
#[test]
fn a_chain_within_the_limit_runs_to_its_end() {
    let steps = random_in(1, 4);
    let max_execs = random_in(steps, steps + 2);
    let chain = Chain::new(steps as usize, "");
    let run = chain.run(max_execs);
    assert_limited(&chain, max_execs, &run);
    let steps = random_in(2, 4);
    let chain = Chain::new(steps as usize, "");
    let run = chain.run(steps - 1);
    assert_limited(&chain, steps - 1, &run);
}

#[cfg(feature = "hidden")]
mod hidden;
