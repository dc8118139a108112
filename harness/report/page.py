"""The Jinja environment every page renders with (the run report, the capacity report, the index)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from harness.report import fmt
from harness.report.svg import render_svg


def environment() -> Environment:
    # Autoescape everything: item titles, reasons, queries and series names come from files a target
    # or a user wrote, and must show as text.
    env = Environment(loader=PackageLoader("harness.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(value=fmt.fmt_value, time=fmt.fmt_time, clock=fmt.fmt_clock_time,
                       change=fmt.fmt_change, duration=fmt.fmt_duration, svg=render_svg)
    env.globals.update(NO_DATA=fmt.NO_DATA, is_number=fmt.is_number)
    return env
