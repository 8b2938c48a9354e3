"""Runs graded code where it can reach nothing but what it is given.

Every build of a student's lab and every grading test runs through `run`:
util-linux's `unshare` makes new mount, PID, network, IPC and UTS
namespaces, and a shell script, the sandbox's PID 1, lays out a root of
its own: the system's programs and libraries read-only, the few files of
/etc a compiler needs, the paths the caller binds (read-only unless it
says otherwise), private size-capped tmpfs folders; then `pivot_root`
into it, and the host's tree unmounted. Every mount is nosuid and nodev.
The command runs as a uid that is not the grader's, without capabilities:

- the grader is root: a dedicated uid of its own (one per slot, claimed so
  that no two sandboxes running at once share it, even from two graders),
  in a user namespace of its own (what the kernel keeps per user, such as
  keyrings, stays with the sandbox);
- the grader is not root: a user namespace too, in which the command runs
  as INNER_UID, mapped to the grader's uid, with no capabilities.

NO_NEW_PRIVS is not set (bubblewrap would set it): the seccomp labs teach
what happens without it, and nosuid mounts already keep setuid programs
from granting anything.

Limits: a wall-clock time limit (the whole sandbox is killed), and memory
and processes by cgroup (v2, or v1's memory and pids controllers) when the
grader is root and can make one; otherwise, and always for CPU time, file
size and core dumps, by rlimits.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import fcntl
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# The first of the dedicated uids (and gids) when the grader is root: each
# slot runs as one of FIRST_UID and up that no other grader holds. No user
# of the system has them: nothing else is theirs.
FIRST_UID = int(os.environ.get("WORKBOOK_GRADE_UID", "3141500"))
# The uids this grader holds (claim_uids), slot by slot; another grader
# running at the same time holds others.
UIDS: list[int] = []
_claims: list = []
# The uid the sandboxed command has inside its user namespace (non-root grader).
INNER_UID = 1000
# Where the system's programs and libraries are: bound read-only, or, where
# the host has them as symlinks into /usr, made the same symlinks.
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]
# The few files of /etc that compilers and the C library look at. /etc
# itself is not there: nothing in it is graded code's business.
ETC = ["/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"]
MAX_OUTPUT = 64 * 1024
# An empty folder of the host's on which each sandbox, in its own mount
# namespace, mounts its root.
ROOT_MOUNT = Path("/nonexistent")  # set by the grader: a folder of its cache


@dataclass
class Limits:
    wall: float = 60.0  # seconds of wall-clock time for the whole sandbox
    memory: int = 2 << 30  # bytes of memory (cgroup), or of address space (rlimit)
    pids: int = 400  # processes and threads
    cpu: int = 600  # seconds of CPU time, per process
    file_size: int = 256 << 20  # bytes, the largest file it may write
    tmp: int = 256 << 20  # bytes, the size of each tmpfs


@dataclass
class Result:
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    timed_out: bool = False
    seconds: float = 0.0
    memory_exceeded: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@dataclass
class Sandbox:
    """What a sandboxed command sees besides the system: `ro` paths bound
    read-only at the same place (or (source, place) pairs), `rw` paths bound
    writable (folders the grader made for this run only), `tmpfs` folders,
    its environment and its working directory."""

    ro: list = field(default_factory=list)
    rw: list = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=lambda: ["/tmp", "/dev/shm"])
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/tmp"


SETUP_FAILED = "workbook sandbox: setting up failed"


class Unavailable(Exception):
    """The sandbox can't run here: the grader can't grade safely."""


def is_root() -> bool:
    return os.geteuid() == 0


def claim_uids(count: int) -> list[int]:
    """As root: `count` dedicated uids that no other grader on this machine
    is using (a lock file each, held while this process lives), so that
    two gradings at once never share a uid's process limit."""
    global UIDS
    if not is_root():
        return []
    locks = Path("/run/lock") if Path("/run/lock").is_dir() else Path("/tmp")
    candidate = FIRST_UID
    while len(UIDS) < count:
        if candidate >= FIRST_UID + 4096:
            raise Unavailable(f"no free sandbox uid in {FIRST_UID}..{FIRST_UID + 4095}")
        try:
            handle = open(
                os.open(locks / f"workbook-grade-uid-{candidate}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600),
                "w",
            )
        except OSError:
            candidate += 1  # a symlink or worse in its place: not ours to use
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _claims.append(handle)
            UIDS.append(candidate)
        except BlockingIOError:
            handle.close()
        candidate += 1
    return UIDS


def uid_of(slot: int) -> int:
    return UIDS[slot] if slot < len(UIDS) else FIRST_UID + slot


def check() -> str:
    """How sandboxes run here, in a line; raises Unavailable with the reason
    and the cure when they can't."""
    missing = [
        tool
        for tool in ("unshare", "setpriv", "pivot_root", "mount")
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}")
    ]
    if missing:
        raise Unavailable(
            f"the sandbox needs util-linux's {', '.join(missing)} (Debian, Ubuntu: apt install util-linux mount)"
        )
    ROOT_MOUNT.mkdir(parents=True, exist_ok=True)
    probe = run(["/bin/true"], Sandbox(), Limits(wall=30), slot=0)
    if not probe.ok:
        detail = (probe.stderr or probe.stdout).strip().splitlines()
        raise Unavailable(
            "can't make a sandbox here"
            + (f" ({detail[-1]})" if detail else "")
            + (
                ""
                if is_root()
                else ": unprivileged user namespaces must be enabled (sysctl user.max_user_namespaces, "
                "kernel.unprivileged_userns_clone=1, or AppArmor's kernel.apparmor_restrict_unprivileged_userns=0)"
            )
        )
    who = f"uids {', '.join(map(str, UIDS)) or FIRST_UID}" if is_root() else f"a user namespace, uid {INNER_UID} in it"
    return f"sandbox: {who}, no capabilities; memory and processes limited by {Cgroup.kind() or 'rlimits'}"


