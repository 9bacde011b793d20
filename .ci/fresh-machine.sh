#!/usr/bin/env bash
# A fresh machine without uv, simulated: a throwaway HOME, a PATH without uv, and a `python3` whose pip
# installs uv into the interpreter's own bin/ (off PATH). `make python-deps token` must pass the first time:
# python-deps installs uv and syncs the workspace, then `token` runs through uv. Nothing is downloaded but
# the uv wheel (pip) and packages missing from uv's cache; Python itself never (UV_PYTHON_DOWNLOADS=never).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d /tmp/aftersales-fresh.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
base_python="$(python3 -c 'import sys; print(sys.executable)')"
caches_pip="$(python3 -m pip cache dir 2>/dev/null || echo "$HOME/.cache/pip")"
caches_uv="$( (command -v uv >/dev/null && uv cache dir) 2>/dev/null || echo "$HOME/.cache/uv")"

"$base_python" -m venv "$tmp/python"          # an interpreter with pip and without uv
mkdir -p "$tmp/bin" "$tmp/home"
printf '#!/bin/sh\nexec %s "$@"\n' "$tmp/python/bin/python3" > "$tmp/bin/python3"
chmod +x "$tmp/bin/python3"
fresh_path="$tmp/bin:/usr/local/bin:/usr/bin:/bin"

# the machine's network settings (proxy, CA bundle, package index) carry over; nothing else does
network_env=()
while IFS= read -r name; do network_env+=("$name=${!name}"); done < <(compgen -e | grep -E \
  '^(https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|all_proxy|ALL_PROXY|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|PIP_(CERT|INDEX_URL|EXTRA_INDEX_URL|TRUSTED_HOST|DEFAULT_TIMEOUT)|UV_(INDEX|INDEX_URL|DEFAULT_INDEX|EXTRA_INDEX_URL|NATIVE_TLS|HTTP_TIMEOUT))$' || true)

run_fresh() {
  env -i "${network_env[@]}" HOME="$tmp/home" PATH="$fresh_path" LANG=C.UTF-8 TERM=dumb \
    PIP_CACHE_DIR="$caches_pip" UV_CACHE_DIR="$caches_uv" \
    UV_PROJECT_ENVIRONMENT="$tmp/project-venv" AFTERSALES_STATE_DIR="$tmp/state" \
    "$@"
}

if run_fresh bash -c 'command -v uv || python3 -c "import uv"' >/dev/null 2>&1; then
  echo "fresh-machine check: uv is reachable without installing it (on $fresh_path?); cannot simulate" >&2
  exit 1
fi
echo "fresh machine: no uv on PATH=$fresh_path, HOME=$tmp/home; running make python-deps token"
start=$SECONDS
run_fresh make -C "$root" --no-print-directory python-deps token ROLE=admin SUB=fresh-machine > "$tmp/token.txt"
token="$(tail -n 1 "$tmp/token.txt")"
[[ "$token" == *.*.* ]] || { echo "make token printed no JWT: $(cat "$tmp/token.txt")" >&2; exit 1; }
[ -x "$tmp/python/bin/uv" ] || { echo "uv was expected in the interpreter's own bin/" >&2; exit 1; }
if run_fresh bash -c 'command -v uv' >/dev/null 2>&1; then
  echo "uv ended up on PATH: the check did not exercise the off-PATH install" >&2; exit 1
fi
echo "fresh machine: ok in $((SECONDS - start))s (pip put uv in $tmp/python/bin, off PATH; make found it)"
