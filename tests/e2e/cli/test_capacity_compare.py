"""`loadgate capacity --compare` as a user runs it: two earlier runs in, one comparison page out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import build_parser, main

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


def test_compare_with_a_gate_run_exits_3_naming_it(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    gate = FIXTURES / "run_folder"
    code = main(["capacity", "--compare", str(FIXTURES / "capacity_run"), str(gate), "--reports-dir",
                 str(tmp_path)])
    assert code == 3 and f"{gate} is not a finished capacity run" in capsys.readouterr().err


def test_several_peaks_parse_and_a_bad_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["capacity", "--peak-qps", "50,100,200"]).peak_qps == [50, 100, 200]
    with pytest.raises(SystemExit) as exit_:
        main(["capacity", "--peak-qps", "50,fast"])
    assert exit_.value.code == 3
    assert "'50,fast' is not a comma-separated list of numbers" in capsys.readouterr().err
