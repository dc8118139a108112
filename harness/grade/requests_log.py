"""The load generator's request log, ``client/<scenario>/requests.csv``: one row per request.

Columns: intended_start, start, end, latency (from the intended start), latency_uncorrected, status
("0" = connection error), endpoint, phase, cached, degraded, ttft, outcome (served / shed / error,
``harness.schemas.outcome``; a log without it is classified from its status alone).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import GradeError
from harness.schemas.outcome import RequestOutcome, classify_statuses

_REQUIRED = ("intended_start", "latency", "latency_uncorrected", "status", "phase")
_TRUE = {"true", "1", "yes"}


def read_request_log(path: Path) -> pd.DataFrame | None:
    """The log as a frame (None when the file does not exist); a malformed file is an error."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path, dtype={"status": "Int64", "phase": "string", "endpoint": "string"})
    except (ValueError, pd.errors.ParserError) as exc:
        raise GradeError(f"cannot read request log {path}: {exc}") from exc
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise GradeError(f"request log {path} lacks columns {missing} (has {list(frame.columns)})")
    frame["status"] = frame["status"].fillna(0).astype(int)
    if "outcome" in frame.columns:
        frame["outcome"] = frame["outcome"].astype("string").fillna(RequestOutcome.error.value)
        unknown = set(frame["outcome"]) - {o.value for o in RequestOutcome}
        if unknown:
            raise GradeError(f"request log {path} has unknown outcomes {sorted(unknown)}")
    else:
        frame["outcome"] = classify_statuses(frame["status"].to_numpy())
    for column in ("cached", "degraded"):
        frame[column] = (frame[column].astype(str).str.strip().str.lower().isin(_TRUE)
                         if column in frame.columns else False)
    return frame


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
