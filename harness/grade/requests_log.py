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
