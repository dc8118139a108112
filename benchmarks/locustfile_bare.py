"""A bare Locust FastHttpUser sending what the harness's user sends, without loadgate's instrumentation.

Run by ``benchmarks.loadgen`` as a subprocess (``locust -f``): nothing in the harness imports it.
``BENCH_RATE_PER_USER`` > 0 paces each user (``constant_throughput``); 0 sends back to back.
``BENCH_RECORD_STARTS=PATH`` (only in the benchmark's unmeasured capture run) writes every request's
start time to PATH at exit: the arrival shape loadgate then replays.
"""

import os
from pathlib import Path

from locust import constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser

RATE = float(os.environ.get("BENCH_RATE_PER_USER", "0"))
RECORD = os.environ.get("BENCH_RECORD_STARTS", "")

if RECORD:
    _starts: list[float] = []
    events.request.add_listener(lambda start_time, **_: _starts.append(start_time))
    events.quitting.add_listener(lambda **_: Path(RECORD).write_text("\n".join(map(repr, sorted(_starts)))))


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
