//! The book pulls code and snapshots out of the crates with `{{#include}}`.
//! mdBook exits 0 when an include points at a missing file (it only logs an
//! error and leaves the raw `{{#include ...}}` in the page), and prints nothing
//! at all for an unknown anchor or a line range past the end of the file (the
//! listing is just empty). So a renamed file or a deleted `// ANCHOR:` line
//! would quietly blank out a listing. This test checks every include instead.
//!
//! Snapshot files (`.snap`) are never `{{#include}}`d: that would show the
//! snapshot format (`exit_code: 0`, `----- stdout -----`) as if it were output.
//! The book shows output with `{{#terminal PATH}}` or
//! `{{#terminal PATH $ command}}` (the mdBook preprocessor `book-terminal`,
//! a binary of this crate, turns it into a terminal-like block). Here its PATH
//! must be a snapshot that `workbook::snapshot` reads, as the preprocessor
//! does: a YAML header, and, if the header records the command (`info:`,
//! from insta-cmd), insta-cmd's stdout and stderr sections.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use workbook::snapshot::Snapshot;

#[test]
fn book_includes_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists");
    let problems = check_book(&root);
    assert!(
        problems.is_empty(),
        "the book has {} include problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Checks `ROOT/book/src`; returns one `book/src/x.md:LINE: problem` per problem.
fn check_book(root: &Path) -> Vec<String> {
    let src = root.join("book/src");
    let summary = src.join("SUMMARY.md");
    let mut problems = Vec::new();
    let Ok(text) = fs::read_to_string(&summary) else {
        return vec![format!(
            "book/src/SUMMARY.md: not found (looked for {}); the book has no table of contents",
            summary.display()
        )];
    };
    for (line, target) in summary_links(&text) {
        if !src.join(&target).is_file() {
            problems.push(format!(
                "book/src/SUMMARY.md:{line}: chapter file `{target}` does not exist"
            ));
        }
    }

    let mut mds = Vec::new();
    collect_md_files(&src, &mut mds);
    let mut includes = 0;
    for md in &mds {
        let shown = md.strip_prefix(root).unwrap_or(md).display().to_string();
        let text = match fs::read_to_string(md) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{shown}: cannot read: {e}"));
                continue;
            }
        };
        let dir = md.parent().expect("a file under book/src has a parent");
        for link in find_links(&text) {
            if link.kind != "playground" {
                includes += 1;
            }
            if let Err(problem) = check_link(dir, &link) {
                problems.push(format!("{shown}:{}: {problem}", link.line));
            }
        }
    }
    // Without this a book whose includes were all deleted (or never written) would pass.
    if includes == 0 {
        problems.push(format!(
            "book/src: no {{{{#include}}}} in any of {} .md file(s); the check has nothing to check",
            mds.len()
        ));
    }
    problems
}

/// `(line, target)` for every local link in SUMMARY.md; draft chapters `[x]()` have none.
fn summary_links(text: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(close) = rest.find(')') else { break };
            let target = rest[..close].split('#').next().unwrap_or("").trim();
            if !target.is_empty() && !target.contains("://") {
                links.push((i + 1, target.to_string()));
            }
            rest = &rest[close + 1..];
        }
    }
    links
}

fn collect_md_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_md_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

#[derive(Debug)]
struct Link {
    line: usize,
    /// `include`, `rustdoc_include`, `playground`, `terminal` or `hint`.
    kind: String,
    /// The argument as written, e.g. `../../crates/x/src/main.rs:setup`.
    arg: String,
}

