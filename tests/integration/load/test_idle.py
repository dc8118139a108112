"""wait_until_idle reads the target's agent_active_tasks: capacity steps start from an idle service."""

from __future__ import annotations

import threading

import httpx
import pytest

from harness.errors import LoadError
from harness.load import target_in_flight, wait_until_idle
from harness.schemas.service import preset_profile
from harness.target.client import TargetClient
from tests.integration.load.conftest import KEY

pytestmark = pytest.mark.integration


def test_wait_until_idle_waits_for_in_flight_requests(fast_target) -> None:
    url = fast_target("--stall-every", "1", "--stall-s", "3")

    def call() -> None:
        httpx.post(
            url + "/v1/agent/run", json={"input": "x"}, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
        )

    target = TargetClient(preset_profile("bundled"), url)
    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    while target_in_flight(target) != 3:
        pass
    with pytest.raises(LoadError, match="still had 3.0 requests in progress"):
        wait_until_idle(target, timeout_s=0.5, idle_at=0)
    assert wait_until_idle(target, timeout_s=10, idle_at=0) > 1.0
    assert target_in_flight(target) == 0
    for t in threads:
        t.join()
