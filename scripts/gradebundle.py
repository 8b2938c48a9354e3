"""scripts/grade bundle gradescope FILE.zip: the autograder zip for
Gradescope. It holds the students' copy of the workbook (no solutions: the
grader needs none), and at its top Gradescope's two files:

- setup.sh, run once when Gradescope builds the autograder's image (as
  root, with network): the packages the labs and the sandbox need, Rust,
  and the grader's trusted build, so that grading starts warm;
- run_autograder, run for each submission: scripts/grade --gradescope,
  which reads /autograder/submission and writes
  /autograder/results/results.json.
"""

from __future__ import annotations

import stat
import sys
import tempfile
import zipfile
from pathlib import Path

import labtree

SETUP = r"""#!/usr/bin/env bash
# Gradescope's image set-up (as root, with network): what the labs and the
# grader's sandbox need, Rust, and the trusted build of the workbook.
set -euo pipefail
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  build-essential ca-certificates curl git iproute2 libseccomp2 mount util-linux gdb strace
# scripts/grade needs Python 3.11 or later (tomllib).
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11
fi
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "$0")"
"$(command -v python3.11 || command -v python3)" scripts/grade --prepare
"""

RUN = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission: the student's files are in
# $AUTOGRADER_ROOT/submission (/autograder by default), the results go to
# $AUTOGRADER_ROOT/results/results.json.
set -uo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$(dirname "$(readlink -f "$0")")"
[[ -d scripts ]] || cd "$root/source"
python="$(command -v python3.11 || command -v python3)"
cache=()
[[ -n "${WORKBOOK_GRADE_CACHE:-}" ]] && cache=(--cache "$WORKBOOK_GRADE_CACHE")
"$python" scripts/grade --gradescope "$root" "${cache[@]}" 2>"$root/grader-errors.txt"
status=$?
cat "$root/grader-errors.txt" >&2
if [[ $status -eq 2 || ! -s "$root/results/results.json" ]]; then
  # The grader itself failed: Gradescope still gets results, saying why.
  mkdir -p "$root/results"
  "$python" - "$root" <<'PY'
import json, sys
root = sys.argv[1]
errors = open(f"{root}/grader-errors.txt", errors="replace").read()[-2000:]
json.dump({"score": 0, "output": "The grader could not run; tell your instructor.\n" + errors,
           "tests": []}, open(f"{root}/results/results.json", "w"), ensure_ascii=True)
PY
fi
exit 0
"""


def bundle(destination: Path) -> int:
    """Writes the zip; returns how many files it holds."""
    with tempfile.TemporaryDirectory(prefix="workbook-bundle-") as scratch:
        tree = Path(scratch) / "source"
        labtree.export_tree(tree, keep_hidden=True)  # the grader's: Gradescope runs the hidden tests too
        count = 0
        with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (("setup.sh", SETUP), ("run_autograder", RUN)):
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFREG | 0o755) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text)
                count += 1
            for path in sorted(tree.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    info = zipfile.ZipInfo.from_file(path, str(path.relative_to(tree)))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
                    count += 1
    return count


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "gradescope":
        print("usage: scripts/grade bundle gradescope FILE.zip", file=sys.stderr)
        return 2
    destination = Path(argv[1])
    count = bundle(destination)
    print(
        f"{destination}: the Gradescope autograder ({count} files). Upload it as the assignment's autograder;"
        " Gradescope runs setup.sh once, then run_autograder for each submission."
    )
    return 0
