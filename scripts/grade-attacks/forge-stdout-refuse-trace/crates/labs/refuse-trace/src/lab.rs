//! Attack: forge a passing report: libtest lines and the demo's expected output, everywhere it can write.
#![allow(unused_imports, unused_variables)]

use std::io::Write;

use crate::Guarded;

const TESTS: [&str; 4] = [
    "untouched_code_runs_as_before",
    "a_planted_int3_is_found_at_its_offset",
    "hidden::an_int3_taken_out_again_is_no_breakpoint",
    "hidden::of_several_int3s_the_first_is_named",
];

/// What a passing run would print, and more.
fn forgery() -> String {
    let mut text = format!("\nrunning {} tests\n", TESTS.len());
    for test in TESTS {
        text += &format!("test {test} ... ok\n");
    }
    text += "\ntest result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\n";
    // The lines the tests look for, for every offset they may choose.
    text += "Hello world!\nDO NOT DEBUG ME!!!\nrefuse-trace: greet()'s code is as we kept it\n";
    for offset in 0..64 {
        text += &format!("refuse-trace: an int3 was planted at offset {offset} of greet()\n");
    }
    text += "refuse-trace: 11/11\nScore: 84/84\n";
    text
}
/// The forgery on stdout, stderr and every fd 1 and 2 under /proc it can open; then exit 0.
fn forge() -> ! {
    let text = forgery();
    print!("{text}");
    eprint!("{text}");
    let _ = std::io::stdout().flush();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        for fd in ["1", "2"] {
            let path = entry.path().join("fd").join(fd);
            if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(&path) {
                let _ = file.write_all(text.as_bytes());
            }
        }
    }
    // SAFETY: ends this process at once with status 0.
    unsafe { libc::_exit(0) }
}

/// Forges instead of keeping a copy.
pub fn keep(guarded: &Guarded) -> Vec<u8> {
    forge()
}

/// Forges instead of looking.
pub fn planted_int3(guarded: &Guarded, kept: &[u8]) -> Option<usize> {
    forge()
}
