//! insta's snapshot format (`.snap`), read and written in one place: the
//! tests read a demo's committed run back, the book's include check and its
//! `{{#terminal}}` preprocessor (`book-terminal`) show it, and a test that
//! records a run of its own writes it as insta-cmd does.
//!
//! A snapshot is a YAML header between two `---` lines, then the body:
//!
//! ```text
//! ---
//! source: crates/demo/tests/cli.rs
//! info:
//!   program: demo
//!   args:
//!     - "--x"
//! ---
//! success: false
//! exit_code: 3
//! ----- stdout -----
//! hi
//!
//! ----- stderr -----
//! oops
//! ```
//!
//! insta-cmd's `assert_cmd_snapshot!` records the command in the header's
//! `info` and the run in the body. A plain `assert_snapshot!` records no
//! command, and its body is whatever the test gave it: text, or a run in
//! insta-cmd's shape.

use std::fmt;
use std::fs;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

/// The `description` that marks a plain snapshot of lines from the middle
/// of stderr (set with `insta::with_settings!`); the book shows it as such.
pub const STDERR_EXCERPT: &str = "stderr, an excerpt";

const STDOUT_MARK: &str = "----- stdout -----";
const STDERR_MARK: &str = "----- stderr -----";

/// A `.snap` file: its header and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub header: Header,
    pub body: Body,
}

/// What the YAML header says that anyone here reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The command insta-cmd ran; none for a plain `assert_snapshot!`.
    pub info: Option<Info>,
    /// The test's description of the snapshot, if it gave one.
    pub description: Option<String>,
}

/// insta-cmd's `info`: the program, as `cargo run -p PROGRAM` names it,
/// with its arguments, environment and standard input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<String>,
}

/// The body after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A run: how it ended, then stdout and stderr apart.
    Run(Run),
    /// Anything else a plain `assert_snapshot!` recorded, as it is.
    Text(String),
}

/// A run of a program, as insta-cmd writes it (`Display`) and reads here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub end: End,
    /// Exactly as the program wrote it.
    pub stdout: String,
    /// As the program wrote it; read back without its final newlines
    /// (insta trims them from the file).
    pub stderr: String,
}

/// How a run ended: the lines before `----- stdout -----`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `success: BOOL` and `exit_code: N`, insta-cmd's lines (N is -1 for
    /// a death by signal).
    Exited(i32),
    /// `killed by signal N (NAME)`, a test's own line where insta-cmd
    /// would say only -1: what follows `killed by `.
    Killed(String),
}

impl Snapshot {
    /// Reads and parses the snapshot at `path`; an error names the path.
    pub fn read(path: &Path) -> Result<Snapshot> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the snapshot {}", path.display()))?;
        Snapshot::parse(&text).with_context(|| path.display().to_string())
    }

    /// Parses a snapshot's text.
    pub fn parse(text: &str) -> Result<Snapshot> {
        let rest = text
            .strip_prefix("---\n")
            .ok_or_else(|| anyhow!("the snapshot does not start with a `---` YAML header"))?;
        let (header, body) = if let Some(body) = rest.strip_prefix("---\n") {
            ("", body)
        } else {
            rest.split_once("\n---\n")
                .or_else(|| rest.strip_suffix("\n---").map(|header| (header, "")))
                .ok_or_else(|| anyhow!("the snapshot's YAML header has no closing `---` line"))?
        };
        let header = Header::parse(header)?;
        let body = match Run::parse(body)? {
            Some(run) => Body::Run(run),
            None if header.info.is_some() => bail!(
                "the snapshot's header has `info` (insta-cmd) but its body has no \
                 `{STDOUT_MARK}` and `{STDERR_MARK}` sections"
            ),
            None => Body::Text(body.to_string()),
        };
        Ok(Snapshot { header, body })
    }

    /// The run in the body; an error if the body is text.
    pub fn run(&self) -> Result<&Run> {
        match &self.body {
            Body::Run(run) => Ok(run),
            Body::Text(_) => {
                bail!("the snapshot's body has no `{STDOUT_MARK}` and `{STDERR_MARK}` sections")
            }
        }
    }
}

impl Header {
    /// The header's lines, between the two `---`: the top-level keys
    /// `description` and `info`; the others (`source`, `expression`...)
    /// are insta's own.
    fn parse(text: &str) -> Result<Header> {
        let mut header = Header::default();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if line == "info:" {
                let mut block = Vec::new();
                while let Some(line) = lines.next_if(|line| line.starts_with("  ")) {
                    block.push(line);
                }
                header.info = Some(Info::parse(&block)?);
            } else if let Some(value) = line.strip_prefix("description: ") {
                header.description = Some(yaml_scalar(value)?);
            }
        }
        Ok(header)
    }
}

