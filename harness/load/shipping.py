"""Finished requests, from the user that sent them to the master's one tally, and the roll call.

A user hands each finished ``RequestRow`` to ``keep``: the process writes it to its own request log
on local disk and counts it in its tally (``harness.load.tally``). Every ``FLUSH_S`` a worker (or a
lone local runner) sends the tally's increments (encoded HdrHistograms and exact counts), its users,
requests in flight and CPU to the master in one ``loadgate_tally`` message; the recorder merges them.
After the load the master asks for the logs (``collect``): each worker sends its last increments,
then its log in pieces, which the recorder merges into ``requests.csv``.

The roll call: a worker says ``loadgate_hello`` once connected; the master admits it or refuses the
run before the load (``harness.load.fleet``), and during the load names a worker that goes missing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import __version__ as locust_version
from locust.runners import STATE_MISSING, LocalRunner, MasterRunner, WorkerRunner

from harness.load import fleet
from harness.load.locust_state import FLUSH_S, STATE
from harness.load.tally import Keeper
from harness.schemas.files import write_atomic
from harness.schemas.requests import RequestRow

TALLY_MESSAGE, COLLECT_MESSAGE, LOG_MESSAGE = "loadgate_tally", "loadgate_collect", "loadgate_log"
HELLO_MESSAGE, REFUSED_MESSAGE, LATE_MESSAGE = "loadgate_hello", "loadgate_refused", "loadgate_late"
LOG_CHUNK = 256 * 1024  # characters of request log per message
COLLECT_WAIT_S = 60.0  # for every worker's log after the load
LAST_REQUESTS_WAIT_S = 5.0  # for this worker's requests still in flight when the master collects
ADMIT_WAIT_S = 30.0  # for every connected worker's hello before the load


def _name(runner: Any) -> str:
    return fleet.worker_name(runner.client_id) if isinstance(runner, WorkerRunner) else "local"


def keep(row: RequestRow) -> None:
    """Log and count one finished request."""
    if STATE.keeper is None:
        log = Path(tempfile.mkdtemp(prefix="loadgate-worker-")) / "requests.csv"
        STATE.keeper = Keeper(log, STATE.plan.late_ms / 1000)
    if not STATE.keeper.closed:  # closed: collected already, the request outlived the drain
        STATE.keeper.keep(row)


def flush(runner: Any, proc: psutil.Process) -> None:
    """Send the increments since the last flush, with this process's state."""
    dropped, STATE.dropped = STATE.dropped, {}
    tally = None
    if STATE.keeper is not None:
        STATE.keeper.tally.add_dropped(dropped)
        tally = STATE.keeper.tally.take(encode=not isinstance(runner, LocalRunner))
    runner.send_message(TALLY_MESSAGE, {"worker": _name(runner), "tally": tally, "dropped": dropped,
                                        "users": runner.user_count, "in_flight": STATE.in_flight,
                                        "cpu": proc.cpu_percent(None)})


def _flusher(runner: Any) -> None:
    proc = psutil.Process()
    proc.cpu_percent(None)
    while True:
        gevent.sleep(FLUSH_S)
        if STATE.plan is not None:
            flush(runner, proc)


def _send_log(environment: Any, **_: Any) -> None:
    """Worker side of ``collect``: the last increments, then the whole request log in pieces."""
    runner = environment.runner
    # The master saw "0 in flight" in a report up to a flush old: a request started since then ends
    # here, inside the drain it belongs to, before the log closes.
    deadline = time.monotonic() + LAST_REQUESTS_WAIT_S
    while STATE.in_flight and time.monotonic() < deadline:
        gevent.sleep(0.05)
    flush(runner, psutil.Process())
    name = _name(runner)
    if STATE.keeper is not None:
        STATE.keeper.log.close()
        with open(STATE.keeper.log.path, encoding="utf-8") as log:
            while piece := log.read(LOG_CHUNK):
                runner.send_message(LOG_MESSAGE, {"worker": name, "text": piece, "last": False})
    runner.send_message(LOG_MESSAGE, {"worker": name, "text": "", "last": True})


def _refused(environment: Any, msg: Any, **_: Any) -> None:
    sys.stderr.write(f"loadgate: the master refused the run: {msg.data}\n")
    environment.process_exit_code = fleet.REFUSED_EXIT
    environment.runner.quit()


def _late(environment: Any, msg: Any, **_: Any) -> None:
    sys.stderr.write("loadgate: this master's load already started; waiting for the next scenario\n")
    environment.process_exit_code = fleet.LATE_EXIT
    environment.runner.quit()


