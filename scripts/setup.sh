#!/usr/bin/env bash
# Installs everything loadgate needs, idempotently: Debian packages when their binaries are
# missing, a .venv with the CPU build of torch first (an unpinned torch pulls a multi-GB CUDA
# build), then the project. A stamp keyed on pyproject.toml makes a second run take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pair in redis-server:redis-server prometheus:prometheus promtool:prometheus \
            prometheus-alertmanager:prometheus-alertmanager chromium:chromium wrk:wrk; do
  bin=${pair%%:*}; pkg=${pair##*:}
  command -v "$bin" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "setup: apt-get install ${need_apt[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${need_apt[@]}" | sort -u) >/dev/null
  # Debian's packages start their own daemons on the default ports; loadgate runs its own copies.
  for svc in redis-server prometheus prometheus-alertmanager; do
    (service "$svc" stop || true) >/dev/null 2>&1
  done
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.loadgate-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi
