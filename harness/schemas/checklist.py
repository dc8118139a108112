"""The launch checklist as data (``checklist.yaml``): target rate, scenario plans per profile, items.

Loading with file/line error messages lives in ``harness.checklist``; this module is the shape.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from harness.schemas.base import Contract
from harness.schemas.service import SERVICE_PROFILE_TAG, ServiceProfile, expand_service
from harness.schemas.verdict import Attestation, Waiver


class FaultSpec(Contract):
    """A phase's faults: the bundled service's ``PUT /admin/faults`` applies those down to
    ``tool_error_rate``; with ``--llm-proxy`` / ``--redis-proxy`` the fault proxies apply the LLM and
    Redis parts on the wire (harness.load.faults), and only they can do the last four."""

    llm_delay_s: float = Field(0.0, ge=0)
    llm_jitter_s: float = Field(0.0, ge=0)
    llm_error_rate: float = Field(0.0, ge=0, le=1)
    redis_down: bool = False
    tool_delay_s: float = Field(0.0, ge=0)  # the bundled agent's external API tool
    tool_error_rate: float = Field(0.0, ge=0, le=1)
    llm_chunk_delay_s: float = Field(0.0, ge=0)  # before each streamed chunk (slow tokens)
    llm_error_status: Literal[500, 429, 503] = 500
    llm_hang: bool = False
    llm_disconnect_after_chunks: int | None = Field(None, ge=0)


class Lengths(Contract):
    """A length in tokens drawn per request: gamma with this mean and coefficient of variation (0: always
    the mean), as vLLM's and AIPerf's synthetic workloads state theirs."""

    mean: float = Field(gt=0)
    cv: float = Field(0.0, ge=0)


class ScenarioPlan(Contract):
    """How one scenario runs in one profile. Durations in seconds; rates as multiples of target_qps."""

    warmup_s: float = Field(10, ge=0)
    steady_s: float = Field(60, gt=0)  # the graded phase ("steady", "hold", "before"...)
    rate_x: float | None = Field(None, gt=0)  # open model: arrival rate = rate_x * target_qps
    arrival: Literal["constant", "poisson", "gamma"] = "poisson"
    arrival_cv: float = Field(1.0, gt=0)  # gamma: the gaps' coefficient of variation (> 1 bursty)
    ramp_s: float = Field(0, ge=0)  # open model: a linear ramp from the warm-up rate up to the steady rate
    trace: str | None = None  # trace_replay: CSV/JSONL of timestamps (harness/load/trace.py); --trace
    # agent_sessions: turns per second over all sessions (not from target_qps: turns carrying history
    # miss the cache, so size it from the cold-cache capacity), and turns per session (geometric).
    turn_rate_rps: float | None = Field(None, gt=0)
    turns_mean: float = Field(4.0, ge=1)
    turns_max: int = Field(12, ge=1)
    # agent_sessions: the share of streamed turns a user cancels after ``cancel_after_tokens`` tokens
    # (the stream closed mid-answer; counted, and the session goes on with the partial answer).
    cancel_share: float = Field(0.0, ge=0, le=1)
    cancel_after_tokens: int = Field(4, ge=1)
    # agent_sessions: each question padded to a prompt length, and its answer capped at an output
    # length, drawn from these (unset: the corpus's questions and the plan's max_tokens).
    prompt_tokens: Lengths | None = None
    output_tokens: Lengths | None = None
    users: int | None = Field(None, gt=0)  # closed model: concurrent users
    spawn_rate: float | None = Field(None, gt=0)
    think_time_s: float | None = Field(None, ge=0)
    stream_share: float = Field(0.2, ge=0, le=1)
    # Share of requests whose prompt is made unique, so they miss any response cache and take the
    # LLM path: a fault in the LLM must meet enough requests to show how the service degrades.
    fresh_share: float = Field(0.0, ge=0, le=1)
    max_in_flight: int = Field(2000, gt=0)
    fault: FaultSpec | None = None
    fault_s: float | None = Field(None, gt=0)
    recovery_s: float | None = Field(None, gt=0)
    spike_x: float | None = Field(None, gt=0)  # spike: step to spike_x * target_qps


# What an item's raw PromQL template (``query:``) may use. Only these are replaced, so label matchers
# such as {job="x"} are written as they are (no str.format: no doubled braces, no KeyError).
QUERY_PLACEHOLDERS = ("start", "end", "range", "job")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(QUERY_PLACEHOLDERS) + r")\}")


def render_query(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{start}``, ``{end}``, ``{range}``, ``{job}`` replaced from ``values``."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


class Profile(Contract):
    description: str = ""
    scenarios: dict[str, ScenarioPlan]


class Category(StrEnum):
    performance = "performance"
    reliability = "reliability"
    monitoring = "monitoring"
    security = "security"


class Severity(StrEnum):
    blocker = "blocker"
    warning = "warning"


class ItemKind(StrEnum):
    metric = "metric"  # PromQL over a phase window
    client = "client"  # the load generator's own statistics
    probe = "probe"  # an active check against the service, its logs or Prometheus
    manual = "manual"  # a human attests it


class Threshold(Contract):
    op: Literal["<", "<=", ">", ">=", "=="]
    value: float
    unit: str = ""

    def holds(self, measured: float) -> bool:
        return {
            "<": measured < self.value,
            "<=": measured <= self.value,
            ">": measured > self.value,
            ">=": measured >= self.value,
            "==": measured == self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}{(' ' + self.unit) if self.unit else ''}"


class ChecklistItem(Contract):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    category: Category
    severity: Severity
    kind: ItemKind
    scenario: str | None = None
    phase: str | None = None
    # metric: a named measurement of harness.grade (e.g. "p99_latency") or a raw PromQL template.
    measure: str | None = None
    query: str | None = None
    probe: str | None = None
    threshold: Threshold | None = None
    warn_threshold: Threshold | None = None
    confidence: float = Field(0.95, gt=0, lt=1)
    min_samples: int = Field(0, ge=0)
    baseline_tolerance: str | None = None  # e.g. "<=+10%"
    rationale: str
    # Profiles this item is graded in (empty: every profile), e.g. a soak item only in "full".
    profiles: list[str] = Field(default_factory=list)
    # Knobs of the measurement or probe (burst size, PII samples, rule names, ...).
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def grader(self) -> str | None:
        """The measure or probe that grades it (and whose ``params`` model applies)."""
        return self.probe if self.kind == ItemKind.probe else self.measure

    def applies_to(self, profile: str) -> bool:
        return not self.profiles or profile in self.profiles

    @model_validator(mode="after")
    def _kind_needs(self) -> ChecklistItem:
        if self.kind in (ItemKind.metric, ItemKind.client) and self.threshold is None:
            raise ValueError(f"item '{self.id}' of kind {self.kind.value} needs a threshold")
        if self.kind == ItemKind.probe and not self.probe:
            raise ValueError(f"item '{self.id}' of kind probe needs 'probe'")
        return self


# The tag keeps validation errors to the branch that applies (a mapping is never "not a string").
ServiceField = Annotated[
    Annotated[ServiceProfile, Tag(SERVICE_PROFILE_TAG)] | Annotated[str, Tag("name")],
    Discriminator(lambda v: "name" if isinstance(v, str) else SERVICE_PROFILE_TAG),
    BeforeValidator(expand_service),
]


class Checklist(Contract):
    version: int = 1
    # A name only (no profile: the bundled contract, or detection on a target of your own), a preset's
    # name, or a mapping ``{preset: NAME, ...overrides}`` (see harness.target.presets).
    service: ServiceField = "agent service"
    target_qps: float = Field(gt=0)
    slo_p99_s: float = Field(3.0, gt=0)
    slo_error_rate: float = Field(0.001, gt=0, lt=1)
    default_profile: str = "quick"
    profiles: dict[str, Profile]
    items: list[ChecklistItem]
    attestations: list[Attestation] = Field(default_factory=list)
    waive: list[Waiver] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Checklist:
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile '{self.default_profile}' is not one of {list(self.profiles)}")
        ids = [i.id for i in self.items]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate item ids: {sorted(dupes)}")
        return self

    def plan(self, profile: str, scenario: str) -> ScenarioPlan:
        try:
            return self.profiles[profile].scenarios[scenario]
        except KeyError:
            raise KeyError(f"profile {profile!r} has no scenario {scenario!r}") from None

    def items_for(self, profile: str) -> list[ChecklistItem]:
        return [i for i in self.items if i.applies_to(profile)]

    def scenarios_needed(self, profile: str) -> list[str]:
        """Scenarios the items read, in the profile's order."""
        wanted = {i.scenario for i in self.items_for(profile) if i.scenario}
        return [s for s in self.profiles[profile].scenarios if s in wanted]

    @property
    def service_name(self) -> str:
        if isinstance(self.service, str):
            return self.service
        return self.service.name or self.service.preset

    @property
    def service_profile(self) -> ServiceProfile | None:
        """The profile the checklist gives, None when it names the service only."""
        return self.service if isinstance(self.service, ServiceProfile) else None
