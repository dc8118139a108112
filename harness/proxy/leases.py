"""The fault a proxy applies now: a lease that expires by itself unless its driver renews it."""

from __future__ import annotations

import time

from harness.schemas.faults import FaultLease, FaultState


class LeaseStore:
    """One fault at a time. Reads are cheap (a clock comparison), so every request may ask."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._lease: FaultLease | None = None
        self._expires = 0.0
        self._last_end: str | None = None
        self.changes = 0  # bumped on every set and end, so a watcher can react to edges

    def set(self, lease: FaultLease) -> None:
        self._lease, self._expires = lease, time.monotonic() + lease.ttl_s
        self.changes += 1

    def clear(self) -> None:
        self._end("cleared")

    def _end(self, how: str) -> None:
        if self._lease is not None:
            self._lease, self._last_end = None, how
            self.changes += 1

    def current(self) -> FaultLease | None:
        if self._lease is not None and time.monotonic() >= self._expires:
            self._end("expired")
        return self._lease

    def state(self) -> FaultState:
        lease = self.current()
        left = round(self._expires - time.monotonic(), 3) if lease is not None else None
        return FaultState(kind=self.kind, lease=lease, expires_in_s=left, last_end=self._last_end)
