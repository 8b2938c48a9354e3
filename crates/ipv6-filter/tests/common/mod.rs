//! What the demo's test files share: the demo under its time limit, and a
//! socket of the test's handed to `--attach-fd`.

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
    workbook::testing::with_descriptor_3(&mut command, socket);
    let output = workbook::testing::run(&mut command);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
