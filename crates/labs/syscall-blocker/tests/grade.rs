//! Grading tests for lab-syscall-blocker. Each test makes a folder of its
//! own with a random name, runs the lab with `--deny-under` one of its
//! folders, and has the lab trace the demo's own built-in target (trusted
//! code, not the lab's) in its `opens` mode: the test posts into the
//! target's memory, past the lab, the files to open and how (the call, the
//! working folder, a dirfd the test opened and the target inherits, where
//! the path lies in memory), and the target reports what each call
//! returned (and whether access(2) found each folder or file as the test
//! made it). The test then looks at the files itself: a refused create
//! made nothing, an allowed one made its file. Each run mixes files under the
//! folder with files outside it, so neither refusing everything nor
//! nothing passes. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::{pick, random_in, random_u64, tail, Target};
use workbook::targets::mailbox::Writer;
use workbook::targets::opens::cases::{read_report, Case, Outcome, Placement};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-syscall-blocker"));
    workbook::testing::limited(&mut command);
    command
}

/// The demo's binary: the built-in target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("syscall-blocker")
}

/// A random name for a file or folder.
fn random_name(prefix: &str) -> String {
    format!("{prefix}{:012x}", random_u64() >> 16)
}

/// The last part of a path, for a relative path to name it.
fn name_of(path: &Path) -> String {
    path.file_name()
        .expect("a folder of the test's has a name")
        .to_string_lossy()
        .into_owned()
}

/// The test's folders, removed at the end: `base/` holds the folder the
/// lab is to guard (`denied`), another whose name starts with the guarded
/// one's (`sibling`: `deny-XXXX-plans` is not under `deny-XXXX`) and one
/// more (`other`). Folders it opens for the target's dirfds are handed
/// over at random numbers.
struct Scene {
    base: PathBuf,
    denied: PathBuf,
    sibling: PathBuf,
    other: PathBuf,
    dirfds: Vec<(i32, File, PathBuf)>,
}

impl Scene {
    fn new() -> Scene {
        let base =
            std::env::temp_dir().join(random_name(&format!("blocker-{}-", std::process::id())));
        std::fs::create_dir_all(&base).expect("the test's folder");
        // As the kernel names it (the temporary folder may be a symlink).
        let base = std::fs::canonicalize(&base).expect("the test's folder, resolved");
        let denied_name = random_name("deny-");
        let denied = base.join(&denied_name);
        let sibling = base.join(format!(
            "{denied_name}-{}",
            pick(&["plans", "x", "2", "old"])
        ));
        let other = base.join(random_name("other-"));
        for folder in [&denied, &sibling, &other] {
            std::fs::create_dir(folder).expect("a folder of the test's");
        }
        Scene {
            base,
            denied,
            sibling,
            other,
            dirfds: Vec::new(),
        }
    }

    /// A subfolder of `folder` (made, with its parents), `levels` deep,
    /// each part `width` characters long.
    fn subfolder(&self, folder: &Path, levels: usize, width: usize) -> PathBuf {
        let mut path = folder.to_path_buf();
        for _ in 0..levels {
            let name = random_name("d-");
            let mut name: String = name.chars().cycle().take(width.max(name.len())).collect();
            name.truncate(width.max(3));
            path.push(name);
        }
        std::fs::create_dir_all(&path).expect("a subfolder of the test's");
        path
    }

    /// A dirfd for the target: `folder`, opened by the test, at a random
    /// number in the target.
    fn dirfd(&mut self, folder: &Path) -> i32 {
        let file = File::open(folder).expect("a folder to hand over as a dirfd");
        let number = loop {
            let number = random_in(100..=900) as i32;
            if self.dirfds.iter().all(|(taken, _, _)| *taken != number) {
                break number;
            }
        };
        self.dirfds.push((number, file, folder.to_path_buf()));
        number
    }

