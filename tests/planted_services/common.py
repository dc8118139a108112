"""What every planted style shares: the command line, the request body, the fault schedule, the
"agent" (a sleep standing in for the LLM) and the loopback-only server."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

LOOPBACK = "127.0.0.1"  # tests never listen on another address
MODEL = "planted-llm"


class AgentRequest(BaseModel):
    input: str = Field(min_length=1, max_length=4000)
    session_id: str | None = Field(None, max_length=128)
    max_tokens: int | None = Field(None, ge=1, le=256)


@dataclass
class Faults:
    """Every n-th agent request fails (500) or is slow; 0 turns a fault off."""

    error_every: int = 0
    slow_every: int = 0
    slow_s: float = 4.2
    service_time_s: float = 0.005
    api_keys: list[str] = field(default_factory=list)  # empty: no auth
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def check_key(self, request: Request) -> None:
        if not self.api_keys:
            return
        key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if key not in self.api_keys:
            raise HTTPException(status_code=401, detail="invalid API key")

    async def answer(self, body: AgentRequest) -> tuple[dict[str, object], float]:
        """The agent's work: (answer, seconds its "LLM" took); raises HTTPException(500) when planted."""
        n = next(self._counter)
        started = time.perf_counter()
        await asyncio.sleep(self.service_time_s)
        if self.slow_every and n % self.slow_every == 0:
            await asyncio.sleep(self.slow_s)
        llm_s = time.perf_counter() - started
        if self.error_every and n % self.error_every == 0:
            raise HTTPException(status_code=500, detail="planted error")
        answer = {"request_id": uuid.uuid4().hex, "answer": f"planted answer to {len(body.input)} characters",
                  "model": MODEL, "session_id": body.session_id}
        return answer, llm_s


def every(share: float) -> int:
    """Share of requests -> n of "every n-th" (0.005 -> 200)."""
    return round(1 / share) if share > 0 else 0


def parser(style: str, metrics_port: str) -> argparse.ArgumentParser:
    """metrics_port: "required", "optional" or "none" (metrics served by the app itself)."""
    p = argparse.ArgumentParser(prog=f"python -m tests.planted_services.{style}")
    p.add_argument("--port", type=int, required=True)
    if metrics_port != "none":
        p.add_argument("--metrics-port", type=int, required=metrics_port == "required")
    p.add_argument("--error-share", type=float, default=0.0, help="share of requests answering 500")
    p.add_argument("--slow-share", type=float, default=0.0, help="share of requests taking --slow-s longer")
    p.add_argument("--slow-s", type=float, default=4.2)
    p.add_argument("--service-time-s", type=float, default=0.005, help="every request's work")
    p.add_argument("--api-key", action="append", dest="api_keys", default=[],
                   help="accept only these Bearer keys (repeatable; none given: no auth)")
    return p


def faults_from(args: argparse.Namespace) -> Faults:
    return Faults(error_every=every(args.error_share), slow_every=every(args.slow_share), slow_s=args.slow_s,
                  service_time_s=args.service_time_s, api_keys=args.api_keys)


def add_health(app: FastAPI) -> None:
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}


def serve(app: FastAPI, port: int) -> None:
    uvicorn.run(app, host=LOOPBACK, port=port, log_level="warning", access_log=False)
