"""Finished requests, from the user that sent them to the master's recorder.

A user hands each finished ``RequestRow`` to ``keep``; every ``FLUSH_S`` a worker (or the single
local process) sends what it kept, its dropped arrivals, users, requests in flight and CPU to the
master in one ``loadgate_rows`` message, where ``on_rows`` feeds the recorder. The arrival -> request
path (users, arrivals, conductor) ends at ``keep``; everything after it lives here.
"""

from __future__ import annotations

from typing import Any

import gevent
import psutil
from locust.runners import WorkerRunner

from harness.load.locust_state import FLUSH_S, STATE
from harness.schemas.requests import RequestRow

ROWS_MESSAGE = "loadgate_rows"


def keep(row: RequestRow) -> None:
    """Keep one finished request for the next flush."""
    # Not ``STATE.rows.append(send_one(...))``: that binds the list before the request yields, and the
    # flusher may swap it out meanwhile, losing the row.
    STATE.rows.append(row)


def flush(runner: Any, proc: psutil.Process) -> None:
    """Send the rows and dropped arrivals kept since the last flush, with this process's state."""
    rows, STATE.rows = STATE.rows, []
    dropped, STATE.dropped = STATE.dropped, {}
    worker = runner.client_id if isinstance(runner, WorkerRunner) else "local"
    runner.send_message(
        ROWS_MESSAGE,
        {
            "worker": worker,
            "rows": rows,
            "dropped": dropped,
            "users": runner.user_count,
            "in_flight": STATE.in_flight,
            "cpu": proc.cpu_percent(None),
        },
    )


def _flusher(runner: Any) -> None:
    proc = psutil.Process()
    proc.cpu_percent(None)
    while True:
        gevent.sleep(FLUSH_S)
        if STATE.plan is not None:
            flush(runner, proc)


def start_flusher(runner: Any) -> None:
    """On a process that sends requests (a worker, or a lone local runner): flush every ``FLUSH_S``."""
    gevent.spawn(_flusher, runner)


def final_flush(runner: Any) -> None:
    """At quitting: what was kept after the last periodic flush."""
    if STATE.plan is not None:
        flush(runner, psutil.Process())


def _on_rows(environment: Any, msg: Any, **_: Any) -> None:
    data, rec = msg.data, STATE.recorder
    rec.add_rows(data["rows"])
    rec.add_dropped(data["dropped"])
    rec.worker_state(data["worker"], data["users"], data["in_flight"], data["cpu"])


def receive_rows(runner: Any) -> None:
    """On the master (or the lone local runner): feed every worker's message to the recorder."""
    runner.register_message(ROWS_MESSAGE, _on_rows)