impl Info {
    /// The indented lines under `info:`, as insta writes them: `program`,
    /// `args` (a list), `env` (a map) and `stdin`.
    fn parse(lines: &[&str]) -> Result<Info> {
        let mut info = Info::default();
        let mut section = "";
        for line in lines {
            if let Some(item) = line.strip_prefix("    ") {
                let item = item.trim();
                match (section, item.strip_prefix("- "), item.split_once(':')) {
                    ("args", Some(arg), _) => info.args.push(yaml_scalar(arg)?),
                    ("env", _, Some((key, value))) => {
                        info.env.push((yaml_scalar(key)?, yaml_scalar(value)?));
                    }
                    _ => bail!("unexpected line in the snapshot's info header: {line:?}"),
                }
                continue;
            }
            let (key, value) = line.trim().split_once(':').unwrap_or((line.trim(), ""));
            let value = value.trim();
            section = key;
            match key {
                "program" => info.program = yaml_scalar(value)?,
                "args" if value.is_empty() || value == "[]" => {}
                "env" if value.is_empty() || value == "{}" => {}
                "args" | "env" => {
                    bail!("unexpected {key} value {value:?} in the snapshot's info header")
                }
                "stdin" => info.stdin = Some(yaml_scalar(value)?),
                _ => bail!("unknown key {key:?} in the snapshot's info header"),
            }
        }
        if info.program.is_empty() {
            bail!("the snapshot's info header names no program");
        }
        Ok(info)
    }
}

/// The value of a YAML scalar as insta writes it: plain, `'...'`, or
/// `"..."` with JSON's escapes (insta's emitter writes those).
fn yaml_scalar(text: &str) -> Result<String> {
    let text = text.trim();
    if text.starts_with('"') {
        return serde_json::from_str(text)
            .with_context(|| format!("cannot read the quoted value {text}"));
    }
    if let Some(quoted) = text.strip_prefix('\'') {
        let inner = quoted
            .strip_suffix('\'')
            .ok_or_else(|| anyhow!("unterminated quoted value {text}"))?;
        return Ok(inner.replace("''", "'"));
    }
    Ok(text.to_string())
}

impl Run {
    /// A body in insta-cmd's shape, or `None` if it has no stdout and
    /// stderr sections; an error if it has them but no way the run ended.
    fn parse(body: &str) -> Result<Option<Run>> {
        // Marks on lines of their own, the first stdout mark, then the
        // first stderr mark after it (a final newline may be missing).
        let text = format!("\n{body}\n");
        let Some((status, streams)) = text.split_once(&format!("\n{STDOUT_MARK}\n")) else {
            return Ok(None);
        };
        let Some((stdout, stderr)) = streams.split_once(&format!("\n{STDERR_MARK}\n")) else {
            return Ok(None);
        };
        let end = End::parse(status)?;
        Ok(Some(Run {
            end,
            stdout: stdout.to_string(),
            stderr: stderr.trim_end_matches('\n').to_string(),
        }))
    }

    /// The exit code, if the run exited (insta-cmd's -1 for a signal).
    pub fn exit_code(&self) -> Option<i32> {
        match self.end {
            End::Exited(code) => Some(code),
            End::Killed(_) => None,
        }
    }
}

/// insta-cmd's body: `success`, `exit_code`, then the two streams.
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.end {
            End::Exited(code) => write!(f, "success: {}\nexit_code: {code}\n", *code == 0)?,
            End::Killed(what) => writeln!(f, "killed by {what}")?,
        }
        write!(
            f,
            "{STDOUT_MARK}\n{}\n{STDERR_MARK}\n{}",
            self.stdout, self.stderr
        )
    }
}

impl End {
    /// The lines before the stdout mark: `killed by ...`, or `exit_code: N`
    /// with insta-cmd's `success` line, which must agree with it.
    fn parse(status: &str) -> Result<End> {
        let mut success = None;
        let mut end = None;
        for line in status.lines().filter(|line| !line.is_empty()) {
            if let Some(value) = line.strip_prefix("success: ") {
                success = Some(match value.trim() {
                    "true" => true,
                    "false" => false,
                    other => bail!("`success: {other}` is neither true nor false"),
                });
            } else if let Some(code) = line.strip_prefix("exit_code: ") {
                let code = code
                    .trim()
                    .parse()
                    .map_err(|_| anyhow!("`exit_code: {}` is not a number", code.trim()))?;
                end.get_or_insert(End::Exited(code));
            } else if let Some(what) = line.strip_prefix("killed by ") {
                end.get_or_insert(End::Killed(what.to_string()));
            } else {
                bail!("unexpected line before `{STDOUT_MARK}`: {line:?}");
            }
        }
        let end = end
            .ok_or_else(|| anyhow!("no `exit_code:` or `killed by` line before `{STDOUT_MARK}`"))?;
        if let (Some(success), End::Exited(code)) = (success, &end) {
            if success != (*code == 0) {
                bail!("`success: {success}` disagrees with `exit_code: {code}`");
            }
        }
        Ok(end)
    }
}

#[cfg(test)]
mod tests;
