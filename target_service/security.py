"""API keys and the admin token: Bearer tokens, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac


def key_id(key: str) -> str:
    """What logs, metrics and cache keys see of an API key: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class KeyRing:
    def __init__(self, keys: list[str]) -> None:
        self._keys = [k.encode() for k in keys]

    def match(self, token: str | None) -> str | None:
        """The key id when the token is a valid key, else None. Checks every key: no early exit."""
        if token is None:
            return None
        candidate = token.encode()
        found = None
        for k in self._keys:
            if hmac.compare_digest(candidate, k):
                found = k
        return key_id(found.decode()) if found is not None else None
