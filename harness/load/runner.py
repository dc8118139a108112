"""``run_scenario``: one scenario, headless, as a Locust master and N worker subprocesses.

The harness never imports Locust: the master (``locust -f scenarios/<file>.py --master``) owns the
plan, the faults, the recorder and the exporter; workers send requests and their tallies. Workers on
other hosts run ``loadgate worker --master HOST:PORT`` (same loadgate revision, clocks synchronised
by NTP: the master refuses them otherwise), and the master, bound with ``--master-bind``, waits for
``--expect-workers`` of them. This module reads the master's ``live.jsonl`` for the progress
line and the stop conditions, and its ``stats.json``/``generator.json`` at the end, and writes the
scenario into ``timeline.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from harness.errors import ConfigError, LoadError
from harness.load.faults import FaultDriver, save_upstream_calls
from harness.load.fleet import FLEET_FILE, REFUSED_FILE
from harness.load.guard import LoadSettings, invalid_reasons, rate_floor, stop_limits
from harness.load.idle import target_in_flight
from harness.load.master import Abort, LiveTail, drive
from harness.load.plan import LoadPlan, build_plan, resolve, with_trace
from harness.load.recorder import LIVE_FILE, RESULT_FILE, STOP_FILE
from harness.process import ManagedProcess
from harness.schemas import Checklist, Endpoints, RunFolder, ScenarioPlan
from harness.schemas.files import write_atomic
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStats, ScenarioStatus, Timeline
from harness.target.client import TargetClient


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
    settings: LoadSettings | None = None,
) -> ScenarioRun:
    """Run one scenario (or, with ``plan`` and any name, an open-model rate step) and record it.

    Writes timeline.json (upserted; also on failure), client/<name>/{stats.json, requests.csv,
    locust_*.csv, live.jsonl, generator.json, logs}. Raises LoadError when it could not run.
    ``abort`` is polled about twice a second: a reason it returns ends the scenario (aborted) within
    a drain, as a load generator worker that exits does. ``seed``: the run's (run.json), from which
    the arrivals and the requests' random choices are drawn; None draws fresh ones. ``settings`` are
    the run's load settings (the pipeline passes them down); without them the ``LOADGATE_*``
    environment is read.
    """
    folder = run_folder if isinstance(run_folder, RunFolder) else RunFolder(Path(run_folder))
    folder.ensure()
    run = ScenarioRun(name=name, status=ScenarioStatus.running, start=time.time())
    guard = settings or LoadSettings()
    try:
        locustfile, load_plan = _plan(name, run, checklist, profile, plan, trace, guard, workers, endpoints,
                                      seed)
        _save(folder, run)
        clear_faults = _can_start(load_plan, endpoints, run)
        out = _fresh_client_dir(folder, name, load_plan)
        master, live = drive(name, locustfile, out, endpoints, workers, load_plan, run, progress, guard,
                             abort, after=clear_faults)
        save_upstream_calls(endpoints, run.start, out)
        _collect(run, out, master, live, load_plan, guard, endpoints)
    except LoadError as exc:
        raise _fail(folder, run, str(exc)) from None
    _save(folder, run)
    return run


def _plan(name: str, run: ScenarioRun, checklist: Checklist, profile: str, plan: ScenarioPlan | None,
          trace: Path | None, guard: LoadSettings, workers: int, endpoints: Endpoints,
          seed: int | None) -> tuple[Path, LoadPlan]:
    """The scenario's locustfile and its load plan; the run records the plan and its phases."""
    locustfile, build, scenario_plan = resolve(name, plan, lambda: checklist.plan(profile, name))
    if trace is not None:
        scenario_plan = with_trace(name, scenario_plan, trace)
    load_plan = build_plan(
        name, scenario_plan, checklist.target_qps, build, late_ms=guard.late_ms, drain_s=guard.drain_s,
        connections=guard.connections, admin_token=None,
        admin_faults_path=endpoints.service.admin.faults_path if endpoints.service.admin else None,
        llm_proxy_url=endpoints.llm_proxy_url, redis_proxy_url=endpoints.redis_proxy_url,
        fault_lease_s=guard.fault_lease_s, stop_window_s=guard.stop_window_s,
        stop_limits=stop_limits(checklist, profile, name), seed=seed, service=endpoints.service,
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
    return locustfile, load_plan


def _can_start(plan: LoadPlan, endpoints: Endpoints, run: ScenarioRun) -> Callable[[], None]:
    """Refuse a plan whose faults have nowhere to go or a target that does not answer; returns what
    clears the faults once the load generator is gone."""
    driver = FaultDriver.of(plan.model_copy(update={
        "admin_token": endpoints.admin_token, "proxy_token": endpoints.proxy_token}), endpoints.target_url)
    fault_urls = driver.destinations([p.fault for p in plan.phases if p.fault])
    _check_reachable(TargetClient.of(endpoints).reachable_url())

    def clear() -> None:
        # After the master is gone (it could renew a lease after us), whatever ended the run:
        # Locust's own quitting hook is not reliable under SIGTERM.
        if fault_urls:
            run.params["fault_cleared"] = FaultDriver.summary(driver.clear(fault_urls))

    return clear


def _fresh_client_dir(folder: RunFolder, name: str, plan: LoadPlan) -> Path:
    """client/<name>/ without an earlier attempt's results, holding the plan the master reads."""
    out = folder.client_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (LIVE_FILE, RESULT_FILE, STOP_FILE, ScenarioStats.FILE_NAME, REFUSED_FILE, FLEET_FILE):
        (out / stale).unlink(missing_ok=True)
    write_atomic(out / "plan.json", plan.model_dump_json(indent=2))
    return out


def _collect(run: ScenarioRun, out: Path, master: ManagedProcess, live: LiveTail, plan: LoadPlan,
             guard: LoadSettings, endpoints: Endpoints) -> None:
    """The master's results into the run: phases, counts, invalid reasons, and the final status."""
    result = _results(out, master, guard)
    stats = ScenarioStats.load_file(out / ScenarioStats.FILE_NAME)
    run.phases = _phases(result)
    run.end = result["ended"]
    run.params.update(
        {k: result[k] for k in ("requests", "errors", "dropped", "in_flight_at_end", "fault_events")}
    )
    run.params["target_in_flight_at_end"] = target_in_flight(TargetClient.of(endpoints))
    run.params["max_users"] = max((p.max_users for p in stats.phases), default=0)
    poisson = plan.arrival == "poisson"
    run.invalid_reasons = invalid_reasons(live.samples, stats, guard, poisson, result["in_flight_at_end"]) + [
        f"load generator worker '{name}' lost during the load ({why}): its share of the load is missing"
        for name, why in result.get("lost_workers", {}).items()]
    run.params["generator_workers"] = result.get("workers", [])
    if run.stop is not None and result.get("stopped_at"):
        run.stop.at = result["stopped_at"]  # the master's own moment: where the running phase ends
    if result["requests"] == 0:
        raise LoadError("zero requests completed: check the target URL, the API key and the service "
                        f"log (generator log: {master.log_path})")
    statuses: dict[str, int] = {}
    for p in stats.phases:
        for code, n in p.status_counts.items():
            statuses[code] = statuses.get(code, 0) + n
    if set(statuses) <= {"401", "403"}:  # all-5xx is the service's verdict to grade, not ours to fail
        raise LoadError(f"every request was rejected (HTTP statuses {statuses}): check the API key")
    short = [
        f"{p.phase} {p.achieved_rps:.1f}/{p.target_rps:.1f} req/s"
        for p in stats.phases
        if p.target_rps
        and p.achieved_rps < rate_floor(p.target_rps, p.end - p.start, guard.issued_min, poisson)
    ]
    if run.status == ScenarioStatus.running:
        run.status = ScenarioStatus.completed
        if short:
            run.reason = "completed below the promised rate: " + ", ".join(short)


def _results(out: Path, master: ManagedProcess, guard: LoadSettings) -> dict[str, Any]:
    path = out / RESULT_FILE
    refused = out / REFUSED_FILE
    if refused.exists():  # not a LoadError: a gate stops here, it does not go on to the next scenario
        raise ConfigError("the run was refused before the load: " + refused.read_text(encoding="utf-8"))
    if not path.exists() and guard.expect_workers and (out / FLEET_FILE).exists():
        fleet = json.loads((out / FLEET_FILE).read_text(encoding="utf-8"))
        raise LoadError(f"only {fleet['connected']} workers connected to the master on {guard.master_bind} "
                        f"within {guard.expect_workers_wait_s:g} s ({guard.expect_workers} remote expected); "
                        f"start them with `loadgate worker --master {guard.master_bind}`")
    if not path.exists():
        raise LoadError(f"the Locust master ended without results (exit code {master.exit_code}); "
                        f"log {master.log_path}:\n" + master.log_tail())
    return json.loads(path.read_text(encoding="utf-8"))
