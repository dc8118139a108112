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
