"""Building one ItemResult: every field filled the same way, and the rule that turns a value and its
confidence bound into a status."""

from __future__ import annotations

from typing import Any

from harness.schemas.checklist import ChecklistItem, Threshold
from harness.schemas.verdict import ItemResult, ItemStatus


class NoData(Exception):  # noqa: N818 - it is a verdict, not a failure of the code
    """An item cannot be judged: not enough samples, a missing series, a scenario that did not run."""

    def __init__(self, reason: str, **fields: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


class NotApplicable(Exception):  # noqa: N818 - a verdict, like NoData
    """The item cannot apply to this target (e.g. a GPU item on a service without one): never blocks."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_result(item: ChecklistItem, status: ItemStatus, reason: str, **fields: Any) -> ItemResult:
    fields.setdefault("threshold", str(item.threshold) if item.threshold else None)
    fields.setdefault("unit", item.threshold.unit if item.threshold else "")
    if item.kind.value in ("metric", "client"):
        fields.setdefault("confidence", item.confidence)
    return ItemResult(id=item.id, title=item.title, category=item.category.value,
                      severity=item.severity.value, kind=item.kind.value, status=status,
                      reason=" ".join(reason.split()), **fields)  # one line, whatever an error said


def judge(item: ChecklistItem, value: float, bound: float | None) -> tuple[ItemStatus, str]:
    """Fail on the estimate, pass only on the bound, and call the gap between them no-data.

    ``bound`` is the conservative end of the confidence interval (upper for '<' thresholds, lower
    for '>'); None when the measurement has no interval (then the estimate decides).
    """
    threshold = _require(item.threshold, item)
    shown = f"{_fmt(value)}{_unit(threshold)}"
    if not threshold.holds(value):
        return ItemStatus.failed, f"{shown} breaks the limit {threshold}"
    if bound is not None and not threshold.holds(bound):
        return ItemStatus.no_data, (f"{shown} is within {threshold}, but its {item.confidence:.0%} bound "
                                    f"{_fmt(bound)}{_unit(threshold)} is not: not enough data to show it")
    if item.warn_threshold is not None and not item.warn_threshold.holds(value):
        return ItemStatus.warn, f"{shown} meets {threshold} but not the warning level {item.warn_threshold}"
    with_bound = f" ({item.confidence:.0%} bound {_fmt(bound)})" if bound is not None else ""
    return ItemStatus.passed, f"{shown}{with_bound} meets {threshold}"


def _require(threshold: Threshold | None, item: ChecklistItem) -> Threshold:
    if threshold is None:
        raise NoData(f"item {item.id} has no threshold to judge against")
    return threshold


def _unit(threshold: Threshold) -> str:
    return f" {threshold.unit}" if threshold.unit else ""


def _fmt(value: float) -> str:
    return f"{value:.4g}"
