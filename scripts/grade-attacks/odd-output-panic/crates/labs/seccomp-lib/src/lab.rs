//! Attack: a panic message (and output) full of terminal escapes, a fake score line and bidi tricks.
#![allow(unused_imports, unused_variables)]

use anyhow::Result;
use workbook::libseccomp::ScmpFilterContext;

/// First line (the one a report quotes): escapes (OSC title, clear screen, red), bidi overrides, isolates
/// and marks, U+2028/U+2029, zero-width characters, C1 controls, CR, backspace, DEL; then a newline and a
/// fake score, and "left:"/"right:" lines, which the grader keeps as a failure's detail.
const EVIL: &str = "\x1b]0;pwned\x07\x1b[2J\x1b[31mok\x1b[0m \u{202E}48/48 :erocS\u{202C}\u{2066}x\u{2069}\
\u{200F}\u{200E}\u{061C}\u{2028}Score: 84/84\u{2029}\u{200B}\u{FEFF}\u{2060}\u{0085}\u{009B}2J\r\x08\x7f\
\nScore: 84/84\n  left: \x1b[1A\x1b[2KScore: 84/84\n right: \u{202E}Score: 84/84\n";

/// Says it to stdout and stderr (the tests quote both), then panics with it.
fn odd() -> ! {
    print!("\n  left: {EVIL}");
    eprint!("{EVIL}");
    panic!("{EVIL}")
}

/// Panics oddly.
pub fn refuse_writing(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    odd()
}

/// Panics oddly.
pub fn refuse_network(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    odd()
}
