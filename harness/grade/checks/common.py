"""What every check shares: the service's endpoints, the probe request, one verdict rule."""

from __future__ import annotations

from typing import Any

import httpx

from harness.grade.context import GradeContext
from harness.grade.result import NoData, make_result
from harness.schemas.checklist import ChecklistItem
from harness.schemas.run import Endpoints
from harness.schemas.verdict import ItemResult, ItemStatus
from harness.target.client import TargetClient

# Small and identical, so after the first answer the service serves it from cache: probes stay cheap.
PROBE_PROMPT = "loadgate probe: what is a circuit breaker?"
TIMEOUT_S = 30.0


def service_endpoints(ctx: GradeContext) -> Endpoints:
    if ctx.endpoints is None:
        raise NoData("no service endpoints to probe")
    return ctx.endpoints


def ask(client: httpx.Client, ep: Endpoints, key: str | None, prompt: str = PROBE_PROMPT) -> httpx.Response:
    """One short agent request in the service profile's shape, with ``key`` (None or "": no key)."""
    return TargetClient.of(ep).send(client, prompt, max_tokens=1, api_key=key or "")


def probe_client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT_S)


def pass_unless(item: ChecklistItem, problems: list[str], ok: str, **fields: Any) -> ItemResult:
    """Failed with every problem named, or passed with ``ok``."""
    if problems:
        return make_result(item, ItemStatus.failed, "; ".join(problems), **fields)
    return make_result(item, ItemStatus.passed, ok, **fields)