    /// How a case's message names a dirfd.
    fn dirfd_shown(&self, dirfd: i32) -> String {
        match self.dirfds.iter().find(|(number, _, _)| *number == dirfd) {
            Some((_, _, folder)) => format!("{dirfd} (a dirfd of {})", folder.display()),
            None => "AT_FDCWD".to_string(),
        }
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// What the lab is to do with a case's call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// Fail it with EACCES: it opens something under the guarded folder.
    Refused,
    /// Let it run: it opens something outside.
    Runs,
}

/// A case and what the test knows of it: the file it really opens.
struct Planned {
    case: Case,
    lands: PathBuf,
    expect: Expect,
}

impl Planned {
    /// `call` of `path`, made in `cwd`, relative to `dirfd` (AT_FDCWD
    /// unless given), creating a file that would land at `lands`.
    fn new(call: &str, cwd: &Path, path: &str, lands: &Path, expect: Expect) -> Planned {
        Planned {
            case: Case {
                call: call.to_string(),
                cwd: cwd.as_os_str().as_encoded_bytes().to_vec(),
                dirfd: libc::AT_FDCWD,
                dirfd_high_bits: 0,
                path: path.as_bytes().to_vec(),
                placement: Placement::Plain,
                offset: 0,
                create: true,
                probe: lands
                    .parent()
                    .expect("a file of the test's is in a folder")
                    .as_os_str()
                    .as_encoded_bytes()
                    .to_vec(),
            },
            lands: lands.to_path_buf(),
            expect,
        }
    }

    /// A fresh file in `folder`, named `prefix` and a random name: `call`
    /// if given, else one at random (openat with a dirfd), to create or,
    /// half the time, to read.
    fn named(
        call: Option<&str>,
        cwd: &Path,
        dirfd: i32,
        prefix: &str,
        folder: &Path,
        expect: Expect,
    ) -> Planned {
        let name = random_name("f-");
        let call = match (call, dirfd) {
            (Some(call), _) => call,
            (None, libc::AT_FDCWD) => any_call(),
            (None, _) => "openat",
        };
        Planned::new(
            call,
            cwd,
            &format!("{prefix}{name}"),
            &folder.join(&name),
            expect,
        )
        .at(dirfd)
        .maybe_reading()
    }

    fn at(mut self, dirfd: i32) -> Planned {
        self.case.dirfd = dirfd;
        self
    }

    /// An existing file opened to read, not one created (creat can't).
    fn reading(mut self) -> Planned {
        if self.case.call != "creat" {
            self.read_instead();
        }
        self
    }

    fn read_instead(&mut self) {
        self.case.create = false;
        self.case.probe = self.lands.as_os_str().as_encoded_bytes().to_vec();
    }

    /// Half the time, reading (see `reading`).
    fn maybe_reading(self) -> Planned {
        if random_in(0..=1) == 1 {
            self.reading()
        } else {
            self
        }
    }

    fn placed(mut self, placement: Placement) -> Planned {
        self.case.placement = placement;
        self.case.offset = random_in(1..=self.case.path.len() as u64);
        self
    }

    /// The call as a C programmer writes it, and where.
    fn shown(&self, scene: &Scene) -> String {
        let path = String::from_utf8_lossy(&self.case.path);
        let flags = match (self.case.call.as_str(), self.case.create) {
            ("creat", _) => "0600",
            (_, true) => "O_CREAT|O_EXCL|O_WRONLY",
            (_, false) => "O_RDONLY",
        };
        let dirfd = match self.case.call.as_str() {
            "openat" | "openat2" => {
                let mut shown = scene.dirfd_shown(self.case.dirfd);
                if self.case.dirfd_high_bits != 0 {
                    shown += &format!(
                        " with {:#x} in the upper 32 bits of its register",
                        self.case.dirfd_high_bits
                    );
                }
                shown + ", "
            }
            _ => String::new(),
        };
        let placed = match self.case.placement {
            Placement::Plain => "",
            Placement::Across => ", its path laid across a page boundary",
            Placement::AtTheEnd => ", its path's NUL the last byte before an unmapped page",
        };
        format!(
            "{}({dirfd}\"{path}\", {flags}) in {}{placed}",
            self.case.call,
            String::from_utf8_lossy(&self.case.cwd)
        )
    }
}

/// The calls that take no dirfd, and openat with AT_FDCWD: any of them
/// that this architecture has.
fn any_call() -> &'static str {
    pick(&here(&["open", "openat", "creat"]))
}

