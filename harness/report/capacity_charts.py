"""The capacity report's charts, from ``capacity.json``'s searches and steps.

A chart draws *sources*: one search's steps with a label and a colour. One run's report has a source per
search (worker counts, what-ifs); ``--compare`` has one per run and search, a colour per run. Every line is
sorted by offered rate, so repeated or re-measured rates never make it zigzag.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.report.fmt import fmt_value
from harness.report.svg import Band, Chart, Line, Mark, RefLine, VLine
from harness.schemas.capacity import CapacityResult, CapacityStep, SearchResult, StepOutcome

PALETTE = ("#1570ef", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384", "#ee46bc", "#344054")
PERCENTILES = (("p50_s", "P50", "#2e90fa", True), ("p95_s", "P95", "#f79009", True),
               ("p99_s", "P99", "#d92d20", False))
OUTCOME_MARKS = {StepOutcome.passed: ("#067647", "dot"), StepOutcome.failed: ("#b42318", "cross"),
                 StepOutcome.inconclusive: ("#b54708", "ring")}
IDENTITY_COLOR = "#98a2b3"


@dataclass
class Source:
    label: str
    color: str
    search: SearchResult
    steps: list[CapacityStep]
    dash: bool = False


def sources_of(result: CapacityResult, prefix: str = "", color: str | None = None) -> list[Source]:
    """One source per search, in search order; a colour each unless one is given for them all."""
    out = []
    for n, search in enumerate(result.searches):
        steps = sorted((s for s in result.steps if s.search == search.name),
                       key=lambda s: (s.rate_rps, s.index))
        out.append(Source(f"{prefix}{search.name}", color or PALETTE[n % len(PALETTE)], search, steps,
                          dash=color is not None and n > 0))
    return out


def _value_chart(key: str, title: str, unit: str = "req/s") -> Chart:
    return Chart(key=key, title=title, unit=unit, x="value", x_unit="req/s")


def throughput_chart(sources: list[Source]) -> Chart:
    """Achieved against offered rate, the y = x line (every request served on time) and each knee."""
    chart = _value_chart("throughput", "Achieved vs offered throughput (y = x: all served)")
    top = max((s.rate_rps for src in sources for s in src.steps), default=0.0)
    chart.lines = [Line(src.label, [(s.rate_rps, s.achieved_rps) for s in src.steps], src.color,
                        dash=src.dash, markers=True) for src in sources]
    if top:
        chart.lines.append(Line("y = x", [(0.0, 0.0), (top, top)], IDENTITY_COLOR, dash=True, width=1.0))
    for src in sources:
        knee = src.search.knee
        if knee and knee.rate_rps is not None:
            chart.vlines.append(VLine(knee.rate_rps, f"knee {fmt_value(knee.rate_rps, 'req/s')}", src.color))
    chart.note = ("Knee: the first rate whose P50 is 1.5x the P50 at the lowest rate measured. "
                  "Below y = x the service completes less than is offered: a queue grows. Achieved counts "
                  "every answer, degraded and failed ones too: on y = x is not at the SLO (see each "
                  "step's errors).")
    return chart


def _outcome_marks(src: Source, key: str = "p99_s") -> list[Mark]:
    marks = []
    for step in src.steps:
        value = getattr(step, key)
        if value is None:
            continue
        color, shape = OUTCOME_MARKS[step.outcome]
        marks.append(Mark(step.rate_rps, value, color, shape,
                          f"{src.label} step {step.index}: {step.outcome.value} — {step.reason}"))
    return marks


def latency_chart(src: Source, slo_p99_s: float, key: str) -> Chart:
    """P50, P95 and P99 of one search by offered rate, the SLO, and each step's outcome on its P99."""
    chart = _value_chart(key, f"Latency by offered rate — {src.label}", unit="s")
    for field, name, color, dash in PERCENTILES:
        points = [(s.rate_rps, getattr(s, field)) for s in src.steps if getattr(s, field) is not None]
        chart.lines.append(Line(name, points, color, dash=dash, markers=False))
    chart.refs = [RefLine(slo_p99_s, f"SLO P99 {fmt_value(slo_p99_s, 's')}")]
    chart.marks = _outcome_marks(src)
    return chart


