"""The ``params:`` of each checklist measure and probe, typed: a misspelt knob (``brust:``) or a wrong
type is a checklist error naming its line, never a silent default. Defaults live here and only here."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import Field

from harness.schemas.base import Contract

P = TypeVar("P", bound="Params")


class Params(Contract):
    """No knobs: any ``params:`` given is a mistake (``Contract`` forbids unknown fields)."""

    @classmethod
    def of(cls: type[P], params: dict[str, Any]) -> P:
        return cls.model_validate(params)


class ThroughputParams(Params):
    rate_x: float | None = Field(None, gt=0)  # the promised multiple when the scenario has no rate_x


class MemoryTrendParams(Params):
    min_points: int = Field(20, ge=3)  # RSS samples the slope needs


class MemoryPerRequestParams(Params):
    # Each scenario's first share of its requests, not judged: caches and the new load's buffers fill.
    warmup_share: float = Field(0.3, ge=0, lt=1)
    min_requests: int = Field(1000, gt=0)  # over the whole run
    # A scenario's own slope counts when it served this many after its warm-up (fewer: too noisy).
    min_scenario_requests: int = Field(1000, ge=0)


class MaxLatencyParams(Params):
    llm_timeout_s: float | None = Field(None, gt=0)  # the service's own LLM timeout, shown beside the value


class RateLimitParams(Params):
    burst: int = Field(800, gt=0)  # requests sent from one key as fast as possible
    concurrency: int = Field(64, gt=0)


class PiiParams(Params):
    # Strings sent in a request and looked for in the access log; {token} and {digits4} vary per run.
    samples: list[str] = Field(default_factory=list)


class AccessLogJsonParams(Params):
    fields: list[str] = Field(default_factory=list)  # keys every line must have


class AccessLogCoverageParams(Params):
    requests: int = Field(20, gt=0)


class KeyMetricsParams(Params):
    metrics: list[str] = Field(default_factory=list)


class AlertRulesParams(Params):
    rules: list[str] = Field(default_factory=list)


class BreakerParams(Params):
    # While the breaker is open, answers must come back within this (None: the checklist's slo_p99_s).
    answer_within_s: float | None = Field(None, gt=0)


class AlertDeliveryParams(Params):
    wait_s: float = Field(15.0, gt=0)  # Alertmanager's group_wait plus the webhook call


class ToolParams(Params):
    tool: str | None = None  # one tool's calls only (tool_error_rate: all tools when None)


class ToolFaultParams(Params):
    tool: str = "external_api"  # the tool the scenario's fault slows


class GoodputParams(Params):
    """vLLM's goodput: a request counts when it meets every SLO given here at once (seconds)."""

    ttft_s: float | None = Field(None, gt=0)
    itl_s: float | None = Field(None, gt=0)
    e2e_s: float | None = Field(None, gt=0)


# Every measure and probe of harness.grade.items, by name (a unit test keeps the two in step).
PARAMS: dict[str, type[Params]] = {
    "throughput_ratio": ThroughputParams,
    "p99_latency": Params,
    "error_rate": Params,
    "memory_trend": MemoryTrendParams,
    "memory_per_request": MemoryPerRequestParams,
    "llm_p95": Params,
    "client_p99": Params,
    "max_latency": MaxLatencyParams,
    "degraded_ratio": Params,
    "client_error_rate": Params,
    "session_success_rate": Params,
    "deep_turn_p99": Params,
    "tool_error_rate": ToolParams,
    "tool_fault_contained": ToolFaultParams,
    "ttft_p95": Params,
    "itl_p95": Params,
    "request_tokens_per_s": Params,
    "total_tokens_per_s": Params,
    "goodput": GoodputParams,
    "health": Params,
    "auth": Params,
    "pii_masking": PiiParams,
    "access_log_json": AccessLogJsonParams,
    "access_log_coverage": AccessLogCoverageParams,
    "key_metrics": KeyMetricsParams,
    "alert_rules": AlertRulesParams,
    "alert_delivery": AlertDeliveryParams,
    "breaker_cycle": BreakerParams,
    "gpu_memory_headroom": Params,
    "rate_limit": RateLimitParams,
}
