"""Known truth: each planted fault is NO-GO for its own item and only that item; missing data never GO."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from grade_planted import KEYS, PLANTED, REPO, PlantedRun, planted_checklist, start_planted, write_checklist

from harness.checklist import load_checklist
from harness.diagnostics.diagnose import write_diagnosis
from harness.errors import GradeError
from harness.grade import grade_run, grade_window
from harness.ports import free_port
from harness.schemas.diagnostics import Diagnosis
from harness.schemas.run import Endpoints, RunFolder
from harness.schemas.service import ServiceProfile, expand_service
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus, Outcome, SeriesSet, Verdict
from harness.stack.prometheus import start_prometheus

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", list(PLANTED))
def test_planted_fault_fails_exactly_its_item(name: str, planted_runs: dict[str, PlantedRun]) -> None:
    run = planted_runs[name]
    verdict = grade_run(run.folder, planted_checklist(), endpoints=run.endpoints, job=name)

    not_passed = {i.id: f"{i.status.value}: {i.reason}" for i in verdict.items
                  if i.status != ItemStatus.passed}
    assert verdict.outcome == Outcome.no_go, verdict.reason
    assert list(not_passed) == [run.expected_failure], not_passed
    failed = next(i for i in verdict.items if i.id == run.expected_failure)
    assert failed.status == ItemStatus.failed
    assert failed.reason and failed.severity == "blocker"
    # Written beside the run, and readable back.
    folder = RunFolder(run.folder)
    assert Verdict.load_file(folder.verdict).outcome == Outcome.no_go
    assert f'name="{run.expected_failure}"' in folder.junit.read_text()
    assert SeriesSet.load_file(folder.series).for_scenario("target_2x")


def test_metric_items_carry_their_evidence(planted_runs: dict[str, PlantedRun]) -> None:
    run = planted_runs["leaky"]
    verdict = grade_run(run.folder, planted_checklist(), endpoints=run.endpoints, job="leaky")
    items = {i.id: i for i in verdict.items}
    memory, p99, errors = items["memory_stable"], items["p99_latency"], items["error_rate"]
    # 2 MB/s planted = 7200 MB/h; RSS shows most of it (the allocator may round).
    assert memory.value is not None and memory.value > 3000
    assert memory.unit == "MB/h" and memory.interval and memory.window and memory.window.phase == "steady"
    assert "@" in (p99.query or "") and "histogram_quantile(0.99" in (p99.query or "")
    assert p99.samples and p99.samples >= 3000 and p99.bound is not None
    assert errors.value == 0 and errors.bound is not None and errors.bound < 0.001
    charted = {s.name for s in SeriesSet.load_file(RunFolder(run.folder).series).for_scenario("target_2x")}
    assert {"server_p99", "client_p99", "rps", "errors", "rss_bytes", "llm_p95", "breaker_state"} <= charted


def test_check_window_grades_metric_items_only(planted_runs: dict[str, PlantedRun], tmp_path: Path) -> None:
    run = planted_runs["erroring"]
    start, end = run.windows["steady"]
    verdict = grade_window(planted_checklist(), prometheus_url=run.endpoints.prometheus_url, since=start,
                           until=end, out=tmp_path, job="erroring")
    kinds = {i.kind for i in verdict.items}
    assert kinds == {"metric"}
    assert verdict.outcome == Outcome.no_go
    assert [i.id for i in verdict.items if i.status == ItemStatus.failed] == ["error_rate"]
    assert (tmp_path / "junit.xml").exists()


def test_empty_prometheus_is_never_go(planted_runs: dict[str, PlantedRun], tmp_path: Path) -> None:
    run = planted_runs["slow_tail"]
    proc, empty_url = start_prometheus(tmp_path / "empty", {})
    try:
        endpoints = run.endpoints.model_copy(update={"prometheus_url": empty_url})
        verdict = grade_run(run.folder, planted_checklist(), endpoints=endpoints, job="slow_tail")
    finally:
        proc.stop()
    items = {i.id: i for i in verdict.items}
    assert verdict.outcome == Outcome.invalid, verdict.reason
    for metric in ("memory_stable", "p99_latency", "error_rate", "load_2x_target", "key_metrics"):
        assert items[metric].status == ItemStatus.no_data, (metric, items[metric].reason)


def test_unreachable_prometheus_is_invalid_and_named(planted_runs: dict[str, PlantedRun]) -> None:
    run = planted_runs["leaky"]
    dead = f"http://127.0.0.1:{free_port()}"
    endpoints = run.endpoints.model_copy(update={"prometheus_url": dead})
    verdict = grade_run(run.folder, planted_checklist(), endpoints=endpoints, job="leaky")
    assert verdict.outcome == Outcome.invalid, verdict.reason
    assert any(dead in reason for reason in verdict.invalid_reasons)
    with pytest.raises(GradeError, match=dead.replace(".", r"\.")):
        grade_window(planted_checklist(), prometheus_url=dead, since=0, until=60)


def test_missed_scrapes_make_the_run_invalid(planted_runs: dict[str, PlantedRun], tmp_path: Path) -> None:
    """A window reaching back before Prometheus scraped the service has too few scrapes: its numbers
    describe half a window, so the run is INVALID even though P99 looks failed."""
    run = planted_runs["slow_tail"]
    timeline = Timeline.load_file(RunFolder(run.folder).timeline)
    scenario = timeline.scenarios[0]
    steady = scenario.phase("steady")
    early = steady.model_copy(update={"start": steady.start - 120})
    shifted = scenario.model_copy(update={"start": early.start, "phases": [early]})
    folder = RunFolder(tmp_path / "gap").ensure()
    Timeline(run_id="gap", scenarios=[shifted]).save_file(folder.timeline)
    shutil.copytree(RunFolder(run.folder).client_dir("target_2x"), folder.client_dir("target_2x"))

    verdict = grade_run(folder.root, planted_checklist(), endpoints=run.endpoints, job="slow_tail")
    assert verdict.outcome == Outcome.invalid, verdict.reason
    assert any("scrape gap" in reason for reason in verdict.invalid_reasons)
    p99 = next(i for i in verdict.items if i.id == "p99_latency")
    assert p99.evidence.get("untrusted")


def test_a_breaker_that_never_opens_fails(planted_runs: dict[str, PlantedRun], tmp_path: Path) -> None:
    run = planted_runs["any_key"]  # its breaker gauge stays 0 (closed) whatever happens
    steady_start, steady_end = run.windows["steady"]
    middle = (steady_start + steady_end) / 2
    phases = [Phase(name="before", start=steady_start - 4, end=steady_start),
              Phase(name="fault", start=steady_start, end=middle),
              Phase(name="recovery", start=middle, end=steady_end)]
    folder = RunFolder(tmp_path / "breaker").ensure()
    scenario = ScenarioRun(name="llm_slowdown", status=ScenarioStatus.completed, start=phases[0].start,
                           end=steady_end, phases=phases)
    Timeline(run_id="breaker", scenarios=[scenario]).save_file(folder.timeline)
    shipped = load_checklist(REPO / "checklist.yaml")
    checklist = shipped.model_copy(update={"items": [i for i in shipped.items if i.id == "circuit_breaker"]})
    verdict = grade_run(folder.root, checklist, endpoints=run.endpoints, job="any_key")
    (breaker,) = verdict.items
    assert breaker.status == ItemStatus.failed and "never opened" in breaker.reason
    assert breaker.query == 'max(agent_circuit_breaker_state{job="any_key"})'
    assert verdict.outcome == Outcome.no_go


@pytest.mark.parametrize("leaks", [False, True])
def test_pii_in_the_access_log_fails(leaks: bool, planted_prometheus: tuple[str, dict[str, int]],
                                     tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    args = ["--access-log", str(log)] + (["--log-input"] if leaks else [])
    proc, port = start_planted("pii", args, tmp_path)
    try:
        endpoints = Endpoints(target_url=f"http://127.0.0.1:{port}", prometheus_url=planted_prometheus[0],
                              api_key=KEYS[0], api_key_2=KEYS[1], access_log=log)
        shipped = load_checklist(REPO / "checklist.yaml")
        wanted = ("pii_masked", "access_logs", "logs_collected")
        checklist = shipped.model_copy(update={"items": [i for i in shipped.items if i.id in wanted]})
        verdict = grade_run(tmp_path / "run", checklist, endpoints=endpoints)
    finally:
        proc.stop()
    status = {i.id: i.status for i in verdict.items}
    assert status["access_logs"] == status["logs_collected"] == ItemStatus.passed
    assert status["pii_masked"] == (ItemStatus.failed if leaks else ItemStatus.passed)
    assert verdict.outcome == (Outcome.no_go if leaks else Outcome.go)


def test_access_log_lines_that_trail_their_responses_are_waited_for(
        planted_prometheus: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    """A service writes a request's line once the response has gone, and other traffic's lines (a
    scrape every second) can reach the log first: the probe must wait for its own ids, not a count."""
    log = tmp_path / "access.log"
    proc, port = start_planted("late-log", ["--access-log", str(log), "--log-late-s", "0.5"], tmp_path)
    quiet = threading.Event()

    def other_traffic() -> None:
        while not quiet.is_set():
            with log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"ts": time.time(), "method": "GET", "path": "/metrics", "status": 200,
                                     "request_id": None}) + "\n")
            time.sleep(0.01)

    writer = threading.Thread(target=other_traffic, daemon=True)
    writer.start()
    try:
        endpoints = Endpoints(target_url=f"http://127.0.0.1:{port}", prometheus_url=planted_prometheus[0],
                              api_key=KEYS[0], api_key_2=KEYS[1], access_log=log)
        shipped = load_checklist(REPO / "checklist.yaml")
        checklist = shipped.model_copy(update={"items": [i for i in shipped.items if i.id == "access_logs"]})
        verdict = grade_run(tmp_path / "run", checklist, endpoints=endpoints)
    finally:
        quiet.set()
        writer.join(5)
        proc.stop()
    (item,) = verdict.items
    assert item.status == ItemStatus.passed, item.reason
    assert item.evidence["ids_checked"] == 20


def _regrade_with(run: PlantedRun, tmp_path: Path, metrics: dict) -> Verdict:
    """The run graded again (in a copy of its folder) with the bundled profile's metrics overridden."""
    folder = tmp_path / run.name
    shutil.copytree(run.folder, folder)
    profile = ServiceProfile.model_validate(expand_service({"preset": "bundled", "metrics": metrics}))
    endpoints = run.endpoints.model_copy(update={"service": profile})
    return grade_run(folder, planted_checklist(), endpoints=endpoints, job=run.name)


