//! Grading tests for lab-write-rewriter: ROT13 on one file descriptor.
//!
//! The lab traces the demo's own built-in target (trusted code, not the
//! lab's), run in its mailbox mode: the test posts into the target's
//! memory, past the lab, what to do: open files of the test's at random
//! descriptor numbers, then write(2) and writev(2) random text to them and
//! to stdout, from the heap, read-only pages and file mappings, at random
//! offsets. The target reports, in its memory, each buffer as it is after
//! the call. So the test checks what the files on disk hold, what came out
//! on stdout, and what the lab did to the tracee's memory: none of which a
//! lab can fake by printing, or by filtering the program's stdout.
//! Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::PathBuf;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::{random_bytes, random_in, random_u64, tail, Folder, Target};
use workbook::targets::mailbox::{Reader, Writer};

/// The lab, killed if it runs past the time limit.
fn lab() -> Command {
    let mut command = Command::new(get_cargo_bin("lab-write-rewriter"));
    workbook::testing::limited(&mut command);
    command
}

/// The demo's binary: the built-in target comes from it, never from the lab.
fn demo() -> PathBuf {
    workbook::testing::workspace_bin("write-rewriter")
}

/// ROT13 of a byte: the expected value, computed here.
fn rot13(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' => (byte - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (byte - b'A' + 13) % 26 + b'A',
        other => other,
    }
}

/// Random text: mostly letters of both cases (every one of the alphabet
/// turns up in a few hundred bytes), with digits, punctuation, newlines
/// and bytes past ASCII between them, which ROT13 leaves as they are.
pub fn random_text(len: usize) -> Vec<u8> {
    random_bytes(len)
        .into_iter()
        .map(|byte| match byte % 8 {
            0..=3 => b'a' + byte / 8 % 26,
            4 | 5 => b'A' + byte / 8 % 26,
            6 => b"0123456789 .,;!?-\n"[usize::from(byte / 8) % 18],
            _ => byte | 0x80,
        })
        .collect()
}

/// Where a buffer lives in the target.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// A Vec.
    Heap,
    /// An anonymous page made read-only.
    ReadOnly,
    /// A read-only private mapping of a file.
    PrivateFile,
    /// A shared, writable mapping of a file: its pages are the file's.
    SharedFile,
}

/// One buffer of the target's: where, its bytes, and the range written.
pub struct Piece {
    pub kind: Kind,
    pub page: Vec<u8>,
    pub at: usize,
    pub len: usize,
}

impl Piece {
    /// A buffer of `kind` with `len` bytes of random text at a random
    /// place, among random bytes (a mapping holds them at its start).
    pub fn new(kind: Kind, len: usize) -> Piece {
        let size = len + random_in(16..=200) as usize;
        let at = random_in(1..=(size - len - 1) as u64) as usize;
        let mut page = random_bytes(size);
        page[at..at + len].copy_from_slice(&random_text(len));
        Piece {
            kind,
            page,
            at,
            len,
        }
    }

    /// A heap buffer of 20 to 300 bytes.
    pub fn heap() -> Piece {
        Piece::new(Kind::Heap, random_in(20..=300) as usize)
    }

    fn what(&self) -> &'static str {
        match self.kind {
            Kind::Heap => "a buffer on the heap",
            Kind::ReadOnly => "a read-only buffer",
            Kind::PrivateFile => "a buffer in a read-only private mapping of a file",
            Kind::SharedFile => "a buffer in a shared mapping of a file",
        }
    }

    /// The buffer as it should be after the call: its range ROT13 when the
    /// call went to the chosen descriptor, unless it lies in a shared
    /// mapping; unchanged otherwise.
    fn after(&self, rewritten: bool) -> Vec<u8> {
        let mut page = self.page.clone();
        if rewritten && self.kind != Kind::SharedFile {
            for byte in &mut page[self.at..self.at + self.len] {
                *byte = rot13(*byte);
            }
        }
        page
    }
}

/// What the target does, in order.
pub enum Step {
    /// One write(2) of a buffer to a descriptor.
    Write(i32, Piece),
    /// One writev(2) of these buffers, one iovec each, to a descriptor.
    Writev(i32, Vec<Piece>),
}

/// Two different descriptor numbers, at random, for the target's files:
/// past 2, and well under the usual limit of 1024 open files.
pub fn two_fds() -> (i32, i32) {
    let first = random_in(3..=200) as i32;
    loop {
        let second = random_in(3..=200) as i32;
        if second != first {
            return (first, second);
        }
    }
}

