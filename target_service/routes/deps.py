"""Request dependencies: API key auth + rate limit for /v1, the admin token for /admin."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from target_service import metrics
from target_service.security import bearer


def _unauthorized(what: str) -> HTTPException:
    return HTTPException(401, f"missing or invalid {what}", headers={"WWW-Authenticate": "Bearer"})


async def api_key(request: Request) -> str:
    """The caller's key id, after auth (401) and the rate limit (429 + Retry-After)."""
    key_id = request.app.state.keys.match(bearer(request.headers.get("authorization")))
    if key_id is None:
        raise _unauthorized("API key")
    request.state.key_id = key_id
    refused = request.app.state.limiter.check(key_id)
    if refused is not None:
        scope, retry_after = refused
        metrics.RATE_LIMITED.labels(scope=scope).inc()
        raise HTTPException(429, f"rate limit exceeded ({scope})", headers={"Retry-After": str(retry_after)})
    return key_id


async def admin_token(request: Request) -> None:
    token = bearer(request.headers.get("authorization")) or ""
    expected = request.app.state.settings.admin_token.get_secret_value()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise _unauthorized("admin token")
