"""Redirects are never followed, by the load generator or by the harness's own reads: a loopback target
answering 302 to another loopback port gets the requests, and the other port gets nothing (a redirect
could otherwise aim load anywhere)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.errors import GradeError
from harness.grade.prom import Prom
from harness.load import run_scenario
from harness.schemas import RunFolder, ScenarioPlan
from harness.schemas.requests import read_request_log
from tests.integration.load.conftest import checklist, endpoints
from tests.integration.loopback_http import RecordingServer

pytestmark = pytest.mark.integration


@pytest.fixture
def redirecting() -> Iterator[tuple[RecordingServer, RecordingServer]]:
    elsewhere = RecordingServer(200)
    target = RecordingServer(302, {"Location": f"{elsewhere.url}/v1/agent/run"})
    yield target, elsewhere
    for server in (target, elsewhere):
        server.close()


def test_load_is_never_redirected(tmp_path, redirecting) -> None:
    target, elsewhere = redirecting
    folder = RunFolder(tmp_path)
    step = ScenarioPlan(warmup_s=0, steady_s=2, rate_x=1, arrival="constant", stream_share=0)
    run_scenario("target_2x", checklist=checklist(target_2x=step), profile="quick",
                 endpoints=endpoints(target.url), run_folder=folder)
    posts = [h for h in target.hits if h[0] == "POST"]
    assert len(posts) >= 10  # 10 req/s for 2 s reached the target ...
    assert elsewhere.hits == []  # ... and not one request followed its 302
    statuses = set(read_request_log(folder.request_log("target_2x"))["status"])
    assert statuses == {302}  # recorded as answered, not as the redirect's destination's answer


def test_prometheus_reads_are_never_redirected(redirecting) -> None:
    target, elsewhere = redirecting
    prom = Prom(target.url, timeout_s=5)
    try:
        with pytest.raises(GradeError):
            prom.check()
        with pytest.raises(GradeError, match="redirect, which loadgate never follows"):
            prom.api("targets")
    finally:
        prom.close()
    assert len(target.hits) >= 2 and elsewhere.hits == []


def test_a_real_prometheus_passes_without_following_anything(prometheus_for) -> None:
    # Prometheus answers "/" with a redirect to its UI: the check must not depend on following it.
    prom = Prom(prometheus_for({}), timeout_s=5)
    try:
        prom.check()
        assert prom.api("status/buildinfo")["version"]
    finally:
        prom.close()
