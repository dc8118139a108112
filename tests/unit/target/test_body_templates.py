"""Body templates are compiled once and filled per request: the same bodies as walking the template."""

from __future__ import annotations

from harness.schemas.service import preset_profile
from harness.target import requests as req


def test_nested_template_fills_drops_and_keeps_types() -> None:
    spec = preset_profile("openai").requests.model_copy(update={"body": {
        "model": "m", "n": 2, "flag": None,
        "messages": [{"role": "system", "content": "be brief, {session_id}"},
                     {"role": "user", "content": "{prompt}"}],
        "max_tokens": "{max_tokens}", "user": "{session_id}",
        "tags": ["{session_id}", "fixed", "q: {prompt}"],
    }})
    assert req.body(spec, "why?", session_id="s9", max_tokens=7) == {
        "model": "m", "n": 2, "flag": None,
        "messages": [{"role": "system", "content": "be brief, s9"}, {"role": "user", "content": "why?"}],
        "max_tokens": 7, "user": "s9", "tags": ["s9", "fixed", "q: why?"],
    }
    bare = req.body(spec, "why?")
    assert "max_tokens" not in bare and "user" not in bare  # whole-value placeholders with no value
    assert bare["tags"] == ["fixed", "q: why?"] and bare["messages"][0]["content"] == "be brief, "


def test_each_request_gets_its_own_body() -> None:
    spec = preset_profile("bundled").requests
    first = req.body(spec, "a", session_id="s1")
    first["input"] = "changed"
    assert req.body(spec, "b", session_id="s2") == {"input": "b", "session_id": "s2"}


def test_a_copy_with_another_stream_body_is_compiled_anew() -> None:
    spec = preset_profile("openai").requests
    assert req.body(spec, "x", stream=True)["stream"] is True
    no_usage = {"stream": True, "stream_options": {"include_usage": False}}
    other = spec.model_copy(update={"stream_body": no_usage})
    assert other.body is spec.body  # a shallow copy shares the body: the cache must tell them apart
    assert req.body(other, "x", stream=True)["stream_options"] == {"include_usage": False}
    assert req.body(spec, "x", stream=True) == req.body(spec, "x", stream=True)
