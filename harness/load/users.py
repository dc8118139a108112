"""The Locust side of loadgate: agent users, the open-model arrival user, the plan shape, the wiring.

Imported only by the locustfiles in ``scenarios/`` (gevent patches the process that imports Locust).
A scenario file is a few lines::

    from harness.load.users import ArrivalUser, PlanShape, setup
    setup("target_2x")
    class Arrivals(ArrivalUser): pass
    class Shape(PlanShape): pass

and runs alone (``locust -f scenarios/target_2x.py --headless --host URL``), under ``--processes``,
or as master and workers on several hosts; the master owns the plan, the faults, the recorder and
the exporter, and broadcasts the plan to workers every second (workers need no file, only the same
code and a synchronised clock). What happens to a finished request is ``harness.load.shipping``.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import gevent.lock
from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.runners import MasterRunner, WorkerRunner

from harness.errors import LoadError
from harness.load.agent_request import send_one
from harness.load.arrivals import Arrival
from harness.load.conductor import clear_fault, conduct
from harness.load.corpus import NO_SIZES, RequestSizes, ZipfPicker, load_prompts
from harness.load.exporter import Exporter
from harness.load.locust_state import STATE
from harness.load.plan import SCENARIOS, LoadPlan, PhaseSpec, arrivals, build_plan, resolve
from harness.load.recorder import Recorder
from harness.load.senders import SenderPool
from harness.load.shipping import admitted, keep, receive, start_sending
from harness.schemas.checklist import ScenarioPlan
from harness.schemas.faults import TOKEN_ENV

# ---------------------------------------------------------------- users


@contextlib.contextmanager
def _outstanding() -> Iterator[None]:
    """Count a request in flight from its arrival (waiting for a connection included) to its end."""
    STATE.in_flight += 1
    try:
        yield
    finally:
        STATE.in_flight -= 1


class ArrivalUser(FastHttpUser):
    """Open model: one per worker, sending its share of the plan's arrivals from a pool of senders.

    Arrivals follow the plan's rate (constant, Poisson, gamma, ramps, a trace) whatever the responses
    do; latency is measured from the intended start, a request starting more than ``late_ms`` after
    it is late, and an arrival finding ``max_in_flight`` requests outstanding is dropped and counted
    (``harness.load.senders``).
    """

    abstract = True
    concurrency = 4000  # the connection pool's ceiling, shared by this user's senders
    # Never follow a redirect (Locust follows 30): a target answering 3xx could aim the load at any host.
    max_redirects = 0
    _pool: gevent.lock.BoundedSemaphore | None = None

    @task
    def schedule(self) -> None:
        while STATE.plan is None or STATE.plan.t0 is None:
            gevent.sleep(0.05)
        plan = STATE.plan
        worker = getattr(self.environment.runner, "worker_index", 0)
        if plan.connections is not None:
            self._pool = gevent.lock.BoundedSemaphore(plan.connections)
        SenderPool(
            arrivals(plan, plan.rng("arrivals", worker), worker),
            cap=max(plan.max_in_flight // plan.workers, 1),
            send=lambda arrival: self._one(STATE.plan, arrival),
            due=_due_before(plan.end),
            dropped=_count_dropped,
        ).run()
        while True:  # the plan is over; the shape stops the test once in-flight requests drained
            gevent.sleep(1)

    def _one(self, plan: LoadPlan, arrival: Arrival) -> None:
        sizes = NO_SIZES if arrival.prompt_tokens is None and arrival.output_tokens is None \
            else RequestSizes(arrival.prompt_tokens, arrival.output_tokens)
        session = f"s{random.randrange(10_000)}"
        STATE.in_flight += 1  # as _outstanding(), without a generator per request
        try:
            if self._pool is None:
                keep(send_one(self, plan, arrival.t, arrival.phase.name, session, sizes))
                return
            # The wait for a connection comes before "start": it shows as late, not as uncorrected latency.
            with self._pool:
                keep(send_one(self, plan, arrival.t, arrival.phase.name, session, sizes))
        finally:
            STATE.in_flight -= 1


def _due_before(end: float) -> Callable[[Arrival], bool]:
    """Whether an arrival is still to be sent: before the plan's end and any early stop (in the master's
    latest plan); what ``phase_at(t) is not None`` says for the schedule's times, without the walk."""
    def due(arrival: Arrival) -> bool:
        stop = STATE.plan.stop_at
        return arrival.t < end and (stop is None or arrival.t < stop)

    return due


def _count_dropped(arrival: Arrival) -> None:
    name = arrival.phase.name
    STATE.dropped[name] = STATE.dropped.get(name, 0) + 1


class ThinkingUser(FastHttpUser):
    """Closed model: a user asks, reads the answer, thinks (0.5-1.5x the plan's think time), asks again."""

    abstract = True
    max_redirects = 0  # as ArrivalUser: a 3xx is recorded as it is, never followed

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_id = uuid.uuid4().hex[:12]

    def wait_time(self) -> float:
        phase = self._phase()
        return random.uniform(0.5, 1.5) * (phase.think_time_s if phase else 0.5)

    def _phase(self) -> PhaseSpec | None:
        return STATE.plan.phase_at(time.time())[1] if STATE.plan else None

    @task
    def ask(self) -> None:
        phase = self._phase()
        if phase is None:  # before t0 or draining: no new requests
            return
        with _outstanding():
            keep(send_one(self, STATE.plan, time.time(), phase.name, self.session_id))


