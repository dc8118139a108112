"""agent_sessions on the Locust side: each scheduled arrival opens a conversation of several turns.

Sessions arrive as an open model (the plan's rate, its intended starts); inside a session the user is
a closed loop, as a person is: ask, read the answer, think (0.5-1.5x the think time), ask a follow-up
that the service answers with the conversation's history (``memory: true``). Each turn's latency is
measured from its own intended start (the previous answer plus the think time), so a turn the
generator starts late shows as late, not as a faster service. A turn that fails ends the session,
as a user gives up. A session counts as in flight from its first question to its last answer, so
the drain after the plan lets started conversations finish.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import gevent
import orjson
from locust.contrib.fasthttp import FastHttpUser

from harness.load.arrivals import Arrival
from harness.load.corpus import SCENARIO_DIR, load_prompts
from harness.load.locust_state import STATE
from harness.load.plan import LoadPlan, SessionSpec
from harness.load.shipping import keep
from harness.load.users import ArrivalUser, _outstanding
from harness.schemas.outcome import RequestOutcome, classify
from harness.schemas.requests import RequestRow
from harness.target import requests as target_requests
from harness.target.responses import read_body

FOLLOWUPS_PATH = SCENARIO_DIR / "data" / "followups.txt"
# The bundled agent's conversation API (``memory: true`` with a ``session_id``, merged into the
# profile's body): sessions are its feature; a stateless (OpenAI-compatible) target would need the
# history resent each turn.
MEMORY = {"memory": True}
DRAIN_PHASE = "drain"  # turns of started sessions asked after the plan's last phase


def draw_turns(spec: SessionSpec, rng: random.Random) -> int:
    """Geometric on 1, 2, ... with mean ``turns_mean``, cut at ``turns_max``."""
    p = 1.0 / spec.turns_mean
    turns = 1
    while turns < spec.turns_max and rng.random() >= p:
        turns += 1
    return turns


def _object(content: bytes | None) -> dict[str, Any]:
    try:
        document = orjson.loads(content or b"")
    except orjson.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _tools(body: dict[str, Any]) -> str:
    """The answer's tool calls as ``name:status;...`` (the request log's ``tools`` column)."""
    calls = body.get("tool_calls") or []
    return ";".join(f"{c.get('name')}:{c.get('status')}" for c in calls if isinstance(c, dict))


def send_turn(user: FastHttpUser, plan: LoadPlan, intended: float, phase: str, session_id: str, turn: int,
              turns: int, prompt: str) -> RequestRow:
    """One turn, as the request log's row (session columns included)."""
    spec = plan.service.requests
    path = target_requests.path(spec)
    body = {**target_requests.body(spec, prompt, session_id=session_id, max_tokens=plan.max_tokens), **MEMORY}
    cached = degraded = False
    tools = ""
    readable = True
    start = time.time()
    try:
        response = user.client.request(spec.method, path, json=body, headers=target_requests.headers(
            spec, plan.api_key), name=f"{path} (session)")
        status = int(response.status_code or 0)
        if status == 200:
            answer = read_body(plan.service.responses, response.content or b"", dict(response.headers or {}))
            cached, degraded, readable = answer.cached, answer.degraded, answer.readable
            if readable:
                tools = _tools(_object(response.content))
    except Exception:  # noqa: BLE001 - a connection lost mid-answer is a failed turn, not a crash
        status = 0
    return RequestRow.measured(intended_start=intended, start=start, end=time.time(), status=status,
                               endpoint=path, phase=phase, cached=cached, degraded=degraded,
                               outcome=classify(status, readable), session=session_id, turn=turn, turns=turns,
                               tools=tools)


class SessionUser(ArrivalUser):
    """Open model over sessions: ArrivalUser's schedule, each arrival one conversation."""

    abstract = True
    _followups: list[str] | None = None

    def _one(self, plan: LoadPlan, arrival: Arrival) -> None:
        assert plan.session is not None and STATE.picker is not None
        if SessionUser._followups is None:
            SessionUser._followups = load_prompts(FOLLOWUPS_PATH)
        rng = random.Random()
        session_id = uuid.uuid4().hex[:16]
        turns = draw_turns(plan.session, rng)
        think_s = plan.session.think_time_s
        intended = arrival.t
        with _outstanding():
            for turn in range(1, turns + 1):
                gevent.sleep(max(intended - time.time(), 0))
                plan = STATE.plan or plan  # workers take a new copy when the master stops early
                if plan.stop_at is not None and intended >= plan.stop_at:
                    return  # a stop condition ended the run: no more questions
                _, phase = plan.phase_at(intended)
                name = phase.name if phase is not None else DRAIN_PHASE
                prompt = STATE.picker.pick() if turn == 1 else rng.choice(SessionUser._followups)
                row = send_turn(self, plan, intended, name, session_id, turn, turns, prompt)
                keep(row)
                if row.outcome == RequestOutcome.error:
                    return
                intended = row.end + rng.uniform(0.5, 1.5) * think_s
