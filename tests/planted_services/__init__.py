"""Planted healthy agent services, one per metrics style loadgate supports, each written from its
instrumentation library's own README example and importing nothing from ``harness`` or
``target_service`` (they stand for a user's service, not ours).

``python -m tests.planted_services.<style> --port P [--metrics-port M] [--error-share 0.005]
[--slow-share 0.02 --slow-s 4.2] [--service-time-s 0.005] [--api-key KEY ...]``

styles:
  seed_article   the reference article's ``monitoring.py``: unlabeled ``agent_request_duration_seconds``,
                 ``agent_requests_total{method,endpoint=<handler function name>,status="success"|"error"}``,
                 metrics on a port of their own (``start_http_server``); ``POST /agent/run``
  instrumentator prometheus-fastapi-instrumentator's ``Instrumentator().instrument(app).expose(app)``;
                 ``POST /v1/agent/run``, metrics at ``/metrics``
  otel           opentelemetry-sdk + the Prometheus exporter + the FastAPI instrumentation; metrics on a
                 port of their own (the exporter's documented ``start_http_server``); ``POST /v1/agent/run``

The faults are deterministic, counted over agent requests: with ``--error-share 0.005`` every 200th
request answers 500, with ``--slow-share 0.02`` every 50th takes ``--slow-s`` longer, so a test knows
the truth it grades against. The existing ``tests/planted`` plays the ``bundled`` style.
"""
