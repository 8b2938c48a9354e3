//! `scripts/labs watch` in a real terminal, driven as a student drives it:
//! tmux runs it in a students' copy (`scripts/labs export`), the test saves
//! the lab's file and reads the screen with capture-pane.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The workspace's top directory (crates/workbook lies two levels down).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tmux server of the test's own (`-L`), never the user's; killed, with
/// what it runs, when the test ends, and the students' copy removed.
struct Tmux {
    socket: String,
    copy: PathBuf,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut tmux = Command::new("tmux");
        tmux.args(["-L", &self.socket]);
        tmux
    }

    /// What the terminal shows now: the visible screen, not its history.
    fn screen(&self) -> String {
        let output = self
            .command()
            .args(["capture-pane", "-p", "-J", "-t", "watch"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen shows `wanted`; panics with the screen if it
    /// never does within `limit`.
    fn wait_for(&self, wanted: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if screen.contains(wanted) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{wanted:?} never appeared; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").status();
        let _ = std::fs::remove_dir_all(&self.copy);
    }
}

fn export(copy: &Path) {
    let status = Command::new(workspace_root().join("scripts/labs"))
        .arg("export")
        .arg(copy)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("scripts/labs export");
    assert!(status.success(), "scripts/labs export failed");
}

#[test]
#[ignore = "needs tmux"]
fn watch_checks_again_on_every_save() {
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let copy = scratch.join(format!("labs-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    export(&copy);
    let tmux = Tmux {
        socket: format!("labs-watch-{}", std::process::id()),
        copy: copy.clone(),
    };
    // Its own target directory, kept between runs: the first build of the
    // copy takes a few minutes, later ones seconds.
    let target = scratch.join("labs-watch-target");
    let script = format!(
        "cd '{}' && CARGO_TARGET_DIR='{}' scripts/labs watch refuse-trace",
        copy.display(),
        target.display()
    );
    let started = tmux
        .command()
        .args(["new-session", "-d", "-s", "watch", "-x", "160", "-y", "60"])
        .arg(&script)
        // The pane stays after the command ends, for the last look.
        .args([";", "set-option", "-t", "watch", "remain-on-exit", "on"])
        .status()
        .expect("tmux new-session");
    assert!(started.success(), "tmux new-session failed");

    // The skeleton: todo!() everywhere, no points, and it goes on watching.
    let most = max_points(&copy, "refuse-trace");
    let none = format!("refuse-trace: 0/{most}");
    let screen = tmux.wait_for(&none, Duration::from_secs(900));
    assert!(
        screen.contains("watching crates/labs/refuse-trace/src/lab.rs"),
        "{screen}"
    );

    // The student saves a working lab.rs: it is checked again, unasked.
    let solution = workspace_root().join("crates/labs/refuse-trace/src/solution.rs");
    std::fs::copy(solution, copy.join("crates/labs/refuse-trace/src/lab.rs"))
        .expect("saving lab.rs");
    let all = format!("refuse-trace: {most}/{most}, all passing");
    let screen = tmux.wait_for(&all, Duration::from_secs(600));
    assert!(
        !screen.contains(&none),
        "the screen was not cleared:\n{screen}"
    );

    // Ctrl-C ends it quietly.
    let sent = tmux
        .command()
        .args(["send-keys", "-t", "watch", "C-c"])
        .status()
        .expect("tmux send-keys");
    assert!(sent.success());
    tmux.wait_for("stopped watching refuse-trace", Duration::from_secs(30));
}

/// A lab's full marks in the students' copy at `tree`: the [points] of its
/// lab.toml (the copy has no hidden tests).
fn max_points(tree: &Path, lab: &str) -> u32 {
    let toml = std::fs::read_to_string(tree.join(format!("crates/labs/{lab}/lab.toml")))
        .expect("reading lab.toml");
    let mut table = "";
    let mut sum = 0;
    for line in toml.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = name;
        } else if let (true, Some((_, value))) = (table == "points", line.split_once('=')) {
            sum += value.trim().parse::<u32>().unwrap_or(0);
        }
    }
    sum
}