class PlanShape(LoadTestShape):
    """Users per phase: one arrival user per worker (open model) or the phase's users (closed)."""

    abstract = True
    start_lead_s = 1.0  # users are spawned before t0, so the first arrivals are not late

    def tick(self) -> tuple[int, float] | None:
        plan = STATE.plan
        if plan is None or STATE.done:
            return None
        workers = self.runner.worker_count if isinstance(self.runner, MasterRunner) else 1
        if plan.t0 is None:
            if not admitted(self.runner):  # a worker may not join: no load at all
                return None
            plan.workers = max(workers, 1)
            plan.t0 = time.time() + self.start_lead_s
            gevent.spawn(conduct, self.runner)
        _, phase = plan.phase_at(max(time.time(), plan.t0))
        if plan.open_model:
            return plan.workers, 100.0
        if phase is None:  # draining: keep the users, they send nothing
            return self.runner.user_count or 1, 100.0
        return phase.users or 0, phase.spawn_rate or 100.0


# ---------------------------------------------------------------- wiring


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    group = parser  # Locust's own parser: an argparse group would not take is_secret
    group.add_argument(
        "--loadgate-plan",
        default=os.environ.get("LOADGATE_PLAN", ""),
        help="JSON LoadPlan written by `loadgate run` (default: from the checklist)",
    )
    group.add_argument("--loadgate-checklist", default=os.environ.get("LOADGATE_CHECKLIST", "checklist.yaml"))
    group.add_argument("--loadgate-profile", default=os.environ.get("LOADGATE_PROFILE", ""))
    group.add_argument(
        "--loadgate-out",
        default=os.environ.get("LOADGATE_OUT", ""),
        help="where requests.csv and stats.json go (default loadgate-out/<scenario>)",
    )
    group.add_argument(
        "--loadgate-exporter",
        default=os.environ.get("LOADGATE_EXPORTER", ""),
        help="host:port for the Prometheus exporter (master only)",
    )
    group.add_argument("--loadgate-api-key", default=os.environ.get("LOADGATE_API_KEY", ""), is_secret=True)
    group.add_argument(
        "--loadgate-admin-token", default=os.environ.get("LOADGATE_ADMIN_TOKEN", ""), is_secret=True
    )


def _plan_from_options(options: Any) -> LoadPlan:
    if options.loadgate_plan:
        # Secrets travel by environment, never in the plan file the run folder keeps.
        plan = LoadPlan.model_validate_json(Path(options.loadgate_plan).read_text(encoding="utf-8"))
        return plan.model_copy(
            update={
                "api_key": plan.api_key or options.loadgate_api_key,
                "admin_token": plan.admin_token or options.loadgate_admin_token or None,
                "proxy_token": plan.proxy_token or os.environ.get(TOKEN_ENV) or None,
            }
        )
    from harness.checklist import load_checklist  # only plain `locust -f` reads the checklist

    path = Path(options.loadgate_checklist)
    if path.exists():
        checklist = load_checklist(path)
        profile = options.loadgate_profile or checklist.default_profile
        target_qps, get = checklist.target_qps, (lambda: checklist.plan(profile, STATE.scenario))
    else:
        target_qps = float(os.environ.get("LOADGATE_TARGET_QPS", "10"))
        get = lambda: STATE.default_plan or ScenarioPlan()  # noqa: E731
    _, build, plan = resolve(STATE.scenario, None, get)
    return build_plan(
        STATE.scenario,
        plan,
        target_qps,
        build,
        api_key=options.loadgate_api_key,
        admin_token=options.loadgate_admin_token or None,
    )


def _on_plan(environment: Any, msg: Any, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        return  # local mode: the master's plan object is already this process's plan
    if STATE.plan is None or (STATE.plan.t0, STATE.plan.stop_at) != (msg.data["t0"], msg.data["stop_at"]):
        _use_plan(LoadPlan.model_validate(msg.data), getattr(environment.runner, "worker_index", 0))


def _use_plan(plan: LoadPlan, worker: int = 0) -> None:
    """Take the plan, and draw prompts as it says (popularity skew, share made to miss the cache)."""
    STATE.plan = plan
    STATE.picker = ZipfPicker(load_prompts(), plan.zipf_s, rng=plan.rng("prompts", worker),
                              fresh_share=plan.fresh_share)
    STATE.rng = plan.rng("requests", worker)


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    runner, options = environment.runner, environment.parsed_options
    if runner is None or options is None:
        return
    runner.register_message("loadgate_plan", _on_plan)
    if not isinstance(runner, WorkerRunner):
        _use_plan(_plan_from_options(options))
        exporter = Exporter(STATE.plan.scenario)
        if options.loadgate_exporter:
            exporter.serve(options.loadgate_exporter)
        out = Path(options.loadgate_out or Path("loadgate-out") / STATE.plan.scenario)
        STATE.recorder = Recorder(STATE.plan, out, exporter)
        receive(runner)
    if not isinstance(runner, MasterRunner):
        start_sending(runner)


@events.quitting.add_listener
def _quitting(environment: Any, **_: Any) -> None:
    if STATE.recorder is None:
        return
    if STATE.fault_on:  # an early stop must not leave the target slowed down (the runner clears too)
        clear_fault(environment.host or "", None)
    STATE.recorder.finish(time.time())


def setup(scenario: str, default_plan: ScenarioPlan | None = None) -> None:
    """Called by each scenario file: which scenario it is, and its plan when no checklist is at hand."""
    if scenario not in SCENARIOS:
        raise LoadError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")
    STATE.scenario = scenario
    STATE.default_plan = default_plan
