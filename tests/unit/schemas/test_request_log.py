"""requests.csv: rows written are the rows read back; a file of another schema version is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ReportError
from harness.schemas.outcome import RequestOutcome
from harness.schemas.requests import (
    COLUMNS,
    SCHEMA_VERSION,
    VERSION_PREFIX,
    RequestRow,
    read_request_log,
    write_request_log,
)

ROWS = [
    RequestRow.measured(intended_start=1764000000.0, start=1764000000.001, end=1764000000.25, status=200,
                        endpoint="/v1/agent/run", phase="steady", cached=True, degraded=False,
                        outcome=RequestOutcome.served),
    RequestRow.measured(intended_start=1764000000.5, start=1764000000.6, end=1764000001.5, status=0,
                        endpoint="/v1/agent/stream", phase="fault", cached=False, degraded=True,
                        ttft=0.4, itl=0.02, outcome=RequestOutcome.error),
]


def test_rows_round_trip_through_the_file(tmp_path: Path) -> None:
    path = write_request_log(tmp_path / "requests.csv", ROWS)
    frame = read_request_log(path)
    assert frame is not None and tuple(frame.columns) == COLUMNS
    back = [RequestRow(**{k: (None if v != v else v) for k, v in record.items()})  # NaN -> None
            for record in frame.to_dict("records")]
    for got, sent in zip(back, ROWS, strict=True):
        for name in COLUMNS:
            want = getattr(sent, name)
            if isinstance(want, float):
                assert getattr(got, name) == pytest.approx(want, abs=1e-6), name
            else:  # an empty string is written as an empty cell, which reads back as missing
                assert getattr(got, name) == (None if want == "" else want), name


def test_latencies_are_derived_from_the_three_times() -> None:
    row = ROWS[1]
    assert row.latency == pytest.approx(1.0) and row.latency_uncorrected == pytest.approx(0.9)


def test_the_file_starts_with_its_schema_version(tmp_path: Path) -> None:
    path = write_request_log(tmp_path / "requests.csv", ROWS[:1])
    first, header = path.read_text().splitlines()[:2]
    assert first == f"{VERSION_PREFIX}{SCHEMA_VERSION}" and header == ",".join(COLUMNS)


@pytest.mark.parametrize("first_line", [f"{VERSION_PREFIX}{SCHEMA_VERSION + 1}", f"{VERSION_PREFIX}0", ""])
def test_another_schema_version_is_refused(tmp_path: Path, first_line: str) -> None:
    path = write_request_log(tmp_path / "requests.csv", ROWS)
    body = path.read_text().split("\n", 1)[1]
    path.write_text((first_line + "\n" if first_line else "") + body)
    with pytest.raises(ReportError, match=f"reads request logs of schema_version {SCHEMA_VERSION} only"):
        read_request_log(path)


def test_a_missing_log_is_none_and_a_missing_column_is_refused(tmp_path: Path) -> None:
    assert read_request_log(tmp_path / "none.csv") is None
    path = tmp_path / "requests.csv"
    path.write_text(f"{VERSION_PREFIX}{SCHEMA_VERSION}\nintended_start,status\n1.0,200\n")
    with pytest.raises(ReportError, match="lacks columns"):
        read_request_log(path)
