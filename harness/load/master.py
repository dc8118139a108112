"""The Locust processes of one scenario: a master and N workers on loopback, watched until the master
exits, with the progress line and the stop conditions read from the master's ``live.jsonl``."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import LoadError
from harness.load.fleet import FLEET_FILE, WORKER_NAME_ENV
from harness.load.guard import LoadSettings, hopeless
from harness.load.plan import LoadPlan
from harness.load.progress import Progress, progress_line
from harness.load.recorder import LIVE_FILE, STOP_FILE
from harness.ports import LOOPBACK, free_port
from harness.process import ManagedProcess
from harness.schemas import Endpoints
from harness.schemas.faults import TOKEN_ENV
from harness.schemas.files import write_atomic
from harness.schemas.timeline import ScenarioRun, ScenarioStatus, ScenarioStop, StopCause

# Polled while the scenario runs: a stop it returns ends the scenario (the stack's watchdog).
Abort = Callable[[], ScenarioStop | None]
START_GRACE_S = 90.0  # locust import + workers connecting, on a busy 2-core machine


def _locust(locustfile: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile), "--loglevel", "INFO", *extra]


def locust_processes(name: str, locustfile: Path, out: Path, endpoints: Endpoints,
                     workers: int, guard: LoadSettings) -> tuple[ManagedProcess, list[ManagedProcess]]:
    """The master (reading ``out/plan.json``, writing into ``out``) and its local workers, not yet
    started; the master also waits for ``guard.expect_workers`` on other hosts."""
    secrets = {"LOADGATE_API_KEY": endpoints.api_key, "LOADGATE_ADMIN_TOKEN": endpoints.admin_token or "",
               TOKEN_ENV: endpoints.proxy_token or ""}
    host, port = guard.bind()
    port = port or free_port()
    local_host = LOOPBACK if host in ("0.0.0.0", "::", "*") else host
    master_args = [
        "--headless", "--master", "--master-bind-host", host, "--master-bind-port", str(port),
        "--expect-workers", str(workers + guard.expect_workers),
        "--expect-workers-max-wait", str(math.ceil(guard.expect_workers_wait_s)),
        "--host", endpoints.target_url,
        "--loadgate-plan", str(out / "plan.json"), "--loadgate-out", str(out),
        "--csv", str(out / "locust"), "--only-summary",
    ]
    if endpoints.exporter_address:
        master_args += ["--loadgate-exporter", endpoints.exporter_address]
    master = ManagedProcess(f"locust master ({name})", _locust(locustfile, *master_args),
                            log_path=out / "locust-master.log", env=secrets)
    worker_procs = [
        ManagedProcess(f"locust worker {i} ({name})",
                       _locust(locustfile, "--worker", "--master-host", local_host,
                               "--master-port", str(port)),
                       log_path=out / f"locust-worker{i}.log", env={**secrets, WORKER_NAME_ENV: f"local{i}"})
        for i in range(workers)
    ]
    return master, worker_procs


class LiveTail:
    """The master's live.jsonl: the samples written since the last read, and all of them."""

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


def _outside_stop(abort: Abort | None, workers: list[ManagedProcess]) -> ScenarioStop | None:
    """A stop from outside the samples: the stack's watchdog, a dead load generator worker."""
    stop = abort() if abort else None
    if stop is not None:
        return stop
    for worker in workers:
        # Exit code 0 is a worker the master told to quit at the end of the plan.
        if worker.exit_code not in (None, 0):
            tail = worker.log_tail(5).replace("\n", " | ")
            return ScenarioStop(cause=StopCause.harness, at=time.time(),
                                reason=f"load generator {worker.name} exited with code "
                                       f"{worker.exit_code}; last lines: {tail}")
    return None


def _show_roll_call(out: Path, progress: Progress, name: str, guard: LoadSettings) -> None:
    """Before the load, while the master waits for workers on other hosts: how many have come."""
    path = out / FLEET_FILE
    if guard.expect_workers and path.exists():
        fleet = json.loads(path.read_text(encoding="utf-8"))
        progress.show(f"{name}: waiting for workers on {guard.master_bind}: {fleet['connected']} connected "
                      f"({guard.expect_workers} remote expected, up to {guard.expect_workers_wait_s:g} s)")


def _stop(live: LiveTail, run: ScenarioRun, stop: ScenarioStop, phase: str | None,
          said: str = "stopped") -> None:
    """End the scenario early; the run records why and in which phase, for the items to read."""
    run.status, run.reason = ScenarioStatus.aborted, f"{said}: {stop.reason}"
    run.stop = stop.model_copy(update={"at": time.time(), "phase": phase})
    # Not SIGTERM: Locust's handler does not run reliably; the master polls this file,
    # ends the plan, drains, and writes its results as at a normal end.
    write_atomic(live.path.parent / STOP_FILE, run.reason)


def _watch(
    master: ManagedProcess,
    live: LiveTail,
    plan: LoadPlan,
    run: ScenarioRun,
    progress: Progress,
    guard: LoadSettings,
    outside: Callable[[], ScenarioStop | None],
) -> None:
    """Until the master exits: progress line, stop conditions, and a hard deadline."""
    wait = guard.expect_workers_wait_s if guard.expect_workers else 0.0
    deadline = time.monotonic() + START_GRACE_S + wait + plan.total_s + plan.drain_s
    phase: str | None = None  # the phase of the latest live sample
    while master.alive():
        if not live.samples:
            _show_roll_call(live.path.parent, progress, run.name, guard)
        stop = outside()
        if stop is not None and run.status == ScenarioStatus.running:
            _stop(live, run, stop, phase)
        for sample in live.read():
            phase = sample.get("phase")
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
                hopeless_stop = ScenarioStop(cause=StopCause.service, reason=reason, at=sample["t"])
                _stop(live, run, hopeless_stop, phase, said="stopped early")
        if time.monotonic() > deadline:
            master.stop(grace_s=10)
            raise LoadError(
                f"the Locust master did not finish within {deadline:.0f} s; log: {master.log_path}"
            )
        time.sleep(0.5)
    live.read()


def drive(name: str, locustfile: Path, out: Path, endpoints: Endpoints, workers: int, plan: LoadPlan,
          run: ScenarioRun, progress: bool | None, guard: LoadSettings,
          abort: Abort | None, after: Callable[[], None] | None = None) -> tuple[ManagedProcess, LiveTail]:
    """Run the master and its workers until the master exits; every process is stopped on the way out,
    then ``after`` runs, whatever ended the run."""
    master, worker_procs = locust_processes(name, locustfile, out, endpoints, workers, guard)
    shown = Progress(progress)
    live = LiveTail(out / LIVE_FILE)
    try:
        master.start()
        for w in worker_procs:
            w.start()
        _watch(master, live, plan, run, shown, guard, lambda: _outside_stop(abort, worker_procs))
    finally:
        shown.close()
        for proc in (master, *worker_procs):
            proc.stop(grace_s=5)
        if after is not None:
            after()
    return master, live