def start_sending(runner: Any) -> None:
    """On a process that sends requests (a worker, or a lone local runner)."""
    runner.register_message(COLLECT_MESSAGE, _send_log)
    gevent.spawn(_flusher, runner)
    if isinstance(runner, WorkerRunner):
        runner.register_message(REFUSED_MESSAGE, _refused)
        runner.register_message(LATE_MESSAGE, _late)
        runner.send_message(HELLO_MESSAGE, fleet.hello(_name(runner), locust_version))


# ---------------------------------------------------------------- the master


def _on_tally(environment: Any, msg: Any, **_: Any) -> None:
    data, rec = msg.data, STATE.recorder
    if data["tally"] is not None:
        rec.add_tally(data["tally"])
    else:
        rec.add_dropped(data["dropped"])
    rec.worker_state(data["worker"], data["users"], data["in_flight"], data["cpu"])


def _on_log(environment: Any, msg: Any, **_: Any) -> None:
    worker = fleet.safe_name(msg.data["worker"])
    if msg.data["text"]:
        STATE.recorder.add_log(worker, msg.data["text"])
    if msg.data["last"]:
        STATE.logs_in.add(msg.data["worker"])


def _on_hello(environment: Any, msg: Any, **_: Any) -> None:
    if STATE.plan.t0 is not None:  # the load is split among the workers admitted at t0: no one joins later
        environment.runner.send_message(LATE_MESSAGE, None, client_id=msg.node_id)
        return
    why = fleet.admission(msg.data, time.time(), locust_version, fleet.max_skew_s())
    if msg.data["name"] in STATE.roster.values():  # names key the request logs and the reasons
        why = f"two workers are named '{msg.data['name']}': give each its own --name"
    STATE.roster[msg.node_id] = msg.data["name"]
    if why is not None and STATE.refusal is None:
        STATE.refusal = why


def receive(runner: Any) -> None:
    """On the master (or the lone local runner): tallies, logs and hellos from the workers."""
    runner.register_message(TALLY_MESSAGE, _on_tally)
    runner.register_message(LOG_MESSAGE, _on_log)
    if isinstance(runner, MasterRunner):
        runner.register_message(HELLO_MESSAGE, _on_hello)
        gevent.spawn(_roll_call, runner)


def _roll_call(runner: Any) -> None:
    """Before the load: the workers connected, for the progress line. During it: a worker lost."""
    out = STATE.recorder.out
    while STATE.plan.t0 is None:
        write_atomic(out / fleet.FLEET_FILE, f'{{"connected": {len(runner.clients)}, '
                     f'"introduced": {len(STATE.roster)}}}')
        gevent.sleep(1)
    while time.time() < STATE.plan.end:
        for node, name in STATE.roster.items():
            client = runner.clients.get(node)
            why = ("quit" if client is None else
                   "missing (no heartbeat for 3 s)" if client.state == STATE_MISSING else None)
            if why and name not in STATE.recorder.lost:
                STATE.recorder.lost[name] = f"{why} at {time.time() - STATE.plan.t0:.1f} s into the plan"
                STATE.plan.stop_at = STATE.plan.stop_at or time.time()  # its share of the load is gone
        gevent.sleep(0.5)


def admitted(runner: Any) -> bool:
    """Before t0, on the master: wait (bounded) for every connected worker's hello; False (and the
    refusal written for the runner) when one may not join."""
    if not isinstance(runner, MasterRunner):
        return True
    deadline = time.monotonic() + ADMIT_WAIT_S
    while len(STATE.roster) < len(runner.clients) and STATE.refusal is None:
        if time.monotonic() > deadline:
            silent = sorted(set(runner.clients) - set(STATE.roster))
            STATE.refusal = f"workers {silent} connected but never introduced themselves (not loadgate?)"
            break
        gevent.sleep(0.1)
    if STATE.refusal is None:
        return True
    write_atomic(STATE.recorder.out / fleet.REFUSED_FILE, STATE.refusal)
    runner.send_message(REFUSED_MESSAGE, STATE.refusal)
    gevent.sleep(0.5)  # the message goes out before the shape's quit tells the workers to stop
    return False


def collect(runner: Any) -> None:
    """After the load: every worker's last increments and its request log (bounded wait)."""
    expected = set(STATE.roster.values()) - set(STATE.recorder.lost) if isinstance(runner, MasterRunner) \
        else {"local"}
    runner.send_message(COLLECT_MESSAGE, {})
    deadline = time.monotonic() + COLLECT_WAIT_S
    while not expected <= STATE.logs_in and time.monotonic() < deadline:
        gevent.sleep(0.1)
    for name in sorted(expected - STATE.logs_in):
        STATE.recorder.lost[name] = f"sent no request log within {COLLECT_WAIT_S:g} s after the load"
