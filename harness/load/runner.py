"""``run_scenario``: one scenario, headless, as a Locust master and N worker subprocesses.

The harness never imports Locust: the master (``locust -f scenarios/<file>.py --master``) owns the
plan, the faults, the recorder and the exporter; workers only send requests. Workers on other hosts
run the same command the runner uses here, pointed at this master::

    locust -f scenarios/target_2x.py --worker --master-host MASTER --master-port PORT

(same code, same ``harness`` installed, clocks synchronised by NTP), and the master is started with
``--expect-workers`` counting them. This module reads the master's ``live.jsonl`` for the progress
line and the stop conditions, and its ``stats.json``/``generator.json`` at the end, and writes the
scenario into ``timeline.json``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from harness.errors import LoadError
from harness.load.faults import FaultDriver, save_upstream_calls
from harness.load.guard import LoadSettings, hopeless, invalid_reasons, rate_floor, stop_limits
from harness.load.idle import target_in_flight
from harness.load.plan import LoadPlan, build_plan, resolve, with_trace
from harness.load.progress import Progress, progress_line
from harness.load.recorder import LIVE_FILE, RESULT_FILE, STOP_FILE

# These two live in harness.stack but are process plumbing, not stack policy (see the report).
from harness.ports import LOOPBACK, free_port
from harness.process import ManagedProcess
from harness.schemas import Checklist, Endpoints, RunFolder, ScenarioPlan
from harness.schemas.faults import TOKEN_ENV
from harness.schemas.files import write_atomic
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStats, ScenarioStatus, Timeline
from harness.target.client import TargetClient

Abort = Callable[[], str | None]
START_GRACE_S = 90.0  # locust import + workers connecting, on a busy 2-core machine


def _save(folder: RunFolder, run: ScenarioRun) -> None:
    timeline = (
        Timeline.load_file(folder.timeline) if folder.timeline.exists() else Timeline(run_id=folder.run_id)
    )
    timeline.upsert(run)
    timeline.save_file(folder.timeline)


def _fail(folder: RunFolder, run: ScenarioRun, reason: str) -> LoadError:
    run.status, run.reason, run.end = ScenarioStatus.failed, reason, time.time()
    _save(folder, run)
    return LoadError(f"scenario {run.name}: {reason}")


def _check_reachable(url: str) -> None:
    try:
        httpx.get(url, timeout=5.0)
    except httpx.HTTPError as exc:
        raise LoadError(f"target {url} is not reachable ({type(exc).__name__}: {exc})") from None


def _locust(locustfile: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile), "--loglevel", "INFO", *extra]


class _Live:
    """Tails the master's live.jsonl."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.samples = path, 0, []

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        new = [json.loads(line) for line in complete.splitlines() if line.strip()]
        self.samples.extend(new)
        return new


def _outside_stop(abort: Abort | None, workers: list[ManagedProcess]) -> str | None:
    """A reason from outside the samples to end the scenario: the stack's watchdog, a dead worker."""
    reason = abort() if abort else None
    if reason:
        return f"stopped: {reason}"
    for worker in workers:
        # Exit code 0 is a worker the master told to quit at the end of the plan.
        if worker.exit_code not in (None, 0):
            tail = worker.log_tail(5).replace("\n", " | ")
            return (f"stopped: load generator {worker.name} exited with code {worker.exit_code}; "
                    f"last lines: {tail}")
    return None


def _stop(live: _Live, run: ScenarioRun, reason: str) -> None:
    run.status, run.reason = ScenarioStatus.aborted, reason
    # Not SIGTERM: Locust's handler does not run reliably; the master polls this file,
    # ends the plan, drains, and writes its results as at a normal end.
    write_atomic(live.path.parent / STOP_FILE, reason)


