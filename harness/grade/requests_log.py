"""How grading reads the request log (``harness.schemas.requests``): one phase's rows, the failed ones."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
