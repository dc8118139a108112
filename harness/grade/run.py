"""Grade a finished run folder (``grade_run``) or any window of any Prometheus (``grade_window``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from harness.errors import GradeError
from harness.grade.baseline import compare
from harness.grade.context import GradeContext
from harness.grade.incidents import stack_findings
from harness.grade.items import apply_waivers, grade_item, grading_order, validate_names
from harness.grade.prom import Prom
from harness.grade.series import collect_series
from harness.grade.verdict import decide, write_junit
from harness.schemas.checklist import Checklist, ItemKind
from harness.schemas.run import Endpoints, RunFolder, RunInfo
from harness.schemas.service import MetricsMapping, preset_profile
from harness.schemas.timeline import ScenarioStatus, StopCause, Timeline
from harness.schemas.verdict import Attestation, SeriesSet, Verdict, Window


def grade_run(run_folder: Path, checklist: Checklist, *, endpoints: Endpoints,
              attestations: Iterable[Attestation] = (), baseline: Path | None = None,
              profile: str | None = None, job: str | None = None) -> Verdict:
    """Grade every item of the run's profile; writes verdict.json, series.json and junit.xml."""
    validate_names(checklist)
    folder = RunFolder(run_folder).ensure()
    timeline = Timeline.load_file(folder.timeline) if folder.timeline.exists() else None
    if profile is None:
        profile = RunInfo.load_file(folder.run_info).profile if folder.run_info.exists() \
            else checklist.default_profile
    prom, prom_error = _connect(endpoints.prometheus_url)
    metrics = endpoints.service.metrics
    job = job or metrics.job
    ctx = GradeContext(checklist=checklist, profile=profile, endpoints=endpoints, prom=prom,
                       prom_error=prom_error, folder=folder, timeline=timeline, job=job, metrics=metrics)
    try:
        items = checklist.items_for(profile)
        attested = {a.item: a for a in [*checklist.attestations, *attestations]}
        results = [grade_item(ctx, item, attested) for item in grading_order(items)]
        results.sort(key=lambda r: [i.id for i in items].index(r.id))  # report in checklist order
        results = apply_waivers(results, checklist.waive)
        logs = {r.name: _log_or_none(ctx, r.name) for r in (timeline.scenarios if timeline else [])}
        series = collect_series(timeline, prom, logs, ctx)
        target_failures, stack_invalid = stack_findings(timeline, prom, ctx.q)
    finally:
        if prom is not None:
            prom.close()
    invalid = stack_invalid + _run_invalid(timeline, {i.scenario for i in items if i.scenario})
    if prom_error:
        invalid.append(prom_error)
    verdict = decide(folder.run_id, results, invalid + ctx.invalid_reasons,
                     prometheus_url=endpoints.prometheus_url, target_failures=target_failures)
    if baseline is not None:
        verdict = compare(verdict, folder.root, Path(baseline), _tolerances(checklist), _measures(checklist))
    _write(verdict, series, folder)
    return verdict


def grade_window(checklist: Checklist, *, prometheus_url: str, since: float, until: float,
                 out: Path | None = None, job: str | None = None, run_id: str = "check",
                 metrics: MetricsMapping | None = None) -> Verdict:
    """Metric items over one window of an existing Prometheus, no load and no probes
    (``loadgate check``). An unreachable Prometheus raises GradeError naming the URL."""
    validate_names(checklist)
    if until <= since:
        raise GradeError(f"window ends ({until}) before it starts ({since})")
    prom = Prom(prometheus_url)
    prom.check()
    window = Window(start=since, end=until)
    metrics = metrics or (checklist.service_profile or preset_profile("bundled")).metrics
    ctx = GradeContext(checklist=checklist, profile=checklist.default_profile, endpoints=None, prom=prom,
                       window_override=window, job=job or metrics.job, metrics=metrics)
    try:
        items = [i for i in checklist.items_for(checklist.default_profile) if i.kind == ItemKind.metric]
        results = apply_waivers([grade_item(ctx, item, {}) for item in items], checklist.waive)
    finally:
        prom.close()
    verdict = decide(run_id, results, ctx.invalid_reasons, prometheus_url=prometheus_url)
    if out is not None:
        folder = RunFolder(out).ensure()
        verdict.save_file(folder.verdict)
        write_junit(verdict, folder.junit)
    return verdict


def _connect(url: str) -> tuple[Prom | None, str | None]:
    prom = Prom(url)
    try:
        prom.check()
    except GradeError as exc:
        prom.close()
        return None, str(exc)
    return prom, None


def _log_or_none(ctx: GradeContext, scenario: str) -> pd.DataFrame | None:
    """A malformed request log costs its charts, not the verdict (its items already say no-data)."""
    try:
        return ctx.request_log(scenario)
    except GradeError:
        return None


def _run_invalid(timeline: Timeline | None, scenarios: set[str]) -> list[str]:
    """Scenario-level reasons the measurements describe the generator or a broken run."""
    if timeline is None:
        return ["no timeline.json: no scenario ran"] if scenarios else []
    reasons = []
    for run in timeline.scenarios:
        if run.name not in scenarios:
            continue
        reasons += [f"{run.name}: {r}" for r in run.invalid_reasons]
        if run.stop is not None and run.stop.cause == StopCause.service:
            continue  # the service failing is a finding (its incident, its items), not an untrusted run
        if run.status != ScenarioStatus.completed:
            reasons.append(f"{run.name} {run.status.value}: {run.reason or 'no reason given'}")
    return reasons


def _tolerances(checklist: Checklist) -> dict[str, str]:
    return {i.id: i.baseline_tolerance for i in checklist.items if i.baseline_tolerance}


def _measures(checklist: Checklist) -> dict[str, str | None]:
    return {i.id: i.measure for i in checklist.items}


def _write(verdict: Verdict, series: SeriesSet, folder: RunFolder) -> None:
    verdict.save_file(folder.verdict)
    series.save_file(folder.series)
    write_junit(verdict, folder.junit)
