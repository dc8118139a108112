"""Which function grades which checklist item, and the one place an item's failure modes become a
status (no-data for missing data, fail for a service that does not answer, error for an item whose
grading raised, not-applicable, waived)."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable

import httpx

from harness.errors import ConfigError, GradeError
from harness.grade import client_items, memory_items, metric_items, session_items, stream_items
from harness.grade.baseline import parse_tolerance
from harness.grade.checks import access_log, alerts, breaker, gpu, service
from harness.grade.context import GradeContext
from harness.grade.result import NoData, NotApplicable, make_result
from harness.schemas.checklist import Checklist, ChecklistItem, ItemKind
from harness.schemas.verdict import Attestation, ItemResult, ItemStatus, Waiver

Grader = Callable[[GradeContext, ChecklistItem], ItemResult]

MEASURES: dict[str, Grader] = {
    "throughput_ratio": metric_items.throughput_ratio,
    "p99_latency": metric_items.p99_latency,
    "error_rate": metric_items.error_rate,
    "memory_trend": metric_items.memory_trend,
    "memory_per_request": memory_items.memory_per_request,
    "llm_p95": metric_items.llm_p95,
    "client_p99": client_items.client_p99,
    "max_latency": client_items.max_latency,
    "degraded_ratio": client_items.degraded_ratio,
    "client_error_rate": client_items.client_error_rate,
    "session_success_rate": session_items.session_success_rate,
    "deep_turn_p99": session_items.deep_turn_p99,
    "tool_error_rate": session_items.tool_error_rate,
    "tool_fault_contained": session_items.tool_fault_contained,
    "ttft_p95": stream_items.ttft_p95,
    "itl_p95": stream_items.itl_p95,
    "request_tokens_per_s": stream_items.request_tokens_per_s,
    "total_tokens_per_s": stream_items.total_tokens_per_s,
    "goodput": stream_items.goodput,
}
PROBES: dict[str, Grader] = {
    "health": service.health,
    "auth": service.auth,
    "pii_masking": access_log.pii_masking,
    "access_log_json": access_log.access_log_json,
    "access_log_coverage": access_log.access_log_coverage,
    "key_metrics": alerts.key_metrics,
    "alert_rules": alerts.alert_rules,
    "alert_delivery": alerts.alert_delivery,
    "breaker_cycle": breaker.breaker_cycle,
    "gpu_memory_headroom": gpu.gpu_memory_headroom,
    "rate_limit": service.rate_limit,  # last: a burst may throttle whatever runs after it
}


def validate_names(checklist: Checklist) -> None:
    """Unknown measure or probe names are configuration errors, found before any load runs."""
    for item in checklist.items:
        if item.kind == ItemKind.probe and item.probe not in PROBES:
            raise ConfigError(f"unknown probe '{item.probe}', expected one of {sorted(PROBES)}",
                              field=f"items.{item.id}.probe")
        if item.kind in (ItemKind.metric, ItemKind.client) and item.measure is not None \
                and item.measure not in MEASURES:
            raise ConfigError(f"unknown measure '{item.measure}', expected one of {sorted(MEASURES)}",
                              field=f"items.{item.id}.measure")
        if item.kind in (ItemKind.metric, ItemKind.client) and item.measure is None and not item.query:
            raise ConfigError("needs a 'measure' or a PromQL 'query'", field=f"items.{item.id}")
        if item.baseline_tolerance:
            try:
                parse_tolerance(item.baseline_tolerance)
            except ConfigError as exc:
                raise ConfigError(str(exc), field=f"items.{item.id}.baseline_tolerance") from None


def grading_order(items: Iterable[ChecklistItem]) -> list[ChecklistItem]:
    """Measurements first (they read the load already done), then probes in PROBES order."""
    probe_rank = {name: i for i, name in enumerate(PROBES)}
    return sorted(items, key=lambda i: (i.kind == ItemKind.probe, probe_rank.get(i.probe or "", -1)))


def grade_item(ctx: GradeContext, item: ChecklistItem, attestations: dict[str, Attestation]) -> ItemResult:
    try:
        result = _dispatch(ctx, item, attestations)
    except NoData as nodata:
        result = make_result(item, ItemStatus.no_data, nodata.reason, **nodata.fields)
    except NotApplicable as na:
        result = make_result(item, ItemStatus.not_applicable, na.reason)
    except GradeError as exc:  # Prometheus refused a query or went away mid-grade
        result = make_result(item, ItemStatus.no_data, str(exc))
    except httpx.HTTPError as exc:  # the service stopped answering a probe: not ready, whatever else
        result = make_result(item, ItemStatus.failed, f"the service did not answer the probe: {exc!r}")
    except Exception as exc:  # noqa: BLE001 - a bug in one item's grading must not lose the verdict
        result = make_result(item, ItemStatus.error, f"the harness raised {type(exc).__name__} grading it: "
                             f"{exc}", evidence={"traceback": traceback.format_exc(limit=-8)})
    _add_proxy_view(ctx, item, result)
    untrusted = ctx.scenario_invalid(item.scenario) if item.kind != ItemKind.manual else []
    if result.window is not None:
        untrusted = untrusted + ctx.scrape_gaps_seen(result.window)
        failed_scrapes = ctx.scrape_failures(result.window)
        if failed_scrapes and result.status == ItemStatus.no_data:
            # Missing series in a window whose scrapes failed: the failures are the finding.
            result.reason = f"{failed_scrapes}; {result.reason}"
    if untrusted:
        result.evidence["untrusted"] = untrusted
    return result


def _add_proxy_view(ctx: GradeContext, item: ChecklistItem, result: ItemResult) -> None:
    """What the fault proxies did during the item's scenario, beside whatever the item measured."""
    seen = ctx.upstream_calls(item.scenario)
    if seen is None:
        return
    result.evidence["fault_proxy"] = {"llm_calls": len(seen.llm_calls), "tcp_refused": seen.refused,
                                      "tcp_cut": seen.cut}
    if seen.refused or seen.cut:
        result.reason += (f" (on the wire: the TCP fault proxy refused {seen.refused} connections and cut "
                          f"{seen.cut})")


def _dispatch(ctx: GradeContext, item: ChecklistItem, attestations: dict[str, Attestation]) -> ItemResult:
    if item.kind == ItemKind.manual:
        return _manual(item, attestations.get(item.id))
    if item.kind == ItemKind.probe:
        return PROBES[item.probe or ""](ctx, item)
    return MEASURES.get(item.measure or "", metric_items.promql)(ctx, item)


def _manual(item: ChecklistItem, attestation: Attestation | None) -> ItemResult:
    if attestation is None:
        return make_result(item, ItemStatus.failed, f"not attested: a person must confirm it "
                           f"(--attest {item.id}=NAME, or attestations: in the checklist)")
    note = f" ({attestation.note})" if attestation.note else ""
    return make_result(item, ItemStatus.passed, f"attested by {attestation.by} at {attestation.at}{note}",
                       attestation=attestation)


def apply_waivers(results: list[ItemResult], waivers: Iterable[Waiver]) -> list[ItemResult]:
    """A waived item shows as waived whatever grading found; what it found stays beside it."""
    by_item = {w.item: w for w in waivers}
    out = []
    for result in results:
        waiver = by_item.get(result.id)
        if waiver is not None:
            result = result.model_copy(update={
                "status": ItemStatus.waived, "measured_status": result.status, "waiver": waiver,
                "reason": f"waived by {waiver.by}: {waiver.reason} (measured {result.status.value}: "
                          f"{result.reason})"})
        out.append(result)
    return out