def _q(text) -> str:
    return shlex.quote(str(text))


def _setup_script(argv: list[str], box: Sandbox, limits: Limits, slot: int) -> str:
    """The shell script that, as root of the sandbox's new namespaces, lays
    out its root folder, moves into it for good (pivot_root, the old root
    unmounted: nothing of the host is left to reach, even by a chroot
    escape), and runs the command as the sandbox's uid, without
    capabilities. It stays as the sandbox's PID 1 and exits with the
    command's status."""
    lines = [f"R={_q(ROOT_MOUNT)}", 'mount -t tmpfs -o size=16m,mode=0755,nosuid,nodev sandbox "$R"', 'cd "$R"']

    def bind(source: str, place: str, writable: bool) -> None:
        target = "." + place
        if os.path.isdir(source):
            lines.append(f"mkdir -p {_q(target)}")
        else:
            lines.append(
                f"{{ [ -e {_q(target)} ] || {{ mkdir -p {_q(os.path.dirname(target) or '.')} && touch {_q(target)}; }}; }}"
            )
        flags = "bind,nosuid,nodev" + ("" if writable else ",ro")
        lines.append(f"mount --bind {_q(source)} {_q(target)}")
        lines.append(f"mount -o remount,{flags} {_q(target)}")

    for place in SYSTEM:
        if os.path.islink(place):
            lines.append(f"ln -s {_q(os.readlink(place))} {_q('.' + place)}")
        elif os.path.isdir(place):
            bind(place, place, False)
    lines.append("mkdir -p etc")
    for place in ETC:
        if os.path.exists(place):
            bind(place, place, False)
    lines += [
        "mkdir proc && mount -t proc -o nosuid,nodev,noexec proc proc",
        "mkdir dev && mount -t tmpfs -o size=1m,mode=0755,nosuid dev dev",
    ]
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        lines.append(f"touch dev/{node} && mount --bind /dev/{node} dev/{node}")
    for name, to in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        lines.append(f"ln -s {to} dev/{name}")
    for place in box.tmpfs:
        lines.append(f"mkdir -p {_q('.' + place)}")
        lines.append(f"mount -t tmpfs -o size={limits.tmp},mode=1777,nosuid,nodev tmp {_q('.' + place)}")
    for writable, entries in ((False, box.ro), (True, box.rw)):
        for entry in entries:
            source, place = entry if isinstance(entry, tuple) else (entry, entry)
            bind(str(source), str(place), writable)
    lines += [
        "mkdir .old && pivot_root . .old && umount -l /.old && rmdir /.old",
        "mount -o remount,bind,ro,nosuid,nodev /",
        "hostname sandbox",
        "{ ip link set lo up 2>/dev/null || true; }",
    ]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
    env.update(box.env)
    strip = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--"]
    # The command runs in a user namespace of its own, with no capability
    # in it: every mount is locked as it is, and what the kernel keeps per
    # user (keyrings) is this sandbox's alone.
    if is_root():
        uid = uid_of(slot)
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] + strip[1:]
        drop += ["unshare", "--user", "--map-current-user", "--keep-caps", "--"] + strip
    else:
        # Here root of the outer user namespace set up; INNER_UID of a
        # nested one runs the command.
        drop = ["unshare", "--user", f"--map-user={INNER_UID}", f"--map-group={INNER_UID}", "--keep-caps", "--"] + strip
    command = drop + ["env", "-i", "-C", box.cwd] + [f"{k}={v}" for k, v in env.items()] + argv
    setup = " &&\n".join(lines)
    # PID 1 stays ours, non-dumpable, and exits with the command's status.
    return (
        f"PATH=/usr/sbin:/usr/bin:/sbin:/bin\n{{ {setup}; }} || {{ echo {_q(SETUP_FAILED)} >&2; exit 125; }}\n"
        + "exec python3 -I -S -c "
        + _q(INIT)
        + " "
        + " ".join(_q(part) for part in command)
        + "\n"
    )


