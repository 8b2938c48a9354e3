//! Grading tests for lab-write-rewriter. The lab rewrites the writes of
//! the demo's own built-in target (trusted code, not the lab's), run in its
//! mailbox mode: the test posts into the target's memory, past the lab,
//! the bytes to write (random, of a random length, at a random offset) and
//! where they live (the heap, a read-only page, a read-only mapping of a
//! file); the target writes them to stdout and reports, in its memory, its
//! buffer as it is after each write. So the test sees both what came out
//! and what the lab did to the tracee's memory, which printing `A`s can't
//! fake. Each test's points are in lab.toml.

// The test process is out of the lab program's reach (see the macro).
workbook::seal_grading_tests!();

use std::path::PathBuf;
use std::process::Command;

use insta_cmd::get_cargo_bin;
use workbook::targets::mailbox::test::{random_bytes, random_in, random_u64, tail, Target, Traced};
use workbook::targets::mailbox::{Reader, Writer};
use workbook::testing::{assert_no_orphaned_targets, Transcript};

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

/// The lab's run of `args`, as the demo's snapshot `snapshot` shows it.
fn same_as_demo(args: &[&str], snapshot: &str) {
    let ours = Transcript::of_run(lab().args(args), ("lab-write-rewriter", "write-rewriter"));
    let demo = Transcript::of_demo("write-rewriter", snapshot);
    ours.assert_same_as(&demo, &format!("`lab-write-rewriter {}`", args.join(" ")));
}

/// What the rewriter makes of a buffer it rewrites whole: `A`s, and a
/// final newline kept.
fn rewritten(data: &[u8]) -> Vec<u8> {
    let mut out = vec![b'A'; data.len()];
    if data.last() == Some(&b'\n') {
        *out.last_mut().expect("not empty") = b'\n';
    }
    out
}

/// Random bytes for a buffer, with some newlines and no `A` (so that every
/// byte left unrewritten shows); the last byte is a newline one time in
/// two.
fn random_text(len: usize) -> Vec<u8> {
    let mut bytes = random_bytes(len);
    for byte in bytes.iter_mut() {
        if *byte % 16 == 0 {
            *byte = b'\n';
        } else if *byte == b'A' {
            *byte = b'B';
        }
    }
    if let Some(last) = bytes.last_mut() {
        *last = if random_u64() % 2 == 0 { b'\n' } else { b'x' };
    }
    bytes
}

/// One write(2) of the target's: from where, and which bytes.
enum Write {
    /// From a Vec of these bytes, `len` bytes at `at`.
    Heap {
        page: Vec<u8>,
        at: usize,
        len: usize,
    },
    /// From an anonymous page of these bytes, made read-only.
    ReadOnly {
        page: Vec<u8>,
        at: usize,
        len: usize,
    },
    /// From a read-only private mapping of a file of these bytes.
    File {
        page: Vec<u8>,
        at: usize,
        len: usize,
    },
    /// A long write from the heap: its length; the target makes its bytes
    /// from `seed`.
    Long { seed: u64, len: usize },
}

/// An offset and a length in a page, none of them whole words: the buffer
/// starts and ends in the middle of a word, and is not a whole number of
/// words long (two bytes past one at least, so that a tail left out shows
/// even when its last byte is a newline, which stays).
fn unaligned(page: usize, most: usize) -> (usize, usize) {
    loop {
        let at = random_in(1..=(page - most - 1) as u64) as usize;
        let len = random_in(9..=most as u64) as usize;
        if at % 8 != 0 && len % 8 >= 2 && (at + len) % 8 != 0 {
            return (at, len);
        }
    }
}

impl Write {
    fn heap() -> Write {
        let size = random_in(64..=600) as usize;
        let (at, len) = unaligned(size, size - 32);
        let mut page = random_bytes(size);
        page[at..at + len].copy_from_slice(&random_text(len));
        Write::Heap { page, at, len }
    }

