"""What scripts/grade writes: the report on screen, CSV, JSON, JUnit XML and
Gradescope's results.json. Every name and reason in them may come from a
student (a folder's name, a panic message), so each is written safely: on
screen and in files, control characters are shown escaped; in CSV, a cell
that a spreadsheet would take for a formula is quoted.
"""

from __future__ import annotations

import csv
import json
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from grading import Grade

# Bidirectional overrides and isolates reorder what a terminal shows.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def shown(text: str) -> str:
    """`text` with every control character (C0, DEL, C1), format character
    (bidirectional marks and overrides, zero-width characters) and line or
    paragraph separator written as an escape: one line, nothing a terminal
    obeys, nothing hidden."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(
                {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(
                    ch, f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
                )
            )
        else:
            out.append(ch)
    return "".join(out)


def csv_cell(value) -> str | int:
    """A CSV cell no spreadsheet runs: text starting with = + - @ (or a tab
    or carriage return) gets a leading apostrophe."""
    if isinstance(value, int):
        return value
    text = shown(str(value))
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def lab_line(result) -> str:
    line = f"{result.lab.name}: {result.points}/{result.lab.max_points}"
    if result.status != "graded":
        line += f" ({result.status}{': ' + shown(result.detail) if result.detail else ''})"
    return line


def report(grade: Grade) -> None:
    if grade.status != "ok":
        print(f"grader error on this submission: {shown(grade.detail)}")
    for result in grade.labs:
        print(lab_line(result))
    for result in grade.labs:
        if result.status != "graded":
            continue
        for test in result.tests:
            if not test.passed:
                print(f"  lost {result.lab.name}::{test.name} ({test.max_points}): {shown(test.reason)}")
    print(f"Score: {grade.score}/{grade.max_score}")


def class_summary(grades: list[Grade]) -> None:
    for grade in grades:
        note = "" if grade.status == "ok" else f" (grader error: {shown(grade.detail)})"
        print(f"{shown(grade.name)}: {grade.score}/{grade.max_score}{note}")


def write_csv(path: Path, grades: list[Grade]) -> None:
    labs = [r.lab.name for r in grades[0].labs] if grades else []
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "status"] + labs + ["total", "max"])
        for grade in grades:
            writer.writerow(
                [csv_cell(grade.name), grade.status] + [r.points for r in grade.labs] + [grade.score, grade.max_score]
            )


def as_json(grade: Grade) -> dict:
    return {
        "submission": grade.name,
        "status": grade.status,
        "error": grade.detail or None,
        "score": grade.score,
        "max": grade.max_score,
        "labs": {
            r.lab.name: {
                "points": r.points,
                "max": r.lab.max_points,
                "status": r.status,
                "detail": r.detail or None,
                "tests": {
                    t.name: {"points": t.points, "max": t.max_points, "passed": t.passed, "reason": t.reason or None}
                    for t in r.tests
                },
            }
            for r in grade.labs
        },
    }


def write_json(path: Path, grades: list[Grade], one: bool) -> None:
    data = as_json(grades[0]) if one else [as_json(g) for g in grades]
    # ensure_ascii: every control character is \u-escaped in the file too.
    path.write_text(json.dumps(data, indent=2, ensure_ascii=True) + "\n")


def _xml_text(text: str) -> str:
    """XML 1.0 can't hold most control characters even escaped: show them
    (a failure's text keeps its lines)."""
    return "\n".join(shown(line) for line in text.split("\n"))


def junit(grades: list[Grade]) -> ET.ElementTree:
    """JUnit XML: a <testsuite> per submission and lab, a <testcase> per
    graded test, a <failure> with the reason for each lost one."""
    suites = ET.Element("testsuites", name="scripts/grade")
    total = failed = 0
    for grade in grades:
        for result in grade.labs:
            lost = [t for t in result.tests if not t.passed]
            suite = ET.SubElement(
                suites,
                "testsuite",
                name=shown(f"{grade.name}/{result.lab.name}"),
                tests=str(len(result.tests)),
                failures=str(len(lost)),
                errors="0",
                skipped="0",
            )
            if result.status != "graded":
                ET.SubElement(suite, "properties").append(
                    ET.Element("property", name="status", value=shown(f"{result.status} {result.detail}".strip()))
                )
            for test in result.tests:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    name=test.name,
                    classname=shown(f"{grade.name}.{result.lab.name}"),
                    assertions=str(test.max_points),
                )
                if not test.passed:
                    failure = ET.SubElement(case, "failure", message=shown(test.reason or "failed"), type="lost")
                    failure.text = _xml_text(f"{test.max_points} point(s) lost: {test.reason}")
            total += len(result.tests)
            failed += len(lost)
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    suites.set("errors", "0")
    return ET.ElementTree(suites)


def write_junit(path: Path, grades: list[Grade]) -> None:
    tree = junit(grades)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def gradescope(grade: Grade) -> dict:
    """Gradescope's results.json for one submission."""
    tests = []
    for result in grade.labs:
        for test in result.tests:
            output = "" if test.passed else test.reason
            if result.status != "graded" and result.detail:
                output = f"{result.status}: {result.detail}"
            tests.append(
                {
                    "name": f"{result.lab.name}: {test.name}",
                    "score": test.points,
                    "max_score": test.max_points,
                    "status": "passed" if test.passed else "failed",
                    "output": shown(output),
                    "visibility": "visible",
                }
            )
    lines = [lab_line(r) for r in grade.labs] + [f"Score: {grade.score}/{grade.max_score}"]
    if grade.status != "ok":
        lines.insert(0, f"grader error: {shown(grade.detail)}")
    return {"score": grade.score, "output": "\n".join(lines), "tests": tests, "visibility": "visible"}
