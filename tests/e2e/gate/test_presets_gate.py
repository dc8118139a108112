"""The gate on a service of each preset's style, through the real CLI: ``loadgate gate --service FILE``
on planted agents (tests/planted_services, tests/planted) with one shared Prometheus scraping them all.
Healthy: GO with every metric item measured server-side. 0.5% 5xx: NO-GO naming error_rate. P99 over
3 s: NO-GO naming p99_latency. And ``loadgate detect`` names each one's preset. Beside them, the
OpenAI-compatible server (``target_service.openai_server``, simulated backend) gated with the
``openai`` preset, half its requests streamed: GO, with the client's time to first token measured.

30 s of load per gate (tests/planted_services/checklist_short.yaml), in three waves of at most four
gates (see WAVES). The bundled style's planted faults are graded by
tests/integration/grade/test_grade_planted.py already; here it is gated healthy only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from harness.schemas import ItemStatus, Outcome, RunFolder, ScenarioStats, Verdict
from harness.schemas.requests import read_request_log
from harness.schemas.run import RunInfo
from harness.stack.prometheus import start_prometheus
from tests.integration.grade.grade_planted import wait_scraped
from tests.planted_services.launch import REPO, Running, spawn_openai_server, spawn_style

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

CHECKLIST = REPO / "tests" / "planted_services" / "checklist_short.yaml"
KEY = "planted-key"  # tests/planted's default key; the other planted services take any key
KEY_ENV = {**os.environ, "LOADGATE_API_KEY": KEY}  # not --api-key: argv is visible to every user
PRESETS = {"bundled": "bundled", "seed_article": "seed-article", "instrumentator": "fastapi-instrumentator",
           "otel": "opentelemetry"}
# condition -> (the item that must fail, the planted-fault item that must still pass)
FAULTS = {"errors": ("error_rate", "p99_latency"), "slow": ("p99_latency", "error_rate")}
RUNS = [(style, "healthy") for style in PRESETS] + [
    (style, fault) for fault in FAULTS for style in PRESETS if style != "bundled"]
# What each style's server-side queries must read (request counter, latency histogram).
SERIES = {
    "bundled": ("agent_requests_total", "agent_request_duration_seconds"),
    "seed_article": ("agent_requests_total", "agent_request_duration_seconds"),
    "instrumentator": ("http_requests_total", "http_request_duration_highr_seconds"),
    "otel": ("http_server_request_duration_seconds_count", "http_server_request_duration_seconds"),
}
MEASURED_BY = {"load_2x_target": 0, "error_rate": 0, "p99_latency": 1}


def _fault_args(style: str, condition: str) -> list[str]:
    if style == "bundled":  # tests/planted counts in "every n-th"
        return ["--no-rate-limit", *{"healthy": [], "errors": ["--error-every", "200"],
                                     "slow": ["--slow-every", "50", "--slow-s", "4.2"]}[condition]]
    return {"healthy": [], "errors": ["--error-share", "0.005"],
            "slow": ["--slow-share", "0.02", "--slow-s", "4.2"]}[condition]


# The openai preset with what this server has: the served model's name in the body, /health (its
# /v1/models wants the key), and the instrumentator's metrics on /metrics, as vLLM's server has them.
OPENAI_SERVICE = {
    "preset": "openai",
    "requests": {"body": {"model": "simulated", "messages": [{"role": "user", "content": "{prompt}"}],
                          "max_tokens": "{max_tokens}", "user": "{session_id}"}},
    "health": {"health_path": "/health"},
    "metrics_path": "/metrics",
    "metrics": {
        "request_duration": {"name": "http_request_duration_highr_seconds"},
        "requests": {"name": "http_requests_total", "selector": 'handler="/v1/chat/completions"',
                     "served": 'status="2xx"', "error": 'status="5xx"'},
        "memory": {"name": "process_resident_memory_bytes"},
    },
}


# Three waves: the presets healthy; the OpenAI target beside the 5xx runs (those at 24 req/s, light:
# 600 requests still show 0.5% over 0.3%); the slow runs (48 req/s: their error rate must pass).
WAVES = ("healthy", "openai+errors", "slow")


def _wave(gate: Gate) -> str:
    if gate.style == "openai" or gate.condition == "errors":
        return "openai+errors"
    return gate.condition


def _profile(gate: Gate) -> str:
    return {"openai": "stream"}.get(gate.style) or {"errors": "light"}.get(gate.condition, "short")


def _job(style: str, condition: str) -> str:
    return f"planted-{style}-{condition}"


@dataclass
class Gate:
    style: str
    condition: str
    service: Running
    exit_code: int | None = None
    output: str = ""
    folder: RunFolder | None = None


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[tuple[str, str], Gate], str]]:
    """Every style x condition running, and one Prometheus scraping each as its own job."""
    workdir = tmp_path_factory.mktemp("fleet")
    gates: dict[tuple[str, str], Gate] = {}
    prom = None
    try:
        for style, condition in RUNS:
            gates[style, condition] = Gate(style, condition,
                                           spawn_style(style, workdir, *_fault_args(style, condition)))
        gates["openai", "healthy"] = Gate("openai", "healthy", spawn_openai_server(workdir, KEY))
        for gate in gates.values():
            gate.service.wait_ready()
        targets = {_job(*key): gate.service.metrics_url for key, gate in gates.items()}
        prom, prom_url = start_prometheus(workdir / "prometheus", targets, rule_files=[])
        wait_scraped(prom_url, len(targets), timeout_s=60)
        yield gates, prom_url
    finally:
        for gate in gates.values():
            gate.service.stop()
        if prom is not None:
            prom.stop()


def _gate_argv(gate: Gate, prom_url: str, reports: Path) -> list[str]:
    service_file = reports / f"{gate.style}-{gate.condition}.service.yaml"
    job = {"job": _job(gate.style, gate.condition)}
    if gate.style == "openai":
        profile = {**OPENAI_SERVICE, "metrics": {**OPENAI_SERVICE["metrics"], **job}}
    else:
        profile = {"preset": PRESETS[gate.style], "metrics": job}
    service_file.write_text(yaml.safe_dump(profile))
    return [sys.executable, "-m", "harness.cli", "gate", "--checklist", str(CHECKLIST),
            "--profile", _profile(gate),
            "--target-url", gate.service.url, "--service", str(service_file),
            "--metrics-url", gate.service.metrics_url, "--prometheus-url", prom_url,
            "--reports-dir", str(reports), "--run-id", f"{gate.style}-{gate.condition}", "--no-progress"]


@pytest.fixture(scope="module")
def gated(fleet: tuple[dict[tuple[str, str], Gate], str],
          tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Gate]:
    gates, prom_url = fleet
    reports = tmp_path_factory.mktemp("reports")
    for wave_of in WAVES:  # at most four gates at once: more and the generators miss their schedule
        wave = [g for g in gates.values() if _wave(g) == wave_of]
        procs = [subprocess.Popen(_gate_argv(g, prom_url, reports), cwd=REPO, env=KEY_ENV,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for g in wave]
        for gate, proc in zip(wave, procs, strict=True):
            gate.output, _ = proc.communicate(timeout=400)
            gate.exit_code = proc.returncode
            gate.folder = RunFolder(reports / f"{gate.style}-{gate.condition}")
    return gates


def _verdict(gate: Gate) -> tuple[Verdict, str]:
    assert gate.folder is not None and gate.folder.verdict.exists(), f"no verdict:\n{gate.output[-3000:]}"
    verdict = Verdict.load_file(gate.folder.verdict)
    summary = "\n".join(f"{i.id}: {i.status} {i.reason}" for i in verdict.items)
    return verdict, f"exit {gate.exit_code}\n{gate.output[-2000:]}\n{summary}"


@pytest.mark.parametrize("style", list(PRESETS))
def test_healthy_service_is_go_measured_server_side(gated: dict[tuple[str, str], Gate], style: str) -> None:
    gate = gated[style, "healthy"]
    verdict, why = _verdict(gate)
    assert gate.exit_code == 0 and verdict.outcome == Outcome.go, why
    assert {i.id for i in verdict.items} == {"load_2x_target", "memory_stable", "p99_latency", "error_rate"}
    assert all(i.status == ItemStatus.passed and i.value is not None for i in verdict.items), why
    job = f'job="{_job(style, "healthy")}"'
    for item in verdict.items:  # each read from the service's own series in Prometheus
        expected = ("process_resident_memory_bytes" if item.id == "memory_stable"
                    else SERIES[style][MEASURED_BY[item.id]])
        assert item.query and expected in item.query and job in item.query, f"{item.id}: {item.query}"
    info = RunInfo.load_file(gate.folder.run_info)
    assert info.service is not None and info.service.preset == PRESETS[style]


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("style", [s for s in PRESETS if s != "bundled"])
def test_a_planted_fault_is_no_go_naming_its_item(gated: dict[tuple[str, str], Gate], style: str,
                                                  fault: str) -> None:
    gate = gated[style, fault]
    verdict, why = _verdict(gate)
    must_fail, must_pass = FAULTS[fault]
    assert gate.exit_code == 1 and verdict.outcome == Outcome.no_go, why
    status = {i.id: i.status for i in verdict.items}
    # The planted item fails; the other planted-fault item passes: the verdict names the right one.
    assert status[must_fail] == ItemStatus.failed and status[must_pass] == ItemStatus.passed, why
    assert "FAIL" in gate.output and must_fail in gate.output, why  # the terminal summary names it


@pytest.fixture(scope="module")
def detected(gated: dict[tuple[str, str], Gate]) -> dict[str, subprocess.CompletedProcess[str]]:
    """``loadgate detect`` on each healthy planted service, side by side."""
    procs = {}
    for style in PRESETS:
        service = gated[style, "healthy"].service
        for i in range(3):  # labelled series show once they have a sample, as on a service in use
            httpx.post(f"{service.url}{service.run_path}", json={"input": f"detect {i}"},
                       headers={"Authorization": f"Bearer {KEY}"}, timeout=30).raise_for_status()
        argv = [sys.executable, "-m", "harness.cli", "detect", "--target-url", service.url,
                "--metrics-url", service.metrics_url]
        procs[style] = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
    done = {}
    for style, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        done[style] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("style", list(PRESETS))
def test_detect_names_the_preset(detected: dict[str, subprocess.CompletedProcess[str]], style: str) -> None:
    done = detected[style]
    assert done.returncode == 0, done.stdout + done.stderr
    found = yaml.safe_load(done.stdout)
    profile = found.get("service", found)
    assert profile["preset"] == PRESETS[style], done.stdout


def test_openai_target_is_go_with_client_ttft(gated: dict[tuple[str, str], Gate]) -> None:
    gate = gated["openai", "healthy"]
    verdict, why = _verdict(gate)
    assert gate.exit_code == 0 and verdict.outcome == Outcome.go, why
    assert all(i.status == ItemStatus.passed for i in verdict.items), why
    p99 = next(i for i in verdict.items if i.id == "p99_latency")
    assert "http_request_duration_highr_seconds" in p99.query, p99.query
    steady = ScenarioStats.load_file(gate.folder.client_stats("target_2x")).phase("steady")
    assert steady.ttft is not None and steady.ttft.count > 100  # about half of ~1,200 were streamed
    rows = read_request_log(gate.folder.request_log("target_2x"))
    streamed = rows[rows["ttft"].notna()]
    assert len(streamed) > 100 and streamed["itl"].notna().all()  # each stream's tokens timed apart
    assert ((streamed["ttft"] > 0) & (streamed["ttft"] <= streamed["latency"])).all()
    assert "TTFT P95" in gate.folder.report_html.read_text()
