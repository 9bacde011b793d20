#!/usr/bin/env bash
# Installs, only when missing, the Debian packages the platform runs on natively.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
# uv comes from pip when it is missing (deploy/uv.sh); Debian's python3 has no pip until python3-pip
if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ] && ! python3 -m pip --version >/dev/null 2>&1; then
  need+=(python3-pip)
fi
# notifications' status-page test drives Debian's Chromium (Playwright without `playwright install`) and
# renders Chinese, which needs a CJK font
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# Debian's postgresql package starts its own cluster; ours is private, so stop theirs if it was started.
if command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -q online; then
  (command -v service >/dev/null && service postgresql stop >/dev/null 2>&1) || true
fi
