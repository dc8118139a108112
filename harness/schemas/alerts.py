"""``alerts.jsonl``: each alert of each notification Alertmanager delivered to the harness's receiver."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from harness.schemas.base import Contract
from harness.schemas.jsonl import read_jsonl


class AlertNotification(Contract):
    """One alert as one notification delivered it (a notification may carry several alerts)."""

    received_at: float  # unix s, when the receiver got the POST
    status: str  # firing | resolved
    alertname: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: str = ""
    ends_at: str = ""
    receiver: str = ""
    group_key: str = ""


def read_notifications(path: Path) -> list[AlertNotification]:
    """Every recorded alert notification, in arrival order; [] when nothing arrived."""
    return read_jsonl(path, AlertNotification)
