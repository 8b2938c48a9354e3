#!/usr/bin/env python3
"""The labs' self-check on another architecture, for scripts/test-arm64:
the parts of scripts/grade --self-check that depend on the architecture
(the skeletons score 0, the solutions full marks, every kept mistake of
that architecture less than full), with the build and the runs split
between the host and the VM.

  labarch.py rounds ARCH DIR [PACKAGES]
                               writes each round's lab.rs files, DIR/ROUND/LAB.rs
                               (rounds: skeletons, solutions, mistakes-1...),
                               DIR/rounds (their names, in order) and DIR/labs
                               (LAB<TAB>package<TAB>features, one a line);
                               only the labs whose packages match PACKAGES (a
                               regular expression, the whole name), if given
  labarch.py lay DIR ROUND LAYOUT TARGET
                               lays out the round's build (DIR/ROUND/build.json,
                               cargo's messages, its paths under TARGET's
                               /workbook-target) as scripts/grade runs them:
                               LAYOUT/ROUND/LAB/deps/grade, the grading tests,
                               and LAYOUT/ROUND/LAB/lab-LAB, the program, hard
                               links into TARGET; beside them, links to the
                               demos of DIR/workspace.json; a lab that did not
                               build gets DIR/ROUND/LAB.log with why
  labarch.py score ARCH DIR    reads the VM's logs, DIR/ROUND/LAB.log, and
                               prints a line per check in scripts/test-arm64's
                               outcome format: "pass 1", "fail WHAT", "skip WHAT"

The rest of the self-check (the sandbox, the attacks, the reports) does not
depend on the architecture, and runs on the host: scripts/grade
--self-check.

Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import labcheck  # noqa: E402
import lablib  # noqa: E402

# Where the VM (and the build root) see the target directory.
VM_TARGET = Path("/workbook-target")


def kept_mistakes(lab: lablib.Lab, arch: str) -> list[tuple[str, str]]:
    """The lab's kept mistakes on `arch`: (name, lab.rs) each."""
    return [(patch.name, lab.mistake_source(patch)) for patch in lab.mistakes(arch=arch)]


def rounds(arch: str, out: Path, only: str = "") -> None:
    chosen = [lab for lab in lablib.labs() if not only or re.fullmatch(only, lab.package)]
    out.mkdir(parents=True, exist_ok=True)
    plan: dict[str, dict[str, str]] = {}
    if chosen:
        plan["skeletons"] = {lab.name: lab.student_file().read_text() for lab in chosen}
        plan["solutions"] = {lab.name: (lab.path() / "src" / "solution.rs").read_text() for lab in chosen}
    # As scripts/grade --self-check does: the k-th mistake of every lab in
    # round k, so that a round is one build of every lab.
    kept = {lab.name: kept_mistakes(lab, arch) for lab in chosen}
    for k in range(max((len(mistakes) for mistakes in kept.values()), default=0)):
        plan[f"mistakes-{k + 1}"] = {name: source for name, m in kept.items() if k < len(m) for _, source in [m[k]]}
    for name, files in plan.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        for lab_name, source in files.items():
            (out / name / f"{lab_name}.rs").write_text(source)
    (out / "rounds").write_text("".join(f"{name}\n" for name in plan))
    (out / "labs").write_text("".join(f"{lab.name}\t{lab.package}\t{','.join(lab.features)}\n" for lab in chosen))


def messages(build_json: Path) -> list[dict]:
    """cargo's JSON messages (--message-format=json-render-diagnostics)."""
    return [json.loads(line) for line in build_json.read_text().splitlines() if line.startswith("{")]


def executables(build_json: Path) -> list[tuple[str, dict, bool, str]]:
    """The executables cargo built: (package, target, whether it is a
    test, path) each."""
    return [
        (lablib.package_name(m["package_id"]), m["target"], m["profile"]["test"], m["executable"])
        for m in messages(build_json)
        if m.get("reason") == "compiler-artifact" and m.get("executable")
    ]