def _watch(
    master: ManagedProcess,
    live: _Live,
    plan: LoadPlan,
    run: ScenarioRun,
    progress: Progress,
    guard: LoadSettings,
    outside: Callable[[], str | None],
) -> None:
    """Until the master exits: progress line, stop conditions, and a hard deadline."""
    deadline = time.monotonic() + START_GRACE_S + plan.total_s + plan.drain_s
    while master.alive():
        reason = outside()
        if reason and run.status == ScenarioStatus.running:
            _stop(live, run, reason)
        for sample in live.read():
            progress.show(progress_line(run.name, sample))
            t0 = sample["t"] - sample["elapsed"]
            phase_start = next(
                (
                    a
                    for s, a, _ in plan.model_copy(update={"t0": t0}).phase_bounds()
                    if s.name == sample.get("phase")
                ),
                None,
            )
            reason = hopeless(sample, plan.stop_limits, phase_start, guard)
            if reason and run.status == ScenarioStatus.running:
                _stop(live, run, reason)
        if time.monotonic() > deadline:
            master.stop(grace_s=10)
            raise LoadError(
                f"the Locust master did not finish within {deadline:.0f} s; log: {master.log_path}"
            )
        time.sleep(0.5)
    live.read()


def _phases(result: dict[str, Any]) -> list[Phase]:
    return [
        Phase(name=p["name"], start=p["start"], end=p["end"], params=p["params"]) for p in result["phases"]
    ]


