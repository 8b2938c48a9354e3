"""scripts/labs check: a lab's grading tests built, and run so that nothing
a student's code starts can outlive its lab or take more than its time;
what a failing test said, for a student. (scripts/grade builds and runs
them in its sandboxes instead: grading.py.)

Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lablib import Lab, package_name

# At most this many processes (threads count too) in one lab's run: a fork
# bomb stops here, not at the machine's limit.
MAX_PROCESSES = 400
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")


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
    run.passed, run.failed = read_results(run.output)
    return run


def read_results(output: str) -> tuple[set[str], dict[str, str]]:
    """libtest's verdicts in a test binary's output: the tests that passed,
    and each failed one with the first line of what it said."""
    passed: set[str] = set()
    failed: dict[str, str] = {}
    for name, status in re.findall(r"^test (\S+) \.\.\. (ok|FAILED|ignored)", output, re.M):
        if status == "ok":
            passed.add(name)
        elif status == "FAILED":
            failed[name] = failure_reason(output, name)
    return passed, failed


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
