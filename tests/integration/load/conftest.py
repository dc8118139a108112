"""A cheap planted target (fast_target.py) on a free loopback port, a checklist built in code, and the
simulated model's trace joined to a request log."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from harness.ports import free_port
from harness.schemas import Checklist, Endpoints, Profile, ScenarioPlan

FAST_TARGET = Path(__file__).with_name("fast_target.py")
KEY = "test-key"


def start_target(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    """A fresh planted target (fast_target.py flags in ``args``) and its base URL, once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(FAST_TARGET), str(port), "--key", KEY, *args])
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(url + "/healthz", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("fast_target did not start")


@pytest.fixture
def fast_target() -> Iterator[Callable[..., str]]:
    """Factory: ``fast_target("--stall-every", "100") -> base URL``, stopped at test end."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> str:
        proc, url = start_target(*args)
        procs.append(proc)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def endpoints(url: str, **extra: object) -> Endpoints:
    return Endpoints(
        target_url=url, prometheus_url="http://127.0.0.1:9", api_key=KEY, admin_token="admin", **extra
    )


def checklist(**plans: ScenarioPlan) -> Checklist:
    return Checklist(target_qps=10, profiles={"quick": Profile(scenarios=plans)}, items=[])


def first_token_waits(trace: Path, log: pd.DataFrame) -> pd.DataFrame:
    """The session turns of ``log`` with what the simulated model chose for each before its first token
    (its trace, ``AGENT_SIM_TRACE_PATH``): ``first_token_s`` modelled from the prompt's words,
    ``waited_s`` after jitter. A conversation's n-th model call answered its n-th turn: one call per
    turn (nothing cached), each turn sent after the last was answered."""
    calls = pd.read_json(trace, lines=True, dtype={"conversation": str})
    calls = calls.assign(turn=calls.groupby("conversation").cumcount() + 1)
    turns = log[log.session != ""]
    assert not turns.cached.any(), "a cached turn makes no model call: the trace would not line up"
    joined = turns.merge(calls, left_on=["session", "turn"], right_on=["conversation", "turn"], how="left",
                         validate="one_to_one")
    assert joined.waited_s.notna().all(), joined[joined.waited_s.isna()][["session", "turn"]]
    return joined
