from __future__ import annotations

import random
from collections import Counter
from io import StringIO

import httpx

from harness.load.corpus import CORPUS_PATH, ZipfPicker, load_prompts
from harness.load.exporter import LATENCY_BUCKETS, Exporter
from harness.load.progress import Progress, progress_line
from harness.load.tally import Tally
from harness.ports import free_port
from harness.schemas.requests import RequestRow
from scenarios.make_corpus import prompts
from target_service.metrics import LATENCY_BUCKETS as SERVICE_BUCKETS


def test_the_shipped_corpus_is_the_generated_one_and_large_enough() -> None:
    shipped = load_prompts(CORPUS_PATH)
    assert shipped == prompts() and len(set(shipped)) >= 1000
    assert CORPUS_PATH.stat().st_size < 200_000


def test_zipf_popularity_is_skewed_but_reaches_the_tail() -> None:
    picker = ZipfPicker([str(i) for i in range(1000)], s=1.1, rng=random.Random(3))
    counts = Counter(picker.pick() for _ in range(50_000))
    assert counts["0"] > 5 * counts["9"] > 0
    assert counts["0"] / 50_000 > 0.1
    assert len(counts) > 500


def test_client_buckets_are_the_service_buckets() -> None:
    assert LATENCY_BUCKETS == SERVICE_BUCKETS


def test_exporter_serves_the_brief_metric_names() -> None:
    exporter = Exporter("target_2x")
    address = f"127.0.0.1:{free_port()}"
    exporter.serve(address)
    worker, merged = Tally(late_s=0.05), Tally(late_s=0.05)
    exporter.read(merged)  # what the master serves: the tallies its workers sent, merged
    worker.add(RequestRow.measured(intended_start=10.0, start=10.1, end=10.42, status=200,
                                   endpoint="/v1/agent/run", phase="steady", cached=False, degraded=False,
                                   outcome="served"))
    worker.add(RequestRow.measured(intended_start=10.0, start=10.0, end=11.5, ttft=0.3, status=0,
                                   endpoint="/v1/agent/stream", phase="steady", cached=False,
                                   degraded=False, outcome="error"))
    worker.add_dropped({"steady": 2})
    merged.merge(worker.take())
    exporter.gauges(users=7, in_flight=3, phase="steady", target_rps=50)
    text = httpx.get(f"http://{address}/metrics").text
    for line in [
        'loadgate_client_requests_total{endpoint="/v1/agent/run",phase="steady",scenario="target_2x",'
        'status="200"} 1.0',
        'loadgate_client_requests_total{endpoint="/v1/agent/stream",phase="steady",scenario="target_2x",'
        'status="0"} 1.0',
        'loadgate_client_request_duration_seconds_bucket{endpoint="/v1/agent/run",le="0.5",phase="steady",'
        'scenario="target_2x"} 1.0',
        'loadgate_client_ttft_seconds_count{phase="steady",scenario="target_2x"} 1.0',
        'loadgate_client_late_starts_total{phase="steady",scenario="target_2x"} 1.0',
        'loadgate_client_dropped_total{phase="steady",scenario="target_2x"} 2.0',
        'loadgate_client_users{scenario="target_2x"} 7.0',
        'loadgate_client_in_flight{scenario="target_2x"} 3.0',
        'loadgate_client_target_rps{phase="steady",scenario="target_2x"} 50.0',
    ]:
        assert line in text, line


def test_progress_line_and_quiet_when_not_a_tty() -> None:
    line = progress_line(
        "target_2x",
        {
            "phase": "steady",
            "elapsed": 12.2,
            "total_s": 85,
            "rps": 49.5,
            "window_p99": 0.4321,
            "errors": 3,
            "users": 2,
            "in_flight": 5,
        },
    )
    assert line.startswith("target_2x [steady]") and "12/85 s" in line and "49.5 req/s" in line
    assert "P99 0.432 s" in line and "errors 3" in line and "users 2" in line
    quiet = StringIO()
    Progress(None, quiet).show(line)
    assert quiet.getvalue() == ""
    loud = StringIO()
    shown = Progress(True, loud)
    shown.show(line)
    shown.close()
    assert line in loud.getvalue() and loud.getvalue().endswith("\n")
