"""The students' copy of the workbook (scripts/labs export, and the
grader's own copy): the files git tracks, skeletons for solutions, no
mistakes, the hidden tests only where asked for.

Standard library only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from lablib import ROOT, labs


def git(source: Path, *args: str) -> subprocess.CompletedProcess:
    """git in the checkout at `source`, whoever owns it (the grader may be
    another user than the checkout's owner)."""
    return subprocess.run(["git", "-c", "safe.directory=*", "-C", str(source), *args], capture_output=True)


def copy_tree(source: Path, destination: Path) -> None:
    """The sources of the workbook at `source`, without builds or history:
    in a git checkout, the files git tracks (as they are in the working
    tree), so that nothing else lying there (a class's submissions, notes,
    secrets) reaches a copy; elsewhere, every file."""
    listed = git(source, "ls-files", "-z", "--cached")
    if listed.returncode != 0:
        ignore = shutil.ignore_patterns("target", ".git", "build", "*.snap.new", "*.pending-snap")
        shutil.copytree(source, destination, ignore=ignore, symlinks=True, dirs_exist_ok=True)
        return
    destination.mkdir(parents=True, exist_ok=True)
    for name in listed.stdout.decode().split("\0"):
        origin = source / name
        if not name or not (origin.is_file() or origin.is_symlink()):
            continue  # deleted in the working tree
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target, follow_symlinks=False)


def export_tree(destination: Path, source: Path = ROOT, keep_hidden: bool = False) -> int:
    """The students' copy of the workbook at `source`: every lab's skeleton
    lab.rs (as committed, when `source` is a git checkout), no solution.rs,
    no mistakes/, no hidden tests (a stub tests/hidden.rs, and no [hidden]
    table in lab.toml) unless `keep_hidden` (the grader's own copy), and a
    book without the Solutions appendix. Returns how many files and folders
    were taken out."""
    copy_tree(source, destination)
    removed = 0
    # The grader's corpus of hostile submissions is the instructors' business.
    attacks = destination / "scripts" / "grade-attacks"
    if attacks.is_dir():
        shutil.rmtree(attacks)
        removed += 1
    for lab in labs(destination):
        for secret in [lab.path(destination) / "src" / "solution.rs", lab.path(destination) / "mistakes"]:
            if secret.is_dir():
                shutil.rmtree(secret)
                removed += 1
            elif secret.exists():
                secret.unlink()
                removed += 1
        # The skeleton, whatever the instructor's copy holds now.
        skeleton = git(source, "show", f"HEAD:{lab.student_file(source).relative_to(source)}")
        if skeleton.returncode == 0:
            lab.student_file(destination).write_bytes(skeleton.stdout)
        if not keep_hidden and lab.hidden_tests(destination).exists():
            lab.hidden_tests(destination).write_text(HIDDEN_STUB)
            toml = lab.path(destination) / "lab.toml"
            toml.write_text(without_table(toml.read_text(), "hidden"))
            removed += 1
    book = destination / "book" / "src"
    (book / "solutions.md").unlink(missing_ok=True)
    summary = book / "SUMMARY.md"
    summary.write_text(
        "".join(line for line in summary.read_text().splitlines(keepends=True) if "solutions.md" not in line)
    )
    for chapter in book.glob("*.md"):
        text = chapter.read_text()
        changed = re.sub(r"\[([^\]]*)\]\(solutions\.md[^)]*\)", "the solution (handed out after the deadline)", text)
        if changed != text:
            chapter.write_text(changed)
    # The Russian catalogue follows: the same English messages, and a link to
    # a solution in a translation loses its target the same way.
    catalogue = destination / "book" / "po" / "ru.po"
    if catalogue.exists():
        link = r"\[([^\]]*)\]\(solutions\.md[^)]*\)"
        field, lines = None, []
        for line in catalogue.read_text().splitlines(keepends=True):
            if line.startswith("msgid "):
                field = "msgid"
            elif line.startswith("msgstr "):
                field = "msgstr"
            elif not line.startswith('"'):
                field = None
            if field == "msgid":
                line = re.sub(link, "the solution (handed out after the deadline)", line)
            elif field == "msgstr":
                line = re.sub(link, r"\1 (его раздадут после срока сдачи)", line)
            lines.append(line)
        # Messages that differed only in their link are one message now.
        seen, blocks = set(), []
        for block in "".join(lines).split("\n\n"):
            msgid = re.search(r"^msgid .*?(?=^msgstr )", block, re.M | re.S)
            key = msgid.group(0) if msgid else block
            if key not in seen:
                seen.add(key)
                blocks.append(block)
        catalogue.write_text("\n\n".join(blocks))
    # The grader's self-check needs the solutions; the students' copy grades only.
    leftovers = list(destination.rglob("solution.rs"))
    if leftovers:
        raise SystemExit(f"export: solutions left in the copy: {leftovers}")
    return removed


HIDDEN_STUB = """//! The grader's hidden tests: they are not in the students' copy. The
//! grader runs them too (`scripts/grade` lists them as `hidden::...`), so a
//! lab that passes only the tests of grade.rs may still lose points.
"""


def without_table(toml: str, table: str) -> str:
    """TOML text without one top-level `[table]`: its header, its keys, and
    the comment lines right above the header, which speak of it."""
    kept, inside, comments = [], False, []
    for line in toml.splitlines(keepends=True):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            inside = header.group(1).strip() == table
            while inside and kept and kept[-1].lstrip().startswith("#"):
                kept.pop()
            if not inside:
                kept += comments  # the next table's own comments
        if inside:
            comments = comments + [line] if line.lstrip().startswith("#") else []
        else:
            kept.append(line)
    return "".join(kept).rstrip("\n") + "\n"