def run_scenario(
    name: str,
    *,
    checklist: Checklist,
    profile: str,
    endpoints: Endpoints,
    run_folder: RunFolder | Path,
    workers: int = 1,
    progress: bool | None = None,
    plan: ScenarioPlan | None = None,
    trace: Path | None = None,
    abort: Abort | None = None,
    seed: int | None = None,
) -> ScenarioRun:
    """Run one scenario (or, with ``plan`` and any name, an open-model rate step) and record it.

    Writes timeline.json (upserted; also on failure), client/<name>/{stats.json, requests.csv,
    locust_*.csv, live.jsonl, generator.json, logs}. Raises LoadError when it could not run.
    ``abort`` is polled about twice a second: a reason it returns ends the scenario (aborted) within
    a drain, as a load generator worker that exits does. ``seed``: the run's (run.json), from which
    the arrivals and the requests' random choices are drawn; None draws fresh ones.
    """
    folder = run_folder if isinstance(run_folder, RunFolder) else RunFolder(Path(run_folder))
    folder.ensure()
    run = ScenarioRun(name=name, status=ScenarioStatus.running, start=time.time())
    guard = LoadSettings()
    try:
        locustfile, build, scenario_plan = resolve(name, plan, lambda: checklist.plan(profile, name))
        if trace is not None:
            scenario_plan = with_trace(name, scenario_plan, trace)
    except LoadError as exc:
        raise _fail(folder, run, str(exc)) from None
    load_plan = build_plan(
        name,
        scenario_plan,
        checklist.target_qps,
        build,
        late_ms=guard.late_ms,
        drain_s=guard.drain_s,
        connections=guard.connections,
        admin_token=None,
        admin_faults_path=endpoints.service.admin.faults_path if endpoints.service.admin else None,
        llm_proxy_url=endpoints.llm_proxy_url,
        redis_proxy_url=endpoints.redis_proxy_url,
        fault_lease_s=guard.fault_lease_s,
        stop_window_s=guard.stop_window_s,
        stop_limits=stop_limits(checklist, profile, name),
        service=endpoints.service,
        seed=seed,
    )
    run.params = {
        "profile": profile,
        "workers": workers,
        "locustfile": str(locustfile),
        "plan": load_plan.model_dump(mode="json", exclude={"api_key", "admin_token", "t0", "service"}),
    }
    run.phases = [
        Phase(name=s.name, start=a, end=b, params=s.params()) for s, a, b in load_plan.phase_bounds()
    ]
    _save(folder, run)
    driver = FaultDriver.of(load_plan.model_copy(update={
        "admin_token": endpoints.admin_token, "proxy_token": endpoints.proxy_token}), endpoints.target_url)
    try:
        fault_urls = driver.destinations([p.fault for p in load_plan.phases if p.fault])
    except LoadError as exc:
        raise _fail(folder, run, str(exc)) from None
    try:
        _check_reachable(TargetClient.of(endpoints).reachable_url())
    except LoadError as exc:
        raise _fail(folder, run, str(exc)) from None

    out = folder.client_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (LIVE_FILE, RESULT_FILE, STOP_FILE, ScenarioStats.FILE_NAME):
        (out / stale).unlink(missing_ok=True)
    plan_path = out / "plan.json"
    write_atomic(plan_path, load_plan.model_dump_json(indent=2))
    secrets = {"LOADGATE_API_KEY": endpoints.api_key, "LOADGATE_ADMIN_TOKEN": endpoints.admin_token or "",
               TOKEN_ENV: endpoints.proxy_token or ""}
    port = free_port()
    master_args = [
        "--headless",
        "--master",
        "--master-bind-host",
        LOOPBACK,
        "--master-bind-port",
        str(port),
        "--expect-workers",
        str(workers),
        "--host",
        endpoints.target_url,
        "--loadgate-plan",
        str(plan_path),
        "--loadgate-out",
        str(out),
        "--csv",
        str(out / "locust"),
        "--only-summary",
    ]
    if endpoints.exporter_address:
        master_args += ["--loadgate-exporter", endpoints.exporter_address]
    master = ManagedProcess(
        f"locust master ({name})",
        _locust(locustfile, *master_args),
        log_path=out / "locust-master.log",
        env=secrets,
    )
    worker_procs = [
        ManagedProcess(
            f"locust worker {i} ({name})",
            _locust(locustfile, "--worker", "--master-host", LOOPBACK, "--master-port", str(port)),
            log_path=out / f"locust-worker{i}.log",
            env=secrets,
        )
        for i in range(workers)
    ]
    shown = Progress(progress)
    live = _Live(out / LIVE_FILE)
    try:
        master.start()
        for w in worker_procs:
            w.start()
        _watch(master, live, load_plan, run, shown, guard, lambda: _outside_stop(abort, worker_procs))
    except LoadError as exc:
        raise _fail(folder, run, str(exc)) from None
    finally:
        shown.close()
        for proc in (master, *worker_procs):
            proc.stop(grace_s=5)
        # After the master is gone (it could renew a lease after us), whatever ended the run:
        # Locust's own quitting hook is not reliable under SIGTERM.
        if fault_urls:
            run.params["fault_cleared"] = FaultDriver.summary(driver.clear(fault_urls))
    save_upstream_calls(endpoints, run.start, out)

    result_path = out / RESULT_FILE
    if not result_path.exists():
        raise _fail(
            folder,
            run,
            f"the Locust master ended without results (exit code {master.exit_code}); "
            f"log {master.log_path}:\n" + master.log_tail(),
        )
    result = json.loads(result_path.read_text(encoding="utf-8"))
    stats = ScenarioStats.load_file(out / ScenarioStats.FILE_NAME)
    run.phases = _phases(result)
    run.end = result["ended"]
    run.params.update(
        {k: result[k] for k in ("requests", "errors", "dropped", "in_flight_at_end", "fault_events")}
    )
    run.params["target_in_flight_at_end"] = target_in_flight(TargetClient.of(endpoints))
    run.params["max_users"] = max((p.max_users for p in stats.phases), default=0)
    run.invalid_reasons = invalid_reasons(live.samples, stats, guard, load_plan.arrival == "poisson")
    if result["requests"] == 0:
        raise _fail(
            folder,
            run,
            "zero requests completed: check the target URL, the API key and the service "
            f"log (generator log: {master.log_path})",
        )
    statuses: dict[str, int] = {}
    for p in stats.phases:
        for code, n in p.status_counts.items():
            statuses[code] = statuses.get(code, 0) + n
    if set(statuses) <= {"401", "403"}:  # all-5xx is the service's verdict to grade, not ours to fail
        raise _fail(folder, run, f"every request was rejected (HTTP statuses {statuses}): check the API key")
    short = [
        f"{p.phase} {p.achieved_rps:.1f}/{p.target_rps:.1f} req/s"
        for p in stats.phases
        if p.target_rps
        and p.achieved_rps
        < rate_floor(p.target_rps, p.end - p.start, guard.issued_min, load_plan.arrival == "poisson")
    ]
    if run.status == ScenarioStatus.running:
        run.status = ScenarioStatus.completed
        if short:
            run.reason = "completed below the promised rate: " + ", ".join(short)
    _save(folder, run)
    return run