def p99_overlay(sources: list[Source], slo_p99_s: float) -> Chart:
    """Every source's P99 by offered rate on one chart: what-ifs and runs side by side."""
    chart = _value_chart("p99-overlay", "P99 by offered rate, side by side", unit="s")
    chart.lines = [Line(src.label, [(s.rate_rps, s.p99_s) for s in src.steps if s.p99_s is not None],
                        src.color, dash=src.dash, markers=True) for src in sources]
    chart.refs = [RefLine(slo_p99_s, f"SLO P99 {fmt_value(slo_p99_s, 's')}")]
    return chart


def usl_chart(sources: list[Source]) -> Chart:
    """The closed-loop probe's throughput by concurrency, the USL fitted to it, and its predicted peak."""
    chart = Chart(key="usl", title="Universal Scalability Law: throughput by concurrency", unit="req/s",
                  x="value", x_unit="")
    for src in sources:
        usl = src.search.usl
        if usl is None or not usl.data:
            continue
        top = max(n for n, _ in usl.data) * 2
        if usl.peak_concurrency and usl.peak_within_data:
            top = max(top, usl.peak_concurrency * 1.25)
        grid = [top * i / 60 for i in range(1, 61)]
        chart.lines.append(Line(f"{src.label} USL (R² {usl.r_squared:.2f})",
                                [(n, usl.throughput_at(n)) for n in grid], src.color, dash=src.dash))
        chart.marks += [Mark(n, x, src.color, "ring", f"{src.label}: {x:.3g} req/s at concurrency {n:g}")
                        for n, x in usl.data]
        if usl.peak_rps is not None and usl.peak_concurrency is not None:
            chart.vlines.append(VLine(usl.peak_concurrency, f"peak {fmt_value(usl.peak_rps, 'req/s')}"
                                      f"{'' if usl.peak_within_data else ' (extrapolated)'}", src.color))
        elif usl.peak_rps is not None:
            chart.refs.append(RefLine(usl.peak_rps, f"limit {fmt_value(usl.peak_rps, 'req/s')}", src.color))
    chart.note = ("Rings: the probe's measured throughput per concurrency level; lines: the fit "
                  "X(N) = λN / (1 + σ(N−1) + κN(N−1)); a peak beyond twice the data is an extrapolation.")
    unfitted = [f"{src.label}: {src.search.usl_error}" for src in sources
                if src.search.usl is None and src.search.usl_error]
    if unfitted:  # a search missing from the chart says why
        chart.note += " No fit for " + "; ".join(unfitted) + "."
    return chart


def breaking_chart(sources: list[Source]) -> Chart:
    """The breaking rate's posterior as bands (interval, and the wider one a rerun lands in), the chance
    a hold-length step passes by rate, and each step as a trial: passed at 1, failed at 0."""
    chart = _value_chart("breaking", "Breaking rate: chance a hold-length step passes", unit="ratio")
    chart.left_range = (0.0, 1.0)
    for src in sources:
        br = src.search.breaking
        if br is None:
            continue
        low, high = br.interval_rps
        chart.bands += [Band(*br.rerun_interval_rps, "", color=src.color),
                        Band(low, high, "", color=src.color)]
        top = max([s.rate_rps for s in src.steps] + [br.rerun_interval_rps[1]]) * 1.1
        grid = [top * i / 120 for i in range(1, 121)]
        chart.lines.append(Line(f"{src.label}: breaks near {fmt_value(br.estimate_rps, 'req/s')}",
                                [(r, br.pass_probability(r)) for r in grid], src.color, dash=src.dash))
        chart.vlines.append(VLine(br.estimate_rps, fmt_value(br.estimate_rps, "req/s"), src.color))
        chart.marks += [Mark(s.rate_rps, 1.0 if s.outcome == StepOutcome.passed else 0.0,
                             *OUTCOME_MARKS[s.outcome], f"{src.label} step {s.index}: {s.duration_s:.0f} s")
                        for s in src.steps if s.outcome != StepOutcome.inconclusive]
    chart.note = ("Dark band: where the breaking rate is (posterior interval); light band: where a "
                  "rerun's estimate lands. The curve: the pass chance of a hold-length step at the median.")
    if not chart.lines:
        chart.note = ("No breaking rate: it needs a search with steps that passed and steps that failed; "
                      + ("no measured step passed." if not any(s.outcome == StepOutcome.passed
                                                               for src in sources for s in src.steps)
                         else "each search's steps fell on one side only."))
    return chart
