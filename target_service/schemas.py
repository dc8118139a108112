"""Request and response bodies of the public API (these shape the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class AgentRequest(BaseModel):
    # Bounds are checked again against settings in the route (they are configurable).
    model_config = ConfigDict(extra="ignore")

    input: StrictStr = Field(min_length=1, max_length=4000, description="The user's question")
    session_id: StrictStr | None = Field(None, max_length=128)
    max_tokens: StrictInt | None = Field(None, ge=1, le=256, description="Answer length in tokens")
    memory: StrictBool = Field(False, description="Keep this session's conversation and answer with it "
                               "(needs session_id); each turn's prompt carries the history")


class Source(BaseModel):
    id: str
    title: str
    score: float


class Timings(BaseModel):
    total_ms: float
    retrieval_ms: float
    llm_ms: float


class ToolCallInfo(BaseModel):
    name: str
    status: str = Field(description="ok, error or timeout (then a fallback was used)")
    latency_ms: float


class AgentResponse(BaseModel):
    request_id: str
    answer: str
    sources: list[Source]
    cached: bool
    degraded: bool
    degraded_reason: str | None = None
    model: str
    timings: Timings
    tool_calls: list[ToolCallInfo] = Field(default_factory=list)
    session_id: str | None = None  # with memory: the conversation, this turn's index, memory state
    turn: int | None = None
    memory: str | None = None


class ErrorBody(BaseModel):
    error: str
    detail: object | None = None
    request_id: str | None = None


class DependencyStatus(BaseModel):
    ready: bool
    deps: dict[str, str]
    llm: dict[str, str | bool | None] | None = None  # backend, model; local: device, dtype, quantization
