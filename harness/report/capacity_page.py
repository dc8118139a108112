"""Render a capacity run's ``report.html`` (and its CSV and Markdown summaries) from the run folder."""

from __future__ import annotations

import time
from pathlib import Path

import harness
from harness.report.capacity import capacity_view
from harness.report.capacity_export import write_exports
from harness.report.page import environment
from harness.report.rundata import RunData
from harness.schemas.files import write_atomic


def render_capacity(data: RunData) -> Path:
    """A capacity run's page: no verdict and no gate files to miss, the answer first."""
    if data.capacity is not None:
        write_exports(data.folder.root, [(data.run_id, data.capacity)])
    html = environment().get_template("capacity.html.j2").render(
        data=data, run=data.run, cap=capacity_view(data.capacity, data.run) if data.capacity else None,
        generated=time.time(), version=harness.__version__)
    return write_atomic(data.folder.report_html, html)
