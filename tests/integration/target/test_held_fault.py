"""Capacity's LLM what-if holds its delay as a lease, as the gate's phases do: every PUT carries
``ttl_s``, renewals follow while the search runs, the clear comes after the last renewal."""

from __future__ import annotations

import time

import httpx
import pytest

from harness.capacity.run import _llm_delay
from harness.errors import LoadError
from harness.ports import free_port
from tests.integration.load.conftest import endpoints, start_target

pytestmark = pytest.mark.integration


def _methods(url: str) -> list[str]:
    return [method for method, _ in httpx.get(f"{url}/admin/faults", timeout=5).json()]


def test_the_what_if_delay_is_a_renewed_lease_then_cleared() -> None:
    proc, url = start_target()
    try:
        with _llm_delay(endpoints(url), 0.5, lease_s=1.0):  # renewed every 0.1 s
            # Held until three PUTs arrived, however busy the machine: renewals, not their pace.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _methods(url).count("PUT") < 3:
                time.sleep(0.1)
        calls = [call for call in httpx.get(f"{url}/admin/faults", timeout=5).json() if call[0] != "GET"]
    finally:
        proc.terminate()
        proc.wait(10)
    methods = [method for method, _ in calls]
    assert methods[-1] == "DELETE" and "DELETE" not in methods[:-1], methods  # no renewal after the clear
    puts = [body for method, body in calls if method == "PUT"]
    assert len(puts) >= 3, methods
    assert all(body == {"llm_delay_s": 0.5, "ttl_s": 1.0} for body in puts)


def test_a_target_that_refuses_the_fault_is_a_load_error() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LoadError, match="cannot inject an LLM delay"), _llm_delay(endpoints(dead), 0.5, 1.0):
        pass
