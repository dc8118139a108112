"""Checklist mistakes fail before anything runs: typed params, PromQL templates parsed by promtool,
``loadgate validate`` alone, and `gate` refusing before any process of the stack or port exists."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness import pipeline
from harness.cli import main
from harness.errors import ConfigError
from harness.schemas.checklist import render_query
from harness.schemas.params import PARAMS

REPO = Path(__file__).resolve().parents[3]
SHIPPED = (REPO / "checklist.yaml").read_text()
_IDS = [line.split("id:")[1].strip() for line in SHIPPED.splitlines() if line.startswith("  - id:")]
RATE_LIMITING, ADDED = _IDS.index("rate_limiting"), len(_IDS)  # item indices: the probe's, one appended
RATE_LIMIT_PARAMS = "    params: {burst: 800, concurrency: 64}\n"
QUERY_ITEM = """
  - id: queue_depth
    title: Queue stays short
    category: performance
    severity: warning
    kind: metric
    scenario: target_2x
    phase: steady
    query: {query}
    threshold: {{op: "<", value: 10}}
    rationale: a raw PromQL item
"""
# mistake -> (checklist text, field named, the line's text, words of the reason)
MISTAKES = {
    "params typo": (SHIPPED.replace(RATE_LIMIT_PARAMS, "    params: {brust: 800, concurrency: 64}\n"),
                    f"items[{RATE_LIMITING}].params.brust", "brust: 800", "is not a known field"),
    "wrong param type": (SHIPPED.replace(RATE_LIMIT_PARAMS, "    params: {burst: lots, concurrency: 64}\n"),
                         f"items[{RATE_LIMITING}].params.burst", "burst: lots",
                         "expected an integer, got 'lots'"),
    "bad PromQL": (SHIPPED + QUERY_ITEM.format(query="'max(agent_active_tasks{job=\"{job}\"} @ {end}'"),
                   f"items[{ADDED}].query", "query: 'max(", "PromQL does not parse"),
    "unknown placeholder": (SHIPPED + QUERY_ITEM.format(query="'max(agent_active_tasks{window})'"),
                            f"items[{ADDED}].query", "query: 'max(", "PromQL does not parse"),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "checklist.yaml"
    path.write_text(text)
    return path


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_mistake_fails_the_gate_before_any_process_or_port(
        mistake: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, field, line_text, reason = MISTAKES[mistake]
    spawned: list[str] = []
    bound: list[object] = []
    real_popen, real_bind = subprocess.Popen.__init__, socket.socket.bind

    def popen(self: subprocess.Popen, args: object, *a: object, **kw: object) -> None:
        spawned.append(Path(str(args[0] if isinstance(args, list | tuple) else args)).name)
        real_popen(self, args, *a, **kw)

    def bind(self: socket.socket, address: object) -> None:
        bound.append(address)
        real_bind(self, address)

    monkeypatch.setattr(subprocess.Popen, "__init__", popen)
    monkeypatch.setattr(socket.socket, "bind", bind)
    settings = pipeline.GateSettings(checklist=_write(tmp_path, text), reports_dir=tmp_path / "reports")
    with pytest.raises(ConfigError) as raised:
        pipeline.gate(settings, say=lambda _: None)
    assert raised.value.line == _line(text, line_text) and raised.value.field == field
    assert reason in str(raised.value)
    assert set(spawned) <= {"promtool"}, spawned  # the parser only: no stack, no load
    assert bound == []
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_validate_alone_names_file_line_and_field(tmp_path: Path) -> None:
    """Through the real command line, once (a child process costs seconds on a busy machine)."""
    text, field, line_text, reason = MISTAKES["params typo"]
    path = _write(tmp_path, text)
    done = subprocess.run([sys.executable, "-m", "harness.cli", "validate", "--checklist", str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    assert done.stderr.startswith(f"loadgate: error: {path}:{_line(text, line_text)}: field '{field}': ")
    assert reason in done.stderr and done.stderr.count("\n") == 1


def test_validate_names_a_template_that_does_not_parse(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    text, field, line_text, _ = MISTAKES["bad PromQL"]
    path = _write(tmp_path, text)
    assert main(["validate", "--checklist", str(path)]) == 3
    err = capsys.readouterr().err
    where = f"{path}:{_line(text, line_text)}: field '{field}'"
    assert err.startswith(f"loadgate: error: {where}: PromQL does not parse: could not parse expression: ")
    assert "unclosed left parenthesis" in err


def test_a_label_matcher_in_a_template_is_written_as_it_is(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    template = 'sum(rate(agent_requests_total{job="{job}", status=~"5.."}[{range}] @ {end}))'
    path = _write(tmp_path, SHIPPED + QUERY_ITEM.format(query=f"'{template}'"))
    assert main(["validate", "--checklist", str(path)]) == 0
    assert "1 PromQL template parsed" in capsys.readouterr().out
    assert render_query(template, {"job": "agent", "range": "60000ms", "end": "1.000", "start": "0.000"}) \
        == 'sum(rate(agent_requests_total{job="agent", status=~"5.."}[60000ms] @ 1.000))'


def test_the_shipped_checklist_validates() -> None:
    checklist, profile = pipeline.validate(REPO / "checklist.yaml")
    assert profile == "quick" and checklist.items


def test_every_measure_and_probe_has_a_params_model() -> None:
    from harness.grade.items import MEASURES, PROBES

    assert set(PARAMS) == set(MEASURES) | set(PROBES)