/// Of `calls`, those this architecture has: arm64 has only the *at ones
/// (its C library makes open(3) and creat(3) with openat).
fn here(calls: &[&'static str]) -> Vec<&'static str> {
    calls
        .iter()
        .copied()
        .filter(|call| workbook::names::syscall_number(call).is_some())
        .collect()
}

/// Runs the lab on `planned` (in a random order), and checks that the
/// target was traced by the lab, that each refused call failed with EACCES
/// and made nothing, that each allowed one succeeded and made its file,
/// that the permissions of the folders and files were the test's all
/// along, and that the exit status is the target's.
fn run(scene: &Scene, mut planned: Vec<Planned>) {
    // A folder nobody may write to refuses creates by itself; a file under
    // the folder opened to read shows the tracer at work.
    if !planned
        .iter()
        .any(|case| case.expect == Expect::Refused && !case.case.create)
    {
        if let Some(case) = planned
            .iter_mut()
            .find(|case| case.expect == Expect::Refused && case.case.dirfd == libc::AT_FDCWD)
        {
            case.case.call = pick(&here(&["open", "openat"])).to_string();
            case.read_instead();
        }
    }
    for at in (1..planned.len()).rev() {
        planned.swap(at, random_in(0..=at as u64) as usize);
    }
    for case in planned.iter().filter(|case| !case.case.create) {
        std::fs::write(&case.lands, format!("{:x}\n", random_u64()))
            .expect("a file for the target to open");
    }
    let mode_before = std::fs::metadata(&scene.denied)
        .expect("the guarded folder")
        .permissions()
        .mode();
    let status = random_in(0..=99) as u8;
    let mut input = Writer::new();
    input.u64(u64::from(status)).u64(planned.len() as u64);
    for case in &planned {
        case.case.write(&mut input);
    }
    let target = Target::new(&demo(), "tries", &["opens"]);
    let mut command = lab();
    command
        .arg("--deny-under")
        .arg(&scene.denied)
        .arg("--")
        .args(target.argv());
    // The dirfds, at their numbers in the lab, which its target inherits.
    let handed: Vec<(i32, i32)> = scene
        .dirfds
        .iter()
        .map(|(number, file, _)| (file.as_raw_fd(), *number))
        .collect();
    // SAFETY: dup2 is async-signal-safe and touches no memory.
    unsafe {
        command.pre_exec(move || {
            for &(fd, number) in &handed {
                if libc::dup2(fd, number) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let traced = target.run(&mut command, &input.0);
    let what = format!(
        "lab-syscall-blocker --deny-under {}",
        scene.denied.display()
    );
    let said = tail(&traced.stderr());
    let (tracer, outcomes) = read_report(traced.report(), planned.len())
        .unwrap_or_else(|why| panic!("{what}: the target's report: {why}\n{said}"));
    assert_eq!(
        tracer,
        u64::from(traced.lab),
        "{what}: the target's TracerPid is {tracer}, not the lab's pid {}: it was not traced by \
         the lab\nthe lab's stderr:\n{said}",
        traced.lab
    );
    let problems: Vec<String> = planned
        .iter()
        .zip(&outcomes)
        .enumerate()
        .filter_map(|(n, (case, outcome))| {
            problem(case, *outcome, scene).map(|why| {
                format!(
                    "call {} of {}, {}: {why}",
                    n + 1,
                    planned.len(),
                    case.shown(scene)
                )
            })
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{what}:\n{}\nthe lab's stderr:\n{said}",
        problems.join("\n")
    );
    let mode_after = std::fs::metadata(&scene.denied)
        .map(|metadata| metadata.permissions().mode())
        .ok();
    assert_eq!(
        mode_after,
        Some(mode_before),
        "{what}: the guarded folder's mode changed: refusing is the tracer's work\n{said}"
    );
    assert_eq!(
        traced.code(),
        Some(i32::from(status)),
        "{what}: the lab's exit status should be the program's\n{said}"
    );
}

/// What is wrong with one case's outcome, if anything.
fn problem(case: &Planned, outcome: Outcome, scene: &Scene) -> Option<String> {
    let lands = case.lands.display();
    let denied = scene.denied.display();
    let saw = match outcome.errno {
        0 => format!("it succeeded (fd {})", outcome.ret),
        errno => format!(
            "it failed with errno {errno} ({})",
            nix::errno::Errno::from_raw(errno).desc()
        ),
    };
    let exists = std::fs::symlink_metadata(&case.lands).is_ok();
    if outcome.probe != 0 {
        let what = match case.case.create {
            true => "read, write and search",
            false => "read",
        };
        return Some(format!(
            "just before it, the target's access(\"{}\", {what}) failed with errno {} ({}): \
             the test made it so; were its permissions changed, or did the tracer refuse a \
             call that opens nothing?",
            String::from_utf8_lossy(&case.case.probe),
            outcome.probe,
            nix::errno::Errno::from_raw(outcome.probe).desc()
        ));
    }
    match case.expect {
        Expect::Refused if outcome.errno != libc::EACCES => Some(format!(
            "it opens {lands}, under {denied}: it should fail with EACCES (Permission \
             denied), but {saw}{}",
            if case.case.create && exists {
                ", and the file was made"
            } else {
                ""
            }
        )),
        Expect::Refused if case.case.create && exists => Some(format!(
            "it opens {lands}, under {denied}: the program saw EACCES, but the call ran: the \
             file was made"
        )),
        Expect::Runs if outcome.errno != 0 => Some(format!(
            "it opens {lands}, which is not under {denied}: it should run, but {saw}"
        )),
        Expect::Runs if case.case.create && !exists => Some(format!(
            "it opens {lands}, which is not under {denied}: it succeeded, but no file was made \
             there"
        )),
        _ => None,
    }
}

/// Absolute paths: files in the guarded folder and in a subfolder of it
/// are refused, to create or to read; files outside it, in a folder whose
/// name starts with the guarded one's among them, are opened.
#[test]
fn absolute_paths_under_the_folder_are_refused() {
    let scene = Scene::new();
    let sub = scene.subfolder(&scene.denied, 1, 8);
    let mut planned = Vec::new();
    for (n, (folder, expect)) in [
        (&scene.denied, Expect::Refused),
        (&sub, Expect::Refused),
        (&scene.denied, Expect::Refused),
        (&scene.other, Expect::Runs),
        (&scene.sibling, Expect::Runs),
        (&scene.sibling, Expect::Runs),
        (&scene.base, Expect::Runs),
    ]
    .into_iter()
    .enumerate()
    {
        let file = folder.join(random_name("f-"));
        // The guarded folder is a working folder too: a folder no one
        // may enter would refuse everything in it by itself.
        let cwd = [&scene.denied, &scene.base, &scene.other][n % 3];
        planned.push(
            Planned::new(any_call(), cwd, &file.to_string_lossy(), &file, expect).maybe_reading(),
        );
    }
    run(&scene, planned);
}

/// Relative paths start from the tracee's working folder, or from the
/// folder of openat's dirfd: the same name is under the guarded folder
/// from one and outside it from another.
#[test]
fn relative_paths_start_where_the_tracee_is() {
    let mut scene = Scene::new();
    let sub = scene.subfolder(&scene.denied, 1, 8);
    let (denied, sibling) = (name_of(&scene.denied), name_of(&scene.sibling));
    let (other, sub_name) = (name_of(&scene.other), name_of(&sub));
    let denied_fd = scene.dirfd(&scene.denied.clone());
    let base_fd = scene.dirfd(&scene.base.clone());
    let other_fd = scene.dirfd(&scene.other.clone());
    let (d, b, o, at_cwd) = (&scene.denied, &scene.base, &scene.other, libc::AT_FDCWD);
    let planned = [
        // From the working folder.
        (d, at_cwd, String::new(), d, Expect::Refused),
        (
            b,
            at_cwd,
            format!("{denied}/{sub_name}/"),
            &sub,
            Expect::Refused,
        ),
        (o, at_cwd, format!("../{denied}/"), d, Expect::Refused),
        (d, at_cwd, format!("../{other}/"), o, Expect::Runs),
        (
            b,
            at_cwd,
            format!("{sibling}/"),
            &scene.sibling,
            Expect::Runs,
        ),
        (
            d,
            at_cwd,
            format!("{sub_name}/../../{other}/"),
            o,
            Expect::Runs,
        ),
        // From a dirfd, whatever the working folder.
        (o, denied_fd, String::new(), d, Expect::Refused),
        (o, base_fd, format!("{denied}/"), d, Expect::Refused),
        (d, other_fd, String::new(), o, Expect::Runs),
        (d, base_fd, format!("{other}/"), o, Expect::Runs),
    ]
    .into_iter()
    .map(|(cwd, dirfd, prefix, folder, expect)| {
        Planned::named(None, cwd, dirfd, &prefix, folder, expect)
    })
    .collect();
    run(&scene, planned);
}

/// The path is read whole from the tracee's memory: long ones (over 300
/// bytes) whose last parts climb back with `..` into the guarded folder or
/// out of it, paths laid across a page boundary (split before the climb),
/// and paths whose NUL is the last byte of their mapping; under the folder
/// and outside it.
#[test]
fn paths_are_read_whole_from_the_tracee() {
    let scene = Scene::new();
    let deep_in = scene.subfolder(&scene.denied, 3, 70);
    let deep_out = scene.subfolder(&scene.other, 3, 70);
    let sub = scene.subfolder(&scene.denied, 1, 8);
    // `deep/../../../../NAME/`: back to the base folder, then into NAME.
    let climb_in = format!(
        "{}/../../../../{}/",
        deep_out.display(),
        name_of(&scene.denied)
    );
    let climb_out = format!(
        "{}/../../../../{}/",
        deep_in.display(),
        name_of(&scene.other)
    );
    let in_sub = format!("{}/", sub.display());
    let in_sibling = format!("{}/", scene.sibling.display());
    let in_other = format!("{}/", scene.other.display());
    let (d, o, s) = (&scene.denied, &scene.other, &scene.sibling);
    let mut planned = Vec::new();
    for (prefix, lands, placement, expect) in [
        (&climb_in, d, Placement::Plain, Expect::Refused),
        (&climb_out, o, Placement::Plain, Expect::Runs),
        (&climb_in, d, Placement::Across, Expect::Refused),
        (&climb_out, o, Placement::Across, Expect::Runs),
        (&in_sub, &sub, Placement::Across, Expect::Refused),
        (&in_sibling, s, Placement::Across, Expect::Runs),
        (&in_sub, &sub, Placement::AtTheEnd, Expect::Refused),
        (&in_other, o, Placement::AtTheEnd, Expect::Runs),
        (&climb_out, o, Placement::AtTheEnd, Expect::Runs),
    ] {
        // A path whose length (NUL included) is no multiple of 8: read
        // word by word from its start, its last word runs past its NUL.
        let mut name = random_name("f-");
        if (prefix.len() + name.len() + 1).is_multiple_of(8) {
            name.push_str(&"x".repeat(random_in(1..=7) as usize));
        }
        let path = format!("{prefix}{name}");
        let mut case = Planned::new(any_call(), &scene.base, &path, &lands.join(&name), expect)
            .placed(placement)
            .maybe_reading();
        if let Some(climb) = path.find("/..") {
            // The first page holds only part of what comes before the climb.
            case.case.offset = random_in(1..=climb as u64);
        }
        planned.push(case);
    }
    run(&scene, planned);
}

#[cfg(feature = "hidden")]
mod hidden;
