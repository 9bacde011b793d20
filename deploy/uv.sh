#!/usr/bin/env bash
# `make` runs uv through this script: it finds uv wherever it is, and installs it with pip first when it
# is nowhere (a fresh machine). uv is looked up at the moment of use, after any install, so the first
# `make test` works wherever pip puts the executable (on PATH, ~/.local/bin, or the interpreter's own
# bin/ which may be off PATH: then the uv package itself says where). Python itself is never downloaded.
set -euo pipefail
export UV_PYTHON_DOWNLOADS=never
UV_VERSION="${UV_VERSION:-0.9.9}"
PYTHON="${PYTHON:-python3}"

find_uv() {
  if command -v uv >/dev/null 2>&1; then UV_CMD=(uv); return 0; fi
  if [ -x "$HOME/.local/bin/uv" ]; then UV_CMD=("$HOME/.local/bin/uv"); return 0; fi
  # installed by pip somewhere off PATH (e.g. the interpreter's own bin/): ask the uv package where
  local bin
  if bin="$("$PYTHON" -c 'from uv import find_uv_bin; print(find_uv_bin())' 2>/dev/null)" && [ -x "$bin" ]; then
    UV_CMD=("$bin"); return 0
  fi
  return 1
}

if ! find_uv; then
  echo "uv not found: installing uv==$UV_VERSION with pip" >&2
  # a virtualenv or pyenv interpreter takes it directly; Debian's system Python (PEP 668) only per user
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" 2>/dev/null \
    || "$PYTHON" -m pip install --quiet --disable-pip-version-check --user --break-system-packages "uv==$UV_VERSION"
  if ! find_uv; then
    echo "uv was installed but cannot be found; put it on PATH or set UV=/path/to/uv" >&2
    exit 127
  fi
fi
exec "${UV_CMD[@]}" "$@"
