"""`loadgate detect` as a user runs it, on a live service instrumented like the reference article
(prometheus_client's start_http_server on a port of its own): the preset, the YAML, the exit codes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from harness.ports import free_port
from tests.planted_services.launch import start_style

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

LOADGATE = [sys.executable, "-m", "harness.cli"]


@pytest.fixture(scope="module")
def article_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The planted service in the article's style: its monitoring.py, metrics on a port of their own."""
    service = start_style("seed_article", tmp_path_factory.mktemp("article"))
    try:
        # The counter's label set exists after one request that reaches the handler.
        httpx.post(f"{service.url}{service.run_path}", json={"input": "hello"}, timeout=10)
        yield service.url, service.metrics_url
    finally:
        service.stop()


def _detect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LOADGATE, "detect", *args], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3], check=False)


def test_detect_finds_the_article_preset_on_its_metrics_port(article_service: tuple[str, str]) -> None:
    url, metrics = article_service
    done = _detect("--target-url", url, "--metrics-url", metrics)
    assert done.returncode == 0, done.stderr
    assert "# fits preset seed-article" in done.stdout
    assert "matched  request_duration: agent_request_duration_seconds (no labels)" in done.stdout
    assert yaml.safe_load(done.stdout) == {"service": {"preset": "seed-article"}}


def test_detect_without_the_metrics_port_finds_nothing_and_says_why(article_service: tuple[str, str]) -> None:
    url, _ = article_service
    done = _detect("--target-url", url)
    assert done.returncode == 3
    assert "no preset fits" in done.stdout and "seed-article: no agent_request_duration_seconds_bucket" \
        in done.stdout


def test_detect_on_nothing_listening_is_exit_3() -> None:
    done = _detect("--target-url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 3
    assert "not reachable" in done.stderr
