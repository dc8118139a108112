"""The load generator's Prometheus exporter (scraped as job="loadgate"), served by the Locust master.

Its counters and histograms are the master's merged tally (every worker's), read at each scrape."""

from __future__ import annotations

from collections.abc import Iterator

from hdrh.histogram import HdrHistogram
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from harness.load.tally import Tally

# The service's bucket edges (target_service.metrics.LATENCY_BUCKETS), so client and server
# histograms interpolate over the same buckets; a unit test keeps them equal.
LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    1.25,
    1.5,
    1.75,
    2.0,
    2.25,
    2.5,
    2.75,
    3.0,
    3.5,
    4.0,
    4.5,
    5.0,
    7.5,
    10.0,
    20.0,
)


_US = 1_000_000


def _buckets(hist: HdrHistogram) -> tuple[list[tuple[str, float]], float]:
    """Prometheus buckets (cumulative, at ``LATENCY_BUCKETS``) and the sum, from an HdrHistogram.

    Exact to the histogram's 3 significant digits: a value within 0.1% of an edge may fall either side,
    and the sum is the count times the histogram's mean.
    """
    cumulative, below, recorded = [], 0, list(hist.get_recorded_iterator())
    i = 0
    for edge in LATENCY_BUCKETS:
        while i < len(recorded) and recorded[i].value_iterated_to <= edge * _US:
            below += recorded[i].count_at_value_iterated_to
            i += 1
        cumulative.append((floatToGoString(edge), float(below)))
    n = hist.get_total_count()
    cumulative.append(("+Inf", float(n)))
    return cumulative, hist.get_mean_value() * n / _US


class _MergedCollector(Collector):
    """The counters and histograms, read at each scrape from the master's merged tally."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.tally: Tally | None = None

    def describe(self) -> list[Metric]:
        return []  # read at each scrape: the series depend on the run

    def collect(self) -> Iterator[Metric]:
        s, tally = self.scenario, self.tally
        if tally is None:
            return
        requests = CounterMetricFamily("loadgate_client_requests", "Requests the generator completed",
                                       labels=["scenario", "phase", "endpoint", "status"])
        for (phase, endpoint, status), n in tally.statuses.items():
            requests.add_metric([s, phase, endpoint, status], n)
        duration = HistogramMetricFamily("loadgate_client_request_duration_seconds",
                                         "Latency from the intended start",
                                         labels=["scenario", "phase", "endpoint"])
        for (phase, endpoint), hist in tally.endpoints.items():
            duration.add_metric([s, phase, endpoint], *_buckets(hist))
        ttft = HistogramMetricFamily("loadgate_client_ttft_seconds", "Time to first streamed token",
                                     labels=["scenario", "phase"])
        late = CounterMetricFamily("loadgate_client_late_starts", "Requests started late",
                                   labels=["scenario", "phase"])
        dropped = CounterMetricFamily("loadgate_client_dropped", "Arrivals dropped at the in-flight bound",
                                      labels=["scenario", "phase"])
        for phase, acc in tally.phases.items():
            if acc.ttft.get_total_count():
                ttft.add_metric([s, phase], *_buckets(acc.ttft))
            late.add_metric([s, phase], acc.late)
            dropped.add_metric([s, phase], acc.dropped)
        yield from (requests, duration, ttft, late, dropped)


class Exporter:
    """Gauges set by the master each second; counters and histograms from the merged tally it reads."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.registry = CollectorRegistry()
        r = self.registry
        self._merged = _MergedCollector(scenario)
        r.register(self._merged)
        self.users = Gauge("loadgate_client_users", "Users running", ["scenario"], registry=r)
        self.in_flight = Gauge("loadgate_client_in_flight", "Requests in flight", ["scenario"], registry=r)
        self.target_rps = Gauge(
            "loadgate_client_target_rps", "Promised arrival rate", ["scenario", "phase"], registry=r
        )

    def read(self, tally: Tally) -> None:
        """Serve the counters and histograms of this (merged) tally."""
        self._merged.tally = tally

    def serve(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1", registry=self.registry)

    def gauges(self, users: int, in_flight: int, phase: str | None, target_rps: float | None) -> None:
        self.users.labels(self.scenario).set(users)
        self.in_flight.labels(self.scenario).set(in_flight)
        if phase is not None:
            self.target_rps.labels(self.scenario, phase).set(target_rps or 0.0)
