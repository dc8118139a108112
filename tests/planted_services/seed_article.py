"""The reference article's ``monitoring.py``, as written there (section 4.1): module-level metrics, a
``monitor_endpoint`` decorator that counts ``status="success"|"error"`` under the handler's function
name, one unlabeled latency histogram, and ``start_http_server`` serving the metrics on a port of
their own. The agent route is the article's ``@app.post("/agent/run") async def run_agent``."""

from __future__ import annotations

import time
from functools import wraps

from fastapi import FastAPI, Request
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from tests.planted_services.common import (
    LOOPBACK,
    MODEL,
    AgentRequest,
    Faults,
    add_health,
    faults_from,
    parser,
    serve,
)

# 定义指标 (the article's four metrics, names, labels and default buckets unchanged)
REQUEST_COUNT = Counter('agent_requests_total', 'Total requests', ['method', 'endpoint', 'status'])
REQUEST_LATENCY = Histogram('agent_request_duration_seconds', 'Request latency')
ACTIVE_TASKS = Gauge('agent_active_tasks', 'Number of active tasks')
LLM_LATENCY = Histogram('llm_request_duration_seconds', 'LLM latency', ['model'])


def monitor_endpoint(func):  # noqa: ANN001, ANN201 - the article's decorator, untyped as there
    """端点监控装饰器"""
    @wraps(func)
    async def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        start = time.time()
        ACTIVE_TASKS.inc()
        status = "error"
        try:
            result = await func(*args, **kwargs)
            status = "success"
            return result
        except Exception:
            status = "error"
            raise
        finally:
            duration = time.time() - start
            REQUEST_LATENCY.observe(duration)
            ACTIVE_TASKS.dec()
            REQUEST_COUNT.labels(method="POST", endpoint=func.__name__, status=status).inc()
    return wrapper


def create_app(faults: Faults) -> FastAPI:
    app = FastAPI()
    add_health(app)

    @app.post("/agent/run")
    @monitor_endpoint
    async def run_agent(request: AgentRequest, http: Request) -> dict[str, object]:
        faults.check_key(http)
        result, llm_s = await faults.answer(request)
        LLM_LATENCY.labels(model=MODEL).observe(llm_s)
        return result

    return app


def main() -> None:
    args = parser("seed_article", metrics_port="required").parse_args()
    # 启动监控服务器 (the article's start_http_server(9090), on the port the test gives)
    start_http_server(args.metrics_port, addr=LOOPBACK)
    serve(create_app(faults_from(args)), args.port)


if __name__ == "__main__":
    main()
