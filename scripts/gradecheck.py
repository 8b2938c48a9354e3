"""scripts/grade --self-check: the labs and the grader, checked.

1. The skeletons score 0.
2. The solutions score full marks.
3. Every kept mistake (mistakes/NAME.patch) scores less than full.
4. Each lab stands alone (its own package, chapter Exercise, appendix
   entry, at least 3 mistakes, hidden tests), no demo builds differently
   for a lab, and no function body of a reference solution is in the
   students' copy (or the grader's).
5. The attacks of scripts/grade-attacks/, and the odd submissions made
   here (symlinks, a FIFO, oversized and non-UTF-8 files, names with
   newlines, escapes and formulas), graded in one class next to two
   classmates with the solutions: every attack scores 0 on the lab it
   attacks (each compiles, unless `compiles = false`; every lab has its
   print-only `replay-<lab>`), the classmates keep full marks, the CSV and JSON are written
   with a status per submission, the report holds no control character,
   no process is left, and nothing outside the sandboxes changed.
6. A grading right after gives the solutions full marks again.
7. Gradescope: run_autograder on a laid-out /autograder tree writes a
   results.json in Gradescope's schema; --junit output is JUnit XML.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import giveaway
import gradereport
import grading
import lablib
import labtree
import sandbox
from lablib import ROOT

ATTACKS = ROOT / "scripts" / "grade-attacks"


class Check:
    def __init__(self):
        self.failures: list[str] = []

    def __call__(self, ok: bool, line: str) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {line}")
        if not ok:
            self.failures.append(line)


def write_submission(place: Path, files: dict[str, bytes | str]) -> Path:
    for lab_name, content in files.items():
        target = place / "crates" / "labs" / lab_name / "src" / "lab.rs"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    place.mkdir(parents=True, exist_ok=True)
    return place


def manifest(*tops: Path, skip: tuple[str, ...] = (), shallow: tuple[Path, ...] = ()) -> dict[str, str]:
    """Every file and folder under `tops` (and the entries right under each
    of `shallow`): its kind, mode, owner, size and contents' digest, to
    compare before and after. In the temporary folders (`shallow`), only
    entries of a sandbox's uid count."""
    seen = {}
    for top in shallow:
        # Others use these folders too: only what a sandbox's uid owns here
        # is the sandbox's doing.
        for entry in os.scandir(top) if top.is_dir() else []:
            info = entry.stat(follow_symlinks=False)
            if sandbox.FIRST_UID <= info.st_uid < sandbox.FIRST_UID + 4096:
                seen[entry.path] = f"{info.st_mode:o} {info.st_uid}"
    for top in tops:
        if not top.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                info = os.lstat(path)
                entry = f"{info.st_mode:o} {info.st_uid} {info.st_size} {info.st_ino} {info.st_mtime_ns}"
                if os.path.isfile(path) and not os.path.islink(path) and os.access(path, os.R_OK):
                    with open(path, "rb") as f:
                        entry += " " + hashlib.sha256(f.read()).hexdigest()
                seen[path] = entry
    return seen


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted({p for p in before.keys() | after.keys() if before.get(p) != after.get(p)})


def leftover_processes() -> list[str]:
    """Processes of the sandboxes' still alive: of a sandbox uid (root), or
    in a PID namespace other than ours (any grader)."""
    ours = os.readlink("/proc/self/ns/pid")
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            uid = proc.stat().st_uid
            pidns = os.readlink(proc / "ns" / "pid")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80]
        except OSError:
            continue
        sandboxed = sandbox.FIRST_UID <= uid < sandbox.FIRST_UID + 4096
        if sandboxed or (pidns != ours and uid == os.getuid()):
            left.append(f"{proc.name} uid {uid}: {cmdline}")
    return left