def test_mismatched_selector_says_what_exists_instead(planted_runs: dict[str, PlantedRun],
                                                      tmp_path: Path) -> None:
    run = planted_runs["leaky"]
    verdict = _regrade_with(run, tmp_path, {
        "request_duration": {"selector": 'endpoint=~"/api/.*"'},   # the label is there, the values not
        "requests": {"selector": 'route=~"/v1/agent/.*"'}})         # no such label at all
    items = {i.id: i for i in verdict.items}
    p99, errors = items["p99_latency"], items["error_rate"]
    assert p99.status == ItemStatus.no_data and errors.status == ItemStatus.no_data
    assert 'agent_request_duration_seconds_bucket exists but none of its series match endpoint=~"/api/.*"' \
        in p99.reason, p99.reason
    assert '"/v1/agent/run"' in p99.reason and "set service.metrics.request_duration.selector" in p99.reason
    assert "agent_requests_total exists with labels {endpoint, method, status} only" in errors.reason, \
        errors.reason
    assert "set service.metrics.requests.selector" in errors.reason
    # The diagnosis explains the missing series instead of listing the fault table's causes.
    folder = RunFolder(tmp_path / run.name)
    write_diagnosis(folder)
    diagnosis = {d.item_id: d for d in Diagnosis.load_file(folder.diagnosis).items}
    assert diagnosis["p99_latency"].causes == [] and diagnosis["p99_latency"].symptom == "missing series"
    assert diagnosis["p99_latency"].explanation == p99.reason


