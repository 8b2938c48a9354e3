//! What the demo's test files share: the demo under its time limit, and a
//! socket of the test's handed to `--attach-fd`.

use std::os::unix::process::CommandExt;
use std::process::Command;

use insta_cmd::get_cargo_bin;

/// The demo, killed if it runs past the time limit.
pub fn ipv6_filter() -> Command {
    let mut command = Command::new(get_cargo_bin("ipv6-filter"));
    workbook::testing::limited(&mut command);
    command
}

/// `ipv6-filter ARGS --attach-fd 3`, with `socket` as the demo's
/// descriptor 3: its status and its stderr.
pub fn attach_to(args: &[&str], socket: std::os::fd::RawFd) -> (Option<i32>, String) {
    let mut command = ipv6_filter();
    command.args(args).args(["--attach-fd", "3"]);
    // SAFETY: dup2 and fcntl are async-signal-safe: they make the socket
    // descriptor 3, without close-on-exec (dup2 of 3 onto itself would
    // leave it set).
    unsafe {
        command.pre_exec(move || {
            let moved = if socket == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(socket, 3)
            };
            if moved < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = workbook::testing::run(&mut command);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