def odd_submissions(scratch: Path, labs: list[lablib.Lab]) -> list[tuple[str, Path, str, str]]:
    """Submissions whose shape is the attack: (name, place, lab, what)."""
    made = []
    lab = labs[0]
    solution = lab.path() / "src" / "solution.rs"
    src = lambda place: place / "crates" / "labs" / lab.name / "src"  # noqa: E731

    place = scratch / "odd-symlink-to-solution"
    src(place).mkdir(parents=True)
    (src(place) / "lab.rs").symlink_to(solution)
    made.append((place.name, place, lab.name, "lab.rs is a symlink to the instructor's solution.rs"))

    place = scratch / "odd-symlinked-folder"
    (place / "crates" / "labs").mkdir(parents=True)
    (place / "crates" / "labs" / lab.name).symlink_to(lab.path())
    made.append((place.name, place, lab.name, "the lab's folder is a symlink to the instructor's"))

    place = scratch / "odd-fifo"
    src(place).mkdir(parents=True)
    os.mkfifo(src(place) / "lab.rs")
    made.append((place.name, place, lab.name, "lab.rs is a FIFO (a reader would block)"))

    place = scratch / "odd-oversized"
    src(place).mkdir(parents=True)
    (src(place) / "lab.rs").write_text(solution.read_text() + "//" + "x" * (300 * 1024) + "\n")
    made.append((place.name, place, lab.name, "lab.rs is the solution padded past 256 KiB"))

    place = scratch / "odd-not-utf8"
    src(place).mkdir(parents=True)
    (src(place) / "lab.rs").write_bytes(solution.read_bytes() + b"// \xff\xfe\n")
    made.append((place.name, place, lab.name, "lab.rs is not UTF-8"))

    place = scratch / "odd-folder-for-file"
    (src(place) / "lab.rs").mkdir(parents=True)
    made.append((place.name, place, lab.name, "lab.rs is a folder"))

    place = scratch / "odd-link-to-classmate"
    place.symlink_to(scratch / "classmate-1")
    made.append((place.name, place, lab.name, "the submission is a symlink to a classmate's"))

    for name in ("eve\nalice: 84/84", '=HYPERLINK("http://x")', "\x1b[2J\x1b]0;pwned\x07mallory", "+1-1@x\u202e"):
        place = scratch / name
        write_submission(place, {lab.name: lab.student_file().read_text()})
        made.append((name, place, lab.name, f"a folder named {gradereport.shown(name)}"))
    return made