    fn read_only() -> Write {
        let (at, len) = unaligned(4096, 300);
        let mut page = random_bytes(4096);
        page[at..at + len].copy_from_slice(&random_text(len));
        Write::ReadOnly { page, at, len }
    }

    fn file() -> Write {
        let (at, len) = unaligned(4096, 300);
        let mut page = random_bytes(4096);
        page[at..at + len].copy_from_slice(&random_text(len));
        Write::File { page, at, len }
    }

    fn long() -> Write {
        Write::Long {
            seed: random_u64(),
            len: random_in(1 << 20..=4 << 20) as usize,
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Write::Heap { .. } => "a write from the heap",
            Write::ReadOnly { .. } => "a write from a read-only page",
            Write::File { .. } => "a write from a read-only mapping of a file",
            Write::Long { .. } => "a long write",
        }
    }

    /// What comes out on stdout.
    fn output(&self) -> Vec<u8> {
        match self {
            Write::Heap { page, at, len }
            | Write::ReadOnly { page, at, len }
            | Write::File { page, at, len } => rewritten(&page[*at..at + len]),
            Write::Long { seed, len } => {
                let mut out = vec![b'A'; *len];
                if workbook::targets::hostile_writes::long_contents(*seed, *len).last()
                    == Some(&b'\n')
                {
                    out[len - 1] = b'\n';
                }
                out
            }
        }
    }
}

/// A folder of the test's, removed at the end.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lab (with `flags`) on the demo's target making `writes`. Checked
/// here: the target reported; stdout is exactly what the rewriter makes of
/// each write; after each write, the buffer in the target's memory is
/// rewritten in its range and not one byte outside it changed; a long write
/// is rewritten whole; a mapped file is the same on disk; the exit status
/// (random) is the target's.
fn run(flags: &[&str], writes: &[Write]) -> Traced {
    let folder = Folder(std::env::temp_dir().join(format!(
        "rewriter-{}-{:016x}",
        std::process::id(),
        random_u64()
    )));
    std::fs::create_dir_all(&folder.0).expect("the test's folder");
    let status = random_in(0..=99) as u8;
    let mut input = Writer::new();
    input.u64(u64::from(status)).u64(writes.len() as u64);
    let mut files = Vec::new();
    for (n, write) in writes.iter().enumerate() {
        match write {
            Write::Heap { page, at, len } => {
                input.u64(1).bytes(page).u64(*at as u64).u64(*len as u64)
            }
            Write::ReadOnly { page, at, len } => {
                input.u64(2).bytes(page).u64(*at as u64).u64(*len as u64)
            }
            Write::File { page, at, len } => {
                let path = folder.0.join(format!("{n}-{:016x}", random_u64()));
                std::fs::write(&path, page).expect("the file to map");
                input
                    .u64(3)
                    .bytes(path.as_os_str().as_encoded_bytes())
                    .u64(*at as u64)
                    .u64(*len as u64);
                files.push((path, page));
                &mut input
            }
            Write::Long { seed, len } => input.u64(4).u64(*seed).u64(*len as u64),
        };
    }
    let target = Target::new(&demo(), "writes", &["mailbox"]);
    let mut command = lab();
    command.args(flags).arg("--").args(target.argv());
    let traced = target.run(&mut command, &input.0);
    let what = ["lab-write-rewriter"]
        .iter()
        .chain(flags)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let said = tail(&traced.stderr());
    let mut report = Reader::new(traced.report());
    let mut at_output = 0;
    for write in writes {
        let wanted = write.output();
        let came = traced
            .output
            .stdout
            .get(at_output..(at_output + wanted.len()).min(traced.output.stdout.len()))
            .unwrap_or_default();
        if let Some(first) = (0..wanted.len()).find(|&i| came.get(i) != Some(&wanted[i])) {
            panic!(
                "{what}: {} of {} bytes: its output differs from the rewriter's from byte \
                 {first} on: {:?}, not {:?}\n{said}",
                write.what(),
                wanted.len(),
                String::from_utf8_lossy(&came[first.min(came.len())..(first + 16).min(came.len())]),
                String::from_utf8_lossy(&wanted[first..(first + 16).min(wanted.len())]),
            );
        }
        at_output += wanted.len();
        match write {
            Write::Heap { page, at, len }
            | Write::ReadOnly { page, at, len }
            | Write::File { page, at, len } => {
                let after = report.bytes().expect("a buffer in the target's report");
                let mut expected = page.clone();
                expected[*at..at + len].copy_from_slice(&wanted);
                assert_eq!(after.len(), expected.len(), "{what}: {}", write.what());
                if let Some(i) = (0..expected.len()).find(|&i| after[i] != expected[i]) {
                    let inside = (*at..at + len).contains(&i);
                    panic!(
                        "{what}: {} of {len} bytes at offset {at} of its buffer: after the \
                         write, the byte at offset {i} in the target's memory is {:#04x}, \
                         not {:#04x}: {}\n{said}",
                        write.what(),
                        after[i],
                        expected[i],
                        if inside {
                            "the buffer was not rewritten there"
                        } else {
                            "a byte outside the buffer changed"
                        }
                    );
                }
            }
            Write::Long { len, .. } => {
                let wrong = report.u64().expect("a count in the report");
                let first = report.u64().expect("an offset in the report");
                assert_eq!(
                    wrong, 0,
                    "{what}: a long write of {len} bytes: {wrong} of its bytes in the target's \
                     memory were not rewritten, the first at offset {first}\n{said}"
                );
            }
        }
    }
    assert_eq!(
        traced.output.stdout.len(),
        at_output,
        "{what}: stdout should be the rewritten writes and nothing else\n{said}"
    );
    for (path, page) in files {
        assert!(
            std::fs::read(&path).ok().as_ref() == Some(page),
            "{what}: the mapped file changed on disk: a private mapping is the process's own \
             copy\n{said}"
        );
    }
    assert_eq!(
        traced.code(),
        Some(i32::from(status)),
        "{what}: the lab's exit status should be the program's\n{said}"
    );
    traced
}

