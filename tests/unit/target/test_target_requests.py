"""Requests built from the profile, answers and streams read with it."""

from __future__ import annotations

import orjson

from harness.schemas.service import ResponseSpec, preset_profile
from harness.target import requests as req
from harness.target import responses
from harness.target.responses import StreamReader, pointer, read_body


def test_bundled_body_drops_max_tokens_when_unset() -> None:
    spec = preset_profile("bundled").requests
    assert req.body(spec, "hi", session_id="s1") == {"input": "hi", "session_id": "s1"}
    assert req.body(spec, "hi", session_id="s1", max_tokens=8)["max_tokens"] == 8
    assert req.path(spec, stream=True) == "/v1/agent/stream"


def test_openai_body_streams_with_usage_and_keeps_types() -> None:
    spec = preset_profile("openai").requests
    body = req.body(spec, "why?", max_tokens=16, stream=True)
    assert body["messages"] == [{"role": "user", "content": "why?"}]
    assert body["max_tokens"] == 16 and body["stream"] is True
    assert "user" not in body  # no session id: the key is left out, not sent empty
    assert req.path(spec, stream=True) == "/v1/chat/completions"


def test_auth_schemes() -> None:
    spec = preset_profile("bundled").requests
    assert req.headers(spec, "k") == {"Authorization": "Bearer k"}
    raw = spec.model_copy(update={"auth": "header", "auth_header": "X-Api-Key"})
    assert req.headers(raw, "k") == {"X-Api-Key": "k"}
    assert req.headers(spec.model_copy(update={"auth": "none"}), "k") == {}


def test_json_pointer() -> None:
    doc = {"a": [{"b/c": 1}], "t~": 2}
    assert pointer(doc, "/a/0/b~1c") == 1 and pointer(doc, "/t~0") == 2
    assert pointer(doc, "/a/3") is responses._MISSING and pointer(doc, "/x/y") is responses._MISSING


def test_read_body_markers_and_unreadable() -> None:
    spec = preset_profile("bundled").responses
    r = read_body(spec, b'{"output": "x", "cached": true, "degraded": false}')
    assert (r.readable, r.cached, r.degraded) == (True, True, False)
    assert read_body(spec, b"<html>oops</html>").readable is False
    by_header = ResponseSpec(degraded={"header": "X-Degraded"})
    assert read_body(by_header, b"plain", {"x-degraded": "true"}).degraded is True


def test_loadgate_sse() -> None:
    reader = StreamReader(preset_profile("bundled").responses, start=100.0)
    for t, line in [(100.5, "data: a"), (100.5, ""), (100.7, "data: b"), (100.7, ""),
                    (101.0, "event: done"), (101.0, 'data: {"cached": false, "degraded": true}')]:
        reader.feed(line, t)
    r = reader.result()
    assert r.ttft == 0.5 and abs(r.itl - 0.2) < 1e-9 and r.degraded and not r.cached and r.done


def test_openai_sse_tokens_usage_done() -> None:
    def chunk(content: str | None, usage: dict | None = None) -> str:
        delta = {} if content is None else {"content": content}
        body = {"choices": [{"index": 0, "delta": delta}] if usage is None else [], "usage": usage}
        return "data: " + orjson.dumps(body).decode()

    reader = StreamReader(preset_profile("openai").responses, start=10.0)
    lines = [(10.1, chunk(None)), (10.2, chunk("Hel")), (10.3, chunk("lo")), (10.6, chunk("!")),
             (10.6, chunk(None, {"completion_tokens": 3})), (10.7, "data: [DONE]")]
    for t, line in lines:
        reader.feed(line, t)
    r = reader.result()
    assert abs(r.ttft - 0.2) < 1e-9 and abs(r.itl - 0.2) < 1e-9
    assert (r.tokens, r.chunks, r.done) == (3, 3, True)


def test_unreadable_frames_and_bodies() -> None:
    spec = preset_profile("bundled").responses
    assert read_body(spec, b"[1, 2]").readable is False  # JSON, but not the object the markers live in
    reader = StreamReader(spec, start=0.0)
    for line in ["data: a", "", "event: done", "data: <html>"]:
        reader.feed(line, 1.0)
    assert reader.result().readable is False
    openai = StreamReader(preset_profile("openai").responses, start=0.0)
    openai.feed('data: {"choices": [{"delta": {"content": "x"}}]}', 0.5)
    openai.feed("data: [DONE]", 0.6)
    assert openai.result().readable is True
