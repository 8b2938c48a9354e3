//! mdBook preprocessor: shows a committed insta snapshot as a terminal would.
//!
//! A chapter writes, on a line of its own and outside any code fence,
//!
//! ```text
//! {{#terminal ../../crates/X/tests/snapshots/NAME.snap}}
//! {{#terminal ../../crates/X/tests/snapshots/NAME.snap $ command as typed}}
//! ```
//!
//! (the path is relative to the chapter, as for {{#include}}). The directive
//! becomes a `<pre class="terminal">` block:
//!
//! - first the command line. For an insta-cmd snapshot it is rebuilt from the
//!   header's `info`: `$ cargo run -p PROGRAM -- ARGS...`, shell-quoted, with
//!   `VAR=value` for `env` and `printf '...' |` for `stdin`. A `$ command`
//!   after the path replaces it (for a plain assert_snapshot! snapshot, which
//!   records no command, or where the recorded arguments are a pid of the
//!   moment); without either there is no command line;
//! - then stdout, plain, then stderr in `<span class="stderr">` (the snapshot
//!   keeps the two streams apart, so the order between them is lost);
//! - then `[exit status N]` when N is not 0, or `[killed by signal ...]`.
//!
//! A plain assert_snapshot! snapshot (no streams recorded) is shown as stdout,
//! unless its header says `description: "stderr, an excerpt"`: then as stderr,
//! between two elided-lines marks.
//!
//! Output comes only from the snapshot files (read by `workbook::snapshot`),
//! so the book shows what the tests check. A missing or malformed snapshot
//! fails the build, naming the chapter.
//!
//! mdBook runs `book-terminal supports RENDERER` first, then `book-terminal`
//! with [context, book] as JSON on stdin; it wants the book back on stdout.
//! book/book.toml runs it as `cargo run --quiet -p workbook --bin book-terminal --`.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use workbook::snapshot::{Body, End, Info, Run, Snapshot, STDERR_EXCERPT};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        // `supports RENDERER`: the HTML is for the html renderer only.
        return if args == ["supports", "html"] {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    match preprocess() {
        Ok(errors) if errors.is_empty() => ExitCode::SUCCESS,
        Ok(errors) => {
            for error in errors {
                eprintln!("book-terminal: {error}");
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("book-terminal: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads [context, book] from stdin and writes the book, its directives
/// replaced, to stdout; returns the directives' problems, one per line.
fn preprocess() -> Result<Vec<String>> {
    let input: Value =
        serde_json::from_reader(io::stdin().lock()).context("reading mdBook's JSON on stdin")?;
    let Value::Array(mut pair) = input else {
        bail!("mdBook's JSON on stdin is not [context, book]");
    };
    let (Some(mut book), Some(context)) = (pair.pop(), pair.pop()) else {
        bail!("mdBook's JSON on stdin is not [context, book]");
    };
    let root = context["root"]
        .as_str()
        .context("mdBook's context has no `root`")?;
    let src = context["config"]["book"]["src"].as_str().unwrap_or("src");
    let src_dir = Path::new(root).join(src);
    let mut errors = Vec::new();
    let items = match book.get_mut("items") {
        Some(items) => Some(items),
        None => book.get_mut("sections"),
    };
    if let Some(Value::Array(items)) = items {
        walk(items, &src_dir, &mut errors);
    }
    if errors.is_empty() {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer(&mut stdout, &book).context("writing the book to stdout")?;
        stdout.flush().context("writing the book to stdout")?;
    }
    Ok(errors)
}

fn walk(items: &mut [Value], src_dir: &Path, errors: &mut Vec<String>) {
    for item in items {
        if let Some(chapter) = item.get_mut("Chapter") {
            process_chapter(chapter, src_dir, errors);
            if let Some(Value::Array(sub_items)) = chapter.get_mut("sub_items") {
                walk(sub_items, src_dir, errors);
            }
        }
    }
}

fn process_chapter(chapter: &mut Value, src_dir: &Path, errors: &mut Vec<String>) {
    let content = chapter["content"].as_str().unwrap_or_default();
    let source = [&chapter["source_path"], &chapter["path"]]
        .into_iter()
        .find_map(|path| path.as_str().filter(|path| !path.is_empty()));
    let Some(source) = source.filter(|_| content.contains("{{#terminal")) else {
        return;
    };
    let base = src_dir.join(Path::new(source).parent().unwrap_or(Path::new("")));
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (number, line) in content.split('\n').enumerate() {
        if let Some(mark) = fence_mark(line) {
            match fence {
                None => fence = Some(mark),
                Some(open) if closes(open, mark, line) => fence = None,
                Some(_) => {}
            }
        }
        let found: Vec<Directive> = directives(line)
            .into_iter()
            .filter(|d| !d.escaped)
            .collect();
        let Some(directive) = found.first() else {
            out.push(line.to_string());
            continue;
        };
        let place = format!("{source}:{}", number + 1);
        if fence.is_some() || found.len() > 1 || line.trim() != directive.text {
            errors.push(format!(
                "{place}: {{{{#terminal}}}} must stand alone on its line, outside code fences"
            ));
            out.push(line.to_string());
            continue;
        }
        let path = directive.path;
        match render(&base.join(path), directive.command) {
            Ok(block) => out.push(block),
            Err(error) => {
                errors.push(format!("{place}: {{{{#terminal {path}}}}}: {error:#}"));
                out.push(line.to_string());
            }
        }
    }
    chapter["content"] = Value::String(out.join("\n"));
}

/// A code fence's mark (three or more backticks or tildes) after at most
/// three spaces of indentation.
fn fence_mark(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    if line[..indent].chars().count() > 3 {
        return None;
    }
    let first = rest.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let mark = &rest[..rest.len() - rest.trim_start_matches(first).len()];
    (mark.len() >= 3).then_some(mark)
}

/// Whether `line`, whose fence mark is `mark`, closes the fence `open`.
fn closes(open: &str, mark: &str, line: &str) -> bool {
    mark.starts_with(&open[..1]) && mark.len() >= open.len() && line.trim() == mark
}

/// One `{{#terminal PATH [$ command]}}` on a line, or `\{{#terminal ...}}`.
struct Directive<'a> {
    escaped: bool,
    /// The directive, without the escaping backslash.
    text: &'a str,
    path: &'a str,
    command: &'a str,
}

/// The directives on `line`, left to right: `{{#terminal`, whitespace,
/// the path (no whitespace or `}`), whitespace, the command (no `}`), `}}`.
fn directives(line: &str) -> Vec<Directive<'_>> {
    const OPEN: &str = "{{#terminal";
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = line[from..].find(OPEN).map(|n| from + n) {
        let after = &line[at + OPEN.len()..];
        let path_at = after.trim_start();
        let path_len = path_at
            .find(|c: char| c.is_whitespace() || c == '}')
            .unwrap_or(path_at.len());
        let rest = path_at[path_len..].trim_start();
        let command_len = rest.find('}').unwrap_or(rest.len());
        let whitespace_first = path_at.len() < after.len();
        if !whitespace_first || path_len == 0 || !rest[command_len..].starts_with("}}") {
            from = at + 1;
            continue;
        }
        let end = line.len() - rest.len() + command_len + 2;
        found.push(Directive {
            escaped: line[..at].ends_with('\\'),
            text: &line[at..end],
            path: &path_at[..path_len],
            command: rest[..command_len].trim(),
        });
        from = end;
    }
    found
}

/// The `<pre class="terminal">` block for the snapshot at `path`.
fn render(path: &Path, given_command: &str) -> Result<String> {
    let snapshot = Snapshot::read(path)?;
    let excerpt = snapshot.header.info.is_none()
        && snapshot.header.description.as_deref() == Some(STDERR_EXCERPT);
    let command = match (given_command, &snapshot.header.info) {
        ("", Some(info)) => Some(command_line(info)),
        ("", None) => None,
        (given, _) => Some(given.to_string()),
    };
    let mut pieces = Vec::new();
    if let Some(command) = command {
        if !command.starts_with("$ ") {
            bail!("the command after the path must start with `$ `: {command:?}");
        }
        pieces.push(span("command", &command));
    }
    match &snapshot.body {
        Body::Text(text) if excerpt => {
            // Lines from the middle of stderr: elided lines before and after.
            let elided = r#"<span class="elided">…</span>"#.to_string();
            pieces.push(elided.clone());
            pieces.push(span("stderr", text.trim_end_matches('\n')));
            pieces.push(elided);
        }
        Body::Text(text) => pieces.push(span("stdout", text.trim_end_matches('\n'))),
        Body::Run(run) => pieces.extend(run_pieces(run)),
    }
    // Each part is display: block, so no newline between them; an empty
    // stdout line still counts.
    Ok(format!(
        r#"<pre class="terminal">{}</pre>"#,
        pieces.concat()
    ))
}

/// stdout, stderr and the exit status of a run, each in its span.
fn run_pieces(run: &Run) -> Vec<String> {
    let mut pieces = Vec::new();
    let stdout = run.stdout.strip_suffix('\n').unwrap_or(&run.stdout);
    if !stdout.is_empty() {
        pieces.push(span("stdout", stdout));
    }
    if !run.stderr.is_empty() {
        pieces.push(span("stderr", &run.stderr));
    }
    let status = match &run.end {
        End::Exited(0) => None,
        End::Exited(code) => Some(format!("[exit status {code}]")),
        End::Killed(what) => Some(format!("[killed by {what}]")),
    };
    if let Some(status) = status {
        let quoted = escape(&status)
            .replace('"', "&quot;")
            .replace('\'', "&#x27;");
        pieces.push(format!(r#"<span class="status">{quoted}</span>"#));
    }
    pieces
}

fn span(class: &str, text: &str) -> String {
    format!(r#"<span class="{class}">{}</span>"#, escape(text))
}

/// `&`, `<` and `>` as HTML entities.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `$ cargo run -p PROGRAM -- ARGS...`, with the environment before it and
/// the standard input piped in by printf.
fn command_line(info: &Info) -> String {
    let mut words = vec!["cargo", "run", "-p", &info.program];
    if !info.args.is_empty() {
        words.push("--");
        words.extend(info.args.iter().map(String::as_str));
    }
    let mut line: Vec<String> = info
        .env
        .iter()
        .map(|(name, value)| format!("{name}={}", shell_quote(value)))
        .collect();
    line.extend(words.into_iter().map(shell_quote));
    let mut command = line.join(" ");
    if let Some(stdin) = &info.stdin {
        command = format!("{} | {command}", printf_quote(stdin));
    }
    format!("$ {command}")
}

/// A printf command that prints `data`, its format single-quoted.
fn printf_quote(data: &str) -> String {
    let format = data
        .replace('\\', "\\\\")
        .replace('%', "%%")
        .replace('\n', "\\n");
    format!("printf {}", shell_quote(&format))
}

/// `word` as a POSIX shell reads it back, quoted only if it needs to be
/// (Python's shlex.quote).
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#))
    }
}
