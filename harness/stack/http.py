"""Tiny readiness helpers over HTTP."""

from __future__ import annotations

import httpx

from harness.errors import EndpointUnreachable


def answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when ``url`` returns a 2xx."""
    try:
        return httpx.get(url, timeout=timeout_s).is_success
    except httpx.HTTPError:
        return False


def require_reachable(url: str, what: str, timeout_s: float = 5.0) -> None:
    """Raise with the URL when a user-given endpoint does not answer at all."""
    try:
        httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise EndpointUnreachable(f"{what} at {url} is not reachable: {exc}") from exc