def self_check(cache: Path, settings: grading.Settings) -> int:
    check = Check()
    canary = f"workbook-canary-{os.urandom(8).hex()}"
    os.environ["CARGO_REGISTRY_TOKEN"] = canary
    # Build bombs cost their time: a short build limit keeps CI short.
    settings.build_time = min(settings.build_time, 60)
    workbook = grading.Workbook(cache, settings)
    print(workbook.sandbox_line)
    labs = workbook.labs
    with tempfile.TemporaryDirectory(prefix="workbook-self-check-") as scratch_name:
        scratch = Path(scratch_name)
        os.chmod(scratch, 0o755)
        solutions = {lab.name: (lab.path() / "src" / "solution.rs").read_text() for lab in labs}
        skeletons = {lab.name: lab.student_file(workbook.tree).read_text() for lab in labs}
        runs = [
            ("skeletons", write_submission(scratch / "skeletons", skeletons)),
            ("solutions", write_submission(scratch / "solutions", solutions)),
        ]
        kept: dict[str, list[tuple[Path, str]]] = {}
        for lab in labs:
            kept[lab.name] = []
            for patch in lab.mistakes():
                try:
                    kept[lab.name].append((patch, lab.mistake_source(patch)))
                except ValueError as error:
                    check(False, str(error))
        most = max((len(k) for k in kept.values()), default=0)
        mistake_runs = []
        for k in range(most):
            chosen = {name: mistakes[k] for name, mistakes in kept.items() if k < len(mistakes)}
            place = write_submission(scratch / f"mistakes-{k + 1}", {n: s for n, (_, s) in chosen.items()})
            runs.append((place.name, place))
            mistake_runs.append({n: p for n, (p, _) in chosen.items()})
        grades = workbook.grade_all(runs)

        print("== 1. the skeletons score 0")
        for result in grades[0].labs:
            check(result.points == 0, f"{result.lab.name}: {result.points}/{result.lab.max_points}")
        print("== 2. the solutions score full marks")
        for result in grades[1].labs:
            lost = {t.name: t.reason for t in result.tests if not t.passed}
            check(
                result.points == result.lab.max_points,
                f"{result.lab.name}: {result.points}/{result.lab.max_points} {lost or ''}".rstrip(),
            )
        print("== 3. every kept mistake scores less than full")
        for grade, chosen in zip(grades[2:], mistake_runs, strict=False):
            for result in grade.labs:
                if result.lab.name in chosen:
                    caught = ", ".join(t.name for t in result.tests if not t.passed) or "nothing"
                    check(
                        result.points < result.lab.max_points,
                        f"{result.lab.name}/{chosen[result.lab.name].name}: {result.points}/{result.lab.max_points} (caught by {caught})",
                    )
        print("== 4. each lab stands alone, and the students' copy gives no solution away")
        for lab in labs:
            stands_alone(check, workbook, lab)
        seams = lab_seams()
        check(not seams, f"no demo builds differently for a lab{': ' + ', '.join(seams[:8]) if seams else ''}")
        nothing_given_away(check, scratch, workbook)

        print("== 5. attacks, in a class with two classmates")
        attacks = []
        leaks: dict[str, list[str]] = {}
        compiling: dict[str, bool] = {}
        for folder in sorted(p for p in ATTACKS.iterdir() if (p / "attack.toml").is_file()) if ATTACKS.is_dir() else []:
            meta = tomllib.loads((folder / "attack.toml").read_text())
            attacks.append((folder.name, folder, meta["lab"], meta["what"]))
            compiling[folder.name] = meta.get("compiles", True)
            leaks[folder.name] = [text.replace("CANARY", canary) for text in meta.get("leaks", [])]
        # A secret in the grader's environment, and in a rustc record as an
        # older recorder would have kept it: no build may see it.
        for record in workbook.records.values():
            record["env"]["CARGO_REGISTRY_TOKEN"] = canary
        if not attacks:
            check(False, f"no attacks in {ATTACKS.relative_to(ROOT)}")
        classmates = [(f"classmate-{i}", write_submission(scratch / f"classmate-{i}", solutions)) for i in (1, 2)]
        attacks += odd_submissions(scratch, labs)
        watched = [
            workbook.tree,
            workbook.run_dir,
            workbook.records_dir,
            workbook.target / "debug" / "deps",
            ROOT / "crates",
            ROOT / "scripts",
            ROOT / "book" / "src",
        ]
        watched += [workbook.target / "debug" / name for name in workbook.demos]
        temporary = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
        skip = (str(scratch), str(workbook.work))
        before = manifest(*watched, skip=skip, shallow=temporary)
        klass = [(name, place) for name, place, _, _ in attacks] + classmates
        grades = workbook.grade_all(klass)
        for (name, _, lab_name, what), grade in zip(attacks, grades, strict=False):
            result = next(r for r in grade.labs if r.lab.name == lab_name)
            why = f" ({result.status}: {gradereport.shown(result.detail)})" if result.status != "graded" else ""
            check(
                grade.score == 0,
                f"{gradereport.shown(name)}: {grade.score}/{grade.max_score} on {lab_name}{why}: {what}",
            )
            if compiling.get(name) and result.status != "graded":
                # An attack that no longer compiles tries nothing: port it to the lab's API.
                check(
                    False,
                    f"{name} compiles against {lab_name}'s lab.rs API: {result.status}: {gradereport.shown(result.detail)}",
                )
        replays = {lab_name for name, _, lab_name, _ in attacks if name == f"replay-{lab_name}"}
        for lab in labs:
            check(
                lab.name in replays,
                f"{lab.name} has its print-only submission, scripts/grade-attacks/replay-{lab.name}",
            )
        for (name, _, _, _), grade in zip(attacks, grades, strict=False):
            if leaks.get(name):
                said = json.dumps(gradereport.as_json(grade))
                found = [text for text in leaks[name] if text in said or gradereport.shown(text) in said]
                check(not found, f"{name} leaks nothing into its report{': ' + ', '.join(found) if found else ''}")
        for grade in grades[len(attacks) :]:
            check(grade.score == grade.max_score, f"{grade.name} keeps full marks: {grade.score}/{grade.max_score}")
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown):
            gradereport.class_summary(grades)
            for grade in grades:
                gradereport.report(grade)
        text = shown.getvalue()
        check(
            not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text),
            "the reports hold no control character or bidi override",
        )
        check(
            all(any(line.startswith(gradereport.shown(name) + ":") for line in text.splitlines()) for name, _ in klass),
            "every submission has its one summary line",
        )
        out = scratch / "out"
        out.mkdir()
        gradereport.write_csv(out / "class.csv", grades)
        gradereport.write_json(out / "class.json", grades, one=False)
        gradereport.write_junit(out / "class.xml", grades)
        rows = list(csv.reader((out / "class.csv").open()))
        check(
            len(rows) == len(klass) + 1 and rows[0][:2] == ["name", "status"],
            f"the CSV has a header and {len(klass)} rows with a status column",
        )
        check(not any(row[0][:1] in "=+-@" for row in rows[1:]), "no CSV name cell starts a formula")
        check(len(json.loads((out / "class.json").read_text())) == len(klass), "the JSON has every submission")
        check(junit_is_valid(out / "class.xml"), "the JUnit XML is JUnit XML")
        left = leftover_processes()
        check(not left, f"no process is left{': ' + '; '.join(left) if left else ''}")
        after = manifest(*watched, skip=skip, shallow=temporary)
        changed = changes(before, after)
        check(not changed, f"nothing outside the sandboxes changed{': ' + ', '.join(changed[:10]) if changed else ''}")
        workbook.close()

        print("== 6. a grading right after")
        again = grading.Workbook(cache, settings)
        grade = again.grade_all([("solutions", scratch / "solutions")])[0]
        check(grade.score == grade.max_score, f"the solutions: {grade.score}/{grade.max_score}")
        again.close()

        print("== 7. Gradescope")
        gradescope_check(check, cache, scratch, solutions)

    if check.failures:
        print(f"self-check: {len(check.failures)} problem(s):")
        for failure in check.failures:
            print(f"  {failure}")
        return 1
    print("self-check: ok")
    return 0


