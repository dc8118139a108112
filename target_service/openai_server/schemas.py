"""The OpenAI API's request and response bodies, the parts this server speaks."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

MAX_TOKENS = 256  # the bundled service's own bound (target_service/schemas.py)


class _Request(BaseModel):
    # Unknown fields (temperature, top_p, user, ...) are accepted and ignored, as lenient servers do.
    model_config = ConfigDict(extra="ignore")

    model: StrictStr = Field(min_length=1)


class TextPart(BaseModel):
    type: Literal["text"]
    text: StrictStr


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: StrictStr | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class _Generation(_Request):
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Literal[1] = 1  # one choice per request: more is refused, not silently ignored

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class Function(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr = Field(min_length=1)


class Tool(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["function"]
    function: Function


class ChatRequest(_Generation):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict | None = None
    user: StrictStr | None = None  # the end user (a session id): names the conversation in the sim's trace

    def tools_to_call(self) -> list[tuple[str, str]]:
        """(name, JSON arguments) of the offered tools this question needs, chosen as the bundled agent
        chooses (the model is too small to): only when the last message is the user's, and
        tool_choice is not "none"."""
        from target_service.tools import plan_tools

        offered = [t.function.name for t in self.tools or []]
        question = self.messages[-1].text()
        if not offered or self.tool_choice == "none" or self.messages[-1].role != "user":
            return []
        arguments = json.dumps({"input": question})
        return [(name, arguments) for name in plan_tools(question) if name in offered]

    def prompt(self) -> str:
        return "\n".join(f"{m.role}: {m.text()}" for m in self.messages) + "\nassistant:"

    def token_budget(self, default: int) -> int:
        return self.max_completion_tokens or self.max_tokens or default


class CompletionRequest(_Generation):
    prompt: StrictStr | list[StrictStr] = Field(min_length=1)

    def text(self) -> str:
        """One prompt per request; a list must hold exactly one."""
        if isinstance(self.prompt, list):
            if len(self.prompt) != 1:
                raise ValueError("only one prompt per request is supported")
            return self.prompt[0]
        return self.prompt

    def token_budget(self) -> int:
        return self.max_tokens or 16  # OpenAI's default for /v1/completions


class EmbeddingRequest(_Request):
    input: StrictStr | list[StrictStr] = Field(min_length=1)
    encoding_format: Literal["float"] = "float"

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int = 0
    total_tokens: int
