"""The one place that wires stack -> load -> grade -> report (and capacity).

Every step writes its result to the run folder, so ``report`` and ``check`` can be re-run from disk.
Library code: raises ``LoadgateError`` subclasses, prints nothing but progress through ``say``.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness import __version__
from harness.capacity import STEPS_DIR, CapacitySettings, LoadDriver, Target, run_capacity
from harness.checklist import checklist_sha256, load_checklist, load_service_file, parse_attestation
from harness.diagnostics.diagnose import write_diagnosis
from harness.diagnostics.overhead import measure_overhead
from harness.diagnostics.recorder import DiagnosticsRecorder, DiagnosticsSettings
from harness.errors import ConfigError, EndpointUnreachable, InternalError, LoadError, LoadgateError
from harness.grade import grade_run, grade_window, scrape_interval_s, validate_names
from harness.hosts import HostAllowlist
from harness.load import LoadSettings, check_trace, prompt_picker, run_scenario, serve_worker
from harness.report import render_compare, render_index, render_run, terminal_summary
from harness.runfolder import claim, index_locked
from harness.runinfo import git_commit, machine_info, new_run_id
from harness.schemas import Checklist, Endpoints, RunFolder, RunInfo, RunKind, Verdict
from harness.schemas.capacity import CapacityResult
from harness.schemas.files import write_atomic
from harness.schemas.service import ServiceProfile, preset_profile
from harness.schemas.timeline import Incident, ScenarioRun, ScenarioStatus, Timeline
from harness.stack import Stack, StackSettings, Watchdog, session
from harness.stack.prometheus import SCRAPE_INTERVAL_S
from harness.target.client import TargetClient
from harness.target.discover import detect

Say = Callable[[str], None]

# Where the service works hardest: py-spy samples its stacks often there, rarely elsewhere.
HEAVY_SCENARIOS = {"target_2x", "concurrency_1000", "spike"}
# Diagnostics pause in alternate blocks this long in the heavy scenarios: every gate measures what
# its own diagnostics add to the service's P99 (diagnostics/overhead.json, in the report).
AB_BLOCK_S = 5.0


class RunSettings(BaseModel):
    """What every command that runs load shares: the checklist, the profile, where outputs go."""

    model_config = ConfigDict(extra="forbid")

    checklist: Path = Path("checklist.yaml")
    profile: str | None = None
    reports_dir: Path = Path("reports")
    run_id: str | None = None
    force: bool = Field(False, description="replace an existing run folder of the same run id")
    load_workers: int = Field(1, ge=1, description="Locust worker processes")
    progress: bool | None = None
    trace: Path | None = Field(None, description="run: the trace trace_replay replays (CSV or JSONL)")
    stack: StackSettings = Field(default_factory=StackSettings)
    # The load generator's knobs and validity limits. The default reads the LOADGATE_* environment
    # (the documented fallback, harness.load.LoadSettings); a caller may set them instead.
    load: LoadSettings = Field(default_factory=LoadSettings)
    service_file: Path | None = None  # --service FILE: the service profile, over the checklist's
    seed: int | None = Field(None, ge=0, description="the load's random seed (default: new, in run.json)")

    @model_validator(mode="after")
    def _master_bind_allowed(self) -> RunSettings:
        """A master bound to a non-loopback address is an open port: allowed as a remote target is."""
        if self.load.master_bind:
            host, port = self.load.bind()
            url = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            HostAllowlist.parse(self.stack.allow_hosts).check(url, "--master-bind")
        return self


class GateSettings(RunSettings):
    scenarios: list[str] | None = None  # a subset of what the checklist needs
    baseline: Path | None = None
    attest: list[str] = Field(default_factory=list, description="ITEM=WHO[@WHEN] for manual items")


class CapacityRunSettings(RunSettings):
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)


def validate(path: Path, profile: str | None = None) -> tuple[Checklist, str]:
    """Every checklist mistake, before any process of the stack starts: shape, names, params, PromQL
    templates (promtool) and the profile. Returns the checklist and the profile to run."""
    checklist = load_checklist(path)
    validate_names(checklist)
    profile = profile or checklist.default_profile
    if profile not in checklist.profiles:
        raise ConfigError(f"unknown profile '{profile}'; the checklist has {sorted(checklist.profiles)}",
                          path=str(path), field="profile")
    return checklist, profile


@contextlib.contextmanager
def _open_run(settings: RunSettings, command: str,
              kind: RunKind = RunKind.gate) -> Iterator[tuple[Checklist, str, RunFolder, RunInfo]]:
    """Checklist checked, run folder claimed (new, locked), run.json written; the lock ends with the block."""
    checklist, profile = validate(settings.checklist, settings.profile)
    if kind == RunKind.capacity and settings.seed is not None:  # its steps draw fresh: say so, not ignore it
        raise ConfigError("capacity does not replay a seed: its steps draw fresh arrivals", field="seed")
    with claim(settings.reports_dir, settings.run_id or new_run_id(), force=settings.force) as folder:
        info = RunInfo(
            run_id=folder.run_id, command=command, kind=kind, profile=profile, started=time.time(),
            target_url=settings.stack.target_url or "(bundled service)",
            prometheus_url=settings.stack.prometheus_url or "(embedded)",
            git_commit=git_commit(), loadgate_version=__version__, checklist_path=str(settings.checklist),
            checklist_sha256=checklist_sha256(settings.checklist), machine=machine_info(),
            seed=None if kind == RunKind.capacity else settings.seed if settings.seed is not None
            else secrets.randbits(32),
        )
        info.service, info.service_source = _choose_service(settings, checklist)
        info.save_file(folder.run_info)
        with _crash_saved(folder):
            yield checklist, profile, folder, info


@contextlib.contextmanager
def _crash_saved(folder: RunFolder) -> Iterator[None]:
    """An exception nobody raised on purpose becomes InternalError, its traceback kept in the run folder."""
    try:
        yield
    except LoadgateError:
        raise
    except Exception as exc:
        write_atomic(folder.crash, traceback.format_exc())
        raise InternalError.saved(exc, str(folder.crash)) from exc


def _choose_service(settings: RunSettings, checklist: Checklist) -> tuple[ServiceProfile | None, str]:
    """The profile the run uses and where it came from: --service FILE, then the checklist's
    ``service:``; a target of the user's without either is detected (the bundled contract when
    no preset fits: its items then say what they looked for)."""
    if settings.service_file is not None:
        return load_service_file(settings.service_file), f"--service {settings.service_file}"
    if checklist.service_profile is not None:
        return checklist.service_profile, f"checklist {settings.checklist}"
    stack = settings.stack
    if stack.target_url is None:
        return preset_profile("bundled"), "bundled service"
    try:
        detection = detect(stack.target_url, metrics=stack.metrics_url, prometheus_url=stack.prometheus_url,
                           api_key=stack.api_key)
    except EndpointUnreachable as exc:  # the stack says so, once, when it checks the target itself
        return preset_profile("bundled"), f"default: bundled contract (detection could not read: {exc})"
    if detection.chosen is None:
        return preset_profile("bundled"), f"default: bundled contract (no preset fits {detection.source})"
    return detection.profile(), f"detected: {detection.chosen.preset} from {detection.source}"


def _render_index(folder: RunFolder) -> None:
    with index_locked(folder.root.parent):
        render_index(folder.root.parent)


def _stack_settings(settings: RunSettings, folder: RunFolder, info: RunInfo) -> StackSettings:
    return settings.stack.model_copy(update={"run_dir": folder.root, "service": info.service})


def _record_endpoints(stack: Stack, info: RunInfo, folder: RunFolder, say: Say) -> Endpoints:
    """The URLs the run really used (spawned ones are only known once the stack is up)."""
    endpoints = stack.endpoints
    info.target_url, info.prometheus_url = endpoints.target_url, endpoints.prometheus_url
    info.service_readiness = TargetClient.of(endpoints).readiness()
    info.save_file(folder.run_info)
    say(f"run {folder.run_id}: target {endpoints.target_url}  prometheus {endpoints.prometheus_url}")
    return endpoints


def _wait_for_last_scrape(until: float, endpoints: Endpoints) -> None:
    """Give Prometheus two scrapes past the last phase, so the graded windows are complete; a
    user's Prometheus is asked for the service job's real interval (15-30 s is common)."""
    interval = scrape_interval_s(endpoints.prometheus_url, endpoints.service.metrics.job) or SCRAPE_INTERVAL_S
    delay = until + 2 * interval + 0.5 - time.time()
    if delay > 0:
        time.sleep(delay)


def _recorder(stack: Stack, folder: RunFolder) -> DiagnosticsRecorder:
    endpoints = stack.endpoints
    return DiagnosticsRecorder(
        folder.diagnostics_dir, redis_url=endpoints.redis_url,
        service_pid=stack.service_process.pid if stack.service_process else None,
        service_log=stack.service_process.log_path if stack.service_process else None,
        target=TargetClient.of(endpoints) if endpoints.service.admin else None,
        settings=DiagnosticsSettings(ab_block_s=AB_BLOCK_S))


def _run_scenarios(names: list[str], checklist: Checklist, profile: str, stack: Stack,
                   folder: RunFolder, settings: RunSettings, recorder: DiagnosticsRecorder,
                   say: Say) -> list[ScenarioRun]:
    """Each scenario in turn, under the watchdog: once the stack broke, the rest are skipped."""
    runs, skipped = [], []
    with Watchdog(stack.watched(), say=say) as watchdog:
        for name in names:
            if watchdog.abort_reason():
                skipped.append(name)
                continue
            watchdog.scenario = name
            say(f"scenario {name} ({profile} profile)")
            heavy = recorder.heavy(name) if name in HEAVY_SCENARIOS else contextlib.nullcontext()
            if name == "soak":
                recorder.memory_sites("soak-start")
            try:
                with heavy:
                    runs.append(run_scenario(name, checklist=checklist, profile=profile,
                                             endpoints=stack.endpoints, run_folder=folder,
                                             workers=settings.load_workers, progress=settings.progress,
                                             abort=watchdog.stop_request, seed=settings.seed,
                                             settings=settings.load))
            except LoadError as exc:
                # The timeline already records the failure; its items will grade as no-data.
                say(f"scenario {name} failed: {exc}")
            if name == "soak":
                recorder.memory_sites("soak-end")
    _record_incidents(folder, watchdog.incidents, skipped)
    return runs


def _record_incidents(folder: RunFolder, incidents: list[Incident], skipped: list[str]) -> None:
    """What broke goes into the timeline (the grade's and the report's source), and so do the
    scenarios skipped because of it: their items say why they have no data."""
    if not incidents:
        return
    timeline = (Timeline.load_file(folder.timeline) if folder.timeline.exists()
                else Timeline(run_id=folder.run_id))
    timeline.incidents = incidents
    why = f"skipped: {incidents[0].summary}"
    for name in skipped:
        now = time.time()
        timeline.upsert(ScenarioRun(name=name, status=ScenarioStatus.failed, reason=why, start=now, end=now))
    timeline.save_file(folder.timeline)


def gate(settings: GateSettings, say: Say) -> tuple[RunFolder, Verdict]:
    """Stack up, every scenario the checklist needs, grade (with probes), stack down, report."""
    with _open_run(settings, "gate") as (checklist, profile, folder, info):
        attestations = [parse_attestation(text, checklist) for text in settings.attest]
        names = settings.scenarios or checklist.scenarios_needed(profile)
        unknown = sorted(set(names) - set(checklist.profiles[profile].scenarios))
        if unknown:
            raise ConfigError(f"profile '{profile}' has no scenario(s) {unknown}", field="scenarios")
        info.scenarios = names
        say(f"run {folder.run_id}: service profile {info.service.preset} ({info.service_source})")
        say(f"run {folder.run_id}: starting the stack")
        with Stack(_stack_settings(settings, folder, info)) as stack:
            endpoints = _record_endpoints(stack, info, folder, say)
            with _recorder(stack, folder) as recorder:
                seeded = settings.model_copy(update={"seed": info.seed})
                runs = _run_scenarios(names, checklist, profile, stack, folder, seeded, recorder, say)
            _wait_for_last_scrape(max((r.end or r.start for r in runs), default=time.time()), endpoints)
            say("grading the checklist")
            verdict = grade_run(folder.root, checklist, endpoints=endpoints, attestations=attestations,
                                baseline=settings.baseline, profile=profile)
        write_diagnosis(folder, checklist)
        measure_overhead(folder)
        info.ended = time.time()
        info.save_file(folder.run_info)
        render_run(folder)
        _render_index(folder)
        return folder, verdict


def run(settings: RunSettings, scenario: str, say: Say) -> tuple[RunFolder, ScenarioRun]:
    """One scenario on its own: stack up, load, stack down. No grading."""
    if settings.trace is not None:  # a bad trace is a usage error before any folder or process
        check_trace(scenario, settings.trace)
    with _open_run(settings, f"run {scenario}") as (checklist, profile, folder, info):
        info.scenarios = [scenario]
        with Stack(_stack_settings(settings, folder, info)) as stack, \
                Watchdog(stack.watched(), say=say) as watchdog:
            endpoints = _record_endpoints(stack, info, folder, say)
            watchdog.scenario = scenario
            result = run_scenario(scenario, checklist=checklist, profile=profile, endpoints=endpoints,
                                  run_folder=folder, workers=settings.load_workers,
                                  progress=settings.progress, trace=settings.trace,
                                  abort=watchdog.stop_request, seed=info.seed, settings=settings.load)
        _record_incidents(folder, watchdog.incidents, [])
        info.ended = time.time()
        info.save_file(folder.run_info)
        return folder, result


def check(settings: RunSettings, *, since: float, until: float, job: str | None,
          say: Say) -> tuple[RunFolder, Verdict]:
    """Grade the metric items over an existing window of any Prometheus, without running load."""
    if until <= since:
        raise ConfigError(f"--until ({until}) must be after --since ({since})", field="until")
    prometheus_url = settings.stack.prometheus_url
    if prometheus_url is None:
        raise ConfigError("check needs --prometheus-url", field="prometheus_url")
    with _open_run(settings, "check") as (checklist, _, folder, info):
        say(f"grading {time.strftime('%H:%M:%S', time.gmtime(since))}–"
            f"{time.strftime('%H:%M:%S', time.gmtime(until))} UTC from {prometheus_url}")
        verdict = grade_window(checklist, prometheus_url=prometheus_url, since=since, until=until,
                               out=folder.root, job=job, run_id=folder.run_id,
                               metrics=info.service.metrics if info.service else None)
        info.ended = time.time()
        info.save_file(folder.run_info)
        render_run(folder)
        return folder, verdict


# A capacity search must find the service's limit, not the per-key rate limit in front of it.
CAPACITY_SERVICE_ENV = {"AGENT_KEY_RATE_PER_S": "100000", "AGENT_GLOBAL_RATE_PER_S": "100000"}


def capacity(settings: CapacityRunSettings, say: Say) -> tuple[RunFolder, CapacityResult]:
    """Search the highest sustainable rate per worker count (restarting the bundled service), plan."""
    with _open_run(settings, "capacity", RunKind.capacity) as (checklist, profile, folder, info):
        cap = settings.capacity
        if settings.stack.target_url:  # a user's target cannot be restarted with other worker counts
            cap = cap.model_copy(update={"worker_counts": [None]})

        @contextlib.contextmanager
        def targets(workers: int | None) -> Iterator[Target]:
            update: dict = {"run_dir": folder.root / STEPS_DIR / f"stack_w{workers or 'given'}",
                        "service": info.service,
                            "service_env": {**CAPACITY_SERVICE_ENV, **settings.stack.service_env}}
            if workers is not None:
                update["workers"] = workers
            with Stack(settings.stack.model_copy(update=update)) as stack:
                endpoints = _record_endpoints(stack, info, folder, say)
                pid = stack.service_process.pid if stack.service_process else None
                yield Target(endpoints, service_pid=pid)

        load = LoadDriver(functools.partial(run_scenario, settings=settings.load), prompt_picker,
                          fault_lease_s=settings.load.fault_lease_s)
        result = run_capacity(cap, checklist=checklist, profile=profile, folder=folder, targets=targets,
                              load=load, say=say)
        info.ended = time.time()
        info.save_file(folder.run_info)
        render_run(folder)
        _render_index(folder)
        return folder, result


def compare_capacity(run_dirs: list[Path], reports_dir: Path) -> Path:
    """Earlier capacity runs side by side in ``<reports_dir>/compare-<id>/``; returns that folder."""
    out = reports_dir / f"compare-{new_run_id()}"
    render_compare(run_dirs, out)
    return out


def report(run_dir: Path) -> Path:
    folder = RunFolder(run_dir)
    path = render_run(folder)
    _render_index(folder)
    return path


# ---------------------------------------------------------------- the stack alone: up / status / down


def up(settings: StackSettings, state_file: Path, ready: Callable[[dict[str, Any]], None]) -> None:
    """Start the stack and hold it (``loadgate up``) until a signal; ``ready`` gets its state."""
    session.hold(settings, state_file, ready)


def down(state_file: Path) -> bool:
    """Stop a held stack; False when its holder was no longer running."""
    return session.release(state_file)


def status(state_file: Path) -> list[tuple[str, bool, str]]:
    return session.health(state_file)


def summary(folder: RunFolder) -> str:
    """The verdict in a few lines for the terminal."""
    return terminal_summary(folder)


def worker(master: str, name: str, idle_exit_s: float, allow_hosts: list[str], say: Say) -> int:
    """``loadgate worker``: a load generator for the master on ``master`` (HOST:PORT), every scenario."""
    HostAllowlist.parse(allow_hosts).check(master, "--master")
    return serve_worker(master, name, idle_exit_s, Path(tempfile.gettempdir()) / "loadgate-worker", say)
