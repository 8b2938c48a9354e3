//! The memory benchmark: 1 MiB of a stopped tracee's memory, read three
//! ways; and `--read-buffer`, which reads another program's `buffer` target
//! the fast way.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sys::ptrace::{self, Options};
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::sys::wait::WaitPidFlag;
use nix::unistd::{pipe2, Pid};
use workbook::targets::overhead::{contents, random_seed, BUFFER_LEN, SEED_VARIABLE};
use workbook::trace::spawn_traced_with;
use workbook::{ptrace_cont, wait_for, Program, Sig, Stop};

use crate::rows::{MemoryRow, Spread};
use crate::watchers::stdout_to;

// ANCHOR: memory
/// Reads the `buffer` target's 1 MiB while it is stopped, `runs` times
/// each way, checks every byte against the seed it was given, then kills it.
pub fn memory_reads(runs: u32) -> Result<Vec<MemoryRow>> {
    let seed = random_seed().context("getrandom")?;
    let expected = contents(seed);
    // The target inherits the environment; this process has one thread.
    std::env::set_var(SEED_VARIABLE, seed.to_string());
    let (output, write_end) = pipe2(OFlag::O_CLOEXEC).context("pipe2")?;
    let program = Program::builtin("buffer", &[]);
    let guard = spawn_traced_with(&program, Options::PTRACE_O_TRACEEXEC, || {
        stdout_to(&write_end)
    })?;
    drop(write_end);
    let pid = guard.pid();
    wait_for_sigstop(pid)?;
    let mut line = String::new();
    BufReader::new(File::from(output))
        .read_line(&mut line)
        .context("reading the buffer's address")?;
    let address = u64::from_str_radix(line.trim().trim_start_matches("0x"), 16)
        .with_context(|| format!("the buffer target printed {line:?}, not an address"))?;

    type Reader = fn(Pid, u64) -> Result<Vec<u8>>;
    let ways: [(&str, Reader); 3] = [
        ("PTRACE_PEEKDATA, 8 bytes a call", peekdata),
        ("process_vm_readv, one call", vm_readv),
        ("pread of /proc/PID/mem", proc_mem),
    ];
    let mut rows = Vec::new();
    for (label, read) in ways {
        let mut rates = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let bytes = read(pid, address).with_context(|| format!("reading with {label}"))?;
            let seconds = start.elapsed().as_secs_f64();
            if bytes != expected {
                bail!("{label} read other bytes than the target wrote");
            }
            rates.push(BUFFER_LEN as f64 / seconds / 1e6);
        }
        rows.push(MemoryRow {
            label,
            mb_per_s: Spread::of(rates),
        });
    }
    // SIGKILL and reap: the target has served.
    drop(guard);
    Ok(rows)
}

/// PTRACE_CONT until the target's own SIGSTOP; it stays in that stop.
fn wait_for_sigstop(pid: Pid) -> Result<()> {
    ptrace::cont(pid, None).context("PTRACE_CONT")?;
    loop {
        let signal = match wait_for(pid, WaitPidFlag::__WALL)?.stop {
            Stop::Signal(Sig::SIGSTOP) => return Ok(()),
            Stop::Signal(signal) => Some(signal),
            stop @ (Stop::Exited(_) | Stop::Killed { .. }) => {
                bail!("the buffer target ended before its SIGSTOP: {stop}")
            }
            _ => None,
        };
        ptrace_cont(pid, signal)?;
    }
}

/// PTRACE_PEEKDATA: one syscall per 8-byte word.
fn peekdata(pid: Pid, address: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(BUFFER_LEN);
    for offset in (0..BUFFER_LEN as u64).step_by(8) {
        let word = ptrace::read(pid, (address + offset) as ptrace::AddressType)
            .with_context(|| format!("PTRACE_PEEKDATA at {:#x}", address + offset))?;
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    Ok(bytes)
}

// ANCHOR: vm_readv
/// process_vm_readv: the whole buffer in one call (more if it comes short).
fn vm_readv(pid: Pid, address: u64) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; BUFFER_LEN];
    let mut done = 0;
    while done < BUFFER_LEN {
        let remote = RemoteIoVec {
            base: (address as usize) + done,
            len: BUFFER_LEN - done,
        };
        let local = std::io::IoSliceMut::new(&mut bytes[done..]);
        match process_vm_readv(pid, &mut [local], &[remote]).context("process_vm_readv")? {
            0 => bail!("process_vm_readv read nothing at {:#x}", remote.base),
            read => done += read,
        }
    }
    Ok(bytes)
}
// ANCHOR_END: vm_readv

/// /proc/PID/mem: the tracee's address space as a file; pread at the address.
fn proc_mem(pid: Pid, address: u64) -> Result<Vec<u8>> {
    let path = format!("/proc/{pid}/mem");
    let file = File::open(&path).with_context(|| format!("open {path}"))?;
    let mut bytes = vec![0u8; BUFFER_LEN];
    file.read_exact_at(&mut bytes, address)
        .with_context(|| format!("pread {path} at {address:#x}"))?;
    Ok(bytes)
}
// ANCHOR_END: memory

/// `--read-buffer PID ADDRESS`: the `buffer` target's bytes, read with
/// `vm_readv` and written to stdout. The tests start the target with a seed
/// of their own and compare.
pub fn read_buffer(pid: u64, address: u64) -> Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .filter(|&pid| pid > 0)
        .with_context(|| format!("--read-buffer: {pid} is no process id"))?;
    let bytes = vm_readv(Pid::from_raw(pid), address)
        .with_context(|| format!("reading pid {pid} at {address:#x}"))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&bytes)
        .and_then(|()| stdout.flush())
        .context("writing the bytes to stdout")
}
