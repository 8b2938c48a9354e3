"""The grading engine of scripts/grade: what a score is made of, and how it
is made so that the graded code can't touch it.

1. A trusted build, once (kept in the grader's cache, rebuilt when the
   workbook changes): the students' copy of the workbook (`scripts/labs
   export`: skeleton lab.rs files, no solutions, no mistakes) is built by
   cargo, as the grader, before any student's code is seen. It gives the
   demos, the grading test binaries (which never compile a lab.rs), each
   test binary's list of tests, and the exact rustc command of each lab's
   program (recorded by scripts/grade-rustc-record).
2. A submission's lab.rs files are read without following symlinks; each
   must be a regular UTF-8 file of at most MAX_SOURCE bytes.
3. Each lab's program is compiled by that rustc command in a sandbox
   (scripts/sandbox.py): the students' copy, the dependencies and the
   toolchain read-only, the student's lab.rs over the skeleton, an output
   folder of its own, no network, a time and a memory limit.
4. Each graded test runs on its own, by exact name, in a sandbox of its own:
   the test binary (execute-only, so the kernel makes its process
   non-dumpable: nothing in the sandbox can ptrace it or read its memory)
   starts the student's program. The test passed if and only if the test
   process exited 0; its output is read only to say why it failed.

A failure of one submission, of any kind, is that submission's: it is
reported, and the others are graded.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import buildenv
import labcheck
import lablib
import labtree
import sandbox
from lablib import ROOT, Lab

MAX_SOURCE = 256 * 1024
# Where a lab's binaries are inside a test's sandbox: the layout cargo gives
# them (the test binary in deps/, the programs one level up).
BIN = "/grade/bin"


@dataclass
class Settings:
    jobs: int = max(1, os.cpu_count() or 1)
    build_time: float = 180.0
    build_memory: int = 3 << 30
    test_memory: int = 2 << 30
    tmp_size: int = 256 << 20


@dataclass
class TestResult:
    name: str
    max_points: int
    passed: bool = False
    reason: str = ""

    @property
    def points(self) -> int:
        return self.max_points if self.passed else 0


@dataclass
class LabResult:
    lab: Lab
    # graded; no lab.rs; refused (with why); does not compile; build timed
    # out; build ran out of memory
    status: str = "graded"
    detail: str = ""
    tests: list[TestResult] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tests)


@dataclass
class Grade:
    name: str
    labs: list[LabResult]
    # ok, or error: the grader failed on this submission (detail says why)
    status: str = "ok"
    detail: str = ""

    @property
    def score(self) -> int:
        return sum(r.points for r in self.labs)

    @property
    def max_score(self) -> int:
        return sum(r.lab.max_points for r in self.labs)


class GraderError(Exception):
    """The grader itself can't run (exit 2), as opposed to a submission's failure."""


def _cargo_target_dir() -> Path:
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if meta.returncode != 0:
        raise GraderError(f"cargo metadata failed: {meta.stderr.strip()[-500:]}")
    return Path(json.loads(meta.stdout)["target_directory"])


def default_cache() -> Path:
    return _cargo_target_dir() / "grade"


def tree_digest(tree: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.is_file() or p.is_symlink()):
        digest.update(str(path.relative_to(tree)).encode() + b"\0")
        digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _private_dir(path: Path) -> Path:
    """A folder of the grader's, for the grader alone: made if missing, and
    refused if it is a symlink or someone else's."""
    path.mkdir(parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        raise GraderError(f"{path}: not a folder of the grader's own")
    os.chmod(path, 0o755)
    return path


class Workbook:
    """The trusted build in the grader's cache, and grading against it."""

    def __init__(self, cache: Path, settings: Settings, log=print):
        if not sandbox.is_root() and settings.jobs > 1:
            # Without root every sandbox runs as our own uid, and
            # RLIMIT_NPROC counts that uid's processes together: a fork bomb
            # in one would leave a classmate's build beside it no thread to
            # start (rustc panics). As root each slot has a uid and a cgroup.
            log(
                f"as an ordinary user the sandboxes share one uid's process limit, "
                f"so they run one at a time (not {settings.jobs})"
            )
            settings = dataclasses.replace(settings, jobs=1)
        self.settings = settings
        self.cache = _private_dir(cache)
        # One grading at a time in a cache: another waits for it.
        self._lock = open(os.open(self.cache / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another grading that uses {self.cache} (or give another --cache)")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.tree = self.cache / "tree"
        self.target = self.cache / "target"
        self.records_dir = self.cache / "rustc"
        self.run_dir = self.cache / "run"
        self.work = self.cache / "work"
        sandbox.ROOT_MOUNT = _private_dir(self.cache / "root")
        sandbox.claim_uids(settings.jobs)
        self.sandbox_line = sandbox.check()
        log(f"the students' copy of the workbook, built in {self.cache} (the first time takes minutes)")
        self._lay_tree()
        self.labs = lablib.labs(self.tree)
        if not self.labs:
            raise GraderError("no labs in crates/labs")
        self._build()
        log(self.sandbox_line)
        self._slots = list(range(settings.jobs))
        self._slot_lock = threading.Lock()
        self._builds: dict[tuple[str, str], threading.Event] = {}
        self._built: dict[tuple[str, str], tuple[Path | None, str, str]] = {}
        self._builds_lock = threading.Lock()
        shutil.rmtree(self.work, ignore_errors=True)
        _private_dir(self.work)
        os.chmod(self.work, 0o700)

    # -- the trusted build ------------------------------------------------

    def _lay_tree(self) -> None:
        fresh = self.cache / "tree.new"
        shutil.rmtree(fresh, ignore_errors=True)
        labtree.export_tree(fresh, keep_hidden=True)
        for lab in lablib.labs(fresh):
            solution = lab.path() / "src" / "solution.rs"
            if solution.is_file() and lab.student_file(fresh).read_bytes() == solution.read_bytes():
                shutil.rmtree(fresh)
                raise GraderError(f"the skeleton of {lab.name} is its solution: the students' copy would hold it")
        digest = tree_digest(fresh)
        stamp = self.cache / "tree.digest"
        if self.tree.is_dir() and stamp.is_file() and stamp.read_text() == digest:
            shutil.rmtree(fresh)
            return
        # A changed workbook: a new tree, and a rebuild (cargo sees the new files).
        shutil.rmtree(self.tree, ignore_errors=True)
        fresh.rename(self.tree)
        stamp.write_text(digest)

    def _cargo_build(self, packages: list[str], targets: list[str], features: list[str]) -> list[dict]:
        command = ["cargo", "build", "--locked", "--message-format=json-render-diagnostics"] + targets
        for package in packages:
            command += ["-p", package]
        if features:
            command += ["--features", ",".join(features)]
        env = dict(
            os.environ,
            CARGO_TARGET_DIR=str(self.target),
            RUSTC_WRAPPER=str(ROOT / "scripts" / "grade-rustc-record"),
            WORKBOOK_RUSTC_RECORD=str(self.records_dir),
        )
        env.pop("RUSTC_WORKSPACE_WRAPPER", None)
        done = subprocess.run(command, cwd=self.tree, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise GraderError(f"the workbook does not build:\n{done.stderr.strip()[-3000:]}")
        messages = []
        for line in done.stdout.splitlines():
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return messages

    def _build_all(self, demos: list[str]) -> list[dict]:
        """The demos' programs; the labs' programs and grading tests."""
        self._cargo_build(demos, ["--bins"], [])
        return self._cargo_build(
            [lab.package for lab in self.labs],
            ["--bins", "--test", "grade"],
            [feature for lab in self.labs for feature in lab.features],
        )

    def _build(self) -> None:
        _private_dir(self.records_dir)
        demos = lablib.demo_packages(self.tree)
        messages = self._build_all(demos)
        missing = [lab for lab in self.labs if not (self.records_dir / f"{self._crate(lab)}.json").is_file()]
        if missing:
            # Built before the recorder was there: build those programs again.
            for lab in missing:
                for stale in (self.target / "debug" / ".fingerprint").glob(f"{lab.package}-*"):
                    shutil.rmtree(stale)
            messages = self._build_all(demos)
        self.records = {}
        for lab in self.labs:
            path = self.records_dir / f"{self._crate(lab)}.json"
            if not path.is_file():
                raise GraderError(f"no rustc command was recorded for {lab.package}")
            self.records[lab.name] = json.loads(path.read_text())
        tests = {}
        by_package = {lab.package: lab for lab in self.labs}
        for message in messages:
            if message.get("reason") != "compiler-artifact":
                continue
            target = message.get("target", {})
            lab = by_package.get(lablib.package_name(message.get("package_id", "")))
            if lab and "test" in target.get("kind", []) and target.get("name") == "grade" and message.get("executable"):
                tests[lab.name] = Path(message["executable"])
        self.demos = {name: self.target / "debug" / name for name in demos}
        self.tests: dict[str, Path] = {}
        self.test_names: dict[str, set[str]] = {}
        for lab in self.labs:
            if lab.name not in tests:
                raise GraderError(f"no grading test binary for {lab.package}")
            # Execute-only: a process whose program it can't read is made
            # non-dumpable by the kernel, so the graded program beside it
            # can't ptrace the test or write its memory.
            place = _private_dir(self.run_dir / lab.name) / "grade"
            shutil.copyfile(tests[lab.name], place.with_suffix(".new"))
            os.chmod(place.with_suffix(".new"), 0o111)
            os.replace(place.with_suffix(".new"), place)
            self.tests[lab.name] = place
            listed = subprocess.run([str(place), "--list", "--format", "terse"], capture_output=True, text=True)
            names = {line[: -len(": test")] for line in listed.stdout.splitlines() if line.endswith(": test")}
            unknown = set(lab.points) - names
            if listed.returncode != 0 or unknown:
                raise GraderError(
                    f"{lab.name}: lab.toml gives points for tests that tests/grade.rs lacks: {sorted(unknown)}"
                )
            self.test_names[lab.name] = names
        # The hidden tests are built into the test binaries; their sources
        # are the grader's: every sandbox sees an empty file in their place
        # (a lab.rs could include_str! them, or a program read them).
        empty = self.cache / "empty"
        if not empty.is_file() or empty.is_symlink() or empty.stat().st_size != 0:
            empty.unlink(missing_ok=True)
            empty.write_bytes(b"")
        os.chmod(empty, 0o444)  # read-only, as its owner too: a second grading leaves it be
        self.masks = [
            (str(empty), str(lab.hidden_tests(self.tree))) for lab in self.labs if lab.hidden_tests(self.tree).is_file()
        ]
        self.skeletons = {
            lab.name: (
                hashlib.sha256(lab.student_file(self.tree).read_bytes()).hexdigest(),
                self.target / "debug" / lab.package,
            )
            for lab in self.labs
        }

    @staticmethod
    def _crate(lab: Lab) -> str:
        return lab.package.replace("-", "_")

    # -- sandboxes ----------------------------------------------------------

    def _slot(self):
        workbook = self

        class Slot:
            def __enter__(self):
                with workbook._slot_lock:
                    self.n = workbook._slots.pop()
                return self.n

            def __exit__(self, *_):
                with workbook._slot_lock:
                    workbook._slots.append(self.n)

        return Slot()

    def _give(self, path: Path, slot: int) -> None:
        """A folder of this run's, writable by the sandbox of `slot`."""
        if sandbox.is_root():
            os.chown(path, sandbox.uid_of(slot), sandbox.uid_of(slot))
        os.chmod(path, 0o700)

    # -- a submission -------------------------------------------------------

    def intake(self, submission: Path, lab: Lab) -> tuple[bytes | None, str]:
        """The student's lab.rs for `lab`, read without following a symlink
        anywhere under `submission`: (contents, "") or (None, why not)."""
        relative = lab.student_file(Path(".")).parts
        flat = [f"{lab.name}.rs", f"lab-{lab.name}.rs"]
        for parts in [relative] + [(name,) for name in flat]:
            found, why = _read_beneath(submission, parts)
            if found is not None or why != "missing":
                return found, why
        return None, "missing"

    def _build_lab(self, lab: Lab, source: bytes) -> tuple[Path | None, str, str]:
        """The lab's program built from `source`, once per distinct source in
        this run: (binary, status, detail)."""
        key = (lab.name, hashlib.sha256(source).hexdigest())
        if key[1] == self.skeletons[lab.name][0]:
            return self.skeletons[lab.name][1], "graded", ""
        with self._builds_lock:
            event = self._builds.get(key)
            mine = event is None
            if mine:
                event = self._builds[key] = threading.Event()
        if not mine:
            event.wait()
            return self._built[key]
        try:
            self._built[key] = self._compile(lab, source, key[1])
        except Exception as error:  # noqa: BLE001 - one lab's failure is its own
            self._built[key] = (None, "grader error", str(error))
        event.set()
        return self._built[key]

    def _compile(self, lab: Lab, source: bytes, digest: str) -> tuple[Path | None, str, str]:
        place = self.work / f"build-{lab.name}-{digest[:16]}"
        shutil.rmtree(place, ignore_errors=True)
        place.mkdir(mode=0o700)
        source_file = place / "lab.rs"
        source_file.write_bytes(source)
        os.chmod(source_file, 0o644)
        out = place / "out"
        out.mkdir()
        record = self.records[lab.name]
        args, crate_file = _sandboxed_rustc_args(record["args"])
        rustc = Path(record["rustc"])
        sysroot = rustc.parent.parent
        box = sandbox.Sandbox(
            ro=[str(sysroot), str(self.tree), str(self.target), (str(source_file), str(lab.student_file(self.tree)))]
            + self.masks,
            rw=[(str(out), "/out")],
            env={k: v for k, v in record["env"].items() if buildenv.kept(k)},
            cwd=record["cwd"],
        )
        limits = sandbox.Limits(
            wall=self.settings.build_time,
            memory=self.settings.build_memory,
            tmp=self.settings.tmp_size,
            file_size=1 << 30,
            pids=200,
        )
        with self._slot() as slot:
            self._give(out, slot)
            # Readable by the sandbox's uid through the bind, not writable.
            os.chmod(place, 0o755)
            result = sandbox.run([str(rustc)] + args, box, limits, slot)
        if result.timed_out:
            return None, "build timed out", f"the build ran past {self.settings.build_time:.0f} s"
        if result.returncode != 0:
            if sandbox_memory_out(result):
                return None, "build ran out of memory", f"rustc went past {self.settings.build_memory >> 20} MiB"
            return None, "does not compile", first_error(result.stderr)
        built = out / crate_file
        info = os.lstat(built) if built.exists() or built.is_symlink() else None
        if info is None or not stat.S_ISREG(info.st_mode):
            return None, "does not compile", "rustc made no program"
        binary = place / lab.package
        with open(built, "rb") as src, open(binary, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(binary, 0o755)
        shutil.rmtree(out)
        os.remove(source_file)
        return binary, "graded", ""

    def _run_tests(self, lab: Lab, program: Path) -> list[TestResult]:
        results = []
        budget = float(lab.time_limit)
        for test, points in lab.points.items():
            result = TestResult(test, points)
            results.append(result)
            if budget <= 0.5:
                result.reason = f"not run: the lab's {lab.time_limit} s were used up"
                continue
            ro = [
                (str(self.tests[lab.name]), f"{BIN}/deps/grade"),
                (str(program), f"{BIN}/{lab.package}"),
                str(self.tree),
            ]
            ro += [(str(path), f"{BIN}/{name}") for name, path in self.demos.items()]
            ro += self.masks
            box = sandbox.Sandbox(
                ro=ro,
                env={"RUST_BACKTRACE": "0", "INSTA_UPDATE": "no", "CI": "true", "NO_COLOR": "1"},
                cwd=str(lab.path(self.tree)),
            )
            limits = sandbox.Limits(wall=budget, memory=self.settings.test_memory, tmp=self.settings.tmp_size)
            argv = [f"{BIN}/deps/grade", "--exact", test, "--include-ignored", "--test-threads=1"]
            with self._slot() as slot:
                run = sandbox.run(argv, box, limits, slot)
            budget -= run.seconds
            if run.timed_out:
                result.reason = f"timed out (the lab's {lab.time_limit} s)"
            elif run.returncode == 0:
                result.passed = True
            elif sandbox_memory_out(run):
                result.reason = f"ran out of memory ({self.settings.test_memory >> 20} MiB)"
            else:
                output = run.stdout + run.stderr
                result.reason = (
                    labcheck.failure_reason(output, test)
                    if f"---- {test} stdout ----" in output
                    else f"failed (exit status {run.returncode})"
                )
        return results

    def grade_lab(self, submission: Path, lab: Lab) -> LabResult:
        result = LabResult(lab)
        source, why = self.intake(submission, lab)
        if source is None:
            result.status = "no lab.rs" if why == "missing" else "refused"
            result.detail = "" if why == "missing" else why
            result.tests = [TestResult(t, p, reason=result.status) for t, p in lab.points.items()]
            return result
        program, status, detail = self._build_lab(lab, source)
        result.status, result.detail = status, detail
        if program is None:
            result.tests = [TestResult(t, p, reason=status) for t, p in lab.points.items()]
            return result
        result.tests = self._run_tests(lab, program)
        return result

    def grade_all(self, submissions: list[tuple[str, Path]]) -> list[Grade]:
        """Every submission, every lab, `jobs` at a time; whatever goes wrong
        in one (lab of one) submission is reported there."""
        grades = [Grade(name, []) for name, _ in submissions]
        units = [(i, lab) for i in range(len(submissions)) for lab in self.labs]

        def one(unit):
            i, lab = unit
            try:
                return self.grade_lab(submissions[i][1], lab)
            except Exception as error:  # noqa: BLE001 - never the class's failure
                failed = LabResult(lab, "grader error", f"{type(error).__name__}: {error}")
                failed.tests = [TestResult(t, p, reason="grader error") for t, p in lab.points.items()]
                return failed

        with ThreadPoolExecutor(max_workers=self.settings.jobs) as pool:
            for (i, _), lab_result in zip(units, pool.map(one, units), strict=False):
                grades[i].labs.append(lab_result)
        for grade in grades:
            errors = [r for r in grade.labs if r.status == "grader error"]
            if errors:
                grade.status = "error"
                grade.detail = "; ".join(f"{r.lab.name}: {r.detail}" for r in errors)
        return grades

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self._lock.close()


def sandbox_memory_out(result: sandbox.Result) -> bool:
    return result.memory_exceeded


def _read_beneath(top: Path, parts: tuple[str, ...]) -> tuple[bytes | None, str]:
    """The file at top/parts..., opened one component at a time with
    O_NOFOLLOW: a symlink anywhere on the way is refused, not followed."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(top, flags | os.O_DIRECTORY)
    except OSError as error:
        return None, f"the submission can't be opened ({error.strerror})"
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            try:
                child = os.open(part, flags | (os.O_NONBLOCK if last else os.O_DIRECTORY), dir_fd=fd)
            except FileNotFoundError:
                return None, "missing"
            except OSError as error:
                shown = "/".join(parts[: i + 1])
                if error.errno in (40, 20):  # ELOOP: a symlink; ENOTDIR
                    return None, f"{shown} is a symlink or not a folder" if not last else f"{shown} is a symlink"
                return None, f"{shown} can't be read ({error.strerror})"
            os.close(fd)
            fd = child
        info = os.fstat(fd)
        shown = "/".join(parts)
        if not stat.S_ISREG(info.st_mode):
            return None, f"{shown} is not a regular file"
        if info.st_size > MAX_SOURCE:
            return None, f"{shown} is {info.st_size} bytes, more than {MAX_SOURCE}"
        data = os.read(fd, MAX_SOURCE + 1)
        if len(data) > MAX_SOURCE:
            return None, f"{shown} is more than {MAX_SOURCE} bytes"
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None, f"{shown} is not UTF-8 text"
        return data, ""
    finally:
        os.close(fd)


def _sandboxed_rustc_args(args: list[str]) -> tuple[list[str], str]:
    """cargo's rustc arguments for a lab's program, for a build in the
    sandbox: output to /out, no incremental cache, errors as short text.
    Also the name of the program it makes."""
    out, i = [], 0
    crate, extra = "", ""
    while i < len(args):
        arg = args[i]
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg == "--out-dir":
            out += ["--out-dir", "/out"]
            i += 2
            continue
        if arg == "-C" and following.startswith("incremental="):
            i += 2
            continue
        if arg.startswith("--error-format") or arg.startswith("--json") or arg.startswith("--diagnostic-width"):
            i += 1
            continue
        if arg == "--crate-name":
            crate = following
        if arg == "-C" and following.startswith("extra-filename="):
            extra = following.split("=", 1)[1]
        out.append(arg)
        i += 1
    return out + ["--error-format=short", "--color=never"], crate + extra


def first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if re.search(r"\berror(\[E\d+\])?:", line):
            return line.strip()[:300]
    lines = [line for line in stderr.splitlines() if line.strip()]
    return (lines[-1].strip() if lines else "rustc failed")[:300]
