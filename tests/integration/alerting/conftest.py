"""Helpers for the alerting tests: the shipped rules, resized so an alert fires in seconds."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.stack.prometheus import alert_rules_path


def short_rules(path: Path, window: str = "10s", for_: str = "2s") -> Path:
    """The shipped rules with ``window`` rate windows and ``for_``: the same expressions and
    thresholds, test-sized."""
    doc = yaml.safe_load(alert_rules_path().read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            assert "[5m]" in rule["expr"], rule["alert"]  # the shipped rules' window, resized here
            rule["expr"] = rule["expr"].replace("[5m]", f"[{window}]")
            rule["for"] = for_
    path.write_text(yaml.safe_dump(doc))
    return path