# The sandbox's PID 1: made non-dumpable (nothing in the sandbox can trace
# it or change the status it reports), it starts the command, reaps every
# orphan, and exits with the command's status (128+N for signal N). When it
# exits, the kernel kills whatever is left in the namespace.
INIT = """
import ctypes, os, sys
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
child = os.fork()
if child == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
while True:
    try:
        pid, status = os.waitpid(-1, 0)
    except ChildProcessError:
        sys.exit(127)
    if pid == child:
        code = os.waitstatus_to_exitcode(status)
        sys.exit(code if code >= 0 else 128 - code)
"""


def sandbox_command(argv: list[str], box: Sandbox, limits: Limits, slot: int) -> list[str]:
    command = [
        "unshare",
        "--mount",
        "--pid",
        "--net",
        "--ipc",
        "--uts",
        "--fork",
        "--kill-child",
        "--propagation",
        "private",
    ]
    if not is_root():
        command += ["--map-root-user"]
    return command + ["--", "/bin/sh", "-c", _setup_script(argv, box, limits, slot)]


class Cgroup:
    """A cgroup of the grader's for one sandbox: memory and processes capped,
    and everything in it killed at the end. Root only; None elsewhere."""

    V2 = Path("/sys/fs/cgroup")
    V1 = {"memory": Path("/sys/fs/cgroup/memory"), "pids": Path("/sys/fs/cgroup/pids")}

    @staticmethod
    def kind() -> str | None:
        if not is_root():
            return None
        controllers = Cgroup.V2 / "cgroup.controllers"
        if controllers.is_file() and {"memory", "pids"} <= set(controllers.read_text().split()):
            return "cgroup v2"
        if all((p / "tasks").is_file() and os.access(p, os.W_OK) for p in Cgroup.V1.values()):
            return "cgroup v1"
        return None

    def __init__(self, limits: Limits):
        self.kind = Cgroup.kind()
        name = f"workbook-grade-{uuid.uuid4().hex[:12]}"
        self.paths: list[Path] = []
        if self.kind == "cgroup v2":
            parent = Cgroup.V2 / "workbook-grade"
            parent.mkdir(exist_ok=True)
            for level in (Cgroup.V2, parent):
                try:
                    (level / "cgroup.subtree_control").write_text("+memory +pids")
                except OSError:
                    pass
            place = parent / name
            place.mkdir()
            (place / "memory.max").write_text(str(limits.memory))
            try:
                (place / "memory.swap.max").write_text("0")
            except OSError:
                pass
            (place / "pids.max").write_text(str(limits.pids))
            self.paths = [place]
        elif self.kind == "cgroup v1":
            memory = Cgroup.V1["memory"] / name
            pids = Cgroup.V1["pids"] / name
            memory.mkdir()
            pids.mkdir()
            self.paths = [memory, pids]
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory))
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                try:
                    swap.write_text(str(limits.memory))
                except OSError:
                    pass
            (pids / "pids.max").write_text(str(limits.pids))

    def enter(self) -> None:
        """In the child, before exec: join every controller's group."""
        for place in self.paths:
            (place / "cgroup.procs").write_text(str(os.getpid()))

    def memory_exceeded(self) -> bool:
        """Whether the kernel killed something here for going past memory."""
        try:
            if self.kind == "cgroup v2":
                events = (self.paths[0] / "memory.events").read_text()
            elif self.kind == "cgroup v1":
                events = (self.paths[0] / "memory.oom_control").read_text()
            else:
                return False
        except OSError:
            return False
        counts = dict(line.split() for line in events.splitlines() if len(line.split()) == 2)
        return int(counts.get("oom_kill", "0")) > 0

    def kill_all(self) -> None:
        for _ in range(100):
            pids = set()
            for place in self.paths:
                try:
                    pids |= {int(p) for p in (place / "cgroup.procs").read_text().split()}
                except OSError:
                    pass
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        for place in self.paths:
            for _ in range(50):
                try:
                    place.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _own_processes() -> int:
    count = 0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                count += proc.stat().st_uid == os.getuid()
            except OSError:
                pass
    return count


