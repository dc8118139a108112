"""The presets a service profile starts from, and how overrides are merged into one.

Metric names and labels come from each library's own source (read, and checked by tests that run
the real library and read its /metrics):

- ``bundled``: ``target_service/metrics.py`` (prometheus-client, labelled by the route's path).
- ``seed-article``: the reference article's ``monitoring.py``: an unlabelled
  ``agent_request_duration_seconds``, ``agent_requests_total{method,endpoint,status}`` with
  ``endpoint`` the handler's function name and ``status`` "success" | "error", served by
  ``start_http_server(9090)`` on a port of its own (give ``--metrics-url``).
- ``fastapi-instrumentator``: prometheus-fastapi-instrumentator 8.x defaults:
  ``http_requests_total{handler,method,status="2xx"}``, ``http_request_duration_seconds{handler,method}``
  with buckets 0.1 / 0.5 / 1 only (useless for a 3 s P99: a quantile past 1 s reads as 1 s), and the
  unlabelled ``http_request_duration_highr_seconds`` (many buckets, every handler), used for latency.
- ``opentelemetry``: opentelemetry-instrumentation-fastapi with the stable HTTP semantic conventions
  (``OTEL_SEMCONV_STABILITY_OPT_IN=http``) through opentelemetry-exporter-prometheus:
  ``http_server_request_duration_seconds{http_route,http_response_status_code}`` and
  ``http_server_active_requests``. Without the opt-in (0.66b2 default) it emits the old
  ``http_server_duration_milliseconds{http_target,http_status_code}``: detection maps that too.
- ``openai``: an OpenAI-compatible chat endpoint; no server metrics assumed.
"""

from __future__ import annotations

import copy
from typing import Any

# The same chat request body everywhere a preset talks to an agent route of the bundled kind.
_AGENT_BODY = {"input": "{prompt}", "session_id": "{session_id}", "max_tokens": "{max_tokens}"}
_AGENT_ROUTES = '"/v1/agent/.*"'

BUNDLED: dict[str, Any] = {
    "requests": {"run_path": "/v1/agent/run", "stream_path": "/v1/agent/stream", "body": _AGENT_BODY,
                 "session_body": {"memory": True}},
    "responses": {"degraded": {"pointer": "/degraded"}, "cached": {"pointer": "/cached"},
                  "answer": "/answer", "tool_calls": "/tool_calls", "stream_format": "loadgate-sse"},
    "health": {"health_path": "/healthz", "ready_path": "/readyz"},
    "admin": {"faults_path": "/admin/faults", "memory_path": "/admin/memory"},
    "metrics": {
        "request_duration": {"name": "agent_request_duration_seconds",
                             "selector": f"endpoint=~{_AGENT_ROUTES}"},
        "requests": {"name": "agent_requests_total", "selector": f"endpoint=~{_AGENT_ROUTES}",
                     "served": 'status=~"2.."', "shed": 'status="429"',
                     "error": 'status=~"4..|5..", status!="429"'},
        "llm_duration": {"name": "llm_request_duration_seconds"},
        "llm_ttft": {"name": "llm_time_to_first_token_seconds"},
        "in_flight": {"name": "agent_active_tasks"},
        "breaker": {"name": "agent_circuit_breaker_state", "open": 2, "closed": 0},
        "degraded": {"name": "agent_degraded_responses_total"},
    },
}

SEED_ARTICLE: dict[str, Any] = {
    "requests": {"run_path": "/agent/run", "body": {"input": "{prompt}"}},
    "responses": {"require_json": True},
    "health": {"health_path": None, "ready_path": None},
    "metrics": {
        "request_duration": {"name": "agent_request_duration_seconds"},
        # The decorator labels by function name; the article's handler is run_agent.
        "requests": {"name": "agent_requests_total", "selector": 'endpoint="run_agent"',
                     "served": 'status="success"', "error": 'status="error"'},
        "llm_duration": {"name": "llm_request_duration_seconds"},
        "in_flight": {"name": "agent_active_tasks"},
    },
}

FASTAPI_INSTRUMENTATOR: dict[str, Any] = {
    "requests": {"run_path": "/v1/agent/run", "body": _AGENT_BODY},
    "health": {"health_path": "/healthz", "ready_path": None},
    "metrics": {
        "request_duration": {"name": "http_request_duration_highr_seconds"},
        # status is grouped (2xx, 4xx): a 429 cannot be told from another 4xx, so the server side counts
        # 5xx as errors and leaves 4xx to the client's request log, which has every status
        "requests": {"name": "http_requests_total", "selector": f"handler=~{_AGENT_ROUTES}",
                     "served": 'status="2xx"', "error": 'status="5xx"'},
    },
}

OPENTELEMETRY: dict[str, Any] = {
    "requests": {"run_path": "/v1/agent/run", "body": _AGENT_BODY},
    "health": {"health_path": "/healthz", "ready_path": None},
    "metrics": {
        "request_duration": {"name": "http_server_request_duration_seconds",
                             "selector": f"http_route=~{_AGENT_ROUTES}"},
        # OpenTelemetry has no request counter: the duration histogram's _count is one.
        "requests": {"name": "http_server_request_duration_seconds_count",
                     "selector": f"http_route=~{_AGENT_ROUTES}", "served": 'http_response_status_code=~"2.."',
                     "shed": 'http_response_status_code="429"',
                     "error": 'http_response_status_code=~"4..|5..", http_response_status_code!="429"'},
        "in_flight": {"name": "http_server_active_requests"},
    },
}

OPENAI: dict[str, Any] = {
    "requests": {
        "run_path": "/v1/chat/completions", "stream_path": "/v1/chat/completions",
        "body": {"model": "default", "messages": [{"role": "user", "content": "{prompt}"}],
                 "max_tokens": "{max_tokens}", "user": "{session_id}"},
        "stream_body": {"stream": True, "stream_options": {"include_usage": True}},
        "conversation": "messages",  # stateless: each turn resends the history
    },
    "responses": {"require_json": True, "stream_format": "openai-sse", "answer": "/choices/0/message/content",
                  "tool_calls": "/choices/0/message/tool_calls"},
    "health": {"health_path": "/v1/models", "ready_path": None},
    "metrics_path": None,
    "metrics": {"memory": None},
}

PRESETS: dict[str, dict[str, Any]] = {
    "bundled": BUNDLED,
    "seed-article": SEED_ARTICLE,
    "fastapi-instrumentator": FASTAPI_INSTRUMENTATOR,
    "opentelemetry": OPENTELEMETRY,
    "openai": OPENAI,
}
# Replaced whole by an override, never merged key by key: a body of another shape must not keep
# the preset's keys.
_REPLACED = {("requests", "body"), ("requests", "stream_body"), ("requests", "session_body")}


def merge(base: dict[str, Any], override: dict[str, Any], at: tuple[str, ...] = ()) -> dict[str, Any]:
    """``override`` over ``base``, mapping by mapping; ``null`` in an override unsets a part."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        here = (*at, key)
        if isinstance(value, dict) and isinstance(out.get(key), dict) and here not in _REPLACED:
            out[key] = merge(out[key], value, here)
        else:
            out[key] = copy.deepcopy(value)
    return out


def expand(spec: dict[str, Any]) -> dict[str, Any]:
    """A ``service:`` mapping (``preset`` + overrides) as the full profile data, ready to validate.

    An unknown preset is left as it is, for validation to report with the file and line."""
    name = spec.get("preset", "bundled")
    if not isinstance(name, str) or name not in PRESETS:
        return spec
    return merge({**PRESETS[name], "preset": name}, spec)
