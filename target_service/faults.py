"""Injected faults, shared by all workers through a small JSON file in the state directory.

Each worker re-reads the file when its mtime changes, looking at most every ``poll_s`` seconds, so a
``PUT /admin/faults`` answered by one worker reaches the others within that time.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, Field


class FaultSpec(BaseModel):
    """Mirror of ``harness.schemas.checklist.FaultSpec`` (the service imports nothing from harness)."""

    model_config = ConfigDict(extra="forbid")

    llm_delay_s: float = Field(0.0, ge=0, le=600)
    llm_jitter_s: float = Field(0.0, ge=0, le=600)
    llm_error_rate: float = Field(0.0, ge=0, le=1)
    redis_down: bool = False
    # The agent's external API tool: extra latency per call, and a share of calls that fail.
    tool_delay_s: float = Field(0.0, ge=0, le=600)
    tool_error_rate: float = Field(0.0, ge=0, le=1)
    # A lease: the faults end by themselves this long after they were last PUT, so a load driver
    # that dies without clearing them (SIGKILL) cannot leave the service slowed down. None: until
    # cleared.
    ttl_s: float | None = Field(None, gt=0, le=3600)


class _Stored(FaultSpec):
    expires_at: float | None = None  # wall clock, shared by every worker reading the file


class InjectedLLMError(RuntimeError):
    pass


class FaultStore:
    def __init__(self, state_dir: Path, poll_s: float) -> None:
        self.path = state_dir / "faults.json"
        self._poll_s = poll_s
        self._checked = 0.0
        self._mtime: float | None = None
        self._spec = FaultSpec()
        self._expires_at: float | None = None

    def current(self) -> FaultSpec:
        now = time.monotonic()
        if self._expires_at is not None and time.time() >= self._expires_at:
            self._spec, self._expires_at = FaultSpec(), None
        if now - self._checked >= self._poll_s:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                self._mtime, self._spec, self._expires_at = None, FaultSpec(), None
                return self._spec
            if mtime != self._mtime:
                try:
                    stored = _Stored.model_validate_json(self.path.read_bytes())
                except ValueError:
                    return self._spec  # caught mid-write by another process; retry next poll
                self._mtime, self._expires_at = mtime, stored.expires_at
                expired = stored.expires_at is not None and time.time() >= stored.expires_at
                live = FaultSpec(**stored.model_dump(exclude={"expires_at"}))
                self._spec = FaultSpec() if expired else live
        return self._spec

    def set(self, spec: FaultSpec) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        expires_at = time.time() + spec.ttl_s if spec.ttl_s else None
        tmp.write_bytes(orjson.dumps({**spec.model_dump(), "expires_at": expires_at}))
        os.replace(tmp, self.path)  # atomic: readers see the old or the new file, never half
        self._checked = 0.0

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self._checked = 0.0

    async def apply_to_llm(self) -> None:
        """Runs inside the timed LLM call, so timeouts and the breaker see a genuinely slow model."""
        spec = self.current()
        delay = spec.llm_delay_s + (random.uniform(0, spec.llm_jitter_s) if spec.llm_jitter_s else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if spec.llm_error_rate and random.random() < spec.llm_error_rate:
            raise InjectedLLMError("injected LLM error")
