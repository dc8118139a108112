"""`loadgate capacity --compare` as a user runs it: two earlier runs in, one comparison page out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e]

LOADGATE = [sys.executable, "-m", "harness.cli"]
FIXTURES = Path(__file__).parents[2] / "fixtures"


def test_compare_two_runs_writes_the_page_and_summaries(tmp_path: Path) -> None:
    out = subprocess.run([*LOADGATE, "capacity", "--compare", str(FIXTURES / "capacity_run"),
                          str(FIXTURES / "capacity_run_b"), "--reports-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    page = Path(out.stdout.strip().removeprefix("comparison: "))
    assert page.parent.parent == tmp_path and page.name == "compare.html"
    html = page.read_text()
    assert "20251124-170000-capacity-run" in html and "20251124-180000-capacity-run-b" in html
    assert sorted(p.name for p in page.parent.iterdir()) == [
        "compare.html", "compare.md", "compare_answer.csv", "compare_steps.csv"]


def test_compare_with_a_gate_run_exits_3_naming_it(tmp_path: Path) -> None:
    gate = FIXTURES / "run_folder"
    out = subprocess.run([*LOADGATE, "capacity", "--compare", str(FIXTURES / "capacity_run"), str(gate),
                          "--reports-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 3
    assert f"{gate} is not a finished capacity run" in out.stderr


def test_several_peaks_parse_and_a_bad_one_is_a_usage_error(tmp_path: Path) -> None:
    out = subprocess.run([*LOADGATE, "capacity", "--peak-qps", "50,fast"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 3 and "'50,fast' is not a comma-separated list of numbers" in out.stderr
