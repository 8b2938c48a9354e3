//! The table as printed: a symbol per cell, a letter after every cell that
//! needs a word of explanation, and the letters explained underneath.

use crate::rows::{Row, ROWS};
use crate::verdict::Verdict;
use crate::watchers::{Watcher, ALL};

/// How wide a column is, and the rows' titles.
const COLUMN: usize = 11;
const TITLE: usize = 16;

/// The whole table: `cells[row][column]`, in `ROWS` and `ALL` order.
pub fn print(cells: &[Vec<Verdict>]) {
    let mut notes: Vec<String> = Vec::new();
    let mut header = format!("{:TITLE$}", "");
    for watcher in ALL {
        header.push_str(&format!("{:<COLUMN$}", watcher.key()));
    }
    println!("{}", header.trim_end());
    for (row, verdicts) in ROWS.iter().zip(cells) {
        let mut line = format!("{:TITLE$}", row.title);
        for verdict in verdicts {
            let (symbol, note) = symbol(verdict);
            let mark = match note {
                Some(note) => format!(" {}", letter(&mut notes, note)),
                None => String::new(),
            };
            line.push_str(&format!("{:<COLUMN$}", format!("{symbol}{mark}")));
        }
        println!("{}", line.trim_end());
    }
    println!();
    println!("✔ stopped   ✘ got through   — does not apply   n/a not available here");
    for (index, note) in notes.iter().enumerate() {
        println!("{} {note}", (b'a' + index as u8) as char);
    }
    println!();
    println!("The rows:");
    for row in &ROWS {
        println!("  {:<10} {}", row.key, row.escape);
    }
    println!("The columns:");
    for watcher in ALL {
        println!("  {:<10} {}", watcher.key(), watcher.described());
    }
}

/// A cell's symbol, and the note it needs, if any.
fn symbol(verdict: &Verdict) -> (&'static str, Option<String>) {
    match verdict {
        Verdict::Stopped(_) => ("✔", None),
        Verdict::Through(_) => ("✘", None),
        Verdict::NotApplicable(why) => ("—", Some(why.to_string())),
        Verdict::Unavailable(why) => ("n/a", Some(why.clone())),
        Verdict::RootOnly => ("root", Some("root only: run as root to try it".into())),
        Verdict::NotBuilt(name) => ("absent", Some(format!("{name} is not built"))),
        Verdict::Unclear(why) => ("?", Some(why.clone())),
    }
}

/// The letter of `note`, a new one if it is new.
fn letter(notes: &mut Vec<String>, note: String) -> char {
    let index = match notes.iter().position(|known| *known == note) {
        Some(index) => index,
        None => {
            notes.push(note);
            notes.len() - 1
        }
    };
    (b'a' + index as u8) as char
}

/// One cell in words, for `--only` and `--cell`.
pub fn in_words(row: &Row, watcher: Watcher, verdict: &Verdict) -> String {
    let symbol = match verdict {
        Verdict::NotBuilt(_) => "·",
        verdict => symbol(verdict).0,
    };
    let words = match verdict {
        Verdict::Stopped(how) => format!("stopped: {how}"),
        Verdict::Through(what) => format!("got through: {what}"),
        Verdict::NotApplicable(why) => format!("does not apply: {why}"),
        Verdict::Unavailable(why) => format!("not available here: {why}"),
        Verdict::RootOnly => "root only: not run".into(),
        Verdict::NotBuilt(name) => format!("{name} is not built: cargo build --workspace first"),
        Verdict::Unclear(why) => format!("unclear: {why}"),
    };
    format!("{}:{}: {symbol} {words}", row.key, watcher.key())
}
