"""The report step: a finished run folder -> report.html, reports/index.html and a terminal summary.

Reads only the run folder (``harness.schemas.RunFolder``), so any run can be re-rendered later.
"""

from harness.report.compare import render_compare
from harness.report.html import render_run
from harness.report.index import render_index
from harness.report.summary import terminal_summary

__all__ = ["render_compare", "render_index", "render_run", "terminal_summary"]
