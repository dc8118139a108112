"""``python -m benchmarks [--only NAME ...] [--quick]``: run, then write results.json and RESULTS.md."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import psutil
from pydantic import BaseModel

from benchmarks import BENCHMARKS
from benchmarks.core import Row
from benchmarks.table import markdown

HERE = Path(__file__).resolve().parent


class Results(BaseModel):
    started: float
    ended: float
    quick: bool
    machine: dict[str, str | int | float]
    elapsed_s: dict[str, float]
    failures: dict[str, str]
    rows: list[Row]


def _machine() -> dict[str, str | int | float]:
    return {
        "cores": os.cpu_count() or 0,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
    }


def _header(res: Results) -> str:
    m = res.machine
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(res.started))
    took = res.ended - res.started
    return (
        f"Measured {when} on {m['cores']} cores ({m['platform']}, Python {m['python']}), "
        f"load average {m['load_avg_1m_at_start']} at start (the machine is shared), "
        f"{'quick sizes, ' if res.quick else ''}{took / 60:.1f} min in all. "
        f"Reproduce: `make bench` (`python -m benchmarks`). Ratio > 1 means the optimized side is better; "
        f"spreads are interquartile ranges (n >= 4) or min–max."
    )


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHMARKS), help="run just this one (repeatable)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke run, not the published table"
    )
    parser.add_argument("--out", type=Path, default=HERE, help="where results.json and RESULTS.md go")
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    started = time.time()
    load0 = _machine()
    rows: list[Row] = []
    elapsed: dict[str, float] = {}
    failures: dict[str, str] = {}
    for name in names:
        t0 = time.monotonic()
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
        try:
            found = importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the others' figures
            failures[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            found = []
        elapsed[name] = round(time.monotonic() - t0, 1)
        for row in found:
            print(f"    {row.benchmark} [{row.size}]: {row.ratio_text}", file=sys.stderr, flush=True)
        rows += [r.model_copy(update={"source": name}) for r in found]
    res = Results(
        started=started,
        ended=time.time(),
        quick=args.quick,
        machine=load0,
        elapsed_s=elapsed,
        failures=failures,
        rows=rows,
    )
    if args.only:  # keep the other benchmarks' rows from the last full run
        res = _merge(args.out / "results.json", res)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(res.model_dump_json(indent=2) + "\n", encoding="utf-8")
    text = markdown(res.rows, _header(res))
    if res.failures:
        text += "\nFailed: " + "; ".join(f"{k}: {v}" for k, v in res.failures.items()) + "\n"
    (args.out / "RESULTS.md").write_text(text, encoding="utf-8")
    print(text)
    return 1 if failures else 0


def _merge(path: Path, new: Results) -> Results:
    if not path.exists():
        return new
    old = Results.model_validate_json(path.read_text(encoding="utf-8"))
    kept = [r for r in old.rows if r.source not in new.elapsed_s]
    order = list(BENCHMARKS)
    rows = sorted(kept + new.rows, key=lambda r: order.index(r.source) if r.source in order else len(order))
    failures = {k: v for k, v in old.failures.items() if k not in new.elapsed_s} | new.failures
    return new.model_copy(
        update={"rows": rows, "elapsed_s": {**old.elapsed_s, **new.elapsed_s}, "failures": failures}
    )


if __name__ == "__main__":
    sys.exit(main())
