"""The OpenAI-compatible server's tool calls: offered tools the question needs (chosen as the bundled
agent chooses) are called instead of answered, whole and streamed as OpenAI streams them."""

from __future__ import annotations

import asyncio

import orjson

from target_service.openai_server.schemas import ChatRequest
from target_service.openai_server.shapes import ToolAnswer

TOOLS = [{"type": "function", "function": {"name": n}} for n in ("calculator", "external_api")]


def _request(*messages: tuple[str, str], **extra: object) -> ChatRequest:
    chat = [{"role": r, "content": c} for r, c in messages]
    return ChatRequest.model_validate({"model": "m", "messages": chat, **extra})


def test_the_offered_tools_a_question_needs() -> None:
    one = _request(("user", "What is 12 * 40?"), tools=TOOLS).tools_to_call()
    assert [n for n, _ in one] == ["calculator"]
    both = _request(("user", "Look up order 7 and add 2 + 3"), tools=TOOLS).tools_to_call()
    assert [n for n, _ in both] == ["calculator", "external_api"]
    assert orjson.loads(both[0][1]) == {"input": "Look up order 7 and add 2 + 3"}
    assert _request(("user", "What is 12 * 40?")).tools_to_call() == []  # none offered
    assert _request(("user", "What is 12 * 40?"), tools=TOOLS[1:]).tools_to_call() == []  # not this one
    assert _request(("user", "What is 12 * 40?"), tools=TOOLS, tool_choice="none").tools_to_call() == []
    assert _request(("user", "Why?"), tools=TOOLS).tools_to_call() == []
    assert _request(("user", "12 * 4"), ("tool", "48"), tools=TOOLS).tools_to_call() == []  # a result came


def test_a_tool_answer_whole_and_streamed() -> None:
    answer = ToolAnswer("m", 10, 16, [("calculator", '{"input": "2 + 2"}')])
    whole = answer.whole([])
    choice = whole["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    call = choice["message"]["tool_calls"][0]
    assert call["function"] == {"name": "calculator", "arguments": '{"input": "2 + 2"}'} and call["id"]

    async def frames() -> list[bytes]:
        async def nothing():  # noqa: ANN202
            return
            yield

        return [f async for f in answer.sse(nothing(), include_usage=True)]

    chunks = [orjson.loads(f[6:]) for f in asyncio.run(frames()) if f != b"data: [DONE]\n\n"]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[1]["tool_calls"][0]["function"]["name"] == "calculator"
    assert deltas[2]["tool_calls"][0]["function"]["arguments"] == '{"input": "2 + 2"}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["completion_tokens"] == 1