def first_error(build_json: Path, package: str) -> str:
    """The first compiler error in `package`, as rustc rendered it."""
    for m in messages(build_json):
        ours = m.get("reason") == "compiler-message" and lablib.package_name(m["package_id"]) == package
        if ours and m["message"]["level"] == "error":
            return m["message"]["rendered"]
    return "no program or grading tests in cargo's messages"


def lay(out: Path, round_name: str, layout: Path, target: Path) -> None:
    def on_host(path: str) -> Path:
        return target / Path(path).relative_to(VM_TARGET)

    demos = [
        (t["name"], path)
        for package, t, test, path in executables(out / "workspace.json")
        if "bin" in t["kind"] and not test and not package.startswith("lab-")
    ]
    built = executables(out / round_name / "build.json")
    shutil.rmtree(layout / round_name, ignore_errors=True)
    for line in (out / "labs").read_text().splitlines():
        name, package, _ = line.split("\t")
        if not (out / round_name / f"{name}.rs").is_file():
            continue
        program = [path for p, t, test, path in built if p == package and not test and t["name"] == package]
        tests = [path for p, t, test, path in built if p == package and test and t["name"] == "grade"]
        if not program or not tests:
            why = first_error(out / round_name / "build.json", package)
            (out / round_name / f"{name}.log").write_text(f"{package} did not build in this round:\n{why}\n")
            continue
        place = layout / round_name / name
        (place / "deps").mkdir(parents=True)
        os.link(on_host(tests[0]), place / "deps" / "grade")
        os.link(on_host(program[0]), place / package)
        for demo, path in demos:
            (place / demo).symlink_to(path)


def score(arch: str, out: Path) -> None:
    labs = {lab.name: lab for lab in lablib.labs()}
    names = [line.split("\t")[0] for line in (out / "labs").read_text().splitlines()]
    kept = {name: [patch for patch, _ in kept_mistakes(labs[name], arch)] for name in names}
    for round_name in (out / "rounds").read_text().split():
        for name in names:
            lab = labs[name]
            if round_name.startswith("mistakes-"):
                k = int(round_name.removeprefix("mistakes-")) - 1
                if k >= len(kept[name]):
                    continue
                what = f"{name}/{kept[name][k]}"
            else:
                what = f"{name} ({round_name})"
            log = out / round_name / f"{name}.log"
            if not log.is_file():
                print(f"fail the {arch} self-check of {what}: not run (no {log.name}; see the console log)")
                continue
            passed, _failed = labcheck.read_results(log.read_text(errors="replace"))
            points = sum(p for test, p in lab.points.items() if test in passed)
            ok = {
                "skeletons": points == 0,
                "solutions": points == lab.max_points,
            }.get(round_name, points < lab.max_points)
            verdict = "pass 1" if ok else f"fail the {arch} self-check of {what}:"
            wanted = {"skeletons": "0", "solutions": "full marks"}.get(round_name, "less than full")
            print(f"{verdict}" + ("" if ok else f" {points}/{lab.max_points}, {wanted} expected"))
            sys.stderr.write(f"{'ok  ' if ok else 'FAIL'} {arch} {what}: {points}/{lab.max_points}\n")


def main() -> int:
    if len(sys.argv) == 6 and sys.argv[1] == "lay":
        lay(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]))
        return 0
    usage = len(sys.argv) in (4, 5) and sys.argv[1] == "rounds" or len(sys.argv) == 4 and sys.argv[1] == "score"
    if not usage:
        sys.stderr.write(__doc__)
        return 2
    command, arch, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if arch not in lablib.ARCHITECTURES:
        sys.stderr.write(f"labarch.py: unknown architecture {arch!r} (known: {', '.join(lablib.ARCHITECTURES)})\n")
        return 2
    if command == "rounds":
        rounds(arch, out, *sys.argv[4:])
    else:
        score(arch, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
