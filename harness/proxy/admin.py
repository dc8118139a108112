"""The proxies' own routes under ``/_proxy``: the fault lease (token), metrics and health (open).

The token is compared in constant time and never echoed or logged; a wrong or missing one is 401.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.proxy.leases import LeaseStore
from harness.schemas.faults import ADMIN_PREFIX, FaultLease

# The JSON body of ``GET /_proxy/calls`` (the LLM proxy's upstream calls; refusals for TCP).
CallsView = Callable[[float], dict[str, Any]]


def _authorized(request: Request, token: SecretStr) -> bool:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
    return hmac.compare_digest(given, token.get_secret_value().encode())


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "loadgate_proxy"}}, status_code=status)


def admin_routes(leases: LeaseStore, token: SecretStr, registry: CollectorRegistry,
                 calls: CallsView) -> list[Route]:
    """``/_proxy/fault`` (GET/PUT/DELETE), ``/_proxy/calls?since=T``, ``/_proxy/metrics``,
    ``/_proxy/healthz``."""

    async def fault(request: Request) -> Response:
        if not _authorized(request, token):
            return _error(401, "missing or wrong proxy token (Authorization: Bearer ...)")
        if request.method == "PUT":
            try:
                lease = FaultLease.model_validate_json(await request.body())
            except ValidationError as exc:
                return _error(422, f"not a fault lease: {exc.errors(include_url=False)}")
            if (lease.llm is None) != (leases.kind == "tcp"):
                return _error(422, f"this is the {leases.kind} proxy: send '{leases.kind}' faults")
            leases.set(lease)
        elif request.method == "DELETE":
            leases.clear()
        return JSONResponse(leases.state().model_dump(mode="json"))

    async def calls_view(request: Request) -> Response:
        if not _authorized(request, token):
            return _error(401, "missing or wrong proxy token (Authorization: Bearer ...)")
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            return _error(422, "'since' must be unix seconds")
        return JSONResponse(calls(since))

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "kind": leases.kind})

    return [
        Route(f"{ADMIN_PREFIX}/fault", fault, methods=["GET", "PUT", "DELETE"]),
        Route(f"{ADMIN_PREFIX}/calls", calls_view, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/metrics", metrics, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/healthz", healthz, methods=["GET"]),
    ]
