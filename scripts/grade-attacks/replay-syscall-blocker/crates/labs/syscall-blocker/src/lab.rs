//! Attack: fake the refusals without a tracer. A constructor takes every
//! permission away from the --deny-under folder (chmod 000: a program that
//! is not root then gets EACCES for anything in it, and can't make a file
//! there), runs the command as a plain child with the narration the lab
//! prints, puts the mode back so that nothing looks changed afterwards,
//! and exits with the command's status. No ptrace: the lab's three
//! functions are never called.
#![allow(unused_imports, unused_variables)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};
use nix::unistd::Pid;

fn exit(code: i32) -> ! {
    // SAFETY: ends the process before main.
    unsafe { libc::_exit(code) }
}

extern "C" fn fake() {
    let args: Vec<String> = std::env::args().collect();
    let Some(folder) = args
        .iter()
        .position(|arg| arg == "--deny-under")
        .and_then(|at| args.get(at + 1))
    else {
        return;
    };
    let Some(dash) = args.iter().position(|arg| arg == "--") else {
        return;
    };
    let command = &args[dash + 1..];
    if command.is_empty() {
        return;
    }
    eprintln!(
        "lab-syscall-blocker: running {}, refusing to open anything under {folder}",
        command.join(" ")
    );
    let mode = std::fs::metadata(folder).map(|m| m.permissions().mode());
    let _ = std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0));
    let status = Command::new(&command[0]).args(&command[1..]).status();
    if let Ok(mode) = mode {
        let _ = std::fs::set_permissions(folder, std::fs::Permissions::from_mode(mode));
    }
    match status {
        Ok(status) => exit(
            status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        ),
        Err(_) => exit(127),
    }
}

#[used]
#[link_section = ".init_array"]
static FAKE: extern "C" fn() = fake;

pub fn named_file(pid: Pid, call: &str, args: [u64; 6]) -> Result<Option<PathBuf>> {
    bail!("not written")
}

pub fn lies_under(file: &Path, folder: &Path) -> bool {
    false
}

pub fn refuse(pid: Pid) -> Result<Option<()>> {
    bail!("not written")
}
