"""Prometheus metrics, correct under several uvicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``python -m target_service`` always sets it), every worker
writes its samples to files there and ``/metrics`` aggregates them; gauges say how (``livesum``,
``livemax``). The process collector does not work in that mode, so ``process_resident_memory_bytes``
comes from a collector that sums the RSS of the whole service (supervisor plus workers).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psutil
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Dense around 0.5-5 s so histogram_quantile can read a P99 near the 3 s SLO.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25,
                   2.5, 2.75, 3.0, 3.5, 4.0, 4.5, 5.0, 7.5, 10.0, 20.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)
ROOT_PID_ENV = "AGENT_SERVICE_ROOT_PID"

REQUESTS = Counter("agent_requests_total", "HTTP requests", ["method", "endpoint", "status"])
REQUEST_DURATION = Histogram("agent_request_duration_seconds", "HTTP request latency", ["endpoint"],
                             buckets=LATENCY_BUCKETS)
ACTIVE_TASKS = Gauge("agent_active_tasks", "Requests in progress", multiprocess_mode="livesum")
LLM_DURATION = Histogram("llm_request_duration_seconds", "LLM call latency", ["model"],
                         buckets=LATENCY_BUCKETS)
LLM_TTFT = Histogram("llm_time_to_first_token_seconds", "LLM time to first token", ["model"],
                     buckets=LATENCY_BUCKETS)
LLM_BATCH = Histogram("llm_batch_size", "Requests per generate() call", buckets=BATCH_BUCKETS)
CACHE_REQUESTS = Counter("agent_cache_requests_total", "Response cache lookups", ["result"])
BREAKER_STATE = Gauge("agent_circuit_breaker_state", "0 closed, 1 half-open, 2 open",
                      multiprocess_mode="livemax")
BREAKER_TRANSITIONS = Counter("agent_circuit_breaker_transitions_total", "Breaker transitions", ["state"])
DEGRADED = Counter("agent_degraded_responses_total", "Fallback answers", ["reason"])
TOOL_CALLS = Counter("agent_tool_calls_total", "Tool calls by outcome (ok, error, timeout)",
                     ["tool", "status"])
TOOL_DURATION = Histogram("agent_tool_duration_seconds", "Tool call latency, failures included", ["tool"],
                          buckets=LATENCY_BUCKETS)
SESSION_TURN = Histogram("agent_session_turn_index", "Turn index of answered conversation turns",
                         buckets=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32))
RATE_LIMITED = Counter("agent_rate_limited_total", "Requests refused with 429", ["scope"])


def _service_rss() -> float:
    root_pid = int(os.environ.get(ROOT_PID_ENV, os.getpid()))
    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = [psutil.Process()]
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue  # a worker exited between listing and reading
    return float(total)


class ServiceMemoryCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("process_resident_memory_bytes",
                                "Resident memory of the whole service (all workers), bytes",
                                value=_service_rss())


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(ServiceMemoryCollector())
        return registry
    # Single process: the default registry already has the process collector (own RSS = service RSS).
    return REGISTRY


def render() -> tuple[bytes, str]:
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def mark_worker_dead() -> None:
    """Drop this worker's live gauges (active tasks, breaker state) from the aggregate."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())
