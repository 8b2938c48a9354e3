"""What scripts/labs and scripts/grade share: the labs and their points,
building a lab's grading tests, and running them so that nothing a student's
code starts can outlive its lab or take more than its time.

Standard library only (Python 3.11: tomllib).
"""

from __future__ import annotations

import collections
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = Path("crates/labs")
# At most this many processes (threads count too) in one lab's run: a fork
# bomb stops here, not at the machine's limit.
MAX_PROCESSES = 400
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")


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

    def mistakes(self, root: Path = ROOT) -> list[Path]:
        """The kept mistakes: each a patch to solution.rs (mistakes/NAME.patch)."""
        return sorted((self.path(root) / "mistakes").glob("*.patch"))

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


@dataclass
class Build:
    """What `cargo test --no-run` made of some labs: each lab's grading test
    binary and program, or the first compiler error."""

    tests: dict[str, Path] = field(default_factory=dict)
    programs: dict[str, Path] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def build(root: Path, chosen: list[Lab], target_dir: Path | None = None) -> Build:
    """Builds the grading tests of `chosen` in the workspace at `root`. A lab
    that does not compile gets its first error, short, and the others build
    all the same (--keep-going)."""
    result = Build()
    if not chosen:
        return result
    command = ["cargo", "build", "--tests", "--keep-going", "--quiet", "--message-format=json-diagnostic-short"]
    for lab in chosen:
        command += ["-p", lab.package]
    command += ["--features", ",".join(f for lab in chosen for f in lab.features)]
    env = dict(os.environ)
    if target_dir is not None:
        env["CARGO_TARGET_DIR"] = str(target_dir)
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    by_package = {lab.package: lab for lab in chosen}
    for line in done.stdout.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        package = package_name(message.get("package_id", ""))
        lab = by_package.get(package)
        if lab is None:
            continue
        if message.get("reason") == "compiler-artifact":
            target = message.get("target", {})
            if "test" in target.get("kind", []) and target.get("name") == "grade" and message.get("executable"):
                result.tests[lab.name] = Path(message["executable"])
            # The program itself, not its unit-test harness (also a "bin").
            is_harness = message.get("profile", {}).get("test", False)
            if "bin" in target.get("kind", []) and message.get("executable") and not is_harness:
                result.programs[lab.name] = Path(message["executable"])
        elif message.get("reason") == "compiler-message":
            diagnostic = message.get("message", {})
            if diagnostic.get("level") == "error" and lab.name not in result.errors:
                rendered = (diagnostic.get("rendered") or diagnostic.get("message") or "").strip()
                result.errors[lab.name] = rendered.splitlines()[0] if rendered else "does not compile"
    for lab in chosen:
        if lab.name not in result.tests and lab.name not in result.errors:
            tail = (done.stderr.strip().splitlines() or ["cargo failed"])[-1]
            result.errors[lab.name] = f"does not build: {tail}"
    return result


def demo_packages(tree: Path) -> list[str]:
    """The demos of the workspace at `tree`: packages with a program, not labs."""
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
        has_bin = any("bin" in t["kind"] for t in package["targets"])
        if not is_lab and has_bin:
            names.append(package["name"])
    return names


def package_name(package_id: str) -> str:
    # "path+file:///.../crates/labs/x#lab-x@0.1.0" or "lab-x 0.1.0 (path+...)"
    if "#" in package_id:
        name = package_id.split("#", 1)[1]
        return name.split("@", 1)[0] if "@" in name else package_id.rsplit("/", 1)[-1].split("#")[0]
    return package_id.split(" ", 1)[0]


@dataclass
class Run:
    """One lab's grading tests, run: each test's result, and why it failed."""

    passed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False
    output: str = ""


def contained(command: list[str], time_limit: int) -> tuple[list[str], callable]:
    """`command` in a PID namespace of its own (everything it starts dies
    with it), killed after `time_limit` seconds, with a cap on its number of
    processes. Returns the command line and a function to run in the child
    before exec."""
    wrapped = ["unshare"]
    if os.geteuid() != 0:
        wrapped += ["--user", "--map-current-user"]
    wrapped += ["--pid", "--fork", "--kill-child", "--mount-proc", "--"]
    wrapped += ["timeout", "--signal=KILL", str(time_limit)] + command
    cgroup = None
    if os.geteuid() == 0 and os.access(PIDS_CGROUP, os.W_OK):
        cgroup = PIDS_CGROUP / f"workbook-grade-{uuid.uuid4().hex[:12]}"
        cgroup.mkdir()
        (cgroup / "pids.max").write_text(str(MAX_PROCESSES))

    def before_exec() -> None:
        os.setsid()
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        else:
            # RLIMIT_NPROC counts all of this user's processes: allow ours
            # and MAX_PROCESSES more.
            mine = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _owned(p))
            limit = mine + MAX_PROCESSES
            resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))

    def cleanup() -> None:
        if cgroup is None:
            return
        for _ in range(50):
            pids = (cgroup / "cgroup.procs").read_text().split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            cgroup.rmdir()
        except OSError:
            pass

    return wrapped, before_exec, cleanup


