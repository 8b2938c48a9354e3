"""The book's gettext catalogue (book/po/ru.po), read: its live entries.

Standard library only.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path


def _po_unquote(lines: list[str]) -> str:
    text = "".join(line[line.index('"') + 1 : line.rindex('"')] for line in lines)
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(escapes.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def entries(path: Path):
    """(line, msgctxt, msgid, msgstr, fuzzy) for each live entry of a PO file,
    the header and obsolete entries excluded."""
    with open(path, encoding="utf-8") as f:
        blocks = f.read().split("\n\n")
    line = 1
    for block in blocks:
        lines = block.strip("\n").splitlines()
        start = line + len(block) - len(block.lstrip("\n"))
        line += block.count("\n") + 2
        if not lines or all(entry.startswith("#~") or entry.startswith("# ") for entry in lines):
            continue
        fuzzy = any(entry.startswith("#,") and "fuzzy" in entry for entry in lines)
        parts, key = collections.defaultdict(list), None
        for entry in lines:
            if entry.startswith("#"):
                continue
            m = re.match(r"(msgctxt|msgid|msgstr)\s", entry)
            if m:
                key = m.group(1)
            if key:
                parts[key].append(entry)
        msgid, msgstr = _po_unquote(parts["msgid"]), _po_unquote(parts["msgstr"])
        context = _po_unquote(parts["msgctxt"]) if parts["msgctxt"] else None
        if msgid:
            yield start, context, msgid, msgstr, fuzzy


def po_entries(path: Path):
    """(line, msgid, msgstr, fuzzy) for each live entry of a gettext PO file
    (book/po/ru.po), the header and obsolete entries excluded."""
    for line, _context, msgid, msgstr, fuzzy in entries(path):
        yield line, msgid, msgstr, fuzzy


def translations(path: Path, context: str) -> dict[str, str]:
    """msgid -> msgstr of the translated, not fuzzy, entries with `context`."""
    return {
        msgid: msgstr for _line, ctxt, msgid, msgstr, fuzzy in entries(path) if ctxt == context and msgstr and not fuzzy
    }


def quote(text: str) -> str:
    """`text` as a PO string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    return f'"{escaped}"'
