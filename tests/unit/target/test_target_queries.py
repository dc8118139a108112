"""PromQL from the metrics mapping: the bundled queries are today's, other presets select their own
series, milliseconds are divided back to seconds, unmapped measures have no chart."""

from __future__ import annotations

from harness.grade.queries import PromQL, chart_queries
from harness.schemas.service import Histogram, preset_profile
from harness.target.metrics import key_series


def test_bundled_quantile_is_todays_query() -> None:
    q = PromQL(preset_profile("bundled").metrics)
    hist = preset_profile("bundled").metrics.request_duration
    assert q.quantile(0.99, hist, 100.0, 400.0) == (
        'histogram_quantile(0.99, sum by (le) (increase(agent_request_duration_seconds_bucket'
        '{job="agent", endpoint=~"/v1/agent/.*"}[300000ms] @ 400.000)))')


def test_seed_article_errors_are_status_error_of_its_handler() -> None:
    metrics = preset_profile("seed-article").metrics
    query = PromQL(metrics).counted(metrics.requests, 1.0, 2.0, metrics.requests.error)
    assert 'agent_requests_total{job="agent", endpoint="run_agent", status="error"} @ 2.000' in query


def test_opentelemetry_counts_requests_from_the_histogram() -> None:
    metrics = preset_profile("opentelemetry").metrics
    query = PromQL(metrics, "api").counted(metrics.requests, 1.0, 2.0, metrics.requests.error)
    assert 'http_server_request_duration_seconds_count{job="api", http_route=~"/v1/agent/.*", ' \
           'http_response_status_code=~"4..|5..", http_response_status_code!="429"}' in query


def test_milliseconds_are_divided_back_to_seconds() -> None:
    hist = Histogram(name="http_server_duration_milliseconds")
    assert hist.in_ms and not Histogram(name="latency", unit="s").in_ms
    q = PromQL(preset_profile("opentelemetry").metrics)
    assert q.quantile(0.99, hist, 0, 10).endswith(") / 1000")
    assert Histogram(name="t_seconds", unit="ms").in_ms


def test_charts_follow_the_mapping() -> None:
    assert "breaker_state" in chart_queries(preset_profile("bundled").metrics)
    charts = chart_queries(preset_profile("fastapi-instrumentator").metrics, rate_window_s=60)
    assert "breaker_state" not in charts and "llm_p95" not in charts
    assert charts["server_p99"][0] == ('histogram_quantile(0.99, sum by (le) (rate('
                                       'http_request_duration_highr_seconds_bucket{job="agent"}[60s])))')
    assert chart_queries(preset_profile("openai").metrics) == {}


def test_key_series_by_measure_or_name() -> None:
    names, unmapped = key_series(preset_profile("seed-article").metrics,
                                 ["requests", "request_duration", "breaker", "up"])
    assert names == ["agent_requests_total", "agent_request_duration_seconds_bucket", "up"]
    assert unmapped == ["breaker"]
