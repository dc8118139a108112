"""The agent's tools and the deterministic choice of which to call (the bundled model is too small to
choose): a calculator for arithmetic in the question, and an "external API" for look-ups, with its own
timeout, a fallback and a fault knob (``tool_delay_s``, ``tool_error_rate`` in ``/admin/faults``).
Retrieval, the third tool, is the agent's HNSW search; every call is timed and counted here.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import operator
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from target_service import metrics
from target_service.faults import FaultStore

CALCULATOR, EXTERNAL, RETRIEVAL = "calculator", "external_api", "retrieval"
_ARITHMETIC = re.compile(r"[-(]*\d+(?:\.\d+)?(?:\s*[-+*/]\s*[(]*\d+(?:\.\d+)?[)]*)+")
_LOOKUP = re.compile(r"\b(look up|lookup|status of|order|ticket|weather|price)\b", re.IGNORECASE)
_OPS: dict[type, Callable[[Any, Any], Any]] = {ast.Add: operator.add, ast.Sub: operator.sub,
                                               ast.Mult: operator.mul, ast.Div: operator.truediv}


class ToolError(RuntimeError):
    pass


@dataclass
class ToolCall:
    """One call as the response lists it; ``result`` goes into the prompt, not into the response."""

    name: str
    status: str  # ok | error | timeout
    latency_ms: float
    result: str = ""

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "latency_ms": self.latency_ms}


def plan_tools(text: str) -> list[str]:
    """Which tools a question needs, besides retrieval: the same answer for the same text."""
    wanted = []
    if _ARITHMETIC.search(text):
        wanted.append(CALCULATOR)
    if _LOOKUP.search(text):
        wanted.append(EXTERNAL)
    return wanted


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    raise ToolError("not arithmetic")


def calculate(text: str) -> str:
    """The first arithmetic expression in the text, evaluated (numbers and + - * / only, no eval)."""
    match = _ARITHMETIC.search(text)
    if match is None:
        raise ToolError("no expression")
    expression = match.group(0)
    try:
        value = _evaluate(ast.parse(expression.strip(), mode="eval").body)
    except (SyntaxError, ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise ToolError(f"cannot evaluate {expression!r}: {exc}") from None
    return f"{expression.strip()} = {value:g}"


class ExternalAPI:
    """A stand-in for a third-party API: a few milliseconds normally; slow or failing under a fault."""

    base_latency_s = 0.02

    def __init__(self, faults: FaultStore) -> None:
        self._faults = faults

    async def call(self, text: str) -> str:
        spec = self._faults.current()
        await asyncio.sleep(self.base_latency_s + spec.tool_delay_s)
        if spec.tool_error_rate and random.random() < spec.tool_error_rate:
            raise ToolError("external API answered 503")
        ref = hashlib.sha256(text.lower().encode()).hexdigest()[:8]
        return f"record {ref}: open, updated today"


async def timed(name: str, call: Callable[[], Awaitable[str]], timeout_s: float | None,
                fallback: str = "") -> ToolCall:
    """Run one tool call under its timeout (None: none); a failure returns the fallback, never raises."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            result, status = await call(), "ok"
    except TimeoutError:
        result, status = fallback, "timeout"
    except ToolError:
        result, status = fallback, "error"
    return record(name, status, time.perf_counter() - start, result)


def record(name: str, status: str, elapsed_s: float, result: str = "") -> ToolCall:
    """Count and time one call (``agent_tool_calls_total``, ``agent_tool_duration_seconds``)."""
    metrics.TOOL_CALLS.labels(tool=name, status=status).inc()
    metrics.TOOL_DURATION.labels(tool=name).observe(elapsed_s)
    return ToolCall(name, status, round(elapsed_s * 1000, 2), result)
