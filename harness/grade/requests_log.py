"""The load generator's request log, ``client/<scenario>/requests.csv``: one row per request.

Columns: intended_start, start, end, latency (from the intended start), latency_uncorrected, status
("0" = connection error), endpoint, phase, cached, degraded, ttft.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import GradeError

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
    """Failures a user sees: no response at all (status 0) or a server error (5xx)."""
    status = frame["status"].to_numpy()
    return (status == 0) | (status >= 500)
