"""A scenario file is still a plain locustfile: `locust -f scenarios/target_2x.py --headless`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from harness.ports import free_port
from harness.schemas import ScenarioPlan
from harness.schemas.timeline import ScenarioStats
from tests.integration.load.conftest import KEY, checklist

pytestmark = pytest.mark.integration
SCENARIO_FILE = "scenarios/target_2x.py"


def test_plain_locust_runs_the_checklist_plan_with_exporter_and_intended_start(tmp_path, fast_target) -> None:
    url = fast_target()
    plan = ScenarioPlan(warmup_s=1, steady_s=4, rate_x=2, arrival="constant")
    (tmp_path / "checklist.yaml").write_text(
        yaml.safe_dump(checklist(target_2x=plan).model_dump(mode="json"))
    )
    exporter = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            os.path.abspath(SCENARIO_FILE),
            "--headless",
            "--host",
            url,
            "--loadgate-exporter",
            exporter,
            "--only-summary",
        ],
        cwd=tmp_path,
        env={**os.environ, "LOADGATE_API_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    scraped = ""
    while proc.poll() is None and "loadgate_client_requests_total{" not in scraped:
        with contextlib.suppress(httpx.HTTPError):
            scraped = httpx.get(f"http://{exporter}/metrics", timeout=1).text
        time.sleep(0.2)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    assert 'scenario="target_2x",status="200"' in scraped
    stats = ScenarioStats.load_file(tmp_path / "loadgate-out" / "target_2x" / "stats.json")
    steady = stats.phase("steady")
    assert steady.target_rps == 20 and steady.requests == 80  # constant arrivals: exactly rate x duration
    assert steady.latency.count == steady.latency_uncorrected.count == 80
