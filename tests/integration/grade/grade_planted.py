"""Planted targets for grading tests: the five planted faults, how to start one, and the shipped
checklist cut down to the items a planted run can measure."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from harness.checklist import load_checklist
from harness.ports import free_port
from harness.process import ManagedProcess
from harness.schemas.checklist import Checklist, Profile, ScenarioPlan
from harness.schemas.run import Endpoints
from harness.stack.http import answers

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


def planted_checklist_file(path: Path, items: tuple[str, ...], *, target_qps: float,
                           phases: tuple[float, float]) -> Path:
    """The shipped checklist's ``items`` as a file for the real CLI: one profile, target_2x only, with
    constant arrivals (so a fault, not Poisson noise, decides a ratio) and phases of a few seconds."""
    shipped = load_checklist(REPO / "checklist.yaml")
    # stream_share 0: the planted service has no streaming route (a 404 there is an error now)
    plan = ScenarioPlan(warmup_s=phases[0], steady_s=phases[1], rate_x=2, arrival="constant", stream_share=0)
    checklist = shipped.model_copy(update={
        "target_qps": target_qps, "items": [i for i in shipped.items if i.id in items], "attestations": [],
        "default_profile": "quick", "profiles": {"quick": Profile(scenarios={"target_2x": plan})}})
    return write_checklist(path, checklist)


def write_checklist(path: Path, checklist: Checklist) -> Path:
    """A checklist as the file ``--checklist`` reads."""
    path.write_text(yaml.safe_dump(checklist.model_dump(mode="json", exclude_none=True), sort_keys=False))
    return path


def start_planted(name: str, args: list[str], workdir: Path) -> tuple[ManagedProcess, int]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.planted", "--port", str(port), *args]
    proc = ManagedProcess(f"planted-{name}", argv, log_path=workdir / f"{name}.log", cwd=REPO).start()
    proc.wait_ready(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 30)
    return proc, port


def wait_scraped_after(prom_url: str, t: float, jobs: int, timeout_s: float = 30) -> None:
    """Until every job has a scrape later than ``t``: a window's last rate() needs the one after it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        query = f"count(timestamp(up) > {t:.3f})"
        result = httpx.get(f"{prom_url}/api/v1/query", params={"query": query}).json()
        values = result["data"]["result"]
        if values and int(float(values[0]["value"][1])) >= jobs:
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus did not scrape all {jobs} planted services after {t} in {timeout_s} s")


def wait_scraped(prom_url: str, jobs: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = httpx.get(f"{prom_url}/api/v1/query", params={"query": "count(up == 1)"}).json()
        values = result["data"]["result"]
        if values and int(float(values[0]["value"][1])) >= jobs:
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus did not scrape all {jobs} planted services in {timeout_s} s")
