"""The shipped alert rules, proven by promtool's unit tests (harness/stack/alert_rules_test.yml)."""

from __future__ import annotations

import subprocess

import pytest

from harness.process import require_binary
from harness.stack.prometheus import alert_rules_path

pytestmark = pytest.mark.integration


def test_each_rule_fires_after_its_for_and_stays_silent_below_its_threshold() -> None:
    tests_file = alert_rules_path().with_name("alert_rules_test.yml")
    result = subprocess.run(  # noqa: S603
        [require_binary("promtool", "prometheus"), "test", "rules", str(tests_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
