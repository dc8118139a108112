"""What grading produced: one result per checklist item, the verdict, and the chart series."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from harness.schemas.base import Contract, VersionedModel


class ItemStatus(StrEnum):
    passed = "pass"
    warn = "warn"
    failed = "fail"
    no_data = "no-data"  # never a pass: a blocker without data makes the run INVALID
    error = "error"  # the harness raised while grading it: blocks like no-data, the rest is still graded
    waived = "waived"  # a person took the risk (checklist ``waive:``); never blocks, shown as waived
    not_applicable = "not-applicable"  # the item cannot apply to this target (no GPU); never blocks

    @property
    def clears(self) -> bool:
        """Does not stand in a GO's way."""
        return self in (ItemStatus.passed, ItemStatus.waived, ItemStatus.not_applicable)


class Outcome(StrEnum):
    go = "GO"
    no_go = "NO-GO"
    invalid = "INVALID"

    @property
    def exit_code(self) -> int:
        return {Outcome.go: 0, Outcome.no_go: 1, Outcome.invalid: 2}[self]


class Window(Contract):
    scenario: str | None = None
    phase: str | None = None
    start: float
    end: float


class Attestation(Contract):
    """A human's word for a manual item: shown as attested, never as measured."""

    item: str
    by: str
    at: str
    note: str = ""


class Waiver(Contract):
    """A person's decision to ship despite an item (checklist ``waive:``): shown as waived, who, why."""

    item: str
    reason: str = Field(min_length=1)
    by: str = Field(min_length=1)


class BaselineDelta(Contract):
    baseline_run: str
    baseline_value: float | None
    change: float | None  # relative, e.g. +0.12 is 12% worse or better depending on the item
    regression: bool
    test: str = ""  # e.g. "Mann-Whitney U p=0.003"


class ItemResult(Contract):
    id: str
    title: str
    category: str
    severity: str
    kind: str
    status: ItemStatus
    reason: str  # one line a human reads first
    value: float | None = None
    unit: str = ""
    threshold: str | None = None  # human form, e.g. "< 3 s"
    bound: float | None = None  # the confidence bound the decision rests on
    interval: tuple[float, float] | None = None
    confidence: float | None = None
    samples: int | None = None
    window: Window | None = None
    query: str | None = None  # the exact PromQL, re-runnable in Prometheus
    evidence: dict[str, Any] = Field(default_factory=dict)
    attestation: Attestation | None = None
    waiver: Waiver | None = None
    measured_status: ItemStatus | None = None  # what grading found, for a waived item
    baseline: BaselineDelta | None = None


class Verdict(VersionedModel):
    FILE_NAME = "verdict.json"

    run_id: str
    outcome: Outcome
    reason: str
    items: list[ItemResult]
    invalid_reasons: list[str] = Field(default_factory=list)
    prometheus_url: str | None = None
    graded_at: float
    baseline_run: str | None = None

    @property
    def failed_blockers(self) -> list[ItemResult]:
        return [i for i in self.items if i.severity == "blocker" and not i.status.clears]


class Series(Contract):
    """One time series kept for a chart: what was queried, and its points (unix s, value)."""

    name: str  # e.g. "server_p99", "client_p99", "rps", "errors", "rss_bytes"
    scenario: str
    unit: str = ""
    query: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    points: list[tuple[float, float]] = Field(default_factory=list)


class SeriesSet(VersionedModel):
    FILE_NAME = "series.json"

    step_s: float = 1.0
    series: list[Series] = Field(default_factory=list)

    def for_scenario(self, scenario: str) -> list[Series]:
        return [s for s in self.series if s.scenario == scenario]
