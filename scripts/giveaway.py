"""The export check of scripts/grade --self-check: does the students' copy
give a reference solution away? Every function body of every lab's
solution.rs is looked for, with comments and whitespace taken out, in every
text file of the copy (the demos, the book and its catalogue, the tests,
the scripts).

Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# A body shorter than this, normalised (`Ok(())`, `Some(pid)`), says
# nothing about the solution: it may well occur anywhere.
SHORTEST = 40
TEXT_SUFFIXES = {".rs", ".md", ".po", ".pot", ".toml", ".py", ".sh", ".txt", ".html", ".snap", ".patch", ""}


def _scan(source: str) -> tuple[str, list[bool]]:
    """`source` without comments and without whitespace outside literals,
    and, for each character kept, whether it is inside a string or char
    literal (where a brace is not a brace)."""
    out: list[str] = []
    literal: list[bool] = []
    i, n = 0, len(source)

    def keep(text: str, inside: bool) -> None:
        out.extend(text)
        literal.extend([inside] * len(text))

    while i < n:
        c = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if source.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif source.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c.isspace():
            i += 1
        elif re.match(r'b?r(#*)"', source[i : i + 40]):
            m = re.match(r'b?r(#*)"', source[i:])
            close = '"' + m.group(1)
            end = source.find(close, i + m.end())
            end = n if end < 0 else end + len(close)
            keep(source[i:end], True)
            i = end
        elif c == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            keep(source[i : j + 1], True)
            i = j + 1
        elif c == "'" and (source.startswith("\\", i + 1) or source[i + 2 : i + 3] == "'"):
            end = source.find("'", i + 2 if source[i + 1] != "\\" else i + 3)
            end = n if end < 0 else end + 1
            keep(source[i:end], True)
            i = end
        else:
            keep(c, False)
            i += 1
    return "".join(out), literal


def normalised(text: str) -> str:
    return _scan(text)[0]


@dataclass
class Body:
    lab: str
    function: str
    text: str  # normalised, braces included


def function_bodies(source: str) -> list[tuple[str, str]]:
    """(name, normalised body with its braces) of every `fn` with a body."""
    flat, literal = _scan(source)
    found = []
    for m in re.finditer(r"fn([A-Za-z_][A-Za-z0-9_]*)", flat):
        if (
            m.start() > 0
            and (flat[m.start() - 1].isalnum() or flat[m.start() - 1] == "_")
            and not flat[: m.start()].endswith(("pub", "const", "unsafe", "async", 'extern"C"', ")"))
        ):
            continue
        depth, start = 0, None
        for k in range(m.end(), len(flat)):
            if literal[k]:
                continue
            ch = flat[k]
            if start is None:
                if ch == ";":
                    break  # a declaration, no body
                if ch == "{":
                    start, depth = k, 1
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    found.append((m.group(1), flat[start : k + 1]))
                    break
    return found


def solution_bodies(tree: Path, labs) -> list[Body]:
    bodies = []
    for lab in labs:
        solution = lab.path(tree) / "src" / "solution.rs"
        for name, text in function_bodies(solution.read_text()):
            if len(text) >= SHORTEST:
                bodies.append(Body(lab.name, name, text))
    return bodies


def given_away(copy: Path, bodies: list[Body]) -> list[str]:
    """Where, in the tree at `copy`, a body of `bodies` occurs: one line each."""
    found = []
    for path in sorted(copy.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        if any(part in ("target", ".git") for part in path.relative_to(copy).parts):
            continue
        try:
            text = normalised(path.read_text())
        except (UnicodeDecodeError, OSError):
            continue
        for body in bodies:
            if body.text in text:
                found.append(f"{body.lab}'s {body.function}() is in {path.relative_to(copy)}")
    return found