/// A write from the heap, of random bytes at a random place: what comes
/// out is the rewritten bytes, exactly as long, and the buffer in the
/// tracee's memory is rewritten (one process_vm_readv, one
/// process_vm_writev) with nothing around it changed.
#[test]
fn a_write_is_rewritten_exactly() {
    run(&[], &[Write::heap(), Write::heap()]);
}

/// A write from a read-only page, starting and ending in the middle of a
/// word: process_vm_writev fails there, and PTRACE_POKEDATA writes the
/// `A`s, the words at both ends read first so that no byte around the
/// buffer changes.
#[test]
fn a_read_only_buffer_is_rewritten_with_pokedata() {
    run(&[], &[Write::read_only()]);
}

/// A write from a read-only private mapping of a file: PTRACE_POKEDATA
/// writes into the process's own copy of the page, and the file on disk is
/// as it was.
#[test]
fn a_file_backed_buffer_is_rewritten_in_a_private_copy() {
    run(&[], &[Write::file()]);
}

/// One valid write of 1 to 4 MiB (its length random) is read and rewritten
/// whole.
#[test]
fn a_long_write_is_rewritten_whole() {
    run(&[], &[Write::long()]);
}

/// The built-in target's default run and a shell's writes are the demo's;
/// and the lab rewrites the writes of the demo's mailbox target.
#[test]
fn the_default_run_is_the_demos() {
    same_as_demo(&[], "default_run");
    same_as_demo(
        &["--", "sh", "-c", "echo hello; echo oops >&2"],
        "shell_writes_to_stdout_and_stderr",
    );
    assert_no_orphaned_targets();
    run(&[], &[Write::heap(), Write::read_only()]);
}

/// The same with --peek: the buffers read by PTRACE_PEEKDATA (given) and
/// written by your calls.
#[test]
fn the_peek_run_is_the_demos() {
    same_as_demo(&["--peek"], "peek_run");
    run(&["--peek"], &[Write::heap(), Write::read_only()]);
}
