"""One agent request from a Locust user, and what its answer says: the row the recorder takes."""

from __future__ import annotations

import time
from typing import Any

import orjson
from locust.contrib.fasthttp import FastHttpUser

from harness.load.corpus import NO_SIZES, RequestSizes, sized_prompt
from harness.load.locust_state import STATE
from harness.load.plan import LoadPlan
from harness.schemas.outcome import classify
from harness.schemas.requests import RequestRow

RUN_PATH = "/v1/agent/run"
STREAM_PATH = "/v1/agent/stream"


def _final_flags(body: Any) -> tuple[bool, bool]:
    """(cached, degraded) from the service's JSON answer; ValueError when it is not a JSON object."""
    if not isinstance(body, dict):
        raise ValueError(f"answer is a JSON {type(body).__name__}, not an object")
    return bool(body.get("cached")), bool(body.get("degraded"))


def _read_stream(response: Any, start: float) -> tuple[float | None, float | None, bool, bool, bool, int]:
    """(ttft from start, mean inter-token gap, cached, degraded, readable, token events) from the
    service's SSE stream; unreadable when its final ``done`` event is not a JSON object.

    Line by line from geventhttpclient's response: its ``read(n)`` (under Locust's ``iter_content``)
    waits for n bytes, which would date the first token at the end of the stream.
    """
    raw = response._response
    first = last = None
    gaps: list[float] = []
    cached = degraded = False
    readable = True
    event = "message"
    while raw_line := raw.readline(b"\n"):
        line = raw_line.decode("utf-8", "replace").strip()
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            now = time.time()
            if event == "done":
                try:
                    cached, degraded = _final_flags(orjson.loads(line[5:]))
                except ValueError:
                    readable = False
            else:
                if first is None:
                    first = now - start
                elif last is not None:
                    gaps.append(now - last)
                last = now
        elif not line:
            event = "message"
    tokens = len(gaps) + (first is not None)
    return first, (sum(gaps) / len(gaps) if gaps else None), cached, degraded, readable, tokens


def send_one(
    user: FastHttpUser, plan: LoadPlan, intended: float, phase: str, session_id: str,
    sizes: RequestSizes = NO_SIZES,
) -> RequestRow:
    """One agent request, as the row the recorder takes."""
    assert STATE.picker is not None
    stream = STATE.rng.random() < plan.stream_share
    path = STREAM_PATH if stream else RUN_PATH
    prompt = sized_prompt(STATE.picker.pick(), sizes.prompt_tokens)
    body: dict[str, Any] = {"input": prompt, "session_id": session_id}
    max_tokens = sizes.max_tokens(plan.max_tokens)
    if max_tokens:
        body["max_tokens"] = max_tokens
    headers = {"Authorization": f"Bearer {plan.api_key}"}
    ttft = itl = tokens = None
    cached = degraded = False
    readable = True
    start = time.time()
    try:
        response = user.client.post(path, json=body, headers=headers, name=path, stream=stream)
        status = int(response.status_code or 0)
        if status == 200 and stream:
            ttft, itl, cached, degraded, readable, tokens = _read_stream(response, intended)
        elif status == 200:
            try:
                cached, degraded = _final_flags(orjson.loads(response.content or b""))
            except ValueError:  # orjson.JSONDecodeError is a ValueError: an answer nobody can read
                readable = False
    except Exception:  # noqa: BLE001 - a broken stream mid-body is a failed request, not a crash
        status = 0
    return RequestRow.measured(intended_start=intended, start=start, end=time.time(), status=status,
                               endpoint=path, phase=phase, cached=cached, degraded=degraded,
                               ttft=ttft, itl=itl, outcome=classify(status, readable), output_tokens=tokens)
