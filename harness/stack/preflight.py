"""The preflight: one agent request with the run's key before any load. A refused key (401/403), a
redirect, a request the service rejects as malformed, or a 200 that cannot be read stops the run with
the reason; a 429 or a 5xx does not (the gate measures those)."""

from __future__ import annotations

import httpx

from harness.errors import PreflightError
from harness.target.client import TargetClient
from harness.target.responses import read_body

PROMPT = "loadgate preflight: are you ready for a load test?"
_NOT_JUDGED_HERE = {408, 429}  # the service is busy, not wrong: the run will show it


def preflight(target: TargetClient, timeout_s: float = 60.0) -> int:
    """Send the request; return its status, or raise PreflightError saying what was wrong."""
    method, url, _, _ = target.request(PROMPT)
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as http:
        try:
            response = target.send(http, PROMPT, session_id="loadgate-preflight")
        except httpx.HTTPError as exc:
            raise PreflightError(f"preflight: {method} {url} got no answer: {exc!r}") from exc
    status = response.status_code
    where = f"preflight: {method} {url} answered {status}"
    if status in (401, 403):
        raise PreflightError(f"{where} to the API key given (LOADGATE_API_KEY or --api-key-file): the key is "
                             "missing, wrong or not allowed there; no load was sent")
    if 300 <= status < 400:
        raise PreflightError(f"{where} (to {response.headers.get('location', '?')}); loadgate never "
                             "follows redirects: give the URL that serves the API itself")
    if 400 <= status < 500 and status not in _NOT_JUDGED_HERE:
        raise PreflightError(f"{where}: the service rejects the request the profile builds; check "
                             f"service.requests (path, body, auth) — it said: {response.text[:200]!r}")
    if 200 <= status < 300 and not read_body(target.profile.responses, response.content,
                                              response.headers).readable:
        raise PreflightError(f"{where} with a body that is not the JSON the profile requires "
                             f"(service.responses.require_json): {response.text[:200]!r}")
    return status
