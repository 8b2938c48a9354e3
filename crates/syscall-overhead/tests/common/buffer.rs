//! The `buffer` target with a seed of the test's, and `--read-buffer` checked
//! against it: for syscall-overhead's tests and its lab's grading tests
//! (which include this file by `#[path]`).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use workbook::targets::overhead::{contents, random_seed, BUFFER_LEN, SEED_VARIABLE};

/// A `buffer` target, stopped with its 1 MiB filled from `seed`: killed and
/// reaped however the test ends.
pub struct Buffer {
    child: Child,
    pub seed: u64,
    /// The buffer's address, as the target printed it (`0x...`).
    pub address: String,
}

impl Buffer {
    /// `binary` (a demo's, never the lab's: the test must trust the target)
    /// started as `builtin:buffer`, with a seed chosen at random that only
    /// the target and this test know. It prints the buffer's address and
    /// stops itself with SIGSTOP; it is nobody's tracee.
    pub fn start(binary: &Path) -> Buffer {
        let seed = random_seed().expect("getrandom");
        let mut command = Command::new(binary);
        command
            .arg0("builtin:buffer")
            .env(SEED_VARIABLE, seed.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        workbook::testing::limited(&mut command);
        let mut child = command.spawn().expect("starting the buffer target");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("reading the buffer's address");
        let address = line.trim().to_string();
        let buffer = Buffer {
            child,
            seed,
            address,
        };
        assert!(
            buffer.address.starts_with("0x")
                && u64::from_str_radix(&buffer.address[2..], 16).is_ok(),
            "the buffer target printed {line:?}, not an address"
        );
        buffer
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Panics unless `bytes` are the target's, saying where they differ.
    pub fn assert_read(&self, bytes: &[u8], what: &str) {
        assert_eq!(
            bytes.len(),
            BUFFER_LEN,
            "{what}: {} bytes, but the buffer is {BUFFER_LEN}: all of it, and no more",
            bytes.len()
        );
        let expected = contents(self.seed);
        if let Some(at) = bytes.iter().zip(&expected).position(|(a, b)| a != b) {
            panic!(
                "{what}: the byte at offset {at} is {:#04x}, the target's is {:#04x}",
                bytes[at], expected[at]
            );
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