MIN_MISTAKES = 3


def stands_alone(check: Check, workbook: grading.Workbook, lab: lablib.Lab) -> None:
    """A lab is a package of its own, with its chapter's Exercise, its
    solution in the appendix, its kept mistakes and hidden tests, and
    grading tests that never compile a lab.rs."""
    said = []
    tests = (lab.path() / "tests" / "grade.rs").read_text()
    if re.search(r"#\[path\s*=\s*\"[^\"]*src/(lab|solution)\.rs\"\]|include!\([^)]*src/lab\.rs", tests):
        said.append("its grading tests compile a lab.rs")
    chapter = ROOT / "book" / "src" / f"{lab.chapter}.md"
    if not chapter.is_file():
        said.append(f"no chapter book/src/{lab.chapter}.md")
    elif "## Exercise" not in chapter.read_text():
        said.append(f"book/src/{lab.chapter}.md has no Exercise section")
    if f"crates/labs/{lab.name}/src/solution.rs" not in (ROOT / "book" / "src" / "solutions.md").read_text():
        said.append("the Solutions appendix does not include its solution")
    if len(lab.mistakes()) < MIN_MISTAKES:
        said.append(f"{len(lab.mistakes())} kept mistakes, fewer than {MIN_MISTAKES}")
    hidden = lab.hidden_tests(workbook.tree)
    if not lab.hidden or not hidden.is_file() or hidden.read_text() == labtree.HIDDEN_STUB:
        said.append("no hidden tests (tests/hidden.rs and a [hidden] table in lab.toml)")
    if (lab.path() / "build.rs").exists():
        said.append("it has a build.rs (a lab compiles its own sources, no cfg)")
    check(not said, f"{lab.name}: {'; '.join(said) or 'its own package, with its chapter, mistakes and hidden tests'}")


def lab_seams() -> list[str]:
    """Lines of the demos that build differently for a lab."""
    found = []
    for source in sorted((ROOT / "crates").glob("*/src/**/*.rs")):
        for number, line in enumerate(source.read_text().splitlines(), 1):
            if re.search(r"cfg!?\((not\()?lab\)", line):
                found.append(f"{source.relative_to(ROOT)}:{number}")
    return found


