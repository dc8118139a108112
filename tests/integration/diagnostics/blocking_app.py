"""A planted service for the diagnosis test: its async handler makes a blocking call on the loop."""

from __future__ import annotations

import time

from fastapi import FastAPI

app = FastAPI()


def lookup_answer() -> str:
    time.sleep(0.2)  # the planted fault: a sync call inside an async handler blocks the event loop
    return "ok"


@app.post("/v1/agent/run")
async def run() -> dict[str, str]:
    return {"answer": lookup_answer()}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
