"""What each answer means (served / shed / error), and how the client items count it."""

from __future__ import annotations

from pathlib import Path

import pytest
from grade_runs import write_run

from harness.checklist import load_checklist
from harness.errors import ReportError
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.grade.requests_log import is_error, is_served, is_shed
from harness.schemas.checklist import ItemKind
from harness.schemas.outcome import RequestOutcome, classify
from harness.schemas.requests import (
    SCHEMA_VERSION,
    VERSION_PREFIX,
    RequestRow,
    read_request_log,
    write_request_log,
)
from harness.schemas.timeline import Timeline
from harness.schemas.verdict import ItemStatus

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("status", "readable", "expected"), [
    (200, True, "served"), (201, True, "served"), (200, False, "error"), (204, False, "error"),
    (429, True, "shed"), (400, True, "error"), (401, True, "error"), (404, True, "error"),
    (500, True, "error"), (503, True, "error"), (0, True, "error"), (302, True, "error"),
    (101, True, "error"),
])
def test_each_status_has_one_outcome(status: int, readable: bool, expected: str) -> None:
    assert classify(status, readable) == RequestOutcome(expected)


def _log(path: Path, rows: list[tuple[int, str]]) -> Path:
    """rows: (status, outcome)."""
    return write_request_log(path, [
        RequestRow.measured(intended_start=i, start=i, end=i + 0.1, status=status, endpoint="/v1/agent/run",
                            phase="steady", cached=False, degraded=False, outcome=outcome)
        for i, (status, outcome) in enumerate(rows)])


def test_the_outcome_column_decides_an_unreadable_200(tmp_path: Path) -> None:
    frame = read_request_log(_log(tmp_path / "r.csv", [(200, "served"), (200, "error"), (429, "shed"),
                                                        (400, "error")]))
    assert list(is_served(frame)) == [True, False, False, False]
    assert list(is_error(frame)) == [False, True, False, True]
    assert list(is_shed(frame)) == [False, False, True, False]


def test_a_log_from_before_the_outcome_column_is_refused(tmp_path: Path) -> None:
    # Schema version 1 had no outcome column: its outcomes are unknown, so it is not guessed from status.
    path = _log(tmp_path / "r.csv", [(200, "served")])
    path.write_text(path.read_text().replace(f"{VERSION_PREFIX}{SCHEMA_VERSION}", f"{VERSION_PREFIX}1"))
    with pytest.raises(ReportError, match="has schema_version 1"):
        read_request_log(path)


def test_an_unknown_outcome_is_an_error_naming_it(tmp_path: Path) -> None:
    path = _log(tmp_path / "r.csv", [(200, "served"), (200, "served")])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:-1], lines[-1].replace(",served", ",fine")]) + "\n")
    with pytest.raises(ReportError, match="unknown outcome values \\['fine'\\]"):
        read_request_log(path)


def test_client_error_rate_counts_4xx_and_never_429(tmp_path: Path) -> None:
    checklist = load_checklist(REPO / "checklist.yaml")
    template = next(i for i in checklist.items if i.id == "error_rate")
    item = template.model_copy(update={"kind": ItemKind.client, "measure": "client_error_rate"})
    # 4000 served, 1000 shed (a fifth), 40 answered 400: 40 errors of 4040 taken on, about 1%.
    rows = [(0.1, 200, False, False)] * 4000 + [(0.01, 429, False, False)] * 1000 \
        + [(0.01, 400, False, False)] * 40
    folder = write_run(tmp_path, "target_2x", {"warmup": [(0.1, 200, False, False)], "steady": rows})
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None, folder=folder,
                       timeline=Timeline.load_file(folder.timeline))
    result = grade_item(ctx, item, {})
    assert result.status == ItemStatus.failed, result.reason
    assert result.samples == 4040 and result.evidence["errors"] == 40 and result.evidence["shed"] == 1000
    assert "1000 more shed with 429" in result.reason

    only_shed = write_run(tmp_path / "shed", "target_2x", {"steady": rows[:4000] + rows[4000:5000]})
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None, folder=only_shed,
                       timeline=Timeline.load_file(only_shed.timeline))
    result = grade_item(ctx, item, {})
    assert result.evidence["errors"] == 0 and result.evidence["shed"] == 1000
