"""PromQL templates. Window queries read exactly one phase with the ``@`` modifier, so a grade can be
re-run later, and every query an item used is stored with it, ready to paste into Prometheus."""

from __future__ import annotations

# The agent's own requests; /healthz, /metrics and /admin are not what users wait for.
AGENT = 'endpoint=~"/v1/agent/.*"'
# Outcomes by status label (harness.schemas.outcome): served 2xx, shed 429, every other 4xx/5xx an
# error. A 2xx the client could not read is only visible in the request log.
SERVED = 'status=~"2.."'
SHED = 'status="429"'
ERROR = 'status=~"4..|5..", status!="429"'
CHART_RATE_WINDOW = "5s"  # several 1 s scrapes, so rate() has points to work with


def duration(seconds: float) -> str:
    """A PromQL range in whole milliseconds (PromQL has no fractional durations)."""
    return f"{max(1, round(seconds * 1000))}ms"


def at(t: float) -> str:
    return f"@ {t:.3f}"


class PromQL:
    """Query builders; ``job`` selects the service's scrape job (its process metrics share names with
    the load generator's)."""

    @staticmethod
    def up(job: str) -> str:
        return f'up{{job="{job}"}}'

    @staticmethod
    def quantile(q: float, histogram: str, selector: str, start: float, end: float) -> str:
        return (f"histogram_quantile({q:g}, sum by (le) (increase({histogram}_bucket{{{selector}}}"
                f"[{duration(end - start)}] {at(end)})))")

    @staticmethod
    def histogram_count(histogram: str, selector: str, start: float, end: float) -> str:
        return f"sum(increase({histogram}_count{{{selector}}}[{duration(end - start)}] {at(end)}))"

    @staticmethod
    def counted(counter: str, selector: str, start: float, end: float) -> str:
        """Exact events between the scrapes at ``start`` and ``end``. Unlike increase(), this counts a
        series born inside the window (the first 5xx of a run) in full instead of dropping its first
        value; a series absent at ``start`` did not exist yet, i.e. counted nothing."""
        series = f"{counter}{{{selector}}}"
        return f"sum({series} {at(end)}) - (sum({series} {at(start)}) or vector(0))"

    @staticmethod
    def resets(counter: str, selector: str, start: float, end: float) -> str:
        return f"sum(resets({counter}{{{selector}}}[{duration(end - start)}] {at(end)}))"

    @staticmethod
    def rss(job: str) -> str:
        return f'sum(process_resident_memory_bytes{{job="{job}"}})'

    @staticmethod
    def breaker(job: str) -> str:
        return f'max(agent_circuit_breaker_state{{job="{job}"}})'

    @staticmethod
    def present(metric: str, job: str, t: float) -> str:
        return f'count({{__name__="{metric}", job="{job}"}} {at(t)})'


def chart_queries(job: str) -> dict[str, tuple[str, str]]:
    """Range queries the report charts, by series name: (query, unit)."""
    w = CHART_RATE_WINDOW
    agent = f'job="{job}", {AGENT}'

    def q(p: float, hist: str, sel: str) -> str:
        return f"histogram_quantile({p:g}, sum by (le) (rate({hist}_bucket{{{sel}}}[{w}])))"

    return {
        "server_p50": (q(0.5, "agent_request_duration_seconds", agent), "s"),
        "server_p95": (q(0.95, "agent_request_duration_seconds", agent), "s"),
        "server_p99": (q(0.99, "agent_request_duration_seconds", agent), "s"),
        "rps": (f"sum(rate(agent_requests_total{{{agent}}}[{w}]))", "req/s"),
        "errors": (f"sum(rate(agent_requests_total{{{agent}, {ERROR}}}[{w}])) or vector(0)", "req/s"),
        "rss_bytes": (PromQL.rss(job), "bytes"),
        "llm_p95": (q(0.95, "llm_request_duration_seconds", f'job="{job}"'), "s"),
        "ttft_p95": (q(0.95, "llm_time_to_first_token_seconds", f'job="{job}"'), "s"),
        "breaker_state": (PromQL.breaker(job), ""),
        "degraded_ratio": (f'sum(rate(agent_degraded_responses_total{{job="{job}"}}[{w}])) '
                           f"/ sum(rate(agent_requests_total{{{agent}}}[{w}]))", ""),
    }
