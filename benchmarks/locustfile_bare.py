"""A bare Locust FastHttpUser sending what the harness's user sends, without loadgate's instrumentation.

Run by ``benchmarks.loadgen`` as a subprocess (``locust -f``): nothing in the harness imports it.
``BENCH_RATE_PER_USER`` > 0 paces each user (``constant_throughput``); 0 sends back to back.
"""

import os

from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

RATE = float(os.environ.get("BENCH_RATE_PER_USER", "0"))


class Bare(FastHttpUser):
    wait_time = constant_throughput(RATE) if RATE > 0 else (lambda self: 0)

    @task
    def ask(self) -> None:
        self.client.post(
            "/v1/agent/run",
            json={"input": "How do I rate limit structured logging?"},
            headers={"Authorization": "Bearer bench"},
            name="/v1/agent/run",
        )
