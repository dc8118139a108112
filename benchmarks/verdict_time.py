"""Time to verdict: ``loadgate gate --profile quick`` end to end, split into set-up (stack up), load
(the scenarios), grading (Prometheus settling + grade) and the rest (stack down, diagnosis, report).
The same run gives the client-side vs server-side P99 at 1000 concurrent users."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.core import Row, Sample
from harness.schemas import RunFolder, Timeline
from harness.schemas.timeline import ScenarioStats

ROOT = Path(__file__).resolve().parents[1]
RUN_ID = "bench-gate"


def _one(label: str, value: float, unit: str = "s") -> Sample:
    return Sample.of(label, unit, [value])


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def server_p99(access_log: Path, start: float, end: float) -> tuple[float, int]:
    """P99 of the service's own request latency (its JSON access log) for agent requests in [start, end)."""
    latencies = []
    for line in access_log.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if str(row.get("route", "")).startswith("/v1/agent/") and start <= row["ts"] < end:
            latencies.append(row["latency_ms"] / 1000)
    return nearest_rank(latencies, 0.99), len(latencies)


def split(folder: RunFolder, began: float, ended: float) -> dict[str, float]:
    scenarios = Timeline.load_file(folder.timeline).scenarios
    first = min(s.start for s in scenarios)
    last = max(s.end or s.start for s in scenarios)
    graded = (folder.root / "verdict.json").stat().st_mtime
    return {
        "set-up": first - began,
        "load": last - first,
        "grading": graded - last,
        "report": ended - graded,
        "total": ended - began,
    }


def run(quick: bool = False) -> list[Row]:
    if quick:
        return []  # the quick profile is the smallest gate there is: minutes, never a smoke run
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        loadgate = Path(sys.executable).with_name("loadgate")
        began = time.time()
        proc = subprocess.run(
            [
                str(loadgate),
                "gate",
                "--profile",
                "quick",
                "--reports-dir",
                tmp,
                "--run-id",
                RUN_ID,
                "--no-progress",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        ended = time.time()
        folder = RunFolder(Path(tmp) / RUN_ID)
        if proc.returncode not in (0, 1, 2):
            raise RuntimeError(f"loadgate gate exited {proc.returncode}: {proc.stderr[-2000:]}")
        parts = split(folder, began, ended)
        verdict = json.loads((folder.root / "verdict.json").read_text(encoding="utf-8"))
        failed = [i["id"] for i in verdict["items"] if i.get("status") in ("fail", "no-data")]
        outcome = verdict["outcome"] + (f" (fail/no-data: {', '.join(failed)})" if failed else "")
        stats = ScenarioStats.load_file(folder.root / "client" / "concurrency_1000" / "stats.json")
        hold = stats.phase("hold")
        srv, srv_n = server_p99(folder.root / "stack" / "service" / "access.log", hold.start, hold.end)
    text = ", ".join(f"{k} {v:.0f} s" for k, v in parts.items() if k != "total")
    rows = [
        Row(
            benchmark="time to verdict: loadgate gate --profile quick",
            size=f"verdict {outcome}",
            baseline=_one("wall time", parts["total"]),
            optimized=_one("of which load", parts["load"]),
            ratio=parts["load"] / parts["total"],
            ratio_text=f"load is {parts['load'] / parts['total']:.0%}; {text}",
            claim="-",
            holds=None,
            extra={k: round(v, 1) for k, v in parts.items()},
            note="Set-up = process start to first scenario (redis, prometheus, alertmanager, the service "
            "loading its model and index); grading includes waiting two scrapes after the last phase; "
            "report = stack teardown, diagnosis and the HTML report.",
        )
    ]
    client = hold.latency.p99
    rows.append(
        Row(
            benchmark="client vs server P99 at 1000 users",
            size=f"quick gate, hold phase, {hold.requests} requests",
            baseline=_one("server (access log)", srv),
            optimized=_one("client (intended start)", client),
            ratio=client / srv if srv else 0.0,
            ratio_text=f"client P99 {client / srv:.2f}x server P99" if srv else "-",
            claim="-",
            holds=None,
            extra={"server_samples": srv_n, "client_samples": hold.latency.count},
            note="The client side adds the network stack, queueing before the server's middleware starts"
            " its clock, and the load generator's own scheduling delay; the server side is the "
            "service's access-log latency.",
        )
    )
    return rows
