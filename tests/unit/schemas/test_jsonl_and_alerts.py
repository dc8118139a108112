"""JSON-lines files: records appended are the records read back, in order; alerts are one such file."""

from __future__ import annotations

from pathlib import Path

from harness.schemas.alerts import AlertNotification, read_notifications
from harness.schemas.diagnostics import DiagnosticsBlock
from harness.schemas.jsonl import append_jsonl, read_jsonl


def test_appended_records_read_back_equal_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "ab_blocks.jsonl"
    blocks = [DiagnosticsBlock(label="s", start=float(i), end=i + 1.0, on=i % 2 == 0) for i in range(5)]
    append_jsonl(path, *blocks[:2])
    for block in blocks[2:]:
        append_jsonl(path, block)
    assert read_jsonl(path, DiagnosticsBlock) == blocks
    assert read_jsonl(tmp_path / "never-written.jsonl", DiagnosticsBlock) == []


def test_alert_notifications_round_trip(tmp_path: Path) -> None:
    sent = [AlertNotification(received_at=1.5, status="firing", alertname="P99", labels={"severity": "page"}),
            AlertNotification(received_at=9.0, status="resolved", alertname="P99", receiver="loadgate")]
    append_jsonl(tmp_path / "alerts.jsonl", *sent)
    assert read_notifications(tmp_path / "alerts.jsonl") == sent
