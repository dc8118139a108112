"""What the proxies forwarded, as Prometheus metrics (one registry per proxy, served at /_proxy/metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Proxy overhead is milliseconds, upstream calls are seconds: edges for both.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 30, 60)


class LLMProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("loadgate_proxy_requests", "Requests the LLM proxy answered",
                                ["route", "status"], registry=self.registry)
        self.upstream_calls = Counter("loadgate_proxy_upstream_calls", "Calls forwarded upstream",
                                      ["route"], registry=self.registry)
        self.duration = Histogram("loadgate_proxy_request_duration_seconds",
                                  "Request start to last byte sent back, faults included",
                                  ["route"], buckets=_BUCKETS, registry=self.registry)
        self.first_byte = Histogram("loadgate_proxy_upstream_first_byte_seconds",
                                    "Upstream call start to its response headers",
                                    ["route"], buckets=_BUCKETS, registry=self.registry)
        self.faults = Counter("loadgate_proxy_faults_applied", "Faults applied to requests",
                              ["route", "fault"], registry=self.registry)


class TCPProxyMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Counter("loadgate_proxy_tcp_connections", "Client connections by outcome",
                                   ["outcome"], registry=self.registry)
        self.bytes = Counter("loadgate_proxy_tcp_bytes", "Bytes forwarded", ["direction"],
                             registry=self.registry)
        self.faults = Counter("loadgate_proxy_faults_applied", "Faults applied to connections",
                              ["fault"], registry=self.registry)
