"""How a session's turn carries the conversation (``requests.conversation``) and how an answer's text
and tool calls are read, whole and streamed, for the bundled and the OpenAI-compatible presets."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from harness.schemas.service import ServiceProfile, preset_profile
from harness.target.presets import expand
from harness.target.requests import turn_body
from harness.target.responses import StreamReader, answer_text, tool_calls

HISTORY = [{"role": "user", "content": "first"}, {"role": "assistant", "content": "one"}]


def test_a_stateless_chat_target_gets_the_history_before_the_question() -> None:
    spec = ServiceProfile.model_validate(expand({"preset": "openai", "requests": {"body": {
        "model": "m", "messages": [{"role": "system", "content": "be brief"},
                                   {"role": "user", "content": "{prompt}"}]}}})).requests
    body = turn_body(spec, "second?", HISTORY, session_id="s1", stream=True)
    assert body["messages"] == [{"role": "system", "content": "be brief"}, *HISTORY,
                                {"role": "user", "content": "second?"}]
    assert body["stream"] is True
    first = turn_body(spec, "first", [], session_id="s1")["messages"]
    assert first == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "first"}]


def test_the_bundled_agent_keeps_the_conversation_itself() -> None:
    spec = preset_profile("bundled").requests
    body = turn_body(spec, "second?", HISTORY, session_id="s1", max_tokens=8)
    assert body == {"input": "second?", "session_id": "s1", "max_tokens": 8, "memory": True}


def test_messages_conversation_needs_a_messages_body() -> None:
    with pytest.raises(ValidationError, match="conversation 'messages' needs"):
        ServiceProfile.model_validate(expand({"preset": "openai",
                                              "requests": {"body": {"prompt": "{prompt}"}}}))


def test_whole_answers_text_and_tool_calls() -> None:
    openai = preset_profile("openai").responses
    document = {"choices": [{"message": {"content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": "{}"}}]}}]}
    assert tool_calls(openai, document) == ["calculator:called"] and answer_text(openai, document) == ""
    bundled = preset_profile("bundled").responses
    document = {"answer": "42", "tool_calls": [{"name": "retrieval", "status": "ok"},
                                               {"name": "external_api", "status": "timeout"}]}
    assert tool_calls(bundled, document) == ["retrieval:ok", "external_api:timeout"]
    assert answer_text(bundled, document) == "42" and tool_calls(bundled, {"answer": "x"}) == []


def _frame(delta: dict) -> str:
    return "data: " + orjson.dumps({"choices": [{"index": 0, "delta": delta}]}).decode()


def test_streamed_tool_call_deltas_and_text() -> None:
    reader = StreamReader(preset_profile("openai").responses, start=0.0)
    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": "external_api", "arguments": ""}}
    for t, line in [(0.1, _frame({"role": "assistant", "content": None})),
                    (0.2, _frame({"tool_calls": [call]})),
                    (0.3, _frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": 1}'}}]})),
                    (0.4, "data: [DONE]")]:
        reader.feed(line, t)
    r = reader.result()
    assert r.tools == ["external_api:called"] and r.chunks == 0 and r.ttft is None and r.done
    reader = StreamReader(preset_profile("openai").responses, start=0.0)
    for t, piece in [(0.1, "Hel"), (0.2, "lo")]:
        reader.feed(_frame({"content": piece}), t)
    assert reader.result().text == "Hello" and reader.result().tools == []


def test_the_bundled_streams_final_frame_gives_tools_and_answer() -> None:
    reader = StreamReader(preset_profile("bundled").responses, start=0.0)
    final = {"answer": "ok", "tool_calls": [{"name": "calculator", "status": "ok"}], "degraded": False}
    done = "data: " + orjson.dumps(final).decode()
    for t, line in [(0.1, "data: ok"), (0.2, ""), (0.3, "event: done"), (0.3, done)]:
        reader.feed(line, t)
    r = reader.result()
    assert r.tools == ["calculator:ok"] and r.text == "ok" and r.done
