"""Verdict precedence and the JUnit view: missing data is never a pass."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from harness.grade.verdict import decide, write_junit
from harness.schemas.verdict import ItemResult, ItemStatus, Outcome


def item(id_: str, status: ItemStatus, severity: str = "blocker", **evidence: object) -> ItemResult:
    return ItemResult(id=id_, title=id_, category="performance", severity=severity, kind="metric",
                      status=status, reason=f"{id_} is {status.value}", evidence=dict(evidence))


def test_go_needs_every_blocker_passing() -> None:
    verdict = decide("r", [item("a", ItemStatus.passed), item("w", ItemStatus.failed, "warning")], [],
                     prometheus_url=None)
    assert verdict.outcome == Outcome.go
    assert "w" in verdict.reason  # a failing warning is shown, not hidden


def test_a_failed_blocker_is_no_go_even_when_the_run_is_shaky() -> None:
    items = [item("auth", ItemStatus.failed), item("p99", ItemStatus.no_data)]
    verdict = decide("r", items, ["scrape gap"], prometheus_url=None)
    assert verdict.outcome == Outcome.no_go
    assert "auth" in verdict.reason


def test_untrusted_failures_and_missing_data_are_invalid() -> None:
    untrusted = item("p99", ItemStatus.failed, untrusted=["generator saturated"])
    assert decide("r", [untrusted], ["target_2x: generator saturated"], prometheus_url=None).outcome \
        == Outcome.invalid
    no_data = decide("r", [item("p99", ItemStatus.no_data), item("a", ItemStatus.passed)], [],
                     prometheus_url=None)
    assert no_data.outcome == Outcome.invalid
    assert "p99" in no_data.reason
    assert decide("r", [], [], prometheus_url=None).outcome == Outcome.invalid


def test_a_target_that_broke_under_load_is_no_go_naming_it_before_anything_else() -> None:
    # The items went no-data and the run looks shaky because the target died: that is the finding.
    items = [item("p99", ItemStatus.no_data), item("auth", ItemStatus.failed)]
    crash = "target service died at 10:00:00 UTC during target_2x (exit code -9)"
    verdict = decide("r", items, ["target_2x aborted"], prometheus_url=None, target_failures=[crash])
    assert verdict.outcome == Outcome.no_go
    assert verdict.reason.startswith(crash) and verdict.reason.endswith("1 blocker failed: auth")


def test_junit_has_one_case_per_item_and_fails_blockers(tmp_path: Path) -> None:
    items = [item("a", ItemStatus.passed), item("b", ItemStatus.no_data),
             item("w", ItemStatus.failed, "warning")]
    verdict = decide("r", items, [], prometheus_url=None)
    root = ET.parse(write_junit(verdict, tmp_path / "junit.xml")).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert list(cases) == ["a", "b", "w"]
    assert cases["b"].find("failure") is not None and cases["b"].find("failure").get("type") == "no-data"
    assert cases["a"].find("failure") is None and cases["w"].find("failure") is None
    assert root.get("failures") == "1"


def test_an_item_that_raised_blocks_like_missing_data_and_never_hides_a_failure() -> None:
    errored = decide("r", [item("a", ItemStatus.passed), item("boom", ItemStatus.error)], [],
                     prometheus_url=None)
    assert errored.outcome == Outcome.invalid
    assert "could not grade boom" in errored.reason
    failed = decide("r", [item("boom", ItemStatus.error), item("auth", ItemStatus.failed)], [],
                    prometheus_url=None)
    assert failed.outcome == Outcome.no_go and "auth" in failed.reason


def test_waived_and_not_applicable_never_block_but_cannot_make_a_go_alone() -> None:
    items = [item("a", ItemStatus.passed), item("leak", ItemStatus.waived),
             item("gpu", ItemStatus.not_applicable)]
    verdict = decide("r", items, [], prometheus_url=None)
    assert verdict.outcome == Outcome.go
    assert "1 waived: leak" in verdict.reason and "1 not-applicable: gpu" in verdict.reason
    assert verdict.failed_blockers == []
    alone = decide("r", [item("leak", ItemStatus.waived), item("gpu", ItemStatus.not_applicable)], [],
                   prometheus_url=None)
    assert alone.outcome == Outcome.invalid


def test_junit_says_error_and_skipped_for_what_they_are(tmp_path: Path) -> None:
    items = [item("a", ItemStatus.passed), item("boom", ItemStatus.error, traceback="ZeroDivisionError"),
             item("leak", ItemStatus.waived), item("gpu", ItemStatus.not_applicable),
             item("b", ItemStatus.failed)]
    root = ET.parse(write_junit(decide("r", items, [], prometheus_url=None), tmp_path / "j.xml")).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("1", "1", "2")
    assert cases["boom"].find("error") is not None and "ZeroDivisionError" in cases["boom"].find("error").text
    assert cases["leak"].find("skipped").get("message") == "[waived] leak is waived"
    assert cases["gpu"].find("skipped") is not None and cases["b"].find("failure") is not None