def _owned(proc: Path) -> bool:
    try:
        return proc.stat().st_uid == os.getuid()
    except OSError:
        return False


def run_tests(test_binary: Path, time_limit: int, cwd: Path) -> Run:
    """Runs one lab's grading test binary, contained, and reads its results."""
    command, before_exec, cleanup = contained([str(test_binary), "--test-threads=2"], time_limit)
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_TARGET_DIR", "CARGO", "RUST_BACKTRACE")}
    env["RUST_BACKTRACE"] = "0"
    env["INSTA_UPDATE"] = "no"
    env["CI"] = "true"
    run = Run()
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            preexec_fn=before_exec,
            timeout=time_limit + 30,
        )
        run.output = done.stdout + done.stderr
        # timeout(1) exits 124, or 128+9 when it had to SIGKILL.
        run.timed_out = done.returncode in (124, 137, -9)
    except subprocess.TimeoutExpired as expired:
        run.output = (expired.stdout or "") if isinstance(expired.stdout, str) else ""
        run.timed_out = True
    finally:
        cleanup()
    for name, status in re.findall(r"^test (\S+) \.\.\. (ok|FAILED|ignored)", run.output, re.M):
        if status == "ok":
            run.passed.add(name)
        elif status == "FAILED":
            run.failed[name] = failure_reason(run.output, name)
    return run


def failure_reason(output: str, test: str) -> str:
    """The first line of what the failing test said (its panic message)."""
    block = re.search(rf"^---- {re.escape(test)} stdout ----\n(.*?)(?=^---- |\Z|^failures:$)", output, re.M | re.S)
    if not block:
        return "failed"
    lines = block.group(1).splitlines()
    for i, line in enumerate(lines):
        if " panicked at " in line and i + 1 < len(lines):
            message = lines[i + 1].strip()
            detail = [d.strip() for d in lines[i + 2 : i + 4] if d.strip().startswith(("left:", "right:"))]
            return " ".join([message] + detail)[:300]
    return (lines[0] if lines else "failed")[:300]


def failure_details(output: str, test: str) -> list[str]:
    """A failing test's message with its expected and actual values, for a
    student: insta's and libtest's scaffolding left out."""
    block = re.search(rf"^---- {re.escape(test)} stdout ----\n(.*?)(?=^---- |\Z|^failures:$)", output, re.M | re.S)
    if not block:
        return []
    lines = [line for line in block.group(1).splitlines() if "note: run with `RUST_BACKTRACE" not in line]
    start = next((i + 1 for i, line in enumerate(lines) if " panicked at " in line), 0)
    shown = []
    for line in lines[start:]:
        if line.startswith("  left:"):
            line = "  actual:  " + line[len("  left:") :].strip()
        elif line.startswith(" right:"):
            line = "  expected: " + line[len(" right:") :].strip()
        shown.append(line)
    while shown and not shown[-1].strip():
        shown.pop()
    return shown[:40]


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
    """TOML text without one top-level `[table]` (its header and its keys)."""
    kept, inside = [], False
    for line in toml.splitlines(keepends=True):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            inside = header.group(1).strip() == table
        if not inside:
            kept.append(line)
    return "".join(kept).rstrip("\n") + "\n"


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


def po_entries(path: Path):
    """(line, msgid, msgstr, fuzzy) for each live entry of a gettext PO file
    (book/po/ru.po), the header and obsolete entries excluded."""
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
            m = re.match(r"(msgid|msgstr)\s", entry)
            if m:
                key = m.group(1)
            if key:
                parts[key].append(entry)
        msgid, msgstr = _po_unquote(parts["msgid"]), _po_unquote(parts["msgstr"])
        if msgid:
            yield start, msgid, msgstr, fuzzy
