"""examples/grafana/agent-dashboard.json: every panel query parses in a real Prometheus, names only
metrics the service or the load generator export, and the service panels use the checker's PromQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from harness.grade.queries import chart_queries
from harness.schemas.service import preset_profile

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).parents[3] / "examples" / "grafana" / "agent-dashboard.json"

# The brief's metric lists: the reference service's and the load generator's exporter.
SERVICE_METRICS = {
    "agent_requests_total",
    "agent_request_duration_seconds",
    "agent_active_tasks",
    "llm_request_duration_seconds",
    "llm_time_to_first_token_seconds",
    "llm_batch_size",
    "agent_cache_requests_total",
    "agent_circuit_breaker_state",
    "agent_circuit_breaker_transitions_total",
    "agent_degraded_responses_total",
    "agent_rate_limited_total",
    "process_resident_memory_bytes",
}
CLIENT_METRICS = {
    "loadgate_client_requests_total",
    "loadgate_client_request_duration_seconds",
    "loadgate_client_ttft_seconds",
    "loadgate_client_users",
    "loadgate_client_in_flight",
    "loadgate_client_target_rps",
    "loadgate_client_late_starts_total",
    "loadgate_client_dropped_total",
}
# Words of PromQL that look like names: aggregation and binary operators, modifiers.
KEYWORDS = {
    "sum",
    "by",
    "without",
    "or",
    "and",
    "unless",
    "on",
    "ignoring",
    "bool",
    "offset",
    "group_left",
    "group_right",
    "max",
    "min",
    "avg",
    "count",
}


def metric_names(expr: str) -> set[str]:
    """The series names a query selects: identifiers that are not functions, keywords or labels."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        if word in KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue  # a keyword or a function call
        base = re.sub(r"_(bucket|count|sum)$", "", word)
        names.add(base if base in SERVICE_METRICS | CLIENT_METRICS else word)
    return names


def panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] if p["type"] != "row" for t in p["targets"]]


def test_metric_names_are_read_from_a_query() -> None:
    found = metric_names(
        "histogram_quantile(0.99, sum by (le) (rate(agent_request_duration_seconds_bucket"
        '{job="agent", endpoint=~"/v1/agent/.*"}[5s]))) or vector(0)'
    )
    assert found == {"agent_request_duration_seconds"}
    assert metric_names("sum(rate(made_up_metric[5s]))") == {"made_up_metric"}


def test_every_panel_parses_and_names_existing_metrics(prometheus_for: Callable[..., str]) -> None:
    queries = panel_queries()
    assert len(queries) >= 20
    url = prometheus_for({"agent": "127.0.0.1:1"}, rule_files=[])
    problems = []
    for title, expr in queries:
        answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10)
        if answer.status_code != 200 or answer.json()["status"] != "success":
            problems.append(f"{title}: {answer.json().get('error')}")
        unknown = metric_names(expr) - SERVICE_METRICS - CLIENT_METRICS
        if unknown:
            problems.append(f"{title}: unknown metrics {sorted(unknown)}")
    assert not problems, "\n".join(problems)


def test_service_panels_use_the_checkers_chart_queries() -> None:
    exprs = {expr for _, expr in panel_queries()}
    checker = {query for query, _unit in chart_queries(preset_profile("bundled").metrics).values()}
    assert checker <= exprs, sorted(checker - exprs)