/// Runs `lab-write-rewriter --rot13 chosen` on the demo's target, which
/// opens a file of the test's at each descriptor of `files` (1 is stdout,
/// and is not opened), then makes `steps`. Checked: the target did every
/// step; after each call, every buffer in the target's memory is ROT13 in
/// the range written when the call went to `chosen`, unchanged otherwise,
/// and not one byte around it changed; each file holds what was written to
/// it (ROT13 where it should be), and so does stdout; mapped files are the
/// same on disk; the exit status (random) is the target's.
pub fn run(chosen: i32, files: &[i32], steps: &[Step]) {
    let folder = Folder::new("rot13");
    let status = random_in(0..=99) as u8;
    let mut input = Writer::new();
    let opens = files.iter().filter(|&&fd| fd != 1).count();
    input
        .u64(u64::from(status))
        .u64((opens + steps.len()) as u64);
    let mut outputs = Vec::new();
    for &fd in files.iter().filter(|&&fd| fd != 1) {
        let path = folder.0.join(format!("fd-{fd}"));
        input
            .u64(5)
            .bytes(path.as_os_str().as_encoded_bytes())
            .u64(fd as u64);
        outputs.push((fd, Some(path)));
    }
    outputs.push((1, None));
    let mut mapped = Vec::new();
    let mut put = |input: &mut Writer, piece: &Piece| {
        let kind = match piece.kind {
            Kind::Heap => 1,
            Kind::ReadOnly => 2,
            Kind::PrivateFile => 3,
            Kind::SharedFile => 5,
        };
        input.u64(kind);
        match piece.kind {
            Kind::Heap | Kind::ReadOnly => {
                input.bytes(&piece.page);
            }
            Kind::PrivateFile | Kind::SharedFile => {
                let path = folder.0.join(format!("mapped-{:016x}", random_u64()));
                std::fs::write(&path, &piece.page).expect("the file to map");
                input.bytes(path.as_os_str().as_encoded_bytes());
                mapped.push((path, piece.page.clone()));
            }
        }
        input.u64(piece.at as u64).u64(piece.len as u64);
    };
    for step in steps {
        match step {
            Step::Write(fd, piece) => {
                input.u64(6).u64(*fd as u64);
                put(&mut input, piece);
            }
            Step::Writev(fd, pieces) => {
                input.u64(7).u64(*fd as u64).u64(pieces.len() as u64);
                for piece in pieces {
                    put(&mut input, piece);
                }
            }
        }
    }
    let target = Target::new(&demo(), "writes", &["mailbox"]);
    let mut command = lab();
    command
        .arg("--rot13")
        .arg(chosen.to_string())
        .arg("--")
        .args(target.argv());
    let traced = target.run(&mut command, &input.0);
    let what = format!("lab-write-rewriter --rot13 {chosen}");
    let said = tail(&traced.stderr());
    let mut report = Reader::new(traced.report());
    let mut wanted_at = std::collections::BTreeMap::<i32, Vec<u8>>::new();
    for step in steps {
        let (fd, pieces, call) = match step {
            Step::Write(fd, piece) => (*fd, std::slice::from_ref(piece), "write"),
            Step::Writev(fd, pieces) => (*fd, pieces.as_slice(), "writev"),
        };
        let rewritten = fd == chosen;
        for (n, piece) in pieces.iter().enumerate() {
            let expected = piece.after(rewritten);
            wanted_at
                .entry(fd)
                .or_default()
                .extend_from_slice(&expected[piece.at..piece.at + piece.len]);
            let after = report
                .bytes()
                .unwrap_or_else(|why| panic!("{what}: the target's report: {why}\n{said}"));
            assert_eq!(after.len(), expected.len(), "{what}: the target's report");
            let Some(i) = (0..expected.len()).find(|&i| after[i] != expected[i]) else {
                continue;
            };
            let inside = (piece.at..piece.at + piece.len).contains(&i);
            let which = if call == "writev" {
                format!("iovec {n} of {} ({})", pieces.len(), piece.what())
            } else {
                piece.what().to_string()
            };
            let why = match (inside, rewritten, piece.kind) {
                (false, _, _) => "a byte outside the buffer changed",
                (true, true, Kind::SharedFile) => {
                    "a buffer in a shared mapping must be left as it is: its pages are the file's"
                }
                (true, true, _) => {
                    "the buffer should hold ROT13 of its text when the kernel reads it"
                }
                (true, false, _) => {
                    "a call to another descriptor than the chosen one must be left alone"
                }
            };
            panic!(
                "{what}: {call} to fd {fd}, {which}, {} bytes at offset {} of it: after the call, \
                 the byte at offset {i} in the target's memory is {:?}, not {:?}: {why}\n{said}",
                piece.len,
                piece.at,
                char::from(after[i]),
                char::from(expected[i]),
            );
        }
    }
    for (fd, path) in &outputs {
        let wanted = wanted_at.remove(fd).unwrap_or_default();
        let (came, place) = match path {
            Some(path) => (
                std::fs::read(path).unwrap_or_default(),
                format!("the file the target opened at fd {fd}"),
            ),
            None => (traced.output.stdout.clone(), "stdout (fd 1)".to_string()),
        };
        if let Some(first) =
            (0..wanted.len().max(came.len())).find(|&i| came.get(i) != wanted.get(i))
        {
            let shown = |bytes: &[u8]| {
                String::from_utf8_lossy(
                    &bytes[first.min(bytes.len())..(first + 24).min(bytes.len())],
                )
                .into_owned()
            };
            panic!(
                "{what}: {place} should hold {} bytes ({}), and differs from byte {first} on: \
                 {:?}, not {:?}\n{said}",
                wanted.len(),
                if *fd == chosen {
                    "ROT13 of what was written to it"
                } else {
                    "what was written to it, unchanged"
                },
                shown(&came),
                shown(&wanted),
            );
        }
    }
    for (path, page) in mapped {
        assert!(
            std::fs::read(&path).ok().as_ref() == Some(&page),
            "{what}: a file the target mapped changed on disk: a private mapping is the \
             process's own copy, and a shared one must be left alone\n{said}"
        );
    }
    assert_eq!(
        traced.code(),
        Some(i32::from(status)),
        "{what}: the lab's exit status should be the program's\n{said}"
    );
}

