"""The request log's per-column cell writers write what the generic ``_cell`` writes, row for row."""

from __future__ import annotations

import csv
import io

from harness.schemas.outcome import RequestOutcome
from harness.schemas.requests import RequestLogWriter, RequestRow, _cell, read_request_log


def _rows() -> list[RequestRow]:
    t = 1_764_000_000.123456789
    plain = RequestRow.measured(intended_start=t, start=t + 0.001, end=t + 0.25, status=200,
                                endpoint="/v1/agent/run", phase="steady", cached=True, degraded=False,
                                outcome=RequestOutcome.served)
    stream = RequestRow.measured(intended_start=t, start=t, end=t + 1, ttft=0.1, itl=0.02, status=503,
                                 endpoint="/v1/agent/stream", phase="fault, with a comma", cached=False,
                                 degraded=True, outcome=RequestOutcome.shed, session="s1", turn=2, turns=4,
                                 tools='search:ok;quote:"x"', output_tokens=17, cancelled=True)
    # Synthetic rows (Recorder.add_rows) may carry ints and strings where floats and enums are typed.
    synthetic = RequestRow(1764000000, 1764000000, 1764000001, 1, 1, 0, "/x", "warmup", False, False, None,
                           None, "error")
    return [plain, stream, synthetic]


def test_cells_match_the_generic_writer_and_read_back(tmp_path) -> None:
    expected = io.StringIO()
    csv.writer(expected).writerows([[_cell(v) for v in row] for row in _rows()])
    with RequestLogWriter(tmp_path / "requests.csv") as log:
        log.write_rows(_rows()[:2])
        log.write(_rows()[2])
    written = (tmp_path / "requests.csv").read_text(encoding="utf-8").splitlines(keepends=True)[2:]
    expected_lines = expected.getvalue().splitlines(keepends=True)
    assert [line.rstrip("\r\n") for line in written] == [line.rstrip("\r\n") for line in expected_lines]
    # ... and reads back: quoting, enums, booleans, optional integers.
    frame = read_request_log(tmp_path / "requests.csv")
    assert list(frame.outcome) == ["served", "shed", "error"]
    assert list(frame.cancelled) == [False, True, False]
    assert frame.phase[1] == "fault, with a comma" and frame.tools[1] == 'search:ok;quote:"x"'
    assert frame.intended_start[2] == 1764000000 and frame.turn.isna()[0] and frame.turn[1] == 2
