"""How grading reads the request log (``harness.schemas.requests``): one phase's rows, by outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.schemas.outcome import RequestOutcome


def phase_rows(frame: pd.DataFrame, phase: str | None, window: tuple[float, float]) -> pd.DataFrame:
    """Requests of one phase: by the phase column when it names the phase, else by intended start."""
    if phase is not None and (frame["phase"] == phase).any():
        return frame[frame["phase"] == phase]
    start, end = window
    return frame[(frame["intended_start"] >= start) & (frame["intended_start"] < end)]


def is_error(frame: pd.DataFrame) -> np.ndarray:
    """Requests whose outcome is an error (not served and not shed)."""
    return (frame["outcome"] == RequestOutcome.error.value).to_numpy(dtype=bool)


def is_served(frame: pd.DataFrame) -> np.ndarray:
    return (frame["outcome"] == RequestOutcome.served.value).to_numpy(dtype=bool)


def is_shed(frame: pd.DataFrame) -> np.ndarray:
    return (frame["outcome"] == RequestOutcome.shed.value).to_numpy(dtype=bool)


def errors_by_kind(frame: pd.DataFrame) -> dict[str, int]:
    """The error rows by what they were (status and route), most first: "404 on /v1/agent/stream",
    "no response on /v1/agent/run", "unreadable 200 on ...". An error count alone does not say that a
    profile names a route the service lacks."""
    errors = frame[is_error(frame)]
    if errors.empty:
        return {}
    counts = errors.groupby(["status", "endpoint"]).size().sort_values(ascending=False, kind="stable")
    kinds = {}
    for (status, endpoint), n in counts.items():
        what = "no response" if status == 0 else f"unreadable {status}" if 200 <= status < 300 \
            else str(status)
        kinds[f"{what} on {endpoint}"] = int(n)
    return kinds


def errors_text(kinds: dict[str, int], top: int = 3) -> str:
    """' (1124 x 404 on /v1/agent/stream, ...)' for a reason; '' without errors."""
    if not kinds:
        return ""
    shown = [f"{n} x {what}" for what, n in list(kinds.items())[:top]]
    more = len(kinds) - top
    return f" ({', '.join(shown)}{f', {more} more kinds' if more > 0 else ''})"
