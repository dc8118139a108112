"""The one interface every backend implements, and the per-process singleton."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextvars import ContextVar

from target_service.config import Settings

# The conversation (session id) a backend call answers, set per request by the server that knows it;
# the simulated backend's trace names it, so a test can join the trace to its request log.
CONVERSATION: ContextVar[str] = ContextVar("conversation", default="")


class LLMError(RuntimeError):
    """The backend failed to produce an answer (upstream error, bad response)."""


class LLM(ABC):
    name: str

    async def start(self) -> None:  # noqa: B027 - optional hook, most backends need nothing
        """Load weights / open connections. Called once per process before serving."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what start() acquired."""

    def describe(self) -> dict[str, object]:
        """What /readyz reports about the backend; the local one adds where its model runs."""
        return {"backend": type(self).__name__, "model": self.name}

    @abstractmethod
    def stream(self, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        """Yields the answer piece by piece as it is generated."""


_instance: LLM | None = None


def get_llm(settings: Settings) -> LLM:
    """The process's single backend instance: weights are loaded once, never per request."""
    global _instance
    if _instance is None:
        if settings.llm_backend == "local":
            from target_service.llm.local import LocalLLM
            _instance = LocalLLM(settings)
        elif settings.llm_backend == "openai":
            from target_service.llm.openai import OpenAILLM
            _instance = OpenAILLM(settings)
        else:
            from target_service.llm.simulated import SimulatedLLM
            _instance = SimulatedLLM(settings)
    return _instance
