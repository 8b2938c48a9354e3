//! scripts/book-sh-comments, the preprocessor that puts the translated
//! comments of the shell blocks into a translated edition, on a fixture
//! book with its own catalogue.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CHAPTER: &str = "\
Prose # not a comment.

```sh
# a sentence that runs
# over two lines
cargo run -p x -- 'a # in quotes'   # after a command
#   commented-out --command
printf '#!/bin/sh\\n' > /tmp/y
```

```rust,ignore
// a Rust comment # stays
# not shell either
```
";

const CATALOGUE: &str = r#"
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

msgctxt "sh"
msgid ""
"a sentence that runs\n"
"over two lines"
msgstr ""
"фраза, которая\n"
"идёт на двух\n"
"строках"

msgctxt "sh"
msgid "after a command"
msgstr "после команды"

msgctxt "sh"
msgid "not shell either"
msgstr "и не оболочка"

msgid "Prose # not a comment."
msgstr "Проза"
"#;

/// The chapter as the preprocessor returns it, for a book in `language`.
fn preprocessed(root: &Path, language: &str) -> String {
    let quote = |s: &str| format!("{s:?}"); // a Rust string literal is valid JSON here
    let input = format!(
        r#"[{{"root": {root}, "config": {{"book": {{"src": "src", "language": "{language}"}}}}, "renderer": "html", "mdbook_version": "0.5.4"}},
            {{"items": [{{"Chapter": {{"name": "Ch", "content": {content}, "number": [1], "sub_items": [],
              "path": "ch.md", "source_path": "ch.md", "parent_names": []}}}}]}}]"#,
        root = quote(&root.display().to_string()),
        content = quote(CHAPTER),
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/book-sh-comments");
    let mut child = Command::new("python3")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (the book's build needs it too)");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("the preprocessor reads its input");
    let out = child.wait_with_output().expect("the preprocessor ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 JSON");
    let start = stdout.find(r#""content":"#).expect("a chapter's content") + 10;
    let rest = stdout[start..].trim_start();
    let json = &rest[..rest.find(r#"","#).expect("the content's end") + 1];
    unescape_json(json)
}

/// A JSON string literal's text (the escapes Python's json.dump writes).
fn unescape_json(literal: &str) -> String {
    let inner = &literal[1..literal.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).expect("hex")).expect("BMP"));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn fixture() -> PathBuf {
    let root = std::env::temp_dir().join(format!("book-sh-comments-{}", std::process::id()));
    std::fs::create_dir_all(root.join("po")).expect("a temporary folder");
    std::fs::write(root.join("po/ru.po"), CATALOGUE).expect("the fixture catalogue");
    root
}

#[test]
fn shell_comments_are_translated_and_commands_kept() {
    let root = fixture();
    let ru = preprocessed(&root, "ru");
    let en = preprocessed(&root, "en");
    std::fs::remove_dir_all(&root).ok();
    let wanted = "\
Prose # not a comment.

```sh
# фраза, которая
# идёт на двух
# строках
cargo run -p x -- 'a # in quotes'   # после команды
#   commented-out --command
printf '#!/bin/sh\\n' > /tmp/y
```

```rust,ignore
// a Rust comment # stays
# not shell either
```
";
    assert_eq!(ru, wanted);
    // No catalogue for English: the chapter comes back as it was.
    assert_eq!(en, CHAPTER);
}
