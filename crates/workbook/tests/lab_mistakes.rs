//! The labs' kept mistakes (crates/labs/LAB/mistakes/NAME.patch, and
//! mistakes/ARCH/NAME.patch for one architecture's) are applied to the
//! solution by their context, not by line number: a comment added at the
//! top of a solution must not break them, and a patch whose lines are gone
//! must say so. Each architecture has at least 3. scripts/lablib.py applies
//! them; this drives it with python3.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs python3"]
fn mistakes_apply_by_context_and_survive_added_lines() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts");
    let check = r#"
import sys
sys.path.insert(0, sys.argv[1])
import lablib

applied = 0
for lab in lablib.labs():
    solution = (lab.path() / "src" / "solution.rs").read_text()
    for arch in lablib.ARCHITECTURES:
        kept = len(lab.mistakes(arch=arch))
        assert kept >= 3, f"{lab.name}: only {kept} kept mistakes on {arch}"
    for patch in lab.mistakes(arch="all"):
        diff = patch.read_text()
        here = lablib.apply_patch(solution, diff)
        assert here != solution, f"{patch}: changes nothing"
        above = "// a note\n// added above\n// the code\n"
        moved = lablib.apply_patch(above + solution, diff)
        assert moved == above + here, f"{patch}: not the same mistake 3 lines down"
        applied += 1

try:
    lablib.apply_patch("a\nb\n", "@@ -1,2 +1,2 @@\n a\n-gone\n+new\n")
except ValueError as error:
    assert "are not in the text" in str(error), error
else:
    raise AssertionError("a hunk whose lines are gone applied")
print(applied)
"#;
    let output = Command::new("python3")
        .args(["-c", check])
        .arg(&scripts)
        .output()
        .expect("running python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