def run(argv: list[str], box: Sandbox, limits: Limits, slot: int = 0) -> Result:
    """Runs `argv` in a sandbox and waits for it, at most `limits.wall`
    seconds. Its stdout and stderr are kept to their last 64 KiB."""
    command = sandbox_command(argv, box, limits, slot)
    cgroup = Cgroup(limits) if is_root() else None
    use_cgroup = cgroup is not None and cgroup.kind is not None
    # RLIMIT_NPROC counts every process of the uid: the dedicated uid has
    # none but the sandbox's; the grader's own uid has ours too.
    nproc = limits.pids if is_root() else _own_processes() + limits.pids

    def before_exec() -> None:
        if use_cgroup:
            cgroup.enter()
        else:
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu, limits.cpu))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
        # Hard limit 1: tests may ask for 1 (no dump, even to a pipe), not more.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 1))

    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                preexec_fn=before_exec,
                start_new_session=True,
            )
        except OSError as error:
            if use_cgroup:
                cgroup.kill_all()
            raise Unavailable(f"unshare: {error}") from None
        timed_out = False
        try:
            process.wait(timeout=limits.wall)
        except subprocess.TimeoutExpired:
            timed_out = True
            # unshare's own process: with it goes the sandbox's PID 1
            # (--kill-child), and with that every process in it.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            memory_exceeded = use_cgroup and cgroup.memory_exceeded()
            if use_cgroup:
                cgroup.kill_all()
        if process.returncode == 125 and SETUP_FAILED in _tail(err):
            raise Unavailable(f"{SETUP_FAILED}: {_tail(err).strip()[-500:]}")
        first = _head(err)
        if process.returncode != 0 and re.match(r"(setpriv|unshare|env|python3): ", first):
            # The sandbox's own tools failed before the command ran.
            raise Unavailable(f"the sandbox could not start the command: {first.strip()[:300]}")
        result = Result(
            returncode=None if timed_out else process.returncode,
            stdout=_tail(out),
            stderr=_tail(err),
            timed_out=timed_out,
            seconds=time.monotonic() - started,
            memory_exceeded=memory_exceeded,
        )
    return result


def _head(file) -> str:
    file.seek(0)
    return file.readline(1024).decode("utf-8", errors="replace")


def _tail(file) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - MAX_OUTPUT))
    return file.read().decode("utf-8", errors="replace")
