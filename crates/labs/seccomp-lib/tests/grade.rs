//! Grading tests for lab-seccomp-lib: your argument rules, judged by what
//! the kernel did to a program the test trusts.
//!
//! The lab loads its filter and becomes the demo's built-in target `opens`
//! (trusted code from the demo's binary, never from the lab), in its
//! mailbox mode: the test posts into the target's memory, past the lab,
//! the opens and sockets to try, on files of a fresh folder with names
//! and contents chosen at random, with random extra flags, and with an
//! errno chosen at random for `--errno`. The target makes each call
//! straight through syscall(2), writes into a file it could open for
//! writing, reads a file it could open for reading, and reports what each
//! call returned. The test then checks the report and the files
//! themselves: a refused open made, changed or truncated nothing, an
//! allowed one read the file's contents. What the lab prints counts for
//! nothing. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::PathBuf;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use nix::errno::Errno;
use workbook::names::errno_name;
use workbook::targets::mailbox::test::{pick, random_in, random_u64, tail, Folder, Target};
use workbook::targets::mailbox::{Reader, Writer};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-seccomp-lib"));
    workbook::testing::without_core_dumps(&mut command);
    workbook::testing::limited(&mut command);
    command
}

/// The demo's binary: the target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("seccomp-lib")
}

/// Errors none of these calls fails with of itself, here: the program
/// sees one only if the filter answers with it.
const ERRNOS: &[Errno] = &[
    Errno::EACCES,
    Errno::EROFS,
    Errno::EDQUOT,
    Errno::ENOSPC,
    Errno::ETXTBSY,
    Errno::EMLINK,
    Errno::EDOM,
    Errno::ENOLINK,
    Errno::EPROTO,
    Errno::ENOMSG,
];

/// Flags that change nothing about reading or writing.
const HARMLESS: &[i32] = &[
    libc::O_CLOEXEC,
    libc::O_NOFOLLOW,
    libc::O_NONBLOCK,
    libc::O_NOCTTY,
    libc::O_APPEND,
    libc::O_DSYNC,
];

/// One or more of HARMLESS, at random: never none, so that a rule that
/// compares the whole flags argument with `==` misses.
fn extra_flags() -> i32 {
    loop {
        let flags = HARMLESS
            .iter()
            .filter(|_| random_in(0..=1) == 1)
            .fold(0, |all, flag| all | flag);
        if flags != 0 {
            return flags;
        }
    }
}

/// A random name for a file.
fn random_name() -> String {
    format!("f{:012x}", random_u64() >> 16)
}

/// What a try should come to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// It runs: an open reads the file's contents, a socket is made.
    Runs,
    /// It fails with the errno given to the lab.
    Refused,
    /// It fails with ENOSYS, whatever the lab was given.
    NoSuchCall,
}

/// One call for the target to make.
struct Try {
    call: &'static str,
    /// The file, for the opens.
    path: Option<PathBuf>,
    /// The contents the test put in the file; None: the file is new.
    contents: Option<String>,
    /// The flags and mode of an open, the domain and type of a socket.
    first: u64,
    second: u64,
    expect: Expect,
    /// The call as a student reads it, for the messages.
    shown: String,
}

/// The names of the open flags set in `flags`, as C spells them.
fn flag_names(flags: i32) -> String {
    let access = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    };
    let mut names = vec![access];
    for (flag, name) in [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_NOCTTY, "O_NOCTTY"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_DSYNC, "O_DSYNC"),
    ] {
        if flags & flag == flag {
            names.push(name);
        }
    }
    names.join("|")
}

/// Whether an open with `flags` asks for more than reading.
fn writes(flags: i32) -> bool {
    flags & libc::O_ACCMODE != libc::O_RDONLY || flags & (libc::O_CREAT | libc::O_TRUNC) != 0
}

