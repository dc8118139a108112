"""An OpenAI-compatible upstream (``/v1/chat/completions``, streamed) through one pooled client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson

from target_service.config import Settings
from target_service.llm.base import LLM, LLMError


class OpenAILLM(LLM):
    def __init__(self, settings: Settings) -> None:
        self.name = settings.openai_model
        self._settings = settings
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        s = self._settings
        key = s.openai_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        limits = httpx.Limits(max_connections=s.openai_max_connections,
                              max_keepalive_connections=s.openai_max_connections)
        # The service's own LLM timeout bounds each call; this one only stops a hung socket.
        self._client = httpx.AsyncClient(base_url=s.openai_base_url, headers=headers, limits=limits,
                                         timeout=httpx.Timeout(30.0, connect=2.0))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def stream(self, prompt: str, max_tokens: int) -> AsyncIterator[str]:
        assert self._client is not None, "start() not called"
        body = {"model": self.name, "messages": [{"role": "user", "content": prompt}],
                "max_tokens": max_tokens, "stream": True}
        try:
            async with self._client.stream("POST", "/v1/chat/completions", json=body) as resp:
                if resp.status_code != 200:
                    raise LLMError(f"upstream answered {resp.status_code}: {(await resp.aread())[:200]!r}")
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    choices = orjson.loads(data).get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        yield piece
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise LLMError(f"upstream {self._settings.openai_base_url}: {exc!r}") from exc