def test_wrong_metric_name_lists_what_the_job_has(planted_runs: dict[str, PlantedRun],
                                                  tmp_path: Path) -> None:
    run = planted_runs["leaky"]
    verdict = _regrade_with(run, tmp_path, {"request_duration": {"name": "agent_request_latency_seconds"}})
    p99 = next(i for i in verdict.items if i.id == "p99_latency")
    assert p99.status == ItemStatus.no_data
    assert f"no agent_request_latency_seconds_bucket in job={run.name}" in p99.reason, p99.reason
    assert "agent_request_duration_seconds_bucket" in p99.reason  # the close match that exists


def _cli(args: list[str], patch: str = "") -> subprocess.CompletedProcess[str]:
    """The real command line in a child process; ``patch`` runs first (to plant a bug in the harness)."""
    code = f"import sys\n{patch}\nfrom harness.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def _check_args(run: PlantedRun, tmp_path: Path, run_id: str, window: tuple[float, float]) -> list[str]:
    checklist = write_checklist(tmp_path / "checklist.yaml", planted_checklist())
    return ["check", "--prometheus-url", run.endpoints.prometheus_url, "--job", run.name,
            "--since", f"{window[0]:.3f}", "--until", f"{window[1]:.3f}", "--checklist", str(checklist),
            "--reports-dir", str(tmp_path / "reports"), "--run-id", run_id]


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "shift_s", "code"), [("any_key", 0, 0), ("erroring", 0, 1),
                                                      ("any_key", -3600, 2)])
