"""Metrics text produced by the real instrumentation libraries, each in a process of its own (they all
register in prometheus_client's global registry): a tiny app per style, a few requests, /metrics."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_APP = """
from fastapi import FastAPI
from fastapi.testclient import TestClient

app = FastAPI()

@app.post("{route}")
def run_agent() -> dict:
    return {{"output": "ok"}}

@app.get("/healthz")
def healthz() -> dict:
    return {{"ok": True}}

@app.post("/boom")
def boom() -> dict:
    raise RuntimeError("planted")
"""

_DRIVE = """
client = TestClient(app, raise_server_exceptions=False)
for _ in range(3):
    client.post("{route}")
client.get("/healthz")
client.post("/boom")
"""

SOURCES = {
    # prometheus-fastapi-instrumentator's README: Instrumentator().instrument(app).expose(app)
    "fastapi-instrumentator": _APP + """
from prometheus_fastapi_instrumentator import Instrumentator
Instrumentator().instrument(app).expose(app)
""" + _DRIVE + """
print(client.get("/metrics").text)
""",
    # opentelemetry-exporter-prometheus + opentelemetry-instrumentation-fastapi, as their docs set up
    "opentelemetry": """
from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import generate_latest
metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
""" + _APP + """
FastAPIInstrumentor.instrument_app(app)
""" + _DRIVE + """
print(generate_latest().decode())
""",
    # the reference article's monitoring.py, verbatim names, labels and decorator
    "seed-article": """
import asyncio, time
from functools import wraps
from prometheus_client import Counter, Gauge, Histogram, generate_latest
REQUEST_COUNT = Counter('agent_requests_total', 'Total requests', ['method', 'endpoint', 'status'])
REQUEST_LATENCY = Histogram('agent_request_duration_seconds', 'Request latency')
ACTIVE_TASKS = Gauge('agent_active_tasks', 'Number of active tasks')
LLM_LATENCY = Histogram('llm_request_duration_seconds', 'LLM latency', ['model'])

def monitor_endpoint(func):
    @wraps(func)
    async def wrapper(*args, **kwargs):
        start = time.time()
        ACTIVE_TASKS.inc()
        status = "error"
        try:
            result = await func(*args, **kwargs)
            status = "success"
            return result
        finally:
            REQUEST_LATENCY.observe(time.time() - start)
            ACTIVE_TASKS.dec()
            REQUEST_COUNT.labels(method="POST", endpoint=func.__name__, status=status).inc()
    return wrapper

@monitor_endpoint
async def {handler}():
    LLM_LATENCY.labels(model="m").observe(0.2)
    return "ok"

for _ in range(3):
    asyncio.run({handler}())
print(generate_latest().decode())
""",
    # the bundled service's own metrics module, used as the service uses it
    "bundled": """
from prometheus_client import generate_latest
from target_service import metrics as m
for endpoint, status in (("{route}", "200"), ("{route}", "500"), ("/healthz", "200")):
    m.REQUESTS.labels(method="POST", endpoint=endpoint, status=status).inc()
    m.REQUEST_DURATION.labels(endpoint=endpoint).observe(0.3)
m.LLM_DURATION.labels(model="tiny").observe(0.2)
m.LLM_TTFT.labels(model="tiny").observe(0.05)
m.ACTIVE_TASKS.set(1)
m.BREAKER_STATE.set(0)
m.DEGRADED.labels(reason="llm").inc()
print(generate_latest().decode())
""",
}


def exposition(style: str, *, route: str = "/v1/agent/run", handler: str = "run_agent",
               env: dict[str, str] | None = None) -> str:
    """The /metrics text of a tiny app instrumented in ``style`` (a key of SOURCES)."""
    code = textwrap.dedent(SOURCES[style]).format(route=route, handler=handler)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
