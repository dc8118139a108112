"""The reference service's capacity: the highest Poisson arrival rate meeting the checklist's SLO
(P99 and error rate, degraded answers counted as errors), per backend and uvicorn worker count,
found by ``harness.capacity.run_capacity`` in quick mode on a short time budget.

A search on a short budget may stop before its bracket is as narrow as the tolerance asks
(``converged`` false): the table shows the bracket [last pass, first fail] as the spread.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from benchmarks.core import Row, Sample
from harness.capacity import CapacitySettings, LoadDriver, Target, run_capacity
from harness.checklist import load_checklist
from harness.load import prompt_picker, run_scenario
from harness.schemas import Endpoints, RunFolder
from harness.schemas.capacity import SearchResult
from harness.stack.redis import start_redis
from harness.stack.service import start_service

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("simulated", "local")


def _sample(search: SearchResult) -> Sample:
    lo, hi = search.bracket_rps
    best = search.max_sustainable_rps or 0.0
    return Sample(
        label=search.name,
        unit="req/s",
        n=1,
        median=best,
        q1=best,
        q3=best,
        min=lo or 0.0,
        max=hi if hi is not None else best,
    )


def _search(backend: str, workers: int, workdir: Path, redis_url: str, budget_s: float) -> SearchResult:
    """One worker count on its own budget, from an empty response cache (a warm cache would favour
    whichever search runs second)."""
    redis.Redis.from_url(redis_url).flushall()
    key, admin = secrets.token_hex(8), secrets.token_hex(8)

    @contextmanager
    def targets(workers: int | None) -> Iterator[Target]:
        proc, url, log = start_service(
            workdir / f"{backend}-w{workers}",
            redis_url=redis_url,
            api_keys=[key],
            admin_token=admin,
            workers=workers or 1,
            backend=backend,
        )
        try:
            yield Target(
                Endpoints(
                    target_url=url,
                    prometheus_url="",
                    redis_url=redis_url,
                    api_key=key,
                    admin_token=admin,
                    access_log=log,
                    spawned_target=True,
                ),
                service_pid=proc.pid,
            )
        finally:
            proc.stop()

    checklist = load_checklist(ROOT / "checklist.yaml")
    settings = CapacitySettings(mode="quick", worker_counts=[workers], time_budget_s=budget_s, tolerance=0.2)
    folder = RunFolder(workdir / f"capacity-{backend}-w{workers}").ensure()
    result = run_capacity(
        settings, checklist=checklist, profile=checklist.default_profile, folder=folder, targets=targets,
        load=LoadDriver(run_scenario, prompt_picker),
    )
    return result.searches[0]


def run(quick: bool = False) -> list[Row]:
    budget = 30.0 if quick else 75.0
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        work = Path(tmp)
        server, url = start_redis(work / "redis")
        try:
            for backend in BACKENDS:
                one, two = (_search(backend, w, work, url, budget) for w in (1, 2))
                base, opt = _sample(one), _sample(two)
                ratio = opt.median / base.median if base.median else 0.0
                notes = "; ".join((one.notes + two.notes)[:3]) or "none"
                converged = "converged" if one.converged and two.converged else "not converged within budget"
                rows.append(
                    Row(
                        benchmark=f"capacity under the SLO: {backend} backend, 2 workers vs 1",
                        size=f"P99 < {load_checklist(ROOT / 'checklist.yaml').slo_p99_s:g} s, Zipf prompts, "
                        f"{budget:.0f} s per search",
                        baseline=base.model_copy(update={"label": "1 worker"}),
                        optimized=opt.model_copy(update={"label": "2 workers"}),
                        ratio=ratio,
                        ratio_text=f"{ratio:.2f}x",
                        claim="(no figure)",
                        holds=None,
                        extra={"w1_converged": one.converged, "w2_converged": two.converged},
                        note=f"Spread = bracket [last pass, first fail]; {converged}. Two workers share"
                        f" 2 cores with the load generator; notes: {notes}.",
                    )
                )
        finally:
            server.stop()
    return rows
