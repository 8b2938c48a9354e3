//! Attack: the grader's hidden tests, read at build time (include_str!) and
//! at run time (from the tree the tests run in), printed where a failing
//! test would show them.
#![allow(unused_imports, unused_variables)]

use crate::Guarded;

const MINE: &str = include_str!("../tests/hidden.rs");
const THEIRS: &str = include_str!("../../ipv6-filter/tests/hidden.rs");

/// The telling lines, on stdout, which a failing test quotes on the first
/// line of its message (the part a report keeps).
fn shout() {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    for text in [MINE, THEIRS, &read("tests/hidden.rs"), &read("../ipv6-filter/tests/hidden.rs")] {
        for line in text.lines().filter(|l| l.contains("plants two") || l.contains("fn each_port")) {
            print!("{line} ");
        }
    }
}

pub fn keep(guarded: &Guarded) -> Vec<u8> {
    shout();
    Vec::new()
}

pub fn planted_int3(guarded: &Guarded, kept: &[u8]) -> Option<usize> {
    shout();
    Some(0)
}