def nothing_given_away(check: Check, scratch: Path, workbook: grading.Workbook) -> None:
    """No function body of a reference solution in the students' copy, nor
    in the grader's (whose hidden tests students never see, but which a
    solution must not hide in either)."""
    students = scratch / "students-copy"
    labtree.export_tree(students)
    bodies = giveaway.solution_bodies(ROOT, workbook.labs)
    check(bool(bodies), f"{len(bodies)} function bodies of the reference solutions to look for")
    for name, tree in (("the students' copy", students), ("the grader's copy", workbook.tree)):
        found = giveaway.given_away(tree, bodies)
        check(not found, f"{name} holds no solution's function body{': ' + '; '.join(found[:8]) if found else ''}")
    stub = all(
        lab.hidden_tests(students).read_text() == labtree.HIDDEN_STUB
        for lab in lablib.labs(students)
        if lab.hidden_tests(students).exists()
    )
    check(
        stub and not any(lab.hidden for lab in lablib.labs(students)),
        "the students' copy has no hidden tests, and no points for them",
    )


def junit_is_valid(path: Path) -> bool:
    """Valid against scripts/junit.xsd (by xmllint), the shape JUnit XML
    readers (Jenkins, GitLab, GitHub's reporters) take, and with counts
    that add up."""
    schema = ROOT / "scripts" / "junit.xsd"
    try:
        done = subprocess.run(
            ["xmllint", "--noout", "--schema", str(schema), str(path)], capture_output=True, text=True
        )
    except FileNotFoundError:
        print("     xmllint is missing (apt install libxml2-utils): the JUnit XML can't be validated")
        return False
    if done.returncode != 0:
        print("     " + done.stderr.strip()[-500:])
        return False
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return False
    if root.tag != "testsuites":
        return False
    total = 0
    for suite in root:
        if suite.tag != "testsuite" or not suite.get("name"):
            return False
        cases = suite.findall("testcase")
        failures = [c for c in cases if c.find("failure") is not None]
        if int(suite.get("tests", -1)) != len(cases) or int(suite.get("failures", -1)) != len(failures):
            return False
        for case in cases:
            if not case.get("name") or not case.get("classname") or len(case.findall("failure")) > 1:
                return False
            if any(f.get("message") is None for f in case.findall("failure")):
                return False
        total += len(cases)
    return int(root.get("tests", -1)) == total


def gradescope_check(check: Check, cache: Path, scratch: Path, solutions: dict[str, str]) -> None:
    """Gradescope's layout, in a folder: source/ (the autograder zip,
    unpacked), submission/ (what the student uploaded: two labs, flat),
    results/; run_autograder with AUTOGRADER_ROOT pointing there."""
    import zipfile

    import gradebundle

    root = scratch / "autograder"
    zipped = scratch / "autograder.zip"
    gradebundle.bundle(zipped)
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):
        check((root / "source" / name).is_file(), f"the bundle has {name}")
    os.chmod(root / "source" / "run_autograder", 0o755)
    (root / "source" / "scripts").chmod(0o755)
    for script in (root / "source" / "scripts").iterdir():
        if script.is_file() and not script.suffix:
            script.chmod(0o755)
    submission = root / "submission"
    submission.mkdir()
    names = sorted(solutions)[:2]
    for name in names:
        (submission / f"{name}.rs").write_text(solutions[name])
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), WORKBOOK_GRADE_CACHE=str(cache))
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True)
    results = root / "results" / "results.json"
    check(
        done.returncode == 0 and results.is_file(),
        f"run_autograder wrote results/results.json{'' if done.returncode == 0 else ': ' + done.stderr.strip()[-300:]}",
    )
    if not results.is_file():
        return
    data = json.loads(results.read_text())
    tests = data.get("tests", [])
    shape = all(
        {"name", "score", "max_score", "status", "output"} <= t.keys() and t["status"] in ("passed", "failed")
        for t in tests
    )
    check(shape and isinstance(data.get("score"), int) and tests, "results.json has Gradescope's fields")
    full = [t for t in tests if t["name"].split(":")[0] in names]
    check(
        all(t["status"] == "passed" for t in full) and data["score"] == sum(t["max_score"] for t in full),
        f"the two labs uploaded score full marks ({data.get('score')})",
    )
