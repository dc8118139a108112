"""The load generator's Prometheus exporter (scraped as job="loadgate"), served by the Locust master."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

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


class Exporter:
    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "loadgate_client_requests_total",
            "Requests the generator completed",
            ["scenario", "phase", "endpoint", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "loadgate_client_request_duration_seconds",
            "Latency from the intended start",
            ["scenario", "phase", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ttft = Histogram(
            "loadgate_client_ttft_seconds",
            "Time to first streamed token",
            ["scenario", "phase"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.users = Gauge("loadgate_client_users", "Users running", ["scenario"], registry=r)
        self.in_flight = Gauge("loadgate_client_in_flight", "Requests in flight", ["scenario"], registry=r)
        self.target_rps = Gauge(
            "loadgate_client_target_rps", "Promised arrival rate", ["scenario", "phase"], registry=r
        )
        self.late = Counter(
            "loadgate_client_late_starts_total", "Requests started late", ["scenario", "phase"], registry=r
        )
        self.dropped = Counter(
            "loadgate_client_dropped_total",
            "Arrivals dropped at the in-flight bound",
            ["scenario", "phase"],
            registry=r,
        )

    def serve(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        start_http_server(int(port), addr=host or "127.0.0.1", registry=self.registry)

    def request(
        self, phase: str, endpoint: str, status: int, latency: float, ttft: float | None, late: bool
    ) -> None:
        s = self.scenario
        self.requests.labels(s, phase, endpoint, str(status)).inc()
        self.duration.labels(s, phase, endpoint).observe(latency)
        if ttft is not None:
            self.ttft.labels(s, phase).observe(ttft)
        if late:
            self.late.labels(s, phase).inc()

    def drop(self, phase: str, n: int) -> None:
        self.dropped.labels(self.scenario, phase).inc(n)

    def gauges(self, users: int, in_flight: int, phase: str | None, target_rps: float | None) -> None:
        self.users.labels(self.scenario).set(users)
        self.in_flight.labels(self.scenario).set(in_flight)
        if phase is not None:
            self.target_rps.labels(self.scenario, phase).set(target_rps or 0.0)