/// Finds links the way mdBook's preprocessor does: `{{ #kind ARG props }}`,
/// anywhere (code blocks included), except escaped `\{{#...}}`.
fn find_links(text: &str) -> Vec<Link> {
    let b = text.as_bytes();
    let mut links = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"\\{{#") {
            let line_end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            if let Some(close) = text[i + 4..line_end].rfind("}}") {
                i = i + 4 + close + 2;
                continue;
            }
        }
        if b[i..].starts_with(b"{{") {
            if let Some((end, kind, rest)) = parse_link_at(text, i + 2) {
                let arg = rest.split_whitespace().next().unwrap_or("").to_string();
                if matches!(
                    kind,
                    "include" | "rustdoc_include" | "playground" | "playpen" | "terminal" | "hint"
                ) {
                    links.push(Link {
                        line: text[..i].matches('\n').count() + 1,
                        kind: if kind == "playpen" {
                            "playground"
                        } else {
                            kind
                        }
                        .to_string(),
                        arg,
                    });
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    links
}

/// Parses `\s*#kind\s+rest}}` starting at `at`; returns (end, kind, rest).
fn parse_link_at(text: &str, at: usize) -> Option<(usize, &str, &str)> {
    let body = &text[at..];
    let after_ws = body.trim_start();
    let after_hash = after_ws.strip_prefix('#')?;
    let kind_len = after_hash
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after_hash.len());
    let (kind, after_kind) = after_hash.split_at(kind_len);
    if kind.is_empty() || !after_kind.starts_with(char::is_whitespace) {
        return None;
    }
    let close = after_kind.find('}')?;
    if !after_kind[close..].starts_with("}}") || after_kind[..close].trim().is_empty() {
        return None;
    }
    let end = text.len() - after_kind.len() + close + 2;
    Some((end, kind, after_kind[..close].trim()))
}

/// What follows the path, as mdBook reads it.
#[derive(Debug, PartialEq)]
enum Selection {
    Whole,
    Anchor(String),
    /// 1-based line numbers as written.
    Lines {
        start: Option<usize>,
        end: End,
    },
}

#[derive(Debug, PartialEq)]
enum End {
    /// `PATH:N`: just line N.
    Single,
    /// `PATH:N:`: to the end of the file.
    Open,
    /// `PATH:N:M` or `PATH::M`.
    At(usize),
    /// `PATH:N:junk`: mdBook silently reads this as `PATH:N:`.
    NotANumber(String),
}

/// Mirrors mdBook 0.5's `parse_range_or_anchor`.
fn parse_selection(spec: Option<&str>) -> Selection {
    let Some(spec) = spec else {
        return Selection::Whole;
    };
    let mut parts = spec.splitn(3, ':');
    let first = parts.next().unwrap_or("");
    let start = match first.parse::<usize>() {
        Ok(n) => Some(n),
        Err(_) if first.is_empty() => None,
        Err(_) => return Selection::Anchor(first.to_string()),
    };
    let end = match parts.next() {
        None => End::Single,
        Some("") => End::Open,
        Some(s) => s
            .parse()
            .map_or_else(|_| End::NotANumber(s.to_string()), End::At),
    };
    match (start, end) {
        (None, End::Single | End::Open) => Selection::Whole,
        (start, end) => Selection::Lines { start, end },
    }
}

fn check_link(dir: &Path, link: &Link) -> Result<(), String> {
    let (path, spec) = match link.arg.split_once(':') {
        Some((path, spec)) => (path, Some(spec)),
        None => (link.arg.as_str(), None),
    };
    let shown = format!("{{{{#{} {}}}}}", link.kind, link.arg);
    let file = dir.join(path);
    let text = match fs::read(&file) {
        Ok(bytes) => {
            String::from_utf8(bytes).map_err(|_| format!("{shown}: `{path}` is not UTF-8"))?
        }
        Err(e) => {
            return Err(format!(
                "{shown}: cannot read `{path}` ({}): {e}",
                file.display()
            ))
        }
    };
    if link.kind == "playground" {
        return Ok(());
    }
    if link.kind == "terminal" {
        return check_terminal(path, spec, &text).map_err(|e| format!("{shown}: {e}"));
    }
    if link.kind == "hint" {
        return check_hint(spec, &text).map_err(|e| format!("{shown}: {e}"));
    }
    if path.ends_with(".snap") {
        return Err(format!(
            "{shown}: a snapshot is shown with `{{{{#terminal PATH}}}}`, not included as text"
        ));
    }
    let selection = parse_selection(spec);
    match selection {
        Selection::Whole => Ok(()),
        Selection::Anchor(name) => check_anchor(&text, &name),
        Selection::Lines { start, end } => check_lines(text.lines().count(), start, end),
    }
    .map_err(|e| format!("{shown}: {e}"))
}

/// `{{#hint PATH:N}}`: N counts from 1 and names one of the hints, which
/// hints.md separates with `---` lines (scripts/book-hints).
fn check_hint(spec: Option<&str>, text: &str) -> Result<(), String> {
    let count = text
        .split("\n---\n")
        .filter(|hint| !hint.trim().is_empty())
        .count();
    match spec.map(str::parse::<usize>) {
        Some(Ok(n)) if (1..=count).contains(&n) => Ok(()),
        Some(Ok(n)) => Err(format!("hint {n} of {count}")),
        _ => Err("`{{#hint}}` takes PATH:N, the hint's number from 1".into()),
    }
}

/// `{{#terminal PATH}}`: a whole snapshot, which the preprocessor can read.
fn check_terminal(path: &str, spec: Option<&str>, text: &str) -> Result<(), String> {
    if spec.is_some() || !path.ends_with(".snap") {
        return Err("`{{#terminal}}` takes the path of a whole `.snap` file".into());
    }
    Snapshot::parse(text)
        .map(|_| ())
        .map_err(|e| format!("{e:#}"))
}

fn check_anchor(text: &str, name: &str) -> Result<(), String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines
        .iter()
        .position(|l| anchor_on(l, "ANCHOR:") == Some(name))
    else {
        return Err(format!("no `ANCHOR: {name}` line in the file"));
    };
    let Some(len) = lines[start + 1..]
        .iter()
        .position(|l| anchor_on(l, "ANCHOR_END:") == Some(name))
    else {
        return Err(format!(
            "no `ANCHOR_END: {name}` line after `ANCHOR: {name}`"
        ));
    };
    // mdBook drops other anchors' marker lines from the listing.
    let shown = lines[start + 1..start + 1 + len]
        .iter()
        .filter(|l| anchor_on(l, "ANCHOR:").is_none() && anchor_on(l, "ANCHOR_END:").is_none())
        .count();
    if shown == 0 {
        return Err(format!("anchor `{name}` encloses no lines"));
    }
    Ok(())
}

