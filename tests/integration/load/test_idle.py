"""target_in_flight reads the target's in-flight gauge (the bundled profile's agent_active_tasks): what
the runner records at a run's end."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from harness.load import target_in_flight
from harness.schemas.service import preset_profile
from harness.target.client import TargetClient
from tests.integration.load.conftest import KEY

pytestmark = pytest.mark.integration

DEADLINE_S = 30.0  # liveness only: stalled requests show up and drain within it, however busy the machine


def _poll(url: str, wanted: float) -> list[float | None]:
    """Read the gauge until it shows ``wanted``; every reading, so a failure shows what was seen."""
    target = TargetClient(preset_profile("bundled"), url)
    seen = [target_in_flight(target)]
    deadline = time.monotonic() + DEADLINE_S
    while seen[-1] != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        seen.append(target_in_flight(target))
    return seen


def test_target_in_flight_counts_requests_in_progress(fast_target) -> None:
    url = fast_target("--stall-every", "1", "--stall-s", "3")
    assert _poll(url, 0)[-1] == 0

    def call() -> None:
        httpx.post(
            url + "/v1/agent/run", json={"input": "x"}, headers={"Authorization": f"Bearer {KEY}"}, timeout=30
        )

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    busy = _poll(url, 3)
    assert busy[-1] == 3, f"never saw 3 stalled requests in flight: {sorted(set(busy), key=str)}"
    idle = _poll(url, 0)
    assert idle[-1] == 0, f"the stalled requests never drained: last readings {idle[-5:]}"
    for t in threads:
        t.join()
