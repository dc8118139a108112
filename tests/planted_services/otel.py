"""OpenTelemetry as its Python docs show it: an SDK ``MeterProvider`` with the Prometheus exporter's
``PrometheusMetricReader`` and ``prometheus_client.start_http_server`` (the exporter's documented
way to serve ``/metrics``, on a port of its own), and ``FastAPIInstrumentor.instrument_app(app)``.

``--semconv http`` (default) opts in to the stable HTTP semantic conventions
(``OTEL_SEMCONV_STABILITY_OPT_IN=http``): ``http_server_request_duration_seconds{http_route,
http_request_method,http_response_status_code,...}``. ``--semconv default`` keeps this instrumentation
version's default, the old conventions: ``http_server_duration_milliseconds{http_target,
http_status_code,...}`` in milliseconds.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, Request

from tests.planted_services.common import (
    LOOPBACK,
    AgentRequest,
    Faults,
    add_health,
    faults_from,
    parser,
    serve,
)


def create_app(faults: Faults) -> FastAPI:
    # Imported here: the instrumentation reads OTEL_SEMCONV_STABILITY_OPT_IN once, when first used.
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = FastAPI()
    add_health(app)

    @app.post("/v1/agent/run")
    async def run_agent(request: AgentRequest, http: Request) -> dict[str, object]:
        faults.check_key(http)
        result, _ = await faults.answer(request)
        return result

    FastAPIInstrumentor.instrument_app(app)
    return app


def start_metrics(port: int) -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.metrics import set_meter_provider
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import start_http_server

    # Start Prometheus client
    start_http_server(port=port, addr=LOOPBACK)
    # Exporter to export metrics to Prometheus
    reader = PrometheusMetricReader()
    set_meter_provider(MeterProvider(metric_readers=[reader]))


def main() -> None:
    p = parser("otel", metrics_port="required")
    p.add_argument("--semconv", choices=["http", "default"], default="http")
    args = p.parse_args()
    if args.semconv == "http":
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "http"
    start_metrics(args.metrics_port)
    serve(create_app(faults_from(args)), args.port)


if __name__ == "__main__":
    main()
