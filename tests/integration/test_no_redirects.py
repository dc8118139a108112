"""Redirects are never followed, by the load generator or by the harness's own reads: a loopback target
answering 302 to another loopback port gets the requests, and the other port gets nothing (a redirect
could otherwise aim load anywhere)."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.errors import GradeError
from harness.grade.prom import Prom
from harness.load import run_scenario
from harness.schemas import RunFolder, ScenarioPlan
from tests.integration.load.conftest import checklist, endpoints

pytestmark = pytest.mark.integration


class _Counting(BaseHTTPRequestHandler):
    """Counts what reaches it; GET /healthz answers 200, everything else ``server.answer``."""

    def _handle(self) -> None:
        self.server.hits.append((self.command, self.path))  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.command == "GET" and self.path == "/healthz":
            self.send_response(200)
        else:
            status, location = self.server.answer  # type: ignore[attr-defined]
            self.send_response(status)
            if location:
                self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args: object) -> None:
        pass


def _serve(answer: tuple[int, str | None]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.hits, server.answer = [], answer  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def redirecting() -> Iterator[tuple[ThreadingHTTPServer, ThreadingHTTPServer]]:
    elsewhere = _serve((200, None))
    target = _serve((302, f"http://127.0.0.1:{elsewhere.server_address[1]}/v1/agent/run"))
    yield target, elsewhere
    for server in (target, elsewhere):
        server.shutdown()
        server.server_close()


def test_load_is_never_redirected(tmp_path, redirecting) -> None:
    target, elsewhere = redirecting
    folder = RunFolder(tmp_path)
    step = ScenarioPlan(warmup_s=0, steady_s=2, rate_x=1, arrival="constant", stream_share=0)
    run_scenario("target_2x", checklist=checklist(target_2x=step), profile="quick",
                 endpoints=endpoints(f"http://127.0.0.1:{target.server_address[1]}"), run_folder=folder)
    posts = [h for h in target.hits if h[0] == "POST"]
    assert len(posts) >= 10  # 10 req/s for 2 s reached the target ...
    assert elsewhere.hits == []  # ... and not one request followed its 302
    with folder.request_log("target_2x").open() as fh:
        statuses = {row["status"] for row in csv.DictReader(fh)}
    assert statuses == {"302"}  # recorded as answered, not as the redirect's destination's answer


def test_prometheus_reads_are_never_redirected(redirecting) -> None:
    target, elsewhere = redirecting
    prom = Prom(f"http://127.0.0.1:{target.server_address[1]}", timeout_s=5)
    try:
        with pytest.raises(GradeError):
            prom.check()
        with pytest.raises(GradeError, match="redirect, which loadgate never follows"):
            prom.api("targets")
    finally:
        prom.close()
    assert len(target.hits) >= 2 and elsewhere.hits == []
