"""Russian typography of the book's translations, checked and fixed.

The rules (those of a Russian technical publisher, as the editor's review
asked for them), applied to prose only: never inside `code`, a link's
target, an HTML tag, or the quoted output of a program («...»):

- a non-breaking space before an em dash (a line never starts with one);
- a non-breaking space between a number and its unit: «15 мин», «12,74 мкс»;
- thousands: a four-digit number is written whole («1400»), a longer one in
  groups of three with non-breaking spaces («200 000»);
- one date format: «27 ноября 2026 года»;
- no English left in the prose: the commonest English words are looked for;
- no calque of «the lecture does X»: the lecture and a slide show, say and
  ask; code does things («код из лекции записывает…», not «лекция записывает…»).

`fix` applies the first four to a translation; `problems` names what is
still wrong in one. scripts/book-po runs `problems` on every message.
Standard library only.
"""

from __future__ import annotations

import re

NBSP = "\u00a0"

# What is not prose: code spans, link targets, HTML tags, URLs, and quoted
# program output («...», or "..." in a shell comment). Kept as they are,
# and hidden from the checks.
_NOT_PROSE = re.compile(r"(`+).+?\1|\]\([^)]*\)|<[^>]+>|https?://\S+|«[^»]*»|\"[^\"\n]*\"", re.S)

UNITS = "мин|мкс|мс|нс|ч|КиБ|МиБ|ГиБ|ТиБ|КБ|МБ|ГБ|байтов|байта|байт|бита|бит|ГГц|МГц"
_NUMBER_UNIT = re.compile(rf"(\d) ({UNITS})(?![а-яё])")
# «с» is a unit (seconds) after a decimal number, or before punctuation or a
# word that can't follow the preposition «с» («64 с установленным битом»).
_SECONDS = re.compile(r"(\d) с(?=[.,;:)!?]|$| (?:на|против|без|с|и|в|до|—|–|или|а)\b)", re.M)
_DECIMAL_SECONDS = re.compile(r"(\d,\d+) с(?![а-яё])")
_SPACE_DASH = re.compile(r"(?<=\S) +—")
_FOUR_DIGITS_GROUPED = re.compile(r"(?<![\w,.])(\d)[ \u00a0](\d{3})(?![\d\u00a0 ]\d|,\d)")
_GROUP_PLAIN_SPACE = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")
_LONG_GROUPED = re.compile(r"\d{1,3}(?:[ \u00a0]\d{3}){1,}(?!\d)")
MONTHS = ("января февраля марта апреля мая июня июля августа сентября октября ноября декабря").split()
_ISO_DATE = re.compile(r"\b(\d{4})-(\d\d)-(\d\d)\b")
_DOTTED_DATE = re.compile(r"\b(\d{1,2})\.(\d\d)\.(\d{4})\b")
ENGLISH = set(
    """the and of to is are with for that this from when which not be it its by on as at or
    an was were has have had will would can could should what how why who where there their
    they them then than into only also each every any some all if else but so because about
    after before over under between through while until""".split()
)
_LECTURE_DOES = re.compile(
    r"\b(?:[Лл]екция|[Сс]лайд)\s+(?!показывает|говорит|называет|объясняет|упоминает|приводит|"
    r"описывает|предлагает|спрашивает|утверждает|советует|рассказывает|напоминает|"
    r"начинается|заканчивается|посвящ)([а-яё]+(?:ет|ит|ёт))\b"
)


def _prose_parts(text: str):
    """(is_prose, piece) pieces of `text`, in order."""
    at = 0
    for m in _NOT_PROSE.finditer(text):
        yield True, text[at : m.start()]
        yield False, m.group(0)
        at = m.end()
    yield True, text[at:]


def _on_prose(text: str, change) -> str:
    return "".join(change(piece) if prose else piece for prose, piece in _prose_parts(text))


def _date(match: re.Match, day: int, month: int, year: str) -> str:
    if not 1 <= month <= 12:
        return match.group(0)
    return f"{day} {MONTHS[month - 1]} {year} года"


def _fix_prose(text: str) -> str:
    text = _SPACE_DASH.sub(NBSP + "—", text)
    text = _NUMBER_UNIT.sub(rf"\1{NBSP}\2", text)
    text = _DECIMAL_SECONDS.sub(rf"\1{NBSP}с", text)
    text = _SECONDS.sub(rf"\1{NBSP}с", text)
    text = _FOUR_DIGITS_GROUPED.sub(r"\1\2", text)
    text = _LONG_GROUPED.sub(lambda m: _GROUP_PLAIN_SPACE.sub(NBSP, m.group(0)), text)
    text = _ISO_DATE.sub(lambda m: _date(m, int(m.group(3)), int(m.group(2)), m.group(1)), text)
    text = _DOTTED_DATE.sub(lambda m: _date(m, int(m.group(1)), int(m.group(2)), m.group(3)), text)
    return text


def fix(text: str, shell_comment: bool = False) -> str:
    """`text` (a translation) with the typographic rules applied to its prose.
    A shell block's comment keeps its numbers: they may be a command's."""
    if shell_comment:
        return _on_prose(text, lambda piece: _SPACE_DASH.sub(NBSP + "—", piece))
    return _on_prose(text, _fix_prose)


def problems(text: str, shell_comment: bool = False) -> list[str]:
    """What is wrong in `text` (a translation), one line each."""
    found = []
    if fix(text, shell_comment) != text:
        found.append(
            "typography: a space that should be non-breaking (before an em dash, between a "
            "number and its unit, in a long number), a four-digit number in groups, or a date "
            "not written as «27 ноября 2026 года» (typography.fix in scripts/typography.py does it)"
        )
    prose = " ".join(piece for is_prose, piece in _prose_parts(text) if is_prose)
    words = [w for w in re.findall(r"(?<![\w&-])[A-Za-z]+(?![\w&-])", prose) if w.lower() in ENGLISH]
    if words:
        found.append(f"English left in the prose: {', '.join(sorted(set(words)))}")
    for m in _LECTURE_DOES.finditer(prose):
        found.append(
            f"«{m.group(0)}»: the lecture shows and says; code does things " "(«код из лекции …», «фильтр на слайде …»)"
        )
    return found
