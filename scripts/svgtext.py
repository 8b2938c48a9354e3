"""The words of the book's charts, as messages to translate.

A chart the demos draw (book/src/syscall-overhead.svg, by plotters) has its
words in <text> elements: a caption, an axis' description, one label a row.
They go into the catalogue with the context `chart`, and a translated
edition gets a copy of the chart, X.LANG.svg, with them translated. Numbers
stay as they are; in "105 ns" only the unit is a message. Charts drawn by
Graphviz from a .dot file have a source of their own per language
(stop-states.ru.dot) and are left alone.

Standard library only.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

CONTEXT = "chart"
_TEXT = re.compile(r"(<text[^>]*>\s*)(.*?)(\s*</text>)", re.S)
_NUMBER_UNIT = re.compile(r"^(\d+(?:[.,]\d+)?) (\S+)$")


def charts(src: Path) -> list[Path]:
    """The charts of the book's source folder that are translated this way."""
    return sorted(svg for svg in src.glob("*.svg") if svg.suffixes == [".svg"] and not svg.with_suffix(".dot").exists())


def _words(text: str) -> str | None:
    """The message in one <text>'s content: None for a number alone; the unit
    of a number with a unit."""
    if not text.strip() or re.fullmatch(r"[\d.,\s]+", text):
        return None
    m = _NUMBER_UNIT.match(text)
    return m.group(2) if m else text


def messages(svg: str) -> list[str]:
    """Every message of a chart, in order, each once."""
    found: list[str] = []
    for m in _TEXT.finditer(svg):
        words = _words(html.unescape(m.group(2)))
        if words is not None and words not in found:
            found.append(words)
    return found


def translate(svg: str, lookup: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """The chart with its words translated, and the messages `lookup` had
    no translation for."""
    missing: list[str] = []

    def one(m: re.Match) -> str:
        text = html.unescape(m.group(2))
        words = _words(text)
        if words is None:
            return m.group(0)
        translation = lookup(words)
        if not translation:
            missing.append(words)
            return m.group(0)
        unit = _NUMBER_UNIT.match(text)
        new = f"{unit.group(1)} {translation}" if unit and unit.group(2) == words else translation
        return m.group(1) + html.escape(new, quote=False) + m.group(3)

    return _TEXT.sub(one, svg), missing
