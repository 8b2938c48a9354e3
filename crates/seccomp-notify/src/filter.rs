//! The filter: SECCOMP_RET_USER_NOTIF for the calls the supervisor must
//! see, ALLOW for every other call, which then never leaves the kernel.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use workbook::arch::Abi;
use workbook::bpf::sock_filter;
use workbook::names::{parse_syscall, syscall_name};
use workbook::seccomp;

/// Every ABI a call can come through on x86_64.
const ABIS: [Abi; 3] = [Abi::X86_64, Abi::I386, Abi::X32];

// ANCHOR: filter
/// The calls to send to the supervisor, by number in each ABI: the blocked
/// ones, and with --redirect the opens. The filter checks `arch` first,
/// then the number, each ABI with its own list (seccomp::only_these), so
/// an `int 0x80` call can't slip past under another number.
pub fn notify_filter(calls: &BTreeSet<(Abi, u64)>) -> Vec<sock_filter> {
    let of = |abi: Abi| -> Vec<u64> {
        calls
            .iter()
            .filter(|(of, _)| *of == abi)
            .map(|&(_, nr)| nr)
            .collect()
    };
    seccomp::only_these(
        libc::SECCOMP_RET_USER_NOTIF,
        &of(Abi::X86_64),
        &of(Abi::X32),
        &of(Abi::I386),
    )
}
// ANCHOR_END: filter

/// Each call named, by its number in every ABI that has it.
pub fn in_every_abi(names: &[&str]) -> BTreeSet<(Abi, u64)> {
    names
        .iter()
        .flat_map(|name| {
            ABIS.iter()
                .filter_map(|abi| Some((*abi, abi.number(name)?)))
        })
        .collect()
}

/// The calls to block, by name, and their numbers in each ABI.
pub struct Blocked {
    names: Vec<String>,
    numbers: BTreeSet<(Abi, u64)>,
}

impl Blocked {
    pub fn new(flags: &[String]) -> Result<Blocked> {
        let mut names: Vec<String> = Vec::new();
        for flag in flags {
            let name = syscall_name(parse_syscall("--block", flag)?);
            if name == "sendmsg" {
                // The filter is on before the child has passed the listener
                // on: its own sendmsg would wait for an answer from a
                // supervisor that can't receive it yet.
                bail!(
                    "--block sendmsg: the child passes the listener to the supervisor \
                     with sendmsg after the filter is installed, so it can't be blocked \
                     here (syscall-blocker blocks it)"
                );
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let listed: Vec<&str> = names.iter().map(String::as_str).collect();
        let numbers = in_every_abi(&listed);
        Ok(Blocked { names, numbers })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn numbers(&self) -> &BTreeSet<(Abi, u64)> {
        &self.numbers
    }

    pub fn contains(&self, abi: Abi, nr: u64) -> bool {
        self.numbers.contains(&(abi, nr))
    }
}
