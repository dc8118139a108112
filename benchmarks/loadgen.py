"""The load generator's cost and fidelity against one trivial endpoint (``benchmarks.trivial``):

- CPU microseconds per request at one fixed rate: loadgate's open-model user (``scenarios/target_2x.py``:
  intended-start timing, request log, HdrHistogram phase statistics, Prometheus exporter) vs a bare
  Locust ``FastHttpUser``: the instrumentation's cost, budget < 10%.
- Flat out: CPU per request and requests per second of one process of each, and of ``wrk``.

CPU is read from /proc (psutil) every 0.2 s and requests from the server's own counter, over the
middle of each run, so start-up (imports) and shutdown are left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from benchmarks.core import Row, Sample, Variant, interleave
from harness.load.plan import LoadPlan, PhaseSpec
from harness.ports import LOOPBACK, free_port
from harness.process import ManagedProcess, uvicorn_argv

ROOT = Path(__file__).resolve().parents[1]
BARE = Path(__file__).with_name("locustfile_bare.py")
HARNESS = ROOT / "scenarios" / "target_2x.py"
FIXED_RPS = 300
BUDGET = 0.10


@dataclass
class Window:
    cpu_s: float
    requests: int
    seconds: float
    server_cpu_s: float

    @property
    def us_per_request(self) -> float:
        return self.cpu_s / max(self.requests, 1) * 1e6

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _tree_cpu(proc: psutil.Process) -> float:
    try:
        procs = [proc, *proc.children(recursive=True)]
        return sum(sum(p.cpu_times()[:2]) for p in procs)
    except psutil.NoSuchProcess:
        return 0.0


class Target:
    def __init__(self, workdir: Path) -> None:
        port = free_port()
        self.url = f"http://{LOOPBACK}:{port}"
        self.proc = ManagedProcess(
            "trivial",
            uvicorn_argv("benchmarks.trivial:app", port, "--no-access-log", "--backlog", "4096"),
            log_path=workdir / "trivial.log",
            cwd=ROOT,
        ).start()
        self.proc.wait_ready(lambda: self.count() >= 0, 30)
        self.ps = psutil.Process(self.proc.pid)

    def count(self) -> int:
        return int(httpx.get(f"{self.url}/count", timeout=2).text)


def _measure(popen: subprocess.Popen[bytes], target: Target, skip_s: float, window_s: float) -> Window:
    """CPU of the generator and requests at the server over [skip_s, skip_s + window_s] of its run."""
    gen = psutil.Process(popen.pid)
    time.sleep(skip_s)
    c0, s0, n0, t0 = _tree_cpu(gen), _tree_cpu(target.ps), target.count(), time.monotonic()
    time.sleep(window_s)
    c1, s1, n1, t1 = _tree_cpu(gen), _tree_cpu(target.ps), target.count(), time.monotonic()
    if popen.poll() is not None:
        raise RuntimeError(f"the generator exited early ({popen.returncode}): {popen.args}")
    return Window(c1 - c0, n1 - n0 - 2, t1 - t0, s1 - s0)  # minus our own two /count requests


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is None:
        popen.terminate()
    try:
        popen.wait(30)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()


def _locust(
    file: Path, target: Target, workdir: Path, extra: list[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(file),
        "--headless",
        "--host",
        target.url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        *extra,
    ]
    return subprocess.Popen(
        argv,
        cwd=workdir,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "locust.log", "ab"),
    )  # noqa: SIM115 - closed with the process


def harness_user(target: Target, workdir: Path, rate: float, skip_s: float, window_s: float) -> Window:
    plan = LoadPlan(
        scenario="target_2x",
        arrival="constant",
        stream_share=0.0,
        drain_s=1.0,
        api_key="bench",
        phases=[PhaseSpec(name="steady", duration_s=skip_s + window_s + 2, rate_rps=rate)],
    )
    plan_file = workdir / "plan.json"
    plan_file.write_text(plan.model_dump_json(), encoding="utf-8")
    popen = _locust(
        HARNESS,
        target,
        workdir,
        [
            "--loadgate-plan",
            str(plan_file),
            "--loadgate-out",
            str(workdir / "out"),
            "--loadgate-exporter",
            f"{LOOPBACK}:{free_port()}",
        ],
        {"LOADGATE_STOP": "false"},
    )
    try:
        return _measure(popen, target, skip_s + 1.0, window_s)  # the plan starts ~1 s after the users
    finally:
        _stop(popen)


def bare_user(target: Target, workdir: Path, rate: float | None, skip_s: float, window_s: float) -> Window:
    users = 30 if rate else 64
    popen = _locust(
        BARE,
        target,
        workdir,
        ["-u", str(users), "-r", str(users), "-t", f"{skip_s + window_s + 5:.0f}s"],
        {"BENCH_RATE_PER_USER": str(rate / users) if rate else "0"},
    )
    try:
        return _measure(popen, target, skip_s, window_s)
    finally:
        _stop(popen)


def wrk(target: Target, workdir: Path, skip_s: float, window_s: float) -> Window:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = \'{"input": "How do I rate limit structured logging?"}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Authorization"] = "Bearer bench"\n',
        encoding="utf-8",
    )
    popen = subprocess.Popen(
        [
            "wrk",
            "-t1",
            "-c64",
            f"-d{skip_s + window_s + 3:.0f}s",
            "-s",
            str(script),
            f"{target.url}/v1/agent/run",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return _measure(popen, target, skip_s, window_s)
    finally:
        _stop(popen)


def _sample(label: str, windows: list[Window], what: str) -> Sample:
    return Sample.of(
        label,
        "µs" if what == "cpu" else "req/s",
        [w.us_per_request if what == "cpu" else w.rps for w in windows],
    )


def run(quick: bool = False) -> list[Row]:
    skip_s, window_s, reps = (2.0, 3.0, 2) if quick else (3.0, 8.0, 3)
    rate = 100 if quick else FIXED_RPS
    with tempfile.TemporaryDirectory(prefix="bench-loadgen-") as tmp:
        work = Path(tmp)
        target = Target(work)
        try:
            fixed: dict[str, list[Window]] = {"harness": [], "bare": []}

            def once(kind: str) -> float:
                w = (harness_user if kind == "harness" else bare_user)(target, work, rate, skip_s, window_s)
                fixed[kind].append(w)
                return w.us_per_request

            interleave(
                [
                    Variant("bare FastHttpUser", lambda: once("bare")),
                    Variant("loadgate user", lambda: once("harness")),
                ],
                reps,
            )
            flat = {
                "loadgate user": harness_user(target, work, 5000, skip_s, window_s),
                "bare FastHttpUser": bare_user(target, work, None, skip_s, window_s),
                "wrk": wrk(target, work, skip_s, window_s),
            }
        finally:
            target.proc.stop()
    bare, harness = (
        _sample("bare FastHttpUser", fixed["bare"], "cpu"),
        _sample("loadgate user", fixed["harness"], "cpu"),
    )
    overhead = harness.median / bare.median - 1
    achieved = [w.rps for w in fixed["harness"]]
    rows = [
        Row(
            benchmark="instrumentation overhead (CPU per request)",
            size=f"{rate} req/s, one process, trivial endpoint",
            baseline=bare,
            optimized=harness,
            ratio=bare.median / harness.median,
            ratio_text=f"{overhead:+.0%} CPU per request",
            claim="< +10% (issue budget)",
            holds=overhead < BUDGET,
            extra={"harness_achieved_rps_median": round(sorted(achieved)[len(achieved) // 2], 1)},
            note="Same rate on both sides (the loadgate user's open-model arrivals vs paced bare users). "
            "Where it goes (py-spy, 10 s at 300 req/s, 2026-11-24): the HTTP request path costs about the"
            " same on both sides; the excess is the open-model machinery, a timer and a new greenlet"
            " per arrival, which keeps gevent's hub busy (hub ~29% of the loadgate user's samples vs ~9%"
            " for bare Locust), plus the arrival scheduler (~10%). The instrumentation proper (request"
            " rows, HdrHistograms, exporter) was ~5% of samples. Pacing arrivals from a fixed pool of"
            " greenlets would close most of the gap.",
        )
    ]
    w = flat["wrk"]
    for label in ("loadgate user", "bare FastHttpUser"):
        g = flat[label]
        rows.append(
            Row(
                benchmark=f"generator cost flat out: {label} vs wrk",
                size=f"one process, {window_s:g} s window",
                baseline=Sample.of(label, "µs", [g.us_per_request]),
                optimized=Sample.of("wrk", "µs", [w.us_per_request]),
                ratio=g.us_per_request / w.us_per_request,
                ratio_text=f"wrk {g.us_per_request / w.us_per_request:.0f}x cheaper",
                claim="-",
                holds=None,
                extra={
                    "rps": round(g.rps, 1),
                    "wrk_rps": round(w.rps, 1),
                    "server_cpu_share": round(g.server_cpu_s / g.seconds, 2),
                    "wrk_server_cpu_share": round(w.server_cpu_s / w.seconds, 2),
                },
                note=f"Highest rate of one {label} process: {g.rps:.0f} req/s (server busy "
                f"{g.server_cpu_s / g.seconds:.0%} of a core); wrk drove {w.rps:.0f} req/s with the Python "
                f"server at {w.server_cpu_s / w.seconds:.0%} of a core, so wrk's rate is the server's limit, "
                f"not wrk's.",
            )
        )
    return rows