/// Writes from the heap to two files, at random descriptors, and to
/// stdout: those to the chosen descriptor arrive ROT13 (and are ROT13 in
/// the tracee's memory), the others unchanged.
#[test]
fn writes_to_the_chosen_fd_are_rot13() {
    let (chosen, other) = two_fds();
    run(
        chosen,
        &[chosen, other],
        &[
            Step::Write(chosen, Piece::heap()),
            Step::Write(other, Piece::heap()),
            Step::Write(1, Piece::heap()),
            Step::Write(chosen, Piece::heap()),
        ],
    );
}

/// A writev of 2 to 5 buffers to the chosen descriptor: each buffer is
/// ROT13, as the iovec array in the tracee's memory says where they are;
/// writevs to another file and to stdout are unchanged.
#[test]
fn each_buffer_of_a_writev_is_rot13() {
    let (chosen, other) = two_fds();
    let pieces = |most| (0..random_in(2..=most)).map(|_| Piece::heap()).collect();
    run(
        chosen,
        &[chosen, other],
        &[
            Step::Writev(chosen, pieces(5)),
            Step::Writev(other, pieces(3)),
            Step::Writev(1, pieces(3)),
        ],
    );
}

/// A write from a read-only page, and a writev with a buffer in a
/// read-only private mapping of a file: process_vm_writev can't write
/// there, PTRACE_POKEDATA can; the file on disk stays as it was.
#[test]
fn a_read_only_buffer_is_rot13_too() {
    let (chosen, _) = two_fds();
    let len = || random_in(20..=300) as usize;
    run(
        chosen,
        &[chosen],
        &[
            Step::Write(chosen, Piece::new(Kind::ReadOnly, len())),
            Step::Writev(
                chosen,
                vec![Piece::heap(), Piece::new(Kind::PrivateFile, len())],
            ),
        ],
    );
}

/// `--rot13 1`: stdout is the chosen descriptor, and the memory is
/// rewritten (not only what comes out); a file at another descriptor is
/// left alone.
#[test]
fn stdout_can_be_the_chosen_fd() {
    let (other, _) = two_fds();
    run(
        1,
        &[other],
        &[
            Step::Write(1, Piece::heap()),
            Step::Write(other, Piece::heap()),
            Step::Writev(1, vec![Piece::heap(), Piece::heap()]),
        ],
    );
}

#[cfg(feature = "hidden")]
mod hidden;
