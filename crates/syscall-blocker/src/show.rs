//! `--trace`: one strace-like line per syscall on stderr. As strace does, a
//! call is printed when it starts (its arguments are read before the call
//! can change or replace them) and finished when it returns; when another
//! process's line comes in between, the first says `<unfinished ...>` and
//! its end comes later as `<... NAME resumed>`.

use std::collections::HashMap;

use nix::errno::Errno;
use nix::unistd::Pid;
use workbook::arch::Abi;
use workbook::memory::{quoted, read_bytes, read_c_string};
use workbook::names::{argument_count, errno_name, AT_CALLS};

/// A syscall seen at its entry, kept until its exit.
pub struct Call {
    pub nr: u64,
    pub args: [u64; 6],
    pub abi: Abi,
}

const SHOWN_BYTES: usize = 32;

/// What has been printed so far, so the next line can continue it.
#[derive(Default)]
pub struct Printer {
    enabled: bool,
    /// The thread whose call line is printed up to its arguments and
    /// waits for its result.
    open: Option<Pid>,
    /// Each process's current ABI, as strace announces a change of it.
    modes: HashMap<Pid, Abi>,
}

impl Printer {
    pub fn new(enabled: bool) -> Printer {
        Printer {
            enabled,
            ..Printer::default()
        }
    }

    /// A call starts: `[pid N] name(arguments` and no end of line yet.
    pub fn enter(&mut self, pid: Pid, prefix: Option<Pid>, call: &Call) {
        if !self.enabled {
            return;
        }
        self.close_open_line();
        let mode = self.modes.entry(pid).or_insert(Abi::X86_64);
        if *mode != call.abi {
            *mode = call.abi;
            line(&format!(
                "[ Process PID={pid} runs in {} mode. ]\n",
                call.abi.mode()
            ));
        }
        let name = call.abi.name(call.nr);
        line(&format!(
            "{}{name}({}",
            pid_prefix(prefix),
            entry_arguments(pid, call)
        ));
        self.open = Some(pid);
    }

    /// The call returns `ret`: the rest of its line, or a `resumed` line.
    pub fn exit(&mut self, pid: Pid, prefix: Option<Pid>, call: &Call, ret: i64, blocked: bool) {
        let note = if blocked { "(blocked)" } else { "" };
        self.exit_noted(pid, prefix, call, ret, note);
    }

    /// The same, with a note after the result (none if empty).
    pub fn exit_noted(&mut self, pid: Pid, prefix: Option<Pid>, call: &Call, ret: i64, note: &str) {
        if !self.enabled {
            return;
        }
        let space = if note.is_empty() { "" } else { " " };
        let rest = format!(
            "{}) = {}{space}{note}\n",
            exit_arguments(pid, call, ret),
            result(ret),
        );
        self.finish(pid, prefix, call, &rest);
    }

    /// The thread is gone in the middle of a call (exit_group never returns;
    /// SIGKILL cuts a call short): `= ?`, as strace shows it.
    pub fn never_returned(&mut self, pid: Pid, prefix: Option<Pid>, call: &Call) {
        if self.enabled {
            self.finish(pid, prefix, call, ") = ?\n");
        }
    }

    /// `+++ exited with 3 +++`, `+++ killed by SIGKILL +++`.
    pub fn ended(&mut self, prefix: Option<Pid>, how: &str) {
        if self.enabled {
            self.close_open_line();
            line(&format!("{}+++ {how} +++\n", pid_prefix(prefix)));
        }
    }

    /// execve in a non-leader thread: the thread `former` takes the
    /// leader's pid, `leader`; whatever the leader was doing is gone.
    pub fn exec_from_thread(&mut self, leader: Pid, former: Pid, superseded: bool) {
        if !self.enabled {
            return;
        }
        if self.open == Some(former) {
            line(&format!(" <pid changed to {leader} ...>\n"));
            self.open = None;
        }
        self.close_open_line();
        if superseded {
            line(&format!("+++ superseded by execve in pid {former} +++\n"));
        }
    }

    fn finish(&mut self, pid: Pid, prefix: Option<Pid>, call: &Call, rest: &str) {
        if self.open == Some(pid) {
            line(rest);
        } else {
            self.close_open_line();
            line(&format!(
                "{}<... {} resumed>{rest}",
                pid_prefix(prefix),
                call.abi.name(call.nr)
            ));
        }
        self.open = None;
    }