def test_exit_code_is_the_verdict(name: str, shift_s: float, code: int, planted_runs: dict[str, PlantedRun],
                                  tmp_path: Path) -> None:
    """0 GO (any_key's fault is only in a probe `check` does not run), 1 NO-GO, 2 INVALID (an hour
    before the planted services existed: no data)."""
    run = planted_runs[name]
    start, end = run.windows["steady"]
    done = _cli(_check_args(run, tmp_path, "exit", (start + shift_s, end + shift_s)))
    verdict = Verdict.load_file(RunFolder(tmp_path / "reports" / "exit").verdict)
    assert done.returncode == code, f"{done.stderr}\n{verdict.reason}"
    assert verdict.outcome.exit_code == code


@pytest.mark.e2e
def test_an_item_that_raises_is_error_and_the_run_still_reports(planted_runs: dict[str, PlantedRun],
                                                                tmp_path: Path) -> None:
    run = planted_runs["any_key"]
    patch = ("import harness.grade.items as items\n"
             "def broken(ctx, item):\n    raise KeyError('planted bug')\n"
             "items.MEASURES['error_rate'] = broken")
    done = _cli(_check_args(run, tmp_path, "raises", run.windows["steady"]), patch)
    folder = RunFolder(tmp_path / "reports" / "raises")
    verdict = Verdict.load_file(folder.verdict)
    by_id = {i.id: i for i in verdict.items}
    assert done.returncode == 2, done.stderr  # blocks like no-data: INVALID, never GO
    assert by_id["error_rate"].status == ItemStatus.error and "planted bug" in by_id["error_rate"].reason
    assert by_id["p99_latency"].status == ItemStatus.passed
    assert 'data-item="error_rate"' in folder.report_html.read_text()
    assert 'errors="1"' in folder.junit.read_text()


@pytest.mark.e2e
def test_a_harness_crash_exits_3_with_one_line_and_its_traceback_saved(planted_runs: dict[str, PlantedRun],
                                                                       tmp_path: Path) -> None:
    run = planted_runs["any_key"]
    patch = "import harness.pipeline as pipeline\npipeline.render_run = lambda folder: 1 / 0"
    done = _cli(_check_args(run, tmp_path, "crash", run.windows["steady"]), patch)
    folder = RunFolder(tmp_path / "reports" / "crash")
    assert done.returncode == 3, done.stderr
    said = [line for line in done.stderr.splitlines() if not line.startswith("[")]  # not progress lines
    assert len(said) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "internal error: ZeroDivisionError: division by zero" in done.stderr
    assert str(folder.crash) in done.stderr
    saved = folder.crash.read_text()
    assert saved.startswith("Traceback") and "render_run(folder)" in saved and "ZeroDivisionError" in saved
