//! Running one cell: the watcher's binary, told what to refuse, running
//! the target, in a child with a time limit, its output caught in a file;
//! then every process it left behind killed and reaped.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::rows::{Arg, Refuse, Row, Target};
use crate::watchers::Watcher;

/// How long one cell may run. The TOCTOU race takes 3 s at most.
pub const TIME_LIMIT: Duration = Duration::from_secs(15);

/// The static probe, built by build.rs.
const PROBE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/escape-probe"));

/// The run's own folder, removed at the end: the probe, the secret and
/// public files, links that start built-in targets, the cells' output.
pub struct Scratch {
    pub dir: PathBuf,
    /// The secret file's contents: random, so only an open can learn them.
    pub secret: String,
    cells: u32,
}

impl Scratch {
    pub fn new() -> Result<Scratch> {
        let secret = format!("secret-{:016x}", random_u64());
        let dir = std::env::temp_dir().join(format!("escapes.{:08x}", random_u64() as u32));
        std::fs::create_dir(&dir).with_context(|| format!("mkdir {}", dir.display()))?;
        let scratch = Scratch {
            dir,
            secret,
            cells: 0,
        };
        let write = |name: &str, contents: &[u8]| -> Result<()> {
            let path = scratch.dir.join(name);
            std::fs::write(&path, contents).with_context(|| format!("write {}", path.display()))
        };
        write("secret", scratch.secret.as_bytes())?;
        write("public", b"public")?;
        if !PROBE.is_empty() {
            write("escape-probe", PROBE)?;
            let probe = scratch.dir.join("escape-probe");
            std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("chmod {}", probe.display()))?;
        }
        let me = std::env::current_exe().context("readlink /proc/self/exe")?;
        std::fs::create_dir(scratch.bin()).context("mkdir bin")?;
        for name in ["bypass", "new-mount"] {
            let link = scratch.bin().join(workbook::targets::argv0(name));
            symlink(&me, &link).with_context(|| format!("symlink {}", link.display()))?;
        }
        Ok(scratch)
    }

    /// Where `builtin:NAME` links to this binary lie: first in the
    /// watchers' PATH, so that a watcher runs `builtin:bypass` as a
    /// command, and the binary, started under that name, becomes the target.
    fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }

    pub fn probe_built(&self) -> bool {
        !PROBE.is_empty()
    }

    /// The target's command line.
    fn target(&self, target: &Target) -> Vec<OsString> {
        match target {
            Target::Probe(args) => std::iter::once(self.dir.join("escape-probe").into())
                .chain(args.iter().map(|arg| match arg {
                    Arg::Word(word) => word.into(),
                    Arg::Secret => self.dir.join("secret").into(),
                    Arg::Public => self.dir.join("public").into(),
                }))
                .collect(),
            Target::Builtin(name, args) => std::iter::once(workbook::targets::argv0(name).into())
                .chain(args.iter().map(Into::into))
                .collect(),
        }
    }

    /// The whole command line of a cell: the watcher, what it is told,
    /// the target. `binary` is the watcher's.
    pub fn command_line(&self, row: &Row, watcher: Watcher, binary: &Path) -> Vec<OsString> {
        let mut line: Vec<OsString> = Vec::new();
        if let Some((_, options)) = watcher.command() {
            line.push(binary.into());
            line.extend(options.iter().map(Into::into));
            if watcher.takes_a_name() {
                match row.refuse {
                    Refuse::Call(call) => line.extend(["--block".into(), call.into()]),
                    Refuse::SecretPath => {
                        let mut redirect = self.dir.join("secret").into_os_string();
                        redirect.push("=");
                        redirect.push(self.dir.join("public"));
                        line.extend(["--redirect".into(), redirect]);
                    }
                }
            }
        }
        line.extend(self.target(&row.target));
        line
    }

    /// Runs one command line with the time limit; its output and end.
    pub fn run(&mut self, line: &[OsString]) -> Result<crate::verdict::Outcome> {
        self.cells += 1;
        let log = self.dir.join(format!("cell-{}.out", self.cells));
        let out = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone().context("dup")?;
        let mut command = Command::new(&line[0]);
        if let Some(name) = line[0].to_str().filter(|name| name.starts_with("builtin:")) {
            command = Command::new(self.bin().join(name));
            command.arg0(name);
        }
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        let mut search = OsString::from(self.bin());
        search.push(":");
        search.push(path);
        command
            .args(&line[1..])
            .env("PATH", search)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: sigprocmask and prctl are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                workbook::signal::release_fatal_signals_in_child()?;
                // If the demo dies, the watcher dies (and takes its tracees).
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("running {}", line[0].to_string_lossy()))?;
        let start = Instant::now();
        let (status, timed_out) = loop {
            if let Some(status) = child.try_wait().context("waitpid")? {
                break (Some(status), false);
            }
            if start.elapsed() > TIME_LIMIT {
                let _ = child.kill();
                break (child.wait().ok(), true);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        sweep();
        let code = status.map_or(-1, |status| {
            status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
        });
        let output = std::fs::read(&log).with_context(|| format!("read {}", log.display()))?;
        Ok(crate::verdict::Outcome {
            code,
            output: String::from_utf8_lossy(&output).into_owned(),
            timed_out,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Kills and reaps every process a cell left: this process is a child
/// subreaper (main sets it), so an orphan of a watcher, or of a target,
/// is our child, and is killed here.
pub fn sweep() {
    loop {
        let children = children();
        if children.is_empty() {
            return;
        }
        for child in children {
            // SAFETY: kill and waitpid on our own children.
            unsafe {
                libc::kill(child, libc::SIGKILL);
                libc::waitpid(child, std::ptr::null_mut(), libc::__WALL);
            }
        }
    }
}

/// Our children, from /proc/self/task/*/children.
fn children() -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into `bytes`.
    unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    u64::from_ne_bytes(bytes)
}