    fn close_open_line(&mut self) {
        if self.open.take().is_some() {
            line(" <unfinished ...>\n");
        }
    }
}

/// Part of a line: stderr is unbuffered, so each piece goes out as it is.
fn line(text: &str) {
    workbook::narrate::part(text);
}

fn pid_prefix(prefix: Option<Pid>) -> String {
    prefix
        .map(|pid| format!("[pid {pid}] "))
        .unwrap_or_default()
}

/// The value, `-1 ENOENT (No such file or directory)`, or for the
/// kernel's internal restart codes what strace says of them.
fn result(ret: i64) -> String {
    const RESTARTS: [(i64, &str, &str); 4] = [
        (512, "ERESTARTSYS", "To be restarted if SA_RESTART is set"),
        (513, "ERESTARTNOINTR", "To be restarted"),
        (514, "ERESTARTNOHAND", "To be restarted if no handler"),
        (516, "ERESTART_RESTARTBLOCK", "Interrupted by signal"),
    ];
    if let Some((_, name, meaning)) = RESTARTS.iter().find(|(code, ..)| -ret == *code) {
        return format!("? {name} ({meaning})");
    }
    if (-4095..0).contains(&ret) {
        format!("-1 {}", errno_name(Errno::from_raw(-ret as i32)))
    } else if ret.unsigned_abs() > 0xffff {
        format!("{ret:#x}")
    } else {
        ret.to_string()
    }
}

/// What is known when the call starts. Strings are read now: after an
/// execve, say, the old program's memory is gone.
fn entry_arguments(pid: Pid, call: &Call) -> String {
    let a = call.args;
    let name = call.abi.name(call.nr);
    let string = |addr: u64| match read_c_string(pid, addr, SHOWN_BYTES + 1) {
        Ok(bytes) if addr != 0 => quoted(&bytes, SHOWN_BYTES),
        _ => format!("{addr:#x}"),
    };
    if call.abi != Abi::X86_64 {
        return raw(&a[..argument_count(&name)]);
    }
    match name.as_str() {
        "open" => format!("{}, {:#x}", string(a[0]), a[1]),
        "execve" => format!("{}, {:#x}, {:#x}", string(a[0]), a[1], a[2]),
        "write" => {
            let shown = match read_bytes(pid, a[1], (a[2] as usize).min(SHOWN_BYTES + 1)) {
                Ok(bytes) => quoted(&bytes, SHOWN_BYTES),
                Err(_) => format!("{:#x}", a[1]),
            };
            format!("{}, {shown}, {}", a[0] as i32, a[2])
        }
        "read" => format!("{}, ", a[0] as i32),
        at if AT_CALLS.contains(&at) => format!("{}, {}, {:#x}", dirfd(a[0]), string(a[1]), a[2]),
        other => raw(&a[..argument_count(other)]),
    }
}

/// What only the result makes known: the bytes a read(2) brought in.
fn exit_arguments(pid: Pid, call: &Call, ret: i64) -> String {
    let a = call.args;
    if call.abi == Abi::X86_64 && call.abi.name(call.nr) == "read" {
        let shown = match read_bytes(pid, a[1], (ret.max(0) as usize).min(SHOWN_BYTES + 1)) {
            Ok(bytes) if ret >= 0 => quoted(&bytes, SHOWN_BYTES),
            _ => format!("{:#x}", a[1]),
        };
        return format!("{shown}, {}", a[2]);
    }
    String::new()
}

fn raw(values: &[u64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:#x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn dirfd(fd: u64) -> String {
    if fd as i32 == libc::AT_FDCWD {
        "AT_FDCWD".into()
    } else {
        (fd as i32).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_codes_read_as_strace_prints_them() {
        assert_eq!(
            result(-512),
            "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        );
        assert_eq!(
            result(-516),
            "? ERESTART_RESTARTBLOCK (Interrupted by signal)"
        );
        assert_eq!(result(-1), "-1 EPERM (Operation not permitted)");
        assert_eq!(result(3), "3");
    }

    #[test]
    fn at_calls_show_at_fdcwd() {
        assert_eq!(dirfd(libc::AT_FDCWD as u32 as u64), "AT_FDCWD");
        assert_eq!(dirfd(0xffff_ff9c), "AT_FDCWD");
        assert_eq!(dirfd(3), "3");
    }
}
