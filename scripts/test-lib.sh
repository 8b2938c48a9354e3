# shellcheck shell=bash
# What scripts/test and scripts/test-arm64 (on the host, and inside its arm64
# VM) share: finding the `#[ignore = "needs X"]` tests, telling whether what
# they need is here, and adding up libtest's result lines. Sourced (bash);
# run from the workspace's top directory.

# --- Find the ignored tests -------------------------------------------------
# One line per test: package<TAB>target<TAB>name<TAB>reason, where target is
# "--test T" for crates/C/tests/T.rs and "--lib" for a unit test in src/.
# The attribute and its `fn` may have other attributes (#[test]) between them.
find_ignored() {
  local manifest pkg dir file target
  for manifest in crates/*/Cargo.toml; do
    dir="${manifest%/Cargo.toml}"
    # The package's name, which is what `cargo test -p` wants.
    pkg="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)"
    while IFS= read -r file; do
      case "$file" in
        "$dir"/tests/*/*) continue ;; # a helper module of a test target, not a target
        "$dir"/tests/*.rs) target="--test $(basename "$file" .rs)" ;;
        "$dir"/src/main.rs | "$dir"/src/bin/*) target="--bins" ;;
        *) target="--lib" ;;
      esac
      awk -v pkg="$pkg" -v target="$target" '
        match($0, /#\[ignore *= *"[^"]*"\]/) {
          reason = substr($0, RSTART, RLENGTH)
          sub(/^#\[ignore *= *"/, "", reason); sub(/"\]$/, "", reason)
          next
        }
        /#\[ignore\]/ { reason = "(no reason given)"; next }
        reason != "" && match($0, /fn [A-Za-z0-9_]+/) {
          print pkg "\t" target "\t" substr($0, RSTART + 3, RLENGTH - 3) "\t" reason
          reason = ""
        }
      ' "$file"
    done < <(find "$dir/src" "$dir/tests" -name '*.rs' 2>/dev/null | sort)
  done
}

# The requirements of one reason, one a line: "needs root and mount" gives
# "root" and "mount". A reason not of the form "needs X" cannot be checked, so
# it yields one requirement that is never met (the test is reported skipped).
requirements() {
  local reason="$1"
  if [[ "$reason" != needs\ * ]]; then
    echo "?unknown"
    return
  fi
  sed -e 's/^needs //' -e 's/ and /\n/g' -e 's/, */\n/g' <<<"$reason" | sed '/^ *$/d'
}

# Is one requirement met here? "root" is EUID 0; "cc" is any C compiler named
# cc or gcc; anything else is a program that must be on PATH.
available() {
  case "$1" in
    root) ((EUID == 0)) ;;
    cc) command -v cc >/dev/null || command -v gcc >/dev/null ;;
    \?*) return 1 ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

# Adds up libtest's "test result: ok. 3 passed; 1 failed; ..." lines in a log.
count_results() {
  awk '/^test result:/ {
         for (i = 1; i <= NF; i++) {
           if ($(i + 1) ~ /^passed/) p += $i
           if ($(i + 1) ~ /^failed/) f += $i
         }
       }
       END { print p + 0, f + 0 }' "$1"
}

