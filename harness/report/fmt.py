"""Human forms of numbers, units and times: one place, so the page, the charts and the terminal agree."""

from __future__ import annotations

import math
from datetime import UTC, datetime

NO_DATA = "no data"

_BYTE_UNITS = ("bytes", "byte", "b")
_RATIO_UNITS = ("ratio", "fraction")


def is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _sig(x: float, digits: int = 3) -> str:
    """``digits`` significant digits without trailing zeros (3.10 -> 3.1, 1234 -> 1234)."""
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_seconds(x: float, digits: int = 3) -> str:
    if abs(x) < 1e-3 and x != 0:
        return f"{_sig(x * 1e6, digits)} µs"
    if abs(x) < 1:
        return f"{_sig(x * 1e3, digits)} ms"
    return f"{_sig(x, digits)} s"


def fmt_bytes(x: float, digits: int = 3) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(x) >= size:
            return f"{_sig(x / size, digits)} {unit}"
    return f"{_sig(x, digits)} B"


def fmt_value(x: object, unit: str = "", digits: int = 3) -> str:
    """A measured value in its unit's most readable form; anything not a finite number is 'no data'."""
    if not is_number(x):
        return NO_DATA
    x = float(x)  # type: ignore[arg-type]
    u = (unit or "").strip()
    if u == "s":
        return fmt_seconds(x, digits)
    if u.lower() in _BYTE_UNITS:
        return fmt_bytes(x, digits)
    if u.lower() in _RATIO_UNITS:
        return f"{_sig(x * 100, digits)} %"
    if u == "%":
        return f"{_sig(x, digits)} %"
    return f"{_sig(x, digits)} {u}".rstrip()


def fmt_change(change: object) -> str:
    """A relative change (+0.12) as a signed percentage."""
    if not is_number(change):
        return NO_DATA
    return f"{float(change) * 100:+.1f} %"  # type: ignore[arg-type]


def fmt_time(ts: object) -> str:
    """Unix seconds as an ISO-like UTC time."""
    if not is_number(ts):
        return NO_DATA
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")  # type: ignore[arg-type]


def fmt_clock_time(ts: object) -> str:
    """Unix seconds as a UTC time of day, where the date is already on the page."""
    if not is_number(ts):
        return NO_DATA
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M:%S")  # type: ignore[arg-type]


def fmt_duration(seconds: object) -> str:
    if not is_number(seconds):
        return NO_DATA
    s = int(round(float(seconds)))  # type: ignore[arg-type]
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m:02d}m{sec:02d}s"
    return f"{m}m{sec:02d}s" if m else f"{sec}s"


def fmt_clock(offset_s: float) -> str:
    """An offset from a chart's start as m:ss (or h:mm:ss), for time axes."""
    s = int(round(offset_s))
    sign = "-" if s < 0 else ""
    h, rem = divmod(abs(s), 3600)
    m, sec = divmod(rem, 60)
    return f"{sign}{h}:{m:02d}:{sec:02d}" if h else f"{sign}{m}:{sec:02d}"
