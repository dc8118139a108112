"""PromQL built from the service profile's metrics mapping. Window queries read exactly one phase
with the ``@`` modifier, so a grade can be re-run later, and every query an item used is stored with
it, ready to paste into Prometheus. Series are summed over the job's instances (replicas); a
histogram in milliseconds is divided back to seconds."""

from __future__ import annotations

from harness.schemas.service import Breaker, Counter, Histogram, MetricsMapping, Series

DEFAULT_CHART_RATE_S = 5.0  # several 1 s scrapes, so rate() has points to work with


def duration(seconds: float) -> str:
    """A PromQL range in whole milliseconds (PromQL has no fractional durations)."""
    return f"{max(1, round(seconds * 1000))}ms"


def at(t: float) -> str:
    return f"@ {t:.3f}"


def matchers(*parts: str | None) -> str:
    return ", ".join(p for p in parts if p)


def _seconds(query: str, hist: Histogram) -> str:
    return f"({query}) / 1000" if hist.in_ms else query


class PromQL:
    """Query builders over one job (the service's scrape job: its process metrics share names with
    the load generator's) and the profile's series."""

    def __init__(self, metrics: MetricsMapping, job: str | None = None) -> None:
        self.metrics = metrics
        self.job = job or metrics.job

    def sel(self, series: Series, *extra: str | None) -> str:
        return matchers(f'job="{self.job}"', series.selector, *extra)

    def up(self) -> str:
        return f'up{{job="{self.job}"}}'

    def quantile(self, q: float, hist: Histogram, start: float, end: float) -> str:
        return _seconds(f"histogram_quantile({q:g}, sum by (le) (increase({hist.name}_bucket"
                        f"{{{self.sel(hist)}}}[{duration(end - start)}] {at(end)})))", hist)

    def histogram_count(self, hist: Histogram, start: float, end: float) -> str:
        return f"sum(increase({hist.name}_count{{{self.sel(hist)}}}[{duration(end - start)}] {at(end)}))"

    def counted(self, counter: Counter, start: float, end: float, *extra: str | None) -> str:
        """Exact events between the scrapes at ``start`` and ``end``. Unlike increase(), this counts a
        series born inside the window (the first 5xx of a run) in full instead of dropping its first
        value; a series absent at ``start`` did not exist yet, i.e. counted nothing."""
        series = f"{counter.name}{{{self.sel(counter, *extra)}}}"
        return f"sum({series} {at(end)}) - (sum({series} {at(start)}) or vector(0))"

    def resets(self, counter: Counter, start: float, end: float) -> str:
        return f"sum(resets({counter.name}{{{self.sel(counter)}}}[{duration(end - start)}] {at(end)}))"

    def gauge(self, series: Series, how: str = "sum") -> str:
        return f"{how}({series.name}{{{self.sel(series)}}})"

    def breaker(self, breaker: Breaker) -> str:
        return self.gauge(breaker, "max")

    def present(self, metric: str, t: float) -> str:
        return f'count({{__name__="{metric}", job="{self.job}"}} {at(t)})'


def chart_queries(metrics: MetricsMapping, job: str | None = None,
                  rate_window_s: float = DEFAULT_CHART_RATE_S) -> dict[str, tuple[str, str]]:
    """Range queries the report charts, by series name: (query, unit); a measure the profile does not
    map has no chart."""
    q = PromQL(metrics, job)
    w = f"{rate_window_s:g}s"
    m = metrics

    def pct(p: float, hist: Histogram) -> str:
        buckets = f"{hist.name}_bucket{{{q.sel(hist)}}}"
        return _seconds(f"histogram_quantile({p:g}, sum by (le) (rate({buckets}[{w}])))", hist)

    def rate(series: Series, *extra: str) -> str:
        return f"sum(rate({series.name}{{{q.sel(series, *extra)}}}[{w}]))"

    out: dict[str, tuple[str, str]] = {}
    if m.request_duration:
        out |= {f"server_p{p}": (pct(p / 100, m.request_duration), "s") for p in (50, 95, 99)}
    if m.requests:
        out["rps"] = (rate(m.requests), "req/s")
        out["errors"] = (f"{rate(m.requests, m.requests.error)} or vector(0)", "req/s")
    if m.memory:
        out["rss_bytes"] = (q.gauge(m.memory), "bytes")
    if m.llm_duration:
        out["llm_p95"] = (pct(0.95, m.llm_duration), "s")
    if m.llm_ttft:
        out["ttft_p95"] = (pct(0.95, m.llm_ttft), "s")
    if m.breaker:
        out["breaker_state"] = (q.breaker(m.breaker), "")
    if m.degraded and m.requests:
        out["degraded_ratio"] = (f"{rate(m.degraded)} / {rate(m.requests)}", "")
    return out
