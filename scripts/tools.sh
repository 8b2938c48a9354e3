# The tools the workbook's scripts install, in one place: pinned versions,
# and how each is installed. Sourced by .ci/run and scripts/book (bash).
#   . scripts/tools.sh; need_mdbook; need_i18n; need_ruff; need_apt dot:graphviz
# Each installs only what is missing (cargo install --locked for Rust tools,
# pip in a venv of its own for ruff, apt-get as root for the rest).

MDBOOK_VERSION=0.5.4
# mdbook-gettext (the Russian edition) and mdbook-xgettext (its catalogue's
# source text); 0.4 is the release written for mdbook 0.5. A newer one may
# cut messages differently and make every translation fuzzy.
I18N_VERSION=0.4.0
RUFF_VERSION=0.8.6

export PATH="$HOME/.cargo/bin:$PATH"

# mdbook, exactly this version: book.toml and scripts/book's log check are
# written against it.
need_mdbook() {
  local want="mdbook v$MDBOOK_VERSION" have
  if [[ "$(mdbook --version 2>/dev/null || true)" != "$want" ]]; then
    echo "== installing $want"
    cargo install --locked mdbook --version "$MDBOOK_VERSION"
    have="$(mdbook --version 2>/dev/null || true)"
    [[ "$have" == "$want" ]] || { echo "tools: need $want on PATH, found '${have:-nothing}'" >&2; return 1; }
  fi
}

need_i18n() {
  local want="mdbook-i18n-helpers v$I18N_VERSION"
  if ! cargo install --list | grep -qx "$want:" || ! command -v mdbook-gettext >/dev/null; then
    echo "== installing $want"
    cargo install --locked mdbook-i18n-helpers --version "$I18N_VERSION"
  fi
}

# ruff from PyPI, in a venv of its own (Debian's python3 needs python3-venv
# for that), put first on PATH.
need_ruff() {
  local home="$HOME/.local/share/workbook-ruff-$RUFF_VERSION"
  if [[ ! -x "$home/bin/ruff" ]]; then
    echo "== installing ruff $RUFF_VERSION"
    if ! python3 -m venv "$home"; then
      rm -rf "$home"
      apt_install python3-venv
      python3 -m venv "$home"
    fi
    "$home/bin/pip" install -q "ruff==$RUFF_VERSION"
  fi
  export PATH="$home/bin:$PATH"
}

# need_apt COMMAND:PACKAGE...: the packages whose command is missing, with
# apt-get as root; as another user, the missing ones are only named.
need_apt() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  ((${#missing[@]})) || return 0
  if ((EUID == 0)); then
    apt_install "${missing[@]}"
  else
    echo "tools: missing, and not root to install them: ${missing[*]}" >&2
  fi
}

apt_install() {
  echo "== installing $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