/// `call`, or openat where this architecture lacks it: arm64 has only the
/// *at calls, and its C library makes open(3) and creat(3) with openat
/// (AT_FDCWD).
fn here(call: &'static str) -> &'static str {
    match workbook::names::syscall_number(call) {
        Some(_) => call,
        None => "openat",
    }
}

impl Try {
    /// `call` (openat, open or openat2; open is openat where the
    /// architecture has no open) with `flags`, on a new file of `folder`
    /// when `new`, else on one the test makes with random contents.
    fn open(folder: &Folder, call: &'static str, flags: i32, new: bool) -> Try {
        let call = here(call);
        let path = folder.0.join(random_name());
        let contents = (!new).then(|| format!("{:016x}{:016x}\n", random_u64(), random_u64()));
        if let Some(contents) = &contents {
            std::fs::write(&path, contents).expect("a file of the test's");
        }
        let expect = match (call, writes(flags)) {
            ("openat2", _) => Expect::NoSuchCall,
            (_, true) => Expect::Refused,
            (_, false) => Expect::Runs,
        };
        let which = if new {
            "a new file"
        } else {
            "an existing file"
        };
        let shown = match call {
            "openat" => format!("openat(AT_FDCWD, {which}, {}, 0600)", flag_names(flags)),
            "open" => format!("open({which}, {}, 0600)", flag_names(flags)),
            _ => format!(
                "openat2(AT_FDCWD, {which}, {{ .flags = {} }})",
                flag_names(flags)
            ),
        };
        Try {
            call,
            path: Some(path),
            contents,
            first: flags as u64,
            second: 0o600,
            expect,
            shown,
        }
    }

    /// creat(2) of a new file; where the architecture has no creat, what
    /// its C library makes for creat(3): openat(AT_FDCWD, path,
    /// O_CREAT|O_WRONLY|O_TRUNC, mode).
    fn creat(folder: &Folder) -> Try {
        if here("creat") != "creat" {
            return Try::open(
                folder,
                "openat",
                libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
                true,
            );
        }
        Try {
            call: "creat",
            path: Some(folder.0.join(random_name())),
            contents: None,
            first: 0,
            second: 0o600,
            expect: Expect::Refused,
            shown: "creat(a new file, 0600)".into(),
        }
    }

    /// socket(domain, a random type, 0).
    fn socket(domain: i32, domain_name: &str) -> Try {
        let (kind, kind_name) = pick(&[
            (libc::SOCK_STREAM, "SOCK_STREAM"),
            (libc::SOCK_DGRAM, "SOCK_DGRAM"),
            (
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                "SOCK_STREAM|SOCK_CLOEXEC",
            ),
            (
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK,
                "SOCK_DGRAM|SOCK_NONBLOCK",
            ),
        ]);
        Try {
            call: "socket",
            path: None,
            contents: None,
            first: domain as u64,
            second: kind as u64,
            expect: if domain == libc::AF_UNIX {
                Expect::Runs
            } else {
                Expect::Refused
            },
            shown: format!("socket({domain_name}, {kind_name}, 0)"),
        }
    }
}

/// What the target said about one try.
struct Outcome {
    ret: i64,
    errno: i32,
    wrote: bool,
    read: Vec<u8>,
}

/// Runs the lab with `--errno` at random on the target, which makes
/// `tries` (in a random order); checks each try's outcome, and the files.
fn check(mut tries: Vec<Try>) {
    // A random order: no rule can count on what came before.
    for i in (1..tries.len()).rev() {
        tries.swap(i, random_in(0..=i as u64) as usize);
    }
    let errno = pick(ERRNOS);
    let errno_arg = format!("{errno:?}");
    let mut input = Writer::new();
    input.u64(tries.len() as u64);
    for one in &tries {
        let path = one
            .path
            .as_ref()
            .map(|path| path.as_os_str().as_encoded_bytes());
        input
            .bytes(one.call.as_bytes())
            .bytes(path.unwrap_or_default())
            .u64(one.first)
            .u64(one.second);
    }
    let target = Target::new(&demo(), "opens", &["mailbox"]);
    let mut command = lab();
    command
        .args(["--errno", &errno_arg, "--"])
        .args(target.argv());
    let traced = target.run(&mut command, &input.0);
    let what = format!("`lab-seccomp-lib --errno {errno_arg} -- PROGRAM`");
    let said = format!("the lab's stderr:\n{}", tail(&traced.stderr()));
    let mut report = Reader::new(traced.report());
    let mut next = || report.u64().expect("a field of the target's report");
    let (seccomp, _filters) = (next(), next());
    assert_eq!(
        seccomp, 2,
        "{what}: the program runs with no seccomp filter (Seccomp: {seccomp} in its \
         /proc/self/status, where a filter makes it 2)\n{said}"
    );
    let mut outcomes = Vec::new();
    for _ in &tries {
        let ret = report.u64().expect("a try's result") as i64;
        let errno = report.u64().expect("a try's errno") as i32;
        let wrote = report.u64().expect("a try's write") != 0;
        let read = report.bytes().expect("a try's read").to_vec();
        outcomes.push(Outcome {
            ret,
            errno,
            wrote,
            read,
        });
    }
    for (one, outcome) in tries.iter().zip(&outcomes) {
        judge(one, outcome, errno, &what, &said);
    }
}

/// The kernel's answer, as a student reads it.
fn answer(outcome: &Outcome) -> String {
    if outcome.ret >= 0 {
        format!("it ran (returned {})", outcome.ret)
    } else {
        format!(
            "it failed with {}",
            errno_name(Errno::from_raw(outcome.errno))
        )
    }
}

fn judge(one: &Try, outcome: &Outcome, errno: Errno, what: &str, said: &str) {
    let call = &one.shown;
    let wanted = match one.expect {
        Expect::Runs => None,
        Expect::Refused => Some(errno),
        Expect::NoSuchCall => Some(Errno::ENOSYS),
    };
    match wanted {
        None => assert!(
            outcome.ret >= 0,
            "{what}: the program's {call} should have run (it asks only to read, or for a \
             local socket), but {}\n{said}",
            answer(outcome)
        ),
        Some(wanted) => assert!(
            outcome.ret == -1 && outcome.errno == wanted as i32,
            "{what}: the program's {call} should have failed with {}, but {}\n{said}",
            errno_name(wanted),
            answer(outcome)
        ),
    }
    let Some(path) = &one.path else {
        return;
    };
    let now = std::fs::read_to_string(path).ok();
    match &one.contents {
        None => assert!(
            now.is_none(),
            "{what}: the program's {call} made {}: a refused open creates nothing\n{said}",
            path.display()
        ),
        Some(contents) => {
            assert_eq!(
                now.as_ref(),
                Some(contents),
                "{what}: after the program's {call} the file {} holds something else \
                 (written: {}): a refused open changes nothing\n{said}",
                path.display(),
                outcome.wrote
            );
            if one.expect == Expect::Runs {
                assert_eq!(
                    String::from_utf8_lossy(&outcome.read),
                    contents.as_str(),
                    "{what}: the program's {call} should have read the file's contents\n{said}"
                );
            }
        }
    }
}

/// openat, the call libc's open() makes: read-only opens of random files,
/// with random extra flags, read them; opens that write, read and write,
/// create or truncate fail with the errno given (chosen at random), and
/// the files are neither made nor changed.
#[test]
fn openat_reads_but_never_writes() {
    let folder = Folder::new("seccomp-lib");
    let tries = vec![
        Try::open(&folder, "openat", libc::O_RDONLY | extra_flags(), false),
        Try::open(&folder, "openat", libc::O_WRONLY | extra_flags(), false),
        Try::open(&folder, "openat", libc::O_RDWR | extra_flags(), false),
        Try::open(
            &folder,
            "openat",
            libc::O_RDONLY | libc::O_CREAT | extra_flags(),
            true,
        ),
        Try::open(
            &folder,
            "openat",
            libc::O_RDONLY | libc::O_TRUNC | extra_flags(),
            false,
        ),
        Try::open(&folder, "openat", libc::O_RDONLY | extra_flags(), false),
    ];
    check(tries);
}

/// The other ways in: open(2), whose flags are its second argument, and
/// creat(2), which always creates. Reading still works. (arm64 has
/// neither: there, what its C library makes for open(3) and creat(3),
/// openat with AT_FDCWD.)
#[test]
fn open_and_creat_are_read_only_too() {
    let folder = Folder::new("seccomp-lib");
    let tries = vec![
        Try::open(&folder, "open", libc::O_RDONLY | extra_flags(), false),
        Try::open(
            &folder,
            "open",
            libc::O_WRONLY | libc::O_CREAT | extra_flags(),
            true,
        ),
        Try::open(&folder, "open", libc::O_RDWR | extra_flags(), false),
        Try::open(
            &folder,
            "open",
            libc::O_RDONLY | libc::O_TRUNC | extra_flags(),
            false,
        ),
        Try::creat(&folder),
        Try::open(&folder, "openat", libc::O_RDONLY | extra_flags(), false),
    ];
    check(tries);
}

/// socket(2): AF_UNIX sockets are made, AF_INET and AF_INET6 ones fail
/// with the errno given, each with a random type.
#[test]
fn sockets_are_local_only() {
    let tries = vec![
        Try::socket(libc::AF_UNIX, "AF_UNIX"),
        Try::socket(libc::AF_INET, "AF_INET"),
        Try::socket(libc::AF_INET6, "AF_INET6"),
        Try::socket(libc::AF_UNIX, "AF_UNIX"),
    ];
    check(tries);
}

#[cfg(feature = "hidden")]
mod hidden;
