"""An error rate says what the errors were (status and route), so a profile that names a route the
service lacks reads as such: seen by hand on the planted bundled-style service, whose 20% errors in
the quick gate were all 404 on /v1/agent/stream (the preset streams; that service has no stream route)."""

from __future__ import annotations

from pathlib import Path

from harness.checklist import load_checklist
from harness.grade.context import GradeContext
from harness.grade.items import grade_item
from harness.grade.requests_log import errors_by_kind, errors_text
from harness.schemas.checklist import ItemKind
from harness.schemas.outcome import classify
from harness.schemas.requests import RequestRow, read_request_log, write_request_log
from harness.schemas.run import RunFolder
from harness.schemas.timeline import Phase, ScenarioRun, ScenarioStatus, Timeline
from harness.schemas.verdict import ItemStatus

REPO = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000.0
# (status, route, readable, how many)
RUN, STREAM = "/v1/agent/run", "/v1/agent/stream"
MIX = [(200, RUN, True, 3000), (404, STREAM, True, 700), (0, RUN, True, 5), (200, RUN, False, 2),
       (500, RUN, True, 1), (429, RUN, True, 50)]


def _folder(root: Path) -> RunFolder:
    folder = RunFolder(root).ensure()
    rows, t = [], T0
    for status, route, readable, n in MIX:
        for _ in range(n):
            rows.append(RequestRow.measured(intended_start=t, start=t, end=t + 0.05, status=status,
                                            endpoint=route, phase="steady", cached=False, degraded=False,
                                            outcome=classify(status, readable)))
            t += 0.01
    run = ScenarioRun(name="target_2x", status=ScenarioStatus.completed, start=T0, end=t,
                      phases=[Phase(name="steady", start=T0, end=t)])
    Timeline(run_id="unit", scenarios=[run]).save_file(folder.timeline)
    write_request_log(folder.request_log("target_2x"), rows)
    return folder


def test_errors_by_status_and_route_most_first(tmp_path: Path) -> None:
    kinds = errors_by_kind(read_request_log(_folder(tmp_path).request_log("target_2x")))
    assert kinds == {"404 on /v1/agent/stream": 700, "no response on /v1/agent/run": 5,
                     "unreadable 200 on /v1/agent/run": 2, "500 on /v1/agent/run": 1}  # 429 is shed, not here
    assert errors_text(kinds, top=2) == (" (700 x 404 on /v1/agent/stream, 5 x no response on "
                                         "/v1/agent/run, 2 more kinds)")
    assert errors_text({}) == ""


def test_the_client_error_rate_item_names_them(tmp_path: Path) -> None:
    checklist = load_checklist(REPO / "checklist.yaml")
    template = next(i for i in checklist.items if i.id == "error_rate")
    item = template.model_copy(update={"kind": ItemKind.client, "measure": "client_error_rate"})
    folder = _folder(tmp_path)
    ctx = GradeContext(checklist=checklist, profile="quick", endpoints=None, prom=None, folder=folder,
                       timeline=Timeline.load_file(folder.timeline))
    result = grade_item(ctx, item, {})
    assert result.status == ItemStatus.failed
    assert result.reason.startswith("708 failed of 3708 requests (700 x 404 on /v1/agent/stream, 5 x no "
                                    "response")
    assert result.evidence["error_kinds"]["404 on /v1/agent/stream"] == 700
