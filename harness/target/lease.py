"""A fault held through the service's admin API as a lease, for as long as the harness itself holds it.

Every PUT carries ``ttl_s``; a background thread renews it while held and the fault is cleared on the
way out, so a harness killed with SIGKILL (nothing runs after it) leaves the fault on for at most one
lease. The gate's phases do the same from the Locust master (``harness.load.faults``); this is for a
fault the harness holds around load it does not phase itself (capacity's LLM what-if).
"""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType
from typing import Any

import httpx

from harness.target.client import TargetClient

RENEWALS_PER_LEASE = 10  # the gate's master renews a 10 s lease every second


class HeldFault:
    """``with HeldFault(target, {"llm_delay_s": 2.0}, lease_s=10): ...`` — raises httpx errors when the
    first PUT fails; a failed renewal is kept in ``renew_errors`` (the next one may still land)."""

    def __init__(self, target: TargetClient, spec: dict[str, Any], *, lease_s: float) -> None:
        self.target = target
        self.body = {**spec, "ttl_s": lease_s}
        self.renew_s = lease_s / RENEWALS_PER_LEASE
        self.renewals = 0
        self.renew_errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="fault-lease", daemon=True)

    def start(self) -> HeldFault:
        """Set the fault (raises httpx errors) and start renewing it."""
        self.target.set_faults(self.body, timeout_s=5).raise_for_status()
        self._thread.start()
        return self

    def release(self) -> None:
        """Stop renewing, then clear the fault."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)  # after the last renewal, so it cannot land after the clear
        with contextlib.suppress(httpx.HTTPError):  # unreachable now: the lease ends it anyway
            self.target.set_faults(None, timeout_s=5)

    def __enter__(self) -> HeldFault:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def _renew(self) -> None:
        while not self._stop.wait(self.renew_s):
            try:
                self.target.set_faults(self.body, timeout_s=min(5.0, self.renew_s * 5)).raise_for_status()
                self.renewals += 1
            except httpx.HTTPError as exc:
                self.renew_errors.append(f"{type(exc).__name__}: {exc}")
