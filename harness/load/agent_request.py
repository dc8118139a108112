"""One agent request from a Locust user, and what its answer says: the row the recorder takes."""

from __future__ import annotations

import time
from typing import Any

from locust.contrib.fasthttp import FastHttpUser

from harness.load.corpus import NO_SIZES, RequestSizes, sized_prompt
from harness.load.locust_state import STATE
from harness.load.plan import LoadPlan
from harness.schemas.outcome import classify
from harness.schemas.requests import RequestRow
from harness.target import requests as target_requests
from harness.target.responses import StreamReader, StreamReading, read_body


def _read_stream(response: Any, reader: StreamReader) -> StreamReading:
    """Feed the SSE stream to ``reader`` line by line as it arrives.

    Line by line from geventhttpclient's response: its ``read(n)`` (under Locust's ``iter_content``)
    waits for n bytes, which would date the first token at the end of the stream.
    """
    raw = response._response
    reader.headers(dict(response.headers or {}))
    while raw_line := raw.readline(b"\n"):
        reader.feed(raw_line.decode("utf-8", "replace"), time.time())
    return reader.result()


def send_one(
    user: FastHttpUser, plan: LoadPlan, intended: float, phase: str, session_id: str,
    sizes: RequestSizes = NO_SIZES,
) -> RequestRow:
    """One agent request in the service profile's shape, as the row the recorder takes."""
    assert STATE.picker is not None
    service = plan.service
    spec = service.requests
    stream = bool(spec.stream_path) and STATE.rng.random() < plan.stream_share
    path = target_requests.path(spec, stream)
    prompt = sized_prompt(STATE.picker.pick(), sizes.prompt_tokens)
    body = target_requests.body(spec, prompt, session_id=session_id,
                                max_tokens=sizes.max_tokens(plan.max_tokens), stream=stream)
    headers = target_requests.headers(spec, plan.api_key)
    ttft = itl = tokens = None
    cached = degraded = False
    readable = True
    start = time.time()
    try:
        response = user.client.request(spec.method, path, json=body, headers=headers, name=path,
                                       stream=stream)
        status = int(response.status_code or 0)
        if status == 200 and stream:
            reading = _read_stream(response, StreamReader(service.responses, intended))
            ttft, itl, cached, degraded = reading.ttft, reading.itl, reading.cached, reading.degraded
            # The server's own count when it reports usage, else the token events seen.
            tokens = reading.tokens if reading.tokens is not None else reading.chunks
            readable = reading.readable
        elif status == 200:
            answer = read_body(service.responses, response.content or b"", response.headers or {})
            cached, degraded, readable = answer.cached, answer.degraded, answer.readable
    except Exception:  # noqa: BLE001 - a broken stream mid-body is a failed request, not a crash
        status = 0
    return RequestRow.measured(intended_start=intended, start=start, end=time.time(), status=status,
                               endpoint=path, phase=phase, cached=cached, degraded=degraded,
                               ttft=ttft, itl=itl, outcome=classify(status, readable), output_tokens=tokens)
