"""Which of cargo's variables a lab's rustc command keeps: what the
compiler and `env!` need to build the program, and nothing else of the
grader's environment (no token, no path of the grader's own), since a
student's code can read every variable its build sees (`option_env!`).
Shared by scripts/grade-rustc-record and scripts/grading.py."""

KEPT = (
    "CARGO",
    "OUT_DIR",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_RUSTC_CURRENT_DIR",
)


def kept(name: str) -> bool:
    return name in KEPT or (name.startswith("CARGO_PKG_") and name.isupper())
