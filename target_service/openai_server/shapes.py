"""How an answer is shaped for each endpoint, whole or as stream chunks: ``/v1/chat/completions``
(``message`` / ``delta``) and ``/v1/completions`` (``text``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from target_service.llm.base import LLMError
from target_service.openai_server.schemas import Usage

Choice = dict[str, Any]


@dataclass(frozen=True)
class Shape:
    id_prefix: str
    whole: str  # "object" of a whole answer
    chunk: str  # "object" of a stream chunk
    whole_choice: Callable[[str, str], Choice]  # (text, finish_reason)
    piece_choice: Callable[[str | None, str | None], Choice]  # (piece or None, finish_reason or None)
    opening: Choice | None  # a first chunk before any token (chat announces the role)


CHAT = Shape(
    "chatcmpl", "chat.completion", "chat.completion.chunk",
    lambda text, finish: {"index": 0, "message": {"role": "assistant", "content": text},
                          "logprobs": None, "finish_reason": finish},
    lambda piece, finish: {"index": 0, "delta": {} if piece is None else {"content": piece},
                           "logprobs": None, "finish_reason": finish},
    {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None},
)
TEXT = Shape(
    "cmpl", "text_completion", "text_completion",
    lambda text, finish: {"index": 0, "text": text, "logprobs": None, "finish_reason": finish},
    lambda piece, finish: {"index": 0, "text": piece or "", "logprobs": None, "finish_reason": finish},
    None,
)


def finish_reason(produced: int, budget: int) -> str:
    return "length" if produced >= budget else "stop"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                 total_tokens=prompt_tokens + completion_tokens).model_dump()


class Answer:
    """One generation's identity and the envelope every body or chunk of it shares."""

    def __init__(self, shape: Shape, model: str, prompt_tokens: int, budget: int) -> None:
        self.shape, self.model, self.prompt_tokens, self.budget = shape, model, prompt_tokens, budget
        self.id = f"{shape.id_prefix}-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _envelope(self, obj: str, choices: list[Choice]) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "choices": choices}

    def whole(self, pieces: list[str]) -> dict[str, Any]:
        body = self._envelope(self.shape.whole, [
            self.shape.whole_choice("".join(pieces), finish_reason(len(pieces), self.budget))])
        body["usage"] = usage(self.prompt_tokens, len(pieces))
        return body

    async def sse(self, pieces: AsyncIterator[str], include_usage: bool) -> AsyncIterator[bytes]:
        """Server-Sent Events: a chunk per token, the finish reason, usage if asked, then ``[DONE]``."""
        extra = {"usage": None} if include_usage else {}

        def frame(choices: list[Choice], **fields: Any) -> bytes:
            return b"data: " + orjson.dumps({**self._envelope(self.shape.chunk, choices), **fields}) + b"\n\n"

        produced = 0
        try:
            if self.shape.opening is not None:
                yield frame([self.shape.opening], **extra)
            async for piece in pieces:
                produced += 1
                yield frame([self.shape.piece_choice(piece, None)], **extra)
            yield frame([self.shape.piece_choice(None, finish_reason(produced, self.budget))], **extra)
            if include_usage:
                yield frame([], usage=usage(self.prompt_tokens, produced))
        except LLMError as exc:  # headers are gone: the error travels in the stream, as OpenAI's does
            yield b"data: " + orjson.dumps({"error": {"message": str(exc), "type": "server_error",
                                                      "param": None, "code": None}}) + b"\n\n"
        yield b"data: [DONE]\n\n"


def tool_call(index: int, name: str, arguments: str) -> dict[str, Any]:
    return {"index": index, "id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
            "function": {"name": name, "arguments": arguments}}


class ToolAnswer(Answer):
    """A chat answer that calls tools instead of answering: ``finish_reason: tool_calls``; streamed,
    each call's name comes in one delta and its arguments in the next, as OpenAI streams them."""

    def __init__(self, model: str, prompt_tokens: int, budget: int, calls: list[tuple[str, str]]) -> None:
        super().__init__(CHAT, model, prompt_tokens, budget)
        self.calls = calls

    def whole(self, pieces: list[str]) -> dict[str, Any]:
        message = {"role": "assistant", "content": None,
                   "tool_calls": [{k: v for k, v in tool_call(i, n, a).items() if k != "index"}
                                  for i, (n, a) in enumerate(self.calls)]}
        body = self._envelope(CHAT.whole, [{"index": 0, "message": message, "logprobs": None,
                                            "finish_reason": "tool_calls"}])
        body["usage"] = usage(self.prompt_tokens, len(self.calls))
        return body

    async def sse(self, pieces: AsyncIterator[str], include_usage: bool) -> AsyncIterator[bytes]:
        extra = {"usage": None} if include_usage else {}

        def frame(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return b"data: " + orjson.dumps({**self._envelope(CHAT.chunk, [choice]), **extra}) + b"\n\n"

        yield frame({"role": "assistant", "content": None})
        for i, (name, arguments) in enumerate(self.calls):
            call = tool_call(i, name, "")
            yield frame({"tool_calls": [call]})
            yield frame({"tool_calls": [{"index": i, "function": {"arguments": arguments}}]})
        yield frame({}, "tool_calls")
        if include_usage:
            yield b"data: " + orjson.dumps({**self._envelope(CHAT.chunk, []),
                                             "usage": usage(self.prompt_tokens, len(self.calls))}) + b"\n\n"
        yield b"data: [DONE]\n\n"
