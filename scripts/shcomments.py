"""The comments of the book's shell blocks, as messages to translate.

A ```sh block in a chapter holds commands and comments (`# press Ctrl-C: ...`).
The commands stay as they are in every edition; the comments are prose. They
go into the catalogue with the context `sh` (so a comment never shares a
translation with a paragraph of the same words), and each edition's pages get
them back translated:

- a run of whole-line comments is one message, its lines joined by "\\n"
  (a sentence often runs over two lines); the translation's lines become the
  comment's lines;
- a comment after a command (`cargo run -p x   # the built-in target`) is a
  message of its own, and keeps its column;
- a commented-out command (`#   seccomp-tools dump ...`, more than one space
  after the `#`) is code, not prose: it is neither a message nor translated.

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

FENCE = re.compile(r"^(\s{0,3})(```+|~~~+)\s*(\S*)")
SHELL = {"sh", "bash", "shell", "console"}
CONTEXT = "sh"


def comment_start(line: str) -> int | None:
    """Where the shell comment on `line` starts: a `#` at the start of a word,
    outside quotes; None if there is none."""
    quote = None
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return i
    return None


def _is_prose(text: str) -> bool:
    # `#   command` (an example to paste) and `#!` are code.
    return bool(text.strip()) and not text.startswith("  ") and not text.startswith("!")


def _shell_blocks(markdown: str) -> Iterator[tuple[int, int]]:
    """(first, end) line indexes of the body of each shell fence."""
    lines = markdown.split("\n")
    fence = None
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence = (m.group(2), m.group(3).split(",")[0], i + 1)
        elif m and line.strip() == m.group(2) and m.group(2).startswith(fence[0]):
            if fence[1] in SHELL:
                yield fence[2], i
            fence = None


def _pieces(lines: list[str]) -> Iterator[tuple[list[int], int, str]]:
    """(line indexes, column of the `#`, message) for each comment message
    in a shell block's lines."""
    group: list[int] = []
    column = 0
    texts: list[str] = []

    def flush():
        if group:
            yield list(group), column, "\n".join(texts)
        group.clear()
        texts.clear()

    for i, line in enumerate(lines):
        at = comment_start(line)
        text = line[at + 1 :].removeprefix(" ") if at is not None else ""
        prose = at is not None and _is_prose(text)
        whole_line = at is not None and not line[:at].strip()
        if prose and whole_line and (not group or at == column):
            if not group:
                column = at
            group.append(i)
            texts.append(text.rstrip())
            continue
        yield from flush()
        if prose and whole_line:
            column = at
            group.append(i)
            texts.append(text.rstrip())
        elif prose:
            yield [i], at, text.rstrip()
    yield from flush()


def messages(markdown: str) -> list[str]:
    """Every comment message of the shell blocks of a chapter, in order."""
    lines = markdown.split("\n")
    found = []
    for first, end in _shell_blocks(markdown):
        found.extend(message for _, _, message in _pieces(lines[first:end]))
    return found


def translate(markdown: str, lookup: Callable[[str], str | None]) -> str:
    """`markdown` with each comment message of its shell blocks replaced by
    `lookup(message)`, where that gives one."""
    lines = markdown.split("\n")
    out = list(lines)
    replaced: dict[int, list[str]] = {}
    for first, end in _shell_blocks(markdown):
        for indexes, column, message in _pieces(lines[first:end]):
            translation = lookup(message)
            if not translation:
                continue
            rows = [first + i for i in indexes]
            if len(rows) == 1 and lines[rows[0]][:column].strip():
                code = lines[rows[0]][:column]
                replaced[rows[0]] = [f"{code}# {translation}"]
                continue
            indent = lines[rows[0]][:column]
            new = [f"{indent}# {row}".rstrip() for row in translation.split("\n")]
            replaced[rows[0]] = new
            for row in rows[1:]:
                replaced[row] = []
    result = []
    for i, line in enumerate(out):
        result.extend(replaced.get(i, [line]))
    return "\n".join(result)
