"""The readiness answer run.json keeps: the JSON object the profile's ready path returns, else None."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.schemas.service import preset_profile
from harness.target.client import TargetClient

READY = {"ready": True, "deps": {"model": "ok"}, "llm": {"device": "cuda:0", "dtype": "bfloat16"}}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body, status = {"/readyz": (json.dumps(READY), 200), "/redirect": ("", 302)}.get(
            self.path, ("not json", 200))
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/readyz")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _client(url: str, ready_path: str | None) -> TargetClient:
    profile = preset_profile("bundled")
    health = profile.health.model_copy(update={"ready_path": ready_path})
    profile = profile.model_copy(update={"health": health})
    return TargetClient(profile, url)


def test_the_bundled_ready_path_answer_is_kept_whole(url: str) -> None:
    assert _client(url, "/readyz").readiness() == READY


def test_no_ready_path_a_non_json_answer_or_a_redirect_is_none(url: str) -> None:
    assert _client(url, None).readiness() is None
    assert _client(url, "/other").readiness() is None
    assert _client(url, "/redirect").readiness() is None  # never followed
