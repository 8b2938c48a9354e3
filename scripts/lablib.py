"""The labs: each lab's metadata (crates/labs/LAB/lab.toml), its kept
mistakes, and the workspace's packages. What scripts/labs, scripts/grade and
the self-check share; building and running a lab's tests is labcheck.py, the
students' copy labtree.py, the book's catalogue pofile.py.

Standard library only (Python 3.11: tomllib).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = Path("crates/labs")


@dataclass
class Lab:
    name: str
    title: str
    chapter: str
    order: int
    time_limit: int
    # Points per graded test, by the name libtest gives it: the tests of
    # tests/grade.rs, then the grader's hidden ones (`hidden::NAME`, from
    # tests/hidden.rs and lab.toml's [hidden] table), where the tree has them.
    points: dict[str, int]
    hidden: set[str] = field(default_factory=set)

    @property
    def package(self) -> str:
        return f"lab-{self.name}"

    @property
    def max_points(self) -> int:
        return sum(self.points.values())

    @property
    def features(self) -> list[str]:
        """The features that build this lab's grading tests, hidden ones included when present."""
        return [f"{self.package}/grade"] + ([f"{self.package}/hidden"] if self.hidden else [])

    def hidden_tests(self, root: Path = ROOT) -> Path:
        """The grader's hidden tests: in the students' copy, a stub."""
        return self.path(root) / "tests" / "hidden.rs"

    def path(self, root: Path = ROOT) -> Path:
        return root / LABS_DIR / self.name

    def student_file(self, root: Path = ROOT) -> Path:
        return self.path(root) / "src" / "lab.rs"

    def mistakes(self, root: Path = ROOT, arch: str | None = None) -> list[Path]:
        """The kept mistakes on `arch` (this machine's when None, every
        architecture's when "all"), each a patch to solution.rs: a mistake
        on every architecture is mistakes/NAME.patch, one on a single
        architecture's code (its registers, its calling convention)
        mistakes/ARCH/NAME.patch, with ARCH as `uname -m` names it."""
        folder = self.path(root) / "mistakes"
        arches = ARCHITECTURES if arch == "all" else (arch or host_arch(),)
        found = list(folder.glob("*.patch"))
        for name in arches:
            found += (folder / name).glob("*.patch")
        return sorted(found)

    def mistake_source(self, patch: Path) -> str:
        """The lab.rs of a kept mistake: solution.rs with the patch applied."""
        solution = (self.path() / "src" / "solution.rs").read_text()
        text = patch.read_text()
        try:
            body = apply_patch(solution, text)
        except ValueError as e:
            raise ValueError(f"{patch.relative_to(ROOT)} no longer applies to solution.rs: {e}") from None
        # The patch's description, before its `---` line, becomes the file's
        # doc comment in place of the solution's.
        description = text.split("\n--- ", 1)[0].strip("\n").splitlines()
        docs = "".join(f"//! {line}".rstrip() + "\n" for line in description)
        return docs + re.sub(r"\A(//![^\n]*\n)*", "", body)


# The architectures the labs run on, as `uname -m` names them.
ARCHITECTURES = ("x86_64", "aarch64")


def host_arch() -> str:
    """This machine's architecture, as `uname -m` names it."""
    return platform.machine()


def apply_patch(text: str, patch: str) -> str:
    """`text` with a unified diff applied by its context, as patch(1) does
    with no fuzz: each hunk's context and removed lines must all be there,
    in order and unchanged, but not necessarily at the line the hunk names,
    so that a mistake still applies after lines are added to or removed
    from the solution above it. Where those lines occur more than once, the
    place nearest the named line wins. The text before the first `@@` (a
    description, the `---`/`+++` lines) is ignored."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    at = 0  # lines[at:] not yet copied
    hunks = re.split(r"^(?=@@ )", patch, flags=re.M)[1:]
    if not hunks:
        raise ValueError("no hunks")
    for hunk in hunks:
        header, *body = hunk.splitlines(keepends=True)
        m = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", header)
        if not m:
            raise ValueError(f"bad hunk header {header.strip()!r}")
        named = int(m.group(1)) - (0 if m.group(2) == "0" else 1)
        ops: list[tuple[str, str]] = []
        for line in body:
            kind, content = line[:1], line[1:]
            if kind == "\\":  # "\ No newline at end of file"
                continue
            if kind in (" ", "-", "+"):
                ops.append((kind, content))
            elif line.strip():
                raise ValueError(f"bad line in hunk {header.strip()!r}: {line!r}")
        old = [content.rstrip("\n") for kind, content in ops if kind in (" ", "-")]
        if old:
            places = [
                p
                for p in range(at, len(lines) - len(old) + 1)
                if all(lines[p + i].rstrip("\n") == want for i, want in enumerate(old))
            ]
            if not places:
                raise ValueError(f"the lines of hunk {header.strip()!r} are not in the text (from line {at + 1} on)")
            start = min(places, key=lambda p: (abs(p - named), p))
        else:
            start = max(at, min(named, len(lines)))
        out += lines[at:start]
        at = start
        for kind, content in ops:
            if kind in (" ", "-"):
                if kind == " ":
                    out.append(lines[at])
                at += 1
            else:
                out.append(content if content.endswith("\n") else content + "\n")
    out += lines[at:]
    return "".join(out)


def labs(root: Path = ROOT) -> list[Lab]:
    """Every lab of the tree at `root`, in lecture order."""
    found = []
    for toml in sorted((root / LABS_DIR).glob("*/lab.toml")):
        meta = tomllib.loads(toml.read_text())
        points = {k: int(v) for k, v in meta["points"].items()}
        hidden = {f"hidden::{k}": int(v) for k, v in meta.get("hidden", {}).items()}
        found.append(
            Lab(
                name=toml.parent.name,
                title=meta["title"],
                chapter=meta["chapter"],
                order=int(meta["order"]),
                time_limit=int(meta.get("time_limit", 60)),
                points=points | hidden,
                hidden=set(hidden),
            )
        )
    return sorted(found, key=lambda lab: (lab.order, lab.name))


def find_lab(name: str, root: Path = ROOT) -> Lab:
    for lab in labs(root):
        if lab.name == name:
            return lab
    known = ", ".join(lab.name for lab in labs(root))
    raise SystemExit(f"no lab named {name!r}; the labs are: {known}")


def demo_packages(tree: Path) -> list[str]:
    """The demos of the workspace at `tree`: packages with a program of
    their own name, not labs (the support crate's book-terminal is the
    book's, not a demo)."""
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    names = []
    for package in json.loads(meta.stdout)["packages"]:
        is_lab = "/crates/labs/" in package["manifest_path"]
        has_bin = any("bin" in t["kind"] and t["name"] == package["name"] for t in package["targets"])
        if not is_lab and has_bin:
            names.append(package["name"])
    return names


def package_name(package_id: str) -> str:
    # "path+file:///.../crates/labs/x#lab-x@0.1.0" or "lab-x 0.1.0 (path+...)"
    if "#" in package_id:
        name = package_id.split("#", 1)[1]
        return name.split("@", 1)[0] if "@" in name else package_id.rsplit("/", 1)[-1].split("#")[0]
    return package_id.split(" ", 1)[0]