/// The anchor name after `marker` on this line, as mdBook's `MARKER\s*([\w_-]+)` finds it.
fn anchor_on<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let at = line.find(marker)?;
    let rest = line[at + marker.len()..].trim_start();
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}

fn check_lines(count: usize, start: Option<usize>, end: End) -> Result<(), String> {
    let first = start.unwrap_or(1);
    if first == 0 {
        return Err("line numbers start at 1".into());
    }
    if first > count {
        return Err(format!(
            "starts at line {first} but the file has {count} lines"
        ));
    }
    match end {
        End::Single | End::Open => Ok(()),
        End::NotANumber(s) => Err(format!("end `{s}` is not a line number")),
        End::At(last) if last > count => Err(format!(
            "ends at line {last} but the file has {count} lines"
        )),
        End::At(last) if last < first => Err(format!("range {first}..={last} is empty")),
        End::At(_) => Ok(()),
    }
}

// The checker must itself be able to fail: feed it small books with known defects.

/// A throwaway workspace root under the temp dir, removed on drop.
struct Fixture(PathBuf);

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "workbook-book-includes-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("book/src")).unwrap();
        let fixture = Fixture(dir);
        fixture.write(
            "book/src/SUMMARY.md",
            "# Summary\n\n- [Chapter](ch.md)\n- [Draft]()\n",
        );
        fixture.write(
            "crates/demo/src/main.rs",
            "use std::process;\n\n// ANCHOR: main\nfn main() {\n    // ANCHOR: exit\n    process::exit(0);\n    // ANCHOR_END: exit\n}\n// ANCHOR_END: main\n",
        );
        fixture.write(
            "crates/demo/tests/snapshots/run__run.snap",
            "---\nsource: crates/demo/tests/run.rs\nexpression: output\n---\nhello\nworld\n",
        );
        fixture
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// Writes `book/src/ch.md` with `body` and returns the checker's problems.
    fn check_chapter(&self, body: &str) -> Vec<String> {
        self.write("book/src/ch.md", body);
        check_book(&self.0)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn assert_one_problem(problems: &[String], wanted: &str) {
    assert!(
        problems.len() == 1 && problems[0].contains(wanted),
        "expected exactly one problem containing {wanted:?}, got {problems:#?}"
    );
}

#[test]
fn accepts_a_correct_book() {
    let f = Fixture::new("correct");
    let problems = f.check_chapter(
        "# Chapter\n\n```rust\n{{#include ../../crates/demo/src/main.rs:main}}\n```\n\n\
         ```rust\n{{#rustdoc_include ../../crates/demo/src/main.rs:exit}}\n```\n\n\
         {{#include ../../crates/demo/src/main.rs}} {{#include ../../crates/demo/src/main.rs:2:4}}\n\
         {{#include ../../crates/demo/src/main.rs:9}} {{#include ../../crates/demo/src/main.rs::9}}\n\
         {{ #include ../../crates/demo/src/main.rs:3: }}\n\n\
         Escaped, so not an include: \\{{#include nowhere.rs}}\n",
    );
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
fn reports_a_missing_file_with_its_line() {
    let f = Fixture::new("missing-file");
    let problems =
        f.check_chapter("# Chapter\n\n```rust\n{{#include ../../crates/demo/src/lib.rs}}\n```\n");
    assert_one_problem(
        &problems,
        "book/src/ch.md:4: {{#include ../../crates/demo/src/lib.rs}}: cannot read",
    );
}

#[test]
fn reports_an_unknown_anchor() {
    let f = Fixture::new("unknown-anchor");
    let problems = f.check_chapter("{{#include ../../crates/demo/src/main.rs:setup}}\n");
    assert_one_problem(&problems, "book/src/ch.md:1: {{#include ../../crates/demo/src/main.rs:setup}}: no `ANCHOR: setup` line");
}

#[test]
fn reports_an_anchor_without_its_end() {
    let f = Fixture::new("anchor-end");
    f.write(
        "crates/demo/src/lib.rs",
        "// ANCHOR: half\npub fn f() {}\n// ANCHOR_END: other\n",
    );
    let problems = f.check_chapter("\n{{#include ../../crates/demo/src/lib.rs:half}}\n");
    assert_one_problem(&problems, "book/src/ch.md:2: {{#include ../../crates/demo/src/lib.rs:half}}: no `ANCHOR_END: half` line");
}

#[test]
fn reports_a_line_range_past_the_end() {
    let f = Fixture::new("range");
    let problems = f.check_chapter(
        "{{#include ../../crates/demo/src/main.rs:3:40}}\n{{#include ../../crates/demo/src/main.rs:12}}\n",
    );
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with("book/src/ch.md:1:")
            && problems[0].contains("ends at line 40 but the file has 9 lines")
    );
    assert!(
        problems[1].starts_with("book/src/ch.md:2:") && problems[1].contains("starts at line 12")
    );
}

#[test]
fn reports_a_snapshot_included_as_text() {
    let f = Fixture::new("snap");
    let snap = "../../crates/demo/tests/snapshots/run__run.snap";
    for selection in ["", ":1:", ":5:", ":5:6", ":body"] {
        let problems = f.check_chapter(&format!("# Output\n{{{{#include {snap}{selection}}}}}\n"));
        assert_one_problem(&problems, "book/src/ch.md:2:");
        assert!(
            problems[0].contains("is shown with `{{#terminal PATH}}`"),
            "{selection:?}: {problems:#?}"
        );
    }
}

#[test]
fn checks_terminal_directives() {
    let f = Fixture::new("terminal");
    f.write(
        "crates/demo/tests/snapshots/cli__run.snap",
        "---\nsource: crates/demo/tests/cli.rs\ninfo:\n  program: demo\n  args: []\n---\n\
         success: true\nexit_code: 0\n----- stdout -----\nhi\n\n----- stderr -----\n",
    );
    f.write(
        "crates/demo/tests/snapshots/cli__broken.snap",
        "---\nsource: crates/demo/tests/cli.rs\ninfo:\n  program: demo\n---\nhi\n",
    );
    f.write("crates/demo/tests/snapshots/cli__bare.snap", "hi\n");
    let dir = "../../crates/demo/tests/snapshots";
    let good = f.check_chapter(&format!(
        "{{{{#terminal {dir}/cli__run.snap}}}}\n{{{{#terminal {dir}/run__run.snap $ demo --run}}}}\n"
    ));
    assert_eq!(good, Vec::<String>::new());
    for (arg, wanted) in [
        ("nowhere.snap", "cannot read"),
        ("cli__run.snap:7:", "takes the path of a whole `.snap` file"),
        ("cli__broken.snap", "no `----- stdout -----`"),
        ("cli__bare.snap", "does not start with a `---` YAML header"),
    ] {
        let problems = f.check_chapter(&format!("\n{{{{#terminal {dir}/{arg}}}}}\n"));
        assert_one_problem(&problems, "book/src/ch.md:2:");
        assert!(problems[0].contains(wanted), "{arg}: {problems:#?}");
    }
    f.write("crates/demo/src/data.txt", "no header\n");
    let problems =
        f.check_chapter("{{#terminal ../../crates/demo/src/data.txt}}\n{{#include ../../crates/demo/src/main.rs}}\n");
    assert_one_problem(&problems, "takes the path of a whole `.snap` file");
}

#[test]
fn checks_hint_directives() {
    let f = Fixture::new("hint");
    f.write(
        "crates/labs/demo/hints.md",
        "First hint.\n---\nSecond hint,\non two lines.\n---\nThird.\n",
    );
    let hints = "../../crates/labs/demo/hints.md";
    let good = f.check_chapter(&format!(
        "{{{{#hint {hints}:1}}}}\n{{{{#hint {hints}:3}}}}\n"
    ));
    assert_eq!(good, Vec::<String>::new());
    for (spec, wanted) in [
        ("4", "hint 4 of 3"),
        ("0", "hint 0 of 3"),
        ("two", "takes PATH:N"),
    ] {
        let problems = f.check_chapter(&format!("\n{{{{#hint {hints}:{spec}}}}}\n"));
        assert_one_problem(&problems, "book/src/ch.md:2:");
        assert!(problems[0].contains(wanted), "{spec}: {problems:#?}");
    }
    let problems = f.check_chapter("{{#hint ../../crates/labs/none/hints.md:1}}\n");
    assert_one_problem(&problems, "cannot read");
}

/// Runs `book-terminal`, the mdBook preprocessor behind `{{#terminal}}`,
/// on one chapter of the fixture; returns (exit success, stdout, stderr).
fn run_preprocessor(f: &Fixture, chapter: &str) -> (bool, String, String) {
    let preprocessor = Command::new(env!("CARGO_BIN_EXE_book-terminal"));
    run_a_preprocessor(preprocessor, f, chapter)
}

/// Runs the mdBook preprocessor scripts/NAME (Python) on one chapter of the fixture.
fn run_a_script(name: &str, f: &Fixture, chapter: &str) -> (bool, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let mut python = Command::new("python3");
    python.arg(script);
    run_a_preprocessor(python, f, chapter)
}

/// Runs an mdBook preprocessor on one chapter of the fixture, as mdBook does:
/// [context, book] as JSON on its stdin.
fn run_a_preprocessor(
    mut preprocessor: Command,
    f: &Fixture,
    chapter: &str,
) -> (bool, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let quote = |s: &str| format!("{s:?}"); // a Rust string literal is valid JSON here
    let input = format!(
        r#"[{{"root": {root}, "config": {{"book": {{"src": "src"}}}}, "renderer": "html", "mdbook_version": "0.5.4"}},
            {{"items": [{{"Chapter": {{"name": "Ch", "content": {content}, "number": [1], "sub_items": [],
              "path": "ch.md", "source_path": "ch.md", "parent_names": []}}}}]}}]"#,
        root = quote(&f.0.join("book").display().to_string()),
        content = quote(chapter),
    );
    let shown = format!("{preprocessor:?}");
    let mut child = preprocessor
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shown} (the book's build needs it too): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// scripts/book-hints puts the Nth hint, all its lines, in place of the
/// directive, leaves an escaped one as text, and fails on a bad number.
#[test]
fn hints_preprocessor_puts_each_hint_by_number() {
    let f = Fixture::new("hint-pre");
    f.write(
        "crates/labs/demo/hints.md",
        "First hint.\n---\nSecond hint,\non two lines.\n---\nThird.\n",
    );
    let chapter = "A:\n{{#hint ../../crates/labs/demo/hints.md:2}}\nB: \\{{#hint x.md:1}}\n";
    let (ok, out, err) = run_a_script("book-hints", &f, chapter);
    assert!(ok, "{err}");
    assert!(
        out.contains(r#""A:\nSecond hint,\non two lines.\nB: {{#hint x.md:1}}\n""#),
        "{out}"
    );
    let (ok, _, err) = run_a_script(
        "book-hints",
        &f,
        "{{#hint ../../crates/labs/demo/hints.md:4}}\n",
    );
    assert!(!ok && err.contains("the file has 3 hints"), "{err}");
}

#[test]
fn terminal_preprocessor_renders_a_snapshot_as_a_terminal() {
    let f = Fixture::new("preprocessor");
    f.write(
        "crates/demo/tests/snapshots/cli__fails.snap",
        "---\nsource: crates/demo/tests/cli.rs\ninfo:\n  program: demo\n  args:\n    - \"--x\"\n    - a b\n---\n\
         success: false\nexit_code: 3\n----- stdout -----\nhi\n\n----- stderr -----\n<oops>\n",
    );
    let dir = "../../crates/demo/tests/snapshots";
    let (ok, out, err) = run_preprocessor(
        &f,
        &format!("# Ch\n\n{{{{#terminal {dir}/cli__fails.snap}}}}\n\n{{{{#terminal {dir}/run__run.snap $ demo}}}}\n"),
    );
    assert!(ok, "{err}");
    for wanted in [
        r#"<pre class=\"terminal\"><span class=\"command\">$ cargo run -p demo -- --x 'a b'</span><span class=\"stdout\">hi</span><span class=\"stderr\">&lt;oops&gt;</span><span class=\"status\">[exit status 3]</span></pre>"#,
        r#"<pre class=\"terminal\"><span class=\"command\">$ demo</span><span class=\"stdout\">hello\nworld</span></pre>"#,
    ] {
        assert!(out.contains(wanted), "no {wanted} in {out}");
    }

    let (ok, _, err) = run_preprocessor(&f, &format!("# Ch\n{{{{#terminal {dir}/gone.snap}}}}\n"));
    assert!(
        !ok && err.contains("ch.md:2") && err.contains("gone.snap") && err.contains("cannot read"),
        "{err}"
    );
    let (ok, _, err) = run_preprocessor(
        &f,
        &format!("```text\n{{{{#terminal {dir}/cli__fails.snap}}}}\n```\n"),
    );
    assert!(
        !ok && err.contains("ch.md:2") && err.contains("outside code fences"),
        "{err}"
    );
}

/// The recorded standard input and environment come back as a shell line;
/// an excerpt of stderr, a run killed by a signal and an escaped directive
/// are shown as the preprocessor's doc says.
#[test]
fn terminal_preprocessor_rebuilds_the_command_and_marks_each_kind() {
    let f = Fixture::new("preprocessor-kinds");
    f.write(
        "crates/demo/tests/snapshots/cli__stdin.snap",
        "---\nsource: t.rs\ninfo:\n  program: demo\n  args:\n    - \"it's\"\n  env:\n    LANG: C\n    \
         X: \"a b\"\n  stdin: \"50%\\\\n\\n\"\n---\nsuccess: true\nexit_code: 0\n----- stdout -----\n\
         ok\n\n----- stderr -----\n",
    );
    f.write(
        "crates/demo/tests/snapshots/cli__excerpt.snap",
        "---\nsource: t.rs\ndescription: \"stderr, an excerpt\"\n---\nmiddle\n",
    );
    f.write(
        "crates/demo/tests/snapshots/cli__killed.snap",
        "---\nsource: t.rs\n---\nkilled by signal 31 (SIGSYS)\n----- stdout -----\n\n----- stderr -----\n",
    );
    let dir = "../../crates/demo/tests/snapshots";
    let chapter = format!(
        "{{{{#terminal {dir}/cli__stdin.snap}}}}\n{{{{#terminal {dir}/cli__excerpt.snap}}}}\n\
         {{{{#terminal {dir}/cli__killed.snap}}}}\nSee \\{{{{#terminal {dir}/gone.snap}}}}.\n"
    );
    let (ok, out, err) = run_preprocessor(&f, &chapter);
    assert!(ok, "{err}");
    for wanted in [
        r#"<span class=\"command\">$ printf '50%%\\\\n\\n' | LANG=C X='a b' cargo run -p demo -- 'it'\"'\"'s'</span><span class=\"stdout\">ok</span></pre>"#,
        r#"<pre class=\"terminal\"><span class=\"elided\">…</span><span class=\"stderr\">middle</span><span class=\"elided\">…</span></pre>"#,
        r#"<pre class=\"terminal\"><span class=\"status\">[killed by signal 31 (SIGSYS)]</span></pre>"#,
        r#"See \\{{#terminal ../../crates/demo/tests/snapshots/gone.snap}}."#,
    ] {
        assert!(out.contains(wanted), "no {wanted} in {out}");
    }
}

#[test]
fn reports_a_missing_chapter() {
    let f = Fixture::new("chapter");
    f.write(
        "book/src/SUMMARY.md",
        "# Summary\n\n- [Chapter](ch.md)\n- [Gone](gone.md)\n",
    );
    let problems = f.check_chapter("{{#include ../../crates/demo/src/main.rs}}\n");
    assert_one_problem(
        &problems,
        "book/src/SUMMARY.md:4: chapter file `gone.md` does not exist",
    );
}

#[test]
fn reports_a_book_without_includes() {
    let f = Fixture::new("no-includes");
    let problems = f.check_chapter("# Chapter\n\nNo code here. Escaped: \\{{#include x.rs}}\n");
    assert_one_problem(&problems, "no {{#include}} in any of 2 .md file(s)");
}

#[test]
fn reports_a_missing_book() {
    let f = Fixture::new("no-book");
    fs::remove_file(f.0.join("book/src/SUMMARY.md")).unwrap();
    assert_one_problem(&check_book(&f.0), "book/src/SUMMARY.md: not found");
}
