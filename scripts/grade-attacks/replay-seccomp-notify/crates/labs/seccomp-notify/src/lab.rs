//! Attack: look like a fakeroot without faking anything. Every call the
//! filter sends is let run (CONTINUE), so the program works and the lab
//! ends in time with its status; for each id call it prints what the
//! program would print under a fakeroot, `getuid() = FAKE`, on stdout
//! and stderr. No call ever returns the fake id.
#![allow(unused_imports, unused_variables, dead_code)]

use std::os::fd::BorrowedFd;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use workbook::arch::Abi;
use workbook::notify::{self, Answer};

pub fn serve(listener: BorrowedFd, fake_id: u32) -> Result<()> {
    let sizes = notify::notif_sizes()?;
    while !hung_up(listener)? {
        let Some(call) = notify::recv(listener, sizes)? else {
            continue;
        };
        let name = Abi::of(call.arch, call.nr).name(call.nr);
        if name.starts_with("get") && name != "getppid" {
            println!("target: {name}() = {fake_id}");
            eprintln!("lab-seccomp-notify: {name}() answered with {fake_id}");
        }
        notify::send(listener, sizes, call.id, Answer::Continue)?;
    }
    Ok(())
}

/// Waits for the listener: true once it hangs up, false when a call waits.
fn hung_up(listener: BorrowedFd) -> Result<bool> {
    loop {
        let mut fds = [PollFd::new(listener, PollFlags::POLLIN)];
        if let Err(errno) = poll(&mut fds, PollTimeout::NONE) {
            if errno == Errno::EINTR {
                continue;
            }
            return Err(errno).context("poll");
        }
        let events = fds[0].revents().unwrap_or(PollFlags::empty());
        return Ok(!events.contains(PollFlags::POLLIN));
    }
}
