"""Planted targets graded for real: five planted services (one fault each) scraped by one real
Prometheus, driven together by one bounded load loop, each written out as a run folder."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from grade_driver import Target, drive, write_request_log

from harness.checklist import load_checklist
from harness.schemas.checklist import Checklist, Profile, ScenarioPlan
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.stack.http import answers
from harness.stack.ports import free_port
from harness.stack.process import ManagedProcess
from harness.stack.prometheus import start_prometheus

REPO = Path(__file__).resolve().parents[3]
KEYS = ("planted-key", "planted-key-2")
# name -> (knobs, the one checklist item it must fail)
PLANTED = {
    "leaky": (["--leak-mb-per-s", "2"], "memory_stable"),
    "slow_tail": (["--slow-every", "50", "--slow-s", "4.2"], "p99_latency"),
    "erroring": (["--error-every", "200"], "error_rate"),
    "any_key": (["--any-key"], "api_auth"),
    "unlimited": (["--no-rate-limit"], "rate_limiting"),
}
RATE = 130.0  # per target: 2x a target_qps of 65
# 24 s at 130 req/s = 3120 requests: enough for zero errors to show < 0.1% at 95% (needs 2995).
PHASES = [("warmup", 4.0), ("steady", 24.0)]
GRADED_ITEMS = ("load_2x_target", "memory_stable", "p99_latency", "error_rate", "health_check", "key_metrics",
                "alert_rules", "api_auth", "rate_limiting")


@dataclass
class PlantedRun:
    name: str
    folder: Path
    endpoints: Endpoints
    expected_failure: str
    windows: dict[str, tuple[float, float]]


def planted_checklist() -> Checklist:
    """The shipped checklist's own items, with the quick profile's target_2x sized for the test."""
    checklist = load_checklist(REPO / "checklist.yaml")
    plan = ScenarioPlan(warmup_s=PHASES[0][1], steady_s=PHASES[1][1], rate_x=2)
    items = []
    for item in checklist.items:
        if item.id not in GRADED_ITEMS:
            continue
        if item.id == "memory_stable":
            item = item.model_copy(update={"params": {"min_points": 20}})
        items.append(item)
    return checklist.model_copy(update={
        "target_qps": RATE / 2, "items": items,
        "profiles": {"quick": Profile(scenarios={"target_2x": plan})}})


def start_planted(name: str, args: list[str], workdir: Path) -> tuple[ManagedProcess, int]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.planted", "--port", str(port), *args]
    proc = ManagedProcess(f"planted-{name}", argv, log_path=workdir / f"{name}.log", cwd=REPO).start()
    proc.wait_ready(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 30)
    return proc, port


def _wait_scraped(prom_url: str, jobs: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = httpx.get(f"{prom_url}/api/v1/query", params={"query": "count(up == 1)"}).json()
        values = result["data"]["result"]
        if values and int(float(values[0]["value"][1])) >= jobs:
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not scrape all {jobs} planted services in {timeout_s} s")


@pytest.fixture(scope="module")
def planted_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    workdir = tmp_path_factory.mktemp("planted")
    procs: list[ManagedProcess] = []
    try:
        ports = {}
        for name, (args, _) in PLANTED.items():
            proc, ports[name] = start_planted(name, args, workdir)
            procs.append(proc)
        prom, prom_url = start_prometheus(workdir / "prometheus",
                                          {name: f"127.0.0.1:{port}" for name, port in ports.items()})
        procs.append(prom)
        _wait_scraped(prom_url, len(PLANTED))
        yield prom_url, ports
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture(scope="module")
def planted_runs(planted_prometheus: tuple[str, dict[str, int]],
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, PlantedRun]:
    prom_url, ports = planted_prometheus
    targets = {name: Target(f"http://127.0.0.1:{port}", KEYS[0]) for name, port in ports.items()}
    windows = drive(list(targets.values()), RATE, PHASES)
    time.sleep(2.5)  # the scrape after the window's end must land before grading reads it
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for name, target in targets.items():
        folder = RunFolder(root / name).ensure()
        phases = [Phase(name=phase, start=start, end=end) for phase, start, end in windows]
        run = ScenarioRun(name="target_2x", status=ScenarioStatus.completed, start=phases[0].start,
                          end=phases[-1].end, phases=phases)
        Timeline(run_id=name, scenarios=[run]).save_file(folder.timeline)
        write_request_log(folder.request_log("target_2x"), target.rows)
        endpoints = Endpoints(target_url=target.url, prometheus_url=prom_url, api_key=KEYS[0],
                              api_key_2=KEYS[1])
        runs[name] = PlantedRun(name, folder.root, endpoints, PLANTED[name][1],
                                {phase: (start, end) for phase, start, end in windows})
    return runs
