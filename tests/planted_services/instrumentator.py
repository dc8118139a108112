"""prometheus-fastapi-instrumentator's fast track, as its README shows it:
``Instrumentator().instrument(app).expose(app)``. Default metrics: ``http_requests_total{handler,
method,status="2xx"}``, ``http_request_duration_seconds{handler,method}`` (few buckets), the unlabeled
many-bucket ``http_request_duration_highr_seconds``, request/response sizes; ``/metrics`` on the app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from prometheus_fastapi_instrumentator import Instrumentator

from tests.planted_services.common import AgentRequest, Faults, add_health, faults_from, parser, serve


def create_app(faults: Faults) -> FastAPI:
    app = FastAPI()
    add_health(app)

    @app.post("/v1/agent/run")
    async def run_agent(request: AgentRequest, http: Request) -> dict[str, object]:
        faults.check_key(http)
        result, _ = await faults.answer(request)
        return result

    Instrumentator().instrument(app).expose(app)
    return app


def main() -> None:
    args = parser("instrumentator", metrics_port="none").parse_args()
    serve(create_app(faults_from(args)), args.port)


if __name__ == "__main__":
    main()
