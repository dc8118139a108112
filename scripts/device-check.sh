#!/usr/bin/env bash
# The GPU device check (issue 21): under 6 minutes on one GPU, one table (benchmarks/gpu_check.py).
#
# Such a machine reaches no network and may carry its own torch and little else, so the check runs
# the service's `local` backend in child processes on that torch, with the few wheels it needs
# installed --no-index into a venv that sees the machine's own packages:
#   here:   bash scripts/device-wheels.sh          # fills .device-wheels/ (~61 MiB, git-ignored)
#   there:  bash scripts/device-check.sh           # with .device-wheels carried; results in $OUT
# Every stage appends its row to $OUT/gpu-check.jsonl as it ends, so a cut-short check keeps them.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-device-check-out}
mkdir -p "$OUT"
py=${PYTHON:-python3}
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "device-check: $py has no torch; set PYTHON to the interpreter that has the machine's torch" >&2
  exit 3
fi
[ -d .device-wheels/wheels ] || { echo "device-check: .device-wheels/ missing: run scripts/device-wheels.sh here first" >&2; exit 3; }
venv=${TMPDIR:-/tmp}/loadgate-gpu-venv
"$py" -m venv --system-site-packages "$venv"
# Our pins win over whatever the machine has (the backend needs transformers' `dtype=` keyword);
# torch and numpy stay the machine's own.
dists=$(ls .device-wheels/wheels | sed -E 's/^([A-Za-z0-9_.]+)-[0-9].*/\1/' | sort -u)
"$venv/bin/pip" install -q --no-index --no-deps --find-links .device-wheels/wheels $dists 2>&1 | tail -3
"$venv/bin/python" - <<'PY' | tee "$OUT/env.txt"
import sys, torch, transformers
print(f"python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}, "
      f"available {torch.cuda.is_available()}), transformers {transformers.__version__}")
PY
LOADGATE_TOKENIZER_DIR=$PWD/.device-wheels/tokenizer HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 \
TRANSFORMERS_VERBOSITY=error PYTHONPATH=$PWD timeout 345 "$venv/bin/python" -m benchmarks.gpu_check --out "$OUT"
