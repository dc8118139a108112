"""The preflight: one request with the run's key before any load; a refused key, a redirect, a rejected
request or an unreadable answer stop the run (exit 3) with the reason, and no load follows."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.errors import PreflightError
from harness.schemas.service import preset_profile
from harness.stack.preflight import preflight
from harness.target.client import TargetClient
from tests.integration.loopback_http import RecordingServer
from tests.planted_services.launch import REPO, Running, start_style

pytestmark = pytest.mark.integration

KEY = "the-right-key"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A planted instrumentator-style agent that accepts only KEY."""
    service = start_style("instrumentator", tmp_path_factory.mktemp("keyed"), "--api-key", KEY)
    yield service
    service.stop()


def _client(url: str, key: str | None, preset: str = "fastapi-instrumentator") -> TargetClient:
    return TargetClient(preset_profile(preset), url, key)


def _agent_requests(service: Running) -> dict[str, float]:
    text = httpx.get(service.metrics_url).text
    return {status: float(line.rsplit(" ", 1)[1]) for status in ("2xx", "4xx") for line in text.splitlines()
            if line.startswith("http_requests_total{") and 'handler="/v1/agent/run"' in line
            and f'status="{status}"' in line}


def test_the_right_key_passes(keyed: Running) -> None:
    assert preflight(_client(keyed.url, KEY)) == 200


@pytest.mark.parametrize("key", ["a-wrong-key", None])
def test_a_refused_key_stops_with_the_reason(keyed: Running, key: str | None) -> None:
    with pytest.raises(PreflightError, match=r"answered 401 to the API key given .* no load was sent"):
        preflight(_client(keyed.url, key))


@pytest.mark.parametrize(("answer", "reason"), [
    ((403, {}, b'{"detail": "forbidden"}'), "answered 403 to the API key"),
    ((302, {"Location": "http://127.0.0.1:9/elsewhere"}, b""), "never follows redirects"),
    ((404, {}, b"no such route"), "rejects the request the profile builds"),
    ((200, {"Content-Type": "text/html"}, b"<html>login page</html>"), "not the JSON the profile requires"),
])
def test_what_stops_the_run(answer: tuple[int, dict[str, str], bytes], reason: str) -> None:
    server = RecordingServer(*answer)
    try:
        with pytest.raises(PreflightError, match=reason):
            preflight(_client(server.url, KEY, "seed-article"))
    finally:
        server.close()
    assert [(method, path) for method, path, _ in server.hits] == [("POST", "/agent/run")]  # one request
    assert server.hits[0][2]["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_failing_services_are_for_the_run_to_judge(status: int) -> None:
    server = RecordingServer(status, {}, b'{"detail": "busy"}')
    try:
        assert preflight(_client(server.url, KEY)) == status
    finally:
        server.close()


def test_the_cli_stops_before_any_load_with_exit_3(keyed: Running, tmp_path: Path) -> None:
    before = _agent_requests(keyed)
    service_file = tmp_path / "service.yaml"
    service_file.write_text("preset: fastapi-instrumentator\n")
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "target_2x", "--target-url", keyed.url,
         "--service", str(service_file), "--reports-dir", str(tmp_path), "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "LOADGATE_API_KEY": "a-wrong-key"})
    assert done.returncode == 3, done.stderr[-2000:]
    assert "preflight" in done.stderr and "401" in done.stderr
    after = _agent_requests(keyed)
    assert after.get("4xx", 0) - before.get("4xx", 0) == 1  # the preflight, and nothing after it
    assert after.get("2xx", 0) == before.get("2xx", 0)
